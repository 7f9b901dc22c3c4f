/* documents.c — textDocument/didOpen, didChange (full or incremental), didClose. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

ct_doc *doc_find(ct_server *s, const char *uri)
{
    for (ct_doc *d = s->docs; uri && d; d = d->next)
        if (strcmp(d->uri, uri) == 0) return d;
    return NULL;
}

ct_doc *doc_of_params(ct_server *s, ct_rpc_msg *m)
{
    const char *uri = jstr(jobj(m->params, "textDocument"), "uri");
    if (!uri) {
        if (m->id) srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS, "textDocument.uri is missing");
        return NULL;
    }
    ct_doc *d = doc_find(s, uri);
    if (!d && m->id) srv_reply(s, m->id, json_null());
    return d;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h);
}

void doc_free(ct_server *s, ct_doc *d)
{
    (void)s;
    if (d->timer) uv_close((uv_handle_t *)d->timer, on_timer_closed);
    if (d->job) {
        d->job->doc = NULL;
        job_cancel(d->job, 0);
    }
    if (d->pending_req) json_decref(d->pending_req);
    sources_doc_free(d);
    result_free(d->res);
    blob_unref(d->text);
    free(d->uri);
    free(d->path);
    free(d);
}

static int too_big(ct_server *s, ct_doc *d)
{
    if (d->text->len <= s->set.max_document) return 0;
    srv_show(s, 2, "%s is %zu bytes, over the limit of %zu (maxDocumentBytes): not analyzed",
             d->path, d->text->len, s->set.max_document);
    publish(s, d->uri, d->version, json_array());
    return 1;
}

void h_did_open(ct_server *s, ct_rpc_msg *m)
{
    json_t *td = jobj(m->params, "textDocument");
    const char *uri = jstr(td, "uri");
    json_t *text = json_object_get(td, "text");
    if (!uri || !json_is_string(text)) {
        srv_log(s, 2, "didOpen without textDocument.uri/text (ignored)");
        return;
    }
    ct_doc *d = doc_find(s, uri);
    if (!d) {
        d = ct_xcalloc(1, sizeof *d);
        d->uri = ct_xstrdup(uri);
        char *p = ct_lsp_path_from_uri(uri);
        d->path = p ? p : ct_xstrdup(uri);
        d->next = s->docs;
        s->docs = d;
    }
    blob_unref(d->text);
    d->text = blob_new(json_string_value(text), json_string_length(text));
    d->version = (int)json_integer_value(json_object_get(td, "version"));
    sources_doc_open(s, d, 1);
    if (too_big(s, d)) return;
    if (s->set.auto_analyze) job_start_doc(s, d);
}

/* Apply one incremental change {range, text} to the document text. */
static void apply_range(ct_server *s, ct_doc *d, json_t *range, const char *txt, size_t tl)
{
    ct_text t;
    ct_text_init(&t, d->text->data, d->text->len);
    json_t *st = jobj(range, "start"), *en = jobj(range, "end");
    ct_lsp_pos a = {(long)json_integer_value(json_object_get(st, "line")),
                    (long)json_integer_value(json_object_get(st, "character"))};
    ct_lsp_pos b = {(long)json_integer_value(json_object_get(en, "line")),
                    (long)json_integer_value(json_object_get(en, "character"))};
    size_t x = ct_pos_to_byte(&t, a, s->enc), y = ct_pos_to_byte(&t, b, s->enc);
    ct_text_free(&t);
    if (y < x) y = x;
    size_t n = d->text->len - (y - x) + tl;
    textblob *nb = ct_xmalloc(sizeof *nb + n + 1);
    nb->refs = 1;
    nb->len = n;
    memcpy(nb->data, d->text->data, x);
    memcpy(nb->data + x, txt, tl);
    memcpy(nb->data + x + tl, d->text->data + y, d->text->len - y);
    nb->data[n] = '\0';
    blob_unref(d->text);
    d->text = nb;
    sources_doc_edit(s, d, x, y, txt, tl);
}

static void on_debounce(uv_timer_t *t)
{
    ct_doc *d = t->data;
    ct_server *s = t->loop->data;
    if (!s->exiting) job_start_doc(s, d);
}

void h_did_change(ct_server *s, ct_rpc_msg *m)
{
    json_t *td = jobj(m->params, "textDocument");
    ct_doc *d = doc_find(s, jstr(td, "uri"));
    json_t *changes = json_object_get(m->params, "contentChanges");
    if (!d || !json_is_array(changes)) {
        srv_log(s, 2, "didChange for a document that is not open (ignored)");
        return;
    }
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        json_t *text = json_object_get(c, "text");
        if (!json_is_string(text)) continue;
        json_t *range = jobj(c, "range");
        if (range) {
            apply_range(s, d, range, json_string_value(text), json_string_length(text));
        } else {
            blob_unref(d->text);
            d->text = blob_new(json_string_value(text), json_string_length(text));
            sources_doc_open(s, d, 0);
        }
    }
    sources_doc_changed(s, d);
    json_t *ver = json_object_get(td, "version");
    if (json_is_integer(ver)) d->version = (int)json_integer_value(ver);
    if (!s->set.auto_analyze) return;
    if (d->text->len > s->set.max_document) {
        if (d->job) job_cancel(d->job, 0);
        too_big(s, d);
        return;
    }
    /* Debounce: every change restarts the timer; only the last version is analyzed, and a
     * running analysis of an older version is superseded (no backlog). */
    if (!d->timer) {
        d->timer = ct_xcalloc(1, sizeof *d->timer);
        uv_timer_init(s->loop, d->timer);
        d->timer->data = d;
    }
    if (d->job) {
        job_cancel(d->job, 0);
        d->job->superseded = 1;
    }
    uv_timer_start(d->timer, on_debounce, (uint64_t)s->set.debounce_ms, 0);
}

void h_did_close(ct_server *s, ct_rpc_msg *m)
{
    const char *uri = jstr(jobj(m->params, "textDocument"), "uri");
    ct_doc **pp = &s->docs;
    while (*pp && strcmp((*pp)->uri, uri ? uri : "") != 0)
        pp = &(*pp)->next;
    if (!*pp) return;
    ct_doc *d = *pp;
    *pp = d->next;
    publish(s, d->uri, -1, json_array());
    doc_free(s, d);
    sources_refresh(s); /* its edits leave the source files; a closed source is read from disk */
}

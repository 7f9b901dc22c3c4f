/* hover.c — textDocument/hover: the card of the step under the cursor. */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const ct_step *step_at(const ct_result *r, size_t off, size_t *traj_index)
{
    const ct_step *best = NULL;
    size_t best_len = (size_t)-1;
    for (size_t i = 0; i < r->trajs.n; i++) {
        const ct_trajectory *t = r->trajs.items[i];
        for (size_t k = 0; k < t->n_steps; k++) {
            const ct_step *st = &t->steps[k];
            size_t a, b;
            int hit = result_step_span_at(r, i, k, &a, &b) == 0 && off >= a && off < b;
            if (!hit && st->obs_src.path && r->text &&
                ct_lsp_src_span(&r->lines, &st->obs_src, &a, &b) == 0 &&
                strcmp(st->obs_src.path, r->path) == 0)
                hit = off >= a && off < b;
            /* The innermost range wins (a step nested in a larger record). */
            if (hit && b - a < best_len) {
                best = st;
                best_len = b - a;
                if (traj_index) *traj_index = i;
            }
        }
    }
    return best;
}

void h_hover(ct_server *s, ct_rpc_msg *m)
{
    const char *uri = jstr(jobj(m->params, "textDocument"), "uri");
    if (!uri) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS, "textDocument.uri is missing");
        return;
    }
    json_t *pos = jobj(m->params, "position");
    json_t *line = json_object_get(pos, "line"), *ch = json_object_get(pos, "character");
    if (!json_is_integer(line) || !json_is_integer(ch)) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                        "position.line/character must be integers");
        return;
    }
    ct_lsp_pos sp = {(long)json_integer_value(line), (long)json_integer_value(ch)};
    json_t *src = sources_hover(s, uri, sp);
    if (src) {
        srv_reply(s, m->id, src); /* a source line an agent edited */
        return;
    }
    ct_result view;
    memset(&view, 0, sizeof view);
    ct_result *r = result_for_uri(s, uri, &view);
    if (!r || !r->text) {
        srv_reply(s, m->id, json_null());
        return;
    }
    ct_lsp_pos p = {(long)json_integer_value(line), (long)json_integer_value(ch)};
    size_t off = ct_pos_to_byte(&r->lines, p, s->enc);
    size_t ti = 0;
    const ct_step *st = step_at(r, off, &ti);
    if (!st) {
        view_release(&view);
        srv_reply(s, m->id, json_null());
        return;
    }
    char *md = ct_lsp_hover_markdown(r->trajs.items[ti], r->an[ti], st);
    json_t *res =
        json_pack("{s:{s:s,s:o}}", "contents", "kind", "markdown", "value", ct_json_text(md));
    size_t a, b;
    if (result_step_span_at(r, ti, (size_t)(st - r->trajs.items[ti]->steps), &a, &b) == 0)
        json_object_set_new(res, "range", result_range(r, a, b, s->enc));
    free(md);
    view_release(&view);
    srv_reply(s, m->id, res);
}

/* ---- analyzed paths (codetracer.analyze) seen from one of their files ---- */

#define EXT_FILES_MAX 8
#define EXT_FILE_MAX_BYTES (256LL * 1024 * 1024)

typedef struct ext_file {
    struct ext_file *next;
    char *path;
    textblob *blob;
    ct_text lines;
    struct stat st;
} ext_file;

static void ext_file_free(ext_file *f)
{
    free(f->path);
    blob_unref(f->blob);
    ct_text_free(&f->lines);
    free(f);
}

void ext_files_free(ct_server *s)
{
    while (s->xfiles) {
        ext_file *f = s->xfiles;
        s->xfiles = f->next;
        ext_file_free(f);
    }
}

static ext_file *ext_file_get(ct_server *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > EXT_FILE_MAX_BYTES)
        return NULL;
    ext_file **pp = &s->xfiles, *f;
    size_t n = 0;
    for (; (f = *pp); pp = &f->next, n++) {
        if (strcmp(f->path, path) != 0) continue;
        *pp = f->next;
        if (f->st.st_size == st.st_size && f->st.st_mtim.tv_sec == st.st_mtim.tv_sec &&
            f->st.st_mtim.tv_nsec == st.st_mtim.tv_nsec) {
            f->next = s->xfiles; /* most recently used first */
            s->xfiles = f;
            return f;
        }
        ext_file_free(f); /* changed on disk: read again */
        break;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    ct_buf b = CT_BUF_INIT;
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, fp)) > 0 && (long long)b.len < EXT_FILE_MAX_BYTES)
        ct_buf_append(&b, chunk, k);
    fclose(fp);
    f = ct_xcalloc(1, sizeof *f);
    f->path = ct_xstrdup(path);
    f->blob = blob_new(b.data ? b.data : "", b.len);
    ct_buf_free(&b);
    ct_text_init(&f->lines, f->blob->data, f->blob->len);
    f->st = st;
    f->next = s->xfiles;
    s->xfiles = f;
    /* Keep at most EXT_FILES_MAX files. */
    n = 0;
    for (pp = &s->xfiles; *pp; n++) {
        if (n >= EXT_FILES_MAX) {
            ext_file *old = *pp;
            *pp = old->next;
            ext_file_free(old);
        } else {
            pp = &(*pp)->next;
        }
    }
    return f;
}

const ct_text *ext_file_lines(ct_server *s, const char *path)
{
    ext_file *f = ext_file_get(s, path);
    return f ? &f->lines : NULL;
}

static int holds_file(const ct_result *r, const char *path)
{
    for (size_t i = 0; i < r->trajs.n; i++) {
        const ct_trajectory *t = r->trajs.items[i];
        for (size_t k = 0; k < t->n_steps; k++)
            if (t->steps[k].src.path && strcmp(t->steps[k].src.path, path) == 0) return 1;
    }
    return 0;
}

int ext_holds_uri(ct_server *s, const char *uri)
{
    if (!s->ext) return 0;
    char *p = ct_lsp_path_from_uri(uri);
    char *real = p ? realpath(p, NULL) : NULL;
    free(p);
    int hit = 0;
    for (ext_result *e = s->ext; real && e && !hit; e = e->next)
        hit = holds_file(e->res, real);
    free(real);
    return hit;
}

ct_result *result_for_uri(ct_server *s, const char *uri, ct_result *view)
{
    ct_doc *d = doc_find(s, uri);
    if (d && d->res && d->res->text) return d->res;
    char *p = ct_lsp_path_from_uri(uri);
    if (!p) return NULL;
    char *real = realpath(p, NULL);
    free(p);
    if (!real) return NULL;
    ct_result *r = NULL;
    for (ext_result *e = s->ext; e && !r; e = e->next)
        if (holds_file(e->res, real)) r = e->res;
    ext_file *f = r ? ext_file_get(s, real) : NULL;
    if (!f) {
        free(real);
        return NULL;
    }
    /* A shallow copy: the trajectories and analyses stay the path result's; the text is the
     * file's. Steps of other files of the same run fall outside (result_step_span). */
    *view = *r;
    view->text = blob_ref(f->blob);
    view->lines = f->lines;
    view->path = real;
    view->ext_view = 1;
    return view;
}

void view_release(ct_result *view)
{
    if (!view || !view->ext_view) return;
    blob_unref(view->text);
    free(view->path);
    view->text = NULL;
    view->path = NULL;
}

/* lifecycle.c — initialize / shutdown / exit, cancellation, configuration, client responses. */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CT_VERSION
#define CT_VERSION "0"
#endif
#ifndef CT_DOCS_DIR
#define CT_DOCS_DIR "/usr/share/doc/codetracer"
#endif

void settings_defaults(ct_settings *set)
{
    memset(set, 0, sizeof *set);
    snprintf(set->analyzer, sizeof set->analyzer, "heuristic");
    set->sev_incorrect = CT_LSP_WARNING;
    set->sev_unuseful = CT_LSP_HINT;
    set->auto_analyze = 1;
    set->max_message = CT_FRAME_DEFAULT_MAX_BODY;
    set->max_document = 64u * 1024 * 1024;
    set->debounce_ms = 200;
    set->progress_min = 1024 * 1024;
    set->use_feedback = 1;
    set->use_cache = 1;
    char *uri = ct_lsp_uri_from_path(CT_DOCS_DIR "/rules.md");
    snprintf(set->docs_url, sizeof set->docs_url, "%s", uri);
    free(uri);
}

static int get_size(ct_server *s, json_t *o, const char *key, size_t min, size_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min) {
        srv_log(s, 2, "setting %s must be an integer >= %zu (kept %zu)", key, min, *out);
        return 0;
    }
    *out = (size_t)json_integer_value(v);
    return 1;
}

void settings_apply(ct_server *s, json_t *obj)
{
    if (!json_is_object(obj)) return;
    json_t *sec = jobj(obj, "codetracer");
    if (sec) obj = sec;
    ct_settings *set = &s->set;
    const char *an = jstr(obj, "analyzer");
    if (an) {
        if (strcmp(an, "heuristic") == 0)
            snprintf(set->analyzer, sizeof set->analyzer, "%s", an);
        else
            srv_show(s, 2, "analyzer '%s' is not available in the editor daemon; using heuristic",
                     an);
    }
    json_t *sev = jobj(obj, "severity");
    if (sev) {
        const char *keys[] = {"incorrect", "unuseful"};
        int *dst[] = {&set->sev_incorrect, &set->sev_unuseful};
        for (int i = 0; i < 2; i++) {
            const char *v = jstr(sev, keys[i]);
            if (!v) continue;
            int x = ct_lsp_severity_from_name(v);
            if (x)
                *dst[i] = x;
            else
                srv_log(s, 2, "severity.%s must be error, warning, information or hint", keys[i]);
        }
    }
    json_t *aa = json_object_get(obj, "autoAnalyze");
    if (json_is_boolean(aa)) set->auto_analyze = json_is_true(aa);
    if (get_size(s, obj, "maxMessageBytes", 4096, &set->max_message))
        s->rd.max_body = set->max_message;
    get_size(s, obj, "maxDocumentBytes", 1, &set->max_document);
    size_t deb = (size_t)set->debounce_ms;
    if (get_size(s, obj, "debounceMs", 0, &deb)) set->debounce_ms = deb > 10000 ? 10000 : (int)deb;
    get_size(s, obj, "progressMinBytes", 0, &set->progress_min);
    const char *mdb = jstr(obj, "memoryDb");
    if (mdb && strcmp(mdb, set->memory_db) != 0) {
        snprintf(set->memory_db, sizeof set->memory_db, "%s", mdb);
        s->mem_broken = 0; /* another database: try it (and warn again if it fails too) */
    }
    json_t *uf = json_object_get(obj, "useFeedback");
    if (json_is_boolean(uf)) set->use_feedback = json_is_true(uf);
    json_t *ac = json_object_get(obj, "analysisCache");
    if (json_is_boolean(ac)) set->use_cache = json_is_true(ac);
    json_t *cd = json_object_get(obj, "createMemoryDb");
    if (json_is_boolean(cd)) set->create_db = json_is_true(cd);
    const char *du = jstr(obj, "docsUrl");
    if (du) snprintf(set->docs_url, sizeof set->docs_url, "%s", du);
    sources_settings(s, obj);
    llm_settings(s, obj);
}

static int offers(json_t *arr, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) &&
                                      strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

static int flag(json_t *root, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(root, a);
    if (b) v = json_object_get(v, b);
    if (c) v = json_object_get(v, c);
    return json_is_true(v);
}

void h_initialize(ct_server *s, ct_rpc_msg *m)
{
    if (s->initialized) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_REQUEST, "initialize was already received");
        return;
    }
    s->initialize_seen = 1;
    json_t *caps = jobj(m->params, "capabilities");
    json_t *encs = json_object_get(jobj(caps, "general"), "positionEncodings");
    s->enc = offers(encs, "utf-8") ? CT_POS_UTF8 : CT_POS_UTF16;
    s->cap_progress = flag(caps, "window", "workDoneProgress", NULL);
    s->cap_show_doc = flag(caps, "window", "showDocument", "support");
    s->cap_config = flag(caps, "workspace", "configuration", NULL);
    s->cap_related =
        flag(jobj(caps, "textDocument"), "publishDiagnostics", "relatedInformation", NULL);
    sources_workspace(s, m->params);
    settings_apply(s, json_object_get(m->params, "initializationOptions"));

    json_t *commands = json_pack("[s,s,s,s]", "codetracer.analyze", "codetracer.inspect",
                                 "codetracer.clear", "codetracer.feedback");
    json_t *res = json_pack(
        "{s:{s:s,s:{s:b,s:i,s:b},s:b,s:{s:[s],s:b},s:{s:o},s:b,s:b,s:{s:b}},s:{s:s,s:s}}",
        "capabilities", "positionEncoding", ct_pos_enc_name(s->enc), "textDocumentSync",
        "openClose", 1, "change", 1, "save", 0, "hoverProvider", 1, "codeActionProvider",
        "codeActionKinds", "quickfix", "resolveProvider", 0, "executeCommandProvider", "commands",
        commands, "documentSymbolProvider", 1, "workspaceSymbolProvider", 1, "codeLensProvider",
        "resolveProvider", 0, "serverInfo", "name", "codetracer", "version", CT_VERSION);
    json_object_set_new(json_object_get(res, "capabilities"), "definitionProvider", json_true());
    json_array_append_new(commands, json_string("codetracer.blame"));
    s->initialized = 1;
    srv_reply(s, m->id, res);
    srv_log(s, 3, "initialized (position encoding %s)", ct_pos_enc_name(s->enc));
}

static void pull_configuration(ct_server *s)
{
    if (!s->cap_config) return;
    srv_request(s, "workspace/configuration",
                json_pack("{s:[{s:s}]}", "items", "section", "codetracer"), "configuration");
}

void h_initialized(ct_server *s, ct_rpc_msg *m)
{
    (void)m;
    pull_configuration(s);
}

void h_did_change_configuration(ct_server *s, ct_rpc_msg *m)
{
    json_t *settings = json_object_get(m->params, "settings");
    if (json_is_object(settings) && json_object_size(settings))
        settings_apply(s, settings);
    else
        pull_configuration(s);
}

void h_shutdown(ct_server *s, ct_rpc_msg *m)
{
    for (ct_job *j = s->jobs; j; j = j->next)
        job_cancel(j, 0);
    /* Leave no stale diagnostics behind. */
    const char *uri;
    json_t *v;
    void *tmp;
    json_t *all = json_copy(s->published);
    json_object_foreach_safe(all, tmp, uri, v) publish(s, uri, -1, json_array());
    json_decref(all);
    llm_shutdown(s);
    s->shutdown = 1;
    srv_reply(s, m->id, json_null());
}

void h_exit(ct_server *s, ct_rpc_msg *m)
{
    (void)m;
    s->exit_code = s->shutdown ? 0 : 1;
    srv_begin_exit(s);
}

void h_cancel(ct_server *s, ct_rpc_msg *m)
{
    json_t *id = json_object_get(m->params, "id");
    if (!id) return;
    if (llm_cancel_request(s, id)) return;
    for (ct_job *j = s->jobs; j; j = j->next) {
        if (j->req_id && json_equal(j->req_id, id)) {
            srv_reply_error(s, j->req_id, CT_RPC_REQUEST_CANCELLED, "request cancelled");
            json_decref(j->req_id);
            j->req_id = NULL;
            job_cancel(j, 1);
            return;
        }
    }
    for (ct_doc *d = s->docs; d; d = d->next) {
        if (d->pending_req && json_equal(d->pending_req, id)) {
            srv_reply_error(s, d->pending_req, CT_RPC_REQUEST_CANCELLED, "request cancelled");
            json_decref(d->pending_req);
            d->pending_req = NULL;
            return;
        }
    }
    /* Every other request is answered as soon as it arrives: nothing left to cancel. */
}

void h_response(ct_server *s, ct_rpc_msg *m)
{
    char key[64];
    if (json_is_string(m->id))
        snprintf(key, sizeof key, "%s", json_string_value(m->id));
    else
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(m->id));
    const char *purpose = jstr(s->outgoing, key);
    if (!purpose) {
        srv_log(s, 4, "response to an unknown request %s (ignored)", key);
        return;
    }
    char *p = ct_xstrdup(purpose);
    json_object_del(s->outgoing, key);
    if (strcmp(p, "configuration") == 0) {
        if (!m->error && json_is_array(m->result)) settings_apply(s, json_array_get(m->result, 0));
    } else if (strncmp(p, "progress:", 9) == 0) {
        jobs_on_progress_created(s, p + 9, m->error == NULL);
    } else if (strncmp(p, "llmprogress:", 12) == 0) {
        llm_on_progress_created(s, p + 12, m->error == NULL);
    } else if (m->error) {
        srv_log(s, 4, "the client refused %s: %s", p,
                jstr(m->error, "message") ? jstr(m->error, "message") : "");
    }
    free(p);
}

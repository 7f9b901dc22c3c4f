/* actions.c — textDocument/codeAction ("Inspect step N") and workspace/executeCommand
 * (codetracer.analyze, codetracer.inspect, codetracer.clear). */
#include "server.h"

#include "ct/memory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const ct_trajectory *find_traj(ct_server *s, const char *traj_id, const ct_analysis **a)
{
    for (ct_doc *d = s->docs; d; d = d->next)
        for (size_t i = 0; d->res && i < d->res->trajs.n; i++)
            if (strcmp(d->res->trajs.items[i]->id, traj_id) == 0) {
                *a = d->res->an[i];
                return d->res->trajs.items[i];
            }
    for (ext_result *e = s->ext; e; e = e->next)
        for (size_t i = 0; i < e->res->trajs.n; i++)
            if (strcmp(e->res->trajs.items[i]->id, traj_id) == 0) {
                *a = e->res->an[i];
                return e->res->trajs.items[i];
            }
    return NULL;
}

static json_t *inspect_action(const ct_trajectory *t, const ct_step *st, const char *uri,
                              json_t *diag)
{
    char *title = ct_xasprintf("Inspect step %d", st->step_id);
    json_t *args = json_pack("[{s:o,s:i,s:s}]", "traj_id", ct_json_text(t->id), "step_id",
                             st->step_id, "uri", uri);
    json_t *a =
        json_pack("{s:s,s:s,s:{s:s,s:s,s:o}}", "title", title, "kind", "quickfix", "command",
                  "title", title, "command", "codetracer.inspect", "arguments", args);
    if (diag) json_object_set_new(a, "diagnostics", json_pack("[O]", diag));
    free(title);
    return a;
}

static json_t *feedback_action(const ct_trajectory *t, int step_id, ct_label_kind to,
                               const char *title, json_t *diag)
{
    json_t *args = json_pack("[{s:o,s:i,s:s}]", "traj_id", ct_json_text(t->id), "step_id", step_id,
                             "label", ct_label_name(to));
    json_t *a =
        json_pack("{s:s,s:s,s:{s:s,s:s,s:o}}", "title", title, "kind", "quickfix", "command",
                  "title", title, "command", "codetracer.feedback", "arguments", args);
    if (diag) json_object_set_new(a, "diagnostics", json_pack("[O]", diag));
    return a;
}

/* "The label is wrong" / "confirm" for a labelled step; "mark incorrect/unuseful" for a
 * correct one. Feedback goes to memory and overrides the analyzer from then on. */
static void add_feedback_actions(json_t *out, const ct_trajectory *t, const ct_analysis *a,
                                 int step_id, json_t *diag)
{
    if (!a || step_id < 1 || (size_t)step_id > a->n_labels) return;
    ct_label_kind cur = a->labels[step_id - 1].label;
    char title[160];
    if (cur != CT_LABEL_CORRECT) {
        snprintf(title, sizeof title, "Step %d: the label is wrong (mark correct)", step_id);
        json_array_append_new(out, feedback_action(t, step_id, CT_LABEL_CORRECT, title, diag));
        snprintf(title, sizeof title, "Step %d: confirm the label (%s)", step_id,
                 ct_label_name(cur));
        json_array_append_new(out, feedback_action(t, step_id, cur, title, diag));
    } else {
        snprintf(title, sizeof title, "Step %d: mark incorrect", step_id);
        json_array_append_new(out, feedback_action(t, step_id, CT_LABEL_INCORRECT, title, diag));
        snprintf(title, sizeof title, "Step %d: mark unuseful", step_id);
        json_array_append_new(out, feedback_action(t, step_id, CT_LABEL_UNUSEFUL, title, diag));
    }
}

static int kind_wanted(json_t *only)
{
    if (!json_is_array(only)) return 1;
    size_t i;
    json_t *v;
    json_array_foreach(only, i, v)
    {
        const char *k = json_string_value(v);
        if (k && (strcmp(k, "quickfix") == 0 || *k == '\0')) return 1;
    }
    return 0;
}

void h_code_action(ct_server *s, ct_rpc_msg *m)
{
    ct_doc *d = doc_of_params(s, m);
    if (!d) return;
    json_t *out = json_array();
    /* the document's own analysis, or that of a run analysed with codetracer.analyze which
     * has steps in this file (hover.c result_for_uri) */
    ct_result view;
    memset(&view, 0, sizeof view);
    ct_result *r = result_for_uri(s, d->uri, &view);
    json_t *ctx = jobj(m->params, "context");
    if (!r || !kind_wanted(json_object_get(ctx, "only"))) {
        view_release(&view);
        srv_reply(s, m->id, out);
        return;
    }
    int seen[16] = {0};
    size_t n_seen = 0;
    /* Diagnostics first, identified by their data (never by range). */
    size_t i;
    json_t *dg;
    json_array_foreach(json_object_get(ctx, "diagnostics"), i, dg)
    {
        json_t *data = jobj(dg, "data");
        const char *tid = jstr(data, "traj_id");
        json_t *sid = json_object_get(data, "step_id");
        if (!tid || !json_is_integer(sid) || n_seen >= 16) continue;
        const ct_analysis *a;
        const ct_trajectory *t = find_traj(s, tid, &a);
        int id = (int)json_integer_value(sid);
        if (!t || id < 1 || (size_t)id > t->n_steps) continue;
        int dup = 0;
        for (size_t k = 0; k < n_seen; k++)
            dup |= seen[k] == id;
        if (dup) continue;
        seen[n_seen++] = id;
        json_array_append_new(out, inspect_action(t, &t->steps[id - 1], d->uri, dg));
        add_feedback_actions(out, t, a, id, dg);
    }
    size_t n_from_diags = n_seen;
    /* Then the steps under the requested range. */
    json_t *range = jobj(m->params, "range");
    json_t *st = jobj(range, "start"), *en = jobj(range, "end");
    ct_lsp_pos a = {(long)json_integer_value(json_object_get(st, "line")),
                    (long)json_integer_value(json_object_get(st, "character"))};
    ct_lsp_pos b = {(long)json_integer_value(json_object_get(en, "line")),
                    (long)json_integer_value(json_object_get(en, "character"))};
    if (r->text) {
        size_t x = ct_pos_to_byte(&r->lines, a, s->enc), y = ct_pos_to_byte(&r->lines, b, s->enc);
        for (size_t ti = 0; ti < r->trajs.n && n_seen < 16; ti++) {
            const ct_trajectory *t = r->trajs.items[ti];
            for (size_t k = 0; k < t->n_steps && n_seen < 16; k++) {
                size_t sa, sb;
                if (result_step_span_at(r, ti, k, &sa, &sb) != 0) continue;
                if (!(sa <= y && x < sb) && !(x == y && x >= sa && x < sb)) continue;
                int dup = 0;
                for (size_t q = 0; q < n_seen; q++)
                    dup |= seen[q] == t->steps[k].step_id;
                if (dup) continue;
                seen[n_seen++] = t->steps[k].step_id;
                json_array_append_new(out, inspect_action(t, &t->steps[k], d->uri, NULL));
                /* feedback for the step under the cursor only, not for every step of a range */
                if (n_seen == n_from_diags + 1 && n_from_diags == 0)
                    add_feedback_actions(out, t, r->an[ti], t->steps[k].step_id, NULL);
            }
        }
    }
    view_release(&view);
    llm_code_actions(s, d, out);
    srv_reply(s, m->id, out);
}

/* ---- commands ---- */

static char *inspect_dir(void)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");
    char *dir = rt && *rt ? ct_xasprintf("%s/codetracer", rt)
                          : ct_xasprintf("/tmp/codetracer-%u", (unsigned)getuid());
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        free(dir);
        return NULL;
    }
    struct stat sb;
    /* Refuse a directory someone else owns (a shared /tmp). */
    if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != getuid()) {
        free(dir);
        return NULL;
    }
    return dir;
}

static unsigned long hash_str(const char *s)
{
    unsigned long h = 5381;
    for (; *s; s++)
        h = h * 33 + (unsigned char)*s;
    return h;
}

static void cmd_inspect(ct_server *s, ct_rpc_msg *m, json_t *arg)
{
    const char *tid = jstr(arg, "traj_id");
    json_t *sid = json_object_get(arg, "step_id");
    if (!tid || !json_is_integer(sid)) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                        "codetracer.inspect takes [{\"traj_id\": ..., \"step_id\": N}]");
        return;
    }
    const ct_analysis *a;
    const ct_trajectory *t = find_traj(s, tid, &a);
    int id = (int)json_integer_value(sid);
    if (!t || id < 1 || (size_t)id > t->n_steps) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                        "no step %d in an analyzed trajectory '%s'", id, tid);
        return;
    }
    char *md = ct_lsp_inspect_markdown(t, a, &t->steps[id - 1]);
    json_t *res =
        json_pack("{s:s,s:i,s:o}", "title", "", "step_id", id, "markdown", ct_json_text(md));
    char *title = ct_xasprintf("Step %d of %s", id, t->id);
    json_object_set_new(res, "title", ct_json_text(title));
    free(title);
    char *dir = inspect_dir();
    if (dir) {
        char *file = ct_xasprintf("%s/step-%08lx-%d.md", dir, hash_str(t->id) & 0xffffffffUL, id);
        FILE *f = fopen(file, "w");
        if (f) {
            fwrite(md, 1, strlen(md), f);
            if (fclose(f) == 0) {
                char *uri = ct_lsp_uri_from_path(file);
                json_object_set_new(res, "uri", json_string(uri));
                if (s->cap_show_doc)
                    srv_request(s, "window/showDocument",
                                json_pack("{s:s,s:b}", "uri", uri, "takeFocus", 1), "showDocument");
                free(uri);
            }
        }
        free(file);
        free(dir);
    }
    free(md);
    srv_reply(s, m->id, res);
}

static void clear_doc(ct_server *s, ct_doc *d)
{
    if (d->job) job_cancel(d->job, 0);
    if (d->timer) uv_timer_stop(d->timer);
    d->rerun = 0;
    result_free(d->res);
    d->res = NULL;
    publish(s, d->uri, d->version, json_array());
}

static void clear_ext(ct_server *s, ext_result *e)
{
    const char *uri;
    json_t *v;
    json_object_foreach(e->res->diags, uri, v) publish(s, uri, -1, json_array());
    result_free(e->res);
    free(e);
}

static void cmd_clear(ct_server *s, ct_rpc_msg *m, const char *target)
{
    int n = 0;
    for (ct_doc *d = s->docs; d; d = d->next)
        if (!target || strcmp(d->uri, target) == 0 || strcmp(d->path, target) == 0)
            clear_doc(s, d), n++;
    ext_result **pp = &s->ext;
    while (*pp) {
        ext_result *e = *pp;
        int hit =
            !target || strcmp(e->res->path, target) == 0 || json_object_get(e->res->diags, target);
        if (hit) {
            *pp = e->next;
            clear_ext(s, e);
            n++;
        } else {
            pp = &e->next;
        }
    }
    for (ct_job *j = s->jobs; j; j = j->next)
        if (!j->doc && (!target || strcmp(j->path, target) == 0)) {
            job_cancel(j, 1);
            n++;
        }
    n += llm_clear(s, target);
    sources_refresh(s); /* the cleared trajectories' edits leave the source files */
    srv_reply(s, m->id, json_pack("{s:i}", "cleared", n));
}

static void cmd_analyze(ct_server *s, ct_rpc_msg *m, json_t *arg)
{
    const char *target = json_is_string(arg) ? json_string_value(arg) : NULL;
    if (!target) target = jstr(arg, "uri");
    if (!target) target = jstr(arg, "path");
    if (!target || !*target) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                        "codetracer.analyze takes a path or file URI (a trajectory file, run "
                        "directory or archive)");
        return;
    }
    if (json_is_object(arg) && json_object_get(arg, "analyzer")) {
        const char *an = jstr(arg, "analyzer");
        if (!an ||
            (strcmp(an, "heuristic") != 0 && strcmp(an, "llm") != 0 && strcmp(an, "hybrid") != 0)) {
            srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                            "analyzer must be \"heuristic\", \"llm\" or \"hybrid\"");
            return;
        }
        if (strcmp(an, "heuristic") != 0) {
            llm_start(s, m->id, json_string_value(json_object_get(m->params, "workDoneToken")),
                      target, an);
            return;
        }
    }
    for (ct_doc *d = s->docs; d; d = d->next) {
        if (strcmp(d->uri, target) != 0 && strcmp(d->path, target) != 0) continue;
        if (d->text->len > s->set.max_document) {
            srv_reply_error(s, m->id, CT_RPC_REQUEST_FAILED, "%s is over maxDocumentBytes",
                            d->path);
            return;
        }
        if (d->pending_req)
            srv_reply_error(s, d->pending_req, CT_RPC_REQUEST_CANCELLED, "superseded");
        json_decref(d->pending_req);
        d->pending_req = json_incref(m->id);
        if (d->job) {
            /* The answer comes from the analysis that replaces the running one. */
            if (d->job->req_id) {
                srv_reply_error(s, d->job->req_id, CT_RPC_REQUEST_CANCELLED, "superseded");
                json_decref(d->job->req_id);
                d->job->req_id = NULL;
            }
        }
        job_start_doc(s, d);
        return;
    }
    char *path = ct_lsp_path_from_uri(target);
    if (!path && strncmp(target, "file:", 5) == 0) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS, "malformed file URI %s", target);
        return;
    }
    if (!path && strstr(target, "://")) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                        "only file:// URIs and paths can be analyzed");
        return;
    }
    const char *token = json_string_value(json_object_get(m->params, "workDoneToken"));
    job_start_path(s, path ? path : target, m->id, token);
    free(path);
}

/* "llm" or "hybrid" when result r holds an LLM analysis, else NULL. */
static const char *llm_mode_of(const ct_result *r)
{
    for (size_t i = 0; r->an && i < r->trajs.n; i++) {
        const char *an = r->an[i] ? r->an[i]->analyzer : NULL;
        if (an && (strcmp(an, "llm") == 0 || strcmp(an, "hybrid") == 0)) return an;
    }
    return NULL;
}

static void cmd_feedback(ct_server *s, ct_rpc_msg *m, json_t *arg)
{
    const char *tid = jstr(arg, "traj_id");
    json_t *sid = json_object_get(arg, "step_id");
    ct_label_kind label;
    if (!tid || !json_is_integer(sid) || ct_label_from_name(jstr(arg, "label"), &label) != 0) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                        "codetracer.feedback takes [{\"traj_id\", \"step_id\": N, \"label\": "
                        "\"correct\"|\"incorrect\"|\"unuseful\", \"note\"?}]");
        return;
    }
    const ct_analysis *a;
    const ct_trajectory *t = find_traj(s, tid, &a);
    int id = (int)json_integer_value(sid);
    if (!t || id < 1 || (size_t)id > t->n_steps) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                        "no step %d in an analyzed trajectory '%s'", id, tid);
        return;
    }
    ct_error err;
    ct_error_clear(&err);
    if (!s->mem &&
        ct_memory_open(*s->set.memory_db ? s->set.memory_db : NULL, &s->mem, &err) != CT_OK) {
        s->mem = NULL;
        srv_show(s, 1, "feedback not saved: %s", err.msg);
        srv_reply_error(s, m->id, CT_RPC_REQUEST_FAILED, "%s", err.msg);
        return;
    }
    char hash[65];
    ct_traj_hash(t, hash);
    const char *note = jstr(arg, "note");
    if (ct_memory_remember_traj(s->mem, t, hash, &err) != CT_OK ||
        ct_memory_feedback_set(s->mem, hash, id, label, note, &err) != CT_OK) {
        srv_show(s, 1, "feedback not saved: %s", err.msg);
        srv_reply_error(s, m->id, CT_RPC_REQUEST_FAILED, "%s", err.msg);
        return;
    }
    srv_reply(s, m->id,
              json_pack("{s:s,s:i,s:s,s:s}", "traj_hash", hash, "step_id", id, "label",
                        ct_label_name(label), "db", ct_memory_path(s->mem)));
    /* Show it: analyze again everything holding this trajectory (feedback is applied there). An
     * LLM-labelled target is shown again from the LLM analysis in the cache, never replaced by the
     * heuristic's labels. */
    for (ct_doc *d = s->docs; d; d = d->next)
        for (size_t i = 0; d->res && i < d->res->trajs.n; i++)
            if (strcmp(d->res->trajs.items[i]->id, tid) == 0) {
                const char *mode = llm_mode_of(d->res);
                if (mode)
                    llm_reapply(s, d->uri, mode);
                else
                    job_start_doc(s, d);
                break;
            }
    for (ext_result *e = s->ext; e; e = e->next)
        for (size_t i = 0; i < e->res->trajs.n; i++)
            if (strcmp(e->res->trajs.items[i]->id, tid) == 0) {
                const char *mode = llm_mode_of(e->res);
                if (mode)
                    llm_reapply(s, e->res->path, mode);
                else
                    job_start_path(s, e->res->path, NULL, NULL);
                break;
            }
}

void h_execute_command(ct_server *s, ct_rpc_msg *m)
{
    const char *cmd = jstr(m->params, "command");
    json_t *args = json_object_get(m->params, "arguments");
    json_t *arg = json_array_get(args, 0);
    if (!cmd) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS, "command is missing");
    } else if (strcmp(cmd, "codetracer.analyze") == 0) {
        cmd_analyze(s, m, arg);
    } else if (strcmp(cmd, "codetracer.inspect") == 0) {
        cmd_inspect(s, m, arg);
    } else if (strcmp(cmd, "codetracer.feedback") == 0) {
        cmd_feedback(s, m, arg);
    } else if (strcmp(cmd, "codetracer.clear") == 0) {
        const char *target = json_is_string(arg) ? json_string_value(arg) : jstr(arg, "uri");
        cmd_clear(s, m, target);
    } else if (strcmp(cmd, "codetracer.blame") == 0) {
        sources_blame(s, m, arg);
    } else {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS, "unknown command %s", cmd);
    }
}

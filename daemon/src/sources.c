/* sources.c — issue 6: diagnostics on the source lines the agent edited.
 *
 * For every analysed trajectory (open documents and codetracer.analyze paths) the edits are
 * reconstructed (ct_edits_from_traj), mapped to the workspace (rootUri / workspaceFolders, the
 * detected container root, the `pathMappings` setting) and placed on today's files (the open
 * buffer's text when the file is open, else the disk) with ct_spans_place_edits. Each placed
 * edit of an incorrect step (Warning by default) or an unuseful step (Hint + Unnecessary), and
 * with `showAllEdits` every other edit (Information), becomes a diagnostic on that file. One
 * publish per file, merged across trajectories; files that no longer get any are cleared.
 *
 * Runs on the loop thread after an analysis is installed, a document closes or is cleared (the
 * analyses are already there: this is edit reconstruction and placement only). The hover on such
 * a line comes from the same table (s->src_info). */
#include "server.h"

#include "ct/buf.h"
#include "ct/edits.h"
#include "ct/spans.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MAPS 32
#define MAX_FILES 64 /* files whose text is held during one refresh */

typedef struct src_file {
    char *path;
    char *owned; /* read from disk (NULL when borrowed from an open buffer) */
    const char *data;
    size_t len;
    ct_text lines;
} src_file;

typedef struct refresh {
    ct_server *s;
    src_file files[MAX_FILES];
    size_t n_files;
    json_t *diags; /* uri → array of diagnostics */
    json_t *info;  /* uri → array of {range, traj_id, step_id, label, ...} for hovers */
} refresh;

static const char *buffer_cb(void *ud, const char *file, size_t *len)
{
    ct_server *s = ud;
    for (ct_doc *d = s->docs; d; d = d->next)
        if (d->text && d->path && strcmp(d->path, file) == 0) {
            *len = d->text->len;
            return d->text->data;
        }
    return NULL;
}

static char *read_disk(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = ct_xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= CT_SPANS_MAX_FILE) {
                free(b);
                fclose(f);
                return NULL;
            }
            cap *= 2;
            b = ct_xrealloc(b, cap + 1);
        }
        size_t k = fread(b + n, 1, cap - n, f);
        if (k == 0) break;
        n += k;
    }
    fclose(f);
    b[n] = '\0';
    *len = n;
    return b;
}

/* The text a placement's offsets refer to: the open buffer, else the disk (read once). */
static src_file *file_text(refresh *rf, const char *path)
{
    for (size_t i = 0; i < rf->n_files; i++)
        if (strcmp(rf->files[i].path, path) == 0) return &rf->files[i];
    if (rf->n_files == MAX_FILES) return NULL;
    src_file *f = &rf->files[rf->n_files];
    size_t len = 0;
    const char *data = buffer_cb(rf->s, path, &len);
    char *owned = NULL;
    if (!data) {
        owned = read_disk(path, &len);
        if (!owned) return NULL;
        data = owned;
    }
    f->path = ct_xstrdup(path);
    f->owned = owned;
    f->data = data;
    f->len = len;
    ct_text_init(&f->lines, data, len);
    rf->n_files++;
    return f;
}

static const ct_step_label *label_of(const ct_analysis *a, int step_id)
{
    for (size_t k = 0; a && k < a->n_labels; k++)
        if (a->labels[k].step_id == step_id) return &a->labels[k];
    return NULL;
}

static const char *root_cause(const ct_analysis *a)
{
    return a && a->n_root_cause ? a->root_cause_chain[0] : NULL;
}

static void add_place(refresh *rf, ct_result *r, size_t ti, const char *traj_uri,
                      const ct_edit_place *p)
{
    ct_server *s = rf->s;
    const ct_trajectory *t = r->trajs.items[ti];
    const ct_analysis *a = r->an[ti];
    const ct_edit *e = p->edit;
    if (strcmp(p->status, "found") != 0 || !p->file) return;
    if (e->step_id < 1 || (size_t)e->step_id > t->n_steps) return;
    const ct_step *st = &t->steps[e->step_id - 1];
    const ct_step_label *l = label_of(a, e->step_id);
    ct_label_kind kind = l ? l->label : CT_LABEL_CORRECT;
    int shown = kind != CT_LABEL_CORRECT || s->src_show_all;
    src_file *f = file_text(rf, p->file);
    if (!f) return;
    size_t b0 = p->match.span.byte_start, b1 = p->match.span.byte_end;
    if (b0 > f->len || b1 > f->len || b1 < b0) return;
    char *uri = ct_lsp_uri_from_path(p->file);
    if (!uri) return;
    json_t *range = ct_lsp_range(&f->lines, b0, b1, s->enc);
    int sev = kind == CT_LABEL_INCORRECT  ? s->set.sev_incorrect
              : kind == CT_LABEL_UNUSEFUL ? s->set.sev_unuseful
                                          : 3;
    json_t *loc = traj_uri ? result_step_location(r, st, traj_uri, s->enc) : NULL;
    json_t *iarr = json_object_get(rf->info, uri);
    if (!iarr) {
        iarr = json_array();
        json_object_set_new(rf->info, uri, iarr);
    }
    /* What a hover on these lines tells (and what definition / blame use). */
    json_t *inf =
        json_pack("{s:O,s:o,s:i,s:s,s:s,s:s,s:b}", "range", range, "traj_id", ct_json_text(t->id),
                  "step_id", e->step_id, "label", ct_label_name(kind), "via", e->via, "match",
                  ct_match_kind_name(p->match.kind), "shown", shown);
    if (l && l->rule) json_object_set_new(inf, "rule", json_string(l->rule));
    if (l && l->reasoning) json_object_set_new(inf, "reason", ct_json_text(l->reasoning));
    if (e->old_text) json_object_set_new(inf, "old", ct_json_text(e->old_text));
    if (kind != CT_LABEL_CORRECT && root_cause(a))
        json_object_set_new(inf, "root_cause", ct_json_text(root_cause(a)));
    if (loc) json_object_set_new(inf, "location", json_incref(loc));
    json_array_append_new(iarr, inf);
    if (!shown) {
        json_decref(loc);
        json_decref(range);
        free(uri);
        return;
    }
    char *msg = kind == CT_LABEL_CORRECT
                    ? ct_xasprintf("Step %d edited this (%s)", e->step_id, e->via)
                    : ct_xasprintf("Step %d %s: %s", e->step_id, ct_label_name(kind),
                                   l->reasoning ? l->reasoning : "");
    json_t *data = json_pack("{s:o,s:i,s:s,s:s}", "traj_id", ct_json_text(t->id), "step_id",
                             e->step_id, "label", ct_label_name(kind), "source", "edit");
    json_t *d = json_pack("{s:o,s:i,s:s,s:o,s:o}", "range", range, "severity", sev, "source",
                          "codetracer", "message", ct_json_text(msg), "data", data);
    free(msg);
    if (kind == CT_LABEL_UNUSEFUL) json_object_set_new(d, "tags", json_pack("[i]", 1));
    if (l && l->rule) json_object_set_new(d, "code", json_string(l->rule));
    if (loc && s->cap_related) {
        char *m = ct_xasprintf("Step %d (%s) in the trajectory", e->step_id, ct_label_name(kind));
        json_object_set_new(d, "relatedInformation",
                            json_pack("[{s:O,s:o}]", "location", loc, "message", ct_json_text(m)));
        free(m);
    }
    json_t *arr = json_object_get(rf->diags, uri);
    if (!arr) {
        arr = json_array();
        json_object_set_new(rf->diags, uri, arr);
    }
    json_array_append_new(arr, d);
    json_decref(loc);
    free(uri);
}

static void place_result(refresh *rf, ct_result *r, const char *traj_uri)
{
    ct_server *s = rf->s;
    ct_path_map maps[MAX_MAPS];
    size_t n_maps = 0, i;
    json_t *v;
    json_array_foreach(s->src_maps, i, v)
    {
        if (n_maps == MAX_MAPS) break;
        maps[n_maps].from = jstr(v, "from");
        maps[n_maps].to = jstr(v, "to");
        if (maps[n_maps].from && maps[n_maps].to) n_maps++;
    }
    for (size_t ti = 0; ti < r->trajs.n; ti++) {
        ct_edit_list el = {0};
        ct_error err;
        ct_error_clear(&err);
        if (ct_edits_from_traj(r->trajs.items[ti], &el, &err) != CT_OK || el.n == 0) {
            ct_edits_free(&el);
            continue;
        }
        ct_spans_opts o = {
            .workspace = s->ws_root, .maps = maps, .n_maps = n_maps, .buffer = buffer_cb, .ud = s};
        ct_edit_place *pl = NULL;
        if (ct_spans_place_edits(&el, &o, &pl, NULL, 0, &err) == CT_OK) {
            for (size_t k = 0; k < el.n; k++)
                add_place(rf, r, ti, traj_uri, &pl[k]);
            ct_spans_places_free(pl, el.n);
        } else {
            char buf[512];
            srv_log(s, 2, "cannot place the edits of %s: %s", r->trajs.items[ti]->id,
                    ct_error_format(&err, buf, sizeof buf));
        }
        ct_edits_free(&el);
    }
}

void sources_refresh(ct_server *s)
{
    if (s->exiting) return;
    refresh rf = {.s = s, .diags = json_object(), .info = json_object()};
    uint64_t t0 = uv_hrtime();
    size_t n_trajs = 0;
    if (s->ws_root) {
        for (ct_doc *d = s->docs; d; d = d->next)
            if (d->res) place_result(&rf, d->res, d->uri), n_trajs += d->res->trajs.n;
        for (ext_result *e = s->ext; e; e = e->next)
            place_result(&rf, e->res, NULL), n_trajs += e->res->trajs.n;
    }
    if (n_trajs)
        srv_log(s, 4, "edits of %zu trajector%s placed on %zu source files in %.1f ms", n_trajs,
                n_trajs == 1 ? "y" : "ies", json_object_size(rf.diags),
                (double)(uv_hrtime() - t0) / 1e6);
    for (size_t i = 0; i < rf.n_files; i++) {
        ct_text_free(&rf.files[i].lines);
        free(rf.files[i].owned);
        free(rf.files[i].path);
    }
    /* Files that had edit diagnostics and have none now are cleared; a file that is also an
     * analysed trajectory document keeps its own diagnostics (not merged). */
    const char *uri;
    json_t *v;
    if (s->src_diags) {
        json_object_foreach(s->src_diags, uri, v)
        {
            ct_doc *d = doc_find(s, uri);
            if (!json_object_get(rf.diags, uri) && !(d && d->res))
                publish(s, uri, d ? d->version : -1, json_array());
        }
    }
    json_object_foreach(rf.diags, uri, v)
    {
        ct_doc *d = doc_find(s, uri);
        if (d && d->res) continue; /* a trajectory document: its own analysis shows there */
        /* Unchanged sets are not sent again, except to an open document: its own (failed)
         * analysis has just published an empty set there. */
        if (!d && s->src_diags && json_equal(json_object_get(s->src_diags, uri), v)) continue;
        publish(s, uri, d ? d->version : -1, json_incref(v));
    }
    json_decref(s->src_diags);
    json_decref(s->src_info);
    s->src_diags = rf.diags;
    s->src_info = rf.info;
}

void sources_free(ct_server *s)
{
    json_decref(s->src_diags);
    json_decref(s->src_info);
    json_decref(s->src_maps);
    free(s->ws_root);
    s->src_diags = s->src_info = s->src_maps = NULL;
    s->ws_root = NULL;
}

void sources_settings(ct_server *s, json_t *obj)
{
    json_t *all = json_object_get(obj, "showAllEdits");
    int changed = 0;
    if (json_is_boolean(all) && s->src_show_all != json_is_true(all)) {
        s->src_show_all = json_is_true(all);
        changed = 1;
    }
    json_t *pm = json_object_get(obj, "pathMappings");
    if (!pm) {
        if (changed) sources_refresh(s); /* shown at once, not at the next analysis */
        return;
    }
    if (!json_is_array(pm)) {
        srv_log(s, 2, "pathMappings must be an array of {from, to}");
        return;
    }
    json_t *maps = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(pm, i, v)
    {
        const char *from = jstr(v, "from"), *to = jstr(v, "to");
        if (!from || !to || !*from || !*to) {
            srv_log(s, 2, "pathMappings[%zu] needs string 'from' and 'to' (ignored)", i);
            continue;
        }
        json_array_append_new(maps, json_pack("{s:s,s:s}", "from", from, "to", to));
    }
    json_decref(s->src_maps);
    s->src_maps = maps;
    sources_refresh(s);
}

void sources_workspace(ct_server *s, json_t *params)
{
    const char *uri = jstr(params, "rootUri");
    json_t *folders = json_object_get(params, "workspaceFolders");
    if (!uri && json_is_array(folders) && json_array_size(folders))
        uri = jstr(json_array_get(folders, 0), "uri");
    char *path = uri ? ct_lsp_path_from_uri(uri) : NULL;
    if (!path && jstr(params, "rootPath")) path = ct_xstrdup(jstr(params, "rootPath"));
    free(s->ws_root);
    s->ws_root = path;
}

/* The entry of arr whose range covers `line` that was written last: the highest step id (among
 * one trajectory's edits; the first trajectory found wins when several runs wrote the line). */
static json_t *last_writer(json_t *arr, long ln, int shown_only)
{
    json_t *best = NULL, *inf;
    size_t i;
    json_array_foreach(arr, i, inf)
    {
        json_t *rg = json_object_get(inf, "range");
        long l0 = (long)json_integer_value(json_object_get(jobj(rg, "start"), "line"));
        long l1 = (long)json_integer_value(json_object_get(jobj(rg, "end"), "line"));
        if (ln < l0 || ln > l1) continue;
        if (shown_only && !json_is_true(json_object_get(inf, "shown"))) continue;
        if (best && (strcmp(jstr(best, "traj_id"), jstr(inf, "traj_id")) != 0 ||
                     json_integer_value(json_object_get(best, "step_id")) >=
                         json_integer_value(json_object_get(inf, "step_id"))))
            continue;
        best = inf;
    }
    return best;
}

/* Markdown for a hover on an edited line, or NULL. */
json_t *sources_hover(ct_server *s, const char *uri, ct_lsp_pos pos)
{
    json_t *arr = s->src_info ? json_object_get(s->src_info, uri) : NULL;
    json_t *inf = arr ? last_writer(arr, pos.line, 1) : NULL;
    if (!inf) return NULL;
    json_t *rg = json_object_get(inf, "range");
    ct_buf b = CT_BUF_INIT;
    const char *label = jstr(inf, "label");
    ct_buf_printf(&b, "**Step %d** wrote these lines (%s) — %s",
                  (int)json_integer_value(json_object_get(inf, "step_id")), jstr(inf, "via"),
                  label);
    if (jstr(inf, "rule")) ct_buf_printf(&b, " [%s]", jstr(inf, "rule"));
    ct_buf_printf(&b, "\n\nTrajectory: `%s`\n", jstr(inf, "traj_id"));
    if (jstr(inf, "reason")) ct_buf_printf(&b, "\n**Reason:** %s\n", jstr(inf, "reason"));
    const char *old = jstr(inf, "old");
    if (old) ct_buf_printf(&b, "\n**It replaced:**\n\n```\n%.2000s\n```\n", old);
    if (jstr(inf, "root_cause"))
        ct_buf_printf(&b, "\n**Root cause:** %s\n", jstr(inf, "root_cause"));
    const char *match = jstr(inf, "match");
    if (match && strcmp(match, "exact") != 0)
        ct_buf_printf(&b, "\n_The file has moved on since the run (%s match)._\n", match);
    json_t *h = json_pack("{s:{s:s,s:s%},s:O}", "contents", "kind", "markdown", "value",
                          b.data ? b.data : "", b.len, "range", rg);
    ct_buf_free(&b);
    return h;
}

/* textDocument/definition on a step of a trajectory document: the ranges that step wrote. */
void h_definition(ct_server *s, ct_rpc_msg *m)
{
    const char *uri = jstr(jobj(m->params, "textDocument"), "uri");
    json_t *pos = jobj(m->params, "position");
    json_t *line = json_object_get(pos, "line"), *ch = json_object_get(pos, "character");
    if (!uri || !json_is_integer(line) || !json_is_integer(ch)) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                        "textDocument.uri and position.line/character are required");
        return;
    }
    ct_doc *d = doc_find(s, uri);
    if (!d || !d->res || !d->res->text) {
        srv_reply(s, m->id, json_null());
        return;
    }
    ct_lsp_pos p = {(long)json_integer_value(line), (long)json_integer_value(ch)};
    size_t ti = 0;
    const ct_step *st = step_at(d->res, ct_pos_to_byte(&d->res->lines, p, s->enc), &ti);
    json_t *locs = json_array();
    const char *furi;
    json_t *arr;
    if (st && s->src_info) {
        const char *tid = d->res->trajs.items[ti]->id;
        json_object_foreach(s->src_info, furi, arr)
        {
            size_t i;
            json_t *inf;
            json_array_foreach(arr, i, inf)
            {
                const char *it = jstr(inf, "traj_id");
                if (!it || strcmp(it, tid) != 0 ||
                    json_integer_value(json_object_get(inf, "step_id")) != st->step_id)
                    continue;
                json_array_append_new(locs, json_pack("{s:s,s:O}", "uri", furi, "range",
                                                      json_object_get(inf, "range")));
            }
        }
    }
    if (!json_array_size(locs)) {
        json_decref(locs);
        locs = json_null();
    }
    srv_reply(s, m->id, locs);
}

/* codetracer.blame {uri, line}: the step that last wrote that line (the highest step id among
 * the placed edits covering it; the first trajectory found when several runs wrote it). */
void sources_blame(ct_server *s, ct_rpc_msg *m, json_t *arg)
{
    const char *uri = jstr(arg, "uri");
    json_t *line = json_object_get(arg, "line");
    if (!uri || !json_is_integer(line)) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS, "codetracer.blame needs {uri, line}");
        return;
    }
    json_t *arr = s->src_info ? json_object_get(s->src_info, uri) : NULL;
    json_t *best = arr ? last_writer(arr, (long)json_integer_value(line), 0) : NULL;
    if (!best) {
        srv_reply(s, m->id, json_null());
        return;
    }
    json_t *res = json_pack("{s:s,s:O,s:s,s:s}", "traj_id", jstr(best, "traj_id"), "step_id",
                            json_object_get(best, "step_id"), "label", jstr(best, "label"), "via",
                            jstr(best, "via"));
    if (jstr(best, "rule")) json_object_set_new(res, "rule", json_string(jstr(best, "rule")));
    if (jstr(best, "reason")) json_object_set_new(res, "reason", json_string(jstr(best, "reason")));
    json_t *loc = json_object_get(best, "location");
    if (loc) {
        json_object_set(res, "location", loc);
        if (s->cap_show_doc)
            srv_request(s, "window/showDocument",
                        json_pack("{s:O,s:b,s:O}", "uri", json_object_get(loc, "uri"), "takeFocus",
                                  1, "selection", json_object_get(loc, "range")),
                        "showDocument");
    }
    srv_reply(s, m->id, res);
}

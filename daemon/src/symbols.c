/* symbols.c — textDocument/documentSymbol (stages → steps), textDocument/codeLens (a summary
 * per stage) and workspace/symbol (find steps by text). */
#include "server.h"

#include <stdlib.h>
#include <string.h>

enum { SK_MODULE = 2, SK_NAMESPACE = 3, SK_EVENT = 24 };

static void stage_counts(const ct_analysis *a, const ct_stage *g, int *inc, int *unu)
{
    *inc = *unu = 0;
    for (int id = g->start_step_id; id <= g->end_step_id; id++) {
        if (id < 1 || (size_t)id > a->n_labels) continue;
        *inc += a->labels[id - 1].label == CT_LABEL_INCORRECT;
        *unu += a->labels[id - 1].label == CT_LABEL_UNUSEFUL;
    }
}

static char *label_detail(const ct_step_label *l)
{
    if (!l) return ct_xstrdup("");
    if (l->rule) return ct_xasprintf("%s · %s", ct_label_name(l->label), l->rule);
    return ct_xstrdup(ct_label_name(l->label));
}

static json_t *traj_symbols(ct_server *s, ct_result *r, size_t ti, size_t *lo_out, size_t *hi_out)
{
    const ct_trajectory *t = r->trajs.items[ti];
    const ct_analysis *a = r->an[ti];
    json_t *out = json_array();
    size_t tlo = (size_t)-1, thi = 0;
    for (size_t g = 0; g < a->n_stages; g++) {
        const ct_stage *st = &a->stages[g];
        json_t *kids = json_array();
        size_t lo = (size_t)-1, hi = 0;
        for (int id = st->start_step_id; id <= st->end_step_id; id++) {
            if (id < 1 || (size_t)id > t->n_steps) continue;
            const ct_step *step = &t->steps[id - 1];
            size_t x, y;
            if (result_step_span_at(r, ti, (size_t)id - 1, &x, &y) != 0) continue;
            if (x < lo) lo = x;
            if (y > hi) hi = y;
            char *name = ct_lsp_step_title(step, 60);
            const ct_step_label *l = (size_t)id <= a->n_labels ? &a->labels[id - 1] : NULL;
            char *detail = label_detail(l);
            json_t *rg = result_range(r, x, y, s->enc);
            json_array_append_new(kids, json_pack("{s:o,s:s,s:i,s:O,s:o}", "name",
                                                  ct_json_text(name), "detail", detail, "kind",
                                                  SK_EVENT, "range", rg, "selectionRange", rg));
            free(name);
            free(detail);
        }
        if (!json_array_size(kids)) {
            json_decref(kids);
            continue;
        }
        int inc, unu;
        stage_counts(a, st, &inc, &unu);
        char *name = ct_xasprintf("Stage %d%s%s · steps %d–%d", st->stage_id, st->name ? " · " : "",
                                  st->name ? st->name : "", st->start_step_id, st->end_step_id);
        char *detail = ct_xasprintf("%d incorrect, %d unuseful", inc, unu);
        json_t *first = json_object_get(json_array_get(kids, 0), "selectionRange");
        json_array_append_new(out, json_pack("{s:o,s:s,s:i,s:o,s:O,s:o}", "name",
                                             ct_json_text(name), "detail", detail, "kind",
                                             SK_NAMESPACE, "range", result_range(r, lo, hi, s->enc),
                                             "selectionRange", first, "children", kids));
        free(name);
        free(detail);
        if (lo < tlo) tlo = lo;
        if (hi > thi) thi = hi;
    }
    *lo_out = tlo;
    *hi_out = thi;
    return out;
}

void h_document_symbol(ct_server *s, ct_rpc_msg *m)
{
    const char *uri = jstr(jobj(m->params, "textDocument"), "uri");
    if (!uri) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS, "textDocument.uri is missing");
        return;
    }
    ct_result view;
    memset(&view, 0, sizeof view);
    ct_result *r = result_for_uri(s, uri, &view);
    if (!r || !r->text) {
        srv_reply(s, m->id, doc_find(s, uri) || r ? json_array() : json_null());
        return;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < r->trajs.n; i++) {
        size_t lo, hi;
        json_t *syms = traj_symbols(s, r, i, &lo, &hi);
        if (r->trajs.n == 1 || !json_array_size(syms)) {
            json_array_extend(out, syms);
            json_decref(syms);
            continue;
        }
        /* Several trajectories in one file (output.jsonl): one level more. */
        const ct_trajectory *t = r->trajs.items[i];
        char *detail = ct_xasprintf("%s · %zu steps", t->agent ? t->agent : t->format, t->n_steps);
        json_t *rg = result_range(r, lo, hi, s->enc);
        json_array_append_new(
            out, json_pack("{s:o,s:s,s:i,s:o,s:O,s:o}", "name", ct_json_text(t->id), "detail",
                           detail, "kind", SK_MODULE, "range", rg, "selectionRange",
                           json_object_get(json_array_get(syms, 0), "selectionRange"), "children",
                           syms));
        free(detail);
    }
    view_release(&view);
    srv_reply(s, m->id, out);
}

void h_code_lens(ct_server *s, ct_rpc_msg *m)
{
    ct_doc *d = doc_of_params(s, m);
    if (!d) return;
    ct_result view; /* the document's analysis, or a run's with steps in this file */
    memset(&view, 0, sizeof view);
    ct_result *r = result_for_uri(s, d->uri, &view);
    json_t *out = json_array();
    for (size_t ti = 0; r && r->text && ti < r->trajs.n; ti++) {
        const ct_trajectory *t = r->trajs.items[ti];
        const ct_analysis *a = r->an[ti];
        for (size_t g = 0; g < a->n_stages; g++) {
            const ct_stage *st = &a->stages[g];
            int first = 0, target = 0;
            size_t x = 0, y;
            for (int id = st->start_step_id;
                 id <= st->end_step_id && id >= 1 && (size_t)id <= t->n_steps; id++) {
                size_t sx, sy;
                if (result_step_span_at(r, ti, (size_t)id - 1, &sx, &sy) != 0) continue;
                if (!first) first = id, x = sx;
                if (!target && (size_t)id <= a->n_labels &&
                    a->labels[id - 1].label != CT_LABEL_CORRECT)
                    target = id;
            }
            if (!first) continue;
            if (!target) target = first;
            int inc, unu;
            stage_counts(a, st, &inc, &unu);
            char *title =
                ct_xasprintf("Stage %d%s%s · steps %d–%d · %d incorrect · %d unuseful",
                             st->stage_id, st->name ? " · " : "", st->name ? st->name : "",
                             st->start_step_id, st->end_step_id, inc, unu);
            ct_lsp_pos p = result_pos(r, x, s->enc);
            p.character = 0;
            (void)y;
            json_t *rg =
                json_pack("{s:o,s:o}", "start", ct_lsp_position(p), "end", ct_lsp_position(p));
            json_t *args = json_pack("[{s:o,s:i,s:s}]", "traj_id", ct_json_text(t->id), "step_id",
                                     target, "uri", d->uri);
            json_array_append_new(out, json_pack("{s:o,s:{s:o,s:s,s:o}}", "range", rg, "command",
                                                 "title", ct_json_text(title), "command",
                                                 "codetracer.inspect", "arguments", args));
            free(title);
        }
    }
    view_release(&view);
    srv_reply(s, m->id, out);
}

static int step_matches(const ct_step *st, const ct_analysis *a, size_t k, const char *q)
{
    if (*q) return strcasestr(st->action, q) || (st->thought && strcasestr(st->thought, q));
    /* an empty query lists the labelled steps */
    return k < a->n_labels && a->labels[k].label != CT_LABEL_CORRECT;
}

void h_workspace_symbol(ct_server *s, ct_rpc_msg *m)
{
    const char *q = jstr(m->params, "query");
    if (!q) q = "";
    json_t *out = json_array();
    for (ct_doc *d = s->docs; d && json_array_size(out) < 200; d = d->next) {
        ct_result *r = d->res;
        for (size_t ti = 0; r && r->text && ti < r->trajs.n; ti++) {
            const ct_trajectory *t = r->trajs.items[ti];
            const ct_analysis *a = r->an[ti];
            for (size_t k = 0; k < t->n_steps && json_array_size(out) < 200; k++) {
                const ct_step *st = &t->steps[k];
                if (!step_matches(st, a, k, q)) continue;
                json_t *loc = result_step_location(r, st, d->uri, s->enc);
                if (!loc) continue;
                char *name = ct_lsp_step_title(st, 80);
                json_array_append_new(out,
                                      json_pack("{s:o,s:i,s:o,s:o}", "name", ct_json_text(name),
                                                "kind", SK_EVENT, "location", loc, "containerName",
                                                ct_json_text(t->id)));
                free(name);
            }
        }
    }
    /* Then the trajectories analyzed with codetracer.analyze, on their own files. */
    for (ext_result *e = s->ext; e && json_array_size(out) < 200; e = e->next) {
        ct_result *r = e->res;
        for (size_t ti = 0; ti < r->trajs.n && json_array_size(out) < 200; ti++) {
            const ct_trajectory *t = r->trajs.items[ti];
            const ct_analysis *a = r->an[ti];
            for (size_t k = 0; k < t->n_steps && json_array_size(out) < 200; k++) {
                const ct_step *st = &t->steps[k];
                if (!step_matches(st, a, k, q) || !st->src.path || strstr(st->src.path, "!/"))
                    continue;
                const ct_text *lines = ext_file_lines(s, st->src.path);
                size_t x, y;
                if (!lines || result_file_span(r, ti, k, lines, &x, &y) != 0) continue;
                char *fu = ct_lsp_uri_from_path(st->src.path);
                json_t *loc =
                    json_pack("{s:s,s:o}", "uri", fu, "range", ct_lsp_range(lines, x, y, s->enc));
                free(fu);
                char *name = ct_lsp_step_title(st, 80);
                json_array_append_new(out,
                                      json_pack("{s:o,s:i,s:o,s:o}", "name", ct_json_text(name),
                                                "kind", SK_EVENT, "location", loc, "containerName",
                                                ct_json_text(t->id)));
                free(name);
            }
        }
    }
    srv_reply(s, m->id, out);
}

/* hover.c — textDocument/hover: the card of the step under the cursor. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

const ct_step *step_at(const ct_result *r, size_t off, size_t *traj_index)
{
    const ct_step *best = NULL;
    size_t best_len = (size_t)-1;
    for (size_t i = 0; i < r->trajs.n; i++) {
        const ct_trajectory *t = r->trajs.items[i];
        for (size_t k = 0; k < t->n_steps; k++) {
            const ct_step *st = &t->steps[k];
            size_t a, b;
            int hit = result_step_span(r, st, &a, &b) == 0 && off >= a && off < b;
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
    ct_doc *d = doc_of_params(s, m);
    if (!d) return;
    json_t *pos = jobj(m->params, "position");
    json_t *line = json_object_get(pos, "line"), *ch = json_object_get(pos, "character");
    if (!json_is_integer(line) || !json_is_integer(ch)) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                        "position.line/character must be integers");
        return;
    }
    ct_result *r = d->res;
    if (!r || !r->text) {
        srv_reply(s, m->id, json_null());
        return;
    }
    ct_lsp_pos p = {(long)json_integer_value(line), (long)json_integer_value(ch)};
    size_t off = ct_pos_to_byte(&r->lines, p, s->enc);
    size_t ti = 0;
    const ct_step *st = step_at(r, off, &ti);
    if (!st) {
        srv_reply(s, m->id, json_null());
        return;
    }
    char *md = ct_lsp_hover_markdown(r->trajs.items[ti], r->an[ti], st);
    json_t *res =
        json_pack("{s:{s:s,s:o}}", "contents", "kind", "markdown", "value", ct_json_text(md));
    size_t a, b;
    if (result_step_span(r, st, &a, &b) == 0)
        json_object_set_new(res, "range", ct_lsp_range(&r->lines, a, b, s->enc));
    free(md);
    srv_reply(s, m->id, res);
}

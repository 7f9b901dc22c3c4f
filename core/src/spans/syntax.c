/* syntax.c — "syntax broken by the step": does the edited definition have ERROR/MISSING nodes
 * where the previous text had none? Used by the heuristic rule through ct_spans_syntax_scan /
 * ct_spans_rule_syntax_broken, which replay the run's edits in memory. */
#include "ct/spans.h"
#include "ct/buf.h"
#include "spans/grammar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int ct_spans_syntax_regression(const char *lang, const char *before, size_t blen, const char *after,
                               size_t alen, ct_syntax_regression *out)
{
    memset(out, 0, sizeof *out);
    if (!before) blen = 0, before = "";
    if (!after) return CT_EINVAL;
    if (blen > CT_SPANS_MAX_FILE || alen > CT_SPANS_MAX_FILE) return CT_ELIMIT;
    ct_spans_doc *da = NULL, *db = NULL;
    int rc = ct_spans_doc_open(lang, after, alen, &da, NULL);
    if (rc != CT_OK) return rc;
    /* the changed bytes: common prefix and suffix removed */
    size_t pre = 0, min = blen < alen ? blen : alen;
    while (pre < min && before[pre] == after[pre])
        pre++;
    size_t suf = 0;
    while (suf < min - pre && before[blen - 1 - suf] == after[alen - 1 - suf])
        suf++;
    size_t cs = pre, ce = alen - suf;
    /* widen the change to whole lines: an error node often starts at the line's beginning */
    while (cs > 0 && after[cs - 1] != '\n')
        cs--;
    while (ce < alen && after[ce] != '\n')
        ce++;
    out->changed.byte_start = cs;
    out->changed.byte_end = ce;
    ct_spans_fill_lines(after, alen, &out->changed);
    size_t rs = cs, re = ce;
    out->has_def = ct_spans_doc_enclosing(da, cs, ce, &out->def);
    if (out->has_def) rs = out->def.span.byte_start, re = out->def.span.byte_end;
    out->errors_after = ct__spans_doc_errors_started(da, rs, re);
    if (out->errors_after && blen) {
        /* the same range in `before`: bytes before the change are unchanged; after it, shifted */
        size_t bs = rs <= pre ? rs : pre;
        size_t be = re >= alen - suf ? re - alen + blen : blen - suf;
        if (be < bs) be = bs;
        if (ct_spans_doc_open(lang, before, blen, &db, NULL) == CT_OK) {
            /* any error touching the range counts here (widened over blank space and one byte
             * on each side): an edit inside code that was already broken is not blamed for it */
            while (bs > 0 && is_space(before[bs - 1]))
                bs--;
            while (be < blen && is_space(before[be]))
                be++;
            out->errors_before = ct_spans_doc_errors(db, bs ? bs - 1 : 0, be + 1);
        }
    }
    out->regressed = out->errors_after > 0 && out->errors_before == 0;
    ct_spans_doc_free(da);
    ct_spans_doc_free(db);
    return out->regressed;
}

/* ---- replay ------------------------------------------------------------------------------- */

typedef struct known_file {
    char *path;
    char *text; /* NULL: unknown since a step changed it in a way we cannot replay */
    size_t len;
} known_file;

typedef struct replay {
    known_file *v;
    size_t n, cap;
} replay;

static known_file *known(replay *r, const char *path)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].path, path) == 0) return &r->v[i];
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->v = ct_xrealloc(r->v, r->cap * sizeof *r->v);
    }
    known_file *k = &r->v[r->n++];
    k->path = ct_xstrdup(path);
    k->text = NULL;
    k->len = 0;
    return k;
}

static void replay_free(replay *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].path);
        free(r->v[i].text);
    }
    free(r->v);
}

/* Check one edit, update the file state; returns 1 when it broke syntax (why filled). */
static int check_edit(replay *r, const ct_edit *e, char *why, size_t why_sz)
{
    if (!e->path) return 0;
    const char *lang = ct_spans_lang_for_path(e->path);
    known_file *k = known(r, e->path);
    size_t alen = 0;
    char *after = e->reason ? NULL : ct_edit_apply(e, k->text, k->len, &alen);
    int broke = 0;
    ct_syntax_regression sr = {0};
    if (lang && after) {
        broke =
            ct_spans_syntax_regression(lang, k->text, k->text ? k->len : 0, after, alen, &sr) == 1;
    } else if (lang && !e->reason && e->old_text && e->new_text && e->literal && !k->text) {
        /* the file is unknown: compare the fragments themselves */
        ct_syntax_regression fo;
        int ro = ct_spans_syntax_regression(lang, NULL, 0, e->old_text, strlen(e->old_text), &fo);
        if (ro == 0 && fo.errors_after == 0 &&
            ct_spans_syntax_regression(lang, NULL, 0, e->new_text, strlen(e->new_text), &sr) == 1)
            broke = 1;
    }
    if (broke && why && why_sz) {
        if (sr.has_def)
            snprintf(why, why_sz, "step %d left a syntax error in %s %s (%s, line %d)", e->step_id,
                     sr.def.kind, sr.def.name, e->path, sr.changed.line_start + 1);
        else
            snprintf(why, why_sz, "step %d left a syntax error in %s at line %d", e->step_id,
                     e->path, sr.changed.line_start + 1);
    }
    free(k->text);
    k->text = after; /* NULL when the edit could not be replayed: the file is unknown from now */
    k->len = alen;
    return broke;
}

static size_t scan(const ct_trajectory *t, int upto, unsigned char *broken, char **whys, int target,
                   char *why, size_t why_sz, int *target_broke)
{
    replay r = {0};
    size_t count = 0;
    for (size_t i = 0; i < t->n_steps && (upto <= 0 || t->steps[i].step_id <= upto); i++) {
        ct_edit_list l = {0};
        ct_edits_from_step(&t->steps[i], &l);
        int b = 0;
        char buf[512];
        for (size_t j = 0; j < l.n; j++) {
            int is_target = t->steps[i].step_id == target;
            char *w = is_target ? why : buf;
            size_t wsz = is_target ? why_sz : sizeof buf;
            if (check_edit(&r, &l.items[j], !b ? w : NULL, wsz)) b = 1;
        }
        if (broken) broken[i] = (unsigned char)b;
        if (whys) whys[i] = b ? ct_xstrdup(buf) : NULL;
        if (b) count++;
        if (b && t->steps[i].step_id == target && target_broke) *target_broke = 1;
        ct_edits_free(&l);
    }
    replay_free(&r);
    return count;
}

size_t ct_spans_syntax_scan(const ct_trajectory *t, unsigned char *broken, char **why)
{
    if (!t) return 0;
    return scan(t, 0, broken, why, 0, NULL, 0, NULL);
}

int ct_spans_rule_syntax_broken(const ct_trajectory *t, int step_id, char *why, size_t why_sz)
{
    if (!t || step_id < 1) return 0;
    if (why && why_sz) why[0] = 0;
    int hit = 0;
    scan(t, step_id, NULL, NULL, step_id, why, why_sz, &hit);
    return hit;
}

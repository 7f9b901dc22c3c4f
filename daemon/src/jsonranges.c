/* jsonranges.c — each step's range in a JSON or JSONL trajectory, found with tree-sitter's JSON
 * grammar (runs on a worker thread, inside analyze_run; touches only its arguments).
 *
 * The loaders give each step a byte span (the action's object, and the observation's). Here the
 * file is parsed once and every `object` node is listed (start, end, enclosing object, under an
 * ERROR or not). A step's span is the loader's action span, followed by its observation's when
 * the observation is the next value of the same list (only blanks and a comma between: a
 * mini-SWE-agent assistant + user pair, an OpenHands action + observation event). Its range
 * starts at the start of the innermost object containing the span's first non-blank byte and
 * ends at the end of the innermost object containing its last one.
 *
 * The loader's span is kept (a "fallback", counted) when that place is inside an ERROR (or a
 * MISSING) node, when no object contains it, or when the range would swallow the start of
 * another step of the same file (the span does not match the tree). */
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <tree_sitter/api.h>

/* In the grammars library (core/src/spans/grammar.h, internal to core): NULL when not built. */
const TSLanguage *ct__grammar_language(const char *name, const char **query, size_t *query_len);

#define JR_MAX_BYTES (64u << 20) /* larger documents keep the loaders' spans */
#define JR_SLICE_US 20000        /* parse in 20 ms slices, checking for cancellation between */
#define JR_SKIP_MIN 32           /* string insides at least this long are not shown to the parser */

typedef struct jr_obj {
    size_t start, end;
    long parent; /* index of the enclosing object, -1 for none */
    int err;     /* has, or is inside, an ERROR/MISSING node */
} jr_obj;

typedef struct jr_objs {
    jr_obj *v;
    size_t n, cap;
} jr_objs;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int cancelled_now(atomic_int *c)
{
    return c && atomic_load(c);
}

/* Every object node, in document order (so sorted by start, and starts are distinct). Strings,
 * numbers and literals are not entered. Returns -1 when cancelled. */
static int collect(TSNode root, const TSLanguage *lang, jr_objs *out, atomic_int *cancel)
{
    TSSymbol s_obj = ts_language_symbol_for_name(lang, "object", 6, true);
    TSSymbol s_arr = ts_language_symbol_for_name(lang, "array", 5, true);
    TSSymbol s_pair = ts_language_symbol_for_name(lang, "pair", 4, true);
    TSSymbol s_doc = ts_language_symbol_for_name(lang, "document", 8, true);
    typedef struct {
        long obj;
        int err;
    } level;
    size_t cap = 64, depth = 0, visited = 0;
    level *stk = ct_xmalloc(cap * sizeof *stk);
    stk[0].obj = -1;
    stk[0].err = 0;
    TSTreeCursor c = ts_tree_cursor_new(root);
    int rc = 0;
    for (;;) {
        TSNode n = ts_tree_cursor_current_node(&c);
        TSSymbol sym = ts_node_symbol(n);
        int is_err = sym == (TSSymbol)-1 || ts_node_is_missing(n);
        int err = stk[depth].err || is_err;
        long me = stk[depth].obj;
        if (sym == s_obj) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 256;
                out->v = ct_xrealloc(out->v, out->cap * sizeof *out->v);
            }
            jr_obj *o = &out->v[out->n];
            o->start = ts_node_start_byte(n);
            o->end = ts_node_end_byte(n);
            o->parent = me;
            o->err = err || ts_node_has_error(n);
            me = (long)out->n++;
        }
        if ((++visited & 0xffff) == 0 && cancelled_now(cancel)) {
            rc = -1;
            break;
        }
        int enter = sym == s_obj || sym == s_arr || sym == s_pair || sym == s_doc || is_err;
        if (enter && ts_tree_cursor_goto_first_child(&c)) {
            if (++depth == cap) {
                cap *= 2;
                stk = ct_xrealloc(stk, cap * sizeof *stk);
            }
            stk[depth].obj = me;
            stk[depth].err = err;
            continue;
        }
        while (!ts_tree_cursor_goto_next_sibling(&c)) {
            if (depth == 0 || !ts_tree_cursor_goto_parent(&c)) goto done;
            depth--;
        }
    }
done:
    ts_tree_cursor_delete(&c);
    free(stk);
    return rc;
}

/* The innermost object containing byte x, or -1. */
static long innermost(const jr_objs *o, size_t x)
{
    size_t lo = 0, hi = o->n; /* first index with start > x */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->v[mid].start <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    long i = (long)lo - 1;
    while (i >= 0 && o->v[i].end <= x)
        i = o->v[i].parent;
    return i;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* First index of sorted v[0..n) with v[i] >= x. */
static size_t lower_bound(const size_t *v, size_t n, size_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int in_file(const ct_source_ref *src, const char *path, int own_doc)
{
    if (!src->path) return own_doc;
    return path && strcmp(src->path, path) == 0;
}

/* The loader's span of a step (action, then an adjacent observation), blanks and commas around
 * it trimmed: 0 when there is one. */
static int loader_span(const char *text, size_t len, const ct_step *st, const char *path,
                       int own_doc, size_t *a, size_t *b)
{
    const ct_source_ref *s = &st->src;
    if (!in_file(s, path, own_doc) || s->byte_end <= s->byte_start || s->byte_end > len) return -1;
    size_t x = s->byte_start, y = s->byte_end;
    const ct_source_ref *o = &st->obs_src;
    if (o->path && in_file(o, path, own_doc) && o->byte_start >= y && o->byte_end > o->byte_start &&
        o->byte_end <= len) {
        size_t k = y;
        while (k < o->byte_start && (is_blank(text[k]) || text[k] == ','))
            k++;
        if (k == o->byte_start) y = o->byte_end;
    }
    while (x < y && (is_blank(text[x]) || text[x] == ','))
        x++;
    while (y > x && (is_blank(text[y - 1]) || text[y - 1] == ','))
        y--;
    if (x == y) return -1;
    *a = x;
    *b = y;
    return 0;
}

static int looks_json(const char *text, size_t len, const char *path)
{
    if (path) {
        const char *dot = strrchr(path, '.');
        if (dot && (strcmp(dot, ".cast") == 0 || strcmp(dot, ".log") == 0 ||
                    strcmp(dot, ".txt") == 0 || strcmp(dot, ".md") == 0))
            return 0;
    }
    size_t i = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) i = 3; /* a UTF-8 byte-order mark */
    while (i < len && is_blank(text[i]))
        i++;
    return i < len && (text[i] == '{' || text[i] == '[');
}

typedef struct jr_ranges {
    TSRange *v;
    uint32_t n, cap;
} jr_ranges;

static void push_range(jr_ranges *r, size_t a, uint32_t row_a, size_t col_a, size_t b,
                       uint32_t row_b, size_t col_b)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = ct_xrealloc(r->v, r->cap * sizeof *r->v);
    }
    TSRange *g = &r->v[r->n++];
    g->start_byte = (uint32_t)a;
    g->end_byte = (uint32_t)b;
    g->start_point.row = row_a;
    g->start_point.column = (uint32_t)col_a;
    g->end_point.row = row_b;
    g->end_point.column = (uint32_t)col_b;
}

/* The parts of the text the parser needs to see: everything but the insides of long strings
 * (the messages, commands and outputs that make up most of a trajectory). The grammar then reads
 * each such string as `""` at its own place, so every node keeps its offsets in the whole text,
 * and the parse costs what the structure costs. The text was accepted by a loader's JSON parser
 * already; where this scan meets something that is no well-formed string (a raw line break, an
 * unterminated quote), it stops skipping and the parser sees the rest as it is. */
static void outside_strings(const char *s, size_t n, jr_ranges *out)
{
    size_t from = 0, from_col = 0, line = 0, i = 0;
    uint32_t row = 0, from_row = 0;
    for (;;) {
        /* the next quote, counting the line breaks before it */
        const char *q = memchr(s + i, '"', n - i);
        size_t qi = q ? (size_t)(q - s) : n;
        for (const char *nl = memchr(s + i, '\n', qi - i); nl;
             nl = memchr(nl + 1, '\n', qi - (size_t)(nl + 1 - s))) {
            row++;
            line = (size_t)(nl - s) + 1;
        }
        if (!q) break;
        /* its closing quote: one not escaped by an odd run of backslashes */
        size_t j = qi + 1;
        for (;;) {
            const char *e = memchr(s + j, '"', n - j);
            if (!e) break;
            size_t k = (size_t)(e - s), bs = 0;
            while (k - bs > qi + 1 && s[k - bs - 1] == '\\')
                bs++;
            j = k;
            if (bs % 2 == 0) break;
            j++;
        }
        if (j >= n || s[j] != '"' || memchr(s + qi + 1, '\n', j - qi - 1)) {
            i = qi; /* not a string this scan understands: the parser sees the rest */
            break;
        }
        if (j - (qi + 1) >= JR_SKIP_MIN) { /* [qi+1, j) is skipped; no line break inside */
            push_range(out, from, from_row, from_col, qi + 1, row, qi + 1 - line);
            from = j;
            from_row = row;
            from_col = j - line;
        }
        i = j + 1;
    }
    size_t end_col = 0;
    uint32_t end_row = row;
    for (size_t k = line; k < n; k++) { /* the end point: the lines of the rest */
        if (s[k] == '\n')
            end_row++, end_col = 0;
        else
            end_col++;
    }
    push_range(out, from, from_row, from_col, n, end_row, end_col);
}

static TSTree *parse(const TSLanguage *lang, const char *text, size_t len, atomic_int *cancel)
{
    TSParser *p = ts_parser_new();
    if (!ts_parser_set_language(p, lang)) {
        ts_parser_delete(p);
        return NULL;
    }
    jr_ranges rg = {NULL, 0, 0};
    outside_strings(text, len, &rg);
    if (rg.n > 1 && !ts_parser_set_included_ranges(p, rg.v, rg.n)) rg.n = 0; /* whole text */
    free(rg.v);
    ts_parser_set_timeout_micros(p, JR_SLICE_US);
    TSTree *t = NULL;
    /* A parse that times out resumes where it stopped when called again with the same text. */
    while (!(t = ts_parser_parse_string(p, NULL, text, (uint32_t)len)))
        if (cancelled_now(cancel)) break;
    ts_parser_delete(p);
    return t;
}

int json_ranges_applies(const char *text, size_t len, const char *path)
{
    return looks_json(text, len, path);
}

struct jr_tree {
    jr_objs objs;
};

jr_tree *json_ranges_parse(const char *text, size_t len, const char *path, atomic_int *cancel)
{
    if (!looks_json(text, len, path) || len > JR_MAX_BYTES) return NULL;
    const TSLanguage *lang = ct__grammar_language("json", NULL, NULL);
    TSTree *tree = lang ? parse(lang, text, len, cancel) : NULL;
    if (!tree) return NULL;
    jr_tree *jt = ct_xcalloc(1, sizeof *jt);
    int rc = collect(ts_tree_root_node(tree), lang, &jt->objs, cancel);
    ts_tree_delete(tree);
    if (rc != 0) {
        json_ranges_free(jt);
        return NULL;
    }
    return jt;
}

void json_ranges_free(jr_tree *jt)
{
    if (!jt) return;
    free(jt->objs.v);
    free(jt);
}

int json_ranges_match(const jr_tree *jt, const char *text, size_t len, const char *path,
                      int own_doc, const ct_traj_list *trajs, ct_step_range **ranges, size_t *n_ok,
                      size_t *n_fallback)
{
    /* Where every step of the file starts (the check that a range swallows no other step). */
    size_t n_steps = 0;
    for (size_t i = 0; i < trajs->n; i++)
        for (size_t k = 0; k < trajs->items[i]->n_steps; k++) {
            size_t a, b;
            n_steps +=
                loader_span(text, len, &trajs->items[i]->steps[k], path, own_doc, &a, &b) == 0;
        }
    if (!n_steps) return -1;
    if (!jt) {
        *n_fallback += n_steps;
        return -1;
    }
    const jr_objs *objs = &jt->objs;
    size_t *starts = ct_xmalloc(n_steps * sizeof *starts), ns = 0;
    for (size_t i = 0; i < trajs->n; i++)
        for (size_t k = 0; k < trajs->items[i]->n_steps; k++) {
            size_t a, b;
            if (loader_span(text, len, &trajs->items[i]->steps[k], path, own_doc, &a, &b) == 0)
                starts[ns++] = a;
        }
    qsort(starts, ns, sizeof *starts, cmp_size);
    for (size_t i = 0; i < trajs->n; i++) {
        const ct_trajectory *t = trajs->items[i];
        for (size_t k = 0; k < t->n_steps; k++) {
            size_t a, b;
            if (loader_span(text, len, &t->steps[k], path, own_doc, &a, &b) != 0) continue;
            long o1 = innermost(objs, a), o2 = innermost(objs, b - 1);
            int ok = o1 >= 0 && o2 >= 0 && !objs->v[o1].err && !objs->v[o2].err;
            size_t x = 0, y = 0;
            if (ok) {
                const jr_obj *p = &objs->v[o1], *q = &objs->v[o2];
                if (p->start <= q->start && q->end <= p->end) /* q inside p: the outer one */
                    x = p->start, y = p->end;
                else if (q->start <= p->start && p->end <= q->end)
                    x = q->start, y = q->end;
                else
                    x = p->start, y = q->end; /* p, then q after it */
                /* No other step may start in [x, a) or [b, y). */
                size_t lb = lower_bound(starts, ns, x);
                if (lb < ns && starts[lb] < a) ok = 0;
                lb = lower_bound(starts, ns, b);
                if (lb < ns && starts[lb] < y) ok = 0;
            }
            if (ok) {
                ranges[i][k].a = x;
                ranges[i][k].b = y;
                (*n_ok)++;
            } else {
                (*n_fallback)++;
            }
        }
    }
    free(starts);
    return 0;
}

int json_ranges_fill(const char *text, size_t len, const char *path, int own_doc,
                     const ct_traj_list *trajs, ct_step_range **ranges, size_t *n_ok,
                     size_t *n_fallback, atomic_int *cancel)
{
    if (!looks_json(text, len, path)) return -1;
    /* nothing to parse for when no step of this file has a loader span */
    size_t n_steps = 0;
    for (size_t i = 0; i < trajs->n && !n_steps; i++)
        for (size_t k = 0; k < trajs->items[i]->n_steps && !n_steps; k++) {
            size_t a, b;
            n_steps +=
                loader_span(text, len, &trajs->items[i]->steps[k], path, own_doc, &a, &b) == 0;
        }
    if (!n_steps) return -1;
    jr_tree *jt = json_ranges_parse(text, len, path, cancel);
    int rc = json_ranges_match(jt, text, len, path, own_doc, trajs, ranges, n_ok, n_fallback);
    if (!jt) rc = -1;
    json_ranges_free(jt);
    return rc;
}

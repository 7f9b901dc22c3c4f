/* doc.c — tree-sitter documents: languages by file name, one parse per version, incremental
 * re-parse, the innermost enclosing definition (grammars/queries/<lang>.scm) and ERROR/MISSING
 * counts. Compiled queries are shared per language (a TSQuery is read-only once built). */
#include "ct/spans.h"
#include "ct/buf.h"
#include "spans/grammar.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ct_spans_doc {
    const char *lang; /* static (from the grammar registry) */
    TSParser *parser;
    TSTree *tree;
    const TSQuery *query; /* shared, NULL when the query failed to compile */
    char *text;
    size_t len;
    /* every definition of this version (one query pass, made on first use) */
    ct_span_def *defs;
    size_t n_defs;
    int defs_ready;
};

/* ---- languages ---------------------------------------------------------------------------- */

static const struct {
    const char *ext;
    const char *lang;
} exts[] = {
    {".py", "python"},      {".pyi", "python"},     {".js", "javascript"}, {".mjs", "javascript"},
    {".cjs", "javascript"}, {".jsx", "javascript"}, {".ts", "typescript"}, {".mts", "typescript"},
    {".cts", "typescript"}, {".tsx", "tsx"},        {".c", "c"},           {".h", "c"},
    {".cc", "cpp"},         {".cpp", "cpp"},        {".cxx", "cpp"},       {".hpp", "cpp"},
    {".hh", "cpp"},         {".hxx", "cpp"},        {".go", "go"},         {".rs", "rust"},
    {".java", "java"},      {".sh", "bash"},        {".bash", "bash"},     {".json", "json"},
};

const char *ct_spans_lang_for_path(const char *path)
{
    if (!path) return NULL;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot) return NULL;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        if (strcasecmp(dot, exts[i].ext) == 0) {
            const char *q;
            return ct__grammar_language(exts[i].lang, &q, NULL) ? exts[i].lang : NULL;
        }
    }
    return NULL;
}

size_t ct_spans_lang_count(void)
{
    return ct__grammar_count();
}

const char *ct_spans_lang_name(size_t i)
{
    return ct__grammar_name(i);
}

int ct_spans_lang_abi(const char *lang)
{
    const TSLanguage *l = ct__grammar_language(lang, NULL, NULL);
    return l ? (int)ts_language_version(l) : 0;
}

/* ---- shared queries ----------------------------------------------------------------------- */

#define MAX_LANGS 32
static pthread_mutex_t query_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const char *lang;
    TSQuery *query;
    int failed;
    uint32_t err_offset;
    int err_type;
} queries[MAX_LANGS];

static const TSQuery *query_for(const char *lang, const TSLanguage *l, const char *src, size_t n)
{
    const TSQuery *q = NULL;
    pthread_mutex_lock(&query_lock);
    size_t i = 0;
    for (; i < MAX_LANGS && queries[i].lang; i++) {
        if (strcmp(queries[i].lang, lang) == 0) {
            q = queries[i].query;
            goto done;
        }
    }
    if (i < MAX_LANGS && n) {
        uint32_t off = 0;
        TSQueryError qe = TSQueryErrorNone;
        TSQuery *nq = ts_query_new(l, src, (uint32_t)n, &off, &qe);
        queries[i].lang = NULL; /* the registry's own (static) spelling of the name */
        for (size_t g = 0; g < ct__grammar_count(); g++)
            if (strcmp(ct__grammar_name(g), lang) == 0) queries[i].lang = ct__grammar_name(g);
        if (!queries[i].lang) goto done;
        queries[i].query = nq;
        queries[i].failed = nq == NULL;
        queries[i].err_offset = off;
        queries[i].err_type = (int)qe;
        q = nq;
    }
done:
    pthread_mutex_unlock(&query_lock);
    return q;
}

int ct_spans_lang_ok(const char *lang, ct_error *err)
{
    const TSLanguage *l = ct__grammar_language(lang, NULL, NULL);
    if (!l)
        return ct_error_set(err, CT_ENOTFOUND, "no tree-sitter grammar '%s' in this build",
                            lang ? lang : "(null)");
    unsigned v = ts_language_version(l);
    if (v < TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION || v > TREE_SITTER_LANGUAGE_VERSION)
        return ct_error_set(err, CT_EFORMAT,
                            "grammar '%s' has language ABI %u, libtree-sitter accepts %d..%d: pin "
                            "another version in grammars/package.json",
                            lang, v, TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION,
                            TREE_SITTER_LANGUAGE_VERSION);
    const char *qsrc = NULL;
    size_t qlen = 0;
    ct__grammar_language(lang, &qsrc, &qlen);
    if (!qlen)
        return ct_error_set(err, CT_ENOTFOUND, "grammars/queries/%s.scm is missing or empty", lang);
    if (!query_for(lang, l, qsrc, qlen)) {
        uint32_t off = 0;
        int ty = 0;
        pthread_mutex_lock(&query_lock);
        for (size_t i = 0; i < MAX_LANGS && queries[i].lang; i++)
            if (strcmp(queries[i].lang, lang) == 0) {
                off = queries[i].err_offset;
                ty = queries[i].err_type;
            }
        pthread_mutex_unlock(&query_lock);
        return ct_error_setf(err, CT_EPARSE, "grammars/queries", (long long)off, 0,
                             "the definitions query of '%s' does not compile (tree-sitter query "
                             "error %d at byte %u)",
                             lang, ty, off);
    }
    return CT_OK;
}

/* ---- documents ---------------------------------------------------------------------------- */

static int reparse(ct_spans_doc *d, ct_error *err)
{
    if (!d->parser) { /* a clone being edited: its own parser */
        d->parser = ts_parser_new();
        if (!ts_parser_set_language(d->parser, ct__grammar_language(d->lang, NULL, NULL)))
            return ct_error_set(err, CT_EFORMAT, "libtree-sitter refused the '%s' grammar",
                                d->lang);
    }
    TSTree *t = ts_parser_parse_string(d->parser, d->tree, d->text, (uint32_t)d->len);
    if (!t) return ct_error_set(err, CT_EPARSE, "tree-sitter could not parse the %s text", d->lang);
    if (d->tree) ts_tree_delete(d->tree);
    d->tree = t;
    return CT_OK;
}

int ct_spans_doc_open(const char *lang, const char *text, size_t len, ct_spans_doc **out,
                      ct_error *err)
{
    *out = NULL;
    const char *qsrc = NULL;
    size_t qlen = 0;
    const TSLanguage *l = ct__grammar_language(lang, &qsrc, &qlen);
    int rc = ct_spans_lang_ok(lang, err);
    if (rc != CT_OK) return rc;
    if (len > CT_SPANS_MAX_FILE)
        return ct_error_set(err, CT_ELIMIT, "source text of %zu bytes is above the %u byte limit",
                            len, CT_SPANS_MAX_FILE);
    ct_spans_doc *d = ct_xcalloc(1, sizeof *d);
    for (size_t i = 0; i < ct__grammar_count(); i++)
        if (strcmp(ct__grammar_name(i), lang) == 0) d->lang = ct__grammar_name(i);
    d->parser = ts_parser_new();
    if (!ts_parser_set_language(d->parser, l)) {
        ct_spans_doc_free(d);
        return ct_error_set(err, CT_EFORMAT, "libtree-sitter refused the '%s' grammar", lang);
    }
    d->query = query_for(d->lang, l, qsrc, qlen);
    d->text = ct_xmalloc(len + 1);
    memcpy(d->text, text, len);
    d->text[len] = 0;
    d->len = len;
    rc = reparse(d, err);
    if (rc != CT_OK) {
        ct_spans_doc_free(d);
        return rc;
    }
    *out = d;
    return CT_OK;
}

static TSPoint point_at(const char *s, size_t off)
{
    TSPoint p = {0, 0};
    size_t ls = 0;
    for (size_t i = 0; i < off; i++)
        if (s[i] == '\n') p.row++, ls = i + 1;
    p.column = (uint32_t)(off - ls);
    return p;
}

int ct_spans_doc_edit(ct_spans_doc *d, size_t start, size_t old_end, const char *new_text,
                      size_t new_len, ct_error *err)
{
    if (!d || start > old_end || old_end > d->len)
        return ct_error_set(err, CT_EINVAL, "edit range [%zu, %zu) outside the document", start,
                            old_end);
    size_t nlen = d->len - (old_end - start) + new_len;
    if (nlen > CT_SPANS_MAX_FILE)
        return ct_error_set(err, CT_ELIMIT, "document would exceed the %u byte limit",
                            CT_SPANS_MAX_FILE);
    TSInputEdit ed;
    ed.start_byte = (uint32_t)start;
    ed.old_end_byte = (uint32_t)old_end;
    ed.new_end_byte = (uint32_t)(start + new_len);
    ed.start_point = point_at(d->text, start);
    ed.old_end_point = point_at(d->text, old_end);
    char *nt = ct_xmalloc(nlen + 1);
    memcpy(nt, d->text, start);
    memcpy(nt + start, new_text, new_len);
    memcpy(nt + start + new_len, d->text + old_end, d->len - old_end);
    nt[nlen] = 0;
    ed.new_end_point = point_at(nt, start + new_len);
    free(d->text);
    d->text = nt;
    d->len = nlen;
    ts_tree_edit(d->tree, &ed);
    free(d->defs);
    d->defs = NULL;
    d->n_defs = 0;
    d->defs_ready = 0;
    return reparse(d, err);
}

ct_spans_doc *ct_spans_doc_clone(const ct_spans_doc *d)
{
    if (!d) return NULL;
    ct_spans_doc *c = ct_xcalloc(1, sizeof *c);
    c->lang = d->lang;
    c->query = d->query;
    c->tree = d->tree ? ts_tree_copy(d->tree) : NULL;
    c->text = ct_xmalloc(d->len + 1);
    memcpy(c->text, d->text, d->len);
    c->text[d->len] = 0;
    c->len = d->len;
    if (d->defs_ready) {
        c->defs_ready = 1;
        c->n_defs = d->n_defs;
        if (d->n_defs) {
            c->defs = ct_xmalloc(d->n_defs * sizeof *c->defs);
            memcpy(c->defs, d->defs, d->n_defs * sizeof *c->defs);
        }
    }
    return c;
}

const char *ct_spans_doc_text(const ct_spans_doc *d, size_t *len)
{
    if (len) *len = d ? d->len : 0;
    return d ? d->text : NULL;
}

const char *ct_spans_doc_lang(const ct_spans_doc *d)
{
    return d ? d->lang : NULL;
}

void ct_spans_doc_free(ct_spans_doc *d)
{
    if (!d) return;
    if (d->tree) ts_tree_delete(d->tree);
    if (d->parser) ts_parser_delete(d->parser);
    free(d->text);
    free(d->defs);
    free(d);
}

void ct_spans_fill_lines(const char *text, size_t len, ct_span *sp)
{
    size_t a = sp->byte_start < len ? sp->byte_start : len;
    size_t b = sp->byte_end < len ? sp->byte_end : len;
    if (b < a) b = a;
    int line = 0;
    size_t ls = 0, i = 0;
    for (; i < a; i++)
        if (text[i] == '\n') line++, ls = i + 1;
    sp->line_start = line;
    sp->col_start = (int)(a - ls);
    for (; i < b; i++)
        if (text[i] == '\n') line++, ls = i + 1;
    sp->line_end = line;
    sp->col_end = (int)(b - ls);
}

static int def_order(const void *a, const void *b)
{
    const ct_span_def *x = a, *y = b;
    if (x->span.byte_start != y->span.byte_start)
        return x->span.byte_start < y->span.byte_start ? -1 : 1;
    if (x->span.byte_end != y->span.byte_end) return x->span.byte_end > y->span.byte_end ? -1 : 1;
    return 0;
}

static void collect_defs(ct_spans_doc *d)
{
    d->defs_ready = 1;
    if (!d->query || !d->tree) return;
    size_t cap = 0;
    TSQueryCursor *c = ts_query_cursor_new();
    ts_query_cursor_exec(c, d->query, ts_tree_root_node(d->tree));
    TSQueryMatch m;
    while (ts_query_cursor_next_match(c, &m)) {
        TSNode def = {0}, name = {0};
        const char *kind = NULL;
        int have_def = 0, have_name = 0;
        for (uint16_t i = 0; i < m.capture_count; i++) {
            uint32_t nl;
            const char *cn = ts_query_capture_name_for_id(d->query, m.captures[i].index, &nl);
            if (nl > 11 && strncmp(cn, "definition.", 11) == 0) {
                def = m.captures[i].node;
                have_def = 1;
                kind = strncmp(cn + 11, "function", nl - 11) == 0 ? "function"
                       : strncmp(cn + 11, "method", nl - 11) == 0 ? "method"
                                                                  : "class";
            } else if (nl == 4 && strncmp(cn, "name", 4) == 0) {
                name = m.captures[i].node;
                have_name = 1;
            }
        }
        if (!have_def) continue;
        if (d->n_defs == cap) {
            cap = cap ? cap * 2 : 64;
            d->defs = ct_xrealloc(d->defs, cap * sizeof *d->defs);
        }
        ct_span_def *out = &d->defs[d->n_defs++];
        memset(out, 0, sizeof *out);
        out->kind = kind;
        if (have_name) {
            size_t ns = ts_node_start_byte(name), ne = ts_node_end_byte(name);
            size_t n = ne - ns < sizeof out->name - 1 ? ne - ns : sizeof out->name - 1;
            memcpy(out->name, d->text + ns, n);
            out->name[n] = 0;
            /* a name spanning lines (impl types, qualified ids): keep its first line */
            char *nl2 = strchr(out->name, '\n');
            if (nl2) *nl2 = 0;
        }
        out->span.byte_start = ts_node_start_byte(def);
        out->span.byte_end = ts_node_end_byte(def);
        TSPoint ps = ts_node_start_point(def), pe = ts_node_end_point(def);
        out->span.line_start = (int)ps.row;
        out->span.col_start = (int)ps.column;
        out->span.line_end = (int)pe.row;
        out->span.col_end = (int)pe.column;
    }
    ts_query_cursor_delete(c);
    /* a function whose innermost enclosing definition is a class (impl, trait) is a method:
     * sorted by start (outer first), a stack of open definitions gives each one its parent */
    if (!d->n_defs || strcmp(d->lang, "json") == 0) return;
    qsort(d->defs, d->n_defs, sizeof *d->defs, def_order);
    size_t *stack = ct_xmalloc(d->n_defs * sizeof *stack), top = 0;
    for (size_t i = 0; i < d->n_defs; i++) {
        ct_span_def *f = &d->defs[i];
        while (top && d->defs[stack[top - 1]].span.byte_end < f->span.byte_end)
            top--;
        if (top && strcmp(f->kind, "function") == 0 &&
            strcmp(d->defs[stack[top - 1]].kind, "class") == 0)
            f->kind = "method";
        stack[top++] = i;
    }
    free(stack);
}

int ct_spans_doc_enclosing(ct_spans_doc *d, size_t start, size_t end, ct_span_def *out)
{
    if (!d) return 0;
    if (!d->defs_ready) collect_defs(d);
    if (end < start) end = start;
    const ct_span_def *best = NULL;
    for (size_t i = 0; i < d->n_defs; i++) {
        const ct_span_def *x = &d->defs[i];
        if (x->span.byte_start > start || x->span.byte_end < end) continue;
        if (!best ||
            x->span.byte_end - x->span.byte_start < best->span.byte_end - best->span.byte_start)
            best = x;
    }
    if (best) *out = *best;
    return best != NULL;
}

static size_t count_errors(TSNode n, size_t start, size_t end, int depth)
{
    size_t ns = ts_node_start_byte(n), ne = ts_node_end_byte(n);
    int overlaps = end > start ? (ns < end && ne > start) || (ns == ne && ns >= start && ns < end)
                               : (ns <= start && ne >= start);
    if (!overlaps) return 0;
    if (ts_node_is_missing(n)) return 1;
    if (!ts_node_has_error(n)) return 0;
    size_t c = strcmp(ts_node_type(n), "ERROR") == 0 ? 1 : 0;
    if (depth > 1000) return c; /* deep trees: stop descending (the count is a lower bound) */
    uint32_t k = ts_node_child_count(n);
    for (uint32_t i = 0; i < k; i++)
        c += count_errors(ts_node_child(n, i), start, end, depth + 1);
    return c;
}

size_t ct_spans_doc_errors(ct_spans_doc *d, size_t start, size_t end)
{
    if (!d || !d->tree) return 0;
    return count_errors(ts_tree_root_node(d->tree), start, end, 0);
}

/* ERROR/MISSING nodes that START in [start, end): error recovery often stretches an ERROR node
 * from an earlier break over later, valid code; those are not the later edit's doing. */
static size_t count_started(TSNode n, size_t start, size_t end, int depth)
{
    size_t ns = ts_node_start_byte(n), ne = ts_node_end_byte(n);
    if (ne < start || ns >= end) return 0;
    if (ts_node_is_missing(n)) return ns >= start && ns < end;
    if (!ts_node_has_error(n)) return 0;
    size_t c = strcmp(ts_node_type(n), "ERROR") == 0 && ns >= start ? 1 : 0;
    if (depth > 1000) return c;
    uint32_t k = ts_node_child_count(n);
    for (uint32_t i = 0; i < k; i++)
        c += count_started(ts_node_child(n, i), start, end, depth + 1);
    return c;
}

size_t ct__spans_doc_errors_started(ct_spans_doc *d, size_t start, size_t end)
{
    if (!d || !d->tree) return 0;
    return count_started(ts_tree_root_node(d->tree), start, end > start ? end : start + 1, 0);
}

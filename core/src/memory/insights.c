/* insights.c — cross-trajectory memory: short reusable insights scoped by agent and model,
 * de-duplicated on insert, retrieved by FTS5 bm25 within a character budget. */
#include "memory_int.h"

#include "ct/buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[3] = {"failure_pattern", "strategy", "pitfall"};

/* Two texts whose token sets overlap at least this much are the same insight. */
#define DEDUP_JACCARD 0.8
/* Words taken from a text for a full-text query. */
#define MAX_QUERY_TOKENS 24

const char *ct_insight_kind_name(ct_insight_kind k)
{
    return (unsigned)k <= CT_INSIGHT_PITFALL ? kind_names[k] : "failure_pattern";
}

int ct_insight_kind_from_name(const char *name, ct_insight_kind *out)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (ct_insight_kind)i;
            return 0;
        }
    return -1;
}

void ct_memory_insights_free(ct_insight *v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].agent);
        free(v[i].model);
        free(v[i].text);
        for (size_t s = 0; s < v[i].n_sources; s++)
            free(v[i].sources[s]);
        free(v[i].sources);
    }
    free(v);
}

/* ---- text normalisation ---------------------------------------------------------------- */

typedef struct tokens {
    char **v;
    size_t n, cap;
} tokens;

static void tokens_free(tokens *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* Lower-case words: runs of ASCII letters/digits and of non-ASCII bytes (UTF-8 text stays
 * whole). With unique, a word is kept once. */
static void tokenize(const char *s, int unique, size_t max, tokens *out)
{
    memset(out, 0, sizeof *out);
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p && out->n < max) {
        while (*p && !isalnum(*p) && *p < 0x80)
            p++;
        const unsigned char *st = p;
        while (*p && (isalnum(*p) || *p >= 0x80))
            p++;
        if (p == st) continue;
        char *w = ct_xstrndup((const char *)st, (size_t)(p - st));
        for (char *c = w; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        int dup = 0;
        for (size_t i = 0; unique && i < out->n && !dup; i++)
            dup = strcmp(out->v[i], w) == 0;
        if (dup) {
            free(w);
            continue;
        }
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 16;
            out->v = ct_xrealloc(out->v, out->cap * sizeof *out->v);
        }
        out->v[out->n++] = w;
    }
}

/* The text as its words joined by single spaces: case, punctuation and spacing do not count. */
static char *normalise(const char *s)
{
    tokens t;
    tokenize(s, 0, 100000, &t);
    ct_buf b = CT_BUF_INIT;
    ct_buf_puts(&b, "");
    for (size_t i = 0; i < t.n; i++) {
        if (i) ct_buf_putc(&b, ' ');
        ct_buf_puts(&b, t.v[i]);
    }
    tokens_free(&t);
    return ct_buf_steal(&b);
}

static double jaccard(const char *norm_a, const char *norm_b)
{
    tokens a, b;
    tokenize(norm_a, 1, 100000, &a);
    tokenize(norm_b, 1, 100000, &b);
    size_t inter = 0;
    for (size_t i = 0; i < a.n; i++)
        for (size_t k = 0; k < b.n; k++)
            if (strcmp(a.v[i], b.v[k]) == 0) {
                inter++;
                break;
            }
    size_t uni = a.n + b.n - inter;
    double r = uni ? (double)inter / (double)uni : 1.0;
    tokens_free(&a);
    tokens_free(&b);
    return r;
}

static int stopword(const char *w)
{
    static const char *const sw[] = {
        "the",  "and",   "for",   "with",  "that",  "this",   "from", "into",  "are", "was",
        "were", "not",   "but",   "you",   "your",  "its",    "has",  "have",  "had", "then",
        "than", "there", "their", "will",  "would", "should", "can",  "could", "all", "any",
        "some", "when",  "what",  "which", "who",   "how",    "use",  NULL};
    for (int i = 0; sw[i]; i++)
        if (strcmp(w, sw[i]) == 0) return 1;
    return 0;
}

/* An FTS5 query OR-ing the distinct words of text ("a" OR "b" ...), or NULL when it has none.
 * Each word is quoted, so nothing a user types is FTS syntax. */
static char *fts_query(const char *text, int skip_stopwords)
{
    tokens t;
    tokenize(text, 1, 4 * MAX_QUERY_TOKENS, &t);
    ct_buf b = CT_BUF_INIT;
    size_t used = 0;
    for (size_t i = 0; i < t.n && used < MAX_QUERY_TOKENS; i++) {
        if (skip_stopwords && (strlen(t.v[i]) < 2 || stopword(t.v[i]))) continue;
        if (used++) ct_buf_puts(&b, " OR ");
        ct_buf_printf(&b, "\"%s\"", t.v[i]);
    }
    tokens_free(&t);
    if (!used) {
        ct_buf_free(&b);
        return NULL;
    }
    return ct_buf_steal(&b);
}

/* ---- add / dedup ------------------------------------------------------------------------ */

/* Run sql with ?1 = a and ?2 = s, or the current time when s is NULL (statements without ?2
 * ignore it). */
static int exec_id(ct_memory *m, const char *sql, long long a, const char *s, ct_error *err,
                   const char *doing)
{
    sqlite3_stmt *st = ct__mem_prepare(m, sql, err);
    if (!st) return CT_EDB;
    sqlite3_bind_int64(st, 1, a);
    if (s)
        sqlite3_bind_text(st, 2, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 2, ct__mem_now());
    int rc = sqlite3_step(st) == SQLITE_DONE ? CT_OK : ct__mem_fail(m, err, doing);
    sqlite3_finalize(st);
    return rc;
}

/* The id of an entry of the same kind and scope that says the same thing, or 0. */
static long long find_duplicate(ct_memory *m, ct_insight_kind kind, const char *agent,
                                const char *model, const char *norm, ct_error *err, int *failed)
{
    *failed = 0;
    long long id = 0;
    sqlite3_stmt *st = ct__mem_prepare(m,
                                       "SELECT id FROM insights WHERE kind=?1 AND agent=?2 AND"
                                       " model=?3 AND norm=?4",
                                       err);
    if (!st) {
        *failed = 1;
        return 0;
    }
    sqlite3_bind_text(st, 1, kind_names[kind], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, agent, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, model, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, norm, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (id) return id;

    /* Near-duplicates share words, so full-text search finds the few candidates worth a
     * token-set comparison without scanning the table. */
    char *q = fts_query(norm, 0);
    if (!q) return 0;
    st = ct__mem_prepare(m,
                         "SELECT i.id, i.norm FROM insights_fts JOIN insights i ON i.id ="
                         " insights_fts.rowid WHERE insights_fts MATCH ?1 AND i.kind=?2 AND"
                         " i.agent=?3 AND i.model=?4 ORDER BY bm25(insights_fts) LIMIT 20",
                         err);
    if (!st) {
        free(q);
        *failed = 1;
        return 0;
    }
    sqlite3_bind_text(st, 1, q, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, kind_names[kind], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, agent, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, model, -1, SQLITE_TRANSIENT);
    int rc;
    while (!id && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (jaccard(norm, (const char *)sqlite3_column_text(st, 1)) >= DEDUP_JACCARD)
            id = sqlite3_column_int64(st, 0);
    if (!id && rc != SQLITE_DONE) {
        ct__mem_fail(m, err, "searching for duplicate insights");
        *failed = 1;
    }
    sqlite3_finalize(st);
    free(q);
    return id;
}

static int evict(ct_memory *m, ct_error *err)
{
    return exec_id(m,
                   "DELETE FROM insights WHERE id IN (SELECT id FROM insights ORDER BY"
                   " last_used_at, updated_at LIMIT max(0, (SELECT count(*) FROM insights) - ?1))",
                   CT_MEMORY_MAX_INSIGHTS, NULL, err, "evicting old insights");
}

int ct_memory_insight_add(ct_memory *m, ct_insight_kind kind, const char *agent, const char *model,
                          const char *text, const char *source_hash, long long *id_out, int *merged,
                          ct_error *err)
{
    if (id_out) *id_out = 0;
    if (merged) *merged = 0;
    if (!ct__mem_ok(m, err)) return CT_EDB;
    if ((unsigned)kind > CT_INSIGHT_PITFALL)
        return ct_error_set(err, CT_EINVAL, "unknown insight kind");
    if (!text) return ct_error_set(err, CT_EINVAL, "an insight needs a text");
    size_t len = strlen(text);
    if (len > CT_MEMORY_MAX_INSIGHT_CHARS)
        return ct_error_set(err, CT_ELIMIT,
                            "insight text is %zu bytes; the limit is %d (keep "
                            "insights short and reusable)",
                            len, CT_MEMORY_MAX_INSIGHT_CHARS);
    char *clean = ct_utf8_sanitize(text, len);
    /* Trim surrounding space. */
    char *s = clean;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    char *norm = normalise(s);
    if (!*norm) {
        free(clean);
        free(norm);
        return ct_error_set(err, CT_EINVAL, "an insight needs some words");
    }
    agent = agent ? agent : "";
    model = model ? model : "";
    int rc = ct__mem_begin(m, err);
    long long id = 0;
    int failed = 0;
    if (rc == CT_OK) {
        id = find_duplicate(m, kind, agent, model, norm, err, &failed);
        if (failed) rc = CT_EDB;
    }
    if (rc == CT_OK && id) {
        rc = exec_id(m, "UPDATE insights SET hits = hits + 1, updated_at = ?2 WHERE id = ?1", id,
                     NULL, err, "merging an insight");
        if (merged) *merged = 1;
    } else if (rc == CT_OK) {
        sqlite3_stmt *st = ct__mem_prepare(
            m,
            "INSERT INTO insights(kind, agent, model, text, norm, created_at, updated_at)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            err);
        if (!st) rc = CT_EDB;
        if (st) {
            sqlite3_bind_text(st, 1, kind_names[kind], -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, agent, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 3, model, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 4, s, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 5, norm, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 6, ct__mem_now());
            if (sqlite3_step(st) != SQLITE_DONE) rc = ct__mem_fail(m, err, "adding an insight");
            sqlite3_finalize(st);
            id = sqlite3_last_insert_rowid(m->db);
        }
        if (rc == CT_OK) rc = evict(m, err);
    }
    if (rc == CT_OK && source_hash && *source_hash)
        rc = exec_id(m,
                     "INSERT OR IGNORE INTO insight_sources(insight_id, traj_hash) VALUES (?1, ?2)",
                     id, source_hash, err, "recording an insight's source");
    free(clean);
    free(norm);
    if (rc != CT_OK) {
        ct__mem_rollback(m);
        if (merged) *merged = 0;
        return rc;
    }
    rc = ct__mem_commit(m, err);
    if (rc == CT_OK && id_out) *id_out = id;
    return rc;
}

/* ---- reading ---------------------------------------------------------------------------- */

#define INSIGHT_COLS                                                                               \
    "i.id, i.kind, i.agent, i.model, i.text, i.use_count, i.hits, i.created_at, i.updated_at,"     \
    " i.last_used_at"

static void read_row(sqlite3_stmt *st, ct_insight *e)
{
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(st, 0);
    ct_insight_kind k = CT_INSIGHT_FAILURE_PATTERN;
    ct_insight_kind_from_name((const char *)sqlite3_column_text(st, 1), &k);
    e->kind = k;
    e->agent = ct_xstrdup((const char *)sqlite3_column_text(st, 2));
    e->model = ct_xstrdup((const char *)sqlite3_column_text(st, 3));
    e->text = ct_xstrdup((const char *)sqlite3_column_text(st, 4));
    if (!e->agent) e->agent = ct_xstrdup("");
    if (!e->model) e->model = ct_xstrdup("");
    if (!e->text) e->text = ct_xstrdup("");
    e->use_count = sqlite3_column_int64(st, 5);
    e->hits = sqlite3_column_int64(st, 6);
    e->created_at = sqlite3_column_int64(st, 7);
    e->updated_at = sqlite3_column_int64(st, 8);
    e->last_used_at = sqlite3_column_int64(st, 9);
}

static void push(ct_insight **v, size_t *n, size_t *cap, sqlite3_stmt *st)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        *v = ct_xrealloc(*v, *cap * sizeof **v);
    }
    read_row(st, &(*v)[(*n)++]);
}

static int bump(ct_memory *m, const ct_insight *v, size_t n, ct_error *err)
{
    if (!n) return CT_OK;
    if (ct__mem_begin(m, err) != CT_OK) return CT_EDB;
    sqlite3_stmt *st = ct__mem_prepare(
        m, "UPDATE insights SET use_count = use_count + 1, last_used_at = ?2 WHERE id = ?1", err);
    int rc = st ? CT_OK : CT_EDB;
    long long now = ct__mem_now();
    for (size_t i = 0; rc == CT_OK && i < n; i++) {
        sqlite3_bind_int64(st, 1, v[i].id);
        sqlite3_bind_int64(st, 2, now);
        if (sqlite3_step(st) != SQLITE_DONE) rc = ct__mem_fail(m, err, "counting insight uses");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc != CT_OK) {
        ct__mem_rollback(m);
        return rc;
    }
    return ct__mem_commit(m, err);
}

int ct_memory_insight_search(ct_memory *m, const char *query, const char *agent, const char *model,
                             size_t max_items, size_t char_budget, int no_bump, ct_insight **out,
                             size_t *n, ct_error *err)
{
    *out = NULL;
    *n = 0;
    if (!ct__mem_ok(m, err)) return CT_EDB;
    if (!max_items) max_items = 5;
    char *q = query ? fts_query(query, 1) : NULL;
    /* bm25 gives lower (more negative) scores to better matches. Entries scoped to this very
     * agent come before "any agent" ones only through their text: scope filters, it does not rank.
     */
    sqlite3_stmt *st = ct__mem_prepare(
        m,
        q ? "SELECT " INSIGHT_COLS ", bm25(insights_fts) AS r FROM insights_fts JOIN insights i"
            " ON i.id = insights_fts.rowid WHERE insights_fts MATCH ?1"
            " AND (?2 IS NULL OR i.agent = '' OR i.agent = ?2)"
            " AND (?3 IS NULL OR i.model = '' OR i.model = ?3) ORDER BY r LIMIT ?4"
          : "SELECT " INSIGHT_COLS ", 0.0 FROM insights i WHERE ?1 IS NULL"
            " AND (?2 IS NULL OR i.agent = '' OR i.agent = ?2)"
            " AND (?3 IS NULL OR i.model = '' OR i.model = ?3)"
            " ORDER BY i.use_count DESC, i.hits DESC, i.id DESC LIMIT ?4",
        err);
    if (!st) {
        free(q);
        return CT_EDB;
    }
    ct__mem_bind_text(st, 1, q);
    ct__mem_bind_text(st, 2, agent);
    ct__mem_bind_text(st, 3, model);
    /* Look a little further than max_items so that entries too long for the budget can be
     * skipped for shorter ones below them. */
    sqlite3_bind_int64(st, 4, (long long)(max_items * 4 + 8));
    size_t cap = 0, used = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max_items) {
        size_t len = (size_t)sqlite3_column_bytes(st, 4);
        if (char_budget && used + len > char_budget) continue;
        used += len;
        push(out, n, &cap, st);
        (*out)[*n - 1].score = sqlite3_column_double(st, 10);
    }
    sqlite3_finalize(st);
    free(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        ct_memory_insights_free(*out, *n);
        *out = NULL;
        *n = 0;
        return ct__mem_fail(m, err, "searching insights");
    }
    if (!no_bump && bump(m, *out, *n, err) != CT_OK) {
        ct_memory_insights_free(*out, *n);
        *out = NULL;
        *n = 0;
        return CT_EDB;
    }
    for (size_t i = 0; !no_bump && i < *n; i++)
        (*out)[i].use_count++;
    return CT_OK;
}

int ct_memory_insight_list(ct_memory *m, int kind, const char *agent, const char *model,
                           size_t limit, ct_insight **out, size_t *n, ct_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st =
        ct__mem_prepare(m,
                        "SELECT " INSIGHT_COLS " FROM insights i WHERE"
                        " (?1 IS NULL OR i.kind = ?1) AND (?2 IS NULL OR i.agent = ?2)"
                        " AND (?3 IS NULL OR i.model = ?3)"
                        " ORDER BY i.updated_at DESC, i.id DESC LIMIT ?4",
                        err);
    if (!st) return CT_EDB;
    ct__mem_bind_text(st, 1, kind >= 0 && kind <= 2 ? kind_names[kind] : NULL);
    ct__mem_bind_text(st, 2, agent);
    ct__mem_bind_text(st, 3, model);
    sqlite3_bind_int64(st, 4, limit ? (long long)limit : 1000);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        push(out, n, &cap, st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        ct_memory_insights_free(*out, *n);
        *out = NULL;
        *n = 0;
        return ct__mem_fail(m, err, "listing insights");
    }
    return CT_OK;
}

int ct_memory_insight_get(ct_memory *m, long long id, ct_insight **out, ct_error *err)
{
    *out = NULL;
    sqlite3_stmt *st =
        ct__mem_prepare(m, "SELECT " INSIGHT_COLS " FROM insights i WHERE i.id = ?1", err);
    if (!st) return CT_EDB;
    sqlite3_bind_int64(st, 1, id);
    size_t n = 0, cap = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) push(out, &n, &cap, st);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return ct_error_set(err, CT_ENOTFOUND, "no insight with id %lld", id);
    if (rc != SQLITE_ROW) return ct__mem_fail(m, err, "reading an insight");
    st = ct__mem_prepare(m,
                         "SELECT traj_hash FROM insight_sources WHERE insight_id = ?1"
                         " ORDER BY traj_hash",
                         err);
    if (!st) {
        ct_memory_insights_free(*out, 1);
        *out = NULL;
        return CT_EDB;
    }
    sqlite3_bind_int64(st, 1, id);
    size_t scap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        ct_insight *e = *out;
        if (e->n_sources == scap) {
            scap = scap ? 2 * scap : 4;
            e->sources = ct_xrealloc(e->sources, scap * sizeof *e->sources);
        }
        e->sources[e->n_sources++] = ct_xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return CT_OK;
}

int ct_memory_insight_forget(ct_memory *m, long long id, ct_error *err)
{
    if (ct__mem_begin(m, err) != CT_OK) return CT_EDB;
    int rc =
        exec_id(m, "DELETE FROM insights WHERE id = ?1", id, NULL, err, "forgetting an insight");
    if (rc == CT_OK && sqlite3_changes(m->db) == 0)
        rc = ct_error_set(err, CT_ENOTFOUND, "no insight with id %lld", id);
    if (rc != CT_OK) {
        ct__mem_rollback(m);
        return rc;
    }
    return ct__mem_commit(m, err);
}

/* ---- helpers for analyzers and agents ---------------------------------------------------- */

char *ct_memory_insights_format(const ct_insight *v, size_t n)
{
    ct_buf b = CT_BUF_INIT;
    ct_buf_puts(&b, "");
    for (size_t i = 0; i < n; i++) {
        ct_buf_printf(&b, "- [%s] %s", ct_insight_kind_name(v[i].kind), v[i].text);
        if (v[i].hits > 1) ct_buf_printf(&b, " (seen %lld times)", v[i].hits);
        ct_buf_putc(&b, '\n');
    }
    return ct_buf_steal(&b);
}

static void put_capped(ct_buf *b, const char *s, size_t cap)
{
    if (!s || !*s || b->len >= cap) return;
    if (b->len) ct_buf_putc(b, '\n');
    size_t n = strlen(s);
    ct_buf_append(b, s, n < cap - b->len ? n : cap - b->len);
}

char *ct_memory_query_for(const ct_trajectory *t, const ct_analysis *a)
{
    ct_buf b = CT_BUF_INIT;
    ct_buf_puts(&b, "");
    if (t) put_capped(&b, t->task, 2000);
    if (a) {
        put_capped(&b, a->summary, 3000);
        for (size_t i = 0; i < a->n_root_cause; i++)
            put_capped(&b, a->root_cause_chain[i], 4000);
    }
    return ct_buf_steal(&b);
}

/* The agent name and the text under which learn_from_analysis files a (rule, label) pattern:
 * both directions must agree on it. */
static const char *pattern_agent(const ct_trajectory *t)
{
    return t->agent && *t->agent ? t->agent : (t->format ? t->format : "");
}

static int pattern_label(const ct_step_label *l)
{
    return l->label != CT_LABEL_CORRECT && l->rule && *l->rule && !l->from_feedback &&
           strcmp(l->rule, "llm") != 0 && strcmp(l->rule, "feedback") != 0;
}

static void pattern_text(char *text, size_t size, const char *agent, const ct_step_label *l)
{
    snprintf(text, size, "%s: steps labelled %s by rule '%.120s'", agent, ct_label_name(l->label),
             l->rule);
}

int ct_memory_annotate_analysis(ct_memory *m, const ct_trajectory *t, ct_analysis *a, ct_error *err)
{
    if (!ct__mem_ok(m, err)) return CT_EDB;
    if (!t || !a)
        return ct_error_set(err, CT_EINVAL, "annotating needs a trajectory and its analysis");
    char hash[65];
    ct_traj_hash(t, hash);
    const char *agent = pattern_agent(t);
    sqlite3_stmt *st = ct__mem_prepare(
        m,
        "SELECT i.id, (SELECT count(*) FROM insight_sources s WHERE s.insight_id = i.id"
        " AND s.traj_hash <> ?1) FROM insights i WHERE i.kind = 'failure_pattern'"
        " AND i.agent = ?2 AND i.model = ?3 AND i.text = ?4",
        err);
    if (!st) return CT_EDB;
    int notes = 0;
    for (size_t i = 0; i < a->n_labels; i++) {
        ct_step_label *l = &a->labels[i];
        if (!pattern_label(l)) continue;
        char text[512];
        pattern_text(text, sizeof text, agent, l);
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, agent, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, t->model ? t->model : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) {
            long long id = sqlite3_column_int64(st, 0), others = sqlite3_column_int64(st, 1);
            if (others > 0) {
                char note[640];
                snprintf(note, sizeof note,
                         "memory entry #%lld: rule '%.120s' labelled steps %s in %lld other "
                         "run%s of %.120s",
                         id, l->rule, ct_label_name(l->label), others, others == 1 ? "" : "s",
                         agent);
                l->memory_note = ct_analysis_strdup(a, note);
                notes++;
            }
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    return notes;
}

int ct_memory_learn_from_analysis(ct_memory *m, const ct_trajectory *t, const ct_analysis *a,
                                  size_t *n_added, ct_error *err)
{
    if (n_added) *n_added = 0;
    if (!ct__mem_ok(m, err)) return CT_EDB;
    if (!t || !a)
        return ct_error_set(err, CT_EINVAL, "learning needs a trajectory and its analysis");
    char hash[65];
    ct_traj_hash(t, hash);
    const char *agent = pattern_agent(t);
    /* One entry per (rule, label) that fired, in order of first appearance. Labels from the
     * user's feedback and the LLM's free-form labels are not patterns of a rule. */
    for (size_t i = 0; i < a->n_labels; i++) {
        const ct_step_label *l = &a->labels[i];
        if (!pattern_label(l)) continue;
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++) {
            const ct_step_label *o = &a->labels[k];
            if (o->label != l->label || !o->rule || o->from_feedback || strcmp(o->rule, l->rule))
                continue;
            seen = 1;
        }
        if (seen) continue;
        char text[512];
        pattern_text(text, sizeof text, agent, l);
        int rc = ct_memory_insight_add(m, CT_INSIGHT_FAILURE_PATTERN, agent, t->model, text, hash,
                                       NULL, NULL, err);
        if (rc != CT_OK) return rc;
        if (n_added) (*n_added)++;
    }
    return CT_OK;
}

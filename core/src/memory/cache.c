/* cache.c — content hashes of trajectories and the analysis cache keyed by (trajectory hash,
 * analyzer, model, profile, config hash). */
#include "memory_int.h"

#include "ct/buf.h"
#include "ct_analyzer_id.h"

#include <stdlib.h>
#include <string.h>

/* Each field is framed (a tag byte, then length + bytes) so that moving text from one field to
 * the next, or NULL versus "", changes the hash. */
static void feed_u64(ct__sha256 *s, unsigned long long v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    ct__sha256_update(s, b, 8);
}

static void feed_str(ct__sha256 *s, char tag, const char *str)
{
    ct__sha256_update(s, &tag, 1);
    if (!str) {
        unsigned char none = 0xff;
        ct__sha256_update(s, &none, 1);
        return;
    }
    size_t n = strlen(str);
    feed_u64(s, n);
    ct__sha256_update(s, str, n);
}

void ct_traj_hash(const ct_trajectory *t, char out[65])
{
    ct__sha256 s;
    ct__sha256_init(&s);
    ct__sha256_update(&s, "codetracer-traj-v2", 18);
    feed_str(&s, 'T', t->task);
    /* The outcome is part of what an analysis sees (rules about unsolved runs), so a run whose
     * outcome became known is a different input from the same steps with an unknown outcome. */
    feed_u64(&s, (unsigned long long)(t->solved + 1));
    feed_u64(&s, t->has_reward ? 1 : 0);
    if (t->has_reward) {
        unsigned long long bits;
        memcpy(&bits, &t->reward, sizeof bits);
        feed_u64(&s, bits);
    }
    feed_str(&s, 'X', t->exit_status);
    feed_str(&s, 'F', t->final_patch);
    feed_str(&s, 'A', t->agent);
    feed_str(&s, 'M', t->model);
    feed_u64(&s, t->n_steps);
    for (size_t i = 0; i < t->n_steps; i++) {
        const ct_step *st = &t->steps[i];
        feed_u64(&s, (unsigned long long)st->kind);
        feed_str(&s, 't', st->tool);
        feed_str(&s, 'a', st->action);
        feed_str(&s, 'h', st->thought);
        feed_str(&s, 'o', st->observation);
        feed_u64(&s, st->has_exit_code ? (unsigned long long)(unsigned)st->exit_code : ~0ull);
        feed_u64(&s, st->n_files);
        for (size_t f = 0; f < st->n_files; f++) {
            const ct_file_touch *ft = &st->files[f];
            feed_str(&s, 'p', ft->path);
            feed_str(&s, 'y', ft->op);
            feed_str(&s, '-', ft->old_text);
            feed_str(&s, '+', ft->new_text);
            feed_str(&s, 'c', ft->content);
            feed_str(&s, 'd', ft->patch);
            feed_u64(&s, (unsigned long long)ft->line_start);
            feed_u64(&s, (unsigned long long)ft->line_end);
        }
    }
    ct__sha256_hex(&s, out);
}

void ct_memory_hash_bytes(const void *data, size_t n, char out[65])
{
    ct__sha256 s;
    ct__sha256_init(&s);
    ct__sha256_update(&s, data, n);
    ct__sha256_hex(&s, out);
}

static int bad_key(const ct_memory_key *key, ct_error *err)
{
    if (key && key->traj_hash && *key->traj_hash && key->analyzer && *key->analyzer) return 0;
    ct_error_set(err, CT_EINVAL, "memory cache key needs a trajectory hash and an analyzer");
    return 1;
}

static void bind_key(sqlite3_stmt *st, const ct_memory_key *key)
{
    sqlite3_bind_text(st, 1, key->traj_hash, -1, SQLITE_TRANSIENT);
    /* The analyzer column carries the build's analyzer id: an analysis made by other rules or
     * other default thresholds is never served (CT_ANALYZER_ID, core/CMakeLists.txt). */
    char *analyzer = ct_xasprintf("%s@%s", key->analyzer, CT_ANALYZER_ID);
    sqlite3_bind_text(st, 2, analyzer, -1, SQLITE_TRANSIENT);
    free(analyzer);
    sqlite3_bind_text(st, 3, key->model ? key->model : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, key->profile ? key->profile : "detailed", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, key->config_hash ? key->config_hash : "", -1, SQLITE_TRANSIENT);
}

/* The upsert without its own transaction. */
static int remember(ct_memory *m, const ct_trajectory *t, const char *hash, ct_error *err)
{
    sqlite3_stmt *st = ct__mem_prepare(
        m,
        "INSERT INTO trajectories(hash, traj_id, agent, model, format, step_count, solved,"
        " first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
        " ON CONFLICT(hash) DO UPDATE SET traj_id=?2, agent=?3, model=?4, format=?5,"
        " step_count=?6, solved=?7, last_seen=?8",
        err);
    if (!st) return CT_EDB;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    ct__mem_bind_text(st, 2, t->id);
    ct__mem_bind_text(st, 3, t->agent);
    ct__mem_bind_text(st, 4, t->model);
    ct__mem_bind_text(st, 5, t->format);
    sqlite3_bind_int64(st, 6, (long long)t->n_steps);
    if (t->solved == CT_UNKNOWN)
        sqlite3_bind_null(st, 7);
    else
        sqlite3_bind_int(st, 7, t->solved == CT_TRUE);
    sqlite3_bind_int64(st, 8, ct__mem_now());
    int rc =
        sqlite3_step(st) == SQLITE_DONE ? CT_OK : ct__mem_fail(m, err, "remembering a trajectory");
    sqlite3_finalize(st);
    return rc;
}

int ct_memory_remember_traj(ct_memory *m, const ct_trajectory *t, const char *traj_hash,
                            ct_error *err)
{
    char h[65];
    if (!traj_hash) {
        ct_traj_hash(t, h);
        traj_hash = h;
    }
    if (ct__mem_begin(m, err) != CT_OK) return CT_EDB;
    if (remember(m, t, traj_hash, err) != CT_OK) {
        ct__mem_rollback(m);
        return CT_EDB;
    }
    return ct__mem_commit(m, err);
}

int ct_memory_cache_get(ct_memory *m, const ct_memory_key *key, ct_analysis **out, ct_error *err)
{
    *out = NULL;
    if (!ct__mem_ok(m, err)) return CT_EDB;
    if (bad_key(key, err)) return CT_EINVAL;
    sqlite3_stmt *st =
        ct__mem_prepare(m,
                        "SELECT result, elapsed_ms FROM analyses WHERE traj_hash=?1"
                        " AND analyzer=?2 AND model=?3 AND profile=?4 AND config_hash=?5",
                        err);
    if (!st) return CT_EDB;
    bind_key(st, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return ct_error_set(err, CT_ENOTFOUND,
                            "no cached analysis for this trajectory and settings");
    }
    if (rc != SQLITE_ROW) {
        ct__mem_fail(m, err, "reading the analysis cache");
        sqlite3_finalize(st);
        return CT_EDB;
    }
    const char *text = (const char *)sqlite3_column_text(st, 0);
    int len = sqlite3_column_bytes(st, 0);
    double elapsed = sqlite3_column_double(st, 1);
    json_error_t jerr;
    json_t *j = text ? json_loadb(text, (size_t)len, 0, &jerr) : NULL;
    sqlite3_finalize(st);
    if (!j)
        return ct_error_setf(err, CT_EDB, m->path, -1, 0,
                             "memory database: a cached analysis is not valid JSON; run "
                             "'codetracer memory forget --cache' to drop the cache");
    ct_error e2;
    ct_error_clear(&e2);
    ct_analysis *a = ct_analysis_from_json(j, &e2);
    json_decref(j);
    if (!a)
        return ct_error_setf(err, CT_EDB, m->path, -1, 0,
                             "memory database: a cached analysis is "
                             "malformed (%s)",
                             e2.msg);
    a->elapsed_ms = elapsed;
    *out = a;
    return CT_OK;
}

int ct_memory_cache_put(ct_memory *m, const ct_memory_key *key, const ct_trajectory *t,
                        const ct_analysis *a, ct_error *err)
{
    if (!ct__mem_ok(m, err)) return CT_EDB;
    if (bad_key(key, err)) return CT_EINVAL;
    json_t *j = ct_analysis_to_json(a);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text) return ct_error_set(err, CT_ENOMEM, "could not serialise the analysis");
    size_t len = strlen(text);
    if (len > CT_MEMORY_MAX_RESULT_BYTES) {
        free(text);
        return ct_error_set(err, CT_ELIMIT,
                            "analysis JSON is %zu bytes, above the cache limit of %u", len,
                            CT_MEMORY_MAX_RESULT_BYTES);
    }
    if (ct__mem_begin(m, err) != CT_OK) {
        free(text);
        return CT_EDB;
    }
    int rc = t ? remember(m, t, key->traj_hash, err) : CT_OK;
    sqlite3_stmt *st = NULL;
    if (rc == CT_OK) {
        st = ct__mem_prepare(m,
                             "INSERT OR REPLACE INTO analyses(traj_hash, analyzer, model, profile,"
                             " config_hash, result, cost_usd, tokens_in, tokens_out, elapsed_ms,"
                             " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                             err);
        rc = st ? CT_OK : CT_EDB;
    }
    if (rc == CT_OK) {
        bind_key(st, key);
        sqlite3_bind_text(st, 6, text, (int)len, SQLITE_STATIC);
        sqlite3_bind_double(st, 7, a->cost_usd);
        sqlite3_bind_int64(st, 8, a->tokens_in);
        sqlite3_bind_int64(st, 9, a->tokens_out);
        sqlite3_bind_double(st, 10, a->elapsed_ms);
        sqlite3_bind_int64(st, 11, ct__mem_now());
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = ct__mem_fail(m, err, "writing the analysis cache");
    }
    sqlite3_finalize(st);
    free(text);
    if (rc != CT_OK) {
        ct__mem_rollback(m);
        return rc;
    }
    return ct__mem_commit(m, err);
}

int ct_memory_cache_forget(ct_memory *m, const char *traj_hash, long long *n_out, ct_error *err)
{
    if (n_out) *n_out = 0;
    if (ct__mem_begin(m, err) != CT_OK) return CT_EDB;
    sqlite3_stmt *st = ct__mem_prepare(
        m, traj_hash ? "DELETE FROM analyses WHERE traj_hash=?1" : "DELETE FROM analyses", err);
    if (!st) {
        ct__mem_rollback(m);
        return CT_EDB;
    }
    if (traj_hash) sqlite3_bind_text(st, 1, traj_hash, -1, SQLITE_TRANSIENT);
    int rc =
        sqlite3_step(st) == SQLITE_DONE ? CT_OK : ct__mem_fail(m, err, "dropping cached analyses");
    sqlite3_finalize(st);
    if (rc != CT_OK) {
        ct__mem_rollback(m);
        return rc;
    }
    if (n_out) *n_out = sqlite3_changes(m->db);
    return ct__mem_commit(m, err);
}

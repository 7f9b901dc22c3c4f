/* db.c — opening the memory database: default location, schema migrations, checks that refuse
 * foreign or newer files, WAL + busy timeout, and the transaction helpers the other memory
 * modules use. */
#include "memory_int.h"

#include "ct/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* PRAGMA application_id of our files: "CTRC". A SQLite file with another id belongs to some
 * other program and is never touched. */
#define CT_MEMORY_APP_ID 0x43545243

/* Milliseconds a writer waits for another one before giving up with "database is locked". */
#define CT_MEMORY_BUSY_MS 15000

/* Migration N brings a database from user_version N-1 to N. Append, never edit: files in the
 * wild were created by the old steps. */
static const char *const migrations[CT_MEMORY_SCHEMA_VERSION] = {
    /* 1: cache and feedback */
    "CREATE TABLE trajectories(hash TEXT PRIMARY KEY, traj_id TEXT, agent TEXT, model TEXT,"
    "  format TEXT, step_count INTEGER, solved INTEGER, first_seen INTEGER, last_seen INTEGER);"
    "CREATE TABLE analyses(traj_hash TEXT NOT NULL, analyzer TEXT NOT NULL,"
    "  model TEXT NOT NULL DEFAULT '', profile TEXT NOT NULL DEFAULT 'detailed',"
    "  config_hash TEXT NOT NULL DEFAULT '', result TEXT NOT NULL, cost_usd REAL,"
    "  tokens_in INTEGER, tokens_out INTEGER, elapsed_ms REAL, created_at INTEGER,"
    "  PRIMARY KEY(traj_hash, analyzer, model, profile, config_hash));"
    "CREATE TABLE feedback(traj_hash TEXT NOT NULL, step_id INTEGER NOT NULL,"
    "  label TEXT NOT NULL CHECK(label IN ('correct','unuseful','incorrect')), note TEXT,"
    "  created_at INTEGER, updated_at INTEGER, PRIMARY KEY(traj_hash, step_id));",
    /* 2: cross-trajectory insights with full-text search */
    "CREATE TABLE insights(id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK(kind IN ('failure_pattern','strategy','pitfall')),"
    "  agent TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '', text TEXT NOT NULL,"
    "  norm TEXT NOT NULL, use_count INTEGER NOT NULL DEFAULT 0, hits INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER, updated_at INTEGER, last_used_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX insights_scope_norm ON insights(kind, agent, model, norm);"
    "CREATE INDEX insights_lru ON insights(last_used_at, updated_at);"
    "CREATE TABLE insight_sources(insight_id INTEGER NOT NULL, traj_hash TEXT NOT NULL,"
    "  PRIMARY KEY(insight_id, traj_hash)) WITHOUT ROWID;"
    "CREATE VIRTUAL TABLE insights_fts USING fts5(text, content='insights', content_rowid='id',"
    "  tokenize='porter unicode61');"
    "CREATE TRIGGER insights_ai AFTER INSERT ON insights BEGIN"
    "  INSERT INTO insights_fts(rowid, text) VALUES (new.id, new.text); END;"
    "CREATE TRIGGER insights_ad AFTER DELETE ON insights BEGIN"
    "  INSERT INTO insights_fts(insights_fts, rowid, text) VALUES('delete', old.id, old.text);"
    "  DELETE FROM insight_sources WHERE insight_id = old.id; END;"
    "CREATE TRIGGER insights_au AFTER UPDATE OF text ON insights BEGIN"
    "  INSERT INTO insights_fts(insights_fts, rowid, text) VALUES('delete', old.id, old.text);"
    "  INSERT INTO insights_fts(rowid, text) VALUES (new.id, new.text); END;",
};

int ct__mem_fail(ct_memory *m, ct_error *err, const char *doing)
{
    const char *path = m && m->path ? m->path : "";
    const char *msg = m && m->db ? sqlite3_errmsg(m->db) : "no database";
    return ct_error_setf(err, CT_EDB, path, -1, 0, "memory database: %s failed: %s", doing, msg);
}

int ct__mem_ok(ct_memory *m, ct_error *err)
{
    if (m && m->db) return 1;
    ct_error_set(err, CT_EDB, "memory database is not open");
    return 0;
}

static int exec(ct_memory *m, const char *sql, ct_error *err, const char *doing)
{
    char *msg = NULL;
    if (sqlite3_exec(m->db, sql, NULL, NULL, &msg) == SQLITE_OK) return CT_OK;
    ct_error_setf(err, CT_EDB, m->path, -1, 0, "memory database: %s failed: %s", doing,
                  msg ? msg : sqlite3_errmsg(m->db));
    sqlite3_free(msg);
    return CT_EDB;
}

int ct__mem_begin(ct_memory *m, ct_error *err)
{
    if (!ct__mem_ok(m, err)) return CT_EDB;
    return exec(m, "BEGIN IMMEDIATE", err, "starting a write transaction");
}

int ct__mem_commit(ct_memory *m, ct_error *err)
{
    int rc = exec(m, "COMMIT", err, "committing");
    if (rc != CT_OK) ct__mem_rollback(m);
    return rc;
}

void ct__mem_rollback(ct_memory *m)
{
    if (m && m->db && !sqlite3_get_autocommit(m->db)) sqlite3_exec(m->db, "ROLLBACK", 0, 0, 0);
}

sqlite3_stmt *ct__mem_prepare(ct_memory *m, const char *sql, ct_error *err)
{
    sqlite3_stmt *st = NULL;
    if (!ct__mem_ok(m, err)) return NULL;
    if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) {
        ct__mem_fail(m, err, "preparing a query");
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

void ct__mem_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

long long ct__mem_now(void)
{
    return (long long)time(NULL);
}

char *ct_memory_default_path(void)
{
    const char *env = getenv("CODETRACER_DB");
    if (env && *env) return ct_xstrdup(env);
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg == '/') return ct_xasprintf("%s/codetracer/codetracer.db", xdg);
    const char *home = getenv("HOME");
    if (home && *home) return ct_xasprintf("%s/.local/share/codetracer/codetracer.db", home);
    return NULL;
}

/* mkdir -p of the directory part of path; failures are left for sqlite3_open to report. */
static void make_parent(const char *path)
{
    char *dir = ct_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        for (char *p = dir + 1; *p; p++)
            if (*p == '/') {
                *p = 0;
                mkdir(dir, 0700);
                *p = '/';
            }
        mkdir(dir, 0700);
    }
    free(dir);
}

static int pragma_int(ct_memory *m, const char *sql, long long *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Check what the file is, then run the missing migrations in one write transaction. */
static int check_and_migrate(ct_memory *m, ct_error *err)
{
    long long version = 0, app = 0, tables = 0;
    /* One statement, so one snapshot: a process migrating a fresh file at this moment must not
     * be seen half-way (tables present but no application_id yet). */
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(m->db,
                                "SELECT (SELECT user_version FROM pragma_user_version),"
                                " (SELECT application_id FROM pragma_application_id),"
                                " (SELECT count(*) FROM sqlite_master)",
                                -1, &st, NULL) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_ROW;
    if (ok) {
        version = sqlite3_column_int64(st, 0);
        app = sqlite3_column_int64(st, 1);
        tables = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (!ok)
        return ct_error_setf(err, CT_EDB, m->path, -1, 0,
                             "memory database is not a usable SQLite database (%s); move it "
                             "away or choose another with --db / CODETRACER_DB",
                             sqlite3_errmsg(m->db));
    if (app != 0 && app != CT_MEMORY_APP_ID)
        return ct_error_setf(err, CT_EDB, m->path, -1, 0,
                             "this SQLite database belongs to another program (application_id "
                             "%lld), not codetracer; choose another with --db / CODETRACER_DB",
                             app);
    if (app == 0 && (version != 0 || tables != 0))
        return ct_error_setf(err, CT_EDB, m->path, -1, 0,
                             "this SQLite database was not created by codetracer (it already has "
                             "%lld tables); choose another with --db / CODETRACER_DB",
                             tables);
    if (version > CT_MEMORY_SCHEMA_VERSION)
        return ct_error_setf(err, CT_EDB, m->path, -1, 0,
                             "memory database has schema version %lld, newer than this codetracer "
                             "understands (%d); upgrade codetracer or choose another database "
                             "with --db / CODETRACER_DB",
                             version, CT_MEMORY_SCHEMA_VERSION);
    /* WAL lets readers go on while one process writes; NORMAL sync is durable in WAL mode
     * except for the last commits on power loss, which a cache can afford. */
    sqlite3_exec(m->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    sqlite3_exec(m->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    if (version == CT_MEMORY_SCHEMA_VERSION) return CT_OK;

    if (ct__mem_begin(m, err) != CT_OK) return CT_EDB;
    /* Another process may have migrated while we waited for the lock. */
    if (pragma_int(m, "PRAGMA user_version", &version) != 0) {
        ct__mem_rollback(m);
        return ct__mem_fail(m, err, "reading the schema version");
    }
    for (long long v = version; v < CT_MEMORY_SCHEMA_VERSION; v++) {
        char what[64];
        snprintf(what, sizeof what, "schema migration to version %lld", v + 1);
        if (exec(m, migrations[v], err, what) != CT_OK) {
            ct__mem_rollback(m);
            return CT_EDB;
        }
    }
    char *sql = ct_xasprintf("PRAGMA application_id=%d; PRAGMA user_version=%d", CT_MEMORY_APP_ID,
                             CT_MEMORY_SCHEMA_VERSION);
    int rc = exec(m, sql, err, "recording the schema version");
    free(sql);
    if (rc != CT_OK) {
        ct__mem_rollback(m);
        return rc;
    }
    return ct__mem_commit(m, err);
}

int ct_memory_open(const char *path, ct_memory **out, ct_error *err)
{
    *out = NULL;
    char *p = path && *path ? ct_xstrdup(path) : ct_memory_default_path();
    if (!p)
        return ct_error_set(err, CT_EDB,
                            "no memory database path: set CODETRACER_DB, "
                            "XDG_DATA_HOME or HOME, or pass --db FILE");
    ct_memory *m = ct_xcalloc(1, sizeof *m);
    m->path = p;
    make_parent(p);
    int rc = sqlite3_open_v2(p, &m->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        ct_error_setf(err, CT_EDB, p, -1, 0,
                      "cannot open the memory database: %s (is the location writable?)",
                      m->db ? sqlite3_errmsg(m->db) : sqlite3_errstr(rc));
        ct_memory_close(m);
        return CT_EDB;
    }
    sqlite3_busy_timeout(m->db, CT_MEMORY_BUSY_MS);
    sqlite3_extended_result_codes(m->db, 1);
    if (sqlite3_db_readonly(m->db, "main") == 1) {
        ct_error_setf(err, CT_EDB, p, -1, 0,
                      "the memory database is read-only; choose a "
                      "writable one with --db / CODETRACER_DB");
        ct_memory_close(m);
        return CT_EDB;
    }
    if (check_and_migrate(m, err) != CT_OK) {
        ct_memory_close(m);
        return CT_EDB;
    }
    *out = m;
    return CT_OK;
}

void ct_memory_close(ct_memory *m)
{
    if (!m) return;
    if (m->db) sqlite3_close_v2(m->db);
    free(m->path);
    free(m);
}

const char *ct_memory_path(const ct_memory *m)
{
    return m ? m->path : NULL;
}

ct_memory *ct_memory_open_or_warn(const char *path, ct_memory_warn_fn warn, void *ud, int *warned)
{
    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    if (ct_memory_open(path, &m, &err) == CT_OK) return m;
    if (warn && !(warned && *warned)) {
        size_t n = strlen(err.msg);
        snprintf(err.msg + n, sizeof err.msg - n, "; continuing without memory");
        warn(ud, &err);
    }
    if (warned) *warned = 1;
    return NULL;
}

int ct_memory_stats_get(ct_memory *m, ct_memory_stats *out, ct_error *err)
{
    memset(out, 0, sizeof *out);
    if (!ct__mem_ok(m, err)) return CT_EDB;
    long long v = 0, pages = 0, psize = 0;
    static const char *const kinds[3] = {"failure_pattern", "strategy", "pitfall"};
    if (pragma_int(m, "PRAGMA user_version", &v) != 0 ||
        pragma_int(m, "SELECT count(*) FROM trajectories", &out->trajectories) != 0 ||
        pragma_int(m, "SELECT count(*) FROM analyses", &out->analyses) != 0 ||
        pragma_int(m, "SELECT count(*) FROM feedback", &out->feedback) != 0 ||
        pragma_int(m, "SELECT count(*) FROM insights", &out->insights) != 0 ||
        pragma_int(m, "PRAGMA page_count", &pages) != 0 ||
        pragma_int(m, "PRAGMA page_size", &psize) != 0)
        return ct__mem_fail(m, err, "reading statistics");
    for (int k = 0; k < 3; k++) {
        char *sql = ct_xasprintf("SELECT count(*) FROM insights WHERE kind='%s'", kinds[k]);
        int rc = pragma_int(m, sql, &out->insights_by_kind[k]);
        free(sql);
        if (rc != 0) return ct__mem_fail(m, err, "reading statistics");
    }
    out->schema_version = (int)v;
    out->bytes = pages * psize;
    return CT_OK;
}

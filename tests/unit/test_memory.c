/* Unit tests for the memory database (ct/memory.h): SHA-256 and trajectory hashes, opening and
 * migrations, refusal of foreign/newer/garbage files, unwritable locations, the analysis cache,
 * feedback (override and export), FTS ranking, de-duplication, learning and limits. */
#include "check.h"
#include "ct/analysis.h"
#include "ct/buf.h"
#include "ct/memory.h"
#include "ct/trajectory.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static char *tmp_path(const char *name)
{
    return ct_xasprintf("%s/%s", tmpdir, name);
}

/* A three-step trajectory written by hand. */
static ct_trajectory *make_traj(const char *path, const char *last_obs)
{
    ct_trajectory *t = ct_traj_new("test", path);
    t->id = ct_traj_strdup(t, path);
    t->agent = ct_traj_strdup(t, "mini-SWE-agent");
    t->model = ct_traj_strdup(t, "gpt-test");
    t->task = ct_traj_strdup(t, "Fix the off-by-one error in the pager.");
    t->solved = CT_FALSE;
    const char *actions[3] = {"ls", "ls", "sed -i 's/n/n+1/' pager.py"};
    const char *obs[3] = {"pager.py\n", "pager.py\n", last_obs};
    for (int i = 0; i < 3; i++) {
        ct_step *s = ct_traj_add_step(t);
        s->kind = i < 2 ? CT_KIND_BASH : CT_KIND_EDIT;
        s->tool = ct_traj_strdup(t, "bash");
        s->action = ct_traj_strdup(t, actions[i]);
        s->observation = ct_traj_strdup(t, obs[i]);
        s->has_exit_code = 1;
        s->exit_code = 0;
    }
    return t;
}

static long long sql_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return -2;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

static int sql_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) return -1;
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static void test_sha256(void)
{
    char h[65];
    ct_memory_hash_bytes("", 0, h);
    CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ct_memory_hash_bytes("abc", 3, h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *s448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    ct_memory_hash_bytes(s448, strlen(s448), h);
    CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = ct_xmalloc(1000000);
    memset(million, 'a', 1000000);
    ct_memory_hash_bytes(million, 1000000, h);
    CHECK_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static void test_traj_hash(void)
{
    ct_trajectory *a = make_traj("/runs/a/traj.json", "ok");
    ct_trajectory *b = make_traj("/elsewhere/b.json", "ok");
    ct_trajectory *c = make_traj("/runs/a/traj.json", "ok!");
    char ha[65], hb[65], hc[65];
    ct_traj_hash(a, ha);
    ct_traj_hash(b, hb);
    ct_traj_hash(c, hc);
    CHECK_INT(strlen(ha), 64);
    CHECK_STR(ha, hb);          /* the path does not count */
    CHECK(strcmp(ha, hc) != 0); /* one observation byte does */
    /* Moving text between fields changes the hash: "ls" + "" vs "l" + "s". */
    ct_trajectory *d = make_traj("/x", "ok");
    d->steps[0].action = ct_traj_strdup(d, "l");
    d->steps[0].thought = ct_traj_strdup(d, "s");
    char hd[65];
    ct_traj_hash(d, hd);
    CHECK(strcmp(ha, hd) != 0);
    ct_traj_free(a);
    ct_traj_free(b);
    ct_traj_free(c);
    ct_traj_free(d);
}

static void test_open_fresh(void)
{
    char *path = tmp_path("new/deeper/codetracer.db"); /* parent dirs do not exist yet */
    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(path, &m, &err), CT_OK);
    CHECK(m != NULL);
    CHECK_STR(ct_memory_path(m), path);
    ct_memory_stats s;
    CHECK_INT(ct_memory_stats_get(m, &s, &err), CT_OK);
    CHECK_INT(s.schema_version, CT_MEMORY_SCHEMA_VERSION);
    CHECK_INT(s.insights, 0);
    ct_memory_close(m);
    CHECK_INT(sql_int(path, "PRAGMA user_version"), CT_MEMORY_SCHEMA_VERSION);
    CHECK_INT(sql_int(path, "PRAGMA application_id"), 0x43545243);
    CHECK_INT(sql_int(path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode='wal'"),
              1);
    /* Opening again is a no-op migration. */
    CHECK_INT(ct_memory_open(path, &m, &err), CT_OK);
    ct_memory_close(m);
    free(path);
}

/* A database as version 1 of the schema left it, written by hand (not by our code). */
static void test_migration_from_v1(void)
{
    char *path = tmp_path("v1.db");
    CHECK_INT(
        sql_exec(path,
                 "CREATE TABLE trajectories(hash TEXT PRIMARY KEY, traj_id TEXT, agent TEXT,"
                 " model TEXT, format TEXT, step_count INTEGER, solved INTEGER,"
                 " first_seen INTEGER, last_seen INTEGER);"
                 "CREATE TABLE analyses(traj_hash TEXT NOT NULL, analyzer TEXT NOT NULL,"
                 " model TEXT NOT NULL DEFAULT '', profile TEXT NOT NULL DEFAULT 'detailed',"
                 " config_hash TEXT NOT NULL DEFAULT '', result TEXT NOT NULL, cost_usd REAL,"
                 " tokens_in INTEGER, tokens_out INTEGER, elapsed_ms REAL, created_at INTEGER,"
                 " PRIMARY KEY(traj_hash, analyzer, model, profile, config_hash));"
                 "CREATE TABLE feedback(traj_hash TEXT NOT NULL, step_id INTEGER NOT NULL,"
                 " label TEXT NOT NULL, note TEXT, created_at INTEGER, updated_at INTEGER,"
                 " PRIMARY KEY(traj_hash, step_id));"
                 "INSERT INTO trajectories VALUES('h1', 'old/run', 'OpenHands', NULL, 'openhands',"
                 " 4, 0, 1, 1);"
                 "INSERT INTO feedback VALUES('h1', 2, 'unuseful', 'kept from v1', 1, 1);"
                 "PRAGMA application_id=1129599555; PRAGMA user_version=1;"),
        0);
    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(path, &m, &err), CT_OK);
    CHECK_INT(sql_int(path, "PRAGMA user_version"), 2);
    /* v2 tables exist and work; v1 data survived. */
    long long id = 0;
    CHECK_INT(ct_memory_insight_add(m, CT_INSIGHT_STRATEGY, NULL, NULL, "reproduce the bug first",
                                    "h1", &id, NULL, &err),
              CT_OK);
    CHECK(id > 0);
    ct_trajectory *shape = ct_traj_new("test", "x");
    for (int i = 0; i < 4; i++)
        ct_traj_add_step(shape);
    ct_analysis *a = ct_analysis_new(shape, "heuristic");
    CHECK_INT(ct_memory_feedback_apply(m, "h1", a, &err), 1);
    CHECK_INT(a->labels[1].label, CT_LABEL_UNUSEFUL);
    CHECK_STR(a->labels[1].reasoning, "kept from v1");
    ct_analysis_free(a);
    ct_traj_free(shape);
    ct_memory_close(m);
    free(path);
}

static void test_refusals(void)
{
    ct_memory *m = NULL;
    ct_error err;
    /* Newer schema. */
    char *newer = tmp_path("newer.db");
    CHECK_INT(sql_exec(newer, "CREATE TABLE future(x); PRAGMA application_id=1129599555;"
                              " PRAGMA user_version=99;"),
              0);
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(newer, &m, &err), CT_EDB);
    CHECK(m == NULL);
    CHECK(strstr(err.msg, "schema version 99, newer than this codetracer understands (2)") != NULL);
    CHECK_STR(err.path, newer);
    CHECK_INT(sql_int(newer, "PRAGMA user_version"), 99); /* untouched */
    /* Another program's database. */
    char *foreign = tmp_path("foreign.db");
    CHECK_INT(
        sql_exec(foreign, "CREATE TABLE accounts(id, balance); INSERT INTO accounts VALUES(1, 5);"),
        0);
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(foreign, &m, &err), CT_EDB);
    CHECK(strstr(err.msg, "not created by codetracer") != NULL);
    CHECK_INT(sql_int(foreign, "SELECT count(*) FROM sqlite_master"), 1);
    char *other_app = tmp_path("otherapp.db");
    CHECK_INT(sql_exec(other_app, "PRAGMA application_id=42;"), 0);
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(other_app, &m, &err), CT_EDB);
    CHECK(strstr(err.msg, "belongs to another program (application_id 42)") != NULL);
    free(newer);
    free(foreign);
    free(other_app);
}

static int warnings;
static char last_warning[CT_ERROR_MSG_MAX];

static void count_warn(void *ud, const ct_error *err)
{
    (void)ud;
    warnings++;
    snprintf(last_warning, sizeof last_warning, "%s", err->msg);
}

static void test_corrupt_and_unwritable(void)
{
    ct_memory *m = NULL;
    ct_error err;
    char *garbage = tmp_path("garbage.db");
    FILE *f = fopen(garbage, "wb");
    for (int i = 0; i < 4096; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(garbage, &m, &err), CT_EDB);
    CHECK(strstr(err.msg, "not a usable SQLite database") != NULL);
    /* The helper warns once and hands back NULL; a NULL handle is a quiet "no memory". */
    int warned = 0;
    warnings = 0;
    CHECK(ct_memory_open_or_warn(garbage, count_warn, NULL, &warned) == NULL);
    CHECK(ct_memory_open_or_warn(garbage, count_warn, NULL, &warned) == NULL);
    CHECK_INT(warnings, 1);
    CHECK(strstr(last_warning, "continuing without memory") != NULL);
    ct_analysis *a = NULL;
    ct_memory_key key = {"abc", "heuristic", NULL, NULL, NULL};
    CHECK_INT(ct_memory_cache_get(NULL, &key, &a, &err), CT_EDB);
    CHECK(a == NULL);
    CHECK_INT(ct_memory_feedback_set(NULL, "abc", 1, CT_LABEL_CORRECT, NULL, &err), CT_EDB);
    ct_insight *v = NULL;
    size_t n = 0;
    CHECK_INT(ct_memory_insight_search(NULL, "x", NULL, NULL, 3, 0, 0, &v, &n, &err), CT_EDB);
    CHECK_INT(n, 0);

    /* A location nobody can create: the parent is a regular file. */
    char *under_file = tmp_path("garbage.db/sub/codetracer.db");
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(under_file, &m, &err), CT_EDB);
    CHECK(strstr(err.msg, "cannot open the memory database") != NULL);
    /* A read-only directory (root ignores permissions, so only check as a normal user). */
    char *rodir = tmp_path("readonly");
    mkdir(rodir, 0555);
    chmod(rodir, 0555);
    char *rodb = ct_xasprintf("%s/codetracer.db", rodir);
    if (geteuid() != 0) {
        ct_error_clear(&err);
        CHECK_INT(ct_memory_open(rodb, &m, &err), CT_EDB);
        warnings = 0;
        CHECK(ct_memory_open_or_warn(rodb, count_warn, NULL, NULL) == NULL);
        CHECK_INT(warnings, 1);
    } else {
        fprintf(stderr, "note: running as root, read-only directory check skipped "
                        "(the regular-file parent case above still ran)\n");
    }
    /* A read-only database file. */
    char *rofile = tmp_path("rofile.db");
    CHECK_INT(ct_memory_open(rofile, &m, &err), CT_OK);
    ct_memory_close(m);
    chmod(rofile, 0444);
    if (geteuid() != 0) {
        ct_error_clear(&err);
        CHECK_INT(ct_memory_open(rofile, &m, &err), CT_EDB);
    }
    chmod(rodir, 0755);
    free(garbage);
    free(under_file);
    free(rodir);
    free(rodb);
    free(rofile);
}

/* A valid database damaged after its header (a disk error, a killed copy): open may succeed,
 * but every operation answers CT_OK or CT_EDB — never a crash, never a wrong success. */
static void test_damaged_pages(void)
{
    for (int variant = 0; variant < 2; variant++) {
        char *path = tmp_path(variant ? "truncated.db" : "damaged.db");
        ct_memory *m = NULL;
        ct_error err;
        ct_error_clear(&err);
        CHECK_INT(ct_memory_open(path, &m, &err), CT_OK);
        ct_trajectory *t = make_traj("d", "ok");
        char h[65];
        ct_traj_hash(t, h);
        ct_analysis *a = ct_analysis_new(t, "heuristic");
        ct_memory_key key = {h, "heuristic", NULL, NULL, NULL};
        for (int i = 0; i < 300; i++) {
            char text[96];
            snprintf(text, sizeof text, "insight number %d about topic%d and subject%d", i, i,
                     i * 7);
            ct_memory_insight_add(m, CT_INSIGHT_STRATEGY, NULL, NULL, text, h, NULL, NULL, &err);
        }
        CHECK_INT(ct_memory_cache_put(m, &key, t, a, &err), CT_OK);
        ct_memory_close(m);
        /* Fold the WAL into the file, then damage it. */
        CHECK_INT(sql_exec(path, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
        FILE *f = fopen(path, "r+b");
        CHECK(f != NULL);
        if (f) {
            fseek(f, 0, SEEK_END);
            long size = ftell(f);
            if (variant) {
                CHECK(truncate(path, size / 2) == 0);
            } else {
                for (long off = 4096; off < size; off += 4096) {
                    fseek(f, off + 100, SEEK_SET);
                    for (int k = 0; k < 64; k++)
                        fputc((k * 13 + (int)off) & 0xff, f);
                }
            }
            fclose(f);
        }
        int rc = ct_memory_open(path, &m, &err);
        CHECK(rc == CT_OK || rc == CT_EDB);
        if (rc == CT_OK) {
            ct_analysis *got = NULL;
            rc = ct_memory_cache_get(m, &key, &got, &err);
            CHECK(rc == CT_OK || rc == CT_EDB || rc == CT_ENOTFOUND);
            ct_analysis_free(got);
            ct_insight *v = NULL;
            size_t n = 0;
            rc = ct_memory_insight_search(m, "insight topic subject", NULL, NULL, 5, 0, 0, &v, &n,
                                          &err);
            CHECK(rc == CT_OK || rc == CT_EDB);
            ct_memory_insights_free(v, n);
            rc = ct_memory_insight_add(m, CT_INSIGHT_PITFALL, NULL, NULL, "a new one", NULL, NULL,
                                       NULL, &err);
            CHECK(rc == CT_OK || rc == CT_EDB);
            rc = ct_memory_feedback_set(m, h, 1, CT_LABEL_INCORRECT, NULL, &err);
            CHECK(rc == CT_OK || rc == CT_EDB);
            char *text = NULL;
            rc = ct_memory_export(m, 1, &text, NULL, &err);
            CHECK(rc == CT_OK || rc == CT_EDB);
            free(text);
            ct_memory_stats st;
            rc = ct_memory_stats_get(m, &st, &err);
            CHECK(rc == CT_OK || rc == CT_EDB);
            ct_memory_close(m);
        }
        ct_analysis_free(a);
        ct_traj_free(t);
        free(path);
    }
}

static void test_cache(void)
{
    char *path = tmp_path("cache.db");
    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(path, &m, &err), CT_OK);
    ct_trajectory *t = make_traj("/runs/a/traj.json", "ok");
    char h[65];
    ct_traj_hash(t, h);
    ct_analysis *a = ct_analysis_new(t, "heuristic");
    int ev[1] = {1};
    ct_analysis_set_label(a, 2, CT_LABEL_UNUSEFUL, "repeat-command", "Step 2 repeats step 1.", ev,
                          1);
    a->summary = ct_analysis_strdup(a, "One repeated listing.");
    ct_analysis_add_root_cause(a, "listed twice");
    a->cost_usd = 0.25;
    a->tokens_in = 1200;
    a->tokens_out = 80;
    a->elapsed_ms = 12.5;
    ct_memory_key key = {h, "heuristic", NULL, "detailed", "cfg1"};
    ct_analysis *got = NULL;
    CHECK_INT(ct_memory_cache_get(m, &key, &got, &err), CT_ENOTFOUND);
    CHECK_INT(ct_memory_cache_put(m, &key, t, a, &err), CT_OK);
    CHECK_INT(ct_memory_cache_get(m, &key, &got, &err), CT_OK);
    if (got) {
        CHECK_INT(got->n_labels, 3);
        CHECK_INT(got->labels[1].label, CT_LABEL_UNUSEFUL);
        CHECK_STR(got->labels[1].rule, "repeat-command");
        CHECK_INT(got->labels[1].n_evidence, 1);
        CHECK_STR(got->summary, "One repeated listing.");
        CHECK_INT(got->n_root_cause, 1);
        CHECK(got->cost_usd == 0.25);
        CHECK_INT(got->tokens_in, 1200);
        CHECK(got->elapsed_ms == 12.5);
        CHECK_STR(got->traj_id, "/runs/a/traj.json");
    }
    ct_analysis_free(got);
    got = NULL;
    /* Every part of the key counts. */
    ct_memory_key k2 = key;
    k2.config_hash = "cfg2";
    CHECK_INT(ct_memory_cache_get(m, &k2, &got, &err), CT_ENOTFOUND);
    k2 = key;
    k2.model = "gpt-x";
    CHECK_INT(ct_memory_cache_get(m, &k2, &got, &err), CT_ENOTFOUND);
    k2 = key;
    k2.analyzer = "llm";
    CHECK_INT(ct_memory_cache_get(m, &k2, &got, &err), CT_ENOTFOUND);
    k2 = key;
    k2.profile = NULL; /* NULL means "detailed" */
    CHECK_INT(ct_memory_cache_get(m, &k2, &got, &err), CT_OK);
    ct_analysis_free(got);
    got = NULL;
    /* Replacing. */
    ct_analysis_set_label(a, 3, CT_LABEL_INCORRECT, "edit-unverified", "Edit never tested.", NULL,
                          0);
    CHECK_INT(ct_memory_cache_put(m, &key, t, a, &err), CT_OK);
    CHECK_INT(ct_memory_cache_get(m, &key, &got, &err), CT_OK);
    if (got) CHECK_INT(got->labels[2].label, CT_LABEL_INCORRECT);
    ct_analysis_free(got);
    ct_memory_key bad = {NULL, "heuristic", NULL, NULL, NULL};
    CHECK_INT(ct_memory_cache_put(m, &bad, t, a, &err), CT_EINVAL);
    /* A broken row reads as an error, not a crash. */
    ct_memory_close(m);
    CHECK_INT(sql_exec(path, "UPDATE analyses SET result='{\"labels\": 5'"), 0);
    CHECK_INT(ct_memory_open(path, &m, &err), CT_OK);
    got = NULL;
    ct_error_clear(&err);
    CHECK_INT(ct_memory_cache_get(m, &key, &got, &err), CT_EDB);
    CHECK(got == NULL);
    CHECK(strstr(err.msg, "not valid JSON") != NULL);
    long long n = 0;
    CHECK_INT(ct_memory_cache_forget(m, NULL, &n, &err), CT_OK);
    CHECK_INT(n, 1);
    ct_memory_close(m);
    ct_analysis_free(a);
    ct_traj_free(t);
    free(path);
}

static json_t *export_rows(ct_memory *m, int merge)
{
    char *text = NULL;
    size_t rows = 0;
    ct_error err;
    CHECK_INT(ct_memory_export(m, merge, &text, &rows, &err), CT_OK);
    CHECK_INT(rows, 1);
    json_t *j = text ? json_loads(text, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    CHECK(text && strchr(text, '\n') == text + strlen(text) - 1); /* one line */
    free(text);
    return j;
}

static int json_ids_are(json_t *arr, const int *ids, size_t n)
{
    if (!json_is_array(arr) || json_array_size(arr) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (json_integer_value(json_array_get(arr, i)) != ids[i]) return 0;
    return 1;
}

static void test_feedback(void)
{
    char *path = tmp_path("feedback.db");
    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(path, &m, &err), CT_OK);
    ct_trajectory *t = make_traj("runs/pager/traj.json", "ok");
    char h[65];
    ct_traj_hash(t, h);
    CHECK_INT(ct_memory_remember_traj(m, t, h, &err), CT_OK);
    CHECK_INT(
        ct_memory_feedback_set(m, h, 2, CT_LABEL_INCORRECT, "listing again hid the bug", &err),
        CT_OK);
    CHECK_INT(ct_memory_feedback_set(m, h, 4, CT_LABEL_INCORRECT, NULL, &err), CT_EINVAL);
    CHECK(strstr(err.msg, "the trajectory has 3 steps") != NULL);
    CHECK_INT(ct_memory_feedback_set(m, h, 0, CT_LABEL_INCORRECT, NULL, &err), CT_EINVAL);
    char *long_note = ct_xmalloc(CT_MEMORY_MAX_NOTE_CHARS + 2);
    memset(long_note, 'n', CT_MEMORY_MAX_NOTE_CHARS + 1);
    long_note[CT_MEMORY_MAX_NOTE_CHARS + 1] = 0;
    CHECK_INT(ct_memory_feedback_set(m, h, 1, CT_LABEL_CORRECT, long_note, &err), CT_ELIMIT);
    free(long_note);

    ct_analysis *a = ct_analysis_new(t, "heuristic");
    ct_analysis_set_label(a, 1, CT_LABEL_UNUSEFUL, "repeat-command", "r", NULL, 0);
    CHECK_INT(ct_memory_feedback_apply(m, h, a, &err), 1);
    CHECK_INT(a->labels[1].label, CT_LABEL_INCORRECT);
    CHECK_INT(a->labels[1].from_feedback, 1);
    CHECK_STR(a->labels[1].rule, "feedback");
    CHECK_STR(a->labels[1].reasoning, "listing again hid the bug");
    CHECK(a->labels[1].reward == -1.0);
    CHECK_INT(a->labels[0].label, CT_LABEL_UNUSEFUL); /* untouched */
    CHECK_INT(a->labels[0].from_feedback, 0);
    json_t *aj = ct_analysis_to_json(a);
    CHECK(json_is_true(
        json_object_get(json_array_get(json_object_get(aj, "labels"), 1), "from_feedback")));
    json_decref(aj);
    ct_analysis_free(a);

    /* A later verdict replaces the earlier one. */
    CHECK_INT(ct_memory_feedback_set(m, h, 2, CT_LABEL_UNUSEFUL, NULL, &err), CT_OK);
    CHECK_INT(ct_memory_feedback_set(m, h, 3, CT_LABEL_CORRECT, "the edit was right", &err), CT_OK);
    a = ct_analysis_new(t, "heuristic");
    CHECK_INT(ct_memory_feedback_apply(m, h, a, &err), 2);
    CHECK_INT(a->labels[1].label, CT_LABEL_UNUSEFUL);
    CHECK_STR(a->labels[1].reasoning, "Marked unuseful by the user.");
    ct_analysis_free(a);

    /* Export, feedback only: the manifest shape, values written by hand from the above. */
    json_t *row = export_rows(m, 0);
    CHECK_STR(json_string_value(json_object_get(row, "traj_id")), "runs/pager/traj.json");
    CHECK_STR(json_string_value(json_object_get(row, "traj_hash")), h);
    CHECK_STR(json_string_value(json_object_get(row, "agent")), "mini-SWE-agent");
    CHECK_STR(json_string_value(json_object_get(row, "model")), "gpt-test");
    CHECK(json_is_false(json_object_get(row, "solved")));
    CHECK_INT(json_integer_value(json_object_get(row, "step_count")), 3);
    CHECK(json_ids_are(json_object_get(row, "incorrect_step_ids"), NULL, 0));
    CHECK(json_ids_are(json_object_get(row, "unuseful_step_ids"), (int[]){2}, 1));
    CHECK(json_ids_are(json_object_get(row, "confirmed_correct_step_ids"), (int[]){3}, 1));
    json_t *stages = json_object_get(row, "incorrect_stages");
    CHECK_INT(json_array_size(stages), 1);
    json_t *st0 = json_array_get(stages, 0);
    CHECK_INT(json_integer_value(json_object_get(st0, "stage_id")), 1);
    CHECK(json_ids_are(json_object_get(st0, "unuseful_step_ids"), (int[]){2}, 1));
    CHECK(json_is_string(json_object_get(st0, "reasoning")));
    json_t *r2 = json_object_get(json_object_get(row, "reasons"), "2");
    CHECK_STR(json_string_value(json_object_get(r2, "label")), "unuseful");
    CHECK_STR(json_string_value(json_object_get(r2, "source")), "feedback");
    CHECK_STR(json_string_value(json_object_get(row, "label_source")), "feedback");
    json_decref(row);

    /* Merged with the cached analysis: its step-1 label joins the user's. */
    ct_analysis *cached = ct_analysis_new(t, "heuristic");
    ct_analysis_set_label(cached, 1, CT_LABEL_UNUSEFUL, "repeat-command", "first listing", NULL, 0);
    ct_analysis_set_label(cached, 2, CT_LABEL_INCORRECT, "edit-unrelated", "x", NULL, 0);
    ct_memory_key key = {h, "heuristic", NULL, NULL, NULL};
    CHECK_INT(ct_memory_cache_put(m, &key, t, cached, &err), CT_OK);
    ct_analysis_free(cached);
    row = export_rows(m, 1);
    CHECK(json_ids_are(json_object_get(row, "unuseful_step_ids"), (int[]){1, 2}, 2));
    CHECK(json_ids_are(json_object_get(row, "incorrect_step_ids"), NULL, 0));
    CHECK_STR(json_string_value(json_object_get(row, "label_source")), "feedback+analysis");
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_object_get(row, "reasons"), "1"), "source")),
              "heuristic");
    json_decref(row);

    /* The user contradicted rule edit-unrelated on step 2: a pitfall entry is learnt. */
    int learned = 0;
    CHECK_INT(ct_memory_learn_from_feedback(m, t, 2, CT_LABEL_UNUSEFUL, &learned, &err), CT_OK);
    CHECK_INT(learned, 1);
    ct_insight *v = NULL;
    size_t n = 0;
    CHECK_INT(ct_memory_insight_list(m, CT_INSIGHT_PITFALL, NULL, NULL, 0, &v, &n, &err), CT_OK);
    CHECK_INT(n, 1);
    if (n) {
        CHECK(
            strstr(v[0].text,
                   "rule 'edit-unrelated' labelled a step incorrect that a user marked unuseful"));
        CHECK_STR(v[0].agent, "mini-SWE-agent");
    }
    ct_memory_insights_free(v, n);

    long long removed = 0;
    CHECK_INT(ct_memory_feedback_forget(m, h, 0, &removed, &err), CT_OK);
    CHECK_INT(removed, 2);
    char *text = NULL;
    size_t rows = 9;
    CHECK_INT(ct_memory_export(m, 0, &text, &rows, &err), CT_OK);
    CHECK_INT(rows, 0);
    CHECK_STR(text, "");
    free(text);
    ct_memory_close(m);
    ct_traj_free(t);
    free(path);
}

static long long add(ct_memory *m, ct_insight_kind k, const char *agent, const char *text,
                     const char *src, int *merged)
{
    long long id = 0;
    ct_error err;
    ct_error_clear(&err);
    CHECK_INT(ct_memory_insight_add(m, k, agent, NULL, text, src, &id, merged, &err), CT_OK);
    return id;
}

static void test_insights(void)
{
    char *path = tmp_path("insights.db");
    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(path, &m, &err), CT_OK);
    int merged = 0;
    long long a =
        add(m, CT_INSIGHT_FAILURE_PATTERN, "mini-SWE-agent",
            "Agent reruns the same failing test command without changing any code.", "s1", &merged);
    CHECK_INT(merged, 0);
    long long b = add(m, CT_INSIGHT_FAILURE_PATTERN, "mini-SWE-agent",
                      "Agent edits the wrong file before locating the bug.", NULL, NULL);
    long long c = add(m, CT_INSIGHT_STRATEGY, NULL,
                      "Reproduce the bug with a script before editing.", NULL, NULL);
    long long d = add(m, CT_INSIGHT_PITFALL, "OpenHands",
                      "OpenHands test command output is truncated.", NULL, NULL);
    CHECK(a && b && c && d && a != b && b != c && c != d);

    /* Dedup: same words modulo case/punctuation → merged; 7 of 8 shared words → merged. */
    long long a2 = add(m, CT_INSIGHT_FAILURE_PATTERN, "mini-SWE-agent",
                       "  agent RERUNS the same failing test command, without changing any code!! ",
                       "s2", &merged);
    CHECK_INT(a2, a);
    CHECK_INT(merged, 1);
    long long a3 =
        add(m, CT_INSIGHT_FAILURE_PATTERN, "mini-SWE-agent",
            "Agent reruns the same failing test command without changing any code again.", "s2",
            &merged);
    CHECK_INT(a3, a);
    CHECK_INT(merged, 1);
    /* Other scope or other kind or other meaning → separate entries. */
    long long e =
        add(m, CT_INSIGHT_FAILURE_PATTERN, "SWE-agent",
            "Agent reruns the same failing test command without changing any code.", NULL, &merged);
    CHECK(e != a);
    CHECK_INT(merged, 0);
    long long f =
        add(m, CT_INSIGHT_PITFALL, "mini-SWE-agent",
            "Agent reruns the same failing test command without changing any code.", NULL, &merged);
    CHECK(f != a);
    long long g = add(m, CT_INSIGHT_FAILURE_PATTERN, "mini-SWE-agent",
                      "Agent reruns the build after each edit.", NULL, &merged);
    CHECK(g != a);
    CHECK_INT(merged, 0);

    ct_insight *one = NULL;
    CHECK_INT(ct_memory_insight_get(m, a, &one, &err), CT_OK);
    if (one) {
        CHECK_INT(one->hits, 3);
        CHECK_INT(one->n_sources, 2); /* s1, s2 (s2 twice counts once) */
        if (one->n_sources == 2) {
            CHECK_STR(one->sources[0], "s1");
            CHECK_STR(one->sources[1], "s2");
        }
        CHECK_STR(one->text,
                  "Agent reruns the same failing test command without changing any code.");
    }
    ct_memory_insights_free(one, 1);

    /* Ranking: the entry about rerunning failing tests comes first for that query. */
    ct_insight *v = NULL;
    size_t n = 0;
    CHECK_INT(ct_memory_insight_search(m, "why does it rerun the failing test command?",
                                       "mini-SWE-agent", NULL, 3, 0, 0, &v, &n, &err),
              CT_OK);
    CHECK(n >= 1);
    if (n) {
        CHECK_INT(v[0].id, a);
        CHECK_INT(v[0].use_count, 1);
    }
    for (size_t i = 0; i < n; i++) {
        CHECK(v[i].id != d); /* OpenHands-only entry is out of scope */
        CHECK(v[i].id != e); /* SWE-agent entry too */
        if (i) CHECK(v[i].score >= v[i - 1].score);
    }
    ct_memory_insights_free(v, n);
    /* Unscoped search sees the OpenHands entry for its words. */
    CHECK_INT(ct_memory_insight_search(m, "truncated output", NULL, NULL, 3, 0, 1, &v, &n, &err),
              CT_OK);
    CHECK(n >= 1 && v[0].id == d);
    ct_memory_insights_free(v, n);
    /* Scope "any agent" entries match every agent. */
    CHECK_INT(
        ct_memory_insight_search(m, "reproduce script", "Claude Code", NULL, 3, 0, 1, &v, &n, &err),
        CT_OK);
    CHECK(n == 1 && v[0].id == c);
    ct_memory_insights_free(v, n);
    /* Budget: the best entry (71 chars) does not fit in 60, shorter ones still may. */
    CHECK_INT(ct_memory_insight_search(m, "rerun failing test command code", "mini-SWE-agent", NULL,
                                       5, 60, 1, &v, &n, &err),
              CT_OK);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(v[i].id != a);
        total += strlen(v[i].text);
    }
    CHECK(total <= 60);
    ct_memory_insights_free(v, n);
    /* no_bump left the count alone; FTS syntax in a query is just words. */
    CHECK_INT(ct_memory_insight_get(m, a, &one, &err), CT_OK);
    if (one) CHECK_INT(one->use_count, 1);
    ct_memory_insights_free(one, 1);
    CHECK_INT(ct_memory_insight_search(m, "\"unbalanced AND (NEAR* OR", NULL, NULL, 3, 0, 1, &v, &n,
                                       &err),
              CT_OK);
    ct_memory_insights_free(v, n);
    /* Limits and bad input. */
    char big[CT_MEMORY_MAX_INSIGHT_CHARS + 10];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK_INT(
        ct_memory_insight_add(m, CT_INSIGHT_STRATEGY, NULL, NULL, big, NULL, NULL, NULL, &err),
        CT_ELIMIT);
    CHECK_INT(
        ct_memory_insight_add(m, CT_INSIGHT_STRATEGY, NULL, NULL, " ... ", NULL, NULL, NULL, &err),
        CT_EINVAL);
    CHECK_INT(ct_memory_insight_add(m, CT_INSIGHT_STRATEGY, NULL, NULL, "bad \xff utf8", NULL, NULL,
                                    NULL, &err),
              CT_OK);
    /* Forget. */
    CHECK_INT(ct_memory_insight_forget(m, b, &err), CT_OK);
    CHECK_INT(ct_memory_insight_forget(m, b, &err), CT_ENOTFOUND);
    CHECK_INT(ct_memory_insight_search(m, "wrong file locating", NULL, NULL, 3, 0, 1, &v, &n, &err),
              CT_OK);
    CHECK_INT(n, 0);
    ct_memory_insights_free(v, n);
    char *fmt = NULL;
    CHECK_INT(ct_memory_insight_search(m, "reproduce", NULL, NULL, 1, 0, 1, &v, &n, &err), CT_OK);
    fmt = ct_memory_insights_format(v, n);
    CHECK_STR(fmt, "- [strategy] Reproduce the bug with a script before editing.\n");
    free(fmt);
    ct_memory_insights_free(v, n);
    ct_memory_close(m);
    free(path);
}

static void test_learn(void)
{
    char *path = tmp_path("learn.db");
    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(path, &m, &err), CT_OK);
    for (int run = 0; run < 2; run++) {
        ct_trajectory *t = make_traj("r", run ? "other" : "ok");
        ct_analysis *a = ct_analysis_new(t, "heuristic");
        ct_analysis_set_label(a, 1, CT_LABEL_UNUSEFUL, "repeat-command", "x", NULL, 0);
        ct_analysis_set_label(a, 2, CT_LABEL_UNUSEFUL, "repeat-command", "y", NULL, 0);
        ct_analysis_set_label(a, 3, CT_LABEL_INCORRECT, "edit-unverified", "z", NULL, 0);
        size_t added = 0;
        CHECK_INT(ct_memory_learn_from_analysis(m, t, a, &added, &err), CT_OK);
        CHECK_INT(added, 2);
        ct_analysis_free(a);
        ct_traj_free(t);
    }
    ct_insight *v = NULL;
    size_t n = 0;
    CHECK_INT(ct_memory_insight_list(m, -1, "mini-SWE-agent", "gpt-test", 0, &v, &n, &err), CT_OK);
    CHECK_INT(n, 2);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(v[i].hits, 2); /* seen in two runs */
        CHECK_INT(v[i].kind, CT_INSIGHT_FAILURE_PATTERN);
    }
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found += strcmp(v[i].text,
                        "mini-SWE-agent: steps labelled unuseful by rule 'repeat-command'") == 0;
    CHECK_INT(found, 1);
    ct_memory_insights_free(v, n);
    ct_trajectory *t = make_traj("r", "ok");
    ct_analysis *a = ct_analysis_new(t, "heuristic");
    a->summary = ct_analysis_strdup(a, "Repeated listing.");
    char *q = ct_memory_query_for(t, a);
    CHECK_STR(q, "Fix the off-by-one error in the pager.\nRepeated listing.");
    free(q);
    ct_analysis_free(a);
    ct_traj_free(t);
    ct_memory_close(m);
    free(path);
}

static void test_default_path(void)
{
    setenv("CODETRACER_DB", "/tmp/x/explicit.db", 1);
    char *p = ct_memory_default_path();
    CHECK_STR(p, "/tmp/x/explicit.db");
    free(p);
    unsetenv("CODETRACER_DB");
    setenv("XDG_DATA_HOME", "/data/xdg", 1);
    p = ct_memory_default_path();
    CHECK_STR(p, "/data/xdg/codetracer/codetracer.db");
    free(p);
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/u", 1);
    p = ct_memory_default_path();
    CHECK_STR(p, "/home/u/.local/share/codetracer/codetracer.db");
    free(p);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ct-test-memory-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_sha256();
    test_traj_hash();
    test_open_fresh();
    test_migration_from_v1();
    test_refusals();
    test_corrupt_and_unwritable();
    test_damaged_pages();
    test_cache();
    test_feedback();
    test_insights();
    test_learn();
    test_default_path();
    char *cmd = ct_xasprintf("chmod -R u+w '%s' && rm -rf '%s'", tmpdir, tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    free(cmd);
    return check_report();
}

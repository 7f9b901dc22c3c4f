/* feedback.c — a user's verdicts on step labels: record, apply over an analysis, export as
 * labelled data in the CodeTraceBench manifest shape. */
#include "memory_int.h"

#include "ct/buf.h"

#include <stdlib.h>
#include <string.h>

typedef struct fb_row {
    int step_id;
    ct_label_kind label;
    char *note;
} fb_row;

static void rows_free(fb_row *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].note);
    free(r);
}

/* The feedback rows of one trajectory, by step. */
static int rows_load(ct_memory *m, const char *hash, fb_row **out, size_t *n, ct_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = ct__mem_prepare(
        m, "SELECT step_id, label, note FROM feedback WHERE traj_hash=?1 ORDER BY step_id", err);
    if (!st) return CT_EDB;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ct_label_kind k;
        if (ct_label_from_name((const char *)sqlite3_column_text(st, 1), &k) != 0) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *out = ct_xrealloc(*out, cap * sizeof **out);
        }
        (*out)[*n].step_id = sqlite3_column_int(st, 0);
        (*out)[*n].label = k;
        (*out)[*n].note = ct_xstrdup((const char *)sqlite3_column_text(st, 2));
        (*n)++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        rows_free(*out, *n);
        *out = NULL;
        *n = 0;
        return ct__mem_fail(m, err, "reading feedback");
    }
    return CT_OK;
}

int ct_memory_feedback_set(ct_memory *m, const char *traj_hash, int step_id, ct_label_kind label,
                           const char *note, ct_error *err)
{
    if (!ct__mem_ok(m, err)) return CT_EDB;
    if (!traj_hash || !*traj_hash)
        return ct_error_set(err, CT_EINVAL, "feedback needs a trajectory hash");
    if (step_id < 1)
        return ct_error_set(err, CT_EINVAL, "step %d does not exist (steps start at 1)", step_id);
    if ((unsigned)label > CT_LABEL_INCORRECT) return ct_error_set(err, CT_EINVAL, "unknown label");
    char *clean = NULL;
    if (note) {
        size_t n = strlen(note);
        if (n > CT_MEMORY_MAX_NOTE_CHARS)
            return ct_error_set(err, CT_ELIMIT, "feedback note is %zu bytes; the limit is %d", n,
                                CT_MEMORY_MAX_NOTE_CHARS);
        clean = ct_utf8_sanitize(note, n);
    }
    if (ct__mem_begin(m, err) != CT_OK) {
        free(clean);
        return CT_EDB;
    }
    int rc = CT_OK;
    sqlite3_stmt *st = ct__mem_prepare(m, "SELECT step_count FROM trajectories WHERE hash=?1", err);
    if (!st) rc = CT_EDB;
    if (rc == CT_OK) {
        sqlite3_bind_text(st, 1, traj_hash, -1, SQLITE_TRANSIENT);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
            step_id > sqlite3_column_int(st, 0))
            rc = ct_error_set(err, CT_EINVAL, "step %d does not exist: the trajectory has %d steps",
                              step_id, sqlite3_column_int(st, 0));
        else if (s != SQLITE_ROW && s != SQLITE_DONE)
            rc = ct__mem_fail(m, err, "looking up the trajectory");
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == CT_OK) {
        st = ct__mem_prepare(m,
                             "INSERT INTO feedback(traj_hash, step_id, label, note, created_at,"
                             " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(traj_hash,"
                             " step_id) DO UPDATE SET label=?3, note=?4, updated_at=?5",
                             err);
        if (!st) rc = CT_EDB;
    }
    if (rc == CT_OK) {
        sqlite3_bind_text(st, 1, traj_hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, step_id);
        sqlite3_bind_text(st, 3, ct_label_name(label), -1, SQLITE_STATIC);
        ct__mem_bind_text(st, 4, clean && *clean ? clean : NULL);
        sqlite3_bind_int64(st, 5, ct__mem_now());
        if (sqlite3_step(st) != SQLITE_DONE) rc = ct__mem_fail(m, err, "writing feedback");
    }
    sqlite3_finalize(st);
    free(clean);
    if (rc != CT_OK) {
        ct__mem_rollback(m);
        return rc;
    }
    return ct__mem_commit(m, err);
}

int ct_memory_feedback_forget(ct_memory *m, const char *traj_hash, int step_id, long long *n_out,
                              ct_error *err)
{
    if (n_out) *n_out = 0;
    if (!traj_hash) return ct_error_set(err, CT_EINVAL, "feedback needs a trajectory hash");
    if (ct__mem_begin(m, err) != CT_OK) return CT_EDB;
    sqlite3_stmt *st = ct__mem_prepare(
        m, "DELETE FROM feedback WHERE traj_hash=?1 AND (?2 = 0 OR step_id = ?2)", err);
    int rc = st ? CT_OK : CT_EDB;
    if (st) {
        sqlite3_bind_text(st, 1, traj_hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, step_id);
        if (sqlite3_step(st) != SQLITE_DONE) rc = ct__mem_fail(m, err, "removing feedback");
        sqlite3_finalize(st);
    }
    if (rc != CT_OK) {
        ct__mem_rollback(m);
        return rc;
    }
    if (n_out) *n_out = sqlite3_changes(m->db);
    return ct__mem_commit(m, err);
}

/* Rewards of feedback labels: the user is the ground truth. */
static double feedback_reward(ct_label_kind k)
{
    return k == CT_LABEL_INCORRECT ? -1.0 : k == CT_LABEL_UNUSEFUL ? 0.0 : 1.0;
}

static int apply_rows(ct_analysis *a, const fb_row *rows, size_t n)
{
    int applied = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].step_id < 1 || (size_t)rows[i].step_id > a->n_labels) continue;
        char why[96];
        snprintf(why, sizeof why, "Marked %s by the user.", ct_label_name(rows[i].label));
        ct_analysis_set_label(a, rows[i].step_id, rows[i].label, "feedback",
                              rows[i].note ? rows[i].note : why, NULL, 0);
        ct_step_label *l = &a->labels[rows[i].step_id - 1];
        l->from_feedback = 1;
        l->reward = feedback_reward(rows[i].label);
        applied++;
    }
    return applied;
}

int ct_memory_feedback_apply(ct_memory *m, const char *traj_hash, ct_analysis *a, ct_error *err)
{
    if (!ct__mem_ok(m, err)) return CT_EDB;
    if (!traj_hash || !a)
        return ct_error_set(err, CT_EINVAL, "feedback_apply needs a hash and an analysis");
    fb_row *rows;
    size_t n;
    if (rows_load(m, traj_hash, &rows, &n, err) != CT_OK) return CT_EDB;
    int applied = apply_rows(a, rows, n);
    rows_free(rows, n);
    return applied;
}

/* The newest cached analysis of a trajectory, or NULL. */
static ct_analysis *newest_analysis(ct_memory *m, const char *hash)
{
    sqlite3_stmt *st = ct__mem_prepare(m,
                                       "SELECT result FROM analyses WHERE traj_hash=?1"
                                       " ORDER BY created_at DESC, rowid DESC LIMIT 1",
                                       NULL);
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    ct_analysis *a = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        json_t *j = json_loadb((const char *)sqlite3_column_text(st, 0),
                               (size_t)sqlite3_column_bytes(st, 0), 0, NULL);
        if (j) a = ct_analysis_from_json(j, NULL);
        json_decref(j);
    }
    sqlite3_finalize(st);
    return a;
}

static json_t *ids_of(const ct_analysis *a, ct_label_kind k, int from, int to)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < a->n_labels; i++)
        if (a->labels[i].label == k && a->labels[i].step_id >= from && a->labels[i].step_id <= to)
            json_array_append_new(arr, json_integer(a->labels[i].step_id));
    return arr;
}

/* One manifest row. `a` holds the labels to export (feedback applied). */
static json_t *export_row(sqlite3_stmt *t, const char *hash, const ct_analysis *a,
                          const fb_row *rows, size_t n_rows, int merged)
{
    json_t *o = json_object();
    const char *id = (const char *)sqlite3_column_text(t, 1);
    json_object_set_new(o, "traj_id", json_string(id ? id : hash));
    json_object_set_new(o, "traj_hash", json_string(hash));
    for (int c = 2; c <= 4; c++) {
        const char *v = (const char *)sqlite3_column_text(t, c);
        json_object_set_new(o,
                            c == 2   ? "agent"
                            : c == 3 ? "model"
                                     : "format",
                            v ? json_string(v) : json_null());
    }
    json_object_set_new(o, "solved",
                        sqlite3_column_type(t, 6) == SQLITE_NULL
                            ? json_null()
                            : json_boolean(sqlite3_column_int(t, 6)));
    json_object_set_new(o, "step_count", json_integer((json_int_t)a->n_labels));
    json_object_set_new(o, "numbering", json_string("step_id"));
    json_object_set_new(o, "incorrect_step_ids", ids_of(a, CT_LABEL_INCORRECT, 1, 1 << 30));
    json_object_set_new(o, "unuseful_step_ids", ids_of(a, CT_LABEL_UNUSEFUL, 1, 1 << 30));
    json_t *confirmed = json_array();
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i].label == CT_LABEL_CORRECT)
            json_array_append_new(confirmed, json_integer(rows[i].step_id));
    json_object_set_new(o, "confirmed_correct_step_ids", confirmed);
    const char *why = merged ? "user feedback over the cached analysis" : "user feedback";
    json_t *stages = json_array();
    if (merged && a->n_stages) {
        for (size_t s = 0; s < a->n_stages; s++) {
            const ct_stage *sg = &a->stages[s];
            json_array_append_new(
                stages,
                json_pack("{s:i, s:o, s:o, s:s}", "stage_id", sg->stage_id, "incorrect_step_ids",
                          ids_of(a, CT_LABEL_INCORRECT, sg->start_step_id, sg->end_step_id),
                          "unuseful_step_ids",
                          ids_of(a, CT_LABEL_UNUSEFUL, sg->start_step_id, sg->end_step_id),
                          "reasoning", why));
        }
    } else {
        json_array_append_new(
            stages, json_pack("{s:i, s:o, s:o, s:s}", "stage_id", 1, "incorrect_step_ids",
                              ids_of(a, CT_LABEL_INCORRECT, 1, 1 << 30), "unuseful_step_ids",
                              ids_of(a, CT_LABEL_UNUSEFUL, 1, 1 << 30), "reasoning", why));
    }
    json_object_set_new(o, "incorrect_stages", stages);
    json_t *reasons = json_object();
    for (size_t i = 0; i < a->n_labels; i++) {
        const ct_step_label *l = &a->labels[i];
        if (!l->from_feedback && l->label == CT_LABEL_CORRECT) continue;
        char key[24];
        snprintf(key, sizeof key, "%d", l->step_id);
        json_object_set_new(
            reasons, key,
            json_pack("{s:s, s:s, s:s}", "label", ct_label_name(l->label), "reason",
                      l->reasoning ? l->reasoning : "", "source",
                      l->from_feedback ? "feedback" : (a->analyzer ? a->analyzer : "analysis")));
    }
    json_object_set_new(o, "reasons", reasons);
    json_object_set_new(o, "label_source", json_string(merged ? "feedback+analysis" : "feedback"));
    return o;
}

int ct_memory_export(ct_memory *m, int merge_analysis, char **out, size_t *n_rows, ct_error *err)
{
    *out = NULL;
    if (n_rows) *n_rows = 0;
    if (!ct__mem_ok(m, err)) return CT_EDB;
    sqlite3_stmt *t = ct__mem_prepare(
        m,
        "SELECT f.traj_hash, t.traj_id, t.agent, t.model, t.format, t.step_count, t.solved,"
        " max(f.step_id) FROM feedback f LEFT JOIN trajectories t ON t.hash = f.traj_hash"
        " GROUP BY f.traj_hash ORDER BY t.traj_id, f.traj_hash",
        err);
    if (!t) return CT_EDB;
    ct_buf b = CT_BUF_INIT;
    ct_buf_puts(&b, "");
    int rc;
    int status = CT_OK;
    while ((rc = sqlite3_step(t)) == SQLITE_ROW) {
        char *hash = ct_xstrdup((const char *)sqlite3_column_text(t, 0));
        fb_row *rows;
        size_t n;
        if (rows_load(m, hash, &rows, &n, err) != CT_OK) {
            free(hash);
            status = CT_EDB;
            break;
        }
        ct_analysis *a = merge_analysis ? newest_analysis(m, hash) : NULL;
        int merged = a != NULL;
        if (!a) {
            long long steps = sqlite3_column_type(t, 5) == SQLITE_NULL ? sqlite3_column_int64(t, 7)
                                                                       : sqlite3_column_int64(t, 5);
            /* No analysis: every step correct unless feedback says otherwise. */
            ct_trajectory *shape = ct_traj_new("memory", hash);
            for (long long s = 0; s < steps && s < 1000000; s++)
                ct_traj_add_step(shape);
            a = ct_analysis_new(shape, "feedback");
            ct_traj_free(shape);
        }
        apply_rows(a, rows, n);
        json_t *row = export_row(t, hash, a, rows, n, merged);
        char *line = json_dumps(row, JSON_COMPACT | JSON_ENSURE_ASCII);
        ct_buf_puts(&b, line);
        ct_buf_putc(&b, '\n');
        free(line);
        json_decref(row);
        ct_analysis_free(a);
        rows_free(rows, n);
        free(hash);
        if (n_rows) (*n_rows)++;
    }
    if (status == CT_OK && rc != SQLITE_DONE) status = ct__mem_fail(m, err, "exporting feedback");
    sqlite3_finalize(t);
    if (status != CT_OK) {
        ct_buf_free(&b);
        return status;
    }
    *out = ct_buf_steal(&b);
    return CT_OK;
}

int ct_memory_learn_from_feedback(ct_memory *m, const ct_trajectory *t, int step_id,
                                  ct_label_kind label, int *learned, ct_error *err)
{
    if (learned) *learned = 0;
    if (!ct__mem_ok(m, err)) return CT_EDB;
    char hash[65];
    ct_traj_hash(t, hash);
    ct_analysis *a = newest_analysis(m, hash);
    if (!a) return CT_OK;
    int rc = CT_OK;
    if (step_id >= 1 && (size_t)step_id <= a->n_labels) {
        const ct_step_label *l = &a->labels[step_id - 1];
        if (l->label != label && l->rule && *l->rule && strcmp(l->rule, "feedback") != 0) {
            const char *agent = t->agent && *t->agent ? t->agent : (t->format ? t->format : "");
            char text[512];
            snprintf(text, sizeof text,
                     "%s: rule '%.120s' labelled a step %s that a user marked %s; check its "
                     "findings before trusting them",
                     agent, l->rule, ct_label_name(l->label), ct_label_name(label));
            rc = ct_memory_insight_add(m, CT_INSIGHT_PITFALL, agent, t->model, text, hash, NULL,
                                       NULL, err);
            if (rc == CT_OK && learned) *learned = 1;
        }
    }
    ct_analysis_free(a);
    return rc;
}

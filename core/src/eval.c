/* eval.c — CodeTraceBench scoring (P/R/F1 per label class, macro/micro, Cohen's kappa). */
#include "ct/eval.h"

#include "ct/buf.h"
#include "ct/profiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest step id / step count taken from a manifest or a prediction file. */
#define EVAL_MAX_ID 10000000
/* Largest prediction file read. */
#define EVAL_MAX_PRED_BYTES (256LL * 1024 * 1024)

/* ---------------------------------------------------------------- manifest */

static int valid_traj_id(const char *s)
{
    if (!s || !*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 200) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

int ct_eval_read_manifest(const char *path, json_t **rows, ct_error *err)
{
    *rows = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ct_error_setf(err, CT_EIO, path, -1, 0, "cannot open the manifest: %s",
                             strerror(errno));
    ct_buf b = CT_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if ((long long)(b.len + n) > CT_MANIFEST_MAX_BYTES) {
            fclose(f);
            ct_buf_free(&b);
            return ct_error_setf(err, CT_ELIMIT, path, -1, 0,
                                 "the manifest is larger than %lld bytes",
                                 (long long)CT_MANIFEST_MAX_BYTES);
        }
        ct_buf_append(&b, chunk, n);
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        ct_buf_free(&b);
        return ct_error_setf(err, CT_EIO, path, -1, 0, "read error");
    }
    json_t *arr = json_array();
    json_t *seen = json_object();
    int rc = CT_OK;
    size_t off = 0;
    int line = 0;
    while (off < b.len && rc == CT_OK) {
        line++;
        const char *start = b.data + off;
        const char *nl = memchr(start, '\n', b.len - off);
        size_t len = nl ? (size_t)(nl - start) : b.len - off;
        size_t next = off + len + (nl ? 1 : 0);
        size_t l = len;
        while (l && (start[l - 1] == '\r' || start[l - 1] == ' ' || start[l - 1] == '\t'))
            l--;
        size_t s0 = 0;
        while (s0 < l && (start[s0] == ' ' || start[s0] == '\t'))
            s0++;
        if (s0 == l) {
            off = next;
            continue;
        }
        json_error_t je;
        json_t *row = json_loadb(start + s0, l - s0, JSON_REJECT_DUPLICATES, &je);
        if (!row) {
            rc = ct_error_setf(err, CT_EPARSE, path, (long long)off + je.position, line,
                               "manifest row is not valid JSON: %s", je.text);
        } else if (!json_is_object(row)) {
            rc = ct_error_setf(err, CT_EPARSE, path, (long long)off, line,
                               "manifest row must be a JSON object");
        } else {
            const char *id = json_string_value(json_object_get(row, "traj_id"));
            if (!valid_traj_id(id))
                rc = ct_error_setf(
                    err, CT_EPARSE, path, (long long)off, line,
                    "manifest row needs a \"traj_id\" string of letters, digits, '.', '_' "
                    "or '-' (it names the output folder)");
            else if (json_object_get(seen, id))
                rc = ct_error_setf(err, CT_EPARSE, path, (long long)off, line,
                                   "traj_id \"%s\" appears twice in the manifest", id);
            else if (json_array_size(arr) >= CT_MANIFEST_MAX_ROWS)
                rc = ct_error_setf(err, CT_ELIMIT, path, (long long)off, line,
                                   "the manifest has more than %d rows", CT_MANIFEST_MAX_ROWS);
            else {
                json_object_set_new(seen, id, json_true());
                json_array_append(arr, row);
            }
        }
        json_decref(row);
        off = next;
    }
    json_decref(seen);
    ct_buf_free(&b);
    if (rc != CT_OK) {
        json_decref(arr);
        return rc;
    }
    *rows = arr;
    return CT_OK;
}

/* ---------------------------------------------------------------- id sets */

typedef struct ids {
    int *v;
    size_t n, cap;
} ids;

static void ids_add(ids *s, int id)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = ct_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = id;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void ids_normalize(ids *s) /* sort, unique */
{
    if (!s->n) return;
    qsort(s->v, s->n, sizeof *s->v, cmp_int);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i] != s->v[k - 1]) s->v[k++] = s->v[i];
    s->n = k;
}

static int ids_has(const ids *s, int id)
{
    return s->n && bsearch(&id, s->v, s->n, sizeof *s->v, cmp_int) != NULL;
}

/* Append the integer members of arr (integers, or integral numbers/strings) to s; non-integers
 * are counted in *bad. */
static void ids_from_json(ids *s, const json_t *arr, int *bad)
{
    size_t i;
    const json_t *v;
    if (!json_is_array(arr)) return;
    json_array_foreach(arr, i, v)
    {
        long long x;
        char *end;
        if (json_is_integer(v))
            x = json_integer_value(v);
        else if (json_is_real(v) && json_real_value(v) >= 1 && json_real_value(v) <= EVAL_MAX_ID &&
                 json_real_value(v) == (double)(long long)json_real_value(v))
            x = (long long)json_real_value(v);
        else if (json_is_string(v) && *json_string_value(v) &&
                 (errno = 0, x = strtoll(json_string_value(v), &end, 10), !*end && !errno))
            ;
        else {
            (*bad)++;
            continue;
        }
        if (x < 1 || x > EVAL_MAX_ID) {
            (*bad)++;
            continue;
        }
        ids_add(s, (int)x);
    }
}

/* Union over a stage list (array of {incorrect_step_ids, unuseful_step_ids}). */
static void from_stages(const json_t *stages, ids *inc, ids *unu, int *bad)
{
    size_t i;
    const json_t *st;
    json_array_foreach(stages, i, st)
    {
        ids_from_json(inc, json_object_get(st, "incorrect_step_ids"), bad);
        ids_from_json(unu, json_object_get(st, "unuseful_step_ids"), bad);
    }
}

/* ---------------------------------------------------------------- scoring */

typedef struct prf {
    long long tp, fp, fn;
    double p, r, f1;
} prf;

static void prf_finish(prf *m)
{
    if (m->tp + m->fp + m->fn == 0) { /* both empty: nothing to find, nothing claimed */
        m->p = m->r = m->f1 = 1.0;
        return;
    }
    m->p = m->tp + m->fp ? (double)m->tp / (double)(m->tp + m->fp) : 0.0;
    m->r = m->tp + m->fn ? (double)m->tp / (double)(m->tp + m->fn) : 0.0;
    m->f1 = m->p + m->r > 0 ? 2 * m->p * m->r / (m->p + m->r) : 0.0;
}

static prf score(const ids *gold, const ids *pred)
{
    prf m = {0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < pred->n; i++) {
        if (ids_has(gold, pred->v[i]))
            m.tp++;
        else
            m.fp++;
    }
    for (size_t i = 0; i < gold->n; i++)
        if (!ids_has(pred, gold->v[i])) m.fn++;
    prf_finish(&m);
    return m;
}

typedef struct traj_score {
    const char *agent, *model;
    prf inc, unu;
    long long conf[3][3]; /* [gold][pred]: 0 correct, 1 unuseful, 2 incorrect */
    int has_steps;
    long long steps;
} traj_score;

static int step_class(const ids *inc, const ids *unu, int id)
{
    return ids_has(inc, id) ? 2 : ids_has(unu, id) ? 1 : 0;
}

static json_t *prf_json(const prf *m, int with_counts)
{
    json_t *o = json_object();
    json_object_set_new(o, "p", json_real(m->p));
    json_object_set_new(o, "r", json_real(m->r));
    json_object_set_new(o, "f1", json_real(m->f1));
    if (with_counts) {
        json_object_set_new(o, "tp", json_integer(m->tp));
        json_object_set_new(o, "fp", json_integer(m->fp));
        json_object_set_new(o, "fn", json_integer(m->fn));
    }
    return o;
}

static json_t *class_json(const traj_score *ts, size_t n, const char *agent, const char *model,
                          int unu)
{
    prf micro = {0, 0, 0, 0, 0, 0};
    double sp = 0, sr = 0, sf = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (agent && strcmp(ts[i].agent, agent) != 0) continue;
        if (model && strcmp(ts[i].model, model) != 0) continue;
        const prf *m = unu ? &ts[i].unu : &ts[i].inc;
        micro.tp += m->tp;
        micro.fp += m->fp;
        micro.fn += m->fn;
        sp += m->p;
        sr += m->r;
        sf += m->f1;
        k++;
    }
    prf_finish(&micro);
    prf macro = {0, 0, 0, k ? sp / (double)k : 0, k ? sr / (double)k : 0, k ? sf / (double)k : 0};
    json_t *o = json_object();
    json_object_set_new(o, "macro", prf_json(&macro, 0));
    json_object_set_new(o, "micro", prf_json(&micro, 1));
    return o;
}

static json_t *group_json(const traj_score *ts, size_t n, const char *agent, const char *model)
{
    long long conf[3][3] = {{0}};
    long long total = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (agent && strcmp(ts[i].agent, agent) != 0) continue;
        if (model && strcmp(ts[i].model, model) != 0) continue;
        k++;
        if (!ts[i].has_steps) continue;
        for (int g = 0; g < 3; g++)
            for (int p = 0; p < 3; p++) {
                conf[g][p] += ts[i].conf[g][p];
                total += ts[i].conf[g][p];
            }
    }
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)k));
    json_object_set_new(o, "incorrect", class_json(ts, n, agent, model, 0));
    json_object_set_new(o, "unuseful", class_json(ts, n, agent, model, 1));
    if (total == 0) {
        json_object_set_new(o, "kappa", json_null());
    } else {
        double po = 0, pe = 0;
        for (int c = 0; c < 3; c++) {
            long long row = 0, col = 0;
            for (int x = 0; x < 3; x++) {
                row += conf[c][x];
                col += conf[x][c];
            }
            po += (double)conf[c][c];
            pe += (double)row * (double)col;
        }
        po /= (double)total;
        pe /= (double)total * (double)total;
        /* pe == 1: both raters used one single class; agreement is then total or nothing. */
        double kappa = pe >= 1.0 ? (po >= 1.0 ? 1.0 : 0.0) : (po - pe) / (1.0 - pe);
        json_object_set_new(o, "kappa", json_real(kappa));
    }
    json_object_set_new(o, "kappa_steps", json_integer(total));
    return o;
}

static const char *str_or(const json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : def;
}

/* Load a prediction file: NULL when absent; *note set when unreadable. */
static json_t *load_pred(const char *path, char *note, size_t note_size)
{
    struct stat st;
    if (stat(path, &st) != 0) return NULL;
    if (st.st_size > EVAL_MAX_PRED_BYTES) {
        snprintf(note, note_size, "%s is larger than %lld bytes; ignored", path,
                 EVAL_MAX_PRED_BYTES);
        return NULL;
    }
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_DECODE_ANY, &je);
    if (!doc)
        snprintf(note, note_size, "%s: line %d: invalid JSON (%s); ignored", path, je.line,
                 je.text);
    return doc;
}

int ct_eval_run(const char *manifest, const char *pred_dir, ct_numbering numbering, json_t **out,
                ct_error *err)
{
    json_t *rows;
    *out = NULL;
    int rc = ct_eval_read_manifest(manifest, &rows, err);
    if (rc != CT_OK) return rc;
    struct stat st;
    if (stat(pred_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        json_decref(rows);
        return ct_error_setf(err, CT_ENOTFOUND, pred_dir, -1, 0,
                             "the prediction folder does not exist");
    }
    size_t n = json_array_size(rows);
    traj_score *ts = ct_xcalloc(n ? n : 1, sizeof *ts);
    json_t *per = json_array();
    json_t *agents = json_object(), *models = json_object();
    size_t missing = 0;
    int nums_used = 0; /* bit 1 step, bit 2 bench */
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(rows, i);
        const char *id = json_string_value(json_object_get(row, "traj_id"));
        traj_score *t = &ts[i];
        t->agent = str_or(row, "agent", "unknown");
        t->model = str_or(row, "model", "unknown");
        json_object_set_new(agents, t->agent, json_true());
        json_object_set_new(models, t->model, json_true());
        json_t *notes = json_array();
        char note[1200];

        ct_numbering num = numbering;
        if (num == CT_NUMBERING_AUTO) {
            const char *rn = json_string_value(json_object_get(row, "numbering"));
            num = rn && (strcmp(rn, "step_id") == 0 || strcmp(rn, "step") == 0)
                      ? CT_NUMBERING_STEP
                      : CT_NUMBERING_BENCH;
        }
        nums_used |= num == CT_NUMBERING_STEP ? 1 : 2;

        ids ginc = {0}, gunu = {0}, pinc = {0}, punu = {0};
        int bad = 0;
        if (json_is_array(json_object_get(row, "incorrect_stages")))
            from_stages(json_object_get(row, "incorrect_stages"), &ginc, &gunu, &bad);
        else {
            ids_from_json(&ginc, json_object_get(row, "incorrect_step_ids"), &bad);
            ids_from_json(&gunu, json_object_get(row, "unuseful_step_ids"), &bad);
        }
        if (bad) {
            snprintf(note, sizeof note, "%d gold step ids are not integers >= 1; ignored", bad);
            json_array_append_new(notes, json_string(note));
        }
        ids_normalize(&ginc);
        ids_normalize(&gunu);

        json_t *sc = json_object_get(row, "step_count");
        if (!json_is_integer(sc)) sc = json_object_get(row, "steps_total");
        t->has_steps = json_is_integer(sc) && json_integer_value(sc) >= 0 &&
                       json_integer_value(sc) <= EVAL_MAX_ID;
        t->steps = t->has_steps ? json_integer_value(sc) : 0;

        /* Prediction: prefer the file whose numbering matches. */
        const char *files[2];
        files[0] =
            ct_profile_file(num == CT_NUMBERING_STEP ? CT_PROFILE_DETAILED : CT_PROFILE_TRACEBENCH);
        files[1] =
            ct_profile_file(num == CT_NUMBERING_STEP ? CT_PROFILE_TRACEBENCH : CT_PROFILE_DETAILED);
        const char *used = NULL;
        for (int k = 0; k < 2 && !used; k++) {
            char *p = ct_xasprintf("%s/%s/%s", pred_dir, id, files[k]);
            note[0] = 0;
            json_t *doc = load_pred(p, note, sizeof note);
            if (note[0]) json_array_append_new(notes, json_string(note));
            const json_t *stages = NULL;
            if (doc && strcmp(files[k], ct_profile_file(CT_PROFILE_DETAILED)) == 0)
                stages = json_object_get(doc, "stage_labels");
            else if (doc)
                stages = doc;
            if (doc && !json_is_array(stages)) {
                snprintf(note, sizeof note, "%s has no stage label array; ignored", p);
                json_array_append_new(notes, json_string(note));
            } else if (doc) {
                int pbad = 0;
                from_stages(stages, &pinc, &punu, &pbad);
                if (pbad) {
                    snprintf(note, sizeof note,
                             "%d predicted step ids are not integers >= 1; ignored", pbad);
                    json_array_append_new(notes, json_string(note));
                }
                used = files[k];
                if (k == 1) {
                    snprintf(note, sizeof note,
                             "scored %s (numbered by %s) because %s is absent; the numberings may "
                             "differ",
                             files[k], num == CT_NUMBERING_STEP ? "bench_step_id" : "step_id",
                             files[0]);
                    json_array_append_new(notes, json_string(note));
                }
            }
            json_decref(doc);
            free(p);
        }
        if (!used) missing++;
        /* The predicted run's own step count (steps.json next to the prediction): a different
         * count than the manifest's means the two numberings do not line up. */
        if (used && t->has_steps) {
            char *sp = ct_xasprintf("%s/%s/steps.json", pred_dir, id);
            struct stat sst;
            if (stat(sp, &sst) == 0 && sst.st_size <= EVAL_MAX_PRED_BYTES) {
                json_t *steps = json_load_file(sp, 0, NULL);
                if (json_is_array(steps) && (long long)json_array_size(steps) != t->steps) {
                    snprintf(note, sizeof note,
                             "the analysed run has %zu steps but the manifest says %lld: the step "
                             "numberings may not line up",
                             json_array_size(steps), t->steps);
                    json_array_append_new(notes, json_string(note));
                }
                json_decref(steps);
            }
            free(sp);
        }
        ids_normalize(&pinc);
        ids_normalize(&punu);

        t->inc = score(&ginc, &pinc);
        t->unu = score(&gunu, &punu);

        json_t *gout = json_array(), *pout = json_array();
        if (t->has_steps) {
            ids *sets[4] = {&ginc, &gunu, &pinc, &punu};
            for (int k = 0; k < 4; k++)
                for (size_t j = 0; j < sets[k]->n; j++)
                    if (sets[k]->v[j] > t->steps)
                        json_array_append_new(k < 2 ? gout : pout, json_integer(sets[k]->v[j]));
            for (long long s = 1; s <= t->steps; s++)
                t->conf[step_class(&ginc, &gunu, (int)s)][step_class(&pinc, &punu, (int)s)]++;
        } else {
            json_array_append_new(notes,
                                  json_string("no step_count / steps_total: left out of kappa"));
        }

        json_t *o = json_object();
        json_object_set_new(o, "traj_id", json_string(id));
        json_object_set_new(o, "agent", json_string(t->agent));
        json_object_set_new(o, "model", json_string(t->model));
        json_object_set_new(o, "step_count", t->has_steps ? json_integer(t->steps) : json_null());
        json_object_set_new(o, "numbering",
                            json_string(num == CT_NUMBERING_STEP ? "step" : "bench"));
        json_object_set_new(o, "pred_file", used ? json_string(used) : json_null());
        json_object_set_new(o, "missing_prediction", json_boolean(!used));
        json_object_set_new(o, "incorrect", prf_json(&t->inc, 1));
        json_object_set_new(o, "unuseful", prf_json(&t->unu, 1));
        json_object_set_new(o, "gold_out_of_range", gout);
        json_object_set_new(o, "pred_out_of_range", pout);
        json_object_set_new(o, "notes", notes);
        json_array_append_new(per, o);
        free(ginc.v);
        free(gunu.v);
        free(pinc.v);
        free(punu.v);
    }

    json_t *rep = json_object();
    json_object_set_new(rep, "numbering",
                        json_string(nums_used == 3   ? "mixed"
                                    : nums_used == 1 ? "step"
                                                     : "bench"));
    json_object_set_new(rep, "n_trajectories", json_integer((json_int_t)n));
    json_object_set_new(rep, "n_missing_predictions", json_integer((json_int_t)missing));
    json_object_set_new(rep, "overall", group_json(ts, n, NULL, NULL));
    json_t *ba = json_object(), *bm = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(agents, k, v) json_object_set_new(ba, k, group_json(ts, n, k, NULL));
    json_object_foreach(models, k, v) json_object_set_new(bm, k, group_json(ts, n, NULL, k));
    json_object_set_new(rep, "by_agent", ba);
    json_object_set_new(rep, "by_model", bm);
    json_object_set_new(rep, "trajectories", per);
    json_decref(agents);
    json_decref(models);
    free(ts);
    json_decref(rows); /* ts[].agent/model point into rows: freed last */
    *out = rep;
    return CT_OK;
}

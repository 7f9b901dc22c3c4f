/* profiles.c — build, validate and write the tracebench / detailed / rl_feedback files. */
#include "ct/profiles.h"

#include "ct/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const profile_names[] = {"tracebench", "detailed", "rl_feedback"};
static const char *const profile_files[] = {"codetracer_labels.json", "codetracer_analysis.json",
                                            "codetracer_rl_feedback.json"};

static const char *const deviation_types[] = {"wrong_tool",          "wrong_target",
                                              "redundant",           "premature_conclusion",
                                              "missing_exploration", "none"};
static const char *const severities[] = {"critical", "moderate", "minor", "none"};

/* Longest reasoning text kept in one stage element (labelled steps beyond it are counted). */
#define STAGE_REASONING_MAX 4000

const char *ct_profile_name(ct_profile p)
{
    return (unsigned)p < CT_PROFILE__COUNT ? profile_names[p] : "detailed";
}

const char *ct_profile_file(ct_profile p)
{
    return (unsigned)p < CT_PROFILE__COUNT ? profile_files[p] : profile_files[1];
}

int ct_profile_from_name(const char *name, ct_profile *out)
{
    for (int i = 0; name && i < CT_PROFILE__COUNT; i++)
        if (strcmp(name, profile_names[i]) == 0) {
            *out = (ct_profile)i;
            return 0;
        }
    return -1;
}

int ct_profile_parse_mask(const char *list, unsigned *mask)
{
    unsigned m = 0;
    const char *p = list;
    if (!list || !*list) return -1;
    while (*p) {
        size_t n = strcspn(p, ",");
        char name[32];
        if (n == 0 || n >= sizeof name) return -1;
        memcpy(name, p, n);
        name[n] = 0;
        ct_profile pr;
        if (strcmp(name, "all") == 0)
            m |= CT_PROFILE_ALL;
        else if (ct_profile_from_name(name, &pr) == 0)
            m |= CT_PROFILE_BIT(pr);
        else
            return -1;
        p += n;
        if (*p == ',') p++;
    }
    *mask = m;
    return 0;
}

/* Step-id bitmaps: ids are bounded by CT_PROFILE_MAX_ID, so a set is a bit per possible id. */
#define CT_PROFILE_MAX_ID (1 << 24)

typedef struct idset {
    unsigned char *bits;
    size_t nbytes;
} idset;

static int idset_has(const idset *s, int id)
{
    return (size_t)id / 8 < s->nbytes && (s->bits[id / 8] >> (id % 8)) & 1;
}

static int idset_add(idset *s, int id) /* 0 when new, 1 when already present */
{
    if (idset_has(s, id)) return 1;
    if ((size_t)id / 8 >= s->nbytes) {
        size_t nb = s->nbytes ? s->nbytes : 64;
        while (nb <= (size_t)id / 8)
            nb *= 2;
        s->bits = ct_xrealloc(s->bits, nb);
        memset(s->bits + s->nbytes, 0, nb - s->nbytes);
        s->nbytes = nb;
    }
    s->bits[id / 8] |= (unsigned char)(1u << (id % 8));
    return 0;
}

/* ---------------------------------------------------------------- building */

/* A JSON string that is never NULL: text from a trajectory may hold invalid UTF-8 (terminal
 * logs), which jansson refuses; it is repaired (U+FFFD) instead of silently dropping the key. */
static json_t *jstr(const char *s)
{
    if (!s) s = "";
    json_t *v = json_string(s);
    if (v) return v;
    char *fixed = ct_utf8_sanitize(s, strlen(s));
    v = json_string(fixed);
    free(fixed);
    return v ? v : json_string("");
}

static int label_id(const ct_step_label *l, int bench)
{
    return bench ? l->bench_step_id : l->step_id;
}

/* Append the labelled steps of [start, end] not yet covered as one tracebench element. */
static void stage_element(json_t *arr, const ct_analysis *a, int bench, int stage_id, int start,
                          int end, unsigned char *covered, idset *emitted, int leftovers)
{
    json_t *inc = json_array(), *unu = json_array();
    ct_buf why = CT_BUF_INIT;
    size_t omitted = 0;
    for (int id = start; id <= end; id++) {
        if (id < 1 || (size_t)id > a->n_labels || covered[id]) continue;
        covered[id] = 1;
        const ct_step_label *l = &a->labels[id - 1];
        if (l->label == CT_LABEL_CORRECT) continue;
        int out_id = label_id(l, bench);
        /* bench id 0: not counted by the benchmark; a repeated bench id is listed once. */
        if (out_id <= 0 || out_id > CT_PROFILE_MAX_ID || idset_add(emitted, out_id)) continue;
        json_array_append_new(l->label == CT_LABEL_INCORRECT ? inc : unu, json_integer(out_id));
        if (why.len > STAGE_REASONING_MAX) {
            omitted++;
            continue;
        }
        ct_buf_printf(&why, "%sstep %d %s%s%s%s: %s", why.len ? "; " : "", out_id,
                      ct_label_name(l->label), l->rule ? " (" : "", l->rule ? l->rule : "",
                      l->rule ? ")" : "", l->reasoning ? l->reasoning : "no reason given");
    }
    if (leftovers && json_array_size(inc) + json_array_size(unu) == 0) {
        json_decref(inc);
        json_decref(unu);
        ct_buf_free(&why);
        return;
    }
    if (omitted) ct_buf_printf(&why, "; and %zu more labelled steps", omitted);
    if (!why.len) ct_buf_puts(&why, "no incorrect or unuseful steps found in this stage");
    json_t *e = json_object();
    json_object_set_new(e, "stage_id", json_integer(stage_id));
    json_object_set_new(e, "incorrect_step_ids", inc);
    json_object_set_new(e, "unuseful_step_ids", unu);
    json_object_set_new(e, "reasoning", jstr(why.data));
    ct_buf_free(&why);
    json_array_append_new(arr, e);
}

/* One tracebench element per stage (one stage 1..N when the analysis has none). Stages are taken
 * as they come, but a step is only ever listed once, and labelled steps no stage covers go into
 * one extra element, so the file always carries exactly the analysis's labels. */
static json_t *stage_labels(const ct_analysis *a, int bench)
{
    json_t *arr = json_array();
    ct_stage whole = {1, 1, (int)a->n_labels, NULL};
    const ct_stage *st = a->n_stages ? a->stages : &whole;
    size_t ns = a->n_stages ? a->n_stages : 1;
    unsigned char *covered = ct_xcalloc(a->n_labels + 1, 1);
    idset emitted = {0, 0}, stage_ids = {0, 0};
    int max_stage = 0;
    for (size_t s = 0; s < ns; s++) {
        int sid = st[s].stage_id;
        if (sid < 1 || sid > CT_PROFILE_MAX_ID || idset_has(&stage_ids, sid)) sid = max_stage + 1;
        idset_add(&stage_ids, sid);
        if (sid > max_stage) max_stage = sid;
        stage_element(arr, a, bench, sid, st[s].start_step_id, st[s].end_step_id, covered, &emitted,
                      0);
    }
    stage_element(arr, a, bench, max_stage + 1, 1, (int)a->n_labels, covered, &emitted, 1);
    free(covered);
    free(emitted.bits);
    free(stage_ids.bits);
    return arr;
}

static json_t *build_detailed(const ct_analysis *a)
{
    json_t *o = json_object();
    json_t *rc = json_array();
    for (size_t i = 0; i < a->n_root_cause; i++)
        json_array_append_new(rc, jstr(a->root_cause_chain[i] ? a->root_cause_chain[i] : ""));
    json_object_set_new(o, "root_cause_chain", rc);
    json_t *cd = json_array();
    for (size_t i = 0; i < a->n_decisions; i++) {
        const ct_decision *d = &a->decisions[i];
        if (d->step_id < 1 || (size_t)d->step_id > a->n_labels)
            continue; /* never emit unknown ids */
        json_t *e = json_object();
        json_object_set_new(e, "step_id", json_integer(d->step_id));
        json_object_set_new(e, "decision", jstr(d->decision ? d->decision : ""));
        json_object_set_new(e, "should_have", jstr(d->should_have ? d->should_have : ""));
        json_array_append_new(cd, e);
    }
    json_object_set_new(o, "critical_decision_points", cd);
    json_object_set_new(o, "correct_strategy",
                        jstr(a->correct_strategy ? a->correct_strategy : ""));
    json_object_set_new(o, "stage_labels", stage_labels(a, 0));
    json_object_set_new(o, "summary", jstr(a->summary ? a->summary : ""));
    return o;
}

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, list[i]) == 0) return 1;
    return 0;
}

static json_t *build_rl(const ct_analysis *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < a->n_labels; i++) {
        const ct_step_label *l = &a->labels[i];
        const char *dev =
            in_list(l->deviation_type, deviation_types, 6) ? l->deviation_type : "none";
        const char *sev = in_list(l->impact_severity, severities, 4) ? l->impact_severity : "none";
        double r = isfinite(l->reward) ? l->reward : 0.0;
        if (r > 1) r = 1;
        if (r < -1) r = -1;
        const char *why = l->reasoning;
        if (l->label == CT_LABEL_CORRECT) {
            dev = "none";
            sev = "none";
            if (r < 0) r = 0;
            if (!why) why = "no problem found with this step";
        } else if (r >= 0) {
            /* The analyzer set a label but no reward: derive one from the severity. */
            if (l->label == CT_LABEL_UNUSEFUL)
                r = -0.2;
            else
                r = strcmp(sev, "critical") == 0   ? -1.0
                    : strcmp(sev, "moderate") == 0 ? -0.6
                                                   : -0.3;
        }
        json_t *e = json_object();
        json_object_set_new(e, "step_id", json_integer(l->step_id));
        json_object_set_new(e, "verdict", jstr(ct_label_name(l->label)));
        json_object_set_new(e, "deviation_type", jstr(dev));
        json_object_set_new(e, "correct_alternative",
                            jstr(l->correct_alternative ? l->correct_alternative : ""));
        json_object_set_new(e, "impact_severity", jstr(sev));
        json_object_set_new(e, "reasoning", jstr(why ? why : ""));
        json_object_set_new(e, "reward_signal", json_real(r));
        json_array_append_new(arr, e);
    }
    return arr;
}

json_t *ct_profile_build(ct_profile p, const ct_analysis *a)
{
    switch (p) {
    case CT_PROFILE_TRACEBENCH:
        return stage_labels(a, 1);
    case CT_PROFILE_RL_FEEDBACK:
        return build_rl(a);
    default:
        return build_detailed(a);
    }
}

int *ct_profile_ids(ct_profile p, const ct_analysis *a, size_t *n)
{
    int *ids = ct_xmalloc((a->n_labels ? a->n_labels : 1) * sizeof *ids);
    size_t k = 0;
    for (size_t i = 0; i < a->n_labels; i++) {
        int id = label_id(&a->labels[i], p == CT_PROFILE_TRACEBENCH);
        if (id > 0) ids[k++] = id;
    }
    *n = k;
    return ids;
}

/* ---------------------------------------------------------------- validation */

typedef struct vctx {
    const int *ids;
    size_t n_ids;
    idset known;
    idset seen;
    ct_error *err;
    const char *profile;
} vctx;

static int fail(vctx *c, const char *where, const char *what)
{
    return ct_error_set(c->err, CT_ESCHEMA, "%s profile: %s %s", c->profile, where, what);
}

static int known_id(const vctx *c, long long id)
{
    if (!c->ids) return id >= 1 && id <= CT_PROFILE_MAX_ID;
    return id >= 1 && id <= CT_PROFILE_MAX_ID && idset_has(&c->known, (int)id);
}

/* A step id: an integer >= 1, known, and not seen before in this document. */
static int check_step_id(vctx *c, const json_t *v, const char *where)
{
    char msg[128];
    if (!json_is_integer(v)) return fail(c, where, "must be an integer step id");
    json_int_t id = json_integer_value(v);
    if (id < 1) return fail(c, where, "must be a step id >= 1");
    if (!known_id(c, id)) {
        snprintf(msg, sizeof msg, "names step %lld, which the trajectory does not have",
                 (long long)id);
        return fail(c, where, msg);
    }
    if (idset_add(&c->seen, (int)id)) {
        snprintf(msg, sizeof msg, "repeats step %lld (a step may be listed once)", (long long)id);
        return fail(c, where, msg);
    }
    return CT_OK;
}

static const json_t *need(vctx *c, const json_t *obj, const char *key, const char *where, int *rc)
{
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        char msg[96];
        snprintf(msg, sizeof msg, "misses the required key \"%.40s\"", key);
        *rc = fail(c, where, msg);
    }
    return v;
}

static int check_stage_list(vctx *c, const json_t *arr, const char *prefix)
{
    char where[160];
    idset stage_ids = {0, 0};
    int rc = CT_OK;
    if (!json_is_array(arr)) {
        snprintf(where, sizeof where, "%s", *prefix ? prefix : "the document");
        return fail(c, where, "must be a JSON array of stage elements");
    }
    for (size_t i = 0; i < json_array_size(arr) && rc == CT_OK; i++) {
        const json_t *e = json_array_get(arr, i);
        snprintf(where, sizeof where, "%s[%zu]", prefix, i);
        if (!json_is_object(e)) {
            rc = fail(c, where, "must be an object");
            break;
        }
        const json_t *sid = need(c, e, "stage_id", where, &rc);
        const json_t *inc = rc ? NULL : need(c, e, "incorrect_step_ids", where, &rc);
        const json_t *unu = rc ? NULL : need(c, e, "unuseful_step_ids", where, &rc);
        const json_t *why = rc ? NULL : need(c, e, "reasoning", where, &rc);
        if (rc) break;
        snprintf(where, sizeof where, "%s[%zu].stage_id", prefix, i);
        if (!json_is_integer(sid) || json_integer_value(sid) < 0) {
            rc = fail(c, where, "must be a non-negative integer");
            break;
        }
        if (json_integer_value(sid) > CT_PROFILE_MAX_ID) {
            rc = fail(c, where, "is implausibly large");
            break;
        }
        if (idset_add(&stage_ids, (int)json_integer_value(sid))) {
            rc = fail(c, where, "repeats a stage id");
            break;
        }
        snprintf(where, sizeof where, "%s[%zu].reasoning", prefix, i);
        if (!json_is_string(why)) {
            rc = fail(c, where, "must be a string");
            break;
        }
        const json_t *lists[2] = {inc, unu};
        const char *names[2] = {"incorrect_step_ids", "unuseful_step_ids"};
        for (int k = 0; k < 2 && rc == CT_OK; k++) {
            snprintf(where, sizeof where, "%s[%zu].%s", prefix, i, names[k]);
            if (!json_is_array(lists[k])) {
                rc = fail(c, where, "must be an array of integers");
                break;
            }
            for (size_t j = 0; j < json_array_size(lists[k]) && rc == CT_OK; j++) {
                snprintf(where, sizeof where, "%s[%zu].%s[%zu]", prefix, i, names[k], j);
                rc = check_step_id(c, json_array_get(lists[k], j), where);
            }
        }
    }
    free(stage_ids.bits);
    return rc;
}

static int check_string_field(vctx *c, const json_t *obj, const char *key, const char *prefix,
                              const char *const *allowed, size_t n_allowed)
{
    char where[160];
    int rc = CT_OK;
    const json_t *v = need(c, obj, key, prefix, &rc);
    if (rc) return rc;
    snprintf(where, sizeof where, "%s.%s", prefix, key);
    if (!json_is_string(v)) return fail(c, where, "must be a string");
    if (allowed && !in_list(json_string_value(v), allowed, n_allowed)) {
        char msg[256];
        snprintf(msg, sizeof msg, "has the value \"%.60s\", which is not one of the allowed values",
                 json_string_value(v));
        return fail(c, where, msg);
    }
    return CT_OK;
}

static int check_detailed(vctx *c, const json_t *doc)
{
    int rc = CT_OK;
    char where[160];
    if (!json_is_object(doc)) return fail(c, "the document", "must be a JSON object");
    const json_t *rcc = need(c, doc, "root_cause_chain", "the document", &rc);
    const json_t *cdp = rc ? NULL : need(c, doc, "critical_decision_points", "the document", &rc);
    const json_t *cs = rc ? NULL : need(c, doc, "correct_strategy", "the document", &rc);
    const json_t *sl = rc ? NULL : need(c, doc, "stage_labels", "the document", &rc);
    const json_t *sum = rc ? NULL : need(c, doc, "summary", "the document", &rc);
    if (rc) return rc;
    if (!json_is_array(rcc)) return fail(c, "root_cause_chain", "must be an array of strings");
    for (size_t i = 0; i < json_array_size(rcc); i++)
        if (!json_is_string(json_array_get(rcc, i))) {
            snprintf(where, sizeof where, "root_cause_chain[%zu]", i);
            return fail(c, where, "must be a string");
        }
    if (!json_is_string(cs)) return fail(c, "correct_strategy", "must be a string");
    if (!json_is_string(sum)) return fail(c, "summary", "must be a string");
    if (!json_is_array(cdp)) return fail(c, "critical_decision_points", "must be an array");
    for (size_t i = 0; i < json_array_size(cdp); i++) {
        const json_t *e = json_array_get(cdp, i);
        snprintf(where, sizeof where, "critical_decision_points[%zu]", i);
        if (!json_is_object(e)) return fail(c, where, "must be an object");
        const json_t *sid = need(c, e, "step_id", where, &rc);
        if (rc) return rc;
        if ((rc = check_string_field(c, e, "decision", where, NULL, 0))) return rc;
        if ((rc = check_string_field(c, e, "should_have", where, NULL, 0))) return rc;
        char w2[200];
        snprintf(w2, sizeof w2, "%s.step_id", where);
        if (!json_is_integer(sid) || json_integer_value(sid) < 1)
            return fail(c, w2, "must be an integer step id >= 1");
        if (!known_id(c, json_integer_value(sid)))
            return fail(c, w2, "names a step the trajectory does not have");
    }
    /* Decision points may name a labelled step; duplicates are only checked among labels. */
    return check_stage_list(c, sl, "stage_labels");
}

static int check_rl(vctx *c, const json_t *doc)
{
    int rc = CT_OK;
    char where[160];
    if (!json_is_array(doc))
        return fail(c, "the document", "must be a JSON array (one element per step)");
    for (size_t i = 0; i < json_array_size(doc); i++) {
        const json_t *e = json_array_get(doc, i);
        snprintf(where, sizeof where, "[%zu]", i);
        if (!json_is_object(e)) return fail(c, where, "must be an object");
        const json_t *sid = need(c, e, "step_id", where, &rc);
        const json_t *rw = rc ? NULL : need(c, e, "reward_signal", where, &rc);
        if (rc) return rc;
        static const char *const verdicts[] = {"incorrect", "unuseful", "correct"};
        if ((rc = check_string_field(c, e, "verdict", where, verdicts, 3))) return rc;
        if ((rc = check_string_field(c, e, "deviation_type", where, deviation_types, 6))) return rc;
        if ((rc = check_string_field(c, e, "correct_alternative", where, NULL, 0))) return rc;
        if ((rc = check_string_field(c, e, "impact_severity", where, severities, 4))) return rc;
        if ((rc = check_string_field(c, e, "reasoning", where, NULL, 0))) return rc;
        char w2[200];
        snprintf(w2, sizeof w2, "%s.step_id", where);
        if ((rc = check_step_id(c, sid, w2))) return rc;
        snprintf(w2, sizeof w2, "%s.reward_signal", where);
        if (!json_is_number(rw) || !isfinite(json_number_value(rw)))
            return fail(c, w2, "must be a number");
        double r = json_number_value(rw);
        if (r < -1.0 || r > 1.0) return fail(c, w2, "must be within [-1, 1]");
        int correct = strcmp(json_string_value(json_object_get(e, "verdict")), "correct") == 0;
        if (correct && r < 0) return fail(c, w2, "must be within [0, 1] for a correct step");
        if (correct &&
            strcmp(json_string_value(json_object_get(e, "deviation_type")), "none") != 0) {
            snprintf(w2, sizeof w2, "%s.deviation_type", where);
            return fail(c, w2, "must be \"none\" for a correct step");
        }
    }
    if (c->ids)
        for (size_t i = 0; i < c->n_ids; i++) {
            if (c->ids[i] >= 1 && !idset_has(&c->seen, c->ids[i])) {
                char msg[96];
                snprintf(msg, sizeof msg, "has no element for step %d (one element per step)",
                         c->ids[i]);
                return fail(c, "the document", msg);
            }
        }
    return CT_OK;
}

int ct_profile_validate(ct_profile p, const json_t *doc, const int *ids, size_t n_ids,
                        ct_error *err)
{
    vctx c = {ids, n_ids, {0, 0}, {0, 0}, err, ct_profile_name(p)};
    int rc;
    for (size_t i = 0; ids && i < n_ids; i++)
        if (ids[i] >= 1 && ids[i] <= CT_PROFILE_MAX_ID) idset_add(&c.known, ids[i]);
    if (!doc) return fail(&c, "the document", "is missing");
    switch (p) {
    case CT_PROFILE_TRACEBENCH:
        rc = check_stage_list(&c, doc, "");
        break;
    case CT_PROFILE_RL_FEEDBACK:
        rc = check_rl(&c, doc);
        break;
    case CT_PROFILE_DETAILED:
        rc = check_detailed(&c, doc);
        break;
    default:
        rc = ct_error_set(err, CT_EINVAL, "unknown profile %d", (int)p);
    }
    free(c.seen.bits);
    free(c.known.bits);
    return rc;
}

/* ---------------------------------------------------------------- writing */

int ct_profile_write_atomic(const char *path, const char *data, size_t len, ct_error *err)
{
    char *tmp = ct_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return ct_error_setf(err, CT_EIO, path, -1, 0, "cannot create a file here: %s",
                             strerror(e));
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return ct_error_setf(err, CT_EIO, path, -1, 0, "write failed: %s", strerror(e));
        }
        off += (size_t)w;
    }
    /* No fsync: rename makes the file appear whole or not at all for readers and after a killed
     * process, which is what resume and the editor need; an fsync per file made batch runs
     * disk-bound (7 files per item) for durability across power loss nobody asked for. */
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return ct_error_setf(err, CT_EIO, path, -1, 0, "rename failed: %s", strerror(e));
    }
    free(tmp);
    return CT_OK;
}

static int write_json(const char *dir, const char *name, json_t *doc, ct_error *err)
{
    char *path = ct_xasprintf("%s/%s", dir, name);
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    int rc;
    if (!s) {
        rc = ct_error_setf(err, CT_ENOMEM, path, -1, 0, "could not serialise the JSON document");
    } else {
        size_t n = strlen(s);
        s = ct_xrealloc(s, n + 2);
        s[n] = '\n';
        s[n + 1] = 0;
        rc = ct_profile_write_atomic(path, s, n + 1, err);
    }
    free(s);
    free(path);
    return rc;
}

int ct_profile_write(const char *dir, unsigned mask, const ct_analysis *a, ct_error *err)
{
    for (int p = 0; p < CT_PROFILE__COUNT; p++) {
        if (!(mask & CT_PROFILE_BIT(p))) continue;
        json_t *doc = ct_profile_build((ct_profile)p, a);
        size_t n_ids;
        int *ids = ct_profile_ids((ct_profile)p, a, &n_ids);
        int rc = ct_profile_validate((ct_profile)p, doc, ids, n_ids, err);
        free(ids);
        if (rc == CT_OK) rc = write_json(dir, ct_profile_file((ct_profile)p), doc, err);
        json_decref(doc);
        if (rc != CT_OK) return rc;
    }
    return CT_OK;
}

int ct_profile_check_file(const char *dir, ct_profile p, ct_error *err)
{
    char *path = ct_xasprintf("%s/%s", dir, ct_profile_file(p));
    struct stat st;
    if (stat(path, &st) != 0) {
        int rc = ct_error_setf(err, CT_ENOTFOUND, path, -1, 0, "no such file");
        free(path);
        return rc;
    }
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    int rc;
    if (!doc) {
        rc = ct_error_setf(err, CT_EPARSE, path, je.position, je.line, "invalid JSON: %s", je.text);
    } else {
        rc = ct_profile_validate(p, doc, NULL, 0, err);
        if (rc != CT_OK && err) snprintf(err->path, sizeof err->path, "%s", path);
    }
    json_decref(doc);
    free(path);
    return rc;
}

static json_t *ref_json(const ct_source_ref *r)
{
    if (!r->path) return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "path", jstr(r->path));
    json_object_set_new(o, "line_start", json_integer(r->line_start > 0 ? r->line_start : 1));
    json_object_set_new(o, "line_end",
                        json_integer(r->line_end > 0     ? r->line_end
                                     : r->line_start > 0 ? r->line_start
                                                         : 1));
    json_object_set_new(o, "byte_start", json_integer((json_int_t)r->byte_start));
    json_object_set_new(o, "byte_end", json_integer((json_int_t)r->byte_end));
    return o;
}

int ct_profile_write_artifacts(const char *dir, const ct_trajectory *t, const ct_stage *stages,
                               size_t n_stages, const char *tree_md, ct_error *err)
{
    json_t *steps = json_array();
    for (size_t i = 0; i < t->n_steps; i++) {
        const ct_step *s = &t->steps[i];
        json_t *o = json_object();
        json_object_set_new(o, "step_id", json_integer(s->step_id));
        json_object_set_new(o, "action", jstr(s->action ? s->action : ""));
        json_object_set_new(o, "observation", s->observation ? jstr(s->observation) : json_null());
        json_object_set_new(o, "action_ref", ref_json(&s->src));
        json_object_set_new(o, "observation_ref",
                            ref_json(s->obs_src.path ? &s->obs_src : &s->src));
        if (s->thought) json_object_set_new(o, "thinking", jstr(s->thought));
        if (s->parallel_group)
            json_object_set_new(o, "parallel_group", json_integer(s->parallel_group));
        if (s->tool) json_object_set_new(o, "tool_type", jstr(s->tool));
        json_array_append_new(steps, o);
    }
    int rc = write_json(dir, "steps.json", steps, err);
    json_decref(steps);
    if (rc == CT_OK && t->task) {
        char *path = ct_xasprintf("%s/task.md", dir);
        ct_buf b = CT_BUF_INIT;
        ct_buf_puts(&b, t->task);
        if (!b.len || b.data[b.len - 1] != '\n') ct_buf_putc(&b, '\n');
        rc = ct_profile_write_atomic(path, b.data, b.len, err);
        ct_buf_free(&b);
        free(path);
    }
    if (rc == CT_OK) {
        json_t *sr = json_array();
        if (n_stages == 0 && t->n_steps)
            json_array_append_new(sr, json_pack("{s:i, s:i, s:i}", "stage", 1, "start_step_id", 1,
                                                "end_step_id", (int)t->n_steps));
        for (size_t i = 0; i < n_stages; i++)
            json_array_append_new(sr, json_pack("{s:i, s:i, s:i}", "stage", stages[i].stage_id,
                                                "start_step_id", stages[i].start_step_id,
                                                "end_step_id", stages[i].end_step_id));
        rc = write_json(dir, "stage_ranges.json", sr, err);
        json_decref(sr);
    }
    if (rc == CT_OK && tree_md) {
        char *path = ct_xasprintf("%s/tree.md", dir);
        rc = ct_profile_write_atomic(path, tree_md, strlen(tree_md), err);
        free(path);
    }
    return rc;
}

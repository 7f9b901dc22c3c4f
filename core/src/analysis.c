#include "ct/analysis.h"

#include "arena.h"
#include "ct/buf.h"

#include <stdlib.h>
#include <string.h>

static const char *const label_names[] = {"correct", "unuseful", "incorrect"};

const char *ct_label_name(ct_label_kind k)
{
    return (unsigned)k <= CT_LABEL_INCORRECT ? label_names[k] : "correct";
}

int ct_label_from_name(const char *name, ct_label_kind *out)
{
    for (int i = 0; name && i <= CT_LABEL_INCORRECT; i++)
        if (strcmp(name, label_names[i]) == 0) {
            *out = (ct_label_kind)i;
            return 0;
        }
    return -1;
}

static ct_analysis *alloc_analysis(size_t n_steps)
{
    ct_analysis *a = ct_xcalloc(1, sizeof *a);
    a->arena = ct_arena_new();
    a->n_labels = n_steps;
    a->labels = ct_arena_alloc(a->arena, (n_steps ? n_steps : 1) * sizeof *a->labels);
    for (size_t i = 0; i < n_steps; i++) {
        a->labels[i].step_id = (int)i + 1;
        a->labels[i].bench_step_id = (int)i + 1;
        a->labels[i].label = CT_LABEL_CORRECT;
        a->labels[i].deviation_type = "none";
        a->labels[i].impact_severity = "none";
        a->labels[i].reward = 0.5;
    }
    return a;
}

ct_analysis *ct_analysis_new(const ct_trajectory *t, const char *analyzer)
{
    ct_analysis *a = alloc_analysis(t ? t->n_steps : 0);
    if (t) {
        a->traj_id = ct_analysis_strdup(a, t->id);
        for (size_t i = 0; i < t->n_steps; i++)
            a->labels[i].bench_step_id = t->steps[i].bench_step_id;
    }
    a->analyzer = ct_analysis_strdup(a, analyzer ? analyzer : "heuristic");
    return a;
}

void ct_analysis_free(ct_analysis *a)
{
    if (!a) return;
    ct_arena_free(a->arena);
    free(a);
}

const char *ct_analysis_strdup(ct_analysis *a, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s);
    if (ct_utf8_valid(s, n)) return ct_arena_strndup(a->arena, s, n);
    char *fixed = ct_utf8_sanitize(s, n);
    const char *r = ct_arena_strndup(a->arena, fixed, strlen(fixed));
    free(fixed);
    return r;
}

void *ct_analysis_alloc(ct_analysis *a, size_t n)
{
    return ct_arena_alloc(a->arena, n);
}

int ct_analysis_set_label(ct_analysis *a, int step_id, ct_label_kind kind, const char *rule,
                          const char *reasoning, const int *evidence, size_t n_evidence)
{
    if (step_id < 1 || (size_t)step_id > a->n_labels) return -1;
    ct_step_label *l = &a->labels[step_id - 1];
    l->label = kind;
    l->rule = ct_analysis_strdup(a, rule);
    l->reasoning = ct_analysis_strdup(a, reasoning);
    l->n_evidence = 0;
    l->evidence = NULL;
    if (n_evidence) {
        l->evidence = ct_arena_alloc(a->arena, n_evidence * sizeof(int));
        memcpy(l->evidence, evidence, n_evidence * sizeof(int));
        l->n_evidence = n_evidence;
    }
    if (kind == CT_LABEL_CORRECT) {
        l->deviation_type = "none";
        l->impact_severity = "none";
        if (l->reward < 0) l->reward = 0.5;
    }
    return 0;
}

void ct_analysis_add_root_cause(ct_analysis *a, const char *text)
{
    const char **nr = ct_arena_alloc(a->arena, (a->n_root_cause + 1) * sizeof *nr);
    if (a->n_root_cause) memcpy(nr, a->root_cause_chain, a->n_root_cause * sizeof *nr);
    nr[a->n_root_cause++] = ct_analysis_strdup(a, text ? text : "");
    a->root_cause_chain = nr;
}

void ct_analysis_add_decision(ct_analysis *a, int step_id, const char *decision,
                              const char *should_have)
{
    ct_decision *nd = ct_arena_alloc(a->arena, (a->n_decisions + 1) * sizeof *nd);
    if (a->n_decisions) memcpy(nd, a->decisions, a->n_decisions * sizeof *nd);
    nd[a->n_decisions++] = (ct_decision){step_id, ct_analysis_strdup(a, decision ? decision : ""),
                                         ct_analysis_strdup(a, should_have ? should_have : "")};
    a->decisions = nd;
}

void ct_analysis_set_stages(ct_analysis *a, const ct_stage *stages, size_t n)
{
    a->stages = ct_arena_alloc(a->arena, (n ? n : 1) * sizeof *a->stages);
    for (size_t i = 0; i < n; i++) {
        a->stages[i] = stages[i];
        a->stages[i].name = ct_analysis_strdup(a, stages[i].name);
    }
    a->n_stages = n;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *ct_analysis_to_json(const ct_analysis *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "traj_id", str_or_null(a->traj_id));
    json_object_set_new(o, "analyzer", str_or_null(a->analyzer));
    json_object_set_new(o, "model", str_or_null(a->model));
    json_t *labels = json_array();
    for (size_t i = 0; i < a->n_labels; i++) {
        const ct_step_label *l = &a->labels[i];
        json_t *e = json_array();
        for (size_t k = 0; k < l->n_evidence; k++)
            json_array_append_new(e, json_integer(l->evidence[k]));
        json_t *lo =
            json_pack("{s:i, s:o, s:s, s:o, s:o, s:o}", "step_id", l->step_id, "bench_step_id",
                      l->bench_step_id > 0 ? json_integer(l->bench_step_id) : json_null(), "label",
                      ct_label_name(l->label), "rule", str_or_null(l->rule), "reasoning",
                      str_or_null(l->reasoning), "evidence", e);
        json_object_set_new(lo, "deviation_type", str_or_null(l->deviation_type));
        json_object_set_new(lo, "correct_alternative", str_or_null(l->correct_alternative));
        json_object_set_new(lo, "impact_severity", str_or_null(l->impact_severity));
        json_object_set_new(lo, "reward", json_real(l->reward));
        if (l->from_feedback) json_object_set_new(lo, "from_feedback", json_true());
        if (l->memory_note) json_object_set_new(lo, "memory_note", json_string(l->memory_note));
        json_array_append_new(labels, lo);
    }
    json_object_set_new(o, "labels", labels);
    json_t *stages = json_array();
    for (size_t i = 0; i < a->n_stages; i++)
        json_array_append_new(
            stages, json_pack("{s:i, s:i, s:i, s:o}", "stage_id", a->stages[i].stage_id,
                              "start_step_id", a->stages[i].start_step_id, "end_step_id",
                              a->stages[i].end_step_id, "name", str_or_null(a->stages[i].name)));
    json_object_set_new(o, "stages", stages);
    json_t *rc = json_array();
    for (size_t i = 0; i < a->n_root_cause; i++)
        json_array_append_new(rc, json_string(a->root_cause_chain[i]));
    json_object_set_new(o, "root_cause_chain", rc);
    json_t *cd = json_array();
    for (size_t i = 0; i < a->n_decisions; i++)
        json_array_append_new(cd, json_pack("{s:i, s:s, s:s}", "step_id", a->decisions[i].step_id,
                                            "decision", a->decisions[i].decision, "should_have",
                                            a->decisions[i].should_have));
    json_object_set_new(o, "critical_decision_points", cd);
    json_object_set_new(o, "correct_strategy",
                        json_string(a->correct_strategy ? a->correct_strategy : ""));
    json_object_set_new(o, "summary", json_string(a->summary ? a->summary : ""));
    json_object_set_new(o, "partial", json_boolean(a->partial));
    json_object_set_new(o, "stop_reason", str_or_null(a->stop_reason));
    json_object_set_new(o, "cost_usd", json_real(a->cost_usd));
    json_object_set_new(o, "tokens_in", json_integer(a->tokens_in));
    json_object_set_new(o, "tokens_out", json_integer(a->tokens_out));
    return o;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

ct_analysis *ct_analysis_from_json(json_t *j, ct_error *err)
{
    json_t *labels = json_object_get(j, "labels");
    if (!json_is_object(j) || !json_is_array(labels)) {
        ct_error_set(err, CT_EPARSE, "analysis JSON needs an object with a \"labels\" array");
        return NULL;
    }
    size_t n = json_array_size(labels);
    ct_analysis *a = alloc_analysis(n);
    a->traj_id = ct_analysis_strdup(a, jstr(j, "traj_id"));
    a->analyzer = ct_analysis_strdup(a, jstr(j, "analyzer"));
    a->model = ct_analysis_strdup(a, jstr(j, "model"));
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(labels, i);
        ct_label_kind k;
        if (!json_is_object(l) ||
            json_integer_value(json_object_get(l, "step_id")) != (json_int_t)i + 1 ||
            ct_label_from_name(jstr(l, "label"), &k) != 0) {
            ct_error_set(err, CT_EPARSE,
                         "analysis JSON: label %zu is malformed (step_id must be %zu)", i + 1,
                         i + 1);
            ct_analysis_free(a);
            return NULL;
        }
        json_t *ev = json_object_get(l, "evidence");
        size_t ne = json_is_array(ev) ? json_array_size(ev) : 0;
        int *evs = ne ? ct_xmalloc(ne * sizeof *evs) : NULL;
        for (size_t e = 0; e < ne; e++)
            evs[e] = (int)json_integer_value(json_array_get(ev, e));
        ct_analysis_set_label(a, (int)i + 1, k, jstr(l, "rule"), jstr(l, "reasoning"), evs, ne);
        free(evs);
        ct_step_label *sl = &a->labels[i];
        json_t *b = json_object_get(l, "bench_step_id");
        sl->bench_step_id = json_is_integer(b) ? (int)json_integer_value(b) : 0;
        if (jstr(l, "deviation_type"))
            sl->deviation_type = ct_analysis_strdup(a, jstr(l, "deviation_type"));
        sl->correct_alternative = ct_analysis_strdup(a, jstr(l, "correct_alternative"));
        if (jstr(l, "impact_severity"))
            sl->impact_severity = ct_analysis_strdup(a, jstr(l, "impact_severity"));
        if (json_is_number(json_object_get(l, "reward")))
            sl->reward = json_number_value(json_object_get(l, "reward"));
        sl->from_feedback = json_is_true(json_object_get(l, "from_feedback"));
        sl->memory_note = ct_analysis_strdup(a, jstr(l, "memory_note"));
    }
    json_t *st = json_object_get(j, "stages");
    size_t i;
    json_t *v;
    if (json_is_array(st)) {
        size_t ns = json_array_size(st);
        ct_stage *tmp = ct_xcalloc(ns ? ns : 1, sizeof *tmp);
        json_array_foreach(st, i, v)
        {
            tmp[i].stage_id = (int)json_integer_value(json_object_get(v, "stage_id"));
            tmp[i].start_step_id = (int)json_integer_value(json_object_get(v, "start_step_id"));
            tmp[i].end_step_id = (int)json_integer_value(json_object_get(v, "end_step_id"));
            tmp[i].name = jstr(v, "name");
        }
        ct_analysis_set_stages(a, tmp, ns);
        free(tmp);
    }
    json_array_foreach(json_object_get(j, "root_cause_chain"), i, v) if (json_is_string(v))
        ct_analysis_add_root_cause(a, json_string_value(v));
    json_array_foreach(json_object_get(j, "critical_decision_points"), i, v)
        ct_analysis_add_decision(a, (int)json_integer_value(json_object_get(v, "step_id")),
                                 jstr(v, "decision"), jstr(v, "should_have"));
    a->correct_strategy = ct_analysis_strdup(a, jstr(j, "correct_strategy"));
    a->summary = ct_analysis_strdup(a, jstr(j, "summary"));
    a->partial = json_is_true(json_object_get(j, "partial"));
    a->stop_reason = ct_analysis_strdup(a, jstr(j, "stop_reason"));
    a->cost_usd = json_number_value(json_object_get(j, "cost_usd"));
    a->tokens_in = json_integer_value(json_object_get(j, "tokens_in"));
    a->tokens_out = json_integer_value(json_object_get(j, "tokens_out"));
    return a;
}

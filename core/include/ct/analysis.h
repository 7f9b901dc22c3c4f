/* ct/analysis.h — the result of diagnosing a trajectory, whatever analyzer produced it.
 *
 * Ownership: a ct_analysis owns everything reachable from it (strings and arrays live in its
 * arena; free it all with ct_analysis_free). Functions returning json_t give a new reference.
 *
 * There is one ct_step_label per step, in step order (labels[i].step_id == i + 1), so "the label
 * of step N" is labels[N-1]; unlabelled steps are CT_LABEL_CORRECT with rule NULL. */
#ifndef CT_ANALYSIS_H
#define CT_ANALYSIS_H

#include "ct/error.h"
#include "ct/trajectory.h"

#include <jansson.h>

typedef enum {
    CT_LABEL_CORRECT = 0,
    CT_LABEL_UNUSEFUL = 1,
    CT_LABEL_INCORRECT = 2,
} ct_label_kind;

const char *ct_label_name(ct_label_kind k); /* "correct", "unuseful", "incorrect" */
/* Returns 0 and sets *out, or -1 for an unknown name. */
int ct_label_from_name(const char *name, ct_label_kind *out);

typedef struct ct_step_label {
    int step_id;
    int bench_step_id; /* copied from the step; 0 = not counted by CodeTraceBench */
    ct_label_kind label;
    const char *rule;      /* rule id ("repeat-command", ...) or "llm"; NULL for plain correct */
    const char *reasoning; /* one sentence a user can check */
    int *evidence;         /* step ids that support the label */
    size_t n_evidence;
    /* rl_feedback fields */
    /* wrong_tool, wrong_target, redundant, premature_conclusion, missing_exploration, none */
    const char *deviation_type;
    const char *correct_alternative;
    const char *impact_severity; /* critical|moderate|minor|none */
    double reward;               /* in [-1, 1] */
    int from_feedback;           /* 1 when a user's feedback set this label */
    const char *memory_note;     /* a memory entry that informed the label, NULL when none */
} ct_step_label;

typedef struct ct_stage {
    int stage_id; /* 1-based */
    int start_step_id;
    int end_step_id;  /* inclusive */
    const char *name; /* "orient", "locate", "change", "verify", ... or NULL */
} ct_stage;

typedef struct ct_decision {
    int step_id;
    const char *decision;
    const char *should_have;
} ct_decision;

typedef struct ct_arena ct_arena;

typedef struct ct_analysis {
    const char *traj_id;
    const char *analyzer; /* "heuristic", "llm", "hybrid" */
    const char *model;    /* LLM model, NULL for heuristic */
    ct_step_label *labels;
    size_t n_labels;
    ct_stage *stages;
    size_t n_stages;
    const char **root_cause_chain;
    size_t n_root_cause;
    ct_decision *decisions;
    size_t n_decisions;
    const char *correct_strategy;
    const char *summary;
    int partial;             /* 1 when the analysis stopped early; stop_reason says why */
    const char *stop_reason; /* NULL when complete */
    double cost_usd;
    long long tokens_in;
    long long tokens_out;
    double elapsed_ms;
    ct_arena *arena;
} ct_analysis;

/* A fresh analysis with one CT_LABEL_CORRECT label per step of t. */
ct_analysis *ct_analysis_new(const ct_trajectory *t, const char *analyzer);
void ct_analysis_free(ct_analysis *a);
const char *ct_analysis_strdup(ct_analysis *a, const char *s);
void *ct_analysis_alloc(ct_analysis *a, size_t n); /* zeroed, freed with the analysis */

/* Set step_id's label (rule, reasoning copied; evidence copied). Returns -1 when out of range. */
int ct_analysis_set_label(ct_analysis *a, int step_id, ct_label_kind kind, const char *rule,
                          const char *reasoning, const int *evidence, size_t n_evidence);
void ct_analysis_add_root_cause(ct_analysis *a, const char *text);
void ct_analysis_add_decision(ct_analysis *a, int step_id, const char *decision,
                              const char *should_have);
void ct_analysis_set_stages(ct_analysis *a, const ct_stage *stages, size_t n);

/* The `--json` object of `codetracer analyze` (labels + detailed fields). */
json_t *ct_analysis_to_json(const ct_analysis *a);
/* Inverse of ct_analysis_to_json (for the cache); NULL with err set when malformed. */
ct_analysis *ct_analysis_from_json(json_t *j, ct_error *err);

#endif

/* ct/profiles.h — the three output profiles of an analysis, their schemas, and writing them.
 *
 * Profiles (original-behaviour.md §10):
 *   tracebench  → codetracer_labels.json   array of {stage_id, incorrect_step_ids,
 *                 unuseful_step_ids, reasoning}; ids are bench_step_ids (CodeTraceBench
 *                 numbering), steps with bench_step_id 0 are left out.
 *   detailed    → codetracer_analysis.json object {root_cause_chain, critical_decision_points,
 *                 correct_strategy, stage_labels, summary}; ids are step_ids.
 *   rl_feedback → codetracer_rl_feedback.json array, one element per step {step_id, verdict,
 *                 deviation_type, correct_alternative, impact_severity, reasoning, reward_signal}.
 *
 * Every file is validated against its schema before it is written, and written atomically
 * (temporary file in the same directory, then rename).
 *
 * Ownership: functions returning json_t give a new reference; documents passed in are borrowed.
 * Strings returned by ct_profile_name / ct_profile_file are static. */
#ifndef CT_PROFILES_H
#define CT_PROFILES_H

#include "ct/analysis.h"
#include "ct/error.h"
#include "ct/trajectory.h"

#include <jansson.h>
#include <stddef.h>

typedef enum {
    CT_PROFILE_TRACEBENCH = 0,
    CT_PROFILE_DETAILED = 1,
    CT_PROFILE_RL_FEEDBACK = 2,
    CT_PROFILE__COUNT
} ct_profile;

/* Bit for profile p in a profile mask. */
#define CT_PROFILE_BIT(p) (1u << (unsigned)(p))
#define CT_PROFILE_ALL 7u

const char *ct_profile_name(ct_profile p); /* "tracebench", "detailed", "rl_feedback" */
const char *ct_profile_file(ct_profile p); /* "codetracer_labels.json", ... */
/* Returns 0 and sets *out, or -1 for an unknown name. */
int ct_profile_from_name(const char *name, ct_profile *out);
/* Parse "detailed", "tracebench,rl_feedback" or "all" into a mask; -1 on an unknown name. */
int ct_profile_parse_mask(const char *list, unsigned *mask);

/* The document of profile p for analysis a (new reference). Labels of correct steps get
 * deviation "none" / severity "none" / a reward in [0,1]; labelled steps a negative reward when
 * the analyzer left a non-negative one. */
json_t *ct_profile_build(ct_profile p, const ct_analysis *a);

/* The step ids a file of profile p may mention for analysis a: bench_step_ids (non-zero) for
 * tracebench, step_ids otherwise. Returns a malloc'ed array (caller frees) and its size. */
int *ct_profile_ids(ct_profile p, const ct_analysis *a, size_t *n);

/* Validate doc against the schema of profile p. When ids is not NULL, every step id must be one
 * of ids[0..n_ids) and (rl_feedback) every id must have exactly one element. Step ids may never
 * repeat (within a stage list, across stages, or in rl_feedback). Returns CT_OK or CT_ESCHEMA
 * with err naming the JSON path of the first problem (e.g. "[2].reward_signal"). */
int ct_profile_validate(ct_profile p, const json_t *doc, const int *ids, size_t n_ids,
                        ct_error *err);

/* Write data to path atomically (path.tmp.<pid> in the same directory, then rename; readers and
 * a killed writer never see a partial file; not fsync'ed). */
int ct_profile_write_atomic(const char *path, const char *data, size_t len, ct_error *err);

/* Build, validate and atomically write every profile in mask into dir (which must exist).
 * Pretty-printed UTF-8 with a final newline. */
int ct_profile_write(const char *dir, unsigned mask, const ct_analysis *a, ct_error *err);

/* Read and validate an existing profile file in dir (ids NULL: schema only). CT_ENOTFOUND when
 * the file is absent. */
int ct_profile_check_file(const char *dir, ct_profile p, ct_error *err);

/* The reference's derived artifacts in dir: steps.json (its normalized-steps shape), task.md
 * (when the task is known), stage_ranges.json ([{stage, start_step_id, end_step_id}] from
 * stages; one stage 1..N when n_stages is 0) and tree.md (when tree_md is not NULL). Always
 * rewritten, never "only if absent". */
int ct_profile_write_artifacts(const char *dir, const ct_trajectory *t, const ct_stage *stages,
                               size_t n_stages, const char *tree_md, ct_error *err);

#endif

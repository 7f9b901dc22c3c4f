/* ct/eval.h — CodeTraceBench scoring of predicted step labels against a gold manifest, and the
 * JSONL manifest reader shared with the batch runner.
 *
 * Scoring (docs/analysis.md has the full definitions):
 *   - per trajectory, step-level precision / recall / F1 of the incorrect step ids (the union
 *     over stages) and, separately, of the unuseful step ids; ids compared as integers;
 *   - empty-set convention: gold and prediction both empty → P = R = F1 = 1; exactly one of them
 *     empty → P = R = F1 = 0;
 *   - macro average = mean of the per-trajectory figures; micro = from the summed TP/FP/FN;
 *   - Cohen's kappa over every step of the trajectories whose step count is known (manifest
 *     `step_count` or `steps_total`), 3 classes (incorrect wins over unuseful when a step is in
 *     both lists), with gold and prediction ids outside 1..step_count reported and not counted;
 *   - the same figures per agent and per model.
 *
 * Gold: `incorrect_stages[*].incorrect_step_ids/unuseful_step_ids`, else top-level
 * `incorrect_step_ids` / `unuseful_step_ids`. Prediction: PRED/<traj_id>/codetracer_labels.json
 * (tracebench array, bench numbering) or codetracer_analysis.json (`stage_labels`, step
 * numbering); the file matching the numbering is preferred, the other used with a note.
 *
 * Ownership: *out / *rows are new references the caller releases with json_decref. */
#ifndef CT_EVAL_H
#define CT_EVAL_H

#include "ct/error.h"

#include <jansson.h>

/* Limits for manifests (untrusted input). */
#define CT_MANIFEST_MAX_BYTES (512LL * 1024 * 1024)
#define CT_MANIFEST_MAX_ROWS 1000000

typedef enum {
    CT_NUMBERING_AUTO = 0, /* per row: its "numbering" field ("step_id" → step), else bench */
    CT_NUMBERING_STEP = 1,
    CT_NUMBERING_BENCH = 2,
} ct_numbering;

/* Read a JSONL manifest: one object per non-blank line, each with a non-empty string
 * "traj_id" made of [A-Za-z0-9._-] (it names an output folder) and unique in the file. *rows is
 * an array of the objects. Errors name the line. */
int ct_eval_read_manifest(const char *path, json_t **rows, ct_error *err);

/* Score the predictions in pred_dir against the gold manifest. *out is the report:
 *   {"numbering", "n_trajectories", "n_missing_predictions", "overall": GROUP,
 *    "by_agent": {name: GROUP}, "by_model": {name: GROUP}, "trajectories": [PER_TRAJ]}
 * GROUP = {"n", "incorrect": {"macro": {p,r,f1}, "micro": {p,r,f1,tp,fp,fn}}, "unuseful": {...},
 *          "kappa": number|null, "kappa_steps": n}
 * PER_TRAJ = {"traj_id", "agent", "model", "step_count", "pred_file", "missing_prediction",
 *             "incorrect": {p,r,f1,tp,fp,fn}, "unuseful": {...}, "gold_out_of_range": [ids],
 *             "pred_out_of_range": [ids], "notes": [strings]} */
int ct_eval_run(const char *manifest, const char *pred_dir, ct_numbering numbering, json_t **out,
                ct_error *err);

#endif

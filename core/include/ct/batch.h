/* ct/batch.h — analysing one trajectory into an output folder, and the batch runner over a
 * CodeTraceBench-style JSONL manifest (`codetracer batch`, `codetracer-batch`).
 *
 * Batch items run in child processes (fork), at most `parallel` at a time, each with a wall-clock
 * timeout after which the child is killed (SIGKILL). A child only ever sees the item's traj_id and
 * resolved input path (plus `record` / `source_file` to pick the trajectory): the gold labels of
 * the manifest row never reach the analysis.
 *
 * Output layout: <output>/<traj_id>/ with the profile files and the artifacts (steps.json, task.md,
 * stage_ranges.json, tree.md); <output>/_logs/<traj_id>.log with the item's messages.
 *
 * Ownership: options and strings are borrowed; ct_batch_run keeps no pointer after it returns. */
#ifndef CT_BATCH_H
#define CT_BATCH_H

#include "ct/analysis.h"
#include "ct/error.h"
#include "ct/trajectory.h"

#include <jansson.h>
#include <stdio.h>

/* Analyse t with `analyzer` ("heuristic"; other names fail with CT_EINVAL) using config (may be
 * NULL), then write the profiles in `profiles` (a CT_PROFILE_BIT mask) into dir, and the
 * artifacts too when `artifacts` is set. dir must exist. *out (may be NULL) receives the
 * analysis (caller frees). */
int ct_batch_analyze_one(const ct_trajectory *t, const char *analyzer, const json_t *config,
                         const char *dir, unsigned profiles, int artifacts, ct_analysis **out,
                         ct_error *err);

typedef struct ct_batch_opts {
    const char *manifest;  /* JSONL, required */
    const char *output;    /* output root, required (created) */
    const char *data_root; /* resolve relative paths here (NULL: the manifest's folder) */
    int parallel;          /* worker processes, >= 1 */
    int resume;            /* skip items whose outputs exist and validate */
    int shard_k, shard_n;  /* take items with index % shard_n == shard_k (0-based); n 0 = all */
    int dry_run;           /* resolve and list items, analyse nothing */
    double timeout_s;      /* per item; <= 0 = none */
    unsigned profiles;     /* CT_PROFILE_BIT mask to write */
    const json_t *config;  /* analysis configuration (may be NULL) */
    FILE *progress;        /* where item lines / the progress bar go (NULL: stdout) */
    int progress_bar;      /* 1: redraw one bar line (a TTY), 0: one line per item */
} ct_batch_opts;

typedef struct ct_batch_summary {
    size_t rows;                           /* rows in the manifest */
    size_t selected;                       /* rows in this shard */
    size_t ok, skipped, failed, timed_out; /* timed_out items are also counted in failed */
    double elapsed_s;
} ct_batch_summary;

/* Run the batch. Returns CT_OK when the batch itself could run (items may still have failed:
 * see summary->failed), or an error for a bad manifest / output folder / options. */
int ct_batch_run(const ct_batch_opts *o, ct_batch_summary *summary, ct_error *err);

#endif

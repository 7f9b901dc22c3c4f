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

#include "ct/agent.h"
#include "ct/analysis.h"
#include "ct/error.h"
#include "ct/memory.h"
#include "ct/trajectory.h"

#include <jansson.h>
#include <stdio.h>

/* Analyse t with `analyzer` ("heuristic", "llm" or "hybrid"; others fail with CT_EINVAL; the LLM
 * ones need an endpoint in config's llm section, docs/llm.md) using config (may be
 * NULL), then write the profiles in `profiles` (a CT_PROFILE_BIT mask) into dir, and the
 * artifacts too when `artifacts` is set. dir must exist. *out (may be NULL) receives the
 * analysis (caller frees). */
int ct_batch_analyze_one(const ct_trajectory *t, const char *analyzer, const json_t *config,
                         const char *dir, unsigned profiles, int artifacts, ct_analysis **out,
                         ct_error *err);

/* How one analysis uses the memory database (ct/memory.h). The caller owns the handle. */
typedef struct ct_batch_memory {
    ct_memory *mem;         /* an open handle; NULL = no memory (plain ct_batch_analyze_one) */
    int no_cache;           /* 1: never serve from the cache (the fresh result still replaces it) */
    ct_memory_warn_fn warn; /* told about every memory failure (may be NULL); none is fatal */
    void *warn_ud;
    ct_agent_event_fn agent_event; /* progress of the LLM agent (llm / hybrid), may be NULL */
    void *agent_ud;
    int cached;     /* out: 1 when the analysis was served from the cache */
    int n_feedback; /* out: labels overridden by the user's feedback */
} ct_batch_memory;

/* The part of the cache key that stands for the settings: SHA-256 (hex) of the codetracer version
 * and of the configuration sections that change what `analyzer` finds, as compact JSON with
 * sorted keys: `heuristic:` for the heuristic; `llm:` (secrets redacted) and `trace:` for llm, and
 * `heuristic:` too for hybrid. The build's analyzer code is keyed by the cache (CT_ANALYZER_ID). */
void ct_batch_config_hash(const char *analyzer, const json_t *config, char out[65]);

/* ct_batch_analyze_one with memory: when m->mem holds an analysis of t's content under
 * (ct_traj_hash, analyzer, model NULL, profile NULL, ct_batch_config_hash) and m->no_cache is 0,
 * that analysis is used (m->cached = 1); otherwise t is analysed, the result is stored under that
 * key, and, unless an entry already existed, ct_memory_learn_from_analysis records its rule
 * patterns. The profile part of the key is NULL ("detailed") whatever `profiles` says: the
 * heuristic's analysis does not depend on the profiles written from it. Then the user's feedback on
 * t overrides labels (ct_memory_feedback_apply) before the files are written, so the profiles carry
 * it. The output is the same whether it came from the cache or not. m NULL or m->mem NULL = no
 * memory. For "llm" and "hybrid" (ct_agent_analyze) the key's model is llm.model_name, the agent
 * reads and writes memory insights itself, its conversation is saved as `<profile stem>.traj.json`
 * in dir, m->agent_event gets its progress, and a partial result is written but not cached. */
int ct_batch_analyze_mem(const ct_trajectory *t, const char *analyzer, const json_t *config,
                         ct_batch_memory *m, const char *dir, unsigned profiles, int artifacts,
                         ct_analysis **out, ct_error *err);

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
    int use_memory;        /* 1: each worker opens the memory database `db` (0: no memory) */
    const char *db;        /* database path; NULL = ct_memory_default_path() */
    int no_cache;          /* with use_memory: never serve an item from the cache */
} ct_batch_opts;

typedef struct ct_batch_summary {
    size_t rows;                           /* rows in the manifest */
    size_t selected;                       /* rows in this shard */
    size_t ok, skipped, failed, timed_out; /* timed_out items are also counted in failed */
    double elapsed_s;
    size_t cached; /* ok items served from the memory cache */
} ct_batch_summary;

/* Run the batch. Returns CT_OK when the batch itself could run (items may still have failed:
 * see summary->failed), or an error for a bad manifest / output folder / options. */
int ct_batch_run(const ct_batch_opts *o, ct_batch_summary *summary, ct_error *err);

#endif

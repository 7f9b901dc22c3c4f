/* ct/memory.h — the product's memory in one SQLite database: the analysis cache, user feedback
 * on labels, and short cross-trajectory insights.
 *
 * Ownership: a ct_memory handle is opened by ct_memory_open and closed by ct_memory_close; use
 * it from one thread at a time (open one handle per thread). Everything a function returns
 * through an `out` pointer belongs to the caller: analyses are freed with ct_analysis_free,
 * insight arrays with ct_memory_insights_free, strings with free().
 *
 * Failure policy: memory is never required. Every function returns CT_OK or a negative CT_E*
 * code with `err` filled (CT_EDB for database failures, CT_ENOTFOUND for a cache miss or an
 * unknown id). ct_memory_open_or_warn is the one-liner for callers that must keep working
 * without memory: it warns once and returns NULL, and every function here accepts a NULL handle
 * by returning CT_EDB without touching anything.
 *
 * Concurrency: the database is in WAL mode with a busy timeout, and every write is one
 * BEGIN IMMEDIATE transaction, so the daemon, the CLI and a parallel batch may write at once
 * without losing updates. The database stores hashes, labels, notes and insights; never API
 * keys and never a trajectory's text. */
#ifndef CT_MEMORY_H
#define CT_MEMORY_H

#include "ct/analysis.h"
#include "ct/error.h"
#include "ct/trajectory.h"

#include <stddef.h>

/* The schema version this build writes (PRAGMA user_version). */
#define CT_MEMORY_SCHEMA_VERSION 2

/* Limits on what callers may store. */
#define CT_MEMORY_MAX_INSIGHT_CHARS 1000       /* longer insight texts are refused (CT_ELIMIT) */
#define CT_MEMORY_MAX_NOTE_CHARS 4000          /* longer feedback notes are refused */
#define CT_MEMORY_MAX_RESULT_BYTES (64u << 20) /* a cached analysis JSON above this is refused */
#define CT_MEMORY_MAX_INSIGHTS 100000          /* beyond this the least recently used are evicted */

typedef struct ct_memory ct_memory;

/* The database path used when none is given: $CODETRACER_DB, else
 * $XDG_DATA_HOME/codetracer/codetracer.db, else $HOME/.local/share/codetracer/codetracer.db.
 * Returns a malloc'd string, or NULL when neither HOME nor XDG_DATA_HOME is set. */
char *ct_memory_default_path(void);

/* Open (creating the file and its parent directory when missing) and upgrade the schema.
 * `path` NULL → ct_memory_default_path(). Refuses with CT_EDB and a clear message: a file that
 * is not a SQLite database or belongs to another program, a schema newer than this build, a
 * location that cannot be written. */
int ct_memory_open(const char *path, ct_memory **out, ct_error *err);
void ct_memory_close(ct_memory *m);
/* The path the handle was opened with. */
const char *ct_memory_path(const ct_memory *m);

typedef void (*ct_memory_warn_fn)(void *ud, const ct_error *err);
/* ct_memory_open, but on failure: call warn(ud, err) unless *warned is already set (then set
 * it; `warned` may be NULL to always warn), and return NULL so the caller works without memory. */
ct_memory *ct_memory_open_or_warn(const char *path, ct_memory_warn_fn warn, void *ud, int *warned);

/* ---- hashes ---------------------------------------------------------------------------- */

/* SHA-256 of the trajectory's normalized content — task, agent, model and each step's kind,
 * tool, action, thought, observation, exit code and file touches — not of its path or format
 * version. Writes 64 lowercase hex digits and a NUL. Same content → same hash. */
void ct_traj_hash(const ct_trajectory *t, char out[65]);
/* SHA-256 of n bytes, as hex (for config hashes). */
void ct_memory_hash_bytes(const void *data, size_t n, char out[65]);

/* ---- analysis cache -------------------------------------------------------------------- */

typedef struct ct_memory_key {
    const char *traj_hash;   /* ct_traj_hash of the trajectory (required) */
    const char *analyzer;    /* "heuristic", "llm", "hybrid" (required) */
    const char *model;       /* LLM model, NULL for none */
    const char *profile;     /* output profile, NULL for "detailed" */
    const char *config_hash; /* hash of the settings that change the result, NULL for none */
} ct_memory_key;

/* Remember a trajectory's identity (id, agent, model, format, step count, outcome) under its
 * hash, for export and `memory show`. Called by ct_memory_cache_put and the feedback verb. */
int ct_memory_remember_traj(ct_memory *m, const ct_trajectory *t, const char *traj_hash,
                            ct_error *err);
/* CT_OK and a new analysis in *out (elapsed_ms, cost and tokens as stored), or CT_ENOTFOUND.
 * The stored traj_id is the id the analysis was made under; callers set their own. */
int ct_memory_cache_get(ct_memory *m, const ct_memory_key *key, ct_analysis **out, ct_error *err);
/* Store (replace) the analysis under key; `t` (may be NULL) is remembered too. Store the
 * analyzer's own result, before ct_memory_feedback_apply: feedback is applied on every read. */
int ct_memory_cache_put(ct_memory *m, const ct_memory_key *key, const ct_trajectory *t,
                        const ct_analysis *a, ct_error *err);
/* Drop cached analyses: of one trajectory, or all when traj_hash is NULL. *n_out = rows. */
int ct_memory_cache_forget(ct_memory *m, const char *traj_hash, long long *n_out, ct_error *err);

/* ---- feedback -------------------------------------------------------------------------- */

/* Record that step_id of the trajectory is `label` (note may be NULL). Replaces an earlier
 * verdict on the same step. CT_EINVAL when step_id is out of range of a remembered trajectory. */
int ct_memory_feedback_set(ct_memory *m, const char *traj_hash, int step_id, ct_label_kind label,
                           const char *note, ct_error *err);
/* Remove feedback on one step, or on every step when step_id is 0. *n_out = rows removed. */
int ct_memory_feedback_forget(ct_memory *m, const char *traj_hash, int step_id, long long *n_out,
                              ct_error *err);
/* Override a's labels with the feedback on traj_hash: label, rule "feedback", reasoning = the
 * note (or a sentence saying who set it), from_feedback = 1. Returns the number of labels
 * overridden (>= 0), or a negative code. */
int ct_memory_feedback_apply(ct_memory *m, const char *traj_hash, ct_analysis *a, ct_error *err);
/* Every trajectory with feedback as one JSON object per line, in the CodeTraceBench manifest
 * shape (traj_id, traj_hash, agent, model, format, solved, step_count, numbering,
 * incorrect_step_ids, unuseful_step_ids, incorrect_stages[...], reasons, ...). With
 * merge_analysis, steps without feedback take the label of the newest cached analysis.
 * Returns a malloc'd string in *out ("" when there is no feedback). */
int ct_memory_export(ct_memory *m, int merge_analysis, char **out, size_t *n_rows, ct_error *err);

/* ---- cross-trajectory insights --------------------------------------------------------- */

typedef enum {
    CT_INSIGHT_FAILURE_PATTERN = 0,
    CT_INSIGHT_STRATEGY = 1,
    CT_INSIGHT_PITFALL = 2,
} ct_insight_kind;

const char *ct_insight_kind_name(ct_insight_kind k); /* "failure_pattern", "strategy", "pitfall" */
int ct_insight_kind_from_name(const char *name, ct_insight_kind *out); /* 0, or -1 unknown */

typedef struct ct_insight {
    long long id;
    ct_insight_kind kind;
    char *agent; /* "" = any agent */
    char *model; /* "" = any model */
    char *text;
    long long use_count;  /* times it was retrieved */
    long long hits;       /* times it was added or confirmed (duplicates merge into it) */
    long long created_at; /* unix seconds */
    long long updated_at;
    long long last_used_at; /* 0 = never retrieved */
    double score;           /* bm25 rank from a search (lower is better), 0 otherwise */
    char **sources;         /* trajectory hashes it was learnt from (ct_memory_insight_get only) */
    size_t n_sources;
} ct_insight;

void ct_memory_insights_free(ct_insight *v, size_t n);

/* Add an insight scoped by agent and model (NULL or "" = any). A near-identical entry of the
 * same kind and scope (same normalised text, or token sets with Jaccard similarity >= 0.8) is
 * merged instead: its hits grow and source_hash (may be NULL) joins its sources. *id_out (may
 * be NULL) gets the entry's id, *merged (may be NULL) 1 when merged. */
int ct_memory_insight_add(ct_memory *m, ct_insight_kind kind, const char *agent, const char *model,
                          const char *text, const char *source_hash, long long *id_out, int *merged,
                          ct_error *err);
/* Ranked retrieval: FTS5 bm25 of `query` (free text; words are OR'ed), restricted to entries
 * whose scope matches agent and model (an entry for "any" always matches; a NULL argument
 * matches every scope). Returns at most max_items entries whose texts together fit in
 * char_budget characters (0 = no budget), best first, and bumps their use counts unless
 * no_bump. An empty query returns the most used entries. */
int ct_memory_insight_search(ct_memory *m, const char *query, const char *agent, const char *model,
                             size_t max_items, size_t char_budget, int no_bump, ct_insight **out,
                             size_t *n, ct_error *err);
/* Entries filtered by kind (-1 = any), agent, model (NULL = any), newest first, at most limit
 * (0 = 1000). */
int ct_memory_insight_list(ct_memory *m, int kind, const char *agent, const char *model,
                           size_t limit, ct_insight **out, size_t *n, ct_error *err);
/* One entry with its sources in *out (free with ct_memory_insights_free(out, 1)). */
int ct_memory_insight_get(ct_memory *m, long long id, ct_insight **out, ct_error *err);
int ct_memory_insight_forget(ct_memory *m, long long id, ct_error *err);

/* The text an agent prompt can include: one "- [kind] text" line per entry. malloc'd. */
char *ct_memory_insights_format(const ct_insight *v, size_t n);
/* A retrieval query for a trajectory: its task and, when given, the analysis summary and root
 * causes, cut to a bounded length. malloc'd. */
char *ct_memory_query_for(const ct_trajectory *t, const ct_analysis *a);

/* Turn an analysis into insights: for each rule that labelled steps (not from feedback), one
 * failure_pattern entry scoped to the trajectory's agent and model, e.g. "mini-SWE-agent:
 * steps flagged unuseful by rule 'repeat-command'". Repeats across trajectories merge into the
 * same entry, so its hits count the runs that showed the pattern. *n_added (may be NULL) gets
 * the number of entries written or merged. */
int ct_memory_learn_from_analysis(ct_memory *m, const ct_trajectory *t, const ct_analysis *a,
                                  size_t *n_added, ct_error *err);

/* The other way round: for each rule that labelled steps of a (the first step per rule and
 * label), look up the failure_pattern entry learn_from_analysis keeps for t's agent and model;
 * when other trajectories showed the same pattern, set that label's memory_note (e.g. "memory
 * entry #12: rule 'repeat-command' labelled steps unuseful in 3 other runs of mini-SWE-agent")
 * so a reader sees the label is a known habit of this agent. Labels are not changed. Returns
 * the number of notes set, or a negative CT_E* code. */
int ct_memory_annotate_analysis(ct_memory *m, const ct_trajectory *t, ct_analysis *a,
                                ct_error *err);

/* After a user's verdict on step_id of t: when the newest cached analysis gave that step another
 * label through a rule, add a pitfall entry ("rule R labelled a step X that a user marked Y")
 * scoped to the agent and model, so the analyzer and the LLM agent learn which rules misfire.
 * *learned (may be NULL) is 1 when an entry was written or merged. */
int ct_memory_learn_from_feedback(ct_memory *m, const ct_trajectory *t, int step_id,
                                  ct_label_kind label, int *learned, ct_error *err);

/* ---- statistics ------------------------------------------------------------------------ */

typedef struct ct_memory_stats {
    int schema_version;
    long long trajectories, analyses, feedback, insights;
    long long insights_by_kind[3];
    long long bytes; /* database file size (page_count * page_size) */
} ct_memory_stats;

int ct_memory_stats_get(ct_memory *m, ct_memory_stats *out, ct_error *err);

#endif

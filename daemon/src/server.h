/* server.h — the daemon's shared state and the functions its handler files share (internal).
 *
 * Threads: everything here lives on the loop thread, except a job's inputs (immutable while it
 * runs), its `cancelled`/`stage` atomics and its outputs, which the worker thread fills before
 * the loop thread reads them in the job's after-work callback.
 *
 * Ownership: the server owns its documents, jobs and results. A textblob is reference-counted
 * (on the loop thread only): a document, a running job and an installed result may share one. */
#ifndef CTD_SERVER_H
#define CTD_SERVER_H

#include "ct/analysis.h"
#include "ct/load.h"
#include "ctp/frame.h"
#include "ctp/lsp.h"
#include "ctp/pos.h"
#include "ctp/rpc.h"

#include <jansson.h>
#include <stdatomic.h>
#include <uv.h>

typedef struct textblob {
    int refs;
    size_t len;
    char data[]; /* NUL-terminated */
} textblob;

textblob *blob_new(const char *s, size_t n);
textblob *blob_ref(textblob *b);
void blob_unref(textblob *b);

typedef struct ct_settings {
    char analyzer[32];
    int sev_incorrect; /* 1..4 */
    int sev_unuseful;
    int auto_analyze;
    size_t max_message;
    size_t max_document;
    int debounce_ms;
    size_t progress_min; /* show $/progress for documents at least this large */
    char docs_url[1024];
    char memory_db[1024]; /* "" → ct_memory_default_path() */
    int use_feedback;     /* apply the user's label feedback from memory to analyses */
    int use_cache;        /* look up / store analyses in the memory database's cache */
    int create_db;        /* 1: analyzing a document may create the database (default 0) */
} ct_settings;

/* Positions (in encoding enc) of the byte offsets off[0..n), sorted: the ends of every step
 * range of a document result, converted once on the worker thread (analyze.c). */
typedef struct ct_pos_memo {
    size_t *off;
    ct_lsp_pos *pos;
    size_t n;
    ct_pos_enc enc;
} ct_pos_memo;

/* A step's range found by jsonranges.c: bytes [a, b) of its file; b == 0: the loader's span. */
typedef struct ct_step_range {
    size_t a, b;
} ct_step_range;

/* The analysis of one source: a document version, or a path given to codetracer.analyze. */
typedef struct ct_result {
    textblob *text; /* document text the ranges refer to (NULL for a path) */
    ct_text lines;
    char *path; /* document path or analyzed path */
    ct_traj_list trajs;
    ct_analysis **an; /* one per trajectory */
    json_t *diags;    /* object: uri → array of diagnostics */
    int version;
    size_t n_skipped; /* labelled steps that could not be placed on a file */
    size_t n_cached;  /* trajectories whose analysis came from the memory cache */
    int ext_view;     /* a borrowed view of a path result on one of its files (never freed) */
    double ms_load, ms_analyze, ms_place;
    /* Per trajectory, per step: the range from tree-sitter-json (JSON/JSONL files), in the
     * document text or, for a path result, in the step's own file. NULL: loaders' spans only. */
    ct_step_range **ranges;
    size_t n_ranged, n_range_fallback; /* steps placed from the tree / kept the loader's span */
    double ms_ranges;                  /* parsing (alongside the load and analysis) and matching */
    double ms_ranges_wait; /* how long placing waited for that parse (part of ms_place) */
    ct_pos_memo memo;      /* positions of the step ranges' ends (document results) */
} ct_result;

void result_free(ct_result *r);

typedef struct ct_doc ct_doc;
typedef struct ct_server ct_server;

typedef struct ct_job {
    uv_work_t work;
    ct_server *srv;
    struct ct_job *next;
    ct_doc *doc; /* NULL for a path job, or once the document closed */
    /* inputs */
    textblob *text; /* document text, NULL for a path job */
    char *path;     /* document path or the path to analyze */
    char *uri;      /* document URI (NULL for a path job) */
    int version;
    ct_pos_enc enc;
    ct_lsp_diag_opts opts;
    char analyzer[32];
    char docs_url[1024];
    char memory_db[1024];
    int use_feedback;
    int use_cache;
    int create_db;
    int no_memory; /* the database failed before: work without it */
    /* control */
    atomic_int cancelled; /* set by the loop thread: stop as soon as possible */
    atomic_int stage;     /* 0 queued, 1 loading, 2 analyzing, 3 placing diagnostics */
    int superseded;       /* cancelled because a newer version replaces it */
    int user_cancelled;   /* cancelled by $/cancelRequest or codetracer.clear */
    json_t *req_id;       /* the request answered when the job ends, or NULL */
    char *progress_token;
    int progress_begun;
    int stage_sent;
    uint64_t t0;
    /* outputs */
    int rc;
    ct_error err;
    ct_result *res;
    int mem_failed; /* the memory database could not be used; mem_err says why */
    ct_error mem_err;
    /* diagnostics remembered for this exact text and settings (analyze.c "memo"): published by
     * the loop thread before the analysis ends; the analysis then publishes its own */
    json_t *early;
    int memo_lookup; /* 1: first analysis of an opened document (not a re-analysis) */
    atomic_int early_ready;
    int early_sent;
    struct llm_job *llm; /* llm.c: the LLM analysis this job runs for (own thread), or NULL */
} ct_job;

struct ct_doc {
    ct_doc *next;
    char *uri;
    char *path; /* file path of the URI (or the URI itself when it is not file://) */
    int version;
    textblob *text;
    ct_result *res;      /* the installed analysis (may be of an older version) */
    ct_job *job;         /* running analysis */
    int rerun;           /* analyze again when `job` ends */
    json_t *pending_req; /* an analyze request to answer with the next analysis */
    uv_timer_t *timer;   /* debounce after didChange */
    struct src_doc *src; /* sources.c: the document's tree-sitter tree (one per version) */
};

typedef struct ext_result {
    struct ext_result *next;
    ct_result *res;
} ext_result;

struct ct_server {
    uv_loop_t *loop;
    uv_stream_t *in; /* stdin as a pipe or tty, or NULL when it is a file */
    uv_fs_t in_req;  /* stdin as a file */
    char in_buf[65536];
    int in_file;
    uv_async_t wake; /* workers → loop: a job changed stage */
    int wake_open;
    ct_frame_reader rd;
    int initialize_seen; /* initialize received (logMessage allowed) */
    int initialized;     /* initialize answered */
    int shutdown;
    int exiting;
    int out_broken;
    int exit_code;
    ct_pos_enc enc;
    int cap_progress, cap_show_doc, cap_config, cap_related;
    ct_settings set;
    ct_doc *docs;
    ct_job *jobs;
    ext_result *ext;
    json_t *published;     /* object: uri → true for every URI with diagnostics shown */
    json_t *outgoing;      /* object: id → purpose of a request we sent */
    json_t *progress_late; /* object: token → {title, end} of jobs that ended before the client
                            * answered window/workDoneProgress/create (jobs.c) */
    long long next_out_id;
    long long next_token;
    struct ct_memory *mem;   /* opened by the first codetracer.feedback (loop thread only) */
    int mem_broken;          /* the database failed once (warned): analyses go on without it */
    struct ext_file *xfiles; /* files of analyzed paths read for hovers/symbols (small cache) */
    /* sources.c: diagnostics on the source files the agent edited */
    char *ws_root;     /* workspace folder (rootUri / workspaceFolders[0]), NULL = none */
    json_t *src_maps;  /* pathMappings: array of {from, to} */
    int src_show_all;  /* showAllEdits */
    json_t *src_diags; /* uri → diagnostics published on that source file */
    json_t *src_info;  /* uri → what a hover on each edited range tells */
    /* sources.c: refresh generation, placement on the thread pool, targets */
    struct src_state *src_st;
    struct llm_state *llm; /* llm.c: LLM settings, jobs, the curl multi handle (NULL = none) */
};

/* ---- server.c: output, logging, lifecycle ---- */
void srv_send(ct_server *s, json_t *msg_new);
void srv_reply(ct_server *s, json_t *id, json_t *result_new);
void srv_reply_error(ct_server *s, json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void srv_notify(ct_server *s, const char *method, json_t *params_new);
/* Send a request to the client; `purpose` is remembered for its response. */
void srv_request(ct_server *s, const char *method, json_t *params_new, const char *purpose);
/* level: 1 error, 2 warning, 3 info, 4 log. To stderr, and window/logMessage once allowed. */
void srv_log(ct_server *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* window/showMessage (and the log). */
void srv_show(ct_server *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void srv_begin_exit(ct_server *s);

/* ---- lifecycle.c ---- */
void settings_defaults(ct_settings *set);
/* Apply a settings object ({codetracer:{...}} or the section itself); warns about bad values. */
void settings_apply(ct_server *s, json_t *obj);
void h_initialize(ct_server *s, ct_rpc_msg *m);
void h_initialized(ct_server *s, ct_rpc_msg *m);
void h_shutdown(ct_server *s, ct_rpc_msg *m);
void h_exit(ct_server *s, ct_rpc_msg *m);
void h_cancel(ct_server *s, ct_rpc_msg *m);
void h_did_change_configuration(ct_server *s, ct_rpc_msg *m);
void h_response(ct_server *s, ct_rpc_msg *m);

/* ---- documents.c ---- */
ct_doc *doc_find(ct_server *s, const char *uri);
void h_did_open(ct_server *s, ct_rpc_msg *m);
void h_did_change(ct_server *s, ct_rpc_msg *m);
void h_did_close(ct_server *s, ct_rpc_msg *m);
void doc_free(ct_server *s, ct_doc *d);
/* The document of params.textDocument.uri, or NULL after replying an error to a request. */
ct_doc *doc_of_params(ct_server *s, ct_rpc_msg *m);

/* ---- jobs.c ---- */
/* Fill a zeroed job's settings from the server's (severities, docs, memory, analyzer). */
void job_init(ct_server *s, ct_job *j, const char *analyzer);
/* Analyze a document now (a running analysis of it is superseded). */
void job_start_doc(ct_server *s, ct_doc *d);
/* Analyze a path (file, run directory, archive) for codetracer.analyze; answers req_id. */
void job_start_path(ct_server *s, const char *path, json_t *req_id, const char *token);
/* Cancel (user_cancel: also publish empty diagnostics when the job ends). */
void job_cancel(ct_job *j, int user_cancel);
void publish(ct_server *s, const char *uri, int version, json_t *diags_new);
/* One $/progress notification (title only with "begin"). */
void progress_notify(ct_server *s, const char *token, const char *kind, const char *title,
                     const char *msg, int cancellable);
/* A job that ended before the client answered window/workDoneProgress/create for token: its
 * begin (title) and end (end) are kept and sent with the answer by progress_flush_late, which
 * returns 1 when token was such a job. */
void progress_end_late(ct_server *s, const char *token, const char *title, const char *end,
                       int cancellable);
int progress_flush_late(ct_server *s, const char *token, int ok);
void jobs_on_wake(uv_async_t *a);
void jobs_on_progress_created(ct_server *s, const char *token, int ok);

/* ---- analyze.c (runs on a worker thread) ---- */
void analyze_run(ct_job *j);
/* Location of a step of result r for relatedInformation / symbols (NULL if none). */
json_t *result_step_location(ct_result *r, const ct_step *st, const char *uri, ct_pos_enc enc);
/* Byte span of a step in a document result, 0 on success: its tree-sitter range when it has
 * one (jsonranges.c), else the loader's. */
int result_step_span(const ct_result *r, const ct_step *st, size_t *a, size_t *b);
/* The same for step k of trajectory ti (no search for the step). */
int result_step_span_at(const ct_result *r, size_t ti, size_t k, size_t *a, size_t *b);
/* Position / range of byte offsets of r's text: from r->memo when it holds them, else converted
 * (ct_pos_from_byte). */
ct_lsp_pos result_pos(const ct_result *r, size_t off, ct_pos_enc enc);
json_t *result_range(const ct_result *r, size_t a, size_t b, ct_pos_enc enc);
/* Step k of trajectory ti of a path result in its own file, whose lines are given. */
int result_file_span(const ct_result *r, size_t ti, size_t k, const ct_text *lines, size_t *a,
                     size_t *b);

/* ---- jsonranges.c (worker thread): step ranges from tree-sitter's JSON grammar ---- */
/* For the steps of trajs whose source is the file `path` (own_doc: steps without a source path
 * too), set ranges[ti][k] from the JSON objects of text; n_ok / n_fallback count the steps
 * placed / kept on the loader's span. -1 when the text was not parsed (not JSON, too large,
 * cancelled). */
int json_ranges_fill(const char *text, size_t len, const char *path, int own_doc,
                     const ct_traj_list *trajs, ct_step_range **ranges, size_t *n_ok,
                     size_t *n_fallback, atomic_int *cancel);
/* The same in two halves, so that the parse (the costly part, which needs only the text) can
 * run while the text is loaded and analyzed: the objects of a JSON text (NULL when the text is
 * not parsed), then the ranges of the steps (every step a fallback when jt is NULL). */
typedef struct jr_tree jr_tree;
jr_tree *json_ranges_parse(const char *text, size_t len, const char *path, atomic_int *cancel);
int json_ranges_match(const jr_tree *jt, const char *text, size_t len, const char *path,
                      int own_doc, const ct_traj_list *trajs, ct_step_range **ranges, size_t *n_ok,
                      size_t *n_fallback);
void json_ranges_free(jr_tree *jt);
/* 1 when the text is one to parse (JSON/JSONL, not .cast/.log/.txt/.md), whatever its size. */
int json_ranges_applies(const char *text, size_t len, const char *path);

/* ---- hover.c ---- */
void h_hover(ct_server *s, ct_rpc_msg *m);
/* The step at byte offset off of a document result (innermost), or NULL. */
const ct_step *step_at(const ct_result *r, size_t off, size_t *traj_index);

/* ---- actions.c ---- */
void h_code_action(ct_server *s, ct_rpc_msg *m);
void h_execute_command(ct_server *s, ct_rpc_msg *m);
/* Find a trajectory by id among documents and analyzed paths. */
const ct_trajectory *find_traj(ct_server *s, const char *traj_id, const ct_analysis **a);

/* ---- hover.c: analyzed paths seen from one of their files ---- */
/* The analysis to answer a request on uri with: the open document's own result when it has
 * one, else a view (filled into *view) of a codetracer.analyze result holding steps of that
 * file. NULL when there is none. A view borrows everything: release it with view_release. */
ct_result *result_for_uri(ct_server *s, const char *uri, ct_result *view);
void view_release(ct_result *view);
/* 1 when a codetracer.analyze result has steps in the file of uri. */
int ext_holds_uri(ct_server *s, const char *uri);
/* The lines of a file of an analyzed path (cached), or NULL. */
const ct_text *ext_file_lines(ct_server *s, const char *path);
void ext_files_free(ct_server *s);

/* ---- symbols.c ---- */
void h_document_symbol(ct_server *s, ct_rpc_msg *m);
void h_code_lens(ct_server *s, ct_rpc_msg *m);
void h_workspace_symbol(ct_server *s, ct_rpc_msg *m);

/* ---- sources.c: diagnostics on the source lines the agent edited ---- */
/* Re-place every analysed trajectory's edits and publish per source file (changes only). The
 * placement runs on the thread pool; it publishes later, from the loop thread. */
void sources_refresh(ct_server *s);
/* documents.c hooks: the tree of an open document follows its text. doc_open parses d->text
 * (didOpen: opened = 1; a full-text didChange: 0); doc_edit applies one ranged change, in bytes,
 * after d->text has it; doc_changed ends a didChange (debounced re-placement); doc_free. */
void sources_doc_open(ct_server *s, ct_doc *d, int opened);
void sources_doc_edit(ct_server *s, ct_doc *d, size_t start, size_t old_end, const char *txt,
                      size_t len);
void sources_doc_changed(ct_server *s, ct_doc *d);
void sources_doc_free(ct_doc *d);
/* 1 when the last placement mapped an edit to d's file (a source file, not a trajectory). */
int sources_is_target(ct_server *s, const ct_doc *d);
void sources_free(ct_server *s);
/* Settings showAllEdits / pathMappings (obj is the codetracer section). */
void sources_settings(ct_server *s, json_t *obj);
/* rootUri / workspaceFolders / rootPath of the initialize params. */
void sources_workspace(ct_server *s, json_t *params);
/* A hover on an edited source line, or NULL. */
json_t *sources_hover(ct_server *s, const char *uri, ct_lsp_pos pos);
/* textDocument/definition on a trajectory step → the source ranges it wrote. */
void h_definition(ct_server *s, ct_rpc_msg *m);
/* workspace/executeCommand codetracer.blame {uri, line}. */
void sources_blame(ct_server *s, ct_rpc_msg *m, json_t *arg);

/* ---- llm.c: LLM analyses (codetracer.analyze with analyzer llm|hybrid) ----
 * Each runs analyze_run on its own thread (at most llm.maxConcurrent at a time, the rest
 * queued); its HTTP goes through one curl multi handle driven by the loop. Everything but
 * llm_analyze_one runs on the loop thread. */
/* The "llm" object of the codetracer settings section {apiBase, model, budgetUsd, config,
 * maxConcurrent}. */
void llm_settings(ct_server *s, json_t *section);
/* 1 when an endpoint and a model are configured (settings, config file or environment). */
int llm_configured(ct_server *s);
/* "Diagnose with LLM" actions for a trajectory document (none when not configured). */
void llm_code_actions(ct_server *s, ct_doc *d, json_t *out);
/* codetracer.analyze {uri|path, analyzer: "llm"|"hybrid"}: request id answered when the analysis
 * ends (NULL: a re-analysis the daemon starts itself, e.g. after feedback); token = the request's
 * workDoneToken or NULL. */
void llm_start(ct_server *s, json_t *id, const char *token, const char *target, const char *mode);
/* Show the user's feedback on an LLM-labelled target: its LLM analysis again, from the analysis
 * cache only (feedback applied); when it is not cached the labels shown stay as they are and no
 * LLM call is made. */
void llm_reapply(ct_server *s, const char *target, const char *mode);
/* $/cancelRequest of an LLM analysis: 1 when id was one (answered with the partial result). */
int llm_cancel_request(ct_server *s, json_t *id);
/* window/workDoneProgress/cancel. */
void h_progress_cancel(ct_server *s, ct_rpc_msg *m);
void llm_on_progress_created(ct_server *s, const char *token, int ok);
/* codetracer.clear: cancel the LLM analyses of target (NULL = all), publishing nothing. */
int llm_clear(ct_server *s, const char *target);
/* shutdown / exit: cancel everything; the handles close once the threads have ended. */
void llm_shutdown(ct_server *s);
/* 1 while an LLM thread runs (the loop's wake handle must stay open). */
int llm_busy(ct_server *s);
void llm_free(ct_server *s);
/* analyze.c's analyze_one for an LLM job (on the job's thread); m is the job's memory handle
 * (NULL = none): prior knowledge and online extraction. */
int llm_analyze_one(ct_job *j, struct ct_memory *m, const ct_trajectory *t, ct_analysis **out,
                    ct_error *err);
/* The analysis-cache key parts of an LLM job, the CLI's for llm/hybrid (ct/batch.h): analyzer
 * (the mode), model (llm.model_name) and ct_batch_config_hash of the job's configuration. */
void llm_cache_key(const ct_job *j, const char **analyzer, const char **model,
                   const char **config_hash);

/* Small JSON helpers. */
const char *jstr(json_t *o, const char *key);
json_t *jobj(json_t *o, const char *key);

#endif

/* ct/agent.h — the diagnosis agent loop (first slice): LLM reply → exactly one ```bash block →
 * run in the sandbox → observation → ... until the command prints TRACER_FINAL_OUTPUT or a limit
 * is reached. Prompt rendering from a trajectory is not here yet: the caller passes the system
 * and first user message.
 *
 * Ownership: the agent borrows the client and options for the duration of ct_agent_run. The
 * result owns its strings and the transcript; release it with ct_agent_result_free. The event
 * callback receives borrowed strings valid only during the call; it never runs after
 * ct_agent_run returns. */
#ifndef CT_AGENT_H
#define CT_AGENT_H

#include "ct/analysis.h"
#include "ct/error.h"
#include "ct/llm.h"
#include "ct/memory.h"

#include <jansson.h>
#include <stdatomic.h>

typedef enum ct_agent_status {
    CT_AGENT_COMPLETE = 0,  /* a command printed TRACER_FINAL_OUTPUT first */
    CT_AGENT_LIMIT_STEPS,   /* trace.step_limit LLM calls made */
    CT_AGENT_LIMIT_BUDGET,  /* the budget cannot cover the next call (none was made) */
    CT_AGENT_LIMIT_TIME,    /* the wall-clock limit for the whole run */
    CT_AGENT_FORMAT_ERRORS, /* too many replies in a row without exactly one bash block */
    CT_AGENT_ERROR,         /* the LLM call failed (err says why) */
    CT_AGENT_CANCELLED,     /* opts.cancel was set: no LLM call or command was started after */
} ct_agent_status;

typedef enum ct_agent_event_kind {
    CT_AGENT_EV_STEP_START,     /* step */
    CT_AGENT_EV_LLM_RESPONSE,   /* step, text = reply (preview) */
    CT_AGENT_EV_TOOL_EXEC,      /* step, text = command */
    CT_AGENT_EV_OBSERVATION,    /* step, text = observation message, code = exit status */
    CT_AGENT_EV_FORMAT_ERROR,   /* step, code = number of bash blocks found */
    CT_AGENT_EV_BUDGET_WARNING, /* step, text = the message appended */
    CT_AGENT_EV_DONE,           /* code = ct_agent_status */
    CT_AGENT_EV_WARNING,        /* text = a label dropped, a malformed output file, ... */
    CT_AGENT_EV_COMPACT,        /* code = messages dropped so far, text = the note */
    CT_AGENT_EV_USAGE,          /* once per finished turn: step = LLM calls so far, text = "P C
                                 * USD" (prompt and completion tokens and cost of this run so
                                 * far, e.g. "8100 420 0.004200"); code = the trajectory step
                                 * inspected last (ct_agent_analyze; 0 = none / ct_agent_run) */
} ct_agent_event_kind;

typedef void (*ct_agent_event_fn)(void *ud, ct_agent_event_kind kind, int step, int code,
                                  const char *text);

typedef struct ct_agent_opts {
    const char *system_prompt;   /* required */
    const char *instance_prompt; /* required: the first user message */
    const char *work_dir;        /* required: the sandbox scratch dir and cwd */
    int step_limit;              /* LLM calls of this run; 0 = unlimited */
    double wall_limit_s;         /* whole run; 0 = unlimited */
    int max_format_errors;       /* consecutive; 0 → 3 */
    double command_timeout_s;    /* per command; 0 → 60 */
    size_t output_cap;           /* observation bytes kept; 0 → 65536 */
    int sandbox_mode;            /* CT_SANDBOX_* */
    int max_tokens;              /* per call; 0 → llm.max_tokens */
    long long context_tokens;    /* transcript estimate (bytes/4) above which the oldest turns
                                  * after the first two messages are dropped; 0 = never */
    ct_agent_event_fn on_event;
    void *ud;
    /* Optional: called when a command printed TRACER_FINAL_OUTPUT. Return NULL to accept, or a
     * message (owned by the callee, valid until its next call) sent back instead of finishing.
     * At most max_finish_rejections (0 → 2) rejections per run; then the run finishes. */
    const char *(*on_finish)(void *finish_ud, const json_t *messages);
    void *finish_ud;
    int max_finish_rejections;
    /* Compaction (when context_tokens > 0). compact_summary = 1: the turns after the first two
     * messages (and any earlier summary), except the current exchange, are summarised by a
     * separate LLM call (phase "compact", counted in usage, cost and the budget, not in
     * step_limit) and replaced by one user message holding the summary plus state_note's text;
     * when that call fails or the budget cannot cover it, the sliding window above is used.
     * compact_summary = 0: sliding window only. summary_max_tokens: 0 → 1024. */
    int compact_summary;
    int summary_max_tokens;
    /* Optional: text that must survive compaction (labels so far, inspected steps); a new
     * malloc'ed string or NULL. Appended to the summary or the drop note. */
    char *(*state_note)(void *state_ud, const json_t *messages);
    void *state_ud;
    /* Optional: called between turns (after an observation was appended, before the next LLM
     * call) with the transcript and the number of LLM calls so far. Must not fail the run. */
    void (*after_turn)(void *turn_ud, const json_t *messages, int llm_calls);
    void *turn_ud;
    /* Structured tools mode. When tools (an OpenAI "tools" array) is set it is sent with every
     * request; a reply with tool_calls has each call answered by a "tool" message: the tool
     * named "finish" goes through on_finish like TRACER_FINAL_OUTPUT, any other through
     * tool_exec (a new malloc'ed result text). A reply without tool_calls is handled as in
     * bash mode (one ```bash block), so the block format is the per-turn fallback. With
     * tools_fallback, an HTTP 400/404/422 answer to the first request (an endpoint without
     * tool calling) switches the run to bash mode and the turn is retried without tools. */
    const json_t *tools;
    char *(*tool_exec)(void *tool_ud, const char *name, const json_t *args, int step);
    void *tool_ud;
    int tools_fallback;
    /* Optional cancellation flag (borrowed), read before every LLM call and every command: once
     * non-zero the run stops with CT_AGENT_CANCELLED (set it on the client too, with
     * ct_llm_client_set_cancel, to abandon a call in flight). */
    const atomic_int *cancel;
} ct_agent_opts;

typedef struct ct_agent_result {
    ct_agent_status status;
    char *final_output;   /* text after the TRACER_FINAL_OUTPUT line ("" unless COMPLETE) */
    json_t *messages;     /* the transcript: [{role, content}], owned */
    int llm_calls;        /* calls made by this run (not the client's lifetime total) */
    int commands;         /* commands executed */
    int format_errors;    /* replies rejected in all */
    double cost_usd;      /* spent by this run (loop calls and summary calls) */
    int compactions;      /* times the transcript was compacted */
    int summary_calls;    /* successful summary calls */
    int summary_failures; /* summary calls that failed or were not affordable (window used) */
    int tool_calls;       /* structured tool calls answered */
    int tools_disabled;   /* 1 when tools_fallback switched the run to bash mode */
} ct_agent_result;

/* Run the loop. Returns CT_OK whenever the loop ran to a status (including limits — see
 * result->status); an error value only for bad options or an LLM failure (status
 * CT_AGENT_ERROR, result still filled with the transcript so far). */
int ct_agent_run(ct_llm_client *llm, const ct_agent_opts *opts, ct_agent_result *out,
                 ct_error *err);
void ct_agent_result_free(ct_agent_result *r);
const char *ct_agent_status_name(ct_agent_status s);

/* The ```bash blocks of a reply: the number found, and (when exactly one) its trimmed body as a
 * new string in *cmd. A fence is ```bash (or ```sh) at the start of a line, a newline, the body,
 * and a closing ``` at the start of a line. */
int ct_agent_extract_bash(const char *reply, char **cmd);

/* Replace {{name}} in tmpl by the string (or integer) member `name` of vars. An unknown name or
 * an unclosed {{ is CT_EINVAL naming it. *out is a new string. */
int ct_agent_render(const char *tmpl, const json_t *vars, char **out, ct_error *err);

/* Diagnose `t` with the agent: writes task.md, index.md and steps/N.json into work_dir (an
 * existing, preferably empty directory), renders trace.system_template / instance_template,
 * runs the loop with the trace.* limits, then reads work_dir/labels.json
 * ({"labels": [{step_id, label, reasoning, evidence}], "root_cause_chain": [...], "summary"}).
 * Anti-cheat, enforced: finishing before min(3, steps) distinct steps were inspected is refused
 * (twice at most); a label is kept only when a command of this run named steps/N.json for that
 * step; dropped labels and a missing/malformed labels.json are reported through
 * on_event (CT_AGENT_EV_WARNING). A run stopped by a limit gives a partial analysis
 * (partial = 1, stop_reason = the status name). NULL with err on a setup or LLM failure. */
ct_analysis *ct_agent_diagnose(ct_llm_client *llm, const ct_trajectory *t, const json_t *cfg,
                               const char *work_dir, ct_agent_event_fn on_event, void *ud,
                               ct_error *err);

/* ---- the one entry point for `analyze --analyzer llm|hybrid` ------------------------------ */
typedef struct ct_agent_analyze_opts {
    const char *mode;     /* "llm" (NULL = llm) or "hybrid" */
    const char *work_dir; /* the agent's scratch dir; NULL → a fresh temporary dir, removed after */
    const char *traj_path;      /* where the conversation is saved (`<output stem>.traj.json`, e.g.
                                 * <output dir>/codetracer_analysis.traj.json); NULL = not saved */
    ct_llm_client *llm;         /* NULL → a client made from config and freed before returning */
    ct_memory *memory;          /* NULL = no memory (no prior knowledge, no online extraction) */
    ct_agent_event_fn on_event; /* progress and warnings; may be NULL */
    void *ud;
    const atomic_int *cancel; /* see ct_agent_opts.cancel; a cancelled run is partial */
} ct_agent_analyze_opts;

/* Diagnose t with the LLM agent and return a ct_analysis in *out like ct_analyze_heuristic:
 * analyzer "llm" or "hybrid", model, cost_usd/tokens_in/tokens_out of this run (loop, summary
 * and memory calls), partial = 1 with stop_reason ("step_limit", "budget_exhausted",
 * "time_limit", "format_errors", "cancelled", "invalid_output") when the run did not end with a
 * valid output (the labels written so far are kept).
 * hybrid: the heuristic findings are given to the agent as candidates; a step the agent
 * inspected gets the agent's verdict, any other keeps the heuristic label (the reasoning says
 * which). Settings: trace.* and memory-related trace.memory_* keys of config
 * (config/default.yaml). Returns CT_OK, or a CT_E* code with err set (setup, endpoint, LLM
 * failure); the API key is never written to the saved conversation. */
int ct_agent_analyze(const ct_trajectory *t, const json_t *config, const ct_agent_analyze_opts *o,
                     ct_analysis **out, ct_error *err);

#endif

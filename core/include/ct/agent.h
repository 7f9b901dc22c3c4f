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

#include <jansson.h>

typedef enum ct_agent_status {
    CT_AGENT_COMPLETE = 0,  /* a command printed TRACER_FINAL_OUTPUT first */
    CT_AGENT_LIMIT_STEPS,   /* trace.step_limit LLM calls made */
    CT_AGENT_LIMIT_BUDGET,  /* the budget cannot cover the next call (none was made) */
    CT_AGENT_LIMIT_TIME,    /* the wall-clock limit for the whole run */
    CT_AGENT_FORMAT_ERRORS, /* too many replies in a row without exactly one bash block */
    CT_AGENT_ERROR,         /* the LLM call failed (err says why) */
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
} ct_agent_opts;

typedef struct ct_agent_result {
    ct_agent_status status;
    char *final_output; /* text after the TRACER_FINAL_OUTPUT line ("" unless COMPLETE) */
    json_t *messages;   /* the transcript: [{role, content}], owned */
    int llm_calls;      /* calls made by this run (not the client's lifetime total) */
    int commands;       /* commands executed */
    int format_errors;  /* replies rejected in all */
    double cost_usd;    /* spent by this run */
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

#endif

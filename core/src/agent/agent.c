/* agent.c — the diagnosis agent loop: ask the LLM, run its one bash command in the sandbox, feed
 * the observation back, stop on TRACER_FINAL_OUTPUT or a limit (calls, budget, wall clock,
 * consecutive format errors). Unlike the reference, every limit is enforced here, the step
 * counter is this run's own, observations are capped, and commands never see the API key. */
#include "ct/agent.h"
#include "ct/buf.h"
#include "ct/sandbox.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FINAL_SENTINEL "TRACER_FINAL_OUTPUT"
#define PREVIEW_BYTES 500

/* ct_utf8_sanitize(s, 0) currently returns an unterminated buffer (core/src/buf.c): never
 * call it with an empty input. */
static char *sanitize(const char *s, size_t n)
{
    return n ? ct_utf8_sanitize(s, n) : ct_xstrdup("");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *ct_agent_status_name(ct_agent_status s)
{
    switch (s) {
    case CT_AGENT_COMPLETE:
        return "complete";
    case CT_AGENT_LIMIT_STEPS:
        return "step_limit";
    case CT_AGENT_LIMIT_BUDGET:
        return "budget_exhausted";
    case CT_AGENT_LIMIT_TIME:
        return "time_limit";
    case CT_AGENT_FORMAT_ERRORS:
        return "format_errors";
    case CT_AGENT_ERROR:
        return "error";
    case CT_AGENT_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

/* Is p the opener of a bash/sh fence? Returns the offset of the body or 0. */
static size_t bash_opener(const char *p)
{
    size_t n = 3; /* after ``` */
    if (strncmp(p + n, "bash", 4) == 0)
        n += 4;
    else if (strncmp(p + n, "sh", 2) == 0)
        n += 2;
    else
        return 0;
    while (p[n] == ' ' || p[n] == '\t')
        n++;
    if (p[n] == '\r') n++;
    if (p[n] != '\n') return 0;
    return n + 1;
}

int ct_agent_extract_bash(const char *reply, char **cmd)
{
    if (cmd) *cmd = NULL;
    int found = 0;
    const char *first = NULL;
    size_t first_len = 0;
    const char *p = reply;
    while (p && (p = strstr(p, "```")) != NULL) {
        size_t body = bash_opener(p);
        const char *start = body ? p + body : p + 3;
        const char *close = strstr(start, "```");
        if (body) {
            if (!close) break; /* an unclosed fence is not an action */
            if (found++ == 0) {
                first = start;
                first_len = (size_t)(close - start);
            }
        }
        p = close ? close + 3 : NULL; /* skip other fences with their contents */
    }
    if (found == 1 && cmd) {
        while (first_len > 0 && isspace((unsigned char)*first)) {
            first++;
            first_len--;
        }
        while (first_len > 0 && isspace((unsigned char)first[first_len - 1]))
            first_len--;
        *cmd = ct_xstrndup(first, first_len);
    }
    return found;
}

static void add_msg(json_t *msgs, const char *role, const char *content)
{
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", role, "content", content));
}

static void emit(const ct_agent_opts *o, ct_agent_event_kind k, int step, int code,
                 const char *text)
{
    if (o->on_event) o->on_event(o->ud, k, step, code, text);
}

/* When the first non-blank line is the sentinel: 1 and the rest of the output in *rest. */
static int is_final(const char *out, size_t len, char **rest)
{
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && out[e] != '\n')
            e++;
        size_t a = i, b = e;
        while (a < b && isspace((unsigned char)out[a]))
            a++;
        while (b > a && isspace((unsigned char)out[b - 1]))
            b--;
        if (a < b) {
            if (b - a == strlen(FINAL_SENTINEL) && memcmp(out + a, FINAL_SENTINEL, b - a) == 0) {
                size_t r = e < len ? e + 1 : e;
                *rest = sanitize(out + r, len - r);
                return 1;
            }
            return 0;
        }
        i = e + 1;
    }
    return 0;
}

#define SUMMARY_MSG_HEAD 1500
#define SUMMARY_MSG_TAIL 1500
#define SUMMARY_INPUT_CAP 60000
#define SUMMARY_MARK "[Summary of the earlier conversation"

static const char *str_or(const json_t *j, const char *def)
{
    const char *s = json_string_value(j);
    return s ? s : def;
}

static int is_role(const json_t *msgs, size_t i, const char *role)
{
    const char *r = json_string_value(json_object_get(json_array_get(msgs, i), "role"));
    return r && strcmp(r, role) == 0;
}

typedef struct compact_state {
    int has_note; /* messages[2] is a drop note or a summary */
    size_t dropped;
} compact_state;

static void append_state(ct_buf *b, const ct_agent_opts *o, const json_t *msgs)
{
    if (!o->state_note) return;
    char *s = o->state_note(o->state_ud, msgs);
    if (s && *s) {
        ct_buf_puts(b, "\n\n");
        ct_buf_puts(b, s);
    }
    free(s);
}

/* The turns [from, to) summarised by one LLM call. NULL when the call fails or is not
 * affordable. */
static char *summarise(ct_llm_client *llm, const json_t *msgs, size_t from, size_t to,
                       const ct_agent_opts *o)
{
    ct_buf conv = CT_BUF_INIT;
    for (size_t i = from; i < to; i++) {
        const json_t *m = json_array_get(msgs, i);
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *c = json_string_value(json_object_get(m, "content"));
        if (!c) c = "";
        size_t n = strlen(c);
        ct_buf_printf(&conv, "--- %s ---\n", role ? role : "?");
        if (n > SUMMARY_MSG_HEAD + SUMMARY_MSG_TAIL) {
            ct_buf_append(&conv, c, SUMMARY_MSG_HEAD);
            ct_buf_printf(&conv, "\n[... %zu bytes elided ...]\n",
                          n - SUMMARY_MSG_HEAD - SUMMARY_MSG_TAIL);
            ct_buf_append(&conv, c + n - SUMMARY_MSG_TAIL, SUMMARY_MSG_TAIL);
        } else {
            ct_buf_append(&conv, c, n);
        }
        const json_t *calls = json_object_get(m, "tool_calls");
        size_t k;
        const json_t *tc;
        json_array_foreach(calls, k, tc)
        {
            const json_t *fn = json_object_get(tc, "function");
            ct_buf_printf(&conv, "[tool call %s %.300s]\n",
                          str_or(json_object_get(fn, "name"), "?"),
                          str_or(json_object_get(fn, "arguments"), "{}"));
        }
        ct_buf_putc(&conv, '\n');
    }
    const char *text = conv.data ? conv.data : "";
    size_t len = conv.len;
    if (len > SUMMARY_INPUT_CAP) { /* keep the most recent part */
        text += len - SUMMARY_INPUT_CAP;
        len = SUMMARY_INPUT_CAP;
    }
    char *clean = sanitize(text, len);
    ct_buf_free(&conv);
    char *user = ct_xasprintf(
        "<conversation>\n%s</conversation>\n\nSummarise this part of a diagnosis agent's "
        "conversation so the agent can continue without it. Keep: every step inspected and what "
        "it showed, the labels decided so far with their reasons and evidence steps, open "
        "hypotheses, and what remains to do. At most 300 words, plain text, no code blocks.",
        clean);
    free(clean);
    json_t *req_msgs = json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content",
                                 "You compress conversations of a trajectory diagnosis agent into "
                                 "faithful, concise summaries.",
                                 "role", "user", "content", user);
    free(user);
    char *out = NULL;
    if (req_msgs) {
        ct_llm_request req = {req_msgs, NULL,
                              NULL,     o->summary_max_tokens > 0 ? o->summary_max_tokens : 1024,
                              -1,       "compact"};
        if (!ct_llm_over_budget(llm, &req, NULL)) {
            ct_llm_response resp;
            ct_error e;
            ct_error_clear(&e);
            if (ct_llm_chat(llm, &req, &resp, &e) == CT_OK) {
                if (resp.content && *resp.content) out = ct_xstrdup(resp.content);
                ct_llm_response_free(&resp);
            } else {
                emit(o, CT_AGENT_EV_WARNING, 0, 0, e.msg);
            }
        }
    }
    json_decref(req_msgs);
    return out;
}

/* Compaction. Unlike the reference, the system prompt and the first user message (task, index,
 * output instructions) always stay, and the caller's state note (labels, inspected steps) is
 * carried over. First an LLM summary of the older turns (when opts->compact_summary), else or
 * on failure the sliding window: the oldest turns after them go first, and one note at index 2
 * says how many are gone. The current exchange (last two messages) always stays. */
static void compact(ct_llm_client *llm, json_t *msgs, compact_state *cs, const ct_agent_opts *o,
                    int step, ct_agent_result *out)
{
    ct_llm_request probe = {msgs, NULL, NULL, 0, -1, NULL};
    long long limit = o->context_tokens;
    if (limit <= 0 || ct_llm_estimate_prompt_tokens(&probe) <= limit) return;
    size_t n = json_array_size(msgs);
    /* the kept tail never starts with a tool result: its assistant tool_calls message stays */
    size_t keep = n >= 2 ? n - 2 : 0;
    while (keep > 2 && is_role(msgs, keep, "tool"))
        keep--;
    if (o->compact_summary && keep > 2 + (size_t)cs->has_note) {
        char *sum = summarise(llm, msgs, 2, keep, o);
        if (sum) {
            out->summary_calls++;
            out->compactions++;
            size_t gone = keep - 2;
            for (size_t i = 0; i < gone; i++)
                json_array_remove(msgs, 2);
            ct_buf b = CT_BUF_INIT;
            ct_buf_printf(&b,
                          SUMMARY_MARK " (%zu messages), written to fit the context window; the "
                                       "task and instructions above still apply]\n%s",
                          gone, sum);
            free(sum);
            append_state(&b, o, msgs);
            json_array_insert_new(msgs, 2,
                                  json_pack("{s:s, s:s}", "role", "user", "content", b.data));
            cs->has_note = 1;
            cs->dropped += gone;
            emit(o, CT_AGENT_EV_COMPACT, step, (int)cs->dropped, b.data);
            ct_buf_free(&b);
            if (ct_llm_estimate_prompt_tokens(&probe) <= limit) return;
        } else {
            out->summary_failures++;
        }
    }
    size_t first = cs->has_note ? 3 : 2; /* after system, instance and the note */
    size_t before = cs->dropped;
    size_t tail = json_array_size(msgs) >= 2 ? json_array_size(msgs) - 2 : 0;
    while (tail > first && is_role(msgs, tail, "tool"))
        tail--; /* the current exchange, with the call its tool results answer */
    while (first < tail &&
           (ct_llm_estimate_prompt_tokens(&probe) > limit || is_role(msgs, first, "tool"))) {
        json_array_remove(msgs, first); /* and any tool results it leaves without their call */
        tail--;
        cs->dropped++;
    }
    if (cs->dropped == before) return;
    out->compactions++;
    ct_buf b = CT_BUF_INIT;
    ct_buf_printf(&b,
                  "[%zu earlier messages were dropped to fit the context window; the task and "
                  "instructions above still apply.]",
                  cs->dropped);
    if (cs->has_note) { /* keep an earlier summary's text */
        const char *old = json_string_value(json_object_get(json_array_get(msgs, 2), "content"));
        if (old && strncmp(old, SUMMARY_MARK, strlen(SUMMARY_MARK)) == 0) {
            const char *body = strchr(old, '\n');
            if (body) {
                ct_buf_puts(&b, "\nEarlier summary:");
                ct_buf_puts(&b, body);
            }
        }
    }
    if (!cs->has_note || !strstr(b.data, "\nEarlier summary:")) append_state(&b, o, msgs);
    json_t *m = json_pack("{s:s, s:s}", "role", "user", "content", b.data);
    if (cs->has_note)
        json_array_set_new(msgs, 2, m);
    else
        json_array_insert_new(msgs, 2, m);
    cs->has_note = 1;
    emit(o, CT_AGENT_EV_COMPACT, step, (int)cs->dropped, b.data);
    ct_buf_free(&b);
}

static int is_cancelled(const ct_agent_opts *o)
{
    return o->cancel && atomic_load(o->cancel) != 0;
}

/* The per-turn usage event: this run's tokens and cost so far, read from the client. */
static void emit_usage(ct_llm_client *llm, const ct_agent_opts *o, const ct_llm_totals *t0,
                       int calls)
{
    if (!o->on_event) return;
    ct_llm_totals t;
    ct_llm_client_totals(llm, &t);
    char text[96];
    snprintf(text, sizeof text, "%lld %lld %.6f", t.prompt_tokens - t0->prompt_tokens,
             t.completion_tokens - t0->completion_tokens, t.cost_usd - t0->cost_usd);
    o->on_event(o->ud, CT_AGENT_EV_USAGE, calls, 0, text);
}

/* An HTTP answer that says "no tool calling here" (not a transient or auth failure). */
static int tools_refused(const char *msg)
{
    return strncmp(msg, "HTTP 400 ", 9) == 0 || strncmp(msg, "HTTP 404 ", 9) == 0 ||
           strncmp(msg, "HTTP 422 ", 9) == 0;
}

/* Answer every tool call of a reply. Returns 1 when "finish" was accepted. */
static int run_tools(const ct_agent_opts *o, ct_agent_result *out, const ct_llm_response *resp,
                     int step, int *rejections, int max_reject)
{
    json_t *am = json_pack("{s:s, s:s, s:O}", "role", "assistant", "content", resp->content,
                           "tool_calls", resp->tool_calls);
    if (am) json_array_append_new(out->messages, am);
    char preview[PREVIEW_BYTES + 1];
    snprintf(preview, sizeof preview, "%s", resp->content);
    emit(o, CT_AGENT_EV_LLM_RESPONSE, step, 0, preview);
    int finished = 0;
    size_t k;
    const json_t *tc;
    json_array_foreach(resp->tool_calls, k, tc)
    {
        const char *id = json_string_value(json_object_get(tc, "id"));
        const json_t *fn = json_object_get(tc, "function");
        const char *name = json_string_value(json_object_get(fn, "name"));
        const char *argstr = json_string_value(json_object_get(fn, "arguments"));
        json_t *args = argstr && *argstr ? json_loads(argstr, 0, NULL) : json_object();
        char *result = NULL;
        char *what = ct_xasprintf("%s %.300s", name ? name : "?", argstr ? argstr : "{}");
        emit(o, CT_AGENT_EV_TOOL_EXEC, step, 0, what);
        free(what);
        out->tool_calls++;
        if (!name || !json_is_object(args)) {
            result = ct_xstrdup("error: a tool call needs a name and a JSON object of arguments");
        } else if (strcmp(name, "finish") == 0) {
            const char *reject = NULL;
            if (finished)
                result = ct_xstrdup("already finished");
            else if (o->on_finish && *rejections < max_reject &&
                     (reject = o->on_finish(o->finish_ud, out->messages)) != NULL) {
                (*rejections)++;
                result = ct_xstrdup(reject);
                emit(o, CT_AGENT_EV_WARNING, step, 0, reject);
            } else {
                finished = 1;
                result = ct_xstrdup("finished");
            }
        } else if (o->tool_exec) {
            result = o->tool_exec(o->tool_ud, name, args, step);
        }
        if (!result) result = ct_xasprintf("error: unknown tool '%s'", name);
        json_decref(args);
        json_array_append_new(out->messages,
                              json_pack("{s:s, s:s, s:s}", "role", "tool", "tool_call_id",
                                        id ? id : "", "content", result));
        emit(o, CT_AGENT_EV_OBSERVATION, step, 0, result);
        free(result);
    }
    return finished;
}

int ct_agent_run(ct_llm_client *llm, const ct_agent_opts *o, ct_agent_result *out, ct_error *err)
{
    memset(out, 0, sizeof *out);
    out->messages = json_array();
    out->final_output = ct_xstrdup("");
    if (!llm || !o || !o->system_prompt || !o->instance_prompt || !o->work_dir)
        return ct_error_set(err, CT_EINVAL,
                            "agent: a client, system and instance prompts and a work dir are "
                            "needed");
    int max_fmt = o->max_format_errors > 0 ? o->max_format_errors : 3;
    add_msg(out->messages, "system", o->system_prompt);
    add_msg(out->messages, "user", o->instance_prompt);
    ct_llm_totals t0;
    ct_llm_client_totals(llm, &t0);
    double start = now_s();
    int fmt_streak = 0, warned_budget = 0, rc = CT_OK, rejections = 0;
    compact_state cs = {0, 0};
    int tools_on = o->tools != NULL;
    int max_reject = o->max_finish_rejections > 0 ? o->max_finish_rejections : 2;
    ct_agent_status status;
    int reported = 0; /* turns whose usage event was sent */
    for (;;) {
        if (out->llm_calls > reported) emit_usage(llm, o, &t0, reported = out->llm_calls);
        if (is_cancelled(o)) {
            status = CT_AGENT_CANCELLED;
            break;
        }
        if (o->step_limit > 0 && out->llm_calls >= o->step_limit) {
            status = CT_AGENT_LIMIT_STEPS;
            break;
        }
        if (o->wall_limit_s > 0 && now_s() - start >= o->wall_limit_s) {
            status = CT_AGENT_LIMIT_TIME;
            break;
        }
        int step = out->llm_calls + 1;
        emit(o, CT_AGENT_EV_STEP_START, step, 0, NULL);
        compact(llm, out->messages, &cs, o, step, out);
        ct_llm_request req = {out->messages, tools_on ? o->tools : NULL, NULL, o->max_tokens, -1,
                              "trace"};
        if (ct_llm_over_budget(llm, &req, NULL)) { /* before anything is sent or appended */
            status = CT_AGENT_LIMIT_BUDGET;
            break;
        }
        ct_llm_totals t;
        ct_llm_client_totals(llm, &t);
        if (!warned_budget && t.budget_usd > 0 && t.cost_usd >= 0.8 * t.budget_usd) {
            warned_budget = 1;
            char *m = ct_xasprintf("Budget notice: $%.4f of the $%.4f budget is spent ($%.4f "
                                   "left). Prioritize writing your final conclusions now.",
                                   t.cost_usd, t.budget_usd, t.budget_usd - t.cost_usd);
            add_msg(out->messages, "user", m);
            emit(o, CT_AGENT_EV_BUDGET_WARNING, step, 0, m);
            free(m);
        }
        ct_llm_response resp;
        ct_error lerr;
        ct_error_clear(&lerr);
        if (is_cancelled(o)) { /* compaction may have taken a while */
            status = CT_AGENT_CANCELLED;
            break;
        }
        int st = ct_llm_chat(llm, &req, &resp, &lerr);
        if (st == CT_ECANCELED || (st != CT_OK && is_cancelled(o))) {
            status = CT_AGENT_CANCELLED;
            break;
        }
        if (st != CT_OK && tools_on && o->tools_fallback && out->llm_calls == 0 &&
            tools_refused(lerr.msg)) {
            tools_on = 0;
            out->tools_disabled = 1;
            char *m = ct_xasprintf("the endpoint refused the request with tools (%s); using one "
                                   "bash block per turn",
                                   lerr.msg);
            emit(o, CT_AGENT_EV_WARNING, step, 0, m);
            free(m);
            continue;
        }
        if (st != CT_OK) {
            status = CT_AGENT_ERROR;
            if (err) *err = lerr;
            rc = st;
            break;
        }
        out->llm_calls++;
        if (tools_on && json_array_size(resp.tool_calls) > 0) {
            int finished = run_tools(o, out, &resp, step, &rejections, max_reject);
            ct_llm_response_free(&resp);
            fmt_streak = 0;
            if (finished) {
                status = CT_AGENT_COMPLETE;
                break;
            }
            if (o->after_turn) o->after_turn(o->turn_ud, out->messages, out->llm_calls);
            continue;
        }
        add_msg(out->messages, "assistant", resp.content);
        char preview[PREVIEW_BYTES + 1];
        snprintf(preview, sizeof preview, "%s", resp.content);
        emit(o, CT_AGENT_EV_LLM_RESPONSE, step, 0, preview);
        char *cmd = NULL;
        int n = ct_agent_extract_bash(resp.content, &cmd);
        ct_llm_response_free(&resp);
        if (n != 1) {
            out->format_errors++;
            emit(o, CT_AGENT_EV_FORMAT_ERROR, step, n, NULL);
            if (++fmt_streak >= max_fmt) {
                status = CT_AGENT_FORMAT_ERRORS;
                break;
            }
            char *m = ct_xasprintf("Format error: your reply must contain exactly one ```bash "
                                   "block with one command; found %d. Reply again with exactly "
                                   "one.",
                                   n);
            add_msg(out->messages, "user", m);
            free(m);
            continue;
        }
        fmt_streak = 0;
        if (is_cancelled(o)) { /* the reply is in the transcript; its command never runs */
            free(cmd);
            status = CT_AGENT_CANCELLED;
            break;
        }
        emit(o, CT_AGENT_EV_TOOL_EXEC, step, 0, cmd);
        ct_sandbox_opts so;
        memset(&so, 0, sizeof so);
        so.scratch_dir = o->work_dir;
        so.timeout_s = o->command_timeout_s > 0 ? o->command_timeout_s : 60;
        if (o->wall_limit_s > 0) { /* a command never runs past the run's wall clock */
            double left = o->wall_limit_s - (now_s() - start);
            if (left < 1) left = 1;
            if (so.timeout_s > left) so.timeout_s = left;
        }
        so.output_cap = o->output_cap > 0 ? o->output_cap : 65536;
        so.mode = o->sandbox_mode;
        so.cancel = o->cancel; /* a cancel kills a running command at once */
        ct_sandbox_result sr;
        ct_error serr;
        ct_error_clear(&serr);
        out->commands++;
        ct_buf obs = CT_BUF_INIT;
        char *final_rest = NULL;
        if (ct_sandbox_run(cmd, &so, &sr, &serr) != CT_OK) {
            ct_buf_printf(&obs,
                          "<returncode>-1</returncode>\n<output>\nthe command could not "
                          "be started: %s\n</output>",
                          serr.msg);
            sr.exit_code = -1;
        } else if (sr.cancelled) {
            /* killed by the cancel: the run stops here, the transcript says why */
            char *text = sanitize(sr.output, sr.output_len);
            ct_buf_printf(&obs,
                          "The command was cancelled after %.1f s and killed.\n<output>\n%s"
                          "</output>",
                          sr.elapsed_s, text);
            free(text);
            add_msg(out->messages, "user", obs.data);
            emit(o, CT_AGENT_EV_OBSERVATION, step, sr.exit_code, obs.data);
            ct_buf_free(&obs);
            ct_sandbox_result_free(&sr);
            free(cmd);
            status = CT_AGENT_CANCELLED;
            break;
        } else {
            char *text = sanitize(sr.output, sr.output_len);
            const char *reject = NULL;
            if (!sr.timed_out && is_final(sr.output, sr.output_len, &final_rest) && o->on_finish &&
                rejections < max_reject &&
                (reject = o->on_finish(o->finish_ud, out->messages)) != NULL) {
                rejections++;
                free(final_rest);
                final_rest = NULL;
                add_msg(out->messages, "user", reject);
                emit(o, CT_AGENT_EV_WARNING, step, 0, reject);
                free(text);
                ct_sandbox_result_free(&sr);
                free(cmd);
                ct_buf_free(&obs);
                continue;
            }
            if (final_rest) {
                free(text);
                ct_sandbox_result_free(&sr);
                free(cmd);
                ct_buf_free(&obs);
                free(out->final_output);
                out->final_output = final_rest;
                status = CT_AGENT_COMPLETE;
                break;
            }
            if (sr.timed_out)
                ct_buf_printf(&obs,
                              "The command timed out after %.0f s and was killed.\n<output>\n%s"
                              "</output>",
                              so.timeout_s, text);
            else
                ct_buf_printf(&obs, "<returncode>%d</returncode>\n<output>\n%s</output>",
                              sr.exit_code, text);
            free(text);
        }
        add_msg(out->messages, "user", obs.data ? obs.data : "");
        emit(o, CT_AGENT_EV_OBSERVATION, step, sr.exit_code, obs.data);
        ct_buf_free(&obs);
        ct_sandbox_result_free(&sr);
        free(cmd);
        if (o->after_turn) o->after_turn(o->turn_ud, out->messages, out->llm_calls);
    }
    if (out->llm_calls > reported) emit_usage(llm, o, &t0, out->llm_calls);
    out->status = status;
    ct_llm_totals t1;
    ct_llm_client_totals(llm, &t1);
    out->cost_usd = t1.cost_usd - t0.cost_usd;
    emit(o, CT_AGENT_EV_DONE, out->llm_calls, (int)status, ct_agent_status_name(status));
    return rc;
}

void ct_agent_result_free(ct_agent_result *r)
{
    if (!r) return;
    free(r->final_output);
    json_decref(r->messages);
    memset(r, 0, sizeof *r);
}

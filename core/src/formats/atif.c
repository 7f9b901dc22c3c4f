/* formats/atif.c — Harbor trials with an ATIF trajectory (agent/trajectory.json,
 * schema_version "ATIF-v1.x").
 *
 * Step = one tool call of an agent step (the data has one per step; several calls in one step
 * are parallel and share a group). Observation = observation.results[] with the call's
 * source_call_id. Thought = reasoning_content/message of the step and of the agent steps
 * without tool calls just before it. Task = the first user step. The outcome comes from the
 * trial's result.json (verifier_result.rewards.reward, exception_info) or, without it, from
 * verifier/reward.txt and exception.txt. */
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

extern const ct_loader ct_loader_claude_code;

#define MAX_STEPS 200000

static int has_file(ct_fs *fs, const char *dir, const char *name)
{
    char *p = ct_path_join(dir, name);
    int r = ct_fs_is_file(fs, p);
    free(p);
    return r;
}

static int has_dir(ct_fs *fs, const char *dir, const char *name)
{
    char *p = ct_path_join(dir, name);
    int r = ct_fs_is_dir(fs, p);
    free(p);
    return r;
}

int ct_fmt_is_harbor_trial(ct_fs *fs, const char *rel)
{
    return (has_file(fs, rel, "result.json") || has_file(fs, rel, "config.json")) &&
           (has_dir(fs, rel, "agent") || has_dir(fs, rel, "verifier"));
}

/* ---- Harbor trial outcome ------------------------------------------------------------------- */

static int read_small(ct_fs *fs, const char *dir, const char *name, ct_buf *b)
{
    char *p = ct_path_join(dir, name);
    int ok = ct_fs_is_file(fs, p) && ct_fs_read(fs, p, b, 1 << 20, NULL) == CT_OK &&
             !ct_is_lfs_pointer(b->data, b->len);
    free(p);
    return ok;
}

static json_t *read_json_obj(ct_fs *fs, const char *dir, const char *name)
{
    char *p = ct_path_join(dir, name);
    ct_buf raw = CT_BUF_INIT;
    json_t *j = NULL;
    if (ct_fs_is_file(fs, p)) ct_fmt_read_json(fs, p, &raw, &j, NULL);
    ct_buf_free(&raw);
    free(p);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static void set_reward(ct_trajectory *t, double r)
{
    t->has_reward = 1;
    t->reward = r;
    t->solved = r >= 1.0 - 1e-9 ? CT_TRUE : CT_FALSE;
}

/* verifier/reward.txt: 1 = value parsed, 0 = empty (unknown), -1 = absent or unreadable. */
static int reward_txt(ct_fs *fs, const char *trial, double *out)
{
    ct_buf b = CT_BUF_INIT;
    int rc = -1;
    if (read_small(fs, trial, "verifier/reward.txt", &b)) {
        const char *p = b.data ? b.data : "";
        while (isspace((unsigned char)*p))
            p++;
        if (!*p) {
            rc = 0;
        } else {
            char *end;
            double v = strtod(p, &end);
            while (isspace((unsigned char)*end))
                end++;
            rc = end != p && !*end ? 1 : -1;
            if (rc == 1) *out = v;
        }
    }
    ct_buf_free(&b);
    return rc;
}

static const char *agent_display(const char *name)
{
    if (!name) return NULL;
    if (strcmp(name, "claude-code") == 0) return "Claude Code";
    if (strcmp(name, "terminus-2") == 0) return "Terminus-2";
    if (strcmp(name, "terminus") == 0) return "Terminus";
    if (strcmp(name, "openhands") == 0) return "OpenHands";
    if (strcmp(name, "mini-swe-agent") == 0) return "mini-SWE-agent";
    if (strcmp(name, "codex") == 0) return "Codex CLI";
    return NULL;
}

void ct_fmt_harbor_trial_fill(ct_fs *fs, const char *trial, ct_trajectory *t)
{
    json_t *res = read_json_obj(fs, trial, "result.json");
    json_t *cfg = read_json_obj(fs, trial, "config.json");
    const char *exc_type = NULL;
    if (res) {
        static const char *keys[] = {"task_name", "trial_name", "source", "started_at",
                                     "finished_at"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            json_t *v = json_object_get(res, keys[i]);
            if (json_is_string(v)) json_object_set(t->metadata, keys[i], v);
        }
        json_t *ai = json_object_get(res, "agent_info");
        const char *an = ct_fmt_str(ai, "name");
        if (an) json_object_set_new(t->metadata, "agent_name", json_string(an));
        if (ct_fmt_str(ai, "version"))
            json_object_set_new(t->metadata, "agent_version",
                                json_string(ct_fmt_str(ai, "version")));
        if (!t->agent && agent_display(an)) t->agent = agent_display(an);
        const char *mn = ct_fmt_str(json_object_get(ai, "model_info"), "name");
        if (!t->model && mn) t->model = ct_traj_strdup(t, mn);
        json_t *ar = json_object_get(res, "agent_result");
        static const char *akeys[] = {"n_input_tokens", "n_cache_tokens", "n_output_tokens",
                                      "cost_usd"};
        for (size_t i = 0; i < sizeof akeys / sizeof akeys[0]; i++) {
            json_t *v = json_object_get(ar, akeys[i]);
            if (json_is_number(v)) json_object_set(t->metadata, akeys[i], v);
        }
        json_t *rw = json_object_get(
            json_object_get(json_object_get(res, "verifier_result"), "rewards"), "reward");
        double txt;
        int has_txt = reward_txt(fs, trial, &txt);
        if (json_is_number(rw)) {
            set_reward(t, json_number_value(rw));
        } else if (has_txt == 1) {
            ct_traj_warn(
                t,
                "result.json has no verifier result; verifier/reward.txt says %g but the verifier "
                "did not complete, so the reward is left unknown",
                txt);
        }
        json_t *ex = json_object_get(res, "exception_info");
        exc_type = ct_fmt_str(ex, "exception_type");
        if (exc_type) {
            t->exit_status = ct_traj_strdup(t, exc_type);
            const char *msg = ct_fmt_str(ex, "exception_message");
            ct_traj_warn(t, "the trial ended with %s%s%s", exc_type, msg ? ": " : "",
                         msg ? msg : "");
        }
    } else {
        double v;
        int r = reward_txt(fs, trial, &v);
        if (r == 1)
            set_reward(t, v);
        else if (r == 0)
            ct_traj_warn(
                t, "verifier/reward.txt is empty (the verifier did not finish): outcome unknown");
    }
    if (!exc_type) {
        /* exception.txt: a Python traceback; its last line names the exception. */
        ct_buf b = CT_BUF_INIT;
        if (read_small(fs, trial, "exception.txt", &b) && b.len) {
            size_t e = b.len;
            while (e && isspace((unsigned char)b.data[e - 1]))
                e--;
            size_t s = e;
            while (s && b.data[s - 1] != '\n')
                s--;
            char *last = ct_xstrndup(b.data + s, e - s);
            char *colon = strchr(last, ':');
            char *name = ct_xstrndup(last, colon ? (size_t)(colon - last) : strlen(last));
            const char *dot = strrchr(name, '.');
            t->exit_status = ct_traj_strdup(t, dot ? dot + 1 : name);
            ct_traj_warn(t, "the trial ended with an exception (exception.txt): %s", last);
            free(name);
            free(last);
        }
        ct_buf_free(&b);
    }
    if (cfg) {
        json_t *ag = json_object_get(cfg, "agent");
        const char *an = ct_fmt_str(ag, "name");
        if (!t->agent && agent_display(an)) t->agent = agent_display(an);
        if (!json_object_get(t->metadata, "agent_name") && an)
            json_object_set_new(t->metadata, "agent_name", json_string(an));
        if (!t->model && ct_fmt_str(ag, "model_name"))
            t->model = ct_traj_strdup(t, ct_fmt_str(ag, "model_name"));
        const char *task = ct_fmt_str(json_object_get(cfg, "task"), "path");
        if (task && !json_object_get(t->metadata, "task_name"))
            json_object_set_new(t->metadata, "task_name", json_string(task));
    }
    json_decref(res);
    json_decref(cfg);
}

/* ---- ATIF trajectory ---------------------------------------------------------------------- */

/* Harbor's converter writes "Executed <tool> <call id>" as the message of a tool step: not a
 * thought. */
static int synthetic_message(const char *m)
{
    return m && strncmp(m, "Executed ", 9) == 0 && !strchr(m, '\n') && strlen(m) < 200;
}

static void add_piece(ct_buf *b, const char *s)
{
    if (!s) return;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s) return;
    if (b->len && ct_memstr(b->data, b->len, s)) return; /* repeated reasoning */
    if (b->len) ct_buf_putc(b, '\n');
    ct_buf_puts(b, s);
}

static const char *text_of(ct_trajectory *t, json_t *v)
{
    return ct_fmt_content_text(t, v);
}

static void fill_tool(ct_trajectory *t, ct_step *s, const char *fn, json_t *args)
{
    /* Tool names are the agent's own; Claude Code's are the common case. A lower-case shell
     * tool with a command/keystrokes argument (terminus-2, codex) is a shell step. */
    const char *cmd = ct_fmt_str(args, "command");
    if (!cmd) cmd = ct_fmt_str(args, "keystrokes");
    if (fn && cmd && islower((unsigned char)fn[0]) &&
        (strstr(fn, "bash") || strstr(fn, "shell") || strstr(fn, "exec") ||
         strstr(fn, "terminal") || strstr(fn, "command"))) {
        s->tool = ct_traj_strdup(t, fn);
        s->action = ct_traj_strdup(t, cmd);
        s->kind = ct_fmt_kind_from_shell(cmd);
        if (s->kind == CT_KIND_SUBMIT && !strstr(cmd, "COMPLETE_TASK")) s->kind = CT_KIND_BASH;
        return;
    }
    ct_fmt_claude_tool(t, s, fn, args);
}

static int load_atif(ct_fs *fs, const char *file, const char *trial, const char *display,
                     ct_traj_list *out, ct_error *err)
{
    ct_buf raw = CT_BUF_INIT;
    json_t *root = NULL;
    int rc = ct_fmt_read_json(fs, file, &raw, &root, err);
    if (rc != CT_OK) {
        ct_buf_free(&raw);
        return rc;
    }
    const char *fdisplay = ct_fs_display(fs, file);
    char *fdisp = ct_xstrdup(fdisplay);
    json_t *steps = json_object_get(root, "steps");
    if (!json_is_object(root) || !json_is_array(steps)) {
        rc = ct_error_setf(err, CT_EFORMAT, fdisp, -1, 0,
                           "ATIF trajectory without a \"steps\" array");
        goto done;
    }
    ct_trajectory *t = ct_traj_new("harbor-atif", display);
    const char *sv = ct_fmt_str(root, "schema_version");
    t->format_version = ct_traj_strdup(t, sv);
    json_t *agent = json_object_get(root, "agent");
    const char *aname = ct_fmt_str(agent, "name");
    t->agent = agent_display(aname) ? agent_display(aname)
                                    : ct_traj_strdup(t, aname ? aname : "Harbor agent");
    t->model = ct_traj_strdup(t, ct_fmt_str(agent, "model_name"));
    if (aname) json_object_set_new(t->metadata, "agent_name", json_string(aname));
    if (ct_fmt_str(agent, "version"))
        json_object_set_new(t->metadata, "agent_version",
                            json_string(ct_fmt_str(agent, "version")));
    if (ct_fmt_str(root, "session_id"))
        json_object_set_new(t->metadata, "session_id", json_string(ct_fmt_str(root, "session_id")));
    json_t *fm = json_object_get(root, "final_metrics");
    if (json_is_object(fm)) json_object_set(t->metadata, "final_metrics", fm);
    if (trial && ct_fmt_is_harbor_trial(fs, trial)) ct_fmt_harbor_trial_fill(fs, trial, t);

    /* Raw spans of the steps, for source ranges. */
    ct_lines li;
    ct_lines_build(&li, raw.data, raw.len);
    ct_span *spans = NULL;
    long nspans = -1;
    ct_span sa;
    static const char *const steps_path[] = {"steps"};
    if (ct_json_find(raw.data, raw.len, 0, steps_path, 1, &sa) == 0)
        nspans = ct_json_array_spans(raw.data, raw.len, sa.start, &spans);

    ct_buf pending = CT_BUF_INIT;
    int group = 0, missing = 0, limited = 0, n_user = 0;
    size_t i;
    json_t *st;
    json_array_foreach(steps, i, st)
    {
        if (!json_is_object(st)) continue;
        const char *src = ct_fmt_str(st, "source");
        json_t *msg = json_object_get(st, "message");
        if (src && strcmp(src, "user") == 0) {
            n_user++;
            if (!t->task) t->task = text_of(t, msg);
            ct_buf_clear(&pending);
            continue;
        }
        if (src && strcmp(src, "system") == 0) continue;
        json_t *calls = json_object_get(st, "tool_calls");
        const char *reason = ct_fmt_str(st, "reasoning_content");
        const char *mtext = text_of(t, msg);
        if (!json_is_array(calls) || json_array_size(calls) == 0) {
            add_piece(&pending, reason);
            if (!synthetic_message(mtext)) add_piece(&pending, mtext);
            continue;
        }
        add_piece(&pending, reason);
        if (!synthetic_message(mtext)) add_piece(&pending, mtext);
        json_t *results = json_object_get(json_object_get(st, "observation"), "results");
        json_t *extra = json_object_get(st, "extra");
        json_t *is_err = json_object_get(extra, "tool_result_is_error");
        if (!json_is_boolean(is_err))
            is_err = json_object_get(json_object_get(extra, "tool_result_metadata"), "is_error");
        ct_span obs_span;
        int has_obs_span = 0;
        if (nspans > 0 && (long)i < nspans) {
            static const char *const obs_path[] = {"observation"};
            has_obs_span =
                ct_json_find(raw.data, raw.len, spans[i].start, obs_path, 1, &obs_span) == 0;
        }
        int ncalls = (int)json_array_size(calls);
        if (ncalls > 1) group++;
        size_t k;
        json_t *call;
        json_array_foreach(calls, k, call)
        {
            if (t->n_steps >= MAX_STEPS) {
                limited = 1;
                break;
            }
            ct_step *s = ct_traj_add_step(t);
            fill_tool(t, s, ct_fmt_str(call, "function_name"), json_object_get(call, "arguments"));
            if (k == 0 && pending.len) s->thought = ct_traj_strndup(t, pending.data, pending.len);
            s->timestamp = ct_traj_strdup(t, ct_fmt_str(st, "timestamp"));
            if (ncalls > 1) s->parallel_group = group;
            const char *cid = ct_fmt_str(call, "tool_call_id");
            size_t r;
            json_t *res;
            json_array_foreach(results, r, res)
            {
                const char *sid = ct_fmt_str(res, "source_call_id");
                if ((sid && cid && strcmp(sid, cid) == 0) || (!sid && ncalls == 1)) {
                    const char *c = text_of(t, json_object_get(res, "content"));
                    s->observation = c ? c : "";
                    break;
                }
            }
            if (!s->observation) {
                missing++;
            } else if (json_is_boolean(is_err) && ncalls == 1) {
                s->has_exit_code = 1;
                s->exit_code = ct_fmt_claude_exit_code(s->observation, json_is_true(is_err));
            } else if (ncalls > 1 && ct_str_starts(s->observation, "Exit code ")) {
                /* the step's error flag covers all its calls; only the text tells them apart */
                s->has_exit_code = 1;
                s->exit_code = ct_fmt_claude_exit_code(s->observation, 1);
            }
            if (nspans > 0 && (long)i < nspans) {
                ct_fmt_set_src(t, &s->src, fdisp, &li, spans[i].start, spans[i].end);
                if (s->observation && has_obs_span)
                    ct_fmt_set_src(t, &s->obs_src, fdisp, &li, obs_span.start, obs_span.end);
            }
        }
        ct_buf_clear(&pending);
    }
    if (limited) ct_traj_warn(t, "stopped after %d steps (limit)", MAX_STEPS);
    if (n_user == 0) ct_traj_warn(t, "no user step: the task statement is missing");
    if (t->n_steps == 0) ct_traj_warn(t, "no tool calls in the trajectory: zero steps");
    if (missing)
        ct_traj_warn(
            t, "%d tool call%s no observation (the agent was stopped before the result came back)",
            missing, missing == 1 ? " has" : "s have");
    ct_buf_free(&pending);
    free(spans);
    ct_lines_free(&li);
    ct_traj_list_push(out, t);
    rc = CT_OK;
done:
    json_decref(root);
    ct_buf_free(&raw);
    free(fdisp);
    return rc;
}

static int head_is_atif(ct_fs *fs, const char *rel)
{
    ct_buf b = CT_BUF_INIT;
    int yes = ct_fmt_head(fs, rel, &b, 4096) == 0 && b.data &&
              ct_memstr(b.data, b.len, "\"schema_version\"") && ct_memstr(b.data, b.len, "\"ATIF-");
    ct_buf_free(&b);
    return yes;
}

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    if (is_dir) {
        char *p = ct_path_join(rel, "agent/trajectory.json");
        int yes = ct_fs_is_file(fs, p) && head_is_atif(fs, p);
        free(p);
        return yes ? CT_DETECT_SURE : CT_DETECT_NO;
    }
    if (!ct_str_ends(rel, ".json")) return CT_DETECT_NO;
    return head_is_atif(fs, rel) ? CT_DETECT_SURE : CT_DETECT_NO;
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    char *display = ct_xstrdup(ct_fs_display(fs, rel));
    char *file, *trial;
    if (is_dir) {
        file = ct_path_join(rel, "agent/trajectory.json");
        trial = ct_xstrdup(rel);
    } else {
        file = ct_xstrdup(rel);
        char *parent = ct_path_parent(rel);
        char *base = ct_path_base(parent);
        trial = !*parent                     ? ct_xstrdup("..")
                : strcmp(base, "agent") == 0 ? ct_path_parent(parent)
                                             : ct_xstrdup(parent);
        free(parent);
        free(base);
    }
    int rc = load_atif(fs, file, trial, display, out, err);
    /* A damaged trajectory.json beside the raw Claude Code stream: fall back to the stream. */
    if (rc != CT_OK && is_dir && has_file(fs, rel, "agent/claude-code.txt")) {
        ct_error why = err ? *err : (ct_error){0};
        ct_error e2;
        ct_error_clear(&e2);
        size_t before = out->n;
        if (ct_loader_claude_code.load(fs, rel, 1, out, &e2) == CT_OK && out->n > before) {
            ct_traj_warn(out->items[out->n - 1],
                         "agent/trajectory.json could not be used (%s); steps come from "
                         "agent/claude-code.txt",
                         why.msg);
            if (err) ct_error_clear(err);
            rc = CT_OK;
        }
    }
    free(file);
    free(trial);
    free(display);
    return rc;
}

const ct_loader ct_loader_atif = {
    .name = "harbor-atif",
    .agent = "Harbor",
    .summary =
        "Harbor trial with an ATIF agent/trajectory.json (+ result.json, verifier/reward.txt)",
    .detection =
        "agent/trajectory.json (or a .json) whose head has \"schema_version\": \"ATIF-...\"",
    .detect = detect,
    .load = load,
};

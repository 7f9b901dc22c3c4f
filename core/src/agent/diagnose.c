/* diagnose.c — a trajectory diagnosed by the agent loop: the work dir files the agent reads
 * (task.md, index.md, steps/N.json), the prompts, and the labels file it writes, checked:
 * known step ids and labels only, and only for steps the agent actually opened. */
#include "ct/agent.h"
#include "ct/buf.h"
#include "ct/config.h"
#include "ct/sandbox.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OUTPUT_FILE "labels.json"
#define INDEX_ACTION_CHARS 120
#define MAX_LABELS_BYTES (4u << 20)

/* ct_utf8_sanitize(s, 0) currently returns an unterminated buffer (core/src/buf.c): never
 * call it with an empty input. */
static char *sanitize(const char *s, size_t n)
{
    return n ? ct_utf8_sanitize(s, n) : ct_xstrdup("");
}

int ct_agent_render(const char *tmpl, const json_t *vars, char **out, ct_error *err)
{
    *out = NULL;
    ct_buf b = CT_BUF_INIT;
    const char *p = tmpl;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            ct_buf_puts(&b, p);
            break;
        }
        ct_buf_append(&b, p, (size_t)(open - p));
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            ct_buf_free(&b);
            return ct_error_set(err, CT_EINVAL, "prompt template: unclosed {{ at byte %zu",
                                (size_t)(open - tmpl));
        }
        char name[64];
        const char *a = open + 2, *e = close;
        while (a < e && isspace((unsigned char)*a))
            a++;
        while (e > a && isspace((unsigned char)e[-1]))
            e--;
        size_t n = (size_t)(e - a);
        if (n == 0 || n >= sizeof name) {
            ct_buf_free(&b);
            return ct_error_set(err, CT_EINVAL, "prompt template: bad variable at byte %zu",
                                (size_t)(open - tmpl));
        }
        memcpy(name, a, n);
        name[n] = 0;
        const json_t *v = json_object_get(vars, name);
        if (json_is_string(v))
            ct_buf_append(&b, json_string_value(v), json_string_length(v));
        else if (json_is_integer(v))
            ct_buf_printf(&b, "%lld", (long long)json_integer_value(v));
        else {
            ct_buf_free(&b);
            return ct_error_set(err, CT_EINVAL, "prompt template: unknown variable {{%s}}", name);
        }
        p = close + 2;
    }
    *out = ct_buf_steal(&b);
    return CT_OK;
}

static int write_text(const char *path, const char *text, size_t len, ct_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f) return ct_error_setf(err, CT_EIO, path, -1, 0, "cannot write: %s", strerror(errno));
    size_t w = fwrite(text, 1, len, f);
    int bad = fclose(f) != 0 || w != len;
    return bad ? ct_error_setf(err, CT_EIO, path, -1, 0, "cannot write") : CT_OK;
}

/* One line per step: "N. [kind] first line of the action (exit X)". */
static char *build_index(const ct_trajectory *t)
{
    ct_buf b = CT_BUF_INIT;
    for (size_t i = 0; i < t->n_steps; i++) {
        const ct_step *s = &t->steps[i];
        ct_buf_printf(&b, "%d. [%s] ", s->step_id, ct_step_kind_name(s->kind));
        const char *a = s->action ? s->action : "";
        size_t n = strcspn(a, "\n");
        int cut = n > INDEX_ACTION_CHARS || a[n] == '\n';
        if (n > INDEX_ACTION_CHARS) n = INDEX_ACTION_CHARS;
        char *clean = sanitize(a, n);
        ct_buf_puts(&b, clean);
        free(clean);
        if (cut) ct_buf_puts(&b, " ...");
        if (s->has_exit_code) ct_buf_printf(&b, " (exit %d)", s->exit_code);
        ct_buf_putc(&b, '\n');
    }
    return ct_buf_steal(&b);
}

static int prepare_work_dir(const ct_trajectory *t, const char *dir, ct_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/steps", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return ct_error_setf(err, CT_EIO, path, -1, 0, "cannot create: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/task.md", dir);
    const char *task = t->task ? t->task : "(the trajectory has no task statement)";
    int rc = write_text(path, task, strlen(task), err);
    if (rc) return rc;
    char *index = build_index(t);
    snprintf(path, sizeof path, "%s/index.md", dir);
    rc = write_text(path, index, strlen(index), err);
    free(index);
    for (size_t i = 0; rc == CT_OK && i < t->n_steps; i++) {
        json_t *j = ct_step_to_json(&t->steps[i]);
        char *s = j ? json_dumps(j, JSON_INDENT(1)) : NULL;
        json_decref(j);
        snprintf(path, sizeof path, "%s/steps/%d.json", dir, t->steps[i].step_id);
        rc = write_text(path, s ? s : "{}", s ? strlen(s) : 2, err);
        free(s);
    }
    snprintf(path, sizeof path, "%s/" OUTPUT_FILE, dir);
    remove(path); /* never read a stale file from an earlier run */
    return rc;
}

/* Steps whose steps/N.json a command of the run named. inspected[N] = 1. */
static unsigned char *inspected_steps(const json_t *messages, size_t n_steps)
{
    unsigned char *seen = ct_xcalloc(n_steps + 1, 1);
    size_t i;
    const json_t *m;
    json_array_foreach(messages, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *content = json_string_value(json_object_get(m, "content"));
        if (!role || strcmp(role, "assistant") != 0 || !content) continue;
        char *cmd;
        if (ct_agent_extract_bash(content, &cmd) != 1) continue; /* not executed */
        for (const char *p = cmd; (p = strstr(p, "steps/")) != NULL;) {
            p += 6;
            char *end;
            long id = strtol(p, &end, 10);
            if (end != p && strncmp(end, ".json", 5) == 0 && id >= 1 && (size_t)id <= n_steps)
                seen[id] = 1;
        }
        free(cmd);
    }
    return seen;
}

/* The enforced part of "inspect at least 3 distinct steps before finishing". */
typedef struct finish_check {
    size_t n_steps;
    char msg[256];
} finish_check;

static const char *check_finish(void *ud, const json_t *messages)
{
    finish_check *f = ud;
    unsigned char *seen = inspected_steps(messages, f->n_steps);
    size_t n = 0;
    for (size_t i = 1; i <= f->n_steps; i++)
        n += seen[i];
    free(seen);
    size_t need = f->n_steps < 3 ? f->n_steps : 3;
    if (n >= need) return NULL;
    snprintf(f->msg, sizeof f->msg,
             "Not finished: inspect at least %zu distinct steps (cat steps/N.json, spread across "
             "the run) before finishing; you have inspected %zu. Then finish again.",
             need, n);
    return f->msg;
}

static void warn(ct_agent_event_fn fn, void *ud, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn(ct_agent_event_fn fn, void *ud, const char *fmt, ...)
{
    if (!fn) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(ud, CT_AGENT_EV_WARNING, 0, 0, msg);
}

static void read_labels(ct_analysis *a, const ct_trajectory *t, const char *dir,
                        const unsigned char *seen, ct_agent_event_fn fn, void *ud)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/" OUTPUT_FILE, dir);
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        warn(fn, ud, "%s: no usable labels file (%s); every step stays correct", path, je.text);
        return;
    }
    const json_t *labels = json_object_get(j, "labels");
    if (!json_is_array(labels)) {
        warn(fn, ud, "%s: expected an object with a \"labels\" array", path);
        json_decref(j);
        return;
    }
    size_t i;
    const json_t *l;
    json_array_foreach(labels, i, l)
    {
        const json_t *id = json_object_get(l, "step_id");
        const char *name = json_string_value(json_object_get(l, "label"));
        const char *why = json_string_value(json_object_get(l, "reasoning"));
        ct_label_kind kind;
        if (!json_is_integer(id) || json_integer_value(id) < 1 ||
            (size_t)json_integer_value(id) > t->n_steps) {
            warn(fn, ud, "labels[%zu]: step_id is not a step of this trajectory (1..%zu)", i,
                 t->n_steps);
            continue;
        }
        int sid = (int)json_integer_value(id);
        if (!name || ct_label_from_name(name, &kind) != 0) {
            warn(fn, ud, "labels[%zu]: label must be incorrect, unuseful or correct", i);
            continue;
        }
        if (!seen[sid]) {
            warn(fn, ud, "step %d: label dropped, steps/%d.json was never opened in this run", sid,
                 sid);
            continue;
        }
        int ev[32];
        size_t nev = 0;
        const json_t *evs = json_object_get(l, "evidence");
        size_t k;
        const json_t *e;
        json_array_foreach(evs, k, e)
        {
            if (nev < 32 && json_is_integer(e) && json_integer_value(e) >= 1 &&
                (size_t)json_integer_value(e) <= t->n_steps)
                ev[nev++] = (int)json_integer_value(e);
        }
        ct_analysis_set_label(a, sid, kind, kind == CT_LABEL_CORRECT ? NULL : "llm", why ? why : "",
                              ev, nev);
    }
    const json_t *chain = json_object_get(j, "root_cause_chain");
    const json_t *c;
    json_array_foreach(chain, i, c) if (json_is_string(c))
        ct_analysis_add_root_cause(a, json_string_value(c));
    const char *summary = json_string_value(json_object_get(j, "summary"));
    if (summary) a->summary = ct_analysis_strdup(a, summary);
    json_decref(j);
}

ct_analysis *ct_agent_diagnose(ct_llm_client *llm, const ct_trajectory *t, const json_t *cfg,
                               const char *work_dir, ct_agent_event_fn on_event, void *ud,
                               ct_error *err)
{
    if (!llm || !t || !work_dir) {
        ct_error_set(err, CT_EINVAL, "agent: a client, a trajectory and a work dir are needed");
        return NULL;
    }
    if (t->n_steps == 0) {
        ct_error_set(err, CT_EEMPTY, "agent: the trajectory has no steps to diagnose");
        return NULL;
    }
    if (prepare_work_dir(t, work_dir, err) != CT_OK) return NULL;
    char *index = build_index(t);
    json_t *vars = json_pack(
        "{s:s, s:s, s:I, s:s, s:s}", "task", t->task ? t->task : "(no task statement)", "index",
        index, "n_steps", (json_int_t)t->n_steps, "work_dir", work_dir, "output_file", OUTPUT_FILE);
    free(index);
    char *sys = NULL, *inst = NULL;
    const char *st = ct_config_str(cfg, "trace.system_template", "");
    const char *it = ct_config_str(cfg, "trace.instance_template", "");
    if (!vars || ct_agent_render(st, vars, &sys, err) != CT_OK ||
        ct_agent_render(it, vars, &inst, err) != CT_OK) {
        if (!vars) ct_error_set(err, CT_EINVAL, "agent: the task text is not valid UTF-8");
        json_decref(vars);
        free(sys);
        return NULL;
    }
    json_decref(vars);
    int mode = ct_sandbox_mode_parse(ct_config_str(cfg, "trace.sandbox", "auto"));
    ct_agent_opts o;
    memset(&o, 0, sizeof o);
    o.system_prompt = sys;
    o.instance_prompt = inst;
    o.work_dir = work_dir;
    o.step_limit = (int)ct_config_int(cfg, "trace.step_limit", 0);
    o.wall_limit_s = ct_config_double(cfg, "trace.max_seconds", 1800);
    o.max_format_errors = (int)ct_config_int(cfg, "trace.max_format_errors", 3);
    o.command_timeout_s = ct_config_double(cfg, "trace.timeout", 60);
    long long cap = ct_config_int(cfg, "trace.output_cap", 65536);
    o.output_cap = cap > 0 ? (size_t)cap : 65536;
    o.sandbox_mode = mode < 0 ? CT_SANDBOX_AUTO : mode;
    o.context_tokens = ct_config_int(cfg, "trace.context_tokens", 115000);
    o.on_event = on_event;
    o.ud = ud;
    finish_check fc = {t->n_steps, ""};
    o.on_finish = check_finish;
    o.finish_ud = &fc;
    ct_llm_totals before, after;
    ct_llm_client_totals(llm, &before);
    ct_agent_result r;
    int rc = ct_agent_run(llm, &o, &r, err);
    free(sys);
    free(inst);
    if (rc != CT_OK) {
        ct_agent_result_free(&r);
        return NULL;
    }
    ct_llm_client_totals(llm, &after);
    ct_analysis *a = ct_analysis_new(t, "llm");
    a->model = ct_analysis_strdup(a, ct_llm_client_model(llm));
    a->cost_usd = after.cost_usd - before.cost_usd;
    a->tokens_in = after.prompt_tokens - before.prompt_tokens;
    a->tokens_out = after.completion_tokens - before.completion_tokens;
    if (r.status != CT_AGENT_COMPLETE) {
        a->partial = 1;
        a->stop_reason = ct_analysis_strdup(a, ct_agent_status_name(r.status));
    }
    unsigned char *seen = inspected_steps(r.messages, t->n_steps);
    read_labels(a, t, work_dir, seen, on_event, ud);
    free(seen);
    ct_agent_result_free(&r);
    return a;
}

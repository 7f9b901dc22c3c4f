/* diagnose.c — a trajectory diagnosed by the agent loop: the work dir files the agent reads
 * (steps.json, stage_ranges.json, tree.md, task.md, index.md, steps/N.json), the prompts, and the
 * labels file it writes, checked before the run may finish (known step ids and labels, only steps
 * the agent actually opened, the profile schemas) with one repair turn; hybrid mode (heuristic
 * candidates, merged verdicts); memory (prior knowledge in the system prompt, online extraction
 * between turns); the saved conversation. */
#include "ct/agent.h"
#include "ct/index.h"
#include "ct/buf.h"
#include "ct/config.h"
#include "ct/heuristic.h"
#include "ct/profiles.h"
#include "ct/sandbox.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
    /* The reference's layout first (steps.json, stage_ranges.json, tree.md, task.md), then our
     * index and one file per step, which is how inspection is tracked. */
    ct_stage *stages = NULL;
    size_t n_stages = 0;
    ct_stages_segment(t, &stages, &n_stages);
    ct_buf tree = CT_BUF_INIT;
    ct_tree_render(t, &tree);
    int rc = ct_profile_write_artifacts(dir, t, stages, n_stages, tree.data ? tree.data : "", err);
    ct_buf_free(&tree);
    free(stages);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/task.md", dir);
    const char *task = t->task ? t->task : "(the trajectory has no task statement)";
    rc = write_text(path, task, strlen(task), err);
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

/* ---- the run's state ---------------------------------------------------------------------- */
typedef struct diag_ctx {
    const ct_trajectory *t;
    const char *dir;
    unsigned char *seen; /* seen[N] = 1: a command of this run named steps/N.json */
    ct_agent_event_fn fn;
    void *ud;
    int count_refusals, output_refusals;
    char *msg; /* the last refusal (owned) */
    /* memory */
    ct_llm_client *llm;
    ct_memory *mem;
    int mem_every_steps, mem_max, mem_done, mem_last_step, mem_tokens_max;
    long long mem_every_tokens, mem_last_tokens;
    size_t mem_added;
    char traj_hash[65];
    size_t output_cap;
    int last_seen; /* the step inspected last (for CT_AGENT_EV_USAGE) */
} diag_ctx;

static void warn(diag_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(diag_ctx *c, const char *fmt, ...)
{
    if (!c->fn) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->fn(c->ud, CT_AGENT_EV_WARNING, 0, 0, msg);
}

static void mark_inspected(diag_ctx *c, const char *cmd)
{
    for (const char *p = cmd; (p = strstr(p, "steps/")) != NULL;) {
        p += 6;
        char *end;
        long id = strtol(p, &end, 10);
        if (end != p && strncmp(end, ".json", 5) == 0 && id >= 1 && (size_t)id <= c->t->n_steps) {
            c->seen[id] = 1;
            c->last_seen = (int)id;
        }
    }
}

/* Every executed command passes here, so the inspected set survives compaction. */
static void on_loop_event(void *ud, ct_agent_event_kind k, int step, int code, const char *text)
{
    diag_ctx *c = ud;
    if (k == CT_AGENT_EV_TOOL_EXEC && text) mark_inspected(c, text);
    if (k == CT_AGENT_EV_USAGE) code = c->last_seen;
    if (c->fn) c->fn(c->ud, k, step, code, text);
}

static size_t n_inspected(const diag_ctx *c)
{
    size_t n = 0;
    for (size_t i = 1; i <= c->t->n_steps; i++)
        n += c->seen[i];
    return n;
}

static void list_inspected(const diag_ctx *c, ct_buf *b)
{
    size_t k = 0;
    for (size_t i = 1; i <= c->t->n_steps; i++)
        if (c->seen[i]) ct_buf_printf(b, "%s%zu", k++ ? ", " : "", i);
    if (!k) ct_buf_puts(b, "none");
}

static void problem(ct_buf *pb, diag_ctx *c, int loud, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(ct_buf *pb, diag_ctx *c, int loud, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (pb) ct_buf_printf(pb, "- %s\n", msg);
    if (loud) warn(c, "%s", msg);
}

/* Read labels.json into a (its valid part) and return the number of problems: malformed file,
 * unknown step ids or labels, repeated steps, missing reasoning, bad evidence, steps never
 * inspected, a bad root_cause_chain or summary. Problems are listed in pb (may be NULL) and,
 * when loud, reported as warnings. */
static int load_labels(diag_ctx *c, ct_analysis *a, ct_buf *pb, int loud)
{
    const ct_trajectory *t = c->t;
    char path[4096];
    snprintf(path, sizeof path, "%s/" OUTPUT_FILE, c->dir);
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > (off_t)MAX_LABELS_BYTES) {
        problem(pb, c, loud, "%s: larger than %u bytes; every step stays correct", path,
                MAX_LABELS_BYTES);
        return 1;
    }
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        problem(pb, c, loud, "%s: no usable labels file (%s); every step stays correct", path,
                je.text);
        return 1;
    }
    int n = 0;
    const json_t *labels = json_object_get(j, "labels");
    if (!json_is_array(labels)) {
        problem(pb, c, loud, "%s: expected an object with a \"labels\" array", path);
        json_decref(j);
        return 1;
    }
    unsigned char *done = ct_xcalloc(t->n_steps + 1, 1);
    size_t i;
    const json_t *l;
    json_array_foreach(labels, i, l)
    {
        const json_t *id = json_object_get(l, "step_id");
        const char *name = json_string_value(json_object_get(l, "label"));
        const json_t *whyj = json_object_get(l, "reasoning");
        const char *why = json_string_value(whyj);
        ct_label_kind kind;
        if (!json_is_integer(id) || json_integer_value(id) < 1 ||
            (size_t)json_integer_value(id) > t->n_steps) {
            problem(pb, c, loud, "labels[%zu]: step_id is not a step of this trajectory (1..%zu)",
                    i, t->n_steps);
            n++;
            continue;
        }
        int sid = (int)json_integer_value(id);
        if (!name || ct_label_from_name(name, &kind) != 0) {
            problem(pb, c, loud, "labels[%zu]: label must be incorrect, unuseful or correct", i);
            n++;
            continue;
        }
        if (!c->seen[sid]) {
            problem(pb, c, loud,
                    "step %d: label dropped, steps/%d.json was never opened in this run", sid, sid);
            n++;
            continue;
        }
        if (done[sid]) {
            problem(pb, c, loud, "labels[%zu]: step %d is labelled twice; the first one is kept", i,
                    sid);
            n++;
            continue;
        }
        if (kind != CT_LABEL_CORRECT && (!why || !*why)) {
            problem(pb, c, loud, "labels[%zu]: step %d needs a non-empty \"reasoning\" string", i,
                    sid);
            n++;
            if (whyj && !json_is_string(whyj)) continue;
        }
        int ev[32];
        size_t nev = 0;
        const json_t *evs = json_object_get(l, "evidence");
        if (evs && !json_is_array(evs)) {
            problem(pb, c, loud, "labels[%zu].evidence: expected an array of step ids", i);
            n++;
        }
        size_t k;
        const json_t *e;
        json_array_foreach(evs, k, e)
        {
            if (json_is_integer(e) && json_integer_value(e) >= 1 &&
                (size_t)json_integer_value(e) <= t->n_steps) {
                if (nev < 32) ev[nev++] = (int)json_integer_value(e);
            } else {
                problem(pb, c, loud, "labels[%zu].evidence[%zu]: not a step id (1..%zu)", i, k,
                        t->n_steps);
                n++;
            }
        }
        done[sid] = 1;
        if (a)
            ct_analysis_set_label(a, sid, kind, kind == CT_LABEL_CORRECT ? NULL : "llm",
                                  why ? why : "", ev, nev);
    }
    free(done);
    const json_t *chain = json_object_get(j, "root_cause_chain");
    if (chain && !json_is_array(chain)) {
        problem(pb, c, loud, "root_cause_chain: expected an array of strings");
        n++;
    }
    const json_t *ch;
    json_array_foreach(chain, i, ch)
    {
        if (!json_is_string(ch)) {
            problem(pb, c, loud, "root_cause_chain[%zu]: expected a string", i);
            n++;
        } else if (a) {
            ct_analysis_add_root_cause(a, json_string_value(ch));
        }
    }
    const json_t *sum = json_object_get(j, "summary");
    if (sum && !json_is_string(sum)) {
        problem(pb, c, loud, "summary: expected a string");
        n++;
    } else if (sum && a) {
        a->summary = ct_analysis_strdup(a, json_string_value(sum));
    }
    json_decref(j);
    return n;
}

/* Validate every profile document built from a against its schema. */
static int validate_profiles(diag_ctx *c, const ct_analysis *a, ct_buf *pb, int loud)
{
    int n = 0;
    for (int p = 0; p < CT_PROFILE__COUNT; p++) {
        json_t *doc = ct_profile_build((ct_profile)p, a);
        size_t n_ids = 0;
        int *ids = ct_profile_ids((ct_profile)p, a, &n_ids);
        ct_error e;
        ct_error_clear(&e);
        if (!doc || ct_profile_validate((ct_profile)p, doc, ids, n_ids, &e) != CT_OK) {
            problem(pb, c, loud, "the %s profile built from your labels is invalid: %s",
                    ct_profile_name((ct_profile)p), doc ? e.msg : "cannot be built");
            n++;
        }
        free(ids);
        json_decref(doc);
    }
    return n;
}

/* The enforced rules before a run may finish: at least min(3, steps) distinct steps inspected
 * (refused twice at most), then an output that passes load_labels and the profile schemas (one
 * repair turn with the list of problems). */
static const char *check_finish(void *ud, const json_t *messages)
{
    (void)messages;
    diag_ctx *c = ud;
    free(c->msg);
    c->msg = NULL;
    size_t n = n_inspected(c);
    size_t need = c->t->n_steps < 3 ? c->t->n_steps : 3;
    if (n < need && c->count_refusals < 2) {
        c->count_refusals++;
        c->msg = ct_xasprintf("Not finished: inspect at least %zu distinct steps (cat "
                              "steps/N.json, spread across the run) before finishing; you have "
                              "inspected %zu. Then finish again.",
                              need, n);
        return c->msg;
    }
    if (c->output_refusals >= 1) return NULL;
    ct_buf pb = CT_BUF_INIT;
    ct_analysis *tmp = ct_analysis_new(c->t, "llm");
    int bad = load_labels(c, tmp, &pb, 0);
    bad += validate_profiles(c, tmp, &pb, 0);
    ct_analysis_free(tmp);
    if (bad) {
        c->output_refusals++;
        ct_buf m = CT_BUF_INIT;
        ct_buf_printf(&m,
                      "Output refused: " OUTPUT_FILE " has %d problem%s (this is your one repair "
                      "turn):\n%s"
                      "Only label steps whose steps/N.json you opened in this session (opened so "
                      "far: ",
                      bad, bad == 1 ? "" : "s", pb.data ? pb.data : "");
        list_inspected(c, &m);
        ct_buf_puts(&m, "). Rewrite " OUTPUT_FILE ", then finish again.");
        c->msg = ct_buf_steal(&m);
    }
    ct_buf_free(&pb);
    return c->msg;
}

/* What must survive compaction: the inspected set and the labels written so far. */
static char *state_note(void *ud, const json_t *messages)
{
    (void)messages;
    diag_ctx *c = ud;
    ct_buf b = CT_BUF_INIT;
    ct_buf_puts(&b, "State so far — steps inspected (steps/N.json opened): ");
    list_inspected(c, &b);
    char path[4096];
    snprintf(path, sizeof path, "%s/" OUTPUT_FILE, c->dir);
    FILE *f = fopen(path, "rb");
    if (f) {
        char buf[2048];
        size_t got = fread(buf, 1, sizeof buf, f);
        fclose(f);
        char *clean = sanitize(buf, got);
        ct_buf_printf(&b, ".\nCurrent %s%s:\n%s", OUTPUT_FILE,
                      got == sizeof buf ? " (first 2048 bytes)" : "", clean);
        free(clean);
    } else {
        ct_buf_puts(&b, ".\n" OUTPUT_FILE " is not written yet.");
    }
    return ct_buf_steal(&b);
}

/* ---- memory ------------------------------------------------------------------------------- */
static char *prior_knowledge(diag_ctx *c, size_t chars)
{
    if (!c->mem || chars == 0) return NULL;
    char *q = ct_memory_query_for(c->t, NULL);
    ct_insight *v = NULL;
    size_t n = 0;
    ct_error e;
    ct_error_clear(&e);
    char *text = NULL;
    if (ct_memory_insight_search(c->mem, q ? q : "", c->t->agent, c->t->model, 20, chars, 0, &v, &n,
                                 &e) != CT_OK)
        warn(c, "memory: prior knowledge skipped: %s", e.msg);
    else if (n > 0)
        text = ct_memory_insights_format(v, n);
    ct_memory_insights_free(v, n);
    free(q);
    return text;
}

#define MEM_CONV_CHARS 12000

/* Online extraction between turns: every mem_every_steps calls or mem_every_tokens tokens, at
 * most mem_max times per run, one small LLM call (phase "memory") asks for reusable insights;
 * each "- [kind] text" line is added to memory. Any error or an unaffordable call: skipped. */
static void after_turn(void *ud, const json_t *messages, int calls)
{
    diag_ctx *c = ud;
    if (!c->mem || c->mem_done >= c->mem_max) return;
    ct_llm_totals tot;
    ct_llm_client_totals(c->llm, &tot);
    long long tokens = tot.prompt_tokens + tot.completion_tokens;
    int due = (c->mem_every_steps > 0 && calls - c->mem_last_step >= c->mem_every_steps) ||
              (c->mem_every_tokens > 0 && tokens - c->mem_last_tokens >= c->mem_every_tokens);
    if (!due) return;
    c->mem_last_step = calls;
    c->mem_last_tokens = tokens;
    c->mem_done++;
    /* the most recent turns, newest last, within MEM_CONV_CHARS */
    size_t n = json_array_size(messages), from = n;
    size_t total = 0;
    while (from > 2) {
        const char *s =
            json_string_value(json_object_get(json_array_get(messages, from - 1), "content"));
        size_t len = s ? strlen(s) : 0;
        if (len > 2000) len = 2000;
        if (total + len > MEM_CONV_CHARS) break;
        total += len;
        from--;
    }
    ct_buf conv = CT_BUF_INIT;
    for (size_t i = from; i < n; i++) {
        const json_t *m = json_array_get(messages, i);
        const char *s = json_string_value(json_object_get(m, "content"));
        size_t len = s ? strlen(s) : 0;
        ct_buf_printf(&conv, "--- %s ---\n", json_string_value(json_object_get(m, "role")));
        ct_buf_append(&conv, s ? s : "", len > 2000 ? 2000 : len);
        ct_buf_putc(&conv, '\n');
    }
    char *clean = sanitize(conv.data ? conv.data : "", conv.len);
    ct_buf_free(&conv);
    char *user = ct_xasprintf(
        "<conversation>\n%s</conversation>\n\nFrom this diagnosis of a %s trajectory, extract at "
        "most 3 reusable insights about this kind of agent (recurring failure patterns, agent "
        "quirks, investigation strategies that worked, analysis pitfalls). No task-specific "
        "details. One per line as \"- [failure_pattern|strategy|pitfall] text\", or exactly "
        "NO_NEW_INSIGHTS.",
        clean, c->t->agent ? c->t->agent : "coding-agent");
    free(clean);
    json_t *msgs = json_pack("[{s:s, s:s}]", "role", "user", "content", user);
    free(user);
    if (!msgs) return;
    ct_llm_request req = {msgs, NULL, NULL, c->mem_tokens_max, -1, "memory"};
    ct_llm_response resp;
    ct_error e;
    ct_error_clear(&e);
    if (ct_llm_over_budget(c->llm, &req, NULL)) {
        warn(c, "memory: online extraction skipped (the budget cannot cover it)");
    } else if (ct_llm_chat(c->llm, &req, &resp, &e) != CT_OK) {
        warn(c, "memory: online extraction skipped: %s", e.msg);
    } else {
        for (const char *p = resp.content; p && *p;) {
            const char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);
            char *line = ct_xstrndup(p, len);
            char *s = line;
            while (isspace((unsigned char)*s))
                s++;
            if (*s == '-' || *s == '*') {
                s++;
                while (isspace((unsigned char)*s))
                    s++;
                ct_insight_kind kind = CT_INSIGHT_STRATEGY;
                if (*s == '[') {
                    char *close = strchr(s, ']');
                    if (close) {
                        *close = 0;
                        ct_insight_kind k2;
                        if (ct_insight_kind_from_name(s + 1, &k2) == 0) kind = k2;
                        s = close + 1;
                        while (isspace((unsigned char)*s))
                            s++;
                    }
                }
                size_t sl = strlen(s);
                while (sl > 0 && isspace((unsigned char)s[sl - 1]))
                    s[--sl] = 0;
                ct_error ae;
                ct_error_clear(&ae);
                if (sl >= 8 && sl <= 500) {
                    if (ct_memory_insight_add(c->mem, kind, c->t->agent, c->t->model, s,
                                              c->traj_hash, NULL, NULL, &ae) == CT_OK)
                        c->mem_added++;
                    else
                        warn(c, "memory: insight not saved: %s", ae.msg);
                }
            }
            free(line);
            p = eol ? eol + 1 : NULL;
        }
        ct_llm_response_free(&resp);
    }
    json_decref(msgs);
}

/* ---- hybrid ------------------------------------------------------------------------------- */
static char *candidates_text(const ct_analysis *h)
{
    ct_buf b = CT_BUF_INIT;
    ct_buf_puts(&b, "\n\nCandidate steps from the offline heuristic analyzer — confirm or reject "
                    "each one by inspecting it (cat steps/N.json); label it in the output file "
                    "only if you confirm it. A step you inspect and do not label counts as "
                    "correct; a step you do not inspect keeps the heuristic label.\n");
    size_t k = 0;
    for (size_t i = 0; i < h->n_labels; i++) {
        const ct_step_label *l = &h->labels[i];
        if (l->label == CT_LABEL_CORRECT) continue;
        ct_buf_printf(&b, "- step %d: %s (%s): %s\n", l->step_id, ct_label_name(l->label),
                      l->rule ? l->rule : "?", l->reasoning ? l->reasoning : "");
        k++;
    }
    if (!k) ct_buf_puts(&b, "(none: the heuristic analyzer flagged no step)\n");
    return ct_buf_steal(&b);
}

/* h becomes the merged result: the agent's verdict on inspected steps, the heuristic's
 * elsewhere; every reasoning says which. */
static void merge_hybrid(ct_analysis *h, const ct_analysis *a, const unsigned char *seen)
{
    for (size_t i = 0; i < h->n_labels; i++) {
        ct_step_label *hl = &h->labels[i];
        const ct_step_label *al = &a->labels[i];
        int sid = hl->step_id;
        char *why;
        if (seen[sid]) {
            if (hl->label == CT_LABEL_CORRECT && al->label == CT_LABEL_CORRECT) continue;
            if (hl->label == CT_LABEL_CORRECT)
                why = ct_xasprintf("%s (agent verdict; the heuristic had no finding here)",
                                   al->reasoning ? al->reasoning : "");
            else if (al->label == hl->label)
                why = ct_xasprintf("%s (agent verdict; confirms heuristic rule %s)",
                                   al->reasoning ? al->reasoning : "", hl->rule ? hl->rule : "?");
            else
                why = ct_xasprintf("%s(agent verdict: %s; rejects heuristic rule %s: %s)",
                                   al->reasoning && *al->reasoning ? al->reasoning : "",
                                   ct_label_name(al->label), hl->rule ? hl->rule : "?",
                                   ct_label_name(hl->label));
            ct_analysis_set_label(h, sid, al->label, al->label == CT_LABEL_CORRECT ? NULL : "llm",
                                  why, al->evidence, al->n_evidence);
        } else {
            if (hl->label == CT_LABEL_CORRECT) continue;
            why = ct_xasprintf("%s (heuristic rule %s; not inspected by the agent)",
                               hl->reasoning ? hl->reasoning : "", hl->rule ? hl->rule : "?");
            hl->reasoning = ct_analysis_strdup(h, why);
        }
        free(why);
    }
    if (a->n_root_cause > 0) {
        h->n_root_cause = 0;
        for (size_t i = 0; i < a->n_root_cause; i++)
            ct_analysis_add_root_cause(h, a->root_cause_chain[i]);
    }
    if (a->summary) h->summary = ct_analysis_strdup(h, a->summary);
}

/* ---- structured tools ----------------------------------------------------------------------- */
static const char TOOLS_JSON[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"inspect_step\",\"description\":\"The full "
    "record of step N (action, thought, observation, exit code, files), or of steps N..end "
    "(at most 10). Only inspected steps may be labelled.\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"step_id\":{\"type\":\"integer\"},\"end_step_id\":{\"type\":\"integer\"}},"
    "\"required\":[\"step_id\"]}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"search_steps\",\"description\":\"Steps whose "
    "action, thought or observation contains the text (case-insensitive), as index lines.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"}},"
    "\"required\":[\"query\"]}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"show_index\",\"description\":\"The step index "
    "(one line per step) of the whole run or of a stage start..end.\",\"parameters\":{\"type\":"
    "\"object\",\"properties\":{\"start\":{\"type\":\"integer\"},\"end\":{\"type\":\"integer\"}}}}}"
    ","
    "{\"type\":\"function\",\"function\":{\"name\":\"write_labels\",\"description\":\"Write the "
    "output: labels of inspected steps, the root-cause chain and a summary.\",\"parameters\":{"
    "\"type\":\"object\",\"properties\":{\"labels\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"object\",\"properties\":{\"step_id\":{\"type\":\"integer\"},\"label\":{\"type\":\"string\","
    "\"enum\":[\"incorrect\",\"unuseful\",\"correct\"]},\"reasoning\":{\"type\":\"string\"},"
    "\"evidence\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}},\"required\":[\"step_id\","
    "\"label\",\"reasoning\"]}},\"root_cause_chain\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"string\"}},\"summary\":{\"type\":\"string\"}},\"required\":[\"labels\"]}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"finish\",\"description\":\"End the diagnosis "
    "(after write_labels).\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]";

#define TOOL_RANGE_MAX 10
#define TOOL_SEARCH_MAX 50

static int ci_contains(const char *hay, const char *needle)
{
    if (!hay) return 0;
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return 0;
}

static char *index_lines(const ct_trajectory *t, size_t from, size_t to, const char *query)
{
    char *all = build_index(t);
    ct_buf b = CT_BUF_INIT;
    size_t line = 1, hits = 0;
    for (const char *p = all; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);
        int keep = line >= from && line <= to;
        if (query) {
            const ct_step *st = &t->steps[line - 1];
            keep = ci_contains(st->action, query) || ci_contains(st->thought, query) ||
                   ci_contains(st->observation, query);
            if (keep && ++hits > TOOL_SEARCH_MAX) {
                ct_buf_puts(&b, "[... more matches not shown ...]\n");
                break;
            }
        }
        if (keep) ct_buf_append(&b, p, len);
        p += len;
        line++;
    }
    free(all);
    if (!b.len) ct_buf_puts(&b, query ? "(no step matches)" : "(no steps in that range)");
    return ct_buf_steal(&b);
}

static char *tool_exec(void *ud, const char *name, const json_t *args, int step)
{
    (void)step;
    diag_ctx *c = ud;
    const ct_trajectory *t = c->t;
    if (strcmp(name, "inspect_step") == 0) {
        json_int_t a = json_integer_value(json_object_get(args, "step_id"));
        const json_t *ej = json_object_get(args, "end_step_id");
        json_int_t e = json_is_integer(ej) ? json_integer_value(ej) : a;
        if (a < 1 || (size_t)a > t->n_steps || e < a || (size_t)e > t->n_steps)
            return ct_xasprintf("error: steps are 1..%zu", t->n_steps);
        if (e - a + 1 > TOOL_RANGE_MAX) e = a + TOOL_RANGE_MAX - 1;
        ct_buf b = CT_BUF_INIT;
        for (json_int_t i = a; i <= e; i++) {
            json_t *j = ct_step_to_json(&t->steps[i - 1]);
            char *s = j ? json_dumps(j, JSON_INDENT(1)) : NULL;
            json_decref(j);
            ct_buf_printf(&b, "== step %lld ==\n%s\n", (long long)i, s ? s : "{}");
            free(s);
            c->seen[i] = 1;
            c->last_seen = (int)i;
        }
        size_t cap = c->output_cap;
        if (b.len > cap) {
            b.len = cap;
            ct_buf_puts(&b, "\n[... cut ...]");
        }
        char *out = sanitize(b.data, b.len);
        ct_buf_free(&b);
        return out;
    }
    if (strcmp(name, "search_steps") == 0) {
        const char *q = json_string_value(json_object_get(args, "query"));
        if (!q || !*q) return ct_xstrdup("error: query must be a non-empty string");
        return index_lines(t, 1, t->n_steps, q);
    }
    if (strcmp(name, "show_index") == 0) {
        const json_t *sj = json_object_get(args, "start"), *ej = json_object_get(args, "end");
        json_int_t a = json_is_integer(sj) ? json_integer_value(sj) : 1;
        json_int_t e = json_is_integer(ej) ? json_integer_value(ej) : (json_int_t)t->n_steps;
        if (a < 1) a = 1;
        return index_lines(t, (size_t)a, e < 0 ? 0 : (size_t)e, NULL);
    }
    if (strcmp(name, "write_labels") == 0) {
        char *s = json_dumps(args, JSON_INDENT(1));
        char path[4096];
        snprintf(path, sizeof path, "%s/" OUTPUT_FILE, c->dir);
        ct_error e;
        ct_error_clear(&e);
        int rc = s ? write_text(path, s, strlen(s), &e) : CT_EIO;
        free(s);
        return rc == CT_OK ? ct_xstrdup("written; call finish when you are done")
                           : ct_xasprintf("error: %s", e.msg);
    }
    return NULL;
}

/* ---- the saved conversation --------------------------------------------------------------- */
static char *replace_all(const char *s, const char *needle, const char *with)
{
    ct_buf b = CT_BUF_INIT;
    size_t nl = strlen(needle);
    for (const char *p = s;;) {
        const char *q = strstr(p, needle);
        if (!q) {
            ct_buf_puts(&b, p);
            break;
        }
        ct_buf_append(&b, p, (size_t)(q - p));
        ct_buf_puts(&b, with);
        p = q + nl;
    }
    return ct_buf_steal(&b);
}

static int save_traj(const char *path, const json_t *messages, ct_llm_client *llm,
                     const ct_analysis *a, const ct_agent_result *r, const char *key, ct_error *err)
{
    ct_llm_totals tot;
    ct_llm_client_totals(llm, &tot);
    char *summary = ct_xasprintf("model: %s\nthis run: %lld prompt + %lld completion tokens, "
                                 "$%.6f\nclient total: %lld calls, $%.6f of a $%.2f budget",
                                 a->model ? a->model : "", a->tokens_in, a->tokens_out, a->cost_usd,
                                 tot.calls, tot.cost_usd, tot.budget_usd);
    json_t *doc = json_pack("{s:O, s:i, s:I, s:I, s:f, s:s, s:o, s:s, s:s, s:s, s:i, s:i}",
                            "messages", messages, "n_calls", r->llm_calls, "total_prompt_tokens",
                            (json_int_t)a->tokens_in, "total_completion_tokens",
                            (json_int_t)a->tokens_out, "cost_usd", a->cost_usd, "cost_summary",
                            summary, "phases", ct_llm_client_phases(llm), "model",
                            a->model ? a->model : "", "analyzer", a->analyzer ? a->analyzer : "llm",
                            "stop_reason", a->stop_reason ? a->stop_reason : "complete",
                            "compactions", r->compactions, "summary_calls", r->summary_calls);
    free(summary);
    char *s = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
    json_decref(doc);
    if (!s) return ct_error_setf(err, CT_EIO, path, -1, 0, "cannot serialise the conversation");
    if (key && strlen(key) >= 4 && strstr(s, key)) {
        char *clean = replace_all(s, key, "<redacted>");
        free(s);
        s = clean;
    }
    size_t len = strlen(s);
    s = realloc(s, len + 2);
    s[len++] = '\n';
    s[len] = 0;
    int rc = ct_profile_write_atomic(path, s, len, err);
    free(s);
    return rc;
}

/* ---- the run ------------------------------------------------------------------------------ */
static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

static int run_agent(ct_llm_client *llm, const ct_trajectory *t, const json_t *cfg,
                     const char *work_dir, const ct_agent_analyze_opts *ao, ct_analysis **out,
                     ct_error *err)
{
    *out = NULL;
    int hybrid = ao->mode && strcmp(ao->mode, "hybrid") == 0;
    if (ao->mode && !hybrid && strcmp(ao->mode, "llm") != 0)
        return ct_error_set(err, CT_EINVAL, "agent: unknown mode '%s' (llm, hybrid)", ao->mode);
    if (t->n_steps == 0)
        return ct_error_set(err, CT_EEMPTY, "agent: the trajectory has no steps to diagnose");
    int rc = prepare_work_dir(t, work_dir, err);
    if (rc) return rc;
    ct_analysis *h = NULL;
    if (hybrid && (rc = ct_analyze_heuristic(t, cfg, &h, err)) != CT_OK) return rc;
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
        ct_analysis_free(h);
        return err && err->code ? err->code : CT_EINVAL;
    }
    json_decref(vars);
    diag_ctx c;
    memset(&c, 0, sizeof c);
    c.t = t;
    c.dir = work_dir;
    c.seen = ct_xcalloc(t->n_steps + 1, 1);
    c.fn = ao->on_event;
    c.ud = ao->ud;
    c.llm = llm;
    c.mem = ao->memory;
    c.mem_every_steps = (int)ct_config_int(cfg, "trace.memory_every_steps", 8);
    c.mem_every_tokens = ct_config_int(cfg, "trace.memory_every_tokens", 30000);
    c.mem_max = (int)ct_config_int(cfg, "trace.memory_max_extractions", 3);
    c.mem_tokens_max = (int)ct_config_int(cfg, "trace.memory_max_tokens", 300);
    if (c.mem) ct_traj_hash(t, c.traj_hash);
    char *prior = prior_knowledge(&c, (size_t)ct_config_int(cfg, "trace.memory_prior_chars", 2000));
    if (prior) {
        char *s2 = ct_xasprintf("%s\n\n== Prior knowledge (from earlier diagnoses of this agent "
                                "and model; verify before relying on it) ==\n%s",
                                sys, prior);
        free(sys);
        sys = s2;
        free(prior);
    }
    if (h) {
        char *cand = candidates_text(h);
        char *i2 = ct_xasprintf("%s%s", inst, cand);
        free(inst);
        free(cand);
        inst = i2;
    }
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
    o.compact_summary = strcmp(ct_config_str(cfg, "trace.compact", "summary"), "window") != 0;
    o.summary_max_tokens = (int)ct_config_int(cfg, "trace.summary_max_tokens", 1024);
    o.on_event = on_loop_event;
    o.ud = &c;
    o.on_finish = check_finish;
    o.finish_ud = &c;
    o.max_finish_rejections = 3;
    o.state_note = state_note;
    o.state_ud = &c;
    o.after_turn = after_turn;
    o.turn_ud = &c;
    o.cancel = ao->cancel;
    c.output_cap = o.output_cap;
    const char *tmode = ct_config_str(cfg, "trace.tools", "auto");
    json_t *tools = NULL;
    if (strcmp(tmode, "off") != 0) {
        tools = json_loads(TOOLS_JSON, 0, NULL);
        o.tools = tools;
        o.tool_exec = tool_exec;
        o.tool_ud = &c;
        o.tools_fallback = strcmp(tmode, "on") != 0;
        char *s2 = ct_xasprintf(
            "%s\n\nTools are also available: inspect_step, search_steps, show_index, "
            "write_labels and finish. With them no bash block is needed; otherwise reply with "
            "exactly one bash block as described.",
            sys);
        free(sys);
        sys = s2;
        o.system_prompt = sys;
    }
    ct_llm_totals before, after;
    ct_llm_client_totals(llm, &before);
    ct_agent_result r;
    rc = ct_agent_run(llm, &o, &r, err);
    json_decref(tools);
    free(sys);
    free(inst);
    free(c.msg);
    c.msg = NULL;
    if (rc != CT_OK) {
        ct_agent_result_free(&r);
        ct_analysis_free(h);
        free(c.seen);
        return rc;
    }
    ct_llm_client_totals(llm, &after);
    ct_analysis *a = ct_analysis_new(t, "llm");
    int bad = load_labels(&c, a, NULL, 1);
    if (!bad) bad = validate_profiles(&c, a, NULL, 1);
    if (h) {
        merge_hybrid(h, a, c.seen);
        ct_analysis_free(a);
        a = h;
        a->analyzer = ct_analysis_strdup(a, "hybrid");
    }
    a->model = ct_analysis_strdup(a, ct_llm_client_model(llm));
    a->cost_usd = after.cost_usd - before.cost_usd;
    a->tokens_in = after.prompt_tokens - before.prompt_tokens;
    a->tokens_out = after.completion_tokens - before.completion_tokens;
    a->partial = 0;
    a->stop_reason = NULL;
    if (r.status != CT_AGENT_COMPLETE) {
        a->partial = 1;
        a->stop_reason = ct_analysis_strdup(a, ct_agent_status_name(r.status));
    } else if (bad) {
        a->partial = 1;
        a->stop_reason = ct_analysis_strdup(a, "invalid_output");
    }
    if (c.mem_added) warn(&c, "memory: %zu insight(s) saved by online extraction", c.mem_added);
    if (ao->traj_path) {
        ct_error se;
        ct_error_clear(&se);
        if (save_traj(ao->traj_path, r.messages, llm, a, &r, ct_config_str(cfg, "llm.api_key", ""),
                      &se) != CT_OK)
            warn(&c, "the conversation was not saved: %s", se.msg);
    }
    free(c.seen);
    ct_agent_result_free(&r);
    *out = a;
    return CT_OK;
}

ct_analysis *ct_agent_diagnose(ct_llm_client *llm, const ct_trajectory *t, const json_t *cfg,
                               const char *work_dir, ct_agent_event_fn on_event, void *ud,
                               ct_error *err)
{
    if (!llm || !t || !work_dir) {
        ct_error_set(err, CT_EINVAL, "agent: a client, a trajectory and a work dir are needed");
        return NULL;
    }
    ct_agent_analyze_opts ao;
    memset(&ao, 0, sizeof ao);
    ao.on_event = on_event;
    ao.ud = ud;
    ct_analysis *a = NULL;
    run_agent(llm, t, cfg, work_dir, &ao, &a, err);
    return a;
}

int ct_agent_analyze(const ct_trajectory *t, const json_t *config, const ct_agent_analyze_opts *o,
                     ct_analysis **out, ct_error *err)
{
    *out = NULL;
    ct_agent_analyze_opts def;
    memset(&def, 0, sizeof def);
    if (!o) o = &def;
    if (!t) return ct_error_set(err, CT_EINVAL, "agent: a trajectory is needed");
    json_t *cfg = config ? json_incref((json_t *)config) : ct_config_defaults();
    ct_llm_client *llm = o->llm;
    if (!llm && !(llm = ct_llm_client_new(cfg, err))) {
        json_decref(cfg);
        return err && err->code ? err->code : CT_EINVAL;
    }
    if (!o->llm && o->cancel) ct_llm_client_set_cancel(llm, o->cancel);
    char tmpdir[4096] = "";
    const char *dir = o->work_dir;
    if (!dir) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/codetracer-agent-XXXXXX",
                 base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            int rc =
                ct_error_setf(err, CT_EIO, tmpdir, -1, 0, "cannot create: %s", strerror(errno));
            if (!o->llm) ct_llm_client_free(llm);
            json_decref(cfg);
            return rc;
        }
        dir = tmpdir;
    }
    int rc = run_agent(llm, t, cfg, dir, o, out, err);
    if (tmpdir[0]) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (!o->llm) ct_llm_client_free(llm);
    json_decref(cfg);
    return rc;
}

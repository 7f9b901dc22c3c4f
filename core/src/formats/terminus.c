/* Terminus 1 and 2 in a terminal-bench trial: <trial>/agent-logs/episode-N/{prompt.txt,
 * response.txt, debug.json}.
 *
 * Step k = the model's response in episode k-1 (a JSON object with the keystrokes to send) and
 * its observation is the screen shown in episode k's prompt (after "New Terminal Output:").
 * Terminus-2 responses: {analysis, plan, commands:[{keystrokes, duration}], task_complete};
 * Terminus-1: {state_analysis, explanation, commands:[{keystrokes, is_blocking, timeout_sec}],
 * is_task_complete}. Models wrap the JSON in prose or code fences, or break it: we extract the
 * object when we can and otherwise keep the raw text as the action, with a warning.
 *
 * Unlike the reference tool, step ids are contiguous even when episodes are missing; the
 * episode number + 1 is kept as bench_step_id (CodeTraceBench's numbering). */
#include "agent_steps.h"
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EPISODES 100000

/* ---------------------------------------------------------------- response text → step */

/* Find a JSON object inside text (code fences, prose around it). Returns a new reference and
 * sets *wrapped when something other than whitespace surrounded it. */
static json_t *extract_object(const char *text, size_t len, int *wrapped)
{
    *wrapped = 0;
    size_t s = ct_json_skip_ws(text, len, 0);
    size_t e = len;
    while (e > s && isspace((unsigned char)text[e - 1]))
        e--;
    if (s < e && text[s] == '{') {
        json_t *v = json_loadb(text + s, e - s, JSON_ALLOW_NUL, NULL);
        if (json_is_object(v)) return v;
        json_decref(v);
    }
    /* try every '{' that starts a balanced value, first one that parses as an object wins */
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '{') continue;
        size_t end = ct_json_value_end(text, len, i);
        if (end == (size_t)-1) continue;
        json_t *v = json_loadb(text + i, end - i, JSON_ALLOW_NUL, NULL);
        if (json_is_object(v) &&
            (json_object_get(v, "commands") || json_object_get(v, "analysis") ||
             json_object_get(v, "state_analysis") || json_object_get(v, "task_complete") ||
             json_object_get(v, "is_task_complete"))) {
            *wrapped = 1;
            return v;
        }
        json_decref(v);
    }
    return NULL;
}

static int truthy(json_t *v)
{
    if (json_is_boolean(v)) return json_is_true(v);
    if (json_is_string(v))
        return strcmp(json_string_value(v), "true") == 0 ||
               strcmp(json_string_value(v), "True") == 0;
    return 0;
}

static void join_text(ct_buf *b, const char *s)
{
    if (!s || !*s) return;
    if (b->len) ct_buf_puts(b, "\n\n");
    ct_buf_puts(b, s);
}

static ct_step_kind merge_kind(ct_step_kind acc, ct_step_kind k, int first)
{
    if (first) return k;
    int acc_look = acc == CT_KIND_READ || acc == CT_KIND_SEARCH;
    int k_look = k == CT_KIND_READ || k == CT_KIND_SEARCH;
    if (acc_look && k_look) return acc;
    if (acc_look) return k; /* a state change beats looking around */
    return acc;
}

void ct_terminus_fill_step(ct_trajectory *t, ct_step *s, const char *text, size_t len,
                           const char *where)
{
    int wrapped;
    json_t *o = extract_object(text, len, &wrapped);
    s->tool = "keystrokes";
    if (!o) {
        size_t a = ct_json_skip_ws(text, len, 0), e = len;
        while (e > a && isspace((unsigned char)text[e - 1]))
            e--;
        s->action = ct_traj_strndup(t, text + a, e - a);
        /* Terminus sends no keystrokes for a response it cannot parse: nothing ran */
        s->kind = CT_KIND_OTHER;
        ct_traj_warn(t, "%s: the response holds no JSON object; its raw text is kept as the action",
                     where);
        return;
    }
    if (wrapped)
        ct_traj_warn(t, "%s: JSON object extracted from surrounding prose or code fences", where);
    ct_buf th = CT_BUF_INIT;
    join_text(&th, ct_fmt_str(o, "analysis"));
    join_text(&th, ct_fmt_str(o, "plan"));
    join_text(&th, ct_fmt_str(o, "state_analysis"));
    join_text(&th, ct_fmt_str(o, "explanation"));
    if (th.len) s->thought = ct_traj_strndup(t, th.data, th.len);
    ct_buf_free(&th);
    int done = truthy(json_object_get(o, "task_complete")) ||
               truthy(json_object_get(o, "is_task_complete"));
    ct_buf b = CT_BUF_INIT;
    json_t *cmds = json_object_get(o, "commands");
    size_t i, n = 0;
    json_t *c;
    ct_step_kind kind = CT_KIND_BASH;
    json_array_foreach(cmds, i, c)
    {
        json_t *ks = json_is_object(c) ? json_object_get(c, "keystrokes") : c;
        if (!json_is_string(ks)) continue;
        size_t kl = json_string_length(ks);
        const char *k = json_string_value(ks);
        if (kl && k[kl - 1] == '\n') kl--;
        if (n) ct_buf_putc(&b, '\n');
        ct_buf_append(&b, k, kl);
        char *one = ct_xstrndup(k, kl);
        kind = merge_kind(kind, ct_fmt_kind_from_shell(one), n == 0);
        free(one);
        n++;
    }
    if (n == 0) {
        ct_buf_puts(&b, "[no commands]");
        kind = done ? CT_KIND_SUBMIT : CT_KIND_THINK;
    }
    if (done) ct_buf_puts(&b, "\n[task_complete: true]");
    s->kind = kind;
    s->action = ct_traj_strndup(t, b.data, b.len);
    ct_buf_free(&b);
    json_decref(o);
}

const char *ct_terminus_observation(ct_trajectory *t, const char *text, size_t len)
{
    static const char marker[] = "New Terminal Output:";
    const char *m = ct_memstr(text, len, marker);
    if (!m) return ct_traj_strndup(t, text, len);
    const char *p = m + sizeof marker - 1;
    const char *end = text + len;
    if (p < end && *p == '\r') p++;
    if (p < end && *p == '\n') p++;
    return ct_traj_strndup(t, p, (size_t)(end - p));
}

/* ---------------------------------------------------------------- the episode directory */

static int episode_no(const char *name, long *n)
{
    if (!ct_str_starts(name, "episode-") || !name[8]) return 0;
    long v = 0;
    for (const char *p = name + 8; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > 100000000L) return 0;
        v = v * 10 + (*p - '0');
    }
    *n = v;
    return 1;
}

/* The folder holding episode-N dirs for root rel: rel/agent-logs, rel/agent (Harbor) or rel. */
static char *episodes_dir(ct_fs *fs, const char *rel)
{
    static const char *const subs[] = {"agent-logs", "agent", ""};
    for (size_t i = 0; i < 3; i++) {
        char *d = *subs[i] ? ct_path_join(rel, subs[i]) : ct_xstrdup(rel);
        char *probe = ct_path_join(d, "episode-0/response.txt");
        int yes = ct_fs_is_file(fs, probe);
        free(probe);
        if (!yes && ct_fs_is_dir(fs, d)) {
            /* episode-0 may be missing in a damaged run: look for any episode */
            ct_dirent *ents;
            size_t n;
            if (ct_fs_list(fs, d, &ents, &n, NULL) == CT_OK) {
                for (size_t k = 0; k < n && !yes; k++) {
                    long no;
                    if (!ents[k].is_dir || !episode_no(ents[k].name, &no)) continue;
                    char *ep = ct_path_join(d, ents[k].name);
                    char *r = ct_path_join(ep, "response.txt");
                    char *p = ct_path_join(ep, "prompt.txt");
                    yes = ct_fs_is_file(fs, r) || ct_fs_is_file(fs, p);
                    free(ep);
                    free(r);
                    free(p);
                }
                ct_fs_list_free(ents, n);
            }
        }
        if (yes) return d;
        free(d);
    }
    return NULL;
}

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    if (!is_dir) return CT_DETECT_NO;
    char *d = episodes_dir(fs, rel);
    if (!d) return CT_DETECT_NO;
    /* a trial dir (agent-logs/ or agent/ inside) is definitive; a bare episodes folder likely */
    int score = strcmp(d, rel) != 0 ? CT_DETECT_SURE : 80;
    free(d);
    return score;
}

typedef struct {
    long no;
    char *name;
} episode;

static int ep_cmp(const void *a, const void *b)
{
    long x = ((const episode *)a)->no, y = ((const episode *)b)->no;
    return x < y ? -1 : x > y;
}

static int read_text(ct_fs *fs, const char *rel, ct_buf *out)
{
    ct_buf_clear(out);
    if (!ct_fs_is_file(fs, rel)) return -1;
    if (ct_fs_read(fs, rel, out, 0, NULL) != CT_OK) return -1;
    if (!out->data) ct_buf_puts(out, "");
    return 0;
}

static void whole_file_ref(ct_trajectory *t, ct_source_ref *r, const char *display, const ct_buf *b)
{
    ct_lines li;
    ct_lines_build(&li, b->data, b->len);
    ct_fmt_set_src(t, r, display, &li, 0, b->len);
    ct_lines_free(&li);
}

/* Task statement inside the first prompt (when there is no results.json). */
static void task_from_prompt(ct_trajectory *t, const char *p, size_t n)
{
    static const struct {
        const char *start, *end;
    } marks[] = {
        {"Task Description:\n", "Current terminal state:"},
        {"Instruction:\n", "Your response must be"},
        {"Task Instruction:\n", "\n\n"},
    };
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        const char *s = ct_memstr(p, n, marks[i].start);
        if (!s) continue;
        s += strlen(marks[i].start);
        const char *e = ct_memstr(s, n - (size_t)(s - p), marks[i].end);
        if (!e) e = p + n;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        t->task = ct_traj_strndup(t, s, (size_t)(e - s));
        return;
    }
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    char *dir = is_dir ? episodes_dir(fs, rel) : NULL;
    if (!dir)
        return ct_error_setf(
            err, CT_EFORMAT, ct_fs_display(fs, rel), -1, 0,
            "no Terminus episodes here (expected agent-logs/episode-<n>/response.txt)");
    ct_dirent *ents;
    size_t ne;
    int rc = ct_fs_list(fs, dir, &ents, &ne, err);
    if (rc != CT_OK) {
        free(dir);
        return rc;
    }
    ct_trajectory *t = ct_traj_new("terminus", ct_fs_display(fs, rel));
    t->agent = "Terminus";
    episode *eps = ct_xcalloc(ne + 1, sizeof *eps);
    size_t n = 0;
    for (size_t i = 0; i < ne; i++) {
        long no;
        if (!ents[i].is_dir) continue;
        if (!episode_no(ents[i].name, &no)) {
            if (ct_str_starts(ents[i].name, "episode"))
                ct_traj_warn(t, "%s: not episode-<n>; ignored", ents[i].name);
            continue;
        }
        if (n >= MAX_EPISODES) {
            ct_traj_warn(t, "more than %d episodes; the rest were not read", MAX_EPISODES);
            break;
        }
        eps[n].no = no;
        eps[n].name = ct_xstrdup(ents[i].name);
        n++;
    }
    ct_fs_list_free(ents, ne);
    qsort(eps, n, sizeof *eps, ep_cmp);

    if (ct_fmt_is_tb_trial(fs, rel))
        ct_fmt_tb_trial_fill(fs, rel, t);
    else if (ct_fmt_is_harbor_trial(fs, rel))
        ct_fmt_harbor_trial_fill(fs, rel, t);
    ct_buf resp = CT_BUF_INIT, prompt = CT_BUF_INIT;
    int version = 0; /* 1 or 2 once a response told us */
    for (size_t i = 0; i < n; i++) {
        char *ep = ct_path_join(dir, eps[i].name);
        char *rp = ct_path_join(ep, "response.txt");
        if (i == 0 && !t->model) {
            /* debug.json is the LiteLLM log of the call; its "model" names the model */
            char *dj = ct_path_join(ep, "debug.json");
            long long size = 0;
            if (ct_fs_stat(fs, dj, &size) == 0 && size < 16 * 1024 * 1024) {
                ct_buf raw = CT_BUF_INIT;
                json_t *d = NULL;
                if (ct_fmt_read_json(fs, dj, &raw, &d, NULL) == CT_OK)
                    t->model = ct_fmt_jstr(t, json_object_get(d, "model"));
                json_decref(d);
                ct_buf_free(&raw);
            }
            free(dj);
        }
        if (i == 0 && !t->task) {
            char *pp = ct_path_join(ep, "prompt.txt");
            if (read_text(fs, pp, &prompt) == 0) task_from_prompt(t, prompt.data, prompt.len);
            free(pp);
        }
        if (read_text(fs, rp, &resp) != 0) {
            ct_traj_warn(t, "%s has no readable response.txt (run killed during this episode?)",
                         eps[i].name);
        } else {
            ct_step *s = ct_traj_add_step(t);
            s->bench_step_id = (int)eps[i].no + 1;
            char *where = ct_xasprintf("%s/response.txt", eps[i].name);
            ct_terminus_fill_step(t, s, resp.data, resp.len, where);
            free(where);
            if (!version) {
                if (ct_memstr(resp.data, resp.len, "\"state_analysis\"") ||
                    ct_memstr(resp.data, resp.len, "\"is_task_complete\""))
                    version = 1;
                else if (ct_memstr(resp.data, resp.len, "\"analysis\"") ||
                         ct_memstr(resp.data, resp.len, "\"task_complete\""))
                    version = 2;
            }
            whole_file_ref(t, &s->src, ct_fs_display(fs, rp), &resp);
            /* the observation is the next episode's prompt (absent after the last one) */
            char *next = ct_xasprintf("episode-%ld", eps[i].no + 1);
            char *np = ct_path_join(dir, next);
            char *npp = ct_path_join(np, "prompt.txt");
            if (read_text(fs, npp, &prompt) == 0) {
                s = &t->steps[t->n_steps - 1];
                s->observation = ct_terminus_observation(t, prompt.data, prompt.len);
                whole_file_ref(t, &s->obs_src, ct_fs_display(fs, npp), &prompt);
            } else if (i + 1 < n) {
                ct_traj_warn(t, "step %zu (%s): no %s/prompt.txt, so no observation", t->n_steps,
                             eps[i].name, next);
            }
            free(next);
            free(np);
            free(npp);
        }
        free(ep);
        free(rp);
    }
    if (n == 0) ct_traj_warn(t, "no episode-<n> directories: no steps");
    t->format_version = version == 1 ? "terminus-1" : version == 2 ? "terminus-2" : NULL;
    t->agent = version == 2 ? "Terminus-2" : "Terminus";
    if (t->n_steps > 0 && !ct_str_ends(t->steps[t->n_steps - 1].action, "[task_complete: true]") &&
        t->solved != CT_TRUE)
        ct_traj_warn(
            t, "the last step does not declare the task complete (run stopped or timed out?)");
    ct_buf_free(&resp);
    ct_buf_free(&prompt);
    for (size_t i = 0; i < n; i++)
        free(eps[i].name);
    free(eps);
    free(dir);
    ct_traj_list_push(out, t);
    return CT_OK;
}

const ct_loader ct_loader_terminus = {
    .name = "terminus",
    .agent = "Terminus",
    .summary =
        "Terminus 1/2 in a terminal-bench trial: agent-logs/episode-N/{prompt.txt,response.txt}",
    .detection = "agent-logs/episode-<n>/response.txt (or agent/episode-<n>/)",
    .detect = detect,
    .load = load,
};

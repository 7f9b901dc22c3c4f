/* OpenHands: one event schema in several containers.
 *
 *  - file store: <session>/events/<n>.json (one event per file, n = event id) and/or
 *    <session>/event_cache/<start>-<end>.json shards, <session>/metadata.json; found directly,
 *    below <dir>/sessions/<sid>/ or below a tb trial's sessions/sessions/<sid>/ (CodeTraceBench).
 *    The trajectory root is the session dir or the trial dir, never a bare `sessions` child.
 *  - evaluation output.jsonl: one trajectory per line ({instance_id, instruction, history,
 *    test_result.git_patch, metadata.llm_config, error}); the pretty-printed JSON array of the
 *    same records; the resolver's output.jsonl ({issue, history, git_patch, success}) which uses
 *    the OLD event schema (no id/source/cause: actions and observations alternate).
 *  - a bare JSON list of events (UI trajectory export).
 *  - a tb trial run by the leaderboard harness that kept only `openhands:INFO` logs: recognised
 *    and reported as "no steps recoverable" instead of "unknown format".
 *
 * Steps are every agent action (run, run_ipython, edit, read, write, browse, think, finish...).
 * bench_step_id counts only run/run_ipython actions: that is how CodeTraceBench numbers
 * OpenHands steps, so its labels line up with ours. */
#include "agent_steps.h"
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 500000

/* jansson refuses invalid UTF-8, and real logs hold broken bytes inside strings. Such bytes never
 * change the JSON structure, so a repaired copy (bad bytes -> U+FFFD) is parsed while spans are
 * still computed on the raw bytes. *repaired tells the caller to warn. */
static json_t *parse_repairing(const char *data, size_t len, const char *display, ct_error *err,
                               int *repaired)
{
    *repaired = 0;
    json_t *v = ct_fmt_parse_json(data, len, display, err);
    if (v || ct_utf8_valid(data, len) || ct_is_lfs_pointer(data, len)) return v;
    char *fixed = ct_utf8_sanitize(data, len);
    json_t *w = json_loadb(fixed, strlen(fixed), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    free(fixed);
    if (w) {
        *repaired = 1;
        if (err) ct_error_clear(err);
    }
    return w;
}

/* ---------------------------------------------------------------- event → step */

static const char *const not_steps[] = {
    "message",      "system",
    "recall",       "change_agent_state",
    "condensation", "condensation_request",
    "null",         "start",
    "pause",        "resume",
    "stop",
};

static long long ev_id(json_t *ev)
{
    json_t *v = json_object_get(ev, "id");
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

int ct_openhands_is_step(json_t *ev)
{
    const char *a = ct_fmt_str(ev, "action");
    if (!a) return 0;
    const char *src = ct_fmt_str(ev, "source");
    if (src && strcmp(src, "agent") != 0) return 0;
    for (size_t i = 0; i < sizeof not_steps / sizeof not_steps[0]; i++)
        if (strcmp(a, not_steps[i]) == 0) return 0;
    return 1;
}

/* The model's call arguments for this action (tool_call_metadata.model_response...
 * tool_calls[id == tool_call_id].function.arguments, a JSON string), as a new reference. */
static json_t *tool_args(json_t *ev)
{
    json_t *tcm = json_object_get(ev, "tool_call_metadata");
    if (!json_is_object(tcm)) return NULL;
    const char *call_id = ct_fmt_str(tcm, "tool_call_id");
    json_t *choices = json_object_get(json_object_get(tcm, "model_response"), "choices");
    json_t *msg = json_object_get(json_array_get(choices, 0), "message");
    json_t *calls = json_object_get(msg, "tool_calls");
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        const char *id = ct_fmt_str(c, "id");
        if (call_id && id && strcmp(id, call_id) != 0 && json_array_size(calls) > 1) continue;
        const char *a = ct_fmt_str(json_object_get(c, "function"), "arguments");
        if (!a) return NULL;
        json_t *v = json_loads(a, JSON_DECODE_ANY, NULL);
        if (json_is_object(v)) return v;
        json_decref(v);
        return NULL;
    }
    return NULL;
}

/* args[key] when it is a non-empty string, else the model's own argument of that name. */
static const char *arg_str(json_t *args, json_t *targs, const char *key)
{
    const char *s = ct_fmt_str(args, key);
    if (s && *s) return s;
    s = ct_fmt_str(targs, key);
    return s && *s ? s : NULL;
}

static json_t *arg_val(json_t *args, json_t *targs, const char *key)
{
    json_t *v = json_object_get(args, key);
    if (v && !json_is_null(v)) return v;
    v = json_object_get(targs, key);
    return v && !json_is_null(v) ? v : NULL;
}

/* The first quoted argument of an agentskills call: open_file('/x') → /x. */
static const char *first_quoted(ct_trajectory *t, const char *code)
{
    const char *p = strchr(code, '(');
    if (!p) return NULL;
    p++;
    while (*p &&
           (isspace((unsigned char)*p) || isalnum((unsigned char)*p) || *p == '_' || *p == '='))
        p++;
    if (*p != '\'' && *p != '"') return NULL;
    char q = *p++;
    const char *e = strchr(p, q);
    return e && e > p ? ct_traj_strndup(t, p, (size_t)(e - p)) : NULL;
}

static int word_at(const char *s, const char *w)
{
    size_t n = strlen(w);
    return strncmp(s, w, n) == 0 && (s[n] == '(' || s[n] == ' ');
}

/* Kind of an IPython cell: agentskills helpers (old CodeAct) name what they do. */
static ct_step_kind ipython_kind(ct_trajectory *t, ct_step *s, const char *code)
{
    while (isspace((unsigned char)*code))
        code++;
    if (*code == '!') return ct_fmt_kind_from_shell(code + 1);
    static const char *const reads[] = {"open_file", "goto_line", "scroll_down", "scroll_up"};
    static const char *const searches[] = {"search_dir", "search_file", "find_file"};
    static const char *const edits[] = {"edit_file_by_replace", "insert_content_at_line",
                                        "append_file", "edit_file"};
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
        if (word_at(code, reads[i])) {
            const char *p = i == 0 ? first_quoted(t, code) : NULL;
            if (p) {
                ct_file_touch *f = ct_step_add_file(t, s);
                f->path = p;
                f->op = "view";
            }
            return CT_KIND_READ;
        }
    for (size_t i = 0; i < sizeof searches / sizeof searches[0]; i++)
        if (word_at(code, searches[i])) return CT_KIND_SEARCH;
    int create = word_at(code, "create_file");
    int edit = 0;
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++)
        edit |= word_at(code, edits[i]);
    if (create || edit) {
        const char *p = first_quoted(t, code);
        if (p) {
            ct_file_touch *f = ct_step_add_file(t, s);
            f->path = p;
            f->op = create ? "create" : "aci_edit";
        }
        return create ? CT_KIND_CREATE : CT_KIND_EDIT;
    }
    return CT_KIND_BASH;
}

static const char *model_text(ct_trajectory *t, json_t *ev)
{
    json_t *tcm = json_object_get(ev, "tool_call_metadata");
    json_t *choices = json_object_get(json_object_get(tcm, "model_response"), "choices");
    json_t *msg = json_object_get(json_array_get(choices, 0), "message");
    const char *s = ct_fmt_content_text(t, json_object_get(msg, "content"));
    return s && *s ? s : NULL;
}

static void dump_into(ct_buf *b, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s) ct_buf_puts(b, s);
    free(s);
}

static void edit_step(ct_trajectory *t, ct_step *s, json_t *args, json_t *targs, const char *tool,
                      ct_buf *b)
{
    const char *cmd = arg_str(args, targs, "command");
    const char *path = arg_str(args, targs, "path");
    const char *old_s = arg_str(args, targs, "old_str");
    const char *new_s = arg_str(args, targs, "new_str");
    const char *text = arg_str(args, targs, "file_text");
    const char *llm = ct_fmt_str(args, "content");
    if (!cmd) cmd = text ? "create" : old_s ? "str_replace" : "edit";
    if (strcmp(cmd, "view") == 0)
        s->kind = CT_KIND_READ;
    else if (strcmp(cmd, "create") == 0)
        s->kind = CT_KIND_CREATE;
    else
        s->kind = CT_KIND_EDIT;
    ct_buf_printf(b, "%s %s %s", tool, cmd, path ? path : "?");
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = ct_traj_strdup(t, path);
    f->op = ct_traj_strdup(t, cmd);
    json_t *il = arg_val(args, targs, "insert_line");
    if (strcmp(cmd, "insert") == 0 && json_is_integer(il)) {
        f->line_start = f->line_end = (long)json_integer_value(il);
        ct_buf_printf(b, " insert_line=%ld", f->line_start);
    }
    if (strcmp(cmd, "create") == 0) {
        f->content = ct_traj_strdup(t, text ? text : "");
        ct_buf_printf(b, "\n--- file_text ---\n%s", text ? text : "");
    } else if (strcmp(cmd, "edit") == 0 && llm && *llm) {
        f->new_text = ct_traj_strdup(t, llm);
        ct_buf_printf(b, "\n--- content ---\n%s", llm);
    } else {
        if (old_s) {
            f->old_text = ct_traj_strdup(t, old_s);
            ct_buf_printf(b, "\n--- old_str ---\n%s", old_s);
        }
        if (new_s) {
            f->new_text = ct_traj_strdup(t, new_s);
            ct_buf_printf(b, "\n--- new_str ---\n%s", new_s);
        }
    }
}

static void read_step(ct_trajectory *t, ct_step *s, json_t *args, json_t *targs, const char *tool,
                      ct_buf *b)
{
    const char *path = arg_str(args, targs, "path");
    json_t *vr = arg_val(args, targs, "view_range");
    s->kind = CT_KIND_READ;
    ct_buf_printf(b, "%s view %s", tool, path ? path : "?");
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = ct_traj_strdup(t, path);
    f->op = "view";
    if (json_is_array(vr) && json_array_size(vr) == 2) {
        json_t *a = json_array_get(vr, 0), *e = json_array_get(vr, 1);
        ct_buf_puts(b, "  view_range=[");
        dump_into(b, a);
        ct_buf_puts(b, ", ");
        dump_into(b, e);
        ct_buf_putc(b, ']');
        if (json_is_integer(a)) f->line_start = (long)json_integer_value(a);
        if (json_is_integer(e)) f->line_end = (long)json_integer_value(e);
    }
}

ct_step *ct_openhands_add_step(ct_trajectory *t, json_t *ev, int *n_run)
{
    const char *a = ct_fmt_str(ev, "action");
    json_t *args = json_object_get(ev, "args");
    json_t *targs = tool_args(ev);
    const char *fn = ct_fmt_str(json_object_get(ev, "tool_call_metadata"), "function_name");
    ct_step *s = ct_traj_add_step(t);
    ct_buf b = CT_BUF_INIT;
    s->bench_step_id = 0;
    s->timestamp = ct_traj_strdup(t, ct_fmt_str(ev, "timestamp"));
    const char *thought = arg_str(args, NULL, "thought");
    if (!a) a = "";
    if (strcmp(a, "run") == 0 || strcmp(a, "run_ipython") == 0) {
        int ipy = a[3] == '_';
        const char *code = arg_str(args, targs, ipy ? "code" : "command");
        if (!code) code = "";
        /* CodeTraceBench counts the run actions a command can be read from (not empty input
         * polls of a running process) */
        if (*code) s->bench_step_id = ++*n_run;
        s->tool = ct_traj_strdup(t, fn ? fn : ipy ? "execute_ipython_cell" : "execute_bash");
        ct_buf_puts(&b, code);
        s->kind = ipy ? ipython_kind(t, s, code) : ct_fmt_kind_from_shell(code);
    } else if (strcmp(a, "edit") == 0) {
        s->tool = ct_traj_strdup(t, fn ? fn : "str_replace_editor");
        edit_step(t, s, args, targs, s->tool, &b);
    } else if (strcmp(a, "read") == 0) {
        s->tool = ct_traj_strdup(t, fn ? fn : "str_replace_editor");
        read_step(t, s, args, targs, s->tool, &b);
    } else if (strcmp(a, "write") == 0) {
        const char *path = arg_str(args, targs, "path");
        const char *content = ct_fmt_str(args, "content");
        s->tool = ct_traj_strdup(t, fn ? fn : "write");
        s->kind = CT_KIND_CREATE;
        ct_buf_printf(&b, "write %s\n--- content ---\n%s", path ? path : "?",
                      content ? content : "");
        ct_file_touch *f = ct_step_add_file(t, s);
        f->path = ct_traj_strdup(t, path);
        f->op = "write";
        f->content = ct_traj_strdup(t, content ? content : "");
    } else if (strcmp(a, "think") == 0) {
        s->tool = ct_traj_strdup(t, fn ? fn : "think");
        s->kind = CT_KIND_THINK;
        ct_buf_puts(&b, thought ? thought : "");
        thought = NULL;
    } else if (strcmp(a, "finish") == 0) {
        s->tool = ct_traj_strdup(t, fn ? fn : "finish");
        s->kind = CT_KIND_SUBMIT;
        ct_buf_puts(&b, "finish");
        json_t *tc = json_object_get(args, "task_completed");
        if (json_is_string(tc) && *json_string_value(tc))
            ct_buf_printf(&b, " task_completed=%s", json_string_value(tc));
        else if (json_is_boolean(tc))
            ct_buf_printf(&b, " task_completed=%s", json_is_true(tc) ? "true" : "false");
        const char *ft = arg_str(args, NULL, "final_thought");
        if (!ft) ft = arg_str(targs, NULL, "message");
        if (ft) ct_buf_printf(&b, "\n%s", ft);
    } else if (ct_str_starts(a, "browse")) {
        s->tool = ct_traj_strdup(t, fn ? fn : "browser");
        s->kind = CT_KIND_OTHER;
        const char *url = arg_str(args, targs, "url");
        const char *acts = arg_str(args, targs, "browser_actions");
        ct_buf_printf(&b, "%s %s", a, url ? url : acts ? acts : "");
    } else {
        /* mcp calls, delegation and actions added after this loader was written */
        s->tool = ct_traj_strdup(t, fn ? fn : a);
        s->kind = CT_KIND_OTHER;
        ct_buf_puts(&b, a);
        const char *name = arg_str(args, NULL, "name");
        if (!name) name = arg_str(args, NULL, "agent");
        if (name) ct_buf_printf(&b, " %s", name);
        json_t *more = json_object_get(args, "arguments");
        if (!more) more = json_object_get(args, "inputs");
        if (more) {
            ct_buf_putc(&b, ' ');
            dump_into(&b, more);
        }
    }
    s->thought = thought ? ct_traj_strdup(t, thought)
                         : (s->kind == CT_KIND_THINK ? NULL : model_text(t, ev));
    s->action = ct_traj_strndup(t, b.data ? b.data : "", b.len);
    ct_buf_free(&b);
    json_decref(targs);
    return s;
}

void ct_openhands_set_observation(ct_trajectory *t, ct_step *s, json_t *obs)
{
    const char *c = ct_fmt_jstr(t, json_object_get(obs, "content"));
    s->observation = c ? c : ct_traj_strdup(t, "");
    json_t *ec =
        json_object_get(json_object_get(json_object_get(obs, "extras"), "metadata"), "exit_code");
    if (!json_is_integer(ec)) ec = json_object_get(obs, "exit_code");
    if (json_is_integer(ec)) {
        s->has_exit_code = 1;
        s->exit_code = (int)json_integer_value(ec);
    }
}

/* ---------------------------------------------------------------- event lists */

typedef struct {
    json_t *ev; /* owned */
    char *path; /* display path of the raw file (owned) */
    size_t start, end;
    int line_start, line_end;
    size_t seq; /* read order, to keep sorting stable */
} oh_ev;

typedef struct {
    oh_ev *v;
    size_t n, cap;
} oh_evs;

static void evs_push(oh_evs *l, json_t *ev, const char *path, size_t start, size_t end,
                     const ct_lines *li)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = ct_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    oh_ev *e = &l->v[l->n++];
    e->ev = ev;
    e->seq = l->n - 1;
    e->path = ct_xstrdup(path);
    e->start = start;
    e->end = end;
    e->line_start = li ? ct_lines_of(li, start) : 0;
    e->line_end = li ? ct_lines_of(li, end > start ? end - 1 : start) : 0;
}

static void evs_free(oh_evs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        json_decref(l->v[i].ev);
        free(l->v[i].path);
    }
    free(l->v);
    *l = (oh_evs){0};
}

static void set_ref(ct_trajectory *t, ct_source_ref *r, const oh_ev *e)
{
    r->path = ct_traj_strdup(t, e->path);
    r->byte_start = e->start;
    r->byte_end = e->end;
    r->line_start = e->line_start;
    r->line_end = e->line_end;
}

typedef struct {
    long long cause;
    size_t idx;
} cause_ix;

static int cause_cmp(const void *a, const void *b)
{
    const cause_ix *x = a, *y = b;
    if (x->cause != y->cause) return x->cause < y->cause ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void warn_missing(ct_trajectory *t, const int *ids, size_t n)
{
    if (!n) return;
    ct_buf b = CT_BUF_INIT;
    for (size_t i = 0; i < n && i < 20; i++)
        ct_buf_printf(&b, "%s%d", i ? ", " : "", ids[i]);
    if (n > 20) ct_buf_puts(&b, ", ...");
    ct_traj_warn(t, "%zu action%s without an observation (run killed or truncated?): step%s %s", n,
                 n == 1 ? "" : "s", n == 1 ? "" : "s", b.data);
    ct_buf_free(&b);
}

static int has_key(json_t *o, const char *k)
{
    return json_object_get(o, k) != NULL;
}

/* Current schema: observations point at their action through `cause`. */
static void build_new(ct_trajectory *t, oh_evs *evs)
{
    cause_ix *ix = ct_xmalloc((evs->n + 1) * sizeof *ix);
    size_t nix = 0;
    for (size_t i = 0; i < evs->n; i++) {
        json_t *c = json_object_get(evs->v[i].ev, "cause");
        if (has_key(evs->v[i].ev, "observation") && json_is_integer(c))
            ix[nix++] = (cause_ix){(long long)json_integer_value(c), i};
    }
    qsort(ix, nix, sizeof *ix, cause_cmp);
    int n_run = 0, group = 0;
    const char *last_resp = NULL, *last_state = NULL;
    int *missing = ct_xmalloc((evs->n + 1) * sizeof *missing);
    size_t n_missing = 0;
    for (size_t i = 0; i < evs->n; i++) {
        json_t *ev = evs->v[i].ev;
        const char *a = ct_fmt_str(ev, "action");
        const char *src = ct_fmt_str(ev, "source");
        if (a && strcmp(a, "message") == 0 && src && strcmp(src, "user") == 0 && !t->task) {
            const char *c = ct_fmt_str(json_object_get(ev, "args"), "content");
            t->task = ct_traj_strdup(t, c ? c : ct_fmt_str(ev, "message"));
        }
        if (a && strcmp(a, "system") == 0) {
            json_t *args = json_object_get(ev, "args");
            const char *v = ct_fmt_str(args, "openhands_version");
            if (v && !t->format_version) t->format_version = ct_traj_strdup(t, v);
            json_t *ac = json_object_get(args, "agent_class");
            if (json_is_string(ac) && !json_object_get(t->metadata, "agent_class"))
                json_object_set(t->metadata, "agent_class", ac);
        }
        const char *o = ct_fmt_str(ev, "observation");
        if (o && strcmp(o, "agent_state_changed") == 0) {
            const char *st = ct_fmt_str(json_object_get(ev, "extras"), "agent_state");
            if (st) last_state = st;
        }
        if (a && strcmp(a, "message") == 0 && src && strcmp(src, "agent") == 0) {
            /* the agent's reply to the user is not a step, but it is its final word */
            json_t *c = json_object_get(json_object_get(ev, "args"), "content");
            if (json_is_string(c)) json_object_set(t->metadata, "final_message", c);
        }
        if (!ct_openhands_is_step(ev)) continue;
        ct_step *s = ct_openhands_add_step(t, ev, &n_run);
        set_ref(t, &s->src, &evs->v[i]);
        json_t *tcm = json_object_get(ev, "tool_call_metadata");
        const char *resp = ct_fmt_str(json_object_get(tcm, "model_response"), "id");
        json_t *tot = json_object_get(tcm, "total_calls_in_response");
        int same_resp = resp && last_resp && strcmp(resp, last_resp) == 0;
        if (json_is_integer(tot) && json_integer_value(tot) > 1) {
            if (!same_resp || group == 0) group++;
            s->parallel_group = group;
        }
        /* a response's text is the thought of its first call only */
        const char *own = ct_fmt_str(json_object_get(ev, "args"), "thought");
        if (same_resp && (!own || !*own)) s->thought = NULL;
        last_resp = resp;
        long long id = ev_id(ev);
        size_t lo = 0, hi = nix;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ix[mid].cause < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (id >= 0 && lo < nix && ix[lo].cause == id) {
            const oh_ev *ob = &evs->v[ix[lo].idx];
            ct_openhands_set_observation(t, s, ob->ev);
            set_ref(t, &s->obs_src, ob);
        } else if (s->kind != CT_KIND_SUBMIT) {
            missing[n_missing++] = s->step_id;
        }
    }
    if (last_state && !t->exit_status) t->exit_status = ct_traj_strdup(t, last_state);
    warn_missing(t, missing, n_missing);
    free(missing);
    free(ix);
}

/* Old schema (resolver output): no ids; each action is followed by its observation. The
 * action's own fields sit at the top level, so they are wrapped as `args` for the builder. */
static void build_old(ct_trajectory *t, oh_evs *evs)
{
    int n_run = 0;
    int *missing = ct_xmalloc((evs->n + 1) * sizeof *missing);
    size_t n_missing = 0;
    for (size_t i = 0; i < evs->n; i++) {
        json_t *ev = evs->v[i].ev;
        const char *a = ct_fmt_str(ev, "action");
        if (!a) continue;
        if (strcmp(a, "message") == 0) {
            if (!t->task) t->task = ct_fmt_jstr(t, json_object_get(ev, "content"));
            continue;
        }
        json_t *wrap = json_pack("{s:s, s:O}", "action", a, "args", ev);
        if (!wrap || !ct_openhands_is_step(wrap)) {
            json_decref(wrap);
            continue;
        }
        ct_step *s = ct_openhands_add_step(t, wrap, &n_run);
        json_decref(wrap);
        set_ref(t, &s->src, &evs->v[i]);
        if (i + 1 < evs->n && has_key(evs->v[i + 1].ev, "observation")) {
            ct_openhands_set_observation(t, s, evs->v[i + 1].ev);
            set_ref(t, &s->obs_src, &evs->v[i + 1]);
            i++;
        } else if (s->kind != CT_KIND_SUBMIT) {
            missing[n_missing++] = s->step_id;
        }
    }
    warn_missing(t, missing, n_missing);
    free(missing);
}

static void build(ct_trajectory *t, oh_evs *evs)
{
    int old = evs->n > 0;
    for (size_t i = 0; i < evs->n && old; i++)
        if (has_key(evs->v[i].ev, "id") || has_key(evs->v[i].ev, "source")) old = 0;
    if (old) {
        json_object_set_new(t->metadata, "event_schema", json_string("old"));
        build_old(t, evs);
    } else {
        build_new(t, evs);
    }
    if (t->n_steps == 0) ct_traj_warn(t, "no agent actions in %zu events: no steps", evs->n);
}

static ct_trajectory *new_traj(const char *display)
{
    ct_trajectory *t = ct_traj_new("openhands", display);
    t->agent = "OpenHands";
    return t;
}

/* ---------------------------------------------------------------- file store */

static int uint_name(const char *name, const char *suffix, long long *v)
{
    size_t n = strlen(name), sl = strlen(suffix);
    if (n <= sl || strcmp(name + n - sl, suffix) != 0) return 0;
    long long x = 0;
    for (size_t i = 0; i < n - sl; i++) {
        if (!isdigit((unsigned char)name[i]) || i > 15) return 0;
        x = x * 10 + (name[i] - '0');
    }
    *v = x;
    return 1;
}

/* A directory holding <id>.json event files. */
static int has_event_files(ct_fs *fs, const char *dir)
{
    int yes = 0;
    ct_dirent *ents;
    size_t n;
    long long id;
    if (ct_fs_is_dir(fs, dir) && ct_fs_list(fs, dir, &ents, &n, NULL) == CT_OK) {
        for (size_t i = 0; i < n && !yes; i++)
            yes = !ents[i].is_dir && uint_name(ents[i].name, ".json", &id);
        ct_fs_list_free(ents, n);
    }
    return yes;
}

/* The events/ folder itself, named directly by the user. */
static int is_events_dir(ct_fs *fs, const char *rel)
{
    /* rel is "" when the fs was opened at the folder: its name is in the display path */
    const char *d = ct_fs_display(fs, rel);
    size_t n = strlen(d);
    while (n > 0 && d[n - 1] == '/')
        n--;
    return n >= 6 && memcmp(d + n - 6, "events", 6) == 0 && (n == 6 || d[n - 7] == '/') &&
           has_event_files(fs, rel);
}

static int is_session_dir(ct_fs *fs, const char *rel)
{
    char *ev = ct_path_join(rel, "events");
    char *cache = ct_path_join(rel, "event_cache");
    int yes = has_event_files(fs, ev) || ct_fs_is_dir(fs, cache);
    free(ev);
    free(cache);
    return yes;
}

typedef struct {
    char **v;
    size_t n, cap;
} strlist;

static void sl_push(strlist *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = ct_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = s;
}

static void sl_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (strlist){0};
}

static void sessions_below(ct_fs *fs, const char *dir, strlist *out, size_t limit)
{
    if (!ct_fs_is_dir(fs, dir)) return;
    ct_dirent *ents;
    size_t n;
    if (ct_fs_list(fs, dir, &ents, &n, NULL) != CT_OK) return;
    for (size_t i = 0; i < n && out->n < limit; i++) {
        if (!ents[i].is_dir) continue;
        char *c = ct_path_join(dir, ents[i].name);
        if (is_session_dir(fs, c))
            sl_push(out, c);
        else
            free(c);
    }
    ct_fs_list_free(ents, n);
}

/* Session dirs belonging to the root rel: rel itself, or below rel/sessions/sessions/ (tb trial,
 * CodeTraceBench) or rel/sessions/ (a copied ~/.openhands). */
static void find_sessions(ct_fs *fs, const char *rel, strlist *out, size_t limit)
{
    if (is_session_dir(fs, rel) || is_events_dir(fs, rel)) {
        sl_push(out, ct_xstrdup(rel));
        return;
    }
    char *s1 = ct_path_join(rel, "sessions");
    char *s2 = ct_path_join(s1, "sessions");
    sessions_below(fs, s2, out, limit);
    if (out->n == 0) sessions_below(fs, s1, out, limit);
    free(s1);
    free(s2);
}

static int openhands_log(ct_fs *fs, const char *rel)
{
    char *log = ct_path_join(rel, "sessions/agent.log");
    ct_buf b = CT_BUF_INIT;
    int yes = ct_fs_is_file(fs, log) && ct_fmt_head(fs, log, &b, 256 * 1024) == 0 && b.data &&
              !ct_is_lfs_pointer(b.data, b.len) && ct_memstr(b.data, b.len, "openhands:INFO");
    ct_buf_free(&b);
    free(log);
    return yes;
}

static int id_cmp(const void *a, const void *b)
{
    long long x = ev_id(((const oh_ev *)a)->ev), y = ev_id(((const oh_ev *)b)->ev);
    if (x < 0) x = 0x7fffffffffffffffLL;
    if (y < 0) y = 0x7fffffffffffffffLL;
    if (x != y) return x < y ? -1 : 1;
    size_t p = ((const oh_ev *)a)->seq, q = ((const oh_ev *)b)->seq;
    return p < q ? -1 : p > q;
}

/* One-event files under events/; a broken file is skipped with a warning. */
static void read_event_files(ct_fs *fs, ct_trajectory *t, const char *dir, oh_evs *evs)
{
    ct_dirent *ents;
    size_t n;
    if (ct_fs_list(fs, dir, &ents, &n, NULL) != CT_OK) return;
    for (size_t i = 0; i < n; i++) {
        long long id;
        if (ents[i].is_dir) continue;
        if (!uint_name(ents[i].name, ".json", &id)) {
            ct_traj_warn(t, "events/%s: not an <id>.json event file; ignored", ents[i].name);
            continue;
        }
        if (evs->n >= MAX_EVENTS) {
            ct_traj_warn(t, "more than %d events; the rest were not read", MAX_EVENTS);
            break;
        }
        char *rel = ct_path_join(dir, ents[i].name);
        ct_buf raw = CT_BUF_INIT;
        json_t *ev = NULL;
        ct_error e;
        ct_error_clear(&e);
        int repaired = 0;
        if (ct_fs_read(fs, rel, &raw, 0, &e) == CT_OK)
            ev = parse_repairing(raw.data ? raw.data : "", raw.len, ct_fs_display(fs, rel), &e,
                                 &repaired);
        if (repaired)
            ct_traj_warn(t, "%s: invalid UTF-8 replaced by U+FFFD", ct_fs_display(fs, rel));
        if (!ev) {
            char m[CT_ERROR_MSG_MAX + 600];
            ct_traj_warn(t, "event skipped: %s", ct_error_format(&e, m, sizeof m));
        } else if (!json_is_object(ev)) {
            ct_traj_warn(t, "%s: not a JSON object; event skipped", ct_fs_display(fs, rel));
            json_decref(ev);
        } else {
            ct_lines li;
            ct_lines_build(&li, raw.data, raw.len);
            size_t end = raw.len;
            while (end > 0 && (raw.data[end - 1] == '\n' || raw.data[end - 1] == '\r'))
                end--;
            evs_push(evs, ev, ct_fs_display(fs, rel), 0, end, &li);
            ct_lines_free(&li);
        }
        ct_buf_free(&raw);
        free(rel);
    }
    ct_fs_list_free(ents, n);
}

static int ll_cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* event_cache/<start>-<end>.json shards (lists of events); events already read are skipped. */
static void read_event_cache(ct_fs *fs, ct_trajectory *t, const char *dir, oh_evs *evs)
{
    ct_dirent *ents;
    size_t n;
    if (ct_fs_list(fs, dir, &ents, &n, NULL) != CT_OK) return;
    /* ids already read from events/ (OpenHands writes both events/ and the shards) */
    size_t nseen = 0;
    long long *seen = ct_xmalloc((evs->n + 1) * sizeof *seen);
    for (size_t j = 0; j < evs->n; j++)
        if (ev_id(evs->v[j].ev) >= 0) seen[nseen++] = ev_id(evs->v[j].ev);
    qsort(seen, nseen, sizeof *seen, ll_cmp);
    for (size_t i = 0; i < n; i++) {
        if (ents[i].is_dir || !ct_str_ends(ents[i].name, ".json")) continue;
        char *rel = ct_path_join(dir, ents[i].name);
        ct_buf raw = CT_BUF_INIT;
        json_t *arr = NULL;
        ct_error e;
        ct_error_clear(&e);
        ct_span *sp = NULL;
        long ns = -1;
        if (ct_fmt_read_json(fs, rel, &raw, &arr, &e) != CT_OK) {
            char m[CT_ERROR_MSG_MAX + 600];
            ct_traj_warn(t, "event cache shard skipped: %s", ct_error_format(&e, m, sizeof m));
        } else if (!json_is_array(arr)) {
            ct_traj_warn(t, "%s: not a list of events; skipped", ct_fs_display(fs, rel));
        } else {
            ns = ct_json_array_spans(raw.data, raw.len, 0, &sp);
            ct_lines li;
            ct_lines_build(&li, raw.data, raw.len);
            size_t k;
            json_t *ev;
            json_array_foreach(arr, k, ev)
            {
                if (!json_is_object(ev) || evs->n >= MAX_EVENTS) continue;
                long long id = ev_id(ev);
                if (id >= 0 && nseen && bsearch(&id, seen, nseen, sizeof *seen, ll_cmp)) continue;
                int ok = ns == (long)json_array_size(arr);
                evs_push(evs, json_incref(ev), ct_fs_display(fs, rel), ok ? sp[k].start : 0,
                         ok ? sp[k].end : raw.len, &li);
            }
            ct_lines_free(&li);
        }
        free(sp);
        json_decref(arr);
        ct_buf_free(&raw);
        free(rel);
    }
    free(seen);
    ct_fs_list_free(ents, n);
}

static void load_session(ct_fs *fs, const char *root, const char *session, const char *id,
                         ct_traj_list *out)
{
    ct_trajectory *t = new_traj(ct_fs_display(fs, root));
    t->id = ct_traj_strdup(t, id);
    json_object_set_new(t->metadata, "container", json_string("file-store"));
    json_object_set_new(t->metadata, "session", json_string(ct_fs_display(fs, session)));
    if (ct_fmt_is_tb_trial(fs, root)) ct_fmt_tb_trial_fill(fs, root, t);
    char *meta = ct_path_join(session, "metadata.json");
    if (ct_fs_is_file(fs, meta)) {
        ct_buf raw = CT_BUF_INIT;
        json_t *m = NULL;
        if (ct_fmt_read_json(fs, meta, &raw, &m, NULL) == CT_OK && json_is_object(m)) {
            t->model = ct_fmt_jstr(t, json_object_get(m, "llm_model"));
            static const char *keys[] = {"conversation_id", "title", "accumulated_cost",
                                         "prompt_tokens", "completion_tokens"};
            for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                json_t *v = json_object_get(m, keys[i]);
                if (v && !json_is_null(v)) json_object_set(t->metadata, keys[i], v);
            }
        } else {
            ct_traj_warn(t, "%s could not be read; no model name", ct_fs_display(fs, meta));
        }
        json_decref(m);
        ct_buf_free(&raw);
    }
    free(meta);
    oh_evs evs = {0};
    char *evdir = ct_path_join(session, "events");
    char *cache = ct_path_join(session, "event_cache");
    if (ct_fs_is_dir(fs, evdir))
        read_event_files(fs, t, evdir, &evs);
    else if (is_events_dir(fs, session))
        read_event_files(fs, t, session, &evs);
    if (ct_fs_is_dir(fs, cache)) read_event_cache(fs, t, cache, &evs);
    free(evdir);
    free(cache);
    /* stable order by id (file names sort naturally already; shards may interleave) */
    if (evs.n > 1) qsort(evs.v, evs.n, sizeof *evs.v, id_cmp);
    /* overlapping shards repeat events: keep the first copy of each id */
    size_t kept = 0;
    for (size_t i = 0; i < evs.n; i++) {
        long long eid = ev_id(evs.v[i].ev);
        if (kept && eid >= 0 && ev_id(evs.v[kept - 1].ev) == eid) {
            json_decref(evs.v[i].ev);
            free(evs.v[i].path);
            continue;
        }
        evs.v[kept++] = evs.v[i];
    }
    evs.n = kept;
    build(t, &evs);
    evs_free(&evs);
    ct_traj_list_push(out, t);
}

/* ---------------------------------------------------------------- records (output.jsonl) */

static void set_meta(ct_trajectory *t, const char *key, json_t *v)
{
    if (v && !json_is_null(v)) json_object_set(t->metadata, key, v);
}

/* A record's history → events with spans in the file (rec_start: offset of the record). */
static void record_events(ct_trajectory *t, json_t *hist, const char *raw, size_t n,
                          size_t rec_start, size_t rec_end, const char *display, const ct_lines *li,
                          oh_evs *evs)
{
    static const char *const path[] = {"history"};
    ct_span hs, *sp = NULL;
    long ns = -1;
    if (ct_json_find(raw, n, rec_start, path, 1, &hs) == 0)
        ns = ct_json_array_spans(raw, n, hs.start, &sp);
    if (ns != (long)json_array_size(hist)) {
        ns = -1;
        ct_traj_warn(
            t, "could not locate the events inside the record; steps point at the whole record");
    }
    size_t i;
    json_t *ev;
    json_array_foreach(hist, i, ev)
    {
        if (!json_is_object(ev) || evs->n >= MAX_EVENTS) continue;
        evs_push(evs, json_incref(ev), display, ns >= 0 ? sp[i].start : rec_start,
                 ns >= 0 ? sp[i].end : rec_end, li);
    }
    free(sp);
}

static ct_trajectory *load_record(json_t *rec, const char *raw, size_t n, size_t start, size_t end,
                                  const char *display, const ct_lines *li, const char *container)
{
    ct_trajectory *t = new_traj(display);
    json_object_set_new(t->metadata, "container", json_string(container));
    t->task = ct_fmt_jstr(t, json_object_get(rec, "instruction"));
    json_t *tr = json_object_get(rec, "test_result");
    t->final_patch = ct_fmt_jstr(t, json_object_get(tr, "git_patch"));
    if (!t->final_patch) t->final_patch = ct_fmt_jstr(t, json_object_get(rec, "git_patch"));
    json_t *md = json_object_get(rec, "metadata");
    t->model = ct_fmt_jstr(t, json_object_get(json_object_get(md, "llm_config"), "model"));
    set_meta(t, "instance_id", json_object_get(rec, "instance_id"));
    set_meta(t, "agent_class", json_object_get(md, "agent_class"));
    set_meta(t, "max_iterations", json_object_get(md, "max_iterations"));
    set_meta(t, "dataset", json_object_get(md, "dataset"));
    set_meta(t, "accumulated_cost",
             json_object_get(json_object_get(rec, "metrics"), "accumulated_cost"));
    json_t *issue = json_object_get(rec, "issue");
    if (json_is_object(issue)) {
        json_t *o = json_object();
        static const char *keys[] = {"owner", "repo", "number", "title"};
        for (size_t i = 0; i < 4; i++) {
            json_t *v = json_object_get(issue, keys[i]);
            if (v) json_object_set(o, keys[i], v);
        }
        json_object_set_new(t->metadata, "issue", o);
        if (!t->task) t->task = ct_fmt_jstr(t, json_object_get(issue, "body"));
    }
    set_meta(t, "issue_type", json_object_get(rec, "issue_type"));
    set_meta(t, "result_explanation", json_object_get(rec, "result_explanation"));
    json_t *ok = json_object_get(rec, "success");
    if (json_is_boolean(ok)) t->solved = json_is_true(ok) ? CT_TRUE : CT_FALSE;
    const char *error = ct_fmt_str(rec, "error");
    if (error && *error) {
        t->exit_status = ct_traj_strdup(t, error);
        ct_traj_warn(t, "the agent stopped with an error: %s", error);
    }
    json_t *hist = json_object_get(rec, "history");
    oh_evs evs = {0};
    if (json_is_array(hist))
        record_events(t, hist, raw, n, start, end, display, li, &evs);
    else
        ct_traj_warn(t, "the record has no history list: no steps");
    build(t, &evs);
    evs_free(&evs);
    return t;
}

static int is_record(json_t *v)
{
    return json_is_object(v) && json_is_array(json_object_get(v, "history"));
}

static int load_jsonl(ct_fs *fs, const char *rel, ct_buf *raw, ct_traj_list *out, ct_error *err)
{
    const char *display = ct_fs_display(fs, rel);
    ct_lines li;
    ct_lines_build(&li, raw->data, raw->len);
    size_t pos = 0, k = 0, good = 0;
    ct_error first;
    ct_error_clear(&first);
    while (pos < raw->len) {
        const char *nl = memchr(raw->data + pos, '\n', raw->len - pos);
        size_t end = nl ? (size_t)(nl - raw->data) : raw->len;
        size_t s = ct_json_skip_ws(raw->data, end, pos);
        size_t e = end;
        while (e > s &&
               (raw->data[e - 1] == '\r' || raw->data[e - 1] == ' ' || raw->data[e - 1] == '\t'))
            e--;
        if (s < e) {
            k++;
            ct_error le;
            ct_error_clear(&le);
            int repaired;
            json_t *rec = parse_repairing(raw->data + s, e - s, display, &le, &repaired);
            ct_trajectory *t;
            if (rec && is_record(rec)) {
                t = load_record(rec, raw->data, raw->len, s, e, display, &li, "eval-output");
                good++;
            } else {
                t = new_traj(display);
                json_object_set_new(t->metadata, "container", json_string("eval-output"));
                if (rec) {
                    ct_traj_warn(t, "line %d: not a trajectory record (no history list); skipped",
                                 ct_lines_of(&li, s));
                    if (first.code == CT_OK)
                        ct_error_setf(&first, CT_EFORMAT, display, (long long)s,
                                      ct_lines_of(&li, s),
                                      "not an OpenHands record (no history list)");
                } else {
                    ct_traj_warn(
                        t, "line %d: %s JSON at byte %lld; record skipped", ct_lines_of(&li, s),
                        ct_memstr(le.msg, strlen(le.msg), "truncated") ? "truncated" : "invalid",
                        (long long)s + (le.offset > 0 ? le.offset : 0));
                    if (first.code == CT_OK)
                        ct_error_setf(&first, CT_EPARSE, display,
                                      (long long)s + (le.offset > 0 ? le.offset : 0),
                                      ct_lines_of(&li, s), "%s", le.msg);
                }
            }
            json_decref(rec);
            if (repaired)
                ct_traj_warn(t, "line %d: invalid UTF-8 replaced by U+FFFD", ct_lines_of(&li, s));
            t->id = ct_traj_printf(t, "%s#%zu", display, k);
            ct_traj_list_push(out, t);
        }
        pos = end + 1;
    }
    ct_lines_free(&li);
    if (good == 0) {
        if (first.code != CT_OK) {
            if (err) *err = first;
            return first.code;
        }
        return ct_error_setf(err, CT_EEMPTY, display, -1, 0, "no trajectory records in this file");
    }
    return CT_OK;
}

static int load_json_file(ct_fs *fs, const char *rel, ct_buf *raw, ct_traj_list *out, ct_error *err)
{
    const char *display = ct_fs_display(fs, rel);
    int repaired;
    size_t first = out->n;
    json_t *v = parse_repairing(raw->data, raw->len, display, err, &repaired);
    if (!v) return err && err->code ? err->code : CT_EPARSE;
    ct_lines li;
    ct_lines_build(&li, raw->data, raw->len);
    int rc = CT_OK;
    if (is_record(v)) {
        size_t s = ct_json_skip_ws(raw->data, raw->len, 0);
        ct_traj_list_push(out, load_record(v, raw->data, raw->len, s, raw->len, display, &li,
                                           "eval-output-json"));
    } else if (json_is_array(v) && json_array_size(v) > 0 && is_record(json_array_get(v, 0))) {
        ct_span *sp = NULL;
        long ns = ct_json_array_spans(raw->data, raw->len, 0, &sp);
        size_t i;
        json_t *rec;
        json_array_foreach(v, i, rec)
        {
            size_t s = ns == (long)json_array_size(v) ? sp[i].start : 0;
            size_t e = ns == (long)json_array_size(v) ? sp[i].end : raw->len;
            ct_trajectory *t;
            if (is_record(rec)) {
                t = load_record(rec, raw->data, raw->len, s, e, display, &li, "eval-output-array");
            } else {
                t = new_traj(display);
                ct_traj_warn(t, "element %zu is not a trajectory record; skipped", i + 1);
            }
            t->id = ct_traj_printf(t, "%s#%zu", display, i + 1);
            ct_traj_list_push(out, t);
        }
        free(sp);
    } else if (json_is_array(v)) {
        ct_trajectory *t = new_traj(display);
        json_object_set_new(t->metadata, "container", json_string("export"));
        ct_span *sp = NULL;
        long ns = ct_json_array_spans(raw->data, raw->len, 0, &sp);
        oh_evs evs = {0};
        size_t i;
        json_t *ev;
        json_array_foreach(v, i, ev)
        {
            if (!json_is_object(ev) || evs.n >= MAX_EVENTS) continue;
            int ok = ns == (long)json_array_size(v);
            evs_push(&evs, json_incref(ev), display, ok ? sp[i].start : 0,
                     ok ? sp[i].end : raw->len, &li);
        }
        free(sp);
        build(t, &evs);
        evs_free(&evs);
        ct_traj_list_push(out, t);
    } else {
        rc = ct_error_setf(
            err, CT_EFORMAT, display, -1, 0,
            "not an OpenHands file: expected a list of events or records with a history");
    }
    for (size_t i = first; repaired && i < out->n; i++)
        ct_traj_warn(out->items[i], "invalid UTF-8 replaced by U+FFFD");
    ct_lines_free(&li);
    json_decref(v);
    return rc;
}

/* ---------------------------------------------------------------- detect / load */

static int detect_file(ct_fs *fs, const char *rel)
{
    int jsonl = ct_str_ends(rel, ".jsonl"), json = ct_str_ends(rel, ".json");
    if (!jsonl && !json) return CT_DETECT_NO;
    ct_buf b = CT_BUF_INIT;
    int score = CT_DETECT_NO;
    if (ct_fmt_head(fs, rel, &b, 0) == 0 && b.data) {
        size_t s = ct_json_skip_ws(b.data, b.len, 0);
        const char *h = b.data + s;
        size_t n = b.len - s;
        int hist = ct_memstr(h, n, "\"history\"") != NULL;
        int inst = ct_memstr(h, n, "\"instance_id\"") || ct_memstr(h, n, "\"issue\"");
        int evs = (ct_memstr(h, n, "\"action\"") || ct_memstr(h, n, "\"observation\""));
        if (n > 0 && h[0] == '{' && hist && inst && evs)
            score = jsonl ? CT_DETECT_SURE : 80;
        else if (n > 0 && h[0] == '[' && hist && inst && evs)
            score = 80;
        else if (n > 0 && h[0] == '[' && evs && ct_memstr(h, n, "\"source\"") &&
                 ct_memstr(h, n, "\"id\"") &&
                 (ct_memstr(h, n, "\"cause\"") || ct_memstr(h, n, "\"args\"")))
            score = 75;
    }
    ct_buf_free(&b);
    return score;
}

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    if (!is_dir) return detect_file(fs, rel);
    strlist s = {0};
    find_sessions(fs, rel, &s, 2);
    int score = CT_DETECT_NO;
    if (s.n == 1)
        score = CT_DETECT_SURE;
    else if (s.n > 1)
        score = ct_fmt_is_tb_trial(fs, rel) ? CT_DETECT_SURE : CT_DETECT_LIKELY;
    else if (openhands_log(fs, rel))
        score = 70;
    sl_free(&s);
    return score;
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    if (is_dir) {
        strlist s = {0};
        find_sessions(fs, rel, &s, 100000);
        if (s.n == 0) {
            int log = openhands_log(fs, rel);
            sl_free(&s);
            if (log) {
                char *p = ct_path_join(rel, "sessions/agent.log");
                int rc = ct_error_setf(
                    err, CT_EEMPTY, ct_fs_display(fs, p), -1, 0,
                    "OpenHands log without actions: no steps recoverable (the harness kept only "
                    "openhands:INFO logs, no event stream)");
                free(p);
                return rc;
            }
            return ct_error_setf(
                err, CT_EFORMAT, ct_fs_display(fs, rel), -1, 0,
                "no OpenHands session here (expected events/<id>.json or sessions/<id>/events/)");
        }
        for (size_t i = 0; i < s.n; i++) {
            char *id = s.n == 1 ? ct_xstrdup(ct_fs_display(fs, rel))
                                : ct_xasprintf("%s#%zu", ct_fs_display(fs, rel), i + 1);
            load_session(fs, rel, s.v[i], id, out);
            free(id);
        }
        sl_free(&s);
        return CT_OK;
    }
    ct_buf raw = CT_BUF_INIT;
    int rc = ct_fs_read(fs, rel, &raw, 0, err);
    if (rc == CT_OK) {
        if (ct_is_lfs_pointer(raw.data, raw.len)) {
            rc = ct_error_lfs(err, ct_fs_display(fs, rel));
        } else {
            size_t s = ct_json_skip_ws(raw.data, raw.len, 0);
            int one_value = s < raw.len && raw.data[s] == '[';
            if (!one_value && ct_str_ends(rel, ".json")) one_value = 1;
            rc = one_value ? load_json_file(fs, rel, &raw, out, err)
                           : load_jsonl(fs, rel, &raw, out, err);
        }
    }
    ct_buf_free(&raw);
    return rc;
}

const ct_loader ct_loader_openhands = {
    .name = "openhands",
    .agent = "OpenHands",
    .summary = "OpenHands event streams: file store (sessions/<id>/events/<n>.json, event_cache), "
               "evaluation "
               "output.jsonl (and its JSON-array form), resolver output.jsonl (old schema), "
               "trajectory export",
    .detection =
        "events/<n>.json or sessions/[sessions/]<id>/events/; *.jsonl lines with history + "
        "instance_id/issue; JSON list of events with action/observation + source + id; "
        "sessions/agent.log with openhands:INFO (reported as no steps)",
    .detect = detect,
    .load = load,
};

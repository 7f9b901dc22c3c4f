/* formats/claude_code.c — Claude Code `--output-format stream-json` runs.
 *
 * Two containers carry the same event stream:
 *  - a terminal-bench v1 trial: sessions/agent.cast (asciinema v2). The CLI printed one JSON
 *    object per terminal line, amid apt/npm noise, the echoed prompt and SDK debug dumps. We
 *    join every "o" chunk (records split across chunks), strip ANSI escapes and '\r', and
 *    keep the lines that hold an event object.
 *  - a Harbor trial without trajectory.json: agent/claude-code.txt, plain JSONL (possibly two
 *    sessions: a resumed run prints a second init/result pair).
 *
 * Step = one tool_use block. Assistant events carry one content block each; the blocks of one
 * LLM turn share message.id, so several tool_use with one id are parallel calls. The
 * observation is the tool_result with the same tool_use_id; the thought is the text/thinking
 * of the same message before the call. Events of sub-agents (parent_tool_use_id set) stay
 * steps, listed in metadata.subagent_steps. */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_STEPS 200000

/* ---- tool call → action text ------------------------------------------------------------ */

/* Strings as they are; everything else as compact JSON. */
static void put_value(ct_buf *b, json_t *v, int quote_strings)
{
    if (json_is_string(v) && !quote_strings) {
        ct_buf_append(b, json_string_value(v), json_string_length(v));
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s) ct_buf_puts(b, s);
    free(s);
}

static const char *str_or_empty(json_t *o, const char *k)
{
    const char *s = ct_fmt_str(o, k);
    return s ? s : "";
}

static void touch_edit(ct_trajectory *t, ct_step *s, const char *path, json_t *e)
{
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = ct_traj_strdup(t, path);
    f->op = "str_replace";
    f->old_text = ct_fmt_jstr(t, json_object_get(e, "old_string"));
    f->new_text = ct_fmt_jstr(t, json_object_get(e, "new_string"));
}

/* obj[key] as text ("" when absent). */
static void put_field(ct_buf *b, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v) put_value(b, v, 0);
}

static void put_edit_text(ct_buf *b, json_t *e)
{
    ct_buf_puts(b, "\n--- old_string ---\n");
    put_field(b, e, "old_string");
    ct_buf_puts(b, "\n--- new_string ---\n");
    put_field(b, e, "new_string");
    if (json_is_true(json_object_get(e, "replace_all"))) ct_buf_puts(b, "\n# replace_all: true");
}

static ct_step_kind kind_of_tool(const char *name)
{
    static const struct {
        const char *name;
        ct_step_kind kind;
    } map[] = {
        {"Edit", CT_KIND_EDIT},          {"MultiEdit", CT_KIND_EDIT},
        {"NotebookEdit", CT_KIND_EDIT},  {"Write", CT_KIND_CREATE},
        {"Read", CT_KIND_READ},          {"NotebookRead", CT_KIND_READ},
        {"Glob", CT_KIND_SEARCH},        {"Grep", CT_KIND_SEARCH},
        {"LS", CT_KIND_SEARCH},          {"WebSearch", CT_KIND_SEARCH},
        {"TodoWrite", CT_KIND_THINK},    {"TodoRead", CT_KIND_THINK},
        {"ExitPlanMode", CT_KIND_THINK}, {"EnterPlanMode", CT_KIND_THINK},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, name) == 0) return map[i].kind;
    return CT_KIND_OTHER; /* Task/Agent (sub-agent), WebFetch, BashOutput, KillShell, ... */
}

void ct_fmt_claude_tool(ct_trajectory *t, ct_step *s, const char *name, json_t *input)
{
    if (!name) name = "";
    s->tool = ct_traj_strdup(t, name);
    s->kind = kind_of_tool(name);
    ct_buf b = CT_BUF_INIT;
    const char *path = ct_fmt_str(input, "file_path");
    if (!json_is_object(input)) {
        ct_buf_puts(&b, name);
        if (input) {
            ct_buf_putc(&b, ' ');
            put_value(&b, input, 1);
        }
    } else if (strcmp(name, "Bash") == 0) {
        /* The command itself, then the other arguments as shell comments. */
        const char *cmd = str_or_empty(input, "command");
        put_field(&b, input, "command");
        const char *k;
        json_t *v;
        json_object_foreach(input, k, v)
        {
            if (strcmp(k, "command") == 0) continue;
            ct_buf_printf(&b, "\n# %s: ", k);
            put_value(&b, v, 0);
        }
        s->kind = ct_fmt_kind_from_shell(cmd);
        if (s->kind == CT_KIND_SUBMIT || s->kind == CT_KIND_CREATE || s->kind == CT_KIND_EDIT)
            s->kind = CT_KIND_BASH; /* "create"/"edit"/"submit" are SWE-agent commands, not shell */
    } else if (strcmp(name, "TodoWrite") == 0 && json_is_array(json_object_get(input, "todos"))) {
        ct_buf_puts(&b, "TodoWrite");
        size_t i;
        json_t *todo;
        json_array_foreach(json_object_get(input, "todos"), i, todo)
        {
            ct_buf_printf(&b, "\n- [%s] %s", str_or_empty(todo, "status"),
                          str_or_empty(todo, "content"));
        }
    } else if (strcmp(name, "Write") == 0) {
        ct_buf_printf(&b, "Write %s\n--- content ---\n", path ? path : "");
        json_t *c = json_object_get(input, "content");
        if (c) put_value(&b, c, 0);
        ct_file_touch *f = ct_step_add_file(t, s);
        f->path = ct_traj_strdup(t, path ? path : "");
        f->op = "create";
        f->content = json_is_string(c) ? ct_fmt_jstr(t, c) : "";
    } else if (strcmp(name, "Edit") == 0) {
        ct_buf_printf(&b, "Edit %s", path ? path : "");
        put_edit_text(&b, input);
        touch_edit(t, s, path ? path : "", input);
    } else if (strcmp(name, "MultiEdit") == 0 && json_is_array(json_object_get(input, "edits"))) {
        ct_buf_printf(&b, "MultiEdit %s", path ? path : "");
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(input, "edits"), i, e)
        {
            if (!json_is_object(e)) continue;
            put_edit_text(&b, e);
            touch_edit(t, s, path ? path : "", e);
        }
    } else {
        /* Generic: `Name key=value ...` with JSON values ("Read file_path=\"/x\" offset=10"). */
        ct_buf_puts(&b, name);
        const char *k;
        json_t *v;
        json_object_foreach(input, k, v)
        {
            ct_buf_printf(&b, " %s=", k);
            put_value(&b, v, 1);
        }
        if ((strcmp(name, "Read") == 0 || strcmp(name, "NotebookRead") == 0) && path) {
            ct_file_touch *f = ct_step_add_file(t, s);
            f->path = ct_traj_strdup(t, path);
            f->op = "view";
            json_t *off = json_object_get(input, "offset"), *lim = json_object_get(input, "limit");
            if (json_is_integer(off) && json_integer_value(off) > 0) {
                f->line_start = (long)json_integer_value(off);
                if (json_is_integer(lim) && json_integer_value(lim) > 0)
                    f->line_end = f->line_start + (long)json_integer_value(lim) - 1;
            }
        } else if (strcmp(name, "NotebookEdit") == 0) {
            const char *nb = ct_fmt_str(input, "notebook_path");
            ct_file_touch *f = ct_step_add_file(t, s);
            f->path = ct_traj_strdup(t, nb ? nb : "");
            f->op = "notebook_edit";
            f->new_text = ct_fmt_jstr(t, json_object_get(input, "new_source"));
        }
    }
    s->action = ct_traj_strndup(t, b.data ? b.data : "", b.len);
    ct_buf_free(&b);
}

int ct_fmt_claude_exit_code(const char *text, int is_error)
{
    if (!is_error) return 0;
    if (text && strncmp(text, "Exit code ", 10) == 0) {
        char *end;
        long v = strtol(text + 10, &end, 10);
        if (end != text + 10 && v >= 0 && v < 100000) return (int)v;
    }
    return 1;
}

/* ---- event stream ----------------------------------------------------------------------- */

typedef struct {
    size_t byte_start, byte_end;
    int line_start, line_end;
    double time; /* seconds since the recording started, <0 when unknown */
} ev_src;

typedef struct {
    ct_trajectory *t;
    const char *display; /* the raw file the spans refer to */
    double t0;           /* recording start (unix seconds), <0 when unknown */
    ct_buf thought;      /* text/thinking of the current message not yet given to a call */
    char *thought_msg;
    char **ids; /* per step: tool_use id and message id (malloc'd) */
    char **msgs;
    size_t n_ids, cap_ids;
    size_t *slots; /* open-addressing index over ids: step index + 1, 0 = empty */
    size_t n_slots;
    json_t *subagents;
    int n_init, n_result, n_text, n_events, n_orphans, n_retry, limited;
    const char *last_text;
} cc_state;

static void cc_free(cc_state *st)
{
    for (size_t i = 0; i < st->n_ids; i++) {
        free(st->ids[i]);
        free(st->msgs[i]);
    }
    free(st->ids);
    free(st->slots);
    free(st->msgs);
    free(st->thought_msg);
    ct_buf_free(&st->thought);
    json_decref(st->subagents);
}

static const char *iso_time(ct_trajectory *t, double unix_s)
{
    if (unix_s < 0 || unix_s > 1e11) return NULL;
    time_t secs = (time_t)unix_s;
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) return NULL;
    char buf[64];
    int ms = (int)((unix_s - (double)secs) * 1000.0);
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ms < 0     ? 0
             : ms > 999 ? 999
                        : ms);
    return ct_traj_strdup(t, buf);
}

static void set_ref(cc_state *st, ct_source_ref *r, const ev_src *src)
{
    r->path = st->display; /* already in the trajectory's arena */
    r->byte_start = src->byte_start;
    r->byte_end = src->byte_end;
    r->line_start = src->line_start;
    r->line_end = src->line_end;
}

static void add_text(cc_state *st, const char *msg_id, const char *text)
{
    if (!text || !*text || strcmp(text, "(no content)") == 0) return;
    if (!st->thought_msg || !msg_id || strcmp(st->thought_msg, msg_id) != 0) {
        ct_buf_clear(&st->thought);
        free(st->thought_msg);
        st->thought_msg = ct_xstrdup(msg_id);
    }
    if (st->thought.len) ct_buf_putc(&st->thought, '\n');
    ct_buf_puts(&st->thought, text);
}

/* tool_use id → step index, so results and sub-agent parents are found in O(1) even in
 * adversarial streams with many unmatched ids. The latest step with an id wins. */
static size_t id_hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void id_put(cc_state *st, size_t idx)
{
    if (!st->ids[idx]) return;
    if ((st->n_ids + 1) * 2 > st->n_slots) {
        size_t n = st->n_slots ? st->n_slots * 2 : 256;
        free(st->slots);
        st->slots = ct_xcalloc(n, sizeof *st->slots);
        st->n_slots = n;
        for (size_t i = 0; i < idx; i++) { /* rehash the earlier ids */
            if (!st->ids[i]) continue;
            size_t h = id_hash(st->ids[i]) & (n - 1);
            while (st->slots[h] && strcmp(st->ids[st->slots[h] - 1], st->ids[i]) != 0)
                h = (h + 1) & (n - 1);
            st->slots[h] = i + 1;
        }
    }
    size_t h = id_hash(st->ids[idx]) & (st->n_slots - 1);
    while (st->slots[h] && strcmp(st->ids[st->slots[h] - 1], st->ids[idx]) != 0)
        h = (h + 1) & (st->n_slots - 1);
    st->slots[h] = idx + 1;
}

static long id_find(const cc_state *st, const char *id)
{
    if (!id || !st->n_slots) return -1;
    size_t h = id_hash(id) & (st->n_slots - 1);
    while (st->slots[h]) {
        if (strcmp(st->ids[st->slots[h] - 1], id) == 0) return (long)st->slots[h] - 1;
        h = (h + 1) & (st->n_slots - 1);
    }
    return -1;
}

static void on_tool_use(cc_state *st, json_t *ev, const char *msg_id, json_t *blk,
                        const ev_src *src)
{
    ct_trajectory *t = st->t;
    if (t->n_steps >= MAX_STEPS) {
        st->limited = 1;
        return;
    }
    ct_step *s = ct_traj_add_step(t);
    ct_fmt_claude_tool(t, s, ct_fmt_str(blk, "name"), json_object_get(blk, "input"));
    int same_msg = st->thought_msg && msg_id && strcmp(st->thought_msg, msg_id) == 0;
    if (same_msg && st->thought.len)
        s->thought = ct_traj_strndup(t, st->thought.data, st->thought.len);
    ct_buf_clear(&st->thought);
    set_ref(st, &s->src, src);
    if (st->t0 >= 0 && src->time >= 0) s->timestamp = iso_time(t, st->t0 + src->time);
    const char *parent = ct_fmt_str(ev, "parent_tool_use_id");
    if (parent) {
        if (!st->subagents) st->subagents = json_array();
        json_t *o = json_object();
        json_object_set_new(o, "step_id", json_integer(s->step_id));
        json_object_set_new(o, "parent_tool_use_id", json_string(parent));
        long pi = id_find(st, parent);
        if (pi >= 0) json_object_set_new(o, "parent_step_id", json_integer((json_int_t)pi + 1));
        json_array_append_new(st->subagents, o);
    }
    if (st->n_ids == st->cap_ids) {
        st->cap_ids = st->cap_ids ? st->cap_ids * 2 : 64;
        st->ids = ct_xrealloc(st->ids, st->cap_ids * sizeof *st->ids);
        st->msgs = ct_xrealloc(st->msgs, st->cap_ids * sizeof *st->msgs);
    }
    st->ids[st->n_ids] = ct_xstrdup(ct_fmt_str(blk, "id"));
    st->msgs[st->n_ids] = ct_xstrdup(msg_id);
    id_put(st, st->n_ids);
    st->n_ids++;
}

static void on_tool_result(cc_state *st, json_t *blk, const ev_src *src)
{
    const char *id = ct_fmt_str(blk, "tool_use_id");
    long idx = id_find(st, id);
    ct_step *s = idx >= 0 ? &st->t->steps[idx] : NULL;
    if (!s) {
        st->n_orphans++;
        return;
    }
    json_t *c = json_object_get(blk, "content");
    const char *text = ct_fmt_content_text(st->t, c);
    if (!text && json_is_array(c)) text = ""; /* e.g. only image blocks */
    s->observation = text ? text : (c == NULL || json_is_null(c)) ? "" : NULL;
    json_t *ie = json_object_get(blk, "is_error");
    if (json_is_boolean(ie)) {
        s->has_exit_code = 1;
        s->exit_code = ct_fmt_claude_exit_code(text, json_is_true(ie));
    }
    set_ref(st, &s->obs_src, src);
}

static void on_event(cc_state *st, json_t *ev, const ev_src *src)
{
    ct_trajectory *t = st->t;
    const char *type = ct_fmt_str(ev, "type");
    if (!type) return;
    st->n_events++;
    if (strcmp(type, "assistant") == 0) {
        json_t *msg = json_object_get(ev, "message");
        const char *mid = ct_fmt_str(msg, "id");
        json_t *content = json_object_get(msg, "content");
        if (!t->model && ct_fmt_str(msg, "model"))
            t->model = ct_traj_strdup(t, ct_fmt_str(msg, "model"));
        size_t i;
        json_t *blk;
        json_array_foreach(content, i, blk)
        {
            const char *bt = ct_fmt_str(blk, "type");
            if (!bt) continue;
            if (strcmp(bt, "text") == 0) {
                const char *tx = ct_fmt_str(blk, "text");
                add_text(st, mid, tx);
                if (tx && *tx && strcmp(tx, "(no content)") != 0) {
                    st->n_text++;
                    st->last_text = ct_fmt_jstr(t, json_object_get(blk, "text"));
                }
            } else if (strcmp(bt, "thinking") == 0) {
                add_text(st, mid, ct_fmt_str(blk, "thinking"));
            } else if (strcmp(bt, "tool_use") == 0) {
                on_tool_use(st, ev, mid, blk, src);
            }
        }
    } else if (strcmp(type, "user") == 0) {
        json_t *content = json_object_get(json_object_get(ev, "message"), "content");
        size_t i;
        json_t *blk;
        json_array_foreach(content, i, blk)
        {
            const char *bt = ct_fmt_str(blk, "type");
            if (bt && strcmp(bt, "tool_result") == 0) on_tool_result(st, blk, src);
        }
    } else if (strcmp(type, "system") == 0) {
        const char *sub = ct_fmt_str(ev, "subtype");
        if (sub && strcmp(sub, "init") == 0) {
            st->n_init++;
            const char *model = ct_fmt_str(ev, "model");
            if (model && (!t->model || st->n_init == 1)) t->model = ct_traj_strdup(t, model);
            const char *ver = ct_fmt_str(ev, "claude_code_version");
            if (ver && !t->format_version) t->format_version = ct_traj_strdup(t, ver);
            const char *cwd = ct_fmt_str(ev, "cwd");
            if (cwd && !json_object_get(t->metadata, "cwd"))
                json_object_set_new(t->metadata, "cwd", json_string(cwd));
        } else if (sub && strcmp(sub, "api_retry") == 0) {
            st->n_retry++;
        }
    } else if (strcmp(type, "result") == 0) {
        st->n_result++;
        json_t *r = json_object_get(ev, "result");
        if (json_is_string(r))
            json_object_set_new(t->metadata, "final_answer", json_string(ct_fmt_jstr(t, r)));
        static const char *keys[] = {"num_turns", "duration_ms", "total_cost_usd"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            json_t *v = json_object_get(ev, keys[i]);
            if (json_is_number(v)) json_object_set(t->metadata, keys[i], v);
        }
        const char *sub = ct_fmt_str(ev, "subtype");
        if (sub && !t->exit_status)
            t->exit_status = ct_traj_strdup(t, sub); /* Harbor's exception wins */
        if (json_is_true(json_object_get(ev, "is_error")))
            ct_traj_warn(t, "the run ended with an error result (%s)", sub ? sub : "is_error");
    }
}

/* Several tool_use blocks of one message are parallel calls: give them one group number. */
static void assign_groups(cc_state *st)
{
    int group = 0;
    size_t i = 0;
    while (i < st->n_ids) {
        size_t j = i + 1;
        while (j < st->n_ids && st->msgs[i] && st->msgs[j] && strcmp(st->msgs[i], st->msgs[j]) == 0)
            j++;
        if (j - i >= 2) {
            group++;
            for (size_t k = i; k < j; k++)
                st->t->steps[k].parallel_group = group;
        }
        i = j;
    }
}

/* Parse one line that should hold an event object; NULL when it does not. Trailing bytes after
 * the object (terminal junk) are ignored. */
static json_t *parse_event(const char *p, size_t n)
{
    json_error_t je;
    json_t *v = json_loadb(p, n, JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &je);
    const char *type = ct_fmt_str(v, "type");
    if (!type || (strcmp(type, "assistant") && strcmp(type, "user") && strcmp(type, "system") &&
                  strcmp(type, "result"))) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* Parse one raw line; a line with invalid UTF-8 (which jansson refuses) is repaired first so
 * one bad byte does not lose the whole record. */
static json_t *load_line(const char *p, size_t n, size_t flags)
{
    json_t *v = json_loadb(p, n, flags | JSON_ALLOW_NUL, NULL);
    if (!v && !ct_utf8_valid(p, n) && !memchr(p, '\0', n)) {
        char *fixed = ct_utf8_sanitize(p, n);
        v = json_loadb(fixed, strlen(fixed), flags | JSON_ALLOW_NUL, NULL);
        free(fixed);
    }
    return v;
}

/* ---- asciinema recording ------------------------------------------------------------------ */

typedef struct {
    size_t clean_start; /* where this chunk's text starts in the cleaned stream */
    size_t byte_start, byte_end;
    int line;
    double time;
} chunk;

static size_t chunk_at(const chunk *c, size_t n, size_t off)
{
    size_t lo = 0, hi = n; /* last chunk with clean_start <= off */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (c[mid].clean_start <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static int load_cast(ct_fs *fs, const char *rel, cc_state *st, ct_buf *clean, ct_error *err)
{
    ct_trajectory *t = st->t;
    ct_buf raw = CT_BUF_INIT;
    int rc = ct_fmt_read_data(fs, rel, &raw, err);
    if (rc != CT_OK) {
        ct_buf_free(&raw);
        return rc;
    }
    const char *display = ct_fs_display(fs, rel);
    chunk *ch = NULL;
    size_t nch = 0, cap = 0;
    ct_ansi ansi = {0};
    int lineno = 0, bad = 0, header = 0;
    size_t pos = 0;
    while (pos < raw.len) {
        const char *ls = raw.data + pos;
        const char *nl = memchr(ls, '\n', raw.len - pos);
        size_t len = nl ? (size_t)(nl - ls) : raw.len - pos;
        size_t start = pos;
        pos += len + (nl ? 1 : 0);
        lineno++;
        if (len == 0 || (len == 1 && ls[0] == '\r')) continue;
        json_t *v = load_line(ls, len, 0);
        if (!header) {
            header = 1;
            if (json_is_object(v) && json_is_integer(json_object_get(v, "version"))) {
                json_t *ts = json_object_get(v, "timestamp");
                if (json_is_number(ts)) st->t0 = json_number_value(ts);
                json_decref(v);
                continue;
            }
            json_decref(v);
            ct_buf_free(&raw);
            free(ch);
            return ct_error_setf(err, CT_EPARSE, display, (long long)start, lineno,
                                 "expected an asciinema v2 header line ({\"version\": 2, ...})");
        }
        if (!json_is_array(v) || json_array_size(v) < 3 || !json_is_string(json_array_get(v, 1)) ||
            !json_is_string(json_array_get(v, 2))) {
            bad++;
            json_decref(v);
            continue;
        }
        if (strcmp(json_string_value(json_array_get(v, 1)), "o") == 0) {
            if (nch == cap) {
                cap = cap ? cap * 2 : 1024;
                ch = ct_xrealloc(ch, cap * sizeof *ch);
            }
            json_t *tm = json_array_get(v, 0);
            ch[nch++] = (chunk){clean->len, start, start + len, lineno,
                                json_is_number(tm) ? json_number_value(tm) : -1};
            json_t *d = json_array_get(v, 2);
            ct_fmt_ansi_feed(&ansi, clean, json_string_value(d), json_string_length(d));
        }
        json_decref(v);
    }
    if (!header) {
        ct_buf_free(&raw);
        return ct_error_setf(err, CT_EEMPTY, display, -1, 0, "the recording is empty");
    }
    if (bad)
        ct_traj_warn(t, "%s: %d line%s of the recording could not be read (truncated or damaged)",
                     display, bad, bad == 1 ? "" : "s");

    /* Event lines in the cleaned terminal text. */
    st->display = ct_traj_strdup(st->t, display); /* the fs reuses its display buffer */
    size_t p = 0;
    const char *c = clean->data ? clean->data : "";
    while (p < clean->len) {
        const char *nl = memchr(c + p, '\n', clean->len - p);
        size_t e = nl ? (size_t)(nl - c) : clean->len;
        const char *hit = ct_memstr(c + p, e - p, "{\"type\":"); /* compact, or `{"type": "` */
        if (hit) {
            size_t a = (size_t)(hit - c);
            json_t *ev = parse_event(hit, e - a);
            if (ev && nch) {
                const chunk *ca = &ch[chunk_at(ch, nch, a)],
                            *cb = &ch[chunk_at(ch, nch, e > a ? e - 1 : a)];
                ev_src src = {ca->byte_start, cb->byte_end, ca->line, cb->line, ca->time};
                on_event(st, ev, &src);
            }
            json_decref(ev);
        }
        p = e + 1;
    }
    free(ch);
    ct_buf_free(&raw);
    return CT_OK;
}

/* ---- plain JSONL stream ---------------------------------------------------------------------- */

static int load_jsonl(ct_fs *fs, const char *rel, cc_state *st, ct_error *err)
{
    ct_buf raw = CT_BUF_INIT;
    int rc = ct_fmt_read_data(fs, rel, &raw, err);
    if (rc != CT_OK) {
        ct_buf_free(&raw);
        return rc;
    }
    const char *display = ct_fs_display(fs, rel);
    st->display = ct_traj_strdup(st->t, display); /* the fs reuses its display buffer */
    int lineno = 0, bad = 0, first_bad = 0;
    size_t pos = 0;
    while (pos < raw.len) {
        const char *ls = raw.data + pos;
        const char *nl = memchr(ls, '\n', raw.len - pos);
        size_t len = nl ? (size_t)(nl - ls) : raw.len - pos;
        size_t start = pos;
        pos += len + (nl ? 1 : 0);
        lineno++;
        size_t l = len;
        while (l && (ls[l - 1] == '\r' || ls[l - 1] == ' '))
            l--;
        if (!l) continue;
        json_t *ev = load_line(ls, l, 0);
        if (!json_is_object(ev)) {
            if (!bad) first_bad = lineno;
            bad++;
            json_decref(ev);
            continue;
        }
        ev_src src = {start, start + l, lineno, lineno, -1};
        on_event(st, ev, &src);
        json_decref(ev);
    }
    ct_buf_free(&raw);
    if (bad)
        ct_traj_warn(st->t,
                     "%s: %d line%s not JSON (first: line %d; truncated or damaged), skipped",
                     display, bad, bad == 1 ? " is" : "s are", first_bad);
    return CT_OK;
}

/* ---- trajectory ------------------------------------------------------------------------------ */

static void finish(cc_state *st, const char *clean_text, size_t clean_len)
{
    ct_trajectory *t = st->t;
    assign_groups(st);
    if (st->subagents) {
        json_object_set(t->metadata, "subagent_steps", st->subagents);
    }
    if (st->n_init > 1) json_object_set_new(t->metadata, "sessions", json_integer(st->n_init));
    if (st->n_retry) json_object_set_new(t->metadata, "api_retries", json_integer(st->n_retry));
    if (st->limited) ct_traj_warn(t, "stopped after %d steps (limit)", MAX_STEPS);
    if (st->n_events == 0) {
        if (clean_text && ct_memstr(clean_text, clean_len, "claude: command not found")) {
            t->exit_status = "agent_not_installed";
            ct_traj_warn(t,
                         "agent not installed: the terminal shows `claude: command not found`, so "
                         "Claude Code never ran (zero steps)");
        } else if (clean_text && ct_memstr(clean_text, clean_len, "\nINSTALL_FAIL_STATUS\n")) {
            t->exit_status = "agent_not_installed";
            ct_traj_warn(
                t,
                "agent not installed: the install script failed (INSTALL_FAIL_STATUS), zero steps");
        } else {
            ct_traj_warn(t, "no Claude Code stream-json events found: the agent produced no output "
                            "(zero steps)");
        }
        return;
    }
    if (t->n_steps == 0) {
        ct_traj_warn(
            t,
            "no tool calls: the model answered with %d text message%s and made no tool_use "
            "call (tool calls written as text?), so there are zero steps",
            st->n_text, st->n_text == 1 ? "" : "s");
        if (!json_object_get(t->metadata, "final_answer") && st->last_text)
            json_object_set_new(t->metadata, "final_answer", json_string(st->last_text));
    }
    size_t missing = 0;
    for (size_t i = 0; i < t->n_steps; i++)
        if (!t->steps[i].observation) missing++;
    if (st->n_result == 0) {
        if (!t->exit_status) t->exit_status = "killed";
        ct_traj_warn(t, "killed: no final result event (the agent was stopped or timed out)%s",
                     missing ? "; the last tool call has no result" : "");
        if (!json_object_get(t->metadata, "final_answer") && st->last_text)
            json_object_set_new(t->metadata, "final_answer", json_string(st->last_text));
    }
    if (missing > (st->n_result == 0 ? 1u : 0u))
        ct_traj_warn(t, "%zu tool call%s no tool_result", missing,
                     missing == 1 ? " has" : "s have");
    if (st->n_orphans)
        ct_traj_warn(t, "%d tool_result%s match no tool_use", st->n_orphans,
                     st->n_orphans == 1 ? "" : "s");
}

/* The tb trial dir of a recording at rel (".../sessions/agent.cast"); "" when rel is the lone
 * file of a single-file fs (then the trial is "..", readable on disk only). */
static char *trial_of(const char *rel, const char *subdir)
{
    char *parent = ct_path_parent(rel);
    char *base = ct_path_base(parent);
    char *r;
    if (!*parent)
        r = ct_xstrdup("..");
    else if (strcmp(base, subdir) == 0)
        r = ct_path_parent(parent);
    else
        r = ct_xstrdup(parent);
    free(parent);
    free(base);
    return r;
}

static int has_file(ct_fs *fs, const char *dir, const char *name)
{
    char *p = ct_path_join(dir, name);
    int r = ct_fs_is_file(fs, p);
    free(p);
    return r;
}

/* commands.txt of a tb trial launches Claude Code in stream-json mode. */
static int commands_launch_claude(ct_fs *fs, const char *trial)
{
    char *p = ct_path_join(trial, "commands.txt");
    ct_buf b = CT_BUF_INIT;
    int yes = ct_fmt_head(fs, p, &b, 65536) == 0 && b.data && ct_memstr(b.data, b.len, "claude ") &&
              ct_memstr(b.data, b.len, "stream-json");
    ct_buf_free(&b);
    free(p);
    return yes;
}

static int load_cast_traj(ct_fs *fs, const char *trial, const char *cast, const char *display,
                          ct_traj_list *out, ct_error *err)
{
    ct_trajectory *t = ct_traj_new("claude-code", display);
    t->agent = "Claude Code";
    if (ct_fmt_is_tb_trial(fs, trial)) ct_fmt_tb_trial_fill(fs, trial, t);
    cc_state st = {0};
    st.t = t;
    st.t0 = -1;
    ct_buf clean = CT_BUF_INIT;
    int rc = load_cast(fs, cast, &st, &clean, err);
    if (rc == CT_OK) {
        finish(&st, clean.data, clean.len);
        ct_traj_list_push(out, t);
    } else if (rc != CT_EIO && rc != CT_ENOMEM && ct_fmt_is_tb_trial(fs, trial)) {
        /* An empty, damaged or LFS-stub recording in a real trial: the outcome is still known. */
        ct_traj_warn(t, "no steps: %s", err ? err->msg : "the recording could not be read");
        if (err) ct_error_clear(err);
        ct_traj_list_push(out, t);
        rc = CT_OK;
    } else {
        ct_traj_free(t);
    }
    ct_buf_free(&clean);
    cc_free(&st);
    return rc;
}

static int load_jsonl_traj(ct_fs *fs, const char *trial, const char *file, const char *display,
                           ct_traj_list *out, ct_error *err)
{
    ct_trajectory *t = ct_traj_new("claude-code", display);
    t->agent = "Claude Code";
    if (trial && ct_fmt_is_harbor_trial(fs, trial)) ct_fmt_harbor_trial_fill(fs, trial, t);
    cc_state st = {0};
    st.t = t;
    st.t0 = -1;
    int rc = load_jsonl(fs, file, &st, err);
    if (rc == CT_OK) {
        finish(&st, NULL, 0);
        ct_traj_list_push(out, t);
    } else {
        ct_traj_free(t);
    }
    cc_free(&st);
    return rc;
}

/* Head of a JSONL file shows Claude Code events. */
static int jsonl_head_is_claude(ct_fs *fs, const char *rel)
{
    ct_buf b = CT_BUF_INIT;
    int yes = 0;
    if (ct_fmt_head(fs, rel, &b, 16384) == 0 && b.data) {
        const char *p = b.data;
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            p++;
        yes = strncmp(p, "{\"type\":\"", 9) == 0 && ct_memstr(b.data, b.len, "\"session_id\"") &&
              (ct_memstr(b.data, b.len, "\"claude_code_version\"") ||
               ct_memstr(b.data, b.len, "{\"type\":\"assistant\",\"message\":"));
    }
    ct_buf_free(&b);
    return yes;
}

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    if (is_dir) {
        if (has_file(fs, rel, "sessions/agent.cast") && commands_launch_claude(fs, rel))
            return CT_DETECT_SURE;
        if (has_file(fs, rel, "agent/claude-code.txt")) {
            /* A Harbor trial: the ATIF trajectory (when present) is the better source. */
            if (has_file(fs, rel, "agent/trajectory.json")) return CT_DETECT_LIKELY;
            return ct_fmt_is_harbor_trial(fs, rel) ? CT_DETECT_SURE : CT_DETECT_LIKELY;
        }
        return CT_DETECT_NO;
    }
    if (ct_str_ends(rel, ".cast")) {
        ct_buf b = CT_BUF_INIT;
        int yes = ct_fmt_head(fs, rel, &b, 65536) == 0 && b.data && b.data[0] == '{' &&
                  ct_memstr(b.data, b.len, "\"version\"") &&
                  (ct_memstr(b.data, b.len, "--output-format stream-json") ||
                   ct_memstr(b.data, b.len, "\\\"claude_code_version\\\""));
        ct_buf_free(&b);
        if (!yes && ct_fs_is_file(fs, rel)) {
            char *trial = trial_of(rel, "sessions");
            yes = commands_launch_claude(fs, trial);
            free(trial);
        }
        return yes ? CT_DETECT_LIKELY : CT_DETECT_NO;
    }
    if (ct_str_ends(rel, ".txt") || ct_str_ends(rel, ".jsonl"))
        return jsonl_head_is_claude(fs, rel) ? CT_DETECT_LIKELY : CT_DETECT_NO;
    return CT_DETECT_NO;
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    const char *display = ct_fs_display(fs, rel);
    char *display_copy = ct_xstrdup(display); /* ct_fs_display reuses its buffer */
    int rc;
    if (is_dir) {
        char *cast = ct_path_join(rel, "sessions/agent.cast");
        char *txt = ct_path_join(rel, "agent/claude-code.txt");
        if (ct_fs_is_file(fs, cast))
            rc = load_cast_traj(fs, rel, cast, display_copy, out, err);
        else if (ct_fs_is_file(fs, txt))
            rc = load_jsonl_traj(fs, rel, txt, display_copy, out, err);
        else
            rc = ct_error_setf(err, CT_EFORMAT, display_copy, -1, 0,
                               "no Claude Code stream here (expected sessions/agent.cast or "
                               "agent/claude-code.txt)");
        free(cast);
        free(txt);
    } else if (ct_str_ends(rel, ".cast")) {
        char *trial = trial_of(rel, "sessions");
        rc = load_cast_traj(fs, trial, rel, display_copy, out, err);
        free(trial);
    } else {
        char *trial = trial_of(rel, "agent");
        rc = load_jsonl_traj(fs, trial, rel, display_copy, out, err);
        free(trial);
    }
    free(display_copy);
    return rc;
}

const ct_loader ct_loader_claude_code = {
    .name = "claude-code",
    .agent = "Claude Code",
    .summary = "Claude Code stream-json: tb trial sessions/agent.cast (asciinema) or Harbor "
               "agent/claude-code.txt",
    .detection = "tb trial whose commands.txt runs `claude ... --output-format stream-json`; "
                 "Harbor trial with "
                 "agent/claude-code.txt and no trajectory.json; a .cast/.txt holding the stream",
    .detect = detect,
    .load = load,
};

/* SWE-agent `.traj` files, 0.x (state as a JSON string) and 1.x (replay_config, state dict,
 * history with message_type / tool_calls). A run directory holds one `.traj` per instance; the
 * directory itself is not claimed, so discovery reports every file as its own trajectory.
 *
 * Step = trajectory[i] (action, observation, thought already paired). The kind comes from the
 * ACI command; edits record what they wrote: `edit A:B ... end_of_edit` writes lines A..B of the
 * file open at that moment (the state before the step), the 1.x replace bundle's `edit SEARCH
 * REPLACE` and `str_replace_editor` carry old/new text. Arguments come from the history entry's
 * tool call when there is one (exact JSON), else from the action text split like a shell would. */
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 100000
#define MAX_WORDS 64

/* ---- a small POSIX-shell word splitter (quotes and backslashes; nothing else) ------------ */

typedef struct {
    char *w[MAX_WORDS];
    int n;
} words;

static void words_free(words *ws)
{
    for (int i = 0; i < ws->n; i++)
        free(ws->w[i]);
    ws->n = 0;
}

static void split_words(const char *s, size_t n, words *ws)
{
    ws->n = 0;
    size_t i = 0;
    while (i < n && ws->n < MAX_WORDS) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i >= n) break;
        ct_buf b = CT_BUF_INIT;
        ct_buf_reserve(&b, 16);
        while (i < n && !isspace((unsigned char)s[i])) {
            char c = s[i];
            if (c == '\'') {
                i++;
                while (i < n && s[i] != '\'')
                    ct_buf_putc(&b, s[i++]);
                if (i < n) i++;
            } else if (c == '"') {
                i++;
                while (i < n && s[i] != '"') {
                    if (s[i] == '\\' && i + 1 < n && strchr("\"\\$`", s[i + 1])) i++;
                    ct_buf_putc(&b, s[i++]);
                }
                if (i < n) i++;
            } else if (c == '\\' && i + 1 < n) {
                ct_buf_putc(&b, s[i + 1]);
                i += 2;
            } else {
                ct_buf_putc(&b, c);
                i++;
            }
        }
        ws->w[ws->n++] = ct_buf_steal(&b);
    }
}

/* ---- detection -------------------------------------------------------------------------- */

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    if (is_dir) return CT_DETECT_NO;
    int traj = ct_str_ends(rel, ".traj");
    if (!traj && !ct_str_ends(rel, ".json")) return CT_DETECT_NO;
    ct_buf h = CT_BUF_INIT;
    int score = CT_DETECT_NO;
    if (ct_fmt_head(fs, rel, &h, 0) == 0 && h.len) {
        size_t i = ct_json_skip_ws(h.data, h.len, 0);
        if (i < h.len && h.data[i] == '{') {
            int tr = ct_memstr(h.data, h.len, "\"trajectory\"") != NULL;
            int env = ct_memstr(h.data, h.len, "\"environment\"") != NULL;
            int hist = ct_memstr(h.data, h.len, "\"history\"") != NULL;
            int act = ct_memstr(h.data, h.len, "\"action\"") &&
                      ct_memstr(h.data, h.len, "\"observation\"");
            if (traj && (tr || env || hist))
                score = CT_DETECT_SURE;
            else if (tr && act && (hist || env) &&
                     !ct_memstr(h.data, h.len, "\"trajectory_format\""))
                score = CT_DETECT_LIKELY;
        } else if (i < h.len && h.data[i] == '[') {
            /* HF-row re-packaging (nebius/SWE-agent-trajectories): a list of rows holding
             * instance_id + trajectory[{role: system|user|ai, text}] */
            if (ct_memstr(h.data, h.len, "\"instance_id\"") &&
                ct_memstr(h.data, h.len, "\"trajectory\"") &&
                (ct_memstr(h.data, h.len, "\"role\": \"ai\"") ||
                 ct_memstr(h.data, h.len, "\"role\":\"ai\"")))
                score = CT_DETECT_LIKELY;
        }
    }
    ct_buf_free(&h);
    return score;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static json_t *as_object(json_t *v, json_t **owned)
{
    *owned = NULL;
    if (json_is_object(v)) return v;
    if (json_is_string(v)) {
        json_t *p = json_loads(json_string_value(v), 0, NULL);
        if (json_is_object(p)) return *owned = p;
        json_decref(p);
    }
    return NULL;
}

static const char *open_file_of(ct_trajectory *t, json_t *step)
{
    json_t *owned;
    json_t *st = as_object(json_object_get(step, "state"), &owned);
    const char *f = ct_fmt_str(st, "open_file");
    const char *r = f && *f && strcmp(f, "n/a") != 0 ? ct_traj_strdup(t, f) : NULL;
    json_decref(owned);
    return r;
}

static int is_demo(json_t *h)
{
    json_t *d = json_object_get(h, "is_demo");
    if (json_is_true(d)) return 1;
    const char *s = json_is_string(d) ? json_string_value(d) : NULL;
    return s && (strcmp(s, "True") == 0 || strcmp(s, "true") == 0);
}

static const char *task_of(ct_trajectory *t, const char *msg)
{
    if (!msg) return NULL;
    const char *b = msg, *e = NULL;
    const char *iss = strstr(msg, "ISSUE:\n");
    const char *pd = strstr(msg, "<pr_description>");
    if (iss) {
        b = iss + strlen("ISSUE:\n");
        e = strstr(b, "\n\nINSTRUCTIONS:");
    } else if (pd) {
        b = pd + strlen("<pr_description>");
        e = strstr(b, "</pr_description>");
    } else {
        e = strstr(b, "\nINSTRUCTIONS:");
    }
    if (!e) e = b + strlen(b);
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    return e > b ? ct_traj_strndup(t, b, (size_t)(e - b)) : NULL;
}

/* `model_name: X` under `model:` in the run's args.yaml / config.yaml (0.x run dirs). */
static const char *model_from_args(ct_fs *fs, const char *file, ct_trajectory *t)
{
    char *dir = ct_path_parent(file);
    static const char *const names[] = {"args.yaml", "config.yaml"};
    const char *model = NULL;
    for (size_t k = 0; k < 2 && !model; k++) {
        char *p = ct_path_join(dir, names[k]);
        ct_buf b = CT_BUF_INIT;
        if (ct_fs_is_file(fs, p) && ct_fs_read(fs, p, &b, 4 * 1024 * 1024, NULL) == CT_OK &&
            b.data) {
            const char *m = strstr(b.data, "\n  model:\n");
            const char *hit = m ? strstr(m, "model_name:") : strstr(b.data, "model_name:");
            if (hit) {
                hit += strlen("model_name:");
                while (*hit == ' ' || *hit == '\'' || *hit == '"')
                    hit++;
                size_t n = strcspn(hit, "'\"\r\n");
                while (n && hit[n - 1] == ' ')
                    n--;
                if (n && n < 200) model = ct_traj_strndup(t, hit, n);
            }
        }
        ct_buf_free(&b);
        free(p);
    }
    free(dir);
    return model;
}

/* The history entry (with its tool call) that issued trajectory step `action`: the next
 * non-demo assistant entry from *pos whose action matches. */
static json_t *history_action(json_t *hist, size_t *pos, const char *action)
{
    size_t nh = json_array_size(hist);
    for (size_t j = *pos; j < nh; j++) {
        json_t *h = json_array_get(hist, j);
        if (is_demo(h)) continue;
        const char *r = ct_fmt_str(h, "role");
        const char *a = ct_fmt_str(h, "action");
        if (!r || strcmp(r, "assistant") != 0 || !a) continue;
        if (strcmp(a, action) == 0) {
            *pos = j + 1;
            return h;
        }
    }
    return NULL;
}

/* The first tool call of a history entry: its name and parsed arguments (new reference). */
static json_t *tool_call_args(json_t *h, const char **name)
{
    *name = NULL;
    json_t *calls = json_object_get(h, "tool_calls");
    json_t *c0 = json_is_array(calls) ? json_array_get(calls, 0) : NULL;
    json_t *fn = json_object_get(c0, "function");
    *name = ct_fmt_str(fn, "name");
    json_t *args = json_object_get(fn, "arguments");
    if (json_is_object(args)) return json_incref(args);
    if (json_is_string(args)) {
        json_t *p = json_loads(json_string_value(args), 0, NULL);
        if (json_is_object(p)) return p;
        json_decref(p);
    }
    return NULL;
}

static const char *arg_str(ct_trajectory *t, json_t *args, const char *key)
{
    return ct_fmt_jstr(t, json_object_get(args, key));
}

static long arg_long(json_t *args, const char *key, const char *fallback)
{
    json_t *v = json_object_get(args, key);
    if (json_is_integer(v)) return (long)json_integer_value(v);
    if (json_is_string(v)) return strtol(json_string_value(v), NULL, 10);
    return fallback ? strtol(fallback, NULL, 10) : 0;
}

/* Value of `--flag X` in split words. */
static const char *flag_value(ct_trajectory *t, const words *ws, const char *flag)
{
    for (int i = 0; i + 1 < ws->n; i++)
        if (strcmp(ws->w[i], flag) == 0) return ct_traj_strdup(t, ws->w[i + 1]);
    return NULL;
}

/* Classify one step and record the files it touched. `open_before` is the file open when the
 * step ran; args/tool_name come from the history tool call (may be NULL). */
static void classify(ct_trajectory *t, ct_step *s, const char *open_before, json_t *args,
                     const char *tool_name)
{
    const char *a = s->action;
    size_t cl = strcspn(a, " \t\r\n");
    char cmd[32] = "";
    if (cl < sizeof cmd) memcpy(cmd, a, cl), cmd[cl] = '\0';
    const char *eol = strchr(a, '\n');
    size_t first_len = eol ? (size_t)(eol - a) : strlen(a);
    words ws;
    split_words(a, first_len, &ws);
    const char *tool = tool_name ? tool_name : cmd;

    if (!strcmp(cmd, "open") || !strcmp(cmd, "goto") || !strcmp(cmd, "scroll_down") ||
        !strcmp(cmd, "scroll_up")) {
        s->kind = CT_KIND_READ;
        s->tool = ct_traj_strdup(t, tool);
        ct_file_touch *f = ct_step_add_file(t, s);
        f->op = "view";
        if (!strcmp(cmd, "open")) {
            f->path = args ? arg_str(t, args, "path") : NULL;
            if (!f->path && ws.n > 1) f->path = ct_traj_strdup(t, ws.w[1]);
            f->line_start = arg_long(args, "line_number", ws.n > 2 ? ws.w[2] : NULL);
        } else {
            f->path = open_before;
            if (!strcmp(cmd, "goto"))
                f->line_start = arg_long(args, "line_number", ws.n > 1 ? ws.w[1] : NULL);
        }
    } else if (!strcmp(cmd, "search_dir") || !strcmp(cmd, "search_file") ||
               !strcmp(cmd, "find_file")) {
        s->kind = CT_KIND_SEARCH;
        s->tool = ct_traj_strdup(t, tool);
    } else if (!strcmp(cmd, "create")) {
        s->kind = CT_KIND_CREATE;
        s->tool = ct_traj_strdup(t, tool);
        ct_file_touch *f = ct_step_add_file(t, s);
        f->op = "create";
        f->path = args ? arg_str(t, args, "filename") : NULL;
        if (!f->path && ws.n > 1) f->path = ct_traj_strdup(t, ws.w[1]);
    } else if (!strcmp(cmd, "submit")) {
        s->kind = CT_KIND_SUBMIT;
        s->tool = "submit";
    } else if (!strcmp(cmd, "edit")) {
        s->kind = CT_KIND_EDIT;
        s->tool = ct_traj_strdup(t, tool);
        ct_file_touch *f = ct_step_add_file(t, s);
        f->path = open_before;
        long a0 = 0, b0 = 0;
        char *e1 = NULL, *e2 = NULL;
        int range = ws.n > 1 && (a0 = strtol(ws.w[1], &e1, 10), e1 != ws.w[1] && *e1 == ':') &&
                    (b0 = strtol(e1 + 1, &e2, 10), e2 != e1 + 1 && *e2 == '\0');
        if (range) {
            /* ACI `edit A:B` followed by the replacement lines up to `end_of_edit` */
            f->op = "aci_edit";
            f->line_start = a0;
            f->line_end = b0;
            const char *body = eol ? eol + 1 : "";
            const char *end = strstr(body, "\nend_of_edit");
            if (!end && ct_str_starts(body, "end_of_edit")) end = body;
            size_t bl = end ? (size_t)(end - body) + (end > body ? 1 : 0) : strlen(body);
            f->new_text = ct_traj_strndup(t, body, bl);
        } else {
            /* the replace bundle: edit SEARCH REPLACE [replace-all] */
            f->op = "str_replace";
            words all;
            split_words(a, strlen(a), &all);
            f->old_text = args ? arg_str(t, args, "search") : NULL;
            f->new_text = args ? arg_str(t, args, "replace") : NULL;
            if (!f->old_text && all.n > 1) f->old_text = ct_traj_strdup(t, all.w[1]);
            if (!f->new_text && all.n > 2) f->new_text = ct_traj_strdup(t, all.w[2]);
            words_free(&all);
        }
    } else if (!strcmp(cmd, "insert")) {
        s->kind = CT_KIND_EDIT;
        s->tool = ct_traj_strdup(t, tool);
        ct_file_touch *f = ct_step_add_file(t, s);
        f->op = "insert";
        f->path = open_before;
        words all;
        split_words(a, strlen(a), &all);
        f->new_text = args ? arg_str(t, args, "text") : NULL;
        if (!f->new_text && all.n > 1) f->new_text = ct_traj_strdup(t, all.w[1]);
        f->line_start = arg_long(args, "line", all.n > 2 ? all.w[2] : NULL);
        words_free(&all);
    } else if (!strcmp(cmd, "str_replace_editor")) {
        s->tool = "str_replace_editor";
        words all;
        split_words(a, strlen(a), &all);
        const char *sub = args ? arg_str(t, args, "command") : NULL;
        if (!sub && all.n > 1) sub = ct_traj_strdup(t, all.w[1]);
        if (!sub) sub = "";
        ct_file_touch *f = ct_step_add_file(t, s);
        f->path = args ? arg_str(t, args, "path") : NULL;
        if (!f->path && all.n > 2) f->path = ct_traj_strdup(t, all.w[2]);
        f->op = ct_traj_strdup(t, sub);
        if (!strcmp(sub, "view")) {
            s->kind = CT_KIND_READ;
            f->op = "view";
        } else if (!strcmp(sub, "create")) {
            s->kind = CT_KIND_CREATE;
            f->content = args ? arg_str(t, args, "file_text") : flag_value(t, &all, "--file_text");
        } else if (!strcmp(sub, "str_replace")) {
            s->kind = CT_KIND_EDIT;
            f->old_text = args ? arg_str(t, args, "old_str") : flag_value(t, &all, "--old_str");
            f->new_text = args ? arg_str(t, args, "new_str") : flag_value(t, &all, "--new_str");
        } else if (!strcmp(sub, "insert")) {
            s->kind = CT_KIND_EDIT;
            f->new_text = args ? arg_str(t, args, "new_str") : flag_value(t, &all, "--new_str");
            f->line_start = arg_long(args, "insert_line", flag_value(t, &all, "--insert_line"));
        } else if (!strcmp(sub, "undo_edit")) {
            s->kind = CT_KIND_EDIT;
        } else {
            s->kind = CT_KIND_OTHER;
        }
        words_free(&all);
    } else {
        s->kind = ct_fmt_kind_from_shell(a);
        s->tool = ct_traj_strdup(t, tool_name ? tool_name : "bash");
    }
    words_free(&ws);
}

/* ---- loading ---------------------------------------------------------------------------- */

/* The command of an "ai" message in the HF rows: the last ``` fenced block (SWE-agent's own
 * parsing); the text before it is the thought. 0 when there is no block. */
static int last_fence(const char *s, size_t *ts, size_t *bs, size_t *be)
{
    const char *p = s, *open = NULL;
    while ((p = strstr(p, "```"))) {
        const char *nl = strchr(p + 3, '\n');
        if (!nl) break;
        const char *close = strstr(nl + 1, "```");
        if (!close) break;
        open = p;
        *bs = (size_t)(nl + 1 - s);
        *be = (size_t)(close - s);
        p = close + 3;
    }
    if (!open) return 0;
    *ts = (size_t)(open - s);
    return 1;
}

/* One trajectory per row of a nebius-style HF dump: steps are the "ai" messages, each answered
 * by the next "user" message. */
static int load_rows(ct_fs *fs, const char *rel, ct_buf *raw, json_t *root, ct_traj_list *out,
                     ct_error *err)
{
    ct_lines li;
    ct_lines_build(&li, raw->data, raw->len);
    ct_span *rs = NULL;
    long nrs = ct_json_array_spans(raw->data, raw->len, 0, &rs);
    if (nrs != (long)json_array_size(root)) {
        free(rs);
        rs = NULL;
    }
    size_t loaded = 0;
    for (size_t r = 0; r < json_array_size(root); r++) {
        json_t *row = json_array_get(root, r);
        json_t *msgs = json_object_get(row, "trajectory");
        if (!json_is_array(msgs)) continue;
        ct_trajectory *t = ct_traj_new("swe-agent", ct_fs_display(fs, rel));
        t->id = ct_traj_printf(t, "%s#%zu", t->path, r + 1);
        t->agent = "SWE-agent";
        t->format_version = "hf-rows";
        t->model = ct_fmt_jstr(t, json_object_get(row, "model_name"));
        t->exit_status = ct_fmt_jstr(t, json_object_get(row, "exit_status"));
        json_t *patch = json_object_get(row, "generated_patch");
        if (json_is_string(patch) && json_string_length(patch))
            t->final_patch = ct_fmt_jstr(t, patch);
        json_t *tg = json_object_get(row, "target");
        if (json_is_boolean(tg)) t->solved = json_is_true(tg) ? CT_TRUE : CT_FALSE;
        json_t *iid = json_object_get(row, "instance_id");
        if (json_is_string(iid)) json_object_set(t->metadata, "instance_id", iid);
        ct_span *ms = NULL;
        long nms = -1;
        if (rs) {
            const char *tp[] = {"trajectory"};
            ct_span sp;
            if (ct_json_find(raw->data, raw->len, rs[r].start, tp, 1, &sp) == 0)
                nms = ct_json_array_spans(raw->data, raw->len, sp.start, &ms);
        }
        if (nms != (long)json_array_size(msgs)) {
            free(ms);
            ms = NULL;
        }
        size_t nm = json_array_size(msgs);
        const char *open_file = NULL;
        for (size_t i = 0; i < nm; i++) {
            json_t *m = json_array_get(msgs, i);
            const char *role = ct_fmt_str(m, "role");
            const char *text = ct_fmt_jstr(t, json_object_get(m, "text"));
            if (!role || !text) continue;
            if (!strcmp(role, "user") && !t->task) t->task = task_of(t, text);
            if (strcmp(role, "ai") != 0) continue;
            size_t ts, bs, be;
            ct_step *st = ct_traj_add_step(t);
            if (last_fence(text, &ts, &bs, &be)) {
                size_t n = be - bs;
                while (n && isspace((unsigned char)text[bs + n - 1]))
                    n--;
                st->action = ct_traj_strndup(t, text + bs, n);
                size_t tl = ts;
                while (tl && isspace((unsigned char)text[tl - 1]))
                    tl--;
                st->thought = tl ? ct_traj_strndup(t, text, tl) : NULL;
            } else {
                st->thought = text;
                st->kind = CT_KIND_THINK;
            }
            if (ms) ct_fmt_set_src(t, &st->src, t->path, &li, ms[i].start, ms[i].end);
            for (size_t j = i + 1; j < nm; j++) {
                json_t *o = json_array_get(msgs, j);
                const char *orole = ct_fmt_str(o, "role");
                if (orole && !strcmp(orole, "ai")) break;
                if (!orole || strcmp(orole, "user") != 0) continue;
                st->observation = ct_fmt_jstr(t, json_object_get(o, "text"));
                if (ms) ct_fmt_set_src(t, &st->obs_src, t->path, &li, ms[j].start, ms[j].end);
                /* the ACI footer names the file open after this step */
                const char *of = st->observation ? strstr(st->observation, "(Open file: ") : NULL;
                if (of) {
                    of += strlen("(Open file: ");
                    size_t n = strcspn(of, ")\n");
                    if (n && strncmp(of, "n/a", 3) != 0) {
                        if (*st->action) classify(t, st, open_file, NULL, NULL);
                        open_file = ct_traj_strndup(t, of, n);
                        goto classified;
                    }
                }
                break;
            }
            if (*st->action) classify(t, st, open_file, NULL, NULL);
        classified:;
        }
        free(ms);
        if (t->n_steps == 0) ct_traj_warn(t, "no steps: row %zu has no \"ai\" message", r + 1);
        if (t->exit_status && strcmp(t->exit_status, "submitted") != 0)
            ct_traj_warn(t, "run ended with exit status %s", t->exit_status);
        ct_traj_list_push(out, t);
        loaded++;
    }
    free(rs);
    ct_lines_free(&li);
    if (!loaded)
        return ct_error_setf(err, CT_EFORMAT, ct_fs_display(fs, rel), -1, 0,
                             "no row with a \"trajectory\" list of messages");
    return CT_OK;
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    if (is_dir)
        return ct_error_setf(err, CT_EFORMAT, ct_fs_display(fs, rel), -1, 0,
                             "a SWE-agent run directory: load its .traj files one by one");
    ct_buf raw = CT_BUF_INIT;
    json_t *root = NULL;
    int rc = ct_fmt_read_json(fs, rel, &raw, &root, err);
    if (rc != CT_OK) {
        ct_buf_free(&raw);
        return rc;
    }
    if (json_is_array(root)) {
        rc = load_rows(fs, rel, &raw, root, out, err);
        json_decref(root);
        ct_buf_free(&raw);
        return rc;
    }
    json_t *traj = json_object_get(root, "trajectory");
    if (!json_is_object(root) || !json_is_array(traj)) {
        json_decref(root);
        ct_buf_free(&raw);
        return ct_error_setf(
            err, CT_EFORMAT, ct_fs_display(fs, rel), -1, 0,
            "not a SWE-agent trajectory: expected an object with a \"trajectory\" list");
    }
    size_t ns = json_array_size(traj);
    if (ns > MAX_STEPS) {
        json_decref(root);
        ct_buf_free(&raw);
        return ct_error_setf(err, CT_ELIMIT, ct_fs_display(fs, rel), -1, 0, "%zu steps (limit %d)",
                             ns, MAX_STEPS);
    }
    ct_trajectory *t = ct_traj_new("swe-agent", ct_fs_display(fs, rel));
    const char *disp = t->path;
    t->agent = "SWE-agent";
    json_t *hist = json_object_get(root, "history");
    json_t *info = json_object_get(root, "info");
    json_t *rc_owned;
    json_t *replay = as_object(json_object_get(root, "replay_config"), &rc_owned);

    int v1 = replay != NULL;
    json_t *s0 = json_array_get(traj, 0);
    if (json_is_object(json_object_get(s0, "state"))) v1 = 1;
    json_t *h0 = json_array_get(hist, 0);
    if (json_object_get(h0, "message_type")) v1 = 1;
    t->format_version = v1 ? "1.x" : "0.x";

    /* outcome and metadata */
    t->exit_status = ct_fmt_jstr(t, json_object_get(info, "exit_status"));
    json_t *sub = json_object_get(info, "submission");
    if (json_is_string(sub) && json_string_length(sub)) t->final_patch = ct_fmt_jstr(t, sub);
    json_t *ms = json_object_get(info, "model_stats");
    if (json_is_object(ms)) json_object_set(t->metadata, "model_stats", ms);
    json_t *env = json_object_get(root, "environment");
    if (json_is_string(env)) json_object_set(t->metadata, "environment", env);
    json_t *agent_cfg = json_object_get(replay, "agent");
    t->model = ct_fmt_jstr(t, json_object_get(json_object_get(agent_cfg, "model"), "name"));
    json_t *repo = json_object_get(json_object_get(replay, "env"), "repo");
    json_t *bc = json_object_get(repo, "base_commit");
    if (json_is_string(bc)) json_object_set(t->metadata, "base_commit", bc);
    json_t *img =
        json_object_get(json_object_get(json_object_get(replay, "env"), "deployment"), "image");
    if (json_is_string(img)) json_object_set(t->metadata, "image", img);
    if (!t->model) t->model = model_from_args(fs, rel, t);

    /* task: the problem statement of the replay config, else the first real user message */
    json_t *ps = json_object_get(replay, "problem_statement");
    t->task = ct_fmt_jstr(t, json_object_get(ps, "text"));
    for (size_t j = 0; !t->task && j < json_array_size(hist); j++) {
        json_t *h = json_array_get(hist, j);
        const char *r = ct_fmt_str(h, "role");
        if (!r || strcmp(r, "user") != 0 || is_demo(h)) continue;
        t->task = task_of(t, ct_fmt_content_text(t, json_object_get(h, "content")));
        break;
    }

    /* spans */
    ct_lines li;
    ct_lines_build(&li, raw.data, raw.len);
    ct_span *spans = NULL;
    long nsp = -1;
    const char *tpath[] = {"trajectory"};
    ct_span tsp;
    if (ct_json_find(raw.data, raw.len, 0, tpath, 1, &tsp) == 0)
        nsp = ct_json_array_spans(raw.data, raw.len, tsp.start, &spans);
    if (nsp != (long)ns) {
        free(spans);
        spans = NULL;
        if (ns) ct_traj_warn(t, "could not map steps to byte ranges; steps have no source");
    }

    size_t hpos = 0;
    const char *open_prev = NULL;
    for (size_t i = 0; i < ns; i++) {
        json_t *js = json_array_get(traj, i);
        ct_step *s = ct_traj_add_step(t);
        const char *act = ct_fmt_jstr(t, json_object_get(js, "action"));
        if (!act) act = "";
        size_t al = strlen(act);
        while (al && isspace((unsigned char)act[al - 1]))
            al--;
        s->action = ct_traj_strndup(t, act, al);
        const char *th = ct_fmt_jstr(t, json_object_get(js, "thought"));
        s->thought = th && *th ? th : NULL;
        json_t *obs = json_object_get(js, "observation");
        s->observation = ct_fmt_content_text(t, obs);
        const char *open_now = open_file_of(t, js);
        /* 0.x records the state before the action, 1.x the state after it */
        const char *open_before = !v1 ? open_now : open_prev ? open_prev : open_now;
        json_t *h = hist ? history_action(hist, &hpos, act) : NULL;
        const char *tname = NULL;
        json_t *args = h ? tool_call_args(h, &tname) : NULL;
        classify(t, s, open_before, args, tname);
        json_decref(args);
        if (open_now) open_prev = open_now;
        if (spans) {
            ct_fmt_set_src(t, &s->src, disp, &li, spans[i].start, spans[i].end);
            const char *op[] = {"observation"};
            ct_span osp;
            if (ct_json_find(raw.data, raw.len, spans[i].start, op, 1, &osp) == 0)
                ct_fmt_set_src(t, &s->obs_src, disp, &li, osp.start, osp.end);
        }
    }

    if (ns == 0) ct_traj_warn(t, "no steps: the trajectory list is empty");
    const char *es = t->exit_status;
    if (es && strcmp(es, "submitted") != 0)
        ct_traj_warn(t, "run ended with exit status %s%s", es,
                     ct_str_starts(es, "submitted") ? " (submitted automatically)" : "");
    if (!es && ns) ct_traj_warn(t, "no info.exit_status: the run may have been killed");
    if (ns) {
        ct_step *ls = &t->steps[ns - 1];
        if ((!ls->observation || !*ls->observation) && ls->kind != CT_KIND_SUBMIT &&
            !(es && strcmp(es, "submitted") == 0))
            ct_traj_warn(t, "step %d has no observation: the run stopped before its result",
                         ls->step_id);
    }

    free(spans);
    ct_lines_free(&li);
    json_decref(rc_owned);
    json_decref(root);
    ct_buf_free(&raw);
    ct_traj_list_push(out, t);
    return CT_OK;
}

const ct_loader ct_loader_swe_agent = {
    .name = "swe-agent",
    .agent = "SWE-agent",
    .summary = "SWE-agent *.traj (0.x and 1.x); a run dir yields one trajectory per .traj file",
    .detection = "*.traj JSON object with trajectory/history/info (or a .json with trajectory + "
                 "history of action/observation steps)",
    .detect = detect,
    .load = load,
};

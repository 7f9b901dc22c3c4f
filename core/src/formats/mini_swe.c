/* mini-SWE-agent native trajectories (`*.traj.json`) in all three schema generations, and the
 * same file inside a terminal-bench trial (`<trial>/agent-logs/mini.traj.json`).
 *
 *   bare list  a JSON list of {role, content}; actions in ```mswea_bash_command fences
 *   v1         {info, messages, trajectory_format: "mini-swe-agent-1"}; THOUGHT + one ```bash block
 *   v1.1       same dict, "mini-swe-agent-1.1"; OpenAI tool_calls, role "tool" observations, a
 *              final role "exit" message
 *
 * Step numbering follows CodeTraceBench: a text turn is a step only when it holds exactly one
 * bash block. Turns with none or several are format errors the agent was told to redo (no
 * command ran); they are counted in metadata.format_error_turns, not numbered. dev.jsonl's
 * astropy-13033 (32 assistant turns, one with two blocks, 31 steps) is the case that pins this. */
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_MESSAGES 200000

typedef struct {
    size_t start, end; /* whole fence */
    size_t body_start, body_end;
} fence;

/* Find ```<lang>\s*\n ... \n``` at or after `from` (the regex mini-swe-agent itself uses). */
static int find_fence(const char *s, size_t n, size_t from, const char *lang, fence *f)
{
    size_t ll = strlen(lang);
    while (from + 3 + ll <= n) {
        const char *p = ct_memstr(s + from, n - from, "```");
        if (!p) return 0;
        size_t at = (size_t)(p - s);
        size_t i = at + 3;
        if (i + ll > n || memcmp(s + i, lang, ll) != 0) {
            from = at + 3;
            continue;
        }
        i += ll;
        size_t ws = i, last_nl = (size_t)-1;
        while (ws < n && isspace((unsigned char)s[ws])) {
            if (s[ws] == '\n') last_nl = ws;
            ws++;
        }
        if (last_nl == (size_t)-1) {
            from = at + 3;
            continue;
        }
        size_t body = last_nl + 1;
        /* the closing fence needs its own newline; the body may be empty ("\n\n```") */
        const char *close = ct_memstr(s + last_nl, n - last_nl, "\n```");
        if (!close) return 0;
        size_t ce = (size_t)(close - s);
        f->start = at;
        f->body_start = body;
        f->body_end = ce < body ? body : ce;
        f->end = ce + 4;
        return 1;
    }
    return 0;
}

static int count_fences(const char *s, size_t n, const char *lang, fence *first)
{
    int cnt = 0;
    size_t pos = 0;
    fence f;
    while (find_fence(s, n, pos, lang, &f)) {
        if (cnt == 0 && first) *first = f;
        cnt++;
        pos = f.end;
    }
    return cnt;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* <returncode>N</returncode> anywhere in an observation. */
static int parse_returncode(const char *obs, int *code)
{
    const char *p = obs ? strstr(obs, "<returncode>") : NULL;
    if (!p) return 0;
    p += strlen("<returncode>");
    while (isspace((unsigned char)*p))
        p++;
    char *e;
    long v = strtol(p, &e, 10);
    if (e == p) return 0;
    *code = (int)v;
    return 1;
}

/* A number of seconds since the epoch as ISO-8601 UTC; strings are kept as they are. */
static const char *timestamp_of(ct_trajectory *t, json_t *v)
{
    if (json_is_string(v)) return ct_fmt_jstr(t, v);
    if (!json_is_number(v)) return NULL;
    double d = json_number_value(v);
    if (d < 0 || d > 32503680000.0) return NULL;
    time_t secs = (time_t)d;
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) return NULL;
    int ms = (int)((d - (double)secs) * 1000.0);
    return ct_traj_printf(t, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* ---- what a shell command does to files ------------------------------------------------- */

static const char *word_after(ct_trajectory *t, const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *s = p;
    char q = 0;
    if (p < end && (*p == '\'' || *p == '"')) q = *p++, s = p;
    while (p < end && (q ? *p != q
                         : !isspace((unsigned char)*p) && *p != ';' && *p != '&' && *p != '|' &&
                               *p != '<' && *p != '>'))
        p++;
    return p > s ? ct_traj_strndup(t, s, (size_t)(p - s)) : NULL;
}

/* Body of a here-document whose opening line is [cmd, line_end): the lines after it up to the
 * delimiter line. NULL when the text has no here-document. */
static const char *heredoc_body(ct_trajectory *t, const char *cmd, const char *line_end)
{
    const char *h = ct_memstr(cmd, (size_t)(line_end - cmd), "<<");
    if (!h || !*line_end) return NULL;
    h += 2;
    if (*h == '-') h++;
    const char *delim = word_after(t, h, line_end);
    if (!delim) return NULL;
    const char *body = line_end + 1, *p = body;
    size_t dl = strlen(delim);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        size_t l2 = len && p[len - 1] == '\r' ? len - 1 : len;
        if (l2 == dl && memcmp(p, delim, dl) == 0)
            return ct_traj_strndup(t, body, (size_t)(p - body));
        if (!nl) break;
        p = nl + 1;
    }
    return ct_traj_strdup(t, body); /* unterminated: take the rest */
}

/* Classify a shell command and record the files it writes when that is visible in the text:
 * `cat <<EOF > f` (create), `cat >> f` (append), `sed -i ... f`, `git apply`/`patch` (patch),
 * `git checkout -- f` / `git restore f` (revert). Everything else keeps the generic kind. */
static void classify_shell(ct_trajectory *t, ct_step *s)
{
    const char *cmd = s->action;
    s->kind = ct_fmt_kind_from_shell(cmd);
    if (s->kind == CT_KIND_SUBMIT) return;
    while (isspace((unsigned char)*cmd))
        cmd++;
    const char *eol = strchr(cmd, '\n');
    if (!eol) eol = cmd + strlen(cmd);
    size_t fl = (size_t)(eol - cmd);

    if (ct_str_starts(cmd, "cat ") || ct_str_starts(cmd, "cat>") || ct_str_starts(cmd, "tee ")) {
        const char *r = ct_memstr(cmd, fl, ">");
        int append = r && r[1] == '>';
        const char *path = r ? word_after(t, r + (append ? 2 : 1), eol) : NULL;
        if (ct_str_starts(cmd, "tee ")) path = word_after(t, cmd + 4, eol), append = 0;
        const char *body = heredoc_body(t, cmd, eol);
        if (path && body) {
            s->kind = append ? CT_KIND_EDIT : CT_KIND_CREATE;
            ct_file_touch *f = ct_step_add_file(t, s);
            f->path = path;
            f->op = append ? "append" : "create";
            if (append)
                f->new_text = body;
            else
                f->content = body;
        }
        return;
    }
    if (ct_str_starts(cmd, "sed ") && (ct_memstr(cmd, fl, " -i") != NULL)) {
        /* the file is the last word of the first line */
        const char *e = eol;
        while (e > cmd && isspace((unsigned char)e[-1]))
            e--;
        const char *b = e;
        while (b > cmd && !isspace((unsigned char)b[-1]))
            b--;
        if (b < e && *b != '-' && *b != '\'' && *b != '"') {
            s->kind = CT_KIND_EDIT;
            ct_file_touch *f = ct_step_add_file(t, s);
            f->path = ct_traj_strndup(t, b, (size_t)(e - b));
            f->op = "sed";
        }
        return;
    }
    if (ct_str_starts(cmd, "git apply") || ct_str_starts(cmd, "patch ")) {
        s->kind = CT_KIND_EDIT;
        ct_file_touch *f = ct_step_add_file(t, s);
        f->op = "patch";
        f->patch = heredoc_body(t, cmd, eol);
        return;
    }
    if (ct_str_starts(cmd, "git checkout -- ") || ct_str_starts(cmd, "git restore ")) {
        const char *p = cmd + (cmd[4] == 'c' ? strlen("git checkout -- ") : strlen("git restore "));
        const char *path = word_after(t, p, eol);
        if (path && *path != '-') {
            s->kind = CT_KIND_EDIT;
            ct_file_touch *f = ct_step_add_file(t, s);
            f->path = path;
            f->op = "revert";
        }
    }
}

/* ---- the task statement ----------------------------------------------------------------- */

/* Cut the task out of the first user message using the run's own instance template: the text
 * between the literal before {{task}} and the literal after it. */
static const char *task_from_template(ct_trajectory *t, const char *msg, const char *tpl)
{
    if (!msg || !tpl) return NULL;
    const char *mark = strstr(tpl, "{{task}}");
    size_t ml = 8;
    if (!mark) mark = strstr(tpl, "{{ task }}"), ml = 10;
    if (!mark) return NULL;
    /* literal prefix: after the last template tag before the mark */
    const char *pre = tpl;
    for (const char *q = tpl; q < mark; q++)
        if ((q[0] == '}' || q[0] == '%') && q[1] == '}') pre = q + 2;
    size_t pl = (size_t)(mark - pre);
    const char *suf = mark + ml;
    const char *se = suf;
    while (*se && !(se[0] == '{' && (se[1] == '{' || se[1] == '%')))
        se++;
    size_t sl = (size_t)(se - suf);
    if (sl > 200) sl = 200;
    const char *b = msg;
    if (pl) {
        char *p = ct_xstrndup(pre, pl);
        const char *hit = strstr(msg, p);
        free(p);
        if (!hit) return NULL;
        b = hit + pl;
    }
    const char *e = NULL;
    if (sl) {
        char *p = ct_xstrndup(suf, sl);
        e = strstr(b, p);
        free(p);
    }
    if (!e) e = b + strlen(b);
    size_t n = (size_t)(e - b);
    trim(&b, &n);
    return n ? ct_traj_strndup(t, b, n) : NULL;
}

static const char *task_heuristic(ct_trajectory *t, const char *msg)
{
    if (!msg) return NULL;
    const char *b = msg, *e = NULL;
    const char *pd = strstr(msg, "<pr_description>");
    if (pd) {
        b = pd + strlen("<pr_description>");
        e = strstr(b, "</pr_description>");
        const char *c = "Consider the following PR description:";
        const char *h = strstr(b, c);
        if (h && (!e || h < e) && h - b < 8) b = h + strlen(c);
    } else if (ct_str_starts(msg, "Please solve this issue: ")) {
        b = msg + strlen("Please solve this issue: ");
        e = strstr(b, "\n\nYou can execute bash commands");
    }
    if (!e) e = b + strlen(b);
    size_t n = (size_t)(e - b);
    trim(&b, &n);
    return n ? ct_traj_strndup(t, b, n) : NULL;
}

/* ---- detection -------------------------------------------------------------------------- */

static int sniff_score(const char *h, size_t n, int named)
{
    size_t i = ct_json_skip_ws(h, n, 0);
    if (i >= n) return CT_DETECT_NO;
    if (h[i] == '{') {
        const char *tf = ct_memstr(h, n, "\"trajectory_format\"");
        if (tf) {
            const char *v = tf + strlen("\"trajectory_format\"");
            size_t rest = n - (size_t)(v - h);
            size_t k = 0;
            while (k < rest && (isspace((unsigned char)v[k]) || v[k] == ':'))
                k++;
            if (rest - k > 16 && memcmp(v + k, "\"mini-swe-agent", 15) == 0) return CT_DETECT_SURE;
        }
        int msgs = ct_memstr(h, n, "\"messages\"") != NULL;
        int info = ct_memstr(h, n, "\"info\"") != NULL;
        int mini = ct_memstr(h, n, "\"mini_version\"") || ct_memstr(h, n, "mini-swe-agent") ||
                   ct_memstr(h, n, "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT") ||
                   ct_memstr(h, n, "<returncode>");
        /* SWE-agent .traj files are dicts too: they carry "trajectory" + "history" */
        if (ct_memstr(h, n, "\"history\"") && ct_memstr(h, n, "\"trajectory\""))
            return CT_DETECT_NO;
        if ((msgs || info) && mini) return named ? CT_DETECT_SURE : CT_DETECT_LIKELY;
        /* a huge info.submission can push every marker past the sniffed head */
        if (named && (info || msgs)) return CT_DETECT_LIKELY;
        return CT_DETECT_NO;
    }
    if (h[i] == '[') {
        size_t j = ct_json_skip_ws(h, n, i + 1);
        if (j >= n || h[j] != '{') return CT_DETECT_NO;
        int roles = ct_memstr(h, n, "\"role\"") && ct_memstr(h, n, "\"content\"");
        int mini = ct_memstr(h, n, "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT") ||
                   ct_memstr(h, n, "mswea_bash_command");
        if (roles && mini) return named ? CT_DETECT_SURE : CT_DETECT_LIKELY;
    }
    return CT_DETECT_NO;
}

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    if (is_dir) {
        char *p = ct_path_join(rel, "agent-logs/mini.traj.json");
        int yes = ct_fs_is_file(fs, p);
        free(p);
        return yes ? CT_DETECT_SURE : CT_DETECT_NO;
    }
    int named = ct_str_ends(rel, ".traj.json");
    if (!named && !ct_str_ends(rel, ".json")) return CT_DETECT_NO;
    ct_buf h = CT_BUF_INIT;
    int score = CT_DETECT_NO;
    if (ct_fmt_head(fs, rel, &h, 0) == 0 && h.len) score = sniff_score(h.data, h.len, named);
    ct_buf_free(&h);
    return score;
}

/* ---- loading ---------------------------------------------------------------------------- */

typedef struct {
    ct_trajectory *t;
    const char *raw;
    size_t n;
    ct_lines li;
    const char *disp; /* arena copy of the display path */
    json_t *msgs;
    ct_span *spans; /* per message, or NULL when the scanner failed */
    long n_spans;
    int format_errors;
    int group;
} mctx;

static void set_src(mctx *c, ct_source_ref *ref, size_t i)
{
    if (c->spans && (long)i < c->n_spans)
        ct_fmt_set_src(c->t, ref, c->disp, &c->li, c->spans[i].start, c->spans[i].end);
}

static const char *role_of(json_t *m)
{
    const char *r = ct_fmt_str(m, "role");
    return r ? r : "";
}

static const char *msg_timestamp(ct_trajectory *t, json_t *m)
{
    json_t *ts = json_object_get(m, "timestamp");
    if (!ts) ts = json_object_get(json_object_get(m, "extra"), "timestamp");
    return timestamp_of(t, ts);
}

/* Text turns (bare list, v1). */
static void load_text_turns(mctx *c)
{
    ct_trajectory *t = c->t;
    size_t nm = json_array_size(c->msgs);
    for (size_t i = 0; i < nm; i++) {
        json_t *m = json_array_get(c->msgs, i);
        if (strcmp(role_of(m), "assistant") != 0) continue;
        const char *text = ct_fmt_content_text(t, json_object_get(m, "content"));
        if (!text) text = "";
        size_t tl = strlen(text);
        fence f;
        const char *lang = "bash";
        int nf = count_fences(text, tl, lang, &f);
        if (nf == 0) lang = "mswea_bash_command", nf = count_fences(text, tl, lang, &f);
        if (nf != 1) {
            c->format_errors++;
            continue;
        }
        ct_step *s = ct_traj_add_step(t);
        const char *a = text + f.body_start;
        size_t al = f.body_end - f.body_start;
        trim(&a, &al);
        s->action = ct_traj_strndup(t, a, al);
        s->tool = "bash";
        const char *th = text;
        size_t thl = f.start;
        trim(&th, &thl);
        if (thl >= 8 && strncmp(th, "THOUGHT:", 8) == 0) th += 8, thl -= 8, trim(&th, &thl);
        s->thought = thl ? ct_traj_strndup(t, th, thl) : NULL;
        s->timestamp = msg_timestamp(t, m);
        set_src(c, &s->src, i);
        classify_shell(t, s);
        /* the observation: the next non-assistant message before the next assistant turn */
        for (size_t j = i + 1; j < nm; j++) {
            json_t *o = json_array_get(c->msgs, j);
            const char *r = role_of(o);
            if (strcmp(r, "assistant") == 0) break;
            if (strcmp(r, "user") != 0 && strcmp(r, "tool") != 0 && strcmp(r, "exit") != 0)
                continue;
            s->observation = ct_fmt_content_text(t, json_object_get(o, "content"));
            s->has_exit_code = parse_returncode(s->observation, &s->exit_code);
            set_src(c, &s->obs_src, j);
            break;
        }
    }
}

/* Tool-call turns (v1.1): one step per call; several calls in one turn share a parallel group. */
static void load_tool_turns(mctx *c)
{
    ct_trajectory *t = c->t;
    size_t nm = json_array_size(c->msgs);
    for (size_t i = 0; i < nm; i++) {
        json_t *m = json_array_get(c->msgs, i);
        if (strcmp(role_of(m), "assistant") != 0) continue;
        json_t *calls = json_object_get(m, "tool_calls");
        json_t *actions = json_object_get(json_object_get(m, "extra"), "actions");
        size_t ncalls = json_is_array(calls) ? json_array_size(calls) : 0;
        size_t nact = json_is_array(actions) ? json_array_size(actions) : 0;
        size_t nsteps = ncalls ? ncalls : nact;
        if (nsteps == 0) {
            c->format_errors++;
            continue;
        }
        const char *thought = ct_fmt_content_text(t, json_object_get(m, "content"));
        if (!thought || !*thought)
            thought = ct_fmt_jstr(t, json_object_get(m, "reasoning_content"));
        if (thought && !*thought) thought = NULL;
        int group = nsteps > 1 ? ++c->group : 0;
        ct_span *call_spans = NULL;
        long ncs = -1;
        if (nsteps > 1 && c->spans && (long)i < c->n_spans) {
            const char *path[] = {"tool_calls"};
            ct_span cs;
            if (ct_json_find(c->raw, c->n, c->spans[i].start, path, 1, &cs) == 0)
                ncs = ct_json_array_spans(c->raw, c->n, cs.start, &call_spans);
        }
        for (size_t k = 0; k < nsteps; k++) {
            json_t *call = ncalls ? json_array_get(calls, k) : NULL;
            json_t *fn = json_object_get(call, "function");
            const char *id = ct_fmt_str(call, "id");
            const char *name = ct_fmt_str(fn, "name");
            const char *cmd = NULL;
            const char *args = ct_fmt_str(fn, "arguments");
            json_t *aj = args ? json_loads(args, JSON_DECODE_ANY, NULL) : NULL;
            if (json_is_object(aj))
                cmd = ct_fmt_jstr(t, json_object_get(aj, "command"));
            else if (args)
                cmd = ct_traj_strdup(t, args);
            json_decref(aj);
            if (!cmd && k < nact) {
                json_t *act = json_array_get(actions, k);
                cmd = ct_fmt_jstr(t, json_object_get(act, "command"));
                if (!id) id = ct_fmt_str(act, "tool_call_id");
            }
            ct_step *s = ct_traj_add_step(t);
            s->action = cmd ? cmd : "";
            s->tool = ct_traj_strdup(t, name ? name : "bash");
            s->thought = thought;
            s->parallel_group = group;
            s->timestamp = msg_timestamp(t, m);
            if (call_spans && (long)k < ncs)
                ct_fmt_set_src(t, &s->src, c->disp, &c->li, call_spans[k].start, call_spans[k].end);
            else
                set_src(c, &s->src, i);
            if (!name || strcmp(name, "bash") == 0)
                classify_shell(t, s);
            else
                s->kind = CT_KIND_OTHER;
            /* its observation: the tool message answering this call id (else the k-th one) */
            size_t seen = 0;
            for (size_t j = i + 1; j < nm; j++) {
                json_t *o = json_array_get(c->msgs, j);
                const char *r = role_of(o);
                if (strcmp(r, "assistant") == 0) break;
                if (strcmp(r, "tool") != 0 && strcmp(r, "user") != 0) continue;
                const char *oid = ct_fmt_str(o, "tool_call_id");
                int hit = id && oid ? strcmp(id, oid) == 0 : seen == k;
                seen++;
                if (!hit) continue;
                s->observation = ct_fmt_content_text(t, json_object_get(o, "content"));
                json_t *rc = json_object_get(json_object_get(o, "extra"), "returncode");
                if (json_is_integer(rc)) {
                    s->has_exit_code = 1;
                    s->exit_code = (int)json_integer_value(rc);
                } else {
                    s->has_exit_code = parse_returncode(s->observation, &s->exit_code);
                }
                set_src(c, &s->obs_src, j);
                break;
            }
        }
        free(call_spans);
    }
}

static int is_tool_schema(json_t *msgs)
{
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        const char *r = role_of(m);
        if (strcmp(r, "tool") == 0 || strcmp(r, "exit") == 0) return 1;
        if (strcmp(r, "assistant") == 0 && json_array_size(json_object_get(m, "tool_calls")) > 0)
            return 1;
    }
    return 0;
}

/* SWE-bench evaluation next to a native run: <run>/logs/<instance>/report.json beside
 * <run>/trajs/<instance>/<instance>.traj.json (or a report.json in the file's own folder). Only
 * looked for inside the fs, so it is found when the run dir is what the user named. */
static void fill_swebench_report(ct_fs *fs, const char *file, const char *iid, ct_trajectory *t)
{
    char *d1 = ct_path_parent(file);
    char *d2 = ct_path_parent(d1);
    char *d3 = ct_path_parent(d2);
    char *cand[2];
    cand[0] = ct_path_join(d1, "report.json");
    cand[1] = *d2 && iid ? ct_xasprintf("%s%slogs/%s/report.json", d3, *d3 ? "/" : "", iid) : NULL;
    for (int k = 0; k < 2 && t->solved == CT_UNKNOWN; k++) {
        if (!cand[k] || !ct_fs_is_file(fs, cand[k])) continue;
        ct_buf raw = CT_BUF_INIT;
        json_t *j = NULL;
        if (ct_fmt_read_json(fs, cand[k], &raw, &j, NULL) == CT_OK && json_is_object(j)) {
            json_t *r = json_object_get(j, "resolved");
            if (!r && iid) r = json_object_get(json_object_get(j, iid), "resolved");
            if (json_is_boolean(r)) {
                t->solved = json_is_true(r) ? CT_TRUE : CT_FALSE;
                json_object_set_new(t->metadata, "swebench_report",
                                    json_string(ct_fs_display(fs, cand[k])));
            }
        }
        json_decref(j);
        ct_buf_free(&raw);
    }
    free(cand[0]);
    free(cand[1]);
    free(d1);
    free(d2);
    free(d3);
}

/* Load one mini trajectory file `file` (raw bytes already parsed into root). */
static int load_file(ct_fs *fs, const char *file, const char *trial, ct_traj_list *out,
                     ct_error *err)
{
    ct_buf raw = CT_BUF_INIT;
    json_t *root = NULL;
    int rc = ct_fmt_read_json(fs, file, &raw, &root, err);
    if (rc != CT_OK) {
        ct_buf_free(&raw);
        return rc;
    }
    const char *disp_now = ct_fs_display(fs, trial ? trial : file);
    ct_trajectory *t = ct_traj_new("mini-swe-agent", disp_now);
    mctx c = {0};
    c.t = t;
    c.raw = raw.data;
    c.n = raw.len;
    c.disp = ct_traj_strdup(t, ct_fs_display(fs, file));
    json_t *info = NULL;
    size_t msgs_pos = (size_t)-1;
    if (json_is_array(root)) {
        c.msgs = root;
        msgs_pos = 0;
        t->format_version = "bare-list";
    } else if (json_is_object(root) && json_is_array(json_object_get(root, "messages"))) {
        c.msgs = json_object_get(root, "messages");
        info = json_object_get(root, "info");
        const char *path[] = {"messages"};
        ct_span sp;
        if (ct_json_find(raw.data, raw.len, 0, path, 1, &sp) == 0) msgs_pos = sp.start;
        t->format_version = ct_fmt_jstr(t, json_object_get(root, "trajectory_format"));
    } else {
        ct_traj_free(t);
        json_decref(root);
        ct_buf_free(&raw);
        return ct_error_setf(err, CT_EFORMAT, ct_fs_display(fs, file), -1, 0,
                             "not a mini-swe-agent trajectory: expected a list of messages or an "
                             "object with a \"messages\" list");
    }
    if (json_array_size(c.msgs) > MAX_MESSAGES) {
        ct_traj_free(t);
        json_decref(root);
        ct_buf_free(&raw);
        return ct_error_setf(err, CT_ELIMIT, ct_fs_display(fs, file), -1, 0,
                             "%zu messages (limit %d)", json_array_size(c.msgs), MAX_MESSAGES);
    }
    ct_lines_build(&c.li, raw.data, raw.len);
    if (msgs_pos != (size_t)-1) {
        c.n_spans = ct_json_array_spans(raw.data, raw.len, msgs_pos, &c.spans);
        if (c.n_spans != (long)json_array_size(c.msgs)) {
            free(c.spans);
            c.spans = NULL;
            c.n_spans = 0;
        }
    }
    t->agent = "mini-SWE-agent";
    int tools = is_tool_schema(c.msgs);
    if (!t->format_version && !json_is_array(root))
        t->format_version = tools ? "mini-swe-agent-1.1 (guessed)" : "mini-swe-agent-1 (guessed)";

    if (trial) ct_fmt_tb_trial_fill(fs, trial, t); /* results.json instruction wins as the task */
    json_t *cfg = json_object_get(info, "config");
    t->model = ct_fmt_jstr(t, json_object_get(json_object_get(cfg, "model"), "model_name"));
    t->exit_status = ct_fmt_jstr(t, json_object_get(info, "exit_status"));
    json_t *sub = json_object_get(info, "submission");
    if (json_is_string(sub) && json_string_length(sub) > 0) t->final_patch = ct_fmt_jstr(t, sub);
    json_t *iid = json_object_get(root, "instance_id");
    if (json_is_string(iid)) json_object_set(t->metadata, "instance_id", iid);
    if (!trial) fill_swebench_report(fs, file, json_string_value(iid), t);
    json_t *mv = json_object_get(info, "mini_version");
    if (mv) json_object_set(t->metadata, "mini_version", mv);
    json_t *ms = json_object_get(info, "model_stats");
    if (json_is_object(ms)) json_object_set(t->metadata, "model_stats", ms);

    /* task: the first user message, without the instance template around it */
    size_t nm = json_array_size(c.msgs);
    const char *first_user = NULL;
    for (size_t i = 0; i < nm && !first_user; i++) {
        json_t *m = json_array_get(c.msgs, i);
        if (strcmp(role_of(m), "user") == 0)
            first_user = ct_fmt_content_text(t, json_object_get(m, "content"));
    }
    if (!t->task) {
        const char *tpl = ct_fmt_str(json_object_get(cfg, "agent"), "instance_template");
        t->task = task_from_template(t, first_user, tpl);
        if (!t->task) t->task = task_heuristic(t, first_user);
    }

    if (tools)
        load_tool_turns(&c);
    else
        load_text_turns(&c);

    /* the end of the run: a final "exit" message (1.1) or the submitted diff (bare list / v1) */
    json_t *last = nm ? json_array_get(c.msgs, nm - 1) : NULL;
    const char *lr = role_of(last);
    if (strcmp(lr, "exit") == 0) {
        json_t *ex = json_object_get(last, "extra");
        if (!t->exit_status) t->exit_status = ct_fmt_jstr(t, json_object_get(ex, "exit_status"));
        const char *content = ct_fmt_content_text(t, json_object_get(last, "content"));
        if (!t->final_patch && content && ct_str_starts(content, "diff --git"))
            t->final_patch = content;
    } else if (strcmp(lr, "user") == 0 && !t->final_patch) {
        const char *content = ct_fmt_content_text(t, json_object_get(last, "content"));
        if (content && ct_str_starts(content, "diff --git")) t->final_patch = content;
    }
    if (!t->exit_status && t->n_steps && t->steps[t->n_steps - 1].kind == CT_KIND_SUBMIT)
        t->exit_status = "Submitted (inferred)";

    if (c.format_errors)
        json_object_set_new(t->metadata, "format_error_turns", json_integer(c.format_errors));
    if (t->n_steps == 0) ct_traj_warn(t, "no steps: the agent issued no command");
    const char *es = t->exit_status;
    if (es && strcmp(es, "Submitted") != 0 && strcmp(es, "Submitted (inferred)") != 0) {
        const char *why = ct_fmt_str(info, "exception_str");
        if (!why && strcmp(lr, "exit") == 0) why = ct_fmt_str(last, "content");
        if (why && strlen(why) > 200) why = ct_traj_printf(t, "%.200s...", why);
        ct_traj_warn(t, "run ended with exit status %s%s%s", es, why ? ": " : "", why ? why : "");
    }
    if (t->n_steps) {
        ct_step *ls = &t->steps[t->n_steps - 1];
        if (!ls->observation && ls->kind != CT_KIND_SUBMIT)
            ct_traj_warn(t, "step %d has no observation: the run stopped before its result",
                         ls->step_id);
    }
    if (!c.spans && nm)
        ct_traj_warn(t, "could not map messages to byte ranges; steps have no source");

    free(c.spans);
    ct_lines_free(&c.li);
    json_decref(root);
    ct_buf_free(&raw);
    ct_traj_list_push(out, t);
    return CT_OK;
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    if (is_dir) {
        char *p = ct_path_join(rel, "agent-logs/mini.traj.json");
        if (!ct_fs_is_file(fs, p)) {
            free(p);
            return ct_error_setf(err, CT_EFORMAT, ct_fs_display(fs, rel), -1, 0,
                                 "no agent-logs/mini.traj.json in this directory");
        }
        int rc = load_file(fs, p, rel, out, err);
        free(p);
        /* a killed writer leaves a truncated or empty mini.traj.json (or an LFS stub): the
         * rendered terminal log of the same trial still has the steps */
        const ct_loader *log = ct_loader_by_name("mini-swe-agent-log");
        if ((rc == CT_EPARSE || rc == CT_ELFS || rc == CT_EFORMAT) && log && err) {
            ct_error why = *err;
            size_t before = out->n;
            ct_error e2;
            ct_error_clear(&e2);
            if (log->load(fs, rel, 1, out, &e2) == CT_OK && out->n > before &&
                out->items[out->n - 1]->n_steps > 0) {
                ct_trajectory *t = out->items[out->n - 1];
                char msg[CT_ERROR_MSG_MAX + 64];
                ct_error_format(&why, msg, sizeof msg);
                ct_traj_warn(t,
                             "agent-logs/mini.traj.json is unusable (%s); steps were read from the "
                             "terminal log instead",
                             msg);
                ct_error_clear(err);
                return CT_OK;
            }
            while (out->n > before)
                ct_traj_free(out->items[--out->n]);
            *err = why;
        }
        return rc;
    }
    return load_file(fs, rel, NULL, out, err);
}

const ct_loader ct_loader_mini_swe = {
    .name = "mini-swe-agent",
    .agent = "mini-SWE-agent",
    .summary = "mini-SWE-agent *.traj.json (bare list, mini-swe-agent-1, mini-swe-agent-1.1) and "
               "terminal-bench trials with agent-logs/mini.traj.json",
    .detection =
        "\"trajectory_format\": \"mini-swe-agent-*\", or a *.traj.json dict/list of role/content "
        "messages with mini markers; a dir holding agent-logs/mini.traj.json",
    .detect = detect,
    .load = load,
};

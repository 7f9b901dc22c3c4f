/* The rendered mini-SWE-agent TUI in a terminal-bench trial (`sessions/agent.log`, or
 * `sessions/agent.cast` when the log is missing or a Git LFS stub), used when the trial has no
 * `agent-logs/mini.traj.json`.
 *
 * What the terminal shows per step (mini's InteractiveAgent): a `────` rule, a spinner
 * `⠋ Waiting for the LM to respond...` redrawn with \r, then `mini-swe-agent (step N, $C):`
 * and the model's text (THOUGHT + one ```bash block), then `User:` and the observation
 * (`<returncode>…</returncode>` + `<output>…</output>`). Colours are ANSI escapes; LiteLLM retry
 * tracebacks land between the rule and the next header. We clean each line (ANSI, \r redraws),
 * cut the text into blocks at headers and rules, and pair each assistant block holding exactly
 * one bash block with the role block after it. Step src = the block's line range in the raw file
 * (for a cast: the range of event lines the block was printed by). */
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 5000000

typedef struct {
    size_t raw_start, raw_end; /* raw bytes of this line (without the newline) */
    char *text;                /* cleaned */
} cline;

typedef enum { B_ASSISTANT, B_ROLE } btype;

typedef struct {
    btype type;
    char role[16];
    size_t first, last; /* line indexes: header .. last content line */
    double cost;
} block;

typedef struct {
    cline *l;
    size_t n, cap;
    /* for casts: reconstructed text offsets → raw event lines */
    const char *raw;
    size_t raw_len;
} doc;

/* ---- cleaning ------------------------------------------------------------------------- */

/* Strip ANSI escapes and control bytes; keep what a terminal would finally show after \r
 * redraws (the last non-empty segment). */
static char *clean_line(const char *s, size_t n)
{
    while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    ct_buf seg = CT_BUF_INIT, best = CT_BUF_INIT;
    ct_buf_reserve(&seg, n + 1);
    ct_buf_reserve(&best, 1);
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '\r') {
            int visible = 0;
            for (size_t k = 0; k < seg.len; k++)
                if (!isspace((unsigned char)seg.data[k])) visible = 1;
            if (visible || i == n) {
                if (visible) {
                    ct_buf_clear(&best);
                    ct_buf_append(&best, seg.data, seg.len);
                }
            }
            ct_buf_clear(&seg);
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == 0x1b) {
            if (i + 1 < n && s[i + 1] == '[') {
                i += 2;
                while (i < n && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e))
                    i++;
            } else if (i + 1 < n && s[i + 1] == ']') {
                i += 2;
                while (i < n && s[i] != '\a' && !(s[i] == 0x1b && i + 1 < n && s[i + 1] == '\\'))
                    i++;
                if (i < n && s[i] == 0x1b) i++;
            } else if (i + 1 < n && (s[i + 1] == '(' || s[i + 1] == ')')) {
                i += 2;
            } else {
                i++;
            }
            if (i >= n) i = n - 1; /* an escape cut off at the end: still flush the segment */
            continue;
        }
        if (c < 0x20 && c != '\t') continue;
        if (c == 0x7f) continue;
        ct_buf_putc(&seg, (char)c);
    }
    ct_buf_free(&seg);
    if (!best.len) {
        ct_buf_free(&best);
        return ct_xstrdup("");
    }
    return ct_buf_steal(&best);
}

static void doc_add(doc *d, size_t rs, size_t re, const char *text, size_t tn)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->l = ct_xrealloc(d->l, d->cap * sizeof *d->l);
    }
    d->l[d->n].raw_start = rs;
    d->l[d->n].raw_end = re;
    d->l[d->n].text = clean_line(text, tn);
    d->n++;
}

static void doc_free(doc *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->l[i].text);
    free(d->l);
}

/* Lines of a plain log: raw ranges are the lines themselves. */
static void doc_from_log(doc *d, const char *s, size_t n)
{
    size_t p = 0;
    while (p < n && d->n < MAX_LINES) {
        const char *nl = memchr(s + p, '\n', n - p);
        size_t e = nl ? (size_t)(nl - s) : n;
        doc_add(d, p, e, s + p, e - p);
        p = e + 1;
    }
}

/* An asciinema v2 cast: join the "o" chunks (records split across events), cut lines from the
 * joined text, and give each line the raw range of the event lines it was printed by. */
static int doc_from_cast(doc *d, const char *s, size_t n)
{
    ct_buf text = CT_BUF_INIT;
    size_t *ev_off = NULL, *ev_rs = NULL, *ev_re = NULL; /* per event: text offset, raw range */
    size_t ne = 0, cap = 0;
    size_t p = 0;
    int first = 1;
    while (p < n) {
        const char *nl = memchr(s + p, '\n', n - p);
        size_t e = nl ? (size_t)(nl - s) : n;
        if (first) {
            first = 0; /* the header object */
        } else if (e > p && s[p] == '[') {
            json_t *ev = json_loadb(s + p, e - p, JSON_ALLOW_NUL, NULL);
            const char *kind = json_string_value(json_array_get(ev, 1));
            json_t *data = json_array_get(ev, 2);
            if (kind && strcmp(kind, "o") == 0 && json_is_string(data)) {
                if (ne == cap) {
                    cap = cap ? cap * 2 : 256;
                    ev_off = ct_xrealloc(ev_off, cap * sizeof *ev_off);
                    ev_rs = ct_xrealloc(ev_rs, cap * sizeof *ev_rs);
                    ev_re = ct_xrealloc(ev_re, cap * sizeof *ev_re);
                }
                ev_off[ne] = text.len;
                ev_rs[ne] = p;
                ev_re[ne] = e;
                ne++;
                ct_buf_append(&text, json_string_value(data), json_string_length(data));
            }
            json_decref(ev);
        }
        p = e + 1;
    }
    size_t q = 0, ev = 0;
    const char *t = text.data ? text.data : "";
    while (q < text.len && d->n < MAX_LINES) {
        const char *nl = memchr(t + q, '\n', text.len - q);
        size_t e = nl ? (size_t)(nl - t) : text.len;
        while (ev + 1 < ne && ev_off[ev + 1] <= q)
            ev++;
        size_t ev_end = ev;
        while (ev_end + 1 < ne && ev_off[ev_end + 1] < e)
            ev_end++;
        doc_add(d, ne ? ev_rs[ev] : 0, ne ? ev_re[ev_end] : 0, t + q, e - q);
        q = e + 1;
    }
    free(ev_off);
    free(ev_rs);
    free(ev_re);
    ct_buf_free(&text);
    return ne > 0;
}

/* ---- recognising lines ----------------------------------------------------------------- */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static int parse_header(const char *s, double *cost)
{
    s = skip_ws(s);
    if (!ct_str_starts(s, "mini-swe-agent (step ")) return 0;
    const char *d = strstr(s, "$");
    *cost = d ? strtod(d + 1, NULL) : 0;
    return strstr(s, "):") != NULL;
}

static int parse_role(const char *s, char *role, size_t rn)
{
    s = skip_ws(s);
    static const char *const roles[] = {"User:", "System:", "Tool:", "Exit:", "Assistant:"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        size_t l = strlen(roles[i]);
        if (strncmp(s, roles[i], l) == 0 && *skip_ws(s + l) == '\0') {
            snprintf(role, rn, "%.*s", (int)(l - 1), roles[i]);
            return 1;
        }
    }
    return 0;
}

static int is_rule(const char *s)
{
    s = skip_ws(s);
    int cnt = 0;
    while (*s) {
        if (ct_str_starts(s, "\xe2\x94\x80")) {
            s += 3;
            cnt++;
        } else if (*s == ' ') {
            s++;
        } else {
            return 0;
        }
    }
    return cnt >= 3;
}

static int is_noise_end(const char *s)
{
    return strstr(s, "Waiting for the LM to respond") != NULL || ct_str_starts(s, "asciinema: ") ||
           (ct_str_starts(s, "root@") && strstr(s, "# ")) ||
           ct_str_starts(s, "Saved trajectory to");
}

static int blank(const char *s)
{
    return *skip_ws(s) == '\0';
}

/* ---- fences (the regex mini-swe-agent uses: ```bash\s*\n(.*?)\n```) ---------------------- */

static int find_fence(const char *s, size_t n, size_t from, size_t *bs, size_t *be, size_t *fs,
                      size_t *fe)
{
    while (from + 7 <= n) {
        const char *p = ct_memstr(s + from, n - from, "```bash");
        if (!p) return 0;
        size_t at = (size_t)(p - s), i = at + 7, last_nl = (size_t)-1;
        while (i < n && isspace((unsigned char)s[i])) {
            if (s[i] == '\n') last_nl = i;
            i++;
        }
        if (last_nl == (size_t)-1) {
            from = at + 3;
            continue;
        }
        const char *close = ct_memstr(s + last_nl, n - last_nl, "\n```");
        if (!close) return 0;
        size_t ce = (size_t)(close - s);
        *fs = at;
        *bs = last_nl + 1;
        *be = ce < *bs ? *bs : ce;
        *fe = ce + 4;
        return 1;
    }
    return 0;
}

/* ---- loading -------------------------------------------------------------------------- */

static char *join_lines(const doc *d, size_t a, size_t b)
{
    ct_buf out = CT_BUF_INIT;
    ct_buf_reserve(&out, 1);
    for (size_t i = a; i <= b && i < d->n; i++) {
        if (i > a) ct_buf_putc(&out, '\n');
        ct_buf_puts(&out, d->l[i].text);
    }
    return ct_buf_steal(&out);
}

static void set_range(ct_trajectory *t, ct_source_ref *ref, const char *disp, const ct_lines *li,
                      const doc *d, size_t a, size_t b)
{
    if (a >= d->n) return;
    if (b >= d->n) b = d->n - 1;
    ct_fmt_set_src(t, ref, disp, li, d->l[a].raw_start, d->l[b].raw_end);
}

static const char *trimmed(ct_trajectory *t, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return n ? ct_traj_strndup(t, s, n) : NULL;
}

static const char *task_from_message(ct_trajectory *t, const char *msg)
{
    const char *b = msg, *e = NULL;
    const char *pd = strstr(msg, "<pr_description>");
    if (pd) {
        b = pd + strlen("<pr_description>");
        e = strstr(b, "</pr_description>");
        const char *c = "Consider the following PR description:";
        const char *h = strstr(b, c);
        if (h && (!e || h < e)) b = h + strlen(c);
    } else if (ct_str_starts(msg, "Please solve this issue: ")) {
        b = msg + strlen("Please solve this issue: ");
        e = strstr(b, "\n\nYou can execute bash commands");
    }
    if (!e) e = b + strlen(b);
    return trimmed(t, b, (size_t)(e - b));
}

/* `mini -m MODEL` / `--model MODEL` / `--model=MODEL` in commands.txt (t may be NULL: only
 * tell whether commands.txt runs `mini`). */
static const char *model_from_commands(ct_fs *fs, const char *trial, ct_trajectory *t, int *invoked)
{
    char *p = ct_path_join(trial, "commands.txt");
    ct_buf b = CT_BUF_INIT;
    const char *model = NULL;
    *invoked = 0;
    if (ct_fs_is_file(fs, p) && ct_fmt_head(fs, p, &b, 0) == 0 && b.data) {
        /* each line is a Python list of keystrokes; the agent command is its first element */
        const char *m = strstr(b.data, "['mini ");
        if (!m) m = strstr(b.data, "[\"mini ");
        if (m) {
            *invoked = 1;
            const char *eol = strchr(m, '\n');
            size_t ln = eol ? (size_t)(eol - m) : strlen(m);
            const char *opt = ct_memstr(m, ln, " -m ");
            size_t skip = 4;
            if (!opt) opt = ct_memstr(m, ln, " --model "), skip = 9;
            if (!opt) opt = ct_memstr(m, ln, " --model="), skip = 9;
            if (opt) {
                const char *v = opt + skip;
                size_t n = strcspn(v, " '\"\n,]");
                if (n && n < 200 && t) model = ct_traj_strndup(t, v, n);
            }
        }
    }
    ct_buf_free(&b);
    free(p);
    return model;
}

static int head_has_marker(const char *h, size_t n)
{
    const char *p = h;
    while ((p = ct_memstr(p, n - (size_t)(p - h), "mini-swe-agent"))) {
        size_t rest = n - (size_t)(p - h);
        if (ct_memstr(p, rest < 80 ? rest : 80, " (step ")) return 1;
        p += 14;
    }
    return 0;
}

static int file_has_marker(ct_fs *fs, const char *rel)
{
    ct_buf b = CT_BUF_INIT;
    int yes = ct_fs_is_file(fs, rel) && ct_fmt_head(fs, rel, &b, 0) == 0 && b.data &&
              !ct_is_lfs_pointer(b.data, b.len) && head_has_marker(b.data, b.len);
    ct_buf_free(&b);
    return yes;
}

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    if (!is_dir) {
        /* not the panes .txt captures: a screen capture holds only the last screenful */
        if (!ct_str_ends(rel, ".log") && !ct_str_ends(rel, ".cast")) return CT_DETECT_NO;
        return file_has_marker(fs, rel) ? CT_DETECT_LIKELY : CT_DETECT_NO;
    }
    char *mt = ct_path_join(rel, "agent-logs/mini.traj.json");
    int has_traj = ct_fs_is_file(fs, mt);
    free(mt);
    if (has_traj) return CT_DETECT_NO; /* the native loader reads that one */
    char *log = ct_path_join(rel, "sessions/agent.log");
    char *cast = ct_path_join(rel, "sessions/agent.cast");
    int score = CT_DETECT_NO;
    if (file_has_marker(fs, log) || file_has_marker(fs, cast)) score = CT_DETECT_SURE;
    free(log);
    free(cast);
    if (!score && ct_fmt_is_tb_trial(fs, rel)) {
        int invoked;
        model_from_commands(fs, rel, NULL, &invoked);
        if (invoked) score = CT_DETECT_LIKELY;
    }
    return score;
}

/* Read the log (or the cast) of a trial into d; returns the rel path used or NULL. */
static char *read_session(ct_fs *fs, const char *trial, ct_buf *raw, doc *d, ct_trajectory *t)
{
    static const char *const names[] = {"sessions/agent.log", "sessions/agent.cast"};
    for (size_t k = 0; k < 2; k++) {
        char *p = ct_path_join(trial, names[k]);
        if (!ct_fs_is_file(fs, p)) {
            free(p);
            continue;
        }
        ct_buf_clear(raw);
        if (ct_fs_read(fs, p, raw, 0, NULL) != CT_OK || !raw->data) {
            ct_traj_warn(t, "%s could not be read", names[k]);
            free(p);
            continue;
        }
        if (ct_is_lfs_pointer(raw->data, raw->len)) {
            ct_traj_warn(t, "%s is a Git LFS pointer; its content was never downloaded", names[k]);
            free(p);
            continue;
        }
        if (k == 0)
            doc_from_log(d, raw->data, raw->len);
        else
            doc_from_cast(d, raw->data, raw->len);
        return p;
    }
    return NULL;
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    ct_buf raw = CT_BUF_INIT;
    doc d = {0};
    char *trial = NULL, *src = NULL;
    ct_trajectory *t = ct_traj_new("mini-swe-agent-log", ct_fs_display(fs, rel));
    t->agent = "mini-SWE-agent";
    t->format_version = "tui-log";
    if (is_dir) {
        trial = ct_xstrdup(rel);
        src = read_session(fs, trial, &raw, &d, t);
        if (!src)
            ct_traj_warn(t, "no readable sessions/agent.log or sessions/agent.cast in this trial");
    } else {
        int rc = ct_fs_read(fs, rel, &raw, 0, err);
        if (rc != CT_OK) {
            ct_traj_free(t);
            ct_buf_free(&raw);
            return rc;
        }
        if (ct_is_lfs_pointer(raw.data, raw.len)) {
            ct_traj_free(t);
            ct_buf_free(&raw);
            return ct_error_lfs(err, ct_fs_display(fs, rel));
        }
        if (ct_str_ends(rel, ".cast"))
            doc_from_cast(&d, raw.data, raw.len);
        else
            doc_from_log(&d, raw.data, raw.len);
        src = ct_xstrdup(rel);
        /* <trial>/sessions/agent.log: the trial is two levels up when the fs reaches it */
        char *p1 = ct_path_parent(rel), *p2 = p1 ? ct_path_parent(p1) : NULL;
        if (p2 && *p1 && ct_fmt_is_tb_trial(fs, p2)) trial = ct_xstrdup(p2);
        free(p1);
        free(p2);
    }
    const char *disp = src ? ct_traj_strdup(t, ct_fs_display(fs, src)) : NULL;
    if (trial) {
        ct_fmt_tb_trial_fill(fs, trial, t);
        int invoked;
        t->model = model_from_commands(fs, trial, t, &invoked);
    }

    /* blocks */
    block *bl = NULL;
    size_t nb = 0, cap = 0;
    int cur = -1; /* index of the open block */
    int not_installed = 0;
    for (size_t i = 0; i < d.n; i++) {
        const char *s = d.l[i].text;
        double cost;
        char role[16];
        if (strstr(s, "mini: command not found")) not_installed = 1;
        int hdr = parse_header(s, &cost);
        int rl = !hdr && parse_role(s, role, sizeof role);
        if (hdr || rl) {
            if (nb == cap) {
                cap = cap ? cap * 2 : 64;
                bl = ct_xrealloc(bl, cap * sizeof *bl);
            }
            block *b = &bl[nb];
            memset(b, 0, sizeof *b);
            b->type = hdr ? B_ASSISTANT : B_ROLE;
            if (rl) memcpy(b->role, role, sizeof role);
            b->cost = hdr ? cost : 0;
            b->first = b->last = i;
            cur = (int)nb++;
            continue;
        }
        if (is_rule(s) || is_noise_end(s)) {
            cur = -1;
            continue;
        }
        if (cur >= 0 && !blank(s)) bl[cur].last = i;
    }

    ct_lines li;
    ct_lines_build(&li, raw.data ? raw.data : "", raw.len);
    int format_errors = 0;
    double last_cost = -1;
    for (size_t k = 0; k < nb; k++) {
        block *b = &bl[k];
        if (b->type == B_ROLE) {
            if (!strcmp(b->role, "User") && !t->task) {
                int before_any = 1;
                for (size_t j = 0; j < k; j++)
                    if (bl[j].type == B_ASSISTANT) before_any = 0;
                if (before_any && b->last > b->first) {
                    char *m = join_lines(&d, b->first + 1, b->last);
                    t->task = task_from_message(t, m);
                    free(m);
                }
            }
            continue;
        }
        last_cost = b->cost;
        char *content = b->last > b->first ? join_lines(&d, b->first + 1, b->last) : ct_xstrdup("");
        size_t cl = strlen(content), bs, be, fs0, fe, bs2, be2, fs2, fe2;
        int one = find_fence(content, cl, 0, &bs, &be, &fs0, &fe) &&
                  !find_fence(content, cl, fe, &bs2, &be2, &fs2, &fe2);
        if (!one) {
            format_errors++;
            free(content);
            continue;
        }
        ct_step *s = ct_traj_add_step(t);
        s->tool = "bash";
        const char *a = trimmed(t, content + bs, be - bs);
        s->action = a ? a : "";
        const char *th = content;
        size_t thl = fs0;
        while (thl && isspace((unsigned char)*th))
            th++, thl--;
        if (thl >= 8 && strncmp(th, "THOUGHT:", 8) == 0) th += 8, thl -= 8;
        s->thought = trimmed(t, th, thl);
        s->kind = ct_fmt_kind_from_shell(s->action);
        if (disp) set_range(t, &s->src, disp, &li, &d, b->first, b->last);
        free(content);
        if (k + 1 < nb && bl[k + 1].type == B_ROLE) {
            block *o = &bl[k + 1];
            char *obs = o->last > o->first ? join_lines(&d, o->first + 1, o->last) : ct_xstrdup("");
            s->observation = ct_traj_strdup(t, obs);
            const char *rc = strstr(obs, "<returncode>");
            if (rc) {
                char *e;
                long v = strtol(rc + strlen("<returncode>"), &e, 10);
                if (e != rc + strlen("<returncode>")) s->has_exit_code = 1, s->exit_code = (int)v;
            }
            free(obs);
            if (disp) set_range(t, &s->obs_src, disp, &li, &d, o->first, o->last);
        }
    }
    if (format_errors)
        json_object_set_new(t->metadata, "format_error_turns", json_integer(format_errors));
    if (last_cost >= 0) json_object_set_new(t->metadata, "cost_usd", json_real(last_cost));
    if (t->n_steps && t->steps[t->n_steps - 1].kind == CT_KIND_SUBMIT)
        t->exit_status = "Submitted (inferred)";
    if (t->n_steps) {
        ct_step *ls = &t->steps[t->n_steps - 1];
        if (!ls->observation && ls->kind != CT_KIND_SUBMIT)
            ct_traj_warn(t, "step %d has no observation: the run stopped before its result",
                         ls->step_id);
    }
    if (t->n_steps == 0) {
        if (not_installed)
            ct_traj_warn(t, "agent not installed: the log shows `mini: command not found`");
        else if (src)
            ct_traj_warn(t, "no mini-swe-agent steps in %s", src);
    }

    free(bl);
    ct_lines_free(&li);
    doc_free(&d);
    ct_buf_free(&raw);
    free(trial);
    free(src);
    ct_traj_list_push(out, t);
    return CT_OK;
}

const ct_loader ct_loader_mini_log = {
    .name = "mini-swe-agent-log",
    .agent = "mini-SWE-agent",
    .summary = "the rendered mini-SWE-agent TUI (sessions/agent.log or agent.cast) of a "
               "terminal-bench trial without agent-logs/mini.traj.json",
    .detection = "`mini-swe-agent (step N, $C):` headers in sessions/agent.log/agent.cast, or a tb "
                 "trial whose commands.txt runs `mini`",
    .detect = detect,
    .load = load,
};

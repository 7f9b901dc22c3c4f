/* formats/codex.c — OpenAI codex CLI (`codex exec`) in a terminal-bench trial.
 *
 * sessions/agent.log is the terminal byte stream (ANSI included). codex prints blocks that
 * start with a `[<ISO time>]` header line:
 *   [ts] OpenAI Codex vX (research preview)   then "model: ..." lines
 *   [ts] User instructions:                   the prompt
 *   [ts] thinking / [ts] codex                reasoning / assistant text
 *   [ts] exec bash -lc '<cmd>' in /app        a command starts (may span lines)
 *   [ts] bash -lc '<cmd>' succeeded in Nms:   its result, output below
 *   [ts] bash -lc '<cmd>' exited N in Nms:
 *   [ts] tokens used: N
 * Step = one exec block; observation = the result block's output; src = the exec block's lines. */
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 100000

typedef struct {
    size_t start, end; /* raw byte range of the line (without '\n') */
    char *text;        /* cleaned text */
} rline;

/* "[2025-08-24T08:14:43] rest": returns rest, NULL when the line is not a header. */
static const char *header_rest(const char *s, const char **ts_end)
{
    if (s[0] != '[' || !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[4]) ||
        s[5] != '-')
        return NULL;
    const char *e = strchr(s, ']');
    if (!e || e - s > 40 || !strchr(s, 'T') || strchr(s, 'T') > e) return NULL;
    if (ts_end) *ts_end = e;
    return e[1] == ' ' ? e + 2 : e + 1;
}

static int prompt_line(const char *s)
{
    if (ct_str_starts(s, "asciinema:")) return 1;
    const char *at = strchr(s, '@'), *colon = at ? strchr(at, ':') : NULL;
    if (!at || !colon) return 0;
    for (const char *p = s; p < at; p++)
        if (isspace((unsigned char)*p)) return 0;
    return strstr(colon, "# ") != NULL || strstr(colon, "$ ") != NULL || ct_str_ends(s, "#");
}

/* Undo one level of POSIX shell quoting of a whole word; NULL when it is not one word. */
static char *sh_unquote(const char *s)
{
    ct_buf b = CT_BUF_INIT;
    const char *p = s;
    while (*p) {
        if (*p == '\'') {
            const char *e = strchr(p + 1, '\'');
            if (!e) goto fail;
            ct_buf_append(&b, p + 1, (size_t)(e - p - 1));
            p = e + 1;
        } else if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`')) p++;
                ct_buf_putc(&b, *p++);
            }
            if (*p != '"') goto fail;
            p++;
        } else if (*p == '\\' && p[1]) {
            ct_buf_putc(&b, p[1]);
            p += 2;
        } else if (isspace((unsigned char)*p)) {
            goto fail;
        } else {
            ct_buf_putc(&b, *p++);
        }
    }
    return ct_buf_steal(&b);
fail:
    ct_buf_free(&b);
    return NULL;
}

/* The command as codex ran it: `bash -lc '<cmd>'` → <cmd>. */
static char *inner_command(const char *cmd)
{
    if (ct_str_starts(cmd, "bash -lc ")) {
        char *u = sh_unquote(cmd + 9);
        if (u) return u;
    }
    return ct_xstrdup(cmd);
}

/* Find "succeeded in Nms:" / "exited N in Nms:" ending a line of the block; returns the line index
 * (or -1) and sets *code. */
static long result_marker(rline *L, size_t a, size_t b, int *code)
{
    for (size_t i = a; i < b; i++) {
        const char *t = L[i].text;
        size_t n = strlen(t);
        if (n < 4 || strcmp(t + n - 3, "ms:") != 0) continue;
        const char *p = t + n - 3;
        while (p > t && isdigit((unsigned char)p[-1]))
            p--;
        if (p - t < 4 || strncmp(p - 4, " in ", 4) != 0) continue;
        const char *q = p - 4;
        if (q - t >= 9 && strncmp(q - 9, "succeeded", 9) == 0) {
            *code = 0;
            return (long)i;
        }
        const char *d = q;
        while (d > t && (isdigit((unsigned char)d[-1]) || d[-1] == '-'))
            d--;
        if (d < q && d - t >= 7 && strncmp(d - 7, "exited ", 7) == 0) {
            *code = atoi(d);
            return (long)i;
        }
    }
    return -1;
}

static void join_lines(ct_buf *b, rline *L, size_t a, size_t e)
{
    while (a < e && !L[a].text[0])
        a++; /* leading blank lines */
    for (size_t i = a; i < e; i++) {
        if (i > a) ct_buf_putc(b, '\n');
        ct_buf_puts(b, L[i].text);
    }
    while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' '))
        b->data[--b->len] = '\0';
}

static int parse_log(ct_fs *fs, const char *rel, ct_trajectory *t, ct_error *err)
{
    ct_buf raw = CT_BUF_INIT;
    int rc = ct_fmt_read_data(fs, rel, &raw, err);
    if (rc != CT_OK) {
        ct_buf_free(&raw);
        return rc;
    }
    char *display = ct_xstrdup(ct_fs_display(fs, rel));
    rline *L = NULL;
    size_t nl_ = 0, cap = 0, pos = 0;
    while (pos < raw.len) {
        const char *ls = raw.data + pos;
        const char *nl = memchr(ls, '\n', raw.len - pos);
        size_t n = nl ? (size_t)(nl - ls) : raw.len - pos;
        ct_buf c = CT_BUF_INIT;
        ct_ansi a = {0};
        ct_fmt_ansi_feed(&a, &c, ls, n);
        if (nl_ == cap) {
            cap = cap ? cap * 2 : 256;
            L = ct_xrealloc(L, cap * sizeof *L);
        }
        L[nl_++] = (rline){pos, pos + n, ct_buf_steal(&c)};
        pos += n + (nl ? 1 : 0);
    }
    ct_lines li;
    ct_lines_build(&li, raw.data, raw.len);

    /* Block boundaries: header lines; a shell prompt also ends a block. */
    ct_buf thought = CT_BUF_INIT;
    long long tokens = 0;
    int n_exec = 0, unmatched = 0, limited = 0;
    const char *final_text = NULL;
    size_t i = 0;
    while (i < nl_) {
        const char *ts_end;
        const char *rest = header_rest(L[i].text, &ts_end);
        if (!rest) {
            i++;
            continue;
        }
        size_t e = i + 1;
        while (e < nl_ && !header_rest(L[e].text, NULL) && !prompt_line(L[e].text))
            e++;
        char *ts = ct_xstrndup(L[i].text + 1, (size_t)(ts_end - L[i].text - 1));
        int code;
        long m;
        if (ct_str_starts(rest, "exec ")) {
            /* command = rest of the header + following lines, minus the trailing " in <cwd>" */
            ct_buf cmd = CT_BUF_INIT;
            ct_buf_puts(&cmd, rest + 5);
            if (e > i + 1) {
                ct_buf_putc(&cmd, '\n');
                join_lines(&cmd, L, i + 1, e);
            }
            const char *in = NULL;
            for (const char *p = cmd.data; (p = strstr(p, " in /")) != NULL; p++)
                in = p;
            if (in && !strchr(in, '\n')) cmd.data[in - cmd.data] = '\0';
            if (t->n_steps >= MAX_STEPS) {
                limited = 1;
            } else {
                ct_step *s = ct_traj_add_step(t);
                char *inner = inner_command(cmd.data);
                s->tool = "exec";
                s->action = ct_traj_strdup(t, inner);
                s->kind = ct_fmt_kind_from_shell(inner);
                if (s->kind == CT_KIND_SUBMIT || s->kind == CT_KIND_CREATE ||
                    s->kind == CT_KIND_EDIT)
                    s->kind = CT_KIND_BASH;
                free(inner);
                s->timestamp = ct_traj_strdup(t, ts);
                if (thought.len) s->thought = ct_traj_strndup(t, thought.data, thought.len);
                ct_buf_clear(&thought);
                ct_fmt_set_src(t, &s->src, display, &li, L[i].start, L[e - 1].end);
                n_exec++;
            }
            ct_buf_free(&cmd);
        } else if ((m = result_marker(L, i, e, &code)) >= 0) {
            ct_step *s = NULL;
            for (size_t k = t->n_steps; k-- > 0;)
                if (!t->steps[k].observation) {
                    s = &t->steps[k];
                    break;
                }
            if (s) {
                ct_buf out = CT_BUF_INIT;
                join_lines(&out, L, (size_t)m + 1, e);
                s->observation = ct_traj_strndup(t, out.data ? out.data : "", out.len);
                s->has_exit_code = 1;
                s->exit_code = code;
                ct_fmt_set_src(t, &s->obs_src, display, &li, L[i].start, L[e - 1].end);
                ct_buf_free(&out);
            } else {
                unmatched++;
            }
        } else if (strcmp(rest, "thinking") == 0 || strcmp(rest, "codex") == 0) {
            ct_buf txt = CT_BUF_INIT;
            join_lines(&txt, L, i + 1, e);
            if (txt.len) {
                if (thought.len) ct_buf_putc(&thought, '\n');
                ct_buf_append(&thought, txt.data, txt.len);
                if (strcmp(rest, "codex") == 0) final_text = ct_traj_strndup(t, txt.data, txt.len);
            }
            ct_buf_free(&txt);
        } else if (ct_str_starts(rest, "tokens used:")) {
            tokens += strtoll(rest + 12, NULL, 10);
        } else if (ct_str_starts(rest, "User instructions:")) {
            if (!t->task) {
                ct_buf txt = CT_BUF_INIT;
                join_lines(&txt, L, i + 1, e);
                t->task = ct_traj_strndup(t, txt.data ? txt.data : "", txt.len);
                ct_buf_free(&txt);
            }
        } else if (ct_str_starts(rest, "OpenAI Codex v")) {
            const char *v = rest + 14;
            size_t vn = strcspn(v, " ");
            t->format_version = ct_traj_strndup(t, v, vn);
            for (size_t k = i + 1; k < e; k++) {
                if (ct_str_starts(L[k].text, "model: ") && !t->model)
                    t->model = ct_traj_strdup(t, L[k].text + 7);
                if (ct_str_starts(L[k].text, "workdir: "))
                    json_object_set_new(t->metadata, "cwd",
                                        json_string(ct_traj_strdup(t, L[k].text + 9)));
            }
        }
        free(ts);
        i = e;
    }
    if (tokens) json_object_set_new(t->metadata, "tokens_used", json_integer(tokens));
    if (final_text) json_object_set_new(t->metadata, "final_answer", json_string(final_text));
    if (limited) ct_traj_warn(t, "stopped after %d steps (limit)", MAX_STEPS);
    if (unmatched)
        ct_traj_warn(t, "%d command result%s match no exec line", unmatched,
                     unmatched == 1 ? "" : "s");
    size_t missing = 0;
    for (size_t k = 0; k < t->n_steps; k++)
        if (!t->steps[k].observation) missing++;
    if (missing)
        ct_traj_warn(t, "%zu command%s no result (killed?)", missing,
                     missing == 1 ? " has" : "s have");
    if (n_exec == 0) ct_traj_warn(t, "codex ran no command: zero steps");
    ct_buf_free(&thought);
    ct_lines_free(&li);
    for (size_t k = 0; k < nl_; k++)
        free(L[k].text);
    free(L);
    ct_buf_free(&raw);
    free(display);
    return CT_OK;
}

static int file_has(ct_fs *fs, const char *dir, const char *name, const char *needle, size_t head)
{
    char *p = ct_path_join(dir, name);
    ct_buf b = CT_BUF_INIT;
    int yes = ct_fs_is_file(fs, p) && ct_fmt_head(fs, p, &b, head) == 0 && b.data &&
              ct_memstr(b.data, b.len, needle);
    ct_buf_free(&b);
    free(p);
    return yes;
}

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    if (is_dir) {
        char *log = ct_path_join(rel, "sessions/agent.log");
        int has_log = ct_fs_is_file(fs, log);
        free(log);
        if (!has_log) return CT_DETECT_NO;
        return file_has(fs, rel, "commands.txt", "codex exec", 65536) ? CT_DETECT_SURE
                                                                      : CT_DETECT_NO;
    }
    if (!ct_str_ends(rel, ".log")) return CT_DETECT_NO;
    ct_buf b = CT_BUF_INIT;
    int yes =
        ct_fmt_head(fs, rel, &b, 65536) == 0 && b.data &&
        (ct_memstr(b.data, b.len, "OpenAI Codex v") || ct_memstr(b.data, b.len, "codex exec "));
    ct_buf_free(&b);
    if (!yes && ct_str_ends(rel, "agent.log")) {
        char *parent = ct_path_parent(rel);
        char *trial = !*parent ? ct_xstrdup("..") : ct_path_parent(parent);
        yes = file_has(fs, trial, "commands.txt", "codex exec", 65536);
        free(parent);
        free(trial);
    }
    return yes ? CT_DETECT_LIKELY : CT_DETECT_NO;
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    char *display = ct_xstrdup(ct_fs_display(fs, rel));
    char *log, *trial;
    if (is_dir) {
        log = ct_path_join(rel, "sessions/agent.log");
        trial = ct_xstrdup(rel);
    } else {
        log = ct_xstrdup(rel);
        char *parent = ct_path_parent(rel);
        trial = !*parent ? ct_xstrdup("..") : ct_path_parent(parent);
        free(parent);
    }
    ct_trajectory *t = ct_traj_new("codex", display);
    t->agent = "Codex CLI";
    if (ct_fmt_is_tb_trial(fs, trial)) ct_fmt_tb_trial_fill(fs, trial, t);
    int rc = parse_log(fs, log, t, err);
    if (rc == CT_OK)
        ct_traj_list_push(out, t);
    else
        ct_traj_free(t);
    free(log);
    free(trial);
    free(display);
    return rc;
}

const ct_loader ct_loader_codex = {
    .name = "codex",
    .agent = "Codex CLI",
    .summary = "OpenAI codex CLI exec log (sessions/agent.log in a terminal-bench trial)",
    .detection =
        "tb trial whose commands.txt runs `codex exec`; a .log with `OpenAI Codex v` in its head",
    .detect = detect,
    .load = load,
};

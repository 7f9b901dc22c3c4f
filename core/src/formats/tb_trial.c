/* formats/tb_trial.c — the terminal-bench v1 trial fallback.
 *
 * A trial dir (results.json + commands.txt [+ sessions/]) that no specific loader claims: an
 * orchestrator that acted outside the recorded pane, an agent that was never installed, a trial
 * without sessions/, a parse_error trial with only results.json + commands.txt. Each loads as far
 * as the data goes and says WHY it has no steps; none is "unknown format".
 *
 * commands.txt holds one Python list literal per line: the tmux send-keys calls of the harness
 * (and of agents that type into tmux themselves). When no agent was installed into the
 * container, the keystrokes sent between the two `asciinema rec` commands are the agent's own
 * commands and become steps (no observation). When an agent CLI was installed and launched,
 * commands.txt only shows that launch line, which is not a step. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 100000
#define MAX_CAST_SNIFF (16LL * 1024 * 1024)

/* ---- Python literal lists ------------------------------------------------------------------- */

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static void put_utf8(ct_buf *b, unsigned long cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    char u[4];
    if (cp < 0x80) {
        ct_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        ct_buf_append(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        ct_buf_append(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        ct_buf_append(b, u, 4);
    }
}

/* One Python string literal at *p ('...' or "..."); appends its value to b. 0 on success. */
static int py_string(const char **pp, const char *end, ct_buf *b)
{
    const char *p = *pp;
    char q = *p++;
    while (p < end && *p != q) {
        if (*p != '\\') {
            ct_buf_putc(b, *p++);
            continue;
        }
        if (++p >= end) return -1;
        char c = *p++;
        switch (c) {
        case 'n':
            ct_buf_putc(b, '\n');
            break;
        case 't':
            ct_buf_putc(b, '\t');
            break;
        case 'r':
            ct_buf_putc(b, '\r');
            break;
        case '0':
            ct_buf_putc(b, '\0');
            break;
        case 'a':
            ct_buf_putc(b, '\a');
            break;
        case 'b':
            ct_buf_putc(b, '\b');
            break;
        case 'f':
            ct_buf_putc(b, '\f');
            break;
        case 'v':
            ct_buf_putc(b, '\v');
            break;
        case '\n':
            break;
        case 'x':
        case 'u':
        case 'U': {
            int nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            unsigned long cp = 0;
            for (int i = 0; i < nd; i++) {
                if (p >= end || hexval((unsigned char)*p) < 0) return -1;
                cp = cp * 16 + (unsigned long)hexval((unsigned char)*p++);
            }
            put_utf8(b, cp);
            break;
        }
        default:
            if (c != '\\' && c != '\'' && c != '"') ct_buf_putc(b, '\\');
            ct_buf_putc(b, c);
        }
    }
    if (p >= end) return -1;
    *pp = p + 1;
    return 0;
}

typedef struct {
    char **items;
    size_t n;
} py_list;

static void py_list_free(py_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Parse `['a', "b", ...]`. Returns 0 on success. */
static int py_list_parse(const char *p, const char *end, py_list *out)
{
    out->items = NULL;
    out->n = 0;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || *p++ != '[') return -1;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p >= end) goto fail;
        if (*p == ']') return 0;
        if (*p != '\'' && *p != '"') goto fail;
        ct_buf b = CT_BUF_INIT;
        if (py_string(&p, end, &b) != 0) {
            ct_buf_free(&b);
            goto fail;
        }
        out->items = ct_xrealloc(out->items, (out->n + 1) * sizeof *out->items);
        out->items[out->n++] = ct_buf_steal(&b);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end && *p == ',')
            p++;
        else if (p < end && *p == ']')
            return 0;
        else
            goto fail;
    }
fail:
    py_list_free(out);
    return -1;
}

/* ---- commands.txt --------------------------------------------------------------------------- */

typedef struct {
    py_list keys;
    int line;
    size_t byte_start, byte_end;
} sent;

static int is_key_name(const char *k)
{
    static const char *const names[] = {"Enter", "C-c",  "C-d",  "C-z",    "C-l",  "C-a",
                                        "C-e",   "C-u",  "C-k",  "Escape", "Tab",  "BSpace",
                                        "Up",    "Down", "Left", "Right",  "Space"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(k, names[i]) == 0) return 1;
    return 0;
}

/* The text a send-keys call types: literal strings as they are, Enter as a newline, other key
 * names as <Key>. Trailing newlines dropped. */
static char *typed_text(const py_list *l)
{
    ct_buf b = CT_BUF_INIT;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i], "Enter") == 0)
            ct_buf_putc(&b, '\n');
        else if (is_key_name(l->items[i]))
            ct_buf_printf(&b, "<%s>", l->items[i]);
        else
            ct_buf_puts(&b, l->items[i]);
    }
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
        b.data[--b.len] = '\0';
    return ct_buf_steal(&b);
}

static int harness_command(const char *cmd)
{
    while (*cmd == ' ')
        cmd++;
    return ct_str_starts(cmd, "asciinema rec") || strcmp(cmd, "clear") == 0 ||
           ct_str_starts(cmd, "source /installed-agent") || ct_str_starts(cmd, "bash /tests/") ||
           strcmp(cmd, "bash") == 0 || *cmd == '\0' || strcmp(cmd, "<C-d>") == 0;
}

static const struct {
    const char *cli;
    const char *agent;
} launchers[] = {
    {"claude", "Claude Code"},
    {"codex", "Codex CLI"},
    {"mini", "mini-SWE-agent"},
    {"openhands", "OpenHands"},
    {"aider", "Aider"},
    {"goose", "Goose"},
    {"gemini", "Gemini CLI"},
    {"opencode", "OpenCode"},
    {"cursor-agent", "Cursor Agent"},
    {"qwen", "Qwen Code"},
    {"python -m openhands", "OpenHands"},
};

/* The agent an installed-agent launch line starts ("claude --verbose ..." → Claude Code). */
static const char *launcher_agent(const char *cmd, const char **cli)
{
    while (*cmd == ' ')
        cmd++;
    for (size_t i = 0; i < sizeof launchers / sizeof launchers[0]; i++) {
        size_t n = strlen(launchers[i].cli);
        if (strncmp(cmd, launchers[i].cli, n) == 0 &&
            (cmd[n] == ' ' || cmd[n] == '\0' || cmd[n] == '\n')) {
            if (cli) *cli = launchers[i].cli;
            return launchers[i].agent;
        }
    }
    return NULL;
}

/* ---- loader --------------------------------------------------------------------------------- */

static int has(ct_fs *fs, const char *dir, const char *name, int want_dir)
{
    char *p = ct_path_join(dir, name);
    int r = want_dir ? ct_fs_is_dir(fs, p) : ct_fs_is_file(fs, p);
    free(p);
    return r;
}

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    if (!is_dir) return CT_DETECT_NO;
    int has_cmds = has(fs, rel, "commands.txt", 0);
    if (!has_cmds && !has(fs, rel, "sessions", 1)) return CT_DETECT_NO;
    /* Below every specific loader (they score 60–90), above "nothing". */
    if (has(fs, rel, "results.json", 0))
        return ct_fmt_is_tb_trial(fs, rel) ? CT_DETECT_WEAK + 10 : CT_DETECT_NO;
    /* No results.json (the harness died): commands.txt of send-keys lists still marks a trial. */
    if (!has_cmds) return CT_DETECT_NO;
    char *p = ct_path_join(rel, "commands.txt");
    ct_buf b = CT_BUF_INIT;
    int yes =
        ct_fmt_head(fs, p, &b, 4096) == 0 && b.data && ct_str_starts(b.data, "['asciinema rec");
    ct_buf_free(&b);
    free(p);
    return yes ? CT_DETECT_WEAK : CT_DETECT_NO;
}

typedef struct {
    sent *v;
    size_t n;
    int bad;
    int first_bad;
} sent_list;

static void sent_list_free(sent_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        py_list_free(&l->v[i].keys);
    free(l->v);
}

static void read_commands(const char *data, size_t len, sent_list *out)
{
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        const char *ls = data + pos;
        const char *nl = memchr(ls, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - ls) : len - pos;
        size_t start = pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        while (n && (ls[n - 1] == '\r' || ls[n - 1] == ' '))
            n--;
        if (!n) continue;
        py_list l;
        if (py_list_parse(ls, ls + n, &l) != 0) {
            if (!out->bad) out->first_bad = lineno;
            out->bad++;
            continue;
        }
        out->v = ct_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = (sent){l, lineno, start, start + n};
    }
}

/* The agent's terminal output, cleaned (capped: only used to find the failure reason). */
static int read_cast_text(ct_fs *fs, const char *trial, ct_buf *clean)
{
    char *p = ct_path_join(trial, "sessions/agent.cast");
    long long size = 0;
    int st = ct_fs_stat(fs, p, &size);
    ct_buf raw = CT_BUF_INIT;
    int ok = st == 0 &&
             ct_fs_read(fs, p, &raw, size > MAX_CAST_SNIFF ? 0 : MAX_CAST_SNIFF, NULL) == CT_OK;
    if (ok) {
        ct_ansi a = {0};
        size_t pos = 0;
        while (pos < raw.len) {
            const char *ls = raw.data + pos;
            const char *nl = memchr(ls, '\n', raw.len - pos);
            size_t n = nl ? (size_t)(nl - ls) : raw.len - pos;
            pos += n + (nl ? 1 : 0);
            json_t *v = json_loadb(ls, n, JSON_ALLOW_NUL, NULL);
            json_t *d = json_array_get(v, 2);
            if (json_is_string(d) && json_is_string(json_array_get(v, 1)) &&
                strcmp(json_string_value(json_array_get(v, 1)), "o") == 0)
                ct_fmt_ansi_feed(&a, clean, json_string_value(d), json_string_length(d));
            json_decref(v);
        }
    }
    ct_buf_free(&raw);
    free(p);
    return ok;
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    if (!is_dir)
        return ct_error_setf(err, CT_EFORMAT, ct_fs_display(fs, rel), -1, 0,
                             "the terminal-bench trial loader reads a trial directory "
                             "(results.json + commands.txt)");
    ct_trajectory *t = ct_traj_new("terminal-bench-trial", ct_fs_display(fs, rel));
    ct_fmt_tb_trial_fill(fs, rel, t);
    const char *failure = ct_fmt_str(t->metadata, "failure_mode");

    char *cpath = ct_path_join(rel, "commands.txt");
    char *cdisplay = ct_xstrdup(ct_fs_display(fs, cpath));
    ct_buf craw = CT_BUF_INIT;
    sent_list cmds = {0};
    int have_cmds = ct_fs_is_file(fs, cpath) && ct_fs_read(fs, cpath, &craw, 0, NULL) == CT_OK &&
                    !ct_is_lfs_pointer(craw.data, craw.len);
    if (have_cmds) read_commands(craw.data, craw.len, &cmds);
    if (cmds.bad)
        ct_traj_warn(t, "%s: %d line%s not a Python list literal (first: line %d)", cdisplay,
                     cmds.bad, cmds.bad == 1 ? " is" : "s are", cmds.first_bad);

    /* Agent phase: between `asciinema rec ... agent.cast` and `asciinema rec ... tests.cast`. */
    size_t a0 = 0, a1 = cmds.n;
    for (size_t i = 0; i < cmds.n; i++) {
        char *txt = typed_text(&cmds.v[i].keys);
        if (ct_str_starts(txt, "asciinema rec") && strstr(txt, "agent.cast"))
            a0 = i + 1;
        else if (ct_str_starts(txt, "asciinema rec") && strstr(txt, "tests.cast") && i >= a0)
            a1 = i;
        free(txt);
        if (a1 != cmds.n) break;
    }
    int installed = 0;
    const char *agent = NULL, *cli = NULL;
    size_t n_own = 0;
    for (size_t i = a0; i < a1; i++) {
        char *txt = typed_text(&cmds.v[i].keys);
        if (ct_str_starts(txt, "source /installed-agent"))
            installed = 1;
        else if (!harness_command(txt) && !agent)
            agent = launcher_agent(txt, &cli);
        if (!harness_command(txt)) n_own++;
        free(txt);
    }
    if (agent) t->agent = agent;
    if (cli) json_object_set_new(t->metadata, "agent_cli", json_string(cli));

    int has_sessions = has(fs, rel, "sessions", 1);
    ct_buf cast = CT_BUF_INIT;
    int have_cast = has_sessions && read_cast_text(fs, rel, &cast);
    char nf[128];
    snprintf(nf, sizeof nf, "%s: command not found", cli ? cli : "\x01");

    if (!installed && !agent && n_own > 0) {
        /* The agent typed into tmux itself: its keystrokes are its commands. */
        ct_lines li;
        ct_lines_build(&li, craw.data, craw.len);
        for (size_t i = a0; i < a1 && t->n_steps < MAX_STEPS; i++) {
            char *txt = typed_text(&cmds.v[i].keys);
            if (!harness_command(txt)) {
                ct_step *s = ct_traj_add_step(t);
                s->tool = "tmux";
                s->action = ct_traj_strdup(t, txt);
                s->kind = ct_fmt_kind_from_shell(txt);
                if (s->kind == CT_KIND_SUBMIT || s->kind == CT_KIND_CREATE ||
                    s->kind == CT_KIND_EDIT)
                    s->kind = CT_KIND_BASH;
                ct_fmt_set_src(t, &s->src, cdisplay, &li, cmds.v[i].byte_start, cmds.v[i].byte_end);
            }
            free(txt);
        }
        ct_lines_free(&li);
        ct_traj_warn(
            t, "steps are the keystrokes the agent sent (commands.txt); outputs are not recorded "
               "per command, so steps have no observation");
    } else if (failure && strcmp(failure, "agent_installation_failed") == 0) {
        t->exit_status = "agent_not_installed";
        ct_traj_warn(t, "agent not installed (failure_mode agent_installation_failed): the agent "
                        "never ran, zero steps");
    } else if (have_cast && cli && ct_memstr(cast.data, cast.len, nf)) {
        t->exit_status = "agent_not_installed";
        ct_traj_warn(t,
                     "agent not installed: the terminal shows `%s`, so %s never ran (zero steps)",
                     nf, agent ? agent : cli);
    } else if (have_cast && ct_memstr(cast.data, cast.len, "\nINSTALL_FAIL_STATUS\n")) {
        t->exit_status = "agent_not_installed";
        ct_traj_warn(
            t, "agent not installed: the install script failed (INSTALL_FAIL_STATUS), zero steps");
    } else if (!has_sessions && have_cmds && !has(fs, rel, "panes", 1) &&
               !has(fs, rel, "agent-logs", 1)) {
        ct_traj_warn(t,
                     "the trial has only results.json and commands.txt%s%s%s: %s was launched but "
                     "nothing it did "
                     "was recorded, zero steps",
                     failure ? " (failure_mode " : "", failure ? failure : "", failure ? ")" : "",
                     agent ? agent : "the agent");
    } else if (!has_sessions && installed) {
        ct_traj_warn(
            t,
            "no sessions/ directory: the %s run was not recorded and commands.txt only shows the "
            "command that launched it, so no steps can be recovered",
            agent ? agent : "agent");
    } else if (!has_sessions && !have_cmds) {
        ct_traj_warn(t,
                     "the trial has only results.json: no recording and no commands, zero steps");
    } else if (!has_sessions) {
        ct_traj_warn(t,
                     "the trial has only results.json and commands.txt%s%s%s: no recording of the "
                     "agent, zero steps",
                     failure ? " (failure_mode " : "", failure ? failure : "", failure ? ")" : "");
    } else if (n_own == 0) {
        ct_traj_warn(t, "the agent acted outside the recorded terminal: agent.cast and "
                        "commands.txt hold only the "
                        "harness's own commands, so there are zero steps");
    } else if (have_cast && ct_memstr(cast.data, cast.len, "openhands:INFO")) {
        ct_traj_warn(t, "OpenHands ran under the terminal-bench harness: the recording holds only "
                        "its INFO log, "
                        "no actions or observations can be recovered (zero steps)");
    } else {
        ct_traj_warn(
            t,
            "%s ran as one command in the recorded terminal, in an output format no loader splits "
            "into steps: zero steps",
            agent ? agent : "the agent");
    }
    if (failure && strcmp(failure, "unset") != 0 && !t->exit_status)
        t->exit_status = ct_traj_strdup(t, failure);
    if (!have_cmds && !has(fs, rel, "results.json", 0)) {
        ct_buf_free(&cast);
        sent_list_free(&cmds);
        ct_buf_free(&craw);
        free(cpath);
        int rc = ct_error_setf(err, CT_EFORMAT, cdisplay, -1, 0,
                               "not a terminal-bench trial (no commands.txt)");
        free(cdisplay);
        ct_traj_free(t);
        return rc;
    }
    ct_buf_free(&cast);
    sent_list_free(&cmds);
    ct_buf_free(&craw);
    free(cpath);
    free(cdisplay);
    ct_traj_list_push(out, t);
    return CT_OK;
}

const ct_loader ct_loader_tb_trial = {
    .name = "terminal-bench-trial",
    .agent = "terminal-bench",
    .summary = "any terminal-bench v1 trial no specific loader claims: keystrokes from "
               "commands.txt, or zero "
               "steps with the reason (not installed, no recording, acted outside the pane, ...)",
    .detection =
        "directory with results.json (is_resolved) and commands.txt or sessions/; lowest score",
    .detect = detect,
    .load = load,
};

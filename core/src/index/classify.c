/* classify.c — what a step does, by meaning: the step kind and its file touches first, then a
 * real reading of shell commands (quotes, pipelines, &&/||/;, redirections, heredocs, sudo/env/
 * timeout prefixes, bash -c, find -exec, xargs). Each simple command gets a fine kind; the
 * command line gets the strongest of them (submit > install > edit > create > vcs > fs > build
 * > test > run > explore > think > other). */
#include "ct/index.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_MAX_BYTES (256u * 1024u) /* longer command lines: only the first part is read */
#define MAX_WORDS 64
#define MAX_DEPTH 4 /* bash -c / find -exec / xargs nesting */

static const char *const fine_names[CT_FINE__COUNT] = {
    "explore", "edit",    "create", "fs",     "run",   "test",
    "build",   "install", "vcs",    "submit", "think", "other",
};

const char *ct_fine_kind_name(ct_fine_kind k)
{
    return (unsigned)k < CT_FINE__COUNT ? fine_names[k] : "other";
}

const char *ct_step_class_name(ct_step_class c)
{
    return c == CT_CLASS_CHANGE ? "change" : "explore";
}

static int fine_rank(ct_fine_kind k)
{
    switch (k) {
    case CT_FINE_SUBMIT:
        return 11;
    case CT_FINE_INSTALL:
        return 10;
    case CT_FINE_EDIT:
        return 9;
    case CT_FINE_CREATE:
        return 8;
    case CT_FINE_VCS:
        return 7;
    case CT_FINE_FS:
        return 6;
    case CT_FINE_BUILD:
        return 5;
    case CT_FINE_TEST:
        return 4;
    case CT_FINE_RUN:
        return 3;
    case CT_FINE_EXPLORE:
        return 2;
    case CT_FINE_THINK:
        return 1;
    default:
        return 0;
    }
}

static ct_fine_kind stronger(ct_fine_kind a, ct_fine_kind b)
{
    return fine_rank(b) > fine_rank(a) ? b : a;
}

static ct_step_class class_of(ct_fine_kind k)
{
    switch (k) {
    case CT_FINE_EDIT:
    case CT_FINE_CREATE:
    case CT_FINE_FS:
    case CT_FINE_INSTALL:
    case CT_FINE_VCS:
    case CT_FINE_BUILD:
    case CT_FINE_SUBMIT:
        return CT_CLASS_CHANGE;
    default:
        return CT_CLASS_EXPLORE;
    }
}

/* ---- lexer: one simple command at a time ---- */

typedef struct scmd {
    char *w[MAX_WORDS];
    int nw;
    int out_create;      /* `> file` to a real file */
    int out_append;      /* `>> file` */
    int out_scratch;     /* only redirected into /tmp */
    const char *heredoc; /* body of the first heredoc (points into the command text) */
    size_t heredoc_len;
} scmd;

typedef struct lexer {
    const char *s;
    size_t n, i;
    char delim[4][64]; /* pending heredoc delimiters */
    int strip_tabs[4];
    int n_delim;
    scmd *owner[4];
} lexer;

static void scmd_free(scmd *c)
{
    for (int i = 0; i < c->nw; i++)
        free(c->w[i]);
    memset(c, 0, sizeof *c);
}

static int is_op_char(char ch)
{
    return ch == '|' || ch == '&' || ch == ';' || ch == '(' || ch == ')' || ch == '<' ||
           ch == '>' || ch == '\n';
}

/* Read one word at lx->i into b (quotes removed). */
static void read_word(lexer *lx, ct_buf *b)
{
    const char *s = lx->s;
    while (lx->i < lx->n) {
        char ch = s[lx->i];
        if (ch == ' ' || ch == '\t' || ch == '\r' || is_op_char(ch)) break;
        if (ch == '\\' && lx->i + 1 < lx->n) {
            if (s[lx->i + 1] != '\n') ct_buf_putc(b, s[lx->i + 1]);
            lx->i += 2;
            continue;
        }
        if (ch == '\'') {
            lx->i++;
            while (lx->i < lx->n && s[lx->i] != '\'')
                ct_buf_putc(b, s[lx->i++]);
            lx->i++;
            continue;
        }
        if (ch == '"') {
            lx->i++;
            while (lx->i < lx->n && s[lx->i] != '"') {
                if (s[lx->i] == '\\' && lx->i + 1 < lx->n) {
                    char nx = s[lx->i + 1];
                    if (nx == '"' || nx == '\\' || nx == '$' || nx == '`') {
                        ct_buf_putc(b, nx);
                        lx->i += 2;
                        continue;
                    }
                }
                ct_buf_putc(b, s[lx->i++]);
            }
            lx->i++;
            continue;
        }
        if (ch == '$' && lx->i + 1 < lx->n && s[lx->i + 1] == '(') {
            int depth = 0;
            while (lx->i < lx->n) {
                char c2 = s[lx->i];
                ct_buf_putc(b, c2);
                lx->i++;
                if (c2 == '(')
                    depth++;
                else if (c2 == ')' && --depth == 0)
                    break;
            }
            continue;
        }
        if (ch == '`') {
            ct_buf_putc(b, ch);
            lx->i++;
            while (lx->i < lx->n && s[lx->i] != '`')
                ct_buf_putc(b, s[lx->i++]);
            if (lx->i < lx->n) ct_buf_putc(b, s[lx->i++]);
            continue;
        }
        ct_buf_putc(b, ch);
        lx->i++;
    }
}

static void skip_blanks(lexer *lx)
{
    while (lx->i < lx->n) {
        char ch = lx->s[lx->i];
        if (ch == ' ' || ch == '\t' || ch == '\r')
            lx->i++;
        else if (ch == '\\' && lx->i + 1 < lx->n && lx->s[lx->i + 1] == '\n')
            lx->i += 2;
        else
            break;
    }
}

static int is_scratch_target(const char *t)
{
    return ct_str_starts(t, "/tmp/") || ct_str_starts(t, "/var/tmp/");
}

static int is_null_target(const char *t)
{
    return !*t || ct_str_starts(t, "/dev/") || t[0] == '&' || t[0] == '-';
}

/* After a newline: consume the bodies of pending heredocs. */
static void consume_heredocs(lexer *lx)
{
    for (int k = 0; k < lx->n_delim; k++) {
        size_t body = lx->i;
        size_t end = lx->n;
        while (lx->i < lx->n) {
            size_t ls = lx->i;
            const char *nl = memchr(lx->s + ls, '\n', lx->n - ls);
            size_t le = nl ? (size_t)(nl - lx->s) : lx->n;
            size_t a = ls, z = le;
            while (a < z && (lx->s[a] == ' ' || lx->s[a] == '\t'))
                a++;
            while (z > a && (lx->s[z - 1] == ' ' || lx->s[z - 1] == '\t' || lx->s[z - 1] == '\r'))
                z--;
            lx->i = nl ? le + 1 : lx->n;
            if (z - a == strlen(lx->delim[k]) && !memcmp(lx->s + a, lx->delim[k], z - a)) {
                end = ls;
                break;
            }
        }
        if (lx->owner[k] && !lx->owner[k]->heredoc) {
            lx->owner[k]->heredoc = lx->s + body;
            lx->owner[k]->heredoc_len = (end > body ? end : body) - body;
        }
    }
    lx->n_delim = 0;
}

/* Parse the next simple command into c. Returns 0 at the end of input, 1 otherwise. */
static int next_command(lexer *lx, scmd *c)
{
    memset(c, 0, sizeof *c);
    ct_buf b = CT_BUF_INIT;
    int got = 0;
    while (lx->i < lx->n) {
        skip_blanks(lx);
        if (lx->i >= lx->n) break;
        const char *s = lx->s;
        char ch = s[lx->i];
        if (ch == '#') { /* comment to the end of the line */
            while (lx->i < lx->n && s[lx->i] != '\n')
                lx->i++;
            continue;
        }
        if (ch == '\n') {
            lx->i++;
            if (lx->n_delim) consume_heredocs(lx);
            if (got || c->nw) break;
            continue;
        }
        if (ch == ';' || ch == '|' || ch == '&' || ch == '(' || ch == ')') {
            if (ch == '&' && lx->i + 1 < lx->n && s[lx->i + 1] == '>') goto redirect;
            lx->i++;
            if (lx->i < lx->n && (s[lx->i] == '&' || s[lx->i] == '|') && ch != ';' && ch != '(' &&
                ch != ')')
                lx->i++;
            if (ch == ';' && lx->i < lx->n && s[lx->i] == ';') lx->i++;
            if (got || c->nw) break;
            continue;
        }
        /* [n]> [n]>> < << <<- <<< &> >& >| */
        if (ch == '<' || ch == '>' ||
            (isdigit((unsigned char)ch) && lx->i + 1 < lx->n &&
             (s[lx->i + 1] == '>' || s[lx->i + 1] == '<'))) {
        redirect:;
            int fd_src = -1;
            if (isdigit((unsigned char)ch)) fd_src = ch - '0', lx->i++;
            int amp = 0;
            if (s[lx->i] == '&') amp = 1, lx->i++;
            char op = s[lx->i++];
            int dbl = 0, trip = 0, dash = 0, dup = 0;
            if (lx->i < lx->n && s[lx->i] == op) {
                dbl = 1;
                lx->i++;
                if (op == '<' && lx->i < lx->n && s[lx->i] == '<')
                    trip = 1, lx->i++;
                else if (op == '<' && lx->i < lx->n && s[lx->i] == '-')
                    dash = 1, lx->i++;
            }
            if (lx->i < lx->n && s[lx->i] == '&') dup = 1, lx->i++;
            if (lx->i < lx->n && s[lx->i] == '|') lx->i++;
            skip_blanks(lx);
            ct_buf_clear(&b);
            read_word(lx, &b);
            const char *target = b.data ? b.data : "";
            got = 1;
            if (op == '<' && dbl && !trip) {
                if (lx->n_delim < 4 && b.len < sizeof lx->delim[0]) {
                    memcpy(lx->delim[lx->n_delim], target, b.len + 1);
                    lx->strip_tabs[lx->n_delim] = dash;
                    lx->owner[lx->n_delim] = c;
                    lx->n_delim++;
                }
            } else if (op == '>' && !dup && !(amp && isdigit((unsigned char)target[0])) &&
                       !is_null_target(target)) {
                (void)fd_src;
                if (is_scratch_target(target))
                    c->out_scratch = 1;
                else if (dbl)
                    c->out_append = 1;
                else
                    c->out_create = 1;
            }
            continue;
        }
        ct_buf_clear(&b);
        read_word(lx, &b);
        got = 1;
        if (c->nw < MAX_WORDS) c->w[c->nw++] = ct_xstrdup(b.data ? b.data : "");
    }
    ct_buf_free(&b);
    /* heredocs declared on the last line with no body consumed yet */
    if (lx->n_delim && lx->i >= lx->n) lx->n_delim = 0;
    return got || c->nw;
}

/* ---- meaning of one simple command ---- */

static ct_fine_kind classify_line(const char *cmd, size_t n, int depth);
static ct_fine_kind classify_words(char **w, int nw, const scmd *c, int depth);

static int eq(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

static int any_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (eq(s, *list)) return 1;
    return 0;
}

static const char *base_name(const char *p)
{
    const char *sl = strrchr(p, '/');
    return sl ? sl + 1 : p;
}

static int is_assignment(const char *w)
{
    if (!(isalpha((unsigned char)w[0]) || w[0] == '_')) return 0;
    for (const char *p = w; *p; p++) {
        if (*p == '=') return 1;
        if (!(isalnum((unsigned char)*p) || *p == '_')) return 0;
    }
    return 0;
}

static int is_python(const char *name)
{
    return ct_str_starts(name, "python") || eq(name, "pypy") || eq(name, "pypy3");
}

/* A script or target whose name says it runs tests. */
static int testish(const char *p)
{
    const char *b = base_name(p);
    return ct_str_starts(b, "test") || strstr(b, "_test.") || strstr(b, "runtests") ||
           strstr(p, "tests/") || strstr(b, "pytest") || strstr(b, "check") || strstr(b, "spec");
}

/* Python source that writes files or removes them. */
static int python_writes(const char *code, size_t n)
{
    static const char *const pats[] = {
        ".write(",    "write_text(", "write_bytes(", "os.remove(",   "os.unlink(",
        "shutil.",    "os.rename(",  "os.replace(",  "os.makedirs(", "os.mkdir(",
        "json.dump(", ".unlink(",    "os.rmdir(",    "open(",        NULL,
    };
    for (int k = 0; pats[k]; k++) {
        const char *hit = ct_memstr(code, n, pats[k]);
        if (!hit) continue;
        if (strcmp(pats[k], "open(") != 0) return 1;
        /* open(...) only with a write/append mode */
        while (hit) {
            const char *end = hit + 5;
            size_t rest = n - (size_t)(end - code);
            const char *close = memchr(end, ')', rest);
            size_t span = close ? (size_t)(close - end) : (rest < 200 ? rest : 200);
            if (ct_memstr(end, span, "'w") || ct_memstr(end, span, "\"w") ||
                ct_memstr(end, span, "'a") || ct_memstr(end, span, "\"a") ||
                ct_memstr(end, span, "'x") || ct_memstr(end, span, "\"x") ||
                ct_memstr(end, span, "'r+") || ct_memstr(end, span, "\"r+"))
                return 1;
            hit = ct_memstr(end, rest, "open(");
        }
    }
    return 0;
}

static ct_fine_kind classify_python(char **w, int nw, const scmd *c, int depth)
{
    for (int i = 1; i < nw; i++) {
        const char *a = w[i];
        if (eq(a, "-c")) {
            if (i + 1 < nw && python_writes(w[i + 1], strlen(w[i + 1]))) return CT_FINE_EDIT;
            return CT_FINE_RUN;
        }
        if (eq(a, "-m")) {
            const char *mod = i + 1 < nw ? w[i + 1] : "";
            if (eq(mod, "pytest") || eq(mod, "unittest") || eq(mod, "nose") || eq(mod, "tox"))
                return CT_FINE_TEST;
            if (eq(mod, "pip")) {
                static const char *const inst[] = {"install", "uninstall", "download", NULL};
                for (int k = i + 2; k < nw; k++)
                    if (any_of(w[k], inst)) return CT_FINE_INSTALL;
                return CT_FINE_EXPLORE;
            }
            if (eq(mod, "venv") || eq(mod, "virtualenv") || eq(mod, "ensurepip"))
                return CT_FINE_INSTALL;
            if (eq(mod, "py_compile") || eq(mod, "compileall") || eq(mod, "json.tool") ||
                eq(mod, "pydoc") || eq(mod, "pyflakes") || eq(mod, "flake8") || eq(mod, "mypy") ||
                eq(mod, "pylint"))
                return CT_FINE_TEST;
            if (eq(mod, "black") || eq(mod, "isort") || eq(mod, "autopep8")) return CT_FINE_EDIT;
            return CT_FINE_RUN;
        }
        if (a[0] == '-') continue;
        /* a script */
        if (eq(base_name(a), "setup.py")) {
            for (int k = i + 1; k < nw; k++) {
                if (eq(w[k], "install") || eq(w[k], "develop")) return CT_FINE_INSTALL;
                if (ct_str_starts(w[k], "build")) return CT_FINE_BUILD;
                if (eq(w[k], "test")) return CT_FINE_TEST;
            }
            return CT_FINE_RUN;
        }
        if (eq(base_name(a), "manage.py") && i + 1 < nw && eq(w[i + 1], "test"))
            return CT_FINE_TEST;
        if (eq(a, "-")) break; /* code from stdin */
        return testish(a) ? CT_FINE_TEST : CT_FINE_RUN;
    }
    /* code from stdin: a heredoc */
    if (c && c->heredoc && python_writes(c->heredoc, c->heredoc_len)) return CT_FINE_EDIT;
    (void)depth;
    return CT_FINE_RUN;
}

static const char *const explore_cmds[] = {
    "ls",       "ll",        "cat",     "head",        "tail",      "grep",       "egrep",
    "fgrep",    "rg",        "ag",      "ack",         "wc",        "diff",       "less",
    "more",     "pwd",       "which",   "type",        "file",      "stat",       "du",
    "df",       "ps",        "tree",    "echo",        "printf",    "nl",         "sort",
    "uniq",     "cut",       "jq",      "yq",          "xxd",       "od",         "hexdump",
    "printenv", "whoami",    "id",      "uname",       "date",      "basename",   "dirname",
    "realpath", "readlink",  "test",    "[",           "[[",        "locate",     "man",
    "help",     "column",    "tr",      "strings",     "cmp",       "sha256sum",  "md5sum",
    "sha1sum",  "lsof",      "netstat", "ss",          "top",       "free",       "nproc",
    "hostname", "apt-cache", "dpkg",    "dpkg-query",  "whereis",   "fd",         "fdfind",
    "bat",      "view",      "comm",    "paste",       "fold",      "expand",     "rev",
    "tac",      "seq",       "zcat",    "zgrep",       "lscpu",     "env",        "awk",
    "gawk",     "mawk",      "sed",     "find",        "pip-show",  "command",    "ldd",
    "nm",       "objdump",   "readelf", "getent",      "ping",      "nslookup",   "dig",
    "host",     "curl",      "true",    "false",       ":",         "history",    "uptime",
    "groups",   "xdg-open",  "tput",    "lsb_release", "systemctl", "journalctl", "pgrep",
    "time",     "watch",     NULL,
};

static const char *const other_cmds[] = {
    "cd",      "pushd", "popd",  "export",  "source", ".",        "set",    "unset", "alias",
    "sleep",   "clear", "exit",  "wait",    "kill",   "pkill",    "read",   "trap",  "ulimit",
    "umask",   "shopt", "reset", "tmux",    "screen", "C-c",      "C-d",    "C-z",   "q",
    "Enter",   "bg",    "fg",    "jobs",    "disown", "logout",   "return", "eval",  "let",
    "declare", "local", "hash",  "builtin", "break",  "continue", "shift",  NULL,
};

/* The word after git's global options, and its index. */
static int git_sub(char **w, int nw)
{
    for (int i = 1; i < nw; i++) {
        if (eq(w[i], "-C") || eq(w[i], "-c") || eq(w[i], "--git-dir") || eq(w[i], "--work-tree")) {
            i++;
            continue;
        }
        if (w[i][0] == '-') continue;
        return i;
    }
    return -1;
}

static ct_fine_kind classify_git(char **w, int nw)
{
    int i = git_sub(w, nw);
    if (i < 0) return CT_FINE_EXPLORE;
    const char *sub = w[i];
    static const char *const ro[] = {
        "status",        "diff",       "log",       "show",         "blame",    "grep",
        "ls-files",      "rev-parse",  "describe",  "shortlog",     "reflog",   "cat-file",
        "ls-tree",       "help",       "version",   "whatchanged",  "show-ref", "ls-remote",
        "rev-list",      "merge-base", "name-rev",  "for-each-ref", "var",      "check-ignore",
        "count-objects", "fsck",       "--version", NULL,
    };
    if (any_of(sub, ro)) return CT_FINE_EXPLORE;
    if (eq(sub, "branch") || eq(sub, "tag") || eq(sub, "remote") || eq(sub, "stash") ||
        eq(sub, "config") || eq(sub, "worktree")) {
        int has_positional = 0, list_flag = 0;
        for (int k = i + 1; k < nw; k++) {
            if (eq(w[k], "list") || eq(w[k], "show") || eq(w[k], "-l") || eq(w[k], "--list") ||
                eq(w[k], "-a") || eq(w[k], "-r") || eq(w[k], "-v") || eq(w[k], "-vv") ||
                eq(w[k], "--show-current") || eq(w[k], "--get") || eq(w[k], "--contains") ||
                eq(w[k], "--get-all") || eq(w[k], "--all") || eq(w[k], "--merged"))
                list_flag = 1;
            else if (w[k][0] != '-')
                has_positional = 1;
        }
        if (eq(sub, "stash")) return list_flag ? CT_FINE_EXPLORE : CT_FINE_VCS;
        if (eq(sub, "config") && has_positional && !list_flag) {
            int n_pos = 0;
            for (int k = i + 1; k < nw; k++)
                if (w[k][0] != '-') n_pos++;
            return n_pos >= 2 ? CT_FINE_VCS : CT_FINE_EXPLORE;
        }
        return (!has_positional || list_flag) ? CT_FINE_EXPLORE : CT_FINE_VCS;
    }
    if (eq(sub, "apply")) {
        for (int k = i + 1; k < nw; k++)
            if (eq(w[k], "--check") || eq(w[k], "--stat") || eq(w[k], "--numstat"))
                return CT_FINE_EXPLORE;
        return CT_FINE_EDIT;
    }
    if (eq(sub, "fetch")) return CT_FINE_VCS;
    return CT_FINE_VCS; /* add, commit, checkout, switch, reset, restore, merge, rebase, ... */
}

/* package managers: `tool <sub>` where sub installs. */
static ct_fine_kind classify_pkg(char **w, int nw)
{
    static const char *const inst[] = {
        "install", "uninstall", "remove",    "purge",      "update",       "upgrade",
        "add",     "i",         "ci",        "sync",       "create",       "download",
        "fetch",   "get",       "reinstall", "autoremove", "dist-upgrade", "build-dep",
        "link",    "unlink",    "rm",        NULL,
    };
    for (int i = 1; i < nw; i++) {
        if (w[i][0] == '-') continue;
        if (any_of(w[i], inst)) return CT_FINE_INSTALL;
        if (eq(w[i], "test") || eq(w[i], "t")) return CT_FINE_TEST;
        return CT_FINE_EXPLORE; /* list, show, search, freeze, info, ... */
    }
    return CT_FINE_EXPLORE;
}

/* npm / yarn / pnpm / bun */
static ct_fine_kind classify_js_pm(char **w, int nw)
{
    for (int i = 1; i < nw; i++) {
        if (w[i][0] == '-') continue;
        const char *sub = w[i];
        static const char *const inst[] = {"install",   "i",      "ci",     "add",
                                           "uninstall", "remove", "update", "upgrade",
                                           "rm",        "link",   NULL};
        if (any_of(sub, inst)) return CT_FINE_INSTALL;
        if (eq(sub, "test") || eq(sub, "t")) return CT_FINE_TEST;
        if (eq(sub, "run") || eq(sub, "run-script") || eq(sub, "exec") || eq(sub, "x")) {
            const char *script = i + 1 < nw ? w[i + 1] : "";
            if (strstr(script, "test") || strstr(script, "lint") || strstr(script, "check"))
                return CT_FINE_TEST;
            if (strstr(script, "build") || strstr(script, "compile")) return CT_FINE_BUILD;
            return CT_FINE_RUN;
        }
        if (eq(sub, "build")) return CT_FINE_BUILD;
        if (eq(sub, "ls") || eq(sub, "list") || eq(sub, "view") || eq(sub, "info") ||
            eq(sub, "outdated") || eq(sub, "why") || eq(sub, "config") || eq(sub, "-v"))
            return CT_FINE_EXPLORE;
        if (eq(w[0], "yarn") || eq(w[0], "pnpm") || eq(w[0], "bun")) {
            /* `yarn jest`, `yarn build`: a package script */
            if (strstr(sub, "test") || strstr(sub, "jest")) return CT_FINE_TEST;
            if (strstr(sub, "build")) return CT_FINE_BUILD;
            return CT_FINE_RUN;
        }
        return CT_FINE_RUN;
    }
    return eq(w[0], "yarn") ? CT_FINE_INSTALL : CT_FINE_EXPLORE;
}

static int short_flag_has(const char *a, char f)
{
    return a[0] == '-' && a[1] != '-' && strchr(a + 1, f) != NULL;
}

static ct_fine_kind classify_words(char **w, int nw, const scmd *c, int depth)
{
    /* strip prefixes: assignments, sudo, env, timeout, nohup, time, nice, ... */
    int i = 0;
    while (i < nw) {
        const char *a = w[i];
        const char *b = base_name(a);
        if (is_assignment(a) || eq(a, "!") || eq(a, "{") || eq(a, "}") || eq(a, "then") ||
            eq(a, "do") || eq(a, "else") || eq(a, "if") || eq(a, "while") || eq(a, "until") ||
            eq(a, "elif") || eq(a, "fi") || eq(a, "done") || eq(a, "esac") || eq(a, "exec") ||
            eq(b, "nohup") || eq(b, "time") || eq(b, "stdbuf") || eq(b, "unbuffer")) {
            i++;
            continue;
        }
        if (eq(b, "sudo") || eq(b, "doas")) {
            i++;
            while (i < nw && w[i][0] == '-') {
                if (eq(w[i], "-u") || eq(w[i], "-g")) i++;
                i++;
            }
            continue;
        }
        if (eq(b, "env") && i + 1 < nw) {
            i++;
            while (i < nw && (w[i][0] == '-' || is_assignment(w[i])))
                i++;
            continue;
        }
        if (eq(b, "timeout") || eq(b, "nice") || eq(b, "ionice")) {
            i++;
            while (i < nw && w[i][0] == '-') {
                if (eq(w[i], "-s") || eq(w[i], "-k") || eq(w[i], "-n")) i++;
                i++;
            }
            if (eq(b, "timeout") && i < nw) i++; /* the duration */
            continue;
        }
        if ((eq(b, "uv") || eq(b, "poetry") || eq(b, "pipenv") || eq(b, "conda") || eq(b, "pdm") ||
             eq(b, "hatch") || eq(b, "rye")) &&
            i + 1 < nw && eq(w[i + 1], "run")) {
            i += 2;
            while (i < nw && w[i][0] == '-')
                i++;
            continue;
        }
        if ((eq(b, "bundle") && i + 1 < nw && eq(w[i + 1], "exec"))) {
            i += 2;
            continue;
        }
        if (eq(b, "npx") || eq(b, "pnpx") || eq(b, "bunx")) {
            i++;
            while (i < nw && w[i][0] == '-')
                i++;
            continue;
        }
        break;
    }
    w += i;
    nw -= i;
    if (nw <= 0) {
        if (c && (c->out_create || c->out_append)) return CT_FINE_CREATE; /* `> file` */
        return CT_FINE_OTHER;
    }
    const char *name = base_name(w[0]);
    ct_fine_kind k = CT_FINE_OTHER;

    /* a heredoc or redirect into a file from cat/echo/printf writes that file */
    int writes_out = c && (c->out_create || c->out_append);

    if (strstr(w[0], "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT") ||
        strstr(w[0], "MINI_SWE_AGENT_FINAL_OUTPUT"))
        return CT_FINE_SUBMIT;
    if ((eq(name, "echo") || eq(name, "printf")) && nw > 1) {
        for (int j = 1; j < nw; j++)
            if (strstr(w[j], "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT") ||
                strstr(w[j], "MINI_SWE_AGENT_FINAL_OUTPUT"))
                return CT_FINE_SUBMIT;
    }

    if (eq(name, "submit") || eq(name, "finish") || eq(name, "exit_forfeit"))
        k = eq(name, "exit_forfeit") ? CT_FINE_OTHER : CT_FINE_SUBMIT;
    else if (eq(name, "think"))
        k = CT_FINE_THINK;
    /* SWE-agent ACI tools */
    else if (eq(name, "open") || eq(name, "goto") || eq(name, "scroll_down") ||
             eq(name, "scroll_up") || eq(name, "search_dir") || eq(name, "search_file") ||
             eq(name, "find_file") || eq(name, "filemap"))
        k = CT_FINE_EXPLORE;
    else if (eq(name, "edit") || eq(name, "insert") || eq(name, "append") ||
             eq(name, "edit_file") || eq(name, "apply_patch") || eq(name, "applypatch"))
        k = CT_FINE_EDIT;
    else if (eq(name, "create") || eq(name, "create_file") || eq(name, "write_file"))
        k = CT_FINE_CREATE;
    else if (eq(name, "str_replace_editor") || eq(name, "str_replace_based_edit_tool") ||
             eq(name, "edit_tool")) {
        const char *sub = nw > 1 ? w[1] : "";
        if (eq(sub, "view"))
            k = CT_FINE_EXPLORE;
        else if (eq(sub, "create"))
            k = CT_FINE_CREATE;
        else
            k = CT_FINE_EDIT;
    } else if (eq(name, "git")) {
        k = classify_git(w, nw);
    } else if (is_python(name)) {
        k = classify_python(w, nw, c, depth);
    } else if (eq(name, "pip") || eq(name, "pip3") || ct_str_starts(name, "pip3.") ||
               eq(name, "pipx") || eq(name, "easy_install")) {
        k = eq(name, "easy_install") ? CT_FINE_INSTALL : classify_pkg(w, nw);
    } else if (eq(name, "apt") || eq(name, "apt-get") || eq(name, "yum") || eq(name, "dnf") ||
               eq(name, "apk") || eq(name, "brew") || eq(name, "conda") || eq(name, "mamba") ||
               eq(name, "micromamba") || eq(name, "gem") || eq(name, "poetry") || eq(name, "uv") ||
               eq(name, "pdm") || eq(name, "composer") || eq(name, "cpan") || eq(name, "cpanm") ||
               eq(name, "zypper") || eq(name, "pacman") || eq(name, "rustup") || eq(name, "nvm") ||
               eq(name, "pipenv") || eq(name, "opam") || eq(name, "luarocks")) {
        if (eq(name, "uv") && nw > 1 && eq(w[1], "pip"))
            k = classify_pkg(w + 1, nw - 1);
        else if (eq(name, "pacman") && nw > 1 && ct_str_starts(w[1], "-S"))
            k = CT_FINE_INSTALL;
        else if (eq(name, "cpanm") || (eq(name, "apk") && nw > 1 && eq(w[1], "add")))
            k = CT_FINE_INSTALL;
        else
            k = classify_pkg(w, nw);
    } else if (eq(name, "npm") || eq(name, "yarn") || eq(name, "pnpm") || eq(name, "bun")) {
        k = classify_js_pm(w, nw);
    } else if (eq(name, "cargo")) {
        const char *sub = nw > 1 ? w[1] : "";
        if (eq(sub, "test") || eq(sub, "nextest") || eq(sub, "clippy"))
            k = CT_FINE_TEST;
        else if (eq(sub, "build") || eq(sub, "check"))
            k = CT_FINE_BUILD;
        else if (eq(sub, "run"))
            k = CT_FINE_RUN;
        else if (eq(sub, "add") || eq(sub, "install") || eq(sub, "fetch") || eq(sub, "update") ||
                 eq(sub, "remove"))
            k = CT_FINE_INSTALL;
        else if (eq(sub, "fmt"))
            k = CT_FINE_EDIT;
        else
            k = CT_FINE_EXPLORE;
    } else if (eq(name, "go")) {
        const char *sub = nw > 1 ? w[1] : "";
        if (eq(sub, "test") || eq(sub, "vet"))
            k = CT_FINE_TEST;
        else if (eq(sub, "build"))
            k = CT_FINE_BUILD;
        else if (eq(sub, "run"))
            k = CT_FINE_RUN;
        else if (eq(sub, "get") || eq(sub, "install") || eq(sub, "mod"))
            k = CT_FINE_INSTALL;
        else if (eq(sub, "fmt") || eq(sub, "generate"))
            k = CT_FINE_EDIT;
        else
            k = CT_FINE_EXPLORE;
    } else if (eq(name, "make") || eq(name, "gmake") || eq(name, "ninja")) {
        k = CT_FINE_BUILD;
        for (int j = 1; j < nw; j++) {
            if (w[j][0] == '-') {
                if (eq(w[j], "-C") || eq(w[j], "-f") || eq(w[j], "-j")) j++;
                continue;
            }
            if (strstr(w[j], "test") || strstr(w[j], "check"))
                k = CT_FINE_TEST;
            else if (eq(w[j], "install"))
                k = CT_FINE_INSTALL;
            else if (ct_str_starts(w[j], "clean") || eq(w[j], "distclean"))
                k = CT_FINE_FS;
        }
    } else if (eq(name, "cmake") || eq(name, "gcc") || eq(name, "g++") || eq(name, "cc") ||
               eq(name, "c++") || eq(name, "clang") || eq(name, "clang++") || eq(name, "javac") ||
               eq(name, "tsc") || eq(name, "rustc") || eq(name, "meson") || eq(name, "bazel") ||
               eq(name, "configure") || eq(name, "autoreconf") || eq(name, "ghc") ||
               eq(name, "kotlinc") || eq(name, "swiftc") || eq(name, "ld") || eq(name, "as") ||
               eq(name, "ar")) {
        k = CT_FINE_BUILD;
        if ((eq(name, "bazel") || eq(name, "meson")) && nw > 1 && eq(w[1], "test"))
            k = CT_FINE_TEST;
        if (eq(name, "cmake") && nw > 1 && eq(w[1], "--version")) k = CT_FINE_EXPLORE;
        if (eq(name, "tsc") && nw > 1 && eq(w[1], "--noEmit")) k = CT_FINE_TEST;
    } else if (eq(name, "mvn") || eq(name, "gradle") || eq(name, "gradlew") || eq(name, "sbt") ||
               eq(name, "ant") || eq(name, "dotnet") || eq(name, "mix") || eq(name, "stack") ||
               eq(name, "cabal")) {
        k = CT_FINE_BUILD;
        for (int j = 1; j < nw; j++)
            if (strstr(w[j], "test") || eq(w[j], "verify") || eq(w[j], "check")) k = CT_FINE_TEST;
    } else if (eq(name, "pytest") || eq(name, "py.test") || eq(name, "tox") || eq(name, "nox") ||
               eq(name, "jest") || eq(name, "mocha") || eq(name, "vitest") || eq(name, "rspec") ||
               eq(name, "phpunit") || eq(name, "bats") || eq(name, "nosetests") ||
               eq(name, "trial") || eq(name, "ctest") || eq(name, "karma") || eq(name, "ava") ||
               eq(name, "flake8") || eq(name, "pylint") || eq(name, "mypy") ||
               eq(name, "pyright") || eq(name, "eslint") || eq(name, "shellcheck") ||
               eq(name, "hadolint") || eq(name, "behave") || eq(name, "cucumber") ||
               eq(name, "playwright") || eq(name, "cypress")) {
        k = CT_FINE_TEST;
        if (eq(name, "eslint"))
            for (int j = 1; j < nw; j++)
                if (eq(w[j], "--fix")) k = CT_FINE_EDIT;
    } else if (eq(name, "ruff")) {
        k = CT_FINE_TEST;
        for (int j = 1; j < nw; j++)
            if (eq(w[j], "--fix") || eq(w[j], "format")) k = CT_FINE_EDIT;
    } else if (eq(name, "black") || eq(name, "isort") || eq(name, "autopep8") ||
               eq(name, "gofmt") || eq(name, "prettier") || eq(name, "clang-format") ||
               eq(name, "rustfmt") || eq(name, "yapf")) {
        k = CT_FINE_EXPLORE;
        int check = 0, write = 0;
        for (int j = 1; j < nw; j++) {
            if (eq(w[j], "--check") || eq(w[j], "--diff") || eq(w[j], "-l")) check = 1;
            if (eq(w[j], "-w") || eq(w[j], "--write") || eq(w[j], "-i") || eq(w[j], "--in-place"))
                write = 1;
        }
        if (eq(name, "black") || eq(name, "isort") || eq(name, "rustfmt")) write = !check;
        if (write)
            k = CT_FINE_EDIT;
        else if (check)
            k = CT_FINE_TEST;
    } else if (eq(name, "sed")) {
        k = CT_FINE_EXPLORE;
        for (int j = 1; j < nw; j++)
            if (ct_str_starts(w[j], "--in-place") || short_flag_has(w[j], 'i')) {
                k = CT_FINE_EDIT;
                break;
            }
    } else if (eq(name, "perl")) {
        k = CT_FINE_RUN;
        for (int j = 1; j < nw; j++)
            if (short_flag_has(w[j], 'i')) {
                k = CT_FINE_EDIT;
                break;
            }
    } else if (eq(name, "awk") || eq(name, "gawk")) {
        k = CT_FINE_EXPLORE;
        for (int j = 1; j + 1 < nw; j++)
            if (eq(w[j], "-i") && eq(w[j + 1], "inplace")) k = CT_FINE_EDIT;
    } else if (eq(name, "patch") || eq(name, "ed") || eq(name, "ex") || eq(name, "vim") ||
               eq(name, "vi") || eq(name, "nvim") || eq(name, "nano") || eq(name, "emacs") ||
               eq(name, "truncate") || eq(name, "dos2unix") || eq(name, "unix2dos") ||
               eq(name, "pico") || eq(name, "joe") || eq(name, "micro")) {
        k = CT_FINE_EDIT;
        if (eq(name, "patch"))
            for (int j = 1; j < nw; j++)
                if (eq(w[j], "--dry-run")) k = CT_FINE_EXPLORE;
    } else if (eq(name, "touch")) {
        k = CT_FINE_CREATE;
    } else if (eq(name, "tee")) {
        k = CT_FINE_EXPLORE;
        int append = 0;
        for (int j = 1; j < nw; j++) {
            if (eq(w[j], "-a") || eq(w[j], "--append"))
                append = 1;
            else if (w[j][0] != '-' && !is_null_target(w[j]))
                k = append ? CT_FINE_EDIT : CT_FINE_CREATE;
        }
    } else if (eq(name, "dd")) {
        k = CT_FINE_EXPLORE;
        for (int j = 1; j < nw; j++)
            if (ct_str_starts(w[j], "of=") && !is_null_target(w[j] + 3)) k = CT_FINE_CREATE;
    } else if (eq(name, "mkdir") || eq(name, "rm") || eq(name, "rmdir") || eq(name, "mv") ||
               eq(name, "cp") || eq(name, "chmod") || eq(name, "chown") || eq(name, "chgrp") ||
               eq(name, "ln") || eq(name, "install") || eq(name, "rsync") || eq(name, "unlink") ||
               eq(name, "shred") || eq(name, "mktemp") || eq(name, "gzip") || eq(name, "gunzip") ||
               eq(name, "zip") || eq(name, "bunzip2") || eq(name, "xz") || eq(name, "7z") ||
               eq(name, "useradd") || eq(name, "ldconfig") || eq(name, "update-alternatives") ||
               eq(name, "mkfifo") || eq(name, "setfacl") || eq(name, "cpio")) {
        k = CT_FINE_FS;
    } else if (eq(name, "unzip")) {
        k = CT_FINE_FS;
        for (int j = 1; j < nw; j++)
            if (eq(w[j], "-l") || eq(w[j], "-t") || eq(w[j], "-Z")) k = CT_FINE_EXPLORE;
    } else if (eq(name, "tar")) {
        k = CT_FINE_EXPLORE;
        if (nw > 1) {
            const char *f = w[1];
            if (strchr(f, 'x') || eq(f, "--extract"))
                k = CT_FINE_FS;
            else if (strchr(f, 'c') || eq(f, "--create"))
                k = CT_FINE_CREATE;
            for (int j = 1; j < nw; j++)
                if (eq(w[j], "-x") || eq(w[j], "--extract")) k = CT_FINE_FS;
        }
    } else if (eq(name, "wget")) {
        k = CT_FINE_CREATE;
        for (int j = 1; j < nw; j++)
            if (eq(w[j], "--spider") || eq(w[j], "-qO-") || eq(w[j], "-O-") ||
                (eq(w[j], "-O") && j + 1 < nw && eq(w[j + 1], "-")) ||
                (eq(w[j], "-qO") && j + 1 < nw && eq(w[j + 1], "-")))
                k = CT_FINE_EXPLORE;
    } else if (eq(name, "curl")) {
        k = CT_FINE_EXPLORE;
        for (int j = 1; j < nw; j++)
            if ((eq(w[j], "-o") || eq(w[j], "--output")) && j + 1 < nw && !is_null_target(w[j + 1]))
                k = CT_FINE_CREATE;
            else if (eq(w[j], "-O") || eq(w[j], "--remote-name"))
                k = CT_FINE_CREATE;
    } else if (eq(name, "find")) {
        k = CT_FINE_EXPLORE;
        for (int j = 1; j < nw; j++) {
            if (eq(w[j], "-delete")) k = stronger(k, CT_FINE_FS);
            if ((eq(w[j], "-exec") || eq(w[j], "-execdir") || eq(w[j], "-ok")) && j + 1 < nw &&
                depth < MAX_DEPTH) {
                int e = j + 1;
                while (e < nw && !eq(w[e], ";") && !eq(w[e], "+"))
                    e++;
                k = stronger(k, classify_words(w + j + 1, e - j - 1, NULL, depth + 1));
                j = e;
            }
        }
    } else if (eq(name, "xargs")) {
        int j = 1;
        while (j < nw && w[j][0] == '-') {
            const char *o = w[j];
            if (eq(o, "-I") || eq(o, "-n") || eq(o, "-P") || eq(o, "-d") || eq(o, "-L") ||
                eq(o, "-s") || eq(o, "-E") || eq(o, "-a"))
                j++;
            j++;
        }
        k = j < nw && depth < MAX_DEPTH ? classify_words(w + j, nw - j, NULL, depth + 1)
                                        : CT_FINE_EXPLORE;
    } else if (eq(name, "bash") || eq(name, "sh") || eq(name, "zsh") || eq(name, "dash") ||
               eq(name, "ksh")) {
        k = CT_FINE_RUN;
        int j = 1;
        for (; j < nw; j++) {
            if (eq(w[j], "-c") || short_flag_has(w[j], 'c')) {
                if (j + 1 < nw && depth < MAX_DEPTH)
                    k = classify_line(w[j + 1], strlen(w[j + 1]), depth + 1);
                break;
            }
            if (w[j][0] != '-') {
                k = testish(w[j]) ? CT_FINE_TEST : CT_FINE_RUN;
                break;
            }
        }
        if (j >= nw && c && c->heredoc && depth < MAX_DEPTH)
            k = classify_line(c->heredoc, c->heredoc_len, depth + 1);
    } else if (eq(name, "node") || eq(name, "nodejs") || eq(name, "ruby") || eq(name, "php") ||
               eq(name, "java") || eq(name, "Rscript") || eq(name, "deno") || eq(name, "julia") ||
               eq(name, "lua") || eq(name, "ts-node") || eq(name, "tsx") || eq(name, "kotlin") ||
               eq(name, "scala") || eq(name, "swift") || eq(name, "dotnet") || eq(name, "R") ||
               eq(name, "octave") || eq(name, "gdb") || eq(name, "valgrind") ||
               eq(name, "strace") || eq(name, "ipython") || eq(name, "jupyter") ||
               eq(name, "sqlite3") || eq(name, "psql") || eq(name, "mysql") ||
               eq(name, "redis-cli") || eq(name, "docker")) {
        k = CT_FINE_RUN;
        for (int j = 1; j < nw; j++)
            if (w[j][0] != '-') {
                if (testish(w[j])) k = CT_FINE_TEST;
                break;
            }
    } else if (any_of(name, explore_cmds)) {
        k = CT_FINE_EXPLORE;
    } else if (any_of(name, other_cmds)) {
        k = CT_FINE_OTHER;
    } else if (strchr(w[0], '/')) {
        k = testish(w[0]) ? CT_FINE_TEST : CT_FINE_RUN; /* ./run.sh, /app/bin/x, build/app */
    } else if (ct_str_ends(name, ".sh") || ct_str_ends(name, ".py")) {
        k = testish(name) ? CT_FINE_TEST : CT_FINE_RUN;
    } else {
        k = CT_FINE_OTHER;
    }

    /* redirections into a real file */
    if (c && writes_out) {
        if ((eq(name, "cat") || eq(name, "echo") || eq(name, "printf")) && c->out_create)
            k = stronger(k, CT_FINE_CREATE);
        else if (c->out_append)
            k = stronger(k, CT_FINE_EDIT);
        else
            k = stronger(k, CT_FINE_CREATE);
    } else if (c && c->out_scratch && (eq(name, "cat") || eq(name, "echo") || eq(name, "printf"))) {
        k = stronger(k, CT_FINE_CREATE); /* writing a helper script into /tmp */
    }
    return k;
}

static ct_fine_kind classify_line(const char *cmd, size_t n, int depth)
{
    if (n > CMD_MAX_BYTES) n = CMD_MAX_BYTES;
    lexer lx;
    memset(&lx, 0, sizeof lx);
    lx.s = cmd;
    lx.n = n;
    ct_fine_kind best = CT_FINE_OTHER;
    int any = 0;
    /* Commands are kept until the end so heredoc bodies (read after the newline) can still be
     * attached to the command that declared them. */
    scmd cmds[8];
    int nc = 0;
    for (int guard = 0; guard < 4096; guard++) {
        if (nc == 8) { /* flush the oldest, but not ones with pending heredocs */
            if (lx.n_delim) {
                /* keep going: rare; drop the heredoc attachment */
                lx.n_delim = 0;
            }
            for (int j = 0; j < nc; j++) {
                best = any ? stronger(best, classify_words(cmds[j].w, cmds[j].nw, &cmds[j], depth))
                           : classify_words(cmds[j].w, cmds[j].nw, &cmds[j], depth);
                any = 1;
                scmd_free(&cmds[j]);
            }
            nc = 0;
        }
        size_t before = lx.i;
        if (!next_command(&lx, &cmds[nc])) {
            scmd_free(&cmds[nc]);
            break;
        }
        nc++;
        if (lx.i == before && lx.i >= lx.n) break;
    }
    for (int j = 0; j < nc; j++) {
        ct_fine_kind k = classify_words(cmds[j].w, cmds[j].nw, &cmds[j], depth);
        best = any ? stronger(best, k) : k;
        any = 1;
        scmd_free(&cmds[j]);
    }
    return any ? best : CT_FINE_OTHER;
}

ct_step_class ct_classify_command(const char *cmd, ct_fine_kind *fine)
{
    ct_fine_kind k = cmd ? classify_line(cmd, strlen(cmd), 0) : CT_FINE_OTHER;
    if (fine) *fine = k;
    return class_of(k);
}

static ct_fine_kind fine_from_touch(const ct_file_touch *f)
{
    const char *op = f->op ? f->op : "";
    if (eq(op, "view") || eq(op, "read") || eq(op, "open")) return CT_FINE_EXPLORE;
    if (eq(op, "create") || eq(op, "write")) return CT_FINE_CREATE;
    if (eq(op, "delete") || eq(op, "remove")) return CT_FINE_FS;
    if (!*op)
        return f->content                  ? CT_FINE_CREATE
               : (f->new_text || f->patch) ? CT_FINE_EDIT
                                           : CT_FINE_EXPLORE;
    return CT_FINE_EDIT; /* str_replace, insert, aci_edit, patch, undo_edit, ... */
}

static int bashlike_tool(const char *tool)
{
    if (!tool) return 1;
    static const char *const t[] = {
        "bash",        "Bash", "execute_bash",    "shell", "terminal",   "run",
        "run_command", "exec", "execute_command", "cmd",   "keystrokes", "tmux",
        "command",     NULL};
    return any_of(tool, t);
}

ct_step_class ct_classify_step(const ct_step *s, ct_fine_kind *fine)
{
    ct_fine_kind k = CT_FINE_OTHER;
    if (!s) {
        if (fine) *fine = k;
        return CT_CLASS_EXPLORE;
    }
    switch (s->kind) {
    case CT_KIND_EDIT:
        k = CT_FINE_EDIT;
        break;
    case CT_KIND_CREATE:
        k = CT_FINE_CREATE;
        break;
    case CT_KIND_SUBMIT:
        k = CT_FINE_SUBMIT;
        break;
    case CT_KIND_THINK:
        k = CT_FINE_THINK;
        break;
    case CT_KIND_READ:
    case CT_KIND_SEARCH:
        k = CT_FINE_EXPLORE;
        /* loaders guess read/search from the first word of a shell command; a redirect or a
         * later command in the same line may still change state */
        if (bashlike_tool(s->tool) && s->action && *s->action) {
            ct_fine_kind c = classify_line(s->action, strlen(s->action), 0);
            if (class_of(c) == CT_CLASS_CHANGE) k = c;
        }
        break;
    case CT_KIND_BASH:
        k = s->action && *s->action ? classify_line(s->action, strlen(s->action), 0)
                                    : CT_FINE_OTHER;
        break;
    default: {
        int have = 0;
        for (size_t i = 0; i < s->n_files; i++) {
            ct_fine_kind f = fine_from_touch(&s->files[i]);
            k = have ? stronger(k, f) : f;
            have = 1;
        }
        if (!have) {
            const char *tool = s->tool ? s->tool : "";
            if (eq(tool, "TodoWrite") || eq(tool, "think") || eq(tool, "ExitPlanMode"))
                k = CT_FINE_THINK;
            else if (eq(tool, "WebFetch") || eq(tool, "WebSearch") || eq(tool, "browser") ||
                     eq(tool, "LS") || eq(tool, "Glob") || eq(tool, "Grep") || eq(tool, "Read") ||
                     eq(tool, "NotebookRead"))
                k = CT_FINE_EXPLORE;
            else if (eq(tool, "Edit") || eq(tool, "MultiEdit") || eq(tool, "NotebookEdit"))
                k = CT_FINE_EDIT;
            else if (eq(tool, "Write"))
                k = CT_FINE_CREATE;
            else if (s->action && *s->action)
                k = classify_line(s->action, strlen(s->action), 0);
        }
        break;
    }
    }
    if (fine) *fine = k;
    return class_of(k);
}

const char *ct_step_summary(const ct_step *s, char *out, size_t size)
{
    if (!size) return out;
    const char *a = s && s->action ? s->action : "";
    while (*a == '\n' || *a == '\r')
        a++; /* the reference strips before taking the first line */
    size_t n = strcspn(a, "\n");
    while (n > 0 && (a[n - 1] == '\r' || a[n - 1] == ' ' || a[n - 1] == '\t'))
        n--;
    const char *p = a;
    while (n > 0 && (*p == ' ' || *p == '\t'))
        p++, n--;
    if (n == 0) {
        snprintf(out, size, "step %d", s ? s->step_id : 0);
        return out;
    }
    /* 60 characters (code points), never cutting a UTF-8 sequence */
    size_t bytes = 0, chars = 0;
    while (bytes < n && chars < 60) {
        unsigned char ch = (unsigned char)p[bytes];
        size_t len = ch < 0x80         ? 1
                     : (ch >> 5) == 6  ? 2
                     : (ch >> 4) == 14 ? 3
                     : (ch >> 3) == 30 ? 4
                                       : 1;
        if (bytes + len > n) break;
        bytes += len;
        chars++;
    }
    if (bytes >= size) bytes = size - 1;
    memcpy(out, p, bytes);
    out[bytes] = 0;
    return out;
}

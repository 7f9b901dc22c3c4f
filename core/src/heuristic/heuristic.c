/* heuristic.c — the offline analyzer. One pass computes, per step, its class, a hash of its
 * normalised action, whether it failed and how, the file it wrote, what it reverts and a "state
 * version" (bumped by every state change that went through, and by every run of code that may
 * write files — not by test runs or inline programs that only print); the rules then look at
 * those facts with hash tables and running state, so the analysis is about linear in the steps
 * plus a bounded scan of each observation (its first and last few KiB).
 *
 * Rules (ids as emitted; switches and thresholds under `heuristic:` in config/default.yaml):
 *   incorrect  weakened-test   rewrites existing test assertions (after the tests failed)
 *              failed-submit   declares completion of a run judged unsolved / on rewritten tests
 *                              / on a known regression (tests that passed fail, nothing changed)
 *              unsolved-final  the last write of each deliverable file of an unsolved run
 *              garbled-write   a write to a nameless path or of content with no letter or digit
 *              regression      the change still in effect (not a revert, not undone; the file the
 *                              failure names, else the latest) between a passing and a failing
 *                              run of the same tests
 *              reverted-edit   an edit undone later (undo_edit, git checkout -- F, git restore F,
 *                              an inverse edit), or a whole file rewritten after a failing run
 *              outside-patch   an edit to a file the submitted patch does not contain
 *              retry-failure   a state-changing command repeated unchanged after it failed
 *              known-error     an install / VCS command failing with the error an earlier failed
 *                              step had already shown, nothing changed in between
 *              syntax-broken   an edit that leaves tree-sitter ERROR/MISSING nodes in the edited
 *                              definition where the text before had none (core/src/spans)
 *   unuseful   retry-failure   any other command repeated unchanged after it failed
 *              failed-action   a call rejected before doing anything (syntax error, exit 126/127,
 *                              tool error, guessed path); for edits only a retry after a rejection
 *                              or a first edit the linter rejects with a syntax error (E999) or
 *                              whose old text has lines never shown (a guess)
 *              empty-action    no command, or a shell no-op
 *              install-loop    the Nth failed installation in a row
 *              repeat-command  the same look again with nothing changed: also lines already shown
 *                              (a range inside a range, or of a short file shown whole), and a
 *                              directory listed again with only the agent's known writes since
 *              unused-explore  an empty lookup redone right after with other options/case
 *              after-done      anything after the submission
 *
 * Precedence: a step keeps the first `incorrect` label it gets; `unuseful` never overrides
 * `incorrect`. Every label cites the steps it rests on. docs/rules.md documents every rule. */
#include "ct/heuristic.h"
#include "ct/buf.h"
#include "ct/config.h"
#include "ct/index.h"
#include "ct/spans.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBS_SCAN 4096 /* bytes scanned at each end of an observation */

static const char *const rule_ids[] = {
    "failed-action",
    "repeat-command",
    "retry-failure",
    "reverted-edit",
    "regression",
    "outside-patch",
    "after-done",
    "unused-explore",
    "install-loop",
    "failed-submit",
    "weakened-test",
    "empty-action",
    "garbled-write",
    "unsolved-final",
    "known-error",
    "syntax-broken",
    NULL,
};

const char *const *ct_heuristic_rule_ids(void)
{
    return rule_ids;
}

typedef enum { OUT_UNKNOWN = 0, OUT_PASS, OUT_FAIL } outcome;

typedef struct info {
    ct_step_class cls;
    ct_fine_kind fine;
    uint64_t key;      /* hash of the normalised action (and touched paths) */
    int failed;        /* non-zero exit, or an error the tool reported */
    int invoke_error;  /* the command/tool call itself was malformed: nothing ran */
    int changed;       /* a state change that went through */
    int version;       /* state version before this step */
    outcome test;      /* for run/test steps: did the tests pass? */
    const char *wpath; /* the file it wrote, NULL when none / unknown (malloc'd) */
    int empty_out;     /* observation present and blank */
    int revert;        /* undoes earlier changes (git checkout -- F, undo_edit, inverse edit) */
    int revert_of;     /* for a revert: the latest change it undid, -1 when none */
    int undone_by;     /* for a change: the later revert that undid it, -1 when none */
    size_t obs_lines;  /* for file views: lines in the observation */
    int script;        /* for a run of a script the agent wrote that writes wpath: the step that
                          wrote the script (its content is the change), else -1 */
} info;

typedef struct ctx {
    const ct_trajectory *t;
    const json_t *cfg;
    ct_analysis *a;
    info *in;
    size_t n;
    double r_inc, r_unu;
} ctx;

/* ---- text helpers ---- */

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Hash of the action with runs of whitespace collapsed and ends trimmed. */
static uint64_t action_key(const ct_step *s)
{
    uint64_t h = 1469598103934665603ull;
    const char *p = s->action ? s->action : "";
    int space = 0, started = 0;
    for (; *p; p++) {
        if (isspace((unsigned char)*p)) {
            space = started;
            continue;
        }
        if (space) h = fnv(h, " ", 1);
        space = 0;
        started = 1;
        h = fnv(h, p, 1);
    }
    for (size_t i = 0; i < s->n_files; i++) {
        const ct_file_touch *f = &s->files[i];
        const char *parts[] = {f->path, f->op, f->old_text, f->new_text, f->content, f->patch};
        for (size_t k = 0; k < 6; k++) {
            h = fnv(h, "\x1f", 1);
            if (parts[k]) h = fnv(h, parts[k], strlen(parts[k]));
        }
        char rng[48];
        int m = snprintf(rng, sizeof rng, "%ld:%ld", f->line_start, f->line_end);
        h = fnv(h, rng, (size_t)m);
    }
    return h;
}

/* Does the head or tail of the observation contain needle? */
static int obs_has(const char *obs, size_t len, const char *needle)
{
    if (!obs) return 0;
    if (len <= 2 * OBS_SCAN) return ct_memstr(obs, len, needle) != NULL;
    return ct_memstr(obs, OBS_SCAN, needle) || ct_memstr(obs + len - OBS_SCAN, OBS_SCAN, needle);
}

static int obs_any(const char *obs, size_t len, const char *const *needles)
{
    for (; *needles; needles++)
        if (obs_has(obs, len, *needles)) return 1;
    return 0;
}

/* Errors that mean the call itself was malformed or aimed at nothing: nothing ran. */
static const char *const invoke_errors[] = {
    "syntax error near unexpected token",
    "unexpected EOF while looking for matching",
    "syntax error: unexpected end of file",
    ": command not found",
    "unrecognized arguments:",
    "<tool_use_error>",
    "Your proposed edit has introduced new syntax error",
    "DO NOT re-run the same failed edit command",
    "No replacement was performed",
    "did not appear verbatim",
    "Invalid `view_range`",
    "ENOTDIR",
    "EISDIR",
    "String to replace not found",
    "File has not been read yet",
    "Error: The path",
    "is not a valid command",
    NULL,
};

/* Errors of a missing target (a guessed path): only meaningful for looking/fs commands. */
static const char *const missing_errors[] = {
    "No such file or directory", "does not exist", "cannot access", "can't open file", NULL,
};

/* Errors an edit tool reports when it applied nothing. */
static const char *const edit_errors[] = {
    "No exact match found",
    "Parameter `old_str`",
    "No changes made",
    "old_str` did not appear",
    "[Edit error",
    "Error: no match",
    NULL,
};

static int is_shell_tool(const ct_step *s)
{
    const char *t = s->tool ? s->tool : "";
    return !*t || !strcmp(t, "bash") || !strcmp(t, "Bash") || !strcmp(t, "execute_bash") ||
           !strcmp(t, "shell") || !strcmp(t, "terminal") || !strcmp(t, "keystrokes");
}

/* Did the call fail before doing anything? Shell exit 126/127 (not executable / not found),
 * the shell's own syntax errors, a tool's rejection of its arguments, an edit that matched
 * nothing. "command not found" inside a longer script only counts with exit status 127: the
 * rest of the script may have run. */
/* "NAME: command not found" / "NAME: not found" where NAME looks like a real program (curl,
 * wget): the call was well formed and taught the agent that the tool is missing. A garbled NAME
 * (":/app", ",__async__") is a broken call. 1 when such a plausible name is reported. */
static int missing_real_program(const char *obs, size_t len)
{
    const char *pats[] = {": command not found", ": not found", NULL};
    size_t scan = len < OBS_SCAN ? len : OBS_SCAN;
    for (int k = 0; pats[k]; k++) {
        const char *hit = ct_memstr(obs, scan, pats[k]);
        if (!hit) continue;
        const char *st = hit;
        while (st > obs && st[-1] != ' ' && st[-1] != '\n' && st[-1] != '\t')
            st--;
        if (st == hit || !isalpha((unsigned char)*st)) return 0;
        for (const char *p = st; p < hit; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.' && *p != '+')
                return 0;
        return 1;
    }
    return 0;
}

static int invoke_failed(const ct_step *s, const info *in, const char *obs, size_t len)
{
    if (s->has_exit_code && s->exit_code == 127 && obs && missing_real_program(obs, len)) return 0;
    if (s->has_exit_code && (s->exit_code == 126 || s->exit_code == 127)) return 1;
    if (!obs) return 0;
    for (const char *const *p = invoke_errors; *p; p++) {
        if (!obs_has(obs, len, *p)) continue;
        if (!strcmp(*p, ": command not found") &&
            ((s->has_exit_code && s->exit_code != 127) || missing_real_program(obs, len)))
            continue;
        return 1;
    }
    if (in->cls == CT_CLASS_CHANGE && (in->fine == CT_FINE_EDIT || in->fine == CT_FINE_CREATE) &&
        !is_shell_tool(s)) {
        if (ct_str_starts(obs, "ERROR:") || ct_str_starts(obs, "Error:")) return 1;
        if (obs_any(obs, len < 400 ? len : 400, edit_errors)) return 1;
    }
    return 0;
}

/* Did a test/run step pass? The exit status decides when there is one; otherwise a test
 * runner's summary ("3 failed", "FAILED", "5 passed", "OK") and, last, a bare error message. */
static outcome test_outcome(const char *obs, size_t len, int has_exit, int exit_code)
{
    if (!obs) return OUT_UNKNOWN;
    static const char *const fail[] = {
        " failed", "FAILED", "Traceback (most recent", "AssertionError", "FAIL:", "ERRORS", NULL};
    static const char *const weak_fail[] = {"Error:", " error:", NULL};
    static const char *const pass[] = {" passed",      "\nOK",   "OK (", "All tests passed",
                                       "tests passed", "PASSED", NULL};
    int p = obs_any(obs, len, pass);
    if (has_exit) {
        if (exit_code != 0) return OUT_FAIL;
        return p ? OUT_PASS : OUT_UNKNOWN;
    }
    if (obs_any(obs, len, fail)) return OUT_FAIL;
    if (p) return OUT_PASS;
    if (obs_any(obs, len, weak_fail)) return OUT_FAIL;
    return OUT_UNKNOWN;
}

/* The file a shell command writes: `> F`, `>> F`, `tee F`, `sed -i ... F`, `touch F`. Returns a
 * malloc'd path or NULL. Only the first line is looked at. */
static char *shell_target(const char *cmd)
{
    if (!cmd) return NULL;
    size_t n = strcspn(cmd, "\n");
    if (n > 4096) n = 4096;
    char *line = ct_xstrndup(cmd, n);
    char *res = NULL;
    /* redirect: the last '>' not part of 2>&1 / >& */
    for (char *p = line; *p; p++) {
        if (*p != '>' || p[1] == '&' || (p > line && p[-1] == '&')) continue;
        char *q = p + 1;
        if (*q == '>') q++;
        while (*q == ' ')
            q++;
        if (*q == '\'' || *q == '"') q++;
        size_t m = strcspn(q, " \t;&|'\"<>)");
        if (m && strncmp(q, "/dev/", 5) != 0) {
            free(res);
            res = ct_xstrndup(q, m);
        }
    }
    if (!res) {
        const char *ops[] = {"sed -i", "touch ", "tee ", "perl -pi", NULL};
        for (int k = 0; ops[k] && !res; k++) {
            char *hit = strstr(line, ops[k]);
            if (!hit) continue;
            /* the last word of this simple command */
            size_t m = strcspn(hit, ";&|");
            char *end = hit + m;
            while (end > hit && isspace((unsigned char)end[-1]))
                end--;
            char *st = end;
            while (st > hit && !isspace((unsigned char)st[-1]))
                st--;
            if (end > st && *st != '-' && *st != '\'' && *st != '"')
                res = ct_xstrndup(st, (size_t)(end - st));
        }
    }
    free(line);
    return res;
}

/* Does the command line name the file `base` as a word of its own (after a space, a quote or a
 * '/', and followed by the end of the word), not as part of a longer name? */
static int mentions_file(const char *a, const char *base)
{
    size_t bl = strlen(base);
    if (!bl) return 0;
    for (const char *h = strstr(a, base); h; h = strstr(h + 1, base)) {
        char before = h > a ? h[-1] : ' ';
        char after = h[bl];
        if (before != ' ' && before != '/' && before != '\'' && before != '"' && before != '\t')
            continue;
        if (after && !isspace((unsigned char)after) && !strchr(";&|'\")", after)) continue;
        return 1;
    }
    return 0;
}

/* Does program text contain a file-writing call (open for writing, write_text, json.dump,
 * savefig, mkdir, remove, subprocess/system...)? */
static int code_may_write(const char *a)
{
    static const char *const writes[] = {
        "'w'",     "\"w\"",      "'wb'",    "\"wb\"",  "'a'",        "\"a\"",       "'w+'",
        "\"w+\"",  "'r+'",       "\"r+\"",  ".write(", "write_text", "write_bytes", "dump(",
        ".save",   "savefig",    "to_csv",  "mkdir",   "remove(",    "unlink",      "rmtree",
        "rename(", "subprocess", "system(", "shutil",  "writeFile",  "appendFile",  NULL};
    for (int k = 0; writes[k]; k++)
        if (strstr(a, writes[k])) return 1;
    return 0;
}

/* Can a run step have written files? A redirect or an inline program (python -c, node -e, a
 * heredoc fed to an interpreter) is visible and is checked for writes; a script or binary run by
 * name is opaque and is assumed to write. */
static int run_may_write(const char *a)
{
    if (!a) return 0;
    char *target = shell_target(a);
    if (target) {
        free(target);
        return 1;
    }
    /* an interpreter given its program inline; a shell given one (sh -c) may run anything */
    static const char *const interpreters[] = {"python", "node ", "ruby ", "perl ", "php ", NULL};
    static const char *const inline_marks[] = {" -c ", " -c\"", " -c'", " -e ", "<<", NULL};
    int interp = 0, inl = 0;
    for (int k = 0; interpreters[k] && !interp; k++)
        interp = strstr(a, interpreters[k]) != NULL;
    for (int k = 0; inline_marks[k] && !inl; k++)
        inl = strstr(a, inline_marks[k]) != NULL;
    if (!interp || strstr(a, "sh -c") || strstr(a, "make") || strstr(a, "curl ")) return 1;
    if (!inl) return 1;
    return code_may_write(a);
}

static char *written_path(const ct_step *s, const info *in)
{
    if (in->cls != CT_CLASS_CHANGE) return NULL;
    for (size_t i = 0; i < s->n_files; i++) {
        const char *op = s->files[i].op ? s->files[i].op : "";
        if (s->files[i].path && strcmp(op, "view") != 0 && strcmp(op, "read") != 0)
            return ct_xstrdup(s->files[i].path);
    }
    if (in->fine == CT_FINE_EDIT || in->fine == CT_FINE_CREATE) return shell_target(s->action);
    return NULL;
}

static int is_blank(const char *s)
{
    if (!s) return 0;
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

/* Blank once the wrappers some formats put around command output are removed
 * (<returncode>N</returncode>, <output>...</output>, "(Bash completed with no output)"). */
static int output_blank(const char *o)
{
    static const char *const wrap[] = {"<output>", "</output>", "(Bash completed with no output)",
                                       NULL};
    const char *p = o;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p) return 1;
        if (ct_str_starts(p, "<returncode>")) {
            const char *e = strstr(p, "</returncode>");
            if (!e) return 0;
            p = e + strlen("</returncode>");
            continue;
        }
        int matched = 0;
        for (int k = 0; wrap[k]; k++)
            if (ct_str_starts(p, wrap[k])) {
                p += strlen(wrap[k]);
                matched = 1;
                break;
            }
        if (!matched) return 0;
    }
}

/* `:` or `true` alone: a shell no-op. */
static int is_noop(const char *a)
{
    while (isspace((unsigned char)*a))
        a++;
    size_t n = strlen(a);
    while (n && isspace((unsigned char)a[n - 1]))
        n--;
    return (n == 1 && a[0] == ':') || (n == 4 && !strncmp(a, "true", 4));
}

/* path a/b/c.py matches x/a/b/c.py at a '/' boundary (patch paths are repo-relative). */
static int path_in_patch(const char *patch, const char *path)
{
    const char *p = path;
    while (*p == '/' || *p == '.')
        p++;
    /* try every suffix starting after a '/' */
    for (const char *q = p; q; q = strchr(q, '/')) {
        if (*q == '/') q++;
        if (!*q) break;
        char needle[600];
        snprintf(needle, sizeof needle, "a/%s", q);
        if (strstr(patch, needle)) return 1;
        snprintf(needle, sizeof needle, "b/%s", q);
        if (strstr(patch, needle)) return 1;
        if (!strchr(q, '/')) break;
    }
    return 0;
}

static int testish_path(const char *p)
{
    const char *b = strrchr(p, '/');
    b = b ? b + 1 : p;
    return strstr(p, "/tests/") || strstr(p, "/test/") || ct_str_starts(p, "tests/") ||
           ct_str_starts(b, "test_") || strstr(b, "_test.") || strstr(b, ".test.") ||
           strstr(b, ".spec.");
}

static int scratch_path(const char *p)
{
    const char *b = strrchr(p, '/');
    b = b ? b + 1 : p;
    return ct_str_starts(p, "/tmp/") || strstr(b, "reproduce") || strstr(b, "repro") ||
           ct_str_starts(b, "test_") || strstr(b, "debug") || strstr(b, "scratch") ||
           ct_str_starts(b, "check_") || ct_str_starts(b, "verify");
}

/* ---- labelling ---- */

static void set(ctx *c, size_t i, ct_label_kind kind, const char *rule, const char *dev,
                const char *sev, const char *alt, const int *ev, size_t n_ev, const char *fmt, ...)
    __attribute__((format(printf, 10, 11)));

static void set(ctx *c, size_t i, ct_label_kind kind, const char *rule, const char *dev,
                const char *sev, const char *alt, const int *ev, size_t n_ev, const char *fmt, ...)
{
    ct_step_label *l = &c->a->labels[i];
    if (l->label == CT_LABEL_INCORRECT) return;
    if (l->label == CT_LABEL_UNUSEFUL && kind != CT_LABEL_INCORRECT) return;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ct_analysis_set_label(c->a, (int)i + 1, kind, rule, msg, ev, n_ev);
    l->deviation_type = dev;
    l->impact_severity = sev;
    l->correct_alternative = ct_analysis_strdup(c->a, alt);
    l->reward = kind == CT_LABEL_INCORRECT ? c->r_inc : c->r_unu;
}

static int on(const ctx *c, const char *rule)
{
    char path[96];
    snprintf(path, sizeof path, "heuristic.%s.enabled", rule);
    return ct_config_bool(c->cfg, path, 1);
}

static long long num(const ctx *c, const char *rule, const char *key, long long def)
{
    char path[128];
    snprintf(path, sizeof path, "heuristic.%s.%s", rule, key);
    return ct_config_int(c->cfg, path, def);
}

/* A small open-addressing map from action key to the last step index with it. */
typedef struct kmap {
    uint64_t *keys;
    int *vals;
    size_t cap;
} kmap;

static void kmap_init(kmap *m, size_t n)
{
    m->cap = 16;
    while (m->cap < 2 * n + 2)
        m->cap *= 2;
    m->keys = ct_xcalloc(m->cap, sizeof *m->keys);
    m->vals = ct_xcalloc(m->cap, sizeof *m->vals);
}

static int *kmap_slot(kmap *m, uint64_t k)
{
    if (!k) k = 1;
    size_t i = (size_t)(k * 0x9E3779B97F4A7C15ull) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        m->keys[i] = k;
        m->vals[i] = -1;
    }
    return &m->vals[i];
}

static void kmap_free(kmap *m)
{
    free(m->keys);
    free(m->vals);
}

/* ---- rules ---- */

static void rule_empty_action(ctx *c)
{
    if (!on(c, "empty_action")) return;
    for (size_t i = 0; i < c->n; i++) {
        const ct_step *s = &c->t->steps[i];
        if (s->kind == CT_KIND_THINK || s->n_files) continue;
        if (s->action && !is_blank(s->action) && !is_noop(s->action)) continue;
        int ev = (int)i + 1;
        set(c, i, CT_LABEL_UNUSEFUL, "empty-action", "wrong_tool", "minor",
            "Issue one well-formed command per turn.", &ev, 1,
            "Step %d issued no command or tool call (or a shell no-op), so it did nothing.",
            (int)i + 1);
    }
}

static int same_path(const char *a, const char *b)
{
    if (!a || !b) return 0;
    size_t la = strlen(a), lb = strlen(b);
    if (la == lb) return !strcmp(a, b);
    if (la > lb) return a[la - lb - 1] == '/' && !strcmp(a + la - lb, b);
    return b[lb - la - 1] == '/' && !strcmp(b + lb - la, a);
}

/* Was the old text of edit step i a guess? Lines of it (trimmed, at least 12 bytes) that no
 * earlier observation or file text among the 200 steps before contains were never shown to the
 * agent. A guess is at least two such lines and at least a third of the lines checked (one
 * unseen line is more likely a slip, a normal first try). Returns a malloc'd copy of the first
 * unseen line for a guess, else NULL (also when the old text is unknown). At most 40 lines are
 * checked, each against the first 256 KiB of each observation. */
static char *unseen_line(const ctx *c, size_t i)
{
    const ct_step *s = &c->t->steps[i];
    const char *old = NULL;
    for (size_t f = 0; f < s->n_files && !old; f++)
        old = s->files[f].old_text;
    if (!old) return NULL;
    int checked = 0, unseen = 0;
    char *first = NULL;
    for (const char *p = old; *p && checked < 40;) {
        const char *e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        const char *a = p, *b = e;
        p = *e ? e + 1 : e;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b - a < 12) continue;
        checked++;
        char line[256];
        size_t n = (size_t)(b - a) < sizeof line - 1 ? (size_t)(b - a) : sizeof line - 1;
        memcpy(line, a, n);
        line[n] = 0;
        int seen = 0;
        for (size_t k = i; k-- > 0 && i - k <= 200 && !seen;) {
            const ct_step *ks = &c->t->steps[k];
            const char *o = ks->observation;
            if (o) {
                size_t ol = strlen(o);
                seen = ct_memstr(o, ol < (256u << 10) ? ol : (256u << 10), line) != NULL;
            }
            for (size_t f = 0; f < ks->n_files && !seen; f++) {
                const char *texts[] = {ks->files[f].content, ks->files[f].new_text};
                for (int q = 0; q < 2 && !seen; q++)
                    seen = texts[q] && strstr(texts[q], line) != NULL;
            }
        }
        if (!seen && unseen++ == 0) first = ct_xstrdup(line);
    }
    if (unseen >= 2 && 3 * unseen >= checked) return first;
    free(first);
    return NULL;
}

static void rule_failed_action(ctx *c)
{
    if (!on(c, "failed_action")) return;
    int first_edit_ok = ct_config_bool(c->cfg, "heuristic.failed_action.first_failed_edit_ok", 1);
    int broken_edit = ct_config_bool(c->cfg, "heuristic.failed_action.broken_edit_counts", 1);
    int guessed = ct_config_bool(c->cfg, "heuristic.failed_action.guessed_edit_counts", 1);
    char *k_unseen = NULL;
    static const char *const broken_edit_marks[] = {"E999 SyntaxError", "E999 IndentationError",
                                                    NULL};
    for (size_t i = 0; i < c->n; i++) {
        const info *in = &c->in[i];
        if (!in->invoke_error) continue;
        int ev[2] = {(int)i + 1, 0};
        if (in->fine == CT_FINE_EDIT && in->wpath && first_edit_ok) {
            /* a rejected edit is a normal first try; only a further attempt on the same file
             * after a rejection, with no successful edit of it in between, is waste */
            int prev_fail = -1;
            for (size_t k = i; k-- > 0;) {
                if (c->in[k].fine != CT_FINE_EDIT || !same_path(c->in[k].wpath, in->wpath))
                    continue;
                if (c->in[k].invoke_error) prev_fail = (int)k;
                break;
            }
            if (prev_fail < 0) {
                /* a first try may miss the text, but an edit whose own text is broken code
                 * (the linter names the syntax error it would introduce, E999) is a fumble */
                const char *obs = c->t->steps[i].observation;
                if (broken_edit && obs && obs_any(obs, strlen(obs), broken_edit_marks))
                    set(c, i, CT_LABEL_UNUSEFUL, "failed-action", "wrong_tool", "minor",
                        "Check the replacement text is complete, valid code before submitting "
                        "the edit.",
                        ev, 1,
                        "Step %d is an edit of %s whose new text is not valid code: the tool "
                        "rejected it for the syntax error it would introduce, so nothing was "
                        "applied.",
                        (int)i + 1, in->wpath);
                else if (guessed && (k_unseen = unseen_line(c, i)) != NULL)
                    set(c, i, CT_LABEL_UNUSEFUL, "failed-action", "missing_exploration", "minor",
                        "View the lines before replacing them; copy the old text from the file.",
                        ev, 1,
                        "Step %d is an edit of %s whose old text was never shown before (e.g. "
                        "\"%.80s\"): it guessed the file's text, matched nothing and was "
                        "rejected.",
                        (int)i + 1, in->wpath, k_unseen);
                free(k_unseen);
                k_unseen = NULL;
                continue;
            }
            ev[0] = prev_fail + 1;
            ev[1] = (int)i + 1;
            set(c, i, CT_LABEL_UNUSEFUL, "failed-action", "redundant", "minor",
                "Look at the file's current text and the tool's error before editing again.", ev, 2,
                "Step %d is another edit of %s that the tool rejected, right after the rejected "
                "attempt at step %d; nothing was applied.",
                (int)i + 1, in->wpath, prev_fail + 1);
            continue;
        }
        set(c, i, CT_LABEL_UNUSEFUL, "failed-action", "wrong_tool", "minor",
            "Check the command or path before issuing it, and read the tool's error.", ev, 1,
            "Step %d failed before doing anything (the tool or shell rejected the call), so it "
            "changed nothing and brought no evidence.",
            (int)i + 1);
    }
}

static int whole_view(const ct_file_touch *f)
{
    return f->line_start <= 1 && (f->line_end == 0 || f->line_end == -1);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static int known_pure_run(const ctx *c, size_t r);

/* Could step k have changed the file at path? A change of that file, a change whose target is
 * unknown or not a plain file write (VCS, build, install, mkdir/mv/rm), or a run of a program
 * that may write files (not one of the agent's own scripts known to write nothing). */
static int may_change_file(const ctx *c, size_t k, const char *path)
{
    const info *mk = &c->in[k];
    if (mk->changed)
        return !mk->wpath || same_path(mk->wpath, path) ||
               (mk->fine != CT_FINE_EDIT && mk->fine != CT_FINE_CREATE && mk->script < 0);
    return mk->fine == CT_FINE_RUN && run_may_write(c->t->steps[k].action) && !known_pure_run(c, k);
}

/* An edit tool's output that shows the whole file after the edit (both ends of it). */
static int shows_whole_file(const char *obs)
{
    return obs && strstr(obs, "(this is the beginning of the file)") &&
           strstr(obs, "(this is the end of the file)");
}

/* The latest earlier step that already showed the lines view f asks for, with nothing that could
 * change that file in between: a whole view covers another whole view, and covers a range when
 * the file was short enough to take in (at most long_file lines shown: zooming into a long file
 * is fair); a range covers a range inside it; an edit whose output shows the whole file covers
 * any view. -1 when none (looking back at most 64 steps). */
static int earlier_view(const ctx *c, size_t i, const ct_file_touch *f, long long long_file)
{
    int f_whole = whole_view(f);
    for (size_t k = i; k-- > 0 && i - k <= 64;) {
        const ct_step *ks = &c->t->steps[k];
        if (may_change_file(c, k, f->path)) {
            if (c->in[k].changed && same_path(c->in[k].wpath, f->path) &&
                (c->in[k].fine == CT_FINE_EDIT || c->in[k].fine == CT_FINE_CREATE) &&
                shows_whole_file(ks->observation))
                return (int)k;
            break;
        }
        if (!ks->n_files || c->in[k].invoke_error) continue;
        const ct_file_touch *g = &ks->files[0];
        if (!g->op || strcmp(g->op, "view") != 0 || !same_path(g->path, f->path)) continue;
        int covers;
        if (whole_view(g))
            covers = f_whole || (long long)c->in[k].obs_lines <= long_file;
        else if (f_whole || f->line_start < g->line_start)
            covers = 0;
        else
            covers = g->line_end == -1 || (f->line_end != -1 && f->line_end <= g->line_end);
        if (covers) return (int)k;
    }
    return -1;
}

static void rule_repeat(ctx *c)
{
    if (!on(c, "repeat")) return;
    kmap m;
    kmap_init(&m, 2 * c->n); /* action keys and file-path keys */
    long long window = num(c, "repeat", "window", 0);
    long long min_repeats = num(c, "repeat", "min_repeats", 2);
    long long long_file = num(c, "repeat", "long_file_lines", 200);
    int *count = ct_xcalloc(c->n ? c->n : 1, sizeof *count); /* occurrences so far, same state */
    for (size_t i = 0; i < c->n; i++) {
        info *in = &c->in[i];
        const ct_step *s = &c->t->steps[i];
        int looks =
            in->cls == CT_CLASS_EXPLORE &&
            (in->fine == CT_FINE_EXPLORE || in->fine == CT_FINE_TEST || in->fine == CT_FINE_RUN);
        if (!looks || !s->action || (is_blank(s->action) && !s->n_files)) continue;
        int *slot = kmap_slot(&m, in->key);
        int prev = *slot;
        *slot = (int)i;
        if (prev >= 0 && c->in[prev].version != in->version) prev = -1; /* changed since */
        /* a view of lines already shown, nothing changed in that file since */
        const ct_file_touch *f = s->n_files ? &s->files[0] : NULL;
        int by_file = 0;
        if (prev < 0 && f && f->path && f->op && !strcmp(f->op, "view")) {
            prev = earlier_view(c, i, f, long_file);
            by_file = prev >= 0;
        }
        count[i] = 1;
        if (prev < 0) continue;
        if (window > 0 && (long long)(i - (size_t)prev) > window) continue;
        count[i] = (count[prev] ? count[prev] : 1) + 1;
        if (count[i] < min_repeats) continue;
        int ev[2] = {prev + 1, (int)i + 1};
        if (by_file)
            set(c, i, CT_LABEL_UNUSEFUL, "repeat-command", "redundant", "minor",
                "Reuse the file text already shown instead of viewing it again.", ev, 2,
                "Step %d shows lines of %s that step %d already showed, and nothing changed that "
                "file since, so it could only show the same text again.",
                (int)i + 1, f->path, prev + 1);
        else
            set(c, i, CT_LABEL_UNUSEFUL, "repeat-command", "redundant", "minor",
                "Reuse the output already obtained instead of running the same thing again.", ev, 2,
                "Step %d repeats what step %d already showed, with no state change in between, "
                "so it could only show the same output again.",
                (int)i + 1, prev + 1);
    }
    free(count);
    kmap_free(&m);
}

/* Is run step r a run of a script the agent wrote itself (created, and maybe edited since,
 * within the 64 steps before) whose code writes no file? Then what it did to the tree is known:
 * nothing. Every version of the script must be known text. */
static int known_pure_run(const ctx *c, size_t r)
{
    const char *act = c->t->steps[r].action;
    const char *script = NULL;
    for (size_t k = r; act && k-- > 0 && r - k <= 64;) {
        const info *ki = &c->in[k];
        if (!ki->changed || !ki->wpath) continue;
        if (script ? !same_path(ki->wpath, script) : 0) continue;
        if (!script) {
            const char *base = strrchr(ki->wpath, '/') ? strrchr(ki->wpath, '/') + 1 : ki->wpath;
            if (strlen(base) <= 3 || !mentions_file(act, base)) continue;
            script = ki->wpath;
        }
        const ct_step *ks = &c->t->steps[k];
        int known = 0;
        for (size_t f = 0; f < ks->n_files; f++) {
            const char *text = ks->files[f].content ? ks->files[f].content : ks->files[f].new_text;
            if (!text) continue;
            if (code_may_write(text)) return 0;
            known = 1;
        }
        /* `create F` of a one-line action without a body makes an empty file */
        if (!known && !(ki->fine == CT_FINE_CREATE && ks->action && !strchr(ks->action, '\n')))
            return 0;
        if (ki->fine == CT_FINE_CREATE) return 1;
    }
    return 0;
}

/* `ls [-OPTS] [DIR]` alone: the option letters as a bit set and the directory ("." when none,
 * without "./" and trailing '/'). 1 when the action is such a listing. */
static int parse_ls(const char *a, uint64_t *opts, char *dir, size_t size)
{
    while (isspace((unsigned char)*a))
        a++;
    size_t n = strlen(a);
    while (n && isspace((unsigned char)a[n - 1]))
        n--;
    if (n < 2 || n > 400 || strncmp(a, "ls", 2) != 0 || (n > 2 && a[2] != ' ')) return 0;
    for (size_t k = 0; k < n; k++)
        if (strchr("|;&<>`$*?\n{}()", a[k])) return 0;
    *opts = 0;
    snprintf(dir, size, ".");
    int operands = 0;
    for (size_t k = 2; k < n;) {
        while (k < n && a[k] == ' ')
            k++;
        size_t st = k;
        while (k < n && a[k] != ' ')
            k++;
        if (k == st) break;
        if (a[st] == '-') {
            if (k - st < 2 || a[st + 1] == '-') return 0; /* long options: not interpreted */
            for (size_t q = st + 1; q < k; q++) {
                if (!isalpha((unsigned char)a[q])) return 0;
                int bit = islower((unsigned char)a[q]) ? a[q] - 'a' : 26 + a[q] - 'A';
                *opts |= 1ull << bit;
            }
            continue;
        }
        if (++operands > 1) return 0;
        size_t m = 0;
        for (size_t q = st; q < k && m + 1 < size; q++)
            if (a[q] != '\'' && a[q] != '"') dir[m++] = a[q];
        dir[m] = 0;
        char *d = dir;
        while (d[0] == '.' && d[1] == '/')
            memmove(d, d + 2, strlen(d + 2) + 1);
        size_t dl = strlen(d);
        while (dl > 1 && d[dl - 1] == '/')
            d[--dl] = 0;
        if (!dl) snprintf(dir, size, ".");
    }
    return 1;
}

/* Is directory d inside (or equal to) directory top? */
static int dir_under(const char *d, const char *top)
{
    if (!strcmp(d, top)) return 1;
    if (!strcmp(top, ".")) return d[0] != '/' && strncmp(d, "..", 2) != 0;
    size_t tl = strlen(top);
    return !strncmp(d, top, tl) && d[tl] == '/';
}

/* The same directory listed again (or a directory inside one listed recursively) with the same
 * options, when everything that changed the tree in between was the agent's own writes of known
 * files, installs or runs: the listing can only show what the agent already knows. A VCS
 * operation, a build, a mkdir/mv/cp/rm or a write of an unknown file in between keeps it fair. */
static void rule_relist(ctx *c)
{
    if (!on(c, "repeat") || !ct_config_bool(c->cfg, "heuristic.repeat.relist", 1)) return;
    if (num(c, "repeat", "min_repeats", 2) > 2) return; /* a second listing is the first flagged */
    for (size_t i = 0; i < c->n; i++) {
        const ct_step *s = &c->t->steps[i];
        uint64_t oi;
        char di[256];
        if (c->in[i].fine != CT_FINE_EXPLORE || c->in[i].failed || !s->action ||
            !parse_ls(s->action, &oi, di, sizeof di))
            continue;
        const uint64_t R = 1ull << (26 + 'R' - 'A');
        for (size_t k = i; k-- > 0 && i - k <= 64;) {
            const info *mk = &c->in[k];
            int blocks =
                mk->changed && (mk->fine == CT_FINE_VCS || mk->fine == CT_FINE_BUILD ||
                                mk->fine == CT_FINE_FS || mk->fine == CT_FINE_OTHER || !mk->wpath);
            if (blocks && mk->fine != CT_FINE_INSTALL) break;
            if (mk->fine == CT_FINE_RUN && !mk->changed && run_may_write(c->t->steps[k].action) &&
                !known_pure_run(c, k))
                break;
            uint64_t ok;
            char dk[256];
            const ct_step *ks = &c->t->steps[k];
            if (mk->fine != CT_FINE_EXPLORE || mk->failed || !ks->action ||
                !parse_ls(ks->action, &ok, dk, sizeof dk))
                continue;
            int covers = (ok == oi && !strcmp(dk, di)) ||
                         ((ok & R) && (ok & ~R) == (oi & ~R) && dir_under(di, dk));
            if (!covers) continue;
            int ev[2] = {(int)k + 1, (int)i + 1};
            set(c, i, CT_LABEL_UNUSEFUL, "repeat-command", "redundant", "minor",
                "Reuse the listing already obtained; the agent's own writes are known.", ev, 2,
                "Step %d lists %s again, already listed at step %d; the only changes since were "
                "the agent's own writes of known files, so it could show nothing new.",
                (int)i + 1, di, (int)k + 1);
            break;
        }
    }
}

static void rule_retry_failure(ctx *c)
{
    if (!on(c, "retry_failure")) return;
    long long min_failures = num(c, "retry_failure", "min_failures", 2);
    int *fails = ct_xcalloc(c->n ? c->n : 1, sizeof *fails); /* identical failures in a row */
    kmap m;
    kmap_init(&m, c->n);
    for (size_t i = 0; i < c->n; i++) {
        info *in = &c->in[i];
        const ct_step *s = &c->t->steps[i];
        if (!s->action || (is_blank(s->action) && !s->n_files)) continue;
        int *slot = kmap_slot(&m, in->key);
        int prev = *slot;
        *slot = (int)i;
        fails[i] = in->failed;
        if (prev < 0 || !c->in[prev].failed) continue;
        /* the environment changed in between (an install, an edit, a run): a fair re-check */
        if (c->in[prev].version != in->version) continue;
        /* it worked this time (flaky network, timing): it did bring a new result */
        if (!in->failed) continue;
        fails[i] = fails[prev] + 1;
        if (fails[i] < min_failures) continue;
        int ev[2] = {prev + 1, (int)i + 1};
        int intends_change = in->fine == CT_FINE_EDIT || in->fine == CT_FINE_CREATE ||
                             in->fine == CT_FINE_INSTALL || in->fine == CT_FINE_VCS;
        if (intends_change && !in->invoke_error) {
            set(c, i, CT_LABEL_INCORRECT, "retry-failure", "wrong_tool", "moderate",
                "Find out why the command failed and fix the cause before running it again.", ev, 2,
                "Step %d repeats the state-changing command that failed at step %d, unchanged "
                "and with nothing fixed in between, and it fails again.",
                (int)i + 1, prev + 1);
        } else {
            set(c, i, CT_LABEL_UNUSEFUL, "retry-failure", "redundant", "minor",
                "Read the error of the failed attempt and change the command accordingly.", ev, 2,
                "Step %d retries the command that failed at step %d without changing it, with "
                "nothing changed in between, and it fails again.",
                (int)i + 1, prev + 1);
        }
    }
    free(fails);
    kmap_free(&m);
}

static void rule_install_loop(ctx *c)
{
    if (!on(c, "install_loop")) return;
    long long min = num(c, "install_loop", "min_attempts", 2);
    int fails = 0, first = -1;
    for (size_t i = 0; i < c->n; i++) {
        info *in = &c->in[i];
        if (in->fine != CT_FINE_INSTALL) continue;
        if (!in->failed) {
            fails = 0;
            first = -1;
            continue;
        }
        if (first < 0) first = (int)i;
        fails++;
        if (fails >= min) {
            int ev[2] = {first + 1, (int)i + 1};
            set(c, i, CT_LABEL_UNUSEFUL, "install-loop", "redundant", "minor",
                "Stop retrying installs: check what the environment provides (interpreter, "
                "package manager, network) first.",
                ev, 2,
                "Step %d is failed installation attempt number %d since step %d; the "
                "environment problem was not diagnosed in between.",
                (int)i + 1, fails, first + 1);
        }
    }
}

/* The last error line of an observation: the last line (in its last few KiB) that says what
 * went wrong ("error", "No module named", "not found", "fatal:", ...), copied into buf; notices
 * and hints after it ("[notice] A new release of pip...") are skipped. 0 when there is none of
 * 15 to `size` bytes. */
static int last_error_line(const char *obs, char *buf, size_t size)
{
    static const char *const words[] = {"rror",   "No module named", "not found", "No such",
                                        "denied", "Unable to",       "annot ",    "Could not",
                                        "fatal:", "failed",          "Failed",    NULL};
    if (!obs) return 0;
    size_t len = strlen(obs);
    const char *lo = len > OBS_SCAN ? obs + len - OBS_SCAN : obs;
    const char *e = obs + len;
    while (e > lo) {
        const char *b = e;
        while (b > lo && b[-1] != '\n')
            b--;
        const char *p = b, *q = e;
        while (p < q && isspace((unsigned char)*p))
            p++;
        while (q > p && isspace((unsigned char)q[-1]))
            q--;
        e = b > lo ? b - 1 : lo;
        size_t n = (size_t)(q - p);
        if (n < 15 || n >= size || *p == '<' || *p == '[') continue; /* wrapper, notice */
        int is_error = 0;
        for (int k = 0; words[k] && !is_error; k++)
            is_error = ct_memstr(p, n, words[k]) != NULL;
        if (!is_error) continue;
        memcpy(buf, p, n);
        buf[n] = 0;
        return 1;
    }
    return 0;
}

/* A state-changing command (an install, a VCS operation) that fails with the very error an
 * earlier failed step had already printed, with nothing changed in between: the agent acted on a
 * premise the evidence had refuted (looked for in the 64 steps before). An identical retry is
 * left to retry-failure. */
static void rule_known_error(ctx *c)
{
    if (!on(c, "known_error")) return;
    for (size_t i = 0; i < c->n; i++) {
        info *in = &c->in[i];
        if (in->fine != CT_FINE_INSTALL && in->fine != CT_FINE_VCS) continue;
        if (!in->failed || in->invoke_error) continue;
        char line[512];
        if (!last_error_line(c->t->steps[i].observation, line, sizeof line)) continue;
        int seen = -1;
        for (size_t k = i; k-- > 0 && i - k <= 64 && c->in[k].version == in->version;) {
            if (!c->in[k].failed || c->in[k].key == in->key) continue;
            const char *o = c->t->steps[k].observation;
            if (o && obs_has(o, strlen(o), line)) {
                seen = (int)k;
                break;
            }
        }
        if (seen < 0) continue;
        int ev[2] = {seen + 1, (int)i + 1};
        set(c, i, CT_LABEL_INCORRECT, "known-error", "wrong_target", "moderate",
            "Act on the error already seen: fix its cause before trying another way that needs "
            "the same thing.",
            ev, 2,
            "Step %d fails with \"%.160s\", the error step %d had already shown, and nothing was "
            "fixed in between: it rested on a premise the evidence had refuted.",
            (int)i + 1, line, seen + 1);
    }
}

/* 1 when step `later` writes a whole file whose content no longer holds the text that step
 * `edit` inserted (both known from the file touches). */
static int edit_dropped(const ct_step *edit, const ct_step *later)
{
    const char *ins = NULL, *content = NULL;
    for (size_t k = 0; k < edit->n_files && !ins; k++)
        if (edit->files[k].new_text && !is_blank(edit->files[k].new_text))
            ins = edit->files[k].new_text;
    for (size_t k = 0; k < later->n_files && !content; k++)
        content = later->files[k].content;
    return ins && content && !strstr(content, ins);
}

/* Equal up to whitespace. */
static int ws_equal(const char *a, const char *b)
{
    for (;;) {
        while (isspace((unsigned char)*a))
            a++;
        while (isspace((unsigned char)*b))
            b++;
        if (!*a || !*b) return !*a && !*b;
        if (*a++ != *b++) return 0;
    }
}

/* The file an explicit revert restores: a file touch `undo_edit` (the latest edit only, *whole
 * = 0) or `revert`, or `git checkout [REV] -- F` / `git restore F` in the command (every change
 * to F, *whole = 1). Returns a malloc'd path or NULL. */
static char *revert_target(const ct_step *s, int *whole)
{
    for (size_t k = 0; k < s->n_files; k++) {
        const char *op = s->files[k].op;
        if (!op || !s->files[k].path) continue;
        if (!strcmp(op, "undo_edit") || !strcmp(op, "revert")) {
            *whole = !strcmp(op, "revert");
            return ct_xstrdup(s->files[k].path);
        }
    }
    const char *a = s->action;
    if (!a) return NULL;
    *whole = 1;
    const char *g = strstr(a, "git checkout ");
    if (g) {
        size_t m = strcspn(g, "\n;&|");
        const char *dd = ct_memstr(g, m, " -- ");
        if (!dd) return NULL;
        const char *p = dd + 4;
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " \t\n;&|'\"");
        return n ? ct_xstrndup(p, n) : NULL;
    }
    g = strstr(a, "git restore ");
    if (!g) return NULL;
    size_t m = strcspn(g, "\n;&|");
    if (ct_memstr(g, m, "--staged") && !ct_memstr(g, m, "--worktree")) return NULL;
    const char *p = g + strlen("git restore ");
    for (;;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " \t\n;&|'\"");
        if (!n) return NULL;
        if (*p != '-') return ct_xstrndup(p, n);
        p += n;
    }
}

/* 1 when the edit touch f is the inverse of one of step e's edits (its new text is what e
 * replaced and its old text what e put there). */
static int inverse_of(const ct_file_touch *f, const ct_step *e)
{
    for (size_t k = 0; k < e->n_files; k++) {
        const ct_file_touch *g = &e->files[k];
        if (!g->old_text || !g->new_text || !same_path(g->path, f->path)) continue;
        if (is_blank(g->old_text) && is_blank(g->new_text)) continue;
        if (ws_equal(f->new_text, g->old_text) && ws_equal(f->old_text, g->new_text)) return 1;
    }
    return 0;
}

/* Mark the reverts and what they undo: a revert of a whole file undoes every change to it
 * since the last revert; undo_edit and an inverse edit undo one change (looked for among the
 * last 256 steps, which keeps edit-heavy runs linear). */
static void find_reverts(ctx *c)
{
    for (size_t j = 0; j < c->n; j++) {
        info *in = &c->in[j];
        const ct_step *s = &c->t->steps[j];
        if (!in->changed) continue;
        int whole = 0;
        char *path = revert_target(s, &whole);
        if (path) {
            in->revert = 1;
            for (size_t i = j; i-- > 0 && j - i <= 4096;) {
                info *pi = &c->in[i];
                if (!pi->changed || !same_path(pi->wpath, path)) continue;
                if (pi->revert) break; /* the file was already restored there */
                if (pi->undone_by >= 0) continue;
                pi->undone_by = (int)j;
                if (in->revert_of < 0) in->revert_of = (int)i;
                if (!whole) break;
            }
            if (!in->wpath)
                in->wpath = path;
            else
                free(path);
            continue;
        }
        for (size_t k = 0; k < s->n_files && !in->revert; k++) {
            const ct_file_touch *f = &s->files[k];
            if (!f->path || !f->old_text || !f->new_text) continue;
            for (size_t i = j; i-- > 0 && j - i <= 256;) {
                info *pi = &c->in[i];
                if (!pi->changed || !same_path(pi->wpath, f->path)) continue;
                if (pi->revert) break;
                if (pi->undone_by >= 0 || !inverse_of(f, &c->t->steps[i])) continue;
                pi->undone_by = (int)j;
                in->revert = 1;
                in->revert_of = (int)i;
                break;
            }
        }
    }
}

static void rule_reverted_edit(ctx *c)
{
    if (!on(c, "reverted_edit")) return;
    int overwrite = ct_config_bool(c->cfg, "heuristic.reverted_edit.overwrite_counts", 1);
    for (size_t j = 0; j < c->n; j++) {
        info *in = &c->in[j];
        if (in->revert) {
            int i = in->revert_of;
            if (i < 0) continue;
            int ev[2] = {i + 1, (int)j + 1};
            set(c, (size_t)i, CT_LABEL_INCORRECT, "reverted-edit", "wrong_target", "moderate",
                "Understand the failure before editing; make the change that survives.", ev, 2,
                "The change to %s at step %d was undone at step %d, so it was wrong.",
                c->in[i].wpath ? c->in[i].wpath : in->wpath, i + 1, (int)j + 1);
            continue;
        }
        if (!in->changed || !overwrite || in->fine != CT_FINE_CREATE || !in->wpath) continue;
        const char *target = in->wpath;
        /* the latest earlier change to the same file */
        for (size_t i = j; i-- > 0;) {
            info *pi = &c->in[i];
            if (!pi->changed || !same_path(pi->wpath, target)) continue;
            if (pi->revert || pi->undone_by >= 0) break;
            /* rewritten wholesale: wrong only when it was a whole version of its own (an
             * edit is usually kept and extended by the rewrite — unless the new content
             * visibly drops it) and a run in between showed it failing */
            if (pi->fine != CT_FINE_CREATE && !edit_dropped(&c->t->steps[i], &c->t->steps[j]))
                break;
            int failed_run = -1;
            const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
            for (size_t k = i + 1; k < j; k++) {
                const char *act = c->t->steps[k].action ? c->t->steps[k].action : "";
                /* a failing run of that very file, or a failing test run */
                int runs_it = c->in[k].fine == CT_FINE_TEST ||
                              (c->in[k].fine == CT_FINE_RUN && *base && strstr(act, base));
                if (runs_it && (c->in[k].failed || c->in[k].test == OUT_FAIL)) failed_run = (int)k;
            }
            if (failed_run >= 0 && !scratch_path(target)) {
                int ev[3] = {(int)i + 1, failed_run + 1, (int)j + 1};
                set(c, i, CT_LABEL_INCORRECT, "reverted-edit", "wrong_target", "moderate",
                    "Test the approach on a small case before writing the whole file.", ev, 3,
                    "The version of %s written at step %d failed when run at step %d and "
                    "was rewritten at step %d.",
                    target, (int)i + 1, failed_run + 1, (int)j + 1);
            }
            break;
        }
    }
}

/* Does the observation name the file (its last two path components, or its bare name, not as
 * part of a longer name)? Tracebacks and test reports name the files a failure is in. */
static int obs_names_file(const char *obs, size_t len, const char *path)
{
    if (!obs || !path) return 0;
    const char *tail = path + strlen(path);
    int slashes = 0;
    while (tail > path && !(tail[-1] == '/' && ++slashes == 2))
        tail--;
    if (!*tail || (*tail == '/' && !tail[1])) return 0;
    size_t tl = strlen(tail);
    for (int w = 0; w < 2; w++) {
        const char *st = obs, *en = obs + len;
        if (len > 2 * OBS_SCAN) {
            st = w ? obs + len - OBS_SCAN : obs;
            en = st + OBS_SCAN;
        } else if (w)
            break;
        for (const char *h = ct_memstr(st, (size_t)(en - st), tail); h;
             h = ct_memstr(h + 1, (size_t)(en - h - 1), tail)) {
            char before = h > obs ? h[-1] : ' ';
            char after = h + tl < obs + len ? h[tl] : ' ';
            if ((isalnum((unsigned char)before) || before == '_' || before == '.' ||
                 before == '-') ||
                isalnum((unsigned char)after) || after == '_')
                continue;
            return 1;
        }
    }
    return 0;
}

/* Tests that passed fail after some changes: the change still in effect at the failing run is
 * to blame (reverts and changes already undone cannot break anything) — the latest one to the
 * file the failure names, else the latest one. */
static void rule_regression(ctx *c)
{
    if (!on(c, "regression")) return;
    kmap m;
    kmap_init(&m, c->n);
    for (size_t i = 0; i < c->n; i++) {
        info *in = &c->in[i];
        if (in->fine != CT_FINE_TEST || in->test == OUT_UNKNOWN) continue;
        int *slot = kmap_slot(&m, in->key);
        int prev = *slot;
        *slot = (int)i;
        if (prev < 0 || c->in[prev].test != OUT_PASS || in->test != OUT_FAIL) continue;
        const char *obs = c->t->steps[i].observation;
        size_t len = obs ? strlen(obs) : 0;
        int last = -1, named = -1;
        for (size_t k = (size_t)prev + 1; k < i; k++) {
            info *ki = &c->in[k];
            if (!ki->changed ||
                (ki->fine != CT_FINE_EDIT && ki->fine != CT_FINE_CREATE && ki->script < 0))
                continue;
            if (ki->revert || (ki->undone_by >= 0 && (size_t)ki->undone_by < i)) continue;
            if (ki->wpath && scratch_path(ki->wpath)) continue;
            last = (int)k;
            if (ki->wpath && obs_names_file(obs, len, ki->wpath)) named = (int)k;
        }
        int k = named >= 0 ? named : last;
        if (k < 0) continue;
        info *ki = &c->in[k];
        int ev[3] = {prev + 1, k + 1, (int)i + 1};
        set(c, (size_t)k, CT_LABEL_INCORRECT, "regression", "wrong_target", "critical",
            "Keep the edit minimal and rerun the tests that passed before it.", ev, 3,
            "The tests passed at step %d, step %d changed %s, and the same tests fail at "
            "step %d with that change in effect: the change broke them.",
            prev + 1, k + 1, ki->wpath ? ki->wpath : "the code", (int)i + 1);
    }
    kmap_free(&m);
}

static void rule_weakened_test(ctx *c)
{
    if (!on(c, "weakened_test")) return;
    for (size_t i = 0; i < c->n; i++) {
        const ct_step *s = &c->t->steps[i];
        if (!c->in[i].changed || c->in[i].fine != CT_FINE_EDIT) continue;
        for (size_t k = 0; k < s->n_files; k++) {
            const ct_file_touch *f = &s->files[k];
            if (!f->path || !testish_path(f->path) || !f->old_text) continue;
            if (!strstr(f->old_text, "assert") && !strstr(f->old_text, "raises") &&
                !strstr(f->old_text, "expect("))
                continue;
            int ev = (int)i + 1;
            set(c, i, CT_LABEL_INCORRECT, "weakened-test", "wrong_target", "critical",
                "Fix the code so the existing tests pass instead of changing their assertions.",
                &ev, 1,
                "Step %d rewrites existing assertions in %s, changing what the tests expect "
                "instead of fixing the code.",
                (int)i + 1, f->path);
            break;
        }
    }
}

/* The test file a script in the action rewrites in place: `open('<test path>', 'w')` together
 * with a .replace()/re.sub() of its text. Returns a malloc'd path or NULL. */
static char *script_rewrites_test(const char *a)
{
    if (!a || (!strstr(a, ".replace(") && !strstr(a, "re.sub(") && !strstr(a, ".sub(")))
        return NULL;
    for (const char *p = strstr(a, "open("); p; p = strstr(p + 5, "open(")) {
        const char *q = p + 5;
        while (*q == ' ')
            q++;
        if (*q != '\'' && *q != '"') continue;
        char quote = *q++;
        const char *e = strchr(q, quote);
        if (!e || e - q > 400) continue;
        char *path = ct_xstrndup(q, (size_t)(e - q));
        const char *close = strchr(e, ')');
        size_t span = close ? (size_t)(close - e) : 0;
        int writes = span && (ct_memstr(e, span, "'w") || ct_memstr(e, span, "\"w") ||
                              ct_memstr(e, span, "'r+") || ct_memstr(e, span, "\"r+"));
        if (writes && testish_path(path)) return path;
        /* `with open(path) as f: text = f.read()` then `open(path, 'w')`: keep looking */
        free(path);
    }
    return NULL;
}

/* The first file a program opens for writing with a literal path: `open('<path>', 'w'...)`
 * (also 'a', 'r+'). Returns a malloc'd path or NULL. */
static char *opened_for_write(const char *code)
{
    if (!code) return NULL;
    for (const char *p = strstr(code, "open("); p; p = strstr(p + 5, "open(")) {
        const char *q = p + 5;
        while (*q == ' ')
            q++;
        if (*q != '\'' && *q != '"') continue;
        char quote = *q++;
        const char *e = strchr(q, quote);
        if (!e || e == q || e - q > 400 || memchr(q, '\n', (size_t)(e - q)) ||
            memchr(q, '{', (size_t)(e - q)))
            continue;
        const char *close = strchr(e, ')');
        size_t span = close ? (size_t)(close - e) : 0;
        if (span > 80) span = 80;
        if (span &&
            (ct_memstr(e, span, "'w") || ct_memstr(e, span, "\"w") || ct_memstr(e, span, "'a") ||
             ct_memstr(e, span, "\"a") || ct_memstr(e, span, "'r+") || ct_memstr(e, span, "\"r+")))
            return ct_xstrndup(q, (size_t)(e - q));
    }
    return NULL;
}

/* A run of a script the agent wrote itself (`python fix.py` after `cat > fix.py`), whose code
 * opens a file for writing, is a change of that file: wpath is set to it and `script` to the
 * step that wrote the script. Scratch targets (/tmp, reproduction output) are left out. */
static void find_script_writes(ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        info *in = &c->in[i];
        const char *act = c->t->steps[i].action;
        if (in->fine != CT_FINE_RUN || in->failed || in->wpath || !act) continue;
        for (size_t k = i; k-- > 0 && i - k <= 64;) {
            const info *ki = &c->in[k];
            if (!ki->changed || ki->fine != CT_FINE_CREATE || !ki->wpath) continue;
            const char *base = strrchr(ki->wpath, '/') ? strrchr(ki->wpath, '/') + 1 : ki->wpath;
            if (strlen(base) <= 3 || !mentions_file(act, base)) continue;
            const ct_step *ks = &c->t->steps[k];
            const char *content = NULL;
            for (size_t f = 0; f < ks->n_files && !content; f++)
                content = ks->files[f].content;
            char *target = opened_for_write(content);
            if (target && !scratch_path(target) && !same_path(target, ki->wpath)) {
                in->wpath = target;
                in->script = (int)k;
                in->changed = 1;
            } else {
                free(target);
            }
            break; /* the latest version of that script decides */
        }
    }
}

/* Changing existing tests after they failed, instead of the code. */
static void rule_rewritten_test(ctx *c)
{
    if (!on(c, "weakened_test")) return;
    int failing_run = -1;
    for (size_t i = 0; i < c->n; i++) {
        info *in = &c->in[i];
        if (in->fine == CT_FINE_TEST && in->test == OUT_FAIL) failing_run = (int)i;
        if (failing_run < 0 || in->cls != CT_CLASS_CHANGE || in->invoke_error) continue;
        const ct_step *s = &c->t->steps[i];
        char *path = script_rewrites_test(s->action);
        if (!path && in->fine == CT_FINE_EDIT && in->wpath && testish_path(in->wpath) &&
            !s->n_files && s->action && strstr(s->action, "sed"))
            path = ct_xstrdup(in->wpath);
        if (!path) continue;
        int created = 0;
        for (size_t k = 0; k < i && !created; k++)
            if (c->in[k].fine == CT_FINE_CREATE && same_path(c->in[k].wpath, path)) created = 1;
        if (!created) {
            int ev[2] = {failing_run + 1, (int)i + 1};
            set(c, i, CT_LABEL_INCORRECT, "weakened-test", "wrong_target", "critical",
                "Fix the code so the existing tests pass instead of changing the tests.", ev, 2,
                "After the tests failed at step %d, step %d rewrites the existing test file %s "
                "instead of fixing the code.",
                failing_run + 1, (int)i + 1, path);
        }
        free(path);
    }
}

static int has_alnum(const char *p)
{
    for (; *p; p++)
        if (isalnum((unsigned char)*p)) return 1;
    return 0;
}

/* A write whose target or content is garbage: a file name without a letter or digit (",", "-"),
 * or a whole-file content without any (","). Typical of a malformed tool call that still went
 * through. */
static void rule_garbled_write(ctx *c)
{
    if (!on(c, "garbled_write")) return;
    for (size_t i = 0; i < c->n; i++) {
        info *in = &c->in[i];
        const ct_step *s = &c->t->steps[i];
        if (!in->changed || (in->fine != CT_FINE_CREATE && in->fine != CT_FINE_EDIT)) continue;
        for (size_t k = 0; k < s->n_files; k++) {
            const ct_file_touch *f = &s->files[k];
            if (!f->path) continue;
            const char *b = strrchr(f->path, '/');
            b = b ? b + 1 : f->path;
            int bad_name = *b && !has_alnum(b);
            int bad_content = f->content && !is_blank(f->content) && !has_alnum(f->content);
            if (!bad_name && !bad_content) continue;
            int ev = (int)i + 1;
            set(c, i, CT_LABEL_INCORRECT, "garbled-write", "wrong_target", "moderate",
                "Write the intended content to the intended path; check the tool call's "
                "arguments.",
                &ev, 1,
                bad_name ? "Step %d writes to \"%s\", a path with no real file name: the tool "
                           "call was malformed and left a stray file."
                         : "Step %d overwrites %s with content that has no letters or digits, "
                           "destroying what the file should hold.",
                (int)i + 1, f->path);
            break;
        }
    }
}

/* One replay of the run's edits in memory (ct_spans_syntax_scan) finds the edits that broke the
 * syntax of the definition they touched; editing code that was already broken is not blamed. */
static void rule_syntax_broken(ctx *c)
{
    if (!on(c, "syntax_broken") || c->n == 0) return;
    unsigned char *broken = ct_xcalloc(c->n, 1);
    char **why = ct_xcalloc(c->n, sizeof *why);
    if (ct_spans_syntax_scan(c->t, broken, why) > 0) {
        for (size_t i = 0; i < c->n; i++) {
            if (!broken[i] || c->in[i].invoke_error) continue;
            int ev = (int)i + 1;
            set(c, i, CT_LABEL_INCORRECT, "syntax-broken", "wrong_target", "moderate",
                "Re-read the edited definition and fix the syntax before running anything.", &ev, 1,
                "%s%s", why[i] ? why[i] : "the edit left a syntax error",
                why[i] && why[i][strlen(why[i]) - 1] == '.' ? "" : ".");
        }
    }
    for (size_t i = 0; i < c->n; i++)
        free(why[i]);
    free(why);
    free(broken);
}

static void rule_outside_patch(ctx *c)
{
    if (!on(c, "outside_patch")) return;
    const char *patch = c->t->final_patch;
    if (!patch || is_blank(patch) || !strstr(patch, "diff")) return;
    for (size_t i = 0; i < c->n; i++) {
        info *in = &c->in[i];
        if (!in->changed || in->fine != CT_FINE_EDIT || !in->wpath || in->revert) continue;
        if (scratch_path(in->wpath) || path_in_patch(patch, in->wpath)) continue;
        /* an edit to a file that the agent created itself is scratch work too */
        int created = 0;
        for (size_t k = 0; k < i && !created; k++)
            if (c->in[k].fine == CT_FINE_CREATE && c->in[k].wpath &&
                !strcmp(c->in[k].wpath, in->wpath))
                created = 1;
        if (created) continue;
        int ev = (int)i + 1;
        set(c, i, CT_LABEL_INCORRECT, "outside-patch", "wrong_target", "moderate",
            "Edit the file the fix belongs in.", &ev, 1,
            "Step %d edits %s, which the submitted patch does not contain: the edit was undone "
            "or aimed at the wrong file.",
            (int)i + 1, in->wpath);
    }
}

static int submit_index(const ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->in[i].fine == CT_FINE_SUBMIT && !c->in[i].invoke_error) return (int)i;
    return -1;
}

static void rule_after_done(ctx *c)
{
    if (!on(c, "after_done")) return;
    int sub = submit_index(c);
    if (sub < 0) return;
    long long min = num(c, "after_done", "min_trailing_steps", 1);
    size_t trailing = 0;
    for (size_t i = (size_t)sub + 1; i < c->n; i++)
        if (c->in[i].fine != CT_FINE_SUBMIT) trailing++;
    if ((long long)trailing < min) return;
    for (size_t i = (size_t)sub + 1; i < c->n; i++) {
        if (c->in[i].fine == CT_FINE_SUBMIT) continue;
        int ev[2] = {sub + 1, (int)i + 1};
        set(c, i, CT_LABEL_UNUSEFUL, "after-done", "redundant", "minor",
            "Stop once the work is submitted.", ev, 2,
            "Step %d comes after the agent had already submitted at step %d, so it cannot "
            "change the outcome.",
            (int)i + 1, sub + 1);
    }
}

/* Next word of a command line without quotes; options (-x) are skipped when skip_opts. Returns
 * the position after it, and the word (lowercased, at most 127 bytes) in w; NULL at the end. */
static const char *next_operand(const char *p, char *w, size_t size)
{
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p) return NULL;
        size_t n = 0;
        while (*p && !isspace((unsigned char)*p)) {
            char ch = *p++;
            if (ch == '\'' || ch == '"') continue;
            if (n + 1 < size) w[n++] = (char)tolower((unsigned char)ch);
        }
        w[n] = 0;
        if (w[0] == '-' || !n) continue;
        return p;
    }
}

/* Same operands (program, patterns, paths) up to letter case, different options. */
static int same_operands(const char *a, const char *b)
{
    char wa[128], wb[128];
    int n = 0;
    for (;;) {
        a = next_operand(a, wa, sizeof wa);
        b = next_operand(b, wb, sizeof wb);
        if (!a || !b) return !a && !b && n > 1;
        if (strcmp(wa, wb) != 0) return 0;
        if (++n > 64) return 0;
    }
}

static void rule_unused_explore(ctx *c)
{
    if (!on(c, "unused_explore")) return;
    for (size_t i = 0; i + 1 < c->n; i++) {
        info *in = &c->in[i];
        const ct_step *s = &c->t->steps[i];
        if (in->fine != CT_FINE_EXPLORE || !in->empty_out || !in->failed) continue;
        /* the same lookup is redone right after with other options or another letter case
         * (find -name → -iname, grep → grep -i): this attempt missed */
        const char *a = s->action ? s->action : "";
        if (!*a) continue;
        for (size_t k = i + 1; k < c->n && k <= i + 2; k++) {
            const char *b = c->t->steps[k].action ? c->t->steps[k].action : "";
            if (c->in[k].key != in->key && same_operands(a, b)) {
                int ev[2] = {(int)i + 1, (int)k + 1};
                set(c, i, CT_LABEL_UNUSEFUL, "unused-explore", "redundant", "minor",
                    "Aim the search where the previous output points.", ev, 2,
                    "Step %d returned nothing and step %d had to redo the lookup differently, "
                    "so its output was never used.",
                    (int)i + 1, (int)k + 1);
                break;
            }
        }
    }
}

/* The outcome rules (unsolved-final, failed-submit) only act on a verdict: solved = false, or a
 * recorded reward of 0 or less. An unknown outcome is never taken for a failure. */
static int judged_unsolved(const ct_trajectory *t)
{
    if (t->solved == CT_TRUE) return 0;
    return t->solved == CT_FALSE || (t->has_reward && t->reward <= 0.0);
}

/* The run was judged unsolved: the last version of each deliverable file the agent wrote is
 * what failed. Scratch files (reproduction scripts, /tmp) and files removed later are left out. */
static void rule_unsolved_final(ctx *c)
{
    if (!on(c, "unsolved_final") || !judged_unsolved(c->t)) return;
    long long max_files = num(c, "unsolved_final", "max_files", 3);
    long long flagged = 0;
    for (size_t i = c->n; i-- > 0 && flagged < max_files;) {
        info *in = &c->in[i];
        if (!in->changed || !in->wpath || scratch_path(in->wpath)) continue;
        if (in->fine != CT_FINE_EDIT && in->fine != CT_FINE_CREATE && in->script < 0) continue;
        if (in->revert || in->undone_by >= 0) continue; /* not what was left in place */
        int later = 0, removed = 0;
        for (size_t k = i + 1; k < c->n && !later; k++) {
            if (c->in[k].changed && c->in[k].wpath && same_path(c->in[k].wpath, in->wpath))
                later = 1;
            const char *a = c->t->steps[k].action;
            if (c->in[k].fine == CT_FINE_FS && a && strstr(a, "rm ") &&
                mentions_file(a, strrchr(in->wpath, '/') ? strrchr(in->wpath, '/') + 1 : in->wpath))
                removed = 1;
        }
        if (later || removed) continue;
        int ev = (int)i + 1;
        set(c, i, CT_LABEL_INCORRECT, "unsolved-final", "wrong_target", "critical",
            "Check the deliverable against the task's requirements before finishing.", &ev, 1,
            "Step %d wrote the final version of %s, and the run was judged unsolved with it in "
            "place.",
            (int)i + 1, in->wpath);
        if (in->script >= 0) {
            /* the script's code is what the final version holds */
            int ev2[2] = {in->script + 1, (int)i + 1};
            set(c, (size_t)in->script, CT_LABEL_INCORRECT, "unsolved-final", "wrong_target",
                "critical",
                "Check the deliverable against the task's requirements before finishing.", ev2, 2,
                "Step %d wrote the script whose run at step %d produced the final version of %s, "
                "and the run was judged unsolved with it in place.",
                in->script + 1, (int)i + 1, in->wpath);
        }
        flagged++;
    }
}

static void rule_failed_submit(ctx *c)
{
    if (!on(c, "failed_submit")) return;
    int failed = judged_unsolved(c->t);
    int sub = submit_index(c);
    if (sub < 0) return;
    int ev[2] = {sub + 1, 0};
    if (failed) {
        set(c, (size_t)sub, CT_LABEL_INCORRECT, "failed-submit", "premature_conclusion", "critical",
            "Verify the result against the task's requirements before submitting.", ev, 1,
            "Step %d declares the task done, but the run was judged unsolved.", sub + 1);
        return;
    }
    if (c->t->solved == CT_TRUE) return;
    /* outcome unknown: submitting on top of rewritten tests is still a wrong conclusion */
    for (int i = 0; i < sub; i++) {
        const ct_step_label *l = &c->a->labels[i];
        if (l->label != CT_LABEL_INCORRECT || !l->rule || strcmp(l->rule, "weakened-test") != 0)
            continue;
        ev[1] = i + 1;
        set(c, (size_t)sub, CT_LABEL_INCORRECT, "failed-submit", "premature_conclusion", "critical",
            "Verify the result against the task's requirements before submitting.", ev, 2,
            "Step %d submits work whose tests were rewritten at step %d to pass, so the "
            "submission is not verified by the original tests.",
            sub + 1, i + 1);
        return;
    }
    /* outcome unknown: submitting right after the tests that passed earlier failed, with nothing
     * changed since, leaves a known regression in place */
    int last = -1;
    for (int i = sub; i-- > 0;) {
        const info *in = &c->in[i];
        if (in->changed) break; /* something changed after the last test run: unknown */
        if (in->fine == CT_FINE_TEST && in->test != OUT_UNKNOWN) {
            last = i;
            break;
        }
    }
    if (last < 0 || c->in[last].test != OUT_FAIL) return;
    for (int i = 0; i < last; i++) {
        if (c->in[i].fine != CT_FINE_TEST || c->in[i].test != OUT_PASS ||
            c->in[i].key != c->in[last].key)
            continue;
        int ev3[3] = {i + 1, last + 1, sub + 1};
        set(c, (size_t)sub, CT_LABEL_INCORRECT, "failed-submit", "premature_conclusion", "critical",
            "Make the tests that passed before pass again before submitting.", ev3, 3,
            "Step %d submits although the tests that passed at step %d fail at step %d and "
            "nothing was changed since: the submission leaves a known regression in place.",
            sub + 1, i + 1, last + 1);
        return;
    }
}

/* ---- derived fields ---- */

static void derive(ctx *c)
{
    ct_analysis *a = c->a;
    int first_inc = -1, n_inc = 0, n_unu = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (a->labels[i].label == CT_LABEL_INCORRECT) {
            n_inc++;
            if (first_inc < 0) first_inc = (int)i;
        } else if (a->labels[i].label == CT_LABEL_UNUSEFUL)
            n_unu++;
    }
    char buf[1024];
    if (first_inc >= 0) {
        for (size_t i = (size_t)first_inc; i < c->n; i++) {
            const ct_step_label *l = &a->labels[i];
            if (l->label != CT_LABEL_INCORRECT) continue;
            snprintf(buf, sizeof buf, "Step %d (%s): %s", (int)i + 1, l->rule ? l->rule : "",
                     l->reasoning ? l->reasoning : "");
            ct_analysis_add_root_cause(a, buf);
            char dec[256];
            char step_summary[80];
            ct_step_summary(&c->t->steps[i], step_summary, sizeof step_summary);
            snprintf(dec, sizeof dec, "%s", step_summary);
            ct_analysis_add_decision(a, (int)i + 1, dec,
                                     l->correct_alternative ? l->correct_alternative : "");
        }
        const char *verdict = c->t->solved == CT_FALSE  ? "The run ended unsolved."
                              : c->t->solved == CT_TRUE ? "The run was still judged solved."
                                                        : "The outcome of the run is unknown.";
        ct_analysis_add_root_cause(a, verdict);
    }
    ct_buf b = CT_BUF_INIT;
    ct_buf_printf(&b, "%zu steps: %d incorrect, %d unuseful.", c->n, n_inc, n_unu);
    if (first_inc >= 0)
        ct_buf_printf(&b, " The first wrong state change is step %d (%s).", first_inc + 1,
                      a->labels[first_inc].rule);
    else if (n_unu)
        ct_buf_printf(&b, " No wrong state change was found; the waste is in repeated or failed "
                          "actions.");
    else
        ct_buf_printf(&b, " The offline rules found no problem.");
    a->summary = ct_analysis_strdup(a, b.data);
    ct_buf_clear(&b);
    /* the strategy: the alternatives of the rules that fired, once each, in step order */
    const char *seen[16];
    size_t n_seen = 0;
    for (size_t i = 0; i < c->n && n_seen < 16; i++) {
        const ct_step_label *l = &a->labels[i];
        if (l->label == CT_LABEL_CORRECT || !l->rule || !l->correct_alternative) continue;
        size_t k = 0;
        while (k < n_seen && strcmp(seen[k], l->rule) != 0)
            k++;
        if (k < n_seen) continue;
        seen[n_seen++] = l->rule;
        if (b.len) ct_buf_putc(&b, ' ');
        ct_buf_puts(&b, l->correct_alternative);
    }
    a->correct_strategy =
        ct_analysis_strdup(a, b.len ? b.data : "Keep the approach: no deviation was found.");
    ct_buf_free(&b);
}

int ct_analyze_heuristic(const ct_trajectory *t, const json_t *config, ct_analysis **out,
                         ct_error *err)
{
    *out = NULL;
    if (!t) return ct_error_set(err, CT_EINVAL, "no trajectory to analyze");
    json_t *own = NULL;
    if (!config) config = own = ct_config_defaults();
    ctx c;
    memset(&c, 0, sizeof c);
    c.t = t;
    c.cfg = config;
    c.n = t->n_steps;
    c.a = ct_analysis_new(t, "heuristic");
    c.in = ct_xcalloc(c.n ? c.n : 1, sizeof *c.in);
    c.r_inc = ct_config_double(config, "heuristic.reward.incorrect", -0.8);
    c.r_unu = ct_config_double(config, "heuristic.reward.unuseful", -0.3);
    double r_ok = ct_config_double(config, "heuristic.reward.correct", 0.5);
    if (c.r_inc < -1) c.r_inc = -1;
    if (c.r_unu < -1) c.r_unu = -1;
    if (r_ok > 1) r_ok = 1;
    for (size_t i = 0; i < c.n; i++)
        c.a->labels[i].reward = r_ok;

    int version = 0;
    for (size_t i = 0; i < c.n; i++) {
        const ct_step *s = &t->steps[i];
        info *in = &c.in[i];
        in->cls = ct_classify_step(s, &in->fine);
        in->key = action_key(s);
        in->version = version;
        const char *obs = s->observation;
        size_t len = obs ? strlen(obs) : 0;
        in->invoke_error = invoke_failed(s, in, obs, len);
        if (!in->invoke_error && obs && len < 600 &&
            (in->fine == CT_FINE_EXPLORE || in->fine == CT_FINE_FS || in->fine == CT_FINE_OTHER) &&
            obs_any(obs, len, missing_errors) && !(s->has_exit_code && s->exit_code == 0))
            in->invoke_error = 1;
        in->failed = in->invoke_error || (s->has_exit_code && s->exit_code != 0);
        if (in->fine == CT_FINE_RUN || in->fine == CT_FINE_TEST)
            in->test = test_outcome(obs, len, s->has_exit_code, s->exit_code);
        in->changed = in->cls == CT_CLASS_CHANGE && !in->invoke_error &&
                      !(s->has_exit_code && s->exit_code != 0);
        /* a run that may write files changes the state; one that only prints does not */
        if (in->changed || (in->fine == CT_FINE_RUN && run_may_write(s->action))) version++;
        in->wpath = written_path(s, in);
        in->empty_out = obs && output_blank(obs);
        in->revert_of = in->undone_by = in->script = -1;
        if (s->n_files && s->files[0].op && !strcmp(s->files[0].op, "view"))
            in->obs_lines = count_lines(obs);
    }
    find_script_writes(&c);
    find_reverts(&c);

    rule_weakened_test(&c);
    rule_rewritten_test(&c);
    rule_failed_submit(&c);
    rule_unsolved_final(&c);
    rule_garbled_write(&c);
    rule_syntax_broken(&c);
    rule_regression(&c);
    rule_reverted_edit(&c);
    rule_outside_patch(&c);
    rule_retry_failure(&c);
    rule_known_error(&c);
    rule_failed_action(&c);
    rule_empty_action(&c);
    rule_install_loop(&c);
    rule_repeat(&c);
    rule_relist(&c);
    rule_unused_explore(&c);
    rule_after_done(&c);

    ct_stage *st = NULL;
    size_t ns = 0;
    if (ct_stages_segment(t, &st, &ns) == 0 && ns) ct_analysis_set_stages(c.a, st, ns);
    free(st);
    derive(&c);

    for (size_t i = 0; i < c.n; i++)
        free((void *)c.in[i].wpath);
    free(c.in);
    json_decref(own);
    *out = c.a;
    return 0;
}

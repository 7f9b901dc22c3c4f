/* edits.c — edit reconstruction: from a step's payload or shell command to "what text it wrote
 * into which file". See ct/edits.h. Everything here reads untrusted text: every scan is bounded
 * by the string's end and payloads above CT_EDITS_MAX_TEXT are refused with a reason. */
#include "ct/edits.h"
#include "ct/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ct_edit *edit_push(ct_edit_list *l, int step_id, int touch, const char *path,
                          const char *via)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = ct_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    ct_edit *e = &l->items[l->n++];
    memset(e, 0, sizeof *e);
    e->step_id = step_id;
    e->touch = touch;
    e->path = path && *path ? ct_xstrdup(path) : NULL;
    e->via = via;
    e->literal = 1;
    return e;
}

static char *copy_text(ct_edit *e, const char *s)
{
    if (!s) return NULL;
    if (strlen(s) > CT_EDITS_MAX_TEXT) {
        e->reason = "payload larger than the 8 MiB limit";
        return NULL;
    }
    return ct_xstrdup(s);
}

void ct_edits_free(ct_edit_list *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].path);
        free(l->items[i].old_text);
        free(l->items[i].new_text);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* ---- patches ------------------------------------------------------------------------------ */

/* Next line of s starting at *p: [*ls, *le) without the newline (and without a CR before it). */
static int next_line(const char *s, size_t *p, const char **ls, size_t *ll)
{
    if (!s[*p]) return 0;
    const char *b = s + *p;
    const char *nl = strchr(b, '\n');
    size_t n = nl ? (size_t)(nl - b) : strlen(b);
    *p += n + (nl ? 1 : 0);
    *ls = b;
    *ll = n && b[n - 1] == '\r' ? n - 1 : n;
    return 1;
}

static char *patch_path(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    size_t k = 0; /* the path ends at a tab (diff -u timestamp) or the end */
    while (k < n && s[k] != '\t')
        k++;
    while (k && s[k - 1] == ' ')
        k--;
    if (k == 9 && memcmp(s, "/dev/null", 9) == 0) return NULL;
    if (k > 2 && (s[0] == 'a' || s[0] == 'b') && s[1] == '/') s += 2, k -= 2;
    return k ? ct_xstrndup(s, k) : NULL;
}

typedef struct hunk_state {
    ct_buf old, new_;
    long start;
    int open;
    int whole;   /* apply_patch "*** Add File": the hunk is the whole new file */
    int counted; /* unified diff: the @@ header gave line counts */
    long rem_old, rem_new;
} hunk_state;

static void hunk_flush(hunk_state *h, ct_edit_list *out, int step_id, int touch, const char *path,
                       const char *via, size_t *added)
{
    if (!h->open) return;
    ct_edit *e = edit_push(out, step_id, touch, path, via);
    e->old_text = ct_buf_steal(&h->old);
    e->new_text = ct_buf_steal(&h->new_);
    e->line_start = h->start;
    if (h->start > 0) {
        long nl = 0;
        for (const char *q = e->new_text; *q; q++)
            nl += *q == '\n';
        e->line_end = h->start + (nl ? nl - 1 : 0);
    }
    if (!path) e->reason = "patch hunk without a file name";
    if (h->whole) {
        e->whole_file = 1;
        free(e->old_text);
        e->old_text = NULL;
    }
    h->open = 0;
    h->whole = 0;
    (*added)++;
}

size_t ct_edits_parse_patch(const char *patch, int step_id, int touch, ct_edit_list *out)
{
    if (!patch) return 0;
    size_t added = 0, p = 0, ll;
    const char *ls;
    char *path = NULL, *minus_path = NULL;
    const char *via = strstr(patch, "*** Begin Patch") ? "apply_patch" : "patch";
    hunk_state h = {CT_BUF_INIT, CT_BUF_INIT, 0, 0, 0, 0, 0, 0};
    int in_add = 0; /* apply_patch "*** Add File": every line is "+..." */
    while (next_line(patch, &p, &ls, &ll)) {
        if (ll >= 4 && memcmp(ls, "--- ", 4) == 0 && !h.open) {
            free(minus_path);
            minus_path = patch_path(ls + 4, ll - 4);
            continue;
        }
        if (ll >= 4 && memcmp(ls, "+++ ", 4) == 0 && !h.open) {
            free(path);
            path = patch_path(ls + 4, ll - 4);
            if (!path && minus_path) {
                ct_edit *e = edit_push(out, step_id, touch, minus_path, "delete");
                e->new_text = ct_xstrdup("");
                e->whole_file = 1;
                added++;
            }
            continue;
        }
        if (ll >= 4 && memcmp(ls, "*** ", 4) == 0) {
            hunk_flush(&h, out, step_id, touch, path, via, &added);
            in_add = 0;
            static const char *const kw[] = {
                "*** Update File: ", "*** Add File: ", "*** Delete File: ", "*** Move to: "};
            for (int i = 0; i < 4; i++) {
                size_t kl = strlen(kw[i]);
                if (ll > kl && memcmp(ls, kw[i], kl) == 0) {
                    free(path);
                    path = ct_xstrndup(ls + kl, ll - kl);
                    if (i == 1) {
                        in_add = 1;
                        h.open = 1;
                        h.whole = 1;
                        h.start = 1;
                    } else if (i == 2) {
                        ct_edit *e = edit_push(out, step_id, touch, path, "delete");
                        e->new_text = ct_xstrdup("");
                        e->whole_file = 1;
                        added++;
                    }
                }
            }
            continue;
        }
        if (ll >= 2 && memcmp(ls, "@@", 2) == 0) {
            hunk_flush(&h, out, step_id, touch, path, via, &added);
            h.open = 1;
            h.start = 0;
            h.counted = 0;
            /* "@@ -a[,b] +c[,d] @@": count lines so that a following "--- file" is not taken
             * for a removed line */
            char hdr[128];
            size_t hl = ll < sizeof hdr - 1 ? ll : sizeof hdr - 1;
            memcpy(hdr, ls, hl);
            hdr[hl] = 0;
            long a0, b0 = 1, c0, d0 = 1;
            if (sscanf(hdr, "@@ -%ld,%ld +%ld,%ld @@", &a0, &b0, &c0, &d0) == 4 ||
                (b0 = 1, sscanf(hdr, "@@ -%ld +%ld,%ld @@", &a0, &c0, &d0) == 3) ||
                (d0 = 1, sscanf(hdr, "@@ -%ld,%ld +%ld @@", &a0, &b0, &c0) == 3) ||
                (b0 = 1, d0 = 1, sscanf(hdr, "@@ -%ld +%ld @@", &a0, &c0) == 2)) {
                h.counted = 1;
                h.rem_old = b0;
                h.rem_new = d0;
                h.start = c0;
            } else {
                const char *plus = memchr(ls, '+', ll);
                if (plus) h.start = strtol(plus + 1, NULL, 10);
            }
            continue;
        }
        if (!h.open) continue;
        if (ll && ls[0] == '\\') continue; /* "\ No newline at end of file" */
        if (ll && ls[0] == '+') {
            ct_buf_append(&h.new_, ls + 1, ll - 1);
            ct_buf_putc(&h.new_, '\n');
            h.rem_new--;
        } else if (ll && ls[0] == '-') {
            ct_buf_append(&h.old, ls + 1, ll - 1);
            ct_buf_putc(&h.old, '\n');
            h.rem_old--;
        } else if (!in_add && (ll == 0 || ls[0] == ' ')) {
            const char *c = ll ? ls + 1 : ls;
            size_t cl = ll ? ll - 1 : 0;
            ct_buf_append(&h.old, c, cl);
            ct_buf_putc(&h.old, '\n');
            ct_buf_append(&h.new_, c, cl);
            ct_buf_putc(&h.new_, '\n');
            h.rem_old--;
            h.rem_new--;
        } else {
            /* "diff --git", "index ...": the hunk is over */
            hunk_flush(&h, out, step_id, touch, path, via, &added);
        }
        if (h.open && h.counted && h.rem_old <= 0 && h.rem_new <= 0)
            hunk_flush(&h, out, step_id, touch, path, via, &added);
    }
    hunk_flush(&h, out, step_id, touch, path, via, &added);
    ct_buf_free(&h.old);
    ct_buf_free(&h.new_);
    free(path);
    free(minus_path);
    return added;
}

/* ---- shell commands ----------------------------------------------------------------------- */

/* One shell word starting at s (stops at whitespace or ; & | < >), quotes removed. */
static char *shell_word(const char *s, const char *end, const char **after)
{
    ct_buf w = CT_BUF_INIT;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (s < end && *s && !strchr(" \t\r;&|<>\n", *s)) {
        if (*s == '\'' || *s == '"') {
            char q = *s++;
            while (s < end && *s != q) {
                if (q == '"' && *s == '\\' && s + 1 < end) s++;
                ct_buf_putc(&w, *s++);
            }
            if (s < end) s++;
        } else if (*s == '\\' && s + 1 < end) {
            ct_buf_putc(&w, s[1]);
            s += 2;
        } else {
            ct_buf_putc(&w, *s++);
        }
    }
    if (after) *after = s;
    if (!w.len) {
        ct_buf_free(&w);
        return NULL;
    }
    return ct_buf_steal(&w);
}

/* Heredoc starting at the `<<` in line [ls, le): returns the body (malloc'd) and sets *next to
 * where the command continues after the terminator line. NULL when unterminated. */
static char *heredoc_body(const char *hd, const char *le, const char **next)
{
    const char *q = hd + 2;
    int strip_tabs = 0;
    if (q < le && *q == '-') strip_tabs = 1, q++;
    char *delim = shell_word(q, le, NULL);
    if (!delim) return NULL;
    const char *body = *le == '\n' ? le + 1 : le;
    ct_buf b = CT_BUF_INIT;
    const char *p = body;
    int closed = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        const char *e = nl ? nl : p + strlen(p);
        const char *c = p;
        if (strip_tabs)
            while (c < e && *c == '\t')
                c++;
        size_t cl = (size_t)(e - c);
        if (cl && c[cl - 1] == '\r') cl--;
        if (cl == strlen(delim) && memcmp(c, delim, cl) == 0) {
            closed = 1;
            p = nl ? nl + 1 : e;
            break;
        }
        ct_buf_append(&b, c, (size_t)(e - c));
        ct_buf_putc(&b, '\n');
        p = nl ? nl + 1 : e;
    }
    free(delim);
    *next = p;
    if (!closed) {
        ct_buf_free(&b);
        return NULL;
    }
    return ct_buf_steal(&b);
}

/* The word after the first unquoted `>` or `>>` in [s, e) that is not part of `<<`. */
static char *redirect_target(const char *s, const char *e, int *append)
{
    char q = 0;
    for (const char *p = s; p < e; p++) {
        if (q) {
            if (*p == q) q = 0;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            q = *p;
            continue;
        }
        if (*p == '>' && (p == s || p[-1] != '2') && (p == s || p[-1] != '&')) {
            *append = p + 1 < e && p[1] == '>';
            return shell_word(p + (*append ? 2 : 1), e, NULL);
        }
    }
    return NULL;
}

/* Read one `s<d>pat<d>rep<d>flags` expression; returns 1 with malloc'd parts. */
static int sed_subst(const char *x, char **pat, char **rep, int *literal)
{
    const char *p = x;
    while (isdigit((unsigned char)*p) || *p == ',' || *p == '$')
        p++; /* a line address: the replacement text is still what it wrote */
    if (*p != 's' || !p[1] || isalnum((unsigned char)p[1]) || p[1] == '\\' || p[1] == '\n')
        return 0;
    char d = p[1];
    const char *parts[2];
    size_t lens[2];
    const char *c = p + 2;
    for (int i = 0; i < 2; i++) {
        parts[i] = c;
        while (*c && *c != d) {
            if (*c == '\\' && c[1]) c++;
            c++;
        }
        if (!*c) return 0;
        lens[i] = (size_t)(c - parts[i]);
        c++;
    }
    /* unescape: \d → d, \/ → /, \n → newline; refuse & and \1 in the replacement */
    char *outs[2];
    int lit = 1;
    for (int i = 0; i < 2; i++) {
        ct_buf b = CT_BUF_INIT;
        for (size_t k = 0; k < lens[i]; k++) {
            char ch = parts[i][k];
            if (ch == '\\' && k + 1 < lens[i]) {
                char nx = parts[i][++k];
                if (i == 1 && isdigit((unsigned char)nx)) {
                    ct_buf_free(&b);
                    if (i == 1) free(outs[0]);
                    return 0;
                }
                if (nx == 'n')
                    ct_buf_putc(&b, '\n');
                else if (nx == 't')
                    ct_buf_putc(&b, '\t');
                else {
                    if (i == 0 && !strchr("/|#,:@!", nx) && nx != d) lit = 0;
                    ct_buf_putc(&b, nx);
                }
                continue;
            }
            if (i == 1 && ch == '&') {
                ct_buf_free(&b);
                free(outs[0]);
                return 0;
            }
            if (i == 0 && strchr(".*[]^$", ch)) lit = 0;
            ct_buf_putc(&b, ch);
        }
        outs[i] = ct_buf_steal(&b);
    }
    *pat = outs[0];
    *rep = outs[1];
    *literal = lit;
    return 1;
}

/* `sed -i[SUF] [-e] EXPR... FILE...` on the line [s, e). */
static void parse_sed(const char *s, const char *e, int step_id, ct_edit_list *out)
{
    const char *p = s + 3;
    char *words[32];
    int nw = 0, in_place = 0;
    while (p < e && nw < 32) {
        const char *after;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (p >= e || strchr(";&|", *p)) break;
        char *w = shell_word(p, e, &after);
        if (!w || after == p) {
            free(w);
            break;
        }
        p = after;
        words[nw++] = w;
    }
    char *expr = NULL;
    const char *file = NULL;
    for (int i = 0; i < nw; i++) {
        if (ct_str_starts(words[i], "-i") || strcmp(words[i], "--in-place") == 0) {
            in_place = 1;
        } else if (strcmp(words[i], "-e") == 0 && i + 1 < nw) {
            if (!expr) expr = words[i + 1];
            i++;
        } else if (words[i][0] == '-') {
            continue;
        } else if (!expr) {
            expr = words[i];
        } else {
            file = words[i];
        }
    }
    if (in_place && file) {
        ct_edit *ed = edit_push(out, step_id, -1, file, "sed");
        char *pat = NULL, *rep = NULL;
        int lit = 1;
        if (expr && sed_subst(expr, &pat, &rep, &lit)) {
            ed->old_text = pat;
            ed->new_text = rep;
            ed->literal = lit;
        } else {
            ed->reason = "sed expression is not a plain s/old/new/ substitution";
        }
    }
    for (int i = 0; i < nw; i++)
        free(words[i]);
}

static int word_is(const char *s, const char *e, const char *w)
{
    size_t n = strlen(w);
    return (size_t)(e - s) >= n && memcmp(s, w, n) == 0 &&
           ((size_t)(e - s) == n || strchr(" \t;&|<>", s[n]));
}

/* dir joined with rel (rel absolute: rel alone), "." dropped and ".." taking back a name (never
 * above "/"); a new string, "." when nothing is left. */
static char *path_join(const char *dir, const char *rel)
{
    const char *src[2] = {rel[0] == '/' ? "" : dir, rel};
    int abs = rel[0] == '/' || dir[0] == '/';
    char *out = ct_xmalloc(strlen(dir) + strlen(rel) + 3);
    size_t len = 0, names = 0;
    if (abs) out[len++] = '/';
    size_t base = len;
    for (int k = 0; k < 2; k++) {
        for (const char *p = src[k]; *p;) {
            while (*p == '/')
                p++;
            const char *e = p;
            while (*e && *e != '/')
                e++;
            size_t n = (size_t)(e - p);
            int dotdot = n == 2 && p[0] == '.' && p[1] == '.';
            if (dotdot && names) {
                while (len > base && out[len - 1] != '/') /* take back the last name */
                    len--;
                if (len > base) len--;
                names--;
            } else if (n && !(n == 1 && p[0] == '.') && !(dotdot && abs)) {
                if (len > base) out[len++] = '/';
                memcpy(out + len, p, n);
                len += n;
                names += !dotdot;
            }
            p = e;
        }
    }
    if (!len) out[len++] = '.';
    out[len] = 0;
    return out;
}

/* A `cd DIR` segment: the new working directory (tracked within one command, as the shell that
 * ran it did), or NULL for `cd` alone, `cd -`, `cd ~...` or a directory naming a variable, after
 * which relative paths are left as written. */
static char *cd_target(const char *seg, const char *se, const char *cwd)
{
    const char *after;
    char *w = shell_word(seg + 2, se, &after);
    if (!w || !*w || w[0] == '-' || w[0] == '~' || strchr(w, '$') || strchr(w, '`')) {
        free(w);
        return NULL;
    }
    char *r = path_join(cwd ? cwd : "", w);
    free(w);
    return r;
}

/* Scan a shell command for writes: heredocs into files or patch tools, sed -i. Relative paths are
 * taken from the directory a `cd` earlier in the same command went to. */
static size_t edits_from_shell(const char *cmd, int step_id, ct_edit_list *out)
{
    size_t before = out->n;
    char *cwd = NULL;
    const char *p = cmd;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        const char *le = nl ? nl : p + strlen(p);
        /* the command segments of this line, split at && ; | (enough for agents' one-liners) */
        const char *seg = p;
        const char *hd = ct_memstr(p, (size_t)(le - p), "<<");
        while (hd && hd + 2 < le && hd[2] == '<')
            hd = ct_memstr(hd + 3, (size_t)(le - hd - 3), "<<"); /* here-string <<< */
        const char *next = nl ? nl + 1 : le;
        char *body = NULL;
        if (hd) body = heredoc_body(hd, le, &next);
        while (seg < le) {
            while (seg < le && strchr(" \t;&|(", *seg))
                seg++;
            const char *se = seg;
            char q = 0;
            while (se < le) {
                if (q) {
                    if (*se == q) q = 0;
                } else if (*se == '\'' || *se == '"') {
                    q = *se;
                } else if (*se == ';' || (*se == '&' && se + 1 < le && se[1] == '&') ||
                           (*se == '|' && !(se + 1 < le && se[1] == '|'))) {
                    break;
                } else if (*se == '|') {
                    break;
                }
                se++;
            }
            int has_hd = hd && hd >= seg && hd < se;
            size_t seg_first = out->n;
            if (word_is(seg, se, "cd")) {
                char *nd = cd_target(seg, se, cwd);
                free(cwd);
                cwd = nd;
            } else if (word_is(seg, se, "cat") || word_is(seg, se, "tee") ||
                       word_is(seg, se, "printf") || word_is(seg, se, "echo")) {
                int append = 0;
                char *target = NULL;
                int is_tee = word_is(seg, se, "tee");
                if (is_tee) {
                    const char *a = seg + 3, *after;
                    char *w;
                    while ((w = shell_word(a, se, &after)) != NULL) {
                        a = after;
                        if (strcmp(w, "-a") == 0) {
                            append = 1;
                            free(w);
                            continue;
                        }
                        if (w[0] == '-') {
                            free(w);
                            continue;
                        }
                        target = w;
                        break;
                    }
                } else {
                    target = redirect_target(seg, se, &append);
                }
                if (target && strcmp(target, "/dev/null") != 0 && (is_tee || seg[0] == 'c')) {
                    ct_edit *e = edit_push(out, step_id, -1, target, is_tee ? "tee" : "heredoc");
                    if (append) e->via = "append";
                    if (has_hd && body) {
                        e->new_text = ct_xstrdup(body);
                        e->whole_file = !append;
                    } else if (has_hd) {
                        e->reason = "here-document is not terminated";
                    } else {
                        e->reason = "the written text comes from another command or file";
                    }
                } else if (target && strcmp(target, "/dev/null") != 0) {
                    ct_edit *e = edit_push(out, step_id, -1, target, append ? "append" : "write");
                    e->reason = "echo/printf output is not reconstructed";
                }
                free(target);
            } else if (word_is(seg, se, "sed")) {
                parse_sed(seg, se, step_id, out);
            } else if ((ct_str_starts(seg, "git apply") || word_is(seg, se, "patch") ||
                        word_is(seg, se, "apply_patch")) &&
                       has_hd) {
                if (body && ct_edits_parse_patch(body, step_id, -1, out) == 0) {
                    ct_edit *e = edit_push(out, step_id, -1, NULL, "patch");
                    e->reason = "patch text has no hunks";
                } else if (!body) {
                    ct_edit *e = edit_push(out, step_id, -1, NULL, "patch");
                    e->reason = "here-document is not terminated";
                }
            } else if (se > seg) {
                /* any other command writing into a file: a write we cannot replay */
                int append = 0;
                char *target = redirect_target(seg, se, &append);
                if (target && strcmp(target, "/dev/null") != 0 && target[0] != '&') {
                    ct_edit *e = edit_push(out, step_id, -1, target, append ? "append" : "write");
                    e->reason = "the written text is another command's output";
                }
                free(target);
            }
            for (size_t i = seg_first; cwd && i < out->n; i++) {
                char *path = out->items[i].path;
                if (path && path[0] != '/') {
                    out->items[i].path = path_join(cwd, path);
                    free(path);
                }
            }
            seg = se;
            if (seg < le) seg++;
        }
        free(body);
        p = next;
    }
    free(cwd);
    return out->n - before;
}

/* ---- touches ------------------------------------------------------------------------------ */

static int is_write_op(const char *op)
{
    static const char *const ops[] = {
        "str_replace", "create", "write",         "insert",    "aci_edit", "patch",     "append",
        "sed",         "edit",   "notebook_edit", "undo_edit", "revert",   "multi_edit"};
    for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i]) == 0) return 1;
    return 0;
}

static void edit_from_touch(const ct_step *s, int ti, ct_edit_list *out)
{
    const ct_file_touch *f = &s->files[ti];
    const char *op = f->op;
    if (strcmp(op, "patch") == 0 || (f->patch && !f->new_text && !f->content)) {
        if (f->patch && ct_edits_parse_patch(f->patch, s->step_id, ti, out) > 0) return;
        if (!f->patch && s->action && edits_from_shell(s->action, s->step_id, out) > 0) return;
        ct_edit *e = edit_push(out, s->step_id, ti, f->path, "patch");
        e->reason = f->patch ? "patch text has no hunks" : "patch text not recorded";
        return;
    }
    if (strcmp(op, "sed") == 0 && !f->new_text) {
        size_t n0 = out->n;
        if (s->action) edits_from_shell(s->action, s->step_id, out);
        for (size_t i = n0; i < out->n; i++)
            out->items[i].touch = ti;
        if (out->n == n0) {
            ct_edit *e = edit_push(out, s->step_id, ti, f->path, "sed");
            e->reason = "sed command could not be read";
        }
        return;
    }
    if ((strcmp(op, "create") == 0 || strcmp(op, "write") == 0) && !f->content && !f->new_text &&
        s->action) {
        /* a loader saw the write but kept no payload (OpenHands IPython create_file, ...) */
        size_t n0 = out->n;
        edits_from_shell(s->action, s->step_id, out);
        if (out->n > n0) return;
    }
    ct_edit *e = edit_push(out, s->step_id, ti, f->path, op);
    if (strcmp(op, "create") == 0 || strcmp(op, "write") == 0) {
        e->via = "write";
        e->new_text = copy_text(e, f->content ? f->content : f->new_text);
        e->whole_file = 1;
        if (!e->new_text && !e->reason) e->reason = "written content not recorded";
    } else if (strcmp(op, "str_replace") == 0 || strcmp(op, "edit") == 0 ||
               strcmp(op, "multi_edit") == 0) {
        e->via = "str_replace";
        e->old_text = copy_text(e, f->old_text);
        e->new_text = copy_text(e, f->new_text);
        /* str_replace_editor: a missing new_str means "replace by nothing" (a removal) */
        if (!e->new_text && !e->reason && e->old_text && strcmp(op, "str_replace") == 0)
            e->new_text = ct_xstrdup("");
        if (!e->new_text && !e->reason) e->reason = "replacement text not recorded";
    } else if (strcmp(op, "insert") == 0 || strcmp(op, "append") == 0) {
        e->via = strcmp(op, "insert") == 0 ? "insert" : "append";
        e->new_text = copy_text(e, f->new_text ? f->new_text : f->content);
        e->line_start = f->line_start;
        e->line_end = f->line_start;
        if (!e->new_text && !e->reason) e->reason = "inserted text not recorded";
    } else if (strcmp(op, "aci_edit") == 0) {
        e->via = "aci_edit";
        e->new_text = copy_text(e, f->new_text);
        e->line_start = f->line_start;
        e->line_end = f->line_end;
        if (!e->new_text && !e->reason) e->reason = "edit text not recorded";
        if (e->new_text && !f->line_start && !e->reason)
            e->reason = "ACI edit without its line range";
    } else if (strcmp(op, "undo_edit") == 0) {
        e->via = "undo_edit";
        e->reason = "undo_edit restores a previous version the trajectory does not carry";
    } else if (strcmp(op, "revert") == 0) {
        e->via = "revert";
        e->reason = "git checkout/restore: the restored text is not in the trajectory";
    } else {
        e->reason = "edit payload of this tool is not reconstructed";
    }
}

int ct_edits_from_step(const ct_step *s, ct_edit_list *out)
{
    if (!s || !out) return CT_EINVAL;
    int any = 0;
    for (size_t i = 0; i < s->n_files; i++) {
        if (!s->files[i].op || !is_write_op(s->files[i].op)) continue;
        edit_from_touch(s, (int)i, out);
        any = 1;
    }
    if (!any && s->action && *s->action &&
        (s->kind == CT_KIND_BASH || s->kind == CT_KIND_EDIT || s->kind == CT_KIND_CREATE ||
         s->kind == CT_KIND_OTHER))
        edits_from_shell(s->action, s->step_id, out);
    return CT_OK;
}

int ct_edits_from_traj(const ct_trajectory *t, ct_edit_list *out, ct_error *err)
{
    if (!t || !out) return ct_error_set(err, CT_EINVAL, "no trajectory to read edits from");
    for (size_t i = 0; i < t->n_steps; i++)
        ct_edits_from_step(&t->steps[i], out);
    return CT_OK;
}

/* ---- replay ------------------------------------------------------------------------------- */

static char *splice(const char *c, size_t len, size_t a, size_t b, const char *ins, size_t il,
                    size_t *out_len)
{
    size_t n = a + il + (len - b);
    char *r = ct_xmalloc(n + 1);
    memcpy(r, c, a);
    memcpy(r + a, ins, il);
    memcpy(r + a + il, c + b, len - b);
    r[n] = 0;
    *out_len = n;
    return r;
}

/* Byte offset of the start of 1-based line `line` (len when past the end). */
static size_t line_offset(const char *c, size_t len, long line)
{
    size_t off = 0;
    for (long l = 1; l < line && off < len; l++) {
        const char *nl = memchr(c + off, '\n', len - off);
        if (!nl) return len;
        off = (size_t)(nl - c) + 1;
    }
    return off;
}

char *ct_edit_apply(const ct_edit *e, const char *content, size_t len, size_t *out_len)
{
    if (!e || e->reason || !e->new_text) return NULL;
    size_t nl = strlen(e->new_text);
    if (e->whole_file) return splice("", 0, 0, 0, e->new_text, nl, out_len);
    if (!content) return NULL;
    if (strcmp(e->via, "append") == 0)
        return splice(content, len, len, len, e->new_text, nl, out_len);
    if (strcmp(e->via, "insert") == 0) {
        size_t at = line_offset(content, len, e->line_start + 1);
        return splice(content, len, at, at, e->new_text, nl, out_len);
    }
    if (strcmp(e->via, "aci_edit") == 0 && e->line_start > 0) {
        size_t a = line_offset(content, len, e->line_start);
        size_t b = line_offset(content, len, e->line_end + 1);
        if (b < a) b = a;
        return splice(content, len, a, b, e->new_text, nl, out_len);
    }
    if (!e->old_text || !*e->old_text || !e->literal) return NULL;
    const char *hit = ct_memstr(content, len, e->old_text);
    if (!hit) return NULL;
    size_t ol = strlen(e->old_text);
    if (strcmp(e->via, "sed") != 0 &&
        ct_memstr(hit + 1, len - (size_t)(hit - content) - 1, e->old_text))
        return NULL; /* ambiguous: str_replace refuses it too */
    size_t a = (size_t)(hit - content);
    return splice(content, len, a, a + ol, e->new_text, nl, out_len);
}

#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* A large text fed to jansson in 256 KiB pieces, stopping when the load is cancelled. */
typedef struct chunked {
    const char *p;
    size_t left;
    int cancelled;
} chunked;

static size_t next_chunk(void *buf, size_t size, void *ud)
{
    chunked *c = ud;
    if (ct__load_cancelled()) {
        c->cancelled = 1;
        return (size_t)-1; /* jansson: an error, the parse stops */
    }
    size_t n = c->left < size ? c->left : size;
    if (n > (256u << 10)) n = 256u << 10;
    memcpy(buf, c->p, n);
    c->p += n;
    c->left -= n;
    return n;
}

json_t *ct_fmt_parse_json(const char *data, size_t len, const char *display, ct_error *err)
{
    if (ct_is_lfs_pointer(data, len)) {
        ct_error_lfs(err, display);
        return NULL;
    }
    json_error_t je;
    json_t *v;
    if (ct__load_cancelled()) {
        ct_error_set(err, CT_ECANCELED, "loading cancelled");
        return NULL;
    }
    if (len > (1u << 20) && ct__load_cancel_set()) {
        chunked c = {data, len, 0};
        v = json_load_callback(next_chunk, &c, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!v && c.cancelled) {
            ct_error_set(err, CT_ECANCELED, "loading cancelled");
            return NULL;
        }
    } else {
        v = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    }
    if (!v) {
        int truncated = je.position >= (int)len || strstr(je.text, "end of file") != NULL;
        ct_error_setf(err, CT_EPARSE, display, je.position, je.line, "%s JSON: %s",
                      truncated ? "truncated" : "invalid", je.text);
    }
    return v;
}

int ct_fmt_read_json(ct_fs *fs, const char *rel, ct_buf *raw, json_t **out, ct_error *err)
{
    *out = NULL;
    int rc = ct_fs_read(fs, rel, raw, 0, err);
    if (rc != CT_OK) return rc;
    *out = ct_fmt_parse_json(raw->data, raw->len, ct_fs_display(fs, rel), err);
    return *out ? CT_OK : err ? err->code : CT_EPARSE;
}

const char *ct_fmt_str(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *ct_fmt_jstr(ct_trajectory *t, json_t *v)
{
    if (!json_is_string(v)) return NULL;
    return ct_traj_strndup(t, json_string_value(v), json_string_length(v));
}

const char *ct_fmt_content_text(ct_trajectory *t, json_t *v)
{
    if (json_is_string(v)) return ct_fmt_jstr(t, v);
    if (!json_is_array(v)) return NULL;
    ct_buf b = CT_BUF_INIT;
    size_t i;
    json_t *blk;
    int any = 0;
    json_array_foreach(v, i, blk)
    {
        json_t *tx = json_is_object(blk) ? json_object_get(blk, "text") : blk;
        if (!json_is_string(tx)) continue;
        if (any) ct_buf_putc(&b, '\n');
        ct_buf_append(&b, json_string_value(tx), json_string_length(tx));
        any = 1;
    }
    const char *r = any ? ct_traj_strndup(t, b.data, b.len) : NULL;
    ct_buf_free(&b);
    return r;
}

void ct_fmt_set_src(ct_trajectory *t, ct_source_ref *ref, const char *display, const ct_lines *li,
                    size_t start, size_t end)
{
    ref->path = ct_traj_strdup(t, display);
    ref->byte_start = start;
    ref->byte_end = end;
    if (li) {
        ref->line_start = ct_lines_of(li, start);
        ref->line_end = ct_lines_of(li, end > start ? end - 1 : start);
    }
}

int ct_fmt_head(ct_fs *fs, const char *rel, ct_buf *buf, size_t n)
{
    return ct_fs_read_head(fs, rel, buf, n ? n : 65536, NULL);
}

int ct_error_lfs(ct_error *err, const char *display)
{
    return ct_error_setf(
        err, CT_ELFS, display, -1, 0,
        "this is a Git LFS pointer file; the data was never downloaded (run `git lfs pull`)");
}

int ct_fmt_read_data(ct_fs *fs, const char *rel, ct_buf *raw, ct_error *err)
{
    int rc = ct_fs_read(fs, rel, raw, 0, err);
    if (rc != CT_OK) return rc;
    if (ct_is_lfs_pointer(raw->data, raw->len)) return ct_error_lfs(err, ct_fs_display(fs, rel));
    return CT_OK;
}

int ct_is_lfs_pointer(const char *data, size_t n)
{
    static const char sig[] = "version https://git-lfs.github.com/spec/v1";
    return n >= sizeof sig - 1 && n < 1024 && memcmp(data, sig, sizeof sig - 1) == 0;
}

int ct_fmt_is_tb_trial(ct_fs *fs, const char *trial_rel)
{
    char *r = ct_path_join(trial_rel, "results.json");
    char *c = ct_path_join(trial_rel, "commands.txt");
    int yes = ct_fs_is_file(fs, r) && (ct_fs_is_file(fs, c) || ct_fs_is_dir(fs, trial_rel));
    if (yes && !ct_fs_is_file(fs, c)) {
        ct_buf b = CT_BUF_INIT;
        yes = ct_fmt_head(fs, r, &b, 8192) == 0 && ct_memstr(b.data, b.len, "\"is_resolved\"");
        ct_buf_free(&b);
    }
    free(r);
    free(c);
    return yes;
}

void ct_fmt_tb_trial_fill(ct_fs *fs, const char *trial_rel, ct_trajectory *t)
{
    char *r = ct_path_join(trial_rel, "results.json");
    ct_buf raw = CT_BUF_INIT;
    json_t *j = NULL;
    if (ct_fs_is_file(fs, r) && ct_fmt_read_json(fs, r, &raw, &j, NULL) == CT_OK &&
        json_is_object(j)) {
        if (!t->task) t->task = ct_fmt_jstr(t, json_object_get(j, "instruction"));
        json_t *res = json_object_get(j, "is_resolved");
        if (json_is_boolean(res)) t->solved = json_is_true(res) ? CT_TRUE : CT_FALSE;
        static const char *keys[] = {"task_id",        "trial_name",         "failure_mode",
                                     "parser_results", "total_input_tokens", "total_output_tokens"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            json_t *v = json_object_get(j, keys[i]);
            if (v && !json_is_null(v)) json_object_set(t->metadata, keys[i], v);
        }
    }
    json_decref(j);
    ct_buf_free(&raw);
    free(r);
}

static int word_is(const char *w, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(w, s, n) == 0;
}

ct_step_kind ct_fmt_kind_from_shell(const char *cmd)
{
    if (!cmd) return CT_KIND_OTHER;
    while (isspace((unsigned char)*cmd))
        cmd++;
    if (strstr(cmd, "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT") || strcmp(cmd, "submit") == 0)
        return CT_KIND_SUBMIT;
    const char *e = cmd;
    while (*e && !isspace((unsigned char)*e) && *e != ';' && *e != '|' && *e != '&')
        e++;
    size_t n = (size_t)(e - cmd);
    if (word_is(cmd, n, "cat") || word_is(cmd, n, "head") || word_is(cmd, n, "tail") ||
        word_is(cmd, n, "less") || word_is(cmd, n, "nl") || word_is(cmd, n, "open") ||
        word_is(cmd, n, "goto") || word_is(cmd, n, "scroll_down") || word_is(cmd, n, "scroll_up"))
        return strstr(cmd, ">") && !strstr(cmd, "2>") ? CT_KIND_BASH : CT_KIND_READ;
    if (word_is(cmd, n, "grep") || word_is(cmd, n, "rg") || word_is(cmd, n, "find") ||
        word_is(cmd, n, "ls") || word_is(cmd, n, "search_dir") || word_is(cmd, n, "search_file") ||
        word_is(cmd, n, "find_file") || word_is(cmd, n, "tree"))
        return CT_KIND_SEARCH;
    if (word_is(cmd, n, "create")) return CT_KIND_CREATE;
    if (word_is(cmd, n, "edit")) return CT_KIND_EDIT;
    return CT_KIND_BASH;
}

enum { ANSI_TEXT = 0, ANSI_ESC, ANSI_ESC_INT, ANSI_CSI, ANSI_OSC, ANSI_OSC_ESC };

void ct_fmt_ansi_feed(ct_ansi *a, ct_buf *out, const char *s, size_t n)
{
    size_t run = 0; /* start of the pending run of plain text */
    ct_buf_reserve(out, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (a->st == ANSI_TEXT) {
            if (c == 0x1b || c == '\r' || c == 0x7f || (c < 0x20 && c != '\n' && c != '\t')) {
                if (i > run) ct_buf_append(out, s + run, i - run);
                run = i + 1;
                if (c == 0x1b) {
                    a->st = ANSI_ESC;
                    a->len = 0;
                }
            }
            continue;
        }
        if (c == '\n') { /* a broken escape never swallows a line break */
            a->st = ANSI_TEXT;
            run = i;
            continue;
        }
        run = i + 1;
        if (++a->len > 4096) { /* never let a broken escape swallow the stream */
            a->st = ANSI_TEXT;
            continue;
        }
        switch (a->st) {
        case ANSI_ESC:
            a->st = c == '['                   ? ANSI_CSI
                    : c == ']'                 ? ANSI_OSC
                    : (c >= 0x20 && c <= 0x2f) ? ANSI_ESC_INT
                                               : ANSI_TEXT;
            break;
        case ANSI_ESC_INT:
            if (c >= 0x30 && c <= 0x7e) a->st = ANSI_TEXT;
            break;
        case ANSI_CSI:
            if (c >= 0x40 && c <= 0x7e) a->st = ANSI_TEXT;
            break;
        case ANSI_OSC:
            if (c == 0x07)
                a->st = ANSI_TEXT;
            else if (c == 0x1b)
                a->st = ANSI_OSC_ESC;
            break;
        case ANSI_OSC_ESC:
            a->st = c == '\\' ? ANSI_TEXT : ANSI_OSC;
            break;
        }
    }
    if (a->st == ANSI_TEXT && n > run) ct_buf_append(out, s + run, n - run);
    out->data[out->len] = '\0'; /* reserved above: keep the buffer a C string even when empty */
}

/* The reference tool's step-JSONL annotation layout: a dir of step_<N>.jsonl files (sorted by N),
 * each holding ONE JSON object {step_index, command, terminal_result, llm_analysis?}, plus
 * task.md and optionally stage_ranges.json.
 *
 * The reference reads each file as a single JSON value and crashes on a non-numeric suffix or a
 * file with several JSON lines. Here a bad name is skipped with a warning, and a file with
 * several lines uses its first object (warning), so nothing a user hands us crashes. */
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEP_FILES 200000

static int step_no(const char *name, long *n)
{
    if (!ct_str_starts(name, "step_") || !ct_str_ends(name, ".jsonl")) return 0;
    const char *p = name + 5, *e = name + strlen(name) - 6;
    if (p >= e) return 0;
    long v = 0;
    for (; p < e; p++) {
        if (!isdigit((unsigned char)*p) || v > 100000000L) return 0;
        v = v * 10 + (*p - '0');
    }
    *n = v;
    return 1;
}

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    if (!is_dir) return CT_DETECT_NO;
    ct_dirent *ents;
    size_t n;
    if (ct_fs_list(fs, rel, &ents, &n, NULL) != CT_OK) return CT_DETECT_NO;
    int steps = 0, task = 0;
    for (size_t i = 0; i < n; i++) {
        long k;
        if (!ents[i].is_dir && step_no(ents[i].name, &k)) steps++;
        if (strcmp(ents[i].name, "task.md") == 0 || strcmp(ents[i].name, "stage_ranges.json") == 0)
            task = 1;
    }
    ct_fs_list_free(ents, n);
    if (!steps) return CT_DETECT_NO;
    return task ? 75 : CT_DETECT_LIKELY;
}

typedef struct {
    long no;
    char *name;
} step_file;

static int sf_cmp(const void *a, const void *b)
{
    long x = ((const step_file *)a)->no, y = ((const step_file *)b)->no;
    return x < y ? -1 : x > y;
}

/* The object in a step file: the whole file as one JSON value, else its first JSON line. */
static json_t *step_object(ct_trajectory *t, const char *name, const ct_buf *raw, size_t *end)
{
    *end = raw->len;
    json_t *v = json_loadb(raw->data, raw->len, JSON_ALLOW_NUL, NULL);
    if (json_is_object(v)) return v;
    json_decref(v);
    size_t pos = 0, lines = 0;
    json_t *first = NULL;
    while (pos < raw->len) {
        const char *nl = memchr(raw->data + pos, '\n', raw->len - pos);
        size_t e = nl ? (size_t)(nl - raw->data) : raw->len;
        size_t s = ct_json_skip_ws(raw->data, e, pos);
        if (s < e) {
            lines++;
            if (!first) {
                json_error_t je;
                first = json_loadb(raw->data + s, e - s, JSON_ALLOW_NUL, &je);
                if (!json_is_object(first)) {
                    json_decref(first);
                    first = NULL;
                    ct_traj_warn(t, "%s: line %zu is not a JSON object (%s); step skipped", name,
                                 lines, je.text);
                    return NULL;
                }
                *end = e;
            }
        }
        pos = e + 1;
    }
    if (first && lines > 1)
        ct_traj_warn(t, "%s holds %zu JSON lines; the first one is the step, the rest were ignored",
                     name, lines);
    if (!first) ct_traj_warn(t, "%s is empty; step skipped", name);
    return first;
}

static const char *text_of(ct_trajectory *t, json_t *v)
{
    if (!v || json_is_null(v)) return NULL;
    if (json_is_string(v)) return ct_fmt_jstr(t, v);
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *r = ct_traj_strdup(t, s);
    free(s);
    return r;
}

static void read_task_and_stages(ct_fs *fs, const char *rel, ct_trajectory *t)
{
    char *task = ct_path_join(rel, "task.md");
    ct_buf b = CT_BUF_INIT;
    if (ct_fs_is_file(fs, task) && ct_fs_read(fs, task, &b, 0, NULL) == CT_OK && b.data) {
        size_t e = b.len;
        while (e > 0 && isspace((unsigned char)b.data[e - 1]))
            e--;
        size_t s = 0;
        while (s < e && isspace((unsigned char)b.data[s]))
            s++;
        if (e > s) t->task = ct_traj_strndup(t, b.data + s, e - s);
    }
    ct_buf_free(&b);
    free(task);
    char *sr = ct_path_join(rel, "stage_ranges.json");
    json_t *v = NULL;
    if (ct_fs_is_file(fs, sr)) {
        ct_error e;
        ct_error_clear(&e);
        if (ct_fmt_read_json(fs, sr, &b, &v, &e) == CT_OK && json_is_array(v)) {
            json_object_set(t->metadata, "stage_ranges", v);
        } else {
            char m[CT_ERROR_MSG_MAX + 600];
            ct_traj_warn(t, "stage ranges ignored: %s",
                         e.code ? ct_error_format(&e, m, sizeof m)
                                : "stage_ranges.json is not a list");
        }
    }
    json_decref(v);
    ct_buf_free(&b);
    free(sr);
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    if (!is_dir)
        return ct_error_setf(err, CT_EFORMAT, ct_fs_display(fs, rel), -1, 0,
                             "the step-JSONL layout is a directory of step_<N>.jsonl files");
    ct_dirent *ents;
    size_t ne;
    int rc = ct_fs_list(fs, rel, &ents, &ne, err);
    if (rc != CT_OK) return rc;
    ct_trajectory *t = ct_traj_new("step-jsonl", ct_fs_display(fs, rel));
    step_file *sf = ct_xcalloc(ne + 1, sizeof *sf);
    size_t n = 0;
    for (size_t i = 0; i < ne; i++) {
        long k;
        if (ents[i].is_dir || !ct_str_ends(ents[i].name, ".jsonl") ||
            !ct_str_starts(ents[i].name, "step_"))
            continue;
        if (!step_no(ents[i].name, &k)) {
            ct_traj_warn(t, "%s: no step number after step_; file skipped", ents[i].name);
            continue;
        }
        if (n >= MAX_STEP_FILES) {
            ct_traj_warn(t, "more than %d step files; the rest were not read", MAX_STEP_FILES);
            break;
        }
        sf[n].no = k;
        sf[n].name = ct_xstrdup(ents[i].name);
        n++;
    }
    ct_fs_list_free(ents, ne);
    qsort(sf, n, sizeof *sf, sf_cmp);
    read_task_and_stages(fs, rel, t);
    json_t *notes = json_array();
    ct_buf raw = CT_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char *p = ct_path_join(rel, sf[i].name);
        ct_buf_clear(&raw);
        ct_error e;
        ct_error_clear(&e);
        if (ct_fs_read(fs, p, &raw, 0, &e) != CT_OK) {
            char m[CT_ERROR_MSG_MAX + 600];
            ct_traj_warn(t, "step file skipped: %s", ct_error_format(&e, m, sizeof m));
            free(p);
            continue;
        }
        if (!raw.data) ct_buf_puts(&raw, "");
        size_t end;
        json_t *o = step_object(t, sf[i].name, &raw, &end);
        if (o) {
            ct_step *s = ct_traj_add_step(t);
            json_t *si = json_object_get(o, "step_index");
            if (!json_is_integer(si)) si = json_object_get(o, "step_id");
            s->bench_step_id = json_is_integer(si) ? (int)json_integer_value(si) : (int)sf[i].no;
            const char *cmd = text_of(t, json_object_get(o, "command"));
            s->action = cmd ? cmd : "";
            s->observation = text_of(t, json_object_get(o, "terminal_result"));
            s->thought = text_of(t, json_object_get(o, "thought"));
            s->kind = ct_fmt_kind_from_shell(s->action);
            s->tool = "bash";
            ct_lines li;
            ct_lines_build(&li, raw.data, raw.len);
            ct_fmt_set_src(t, &s->src, ct_fs_display(fs, p), &li, 0, end);
            ct_lines_free(&li);
            json_t *la = json_object_get(o, "llm_analysis");
            if (la && !json_is_null(la))
                json_array_append_new(
                    notes, json_pack("{s:i, s:O}", "step_id", s->step_id, "llm_analysis", la));
            json_decref(o);
        }
        free(p);
    }
    ct_buf_free(&raw);
    if (json_array_size(notes)) json_object_set(t->metadata, "step_annotations", notes);
    json_decref(notes);
    if (t->n_steps == 0) ct_traj_warn(t, "no readable step_<N>.jsonl file: no steps");
    for (size_t i = 0; i < n; i++)
        free(sf[i].name);
    free(sf);
    ct_traj_list_push(out, t);
    return CT_OK;
}

const ct_loader ct_loader_step_jsonl = {
    .name = "step-jsonl",
    .agent = "(any)",
    .summary =
        "CodeTracer step-JSONL annotations: step_<N>.jsonl files (one object each) + task.md",
    .detection = "a directory with step_<N>.jsonl files",
    .detect = detect,
    .load = load,
};

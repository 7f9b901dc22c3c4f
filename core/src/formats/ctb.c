/* CodeTraceBench's normalised layout: a dir with steps.json + stage_ranges.json (+ task.md,
 * tree.md), and the reference tool's own pre-normalised steps.json (no stage_ranges.json).
 *
 * steps.json is a list of {step_id, action_ref{path, line_start, line_end, content},
 * observation_ref|null} (benchmark) or {step_id, action, observation, thinking, tool_type,
 * parallel_group, action_ref, observation_ref} (reference tool). The refs' `content` is the
 * verbatim raw text of the agent's own files: a message object of a mini-SWE-agent
 * trajectory, a fenced bash block of its log, a one-line OpenHands event, a Terminus
 * response.txt / prompt.txt. We read the action and observation out of that text with the same
 * builders the native loaders use, keep the benchmark's step ids as bench_step_id, the refs'
 * path and lines as the source, and the stage ranges verbatim in metadata. */
#include "agent_steps.h"
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int detect(ct_fs *fs, const char *rel, int is_dir)
{
    char *steps = is_dir ? ct_path_join(rel, "steps.json") : NULL;
    if (!is_dir) {
        char *base = ct_path_base(rel);
        int yes = strcmp(base, "steps.json") == 0;
        free(base);
        if (!yes) return CT_DETECT_NO;
        steps = ct_xstrdup(rel);
    }
    int score = CT_DETECT_NO;
    if (ct_fs_is_file(fs, steps)) {
        ct_buf b = CT_BUF_INIT;
        if (ct_fmt_head(fs, steps, &b, 4096) == 0 && b.data) {
            size_t s = ct_json_skip_ws(b.data, b.len, 0);
            if (s < b.len && b.data[s] == '[' &&
                (ct_memstr(b.data, b.len, "\"step_id\"") || ct_memstr(b.data, b.len, "\"action")))
                score = 80;
            else if (s + 1 < b.len && b.data[s] == '[' &&
                     b.data[ct_json_skip_ws(b.data, b.len, s + 1)] == ']')
                score = CT_DETECT_LIKELY;
        }
        ct_buf_free(&b);
        if (score && is_dir) {
            char *sr = ct_path_join(rel, "stage_ranges.json");
            if (ct_fs_is_file(fs, sr)) score = CT_DETECT_SURE;
            free(sr);
        }
        if (score && !is_dir) score = 70;
    }
    free(steps);
    return score;
}

static long ref_int(json_t *v)
{
    if (json_is_integer(v)) return (long)json_integer_value(v);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *e;
        long x = strtol(s, &e, 10);
        if (e != s && !*e) return x;
    }
    return 0;
}

static void set_ref(ct_trajectory *t, ct_source_ref *r, json_t *ref)
{
    const char *p = ct_fmt_str(ref, "path");
    if (!p) return;
    r->path = ct_traj_strdup(t, p);
    r->line_start = (int)ref_int(json_object_get(ref, "line_start"));
    r->line_end = (int)ref_int(json_object_get(ref, "line_end"));
    if (r->line_end < r->line_start) r->line_end = r->line_start;
}

static char *trimmed(const char *s, size_t *n)
{
    size_t a = 0, e = strlen(s);
    while (a < e && isspace((unsigned char)s[a]))
        a++;
    while (e > a && isspace((unsigned char)s[e - 1]))
        e--;
    *n = e - a;
    return ct_xstrndup(s + a, e - a);
}

/* The ref content as a JSON object: a one-line event, or the lines of a pretty-printed message
 * object (which may end with "}," and lack nothing else). New reference or NULL. */
static json_t *content_object(const char *c, size_t n)
{
    if (n == 0 || c[0] != '{') return NULL;
    json_t *v = json_loadb(c, n, JSON_ALLOW_NUL, NULL);
    if (!v && c[n - 1] == ',') v = json_loadb(c, n - 1, JSON_ALLOW_NUL, NULL);
    if (json_is_object(v)) return v;
    json_decref(v);
    return NULL;
}

/* mini-SWE-agent: THOUGHT prose then one ```bash block. */
static void fill_fenced(ct_trajectory *t, ct_step *s, const char *text)
{
    const char *f = strstr(text, "```bash");
    size_t skip = 7;
    if (!f) {
        f = strstr(text, "```sh");
        skip = 5;
    }
    if (!f) {
        f = strstr(text, "```");
        skip = 3;
    }
    s->tool = "bash";
    if (!f) {
        size_t n;
        char *a = trimmed(text, &n);
        s->action = ct_traj_strndup(t, a, n);
        free(a);
        s->kind = ct_fmt_kind_from_shell(s->action);
        return;
    }
    const char *body = f + skip;
    while (*body && *body != '\n' && isspace((unsigned char)*body))
        body++;
    if (*body == '\n') body++;
    const char *end = strstr(body, "```");
    if (!end) end = body + strlen(body);
    char *a = ct_xstrndup(body, (size_t)(end - body));
    size_t n;
    char *tr = trimmed(a, &n);
    s->action = ct_traj_strndup(t, tr, n);
    free(tr);
    free(a);
    char *th = ct_xstrndup(text, (size_t)(f - text));
    tr = trimmed(th, &n);
    if (n) s->thought = ct_traj_strndup(t, tr, n);
    free(tr);
    free(th);
    s->kind = ct_fmt_kind_from_shell(s->action);
}

/* Lines cut out of a pretty-printed message (mini.traj.json) are often not a whole object (they
 * stop inside it, "},"): read the first "content" string field directly. Arena string or NULL. */
static const char *message_content(ct_trajectory *t, const char *c, size_t n)
{
    if (!ct_memstr(c, n, "\"role\"")) return NULL;
    const char *k = ct_memstr(c, n, "\"content\"");
    if (!k) return NULL;
    size_t pos = ct_json_skip_ws(c, n, (size_t)(k - c) + 9);
    if (pos >= n || c[pos] != ':') return NULL;
    pos = ct_json_skip_ws(c, n, pos + 1);
    if (pos >= n || c[pos] != '"') return NULL;
    size_t end = ct_json_value_end(c, n, pos);
    if (end == (size_t)-1) return NULL;
    json_t *v = json_loadb(c + pos, end - pos, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    const char *r = ct_fmt_jstr(t, v);
    json_decref(v);
    return r;
}

static int is_oh_event(json_t *o)
{
    return (json_object_get(o, "action") || json_object_get(o, "observation")) &&
           (json_object_get(o, "source") || json_object_get(o, "id"));
}

/* Build the step for one steps.json element from its action_ref content. */
static ct_step *step_from_content(ct_trajectory *t, const char *content, const char *path,
                                  int *n_run)
{
    size_t n;
    char *c = trimmed(content ? content : "", &n);
    json_t *o = content_object(c, n);
    ct_step *s;
    if (o && is_oh_event(o) && json_object_get(o, "action")) {
        s = ct_openhands_add_step(t, o, n_run);
    } else if (o && json_object_get(o, "role") && json_object_get(o, "content")) {
        s = ct_traj_add_step(t);
        const char *text = ct_fmt_content_text(t, json_object_get(o, "content"));
        fill_fenced(t, s, text ? text : "");
    } else if (o && (json_object_get(o, "commands") || json_object_get(o, "analysis") ||
                     json_object_get(o, "state_analysis"))) {
        s = ct_traj_add_step(t);
        ct_terminus_fill_step(t, s, c, n, path ? path : "response.txt");
    } else if (path && ct_str_ends(path, "response.txt")) {
        s = ct_traj_add_step(t);
        ct_terminus_fill_step(t, s, c, n, path);
    } else if (!o && message_content(t, c, n)) {
        s = ct_traj_add_step(t);
        fill_fenced(t, s, message_content(t, c, n));
    } else if (strstr(c, "```")) {
        s = ct_traj_add_step(t);
        fill_fenced(t, s, c);
    } else {
        s = ct_traj_add_step(t);
        s->action = ct_traj_strndup(t, c, n);
        s->kind = ct_fmt_kind_from_shell(s->action);
    }
    json_decref(o);
    free(c);
    return s;
}

static void observation_from_content(ct_trajectory *t, ct_step *s, const char *content,
                                     const char *path)
{
    if (!content) return;
    size_t n;
    char *c = trimmed(content, &n);
    json_t *o = content_object(c, n);
    if (o && json_object_get(o, "observation")) {
        ct_openhands_set_observation(t, s, o);
    } else if (o && json_object_get(o, "role")) {
        s->observation = ct_fmt_content_text(t, json_object_get(o, "content"));
    } else if (!o && message_content(t, c, n)) {
        s->observation = message_content(t, c, n);
    } else if ((path && ct_str_ends(path, "prompt.txt")) ||
               strstr(content, "New Terminal Output:")) {
        s->observation = ct_terminus_observation(t, content, strlen(content));
    } else {
        s->observation = ct_traj_strdup(t, content);
    }
    /* mini-SWE-agent observations carry their exit code */
    const char *rc = s->observation ? strstr(s->observation, "<returncode>") : NULL;
    if (rc && !s->has_exit_code) {
        char *e;
        long v = strtol(rc + 12, &e, 10);
        if (e != rc + 12) {
            s->has_exit_code = 1;
            s->exit_code = (int)v;
        }
    }
    json_decref(o);
    free(c);
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

/* Agent, model, task and run from a ref path <agent>/<Org__Model>/<run>/<task>/<trial>/... */
static void describe_from_path(ct_trajectory *t, const char *path)
{
    if (!path) return;
    char *segs[5] = {0};
    const char *p = path;
    for (int i = 0; i < 5; i++) {
        const char *e = strchr(p, '/');
        if (!e) break;
        segs[i] = ct_xstrndup(p, (size_t)(e - p));
        p = e + 1;
    }
    if (segs[4]) {
        static const struct {
            const char *dir, *agent;
        } agents[] = {{"openhands", "OpenHands"},  {"miniswe", "mini-SWE-agent"},
                      {"terminus2", "Terminus-2"}, {"terminus", "Terminus"},
                      {"sweagent", "SWE-agent"},   {"swe-agent", "SWE-agent"}};
        for (size_t i = 0; i < sizeof agents / sizeof agents[0]; i++)
            if (strcmp(segs[0], agents[i].dir) == 0) t->agent = agents[i].agent;
        char *m = strstr(segs[1], "__");
        if (m) {
            t->model = ct_traj_printf(t, "%.*s/%s", (int)(m - segs[1]), segs[1], m + 2);
            json_object_set_new(t->metadata, "agent_dir", json_string(segs[0]));
            json_object_set_new(t->metadata, "run_name", json_string(segs[2]));
            json_object_set_new(t->metadata, "task_id", json_string(segs[3]));
            json_object_set_new(t->metadata, "trial_name", json_string(segs[4]));
        }
    }
    for (int i = 0; i < 5; i++)
        free(segs[i]);
}

static void read_task(ct_fs *fs, const char *dir, ct_trajectory *t)
{
    char *task = ct_path_join(dir, "task.md");
    ct_buf b = CT_BUF_INIT;
    if (ct_fs_is_file(fs, task) && ct_fs_read(fs, task, &b, 0, NULL) == CT_OK && b.data) {
        size_t n;
        char *tr = trimmed(b.data, &n);
        if (n) t->task = ct_traj_strndup(t, tr, n);
        free(tr);
    }
    ct_buf_free(&b);
    free(task);
}

/* stage_ranges.json verbatim into metadata; returns the highest end_step_id (0 when none). */
static long read_stages(ct_fs *fs, const char *dir, ct_trajectory *t)
{
    char *sr = ct_path_join(dir, "stage_ranges.json");
    long max_end = 0;
    if (ct_fs_is_file(fs, sr)) {
        ct_buf b = CT_BUF_INIT;
        json_t *v = NULL;
        ct_error e;
        ct_error_clear(&e);
        if (ct_fmt_read_json(fs, sr, &b, &v, &e) == CT_OK && json_is_array(v)) {
            json_object_set(t->metadata, "stage_ranges", v);
            size_t i;
            json_t *r;
            json_array_foreach(v, i, r)
            {
                long end = ref_int(json_object_get(r, "end_step_id"));
                if (end > max_end) max_end = end;
            }
        } else {
            char m[CT_ERROR_MSG_MAX + 600];
            ct_traj_warn(t, "stage ranges ignored: %s",
                         e.code ? ct_error_format(&e, m, sizeof m)
                                : "stage_ranges.json is not a list");
        }
        json_decref(v);
        ct_buf_free(&b);
    }
    free(sr);
    return max_end;
}

/* The reference tool names Claude Code tools in tool_type; they say what the step did. */
static ct_step_kind kind_of_tool(const char *tool, const char *action)
{
    static const struct {
        const char *tool;
        ct_step_kind kind;
    } map[] = {
        {"Read", CT_KIND_READ},         {"Edit", CT_KIND_EDIT},    {"MultiEdit", CT_KIND_EDIT},
        {"NotebookEdit", CT_KIND_EDIT}, {"Write", CT_KIND_CREATE}, {"Grep", CT_KIND_SEARCH},
        {"Glob", CT_KIND_SEARCH},       {"LS", CT_KIND_SEARCH},    {"WebSearch", CT_KIND_SEARCH},
        {"TodoWrite", CT_KIND_THINK},   {"Task", CT_KIND_OTHER},   {"WebFetch", CT_KIND_OTHER}};
    for (size_t i = 0; tool && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(tool, map[i].tool) == 0) return map[i].kind;
    return ct_fmt_kind_from_shell(action);
}

static int load(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err)
{
    char *dir = is_dir ? ct_xstrdup(rel) : ct_path_parent(rel);
    char *steps = is_dir ? ct_path_join(rel, "steps.json") : ct_xstrdup(rel);
    ct_buf raw = CT_BUF_INIT;
    json_t *arr = NULL;
    int rc = ct_fmt_read_json(fs, steps, &raw, &arr, err);
    int repaired = 0;
    if (rc == CT_EPARSE && raw.data && !ct_utf8_valid(raw.data, raw.len)) {
        /* broken bytes inside strings: parse a repaired copy, spans still come from raw */
        char *fixed = ct_utf8_sanitize(raw.data, raw.len);
        arr = json_loadb(fixed, strlen(fixed), JSON_ALLOW_NUL, NULL);
        free(fixed);
        if (arr) {
            rc = CT_OK;
            repaired = 1;
            if (err) ct_error_clear(err);
        }
    }
    if (rc == CT_OK && !json_is_array(arr))
        rc = ct_error_setf(
            err, CT_EFORMAT, ct_fs_display(fs, steps), -1, 0,
            "steps.json must be a list of steps ({step_id, action_ref, observation_ref})");
    if (rc != CT_OK) {
        json_decref(arr);
        ct_buf_free(&raw);
        free(dir);
        free(steps);
        return rc;
    }
    ct_trajectory *t = ct_traj_new("codetracebench", ct_fs_display(fs, is_dir ? rel : dir));
    t->agent = NULL;
    const char *steps_display = ct_traj_strdup(t, ct_fs_display(fs, steps));
    if (repaired) ct_traj_warn(t, "%s: invalid UTF-8 replaced by U+FFFD", steps_display);
    read_task(fs, dir, t);
    char *srp = ct_path_join(dir, "stage_ranges.json");
    int bench = ct_fs_is_file(fs, srp);
    free(srp);
    long max_stage = read_stages(fs, dir, t);
    t->format_version = bench ? "step_id_maps" : "pre_normalized";

    ct_span *sp = NULL;
    long ns = ct_json_array_spans(raw.data, raw.len, 0, &sp);
    if (ns != (long)json_array_size(arr)) ns = -1;
    ct_lines li;
    ct_lines_build(&li, raw.data, raw.len);
    int n_run = 0, prev_id = 0, disorder = 0;
    size_t i;
    json_t *el;
    json_array_foreach(arr, i, el)
    {
        if (!json_is_object(el)) {
            ct_traj_warn(t, "steps.json element %zu is not an object; skipped", i + 1);
            continue;
        }
        json_t *ar = json_object_get(el, "action_ref"),
               *orf = json_object_get(el, "observation_ref");
        const char *apath = ct_fmt_str(ar, "path"), *opath = ct_fmt_str(orf, "path");
        if (!t->agent && apath) describe_from_path(t, apath);
        long sid = ref_int(json_object_get(el, "step_id"));
        if (sid <= 0) sid = (long)i + 1;
        if (sid <= prev_id) disorder = 1;
        prev_id = (int)sid;
        const char *given = ct_fmt_str(el, "action");
        ct_step *s;
        if (given && *given) {
            s = ct_traj_add_step(t);
            s->action = ct_fmt_jstr(t, json_object_get(el, "action"));
            s->kind = kind_of_tool(ct_fmt_str(el, "tool_type"), s->action);
        } else {
            s = step_from_content(t, ct_fmt_str(ar, "content"), apath, &n_run);
        }
        s->bench_step_id = (int)sid;
        const char *tool = ct_fmt_str(el, "tool_type");
        if (tool) s->tool = ct_traj_strdup(t, tool);
        const char *thinking = ct_fmt_str(el, "thinking");
        if (thinking) s->thought = ct_traj_strdup(t, thinking);
        json_t *pg = json_object_get(el, "parallel_group");
        if (json_is_integer(pg)) s->parallel_group = (int)json_integer_value(pg);
        if (json_object_get(el, "observation"))
            s->observation = text_of(t, json_object_get(el, "observation"));
        else
            observation_from_content(t, s, ct_fmt_str(orf, "content"), opath);
        if (apath)
            set_ref(t, &s->src, ar);
        else if (ns >= 0)
            ct_fmt_set_src(t, &s->src, steps_display, &li, sp[i].start, sp[i].end);
        if (opath) set_ref(t, &s->obs_src, orf);
        if (bench && !apath) ct_traj_warn(t, "step %ld has no action_ref", sid);
    }
    if (disorder)
        ct_traj_warn(t,
                     "steps.json step ids are not strictly increasing; steps kept in file order");
    if (max_stage > 0 && t->n_steps > 0 && max_stage > t->steps[t->n_steps - 1].bench_step_id)
        ct_traj_warn(
            t,
            "inconsistent benchmark entry: stage_ranges.json covers steps up to %ld but steps.json "
            "has %zu step%s (last id %d)",
            max_stage, t->n_steps, t->n_steps == 1 ? "" : "s",
            t->steps[t->n_steps - 1].bench_step_id);
    if (t->n_steps == 0) ct_traj_warn(t, "steps.json lists no steps");
    ct_lines_free(&li);
    free(sp);
    json_decref(arr);
    ct_buf_free(&raw);
    free(dir);
    free(steps);
    ct_traj_list_push(out, t);
    return CT_OK;
}

const ct_loader ct_loader_ctb = {
    .name = "codetracebench",
    .agent = "CodeTraceBench",
    .summary = "CodeTraceBench normalised steps (steps.json + stage_ranges.json + task.md) and the "
               "reference "
               "tool's pre-normalised steps.json",
    .detection =
        "a directory with steps.json (a list with step_id) — definitive with stage_ranges.json",
    .detect = detect,
    .load = load,
};

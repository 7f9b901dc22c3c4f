#include "ct/trajectory.h"

#include "arena.h"
#include "ct/buf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[CT_KIND__COUNT] = {
    "bash", "edit", "create", "read", "search", "submit", "think", "other",
};

const char *ct_step_kind_name(ct_step_kind k)
{
    return (unsigned)k < CT_KIND__COUNT ? kind_names[k] : "other";
}

ct_step_kind ct_step_kind_from_name(const char *name)
{
    for (int i = 0; name && i < CT_KIND__COUNT; i++)
        if (strcmp(name, kind_names[i]) == 0) return (ct_step_kind)i;
    return CT_KIND_OTHER;
}

ct_trajectory *ct_traj_new(const char *format, const char *path)
{
    ct_trajectory *t = ct_xcalloc(1, sizeof *t);
    t->arena = ct_arena_new();
    t->format = ct_traj_strdup(t, format ? format : "unknown");
    t->path = ct_traj_strdup(t, path ? path : "");
    t->id = t->path;
    t->solved = CT_UNKNOWN;
    t->metadata = json_object();
    return t;
}

void ct_traj_free(ct_trajectory *t)
{
    if (!t) return;
    json_decref(t->metadata);
    free(t->steps);
    free(t->warnings);
    ct_arena_free(t->arena);
    free(t);
}

const char *ct_traj_strndup(ct_trajectory *t, const char *s, size_t n)
{
    if (!s) return NULL;
    /* Every string in the model is valid UTF-8 without NUL bytes (real files embed \u0000 and
     * broken bytes); repair here, once, so nothing downstream has to care. */
    if (ct_utf8_valid(s, n)) return ct_arena_strndup(t->arena, s, n);
    char *fixed = ct_utf8_sanitize(s, n);
    const char *r = ct_arena_strndup(t->arena, fixed, strlen(fixed));
    free(fixed);
    return r;
}

const char *ct_traj_strdup(ct_trajectory *t, const char *s)
{
    return s ? ct_traj_strndup(t, s, strlen(s)) : NULL;
}

const char *ct_traj_printf(ct_trajectory *t, const char *fmt, ...)
{
    ct_buf b = CT_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    ct_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    const char *r = ct_traj_strndup(t, b.data ? b.data : "", b.len);
    ct_buf_free(&b);
    return r;
}

void *ct_traj_alloc(ct_trajectory *t, size_t n)
{
    return ct_arena_alloc(t->arena, n);
}

ct_step *ct_traj_add_step(ct_trajectory *t)
{
    if (t->n_steps == t->cap_steps) {
        t->cap_steps = t->cap_steps ? t->cap_steps * 2 : 32;
        t->steps = ct_xrealloc(t->steps, t->cap_steps * sizeof *t->steps);
    }
    ct_step *s = &t->steps[t->n_steps++];
    memset(s, 0, sizeof *s);
    s->step_id = (int)t->n_steps;
    s->bench_step_id = s->step_id;
    s->kind = CT_KIND_OTHER;
    s->action = "";
    return s;
}

ct_file_touch *ct_step_add_file(ct_trajectory *t, ct_step *s)
{
    /* Steps touch few files: grow by copying into fresh arena storage. */
    ct_file_touch *nf = ct_traj_alloc(t, (s->n_files + 1) * sizeof *nf);
    if (s->n_files) memcpy(nf, s->files, s->n_files * sizeof *nf);
    s->files = nf;
    return &s->files[s->n_files++];
}

void ct_traj_warn(ct_trajectory *t, const char *fmt, ...)
{
    ct_buf b = CT_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    ct_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (t->n_warnings == t->cap_warnings) {
        t->cap_warnings = t->cap_warnings ? t->cap_warnings * 2 : 4;
        t->warnings = ct_xrealloc(t->warnings, t->cap_warnings * sizeof *t->warnings);
    }
    t->warnings[t->n_warnings++] = ct_traj_strndup(t, b.data ? b.data : "", b.len);
    ct_buf_free(&b);
}

void ct_traj_renumber(ct_trajectory *t)
{
    for (size_t i = 0; i < t->n_steps; i++)
        t->steps[i].step_id = (int)i + 1;
}

ct_step *ct_traj_step(ct_trajectory *t, int step_id)
{
    if (step_id < 1 || (size_t)step_id > t->n_steps) return NULL;
    return &t->steps[step_id - 1];
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *ref_to_json(const ct_source_ref *r)
{
    if (!r->path) return json_null();
    return json_pack("{s:s, s:I, s:I, s:i, s:i}", "path", r->path, "byte_start",
                     (json_int_t)r->byte_start, "byte_end", (json_int_t)r->byte_end, "line_start",
                     r->line_start, "line_end", r->line_end);
}

json_t *ct_step_to_json(const ct_step *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "step_id", json_integer(s->step_id));
    json_object_set_new(o, "bench_step_id",
                        s->bench_step_id > 0 ? json_integer(s->bench_step_id) : json_null());
    json_object_set_new(o, "kind", json_string(ct_step_kind_name(s->kind)));
    json_object_set_new(o, "tool", str_or_null(s->tool));
    json_object_set_new(o, "action", json_string(s->action ? s->action : ""));
    json_object_set_new(o, "thought", str_or_null(s->thought));
    json_object_set_new(o, "observation", str_or_null(s->observation));
    json_object_set_new(o, "exit_code",
                        s->has_exit_code ? json_integer(s->exit_code) : json_null());
    json_t *files = json_array();
    for (size_t i = 0; i < s->n_files; i++) {
        const ct_file_touch *f = &s->files[i];
        json_t *fo = json_object();
        json_object_set_new(fo, "path", str_or_null(f->path));
        json_object_set_new(fo, "op", str_or_null(f->op));
        if (f->old_text) json_object_set_new(fo, "old_text", json_string(f->old_text));
        if (f->new_text) json_object_set_new(fo, "new_text", json_string(f->new_text));
        if (f->content) json_object_set_new(fo, "content", json_string(f->content));
        if (f->patch) json_object_set_new(fo, "patch", json_string(f->patch));
        if (f->line_start) json_object_set_new(fo, "line_start", json_integer(f->line_start));
        if (f->line_end) json_object_set_new(fo, "line_end", json_integer(f->line_end));
        json_array_append_new(files, fo);
    }
    json_object_set_new(o, "files", files);
    json_object_set_new(o, "parallel_group",
                        s->parallel_group ? json_integer(s->parallel_group) : json_null());
    json_object_set_new(o, "timestamp", str_or_null(s->timestamp));
    json_object_set_new(o, "source", ref_to_json(&s->src));
    json_object_set_new(o, "observation_source", ref_to_json(&s->obs_src));
    return o;
}

json_t *ct_traj_to_json(const ct_trajectory *t, int with_steps)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(t->id));
    json_object_set_new(o, "path", json_string(t->path));
    json_object_set_new(o, "format", json_string(t->format));
    json_object_set_new(o, "format_version", str_or_null(t->format_version));
    json_object_set_new(o, "agent", str_or_null(t->agent));
    json_object_set_new(o, "model", str_or_null(t->model));
    json_object_set_new(o, "task", str_or_null(t->task));
    json_t *out = json_object();
    json_object_set_new(out, "solved",
                        t->solved == CT_UNKNOWN ? json_null() : json_boolean(t->solved));
    json_object_set_new(out, "reward", t->has_reward ? json_real(t->reward) : json_null());
    json_object_set_new(out, "exit_status", str_or_null(t->exit_status));
    json_object_set_new(out, "exit_code",
                        t->has_agent_exit_code ? json_integer(t->agent_exit_code) : json_null());
    json_object_set_new(o, "outcome", out);
    json_object_set_new(o, "final_patch", str_or_null(t->final_patch));
    json_object_set(o, "metadata", t->metadata);
    json_object_set_new(o, "step_count", json_integer((json_int_t)t->n_steps));
    json_t *w = json_array();
    for (size_t i = 0; i < t->n_warnings; i++)
        json_array_append_new(w, json_string(t->warnings[i]));
    json_object_set_new(o, "warnings", w);
    if (with_steps) {
        json_t *steps = json_array();
        for (size_t i = 0; i < t->n_steps; i++)
            json_array_append_new(steps, ct_step_to_json(&t->steps[i]));
        json_object_set_new(o, "steps", steps);
    }
    return o;
}

void ct_traj_list_push(ct_traj_list *l, ct_trajectory *t)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->items = ct_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = t;
}

void ct_traj_list_free(ct_traj_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        ct_traj_free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

#include "ctp/lsp.h"

#include "ct/buf.h"
#include "ctp/rpc.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ct_lsp_severity_from_name(const char *name)
{
    static const char *const names[] = {"error", "warning", "information", "hint"};
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, names[i]) == 0) return i + 1;
    if (name && strcmp(name, "info") == 0) return CT_LSP_INFORMATION;
    return 0;
}

char *ct_lsp_uri_from_path(const char *path)
{
    ct_buf b = CT_BUF_INIT;
    ct_buf_puts(&b, "file://");
    char cwd[PATH_MAX];
    if (path[0] != '/' && getcwd(cwd, sizeof cwd)) {
        for (const char *p = cwd; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if (isalnum(c) || strchr("/-._~", c))
                ct_buf_putc(&b, (char)c);
            else
                ct_buf_printf(&b, "%%%02X", c);
        }
        ct_buf_putc(&b, '/');
    }
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) || strchr("/-._~", c))
            ct_buf_putc(&b, (char)c);
        else
            ct_buf_printf(&b, "%%%02X", c);
    }
    return ct_buf_steal(&b);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

char *ct_lsp_path_from_uri(const char *uri)
{
    if (!uri || strncmp(uri, "file://", 7) != 0) return NULL;
    const char *p = uri + 7;
    /* file://host/path: only an empty host or "localhost" names this machine. */
    if (*p != '/') {
        if (strncmp(p, "localhost/", 10) != 0) return NULL;
        p += 9;
    }
    ct_buf b = CT_BUF_INIT;
    for (; *p && *p != '?' && *p != '#'; p++) {
        if (*p == '%') {
            int h = p[1] ? hexval((unsigned char)p[1]) : -1;
            int l = h >= 0 && p[2] ? hexval((unsigned char)p[2]) : -1;
            if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                ct_buf_free(&b);
                return NULL;
            }
            ct_buf_putc(&b, (char)(h * 16 + l));
            p += 2;
        } else {
            ct_buf_putc(&b, *p);
        }
    }
    return ct_buf_steal(&b);
}

json_t *ct_lsp_position(ct_lsp_pos p)
{
    return json_pack("{s:I,s:I}", "line", (json_int_t)p.line, "character", (json_int_t)p.character);
}

json_t *ct_lsp_range(const ct_text *t, size_t a, size_t b, ct_pos_enc enc)
{
    if (b < a) b = a;
    return json_pack("{s:o,s:o}", "start", ct_lsp_position(ct_pos_from_byte(t, a, enc)), "end",
                     ct_lsp_position(ct_pos_from_byte(t, b, enc)));
}

int ct_lsp_src_span(const ct_text *t, const ct_source_ref *src, size_t *a, size_t *b)
{
    if (src->byte_end > src->byte_start && src->byte_end <= t->n) {
        *a = src->byte_start;
        *b = src->byte_end;
        return 0;
    }
    if (src->line_start > 0 && (size_t)src->line_start <= t->n_lines) {
        long le = src->line_end >= src->line_start ? src->line_end : src->line_start;
        *a = t->starts[src->line_start - 1];
        *b = ct_text_line_end(t, le - 1);
        if (*b < *a) *b = *a;
        return 0;
    }
    return -1;
}

/* First line of s, at most max bytes, cut on a character boundary. */
static void first_line(ct_buf *out, const char *s, size_t max)
{
    if (!s) return;
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
        s++;
    size_t n = strcspn(s, "\r\n");
    int cut = 0;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        cut = 1;
    }
    ct_buf_append(out, s, n);
    if (cut || s[strcspn(s, "\r\n")]) ct_buf_puts(out, "…");
}

char *ct_lsp_step_title(const ct_step *s, size_t max)
{
    ct_buf b = CT_BUF_INIT;
    ct_buf_printf(&b, "Step %d · %s", s->step_id, ct_step_kind_name(s->kind));
    if (s->action && *s->action) {
        ct_buf_puts(&b, " · ");
        first_line(&b, s->action, max);
    }
    return ct_buf_steal(&b);
}

json_t *ct_lsp_diagnostic(const ct_trajectory *t, const ct_step_label *l, json_t *range_new,
                          const ct_lsp_diag_opts *o, ct_lsp_locate_fn locate, void *ud)
{
    if (l->label == CT_LABEL_CORRECT) {
        json_decref(range_new);
        return NULL;
    }
    json_t *d = json_object();
    json_object_set_new(d, "range", range_new);
    int inc = l->label == CT_LABEL_INCORRECT;
    int sev = inc ? o->sev_incorrect : o->sev_unuseful;
    if (sev < 1 || sev > 4) sev = inc ? CT_LSP_WARNING : CT_LSP_HINT;
    json_object_set_new(d, "severity", json_integer(sev));
    if (!inc) json_object_set_new(d, "tags", json_pack("[i]", CT_LSP_TAG_UNNECESSARY));
    json_object_set_new(d, "source", json_string("codetracer"));
    if (l->rule) {
        json_object_set_new(d, "code", ct_json_text(l->rule));
        if (o->docs_url) {
            char *href = ct_xasprintf("%s#%s", o->docs_url, l->rule);
            json_object_set_new(d, "codeDescription",
                                json_pack("{s:o}", "href", ct_json_text(href)));
            free(href);
        }
    }
    ct_buf m = CT_BUF_INIT;
    ct_buf_printf(&m, "Step %d %s", l->step_id, ct_label_name(l->label));
    if (l->reasoning && *l->reasoning) ct_buf_printf(&m, ": %s", l->reasoning);
    json_object_set_new(d, "message", ct_json_textn(m.data, m.len));
    ct_buf_free(&m);
    if (o->related && l->n_evidence && locate) {
        json_t *rel = json_array();
        for (size_t i = 0; i < l->n_evidence && i < 20; i++) {
            int id = l->evidence[i];
            if (id < 1 || (size_t)id > t->n_steps) continue;
            const ct_step *es = &t->steps[id - 1];
            json_t *loc = locate(ud, es);
            if (!loc) continue;
            char *title = ct_lsp_step_title(es, 80);
            char *msg = ct_xasprintf("evidence: %s", title);
            json_array_append_new(
                rel, json_pack("{s:o,s:o}", "location", loc, "message", ct_json_text(msg)));
            free(msg);
            free(title);
        }
        if (json_array_size(rel))
            json_object_set_new(d, "relatedInformation", rel);
        else
            json_decref(rel);
    }
    json_object_set_new(d, "data",
                        json_pack("{s:o,s:i,s:s}", "traj_id", ct_json_text(t->id), "step_id",
                                  l->step_id, "label", ct_label_name(l->label)));
    return d;
}

/* ---- Markdown ------------------------------------------------------------------------- */

/* ct_utf8_sanitize of an empty input returns an unterminated buffer (core/src/buf.c:
 * ct_buf_reserve does not write the NUL), so empty text never goes through it. */
static char *clean_copy(const char *s, size_t n)
{
    return n ? ct_utf8_sanitize(s, n) : ct_xstrdup("");
}

/* A fenced block that no backtick run inside `s` can close; at most max_lines / max_bytes. */
static void fenced(ct_buf *b, const char *s, const char *lang, size_t max_lines, size_t max_bytes)
{
    if (!s) s = "";
    size_t run = 0, best = 0;
    for (const char *p = s; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > best) best = run;
    }
    size_t fence = best >= 3 ? best + 1 : 3;
    for (size_t i = 0; i < fence; i++)
        ct_buf_putc(b, '`');
    ct_buf_printf(b, "%s\n", lang);
    size_t n = strlen(s), lines = 0, i = 0;
    for (; i < n && i < max_bytes; i++) {
        if (s[i] == '\n' && ++lines >= max_lines) break;
    }
    size_t cut = i;
    while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    char *clean = clean_copy(s, cut);
    ct_buf_puts(b, clean);
    free(clean);
    if (cut < n) ct_buf_printf(b, "\n… (%zu more bytes)", n - cut);
    ct_buf_putc(b, '\n');
    for (size_t k = 0; k < fence; k++)
        ct_buf_putc(b, '`');
    ct_buf_putc(b, '\n');
}

/* Plain text on one paragraph, with Markdown's active characters escaped. */
static void text(ct_buf *b, const char *s, size_t max)
{
    if (!s) return;
    char *clean = clean_copy(s, strlen(s));
    size_t n = 0;
    for (const char *p = clean; *p && n < max; p++, n++) {
        if (strchr("\\`*_[]<>#|", *p)) ct_buf_putc(b, '\\');
        ct_buf_putc(b, *p == '\n' || *p == '\r' ? ' ' : *p);
    }
    if (strlen(clean) > max) ct_buf_puts(b, "…");
    free(clean);
}

static const ct_step_label *label_of(const ct_analysis *a, const ct_step *s)
{
    if (!a || s->step_id < 1 || (size_t)s->step_id > a->n_labels) return NULL;
    return &a->labels[s->step_id - 1];
}

static const char *lang_of(const ct_step *s)
{
    return s->kind == CT_KIND_BASH || s->kind == CT_KIND_READ || s->kind == CT_KIND_SEARCH ? "bash"
                                                                                           : "";
}

static void label_block(ct_buf *b, const ct_trajectory *t, const ct_analysis *a, const ct_step *s)
{
    const ct_step_label *l = label_of(a, s);
    if (!l) {
        ct_buf_puts(b, "**Label:** not analyzed yet\n\n");
        return;
    }
    ct_buf_printf(b, "**Label:** %s%s%s%s", l->label == CT_LABEL_INCORRECT ? "⚠ " : "",
                  ct_label_name(l->label), l->rule ? " · `" : "", l->rule ? l->rule : "");
    if (l->rule) ct_buf_puts(b, "`");
    if (l->from_feedback) ct_buf_puts(b, " (your feedback)");
    ct_buf_puts(b, "\n\n");
    if (l->from_feedback)
        ct_buf_puts(b, "**From your feedback:** this label was set by a user's verdict in the "
                       "memory database, not by the analyzer.\n\n");
    if (l->memory_note && *l->memory_note) {
        ct_buf_puts(b, "**Informed by memory:** ");
        text(b, l->memory_note, 1000);
        ct_buf_puts(b, "\n\n");
    }
    if (l->reasoning && *l->reasoning) {
        ct_buf_puts(b, "**Reasoning:** ");
        text(b, l->reasoning, 2000);
        ct_buf_puts(b, "\n\n");
    }
    if (l->n_evidence) {
        ct_buf_puts(b, "**Evidence:** step");
        ct_buf_puts(b, l->n_evidence > 1 ? "s " : " ");
        for (size_t i = 0; i < l->n_evidence && i < 20; i++)
            ct_buf_printf(b, "%s%d", i ? ", " : "", l->evidence[i]);
        ct_buf_puts(b, "\n\n");
    }
    if (l->label != CT_LABEL_CORRECT && l->correct_alternative && *l->correct_alternative) {
        ct_buf_puts(b, "**Instead:** ");
        text(b, l->correct_alternative, 1000);
        ct_buf_puts(b, "\n\n");
    }
    for (size_t i = 0; i < a->n_decisions; i++) {
        const ct_decision *d = &a->decisions[i];
        if (d->step_id != s->step_id) continue;
        ct_buf_puts(b, "**Critical decision:** ");
        text(b, d->decision, 1000);
        ct_buf_puts(b, "\n\n**Should have:** ");
        text(b, d->should_have, 1000);
        ct_buf_puts(b, "\n\n");
    }
    if (l->label != CT_LABEL_CORRECT && a->n_root_cause) {
        ct_buf_puts(b, "**Root-cause chain:**\n");
        for (size_t i = 0; i < a->n_root_cause && i < 8; i++) {
            ct_buf_printf(b, "%zu. ", i + 1);
            text(b, a->root_cause_chain[i], 400);
            ct_buf_putc(b, '\n');
        }
        ct_buf_putc(b, '\n');
        /* The decisive step of the run, when it is another step. */
        for (size_t i = 0; i < a->n_decisions && i < 1; i++) {
            const ct_decision *d = &a->decisions[i];
            if (d->step_id == s->step_id) continue;
            ct_buf_printf(b, "**Critical decision (step %d):** ", d->step_id);
            text(b, d->decision, 400);
            if (d->should_have) {
                ct_buf_puts(b, " — **should have:** ");
                text(b, d->should_have, 400);
            }
            ct_buf_puts(b, "\n\n");
        }
    }
    (void)t;
}

char *ct_lsp_hover_markdown(const ct_trajectory *t, const ct_analysis *a, const ct_step *s)
{
    ct_buf b = CT_BUF_INIT;
    ct_buf_printf(&b, "### Step %d · %s", s->step_id, ct_step_kind_name(s->kind));
    if (s->tool && *s->tool) {
        ct_buf_puts(&b, " · ");
        text(&b, s->tool, 80);
    }
    ct_buf_puts(&b, "\n\n");
    fenced(&b, s->action, lang_of(s), 20, 4000);
    ct_buf_puts(&b, "\n");
    if (s->has_exit_code) ct_buf_printf(&b, "**Exit code:** %d\n\n", s->exit_code);
    label_block(&b, t, a, s);
    return ct_buf_steal(&b);
}

char *ct_lsp_inspect_markdown(const ct_trajectory *t, const ct_analysis *a, const ct_step *s)
{
    ct_buf b = CT_BUF_INIT;
    ct_buf_printf(&b, "# Step %d of %zu · %s\n\n", s->step_id, t->n_steps,
                  ct_step_kind_name(s->kind));
    ct_buf_puts(&b, "Trajectory: ");
    text(&b, t->id, 500);
    ct_buf_printf(&b, " (%s", t->format ? t->format : "?");
    if (t->agent) ct_buf_printf(&b, ", %s", t->agent);
    ct_buf_puts(&b, ")\n\n");
    if (s->bench_step_id != s->step_id)
        ct_buf_printf(&b, "CodeTraceBench step: %d\n\n", s->bench_step_id);
    if (s->tool && *s->tool) {
        ct_buf_puts(&b, "Tool: ");
        text(&b, s->tool, 200);
        ct_buf_puts(&b, "\n\n");
    }
    if (s->src.path && s->src.line_start > 0)
        ct_buf_printf(&b, "Source: lines %d–%d\n\n", s->src.line_start, s->src.line_end);
    ct_buf_puts(&b, "## Label\n\n");
    label_block(&b, t, a, s);
    if (s->thought && *s->thought) {
        ct_buf_puts(&b, "## Thought\n\n");
        fenced(&b, s->thought, "text", 400, 64 * 1024);
        ct_buf_puts(&b, "\n");
    }
    ct_buf_puts(&b, "## Action\n\n");
    fenced(&b, s->action, lang_of(s), 2000, 256 * 1024);
    ct_buf_puts(&b, "\n");
    if (s->has_exit_code) ct_buf_printf(&b, "Exit code: %d\n\n", s->exit_code);
    for (size_t i = 0; i < s->n_files; i++) {
        const ct_file_touch *f = &s->files[i];
        ct_buf_puts(&b, "## File ");
        text(&b, f->path ? f->path : "?", 400);
        if (f->op) {
            ct_buf_puts(&b, " (");
            text(&b, f->op, 40);
            ct_buf_puts(&b, ")");
        }
        ct_buf_puts(&b, "\n\n");
        if (f->patch) fenced(&b, f->patch, "diff", 2000, 256 * 1024);
        if (f->old_text) fenced(&b, f->old_text, "", 400, 64 * 1024);
        if (f->new_text) fenced(&b, f->new_text, "", 400, 64 * 1024);
        if (f->content) fenced(&b, f->content, "", 400, 64 * 1024);
        ct_buf_puts(&b, "\n");
    }
    ct_buf_puts(&b, "## Observation\n\n");
    if (s->observation)
        fenced(&b, s->observation, "text", 2000, 256 * 1024);
    else
        ct_buf_puts(&b, "(none recorded)\n");
    return ct_buf_steal(&b);
}

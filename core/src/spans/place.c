/* place.c — every reconstructed edit onto today's files: map its path, find its new text (from
 * an open buffer or the disk), widen to the enclosing definition. Each file is read and parsed
 * once, whatever the number of edits on it; a file the caller already holds parsed (opts->doc,
 * the daemon's open documents) is neither read nor parsed. */
#include "ct/spans.h"
#include "ct/buf.h"
#include "spans/grammar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct file_slot {
    char *file;
    char *owned; /* the text read from disk (NULL when from a buffer) */
    const char *text;
    size_t len;
    int state; /* 0 ok, 1 too large, 2 unreadable */
    ct_spans_doc *doc;
    int parsed;
    int borrowed;  /* doc is the caller's (opts->doc): not freed */
    size_t *lines; /* byte offset where each line starts (made on first use) */
    size_t n_lines;
} file_slot;

typedef struct slots {
    file_slot *v;
    size_t n, cap;
} slots;

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 2;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return 2;
    }
    if ((unsigned long long)st.st_size > CT_SPANS_MAX_FILE) {
        fclose(f);
        return 1;
    }
    size_t n = (size_t)st.st_size;
    char *b = ct_xmalloc(n + 1);
    size_t got = fread(b, 1, n, f);
    fclose(f);
    b[got] = 0;
    *out = b;
    *len = got;
    return 0;
}

static file_slot *slot_for(slots *s, const char *file, const ct_spans_opts *o)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].file, file) == 0) return &s->v[i];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = ct_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    file_slot *f = &s->v[s->n++];
    memset(f, 0, sizeof *f);
    f->file = ct_xstrdup(file);
    size_t bl = 0;
    ct_spans_doc *d = o->doc ? o->doc(o->ud, file) : NULL;
    if (d) {
        f->doc = d;
        f->borrowed = 1;
        f->parsed = 1;
        f->text = ct_spans_doc_text(d, &f->len);
        return f;
    }
    const char *b = o->buffer ? o->buffer(o->ud, file, &bl) : NULL;
    if (b) {
        f->text = b;
        f->len = bl;
        if (bl > CT_SPANS_MAX_FILE) f->state = 1;
    } else {
        f->state = read_file(file, &f->owned, &f->len);
        f->text = f->owned;
    }
    return f;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') return 0;
    return 1;
}

/* Line and byte column of offset `off`, by binary search in the file's line index. */
static void pos_of(file_slot *f, size_t off, int *line, int *col)
{
    if (!f->lines) {
        size_t cap = 64;
        f->lines = ct_xmalloc(cap * sizeof *f->lines);
        f->lines[f->n_lines++] = 0;
        for (size_t i = 0; i < f->len; i++) {
            if (f->text[i] != '\n') continue;
            if (f->n_lines == cap)
                cap *= 2, f->lines = ct_xrealloc(f->lines, cap * sizeof *f->lines);
            f->lines[f->n_lines++] = i + 1;
        }
    }
    size_t lo = 0, hi = f->n_lines; /* the last line start <= off */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->lines[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    *line = (int)lo;
    *col = (int)(off - f->lines[lo]);
}

void ct_spans_places_free(ct_edit_place *p, size_t n)
{
    if (!p) return;
    for (size_t i = 0; i < n; i++)
        free(p[i].file);
    free(p);
}

int ct_spans_place_edits(const ct_edit_list *edits, const ct_spans_opts *opts, ct_edit_place **out,
                         char *root_out, size_t rootsz, ct_error *err)
{
    *out = NULL;
    ct_spans_opts o0 = {0};
    const ct_spans_opts *o = opts ? opts : &o0;
    const char *ws = o->workspace ? o->workspace : ".";
    struct stat st;
    if (stat(ws, &st) != 0 || !S_ISDIR(st.st_mode))
        return ct_error_setf(err, CT_ENOTFOUND, ws, -1, 0, "workspace is not a directory");
    char root[1024] = "";
    int have_root = 0;
    if (o->root) {
        snprintf(root, sizeof root, "%s", o->root);
        have_root = 1;
    } else if (edits->n) {
        const char **paths = ct_xcalloc(edits->n, sizeof *paths);
        for (size_t i = 0; i < edits->n; i++)
            paths[i] = edits->items[i].path;
        have_root = ct_spans_detect_root(ws, paths, edits->n, root, sizeof root) == CT_OK;
        free(paths);
    }
    if (root_out && rootsz) snprintf(root_out, rootsz, "%s", have_root ? root : "");
    ct_edit_place *pl = ct_xcalloc(edits->n ? edits->n : 1, sizeof *pl);
    slots s = {0};
    for (size_t i = 0; i < edits->n; i++) {
        const ct_edit *e = &edits->items[i];
        ct_edit_place *p = &pl[i];
        p->edit = e;
        if (!e->path) {
            p->status = "unmapped";
            continue;
        }
        char file[4096];
        int rc = ct_spans_map_path(ws, have_root ? root : NULL, o->maps, o->n_maps, e->path, file,
                                   sizeof file);
        if (rc == CT_EINVAL) {
            p->status = e->reason ? "not_reconstructed" : "unmapped";
            continue;
        }
        p->file = ct_xstrdup(file);
        p->lang = ct_spans_lang_for_path(file);
        if (rc == CT_ENOTFOUND) {
            p->status = strcmp(e->via, "delete") == 0 ? "deleted" : "file_missing";
            continue;
        }
        if (e->reason) {
            p->status = "not_reconstructed";
            continue;
        }
        if (strcmp(e->via, "delete") == 0 || !e->new_text) {
            p->status = "moved_on"; /* deleted in the run, present again today */
            continue;
        }
        if (is_blank(e->new_text)) {
            p->status = "removed"; /* it replaced text by nothing (or blanks): nothing to find */
            continue;
        }
        file_slot *f = slot_for(&s, file, o);
        if (f->state) {
            p->status = f->state == 1 ? "too_large" : "file_missing";
            continue;
        }
        if (ct__spans_locate_bytes(f->text, f->len, e->new_text, strlen(e->new_text), e->line_start,
                                   &p->match) == CT_MATCH_NONE) {
            p->status = "moved_on";
            continue;
        }
        pos_of(f, p->match.span.byte_start, &p->match.span.line_start, &p->match.span.col_start);
        pos_of(f, p->match.span.byte_end, &p->match.span.line_end, &p->match.span.col_end);
        p->status = "found";
        if (p->lang && !f->parsed) {
            f->parsed = 1;
            if (ct_spans_doc_open(p->lang, f->text, f->len, &f->doc, NULL) == CT_OK && o->n_parsed)
                (*o->n_parsed)++;
        }
        if (f->doc)
            p->has_def = ct_spans_doc_enclosing(f->doc, p->match.span.byte_start,
                                                p->match.span.byte_end, &p->def);
    }
    for (size_t i = 0; i < s.n; i++) {
        free(s.v[i].file);
        free(s.v[i].owned);
        free(s.v[i].lines);
        if (!s.v[i].borrowed) ct_spans_doc_free(s.v[i].doc);
    }
    free(s.v);
    *out = pl;
    return CT_OK;
}

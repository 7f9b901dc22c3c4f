/* sources.c — issue 6: diagnostics on the source lines the agent edited.
 *
 * For every analysed trajectory (open documents and codetracer.analyze paths) the edits are
 * reconstructed (ct_edits_from_traj), mapped to the workspace (rootUri / workspaceFolders, the
 * detected container root, the `pathMappings` setting) and placed on today's files (the open
 * buffer's text when the file is open, else the disk) with ct_spans_place_edits. Each placed
 * edit of an incorrect step (Warning by default) or an unuseful step (Hint + Unnecessary), and
 * with `showAllEdits` every other edit (Information), becomes a diagnostic on that file. One
 * publish per file, merged across trajectories; files that no longer get any are cleared.
 *
 * Trees: every open document whose language has a grammar keeps one ct_spans_doc (src_doc),
 * parsed once at didOpen and re-parsed incrementally (ct_spans_doc_edit, ts_tree_edit) for each
 * ranged didChange change, in order; a full-text change parses it again. Placement uses these
 * trees and texts for open files (no read, no parse).
 *
 * A refresh (after an analysis is installed, a document closes or is cleared, a setting changes,
 * a source document the last placement used is opened or changed — debounced) runs in three
 * parts: on the loop thread a snapshot (the edit lists and what each edit's diagnostic says,
 * clones of the open documents' trees, references to the other open texts); on the libuv thread
 * pool the placement (files read, located, parsed, line indexes); on the loop thread again, in
 * the after-work callback, the diagnostics are built and published. One placement runs at a time;
 * a refresh asked for meanwhile bumps the generation, so the running one is dropped when it ends
 * and the newest starts. The hover on such a line comes from the same table (s->src_info). */
#include "server.h"

#include "ct/buf.h"
#include "ct/edits.h"
#include "ct/spans.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MAPS 32
#define MAX_TREE_DOC (1u << 20) /* larger open documents keep no tree (placement parses them) */

/* The tree of one open document (ct_doc.src). */
typedef struct src_doc {
    ct_spans_doc *sd; /* NULL: no grammar, too large, or the parse failed */
    unsigned long n_full, n_incr;
    unsigned long n_resync; /* the debug check found the tree's text unlike the document's */
} src_doc;

/* The refresh state (ct_server.src_st). */
typedef struct src_state {
    uv_timer_t *timer;     /* debounce after a change to a source document (unref'd) */
    unsigned long gen;     /* generation of the newest refresh asked for */
    int running;           /* a placement is on the thread pool */
    int pending;           /* a refresh was asked for while it ran */
    json_t *targets;       /* local path → true: files the last placement mapped an edit to */
    unsigned long n_done;  /* refreshes published */
    unsigned long n_stale; /* refreshes dropped because a newer one was asked for */
} src_state;

typedef struct src_file {
    char *path;
    char *owned; /* read from disk (NULL when borrowed from a snapshot document) */
    const char *data;
    size_t len;
    ct_text lines;
} src_file;

/* What one edit's diagnostic says, taken from the installed analysis on the loop thread. */
typedef struct snap_edit {
    int ok; /* the step exists */
    ct_label_kind kind;
    int has_label;
    char *rule, *reason;
    json_t *loc; /* location in the trajectory document (loop thread only), or NULL */
} snap_edit;

typedef struct snap_traj {
    char *id, *uri, *root_cause;
    ct_edit_list el;
    snap_edit *meta; /* el.n */
    ct_edit_place *pl;
    int rc;
    char err[512];
} snap_traj;

typedef struct snap_doc {
    char *path;
    ct_spans_doc *sd; /* a clone of the document's tree (owned), or NULL */
    textblob *text;   /* the document's text when it has no tree (a reference) */
    int used;         /* placement asked for it (set by the worker) */
    unsigned long n_full, n_incr;
    int version;
} snap_doc;

typedef struct snap {
    uv_work_t work;
    ct_server *s;
    unsigned long gen;
    char *ws;
    char *map_from[MAX_MAPS], *map_to[MAX_MAPS];
    ct_path_map maps[MAX_MAPS];
    size_t n_maps;
    snap_traj *t;
    size_t n_t;
    snap_doc *docs;
    size_t n_docs;
    src_file *files;
    size_t n_files, cap_files;
    size_t n_parsed; /* files the placement parsed from scratch */
    double ms;
} snap;

static src_state *state(ct_server *s)
{
    if (!s->src_st) s->src_st = ct_xcalloc(1, sizeof *s->src_st);
    return s->src_st;
}

/* ---- the trees of open documents ---------------------------------------------------------- */

int sources_is_target(ct_server *s, const ct_doc *d)
{
    return s->src_st && s->src_st->targets && d->path &&
           json_object_get(s->src_st->targets, d->path) != NULL;
}

/* Parse the document's text from scratch (a new version). JSON documents are parsed only once a
 * run edited their file: trajectories are JSON and never need a tree. */
static void tree_open(ct_server *s, ct_doc *d)
{
    if (!d->src) d->src = ct_xcalloc(1, sizeof *d->src);
    src_doc *sd = d->src;
    ct_spans_doc_free(sd->sd);
    sd->sd = NULL;
    const char *lang = ct_spans_lang_for_path(d->path);
    if (!lang || !d->text || d->text->len > MAX_TREE_DOC) return;
    if (strcmp(lang, "json") == 0 && !sources_is_target(s, d)) return;
    ct_error err;
    ct_error_clear(&err);
    uint64_t t0 = uv_hrtime();
    if (ct_spans_doc_open(lang, d->text->data, d->text->len, &sd->sd, &err) != CT_OK) {
        char buf[512];
        srv_log(s, 2, "cannot parse %s: %s", d->path, ct_error_format(&err, buf, sizeof buf));
        sd->sd = NULL;
        return;
    }
    sd->n_full++;
    srv_log(s, 4, "parsed %s (%s, %zu bytes) in %.2f ms", d->path, lang, d->text->len,
            (double)(uv_hrtime() - t0) / 1e6);
}

void sources_doc_open(ct_server *s, ct_doc *d, int opened)
{
    tree_open(s, d);
    /* a file the last placement used: place on the buffer text at once */
    if (opened && sources_is_target(s, d)) sources_refresh(s);
}

void sources_doc_edit(ct_server *s, ct_doc *d, size_t start, size_t old_end, const char *txt,
                      size_t len)
{
    src_doc *sd = d->src;
    if (!sd || !sd->sd) return;
    ct_error err;
    ct_error_clear(&err);
    if (ct_spans_doc_edit(sd->sd, start, old_end, txt, len, &err) != CT_OK) {
        char buf[512];
        srv_log(s, 2, "%s: the tree is dropped: %s", d->path,
                ct_error_format(&err, buf, sizeof buf));
        ct_spans_doc_free(sd->sd);
        sd->sd = NULL;
        return;
    }
    sd->n_incr++;
    if (d->text->len > MAX_TREE_DOC) { /* grown too large to keep: placement parses it */
        ct_spans_doc_free(sd->sd);
        sd->sd = NULL;
        return;
    }
#ifndef NDEBUG
    size_t n = 0;
    const char *t = ct_spans_doc_text(sd->sd, &n);
    if (n != d->text->len || memcmp(t, d->text->data, n) != 0) {
        sd->n_resync++;
        srv_log(s, 1, "%s: the tree's text differs from the document after a change (parsed again)",
                d->path);
        tree_open(s, d);
    }
#endif
}

static void on_debounce(uv_timer_t *t)
{
    sources_refresh(t->data);
}

void sources_doc_changed(ct_server *s, ct_doc *d)
{
    if (s->exiting || !sources_is_target(s, d)) return;
    src_state *st = state(s);
    if (!st->timer) {
        st->timer = ct_xcalloc(1, sizeof *st->timer);
        uv_timer_init(s->loop, st->timer);
        st->timer->data = s;
        uv_unref((uv_handle_t *)st->timer); /* never keeps the loop (or an exit) waiting */
    }
    uv_timer_start(st->timer, on_debounce, (uint64_t)s->set.debounce_ms, 0);
    st->gen++; /* a placement running now was made on the older text: it is not published */
}

void sources_doc_free(ct_doc *d)
{
    if (!d->src) return;
    ct_spans_doc_free(d->src->sd);
    free(d->src);
    d->src = NULL;
}

/* ---- the worker: placement ---------------------------------------------------------------- */

static snap_doc *snap_doc_of(snap *sn, const char *file)
{
    for (size_t i = 0; i < sn->n_docs; i++)
        if (strcmp(sn->docs[i].path, file) == 0) return &sn->docs[i];
    return NULL;
}

static ct_spans_doc *doc_cb(void *ud, const char *file)
{
    snap_doc *d = snap_doc_of(ud, file);
    if (!d || !d->sd) return NULL;
    d->used = 1;
    return d->sd;
}

static const char *buffer_cb(void *ud, const char *file, size_t *len)
{
    snap_doc *d = snap_doc_of(ud, file);
    if (!d || !d->text) return NULL;
    d->used = 1;
    *len = d->text->len;
    return d->text->data;
}

static char *read_disk(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = ct_xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= CT_SPANS_MAX_FILE) {
                free(b);
                fclose(f);
                return NULL;
            }
            cap *= 2;
            b = ct_xrealloc(b, cap + 1);
        }
        size_t k = fread(b + n, 1, cap - n, f);
        if (k == 0) break;
        n += k;
    }
    fclose(f);
    b[n] = '\0';
    *len = n;
    return b;
}

/* The text a placement's offsets refer to: the snapshot's document, else the disk (read once). */
static src_file *file_text(snap *sn, const char *path)
{
    for (size_t i = 0; i < sn->n_files; i++)
        if (strcmp(sn->files[i].path, path) == 0) return &sn->files[i];
    size_t len = 0;
    const char *data = NULL;
    char *owned = NULL;
    snap_doc *d = snap_doc_of(sn, path);
    if (d && d->sd)
        data = ct_spans_doc_text(d->sd, &len);
    else if (d && d->text)
        data = d->text->data, len = d->text->len;
    if (!data) {
        owned = read_disk(path, &len);
        if (!owned) return NULL;
        data = owned;
    }
    if (sn->n_files == sn->cap_files) {
        sn->cap_files = sn->cap_files ? sn->cap_files * 2 : 8;
        sn->files = ct_xrealloc(sn->files, sn->cap_files * sizeof *sn->files);
    }
    src_file *f = &sn->files[sn->n_files++];
    f->path = ct_xstrdup(path);
    f->owned = owned;
    f->data = data;
    f->len = len;
    ct_text_init(&f->lines, data, len);
    return f;
}

static void work_cb(uv_work_t *w)
{
    snap *sn = w->data;
    uint64_t t0 = uv_hrtime();
    for (size_t i = 0; i < sn->n_t; i++) {
        snap_traj *t = &sn->t[i];
        ct_spans_opts o = {.workspace = sn->ws,
                           .maps = sn->maps,
                           .n_maps = sn->n_maps,
                           .buffer = buffer_cb,
                           .doc = doc_cb,
                           .ud = sn,
                           .n_parsed = &sn->n_parsed};
        ct_error err;
        ct_error_clear(&err);
        t->rc = ct_spans_place_edits(&t->el, &o, &t->pl, NULL, 0, &err);
        if (t->rc != CT_OK) {
            ct_error_format(&err, t->err, sizeof t->err);
            continue;
        }
        for (size_t k = 0; k < t->el.n; k++) {
            const ct_edit_place *p = &t->pl[k];
            if (!p->file) continue;
            /* the texts the diagnostics' ranges refer to; a moved-on edit on an open document
             * keeps a hover where it was (its lines are needed too) */
            if (strcmp(p->status, "found") == 0 ||
                (strcmp(p->status, "moved_on") == 0 && snap_doc_of(sn, p->file)))
                file_text(sn, p->file);
        }
    }
    sn->ms = (double)(uv_hrtime() - t0) / 1e6;
}

/* ---- the loop thread: snapshot, diagnostics ----------------------------------------------- */

static const ct_step_label *label_of(const ct_analysis *a, int step_id)
{
    for (size_t k = 0; a && k < a->n_labels; k++)
        if (a->labels[k].step_id == step_id) return &a->labels[k];
    return NULL;
}

static char *dup_text(const char *s)
{
    return s ? ct_xstrdup(s) : NULL;
}

static void snap_result(snap *sn, ct_server *s, ct_result *r, const char *traj_uri)
{
    for (size_t ti = 0; ti < r->trajs.n; ti++) {
        const ct_trajectory *t = r->trajs.items[ti];
        const ct_analysis *a = r->an[ti];
        ct_edit_list el = {0};
        ct_error err;
        ct_error_clear(&err);
        if (ct_edits_from_traj(t, &el, &err) != CT_OK || el.n == 0) {
            ct_edits_free(&el);
            continue;
        }
        sn->t = ct_xrealloc(sn->t, (sn->n_t + 1) * sizeof *sn->t);
        snap_traj *st = &sn->t[sn->n_t++];
        memset(st, 0, sizeof *st);
        st->id = ct_xstrdup(t->id);
        st->uri = dup_text(traj_uri);
        st->root_cause = dup_text(a && a->n_root_cause ? a->root_cause_chain[0] : NULL);
        st->el = el;
        st->meta = ct_xcalloc(el.n, sizeof *st->meta);
        for (size_t k = 0; k < el.n; k++) {
            const ct_edit *e = &el.items[k];
            snap_edit *m = &st->meta[k];
            if (e->step_id < 1 || (size_t)e->step_id > t->n_steps) continue;
            m->ok = 1;
            const ct_step_label *l = label_of(a, e->step_id);
            m->has_label = l != NULL;
            m->kind = l ? l->label : CT_LABEL_CORRECT;
            m->rule = dup_text(l ? l->rule : NULL);
            m->reason = dup_text(l ? l->reasoning : NULL);
            /* the same step's location for each of its edits: reuse the previous one */
            if (k && el.items[k - 1].step_id == e->step_id && st->meta[k - 1].ok)
                m->loc = st->meta[k - 1].loc ? json_incref(st->meta[k - 1].loc) : NULL;
            else if (traj_uri)
                m->loc = result_step_location(r, &t->steps[e->step_id - 1], traj_uri, s->enc);
        }
    }
}

static void snap_free(snap *sn)
{
    for (size_t i = 0; i < sn->n_t; i++) {
        snap_traj *t = &sn->t[i];
        for (size_t k = 0; k < t->el.n; k++) {
            free(t->meta[k].rule);
            free(t->meta[k].reason);
            json_decref(t->meta[k].loc);
        }
        free(t->meta);
        ct_spans_places_free(t->pl, t->el.n);
        ct_edits_free(&t->el);
        free(t->id);
        free(t->uri);
        free(t->root_cause);
    }
    free(sn->t);
    for (size_t i = 0; i < sn->n_docs; i++) {
        free(sn->docs[i].path);
        ct_spans_doc_free(sn->docs[i].sd);
        if (sn->docs[i].text) blob_unref(sn->docs[i].text);
    }
    free(sn->docs);
    for (size_t i = 0; i < sn->n_files; i++) {
        ct_text_free(&sn->files[i].lines);
        free(sn->files[i].owned);
        free(sn->files[i].path);
    }
    free(sn->files);
    for (size_t i = 0; i < sn->n_maps; i++) {
        free(sn->map_from[i]);
        free(sn->map_to[i]);
    }
    free(sn->ws);
    free(sn);
}

static snap *snap_new(ct_server *s)
{
    snap *sn = ct_xcalloc(1, sizeof *sn);
    sn->s = s;
    sn->work.data = sn;
    sn->gen = s->src_st->gen;
    if (!s->ws_root) return sn; /* no workspace: nothing lands on source files */
    sn->ws = ct_xstrdup(s->ws_root);
    size_t i;
    json_t *v;
    json_array_foreach(s->src_maps, i, v)
    {
        if (sn->n_maps == MAX_MAPS) break;
        const char *from = jstr(v, "from"), *to = jstr(v, "to");
        if (!from || !to) continue;
        sn->map_from[sn->n_maps] = ct_xstrdup(from);
        sn->map_to[sn->n_maps] = ct_xstrdup(to);
        sn->maps[sn->n_maps].from = sn->map_from[sn->n_maps];
        sn->maps[sn->n_maps].to = sn->map_to[sn->n_maps];
        sn->n_maps++;
    }
    for (ct_doc *d = s->docs; d; d = d->next)
        if (d->res) snap_result(sn, s, d->res, d->uri);
    for (ext_result *e = s->ext; e; e = e->next)
        snap_result(sn, s, e->res, NULL);
    if (!sn->n_t) return sn;
    for (ct_doc *d = s->docs; d; d = d->next) {
        if (!d->text || !d->path) continue;
        sn->docs = ct_xrealloc(sn->docs, (sn->n_docs + 1) * sizeof *sn->docs);
        snap_doc *sd = &sn->docs[sn->n_docs++];
        memset(sd, 0, sizeof *sd);
        sd->path = ct_xstrdup(d->path);
        sd->version = d->version;
        if (d->src && d->src->sd) {
            sd->sd = ct_spans_doc_clone(d->src->sd);
            sd->n_full = d->src->n_full;
            sd->n_incr = d->src->n_incr;
        } else {
            sd->text = blob_ref(d->text);
        }
    }
    return sn;
}

typedef struct build {
    ct_server *s;
    snap *sn;
    json_t *diags; /* uri → array of diagnostics */
    json_t *info;  /* uri → array of {range, traj_id, step_id, label, ...} for hovers */
} build;

static src_file *snap_file(snap *sn, const char *path)
{
    for (size_t i = 0; i < sn->n_files; i++)
        if (strcmp(sn->files[i].path, path) == 0) return &sn->files[i];
    return NULL;
}

/* Where the previous placement had (traj_id, edit k) on uri: its start line, or -1. */
static long previous_line(ct_server *s, const char *uri, const char *traj_id, size_t k)
{
    json_t *arr = s->src_info ? json_object_get(s->src_info, uri) : NULL;
    size_t i;
    json_t *inf;
    json_array_foreach(arr, i, inf)
    {
        const char *tid = jstr(inf, "traj_id");
        if (!tid || strcmp(tid, traj_id) != 0 ||
            json_integer_value(json_object_get(inf, "edit")) != (json_int_t)k)
            continue;
        return (long)json_integer_value(json_object_get(jobj(jobj(inf, "range"), "start"), "line"));
    }
    return -1;
}

static void add_place(build *b, snap_traj *t, size_t k)
{
    ct_server *s = b->s;
    const ct_edit_place *p = &t->pl[k];
    const snap_edit *m = &t->meta[k];
    const ct_edit *e = p->edit;
    if (!p->file || !m->ok) return;
    int found = strcmp(p->status, "found") == 0;
    int moved = strcmp(p->status, "moved_on") == 0;
    if (!found && !moved) return;
    ct_label_kind kind = m->kind;
    int shown = kind != CT_LABEL_CORRECT || s->src_show_all;
    src_file *f = snap_file(b->sn, p->file);
    if (!f) return;
    char *uri = ct_lsp_uri_from_path(p->file);
    if (!uri) return;
    json_t *range;
    if (found) {
        size_t b0 = p->match.span.byte_start, b1 = p->match.span.byte_end;
        if (b0 > f->len || b1 > f->len || b1 < b0) {
            free(uri);
            return;
        }
        range = ct_lsp_range(&f->lines, b0, b1, s->enc);
    } else {
        /* The text is gone from an open document: the hover stays on the line where it was
         * (clamped to the document), saying so; no diagnostic. */
        long ln = previous_line(s, uri, t->id, k);
        ct_doc *d = doc_find(s, uri);
        if (ln < 0 || !d) {
            free(uri);
            return;
        }
        size_t off = ct_pos_to_byte(&f->lines, (ct_lsp_pos){ln, 0}, s->enc);
        range = ct_lsp_range(&f->lines, off, off, s->enc);
    }
    json_t *iarr = json_object_get(b->info, uri);
    if (!iarr) {
        iarr = json_array();
        json_object_set_new(b->info, uri, iarr);
    }
    /* What a hover on these lines tells (and what definition / blame use). */
    json_t *inf = json_pack("{s:O,s:o,s:i,s:I,s:s,s:s,s:s,s:b}", "range", range, "traj_id",
                            ct_json_text(t->id), "step_id", e->step_id, "edit", (json_int_t)k,
                            "label", ct_label_name(kind), "via", e->via, "match",
                            found ? ct_match_kind_name(p->match.kind) : "moved_on", "shown", shown);
    if (m->rule) json_object_set_new(inf, "rule", json_string(m->rule));
    if (m->reason) json_object_set_new(inf, "reason", ct_json_text(m->reason));
    if (e->old_text) json_object_set_new(inf, "old", ct_json_text(e->old_text));
    if (kind != CT_LABEL_CORRECT && t->root_cause)
        json_object_set_new(inf, "root_cause", ct_json_text(t->root_cause));
    if (m->loc) json_object_set_new(inf, "location", json_incref(m->loc));
    json_array_append_new(iarr, inf);
    if (!shown || !found) {
        json_decref(range);
        free(uri);
        return;
    }
    int sev = kind == CT_LABEL_INCORRECT  ? s->set.sev_incorrect
              : kind == CT_LABEL_UNUSEFUL ? s->set.sev_unuseful
                                          : 3;
    char *msg = kind == CT_LABEL_CORRECT
                    ? ct_xasprintf("Step %d edited this (%s)", e->step_id, e->via)
                    : ct_xasprintf("Step %d %s: %s", e->step_id, ct_label_name(kind),
                                   m->reason ? m->reason : "");
    json_t *data = json_pack("{s:o,s:i,s:s,s:s}", "traj_id", ct_json_text(t->id), "step_id",
                             e->step_id, "label", ct_label_name(kind), "source", "edit");
    json_t *d = json_pack("{s:o,s:i,s:s,s:o,s:o}", "range", range, "severity", sev, "source",
                          "codetracer", "message", ct_json_text(msg), "data", data);
    free(msg);
    if (kind == CT_LABEL_UNUSEFUL) json_object_set_new(d, "tags", json_pack("[i]", 1));
    if (m->rule) json_object_set_new(d, "code", json_string(m->rule));
    if (m->loc && s->cap_related) {
        char *msg2 =
            ct_xasprintf("Step %d (%s) in the trajectory", e->step_id, ct_label_name(kind));
        json_object_set_new(
            d, "relatedInformation",
            json_pack("[{s:O,s:o}]", "location", m->loc, "message", ct_json_text(msg2)));
        free(msg2);
    }
    json_t *arr = json_object_get(b->diags, uri);
    if (!arr) {
        arr = json_array();
        json_object_set_new(b->diags, uri, arr);
    }
    json_array_append_new(arr, d);
    free(uri);
}

/* The version the published ranges refer to: the snapshot's text of an open document. */
static int version_of(const snap *sn, const ct_doc *d)
{
    if (!d) return -1;
    for (size_t i = 0; i < sn->n_docs; i++)
        if (strcmp(sn->docs[i].path, d->path) == 0) return sn->docs[i].version;
    return d->version;
}

static void install(ct_server *s, snap *sn)
{
    build b = {.s = s, .sn = sn, .diags = json_object(), .info = json_object()};
    src_state *st = s->src_st;
    json_t *targets = json_object();
    size_t n_trajs = 0;
    for (size_t i = 0; i < sn->n_t; i++) {
        snap_traj *t = &sn->t[i];
        if (t->rc != CT_OK) {
            srv_log(s, 2, "cannot place the edits of %s: %s", t->id, t->err);
            continue;
        }
        n_trajs++;
        for (size_t k = 0; k < t->el.n; k++) {
            if (t->pl[k].file) json_object_set_new(targets, t->pl[k].file, json_true());
            add_place(&b, t, k);
        }
    }
    /* An open document the run edited keeps an entry even when nothing is shown on it (every
     * edit moved on): it is a source file, not a broken trajectory (jobs.c finish_doc). */
    for (ct_doc *d = s->docs; d; d = d->next) {
        if (d->res || !d->path || !json_object_get(targets, d->path)) continue;
        if (!json_object_get(b.diags, d->uri)) json_object_set_new(b.diags, d->uri, json_array());
    }
    json_decref(st->targets);
    st->targets = targets;
    /* an open JSON document a run edited gets its tree now (used from the next refresh on) */
    for (ct_doc *d = s->docs; d; d = d->next)
        if (!d->res && (!d->src || !d->src->sd) && sources_is_target(s, d)) {
            const char *lang = ct_spans_lang_for_path(d->path);
            if (lang && strcmp(lang, "json") == 0) tree_open(s, d);
        }
    st->n_done++;
    if (n_trajs) {
        size_t used = 0;
        for (size_t i = 0; i < sn->n_docs; i++)
            used += sn->docs[i].used && sn->docs[i].sd;
        srv_log(s, 4,
                "edits of %zu trajector%s placed on %zu source files in %.1f ms on the thread "
                "pool: %zu open document%s used as parsed, %zu file%s parsed (refresh %lu, %lu "
                "stale dropped)",
                n_trajs, n_trajs == 1 ? "y" : "ies", json_object_size(b.diags), sn->ms, used,
                used == 1 ? "" : "s", sn->n_parsed, sn->n_parsed == 1 ? "" : "s", st->n_done,
                st->n_stale);
        for (size_t i = 0; i < sn->n_docs; i++)
            if (sn->docs[i].used && sn->docs[i].sd)
                srv_log(s, 4, "tree of %s version %d: %lu full parse%s, %lu incremental",
                        sn->docs[i].path, sn->docs[i].version, sn->docs[i].n_full,
                        sn->docs[i].n_full == 1 ? "" : "s", sn->docs[i].n_incr);
    }
    /* Files that had edit diagnostics and have none now are cleared; a file that is also an
     * analysed trajectory document keeps its own diagnostics (not merged). */
    const char *uri;
    json_t *v;
    if (s->src_diags) {
        json_object_foreach(s->src_diags, uri, v)
        {
            ct_doc *d = doc_find(s, uri);
            if (!json_object_get(b.diags, uri) && !(d && d->res))
                publish(s, uri, version_of(sn, d), json_array());
        }
    }
    json_object_foreach(b.diags, uri, v)
    {
        ct_doc *d = doc_find(s, uri);
        if (d && d->res) continue; /* a trajectory document: its own analysis shows there */
        /* Unchanged sets are not sent again, except to an open document: its own (failed)
         * analysis has just published an empty set there. */
        if (!d && s->src_diags && json_equal(json_object_get(s->src_diags, uri), v)) continue;
        publish(s, uri, version_of(sn, d), json_incref(v));
    }
    json_decref(s->src_diags);
    json_decref(s->src_info);
    s->src_diags = b.diags;
    s->src_info = b.info;
}

static void start_refresh(ct_server *s);

static void after_cb(uv_work_t *w, int status)
{
    snap *sn = w->data;
    ct_server *s = sn->s;
    src_state *st = s->src_st;
    st->running = 0;
    if (!s->exiting && status == 0 && sn->gen == st->gen)
        install(s, sn);
    else
        st->n_stale++;
    snap_free(sn);
    if (!s->exiting && st->pending) {
        st->pending = 0;
        start_refresh(s);
    }
}

static void start_refresh(ct_server *s)
{
    src_state *st = s->src_st;
    snap *sn = snap_new(s);
    if (!sn->n_t) { /* nothing to place: clear what was shown, at once */
        install(s, sn);
        snap_free(sn);
        return;
    }
    st->running = 1;
    int rc = uv_queue_work(s->loop, &sn->work, work_cb, after_cb);
    if (rc != 0) { /* cannot happen with a live loop: place here rather than not at all */
        work_cb(&sn->work);
        after_cb(&sn->work, 0);
    }
}

void sources_refresh(ct_server *s)
{
    if (s->exiting) return;
    src_state *st = state(s);
    st->gen++;
    if (st->timer) uv_timer_stop(st->timer); /* this refresh covers a pending debounce */
    if (st->running) {
        st->pending = 1; /* the running placement is stale: the newest starts when it ends */
        return;
    }
    start_refresh(s);
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h);
}

void sources_free(ct_server *s)
{
    if (s->src_st) {
        if (s->src_st->timer) uv_close((uv_handle_t *)s->src_st->timer, on_timer_closed);
        json_decref(s->src_st->targets);
        free(s->src_st);
        s->src_st = NULL;
    }
    json_decref(s->src_diags);
    json_decref(s->src_info);
    json_decref(s->src_maps);
    free(s->ws_root);
    s->src_diags = s->src_info = s->src_maps = NULL;
    s->ws_root = NULL;
}

void sources_settings(ct_server *s, json_t *obj)
{
    json_t *all = json_object_get(obj, "showAllEdits");
    int changed = 0;
    if (json_is_boolean(all) && s->src_show_all != json_is_true(all)) {
        s->src_show_all = json_is_true(all);
        changed = 1;
    }
    json_t *pm = json_object_get(obj, "pathMappings");
    if (!pm) {
        if (changed) sources_refresh(s); /* shown at once, not at the next analysis */
        return;
    }
    if (!json_is_array(pm)) {
        srv_log(s, 2, "pathMappings must be an array of {from, to}");
        return;
    }
    json_t *maps = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(pm, i, v)
    {
        const char *from = jstr(v, "from"), *to = jstr(v, "to");
        if (!from || !to || !*from || !*to) {
            srv_log(s, 2, "pathMappings[%zu] needs string 'from' and 'to' (ignored)", i);
            continue;
        }
        json_array_append_new(maps, json_pack("{s:s,s:s}", "from", from, "to", to));
    }
    json_decref(s->src_maps);
    s->src_maps = maps;
    sources_refresh(s);
}

void sources_workspace(ct_server *s, json_t *params)
{
    const char *uri = jstr(params, "rootUri");
    json_t *folders = json_object_get(params, "workspaceFolders");
    if (!uri && json_is_array(folders) && json_array_size(folders))
        uri = jstr(json_array_get(folders, 0), "uri");
    char *path = uri ? ct_lsp_path_from_uri(uri) : NULL;
    if (!path && jstr(params, "rootPath")) path = ct_xstrdup(jstr(params, "rootPath"));
    free(s->ws_root);
    s->ws_root = path;
}

/* The entry of arr whose range covers `line` that was written last: the highest step id (among
 * one trajectory's edits; the first trajectory found wins when several runs wrote the line). */
static json_t *last_writer(json_t *arr, long ln, int shown_only)
{
    json_t *best = NULL, *inf;
    size_t i;
    json_array_foreach(arr, i, inf)
    {
        json_t *rg = json_object_get(inf, "range");
        long l0 = (long)json_integer_value(json_object_get(jobj(rg, "start"), "line"));
        long l1 = (long)json_integer_value(json_object_get(jobj(rg, "end"), "line"));
        if (ln < l0 || ln > l1) continue;
        if (shown_only && !json_is_true(json_object_get(inf, "shown"))) continue;
        /* blame wants the text that is there: a moved-on edit's place only gets a hover */
        if (!shown_only && strcmp(jstr(inf, "match"), "moved_on") == 0) continue;
        if (best && (strcmp(jstr(best, "traj_id"), jstr(inf, "traj_id")) != 0 ||
                     json_integer_value(json_object_get(best, "step_id")) >=
                         json_integer_value(json_object_get(inf, "step_id"))))
            continue;
        best = inf;
    }
    return best;
}

/* Markdown for a hover on an edited line, or NULL. */
json_t *sources_hover(ct_server *s, const char *uri, ct_lsp_pos pos)
{
    json_t *arr = s->src_info ? json_object_get(s->src_info, uri) : NULL;
    json_t *inf = arr ? last_writer(arr, pos.line, 1) : NULL;
    if (!inf) return NULL;
    json_t *rg = json_object_get(inf, "range");
    ct_buf b = CT_BUF_INIT;
    const char *label = jstr(inf, "label");
    ct_buf_printf(&b, "**Step %d** wrote these lines (%s) — %s",
                  (int)json_integer_value(json_object_get(inf, "step_id")), jstr(inf, "via"),
                  label);
    if (jstr(inf, "rule")) ct_buf_printf(&b, " [%s]", jstr(inf, "rule"));
    ct_buf_printf(&b, "\n\nTrajectory: `%s`\n", jstr(inf, "traj_id"));
    if (jstr(inf, "reason")) ct_buf_printf(&b, "\n**Reason:** %s\n", jstr(inf, "reason"));
    const char *old = jstr(inf, "old");
    if (old) ct_buf_printf(&b, "\n**It replaced:**\n\n```\n%.2000s\n```\n", old);
    if (jstr(inf, "root_cause"))
        ct_buf_printf(&b, "\n**Root cause:** %s\n", jstr(inf, "root_cause"));
    const char *match = jstr(inf, "match");
    if (match && strcmp(match, "moved_on") == 0)
        ct_buf_printf(&b, "\n_The file has moved on: the text this step wrote was here and is "
                          "no longer in it._\n");
    else if (match && strcmp(match, "exact") != 0)
        ct_buf_printf(&b, "\n_The file has moved on since the run (%s match)._\n", match);
    json_t *h = json_pack("{s:{s:s,s:s%},s:O}", "contents", "kind", "markdown", "value",
                          b.data ? b.data : "", b.len, "range", rg);
    ct_buf_free(&b);
    return h;
}

/* textDocument/definition on a step of a trajectory document: the ranges that step wrote. */
void h_definition(ct_server *s, ct_rpc_msg *m)
{
    const char *uri = jstr(jobj(m->params, "textDocument"), "uri");
    json_t *pos = jobj(m->params, "position");
    json_t *line = json_object_get(pos, "line"), *ch = json_object_get(pos, "character");
    if (!uri || !json_is_integer(line) || !json_is_integer(ch)) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS,
                        "textDocument.uri and position.line/character are required");
        return;
    }
    ct_doc *d = doc_find(s, uri);
    if (!d || !d->res || !d->res->text) {
        srv_reply(s, m->id, json_null());
        return;
    }
    ct_lsp_pos p = {(long)json_integer_value(line), (long)json_integer_value(ch)};
    size_t ti = 0;
    const ct_step *st = step_at(d->res, ct_pos_to_byte(&d->res->lines, p, s->enc), &ti);
    json_t *locs = json_array();
    const char *furi;
    json_t *arr;
    if (st && s->src_info) {
        const char *tid = d->res->trajs.items[ti]->id;
        json_object_foreach(s->src_info, furi, arr)
        {
            size_t i;
            json_t *inf;
            json_array_foreach(arr, i, inf)
            {
                const char *it = jstr(inf, "traj_id");
                if (!it || strcmp(it, tid) != 0 ||
                    json_integer_value(json_object_get(inf, "step_id")) != st->step_id ||
                    strcmp(jstr(inf, "match"), "moved_on") == 0)
                    continue;
                json_array_append_new(locs, json_pack("{s:s,s:O}", "uri", furi, "range",
                                                      json_object_get(inf, "range")));
            }
        }
    }
    if (!json_array_size(locs)) {
        json_decref(locs);
        locs = json_null();
    }
    srv_reply(s, m->id, locs);
}

/* codetracer.blame {uri, line}: the step that last wrote that line (the highest step id among
 * the placed edits covering it; the first trajectory found when several runs wrote it). */
void sources_blame(ct_server *s, ct_rpc_msg *m, json_t *arg)
{
    const char *uri = jstr(arg, "uri");
    json_t *line = json_object_get(arg, "line");
    if (!uri || !json_is_integer(line)) {
        srv_reply_error(s, m->id, CT_RPC_INVALID_PARAMS, "codetracer.blame needs {uri, line}");
        return;
    }
    json_t *arr = s->src_info ? json_object_get(s->src_info, uri) : NULL;
    json_t *best = arr ? last_writer(arr, (long)json_integer_value(line), 0) : NULL;
    if (!best) {
        srv_reply(s, m->id, json_null());
        return;
    }
    json_t *res = json_pack("{s:s,s:O,s:s,s:s}", "traj_id", jstr(best, "traj_id"), "step_id",
                            json_object_get(best, "step_id"), "label", jstr(best, "label"), "via",
                            jstr(best, "via"));
    if (jstr(best, "rule")) json_object_set_new(res, "rule", json_string(jstr(best, "rule")));
    if (jstr(best, "reason")) json_object_set_new(res, "reason", json_string(jstr(best, "reason")));
    json_t *loc = json_object_get(best, "location");
    if (loc) {
        json_object_set(res, "location", loc);
        if (s->cap_show_doc)
            srv_request(s, "window/showDocument",
                        json_pack("{s:O,s:b,s:O}", "uri", json_object_get(loc, "uri"), "takeFocus",
                                  1, "selection", json_object_get(loc, "range")),
                        "showDocument");
    }
    srv_reply(s, m->id, res);
}

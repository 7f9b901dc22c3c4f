/* bench_spans — how long reconstructing and mapping a run's edits takes (issue 6).
 *
 *   bench_spans [TRAJECTORY...]
 *
 * For each trajectory (default: the largest corpus run, claude_code_tb/cc_coder_crack-7z-hash.
 * hard_LARGE, plus the corpus runs with the most edits) it measures, in the same process:
 *   load      ct_load_path (the baseline every ratio is against)
 *   edits     ct_edits_from_traj
 *   map       ct_spans_place_edits onto a workspace built by replaying the edits into a temp dir
 *             (whole-file writes written, other edits applied in memory or written as their
 *             new text), so every reconstructed edit has a file to be found in
 * then a synthetic run of 2,000 edits over 40 Python files of 2,000 lines, and one full parse
 * against one incremental re-parse (ct_spans_doc_edit) of a 2,000-line file.
 * For the first trajectory of each run and the synthetic run, the daemon's side: every file
 * edits were found in is held open (one kept tree each); after one change to the busiest file,
 * all edits are placed again with the kept trees (incremental re-parse + O(1) tree clones +
 * placement through opts.doc, as daemon/src/sources.c does) vs a full parse of every open file;
 * the ratio is kept / full.
 * Target (docs/source-spans.md): map ≤ 50 ms for the largest corpus trajectory. Prints figures;
 * never fails on speed. */
#include "ct/buf.h"
#include "ct/edits.h"
#include "ct/load.h"
#include "ct/spans.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void mkdirs(const char *path)
{
    char tmp[8192];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
}

static void write_file(const char *path, const char *data, size_t n)
{
    mkdirs(path);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

/* Replay the edits into ws: the state each file is in at the end of the run, as far as known. */
static void build_workspace(const char *ws, const ct_edit_list *l)
{
    struct {
        char *path, *text;
        size_t len;
    } files[512];
    size_t nf = 0;
    for (size_t i = 0; i < l->n; i++) {
        const ct_edit *e = &l->items[i];
        if (!e->path || e->reason || !e->new_text || strstr(e->path, "..")) continue;
        size_t k = 0;
        while (k < nf && strcmp(files[k].path, e->path) != 0)
            k++;
        if (k == nf) {
            if (nf == 512) continue;
            files[nf].path = e->path;
            files[nf].text = NULL;
            files[nf].len = 0;
            nf++;
        }
        size_t n = 0;
        char *r = ct_edit_apply(e, files[k].text, files[k].len, &n);
        if (!r) {
            /* unknown file: it at least contains what the edit wrote (appended) */
            ct_buf b = CT_BUF_INIT;
            if (files[k].text) ct_buf_append(&b, files[k].text, files[k].len);
            ct_buf_puts(&b, "\n");
            ct_buf_puts(&b, e->new_text);
            ct_buf_puts(&b, "\n");
            n = b.len;
            r = ct_buf_steal(&b);
        }
        free(files[k].text);
        files[k].text = r;
        files[k].len = n;
    }
    for (size_t k = 0; k < nf; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", ws, files[k].path + (files[k].path[0] == '/'));
        write_file(path, files[k].text, files[k].len);
        free(files[k].text);
    }
}

static void rmtree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_spans: could not remove %s\n", dir);
}

/* ---- the daemon's re-placement after a didChange (daemon/src/sources.c) ------------------ */

#define MAX_OPEN 512

typedef struct open_set {
    char *path[MAX_OPEN];
    ct_spans_doc *doc[MAX_OPEN];   /* the kept trees (the daemon's open documents) */
    ct_spans_doc *clone[MAX_OPEN]; /* a refresh's snapshot of them */
    char *text[MAX_OPEN];          /* the same texts, for the full-parse variant */
    size_t len[MAX_OPEN];
    size_t n;
} open_set;

static ct_spans_doc *clone_cb(void *ud, const char *file)
{
    open_set *o = ud;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->path[i], file) == 0) return o->clone[i];
    return NULL;
}

static const char *text_cb(void *ud, const char *file, size_t *len)
{
    open_set *o = ud;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->path[i], file) == 0) {
            *len = o->len[i];
            return o->text[i];
        }
    return NULL;
}

/* Every file the edits were found in is "open" (one kept tree each); then, 10 times, one change
 * to the file with the most edits (a line inserted at its top, then removed) and all edits placed
 * again: with the kept trees (ct_spans_doc_edit + clones + placement through opts.doc, as the
 * daemon does) and with a full parse of every open file (placement through opts.buffer). */
static void bench_replace(const char *what, const ct_edit_list *l, const char *ws)
{
    ct_spans_opts o = {0};
    o.workspace = ws;
    ct_edit_place *p = NULL;
    ct_error err;
    if (ct_spans_place_edits(l, &o, &p, NULL, 0, &err) != CT_OK) return;
    open_set *os = ct_xcalloc(1, sizeof *os);
    size_t hits[MAX_OPEN] = {0}, busiest = 0;
    double t0 = now_ms();
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(p[i].status, "found") != 0 || !p[i].lang) continue;
        size_t k = 0;
        while (k < os->n && strcmp(os->path[k], p[i].file) != 0)
            k++;
        if (k == os->n) {
            if (os->n == MAX_OPEN) continue;
            FILE *f = fopen(p[i].file, "rb");
            if (!f) continue;
            ct_buf b = CT_BUF_INIT;
            char chunk[65536];
            size_t got;
            while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
                ct_buf_append(&b, chunk, got);
            fclose(f);
            ct_buf_puts(&b, "");
            if (ct_spans_doc_open(p[i].lang, b.data, b.len, &os->doc[k], NULL) != CT_OK) {
                ct_buf_free(&b);
                continue;
            }
            os->len[k] = b.len;
            os->text[k] = ct_buf_steal(&b);
            os->path[k] = ct_xstrdup(p[i].file);
            os->n++;
        }
        if (++hits[k] > hits[busiest]) busiest = k;
    }
    double t_open = now_ms() - t0;
    ct_spans_places_free(p, l->n);
    if (!os->n) {
        printf("    re-place after a didChange (%s): no file with a grammar was found\n", what);
        free(os);
        return;
    }
    double t_kept = 0, t_full = 0, t_edit = 0, t_clone = 0;
    size_t parsed_kept = 0, parsed_full = 0;
    const int rounds = 10;
    for (int r = 0; r < rounds; r++) {
        /* the change: "#\n" inserted at the top of the busiest file, or removed again */
        size_t k = busiest;
        int ins = r % 2 == 0;
        t0 = now_ms();
        ct_spans_doc_edit(os->doc[k], 0, ins ? 0 : 2, "#\n", ins ? 2 : 0, NULL);
        double t1 = now_ms();
        for (size_t i = 0; i < os->n; i++)
            os->clone[i] = ct_spans_doc_clone(os->doc[i]);
        double t2 = now_ms();
        ct_spans_opts ok = {0};
        ok.workspace = ws;
        ok.doc = clone_cb;
        ok.ud = os;
        ok.n_parsed = &parsed_kept;
        ct_spans_place_edits(l, &ok, &p, NULL, 0, &err);
        double t3 = now_ms();
        ct_spans_places_free(p, l->n);
        for (size_t i = 0; i < os->n; i++) {
            ct_spans_doc_free(os->clone[i]);
            os->clone[i] = NULL;
        }
        t_edit += t1 - t0;
        t_clone += t2 - t1;
        t_kept += t3 - t0;
        /* the same change to the plain text, then placement parses every open file */
        t0 = now_ms();
        size_t n = os->len[k] + (ins ? 2 : 0) - (ins ? 0 : 2);
        char *nt = ct_xmalloc(n + 1);
        if (ins) {
            memcpy(nt, "#\n", 2);
            memcpy(nt + 2, os->text[k], os->len[k] + 1);
        } else {
            memcpy(nt, os->text[k] + 2, n + 1);
        }
        free(os->text[k]);
        os->text[k] = nt;
        os->len[k] = n;
        ct_spans_opts of = {0};
        of.workspace = ws;
        of.buffer = text_cb;
        of.ud = os;
        of.n_parsed = &parsed_full;
        ct_spans_place_edits(l, &of, &p, NULL, 0, &err);
        t_full += now_ms() - t0;
        ct_spans_places_free(p, l->n);
    }
    t_kept /= rounds, t_full /= rounds, t_edit /= rounds, t_clone /= rounds;
    printf("    re-place after a didChange (%s): %zu open files (opened and parsed once: %.2f ms); "
           "kept trees %.3f ms (incremental re-parse %.3f, clones %.3f, %zu files parsed) vs full "
           "parse %.3f ms (%zu files parsed): %.2fx\n",
           what, os->n, t_open, t_kept, t_edit, t_clone, parsed_kept / rounds, t_full,
           parsed_full / rounds, t_kept / (t_full > 0 ? t_full : 1));
    for (size_t i = 0; i < os->n; i++) {
        ct_spans_doc_free(os->doc[i]);
        free(os->text[i]);
        free(os->path[i]);
    }
    free(os);
}

static void bench_traj(const char *path)
{
    ct_traj_list tl = {0};
    ct_error err;
    double t0 = now_ms();
    int rc = ct_load_path(path, NULL, &tl, NULL, NULL, &err);
    double t_load = now_ms() - t0;
    if (rc != CT_OK) {
        printf("%-60s could not be loaded (%s)\n", path, err.msg);
        return;
    }
    size_t n_steps = 0, n_edits = 0, n_found = 0, n_rec = 0;
    double t_edits = 0, t_map = 0;
    ct_edit_list first = {0};
    char first_ws[] = "/tmp/ct_bench_spans_XXXXXX";
    first_ws[0] = 0;
    for (size_t k = 0; k < tl.n; k++) {
        ct_edit_list l = {0};
        t0 = now_ms();
        ct_edits_from_traj(tl.items[k], &l, NULL);
        t_edits += now_ms() - t0;
        n_steps += tl.items[k]->n_steps;
        char ws[] = "/tmp/ct_bench_spans_XXXXXX";
        if (!mkdtemp(ws)) {
            ct_edits_free(&l);
            continue;
        }
        build_workspace(ws, &l);
        ct_spans_opts o = {0};
        o.workspace = ws;
        ct_edit_place *p = NULL;
        t0 = now_ms();
        ct_spans_place_edits(&l, &o, &p, NULL, 0, &err);
        t_map += now_ms() - t0;
        for (size_t i = 0; i < l.n; i++) {
            n_rec += l.items[i].reason == NULL;
            n_found += p && strcmp(p[i].status, "found") == 0;
        }
        n_edits += l.n;
        ct_spans_places_free(p, l.n);
        if (k == 0) { /* measured after the summary line */
            first = l;
            memcpy(first_ws, ws, sizeof ws);
            continue;
        }
        ct_edits_free(&l);
        rmtree(ws);
    }
    struct stat st;
    const char *base = strrchr(path, '/');
    printf("%-44s steps %5zu  edits %4zu (reconstructed %4zu, found %4zu)\n",
           base ? base + 1 : path, n_steps, n_edits, n_rec, n_found);
    printf("    load %8.2f ms   edits %7.3f ms (%.3fx load)   map %7.3f ms (%.3fx load)%s\n",
           t_load, t_edits, t_edits / (t_load > 0 ? t_load : 1), t_map,
           t_map / (t_load > 0 ? t_load : 1), stat(path, &st) == 0 ? "" : "");
    if (first_ws[0]) {
        bench_replace("its first trajectory", &first, first_ws);
        ct_edits_free(&first);
        rmtree(first_ws);
    }
    ct_traj_list_free(&tl);
}

/* 40 files × 2,000 lines; 2,000 str_replace edits, each found exactly in today's files. */
static void bench_synthetic(void)
{
    char ws[] = "/tmp/ct_bench_spans_XXXXXX";
    if (!mkdtemp(ws)) return;
    ct_edit_list l = {0};
    double t0 = now_ms();
    for (int f = 0; f < 40; f++) {
        ct_buf b = CT_BUF_INIT;
        for (int fn = 0; fn < 400; fn++) {
            ct_buf_printf(&b, "def f%d_%d(x):\n    y = x * %d\n    z = y + %d\n    return z\n\n", f,
                          fn, fn, f);
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/pkg/mod%d.py", ws, f);
        write_file(path, b.data, b.len);
        ct_buf_free(&b);
    }
    for (int i = 0; i < 2000; i++) {
        if (l.n == l.cap) {
            l.cap = l.cap ? l.cap * 2 : 64;
            l.items = ct_xrealloc(l.items, l.cap * sizeof *l.items);
        }
        ct_edit *e = &l.items[l.n++];
        memset(e, 0, sizeof *e);
        int f = i % 40, fn = (i * 7) % 400;
        e->step_id = i + 1;
        e->touch = -1;
        e->via = "str_replace";
        e->path = ct_xasprintf("/testbed/pkg/mod%d.py", f);
        e->old_text = ct_xstrdup("old");
        e->new_text = ct_xasprintf("    y = x * %d\n    z = y + %d\n", fn, f);
        e->literal = 1;
    }
    double t_setup = now_ms() - t0;
    ct_spans_opts o = {0};
    o.workspace = ws;
    ct_edit_place *p = NULL;
    ct_error err;
    t0 = now_ms();
    ct_spans_place_edits(&l, &o, &p, NULL, 0, &err);
    double t_map = now_ms() - t0;
    size_t found = 0, defs = 0;
    for (size_t i = 0; p && i < l.n; i++) {
        found += strcmp(p[i].status, "found") == 0;
        defs += p[i].has_def;
    }
    printf("synthetic: 2000 edits over 40 files x 2000 lines: map %.2f ms (%.3f ms/edit), "
           "found %zu, in a function %zu; writing the files took %.2f ms (%.2fx)\n",
           t_map, t_map / 2000, found, defs, t_setup, t_map / (t_setup > 0 ? t_setup : 1));
    ct_spans_places_free(p, l.n);
    bench_replace("synthetic", &l, ws);
    ct_edits_free(&l);
    rmtree(ws);
}

static void bench_incremental(void)
{
    ct_buf b = CT_BUF_INIT;
    for (int fn = 0; fn < 500; fn++)
        ct_buf_printf(&b, "def g%d(x):\n    y = x * %d\n    return y\n\n", fn, fn);
    ct_spans_doc *d = NULL;
    double t0 = now_ms();
    for (int i = 0; i < 20; i++) {
        ct_spans_doc_free(d);
        d = NULL;
        ct_spans_doc_open("python", b.data, b.len, &d, NULL);
    }
    double t_full = (now_ms() - t0) / 20;
    size_t at = b.len / 2;
    while (at < b.len && b.data[at] != '\n')
        at++;
    t0 = now_ms();
    for (int i = 0; i < 20; i++)
        ct_spans_doc_edit(d, at, at, i % 2 ? "" : "#", i % 2 ? 0 : 1, NULL);
    double t_inc = (now_ms() - t0) / 20;
    printf("parse of a 2000-line Python file: full %.3f ms, incremental re-parse after a 1-byte "
           "edit %.3f ms (%.2fx of full)\n",
           t_full, t_inc, t_inc / (t_full > 0 ? t_full : 1));
    ct_spans_doc_free(d);
    ct_buf_free(&b);
}

int main(int argc, char **argv)
{
    const char *corpus = getenv("CT_CORPUS") ? getenv("CT_CORPUS") : "/work/shared/corpus";
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            bench_traj(argv[i]);
    } else {
        static const char *const runs[] = {
            "claude_code_tb/cc_coder_crack-7z-hash.hard_LARGE",
            "openhands/oh_eval-output_multi-swe-bench_3traj",
            "mini_swe_agent/mini_gemini3_psf-requests-1142_LARGE",
            "swe_agent/swea_hfrow_nebius-sample_ODD",
        };
        struct stat st;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", corpus, runs[0]);
        if (stat(path, &st) != 0) {
            printf("bench_spans: corpus not found at %s (set CT_CORPUS): skipping the corpus "
                   "runs\n",
                   corpus);
        } else {
            for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
                snprintf(path, sizeof path, "%s/%s", corpus, runs[i]);
                bench_traj(path);
            }
        }
    }
    bench_synthetic();
    bench_incremental();
    return 0;
}

/* analyze.c — what a job does on a worker thread: load, analyze, place each labelled step's
 * diagnostic on its own range. Touches nothing but the job's inputs and outputs. */
#include "server.h"

#include "ct/batch.h"
#include "ct/config.h"
#include "ct/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ct/heuristic.h"
#include "ct/index.h"

void result_free(ct_result *r)
{
    if (!r) return;
    for (size_t i = 0; r->an && i < r->trajs.n; i++)
        ct_analysis_free(r->an[i]);
    free(r->an);
    for (size_t i = 0; r->ranges && !r->ext_view && i < r->trajs.n; i++)
        free(r->ranges[i]);
    if (!r->ext_view) free(r->ranges);
    if (!r->ext_view) {
        free(r->memo.off);
        free(r->memo.pos);
    }
    ct_traj_list_free(&r->trajs);
    ct_text_free(&r->lines);
    blob_unref(r->text);
    json_decref(r->diags);
    free(r->path);
    free(r);
}

/* Only "heuristic" is accepted by the settings; an LLM job (llm.c) runs the agent instead, with
 * the job's memory handle (m, may be NULL) for prior knowledge and online extraction. */
static int analyze_one(ct_job *j, ct_memory *m, const ct_trajectory *t, const json_t *cfg,
                       ct_analysis **out, ct_error *err)
{
    if (j->llm) return llm_analyze_one(j, m, t, out, err);
    return ct_analyze_heuristic(t, cfg, out, err);
}

static void ensure_stages(const ct_trajectory *t, ct_analysis *a)
{
    if (a->n_stages || t->n_steps == 0) return;
    ct_stage *st = NULL;
    size_t n = 0;
    if (ct_stages_segment(t, &st, &n) == 0 && n) {
        ct_analysis_set_stages(a, st, n);
        free(st);
        return;
    }
    free(st);
    ct_stage one = {1, 1, (int)t->n_steps, NULL};
    ct_analysis_set_stages(a, &one, 1);
}

/* The memory database of a job (docs/memory.md), opened on the worker thread: one handle per
 * job, never shared (ct/memory.h: one handle per thread). Opening a document only uses an
 * existing database unless the createMemoryDb setting says otherwise; only codetracer.feedback
 * creates one. A database that cannot be used is reported through j->mem_err (the loop thread
 * warns once) and the analysis goes on without it. */
static ct_memory *job_memory(ct_job *j)
{
    if (j->no_memory || (!j->use_feedback && !j->use_cache)) return NULL;
    char *path = *j->memory_db ? ct_xstrdup(j->memory_db) : ct_memory_default_path();
    struct stat st;
    if (!path || (!j->create_db && stat(path, &st) != 0)) {
        free(path);
        return NULL;
    }
    ct_memory *m = NULL;
    if (ct_memory_open(path, &m, &j->mem_err) != CT_OK) {
        j->mem_failed = 1;
        m = NULL;
    }
    free(path);
    return m;
}

static void mem_failed(ct_job *j, const ct_error *e)
{
    if (j->mem_failed) return;
    j->mem_failed = 1;
    j->mem_err = *e;
}

/* The analysis of one trajectory: from the cache under the key the CLI uses (ct/batch.h:
 * content hash, "heuristic", no model, profile NULL, ct_batch_config_hash of the default
 * configuration), else the analyzer's, stored and learnt from. Then the user's feedback.
 * An LLM job's key is the CLI's for llm/hybrid (the mode, llm.model_name, the hash of the job's
 * effective configuration: llm_cache_key); a partial LLM result is never stored, and the agent
 * learns from the run itself (online extraction), so the rule patterns are not learnt here. */
static ct_analysis *analysis_of(ct_job *j, ct_memory *m, const ct_trajectory *t, const json_t *cfg,
                                const char *cfg_hash, int *cached)
{
    ct_analysis *a = NULL;
    char hash[65];
    ct_memory_key key = {hash, "heuristic", NULL, NULL, cfg_hash};
    if (j->llm) llm_cache_key(j, &key.analyzer, &key.model, &key.config_hash);
    ct_error me;
    ct_error_clear(&me);
    int prior = 0;
    *cached = 0;
    if (m) ct_traj_hash(t, hash);
    if (m && j->use_cache) {
        int rc = ct_memory_cache_get(m, &key, &a, &me);
        if (rc == CT_OK) {
            prior = 1;
            if (a->n_labels != t->n_steps) { /* not this trajectory's: analyze again */
                ct_analysis_free(a);
                a = NULL;
            }
        } else if (rc != CT_ENOTFOUND) {
            mem_failed(j, &me);
        }
    }
    if (a) {
        *cached = 1;
        a->traj_id = ct_analysis_strdup(a, t->id);
        for (size_t i = 0; i < a->n_labels; i++)
            a->labels[i].bench_step_id = t->steps[i].bench_step_id;
    } else {
        ct_error e;
        ct_error_clear(&e);
        if (analyze_one(j, m, t, cfg, &a, &e) != CT_OK || !a) {
            /* One trajectory the analyzer rejects still shows its steps, unlabelled. */
            ct_analysis_free(a);
            return ct_analysis_new(t, "none");
        }
        if (m && j->use_cache && !j->mem_failed && !a->partial) {
            ct_error_clear(&me);
            if (ct_memory_cache_put(m, &key, t, a, &me) != CT_OK) mem_failed(j, &me);
            ct_error_clear(&me);
            if (!prior && !j->mem_failed && !j->llm &&
                ct_memory_learn_from_analysis(m, t, a, NULL, &me) != CT_OK)
                mem_failed(j, &me);
        }
    }
    if (m && j->use_feedback && !j->mem_failed) {
        ct_error_clear(&me);
        if (ct_memory_feedback_apply(m, hash, a, &me) < 0) mem_failed(j, &me);
    }
    if (m && !j->mem_failed) {
        /* where this agent showed the same pattern before: hover says "Informed by memory" */
        ct_error_clear(&me);
        if (ct_memory_annotate_analysis(m, t, a, &me) < 0) mem_failed(j, &me);
    }
    return a;
}

/* ---- where a step goes ---- */

typedef struct placed_file {
    char *path;
    char *uri;
    ct_buf data;
    ct_text lines;
    int ok;
    int ranged; /* json_ranges_fill ran on it */
} placed_file;

typedef struct placer {
    ct_job *job;
    ct_result *res;
    placed_file *files;
    size_t n_files;
} placer;

static int same_doc(const ct_result *r, const ct_step *st)
{
    if (!st->src.path) return !r->ext_view; /* a path result's step names its file */
    return strcmp(st->src.path, r->path) == 0;
}

/* The tree-sitter range of step k of trajectory ti, when there is one that fits a text of n
 * bytes. */
static int tree_range(const ct_result *r, size_t ti, size_t k, size_t n, size_t *a, size_t *b)
{
    if (!r->ranges || ti >= r->trajs.n || !r->ranges[ti] || k >= r->trajs.items[ti]->n_steps)
        return -1;
    const ct_step_range *g = &r->ranges[ti][k];
    if (g->b <= g->a || g->b > n) return -1;
    *a = g->a;
    *b = g->b;
    return 0;
}

int result_step_span_at(const ct_result *r, size_t ti, size_t k, size_t *a, size_t *b)
{
    if (!r->text || ti >= r->trajs.n || k >= r->trajs.items[ti]->n_steps) return -1;
    const ct_step *st = &r->trajs.items[ti]->steps[k];
    if (!same_doc(r, st)) return -1;
    if (tree_range(r, ti, k, r->text->len, a, b) == 0) return 0;
    return ct_lsp_src_span(&r->lines, &st->src, a, b);
}

int result_file_span(const ct_result *r, size_t ti, size_t k, const ct_text *lines, size_t *a,
                     size_t *b)
{
    if (ti >= r->trajs.n || k >= r->trajs.items[ti]->n_steps) return -1;
    if (tree_range(r, ti, k, lines->n, a, b) == 0) return 0;
    return ct_lsp_src_span(lines, &r->trajs.items[ti]->steps[k].src, a, b);
}

/* Which trajectory and step st is (it points into one of r's step arrays). */
static int step_index(const ct_result *r, const ct_step *st, size_t *ti, size_t *k)
{
    uintptr_t p = (uintptr_t)st;
    for (size_t i = 0; i < r->trajs.n; i++) {
        const ct_trajectory *t = r->trajs.items[i];
        uintptr_t lo = (uintptr_t)t->steps, hi = (uintptr_t)(t->steps + t->n_steps);
        if (t->n_steps && p >= lo && p < hi) {
            *ti = i;
            *k = (size_t)(st - t->steps);
            return 0;
        }
    }
    return -1;
}

int result_step_span(const ct_result *r, const ct_step *st, size_t *a, size_t *b)
{
    size_t ti, k;
    if (r->ranges && step_index(r, st, &ti, &k) == 0) return result_step_span_at(r, ti, k, a, b);
    if (!r->text || !same_doc(r, st)) return -1;
    return ct_lsp_src_span(&r->lines, &st->src, a, b);
}

/* Allocate r->ranges (all "no tree range"). */
static void ranges_alloc(ct_result *r)
{
    if (r->ranges || !r->trajs.n) return;
    r->ranges = ct_xcalloc(r->trajs.n, sizeof *r->ranges);
    for (size_t i = 0; i < r->trajs.n; i++)
        r->ranges[i] = ct_xcalloc(r->trajs.items[i]->n_steps ? r->trajs.items[i]->n_steps : 1,
                                  sizeof *r->ranges[i]);
}

json_t *result_step_location(ct_result *r, const ct_step *st, const char *uri, ct_pos_enc enc)
{
    size_t a, b;
    if (result_step_span(r, st, &a, &b) != 0) return NULL;
    return json_pack("{s:s,s:o}", "uri", uri, "range", result_range(r, a, b, enc));
}

#define MAX_PLACED_FILE (256LL * 1024 * 1024)

static placed_file *file_of(placer *p, const char *path)
{
    for (size_t i = 0; i < p->n_files; i++)
        if (strcmp(p->files[i].path, path) == 0) return p->files[i].ok ? &p->files[i] : NULL;
    p->files = ct_xrealloc(p->files, (p->n_files + 1) * sizeof *p->files);
    placed_file *f = &p->files[p->n_files++];
    memset(f, 0, sizeof *f);
    f->path = ct_xstrdup(path);
    /* Inside an archive ("x.tar.gz!/a/b.json") there is no file an editor could open. */
    if (strstr(path, "!/") || path[0] != '/') return NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0 && (long long)f->data.len < MAX_PLACED_FILE)
        ct_buf_append(&f->data, chunk, n);
    fclose(fp);
    if (!f->data.data) ct_buf_puts(&f->data, "");
    ct_text_init(&f->lines, f->data.data, f->data.len);
    f->uri = ct_lsp_uri_from_path(path);
    f->ok = 1;
    return f;
}

static int cmp_off(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Positions of every step range's ends in a document, converted in one sweep per line and kept
 * with the result: converting offset by offset costs the length of the line before it each time,
 * and a JSONL record is one line (230 KB lines: 55 ms of placing and 79 ms for a documentSymbol
 * of a 690 KB output.jsonl before). */
static void memo_build(ct_result *r, ct_pos_enc enc)
{
    const ct_text *t = &r->lines;
    ct_pos_memo *m = &r->memo;
    size_t cap = 0;
    for (size_t i = 0; i < r->trajs.n; i++)
        cap += 2 * r->trajs.items[i]->n_steps;
    if (!cap) return;
    m->enc = enc;
    m->off = ct_xmalloc(cap * sizeof *m->off);
    for (size_t i = 0; i < r->trajs.n; i++)
        for (size_t k = 0; k < r->trajs.items[i]->n_steps; k++) {
            size_t a, b;
            if (result_step_span_at(r, i, k, &a, &b) != 0) continue;
            m->off[m->n++] = a;
            m->off[m->n++] = b;
        }
    qsort(m->off, m->n, sizeof *m->off, cmp_off);
    size_t u = 0;
    for (size_t i = 0; i < m->n; i++)
        if (!u || m->off[u - 1] != m->off[i]) m->off[u++] = m->off[i];
    m->n = u;
    m->pos = ct_xmalloc((u ? u : 1) * sizeof *m->pos);
    size_t line = 0, base = t->starts[0], units = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t off = m->off[i];
        if (off > t->n) off = t->n;
        while (line + 1 < t->n_lines && t->starts[line + 1] <= off) {
            line++;
            base = t->starts[line];
            units = 0;
        }
        /* from the last offset of this line, unless off is inside a character or past the
         * line's end: then the exact conversion */
        if (off < base || off > ct_text_line_end(t, (long)line) ||
            (off < t->n && ((unsigned char)t->s[off] & 0xC0) == 0x80)) {
            m->pos[i] = ct_pos_from_byte(t, off, enc);
            continue;
        }
        units += ct_pos_units(t->s + base, off - base, enc);
        base = off;
        m->pos[i] = (ct_lsp_pos){(long)line, (long)units};
    }
}

ct_lsp_pos result_pos(const ct_result *r, size_t off, ct_pos_enc enc)
{
    const ct_pos_memo *m = &r->memo;
    if (m->n && m->enc == enc && !r->ext_view) {
        size_t lo = 0, hi = m->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (m->off[mid] < off)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < m->n && m->off[lo] == off) return m->pos[lo];
    }
    return ct_pos_from_byte(&r->lines, off, enc);
}

json_t *result_range(const ct_result *r, size_t a, size_t b, ct_pos_enc enc)
{
    if (b < a) b = a;
    return json_pack("{s:o,s:o}", "start", ct_lsp_position(result_pos(r, a, enc)), "end",
                     ct_lsp_position(result_pos(r, b, enc)));
}

static void placer_free(placer *p)
{
    for (size_t i = 0; i < p->n_files; i++) {
        free(p->files[i].path);
        free(p->files[i].uri);
        ct_buf_free(&p->files[i].data);
        ct_text_free(&p->files[i].lines);
    }
    free(p->files);
}

/* uri (borrowed) and range (new) of a step, or -1. */
static int place(placer *p, const ct_step *st, const char **uri, json_t **range)
{
    ct_job *j = p->job;
    size_t a, b;
    if (p->res->text) {
        if (result_step_span(p->res, st, &a, &b) != 0) return -1;
        *uri = j->uri;
        *range = result_range(p->res, a, b, j->enc);
        return 0;
    }
    if (!st->src.path) return -1;
    placed_file *f = file_of(p, st->src.path);
    if (!f) return -1;
    size_t ti, k;
    if (!(step_index(p->res, st, &ti, &k) == 0 &&
          tree_range(p->res, ti, k, f->data.len, &a, &b) == 0) &&
        ct_lsp_src_span(&f->lines, &st->src, &a, &b) != 0)
        return -1;
    *uri = f->uri;
    *range = ct_lsp_range(&f->lines, a, b, j->enc);
    return 0;
}

static json_t *locate_cb(void *ud, const ct_step *st)
{
    const char *uri;
    json_t *range;
    if (place(ud, st, &uri, &range) != 0) return NULL;
    return json_pack("{s:s,s:o}", "uri", uri, "range", range);
}

/* The tree-sitter parse of a document's text, on a thread of its own from the start of the job:
 * it needs only the text, so it runs while the text is loaded and analyzed (jsonranges.c). */
typedef struct parse_task {
    pthread_t th;
    int started;
    const char *text;
    size_t len;
    const char *path;
    atomic_int stop; /* set by the job's thread: cancelled, or the load failed */
    jr_tree *tree;
    double ms;
} parse_task;

static void *parse_main(void *arg)
{
    parse_task *p = arg;
    uint64_t t0 = uv_hrtime();
    p->tree = json_ranges_parse(p->text, p->len, p->path, &p->stop);
    p->ms = (double)(uv_hrtime() - t0) / 1e6;
    return NULL;
}

static void parse_start(parse_task *p, const ct_job *j)
{
    p->text = j->text->data;
    p->len = j->text->len;
    p->path = j->path;
    p->started = pthread_create(&p->th, NULL, parse_main, p) == 0;
}

/* The parse's objects (parsed here when no thread could be started), or NULL. */
static jr_tree *parse_join(parse_task *p)
{
    if (p->started)
        pthread_join(p->th, NULL);
    else if (p->text && !atomic_load(&p->stop))
        parse_main(p);
    p->started = 0;
    p->text = NULL;
    jr_tree *t = p->tree;
    p->tree = NULL;
    return t;
}

/* Step ranges from tree-sitter-json: in the document text, or in each JSON file of a path. */
static void find_ranges(ct_job *j, placer *p, parse_task *pt)
{
    ct_result *r = p->res;
    uint64_t t0 = uv_hrtime();
    ranges_alloc(r);
    if (r->text) {
        if (atomic_load(&j->cancelled)) atomic_store(&pt->stop, 1);
        jr_tree *jt = parse_join(pt);
        uint64_t t1 = uv_hrtime();
        r->ms_ranges_wait = (double)(t1 - t0) / 1e6;
        if (jt || json_ranges_applies(r->text->data, r->text->len, r->path))
            json_ranges_match(jt, r->text->data, r->text->len, r->path, 1, &r->trajs, r->ranges,
                              &r->n_ranged, &r->n_range_fallback);
        json_ranges_free(jt);
        r->ms_ranges = pt->ms + (double)(uv_hrtime() - t1) / 1e6;
        return;
    } else {
        for (size_t i = 0; i < r->trajs.n && !atomic_load(&j->cancelled); i++) {
            const ct_trajectory *t = r->trajs.items[i];
            for (size_t k = 0; k < t->n_steps; k++) {
                if (!t->steps[k].src.path) continue;
                placed_file *f = file_of(p, t->steps[k].src.path);
                if (!f || f->ranged) continue;
                f->ranged = 1;
                json_ranges_fill(f->data.data, f->data.len, f->path, 0, &r->trajs, r->ranges,
                                 &r->n_ranged, &r->n_range_fallback, &j->cancelled);
            }
        }
    }
    r->ms_ranges = (double)(uv_hrtime() - t0) / 1e6;
}

static void build_diagnostics(ct_job *j, ct_result *r, parse_task *pt)
{
    placer p = {j, r, NULL, 0};
    find_ranges(j, &p, pt);
    if (r->text) memo_build(r, j->enc);
    r->diags = json_object();
    if (j->uri) json_object_set_new(r->diags, j->uri, json_array());
    for (size_t i = 0; i < r->trajs.n; i++) {
        const ct_trajectory *t = r->trajs.items[i];
        const ct_analysis *a = r->an[i];
        for (size_t k = 0; k < a->n_labels && k < t->n_steps; k++) {
            const ct_step_label *l = &a->labels[k];
            if (l->label == CT_LABEL_CORRECT) continue;
            const char *uri;
            json_t *range;
            if (place(&p, &t->steps[k], &uri, &range) != 0) {
                r->n_skipped++;
                continue;
            }
            json_t *d = ct_lsp_diagnostic(t, l, range, &j->opts, locate_cb, &p);
            json_t *arr = json_object_get(r->diags, uri);
            if (!arr) {
                arr = json_array();
                json_object_set_new(r->diags, uri, arr);
            }
            json_array_append_new(arr, d);
        }
        if ((i & 15) == 15 && atomic_load(&j->cancelled)) break;
    }
    placer_free(&p);
}

static void set_stage(ct_job *j, int st)
{
    atomic_store(&j->stage, st);
    uv_async_send(&j->srv->wake);
}

/* The build-and-settings part of the cache key: the daemon analyzes with the built-in defaults,
 * and the executable does not change under a running process, so it is computed once. */
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;
static char cfg_hash_once[65];

static char exe_id[96]; /* the running executable (size, mtime): part of the memo key only */

static void cfg_hash_init(void)
{
    ct_error e;
    ct_error_clear(&e);
    json_t *cfg = ct_config_load(NULL, &e);
    ct_batch_config_hash("heuristic", cfg, cfg_hash_once);
    json_decref(cfg);
    struct stat st;
    if (stat("/proc/self/exe", &st) == 0)
        snprintf(exe_id, sizeof exe_id, "%lld %lld.%09ld", (long long)st.st_size,
                 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
}

/* ---- memo: the diagnostics of a document text, remembered across sessions ----
 *
 * Loading a large trajectory takes most of the time from didOpen to diagnostics, and the
 * analysis cache is keyed by the *loaded* trajectory's content hash. So a document job first
 * looks for the diagnostics it published last time for exactly this text, URI and settings (a
 * file next to the memory database: <db dir>/lsp-diagnostics/<key>.json) and lets the loop
 * thread publish them at once; the load and analysis (cache, feedback) run as before and
 * publish their own diagnostics, which replace the remembered ones when anything changed.
 * Like the cache, the memo is only used when the memory database exists (or createMemoryDb). */

#define MEMO_MAX_BYTES (16u << 20)
#define MEMO_MAX_FILES 256

/* Two independent 64-bit multiplicative hashes of the text in one pass, 8 bytes at a time
 * (a cache key for the user's own files, not a defence against crafted collisions: the key
 * also holds the length, and a wrong hit is replaced by the analysis moments later). */
static void text_hash(const char *p, size_t n, uint64_t *ha, uint64_t *hb)
{
    uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        a = (a ^ w) * 0x100000001b3ULL;
        a ^= a >> 29;
        b = (b ^ (w * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
        b ^= b >> 32;
    }
    for (; i < n; i++) {
        a = (a ^ (unsigned char)p[i]) * 0x100000001b3ULL;
        b = (b ^ (unsigned char)p[i]) * 0xc4ceb9fe1a85ec53ULL;
    }
    *ha = a;
    *hb = b;
}

static char *memo_dir(const ct_job *j)
{
    if (!j->text || !j->uri || j->no_memory || !j->use_cache || j->llm) return NULL;
    char *db = *j->memory_db ? ct_xstrdup(j->memory_db) : ct_memory_default_path();
    struct stat st;
    if (!db || (!j->create_db && stat(db, &st) != 0)) {
        free(db);
        return NULL;
    }
    char *slash = strrchr(db, '/');
    char *dir = slash ? ct_xasprintf("%.*s/lsp-diagnostics", (int)(slash - db), db)
                      : ct_xstrdup("lsp-diagnostics");
    free(db);
    return dir;
}

/* The memo file of a job: text (two independent 64-bit hashes and its length) and everything
 * that changes the diagnostics (URI, encoding, severities, related information, docs URL,
 * feedback on/off, the configuration hash, and the running executable: a rebuilt daemon never
 * shows a predecessor's diagnostics, even for the moment before its own arrive). */
static char *memo_file(const ct_job *j, const char *dir, const char *cfg_hash)
{
    uint64_t a, b;
    text_hash(j->text->data, j->text->len, &a, &b);
    char head[2048];
    int n = snprintf(head, sizeof head, "%s\n%d %d %d %d %d\n%s\n%s %s\n%zu %016llx %016llx",
                     j->uri, (int)j->enc, j->opts.sev_incorrect, j->opts.sev_unuseful,
                     j->opts.related, j->use_feedback, j->docs_url, cfg_hash, exe_id, j->text->len,
                     (unsigned long long)a, (unsigned long long)b);
    char key[65];
    ct_memory_hash_bytes(head, n > 0 && (size_t)n < sizeof head ? (size_t)n : strlen(head), key);
    return ct_xasprintf("%s/%s.json", dir, key);
}

static void memo_lookup(ct_job *j, const char *file)
{
    json_error_t je;
    json_t *v = json_load_file(file, JSON_DECODE_ANY, &je);
    if (v && !json_is_array(v)) {
        json_decref(v);
        v = NULL;
    }
    if (!v) return;
    j->early = v;
    atomic_store(&j->early_ready, 1);
    uv_async_send(&j->srv->wake);
}

static void memo_evict(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char *oldest = NULL;
    time_t old_t = 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".json")) continue;
        n++;
        char *p = ct_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && (!oldest || st.st_mtime < old_t)) {
            free(oldest);
            oldest = p;
            old_t = st.st_mtime;
        } else {
            free(p);
        }
    }
    closedir(d);
    if (n > MEMO_MAX_FILES && oldest) unlink(oldest);
    free(oldest);
}

static void memo_store(const ct_job *j, const char *dir, const char *file, json_t *diags)
{
    if (!diags) return;
    char *txt = json_dumps(diags, JSON_COMPACT);
    if (!txt || strlen(txt) > MEMO_MAX_BYTES || (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
        free(txt);
        return;
    }
    char *tmp = ct_xasprintf("%s.%d.%p.tmp", file, (int)getpid(), (const void *)j);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(txt, 1, strlen(txt), f) == strlen(txt);
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, file) == 0)
        memo_evict(dir);
    else
        unlink(tmp);
    free(tmp);
    free(txt);
}

void analyze_run(ct_job *j)
{
    if (atomic_load(&j->cancelled)) {
        j->rc = ct_error_set(&j->err, CT_ECANCELED, "cancelled");
        return;
    }
    /* The configuration `codetracer analyze` uses without --config (the defaults), so the CLI
     * and the daemon share cached analyses (same key, same build). */
    pthread_once(&cfg_once, cfg_hash_init);
    const char *cfg_hash = cfg_hash_once;
    char *mdir = memo_dir(j);
    char *mfile = mdir ? memo_file(j, mdir, cfg_hash) : NULL;
    if (mfile && j->memo_lookup) memo_lookup(j, mfile);
    ct_error ce;
    ct_error_clear(&ce);
    json_t *cfg = ct_config_load(NULL, &ce);
    ct_result *r = ct_xcalloc(1, sizeof *r);
    r->version = j->version;
    ct_error_clear(&j->err);
    set_stage(j, 1);
    uint64_t t0 = uv_hrtime();
    int rc;
    parse_task pt;
    memset(&pt, 0, sizeof pt);
    atomic_init(&pt.stop, 0);
    /* a cancelled job stops inside the load too (between roots, inside large JSON values) */
    ct_load_opts lopts;
    memset(&lopts, 0, sizeof lopts);
    lopts.cancel = &j->cancelled;
    if (j->text) {
        r->text = j->text; /* borrowed: after_cb takes the reference on the loop thread */
        r->path = ct_xstrdup(j->path);
        parse_start(&pt, j);
        rc = ct_load_buffer(j->path, j->text->data, j->text->len, &lopts, &r->trajs, &j->err);
    } else {
        char *real = realpath(j->path, NULL);
        r->path = ct_xstrdup(j->path);
        rc = ct_load_path(real ? real : j->path, &lopts, &r->trajs, NULL, NULL, &j->err);
        free(real);
    }
    uint64_t t1 = uv_hrtime();
    r->ms_load = (double)(t1 - t0) / 1e6;
    if (rc != CT_OK || atomic_load(&j->cancelled)) goto fail;
    set_stage(j, 2);
    r->an = ct_xcalloc(r->trajs.n ? r->trajs.n : 1, sizeof *r->an);
    {
        ct_memory *m = r->trajs.n ? job_memory(j) : NULL;
        for (size_t i = 0; i < r->trajs.n; i++) {
            if (atomic_load(&j->cancelled)) break;
            int cached = 0;
            r->an[i] = analysis_of(j, m, r->trajs.items[i], cfg, cfg_hash, &cached);
            r->n_cached += (size_t)cached;
            ensure_stages(r->trajs.items[i], r->an[i]);
        }
        ct_memory_close(m);
        if (atomic_load(&j->cancelled)) goto fail;
    }
    r->ms_analyze = (double)(uv_hrtime() - t1) / 1e6;
    if (atomic_load(&j->cancelled)) goto fail;
    set_stage(j, 3);
    uint64_t t2 = uv_hrtime();
    if (r->text) ct_text_init(&r->lines, r->text->data, r->text->len);
    build_diagnostics(j, r, &pt);
    r->ms_place = (double)(uv_hrtime() - t2) / 1e6;
    if (mfile && !atomic_load(&j->cancelled) && !j->mem_failed)
        memo_store(j, mdir, mfile, json_object_get(r->diags, j->uri));
    j->rc = CT_OK;
    j->res = r;
    goto out;
fail:
    atomic_store(&pt.stop, 1);
    json_ranges_free(parse_join(&pt));
    if (rc == CT_OK) rc = ct_error_set(&j->err, CT_ECANCELED, "cancelled");
    j->rc = rc;
    r->text = NULL; /* the reference below is the job's, released with the job */
    result_free(r);
out:
    json_decref(cfg);
    free(mdir);
    free(mfile);
}

/* bench_memory: what the memory database costs and saves.
 *
 * usage: bench_memory [CORPUS_DIR] [-n ENTRIES] [-q QUERIES]
 *
 * 1. Retrieval: a fresh database with ENTRIES insights (default 10,000; generated text over a
 *    2,000-word vocabulary, 8 agents x 3 models, all kinds), then QUERIES ranked searches
 *    (ct_memory_insight_search: 12-word queries, agent+model scope, top 5 within 1,500 chars,
 *    use counts bumped — the write included). Prints insert rate and search latency
 *    (mean / median / p95 / max). Target printed against: median <= 2 ms.
 * 2. Cache: on the largest corpus trajectory that loads (CORPUS_DIR, else $CT_CORPUS, else
 *    <source root>/../shared/corpus; a generated 3,000-step trajectory when there is none), in
 *    the same run: the heuristic analysis (ct_analyze_heuristic) against a cache hit
 *    (ct_traj_hash + ct_memory_cache_get), median of N runs each, and loading for scale. */
#include "ct/buf.h"
#include "ct/heuristic.h"
#include "ct/load.h"
#include "ct/memory.h"

#include <dirent.h>
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
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static unsigned long long rng = 88172645463325252ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

#define VOCAB 2000
static char vocab[VOCAB][16];

static void make_vocab(void)
{
    static const char *const syl[] = {"ka", "re", "to", "mi", "su", "lo", "ne", "fa",
                                      "di", "po", "gu", "ze", "ba", "ti", "ro", "le"};
    for (int i = 0; i < VOCAB; i++) {
        int v = i;
        char *p = vocab[i];
        for (int k = 0; k < 4; k++) {
            memcpy(p, syl[v % 16], 2);
            p += 2;
            v /= 16;
            if (!v && k >= 1) break;
        }
        *p = 0;
    }
}

/* Zipf-ish word choice: common words are common, as in real notes. */
static const char *word(void)
{
    unsigned r = rnd(VOCAB);
    return vocab[(r * r) / VOCAB];
}

static char *sentence(int words)
{
    ct_buf b = CT_BUF_INIT;
    for (int i = 0; i < words; i++)
        ct_buf_printf(&b, "%s%s", i ? " " : "", word());
    return ct_buf_steal(&b);
}

static const char *const agents[] = {"mini-SWE-agent", "SWE-agent", "OpenHands", "Terminus",
                                     "Claude Code",    "Codex",     "Aider",     ""};
static const char *const models[] = {"gpt-5", "claude-sonnet-4", ""};

static void bench_retrieval(const char *dir, int entries, int queries)
{
    char *path = ct_xasprintf("%s/retrieval.db", dir);
    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    if (ct_memory_open(path, &m, &err) != CT_OK) {
        printf("retrieval: cannot open %s: %s\n", path, err.msg);
        free(path);
        return;
    }
    double t0 = now_ms();
    int merged_n = 0;
    for (int i = 0; i < entries; i++) {
        char *s = sentence(8 + (int)rnd(10));
        int merged = 0;
        if (ct_memory_insight_add(m, (ct_insight_kind)rnd(3), agents[rnd(8)], models[rnd(3)], s,
                                  NULL, NULL, &merged, &err) != CT_OK)
            printf("insert failed: %s\n", err.msg);
        merged_n += merged;
        free(s);
    }
    double ins = now_ms() - t0;
    ct_memory_stats st;
    ct_memory_stats_get(m, &st, &err);
    printf("retrieval: %lld insights (%d near-duplicates merged) inserted in %.0f ms "
           "(%.3f ms per insert, dedup check included); database %.1f MB\n",
           st.insights, merged_n, ins, ins / entries, (double)st.bytes / 1e6);

    double *lat = ct_xcalloc((size_t)queries, sizeof *lat);
    size_t returned = 0;
    for (int q = 0; q < queries; q++) {
        char *s = sentence(12);
        ct_insight *v = NULL;
        size_t n = 0;
        double a = now_ms();
        if (ct_memory_insight_search(m, s, agents[rnd(7)], models[rnd(2)], 5, 1500, 0, &v, &n,
                                     &err) != CT_OK)
            printf("search failed: %s\n", err.msg);
        lat[q] = now_ms() - a;
        returned += n;
        ct_memory_insights_free(v, n);
        free(s);
    }
    qsort(lat, (size_t)queries, sizeof *lat, cmp_double);
    double sum = 0;
    for (int q = 0; q < queries; q++)
        sum += lat[q];
    printf("retrieval: %d searches (12-word query, agent+model scope, top 5 in 1500 chars, "
           "use counts bumped): mean %.3f ms, median %.3f ms, p95 %.3f ms, max %.3f ms; "
           "%.1f entries returned on average\n",
           queries, sum / queries, lat[queries / 2], lat[(int)(queries * 0.95)], lat[queries - 1],
           (double)returned / queries);
    printf("retrieval: target median <= 2 ms with 10,000 entries: %s\n",
           lat[queries / 2] <= 2.0 ? "met" : "NOT met");
    /* The same without the use-count write, to show what the bump costs. */
    for (int q = 0; q < queries; q++) {
        char *s = sentence(12);
        ct_insight *v = NULL;
        size_t n = 0;
        double a = now_ms();
        ct_memory_insight_search(m, s, agents[rnd(7)], models[rnd(2)], 5, 1500, 1, &v, &n, &err);
        lat[q] = now_ms() - a;
        ct_memory_insights_free(v, n);
        free(s);
    }
    qsort(lat, (size_t)queries, sizeof *lat, cmp_double);
    printf("retrieval: same without bump (read only): median %.3f ms, p95 %.3f ms\n",
           lat[queries / 2], lat[(int)(queries * 0.95)]);
    free(lat);
    ct_memory_close(m);
    free(path);
}

typedef struct {
    char **p;
    long long *sz;
    size_t n, cap;
} files;

static void collect(files *f, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d || depth > 12) {
        if (d) closedir(d);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *p = ct_xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            collect(f, p, depth + 1);
            free(p);
        } else if (S_ISREG(st.st_mode)) {
            if (f->n == f->cap) {
                f->cap = f->cap ? 2 * f->cap : 256;
                f->p = ct_xrealloc(f->p, f->cap * sizeof *f->p);
                f->sz = ct_xrealloc(f->sz, f->cap * sizeof *f->sz);
            }
            f->p[f->n] = p;
            f->sz[f->n++] = st.st_size;
        } else {
            free(p);
        }
    }
    closedir(d);
}

/* A generated mini-SWE-agent v1 trajectory with `steps` command/output pairs. */
static char *generate(const char *dir, int steps)
{
    char *path = ct_xasprintf("%s/generated.traj.json", dir);
    json_t *msgs = json_array();
    json_array_append_new(
        msgs, json_pack("{s:s, s:s}", "role", "system", "content", "You are an agent."));
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content", "Fix the bug."));
    for (int i = 0; i < steps; i++) {
        char *w = sentence(20);
        char *cmd = ct_xasprintf("THOUGHT: %s\n\n```bash\n%s\n```", w,
                                 i % 7 == 0   ? "ls -la"
                                 : i % 5 == 0 ? "python -m pytest -q"
                                              : "grep -rn foo src");
        char *out = ct_xasprintf("<returncode>%d</returncode>\n<output>\n%s\n%s\n</output>",
                                 i % 3 ? 0 : 1, w, w);
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "assistant", "content", cmd));
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content", out));
        free(w);
        free(cmd);
        free(out);
    }
    json_t *o =
        json_pack("{s:{s:s}, s:o, s:s, s:s}", "info", "exit_status", "Submitted", "messages", msgs,
                  "trajectory_format", "mini-swe-agent-1", "instance_id", "generated");
    json_dump_file(o, path, JSON_COMPACT);
    json_decref(o);
    return path;
}

static void bench_cache(const char *dir, const char *corpus)
{
    files f = {0};
    if (corpus) collect(&f, corpus, 0);
    ct_traj_list l = {0};
    ct_error err;
    char *chosen = NULL;
    long long chosen_size = 0;
    /* Largest first; the biggest files are not always loadable alone (a log next to its trial). */
    for (int tries = 0; tries < 15 && f.n; tries++) {
        size_t best = 0;
        for (size_t i = 1; i < f.n; i++)
            if (f.sz[i] > f.sz[best]) best = i;
        ct_error_clear(&err);
        ct_traj_list_free(&l);
        memset(&l, 0, sizeof l);
        if (ct_load_path(f.p[best], NULL, &l, NULL, NULL, &err) == CT_OK && l.n == 1 &&
            l.items[0]->n_steps > 0) {
            chosen = ct_xstrdup(f.p[best]);
            chosen_size = f.sz[best];
            break;
        }
        f.sz[best] = -1;
    }
    if (!chosen) {
        ct_traj_list_free(&l);
        memset(&l, 0, sizeof l);
        printf("cache: no corpus trajectory found%s; using a generated 3,000-step trajectory\n",
               corpus ? " that loads" : "");
        chosen = generate(dir, 3000);
        struct stat st;
        chosen_size = stat(chosen, &st) == 0 ? st.st_size : 0;
        if (ct_load_path(chosen, NULL, &l, NULL, NULL, &err) != CT_OK || l.n != 1) {
            printf("cache: the generated trajectory did not load: %s\n", err.msg);
            ct_traj_list_free(&l);
            free(chosen);
            return;
        }
    }
    ct_trajectory *t = l.items[0];
    printf("cache: %s (%.2f MB, %zu steps, %s)\n", chosen, (double)chosen_size / 1e6, t->n_steps,
           t->format);

    enum { RUNS = 15 };
    double load[RUNS], analyze[RUNS], hit[RUNS];
    for (int r = 0; r < RUNS; r++) {
        ct_traj_list l2 = {0};
        double a = now_ms();
        ct_load_path(chosen, NULL, &l2, NULL, NULL, &err);
        load[r] = now_ms() - a;
        ct_traj_list_free(&l2);
    }
    ct_analysis *an = NULL;
    for (int r = 0; r < RUNS; r++) {
        ct_analysis *x = NULL;
        double a = now_ms();
        int rc = ct_analyze_heuristic(t, NULL, &x, &err);
        analyze[r] = now_ms() - a;
        if (rc != CT_OK) {
            printf("cache: heuristic analysis failed: %s\n", err.msg);
            ct_traj_list_free(&l);
            free(chosen);
            return;
        }
        if (an) ct_analysis_free(an);
        an = x;
    }
    char *path = ct_xasprintf("%s/cache.db", dir);
    ct_memory *m = NULL;
    if (ct_memory_open(path, &m, &err) != CT_OK) {
        printf("cache: cannot open %s: %s\n", path, err.msg);
        ct_analysis_free(an);
        ct_traj_list_free(&l);
        free(chosen);
        free(path);
        return;
    }
    char h[65];
    ct_traj_hash(t, h);
    ct_memory_key key = {h, "heuristic", NULL, "detailed", NULL};
    double a0 = now_ms();
    ct_memory_cache_put(m, &key, t, an, &err);
    double put = now_ms() - a0;
    size_t labelled = 0;
    for (size_t i = 0; i < an->n_labels; i++)
        labelled += an->labels[i].label != CT_LABEL_CORRECT;
    for (int r = 0; r < RUNS; r++) {
        ct_analysis *x = NULL;
        double a = now_ms();
        char hh[65];
        ct_traj_hash(t, hh);
        ct_memory_key k = {hh, "heuristic", NULL, "detailed", NULL};
        int rc = ct_memory_cache_get(m, &k, &x, &err);
        hit[r] = now_ms() - a;
        if (rc != CT_OK) printf("cache: miss on a stored key: %s\n", err.msg);
        ct_analysis_free(x);
    }
    double hash_ms = now_ms();
    for (int r = 0; r < RUNS; r++)
        ct_traj_hash(t, h);
    hash_ms = (now_ms() - hash_ms) / RUNS;
    qsort(load, RUNS, sizeof(double), cmp_double);
    qsort(analyze, RUNS, sizeof(double), cmp_double);
    qsort(hit, RUNS, sizeof(double), cmp_double);
    printf("cache: load %.2f ms | heuristic analysis %.3f ms (%zu steps labelled) | cache hit "
           "%.3f ms (of which hashing %.3f ms) | put %.2f ms   [medians of %d]\n",
           load[RUNS / 2], analyze[RUNS / 2], labelled, hit[RUNS / 2], hash_ms, put, RUNS);
    printf("cache: hit / analysis = %.2f (%s); (load + hit) / (load + analysis) = %.2f\n",
           hit[RUNS / 2] / analyze[RUNS / 2],
           hit[RUNS / 2] < analyze[RUNS / 2] ? "the cache is faster" : "the cache is NOT faster",
           (load[RUNS / 2] + hit[RUNS / 2]) / (load[RUNS / 2] + analyze[RUNS / 2]));
    ct_memory_close(m);
    ct_analysis_free(an);
    ct_traj_list_free(&l);
    free(chosen);
    free(path);
    for (size_t i = 0; i < f.n; i++)
        free(f.p[i]);
    free(f.p);
    free(f.sz);
}

int main(int argc, char **argv)
{
    const char *corpus = NULL;
    int entries = 10000, queries = 1000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            entries = atoi(argv[++i]);
        else if (strcmp(argv[i], "-q") == 0 && i + 1 < argc)
            queries = atoi(argv[++i]);
        else
            corpus = argv[i];
    }
    if (entries < 1) entries = 1;
    if (queries < 1) queries = 1;
    char *deflt = NULL;
    if (!corpus) corpus = getenv("CT_CORPUS");
    if (!corpus) corpus = deflt = ct_xasprintf("%s/../shared/corpus", CT_SOURCE_ROOT);
    struct stat st;
    if (stat(corpus, &st) != 0 || !S_ISDIR(st.st_mode)) corpus = NULL;
    char dir[] = "/tmp/ct-bench-memory-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_vocab();
    bench_retrieval(dir, entries, queries);
    bench_cache(dir, corpus);
    char *cmd = ct_xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
    free(deflt);
    return 0;
}

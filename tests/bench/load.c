/* bench_load: how much loading and normalizing costs over bare JSON parsing.
 *
 * usage: bench_load [CORPUS_DIR] [-n RUNS] [--generated]
 *
 * For (a) the whole corpus and (b) its largest JSON/JSONL file, in the same run:
 *   load   = ct_load_path (discovery + loader + normalization), best of N wall times;
 *   parse  = jansson alone (json_loadb) on the same bytes: every JSON document as a whole, JSONL
 *            files line by line; best of N wall times;
 *   peak RSS of each, measured in a forked child (wait4's rusage) before any timing run, with
 *   the growth over the RSS the child inherited.
 * Targets printed against: load <= 1.5x parse; peak RSS of load <= 3x input bytes + 20 MB.
 *
 * The corpus is CORPUS_DIR, else $CT_CORPUS, else <source root>/../shared/corpus. When none
 * exists (or with --generated), a large mini-SWE-agent trajectory (about 65 MB, 2000 steps, one
 * 26 MB observation) is generated in a temporary directory and measured instead. */
#include "ct/buf.h"
#include "ct/load.h"

#include <dirent.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char **paths;
    long long *sizes;
    size_t n, cap;
    long long bytes;
} file_set;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int is_json_name(const char *name)
{
    return ct_str_ends(name, ".json") || ct_str_ends(name, ".jsonl") ||
           ct_str_ends(name, ".traj") || ct_str_ends(name, ".txt") || ct_str_ends(name, ".cast");
}

static void collect(file_set *fs, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *p = ct_xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            collect(fs, p);
            free(p);
        } else if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && is_json_name(de->d_name)) {
            if (fs->n == fs->cap) {
                fs->cap = fs->cap ? fs->cap * 2 : 64;
                fs->paths = ct_xrealloc(fs->paths, fs->cap * sizeof *fs->paths);
                fs->sizes = ct_xrealloc(fs->sizes, fs->cap * sizeof *fs->sizes);
            }
            fs->paths[fs->n] = p;
            fs->sizes[fs->n++] = st.st_size;
            fs->bytes += st.st_size;
        } else {
            free(p);
        }
    }
    closedir(d);
}

static int read_file(const char *p, ct_buf *b)
{
    ct_buf_clear(b);
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        ct_buf_append(b, chunk, got);
    fclose(f);
    if (!b->data) ct_buf_append(b, "", 0);
    return 0;
}

/* Parse the bytes the way a loader would have to at least: the whole document, or, when that
 * fails (JSONL, asciinema casts, text logs), every line that is JSON. Returns values parsed. */
static size_t bare_parse(const char *data, size_t len)
{
    json_error_t je;
    json_t *v = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (v) {
        json_decref(v);
        return 1;
    }
    size_t n = 0;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l && (*p == '{' || *p == '[')) {
            v = json_loadb(p, l, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
            if (v) {
                n++;
                json_decref(v);
            }
        }
        p += l + 1;
    }
    return n;
}

/* One measured job: parse = 1 → read + bare parse of paths; 0 → ct_load_path(target). */
typedef struct {
    int parse;
    char **paths;
    size_t n_paths;
    const char *target;
    size_t result; /* trajectories or values, to print and to keep the work observable */
    size_t steps;
} job;

static void run_job(job *j)
{
    if (j->parse) {
        /* read + parse: ct_load_path reads the files too, so the baseline reads them as well */
        ct_buf b = CT_BUF_INIT;
        j->result = 0;
        for (size_t i = 0; i < j->n_paths; i++) {
            if (read_file(j->paths[i], &b) == 0) j->result += bare_parse(b.data, b.len);
        }
        ct_buf_free(&b);
        return;
    }
    ct_traj_list l = {0};
    ct_error err;
    ct_error_clear(&err);
    ct_load_path(j->target, NULL, &l, NULL, NULL, &err);
    j->result = l.n;
    j->steps = 0;
    for (size_t i = 0; i < l.n; i++)
        j->steps += l.items[i]->n_steps;
    ct_traj_list_free(&l);
}

static double best_time(job *j, int runs)
{
    double best = 1e30;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        run_job(j);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

/* Resident set size of this process now (bytes), from /proc; -1 when unknown. */
static long long rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = -1, res = -1;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
        fclose(f);
    }
    return res < 0 ? -1 : (long long)res * sysconf(_SC_PAGESIZE);
}

/* Peak RSS (bytes) of a child that does the job once; *growth = peak minus the RSS the child
 * started with (what it inherited from this process). */
static long long peak_rss(job *j, long long *growth)
{
    fflush(NULL);
    malloc_trim(0);
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        long long start = rss_now();
        if (write(fds[1], &start, sizeof start) != (ssize_t)sizeof start) _exit(1);
        run_job(j);
        _exit(0);
    }
    close(fds[1]);
    long long start = -1;
    if (read(fds[0], &start, sizeof start) != (ssize_t)sizeof start) start = -1;
    close(fds[0]);
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0) return -1;
    long long peak = (long long)ru.ru_maxrss * 1024;
    *growth = start >= 0 ? peak - start : -1;
    return peak;
}

static long long base_rss(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) _exit(0);
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0) return -1;
    return (long long)ru.ru_maxrss * 1024;
}

static void report(const char *what, job *load, job *parse, long long bytes, int runs)
{
    long long gl = -1, gp = -1;
    long long rl = peak_rss(load, &gl); /* before the timing runs grow this process */
    long long rp = peak_rss(parse, &gp);
    double tl = best_time(load, runs);
    double tp = best_time(parse, runs);
    double mb = 1024.0 * 1024.0;
    double rss_cap = 3.0 * (double)bytes + 20 * mb;
    printf("\n== %s: %.2f MB in %zu file%s\n", what, (double)bytes / mb, parse->n_paths,
           parse->n_paths == 1 ? "" : "s");
    printf("  load (ct_load_path)      %9.2f ms   %zu trajectories, %zu steps\n", tl * 1e3,
           load->result, load->steps);
    printf("  bare parse (json_loadb)  %9.2f ms   %zu JSON values\n", tp * 1e3, parse->result);
    printf("  ratio load/parse         %9.2fx  target <= 1.50x  %s\n", tl / tp,
           tl / tp <= 1.5 ? "MET" : "NOT MET");
    printf("  peak RSS load            %9.1f MB   (+%.1f MB over the process it forked from; "
           "parse alone: %.1f MB, +%.1f MB)\n",
           (double)rl / mb, (double)gl / mb, (double)rp / mb, (double)gp / mb);
    printf("  RSS budget 3x+20MB       %9.1f MB   ratio %.2f of budget  %s\n", rss_cap / mb,
           (double)rl / rss_cap, (double)rl <= rss_cap ? "MET" : "NOT MET");
}

static char *generate_fixture(void)
{
    char tmpl[] = "/tmp/ct-bench-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) return NULL;
    char *path = ct_xasprintf("%s/big.traj.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        free(path);
        return NULL;
    }
    fprintf(
        f, "{\"trajectory_format\": \"mini-swe-agent-1\", \"instance_id\": \"bench__big-1\",\n"
           " \"info\": {\"exit_status\": \"Submitted\", \"submission\": \"\", \"mini_version\": "
           "\"1.15.0\", \"model_stats\": {\"instance_cost\": 0, \"api_calls\": 2000}},\n"
           " \"messages\": [\n  {\"role\": \"system\", \"content\": \"You are a helpful "
           "assistant.\"},\n"
           "  {\"role\": \"user\", \"content\": \"<pr_description>fix the bug</pr_description>\"}");
    for (int i = 0; i < 2000; i++) {
        fprintf(
            f,
            ",\n  {\"role\": \"assistant\", \"content\": \"THOUGHT: look at file %d to see what "
            "it does and whether the bug is there.\\n\\n```bash\\ncat src/file_%d.py | head -n "
            "200\\n```\"}",
            i, i);
        fprintf(
            f, ",\n  {\"role\": \"user\", \"content\": \"<returncode>0</returncode>\\n<output>\\n");
        int lines = i == 1000 ? 400000 : 300;
        for (int k = 0; k < lines; k++)
            fprintf(f, "    line %d of file %d: value = compute(value, %d)  # comment\\n", k, i, k);
        fprintf(f, "</output>\"}");
    }
    fprintf(f, ",\n  {\"role\": \"assistant\", \"content\": \"THOUGHT: done\\n\\n```bash\\necho "
               "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\\n```\"}\n ]\n}\n");
    fclose(f);
    return path;
}

int main(int argc, char **argv)
{
    const char *corpus = NULL;
    int runs = 5;
    int force_generated = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--generated") == 0)
            force_generated = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: bench_load [CORPUS_DIR] [-n RUNS] [--generated]\n");
            return 0;
        } else
            corpus = argv[i];
    }
    if (runs < 1) runs = 1;
    char *fallback = ct_xasprintf("%s/../shared/corpus", CT_SOURCE_ROOT);
    if (!corpus) corpus = getenv("CT_CORPUS");
    struct stat st;
    if (!corpus || stat(corpus, &st) != 0) corpus = stat(fallback, &st) == 0 ? fallback : NULL;
    if (force_generated) corpus = NULL;

    char *generated = NULL;
    file_set fs = {0};
    if (corpus) {
        collect(&fs, corpus);
        printf("bench_load: corpus %s (%zu JSON-ish files, %.2f MB), best of %d\n", corpus, fs.n,
               (double)fs.bytes / 1048576.0, runs);
    } else {
        generated = generate_fixture();
        if (!generated) {
            fprintf(stderr, "bench_load: no corpus and cannot write a fixture in /tmp\n");
            return 1;
        }
        fs.paths = ct_xmalloc(sizeof *fs.paths);
        fs.sizes = ct_xmalloc(sizeof *fs.sizes);
        stat(generated, &st);
        fs.paths[0] = ct_xstrdup(generated);
        fs.sizes[0] = st.st_size;
        fs.n = 1;
        fs.bytes = st.st_size;
        printf("bench_load: no corpus found; generated %s (%.2f MB), best of %d\n", generated,
               (double)fs.bytes / 1048576.0, runs);
    }
    printf("  (a forked process that does nothing peaks at %.1f MB RSS)\n",
           (double)base_rss() / 1048576.0);

    if (corpus) {
        job load = {0, NULL, 0, corpus, 0, 0};
        job parse = {1, fs.paths, fs.n, NULL, 0, 0};
        report("whole corpus", &load, &parse, fs.bytes, runs);
    }
    /* the largest file */
    size_t big = 0;
    for (size_t i = 1; i < fs.n; i++)
        if (fs.sizes[i] > fs.sizes[big]) big = i;
    if (fs.n) {
        job load = {0, NULL, 0, fs.paths[big], 0, 0};
        job parse = {1, &fs.paths[big], 1, NULL, 0, 0};
        char *what = ct_xasprintf("largest file %s", fs.paths[big]);
        report(what, &load, &parse, fs.sizes[big], runs);
        free(what);
    }

    if (generated) {
        unlink(generated);
        char *d = ct_path_parent(generated);
        rmdir(d);
        free(d);
        free(generated);
    }
    for (size_t i = 0; i < fs.n; i++)
        free(fs.paths[i]);
    free(fs.paths);
    free(fs.sizes);
    free(fallback);
    return 0;
}

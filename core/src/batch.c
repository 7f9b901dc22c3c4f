/* batch.c — one trajectory into an output folder, and the forked batch runner. */
#include "ct/batch.h"

#include "ct/buf.h"
#include "ct/config.h"
#include "ct/eval.h"
#include "ct/heuristic.h"
#include "ct/index.h"
#include "ct/load.h"
#include "ct/profiles.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Exit statuses of a batch child (the `codetracer` ones, so logs read the same). */
enum { CHILD_OK = 0, CHILD_USAGE = 2, CHILD_INPUT = 3, CHILD_OUTPUT = 4, CHILD_INTERNAL = 5 };

/* How a worker's log says that the item was served from the memory cache. */
#define CACHED_MARK "ok (from cache)"

/* Largest number of workers (the machine decides the useful number; this only bounds memory). */
#define BATCH_MAX_PARALLEL 256

/* The files of one analysis: the profiles, and the artifacts when asked. */
static int write_outputs(const ct_trajectory *t, const ct_analysis *a, const char *dir,
                         unsigned profiles, int artifacts, ct_error *err)
{
    int rc = ct_profile_write(dir, profiles, a, err);
    if (rc == CT_OK && artifacts) {
        ct_buf tree = CT_BUF_INIT;
        ct_tree_render(t, &tree);
        rc = ct_profile_write_artifacts(dir, t, a->stages, a->n_stages,
                                        tree.data ? tree.data : "root\n", err);
        ct_buf_free(&tree);
    }
    return rc;
}

int ct_batch_analyze_one(const ct_trajectory *t, const char *analyzer, const json_t *config,
                         const char *dir, unsigned profiles, int artifacts, ct_analysis **out,
                         ct_error *err)
{
    return ct_batch_analyze_mem(t, analyzer, config, NULL, dir, profiles, artifacts, out, err);
}

static int is_llm(const char *analyzer)
{
    return analyzer && (strcmp(analyzer, "llm") == 0 || strcmp(analyzer, "hybrid") == 0);
}

void ct_batch_config_hash(const char *analyzer, const json_t *config, char out[65])
{
    if (!analyzer) analyzer = "heuristic";
    ct_buf b = CT_BUF_INIT;
    /* The analyzer's code is in the key through CT_ANALYZER_ID (a hash of the rule sources and
     * the default thresholds, added by the cache itself, core/src/memory/cache.c); here goes
     * what the user can change: the version and the analyzer's config sections. */
    ct_buf_printf(&b, "codetracer %s\nanalyzer %s\n", CT_VERSION, analyzer);
    static const char *const heuristic_sections[] = {"heuristic", NULL};
    static const char *const llm_sections[] = {"llm", "trace", NULL};
    static const char *const hybrid_sections[] = {"llm", "trace", "heuristic", NULL};
    const char *const *sections = !is_llm(analyzer)              ? heuristic_sections
                                  : strcmp(analyzer, "llm") == 0 ? llm_sections
                                                                 : hybrid_sections;
    /* no secret goes into a hash that is stored */
    json_t *safe = config ? ct_config_redacted(config) : NULL;
    for (size_t i = 0; sections[i]; i++) {
        const json_t *section = safe ? json_object_get(safe, sections[i]) : NULL;
        char *c =
            section ? json_dumps(section, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
        ct_buf_printf(&b, "%s %s\n", sections[i], c ? c : "null");
        free(c);
    }
    json_decref(safe);
    ct_memory_hash_bytes(b.data, b.len, out);
    ct_buf_free(&b);
}

/* `<output stem>.traj.json` beside the first profile written (detailed first), like the
 * reference's saved diagnosis conversation. */
static char *conversation_path(const char *dir, unsigned profiles)
{
    static const ct_profile order[] = {CT_PROFILE_DETAILED, CT_PROFILE_TRACEBENCH,
                                       CT_PROFILE_RL_FEEDBACK};
    if (!dir) return NULL;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!(profiles & CT_PROFILE_BIT(order[i]))) continue;
        const char *file = ct_profile_file(order[i]);
        const char *dot = strrchr(file, '.');
        return ct_xasprintf("%s/%.*s.traj.json", dir, (int)(dot ? dot - file : (long)strlen(file)),
                            file);
    }
    return ct_xasprintf("%s/codetracer_analysis.traj.json", dir);
}

static void mem_warn(ct_batch_memory *m, const ct_error *e)
{
    if (m->warn) m->warn(m->warn_ud, e);
}

int ct_batch_analyze_mem(const ct_trajectory *t, const char *analyzer, const json_t *config,
                         ct_batch_memory *m, const char *dir, unsigned profiles, int artifacts,
                         ct_analysis **out, ct_error *err)
{
    if (out) *out = NULL;
    if (m) {
        m->cached = 0;
        m->n_feedback = 0;
    }
    if (!analyzer) analyzer = "heuristic";
    if (strcmp(analyzer, "heuristic") != 0 && !is_llm(analyzer))
        return ct_error_set(err, CT_EINVAL, "unknown analyzer '%s' (heuristic, llm, hybrid)",
                            analyzer);
    int llm = is_llm(analyzer);
    ct_memory *mem = m ? m->mem : NULL;
    char hash[65], cfg[65];
    ct_memory_key key = {hash, analyzer, llm ? ct_config_str(config, "llm.model_name", NULL) : NULL,
                         NULL, cfg};
    ct_analysis *a = NULL;
    int prior = 0;
    ct_error me;
    ct_error_clear(&me);
    if (mem) {
        ct_traj_hash(t, hash);
        ct_batch_config_hash(analyzer, config, cfg);
        /* key.profile stays NULL ("detailed"): the heuristic's analysis is the same whatever
         * profiles are written from it, so `analyze`, `analyze -p all`, `run` and a batch share
         * one entry, and its rule patterns are learnt once. */
        int grc = ct_memory_cache_get(mem, &key, &a, &me);
        if (grc == CT_OK) {
            prior = 1;
            /* A stored analysis of another step count is not this trajectory's: recompute. */
            if (m->no_cache || a->n_labels != t->n_steps) {
                ct_analysis_free(a);
                a = NULL;
            }
        } else if (grc != CT_ENOTFOUND) {
            /* An unreadable entry or database: warn, recompute, and learn nothing (the entry
             * may well have been learnt from already). */
            prior = 1;
            mem_warn(m, &me);
        }
    }
    if (a) {
        m->cached = 1;
        /* The cache keeps the id the analysis was made under; this one is t's. The numbering
         * CodeTraceBench uses is the loader's, not part of the content hash: take t's too. */
        a->traj_id = ct_analysis_strdup(a, t->id);
        for (size_t i = 0; i < a->n_labels; i++)
            a->labels[i].bench_step_id = t->steps[i].bench_step_id;
    } else if (llm) {
        /* The LLM agent (docs/llm.md): its conversation is saved beside the profile, it reads
         * and writes the memory itself; a partial result is written but never cached, so the
         * next run tries again. */
        ct_agent_analyze_opts ao;
        memset(&ao, 0, sizeof ao);
        ao.mode = analyzer;
        char *conv = conversation_path(dir, profiles);
        ao.traj_path = conv;
        ao.memory = mem;
        ao.on_event = m ? m->agent_event : NULL;
        ao.ud = m ? m->agent_ud : NULL;
        int rc = ct_agent_analyze(t, config, &ao, &a, err);
        free(conv);
        if (rc != CT_OK) return rc;
        if (mem && !a->partial) {
            ct_error_clear(&me);
            if (ct_memory_cache_put(mem, &key, t, a, &me) != CT_OK) mem_warn(m, &me);
        }
    } else {
        int rc = ct_analyze_heuristic(t, config, &a, err);
        if (rc != CT_OK) return rc;
        if (mem) {
            /* The analyzer's own labels are stored: feedback is applied on every read. */
            ct_error_clear(&me);
            if (ct_memory_cache_put(mem, &key, t, a, &me) != CT_OK) mem_warn(m, &me);
            ct_error_clear(&me);
            if (!prior && ct_memory_learn_from_analysis(mem, t, a, NULL, &me) != CT_OK)
                mem_warn(m, &me);
        }
    }
    if (mem) {
        ct_error_clear(&me);
        int n = ct_memory_feedback_apply(mem, hash, a, &me);
        if (n < 0)
            mem_warn(m, &me);
        else
            m->n_feedback = n;
        /* Say where this agent showed the same pattern before (never stored in the cache). */
        ct_error_clear(&me);
        if (ct_memory_annotate_analysis(mem, t, a, &me) < 0) mem_warn(m, &me);
    }
    int rc = write_outputs(t, a, dir, profiles, artifacts, err);
    if (rc == CT_OK && out)
        *out = a;
    else
        ct_analysis_free(a);
    return rc;
}

/* ---------------------------------------------------------------- helpers */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int mkdir_p(const char *path, ct_error *err)
{
    char *p = ct_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            int rc =
                ct_error_setf(err, CT_EIO, p, -1, 0, "cannot create the folder: %s", strerror(e));
            free(p);
            return rc;
        }
        *s = '/';
    }
    int rc = CT_OK;
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        rc = ct_error_setf(err, CT_EIO, p, -1, 0, "cannot create the folder: %s", strerror(errno));
    free(p);
    return rc;
}

typedef struct item {
    char *traj_id;       /* copied: the manifest rows are freed before any worker starts */
    char *path;          /* resolved input: file, run dir or archive */
    int record;          /* 1-based trajectory at path, 0 = the only / first one */
    const char *problem; /* why the item cannot run, NULL when it can */
} item;

/* The input of a row, resolved; only path fields are read (never the labels). */
static void resolve_item(item *it, json_t *row, const char *root)
{
    static const char *const keys[] = {"run_dir", "artifact_path", "path"};
    const char *rel = NULL;
    for (int k = 0; k < 3 && !rel; k++) {
        const char *s = json_string_value(json_object_get(row, keys[k]));
        if (s && *s) rel = s;
    }
    it->traj_id = ct_xstrdup(json_string_value(json_object_get(row, "traj_id")));
    if (!rel) {
        it->problem = "the row has no run_dir, artifact_path or path";
        return;
    }
    if (strcmp(it->traj_id, "_logs") == 0) {
        it->problem = "the traj_id \"_logs\" is reserved for the log folder";
        return;
    }
    it->path = rel[0] == '/' ? ct_xstrdup(rel) : ct_xasprintf("%s/%s", root, rel);
    struct stat st;
    if (stat(it->path, &st) != 0) {
        it->problem = "the input path does not exist";
        return;
    }
    const char *sf = json_string_value(json_object_get(row, "source_file"));
    if (S_ISDIR(st.st_mode) && sf && *sf && sf[0] != '/' && !strstr(sf, "..")) {
        char *p = ct_xasprintf("%s/%s", it->path, sf);
        if (stat(p, &st) == 0) {
            free(it->path);
            it->path = p;
        } else {
            free(p);
        }
    }
    json_t *rec = json_object_get(row, "record");
    if (json_is_integer(rec) && json_integer_value(rec) >= 1 && json_integer_value(rec) <= 1000000)
        it->record = (int)json_integer_value(rec);
}

static void log_warning(void *ud, const ct_error *e)
{
    (void)ud;
    char buf[2048];
    fprintf(stderr, "warning: %s\n", ct_error_format(e, buf, sizeof buf));
}

/* The work of one item, in the child. Messages go to stderr (the item's log). */
static int run_item(const item *it, const ct_batch_opts *o)
{
    ct_error err;
    ct_error_clear(&err);
    char buf[2048];
    char *dir = ct_xasprintf("%s/%s", o->output, it->traj_id);
    struct timespec t0;
    clock_gettime(CLOCK_REALTIME, &t0);
    fprintf(stderr, "item %s: input %s\nstarted %lld.%06ld\n", it->traj_id, it->path,
            (long long)t0.tv_sec, t0.tv_nsec / 1000);
    int rc = mkdir_p(dir, &err);
    ct_traj_list l = {0};
    if (rc == CT_OK) rc = ct_load_path(it->path, NULL, &l, log_warning, NULL, &err);
    if (rc != CT_OK) {
        fprintf(stderr, "error: %s\n", ct_error_format(&err, buf, sizeof buf));
        ct_traj_list_free(&l);
        free(dir);
        return rc == CT_EIO && err.path[0] && strstr(err.path, o->output) ? CHILD_OUTPUT
                                                                          : CHILD_INPUT;
    }
    size_t pick = it->record ? (size_t)it->record - 1 : 0;
    if (pick >= l.n) {
        fprintf(stderr, "error: %s holds %zu trajectories; record %d does not exist\n", it->path,
                l.n, it->record);
        ct_traj_list_free(&l);
        free(dir);
        return CHILD_INPUT;
    }
    if (!it->record && l.n > 1)
        fprintf(stderr,
                "warning: %s holds %zu trajectories; analysing the first (set \"record\")\n",
                it->path, l.n);
    const ct_trajectory *t = l.items[pick];
    for (size_t w = 0; w < t->n_warnings; w++)
        fprintf(stderr, "warning: %s\n", t->warnings[w]);
    ct_analysis *a = NULL;
    /* Each worker process has its own handle (one per process: ct/memory.h). */
    ct_batch_memory bm;
    memset(&bm, 0, sizeof bm);
    bm.no_cache = o->no_cache;
    bm.warn = log_warning;
    if (o->use_memory) bm.mem = ct_memory_open_or_warn(o->db, log_warning, NULL, NULL);
    rc = ct_batch_analyze_mem(t, "heuristic", o->config, &bm, dir, o->profiles, 1, &a, &err);
    if (rc != CT_OK) {
        fprintf(stderr, "error: %s\n", ct_error_format(&err, buf, sizeof buf));
    } else {
        size_t inc = 0, unu = 0;
        for (size_t i = 0; i < a->n_labels; i++) {
            inc += a->labels[i].label == CT_LABEL_INCORRECT;
            unu += a->labels[i].label == CT_LABEL_UNUSEFUL;
        }
        if (bm.n_feedback)
            fprintf(stderr, "feedback: %d label(s) set by user feedback\n", bm.n_feedback);
        fprintf(stderr, "%s: %zu steps, %zu incorrect, %zu unuseful; outputs in %s\n",
                bm.cached ? CACHED_MARK : "ok", t->n_steps, inc, unu, dir);
    }
    ct_analysis_free(a);
    ct_memory_close(bm.mem);
    ct_traj_list_free(&l);
    free(dir);
    struct timespec t1;
    clock_gettime(CLOCK_REALTIME, &t1);
    fprintf(stderr, "finished %lld.%06ld\n", (long long)t1.tv_sec, t1.tv_nsec / 1000);
    if (rc == CT_OK) return CHILD_OK;
    return rc == CT_EIO || rc == CT_ESCHEMA ? CHILD_OUTPUT
           : rc == CT_EINVAL                ? CHILD_USAGE
                                            : CHILD_INTERNAL;
}

static int outputs_valid(const ct_batch_opts *o, const char *traj_id)
{
    char *dir = ct_xasprintf("%s/%s", o->output, traj_id);
    int ok = 1;
    for (int p = 0; p < CT_PROFILE__COUNT && ok; p++)
        if (o->profiles & CT_PROFILE_BIT(p))
            ok = ct_profile_check_file(dir, (ct_profile)p, NULL) == CT_OK;
    free(dir);
    return ok;
}

/* The last non-empty line of the item's log, for the [FAIL] line. */
static void last_log_line(const char *log, char *out, size_t size)
{
    out[0] = 0;
    FILE *f = fopen(log, "rb");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n) snprintf(out, size, "%s", line);
    }
    fclose(f);
}

/* 1 when a line of the item's log starts with prefix. */
static int log_has_line(const char *log, const char *prefix)
{
    FILE *f = fopen(log, "rb");
    if (!f) return 0;
    char line[1024];
    size_t n = strlen(prefix);
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strncmp(line, prefix, n) == 0;
    fclose(f);
    return found;
}

typedef struct progress {
    FILE *f;
    int bar;
    size_t total, done;
    const ct_batch_summary *s;
} progress;

static void progress_draw(progress *p)
{
    if (!p->bar) return;
    int width = 30;
    int fill = p->total ? (int)((double)p->done / (double)p->total * width) : width;
    fprintf(p->f, "\r[");
    for (int i = 0; i < width; i++)
        fputc(i < fill ? '#' : '.', p->f);
    fprintf(p->f, "] %zu/%zu  ok %zu  skipped %zu  failed %zu", p->done, p->total, p->s->ok,
            p->s->skipped, p->s->failed);
    fflush(p->f);
}

static void progress_item(progress *p, const char *tag, const char *id, double secs,
                          const char *detail)
{
    p->done++;
    if (p->bar) {
        /* Failures still get their own line above the bar: they need attention. */
        if (strcmp(tag, "OK") != 0 && strcmp(tag, "SKIP") != 0)
            fprintf(p->f, "\r\033[K[%s] %s%s%s\n", tag, id, detail && *detail ? ": " : "",
                    detail ? detail : "");
        progress_draw(p);
        return;
    }
    if (secs >= 0)
        fprintf(p->f, "[%s] %s (%.2fs)%s%s\n", tag, id, secs, detail && *detail ? ": " : "",
                detail ? detail : "");
    else
        fprintf(p->f, "[%s] %s%s%s\n", tag, id, detail && *detail ? ": " : "",
                detail ? detail : "");
    fflush(p->f);
}

typedef struct worker {
    pid_t pid;
    size_t item;
    double start;
} worker;

static pid_t spawn(const item *it, const ct_batch_opts *o, const char *logdir)
{
    char *log = ct_xasprintf("%s/%s.log", logdir, it->traj_id);
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) {
        free(log);
        return pid;
    }
    /* child */
    FILE *lf = freopen(log, "w", stderr);
    if (lf) dup2(fileno(stderr), STDOUT_FILENO);
    setvbuf(stderr, NULL, _IOLBF, 0);
    int code = run_item(it, o);
    fflush(NULL);
    _exit(code);
}

int ct_batch_run(const ct_batch_opts *o, ct_batch_summary *s, ct_error *err)
{
    memset(s, 0, sizeof *s);
    double t0 = now_s();
    if (!o->manifest || !o->output)
        return ct_error_set(err, CT_EINVAL, "batch needs a manifest and an output folder");
    if (o->parallel < 1 || o->parallel > BATCH_MAX_PARALLEL)
        return ct_error_set(err, CT_EINVAL, "--parallel must be between 1 and %d",
                            BATCH_MAX_PARALLEL);
    if (o->shard_n < 0 || (o->shard_n > 0 && (o->shard_k < 0 || o->shard_k >= o->shard_n)))
        return ct_error_set(err, CT_EINVAL, "--shard K/N needs 0 <= K < N");
    json_t *rows;
    int rc = ct_eval_read_manifest(o->manifest, &rows, err);
    if (rc != CT_OK) return rc;
    char *root;
    if (o->data_root) {
        root = ct_xstrdup(o->data_root);
    } else {
        const char *slash = strrchr(o->manifest, '/');
        root =
            slash ? ct_xstrndup(o->manifest, (size_t)(slash - o->manifest + (slash == o->manifest)))
                  : ct_xstrdup(".");
    }
    s->rows = json_array_size(rows);
    item *items = ct_xcalloc(s->rows ? s->rows : 1, sizeof *items);
    size_t n = 0;
    for (size_t i = 0; i < s->rows; i++) {
        if (o->shard_n > 0 && (int)(i % (size_t)o->shard_n) != o->shard_k) continue;
        resolve_item(&items[n++], json_array_get(rows, i), root);
    }
    /* Only traj_id and the input path were taken from the rows: the rest (gold labels included)
     * is dropped here, before any worker exists. */
    json_decref(rows);
    rows = NULL;
    s->selected = n;
    FILE *pf = o->progress ? o->progress : stdout;
    progress pr = {pf, o->progress_bar && !o->dry_run, n, 0, s};

    char *logdir = ct_xasprintf("%s/_logs", o->output);
    if (!o->dry_run) {
        rc = mkdir_p(o->output, err);
        if (rc == CT_OK) rc = mkdir_p(logdir, err);
    }
    worker *ws = ct_xcalloc((size_t)o->parallel, sizeof *ws);
    size_t running = 0, next = 0;
    progress_draw(&pr);
    while (rc == CT_OK && (next < n || running)) {
        /* Start items while there are free workers. */
        while (next < n && running < (size_t)o->parallel) {
            item *it = &items[next++];
            if (it->problem) {
                s->failed++;
                char d[700];
                snprintf(d, sizeof d, "%s (%s)", it->problem, it->path ? it->path : "no path");
                progress_item(&pr, "FAIL", it->traj_id, -1, d);
                continue;
            }
            if (o->dry_run) {
                s->ok++;
                progress_item(&pr, "DRY", it->traj_id, -1, it->path);
                continue;
            }
            if (o->resume && outputs_valid(o, it->traj_id)) {
                s->skipped++;
                progress_item(&pr, "SKIP", it->traj_id, -1, "outputs exist and validate");
                continue;
            }
            pid_t pid = spawn(it, o, logdir);
            if (pid < 0) {
                s->failed++;
                progress_item(&pr, "FAIL", it->traj_id, -1,
                              "could not start a worker process (fork failed)");
                continue;
            }
            for (int w = 0; w < o->parallel; w++)
                if (ws[w].pid == 0) {
                    ws[w] = (worker){pid, (size_t)(it - items), now_s()};
                    break;
                }
            running++;
        }
        if (!running) break;
        /* Reap finished children; kill the ones over time. */
        int reaped = 0;
        for (int w = 0; w < o->parallel; w++) {
            if (ws[w].pid == 0) continue;
            int status;
            pid_t r = waitpid(ws[w].pid, &status, WNOHANG);
            item *it = &items[ws[w].item];
            double secs = now_s() - ws[w].start;
            if (r == 0 && o->timeout_s > 0 && secs > o->timeout_s) {
                kill(ws[w].pid, SIGKILL);
                while (waitpid(ws[w].pid, &status, 0) < 0 && errno == EINTR) {
                }
                char *log = ct_xasprintf("%s/%s.log", logdir, it->traj_id);
                FILE *lf = fopen(log, "a");
                if (lf) {
                    fprintf(lf, "error: killed after %.1f s (--timeout %.1f)\n", secs,
                            o->timeout_s);
                    fclose(lf);
                }
                free(log);
                s->failed++;
                s->timed_out++;
                char d[128];
                snprintf(d, sizeof d, "killed after the %.1f s timeout", o->timeout_s);
                progress_item(&pr, "TIMEOUT", it->traj_id, secs, d);
                ws[w].pid = 0;
                running--;
                reaped++;
                continue;
            }
            if (r == 0 || (r < 0 && errno == EINTR)) continue;
            ws[w].pid = 0;
            running--;
            reaped++;
            if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                s->ok++;
                int hit = 0;
                if (o->use_memory) {
                    char *log = ct_xasprintf("%s/%s.log", logdir, it->traj_id);
                    hit = log_has_line(log, CACHED_MARK);
                    free(log);
                }
                s->cached += (size_t)hit;
                progress_item(&pr, "OK", it->traj_id, secs, hit ? "from cache" : NULL);
            } else {
                char *log = ct_xasprintf("%s/%s.log", logdir, it->traj_id);
                char last[900], d[1200];
                last_log_line(log, last, sizeof last);
                if (r > 0 && WIFSIGNALED(status))
                    snprintf(d, sizeof d, "worker died of signal %d (see %s)", WTERMSIG(status),
                             log);
                else
                    snprintf(d, sizeof d, "%s (see %s)", last[0] ? last : "failed", log);
                free(log);
                s->failed++;
                progress_item(&pr, "FAIL", it->traj_id, secs, d);
            }
        }
        if (!reaped && running) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (pr.bar) fputc('\n', pf);
    /* On an early error (output folder), no child is left behind. */
    for (int w = 0; w < o->parallel; w++)
        if (ws[w].pid > 0) {
            kill(ws[w].pid, SIGKILL);
            waitpid(ws[w].pid, NULL, 0);
        }
    for (size_t i = 0; i < n; i++) {
        free(items[i].path);
        free(items[i].traj_id);
    }
    free(items);
    free(ws);
    free(logdir);
    free(root);
    s->elapsed_s = now_s() - t0;
    return rc;
}

/* cmd_analyze.c — `codetracer analyze`: load, diagnose, write the profile files. Also holds the
 * output-location rules shared with `codetracer run` (cli_analyze_* below). */
#include "cli.h"

#include "ct/batch.h"
#include "ct/config.h"
#include "ct/index.h"
#include "ct/memory.h"
#include "ct/profiles.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Shared with cmd_run.c. */
char *cli_analyze_traj_id(const ct_trajectory *t, const char *user_path, const char *given,
                          size_t k, size_t n);
char *cli_analyze_workdir(const ct_trajectory *t, const char *user_path, size_t n,
                          const char *output_dir, const char *traj_id, int *artifacts,
                          ct_error *err);
json_t *cli_analyze_config(const char *path, unsigned *default_mask, ct_error *err);
ct_memory *cli_analyze_memory(const char *db, ct_batch_memory *bm, int no_cache);

static const char analyze_help[] =
    "usage: codetracer analyze PATH [options]\n"
    "\n"
    "Diagnose every trajectory found at PATH (a file, run dir, job dir or archive; PATH#K picks\n"
    "the K-th): label each step incorrect / unuseful / correct with a reason, and write the\n"
    "output profile files. The default heuristic analyzer is offline: no network, no API key.\n"
    "\n"
    "options:\n"
    "  -p, --profile LIST   tracebench, detailed (default; config output.default_profile),\n"
    "                       rl_feedback, a comma-separated list, or all\n"
    "      --analyzer NAME  heuristic (default, offline); llm (the LLM diagnosis agent) or\n"
    "                       hybrid (the agent confirms or rejects the heuristic's findings):\n"
    "                       these need an OpenAI-compatible endpoint (docs/llm.md)\n"
    "  -m, --model NAME     LLM model (llm.model_name; env CODETRACER_MODEL)\n"
    "      --api-base URL   LLM endpoint (llm.api_base; env CODETRACER_API_BASE). The key comes\n"
    "                       only from CODETRACER_API_KEY / OPENAI_API_KEY or a config file\n"
    "  -l, --cost-limit USD budget of one LLM diagnosis (trace.cost_limit); a call the rest of\n"
    "                       the budget cannot cover is not made\n"
    "      --output-dir D   write into D/<traj-id>/ (created)\n"
    "      --traj-id ID     the folder name under --output-dir (default: PATH's name; when PATH\n"
    "                       holds several trajectories, each one's path below PATH, plus -K)\n"
    "      --dry-run        load and normalize only; no analysis, no profile file\n"
    "      --json           print one JSON line per trajectory (labels and diagnosis)\n"
    "  -c, --config FILE    YAML over the defaults and ~/.config/codetracer/config.yaml;\n"
    "                       the environment and the flags above win over it\n"
    "  -f, --format NAME    force a loader (see `codetracer formats`)\n"
    "      --db FILE        the memory database (default: $CODETRACER_DB, else\n"
    "                       $XDG_DATA_HOME/codetracer/codetracer.db, else\n"
    "                       ~/.local/share/codetracer/codetracer.db)\n"
    "      --no-cache       analyse again even when the cache holds a result (which the\n"
    "                       fresh one replaces)\n"
    "\n"
    "Memory (docs/memory.md): an analysis is cached under the trajectory's content hash (not\n"
    "its path), the analyzer and a hash of the heuristic settings and of this codetracer build\n"
    "(one entry serves every -p); the same content analysed again with the same settings is\n"
    "served from the cache (\"cached\": true in --json, \"from the memory cache\" in the\n"
    "summary) with the same output files. Your verdicts from `codetracer feedback` override\n"
    "the analyzer's labels (\"from_feedback\": true), in the files too. A database that cannot\n"
    "be used gives one warning; the analysis goes on.\n"
    "\n"
    "What is written where:\n"
    "  with --output-dir D: D/<traj-id>/ gets the profile file(s) (codetracer_labels.json,\n"
    "    codetracer_analysis.json, codetracer_rl_feedback.json) and the artifacts steps.json,\n"
    "    task.md (when the task is known), stage_ranges.json and tree.md.\n"
    "  without it: the profile file(s) go into the run dir (PATH itself, or the folder of a\n"
    "    trajectory file), which must be writable; the artifacts are written there too only when\n"
    "    the current directory IS that run dir. An archive input needs --output-dir.\n"
    "  --dry-run writes only the artifacts (no tree.md, no profile), under the same rules.\n"
    "  llm / hybrid also save the agent's conversation as codetracer_analysis.traj.json (the\n"
    "    first profile's name + .traj.json) beside the profile; the API key is never in it.\n"
    "  Files are validated against their schema and replaced atomically; existing files with\n"
    "  other names are never touched.\n"
    "\n"
    "exit status: 0 ok, 2 usage, 3 input could not be loaded, 4 output could not be written.\n";

/* PATH as the user gave it, without a trailing "#K" selector (caller frees). */
static char *strip_selector(const char *path)
{
    const char *h = strrchr(path, '#');
    if (h && h[1]) {
        const char *q = h + 1;
        while (*q >= '0' && *q <= '9')
            q++;
        if (!*q) return ct_xstrndup(path, (size_t)(h - path));
    }
    return ct_xstrdup(path);
}

char *cli_analyze_traj_id(const ct_trajectory *t, const char *user_path, const char *given,
                          size_t k, size_t n)
{
    ct_buf b = CT_BUF_INIT;
    if (given) {
        ct_buf_puts(&b, given);
    } else {
        /* One trajectory: named after PATH. Several: after the trajectory's path below PATH. */
        char *up = strip_selector(user_path);
        const char *p = t->path ? t->path : t->id ? t->id : "trajectory";
        size_t ul = strlen(up);
        while (ul > 1 && up[ul - 1] == '/')
            up[--ul] = 0;
        if (n <= 1)
            p = up;
        else if (strncmp(p, up, ul) == 0 && (p[ul] == '/' || p[ul] == '!') && p[ul + 1])
            p += ul + (p[ul + 1] == '/' ? 2 : 1);
        size_t len = strlen(p);
        while (len > 1 && p[len - 1] == '/')
            len--;
        const char *base = p;
        if (n <= 1)
            for (size_t i = 0; i < len; i++)
                if (p[i] == '/') base = p + i + 1;
        size_t bl = (size_t)(p + len - base);
        static const char *const sfx[] = {".traj.json", ".json",    ".jsonl", ".cast", ".tar.gz",
                                          ".tgz",       ".tar.zst", ".zip",   ".tar"};
        for (size_t s = 0; s < sizeof sfx / sizeof sfx[0]; s++) {
            size_t sl = strlen(sfx[s]);
            if (bl > sl && memcmp(base + bl - sl, sfx[s], sl) == 0) {
                bl -= sl;
                break;
            }
        }
        for (size_t i = 0; i < bl && b.len < 150; i++) {
            char c = base[i];
            int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == '_' || c == '-';
            ct_buf_putc(&b, ok ? c : '_');
        }
        if (!b.len || strcmp(b.data, ".") == 0 || strcmp(b.data, "..") == 0) {
            ct_buf_clear(&b);
            ct_buf_puts(&b, "trajectory");
        }
        /* "x.jsonl#2" → "x-2", so records of one file get distinct folders. */
        if (n <= 1 && strlen(user_path) > strlen(up))
            ct_buf_printf(&b, "-%s", user_path + strlen(up) + 1);
        free(up);
    }
    if (n > 1) ct_buf_printf(&b, "-%zu", k + 1);
    return ct_buf_steal(&b);
}

static int valid_id(const char *s)
{
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
    for (; *s; s++)
        if (*s == '/' || *s == '\\') return 0;
    return 1;
}

static int same_dir(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

char *cli_analyze_workdir(const ct_trajectory *t, const char *user_path, size_t n,
                          const char *output_dir, const char *traj_id, int *artifacts,
                          ct_error *err)
{
    if (output_dir) {
        char *dir = ct_xasprintf("%s/%s", output_dir, traj_id);
        if (mkdir(output_dir, 0755) != 0 && errno != EEXIST) {
            ct_error_setf(err, CT_EIO, output_dir, -1, 0, "cannot create the output folder: %s",
                          strerror(errno));
            free(dir);
            return NULL;
        }
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            ct_error_setf(err, CT_EIO, dir, -1, 0, "cannot create the output folder: %s",
                          strerror(errno));
            free(dir);
            return NULL;
        }
        *artifacts = 1;
        return dir;
    }
    const char *p = t->path;
    struct stat st;
    /* One trajectory in a folder the user named: that folder is the run dir (as the reference). */
    char *up = strip_selector(user_path);
    if (n == 1 && stat(up, &st) == 0 && S_ISDIR(st.st_mode)) p = up;
    if (!p || stat(p, &st) != 0) {
        ct_error_set(
            err, CT_EINVAL,
            "%s is not a file or folder on disk (inside an archive?): give --output-dir DIR to say "
            "where the results go",
            p ? p : t->id);
        free(up);
        return NULL;
    }
    char *dir;
    if (S_ISDIR(st.st_mode)) {
        dir = ct_xstrdup(p);
    } else {
        const char *slash = strrchr(p, '/');
        dir = slash ? ct_xstrndup(p, (size_t)(slash - p) + (slash == p)) : ct_xstrdup(".");
    }
    free(up);
    if (access(dir, W_OK) != 0) {
        ct_error_set(err, CT_EINVAL,
                     "the run dir %s is not writable: give --output-dir DIR to write elsewhere",
                     dir);
        free(dir);
        return NULL;
    }
    *artifacts = same_dir(dir, ".");
    return dir;
}

json_t *cli_analyze_config(const char *path, unsigned *default_mask, ct_error *err)
{
    json_t *cfg = ct_config_load_layered(path, err);
    if (!cfg) return NULL;
    const char *dp = ct_config_str(cfg, "output.default_profile", "detailed");
    if (default_mask && ct_profile_parse_mask(dp, default_mask) != 0) {
        ct_error_set(err, CT_EINVAL, "config output.default_profile: unknown profile '%s'", dp);
        json_decref(cfg);
        return NULL;
    }
    return cfg;
}

/* One warning per process about the memory database, whatever went wrong with it: opening it
 * (the library's message already says that the work goes on without memory) or using it. */
static int memory_warned;

static void memory_warn(void *ud, const ct_error *err)
{
    if (memory_warned) return;
    memory_warned = 1;
    char buf[2048];
    fprintf(stderr, "codetracer: warning: %s%s\n", ct_error_format(err, buf, sizeof buf),
            ud ? "" : "; the analysis goes on without the memory database");
}

ct_memory *cli_analyze_memory(const char *db, ct_batch_memory *bm, int no_cache)
{
    static int opening = 1;
    memset(bm, 0, sizeof *bm);
    bm->no_cache = no_cache;
    bm->warn = memory_warn;
    bm->mem = ct_memory_open_or_warn(db, memory_warn, &opening, NULL);
    return bm->mem;
}

static const char *outcome_word(const ct_trajectory *t)
{
    return t->solved == CT_TRUE ? "solved" : t->solved == CT_FALSE ? "unsolved" : "unknown";
}

/* The `--json` line of one trajectory. */
static json_t *analysis_line(const ct_trajectory *t, const ct_analysis *a, const char *dir,
                             int cached)
{
    json_t *tj = ct_traj_to_json(t, 0);
    json_t *tr = json_object();
    static const char *const keys[] = {"format",  "agent",      "model", "task",
                                       "outcome", "step_count", "id"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(tj, keys[i]);
        json_object_set(tr, keys[i], v ? v : json_null());
    }
    json_decref(tj);
    json_t *o = json_object();
    json_object_set_new(o, "trajectory", tr);
    if (!a) {
        json_object_set_new(o, "dry_run", json_true());
        json_object_set_new(o, "output_dir", dir ? json_string(dir) : json_null());
        return o;
    }
    json_t *full = ct_analysis_to_json(a);
    json_t *labels = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(full, "labels"), i, l)
    {
        json_t *e = json_object();
        static const char *const lk[] = {"step_id", "bench_step_id", "label",
                                         "rule",    "reasoning",     "evidence"};
        for (size_t k = 0; k < sizeof lk / sizeof lk[0]; k++)
            json_object_set(e, lk[k], json_object_get(l, lk[k]));
        json_object_set_new(e, "from_feedback",
                            json_boolean(json_is_true(json_object_get(l, "from_feedback"))));
        json_array_append_new(labels, e);
    }
    json_object_set_new(o, "labels", labels);
    static const char *const fk[] = {"root_cause_chain",
                                     "critical_decision_points",
                                     "correct_strategy",
                                     "summary",
                                     "stages",
                                     "analyzer",
                                     "model",
                                     "partial",
                                     "stop_reason",
                                     "cost_usd",
                                     "tokens_in",
                                     "tokens_out"};
    for (size_t k = 0; k < sizeof fk / sizeof fk[0]; k++)
        json_object_set(o, fk[k], json_object_get(full, fk[k]));
    json_decref(full);
    json_object_set_new(o, "output_dir", dir ? json_string(dir) : json_null());
    json_object_set_new(o, "cached", json_boolean(cached));
    return o;
}

static void print_summary(const ct_trajectory *t, const ct_analysis *a, const char *dir,
                          unsigned mask, const ct_batch_memory *bm)
{
    size_t cnt[3] = {0, 0, 0};
    for (size_t i = 0; i < a->n_labels; i++)
        cnt[(unsigned)a->labels[i].label <= CT_LABEL_INCORRECT ? a->labels[i].label
                                                               : CT_LABEL_CORRECT]++;
    printf("%s\n  %s, %s%s%s, %zu steps, outcome %s\n", t->id, t->format,
           t->agent ? t->agent : "unknown agent", t->model ? ", model " : "",
           t->model ? t->model : "", t->n_steps, outcome_word(t));
    printf("  %zu incorrect, %zu unuseful, %zu correct (%s analyzer%s)\n", cnt[CT_LABEL_INCORRECT],
           cnt[CT_LABEL_UNUSEFUL], cnt[CT_LABEL_CORRECT], a->analyzer ? a->analyzer : "heuristic",
           bm->cached ? ", from the memory cache" : "");
    if (bm->n_feedback)
        printf("  %d label%s set by your feedback\n", bm->n_feedback,
               bm->n_feedback == 1 ? "" : "s");
    for (size_t i = 0; i < a->n_labels; i++) {
        const ct_step_label *l = &a->labels[i];
        if (l->label == CT_LABEL_CORRECT) continue;
        printf("  step %-4d %-9s %s%s%s %s\n", l->step_id, ct_label_name(l->label),
               l->rule ? "[" : "", l->rule ? l->rule : "", l->rule ? "]" : "",
               l->reasoning ? l->reasoning : "");
    }
    if (cnt[CT_LABEL_INCORRECT] + cnt[CT_LABEL_UNUSEFUL] == 0)
        printf("  no incorrect or unuseful step found\n");
    for (size_t i = 0; i < a->n_root_cause; i++)
        printf("  %s %s\n", i == 0 ? "root cause:" : "           ", a->root_cause_chain[i]);
    if (a->summary && *a->summary) printf("  summary: %s\n", a->summary);
    for (int p = 0; p < CT_PROFILE__COUNT; p++)
        if (mask & CT_PROFILE_BIT(p))
            printf("  wrote %s/%s\n", dir, ct_profile_file((ct_profile)p));
}

int cmd_analyze(int argc, char **argv)
{
    const char *path = NULL, *profile = NULL, *analyzer = "heuristic", *output_dir = NULL,
               *traj_id = NULL, *config = NULL, *db = NULL, *model = NULL, *api_base = NULL,
               *cost_limit = NULL;
    int dry = 0, json = 0, no_cache = 0;
    ct_load_opts lo = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
#define VALUE(dst)                                                                                 \
    do {                                                                                           \
        if (!has_val) {                                                                            \
            fprintf(stderr, "codetracer analyze: %s needs a value\n", a);                          \
            return CT_EXIT_USAGE;                                                                  \
        }                                                                                          \
        dst = argv[++i];                                                                           \
    } while (0)
        if (cli_is_help(a)) {
            fputs(analyze_help, stdout);
            return CT_EXIT_OK;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--profile"))
            VALUE(profile);
        else if (!strcmp(a, "--analyzer"))
            VALUE(analyzer);
        else if (!strcmp(a, "--output-dir"))
            VALUE(output_dir);
        else if (!strcmp(a, "--traj-id"))
            VALUE(traj_id);
        else if (!strcmp(a, "-c") || !strcmp(a, "--config"))
            VALUE(config);
        else if (!strcmp(a, "-f") || !strcmp(a, "--format"))
            VALUE(lo.format);
        else if (!strcmp(a, "--db"))
            VALUE(db);
        else if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            VALUE(model);
        else if (!strcmp(a, "--api-base"))
            VALUE(api_base);
        else if (!strcmp(a, "-l") || !strcmp(a, "--cost-limit"))
            VALUE(cost_limit);
        else if (!strcmp(a, "--api-key")) {
            fprintf(stderr, "codetracer analyze: there is no --api-key flag (a command line is "
                            "visible to other users); set CODETRACER_API_KEY or llm.api_key in "
                            "a config file\n");
            return CT_EXIT_USAGE;
        } else if (!strcmp(a, "--dry-run"))
            dry = 1;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--no-cache"))
            no_cache = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "codetracer analyze: unknown option '%s' (see --help)\n", a);
            return CT_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "codetracer analyze: one PATH only (got '%s' and '%s')\n", path, a);
            return CT_EXIT_USAGE;
        } else
            path = a;
#undef VALUE
    }
    if (!path) {
        fprintf(stderr, "codetracer analyze: missing PATH (see --help)\n");
        return CT_EXIT_USAGE;
    }
    int llm = strcmp(analyzer, "llm") == 0 || strcmp(analyzer, "hybrid") == 0;
    if (!llm && strcmp(analyzer, "heuristic") != 0) {
        fprintf(stderr, "codetracer analyze: unknown analyzer '%s' (heuristic, llm, hybrid)\n",
                analyzer);
        return CT_EXIT_USAGE;
    }
    if (traj_id && !valid_id(traj_id)) {
        fprintf(stderr, "codetracer analyze: --traj-id must be a plain folder name (no '/')\n");
        return CT_EXIT_USAGE;
    }
    if (traj_id && !output_dir) {
        fprintf(stderr, "codetracer analyze: --traj-id only makes sense with --output-dir\n");
        return CT_EXIT_USAGE;
    }
    ct_error err;
    ct_error_clear(&err);
    unsigned mask = 0;
    json_t *cfg = cli_analyze_config(config, &mask, &err);
    if (!cfg) {
        cli_print_error(&err);
        return config ? CT_EXIT_USAGE : CT_EXIT_INTERNAL;
    }
    if (api_base) ct_config_set(cfg, "llm.api_base", json_string(api_base));
    if (model) ct_config_set(cfg, "llm.model_name", json_string(model));
    if (cost_limit) {
        char *end;
        double usd = strtod(cost_limit, &end);
        if (*end || usd < 0) {
            fprintf(stderr, "codetracer analyze: --cost-limit takes a number of USD, got '%s'\n",
                    cost_limit);
            json_decref(cfg);
            return CT_EXIT_USAGE;
        }
        ct_config_set(cfg, "trace.cost_limit", json_real(usd));
    }
    if (llm && !*ct_config_str(cfg, "llm.api_base", "")) {
        fprintf(stderr,
                "codetracer analyze: --analyzer %s needs an LLM endpoint: --api-base URL, "
                "CODETRACER_API_BASE, or llm.api_base in a config file (docs/llm.md)\n",
                analyzer);
        json_decref(cfg);
        return CT_EXIT_USAGE;
    }
    if (profile && ct_profile_parse_mask(profile, &mask) != 0) {
        fprintf(
            stderr,
            "codetracer analyze: unknown profile '%s' (tracebench, detailed, rl_feedback, all)\n",
            profile);
        json_decref(cfg);
        return CT_EXIT_USAGE;
    }
    ct_traj_list l = {0};
    int rc = ct_load_path(path, &lo, &l, cli_warn, NULL, &err);
    if (rc != CT_OK) {
        cli_print_error(&err);
        json_decref(cfg);
        return cli_exit_for(rc);
    }
    int status = CT_EXIT_OK;
    ct_batch_memory bm;
    memset(&bm, 0, sizeof bm);
    if (!dry) cli_analyze_memory(db, &bm, no_cache);
    if (llm) bm.agent_event = cli_agent_event;
    char **used_dirs = ct_xcalloc(l.n, sizeof *used_dirs);
    for (size_t k = 0; k < l.n; k++) {
        ct_trajectory *t = l.items[k];
        for (size_t w = 0; w < t->n_warnings; w++)
            fprintf(stderr, "codetracer: warning: %s: %s\n", t->id, t->warnings[w]);
        char *id = cli_analyze_traj_id(t, path, traj_id, k, l.n);
        int artifacts = 0;
        ct_error_clear(&err);
        char *dir = cli_analyze_workdir(t, path, l.n, output_dir, id, &artifacts, &err);
        free(id);
        if (!dir) {
            cli_print_error(&err);
            if (status == CT_EXIT_OK)
                status = err.code == CT_EINVAL ? CT_EXIT_USAGE : CT_EXIT_OUTPUT;
            continue;
        }
        int clash = 0;
        for (size_t u = 0; u < k && !clash; u++)
            clash = used_dirs[u] && same_dir(used_dirs[u], dir);
        if (clash) {
            fprintf(stderr,
                    "codetracer analyze: %s: several trajectories would write into %s; give "
                    "--output-dir DIR\n",
                    t->id, dir);
            free(dir);
            if (status == CT_EXIT_OK) status = CT_EXIT_USAGE;
            continue;
        }
        used_dirs[k] = dir;
        if (dry) {
            rc = CT_OK;
            if (artifacts) {
                ct_stage *st = NULL;
                size_t ns = 0;
                ct_stages_segment(t, &st, &ns);
                rc = ct_profile_write_artifacts(dir, t, st, ns, NULL, &err);
                free(st);
            }
            if (rc != CT_OK) {
                cli_print_error(&err);
                status = CT_EXIT_OUTPUT;
                continue;
            }
            if (json) {
                json_t *o = analysis_line(t, NULL, artifacts ? dir : NULL, 0);
                char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
                puts(s);
                free(s);
                json_decref(o);
            } else {
                printf("%s\n  %s, %zu steps (dry run: not analysed)\n", t->id, t->format,
                       t->n_steps);
                if (artifacts)
                    printf("  wrote steps.json, stage_ranges.json%s into %s\n",
                           t->task ? ", task.md" : "", dir);
            }
            continue;
        }
        ct_analysis *a = NULL;
        rc = ct_batch_analyze_mem(t, analyzer, cfg, &bm, dir, mask, artifacts, &a, &err);
        if (rc != CT_OK) {
            cli_print_error(&err);
            int st = cli_exit_for(rc);
            if (rc == CT_EIO) st = CT_EXIT_OUTPUT;
            if (status == CT_EXIT_OK) status = st;
            continue;
        }
        if (json) {
            json_t *o = analysis_line(t, a, dir, bm.cached);
            char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
            puts(s);
            free(s);
            json_decref(o);
        } else {
            print_summary(t, a, dir, mask, &bm);
            if (artifacts)
                printf("  wrote steps.json, stage_ranges.json, tree.md%s into %s\n",
                       t->task ? ", task.md" : "", dir);
        }
        ct_analysis_free(a);
    }
    for (size_t k = 0; k < l.n; k++)
        free(used_dirs[k]);
    free(used_dirs);
    ct_memory_close(bm.mem);
    ct_traj_list_free(&l);
    json_decref(cfg);
    return status;
}

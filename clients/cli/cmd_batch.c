/* cmd_batch.c — `codetracer batch` / `codetracer-batch`: analyse every row of a manifest. */
#include "cli.h"

#include "ct/batch.h"
#include "ct/profiles.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

json_t *cli_analyze_config(const char *path, unsigned *default_mask, ct_error *err);
ct_memory *cli_analyze_memory(const char *db, ct_batch_memory *bm, int no_cache);

static const char batch_help[] =
    "usage: codetracer batch --manifest M.jsonl --output DIR [options]\n"
    "       codetracer-batch --manifest M.jsonl --output DIR [options]\n"
    "\n"
    "Analyse every row of a CodeTraceBench-style JSONL manifest with the offline analyzer. A row\n"
    "needs \"traj_id\" and the input in \"run_dir\", \"artifact_path\" or \"path\" (a run dir, a\n"
    "trajectory file or an archive; relative paths are resolved against the manifest's folder or\n"
    "--data-root); optional \"source_file\" (file inside run_dir) and \"record\" (K-th "
    "trajectory).\n"
    "Gold labels in the rows are never passed to the analysis.\n"
    "\n"
    "options:\n"
    "  --parallel N      worker processes (default 1)\n"
    "  --timeout SECS    kill an item after SECS seconds (default: none)\n"
    "  --resume          skip items whose output files exist and validate\n"
    "  --no-resume       analyse every item again (default)\n"
    "  --shard K/N       only rows with index % N == K (0 <= K < N), e.g. --shard\n"
    "                    $SLURM_ARRAY_TASK_ID/N or $JOB_COMPLETION_INDEX/N\n"
    "  --dry-run         resolve and list the items, analyse nothing\n"
    "  --data-root D     resolve relative input paths against D\n"
    "  -p, --profile L   profiles to write (default: all three)\n"
    "  -c, --config F    YAML deep-merged over the built-in defaults\n"
    "  --db FILE         the memory database (default: $CODETRACER_DB, else\n"
    "                    $XDG_DATA_HOME/codetracer/codetracer.db, else\n"
    "                    ~/.local/share/codetracer/codetracer.db)\n"
    "  --no-cache        analyse every item again even when the cache holds its result\n"
    "\n"
    "Writes DIR/<traj_id>/ (profile files, steps.json, task.md, stage_ranges.json, tree.md) and\n"
    "DIR/_logs/<traj_id>.log. Prints one line per item ([OK] [FAIL] [TIMEOUT] [SKIP]), or a\n"
    "progress bar on a terminal, then a summary. Exit status 6 when any item failed.\n"
    "Memory, as for `codetracer analyze`: each worker opens the database itself; an item analysed\n"
    "before with the same settings is served from the cache ([OK] ... from cache), and your\n"
    "`codetracer feedback` verdicts override the analyzer's labels in the files. A database that\n"
    "cannot be used gives one warning and the batch runs without memory.\n";

static int parse_shard(const char *s, int *k, int *n)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '/') return -1;
    const char *q = end + 1;
    long b = strtol(q, &end, 10);
    if (end == q || *end || b < 1 || b > 1000000 || a < 0 || a >= b) return -1;
    *k = (int)a;
    *n = (int)b;
    return 0;
}

int cmd_batch(int argc, char **argv)
{
    ct_batch_opts o;
    memset(&o, 0, sizeof o);
    o.parallel = 1;
    const char *config = NULL, *profile = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            fputs(batch_help, stdout);
            return CT_EXIT_OK;
        } else if (!strcmp(a, "--resume")) {
            o.resume = 1;
        } else if (!strcmp(a, "--no-resume")) {
            o.resume = 0;
        } else if (!strcmp(a, "--dry-run")) {
            o.dry_run = 1;
        } else if (!strcmp(a, "--no-cache")) {
            o.no_cache = 1;
        } else if (!v && a[0] == '-') {
            fprintf(stderr, "codetracer batch: %s needs a value (see --help)\n", a);
            return CT_EXIT_USAGE;
        } else if (!strcmp(a, "--manifest")) {
            o.manifest = argv[++i];
        } else if (!strcmp(a, "--output") || !strcmp(a, "-o")) {
            o.output = argv[++i];
        } else if (!strcmp(a, "--data-root")) {
            o.data_root = argv[++i];
        } else if (!strcmp(a, "--db")) {
            o.db = argv[++i];
        } else if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            config = argv[++i];
        } else if (!strcmp(a, "-p") || !strcmp(a, "--profile")) {
            profile = argv[++i];
        } else if (!strcmp(a, "--parallel")) {
            char *end;
            long p = strtol(argv[++i], &end, 10);
            if (*end || p < 1 || p > 256) {
                fprintf(stderr, "codetracer batch: --parallel must be a number from 1 to 256\n");
                return CT_EXIT_USAGE;
            }
            o.parallel = (int)p;
        } else if (!strcmp(a, "--timeout")) {
            char *end;
            double t = strtod(argv[++i], &end);
            if (*end || !(t > 0) || t > 1e7) {
                fprintf(stderr,
                        "codetracer batch: --timeout must be a positive number of seconds\n");
                return CT_EXIT_USAGE;
            }
            o.timeout_s = t;
        } else if (!strcmp(a, "--shard")) {
            if (parse_shard(argv[++i], &o.shard_k, &o.shard_n) != 0) {
                fprintf(stderr,
                        "codetracer batch: --shard must be K/N with 0 <= K < N (e.g. 0/4)\n");
                return CT_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "codetracer batch: unexpected argument '%s' (see --help)\n", a);
            return CT_EXIT_USAGE;
        }
    }
    if (!o.manifest || !o.output) {
        fprintf(stderr, "codetracer batch: --manifest and --output are required (see --help)\n");
        return CT_EXIT_USAGE;
    }
    ct_error err;
    ct_error_clear(&err);
    json_t *cfg = cli_analyze_config(config, NULL, &err);
    if (!cfg) {
        cli_print_error(&err);
        return config ? CT_EXIT_USAGE : CT_EXIT_INTERNAL;
    }
    o.profiles = CT_PROFILE_ALL;
    if (profile && ct_profile_parse_mask(profile, &o.profiles) != 0) {
        fprintf(stderr, "codetracer batch: unknown profile '%s'\n", profile);
        json_decref(cfg);
        return CT_EXIT_USAGE;
    }
    o.config = cfg;
    if (!o.dry_run) {
        /* Open once here, before any worker: the schema is created or upgraded once, and an
         * unusable database is reported once (then the workers run without memory). */
        ct_batch_memory bm;
        o.use_memory = cli_analyze_memory(o.db, &bm, o.no_cache) != NULL;
        ct_memory_close(bm.mem);
    }
    o.progress = stdout;
    o.progress_bar = isatty(STDOUT_FILENO);
    ct_batch_summary s;
    int rc = ct_batch_run(&o, &s, &err);
    json_decref(cfg);
    if (rc != CT_OK) {
        cli_print_error(&err);
        return rc == CT_EIO ? CT_EXIT_OUTPUT : cli_exit_for(rc);
    }
    char from_cache[64] = "";
    if (s.cached) snprintf(from_cache, sizeof from_cache, " (%zu from cache)", s.cached);
    printf("batch: %zu rows, %zu in this shard: %zu ok%s, %zu skipped, %zu failed (%zu timed out) "
           "in %.1fs\n",
           s.rows, s.selected, s.ok, from_cache, s.skipped, s.failed, s.timed_out, s.elapsed_s);
    if (!o.dry_run) printf("outputs in %s/, logs in %s/_logs/\n", o.output, o.output);
    return s.failed ? CT_EXIT_PARTIAL : CT_EXIT_OK;
}

/* cmd_run.c — `codetracer run`: normalize → tree → analyze → report, printing "Step k/4". Unlike
 * the reference, step 4 reports the labels the analysis found, whatever profile was written. */
#include "cli.h"

#include "ct/batch.h"
#include "ct/index.h"
#include "ct/memory.h"
#include "ct/profiles.h"

#include <stdlib.h>
#include <string.h>

char *cli_analyze_traj_id(const ct_trajectory *t, const char *user_path, const char *given,
                          size_t k, size_t n);
char *cli_analyze_workdir(const ct_trajectory *t, const char *user_path, size_t n,
                          const char *output_dir, const char *traj_id, int *artifacts,
                          ct_error *err);
json_t *cli_analyze_config(const char *path, unsigned *default_mask, ct_error *err);
ct_memory *cli_analyze_memory(const char *db, ct_batch_memory *bm, int no_cache);

/* Length of the longest prefix of s of at most max bytes that does not split a UTF-8 sequence. */
static int utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

static const char run_help[] =
    "usage: codetracer run PATH [options]\n"
    "\n"
    "The whole offline pipeline on every trajectory at PATH, step by step:\n"
    "  Step 1/4 normalize (load the trajectory, split it into steps)\n"
    "  Step 2/4 tree      (classify each step change/explore, build tree.md)\n"
    "  Step 3/4 analyze   (heuristic diagnosis, write the profile file)\n"
    "  Step 4/4 report    (every incorrect/unuseful step with its reason, or \"looks clean\")\n"
    "\n"
    "options:\n"
    "  -p, --profile LIST   tracebench, detailed (default), rl_feedback, a list, or all\n"
    "  -c, --config FILE    YAML deep-merged over the built-in defaults\n"
    "  -o, --output FILE    also write the (single) profile file to exactly FILE\n"
    "      --output-dir D   write into D/<traj-id>/ instead of the run dir\n"
    "      --traj-id ID     folder name under --output-dir\n"
    "  -f, --format NAME    force a loader\n"
    "      --db FILE        the memory database (default: $CODETRACER_DB, else\n"
    "                       $XDG_DATA_HOME/codetracer/codetracer.db, else\n"
    "                       ~/.local/share/codetracer/codetracer.db)\n"
    "      --no-cache       analyse again even when the cache holds a result\n"
    "      --skip-discovery accepted for compatibility (codetracer never generates parsers)\n"
    "\n"
    "Where files go: as for `codetracer analyze` (see its --help): the profile file in the run\n"
    "dir (or D/<traj-id>/); steps.json, task.md, stage_ranges.json and tree.md only with\n"
    "--output-dir or when the current directory is the run dir.\n"
    "Memory, as for `codetracer analyze`: step 3 is served from the analysis cache when the same\n"
    "content was analysed with the same settings (\"from the memory cache\"), and your\n"
    "`codetracer feedback` verdicts override the analyzer's labels in the report and the files.\n"
    "Not available yet: -r/--replay, and the LLM options -m/--api-base/--api-key/-l.\n";

int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *profile = NULL, *config = NULL, *output = NULL, *output_dir = NULL,
               *traj_id = NULL, *db = NULL;
    int no_cache = 0;
    ct_load_opts lo = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (cli_is_help(a)) {
            fputs(run_help, stdout);
            return CT_EXIT_OK;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--profile"))
            dst = &profile;
        else if (!strcmp(a, "-c") || !strcmp(a, "--config"))
            dst = &config;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            dst = &output;
        else if (!strcmp(a, "--output-dir"))
            dst = &output_dir;
        else if (!strcmp(a, "--traj-id"))
            dst = &traj_id;
        else if (!strcmp(a, "-f") || !strcmp(a, "--format"))
            dst = &lo.format;
        else if (!strcmp(a, "--db"))
            dst = &db;
        else if (!strcmp(a, "--no-cache"))
            no_cache = 1;
        else if (!strcmp(a, "--skip-discovery"))
            continue;
        else if (!strcmp(a, "-r") || !strcmp(a, "--replay") || !strcmp(a, "-m") ||
                 !strcmp(a, "--model") || !strcmp(a, "--api-base") || !strcmp(a, "--api-key") ||
                 !strcmp(a, "-l") || !strcmp(a, "--cost-limit")) {
            fprintf(stderr,
                    "codetracer run: %s is not available yet (replay and the LLM analyzer come "
                    "later)\n",
                    a);
            return CT_EXIT_USAGE;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "codetracer run: unknown option '%s' (see --help)\n", a);
            return CT_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "codetracer run: one PATH only\n");
            return CT_EXIT_USAGE;
        } else
            path = a;
        if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "codetracer run: %s needs a value\n", a);
                return CT_EXIT_USAGE;
            }
            *dst = argv[++i];
        }
    }
    if (!path) {
        fprintf(stderr, "codetracer run: missing PATH (see --help)\n");
        return CT_EXIT_USAGE;
    }
    if (traj_id && (!output_dir || strchr(traj_id, '/') || !*traj_id)) {
        fprintf(stderr,
                "codetracer run: --traj-id needs --output-dir and must be a plain folder name\n");
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
    if (profile && ct_profile_parse_mask(profile, &mask) != 0) {
        fprintf(stderr, "codetracer run: unknown profile '%s'\n", profile);
        json_decref(cfg);
        return CT_EXIT_USAGE;
    }
    int single = mask && !(mask & (mask - 1));
    if (output && !single) {
        fprintf(stderr, "codetracer run: -o/--output needs exactly one profile\n");
        json_decref(cfg);
        return CT_EXIT_USAGE;
    }

    printf("Step 1/4: normalize %s\n", path);
    ct_traj_list l = {0};
    int rc = ct_load_path(path, &lo, &l, cli_warn, NULL, &err);
    if (rc != CT_OK) {
        cli_print_error(&err);
        json_decref(cfg);
        return cli_exit_for(rc);
    }
    if (output && l.n > 1) {
        fprintf(stderr,
                "codetracer run: -o/--output needs PATH to hold one trajectory (it holds %zu)\n",
                l.n);
        ct_traj_list_free(&l);
        json_decref(cfg);
        return CT_EXIT_USAGE;
    }
    int status = CT_EXIT_OK;
    ct_batch_memory bm;
    cli_analyze_memory(db, &bm, no_cache);
    for (size_t k = 0; k < l.n; k++) {
        ct_trajectory *t = l.items[k];
        printf("  %s: %s, %zu steps%s\n", t->id, t->format, t->n_steps,
               t->n_warnings ? " (with warnings)" : "");
        for (size_t w = 0; w < t->n_warnings; w++)
            printf("  warning: %s\n", t->warnings[w]);
        char *id = cli_analyze_traj_id(t, path, traj_id, k, l.n);
        int artifacts = 0;
        char *dir = cli_analyze_workdir(t, path, l.n, output_dir, id, &artifacts, &err);
        free(id);
        if (!dir) {
            cli_print_error(&err);
            status = err.code == CT_EINVAL ? CT_EXIT_USAGE : CT_EXIT_OUTPUT;
            continue;
        }

        size_t n_change = 0;
        for (size_t i = 0; i < t->n_steps; i++)
            n_change += ct_classify_step(&t->steps[i], NULL) == CT_CLASS_CHANGE;
        printf("Step 2/4: tree: %zu change steps, %zu explore steps%s\n", n_change,
               t->n_steps - n_change, artifacts ? " (tree.md)" : "");

        ct_analysis *a = NULL;
        rc = ct_batch_analyze_mem(t, "heuristic", cfg, &bm, dir, mask, artifacts, &a, &err);
        if (rc == CT_OK && output) {
            ct_profile p = CT_PROFILE_DETAILED;
            for (int q = 0; q < CT_PROFILE__COUNT; q++)
                if (mask & CT_PROFILE_BIT(q)) p = (ct_profile)q;
            json_t *doc = ct_profile_build(p, a);
            size_t n_ids;
            int *ids = ct_profile_ids(p, a, &n_ids);
            rc = ct_profile_validate(p, doc, ids, n_ids, &err);
            char *s = rc == CT_OK ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) : NULL;
            if (s) {
                size_t n = strlen(s);
                s = ct_xrealloc(s, n + 2);
                memcpy(s + n, "\n", 2);
                rc = ct_profile_write_atomic(output, s, n + 1, &err);
            }
            free(s);
            free(ids);
            json_decref(doc);
        }
        if (rc != CT_OK) {
            cli_print_error(&err);
            status = rc == CT_EIO || rc == CT_ESCHEMA ? CT_EXIT_OUTPUT : cli_exit_for(rc);
            ct_analysis_free(a);
            free(dir);
            continue;
        }
        size_t bad = 0;
        for (size_t i = 0; i < a->n_labels; i++)
            bad += a->labels[i].label != CT_LABEL_CORRECT;
        printf("Step 3/4: analyze (heuristic%s): %zu of %zu steps labelled\n",
               bm.cached ? ", from the memory cache" : "", bad, a->n_labels);
        if (bm.n_feedback)
            printf("  %d label%s set by your feedback\n", bm.n_feedback,
                   bm.n_feedback == 1 ? "" : "s");
        for (int q = 0; q < CT_PROFILE__COUNT; q++)
            if (mask & CT_PROFILE_BIT(q))
                printf("  wrote %s/%s\n", dir, ct_profile_file((ct_profile)q));
        if (output) printf("  wrote %s\n", output);
        printf("Step 4/4: report\n");
        if (!bad) printf("  %s looks clean: no incorrect or unuseful step found\n", t->id);
        for (size_t i = 0; i < a->n_labels; i++) {
            const ct_step_label *sl = &a->labels[i];
            if (sl->label == CT_LABEL_CORRECT) continue;
            const char *why = sl->reasoning ? sl->reasoning : "";
            printf("  Step %d [%s]: %.*s%s\n", sl->step_id, ct_label_name(sl->label),
                   utf8_cut(why, 100), why, strlen(why) > 100 ? "..." : "");
        }
        if (a->n_root_cause) printf("  root cause: %s\n", a->root_cause_chain[0]);
        size_t cnt[3] = {0, 0, 0};
        for (size_t i = 0; i < a->n_labels; i++)
            cnt[(unsigned)a->labels[i].label <= CT_LABEL_INCORRECT ? a->labels[i].label
                                                                   : CT_LABEL_CORRECT]++;
        printf("  %-10s %6s\n  %-10s %6zu\n  %-10s %6zu\n  %-10s %6zu\n", "label", "steps",
               "incorrect", cnt[CT_LABEL_INCORRECT], "unuseful", cnt[CT_LABEL_UNUSEFUL], "correct",
               cnt[CT_LABEL_CORRECT]);
        ct_analysis_free(a);
        free(dir);
    }
    ct_memory_close(bm.mem);
    ct_traj_list_free(&l);
    json_decref(cfg);
    return status;
}

/* codetracer discover: every trajectory below a path, with its format, step count and warnings.
 *
 * Discovery and loading are done root by root here (not through ct_load_path) so that one root
 * that fails to load is reported in place, next to the ones that loaded. */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(
        f, "usage: codetracer discover PATH [--json] [--max-depth N] [--max-entries N]\n"
           "\n"
           "Find every trajectory at or below PATH (a file, a run/job directory, or a .tar,\n"
           ".tar.gz, .tar.zst or .zip archive read in place; nothing is extracted) and print, for\n"
           "each: its id (the path to give `inspect`; PATH#K when one file holds several), its\n"
           "format, its step count and its warnings. A root that fails to load is listed with the\n"
           "reason.\n"
           "\n"
           "  --json          one JSON object per trajectory per line: id, path, format,\n"
           "                  format_version, agent, model, outcome, step_count, warnings; a root\n"
           "                  that failed has \"error\" instead of the step fields\n"
           "  --max-depth N   directory levels to search below PATH (default 10)\n"
           "  --max-entries N stop after examining N directory entries (default 200000); what\n"
           "                  was found so far is listed, with a warning\n"
           "\n"
           "exit status: 0 ok, 2 usage error, 3 nothing could be loaded, 6 some roots failed to\n"
           "load or the search stopped at a limit.\n");
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (s) puts(s);
    free(s);
    json_decref(o);
}

static void print_traj(const ct_trajectory *t, int json)
{
    if (json) {
        json_t *o = ct_traj_to_json(t, 0);
        json_object_del(o, "metadata");
        json_object_del(o, "final_patch");
        json_object_del(o, "task");
        print_json(o);
        return;
    }
    printf("%s\t%s\t%zu step%s", t->id, t->format, t->n_steps, t->n_steps == 1 ? "" : "s");
    if (t->agent) printf("\t%s", t->agent);
    if (t->model) printf("\t%s", t->model);
    putchar('\n');
    for (size_t i = 0; i < t->n_warnings; i++)
        printf("  warning: %s\n", t->warnings[i]);
}

static void print_failure(ct_fs *fs, const ct_found *f, const ct_error *e, int json)
{
    char buf[2048];
    ct_error_format(e, buf, sizeof buf);
    const char *disp = ct_fs_display(fs, f->rel);
    if (json) {
        print_json(json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "id", disp, "path", disp, "format",
                             f->loader->name, "error", "code", ct_err_name(e->code), "message",
                             buf));
        return;
    }
    printf("%s\t%s\terror: %s\n", disp, f->loader->name, buf);
}

int cmd_discover(int argc, char **argv)
{
    int json = 0;
    const char *path = NULL;
    ct_discover_opts dopts = {0};
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CT_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--max-depth") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            char *end;
            long d = strtol(v, &end, 10);
            if (!*v || *end || d < 1 || d > 64) {
                fprintf(stderr, "codetracer discover: --max-depth needs a number from 1 to 64\n");
                return CT_EXIT_USAGE;
            }
            dopts.max_depth = (int)d;
        } else if (strcmp(argv[i], "--max-entries") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            char *end;
            long long m = strtoll(v, &end, 10);
            if (!*v || *end || m < 1) {
                fprintf(stderr, "codetracer discover: --max-entries needs a number >= 1\n");
                return CT_EXIT_USAGE;
            }
            dopts.max_entries = (size_t)m;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "codetracer discover: unknown option '%s' (see --help)\n", argv[i]);
            return CT_EXIT_USAGE;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "codetracer discover: only one PATH\n");
            return CT_EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "codetracer discover: missing PATH (see --help)\n");
        return CT_EXIT_USAGE;
    }
    ct_error err;
    ct_error_clear(&err);
    ct_fs *fs = ct_fs_open(path, &err);
    if (!fs) {
        cli_print_error(&err);
        return cli_exit_for(err.code);
    }
    ct_found *found = NULL;
    size_t nf = 0;
    int rc = ct_discover(fs, ct_fs_start(fs), &dopts, &found, &nf, &err);
    if (rc != CT_OK) {
        cli_print_error(&err);
        ct_fs_close(fs);
        return cli_exit_for(rc);
    }
    int limited = err.code != CT_OK;
    if (limited) cli_warn(NULL, &err);
    if (nf == 0) {
        /* Nothing claimed: let the loader front door say why (LFS pointer, empty dir, unknown). */
        ct_fs_close(fs);
        ct_traj_list l = {0};
        ct_load_opts lo = {0};
        lo.discover = dopts;
        ct_error_clear(&err);
        rc = ct_load_path(path, &lo, &l, NULL, NULL, &err);
        ct_traj_list_free(&l);
        if (rc == CT_OK) ct_error_setf(&err, CT_EFORMAT, path, -1, 0, "no trajectory found");
        cli_print_error(&err);
        return CT_EXIT_INPUT;
    }
    size_t ok = 0, failed = 0;
    for (size_t i = 0; i < nf; i++) {
        ct_traj_list l = {0};
        ct_error e;
        ct_error_clear(&e);
        int r = ct_load_root(fs, found[i].loader, found[i].rel, found[i].is_dir, &l, &e);
        for (size_t k = 0; k < l.n; k++)
            print_traj(l.items[k], json);
        ok += l.n;
        if (r != CT_OK) {
            if (e.code == CT_OK) ct_error_set(&e, r, "%s", ct_strerror(r));
            print_failure(fs, &found[i], &e, json);
            failed++;
        }
        ct_traj_list_free(&l);
    }
    ct_found_free(found, nf);
    ct_fs_close(fs);
    if (!json) printf("%zu trajector%s found%s", ok, ok == 1 ? "y" : "ies", failed ? "" : "\n");
    if (!json && failed) printf(", %zu root%s failed to load\n", failed, failed == 1 ? "" : "s");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "codetracer: could not write to stdout\n");
        return CT_EXIT_OUTPUT;
    }
    if (ok == 0) return CT_EXIT_INPUT;
    return failed || limited ? CT_EXIT_PARTIAL : CT_EXIT_OK;
}

#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cmd_discover(int argc, char **argv)
{
    int json = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: codetracer discover PATH [--json]\n\n"
                   "Find every trajectory at or below PATH (a file, a run/job directory, or a .tar,\n"
                   ".tar.gz, .tar.zst or .zip archive read in place) and print its format and step count.\n"
                   "  --json   one JSON object per trajectory per line\n");
            return CT_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "codetracer discover: unknown option '%s'\n", argv[i]);
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
    ct_traj_list l = {0};
    ct_error err;
    ct_error_clear(&err);
    int rc = ct_load_path(path, NULL, &l, cli_warn, NULL, &err);
    if (rc != CT_OK) {
        cli_print_error(&err);
        return cli_exit_for(rc);
    }
    for (size_t i = 0; i < l.n; i++) {
        ct_trajectory *t = l.items[i];
        if (json) {
            json_t *o = ct_traj_to_json(t, 0);
            json_object_del(o, "metadata");
            json_object_del(o, "final_patch");
            json_object_del(o, "task");
            char *s = json_dumps(o, JSON_COMPACT);
            puts(s);
            free(s);
            json_decref(o);
        } else {
            printf("%s\t%s\t%zu steps\n", t->id, t->format, t->n_steps);
        }
    }
    ct_traj_list_free(&l);
    return CT_EXIT_OK;
}

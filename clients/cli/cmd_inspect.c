#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cmd_inspect(int argc, char **argv)
{
    int json = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: codetracer inspect PATH [--json]\n");
            return CT_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "codetracer inspect: unknown option '%s'\n", argv[i]);
            return CT_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "codetracer inspect: missing PATH (see --help)\n");
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
            json_t *o = ct_traj_to_json(t, 1);
            char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
            puts(s);
            free(s);
            json_decref(o);
        } else {
            printf("%s (%s, %zu steps)\n", t->id, t->format, t->n_steps);
            for (size_t k = 0; k < t->n_steps; k++)
                printf("  [%d] %s: %.100s\n", t->steps[k].step_id, ct_step_kind_name(t->steps[k].kind),
                       t->steps[k].action);
        }
    }
    ct_traj_list_free(&l);
    return CT_EXIT_OK;
}

/* codetracer feedback — mark a step's label as wrong or right; stored in the memory database
 * under the trajectory's content hash, applied over every later analysis of the same content. */
#include "cli.h"
#include "ct/memory.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: codetracer feedback PATH --step N --label correct|incorrect|unuseful\n"
               "                           [--note TEXT] [--db FILE] [--json]\n"
               "       codetracer feedback PATH --step N --clear [--db FILE]\n\n"
               "Record what step N of the trajectory at PATH really is (PATH#K for the K-th of\n"
               "several in one file). The verdict overrides the analyzer's label from then on and\n"
               "is exported by 'codetracer memory export'. The database is --db FILE, else\n"
               "$CODETRACER_DB, else $XDG_DATA_HOME/codetracer/codetracer.db.\n");
}

int cmd_feedback(int argc, char **argv)
{
    const char *path = NULL, *label_name = NULL, *note = NULL, *db = NULL;
    int step = 0, json = 0, clear = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_next = i + 1 < argc;
        if (cli_is_help(a)) {
            usage(stdout);
            return CT_EXIT_OK;
        } else if (strcmp(a, "--step") == 0 && has_next) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 10000000) {
                fprintf(stderr, "codetracer feedback: --step needs a step number >= 1, got '%s'\n",
                        argv[i]);
                return CT_EXIT_USAGE;
            }
            step = (int)v;
        } else if (strcmp(a, "--label") == 0 && has_next) {
            label_name = argv[++i];
        } else if (strcmp(a, "--note") == 0 && has_next) {
            note = argv[++i];
        } else if (strcmp(a, "--db") == 0 && has_next) {
            db = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--clear") == 0) {
            clear = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr,
                    "codetracer feedback: unknown option or missing value '%s' (see --help)\n", a);
            return CT_EXIT_USAGE;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "codetracer feedback: one PATH only (got '%s' and '%s')\n", path, a);
            return CT_EXIT_USAGE;
        }
    }
    ct_label_kind label = CT_LABEL_CORRECT;
    if (!path || !step || (!clear && !label_name)) {
        fprintf(stderr, "codetracer feedback: needs PATH, --step N and --label (see --help)\n");
        return CT_EXIT_USAGE;
    }
    if (!clear && ct_label_from_name(label_name, &label) != 0) {
        fprintf(stderr,
                "codetracer feedback: --label must be correct, incorrect or unuseful, got '%s'\n",
                label_name);
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
    if (l.n != 1) {
        fprintf(stderr,
                "codetracer feedback: %s holds %zu trajectories; pick one with %s#K (K = 1..%zu)\n",
                path, l.n, path, l.n);
        ct_traj_list_free(&l);
        return CT_EXIT_USAGE;
    }
    ct_trajectory *t = l.items[0];
    if ((size_t)step > t->n_steps) {
        fprintf(stderr, "codetracer feedback: step %d does not exist: %s has %zu steps\n", step,
                t->id, t->n_steps);
        ct_traj_list_free(&l);
        return CT_EXIT_USAGE;
    }
    char hash[65];
    ct_traj_hash(t, hash);

    ct_memory *m = NULL;
    rc = ct_memory_open(db, &m, &err);
    int learned = 0;
    long long removed = 0;
    if (rc == CT_OK) rc = ct_memory_remember_traj(m, t, hash, &err);
    if (rc == CT_OK && clear) rc = ct_memory_feedback_forget(m, hash, step, &removed, &err);
    if (rc == CT_OK && !clear) rc = ct_memory_feedback_set(m, hash, step, label, note, &err);
    if (rc == CT_OK && !clear) {
        /* Learning is a bonus: a failure here does not undo the verdict. */
        ct_error e2;
        ct_error_clear(&e2);
        if (ct_memory_learn_from_feedback(m, t, step, label, &learned, &e2) != CT_OK)
            cli_warn(NULL, &e2);
    }
    if (rc != CT_OK) {
        cli_print_error(&err);
        ct_memory_close(m);
        ct_traj_list_free(&l);
        return rc == CT_EINVAL ? CT_EXIT_USAGE : CT_EXIT_OUTPUT;
    }
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "traj_id", t->id, "traj_hash", hash,
                              "step_id", step, "label", clear ? "cleared" : ct_label_name(label),
                              "db", ct_memory_path(m));
        if (note && !clear) json_object_set_new(o, "note", json_string(note));
        json_object_set_new(o, "learned_pitfall", json_boolean(learned));
        char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        puts(s);
        free(s);
        json_decref(o);
    } else if (clear) {
        printf("%s: step %d: %s (trajectory %.12s)\n", t->id, step,
               removed ? "feedback removed" : "had no feedback", hash);
    } else {
        printf("%s: step %d marked %s (trajectory %.12s)%s\n", t->id, step, ct_label_name(label),
               hash, learned ? "; noted as a pitfall of the rule that said otherwise" : "");
    }
    ct_memory_close(m);
    ct_traj_list_free(&l);
    return CT_EXIT_OK;
}

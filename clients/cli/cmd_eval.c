/* cmd_eval.c — `codetracer eval`: score predictions against a CodeTraceBench-style manifest. */
#include "cli.h"

#include "ct/eval.h"

#include <stdlib.h>
#include <string.h>

static const char eval_help[] =
    "usage: codetracer eval --manifest GOLD.jsonl --pred DIR [--json] [--numbering step|bench]\n"
    "\n"
    "Score predicted step labels against gold labels (CodeTraceBench). For each manifest row\n"
    "(traj_id, incorrect_stages or incorrect_step_ids/unuseful_step_ids, step_count or\n"
    "steps_total, agent, model) the prediction is read from DIR/<traj_id>/codetracer_labels.json\n"
    "(tracebench profile, bench numbering) or DIR/<traj_id>/codetracer_analysis.json (detailed\n"
    "profile, step numbering).\n"
    "\n"
    "Figures: step-level precision/recall/F1 of the incorrect ids (union over stages) and of the\n"
    "unuseful ids; macro (mean over trajectories) and micro (summed TP/FP/FN) averages; Cohen's\n"
    "kappa over all steps (3 classes) of rows with a step count; per agent and per model.\n"
    "Empty sets: gold and prediction both empty → P = R = F1 = 1; only one empty → 0.\n"
    "A missing prediction counts as an empty one and is reported.\n"
    "\n"
    "options:\n"
    "  --numbering step|bench  the numbering of the gold ids (default: the row's \"numbering\"\n"
    "                          field, \"step_id\" → step, otherwise bench)\n"
    "  --json                  print the whole report as one JSON object\n";

/* o[a][b][c] as a number (c may be NULL for o[a][b]); 0 when absent. */
static double num(json_t *o, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(json_object_get(o, a), b);
    return json_number_value(c ? json_object_get(v, c) : v);
}

static void print_group(const char *name, json_t *g)
{
    json_t *k = json_object_get(g, "kappa");
    printf("%-28.28s %4lld  inc P %.3f R %.3f F1 %.3f | micro F1 %.3f   unu P %.3f R %.3f F1 %.3f "
           "| micro F1 "
           "%.3f   kappa ",
           name, (long long)json_integer_value(json_object_get(g, "n")),
           num(g, "incorrect", "macro", "p"), num(g, "incorrect", "macro", "r"),
           num(g, "incorrect", "macro", "f1"), num(g, "incorrect", "micro", "f1"),
           num(g, "unuseful", "macro", "p"), num(g, "unuseful", "macro", "r"),
           num(g, "unuseful", "macro", "f1"), num(g, "unuseful", "micro", "f1"));
    if (json_is_number(k))
        printf("%.3f\n", json_number_value(k));
    else
        printf("n/a\n");
}

int cmd_eval(int argc, char **argv)
{
    const char *manifest = NULL, *pred = NULL;
    int json = 0;
    ct_numbering numbering = CT_NUMBERING_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(eval_help, stdout);
            return CT_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if ((!strcmp(a, "--manifest") || !strcmp(a, "--pred") ||
                    !strcmp(a, "--numbering")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--manifest"))
                manifest = v;
            else if (!strcmp(a, "--pred"))
                pred = v;
            else if (!strcmp(v, "step") || !strcmp(v, "step_id"))
                numbering = CT_NUMBERING_STEP;
            else if (!strcmp(v, "bench") || !strcmp(v, "bench_step_id"))
                numbering = CT_NUMBERING_BENCH;
            else {
                fprintf(stderr, "codetracer eval: --numbering must be step or bench\n");
                return CT_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "codetracer eval: unexpected argument '%s' (see --help)\n", a);
            return CT_EXIT_USAGE;
        }
    }
    if (!manifest || !pred) {
        fprintf(stderr, "codetracer eval: --manifest and --pred are required (see --help)\n");
        return CT_EXIT_USAGE;
    }
    ct_error err;
    ct_error_clear(&err);
    json_t *rep = NULL;
    int rc = ct_eval_run(manifest, pred, numbering, &rep, &err);
    if (rc != CT_OK) {
        cli_print_error(&err);
        return cli_exit_for(rc);
    }
    if (json) {
        char *s = json_dumps(rep, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
        puts(s);
        free(s);
        json_decref(rep);
        return CT_EXIT_OK;
    }
    size_t i;
    json_t *t;
    printf("%-40s %6s  %-22s %-22s %s\n", "trajectory", "steps", "incorrect P/R/F1",
           "unuseful P/R/F1", "notes");
    json_array_foreach(json_object_get(rep, "trajectories"), i, t)
    {
        json_t *sc = json_object_get(t, "step_count");
        char steps[24];
        if (json_is_integer(sc))
            snprintf(steps, sizeof steps, "%lld", (long long)json_integer_value(sc));
        else
            snprintf(steps, sizeof steps, "?");
        printf("%-40.40s %6s  %.2f/%.2f/%.2f         %.2f/%.2f/%.2f        %s%s\n",
               json_string_value(json_object_get(t, "traj_id")), steps,
               num(t, "incorrect", "p", NULL), num(t, "incorrect", "r", NULL),
               num(t, "incorrect", "f1", NULL), num(t, "unuseful", "p", NULL),
               num(t, "unuseful", "r", NULL), num(t, "unuseful", "f1", NULL),
               json_is_true(json_object_get(t, "missing_prediction")) ? "NO PREDICTION " : "",
               json_array_size(json_object_get(t, "gold_out_of_range"))
                   ? "gold ids beyond step count"
                   : "");
        size_t j;
        json_t *note;
        json_array_foreach(json_object_get(t, "notes"), j, note)
            printf("    note: %s\n", json_string_value(note));
    }
    printf("\nnumbering: %s; %lld trajectories, %lld without a prediction\n",
           json_string_value(json_object_get(rep, "numbering")),
           (long long)json_integer_value(json_object_get(rep, "n_trajectories")),
           (long long)json_integer_value(json_object_get(rep, "n_missing_predictions")));
    printf("%-28s %4s  (macro P/R/F1 per class, micro F1)\n", "group", "n");
    print_group("overall", json_object_get(rep, "overall"));
    const char *k;
    json_t *g;
    json_object_foreach(json_object_get(rep, "by_agent"), k, g)
    {
        char name[80];
        snprintf(name, sizeof name, "agent %s", k);
        print_group(name, g);
    }
    json_object_foreach(json_object_get(rep, "by_model"), k, g)
    {
        char name[80];
        snprintf(name, sizeof name, "model %s", k);
        print_group(name, g);
    }
    json_decref(rep);
    return CT_EXIT_OK;
}

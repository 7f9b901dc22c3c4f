/* test_heuristic_bad_input.c — the analyzer, the tree and the stages on hostile steps: missing
 * fields, huge observations, invalid UTF-8, garbage file touches. No crash, one label per step,
 * labels within range, bounded time. */
#include "check.h"
#include "ct/heuristic.h"
#include "ct/index.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    ct_step *s = ct_traj_add_step(t); /* all defaults: action "", no observation */
    s = ct_traj_add_step(t);
    s->kind = CT_KIND_BASH;
    s->action = NULL; /* a loader bug must not crash the analyzer */
    s = ct_traj_add_step(t);
    s->kind = CT_KIND_EDIT;
    s->action = "\xff\xfe invalid utf-8 \xc3";
    ct_file_touch *f = ct_step_add_file(t, s);
    f->op = NULL;
    f->path = NULL;
    f = ct_step_add_file(t, s);
    f->path = "";
    f->op = "create";
    f->content = "";
    /* a 16 MiB observation with error words at both ends */
    size_t big = 16u << 20;
    char *obs = malloc(big + 1);
    memset(obs, 'x', big);
    memcpy(obs, "Traceback (most recent call last):", 34);
    memcpy(obs + big - 20, " 3 failed, 1 passed ", 20);
    obs[big] = 0;
    for (int i = 0; i < 3; i++) {
        s = ct_traj_add_step(t);
        s->kind = CT_KIND_BASH;
        s->tool = "bash";
        s->action = i == 1 ? "sed -i 's/a/b/' x.py" : "pytest -q";
        s->observation = obs;
        s->has_exit_code = 1;
        s->exit_code = i == 2 ? 1 : 0;
    }
    /* a long chain of changes (deep tree) */
    for (int i = 0; i < 3000; i++) {
        s = ct_traj_add_step(t);
        s->kind = CT_KIND_BASH;
        s->action = "touch a";
        s->observation = "";
    }
    t->final_patch = "diff --git a/x b/x\n";
    t->solved = CT_FALSE;
    /* bogus stage ranges */
    json_object_set_new(t->metadata, "stage_ranges", json_string("not a list"));

    clock_t t0 = clock();
    ct_analysis *a = NULL;
    ct_error e;
    ct_error_clear(&e);
    CHECK_INT(ct_analyze_heuristic(t, NULL, &a, &e), 0);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    fprintf(stderr, "analysis of %zu steps: %.3f s\n", t->n_steps, secs);
    CHECK(a != NULL);
    if (a) {
        CHECK_INT(a->n_labels, t->n_steps);
        for (size_t i = 0; i < a->n_labels; i++) {
            CHECK(a->labels[i].label <= CT_LABEL_INCORRECT);
            CHECK(a->labels[i].reward >= -1 && a->labels[i].reward <= 1);
            if (a->labels[i].label != CT_LABEL_CORRECT) CHECK(a->labels[i].reasoning != NULL);
        }
        CHECK(a->n_stages >= 1);
        CHECK_INT(a->stages[0].start_step_id, 1);
        CHECK_INT(a->stages[a->n_stages - 1].end_step_id, (int)t->n_steps);
        json_t *j = ct_analysis_to_json(a);
        CHECK(j != NULL);
        json_decref(j);
        ct_analysis_free(a);
    }
    ct_buf b = CT_BUF_INIT;
    ct_tree_render(t, &b);
    CHECK(ct_str_starts(b.data, "root\n"));
    CHECK(b.len > 3000);
    ct_buf_free(&b);
    free(obs);
    ct_traj_free(t);
    return check_report();
}

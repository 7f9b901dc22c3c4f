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
    /* the revert / listing / script parsers on odd text: a checkout with nothing after `--`, a
     * restore of only options, an `ls` with many operands or only options, an edit whose old
     * and new text are empty, a script with an unterminated open(' and a run of it, a path that
     * is only '/', error lines made of newlines */
    static const char *const odd[] = {"git checkout -- ",
                                      "git restore --staged --worktree",
                                      "git restore -- ",
                                      "ls a b c d e",
                                      "ls -",
                                      "ls --color=auto",
                                      "ls -R /",
                                      "ls ''",
                                      "pip install x",
                                      "pip install y",
                                      "python fix.py",
                                      NULL};
    for (int i = 0; odd[i]; i++) {
        s = ct_traj_add_step(t);
        s->kind = CT_KIND_BASH;
        s->tool = "bash";
        s->action = odd[i];
        s->observation = i >= 8 ? "\n\n\n   \n<returncode>1</returncode>\n" : "";
        s->has_exit_code = 1;
        s->exit_code = i == 8 || i == 9 ? 1 : 0;
    }
    for (int i = 0; i < 3; i++) {
        s = ct_traj_add_step(t);
        s->kind = i == 2 ? CT_KIND_CREATE : CT_KIND_EDIT;
        s->action = i == 2 ? "cat > fix.py <<'EOF'\nopen('" : "str_replace /";
        f = ct_step_add_file(t, s);
        f->path = i == 2 ? "fix.py" : "/";
        f->op = i == 2 ? "create" : "str_replace";
        f->content = i == 2 ? "open('" : NULL;
        f->old_text = i == 2 ? NULL : "";
        f->new_text = i == 2 ? NULL : "";
    }
    s = ct_traj_add_step(t);
    s->kind = CT_KIND_BASH;
    s->action = "python fix.py";
    s->observation = "";
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

/* steps.h — builders for hand-written trajectories in unit tests (a shell step and a
 * str_replace edit, as the loaders record them) and readers of the heuristic's labels. Static
 * functions: include once per test, after check.h. */
#ifndef CT_TEST_STEPS_H
#define CT_TEST_STEPS_H

#include "check.h"
#include "ct/heuristic.h"
#include "ct/trajectory.h"

/* A shell command with its output; exit_code < 0 = unknown. */
__attribute__((unused)) static ct_step *bash(ct_trajectory *t, const char *cmd, const char *obs,
                                             int exit_code)
{
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_BASH;
    s->tool = "bash";
    s->action = ct_traj_strdup(t, cmd);
    s->observation = ct_traj_strdup(t, obs);
    if (exit_code >= 0) {
        s->has_exit_code = 1;
        s->exit_code = exit_code;
    }
    return s;
}

/* A str_replace_editor edit of path (old → new text) with the tool's answer. */
__attribute__((unused)) static ct_step *edit(ct_trajectory *t, const char *path,
                                             const char *old_text, const char *new_text,
                                             const char *obs)
{
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_EDIT;
    s->tool = "str_replace_editor";
    s->action = ct_traj_printf(t, "str_replace_editor str_replace %s", path);
    s->observation = ct_traj_strdup(t, obs);
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = ct_traj_strdup(t, path);
    f->op = "str_replace";
    f->old_text = ct_traj_strdup(t, old_text);
    f->new_text = ct_traj_strdup(t, new_text);
    return s;
}

/* The heuristic analysis of t, checked to have one label per step (caller frees). */
__attribute__((unused)) static ct_analysis *run(ct_trajectory *t)
{
    ct_analysis *a = NULL;
    ct_error e;
    ct_error_clear(&e);
    CHECK_INT(ct_analyze_heuristic(t, NULL, &a, &e), 0);
    CHECK(a != NULL);
    CHECK_INT(a->n_labels, t->n_steps);
    return a;
}

/* The label and the rule of step `step` (1-based). */
__attribute__((unused)) static int label(const ct_analysis *a, int step)
{
    return (int)a->labels[step - 1].label;
}

__attribute__((unused)) static const char *rule(const ct_analysis *a, int step)
{
    return a->labels[step - 1].rule ? a->labels[step - 1].rule : "(none)";
}

#endif

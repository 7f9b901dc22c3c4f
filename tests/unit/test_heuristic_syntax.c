/* The syntax-broken rule: fires on an edit that breaks the definition it touches, stays silent on
 * a clean edit, on an edit of code that was already broken, and when switched off. */
#include "check.h"
#include "ct/config.h"
#include "ct/heuristic.h"

#include <stdlib.h>

static ct_trajectory *run_with_edit(const char *first, const char *old_text, const char *new_text)
{
    ct_trajectory *t = ct_traj_new("test", "syntax.json");
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_CREATE;
    s->tool = "str_replace_editor";
    s->action = "str_replace_editor create /testbed/calc.py";
    s->observation = "File created successfully at: /testbed/calc.py";
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = "/testbed/calc.py";
    f->op = "create";
    f->content = first;

    s = ct_traj_add_step(t);
    s->kind = CT_KIND_EDIT;
    s->tool = "str_replace_editor";
    s->action = "str_replace_editor str_replace /testbed/calc.py";
    s->observation = "The file /testbed/calc.py has been edited.";
    f = ct_step_add_file(t, s);
    f->path = "/testbed/calc.py";
    f->op = "str_replace";
    f->old_text = old_text;
    f->new_text = new_text;
    return t;
}

static const ct_step_label *label_of(ct_analysis *a, int step)
{
    return &a->labels[step - 1];
}

int main(void)
{
    const char *good = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n";
    ct_error err;
    ct_analysis *a;

    /* 1. the edit drops a parenthesis inside sub(): incorrect, syntax-broken, cites step 2 */
    ct_trajectory *t = run_with_edit(good, "def sub(a, b):", "def sub(a, b:");
    CHECK(ct_analyze_heuristic(t, NULL, &a, &err) == 0);
    CHECK_INT(label_of(a, 2)->label, CT_LABEL_INCORRECT);
    CHECK_STR(label_of(a, 2)->rule, "syntax-broken");
    CHECK(label_of(a, 2)->n_evidence == 1 && label_of(a, 2)->evidence[0] == 2);
    CHECK_INT(label_of(a, 1)->label, CT_LABEL_CORRECT);
    ct_analysis_free(a);

    /* 2. switched off in the configuration: silent */
    json_t *cfg = ct_config_defaults();
    json_t *off = json_pack("{s:{s:{s:b}}}", "heuristic", "syntax_broken", "enabled", 0);
    ct_config_merge(cfg, off);
    CHECK(ct_analyze_heuristic(t, cfg, &a, &err) == 0);
    CHECK(label_of(a, 2)->rule == NULL || strcmp(label_of(a, 2)->rule, "syntax-broken") != 0);
    ct_analysis_free(a);
    json_decref(off);
    json_decref(cfg);
    ct_traj_free(t);

    /* 3. a clean edit: nothing */
    t = run_with_edit(good, "return a - b", "return b - a");
    CHECK(ct_analyze_heuristic(t, NULL, &a, &err) == 0);
    CHECK_INT(label_of(a, 2)->label, CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* 4. the definition was already broken before the edit: not this step's fault */
    const char *broken = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b:\n    return a - b\n";
    t = run_with_edit(broken, "return a - b", "return (a - b");
    CHECK(ct_analyze_heuristic(t, NULL, &a, &err) == 0);
    CHECK(label_of(a, 2)->rule == NULL || strcmp(label_of(a, 2)->rule, "syntax-broken") != 0);
    ct_analysis_free(a);
    ct_traj_free(t);
    return check_report();
}

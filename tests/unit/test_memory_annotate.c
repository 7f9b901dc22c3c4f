/* ct_memory_annotate_analysis: a label whose rule this agent already showed in other runs gets a
 * memory note naming the entry and the count; the run the pattern was learnt from alone, another
 * agent, and a correct label get none. */
#include "check.h"
#include "ct/buf.h"
#include "ct/memory.h"

#include <stdlib.h>
#include <unistd.h>

static ct_trajectory *traj(const char *agent, const char *cmd)
{
    ct_trajectory *t = ct_traj_new("test", "t.json");
    t->agent = ct_traj_strdup(t, agent);
    for (int i = 0; i < 3; i++) {
        ct_step *s = ct_traj_add_step(t);
        s->action = ct_traj_printf(t, "%s %d", cmd, i);
        s->kind = CT_KIND_BASH;
    }
    return t;
}

static ct_analysis *labelled(const ct_trajectory *t, int step, const char *rule)
{
    ct_analysis *a = ct_analysis_new(t, "heuristic");
    ct_analysis_set_label(a, step, CT_LABEL_UNUSEFUL, rule, "a repeat", NULL, 0);
    return a;
}

int main(void)
{
    char dir[] = "/tmp/ct_annotate_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *path = ct_xasprintf("%s/m.db", dir);
    ct_memory *m = NULL;
    ct_error err;
    CHECK(ct_memory_open(path, &m, &err) == CT_OK);

    /* run A teaches the pattern */
    ct_trajectory *a_t = traj("mini-SWE-agent", "ls");
    ct_analysis *a_a = labelled(a_t, 2, "repeat-command");
    CHECK(ct_memory_learn_from_analysis(m, a_t, a_a, NULL, &err) == CT_OK);
    /* A itself: the only source is A, so nothing "other" to point at */
    CHECK_INT(ct_memory_annotate_analysis(m, a_t, a_a, &err), 0);
    CHECK(a_a->labels[1].memory_note == NULL);

    /* run B of the same agent with the same rule: one note, on that label only */
    ct_trajectory *b_t = traj("mini-SWE-agent", "cat x");
    ct_analysis *b_a = labelled(b_t, 3, "repeat-command");
    CHECK_INT(ct_memory_annotate_analysis(m, b_t, b_a, &err), 1);
    CHECK(b_a->labels[2].memory_note != NULL &&
          strstr(b_a->labels[2].memory_note, "rule 'repeat-command' labelled steps unuseful in 1 "
                                             "other run of mini-SWE-agent") != NULL);
    CHECK(b_a->labels[0].memory_note == NULL && b_a->labels[1].memory_note == NULL);
    CHECK_INT(b_a->labels[2].label, CT_LABEL_UNUSEFUL); /* labels are not changed */

    /* B learnt too: A now has one other run */
    CHECK(ct_memory_learn_from_analysis(m, b_t, b_a, NULL, &err) == CT_OK);
    CHECK_INT(ct_memory_annotate_analysis(m, a_t, a_a, &err), 1);

    /* another agent: no note */
    ct_trajectory *c_t = traj("OpenHands", "grep y");
    ct_analysis *c_a = labelled(c_t, 1, "repeat-command");
    CHECK_INT(ct_memory_annotate_analysis(m, c_t, c_a, &err), 0);

    /* no database: an error value, no crash */
    CHECK(ct_memory_annotate_analysis(NULL, c_t, c_a, &err) < 0);

    ct_analysis_free(a_a);
    ct_analysis_free(b_a);
    ct_analysis_free(c_a);
    ct_traj_free(a_t);
    ct_traj_free(b_t);
    ct_traj_free(c_t);
    ct_memory_close(m);
    char *cmd = ct_xasprintf("rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    free(cmd);
    free(path);
    return check_report();
}

/* test_stages.c — stage segmentation: the dataset's stage_ranges when present, else phases from
 * what the steps do. Expectations written by hand from the steps below. */
#include "check.h"
#include "ct/index.h"

#include <stdlib.h>

static void add(ct_trajectory *t, const char *cmd)
{
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_BASH;
    s->tool = "bash";
    s->action = ct_traj_strdup(t, cmd);
}

static void test_phases(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    add(t, "ls");                       /* 1 orient */
    add(t, "cat README.md");            /* 2 orient */
    add(t, "grep -rn parse src/");      /* 3 orient */
    add(t, "sed -i 's/a/b/' src/p.py"); /* 4 change */
    add(t, "cat src/p.py");             /* 5 a single look between changes: change */
    add(t, "sed -i 's/c/d/' src/p.py"); /* 6 change */
    add(t, "pytest -q");                /* 7 verify */
    add(t, "cd /app");                  /* 8 silent: joins verify */
    add(t, "grep -n err log.txt");      /* 9 locate */
    add(t, "echo x >> src/p.py");       /* 10 change */
    add(t, "pytest -q tests/");         /* 11 verify */
    ct_stage *st = NULL;
    size_t n = 0;
    CHECK_INT(ct_stages_segment(t, &st, &n), 0);
    CHECK_INT(n, 6);
    if (n == 6) {
        static const int ranges[6][2] = {{1, 3}, {4, 6}, {7, 8}, {9, 9}, {10, 10}, {11, 11}};
        static const char *const names[6] = {"orient", "change", "verify",
                                             "locate", "change", "verify"};
        for (int i = 0; i < 6; i++) {
            CHECK_INT(st[i].stage_id, i + 1);
            CHECK_INT(st[i].start_step_id, ranges[i][0]);
            CHECK_INT(st[i].end_step_id, ranges[i][1]);
            CHECK_STR(st[i].name, names[i]);
        }
    }
    free(st);
    ct_traj_free(t);
}

static void test_stage_ranges(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    for (int i = 0; i < 6; i++)
        add(t, "ls");
    /* as in a CodeTraceBench stage_ranges.json, with a range past the loaded steps */
    json_object_set_new(t->metadata, "stage_ranges",
                        json_pack("[{s:i,s:i,s:i},{s:i,s:i,s:i},{s:i,s:i,s:i}]", "stage", 1,
                                  "start_step_id", 1, "end_step_id", 2, "stage", 2, "start_step_id",
                                  3, "end_step_id", 5, "stage", 3, "start_step_id", 9,
                                  "end_step_id", 12));
    ct_stage *st = NULL;
    size_t n = 0;
    CHECK_INT(ct_stages_segment(t, &st, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(st[0].start_step_id, 1);
        CHECK_INT(st[0].end_step_id, 2);
        CHECK_INT(st[1].start_step_id, 3);
        CHECK_INT(st[1].end_step_id, 6); /* trailing step 6 joins the last stage */
    }
    free(st);

    /* malformed ranges are ignored: fall back to phases */
    json_object_set_new(t->metadata, "stage_ranges",
                        json_pack("[{s:s,s:i}]", "start_step_id", "one", "end_step_id", 3));
    CHECK_INT(ct_stages_segment(t, &st, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(st[0].start_step_id, 1);
        CHECK_INT(st[0].end_step_id, 6);
        CHECK_STR(st[0].name, "orient");
    }
    free(st);
    ct_traj_free(t);

    t = ct_traj_new("test", "mem");
    CHECK_INT(ct_stages_segment(t, &st, &n), 0);
    CHECK_INT(n, 0);
    CHECK(st == NULL);
    ct_traj_free(t);
}

int main(void)
{
    test_phases();
    test_stage_ranges();
    return check_report();
}

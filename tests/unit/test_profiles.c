/* Unit tests for the output profiles: building tracebench / detailed / rl_feedback from a
 * hand-made analysis, the schema validator (good files pass, each kind of broken file is
 * rejected with the JSON path of the problem), atomic writing and the derived artifacts. */
#include "check.h"
#include "ct/analysis.h"
#include "ct/profiles.h"
#include "ct/trajectory.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A 5-step trajectory whose step 2 is not counted by the benchmark (bench 0) and whose later
 * steps are renumbered (bench ids 1, 0, 2, 3, 4). */
static ct_trajectory *make_traj(void)
{
    ct_trajectory *t = ct_traj_new("test", "/tmp/none.json");
    t->id = ct_traj_strdup(t, "/tmp/none.json");
    t->task = ct_traj_strdup(t, "Fix the bug");
    static const char *const actions[] = {"ls", "cat a.py", "sed -i s/x/y/ a.py", "python a.py",
                                          "submit"};
    static const int bench[] = {1, 0, 2, 3, 4};
    for (int i = 0; i < 5; i++) {
        ct_step *s = ct_traj_add_step(t);
        s->action = ct_traj_strdup(t, actions[i]);
        s->bench_step_id = bench[i];
    }
    return t;
}

/* Labels: step 2 unuseful (bench 0: left out of tracebench), step 3 incorrect (bench 2),
 * step 4 unuseful (bench 3). Two stages: 1..2 and 3..5. */
static ct_analysis *make_analysis(const ct_trajectory *t)
{
    ct_analysis *a = ct_analysis_new(t, "heuristic");
    int ev[] = {1};
    ct_analysis_set_label(a, 2, CT_LABEL_UNUSEFUL, "repeat-read", "reads the file again", ev, 1);
    ct_analysis_set_label(a, 3, CT_LABEL_INCORRECT, "wrong-edit", "edits the wrong line", NULL, 0);
    a->labels[2].impact_severity = "critical";
    a->labels[2].deviation_type = "wrong_target";
    ct_analysis_set_label(a, 4, CT_LABEL_UNUSEFUL, "no-evidence", "runs without checking output",
                          NULL, 0);
    ct_stage st[2] = {{1, 1, 2, "orient"}, {2, 3, 5, "change"}};
    ct_analysis_set_stages(a, st, 2);
    ct_analysis_add_root_cause(a, "step 3 edited the wrong line");
    ct_analysis_add_decision(a, 3, "edit line 10", "edit line 12");
    a->correct_strategy = ct_analysis_strdup(a, "read the traceback first");
    a->summary = ct_analysis_strdup(a, "one wrong edit");
    return a;
}

static json_t *ints(json_t *arr, size_t i, const char *key)
{
    return json_object_get(json_array_get(arr, i), key);
}

static void test_build(void)
{
    ct_trajectory *t = make_traj();
    ct_analysis *a = make_analysis(t);

    /* tracebench: bench numbering; step 2 (bench 0) is left out. */
    json_t *tb = ct_profile_build(CT_PROFILE_TRACEBENCH, a);
    CHECK_INT(json_array_size(tb), 2);
    CHECK_INT(json_integer_value(ints(tb, 0, "stage_id")), 1);
    CHECK_INT(json_array_size(ints(tb, 0, "incorrect_step_ids")), 0);
    CHECK_INT(json_array_size(ints(tb, 0, "unuseful_step_ids")), 0); /* step 2 has bench 0 */
    CHECK_INT(json_array_size(ints(tb, 1, "incorrect_step_ids")), 1);
    CHECK_INT(json_integer_value(json_array_get(ints(tb, 1, "incorrect_step_ids"), 0)),
              2); /* step 3 */
    CHECK_INT(json_integer_value(json_array_get(ints(tb, 1, "unuseful_step_ids"), 0)),
              3); /* step 4 */
    size_t n;
    int *ids = ct_profile_ids(CT_PROFILE_TRACEBENCH, a, &n);
    CHECK_INT(n, 4); /* bench ids 1, 2, 3, 4 */
    CHECK_INT(ct_profile_validate(CT_PROFILE_TRACEBENCH, tb, ids, n, NULL), CT_OK);
    free(ids);

    /* detailed: step numbering, so step 2 is there. */
    json_t *d = ct_profile_build(CT_PROFILE_DETAILED, a);
    json_t *sl = json_object_get(d, "stage_labels");
    CHECK_INT(json_integer_value(json_array_get(ints(sl, 0, "unuseful_step_ids"), 0)), 2);
    CHECK_INT(json_integer_value(json_array_get(ints(sl, 1, "incorrect_step_ids"), 0)), 3);
    CHECK_INT(json_integer_value(json_array_get(ints(sl, 1, "unuseful_step_ids"), 0)), 4);
    CHECK_STR(json_string_value(json_array_get(json_object_get(d, "root_cause_chain"), 0)),
              "step 3 edited the wrong line");
    CHECK_STR(json_string_value(json_object_get(d, "summary")), "one wrong edit");
    ids = ct_profile_ids(CT_PROFILE_DETAILED, a, &n);
    CHECK_INT(n, 5);
    CHECK_INT(ct_profile_validate(CT_PROFILE_DETAILED, d, ids, n, NULL), CT_OK);

    /* rl_feedback: one element per step; the incorrect critical step gets reward -1. */
    json_t *rl = ct_profile_build(CT_PROFILE_RL_FEEDBACK, a);
    CHECK_INT(json_array_size(rl), 5);
    CHECK_STR(json_string_value(ints(rl, 2, "verdict")), "incorrect");
    CHECK_STR(json_string_value(ints(rl, 2, "deviation_type")), "wrong_target");
    CHECK(json_real_value(ints(rl, 2, "reward_signal")) == -1.0);
    CHECK(json_real_value(ints(rl, 1, "reward_signal")) < 0);
    CHECK_STR(json_string_value(ints(rl, 0, "verdict")), "correct");
    CHECK(json_number_value(ints(rl, 0, "reward_signal")) >= 0);
    CHECK_INT(ct_profile_validate(CT_PROFILE_RL_FEEDBACK, rl, ids, n, NULL), CT_OK);
    free(ids);

    json_decref(tb);
    json_decref(d);
    json_decref(rl);
    ct_analysis_free(a);
    ct_traj_free(t);
}

/* Expect `text` to be rejected for profile p (ids 1..5 known) with `where` in the message. */
static void reject(ct_profile p, const char *text, const char *where)
{
    static const int ids[] = {1, 2, 3, 4, 5};
    json_error_t je;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &je);
    CHECK(doc != NULL);
    ct_error err;
    ct_error_clear(&err);
    int rc = ct_profile_validate(p, doc, ids, 5, &err);
    CHECK_INT(rc, CT_ESCHEMA);
    if (!strstr(err.msg, where)) {
        check_failures++;
        fprintf(stderr, "rejection of %s: message \"%s\" does not mention \"%s\"\n", text, err.msg,
                where);
    }
    json_decref(doc);
}

static void accept(ct_profile p, const char *text)
{
    static const int ids[] = {1, 2, 3, 4, 5};
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
    ct_error err;
    ct_error_clear(&err);
    int rc = ct_profile_validate(p, doc, ids, 5, &err);
    CHECK_INT(rc, CT_OK);
    if (rc) fprintf(stderr, "  %s: %s\n", text, err.msg);
    json_decref(doc);
}

#define RL_OK(id, verdict, dev, rew)                                                               \
    "{\"step_id\":" #id ",\"verdict\":\"" verdict "\",\"deviation_type\":\"" dev                   \
    "\",\"correct_alternative\":\"\",\"impact_severity\":\"none\",\"reasoning\":\"r\",\"reward_"   \
    "signal\":" #rew "}"

static void test_validator(void)
{
    /* tracebench */
    accept(CT_PROFILE_TRACEBENCH, "[]");
    accept(
        CT_PROFILE_TRACEBENCH,
        "[{\"stage_id\":1,\"incorrect_step_ids\":[2],\"unuseful_step_ids\":[1,3],\"reasoning\":"
        "\"x\"},"
        "{\"stage_id\":2,\"incorrect_step_ids\":[],\"unuseful_step_ids\":[5],\"reasoning\":\"\"}]");
    reject(CT_PROFILE_TRACEBENCH, "{}", "must be a JSON array");
    reject(CT_PROFILE_TRACEBENCH,
           "[{\"stage_id\":1,\"incorrect_step_ids\":[],\"reasoning\":\"x\"}]",
           "\"unuseful_step_ids\"");
    reject(CT_PROFILE_TRACEBENCH,
           "[{\"stage_id\":\"1\",\"incorrect_step_ids\":[],\"unuseful_step_ids\":[],\"reasoning\":"
           "\"x\"}]",
           "[0].stage_id");
    reject(CT_PROFILE_TRACEBENCH,
           "[{\"stage_id\":1,\"incorrect_step_ids\":[\"2\"],\"unuseful_step_ids\":[],\"reasoning\":"
           "\"x\"}]",
           "[0].incorrect_step_ids[0]");
    reject(CT_PROFILE_TRACEBENCH,
           "[{\"stage_id\":1,\"incorrect_step_ids\":[2.5],\"unuseful_step_ids\":[],\"reasoning\":"
           "\"x\"}]",
           "must be an integer");
    reject(CT_PROFILE_TRACEBENCH,
           "[{\"stage_id\":1,\"incorrect_step_ids\":[],\"unuseful_step_ids\":[],\"reasoning\":7}]",
           "[0].reasoning");
    reject(CT_PROFILE_TRACEBENCH,
           "[{\"stage_id\":1,\"incorrect_step_ids\":[9],\"unuseful_step_ids\":[],\"reasoning\":"
           "\"x\"}]",
           "step 9, which the trajectory does not have");
    reject(CT_PROFILE_TRACEBENCH,
           "[{\"stage_id\":1,\"incorrect_step_ids\":[0],\"unuseful_step_ids\":[],\"reasoning\":"
           "\"x\"}]",
           ">= 1");
    /* a step both incorrect and unuseful, and a step in two stages */
    reject(CT_PROFILE_TRACEBENCH,
           "[{\"stage_id\":1,\"incorrect_step_ids\":[2],\"unuseful_step_ids\":[2],\"reasoning\":"
           "\"x\"}]",
           "repeats step 2");
    reject(
        CT_PROFILE_TRACEBENCH,
        "[{\"stage_id\":1,\"incorrect_step_ids\":[2],\"unuseful_step_ids\":[],\"reasoning\":\"x\"},"
        "{\"stage_id\":2,\"incorrect_step_ids\":[2],\"unuseful_step_ids\":[],\"reasoning\":\"x\"}]",
        "[1].incorrect_step_ids[0]");
    reject(
        CT_PROFILE_TRACEBENCH,
        "[{\"stage_id\":1,\"incorrect_step_ids\":[],\"unuseful_step_ids\":[],\"reasoning\":\"x\"},"
        "{\"stage_id\":1,\"incorrect_step_ids\":[],\"unuseful_step_ids\":[],\"reasoning\":\"x\"}]",
        "repeats a stage id");

    /* detailed */
    const char *good_d =
        "{\"root_cause_chain\":[\"a\"],\"critical_decision_points\":[{\"step_id\":3,"
        "\"decision\":\"d\",\"should_have\":\"s\"}],\"correct_strategy\":\"c\","
        "\"stage_labels\":[{\"stage_id\":1,\"incorrect_step_ids\":[3],"
        "\"unuseful_step_ids\":[],\"reasoning\":\"x\"}],\"summary\":\"s\"}";
    accept(CT_PROFILE_DETAILED, good_d);
    reject(CT_PROFILE_DETAILED, "[]", "must be a JSON object");
    reject(CT_PROFILE_DETAILED,
           "{\"root_cause_chain\":[],\"critical_decision_points\":[],\"correct_strategy\":\"c\","
           "\"stage_labels\":[]}",
           "\"summary\"");
    reject(CT_PROFILE_DETAILED,
           "{\"root_cause_chain\":\"a\",\"critical_decision_points\":[],\"correct_strategy\":\"c\","
           "\"stage_labels\":[],\"summary\":\"s\"}",
           "root_cause_chain");
    reject(CT_PROFILE_DETAILED,
           "{\"root_cause_chain\":[1],\"critical_decision_points\":[],\"correct_strategy\":\"c\","
           "\"stage_labels\":[],\"summary\":\"s\"}",
           "root_cause_chain[0]");
    reject(
        CT_PROFILE_DETAILED,
        "{\"root_cause_chain\":[],\"critical_decision_points\":[{\"step_id\":7,\"decision\":\"d\","
        "\"should_have\":\"s\"}],\"correct_strategy\":\"c\",\"stage_labels\":[],\"summary\":\"s\"}",
        "critical_decision_points[0].step_id");
    reject(CT_PROFILE_DETAILED,
           "{\"root_cause_chain\":[],\"critical_decision_points\":[{\"step_id\":1,\"decision\":"
           "\"d\"}],"
           "\"correct_strategy\":\"c\",\"stage_labels\":[],\"summary\":\"s\"}",
           "\"should_have\"");
    reject(CT_PROFILE_DETAILED,
           "{\"root_cause_chain\":[],\"critical_decision_points\":[],\"correct_strategy\":null,"
           "\"stage_labels\":[],\"summary\":\"s\"}",
           "correct_strategy");
    reject(CT_PROFILE_DETAILED,
           "{\"root_cause_chain\":[],\"critical_decision_points\":[],\"correct_strategy\":\"c\","
           "\"stage_labels\":{},\"summary\":\"s\"}",
           "stage_labels");

    /* rl_feedback: ids 1..5 need one element each */
    const char *good_rl =
        "[" RL_OK(1, "correct", "none", 1.0) "," RL_OK(2, "unuseful", "redundant", -0.2) "," RL_OK(
            3, "incorrect", "wrong_target",
            -1) "," RL_OK(4, "correct", "none", 0) "," RL_OK(5, "correct", "none", 0.5) "]";
    accept(CT_PROFILE_RL_FEEDBACK, good_rl);
    reject(CT_PROFILE_RL_FEEDBACK,
           "[" RL_OK(1, "correct", "none", 1.0) "," RL_OK(2, "unuseful", "redundant", -0.2) "]",
           "no element for step 3");
    reject(CT_PROFILE_RL_FEEDBACK, "[" RL_OK(1, "correct", "none", 1.5) "]", "[0].reward_signal");
    reject(CT_PROFILE_RL_FEEDBACK, "[" RL_OK(1, "incorrect", "wrong_tool", -1.01) "]",
           "within [-1, 1]");
    reject(CT_PROFILE_RL_FEEDBACK, "[" RL_OK(1, "correct", "none", -0.5) "]", "for a correct step");
    reject(CT_PROFILE_RL_FEEDBACK, "[" RL_OK(1, "correct", "wrong_tool", 0.5) "]",
           "must be \"none\"");
    reject(CT_PROFILE_RL_FEEDBACK, "[" RL_OK(1, "wrong", "none", 0.5) "]", "[0].verdict");
    reject(CT_PROFILE_RL_FEEDBACK, "[" RL_OK(1, "incorrect", "typo", -0.5) "]",
           "[0].deviation_type");
    reject(CT_PROFILE_RL_FEEDBACK, "[" RL_OK(1, "correct", "none", "0.5") "]", "must be a number");
    reject(CT_PROFILE_RL_FEEDBACK,
           "[" RL_OK(1, "correct", "none", 0.5) "," RL_OK(1, "correct", "none", 0.5) "]",
           "repeats step 1");
    reject(CT_PROFILE_RL_FEEDBACK, "[" RL_OK(6, "correct", "none", 0.5) "]", "step 6");
    reject(CT_PROFILE_RL_FEEDBACK,
           "[{\"step_id\":1,\"verdict\":\"correct\",\"deviation_type\":\"none\",\"correct_"
           "alternative\":\"\","
           "\"impact_severity\":\"huge\",\"reasoning\":\"r\",\"reward_signal\":0.5}]",
           "[0].impact_severity");
    reject(CT_PROFILE_RL_FEEDBACK,
           "[{\"step_id\":1,\"verdict\":\"correct\",\"deviation_type\":\"none\",\"correct_"
           "alternative\":\"\","
           "\"impact_severity\":\"none\",\"reward_signal\":0.5}]",
           "\"reasoning\"");

    /* Without an id list only the schema is checked; bad names and parse errors still fail. */
    json_t *doc =
        json_loads("[{\"stage_id\":1,\"incorrect_step_ids\":[99],\"unuseful_step_ids\":[],"
                   "\"reasoning\":\"x\"}]",
                   0, NULL);
    CHECK_INT(ct_profile_validate(CT_PROFILE_TRACEBENCH, doc, NULL, 0, NULL), CT_OK);
    json_decref(doc);
    ct_profile pr;
    CHECK(ct_profile_from_name("nope", &pr) == -1);
    unsigned m;
    CHECK(ct_profile_parse_mask("tracebench,rl_feedback", &m) == 0 &&
          m == (CT_PROFILE_BIT(CT_PROFILE_TRACEBENCH) | CT_PROFILE_BIT(CT_PROFILE_RL_FEEDBACK)));
    CHECK(ct_profile_parse_mask("all", &m) == 0 && m == CT_PROFILE_ALL);
    CHECK(ct_profile_parse_mask("detailed,", &m) == 0 && m == CT_PROFILE_BIT(CT_PROFILE_DETAILED));
    CHECK(ct_profile_parse_mask("detailed,x", &m) == -1);
    CHECK(ct_profile_parse_mask("", &m) == -1);
}

static void test_write(void)
{
    char tmpl[] = "/tmp/ct_profiles_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir) return;
    ct_trajectory *t = make_traj();
    ct_analysis *a = make_analysis(t);
    ct_error err;
    ct_error_clear(&err);
    CHECK_INT(ct_profile_write(dir, CT_PROFILE_ALL, a, &err), CT_OK);
    for (int p = 0; p < CT_PROFILE__COUNT; p++)
        CHECK_INT(ct_profile_check_file(dir, (ct_profile)p, &err), CT_OK);
    t->steps[0].action = ct_traj_strdup(t, "ls \xff"); /* invalid UTF-8 from a terminal log */
    CHECK_INT(ct_profile_write_artifacts(dir, t, a->stages, a->n_stages, "root\n", &err), CT_OK);
    /* No temporary file is left behind; exactly the 3 profiles + 4 artifacts exist. */
    DIR *d = opendir(dir);
    int files = 0, tmps = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        files++;
        if (strstr(e->d_name, ".tmp.")) tmps++;
    }
    if (d) closedir(d);
    CHECK_INT(files, 7);
    CHECK_INT(tmps, 0);
    /* stage_ranges.json holds the two stages given. */
    char path[512];
    snprintf(path, sizeof path, "%s/stage_ranges.json", dir);
    json_t *sr = json_load_file(path, 0, NULL);
    CHECK_INT(json_array_size(sr), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(sr, 1), "start_step_id")), 3);
    json_decref(sr);
    snprintf(path, sizeof path, "%s/steps.json", dir);
    json_t *steps = json_load_file(path, 0, NULL);
    CHECK_INT(json_array_size(steps), 5);
    CHECK_STR(json_string_value(json_object_get(json_array_get(steps, 0), "action")),
              "ls \xEF\xBF\xBD");
    CHECK_STR(json_string_value(json_object_get(json_array_get(steps, 2), "action")),
              "sed -i s/x/y/ a.py");
    json_decref(steps);
    /* A broken file on disk is reported by check_file. */
    snprintf(path, sizeof path, "%s/codetracer_rl_feedback.json", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("[{\"step_id\": 1}]", f);
        fclose(f);
    }
    CHECK_INT(ct_profile_check_file(dir, CT_PROFILE_RL_FEEDBACK, &err), CT_ESCHEMA);
    /* Writing into a folder that does not exist fails with an error, not a crash. */
    snprintf(path, sizeof path, "%s/missing/sub", dir);
    CHECK_INT(ct_profile_write(path, CT_PROFILE_ALL, a, &err), CT_EIO);
    CHECK(strstr(err.path, "missing") != NULL);
    ct_analysis_free(a);
    ct_traj_free(t);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* Odd analyses still give files that validate and carry every label exactly once: overlapping
 * stages (1..2, 2..3), a labelled step no stage covers (5), a repeated stage id, and two steps
 * sharing a bench id (4 and 5 both bench 3). */
static void test_odd_stages(void)
{
    ct_trajectory *t = make_traj();
    t->steps[4].bench_step_id = 3;
    ct_analysis *a = ct_analysis_new(t, "heuristic");
    ct_analysis_set_label(a, 2, CT_LABEL_UNUSEFUL, "r", "x", NULL, 0);
    ct_analysis_set_label(a, 4, CT_LABEL_INCORRECT, "r", "y", NULL, 0);
    ct_analysis_set_label(a, 5, CT_LABEL_INCORRECT, "r", "z", NULL, 0);
    ct_stage st[2] = {{1, 1, 2, NULL}, {1, 2, 3, NULL}};
    ct_analysis_set_stages(a, st, 2);
    for (int p = 0; p < CT_PROFILE__COUNT; p++) {
        json_t *doc = ct_profile_build((ct_profile)p, a);
        size_t n;
        int *ids = ct_profile_ids((ct_profile)p, a, &n);
        ct_error err;
        ct_error_clear(&err);
        CHECK_INT(ct_profile_validate((ct_profile)p, doc, ids, n, &err), CT_OK);
        if (err.msg[0]) fprintf(stderr, "  %s\n", err.msg);
        free(ids);
        if (p == CT_PROFILE_DETAILED) {
            /* stage 1: step 2; stage 2 (renumbered from the repeated 1): nothing new; extra
             * stage 3: steps 4 and 5, which no stage covered. */
            json_t *sl = json_object_get(doc, "stage_labels");
            CHECK_INT(json_array_size(sl), 3);
            CHECK_INT(json_integer_value(ints(sl, 1, "stage_id")), 2);
            CHECK_INT(json_array_size(ints(sl, 1, "unuseful_step_ids")), 0);
            CHECK_INT(json_integer_value(ints(sl, 2, "stage_id")), 3);
            CHECK_INT(json_array_size(ints(sl, 2, "incorrect_step_ids")), 2);
        }
        if (p == CT_PROFILE_TRACEBENCH) {
            /* bench: step 2 has bench 0 (left out); steps 4 and 5 share bench 3: listed once. */
            json_t *last = json_array_get(doc, json_array_size(doc) - 1);
            CHECK_INT(json_array_size(json_object_get(last, "incorrect_step_ids")), 1);
            CHECK_INT(
                json_integer_value(json_array_get(json_object_get(last, "incorrect_step_ids"), 0)),
                3);
        }
        json_decref(doc);
    }
    ct_analysis_free(a);
    ct_traj_free(t);
}

int main(void)
{
    test_build();
    test_odd_stages();
    test_validator();
    test_write();
    return check_report();
}

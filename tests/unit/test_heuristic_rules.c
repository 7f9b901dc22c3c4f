/* test_heuristic_rules.c — each rule of the offline analyzer fires on a trajectory built to
 * trigger it and stays silent on a near-identical one built not to. Expected labels are written
 * by hand from the steps below. */
#include "check.h"
#include "steps.h"
#include "ct/config.h"
#include "ct/heuristic.h"

#include <string.h>

static void test_repeat(void)
{
    /* ls, cat, ls again with nothing changed → step 3 unuseful */
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "ls -la", "a.py\nb.py\n", 0);
    bash(t, "cat a.py", "x = 1\n", 0);
    bash(t, "ls  -la", "a.py\nb.py\n", 0);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 3), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 3), "repeat-command");
    CHECK_INT(a->labels[2].n_evidence, 2);
    CHECK_INT(a->labels[2].evidence[0], 1);
    CHECK(strstr(a->labels[2].reasoning, "step 1") != NULL);
    CHECK_STR(a->labels[2].deviation_type, "redundant");
    CHECK(a->labels[2].reward < 0 && a->labels[2].reward >= -1);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* same, but the tree is changed in between by a command whose effect is not spelled out
     * (a mkdir/mv/cp, see test_heuristic_attribution.c for the agent's own known writes) → the
     * second ls is new evidence */
    t = ct_traj_new("test", "mem");
    bash(t, "ls -la", "a.py\nb.py\n", 0);
    bash(t, "mkdir c", "", 0);
    bash(t, "ls -la", "a.py\nb.py\nc\n", 0);
    a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static ct_step *view(ct_trajectory *t, const char *path, long from, long to)
{
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_READ;
    s->tool = "str_replace_editor";
    s->action = ct_traj_printf(t, "str_replace_editor view %s [%ld, %ld]", path, from, to);
    s->observation = "     1\tx = 1\n";
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = ct_traj_strdup(t, path);
    f->op = "view";
    f->line_start = from;
    f->line_end = to;
    return s;
}

static void test_reread(void)
{
    /* the whole file, then a range of it: nothing new */
    ct_trajectory *t = ct_traj_new("test", "mem");
    view(t, "/r/a.py", 0, 0);
    view(t, "/r/a.py", 10, 20);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 2), "repeat-command");
    ct_analysis_free(a);
    ct_traj_free(t);

    /* a range first, then the whole file: new lines; and a re-view after an edit */
    t = ct_traj_new("test", "mem");
    view(t, "/r/a.py", 10, 20);
    view(t, "/r/a.py", 0, 0);
    edit(t, "/r/a.py", "x = 1", "x = 2", "The file /r/a.py has been edited.");
    view(t, "/r/a.py", 0, 0);
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 4), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_retry_failure(void)
{
    /* an edit rejected twice with the same payload: the retry is unuseful */
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "cat a.py", "x = 1\n", 0);
    edit(t, "/r/a.py", "x = 2", "x = 3", "ERROR: No replacement was performed, old_str not found");
    edit(t, "/r/a.py", "x = 2", "x = 3", "ERROR: No replacement was performed, old_str not found");
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 3), "retry-failure");
    ct_analysis_free(a);
    ct_traj_free(t);

    /* the second edit uses the right text and succeeds → not a retry */
    t = ct_traj_new("test", "mem");
    bash(t, "cat a.py", "x = 1\n", 0);
    edit(t, "/r/a.py", "x = 2", "x = 3", "ERROR: No replacement was performed, old_str not found");
    edit(t, "/r/a.py", "x = 1", "x = 3", "The file /r/a.py has been edited.");
    a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_retry_after_fix(void)
{
    /* fails for a missing module, the module is installed, the same command now works */
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "perl tool.pl in.7z > hash.txt", "Can't locate Compress/Raw/Lzma.pm in @INC", 2);
    bash(t, "apt install -y libcompress-raw-lzma-perl", "Setting up libcompress-raw-lzma-perl", 0);
    bash(t, "perl tool.pl in.7z > hash.txt", "", 0);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* an install repeated unchanged with nothing fixed in between, failing the same way */
    t = ct_traj_new("test", "mem");
    bash(t, "pip install pkg.whl", "error: externally-managed-environment", 1);
    bash(t, "pip install pkg.whl", "error: externally-managed-environment", 1);
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 2), "retry-failure");
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_failed_action(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "ls src/lib", "ls: cannot access 'src/lib': No such file or directory", 2);
    bash(t, "python -c 'print(1)' )", "bash: syntax error near unexpected token `)'", 2);
    bash(t, "python3 repro.py", "Traceback (most recent call last):\nValueError: bad", 1);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 1), "failed-action");
    CHECK_INT(label(a, 2), CT_LABEL_UNUSEFUL);
    /* a reproduction script that fails is evidence, not waste */
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_failed_edits(void)
{
    /* a rejected edit is a normal first try; the next rejected edit of the same file is waste */
    ct_trajectory *t = ct_traj_new("test", "mem");
    edit(t, "/r/a.tsx", "const a = 1", "const a = 2", "ERROR:\nNo replacement was performed.");
    edit(t, "/r/a.tsx", "const a=1", "const a = 2", "[No exact match found in /r/a.tsx]");
    edit(t, "/r/a.tsx", "let a = 1", "let a = 2", "The file /r/a.tsx has been edited.");
    edit(t, "/r/b.tsx", "x", "y", "ERROR:\nNo replacement was performed.");
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 2), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 2), "failed-action");
    CHECK_INT(a->labels[1].n_evidence, 2);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 4), CT_LABEL_CORRECT); /* first try on another file */
    ct_analysis_free(a);
    ct_traj_free(t);

    /* shell: exit 127 ran nothing; "command not found" inside a script that went on did run;
     * `:` is a no-op */
    t = ct_traj_new("test", "mem");
    bash(t, ":/app && ls -la", "bash: :/app: No such file or directory", 127);
    bash(t, ",\npython gen.py", "bash: line 1: ,: command not found\nwrote out.txt", 1);
    bash(t, ":", "", 0);
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 1), "failed-action");
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 3), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 3), "empty-action");
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_install_loop(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "pip install numpy==9.9", "ERROR: No matching distribution found for numpy==9.9", 1);
    bash(t, "pip install numpy==9.8", "ERROR: No matching distribution found for numpy==9.8", 1);
    bash(t, "pip install numpy", "Successfully installed numpy-2.0", 0);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 2), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 2), "install-loop");
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_reverted(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    edit(t, "/r/src/m.py", "a", "b", "The file /r/src/m.py has been edited.");
    bash(t, "git checkout -- src/m.py", "", 0);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 1), "reverted-edit");
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* a checkout of another file leaves the edit alone */
    t = ct_traj_new("test", "mem");
    edit(t, "/r/src/m.py", "a", "b", "The file /r/src/m.py has been edited.");
    bash(t, "git checkout -- src/other.py", "", 0);
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* a script written, run (fails), rewritten → the first version was wrong */
    t = ct_traj_new("test", "mem");
    bash(t, "cat > /app/solve.py <<'EOF'\nprint(1/0)\nEOF", "", 0);
    bash(t, "python3 /app/solve.py", "ZeroDivisionError: division by zero", 1);
    bash(t, "cat > /app/solve.py <<'EOF'\nprint(1)\nEOF", "", 0);
    bash(t, "python3 /app/solve.py", "1", 0);
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 1), "reverted-edit");
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* a small edit, a failing run, then a rewrite that keeps the edit and extends it */
    t = ct_traj_new("test", "mem");
    bash(t, "sed -i 's/-> float/-> float:/' tests/m.py", "", 0);
    bash(t, "python3 tests/m.py", "ZeroDivisionError: division by zero", 1);
    bash(t, "cat > tests/m.py <<'EOF'\ndef f(a, b) -> float:\n    return a / b if b else 0\nEOF",
         "", 0);
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* a failing run of another program says nothing about the file */
    t = ct_traj_new("test", "mem");
    bash(t, "cat > /app/solve.py <<'EOF'\nprint(1)\nEOF", "", 0);
    bash(t, "python3 /app/other.py", "Traceback (most recent call last):", 1);
    bash(t, "cat > /app/solve.py <<'EOF'\nprint(2)\nEOF", "", 0);
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* rewritten after a successful run: an improvement, not a mistake */
    t = ct_traj_new("test", "mem");
    bash(t, "cat > /app/solve.py <<'EOF'\nprint(1)\nEOF", "", 0);
    bash(t, "python3 /app/solve.py", "1", 0);
    bash(t, "cat > /app/solve.py <<'EOF'\nprint(2)\nEOF", "", 0);
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_regression(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "pytest tests/test_core.py", "===== 5 passed in 0.1s =====", 0);
    edit(t, "/r/src/core.py", "return a", "return b", "The file /r/src/core.py has been edited.");
    bash(t, "pytest tests/test_core.py", "===== 2 failed, 3 passed in 0.1s =====", 1);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 2), "regression");
    CHECK_STR(a->labels[1].impact_severity, "critical");
    CHECK(a->n_root_cause >= 1);
    CHECK(a->n_decisions >= 1 && a->decisions[0].step_id == 2);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* the tests failed before the edit too: no regression */
    t = ct_traj_new("test", "mem");
    bash(t, "pytest tests/test_core.py", "===== 2 failed, 3 passed in 0.1s =====", 1);
    edit(t, "/r/src/core.py", "return a", "return b", "The file /r/src/core.py has been edited.");
    bash(t, "pytest tests/test_core.py", "===== 2 failed, 3 passed in 0.1s =====", 1);
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_outside_patch(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    edit(t, "/testbed/src/a.py", "x", "y", "edited");
    edit(t, "/testbed/src/b.py", "x", "y", "edited");
    bash(t, "submit", "", 0)->kind = CT_KIND_SUBMIT;
    t->final_patch = "diff --git a/src/a.py b/src/a.py\n--- a/src/a.py\n+++ b/src/a.py\n";
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 2), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 2), "outside-patch");
    ct_analysis_free(a);
    ct_traj_free(t);

    /* no final patch: the rule cannot judge */
    t = ct_traj_new("test", "mem");
    edit(t, "/testbed/src/a.py", "x", "y", "edited");
    edit(t, "/testbed/src/b.py", "x", "y", "edited");
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_after_done_and_submit(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "sed -i 's/a/b/' /app/x.py", "", 0);
    bash(t, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached",
         "diff --git a/x.py b/x.py", 0);
    bash(t, "cat /app/x.py", "b", 0);
    t->solved = CT_FALSE;
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 2), "failed-submit");
    CHECK_STR(a->labels[1].deviation_type, "premature_conclusion");
    CHECK_INT(label(a, 3), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 3), "after-done");
    CHECK(a->n_root_cause >= 2); /* the step, then the outcome */
    ct_analysis_free(a);
    ct_traj_free(t);

    /* solved run, nothing after the submit: all correct */
    t = ct_traj_new("test", "mem");
    bash(t, "sed -i 's/a/b/' /app/x.py", "", 0);
    bash(t, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached",
         "diff --git a/x.py b/x.py", 0);
    t->solved = CT_TRUE;
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    CHECK(a->n_root_cause == 0);
    CHECK(a->summary && strstr(a->summary, "0 incorrect"));
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_weakened_test(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    edit(t, "/r/pkg/tests/test_api.py", "    assert f() == 1", "    assert f() == 2", "edited");
    edit(t, "/r/pkg/api.py", "return 2", "return 1", "edited");
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 1), "weakened-test");
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_rewritten_test(void)
{
    /* tests fail, then a script rewrites the existing test file's expectations, then submit */
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "pytest pkg/tests/test_api.py", "==== 1 failed, 4 passed ====", 1);
    bash(t,
         "cat <<'EOF' > fix_tests.py\ntext = open('pkg/tests/test_api.py').read()\n"
         "text = text.replace('old message', 'new message')\n"
         "open('pkg/tests/test_api.py', 'w').write(text)\nEOF\npython fix_tests.py",
         "", 0);
    bash(t, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached",
         "diff --git a/pkg/tests/test_api.py b/pkg/tests/test_api.py", -1);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 2), "weakened-test");
    CHECK(strstr(a->labels[1].reasoning, "step 1") != NULL);
    CHECK_INT(label(a, 3), CT_LABEL_INCORRECT); /* submits on top of it */
    CHECK_STR(rule(a, 3), "failed-submit");
    ct_analysis_free(a);
    ct_traj_free(t);

    /* the same script writing the agent's own new test file is fine */
    t = ct_traj_new("test", "mem");
    bash(t, "pytest pkg/tests/test_api.py", "==== 1 failed, 4 passed ====", 1);
    bash(t, "cat > pkg/tests/test_new.py <<'EOF'\ndef test_x():\n    assert 1\nEOF", "", 0);
    bash(t,
         "python -c \"t = open('pkg/tests/test_new.py').read().replace('1', '2'); "
         "open('pkg/tests/test_new.py', 'w').write(t)\"",
         "", 0);
    a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_garbled_write(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_CREATE;
    s->tool = "Write";
    s->action = "Write ,";
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = ",";
    f->op = "create";
    f->content = "syntax =";
    s = ct_traj_add_step(t);
    s->kind = CT_KIND_CREATE;
    s->tool = "Write";
    s->action = "Write /app/kv.proto";
    f = ct_step_add_file(t, s);
    f->path = "/app/kv.proto";
    f->op = "create";
    f->content = ",";
    s = ct_traj_add_step(t);
    s->kind = CT_KIND_CREATE;
    s->tool = "Write";
    s->action = "Write /app/kv.proto";
    f = ct_step_add_file(t, s);
    f->path = "/app/kv.proto";
    f->op = "create";
    f->content = "syntax = \"proto3\";\n";
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 1), "garbled-write");
    CHECK_INT(label(a, 2), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 2), "garbled-write");
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_missing_program(void)
{
    /* a well-formed call of a program that is not installed teaches something */
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "cd /tmp && curl -O https://example.org/get.py", "/bin/sh: 1: curl: not found", 127);
    bash(t, "grep -n 'class A' pkg/a.py", "", 1);
    bash(t, "grep -n 'class A' pkg/b.py", "12:class A:", 0);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    /* an empty search followed by a search elsewhere is not a miss */
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_unsolved_final(void)
{
    /* unsolved: the last write of the deliverable is wrong; the scratch script and the earlier
     * version are not flagged by this rule */
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "cat > /app/solve.py <<'EOF'\nprint(1)\nEOF", "", 0);
    bash(t, "python3 /app/solve.py", "1", 0);
    bash(t, "cat > /app/reproduce.py <<'EOF'\nprint(2)\nEOF", "", 0);
    bash(t, "cat > /app/solve.py <<'EOF'\nprint(3)\nEOF", "", 0);
    t->solved = CT_FALSE;
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 4), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 4), "unsolved-final");
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    /* solved or unknown outcome: silent */
    t->solved = CT_UNKNOWN;
    a = run(t);
    CHECK_INT(label(a, 4), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    t->solved = CT_TRUE;
    a = run(t);
    CHECK_INT(label(a, 4), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_unused_explore(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "find / -name '*externally-managed*'", "", 1);
    bash(t, "find / -iname '*externally-managed*'", "/usr/lib/python3/EXTERNALLY-MANAGED\n", 0);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 1), "unused-explore");
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* an empty grep that is not redone is a real finding (absence) */
    t = ct_traj_new("test", "mem");
    bash(t, "grep -rn old_name src/", "", 1);
    bash(t, "pytest -q", "3 passed", 0);
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static void test_config_switches(void)
{
    /* rule switches and thresholds come from the configuration */
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "ls", "a\n", 0);
    bash(t, "ls", "a\n", 0);
    json_t *cfg = ct_config_defaults();
    json_t *over = json_pack("{s:{s:{s:b}}}", "heuristic", "repeat", "enabled", 0);
    ct_config_merge(cfg, over);
    json_decref(over);
    ct_analysis *a = NULL;
    CHECK_INT(ct_analyze_heuristic(t, cfg, &a, NULL), 0);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    json_decref(cfg);
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_UNUSEFUL);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* threshold: with min_repeats 3 only the third identical `ls` is flagged */
    t = ct_traj_new("test", "mem");
    bash(t, "ls", "a\n", 0);
    bash(t, "ls", "a\n", 0);
    bash(t, "ls", "a\n", 0);
    cfg = ct_config_defaults();
    over = json_pack("{s:{s:{s:i}}}", "heuristic", "repeat", "min_repeats", 3);
    ct_config_merge(cfg, over);
    json_decref(over);
    CHECK_INT(ct_analyze_heuristic(t, cfg, &a, NULL), 0);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 3), CT_LABEL_UNUSEFUL);
    ct_analysis_free(a);
    json_decref(cfg);
    ct_traj_free(t);

    /* empty trajectory: no labels, no crash */
    t = ct_traj_new("test", "mem");
    a = run(t);
    CHECK_INT(a->n_labels, 0);
    CHECK(a->summary != NULL);
    ct_analysis_free(a);
    ct_traj_free(t);
}

int main(void)
{
    test_repeat();
    test_reread();
    test_retry_failure();
    test_retry_after_fix();
    test_failed_action();
    test_failed_edits();
    test_install_loop();
    test_reverted();
    test_regression();
    test_outside_patch();
    test_after_done_and_submit();
    test_weakened_test();
    test_rewritten_test();
    test_garbled_write();
    test_missing_program();
    test_unsolved_final();
    test_unused_explore();
    test_config_switches();
    return check_report();
}

/* test_heuristic_attribution.c — who gets the blame: reverts are not blamed and undo what they
 * revert, a regression goes to the change still in effect (the file the failure names), runs
 * that only print do not count as state changes for the repeat rule, the outcome rules stay
 * silent on an unknown outcome, and a first edit with broken code is a fumble. Every trajectory
 * below is written by hand; the expected labels are read off the steps. */
#include "check.h"
#include "steps.h"
#include "ct/heuristic.h"

#include <string.h>

/* A `sed -i` edit as the mini-SWE-agent loader records it (file touch op "sed"). */
static ct_step *sed(ct_trajectory *t, const char *cmd, const char *path)
{
    ct_step *s = bash(t, cmd, "", 0);
    s->kind = CT_KIND_EDIT;
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = ct_traj_strdup(t, path);
    f->op = "sed";
    return s;
}

static const char *PASS = "........\n8 passed in 0.2s\n";
static const char *FAIL_TEXT = "...F....\nFAILED tests/test_text.py::test_cap\n"
                               "src/pkg/text.py:14: AssertionError\n1 failed, 7 passed\n";

/* pass, wrong edit of html.py, revert of html.py, edit of text.py, fail: the revert is not
 * blamed, the reverted edit is (reverted-edit), the failure goes to text.py's edit */
static void test_revert_not_blamed(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "python -m pytest tests/test_text.py -q", PASS, 0);
    sed(t, "sed -i 's/a/b/' src/pkg/html.py", "src/pkg/html.py");
    bash(t, "git checkout -- src/pkg/html.py", "", 0);
    sed(t, "sed -i '10i\\    x = str(x).strip()' src/pkg/text.py", "src/pkg/text.py");
    bash(t, "python -m pytest tests/test_text.py -q", FAIL_TEXT, 1);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 2), "reverted-edit");
    CHECK(strstr(a->labels[1].reasoning, "step 3") != NULL);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 4), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 4), "regression");
    CHECK_INT(a->labels[3].n_evidence, 3);
    CHECK_INT(a->labels[3].evidence[0], 1);
    CHECK_INT(a->labels[3].evidence[2], 5);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* `git restore F` is a revert too; the edit and its revert are net zero, so the failure
     * (caused by something else: the environment) is blamed on nobody */
    t = ct_traj_new("test", "mem");
    bash(t, "python -m pytest tests/test_text.py -q", PASS, 0);
    edit(t, "/r/src/pkg/html.py", "return a", "return b", "The file has been edited.");
    bash(t, "git restore src/pkg/html.py", "", 0);
    bash(t, "python -m pytest tests/test_text.py -q", FAIL_TEXT, 1);
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 2), "reverted-edit");
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* `git restore --staged F` only unstages: not a revert */
    t = ct_traj_new("test", "mem");
    edit(t, "/r/src/pkg/html.py", "return a", "return b", "The file has been edited.");
    bash(t, "git restore --staged src/pkg/html.py", "", 0);
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

/* an edit whose new text is an earlier edit's old text (and the reverse) undoes it */
static void test_inverse_edit(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    edit(t, "/r/src/m.py", "return x[0]", "return x[:1]", "The file has been edited.");
    edit(t, "/r/src/m.py", "return  x[:1]", "return x[0]", "The file has been edited.");
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 1), "reverted-edit");
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* a follow-up edit of the same text that goes further is not an undo */
    t = ct_traj_new("test", "mem");
    edit(t, "/r/src/m.py", "return x[0]", "return x[:1]", "The file has been edited.");
    edit(t, "/r/src/m.py", "return x[:1]", "return x[:1].upper()", "The file has been edited.");
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* undo_edit through the editor tool */
    t = ct_traj_new("test", "mem");
    edit(t, "/r/src/m.py", "return x[0]", "return x[:1]", "The file has been edited.");
    ct_step *s = bash(t, "str_replace_editor undo_edit /r/src/m.py", "Last edit undone.", -1);
    s->tool = "str_replace_editor";
    s->kind = CT_KIND_EDIT;
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = "/r/src/m.py";
    f->op = "undo_edit";
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 1), "reverted-edit");
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

/* two changes remain in effect: the one to the file the failure names is blamed; when the
 * failure names none of them, only the last change is */
static void test_regression_attribution(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "python -m pytest tests/test_text.py -q", PASS, 0);
    edit(t, "/r/src/pkg/text.py", "return a", "return b", "The file has been edited.");
    edit(t, "/r/src/pkg/html.py", "return c", "return d", "The file has been edited.");
    bash(t, "python -m pytest tests/test_text.py -q", FAIL_TEXT, 1);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 2), "regression");
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* the failure names no changed file (context.py is not text.py, and test_text.py is not
     * text.py either) → the last change */
    t = ct_traj_new("test", "mem");
    bash(t, "python -m pytest tests/test_text.py -q", PASS, 0);
    edit(t, "/r/src/pkg/text.py", "return a", "return b", "The file has been edited.");
    edit(t, "/r/src/pkg/html.py", "return c", "return d", "The file has been edited.");
    bash(t, "python -m pytest tests/test_text.py -q",
         "FAILED tests/test_text.py::test_cap\nsrc/pkg/context.py:3: KeyError\n1 failed", 1);
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 3), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 3), "regression");
    ct_analysis_free(a);
    ct_traj_free(t);
}

/* a search repeated with only a print-only `python -c` and a test run in between: nothing
 * changed, the repeat is unuseful; an inline program that writes a file, or a script run by
 * name, may have changed what the search finds */
static void test_repeat_across_runs(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "grep -rn \"def capfirst\" src/", "src/pkg/text.py:8:def capfirst(x):\n", 0);
    bash(t, "python -c \"from pkg.text import capfirst; print(capfirst(''))\"",
         "Traceback (most recent call last):\nIndexError: string index out of range", 1);
    bash(t, "python -m pytest tests/test_text.py -q", PASS, 0);
    bash(t, "grep -rn \"def capfirst\" src/", "src/pkg/text.py:8:def capfirst(x):\n", 0);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 4), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 4), "repeat-command");
    CHECK_INT(a->labels[3].evidence[0], 1);
    ct_analysis_free(a);
    ct_traj_free(t);

    t = ct_traj_new("test", "mem");
    bash(t, "grep -rn \"def capfirst\" src/", "src/pkg/text.py:8:def capfirst(x):\n", 0);
    bash(t, "python -c \"open('src/pkg/extra.py', 'w').write('def capfirst(y): pass')\"", "", 0);
    bash(t, "grep -rn \"def capfirst\" src/",
         "src/pkg/text.py:8:def capfirst(x):\nsrc/pkg/extra.py:1:def capfirst(y): pass\n", 0);
    a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    t = ct_traj_new("test", "mem");
    bash(t, "ls out/", "", 0);
    bash(t, "python generate.py", "done\n", 0);
    bash(t, "ls out/", "a.csv\n", 0);
    a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* a shell given an inline program may run anything */
    t = ct_traj_new("test", "mem");
    bash(t, "ls out/", "", 0);
    bash(t, "sh -c \"cd gen && python -c 'import gen; gen.main()'\"", "done\n", 0);
    bash(t, "ls out/", "a.csv\n", 0);
    a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

/* unsolved-final and failed-submit need a verdict: silent when the outcome is unknown, fire
 * when it is known bad (solved = false, or a recorded reward of 0), silent when solved */
static void test_outcome_rules(void)
{
    for (int v = 0; v < 4; v++) {
        ct_trajectory *t = ct_traj_new("test", "mem");
        bash(t, "cat > /app/solve.py <<'EOF'\nprint(3)\nEOF", "", 0);
        bash(t, "python3 /app/solve.py", "3\n", 0);
        bash(t, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", "", 0);
        t->solved = v == 0 ? CT_UNKNOWN : v == 1 ? CT_FALSE : v == 2 ? CT_UNKNOWN : CT_TRUE;
        if (v == 2) {
            t->has_reward = 1;
            t->reward = 0.0;
        }
        ct_analysis *a = run(t);
        int bad = v == 1 || v == 2;
        CHECK_INT(label(a, 1), bad ? CT_LABEL_INCORRECT : CT_LABEL_CORRECT);
        CHECK_INT(label(a, 3), bad ? CT_LABEL_INCORRECT : CT_LABEL_CORRECT);
        if (bad) {
            CHECK_STR(rule(a, 1), "unsolved-final");
            CHECK_STR(rule(a, 3), "failed-submit");
        }
        CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
        ct_analysis_free(a);
        ct_traj_free(t);
    }
}

/* a first rejected edit is a normal try, unless the linter names a syntax error in its text */
static void test_broken_first_edit(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    ct_step *s = edit(t, "/r/pkg/handler.py", "    'Rows',\n]", "    'Rows',\n    ]\n]",
                      "Your proposed edit has introduced new syntax error(s).\nERRORS:\n"
                      "- E999 SyntaxError: unmatched ']'\n");
    s->tool = "edit";
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 1), "failed-action");
    ct_analysis_free(a);
    ct_traj_free(t);

    /* the old text has lines the agent was never shown (it viewed lines 1-2 only): a guess */
    t = ct_traj_new("test", "mem");
    bash(t, "sed -n '1,2p' pkg/view.tsx",
         "import React from 'react';\nimport axios from 'axios';\n", 0);
    edit(t, "/r/pkg/view.tsx",
         "import axios from 'axios';\n  if (!prs.length) {\n    return <p>No pull requests "
         "found.</p>;",
         "import axios from 'axios';\n  return <p>None.</p>;",
         "ERROR:\nNo replacement was performed, old_str did not appear verbatim");
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 2), "failed-action");
    CHECK(strstr(a->labels[1].reasoning, "if (!prs.length)") != NULL);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* one line that differs from what was shown (a slip: double quotes) is a normal first try */
    t = ct_traj_new("test", "mem");
    bash(t, "sed -n '1,2p' pkg/view.tsx",
         "import React from 'react';\nimport axios from 'axios';\n", 0);
    edit(t, "/r/pkg/view.tsx", "import React from 'react';\nimport axios from \"axios\";",
         "import axios from 'ky';",
         "ERROR:\nNo replacement was performed, old_str did not appear verbatim");
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* every line was shown (an indentation slip): a normal first try */
    t = ct_traj_new("test", "mem");
    bash(t, "sed -n '1,2p' pkg/view.tsx",
         "import React from 'react';\nimport axios from 'axios';\n", 0);
    edit(t, "/r/pkg/view.tsx", "  import axios from 'axios';", "import axios from 'ky';",
         "ERROR:\nNo replacement was performed, old_str did not appear verbatim");
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* the old text was not found: a normal first try */
    t = ct_traj_new("test", "mem");
    s = edit(t, "/r/pkg/handler.py", "    'Rows',\n]", "    'Rows', 'Cols',\n]",
             "No replacement was performed, old_str `    'Rows',\n]` did not appear verbatim");
    a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

/* an install that fails with the error an earlier failed check had already printed, nothing
 * changed in between → known-error; the same install after a step that changed the state (the
 * wheel was unpacked) is a fair new attempt */
static void test_known_error(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "python3.13 -m pip --version", "python3.13: No module named pip\n", 1);
    bash(t, "ls /usr/lib/python3.13/ensurepip/_bundled", "pip-24.3.1-py3-none-any.whl\n", 0);
    bash(t, "python3.13 -m pip install /usr/lib/python3.13/ensurepip/_bundled/pip.whl",
         "<returncode>1</returncode>\n<output>\npython3.13: No module named pip\n</output>\n", 1);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_INCORRECT);
    CHECK_STR(rule(a, 3), "known-error");
    CHECK_INT(a->labels[2].evidence[0], 1);
    CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    t = ct_traj_new("test", "mem");
    bash(t, "python3.13 -m pip --version", "python3.13: No module named pip\n", 1);
    bash(t, "apt-get install -y python3-pip", "Setting up python3-pip (23.0.1)\n", 0);
    bash(t, "python3.13 -m pip install /usr/lib/python3.13/ensurepip/_bundled/pip.whl",
         "python3.13: No module named pip\n", 1);
    a = run(t);
    CHECK(label(a, 3) != CT_LABEL_INCORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* two different install errors followed by the same pip notice: not the same error */
    t = ct_traj_new("test", "mem");
    bash(t, "pip install foo==9.9",
         "ERROR: No matching distribution found for foo==9.9\n\n"
         "[notice] A new release of pip is available: 23.0 -> 24.0\n"
         "[notice] To update, run: pip install --upgrade pip\n",
         1);
    bash(t, "pip install bar",
         "ERROR: Could not build wheels for bar\n\n"
         "[notice] A new release of pip is available: 23.0 -> 24.0\n"
         "[notice] To update, run: pip install --upgrade pip\n",
         1);
    a = run(t);
    CHECK(label(a, 2) != CT_LABEL_INCORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    /* a different error is new evidence */
    t = ct_traj_new("test", "mem");
    bash(t, "python3.13 -m pip --version", "python3.13: No module named pip\n", 1);
    bash(t, "pip3 install requests", "error: externally-managed-environment\n", 1);
    a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

static ct_step *view(ct_trajectory *t, const char *path, long from, long to, int lines)
{
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_READ;
    s->tool = "str_replace_editor";
    s->action = ct_traj_printf(t, "str_replace_editor view %s [%ld, %ld]", path, from, to);
    char obs[512];
    int n = lines < (int)sizeof obs - 1 ? lines : (int)sizeof obs - 1;
    memset(obs, '\n', (size_t)n);
    obs[n] = 0;
    s->observation = ct_traj_strdup(t, obs);
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = ct_traj_strdup(t, path);
    f->op = "view";
    f->line_start = from;
    f->line_end = to;
    return s;
}

/* a range of a long file shown whole is a fair zoom; a range inside a range already shown, or
 * of a short file shown whole, is a repeat */
static void test_view_ranges(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    view(t, "/r/parser.pony", 0, 0, 350);
    view(t, "/r/parser.pony", 100, 110, 11);
    view(t, "/r/parser.pony", 100, 102, 3);
    view(t, "/r/cli.pony", 0, 0, 120);
    view(t, "/r/cli.pony", 100, -1, 21);
    view(t, "/r/parser.pony", 90, 120, 31);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 2), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 3), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 3), "repeat-command");
    CHECK_INT(a->labels[2].evidence[0], 2);
    CHECK_INT(label(a, 5), CT_LABEL_UNUSEFUL);
    CHECK_INT(label(a, 6), CT_LABEL_CORRECT); /* 90-120 is not inside 100-110 */
    ct_analysis_free(a);
    ct_traj_free(t);
}

/* outcome unknown: a submit right after the tests that passed earlier fail, nothing changed
 * since → failed-submit; a change after the failing run makes it unknown again */
static void test_submit_on_regression(void)
{
    for (int v = 0; v < 2; v++) {
        ct_trajectory *t = ct_traj_new("test", "mem");
        bash(t, "python -m pytest tests/test_text.py -q", PASS, 0);
        edit(t, "/r/src/pkg/text.py", "return a", "return b", "The file has been edited.");
        bash(t, "python -m pytest tests/test_text.py -q", FAIL_TEXT, 1);
        if (v == 1) edit(t, "/r/src/pkg/text.py", "return b", "return c", "The file was edited.");
        bash(t, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached",
             "diff --git a/src/pkg/text.py b/src/pkg/text.py\n", 0);
        ct_analysis *a = run(t);
        int sub = v == 0 ? 4 : 5;
        CHECK_INT(label(a, sub), v == 0 ? CT_LABEL_INCORRECT : CT_LABEL_CORRECT);
        if (v == 0) {
            CHECK_STR(rule(a, sub), "failed-submit");
            CHECK_INT(a->labels[sub - 1].n_evidence, 3);
        }
        CHECK_INT(label(a, 2), CT_LABEL_INCORRECT); /* the regression itself */
        ct_analysis_free(a);
        ct_traj_free(t);
    }
}

/* `cat > fix.py` as the mini-SWE-agent loader records it (a create touch with the content) */
static ct_step *create(ct_trajectory *t, const char *path, const char *content)
{
    ct_step *s = bash(t, ct_traj_printf(t, "cat <<'EOF' > %s\n%sEOF", path, content), "", 0);
    s->kind = CT_KIND_CREATE;
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = ct_traj_strdup(t, path);
    f->op = "create";
    f->content = ct_traj_strdup(t, content);
    return s;
}

/* a script the agent wrote and ran rewrites the deliverable: in an unsolved run the run and the
 * script are the final version, the earlier direct edit is not; `rm fix_core.py
 * pkg/core.py.bak` removes the script, not core.py */
static void test_script_writes(void)
{
    const char *code = "src = open('pkg/core.py').read()\n"
                       "with open('pkg/core.py', 'w') as f:\n    f.write(src.replace('a', 'b'))\n";
    for (int v = 0; v < 3; v++) {
        ct_trajectory *t = ct_traj_new("test", "mem");
        edit(t, "/r/pkg/core.py", "x = 1", "x = 2", "The file has been edited.");
        create(t, "fix_core.py", code);
        bash(t, "python fix_core.py", "", 0);
        bash(t, "rm fix_core.py pkg/core.py.bak", "", 0);
        bash(t, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", "", 0);
        t->solved = v == 0 ? CT_FALSE : v == 1 ? CT_UNKNOWN : CT_TRUE;
        ct_analysis *a = run(t);
        int bad = v == 0;
        CHECK_INT(label(a, 1), CT_LABEL_CORRECT);
        CHECK_INT(label(a, 2), bad ? CT_LABEL_INCORRECT : CT_LABEL_CORRECT);
        CHECK_INT(label(a, 3), bad ? CT_LABEL_INCORRECT : CT_LABEL_CORRECT);
        if (bad) {
            CHECK_STR(rule(a, 3), "unsolved-final");
            CHECK(strstr(a->labels[2].reasoning, "pkg/core.py") != NULL);
            CHECK_STR(rule(a, 2), "unsolved-final");
            CHECK_INT(a->labels[1].evidence[1], 3);
        }
        ct_analysis_free(a);
        ct_traj_free(t);
    }

    /* a script that only reads (no open for writing) changes nothing it names */
    ct_trajectory *t = ct_traj_new("test", "mem");
    edit(t, "/r/pkg/core.py", "x = 1", "x = 2", "The file has been edited.");
    create(t, "show_core.py", "print(open('pkg/core.py').read())\n");
    bash(t, "python show_core.py", "x = 2\n", 0);
    t->solved = CT_FALSE;
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 1), CT_LABEL_INCORRECT); /* the direct edit is the final version */
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

/* a listing repeated when the only changes since were the agent's own writes of known files
 * and runs of its own scripts that write nothing: unuseful; a directory inside one listed
 * recursively too. A run of a script it did not write, a VCS operation, or other options keep
 * the second listing fair. */
static void test_relist(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash(t, "ls -F", "setup.py\nsrc/\ntests/\n", 0);
    create(t, "reproduce.py", "from pkg import f\nprint(f(1))\n");
    bash(t, "python reproduce.py", "2\n", 0);
    bash(t, "ls -F ./", "reproduce.py\nsetup.py\nsrc/\ntests/\n", 0);
    bash(t, "ls -R src", "src:\npkg\n\nsrc/pkg:\ncore.py\n", 0);
    edit(t, "/r/src/pkg/core.py", "x = 1", "x = 2", "The file has been edited.");
    bash(t, "ls src/pkg/", "core.py\n", 0);
    bash(t, "ls -a src/pkg", ".\n..\ncore.py\n", 0);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 4), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 4), "repeat-command");
    CHECK_INT(a->labels[3].evidence[0], 1);
    CHECK_INT(label(a, 7), CT_LABEL_UNUSEFUL);
    CHECK_INT(a->labels[6].evidence[0], 5);
    CHECK_INT(label(a, 8), CT_LABEL_CORRECT); /* -a shows what -R did not */
    ct_analysis_free(a);
    ct_traj_free(t);

    t = ct_traj_new("test", "mem");
    bash(t, "ls -F", "setup.py\nsrc/\n", 0);
    bash(t, "python setup.py build_ext", "running build_ext\n", 0);
    bash(t, "ls -F", "build/\nsetup.py\nsrc/\n", 0);
    bash(t, "git stash", "Saved working directory", 0);
    bash(t, "ls -F", "setup.py\nsrc/\n", 0);
    a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 5), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);
}

/* a file viewed again when only other files changed since: unuseful; not after a change of
 * that file, nor after a run of a program that may write files; an edit whose output shows the
 * whole file counts as a view of it */
static void test_view_per_file(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    view(t, "/r/a.py", 0, 0, 40);
    edit(t, "/r/b.py", "x = 1", "x = 2", "The file has been edited.");
    view(t, "/r/a.py", 0, 0, 40);
    edit(t, "/r/a.py", "y = 1", "y = 2", "The file has been edited.");
    view(t, "/r/a.py", 0, 0, 40);
    bash(t, "python tools/gen.py", "done\n", 0);
    view(t, "/r/a.py", 0, 0, 40);
    ct_analysis *a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_UNUSEFUL);
    CHECK_STR(rule(a, 3), "repeat-command");
    CHECK(strstr(a->labels[2].reasoning, "/r/a.py") != NULL);
    CHECK_INT(label(a, 5), CT_LABEL_CORRECT);
    CHECK_INT(label(a, 7), CT_LABEL_CORRECT);
    ct_analysis_free(a);
    ct_traj_free(t);

    t = ct_traj_new("test", "mem");
    edit(t, "/r/app.css", ".a {}", ".a { color: red }",
         "[File: /r/app.css (3 lines total after edit)]\n(this is the beginning of the file)\n"
         "1|.a { color: red }\n2|\n3|.b {}\n(this is the end of the file)\n");
    edit(t, "/r/view.tsx", "x", "y", "The file has been edited.");
    view(t, "/r/app.css", 0, 0, 3);
    edit(t, "/r/app.css", ".b {}", ".b { color: blue }", "The file has been edited.");
    view(t, "/r/app.css", 0, 0, 3);
    a = run(t);
    CHECK_INT(label(a, 3), CT_LABEL_UNUSEFUL);
    CHECK_INT(a->labels[2].evidence[0], 1);
    CHECK_INT(label(a, 5), CT_LABEL_CORRECT); /* that edit's output did not show the file */
    ct_analysis_free(a);
    ct_traj_free(t);
}

int main(void)
{
    test_revert_not_blamed();
    test_inverse_edit();
    test_regression_attribution();
    test_repeat_across_runs();
    test_outcome_rules();
    test_broken_first_edit();
    test_known_error();
    test_view_ranges();
    test_submit_on_regression();
    test_script_writes();
    test_relist();
    test_view_per_file();
    return check_report();
}

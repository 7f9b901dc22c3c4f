/* test_classify.c — change/explore classification by meaning, the tree.md format. Expected
 * classes are written by hand from what each command does. */
#include "check.h"
#include "ct/index.h"

#include <stdlib.h>

typedef struct {
    const char *cmd;
    ct_step_class cls;
    ct_fine_kind fine;
} row;

#define C CT_CLASS_CHANGE
#define E CT_CLASS_EXPLORE

static const row table[] = {
    /* the reference regex's misfires (original-behaviour.md §4.1) */
    {"grep -rn make .", E, CT_FINE_EXPLORE},
    {"ls /tmp/apt", E, CT_FINE_EXPLORE},
    {"cat /app/install.py", E, CT_FINE_EXPLORE},
    {"./run.sh", E, CT_FINE_RUN},
    {"python3 test.py", E, CT_FINE_TEST},
    {"python3 reproduce.py", E, CT_FINE_RUN},
    {"sed -n '10,20p' src/main.py", E, CT_FINE_EXPLORE},
    {"cd /tmp", E, CT_FINE_OTHER},
    {"python -c \"import json; print(json.dumps({'a': 1}))\"", E, CT_FINE_RUN},
    {"ls -la 2>&1", E, CT_FINE_EXPLORE},
    {"echo hello 2>&1", E, CT_FINE_EXPLORE},
    {"grep -r foo . > /dev/null 2>&1", E, CT_FINE_EXPLORE},
    {"find . -name '*.py' | xargs grep -l install", E, CT_FINE_EXPLORE},
    /* explore */
    {"git status", E, CT_FINE_EXPLORE},
    {"git diff HEAD~1 -- src/", E, CT_FINE_EXPLORE},
    {"git log --oneline | head -5", E, CT_FINE_EXPLORE},
    {"cd /repo && grep -n 'def foo' a.py", E, CT_FINE_EXPLORE},
    {"head -50 setup.py; wc -l setup.py", E, CT_FINE_EXPLORE},
    {"pip list | grep numpy", E, CT_FINE_EXPLORE},
    {"find / -name 'cfg*.json' 2>/dev/null | head", E, CT_FINE_EXPLORE},
    {"git branch", E, CT_FINE_EXPLORE},
    {"curl -s http://localhost:8000/health", E, CT_FINE_EXPLORE},
    {"open src/app.py", E, CT_FINE_EXPLORE},
    {"str_replace_editor view /testbed/a.py", E, CT_FINE_EXPLORE},
    /* run / test */
    {"pytest tests/test_api.py -x -q", E, CT_FINE_TEST},
    {"python -m pytest -k foo", E, CT_FINE_TEST},
    {"cd /app && make test", E, CT_FINE_TEST},
    {"timeout 60 python3 solve.py", E, CT_FINE_RUN},
    {"npm test", E, CT_FINE_TEST},
    {"go test ./...", E, CT_FINE_TEST},
    {"bash -c 'pytest -q'", E, CT_FINE_TEST},
    {"node server.js &", E, CT_FINE_RUN},
    /* change */
    {"sed -i 's/foo/bar/' src/main.py", C, CT_FINE_EDIT},
    {"sed -i.bak -e 's/a/b/' x.c", C, CT_FINE_EDIT},
    {"echo 'x = 1' > config.py", C, CT_FINE_CREATE},
    {"echo 'x = 1' >> config.py", C, CT_FINE_EDIT},
    {"cat > /app/solve.py << 'EOF'\nimport sys\nprint(open('a').read())\nEOF", C, CT_FINE_CREATE},
    {"cat <<EOF > notes.txt\nls > nothing\nEOF\n", C, CT_FINE_CREATE},
    {"printf 'a\\n' | tee out.txt", C, CT_FINE_CREATE},
    {"ls | tee /dev/null", E, CT_FINE_EXPLORE},
    {"pip install -e .", C, CT_FINE_INSTALL},
    {"/usr/local/bin/python3.13 -m ensurepip --upgrade", C, CT_FINE_INSTALL},
    {"python3 -m pip install requests==2.31", C, CT_FINE_INSTALL},
    {"sudo apt-get install -y ffmpeg", C, CT_FINE_INSTALL},
    {"apt-get update && apt-get install -y jq", C, CT_FINE_INSTALL},
    {"npm install express", C, CT_FINE_INSTALL},
    {"git add -A && git commit -m fix", C, CT_FINE_VCS},
    {"git checkout -- src/a.py", C, CT_FINE_VCS},
    {"git stash", C, CT_FINE_VCS},
    {"git apply fix.patch", C, CT_FINE_EDIT},
    {"mkdir -p /app/out", C, CT_FINE_FS},
    {"rm -rf build/", C, CT_FINE_FS},
    {"mv a.py b.py", C, CT_FINE_FS},
    {"cp config.example config", C, CT_FINE_FS},
    {"chmod +x run.sh && ./run.sh", C, CT_FINE_FS},
    {"touch /app/__init__.py", C, CT_FINE_CREATE},
    {"make", C, CT_FINE_BUILD},
    {"patch -p1 < fix.diff", C, CT_FINE_EDIT},
    {"python3 - <<'EOF'\nwith open('x.txt','w') as f:\n    f.write('1')\nEOF", C, CT_FINE_EDIT},
    {"python3 -c \"open('out.txt', 'w').write('x')\"", C, CT_FINE_EDIT},
    {"perl -pi -e 's/a/b/' f.txt", C, CT_FINE_EDIT},
    {"find . -name '*.pyc' -delete", C, CT_FINE_FS},
    {"find . -name '*.orig' -exec rm {} \\;", C, CT_FINE_FS},
    {"edit 12:14\n    return x\nend_of_edit", C, CT_FINE_EDIT},
    {"create reproduce.py", C, CT_FINE_CREATE},
    {"str_replace_editor str_replace /testbed/a.py --old_str x --new_str y", C, CT_FINE_EDIT},
    {"echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached", C,
     CT_FINE_SUBMIT},
    {"submit", C, CT_FINE_SUBMIT},
    {"wget https://example.com/data.tar.gz", C, CT_FINE_CREATE},
    {"python3 x.py > /tmp/out.log 2>&1; tail /tmp/out.log", E, CT_FINE_RUN},
    {"tar -xzf data.tar.gz", C, CT_FINE_FS},
    {"", E, CT_FINE_OTHER},
    {"echo \"unterminated", E, CT_FINE_EXPLORE},
    {"cat <<EOF", E, CT_FINE_EXPLORE},
};

static void test_table(void)
{
    size_t n = sizeof table / sizeof table[0];
    CHECK(n >= 40);
    for (size_t i = 0; i < n; i++) {
        ct_fine_kind fine = CT_FINE__COUNT;
        ct_step_class cls = ct_classify_command(table[i].cmd, &fine);
        if (cls != table[i].cls || fine != table[i].fine)
            fprintf(stderr, "command %zu `%s`: got %s/%s, expected %s/%s\n", i, table[i].cmd,
                    ct_step_class_name(cls), ct_fine_kind_name(fine),
                    ct_step_class_name(table[i].cls), ct_fine_kind_name(table[i].fine));
        CHECK_INT(cls, table[i].cls);
        CHECK_INT(fine, table[i].fine);
    }
}

static void test_step_kinds(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_EDIT;
    s->action = "[Edit] /app/main.py";
    ct_fine_kind f;
    CHECK_INT(ct_classify_step(s, &f), C);
    CHECK_INT(f, CT_FINE_EDIT);
    s->kind = CT_KIND_READ;
    s->tool = "Read";
    s->action = "[Read] /app/install.py";
    CHECK_INT(ct_classify_step(s, &f), E);
    /* a loader guessed "read" from `cat`, but the command writes a file */
    s->tool = "bash";
    s->action = "cat > /app/a.py <<'EOF'\nx=1\nEOF";
    CHECK_INT(ct_classify_step(s, &f), C);
    CHECK_INT(f, CT_FINE_CREATE);
    s->kind = CT_KIND_OTHER;
    s->tool = "str_replace_editor";
    s->action = "";
    ct_file_touch *ft = ct_step_add_file(t, s);
    ft->path = "/testbed/a.py";
    ft->op = "view";
    CHECK_INT(ct_classify_step(s, &f), E);
    ft->op = "str_replace";
    CHECK_INT(ct_classify_step(s, &f), C);
    CHECK_INT(f, CT_FINE_EDIT);
    s->kind = CT_KIND_THINK;
    CHECK_INT(ct_classify_step(s, &f), E);
    CHECK_INT(f, CT_FINE_THINK);
    ct_traj_free(t);
}

static ct_trajectory *tree_fixture(const char *const *actions, size_t n)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    for (size_t i = 0; i < n; i++) {
        ct_step *s = ct_traj_add_step(t);
        s->kind = CT_KIND_BASH;
        s->tool = "bash";
        s->action = ct_traj_strdup(t, actions[i]);
    }
    return t;
}

static void test_tree(void)
{
    /* E,E,C,E,C,E,E — the example of original-behaviour.md §4.2 */
    static const char *const acts[] = {
        "ls",         "cat a.py", "sed -i 's/a/b/' a.py", "grep -n b a.py",
        "touch b.py", "git diff", "python3 a.py",
    };
    ct_trajectory *t = tree_fixture(acts, 7);
    ct_buf b = CT_BUF_INIT;
    ct_tree_render(t, &b);
    CHECK_STR(b.data, "root\n"
                      "├── [1] ls (explore)\n"
                      "└── [2] cat a.py (explore)\n"
                      "    ├── [3] sed -i 's/a/b/' a.py (change)\n"
                      "    └── [4] grep -n b a.py (explore)\n"
                      "        ├── [5] touch b.py (change)\n"
                      "        ├── [6] git diff (explore)\n"
                      "        └── [7] python3 a.py (explore)\n");
    ct_buf_free(&b);
    ct_traj_free(t);

    /* two changes in a row nest; the pipe continues under a non-last parent */
    static const char *const acts2[] = {"ls", "mkdir x", "touch x/a", "ls x", "pwd"};
    t = tree_fixture(acts2, 5);
    /* 1 E root; 2 C child of 1; 3 C child of 2; 4 E sibling of 3; 5 E sibling of 4 */
    ct_tree_render(t, &b);
    CHECK_STR(b.data, "root\n"
                      "└── [1] ls (explore)\n"
                      "    └── [2] mkdir x (change)\n"
                      "        ├── [3] touch x/a (change)\n"
                      "        ├── [4] ls x (explore)\n"
                      "        └── [5] pwd (explore)\n");
    ct_buf_free(&b);
    ct_traj_free(t);

    /* labels: first line, 60 characters, "step N" when empty */
    static const char *const acts3[] = {
        "echo 0123456789012345678901234567890123456789012345678901234567890123456789\nls", "",
        "  \n"};
    t = tree_fixture(acts3, 3);
    ct_tree_render(t, &b);
    CHECK_STR(b.data, "root\n"
                      /* "echo " + 55 digits = 60 characters */
                      "├── [1] echo 0123456789012345678901234567890123456789"
                      "012345678901234 (explore)\n"
                      "├── [2] step 2 (explore)\n"
                      "└── [3] step 3 (explore)\n");
    ct_buf_free(&b);
    ct_traj_free(t);

    t = ct_traj_new("test", "mem");
    ct_tree_render(t, &b);
    CHECK_STR(b.data, "root\n");
    ct_buf_free(&b);
    ct_traj_free(t);
}

/* bad input: no crash, no hang, a class anyway */
static void test_adversarial(void)
{
    static const char *const bad[] = {
        "echo $(unterminated",
        "cat <<A <<B <<C <<D <<E <<F\nA\nB\n",
        "'\"\\",
        "> > > >",
        "|||&&;;",
        "bash -c \"bash -c 'bash -c \\\"bash -c rm\\\"'\"",
        "sed -i",
        "git",
        "find . -exec",
        "xargs",
        "sudo",
        "env",
        "timeout",
        "2>",
        "<<",
        "`",
        "\\",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ct_fine_kind f = CT_FINE__COUNT;
        ct_step_class c = ct_classify_command(bad[i], &f);
        CHECK(c == CT_CLASS_CHANGE || c == CT_CLASS_EXPLORE);
        CHECK(f < CT_FINE__COUNT);
    }
    /* 2 MiB of `ls;` and then one long word: bounded work */
    size_t n = 2u << 20;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = "ls;"[i % 3];
    big[n] = 0;
    CHECK_INT(ct_classify_command(big, NULL), CT_CLASS_EXPLORE);
    memset(big, 'a', n);
    CHECK_INT(ct_classify_command(big, NULL), CT_CLASS_EXPLORE);
    free(big);
    CHECK_INT(ct_classify_command(NULL, NULL), CT_CLASS_EXPLORE);
    CHECK_INT(ct_classify_step(NULL, NULL), CT_CLASS_EXPLORE);
}

int main(void)
{
    test_adversarial();
    test_table();
    test_step_kinds();
    test_tree();
    return check_report();
}

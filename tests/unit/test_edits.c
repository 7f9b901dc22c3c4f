/* Edit reconstruction (ct/edits.h): payload touches, patches (unified and apply_patch), shell
 * commands (heredocs, tee, sed -i), the in-memory replay, and the fixture trajectory
 * tests/fixtures/spans/run_openhands.json loaded through the real loader. Every expected value is
 * written by hand from the input text in this file or the fixture. */
#include "check.h"
#include "ct/edits.h"
#include "ct/load.h"

#include <stdlib.h>
#include <string.h>

static ct_step *bash_step(ct_trajectory *t, const char *cmd)
{
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_BASH;
    s->action = ct_traj_strdup(t, cmd);
    return s;
}

static void test_unified_patch(void)
{
    const char *patch = "diff --git a/lib/strutil.c b/lib/strutil.c\n"
                        "index 1111111..2222222 100644\n"
                        "--- a/lib/strutil.c\n"
                        "+++ b/lib/strutil.c\n"
                        "@@ -8,3 +8,8 @@ int count_char(const char *s, char c)\n"
                        "         if (*s == c) n++;\n"
                        "     return n;\n"
                        " }\n"
                        "+\n"
                        "+static int is_blank(const char *s)\n"
                        "+{\n"
                        "+    return 0;\n"
                        "+}\n"
                        "--- a/old.txt\n"
                        "+++ /dev/null\n"
                        "@@ -1 +0,0 @@\n"
                        "-gone\n";
    ct_edit_list l = {0};
    CHECK_INT(ct_edits_parse_patch(patch, 4, -1, &l), 3);
    CHECK_INT(l.n, 3);
    if (l.n != 3) return;
    CHECK_STR(l.items[0].path, "lib/strutil.c");
    CHECK_STR(l.items[0].via, "patch");
    CHECK_INT(l.items[0].step_id, 4);
    CHECK_INT(l.items[0].line_start, 8);
    CHECK_INT(l.items[0].line_end, 15); /* 8 new lines: 3 context + 5 added */
    CHECK_STR(l.items[0].old_text, "        if (*s == c) n++;\n    return n;\n}\n");
    CHECK_STR(l.items[0].new_text, "        if (*s == c) n++;\n    return n;\n}\n\nstatic int "
                                   "is_blank(const char *s)\n{\n    return 0;\n}\n");
    CHECK(l.items[0].reason == NULL);
    /* "+++ /dev/null": the file was deleted */
    CHECK_STR(l.items[1].via, "delete");
    CHECK_STR(l.items[1].path, "old.txt");
    CHECK(l.items[1].whole_file);
    /* and its hunk, without a file name to go to */
    CHECK_STR(l.items[2].old_text, "gone\n");
    CHECK(l.items[2].reason != NULL);
    ct_edits_free(&l);
}

static void test_apply_patch(void)
{
    const char *p = "*** Begin Patch\n"
                    "*** Update File: src/a.py\n"
                    "@@ def f():\n"
                    "-    return 1\n"
                    "+    return 2\n"
                    "*** Add File: src/b.py\n"
                    "+x = 1\n"
                    "+y = 2\n"
                    "*** Delete File: src/c.py\n"
                    "*** End Patch\n";
    ct_edit_list l = {0};
    CHECK_INT(ct_edits_parse_patch(p, 2, 0, &l), 3);
    if (l.n != 3) return;
    CHECK_STR(l.items[0].via, "apply_patch");
    CHECK_STR(l.items[0].path, "src/a.py");
    CHECK_STR(l.items[0].old_text, "    return 1\n");
    CHECK_STR(l.items[0].new_text, "    return 2\n");
    CHECK(!l.items[0].whole_file);
    CHECK_STR(l.items[1].path, "src/b.py");
    CHECK_STR(l.items[1].new_text, "x = 1\ny = 2\n");
    CHECK(l.items[1].whole_file);
    CHECK(l.items[1].old_text == NULL);
    CHECK_STR(l.items[2].via, "delete");
    CHECK_STR(l.items[2].path, "src/c.py");
    ct_edits_free(&l);
}

static void test_shell(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash_step(t, "cat > /app/x.py <<'EOF'\nprint(1)\nEOF");
    bash_step(t, "cd /app && cat <<EOF >> log.txt\nhi\nEOF\necho done");
    bash_step(t, "tee -a /app/y.sh <<\"END\"\necho hi\nEND");
    bash_step(t, "sed -i.bak -e 's|/usr/bin|/opt/bin|g' conf.txt");
    bash_step(t, "sed -i 's/a.*b/X\\/Y/' f.txt");
    bash_step(t, "sed -i '3d' f.txt");
    bash_step(t, "cat > notes.md <<EOF\nunterminated\n");
    bash_step(t, "echo hi > out.txt 2>&1");
    bash_step(t, "ls -la && grep -n foo *.py > /dev/null");
    bash_step(t, "cat > a.txt <<A\r\none\r\nA\r\ncat > b.txt <<-B\n\ttwo\n\tB\n");
    bash_step(t, "cd /repo && git apply <<'PATCH'\n--- a/m.go\n+++ b/m.go\n@@ -1,1 +1,1 @@\n"
                 "-package old\n+package m\nPATCH");
    ct_edit_list l = {0};
    CHECK_INT(ct_edits_from_traj(t, &l, NULL), CT_OK);
    CHECK_INT(l.n, 11);
    if (l.n == 11) {
        ct_edit *e = l.items;
        CHECK_INT(e[0].step_id, 1);
        CHECK_STR(e[0].via, "heredoc");
        CHECK_STR(e[0].path, "/app/x.py");
        CHECK_STR(e[0].new_text, "print(1)\n");
        CHECK(e[0].whole_file);
        CHECK_STR(e[1].via, "append");
        CHECK_STR(e[1].path, "/app/log.txt"); /* after `cd /app` */
        CHECK_STR(e[1].new_text, "hi\n");
        CHECK(!e[1].whole_file);
        CHECK_STR(e[2].via, "append"); /* tee -a */
        CHECK_STR(e[2].path, "/app/y.sh");
        CHECK_STR(e[2].new_text, "echo hi\n");
        CHECK_STR(e[3].via, "sed");
        CHECK_STR(e[3].path, "conf.txt");
        CHECK_STR(e[3].old_text, "/usr/bin");
        CHECK_STR(e[3].new_text, "/opt/bin");
        CHECK(e[3].literal);
        CHECK_STR(e[4].old_text, "a.*b");
        CHECK_STR(e[4].new_text, "X/Y");
        CHECK(!e[4].literal);
        CHECK_STR(e[5].path, "f.txt");
        CHECK(e[5].reason != NULL && e[5].new_text == NULL);
        CHECK_STR(e[6].path, "notes.md");
        CHECK_STR(e[6].reason, "here-document is not terminated");
        CHECK_STR(e[7].path, "out.txt");
        CHECK(e[7].reason != NULL);
        CHECK_INT(e[8].step_id, 10); /* step 9 writes nothing (only to /dev/null) */
        CHECK_STR(e[8].path, "a.txt");
        CHECK_STR(e[8].new_text, "one\r\n"); /* CRLF terminator line still ends the body */
        CHECK_STR(e[9].path, "b.txt");
        CHECK_STR(e[9].new_text, "two\n"); /* <<- strips leading tabs */
        CHECK_INT(e[10].step_id, 11);
        CHECK_STR(e[10].path, "/repo/m.go"); /* after `cd /repo` */
        CHECK_STR(e[10].old_text, "package old\n");
        CHECK_STR(e[10].new_text, "package m\n");
        CHECK_INT(e[10].line_start, 1);
    }
    ct_edits_free(&l);
    ct_traj_free(t);
}

static void test_touches_and_apply(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_EDIT;
    ct_file_touch *f = ct_step_add_file(t, s);
    f->path = "/testbed/a.py";
    f->op = "aci_edit";
    f->line_start = 2;
    f->line_end = 3;
    f->new_text = "B\nC\nD\n";
    s = ct_traj_add_step(t);
    f = ct_step_add_file(t, s);
    f->path = "/testbed/a.py";
    f->op = "insert";
    f->line_start = 1;
    f->new_text = "ins\n";
    s = ct_traj_add_step(t);
    f = ct_step_add_file(t, s);
    f->path = "/testbed/a.py";
    f->op = "view";
    f = ct_step_add_file(t, s);
    f->path = "/testbed/a.py";
    f->op = "undo_edit";
    s = ct_traj_add_step(t);
    f = ct_step_add_file(t, s);
    f->path = "/testbed/a.py";
    f->op = "str_replace";
    f->old_text = "x";
    f->new_text = "y";

    ct_edit_list l = {0};
    ct_edits_from_traj(t, &l, NULL);
    CHECK_INT(l.n, 4); /* the view touch is not an edit */
    if (l.n == 4) {
        const char *file = "a\nb\nc\nd\n";
        size_t n = 0;
        char *r = ct_edit_apply(&l.items[0], file, strlen(file), &n);
        CHECK_STR(r, "a\nB\nC\nD\nd\n"); /* lines 2..3 replaced */
        CHECK_INT(n, 10);
        free(r);
        r = ct_edit_apply(&l.items[1], file, strlen(file), &n);
        CHECK_STR(r, "a\nins\nb\nc\nd\n"); /* inserted after line 1 */
        free(r);
        CHECK_STR(l.items[2].via, "undo_edit");
        CHECK(l.items[2].reason != NULL);
        CHECK(ct_edit_apply(&l.items[2], file, strlen(file), &n) == NULL);
        r = ct_edit_apply(&l.items[3], "x = 1\n", 6, &n);
        CHECK_STR(r, "y = 1\n");
        free(r);
        /* ambiguous: str_replace refuses, so does the replay */
        CHECK(ct_edit_apply(&l.items[3], "x x", 3, &n) == NULL);
        CHECK(ct_edit_apply(&l.items[3], "abc", 3, &n) == NULL);
        CHECK(ct_edit_apply(&l.items[3], NULL, 0, &n) == NULL);
    }
    ct_edits_free(&l);
    ct_traj_free(t);
}

/* The fixture run, loaded by the OpenHands loader: 16 steps that each write once. */
static void test_fixture(void)
{
    ct_traj_list tl = {0};
    ct_error err;
    int rc = ct_load_path(CT_FIXTURES "/spans/run_openhands.json", NULL, &tl, NULL, NULL, &err);
    CHECK_INT(rc, CT_OK);
    if (rc != CT_OK || tl.n != 1) return;
    ct_edit_list l = {0};
    ct_edits_from_traj(tl.items[0], &l, NULL);
    CHECK_INT(l.n, 16);
    static const char *const via[16] = {"write",       "str_replace", "str_replace", "str_replace",
                                        "str_replace", "str_replace", "str_replace", "sed",
                                        "str_replace", "str_replace", "patch",       "str_replace",
                                        "write",       "heredoc",     "sed",         "undo_edit"};
    for (size_t i = 0; i < l.n && i < 16; i++) {
        CHECK_STR(l.items[i].via, via[i]);
        CHECK_INT(l.items[i].step_id, (int)i + 1);
    }
    if (l.n == 16) {
        CHECK_STR(l.items[1].old_text, "    return a - b");
        CHECK_STR(l.items[1].new_text, "    return a + b");
        CHECK_STR(l.items[7].path, "/testbed/app/greet.js");
        CHECK_STR(l.items[7].old_text, "Hello, ");
        CHECK_STR(l.items[7].new_text, "Hi, ");
        CHECK_STR(l.items[10].path, "/testbed/lib/strutil.c"); /* `cd /testbed && ...` */
        CHECK_INT(l.items[10].line_start, 8);
        CHECK_STR(l.items[13].new_text, "{\"name\": \"demo\", \"debug\": false}\n");
        CHECK(l.items[14].reason != NULL); /* s/n++/& / uses & */
        CHECK(l.items[15].reason != NULL);
    }
    ct_edits_free(&l);
    ct_traj_list_free(&tl);
}

/* Bad input never wins: odd commands and damaged patches give reasons or nothing, never crash. */
static void test_bad_input(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    static const char *const cmds[] = {"sed -i",
                                       "sed -i 's/unterminated",
                                       "sed -i 's/a/b/' ",
                                       "cat >",
                                       "cat > <<",
                                       "<<",
                                       "cat <<'",
                                       "tee",
                                       "git apply <<EOF",
                                       "cat > f <<EOF\n\xff\xfe bad utf8\nEOF",
                                       "cat > 'unterminated <<EOF\nx\nEOF",
                                       "echo \"a > b\"",
                                       "sed -i 's/\\(x\\)/\\1y/' f",
                                       "patch -p1 <<EOF\n@@ garbage @@\n+x\nEOF",
                                       "cat > f.txt <<EOF\r\nwin\r\nEOF\r\n",
                                       "sed -i -e 's#a#b#' -e 's/c/d/' two.txt",
                                       "printf 'x' | tee -a",
                                       "perl x.pl /app/s.7z > /app/hash.txt 2>&1",
                                       ""};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        bash_step(t, cmds[i]);
    ct_edit_list l = {0};
    CHECK_INT(ct_edits_from_traj(t, &l, NULL), CT_OK);
    int saw_bad_utf8 = 0, saw_crlf = 0, saw_backref = 0, saw_two = 0, saw_redirect = 0;
    for (size_t i = 0; i < l.n; i++) {
        const ct_edit *e = &l.items[i];
        CHECK(e->reason != NULL || e->new_text != NULL); /* every edit says what or why not */
        if (e->path && strcmp(e->path, "f") == 0 && e->new_text && strstr(e->new_text, "bad utf8"))
            saw_bad_utf8 = 1;
        if (e->path && strcmp(e->path, "f.txt") == 0 && e->new_text &&
            strcmp(e->new_text, "win\r\n") == 0)
            saw_crlf = 1;
        if (e->path && strcmp(e->path, "f") == 0 && e->reason && e->step_id == 13) saw_backref = 1;
        if (e->path && strcmp(e->path, "two.txt") == 0 && e->new_text &&
            strcmp(e->new_text, "b") == 0)
            saw_two = 1;
        if (e->path && strcmp(e->path, "/app/hash.txt") == 0 && e->reason &&
            strcmp(e->via, "write") == 0)
            saw_redirect = 1;
    }
    CHECK(saw_redirect); /* another command's output: said, not guessed */
    CHECK(saw_bad_utf8); /* bytes are kept as they are; sanitising is the printer's job */
    CHECK(saw_crlf);
    CHECK(saw_backref); /* \1 in the replacement: not reconstructed */
    CHECK(saw_two);     /* the first -e expression */
    ct_edits_free(&l);

    /* a damaged patch: hunk counts larger than the text */
    CHECK_INT(ct_edits_parse_patch("--- a/x\n+++ b/x\n@@ -1,50 +1,50 @@\n a\n-b\n+c\n", 1, -1, &l),
              1);
    if (l.n == 1) CHECK_STR(l.items[0].new_text, "a\nc\n");
    ct_edits_free(&l);
    CHECK_INT(ct_edits_parse_patch("", 1, -1, &l), 0);
    CHECK_INT(ct_edits_parse_patch(NULL, 1, -1, &l), 0);

    /* a payload above the limit is refused with a reason */
    ct_step *s = ct_traj_add_step(t);
    ct_file_touch *f = ct_step_add_file(t, s);
    char *big = malloc(CT_EDITS_MAX_TEXT + 2);
    memset(big, 'x', CT_EDITS_MAX_TEXT + 1);
    big[CT_EDITS_MAX_TEXT + 1] = 0;
    f->path = "big.txt";
    f->op = "create";
    f->content = big;
    ct_edits_from_step(s, &l);
    CHECK_INT(l.n, 1);
    if (l.n == 1) {
        CHECK(l.items[0].new_text == NULL);
        CHECK(l.items[0].reason != NULL);
    }
    ct_edits_free(&l);
    free(big);
    ct_traj_free(t);
}

/* `cd` earlier in the same command: relative paths are taken from there, as the shell did. */
static void test_cd(void)
{
    ct_trajectory *t = ct_traj_new("test", "mem");
    bash_step(t, "cd /testbed/src && sed -i 's/a/b/' x.py");
    bash_step(t, "cd /testbed; cd pkg/sub && sed -i 's/a/b/' ../y.py");
    bash_step(t, "cd /testbed\ncat > ./docs/../z.md <<EOF\nz\nEOF");
    bash_step(t, "cd \"$REPO\" && sed -i 's/a/b/' w.py");  /* unknown: as written */
    bash_step(t, "cd /a && cd - && sed -i 's/a/b/' v.py"); /* back: unknown */
    bash_step(t, "cd /.. && sed -i 's/a/b/' ../../r.py");  /* never above / */
    bash_step(t, "sed -i 's/a/b/' u.py && cd /elsewhere"); /* cd after the edit */
    bash_step(t, "cd src && sed -i 's/a/b/' /abs/t.py");   /* absolute stays */
    bash_step(t, "cd /p/q && sed -i 's/a/b/' ../.hidden"); /* a dotted name is a name */
    bash_step(t, "cd src && sed -i 's/a/b/' ../../s.py");  /* relative above the start */
    ct_edit_list l = {0};
    CHECK_INT(ct_edits_from_traj(t, &l, NULL), CT_OK);
    const char *want[] = {
        "/testbed/src/x.py", "/testbed/pkg/y.py", "/testbed/z.md", "w.py", "v.py", "/r.py", "u.py",
        "/abs/t.py",         "/p/.hidden",        "../s.py"};
    CHECK_INT(l.n, 10);
    for (size_t i = 0; i < l.n && i < 10; i++)
        CHECK_STR(l.items[i].path, want[i]);
    ct_edits_free(&l);
    ct_traj_free(t);
}

int main(void)
{
    test_unified_patch();
    test_apply_patch();
    test_shell();
    test_touches_and_apply();
    test_fixture();
    test_cd();
    test_bad_input();
    return check_report();
}

/* Unit tests for the helpers behind the Claude Code / ATIF / codex / tb-trial loaders: the
 * chunked ANSI stripper, Claude Code action texts and exit codes. Expectations are written by
 * hand from the inputs below. */
#include "check.h"
#include "formats/common.h"

#include <stdlib.h>

static void feed_all(const char *const *chunks, size_t n, ct_buf *out)
{
    ct_ansi a = {0};
    for (size_t i = 0; i < n; i++)
        ct_fmt_ansi_feed(&a, out, chunks[i], strlen(chunks[i]));
}

static void test_ansi(void)
{
    /* colours, bracketed paste, a CSI split across chunks, an OSC title, CR rewrites */
    const char *c1[] = {"\x1b[?2004hroot@box:/app# ls\r\n", "\x1b[3", "2mgreen\x1b[0m\r\n",
                        "\x1b]0;title\x07plain\r0% [Working]\r\n"};
    ct_buf b = CT_BUF_INIT;
    feed_all(c1, 4, &b);
    CHECK_STR(b.data, "root@box:/app# ls\ngreen\nplain0% [Working]\n");
    ct_buf_free(&b);

    /* OSC ended by ESC \ ; charset designation ESC ( B ; DEL and BEL dropped */
    const char *c2[] = {"a\x1b]2;x\x1b\\b\x1b(Bc\x7f\x07"
                        "d"};
    feed_all(c2, 1, &b);
    CHECK_STR(b.data, "abcd");
    ct_buf_free(&b);

    /* an unterminated escape stops at the line break instead of eating the next line */
    const char *c3[] = {"x\x1b]0;never ends\n{\"type\":\"user\"}\n"};
    feed_all(c3, 1, &b);
    CHECK_STR(b.data, "x\n{\"type\":\"user\"}\n");
    ct_buf_free(&b);

    /* an empty chunk still leaves a C string */
    const char *c4[] = {"\r"};
    feed_all(c4, 1, &b);
    CHECK(b.data != NULL && b.len == 0 && b.data[0] == '\0');
    ct_buf_free(&b);
}

static const char *action_of(ct_trajectory *t, const char *name, const char *input_json,
                             ct_step_kind *kind, size_t *n_files)
{
    json_t *in = input_json ? json_loads(input_json, 0, NULL) : NULL;
    ct_step *s = ct_traj_add_step(t);
    ct_fmt_claude_tool(t, s, name, in);
    json_decref(in);
    if (kind) *kind = s->kind;
    if (n_files) *n_files = s->n_files;
    return s->action;
}

static void test_claude_actions(void)
{
    ct_trajectory *t = ct_traj_new("claude-code", "x");
    ct_step_kind k;
    size_t nf;
    CHECK_STR(action_of(t, "Bash",
                        "{\"command\": \"ls -la\", \"description\": \"List\", \"timeout\": 5000}",
                        &k, NULL),
              "ls -la\n# description: List\n# timeout: 5000");
    CHECK_INT(k, CT_KIND_SEARCH); /* ls is exploration */
    CHECK_STR(action_of(t, "Bash", "{\"command\": \"make\"}", &k, NULL), "make");
    CHECK_INT(k, CT_KIND_BASH);
    CHECK_STR(action_of(t, "Read",
                        "{\"file_path\": \"/app/x.py\", \"offset\": 1500, \"limit\": 10}", &k, &nf),
              "Read file_path=\"/app/x.py\" offset=1500 limit=10");
    CHECK_INT(k, CT_KIND_READ);
    CHECK_INT(nf, 1);
    CHECK_INT(t->steps[t->n_steps - 1].files[0].line_start, 1500);
    CHECK_INT(t->steps[t->n_steps - 1].files[0].line_end, 1509);
    CHECK_STR(action_of(t, "Write", "{\"file_path\": \"/a\", \"content\": \"hi\\n\"}", &k, &nf),
              "Write /a\n--- content ---\nhi\n");
    CHECK_INT(k, CT_KIND_CREATE);
    CHECK_STR(t->steps[t->n_steps - 1].files[0].op, "create");
    CHECK_STR(action_of(t, "Edit",
                        "{\"file_path\": \"/a\", \"old_string\": \"x\", \"new_string\": \"y\", "
                        "\"replace_all\": true}",
                        &k, &nf),
              "Edit /a\n--- old_string ---\nx\n--- new_string ---\ny\n# replace_all: true");
    CHECK_INT(k, CT_KIND_EDIT);
    CHECK_STR(t->steps[t->n_steps - 1].files[0].old_text, "x");
    CHECK_STR(action_of(t, "TodoWrite",
                        "{\"todos\": [{\"content\": \"A\", \"status\": \"pending\"}]}", &k, NULL),
              "TodoWrite\n- [pending] A");
    CHECK_INT(k, CT_KIND_THINK);
    CHECK_STR(action_of(t, "Glob", "{\"pattern\": \"**/*.py\"}", &k, NULL),
              "Glob pattern=\"**/*.py\"");
    CHECK_INT(k, CT_KIND_SEARCH);
    CHECK_STR(action_of(t, "Task", "{\"description\": \"d\", \"subagent_type\": \"g\"}", &k, NULL),
              "Task description=\"d\" subagent_type=\"g\"");
    CHECK_INT(k, CT_KIND_OTHER);
    CHECK_STR(action_of(t, "Weird", NULL, &k, NULL), "Weird");
    CHECK_STR(action_of(t, "Weird", "[1, 2]", &k, NULL), "Weird [1,2]");
    ct_traj_free(t);
}

static void test_exit_codes(void)
{
    CHECK_INT(ct_fmt_claude_exit_code("Exit code 2\nboom", 1), 2);
    CHECK_INT(ct_fmt_claude_exit_code("Exit code x", 1), 1);
    CHECK_INT(ct_fmt_claude_exit_code("<tool_use_error>no</tool_use_error>", 1), 1);
    CHECK_INT(ct_fmt_claude_exit_code("Exit code 2", 0), 0);
    CHECK_INT(ct_fmt_claude_exit_code(NULL, 1), 1);
}

int main(void)
{
    test_ansi();
    test_claude_actions();
    test_exit_codes();
    return check_report();
}

/* Unit tests of the protocol library (ctproto): framing, JSON-RPC parsing (including the
 * large-string fast path), UTF-8/UTF-16 positions, URIs and the LSP shapes of core values. */
#include "check.h"

#include "ct/buf.h"
#include "ctp/frame.h"
#include "ctp/lsp.h"
#include "ctp/pos.h"
#include "ctp/rpc.h"

#include <stdlib.h>
#include <string.h>

static void test_frames(void)
{
    ct_frame_reader r;
    ct_frame_init(&r, 1000);
    char *body;
    size_t len;
    char why[256];
    const char *two = "Content-Length: 2\r\n\r\n{}content-length:3\r\nContent-Type: x\r\n\r\n[1]";
    /* byte by byte */
    int got = 0;
    for (size_t i = 0; two[i]; i++) {
        ct_frame_feed(&r, two + i, 1);
        int e;
        while ((e = ct_frame_next(&r, &body, &len, why, sizeof why)) == CT_FRAME_MESSAGE) {
            CHECK_STR(body, got == 0 ? "{}" : "[1]");
            got++;
            free(body);
        }
        CHECK(e == CT_FRAME_MORE);
    }
    CHECK_INT(got, 2);
    CHECK(!ct_frame_partial(&r));

    /* no header: an error, then the next frame */
    const char *junk = "{\"jsonrpc\":\"2.0\"}\r\nContent-Length: 1\r\n\r\n5";
    ct_frame_feed(&r, junk, strlen(junk));
    CHECK_INT(ct_frame_next(&r, &body, &len, why, sizeof why), CT_FRAME_ERROR);
    CHECK_INT(ct_frame_next(&r, &body, &len, why, sizeof why), CT_FRAME_MESSAGE);
    CHECK_STR(body, "5");
    free(body);

    /* over the limit: skipped without being stored, then the next frame */
    const char *big = "Content-Length: 5000\r\n\r\n";
    ct_frame_feed(&r, big, strlen(big));
    CHECK_INT(ct_frame_next(&r, &body, &len, why, sizeof why), CT_FRAME_ERROR);
    CHECK(strstr(why, "5000") != NULL);
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 5; i++) {
        ct_frame_feed(&r, chunk, sizeof chunk);
        CHECK(ct_frame_buffered(&r) == 0);
    }
    ct_frame_feed(&r, "Content-Length: 2\r\n\r\nok", 23);
    CHECK_INT(ct_frame_next(&r, &body, &len, why, sizeof why), CT_FRAME_MESSAGE);
    CHECK_STR(body, "ok");
    free(body);

    /* malformed lengths and headers */
    const char *bad[] = {"Content-Length: -1\r\n\r\n", "Content-Length:\r\n\r\n",
                         "X-Other: 1\r\n\r\n", "Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
                         "Content-Length: 999999999999999999999999\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ct_frame_feed(&r, bad[i], strlen(bad[i]));
        CHECK_INT(ct_frame_next(&r, &body, &len, why, sizeof why), CT_FRAME_ERROR);
        int e;
        while ((e = ct_frame_next(&r, &body, &len, why, sizeof why)) != CT_FRAME_MORE)
            if (e == CT_FRAME_MESSAGE) free(body);
    }
    ct_frame_feed(&r, "Content-Length: 1\r\n\r\n7", 22);
    CHECK_INT(ct_frame_next(&r, &body, &len, why, sizeof why), CT_FRAME_MESSAGE);
    CHECK_STR(body, "7");
    free(body);
    /* half a message is "partial" (a client that disappears) */
    ct_frame_feed(&r, "Content-Length: 10\r\n\r\n{\"a\"", 26);
    CHECK_INT(ct_frame_next(&r, &body, &len, why, sizeof why), CT_FRAME_MORE);
    CHECK(ct_frame_partial(&r));
    ct_frame_free(&r);

    size_t n;
    char *enc = ct_frame_encode("{}", 2, &n);
    CHECK_STR(enc, "Content-Length: 2\r\n\r\n{}");
    CHECK_INT(n, 23);
    free(enc);
}

static int parse(const char *s, ct_rpc_msg *m)
{
    json_t *bad;
    char why[256];
    int rc = ct_rpc_parse(s, strlen(s), m, &bad, why, sizeof why);
    json_decref(bad);
    return rc;
}

static void test_rpc(void)
{
    ct_rpc_msg m;
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"params\":{}}", &m), 0);
    CHECK(m.kind == CT_RPC_REQUEST);
    CHECK_STR(m.method, "a");
    ct_rpc_msg_free(&m);
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",\"method\":\"n\"}", &m), 0);
    CHECK(m.kind == CT_RPC_NOTIFICATION && m.id == NULL);
    ct_rpc_msg_free(&m);
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":null}", &m), 0);
    CHECK(m.kind == CT_RPC_RESPONSE && json_is_null(m.result));
    ct_rpc_msg_free(&m);
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":", &m), CT_RPC_PARSE_ERROR);
    CHECK_INT(parse("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"a\"}", &m), CT_RPC_INVALID_REQUEST);
    CHECK_INT(parse("[1]", &m), CT_RPC_INVALID_REQUEST);
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"a\"}", &m),
              CT_RPC_INVALID_REQUEST);
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"params\":\"s\"}", &m),
              CT_RPC_INVALID_REQUEST);
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",\"id\":1}", &m), CT_RPC_INVALID_REQUEST);
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}", &m), CT_RPC_PARSE_ERROR);

    /* The large-string fast path gives the same tree as jansson: escapes, surrogate pairs,
     * NUL, several big strings, arrays, and a big key kept as a key. */
    ct_buf big = CT_BUF_INIT;
    for (int i = 0; i < 3000; i++)
        ct_buf_puts(&big, "a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude42\\u0000/");
    ct_buf key = CT_BUF_INIT; /* jansson refuses NUL in keys */
    for (int i = 0; i < 3000; i++)
        ct_buf_puts(&key, "k\\u00e9");
    ct_buf body = CT_BUF_INIT;
    ct_buf_printf(
        &body,
        "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"text\":\"%s\",\"list\":[\"%s\", 1],"
        "\"%s\": true}}",
        big.data, big.data, key.data);
    json_error_t je;
    json_t *ref = json_loadb(body.data, body.len, JSON_ALLOW_NUL, &je);
    CHECK(ref != NULL);
    CHECK_INT(ct_rpc_parse(body.data, body.len, &m, &(json_t *){NULL}, NULL, 0), 0);
    CHECK(json_equal(m.root, ref));
    json_t *t = json_object_get(m.params, "text");
    CHECK(json_string_length(t) == 3000 * 14);
    CHECK(t && memcmp(json_string_value(t), "a\"b\\c\n\xc3\xa9\xf0\x9f\x99\x82\0/", 14) == 0);
    ct_rpc_msg_free(&m);
    json_decref(ref);
    /* ... and falls back to jansson's errors on what it does not accept */
    ct_buf_clear(&body);
    ct_buf_printf(&body,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"text\":\"%s\\ud800\"}}",
                  big.data);
    CHECK_INT(parse(body.data, &m), CT_RPC_PARSE_ERROR);
    ct_buf_clear(&body);
    ct_buf_printf(&body, "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"text\":\"%s\xc3\"}}",
                  big.data);
    CHECK_INT(parse(body.data, &m), CT_RPC_PARSE_ERROR);
    ct_buf_clear(&body);
    ct_buf_printf(&body, "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"text\":\"%s",
                  big.data);
    CHECK_INT(parse(body.data, &m), CT_RPC_PARSE_ERROR);
    ct_buf_free(&body);
    ct_buf_free(&big);
    ct_buf_free(&key);

    size_t n;
    char *out = ct_rpc_encode(ct_rpc_error(NULL, CT_RPC_PARSE_ERROR, "bad", NULL), &n);
    CHECK(strstr(out, "\"id\":null") && strstr(out, "-32700"));
    free(out);
    json_t *j = ct_json_text("ok\xff");
    CHECK_STR(json_string_value(j), "ok\xef\xbf\xbd");
    json_decref(j);
}

static void test_positions(void)
{
    /* "aé🙂b\r\nx\ry" : é is 2 bytes / 1 unit, 🙂 is 4 bytes / 2 UTF-16 units */
    const char *s = "a\xc3\xa9\xf0\x9f\x99\x82"
                    "b\r\nx\ry";
    ct_text t;
    ct_text_init(&t, s, strlen(s));
    CHECK_INT(t.n_lines, 3);
    ct_lsp_pos p = ct_pos_from_byte(&t, 7, CT_POS_UTF16); /* the 'b' */
    CHECK_INT(p.line, 0);
    CHECK_INT(p.character, 4);
    CHECK_INT(ct_pos_from_byte(&t, 7, CT_POS_UTF8).character, 7);
    CHECK_INT(ct_pos_from_byte(&t, 7, CT_POS_UTF32).character, 3);
    CHECK_INT(ct_pos_from_byte(&t, 5, CT_POS_UTF16).character, 2); /* inside 🙂 → its start */
    CHECK_INT(ct_pos_from_byte(&t, 9, CT_POS_UTF16).character, 5); /* the \n of \r\n → line end */
    p = ct_pos_from_byte(&t, 10, CT_POS_UTF16);
    CHECK(p.line == 1 && p.character == 0);
    p = ct_pos_from_byte(&t, 12, CT_POS_UTF16);
    CHECK(p.line == 2 && p.character == 0); /* lone \r ends a line */
    CHECK_INT(ct_pos_to_byte(&t, (ct_lsp_pos){0, 4}, CT_POS_UTF16), 7);
    CHECK_INT(ct_pos_to_byte(&t, (ct_lsp_pos){0, 3}, CT_POS_UTF16), 3); /* mid-surrogate → start */
    CHECK_INT(ct_pos_to_byte(&t, (ct_lsp_pos){0, 7}, CT_POS_UTF8), 7);
    CHECK_INT(ct_pos_to_byte(&t, (ct_lsp_pos){0, 99}, CT_POS_UTF16),
              8); /* past the end: line end */
    CHECK_INT(ct_pos_to_byte(&t, (ct_lsp_pos){9, 0}, CT_POS_UTF16), strlen(s));
    CHECK_INT(ct_pos_to_byte(&t, (ct_lsp_pos){-1, 0}, CT_POS_UTF16), 0);
    ct_text_free(&t);
    /* an invalid byte counts as one unit */
    CHECK_INT(ct_pos_units("a\xff"
                           "b",
                           3, CT_POS_UTF16),
              3);
    CHECK_INT(ct_pos_units("a\xff"
                           "b",
                           3, CT_POS_UTF8),
              3);
    /* empty text */
    ct_text_init(&t, "", 0);
    p = ct_pos_from_byte(&t, 5, CT_POS_UTF16);
    CHECK(p.line == 0 && p.character == 0);
    ct_text_free(&t);
}

static void test_uris_and_shapes(void)
{
    char *u = ct_lsp_uri_from_path("/tmp/a b/c#d.json");
    CHECK_STR(u, "file:///tmp/a%20b/c%23d.json");
    char *p = ct_lsp_path_from_uri(u);
    CHECK_STR(p, "/tmp/a b/c#d.json");
    free(u);
    free(p);
    CHECK(ct_lsp_path_from_uri("untitled:1") == NULL);
    CHECK(ct_lsp_path_from_uri("file:///a%2") == NULL);
    CHECK(ct_lsp_path_from_uri("file:///a%00b") == NULL);
    p = ct_lsp_path_from_uri("file://localhost/x");
    CHECK_STR(p, "/x");
    free(p);
    CHECK_INT(ct_lsp_severity_from_name("hint"), CT_LSP_HINT);
    CHECK_INT(ct_lsp_severity_from_name("loud"), 0);

    ct_trajectory *t = ct_traj_new("test", "/x.json");
    t->id = ct_traj_strdup(t, "/x.json");
    for (int i = 0; i < 3; i++) {
        ct_step *s = ct_traj_add_step(t);
        s->kind = CT_KIND_BASH;
        s->action = ct_traj_printf(t, "cmd %d ```x```", i + 1);
    }
    ct_analysis *a = ct_analysis_new(t, "test");
    int ev[] = {1, 2};
    ct_analysis_set_label(a, 2, CT_LABEL_UNUSEFUL, "repeat-command", "Step 2 repeats step 1.", ev,
                          2);
    ct_analysis_set_label(a, 3, CT_LABEL_INCORRECT, "bad-edit", "Wrong file.", NULL, 0);
    ct_lsp_diag_opts o = {CT_LSP_ERROR, CT_LSP_HINT, "file:///d/rules.md", 0};
    CHECK(ct_lsp_diagnostic(t, &a->labels[0], json_object(), &o, NULL, NULL) == NULL);
    json_t *d = ct_lsp_diagnostic(t, &a->labels[1], json_object(), &o, NULL, NULL);
    CHECK_INT(json_integer_value(json_object_get(d, "severity")), CT_LSP_HINT);
    CHECK_INT(json_integer_value(json_array_get(json_object_get(d, "tags"), 0)), 1);
    CHECK_STR(json_string_value(json_object_get(d, "code")), "repeat-command");
    CHECK_STR(json_string_value(json_object_get(json_object_get(d, "codeDescription"), "href")),
              "file:///d/rules.md#repeat-command");
    CHECK_STR(json_string_value(json_object_get(d, "message")),
              "Step 2 unuseful: Step 2 repeats step 1.");
    json_t *data = json_object_get(d, "data");
    CHECK_STR(json_string_value(json_object_get(data, "traj_id")), "/x.json");
    CHECK_INT(json_integer_value(json_object_get(data, "step_id")), 2);
    CHECK_STR(json_string_value(json_object_get(data, "label")), "unuseful");
    json_decref(d);
    d = ct_lsp_diagnostic(t, &a->labels[2], json_object(), &o, NULL, NULL);
    CHECK_INT(json_integer_value(json_object_get(d, "severity")), CT_LSP_ERROR);
    CHECK(json_object_get(d, "tags") == NULL);
    json_decref(d);
    /* the hover fences the action with more backticks than it contains */
    char *md = ct_lsp_hover_markdown(t, a, &t->steps[2]);
    CHECK(strncmp(md, "### Step 3 · bash", 18) == 0);
    CHECK(strstr(md, "````bash\ncmd 3 ```x```\n````") != NULL);
    CHECK(strstr(md, "**Label:** ⚠ incorrect · `bad-edit`") != NULL);
    free(md);
    /* an empty action (a killed turn) still gives a well-formed card */
    t->steps[0].action = "";
    md = ct_lsp_hover_markdown(t, a, &t->steps[0]);
    CHECK(strstr(md, "```bash\n\n```\n") != NULL);
    free(md);
    md = ct_lsp_inspect_markdown(t, a, &t->steps[1]);
    CHECK(strstr(md, "# Step 2 of 3") != NULL && strstr(md, "**Evidence:** steps 1, 2") != NULL);
    free(md);
    /* ranges from byte ranges, else from line ranges */
    const char *text = "[\n  {\"a\": 1},\n  {\"b\": 2}\n]\n";
    ct_text tx;
    ct_text_init(&tx, text, strlen(text));
    ct_source_ref src = {"/x.json", 4, 12, 2, 2};
    size_t x, y;
    CHECK_INT(ct_lsp_src_span(&tx, &src, &x, &y), 0);
    CHECK(x == 4 && y == 12);
    ct_source_ref lines = {"/x.json", 0, 0, 2, 3};
    CHECK_INT(ct_lsp_src_span(&tx, &lines, &x, &y), 0);
    CHECK(x == 2 && y == 24);
    ct_source_ref none = {NULL, 0, 0, 0, 0};
    CHECK_INT(ct_lsp_src_span(&tx, &none, &x, &y), -1);
    ct_text_free(&tx);
    ct_analysis_free(a);
    ct_traj_free(t);
}

int main(void)
{
    test_frames();
    test_rpc();
    test_positions();
    test_uris_and_shapes();
    return check_report();
}

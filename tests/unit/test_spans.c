/* Source spans (ct/spans.h): grammars (ABI + queries), definitions per language, locating text
 * (exact / whitespace / fuzzy / moved on), container path mapping, placing the fixture run's
 * edits on tests/fixtures/spans/ws (non-ASCII lines, a CRLF file, a deleted and a renamed file),
 * an editor buffer instead of the disk, incremental re-parse, and the syntax check.
 * Every byte offset, line and column below was counted by hand from the fixture text. */
#include "check.h"
#include "ct/edits.h"
#include "ct/load.h"
#include "ct/spans.h"
#include "spans/grammar.h"

#include <stdlib.h>
#include <string.h>

#define WS CT_FIXTURES "/spans/ws"

static void check_span(const ct_span *s, size_t b0, size_t b1, int l0, int c0, int l1, int c1,
                       int line)
{
    if (s->byte_start != b0 || s->byte_end != b1 || s->line_start != l0 || s->col_start != c0 ||
        s->line_end != l1 || s->col_end != c1) {
        fprintf(stderr,
                "test_spans.c:%d: span [%zu,%zu) %d:%d-%d:%d, expected [%zu,%zu) %d:%d-%d:%d\n",
                line, s->byte_start, s->byte_end, s->line_start, s->col_start, s->line_end,
                s->col_end, b0, b1, l0, c0, l1, c1);
        check_failures++;
    }
    check_count++;
}
#define SPAN(s, b0, b1, l0, c0, l1, c1) check_span((s), b0, b1, l0, c0, l1, c1, __LINE__)

static void test_grammars(void)
{
    static const char *const langs[] = {"json", "python", "javascript", "typescript", "tsx", "c",
                                        "cpp",  "go",     "rust",       "java",       "bash"};
    CHECK_INT(ct_spans_lang_count(), 11);
    for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++) {
        ct_error err;
        ct_error_clear(&err);
        int rc = ct_spans_lang_ok(langs[i], &err);
        if (rc != CT_OK) fprintf(stderr, "grammar %s: %s\n", langs[i], err.msg);
        CHECK_INT(rc, CT_OK);
        int abi = ct_spans_lang_abi(langs[i]);
        CHECK(abi >= 13 && abi <= 14);
        /* what the configure step read in parser.c is what the compiled grammar reports */
        CHECK_INT(ct__grammar_declared_abi(langs[i]), abi);
    }
    CHECK(ct_spans_lang_ok("cobol", NULL) == CT_ENOTFOUND);
    CHECK_STR(ct_spans_lang_for_path("/testbed/src/a.PY"), "python");
    CHECK_STR(ct_spans_lang_for_path("x.tsx"), "tsx");
    CHECK_STR(ct_spans_lang_for_path("x.hpp"), "cpp");
    CHECK(ct_spans_lang_for_path("Makefile") == NULL);
    CHECK(ct_spans_lang_for_path("notes.txt") == NULL);
}

/* One small program per language: the innermost definition around a marked position. */
static void test_definitions(void)
{
    static const struct {
        const char *lang, *src, *at, *kind, *name;
    } cases[] = {
        {"python", "class A:\n    def m(self):\n        return 1\n", "return", "method", "m"},
        {"python", "def f(x):\n    return x\n", "return", "function", "f"},
        {"javascript", "class K {\n  run() { return 1; }\n}\n", "return", "method", "run"},
        {"javascript", "const g = (a) => {\n  return a;\n};\n", "return", "function", "g"},
        {"typescript", "interface P { x: number }\nfunction h(p: P): number {\n  return p.x;\n}\n",
         "return", "function", "h"},
        {"tsx", "function C() {\n  return <div>hi</div>;\n}\n", "<div>", "function", "C"},
        {"c", "static int *get(void)\n{\n    return 0;\n}\n", "return", "function", "get"},
        {"cpp", "struct S {\n  int v() const { return 1; }\n};\n", "return", "method", "v"},
        {"cpp", "int S::w() {\n  return 2;\n}\n", "return", "method", "S::w"},
        {"go", "package m\n\nfunc (s *T) Run() int {\n\treturn 1\n}\n", "return", "method", "Run"},
        {"rust", "impl T {\n    fn go(&self) -> i32 {\n        1\n    }\n}\n", "1", "method", "go"},
        {"java", "class J {\n  int k() {\n    return 3;\n  }\n}\n", "return", "method", "k"},
        {"bash", "deploy() {\n  echo hi\n}\n", "echo", "function", "deploy"},
        {"json", "{\"a\": {\"b\": 1}}\n", "1", "class", "b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ct_spans_doc *d = NULL;
        size_t n = strlen(cases[i].src);
        CHECK_INT(ct_spans_doc_open(cases[i].lang, cases[i].src, n, &d, NULL), CT_OK);
        if (!d) continue;
        size_t at = (size_t)(strstr(cases[i].src, cases[i].at) - cases[i].src);
        ct_span_def def;
        int found = ct_spans_doc_enclosing(d, at, at + strlen(cases[i].at), &def);
        CHECK(found);
        if (found) {
            if (strcmp(def.kind, cases[i].kind) || strcmp(def.name, cases[i].name))
                fprintf(stderr, "case %zu (%s): got %s %s\n", i, cases[i].lang, def.kind, def.name);
            CHECK_STR(def.kind, cases[i].kind);
            CHECK_STR(def.name, cases[i].name);
        }
        CHECK_INT(ct_spans_doc_errors(d, 0, n), 0);
        ct_spans_doc_free(d);
    }
}

static void test_locate(void)
{
    ct_span_match m;
    /* exact; with two occurrences the one nearest the hint line wins */
    const char *t = "a = 1\nb = 2\na = 1\n";
    CHECK_INT(ct_spans_locate(t, strlen(t), "a = 1\n", 6, 0, &m), CT_MATCH_EXACT);
    SPAN(&m.span, 0, 5, 0, 0, 0, 5);
    CHECK_INT(m.n_exact, 2);
    CHECK_INT(ct_spans_locate(t, strlen(t), "a = 1", 5, 3, &m), CT_MATCH_EXACT);
    SPAN(&m.span, 12, 17, 2, 0, 2, 5);
    /* whitespace-insensitive: re-indented and re-wrapped */
    const char *u = "if x:\n    call(a,\n         b)\n";
    CHECK_INT(ct_spans_locate(u, strlen(u), "call(a, b)", 10, 0, &m), CT_MATCH_WHITESPACE);
    SPAN(&m.span, 10, 29, 1, 4, 2, 11);
    /* fuzzy: 3 of 4 lines still there, one changed */
    const char *v = "one\ntwo\nTHREE\nfour\nfive\n";
    CHECK_INT(ct_spans_locate(v, strlen(v), "two\nthree\nfour\nfive\n", 20, 0, &m), CT_MATCH_FUZZY);
    SPAN(&m.span, 4, 23, 1, 0, 4, 4);
    CHECK(m.score > 0.74 && m.score < 0.76);
    /* moved on */
    CHECK_INT(ct_spans_locate(v, strlen(v), "six\nseven\n", 10, 0, &m), CT_MATCH_NONE);
    /* blank needle, NULL text */
    CHECK_INT(ct_spans_locate(v, strlen(v), "\n  \n", 4, 0, &m), CT_MATCH_NONE);
    CHECK_INT(ct_spans_locate(NULL, 0, "x", 1, 0, &m), CT_MATCH_NONE);
    /* byte columns on a non-ASCII line: "é" is 2 bytes */
    const char *w = "s = \"é\" + x\n";
    CHECK_INT(ct_spans_locate(w, strlen(w), "+ x", 3, 0, &m), CT_MATCH_EXACT);
    SPAN(&m.span, 9, 12, 0, 9, 0, 12);
}

static void test_paths(void)
{
    char root[256], out[1024];
    const char *paths[] = {"/testbed/app/calc.py", "/testbed/lib/strutil.c", "lib/strutil.c",
                           "/testbed/app/gone.py", "/elsewhere/app/greet.js"};
    CHECK_INT(ct_spans_detect_root(WS, paths, 5, root, sizeof root), CT_OK);
    CHECK_STR(root, "/testbed"); /* 2 votes; "" and "/elsewhere" have 1 each */
    CHECK_INT(ct_spans_map_path(WS, "/testbed", NULL, 0, "/testbed/app/calc.py", out, sizeof out),
              CT_OK);
    CHECK_STR(out, WS "/app/calc.py");
    /* deleted since the run: where it would be */
    CHECK_INT(ct_spans_map_path(WS, "/testbed", NULL, 0, "/testbed/app/gone.py", out, sizeof out),
              CT_ENOTFOUND);
    CHECK_STR(out, WS "/app/gone.py");
    /* another container layout: the longest existing suffix */
    CHECK_INT(
        ct_spans_map_path(WS, "/testbed", NULL, 0, "/workspace/proj/crlf/main.rs", out, sizeof out),
        CT_OK);
    CHECK_STR(out, WS "/crlf/main.rs");
    /* explicit mapping wins (the longest `from`) */
    ct_path_map maps[] = {{"/repo", "/nowhere"}, {"/repo/src/", WS "/app"}};
    CHECK_INT(ct_spans_map_path(WS, "/testbed", maps, 2, "/repo/src/greet.js", out, sizeof out),
              CT_OK);
    CHECK_STR(out, WS "/app/greet.js");
    CHECK_INT(ct_spans_map_path(WS, NULL, maps, 2, "/repo/x.py", out, sizeof out), CT_ENOTFOUND);
    CHECK_STR(out, "/nowhere/x.py");
    /* never outside the workspace */
    CHECK_INT(
        ct_spans_map_path(WS, "/testbed", NULL, 0, "/testbed/../../etc/passwd", out, sizeof out),
        CT_EINVAL);
    CHECK_INT(ct_spans_detect_root(WS, paths + 3, 1, root, sizeof root), CT_ENOTFOUND);
}

static const char *calc_buffer(void *ud, const char *file, size_t *len)
{
    (void)ud;
    static const char text[] = "# edited in the editor\n"
                               "def add(a, b):\n"
                               "    return a + b\n";
    if (!strstr(file, "/app/calc.py")) return NULL;
    *len = sizeof text - 1;
    return text;
}

static ct_edit_place *place_fixture(ct_edit_list *l, ct_traj_list *tl, const ct_spans_opts *o,
                                    char *root)
{
    ct_error err;
    if (ct_load_path(CT_FIXTURES "/spans/run_openhands.json", NULL, tl, NULL, NULL, &err) !=
            CT_OK ||
        tl->n != 1)
        return NULL;
    ct_edits_from_traj(tl->items[0], l, NULL);
    ct_edit_place *p = NULL;
    if (ct_spans_place_edits(l, o, &p, root, 256, &err) != CT_OK) return NULL;
    return p;
}

static void test_place_fixture(void)
{
    ct_traj_list tl = {0};
    ct_edit_list l = {0};
    char root[256];
    ct_spans_opts o = {0};
    o.workspace = WS;
    ct_edit_place *p = place_fixture(&l, &tl, &o, root);
    CHECK(p != NULL);
    CHECK_INT(l.n, 16);
    if (!p || l.n != 16) goto out;
    CHECK_STR(root, "/testbed");
    static const char *const status[16] = {"found",
                                           "found",
                                           "found",
                                           "found",
                                           "found",
                                           "found",
                                           "found",
                                           "found",
                                           "found",
                                           "found",
                                           "found",
                                           "file_missing",
                                           "file_missing",
                                           "moved_on",
                                           "not_reconstructed",
                                           "not_reconstructed"};
    for (int i = 0; i < 16; i++)
        CHECK_STR(p[i].status, status[i]);
    /* step 2: "    return a + b" in add(); line 0 has "—" (3 bytes) and "é" (2 bytes) */
    CHECK_INT(p[1].match.kind, CT_MATCH_EXACT);
    SPAN(&p[1].match.span, 55, 71, 2, 0, 2, 16);
    CHECK(p[1].has_def);
    CHECK_STR(p[1].def.kind, "function");
    CHECK_STR(p[1].def.name, "add");
    SPAN(&p[1].def.span, 40, 71, 1, 0, 2, 16);
    CHECK_STR(p[1].lang, "python");
    /* step 3 wrote "def mul(a, b:" + body + "class Acc:": 2 of 3 lines remain */
    CHECK_INT(p[2].match.kind, CT_MATCH_FUZZY);
    SPAN(&p[2].match.span, 93, 118, 6, 4, 9, 10);
    /* step 4: __init__'s last line and push, inside class Acc */
    CHECK_INT(p[3].match.kind, CT_MATCH_EXACT);
    SPAN(&p[3].match.span, 143, 255, 11, 0, 15, 25);
    CHECK_STR(p[3].def.kind, "class");
    CHECK_STR(p[3].def.name, "Acc");
    SPAN(&p[3].def.span, 108, 270, 9, 0, 15, 40);
    /* step 5 */
    SPAN(&p[4].match.span, 74, 88, 5, 0, 5, 14);
    CHECK_STR(p[4].def.name, "mul");
    SPAN(&p[4].def.span, 74, 105, 5, 0, 6, 16);
    /* step 6: a function inside a class is a method */
    SPAN(&p[5].match.span, 230, 270, 15, 0, 15, 40);
    CHECK_STR(p[5].def.kind, "method");
    CHECK_STR(p[5].def.name, "push");
    SPAN(&p[5].def.span, 171, 270, 13, 4, 15, 40);
    /* step 7: "Ça va" — byte columns, 34 bytes for 33 characters */
    SPAN(&p[6].match.span, 124, 158, 6, 0, 6, 34);
    CHECK_STR(p[6].def.kind, "function");
    CHECK_STR(p[6].def.name, "bonjour");
    SPAN(&p[6].def.span, 102, 160, 5, 6, 7, 1);
    /* step 8: sed s/Hello, /Hi, / — "Hi," (trailing blank trimmed) inside greet() */
    SPAN(&p[7].match.span, 73, 76, 2, 10, 2, 13);
    CHECK_STR(p[7].def.name, "greet");
    /* step 9, CRLF file: one line, exact */
    SPAN(&p[8].match.span, 105, 124, 6, 0, 6, 19);
    CHECK_STR(p[8].def.name, "total");
    SPAN(&p[8].def.span, 74, 127, 5, 0, 7, 1);
    /* step 10, CRLF file: two "\n" lines found whitespace-insensitively */
    CHECK_INT(p[9].match.kind, CT_MATCH_WHITESPACE);
    SPAN(&p[9].match.span, 17, 67, 1, 4, 2, 22);
    CHECK_STR(p[9].def.name, "main");
    SPAN(&p[9].def.span, 0, 70, 0, 0, 3, 1);
    /* step 11: git apply hunk (relative path), no single enclosing definition */
    SPAN(&p[10].match.span, 130, 248, 7, 0, 14, 1);
    CHECK(!p[10].has_def);
    /* steps 12, 13: deleted / renamed since the run */
    CHECK(p[11].file && strcmp(p[11].file, WS "/app/old_module.py") == 0);
    CHECK(p[12].file && strcmp(p[12].file, WS "/app/renamed_before.ts") == 0);
out:
    ct_spans_places_free(p, l.n);
    ct_edits_free(&l);
    ct_traj_list_free(&tl);

    /* the same run against an open editor buffer for calc.py: one line added on top */
    ct_traj_list tl2 = {0};
    ct_edit_list l2 = {0};
    o.buffer = calc_buffer;
    o.root = "/testbed";
    p = place_fixture(&l2, &tl2, &o, root);
    if (p && l2.n == 16) {
        CHECK_STR(p[1].status, "found");
        SPAN(&p[1].match.span, 38, 54, 2, 0, 2, 16); /* 23 + 15 bytes before it */
        CHECK_STR(p[4].status, "moved_on");          /* mul is not in the buffer */
        CHECK_STR(p[6].status, "found");             /* greet.js still read from disk */
    } else {
        CHECK(0);
    }
    ct_spans_places_free(p, l2.n);
    ct_edits_free(&l2);
    ct_traj_list_free(&tl2);
}

/* A mini-SWE-agent run under another container root (/workspace/proj): a whole-file heredoc, a
 * sed on a relative path after `cd`, an apply_patch hunk. */
static void test_place_mini(void)
{
    ct_traj_list tl = {0};
    ct_error err;
    CHECK_INT(ct_load_path(CT_FIXTURES "/spans/run_mini.traj.json", NULL, &tl, NULL, NULL, &err),
              CT_OK);
    if (tl.n != 1) return;
    ct_edit_list l = {0};
    ct_edits_from_traj(tl.items[0], &l, NULL);
    ct_spans_opts o = {0};
    o.workspace = WS;
    ct_edit_place *p = NULL;
    char root[256];
    CHECK_INT(ct_spans_place_edits(&l, &o, &p, root, sizeof root, &err), CT_OK);
    CHECK_INT(l.n, 3);
    if (p && l.n == 3) {
        CHECK_STR(root, "/workspace/proj");
        CHECK_STR(l.items[0].via, "write"); /* the loader kept the heredoc as a create touch */
        CHECK_STR(p[0].status, "found");
        SPAN(&p[0].match.span, 0, 199, 0, 0, 9, 36); /* all of greet.js but its last newline */
        CHECK(!p[0].has_def);
        CHECK_STR(l.items[1].via, "sed");
        CHECK_STR(l.items[1].path, "/workspace/proj/app/calc.py"); /* after `cd /workspace/proj` */
        SPAN(&p[1].match.span, 59, 71, 2, 4, 2, 16);               /* "return a + b" */
        CHECK_STR(p[1].def.name, "add");
        CHECK_STR(l.items[2].via, "apply_patch");
        CHECK_STR(l.items[2].old_text, "    int n = 1;\n");
        SPAN(&p[2].match.span, 95, 109, 5, 0, 5, 14); /* "    int n = 0;" */
        CHECK_STR(p[2].def.kind, "function");
        CHECK_STR(p[2].def.name, "count_char");
        SPAN(&p[2].def.span, 55, 171, 3, 0, 9, 1);
    }
    ct_spans_places_free(p, l.n);
    ct_edits_free(&l);
    ct_traj_list_free(&tl);
}

static void test_incremental(void)
{
    const char *src = "def f():\n    return 1\n";
    ct_spans_doc *d = NULL;
    CHECK_INT(ct_spans_doc_open("python", src, strlen(src), &d, NULL), CT_OK);
    if (!d) return;
    CHECK_INT(ct_spans_doc_errors(d, 0, strlen(src)), 0);
    /* "1" (byte 20) -> "(" : broken */
    CHECK_INT(ct_spans_doc_edit(d, 20, 21, "(", 1, NULL), CT_OK);
    CHECK(ct_spans_doc_errors(d, 0, 22) > 0);
    /* -> "(2)" : fixed, and a new function after it */
    CHECK_INT(ct_spans_doc_edit(d, 20, 21, "(2)\n\ndef g():\n    pass", 22, NULL), CT_OK);
    size_t n;
    const char *t = ct_spans_doc_text(d, &n);
    CHECK_STR(t, "def f():\n    return (2)\n\ndef g():\n    pass\n");
    CHECK_INT(ct_spans_doc_errors(d, 0, n), 0);
    ct_span_def def;
    CHECK(ct_spans_doc_enclosing(d, 38, 42, &def)); /* "pass" */
    CHECK_STR(def.name, "g");
    SPAN(&def.span, 25, 42, 3, 0, 4, 8);
    CHECK_INT(ct_spans_doc_edit(d, 10, 5, "x", 1, NULL), CT_EINVAL);
    ct_spans_doc_free(d);
}

/* The daemon's kept trees: a clone is independent of its original; placement uses a document
 * the caller holds (opts.doc) instead of reading and parsing the file. */
static ct_spans_doc *held_doc(void *ud, const char *file)
{
    size_t n = strlen(file);
    return n >= 12 && strcmp(file + n - 12, "/app/calc.py") == 0 ? ud : NULL;
}

static void test_clone_and_held_doc(void)
{
    const char *src = "def f():\n    return 1\n";
    ct_spans_doc *d = NULL;
    CHECK_INT(ct_spans_doc_open("python", src, strlen(src), &d, NULL), CT_OK);
    if (!d) return;
    ct_span_def def;
    CHECK(ct_spans_doc_enclosing(d, 13, 21, &def)); /* definitions made before the clone */
    ct_spans_doc *c = ct_spans_doc_clone(d);
    CHECK(c != NULL && ct_spans_doc_clone(NULL) == NULL);
    const char *ins = "\n\ndef g():\n    pass\n"; /* 20 bytes */
    CHECK_INT(ct_spans_doc_edit(c, 0, 0, ins, strlen(ins), NULL), CT_OK);
    size_t n;
    CHECK_STR(ct_spans_doc_text(d, &n), src); /* the original is untouched */
    CHECK_STR(ct_spans_doc_text(c, &n), "\n\ndef g():\n    pass\ndef f():\n    return 1\n");
    CHECK(ct_spans_doc_enclosing(c, 33, 41, &def)); /* "return 1" in the clone */
    CHECK_STR(def.name, "f");
    SPAN(&def.span, 20, 41, 4, 0, 5, 12);
    CHECK(ct_spans_doc_enclosing(d, 13, 21, &def));
    SPAN(&def.span, 0, 21, 0, 0, 1, 12);
    ct_spans_doc_free(c);
    ct_spans_doc_free(d);

    /* run_mini.traj.json onto WS, calc.py held open with two lines inserted at its top */
    ct_traj_list tl = {0};
    ct_error err;
    CHECK_INT(ct_load_path(CT_FIXTURES "/spans/run_mini.traj.json", NULL, &tl, NULL, NULL, &err),
              CT_OK);
    if (tl.n != 1) return;
    ct_edit_list l = {0};
    ct_edits_from_traj(tl.items[0], &l, NULL);
    FILE *f = fopen(WS "/app/calc.py", "rb");
    char buf[4096] = "\n\n";
    size_t got = f ? fread(buf + 2, 1, sizeof buf - 3, f) : 0;
    if (f) fclose(f);
    ct_spans_doc *calc = NULL;
    CHECK_INT(ct_spans_doc_open("python", buf, got + 2, &calc, NULL), CT_OK);
    size_t parsed = 0;
    ct_spans_opts o = {0};
    o.workspace = WS;
    o.doc = held_doc;
    o.ud = calc;
    o.n_parsed = &parsed;
    ct_edit_place *p = NULL;
    CHECK_INT(ct_spans_place_edits(&l, &o, &p, NULL, 0, &err), CT_OK);
    if (p && l.n == 3) {
        SPAN(&p[1].match.span, 61, 73, 4, 4, 4, 16); /* "return a + b", two lines lower */
        CHECK_STR(p[1].def.name, "add");
        CHECK_INT(parsed, 2); /* greet.js and strutil.c; not calc.py */
    }
    ct_spans_places_free(p, l.n);
    parsed = 0;
    o.doc = NULL;
    CHECK_INT(ct_spans_place_edits(&l, &o, &p, NULL, 0, &err), CT_OK);
    if (p && l.n == 3) {
        SPAN(&p[1].match.span, 59, 71, 2, 4, 2, 16); /* from the disk */
        CHECK_INT(parsed, 3);
    }
    ct_spans_places_free(p, l.n);
    ct_spans_doc_free(calc);
    ct_edits_free(&l);
    ct_traj_list_free(&tl);
}

static void test_syntax(void)
{
    ct_syntax_regression r;
    const char *before = "def a():\n    return 1\n\n\ndef b():\n    return 2\n";
    const char *broken = "def a():\n    return 1\n\n\ndef b():\n    return (2\n";
    CHECK_INT(
        ct_spans_syntax_regression("python", before, strlen(before), broken, strlen(broken), &r),
        1);
    CHECK(r.errors_after > 0);
    CHECK_INT(r.errors_before, 0);
    SPAN(&r.changed, 33, 46, 5, 0, 5, 13); /* the changed line "    return (2" */
    /* a clean edit */
    const char *fine = "def a():\n    return 1\n\n\ndef b():\n    return 3\n";
    CHECK_INT(ct_spans_syntax_regression("python", before, strlen(before), fine, strlen(fine), &r),
              0);
    CHECK(r.has_def);
    CHECK_STR(r.def.name, "b");
    /* editing already-broken code is not a regression */
    const char *still = "def a():\n    return 1\n\n\ndef b():\n    return (3\n";
    CHECK_INT(
        ct_spans_syntax_regression("python", broken, strlen(broken), still, strlen(still), &r), 0);
    /* C: a missing semicolon inside one function */
    const char *c0 = "int f(void)\n{\n    return 1;\n}\n";
    const char *c1 = "int f(void)\n{\n    return 1\n}\n";
    CHECK_INT(ct_spans_syntax_regression("c", c0, strlen(c0), c1, strlen(c1), &r), 1);
    CHECK_INT(ct_spans_syntax_regression("cobol", c0, strlen(c0), c1, strlen(c1), &r),
              CT_ENOTFOUND);

    /* the rule on the fixture run: only step 3 broke calc.py */
    ct_traj_list tl = {0};
    ct_error err;
    if (ct_load_path(CT_FIXTURES "/spans/run_openhands.json", NULL, &tl, NULL, NULL, &err) ==
            CT_OK &&
        tl.n == 1) {
        ct_trajectory *t = tl.items[0];
        unsigned char *b = calloc(t->n_steps, 1);
        char **whys = calloc(t->n_steps, sizeof *whys);
        CHECK_INT(ct_spans_syntax_scan(t, b, whys), 1);
        CHECK_INT(b[2], 1);
        CHECK_STR(whys[2], "step 3 left a syntax error in /testbed/app/calc.py at line 6");
        for (size_t i = 0; i < t->n_steps; i++) {
            if (i != 2) CHECK(whys[i] == NULL && b[i] == 0);
            free(whys[i]);
        }
        free(whys);
        char why[256];
        CHECK_INT(ct_spans_rule_syntax_broken(t, 3, why, sizeof why), 1);
        CHECK_STR(why, "step 3 left a syntax error in /testbed/app/calc.py at line 6");
        CHECK_INT(ct_spans_rule_syntax_broken(t, 4, why, sizeof why), 0);
        CHECK_INT(ct_spans_rule_syntax_broken(t, 5, why, sizeof why), 0);
        free(b);
    } else {
        CHECK(0);
    }
    ct_traj_list_free(&tl);
}

/* Bad input: invalid UTF-8, NUL bytes, CRLF, garbage for every grammar, deep nesting. */
static void test_bad_input(void)
{
    static const char junk[] = "def \xff\xfe(\x00\x01 ))) {{{ \"\r\n\r\n\tclass\x80 : ; <<EOF";
    size_t n = sizeof junk - 1;
    for (size_t i = 0; i < ct_spans_lang_count(); i++) {
        ct_spans_doc *d = NULL;
        CHECK_INT(ct_spans_doc_open(ct_spans_lang_name(i), junk, n, &d, NULL), CT_OK);
        if (!d) continue;
        ct_span_def def;
        ct_spans_doc_enclosing(d, 0, n, &def);
        ct_spans_doc_errors(d, 0, n);
        CHECK_INT(ct_spans_doc_edit(d, 3, 9, "\x00\xc3", 2, NULL), CT_OK);
        ct_spans_doc_free(d);
        ct_syntax_regression r;
        CHECK(ct_spans_syntax_regression(ct_spans_lang_name(i), junk, n, junk, 5, &r) >= 0);
    }
    ct_span_match m;
    CHECK_INT(ct_spans_locate(junk, n, "\x01 )))", 5, 0, &m), CT_MATCH_EXACT);
    SPAN(&m.span, 8, 13, 0, 8, 0, 13); /* "def " 0-3, \xff \xfe ( at 4-6, NUL at 7 */
    /* 20,000 nested brackets: no stack trouble */
    size_t dn = 40000;
    char *deep = malloc(dn + 1);
    for (size_t i = 0; i < dn / 2; i++)
        deep[i] = '[', deep[dn - 1 - i] = ']';
    deep[dn] = 0;
    ct_spans_doc *d = NULL;
    CHECK_INT(ct_spans_doc_open("json", deep, dn, &d, NULL), CT_OK);
    CHECK_INT(ct_spans_doc_errors(d, 0, dn), 0);
    ct_spans_doc_free(d);
    deep[dn - 1] = '}';
    CHECK_INT(ct_spans_doc_open("json", deep, dn, &d, NULL), CT_OK);
    CHECK(ct_spans_doc_errors(d, 0, dn) > 0);
    ct_spans_doc_free(d);
    free(deep);
    CHECK_INT(ct_spans_doc_open("python", "x", (size_t)CT_SPANS_MAX_FILE + 1, &d, NULL), CT_ELIMIT);
}

int main(void)
{
    test_grammars();
    test_definitions();
    test_locate();
    test_paths();
    test_place_fixture();
    test_place_mini();
    test_incremental();
    test_clone_and_held_doc();
    test_syntax();
    test_bad_input();
    return check_report();
}

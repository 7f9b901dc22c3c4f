/* test_jsonranges.c — the daemon's step ranges from tree-sitter's JSON grammar
 * (daemon/src/jsonranges.c): objects found for the loaders' spans, an action + observation pair,
 * and every case where the loader's span is kept (an ERROR there, a span that would swallow
 * another step, not JSON, cancelled). Texts are written here; offsets are found in them with
 * strstr, by hand. */
#include "check.h"

#include "../../daemon/src/server.h"

#include <stdlib.h>
#include <string.h>

/* Offset of the n-th (0-based) occurrence of needle in text. */
static size_t at(const char *text, const char *needle, int n)
{
    const char *p = text;
    for (;;) {
        p = strstr(p, needle);
        if (!p) return (size_t)-1;
        if (n-- == 0) return (size_t)(p - text);
        p++;
    }
}

/* A step whose action is bytes [a, b) and observation [oa, ob) (oa == ob: none). */
static ct_step *step(ct_trajectory *t, size_t a, size_t b, size_t oa, size_t ob)
{
    ct_step *s = ct_traj_add_step(t);
    s->kind = CT_KIND_BASH;
    s->action = ct_traj_strdup(t, "true");
    s->src.byte_start = a;
    s->src.byte_end = b;
    if (ob > oa) {
        s->obs_src.path = ct_traj_strdup(t, "doc.json");
        s->obs_src.byte_start = oa;
        s->obs_src.byte_end = ob;
    }
    return s;
}

typedef struct run {
    ct_traj_list list;
    ct_step_range **ranges;
    size_t ok, fallback;
    int rc;
} run;

static void fill(run *r, const char *text, const char *path, atomic_int *cancel)
{
    ct_trajectory *t = r->list.items[0];
    r->ranges = ct_xcalloc(1, sizeof *r->ranges);
    r->ranges[0] = ct_xcalloc(t->n_steps + 1, sizeof *r->ranges[0]);
    r->ok = r->fallback = 0;
    r->rc = json_ranges_fill(text, strlen(text), path, 1, &r->list, r->ranges, &r->ok, &r->fallback,
                             cancel);
}

static ct_trajectory *begin(run *r)
{
    memset(r, 0, sizeof *r);
    ct_trajectory *t = ct_traj_new("test", "doc.json");
    ct_traj_list_push(&r->list, t);
    return t;
}

static void end(run *r)
{
    free(r->ranges[0]);
    free(r->ranges);
    ct_traj_list_free(&r->list);
}

#define RANGE(r, k, x, y) CHECK((r).ranges[0][k].a == (x) && (r).ranges[0][k].b == (y))
#define NO_RANGE(r, k) CHECK((r).ranges[0][k].b == 0)

static void test_objects(void)
{
    /* an action + observation pair, a lone object, an observation not next to its action, and
     * a span given with the blanks around its object */
    const char *text =
        "[\n  {\"role\": \"assistant\", \"n\": 1},\n  {\"role\": \"user\", \"n\": 2},\n"
        "  {\"role\": \"assistant\", \"nested\": {\"k\": [1, 2]}},\n"
        "  {\"role\": \"assistant\", \"n\": 4},\n  {\"other\": 5},\n"
        "  {\"role\": \"user\", \"n\": 6}\n]\n";
    size_t a1 = at(text, "{\"role\"", 0), e1 = at(text, "},", 0) + 1;
    size_t a2 = at(text, "{\"role\"", 1), e2 = at(text, "},", 1) + 1;
    size_t a3 = at(text, "{\"role\"", 2), e3 = at(text, "}},", 0) + 2;
    size_t a4 = at(text, "{\"role\"", 3), e4 = at(text, "},\n  {\"other", 0) + 1;
    size_t a6 = at(text, "{\"role\"", 4), e6 = at(text, "}\n]", 0) + 1;
    run r;
    ct_trajectory *t = begin(&r);
    step(t, a1, e1, a2, e2);       /* 1: assistant + user */
    step(t, a3 - 2, e3 + 1, 0, 0); /* 2: blanks before, the comma after: still its object */
    step(t, a4, e4, a6, e6);       /* 3: the observation is not next: the action alone */
    step(t, a3 + 1, e3 - 1, 0, 0); /* 4: inside 2's object, which starts with step 2: kept */
    fill(&r, text, "doc.json", NULL);
    CHECK(r.rc == 0);
    RANGE(r, 0, a1, e2);
    RANGE(r, 1, a3, e3);
    RANGE(r, 2, a4, e4);
    NO_RANGE(r, 3);
    CHECK(r.ok == 3 && r.fallback == 1);
    end(&r);
}

static void test_error_keeps_loader_span(void)
{
    /* the second object lacks a comma between its members: an ERROR in it */
    const char *text = "[\n  {\"a\": 1},\n  {\"b\": 2 \"x\": 3},\n  {\"d\": 4}\n]\n";
    size_t a1 = at(text, "{\"a\"", 0), e1 = a1 + strlen("{\"a\": 1}");
    size_t a2 = at(text, "{\"b\"", 0), e2 = a2 + strlen("{\"b\": 2 \"x\": 3}");
    run r;
    ct_trajectory *t = begin(&r);
    step(t, a1, e1, 0, 0);
    step(t, a2, e2, 0, 0);
    fill(&r, text, "doc.json", NULL);
    CHECK(r.rc == 0);
    RANGE(r, 0, a1, e1);
    NO_RANGE(r, 1);
    CHECK(r.fallback == 1 && r.ok == 1);
    end(&r);
}

static void test_swallow_keeps_loader_span(void)
{
    /* two steps given as strings of one object: that object would hold both */
    const char *text = "{\"steps\": [\"ls\", \"cat x\"], \"n\": 2}\n";
    size_t a1 = at(text, "\"ls\"", 0), a2 = at(text, "\"cat x\"", 0);
    run r;
    ct_trajectory *t = begin(&r);
    step(t, a1, a1 + 4, 0, 0);
    step(t, a2, a2 + 7, 0, 0);
    fill(&r, text, "doc.json", NULL);
    CHECK(r.rc == 0);
    NO_RANGE(r, 0);
    NO_RANGE(r, 1);
    CHECK(r.fallback == 2 && r.ok == 0);
    end(&r);
    /* one such step alone: its enclosing object */
    t = begin(&r);
    step(t, a1, a1 + 4, 0, 0);
    fill(&r, text, "doc.json", NULL);
    RANGE(r, 0, 0, strlen(text) - 1);
    end(&r);
}

static void test_not_json(void)
{
    const char *json = "{\"a\": 1}\n";
    run r;
    ct_trajectory *t = begin(&r);
    step(t, 0, 8, 0, 0);
    fill(&r, json, "rec.cast", NULL); /* asciinema lines are JSON, but keep their line ranges */
    CHECK(r.rc == -1 && r.ok == 0 && r.fallback == 0);
    NO_RANGE(r, 0);
    end(&r);
    t = begin(&r);
    step(t, 0, 5, 0, 0);
    fill(&r, "hello world\n", "agent.log", NULL);
    CHECK(r.rc == -1 && r.ok == 0);
    end(&r);
    /* a span past the end of the text, and an empty one: not this text's */
    t = begin(&r);
    step(t, 0, 100, 0, 0);
    step(t, 3, 3, 0, 0);
    fill(&r, json, "doc.json", NULL);
    CHECK(r.rc == -1 && r.ok == 0 && r.fallback == 0);
    end(&r);
}

static void test_cancelled(void)
{
    /* 200000 objects: the parse (20 ms slices) or the walk sees the flag */
    ct_buf b = CT_BUF_INIT;
    ct_buf_puts(&b, "[");
    for (int i = 0; i < 200000; i++)
        ct_buf_printf(&b, "%s{\"i\": %d}", i ? "," : "", i);
    ct_buf_puts(&b, "]\n");
    atomic_int cancel;
    atomic_init(&cancel, 1);
    run r;
    ct_trajectory *t = begin(&r);
    step(t, 1, 1 + strlen("{\"i\": 0}"), 0, 0);
    fill(&r, b.data, "doc.json", &cancel);
    CHECK(r.rc == -1 && r.fallback == 1 && r.ok == 0);
    NO_RANGE(r, 0);
    end(&r);
    /* not cancelled: found */
    atomic_store(&cancel, 0);
    t = begin(&r);
    step(t, 1, 1 + strlen("{\"i\": 0}"), 0, 0);
    fill(&r, b.data, "doc.json", &cancel);
    CHECK(r.rc == 0 && r.ok == 1);
    RANGE(r, 0, 1, 1 + strlen("{\"i\": 0}"));
    end(&r);
    ct_buf_free(&b);
}

static void test_long_strings(void)
{
    /* long strings (their insides are not shown to the parser) holding braces, brackets,
     * escaped quotes and backslashes, multi-byte characters, and one with a raw line break
     * (no JSON: the scan stops skipping there and the parser sees the rest as it is) */
    const char *text =
        "[\n  {\"content\": \"a long text with } and { and ] inside, \\\"quoted\\\" "
        "and a backslash \\\\\"},\n"
        "  {\"content\": \"naïve 🙂 — more than sixteen bytes of UTF-8 {\\n}\", \"n\": 2},\n"
        "  {\"content\": \"short\"}\n]\n";
    size_t a1 = at(text, "{\"content\"", 0), e1 = at(text, "\"},\n", 0) + 2;
    size_t a2 = at(text, "{\"content\"", 1), e2 = at(text, "2},", 0) + 2;
    size_t a3 = at(text, "{\"content\"", 2), e3 = at(text, "\"}\n]", 0) + 2;
    run r;
    ct_trajectory *t = begin(&r);
    step(t, a1, e1, a2, e2);
    step(t, a3, e3, 0, 0);
    fill(&r, text, "doc.json", NULL);
    CHECK(r.rc == 0 && r.ok == 2 && r.fallback == 0);
    RANGE(r, 0, a1, e2);
    RANGE(r, 1, a3, e3);
    end(&r);
    const char *bad = "[\n  {\"content\": \"a long text that breaks\nthe line\"},\n"
                      "  {\"content\": \"a second long text, after it\"}\n]\n";
    size_t b2 = at(bad, "{\"content\"", 1), f2 = at(bad, "\"}\n]", 0) + 2;
    t = begin(&r);
    step(t, at(bad, "{", 0), at(bad, "},", 0) + 1, 0, 0);
    step(t, b2, f2, 0, 0);
    fill(&r, bad, "doc.json", NULL);
    CHECK(r.rc == 0 && r.ok + r.fallback == 2);
    CHECK(r.ranges[0][0].b == 0); /* the broken string: an ERROR there */
    end(&r);
}

int main(void)
{
    test_long_strings();
    test_objects();
    test_error_keeps_loader_span();
    test_swallow_keeps_loader_span();
    test_not_json();
    test_cancelled();
    return check_report();
}

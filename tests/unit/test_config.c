/* test_config.c — YAML → JSON, the embedded defaults, deep merge, dotted getters, and errors
 * that name the file and line. Fixtures: tests/fixtures/config/. */
#include "check.h"
#include "ct/config.h"

#include <math.h>
#include <string.h>

static void test_defaults(void)
{
    json_t *d = ct_config_defaults();
    CHECK(json_is_object(d));
    /* values written in config/default.yaml */
    CHECK_INT(ct_config_int(d, "heuristic.repeat.min_repeats", -1), 2);
    CHECK_INT(ct_config_bool(d, "heuristic.repeat.enabled", 0), 1);
    CHECK_INT(ct_config_bool(d, "heuristic.install_loop.enabled", 0), 1);
    CHECK(fabs(ct_config_double(d, "heuristic.reward.incorrect", 0) + 0.8) < 1e-9);
    CHECK_STR(ct_config_str(d, "output.default_profile", NULL), "detailed");
    /* getters: missing key, wrong type, bad path → the default */
    CHECK_INT(ct_config_int(d, "heuristic.nope.x", 7), 7);
    CHECK_INT(ct_config_int(d, "output.default_profile", 9), 9);
    CHECK_STR(ct_config_str(d, "heuristic.repeat.min_repeats", "dflt"), "dflt");
    CHECK(ct_config_get(d, "heuristic.repeat.min_repeats.deeper") == NULL);
    CHECK_INT(ct_config_int(NULL, "a.b", 3), 3);
    CHECK(strstr(ct_config_default_yaml(), "heuristic:") != NULL);
    json_decref(d);
}

static void test_override(void)
{
    ct_error e;
    ct_error_clear(&e);
    json_t *c = ct_config_load(CT_FIXTURES "/config/override.yaml", &e);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_INT(ct_config_int(c, "heuristic.repeat.min_repeats", -1), 3); /* replaced */
    CHECK_INT(ct_config_bool(c, "heuristic.repeat.enabled", 0), 1);     /* kept (deep merge) */
    CHECK_INT(ct_config_bool(c, "heuristic.install_loop.enabled", 1), 0);
    CHECK(fabs(ct_config_double(c, "heuristic.reward.incorrect", 0) + 1.0) < 1e-9);
    CHECK(fabs(ct_config_double(c, "heuristic.reward.unuseful", 0) + 0.3) < 1e-9);
    CHECK_STR(ct_config_str(c, "extra.name", NULL), "quoted: text");
    CHECK_STR(ct_config_str(c, "extra.plain", NULL), "hello world");
    CHECK_INT(ct_config_int(c, "extra.count", 0), 16);
    CHECK(fabs(ct_config_double(c, "extra.ratio", 0) - 0.25) < 1e-12);
    CHECK(json_is_null(ct_config_get(c, "extra.empty")));
    CHECK(json_is_null(ct_config_get(c, "extra.tilde")));
    /* YAML 1.2 core schema: `yes` is a string, not a boolean */
    CHECK_STR(ct_config_str(c, "extra.flag", NULL), "yes");
    const json_t *l = ct_config_get(c, "extra.list");
    CHECK(json_is_array(l) && json_array_size(l) == 3);
    CHECK(json_is_integer(json_array_get(l, 0)));
    CHECK_STR(json_string_value(json_array_get(l, 1)), "two");
    CHECK(json_is_real(json_array_get(l, 2)));
    json_decref(c);
}

static void test_errors(void)
{
    ct_error e;
    ct_error_clear(&e);
    json_t *c = ct_config_load_yaml(CT_FIXTURES "/config/bad_indent.yaml", &e);
    CHECK(c == NULL);
    CHECK_INT(e.code, CT_EPARSE);
    CHECK_INT(e.line, 4);
    CHECK(strstr(e.path, "bad_indent.yaml") != NULL);

    ct_error_clear(&e);
    c = ct_config_load(CT_FIXTURES "/config/unclosed.yaml", &e);
    CHECK(c == NULL);
    CHECK_INT(e.code, CT_EPARSE);
    CHECK(e.line >= 1);

    ct_error_clear(&e);
    c = ct_config_load(CT_FIXTURES "/config/does-not-exist.yaml", &e);
    CHECK(c == NULL);
    CHECK_INT(e.code, CT_EIO);

    /* aliases are refused (no billion-laughs expansion) */
    ct_error_clear(&e);
    const char *al = "a: &x [1, 2]\nb: *x\n";
    c = ct_config_parse_yaml(al, strlen(al), "mem.yaml", &e);
    CHECK(c == NULL);
    CHECK_INT(e.line, 2);

    /* depth limit */
    char deep[400];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100; i++)
        deep[n++] = ']';
    ct_error_clear(&e);
    c = ct_config_parse_yaml(deep, n, "deep.yaml", &e);
    CHECK(c == NULL);
    CHECK_INT(e.code, CT_ELIMIT);

    /* empty document = empty mapping; a scalar at the top is not a config */
    ct_error_clear(&e);
    c = ct_config_parse_yaml("", 0, "empty.yaml", &e);
    CHECK(json_is_object(c) && json_object_size(c) == 0);
    json_decref(c);

    /* invalid UTF-8 in a value is kept, sanitised */
    const char *bad = "k: \"a\xff\"\n";
    ct_error_clear(&e);
    c = ct_config_parse_yaml(bad, strlen(bad), "utf8.yaml", &e);
    /* libyaml itself rejects invalid UTF-8 input: an error with a line, never a crash */
    if (c) {
        CHECK(json_is_string(json_object_get(c, "k")));
        json_decref(c);
    } else {
        CHECK_INT(e.code, CT_EPARSE);
    }
}

static void test_merge(void)
{
    json_t *base = json_pack("{s:{s:i,s:i},s:[i]}", "a", "x", 1, "y", 2, "l", 1);
    json_t *over = json_pack("{s:{s:i},s:[i,i]}", "a", "y", 5, "l", 7, 8);
    CHECK_INT(ct_config_merge(base, over), 0);
    CHECK_INT(ct_config_int(base, "a.x", 0), 1);
    CHECK_INT(ct_config_int(base, "a.y", 0), 5);
    CHECK_INT(json_array_size(json_object_get(base, "l")), 2); /* lists replace */
    json_t *num = json_integer(1);
    CHECK_INT(ct_config_merge(num, over), CT_EINVAL);
    json_decref(num);
    json_decref(base);
    json_decref(over);
}

int main(void)
{
    test_defaults();
    test_override();
    test_errors();
    test_merge();
    return check_report();
}

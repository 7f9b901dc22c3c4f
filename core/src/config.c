/* config.c — YAML → JSON (libyaml event parser), embedded defaults, deep merge, dotted getters. */
#include "ct/config.h"
#include "ct/buf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define CONFIG_MAX_BYTES (16u << 20)
#define CONFIG_MAX_DEPTH 64

extern const unsigned char ct__default_yaml[];
extern const size_t ct__default_yaml_len;

const char *ct_config_default_yaml(void)
{
    return (const char *)ct__default_yaml;
}

static int is_int_text(const char *s, long long *out)
{
    char *end;
    errno = 0;
    if (!*s) return 0;
    int base = 10;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o') && p[2]) {
        base = p[1] == 'x' ? 16 : 8;
        if (p != s) return 0; /* no sign with 0x / 0o */
        p += 2;
        long long v = strtoll(p, &end, base);
        if (*end || errno) return 0;
        *out = v;
        return 1;
    }
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    if (!*p) return 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno) return 0;
    *out = v;
    return 1;
}

static int is_float_text(const char *s, double *out)
{
    if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF") || !strcmp(s, "+.inf")) {
        *out = INFINITY;
        return 1;
    }
    if (!strcmp(s, "-.inf") || !strcmp(s, "-.Inf") || !strcmp(s, "-.INF")) {
        *out = -INFINITY;
        return 1;
    }
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
        *out = NAN;
        return 1;
    }
    /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    const char *p = s;
    int digits = 0;
    if (*p == '+' || *p == '-') p++;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p) return 0;
    *out = strtod(s, NULL);
    return 1;
}

static json_t *scalar_to_json(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (tag && !strcmp(tag, YAML_STR_TAG)) plain = 0;
    if (plain && !ev->data.scalar.plain_implicit && tag) plain = 0;
    if (plain && strlen(s) == n) {
        if (!n || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
            return json_null();
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) return json_true();
        if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) return json_false();
        long long iv;
        double dv;
        if (is_int_text(s, &iv)) return json_integer(iv);
        if (is_float_text(s, &dv) && isfinite(dv)) return json_real(dv);
    }
    json_t *j = json_stringn(s, n);
    if (!j) { /* invalid UTF-8 or NUL: keep the text, sanitised */
        char *clean = ct_utf8_sanitize(s, n);
        j = json_string(clean);
        free(clean);
    }
    return j;
}

typedef struct frame {
    json_t *node;
    json_t *key; /* pending mapping key (string) or NULL */
} frame;

/* Attach v (stolen) to the top container, or make it the document root. */
static int attach(frame *st, int depth, json_t **root, json_t *v, const char *name,
                  const yaml_event_t *ev, ct_error *err)
{
    if (depth == 0) {
        if (*root) json_decref(*root);
        *root = v;
        return 0;
    }
    frame *f = &st[depth - 1];
    if (json_is_array(f->node)) {
        json_array_append_new(f->node, v);
        return 0;
    }
    if (!f->key) {
        if (!json_is_string(v)) {
            json_decref(v);
            return ct_error_setf(err, CT_EPARSE, name, (long long)ev->start_mark.index,
                                 (int)ev->start_mark.line + 1,
                                 "expected a scalar mapping key, found a %s",
                                 json_is_null(v) ? "null" : "collection or non-string");
        }
        f->key = v;
        return 0;
    }
    json_object_set_new(f->node, json_string_value(f->key), v);
    json_decref(f->key);
    f->key = NULL;
    return 0;
}

static json_t *scalar_key(const yaml_event_t *ev)
{
    /* mapping keys are always strings in JSON, whatever their YAML type */
    json_t *k = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (!k) {
        char *clean = ct_utf8_sanitize((const char *)ev->data.scalar.value, ev->data.scalar.length);
        k = json_string(clean);
        free(clean);
    }
    return k;
}

json_t *ct_config_parse_yaml(const char *text, size_t len, const char *name, ct_error *err)
{
    if (!name) name = "<yaml>";
    if (len > CONFIG_MAX_BYTES) {
        ct_error_setf(err, CT_ELIMIT, name, -1, 0, "configuration larger than %u bytes",
                      CONFIG_MAX_BYTES);
        return NULL;
    }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        ct_error_set(err, CT_ENOMEM, "cannot initialise the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    frame st[CONFIG_MAX_DEPTH];
    int depth = 0, docs = 0, rc = 0, done = 0;
    json_t *root = NULL;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = ct_error_setf(err, CT_EPARSE, name, (long long)p.problem_mark.index,
                               (int)p.problem_mark.line + 1, "invalid YAML: %s%s%s",
                               p.problem ? p.problem : "syntax error", p.context ? " " : "",
                               p.context ? p.context : "");
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = ct_error_setf(err, CT_EPARSE, name, (long long)ev.start_mark.index,
                                   (int)ev.start_mark.line + 1,
                                   "expected a single YAML document, found a second one");
            break;
        case YAML_ALIAS_EVENT:
            rc = ct_error_setf(err, CT_EPARSE, name, (long long)ev.start_mark.index,
                               (int)ev.start_mark.line + 1,
                               "YAML aliases (*name) are not supported in configuration files");
            break;
        case YAML_SCALAR_EVENT: {
            json_t *v;
            if (depth > 0 && json_is_object(st[depth - 1].node) && !st[depth - 1].key)
                v = scalar_key(&ev);
            else
                v = scalar_to_json(&ev);
            rc = attach(st, depth, &root, v, name, &ev, err);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (depth >= CONFIG_MAX_DEPTH) {
                rc = ct_error_setf(err, CT_ELIMIT, name, (long long)ev.start_mark.index,
                                   (int)ev.start_mark.line + 1, "YAML nested deeper than %d levels",
                                   CONFIG_MAX_DEPTH);
                break;
            }
            if (depth > 0 && json_is_object(st[depth - 1].node) && !st[depth - 1].key) {
                rc = ct_error_setf(err, CT_EPARSE, name, (long long)ev.start_mark.index,
                                   (int)ev.start_mark.line + 1,
                                   "expected a scalar mapping key, found a collection");
                break;
            }
            st[depth].node = ev.type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
            st[depth].key = NULL;
            depth++;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            depth--;
            json_t *v = st[depth].node;
            if (st[depth].key) json_decref(st[depth].key); /* cannot happen with valid YAML */
            rc = attach(st, depth, &root, v, name, &ev, err);
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc) break;
    }
    yaml_parser_delete(&p);
    while (depth > 0) {
        depth--;
        json_decref(st[depth].node);
        if (st[depth].key) json_decref(st[depth].key);
    }
    if (rc) {
        json_decref(root);
        return NULL;
    }
    if (!root || json_is_null(root)) { /* empty file = empty mapping */
        json_decref(root);
        root = json_object();
    }
    return root;
}

json_t *ct_config_load_yaml(const char *path, ct_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ct_error_setf(err, CT_EIO, path, -1, 0, "cannot open the configuration file: %s",
                      strerror(errno));
        return NULL;
    }
    ct_buf b = CT_BUF_INIT;
    char chunk[65536];
    size_t n;
    int too_big = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > CONFIG_MAX_BYTES) {
            too_big = 1;
            break;
        }
        ct_buf_append(&b, chunk, n);
    }
    int rerr = ferror(f);
    fclose(f);
    json_t *j = NULL;
    if (too_big)
        ct_error_setf(err, CT_ELIMIT, path, -1, 0, "configuration larger than %u bytes",
                      CONFIG_MAX_BYTES);
    else if (rerr)
        ct_error_setf(err, CT_EIO, path, -1, 0, "cannot read the configuration file");
    else
        j = ct_config_parse_yaml(b.data ? b.data : "", b.len, path, err);
    ct_buf_free(&b);
    return j;
}

json_t *ct_config_defaults(void)
{
    ct_error e;
    ct_error_clear(&e);
    json_t *j = ct_config_parse_yaml(ct_config_default_yaml(), ct__default_yaml_len,
                                     "config/default.yaml", &e);
    if (!j || !json_is_object(j)) { /* cannot happen: test_config checks the embedded file */
        json_decref(j);
        j = json_object();
    }
    return j;
}

int ct_config_merge(json_t *base, const json_t *over)
{
    if (!json_is_object(base)) return CT_EINVAL;
    if (!json_is_object(over)) return CT_EINVAL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)over, k, v)
    {
        json_t *cur = json_object_get(base, k);
        if (json_is_object(cur) && json_is_object(v))
            ct_config_merge(cur, v);
        else
            json_object_set_new(base, k, json_deep_copy(v));
    }
    return 0;
}

json_t *ct_config_load(const char *path, ct_error *err)
{
    json_t *cfg = ct_config_defaults();
    if (!path) return cfg;
    json_t *user = ct_config_load_yaml(path, err);
    if (!user) {
        json_decref(cfg);
        return NULL;
    }
    if (!json_is_object(user)) {
        ct_error_setf(err, CT_EPARSE, path, -1, 1,
                      "expected a mapping at the top of the configuration file");
        json_decref(user);
        json_decref(cfg);
        return NULL;
    }
    ct_config_merge(cfg, user);
    json_decref(user);
    return cfg;
}

const json_t *ct_config_get(const json_t *cfg, const char *dotted)
{
    if (!cfg || !dotted) return NULL;
    const json_t *cur = cfg;
    const char *p = dotted;
    char key[256];
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof key || !json_is_object(cur)) return NULL;
        memcpy(key, p, n);
        key[n] = 0;
        cur = json_object_get(cur, key);
        if (!cur) return NULL;
        p += n;
        if (*p == '.') p++;
    }
    return cur;
}

long long ct_config_int(const json_t *cfg, const char *dotted, long long def)
{
    const json_t *v = ct_config_get(cfg, dotted);
    if (json_is_integer(v)) return json_integer_value(v);
    if (json_is_real(v)) return (long long)json_real_value(v);
    return def;
}

double ct_config_double(const json_t *cfg, const char *dotted, double def)
{
    const json_t *v = ct_config_get(cfg, dotted);
    if (json_is_number(v)) return json_number_value(v);
    return def;
}

int ct_config_bool(const json_t *cfg, const char *dotted, int def)
{
    const json_t *v = ct_config_get(cfg, dotted);
    if (json_is_boolean(v)) return json_is_true(v);
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    return def;
}

const char *ct_config_str(const json_t *cfg, const char *dotted, const char *def)
{
    const json_t *v = ct_config_get(cfg, dotted);
    if (json_is_string(v)) return json_string_value(v);
    return def;
}

/* --- Layered loading: defaults < user file < --config < environment < flags (issue 8) --------- */

const char *ct_config_user_path(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (size == 0) return buf;
    buf[0] = 0;
    if (xdg && *xdg)
        snprintf(buf, size, "%s/codetracer/config.yaml", xdg);
    else if (home && *home)
        snprintf(buf, size, "%s/.config/codetracer/config.yaml", home);
    return buf;
}

static int merge_file(json_t *cfg, const char *path, ct_error *err)
{
    json_t *user = ct_config_load_yaml(path, err);
    if (!user) return err ? err->code : CT_EIO;
    if (json_is_null(user)) { /* an empty file */
        json_decref(user);
        return 0;
    }
    if (!json_is_object(user)) {
        json_decref(user);
        return ct_error_setf(err, CT_EPARSE, path, -1, 1,
                             "expected a mapping at the top of the configuration file");
    }
    ct_config_merge(cfg, user);
    json_decref(user);
    return 0;
}

json_t *ct_config_load_layered(const char *explicit_path, ct_error *err)
{
    json_t *cfg = ct_config_defaults();
    char user[4096];
    ct_config_user_path(user, sizeof user);
    FILE *f = user[0] ? fopen(user, "rb") : NULL;
    if (f) {
        fclose(f);
        if (merge_file(cfg, user, err) != 0) {
            json_decref(cfg);
            return NULL;
        }
    }
    if (explicit_path && merge_file(cfg, explicit_path, err) != 0) {
        json_decref(cfg);
        return NULL;
    }
    ct_config_apply_env(cfg);
    return cfg;
}

static const char *first_env(const char *a, const char *b, const char *c)
{
    const char *names[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        const char *v = names[i] ? getenv(names[i]) : NULL;
        if (v && *v) return v;
    }
    return NULL;
}

int ct_config_apply_env(json_t *cfg)
{
    const char *v;
    if ((v = first_env("CODETRACER_API_BASE", "OPENAI_BASE_URL", "OPENAI_API_BASE")))
        ct_config_set(cfg, "llm.api_base", json_string(v));
    if ((v = first_env("CODETRACER_API_KEY", "OPENAI_API_KEY", NULL)))
        ct_config_set(cfg, "llm.api_key", json_string(v));
    if ((v = first_env("CODETRACER_MODEL", "OPENAI_MODEL", NULL)))
        ct_config_set(cfg, "llm.model_name", json_string(v));
    return 0;
}

int ct_config_set(json_t *cfg, const char *dotted, json_t *value)
{
    if (!json_is_object(cfg) || !dotted || !*dotted || !value) {
        json_decref(value);
        return CT_EINVAL;
    }
    json_t *cur = cfg;
    const char *p = dotted;
    char key[256];
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof key) {
            json_decref(value);
            return CT_EINVAL;
        }
        memcpy(key, p, n);
        key[n] = 0;
        if (!dot) return json_object_set_new(cur, key, value) == 0 ? 0 : CT_EINVAL;
        json_t *next = json_object_get(cur, key);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(cur, key, next);
        }
        cur = next;
        p = dot + 1;
    }
}

static int is_secret_key(const char *k)
{
    return strcmp(k, "api_key") == 0 || ct_str_ends(k, "_key") || strstr(k, "token") ||
           strstr(k, "secret") || strstr(k, "password");
}

static void redact(json_t *j)
{
    const char *k;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach(j, k, v)
        {
            if (json_is_string(v) && json_string_length(v) > 0 && is_secret_key(k))
                json_string_set(v, "<redacted>");
            else
                redact(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) redact(v);
    }
}

json_t *ct_config_redacted(const json_t *cfg)
{
    json_t *c = json_deep_copy(cfg);
    if (c) redact(c);
    return c;
}

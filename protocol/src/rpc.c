#include "ctp/rpc.h"

#include "ct/buf.h"
#include "ctp/frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a fast path for large messages ----
 *
 * jansson decodes strings at ~40 MB/s, so a didOpen carrying a 4 MB trajectory would cost the
 * loop 100 ms before any work starts. Big string values are therefore cut out of the body,
 * decoded here with memchr-speed loops, and put back into the tree jansson builds from the
 * (small) rest. Anything unusual — a raw control character, a bad escape, invalid UTF-8 — falls
 * back to the plain jansson parse, which produces the exact error. */

#define BIG_STRING 4096
#define PLACEHOLDER                                                                                \
    "\x01"                                                                                         \
    "ct-big-" /* 8 bytes */

typedef struct big_str {
    char *data;
    size_t len;
} big_str;

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(ct_buf *b, unsigned cp)
{
    char o[4];
    size_t n;
    if (cp < 0x80)
        o[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        o[0] = (char)(0xC0 | (cp >> 6)), o[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        o[0] = (char)(0xE0 | (cp >> 12)), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        o[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        o[0] = (char)(0xF0 | (cp >> 18)), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    ct_buf_append(b, o, n);
}

/* Valid UTF-8, NUL allowed (JSON_ALLOW_NUL). */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF)
            len = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* Decode the JSON string body s[0..n) (between the quotes). -1 on anything unusual. */
static int decode_string(const char *s, size_t n, big_str *out)
{
    ct_buf b = CT_BUF_INIT;
    ct_buf_reserve(&b, n + 1);
    size_t i = 0;
    while (i < n) {
        const char *bs = memchr(s + i, '\\', n - i);
        size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
        for (size_t k = 0; k < run; k++)
            if ((unsigned char)s[i + k] < 0x20) goto bad;
        ct_buf_append(&b, s + i, run);
        i += run;
        if (i >= n) break;
        if (i + 1 >= n) goto bad;
        char e = s[i + 1];
        i += 2;
        switch (e) {
        case '"':
            ct_buf_putc(&b, '"');
            break;
        case '\\':
            ct_buf_putc(&b, '\\');
            break;
        case '/':
            ct_buf_putc(&b, '/');
            break;
        case 'b':
            ct_buf_putc(&b, '\b');
            break;
        case 'f':
            ct_buf_putc(&b, '\f');
            break;
        case 'n':
            ct_buf_putc(&b, '\n');
            break;
        case 'r':
            ct_buf_putc(&b, '\r');
            break;
        case 't':
            ct_buf_putc(&b, '\t');
            break;
        case 'u': {
            unsigned cp, lo;
            if (i + 4 > n || hex4(s + i, &cp) != 0) goto bad;
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u' || hex4(s + i + 2, &lo) != 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    goto bad;
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                goto bad;
            }
            put_utf8(&b, cp);
            break;
        }
        default:
            goto bad;
        }
    }
    if (!utf8_ok((const unsigned char *)b.data, b.len)) goto bad;
    out->len = b.len;
    out->data = ct_buf_steal(&b);
    return 0;
bad:
    ct_buf_free(&b);
    return -1;
}

/* Put the decoded strings back in place of their placeholders. */
static void restore(json_t *v, big_str *bigs, size_t n)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *it = json_object_iter(v);
        while (it) {
            k = json_object_iter_key(it);
            x = json_object_iter_value(it);
            size_t xl = json_string_length(x);
            const char *xs = json_string_value(x);
            if (xs && xl > 8 && memcmp(xs, PLACEHOLDER, 8) == 0) {
                size_t idx = (size_t)strtoul(xs + 8, NULL, 10);
                if (idx < n)
                    json_object_iter_set_new(v, it,
                                             json_stringn_nocheck(bigs[idx].data, bigs[idx].len));
            } else {
                restore(x, bigs, n);
            }
            (void)k;
            it = json_object_iter_next(v, it);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *x = json_array_get(v, i);
            const char *xs = json_string_value(x);
            if (xs && json_string_length(x) > 8 && memcmp(xs, PLACEHOLDER, 8) == 0) {
                size_t idx = (size_t)strtoul(xs + 8, NULL, 10);
                if (idx < n)
                    json_array_set_new(v, i, json_stringn_nocheck(bigs[idx].data, bigs[idx].len));
            } else {
                restore(x, bigs, n);
            }
        }
    }
}

/* NULL when the fast path does not apply or meets anything unusual (then use jansson). */
static json_t *load_fast(const char *body, size_t len)
{
    ct_buf skel = CT_BUF_INIT;
    big_str *bigs = NULL;
    size_t n_bigs = 0;
    json_t *root = NULL;
    size_t i = 0, copied = 0;
    while (i < len) {
        const char *q = memchr(body + i, '"', len - i);
        if (!q) break;
        size_t a = (size_t)(q - body) + 1, e = a;
        /* find the closing quote: skip escaped characters */
        for (;;) {
            const char *nq = memchr(body + e, '"', len - e);
            if (!nq) goto out; /* unterminated: let jansson say so */
            e = (size_t)(nq - body);
            size_t bs = 0;
            while (e - bs > a && body[e - 1 - bs] == '\\')
                bs++;
            if (bs % 2 == 0) break;
            e++;
        }
        i = e + 1;
        if (e - a < BIG_STRING) continue;
        size_t after = i;
        while (after < len && (body[after] == ' ' || body[after] == '\t' || body[after] == '\n' ||
                               body[after] == '\r'))
            after++;
        if (after < len && body[after] == ':') continue; /* a key: keep it */
        big_str bsx;
        if (decode_string(body + a, e - a, &bsx) != 0) goto out;
        bigs = ct_xrealloc(bigs, (n_bigs + 1) * sizeof *bigs);
        bigs[n_bigs] = bsx;
        ct_buf_append(&skel, body + copied, a - copied);
        ct_buf_printf(&skel, "\\u0001ct-big-%zu", n_bigs);
        copied = e;
        n_bigs++;
    }
    if (n_bigs == 0) goto out;
    ct_buf_append(&skel, body + copied, len - copied);
    json_error_t je;
    root = json_loadb(skel.data, skel.len, JSON_ALLOW_NUL, &je);
    if (root) restore(root, bigs, n_bigs);
out:
    for (size_t k = 0; k < n_bigs; k++)
        free(bigs[k].data);
    free(bigs);
    ct_buf_free(&skel);
    return root;
}

static int set_why(char *why, size_t size, const char *msg)
{
    if (why && size) snprintf(why, size, "%s", msg);
    return 0;
}

static int valid_id(json_t *id)
{
    return json_is_integer(id) || json_is_string(id);
}

int ct_rpc_parse(const char *body, size_t len, ct_rpc_msg *out, json_t **bad_id, char *why,
                 size_t why_size)
{
    memset(out, 0, sizeof *out);
    *bad_id = NULL;
    json_error_t je;
    /* JSON_ALLOW_NUL: an editor buffer may hold U+0000; method names are compared with strcmp,
     * so an embedded NUL only shortens what they are compared as. */
    json_t *root = len >= 4 * BIG_STRING ? load_fast(body, len) : NULL;
    if (!root) root = json_loadb(body, len, JSON_ALLOW_NUL, &je);
    if (!root) {
        if (why && why_size)
            snprintf(why, why_size, "invalid JSON at byte %d (line %d): %s", je.position, je.line,
                     je.text);
        return CT_RPC_PARSE_ERROR;
    }
    if (!json_is_object(root)) {
        set_why(why, why_size,
                json_is_array(root) ? "batch messages are not supported by LSP"
                                    : "a message must be a JSON object");
        json_decref(root);
        return CT_RPC_INVALID_REQUEST;
    }
    json_t *id = json_object_get(root, "id");
    if (id && valid_id(id)) *bad_id = json_incref(id);
    const char *ver = json_string_value(json_object_get(root, "jsonrpc"));
    if (!ver || strcmp(ver, "2.0") != 0) {
        set_why(why, why_size, "\"jsonrpc\" must be \"2.0\"");
        goto invalid;
    }
    if (id && !valid_id(id) && !json_is_null(id)) {
        set_why(why, why_size, "\"id\" must be an integer or a string");
        goto invalid;
    }
    json_t *method = json_object_get(root, "method");
    json_t *params = json_object_get(root, "params");
    if (method) {
        if (!json_is_string(method)) {
            set_why(why, why_size, "\"method\" must be a string");
            goto invalid;
        }
        if (params && !json_is_object(params) && !json_is_array(params)) {
            set_why(why, why_size, "\"params\" must be an object or an array");
            goto invalid;
        }
        if (id && json_is_null(id)) {
            set_why(why, why_size, "a request id must not be null");
            goto invalid;
        }
        out->kind = id ? CT_RPC_REQUEST : CT_RPC_NOTIFICATION;
        out->method = json_string_value(method);
        out->params = params;
    } else {
        json_t *res = json_object_get(root, "result");
        json_t *err = json_object_get(root, "error");
        if (!id || (!res && !err) || (res && err) || (err && !json_is_object(err))) {
            set_why(why, why_size, "neither a request, a notification nor a response");
            goto invalid;
        }
        out->kind = CT_RPC_RESPONSE;
        out->result = res;
        out->error = err;
    }
    out->root = root;
    out->id = id && !json_is_null(id) ? id : NULL;
    json_decref(*bad_id);
    *bad_id = NULL;
    return 0;
invalid:
    json_decref(root);
    return CT_RPC_INVALID_REQUEST;
}

void ct_rpc_msg_free(ct_rpc_msg *m)
{
    json_decref(m->root);
    memset(m, 0, sizeof *m);
}

static json_t *envelope(void)
{
    json_t *o = json_object();
    json_object_set_new(o, "jsonrpc", json_string("2.0"));
    return o;
}

json_t *ct_rpc_result(json_t *id, json_t *result_new)
{
    json_t *o = envelope();
    json_object_set(o, "id", id ? id : json_null());
    json_object_set_new(o, "result", result_new ? result_new : json_null());
    return o;
}

json_t *ct_rpc_error(json_t *id, int code, const char *message, json_t *data_new)
{
    json_t *o = envelope();
    json_object_set(o, "id", id ? id : json_null());
    json_t *e = json_object();
    json_object_set_new(e, "code", json_integer(code));
    json_object_set_new(e, "message", ct_json_text(message ? message : ""));
    if (data_new) json_object_set_new(e, "data", data_new);
    json_object_set_new(o, "error", e);
    return o;
}

json_t *ct_rpc_notification(const char *method, json_t *params_new)
{
    json_t *o = envelope();
    json_object_set_new(o, "method", json_string(method));
    if (params_new) json_object_set_new(o, "params", params_new);
    return o;
}

json_t *ct_rpc_request(json_t *id, const char *method, json_t *params_new)
{
    json_t *o = envelope();
    json_object_set(o, "id", id);
    json_object_set_new(o, "method", json_string(method));
    if (params_new) json_object_set_new(o, "params", params_new);
    return o;
}

char *ct_rpc_encode(json_t *msg_new, size_t *len)
{
    char *body = json_dumps(msg_new, JSON_COMPACT);
    json_decref(msg_new);
    if (!body) body = ct_xstrdup("{}");
    char *out = ct_frame_encode(body, strlen(body), len);
    free(body);
    return out;
}

json_t *ct_json_textn(const char *s, size_t n)
{
    if (!s) return json_null();
    if (ct_utf8_valid(s, n)) {
        json_t *j = json_stringn_nocheck(s, n);
        return j ? j : json_string("");
    }
    char *fixed = ct_utf8_sanitize(s, n); /* n > 0 here: "" is valid UTF-8 */
    json_t *j = json_string(fixed);
    free(fixed);
    return j ? j : json_string("");
}

json_t *ct_json_text(const char *s)
{
    return s ? ct_json_textn(s, strlen(s)) : json_null();
}

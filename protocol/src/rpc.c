#include "ctp/rpc.h"

#include "ct/buf.h"
#include "ctp/frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, &je);
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
    char *fixed = ct_utf8_sanitize(s, n);
    json_t *j = json_string(fixed);
    free(fixed);
    return j ? j : json_string("");
}

json_t *ct_json_text(const char *s)
{
    return s ? ct_json_textn(s, strlen(s)) : json_null();
}

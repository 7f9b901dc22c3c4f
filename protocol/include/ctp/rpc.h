/* ctp/rpc.h — JSON-RPC 2.0 messages as LSP uses them.
 *
 * ct_rpc_parse validates one message body and classifies it. The builders return new jansson
 * references; `_new` arguments are stolen (jansson's rule), plain json_t * arguments borrowed.
 *
 * Ownership: a ct_rpc_msg holds one reference to `root`; every other json_t * in it is borrowed
 * from root. Release it with ct_rpc_msg_free. */
#ifndef CTP_RPC_H
#define CTP_RPC_H

#include <jansson.h>
#include <stddef.h>

enum {
    CT_RPC_PARSE_ERROR = -32700,
    CT_RPC_INVALID_REQUEST = -32600,
    CT_RPC_METHOD_NOT_FOUND = -32601,
    CT_RPC_INVALID_PARAMS = -32602,
    CT_RPC_INTERNAL_ERROR = -32603,
    CT_RPC_SERVER_NOT_INITIALIZED = -32002,
    CT_RPC_UNKNOWN_ERROR = -32001,
    CT_RPC_REQUEST_FAILED = -32803,
    CT_RPC_SERVER_CANCELLED = -32802,
    CT_RPC_CONTENT_MODIFIED = -32801,
    CT_RPC_REQUEST_CANCELLED = -32800,
};

typedef enum {
    CT_RPC_REQUEST = 0,  /* id + method */
    CT_RPC_NOTIFICATION, /* method, no id */
    CT_RPC_RESPONSE,     /* id + result or error, no method */
} ct_rpc_kind;

typedef struct ct_rpc_msg {
    ct_rpc_kind kind;
    json_t *root;
    json_t *id;         /* integer or string; NULL for notifications */
    const char *method; /* NULL for responses */
    json_t *params;     /* object or array; NULL when absent */
    json_t *result;     /* responses: the result (may be JSON null) */
    json_t *error;      /* responses: the error object, NULL on success */
} ct_rpc_msg;

/* Parse and validate a body. Returns 0 on success. Otherwise returns CT_RPC_PARSE_ERROR (not
 * JSON, invalid UTF-8) or CT_RPC_INVALID_REQUEST (JSON but not a JSON-RPC 2.0 message), with a
 * sentence in `why` and, when the message had a usable id, a new reference to it in *bad_id
 * (else NULL). */
int ct_rpc_parse(const char *body, size_t len, ct_rpc_msg *out, json_t **bad_id, char *why,
                 size_t why_size);
void ct_rpc_msg_free(ct_rpc_msg *m);

/* {"jsonrpc":"2.0","id":id,"result":result_new}; id borrowed (NULL → null). */
json_t *ct_rpc_result(json_t *id, json_t *result_new);
/* {"jsonrpc":"2.0","id":id,"error":{"code","message"[,"data"]}}; data_new may be NULL. */
json_t *ct_rpc_error(json_t *id, int code, const char *message, json_t *data_new);
json_t *ct_rpc_notification(const char *method, json_t *params_new);
json_t *ct_rpc_request(json_t *id, const char *method, json_t *params_new);

/* Serialise a message with its Content-Length header (malloc'd; *len = total bytes). Steals
 * msg_new. */
char *ct_rpc_encode(json_t *msg_new, size_t *len);

/* A JSON string from text that may hold invalid UTF-8 (replaced by U+FFFD); NULL → JSON null.
 * New reference; never NULL. */
json_t *ct_json_text(const char *s);
json_t *ct_json_textn(const char *s, size_t n);

#endif

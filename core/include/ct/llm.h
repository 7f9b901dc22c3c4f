/* ct/llm.h — an OpenAI-compatible Chat Completions client (libcurl), its price table and budget.
 *
 * Ownership: a ct_llm_client is created with ct_llm_client_new and released with
 * ct_llm_client_free; it copies every setting it needs from the config (the config may be freed
 * afterwards). Requests borrow their json_t values. A ct_llm_response owns its strings and
 * json values; release them with ct_llm_response_free (safe on a zeroed or freed response).
 *
 * Secrets: the API key lives only in the client and in the HTTP header list of a call. It is
 * never written into a ct_error, a warning, a response or a dump; neither is a password given in
 * llm.api_base (https://user:secret@host/v1): messages show that URL with "***@" instead.
 *
 * Two ways to drive a request:
 *  - ct_llm_chat: blocking, curl easy interface, retries with backoff (the CLI).
 *  - ct_llm_call_*: one attempt at a time, for an event loop with curl multi (the daemon):
 *        ct_llm_call_begin(client, req, &call, err)   budget check, body, headers, easy handle
 *        curl_multi_add_handle(multi, ct_llm_call_easy(call))
 *        ... when the multi reports the transfer done with CURLcode rc:
 *        curl_multi_remove_handle(multi, easy)
 *        st = ct_llm_call_finish(call, rc, &resp, &delay_ms, err)
 *        st == CT_OK             → resp filled, usage recorded; ct_llm_call_free(call)
 *        st != CT_OK, delay >= 0 → retryable: after delay_ms (a loop timer, not a sleep) call
 *                                  ct_llm_call_rearm(call) and add the easy handle again
 *        st != CT_OK, delay < 0  → final error in err; ct_llm_call_free(call)
 *    The client itself is not thread-safe: use it from one thread (the loop thread). */
#ifndef CT_LLM_H
#define CT_LLM_H

#include "ct/error.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct ct_llm_client ct_llm_client;
typedef struct ct_llm_call ct_llm_call;

typedef struct ct_llm_request {
    const json_t *messages;        /* array of {role, content[, tool_calls, tool_call_id, name]} */
    const json_t *tools;           /* OpenAI "tools" array, NULL for none */
    const json_t *response_format; /* e.g. {"type":"json_object"}, NULL for none */
    int max_tokens;                /* 0 → llm.max_tokens */
    double temperature;            /* < 0 → not sent */
    const char *phase; /* cost accounting bucket ("trace", "compact", ...), NULL = "llm" */
} ct_llm_request;

typedef struct ct_llm_usage {
    long long prompt_tokens;
    long long completion_tokens;
    double cost_usd; /* 0 when the model has no price */
    int priced;      /* 1 when the model matched the price table */
} ct_llm_usage;

typedef struct ct_llm_response {
    char *content;       /* the first choice's text, "" when none (e.g. only tool calls) */
    json_t *tool_calls;  /* the first choice's tool_calls array, NULL when none */
    char *finish_reason; /* "stop", "length", "tool_calls", ... or "" */
    char *model;         /* the model the server says it used, or the requested one */
    ct_llm_usage usage;
    int http_status;
    int attempts;     /* HTTP attempts made (1 + retries) */
    double latency_s; /* wall time of the successful attempt */
} ct_llm_response;

typedef struct ct_llm_totals {
    long long calls; /* successful calls */
    long long prompt_tokens;
    long long completion_tokens;
    double cost_usd;
    double budget_usd; /* 0 = no cap */
} ct_llm_totals;

/* Warning sink (unknown model price, ...). Messages never contain the key. */
typedef void (*ct_llm_warn_fn)(void *ud, const char *msg);

/* A client from the `llm.*` and `trace.cost_limit` settings of cfg. Fails (CT_EINVAL, a message
 * naming the setting and the environment variables) when llm.api_base or llm.model_name is
 * empty, or the price table does not parse. An empty key is allowed (local servers). */
ct_llm_client *ct_llm_client_new(const json_t *cfg, ct_error *err);
void ct_llm_client_free(ct_llm_client *c);
void ct_llm_client_set_warn(ct_llm_client *c, ct_llm_warn_fn fn, void *ud);

/* How ct_llm_chat performs a transfer, for an event loop that owns the connections (the daemon:
 * one curl multi handle on its libuv loop). Called on the thread that called ct_llm_chat:
 *  - easy != NULL: perform this CURL * easy handle to completion and return its CURLcode; the
 *    handle is the caller's again when the function returns (never left in a multi handle);
 *  - easy == NULL: wait delay_ms before a retry; return 0, or non-zero when cancelled.
 * Without a performer (the default) ct_llm_chat uses curl_easy_perform and nanosleep. */
typedef int (*ct_llm_perform_fn)(void *ud, void *easy, long delay_ms);
void ct_llm_client_set_performer(ct_llm_client *c, ct_llm_perform_fn fn, void *ud);
/* A cancellation flag (borrowed; NULL = none), read with an atomic load before every attempt and
 * after every transfer or wait: once it is non-zero ct_llm_chat makes no new request and returns
 * CT_ECANCELED. The performer should abort a transfer in flight (any CURLcode) when it is set. */
void ct_llm_client_set_cancel(ct_llm_client *c, const atomic_int *flag);
/* Change the cap (USD; 0 = none). Spending so far is kept. */
void ct_llm_client_set_budget(ct_llm_client *c, double usd);
void ct_llm_client_totals(const ct_llm_client *c, ct_llm_totals *out);
/* Per-phase totals (request.phase): {"trace": {"calls", "prompt_tokens", "completion_tokens",
 * "cost_usd"}, ...}. A new reference. */
json_t *ct_llm_client_phases(const ct_llm_client *c);
/* The endpoint URL requests go to, as printed: no key, and any user:password@ of llm.api_base
 * replaced by "***@". Borrowed. */
const char *ct_llm_client_url(const ct_llm_client *c);
const char *ct_llm_client_model(const ct_llm_client *c);
/* url with any "user:password@" after the scheme replaced by "***@" (for printing llm.api_base
 * or an endpoint URL). A new string. */
char *ct_llm_url_redact(const char *url);

/* Blocking call with retries (429, 5xx, 408, timeouts, connection errors; never 401/403 or other
 * 4xx). Returns CT_OK with *out filled, or: CT_ELIMIT (budget: no request made), CT_ETIMEOUT,
 * CT_ENET (HTTP/connection failure), CT_EPARSE (a body that is not a Chat Completions answer),
 * CT_ECANCELED (the cancellation flag was set; see ct_llm_client_set_cancel). */
int ct_llm_chat(ct_llm_client *c, const ct_llm_request *req, ct_llm_response *out, ct_error *err);
void ct_llm_response_free(ct_llm_response *r);

/* Attempt-at-a-time interface (see the top of this file). */
int ct_llm_call_begin(ct_llm_client *c, const ct_llm_request *req, ct_llm_call **out,
                      ct_error *err);
void *ct_llm_call_easy(ct_llm_call *call); /* the CURL * easy handle */
/* `curl_code` is the CURLcode of the finished transfer. */
int ct_llm_call_finish(ct_llm_call *call, int curl_code, ct_llm_response *out, long *retry_ms,
                       ct_error *err);
void ct_llm_call_rearm(ct_llm_call *call);
void ct_llm_call_free(ct_llm_call *call);

/* Parse a Chat Completions response body (no network). CT_EPARSE with a message for garbage,
 * truncated JSON, HTML pages, an "error" object or a missing/empty "choices". Usage is filled
 * from "usage" when present (cost left 0). */
int ct_llm_parse_response(const char *body, size_t len, ct_llm_response *out, ct_error *err);

/* --- prices ----------------------------------------------------------------------------------
 * USD per 1M tokens. The embedded table is config/prices.yaml. */
typedef struct ct_llm_price {
    double input;
    double output;
} ct_llm_price;

/* The embedded prices.yaml text (static). */
const char *ct_llm_prices_yaml(void);
/* Parse a price table ({models: [{match, input, output}, ...]}); a new reference or NULL. */
json_t *ct_llm_prices_load(const char *path_or_null, ct_error *err);
/* Look `model` up in a table from ct_llm_prices_load: 1 and *out filled, or 0 (no price). */
int ct_llm_price_lookup(const json_t *table, const char *model, ct_llm_price *out);
/* Cost in USD of a call. */
double ct_llm_cost(const ct_llm_price *p, long long prompt_tokens, long long completion_tokens);
/* The budget estimate for a request: prompt tokens ≈ JSON bytes / 4, plus max_tokens output. */
long long ct_llm_estimate_prompt_tokens(const ct_llm_request *req);

/* 1 when the remaining budget cannot cover `req` (the estimate above at the model's price; the
 * estimated cost in *estimate_usd when not NULL), 0 when it can or there is no cap / no price. */
int ct_llm_over_budget(const ct_llm_client *c, const ct_llm_request *req, double *estimate_usd);

/* Backoff before retry number `retry` (0-based): min(max_ms, base_ms·2^retry), jittered into
 * [half, full]; at least retry_after_ms when the server sent Retry-After (≥ 0). `rnd` in [0,1). */
long ct_llm_backoff_ms(int retry, long base_ms, long max_ms, long retry_after_ms, double rnd);

#endif

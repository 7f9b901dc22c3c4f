/* client.c — OpenAI-compatible Chat Completions over libcurl: request building, one attempt at
 * a time (ct_llm_call_*, usable from curl multi) and the blocking retry loop (ct_llm_chat). */
#include "ct/buf.h"
#include "ct/config.h"
#include "ct/llm.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct ct_llm_client {
    char *api_base, *api_key, *model, *api_version, *azure_deployment, *url;
    char *shown_url; /* url without the userinfo of api_base: the only one printed */
    char *userinfo;  /* "user:password" of api_base, "" when none: scrubbed like the key */
    json_t *model_kwargs;
    json_t *prices;
    int have_price;
    ct_llm_price price;
    int warned_price;
    long timeout_ms, connect_timeout_ms;
    int max_retries;
    long retry_base_ms, retry_max_ms;
    int max_tokens;
    size_t max_response_bytes;
    ct_llm_totals totals;
    json_t *phases;
    ct_llm_warn_fn warn;
    void *warn_ud;
    unsigned long long rng;
    ct_llm_perform_fn perform;
    void *perform_ud;
    const atomic_int *cancel;
};

struct ct_llm_call {
    ct_llm_client *c;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    ct_buf resp;
    int too_big;
    long retry_after_ms; /* from the last response's Retry-After, -1 when none */
    int attempt;         /* 0-based number of the attempt in flight */
    double t0;
    char phase[32];
};

/* ct_utf8_sanitize(s, 0) currently returns an unterminated buffer (core/src/buf.c): never
 * call it with an empty input. */
static char *sanitize(const char *s, size_t n)
{
    return n ? ct_utf8_sanitize(s, n) : ct_xstrdup("");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double next_rnd(ct_llm_client *c)
{
    /* xorshift64*: jitter only, no need for quality */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return (double)((c->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Replace every occurrence of secret in msg. */
static void scrub_one(const char *secret, char *msg)
{
    if (!secret || strlen(secret) < 4) return;
    size_t kl = strlen(secret);
    char *p;
    while ((p = strstr(msg, secret)) != NULL) {
        const char *rep = "<redacted>";
        size_t rl = strlen(rep), tail = strlen(p + kl);
        if (rl <= kl) {
            memcpy(p, rep, rl);
            memmove(p + rl, p + kl, tail + 1);
        } else {
            memset(p, '*', kl);
        }
    }
}

/* The key and the api_base password out of msg (a server may echo them back in an error; libcurl
 * may name the URL). */
static void scrub_key(const ct_llm_client *c, char *msg)
{
    if (!c) return;
    scrub_one(c->api_key, msg);
    if (c->userinfo && *c->userinfo) {
        const char *colon = strchr(c->userinfo, ':');
        scrub_one(c->userinfo, msg);
        if (colon) scrub_one(colon + 1, msg);
    }
}

/* The URL without "user:password@" after the scheme (replaced by "***@"); the userinfo itself
 * into *userinfo (new strings). */
static char *url_without_userinfo(const char *url, char **userinfo)
{
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    size_t end = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < end; i++)
        if (auth[i] == '@') at = auth + i; /* the last '@' of the authority */
    if (!at) {
        *userinfo = ct_xstrdup("");
        return ct_xstrdup(url);
    }
    *userinfo = ct_xstrndup(auth, (size_t)(at - auth));
    return ct_xasprintf("%.*s***%s", (int)(auth - url), url, at);
}

static int fail(const ct_llm_client *c, ct_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(const ct_llm_client *c, ct_error *err, int code, const char *fmt, ...)
{
    if (!err) return code;
    ct_error_clear(err);
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    scrub_key(c, err->msg);
    return code;
}

static char *strip_slashes(const char *s)
{
    char *r = ct_xstrdup(s);
    size_t n = strlen(r);
    while (n > 0 && r[n - 1] == '/')
        r[--n] = 0;
    return r;
}

static char *build_url(ct_llm_client *c)
{
    ct_buf u = CT_BUF_INIT;
    ct_buf_puts(&u, c->api_base);
    if (*c->azure_deployment) {
        char *dep = curl_easy_escape(NULL, c->azure_deployment, 0);
        ct_buf_printf(&u, "/openai/deployments/%s/chat/completions", dep ? dep : "");
        curl_free(dep);
    } else {
        ct_buf_puts(&u, "/chat/completions");
    }
    if (*c->api_version) {
        char *v = curl_easy_escape(NULL, c->api_version, 0);
        ct_buf_printf(&u, "?api-version=%s", v ? v : "");
        curl_free(v);
    }
    return ct_buf_steal(&u);
}

static void once_global_init(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

ct_llm_client *ct_llm_client_new(const json_t *cfg, ct_error *err)
{
    const char *base = ct_config_str(cfg, "llm.api_base", "");
    const char *model = ct_config_str(cfg, "llm.model_name", "");
    if (!*base) {
        ct_error_set(err, CT_EINVAL,
                     "no LLM endpoint configured: set llm.api_base in a config file, or "
                     "CODETRACER_API_BASE (or OPENAI_BASE_URL), or pass --api-base");
        return NULL;
    }
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
        ct_error_set(err, CT_EINVAL, "llm.api_base must start with http:// or https://");
        return NULL;
    }
    if (!*model) {
        ct_error_set(err, CT_EINVAL,
                     "no model configured: set llm.model_name, or CODETRACER_MODEL (or "
                     "OPENAI_MODEL), or pass --model");
        return NULL;
    }
    json_t *prices = ct_llm_prices_load(ct_config_str(cfg, "llm.prices_file", ""), err);
    if (!prices) return NULL;
    once_global_init();
    ct_llm_client *c = ct_xcalloc(1, sizeof *c);
    c->api_base = strip_slashes(base);
    c->api_key = ct_xstrdup(ct_config_str(cfg, "llm.api_key", ""));
    c->model = ct_xstrdup(model);
    c->api_version = ct_xstrdup(ct_config_str(cfg, "llm.api_version", ""));
    c->azure_deployment = ct_xstrdup(ct_config_str(cfg, "llm.azure_deployment", ""));
    const json_t *kw = ct_config_get(cfg, "llm.model_kwargs");
    c->model_kwargs = json_is_object(kw) ? json_deep_copy(kw) : json_object();
    c->prices = prices;
    c->phases = json_object();
    c->have_price = ct_llm_price_lookup(prices, model, &c->price);
    double t = ct_config_double(cfg, "llm.timeout", 120);
    c->timeout_ms = t > 0 ? (long)(t * 1000) : 120000;
    t = ct_config_double(cfg, "llm.connect_timeout", 15);
    c->connect_timeout_ms = t > 0 ? (long)(t * 1000) : 15000;
    long long r = ct_config_int(cfg, "llm.max_retries", 4);
    c->max_retries = r < 0 ? 0 : r > 20 ? 20 : (int)r;
    r = ct_config_int(cfg, "llm.retry_base_ms", 1000);
    c->retry_base_ms = r < 1 ? 1 : r > 600000 ? 600000 : (long)r;
    r = ct_config_int(cfg, "llm.retry_max_ms", 60000);
    c->retry_max_ms = r < c->retry_base_ms ? c->retry_base_ms : r > 3600000 ? 3600000 : (long)r;
    r = ct_config_int(cfg, "llm.max_tokens", 2048);
    c->max_tokens = r < 1 ? 1 : r > 1000000 ? 1000000 : (int)r;
    r = ct_config_int(cfg, "llm.max_response_bytes", 16 << 20);
    c->max_response_bytes = r < 1024 ? 1024 : (size_t)r;
    double b = ct_config_double(cfg, "trace.cost_limit", 3.0);
    c->totals.budget_usd = b > 0 ? b : 0;
    c->rng = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32) ^
             (unsigned long long)(uintptr_t)c;
    if (!c->rng) c->rng = 88172645463325252ULL;
    c->url = build_url(c);
    c->shown_url = url_without_userinfo(c->url, &c->userinfo);
    return c;
}

void ct_llm_client_free(ct_llm_client *c)
{
    if (!c) return;
    if (c->api_key) memset(c->api_key, 0, strlen(c->api_key));
    free(c->api_base);
    free(c->api_key);
    free(c->model);
    free(c->api_version);
    free(c->azure_deployment);
    free(c->url);
    free(c->shown_url);
    if (c->userinfo) memset(c->userinfo, 0, strlen(c->userinfo));
    free(c->userinfo);
    json_decref(c->model_kwargs);
    json_decref(c->prices);
    json_decref(c->phases);
    free(c);
}

void ct_llm_client_set_warn(ct_llm_client *c, ct_llm_warn_fn fn, void *ud)
{
    c->warn = fn;
    c->warn_ud = ud;
}

void ct_llm_client_set_performer(ct_llm_client *c, ct_llm_perform_fn fn, void *ud)
{
    c->perform = fn;
    c->perform_ud = ud;
}

void ct_llm_client_set_cancel(ct_llm_client *c, const atomic_int *flag)
{
    c->cancel = flag;
}

static int cancelled(const ct_llm_client *c)
{
    return c->cancel && atomic_load(c->cancel) != 0;
}

void ct_llm_client_set_budget(ct_llm_client *c, double usd)
{
    c->totals.budget_usd = usd > 0 ? usd : 0;
}

void ct_llm_client_totals(const ct_llm_client *c, ct_llm_totals *out)
{
    *out = c->totals;
}

json_t *ct_llm_client_phases(const ct_llm_client *c)
{
    return json_deep_copy(c->phases);
}

static void add_phase(ct_llm_client *c, const char *phase, const ct_llm_usage *u)
{
    json_t *p = json_object_get(c->phases, phase);
    if (!p) {
        p = json_pack("{s:I, s:I, s:I, s:f}", "calls", (json_int_t)0, "prompt_tokens",
                      (json_int_t)0, "completion_tokens", (json_int_t)0, "cost_usd", 0.0);
        json_object_set_new(c->phases, phase, p);
    }
    json_object_set_new(p, "calls",
                        json_integer(json_integer_value(json_object_get(p, "calls")) + 1));
    json_object_set_new(
        p, "prompt_tokens",
        json_integer(json_integer_value(json_object_get(p, "prompt_tokens")) + u->prompt_tokens));
    json_object_set_new(p, "completion_tokens",
                        json_integer(json_integer_value(json_object_get(p, "completion_tokens")) +
                                     u->completion_tokens));
    json_object_set_new(p, "cost_usd",
                        json_real(json_real_value(json_object_get(p, "cost_usd")) + u->cost_usd));
}

const char *ct_llm_client_url(const ct_llm_client *c)
{
    return c->shown_url;
}

char *ct_llm_url_redact(const char *url)
{
    char *ui;
    char *r = url_without_userinfo(url ? url : "", &ui);
    memset(ui, 0, strlen(ui));
    free(ui);
    return r;
}

const char *ct_llm_client_model(const ct_llm_client *c)
{
    return c->model;
}

int ct_llm_over_budget(const ct_llm_client *c, const ct_llm_request *req, double *estimate_usd)
{
    int max_tokens = req->max_tokens > 0 ? req->max_tokens : c->max_tokens;
    double est =
        c->have_price ? ct_llm_cost(&c->price, ct_llm_estimate_prompt_tokens(req), max_tokens) : 0;
    if (estimate_usd) *estimate_usd = est;
    if (c->totals.budget_usd <= 0 || !c->have_price) return 0;
    return est > c->totals.budget_usd - c->totals.cost_usd;
}

long ct_llm_backoff_ms(int retry, long base_ms, long max_ms, long retry_after_ms, double rnd)
{
    long d = base_ms;
    for (int i = 0; i < retry && d < max_ms; i++)
        d *= 2;
    if (d > max_ms) d = max_ms;
    if (rnd < 0) rnd = 0;
    if (rnd >= 1) rnd = 0.999999;
    d = d / 2 + (long)((double)(d - d / 2) * rnd);
    if (retry_after_ms >= 0 && d < retry_after_ms) d = retry_after_ms;
    return d;
}

/* --- one attempt -------------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    ct_llm_call *call = ud;
    size_t len = size * n;
    if (call->resp.len + len > call->c->max_response_bytes) {
        call->too_big = 1;
        return 0; /* → CURLE_WRITE_ERROR */
    }
    ct_buf_append(&call->resp, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    ct_llm_call *call = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && len < 512 && strncasecmp(p, name, sizeof name - 1) == 0) {
        char v[512];
        size_t vl = len - (sizeof name - 1);
        memcpy(v, p + sizeof name - 1, vl);
        v[vl] = 0;
        char *s = v;
        while (*s == ' ' || *s == '\t')
            s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
            *--e = 0;
        char *end;
        errno = 0;
        double secs = strtod(s, &end);
        if (end != s && *end == 0 && errno == 0 && secs >= 0 && secs < 1e7) {
            call->retry_after_ms = (long)(secs * 1000);
        } else { /* an HTTP date */
            time_t when = curl_getdate(s, NULL);
            if (when > 0) {
                time_t nw = time(NULL);
                call->retry_after_ms = when > nw ? (long)(when - nw) * 1000 : 0;
            }
        }
    }
    return len;
}

static json_t *build_body(const ct_llm_client *c, const ct_llm_request *req, int max_tokens)
{
    json_t *b = json_object();
    /* model_kwargs first, so the request's own fields win */
    ct_config_merge(b, c->model_kwargs);
    json_object_set_new(b, "model", json_string(c->model));
    json_object_set(b, "messages", (json_t *)req->messages);
    if (!json_object_get(b, "max_completion_tokens"))
        json_object_set_new(b, "max_tokens", json_integer(max_tokens));
    if (req->temperature >= 0) json_object_set_new(b, "temperature", json_real(req->temperature));
    if (req->tools) json_object_set(b, "tools", (json_t *)req->tools);
    if (req->response_format) json_object_set(b, "response_format", (json_t *)req->response_format);
    return b;
}

int ct_llm_call_begin(ct_llm_client *c, const ct_llm_request *req, ct_llm_call **out, ct_error *err)
{
    *out = NULL;
    if (!req || !json_is_array(req->messages) || json_array_size(req->messages) == 0)
        return fail(c, err, CT_EINVAL, "an LLM request needs a non-empty messages array");
    int max_tokens = req->max_tokens > 0 ? req->max_tokens : c->max_tokens;
    if (!c->have_price && !c->warned_price) {
        c->warned_price = 1;
        if (c->warn) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "no price for model '%s' in the price table: its tokens are counted but "
                     "cost $0, so the budget (trace.cost_limit) cannot cap it; add it to a "
                     "prices file (llm.prices_file)",
                     c->model);
            c->warn(c->warn_ud, msg);
        }
    }
    double est;
    if (ct_llm_over_budget(c, req, &est)) {
        long long est_in = ct_llm_estimate_prompt_tokens(req);
        double left = c->totals.budget_usd - c->totals.cost_usd;
        return fail(c, err, CT_ELIMIT,
                    "LLM budget: this call could cost up to $%.6f (about %lld prompt + %d "
                    "completion tokens of %s) but only $%.6f of the $%.6f budget is left; "
                    "no request was made (raise trace.cost_limit or --cost-limit)",
                    est, est_in, max_tokens, c->model, left > 0 ? left : 0, c->totals.budget_usd);
    }
    json_t *body = build_body(c, req, max_tokens);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) return fail(c, err, CT_EINVAL, "the LLM request could not be encoded as JSON");

    ct_llm_call *call = ct_xcalloc(1, sizeof *call);
    call->c = c;
    call->body = text;
    call->retry_after_ms = -1;
    snprintf(call->phase, sizeof call->phase, "%s", req->phase ? req->phase : "llm");
    call->easy = curl_easy_init();
    if (!call->easy) {
        ct_llm_call_free(call);
        return fail(c, err, CT_ENOMEM, "cannot create an HTTP handle (libcurl)");
    }
    call->headers = curl_slist_append(call->headers, "Content-Type: application/json");
    call->headers = curl_slist_append(call->headers, "Accept: application/json");
    call->headers = curl_slist_append(call->headers, "Expect:"); /* no 100-continue round trip */
    if (*c->api_key) {
        int azure = *c->api_version || *c->azure_deployment;
        char *h = ct_xasprintf(azure ? "api-key: %s" : "Authorization: Bearer %s", c->api_key);
        call->headers = curl_slist_append(call->headers, h);
        memset(h, 0, strlen(h));
        free(h);
    }
    CURL *e = call->easy;
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(call->body));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* never resend the key elsewhere */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "codetracer/" CT_VERSION);
    call->t0 = now_s();
    *out = call;
    return CT_OK;
}

void *ct_llm_call_easy(ct_llm_call *call)
{
    return call->easy;
}

void ct_llm_call_rearm(ct_llm_call *call)
{
    ct_buf_clear(&call->resp);
    call->too_big = 0;
    call->retry_after_ms = -1;
    call->attempt++;
    call->t0 = now_s();
}

void ct_llm_call_free(ct_llm_call *call)
{
    if (!call) return;
    if (call->easy) curl_easy_cleanup(call->easy);
    /* the header list holds the key: wipe it before freeing */
    for (struct curl_slist *h = call->headers; h; h = h->next)
        if (h->data) memset(h->data, 0, strlen(h->data));
    curl_slist_free_all(call->headers);
    free(call->body);
    ct_buf_free(&call->resp);
    free(call);
}

/* A short, printable excerpt of an error body: error.message when it is JSON, else the text. */
static void error_excerpt(const char *body, size_t len, char *out, size_t size)
{
    out[0] = 0;
    if (!body || !len) return;
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *m = NULL;
    if (j) {
        const json_t *e = json_object_get(j, "error");
        m = json_string_value(json_object_get(e, "message"));
        if (!m) m = json_string_value(e);
        if (!m) m = json_string_value(json_object_get(j, "message"));
    }
    const char *src = m ? m : body;
    size_t n = m ? strlen(m) : len;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < size && k < 200; i++) {
        unsigned char ch = (unsigned char)src[i];
        out[k++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    out[k] = 0;
    json_decref(j);
    /* do not cut a UTF-8 sequence in half */
    while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
        out[--k] = 0;
    if (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0xC0) out[--k] = 0;
}

static int retryable_curl(int rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

int ct_llm_call_finish(ct_llm_call *call, int curl_code, ct_llm_response *out, long *retry_ms,
                       ct_error *err)
{
    ct_llm_client *c = call->c;
    *retry_ms = -1;
    int code, retry = 0;
    char msg[CT_ERROR_MSG_MAX];
    long status = 0;
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
    if (curl_code != CURLE_OK) {
        if (call->too_big) {
            return fail(c, err, CT_ELIMIT,
                        "the LLM response from %s is larger than llm.max_response_bytes (%zu)",
                        c->shown_url, c->max_response_bytes);
        }
        retry = retryable_curl(curl_code);
        code = curl_code == CURLE_OPERATION_TIMEDOUT ? CT_ETIMEOUT : CT_ENET;
        if (curl_code == CURLE_OPERATION_TIMEDOUT)
            snprintf(msg, sizeof msg, "the request to %s timed out after %.1f s (llm.timeout)",
                     c->shown_url, (double)c->timeout_ms / 1000);
        else
            snprintf(msg, sizeof msg, "the request to %s failed: %s", c->shown_url,
                     curl_easy_strerror((CURLcode)curl_code));
    } else if (status >= 200 && status < 300) {
        ct_llm_response r;
        ct_error perr;
        ct_error_clear(&perr);
        if (ct_llm_parse_response(call->resp.data, call->resp.len, &r, &perr) != CT_OK)
            return fail(c, err, perr.code, "%s (from %s, HTTP %ld)", perr.msg, c->shown_url,
                        status);
        r.http_status = (int)status;
        r.attempts = call->attempt + 1;
        r.latency_s = now_s() - call->t0;
        if (!r.model || !*r.model) {
            free(r.model);
            r.model = ct_xstrdup(c->model);
        }
        if (r.usage.prompt_tokens == 0 && r.usage.completion_tokens == 0) {
            /* no usage reported: estimate so the budget still counts the call */
            r.usage.prompt_tokens = (long long)(strlen(call->body) + 3) / 4;
            r.usage.completion_tokens = (long long)(strlen(r.content) + 3) / 4;
        }
        r.usage.priced = c->have_price;
        r.usage.cost_usd =
            c->have_price ? ct_llm_cost(&c->price, r.usage.prompt_tokens, r.usage.completion_tokens)
                          : 0;
        c->totals.calls++;
        c->totals.prompt_tokens += r.usage.prompt_tokens;
        c->totals.completion_tokens += r.usage.completion_tokens;
        c->totals.cost_usd += r.usage.cost_usd;
        add_phase(c, call->phase, &r.usage);
        *out = r;
        return CT_OK;
    } else {
        char ex[256];
        error_excerpt(call->resp.data, call->resp.len, ex, sizeof ex);
        code = CT_ENET;
        if (status == 401 || status == 403) {
            snprintf(msg, sizeof msg,
                     "HTTP %ld from %s: the endpoint refused the credentials (check llm.api_key / "
                     "CODETRACER_API_KEY)%s%s",
                     status, c->shown_url, *ex ? ": " : "", ex);
        } else {
            retry = status == 429 || status == 408 || status == 409 || status >= 500;
            snprintf(msg, sizeof msg, "HTTP %ld from %s%s%s", status, c->shown_url, *ex ? ": " : "",
                     ex);
        }
    }
    if (retry && call->attempt < c->max_retries) {
        if (call->retry_after_ms > c->retry_max_ms)
            return fail(c, err, code,
                        "%s; the server asks to retry after %.0f s, longer than llm.retry_max_ms",
                        msg, (double)call->retry_after_ms / 1000);
        *retry_ms = ct_llm_backoff_ms(call->attempt, c->retry_base_ms, c->retry_max_ms,
                                      call->retry_after_ms, next_rnd(c));
        return fail(c, err, code, "%s", msg);
    }
    if (retry) return fail(c, err, code, "%s (gave up after %d attempts)", msg, call->attempt + 1);
    return fail(c, err, code, "%s", msg);
}

int ct_llm_chat(ct_llm_client *c, const ct_llm_request *req, ct_llm_response *out, ct_error *err)
{
    memset(out, 0, sizeof *out);
    if (cancelled(c)) return fail(c, err, CT_ECANCELED, "cancelled: no request was made");
    ct_llm_call *call;
    int st = ct_llm_call_begin(c, req, &call, err);
    if (st != CT_OK) return st;
    for (;;) {
        int rc = c->perform ? c->perform(c->perform_ud, call->easy, 0)
                            : (int)curl_easy_perform(call->easy);
        if (rc != CURLE_OK && cancelled(c)) { /* a reply that made it is kept (and counted) */
            st = fail(c, err, CT_ECANCELED, "cancelled: the request to %s was abandoned",
                      c->shown_url);
            break;
        }
        long delay;
        st = ct_llm_call_finish(call, rc, out, &delay, err);
        if (st == CT_OK || delay < 0) break;
        if (c->perform) {
            if (c->perform(c->perform_ud, NULL, delay) != 0 || cancelled(c)) {
                st = fail(c, err, CT_ECANCELED, "cancelled while waiting to retry");
                break;
            }
        } else {
            struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            }
        }
        ct_llm_call_rearm(call);
    }
    ct_llm_call_free(call);
    return st;
}

/* --- response parsing --------------------------------------------------------------------- */

static char *json_text(const json_t *s)
{
    /* strings may hold \u0000: keep the whole value, replacing NULs */
    return sanitize(json_string_value(s), json_string_length(s));
}

int ct_llm_parse_response(const char *body, size_t len, ct_llm_response *out, ct_error *err)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (i < len && isspace((unsigned char)body[i]))
        i++;
    if (i == len) return ct_error_set(err, CT_EPARSE, "the LLM endpoint sent an empty body");
    if (body[i] == '<')
        return ct_error_set(err, CT_EPARSE,
                            "the LLM endpoint sent an HTML page instead of JSON (is llm.api_base "
                            "the API root, e.g. ending in /v1?)");
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_ALLOW_NUL, &je);
    if (!j)
        return ct_error_set(err, CT_EPARSE,
                            "the LLM response is not valid JSON: %s at byte %d of %zu", je.text,
                            je.position, len);
    int st = CT_EPARSE;
    const json_t *e = json_object_get(j, "error");
    const json_t *choices = json_object_get(j, "choices");
    const json_t *msg = json_object_get(json_array_get(choices, 0), "message");
    if (!json_is_object(j)) {
        ct_error_set(err, st, "the LLM response is JSON but not an object");
    } else if (e && !json_is_null(e)) {
        const char *m = json_string_value(json_object_get(e, "message"));
        if (!m) m = json_string_value(e);
        ct_error_set(err, st, "the LLM endpoint returned an error: %.300s", m ? m : "(no message)");
    } else if (!json_is_array(choices) || json_array_size(choices) == 0) {
        ct_error_set(err, st, "the LLM response has no choices");
    } else if (!json_is_object(msg)) {
        ct_error_set(err, st, "the LLM response's first choice has no message");
    } else {
        const json_t *content = json_object_get(msg, "content");
        if (json_is_string(content)) {
            out->content = json_text(content);
        } else if (json_is_array(content)) { /* content parts: join the text ones */
            ct_buf b = CT_BUF_INIT;
            size_t k;
            const json_t *part;
            json_array_foreach(content, k, part)
            {
                const json_t *t = json_object_get(part, "text");
                if (json_is_string(t)) {
                    char *s = json_text(t);
                    ct_buf_puts(&b, s);
                    free(s);
                }
            }
            out->content = ct_buf_steal(&b);
        } else {
            out->content = ct_xstrdup("");
        }
        const json_t *tc = json_object_get(msg, "tool_calls");
        if (json_is_array(tc) && json_array_size(tc) > 0) out->tool_calls = json_deep_copy(tc);
        const json_t *fr = json_object_get(json_array_get(choices, 0), "finish_reason");
        out->finish_reason = json_is_string(fr) ? json_text(fr) : ct_xstrdup("");
        const json_t *model = json_object_get(j, "model");
        out->model = json_is_string(model) ? json_text(model) : ct_xstrdup("");
        const json_t *u = json_object_get(j, "usage");
        const json_t *pt = json_object_get(u, "prompt_tokens");
        const json_t *ctk = json_object_get(u, "completion_tokens");
        if (json_is_integer(pt) && json_integer_value(pt) > 0)
            out->usage.prompt_tokens = json_integer_value(pt);
        if (json_is_integer(ctk) && json_integer_value(ctk) > 0)
            out->usage.completion_tokens = json_integer_value(ctk);
        st = CT_OK;
    }
    json_decref(j);
    if (st != CT_OK) ct_llm_response_free(out);
    return st;
}

void ct_llm_response_free(ct_llm_response *r)
{
    if (!r) return;
    free(r->content);
    free(r->finish_reason);
    free(r->model);
    json_decref(r->tool_calls);
    memset(r, 0, sizeof *r);
}

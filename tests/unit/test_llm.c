/* test_llm.c — the LLM client without a network: the embedded price table and lookups, cost and
 * budget arithmetic, backoff bounds, response parsing (tool calls, content parts, errors), the
 * layered configuration (user file, --config, environment, flags) and redaction; then the
 * attempt-at-a-time interface driven by curl multi against a one-shot HTTP server on 127.0.0.1
 * in a thread (the way the daemon will drive it). */
#include "check.h"
#include "httpd.h"
#include "ct/config.h"
#include "ct/llm.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

static void test_prices(void)
{
    ct_error e;
    ct_error_clear(&e);
    json_t *t = ct_llm_prices_load(NULL, &e);
    CHECK(t != NULL);
    if (!t) {
        fprintf(stderr, "%s\n", e.msg);
        return;
    }
    ct_llm_price p;
    /* values from config/prices.yaml */
    CHECK(ct_llm_price_lookup(t, "gpt-4o-mini-2024-07-18", &p) && NEAR(p.input, 0.15) &&
          NEAR(p.output, 0.60));
    CHECK(ct_llm_price_lookup(t, "gpt-4o-2024-08-06", &p) && NEAR(p.input, 2.5) &&
          NEAR(p.output, 10));
    CHECK(ct_llm_price_lookup(t, "GPT-4.1-MINI", &p) && NEAR(p.input, 0.4) && NEAR(p.output, 1.6));
    CHECK(ct_llm_price_lookup(t, "openai/gpt-5-mini", &p) && NEAR(p.input, 0.25) &&
          NEAR(p.output, 2.0));
    CHECK(ct_llm_price_lookup(t, "gpt-5", &p) && NEAR(p.input, 1.25) && NEAR(p.output, 10));
    CHECK(ct_llm_price_lookup(t, "o4-mini", &p) && NEAR(p.input, 1.1) && NEAR(p.output, 4.4));
    CHECK(ct_llm_price_lookup(t, "claude-opus-4-5-20251101", &p) && NEAR(p.input, 5) &&
          NEAR(p.output, 25));
    CHECK(ct_llm_price_lookup(t, "claude-opus-4-1", &p) && NEAR(p.input, 15) && NEAR(p.output, 75));
    CHECK(ct_llm_price_lookup(t, "claude-haiku-4-5", &p) && NEAR(p.input, 1) && NEAR(p.output, 5));
    CHECK(ct_llm_price_lookup(t, "deepseek-chat", &p) && NEAR(p.input, 0.28) &&
          NEAR(p.output, 0.42));
    CHECK(ct_llm_price_lookup(t, "moonshotai/kimi-k2-0905-preview", &p) && NEAR(p.input, 0.6) &&
          NEAR(p.output, 2.5));
    CHECK(ct_llm_price_lookup(t, "qwen3-coder-plus", &p) && NEAR(p.input, 1) && NEAR(p.output, 5));
    CHECK(!ct_llm_price_lookup(t, "llama-3-70b", &p));
    CHECK(!ct_llm_price_lookup(t, "", &p));
    json_decref(t);

    /* cost: 1M input at 0.4 + 500k output at 1.6 = 0.4 + 0.8 */
    ct_llm_price q = {0.4, 1.6};
    CHECK(NEAR(ct_llm_cost(&q, 1000000, 500000), 1.2));
    CHECK(NEAR(ct_llm_cost(&q, 0, 0), 0));

    /* a user price file replaces the table; a malformed one is an error naming it */
    char path[] = "/tmp/h8_prices_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *y = "models:\n  - {match: \"my-*\", input: 1, output: 2}\n";
    CHECK(write(fd, y, strlen(y)) == (ssize_t)strlen(y));
    close(fd);
    t = ct_llm_prices_load(path, &e);
    CHECK(t != NULL);
    CHECK(ct_llm_price_lookup(t, "my-model", &p) && NEAR(p.input, 1) && NEAR(p.output, 2));
    CHECK(!ct_llm_price_lookup(t, "gpt-4o", &p));
    json_decref(t);
    FILE *f = fopen(path, "w");
    fputs("models:\n  - {match: x, input: cheap}\n", f);
    fclose(f);
    ct_error_clear(&e);
    CHECK(ct_llm_prices_load(path, &e) == NULL);
    CHECK(strstr(e.msg, "models[0]") != NULL);
    CHECK_STR(e.path, path);
    unlink(path);
}

static void test_backoff(void)
{
    /* base 1000, retry 0: [500, 1000]; retry 3: 8000 → [4000, 8000]; capped at max 5000 */
    CHECK_INT(ct_llm_backoff_ms(0, 1000, 60000, -1, 0.0), 500);
    CHECK(ct_llm_backoff_ms(0, 1000, 60000, -1, 0.999) <= 1000);
    CHECK_INT(ct_llm_backoff_ms(3, 1000, 60000, -1, 0.0), 4000);
    CHECK(ct_llm_backoff_ms(3, 1000, 60000, -1, 0.99) <= 8000);
    CHECK_INT(ct_llm_backoff_ms(10, 1000, 5000, -1, 0.0), 2500);
    CHECK(ct_llm_backoff_ms(10, 1000, 5000, -1, 0.99) <= 5000);
    CHECK(ct_llm_backoff_ms(60, 1000, 5000, -1, 0.5) <= 5000); /* no overflow */
    /* Retry-After is a floor */
    CHECK_INT(ct_llm_backoff_ms(0, 50, 5000, 2000, 0.3), 2000);
    CHECK(ct_llm_backoff_ms(4, 1000, 60000, 10, 0.0) >= 8000);
}

static int parse(const char *body, ct_llm_response *r, ct_error *e)
{
    ct_error_clear(e);
    return ct_llm_parse_response(body, strlen(body), r, e);
}

static void test_parse(void)
{
    ct_llm_response r;
    ct_error e;
    CHECK_INT(parse("{\"model\":\"m1\",\"choices\":[{\"message\":{\"role\":\"assistant\","
                    "\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
                    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3}}",
                    &r, &e),
              CT_OK);
    CHECK_STR(r.content, "hi");
    CHECK_STR(r.model, "m1");
    CHECK_STR(r.finish_reason, "stop");
    CHECK_INT(r.usage.prompt_tokens, 12);
    CHECK_INT(r.usage.completion_tokens, 3);
    CHECK(r.tool_calls == NULL);
    ct_llm_response_free(&r);
    ct_llm_response_free(&r); /* safe twice */

    /* tool calls with null content */
    CHECK_INT(parse("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
                    "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":"
                    "\"bash\",\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"}}]},"
                    "\"finish_reason\":\"tool_calls\"}]}",
                    &r, &e),
              CT_OK);
    CHECK_STR(r.content, "");
    CHECK(json_is_array(r.tool_calls) && json_array_size(r.tool_calls) == 1);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(json_array_get(r.tool_calls, 0), "function"), "name")),
              "bash");
    CHECK_STR(r.finish_reason, "tool_calls");
    CHECK_INT(r.usage.prompt_tokens, 0);
    ct_llm_response_free(&r);

    /* content as parts */
    CHECK_INT(parse("{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                    "{\"type\":\"image\"},{\"type\":\"text\",\"text\":\"b\"}]}}]}",
                    &r, &e),
              CT_OK);
    CHECK_STR(r.content, "ab");
    ct_llm_response_free(&r);

    /* errors */
    CHECK_INT(parse("", &r, &e), CT_EPARSE);
    CHECK(strstr(e.msg, "empty") != NULL);
    CHECK_INT(parse("  <html>", &r, &e), CT_EPARSE);
    CHECK(strstr(e.msg, "HTML") != NULL);
    CHECK_INT(parse("{\"choices\":[{\"mess", &r, &e), CT_EPARSE);
    CHECK(strstr(e.msg, "not valid JSON") != NULL);
    CHECK_INT(parse("{\"error\":{\"message\":\"model overloaded\"}}", &r, &e), CT_EPARSE);
    CHECK(strstr(e.msg, "model overloaded") != NULL);
    CHECK_INT(parse("{\"choices\":[]}", &r, &e), CT_EPARSE);
    CHECK(strstr(e.msg, "no choices") != NULL);
    CHECK_INT(parse("{\"choices\":[{\"text\":\"legacy\"}]}", &r, &e), CT_EPARSE);
    CHECK(strstr(e.msg, "no message") != NULL);
    CHECK_INT(parse("42", &r, &e), CT_EPARSE);
    CHECK(r.content == NULL);
}

static char tmpdir[] = "/tmp/h8_llmcfg_XXXXXX";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void clear_env(void)
{
    const char *names[] = {"CODETRACER_API_BASE", "CODETRACER_API_KEY", "CODETRACER_MODEL",
                           "OPENAI_BASE_URL",     "OPENAI_API_BASE",    "OPENAI_API_KEY",
                           "OPENAI_MODEL"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

static void test_layers(void)
{
    clear_env();
    char xdg[300], user[400], dir[350], explicit_path[300];
    snprintf(xdg, sizeof xdg, "%s/xdg", tmpdir);
    snprintf(dir, sizeof dir, "%s/codetracer", xdg);
    snprintf(user, sizeof user, "%s/config.yaml", dir);
    snprintf(explicit_path, sizeof explicit_path, "%s/explicit.yaml", tmpdir);
    mkdir(xdg, 0700);
    mkdir(dir, 0700);
    setenv("XDG_CONFIG_HOME", xdg, 1);
    char buf[512];
    CHECK_STR(ct_config_user_path(buf, sizeof buf), user);

    ct_error e;
    ct_error_clear(&e);
    /* no user file: defaults, no endpoint */
    json_t *c = ct_config_load_layered(NULL, &e);
    CHECK(c != NULL);
    CHECK_STR(ct_config_str(c, "llm.api_base", "x"), "");
    CHECK(NEAR(ct_config_double(c, "trace.cost_limit", 0), 3.0));
    CHECK_INT(ct_config_int(c, "heuristic.repeat.min_repeats", 0), 2); /* other sections kept */
    json_decref(c);

    write_file(user, "llm:\n  model_name: u-model\n  api_base: http://u/v1\n  max_retries: 1\n");
    write_file(explicit_path, "llm:\n  model_name: e-model\n");
    c = ct_config_load_layered(explicit_path, &e);
    CHECK_STR(ct_config_str(c, "llm.model_name", ""), "e-model");
    CHECK_STR(ct_config_str(c, "llm.api_base", ""), "http://u/v1");
    CHECK_INT(ct_config_int(c, "llm.max_retries", 0), 1);
    json_decref(c);

    setenv("OPENAI_MODEL", "oa-model", 1);
    setenv("OPENAI_API_KEY", "sk-oa-secret", 1);
    setenv("OPENAI_API_BASE", "http://oa-base/v1", 1);
    c = ct_config_load_layered(explicit_path, &e);
    CHECK_STR(ct_config_str(c, "llm.model_name", ""), "oa-model");
    CHECK_STR(ct_config_str(c, "llm.api_key", ""), "sk-oa-secret");
    CHECK_STR(ct_config_str(c, "llm.api_base", ""), "http://oa-base/v1");
    json_decref(c);
    setenv("CODETRACER_MODEL", "ct-model", 1);
    setenv("CODETRACER_API_KEY", "sk-ct-secret", 1);
    setenv("OPENAI_BASE_URL", "http://oa-url/v1", 1);
    setenv("CODETRACER_API_BASE", "", 1); /* empty: ignored */
    c = ct_config_load_layered(explicit_path, &e);
    CHECK_STR(ct_config_str(c, "llm.model_name", ""), "ct-model");
    CHECK_STR(ct_config_str(c, "llm.api_key", ""), "sk-ct-secret");
    CHECK_STR(ct_config_str(c, "llm.api_base", ""), "http://oa-url/v1");
    /* flags last */
    CHECK_INT(ct_config_set(c, "llm.model_name", json_string("flag-model")), 0);
    CHECK_STR(ct_config_str(c, "llm.model_name", ""), "flag-model");
    CHECK_INT(ct_config_set(c, "new.deep.key", json_integer(5)), 0);
    CHECK_INT(ct_config_int(c, "new.deep.key", 0), 5);
    CHECK_INT(ct_config_set(c, "", json_integer(1)), CT_EINVAL);
    CHECK_INT(ct_config_set(c, "a..b", json_integer(1)), CT_EINVAL);

    /* redaction */
    json_t *r = ct_config_redacted(c);
    CHECK_STR(ct_config_str(r, "llm.api_key", ""), "<redacted>");
    CHECK_STR(ct_config_str(r, "llm.model_name", ""), "flag-model");
    CHECK_INT(ct_config_int(r, "llm.max_tokens", 0), 2048); /* numbers are not secrets */
    char *dump = json_dumps(r, 0);
    CHECK(dump && strstr(dump, "sk-ct-secret") == NULL);
    free(dump);
    json_decref(r);
    CHECK_STR(ct_config_str(c, "llm.api_key", ""), "sk-ct-secret"); /* original untouched */
    json_decref(c);

    /* a broken user file is an error naming it */
    write_file(user, "llm: [unclosed\n");
    ct_error_clear(&e);
    CHECK(ct_config_load_layered(NULL, &e) == NULL);
    CHECK_STR(e.path, user);
    unlink(user);
    unlink(explicit_path);
    rmdir(dir);
    rmdir(xdg);
    clear_env();
    unsetenv("XDG_CONFIG_HOME");
}

static json_t *client_cfg(const char *base, const char *model, double budget)
{
    json_t *c = ct_config_defaults();
    ct_config_set(c, "llm.api_base", json_string(base));
    ct_config_set(c, "llm.model_name", json_string(model));
    ct_config_set(c, "llm.api_key", json_string("sk-unit-secret"));
    ct_config_set(c, "trace.cost_limit", json_real(budget));
    return c;
}

static int warns;
static void on_warn(void *ud, const char *m)
{
    (void)ud;
    (void)m;
    warns++;
}

static void test_client_offline(void)
{
    ct_error e;
    ct_error_clear(&e);
    json_t *cfg = ct_config_defaults();
    CHECK(ct_llm_client_new(cfg, &e) == NULL);
    CHECK(strstr(e.msg, "CODETRACER_API_BASE") != NULL);
    json_decref(cfg);
    cfg = client_cfg("ftp://x", "gpt-4o", 1);
    CHECK(ct_llm_client_new(cfg, &e) == NULL);
    json_decref(cfg);

    cfg = client_cfg("http://127.0.0.1:9/v1///", "gpt-4.1-mini", 0.00001);
    ct_llm_client *c = ct_llm_client_new(cfg, &e);
    json_decref(cfg);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_STR(ct_llm_client_url(c), "http://127.0.0.1:9/v1/chat/completions");
    json_t *msgs = json_pack("[{s:s, s:s}]", "role", "user", "content", "hello there");
    ct_llm_request req = {msgs, NULL, NULL, 1000, -1, "trace"};
    /* estimate: the compact JSON of the messages, /4 rounded up */
    char *s = json_dumps(msgs, JSON_COMPACT);
    CHECK_INT(ct_llm_estimate_prompt_tokens(&req), (long long)(strlen(s) + 3) / 4);
    free(s);
    /* 1000 completion tokens at $1.60/1M = $0.0016 > $0.00001: refused before any I/O */
    ct_llm_call *call = NULL;
    CHECK_INT(ct_llm_call_begin(c, &req, &call, &e), CT_ELIMIT);
    CHECK(call == NULL);
    CHECK(strstr(e.msg, "no request was made") != NULL);
    CHECK(strstr(e.msg, "sk-unit-secret") == NULL);
    ct_llm_client_set_budget(c, 1.0);
    CHECK_INT(ct_llm_call_begin(c, &req, &call, &e), CT_OK);
    CHECK(call != NULL && ct_llm_call_easy(call) != NULL);
    ct_llm_call_free(call);
    /* an empty message list is a usage error */
    json_t *none = json_array();
    ct_llm_request bad = {none, NULL, NULL, 0, -1, NULL};
    CHECK_INT(ct_llm_call_begin(c, &bad, &call, &e), CT_EINVAL);
    json_decref(none);
    ct_llm_totals t;
    ct_llm_client_totals(c, &t);
    CHECK_INT(t.calls, 0);
    CHECK(NEAR(t.budget_usd, 1.0));
    ct_llm_client_free(c);

    /* an unknown model warns once, and is never refused by the budget */
    cfg = client_cfg("http://127.0.0.1:9/v1", "my-local-model", 0.00001);
    c = ct_llm_client_new(cfg, &e);
    json_decref(cfg);
    ct_llm_client_set_warn(c, on_warn, NULL);
    CHECK_INT(ct_llm_call_begin(c, &req, &call, &e), CT_OK);
    ct_llm_call_free(call);
    CHECK_INT(ct_llm_call_begin(c, &req, &call, &e), CT_OK);
    ct_llm_call_free(call);
    CHECK_INT(warns, 1);
    ct_llm_client_free(c);
    json_decref(msgs);
}

/* --- curl multi driving ct_llm_call_* against a scripted one-connection-per-reply server ---- */

static void test_multi(void)
{
    test_httpd s;
    memset(&s, 0, sizeof s);
    s.replies[0] = "503{\"error\":{\"message\":\"busy\"}}";
    s.replies[1] = "{\"model\":\"gpt-4o-mini\",\"choices\":[{\"message\":{\"content\":\"ok\"},"
                   "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":100000,"
                   "\"completion_tokens\":20000}}";
    s.n_replies = 2;
    CHECK(httpd_start(&s) == 0);

    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", s.port);
    json_t *cfg = client_cfg(base, "gpt-4o-mini", 5.0);
    ct_config_set(cfg, "llm.retry_base_ms", json_integer(10));
    ct_error e;
    ct_error_clear(&e);
    ct_llm_client *c = ct_llm_client_new(cfg, &e);
    json_decref(cfg);
    json_t *msgs = json_pack("[{s:s, s:s}]", "role", "user", "content", "x");
    json_t *tools = json_pack("[{s:s, s:{s:s, s:{s:s}}}]", "type", "function", "function", "name",
                              "bash", "parameters", "type", "object");
    ct_llm_request req = {msgs, tools, NULL, 50, 0.0, "trace"};
    ct_llm_call *call = NULL;
    CHECK_INT(ct_llm_call_begin(c, &req, &call, &e), CT_OK);
    CURLM *m = curl_multi_init();
    ct_llm_response r;
    memset(&r, 0, sizeof r);
    int st = CT_EINVAL, rounds = 0;
    long delay = -1;
    while (call && rounds++ < 5) {
        CURL *easy = ct_llm_call_easy(call);
        curl_multi_add_handle(m, easy);
        int running = 1;
        CURLcode rc = CURLE_OK;
        while (running) {
            curl_multi_perform(m, &running);
            if (running) curl_multi_poll(m, NULL, 0, 100, NULL);
        }
        int left;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE) rc = msg->data.result;
        curl_multi_remove_handle(m, easy);
        st = ct_llm_call_finish(call, (int)rc, &r, &delay, &e);
        if (st == CT_OK || delay < 0) break;
        CHECK(delay >= 5 && delay <= 10); /* base 10 ms, first retry, jittered */
        usleep((useconds_t)delay * 1000);
        ct_llm_call_rearm(call);
    }
    ct_llm_call_free(call);
    curl_multi_cleanup(m);
    CHECK_INT(st, CT_OK);
    CHECK_STR(r.content, "ok");
    CHECK_INT(r.attempts, 2);
    /* gpt-4o-mini: 100k·0.15/1e6 + 20k·0.60/1e6 = 0.015 + 0.012 */
    CHECK(NEAR(r.usage.cost_usd, 0.027));
    ct_llm_totals t;
    ct_llm_client_totals(c, &t);
    CHECK_INT(t.calls, 1);
    CHECK_INT(t.prompt_tokens, 100000);
    CHECK(NEAR(t.cost_usd, 0.027));
    json_t *ph = ct_llm_client_phases(c);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(ph, "trace"), "calls")), 1);
    CHECK_INT(
        json_integer_value(json_object_get(json_object_get(ph, "trace"), "completion_tokens")),
        20000);
    CHECK(NEAR(json_real_value(json_object_get(json_object_get(ph, "trace"), "cost_usd")), 0.027));
    CHECK(json_object_size(ph) == 1);
    json_decref(ph);
    /* the second request carried the tools, the key as a bearer token, our model */
    CHECK_INT(httpd_served(&s), 2);
    CHECK(s.heads[1] && strstr(s.heads[1], "POST /v1/chat/completions") != NULL);
    CHECK(s.heads[1] && strstr(s.heads[1], "Authorization: Bearer sk-unit-secret") != NULL);
    CHECK(s.requests[1] && strstr(s.requests[1], "\"tools\":[{") != NULL);
    CHECK(s.requests[1] && strstr(s.requests[1], "\"model\":\"gpt-4o-mini\"") != NULL);
    CHECK(s.requests[1] && strstr(s.requests[1], "\"max_tokens\":50") != NULL);
    ct_llm_response_free(&r);
    ct_llm_client_free(c);
    json_decref(msgs);
    httpd_stop(&s);
    json_decref(tools);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) return 1;
    test_prices();
    test_backoff();
    test_parse();
    test_layers();
    test_client_offline();
    test_multi();
    rmdir(tmpdir);
    return check_report();
}

/* test_llm_perform.c — the hooks the editor daemon drives the LLM client with: a performer that
 * does the transfers (and the retry waits) instead of curl_easy_perform, a cancellation flag that
 * stops ct_llm_chat before a request, in a back-off wait or with a transfer in flight, and the
 * agent loop's cancellation and per-turn usage event. Also: a password in llm.api_base never
 * appears in the printed URL or an error. Against a scripted one-connection-per-reply HTTP
 * server on 127.0.0.1 in a thread; expected values are written by hand from its script. */
#include "check.h"
#include "httpd.h"
#include "ct/agent.h"
#include "ct/config.h"
#include "ct/llm.h"
#include "ct/sandbox.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef test_httpd server;

static json_t *cfg_for(const char *base)
{
    json_t *c = ct_config_defaults();
    ct_config_set(c, "llm.api_base", json_string(base));
    ct_config_set(c, "llm.model_name", json_string("gpt-4o-mini"));
    ct_config_set(c, "llm.api_key", json_string("sk-perform-secret"));
    ct_config_set(c, "llm.retry_base_ms", json_integer(10));
    ct_config_set(c, "llm.max_retries", json_integer(2));
    return c;
}

/* A client of the responder s with cfg_for's settings (CHECKed not NULL). */
static ct_llm_client *client_for(const test_httpd *s)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", s->port);
    json_t *cfg = cfg_for(base);
    ct_error e;
    ct_error_clear(&e);
    ct_llm_client *c = ct_llm_client_new(cfg, &e);
    json_decref(cfg);
    CHECK(c != NULL);
    return c;
}

#define OK_BODY(text)                                                                              \
    "{\"model\":\"gpt-4o-mini\",\"choices\":[{\"message\":{\"content\":\"" text                    \
    "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1000,"                          \
    "\"completion_tokens\":100}}"

/* A performer that does the transfer itself and records what it was asked. */
typedef struct perf {
    int easy_calls, waits;
    long last_delay;
    atomic_int *cancel;
    int cancel_on_wait; /* set the flag when asked to wait, and say so */
    int cancel_on_easy; /* set the flag instead of transferring (a transfer aborted) */
} perf;

static int perform(void *ud, void *easy, long delay_ms)
{
    perf *p = ud;
    if (!easy) {
        p->waits++;
        p->last_delay = delay_ms;
        if (p->cancel_on_wait) {
            atomic_store(p->cancel, 1);
            return 1;
        }
        usleep((useconds_t)delay_ms * 1000);
        return 0;
    }
    p->easy_calls++;
    if (p->cancel_on_easy) {
        atomic_store(p->cancel, 1);
        return CURLE_ABORTED_BY_CALLBACK;
    }
    return (int)curl_easy_perform(easy);
}

static void test_performer(void)
{
    server s;
    memset(&s, 0, sizeof s);
    s.replies[0] = "503{\"error\":{\"message\":\"busy\"}}";
    s.replies[1] = OK_BODY("ok");
    s.n_replies = 2;
    CHECK(httpd_start(&s) == 0);
    ct_llm_client *c = client_for(&s);
    ct_error e;
    ct_error_clear(&e);
    atomic_int flag;
    atomic_init(&flag, 0);
    perf p = {0, 0, -1, &flag, 0, 0};
    ct_llm_client_set_performer(c, perform, &p);
    ct_llm_client_set_cancel(c, &flag);
    json_t *msgs = json_pack("[{s:s, s:s}]", "role", "user", "content", "x");
    ct_llm_request req = {msgs, NULL, NULL, 50, -1, "trace"};
    ct_llm_response r;
    CHECK_INT(ct_llm_chat(c, &req, &r, &e), CT_OK);
    CHECK_STR(r.content, "ok");
    CHECK_INT(r.attempts, 2);
    CHECK_INT(p.easy_calls, 2); /* both attempts went through the performer */
    CHECK_INT(p.waits, 1);      /* and the back-off between them */
    CHECK(p.last_delay >= 5 && p.last_delay <= 10);
    ct_llm_response_free(&r);

    /* cancelled before: no request, no performer call */
    atomic_store(&flag, 1);
    CHECK_INT(ct_llm_chat(c, &req, &r, &e), CT_ECANCELED);
    CHECK_INT(p.easy_calls, 2);
    CHECK_INT(httpd_served(&s), 2);
    ct_llm_totals t;
    ct_llm_client_totals(c, &t);
    CHECK_INT(t.calls, 1);
    ct_llm_client_free(c);
    json_decref(msgs);
    httpd_stop(&s);
}

static void test_cancel_in_wait_and_in_flight(void)
{
    server s;
    memset(&s, 0, sizeof s);
    s.replies[0] = "503{\"error\":{\"message\":\"busy\"}}";
    s.replies[1] = OK_BODY("never");
    s.n_replies = 2;
    CHECK(httpd_start(&s) == 0);
    ct_llm_client *c = client_for(&s);
    ct_error e;
    ct_error_clear(&e);
    atomic_int flag;
    atomic_init(&flag, 0);
    perf p = {0, 0, -1, &flag, 1, 0};
    ct_llm_client_set_performer(c, perform, &p);
    ct_llm_client_set_cancel(c, &flag);
    json_t *msgs = json_pack("[{s:s, s:s}]", "role", "user", "content", "x");
    ct_llm_request req = {msgs, NULL, NULL, 50, -1, "trace"};
    ct_llm_response r;
    /* the 503 asks for a retry; the wait is cancelled: no second request */
    CHECK_INT(ct_llm_chat(c, &req, &r, &e), CT_ECANCELED);
    CHECK(strstr(e.msg, "cancelled") != NULL);
    CHECK_INT(p.easy_calls, 1);
    CHECK_INT(p.waits, 1);
    CHECK_INT(httpd_served(&s), 1);

    /* a transfer aborted in flight (the daemon removes it from its multi handle) */
    atomic_store(&flag, 0);
    perf q = {0, 0, -1, &flag, 0, 1};
    ct_llm_client_set_performer(c, perform, &q);
    CHECK_INT(ct_llm_chat(c, &req, &r, &e), CT_ECANCELED);
    CHECK_INT(q.easy_calls, 1);
    CHECK_INT(q.waits, 0);
    ct_llm_client_free(c);
    json_decref(msgs);
    httpd_stop(&s);
}

/* ---- the agent loop: cancel after the first turn; one usage event per turn ---- */
typedef struct agent_seen {
    atomic_int *cancel;
    int usage_events, last_usage_step;
    char usage_text[96];
    int done_code;
} agent_seen;

static void on_agent(void *ud, ct_agent_event_kind k, int step, int code, const char *text)
{
    agent_seen *a = ud;
    if (k == CT_AGENT_EV_USAGE) {
        a->usage_events++;
        a->last_usage_step = step;
        snprintf(a->usage_text, sizeof a->usage_text, "%s", text);
        atomic_store(a->cancel, 1); /* the user cancels after turn 1 */
    } else if (k == CT_AGENT_EV_DONE) {
        a->done_code = code;
    }
}

static void test_agent_cancel(void)
{
    server s;
    memset(&s, 0, sizeof s);
    s.replies[0] = OK_BODY("Look.\\n```bash\\necho hi\\n```");
    s.replies[1] = OK_BODY("never sent");
    s.n_replies = 2;
    CHECK(httpd_start(&s) == 0);
    ct_llm_client *c = client_for(&s);
    ct_error e;
    ct_error_clear(&e);
    atomic_int flag;
    atomic_init(&flag, 0);
    ct_llm_client_set_cancel(c, &flag);
    char dir[] = "/tmp/ct_perform_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    agent_seen seen = {&flag, 0, 0, "", -1};
    ct_agent_opts o;
    memset(&o, 0, sizeof o);
    o.system_prompt = "sys";
    o.instance_prompt = "task";
    o.work_dir = dir;
    o.sandbox_mode = CT_SANDBOX_AUTO;
    o.on_event = on_agent;
    o.ud = &seen;
    o.cancel = &flag;
    ct_agent_result res;
    CHECK_INT(ct_agent_run(c, &o, &res, &e), CT_OK);
    CHECK_INT(res.status, CT_AGENT_CANCELLED);
    CHECK_STR(ct_agent_status_name(res.status), "cancelled");
    CHECK_INT(res.llm_calls, 1);
    CHECK_INT(res.commands, 1);
    CHECK_INT(seen.usage_events, 1);
    CHECK_INT(seen.last_usage_step, 1);
    /* gpt-4o-mini: 1000·0.15/1e6 + 100·0.60/1e6 = 0.00015 + 0.00006 */
    CHECK_STR(seen.usage_text, "1000 100 0.000210");
    CHECK_INT(seen.done_code, CT_AGENT_CANCELLED);
    CHECK_INT(httpd_served(&s), 1);
    ct_agent_result_free(&res);
    ct_llm_client_free(c);
    httpd_stop(&s);
    rmdir(dir);
}

static void test_userinfo(void)
{
    char *r = ct_llm_url_redact("https://alice:pa55-SECRET@api.example.com/v1");
    CHECK_STR(r, "https://***@api.example.com/v1");
    free(r);
    r = ct_llm_url_redact("http://127.0.0.1:8080/v1");
    CHECK_STR(r, "http://127.0.0.1:8080/v1");
    free(r);
    r = ct_llm_url_redact("http://host/v1/a@b"); /* an @ in the path is not userinfo */
    CHECK_STR(r, "http://host/v1/a@b");
    free(r);

    /* port 9 (discard) on 127.0.0.1: refused at once; the error names the URL without the
     * password, and neither the password nor user:password appears anywhere */
    json_t *cfg = cfg_for("http://alice:pa55-SECRET@127.0.0.1:9/v1");
    ct_config_set(cfg, "llm.max_retries", json_integer(0));
    ct_error e;
    ct_error_clear(&e);
    ct_llm_client *c = ct_llm_client_new(cfg, &e);
    json_decref(cfg);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_STR(ct_llm_client_url(c), "http://***@127.0.0.1:9/v1/chat/completions");
    json_t *msgs = json_pack("[{s:s, s:s}]", "role", "user", "content", "x");
    ct_llm_request req = {msgs, NULL, NULL, 50, -1, NULL};
    ct_llm_response resp;
    CHECK(ct_llm_chat(c, &req, &resp, &e) != CT_OK);
    CHECK(strstr(e.msg, "http://***@127.0.0.1:9/v1") != NULL);
    CHECK(strstr(e.msg, "pa55-SECRET") == NULL);
    CHECK(strstr(e.msg, "alice") == NULL);
    json_decref(msgs);
    ct_llm_client_free(c);
}

int main(void)
{
    test_performer();
    test_cancel_in_wait_and_in_flight();
    test_agent_cancel();
    test_userinfo();
    return check_report();
}

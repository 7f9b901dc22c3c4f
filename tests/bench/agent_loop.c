/* bench_agent_loop — what the diagnosis agent loop itself costs, against an in-process HTTP
 * responder on 127.0.0.1 (a thread per connection; zero latency unless asked):
 *
 *  1. per-turn time of ct_agent_run in structured tools mode (a trivial tool, no subprocess)
 *     against the baseline of the same number of bare ct_llm_chat calls in the same run: the
 *     difference is the loop's own overhead per turn (transcript growth, tool dispatch, events,
 *     budget checks). Target: <= 5 ms.
 *  2. the same in bash-block mode with the sandbox off (`true` per turn): includes fork/exec.
 *  3. 50 conversations of T turns each driven concurrently on ONE curl multi handle with
 *     ct_llm_call_begin/finish (the daemon's path), against the same 50×T calls made one after
 *     another with ct_llm_chat, with L ms of server latency per reply.
 *
 * Each figure is the best of 3 interleaved runs. Prints figures; never fails. Usage:
 * bench_agent_loop [turns] [latency_ms]  (default 40, 20) */
#include "ct/agent.h"
#include "ct/buf.h"
#include "ct/config.h"
#include "ct/sandbox.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX (8 << 20)
#define CONVS 50

static int listen_fd, port;
static volatile int latency_ms;
static const char *volatile reply_body;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *conn_main(void *ud)
{
    int c = (int)(long)ud;
    char *buf = malloc(REQ_MAX);
    size_t got = 0;
    for (;;) {
        ssize_t r = read(c, buf + got, REQ_MAX - 1 - got);
        if (r <= 0) break;
        got += (size_t)r;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        char *cl = strcasestr(buf, "content-length:");
        if (end && cl && got >= (size_t)(end + 4 - buf) + (size_t)atol(cl + 15)) break;
        if (got >= REQ_MAX - 1) break;
    }
    free(buf);
    if (latency_ms > 0) {
        struct timespec ts = {0, (long)latency_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    const char *body = reply_body;
    char head[256];
    snprintf(head, sizeof head,
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             strlen(body));
    if (write(c, head, strlen(head)) < 0 || write(c, body, strlen(body)) < 0) {
    }
    close(c);
    return NULL;
}

static void *accept_main(void *ud)
{
    (void)ud;
    for (;;) {
        int c = accept(listen_fd, NULL, NULL);
        if (c < 0) return NULL;
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &a, conn_main, (void *)(long)c) != 0) close(c);
        pthread_attr_destroy(&a);
    }
}

static int server_start(void)
{
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(listen_fd, 256) != 0)
        return -1;
    getsockname(listen_fd, (struct sockaddr *)&a, &al);
    port = ntohs(a.sin_port);
    pthread_t t;
    return pthread_create(&t, NULL, accept_main, NULL);
}

static char *completion(const char *content, const char *tool_calls_json)
{
    json_t *msg = json_pack("{s:s, s:s}", "role", "assistant", "content", content);
    if (tool_calls_json)
        json_object_set_new(msg, "tool_calls", json_loads(tool_calls_json, 0, NULL));
    json_t *o = json_pack("{s:s, s:[{s:o, s:s}], s:{s:i, s:i}}", "model", "gpt-4o-mini", "choices",
                          "message", msg, "finish_reason", "stop", "usage", "prompt_tokens", 100,
                          "completion_tokens", 10);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static ct_llm_client *client(void)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", port);
    json_t *cfg = ct_config_defaults();
    ct_config_set(cfg, "llm.api_base", json_string(base));
    ct_config_set(cfg, "llm.model_name", json_string("gpt-4o-mini"));
    ct_config_set(cfg, "trace.cost_limit", json_real(0));
    ct_error e;
    ct_error_clear(&e);
    ct_llm_client *c = ct_llm_client_new(cfg, &e);
    if (!c) fprintf(stderr, "bench_agent_loop: %s\n", e.msg);
    json_decref(cfg);
    return c;
}

static char *tool_exec(void *ud, const char *name, const json_t *args, int step)
{
    (void)ud, (void)name, (void)args, (void)step;
    return ct_xstrdup("{\"step_id\": 1, \"action\": \"ls\", \"observation\": \"a.py b.py\"}");
}

static double run_loop(int turns, int tools, const char *dir)
{
    ct_llm_client *c = client();
    if (!c) return -1;
    json_t *tj = json_loads("[{\"type\":\"function\",\"function\":{\"name\":\"inspect_step\","
                            "\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]",
                            0, NULL);
    ct_agent_opts o;
    memset(&o, 0, sizeof o);
    o.system_prompt = "You are a bench agent.";
    o.instance_prompt = "Inspect steps until stopped.";
    o.work_dir = dir;
    o.step_limit = turns;
    o.sandbox_mode = CT_SANDBOX_NONE;
    if (tools) {
        o.tools = tj;
        o.tool_exec = tool_exec;
    }
    ct_agent_result r;
    ct_error e;
    ct_error_clear(&e);
    double t0 = now_s();
    int rc = ct_agent_run(c, &o, &r, &e);
    double dt = now_s() - t0;
    if (rc != CT_OK || r.llm_calls != turns) {
        fprintf(stderr, "bench_agent_loop: loop ended early (%s, %d calls)\n", e.msg, r.llm_calls);
        dt = -1;
    }
    ct_agent_result_free(&r);
    json_decref(tj);
    ct_llm_client_free(c);
    return dt;
}

static double run_bare(int calls)
{
    ct_llm_client *c = client();
    if (!c) return -1;
    json_t *msgs =
        json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content", "You are a bench agent.",
                  "role", "user", "content", "Inspect steps until stopped.");
    ct_llm_request req = {msgs, NULL, NULL, 0, -1, NULL};
    double t0 = now_s();
    for (int i = 0; i < calls; i++) {
        ct_llm_response resp;
        ct_error e;
        if (ct_llm_chat(c, &req, &resp, &e) != CT_OK) {
            fprintf(stderr, "bench_agent_loop: %s\n", e.msg);
            break;
        }
        ct_llm_response_free(&resp);
    }
    double dt = now_s() - t0;
    json_decref(msgs);
    ct_llm_client_free(c);
    return dt;
}

/* 50 conversations, `turns` calls each, all in flight together on one CURLM. Each turn appends
 * the reply and an observation to its conversation, like the loop. */
static double run_multi(int turns)
{
    ct_llm_client *cl[CONVS];
    json_t *conv[CONVS];
    ct_llm_call *call[CONVS];
    int done_turns[CONVS];
    CURLM *m = curl_multi_init();
    int active = 0;
    double t0 = now_s();
    for (int i = 0; i < CONVS; i++) {
        cl[i] = client();
        conv[i] = json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content",
                            "You are a bench agent.", "role", "user", "content", "Go.");
        done_turns[i] = 0;
        ct_llm_request req = {conv[i], NULL, NULL, 0, -1, NULL};
        ct_error e;
        if (!cl[i] || ct_llm_call_begin(cl[i], &req, &call[i], &e) != CT_OK) {
            call[i] = NULL;
            continue;
        }
        curl_easy_setopt(ct_llm_call_easy(call[i]), CURLOPT_PRIVATE, (void *)(long)i);
        curl_multi_add_handle(m, ct_llm_call_easy(call[i]));
        active++;
    }
    while (active > 0) {
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) continue;
            CURL *easy = msg->easy_handle;
            CURLcode code = msg->data.result;
            void *priv = NULL;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
            int i = (int)(long)priv;
            curl_multi_remove_handle(m, easy);
            ct_llm_response resp;
            long retry = -1;
            ct_error e;
            int st = ct_llm_call_finish(call[i], code, &resp, &retry, &e);
            ct_llm_call_free(call[i]);
            call[i] = NULL;
            if (st != CT_OK) {
                fprintf(stderr, "bench_agent_loop: conversation %d: %s\n", i, e.msg);
                active--;
                continue;
            }
            json_array_append_new(
                conv[i], json_pack("{s:s, s:s}", "role", "assistant", "content", resp.content));
            json_array_append_new(conv[i], json_pack("{s:s, s:s}", "role", "user", "content",
                                                     "<returncode>0</returncode>"));
            ct_llm_response_free(&resp);
            if (++done_turns[i] >= turns) {
                active--;
                continue;
            }
            ct_llm_request req = {conv[i], NULL, NULL, 0, -1, NULL};
            if (ct_llm_call_begin(cl[i], &req, &call[i], &e) != CT_OK) {
                active--;
                continue;
            }
            curl_easy_setopt(ct_llm_call_easy(call[i]), CURLOPT_PRIVATE, (void *)(long)i);
            curl_multi_add_handle(m, ct_llm_call_easy(call[i]));
        }
        if (active > 0) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double dt = now_s() - t0;
    int total = 0;
    for (int i = 0; i < CONVS; i++) {
        total += done_turns[i];
        json_decref(conv[i]);
        ct_llm_client_free(cl[i]);
    }
    curl_multi_cleanup(m);
    if (total != CONVS * turns) fprintf(stderr, "bench_agent_loop: only %d turns done\n", total);
    return dt;
}

static double min_d(double a, double b)
{
    return b >= 0 && b < a ? b : a;
}

int main(int argc, char **argv)
{
    int turns = argc > 1 ? atoi(argv[1]) : 40;
    int lat = argc > 2 ? atoi(argv[2]) : 20;
    if (turns < 1) turns = 40;
    if (lat < 0) lat = 20;
    if (server_start() != 0) {
        fprintf(stderr, "bench_agent_loop: cannot listen on 127.0.0.1\n");
        return 0;
    }
    char dir[] = "/tmp/bench_agent_loop_XXXXXX";
    if (!mkdtemp(dir)) return 0;
    char *tool_reply = completion("", "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{"
                                      "\"name\":\"inspect_step\",\"arguments\":\"{}\"}}]");
    char *bash_reply = completion("Next.\n```bash\ntrue\n```", NULL);
    latency_ms = 0;
    reply_body = tool_reply;
    run_bare(3); /* warm up */
    /* best of 3 for each figure, interleaved, so the baseline and the loop see the same noise */
    double bare = 1e9, loop_tools = 1e9, bare2 = 1e9, loop_bash = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        reply_body = tool_reply;
        bare = min_d(bare, run_bare(turns));
        loop_tools = min_d(loop_tools, run_loop(turns, 1, dir));
        reply_body = bash_reply;
        bare2 = min_d(bare2, run_bare(turns));
        loop_bash = min_d(loop_bash, run_loop(turns, 0, dir));
    }
    printf("agent loop, %d turns, zero-latency server on 127.0.0.1\n", turns);
    printf("  bare ct_llm_chat (baseline)     %8.3f ms/call\n", bare / turns * 1000);
    if (loop_tools < 1e9)
        printf("  loop, tools mode                %8.3f ms/turn  -> own overhead %.3f ms/turn "
               "(target <= 5)\n",
               loop_tools / turns * 1000, (loop_tools - bare) / turns * 1000);
    if (loop_bash < 1e9)
        printf("  loop, bash mode (sandbox none)  %8.3f ms/turn  -> overhead %.3f ms/turn "
               "(includes fork/exec of the command)\n",
               loop_bash / turns * 1000, (loop_bash - bare2) / turns * 1000);
    int mturns = turns < 10 ? turns : 10;
    latency_ms = lat;
    double seq = run_bare(CONVS * mturns);
    double multi = run_multi(mturns);
    printf("%d conversations x %d turns, %d ms server latency per reply\n", CONVS, mturns, lat);
    printf("  one after another (ct_llm_chat)  %8.1f ms total\n", seq * 1000);
    printf("  concurrent on one curl multi     %8.1f ms total  (%.1fx faster; %.3f ms/turn of "
           "wall time)\n",
           multi * 1000, multi > 0 ? seq / multi : 0, multi / (CONVS * mturns) * 1000);
    free(tool_reply);
    free(bash_reply);
    rmdir(dir);
    return 0;
}

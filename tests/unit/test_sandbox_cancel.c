/* test_sandbox_cancel.c — a cancellation kills a running sandboxed command at once (its whole
 * process group), not at the time limit: ct_sandbox_run with opts.cancel set by another thread
 * 200 ms into `sleep 30` (unisolated, and under bubblewrap when it can run here), a background
 * child that must die too, the output written before the cancel kept, a flag already set, and a
 * flag never set. Then the agent loop: the scripted LLM (a one-reply HTTP server on 127.0.0.1 in
 * a thread) asks for `sleep 30`, the cancel comes 200 ms later, and ct_agent_run ends
 * CT_AGENT_CANCELLED within about a second with the command's observation saying so. */
#include "check.h"
#include "httpd.h"
#include "ct/agent.h"
#include "ct/config.h"
#include "ct/llm.h"
#include "ct/sandbox.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char scratch[64];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct canceller {
    atomic_int *flag;
    long delay_ms;
} canceller;

static void *cancel_later(void *ud)
{
    canceller *c = ud;
    struct timespec ts = {c->delay_ms / 1000, (c->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(c->flag, 1);
    return NULL;
}

/* 1 while pid exists and is not a zombie. */
static int alive_pid(long pid)
{
    if (pid <= 0 || kill((pid_t)pid, 0) != 0) return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')');
    return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

/* Run cmd with a 30 s limit and the flag set after delay_ms (< 0: never). */
static int run_cancelled(const char *cmd, int mode, long delay_ms, int preset, ct_sandbox_result *r,
                         double *took)
{
    atomic_int flag;
    atomic_init(&flag, preset);
    ct_sandbox_opts o;
    memset(&o, 0, sizeof o);
    o.scratch_dir = scratch;
    o.mode = mode;
    o.timeout_s = 30;
    o.cancel = &flag;
    canceller c = {&flag, delay_ms};
    pthread_t th;
    int started = delay_ms >= 0 && pthread_create(&th, NULL, cancel_later, &c) == 0;
    ct_error e;
    ct_error_clear(&e);
    double t0 = now_s();
    int rc = ct_sandbox_run(cmd, &o, r, &e);
    *took = now_s() - t0;
    if (started) pthread_join(th, NULL);
    if (rc != CT_OK) fprintf(stderr, "sandbox error: %s\n", e.msg);
    return rc;
}

static void test_sleep_cancelled(int mode, const char *name)
{
    ct_sandbox_result r;
    double took;
    CHECK_INT(run_cancelled("echo before; sleep 30; echo after", mode, 200, 0, &r, &took), CT_OK);
    printf("%s: sleep 30 cancelled after 200 ms returned in %.0f ms\n", name, took * 1000);
    CHECK(took >= 0.19);
    CHECK(took < 1.2); /* not the 30 s limit */
    CHECK_INT(r.cancelled, 1);
    CHECK_INT(r.timed_out, 0);
    CHECK(r.output && strstr(r.output, "before") != NULL);
    CHECK(r.output && strstr(r.output, "after") == NULL);
    CHECK(r.exit_code != 0);
    ct_sandbox_result_free(&r);
}

/* A background child of the command dies with it (the process group is killed). */
static void test_group_killed(void)
{
    char pidfile[128];
    snprintf(pidfile, sizeof pidfile, "%s/bg.pid", scratch);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; wait", pidfile);
    ct_sandbox_result r;
    double took;
    CHECK_INT(run_cancelled(cmd, CT_SANDBOX_NONE, 200, 0, &r, &took), CT_OK);
    CHECK_INT(r.cancelled, 1);
    CHECK(took < 1.2);
    long pid = 0;
    FILE *f = fopen(pidfile, "r");
    CHECK(f != NULL);
    if (f) {
        CHECK(fscanf(f, "%ld", &pid) == 1);
        fclose(f);
    }
    CHECK(pid > 0);
    for (int i = 0; i < 100 && alive_pid(pid); i++)
        usleep(10000);
    CHECK(!alive_pid(pid));
    unlink(pidfile);
    ct_sandbox_result_free(&r);
}

static void test_preset_and_unset(void)
{
    ct_sandbox_result r;
    double took;
    /* already set: killed at the first look, well before the command could finish */
    CHECK_INT(run_cancelled("sleep 30", CT_SANDBOX_NONE, -1, 1, &r, &took), CT_OK);
    CHECK_INT(r.cancelled, 1);
    CHECK(took < 1.2);
    ct_sandbox_result_free(&r);
    /* never set: the command runs to its end, nothing says cancelled */
    CHECK_INT(run_cancelled("echo done; exit 3", CT_SANDBOX_NONE, -1, 0, &r, &took), CT_OK);
    CHECK_INT(r.cancelled, 0);
    CHECK_INT(r.exit_code, 3);
    CHECK_STR(r.output, "done\n");
    ct_sandbox_result_free(&r);
}

/* ---- the agent: a command in flight when the cancel comes ---------------------------------- */

static void test_agent_command_cancelled(void)
{
    test_httpd s;
    memset(&s, 0, sizeof s);
    s.replies[0] =
        "{\"model\":\"gpt-4o-mini\",\"choices\":[{\"message\":{\"content\":\"Wait.\\n```bash\\n"
        "echo started; sleep 30\\n```\"},\"finish_reason\":\"stop\"}],\"usage\":{"
        "\"prompt_tokens\":1000,\"completion_tokens\":100}}";
    s.n_replies = 1;
    CHECK(httpd_start(&s) == 0);

    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", s.port);
    json_t *cfg = ct_config_defaults();
    ct_config_set(cfg, "llm.api_base", json_string(base));
    ct_config_set(cfg, "llm.model_name", json_string("gpt-4o-mini"));
    ct_config_set(cfg, "llm.api_key", json_string("sk-cancel-test"));
    ct_config_set(cfg, "llm.max_retries", json_integer(0));
    ct_error e;
    ct_error_clear(&e);
    ct_llm_client *c = ct_llm_client_new(cfg, &e);
    json_decref(cfg);
    CHECK(c != NULL);
    if (!c) {
        httpd_stop(&s);
        return;
    }
    atomic_int flag;
    atomic_init(&flag, 0);
    ct_llm_client_set_cancel(c, &flag);
    ct_agent_opts o;
    memset(&o, 0, sizeof o);
    o.system_prompt = "sys";
    o.instance_prompt = "task";
    o.work_dir = scratch;
    o.sandbox_mode = CT_SANDBOX_AUTO;
    o.command_timeout_s = 30;
    o.step_limit = 3;
    o.cancel = &flag;
    /* the cancel comes while the command sleeps: the LLM reply takes a few ms, so 400 ms is
     * well inside the command */
    canceller cn = {&flag, 400};
    pthread_t cth;
    pthread_create(&cth, NULL, cancel_later, &cn);
    ct_agent_result res;
    double t0 = now_s();
    CHECK_INT(ct_agent_run(c, &o, &res, &e), CT_OK);
    double took = now_s() - t0;
    pthread_join(cth, NULL);
    printf("agent: command cancelled 400 ms into the run, ct_agent_run returned in %.0f ms\n",
           took * 1000);
    CHECK(took < 1.5);
    CHECK_INT(res.status, CT_AGENT_CANCELLED);
    CHECK_INT(res.llm_calls, 1);
    CHECK_INT(res.commands, 1);
    CHECK_INT(httpd_served(&s), 1); /* nothing was asked after the cancel */
    size_t n = json_array_size(res.messages);
    const char *last =
        json_string_value(json_object_get(json_array_get(res.messages, n - 1), "content"));
    CHECK(last && strstr(last, "The command was cancelled") != NULL);
    CHECK(last && strstr(last, "started") != NULL);
    ct_agent_result_free(&res);
    ct_llm_client_free(c);
    httpd_stop(&s);
}

int main(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/ct_sbcancel_XXXXXX");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    test_sleep_cancelled(CT_SANDBOX_NONE, "unisolated");
    if (ct_sandbox_have_bwrap())
        test_sleep_cancelled(CT_SANDBOX_BWRAP, "bwrap");
    else
        printf("SKIP: bubblewrap cannot run here; the cancel is checked without isolation only\n");
    test_group_killed();
    test_preset_and_unset();
    test_agent_command_cancelled();
    rmdir(scratch);
    return check_report();
}

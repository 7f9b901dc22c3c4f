/* test_load_cancel.c — ct_load_opts.cancel: a load cancelled before it starts, while a large
 * JSON text is being parsed, and between the roots of a directory, returns CT_ECANCELED and
 * appends nothing; without the flag set the same inputs load. The trajectories are generated
 * here (mini-SWE-agent messages). */
#include "check.h"

#include "ct/buf.h"
#include "ct/load.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A mini-SWE-agent trajectory of n steps, each output `out_bytes` long. */
static void big_traj(ct_buf *b, int n, size_t out_bytes)
{
    ct_buf_puts(b,
                "{\"trajectory_format\": \"mini-swe-agent-1\", \"info\": {\"exit_status\": "
                "\"Submitted\", \"submission\": \"\"}, \"messages\": [{\"role\": \"system\", "
                "\"content\": \"run `echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT` when done\"}, "
                "{\"role\": \"user\", \"content\": \"<pr_description>fix it</pr_description>\"}");
    for (int i = 0; i < n; i++) {
        ct_buf_printf(b,
                      ", {\"role\": \"assistant\", \"content\": \"THOUGHT: look %d\\n\\n```bash\\n"
                      "cat f%d.py\\n```\"}, {\"role\": \"user\", \"content\": \"<returncode>0"
                      "</returncode>\\n<output>\\n",
                      i, i % 97);
        for (size_t k = 0; k < out_bytes / 16; k++)
            ct_buf_puts(b, "line of output\\n");
        ct_buf_puts(b, "</output>\"}");
    }
    ct_buf_puts(b, "]}\n");
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct canceller {
    atomic_int *flag;
    int after_us;
    double at_ms;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *c = arg;
    usleep((useconds_t)c->after_us);
    c->at_ms = now_ms();
    atomic_store(c->flag, 1);
    return NULL;
}

static void test_buffer(void)
{
    ct_buf b = CT_BUF_INIT;
    big_traj(&b, 6000, 4096); /* about 26 MB */
    atomic_int flag;
    atomic_init(&flag, 1);
    ct_load_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.cancel = &flag;
    ct_traj_list out = {0};
    ct_error err;
    ct_error_clear(&err);
    /* set before the load: nothing is read */
    CHECK(ct_load_buffer("big.traj.json", b.data, b.len, &opts, &out, &err) == CT_ECANCELED);
    CHECK(out.n == 0 && err.code == CT_ECANCELED);
    /* set while the text is parsed: the parse stops at its next 256 KiB piece */
    atomic_store(&flag, 0);
    ct_error_clear(&err);
    canceller c = {&flag, 2000, 0};
    pthread_t th;
    double t0 = now_ms();
    CHECK(pthread_create(&th, NULL, cancel_later, &c) == 0);
    int rc = ct_load_buffer("big.traj.json", b.data, b.len, &opts, &out, &err);
    double t1 = now_ms();
    pthread_join(th, NULL);
    CHECK(rc == CT_ECANCELED && out.n == 0);
    printf("cancelled a %.1f MB load %.1f ms after the flag was set (%.1f ms in all)\n",
           b.len / 1e6, t1 - c.at_ms, t1 - t0);
    /* not set: the same text loads */
    atomic_store(&flag, 0);
    ct_error_clear(&err);
    t0 = now_ms();
    CHECK(ct_load_buffer("big.traj.json", b.data, b.len, &opts, &out, &err) == CT_OK);
    printf("the whole load: %.1f ms\n", now_ms() - t0);
    CHECK(out.n == 1 && out.items[0]->n_steps == 6000);
    ct_traj_list_free(&out);
    ct_buf_free(&b);
}

static void test_directory(void)
{
    char dir[] = "/tmp/ct-load-cancel-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    ct_buf b = CT_BUF_INIT;
    big_traj(&b, 3, 64);
    char path[256];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/t%d.traj.json", dir, i);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            fwrite(b.data, 1, b.len, f);
            fclose(f);
        }
    }
    atomic_int flag;
    atomic_init(&flag, 1);
    ct_load_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.cancel = &flag;
    ct_traj_list out = {0};
    ct_error err;
    ct_error_clear(&err);
    CHECK(ct_load_path(dir, &opts, &out, NULL, NULL, &err) == CT_ECANCELED && out.n == 0);
    atomic_store(&flag, 0);
    ct_error_clear(&err);
    CHECK(ct_load_path(dir, &opts, &out, NULL, NULL, &err) == CT_OK && out.n == 3);
    ct_traj_list_free(&out);
    /* no flag at all: as before */
    CHECK(ct_load_path(dir, NULL, &out, NULL, NULL, &err) == CT_OK && out.n == 3);
    ct_traj_list_free(&out);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/t%d.traj.json", dir, i);
        unlink(path);
    }
    rmdir(dir);
    ct_buf_free(&b);
}

int main(void)
{
    test_buffer();
    test_directory();
    return check_report();
}

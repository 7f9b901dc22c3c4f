/* test_sandbox.c — ct_sandbox_run on real commands: output and exit codes, the scrubbed
 * environment (no *_API_KEY), the time limit killing the whole process group, the head+tail cap
 * on 10 MB of output, and — under bubblewrap — no network, a read-only host outside the scratch
 * dir and a private /tmp. The bwrap checks are skipped loudly when bwrap cannot run here. */
#include "check.h"
#include "ct/sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[256];

/* 1 while pid exists and is not a zombie (a killed child waits for init to reap it). */
static int alive_pid(long pid)
{
    if (kill((pid_t)pid, 0) != 0) return 0;
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

static ct_sandbox_opts opts(int mode, double timeout, size_t cap)
{
    ct_sandbox_opts o;
    memset(&o, 0, sizeof o);
    o.scratch_dir = scratch;
    o.mode = mode;
    o.timeout_s = timeout;
    o.output_cap = cap;
    return o;
}

static int run(const char *cmd, int mode, double timeout, size_t cap, ct_sandbox_result *r)
{
    ct_sandbox_opts o = opts(mode, timeout, cap);
    ct_error e;
    ct_error_clear(&e);
    int rc = ct_sandbox_run(cmd, &o, r, &e);
    if (rc != 0) fprintf(stderr, "sandbox error: %s\n", e.msg);
    return rc;
}

static void test_basic(int mode)
{
    ct_sandbox_result r;
    CHECK_INT(run("echo hello; echo err >&2", mode, 10, 0, &r), 0);
    CHECK_STR(r.output, "hello\nerr\n");
    CHECK_INT(r.exit_code, 0);
    CHECK_INT(r.timed_out, 0);
    CHECK_INT(r.elided, 0);
    CHECK_INT(r.total_bytes, 10);
    ct_sandbox_result_free(&r);

    CHECK_INT(run("exit 3", mode, 10, 0, &r), 0);
    CHECK_INT(r.exit_code, 3);
    ct_sandbox_result_free(&r);

    /* the working directory and HOME are the scratch dir */
    CHECK_INT(run("pwd; echo \"$HOME\"", mode, 10, 0, &r), 0);
    char want[600];
    char real[256];
    CHECK(realpath(scratch, real) != NULL);
    snprintf(want, sizeof want, "%s\n%s\n", real, real);
    CHECK_STR(r.output, want);
    ct_sandbox_result_free(&r);
}

static void test_env(int mode)
{
    setenv("CODETRACER_API_KEY", "sk-sandbox-test-secret-1", 1);
    setenv("OPENAI_API_KEY", "sk-sandbox-test-secret-2", 1);
    setenv("H8_PRIVATE_TOKEN", "tok-3", 1);
    ct_sandbox_result r;
    CHECK_INT(run("env", mode, 10, 0, &r), 0);
    CHECK(strstr(r.output, "_API_KEY") == NULL);
    CHECK(strstr(r.output, "sk-sandbox-test-secret") == NULL);
    CHECK(strstr(r.output, "H8_PRIVATE_TOKEN") == NULL);
    CHECK(strstr(r.output, "PATH=") != NULL);
    CHECK(strstr(r.output, "LANG=") != NULL);
    char home[300];
    char real[256];
    CHECK(realpath(scratch, real) != NULL);
    snprintf(home, sizeof home, "HOME=%s\n", real);
    CHECK(strstr(r.output, home) != NULL);
    ct_sandbox_result_free(&r);
}

static void test_timeout(int mode)
{
    ct_sandbox_result r;
    CHECK_INT(run("sleep 100", mode, 1.0, 0, &r), 0);
    CHECK_INT(r.timed_out, 1);
    CHECK(r.elapsed_s >= 0.9 && r.elapsed_s < 10);
    CHECK_INT(r.exit_code, 128 + SIGKILL);
    ct_sandbox_result_free(&r);
}

/* The whole process group dies: a background child of the shell does not outlive the run, at
 * the time limit nor when the shell exits on its own. Host pids are only visible without bwrap. */
static void test_group_kill(void)
{
    char cmd[600], pidfile[300];
    snprintf(pidfile, sizeof pidfile, "%s/bg.pid", scratch);
    snprintf(cmd, sizeof cmd, "sleep 100 >/dev/null 2>&1 & echo $! > %s; sleep 100", pidfile);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            snprintf(cmd, sizeof cmd, "sleep 100 >/dev/null 2>&1 & echo $! > %s; exit 0", pidfile);
        ct_sandbox_result r;
        CHECK_INT(run(cmd, CT_SANDBOX_NONE, pass == 0 ? 2.0 : 10, 0, &r), 0);
        CHECK_INT(r.timed_out, pass == 0);
        CHECK(r.elapsed_s < 5);
        ct_sandbox_result_free(&r);
        FILE *f = fopen(pidfile, "r");
        CHECK(f != NULL);
        long pid = 0;
        if (f) {
            CHECK(fscanf(f, "%ld", &pid) == 1);
            fclose(f);
        }
        CHECK(pid > 1);
        if (pid > 1) {
            /* reaped by init after our SIGKILL; allow it a moment */
            int alive = 1;
            for (int i = 0; i < 100 && alive; i++) {
                alive = alive_pid(pid);
                if (alive) usleep(20000);
            }
            CHECK_INT(alive, 0);
        }
        unlink(pidfile);
    }
}

static void test_cap(int mode)
{
    ct_sandbox_result r;
    CHECK_INT(run("printf HEAD; head -c 10485760 /dev/zero | tr '\\0' x; printf TAIL", mode, 30,
                  4096, &r),
              0);
    CHECK_INT(r.exit_code, 0);
    CHECK_INT(r.total_bytes, 10485760 + 8);
    CHECK_INT(r.elided, 10485760 + 8 - 4096);
    CHECK(strncmp(r.output, "HEADxxxx", 8) == 0);
    CHECK(r.output_len > 4 && strcmp(r.output + r.output_len - 8, "xxxxTAIL") == 0);
    char marker[64];
    snprintf(marker, sizeof marker, "\n[... %d bytes elided ...]\n", 10485760 + 8 - 4096);
    CHECK(strstr(r.output, marker) != NULL);
    CHECK_INT(r.output_len, 4096 + strlen(marker));
    ct_sandbox_result_free(&r);

    /* exactly at the cap: nothing elided */
    CHECK_INT(run("head -c 4096 /dev/zero | tr '\\0' y", mode, 30, 4096, &r), 0);
    CHECK_INT(r.elided, 0);
    CHECK_INT(r.output_len, 4096);
    CHECK(strstr(r.output, "elided") == NULL);
    ct_sandbox_result_free(&r);
}

static void test_bwrap_isolation(void)
{
    if (!ct_sandbox_have_bwrap()) {
        printf("SKIP: bubblewrap is not usable here: network / read-only / tmpfs checks not run\n");
        return;
    }
    ct_sandbox_result r;
    /* network: a listening socket on the host loopback is reachable without the sandbox and
     * unreachable inside it */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(s, 8) == 0);
    CHECK(getsockname(s, (struct sockaddr *)&a, &al) == 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "exec 3<>/dev/tcp/127.0.0.1/%d && echo CONNECTED", ntohs(a.sin_port));
    CHECK_INT(run(cmd, CT_SANDBOX_NONE, 10, 0, &r), 0); /* control: the probe works */
    CHECK(strstr(r.output, "CONNECTED") != NULL);
    ct_sandbox_result_free(&r);
    CHECK_INT(run(cmd, CT_SANDBOX_BWRAP, 10, 0, &r), 0);
    CHECK_INT(r.isolated, 1);
    CHECK(strstr(r.output, "CONNECTED") == NULL);
    CHECK(r.exit_code != 0);
    ct_sandbox_result_free(&r);
    close(s);

    /* writing outside the scratch dir fails; inside it works */
    char outside[300], cwd[200];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(outside, sizeof outside, "%s/h8_sandbox_outside_XXXXXX", cwd);
    CHECK(mkdtemp(outside) != NULL);
    snprintf(cmd, sizeof cmd, "echo x > %s/f", outside);
    CHECK_INT(run(cmd, CT_SANDBOX_BWRAP, 10, 0, &r), 0);
    CHECK(r.exit_code != 0);
    ct_sandbox_result_free(&r);
    char path[400];
    snprintf(path, sizeof path, "%s/f", outside);
    CHECK(access(path, F_OK) != 0);
    rmdir(outside);
    snprintf(cmd, sizeof cmd, "echo inside > %s/g", scratch);
    CHECK_INT(run(cmd, CT_SANDBOX_BWRAP, 10, 0, &r), 0);
    CHECK_INT(r.exit_code, 0);
    ct_sandbox_result_free(&r);
    snprintf(path, sizeof path, "%s/g", scratch);
    FILE *f = fopen(path, "r");
    char line[32] = "";
    CHECK(f != NULL);
    if (f) {
        CHECK(fgets(line, sizeof line, f) != NULL);
        fclose(f);
    }
    CHECK_STR(line, "inside\n");
    unlink(path);

    /* /tmp is private: a file written there does not appear on the host */
    snprintf(path, sizeof path, "/tmp/h8_sandbox_probe_%ld", (long)getpid());
    snprintf(cmd, sizeof cmd, "echo x > %s && cat %s", path, path);
    CHECK_INT(run(cmd, CT_SANDBOX_BWRAP, 10, 0, &r), 0);
    CHECK_INT(r.exit_code, 0);
    CHECK_STR(r.output, "x\n");
    ct_sandbox_result_free(&r);
    CHECK(access(path, F_OK) != 0);
}

static void test_errors(void)
{
    ct_sandbox_opts o = opts(CT_SANDBOX_NONE, 5, 0);
    o.scratch_dir = "/nonexistent/h8/scratch";
    ct_sandbox_result r;
    ct_error e;
    ct_error_clear(&e);
    CHECK_INT(ct_sandbox_run("true", &o, &r, &e), CT_ENOTFOUND);
    CHECK(strstr(e.msg, "scratch") != NULL);
    CHECK(r.output == NULL);
    /* a shell that cannot run is a failed command (status 127 and a message), not an error */
    o = opts(CT_SANDBOX_NONE, 5, 0);
    o.shell = "/nonexistent/h8/sh";
    ct_error_clear(&e);
    CHECK_INT(ct_sandbox_run("true", &o, &r, &e), CT_OK);
    CHECK_INT(r.exit_code, 127);
    CHECK(r.output && strstr(r.output, "sandbox: cannot run the shell") != NULL);
    ct_sandbox_result_free(&r);
    /* a working directory that cannot be entered (a plain file, even for root): status 126 */
    char notdir[sizeof scratch + 16];
    snprintf(notdir, sizeof notdir, "%s/notdir", scratch);
    FILE *f = fopen(notdir, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    CHECK(chmod(notdir, 0600) == 0);
    o = opts(CT_SANDBOX_NONE, 5, 0);
    o.cwd = notdir;
    ct_error_clear(&e);
    CHECK_INT(ct_sandbox_run("pwd", &o, &r, &e), CT_OK);
    CHECK_INT(r.exit_code, 126);
    CHECK(r.output && strstr(r.output, "cannot enter the working directory") != NULL);
    ct_sandbox_result_free(&r);
    unlink(notdir);
    CHECK_INT(ct_sandbox_mode_parse("auto"), CT_SANDBOX_AUTO);
    CHECK_INT(ct_sandbox_mode_parse("bwrap"), CT_SANDBOX_BWRAP);
    CHECK_INT(ct_sandbox_mode_parse("none"), CT_SANDBOX_NONE);
    CHECK_INT(ct_sandbox_mode_parse("docker"), -1);
}

int main(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/h8_sandbox_XXXXXX");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    test_errors();
    test_basic(CT_SANDBOX_NONE);
    test_env(CT_SANDBOX_NONE);
    test_timeout(CT_SANDBOX_NONE);
    test_group_kill();
    test_cap(CT_SANDBOX_NONE);
    if (ct_sandbox_have_bwrap()) {
        test_basic(CT_SANDBOX_BWRAP);
        test_env(CT_SANDBOX_BWRAP);
        test_timeout(CT_SANDBOX_BWRAP);
        test_cap(CT_SANDBOX_BWRAP);
    }
    test_bwrap_isolation();
    rmdir(scratch);
    return check_report();
}

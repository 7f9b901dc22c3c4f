/* test_sandbox_nobwrap.c — without bubblewrap on PATH, mode auto says so exactly once, still
 * runs the command with the time limit, the output cap and the scrubbed environment; mode bwrap
 * refuses to run. PATH is pointed at an empty directory before the first sandbox call. */
#include "check.h"
#include "ct/sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int warnings;
static char last_warning[512];

static void on_warn(void *ud, const char *msg)
{
    (void)ud;
    warnings++;
    snprintf(last_warning, sizeof last_warning, "%s", msg);
}

int main(void)
{
    char scratch[] = "/tmp/h8_nobwrap_XXXXXX";
    char emptybin[] = "/tmp/h8_nobwrap_path_XXXXXX";
    if (!mkdtemp(scratch) || !mkdtemp(emptybin)) return 1;
    setenv("PATH", emptybin, 1);
    setenv("OPENAI_API_KEY", "sk-nobwrap-secret", 1);
    CHECK_INT(ct_sandbox_have_bwrap(), 0);

    ct_sandbox_opts o;
    memset(&o, 0, sizeof o);
    o.scratch_dir = scratch;
    o.mode = CT_SANDBOX_AUTO;
    o.timeout_s = 1;
    o.output_cap = 64;
    o.warn = on_warn;
    ct_sandbox_result r;
    ct_error e;
    ct_error_clear(&e);
    /* builtins only: PATH has nothing */
    CHECK_INT(
        ct_sandbox_run(
            "echo one; case \"$(export -p)\" in *API_KEY*) echo leaked;; *) echo clean;; esac", &o,
            &r, &e),
        0);
    CHECK_INT(r.isolated, 0);
    CHECK_STR(r.output, "one\nclean\n");
    ct_sandbox_result_free(&r);
    CHECK_INT(warnings, 1);
    CHECK(strstr(last_warning, "bwrap") != NULL);
    CHECK(strstr(last_warning, "WITHOUT isolation") != NULL);

    CHECK_INT(ct_sandbox_run("/bin/sleep 100", &o, &r, &e), 0);
    CHECK_INT(r.timed_out, 1);
    CHECK(r.elapsed_s < 10);
    ct_sandbox_result_free(&r);

    CHECK_INT(
        ct_sandbox_run("i=0; while [ $i -lt 200 ]; do echo line$i; i=$((i+1)); done", &o, &r, &e),
        0);
    CHECK(r.elided > 0);
    CHECK(strncmp(r.output, "line0\n", 6) == 0);
    CHECK(r.output_len > 8 && strcmp(r.output + r.output_len - 8, "line199\n") == 0);
    ct_sandbox_result_free(&r);
    CHECK_INT(warnings, 1); /* once per process */

    o.mode = CT_SANDBOX_BWRAP;
    CHECK_INT(ct_sandbox_run("echo no", &o, &r, &e), CT_ENOTFOUND);
    CHECK(strstr(e.msg, "bubblewrap") != NULL);

    rmdir(scratch);
    rmdir(emptybin);
    return check_report();
}

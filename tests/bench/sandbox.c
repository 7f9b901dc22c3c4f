/* bench_sandbox — what isolation costs per agent command: the wall time of ct_sandbox_run for a
 * trivial command (`true`) and for 10 MB of output capped to 64 KiB, without bubblewrap (the
 * baseline, same run) and under bwrap when it is usable. Prints figures; never fails.
 * Usage: bench_sandbox [runs]   (default 50) */
#include "ct/sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double measure(const char *cmd, int mode, int runs, const char *scratch)
{
    ct_sandbox_opts o;
    memset(&o, 0, sizeof o);
    o.scratch_dir = scratch;
    o.mode = mode;
    o.timeout_s = 60;
    o.output_cap = 65536;
    double t0 = now_s();
    for (int i = 0; i < runs; i++) {
        ct_sandbox_result r;
        ct_error e;
        if (ct_sandbox_run(cmd, &o, &r, &e) != CT_OK) {
            fprintf(stderr, "bench_sandbox: %s\n", e.msg);
            return -1;
        }
        ct_sandbox_result_free(&r);
    }
    return (now_s() - t0) / runs * 1000;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 50;
    if (runs < 1) runs = 1;
    char scratch[] = "/tmp/bench_sandbox_XXXXXX";
    if (!mkdtemp(scratch)) return 1;
    const char *big = "head -c 10485760 /dev/zero | tr '\\0' x";
    int bw = ct_sandbox_have_bwrap();
    printf("bench_sandbox: %d runs each, bwrap %s\n", runs, bw ? "usable" : "NOT usable");
    double t_none = measure("true", CT_SANDBOX_NONE, runs, scratch);
    double b_none = measure(big, CT_SANDBOX_NONE, runs / 5 + 1, scratch);
    printf("  true          no isolation  %8.2f ms/command (baseline)\n", t_none);
    printf("  10 MB output  no isolation  %8.2f ms/command (baseline)\n", b_none);
    if (bw) {
        double t_bw = measure("true", CT_SANDBOX_BWRAP, runs, scratch);
        double b_bw = measure(big, CT_SANDBOX_BWRAP, runs / 5 + 1, scratch);
        printf("  true          bwrap         %8.2f ms/command (%.1fx baseline)\n", t_bw,
               t_bw / t_none);
        printf("  10 MB output  bwrap         %8.2f ms/command (%.1fx baseline)\n", b_bw,
               b_bw / b_none);
    }
    rmdir(scratch);
    return 0;
}

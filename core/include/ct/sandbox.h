/* ct/sandbox.h — run one shell command with limits, isolated by bubblewrap when available.
 *
 * With bwrap: the host is mounted read-only (--ro-bind / /), the scratch directory is the only
 * writable path, /tmp is a fresh tmpfs, /dev and /proc are minimal, there is no network
 * (--unshare-net: not even loopback), a new pid namespace, and the sandbox dies with us.
 * Always (bwrap or not): the environment is scrubbed to PATH, HOME (= the scratch dir) and LANG
 * — never an API key; stdin is /dev/null; stdout and stderr are merged in arrival order; the
 * command runs in its own process group, killed as a whole (SIGKILL) at the time limit; output
 * beyond the cap keeps its head and tail around a "[... N bytes elided ...]" marker.
 * Without bwrap (mode AUTO) the command still runs with those limits, and the warn callback is
 * told once per process that nothing isolates it.
 *
 * Not thread-safe on first use (the bwrap probe is cached in a static); call
 * ct_sandbox_have_bwrap() once from one thread before running commands from several.
 *
 * Ownership: ct_sandbox_run fills a result the caller releases with ct_sandbox_result_free.
 * Options are borrowed for the duration of the call. */
#ifndef CT_SANDBOX_H
#define CT_SANDBOX_H

#include "ct/error.h"

#include <stdatomic.h>
#include <stddef.h>

enum {
    CT_SANDBOX_AUTO = 0,  /* bwrap when found on PATH, else unisolated (warned once) */
    CT_SANDBOX_BWRAP = 1, /* bwrap required: CT_ENOTFOUND when it is missing */
    CT_SANDBOX_NONE = 2,  /* never isolate (limits still apply) */
};

typedef void (*ct_sandbox_warn_fn)(void *ud, const char *msg);

typedef struct ct_sandbox_opts {
    const char *scratch_dir;     /* required: existing directory, writable inside; HOME */
    const char *cwd;             /* working directory inside (NULL → scratch_dir) */
    const char *shell;           /* NULL → /bin/bash when present, else /bin/sh */
    double timeout_s;            /* <= 0 → 60 */
    size_t output_cap;           /* bytes kept (head + tail); 0 → 65536 */
    int mode;                    /* CT_SANDBOX_* */
    const char *const *ro_binds; /* extra NULL-terminated list of paths to bind read-only at the
                                  * same place (needed only when they live under /tmp) */
    ct_sandbox_warn_fn warn;
    void *warn_ud;
    /* Optional cancellation flag (borrowed), polled while the command runs (at least every
     * 50 ms): once non-zero the process group is killed (SIGKILL) at once and the result says
     * cancelled, with the output captured so far. */
    const atomic_int *cancel;
} ct_sandbox_opts;

typedef struct ct_sandbox_result {
    int exit_code; /* the shell's status, 128+N when killed by signal N, -1 unknown */
    int timed_out; /* 1 when the time limit killed it */
    int isolated;  /* 1 when it ran under bwrap */
    char *output;  /* merged stdout+stderr, capped, NUL-terminated (may hold other NULs) */
    size_t output_len;
    size_t total_bytes; /* bytes the command wrote in all */
    size_t elided;      /* bytes dropped from the middle */
    double elapsed_s;
    int cancelled; /* 1 when opts.cancel killed it (never together with timed_out) */
} ct_sandbox_result;

/* 1 when a usable bwrap is on PATH (checked once, by running it). */
int ct_sandbox_have_bwrap(void);
/* Run `command` with `shell -c`. CT_OK when it ran (whatever its exit status or whether it timed
 * out); an error value when it could not be started (no scratch dir, bwrap required but absent,
 * fork/pipe failure). */
int ct_sandbox_run(const char *command, const ct_sandbox_opts *opts, ct_sandbox_result *out,
                   ct_error *err);
void ct_sandbox_result_free(ct_sandbox_result *r);
/* Parse "auto" / "bwrap" / "none" (trace.sandbox); -1 when unknown. */
int ct_sandbox_mode_parse(const char *s);

#endif

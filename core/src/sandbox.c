/* sandbox.c — one shell command under bubblewrap (when present) with a scrubbed environment, a
 * time limit on the whole process group, and head+tail output capping. */
#include "ct/sandbox.h"
#include "ct/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DRAIN_AFTER_KILL_S 1.0

static int bwrap_state = -1; /* -1 unknown, 0 absent/unusable, 1 usable */
static char bwrap_path[PATH_MAX];
static int warned_unisolated;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int find_in_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = DEFAULT_PATH;
    const char *p = path;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n > 0 && n + strlen(name) + 2 <= size) {
            memcpy(out, p, n);
            out[n] = '/';
            strcpy(out + n + 1, name);
            if (access(out, X_OK) == 0) return 1;
        }
        p += n;
        if (*p == ':') p++;
    }
    return 0;
}

/* Run argv with stdio on /dev/null; exit status or -1. */
static int run_quiet(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int fd = 0; fd < 3; fd++)
        posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", O_RDWR, 0);
    pid_t pid;
    int se = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (se != 0) return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int ct_sandbox_have_bwrap(void)
{
    if (bwrap_state >= 0) return bwrap_state;
    bwrap_state = 0;
    if (!find_in_path("bwrap", bwrap_path, sizeof bwrap_path)) return 0;
    /* present is not enough: user namespaces may be disabled (containers) */
    char *argv[] = {
        bwrap_path,      "--ro-bind",         "/",       "/",  "--dev",  "/dev", "--unshare-net",
        "--unshare-pid", "--die-with-parent", "/bin/sh", "-c", "exit 0", NULL};
    bwrap_state = run_quiet(argv) == 0;
    return bwrap_state;
}

int ct_sandbox_mode_parse(const char *s)
{
    if (!s || strcmp(s, "auto") == 0) return CT_SANDBOX_AUTO;
    if (strcmp(s, "bwrap") == 0) return CT_SANDBOX_BWRAP;
    if (strcmp(s, "none") == 0) return CT_SANDBOX_NONE;
    return -1;
}

void ct_sandbox_result_free(ct_sandbox_result *r)
{
    if (!r) return;
    free(r->output);
    memset(r, 0, sizeof *r);
}

/* Head + tail capture: the first `head_cap` bytes, then a ring of the last `tail_cap`. */
typedef struct capture {
    char *head;
    size_t head_cap, head_len;
    char *ring;
    size_t tail_cap, ring_len, ring_pos;
    size_t total;
} capture;

static void capture_add(capture *c, const char *p, size_t n)
{
    c->total += n;
    size_t h = c->head_cap - c->head_len;
    if (h > n) h = n;
    memcpy(c->head + c->head_len, p, h);
    c->head_len += h;
    p += h;
    n -= h;
    if (c->tail_cap == 0) return;
    if (n >= c->tail_cap) { /* only the last tail_cap bytes matter */
        memcpy(c->ring, p + n - c->tail_cap, c->tail_cap);
        c->ring_pos = 0;
        c->ring_len = c->tail_cap;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        c->ring[c->ring_pos] = p[i];
        c->ring_pos = (c->ring_pos + 1) % c->tail_cap;
    }
    c->ring_len = c->ring_len + n > c->tail_cap ? c->tail_cap : c->ring_len + n;
}

static void capture_finish(capture *c, ct_sandbox_result *r)
{
    ct_buf b = CT_BUF_INIT;
    ct_buf_append(&b, c->head, c->head_len);
    size_t elided = c->total - c->head_len - c->ring_len;
    if (elided > 0) ct_buf_printf(&b, "\n[... %zu bytes elided ...]\n", elided);
    size_t start = c->ring_len < c->tail_cap ? 0 : c->ring_pos;
    for (size_t i = 0; i < c->ring_len; i++)
        ct_buf_putc(&b, c->ring[(start + i) % c->tail_cap]);
    r->output_len = b.len;
    r->output = ct_buf_steal(&b);
    r->total_bytes = c->total;
    r->elided = elided;
}

static void warn_once(const ct_sandbox_opts *o, const char *msg)
{
    if (warned_unisolated) return;
    warned_unisolated = 1;
    if (o->warn)
        o->warn(o->warn_ud, msg);
    else
        fprintf(stderr, "codetracer: warning: %s\n", msg);
}

typedef struct argv_list {
    char **v;
    size_t n, cap;
} argv_list;

/* Append NULL-terminated arguments (borrowed strings). */
static void add_args(argv_list *a, ...)
{
    va_list ap;
    va_start(ap, a);
    const char *s;
    while ((s = va_arg(ap, const char *)) != NULL) {
        if (a->n + 2 >= a->cap) {
            a->cap = a->cap ? a->cap * 2 : 64;
            a->v = ct_xrealloc(a->v, a->cap * sizeof *a->v);
        }
        a->v[a->n++] = (char *)s;
        a->v[a->n] = NULL;
    }
    va_end(ap);
}

/* argv for the child; the strings are borrowed from the caller, opts and static storage. */
static char **build_argv(const char *command, const char *shell, const char *scratch,
                         const char *cwd, int isolated, const ct_sandbox_opts *o)
{
    argv_list a = {0};
    if (isolated) {
        add_args(&a, bwrap_path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                 "--tmpfs", "/tmp", (char *)NULL);
        for (const char *const *rb = o->ro_binds; rb && *rb; rb++)
            add_args(&a, "--ro-bind", *rb, *rb, (char *)NULL);
        add_args(&a, "--bind", scratch, scratch, "--unshare-net", "--unshare-pid", "--unshare-ipc",
                 "--unshare-uts", "--die-with-parent", "--new-session", "--chdir", cwd, "--",
                 (char *)NULL);
    }
    add_args(&a, shell, "-c", command, (char *)NULL);
    return a.v;
}

int ct_sandbox_run(const char *command, const ct_sandbox_opts *o, ct_sandbox_result *out,
                   ct_error *err)
{
    memset(out, 0, sizeof *out);
    out->exit_code = -1;
    if (!command || !o || !o->scratch_dir)
        return ct_error_set(err, CT_EINVAL,
                            "sandbox: a command and a scratch directory are needed");
    char scratch[PATH_MAX], cwd[PATH_MAX];
    struct stat sb;
    if (!realpath(o->scratch_dir, scratch) || stat(scratch, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ct_error_setf(err, CT_ENOTFOUND, o->scratch_dir, -1, 0,
                             "sandbox: the scratch directory does not exist");
    if (o->cwd) {
        if (!realpath(o->cwd, cwd))
            return ct_error_setf(err, CT_ENOTFOUND, o->cwd, -1, 0,
                                 "sandbox: the working directory does not exist");
    } else {
        strcpy(cwd, scratch);
    }
    int isolated = 0;
    if (o->mode == CT_SANDBOX_BWRAP || o->mode == CT_SANDBOX_AUTO) {
        isolated = ct_sandbox_have_bwrap();
        if (!isolated && o->mode == CT_SANDBOX_BWRAP)
            return ct_error_set(err, CT_ENOTFOUND,
                                "sandbox: bubblewrap (bwrap) is required (trace.sandbox: bwrap) "
                                "but is not installed or cannot create namespaces here");
        if (!isolated)
            warn_once(o, "bubblewrap (bwrap) is not available: commands run WITHOUT isolation "
                         "(no read-only host, network allowed); the time limit, output cap and "
                         "scrubbed environment still apply. Install bubblewrap to isolate them.");
    }
    const char *shell = o->shell;
    if (!shell) shell = access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
    double timeout = o->timeout_s > 0 ? o->timeout_s : 60;
    size_t cap = o->output_cap > 0 ? o->output_cap : 65536;

    /* scrubbed environment: PATH, HOME, LANG — nothing else (no API keys) */
    const char *pp = getenv("PATH");
    const char *lang = getenv("LANG");
    char *envp[4];
    envp[0] = ct_xasprintf("PATH=%s", pp && *pp ? pp : DEFAULT_PATH);
    envp[1] = ct_xasprintf("HOME=%s", scratch);
    envp[2] = ct_xasprintf("LANG=%s", lang && *lang ? lang : "C.UTF-8");
    envp[3] = NULL;
    char **argv = build_argv(command, shell, scratch, cwd, isolated, o);

    int pfd[2];
    int rc = CT_OK;
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        rc = ct_error_set(err, CT_EIO, "sandbox: pipe failed: %s", strerror(errno));
        goto done;
    }
    /* posix_spawn (vfork-style in glibc), not fork: the daemon calls this from a process with
     * many threads and a large heap, where fork's page-table copy and copy-on-write faults cost
     * more than the command itself. The child: own process group (killed as a whole), SIGPIPE
     * default, no blocked signals, stdin /dev/null, stdout+stderr the pipe, cwd (unsandboxed). */
    capture c = {0};
    c.head_cap = cap / 2;
    c.tail_cap = cap - c.head_cap;
    c.head = ct_xmalloc(c.head_cap + 1);
    c.ring = ct_xmalloc(c.tail_cap + 1);
    double t0 = now_s();
    int status = 0;
    pid_t pid = -1;
    const char *spawn_fail = NULL;
    if (!isolated && access(cwd, X_OK) != 0) {
        spawn_fail = "sandbox: cannot enter the working directory\n";
        status = 126 << 8;
    } else {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t at;
        sigset_t none, dfl;
        sigemptyset(&none);
        sigemptyset(&dfl);
        sigaddset(&dfl, SIGPIPE);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
        posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
        if (!isolated) posix_spawn_file_actions_addchdir_np(&fa, cwd);
        posix_spawnattr_init(&at);
        posix_spawnattr_setpgroup(&at, 0);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setsigdefault(&at, &dfl);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                          POSIX_SPAWN_SETSIGDEF);
        int se = posix_spawn(&pid, argv[0], &fa, &at, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        if (se != 0) {
            spawn_fail =
                isolated ? "sandbox: cannot run bwrap\n" : "sandbox: cannot run the shell\n";
            status = 127 << 8;
        }
    }
    close(pfd[1]);
    if (spawn_fail) { /* reported like a command that failed: exit status and message */
        close(pfd[0]);
        capture_add(&c, spawn_fail, strlen(spawn_fail));
        out->elapsed_s = now_s() - t0;
        out->isolated = isolated;
        out->exit_code = WEXITSTATUS(status);
        capture_finish(&c, out);
        free(c.head);
        free(c.ring);
        goto done;
    }
    fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);

    double deadline = t0 + timeout, drain_until = 0;
    int eof = 0, exited = 0;
    char chunk[65536];
    while (!eof || !exited) {
        double now = now_s();
        if (!out->timed_out && !out->cancelled && now >= deadline) {
            out->timed_out = 1;
            kill(-pid, SIGKILL);
            drain_until = now + DRAIN_AFTER_KILL_S;
        }
        if (!out->timed_out && !out->cancelled && o->cancel && atomic_load(o->cancel)) {
            out->cancelled = 1; /* killed now, not at the time limit */
            kill(-pid, SIGKILL);
            drain_until = now + DRAIN_AFTER_KILL_S;
        }
        if (!exited) {
            siginfo_t si;
            memset(&si, 0, sizeof si);
            /* WNOWAIT: the zombie keeps the group id reserved while we kill the rest */
            if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                si.si_pid == pid) {
                kill(-pid, SIGKILL); /* background children left behind */
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
                }
                exited = 1;
                if (!drain_until) drain_until = now_s() + DRAIN_AFTER_KILL_S;
            }
        }
        if (eof) {
            if (!exited) {
                struct timespec ts = {0, 1000000L}; /* 1 ms: the exit follows EOF closely */
                nanosleep(&ts, NULL);
            }
            continue;
        }
        if (drain_until && now_s() >= drain_until) break; /* something escaped and holds the pipe */
        double limit = drain_until ? drain_until : deadline;
        int wait_ms = (int)((limit - now_s()) * 1000) + 1;
        if (wait_ms > 50) wait_ms = 50; /* also polls for the exit above */
        if (wait_ms < 0) wait_ms = 0;
        struct pollfd p = {pfd[0], POLLIN, 0};
        int pr = poll(&p, 1, wait_ms);
        if (pr < 0 && errno != EINTR) break;
        if (pr > 0) {
            for (;;) {
                ssize_t r = read(pfd[0], chunk, sizeof chunk);
                if (r > 0) {
                    capture_add(&c, chunk, (size_t)r);
                    continue;
                }
                if (r == 0) eof = 1;
                break; /* EAGAIN or error */
            }
            if (!eof && (p.revents & (POLLHUP | POLLERR)) && !(p.revents & POLLIN)) eof = 1;
        }
    }
    close(pfd[0]);
    if (!exited) { /* only after a break: make sure nothing is left */
        kill(-pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    out->elapsed_s = now_s() - t0;
    out->isolated = isolated;
    if (WIFEXITED(status))
        out->exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        out->exit_code = 128 + WTERMSIG(status);
    capture_finish(&c, out);
    free(c.head);
    free(c.ring);
done:
    for (int i = 0; envp[i]; i++)
        free(envp[i]);
    free(argv);
    return rc;
}

/* Four writer processes hit one memory database at once (merging the same insight, bumping its
 * use count, writing feedback and cache rows); afterwards every single update must be there.
 * This is the lost-update bug of the reference tool's Markdown memory, tested for real: separate
 * processes, separate handles, started together behind a barrier. */
#include "check.h"
#include "ct/buf.h"
#include "ct/memory.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WRITERS 4
#define ROUNDS 60

static const char *const TEXT = "Agent reruns the same failing test command without changing code.";

static int writer(const char *path, int w, int barrier_fd)
{
    char c;
    if (read(barrier_fd, &c, 1) < 0) return 2; /* returns 0 (EOF) when the parent opens the gate */
    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    if (ct_memory_open(path, &m, &err) != CT_OK) {
        fprintf(stderr, "writer %d: open: %s\n", w, err.msg);
        return 1;
    }
    int bad = 0;
    char src[16];
    snprintf(src, sizeof src, "w%d", w);
    ct_trajectory *t = ct_traj_new("test", "conc");
    ct_traj_add_step(t);
    ct_analysis *a = ct_analysis_new(t, "heuristic");
    for (int i = 0; i < ROUNDS && !bad; i++) {
        int merged = 0;
        if (ct_memory_insight_add(m, CT_INSIGHT_FAILURE_PATTERN, "mini-SWE-agent", NULL, TEXT, src,
                                  NULL, &merged, &err) != CT_OK)
            bad = 1;
        if (!bad && ct_memory_feedback_set(m, "conc-hash", w * ROUNDS + i + 1,
                                           (ct_label_kind)(i % 3), "n", &err) != CT_OK)
            bad = 1;
        char cfg[32];
        snprintf(cfg, sizeof cfg, "w%d-%d", w, i);
        ct_memory_key key = {"conc-hash", "heuristic", NULL, NULL, cfg};
        if (!bad && ct_memory_cache_put(m, &key, NULL, a, &err) != CT_OK) bad = 1;
        ct_insight *v = NULL;
        size_t n = 0;
        if (!bad && ct_memory_insight_search(m, "failing test command", NULL, NULL, 1, 0, 0, &v, &n,
                                             &err) != CT_OK)
            bad = 1;
        if (!bad && n != 1) {
            snprintf(err.msg, sizeof err.msg, "search found %zu entries", n);
            bad = 1;
        }
        ct_memory_insights_free(v, n);
    }
    if (bad) fprintf(stderr, "writer %d: %s\n", w, err.msg);
    ct_analysis_free(a);
    ct_traj_free(t);
    ct_memory_close(m);
    return bad;
}

int main(void)
{
    char dir[] = "/tmp/ct-test-memconc-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char *path = ct_xasprintf("%s/codetracer.db", dir);
    int gate[2];
    if (pipe(gate) != 0) return 1;
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            close(gate[1]);
            _exit(writer(path, w, gate[0]));
        }
        CHECK(pids[w] > 0);
    }
    close(gate[0]);
    close(gate[1]); /* all writers start now, on a database none of them has created yet */
    for (int w = 0; w < WRITERS; w++) {
        int status = 0;
        if (pids[w] > 0) waitpid(pids[w], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }

    ct_memory *m = NULL;
    ct_error err;
    ct_error_clear(&err);
    CHECK_INT(ct_memory_open(path, &m, &err), CT_OK);
    ct_insight *v = NULL;
    size_t n = 0;
    CHECK_INT(ct_memory_insight_list(m, -1, NULL, NULL, 0, &v, &n, &err), CT_OK);
    CHECK_INT(n, 1); /* every add merged into one entry */
    if (n == 1) {
        CHECK_INT(v[0].hits, WRITERS * ROUNDS);
        CHECK_INT(v[0].use_count, WRITERS * ROUNDS);
        ct_insight *one = NULL;
        CHECK_INT(ct_memory_insight_get(m, v[0].id, &one, &err), CT_OK);
        if (one) CHECK_INT(one->n_sources, WRITERS);
        ct_memory_insights_free(one, 1);
    }
    ct_memory_insights_free(v, n);
    ct_memory_stats s;
    CHECK_INT(ct_memory_stats_get(m, &s, &err), CT_OK);
    CHECK_INT(s.feedback, WRITERS * ROUNDS);
    CHECK_INT(s.analyses, WRITERS * ROUNDS);
    CHECK_INT(s.schema_version, CT_MEMORY_SCHEMA_VERSION);
    ct_memory_close(m);
    char *cmd = ct_xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
    free(path);
    return check_report();
}

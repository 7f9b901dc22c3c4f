/* paths.c — from a path inside the agent's container (/testbed/x.py, /workspace/repo/x.py, ...)
 * to a file under the local workspace: explicit mappings, then the run's detected root, then the
 * longest suffix of the path that exists under the workspace. Paths with ".." are refused (a
 * trajectory must not make us read outside the workspace). */
#include "ct/spans.h"
#include "ct/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int has_dotdot(const char *p)
{
    for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2)
        if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == 0)) return 1;
    return 0;
}

static int join(char *out, size_t outsz, const char *ws, const char *rel)
{
    while (*rel == '/')
        rel++;
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    int n = snprintf(out, outsz, "%s%s%s", ws, *ws && ws[strlen(ws) - 1] != '/' ? "/" : "", rel);
    return n >= 0 && (size_t)n < outsz;
}

/* Length of the prefix to strip so that the rest exists under ws; -1 when none. */
static long longest_suffix(const char *ws, const char *path)
{
    char buf[4096];
    for (const char *s = path; s; s = strchr(s + 1, '/')) {
        const char *rest = s;
        while (*rest == '/')
            rest++;
        if (!*rest) break;
        if (join(buf, sizeof buf, ws, rest) && is_file(buf)) return (long)(s - path);
    }
    return -1;
}

int ct_spans_detect_root(const char *workspace, const char *const *paths, size_t n, char *root,
                         size_t rootsz)
{
    const char *ws = workspace ? workspace : ".";
    /* votes: distinct prefixes with counts (few in practice) */
    char *pref[16];
    size_t votes[16], np = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i];
        if (!p || !*p || has_dotdot(p) || strlen(p) >= 4000) continue;
        long k = longest_suffix(ws, p);
        if (k < 0) continue;
        size_t j = 0;
        for (; j < np; j++)
            if (strlen(pref[j]) == (size_t)k && strncmp(pref[j], p, (size_t)k) == 0) break;
        if (j == np) {
            if (np == 16) continue;
            pref[np] = ct_xstrndup(p, (size_t)k);
            votes[np++] = 0;
        }
        votes[j]++;
    }
    if (!np) return CT_ENOTFOUND;
    size_t best = 0;
    for (size_t j = 1; j < np; j++)
        if (votes[j] > votes[best] ||
            (votes[j] == votes[best] && strlen(pref[j]) < strlen(pref[best])))
            best = j;
    snprintf(root, rootsz, "%s", pref[best]);
    for (size_t j = 0; j < np; j++)
        free(pref[j]);
    return CT_OK;
}

int ct_spans_map_path(const char *workspace, const char *root, const ct_path_map *maps,
                      size_t n_maps, const char *agent_path, char *out, size_t outsz)
{
    const char *ws = workspace ? workspace : ".";
    if (!agent_path || !*agent_path || has_dotdot(agent_path) || outsz == 0) return CT_EINVAL;
    out[0] = 0;
    /* explicit mappings: the longest matching `from` */
    size_t best = (size_t)-1, bl = 0;
    for (size_t i = 0; i < n_maps; i++) {
        size_t fl = strlen(maps[i].from);
        while (fl > 1 && maps[i].from[fl - 1] == '/')
            fl--;
        if (strncmp(agent_path, maps[i].from, fl) == 0 &&
            (agent_path[fl] == '/' || agent_path[fl] == 0) && (best == (size_t)-1 || fl > bl))
            best = i, bl = fl;
    }
    if (best != (size_t)-1) {
        if (!join(out, outsz, maps[best].to, agent_path + bl)) return CT_EINVAL;
        return is_file(out) ? CT_OK : CT_ENOTFOUND;
    }
    char cand[4096] = "";
    if (root) {
        size_t rl = strlen(root);
        if (rl == 0 || (strncmp(agent_path, root, rl) == 0 && agent_path[rl] == '/')) {
            if (rl == 0 && agent_path[0] == '/') {
                /* root "" means "paths are relative": an absolute path does not fit it */
            } else if (join(cand, sizeof cand, ws, agent_path + rl) && is_file(cand)) {
                snprintf(out, outsz, "%s", cand);
                return strlen(cand) < outsz ? CT_OK : CT_EINVAL;
            }
        }
    } else if (agent_path[0] != '/') {
        if (join(cand, sizeof cand, ws, agent_path) && is_file(cand)) {
            snprintf(out, outsz, "%s", cand);
            return strlen(cand) < outsz ? CT_OK : CT_EINVAL;
        }
    }
    long k = longest_suffix(ws, agent_path);
    if (k >= 0) {
        if (!join(out, outsz, ws, agent_path + k)) return CT_EINVAL;
        return CT_OK;
    }
    /* not found: say where it would be (root-relative when the root applies) */
    if (cand[0]) {
        snprintf(out, outsz, "%s", cand);
        return CT_ENOTFOUND;
    }
    if (agent_path[0] != '/') {
        if (!join(out, outsz, ws, agent_path)) return CT_EINVAL;
        return CT_ENOTFOUND;
    }
    return CT_EINVAL;
}

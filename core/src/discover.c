/* Discovery: find trajectory roots below a path.
 *
 * Every directory and file is offered to every loader's detect(); the best score claims it.
 * A claimed directory is still searched unless the claim is definitive (CT_DETECT_SURE), and
 * its children replace it only when
 *   - a child claim scores strictly higher (a run dir that merely looks like a trial, holding
 *     real trials), or
 *   - claims were found below two or more different entries at a score no lower than the
 *     parent's (a job dir holding several trials yields each trial).
 * Otherwise the parent stands and the claims below it are dropped, so one trial is never split
 * into its sub-parts. Unlike the reference tool we never report a bare child of a claimed root
 * (its OpenHands `run/sessions` bug): the claim is always on the root a loader named.
 *
 * Work is bounded: max_depth levels, max_found roots, and max_entries directory entries
 * examined in total (a home directory given by mistake must not take minutes). Symlinked
 * directories are followed once: a directory identity (device, inode) seen before is skipped,
 * which breaks loops and avoids reporting the same run twice. */
#include "ct/load.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_DEPTH 10
#define DEFAULT_MAX_FOUND 100000
#define DEFAULT_MAX_ENTRIES 200000

static const char *const skip_dirs[] = {
    ".git",        ".hg",     ".svn",   "node_modules",      "__pycache__",
    ".venv",       "venv",    ".tox",   ".mypy_cache",       ".pytest_cache",
    ".ruff_cache", ".cache",  ".locks", "huggingface_cache", "site-packages",
    ".idea",       ".vscode",
};

static int skipped(const char *name)
{
    for (size_t i = 0; i < sizeof skip_dirs / sizeof skip_dirs[0]; i++)
        if (strcmp(name, skip_dirs[i]) == 0) return 1;
    return 0;
}

typedef struct {
    ct_fs *fs;
    int max_depth;
    size_t max_found;
    size_t max_entries;
    size_t entries; /* directory entries examined so far */
    ct_found *items;
    size_t n, cap;
    unsigned long long (*seen)[2];
    size_t n_seen, cap_seen;
    const char *limit; /* which limit stopped the walk, NULL when none */
} walk_state;

static void push(walk_state *w, const char *rel, int is_dir, const ct_loader *l, int score)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->items = ct_xrealloc(w->items, w->cap * sizeof *w->items);
    }
    w->items[w->n++] = (ct_found){ct_xstrdup(rel), is_dir, l, score};
}

static void best_loader(ct_fs *fs, const char *rel, int is_dir, const ct_loader **out, int *score)
{
    size_t nl;
    const ct_loader *const *ls = ct_loaders(&nl);
    *out = NULL;
    *score = 0;
    for (size_t i = 0; i < nl; i++) {
        int s = ls[i]->detect(fs, rel, is_dir);
        if (s > *score) {
            *score = s;
            *out = ls[i];
        }
    }
}

static void truncate_to(walk_state *w, size_t n)
{
    while (w->n > n)
        free(w->items[--w->n].rel);
}

/* 1 when the directory was seen before (loop or second route to it); records it otherwise. */
static int seen_before(walk_state *w, const char *rel)
{
    unsigned long long key[2];
    if (ct_fs_dir_key(w->fs, rel, &key[0], &key[1]) != 0) return 0;
    for (size_t i = 0; i < w->n_seen; i++)
        if (w->seen[i][0] == key[0] && w->seen[i][1] == key[1]) return 1;
    if (w->n_seen == w->cap_seen) {
        w->cap_seen = w->cap_seen ? w->cap_seen * 2 : 64;
        w->seen = ct_xrealloc(w->seen, w->cap_seen * sizeof *w->seen);
    }
    w->seen[w->n_seen][0] = key[0];
    w->seen[w->n_seen][1] = key[1];
    w->n_seen++;
    return 0;
}

/* The first path component of `rel` below `parent` (rel is at or below parent). */
static size_t first_component_len(const char *parent, const char *rel)
{
    size_t pl = strlen(parent);
    const char *p = rel + (pl ? pl + 1 : 0);
    const char *s = strchr(p, '/');
    return s ? (size_t)(s - p) : strlen(p);
}

static void walk(walk_state *w, const char *rel, int is_dir, int depth)
{
    if (w->n >= w->max_found) {
        w->limit = "max_found";
        return;
    }
    const ct_loader *l;
    int score;
    best_loader(w->fs, rel, is_dir, &l, &score);
    if (!is_dir) {
        if (l) push(w, rel, 0, l, score);
        return;
    }
    if (seen_before(w, rel)) return;
    if (score >= CT_DETECT_SURE || depth > w->max_depth) {
        if (l) push(w, rel, 1, l, score);
        return;
    }
    size_t mark = w->n;
    ct_dirent *ents;
    size_t ne;
    if (ct_fs_list(w->fs, rel, &ents, &ne, NULL) == CT_OK) {
        for (size_t i = 0; i < ne && !w->limit; i++) {
            if (++w->entries > w->max_entries) {
                w->limit = "max_entries";
                break;
            }
            if (ents[i].is_dir && skipped(ents[i].name)) continue;
            char *child = ct_path_join(rel, ents[i].name);
            walk(w, child, ents[i].is_dir, depth + 1);
            free(child);
        }
        ct_fs_list_free(ents, ne);
    }
    if (!l) return;
    int better = 0;
    size_t groups = 0;
    const char *last = NULL;
    size_t last_len = 0;
    for (size_t i = mark; i < w->n; i++) {
        if (w->items[i].score > score) better = 1;
        if (w->items[i].score < score) continue;
        /* count the distinct entries of `rel` under which claims at >= score were found */
        const char *c = w->items[i].rel + (strlen(rel) ? strlen(rel) + 1 : 0);
        size_t cl = first_component_len(rel, w->items[i].rel);
        if (!last || cl != last_len || strncmp(c, last, cl) != 0) groups++;
        last = c;
        last_len = cl;
    }
    if (!better && groups < 2) {
        truncate_to(w, mark);
        push(w, rel, 1, l, score);
    }
}

int ct_discover(ct_fs *fs, const char *rel, const ct_discover_opts *opts, ct_found **out, size_t *n,
                ct_error *err)
{
    walk_state w = {0};
    w.fs = fs;
    w.max_depth = opts && opts->max_depth > 0 ? opts->max_depth : DEFAULT_DEPTH;
    w.max_found = opts && opts->max_found > 0 ? opts->max_found : DEFAULT_MAX_FOUND;
    w.max_entries = opts && opts->max_entries > 0 ? opts->max_entries : DEFAULT_MAX_ENTRIES;
    *out = NULL;
    *n = 0;
    if (!rel) rel = "";
    int st = ct_fs_stat(fs, rel, NULL);
    if (st < 0)
        return ct_error_setf(err, CT_ENOTFOUND, ct_fs_display(fs, rel), -1, 0,
                             "no such file or directory");
    walk(&w, rel, st == 1, 0);
    free(w.seen);
    *out = w.items;
    *n = w.n;
    if (w.limit) {
        /* A warning, not a failure: the roots found so far are returned. */
        if (strcmp(w.limit, "max_found") == 0)
            ct_error_setf(err, CT_ELIMIT, ct_fs_display(fs, rel), -1, 0,
                          "stopped after %zu trajectories (limit); narrow the path", w.max_found);
        else
            ct_error_setf(err, CT_ELIMIT, ct_fs_display(fs, rel), -1, 0,
                          "stopped after examining %zu entries (limit); narrow the path",
                          w.max_entries);
    }
    return CT_OK;
}

void ct_found_free(ct_found *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].rel);
    free(f);
}

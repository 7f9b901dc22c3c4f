/* ct/load.h — format loaders, discovery, and "load whatever is at this path".
 *
 * A loader turns raw files into ct_trajectory values. Each loader is a const ct_loader
 * registered in core/src/formats/registry.c. Discovery asks every loader's `detect` about every
 * directory and file below a path and keeps the best claims; `ct_load_path` strings it together.
 *
 * Ownership: ct_loader values are static. Discovery results (ct_found arrays) are owned by the
 * caller and freed with ct_found_free. Loaders append new trajectories to a ct_traj_list the
 * caller owns. */
#ifndef CT_LOAD_H
#define CT_LOAD_H

#include "ct/error.h"
#include "ct/fs.h"
#include "ct/trajectory.h"

#include <stdatomic.h>

typedef struct ct_loader {
    const char *name;      /* stable id, e.g. "mini-swe-agent", "openhands", "claude-code" */
    const char *agent;     /* agent name it usually yields, for `codetracer formats` */
    const char *summary;   /* one line: what it reads */
    const char *detection; /* one line: how it is recognised */
    /* Confidence 0..100 that `rel` (a directory when is_dir, else a file) is the root of a
     * trajectory of this format. 0 = not mine. Must be cheap: list dirs, sniff file heads. */
    int (*detect)(ct_fs *fs, const char *rel, int is_dir);
    /* Load every trajectory at rel and append them to out (each with its id set to the
     * display path, or PATH#K when one source holds several). Damaged input loads as far as
     * the data goes, with ct_traj_warn. Returns CT_OK, or a negative code with err filled
     * when nothing usable could be read (CT_EEMPTY for runs with no steps is still CT_OK with
     * a zero-step trajectory and a warning, unless the format has nothing at all). */
    int (*load)(ct_fs *fs, const char *rel, int is_dir, ct_traj_list *out, ct_error *err);
} ct_loader;

/* All loaders, in detection order. */
const ct_loader *const *ct_loaders(size_t *n);
const ct_loader *ct_loader_by_name(const char *name);

/* Scores loaders use; discovery prefers the higher. */
enum {
    CT_DETECT_NO = 0,
    CT_DETECT_WEAK = 20,   /* file name or layout hint only */
    CT_DETECT_LIKELY = 60, /* content sniffed and matches */
    CT_DETECT_SURE = 90,   /* a definitive marker (schema_version, trajectory_format, ...) */
};

typedef struct ct_found {
    char *rel; /* trajectory root inside the fs */
    int is_dir;
    const ct_loader *loader;
    int score;
} ct_found;

typedef struct ct_discover_opts {
    int max_depth;      /* directory levels below the start to search; 0 → default 10 */
    size_t max_found;   /* stop after this many roots; 0 → default 100000 */
    size_t max_entries; /* directory entries examined in total; 0 → default 200000 */
} ct_discover_opts;

/* Find trajectory roots at or below `rel`. A directory a loader claims (below CT_DETECT_SURE) is
 * still searched, and is replaced by the claims below it only when one scores strictly better or
 * claims are found below two or more of its entries (child preference). Skips VCS dirs,
 * node_modules, caches; guards against symlink loops; never follows more than max_depth. When a
 * limit (max_found, max_entries) stopped the walk early, returns CT_OK with the roots found so far
 * and fills err with a CT_ELIMIT warning (callers that care check err->code after success). *out is
 * NULL when nothing was found. */
int ct_discover(ct_fs *fs, const char *rel, const ct_discover_opts *opts, ct_found **out, size_t *n,
                ct_error *err);
void ct_found_free(ct_found *f, size_t n);

/* Run loader l on one root (as ct_discover found it) and append what it yields to out. When the
 * loader rejects a file as invalid JSON and the file holds bytes that are not UTF-8 (and no raw
 * NUL byte, which stays an error), it is loaded again with each such byte replaced by '?' (byte
 * offsets unchanged), and every trajectory it yields carries a warning saying so. Returns what
 * l->load returns. */
int ct_load_root(ct_fs *fs, const ct_loader *l, const char *rel, int is_dir, ct_traj_list *out,
                 ct_error *err);

typedef struct ct_load_opts {
    const char *format; /* force a loader by name (NULL = detect) */
    ct_discover_opts discover;
    /* Optional (NULL = none): another thread sets it non-zero to stop the load. Checked before
     * each trajectory root, before each JSON value a loader parses through the shared helper,
     * and every 256 KiB inside a large one. A load stopped that way appends nothing and returns
     * CT_ECANCELED. */
    const atomic_int *cancel;
} ct_load_opts;

/* Load everything at `path` (file, dir, archive; "PATH#K" selects the K-th trajectory, 1-based;
 * "ARCHIVE!/MEMBER" starts at a file or folder inside an archive, as ct_fs_display prints it).
 * Appends to out. Returns CT_OK when at least one trajectory loaded; otherwise the first error,
 * with a "not a trajectory I recognise" CT_EFORMAT message listing what was tried when nothing
 * matched. Per-root failures when others succeeded are reported through `warn` (may be NULL). */
typedef void (*ct_warn_fn)(void *ud, const ct_error *err);
int ct_load_path(const char *path, const ct_load_opts *opts, ct_traj_list *out, ct_warn_fn warn,
                 void *ud, ct_error *err);

/* Same as ct_load_path for one file whose contents are given (an editor buffer); `path` names it
 * (its siblings on disk may be read for context, e.g. a trial's results.json). */
int ct_load_buffer(const char *path, const char *data, size_t len, const ct_load_opts *opts,
                   ct_traj_list *out, ct_error *err);

/* 1 when the bytes are a Git LFS pointer file. */
int ct_is_lfs_pointer(const char *data, size_t n);
/* Fill err with the one message for an LFS pointer found at `display`; returns CT_ELFS. */
int ct_error_lfs(ct_error *err, const char *display);

#endif

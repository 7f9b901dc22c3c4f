#include "ct/load.h"

#include "formats/common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The cancel flag of the load running on this thread (ct_load_opts.cancel), for the loaders'
 * shared JSON helper (formats/common.c) and the loop over roots below. */
static _Thread_local const atomic_int *load_cancel;

int ct__load_cancelled(void)
{
    return load_cancel && atomic_load(load_cancel) != 0;
}

int ct__load_cancel_set(void)
{
    return load_cancel != NULL;
}

/* "PATH#K" → path and K (1-based) when PATH#K itself does not exist. */
static char *split_selector(const char *path, long *k)
{
    *k = 0;
    const char *h = strrchr(path, '#');
    struct stat st;
    if (!h || !h[1] || stat(path, &st) == 0) return ct_xstrdup(path);
    for (const char *p = h + 1; *p; p++)
        if (!isdigit((unsigned char)*p)) return ct_xstrdup(path);
    if (strlen(h + 1) > 9)
        *k = 1000000000L; /* selects nothing, reported as such */
    else
        *k = strtol(h + 1, NULL, 10);
    if (*k == 0) *k = -1; /* "#0": numbering is 1-based */
    return ct_xstrndup(path, (size_t)(h - path));
}

/* Replace every byte that is not part of valid UTF-8 by '?', in place, so byte offsets stay
 * those of the file (the caller has ruled out raw NUL bytes). Returns how many were replaced;
 * *first = the first. */
static size_t repair_utf8(char *s, size_t n, size_t *first)
{
    size_t i = 0, bad = 0;
    while (i < n) {
        size_t k = ct_utf8_seq(s + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        if (!bad) *first = i;
        s[i++] = '?';
        bad++;
    }
    return bad;
}

int ct_load_root(ct_fs *fs, const ct_loader *l, const char *rel, int is_dir, ct_traj_list *out,
                 ct_error *err)
{
    size_t before = out->n;
    int r = l->load(fs, rel, is_dir, out, err);
    /* jansson refuses a whole file for one byte that is not UTF-8 (a truncated multi-byte
     * character in a captured terminal output is enough). Load it again with those bytes
     * replaced, and say so, instead of losing every step. */
    if (r != CT_EPARSE || is_dir || out->n != before) return r;
    ct_buf raw = CT_BUF_INIT;
    size_t first = 0, bad = 0;
    /* a raw NUL byte is not JSON whatever else the file holds: that error stands */
    if (ct_fs_read(fs, rel, &raw, 0, NULL) == CT_OK && !memchr(raw.data, '\0', raw.len))
        bad = repair_utf8(raw.data, raw.len, &first);
    if (!bad) {
        ct_buf_free(&raw);
        return r;
    }
    char *disp = ct_xstrdup(ct_fs_display(fs, rel));
    ct_fs *mfs = ct_fs_open_memory(disp, raw.data, raw.len, NULL);
    ct_buf_free(&raw);
    ct_error e2;
    ct_error_clear(&e2);
    int r2 = mfs ? l->load(mfs, ct_fs_start(mfs), 0, out, &e2) : CT_EIO;
    ct_fs_close(mfs);
    if (r2 == CT_OK) {
        for (size_t i = before; i < out->n; i++)
            ct_traj_warn(out->items[i],
                         "%s: %zu byte%s that %s not valid UTF-8 (the first at byte %zu) replaced "
                         "by '?'",
                         disp, bad, bad == 1 ? "" : "s", bad == 1 ? "is" : "are", first);
        if (err) ct_error_clear(err);
        r = CT_OK;
    }
    free(disp);
    return r;
}

static void tried_list(ct_buf *b)
{
    size_t nl;
    const ct_loader *const *ls = ct_loaders(&nl);
    for (size_t i = 0; i < nl; i++) {
        if (i) ct_buf_puts(b, ", ");
        ct_buf_puts(b, ls[i]->name);
    }
}

static int load_fs(ct_fs *fs, const char *inner, const char *real, long k, const ct_load_opts *opts,
                   ct_traj_list *out, ct_warn_fn warn, void *ud, ct_error *err)
{
    const char *start = inner ? inner : ct_fs_start(fs);
    if (inner && ct_fs_stat(fs, inner, NULL) < 0)
        return ct_error_setf(err, CT_ENOTFOUND, ct_fs_display(fs, inner), -1, 0,
                             "no such file or directory in the archive");
    ct_traj_list got = {0};
    int rc = CT_OK;
    ct_error first;
    ct_error_clear(&first);

    if (opts && opts->format && *opts->format) {
        const ct_loader *l = ct_loader_by_name(opts->format);
        if (!l) {
            ct_buf b = CT_BUF_INIT;
            tried_list(&b);
            rc = ct_error_set(err, CT_EINVAL, "unknown format '%s' (known: %s)", opts->format,
                              b.data);
            ct_buf_free(&b);
            goto done;
        }
        rc = ct_load_root(fs, l, start, ct_fs_is_dir(fs, start), &got, err);
        if (rc != CT_OK) goto done;
    } else {
        /* A lone LFS pointer is reported as such, not as an unknown format. */
        if (ct_fs_is_file(fs, start)) {
            ct_buf head = CT_BUF_INIT;
            ct_fs_read_head(fs, start, &head, 1024, NULL);
            int lfs = ct_is_lfs_pointer(head.data ? head.data : "", head.len);
            ct_buf_free(&head);
            if (lfs) {
                rc = ct_error_lfs(err, ct_fs_display(fs, start));
                goto done;
            }
        }
        ct_found *found;
        size_t nf;
        ct_error derr;
        ct_error_clear(&derr);
        rc = ct_discover(fs, start, opts ? &opts->discover : NULL, &found, &nf, &derr);
        if (rc != CT_OK) {
            if (err) *err = derr;
            goto done;
        }
        if (derr.code != CT_OK && warn) warn(ud, &derr); /* a limit stopped the walk early */
        if (nf == 0) {
            ct_dirent *ents = NULL;
            size_t ne = 0;
            if (ct_fs_is_dir(fs, start) && ct_fs_list(fs, start, &ents, &ne, NULL) == CT_OK &&
                ne == 0) {
                rc = ct_error_setf(err, CT_EFORMAT, ct_fs_display(fs, start), -1, 0,
                                   "the directory is empty: no trajectory here");
            } else {
                ct_buf b = CT_BUF_INIT;
                tried_list(&b);
                rc = ct_error_setf(err, CT_EFORMAT, ct_fs_display(fs, start), -1, 0,
                                   "not a trajectory I recognise (tried: %s)", b.data);
                ct_buf_free(&b);
            }
            ct_fs_list_free(ents, ne);
            goto done;
        }
        /* Per-root failures are warnings when something else loaded; when nothing did, the
         * first is the error and the others are warnings. Said once each, never twice. */
        ct_error *fails = NULL;
        size_t n_fails = 0;
        for (size_t i = 0; i < nf && !ct__load_cancelled(); i++) {
            ct_error e;
            ct_error_clear(&e);
            int r = ct_load_root(fs, found[i].loader, found[i].rel, found[i].is_dir, &got, &e);
            if (r != CT_OK) {
                if (e.code == CT_OK) ct_error_set(&e, r, "%s", ct_strerror(r));
                if (first.code == CT_OK) first = e;
                fails = ct_xrealloc(fails, (n_fails + 1) * sizeof *fails);
                fails[n_fails++] = e;
            }
        }
        ct_found_free(found, nf);
        for (size_t i = got.n == 0 ? 1 : 0; warn && i < n_fails; i++)
            warn(ud, &fails[i]);
        free(fails);
        if (got.n == 0) {
            if (err) *err = first;
            rc = first.code != CT_OK ? first.code : CT_EFORMAT;
            goto done;
        }
    }
    if (k != 0) {
        if (k < 0 || (size_t)k > got.n) {
            rc = ct_error_setf(err, CT_ENOTFOUND, real, -1, 0,
                               "#%ld selects nothing: %zu trajector%s here, numbered from #1",
                               k < 0 ? 0 : k, got.n, got.n == 1 ? "y" : "ies");
            goto done;
        }
        ct_traj_list_push(out, got.items[k - 1]);
        got.items[k - 1] = NULL;
        for (size_t i = 0; i < got.n; i++)
            ct_traj_free(got.items[i]);
        free(got.items);
        got = (ct_traj_list){0};
    } else {
        for (size_t i = 0; i < got.n; i++)
            ct_traj_list_push(out, got.items[i]);
        free(got.items);
        got = (ct_traj_list){0};
    }
    rc = CT_OK;
done:
    ct_traj_list_free(&got);
    return rc;
}

/* load_fs with the caller's cancel flag installed for this thread; a cancelled load appends
 * nothing and returns CT_ECANCELED. */
static int load_fs_cancellable(ct_fs *fs, const char *inner, const char *real, long k,
                               const ct_load_opts *opts, ct_traj_list *out, ct_warn_fn warn,
                               void *ud, ct_error *err)
{
    if (!opts || !opts->cancel) return load_fs(fs, inner, real, k, opts, out, warn, ud, err);
    const atomic_int *saved = load_cancel;
    load_cancel = opts->cancel;
    size_t before = out->n;
    int rc =
        ct__load_cancelled() ? CT_ECANCELED : load_fs(fs, inner, real, k, opts, out, warn, ud, err);
    if (ct__load_cancelled()) {
        while (out->n > before)
            ct_traj_free(out->items[--out->n]);
        rc = ct_error_set(err, CT_ECANCELED, "loading cancelled");
    }
    load_cancel = saved;
    return rc;
}

int ct_load_path(const char *path, const ct_load_opts *opts, ct_traj_list *out, ct_warn_fn warn,
                 void *ud, ct_error *err)
{
    long k;
    char *real = split_selector(path, &k);
    /* "ARCHIVE!/inner/path" (the display form of a path inside an archive) */
    char *inner = NULL;
    struct stat st;
    char *bang = strstr(real, "!/");
    if (bang && stat(real, &st) != 0) {
        *bang = '\0';
        if (stat(real, &st) == 0 && S_ISREG(st.st_mode)) {
            inner = ct_xstrdup(bang + 2);
            size_t il = strlen(inner);
            while (il && inner[il - 1] == '/')
                inner[--il] = '\0';
        } else {
            *bang = '!';
        }
    }
    ct_fs *fs = ct_fs_open(real, err);
    int rc;
    if (fs && inner && !ct_fs_is_archive(fs))
        rc = ct_error_setf(err, CT_ENOTFOUND, real, -1, 0,
                           "'!/%s' addresses a member of an archive, but this is not an archive",
                           inner);
    else
        rc = fs ? load_fs_cancellable(fs, inner, real, k, opts, out, warn, ud, err)
                : (err ? err->code : CT_EIO);
    ct_fs_close(fs);
    free(inner);
    free(real);
    return rc;
}

int ct_load_buffer(const char *path, const char *data, size_t len, const ct_load_opts *opts,
                   ct_traj_list *out, ct_error *err)
{
    ct_fs *fs = ct_fs_open_memory(path, data, len, err);
    int rc = fs ? load_fs_cancellable(fs, NULL, path, 0, opts, out, NULL, NULL, err)
                : (err ? err->code : CT_EINVAL);
    ct_fs_close(fs);
    return rc;
}

#include "ct/fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An archive is held as a sorted array of entries with full relative paths. Directories that
 * only exist implicitly (a/b/c.json without an entry for a/ or a/b/) are added at load time. */
typedef struct aentry {
    char *path;
    int is_dir;
    char *data;
    size_t len;
} aentry;

/* Discovery offers every file to every loader, and each sniffs its head: without a cache one
 * file is read a dozen times. The last few heads read from disk are kept (files do not change
 * under one short-lived ct_fs; an editor buffer is served from memory anyway). */
#define HEAD_CACHE 8
#define HEAD_MAX 65536
typedef struct head_entry {
    char *rel;
    char *data;
    size_t len;   /* bytes held */
    int complete; /* 1 when len is the whole file */
} head_entry;

struct ct_fs {
    char *origin; /* what the user gave */
    char *base;   /* disk: directory all rel paths are relative to */
    char *start;  /* "" or the single file's base name */
    int archive;
    aentry *ents;
    size_t n_ents;
    char *display; /* scratch for ct_fs_display */
    char *mem;     /* ct_fs_open_memory: contents of `start` */
    size_t mem_len;
    int has_mem;
    head_entry heads[HEAD_CACHE];
    size_t next_head; /* round-robin slot to replace */
};

int ct_natcmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la]))
                la++;
            while (isdigit((unsigned char)b[lb]))
                lb++;
            if (la != lb) return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c) return c;
            a += la;
            b += lb;
            continue;
        }
        if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

char *ct_path_join(const char *a, const char *b)
{
    if (!a || !*a) return ct_xstrdup(b ? b : "");
    if (!b || !*b) return ct_xstrdup(a);
    return ct_xasprintf("%s/%s", a, b);
}

char *ct_path_base(const char *rel)
{
    const char *s = strrchr(rel, '/');
    return ct_xstrdup(s ? s + 1 : rel);
}

char *ct_path_parent(const char *rel)
{
    const char *s = strrchr(rel, '/');
    return s ? ct_xstrndup(rel, (size_t)(s - rel)) : ct_xstrdup("");
}

static int is_archive_magic(const unsigned char *h, size_t n)
{
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b) return 1;                                 /* gzip */
    if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) return 1; /* zstd */
    if (n >= 6 && memcmp(h,
                         "\xfd"
                         "7zXZ\0",
                         6) == 0)
        return 1;                                               /* xz */
    if (n >= 3 && memcmp(h, "BZh", 3) == 0) return 1;           /* bzip2 */
    if (n >= 4 && memcmp(h, "PK\x03\x04", 4) == 0) return 1;    /* zip */
    if (n >= 262 && memcmp(h + 257, "ustar", 5) == 0) return 1; /* tar */
    return 0;
}

static int aentry_cmp(const void *x, const void *y)
{
    return strcmp(((const aentry *)x)->path, ((const aentry *)y)->path);
}

/* Normalise an archive member name: strip "./" and leading/trailing '/', reject "..". */
static char *clean_member(const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    while (*name == '/')
        name++;
    char *p = ct_xstrdup(name);
    size_t l = strlen(p);
    while (l && p[l - 1] == '/')
        p[--l] = '\0';
    if (!*p || strcmp(p, ".") == 0 || strstr(p, "../") || strcmp(p, "..") == 0) {
        free(p);
        return NULL;
    }
    return p;
}

static void add_entry(ct_fs *fs, size_t *cap, char *path, int is_dir, char *data, size_t len)
{
    if (fs->n_ents == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        fs->ents = ct_xrealloc(fs->ents, *cap * sizeof *fs->ents);
    }
    fs->ents[fs->n_ents++] = (aentry){path, is_dir, data, len};
}

static int load_archive(ct_fs *fs, const char *path, ct_error *err)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_format_zip(a);
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        int rc = ct_error_setf(err, CT_EIO, path, -1, 0, "cannot open archive: %s",
                               archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    size_t cap = 0;
    long long total = 0;
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        char *name = clean_member(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
        mode_t type = archive_entry_filetype(e);
        if (!name || (type != AE_IFREG && type != AE_IFDIR)) {
            free(name);
            archive_read_data_skip(a);
            continue;
        }
        if (type == AE_IFDIR) {
            add_entry(fs, &cap, name, 1, NULL, 0);
            continue;
        }
        ct_buf b = CT_BUF_INIT;
        char chunk[65536];
        la_ssize_t got;
        while ((got = archive_read_data(a, chunk, sizeof chunk)) > 0) {
            total += got;
            if (total > CT_FS_MAX_ARCHIVE) {
                ct_buf_free(&b);
                free(name);
                archive_read_free(a);
                return ct_error_setf(
                    err, CT_ELIMIT, path, -1, 0,
                    "archive holds more than %lld bytes; extract it or raise the limit",
                    (long long)CT_FS_MAX_ARCHIVE);
            }
            ct_buf_append(&b, chunk, (size_t)got);
        }
        if (got < 0) {
            ct_buf_free(&b);
            int rc = ct_error_setf(err, CT_EIO, path, -1, 0, "archive member %s is damaged: %s",
                                   name, archive_error_string(a));
            free(name);
            archive_read_free(a);
            return rc;
        }
        size_t len = b.len;
        add_entry(fs, &cap, name, 0, ct_buf_steal(&b), len);
    }
    if (r != ARCHIVE_EOF) {
        int rc = ct_error_setf(err, CT_EIO, path, -1, 0, "archive is damaged or truncated: %s",
                               archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    archive_read_free(a);
    /* implicit parent directories */
    size_t n0 = fs->n_ents;
    for (size_t i = 0; i < n0; i++) {
        char *p = ct_xstrdup(fs->ents[i].path);
        char *slash;
        while ((slash = strrchr(p, '/'))) {
            *slash = '\0';
            add_entry(fs, &cap, ct_xstrdup(p), 1, NULL, 0);
        }
        free(p);
    }
    qsort(fs->ents, fs->n_ents, sizeof *fs->ents, aentry_cmp);
    /* drop duplicates (keep the first; a file beats a dir of the same name only if first) */
    size_t w = 0;
    for (size_t i = 0; i < fs->n_ents; i++) {
        if (w && strcmp(fs->ents[w - 1].path, fs->ents[i].path) == 0) {
            free(fs->ents[i].path);
            free(fs->ents[i].data);
            continue;
        }
        fs->ents[w++] = fs->ents[i];
    }
    fs->n_ents = w;
    return CT_OK;
}

ct_fs *ct_fs_open(const char *path, ct_error *err)
{
    struct stat st;
    if (!path || !*path) {
        ct_error_set(err, CT_EINVAL, "no path given");
        return NULL;
    }
    if (stat(path, &st) != 0) {
        ct_error_setf(err, errno == ENOENT ? CT_ENOTFOUND : CT_EIO, path, -1, 0, "%s",
                      errno == ENOENT ? "no such file or directory" : strerror(errno));
        return NULL;
    }
    ct_fs *fs = ct_xcalloc(1, sizeof *fs);
    fs->origin = ct_xstrdup(path);
    size_t ol = strlen(fs->origin);
    while (ol > 1 && fs->origin[ol - 1] == '/')
        fs->origin[--ol] = '\0';
    if (S_ISDIR(st.st_mode)) {
        fs->base = ct_xstrdup(fs->origin);
        fs->start = ct_xstrdup("");
        return fs;
    }
    if (!S_ISREG(st.st_mode)) {
        ct_error_setf(err, CT_EINVAL, path, -1, 0, "not a regular file or directory");
        ct_fs_close(fs);
        return NULL;
    }
    unsigned char head[512];
    size_t hn = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        hn = fread(head, 1, sizeof head, f);
        fclose(f);
    } else {
        ct_error_setf(err, CT_EIO, path, -1, 0, "cannot read: %s", strerror(errno));
        ct_fs_close(fs);
        return NULL;
    }
    if (is_archive_magic(head, hn)) {
        fs->archive = 1;
        fs->start = ct_xstrdup("");
        if (load_archive(fs, path, err) != CT_OK) {
            ct_fs_close(fs);
            return NULL;
        }
        return fs;
    }
    fs->base = ct_path_parent(fs->origin);
    if (!*fs->base && fs->origin[0] != '/') {
        free(fs->base);
        fs->base = ct_xstrdup(".");
    } else if (!*fs->base) {
        free(fs->base);
        fs->base = ct_xstrdup("/");
    }
    fs->start = ct_path_base(fs->origin);
    return fs;
}

ct_fs *ct_fs_open_memory(const char *path, const char *data, size_t len, ct_error *err)
{
    if (!path || !*path) {
        ct_error_set(err, CT_EINVAL, "no path given");
        return NULL;
    }
    ct_fs *fs = ct_xcalloc(1, sizeof *fs);
    fs->origin = ct_xstrdup(path);
    fs->base = ct_path_parent(fs->origin);
    if (!*fs->base) {
        free(fs->base);
        fs->base = ct_xstrdup(fs->origin[0] == '/' ? "/" : ".");
    }
    fs->start = ct_path_base(fs->origin);
    fs->mem = ct_xstrndup(data ? data : "", data ? len : 0);
    fs->mem_len = data ? len : 0;
    fs->has_mem = 1;
    return fs;
}

static int is_mem(const ct_fs *fs, const char *rel)
{
    return fs->has_mem && rel && strcmp(rel, fs->start) == 0;
}

void ct_fs_close(ct_fs *fs)
{
    if (!fs) return;
    free(fs->mem);
    for (size_t i = 0; i < fs->n_ents; i++) {
        free(fs->ents[i].path);
        free(fs->ents[i].data);
    }
    free(fs->ents);
    free(fs->origin);
    free(fs->base);
    free(fs->start);
    free(fs->display);
    for (size_t i = 0; i < HEAD_CACHE; i++) {
        free(fs->heads[i].rel);
        free(fs->heads[i].data);
    }
    free(fs);
}

int ct_fs_is_archive(const ct_fs *fs)
{
    return fs->archive;
}

const char *ct_fs_origin(const ct_fs *fs)
{
    return fs->origin;
}

const char *ct_fs_start(const ct_fs *fs)
{
    return fs->start;
}

static char *disk_path(ct_fs *fs, const char *rel)
{
    if (!rel || !*rel) return ct_xstrdup(fs->base);
    if (strcmp(fs->base, "/") == 0) return ct_xasprintf("/%s", rel);
    return ct_xasprintf("%s/%s", fs->base, rel);
}

static aentry *afind(ct_fs *fs, const char *rel)
{
    size_t lo = 0, hi = fs->n_ents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(fs->ents[mid].path, rel);
        if (c == 0) return &fs->ents[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int ct_fs_stat(ct_fs *fs, const char *rel, long long *size)
{
    if (is_mem(fs, rel)) {
        if (size) *size = (long long)fs->mem_len;
        return 0;
    }
    if (fs->archive) {
        if (!rel || !*rel) {
            if (size) *size = -1;
            return 1;
        }
        aentry *e = afind(fs, rel);
        if (!e) return -1;
        if (size) *size = e->is_dir ? -1 : (long long)e->len;
        return e->is_dir;
    }
    char *p = disk_path(fs, rel);
    struct stat st;
    int r = stat(p, &st);
    free(p);
    if (r != 0) return -1;
    if (S_ISDIR(st.st_mode)) {
        if (size) *size = -1;
        return 1;
    }
    if (!S_ISREG(st.st_mode)) return -1;
    if (size) *size = (long long)st.st_size;
    return 0;
}

int ct_fs_is_dir(ct_fs *fs, const char *rel)
{
    return ct_fs_stat(fs, rel, NULL) == 1;
}

int ct_fs_is_file(ct_fs *fs, const char *rel)
{
    return ct_fs_stat(fs, rel, NULL) == 0;
}

static int dirent_cmp(const void *x, const void *y)
{
    return ct_natcmp(((const ct_dirent *)x)->name, ((const ct_dirent *)y)->name);
}

int ct_fs_list(ct_fs *fs, const char *rel, ct_dirent **out, size_t *n, ct_error *err)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    ct_dirent *arr = NULL;
    if (!rel) rel = "";
    if (fs->archive) {
        size_t rl = strlen(rel);
        for (size_t i = 0; i < fs->n_ents; i++) {
            const char *p = fs->ents[i].path;
            if (rl) {
                if (strncmp(p, rel, rl) != 0 || p[rl] != '/') continue;
                p += rl + 1;
            }
            if (strchr(p, '/')) continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                arr = ct_xrealloc(arr, cap * sizeof *arr);
            }
            arr[(*n)++] = (ct_dirent){ct_xstrdup(p), fs->ents[i].is_dir,
                                      fs->ents[i].is_dir ? -1 : (long long)fs->ents[i].len};
        }
    } else if (!*rel && *fs->start) {
        /* a single-file fs shows only that file at its root */
        long long sz = 0;
        if (ct_fs_stat(fs, fs->start, &sz) < 0) return CT_OK; /* vanished: empty listing */
        arr = ct_xmalloc(sizeof *arr);
        arr[0] = (ct_dirent){ct_xstrdup(fs->start), 0, sz};
        *n = 1;
    } else {
        char *p = disk_path(fs, rel);
        DIR *d = opendir(p);
        if (!d) {
            int rc =
                ct_error_setf(err, CT_EIO, p, -1, 0, "cannot list directory: %s", strerror(errno));
            free(p);
            return rc;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
            char *full = ct_xasprintf("%s/%s", p, de->d_name);
            struct stat st;
            int ok = stat(full, &st) == 0;
            free(full);
            if (!ok || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))) continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                arr = ct_xrealloc(arr, cap * sizeof *arr);
            }
            arr[(*n)++] = (ct_dirent){ct_xstrdup(de->d_name), S_ISDIR(st.st_mode) ? 1 : 0,
                                      S_ISDIR(st.st_mode) ? -1 : (long long)st.st_size};
        }
        closedir(d);
        free(p);
    }
    if (*n > 1) qsort(arr, *n, sizeof *arr, dirent_cmp);
    *out = arr;
    return CT_OK;
}

void ct_fs_list_free(ct_dirent *ents, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ents[i].name);
    free(ents);
}

int ct_fs_read(ct_fs *fs, const char *rel, ct_buf *out, long long max, ct_error *err)
{
    if (max <= 0) max = CT_FS_MAX_FILE;
    ct_buf_clear(out);
    if (is_mem(fs, rel)) {
        if ((long long)fs->mem_len > max)
            return ct_error_setf(err, CT_ELIMIT, ct_fs_display(fs, rel), -1, 0,
                                 "file is %zu bytes, over the %lld-byte limit", fs->mem_len, max);
        ct_buf_append(out, fs->mem, fs->mem_len);
        return CT_OK;
    }
    if (fs->archive) {
        aentry *e = afind(fs, rel);
        if (!e || e->is_dir)
            return ct_error_setf(err, CT_ENOTFOUND, ct_fs_display(fs, rel), -1, 0,
                                 "no such file in the archive");
        if ((long long)e->len > max)
            return ct_error_setf(err, CT_ELIMIT, ct_fs_display(fs, rel), -1, 0,
                                 "file is %zu bytes, over the %lld-byte limit", e->len, max);
        ct_buf_append(out, e->data, e->len);
        return CT_OK;
    }
    char *p = disk_path(fs, rel);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = ct_error_setf(err, errno == ENOENT ? CT_ENOTFOUND : CT_EIO, p, -1, 0,
                               "cannot open: %s", strerror(errno));
        free(p);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if (st.st_size > max) {
            close(fd);
            int rc = ct_error_setf(err, CT_ELIMIT, p, -1, 0,
                                   "file is %lld bytes, over the %lld-byte limit",
                                   (long long)st.st_size, max);
            free(p);
            return rc;
        }
        ct_buf_reserve(out, (size_t)st.st_size);
    }
    for (;;) {
        ct_buf_reserve(out, 65536);
        ssize_t got = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (got < 0) {
            if (errno == EINTR) continue;
            int rc = ct_error_setf(err, CT_EIO, p, -1, 0, "read failed: %s", strerror(errno));
            close(fd);
            free(p);
            return rc;
        }
        if (got == 0) break;
        out->len += (size_t)got;
        if ((long long)out->len > max) {
            close(fd);
            int rc =
                ct_error_setf(err, CT_ELIMIT, p, -1, 0, "file is over the %lld-byte limit", max);
            free(p);
            return rc;
        }
    }
    out->data[out->len] = '\0';
    close(fd);
    free(p);
    return CT_OK;
}

int ct_fs_read_head(ct_fs *fs, const char *rel, ct_buf *out, size_t n, ct_error *err)
{
    ct_buf_clear(out);
    if (is_mem(fs, rel)) {
        ct_buf_append(out, fs->mem, fs->mem_len < n ? fs->mem_len : n);
        return CT_OK;
    }
    if (fs->archive) {
        aentry *e = afind(fs, rel);
        if (!e || e->is_dir)
            return ct_error_setf(err, CT_ENOTFOUND, ct_fs_display(fs, rel), -1, 0,
                                 "no such file in the archive");
        ct_buf_append(out, e->data, e->len < n ? e->len : n);
        return CT_OK;
    }
    if (!rel) rel = "";
    for (size_t i = 0; i < HEAD_CACHE; i++) {
        head_entry *h = &fs->heads[i];
        if (h->rel && strcmp(h->rel, rel) == 0 && (n <= h->len || h->complete)) {
            ct_buf_append(out, h->data, n < h->len ? n : h->len);
            if (!out->data) ct_buf_append(out, "", 0);
            return CT_OK;
        }
    }
    char *p = disk_path(fs, rel);
    FILE *f = fopen(p, "rb");
    if (!f) {
        int rc = ct_error_setf(err, CT_EIO, p, -1, 0, "cannot open: %s", strerror(errno));
        free(p);
        return rc;
    }
    /* read at least HEAD_MAX so that the next loader's sniff is served from the cache */
    size_t want = n > HEAD_MAX ? n : HEAD_MAX;
    ct_buf_reserve(out, want);
    out->len = fread(out->data, 1, want, f);
    int complete = out->len < want;
    fclose(f);
    free(p);
    if (want <= HEAD_MAX) {
        head_entry *h = &fs->heads[fs->next_head];
        fs->next_head = (fs->next_head + 1) % HEAD_CACHE;
        free(h->rel);
        free(h->data);
        h->rel = ct_xstrdup(rel);
        h->data = ct_xstrndup(out->data, out->len);
        h->len = out->len;
        h->complete = complete;
    }
    if (out->len > n) out->len = n;
    out->data[out->len] = '\0';
    return CT_OK;
}

const char *ct_fs_display(ct_fs *fs, const char *rel)
{
    free(fs->display);
    if (fs->archive)
        fs->display =
            (rel && *rel) ? ct_xasprintf("%s!/%s", fs->origin, rel) : ct_xstrdup(fs->origin);
    else if (!rel || !*rel)
        fs->display = ct_xstrdup(*fs->start ? fs->base : fs->origin);
    else if (strcmp(fs->base, ".") == 0)
        fs->display = ct_xstrdup(rel);
    else
        fs->display = disk_path(fs, rel);
    return fs->display;
}

int ct_fs_dir_key(ct_fs *fs, const char *rel, unsigned long long *a, unsigned long long *b)
{
    if (fs->archive) {
        aentry *e = (rel && *rel) ? afind(fs, rel) : NULL;
        *a = 0;
        *b = e ? (unsigned long long)(e - fs->ents) + 1 : 0;
        return (rel && *rel && !e) ? -1 : 0;
    }
    char *p = disk_path(fs, rel);
    struct stat st;
    int r = stat(p, &st);
    free(p);
    if (r != 0) return -1;
    *a = (unsigned long long)st.st_dev;
    *b = (unsigned long long)st.st_ino;
    return 0;
}

char *ct_fs_realpath(ct_fs *fs, const char *rel)
{
    if (fs->archive) return NULL;
    char *p = disk_path(fs, rel);
    char *r = realpath(p, NULL);
    free(p);
    return r;
}

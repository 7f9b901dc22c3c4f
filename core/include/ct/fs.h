/* ct/fs.h — one read-only view of a directory tree, a single file, or an archive.
 *
 * Loaders and discovery only read through a ct_fs, so a run directory on disk and the same run
 * inside a .tar/.tar.gz/.tar.zst/.zip behave the same. Archives are read in place through
 * libarchive into memory; nothing is ever extracted to disk.
 *
 * Paths inside a ct_fs are relative, '/'-separated, without a leading "./"; "" is the root. For
 * a single-file fs, the root is a directory holding that one file (its base name).
 *
 * Ownership: the caller owns the ct_fs (ct_fs_close). ct_fs_list fills an array the caller frees
 * with ct_fs_list_free. ct_fs_read fills a ct_buf the caller owns. Strings returned by
 * ct_fs_display are owned by the fs and valid until it is closed. */
#ifndef CT_FS_H
#define CT_FS_H

#include "ct/buf.h"
#include "ct/error.h"
#include <stddef.h>

typedef struct ct_fs ct_fs;

typedef struct ct_dirent {
    char *name; /* base name */
    int is_dir;
    long long size; /* bytes, -1 for directories */
} ct_dirent;

/* Default cap for one file read (1 GiB) and for the whole of an archive held in memory. */
#define CT_FS_MAX_FILE (1024LL * 1024 * 1024)
#define CT_FS_MAX_ARCHIVE (4LL * 1024 * 1024 * 1024)

/* Open `path`: a directory, a regular file, or an archive (.tar, .tar.gz, .tgz, .tar.zst, .zip,
 * .tar.xz, .tar.bz2, detected by content). */
ct_fs *ct_fs_open(const char *path, ct_error *err);
/* A single-file fs whose file `path` has the given contents (an editor buffer) instead of what
 * is on disk; its siblings are still read from disk. The data is copied. */
ct_fs *ct_fs_open_memory(const char *path, const char *data, size_t len, ct_error *err);
void ct_fs_close(ct_fs *fs);

/* 1 when the fs is an archive. */
int ct_fs_is_archive(const ct_fs *fs);
/* The path ct_fs_open was given. */
const char *ct_fs_origin(const ct_fs *fs);
/* The relative path to use for "the thing the user named": "" for a dir or archive, the base
 * name for a single file. */
const char *ct_fs_start(const ct_fs *fs);

/* 1 dir, 0 regular file, -1 missing. */
int ct_fs_stat(ct_fs *fs, const char *rel, long long *size);
int ct_fs_is_dir(ct_fs *fs, const char *rel);
int ct_fs_is_file(ct_fs *fs, const char *rel);

/* Entries of directory `rel`, sorted by name (natural order: "2.json" before "10.json").
 * Symlinks are followed and reported as what they point to (dangling ones are left out); a walk
 * uses ct_fs_dir_key to notice a directory it has already seen (a symlink loop). */
int ct_fs_list(ct_fs *fs, const char *rel, ct_dirent **out, size_t *n, ct_error *err);
void ct_fs_list_free(ct_dirent *ents, size_t n);

/* Read at most `max` bytes of file `rel` (max 0 → CT_FS_MAX_FILE; larger files fail with
 * CT_ELIMIT). The buffer is NUL-terminated. */
int ct_fs_read(ct_fs *fs, const char *rel, ct_buf *out, long long max, ct_error *err);
/* Read only the first `n` bytes (for sniffing). The last few heads (up to 64 KiB each) read from
 * disk are cached for the life of the fs, so a file sniffed by every loader is read once. */
int ct_fs_read_head(ct_fs *fs, const char *rel, ct_buf *out, size_t n, ct_error *err);

/* A path a user can recognise: "<origin>/<rel>" on disk, "<archive>!/<rel>" inside an archive. */
const char *ct_fs_display(ct_fs *fs, const char *rel);
/* An identity for directory rel (device and inode on disk, an index inside archives), so a walk
 * can tell a symlink loop. Returns 0 on success. */
int ct_fs_dir_key(ct_fs *fs, const char *rel, unsigned long long *a, unsigned long long *b);
/* On disk only: the real path of rel (caller frees); NULL inside archives. */
char *ct_fs_realpath(ct_fs *fs, const char *rel);

/* Join two relative paths ("" is the root). Caller frees. */
char *ct_path_join(const char *a, const char *b);
/* Base name / parent of a relative path (caller frees). */
char *ct_path_base(const char *rel);
char *ct_path_parent(const char *rel);

/* Natural comparison of names ("2" < "10"). */
int ct_natcmp(const char *a, const char *b);

#endif

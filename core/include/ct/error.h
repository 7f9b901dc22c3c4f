/* ct/error.h — errors as values.
 *
 * Ownership: a ct_error is a plain value the caller owns (usually on the stack); functions that
 * can fail take a `ct_error *` (may be NULL) and fill it with a message a user can act on: the
 * file, the byte offset or line, and what was expected. Nothing in core calls exit() or abort()
 * on bad input. */
#ifndef CT_ERROR_H
#define CT_ERROR_H

#include <stddef.h>

/* Status codes: 0 is success, failures are negative. */
enum {
    CT_OK = 0,
    CT_EIO = -1,        /* a file could not be read or written */
    CT_EPARSE = -2,     /* invalid or truncated JSON / text where data was expected */
    CT_EFORMAT = -3,    /* not a trajectory we recognise */
    CT_ELFS = -4,       /* a Git LFS pointer file instead of data */
    CT_ELIMIT = -5,     /* a size, depth or count limit was exceeded */
    CT_ENOMEM = -6,     /* out of memory */
    CT_EINVAL = -7,     /* invalid argument or option */
    CT_EEMPTY = -8,     /* the run has no recoverable steps (agent not installed, killed, ...) */
    CT_ENOTFOUND = -9,  /* path, step or item does not exist */
    CT_ESCHEMA = -10,   /* output failed schema validation */
    CT_ETIMEOUT = -11,  /* a time limit was reached */
    CT_ECANCELED = -12, /* the caller cancelled the work */
    CT_ENET = -13,      /* network / HTTP failure */
    CT_EDB = -14,       /* database failure */
};

#define CT_ERROR_MSG_MAX 1024

typedef struct ct_error {
    int code;                   /* one of the CT_E* codes, CT_OK when unset */
    long long offset;           /* byte offset in `path`, -1 when not applicable */
    int line;                   /* 1-based line in `path`, 0 when not applicable */
    char path[512];             /* the file concerned, "" when none */
    char msg[CT_ERROR_MSG_MAX]; /* one sentence, no trailing newline */
} ct_error;

/* Reset to "no error". */
void ct_error_clear(ct_error *err);
/* Fill err (if not NULL) and return `code`, so callers can `return ct_error_set(...)`. */
int ct_error_set(ct_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, naming the file and position (offset -1 / line 0 when unknown). */
int ct_error_setf(ct_error *err, int code, const char *path, long long offset, int line,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Short stable name of a code: "io", "parse", "format", ... */
const char *ct_err_name(int code);
/* Human-readable sentence fragment for a code. */
const char *ct_strerror(int code);
/* Write "path:line: (byte N) message" into buf; returns buf. */
const char *ct_error_format(const ct_error *err, char *buf, size_t size);

#endif

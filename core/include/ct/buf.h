/* ct/buf.h — growable byte buffers and small string helpers.
 *
 * Ownership: a ct_buf owns its `data`; ct_buf_free releases it, ct_buf_steal hands it to the
 * caller (who frees it with free()). `data` is always NUL-terminated after any append, so it can
 * be used as a C string when it holds text. Allocation failure aborts the process (out of memory
 * is not "bad input"; every other failure is a value). */
#ifndef CT_BUF_H
#define CT_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct ct_buf {
    char *data;
    size_t len;
    size_t cap;
} ct_buf;

#define CT_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void ct_buf_reserve(ct_buf *b, size_t extra);
void ct_buf_append(ct_buf *b, const void *p, size_t n);
void ct_buf_puts(ct_buf *b, const char *s);
void ct_buf_putc(ct_buf *b, char c);
void ct_buf_printf(ct_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ct_buf_vprintf(ct_buf *b, const char *fmt, va_list ap);
void ct_buf_clear(ct_buf *b);
void ct_buf_free(ct_buf *b);
/* Return the data (NUL-terminated, never NULL) and reset the buffer. */
char *ct_buf_steal(ct_buf *b);

/* Allocation wrappers that never return NULL. */
void *ct_xmalloc(size_t n);
void *ct_xcalloc(size_t n, size_t size);
void *ct_xrealloc(void *p, size_t n);
char *ct_xstrdup(const char *s); /* NULL in, NULL out */
char *ct_xstrndup(const char *s, size_t n);
char *ct_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* String helpers. */
int ct_str_starts(const char *s, const char *prefix);
int ct_str_ends(const char *s, const char *suffix);
/* Find needle in the first n bytes of hay (memmem); NULL when absent. */
const char *ct_memstr(const char *hay, size_t n, const char *needle);
/* Replace invalid UTF-8 sequences and NUL bytes by U+FFFD; returns a new string. */
char *ct_utf8_sanitize(const char *s, size_t n);
/* Length (1..4) of the valid UTF-8 sequence at s[0..n), 0 when it is invalid or a NUL byte:
 * the one decoder every module uses. */
size_t ct_utf8_seq(const char *s, size_t n);
/* 1 when s[0..n) is valid UTF-8 without NUL bytes. */
int ct_utf8_valid(const char *s, size_t n);

#endif

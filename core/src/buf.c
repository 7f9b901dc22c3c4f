#include "ct/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
    fputs("codetracer: out of memory\n", stderr);
    abort();
}

void *ct_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom();
    return p;
}

void *ct_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom();
    return p;
}

void *ct_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom();
    return q;
}

char *ct_xstrdup(const char *s)
{
    return s ? ct_xstrndup(s, strlen(s)) : NULL;
}

char *ct_xstrndup(const char *s, size_t n)
{
    char *p = ct_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ct_xasprintf(const char *fmt, ...)
{
    ct_buf b = CT_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    ct_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return ct_buf_steal(&b);
}

void ct_buf_reserve(ct_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1) oom();
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->data = ct_xrealloc(b->data, cap);
    b->cap = cap;
    b->data[b->len] = '\0'; /* a reserved buffer is always a valid C string */
}

void ct_buf_append(ct_buf *b, const void *p, size_t n)
{
    ct_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ct_buf_puts(ct_buf *b, const char *s)
{
    ct_buf_append(b, s, strlen(s));
}

void ct_buf_putc(ct_buf *b, char c)
{
    ct_buf_append(b, &c, 1);
}

void ct_buf_vprintf(ct_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) return;
    ct_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void ct_buf_printf(ct_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ct_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void ct_buf_clear(ct_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void ct_buf_free(ct_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *ct_buf_steal(ct_buf *b)
{
    char *p = b->data ? b->data : ct_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int ct_str_starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

int ct_str_ends(const char *s, const char *suffix)
{
    if (!s) return 0;
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

const char *ct_memstr(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0) return hay;
    return memmem(hay, n, needle, m);
}

size_t ct_utf8_seq(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    if (c < 0x80) return c ? 1 : 0;
    size_t len;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* 1 when the 8 bytes at p are all ASCII and none is NUL (the common case, checked a word at a
 * time: loading spends most of its validation here). */
static int ascii_word(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    return ((w | ((w - ones) & ~w)) & highs) == 0;
}

int ct_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8 && ascii_word(p + i)) {
            i += 8;
            continue;
        }
        size_t k = ct_utf8_seq((const char *)p + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

char *ct_utf8_sanitize(const char *s, size_t n)
{
    ct_buf b = CT_BUF_INIT;
    ct_buf_reserve(&b, n);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = ct_utf8_seq((const char *)p + i, n - i);
        if (k) {
            ct_buf_append(&b, s + i, k);
            i += k;
        } else {
            ct_buf_append(&b, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    return ct_buf_steal(&b);
}

#include "ctp/frame.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ct_frame_init(ct_frame_reader *r, size_t max_body)
{
    memset(r, 0, sizeof *r);
    r->max_body = max_body ? max_body : CT_FRAME_DEFAULT_MAX_BODY;
}

void ct_frame_free(ct_frame_reader *r)
{
    ct_buf_free(&r->in);
    memset(r, 0, sizeof *r);
}

static size_t avail(const ct_frame_reader *r)
{
    return r->in.len - r->pos;
}

size_t ct_frame_buffered(const ct_frame_reader *r)
{
    return avail(r);
}

int ct_frame_partial(const ct_frame_reader *r)
{
    return r->in_body || r->skip > 0 || avail(r) > 0;
}

/* Drop consumed bytes once they are the larger part of the buffer, so a long session does not
 * keep growing the buffer. */
static void compact(ct_frame_reader *r)
{
    if (r->pos == 0) return;
    if (r->pos == r->in.len) {
        r->in.len = r->pos = 0;
        if (r->in.data) r->in.data[0] = '\0';
        /* Give back a buffer that once held a very large message. */
        if (r->in.cap > (1u << 20)) ct_buf_free(&r->in);
        return;
    }
    if (r->pos < r->in.len / 2 && r->pos < 65536) return;
    memmove(r->in.data, r->in.data + r->pos, r->in.len - r->pos);
    r->in.len -= r->pos;
    r->pos = 0;
    r->in.data[r->in.len] = '\0';
}

static void drop_skipped(ct_frame_reader *r)
{
    if (r->skip == 0) return;
    size_t n = avail(r);
    if ((unsigned long long)n > r->skip) n = (size_t)r->skip;
    r->pos += n;
    r->skip -= n;
}

void ct_frame_feed(ct_frame_reader *r, const char *data, size_t n)
{
    drop_skipped(r);
    if (r->skip > 0) {
        size_t d = (unsigned long long)n > r->skip ? (size_t)r->skip : n;
        data += d;
        n -= d;
        r->skip -= d;
    }
    compact(r);
    if (n) ct_buf_append(&r->in, data, n);
}

/* Find "Content-Length" (any case) in the buffered bytes at or after `from`; SIZE_MAX if none. */
static size_t find_header_start(const ct_frame_reader *r, size_t from)
{
    static const char key[] = "content-length";
    const size_t k = sizeof key - 1;
    const char *s = r->in.data + r->pos;
    size_t n = avail(r);
    for (size_t i = from; i + k <= n; i++)
        if (strncasecmp(s + i, key, k) == 0) return i;
    return (size_t)-1;
}

/* Skip garbage: restart at the next "Content-Length" after the current position, or keep only
 * a tail that could be the beginning of one. */
static void resync(ct_frame_reader *r)
{
    size_t at = find_header_start(r, 1);
    if (at != (size_t)-1) {
        r->pos += at;
    } else {
        size_t n = avail(r);
        size_t keep = n < 13 ? n : 13;
        r->pos += n - keep;
        /* The kept tail must not start the next scan at its own first byte forever: if it
         * cannot begin "content-length", drop it too. */
        if (keep && strncasecmp(r->in.data + r->pos, "content-length", keep) != 0) r->pos += keep;
    }
}

static int fail(char *why, size_t why_size, const char *fmt, const char *arg)
{
    if (why && why_size) snprintf(why, why_size, fmt, arg ? arg : "");
    return CT_FRAME_ERROR;
}

static int token_char(int c)
{
    return isalnum(c) || c == '-' || c == '_';
}

/* Parse the header block s[0..n) (without the final blank line). 0 and *len on success. */
static int parse_headers(const char *s, size_t n, unsigned long long *len, int *too_big, char *why,
                         size_t why_size)
{
    int have_len = 0;
    *too_big = 0;
    size_t i = 0;
    while (i < n) {
        const char *eol = ct_memstr(s + i, n - i, "\r\n");
        size_t end = eol ? (size_t)(eol - s) : n;
        const char *line = s + i;
        size_t ll = end - i;
        size_t c = 0;
        while (c < ll && token_char((unsigned char)line[c]))
            c++;
        if (c == 0 || c >= ll || line[c] != ':') {
            fail(why, why_size, "malformed header line (expected \"Name: value\\r\\n\")%s", NULL);
            return i == 0 ? -1 : -2;
        }
        const char *v = line + c + 1;
        size_t vl = ll - c - 1;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        if (c == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            if (vl == 0) return fail(why, why_size, "empty Content-Length%s", NULL), -2;
            unsigned long long x = 0;
            for (size_t k = 0; k < vl; k++) {
                if (!isdigit((unsigned char)v[k]))
                    return fail(why, why_size, "Content-Length is not a number%s", NULL), -2;
                if (x > 1000000000000ULL) {
                    *too_big = 1;
                    x = 1000000000000ULL;
                } else {
                    x = x * 10 + (unsigned)(v[k] - '0');
                }
            }
            if (have_len && x != *len)
                return fail(why, why_size, "two different Content-Length headers%s", NULL), -2;
            *len = x;
            have_len = 1;
        }
        /* Content-Type and unknown headers are accepted and ignored (the body is UTF-8). */
        i = end + 2;
    }
    if (!have_len) return fail(why, why_size, "header without Content-Length%s", NULL), -2;
    return 0;
}

int ct_frame_next(ct_frame_reader *r, char **body, size_t *len, char *why, size_t why_size)
{
    *body = NULL;
    *len = 0;
    drop_skipped(r);
    if (r->skip > 0) return CT_FRAME_MORE;
    if (!r->in_body) {
        size_t n = avail(r);
        if (n == 0) return CT_FRAME_MORE;
        const char *s = r->in.data + r->pos;
        size_t lim = n < CT_FRAME_MAX_HEADER + 4 ? n : CT_FRAME_MAX_HEADER + 4;
        const char *end = ct_memstr(s, lim, "\r\n\r\n");
        if (!end) {
            if (n < CT_FRAME_MAX_HEADER + 4) {
                /* A header not finished yet — unless what we have can never become one. */
                size_t c = 0;
                while (c < n && token_char((unsigned char)s[c]))
                    c++;
                if (c == n || s[c] == ':') return CT_FRAME_MORE;
                if (find_header_start(r, 1) == (size_t)-1 && n < 64) return CT_FRAME_MORE;
                fail(why, why_size, "bytes outside a message (expected a Content-Length header)%s",
                     NULL);
                resync(r);
                compact(r);
                return CT_FRAME_ERROR;
            }
            fail(why, why_size, "header longer than %s bytes without an empty line", "8192");
            resync(r);
            compact(r);
            return CT_FRAME_ERROR;
        }
        size_t hlen = (size_t)(end - s);
        unsigned long long blen = 0;
        int too_big = 0;
        int ph = parse_headers(s, hlen, &blen, &too_big, why, why_size);
        if (ph != 0) {
            /* A header block that starts like one is dropped whole; anything else is garbage
             * before the next "Content-Length". */
            if (ph == -2)
                r->pos += hlen + 4;
            else
                resync(r);
            compact(r);
            return CT_FRAME_ERROR;
        }
        r->pos += hlen + 4;
        if (too_big || blen > r->max_body) {
            if (why && why_size) {
                if (too_big)
                    snprintf(why, why_size,
                             "Content-Length over 10^12 exceeds the limit of %zu bytes "
                             "(maxMessageBytes)",
                             r->max_body);
                else
                    snprintf(why, why_size,
                             "message of %llu bytes exceeds the limit of %zu bytes "
                             "(maxMessageBytes); skipped",
                             blen, r->max_body);
            }
            if (!too_big) {
                r->skip = blen;
                drop_skipped(r);
            }
            compact(r);
            return CT_FRAME_ERROR;
        }
        r->body_len = (size_t)blen;
        r->in_body = 1;
    }
    if (avail(r) < r->body_len) return CT_FRAME_MORE;
    *body = ct_xstrndup(r->in.data + r->pos, r->body_len);
    *len = r->body_len;
    r->pos += r->body_len;
    r->in_body = 0;
    r->body_len = 0;
    compact(r);
    return CT_FRAME_MESSAGE;
}

char *ct_frame_encode(const char *body, size_t len, size_t *out_len)
{
    char head[64];
    int h = snprintf(head, sizeof head, "Content-Length: %zu\r\n\r\n", len);
    char *out = ct_xmalloc((size_t)h + len + 1);
    memcpy(out, head, (size_t)h);
    memcpy(out + h, body, len);
    out[h + len] = '\0';
    *out_len = (size_t)h + len;
    return out;
}

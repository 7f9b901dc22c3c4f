/* ctp/frame.h — strict LSP base-protocol framing: "Content-Length: N\r\n\r\n" + N bytes.
 *
 * A ct_frame_reader is fed raw bytes as they arrive and hands out whole message bodies. Every
 * buffer is bounded: headers may not exceed CT_FRAME_MAX_HEADER bytes and a body may not exceed
 * the reader's max_body. A framing error (no or malformed header, a length over the limit) is
 * reported once and the reader resynchronises by itself — it skips an oversized body without
 * storing it, and after garbage it restarts at the next "Content-Length" — so the caller simply
 * keeps calling ct_frame_next.
 *
 * Ownership: the caller owns the reader (ct_frame_init / ct_frame_free) and each body returned
 * by ct_frame_next (free()). ct_frame_encode returns a malloc'd buffer. */
#ifndef CTP_FRAME_H
#define CTP_FRAME_H

#include "ct/buf.h"

#include <stddef.h>

#define CT_FRAME_MAX_HEADER 8192
#define CT_FRAME_DEFAULT_MAX_BODY (64u * 1024 * 1024)

typedef struct ct_frame_reader {
    ct_buf in;               /* bytes received and not consumed yet (from `pos`) */
    size_t pos;              /* first unconsumed byte of `in` */
    size_t max_body;         /* largest body accepted */
    size_t body_len;         /* length of the body being read, when in_body */
    int in_body;             /* 1 after a valid header, until the body is complete */
    unsigned long long skip; /* bytes of an oversized body still to discard */
} ct_frame_reader;

enum {
    CT_FRAME_MORE = 0,    /* need more input */
    CT_FRAME_MESSAGE = 1, /* *body holds one message body */
    CT_FRAME_ERROR = -1,  /* framing error described in `why`; already resynchronised */
};

void ct_frame_init(ct_frame_reader *r, size_t max_body);
void ct_frame_free(ct_frame_reader *r);
/* Append input. Bytes of an oversized body being skipped are dropped here, never stored. */
void ct_frame_feed(ct_frame_reader *r, const char *data, size_t n);
/* Take the next event. On CT_FRAME_MESSAGE *body (malloc'd, NUL-terminated) and *len are set. */
int ct_frame_next(ct_frame_reader *r, char **body, size_t *len, char *why, size_t why_size);
/* Bytes currently buffered (for tests and limits). */
size_t ct_frame_buffered(const ct_frame_reader *r);
/* 1 when a message has started but is not complete (a client that disappears mid-message). */
int ct_frame_partial(const ct_frame_reader *r);

/* "Content-Length: N\r\n\r\n" + body, malloc'd; *out_len gets the total length. */
char *ct_frame_encode(const char *body, size_t len, size_t *out_len);

#endif

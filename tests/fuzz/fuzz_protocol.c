/* libFuzzer target for the daemon's input side: arbitrary bytes through the Content-Length
 * framer (fed in chunks whose sizes come from the input), every body through the JSON-RPC
 * parser (including the large-string fast path, which must agree with jansson), and position
 * conversion on the body as a document. Invariants are checked with abort(). */
#include "ct/buf.h"
#include "ctp/frame.h"
#include "ctp/pos.h"
#include "ctp/rpc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_body(const char *body, size_t len)
{
    ct_rpc_msg m;
    json_t *bad = NULL;
    char why[256];
    int rc = ct_rpc_parse(body, len, &m, &bad, why, sizeof why);
    json_error_t je;
    json_t *ref = json_loadb(body, len, JSON_ALLOW_NUL, &je);
    if (rc == 0) {
        if (!ref || !json_equal(ref, m.root)) abort(); /* the fast path changed the meaning */
        ct_rpc_msg_free(&m);
    } else if (rc == CT_RPC_PARSE_ERROR && ref) {
        abort(); /* jansson accepts what we called unparsable */
    }
    json_decref(ref);
    json_decref(bad);

    ct_text t;
    ct_text_init(&t, body, len);
    for (size_t off = 0; off <= len; off += 1 + len / 16) {
        for (int e = 0; e < 3; e++) {
            ct_lsp_pos p = ct_pos_from_byte(&t, off, (ct_pos_enc)e);
            size_t back = ct_pos_to_byte(&t, p, (ct_pos_enc)e);
            if (back > off || back > len) abort(); /* a position never points past its byte */
        }
    }
    ct_text_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ct_frame_reader r;
    ct_frame_init(&r, 1 << 16);
    size_t i = 0, k = 0;
    while (i < size) {
        size_t chunk = 1 + (data[k++ % size] % 64);
        if (chunk > size - i) chunk = size - i;
        ct_frame_feed(&r, (const char *)data + i, chunk);
        i += chunk;
        for (int guard = 0; guard < 100000; guard++) {
            char *body;
            size_t len;
            char why[256];
            int ev = ct_frame_next(&r, &body, &len, why, sizeof why);
            if (ev == CT_FRAME_MORE) break;
            if (ev == CT_FRAME_MESSAGE) {
                if (len > r.max_body) abort();
                check_body(body, len);
                free(body);
            }
            if (guard == 99999) abort(); /* the framer must always make progress */
        }
        if (ct_frame_buffered(&r) > r.max_body + CT_FRAME_MAX_HEADER + 64 + 64) abort();
    }
    /* the whole input as one body too (the fast path needs big strings) */
    check_body((const char *)data, size);
    ct_frame_free(&r);
    return 0;
}

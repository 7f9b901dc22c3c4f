/* locate.c — where an edit's text stands in today's file: exact, then whitespace-insensitive,
 * then line-based fuzzy (most of its lines, in order, close together). Nothing found = the code
 * "moved on". All scans are linear or bounded by needle lines × file lines. */
#include "ct/spans.h"
#include "ct/buf.h"
#include "spans/grammar.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *ct_match_kind_name(ct_match_kind k)
{
    switch (k) {
    case CT_MATCH_EXACT:
        return "exact";
    case CT_MATCH_WHITESPACE:
        return "whitespace";
    case CT_MATCH_FUZZY:
        return "fuzzy";
    default:
        return "moved_on";
    }
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Trim whole blank lines at the start and whitespace at the end. */
static void trim_needle(const char **s, size_t *n)
{
    const char *p = *s, *e = *s + *n;
    for (;;) {
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < e && *q == '\n')
            p = q + 1;
        else
            break;
    }
    while (e > p && is_ws(e[-1]))
        e--;
    *s = p;
    *n = (size_t)(e - p);
}

static long line_of(const char *text, size_t from, size_t to, long line)
{
    for (size_t i = from; i < to; i++)
        line += text[i] == '\n';
    return line;
}

static int exact(const char *text, size_t len, const char *nd, size_t nl, long hint,
                 ct_span_match *m)
{
    size_t best = 0, count = 0, pos = 0, lastpos = 0;
    long line = 1, best_dist = -1;
    while (pos + nl <= len) {
        const char *h = memmem(text + pos, len - pos, nd, nl);
        if (!h) break;
        size_t at = (size_t)(h - text);
        if (hint > 0) {
            line = line_of(text, lastpos, at, line);
            lastpos = at;
        }
        long dist = hint > 0 ? labs(line - hint) : 0;
        if (count == 0 || (hint > 0 && dist < best_dist)) best = at, best_dist = dist;
        count++;
        pos = at + 1;
    }
    if (!count) return 0;
    m->kind = CT_MATCH_EXACT;
    m->n_exact = count;
    m->score = 1.0;
    m->span.byte_start = best;
    m->span.byte_end = best + nl;
    return 1;
}

/* Whitespace-insensitive: compare the texts with all whitespace removed, keeping for each kept
 * byte of the file its original offset. */
static int whitespace(const char *text, size_t len, const char *nd, size_t nl, ct_span_match *m)
{
    char *nn = ct_xmalloc(nl + 1);
    size_t nk = 0;
    for (size_t i = 0; i < nl; i++)
        if (!is_ws(nd[i])) nn[nk++] = nd[i];
    if (!nk) {
        free(nn);
        return 0;
    }
    char *ft = ct_xmalloc(len + 1);
    uint32_t *map = ct_xmalloc((len + 1) * sizeof *map);
    size_t fk = 0;
    for (size_t i = 0; i < len; i++)
        if (!is_ws(text[i])) map[fk] = (uint32_t)i, ft[fk++] = text[i];
    const char *h = fk >= nk ? memmem(ft, fk, nn, nk) : NULL;
    int ok = 0;
    if (h) {
        size_t a = (size_t)(h - ft);
        m->kind = CT_MATCH_WHITESPACE;
        m->n_exact = 0;
        m->score = 1.0;
        m->span.byte_start = map[a];
        m->span.byte_end = map[a + nk - 1] + 1;
        ok = 1;
    }
    free(nn);
    free(ft);
    free(map);
    return ok;
}

typedef struct line_ref {
    size_t start, end; /* the trimmed content [start, end) */
    size_t full_end;   /* end of the line before its '\n' */
    uint64_t hash;     /* 0 = blank */
} line_ref;

static size_t split_lines(const char *s, size_t n, line_ref **out)
{
    size_t cap = 16, k = 0;
    line_ref *v = ct_xmalloc(cap * sizeof *v);
    size_t p = 0;
    while (p <= n) {
        const char *nl = memchr(s + p, '\n', n - p);
        size_t e = nl ? (size_t)(nl - s) : n;
        size_t a = p, b = e;
        while (a < b && is_ws(s[a]))
            a++;
        while (b > a && is_ws(s[b - 1]))
            b--;
        if (k == cap) cap *= 2, v = ct_xrealloc(v, cap * sizeof *v);
        uint64_t h = 0;
        if (b > a) {
            h = 1469598103934665603ull;
            for (size_t i = a; i < b; i++)
                h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
            h |= 1;
        }
        v[k++] = (line_ref){a, b, e, h};
        if (!nl) break;
        p = e + 1;
    }
    *out = v;
    return k;
}

/* Line fuzzy: the needle's non-blank lines; a window of the file starting at a line equal to
 * one of the first needle lines, matching later needle lines in order (skipping up to 3 needle
 * lines or 3 file lines at a time). Best = most lines matched; needs half of them and two. */
static int fuzzy(const char *text, size_t len, const char *nd, size_t nl, ct_span_match *m)
{
    line_ref *fl, *nlr;
    size_t nf = split_lines(text, len, &fl);
    size_t nn0 = split_lines(nd, nl, &nlr);
    size_t nn = 0;
    for (size_t i = 0; i < nn0; i++)
        if (nlr[i].hash) nlr[nn++] = nlr[i];
    size_t best_cnt = 0, best_a = 0, best_b = 0;
    if (nn >= 2 && nn <= 20000) {
        for (size_t i = 0; i < nf; i++) {
            if (!fl[i].hash) continue;
            size_t j0 = nn;
            for (size_t j = 0; j < nn && j < 4; j++)
                if (fl[i].hash == nlr[j].hash) {
                    j0 = j;
                    break;
                }
            if (j0 == nn) continue;
            size_t cnt = 1, j = j0 + 1, last = i, miss = 0;
            for (size_t l = i + 1; l < nf && j < nn && miss <= 3 + nn / 4; l++) {
                if (!fl[l].hash) continue;
                size_t k = j;
                for (; k < nn && k < j + 4; k++)
                    if (fl[l].hash == nlr[k].hash) break;
                if (k < nn && k < j + 4) {
                    cnt++;
                    j = k + 1;
                    last = l;
                    miss = 0;
                } else {
                    miss++;
                }
            }
            if (cnt > best_cnt) best_cnt = cnt, best_a = i, best_b = last;
        }
    }
    int ok = 0;
    if (best_cnt >= 2 && best_cnt * 2 >= nn) {
        m->kind = CT_MATCH_FUZZY;
        m->n_exact = 0;
        m->score = (double)best_cnt / (double)nn;
        m->span.byte_start = fl[best_a].start;
        m->span.byte_end = fl[best_b].end;
        ok = 1;
    }
    free(fl);
    free(nlr);
    return ok;
}

ct_match_kind ct__spans_locate_bytes(const char *text, size_t len, const char *needle, size_t nlen,
                                     long hint_line, ct_span_match *out)
{
    memset(out, 0, sizeof *out);
    if (!text || !needle) return CT_MATCH_NONE;
    trim_needle(&needle, &nlen);
    if (!nlen || len > CT_SPANS_MAX_FILE) return CT_MATCH_NONE;
    if (exact(text, len, needle, nlen, hint_line, out) ||
        whitespace(text, len, needle, nlen, out) || fuzzy(text, len, needle, nlen, out))
        return out->kind;
    return CT_MATCH_NONE;
}

ct_match_kind ct_spans_locate(const char *text, size_t len, const char *needle, size_t nlen,
                              long hint_line, ct_span_match *out)
{
    if (ct__spans_locate_bytes(text, len, needle, nlen, hint_line, out) != CT_MATCH_NONE)
        ct_spans_fill_lines(text, len, &out->span);
    return out->kind;
}

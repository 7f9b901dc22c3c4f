#include "ctp/pos.h"

#include "ct/buf.h"

#include <stdlib.h>
#include <string.h>

const char *ct_pos_enc_name(ct_pos_enc e)
{
    return e == CT_POS_UTF8 ? "utf-8" : e == CT_POS_UTF32 ? "utf-32" : "utf-16";
}

void ct_text_init(ct_text *t, const char *s, size_t n)
{
    t->s = s;
    t->n = n;
    size_t cap = 64, k = 0;
    size_t *st = ct_xmalloc(cap * sizeof *st);
    st[k++] = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '\n' && c != '\r') continue;
        if (c == '\r' && i + 1 < n && s[i + 1] == '\n') i++;
        if (k == cap) {
            cap *= 2;
            st = ct_xrealloc(st, cap * sizeof *st);
        }
        st[k++] = i + 1;
    }
    t->starts = st;
    t->n_lines = k;
}

void ct_text_free(ct_text *t)
{
    free(t->starts);
    t->starts = NULL;
    t->n_lines = 0;
}

size_t ct_text_line_end(const ct_text *t, long line)
{
    if (line < 0) return 0;
    if ((size_t)line >= t->n_lines) return t->n;
    size_t e = (size_t)line + 1 < t->n_lines ? t->starts[line + 1] : t->n;
    size_t b = t->starts[line];
    if (e > b && t->s[e - 1] == '\n') e--;
    if (e > b && t->s[e - 1] == '\r') e--;
    return e;
}

/* Length of the UTF-8 sequence at s[0..n): 1..4, or 1 for an invalid byte (counted alone). A
 * NUL byte is a valid one-byte character here (documents may hold one). */
static size_t seq_len(const unsigned char *s, size_t n, int *valid)
{
    size_t k = s[0] ? ct_utf8_seq((const char *)s, n) : 1;
    *valid = k > 0;
    return k ? k : 1;
}

static size_t units_of(size_t len, int valid, ct_pos_enc enc)
{
    if (enc == CT_POS_UTF8) return valid ? len : 1;
    if (enc == CT_POS_UTF32) return 1;
    return valid && len == 4 ? 2 : 1;
}

size_t ct_pos_units(const char *s, size_t n, ct_pos_enc enc)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, units = 0;
    while (i < n) {
        int valid;
        size_t l = seq_len(u + i, n - i, &valid);
        units += units_of(l, valid, enc);
        i += l;
    }
    return units;
}

static size_t line_of(const ct_text *t, size_t off)
{
    size_t lo = 0, hi = t->n_lines; /* first start > off */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->starts[mid] <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

ct_lsp_pos ct_pos_from_byte(const ct_text *t, size_t off, ct_pos_enc enc)
{
    if (off > t->n) off = t->n;
    size_t line = line_of(t, off);
    size_t b = t->starts[line];
    size_t e = ct_text_line_end(t, (long)line);
    if (off > e) off = e; /* inside the line break */
    const unsigned char *u = (const unsigned char *)t->s;
    size_t i = b, units = 0;
    while (i < off) {
        int valid;
        size_t l = seq_len(u + i, e - i, &valid);
        if (i + l > off) break; /* off points inside this character */
        units += units_of(l, valid, enc);
        i += l;
    }
    return (ct_lsp_pos){(long)line, (long)units};
}

size_t ct_pos_to_byte(const ct_text *t, ct_lsp_pos p, ct_pos_enc enc)
{
    if (p.line < 0) return 0;
    if ((size_t)p.line >= t->n_lines) return t->n;
    size_t b = t->starts[p.line];
    size_t e = ct_text_line_end(t, p.line);
    if (p.character <= 0) return b;
    const unsigned char *u = (const unsigned char *)t->s;
    size_t i = b, units = 0, want = (size_t)p.character;
    while (i < e) {
        int valid;
        size_t l = seq_len(u + i, e - i, &valid);
        size_t k = units_of(l, valid, enc);
        if (units + k > want) break; /* `want` falls inside this character */
        units += k;
        i += l;
        if (units == want) break;
    }
    return i;
}

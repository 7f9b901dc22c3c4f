#include "ct/jspan.h"

#include "ct/buf.h"

#include <stdlib.h>
#include <string.h>

#define BAD ((size_t)-1)

size_t ct_json_skip_ws(const char *s, size_t n, size_t pos)
{
    while (pos < n && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r'))
        pos++;
    return pos;
}

/* pos at the opening quote; returns one past the closing quote. */
static size_t string_end(const char *s, size_t n, size_t pos)
{
    pos++;
    while (pos < n) {
        const char *q = memchr(s + pos, '"', n - pos);
        if (!q) return BAD;
        size_t at = (size_t)(q - s);
        /* count the backslashes right before the quote */
        size_t k = at;
        while (k > pos && s[k - 1] == '\\')
            k--;
        if (((at - k) & 1) == 0) return at + 1;
        pos = at + 1;
    }
    return BAD;
}

size_t ct_json_value_end(const char *s, size_t n, size_t pos)
{
    pos = ct_json_skip_ws(s, n, pos);
    if (pos >= n) return BAD;
    char c = s[pos];
    if (c == '"') return string_end(s, n, pos);
    if (c == '{' || c == '[') {
        size_t depth = 0;
        while (pos < n) {
            /* jump to the next interesting byte */
            size_t i = pos;
            while (i < n && s[i] != '"' && s[i] != '{' && s[i] != '[' && s[i] != '}' && s[i] != ']')
                i++;
            if (i >= n) return BAD;
            c = s[i];
            if (c == '"') {
                pos = string_end(s, n, i);
                if (pos == BAD) return BAD;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (--depth == 0)
                return i + 1;
            pos = i + 1;
        }
        return BAD;
    }
    size_t i = pos;
    while (i < n && !strchr(",]} \t\r\n", s[i]))
        i++;
    return i > pos ? i : BAD;
}

/* Iterate the members of the container at pos. For objects, key and klen get the raw key bytes
 * (without quotes). Returns 1 with the value span set, 0 at the end, -1 on malformed input.
 * The iterator `it` must start at BAD. */
static int next_member(const char *s, size_t n, size_t pos, size_t *it, const char **key,
                       size_t *klen, size_t *vstart, size_t *vend)
{
    size_t i;
    if (*it == BAD) {
        i = ct_json_skip_ws(s, n, pos);
        if (i >= n || (s[i] != '{' && s[i] != '[')) return -1;
        i = ct_json_skip_ws(s, n, i + 1);
        if (i < n && (s[i] == '}' || s[i] == ']')) return 0;
    } else {
        i = ct_json_skip_ws(s, n, *it);
        if (i >= n) return -1;
        if (s[i] == '}' || s[i] == ']') return 0;
        if (s[i] != ',') return -1;
        i = ct_json_skip_ws(s, n, i + 1);
    }
    size_t open = ct_json_skip_ws(s, n, pos);
    if (s[open] == '{') {
        if (i >= n || s[i] != '"') return -1;
        size_t ke = string_end(s, n, i);
        if (ke == BAD) return -1;
        if (key) *key = s + i + 1, *klen = ke - i - 2;
        i = ct_json_skip_ws(s, n, ke);
        if (i >= n || s[i] != ':') return -1;
        i++;
    } else if (key) {
        *key = NULL;
        *klen = 0;
    }
    i = ct_json_skip_ws(s, n, i);
    size_t e = ct_json_value_end(s, n, i);
    if (e == BAD) return -1;
    *vstart = i;
    *vend = e;
    *it = e;
    return 1;
}

int ct_json_find(const char *s, size_t n, size_t pos, const char *const *path, size_t depth,
                 ct_span *out)
{
    size_t cur = ct_json_skip_ws(s, n, pos);
    size_t cur_end = ct_json_value_end(s, n, cur);
    if (cur_end == BAD) return -1;
    for (size_t d = 0; d < depth; d++) {
        const char *want = path[d];
        int is_index = want[0] == '#';
        long idx = is_index ? strtol(want + 1, NULL, 10) : 0;
        if (cur >= n || s[cur] != (is_index ? '[' : '{')) return -1;
        size_t it = BAD, vs, ve, klen;
        const char *key;
        int r, found = 0;
        long k = 0;
        size_t wl = strlen(want);
        while ((r = next_member(s, n, cur, &it, &key, &klen, &vs, &ve)) == 1) {
            if (is_index ? k++ == idx : (klen == wl && memcmp(key, want, wl) == 0)) {
                found = 1;
                break;
            }
        }
        if (!found) return -1;
        cur = vs;
        cur_end = ve;
    }
    out->start = cur;
    out->end = cur_end;
    return 0;
}

long ct_json_array_spans(const char *s, size_t n, size_t pos, ct_span **out)
{
    *out = NULL;
    size_t i = ct_json_skip_ws(s, n, pos);
    if (i >= n || s[i] != '[') return -1;
    size_t it = BAD, vs, ve, cap = 0, cnt = 0;
    int r;
    ct_span *arr = NULL;
    while ((r = next_member(s, n, i, &it, NULL, NULL, &vs, &ve)) == 1) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            arr = ct_xrealloc(arr, cap * sizeof *arr);
        }
        arr[cnt].start = vs;
        arr[cnt].end = ve;
        cnt++;
    }
    if (r < 0) {
        free(arr);
        return -1;
    }
    *out = arr;
    return (long)cnt;
}

void ct_lines_build(ct_lines *li, const char *s, size_t n)
{
    size_t cap = 64, cnt = 0;
    size_t *st = ct_xmalloc(cap * sizeof *st);
    st[cnt++] = 0;
    const char *p = s, *end = s + n;
    while (p < end) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        if (!q) break;
        if (cnt == cap) {
            cap *= 2;
            st = ct_xrealloc(st, cap * sizeof *st);
        }
        st[cnt++] = (size_t)(q - s) + 1;
        p = q + 1;
    }
    li->starts = st;
    li->n = cnt;
}

void ct_lines_free(ct_lines *li)
{
    free(li->starts);
    li->starts = NULL;
    li->n = 0;
}

int ct_lines_of(const ct_lines *li, size_t off)
{
    size_t lo = 0, hi = li->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (li->starts[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return (int)lo + 1;
}

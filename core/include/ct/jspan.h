/* ct/jspan.h — byte ranges of JSON values in raw text.
 *
 * jansson parses values but does not say where they stood in the file. Editors need that (a
 * diagnostic sits on the step's own object), so loaders use this small scanner alongside the
 * parse: it walks the same bytes without building anything and reports [start, end) offsets.
 * It tolerates anything jansson accepted; on malformed text it stops and reports failure.
 *
 * Ownership: nothing is allocated except the output arrays, which the caller frees(). */
#ifndef CT_JSPAN_H
#define CT_JSPAN_H

#include <stddef.h>

typedef struct ct_span {
    size_t start; /* offset of the value's first byte */
    size_t end;   /* one past its last byte */
} ct_span;

/* Skip whitespace from pos; return the new position. */
size_t ct_json_skip_ws(const char *s, size_t n, size_t pos);
/* Return the end offset of the JSON value starting at pos (after whitespace), or (size_t)-1. */
size_t ct_json_value_end(const char *s, size_t n, size_t pos);

/* Find the value at a path below the value at `pos`. The path is a sequence of object keys and
 * array indexes written as "key", "#3" (array index 3): e.g. {"info", "submission"} or
 * {"trajectory"}. Returns 0 and fills *out on success, -1 when absent or malformed. */
int ct_json_find(const char *s, size_t n, size_t pos, const char *const *path, size_t depth,
                 ct_span *out);

/* Spans of every element of the array whose value starts at `pos`. *out is malloc'd (caller
 * frees); returns the element count or -1 when the value is not an array / malformed. */
long ct_json_array_spans(const char *s, size_t n, size_t pos, ct_span **out);

/* Line index: 1-based line numbers for byte offsets. */
typedef struct ct_lines {
    size_t *starts; /* offset of the first byte of each line */
    size_t n;
} ct_lines;
void ct_lines_build(ct_lines *li, const char *s, size_t n);
void ct_lines_free(ct_lines *li);
/* 1-based line containing byte offset off. */
int ct_lines_of(const ct_lines *li, size_t off);

#endif

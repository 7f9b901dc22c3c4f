/* libFuzzer target for the JSON span scanner: every function on arbitrary bytes, and when
 * jansson accepts the bytes the scanner must agree on where the top-level value ends. */
#include "ct/jspan.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t end = ct_json_value_end(s, size, 0);
    if (end != (size_t)-1 && end > size) abort();

    ct_span *spans = NULL;
    long n = ct_json_array_spans(s, size, 0, &spans);
    for (long i = 0; i < n; i++)
        if (spans[i].start > spans[i].end || spans[i].end > size) abort();
    free(spans);

    static const char *const path[] = {"trajectory", "#1", "action"};
    ct_span sp;
    if (ct_json_find(s, size, 0, path, 3, &sp) == 0 && (sp.start > sp.end || sp.end > size))
        abort();
    static const char *const path2[] = {"#0"};
    if (ct_json_find(s, size, 0, path2, 1, &sp) == 0 && (sp.start > sp.end || sp.end > size))
        abort();

    ct_lines li;
    ct_lines_build(&li, s, size);
    if (size) {
        int line = ct_lines_of(&li, size - 1);
        if (line < 1 || (size_t)line > li.n) abort();
    }
    ct_lines_free(&li);

    /* Where jansson parses a whole document, the scanner must find its end too. */
    json_error_t je;
    json_t *v = json_loadb(s, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (v) {
        if (end == (size_t)-1) abort();
        /* jansson stops at a raw NUL byte as at the end of input; so must the check */
        size_t after = ct_json_skip_ws(s, size, end);
        if (after != size && s[after] != '\0') abort();
        json_decref(v);
    }
    return 0;
}

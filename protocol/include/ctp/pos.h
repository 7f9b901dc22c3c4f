/* ctp/pos.h — the one place that converts between byte offsets and LSP positions.
 *
 * An LSP position is (line, character) where `character` counts code units of the negotiated
 * encoding: UTF-16 units by default, bytes when the client accepted "utf-8", code points for
 * "utf-32". Lines end at "\n", "\r\n" or "\r" (LSP's definition). Bytes that are not valid
 * UTF-8 count as one unit each (what an editor shows as U+FFFD). A position past the end of a
 * line means the end of that line; a line past the end of the text means the end of the text.
 *
 * Ownership: a ct_text borrows the bytes it indexes (they must outlive it) and owns its line
 * table (ct_text_free). */
#ifndef CTP_POS_H
#define CTP_POS_H

#include <stddef.h>

typedef enum { CT_POS_UTF16 = 0, CT_POS_UTF8 = 1, CT_POS_UTF32 = 2 } ct_pos_enc;

/* "utf-16", "utf-8", "utf-32". */
const char *ct_pos_enc_name(ct_pos_enc e);

typedef struct ct_text {
    const char *s;
    size_t n;
    size_t *starts; /* byte offset of the first byte of each line */
    size_t n_lines; /* >= 1 */
} ct_text;

typedef struct ct_lsp_pos {
    long line;
    long character;
} ct_lsp_pos;

void ct_text_init(ct_text *t, const char *s, size_t n);
void ct_text_free(ct_text *t);
/* End of line `line`'s content (before its line break), clamped. */
size_t ct_text_line_end(const ct_text *t, long line);

/* Byte offset → position (an offset inside a multi-byte character maps to its start). */
ct_lsp_pos ct_pos_from_byte(const ct_text *t, size_t off, ct_pos_enc enc);
/* Position → byte offset (clamped as described above; never splits a character). */
size_t ct_pos_to_byte(const ct_text *t, ct_lsp_pos p, ct_pos_enc enc);

/* Units of `enc` in s[0..n). */
size_t ct_pos_units(const char *s, size_t n, ct_pos_enc enc);

#endif

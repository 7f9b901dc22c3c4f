/* ct/spans.h — edits on source code: tree-sitter documents, definitions, where an edit's text
 * stands in today's file, container-path mapping, and the "syntax broken by the step" check.
 *
 * Positions: byte offsets are [start, end) into the UTF-8 text; lines are 0-based and columns
 * are 0-based BYTE columns (the daemon converts to UTF-16 for LSP). CRLF files count "\r\n" as
 * one line break; the '\r' belongs to the line.
 *
 * Ownership: a ct_spans_doc owns a copy of its text and its tree; free it with
 * ct_spans_doc_free. A ct_edit_place array is owned by the caller (ct_spans_places_free). Every
 * other value is a plain struct the caller owns. A ct_spans_doc is not thread-safe; distinct
 * documents may be used from distinct threads. */
#ifndef CT_SPANS_H
#define CT_SPANS_H

#include "ct/edits.h"
#include "ct/error.h"
#include "ct/trajectory.h"

#include <stddef.h>

/* Largest source text parsed or searched (bigger files are refused with CT_ELIMIT). */
#define CT_SPANS_MAX_FILE (16u << 20)

/* ---- languages ---------------------------------------------------------------------------- */

/* The grammar name for a file name ("python", "tsx", "cpp", ...), NULL when none applies. */
const char *ct_spans_lang_for_path(const char *path);
/* Compiled-in grammars: count and i-th name. */
size_t ct_spans_lang_count(void);
const char *ct_spans_lang_name(size_t i);
/* ts_language_version() of a compiled grammar (0 when unknown), and 1 when the runtime accepts
 * it (13 <= abi <= TREE_SITTER_LANGUAGE_VERSION). */
int ct_spans_lang_abi(const char *lang);
int ct_spans_lang_ok(const char *lang, ct_error *err);

/* ---- documents ---------------------------------------------------------------------------- */

typedef struct ct_span {
    size_t byte_start, byte_end;
    int line_start, col_start; /* 0-based line, 0-based byte column */
    int line_end, col_end;
} ct_span;

typedef struct ct_span_def {
    const char *kind; /* "function", "method", "class" (static) */
    char name[128];   /* the definition's name as written (truncated) */
    ct_span span;     /* the whole definition */
} ct_span_def;

typedef struct ct_spans_doc ct_spans_doc;

/* Parse text (copied) with the grammar `lang`: one parse per document version. */
int ct_spans_doc_open(const char *lang, const char *text, size_t len, ct_spans_doc **out,
                      ct_error *err);
/* Replace bytes [start, old_end) by new_text and re-parse incrementally (ts_tree_edit + the old
 * tree), as the daemon does on didChange. */
int ct_spans_doc_edit(ct_spans_doc *d, size_t start, size_t old_end, const char *new_text,
                      size_t new_len, ct_error *err);
/* A copy for another thread: the text, its tree (ts_tree_copy, O(1)) and its definitions. The
 * copy parses (with its own parser) only if it is edited. NULL when d is NULL. */
ct_spans_doc *ct_spans_doc_clone(const ct_spans_doc *d);
const char *ct_spans_doc_text(const ct_spans_doc *d, size_t *len);
const char *ct_spans_doc_lang(const ct_spans_doc *d);
void ct_spans_doc_free(ct_spans_doc *d);
/* The innermost definition (per grammars/queries/<lang>.scm) enclosing [start, end): 1 when
 * found (out filled), 0 when none. */
int ct_spans_doc_enclosing(ct_spans_doc *d, size_t start, size_t end, ct_span_def *out);
/* ERROR and MISSING nodes overlapping [start, end) (end == start: at that point). */
size_t ct_spans_doc_errors(ct_spans_doc *d, size_t start, size_t end);

/* Fill span's line/column fields from its byte offsets in text. */
void ct_spans_fill_lines(const char *text, size_t len, ct_span *span);

/* ---- where a text stands now -------------------------------------------------------------- */

typedef enum {
    CT_MATCH_NONE = 0,   /* "moved on": not in the file any more */
    CT_MATCH_EXACT,      /* byte for byte */
    CT_MATCH_WHITESPACE, /* equal once runs of whitespace (and CR) are ignored */
    CT_MATCH_FUZZY,      /* most of its lines, in order, within a window */
} ct_match_kind;

const char *ct_match_kind_name(ct_match_kind k); /* "exact", "whitespace", "fuzzy", "moved_on" */

typedef struct ct_span_match {
    ct_match_kind kind;
    ct_span span;
    size_t n_exact; /* how many exact occurrences there were (the one nearest hint_line wins) */
    double score;   /* 1.0 exact/whitespace; fuzzy: share of the needle's lines found */
} ct_span_match;

/* Find needle in text. hint_line (1-based, 0 = none) picks among several exact occurrences.
 * Leading/trailing blank lines of the needle are ignored. Returns the match kind. */
ct_match_kind ct_spans_locate(const char *text, size_t len, const char *needle, size_t nlen,
                              long hint_line, ct_span_match *out);

/* ---- paths -------------------------------------------------------------------------------- */

typedef struct ct_path_map {
    const char *from; /* agent-side prefix, e.g. "/testbed" */
    const char *to;   /* local directory */
} ct_path_map;

/* Detect the container root of a run: for each absolute agent path, the prefix whose removal
 * leaves the longest suffix that exists under workspace; the most frequent prefix wins
 * ("/testbed", "/workspace/django", "" when paths are already relative). CT_ENOTFOUND when no
 * path exists under the workspace. */
int ct_spans_detect_root(const char *workspace, const char *const *paths, size_t n, char *root,
                         size_t rootsz);
/* Map one agent path to a local file: explicit maps first (longest `from` prefix), then the
 * root (stripped, joined to workspace), then the path's longest existing suffix. Fills out and
 * returns CT_OK when the file exists, CT_ENOTFOUND when it does not (out = where it would be),
 * CT_EINVAL when it cannot be mapped (relative path escaping with "..", too long). */
int ct_spans_map_path(const char *workspace, const char *root, const ct_path_map *maps,
                      size_t n_maps, const char *agent_path, char *out, size_t outsz);

/* ---- edits onto today's files ------------------------------------------------------------- */

typedef struct ct_spans_opts {
    const char *workspace;   /* local root; NULL = current directory */
    const char *root;        /* container root; NULL = detect from the edits */
    const ct_path_map *maps; /* explicit mappings (may be NULL) */
    size_t n_maps;
    /* Text of an open editor buffer for a local file, NULL to read the disk. Borrowed. */
    const char *(*buffer)(void *ud, const char *file, size_t *len);
    void *ud;
    /* A parsed open document for a local file (its text and tree are used: no read, no parse),
     * NULL to fall back to `buffer` / the disk. Borrowed; asked before `buffer`. May be NULL. */
    ct_spans_doc *(*doc)(void *ud, const char *file);
    /* When not NULL: incremented once per file parsed from scratch during the call. */
    size_t *n_parsed;
} ct_spans_opts;

typedef struct ct_edit_place {
    const ct_edit *edit; /* borrowed from the list */
    const char *status;  /* "found", "moved_on", "file_missing", "unmapped", "not_reconstructed",
                            "deleted" (the run deleted the file), "removed" (the edit only
                            removed text: nothing to find), "too_large" (static) */
    char *file;          /* local path (NULL when unmapped) */
    const char *lang;    /* grammar name, NULL when none */
    ct_span_match match;
    int has_def;
    ct_span_def def; /* the enclosing definition when has_def */
} ct_edit_place;

/* Place every edit of the list. *out has edits->n entries. Files are read and parsed once each
 * (one ct_spans_doc per file); a file opts->doc answers for is neither read nor parsed. Returns
 * CT_OK, or an error when the workspace is unusable. The detected root is copied to root_out when
 * not NULL. */
int ct_spans_place_edits(const ct_edit_list *edits, const ct_spans_opts *opts, ct_edit_place **out,
                         char *root_out, size_t rootsz, ct_error *err);
void ct_spans_places_free(ct_edit_place *p, size_t n);

/* ---- syntax check ------------------------------------------------------------------------- */

typedef struct ct_syntax_regression {
    int regressed;        /* 1: the edited definition has ERROR/MISSING nodes, before had none */
    size_t errors_before; /* in the corresponding range of `before` */
    size_t errors_after;  /* in the edited definition (or the changed lines) of `after` */
    int has_def;
    ct_span_def def; /* the edited definition in `after` */
    ct_span changed; /* the changed bytes in `after` */
} ct_syntax_regression;

/* Compare a file before and after an edit. Returns 1 regressed, 0 not, or a negative CT_E* code
 * (CT_ENOTFOUND: no grammar for lang; CT_ELIMIT: too large). */
int ct_spans_syntax_regression(const char *lang, const char *before, size_t blen, const char *after,
                               size_t alen, ct_syntax_regression *out);

/* The heuristic rule "syntax broken by the step": replays the trajectory's edits in memory up to
 * and including step `step_id` (whole-file writes seed a file; later edits are applied to it)
 * and checks the step's edits with ct_spans_syntax_regression. When the file's full text is
 * unknown, the replaced and the new fragment are compared instead (old parses clean, new does
 * not). Returns 1 when the step broke syntax (why filled: "step 7 left a syntax error in
 * function parse (src/x.py, line 12)"), 0 when not or unknown. Cost: one pass over the steps
 * before it; use ct_spans_syntax_scan for a whole trajectory. */
int ct_spans_rule_syntax_broken(const ct_trajectory *t, int step_id, char *why, size_t why_sz);
/* One pass over the whole trajectory: broken[i] = 1 when step i+1 broke syntax (broken has
 * t->n_steps entries, caller-allocated, may be NULL); why (may be NULL, t->n_steps entries) gets
 * a malloc'd sentence for those steps and NULL for the others (the caller frees each). Returns
 * the number of such steps. */
size_t ct_spans_syntax_scan(const ct_trajectory *t, unsigned char *broken, char **why);

#endif

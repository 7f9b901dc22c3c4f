/* ctp/lsp.h — core values in LSP shapes (to_lsp_*): URIs, ranges of steps, diagnostics, and the
 * Markdown a hover or an "inspect step" shows.
 *
 * Ownership: json_t results are new references; `_new` arguments are stolen; char * results are
 * malloc'd (free()). Trajectories and analyses are borrowed. */
#ifndef CTP_LSP_H
#define CTP_LSP_H

#include "ct/analysis.h"
#include "ct/trajectory.h"
#include "ctp/pos.h"

#include <jansson.h>

enum { CT_LSP_ERROR = 1, CT_LSP_WARNING = 2, CT_LSP_INFORMATION = 3, CT_LSP_HINT = 4 };
enum { CT_LSP_TAG_UNNECESSARY = 1 };

/* "error" | "warning" | "information" | "hint" → 1..4; 0 for anything else. */
int ct_lsp_severity_from_name(const char *name);

/* file:// URI of an absolute path (percent-encoded). A relative path is made absolute against
 * the working directory. */
char *ct_lsp_uri_from_path(const char *path);
/* The path of a file:// URI (percent-decoded), NULL for other schemes or a malformed URI. */
char *ct_lsp_path_from_uri(const char *uri);

json_t *ct_lsp_position(ct_lsp_pos p);
/* {"start","end"} of the byte range [a, b) of t. */
json_t *ct_lsp_range(const ct_text *t, size_t a, size_t b, ct_pos_enc enc);
/* The byte span a step's source ref covers in t: the loader's byte range when it fits the text,
 * else its line range (whole lines). Returns 0, or -1 when the ref places nothing. */
int ct_lsp_src_span(const ct_text *t, const ct_source_ref *src, size_t *a, size_t *b);

typedef struct ct_lsp_diag_opts {
    int sev_incorrect;    /* severity of incorrect steps (default warning) */
    int sev_unuseful;     /* severity of unuseful steps (default hint) */
    const char *docs_url; /* base of codeDescription.href ("...rules.md"); NULL → none */
    int related;          /* 1 to include relatedInformation */
} ct_lsp_diag_opts;

/* Location ({uri, range}) of a step for relatedInformation, or NULL when it has none. */
typedef json_t *(*ct_lsp_locate_fn)(void *ud, const ct_step *s);

/* The diagnostic of one labelled step (NULL for a correct one): severity from opts, tag
 * Unnecessary for unuseful, source "codetracer", code = rule id, codeDescription, message,
 * relatedInformation = the evidence steps, data = {traj_id, step_id, label}. Steals range_new
 * (always). */
json_t *ct_lsp_diagnostic(const ct_trajectory *t, const ct_step_label *l, json_t *range_new,
                          const ct_lsp_diag_opts *opts, ct_lsp_locate_fn locate, void *ud);

/* Hover card of a step (kind, action, exit code, label, reasoning, root-cause chain, decision). */
char *ct_lsp_hover_markdown(const ct_trajectory *t, const ct_analysis *a, const ct_step *s);
/* Everything about a step (thought, action, observation, files, label) for "Inspect step N". */
char *ct_lsp_inspect_markdown(const ct_trajectory *t, const ct_analysis *a, const ct_step *s);
/* One line naming a step: "Step N · kind · first line of the action" (cut to `max` bytes). */
char *ct_lsp_step_title(const ct_step *s, size_t max);

#endif

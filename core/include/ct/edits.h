/* ct/edits.h — what each step did to which file, recovered from its edit payload.
 *
 * Sources, in order: the step's file touches (ct_file_touch: str_replace / Edit / MultiEdit,
 * create / Write, insert, SWE-agent ACI `edit A:B`, patches), and for steps without a writing
 * touch the shell command in step->action (`sed -i 's/a/b/' f`, `cat > f <<EOF`, `tee f <<EOF`,
 * `git apply` / `patch` / `apply_patch` with a here-document). What cannot be recovered is kept
 * as an edit with a `reason` saying why, never guessed.
 *
 * Ownership: a ct_edit_list owns every string of its edits (malloc'd copies: the list outlives
 * the trajectory); free it with ct_edits_free. `via` and `reason` are static strings. */
#ifndef CT_EDITS_H
#define CT_EDITS_H

#include "ct/error.h"
#include "ct/trajectory.h"

#include <stddef.h>

typedef struct ct_edit {
    int step_id;
    int touch;       /* index in step->files, -1 when parsed from step->action */
    char *path;      /* the file as the agent named it (inside its container); NULL when unknown */
    const char *via; /* "str_replace", "write", "append", "insert", "aci_edit", "patch",
                        "apply_patch", "sed", "heredoc", "tee", "delete" */
    char *old_text;  /* text it replaced, NULL when unknown or none */
    char *new_text;  /* text it left in the file (whole file when whole_file); NULL when unknown */
    int whole_file;  /* new_text is the whole file content */
    int literal;     /* old_text is literal (not a regex); 0 for sed patterns with metacharacters */
    long line_start; /* 1-based line the edit addressed at the time (ACI, insert, hunk), 0 = none */
    long line_end;
    const char *reason; /* NULL when reconstructed; otherwise why not (new_text is then NULL) */
} ct_edit;

typedef struct ct_edit_list {
    ct_edit *items;
    size_t n;
    size_t cap;
} ct_edit_list;

/* Limits on untrusted input: a payload longer than this is not copied (reason set). */
#define CT_EDITS_MAX_TEXT (8u << 20)

/* Append the edits of one step / of every step. Return CT_OK (steps with nothing to recover add
 * nothing; unreadable writes add an edit with a reason). */
int ct_edits_from_step(const ct_step *s, ct_edit_list *out);
int ct_edits_from_traj(const ct_trajectory *t, ct_edit_list *out, ct_error *err);
void ct_edits_free(ct_edit_list *l);

/* Parse a unified diff (git diff / diff -u) or an apply_patch body into one edit per hunk
 * (old = context + removed lines, new = context + added lines, line_start = new start line).
 * Appends to out with the given step id; returns the number of edits added. */
size_t ct_edits_parse_patch(const char *patch, int step_id, int touch, ct_edit_list *out);

/* Apply one reconstructed edit to a file's content in memory (the rule that replays a run).
 * Returns a new malloc'd string (and its length) or NULL when the edit cannot be applied
 * (old text not found or ambiguous, unknown payload). `content` may be NULL (file unknown):
 * only whole-file writes apply then. */
char *ct_edit_apply(const ct_edit *e, const char *content, size_t len, size_t *out_len);

#endif

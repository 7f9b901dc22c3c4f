/* ct/index.h — what each step does (classification), the change/explore tree (tree.md) and the
 * phases of a run (stages).
 *
 * Ownership: functions here read the trajectory and never keep pointers into it. Names returned
 * by ct_fine_kind_name are static strings. ct_stages_segment returns a malloc'd array the caller
 * frees with free(); the stage names in it are static strings. */
#ifndef CT_INDEX_H
#define CT_INDEX_H

#include "ct/analysis.h"
#include "ct/buf.h"
#include "ct/trajectory.h"

#include <stddef.h>

/* The two classes of the reference tool: does the step change state or only look? */
typedef enum { CT_CLASS_EXPLORE = 0, CT_CLASS_CHANGE = 1 } ct_step_class;

/* What the step does, finer than the class. */
typedef enum {
    CT_FINE_EXPLORE = 0, /* read, search, list, git status/diff/log, ... */
    CT_FINE_EDIT,        /* modify an existing file (str_replace, sed -i, patch, > redirect) */
    CT_FINE_CREATE,      /* write a whole new file (create tool, cat > f <<EOF, touch) */
    CT_FINE_FS,          /* mkdir/rm/mv/cp/chmod/ln: change the file tree */
    CT_FINE_RUN,         /* run code: python3 x.py, ./run.sh, node, a built binary */
    CT_FINE_TEST,        /* run tests: pytest, make test, go test, npm test, tox */
    CT_FINE_BUILD,       /* build: make, cmake, gcc, cargo build */
    CT_FINE_INSTALL,     /* pip/apt/npm/cargo install, conda, ... */
    CT_FINE_VCS,         /* git add/commit/checkout/reset/stash/apply (changes the repo) */
    CT_FINE_SUBMIT,      /* submit / finish / declare completion */
    CT_FINE_THINK,       /* a plan-only turn or a think tool */
    CT_FINE_OTHER,       /* cd, export, sleep, keystrokes we cannot interpret */
    CT_FINE__COUNT
} ct_fine_kind;

const char *ct_fine_kind_name(ct_fine_kind k);   /* "explore", "edit", ..., "other" */
const char *ct_step_class_name(ct_step_class c); /* "explore" or "change" */

/* Classify a step by what it means: its kind, its file touches and, for shell commands, a real
 * tokenisation (quotes, pipelines, &&/||/;, redirections, heredocs). `fine` may be NULL. */
ct_step_class ct_classify_step(const ct_step *s, ct_fine_kind *fine);
/* The same for a bare shell command line (used by ct_classify_step and tests). */
ct_step_class ct_classify_command(const char *cmd, ct_fine_kind *fine);

/* The first action line cut to 60 characters ("step N" when empty), as in the reference tree.
 * Writes into out (NUL-terminated, at most size-1 bytes) and returns out. */
const char *ct_step_summary(const ct_step *s, char *out, size_t size);

/* Append tree.md (the reference format: "root", then "[id] <summary> (change|explore)" lines with
 * ├── / └── connectors; change steps are children of the previous step, explore steps are its
 * siblings) to out. */
void ct_tree_render(const ct_trajectory *t, ct_buf *out);

/* Split the run into phases. Uses metadata "stage_ranges" ([{stage, start_step_id,
 * end_step_id}], as in a stage_ranges.json) when present and valid, else segments by the
 * classes of the steps (orient → locate → change → verify cycles). Returns 0 and a malloc'd
 * array in *out (NULL with *n = 0 for an empty trajectory), or a negative CT_E* code. Stages
 * cover steps 1..n_steps contiguously; a stage name is a static string, or points into t->metadata
 * (valid while t lives), or NULL. */
int ct_stages_segment(const ct_trajectory *t, ct_stage **out, size_t *n);

#endif

/* formats/common.h — helpers shared by the loaders (internal to core).
 *
 * Ownership: functions returning json_t give a new reference; ct_fmt_str borrows from the json
 * value. Raw file bytes stay in the caller's ct_buf so loaders can compute source spans. */
#ifndef CT_FORMATS_COMMON_H
#define CT_FORMATS_COMMON_H

#include "ct/buf.h"
#include "ct/fs.h"
#include "ct/jspan.h"
#include "ct/load.h"
#include "ct/trajectory.h"

#include <jansson.h>

/* Read `rel` into raw and parse it as JSON (any value; \u0000 allowed). LFS pointers fail with
 * CT_ELFS; invalid or truncated JSON fails with CT_EPARSE naming the file, line and byte. */
int ct_fmt_read_json(ct_fs *fs, const char *rel, ct_buf *raw, json_t **out, ct_error *err);
/* Read `rel` into raw; a Git LFS pointer fails with CT_ELFS (ct_error_lfs). The caller frees raw
 * whatever the result. */
int ct_fmt_read_data(ct_fs *fs, const char *rel, ct_buf *raw, ct_error *err);
/* Parse JSON from memory (display path for messages). */
json_t *ct_fmt_parse_json(const char *data, size_t len, const char *display, ct_error *err);
/* load.c: 1 when the load running on this thread was cancelled (ct_load_opts.cancel); the
 * parse above then fails with CT_ECANCELED. */
int ct__load_cancelled(void);
int ct__load_cancel_set(void); /* 1 when the load running on this thread has a cancel flag */

/* Borrowed string value of obj[key] (NULL when absent or not a string). */
const char *ct_fmt_str(json_t *obj, const char *key);
/* The string of a JSON string value keeping embedded NULs out: copies into t's arena
 * (NUL → U+FFFD). NULL when v is not a string. */
const char *ct_fmt_jstr(ct_trajectory *t, json_t *v);
/* Text of a "content" value that may be a string or a list of {type:text,text} blocks
 * (OpenAI / Anthropic style); concatenated with newlines into t's arena. NULL when none. */
const char *ct_fmt_content_text(ct_trajectory *t, json_t *v);

/* Set a source ref from a span of a file whose line index is li. */
void ct_fmt_set_src(ct_trajectory *t, ct_source_ref *ref, const char *display, const ct_lines *li,
                    size_t start, size_t end);

/* Sniff the first bytes of a file (up to 64 KiB) into buf. Returns 0 on success. */
int ct_fmt_head(ct_fs *fs, const char *rel, ct_buf *buf, size_t n);

/* terminal-bench v1 trial dir: fill task (instruction), solved (is_resolved), and metadata
 * (task_id, trial_name, failure_mode, parser_results) from <trial>/results.json when present. */
void ct_fmt_tb_trial_fill(ct_fs *fs, const char *trial_rel, ct_trajectory *t);
/* 1 when trial_rel looks like a tb trial dir (results.json with is_resolved or commands.txt). */
int ct_fmt_is_tb_trial(ct_fs *fs, const char *trial_rel);

/* Guess a step kind from a shell command (cat/head → read, grep/find → search, ...). */
ct_step_kind ct_fmt_kind_from_shell(const char *cmd);

/* ANSI-escape stripper for terminal recordings. Feed chunks in order: escape sequences split
 * across chunks are still removed. CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and
 * two-byte ESC sequences are dropped, and so are '\r' and other C0 controls except '\n' and
 * '\t'. Zero-initialise the state. */
typedef struct ct_ansi {
    int st;
    size_t len; /* bytes in the current escape (unterminated ones end after 4 KiB) */
} ct_ansi;
void ct_fmt_ansi_feed(ct_ansi *a, ct_buf *out, const char *s, size_t n);

/* Claude Code tool call (name + input object) → the step's tool, kind, action text and file
 * touches. Shared by the stream-json loader (claude_code.c) and the ATIF loader. */
void ct_fmt_claude_tool(ct_trajectory *t, ct_step *s, const char *name, json_t *input);
/* Exit code of a Claude Code tool result: "Exit code N" at the start of an error text, else 1
 * for errors and 0 otherwise. */
int ct_fmt_claude_exit_code(const char *text, int is_error);

/* Harbor trial dir: fill agent/model (when unset), reward/solved, exit_status and warnings
 * (exception_info / exception.txt) and metadata from <trial>/result.json, config.json and
 * verifier/reward.txt. Implemented in atif.c. */
void ct_fmt_harbor_trial_fill(ct_fs *fs, const char *trial_rel, ct_trajectory *t);
/* 1 when rel is a Harbor trial dir (result.json or config.json, plus agent/). */
int ct_fmt_is_harbor_trial(ct_fs *fs, const char *rel);

#endif

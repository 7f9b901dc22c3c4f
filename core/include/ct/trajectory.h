/* ct/trajectory.h — the trajectory model every other module works on.
 *
 * Ownership: a ct_trajectory owns everything reachable from it. All its strings live in its
 * arena (allocate them with ct_traj_strdup / ct_traj_strndup / ct_traj_printf) and are freed
 * together by ct_traj_free; never free() one of them alone. `metadata` is a jansson object the
 * trajectory holds one reference to. A ct_traj_list owns its trajectories.
 *
 * Numbering: `step_id` is 1-based and contiguous in every trajectory. `bench_step_id` is the
 * numbering CodeTraceBench uses for the same step (0 = the benchmark does not count this step,
 * printed as null); for most formats it equals step_id. */
#ifndef CT_TRAJECTORY_H
#define CT_TRAJECTORY_H

#include <jansson.h>
#include <stddef.h>

typedef enum {
    CT_KIND_BASH = 0, /* a shell command (or keystrokes) */
    CT_KIND_EDIT,     /* modify an existing file (str_replace, ACI edit, patch, ...) */
    CT_KIND_CREATE,   /* write a whole file */
    CT_KIND_READ,     /* view/open/cat a file through a tool */
    CT_KIND_SEARCH,   /* grep/find/glob through a tool */
    CT_KIND_SUBMIT,   /* submit / finish / declare completion */
    CT_KIND_THINK,    /* a thinking tool or a plan-only turn */
    CT_KIND_OTHER,
    CT_KIND__COUNT
} ct_step_kind;

const char *ct_step_kind_name(ct_step_kind k);
/* Returns CT_KIND_OTHER for unknown names. */
ct_step_kind ct_step_kind_from_name(const char *name);

typedef enum { CT_UNKNOWN = -1, CT_FALSE = 0, CT_TRUE = 1 } ct_tristate;

/* Where a piece of a step came from in the raw files. */
typedef struct ct_source_ref {
    const char *path;  /* display path of the raw file (NULL when unknown) */
    size_t byte_start; /* [byte_start, byte_end) in that file */
    size_t byte_end;
    int line_start; /* 1-based, inclusive; 0 when unknown */
    int line_end;
} ct_source_ref;

/* A file a step touched, with the edit payload when the format has one. Unused fields NULL. */
typedef struct ct_file_touch {
    const char *path; /* path as the agent saw it (inside its container) */
    const char *op;   /* "str_replace", "create", "insert", "write", "aci_edit", "patch", "view",
                         "undo_edit", ... */
    const char *old_text; /* replaced text (str_replace, Edit) */
    const char *new_text; /* replacement or inserted text */
    const char *content;  /* whole written content (create / Write) */
    const char *patch;    /* unified diff text */
    long line_start;      /* ACI `edit A:B` / insert line / view range; 0 when none */
    long line_end;
} ct_file_touch;

typedef struct ct_step {
    int step_id;
    int bench_step_id;
    ct_step_kind kind;
    const char
        *tool; /* tool name as the agent named it ("bash", "Edit", "str_replace_editor", ...) */
    const char *action;      /* exact action text (never NULL; "" when none) */
    const char *thought;     /* reasoning before the action, NULL when none */
    const char *observation; /* what came back, NULL when unknown / killed */
    int has_exit_code;
    int exit_code;
    ct_file_touch *files;
    size_t n_files;
    int parallel_group; /* 0 = none; same value for calls issued in one turn */
    const char *timestamp;
    ct_source_ref src;     /* the action's raw range */
    ct_source_ref obs_src; /* the observation's raw range (path NULL when none / same object) */
} ct_step;

typedef struct ct_arena ct_arena;

typedef struct ct_trajectory {
    const char *id;             /* addressable id: the path, or PATH#K for the K-th of several */
    const char *path;           /* the file or directory it was loaded from (display path) */
    const char *format;         /* loader name, e.g. "mini-swe-agent" */
    const char *format_version; /* e.g. "mini-swe-agent-1.1", "0.x", NULL when n/a */
    const char *agent;          /* e.g. "mini-SWE-agent", "OpenHands", "Claude Code" */
    const char *model;          /* NULL when unknown */
    const char *task;           /* task statement, NULL when unknown */
    ct_tristate solved;
    int has_reward;
    double reward;
    const char *exit_status; /* agent's own exit status string, NULL when unknown */
    int has_agent_exit_code;
    int agent_exit_code;
    const char *final_patch; /* submitted diff, NULL when the format has none */
    json_t *metadata;        /* object, never NULL */
    ct_step *steps;
    size_t n_steps;
    size_t cap_steps;
    const char **warnings; /* things a user should know: killed run, truncated data, ... */
    size_t n_warnings;
    size_t cap_warnings;
    ct_arena *arena;
} ct_trajectory;

ct_trajectory *ct_traj_new(const char *format, const char *path);
void ct_traj_free(ct_trajectory *t);

/* Arena strings owned by t. NULL in → NULL out for strdup. */
const char *ct_traj_strdup(ct_trajectory *t, const char *s);
const char *ct_traj_strndup(ct_trajectory *t, const char *s, size_t n);
const char *ct_traj_printf(ct_trajectory *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Arena memory for arrays owned by t (zeroed). */
void *ct_traj_alloc(ct_trajectory *t, size_t n);

/* Append a zeroed step with the next step_id (and bench_step_id = step_id); action = "". The
 * returned pointer is valid until the next ct_traj_add_step. */
ct_step *ct_traj_add_step(ct_trajectory *t);
/* Add a file touch to a step (storage from the arena). Returns the zeroed touch. */
ct_file_touch *ct_step_add_file(ct_trajectory *t, ct_step *s);
void ct_traj_warn(ct_trajectory *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Renumber step_id 1..n (after a loader removed or reordered steps). */
void ct_traj_renumber(ct_trajectory *t);
ct_step *ct_traj_step(ct_trajectory *t, int step_id); /* NULL when out of range */

/* The step as a JSON object with the fields of the model (new reference). */
json_t *ct_step_to_json(const ct_step *s);
/* The trajectory (with its steps when with_steps) as JSON (new reference). */
json_t *ct_traj_to_json(const ct_trajectory *t, int with_steps);

typedef struct ct_traj_list {
    ct_trajectory **items;
    size_t n;
    size_t cap;
} ct_traj_list;

void ct_traj_list_push(ct_traj_list *l, ct_trajectory *t); /* takes ownership */
void ct_traj_list_free(ct_traj_list *l);                   /* frees the items and the array */

#endif

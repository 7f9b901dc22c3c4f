/* formats/agent_steps.h — step builders shared by the OpenHands, Terminus and CodeTraceBench
 * loaders (internal to core).
 *
 * CodeTraceBench's normalised layout embeds the raw OpenHands events and Terminus response /
 * prompt files in steps.json; these functions turn such raw pieces into model steps so every
 * container of the same agent yields the same step.
 *
 * Ownership: json values are borrowed; every string set on a step lives in t's arena. */
#ifndef CT_FORMATS_AGENT_STEPS_H
#define CT_FORMATS_AGENT_STEPS_H

#include "common.h"

/* 1 when the OpenHands event (current schema) is an agent action that is a step: run,
 * run_ipython, edit, read, write, browse*, think, finish, mcp, delegate... (not message,
 * system, recall, state changes, condensation). */
int ct_openhands_is_step(json_t *ev);
/* Append the step for an OpenHands action event (current schema): kind, tool, action text,
 * thought, file touches, timestamp. bench_step_id counts only run/run_ipython actions through
 * *n_run (1, 2, ...), 0 for the others. Returns the new step. */
ct_step *ct_openhands_add_step(ct_trajectory *t, json_t *ev, int *n_run);
/* Set the observation text and exit code of s from an OpenHands observation event. */
void ct_openhands_set_observation(ct_trajectory *t, ct_step *s, json_t *obs);

/* Fill s from the text of a Terminus (1 or 2) response.txt: action = the keystrokes, thought =
 * analysis/plan, kind from the keystrokes. Prose-wrapped or fenced JSON is extracted; text that
 * holds no JSON object is kept raw as the action. `where` names the file in warnings. */
void ct_terminus_fill_step(ct_trajectory *t, ct_step *s, const char *text, size_t len,
                           const char *where);
/* The observation part of a Terminus prompt.txt: what follows "New Terminal Output:", or the
 * whole prompt when the marker is absent. Arena string. */
const char *ct_terminus_observation(ct_trajectory *t, const char *text, size_t len);

#endif

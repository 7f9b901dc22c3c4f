/* ct/heuristic.h — the offline analyzer: labels every step from rules over the trajectory (no
 * network, no model). Thresholds and rule switches come from the `heuristic:` section of the
 * configuration (config/default.yaml).
 *
 * Ownership: *out is a new ct_analysis the caller frees with ct_analysis_free; t and config are
 * borrowed. */
#ifndef CT_HEURISTIC_H
#define CT_HEURISTIC_H

#include "ct/analysis.h"
#include "ct/error.h"
#include "ct/trajectory.h"

#include <jansson.h>

/* Label each step of t (incorrect / unuseful / correct with a rule id, a reasoning citing step
 * numbers, evidence step ids and the rl fields), and fill the root-cause chain, decision points,
 * correct strategy, summary and stages. config may be NULL (built-in defaults). Returns 0, or a
 * negative CT_E* code with err set. */
int ct_analyze_heuristic(const ct_trajectory *t, const json_t *config, ct_analysis **out,
                         ct_error *err);

/* The rule ids this analyzer can emit, NULL-terminated (static). */
const char *const *ct_heuristic_rule_ids(void);

#endif

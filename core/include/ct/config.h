/* ct/config.h — configuration as a JSON tree: the built-in defaults (config/default.yaml,
 * embedded at build time), YAML files deep-merged over them, and typed getters by dotted path.
 *
 * Ownership: functions returning json_t * give a new reference the caller releases with
 * json_decref. Getters borrow the config and never fail: a missing key or a value of the wrong
 * type gives the default. ct_config_str returns a string owned by the config (valid while the
 * config lives) or `def`. */
#ifndef CT_CONFIG_H
#define CT_CONFIG_H

#include "ct/error.h"

#include <jansson.h>

/* Parse a YAML file into JSON (mappings → objects, sequences → arrays, plain scalars → null,
 * bool, integer, real or string as in YAML 1.2 core; quoted scalars stay strings). NULL with err
 * set (file, line, what was expected) on a read or parse error. Limits: 16 MiB, depth 64. */
json_t *ct_config_load_yaml(const char *path, ct_error *err);
/* Same from memory; `name` is used in error messages. */
json_t *ct_config_parse_yaml(const char *text, size_t len, const char *name, ct_error *err);

/* The built-in defaults (config/default.yaml), a new reference. Never NULL. */
json_t *ct_config_defaults(void);
/* The embedded default.yaml text (static). */
const char *ct_config_default_yaml(void);

/* Deep-merge `over` into `base` in place: objects merge recursively, everything else replaces.
 * Borrows `over`. Returns 0, or CT_EINVAL when base is not an object. */
int ct_config_merge(json_t *base, const json_t *over);

/* Defaults merged with the YAML file at `path` (NULL → defaults only). NULL with err set. */
json_t *ct_config_load(const char *path, ct_error *err);

/* Value at a dotted path ("heuristic.repeat.min_repeats"); NULL when absent. Borrowed. */
const json_t *ct_config_get(const json_t *cfg, const char *dotted);
long long ct_config_int(const json_t *cfg, const char *dotted, long long def);
double ct_config_double(const json_t *cfg, const char *dotted, double def);
int ct_config_bool(const json_t *cfg, const char *dotted, int def);
const char *ct_config_str(const json_t *cfg, const char *dotted, const char *def);

#endif

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

/* --- Layered loading (issue 8) -----------------------------------------------------------------
 * Precedence, lowest first: built-in defaults < the user file
 * $XDG_CONFIG_HOME/codetracer/config.yaml
 * (~/.config/codetracer/config.yaml when XDG_CONFIG_HOME is unset; skipped when absent) < the file
 * given with --config (`explicit_path`, may be NULL) < the environment (ct_config_apply_env) <
 * command-line flags (the caller sets them with ct_config_set afterwards). A user file that exists
 * but does not parse is an error, like the explicit one. Returns a new reference or NULL. */
json_t *ct_config_load_layered(const char *explicit_path, ct_error *err);
/* The user configuration path into buf ("" when neither XDG_CONFIG_HOME nor HOME is set). */
const char *ct_config_user_path(char *buf, size_t size);
/* Apply the environment over cfg: llm.api_base from CODETRACER_API_BASE, else OPENAI_BASE_URL,
 * else OPENAI_API_BASE; llm.api_key from CODETRACER_API_KEY, else OPENAI_API_KEY; llm.model_name
 * from CODETRACER_MODEL, else OPENAI_MODEL. Empty variables are ignored. Returns 0. */
int ct_config_apply_env(json_t *cfg);
/* Set the value at a dotted path, creating intermediate objects; steals `value`. 0 or CT_EINVAL. */
int ct_config_set(json_t *cfg, const char *dotted, json_t *value);
/* A deep copy of cfg in which every secret (keys named api_key, *_key, *token*, *secret*,
 * password) that is a non-empty string is replaced by "<redacted>". For dumps and logs. */
json_t *ct_config_redacted(const json_t *cfg);

#endif

/* prices.c — the LLM price table (config/prices.yaml, embedded) and the budget estimate. */
#include "ct/buf.h"
#include "ct/config.h"
#include "ct/llm.h"

#include <ctype.h>
#include <stdlib.h>
#include <fnmatch.h>
#include <string.h>

extern const unsigned char ct__prices_yaml[];
extern const size_t ct__prices_yaml_len;

const char *ct_llm_prices_yaml(void)
{
    return (const char *)ct__prices_yaml;
}

/* Check the shape once, so lookups can trust it. */
static int check_table(const json_t *t, const char *name, ct_error *err)
{
    const json_t *models = json_is_object(t) ? json_object_get(t, "models") : NULL;
    if (!json_is_array(models))
        return ct_error_setf(err, CT_EPARSE, name, -1, 0,
                             "expected a mapping with a `models` list of {match, input, output}");
    size_t i;
    const json_t *m;
    json_array_foreach(models, i, m)
    {
        const json_t *match = json_object_get(m, "match");
        const json_t *in = json_object_get(m, "input");
        const json_t *out = json_object_get(m, "output");
        if (!json_is_string(match) || !json_is_number(in) || !json_is_number(out) ||
            json_number_value(in) < 0 || json_number_value(out) < 0)
            return ct_error_setf(err, CT_EPARSE, name, -1, 0,
                                 "models[%zu]: expected {match: glob, input: USD per 1M tokens "
                                 "(>= 0), output: USD per 1M tokens (>= 0)}",
                                 i);
    }
    return 0;
}

json_t *ct_llm_prices_load(const char *path, ct_error *err)
{
    json_t *t;
    const char *name = path && *path ? path : "config/prices.yaml (built in)";
    if (path && *path)
        t = ct_config_load_yaml(path, err);
    else
        t = ct_config_parse_yaml(ct_llm_prices_yaml(), ct__prices_yaml_len, name, err);
    if (!t) return NULL;
    if (check_table(t, name, err) != 0) {
        json_decref(t);
        return NULL;
    }
    return t;
}

int ct_llm_price_lookup(const json_t *table, const char *model, ct_llm_price *out)
{
    if (!table || !model || !*model) return 0;
    char name[256];
    const char *slash = strrchr(model, '/');
    const char *m = slash && slash[1] ? slash + 1 : model; /* "openai/gpt-4o" → "gpt-4o" */
    size_t n = strlen(m);
    if (n >= sizeof name) n = sizeof name - 1;
    for (size_t i = 0; i < n; i++)
        name[i] = (char)tolower((unsigned char)m[i]);
    name[n] = 0;
    const json_t *models = json_object_get(table, "models");
    size_t i;
    const json_t *e;
    json_array_foreach(models, i, e)
    {
        const char *pat = json_string_value(json_object_get(e, "match"));
        if (pat && fnmatch(pat, name, 0) == 0) {
            out->input = json_number_value(json_object_get(e, "input"));
            out->output = json_number_value(json_object_get(e, "output"));
            return 1;
        }
    }
    return 0;
}

double ct_llm_cost(const ct_llm_price *p, long long prompt_tokens, long long completion_tokens)
{
    if (!p) return 0;
    return ((double)prompt_tokens * p->input + (double)completion_tokens * p->output) / 1e6;
}

long long ct_llm_estimate_prompt_tokens(const ct_llm_request *req)
{
    size_t bytes = 0;
    if (req->messages) {
        char *s = json_dumps(req->messages, JSON_COMPACT);
        bytes += s ? strlen(s) : 0;
        free(s);
    }
    if (req->tools) {
        char *s = json_dumps(req->tools, JSON_COMPACT);
        bytes += s ? strlen(s) : 0;
        free(s);
    }
    return (long long)((bytes + 3) / 4);
}

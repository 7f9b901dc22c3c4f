/* The loader table. Order matters only for ties in detection scores: more specific formats
 * first. Each loader lives in its own file in this folder. */
#include "ct/load.h"

#include <string.h>

extern const ct_loader ct_loader_ctb;
extern const ct_loader ct_loader_step_jsonl;
extern const ct_loader ct_loader_atif;
extern const ct_loader ct_loader_terminus;
extern const ct_loader ct_loader_mini_swe;
extern const ct_loader ct_loader_openhands;
extern const ct_loader ct_loader_swe_agent;
extern const ct_loader ct_loader_claude_code;
extern const ct_loader ct_loader_codex;
extern const ct_loader ct_loader_oneshot;
extern const ct_loader ct_loader_mini_log;
extern const ct_loader ct_loader_tb_trial;

static const ct_loader *const all[] = {
    &ct_loader_ctb,      &ct_loader_step_jsonl, &ct_loader_atif,      &ct_loader_terminus,
    &ct_loader_mini_swe, &ct_loader_openhands,  &ct_loader_swe_agent, &ct_loader_claude_code,
    &ct_loader_codex,    &ct_loader_oneshot,    &ct_loader_mini_log,  &ct_loader_tb_trial,
};

const ct_loader *const *ct_loaders(size_t *n)
{
    *n = sizeof all / sizeof all[0];
    return all;
}

const ct_loader *ct_loader_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}

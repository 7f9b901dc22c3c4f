#include "cli.h"

#include <string.h>

int cmd_formats(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: codetracer formats [--json]\n\n"
                   "List the trajectory formats codetracer reads (the loader names accepted by\n"
                   "`inspect --format`), the agent each usually comes from, what it reads and how "
                   "it is\n"
                   "detected, in the order discovery tries them.\n"
                   "  --json   one JSON object per format per line: name, agent, summary, "
                   "detection\n");
            return CT_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            fprintf(stderr, "codetracer formats: unknown option '%s'\n", argv[i]);
            return CT_EXIT_USAGE;
        }
    }
    size_t n;
    const ct_loader *const *ls = ct_loaders(&n);
    for (size_t i = 0; i < n; i++) {
        if (json) {
            json_t *o =
                json_pack("{s:s, s:s, s:s, s:s}", "name", ls[i]->name, "agent", ls[i]->agent,
                          "summary", ls[i]->summary, "detection", ls[i]->detection);
            char *s = json_dumps(o, JSON_COMPACT);
            puts(s);
            free(s);
            json_decref(o);
        } else {
            printf("%-22s %s\n%-22s   reads: %s\n%-22s   detected by: %s\n", ls[i]->name,
                   ls[i]->agent, "", ls[i]->summary, "", ls[i]->detection);
        }
    }
    return CT_EXIT_OK;
}

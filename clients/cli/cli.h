/* cli.h — shared pieces of the `codetracer` command.
 *
 * Each verb lives in its own cmd_<verb>.c and is listed in main.c's table. A verb gets argv with
 * argv[0] = the verb name and returns the process exit status (see docs/cli.md):
 *   0 success (whatever labels an analysis found) · 2 usage error · 3 input could not be loaded
 *   · 4 output could not be written · 5 internal error · 6 partly done: some items of a batch
 *   (or roots of a directory) failed while others succeeded. */
#ifndef CT_CLI_H
#define CT_CLI_H

#include "ct/agent.h"
#include "ct/error.h"
#include "ct/load.h"

#include <stdio.h>

enum {
    CT_EXIT_OK = 0,
    CT_EXIT_USAGE = 2,
    CT_EXIT_INPUT = 3,
    CT_EXIT_OUTPUT = 4,
    CT_EXIT_INTERNAL = 5,
    CT_EXIT_PARTIAL = 6,
};

typedef struct ct_verb {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} ct_verb;

/* Print "codetracer: <formatted error>" to stderr. */
void cli_print_error(const ct_error *err);
/* Warn callback for ct_load_path: prints "codetracer: warning: ..." to stderr. */
void cli_warn(void *ud, const ct_error *err);
/* 1 when colour should be used on `f` (a TTY and NO_COLOR unset). */
int cli_use_color(FILE *f);
/* Map a CT_E* code to an exit status. */
int cli_exit_for(int code);
/* Progress of the LLM agent on stderr (turns, commands, compaction, budget, the end). */
void cli_agent_event(void *ud, ct_agent_event_kind k, int step, int code, const char *text);
/* 1 when argv[i] is -h/--help. */
int cli_is_help(const char *arg);

#endif

/* codetracer — the command-line entry point: a table of verbs. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_discover(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_formats(int argc, char **argv);
int cmd_feedback(int argc, char **argv);
int cmd_memory(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_edits(int argc, char **argv);
int cmd_llm(int argc, char **argv);

static const ct_verb verbs[] = {
    {"analyze", "label each step incorrect/unuseful/correct and write the profile files",
     cmd_analyze},
    {"run", "normalize, tree, analyze and report in one go (Step 1/4..4/4)", cmd_run},
    {"inspect", "show the steps of a trajectory", cmd_inspect},
    {"discover", "find every trajectory below a path (dirs, archives)", cmd_discover},
    {"formats", "list the supported formats and how each is detected", cmd_formats},
    {"eval", "score predicted labels against a CodeTraceBench manifest (P/R/F1, kappa)", cmd_eval},
    {"batch", "analyse every row of a manifest in parallel (also as codetracer-batch)", cmd_batch},
    {"feedback", "mark a step's label as correct, incorrect or unuseful", cmd_feedback},
    {"memory", "see and curate the memory: insights, cache, feedback export", cmd_memory},
    {"edits", "reconstruct each edit and show where it stands in today's files", cmd_edits},
    {"serve", "run the editor daemon (LSP over stdio; see docs/protocol.md)", cmd_serve},
    {"llm", "check the LLM endpoint, show LLM settings and prices (docs/llm.md)", cmd_llm},
};

void cli_print_error(const ct_error *err)
{
    char buf[2048];
    fprintf(stderr, "codetracer: %s\n", ct_error_format(err, buf, sizeof buf));
}

void cli_warn(void *ud, const ct_error *err)
{
    (void)ud;
    char buf[2048];
    fprintf(stderr, "codetracer: warning: %s\n", ct_error_format(err, buf, sizeof buf));
}

int cli_use_color(FILE *f)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc) return 0;
    return isatty(fileno(f));
}

int cli_exit_for(int code)
{
    switch (code) {
    case CT_OK:
        return CT_EXIT_OK;
    case CT_EINVAL:
        return CT_EXIT_USAGE;
    case CT_EIO:
    case CT_EPARSE:
    case CT_EFORMAT:
    case CT_ELFS:
    case CT_ELIMIT:
    case CT_EEMPTY:
    case CT_ENOTFOUND:
        return CT_EXIT_INPUT;
    case CT_ESCHEMA:
        return CT_EXIT_OUTPUT;
    default:
        return CT_EXIT_INTERNAL;
    }
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: codetracer <command> [options]\n\n"
               "Diagnose AI coding-agent trajectories step by step.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\nRun 'codetracer <command> --help' for the options of a command.\n"
               "  --version   print the version\n"
               "exit status: 0 ok, 2 usage error, 3 input could not be loaded, 4 output could not\n"
               "be written, 5 internal error, 6 some items failed (batch).\n");
}

int main(int argc, char **argv)
{
    const char *argv0_base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    argv0_base = argv0_base ? argv0_base + 1 : argc > 0 && argv[0] ? argv[0] : "";
    if (strcmp(argv0_base, "codetracer-batch") == 0) return cmd_batch(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return CT_EXIT_USAGE;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return CT_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("codetracer %s\n", CT_VERSION);
        return CT_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0) return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "codetracer: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CT_EXIT_USAGE;
}

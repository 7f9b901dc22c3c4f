/* codetracer serve — run the editor daemon (LSP over stdio); same as `codetracerd`. */
#include "cli.h"

#ifdef CT_HAVE_DAEMON
#include "ctd/daemon.h"

int cmd_serve(int argc, char **argv)
{
    return ct_daemon_main(argc, argv);
}
#else
int cmd_serve(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "codetracer serve: this build has no editor daemon\n");
    return CT_EXIT_INTERNAL;
}
#endif

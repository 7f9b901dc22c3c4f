/* codetracerd — the editor daemon as its own executable (same as `codetracer serve`). */
#include "ctd/daemon.h"

int main(int argc, char **argv)
{
    return ct_daemon_main(argc, argv);
}

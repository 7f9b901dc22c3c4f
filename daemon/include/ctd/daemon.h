/* ctd/daemon.h — the editor daemon: a language server speaking LSP over stdin/stdout.
 *
 * ct_daemon_main runs until the client sends `exit` or closes stdin, and returns the process
 * exit status: 0 after a `shutdown` request, 1 otherwise (LSP). Options:
 *   --stdio                   accepted for editors that always pass it (stdio is the only
 * transport)
 *   --max-message-bytes N     largest message accepted (default 64 MiB)
 *   -h, --help
 * argv[0] is the program or verb name. Nothing but protocol is written to stdout; logs go to
 * stderr and, once initialized, to window/logMessage. */
#ifndef CTD_DAEMON_H
#define CTD_DAEMON_H

int ct_daemon_main(int argc, char **argv);

#endif

/* serve.h — the server's start-up: the entry point of switchyard-server (what `switchyard serve` execs). */
#ifndef SY_SERVER_SERVE_H
#define SY_SERVER_SERVE_H

#include <stddef.h>

#include "server/http.h"

/* Opens the store in data (taking its lock), routes its log to the server's, starts the
 * watch hub (heartbeat_ms) and sets the server's hooks. Fill srv's settings first; the
 * HTTP daemon is started separately (sy__http_start). On failure msg says why; whatever
 * was opened is closed by sy__server_close, which is safe on a partly opened server. */
sy_rc sy__server_open(sy_server *srv, const char *data, int heartbeat_ms, char *msg, size_t msgsz);
void sy__server_close(sy_server *srv);

/* Runs the server until SIGTERM/SIGINT. argv[0] is "serve". Returns the process exit code. */
int sy__serve_main(int argc, char **argv);
/* `switchyard migrate [--data DIR] [--dry-run]`: brings the store's schema up to date the
 * way serve's open does, and says what it did. argv[0] is "migrate". The exit code. */
int sy__migrate_main(int argc, char **argv);

#endif

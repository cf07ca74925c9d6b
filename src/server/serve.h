/* serve.h — entry point of `switchyard serve`, called by the CLI's dispatcher. */
#ifndef SY_SERVER_SERVE_H
#define SY_SERVER_SERVE_H

/* Runs the server until SIGTERM/SIGINT. argv[0] is "serve". Returns the process exit code. */
int sy__serve_main(int argc, char **argv);

#endif

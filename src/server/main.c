/* main.c — the switchyard-server executable (what `switchyard serve` runs). */
#include "server/serve.h"

int main(int argc, char **argv) { return sy__serve_main(argc, argv); }

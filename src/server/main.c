/* main.c — the switchyard-server executable (what `switchyard serve` and `switchyard migrate` run). */
#include <string.h>

#include "server/serve.h"

/* `switchyard migrate` runs this executable with "migrate" first; `switchyard serve` with its options. */
int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "migrate") == 0) return sy__migrate_main(argc - 1, argv + 1);
  return sy__serve_main(argc, argv);
}

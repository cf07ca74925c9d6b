/* migrate.c — `switchyard migrate`: brings a store's schema up to date without serving it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/serve.h"
#include "store/store.h"

static const char usage[] =
    "usage: switchyard migrate [--data DIR | --store URL] [--dry-run]\n"
    "\n"
    "Brings the store in DIR (default ./data) to the schema this build writes, as\n"
    "`switchyard serve` does at start, and says what it did. Stop the server first: the\n"
    "store is locked while it runs. A store of a newer schema is refused.\n"
    "\n"
    "  --data DIR   the data directory (default ./data)\n"
    "  --store URL  a PostgreSQL store (postgres://USER@HOST:PORT/DB; also SWITCHYARD_STORE): nodes may\n"
    "               keep serving, they take turns with the migration\n"
    "  --dry-run    say what would be done, write nothing\n"
    "\n"
    "exit status: 0 done (or nothing to do), 1 error, 2 misuse\n";

int sy__migrate_main(int argc, char **argv) {
  const char *data = "./data", *store = getenv("SWITCHYARD_STORE");
  int dry_run = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--data") && i + 1 < argc) {
      data = argv[++i];
    } else if (!strncmp(a, "--data=", 7)) {
      data = a + 7;
    } else if (!strcmp(a, "--store") && i + 1 < argc) {
      store = argv[++i];
    } else if (!strcmp(a, "--dry-run")) {
      dry_run = 1;
    } else {
      fprintf(stderr, "switchyard migrate: unknown or incomplete option %s\n%s", a, usage);
      return 2;
    }
  }
  char report[1200], msg[1024];
  if (store && *store && strcmp(store, "sqlite") && !sy__store_url_is_pg(store)) {
    fprintf(stderr, "switchyard migrate: --store takes sqlite or a postgres://USER@HOST:PORT/DB URL\n");
    return 2;
  }
  sy_rc rc = sy__store_migrate_at(data, sy__store_url_is_pg(store) ? store : NULL, dry_run, report, sizeof report, msg,
                                  sizeof msg);
  if (rc) {
    fprintf(stderr, "switchyard migrate: %s\n", msg);
    return 1;
  }
  printf("%s\n", report);
  return fflush(stdout) ? 1 : 0;
}

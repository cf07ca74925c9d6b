/* serve_exec.c — `switchyard serve` (and `migrate`) run the server binary that sits beside the CLI.
 *
 * The server is its own executable so that its process maps none of the CLI's
 * client libraries (libcurl and what it pulls in), and so that the allocator
 * can be told before start-up to back the heap with huge pages: loading 100k
 * parameters is dominated by page faults without them (the store is then tens of MiB). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

/* Runs the server executable with argv[1..] after first (when not NULL); returns only on failure. */
static int exec_server(const char *first, int argc, char **argv) {
  char exe[PATH_MAX], server[PATH_MAX + 32];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    fprintf(stderr, "switchyard: cannot find my own executable: %s\n", strerror(errno));
    return 1;
  }
  exe[n] = 0;
  char *slash = strrchr(exe, '/');
  if (slash) *slash = 0;
  snprintf(server, sizeof server, "%s/switchyard-server", slash ? exe : ".");
  /* huge pages pay off only for a large store; an empty one would carry a 2 MiB heap page */
  const char *data = "./data";
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--data")) data = argv[i + 1];
  char db[PATH_MAX + 32];
  struct stat sb;
  snprintf(db, sizeof db, "%s/switchyard.db", data);
  int big = stat(db, &sb) == 0 && sb.st_size >= 32 * 1024 * 1024;
  const char *tun = getenv("GLIBC_TUNABLES");
  if (big && (!tun || !strstr(tun, "glibc.malloc.hugetlb"))) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%sglibc.malloc.hugetlb=1", tun ? tun : "", tun && *tun ? ":" : "");
    setenv("GLIBC_TUNABLES", buf, 1);
  }
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (!args) return 1;
  int n_args = 0;
  args[n_args++] = server;
  if (first) args[n_args++] = (char *)first;
  for (int i = 1; i < argc; i++) args[n_args++] = argv[i];
  execv(server, args);
  fprintf(stderr, "switchyard: cannot run %s: %s\n", server, strerror(errno));
  free(args);
  return 1;
}

int sy__cmd_serve(int argc, char **argv) { return exec_server(NULL, argc, argv); }

/* `switchyard migrate` opens the store as the server does, so the server's executable runs it. */
int sy__cmd_migrate(int argc, char **argv) { return exec_server("migrate", argc, argv); }

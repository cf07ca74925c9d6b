/* main.c — the `switchyard` binary: global options, then dispatch to serve or a client command group. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/http.h"

static const char usage[] =
    "usage: switchyard [--server URL] [--json] COMMAND [ARGS...]\n"
    "\n"
    "commands:\n"
    "  serve    run the Switchyard server (switchyard serve --help)\n"
    "  migrate  bring a stopped store's schema up to date: --data DIR, --dry-run\n"
    "  param    put, get, ls, history, rm, label, unlabel, tag, untag, rollback parameters\n"
    "  flag     create, put, get, ls, eval, explain feature flags\n"
    "  rollout  a flag's rollout: --percentage N, --disable, --enable, --status (idempotent);\n"
    "           rollout plan create, ls, status, promote, pause, resume, abort, start, delete\n"
    "           rollout plans that promote themselves on gates; rollout PLAN --rollback [--gradual]\n"
    "  provider ls, test, preflight, activate, status, metrics of AI providers (runbook 001)\n"
    "  swap     runbook 000's provider swap drill: --env ENV --provider P --confirm; --rollback FILE\n"
    "  audit    list audit records; audit verify checks the hash chain\n"
    "  config   export or import the whole configuration\n"
    "  token    create, list and revoke API tokens\n"
    "  keys     create, list and revoke access keys for the SSM API (SigV4)\n"
    "  version  print the client version\n"
    "\n"
    "global options (before or after the command):\n"
    "  --server URL   server base URL (default: $SWITCHYARD_URL, else " SY__DEFAULT_URL
    ")\n"
    "  --json         print the server's JSON instead of tables\n"
    "  -h, --help     print help; every command and subcommand takes it\n"
    "\n"
    "environment:\n"
    "  SWITCHYARD_URL    server base URL\n"
    "  SWITCHYARD_TOKEN  API token, sent as \"Authorization: Bearer <token>\". The admin token is\n"
    "                    printed once when `switchyard serve` (or `make run`) first starts and kept\n"
    "                    in DATA/admin.token: export SWITCHYARD_TOKEN=$(cat data/admin.token)\n"
    "\n"
    "exit status: 0 success, 1 error (server, network, I/O), 2 misuse\n";

/* Client command groups; serve is handled apart because it owns the whole process. */
static const sy__cmd groups[] = {
    {"param", "parameters", sy__cmd_param},
    {"audit", "audit log", sy__cmd_audit},
    {"config", "export and import", sy__cmd_config},
    {"token", "API tokens", sy__cmd_token},
    {"keys", "access keys", sy__cmd_keys},
    {"flag", "feature flags", sy__cmd_flag},
    {"rollout", "a flag's rollout, rollout plans", sy__cmd_rollout},
    {"provider", "AI providers", sy__cmd_provider},
    {"swap", "provider swap drill", sy__cmd_swap},
    {"watch", "follow changes (the client library)", sy__cmd_watch},
    {0},
};

int main(int argc, char **argv) {
  sy__cli cli = {0};
  int i = 1, ex = SY__EXIT_OK;

  cli.token = getenv("SWITCHYARD_TOKEN");
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return SY__EXIT_OK;
    } else if (strcmp(a, "--version") == 0) {
      puts("switchyard " SY_VERSION);
      return SY__EXIT_OK;
    } else if (strcmp(a, "--json") == 0) {
      cli.json = 1;
    } else if (strcmp(a, "--server") == 0) {
      if (i + 1 >= argc) return sy__misuse(usage, "option --server needs a value");
      cli.server = argv[++i];
    } else if (strncmp(a, "--server=", 9) == 0) {
      cli.server = a + 9;
    } else {
      return sy__misuse(usage, "unknown option '%s'", a);
    }
  }
  if (i >= argc) return sy__misuse(usage, "missing command");

  const char *cmd = argv[i];
  if (strcmp(cmd, "serve") == 0) return sy__cmd_serve(argc - i, argv + i);
  if (strcmp(cmd, "migrate") == 0) return sy__cmd_migrate(argc - i, argv + i);
  if (strcmp(cmd, "help") == 0) {
    fputs(usage, stdout);
    return SY__EXIT_OK;
  }
  if (strcmp(cmd, "version") == 0) {
    puts("switchyard " SY_VERSION);
    return SY__EXIT_OK;
  }
  const sy__cmd *g = NULL;
  for (size_t k = 0; groups[k].name; k++)
    if (strcmp(cmd, groups[k].name) == 0) g = &groups[k];
  if (!g) return sy__misuse(usage, "unknown command '%s'", cmd);

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    sy__err("cannot initialise libcurl");
    return SY__EXIT_ERR;
  }
  ex = g->run(&cli, argc - i, argv + i);
  curl_global_cleanup();
  if (fflush(stdout) != 0 || ferror(stdout)) {
    sy__err("cannot write to stdout");
    if (ex == SY__EXIT_OK) ex = SY__EXIT_ERR;
  }
  return ex;
}

/* cmd_watch.c — `switchyard watch`: follows parameters as a program linked to libswitchyard
 * does (the CLI is the library's first user), printing each change as it arrives. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "switchyard.h"

static const char usage[] =
    "usage: switchyard watch [--prefix P ...] [--cache FILE] [--json]\n"
    "\n"
    "Follows the parameters whose names start with a prefix (all without one) through the\n"
    "client library: the server's snapshot, then its change stream, resumed after a break. Prints\n"
    "one line per parameter at start and one per change until interrupted:\n"
    "  TIME ACTION NAME vVERSION (SOURCE) VALUE\n"
    "and, on stderr, what the library logs (connection lost, server reached again).\n"
    "\n"
    "options:\n"
    "  --prefix P    follow names starting with P (repeatable, at most 16)\n"
    "  --cache FILE  keep the last good values in FILE and start from it when the server\n"
    "                cannot be reached\n"
    "  --json        one JSON object per change: action, name, type, version, source, seq, value\n";

typedef struct watch_ctx {
  sy_client *client;
  int json;
} watch_ctx;

static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static void on_log(void *ud, sy_log_level level, const char *line) {
  (void)ud;
  if (level >= SY_LOG_WARN) fprintf(stderr, "%s\n", line);
}

/* The changed parameter's value, for the line (never a secret: the library holds none). */
static void on_change(void *ud, const sy_change *ch) {
  watch_ctx *w = ud;
  char *value = NULL;
  size_t len = 0;
  if (strcmp(ch->action, "delete")) sy_param_get(w->client, ch->name, &value, &len, NULL, NULL);
  if (w->json) {
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "action", ch->action, "name", ch->name, "type", ch->type, "version",
                  (json_int_t)ch->version, "source", sy_source_name(ch->source), "seq", (json_int_t)ch->seq);
    if (o && value) json_object_set_new(o, "value", json_stringn(value, len));
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (line) printf("%s\n", line);
    free(line);
    json_decref(o);
  } else {
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    printf("%s %-6s %s v%lld (%s)%s", when, ch->action, ch->name, (long long)ch->version, sy_source_name(ch->source),
           value ? " " : "");
    for (size_t i = 0; value && i < len && i < 200; i++) /* one line, no control characters */
      putchar((unsigned char)value[i] < 0x20 || value[i] == 0x7f ? ' ' : value[i]);
    printf("%s\n", value && len > 200 ? "…" : "");
  }
  fflush(stdout);
  sy_free(w->client, value);
}

int sy__cmd_watch(sy__cli *cli, int argc, char **argv) {
  sy__list prefixes = {0};
  const char *cache = NULL;
  int json = cli->json;
  const sy__opt opts[] = {{"--prefix", NULL, SY__OPT_LIST, &prefixes},
                          {"--cache", NULL, SY__OPT_VALUE, &cache},
                          {"--json", NULL, SY__OPT_FLAG, &json},
                          {0}};
  const char *pos[1];
  size_t npos = 0;
  sy__parse p = sy__args(cli, argc, argv, usage, opts, pos, &npos, 0, 0);
  if (p != SY__PARSED) return sy__parse_exit(p);
  watch_ctx w = {.json = json};
  sy_options *o = NULL;
  sy_rc rc = sy_options_new(&o);
  if (!rc && cli->server) rc = sy_options_set_server(o, cli->server);
  if (!rc && cli->token) rc = sy_options_set_token(o, cli->token);
  for (size_t i = 0; !rc && i < prefixes.n; i++)
    if ((rc = sy_options_add_prefix(o, prefixes.v[i])) == SY_EINVAL) {
      sy__args_free(opts);
      sy_options_free(o);
      return sy__misuse(usage, "--prefix %s: a path such as /app/ (a-zA-Z0-9_.-/), at most 16 of them", prefixes.v[i]);
    }
  if (!rc && cache) rc = sy_options_set_cache_file(o, cache);
  if (!rc) rc = sy_options_set_threaded(o, 0);
  if (!rc) rc = sy_options_set_log(o, on_log, &w);
  if (!rc) rc = sy_options_set_on_change(o, on_change, &w);
  if (!rc) rc = sy_client_new(o, &w.client);
  sy_options_free(o);
  sy__args_free(opts);
  if (rc) {
    sy__err("watch: %s", sy_strerror(rc));
    return sy__exit_of(rc);
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  struct pollfd pfd = {.fd = sy_client_fd(w.client), .events = POLLIN};
  int next = 0;
  while (!stopping) {
    if (poll(&pfd, 1, next) < 0 && errno != EINTR) break;
    sy_client_step(w.client, &next);
  }
  sy_client_free(w.client);
  return SY__EXIT_OK;
}

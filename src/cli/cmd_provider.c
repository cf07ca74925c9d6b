/* cmd_provider.c — `switchyard provider ...`: runbook 001's provider endpoints (list, test, preflight, activate,
 * status, metrics) over the HTTP API. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/table.h"

static const char provider_usage[] =
    "usage: switchyard provider SUBCOMMAND [ARGS...]\n"
    "\n"
    "subcommands (runbook 001's /api/v1/providers endpoints):\n"
    "  ls                      NAME TYPE STATUS ACTIVE BREAKER MODELS of every provider\n"
    "  test P                  test the connection to provider P (exit 1 if it fails)\n"
    "  preflight P [--model M] every readiness check of P (exit 1 unless ready)\n"
    "  activate P [--model M]  make P the active provider; prints how to roll back\n"
    "  status P                P's connection status and why\n"
    "  metrics P               requests, errors, latency and cost of P over 1m, 5m, 1h\n"
    "\n"
    "A provider name is 1 to 64 characters of a-zA-Z0-9._-.\n"
    "run 'switchyard provider SUBCOMMAND --help' for its options.\n";

static const char ls_usage[] =
    "usage: switchyard provider ls [--json]\n"
    "\n"
    "Lists the providers as a table NAME TYPE STATUS ACTIVE BREAKER MODELS: STATUS is the\n"
    "connection status, ACTIVE is * for the active provider, BREAKER the circuit breaker's\n"
    "state. The active provider and model follow the table.\n"
    "\n"
    "options:\n"
    "  --json   the server's answer: {\"providers\": [...], \"active_provider\", \"active_model\"}\n";

static const char test_usage[] =
    "usage: switchyard provider test P [--json]\n"
    "\n"
    "Tests the connection to provider P (POST /api/v1/providers/P/test-connection) and prints\n"
    "\"P: ok (123.4 ms)\" or \"P: failed: <error>\". Exits 1 when the test fails, also under --json.\n";

static const char preflight_usage[] =
    "usage: switchyard provider preflight P [--model M] [--json]\n"
    "\n"
    "Runs provider P's readiness checks and prints one line per check, \"pass NAME: DETAIL\" or\n"
    "\"FAIL NAME: DETAIL\", then whether P is ready. Exits 1 unless it is, also under --json.\n"
    "\n"
    "options:\n"
    "  --model M   check the model M rather than the provider's default\n"
    "  --json      the server's answer: {\"provider\", \"ready\", \"checks\": [...]}\n";

static const char activate_usage[] =
    "usage: switchyard provider activate P [--model M] [--json]\n"
    "\n"
    "Makes P the active provider: the default route's provider (and model, with --model) is\n"
    "written as a new version. Prints the provider it replaced and the command that puts that\n"
    "one back:\n"
    "  activated P (was Q), route /switchyard/routes/default version N\n"
    "  roll back: switchyard provider activate Q\n"
    "\n"
    "options:\n"
    "  --model M   the model the route asks P for\n"
    "  --json      the server's answer: {\"activated\", \"previous\", \"model\", \"route\", \"version\"}\n";

static const char status_usage[] =
    "usage: switchyard provider status P [--json]\n"
    "\n"
    "Prints P's connection status and its reason: \"P: online (reason)\". The status is in the\n"
    "text: the command exits 0 whatever it is (online, degraded, offline, ...) and 1 only when\n"
    "the status could not be read. Scripts test it with --json, e.g. jq -e '.status == \"online\"'.\n";

static const char metrics_usage[] =
    "usage: switchyard provider metrics P [--json]\n"
    "\n"
    "Prints P's traffic over the last minute, 5 minutes, hour and since the server started, as\n"
    "a table WINDOW REQUESTS ERRORS ERROR% P50 P95 P99 COST (latencies in ms, cost in USD).\n"
    "\n"
    "options:\n"
    "  --json   the server's answer: {\"provider\", \"metrics\": {\"1m\", \"5m\", \"1h\", \"since_start\"}}\n";

#define PROVIDER_NAME_MAX 64
#define PROVIDER_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

int sy__provider_name_ok(const char *name) {
  size_t n = strlen(name);
  return n >= 1 && n <= PROVIDER_NAME_MAX && strspn(name, PROVIDER_CHARS) == n;
}

/* Checks the provider name P and builds "/api/v1/providers/P[/suffix]" into u. A bad name is
 * misuse: it prints the problem and usage, and returns SY__EXIT_USAGE; else SY__EXIT_OK. */
static int provider_url(sy__url *u, const char *usage, const char *cmd, const char *name, const char *suffix) {
  if (!sy__provider_name_ok(name))
    return sy__misuse(usage, "%s: provider name must be 1 to 64 characters of a-zA-Z0-9._-", cmd);
  sy__url_init(u, "/api/v1/providers");
  sy__url_segment(u, name);
  if (suffix) sy__url_add(u, suffix);
  return SY__EXIT_OK;
}

/* Decides the exit code of an answer that may report a failure (a test that failed, a
 * preflight not ready): returns 1 if the answer says it failed. */
typedef int (*verdict_fn)(const json_t *answer);

/* Sends METHOD u with body (borrowed; NULL for none), prints the answer (the JSON under --json,
 * else show(answer, ctx)) and returns the exit code: 1 on any failure, printed, or when verdict
 * (may be NULL) judges the answer a failure. */
static int provider_call(const sy__cli *cli, const char *method, const sy__url *u, const json_t *body, sy__show_fn show,
                         void *ctx, verdict_fn verdict) {
  sy_rc rc = SY_OK;
  sy__resp r = {0};
  int failed = 0;
  rc = sy__http_url(cli, method, u, body, &r);
  if (rc) goto out;
  rc = cli->json ? sy__print_json(r.json) : show(r.json, ctx);
  if (rc == SY_ENOMEM) sy__err("out of memory");
  if (!rc && verdict) failed = verdict(r.json);
out:
  sy__resp_free(&r);
  return rc || failed ? SY__EXIT_ERR : SY__EXIT_OK;
}

/* A {"model": M} body, or NULL without --model; *ex is set to 1 (printed) if it cannot be made. */
static json_t *model_body(const char *model, int *ex) {
  json_t *b;
  if (!model) return NULL;
  b = json_object();
  if (!b || json_object_set_new(b, "model", json_string(model))) {
    sy__err("--model must be UTF-8 text");
    json_decref(b);
    *ex = SY__EXIT_ERR;
    return NULL;
  }
  return b;
}

/* ---- ls -------------------------------------------------------------------------------- */

static sy_rc provider_row(sy__table *t, const json_t *e) {
  char models[256], breaker[64];
  const json_t *br = json_object_get(e, "breaker");
  /* the breaker as a state word, whether the server sends "closed" or {"state": "closed", ...} */
  if (json_is_object(br) && json_is_string(json_object_get(br, "state")))
    snprintf(breaker, sizeof breaker, "%s", sy__jstr(br, "state"));
  else
    sy__json_cell(br, 20, breaker, sizeof breaker);
  sy__json_cell(json_object_get(e, "models"), 60, models, sizeof models);
  const char *row[] = {sy__jstr(e, "name"),
                       sy__jstr(e, "type"),
                       sy__jstr(e, "connection_status"),
                       json_is_true(json_object_get(e, "is_active")) ? "*" : "",
                       breaker,
                       models};
  return sy__table_row(t, row);
}

static sy_rc show_providers(const json_t *answer, void *ctx) {
  static const char *const head[] = {"NAME", "TYPE", "STATUS", "ACTIVE", "BREAKER", "MODELS"};
  const char *active = sy__jstr(answer, "active_provider"), *model = sy__jstr(answer, "active_model");
  sy_rc rc;
  (void)ctx;
  rc = sy__table_print_rows(6, head, json_object_get(answer, "providers"), provider_row, stdout);
  if (rc) return rc;
  if (*active) printf("\nactive: %s%s%s\n", active, *model ? " model " : "", model);
  return SY_OK;
}

static int provider_ls(sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__url u;
  sy__parse p = sy__args(cli, argc, argv, ls_usage, NULL, pos, &npos, 0, 0);
  if (p) return sy__parse_exit(p);
  sy__url_init(&u, "/api/v1/providers");
  return provider_call(cli, "GET", &u, NULL, show_providers, NULL, NULL);
}

/* ---- test ------------------------------------------------------------------------------ */

static int test_failed(const json_t *answer) { return !json_is_true(json_object_get(answer, "success")); }

/* "P: ok (123.4 ms)" or "P: failed: <error>"; ctx is the name asked for. */
static sy_rc show_test(const json_t *answer, void *ctx) {
  const char *name = sy__jstr(answer, "provider");
  if (!*name) name = ctx;
  if (test_failed(answer)) {
    const char *err = sy__jstr(answer, "error");
    printf("%s: failed: %s\n", name, *err ? err : sy__jstr(answer, "status"));
    return SY_OK;
  }
  const json_t *lat = json_object_get(answer, "latency_ms");
  if (json_is_number(lat))
    printf("%s: ok (%.1f ms)\n", name, json_number_value(lat));
  else
    printf("%s: ok\n", name);
  return SY_OK;
}

/* ---- preflight ------------------------------------------------------------------------- */

static int not_ready(const json_t *answer) { return !json_is_true(json_object_get(answer, "ready")); }

static sy_rc show_preflight(const json_t *answer, void *ctx) {
  const json_t *checks = json_object_get(answer, "checks");
  const char *name = sy__jstr(answer, "provider");
  size_t i;
  json_t *c;
  if (!*name) name = ctx;
  json_array_foreach(checks, i, c) {
    const char *detail = sy__jstr(c, "detail");
    printf("%s %s%s%s\n", json_is_true(json_object_get(c, "pass")) ? "pass" : "FAIL", sy__jstr(c, "name"),
           *detail ? ": " : "", detail);
  }
  printf("%s: %s\n", name, not_ready(answer) ? "not ready" : "ready");
  return SY_OK;
}

/* ---- activate -------------------------------------------------------------------------- */

static sy_rc show_activate(const json_t *answer, void *ctx) {
  const char *name = sy__jstr(answer, "activated"), *prev = sy__jstr(answer, "previous");
  const char *route = sy__jstr(answer, "route");
  if (!*name) name = ctx;
  printf("activated %s (was %s), route %s version %lld\n", name, *prev ? prev : "none", *route ? route : "-",
         (long long)sy__jint(answer, "version"));
  if (*prev && strcmp(prev, name) != 0)
    printf("roll back: switchyard provider activate %s\n", prev);
  else if (!*prev)
    printf("roll back: no provider was active before\n");
  return SY_OK;
}

/* ---- status ---------------------------------------------------------------------------- */

/* "P: online (reason)"; the status decides nothing about the exit code (see status_usage). */
static sy_rc show_status(const json_t *answer, void *ctx) {
  const char *name = sy__jstr(answer, "provider"), *status = sy__jstr(answer, "status");
  const char *reason = sy__jstr(answer, "reason");
  if (!*name) name = ctx;
  printf("%s: %s", name, *status ? status : "unknown");
  if (*reason) printf(" (%s)", reason);
  fputc('\n', stdout);
  return SY_OK;
}

/* ---- metrics --------------------------------------------------------------------------- */

/* A number member of obj as text with the given decimals, or "-" when it is absent. */
static void number_cell(const json_t *obj, const char *key, int decimals, char *out, size_t cap) {
  const json_t *v = json_object_get(obj, key);
  if (json_is_integer(v) && decimals == 0)
    snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else if (json_is_number(v))
    snprintf(out, cap, "%.*f", decimals, json_number_value(v));
  else
    snprintf(out, cap, "-");
}

static sy_rc show_metrics(const json_t *answer, void *ctx) {
  static const char *const head[] = {"WINDOW", "REQUESTS", "ERRORS", "ERROR%", "P50", "P95", "P99", "COST"};
  static const char *const windows[] = {"1m", "5m", "1h", "since_start", NULL};
  const json_t *m = json_object_get(answer, "metrics");
  sy__table *t = NULL;
  sy_rc rc;
  (void)ctx;
  rc = sy__table_new(8, head, &t);
  if (rc) goto out;
  for (size_t i = 0; windows[i]; i++) {
    const json_t *w = json_object_get(m, windows[i]), *lat = json_object_get(w, "latency_ms");
    const json_t *er = json_object_get(w, "error_rate");
    char req[32], err[32], pct[32], p50[32], p95[32], p99[32], cost[32];
    if (!json_is_object(w)) continue;
    number_cell(w, "requests", 0, req, sizeof req);
    number_cell(w, "errors", 0, err, sizeof err);
    /* error_rate is a fraction of the requests: 0.05 is 5 % (runbook 001's rollback trigger) */
    if (json_is_number(er))
      snprintf(pct, sizeof pct, "%.2f", json_number_value(er) * 100.0);
    else
      snprintf(pct, sizeof pct, "-");
    number_cell(lat, "p50", 1, p50, sizeof p50);
    number_cell(lat, "p95", 1, p95, sizeof p95);
    number_cell(lat, "p99", 1, p99, sizeof p99);
    number_cell(w, "cost_usd", 4, cost, sizeof cost);
    const char *row[] = {windows[i], req, err, pct, p50, p95, p99, cost};
    rc = sy__table_row(t, row);
    if (rc) goto out;
  }
  rc = sy__table_print(t, stdout);
out:
  sy__table_free(t);
  return rc;
}

/* One provider's subcommand: PROVIDER as its argument, --model when it takes one, a call to
 * /api/v1/providers/PROVIDER<suffix>, its answer shown by show, failed when verdict says. */
typedef struct one_cmd {
  const char *name, *usage, *method, *suffix;
  int takes_model;
  sy__show_fn show;
  verdict_fn verdict;
} one_cmd;

static const one_cmd one_cmds[] = {
    {"test", test_usage, "POST", "/test-connection", 0, show_test, test_failed},
    {"preflight", preflight_usage, "POST", "/preflight", 1, show_preflight, not_ready},
    {"activate", activate_usage, "POST", "/activate", 1, show_activate, NULL},
    {"status", status_usage, "GET", "/status", 0, show_status, NULL},
    {"metrics", metrics_usage, "GET", "/metrics", 0, show_metrics, NULL},
};

static int provider_one(sy__cli *cli, int argc, char **argv, const one_cmd *c) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *model = NULL;
  const sy__opt with_model[] = {{"--model", NULL, SY__OPT_VALUE, &model}, {0}};
  json_t *body = NULL;
  sy__url u;
  int ex;
  sy__parse p = sy__args(cli, argc, argv, c->usage, c->takes_model ? with_model : NULL, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  ex = provider_url(&u, c->usage, c->name, pos[0], c->suffix);
  if (ex) return ex;
  if (c->takes_model) {
    body = model_body(model, &ex);
    if (ex) return ex;
  }
  ex = provider_call(cli, c->method, &u, body, c->show, (void *)pos[0], c->verdict);
  json_decref(body);
  return ex;
}

static int provider_test(sy__cli *cli, int argc, char **argv) { return provider_one(cli, argc, argv, &one_cmds[0]); }
static int provider_preflight(sy__cli *cli, int argc, char **argv) {
  return provider_one(cli, argc, argv, &one_cmds[1]);
}
static int provider_activate(sy__cli *cli, int argc, char **argv) {
  return provider_one(cli, argc, argv, &one_cmds[2]);
}
static int provider_status(sy__cli *cli, int argc, char **argv) { return provider_one(cli, argc, argv, &one_cmds[3]); }
static int provider_metrics(sy__cli *cli, int argc, char **argv) { return provider_one(cli, argc, argv, &one_cmds[4]); }

static const sy__cmd provider_cmds[] = {
    {"ls", "list providers", provider_ls},
    {"test", "test a connection", provider_test},
    {"preflight", "readiness checks", provider_preflight},
    {"activate", "make a provider active", provider_activate},
    {"status", "connection status", provider_status},
    {"metrics", "traffic, latency, cost", provider_metrics},
    {0},
};

int sy__cmd_provider(sy__cli *cli, int argc, char **argv) {
  return sy__dispatch(cli, "provider", provider_usage, provider_cmds, argc, argv);
}

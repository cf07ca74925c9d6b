/* serve.c — `switchyard serve`: open the store, bootstrap the admin token, serve until SIGTERM. */
#include "server/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/api_admin.h"
#include "server/console.h"
#include "gateway/gateway.h"
#include "control/controller.h"
#include "control/promq.h"
#include "control/pushed.h"
#include "server/alerts.h"
#include "server/flag_stats.h"
#include "server/route.h"
#include "server/ssm.h"
#include "server/watch.h"

/* At start, the access key from SWITCHYARD_AWS_ACCESS_KEY_ID / _SECRET_ACCESS_KEY, if it is not there yet. */
static sy_rc bootstrap_key(sy_store *st) {
  const char *id = getenv("SWITCHYARD_AWS_ACCESS_KEY_ID"), *secret = getenv("SWITCHYARD_AWS_SECRET_ACCESS_KEY");
  if (!id || !*id) return SY_OK;
  if (!secret || strlen(secret) < 16 || strlen(secret) > 128 || !sy__akey_id_valid(id)) {
    sy__log("error",
            "SWITCHYARD_AWS_ACCESS_KEY_ID must be 16 to 31 of A-Z0-9 and SWITCHYARD_AWS_SECRET_ACCESS_KEY 16 to 128 "
            "characters",
            NULL);
    return SY_EINVAL;
  }
  /* a key that exists, even revoked, is left as it is: revoking it must stick across restarts */
  const sy_snap *s = sy__snap_enter(st);
  const sy_akey *k = sy__snap_akey_any(s, id);
  int exists = k != NULL, revoked = k && k->revoked_ms;
  sy__snap_leave(st);
  if (exists) {
    char have[129];
    size_t n = 0;
    if (revoked)
      sy__log("warn", "SWITCHYARD_AWS_ACCESS_KEY_ID names a revoked key; it stays revoked",
              json_pack("{ss}", "access_key_id", id));
    else if (sy__store_akey_secret(st, id, have, sizeof have, &n, NULL, 0, NULL) == SY_OK && strcmp(have, secret))
      sy__log("warn", "SWITCHYARD_AWS_ACCESS_KEY_ID exists with another secret; keeping the stored one",
              json_pack("{ss}", "access_key_id", id));
    return SY_OK;
  }
  char name[64];
  snprintf(name, sizeof name, "env-%.40s", id);
  sy_op op = {.kind = SY_OP_KEY_CREATE,
              .actor = "system",
              .reason = "SWITCHYARD_AWS_ACCESS_KEY_ID at start",
              .token_name = name,
              .key_id = id,
              .key_secret = secret,
              .scopes = SY_SCOPE_ADMIN | SY_SCOPE_DECRYPT};
  sy_rc rc = sy__store_submit_wait(st, &op);
  if (rc) {
    s = sy__snap_enter(st); /* another node of a shared store made it first: that one stands */
    exists = sy__snap_akey_any(s, id) != NULL;
    sy__snap_leave(st);
    if (exists) rc = SY_OK;
  }
  if (rc)
    sy__log("error", "cannot create the access key from the environment", json_pack("{ss}", "error", op.msg));
  else if (exists)
    sy__log("info", "another node created the access key from the environment", json_pack("{ss}", "access_key_id", id));
  else
    sy__log("info", "access key created", json_pack("{ss ss}", "name", name, "access_key_id", id));
  sy__op_clear(&op);
  return rc;
}

/* A whole decimal number in [min, max] from an option or the environment; -1 if not. */
static int64_t number(const char *s, int64_t min, int64_t max) {
  if (!s || !*s) return -1;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (*end || errno || v < min || v > max || *s < '0' || *s > '9') return -1;
  return v;
}

typedef struct limit_opt {
  const char *flag, *env;
  int64_t min, max, dflt;
} limit_opt;

static const limit_opt limit_opts[] = {
    {"--header-timeout", "SWITCHYARD_HEADER_TIMEOUT_MS", 10, 3600000, 10000},
    {"--body-timeout", "SWITCHYARD_BODY_TIMEOUT_MS", 10, 3600000, 30000},
    {"--idle-timeout", "SWITCHYARD_IDLE_TIMEOUT_MS", 1000, 86400000, 60000},
    {"--max-conns-per-ip", "SWITCHYARD_MAX_CONNS_PER_IP", 0, 1000000, 16384},
    {"--import-max-bytes", "SWITCHYARD_IMPORT_MAX_BYTES", 1 << 20, (int64_t)1 << 34, 256 << 20},
};
#define N_LIMITS (sizeof limit_opts / sizeof limit_opts[0])

/* The help, with every variable the server reads; the limits' lines come from limit_opts. */
static void usage(FILE *f) {
  fprintf(
      f,
      "usage: switchyard serve [--listen ADDR:PORT] [--data DIR] [--store URL] [--threads N] [--insecure-loopback]\n"
      "                        [--header-timeout MS] [--body-timeout MS] [--idle-timeout MS]\n"
      "                        [--max-conns-per-ip N] [--import-max-bytes N] [--console DIR]\n"
      "\n"
      "Serves the Switchyard API. Defaults: --listen 127.0.0.1:8000 --data ./data --threads 2.\n"
      "PORT 0 picks a free port (the \"listening\" log line names it). At first start the admin\n"
      "token is printed once on stdout and kept in DATA/admin.token (mode 0600).\n"
      "--insecure-loopback (a developer's machine only; refused unless ADDR is 127.x.x.x) serves requests\n"
      "that carry no token as an admin without the decrypt scope, so that runbook curl lines run unchanged;\n"
      "a request with a token is checked as always, and the SSM API still needs its signature.\n"
      "--store postgres://USER@HOST:PORT/DB (or SWITCHYARD_STORE) keeps the store in PostgreSQL, which\n"
      "several nodes share: every node sees every change, and DATA keeps only the node's own files (the\n"
      "master key, which every node of a store must share, and the admin token). Default: SQLite in DATA.\n"
      "--console DIR (or SWITCHYARD_CONSOLE_DIR) serves the web console built in DIR (`make console`; DIR\n"
      "must hold its index.html) at /console, which needs no token. Default: the first of EXEDIR/console\n"
      "and PREFIX/share/switchyard/console that holds one; without one, /console answers 404.\n"
      "\n"
      "Connection limits (each option also reads the environment variable named beside it):\n"
      "  --header-timeout MS    a request's headers must arrive within MS (SWITCHYARD_HEADER_TIMEOUT_MS, 10000)\n"
      "  --body-timeout MS      its body within MS after them (SWITCHYARD_BODY_TIMEOUT_MS, 30000)\n"
      "  --idle-timeout MS      an idle keep-alive connection closes after MS (SWITCHYARD_IDLE_TIMEOUT_MS, 60000)\n"
      "  --max-conns-per-ip N   connections one client address may hold, 0 for no cap\n"
      "                         (SWITCHYARD_MAX_CONNS_PER_IP, 16384)\n"
      "  --import-max-bytes N   the largest import document (SWITCHYARD_IMPORT_MAX_BYTES, 268435456);\n"
      "                         every other request body is at most 1 MiB\n"
      "Watch streams are not subject to these timeouts; they send a heartbeat instead.\n"
      "\n"
      "Environment (an option on the command line wins over its variable):\n"
      "  SWITCHYARD_STORE                  as --store: sqlite or a postgres:// URL (default: sqlite, in DATA)\n"
      "  SWITCHYARD_ADMIN_TOKEN            the first admin token, 16 to 512 characters, read at first start\n"
      "                                    only (default: one is generated, printed once, kept in DATA/admin.token)\n"
      "  SWITCHYARD_AWS_ACCESS_KEY_ID      with the next, an SSM access key (admin and decrypt scopes) made at\n"
      "  SWITCHYARD_AWS_SECRET_ACCESS_KEY  start if it is not there yet: 16 to 31 of A-Z0-9, and 16 to 128\n"
      "                                    characters (default: none)\n"
      "  SWITCHYARD_AWS_REGION             the default region of ARNs; a signed request gets the region it\n"
      "                                    was signed for, any region (default us-east-1)\n"
      "  SWITCHYARD_AWS_ACCOUNT_ID         the account in ARNs (default 000000000000)\n"
      "  SWITCHYARD_MASTER_KEY_FILE        the 32-byte (or 64 hex digit) key SecureStrings are sealed with\n"
      "                                    (default DATA/master.key, made at first start, mode 0600)\n"
      "  SWITCHYARD_CONSOLE_DIR            as --console (default: beside the executable, else the install's)\n");
  for (size_t i = 0; i < N_LIMITS; i++)
    fprintf(f, "  %-33s as %s, %lld to %lld (default %lld)\n", limit_opts[i].env, limit_opts[i].flag,
            (long long)limit_opts[i].min, (long long)limit_opts[i].max, (long long)limit_opts[i].dflt);
  fprintf(f,
          "  SWITCHYARD_HEARTBEAT_MS           the interval of watch heartbeats, 10 to 3600000 (default 15000)\n"
          "  SWITCHYARD_ACCESS_LOG             1 logs every request (default: only errors are logged)\n"
          "  SWITCHYARD_TEST_CLOCK             1 lets an admin move the server's clock forward (POST\n"
          "                                    /api/v1/admin/clock {\"advance_ms\": N}), for tests of budget days\n"
          "                                    (default: the system's clock)\n");
}

/* At first start (no tokens yet) creates the admin token from the environment or a fresh one. */
static sy_rc bootstrap_admin(sy_store *st, const char *dir) {
  const sy_snap *s = sy__snap_enter(st);
  int have = sy__snap_has_tokens(s);
  sy__snap_leave(st);
  if (have) return SY_OK;
  char secret[128], hash[SY_HASH_HEX], path[4096];
  const char *env = getenv("SWITCHYARD_ADMIN_TOKEN");
  int generated = 0;
  if (env && *env) {
    if (strlen(env) < 16 || strlen(env) > 512) {
      sy__log("error", "SWITCHYARD_ADMIN_TOKEN must be 16 to 512 characters", NULL);
      return SY_EINVAL;
    }
    sy__sha256_hex(env, strlen(env), hash);
  } else {
    if (sy__token_generate(secret, sizeof secret)) return SY_EINTERNAL;
    sy__sha256_hex(secret, strlen(secret), hash);
    generated = 1;
  }
  if (generated) {
    snprintf(path, sizeof path, "%s/admin.token", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
      sy__log("error", "cannot write the admin token file",
              json_pack("{ss ss}", "path", path, "error", strerror(errno)));
      return SY_EIO;
    }
    fchmod(fd, 0600);
    size_t n = strlen(secret);
    int ok = write(fd, secret, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    if (!ok) return SY_EIO;
  }
  sy_op op = {.kind = SY_OP_TOKEN_CREATE,
              .actor = "system",
              .reason = "first start",
              .token_name = "admin",
              .token_hash = hash,
              .scopes = SY_SCOPE_ADMIN | SY_SCOPE_DECRYPT};
  sy_rc rc = sy__store_submit_wait(st, &op);
  if (rc) {
    /* another node of a shared store made its admin token first: that one stands */
    s = sy__snap_enter(st);
    have = sy__snap_has_tokens(s);
    sy__snap_leave(st);
    if (generated) unlink(path);
    if (have) {
      sy__log("info", "another node created the first admin token; this node's is not needed", NULL);
    } else {
      sy__log("error", "cannot create the admin token",
              json_pack("{ss ss}", "status", sy_strerror(rc), "error", op.msg));
    }
    sy__op_clear(&op);
    return have ? SY_OK : rc;
  }
  sy__op_clear(&op);
  if (generated) {
    /* printed once, on stdout, never in the log */
    printf("admin token (shown once, also in %s): %s\n", path, secret);
    fflush(stdout);
  }
  sy__log("info", "admin token created",
          json_pack("{ss ss}", "name", "admin", "source", generated ? "generated" : "SWITCHYARD_ADMIN_TOKEN"));
  return SY_OK;
}

/* Every committed change goes to the watch streams and to the gateway (its strategy log). */
static void publish(void *ctx, const sy_event *events, size_t n) {
  sy_server *srv = ctx;
  sy__watch_publish(srv->hub, events, n);
  sy__gateway_publish(srv->gw, events, n);
}

static void poke_controller(void *ctx) { sy__controller_poke(ctx); }

sy_rc sy__server_open(sy_server *srv, const char *data, int heartbeat_ms, char *msg, size_t msgsz) {
  sy_rc rc = sy__store_open_at(data, srv->store_url, srv->clock, &srv->store, msg, msgsz);
  if (rc) return rc;
  sy__store_set_log_hook(srv->store, sy__log); /* storage failures in the server's log format */
  const sy_snap *s = sy__snap_enter(srv->store);
  int64_t seq = s->seq;
  sy__snap_leave(srv->store);
  srv->hub = sy__watch_hub_new(srv->store, heartbeat_ms, seq);
  if (!srv->hub) {
    snprintf(msg, msgsz, "cannot start the watch hub");
    return SY_ENOMEM;
  }
  /* spend is shared by the nodes of a shared store: it lives in PostgreSQL too */
  char ledger[4096];
  snprintf(ledger, sizeof ledger, "%s/ledger.sqlite", data);
  if (srv->store_url) snprintf(ledger, sizeof ledger, "%s", srv->store_url);
  rc = sy__gateway_new(srv->store, srv->clock, ledger, &srv->gw);
  if (rc) {
    snprintf(msg, msgsz, "cannot start the gateway: %s", sy_strerror(rc));
    return rc;
  }
  sy__store_set_publish_hook(srv->store, publish, srv);
  srv->flag_stats = sy__flag_stats_new(srv->clock);
  if (!srv->flag_stats) {
    snprintf(msg, msgsz, "cannot make the flag statistics table");
    return SY_ENOMEM;
  }
  rc = sy__pushed_new(srv->clock, &srv->pushed);
  if (rc) {
    snprintf(msg, msgsz, "cannot make the pushed metrics' table: %s", sy_strerror(rc));
    return rc;
  }
  rc = sy__promq_new(&srv->promq);
  if (rc) {
    snprintf(msg, msgsz, "cannot start the Prometheus queries: %s", sy_strerror(rc));
    return rc;
  }
  srv->sources.store = srv->store;
  srv->sources.clock = srv->clock;
  srv->sources.gw = srv->gw;
  srv->sources.pushed = srv->pushed;
  srv->sources.promq = srv->promq;
  rc = sy__alerts_start(srv, &srv->alerts);
  if (rc) {
    snprintf(msg, msgsz, "cannot start the alerts: %s", sy_strerror(rc));
    return rc;
  }
  rc = sy__controller_start(&srv->sources, 0, &srv->controller);
  if (rc) {
    snprintf(msg, msgsz, "cannot start the rollout controller: %s", sy_strerror(rc));
    return rc;
  }
  sy__gateway_on_failure(srv->gw, poke_controller, srv->controller);
  srv->route = sy__route;
  srv->ssm_reply_error = sy__ssm_reply_error;
  return SY_OK;
}

void sy__server_close(sy_server *srv) {
  if (srv->gw) sy__gateway_on_failure(srv->gw, NULL, NULL);
  sy__controller_stop(srv->controller); /* reads the store and the gateway */
  sy__alerts_free(srv->alerts);         /* before the gateway it reads; its records still reach the store */
  srv->alerts = NULL;
  sy__gateway_stop(srv->gw);
  sy__store_close(srv->store);          /* drains queued writes first */
  sy__controller_free(srv->controller); /* after the store: its transitions' callbacks touch it */
  srv->controller = NULL;
  sy__gateway_free(srv->gw);
  srv->gw = NULL;
  sy__watch_hub_free(srv->hub);
  sy__flag_stats_free(srv->flag_stats);
  srv->store = NULL;
  srv->hub = NULL;
  srv->flag_stats = NULL;
  sy__promq_free(srv->promq); /* the HTTP daemon is stopped: no request reads them */
  sy__pushed_free(srv->pushed);
  srv->promq = NULL;
  srv->pushed = NULL;
  srv->sources.store = NULL;
  srv->sources.gw = NULL;
  srv->sources.pushed = NULL;
  srv->sources.promq = NULL;
  sy__console_free(srv->console); /* the HTTP daemon is stopped: no reply points into it */
  srv->console = NULL;
}

int sy__serve_main(int argc, char **argv) {
  const char *listen = "127.0.0.1:8000", *data = "./data", *store = getenv("SWITCHYARD_STORE"), *console = NULL;
  int64_t threads = 2;
  int insecure = 0;
  const char *limit_arg[N_LIMITS] = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    size_t li = 0;
    while (li < N_LIMITS && strcmp(a, limit_opts[li].flag)) li++;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (li < N_LIMITS && i + 1 < argc) {
      limit_arg[li] = argv[++i];
    } else if (!strcmp(a, "--listen") && i + 1 < argc) {
      listen = argv[++i];
    } else if (!strcmp(a, "--data") && i + 1 < argc) {
      data = argv[++i];
    } else if (!strcmp(a, "--store") && i + 1 < argc) {
      store = argv[++i];
    } else if (!strcmp(a, "--console") && i + 1 < argc) {
      console = argv[++i];
    } else if (!strcmp(a, "--insecure-loopback")) {
      insecure = 1;
    } else if (!strcmp(a, "--threads") && i + 1 < argc) {
      threads = number(argv[++i], 1, 64);
      if (threads < 0) {
        fprintf(stderr, "switchyard serve: --threads takes 1 to 64\n");
        return 2;
      }
    } else {
      fprintf(stderr, "switchyard serve: unknown or incomplete option %s\n", a);
      usage(stderr);
      return 2;
    }
  }
  char host[64];
  const char *colon = strrchr(listen, ':');
  int64_t port = colon ? number(colon + 1, 0, 65535) : -1;
  if (!colon || (size_t)(colon - listen) >= sizeof host || port < 0) {
    fprintf(stderr, "switchyard serve: --listen wants ADDR:PORT, e.g. 127.0.0.1:8000\n");
    return 2;
  }
  snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
  struct in_addr ia;
  if (insecure && (inet_pton(AF_INET, host, &ia) != 1 || (ntohl(ia.s_addr) >> 24) != 127)) {
    fprintf(stderr,
            "switchyard serve: --insecure-loopback serves requests without a token, so it needs a loopback listen "
            "address (127.0.0.0/8); %s is not one\n",
            host);
    return 2;
  }
  if (store && *store && strcmp(store, "sqlite") && !sy__store_url_is_pg(store)) {
    fprintf(stderr, "switchyard serve: --store takes sqlite or a postgres://USER@HOST:PORT/DB URL\n");
    return 2;
  }
  int64_t limit[N_LIMITS];
  for (size_t li = 0; li < N_LIMITS; li++) {
    const limit_opt *o = &limit_opts[li];
    const char *v = limit_arg[li] ? limit_arg[li] : getenv(o->env);
    limit[li] = v ? number(v, o->min, o->max) : o->dflt;
    if (limit[li] < 0) {
      fprintf(stderr, "switchyard serve: %s must be a whole number from %lld to %lld, not \"%.40s\"\n",
              limit_arg[li] ? o->flag : o->env, (long long)o->min, (long long)o->max, v);
      return 2;
    }
  }
  const char *hb = getenv("SWITCHYARD_HEARTBEAT_MS");
  int64_t heartbeat = hb ? number(hb, 10, 3600000) : 15000;
  if (heartbeat < 0) {
    fprintf(stderr, "switchyard serve: SWITCHYARD_HEARTBEAT_MS must be a whole number from 10 to 3600000\n");
    return 2;
  }

  /* read before the store is opened: a --console without a console refuses to start at once */
  sy_console *con = NULL;
  char con_dir[4096], con_msg[4096 + 256];
  sy_rc con_rc = sy__console_load(console, &con, con_dir, sizeof con_dir, con_msg, sizeof con_msg);
  if (con_rc && console) {
    fprintf(stderr, "switchyard serve: --console %s: %s\n", console, con_msg);
    return 1;
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  sy_server srv = {.clock = sy__clock_system(), .console = con};
  static sy_offset_clock test_clock; /* SWITCHYARD_TEST_CLOCK=1: tests move time (budget days) */
  const char *tc = getenv("SWITCHYARD_TEST_CLOCK");
  if (tc && !strcmp(tc, "1")) {
    sy__clock_offset_init(&test_clock);
    srv.clock = &test_clock.clock;
    srv.test_clock = &test_clock;
  }
  srv.started_ms = sy__clock_now(srv.clock);
  srv.store_url = sy__store_url_is_pg(store) ? store : NULL;
  const char *region = getenv("SWITCHYARD_AWS_REGION"), *account = getenv("SWITCHYARD_AWS_ACCOUNT_ID");
  snprintf(srv.aws_region, sizeof srv.aws_region, "%s", region && *region ? region : "us-east-1");
  snprintf(srv.aws_account, sizeof srv.aws_account, "%s", account && *account ? account : "000000000000");
  const char *al = getenv("SWITCHYARD_ACCESS_LOG");
  srv.access_log = al && *al == '1';
  srv.limits = (sy_guard_cfg){.header_timeout_ms = (int)limit[0],
                              .body_timeout_ms = (int)limit[1],
                              .idle_timeout_ms = (int)limit[2],
                              .max_conns_per_ip = (int)limit[3]};
  srv.import_max = (size_t)limit[4];
  srv.insecure_loopback = insecure;
  char msg[SY_MSG_MAX] = "";
  int bound = 0, rcode = 1;
  sy_rc rc = sy__server_open(&srv, data, (int)heartbeat, msg, sizeof msg);
  if (rc) {
    sy__log("error", "cannot open the store",
            json_pack("{ss ss ss}", "data", data, "store", srv.store_url ? "postgres" : "sqlite", "error", msg));
    fprintf(stderr, "switchyard serve: %s\n", msg);
    goto out;
  }
  const sy_snap *s = sy__snap_enter(srv.store);
  int64_t seq = s->seq;
  size_t count = s->count;
  sy__snap_leave(srv.store);
  if (bootstrap_admin(srv.store, data) || bootstrap_key(srv.store)) goto out;
  rc = sy__http_start(&srv, host, (int)port, (int)threads, &bound, msg, sizeof msg);
  if (rc) {
    sy__log("error", "cannot start the HTTP server", json_pack("{ss}", "error", msg));
    goto out;
  }
  char addr[96];
  snprintf(addr, sizeof addr, "%s:%d", host, bound);
  if (srv.test_clock)
    sy__log("warn", "SWITCHYARD_TEST_CLOCK=1: POST /api/v1/admin/clock moves this server's time forward (tests only)",
            NULL);
  if (con_rc)
    sy__log(con_rc == SY_ENOTFOUND ? "info" : "warn", "the web console is not served: /console answers 404",
            json_pack("{ss}", "reason", con_msg));
  else
    sy__log("info", "serving the web console at /console", json_pack("{ss}", "dir", con_dir));
  if (insecure)
    sy__log("warn",
            "INSECURE: --insecure-loopback: requests without a token are served as the admin "
            "\"insecure-loopback\" (no decrypt scope); a wrong token is still refused. For a developer's machine only",
            json_pack("{ss}", "addr", addr));
  sy__log("info", "listening",
          json_pack("{ss si ss ss sI sI si sI}", "addr", addr, "port", bound, "data", data, "store",
                    srv.store_url ? "postgres" : "sqlite", "params", (json_int_t)count, "seq", (json_int_t)seq,
                    "threads", (int)threads, "startup_ms", (json_int_t)(sy__clock_now(srv.clock) - srv.started_ms)));
  int sig = 0;
  sigwait(&sigs, &sig);
  sy__log("info", "stopping", json_pack("{ss}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
  sy__watch_shutdown(srv.hub); /* streams end first, then requests drain */
  srv.stopping = 1;
  sy__gateway_stop(srv.gw); /* upstream calls end: their requests answer 503 */
  sy__http_stop(&srv, 10000);
  rcode = 0;
out:
  sy__server_close(&srv);
  if (!rcode) sy__log("info", "stopped", NULL);
  return rcode;
}

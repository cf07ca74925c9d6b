/* gw_budget_pg.c — the spending limits' ledger in PostgreSQL, for the nodes of one store: each
 * node keeps its spend and its reservations in rows of its own (budget_spend: day, limit, node),
 * and a reservation checks the sum over every node under an advisory lock per (limit, day), so
 * that the nodes together never pass a hard limit. Whatever cannot reach PostgreSQL refuses. */
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gw_int.h"
#include "store/store_int.h" /* the store's data directory, which names the node: store.h has no call for it */

#define POOL_MAX 16                      /* idle connections kept; more threads make and drop their own */
#define RETRY_MS 1000                    /* while PostgreSQL is down, the worker tries this often */
#define LOG_EVERY_US 1000000             /* the outage is logged at most this often */
#define PENDING_MAX 100000               /* settlements kept while PostgreSQL is away; more are dropped */
#define LOCK_CLASS "'sy_budget:'"        /* prefixes a limit's name in its advisory lock key */
#define KEY_SCHEMA "6014391775981469698" /* store/postgres.c's schema lock (0x5377697463680002) */

/* A settlement that did not reach PostgreSQL, to be written when it is back. */
typedef struct pending {
  struct pending *next;
  int64_t resv_day, day, amount, cost;
  char *names; /* a text[] literal */
} pending;

struct sy_gw_pg {
  char *conninfo;  /* the URL with connect_timeout; it may hold a password: never logged */
  char where[300]; /* host:port/db, what the log names */
  char node[256];
  pthread_mutex_t mu; /* everything below */
  PGconn *idle[POOL_MAX];
  int nidle;
  int down; /* the last connection failed: only the worker tries again */
  int64_t logged_at_us;
  int ready; /* the table exists and this node's stale reservations are gone */
  pending *pend, **pend_tail;
  int npend;
  int flushing;              /* a batch of settlements is being written */
  pthread_cond_t flushed_cv; /* ... and is no longer */
  pthread_mutex_t init_mu;   /* one thread at a time prepares the database */
  pthread_cond_t cv;         /* wakes the worker: down, settlements to write, or stop */
  pthread_t thread;
  int thread_started, stop;
};

int sy__gw_pg_is_url(const char *path) {
  return path && (!strncmp(path, "postgres://", 11) || !strncmp(path, "postgresql://", 13));
}

const char *sy__gw_pg_node(const sy_gw_pg *pg) { return pg->node; }

/* ---- the log: where, never who with which password ---- */

static void log_down(sy_gw_pg *pg, const char *operation, const char *error) {
  int64_t now = sy__clock_mono_us();
  pthread_mutex_lock(&pg->mu);
  int due = now - pg->logged_at_us >= LOG_EVERY_US;
  if (due) pg->logged_at_us = now;
  pthread_mutex_unlock(&pg->mu);
  if (!due) return;
  char msg[512];
  snprintf(msg, sizeof msg, "%s", error ? error : "unknown error");
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = 0;
  sy__log_stderr("error", "the budget ledger in PostgreSQL is unavailable: calls under a spending limit are refused",
                 json_pack("{ss ss ss}", "operation", operation, "postgres", pg->where, "error", msg));
}

/* host:port/db of conninfo, for the log. */
static void describe(const char *conninfo, char *out, size_t cap) {
  const char *host = "localhost", *port = "5432", *db = "";
  PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
  for (PQconninfoOption *o = opts; o && o->keyword; o++) {
    if (!o->val || !*o->val) continue;
    if (!strcmp(o->keyword, "host")) host = o->val;
    if (!strcmp(o->keyword, "port")) port = o->val;
    if (!strcmp(o->keyword, "dbname")) db = o->val;
  }
  snprintf(out, cap, "%s:%s/%s", host, port, db);
  PQconninfoFree(opts);
}

/* ---- connections: a small pool; a dead one is reset; after a failure, the worker reconnects ---- */

/* The server's notices ("relation already exists, skipping") are no news to the log. */
static void notice_ignore(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* Connects to conninfo with keepalives tight enough that a server gone from the network is
 * noticed in seconds, not at TCP's retransmission timeout of minutes: a call of the gateway's
 * loop waits on it. The URL's own settings win over these. */
static PGconn *connect_to(const char *conninfo) {
  static const char *const keys[] = {"keepalives",
                                     "keepalives_idle",
                                     "keepalives_interval",
                                     "keepalives_count",
                                     "tcp_user_timeout",
                                     "application_name",
                                     "dbname",
                                     NULL};
  const char *vals[] = {"1", "5", "2", "2", "5000", "switchyard-budget", conninfo, NULL};
  PGconn *c = PQconnectdbParams(keys, vals, 1);
  if (c) PQsetNoticeProcessor(c, notice_ignore, NULL);
  return c;
}

/* PostgreSQL did not answer: from now on only the worker tries, so that no call
 * (the gateway's loop among them) waits on connect_timeout again and again. */
static void mark_down(sy_gw_pg *pg, const char *operation, PGconn *c) {
  pthread_mutex_lock(&pg->mu);
  pg->down = 1;
  pthread_cond_signal(&pg->cv);
  pthread_mutex_unlock(&pg->mu);
  log_down(pg, operation, c ? PQerrorMessage(c) : "out of memory");
}

static int is_down(sy_gw_pg *pg) {
  pthread_mutex_lock(&pg->mu);
  int down = pg->down;
  pthread_mutex_unlock(&pg->mu);
  return down;
}

/* A working connection, or NULL (PostgreSQL unreachable: logged). */
static PGconn *conn_take(sy_gw_pg *pg, const char *operation) {
  pthread_mutex_lock(&pg->mu);
  PGconn *c = pg->nidle ? pg->idle[--pg->nidle] : NULL;
  int down = pg->down;
  pthread_mutex_unlock(&pg->mu);
  if (!c && down) {
    log_down(pg, operation, "unreachable at the last attempt; tried again in the background");
    return NULL;
  }
  if (!c)
    c = connect_to(pg->conninfo);
  else if (PQstatus(c) != CONNECTION_OK)
    PQreset(c);
  if (c && PQstatus(c) == CONNECTION_OK) return c;
  mark_down(pg, operation, c);
  PQfinish(c);
  return NULL;
}

/* A statement on a connection from the pool failed: if the connection died (with the server,
 * since it was last used), it is reset once, unless PostgreSQL is known to be down. 1 when it
 * works again and the statement may be tried once more. */
static int conn_revive(sy_gw_pg *pg, PGconn *c, const char *operation) {
  if (PQstatus(c) == CONNECTION_OK || is_down(pg)) return 0;
  PQreset(c);
  if (PQstatus(c) == CONNECTION_OK) return 1;
  mark_down(pg, operation, c);
  return 0;
}

/* Gives c back to the pool (a broken one is closed). */
static void conn_give(sy_gw_pg *pg, PGconn *c) {
  if (!c) return;
  if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) {
    pthread_mutex_lock(&pg->mu);
    if (pg->nidle < POOL_MAX) {
      pg->idle[pg->nidle++] = c;
      c = NULL;
    }
    pthread_mutex_unlock(&pg->mu);
  }
  PQfinish(c);
}

/* Runs sql with n text parameters; the result when it succeeded, else NULL (the error stays
 * in PQerrorMessage(c)). The caller PQclears it. */
static PGresult *run(PGconn *c, const char *sql, int n, const char *const *params) {
  PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
  ExecStatusType s = PQresultStatus(r);
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return r;
  PQclear(r);
  return NULL;
}

static int run_ok(PGconn *c, const char *sql, int n, const char *const *params) {
  PGresult *r = run(c, sql, n, params);
  PQclear(r);
  return r != NULL;
}

/* ---- values as parameters ---- */

/* names[0..n) as a text[] literal, {"a","b"}, each quoted with its \ and " escaped. malloc'd,
 * NULL on ENOMEM. */
static char *text_array(int n, const char *const names[]) {
  size_t cap = 3;
  for (int i = 0; i < n; i++) cap += 2 * strlen(names[i]) + 3;
  char *s = malloc(cap), *p = s;
  if (!s) return NULL;
  *p++ = '{';
  for (int i = 0; i < n; i++) {
    if (i) *p++ = ',';
    *p++ = '"';
    for (const char *c = names[i]; *c; c++) {
      if (*c == '"' || *c == '\\') *p++ = '\\';
      *p++ = *c;
    }
    *p++ = '"';
  }
  *p++ = '}';
  *p = 0;
  return s;
}

typedef struct num {
  char s[32];
} num;

static num i64(int64_t v) {
  num n;
  snprintf(n.s, sizeof n.s, "%lld", (long long)v);
  return n;
}

static int64_t col_i64(const PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- the database ---- */

/* A reservation in one round trip (the gateway's loop waits on it): locks each limit's (name,
 * day), in the order given (sorted, the same on every node: no two wait in a cycle), then sums
 * what every node spent and holds, each sum in a statement of its own that sees all committed
 * before its lock was granted. Refused: records the limit met (hard_at) and returns its index
 * (1-based); else reserves amount on every limit for node and returns 0. Its name carries a
 * version: a node of another release replaces only its own. */
#define RESERVE_FN                                                                                         \
  "CREATE OR REPLACE FUNCTION switchyard.budget_reserve_v1(p_day bigint, p_names text[], p_hard bigint[]," \
  " p_node text, p_amount bigint) RETURNS integer LANGUAGE plpgsql AS $fn$\n"                              \
  "DECLARE i integer; used bigint; n integer := coalesce(array_length(p_names, 1), 0);\n"                  \
  "BEGIN\n"                                                                                                \
  "  FOR i IN 1 .. n LOOP\n"                                                                               \
  "    PERFORM pg_advisory_xact_lock(hashtext(" LOCK_CLASS                                                 \
  " || p_names[i]), p_day::integer);\n"                                                                    \
  "  END LOOP;\n"                                                                                          \
  "  FOR i IN 1 .. n LOOP\n"                                                                               \
  "    SELECT coalesce(sum(consumed + reserved), 0) INTO used FROM switchyard.budget_spend\n"              \
  "      WHERE day = p_day AND name = p_names[i];\n"                                                       \
  "    IF used + p_amount > p_hard[i] THEN\n"                                                              \
  "      INSERT INTO switchyard.budget_spend AS b (day, name, node, hard_at)\n"                            \
  "        VALUES (p_day, p_names[i], p_node, p_hard[i]::double precision / 1e9::double precision)\n"      \
  "        ON CONFLICT (day, name, node) DO UPDATE SET hard_at = GREATEST(b.hard_at, excluded.hard_at);\n" \
  "      RETURN i;\n"                                                                                      \
  "    END IF;\n"                                                                                          \
  "  END LOOP;\n"                                                                                          \
  "  INSERT INTO switchyard.budget_spend AS b (day, name, node, reserved)\n"                               \
  "    SELECT p_day, u.n, p_node, p_amount FROM unnest(p_names) AS u(n)\n"                                 \
  "    ON CONFLICT (day, name, node) DO UPDATE SET reserved = b.reserved + excluded.reserved;\n"           \
  "  RETURN 0;\n"                                                                                          \
  "END $fn$"

/* Makes the table if missing and drops this node's reservations: whatever its last run held
 * died with it. Once per ledger, before its first reservation; 0 or -1 (logged). */
static int prepare(sy_gw_pg *pg, PGconn *c) {
  pthread_mutex_lock(&pg->init_mu);
  pthread_mutex_lock(&pg->mu);
  int ready = pg->ready;
  pthread_mutex_unlock(&pg->mu);
  int ok = 1;
  if (!ready) {
    const char *node[] = {pg->node};
    /* the table lives in the store's schema, made here too when there is no store (tests);
     * under the store's own schema lock, so that no two nodes, nor a store's migration, make
     * either at once */
    ok = run_ok(c, "BEGIN", 0, NULL) && run_ok(c, "SELECT pg_advisory_xact_lock(" KEY_SCHEMA ")", 0, NULL) &&
         run_ok(c, "CREATE SCHEMA IF NOT EXISTS switchyard", 0, NULL) &&
         run_ok(c,
                "CREATE TABLE IF NOT EXISTS switchyard.budget_spend (day bigint NOT NULL, name text NOT NULL, node "
                "text NOT NULL,"
                " consumed bigint NOT NULL DEFAULT 0, reserved bigint NOT NULL DEFAULT 0,"
                " requests bigint NOT NULL DEFAULT 0, hard_at double precision, PRIMARY KEY (day, name, node))",
                0, NULL) &&
         run_ok(c, RESERVE_FN, 0, NULL) &&
         run_ok(c, "UPDATE switchyard.budget_spend SET reserved = 0 WHERE node = $1 AND reserved <> 0", 1, node) &&
         run_ok(c, "COMMIT", 0, NULL);
    if (!ok) {
      log_down(pg, "prepare", PQerrorMessage(c));
      PQclear(PQexec(c, "ROLLBACK"));
    }
    pthread_mutex_lock(&pg->mu);
    pg->ready = ok;
    pthread_mutex_unlock(&pg->mu);
  }
  pthread_mutex_unlock(&pg->init_mu);
  return ok ? 0 : -1;
}

/* One settlement's statements, in the transaction open on c: the release on the reservation's
 * day when another, then the charge on day (with the release when the same day). 1 done, 0 not
 * (the error in PQerrorMessage(c)). */
static int settle_rows(PGconn *c, const char *node, int64_t resv_day, int64_t day, const char *names, int64_t amount,
                       int64_t cost) {
  num rd = i64(resv_day), d = i64(day), a = i64(amount), here = i64(resv_day == day ? amount : 0),
      co = i64(cost >= 0 ? cost : 0), rq = i64(cost >= 0 ? 1 : 0);
  if (resv_day != day) {
    const char *p[] = {rd.s, names, node, a.s};
    if (!run_ok(c,
                "UPDATE switchyard.budget_spend SET reserved = GREATEST(reserved - $4::bigint, 0)"
                " WHERE day = $1 AND name = ANY ($2::text[]) AND node = $3",
                4, p))
      return 0;
  }
  const char *p[] = {d.s, names, node, here.s, co.s, rq.s};
  return run_ok(c,
                "INSERT INTO switchyard.budget_spend (day, name, node, consumed, requests)"
                " SELECT $1, n, $3, $5, $6 FROM unnest($2::text[]) AS u(n)"
                " ON CONFLICT (day, name, node) DO UPDATE SET"
                " reserved = GREATEST(budget_spend.reserved - $4::bigint, 0),"
                " consumed = budget_spend.consumed + excluded.consumed,"
                " requests = budget_spend.requests + excluded.requests",
                6, p);
}

/* Writes the settlements waiting, in one transaction (one commit for them all); if that fails
 * they wait for the next try. 0 written (or none waiting), -1 not. */
static int pending_flush(sy_gw_pg *pg, PGconn *c) {
  pthread_mutex_lock(&pg->mu);
  pending *list = pg->pend;
  int n = pg->npend;
  pg->pend = NULL;
  pg->pend_tail = &pg->pend;
  pg->npend = 0;
  if (list) pg->flushing++;
  pthread_mutex_unlock(&pg->mu);
  if (!list) return 0;
  int ok = run_ok(c, "BEGIN", 0, NULL);
  for (pending *e = list; ok && e; e = e->next)
    ok = settle_rows(c, pg->node, e->resv_day, e->day, e->names, e->amount, e->cost);
  if (ok) ok = run_ok(c, "COMMIT", 0, NULL);
  if (!ok) {
    log_down(pg, "settle", PQerrorMessage(c));
    if (PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, "ROLLBACK"));
  }
  pthread_mutex_lock(&pg->mu);
  if (!ok) { /* back in front of what came meanwhile, in order */
    pending *last = list;
    while (last->next) last = last->next;
    last->next = pg->pend;
    if (!pg->pend) pg->pend_tail = &last->next;
    pg->pend = list;
    pg->npend += n;
    list = NULL;
  }
  pg->flushing--;
  pthread_cond_broadcast(&pg->flushed_cv);
  pthread_mutex_unlock(&pg->mu);
  while (list) {
    pending *e = list;
    list = e->next;
    free(e->names);
    free(e);
  }
  return ok ? 0 : -1;
}

static int has_pending(sy_gw_pg *pg) {
  pthread_mutex_lock(&pg->mu);
  int n = pg->npend;
  pthread_mutex_unlock(&pg->mu);
  return n > 0;
}

/* A connection ready for the ledger's statements (the database prepared), or NULL. */
static PGconn *conn_ready(sy_gw_pg *pg, const char *operation) {
  PGconn *c = conn_take(pg, operation);
  if (!c) return NULL;
  if (prepare(pg, c)) {
    conn_give(pg, c);
    return NULL;
  }
  return c;
}

/* Before a read: every settlement made so far is written (a batch the worker is writing is
 * waited for), so that what a client was answered is in the spend it reads next. */
static void settled(sy_gw_pg *pg, PGconn *c) {
  pthread_mutex_lock(&pg->mu);
  while (pg->flushing) pthread_cond_wait(&pg->flushed_cv, &pg->mu);
  int n = pg->npend;
  pthread_mutex_unlock(&pg->mu);
  if (n) pending_flush(pg, c);
}

/* The worker: writes the settlements (off the gateway's loop, many in one commit), and while
 * PostgreSQL is down tries a connection every RETRY_MS; the first that works goes to the pool
 * and ends the outage. */
static void *worker_main(void *arg) {
  sy_gw_pg *pg = arg;
  pthread_mutex_lock(&pg->mu);
  while (!pg->stop) {
    if (!pg->down && !pg->npend) {
      pthread_cond_wait(&pg->cv, &pg->mu);
      continue;
    }
    int down = pg->down;
    pthread_mutex_unlock(&pg->mu);
    int failed = 0;
    if (down) {
      PGconn *c = connect_to(pg->conninfo);
      failed = !c || PQstatus(c) != CONNECTION_OK;
      if (failed) log_down(pg, "reconnect", c ? PQerrorMessage(c) : "out of memory");
      if (!failed) {
        pthread_mutex_lock(&pg->mu);
        pg->down = 0;
        pthread_mutex_unlock(&pg->mu);
      }
      conn_give(pg, c); /* to the pool if it works */
    } else {
      PGconn *c = conn_ready(pg, "settle");
      failed = !c || pending_flush(pg, c); /* what came meanwhile goes next round, at once */
      conn_give(pg, c);
    }
    pthread_mutex_lock(&pg->mu);
    if (failed && !pg->stop) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += RETRY_MS / 1000;
      pthread_cond_timedwait(&pg->cv, &pg->mu, &ts);
    }
  }
  pthread_mutex_unlock(&pg->mu);
  return NULL;
}

/* ---- the calls ---- */

/* This node's id, which must name it across restarts (its reservations in the table are
 * dropped when it starts again) and apart from every other live node: $SWITCHYARD_NODE_ID if
 * set, else the host's name and a hash of the data directory's real path (one process at a
 * time holds a data directory); without one, of this process's directory and command line. */
static void node_id(const char *dir, char *out, size_t cap) {
  const char *env = getenv("SWITCHYARD_NODE_ID");
  if (env && *env) {
    snprintf(out, cap, "%s", env);
    return;
  }
  char host[128] = "localhost", buf[PATH_MAX];
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = 0;
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  size_t n = 0;
  if (dir && realpath(dir, buf)) {
    n = strlen(buf);
  } else if (dir) {
    n = (size_t)snprintf(buf, sizeof buf, "%s", dir);
  } else {
    if (getcwd(buf, sizeof buf))
      for (const char *c = buf; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    FILE *fp = fopen("/proc/self/cmdline", "rb");
    n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp) fclose(fp);
  }
  for (size_t i = 0; i < n && i < sizeof buf; i++) h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
  snprintf(out, cap, "%s/%016llx", host, (unsigned long long)h);
}

sy_rc sy__gw_pg_new(const char *url, const char *node, sy_gw_pg **out) {
  *out = NULL;
  PQconninfoOption *opts = PQconninfoParse(url, NULL);
  if (!opts) return SY_EINVAL;
  int has_timeout = 0;
  for (PQconninfoOption *o = opts; o->keyword; o++)
    if (!strcmp(o->keyword, "connect_timeout") && o->val && *o->val) has_timeout = 1;
  PQconninfoFree(opts);
  sy_gw_pg *pg = calloc(1, sizeof *pg);
  if (!pg) return SY_ENOMEM;
  /* an unreachable server must not hold a call for libpq's default of forever */
  size_t len = strlen(url) + 32;
  pg->conninfo = malloc(len);
  if (!pg->conninfo) {
    free(pg);
    return SY_ENOMEM;
  }
  snprintf(pg->conninfo, len, "%s%s", url,
           has_timeout        ? ""
           : strchr(url, '?') ? "&connect_timeout=2"
                              : "?connect_timeout=2");
  describe(pg->conninfo, pg->where, sizeof pg->where);
  if (node && *node)
    snprintf(pg->node, sizeof pg->node, "%s", node);
  else
    node_id(NULL, pg->node, sizeof pg->node);
  pthread_mutex_init(&pg->mu, NULL);
  pthread_mutex_init(&pg->init_mu, NULL);
  pthread_cond_init(&pg->cv, NULL);
  pthread_cond_init(&pg->flushed_cv, NULL);
  pg->pend_tail = &pg->pend;
  if (pthread_create(&pg->thread, NULL, worker_main, pg)) {
    sy__gw_pg_free(pg);
    return SY_EINTERNAL;
  }
  pg->thread_started = 1;
  conn_give(pg, conn_ready(pg, "open")); /* or at the first call that reaches PostgreSQL */
  *out = pg;
  return SY_OK;
}

void sy__gw_pg_free(sy_gw_pg *pg) {
  if (!pg) return;
  if (pg->thread_started) {
    pthread_mutex_lock(&pg->mu);
    pg->stop = 1;
    pthread_cond_signal(&pg->cv);
    pthread_mutex_unlock(&pg->mu);
    pthread_join(pg->thread, NULL);
  }
  if (has_pending(pg)) { /* the last settlements, if PostgreSQL can take them */
    PGconn *c = conn_ready(pg, "close");
    if (c) pending_flush(pg, c);
    conn_give(pg, c);
  }
  for (int i = 0; i < pg->nidle; i++) PQfinish(pg->idle[i]);
  while (pg->pend) {
    pending *e = pg->pend;
    pg->pend = e->next;
    free(e->names);
    free(e);
  }
  pthread_mutex_destroy(&pg->mu);
  pthread_mutex_destroy(&pg->init_mu);
  pthread_cond_destroy(&pg->cv);
  pthread_cond_destroy(&pg->flushed_cv);
  free(pg->conninfo);
  free(pg);
}

/* The order limits are locked in: every node takes them in strcmp order, so none waits in a
 * cycle. ord[] gets the indexes of names in that order. */
static void lock_order(int n, const char *const names[], int ord[]) {
  for (int i = 0; i < n; i++) {
    int j = i;
    for (; j > 0 && strcmp(names[ord[j - 1]], names[i]) > 0; j--) ord[j] = ord[j - 1];
    ord[j] = i;
  }
}

int sy__gw_pg_reserve(sy_gw_pg *pg, int64_t day, int n, const char *const names[], const int64_t hard[], int64_t amount,
                      int *refused) {
  if (n <= 0) return 0;
  if (n > SY_GW_LIMITS_MAX) return -2;
  int ord[SY_GW_LIMITS_MAX];
  const char *sorted[SY_GW_LIMITS_MAX];
  lock_order(n, names, ord);
  for (int i = 0; i < n; i++) sorted[i] = names[ord[i]];
  char *arr = text_array(n, sorted);
  char hards[SY_GW_LIMITS_MAX * 21 + 3], *h = hards;
  *h++ = '{';
  for (int i = 0; i < n; i++) h += snprintf(h, 22, "%s%lld", i ? "," : "", (long long)hard[ord[i]]);
  snprintf(h, 2, "}");
  PGconn *c = arr ? conn_ready(pg, "reserve") : NULL;
  if (!c) {
    free(arr);
    return -2;
  }
  num d = i64(day), a = i64(amount);
  const char *p[] = {d.s, arr, hards, pg->node, a.s};
  static const char sql[] = "SELECT switchyard.budget_reserve_v1($1, $2::text[], $3::bigint[], $4, $5)";
  PGresult *r = run(c, sql, 5, p);
  if (!r && conn_revive(pg, c, "reserve")) r = run(c, sql, 5, p);
  if (!r || PQntuples(r) != 1) log_down(pg, "reserve", r ? "no answer" : PQerrorMessage(c));
  long over = r && PQntuples(r) == 1 ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
  PQclear(r);
  free(arr);
  conn_give(pg, c);
  if (over < 0 || over > n) return -2;
  if (over == 0) return 0;
  if (refused) *refused = ord[over - 1];
  return -1;
}

void sy__gw_pg_settle(sy_gw_pg *pg, int64_t resv_day, int64_t day, int n, const char *const names[], int64_t amount,
                      int64_t cost) {
  if (n <= 0) return;
  char *arr = text_array(n, names);
  pending *e = arr ? calloc(1, sizeof *e) : NULL;
  pthread_mutex_lock(&pg->mu);
  int keep = e && pg->npend < PENDING_MAX;
  if (keep) {
    *e = (pending){NULL, resv_day, day, amount, cost, arr};
    *pg->pend_tail = e;
    pg->pend_tail = &e->next;
    pg->npend++;
    pthread_cond_signal(&pg->cv);
  }
  pthread_mutex_unlock(&pg->mu);
  if (!keep) { /* ENOMEM, or PostgreSQL away too long: the reservation holds until the node restarts */
    free(e);
    free(arr);
  }
}

sy_rc sy__gw_pg_total(sy_gw_pg *pg, int64_t day, const char *name, sy_gw_pg_total *out) {
  memset(out, 0, sizeof *out);
  out->hard_at = -1;
  PGconn *c = conn_ready(pg, "read");
  if (!c) return SY_EUNAVAILABLE;
  settled(pg, c);
  num d = i64(day);
  const char *p[] = {d.s, name};
  static const char sql[] =
      "SELECT coalesce(sum(consumed), 0), coalesce(sum(reserved), 0), coalesce(sum(requests), 0),"
      " coalesce(max(hard_at), -1) FROM switchyard.budget_spend WHERE day = $1 AND name = $2";
  PGresult *r = run(c, sql, 2, p);
  if (!r && conn_revive(pg, c, "read")) r = run(c, sql, 2, p);
  if (!r) log_down(pg, "read", PQerrorMessage(c));
  if (r && PQntuples(r) == 1) {
    out->consumed = col_i64(r, 0, 0);
    out->reserved = col_i64(r, 0, 1);
    out->requests = col_i64(r, 0, 2);
    out->hard_at = strtod(PQgetvalue(r, 0, 3), NULL);
  }
  sy_rc rc = r && PQntuples(r) == 1 ? SY_OK : SY_EUNAVAILABLE;
  PQclear(r);
  conn_give(pg, c);
  return rc;
}

sy_rc sy__gw_pg_day(sy_gw_pg *pg, int64_t day, sy_gw_pg_row **rows, int *n) {
  *rows = NULL;
  *n = 0;
  PGconn *c = conn_ready(pg, "read");
  if (!c) return SY_EUNAVAILABLE;
  settled(pg, c);
  num d = i64(day);
  const char *p[] = {d.s};
  static const char sql[] =
      "SELECT name, sum(consumed), sum(reserved), sum(requests), coalesce(max(hard_at), -1) FROM "
      "switchyard.budget_spend"
      " WHERE day = $1 GROUP BY name";
  PGresult *r = run(c, sql, 1, p);
  if (!r && conn_revive(pg, c, "read")) r = run(c, sql, 1, p);
  if (!r) log_down(pg, "read", PQerrorMessage(c));
  conn_give(pg, c);
  if (!r) return SY_EUNAVAILABLE;
  int rn = PQntuples(r);
  size_t size = (size_t)rn * sizeof **rows;
  for (int i = 0; i < rn; i++) size += (size_t)PQgetlength(r, i, 0) + 1;
  sy_gw_pg_row *out = malloc(size ? size : 1);
  if (!out) {
    PQclear(r);
    return SY_ENOMEM;
  }
  char *names = (char *)(out + rn);
  for (int i = 0; i < rn; i++) {
    size_t len = (size_t)PQgetlength(r, i, 0) + 1;
    memcpy(names, PQgetvalue(r, i, 0), len);
    out[i].name = names;
    names += len;
    out[i].t =
        (sy_gw_pg_total){col_i64(r, i, 1), col_i64(r, i, 2), col_i64(r, i, 3), strtod(PQgetvalue(r, i, 4), NULL)};
  }
  PQclear(r);
  *rows = out;
  *n = rn;
  return SY_OK;
}

/* ---- the gateway's side: a request's limits as names ---- */

sy_rc sy__gw_pg_open(sy_gateway *gw, const char *url) {
  char node[256];
  node_id(gw->store ? gw->store->dir : NULL, node, sizeof node);
  sy_rc rc = sy__gw_pg_new(url, node, &gw->pg);
  if (!rc)
    sy__log_stderr("info", "spending limits are kept in PostgreSQL",
                   json_pack("{ss ss}", "postgres", gw->pg->where, "node", gw->pg->node));
  return rc;
}

typedef struct limit_names {
  char buf[SY_GW_LIMITS_MAX][sizeof((sy_gw_spend *)0)->name];
  const char *names[SY_GW_LIMITS_MAX];
} limit_names;

int sy__gw_budget_reserve_pg(sy_gw_req *q, const sy_provider *p, int64_t w, int64_t day) {
  sy_gateway *gw = q->gw;
  limit_names *ln = malloc(sizeof *ln);
  if (!ln) return -1;
  int64_t hard[SY_GW_LIMITS_MAX];
  int spend[SY_GW_LIMITS_MAX], n = 0;
  pthread_mutex_lock(&gw->mu); /* gw->spend may move while it is not held */
  for (int i = 0; i < q->nlimits; i++) {
    const sy_gw_limit *l = &q->limits[i];
    if (l->provider[0] && strcmp(l->provider, p->name)) continue;
    snprintf(ln->buf[n], sizeof ln->buf[n], "%s", gw->spend[l->spend].name);
    ln->names[n] = ln->buf[n];
    hard[n] = sy__gw_nano(l->hard_usd);
    spend[n++] = l->spend;
  }
  pthread_mutex_unlock(&gw->mu);
  int refused = -1;
  int rc = sy__gw_pg_reserve(gw->pg, day, n, ln->names, hard, w, &refused);
  free(ln);
  if (rc == 0) {
    memcpy(q->resv, spend, (size_t)n * sizeof *spend);
    q->nresv = n;
    q->resv_nano = w;
    q->resv_day = day;
    return 0;
  }
  if (rc == -1 && refused >= 0) { /* this node's view of the refusal, until the next read */
    pthread_mutex_lock(&gw->mu);
    gw->spend[spend[refused]].hard_hit = 1;
    gw->spend[spend[refused]].hard_at = (double)hard[refused] / 1e9;
    pthread_mutex_unlock(&gw->mu);
  }
  return -1;
}

void sy__gw_budget_settle_pg(sy_gw_req *q, int64_t cost, int64_t day) {
  sy_gateway *gw = q->gw;
  limit_names *ln = malloc(sizeof *ln);
  int n = ln ? q->nresv : 0;
  pthread_mutex_lock(&gw->mu);
  for (int i = 0; i < n; i++) {
    snprintf(ln->buf[i], sizeof ln->buf[i], "%s", gw->spend[q->resv[i]].name);
    ln->names[i] = ln->buf[i];
  }
  pthread_mutex_unlock(&gw->mu);
  if (ln) sy__gw_pg_settle(gw->pg, q->resv_day, day, n, ln->names, q->resv_nano, cost);
  free(ln);
  q->nresv = 0;
}

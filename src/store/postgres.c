/* postgres.c — the store on PostgreSQL, which several nodes share (backend.h).
 *
 * PostgreSQL is the truth and the fan-out channel; nothing is replicated by hand. Every
 * node writes through the same rules and pipeline as with SQLite. A batch's transaction
 * takes one store-wide advisory lock first, then catches up on what other nodes committed
 * since this node last looked (catch_up: their audit records are the change log; each name
 * they touched is read back into the working snapshot), so the rules judge against the
 * latest state (an if_version is exact across nodes) and the audit chain goes on from its
 * true head: one sequence, no gap, no fork, whatever the clocks of the nodes say. COMMIT is
 * durable (synchronous_commit), and NOTIFY in the same transaction wakes the other nodes.
 *
 * Each node has a listener thread on a connection of its own: LISTEN is its wake-up, and
 * once a second it also compares the log's head with its snapshot, so a missed notification
 * loses nothing. Behind, it queues a SYNC op: the writer catches up and publishes the
 * snapshot and the change events, with the same sequence numbers as on every node. The
 * listener also holds the leader lease (a session advisory lock, freed by PostgreSQL when the
 * node's session ends) that says which node runs the singleton work.
 *
 * PostgreSQL out of reach: the snapshot keeps serving reads; writes fail at once (without
 * waiting on a connect more than twice a second) as unavailable; both connections come back
 * by themselves. Reads of what is not in memory run on a per-thread connection. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/rand.h>

#include "store/backend.h"
#include "store/store_int.h"

/* advisory lock keys: the store's write lock (per transaction), the schema (at open), the lease */
#define KEY_WRITE 0x5377697463680001LL
#define KEY_SCHEMA 0x5377697463680002LL
#define KEY_LEADER 0x5377697463680003LL
#define CHANNEL "switchyard_changes"
#define PG_SCHEMA_VERSION 1 /* the last of the migrations below */
#define RETRY_MS 500        /* a lost connection is tried again at most this often */
#define CATCH_UP_PAGE 5000
#define PREP_MAX 16

typedef struct pg_eng {
  char where[300]; /* "HOST:PORT/DB", for messages: never the password */
  char node[17];   /* this node's id in notifications: its own are not news */
  PGconn *w;       /* the writer's connection */
  int64_t w_retry_at;
  int w_down;
  char w_err[256];
  pthread_key_t reader_key;
  /* the listener */
  pthread_t lt;
  int lt_started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  int connected; /* the listener's connection is up */
  int leader;
  char l_err[256];
  int sync_pending; /* a SYNC op is queued (atomic) */
  int64_t base_seq; /* the log's head when the batch had caught up: what it writes comes after */
  int piped;        /* the batch's writes are queued in libpq's pipeline, their results read at the end */
  /* the writer's prepared statements: PostgreSQL parses and plans each write once per
   * connection, not once per row. Named "w<i>", known by their text's address (literals). */
  const char *prep[PREP_MAX];
  int nprep;
  int prep_stale; /* a pipeline failed: a queued PREPARE may have been skipped */
} pg_eng;

static pg_eng *eng(sy_store *st) { return st->eng; }

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq's message on one line, without its trailing newline. */
static void one_line(char *dst, size_t cap, const char *src) {
  size_t j = 0;
  int space = 0;
  for (size_t i = 0; src && src[i] && j + 1 < cap; i++) {
    char c = src[i];
    if (c == '\n' || c == '\t' || c == '\r') {
      space = j > 0;
      continue;
    }
    if (space && j + 2 < cap) dst[j++] = ' ';
    space = 0;
    dst[j++] = c;
  }
  dst[j] = 0;
}

/* ---- connections ---- */

/* Connects to url with keepalives tight enough that a partition is noticed within seconds,
 * on both ends (the session's own settings), into the store's schema. The URL's own
 * settings win over these defaults. */
/* libpq's notices (a server going down says so) would go raw to stderr, among the JSON log lines. */
static void quiet(void *arg, const char *message) { (void)arg, (void)message; }

static PGconn *pg_connect(const char *url) {
  static const char session_options[] =
      "-c search_path=switchyard -c tcp_keepalives_idle=5 "
      "-c tcp_keepalives_interval=2 -c tcp_keepalives_count=2 -c tcp_user_timeout=9000";
  static const char *const keys[] = {"connect_timeout",  "keepalives",
                                     "keepalives_idle",  "keepalives_interval",
                                     "keepalives_count", "tcp_user_timeout",
                                     "application_name", "options",
                                     "dbname",           NULL};
  const char *vals[] = {"3", "1", "5", "2", "2", "9000", "switchyard", session_options, url, NULL};
  PGconn *c = PQconnectdbParams(keys, vals, 1);
  if (c) PQsetNoticeProcessor(c, quiet, NULL);
  return c;
}

/* HOST:PORT/DB of url, for messages. */
static void describe(const char *url, char *out, size_t cap) {
  char *err = NULL;
  PQconninfoOption *opts = PQconninfoParse(url, &err);
  const char *host = NULL, *port = NULL, *db = NULL, *user = NULL;
  for (PQconninfoOption *o = opts; o && o->keyword; o++) {
    if (!o->val || !*o->val) continue;
    if (!strcmp(o->keyword, "host") || (!strcmp(o->keyword, "hostaddr") && !host)) host = o->val;
    if (!strcmp(o->keyword, "port")) port = o->val;
    if (!strcmp(o->keyword, "dbname")) db = o->val;
    if (!strcmp(o->keyword, "user")) user = o->val;
  }
  snprintf(out, cap, "%s:%s/%s", host ? host : "localhost", port ? port : "5432", db ? db : user ? user : "postgres");
  PQconninfoFree(opts);
  PQfreemem(err);
}

/* The writer's connection, (re)made when it was lost, at most every RETRY_MS; NULL while
 * PostgreSQL cannot be reached (e->w_err says why). */
static PGconn *writer_conn(sy_store *st) {
  pg_eng *e = eng(st);
  if (e->w && PQstatus(e->w) == CONNECTION_OK) return e->w;
  int64_t now = mono_ms();
  if (now < __atomic_load_n(&e->w_retry_at, __ATOMIC_RELAXED)) return NULL;
  __atomic_store_n(&e->w_retry_at, now + RETRY_MS, __ATOMIC_RELAXED);
  if (e->w) PQfinish(e->w);
  e->w = pg_connect(st->url);
  e->nprep = 0; /* a new session has none */
  e->prep_stale = 0;
  if (PQstatus(e->w) != CONNECTION_OK) {
    char why[200];
    one_line(why, sizeof why, PQerrorMessage(e->w));
    snprintf(e->w_err, sizeof e->w_err, "cannot connect to PostgreSQL at %.80s: %.120s", e->where, why);
    e->w_down = 1;
    return NULL;
  }
  if (e->w_down) sy__store_log(st, "info", "reconnected to PostgreSQL", json_pack("{ss}", "store", e->where));
  e->w_down = 0;
  e->w_err[0] = 0;
  return e->w;
}

static void reader_close(void *c) { PQfinish(c); }

/* The calling thread's own connection for reads, (re)made when lost; NULL if unreachable. */
static PGconn *reader_conn(sy_store *st) {
  pg_eng *e = eng(st);
  PGconn *c = pthread_getspecific(e->reader_key);
  if (c && PQstatus(c) == CONNECTION_OK) return c;
  if (c) PQfinish(c);
  c = pg_connect(st->url);
  if (PQstatus(c) != CONNECTION_OK) {
    char why[200];
    one_line(why, sizeof why, PQerrorMessage(c));
    sy__store_log(st, "error", "read failed", json_pack("{ss ss}", "step", "connect", "postgres", why));
    PQfinish(c);
    c = NULL;
  }
  pthread_setspecific(e->reader_key, c);
  return c;
}

/* ---- parameters and results ---- */

#define QMAX 20

/* A statement's parameters: text, or binary for values (bytea). */
typedef struct pgq {
  int n;
  const char *v[QMAX];
  int len[QMAX];
  int fmt[QMAX];
  char num[QMAX][24];
} pgq;

static void q_text(pgq *q, const char *s) {
  q->v[q->n] = s ? s : "";
  q->len[q->n] = 0;
  q->fmt[q->n++] = 0;
}
static void q_null(pgq *q) {
  q->v[q->n] = NULL;
  q->len[q->n] = 0;
  q->fmt[q->n++] = 0;
}
static void q_i64(pgq *q, int64_t x) {
  snprintf(q->num[q->n], sizeof q->num[0], "%" PRId64, x);
  q_text(q, q->num[q->n]);
}
static void q_blob(pgq *q, const void *p, size_t n) {
  q->v[q->n] = n ? p : "";
  q->len[q->n] = (int)n;
  q->fmt[q->n++] = 1;
}

/* Runs sql with q's parameters; results in binary. NULL (and the connection's error) when it failed. */
static PGresult *run_q(PGconn *c, const char *sql, const pgq *q) {
  PGresult *r = PQexecParams(c, sql, q ? q->n : 0, NULL, q ? q->v : NULL, q ? q->len : NULL, q ? q->fmt : NULL, 1);
  ExecStatusType s = PQresultStatus(r);
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return r;
  PQclear(r);
  return NULL;
}

static int64_t col_i64(const PGresult *r, int row, int col) {
  if (PQgetisnull(r, row, col)) return 0;
  const unsigned char *b = (const unsigned char *)PQgetvalue(r, row, col);
  int n = PQgetlength(r, row, col);
  int64_t x = 0;
  for (int i = 0; i < n; i++) x = (int64_t)(((uint64_t)x << 8) | b[i]);
  if (n == 4) x = (int32_t)x;
  return x;
}
static const char *col_text(const PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* ---- why a step failed ---- */

static json_t *pg_cause(PGconn *c, const char *step) {
  char why[300];
  one_line(why, sizeof why, c ? PQerrorMessage(c) : "no connection");
  return json_pack("{ss ss}", "step", step, "postgres", why);
}

static void explain(sy_store *st, const char *step) {
  pg_eng *e = eng(st);
  if (!st->cause && e->w && *PQerrorMessage(e->w)) st->cause = pg_cause(e->w, step);
}

static const char *errmsg(sy_store *st) {
  pg_eng *e = eng(st);
  static __thread char buf[300];
  if (!e->w || PQstatus(e->w) != CONNECTION_OK || e->w_err[0])
    return e->w_err[0] ? e->w_err : "PostgreSQL is out of reach";
  one_line(buf, sizeof buf, PQerrorMessage(e->w));
  return buf[0] ? buf : "PostgreSQL refused the transaction";
}

static int down(sy_store *st) {
  pg_eng *e = eng(st);
  return !e->w || PQstatus(e->w) != CONNECTION_OK;
}

/* Queues a statement in the pipeline: its result is read by flush. A prepared one (i >= 0)
 * runs by name. */
static sy_rc send_q(sy_store *st, int i, const char *sql, const pgq *q) {
  pg_eng *e = eng(st);
  int n = q ? q->n : 0;
  const char *const *v = q ? q->v : NULL;
  const int *len = q ? q->len : NULL, *fmt = q ? q->fmt : NULL;
  char name[16];
  snprintf(name, sizeof name, "w%d", i);
  if (i >= 0 ? PQsendQueryPrepared(e->w, name, n, v, len, fmt, 1)
             : PQsendQueryParams(e->w, sql, n, NULL, v, len, fmt, 1))
    return SY_OK;
  if (!st->cause) st->cause = pg_cause(e->w, sql);
  return PQstatus(e->w) == CONNECTION_OK ? SY_EIO : SY_EUNAVAILABLE;
}

/* The index of sql among the writer's prepared statements, preparing it on first use (queued
 * when the pipeline is on); -1 when it cannot be, and it then runs unnamed. */
static int prepared(sy_store *st, const char *sql, int nparams) {
  pg_eng *e = eng(st);
  for (int i = 0; i < e->nprep; i++)
    if (e->prep[i] == sql) return i;
  if (e->nprep == PREP_MAX) return -1;
  char name[16];
  snprintf(name, sizeof name, "w%d", e->nprep);
  if (e->piped) {
    if (!PQsendPrepare(e->w, name, sql, nparams, NULL)) return -1;
  } else {
    PGresult *r = PQprepare(e->w, name, sql, nparams, NULL);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) return -1;
  }
  e->prep[e->nprep] = sql;
  return e->nprep++;
}

/* Reads the results of everything queued since the pipeline was entered or last flushed,
 * up to a sync point: SY_OK when every statement succeeded. After a failure PostgreSQL
 * skips the rest, and the transaction can only be rolled back. */
static sy_rc flush(sy_store *st) {
  pg_eng *e = eng(st);
  sy_rc rc = SY_OK;
  if (!PQpipelineSync(e->w)) rc = SY_EUNAVAILABLE;
  for (int nulls = 0; rc != SY_EUNAVAILABLE;) {
    PGresult *r = PQgetResult(e->w);
    if (!r) {
      if (PQstatus(e->w) != CONNECTION_OK || ++nulls > 1000000) {
        rc = SY_EUNAVAILABLE;
        break;
      }
      continue; /* the end of one statement's results */
    }
    ExecStatusType t = PQresultStatus(r);
    if (t == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    if (t == PGRES_FATAL_ERROR && !rc) {
      if (!st->cause)
        st->cause = json_pack("{ss ss}", "step", "a write of the batch", "postgres", PQresultErrorMessage(r));
      rc = SY_EIO;
    }
    PQclear(r);
  }
  if (rc == SY_EUNAVAILABLE && !st->cause) st->cause = pg_cause(e->w, "the batch's writes");
  if (rc) e->prep_stale = 1;
  return rc;
}

static void pipe_enter(sy_store *st) {
  pg_eng *e = eng(st);
  e->piped = PQenterPipelineMode(e->w) == 1;
}

/* Reads what is queued and leaves the pipeline, for a statement whose result the writer needs now. */
static sy_rc pipe_leave(sy_store *st) {
  pg_eng *e = eng(st);
  if (!e->piped) return SY_OK;
  sy_rc rc = flush(st);
  e->piped = 0;
  if (!PQexitPipelineMode(e->w) && !rc) rc = SY_EUNAVAILABLE;
  return rc;
}

/* Runs a write statement (prepared once per connection) on the writer's connection. */
static sy_rc wq(sy_store *st, const char *sql, const pgq *q) {
  pg_eng *e = eng(st);
  if (!e->w) return SY_EUNAVAILABLE;
  int i = prepared(st, sql, q->n);
  if (e->piped) return send_q(st, i, sql, q);
  PGresult *r;
  if (i >= 0) {
    char name[16];
    snprintf(name, sizeof name, "w%d", i);
    r = PQexecPrepared(e->w, name, q->n, q->v, q->len, q->fmt, 1);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      PQclear(r);
      r = NULL;
    }
  } else {
    r = run_q(e->w, sql, q);
  }
  if (!r) {
    if (!st->cause) st->cause = pg_cause(e->w, sql);
    return PQstatus(e->w) == CONNECTION_OK ? SY_EIO : SY_EUNAVAILABLE;
  }
  PQclear(r);
  return SY_OK;
}

/* ---- the transaction ---- */

/* Simple-protocol statements (no parameters: several in one round trip) on the writer's connection. */
static sy_rc wexec(sy_store *st, const char *sql) {
  pg_eng *e = eng(st);
  if (e->piped) return send_q(st, -1, sql, NULL); /* one statement each, then */
  PGresult *r = PQexec(e->w, sql);
  ExecStatusType s = PQresultStatus(r);
  PQclear(r);
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return SY_OK;
  if (!st->cause) st->cause = pg_cause(e->w, sql);
  return PQstatus(e->w) == CONNECTION_OK ? SY_EIO : SY_EUNAVAILABLE;
}

/* The batch's transaction, holding the store-wide write lock until it ends: one writer at a
 * time across nodes, so the sequence and the chain go on from their true head. */
static sy_rc begin(sy_store *st) {
  pg_eng *e = eng(st);
  static char locked[96];
  if (!locked[0]) snprintf(locked, sizeof locked, "BEGIN; SELECT pg_advisory_xact_lock(%lld)", (long long)KEY_WRITE);
  /* a batch that only catches up takes no lock: commits become visible in sequence order, so
   * one consistent view of the log and the rows is enough (propagation never waits on writers) */
  const char *sql = st->batch_syncs_only ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" : locked;
  if (!writer_conn(st)) return SY_EUNAVAILABLE;
  if (e->prep_stale) { /* what a failed pipeline may have skipped is made again */
    PQclear(PQexec(e->w, "DEALLOCATE ALL"));
    e->nprep = 0;
    e->prep_stale = 0;
  }
  sy_rc rc = wexec(st, sql);
  if (rc && PQstatus(e->w) != CONNECTION_OK) {
    /* a connection PostgreSQL closed while idle (it restarted) shows only when used: once more */
    json_decref(st->cause);
    st->cause = NULL;
    e->w_retry_at = 0;
    if (!writer_conn(st)) return SY_EUNAVAILABLE;
    rc = wexec(st, sql);
  }
  if (rc && PQstatus(e->w) == CONNECTION_OK) PQclear(PQexec(e->w, "ROLLBACK"));
  return rc;
}

/* Commits, waking the other nodes when the batch wrote anything (not for a mere catch-up,
 * which would wake them back, and so on). */
static sy_rc commit(sy_store *st) {
  pg_eng *e = eng(st);
  sy_rc rc = SY_OK;
  if (st->last_seq != e->base_seq) {
    char sql[160]; /* digits and hex only: nothing to quote */
    snprintf(sql, sizeof sql, "SELECT pg_notify('" CHANNEL "', '%" PRId64 ":%s')", st->last_seq, e->node);
    rc = wexec(st, sql);
  }
  /* every write of the batch, the wake-up and COMMIT are read back here, in one round trip;
   * the writes' failure is the commit's (the batch is rolled back, nothing is acknowledged) */
  if (!rc) rc = wexec(st, "COMMIT");
  sy_rc rc2 = pipe_leave(st);
  return rc ? rc : rc2;
}

static void abort_batch(sy_store *st) {
  pg_eng *e = eng(st);
  if (!e->w || PQstatus(e->w) != CONNECTION_OK) return;
  json_t *keep = st->cause; /* what failed first stays the cause */
  st->cause = NULL;
  pipe_leave(st);
  json_decref(st->cause);
  st->cause = keep;
  PQclear(PQexec(e->w, "ROLLBACK"));
}
static sy_rc savepoint(sy_store *st) { return wexec(st, "SAVEPOINT op"); }
static sy_rc release(sy_store *st) { return wexec(st, "RELEASE SAVEPOINT op"); }
static sy_rc undo(sy_store *st) {
  sy_rc rc = wexec(st, "ROLLBACK TO SAVEPOINT op");
  return rc ? rc : wexec(st, "RELEASE SAVEPOINT op");
}
/* COMMIT came back once PostgreSQL had it on disk: nothing more to do. */
static int sync_nothing(sy_store *st) {
  (void)st;
  return 0;
}

/* ---- rows ---- */

#define VER_COLS                                                                                              \
  "version, kind, tier, value, description, pattern, modified_ms, modified_user, labels, key_id, data_type, " \
  "policies, schema"
#define VER_COLS_V                                                                                           \
  "v.version, v.kind, v.tier, v.value, v.description, v.pattern, v.modified_ms, v.modified_user, v.labels, " \
  "v.key_id, v.data_type, v.policies, v.schema"
#define PARAM_COLS                                                                                    \
  "name, oldest, tags, latest, kind, tier, value, description, pattern, modified_ms, modified_user, " \
  "labels, key_id, data_type, policies, schema"

/* A version's columns, in VER_COLS order. */
static void q_version(pgq *q, const sy_ver *v, char *csv, size_t csvsz) {
  q_i64(q, v->version);
  q_i64(q, v->kind);
  q_i64(q, v->tier);
  q_blob(q, v->value, v->value_len);
  if (v->description)
    q_text(q, v->description);
  else
    q_null(q);
  if (v->allowed_pattern)
    q_text(q, v->allowed_pattern);
  else
    q_null(q);
  q_i64(q, v->modified_ms);
  if (v->modified_user)
    q_text(q, v->modified_user);
  else
    q_null(q);
  q_text(q, sy__labels_csv(v, csv, csvsz));
  q_text(q, v->key_id);
  q_text(q, v->data_type);
  q_text(q, v->policies);
  q_text(q, v->schema);
}

static sy_rc put_version(sy_store *st, const char *name, const sy_ver *v, const char *reason) {
  char csv[1200];
  pgq q = {0};
  q_text(&q, name);
  q_version(&q, v, csv, sizeof csv);
  q_text(&q, reason);
  return wq(st,
            "INSERT INTO versions (name, " VER_COLS
            ", reason) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)"
            " ON CONFLICT (name, version) DO UPDATE SET kind = EXCLUDED.kind, tier = EXCLUDED.tier,"
            " value = EXCLUDED.value, description = EXCLUDED.description, pattern = EXCLUDED.pattern,"
            " modified_ms = EXCLUDED.modified_ms, modified_user = EXCLUDED.modified_user, labels = EXCLUDED.labels,"
            " key_id = EXCLUDED.key_id, data_type = EXCLUDED.data_type, policies = EXCLUDED.policies,"
            " schema = EXCLUDED.schema, reason = EXCLUDED.reason",
            &q);
}

static sy_rc set_labels(sy_store *st, const char *name, const sy_ver *v) {
  char csv[1200];
  pgq q = {0};
  q_text(&q, sy__labels_csv(v, csv, sizeof csv));
  q_text(&q, name);
  q_i64(&q, v->version);
  return wq(st, "UPDATE versions SET labels = $1 WHERE name = $2 AND version = $3", &q);
}

static sy_rc drop_versions(sy_store *st, const char *name, int64_t upto) {
  pgq q = {0};
  q_text(&q, name);
  q_i64(&q, upto);
  return wq(st, "DELETE FROM versions WHERE name = $1 AND version <= $2", &q);
}

static sy_rc put_param(sy_store *st, const sy_param *p) {
  char csv[1200];
  char *tags = sy__tags_json(p);
  if (!tags) return SY_ENOMEM;
  pgq q = {0};
  q_text(&q, p->name);
  q_i64(&q, p->oldest);
  q_text(&q, tags);
  q_version(&q, p->latest, csv, sizeof csv);
  sy_rc rc = wq(st,
                "INSERT INTO params (" PARAM_COLS
                ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)"
                " ON CONFLICT (name) DO UPDATE SET oldest = EXCLUDED.oldest, tags = EXCLUDED.tags,"
                " latest = EXCLUDED.latest, kind = EXCLUDED.kind, tier = EXCLUDED.tier, value = EXCLUDED.value,"
                " description = EXCLUDED.description, pattern = EXCLUDED.pattern, modified_ms = EXCLUDED.modified_ms,"
                " modified_user = EXCLUDED.modified_user, labels = EXCLUDED.labels, key_id = EXCLUDED.key_id,"
                " data_type = EXCLUDED.data_type, policies = EXCLUDED.policies, schema = EXCLUDED.schema",
                &q);
  free(tags);
  return rc;
}

static sy_rc drop_param(sy_store *st, const char *name) {
  pgq q = {0};
  q_text(&q, name);
  sy_rc rc = wq(st, "DELETE FROM versions WHERE name = $1", &q);
  return rc ? rc : wq(st, "DELETE FROM params WHERE name = $1", &q);
}

static sy_rc append_audit(sy_store *st, const sy_audit_rec *r, const char *hash, const sy_event *ev) {
  pgq q = {0};
  q_i64(&q, r->seq);
  q_text(&q, r->time);
  q_i64(&q, ev->time_ms);
  q_text(&q, r->actor);
  q_text(&q, r->action);
  q_text(&q, r->name);
  q_i64(&q, r->old_version);
  q_i64(&q, r->new_version);
  q_text(&q, r->old_digest);
  q_text(&q, r->new_digest);
  q_text(&q, r->reason);
  q_text(&q, r->detail);
  q_text(&q, r->prev_hash);
  q_text(&q, hash);
  q_i64(&q, ev->kind);
  if (ev->value)
    q_blob(&q, ev->value, ev->value_len);
  else
    q_null(&q);
  return wq(st,
            "INSERT INTO audit (seq, time, time_ms, actor, action, name, old_version, new_version, old_digest,"
            " new_digest, reason, detail, prev_hash, hash, kind, value)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
            &q);
}

static sy_rc put_token(sy_store *st, const sy_token *t) {
  pgq q = {0};
  q_text(&q, t->name);
  q_text(&q, t->hash);
  q_i64(&q, t->scopes);
  q_i64(&q, t->created_ms);
  q_i64(&q, t->revoked_ms);
  q_text(&q, t->route ? t->route : "");
  return wq(st,
            "INSERT INTO tokens (name, hash, scopes, created_ms, revoked_ms, route) VALUES ($1,$2,$3,$4,$5,$6)"
            " ON CONFLICT (name) DO UPDATE SET hash = EXCLUDED.hash, scopes = EXCLUDED.scopes,"
            " created_ms = EXCLUDED.created_ms, revoked_ms = EXCLUDED.revoked_ms, route = EXCLUDED.route",
            &q);
}

static sy_rc put_key(sy_store *st, const sy_akey *k) {
  pgq q = {0};
  q_text(&q, k->id);
  q_text(&q, k->name);
  q_blob(&q, k->sealed, k->sealed_len);
  q_i64(&q, k->scopes);
  q_i64(&q, k->created_ms);
  q_i64(&q, k->revoked_ms);
  return wq(st,
            "INSERT INTO access_keys (id, name, secret, scopes, created_ms, revoked_ms) VALUES ($1,$2,$3,$4,$5,$6)"
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, secret = EXCLUDED.secret,"
            " scopes = EXCLUDED.scopes, created_ms = EXCLUDED.created_ms, revoked_ms = EXCLUDED.revoked_ms",
            &q);
}

/* ---- reading rows back ---- */

/* A version from columns c.. in VER_COLS order. */
static sy_rc ver_from_row(const PGresult *r, int row, int c, sy_ver **out) {
  sy_ver_meta m = {col_text(r, row, c + 9), col_text(r, row, c + 10), col_text(r, row, c + 11),
                   col_text(r, row, c + 12)};
  sy_ver *v = sy__ver_make_meta(PQgetvalue(r, row, c + 3), (size_t)PQgetlength(r, row, c + 3), col_text(r, row, c + 4),
                                col_text(r, row, c + 5), col_text(r, row, c + 7), &m);
  if (!v) return SY_ENOMEM;
  v->version = col_i64(r, row, c);
  v->kind = (sy_kind)col_i64(r, row, c + 1);
  v->tier = (sy_tier)col_i64(r, row, c + 2);
  v->modified_ms = col_i64(r, row, c + 6);
  const char *labels = col_text(r, row, c + 8);
  sy_rc rc = labels && *labels ? sy__ver_set_labels(v, labels) : SY_OK;
  if (rc) {
    sy__ver_unref(v);
    return rc;
  }
  *out = v;
  return SY_OK;
}

/* A parameter from a row in PARAM_COLS order, its latest version compiled. */
static sy_rc param_from_row(const PGresult *r, int row, sy_param **out) {
  const char *name = PQgetvalue(r, row, 0);
  sy_param *p = sy__param_new(name, (size_t)PQgetlength(r, row, 0));
  if (!p) return SY_ENOMEM;
  p->oldest = col_i64(r, row, 1);
  sy_rc rc = sy__tags_from_json(p, col_text(r, row, 2));
  if (!rc) rc = ver_from_row(r, row, 3, &p->latest);
  char msg[SY_MSG_MAX];
  if (!rc && sy__ver_compile(p->latest, name[0] == '/' ? name + 1 : name, msg, sizeof msg) == SY_ENOMEM) rc = SY_ENOMEM;
  if (rc) {
    sy__param_unref(p);
    return rc;
  }
  *out = p;
  return SY_OK;
}

static char *dup_col(const PGresult *r, int row, int col) {
  const char *t = col_text(r, row, col);
  return strdup(t ? t : "");
}

/* Every token and access key. */
static sy_rc load_auth(PGconn *c, sy_auth **out) {
  sy_rc rc = SY_OK;
  sy_auth *a = calloc(1, sizeof *a);
  *out = NULL;
  if (!a) return SY_ENOMEM;
  a->refs = 1;
  PGresult *r = run_q(c, "SELECT name, hash, scopes, created_ms, revoked_ms, route FROM tokens", NULL);
  PGresult *k = r ? run_q(c,
                          "SELECT id, name, secret, scopes, created_ms, revoked_ms FROM access_keys"
                          " ORDER BY id COLLATE \"C\"",
                          NULL)
                  : NULL;
  if (!r || !k) rc = SY_EIO;
  if (!rc && PQntuples(r) && !(a->tokens = calloc((size_t)PQntuples(r), sizeof *a->tokens))) rc = SY_ENOMEM;
  for (int i = 0; !rc && a->tokens && i < PQntuples(r); i++) {
    sy_token *t = &a->tokens[a->ntokens];
    t->name = dup_col(r, i, 0);
    t->route = dup_col(r, i, 5);
    if (!t->name || !t->route) {
      free(t->name);
      free(t->route);
      rc = SY_ENOMEM;
      break;
    }
    a->ntokens++;
    snprintf(t->hash, sizeof t->hash, "%s", PQgetvalue(r, i, 1));
    t->scopes = (unsigned)col_i64(r, i, 2);
    t->created_ms = col_i64(r, i, 3);
    t->revoked_ms = col_i64(r, i, 4);
  }
  if (!rc && PQntuples(k) && !(a->keys = calloc((size_t)PQntuples(k), sizeof *a->keys))) rc = SY_ENOMEM;
  for (int i = 0; !rc && a->keys && i < PQntuples(k); i++) {
    sy_akey *ak = &a->keys[a->nkeys];
    snprintf(ak->id, sizeof ak->id, "%s", PQgetvalue(k, i, 0));
    ak->name = dup_col(k, i, 1);
    ak->sealed_len = (size_t)PQgetlength(k, i, 2);
    ak->sealed = malloc(ak->sealed_len ? ak->sealed_len : 1);
    if (!ak->name || !ak->sealed) {
      free(ak->name);
      free(ak->sealed);
      rc = SY_ENOMEM;
      break;
    }
    memcpy(ak->sealed, PQgetvalue(k, i, 2), ak->sealed_len);
    ak->scopes = (unsigned)col_i64(k, i, 3);
    ak->created_ms = col_i64(k, i, 4);
    ak->revoked_ms = col_i64(k, i, 5);
    a->nkeys++;
  }
  PQclear(r);
  PQclear(k);
  if (rc) {
    sy__auth_unref(a);
    return rc;
  }
  if (a->ntokens) qsort(a->tokens, (size_t)a->ntokens, sizeof *a->tokens, sy__token_cmp);
  *out = a;
  return SY_OK;
}

static void note_expiry(sy_store *st, const sy_param *p) {
  int64_t at = p->latest->expires_ms;
  if (at && (!st->next_expiry_ms || at < st->next_expiry_ms)) st->next_expiry_ms = at;
}

/* The load at open: every parameter in name order, the labelled versions, the credentials,
 * the audit log's head and the store's id, in one repeatable-read transaction so that
 * they agree with each other. */
static sy_rc load(sy_store *st, sy_snap *snap) {
  pg_eng *e = eng(st);
  PGconn *c = e->w;
  sy_param **arr = NULL;
  size_t n = 0;
  sy_rc rc = SY_OK;
  PQclear(PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ"));
  PGresult *r = run_q(c, "SELECT " PARAM_COLS " FROM params ORDER BY name COLLATE \"C\"", NULL);
  if (!r) rc = SY_EIO;
  if (!rc && PQntuples(r) && !(arr = calloc((size_t)PQntuples(r), sizeof *arr))) rc = SY_ENOMEM;
  for (int i = 0; !rc && arr && i < PQntuples(r); i++) {
    rc = param_from_row(r, i, &arr[n]);
    if (!rc) note_expiry(st, arr[n++]);
  }
  PQclear(r);
  r = rc ? NULL
         : run_q(c,
                 "SELECT v.name, " VER_COLS_V
                 " FROM versions v JOIN params p ON p.name = v.name"
                 " WHERE v.labels <> '' AND v.version <> p.latest ORDER BY v.name COLLATE \"C\", v.version",
                 NULL);
  if (!rc && !r) rc = SY_EIO;
  for (int i = 0; !rc && i < PQntuples(r); i++) {
    sy_param key = {.name = PQgetvalue(r, i, 0)};
    sy_param *kp = &key;
    sy_param **hit = n ? bsearch(&kp, arr, n, sizeof *arr, sy__param_name_cmp) : NULL;
    if (!hit) continue;
    sy_ver *v = NULL;
    rc = ver_from_row(r, i, 1, &v);
    if (!rc) rc = sy__param_add_labeled(*hit, v);
  }
  PQclear(r);
  if (!rc) rc = load_auth(c, &snap->auth);
  if (!rc) snap->auth->gen = ++st->auth_gen;
  st->last_seq = 0;
  memcpy(st->last_hash, sy__audit_genesis, SY_HASH_HEX);
  r = rc ? NULL : run_q(c, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", NULL);
  if (!rc && !r) rc = SY_EIO;
  if (!rc && PQntuples(r)) {
    st->last_seq = col_i64(r, 0, 0);
    snprintf(st->last_hash, sizeof st->last_hash, "%s", PQgetvalue(r, 0, 1));
  }
  PQclear(r);
  r = rc ? NULL : run_q(c, "SELECT v FROM meta WHERE k = 'store_id'", NULL);
  if (!rc && !r) rc = SY_EIO;
  if (!rc && PQntuples(r)) snprintf(st->id, sizeof st->id, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  if (rc) {
    if (!st->cause) st->cause = pg_cause(c, "load the store");
    snprintf(e->w_err, sizeof e->w_err, "%s", json_string_value(json_object_get(st->cause, "postgres")));
  }
  PQclear(PQexec(c, rc ? "ROLLBACK" : "COMMIT"));
  if (rc) {
    for (size_t i = 0; i < n; i++) sy__param_unref(arr[i]);
    free(arr);
    return rc;
  }
  snap->root = sy__tree_build(arr, n);
  snap->count = n;
  free(arr);
  return (n && !snap->root) ? SY_ENOMEM : SY_OK;
}

/* ---- catching up on other nodes' commits (the writer, under the write lock) ---- */

static int credential_action(const char *a) { return !strncmp(a, "token.", 6) || !strncmp(a, "key.", 4); }

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Reads back every parameter the log names in (from, to] into the working tree, in two
 * queries whatever their number (the work is done under the store-wide lock): its new state,
 * or, for a name no longer there, its absence. names are the names seen, sorted here. */
static sy_rc reload_names(sy_store *st, int64_t from, int64_t to, char **names, size_t n) {
  PGconn *c = eng(st)->w;
  sy_rc rc = SY_OK;
  if (!n) return SY_OK;
  qsort(names, n, sizeof *names, str_cmp);
  pgq q = {0};
  q_i64(&q, from);
  q_i64(&q, to);
  PGresult *r = run_q(c,
                      "SELECT " PARAM_COLS
                      " FROM params WHERE name IN (SELECT name FROM audit WHERE seq > $1 AND"
                      " seq <= $2) ORDER BY name COLLATE \"C\"",
                      &q);
  PGresult *l = r ? run_q(c,
                          "SELECT v.name, " VER_COLS_V
                          " FROM versions v JOIN params p ON p.name = v.name"
                          " WHERE v.labels <> '' AND v.version <> p.latest AND v.name IN (SELECT name FROM audit"
                          " WHERE seq > $1 AND seq <= $2) ORDER BY v.name COLLATE \"C\", v.version",
                          &q)
                  : NULL;
  if (!r || !l) rc = SY_EIO;
  int rows = rc ? 0 : PQntuples(r), li = 0, nl = rc ? 0 : PQntuples(l);
  size_t ni = 0;
  for (int i = 0; !rc && i < rows; i++) {
    sy_param *p = NULL;
    rc = param_from_row(r, i, &p);
    if (rc) break;
    while (li < nl && strcmp(PQgetvalue(l, li, 0), p->name) < 0) li++;
    for (; !rc && li < nl && !strcmp(PQgetvalue(l, li, 0), p->name); li++) {
      sy_ver *v = NULL;
      rc = ver_from_row(l, li, 1, &v);
      if (!rc) rc = sy__param_add_labeled(p, v);
    }
    /* the names before this one that are gone */
    for (; !rc && ni < n && strcmp(names[ni], p->name) < 0; ni++) rc = sy__work_del(st, names[ni]);
    for (; ni < n && !strcmp(names[ni], p->name); ni++) {
    }
    if (rc) {
      sy__param_unref(p);
      break;
    }
    note_expiry(st, p);
    rc = sy__work_put(st, p);
  }
  for (; !rc && ni < n; ni++) rc = sy__work_del(st, names[ni]);
  PQclear(r);
  PQclear(l);
  return rc;
}

static sy_rc catch_up(sy_store *st) {
  pg_eng *e = eng(st);
  char **names = NULL;
  size_t nn = 0, cap = 0;
  int auth = 0;
  sy_rc rc = SY_OK;
  int64_t from = st->last_seq;
  for (;;) {
    pgq q = {0};
    q_i64(&q, st->last_seq);
    q_i64(&q, CATCH_UP_PAGE);
    PGresult *r = run_q(e->w,
                        "SELECT seq, time_ms, action, name, new_version, kind, value, detail, hash FROM audit"
                        " WHERE seq > $1 ORDER BY seq LIMIT $2",
                        &q);
    if (!r) {
      if (!st->cause) st->cause = pg_cause(e->w, "catch up on other nodes' changes");
      rc = down(st) ? SY_EUNAVAILABLE : SY_EIO;
      break;
    }
    int rows = PQntuples(r);
    for (int i = 0; !rc && i < rows; i++) {
      sy_event ev = {.seq = col_i64(r, i, 0),
                     .time_ms = col_i64(r, i, 1),
                     .action = PQgetvalue(r, i, 2),
                     .name = PQgetvalue(r, i, 3),
                     .version = col_i64(r, i, 4),
                     .kind = (sy_kind)col_i64(r, i, 5),
                     .detail = PQgetvalue(r, i, 7)};
      if (ev.seq != st->last_seq + 1) { /* the sequence has no gaps: a hole means the log is not what we think */
        st->cause = json_pack("{ss sI sI}", "step", "catch up", "expected_seq", (json_int_t)st->last_seq + 1,
                              "found_seq", (json_int_t)ev.seq);
        rc = SY_EIO;
        break;
      }
      if (!PQgetisnull(r, i, 6)) {
        ev.value = PQgetvalue(r, i, 6);
        ev.value_len = (size_t)PQgetlength(r, i, 6);
      }
      rc = sy__event_queue(st, &ev);
      if (rc) break;
      if (credential_action(ev.action)) {
        auth = 1;
      } else {
        if (nn == cap) {
          cap = cap ? cap * 2 : 64;
          char **nw = realloc(names, cap * sizeof *nw);
          if (!nw) {
            rc = SY_ENOMEM;
            break;
          }
          names = nw;
        }
        if (!(names[nn] = strdup(ev.name))) {
          rc = SY_ENOMEM;
          break;
        }
        nn++;
      }
      st->last_seq = ev.seq;
      snprintf(st->last_hash, sizeof st->last_hash, "%s", PQgetvalue(r, i, 8));
    }
    PQclear(r);
    if (rc || rows < CATCH_UP_PAGE) break;
  }
  if (!rc) rc = reload_names(st, from, st->last_seq, names, nn);
  e->base_seq = st->last_seq;
  /* from here the batch only writes: queue it all, read the results once at commit */
  if (!rc && !st->batch_syncs_only) pipe_enter(st);
  if (!rc && auth) {
    sy_auth *a = NULL;
    rc = load_auth(e->w, &a);
    if (!rc) {
      a->gen = ++st->auth_gen;
      sy__auth_unref(st->work_auth);
      st->work_auth = a;
    }
  }
  for (size_t i = 0; i < nn; i++) free(names[i]);
  free(names);
  return rc;
}

/* ---- reads of what is not in memory, on the calling thread's connection ---- */

static sy_rc read_failed(sy_store *st, PGconn *c, const char *step) {
  json_t *f = pg_cause(c, step);
  if (f) json_object_set_new(f, "status", json_string(sy_strerror(SY_EIO)));
  sy__store_log(st, "error", "read failed", f);
  return c && PQstatus(c) == CONNECTION_OK ? SY_EIO : SY_EUNAVAILABLE;
}

static sy_rc read_version_on(PGconn *c, const char *name, int64_t version, sy_ver **out) {
  pgq q = {0};
  *out = NULL;
  q_text(&q, name);
  q_i64(&q, version);
  PGresult *r = run_q(c, "SELECT " VER_COLS " FROM versions WHERE name = $1 AND version = $2", &q);
  if (!r) return SY_EIO;
  sy_rc rc = PQntuples(r) ? ver_from_row(r, 0, 0, out) : SY_EVERSION_NOTFOUND;
  PQclear(r);
  return rc;
}

/* The writer's own read of a kept version, inside the batch's transaction. */
static sy_rc read_version(sy_store *st, const char *name, int64_t version, sy_ver **out) {
  sy_rc rc = pipe_leave(st); /* the rows queued so far first, and the answer now */
  if (rc) return rc;
  rc = read_version_on(eng(st)->w, name, version, out);
  pipe_enter(st);
  if (rc == SY_EIO) explain(st, "read a version");
  return rc;
}

static sy_rc read_kept(sy_store *st, const char *name, int64_t version, sy_ver **out) {
  PGconn *c = reader_conn(st);
  if (!c) return SY_EUNAVAILABLE;
  sy_rc rc = read_version_on(c, name, version, out);
  return rc == SY_EIO ? read_failed(st, c, "read a version") : rc;
}

static sy_rc history(sy_store *st, const char *name, int64_t after_version, int limit, sy_ver_cb cb, void *ctx,
                     int *more) {
  PGconn *c = reader_conn(st);
  *more = 0;
  if (!c) return SY_EUNAVAILABLE;
  pgq q = {0};
  q_text(&q, name);
  q_i64(&q, after_version);
  q_i64(&q, (int64_t)limit + 1);
  PGresult *r = run_q(c,
                      "SELECT " VER_COLS
                      ", reason FROM versions WHERE name = $1 AND version > $2"
                      " ORDER BY version LIMIT $3",
                      &q);
  if (!r) return read_failed(st, c, "read the history");
  sy_rc rc = SY_OK;
  int rows = PQntuples(r);
  for (int i = 0; !rc && i < rows; i++) {
    if (i == limit) {
      *more = 1;
      break;
    }
    sy_ver *v = NULL;
    rc = ver_from_row(r, i, 0, &v);
    if (rc) break;
    cb(ctx, v, PQgetvalue(r, i, 13));
    sy__ver_unref(v);
  }
  PQclear(r);
  return rc;
}

#define AUDIT_COLS \
  "seq, time, actor, action, name, old_version, new_version, old_digest, new_digest, reason, detail, prev_hash, hash"

static void audit_from_row(const PGresult *r, int i, sy_audit_rec *a) {
  a->seq = col_i64(r, i, 0);
  a->time = PQgetvalue(r, i, 1);
  a->actor = PQgetvalue(r, i, 2);
  a->action = PQgetvalue(r, i, 3);
  a->name = PQgetvalue(r, i, 4);
  a->old_version = col_i64(r, i, 5);
  a->new_version = col_i64(r, i, 6);
  a->old_digest = PQgetvalue(r, i, 7);
  a->new_digest = PQgetvalue(r, i, 8);
  a->reason = PQgetvalue(r, i, 9);
  a->detail = PQgetvalue(r, i, 10);
  a->prev_hash = PQgetvalue(r, i, 11);
}

static sy_rc audit(sy_store *st, const sy_audit_query *aq, sy_audit_cb cb, void *ctx, int64_t *resume) {
  PGconn *c = reader_conn(st);
  *resume = 0;
  if (!c) return SY_EUNAVAILABLE;
  int64_t lower, upper;
  const sy_snap *sn = sy__snap_enter(st);
  int64_t last = sn->seq;
  sy__snap_leave(st);
  int filtered = sy__audit_window(aq, last, &lower, &upper);
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT " AUDIT_COLS
           " FROM audit WHERE ($1::text IS NULL OR name = $1) AND seq > $2 AND ($3 = 0 OR seq < $3)"
           " AND time_ms >= $4 ORDER BY seq %s LIMIT $5",
           aq->asc ? "ASC" : "DESC");
  pgq q = {0};
  if (aq->name)
    q_text(&q, aq->name);
  else
    q_null(&q);
  q_i64(&q, lower);
  q_i64(&q, upper);
  q_i64(&q, aq->since_ms);
  q_i64(&q, aq->limit);
  PGresult *r = run_q(c, sql, &q);
  if (!r) return read_failed(st, c, "read the audit log");
  int n = PQntuples(r);
  for (int i = 0; i < n; i++) {
    sy_audit_rec a;
    audit_from_row(r, i, &a);
    cb(ctx, &a, PQgetvalue(r, i, 12));
  }
  PQclear(r);
  if (filtered && n < aq->limit) *resume = sy__audit_resume(aq, lower, upper);
  return SY_OK;
}

/* The whole chain in pages, so that memory stays bounded however long the log. */
static sy_rc audit_walk(sy_store *st, sy_audit_cb cb, void *ctx) {
  PGconn *c = reader_conn(st);
  if (!c) return SY_EUNAVAILABLE;
  int64_t after = 0;
  for (;;) {
    pgq q = {0};
    q_i64(&q, after);
    PGresult *r = run_q(c, "SELECT " AUDIT_COLS " FROM audit WHERE seq > $1 ORDER BY seq LIMIT 10000", &q);
    if (!r) return read_failed(st, c, "read the audit chain");
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
      sy_audit_rec a;
      audit_from_row(r, i, &a);
      cb(ctx, &a, PQgetvalue(r, i, 12));
      after = a.seq;
    }
    PQclear(r);
    if (n < 10000) return SY_OK;
  }
}

static sy_rc events(sy_store *st, int64_t after, int limit, sy_event_cb cb, void *ctx) {
  PGconn *c = reader_conn(st);
  if (!c) return SY_EUNAVAILABLE;
  pgq q = {0};
  q_i64(&q, after);
  q_i64(&q, limit);
  PGresult *r = run_q(c,
                      "SELECT seq, time_ms, action, name, new_version, kind, value, detail FROM audit"
                      " WHERE seq > $1 ORDER BY seq LIMIT $2",
                      &q);
  if (!r) return read_failed(st, c, "read the change events");
  for (int i = 0; i < PQntuples(r); i++) {
    sy_event ev = {.seq = col_i64(r, i, 0),
                   .time_ms = col_i64(r, i, 1),
                   .action = PQgetvalue(r, i, 2),
                   .name = PQgetvalue(r, i, 3),
                   .version = col_i64(r, i, 4),
                   .kind = (sy_kind)col_i64(r, i, 5),
                   .detail = PQgetvalue(r, i, 7)};
    if (!PQgetisnull(r, i, 6)) {
      ev.value = PQgetvalue(r, i, 6);
      ev.value_len = (size_t)PQgetlength(r, i, 6);
    }
    cb(ctx, &ev);
  }
  PQclear(r);
  return SY_OK;
}

/* ---- the schema ---- */

static const char *const tables =
    "CREATE SCHEMA IF NOT EXISTS switchyard;"
    "CREATE TABLE IF NOT EXISTS switchyard.meta (k text PRIMARY KEY, v text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS switchyard.params ("
    "  name text COLLATE \"C\" PRIMARY KEY, oldest bigint NOT NULL, latest bigint NOT NULL,"
    "  kind bigint NOT NULL, tier bigint NOT NULL, value bytea NOT NULL, description text, pattern text,"
    "  modified_ms bigint NOT NULL, modified_user text, labels text NOT NULL DEFAULT '',"
    "  tags text NOT NULL DEFAULT '{}', key_id text NOT NULL DEFAULT '', data_type text NOT NULL DEFAULT '',"
    "  policies text NOT NULL DEFAULT '', schema text NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS switchyard.versions ("
    "  name text COLLATE \"C\" NOT NULL, version bigint NOT NULL, kind bigint NOT NULL, tier bigint NOT NULL,"
    "  value bytea NOT NULL, description text, pattern text, modified_ms bigint NOT NULL, modified_user text,"
    "  labels text NOT NULL DEFAULT '', reason text NOT NULL DEFAULT '', key_id text NOT NULL DEFAULT '',"
    "  data_type text NOT NULL DEFAULT '', policies text NOT NULL DEFAULT '', schema text NOT NULL DEFAULT '',"
    "  PRIMARY KEY (name, version));"
    "CREATE INDEX IF NOT EXISTS versions_labelled ON switchyard.versions (name) WHERE labels <> '';"
    "CREATE TABLE IF NOT EXISTS switchyard.audit ("
    "  seq bigint PRIMARY KEY, time text NOT NULL, time_ms bigint NOT NULL, actor text NOT NULL,"
    "  action text NOT NULL, name text NOT NULL, old_version bigint NOT NULL, new_version bigint NOT NULL,"
    "  old_digest text NOT NULL, new_digest text NOT NULL, reason text NOT NULL, detail text NOT NULL,"
    "  prev_hash text NOT NULL, hash text NOT NULL, kind bigint NOT NULL DEFAULT 0, value bytea);"
    "CREATE TABLE IF NOT EXISTS switchyard.tokens ("
    "  name text PRIMARY KEY, hash text NOT NULL UNIQUE, scopes bigint NOT NULL, created_ms bigint NOT NULL,"
    "  revoked_ms bigint NOT NULL DEFAULT 0, route text NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS switchyard.access_keys ("
    "  id text PRIMARY KEY, name text NOT NULL UNIQUE, secret bytea NOT NULL, scopes bigint NOT NULL,"
    "  created_ms bigint NOT NULL, revoked_ms bigint NOT NULL DEFAULT 0);"
    "INSERT INTO switchyard.meta (k, v) VALUES ('store_id', md5(random()::text || clock_timestamp()::text))"
    "  ON CONFLICT DO NOTHING;";

/* The migrations of the PostgreSQL store, in order; the last one's number is PG_SCHEMA_VERSION.
 * A new one goes at the end with the next number. */
static const struct migration {
  int to;
  const char *what;
  const char *sql;
} migrations[] = {
    {1, "the tables of a new store", NULL},
};
_Static_assert(sizeof migrations / sizeof migrations[0] == PG_SCHEMA_VERSION, "one migration per schema");

/* A statement of the schema step; SY_EIO with msg naming it. */
static sy_rc schema_exec(PGconn *c, const char *sql, const char *where, char *msg, size_t msgsz) {
  PGresult *r = PQexec(c, sql);
  ExecStatusType s = PQresultStatus(r);
  PQclear(r);
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return SY_OK;
  char why[300];
  one_line(why, sizeof why, PQerrorMessage(c));
  snprintf(msg, msgsz, "cannot bring the store at %s up to date: %s", where, why);
  return SY_EIO;
}

/* The schema number the store records: 0 for a database without one. */
static sy_rc stored_schema(PGconn *c, const char *where, int *out, char *msg, size_t msgsz) {
  *out = 0;
  PGresult *r = run_q(c, "SELECT to_regclass('switchyard.meta') IS NOT NULL", NULL);
  if (!r) return schema_exec(c, "SELECT 1/0", where, msg, msgsz); /* says why, through the connection */
  int has = PQntuples(r) && PQgetvalue(r, 0, 0)[0];
  PQclear(r);
  if (!has) return SY_OK;
  r = run_q(c, "SELECT v FROM switchyard.meta WHERE k = 'schema'", NULL);
  if (!r) return SY_EIO;
  const char *v = PQntuples(r) ? PQgetvalue(r, 0, 0) : NULL;
  char *end = NULL;
  long n = v ? strtol(v, &end, 10) : 0;
  sy_rc rc = SY_OK;
  if (v && (!*v || *end || n < 1 || n > 1000000)) {
    snprintf(msg, msgsz, "the store at %s records schema '%.32s', which is not a schema number", where, v);
    rc = SY_EIO;
  } else {
    *out = v ? (int)n : 0;
  }
  PQclear(r);
  return rc;
}

/* Brings the store's schema to PG_SCHEMA_VERSION in one transaction, under a lock that makes
 * nodes starting together take turns; a dry run rolls it back. */
static sy_rc schema_upgrade(PGconn *c, const char *where, int dry_run, sy__schema_report *rep, char *msg,
                            size_t msgsz) {
  memset(rep, 0, sizeof *rep);
  rep->to = PG_SCHEMA_VERSION;
  sy_rc rc = schema_exec(c, "BEGIN", where, msg, msgsz);
  char lock[80];
  snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld)", (long long)KEY_SCHEMA);
  if (!rc) rc = schema_exec(c, lock, where, msg, msgsz);
  if (!rc) rc = stored_schema(c, where, &rep->from, msg, msgsz);
  if (!rc && rep->from > PG_SCHEMA_VERSION) {
    snprintf(msg, msgsz, "the store at %s is of schema %d; this build knows schemas up to %d: upgrade switchyard",
             where, rep->from, PG_SCHEMA_VERSION);
    rc = SY_EINVAL;
  }
  if (!rc && rep->from < PG_SCHEMA_VERSION) {
    rc = schema_exec(c, tables, where, msg, msgsz);
    for (size_t i = 0; !rc && i < sizeof migrations / sizeof migrations[0]; i++) {
      if (migrations[i].to <= rep->from) continue;
      if (migrations[i].sql) rc = schema_exec(c, migrations[i].sql, where, msg, msgsz);
      size_t len = strlen(rep->did);
      snprintf(rep->did + len, sizeof rep->did - len, "%s%s%s", len ? ", " : "", dry_run ? "would add " : "added ",
               migrations[i].what);
    }
    char set[160];
    snprintf(set, sizeof set,
             "INSERT INTO switchyard.meta (k, v) VALUES ('schema', '%d') ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
             PG_SCHEMA_VERSION);
    if (!rc) rc = schema_exec(c, set, where, msg, msgsz);
  }
  if (!rc && !dry_run) return schema_exec(c, "COMMIT", where, msg, msgsz);
  PQclear(PQexec(c, "ROLLBACK"));
  return rc;
}

/* ---- open, start, close ---- */

static sy_rc pg_open(sy_store *st, int dry_run, sy__schema_report *rep, char *msg, size_t msgsz) {
  pg_eng *e = calloc(1, sizeof *e);
  if (!e) return SY_ENOMEM;
  st->eng = e;
  pthread_key_create(&e->reader_key, reader_close);
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->cv, NULL);
  unsigned char rnd[8];
  RAND_bytes(rnd, sizeof rnd);
  for (int i = 0; i < 8; i++) snprintf(e->node + 2 * i, 3, "%02x", rnd[i]);
  char *perr = NULL;
  PQconninfoOption *ok = PQconninfoParse(st->url, &perr);
  if (!ok) {
    char why[200];
    one_line(why, sizeof why, perr ? perr : "out of memory");
    PQfreemem(perr);
    snprintf(msg, msgsz, "invalid PostgreSQL URL: %s", why);
    return SY_EINVAL;
  }
  PQconninfoFree(ok);
  describe(st->url, e->where, sizeof e->where);
  /* this node's own files (the master key, the admin token) stay in its data directory */
  if (!st->migrate_only && mkdir(st->dir, 0700) && errno != EEXIST) {
    snprintf(msg, msgsz, "cannot create data directory %s: %s", st->dir, strerror(errno));
    return SY_EIO;
  }
  sy_rc rc = st->migrate_only ? SY_OK : sy__dir_lock(st->dir, &st->lock_fd, msg, msgsz);
  if (rc) return rc;
  e->w = pg_connect(st->url);
  if (PQstatus(e->w) != CONNECTION_OK) {
    char why[300];
    one_line(why, sizeof why, PQerrorMessage(e->w));
    snprintf(msg, msgsz, "cannot connect to PostgreSQL at %.80s: %.120s", e->where, why);
    return SY_EUNAVAILABLE;
  }
  return schema_upgrade(e->w, e->where, dry_run, rep, msg, msgsz);
}

static sy_rc key_check(sy_store *st, const char *check_hex, char *msg, size_t msgsz) {
  pg_eng *e = eng(st);
  pgq q = {0};
  q_text(&q, check_hex);
  PGresult *r = run_q(e->w, "INSERT INTO meta (k, v) VALUES ('key_check', $1) ON CONFLICT DO NOTHING", &q);
  PQclear(r);
  r = r ? run_q(e->w, "SELECT v FROM meta WHERE k = 'key_check'", NULL) : NULL;
  if (!r) {
    char why[300];
    one_line(why, sizeof why, PQerrorMessage(e->w));
    snprintf(msg, msgsz, "cannot read the store at %s: %s", e->where, why);
    return SY_EIO;
  }
  int same = PQntuples(r) && !strcmp(PQgetvalue(r, 0, 0), check_hex);
  PQclear(r);
  if (same) return SY_OK;
  snprintf(msg, msgsz,
           "the master key of this node (%s/master.key or SWITCHYARD_MASTER_KEY_FILE) is not the one the store at %s"
           " seals its secrets with: give every node the same key",
           st->dir, e->where);
  return SY_EINVAL;
}

static void sync_done(sy_op *op) {
  sy_store *st = op->ctx;
  __atomic_store_n(&eng(st)->sync_pending, 0, __ATOMIC_RELEASE);
  sy__op_clear(op);
  free(op);
}

/* Asks the writer to catch up (one SYNC op at a time). */
static void request_sync(sy_store *st) {
  pg_eng *e = eng(st);
  if (__atomic_exchange_n(&e->sync_pending, 1, __ATOMIC_ACQ_REL)) return;
  sy_op *op = calloc(1, sizeof *op);
  if (op) {
    op->kind = SY_OP_SYNC;
    op->actor = "sync";
    op->done = sync_done;
    op->ctx = st;
    if (!sy__store_submit(st, op)) return;
    free(op);
  }
  __atomic_store_n(&e->sync_pending, 0, __ATOMIC_RELEASE);
}

static int64_t published_seq(sy_store *st) {
  const sy_snap *s = sy__snap_enter(st);
  int64_t seq = s->seq;
  sy__snap_leave(st);
  return seq;
}

/* Waits up to ms for stop; 1 when stopping. */
static int wait_stop(pg_eng *e, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
  pthread_mutex_lock(&e->mu);
  if (!e->stop) pthread_cond_timedwait(&e->cv, &e->mu, &ts);
  int stop = e->stop;
  pthread_mutex_unlock(&e->mu);
  return stop;
}

static void set_state(sy_store *st, int connected, int leader, const char *err) {
  pg_eng *e = eng(st);
  pthread_mutex_lock(&e->mu);
  int was = e->connected, led = e->leader;
  e->connected = connected;
  e->leader = leader;
  if (err) snprintf(e->l_err, sizeof e->l_err, "%s", err);
  pthread_mutex_unlock(&e->mu);
  if (was && !connected)
    sy__store_log(st, "error", "lost PostgreSQL: serving reads from the snapshot, refusing writes",
                  json_pack("{ss ss}", "store", e->where, "error", err ? err : ""));
  if (leader != led)
    sy__store_log(st, "info", leader ? "this node is the leader" : "this node is no longer the leader",
                  json_pack("{ss}", "store", e->where));
}

/* The head of the log, or -1 when the query failed. */
static int64_t log_head(PGconn *c) {
  PGresult *r = run_q(c, "SELECT coalesce(max(seq), 0)::bigint FROM audit", NULL);
  if (!r) return -1;
  int64_t h = col_i64(r, 0, 0);
  PQclear(r);
  return h;
}

static void *listener_main(void *arg) {
  sy_store *st = arg;
  pg_eng *e = eng(st);
  PGconn *c = NULL;
  int leader = 0;
  int64_t next_look = 0;
  while (!wait_stop(e, 0)) {
    if (!c || PQstatus(c) != CONNECTION_OK) {
      if (c) PQfinish(c);
      leader = 0;
      c = pg_connect(st->url);
      PGresult *r = PQstatus(c) == CONNECTION_OK ? run_q(c, "LISTEN " CHANNEL, NULL) : NULL;
      if (!r) {
        char why[300], err[256];
        one_line(why, sizeof why, PQerrorMessage(c));
        snprintf(err, sizeof err, "cannot reach PostgreSQL at %.80s: %.120s", e->where, why);
        set_state(st, 0, 0, err);
        PQfinish(c);
        c = NULL;
        wait_stop(e, RETRY_MS);
        continue;
      }
      PQclear(r);
      set_state(st, 1, 0, "");
      __atomic_store_n(&e->w_retry_at, 0, __ATOMIC_RELAXED); /* the writer need not wait its turn to retry */
      next_look = 0;                                         /* what was missed while away: look now */
    }
    if (!leader) {
      pgq q = {0};
      q_i64(&q, KEY_LEADER);
      PGresult *r = run_q(c, "SELECT pg_try_advisory_lock($1::bigint)", &q);
      if (r) leader = PQntuples(r) && PQgetvalue(r, 0, 0)[0] == 1;
      PQclear(r);
      if (r) set_state(st, 1, leader, NULL);
    }
    int64_t now = mono_ms();
    if (now >= next_look) { /* the truth, once a second: a lost notification costs at most that */
      next_look = now + 1000;
      int64_t head = log_head(c);
      if (head > published_seq(st)) request_sync(st);
      if (head < 0) continue; /* the connection's state says what happened */
    }
    struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
    int pr = pfd.fd >= 0 ? poll(&pfd, 1, 200) : -1;
    if (pr < 0 || (pr > 0 && !PQconsumeInput(c))) {
      PQfinish(c); /* lost: the session, and with it the lease, is gone */
      c = NULL;
      set_state(st, 0, 0, "lost the connection to PostgreSQL");
      continue;
    }
    PGnotify *n;
    int news = 0;
    int64_t mine = published_seq(st);
    while ((n = PQnotifies(c))) {
      const char *colon = strchr(n->extra, ':');
      /* another node's commit, past what this node shows */
      if (!colon || (strcmp(colon + 1, e->node) && strtoll(n->extra, NULL, 10) > mine)) news = 1;
      PQfreemem(n);
    }
    if (news) request_sync(st);
  }
  if (c) PQfinish(c);
  return NULL;
}

static void start(sy_store *st) {
  pg_eng *e = eng(st);
  if (pthread_create(&e->lt, NULL, listener_main, st) == 0) e->lt_started = 1;
}

static void pg_close(sy_store *st) {
  pg_eng *e = eng(st);
  if (!e) return;
  if (e->lt_started) {
    pthread_mutex_lock(&e->mu);
    e->stop = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->lt, NULL);
  }
  if (e->w) PQfinish(e->w);
  PGconn *rc = pthread_getspecific(e->reader_key);
  if (rc) PQfinish(rc);
  pthread_setspecific(e->reader_key, NULL);
  pthread_key_delete(e->reader_key);
  pthread_mutex_destroy(&e->mu);
  pthread_cond_destroy(&e->cv);
  free(e);
  st->eng = NULL;
}

static void status(sy_store *st, sy_store_status *out) {
  pg_eng *e = eng(st);
  pthread_mutex_lock(&e->mu);
  out->connected = e->connected;
  out->leader = e->connected && e->leader;
  if (!e->connected) snprintf(out->error, sizeof out->error, "%s", e->l_err);
  pthread_mutex_unlock(&e->mu);
}

const sy_backend sy__pg_backend = {
    .open = pg_open,
    .begin = begin,
    .commit = commit,
    .abort = abort_batch,
    .savepoint = savepoint,
    .release = release,
    .undo = undo,
    .sync = sync_nothing,
    .explain = explain,
    .errmsg = errmsg,
    .read_version = read_version,
    .put_version = put_version,
    .set_labels = set_labels,
    .drop_versions = drop_versions,
    .put_param = put_param,
    .drop_param = drop_param,
    .append_audit = append_audit,
    .put_token = put_token,
    .put_key = put_key,
    .catch_up = catch_up,
    .start = start,
    .close = pg_close,
    .status = status,
    .down = down,
    .key_check = key_check,
    .load = load,
    .read_kept = read_kept,
    .history = history,
    .audit = audit,
    .events = events,
    .audit_walk = audit_walk,
};

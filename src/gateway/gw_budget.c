/* gw_budget.c — daily spending limits without overshoot: a request reserves its worst-case
 * cost on every limit that applies before it is sent, and settles to its real cost from the
 * answer's usage; a reservation that would cross a hard limit is refused (the provider is
 * skipped as if its breaker were open). Spend per limit and UTC day is kept in a ledger, a
 * SQLite file beside the store, written by a thread of its own every FLUSH_MS and at stop, read
 * back at start; or, when the ledger's path is a PostgreSQL URL, in the database the nodes of
 * one store share (gw_budget_pg.c), where every reservation is taken and settled. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/param.h"
#include "gateway/gw_int.h"

#define DAY_MS 86400000
#define FLUSH_MS 200

static int64_t nano(double usd) { return sy__gw_nano(usd); }
static double usd_of(int64_t n) { return (double)n / 1e9; }

static int64_t today(sy_gateway *gw) { return sy__clock_now(gw->clock) / DAY_MS; }

/* A limit's spend today: a new day starts from nothing. gw->mu held. */
static void roll(sy_gw_spend *e, int64_t day) {
  if (e->day == day) return;
  e->day = day;
  e->consumed = e->reserved = 0;
  e->requests = 0;
  e->hard_hit = 0;
  e->dirty = 1;
}

/* The spend entry of the limit named name, made if new. gw->mu held. -1 on ENOMEM. */
static int spend_index(sy_gateway *gw, const char *name) {
  for (int i = 0; i < gw->nspend; i++)
    if (!strcmp(gw->spend[i].name, name)) return i;
  if (gw->nspend == gw->cap_spend) {
    int cap = gw->cap_spend ? gw->cap_spend * 2 : 16;
    sy_gw_spend *n = realloc(gw->spend, (size_t)cap * sizeof *n);
    if (!n) return -1;
    gw->spend = n;
    gw->cap_spend = cap;
  }
  sy_gw_spend *e = &gw->spend[gw->nspend];
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  e->day = today(gw);
  return gw->nspend++;
}

/* ---- planning: the limits of a request ---- */

typedef struct limits_walk {
  sy_gw_req *q;
} limits_walk;

static int add_limit(void *ctx, const sy_param *p) {
  limits_walk *w = ctx;
  sy_gw_req *q = w->q;
  const sy_ver *v = p->latest;
  if (!v || v->kind != SY_KIND_LIMIT || !v->compiled || q->nlimits == SY_GW_LIMITS_MAX) return 0;
  const sy_limit *l = v->compiled->obj;
  if (l->type == SY_LIMIT_PER_ROUTE && strcmp(l->scope, q->route)) return 0; /* another route's */
  int idx = spend_index(q->gw, p->name);
  if (idx < 0) return 0;
  sy_gw_limit *ql = &q->limits[q->nlimits++];
  ql->spend = idx;
  ql->hard_usd = l->hard_usd;
  snprintf(ql->provider, sizeof ql->provider, "%.64s", l->type == SY_LIMIT_PER_PROVIDER ? l->scope : "");
  return 0;
}

void sy__gw_budget_plan(sy_gw_req *q, const sy_snap *s) {
  limits_walk w = {q};
  pthread_mutex_lock(&q->gw->mu);
  sy__snap_list(s, SY_LIMITS_PREFIX, 1, NULL, add_limit, &w);
  pthread_mutex_unlock(&q->gw->mu);
  /* the worst case counts every byte of the request as a token: measured only when it matters */
  if (q->nlimits && !q->body_bytes) q->body_bytes = json_dumpb(q->body, NULL, 0, JSON_COMPACT);
}

/* ---- reserve and settle ---- */

/* The most a call to p may cost: every byte of the request a token of input, the output the
 * request allows (max_tokens, else the provider's cap) for each choice, and its images. */
static int64_t worst_case(const sy_gw_req *q, const sy_provider *p) {
  const json_t *b = q->body;
  json_int_t out = json_integer_value(json_object_get(b, "max_completion_tokens"));
  if (out <= 0) out = json_integer_value(json_object_get(b, "max_tokens"));
  if (out <= 0 || out > p->max_output_tokens) out = p->max_output_tokens;
  json_int_t n = json_integer_value(json_object_get(b, "n"));
  if (n <= 0) n = 1;
  double images = q->op == SY_GW_CHAT ? 0 : (double)n;
  return nano((double)q->body_bytes / 1000.0 * p->price_in_1k + (double)n * (double)out / 1000.0 * p->price_out_1k +
              images * p->price_image);
}

int sy__gw_budget_reserve(sy_gw_req *q, const sy_provider *p) {
  if (!q->nlimits) return 0;
  sy_gateway *gw = q->gw;
  int64_t w = worst_case(q, p);
  int64_t day = today(gw);
  if (gw->pg) return sy__gw_budget_reserve_pg(q, p, w, day);
  int refused = 0;
  pthread_mutex_lock(&gw->mu);
  for (int i = 0; i < q->nlimits && !refused; i++) {
    const sy_gw_limit *l = &q->limits[i];
    if (l->provider[0] && strcmp(l->provider, p->name)) continue;
    sy_gw_spend *e = &gw->spend[l->spend];
    roll(e, day);
    if (e->consumed + e->reserved + w > nano(l->hard_usd)) {
      refused = 1;
      e->hard_hit = 1;
      e->hard_at = l->hard_usd;
    }
  }
  if (!refused) {
    q->nresv = 0;
    for (int i = 0; i < q->nlimits; i++) {
      const sy_gw_limit *l = &q->limits[i];
      if (l->provider[0] && strcmp(l->provider, p->name)) continue;
      gw->spend[l->spend].reserved += w;
      q->resv[q->nresv++] = l->spend;
    }
    q->resv_nano = w;
  }
  pthread_mutex_unlock(&gw->mu);
  return refused ? -1 : 0;
}

void sy__gw_budget_settle(sy_gw_req *q, double cost) {
  if (!q->nresv) return;
  sy_gateway *gw = q->gw;
  int64_t day = today(gw);
  if (gw->pg) {
    sy__gw_budget_settle_pg(q, cost >= 0 ? nano(cost) : -1, day);
    return;
  }
  pthread_mutex_lock(&gw->mu);
  for (int i = 0; i < q->nresv; i++) {
    sy_gw_spend *e = &gw->spend[q->resv[i]];
    if (e->day == day) e->reserved = e->reserved > q->resv_nano ? e->reserved - q->resv_nano : 0;
    roll(e, day); /* a reservation made yesterday is charged today */
    if (cost >= 0) {
      e->consumed += nano(cost);
      e->requests++;
      e->dirty = 1;
    }
  }
  pthread_mutex_unlock(&gw->mu);
  q->nresv = 0;
}

/* ---- the states, for governance and alerts ---- */

typedef struct states_walk {
  sy_gateway *gw;
  sy_gw_limit_cb cb;
  void *ctx;
} states_walk;

static int one_state(void *ctx, const sy_param *p) {
  states_walk *w = ctx;
  const sy_ver *v = p->latest;
  if (!v || v->kind != SY_KIND_LIMIT || !v->compiled) return 0;
  const sy_limit *l = v->compiled->obj;
  sy_gw_limit_state st;
  memset(&st, 0, sizeof st);
  st.name = p->name;
  st.limit_type = sy__limit_type_name(l->type);
  st.scope = l->scope;
  st.period = "daily";
  st.soft_usd = l->soft_usd;
  st.hard_usd = l->hard_usd;
  int64_t day = today(w->gw);
  pthread_mutex_lock(&w->gw->mu);
  int idx = spend_index(w->gw, p->name);
  if (idx >= 0) {
    sy_gw_spend *e = &w->gw->spend[idx];
    roll(e, day);
    st.consumed_usd = usd_of(e->consumed);
    st.reserved_usd = usd_of(e->reserved);
    st.requests = e->requests;
    /* refused today at this hard limit (raising it lifts the refusal), or spent up to it */
    int hard = (e->hard_hit && nano(l->hard_usd) <= nano(e->hard_at)) || e->consumed >= nano(l->hard_usd);
    st.level = hard ? SY_LIMIT_HARD : l->soft_usd > 0 && e->consumed >= nano(l->soft_usd) ? SY_LIMIT_SOFT : SY_LIMIT_OK;
  }
  pthread_mutex_unlock(&w->gw->mu);
  time_t t = (time_t)(day * 86400);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(st.day, sizeof st.day, "%Y-%m-%d", &tm);
  w->cb(w->ctx, &st);
  return 0;
}

/* With PostgreSQL, every node's spend today into gw->spend, read before the snapshot is entered
 * (no wait on the network inside it); while PostgreSQL is away the last read stands. */
static void pg_refresh(sy_gateway *gw) {
  int64_t day = today(gw);
  sy_gw_pg_row *rows;
  int n;
  if (sy__gw_pg_day(gw->pg, day, &rows, &n)) return;
  pthread_mutex_lock(&gw->mu);
  for (int i = 0; i < gw->nspend; i++) { /* a limit without rows today has spent nothing */
    roll(&gw->spend[i], day);
    gw->spend[i].consumed = gw->spend[i].reserved = gw->spend[i].requests = 0;
    gw->spend[i].hard_hit = 0;
  }
  for (int i = 0; i < n; i++) {
    int idx = spend_index(gw, rows[i].name);
    if (idx < 0) continue;
    sy_gw_spend *e = &gw->spend[idx];
    e->day = day;
    e->consumed = rows[i].t.consumed;
    e->reserved = rows[i].t.reserved;
    e->requests = rows[i].t.requests;
    e->hard_hit = rows[i].t.hard_at >= 0;
    e->hard_at = rows[i].t.hard_at;
  }
  pthread_mutex_unlock(&gw->mu);
  free(rows);
}

void sy__gateway_limits(sy_gateway *gw, sy_gw_limit_cb cb, void *ctx) {
  states_walk w = {gw, cb, ctx};
  if (gw->pg) pg_refresh(gw);
  const sy_snap *s = sy__snap_enter(gw->store);
  sy__snap_list(s, SY_LIMITS_PREFIX, 1, NULL, one_state, &w);
  sy__snap_leave(gw->store);
}

/* ---- the ledger ---- */

static void log_ledger(const char *what, sqlite3 *db) {
  sy__log_stderr("error", "the usage ledger cannot be written",
                 json_pack("{ss ss}", "operation", what, "sqlite", db ? sqlite3_errmsg(db) : "cannot open"));
}

/* The ledger's own thread writes the spend every FLUSH_MS of real time, so that no request
 * waits on the disk (a flush ends in an fsync). */
static void *ledger_main(void *arg) {
  sy_gateway *gw = arg;
  pthread_mutex_lock(&gw->ledger_mu);
  while (!gw->ledger_stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)FLUSH_MS * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&gw->ledger_cv, &gw->ledger_mu, &ts);
    if (gw->ledger_stop) break;
    pthread_mutex_unlock(&gw->ledger_mu);
    sy__gw_ledger_flush(gw, 1);
    pthread_mutex_lock(&gw->ledger_mu);
  }
  pthread_mutex_unlock(&gw->ledger_mu);
  return NULL;
}

sy_rc sy__gw_ledger_open(sy_gateway *gw, const char *path) {
  if (!path) return SY_OK; /* in memory only */
  if (sy__gw_pg_is_url(path)) return sy__gw_pg_open(gw, path);
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
          SQLITE_OK ||
      sqlite3_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE IF NOT EXISTS ledger (day INTEGER NOT NULL, name TEXT NOT NULL, usd REAL NOT NULL,"
                   " requests INTEGER NOT NULL, hard_at REAL NOT NULL DEFAULT -1, PRIMARY KEY (day, name))",
                   NULL, NULL, NULL) != SQLITE_OK) {
    log_ledger("open", db);
    sqlite3_close(db);
    return SY_EIO;
  }
  sqlite3_stmt *st = NULL;
  int64_t day = today(gw);
  if (sqlite3_prepare_v2(db, "SELECT name, usd, requests, hard_at FROM ledger WHERE day = ?", -1, &st, NULL) ==
      SQLITE_OK) {
    sqlite3_bind_int64(st, 1, day);
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *name = (const char *)sqlite3_column_text(st, 0);
      int idx = name ? spend_index(gw, name) : -1;
      if (idx < 0) continue;
      sy_gw_spend *e = &gw->spend[idx];
      e->day = day;
      e->consumed = nano(sqlite3_column_double(st, 1));
      e->requests = sqlite3_column_int64(st, 2);
      e->hard_at = sqlite3_column_double(st, 3);
      e->hard_hit = e->hard_at >= 0;
    }
  }
  sqlite3_finalize(st);
  gw->ledger = db;
  pthread_mutex_init(&gw->ledger_mu, NULL);
  pthread_cond_init(&gw->ledger_cv, NULL);
  if (pthread_create(&gw->ledger_thread, NULL, ledger_main, gw)) {
    sqlite3_close(db);
    gw->ledger = NULL;
    return SY_EINTERNAL;
  }
  gw->ledger_started = 1;
  return SY_OK;
}

void sy__gw_ledger_flush(sy_gateway *gw, int force) {
  if (!gw->ledger) return;
  int64_t now = sy__clock_tick(gw->clock);
  if (!force && now - gw->ledger_flushed < FLUSH_MS) return;
  gw->ledger_flushed = now;
  typedef struct row {
    char name[sizeof((sy_gw_spend *)0)->name];
    int64_t day, requests;
    double usd, hard_at;
  } row;
  row *rows = NULL;
  int n = 0;
  pthread_mutex_lock(&gw->mu);
  for (int i = 0; i < gw->nspend; i++)
    if (gw->spend[i].dirty) n++;
  if (n && (rows = malloc((size_t)n * sizeof *rows))) {
    n = 0;
    for (int i = 0; i < gw->nspend; i++) {
      sy_gw_spend *e = &gw->spend[i];
      if (!e->dirty) continue;
      e->dirty = 0;
      rows[n] = (row){
          .day = e->day, .requests = e->requests, .usd = usd_of(e->consumed), .hard_at = e->hard_hit ? e->hard_at : -1};
      snprintf(rows[n].name, sizeof rows[n].name, "%s", e->name);
      n++;
    }
  }
  pthread_mutex_unlock(&gw->mu);
  if (!rows) return;
  sqlite3 *db = gw->ledger;
  sqlite3_stmt *st = NULL;
  int ok = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
           sqlite3_prepare_v2(db,
                              "INSERT INTO ledger (day, name, usd, requests, hard_at) VALUES (?, ?, ?, ?, ?) "
                              "ON CONFLICT (day, name) DO UPDATE SET usd = excluded.usd, requests = excluded.requests, "
                              "hard_at = excluded.hard_at",
                              -1, &st, NULL) == SQLITE_OK;
  for (int i = 0; ok && i < n; i++) {
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, rows[i].day);
    sqlite3_bind_text(st, 2, rows[i].name, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, rows[i].usd);
    sqlite3_bind_int64(st, 4, rows[i].requests);
    sqlite3_bind_double(st, 5, rows[i].hard_at);
    ok = sqlite3_step(st) == SQLITE_DONE;
  }
  sqlite3_finalize(st);
  if (ok) ok = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
  if (!ok) {
    log_ledger("write", db);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_lock(&gw->mu); /* written again at the next flush */
    for (int i = 0; i < gw->nspend; i++) gw->spend[i].dirty = 1;
    pthread_mutex_unlock(&gw->mu);
  }
  free(rows);
}

void sy__gw_ledger_close(sy_gateway *gw) {
  sy__gw_pg_free(gw->pg);
  gw->pg = NULL;
  if (gw->ledger_started) {
    pthread_mutex_lock(&gw->ledger_mu);
    gw->ledger_stop = 1;
    pthread_cond_signal(&gw->ledger_cv);
    pthread_mutex_unlock(&gw->ledger_mu);
    pthread_join(gw->ledger_thread, NULL);
    gw->ledger_started = 0;
    pthread_cond_destroy(&gw->ledger_cv);
    pthread_mutex_destroy(&gw->ledger_mu);
  }
  sy__gw_ledger_flush(gw, 1);
  if (gw->ledger) sqlite3_close(gw->ledger);
  gw->ledger = NULL;
}

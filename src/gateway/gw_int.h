/* gw_int.h — what the gateway's files share: the engine, a request, provider state, metrics.
 * gateway.c (the front: planning, the server's calls) -> upstream.c (the loop) -> answer.c (a
 * request's answer, both sides' view) and gw_metrics.c. */
#ifndef SY_GATEWAY_GW_INT_H
#define SY_GATEWAY_GW_INT_H

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>

#include "core/breaker.h"
#include "core/hist.h"
#include "gateway/gateway.h"
#include "store/snap.h"

#define SY_GW_PLAN_MAX (2 + SY_ROUTE_FALLBACKS_MAX)
#define SY_GW_RESP_MAX ((size_t)16 << 20)     /* an upstream body past this is garbage */
#define SY_GW_OUT_HIGH ((size_t)1 << 20)      /* a stream's unsent bytes past this pause its upstream */
#define SY_GW_SSE_EVENT_MAX ((size_t)4 << 20) /* one upstream event */
#define SY_GW_SERIES_MAX 4096                 /* metric series (provider x route); more share "other" */

typedef enum sy_gw_err_class {
  SY_GW_ERR_CONNECT = 0,
  SY_GW_ERR_TIMEOUT,
  SY_GW_ERR_RATE_LIMIT,   /* 429 */
  SY_GW_ERR_SERVER,       /* 5xx */
  SY_GW_ERR_CLIENT,       /* another 4xx */
  SY_GW_ERR_BAD_RESPONSE, /* garbage, an error in a 200, a cut stream */
  SY_GW_ERR_BREAKER,      /* skipped: its breaker was open */
  SY_GW_ERR_CONFIG,       /* no credentials, an operation it does not offer */
  SY_GW_ERR_BUDGET,       /* skipped: a hard spending limit would be crossed */
  SY_GW_ERR_CLASSES
} sy_gw_err_class;
extern const char *const sy__gw_err_class_names[SY_GW_ERR_CLASSES];

/* Metrics of one provider on one route. */
typedef struct sy_gw_series {
  char provider[SY_PROVIDER_NAME_MAX + 1];
  char route[256];
  uint64_t requests, ok, retries, fallbacks;
  uint64_t errors[SY_GW_ERR_CLASSES]; /* by sy_gw_err_class */
  uint64_t tokens_in, tokens_out, images;
  double cost_usd;
  sy_hist ttfb, duration;
} sy_gw_series;

/* One bucket of a provider's calls: a minute (the provider API's windows 1 m, 5 m, 1 h and its
 * 1 h series) or a quarter hour (its 24 h series). */
#define SY_GW_MINUTES 60
#define SY_GW_QUARTERS 96
#define SY_GW_QUARTER_MS 900000
typedef struct sy_gw_minute {
  int64_t slot; /* the wall-clock bucket it counts (ms / its width); another: stale */
  int64_t requests, errors, images;
  double cost_usd;
  sy_hist latency; /* of successful calls */
} sy_gw_minute;

/* What the engine keeps per provider name across requests and versions of its document. */
typedef struct sy_gw_pstate {
  char name[SY_PROVIDER_NAME_MAX + 1];
  sy_breaker breaker;
  sy_breaker_cfg cfg; /* of the version last used */
  int64_t last_ok_ms, last_fail_ms;
  char last_error[256];
  sy_gw_minute minutes[SY_GW_MINUTES];   /* ring, by minute % SY_GW_MINUTES */
  sy_gw_minute quarters[SY_GW_QUARTERS]; /* ring, by quarter hour % SY_GW_QUARTERS */
  sy_gw_minute total;                    /* since start */
} sy_gw_pstate;

/* One provider of a request's chain. */
typedef struct sy_gw_step {
  const sy_provider *p; /* in ver's compiled object, or the built-in stub */
  sy_ver *ver;          /* a reference, NULL for the built-in stub */
  char model[129];      /* a model name is at most 128 bytes (core/provider.c) */
  char *key;            /* the API key, malloc'd; wiped when freed */
  size_t key_len;
  int missing_key; /* credentials named, but absent or unreadable */
} sy_gw_step;

/* A limit's spend on its day (gw_budget.c). */
typedef struct sy_gw_spend {
  char name[1100];            /* the limit document's name */
  int64_t day;                /* UTC day number (ms / 86400000) */
  int64_t consumed, reserved; /* nano-dollars */
  int64_t requests;
  int hard_hit;   /* a reservation was refused today, at hard_at */
  double hard_at; /* the hard limit then (raising the limit lifts the refusal) */
  int dirty;      /* not yet in the ledger */
} sy_gw_spend;

/* A limit that applies to a request (planned with its route). */
#define SY_GW_LIMITS_MAX 16
typedef struct sy_gw_limit {
  int spend; /* index in gw->spend */
  double hard_usd;
  char provider[SY_PROVIDER_NAME_MAX + 1]; /* a per_provider limit's provider, "" for any */
} sy_gw_limit;

enum { Q_NEW = 0, Q_BACKOFF, Q_FLIGHT, Q_DONE };

struct sy_gw_req {
  sy_gateway *gw;
  pthread_mutex_t mu;
  int refs; /* the server's, and the loop's while it holds the request */
  sy_gw_op op;
  json_t *body;
  int stream;
  char route[256];
  char request_id[48];
  sy_gw_step plan[SY_GW_PLAN_MAX];
  int nplan, cur;
  int attempt;  /* attempts on plan[cur] so far */
  int attempts; /* in all */
  int64_t t0_us, deadline_tick, upstream_us;
  /* the attempt in flight (loop thread only) */
  int state;
  CURL *easy;
  struct curl_slist *hdrs;
  sy_gw_call call;
  sy_jbuf resp;
  long http_status;
  int64_t attempt_tick, first_tick, last_tick, wait_until;
  int64_t attempt_us; /* when the attempt began, µs (for the time spent upstream) */
  int64_t retry_after_ms;
  int abort_reason; /* why the loop cut the transfer: 0 none, else an ABORT_* */
  int counted;      /* the breaker admitted this attempt */
  sy_sse_parser sse;
  sy_gw_stream st;
  sy_gw_fail fail;
  sy_gw_usage usage;
  struct sy_gw_req *prev, *next; /* the loop's list of requests it holds */
  /* shared with the server, under mu */
  int ready, ended, parked, paused, released, dispatched;
  int sse_head;      /* stream bytes went out: the head is a 200 stream, no retry from here */
  int probe;         /* one provider, no route, no retry, no breaker (test-connection) */
  size_t body_bytes; /* the request's JSON size: an upper bound of its input tokens */
  sy_gw_limit limits[SY_GW_LIMITS_MAX];
  int nlimits;
  int resv[SY_GW_LIMITS_MAX]; /* the spend entries the attempt in flight holds a reservation on */
  int nresv;
  int64_t resv_nano; /* the reservation's worst case, nano-dollars */
  int64_t resv_day;  /* the UTC day it was made on (a PostgreSQL ledger releases it there) */
  int include_usage; /* the client asked stream_options.include_usage */
  int status;
  char *out; /* non-stream: the body; stream: bytes not yet read */
  size_t out_len, out_off, out_cap;
  char served[SY_PROVIDER_NAME_MAX + 1];
  int64_t overhead_us;
  sy_gw_wake_fn wake;
  void *wake_ctx;
};

struct sy_gateway {
  sy_store *store;
  const sy_clock *clock;
  void (*on_failure)(void *ctx); /* sy__gateway_on_failure's, or NULL */
  void *on_failure_ctx;
  pthread_mutex_t mu; /* the provider states, the series, the strategy index */
  sy_gw_pstate *pstates;
  int npstates, cap_pstates;
  sy_gw_series *series;
  int nseries, cap_series;
  sy_hist overhead;
  uint64_t requests_total, answered_by_status[6]; /* 1xx..5xx, other */
  /* strategy index: route name -> strategy parameter */
  char **idx_route, **idx_param;
  int nidx, cap_idx;
  int indexed; /* the routes stored before the first change are in the index */
  /* the provider last logged per strategy parameter: a value written again is no change */
  char **last_param;
  char (*last_value)[SY_PROVIDER_NAME_MAX + 1];
  int nlast, cap_last;
  /* the loop: lmu guards the multi handle, the held list and the transfer fields of every
   * held request; the loop thread drops it only while it waits in epoll */
  pthread_mutex_t lmu;
  CURLM *multi;
  int epfd, evfd;       /* libcurl's sockets and the loop's wake-up, in one epoll set */
  int64_t curl_due;     /* when libcurl wants socket_action(TIMEOUT) (tick ms), -1 never */
  int64_t loop_wake_at; /* when the waiting loop wakes by itself; INT64_MAX while awake */
  int kicking;          /* a thread drives libcurl's due timers itself (kick): no wake-up */
  pthread_t thread;
  int thread_started;
  int stopping, stopped;
  sy_gw_req held;     /* list head of the requests the loop holds */
  sy_gw_spend *spend; /* under mu */
  int nspend, cap_spend;
  struct sqlite3 *ledger; /* the usage ledger (gw_budget.c), written by its own thread */
  int64_t ledger_flushed;
  pthread_t ledger_thread;
  pthread_mutex_t ledger_mu;
  pthread_cond_t ledger_cv;
  int ledger_started, ledger_stop;
  struct sy_gw_pg *pg;  /* the ledger in PostgreSQL (gw_budget_pg.c), or NULL: the SQLite one above */
  CURL *easy_pool[256]; /* idle easy handles, reset, for the next attempts */
  int neasy;
  uint64_t rnd; /* backoff jitter (loop thread) */
};

/* answer.c */
void sy__gw_req_unref(sy_gw_req *q);
/* The answer is complete: a non-stream status and body (taken), or a stream's end. Wakes. */
void sy__gw_finish(sy_gw_req *q, int status, char *body, size_t len);
/* Ends with fail in OpenAI's shape (or, for a stream that has begun, an error event). */
void sy__gw_finish_fail(sy_gw_req *q, const sy_gw_fail *fail);
/* Appends stream bytes for the client (taken from b); the first ones make the head ready. */
void sy__gw_stream_put(sy_gw_req *q, sy_jbuf *b);
/* Answers from the stub provider, now (any thread). */
void sy__gw_answer_stub(sy_gw_req *q);
/* The stream has reached the client (its head went out): no retry or fallback from here. */
int sy__gw_committed(sy_gw_req *q);
/* The unsent bytes of a stream. */
size_t sy__gw_pending(sy_gw_req *q);
/* A success on p into the metrics. */
void sy__gw_record_ok(sy_gw_req *q, const sy_provider *p, const sy_gw_usage *u, int64_t ttfb_us, int64_t dur_us);
/* An upstream answer made the client's (created stamped) as JSON text; NULL on ENOMEM. */
char *sy__gw_answer_text(sy_gw_req *q, json_t *resp, size_t *len);

/* The price of an answer from the provider's table and the answer's usage. */
double sy__gw_cost(const sy_provider *p, const sy_gw_usage *u);

/* gw_budget.c */
/* The limits that apply to q (its route's, the global one, every provider's), from s. */
void sy__gw_budget_plan(sy_gw_req *q, const sy_snap *s);
/* Reserves the worst-case cost of a call to p on q's limits; -1 (nothing reserved) when
 * one would pass its hard limit. */
int sy__gw_budget_reserve(sy_gw_req *q, const sy_provider *p);
/* Releases q's reservation; charges cost (>= 0) as spent, or nothing (cost < 0). */
void sy__gw_budget_settle(sy_gw_req *q, double cost);
sy_rc sy__gw_ledger_open(sy_gateway *gw, const char *path);
/* Writes what changed since the last flush (at most every 200 ms unless force); one writer at
 * a time: the ledger's thread, then the last flush at close. */
void sy__gw_ledger_flush(sy_gateway *gw, int force);
void sy__gw_ledger_close(sy_gateway *gw);

/* Money is counted in whole nano-dollars, so that reservations and their release cancel out
 * exactly and a limit compares without rounding. */
static inline int64_t sy__gw_nano(double usd) { return usd > 0 ? llround(usd * 1e9) : 0; }

/* gw_budget_pg.c: the ledger in PostgreSQL, shared by every node of one store. One row per
 * (UTC day, limit, node) in table switchyard.budget_spend (the store's schema); a reservation
 * takes, in one transaction, an advisory lock per (limit, day) and checks the sum over all
 * nodes, so that nodes together never pass a hard limit. Fails closed: PostgreSQL unreachable
 * means refused. */
typedef struct sy_gw_pg sy_gw_pg;
/* Whether a ledger path is a PostgreSQL URL (postgres:// or postgresql://). */
int sy__gw_pg_is_url(const char *path);
/* A ledger on the database of url, for node (NULL: $SWITCHYARD_NODE_ID, else one made from the
 * host's name and this process's command line and directory, stable across restarts). Makes
 * the table if missing and drops the node's reservations (they died with its last run); if
 * PostgreSQL cannot be reached now, that is done at the first call that reaches it. *out is the
 * caller's, to sy__gw_pg_free. SY_ENOMEM, or SY_EINVAL for a URL libpq cannot parse. */
sy_rc sy__gw_pg_new(const char *url, const char *node, sy_gw_pg **out);
void sy__gw_pg_free(sy_gw_pg *pg);
/* The node's id (borrowed, lives as long as pg). */
const char *sy__gw_pg_node(const sy_gw_pg *pg);
/* Reserves amount (nano-dollars) on each of names[0..n) on day, where hard[i] is names[i]'s
 * hard limit: 0 reserved on all; -1 refused, nothing reserved, *refused the index of a limit it
 * would pass (its hard_at is recorded); -2 refused, PostgreSQL unavailable (logged). */
int sy__gw_pg_reserve(sy_gw_pg *pg, int64_t day, int n, const char *const names[], const int64_t hard[], int64_t amount,
                      int *refused);
/* Releases amount reserved on names on resv_day, and charges cost (nano-dollars, < 0 none) and
 * one request on day. Queued, not waited for: the ledger's worker thread writes what is queued
 * in one commit, and again while PostgreSQL is away (the reservation holds the budget
 * meanwhile); every read below waits for what was queued before it. */
void sy__gw_pg_settle(sy_gw_pg *pg, int64_t resv_day, int64_t day, int n, const char *const names[], int64_t amount,
                      int64_t cost);
/* A limit's spend on day summed over every node (this node's settlements written first);
 * hard_at the highest hard limit a reservation was refused at that day, -1 none. */
typedef struct sy_gw_pg_total {
  int64_t consumed, reserved, requests;
  double hard_at;
} sy_gw_pg_total;
sy_rc sy__gw_pg_total(sy_gw_pg *pg, int64_t day, const char *name, sy_gw_pg_total *out);
/* Every limit's spend on day summed over every node (this node's settlements written first):
 * *rows (malloc'd, one block with the names; the caller frees it) of *n. SY_EUNAVAILABLE when
 * PostgreSQL cannot be read (logged). */
typedef struct sy_gw_pg_row {
  const char *name;
  sy_gw_pg_total t;
} sy_gw_pg_row;
sy_rc sy__gw_pg_day(sy_gw_pg *pg, int64_t day, sy_gw_pg_row **rows, int *n);
/* sy__gw_pg_new for gw->pg, the node named by $SWITCHYARD_NODE_ID, else by the host's name and
 * the store's data directory (one process at a time holds it). */
sy_rc sy__gw_pg_open(sy_gateway *gw, const char *url);
/* gw_budget.c's calls in PostgreSQL mode (gw->pg set): sy__gw_budget_reserve's, with w its worst
 * case on day, and sy__gw_budget_settle's, with cost in nano-dollars (< 0 none). */
int sy__gw_budget_reserve_pg(sy_gw_req *q, const sy_provider *p, int64_t w, int64_t day);
void sy__gw_budget_settle_pg(sy_gw_req *q, int64_t cost, int64_t day);

/* upstream.c: the loop thread */
sy_rc sy__gw_loop_start(sy_gateway *gw);
void sy__gw_loop_stop(sy_gateway *gw);
void sy__gw_loop_submit(sy_gateway *gw, sy_gw_req *q);
void sy__gw_loop_poke(sy_gateway *gw, sy_gw_req *q);

/* gw_metrics.c (call with gw->mu held) */
sy_gw_series *sy__gw_series(sy_gateway *gw, const char *provider, const char *route);
sy_gw_pstate *sy__gw_pstate(sy_gateway *gw, const sy_provider *p);
/* A call's result into its provider's windows: ok, its latency and cost, or its error. */
void sy__gw_pstate_note(sy_gateway *gw, const sy_provider *p, int ok, int64_t dur_us, double cost, int64_t images,
                        const char *error);

#endif

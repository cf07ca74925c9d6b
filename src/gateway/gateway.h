/* gateway.h — the AI-provider gateway's engine: routes an OpenAI-format request to a provider
 * (route documents, strategy parameters, sticky splits), calls it without holding a server
 * thread (libcurl's multi interface, on one loop thread), retries, falls back, keeps a
 * breaker and metrics per provider. It knows nothing of serving HTTP: the server hands it a
 * parsed body and is woken when there is something to send (docs/GATEWAY.md). */
#ifndef SY_GATEWAY_GATEWAY_H
#define SY_GATEWAY_GATEWAY_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/breaker.h"
#include "core/clock.h"
#include "core/jbuf.h"
#include "core/metric.h"
#include "gateway/adapter.h"
#include "store/store.h"

typedef struct sy_gateway sy_gateway;
typedef struct sy_gw_req sy_gw_req;

/* Starts the engine and its upstream loop thread. Durations run on clock's tick, budget days
 * on its wall time. ledger_path: the usage ledger's SQLite file (NULL: spend kept in memory). */
sy_rc sy__gateway_new(sy_store *st, const sy_clock *clock, const char *ledger_path, sy_gateway **out);
/* Ends every request in flight (503 to those not yet answered, an error event to streams)
 * and stops the loop; the requests' servers are woken as usual. Idempotent. */
void sy__gateway_stop(sy_gateway *gw);
/* Stops (if not yet) and frees; every request must have been released. */
void sy__gateway_free(sy_gateway *gw);
/* The store's publish hook (chained by the server): keeps the index of strategy parameters
 * and logs "Provider strategy loaded" once per change of one. */
void sy__gateway_publish(sy_gateway *gw, const sy_event *events, size_t n);

/* Wakes the server: the request has a head to send, or its parked stream has more bytes or
 * has ended. Called from any thread with the request's lock held, at most once per park. */
typedef void (*sy_gw_wake_fn)(void *ctx);

typedef struct sy_gw_in {
  sy_gw_op op;
  /* A probe (test-connection, preflight): this provider alone, no route, no retry, no
   * fallback, and no breaker (it neither waits for one nor counts against it). NULL: route. */
  const char *provider;
  json_t *body;           /* the client's request; taken */
  size_t body_len;        /* its JSON's length as sent, 0 unknown (measured if a spending limit needs it) */
  const char *route;      /* X-Switchyard-Route, or NULL */
  const char *subject;    /* X-Switchyard-Subject, or NULL */
  const char *request_id; /* never NULL */
  int64_t t0_us;          /* when the request arrived (monotonic µs), for the overhead */
  sy_gw_wake_fn wake;
  void *wake_ctx;
} sy_gw_in;

/* Plans a request (route, provider chain, models, credentials) and answers at once what needs
 * no upstream call (a refusal, the stub). NULL only on ENOMEM. *ready is 1 when the head is
 * there now; otherwise the caller suspends and then calls sy__gw_dispatch, after which wake
 * comes once when the head is ready. */
sy_gw_req *sy__gw_start(sy_gateway *gw, const sy_gw_in *in, int *ready);
void sy__gw_dispatch(sy_gw_req *q);

typedef struct sy_gw_head {
  int status;
  int stream;           /* the body is a server-sent event stream: read it with sy__gw_stream_read */
  const char *provider; /* who served, or who last failed ("" when none was tried) */
  const char *route;    /* the route's name ("" when none) */
  const char *request_id;
  int attempts;
  int64_t overhead_us; /* time in the gateway itself: upstream waits and backoff excluded */
} sy_gw_head;

/* Once ready: the head (its strings live as long as the request). */
void sy__gw_head(sy_gw_req *q, sy_gw_head *h);
/* Once ready, not a stream: the body, JSON text (the caller frees it). */
char *sy__gw_take_body(sy_gw_req *q, size_t *len);
/* A stream's next bytes, up to max: > 0 bytes copied; 0 nothing yet, park(park_ctx) was
 * called with the request's lock held (the caller suspends there) and wake comes when
 * there is more; -1 the stream is over. */
ssize_t sy__gw_stream_read(sy_gw_req *q, char *buf, size_t max, void (*park)(void *), void *park_ctx);
/* The server is done with the request (answered, or the client left): cancels its upstream
 * call, if any. No wake comes after this returns. */
void sy__gw_release(sy_gw_req *q);

/* What the gateway has seen of one provider over a window of time. */
typedef struct sy_gw_window {
  int64_t requests, errors; /* calls made to it (attempts), and those that failed */
  double cost_usd;
  int64_t p50_us, p95_us, p99_us; /* latency of its successful calls */
} sy_gw_window;

typedef struct sy_gw_pinfo {
  int known;                        /* the gateway has called it since it started */
  sy_breaker_state breaker;         /* now */
  int64_t last_ok_ms, last_fail_ms; /* wall time of its last success and failure, 0 never */
  char last_error[256];             /* the last failure's message ("" none) */
  sy_gw_window m1, m5, h1, total;   /* the last minute, 5 minutes, hour, and since start */
} sy_gw_pinfo;

/* The gateway's view of provider name (any thread). */
void sy__gateway_provider_info(sy_gateway *gw, const char *name, sy_gw_pinfo *out);

/* One bucket of a provider's series. */
#define SY_GW_POINTS_MAX 96
typedef struct sy_gw_point {
  int64_t start_ms; /* the bucket's start, wall time of the gateway's clock */
  int64_t ok;       /* successful calls: those its latency counts (0: no latency) */
  sy_gw_window w;
} sy_gw_point;

/* Provider name's series into out (room for SY_GW_POINTS_MAX): the last 60 minutes (day 0) or
 * the last 96 quarter hours (day 1) of the gateway's clock, oldest first, ending with the
 * current (partial) one; a bucket without calls is zero. Returns how many, *step_ms their
 * width. Any thread. */
int sy__gateway_provider_series(sy_gateway *gw, const char *name, int day, sy_gw_point *out, int64_t *step_ms);

/* The counts of provider name's calls (core/metric.h): since the
 * gateway started when from_ms and to_ms are both 0, else of the whole minutes that overlap
 * [from_ms, to_ms) of the last hour of the gateway's clock. 0, or -1 when the gateway has
 * not called it since it started (*out zeroed). Any thread. */
int sy__gateway_provider_counts(sy_gateway *gw, const char *name, int64_t from_ms, int64_t to_ms, sy_counts *out);

/* fn(ctx) is called (with the gateway's lock held: it must be quick and take no lock of the
 * gateway's) after each failed attempt, so that what judges failures (the rollout controller)
 * looks now rather than at its next period. NULL fn: none. */
void sy__gateway_on_failure(sy_gateway *gw, void (*fn)(void *ctx), void *ctx);

/* Spending limits (kind Limit, /switchyard/limits/...): each limit's state today (UTC day of
 * the gateway's clock), from the durable usage ledger and the reservations in flight. */
typedef enum sy_gw_limit_level { SY_LIMIT_OK = 0, SY_LIMIT_SOFT = 1, SY_LIMIT_HARD = 2 } sy_gw_limit_level;
typedef struct sy_gw_limit_state {
  const char *name;       /* the limit document's name */
  const char *limit_type; /* "global", "per_provider", "per_route" */
  const char *scope;      /* a provider's or a route's name; "" for global */
  const char *period;     /* "daily" */
  double soft_usd, hard_usd;
  double consumed_usd, reserved_usd; /* spent today, and held by requests in flight */
  int64_t requests;                  /* requests reconciled today */
  sy_gw_limit_level level;           /* soft: consumed >= soft; hard: a request was refused or consumed >= hard */
  char day[11];                      /* YYYY-MM-DD */
} sy_gw_limit_state;
typedef void (*sy_gw_limit_cb)(void *ctx, const sy_gw_limit_state *l);
/* Calls cb once per limit document (any thread; the strings live for the call). */
void sy__gateway_limits(sy_gateway *gw, sy_gw_limit_cb cb, void *ctx);

/* GET /v1/models: every model of every provider, OpenAI's list shape. New reference. */
json_t *sy__gateway_models(sy_gateway *gw);
/* The gateway's metrics in Prometheus' text format, appended to b. */
void sy__gateway_metrics(sy_gateway *gw, sy_jbuf *b);

#endif

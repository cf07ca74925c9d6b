/* http.h — the HTTP shell: the server and request context, replies, query and body helpers,
 * scope checks and the writer queue, shared by the API families (each has a header of its own). */
#ifndef SY_SERVER_HTTP_H
#define SY_SERVER_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/jbuf.h"
#include "server/guard.h"
#include "control/sources.h"
#include "store/store.h"

#define SY_BODY_MAX (1024 * 1024)
/* A gateway request may carry images as data URLs. */
#define SY_GATEWAY_BODY_MAX (20 * 1024 * 1024)
/* A body over its limit is read and dropped up to this much, so that the 413 reaches the
 * client; past it (or announced past it) the connection is ended. */
#define SY_DISCARD_MAX ((size_t)64 << 20)

typedef struct sy_watch_hub sy_watch_hub;
typedef struct sy_flag_stats sy_flag_stats;
typedef struct sy_gateway sy_gateway;
typedef struct sy_req sy_req;

typedef struct sy_server {
  sy_store *store;
  const sy_clock *clock;              /* every period, deadline and timestamp of the server runs on it */
  struct sy_offset_clock *test_clock; /* SWITCHYARD_TEST_CLOCK=1: clock, movable by an admin */
  sy_watch_hub *hub;
  sy_flag_stats *flag_stats;        /* per-flag evaluation counts (flag_stats.h) */
  sy_gateway *gw;                   /* the AI-provider gateway (gateway/gateway.h) */
  struct sy_alerts *alerts;         /* the gateway's alerts (alerts.h) */
  struct sy_pushed *pushed;         /* metrics applications push (control/pushed.h) */
  struct sy_promq *promq;           /* Prometheus instant queries (control/promq.h) */
  struct sy_controller *controller; /* the rollout controller (control/controller.h) */
  struct sy_console *console;       /* the web console's files (console.h); NULL when it is not built */
  sy_sources sources;               /* the metric sources of gates and alert rules, filled at start-up */
  struct MHD_Daemon *daemon;
  int64_t started_ms;
  const char *store_url; /* --store / SWITCHYARD_STORE: a PostgreSQL store's URL, NULL for SQLite in data */
  char aws_region[64];   /* for ARNs: SWITCHYARD_AWS_REGION, default us-east-1 */
  char aws_account[16];  /* for ARNs: SWITCHYARD_AWS_ACCOUNT_ID, default 000000000000 */
  int access_log;
  int insecure_loopback; /* --insecure-loopback: a request without credentials is the admin "insecure-loopback" */
  sy_guard_cfg limits;   /* header, body and idle timeouts, connections per address */
  size_t import_max;     /* body limit of an import (POST /api/v1/config/runtime by an admin) */
  sy_guard *guard;
  /* Set by sy__server_open, so that the HTTP layer depends on no API family: the router,
   * and the SSM API's error shape, for refusals of POST / made before it is routed. */
  enum MHD_Result (*route)(sy_req *r);
  enum MHD_Result (*ssm_reply_error)(sy_req *r, int status, const char *type, const char *msg);
  volatile int stopping;
  int active_reqs; /* atomic: requests not yet completed */
} sy_server;

/* Builds the response once a wait is over (runs on an MHD thread after sy__resume). */
typedef enum MHD_Result (*sy_finish_fn)(sy_req *r);

struct sy_req {
  sy_server *srv;
  struct MHD_Connection *conn;
  sy_arena *arena;
  const char *method;
  const char *path;      /* raw, never percent-decoded */
  const char *raw_query; /* exactly as sent, after the '?' ("" if none), for SigV4 */
  const char *target;    /* borrowed from libmicrohttpd until the headers are checked */
  size_t target_len;
  struct sy_qarg *qargs; /* the query, decoded and checked */
  int nqargs;
  int started, dispatched;
  int close; /* the reply ends the connection */
  size_t body_max;
  int discard;      /* the body is over body_max: read, dropped, answered 413 */
  size_t discarded; /* bytes dropped so far */
  sy_guard_conn *gc;
  int ssm;                /* answered in the SSM protocol's shapes */
  int ssm_wire;           /* POST /: errors take the SSM shape ({"__type","message"}) */
  int openai;             /* a gateway endpoint: errors take OpenAI's shape ({"error":{"message","type",...}}) */
  const char *request_id; /* a gateway request's X-Request-Id (arena), sent with every reply */
  int decrypt_denied;     /* a SecureString needed decrypting and the credential may not */
  char *body;
  size_t body_len, body_cap;
  int64_t start_us;
  int status; /* for the access log */
  /* who is asking */
  const char *actor;
  unsigned scopes;
  int tokenless; /* served without credentials (--insecure-loopback): admin, never decrypt */
  /* the bearer token's default gateway route (arena); NULL when it has none, and for a SigV4 key */
  const char *token_route;
  const char *aws_region; /* the region a SigV4 request was signed for (arena), or NULL */
  sy_op op;               /* the request's write, if it makes one (sy__submit) */
  int wait;               /* atomic: 0 none, 1 suspended, 2 resumed (finish is due) */
  sy_finish_fn finish;    /* builds the reply once the wait is over */
  json_t *json;           /* the parsed body, alive until the request completes */
  const char *secret;     /* a token secret made for this request, shown once in the reply */
  void *api_ctx;          /* what a handler keeps across a wait for its finish (arena memory) */
};

/* Responses. Each queues the response and returns MHD's result. sy__queue adds the
 * content type and Connection: close when the reply ends the connection, and takes resp. */
enum MHD_Result sy__queue(sy_req *r, int status, struct MHD_Response *resp, const char *content_type);
/* A response that owns text (freed with it); NULL, with text freed, on ENOMEM (sy__queue
 * answers MHD_NO to a NULL response). For a reply that needs headers of its own. */
struct MHD_Response *sy__response(char *text, size_t len);
enum MHD_Result sy__reply_text(sy_req *r, int status, char *text, size_t len,
                               const char *content_type);            /* takes text */
enum MHD_Result sy__reply_json(sy_req *r, int status, json_t *body); /* steals body */
enum MHD_Result sy__reply_error(sy_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
enum MHD_Result sy__reply_rc(sy_req *r, sy_rc rc, const char *msg);
/* Replies with the JSON text in b (taken), or 500 if writing it failed. */
enum MHD_Result sy__reply_jbuf(sy_req *r, int status, sy_jbuf *b);

/* Refuses (400, naming it) a query parameter that is not in allowed, a space-separated
 * list of names; a name ending in '?' is a flag, which may come without a value
 * (`?recursive`). Returns 0, or -1 with the reply queued. Every handler calls it first. */
int sy__query_only(sy_req *r, const char *allowed);
/* A query argument, percent-decoded and checked when the request arrived (valid UTF-8,
 * no NUL, not empty); NULL if absent. */
const char *sy__query(sy_req *r, const char *key);
/* Parses an integer query argument in [min, max]; returns 0 and sets *out, or replies 400 and returns -1. */
int sy__query_int(sy_req *r, const char *key, int64_t min, int64_t max, int64_t dflt, int64_t *out);
/* A boolean query argument: true/1 (or a bare flag) or false/0; anything else is a 400 and -1. */
int sy__query_bool(sy_req *r, const char *key, int *out);

/* Parses the body as a JSON object into r->json; on failure replies 400 naming line/column and returns -1. */
int sy__parse_body(sy_req *r);
/* "a string", "an object", ... for messages about a JSON value of the wrong type. */
const char *sy__json_type_name(const json_t *v);
/* Field accessors that reply 400 naming the field on a wrong type; return -1 then.
 * Absent fields leave *out untouched and return 0. */
int sy__field_str(sy_req *r, json_t *obj, const char *ctx, const char *key, const char **out, size_t *len);
int sy__field_bool(sy_req *r, json_t *obj, const char *ctx, const char *key, int *out);
int sy__field_int(sy_req *r, json_t *obj, const char *ctx, const char *key, int64_t *out);

/* Waiting without a thread. A handler that waits for something (a write to be durable, an
 * upstream transfer, an event) suspends its request with the function that will build the
 * reply, and returns MHD_YES. Whoever ends the wait calls sy__resume(r) once, from any
 * thread; finish then runs on an MHD thread. What the wait holds lives on the request's
 * arena and is released by the cleanups registered there (sy__arena_cleanup), however the
 * request ends. */
void sy__suspend(sy_req *r, sy_finish_fn finish);
void sy__resume(sy_req *r);
/* A write: queues r->op (filled by the caller) to the store and waits until it is durable
 * and published; finish answers from r->op's result. */
enum MHD_Result sy__submit(sy_req *r, sy_finish_fn finish);

/* Scope check; replies 403 and returns -1 when missing. */
int sy__require(sy_req *r, unsigned scope);
/* The same check without a reply. */
int sy__require_quiet(sy_req *r, unsigned scope);

/* A request id unique for the process's life ("req_" and 20 hex digits). */
void sy__request_id(char out[40]);

/* Logging: one JSON object per line on stderr. */
void sy__log(const char *level, const char *msg, json_t *fields); /* steals fields (may be NULL) */

/* Starts the HTTP daemon on host:port (port 0 picks one; *bound receives it). */
sy_rc sy__http_start(sy_server *srv, const char *host, int port, int threads, int *bound, char *msg, size_t msgsz);
/* Stops accepting, ends streams, waits for requests in flight (up to deadline_ms), stops the daemon. */
void sy__http_stop(sy_server *srv, int deadline_ms);

#endif

/* http.c — libmicrohttpd glue: request lifecycle, bodies, auth, routing, replies. */
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/audit.h"
#include "core/param.h"
#include "server/watch.h"

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sy__log(const char *level, const char *msg, json_t *fields) {
  char t[32];
  sy__fmt_time(sy__now_ms(), t, sizeof t);
  json_t *o = fields ? fields : json_object();
  if (!o) return;
  json_object_set_new(o, "time", json_string(t));
  json_object_set_new(o, "level", json_string(level));
  json_object_set_new(o, "msg", json_string(msg));
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (!s) return;
  size_t n = strlen(s);
  s[n] = '\n'; /* jansson allocates n+1; write the line in one call so lines never interleave */
  ssize_t w = write(2, s, n + 1);
  (void)w;
  free(s);
}

/* ---- replies ---- */

static void free_buf(void *p) { free(p); }

enum MHD_Result sy__reply_json(sy_req *r, int status, json_t *body) {
  char *s = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(body);
  if (!s) {
    static const char oom[] = "{\"error\":{\"code\":\"InternalError\",\"message\":\"out of memory\"}}";
    struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result res = MHD_queue_response(r->conn, 500, resp);
    MHD_destroy_response(resp);
    r->status = 500;
    return res;
  }
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(strlen(s), s, free_buf);
  if (!resp) {
    free(s);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", "application/json");
  if (r->srv->stopping) MHD_add_response_header(resp, "Connection", "close");
  enum MHD_Result res = MHD_queue_response(r->conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  r->status = status;
  return res;
}

enum MHD_Result sy__reply_jbuf(sy_req *r, int status, sy_jbuf *b) {
  size_t len = 0;
  char *text = sy_jbuf_take(b, &len);
  if (!text) return sy__reply_json(r, 500, NULL);
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, text, free_buf);
  if (!resp) {
    free(text);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", "application/json");
  if (r->srv->stopping) MHD_add_response_header(resp, "Connection", "close");
  enum MHD_Result res = MHD_queue_response(r->conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  r->status = status;
  return res;
}

enum MHD_Result sy__reply_error(sy_req *r, int status, const char *code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return sy__reply_json(r, status, json_pack("{s{ss ss}}", "error", "code", code, "message", msg));
}

enum MHD_Result sy__reply_rc(sy_req *r, sy_rc rc, const char *msg) {
  return sy__reply_error(r, sy_rc_http_status(rc), sy_rc_code(rc), "%s", msg && *msg ? msg : sy_strerror(rc));
}

/* ---- query arguments ---- */

/* Percent-decodes s into the arena ('+' is a space); NULL if malformed or not UTF-8. */
static char *url_decode(sy_arena *a, const char *s) {
  size_t n = strlen(s), len = 0;
  char *d = sy_arena_alloc(a, n + 1);
  if (!d || sy_url_decode(s, n, 1, d, &len, NULL)) return NULL;
  return d;
}

const char *sy__query(sy_req *r, const char *key, int *bad) {
  const char *raw = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
  if (!raw) return NULL;
  const char *v = url_decode(r->arena, raw);
  if (!v && bad) *bad = 1;
  return v;
}

int sy__query_int(sy_req *r, const char *key, int64_t min, int64_t max, int64_t dflt, int64_t *out) {
  int bad = 0;
  const char *v = sy__query(r, key, &bad);
  *out = dflt;
  if (!v && !bad) return 0;
  char *end = NULL;
  errno = 0;
  long long x = v ? strtoll(v, &end, 10) : 0;
  if (bad || !v || !*v || *end || errno || x < min || x > max) {
    sy__reply_error(r, 400, "ValidationException", "query parameter %s must be an integer from %lld to %lld", key,
                    (long long)min, (long long)max);
    return -1;
  }
  *out = x;
  return 0;
}

int sy__query_bool(sy_req *r, const char *key) {
  const char *v = sy__query(r, key, NULL);
  return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0);
}

/* ---- bodies ---- */

int sy__parse_body(sy_req *r) {
  json_error_t err;
  if (!r->body_len) {
    sy__reply_error(r, 400, "ValidationException", "a JSON object body is required");
    return -1;
  }
  size_t bad_at = 0;
  if (!sy_utf8_check(r->body, r->body_len, &bad_at)) {
    sy__reply_error(r, 400, "ValidationException", "body is not valid UTF-8 (near byte %zu)", bad_at + 1);
    return -1;
  }
  r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
  if (!r->json) {
    sy__reply_error(r, 400, "ValidationException", "malformed JSON at line %d, column %d: %s", err.line, err.column,
                    err.text);
    return -1;
  }
  if (!json_is_object(r->json)) {
    sy__reply_error(r, 400, "ValidationException", "body must be a JSON object");
    return -1;
  }
  return 0;
}

const char *sy__json_type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "?";
}

static int is_string(const json_t *v) { return json_is_string(v); }
static int is_bool(const json_t *v) { return json_is_boolean(v); }
static int is_int(const json_t *v) { return json_is_integer(v); }

/* The field key of obj when present and of the kind is() accepts; NULL when absent or
 * null. On a wrong kind it replies 400 naming the field and sets *bad. */
static json_t *field(sy_req *r, json_t *obj, const char *ctx, const char *key, int (*is)(const json_t *),
                     const char *word, int *bad) {
  json_t *v = json_object_get(obj, key);
  *bad = 0;
  if (!v || json_is_null(v)) return NULL;
  if (is(v)) return v;
  sy__reply_error(r, 400, "ValidationException", "%s%s must be %s, not %s", ctx, key, word, sy__json_type_name(v));
  *bad = 1;
  return NULL;
}

int sy__field_str(sy_req *r, json_t *obj, const char *ctx, const char *key, const char **out, size_t *len) {
  int bad;
  json_t *v = field(r, obj, ctx, key, is_string, "a string", &bad);
  if (!v) return -bad;
  if (memchr(json_string_value(v), 0, json_string_length(v))) {
    sy__reply_error(r, 400, "ValidationException", "%s%s contains a NUL character", ctx, key);
    return -1;
  }
  *out = json_string_value(v);
  if (len) *len = json_string_length(v);
  return 0;
}

int sy__field_bool(sy_req *r, json_t *obj, const char *ctx, const char *key, int *out) {
  int bad;
  json_t *v = field(r, obj, ctx, key, is_bool, "a boolean", &bad);
  if (v) *out = json_is_true(v);
  return -bad;
}

int sy__field_int(sy_req *r, json_t *obj, const char *ctx, const char *key, int64_t *out) {
  int bad;
  json_t *v = field(r, obj, ctx, key, is_int, "an integer", &bad);
  if (v) *out = json_integer_value(v);
  return -bad;
}

/* ---- auth ---- */

int sy__require(sy_req *r, unsigned scope) {
  unsigned have = r->scopes;
  if (have & SY_SCOPE_ADMIN) have |= SY_SCOPE_WRITE | SY_SCOPE_READ | SY_SCOPE_DECRYPT;
  if (have & SY_SCOPE_WRITE) have |= SY_SCOPE_READ;
  if ((have & scope) == scope) return 0;
  const char *need = scope & SY_SCOPE_ADMIN     ? "admin"
                     : scope & SY_SCOPE_WRITE   ? "write"
                     : scope & SY_SCOPE_DECRYPT ? "decrypt"
                                                : "read";
  sy__reply_error(r, 403, "AccessDenied", "token %s lacks the %s scope", r->actor ? r->actor : "?", need);
  return -1;
}

/* Finds the bearer token; replies 401 and returns -1 when absent or unknown. */
static int authenticate(sy_req *r) {
  const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (!h) {
    sy__reply_error(r, 401, "Unauthenticated", "missing Authorization: Bearer <token> header");
    return -1;
  }
  if (strncasecmp(h, "Bearer ", 7) != 0 || !h[7] || strlen(h + 7) > 512) {
    sy__reply_error(r, 401, "Unauthenticated", "the Authorization header must be \"Bearer <token>\"");
    return -1;
  }
  char hash[SY_HASH_HEX];
  sy_sha256_hex(h + 7, strlen(h + 7), hash);
  const sy_snap *s = sy__snap_enter(r->srv->store);
  const sy_token *t = sy__snap_token(s, hash);
  if (t) {
    r->actor = sy_arena_strdup(r->arena, t->name);
    r->scopes = t->scopes;
  }
  sy__snap_leave(r->srv->store);
  if (!t || !r->actor) {
    sy__reply_error(r, 401, "Unauthenticated", "unknown or revoked token");
    return -1;
  }
  return 0;
}

/* ---- async ops ---- */

static void op_done(sy_op *op) {
  sy_req *r = op->ctx;
  r->op_state = 2;
  MHD_resume_connection(r->conn);
}

enum MHD_Result sy__submit(sy_req *r, sy_finish_fn finish) {
  r->op.actor = r->actor;
  r->op.done = op_done;
  r->op.ctx = r;
  r->finish = finish;
  r->op_state = 1;
  MHD_suspend_connection(r->conn);
  if (sy__store_submit(r->srv->store, &r->op)) {
    r->op.rc = SY_EUNAVAILABLE;
    snprintf(r->op.msg, sizeof r->op.msg, "the server is shutting down");
    op_done(&r->op);
  }
  return MHD_YES;
}

/* ---- routing ---- */

static enum MHD_Result health(sy_req *r) {
  int64_t up = (sy__now_ms() - r->srv->started_ms) / 1000;
  return sy__reply_json(r, 200,
                        json_pack("{ss ss ss sI}", "status", r->srv->stopping ? "stopping" : "ok", "version",
                                  SY_VERSION, "store", "sqlite", "uptime_s", (json_int_t)up));
}

typedef struct query_buf {
  char *s;
  size_t len, cap;
  int overflow;
} query_buf;

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  query_buf *q = cls;
  (void)kind;
  int k = snprintf(q->s + q->len, q->cap - q->len, "%s%s=%s", q->len ? "&" : "", key, value ? value : "");
  if (k < 0 || (size_t)k >= q->cap - q->len) {
    q->overflow = 1;
    return MHD_NO;
  }
  q->len += (size_t)k;
  return MHD_YES;
}

/* The query string as sent (arguments are kept raw: see no_unescape), for request signing. */
static const char *raw_query(sy_req *r) {
  query_buf q = {sy_arena_alloc(r->arena, 8192), 0, 8192, 0};
  if (!q.s) return "";
  q.s[0] = 0;
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
  return q.s;
}

static enum MHD_Result dispatch(sy_req *r) {
  const char *p = r->path;
  if (strcmp(p, "/health") == 0) {
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
      return sy__reply_error(r, 405, "MethodNotAllowed", "/health answers GET");
    return health(r);
  }
  if (p[0] == '/' && p[1] == 0 && !strcmp(r->method, "POST")) {
    r->raw_query = raw_query(r);
    return sy__api_ssm(r);
  }
  if (r->too_large) return sy__reply_error(r, 413, "PayloadTooLarge", "the body is larger than %d bytes", SY_BODY_MAX);
  if (r->srv->stopping) return sy__reply_error(r, 503, "Unavailable", "the server is shutting down");
  if (strncmp(p, "/api/", 5) != 0) return sy__reply_error(r, 404, "NotFound", "no route for %.200s", p);
  if (authenticate(r)) return MHD_YES;
  if (strncmp(p, "/api/v1/params", 14) == 0 && (p[14] == 0 || p[14] == '/')) {
    if (p[14] == 0 || (p[14] == '/' && p[15] == 0)) return sy__api_params_list(r);
    return sy__api_params(r, p + 14);
  }
  if (strncmp(p, "/api/v1/admin/audit", 19) == 0) return sy__api_audit(r, p + 19);
  if (strncmp(p, "/api/v1/admin/tokens", 20) == 0) return sy__api_tokens(r, p + 20);
  if (strncmp(p, "/api/v1/admin/keys", 18) == 0) return sy__api_keys(r, p + 18);
  if (strcmp(p, "/api/v1/config/runtime") == 0) return sy__api_config(r);
  if (strcmp(p, "/api/v1/watch") == 0) return sy__api_watch(r);
  return sy__reply_error(r, 404, "NotFound", "no route for %.200s", p);
}

static void access_log(sy_req *r) {
  if (!r->srv->access_log && r->status < 500) return;
  sy__log(r->status >= 500 ? "error" : "info", "request",
          json_pack("{ss ss si sI ss?}", "method", r->method, "path", r->path, "status", r->status, "duration_us",
                    (json_int_t)(now_us() - r->start_us), "actor", r->actor));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls) {
  sy_server *srv = cls;
  sy_req *r = *con_cls;
  (void)version;
  if (!r) {
    sy_arena *a = sy_arena_new();
    r = a ? sy_arena_alloc(a, sizeof *r) : NULL;
    if (!r) {
      sy_arena_free(a);
      return MHD_NO;
    }
    r->arena = a;
    r->srv = srv;
    r->conn = conn;
    r->method = method;
    r->path = sy_arena_strdup(a, url);
    r->start_us = now_us();
    __atomic_add_fetch(&srv->active_reqs, 1, __ATOMIC_RELAXED);
    *con_cls = r;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > SY_BODY_MAX) r->too_large = 1;
    if (!r->path) return MHD_NO;
    return MHD_YES;
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (r->too_large || r->body_len + n > SY_BODY_MAX) {
      r->too_large = 1;
      if (r->body_len + n > SY_BODY_MAX) return MHD_YES; /* keep reading, answer 413 at the end */
    }
    if (r->body_len + n + 1 > r->body_cap) {
      size_t cap = r->body_cap ? r->body_cap * 2 : 4096;
      while (cap < r->body_len + n + 1) cap *= 2;
      char *nb = realloc(r->body, cap);
      if (!nb) return MHD_NO;
      r->body = nb;
      r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, upload_data, n);
    r->body_len += n;
    r->body[r->body_len] = 0;
    return MHD_YES;
  }
  if (r->op_state == 2) {
    r->op_state = 0;
    return r->finish(r);
  }
  if (r->op_state == 1) return MHD_YES; /* spurious call while the writer works */
  return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode tc) {
  sy_server *srv = cls;
  sy_req *r = *con_cls;
  (void)conn, (void)tc;
  if (!r) return;
  if (r->watch) sy__watch_detach(r->srv->hub, r->watch);
  access_log(r);
  sy__op_clear(&r->op);
  json_decref(r->json);
  free(r->body);
  sy_arena_free(r->arena);
  *con_cls = NULL;
  __atomic_sub_fetch(&srv->active_reqs, 1, __ATOMIC_RELEASE);
}

/* Keeps the raw URL: names are checked as they were sent, so percent tricks are refused, not decoded. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) {
  (void)cls, (void)c;
  return strlen(s);
}

sy_rc sy__http_start(sy_server *srv, const char *host, int port, int threads, int *bound, char *msg, size_t msgsz) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    snprintf(msg, msgsz, "cannot parse listen address %s (want an IPv4 address)", host);
    return SY_EINVAL;
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  unsigned conn_limit = 20000;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < conn_limit + 256)
    conn_limit = rl.rlim_cur > 512 ? (unsigned)rl.rlim_cur - 256 : 256;
  srv->daemon =
      MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0,
                       NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE,
                       (unsigned)threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK,
                       no_unescape, NULL, MHD_OPTION_CONNECTION_LIMIT, conn_limit, MHD_OPTION_CONNECTION_TIMEOUT,
                       (unsigned)300, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                       (unsigned)4096, MHD_OPTION_END);
  if (!srv->daemon) {
    snprintf(msg, msgsz, "cannot listen on %s:%d: %s", host, port, strerror(errno));
    return SY_EIO;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
  *bound = info ? info->port : port;
  return SY_OK;
}

void sy__http_stop(sy_server *srv, int deadline_ms) {
  if (!srv->daemon) return;
  srv->stopping = 1;
  MHD_quiesce_daemon(srv->daemon);
  sy__watch_shutdown(srv->hub);
  int64_t until = sy__now_ms() + deadline_ms;
  while (__atomic_load_n(&srv->active_reqs, __ATOMIC_ACQUIRE) > 0 && sy__now_ms() < until) {
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
  }
  MHD_stop_daemon(srv->daemon);
  srv->daemon = NULL;
}

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
#include "server/frame.h"
#include "server/guard.h"

void sy__log(const char *level, const char *msg, json_t *fields) { sy__log_stderr(level, msg, fields); }

/* ---- replies ---- */

static void free_buf(void *p) { free(p); }

enum MHD_Result sy__queue(sy_req *r, int status, struct MHD_Response *resp, const char *content_type) {
  if (!resp) return MHD_NO;
  if (content_type) MHD_add_response_header(resp, "Content-Type", content_type);
  if (r->srv->stopping || r->close) MHD_add_response_header(resp, "Connection", "close");
  if (r->request_id) MHD_add_response_header(resp, "X-Request-Id", r->request_id);
  if (status == 503 && !r->srv->stopping) /* the store out of reach, a provider's breaker: soon, not never */
    MHD_add_response_header(resp, "Retry-After", "1");
  enum MHD_Result res = MHD_queue_response(r->conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  r->status = status;
  return res;
}

struct MHD_Response *sy__response(char *text, size_t len) {
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, text, free_buf);
  if (!resp) free(text);
  return resp;
}

enum MHD_Result sy__reply_text(sy_req *r, int status, char *text, size_t len, const char *content_type) {
  return sy__queue(r, status, sy__response(text, len), content_type);
}

enum MHD_Result sy__reply_json(sy_req *r, int status, json_t *body) {
  char *s = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(body);
  if (!s) {
    static const char oom[] = "{\"error\":{\"code\":\"InternalError\",\"message\":\"out of memory\"}}";
    sy__log("error", "out of memory while replying", json_pack("{ss}", "path", r->path ? r->path : ""));
    return sy__queue(r, 500, MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT),
                     "application/json");
  }
  return sy__reply_text(r, status, s, strlen(s), "application/json");
}

enum MHD_Result sy__reply_jbuf(sy_req *r, int status, sy_jbuf *b) {
  size_t len = 0;
  char *text = sy__jbuf_take(b, &len);
  if (!text) return sy__reply_json(r, 500, NULL);
  return sy__reply_text(r, status, text, len, "application/json");
}

/* OpenAI's error type for a status. */
static const char *openai_type(int status) {
  switch (status) {
  case 401: return "authentication_error";
  case 403: return "permission_error";
  case 404: return "not_found_error";
  case 429: return "rate_limit_error";
  default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

enum MHD_Result sy__reply_error(sy_req *r, int status, const char *code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  sy__utf8_clean(msg, strlen(msg)); /* it may quote request bytes; JSON holds only UTF-8 */
  if (status >= 500)
    sy__log("error", "request failed",
            json_pack("{ss? ss? si ss ss}", "method", r->method, "path", r->path, "status", status, "code", code,
                      "cause", msg));
  if (r->ssm_wire && r->srv->ssm_reply_error) /* the shape AWS clients read */
    return r->srv->ssm_reply_error(r, status, code, msg);
  if (r->openai) /* the shape OpenAI clients read */
    return sy__reply_json(
        r, status,
        json_pack("{s{ss ss sn ss}}", "error", "message", msg, "type", openai_type(status), "param", "code", code));
  return sy__reply_json(r, status, json_pack("{s{ss ss}}", "error", "code", code, "message", msg));
}

enum MHD_Result sy__reply_rc(sy_req *r, sy_rc rc, const char *msg) {
  return sy__reply_error(r, sy__rc_http_status(rc), sy__rc_code(rc), "%s", msg && *msg ? msg : sy_strerror(rc));
}

/* ---- query arguments ----
 * The query string is parsed once, from the bytes of the request line, before any
 * handler runs: every name and value is percent-decoded and checked (UTF-8, no NUL),
 * and a parameter given twice, an empty one or one too many is refused. Handlers then
 * say which parameters they take (sy__query_only), so a misspelt one is an error too. */

#define QUERY_ARGS_MAX 32

struct sy_qarg {
  const char *key, *val; /* val NULL: a bare key, without '=' */
};

/* Replies 400 naming the problem; returns -1. */
__attribute__((format(printf, 2, 3))) static int query_refuse(sy_req *r, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  sy__reply_error(r, 400, "ValidationException", "%s", what);
  return -1;
}

static int parse_query(sy_req *r) {
  const char *q = r->raw_query;
  size_t n = strlen(q), start = 0;
  if (!n) return 0;
  r->qargs = sy__arena_alloc(r->arena, QUERY_ARGS_MAX * sizeof *r->qargs);
  char *buf = sy__arena_alloc(r->arena, n + 1);
  if (!r->qargs || !buf) return sy__reply_error(r, 500, "InternalError", "out of memory"), -1;
  while (start <= n) {
    const char *seg = q + start, *amp = memchr(seg, '&', n - start);
    size_t len = amp ? (size_t)(amp - seg) : n - start, klen, vlen, bad = 0;
    if (!len) return query_refuse(r, "the query string has an empty parameter at byte %zu", start + 1);
    if (r->nqargs == QUERY_ARGS_MAX) return query_refuse(r, "more than %d query parameters", QUERY_ARGS_MAX);
    const char *eq = memchr(seg, '=', len);
    size_t kraw = eq ? (size_t)(eq - seg) : len;
    char *key = buf + (seg - q), *val = NULL;
    if (!kraw || sy__url_decode(seg, kraw, 1, key, &klen, &bad))
      return query_refuse(r, "a query parameter name is not valid percent-encoded UTF-8 (byte %zu)", start + bad + 1);
    if (eq) {
      /* the value decodes into the bytes after the key's: key + '=' + value fit in len + 1 */
      val = key + klen + 1;
      if (eq + 1 == seg + len)
        return query_refuse(r, "query parameter %.64s is empty; give it a value or leave it out", key);
      if (sy__url_decode(eq + 1, len - kraw - 1, 1, val, &vlen, &bad))
        return query_refuse(r, "query parameter %.64s is not valid percent-encoded UTF-8 (byte %zu of its value)", key,
                            bad + 1);
    }
    for (int i = 0; i < r->nqargs; i++)
      if (!strcmp(r->qargs[i].key, key)) return query_refuse(r, "query parameter %.64s is given more than once", key);
    r->qargs[r->nqargs].key = key;
    r->qargs[r->nqargs].val = val;
    r->nqargs++;
    start += len + 1;
  }
  return 0;
}

static const struct sy_qarg *query_find(sy_req *r, const char *key) {
  for (int i = 0; i < r->nqargs; i++)
    if (!strcmp(r->qargs[i].key, key)) return &r->qargs[i];
  return NULL;
}

/* Whether word is one of the space-separated names in list (a trailing '?' marks a flag). */
static int listed(const char *list, const char *word, int *flag) {
  size_t wl = strlen(word);
  for (const char *p = list; *p;) {
    size_t l = strcspn(p, " ");
    size_t nl = l && p[l - 1] == '?' ? l - 1 : l;
    if (nl == wl && !memcmp(p, word, wl)) {
      *flag = nl != l;
      return 1;
    }
    p += l;
    while (*p == ' ') p++;
  }
  return 0;
}

int sy__query_only(sy_req *r, const char *allowed) {
  for (int i = 0; i < r->nqargs; i++) {
    int flag = 0;
    const char *k = r->qargs[i].key;
    if (!listed(allowed, k, &flag)) {
      if (!*allowed)
        sy__reply_error(r, 400, "ValidationException", "unknown query parameter %.64s; this endpoint takes none", k);
      else
        sy__reply_error(r, 400, "ValidationException", "unknown query parameter %.64s; this endpoint takes: %s", k,
                        allowed);
      return -1;
    }
    if (!flag && !r->qargs[i].val) {
      sy__reply_error(r, 400, "ValidationException", "query parameter %.64s needs a value (%.64s=...)", k, k);
      return -1;
    }
  }
  return 0;
}

const char *sy__query(sy_req *r, const char *key) {
  const struct sy_qarg *a = query_find(r, key);
  return a ? a->val : NULL;
}

int sy__query_int(sy_req *r, const char *key, int64_t min, int64_t max, int64_t dflt, int64_t *out) {
  const struct sy_qarg *a = query_find(r, key);
  *out = dflt;
  if (!a) return 0;
  const char *v = a->val;
  char *end = NULL;
  errno = 0;
  long long x = v ? strtoll(v, &end, 10) : 0;
  int lead = v && ((*v >= '0' && *v <= '9') || *v == '-');
  if (!lead || *end || errno || x < min || x > max) {
    sy__reply_error(r, 400, "ValidationException", "query parameter %s must be an integer from %lld to %lld", key,
                    (long long)min, (long long)max);
    return -1;
  }
  *out = x;
  return 0;
}

int sy__query_bool(sy_req *r, const char *key, int *out) {
  const struct sy_qarg *a = query_find(r, key);
  *out = 0;
  if (!a) return 0;
  const char *v = a->val;
  if (!v || !strcmp(v, "true") || !strcmp(v, "1")) {
    *out = 1;
    return 0;
  }
  if (!strcmp(v, "false") || !strcmp(v, "0")) return 0;
  sy__reply_error(r, 400, "ValidationException", "query parameter %s must be true or false, not \"%.64s\"", key, v);
  return -1;
}

/* ---- bodies ---- */

int sy__parse_body(sy_req *r) {
  json_error_t err;
  if (!r->body_len) {
    sy__reply_error(r, 400, "ValidationException", "a JSON object body is required");
    return -1;
  }
  size_t bad_at = 0;
  if (!sy__utf8_check(r->body, r->body_len, &bad_at)) {
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

int sy__require_quiet(sy_req *r, unsigned scope) {
  unsigned have = r->scopes;
  if (have & SY_SCOPE_ADMIN) have |= SY_SCOPE_WRITE | SY_SCOPE_READ | SY_SCOPE_DECRYPT;
  if (have & SY_SCOPE_WRITE) have |= SY_SCOPE_READ;
  if (r->tokenless) have &= ~(unsigned)SY_SCOPE_DECRYPT; /* --insecure-loopback never shows a secret */
  /* who may read a flag may evaluate it; write implies read for reading, not for this */
  if (r->scopes & (SY_SCOPE_READ | SY_SCOPE_ADMIN)) have |= SY_SCOPE_EVALUATE;
  return (have & scope) == scope ? 0 : -1;
}

int sy__require(sy_req *r, unsigned scope) {
  if (!sy__require_quiet(r, scope)) return 0;
  const char *need = scope & SY_SCOPE_ADMIN     ? "admin"
                     : scope & SY_SCOPE_WRITE   ? "write"
                     : scope & SY_SCOPE_DECRYPT ? "decrypt"
                     : scope & SY_SCOPE_READ    ? "read"
                                                : "evaluate";
  sy__reply_error(r, 403, "AccessDenied", "token %s lacks the %s scope", r->actor ? r->actor : "?", need);
  return -1;
}

/* Whether the path is OFREP's (/ofrep/...): its credentials may come as X-API-Key too, and
 * its refusals carry no body, as OFREP has them. */
static int is_ofrep(const char *path) { return !strncmp(path, "/ofrep/", 7); }

/* Refuses a request's credentials: 401, without a body on OFREP's paths. Returns -1. */
static int unauthenticated(sy_req *r, const char *msg) {
  if (is_ofrep(r->path)) {
    sy__queue(r, 401, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT), NULL);
    return -1;
  }
  sy__reply_error(r, 401, "Unauthenticated", "%s", msg);
  return -1;
}

/* Finds the bearer token (on OFREP's paths, an X-API-Key header is one too); replies 401
 * and returns -1 when absent or unknown. */
static int authenticate(sy_req *r) {
  const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  const char *secret = NULL;
  if (h) {
    if (strncasecmp(h, "Bearer ", 7) != 0 || !h[7] || strlen(h + 7) > 512)
      return unauthenticated(r, "the Authorization header must be \"Bearer <token>\"");
    secret = h + 7;
  } else if (is_ofrep(r->path)) {
    secret = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-API-Key");
    if (secret && (!*secret || strlen(secret) > 512)) secret = NULL;
  }
  if (!secret && r->srv->insecure_loopback) { /* refused at start unless every listen address is loopback */
    r->actor = "insecure-loopback";
    r->tokenless = 1;
    r->scopes = SY_SCOPE_READ | SY_SCOPE_WRITE | SY_SCOPE_ADMIN;
    return 0;
  }
  if (!secret)
    return unauthenticated(r,
                           "missing Authorization: Bearer <token> header (a developer's machine may serve "
                           "requests without one with switchyard serve --insecure-loopback)");
  char hash[SY_HASH_HEX];
  sy__sha256_hex(secret, strlen(secret), hash);
  const sy_snap *s = sy__snap_enter(r->srv->store);
  const sy_token *t = sy__snap_token(s, hash);
  if (t) {
    r->actor = sy__arena_strdup(r->arena, t->name);
    r->scopes = t->scopes;
    /* copied: the token lives only as long as the snapshot section */
    if (t->route && *t->route && !(r->token_route = sy__arena_strdup(r->arena, t->route))) r->actor = NULL;
  }
  sy__snap_leave(r->srv->store);
  if (!t || !r->actor) return unauthenticated(r, "unknown or revoked token");
  return 0;
}

/* ---- async ops ---- */

void sy__suspend(sy_req *r, sy_finish_fn finish) {
  r->finish = finish;
  __atomic_store_n(&r->wait, 1, __ATOMIC_RELEASE);
  MHD_suspend_connection(r->conn);
}

void sy__resume(sy_req *r) {
  __atomic_store_n(&r->wait, 2, __ATOMIC_RELEASE);
  MHD_resume_connection(r->conn);
}

static void op_done(sy_op *op) { sy__resume(op->ctx); }

enum MHD_Result sy__submit(sy_req *r, sy_finish_fn finish) {
  r->op.actor = r->actor;
  r->op.done = op_done;
  r->op.ctx = r;
  sy__suspend(r, finish);
  if (sy__store_submit(r->srv->store, &r->op)) {
    r->op.rc = SY_EUNAVAILABLE;
    snprintf(r->op.msg, sizeof r->op.msg, "the server is shutting down");
    op_done(&r->op);
  }
  return MHD_YES;
}

/* ---- routing ---- */

static void access_log(sy_req *r) {
  if (!r->srv->access_log && r->status < 500) return;
  sy__log(r->status >= 500 ? "error" : "info", "request",
          json_pack("{ss ss si sI ss?}", "method", r->method, "path", r->path, "status", r->status, "duration_us",
                    (json_int_t)(sy__clock_mono_us() - r->start_us), "actor", r->actor));
}

/* What a request holds outside its arena: its write's result, its parsed body, its body. */
static void req_release(void *arg) {
  sy_req *r = arg;
  sy__op_clear(&r->op);
  json_decref(r->json);
  free(r->body);
}

/* The URI log callback: the first thing libmicrohttpd tells about a request, with its
 * target exactly as it sits in the request line, before the query is cut off or split.
 * The request context is made here; libmicrohttpd hands it to on_request as *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  sy_server *srv = cls;
  sy_arena *a = sy__arena_new();
  sy_req *r = a ? sy__arena_alloc(a, sizeof *r) : NULL;
  if (!r) {
    sy__arena_free(a);
    return NULL;
  }
  r->arena = a;
  if (sy__arena_cleanup(a, req_release, r)) { /* registered first, so it runs last */
    sy__arena_free(a);
    return NULL;
  }
  r->srv = srv;
  r->conn = conn;
  r->start_us = sy__clock_mono_us();
  r->target = uri;
  r->target_len = uri ? strlen(uri) : 0;
  const char *q = uri ? memchr(uri, '?', r->target_len) : NULL;
  size_t plen = q ? (size_t)(q - uri) : r->target_len;
  r->path = uri ? sy__arena_strndup(a, uri, plen) : NULL;
  r->raw_query = q ? sy__arena_strndup(a, q + 1, r->target_len - plen - 1) : "";
  /* The query is parsed from the copy above. libmicrohttpd would split it once more into
   * one pool-allocated entry per argument, rescanning the rest of the string for each
   * (quadratic), and a long query exhausts the connection's pool, after which it hangs
   * instead of answering. It splits the string it finds after the '?' once this
   * callback returns: ending that string here leaves it nothing to split. */
  if (q && r->raw_query) ((char *)uri)[plen + 1] = 0;
  return r;
}

void sy__request_id(char out[40]) {
  static uint64_t seq, base;
  if (!__atomic_load_n(&base, __ATOMIC_RELAXED)) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t b = (((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec) | 1, zero = 0;
    __atomic_compare_exchange_n(&base, &zero, b, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  }
  uint64_t n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
  snprintf(out, 40, "req_%012llx%08llx", (unsigned long long)(base & 0xffffffffffffull),
           (unsigned long long)(n & 0xffffffffull));
}

/* Whether the path is one of the gateway's, answered in OpenAI's shapes. */
static int is_gateway(const char *path) {
  return !strncmp(path, "/v1/", 4) || !strcmp(path, "/api/v1/chat/completions");
}

static int is_import(sy_req *r) {
  return !strcmp(r->method, "POST") && !strcmp(r->path, "/api/v1/config/runtime") &&
         !sy__require_quiet(r, SY_SCOPE_ADMIN);
}

/* The first call for a request, once its headers are in and before any of its body is
 * read: framing, credentials and size are settled here, so a refused request costs no
 * body. Returns MHD_YES with a reply queued, or with none to go on reading. */
static enum MHD_Result on_headers(sy_req *r, const char *url, const char *method, const char *version) {
  sy_server *srv = r->srv;
  char msg[512];
  r->method = method;
  __atomic_add_fetch(&srv->active_reqs, 1, __ATOMIC_RELAXED); /* what a stop waits for */
  r->ssm_wire = !strcmp(r->path, "/") && !strcmp(method, "POST");
  r->gc = sy__guard_conn(r->conn);
  sy_frame_body fb = {0, 0};
  int status = sy__frame_check(r->conn, method, r->target, r->target_len, version, &fb, msg, sizeof msg);
  r->target = NULL; /* it points into libmicrohttpd's read buffer, good only until now */
  size_t plen = strlen(r->path);
  if (!status) status = sy__frame_target_check(r->path, plen, 0, msg, sizeof msg);
  if (!status) status = sy__frame_target_check(r->raw_query, strlen(r->raw_query), plen + 1, msg, sizeof msg);
  if (!status && strcmp(url, r->path)) status = 400, snprintf(msg, sizeof msg, "malformed request target");
  if (status) { /* the rest of the connection cannot be trusted to be framed as it says */
    r->close = 1;
    return sy__reply_error(r, status,
                           status == 501   ? "NotImplemented"
                           : status == 505 ? "HTTPVersionNotSupported"
                                           : "BadRequest",
                           "%s", msg);
  }
  unsigned long long clen = fb.length;
  int body = fb.chunked || clen > 0;
  r->close = body; /* any reply before the body is read ends the connection */
  if (srv->stopping) return sy__reply_error(r, 503, "Unavailable", "the server is shutting down");
  r->openai = is_gateway(r->path);
  if (r->openai) {
    char rid[40];
    sy__request_id(rid);
    r->request_id = sy__arena_strdup(r->arena, rid);
  }
  if ((!strncmp(r->path, "/api/", 5) || is_ofrep(r->path) || r->openai || !strcmp(r->path, "/metrics")) &&
      authenticate(r))
    return MHD_YES;
  r->body_max = is_import(r) ? srv->import_max : r->openai ? SY_GATEWAY_BODY_MAX : SY_BODY_MAX;
  if (clen > r->body_max)
    return sy__reply_error(r, 413, "PayloadTooLarge", "the body is %llu bytes; this endpoint takes at most %zu", clen,
                           r->body_max);
  if (clen && !(r->body = malloc(clen + 1))) return sy__reply_error(r, 503, "Unavailable", "out of memory");
  r->body_cap = clen ? clen + 1 : 0;
  if (parse_query(r)) return MHD_YES;
  r->close = 0;
  sy__guard_phase(srv->guard, r->gc, body ? SY_GUARD_BODY : SY_GUARD_HANDLING);
  return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls) {
  sy_req *r = *con_cls;
  (void)cls, (void)conn;
  if (!r || !r->path || !r->raw_query) return MHD_NO; /* out of memory in on_uri */
  if (!r->started) {
    r->started = 1;
    enum MHD_Result res = on_headers(r, url, method, version);
    /* Refused before its body was read: libmicrohttpd closes the connection after the
     * reply, and closing a socket that still has unread data resets it, which can take the
     * reply with it. The guard drains the socket for a while instead (a lingering close). */
    if (r->status && r->close && r->gc) sy__guard_linger(r->srv->guard, r->gc);
    return res;
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (!r->discard && r->body_len + n > r->body_max) { /* a chunked body past its limit */
      r->discard = 1;
      r->discarded = r->body_len;
    }
    if (r->discard) {
      r->discarded += n;
      return r->discarded > SY_DISCARD_MAX ? MHD_NO : MHD_YES; /* answered 413 at the end */
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
  int wait = __atomic_load_n(&r->wait, __ATOMIC_ACQUIRE);
  if (wait == 2) {
    r->wait = 0;
    return r->finish(r);
  }
  if (wait == 1 || r->dispatched) return MHD_YES; /* a spurious call while the request waits */
  r->dispatched = 1;
  sy__guard_phase(r->srv->guard, r->gc, SY_GUARD_HANDLING);
  if (r->discard)
    return sy__reply_error(r, 413, "PayloadTooLarge", "the body is larger than %zu bytes, this endpoint's limit",
                           r->body_max);
  return r->srv->route(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode tc) {
  sy_server *srv = cls;
  sy_req *r = *con_cls;
  (void)conn, (void)tc;
  if (!r) return;
  sy__guard_phase(srv->guard, r->gc, SY_GUARD_IDLE);
  if (r->method) access_log(r);
  int counted = r->started;
  sy__arena_free(r->arena); /* runs the request's cleanups; r is gone from here on */
  *con_cls = NULL;
  if (counted) __atomic_sub_fetch(&srv->active_reqs, 1, __ATOMIC_RELEASE);
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
  srv->guard = sy__guard_new(&srv->limits);
  if (!srv->guard) {
    snprintf(msg, msgsz, "cannot start the connection guard");
    return SY_EINTERNAL;
  }
  /* libmicrohttpd's own timeout is the keep-alive idle time (it counts inactivity only);
   * the guard bounds how long a request's headers and body may take */
  unsigned idle_s = srv->limits.idle_timeout_ms > 0 ? (unsigned)(srv->limits.idle_timeout_ms + 999) / 1000 : 0;
  srv->daemon =
      MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0,
                       sy__guard_accept, srv->guard, on_request, srv, MHD_OPTION_SOCK_ADDR, &sa,
                       MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
                       MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, sy__guard_notify,
                       srv->guard, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_CONNECTION_LIMIT,
                       conn_limit, MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                       (size_t)16384, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096, MHD_OPTION_END);
  if (!srv->daemon) {
    snprintf(msg, msgsz, "cannot listen on %s:%d: %s", host, port, strerror(errno));
    sy__guard_free(srv->guard);
    srv->guard = NULL;
    return SY_EIO;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
  *bound = info ? info->port : port;
  return SY_OK;
}

void sy__http_stop(sy_server *srv, int deadline_ms) {
  if (!srv->daemon) return;
  srv->stopping = 1;
  /* New connections are refused from here on by the guard's accept policy. Not with
   * MHD_quiesce_daemon: on an epoll daemon with worker threads, libmicrohttpd 0.9.75 races
   * its workers removing the listening socket and can abort the process ("Failed to remove
   * listen FD from epoll set"). The socket closes with the daemon. */
  sy__guard_close(srv->guard);
  int64_t until = sy__clock_tick(sy__clock_system()) + deadline_ms;
  while (__atomic_load_n(&srv->active_reqs, __ATOMIC_ACQUIRE) > 0 && sy__clock_tick(sy__clock_system()) < until) {
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
  }
  MHD_stop_daemon(srv->daemon);
  srv->daemon = NULL;
  sy__guard_free(srv->guard); /* after the daemon: its last notifications reach the guard */
  srv->guard = NULL;
}

/* ofrep.c — OFREP 0.3.0: evaluates Switchyard's flags for any OpenFeature SDK.
 *
 * POST /ofrep/v1/evaluate/flags/{key}   one flag; the key raw ("a/b/c") or percent-encoded
 *                                       ("a%2Fb%2Fc"), decoded once
 * POST /ofrep/v1/evaluate/flags         every flag of the snapshot, with an ETag
 *
 * A flag is a document of kind Flag; its key is its path without the leading '/'. The body
 * is {"context": {...}}, the context optional. Evaluation runs on one snapshot and the
 * reply is written with the JSON writer while the flag is in hand (its values belong to the
 * snapshot). Errors take OFREP's shapes: 400 {"key","errorCode","errorDetails"}, 404
 * FLAG_NOT_FOUND, 401 and 403 without a body. */
#include "server/ofrep.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/flag.h"
#include "core/text.h"
#include "server/flag_stats.h"

#define EVAL_PATH "/ofrep/v1/evaluate/flags"
/* A key as sent: a flag's name percent-encoded in full is at most three bytes a byte. */
#define KEY_RAW_MAX (3 * SY_NAME_MAX)
/* The bulk reply's limit: every flag of the store, evaluated. */
#define BULK_MAX ((size_t)64 << 20)
/* How much of a refused key an error reply quotes. */
#define KEY_QUOTE_MAX 256

/* ---- replies ---- */

/* A reply without a body (401, 403, 304, 405). */
static enum MHD_Result reply_empty(sy_req *r, int status) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (resp && status == 405) MHD_add_response_header(resp, "Allow", "POST");
  return sy__queue(r, status, resp, NULL);
}

/* An error of one flag: {"key","errorCode","errorDetails"} (members only when in_list). */
static void error_members(sy_jbuf *b, const char *key, size_t klen, const char *code, const char *detail) {
  sy__jbuf_cstr(b, "{\"key\":");
  sy__jbuf_str(b, key, klen);
  sy__jbuf_cstr(b, ",\"errorCode\":\"");
  sy__jbuf_cstr(b, code);
  sy__jbuf_cstr(b, "\",\"errorDetails\":");
  sy__jbuf_str(b, detail, strlen(detail));
  sy__jbuf_putc(b, '}');
}

/* Replies status with an evaluation failure for key (any bytes: quoted as valid UTF-8). */
__attribute__((format(printf, 6, 7))) static enum MHD_Result reply_failure(sy_req *r, int status, const char *key,
                                                                           size_t klen, const char *code,
                                                                           const char *fmt, ...) {
  char detail[512], quoted[KEY_QUOTE_MAX + 1];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  sy__utf8_clean(detail, strlen(detail));
  if (klen > KEY_QUOTE_MAX) klen = KEY_QUOTE_MAX;
  memcpy(quoted, key, klen);
  quoted[klen] = 0;
  sy__utf8_clean(quoted, klen);
  char buf[1024];
  sy_jbuf b;
  sy__jbuf_init_on(&b, 1 << 16, buf, sizeof buf);
  error_members(&b, quoted, klen, code, detail);
  return sy__reply_jbuf(r, status, &b);
}

/* A request-wide failure of the bulk evaluation: {"errorCode","errorDetails"}. */
__attribute__((format(printf, 4, 5))) static enum MHD_Result reply_bulk_failure(sy_req *r, int status, const char *code,
                                                                                const char *fmt, ...) {
  char detail[512], buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  sy__utf8_clean(detail, strlen(detail));
  sy_jbuf b;
  sy__jbuf_init_on(&b, 1 << 16, buf, sizeof buf);
  sy__jbuf_cstr(&b, "{\"errorCode\":\"");
  sy__jbuf_cstr(&b, code);
  sy__jbuf_cstr(&b, "\",\"errorDetails\":");
  sy__jbuf_str(&b, detail, strlen(detail));
  sy__jbuf_putc(&b, '}');
  return sy__reply_jbuf(r, status, &b);
}

/* Writes a JSON value (a flag's variant value: compiled from a stored document, so its
 * depth is the store's to bound). */
static void write_value(sy_jbuf *b, const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    const char *k;
    json_t *m;
    int first = 1;
    sy__jbuf_putc(b, '{');
    json_object_foreach((json_t *)v, k, m) {
      if (!first) sy__jbuf_putc(b, ',');
      first = 0;
      sy__jbuf_str(b, k, strlen(k));
      sy__jbuf_putc(b, ':');
      write_value(b, m);
    }
    sy__jbuf_putc(b, '}');
    break;
  }
  case JSON_ARRAY: {
    size_t i;
    json_t *m;
    sy__jbuf_putc(b, '[');
    json_array_foreach(v, i, m) {
      if (i) sy__jbuf_putc(b, ',');
      write_value(b, m);
    }
    sy__jbuf_putc(b, ']');
    break;
  }
  case JSON_STRING: sy__jbuf_str(b, json_string_value(v), json_string_length(v)); break;
  case JSON_INTEGER: sy__jbuf_int(b, json_integer_value(v)); break;
  case JSON_REAL: {
    char num[40];
    int n = snprintf(num, sizeof num, "%.17g", json_real_value(v));
    if (n > 0 && (size_t)n < sizeof num) {
      sy__jbuf_raw(b, num, (size_t)n);
      if (!strpbrk(num, ".eE")) sy__jbuf_cstr(b, ".0");
    } else {
      sy__jbuf_cstr(b, "0");
    }
    break;
  }
  case JSON_TRUE: sy__jbuf_cstr(b, "true"); break;
  case JSON_FALSE: sy__jbuf_cstr(b, "false"); break;
  default: sy__jbuf_cstr(b, "null"); break;
  }
}

static const char *env_lookup(const char *name) { return getenv(name); }  // NOLINT(concurrency-mt-unsafe)

/* Evaluates the flag f (version `version` of the document with key) for ctx, records the
 * evaluation, and writes its result object into b: a success, or an evaluation failure.
 * Returns the HTTP status a single evaluation answers with (200 or 400). Runs inside the
 * snapshot section f was found in. */
static int eval_write(sy_server *srv, sy_jbuf *b, const sy_flag *f, int64_t version, const char *key, size_t klen,
                      const json_t *ctx) {
  sy_flag_result res;
  sy__flag_eval(f, ctx, env_lookup, &res);
  /* counted as the native API counts: every evaluation of a context that is one */
  if (res.error != SY_FLAG_INVALID_CONTEXT && res.error != SY_FLAG_PARSE_ERROR) sy__flag_stats_record(srv, key, &res);
  if (res.reason == SY_FLAG_ERROR) {
    error_members(b, key, klen, res.error ? sy__flag_error_name(res.error) : "GENERAL",
                  res.detail[0] ? res.detail : "the flag could not be evaluated");
    return 400;
  }
  sy__jbuf_cstr(b, "{\"key\":");
  sy__jbuf_str(b, key, klen);
  sy__jbuf_cstr(b, ",\"value\":");
  if (res.value)
    write_value(b, res.value);
  else
    sy__jbuf_cstr(b, "null");
  sy__jbuf_cstr(b, ",\"reason\":\"");
  sy__jbuf_cstr(b, sy__flag_reason_name(res.reason));
  sy__jbuf_putc(b, '"');
  if (res.variant) {
    sy__jbuf_cstr(b, ",\"variant\":");
    sy__jbuf_str(b, res.variant, strlen(res.variant));
  }
  sy__jbuf_cstr(b, ",\"metadata\":{\"version\":");
  sy__jbuf_int(b, version);
  if (res.overridden) sy__jbuf_cstr(b, ",\"overridden\":true");
  sy__jbuf_cstr(b, "}}");
  return 200;
}

/* ---- the request ---- */

/* How deep v nests below itself (a scalar or an empty container is 0). */
static int json_depth(const json_t *v, int limit) {
  int d = 0;
  if (limit < 0) return 0;
  if (json_is_object(v)) {
    const char *k;
    json_t *m;
    json_object_foreach((json_t *)v, k, m) {
      int x = 1 + json_depth(m, limit - 1);
      if (x > d) d = x;
      if (d > limit) break;
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) {
      int x = 1 + json_depth(m, limit - 1);
      if (x > d) d = x;
      if (d > limit) break;
    }
  }
  return d;
}

/* Reads the body's context into *ctx (borrowed from r->json; NULL when there is none).
 * Returns NULL, or the OFREP error code of a refusal with its details in msg. */
static const char *read_context(sy_req *r, const json_t **ctx, char *msg, size_t msgsz) {
  *ctx = NULL;
  if (!r->body_len) return NULL; /* no body: an empty context */
  if (r->body_len > SY_FLAG_CONTEXT_MAX) {
    snprintf(msg, msgsz, "the request body is %zu bytes; a context may take at most %d", r->body_len,
             SY_FLAG_CONTEXT_MAX);
    return "INVALID_CONTEXT";
  }
  json_error_t err;
  r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
  if (!r->json) {
    snprintf(msg, msgsz, "the body is not JSON: %s at line %d, column %d", err.text, err.line, err.column);
    return "PARSE_ERROR";
  }
  if (!json_is_object(r->json)) {
    snprintf(msg, msgsz, "the body must be an object {\"context\": {...}}, not %s", sy__json_type_name(r->json));
    return "PARSE_ERROR";
  }
  const json_t *c = json_object_get(r->json, "context");
  if (!c || json_is_null(c)) return NULL;
  if (!json_is_object(c)) {
    snprintf(msg, msgsz, "context must be an object, not %s", sy__json_type_name(c));
    return "PARSE_ERROR";
  }
  const json_t *tk = json_object_get(c, "targetingKey");
  if (tk && !json_is_string(tk)) {
    snprintf(msg, msgsz, "context.targetingKey must be a string, not %s", sy__json_type_name(tk));
    return "INVALID_CONTEXT";
  }
  if (json_depth(c, SY_FLAG_CONTEXT_DEPTH) > SY_FLAG_CONTEXT_DEPTH) {
    snprintf(msg, msgsz, "the context nests deeper than %d levels", SY_FLAG_CONTEXT_DEPTH);
    return "INVALID_CONTEXT";
  }
  *ctx = c;
  return NULL;
}

/* Whether the caller may evaluate: a token with the scope read, admin or evaluate (write
 * alone does not: it writes, the application that evaluates reads). */
static int may_evaluate(sy_req *r) { return !sy__require_quiet(r, SY_SCOPE_EVALUATE); }

/* POST /ofrep/v1/evaluate/flags/{raw}: raw is the key as sent (n bytes). */
static enum MHD_Result eval_one(sy_req *r, const char *raw, size_t n) {
  if (n > KEY_RAW_MAX)
    return reply_failure(r, 404, raw, n, "FLAG_NOT_FOUND", "the key is longer than %d bytes: no flag has it",
                         KEY_RAW_MAX);
  /* the document's name: '/' and the key, percent-decoded once */
  char *name = sy__arena_alloc(r->arena, n + 2);
  size_t klen = 0, bad = 0;
  if (!name) return reply_empty(r, 500);
  name[0] = '/';
  if (sy__url_decode(raw, n, 0, name + 1, &klen, &bad))
    return reply_failure(r, 400, raw, n, "PARSE_ERROR",
                         "the key is not valid percent-encoded UTF-8 (byte %zu): a '%%' takes two hex digits", bad + 1);
  const char *key = name + 1;
  char msg[SY_MSG_MAX];
  if (!klen || sy__name_check(name, klen + 1, msg, sizeof msg))
    return reply_failure(r, 404, key, klen, "FLAG_NOT_FOUND", "no flag has the key \"%.256s\"", key);
  const json_t *ctx = NULL;
  const char *code = read_context(r, &ctx, msg, sizeof msg);
  if (code) return reply_failure(r, 400, key, klen, code, "%s", msg);

  char buf[2048];
  sy_jbuf b;
  sy__jbuf_init_on(&b, 1 << 20, buf, sizeof buf);
  sy_store *st = r->srv->store;
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__snap_get(s, name, klen + 1);
  const sy_flag *f = p ? sy__ver_flag(p->latest) : NULL;
  int status = f ? eval_write(r->srv, &b, f, p->latest->version, key, klen, ctx) : 404;
  sy__snap_leave(st);
  if (status == 404) {
    sy__jbuf_free(&b);
    if (p)
      return reply_failure(r, 404, key, klen, "FLAG_NOT_FOUND", "%.256s is a parameter of another kind, not a flag",
                           name);
    return reply_failure(r, 404, key, klen, "FLAG_NOT_FOUND", "no flag has the key \"%.256s\"", key);
  }
  if (b.err) {
    sy__jbuf_free(&b);
    return reply_failure(r, 500, key, klen, "GENERAL", "the result is too large to send");
  }
  return sy__reply_jbuf(r, status, &b);
}

/* ---- bulk ---- */

typedef struct bulk {
  sy_server *srv;
  sy_jbuf *out;
  EVP_MD_CTX *md; /* the ETag's digest */
  const json_t *ctx;
  size_t n;
} bulk;

/* One parameter of the walk: a flag is evaluated into the list and digested into the ETag. */
static int bulk_one(void *arg, const sy_param *p) {
  bulk *k = arg;
  const sy_flag *f = sy__ver_flag(p->latest);
  if (!f) return 0;
  const char *key = p->name[0] == '/' ? p->name + 1 : p->name;
  size_t klen = p->name[0] == '/' ? p->name_len - 1 : p->name_len;
  char ver[24];
  int vn = snprintf(ver, sizeof ver, "%lld", (long long)p->latest->version);
  EVP_DigestUpdate(k->md, key, klen + 1); /* with its NUL: names never hold one */
  EVP_DigestUpdate(k->md, ver, (size_t)vn + 1);
  if (k->n++) sy__jbuf_putc(k->out, ',');
  eval_write(k->srv, k->out, f, p->latest->version, key, klen, k->ctx);
  return k->out->err != 0;
}

/* Whether the If-None-Match header lists etag (or is "*"). */
static int etag_matches(const char *inm, const char *etag) {
  size_t el = strlen(etag);
  for (const char *p = inm; *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    size_t l = strcspn(p, ",");
    size_t t = l;
    while (t && (p[t - 1] == ' ' || p[t - 1] == '\t')) t--;
    const char *v = p;
    if (t > 2 && !strncmp(v, "W/", 2)) v += 2, t -= 2;
    if ((t == 1 && *v == '*') || (t == el && !memcmp(v, etag, el))) return 1;
    p += l;
  }
  return 0;
}

/* POST /ofrep/v1/evaluate/flags: every flag, evaluated for one context. The ETag is the
 * first 128 bits of SHA-256 over every flag's key and version, in key order, and the
 * context in canonical form (compact, keys sorted): any flag's change, addition or removal
 * or another context changes it; the same flags and context give the same ETag. */
static enum MHD_Result eval_bulk(sy_req *r) {
  char msg[SY_MSG_MAX];
  const json_t *ctx = NULL;
  const char *code = read_context(r, &ctx, msg, sizeof msg);
  if (code) return reply_bulk_failure(r, 400, code, "%s", msg);
  char *canon = ctx ? json_dumps(ctx, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if ((ctx && !canon) || !md || !EVP_DigestInit_ex(md, sy__sha256_md(), NULL)) {
    free(canon);
    EVP_MD_CTX_free(md);
    return reply_bulk_failure(r, 500, "GENERAL", "out of memory");
  }
  EVP_DigestUpdate(md, canon ? canon : "", canon ? strlen(canon) + 1 : 1);
  free(canon);

  sy_jbuf out;
  sy__jbuf_init(&out, BULK_MAX);
  sy__jbuf_cstr(&out, "{\"flags\":[");
  bulk k = {r->srv, &out, md, ctx, 0};
  sy_store *st = r->srv->store;
  const sy_snap *s = sy__snap_enter(st);
  sy__snap_list(s, "", 1, NULL, bulk_one, &k);
  sy__snap_leave(st);
  sy__jbuf_cstr(&out, "]}");

  unsigned char dig[32];
  unsigned dl = 0;
  int ok = EVP_DigestFinal_ex(md, dig, &dl) == 1;
  EVP_MD_CTX_free(md);
  if (!ok || out.err) {
    sy__jbuf_free(&out);
    return reply_bulk_failure(r, 500, "GENERAL",
                              ok ? "the evaluation of every flag is too large to send" : "cannot compute the ETag");
  }
  char etag[36];
  etag[0] = '"';
  sy__hex(dig, 16, etag + 1);
  etag[33] = '"';
  etag[34] = 0;

  const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
  struct MHD_Response *resp;
  int status = 200;
  if (inm && etag_matches(inm, etag)) {
    sy__jbuf_free(&out);
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    status = 304;
  } else {
    size_t len = 0;
    char *text = sy__jbuf_take(&out, &len);
    if (!text) return reply_bulk_failure(r, 500, "GENERAL", "out of memory");
    resp = sy__response(text, len);
  }
  if (resp) MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
  return sy__queue(r, status, resp, status == 200 ? "application/json" : NULL);
}

enum MHD_Result sy__api_ofrep(sy_req *r) {
  const char *p = r->path;
  size_t base = sizeof EVAL_PATH - 1;
  if (strncmp(p, EVAL_PATH, base) || (p[base] && p[base] != '/'))
    return sy__reply_error(r, 404, "NotFound", "no route for %.200s", p);
  if (!r->actor) return reply_empty(r, 401);
  if (!may_evaluate(r)) return reply_empty(r, 403);
  if (strcmp(r->method, "POST")) return reply_empty(r, 405);
  /* query parameters are ignored: OFREP's flagConfigEtag and flagConfigLastModified only
   * say why a client asks again, and the answer is the same */
  if (!p[base]) return eval_bulk(r);
  return eval_one(r, p + base + 1, strlen(p + base + 1));
}

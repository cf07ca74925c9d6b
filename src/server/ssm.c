/* ssm.c — the envelope of the AWS SSM Parameter Store protocol (awsJson1_1, SigV4) on POST /:
 * request ids, replies, the error shape, and the request's fields and parameter names.
 *
 * The same documents, versions and audit records as the native API: every write
 * (ssm_write.c) becomes the same store operation, every read (ssm_read.c) comes from the
 * same snapshot. Only the wire shapes and error names differ. ssm_auth.c checks who signed
 * a request, and ssm_dispatch.c hands it to its operation. */
#include "server/ssm.h"

#include <inttypes.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "server/ssm_int.h"

/* ---- replies ---- */

/* A request id shaped like a UUID v4. Not a secret: a per-thread xorshift seeded once from
 * the RNG, because RAND_bytes on every reply costs a lock and a getpid() system call. */
static __thread uint64_t tl_rid[2];

static uint64_t rid_next(void) {
  if (!tl_rid[0] && !tl_rid[1] && (RAND_bytes((unsigned char *)tl_rid, sizeof tl_rid) != 1 || !(tl_rid[0] | tl_rid[1])))
    tl_rid[0] = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&tl_rid;
  uint64_t a = tl_rid[0], b = tl_rid[1];
  tl_rid[0] = b;
  a ^= a << 23;
  tl_rid[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
  return tl_rid[1] + b;
}

void sy__ssm_request_id(char out[37]) {
  unsigned char b[16];
  static const char hex[] = "0123456789abcdef";
  uint64_t x = rid_next(), y = rid_next();
  memcpy(b, &x, 8);
  memcpy(b + 8, &y, 8);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  int o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = 0;
}

/* Takes text: the reply with SSM's content type and a request id. */
static enum MHD_Result reply_text(sy_req *r, int status, char *text, size_t len) {
  struct MHD_Response *resp = sy__response(text, len);
  char rid[37];
  sy__ssm_request_id(rid);
  if (resp) MHD_add_response_header(resp, "x-amzn-RequestId", rid);
  return sy__queue(r, status, resp, SSM_CT);
}

enum MHD_Result sy__ssm_reply(sy_req *r, int status, json_t *body) {
  char *s = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(body);
  if (!s) {
    s = strdup("{\"__type\":\"InternalServerError\",\"message\":\"out of memory\"}");
    status = 500;
    if (!s) return MHD_NO;
  }
  return reply_text(r, status, s, strlen(s));
}

/* The error shape. A message may quote request bytes that are not UTF-8 (a header) or be
 * cut inside a character by a "%.100s"; JSON holds only UTF-8 (json_pack refuses the rest,
 * which would turn a 400 into a 500), so such bytes are replaced first. */
static json_t *error_body(const char *type, const char *msg) {
  char clean[1024];
  snprintf(clean, sizeof clean, "%s", msg);
  sy__utf8_clean(clean, strlen(clean));
  return json_pack("{ss ss}", "__type", type, "message", clean);
}

enum MHD_Result sy__ssm_error(sy_req *r, int status, const char *type, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return sy__ssm_reply_error(r, status, type, msg);
}

enum MHD_Result sy__ssm_reply_error(sy_req *r, int status, const char *type, const char *msg) {
  json_t *body = error_body(type, msg);
  if (status >= 500)
    sy__log("error", "request failed",
            json_pack("{ss ss? si ss sO?}", "api", "ssm", "actor", r->actor, "status", status, "code", type, "cause",
                      json_object_get(body, "message")));
  return sy__ssm_reply(r, status, body);
}

/* The SSM error name for a store status. */
static const char *ssm_type(sy_rc rc) {
  switch (rc) {
  case SY_ENOTFOUND: return "ParameterNotFound";
  case SY_EVERSION_NOTFOUND: return "ParameterVersionNotFound";
  case SY_EEXISTS: return "ParameterAlreadyExists";
  case SY_EPATTERN: return "ParameterPatternMismatchException";
  case SY_EHIERARCHY: return "HierarchyLevelLimitExceededException";
  case SY_EMAXVERSIONS: return "ParameterMaxVersionLimitExceeded";
  case SY_ELABEL_LIMIT: return "ParameterVersionLabelLimitExceeded";
  case SY_ETAG_LIMIT: return "TooManyTagsError";
  case SY_EFORBIDDEN: return "AccessDeniedException";
  case SY_EUNAVAILABLE: return "ServiceUnavailable";
  case SY_ENOMEM:
  case SY_EIO:
  case SY_EINTERNAL: return "InternalServerError";
  default: return "ValidationException";
  }
}

enum MHD_Result sy__ssm_rc(sy_req *r, sy_rc rc, const char *msg) {
  int status = (rc == SY_ENOMEM || rc == SY_EIO || rc == SY_EINTERNAL) ? 500 : rc == SY_EUNAVAILABLE ? 503 : 400;
  return sy__ssm_error(r, status, ssm_type(rc), "%s", msg && *msg ? msg : sy_strerror(rc));
}

/* ---- request fields ---- */

int sy__ssm_str(sy_req *r, json_t *o, const char *key, const char **out) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v))
    return sy__ssm_error(r, 400, "SerializationException", "%s must be a string, not %s", key, sy__json_type_name(v)),
           -1;
  *out = json_string_value(v);
  if (strlen(*out) != json_string_length(v))
    return sy__ssm_error(r, 400, "ValidationException", "%s contains a NUL character", key), -1;
  return 0;
}

int sy__ssm_bool(sy_req *r, json_t *o, const char *key, int *out) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_boolean(v))
    return sy__ssm_error(r, 400, "SerializationException", "%s must be a boolean, not %s", key, sy__json_type_name(v)),
           -1;
  *out = json_is_true(v);
  return 0;
}

int sy__ssm_int(sy_req *r, json_t *o, const char *key, int64_t min, int64_t max, int64_t *out) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v))
    return sy__ssm_error(r, 400, "SerializationException", "%s must be an integer, not %s", key, sy__json_type_name(v)),
           -1;
  int64_t x = json_integer_value(v);
  if (x < min || x > max)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value '%" PRId64
                         "' at '%c%s' failed to satisfy constraint: "
                         "Member must have value between %" PRId64 " and %" PRId64,
                         x, key[0] + 32, key + 1, min, max),
           -1;
  *out = x;
  return 0;
}

int sy__ssm_strs(sy_req *r, json_t *o, const char *key, int min, int max, const char ***out, int *n) {
  json_t *v = json_object_get(o, key);
  *n = 0;
  if (!v || json_is_null(v)) {
    if (min > 0) return sy__ssm_error(r, 400, "ValidationException", "%s is required", key), -1;
    return 0;
  }
  if (!json_is_array(v))
    return sy__ssm_error(r, 400, "SerializationException", "%s must be a list, not %s", key, sy__json_type_name(v)), -1;
  size_t cnt = json_array_size(v);
  if (cnt < (size_t)min || cnt > (size_t)max)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value at '%c%s' failed to satisfy constraint: Member must have "
                         "length between %d and %d",
                         key[0] + 32, key + 1, min, max),
           -1;
  const char **a = sy__arena_alloc(r->arena, (cnt + 1) * sizeof *a);
  if (!a) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    if (!json_is_string(e))
      return sy__ssm_error(r, 400, "SerializationException", "%s[%zu] must be a string", key, i), -1;
    a[i] = json_string_value(e);
  }
  *out = a;
  *n = (int)cnt;
  return 0;
}

int sy__ssm_known(sy_req *r, json_t *o, const char *const *fields) {
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    int ok = 0;
    for (const char *const *f = fields; *f; f++) ok |= !strcmp(*f, k);
    if (!ok) return sy__ssm_error(r, 400, "SerializationException", "Unknown field %.100s for this operation", k), -1;
  }
  return 0;
}

/* ---- names ---- */

int sy__ssm_parse_name(sy_req *r, const char *raw, int selector_ok, ssm_name *n) {
  char msg[SY_MSG_MAX];
  memset(n, 0, sizeof *n);
  n->given = raw;
  const char *s = raw;
  if (!strncmp(s, "arn:aws:ssm:", 12)) {
    const char *p = strstr(s, ":parameter");
    if (!p) return sy__ssm_error(r, 400, "ValidationException", "%.200s is not a parameter ARN", raw), -1;
    s = p + 10;
    if (*s == '/' && s[1] && !strchr(s + 1, '/')) s++; /* arn:...:parameter/name is the name "name" */
  }
  size_t len = strlen(s);
  const char *colon = memchr(s, ':', len);
  size_t nlen = colon ? (size_t)(colon - s) : len;
  if (colon && !selector_ok)
    return sy__ssm_error(r, 400, "ValidationException", "Parameter name %.200s: a selector is not allowed here", raw),
           -1;
  n->name = sy__arena_strndup(r->arena, s, nlen);
  n->len = nlen;
  if (!n->name) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  sy_rc rc = sy__name_check(n->name, nlen, msg, sizeof msg);
  if (rc)
    return sy__ssm_error(r, 400, rc == SY_EHIERARCHY ? "HierarchyLevelLimitExceededException" : "ValidationException",
                         "Parameter name: %s", msg),
           -1;
  if (colon) {
    const char *sel = colon + 1;
    if (!*sel) return sy__ssm_error(r, 400, "ValidationException", "empty selector in %.200s", raw), -1;
    if (*sel >= '0' && *sel <= '9') {
      char *end = NULL;
      long long v = strtoll(sel, &end, 10);
      if (*end || v < 1)
        return sy__ssm_error(r, 400, "ValidationException", "invalid version selector in %.200s", raw), -1;
      n->version = v;
    } else {
      if (!sy__label_valid(sel))
        return sy__ssm_error(r, 400, "ValidationException", "invalid label selector in %.200s", raw), -1;
      n->label = sel;
    }
  }
  return 0;
}

int sy__ssm_required_name(sy_req *r, json_t *o, const char *key, int selector_ok, ssm_name *n) {
  const char *raw = NULL;
  if (sy__ssm_str(r, o, key, &raw)) return -1;
  if (!raw) return sy__ssm_error(r, 400, "ValidationException", "%s is required", key), -1;
  return sy__ssm_parse_name(r, raw, selector_ok, n);
}

int sy__ssm_resource(sy_req *r, json_t *b, ssm_name *n) {
  const char *type = NULL;
  if (sy__ssm_str(r, b, "ResourceType", &type)) return -1;
  if (!type) return sy__ssm_error(r, 400, "ValidationException", "ResourceType is required"), -1;
  if (strcmp(type, "Parameter"))
    return sy__ssm_error(r, 400, "InvalidResourceType", "The resource type %.64s is not supported; only Parameter",
                         type),
           -1;
  return sy__ssm_required_name(r, b, "ResourceId", 0, n);
}

/* api_ssm.c — the AWS SSM Parameter Store protocol (awsJson1_1, SigV4) on POST /.
 *
 * The same documents, versions and audit records as the native API: every
 * write becomes the same store operation, every read comes from the same
 * snapshot. Only the wire shapes and error names differ. */
#define _GNU_SOURCE 1 /* memmem */
#define _GNU_SOURCE 1 /* memmem */
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/jbuf.h"
#include "core/sigv4.h"
#include "core/text.h"
#include "server/http.h"

#define SSM_CT "application/x-amz-json-1.1"

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

static void request_id(char out[37]) {
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

static void free_buf(void *p) { free(p); }

static enum MHD_Result ssm_reply(sy_req *r, int status, json_t *body) {
  char *s = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(body);
  if (!s) {
    s = strdup("{\"__type\":\"InternalServerError\",\"message\":\"out of memory\"}");
    status = 500;
    if (!s) return MHD_NO;
  }
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(strlen(s), s, free_buf);
  if (!resp) {
    free(s);
    return MHD_NO;
  }
  char rid[37];
  request_id(rid);
  MHD_add_response_header(resp, "x-amzn-RequestId", rid);
  return sy__queue(r, status, resp, SSM_CT);
}

/* The error shape. A message may quote request bytes that are not UTF-8 (a header) or be
 * cut inside a character by a "%.100s"; JSON holds only UTF-8 (json_pack refuses the rest,
 * which would turn a 400 into a 500), so such bytes are replaced first. */
static json_t *error_body(const char *type, const char *msg) {
  char clean[1024];
  snprintf(clean, sizeof clean, "%s", msg);
  sy_utf8_clean(clean, strlen(clean));
  return json_pack("{ss ss}", "__type", type, "message", clean);
}

__attribute__((format(printf, 4, 5))) static enum MHD_Result ssm_error(sy_req *r, int status, const char *type,
                                                                       const char *fmt, ...) {
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
  return ssm_reply(r, status, body);
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

static enum MHD_Result ssm_rc(sy_req *r, sy_rc rc, const char *msg) {
  int status = (rc == SY_ENOMEM || rc == SY_EIO || rc == SY_EINTERNAL) ? 500 : rc == SY_EUNAVAILABLE ? 503 : 400;
  return ssm_error(r, status, ssm_type(rc), "%s", msg && *msg ? msg : sy_strerror(rc));
}

/* ---- request fields ---- */

/* Each returns -1 after replying 400 when the field has the wrong type. */
static int f_str(sy_req *r, json_t *o, const char *key, const char **out) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v))
    return ssm_error(r, 400, "SerializationException", "%s must be a string, not %s", key, sy__json_type_name(v)), -1;
  *out = json_string_value(v);
  if (strlen(*out) != json_string_length(v))
    return ssm_error(r, 400, "ValidationException", "%s contains a NUL character", key), -1;
  return 0;
}

static int f_bool(sy_req *r, json_t *o, const char *key, int *out) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_boolean(v))
    return ssm_error(r, 400, "SerializationException", "%s must be a boolean, not %s", key, sy__json_type_name(v)), -1;
  *out = json_is_true(v);
  return 0;
}

static int f_int(sy_req *r, json_t *o, const char *key, int64_t min, int64_t max, int64_t *out) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v))
    return ssm_error(r, 400, "SerializationException", "%s must be an integer, not %s", key, sy__json_type_name(v)), -1;
  int64_t x = json_integer_value(v);
  if (x < min || x > max)
    return ssm_error(r, 400, "ValidationException",
                     "1 validation error detected: Value '%" PRId64
                     "' at '%c%s' failed to satisfy constraint: "
                     "Member must have value between %" PRId64 " and %" PRId64,
                     x, key[0] + 32, key + 1, min, max),
           -1;
  *out = x;
  return 0;
}

/* A list of strings with min..max items. */
static int f_strs(sy_req *r, json_t *o, const char *key, int min, int max, const char ***out, int *n) {
  json_t *v = json_object_get(o, key);
  *n = 0;
  if (!v || json_is_null(v)) {
    if (min > 0) return ssm_error(r, 400, "ValidationException", "%s is required", key), -1;
    return 0;
  }
  if (!json_is_array(v))
    return ssm_error(r, 400, "SerializationException", "%s must be a list, not %s", key, sy__json_type_name(v)), -1;
  size_t cnt = json_array_size(v);
  if (cnt < (size_t)min || cnt > (size_t)max)
    return ssm_error(r, 400, "ValidationException",
                     "1 validation error detected: Value at '%c%s' failed to satisfy constraint: Member must have "
                     "length between %d and %d",
                     key[0] + 32, key + 1, min, max),
           -1;
  const char **a = sy_arena_alloc(r->arena, (cnt + 1) * sizeof *a);
  if (!a) return ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    if (!json_is_string(e)) return ssm_error(r, 400, "SerializationException", "%s[%zu] must be a string", key, i), -1;
    a[i] = json_string_value(e);
  }
  *out = a;
  *n = (int)cnt;
  return 0;
}

/* Only the fields an operation knows. */
static int known(sy_req *r, json_t *o, const char *const *fields) {
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    int ok = 0;
    for (const char *const *f = fields; *f; f++) ok |= !strcmp(*f, k);
    if (!ok) return ssm_error(r, 400, "SerializationException", "Unknown field %.100s for this operation", k), -1;
  }
  return 0;
}

/* ---- names ---- */

typedef struct ssm_name {
  char *name;
  size_t len;
  int64_t version;   /* from "name:N" */
  const char *label; /* from "name:label" */
  const char *given; /* as the request had it */
} ssm_name;

/* Accepts "name", "name:selector" (when selector_ok) and full ARNs. */
static int parse_name(sy_req *r, const char *raw, int selector_ok, ssm_name *n) {
  char msg[SY_MSG_MAX];
  memset(n, 0, sizeof *n);
  n->given = raw;
  const char *s = raw;
  if (!strncmp(s, "arn:aws:ssm:", 12)) {
    const char *p = strstr(s, ":parameter");
    if (!p) return ssm_error(r, 400, "ValidationException", "%.200s is not a parameter ARN", raw), -1;
    s = p + 10;
    if (*s == '/' && s[1] && !strchr(s + 1, '/')) s++; /* arn:...:parameter/name is the name "name" */
  }
  size_t len = strlen(s);
  const char *colon = memchr(s, ':', len);
  size_t nlen = colon ? (size_t)(colon - s) : len;
  if (colon && !selector_ok)
    return ssm_error(r, 400, "ValidationException", "Parameter name %.200s: a selector is not allowed here", raw), -1;
  n->name = sy_arena_strndup(r->arena, s, nlen);
  n->len = nlen;
  if (!n->name) return ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  sy_rc rc = sy_name_check(n->name, nlen, msg, sizeof msg);
  if (rc)
    return ssm_error(r, 400, rc == SY_EHIERARCHY ? "HierarchyLevelLimitExceededException" : "ValidationException",
                     "Parameter name: %s", msg),
           -1;
  if (colon) {
    const char *sel = colon + 1;
    if (!*sel) return ssm_error(r, 400, "ValidationException", "empty selector in %.200s", raw), -1;
    if (*sel >= '0' && *sel <= '9') {
      char *end = NULL;
      long long v = strtoll(sel, &end, 10);
      if (*end || v < 1) return ssm_error(r, 400, "ValidationException", "invalid version selector in %.200s", raw), -1;
      n->version = v;
    } else {
      if (!sy_label_valid(sel))
        return ssm_error(r, 400, "ValidationException", "invalid label selector in %.200s", raw), -1;
      n->label = sel;
    }
  }
  return 0;
}

static int required_name(sy_req *r, json_t *o, const char *key, int selector_ok, ssm_name *n) {
  const char *raw = NULL;
  if (f_str(r, o, key, &raw)) return -1;
  if (!raw) return ssm_error(r, 400, "ValidationException", "%s is required", key), -1;
  return parse_name(r, raw, selector_ok, n);
}

/* ---- the shapes of a parameter ---- */

static void arn_of(sy_req *r, const char *name, char *out, size_t cap) {
  snprintf(out, cap, "arn:aws:ssm:%s:%s:parameter%s%s", r->srv->aws_region, r->srv->aws_account,
           name[0] == '/' ? "" : "/", name);
}

static json_t *epoch(int64_t ms) { return json_real((double)ms / 1000.0); }

static void user_arn(sy_req *r, const char *user, char *out, size_t cap) {
  snprintf(out, cap, "arn:aws:iam::%s:user/%s", r->srv->aws_account, user && *user ? user : "unknown");
}

/* The text of "Value": the plaintext, or for a SecureString read without decryption the
 * sealed blob in base64 (what SSM answers: ciphertext, never the secret). *out is
 * malloc'd (free it with sy__reveal_free); NULL with 0 returned means "no Value": the
 * credential may not decrypt, and r->decrypt_denied says so. -1 on failure. */
static int value_of(sy_req *r, const sy_param *p, const sy_ver *v, int decrypt, char **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (v->kind != SY_KIND_SECURESTRING || decrypt) {
    if (v->kind == SY_KIND_SECURESTRING && sy__require_quiet(r, SY_SCOPE_DECRYPT)) {
      r->decrypt_denied = 1; /* SSM refuses only when a SecureString is actually to be decrypted */
      return 0;
    }
    return sy__store_reveal(r->srv->store, p->name, v, out, n) ? -1 : 0;
  }
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *in = (const unsigned char *)v->value;
  size_t len = v->value_len, o64 = 0;
  char *enc = malloc(4 * ((len + 2) / 3) + 1);
  if (!enc) return -1;
  for (size_t i = 0; i < len; i += 3) {
    unsigned x = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
    enc[o64++] = b64[(x >> 18) & 63];
    enc[o64++] = b64[(x >> 12) & 63];
    enc[o64++] = i + 1 < len ? b64[(x >> 6) & 63] : '=';
    enc[o64++] = i + 2 < len ? b64[x & 63] : '=';
  }
  enc[o64] = 0;
  *out = enc;
  *n = o64;
  return 0;
}

static int set_value(sy_req *r, json_t *o, const sy_param *p, const sy_ver *v, int decrypt) {
  char *text;
  size_t n;
  if (value_of(r, p, v, decrypt, &text, &n)) return -1;
  if (text) json_object_set_new(o, "Value", json_stringn(text, n));
  sy__reveal_free(text, n);
  return 0;
}

/* Writes the Parameter shape of GetParameter(s) and GetParametersByPath. These are the
 * hot reads of the SSM API, so the JSON text is written directly. -1 on failure. */
static int param_shape(sy_req *r, sy_jbuf *b, const sy_param *p, const sy_ver *v, int decrypt, const char *selector) {
  char arn[SY_NAME_MAX + 128], *text;
  size_t n;
  if (value_of(r, p, v, decrypt, &text, &n)) return -1;
  arn_of(r, p->name, arn, sizeof arn);
  sy_jbuf_cstr(b, "{\"Name\":");
  sy_jbuf_str(b, p->name, p->name_len);
  sy_jbuf_cstr(b, ",\"Type\":\"");
  sy_jbuf_cstr(b, sy_kind_name(v->kind));
  sy_jbuf_cstr(b, "\"");
  if (text) {
    sy_jbuf_cstr(b, ",\"Value\":");
    sy_jbuf_str(b, text, n);
  }
  sy__reveal_free(text, n);
  sy_jbuf_cstr(b, ",\"Version\":");
  sy_jbuf_int(b, v->version);
  if (selector) {
    sy_jbuf_cstr(b, ",\"Selector\":");
    sy_jbuf_str(b, selector, strlen(selector));
  }
  sy_jbuf_cstr(b, ",\"LastModifiedDate\":");
  sy_jbuf_epoch_ms(b, v->modified_ms);
  sy_jbuf_cstr(b, ",\"ARN\":");
  sy_jbuf_str(b, arn, strlen(arn));
  sy_jbuf_cstr(b, ",\"DataType\":\"text\"}");
  return b->err ? -1 : 0;
}

/* Sends a reply written with jbuf (or an error if writing it failed). */
static enum MHD_Result jbuf_reply(sy_req *r, sy_jbuf *b) {
  size_t len = 0;
  char *text = sy_jbuf_take(b, &len);
  if (!text) return ssm_error(r, 500, "InternalServerError", "out of memory");
  if (r->decrypt_denied) {
    free(text);
    return ssm_error(r, 400, "AccessDeniedException",
                     "User: %s is not authorized to decrypt SecureString parameters (the credential lacks the "
                     "decrypt scope)",
                     r->actor);
  }
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, text, free_buf);
  if (!resp) {
    free(text);
    return MHD_NO;
  }
  char rid[37];
  request_id(rid);
  MHD_add_response_header(resp, "x-amzn-RequestId", rid);
  return sy__queue(r, 200, resp, SSM_CT);
}

static json_t *labels_of(const sy_ver *v) {
  json_t *a = json_array();
  for (int i = 0; a && i < v->nlabels; i++) json_array_append_new(a, json_string(v->labels[i]));
  return a;
}

/* The ParameterHistory shape. */
static json_t *history_shape(sy_req *r, const sy_param *p, const sy_ver *v, int decrypt) {
  char user[512];
  user_arn(r, v->modified_user, user, sizeof user);
  json_t *o = json_pack("{ss ss}", "Name", p->name, "Type", sy_kind_name(v->kind));
  if (!o) return NULL;
  if (v->kind == SY_KIND_SECURESTRING) json_object_set_new(o, "KeyId", json_string("alias/aws/ssm"));
  json_object_set_new(o, "LastModifiedDate", epoch(v->modified_ms));
  json_object_set_new(o, "LastModifiedUser", json_string(user));
  if (v->description && *v->description) json_object_set_new(o, "Description", json_string(v->description));
  if (set_value(r, o, p, v, decrypt)) {
    json_decref(o);
    return NULL;
  }
  if (v->allowed_pattern && *v->allowed_pattern)
    json_object_set_new(o, "AllowedPattern", json_string(v->allowed_pattern));
  json_object_set_new(o, "Version", json_integer(v->version));
  json_object_set_new(o, "Labels", labels_of(v));
  json_object_set_new(o, "Tier", json_string(sy_tier_name(v->tier)));
  json_object_set_new(o, "Policies", json_array());
  json_object_set_new(o, "DataType", json_string("text"));
  return o;
}

/* The ParameterMetadata shape of DescribeParameters. */
static json_t *meta_shape(sy_req *r, const sy_param *p) {
  const sy_ver *v = p->latest;
  char arn[SY_NAME_MAX + 128], user[512];
  arn_of(r, p->name, arn, sizeof arn);
  user_arn(r, v->modified_user, user, sizeof user);
  json_t *o = json_pack("{ss ss ss}", "Name", p->name, "ARN", arn, "Type", sy_kind_name(v->kind));
  if (!o) return NULL;
  if (v->kind == SY_KIND_SECURESTRING) json_object_set_new(o, "KeyId", json_string("alias/aws/ssm"));
  json_object_set_new(o, "LastModifiedDate", epoch(v->modified_ms));
  json_object_set_new(o, "LastModifiedUser", json_string(user));
  if (v->description && *v->description) json_object_set_new(o, "Description", json_string(v->description));
  if (v->allowed_pattern && *v->allowed_pattern)
    json_object_set_new(o, "AllowedPattern", json_string(v->allowed_pattern));
  json_object_set_new(o, "Version", json_integer(v->version));
  json_object_set_new(o, "Tier", json_string(sy_tier_name(v->tier)));
  json_object_set_new(o, "Policies", json_array());
  json_object_set_new(o, "DataType", json_string("text"));
  return o;
}

/* ---- pagination: NextToken is the base64 of where the page stopped ---- */

static char *token_encode(sy_req *r, const char *s) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t n = strlen(s), o = 0;
  char *out = sy_arena_alloc(r->arena, 4 * ((n + 2) / 3) + 1);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i += 3) {
    unsigned x = (unsigned char)s[i] << 16 | (i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0) |
                 (i + 2 < n ? (unsigned char)s[i + 2] : 0);
    out[o++] = b64[(x >> 18) & 63];
    out[o++] = b64[(x >> 12) & 63];
    if (i + 1 < n) out[o++] = b64[(x >> 6) & 63];
    if (i + 2 < n) out[o++] = b64[x & 63];
  }
  out[o] = 0;
  return out;
}

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/* Decodes a NextToken; NULL (after replying InvalidNextToken) when it is not one of ours. */
static char *token_decode(sy_req *r, const char *t) {
  size_t n = strlen(t), o = 0;
  if (n == 0 || n > 2048 || n % 4 == 1) goto bad;
  char *out = sy_arena_alloc(r->arena, n);
  if (!out) goto bad;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64val(t[i]);
    if (v < 0) goto bad;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (char)((acc >> bits) & 0xff);
    }
  }
  out[o] = 0;
  if (o == 0 || memchr(out, 0, o) || !sy_utf8_valid(out, o)) goto bad;
  return out;
bad:
  ssm_error(r, 400, "InvalidNextToken", "The specified token isn't valid.");
  return NULL;
}

/* ---- reads ---- */

/* Finds the version a name (with its selector) points at; replies and returns NULL if absent.
 * Must run inside a snapshot section; *owned is set when the version came from the database. */
static const sy_ver *resolve(sy_req *r, const sy_param *p, const ssm_name *n, sy_ver **owned, sy_rc *why) {
  *owned = NULL;
  *why = SY_OK;
  if (!p) {
    *why = SY_ENOTFOUND;
    return NULL;
  }
  if (n->label) {
    const sy_ver *v = sy__param_find_label(p, n->label);
    if (!v) *why = SY_EVERSION_NOTFOUND;
    return v;
  }
  if (!n->version) return p->latest;
  const sy_ver *v = sy__param_find_version(p, n->version);
  if (v) return v;
  if (n->version < p->oldest || n->version > p->latest->version) {
    *why = SY_EVERSION_NOTFOUND;
    return NULL;
  }
  if (sy__store_read_version(r->srv->store, p->name, n->version, owned)) {
    *why = SY_EVERSION_NOTFOUND;
    return NULL;
  }
  return *owned;
}

static int want_decrypt(sy_req *r, json_t *b, int *decrypt) {
  *decrypt = 0;
  return f_bool(r, b, "WithDecryption", decrypt);
}

/* The reply of a read, unless it met a SecureString the credential may not decrypt. */
static enum MHD_Result read_reply(sy_req *r, json_t *out) {
  if (!r->decrypt_denied) return ssm_reply(r, 200, out);
  json_decref(out);
  return ssm_error(r, 400, "AccessDeniedException",
                   "User: %s is not authorized to decrypt SecureString parameters (the credential lacks the decrypt "
                   "scope)",
                   r->actor);
}

static enum MHD_Result get_parameter(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Name", "WithDecryption", NULL};
  ssm_name n;
  int decrypt;
  if (known(r, b, fields) || required_name(r, b, "Name", 1, &n) || want_decrypt(r, b, &decrypt)) return MHD_YES;
  sy_store *st = r->srv->store;
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__tree_get(s->root, n.name, n.len);
  sy_ver *owned = NULL;
  sy_rc why;
  const sy_ver *v = resolve(r, p, &n, &owned, &why);
  const char *sel = strchr(n.given, ':') && strncmp(n.given, "arn:", 4) ? strchr(n.given, ':') : NULL;
  sy_jbuf out;
  sy_jbuf_init(&out, 64 * 1024);
  sy_jbuf_cstr(&out, "{\"Parameter\":");
  int bad = v ? param_shape(r, &out, p, v, decrypt, sel) : 0;
  sy_jbuf_cstr(&out, "}");
  sy__snap_leave(st);
  sy__ver_unref(owned);
  if (why || bad) sy_jbuf_free(&out);
  if (why == SY_ENOTFOUND) return ssm_error(r, 400, "ParameterNotFound", "Parameter %s not found.", n.name);
  if (why)
    return ssm_error(r, 400, "ParameterVersionNotFound",
                     "Systems Manager could not find version %s of %s. Verify the version and try again.",
                     sel ? sel + 1 : "?", n.name);
  if (bad) return ssm_error(r, 500, "InternalServerError", "cannot read %s", n.name);
  return jbuf_reply(r, &out);
}

static enum MHD_Result get_parameters(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Names", "WithDecryption", NULL};
  const char **names;
  int nn, decrypt;
  if (known(r, b, fields) || f_strs(r, b, "Names", 1, 10, &names, &nn) || want_decrypt(r, b, &decrypt)) return MHD_YES;
  sy_jbuf out, invalid;
  sy_jbuf_init(&out, 1 << 20);
  sy_jbuf_init(&invalid, 1 << 20);
  int nfound = 0, ninvalid = 0, bad = 0;
  sy_jbuf_cstr(&out, "{\"Parameters\":[");
  sy_store *st = r->srv->store;
  const sy_snap *s = sy__snap_enter(st);
  for (int i = 0; i < nn && !bad; i++) {
    ssm_name n;
    char msg[SY_MSG_MAX];
    const char *colon = strchr(names[i], ':');
    size_t len = colon && strncmp(names[i], "arn:", 4) ? (size_t)(colon - names[i]) : strlen(names[i]);
    if (strncmp(names[i], "arn:", 4) && sy_name_check(names[i], len, msg, sizeof msg)) {
      sy_jbuf_cstr(&invalid, ninvalid++ ? "," : "");
      sy_jbuf_str(&invalid, names[i], strlen(names[i]));
      continue;
    }
    if (parse_name(r, names[i], 1, &n)) { /* replied already (a malformed ARN) */
      sy__snap_leave(st);
      sy_jbuf_free(&out);
      sy_jbuf_free(&invalid);
      return MHD_YES;
    }
    const sy_param *p = sy__tree_get(s->root, n.name, n.len);
    sy_ver *owned = NULL;
    sy_rc why;
    const sy_ver *v = resolve(r, p, &n, &owned, &why);
    if (!v) {
      sy_jbuf_cstr(&invalid, ninvalid++ ? "," : "");
      sy_jbuf_str(&invalid, names[i], strlen(names[i]));
    } else {
      sy_jbuf_cstr(&out, nfound++ ? "," : "");
      bad = param_shape(r, &out, p, v, decrypt, colon && strncmp(names[i], "arn:", 4) ? colon : NULL);
    }
    sy__ver_unref(owned);
  }
  sy__snap_leave(st);
  sy_jbuf_cstr(&out, "],\"InvalidParameters\":[");
  sy_jbuf_raw(&out, invalid.p ? invalid.p : "", invalid.len);
  sy_jbuf_cstr(&out, "]}");
  if (invalid.err) out.err = 1;
  sy_jbuf_free(&invalid);
  if (bad) {
    sy_jbuf_free(&out);
    return ssm_error(r, 500, "InternalServerError", "cannot read a parameter");
  }
  return jbuf_reply(r, &out);
}

/* Filters of GetParametersByPath: Type and Label (Equals), KeyId accepted. */
typedef struct path_ctx {
  sy_req *r;
  sy_jbuf out;
  size_t n, max;
  int bad;
  int decrypt;
  const char **types;
  int ntypes;
  const char **labels;
  int nlabels;
  const char *last;
  int more;
} path_ctx;

static int path_cb(void *ctx, const sy_param *p) {
  path_ctx *c = ctx;
  const sy_ver *v = p->latest;
  if (c->nlabels) {
    v = NULL;
    for (int i = 0; i < c->nlabels && !v; i++) v = sy__param_find_label(p, c->labels[i]);
    if (!v) return 0;
  }
  if (c->ntypes) {
    int ok = 0;
    for (int i = 0; i < c->ntypes; i++) ok |= !strcmp(c->types[i], sy_kind_name(v->kind));
    if (!ok) return 0;
  }
  if (c->n == c->max) {
    c->more = 1;
    return 1;
  }
  sy_jbuf_cstr(&c->out, c->n++ ? "," : "");
  c->bad = param_shape(c->r, &c->out, p, v, c->decrypt, NULL);
  c->last = sy_arena_strndup(c->r->arena, p->name, p->name_len);
  return c->bad;
}

/* Reads ParameterFilters [{Key, Option, Values}] for the keys in `allowed`. */
static int path_filters(sy_req *r, json_t *b, path_ctx *c) {
  json_t *fs = json_object_get(b, "ParameterFilters");
  if (!fs || json_is_null(fs)) return 0;
  if (!json_is_array(fs)) return ssm_error(r, 400, "SerializationException", "ParameterFilters must be a list"), -1;
  size_t i;
  json_t *f;
  json_array_foreach(fs, i, f) {
    const char *key = NULL, *option = NULL;
    const char **vals = NULL;
    int nv = 0;
    if (!json_is_object(f) || f_str(r, f, "Key", &key) || f_str(r, f, "Option", &option) ||
        f_strs(r, f, "Values", 0, 50, &vals, &nv))
      return json_is_object(f)
                 ? -1
                 : (ssm_error(r, 400, "SerializationException", "ParameterFilters[%zu] must be an object", i), -1);
    if (!key) return ssm_error(r, 400, "ValidationException", "ParameterFilters[%zu].Key is required", i), -1;
    if (option && strcmp(option, "Equals"))
      return ssm_error(r, 400, "InvalidFilterOption", "The filter option %.64s is not valid for key %.64s; use Equals",
                       option, key),
             -1;
    if (!strcmp(key, "Type")) {
      for (int k = 0; k < nv; k++)
        if (!sy_kind_by_name(vals[k]))
          return ssm_error(r, 400, "InvalidFilterValue", "The filter value %.64s is not a parameter type", vals[k]), -1;
      c->types = vals;
      c->ntypes = nv;
    } else if (!strcmp(key, "Label")) {
      c->labels = vals;
      c->nlabels = nv;
    } else if (strcmp(key, "KeyId")) {
      return ssm_error(r, 400, "InvalidFilterKey",
                       "The filter key %.64s is not valid for GetParametersByPath; use Type, KeyId or Label", key),
             -1;
    }
  }
  return 0;
}

static enum MHD_Result get_parameters_by_path(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Path",      "Recursive", "ParameterFilters", "WithDecryption", "MaxResults",
                                       "NextToken", NULL};
  const char *path = NULL, *next = NULL;
  int recursive = 0;
  int64_t max = 10;
  path_ctx c = {.r = r};
  if (known(r, b, fields) || f_str(r, b, "Path", &path) || f_bool(r, b, "Recursive", &recursive) ||
      f_int(r, b, "MaxResults", 1, 10, &max) || f_str(r, b, "NextToken", &next) || want_decrypt(r, b, &c.decrypt) ||
      path_filters(r, b, &c))
    return MHD_YES;
  if (!path) return ssm_error(r, 400, "ValidationException", "Path is required");
  char msg[SY_MSG_MAX], prefix[SY_NAME_MAX + 2];
  sy_rc rc = sy_path_check(path, strlen(path), msg, sizeof msg);
  if (rc)
    return ssm_error(r, 400, rc == SY_EHIERARCHY ? "HierarchyLevelLimitExceededException" : "ValidationException",
                     "Path: %s", msg);
  if (sy__list_prefix(path, prefix, sizeof prefix) < 0)
    return ssm_error(r, 400, "ValidationException", "Path is too long");
  const char *after = NULL;
  if (next && !(after = token_decode(r, next))) return MHD_YES;
  if (after && strncmp(after, prefix, strlen(prefix)))
    return ssm_error(r, 400, "InvalidNextToken", "The specified token isn't valid.");
  sy_jbuf_init(&c.out, 1 << 20);
  sy_jbuf_cstr(&c.out, "{\"Parameters\":[");
  c.max = (size_t)max;
  const sy_snap *s = sy__snap_enter(r->srv->store);
  sy__list_walk(s, prefix, recursive, after, path_cb, &c);
  sy__snap_leave(r->srv->store);
  sy_jbuf_cstr(&c.out, "]");
  if (c.more && c.last) {
    const char *t = token_encode(r, c.last);
    sy_jbuf_cstr(&c.out, ",\"NextToken\":");
    sy_jbuf_str(&c.out, t ? t : "", t ? strlen(t) : 0);
  }
  sy_jbuf_cstr(&c.out, "}");
  if (c.bad) {
    sy_jbuf_free(&c.out);
    return ssm_error(r, 500, "InternalServerError", "cannot read a parameter");
  }
  return jbuf_reply(r, &c.out);
}

typedef struct ssm_hist {
  sy_req *r;
  const sy_param *p;
  json_t *arr;
  int decrypt;
  int64_t last;
  int failed;
} ssm_hist;

static void hist_cb(void *ctx, const sy_ver *v, const char *reason) {
  ssm_hist *h = ctx;
  json_t *o = history_shape(h->r, h->p, v, h->decrypt);
  if (!o) h->failed = 1;
  json_array_append_new(h->arr, o);
  h->last = v->version;
}

static enum MHD_Result get_parameter_history(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Name", "WithDecryption", "MaxResults", "NextToken", NULL};
  ssm_name n;
  int decrypt;
  int64_t max = 50;
  const char *next = NULL;
  if (known(r, b, fields) || required_name(r, b, "Name", 0, &n) || want_decrypt(r, b, &decrypt) ||
      f_int(r, b, "MaxResults", 1, 50, &max) || f_str(r, b, "NextToken", &next))
    return MHD_YES;
  int64_t after = 0;
  if (next) {
    const char *t = token_decode(r, next);
    char *end = NULL;
    if (!t) return MHD_YES;
    after = strtoll(t, &end, 10);
    if (*end || after < 0) return ssm_error(r, 400, "InvalidNextToken", "The specified token isn't valid.");
  }
  sy_store *st = r->srv->store;
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__tree_get(s->root, n.name, n.len);
  ssm_hist h = {r, p, json_array(), decrypt, 0, 0};
  int more = 0;
  sy_rc rc = p ? sy__store_history(st, n.name, after, (int)max, hist_cb, &h, &more) : SY_ENOTFOUND;
  sy__snap_leave(st);
  if (rc || h.failed) {
    json_decref(h.arr);
    if (rc == SY_ENOTFOUND) return ssm_error(r, 400, "ParameterNotFound", "Parameter %s not found.", n.name);
    return ssm_rc(r, rc ? rc : SY_EINTERNAL, NULL);
  }
  json_t *out = json_pack("{so}", "Parameters", h.arr);
  if (out && more) {
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, h.last);
    json_object_set_new(out, "NextToken", json_string(token_encode(r, num)));
  }
  return read_reply(r, out);
}

/* DescribeParameters: every parameter, filtered, metadata only. */
typedef struct desc_filter {
  const char *key, *option;
  const char **vals;
  int nv;
} desc_filter;

typedef struct desc_ctx {
  sy_req *r;
  json_t *arr;
  size_t max;
  desc_filter *f;
  int nf;
  const char *last;
  int more;
} desc_ctx;

static int any_eq(const desc_filter *f, const char *s) {
  for (int i = 0; i < f->nv; i++)
    if (!strcmp(f->vals[i], s)) return 1;
  return 0;
}

static int desc_match(const desc_filter *f, const sy_param *p) {
  const sy_ver *v = p->latest;
  const char *opt = f->option ? f->option : "Equals";
  if (!strcmp(f->key, "Name")) {
    for (int i = 0; i < f->nv; i++) {
      const char *want = f->vals[i];
      if (!strcmp(opt, "Equals") && !strcmp(p->name, want)) return 1;
      if (!strcmp(opt, "BeginsWith") && !strncmp(p->name, want, strlen(want))) return 1;
      if (!strcmp(opt, "Contains") && strstr(p->name, want)) return 1;
    }
    return 0;
  }
  if (!strcmp(f->key, "Type")) return any_eq(f, sy_kind_name(v->kind));
  if (!strcmp(f->key, "Tier")) return any_eq(f, sy_tier_name(v->tier));
  if (!strcmp(f->key, "DataType")) return any_eq(f, "text");
  if (!strcmp(f->key, "KeyId")) return v->kind == SY_KIND_SECURESTRING && any_eq(f, "alias/aws/ssm");
  if (!strcmp(f->key, "Label")) {
    for (int i = 0; i < f->nv; i++)
      if (sy__param_find_label(p, f->vals[i])) return 1;
    return 0;
  }
  if (!strcmp(f->key, "Path")) {
    int recursive = !strcmp(opt, "Recursive");
    for (int i = 0; i < f->nv; i++) {
      char prefix[SY_NAME_MAX + 2];
      int plen = sy__list_prefix(f->vals[i], prefix, sizeof prefix);
      if (plen < 0 || strncmp(p->name, prefix, (size_t)plen)) continue;
      if (recursive || !strchr(p->name + plen, '/')) return 1;
    }
    return 0;
  }
  if (!strncmp(f->key, "tag:", 4)) {
    const char *val = sy__param_tag(p, f->key + 4);
    return val && (f->nv == 0 || any_eq(f, val));
  }
  return 0;
}

static int desc_cb(void *ctx, const sy_param *p) {
  desc_ctx *c = ctx;
  for (int i = 0; i < c->nf; i++)
    if (!desc_match(&c->f[i], p)) return 0;
  if (json_array_size(c->arr) == c->max) {
    c->more = 1;
    return 1;
  }
  json_array_append_new(c->arr, meta_shape(c->r, p));
  c->last = sy_arena_strndup(c->r->arena, p->name, p->name_len);
  return 0;
}

/* Reads Filters (the older form) and ParameterFilters into one list. */
static int desc_filters(sy_req *r, json_t *b, desc_ctx *c) {
  json_t *lists[2] = {json_object_get(b, "Filters"), json_object_get(b, "ParameterFilters")};
  size_t total = 0;
  for (int l = 0; l < 2; l++) {
    if (lists[l] && !json_is_null(lists[l]) && !json_is_array(lists[l]))
      return ssm_error(r, 400, "SerializationException", "%s must be a list", l ? "ParameterFilters" : "Filters"), -1;
    total += json_array_size(lists[l]);
  }
  if (total > 50) return ssm_error(r, 400, "ValidationException", "at most 50 filters");
  c->f = sy_arena_alloc(r->arena, (total + 1) * sizeof *c->f);
  if (!c->f) return ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  for (int l = 0; l < 2; l++) {
    size_t i;
    json_t *f;
    json_array_foreach(lists[l], i, f) {
      desc_filter *d = &c->f[c->nf];
      if (!json_is_object(f)) return ssm_error(r, 400, "SerializationException", "each filter must be an object"), -1;
      if (f_str(r, f, "Key", &d->key) || f_str(r, f, "Option", &d->option) ||
          f_strs(r, f, "Values", 0, 50, &d->vals, &d->nv))
        return -1;
      if (!d->key) return ssm_error(r, 400, "ValidationException", "a filter needs a Key"), -1;
      static const char *const keys[] = {"Name", "Type", "KeyId", "Path", "Tier", "DataType", "Label", NULL};
      int ok = !strncmp(d->key, "tag:", 4) && d->key[4];
      for (const char *const *k = keys; *k; k++) ok |= !strcmp(*k, d->key);
      if (!ok) return ssm_error(r, 400, "InvalidFilterKey", "The filter key %.64s is not valid", d->key), -1;
      const char *opt = d->option;
      if (opt) {
        int good = !strcmp(opt, "Equals") ||
                   (!strcmp(d->key, "Name") && (!strcmp(opt, "BeginsWith") || !strcmp(opt, "Contains"))) ||
                   (!strcmp(d->key, "Path") && (!strcmp(opt, "Recursive") || !strcmp(opt, "OneLevel")));
        if (!good)
          return ssm_error(r, 400, "InvalidFilterOption", "The filter option %.64s is not valid for key %.64s", opt,
                           d->key),
                 -1;
      }
      if (!d->nv && strncmp(d->key, "tag:", 4))
        return ssm_error(r, 400, "InvalidFilterValue", "The filter %.64s needs at least one value", d->key), -1;
      c->nf++;
    }
  }
  return 0;
}

static enum MHD_Result describe_parameters(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Filters", "ParameterFilters", "MaxResults", "NextToken", "Shared", NULL};
  int64_t max = 10;
  const char *next = NULL, *after = NULL;
  desc_ctx c = {.r = r};
  if (known(r, b, fields) || f_int(r, b, "MaxResults", 1, 50, &max) || f_str(r, b, "NextToken", &next) ||
      desc_filters(r, b, &c))
    return MHD_YES;
  if (next && !(after = token_decode(r, next))) return MHD_YES;
  c.arr = json_array();
  c.max = (size_t)max;
  const sy_snap *s = sy__snap_enter(r->srv->store);
  sy__list_walk(s, "", 1, after, desc_cb, &c);
  sy__snap_leave(r->srv->store);
  json_t *out = json_pack("{so}", "Parameters", c.arr);
  if (out && c.more && c.last) json_object_set_new(out, "NextToken", json_string(token_encode(r, c.last)));
  return ssm_reply(r, 200, out);
}

static int resource(sy_req *r, json_t *b, ssm_name *n) {
  const char *type = NULL;
  if (f_str(r, b, "ResourceType", &type)) return -1;
  if (!type) return ssm_error(r, 400, "ValidationException", "ResourceType is required"), -1;
  if (strcmp(type, "Parameter"))
    return ssm_error(r, 400, "InvalidResourceType", "The resource type %.64s is not supported; only Parameter", type),
           -1;
  return required_name(r, b, "ResourceId", 0, n);
}

static enum MHD_Result list_tags(sy_req *r, json_t *b) {
  static const char *const fields[] = {"ResourceType", "ResourceId", NULL};
  ssm_name n;
  if (known(r, b, fields) || resource(r, b, &n)) return MHD_YES;
  const sy_snap *s = sy__snap_enter(r->srv->store);
  const sy_param *p = sy__tree_get(s->root, n.name, n.len);
  json_t *list = p ? json_array() : NULL;
  for (int i = 0; p && i < p->ntags; i++)
    json_array_append_new(list, json_pack("{ss ss}", "Key", p->tags[i].key, "Value", p->tags[i].value));
  sy__snap_leave(r->srv->store);
  if (!p)
    return ssm_error(r, 400, "InvalidResourceId", "The resource ID %s is not valid. Verify the ID and try again.",
                     n.name);
  return ssm_reply(r, 200, json_pack("{so}", "TagList", list));
}

/* ---- writes ---- */

static enum MHD_Result finish_put(sy_req *r) {
  if (r->op.rc) return ssm_rc(r, r->op.rc, r->op.msg);
  return ssm_reply(
      r, 200, json_pack("{sI ss}", "Version", (json_int_t)r->op.out_version, "Tier", sy_tier_name(r->op.out_tier)));
}

static enum MHD_Result finish_empty(sy_req *r) {
  if (r->op.rc == SY_ENOTFOUND && (r->op.kind == SY_OP_TAG || r->op.kind == SY_OP_UNTAG))
    return ssm_error(r, 400, "InvalidResourceId", "The resource ID %.*s is not valid. Verify the ID and try again.",
                     (int)r->op.put.name_len, r->op.put.name);
  if (r->op.rc == SY_ENOTFOUND && r->op.kind == SY_OP_DELETE)
    return ssm_error(r, 400, "ParameterNotFound", "Parameter %.*s not found.", (int)r->op.put.name_len, r->op.put.name);
  if (r->op.rc) return ssm_rc(r, r->op.rc, r->op.msg);
  return ssm_reply(r, 200, json_object());
}

/* Tags [{Key, Value}] into an arena array. */
static int tag_list(sy_req *r, json_t *b, sy_tag **out, int *n, int *present) {
  json_t *t = json_object_get(b, "Tags");
  char msg[SY_MSG_MAX];
  *n = 0;
  *present = t && !json_is_null(t);
  if (!*present) return 0;
  if (!json_is_array(t)) return ssm_error(r, 400, "SerializationException", "Tags must be a list"), -1;
  size_t cnt = json_array_size(t);
  if (cnt > 1000) return ssm_error(r, 400, "TooManyTagsError", "too many tags"), -1;
  sy_tag *tags = sy_arena_alloc(r->arena, (cnt + 1) * sizeof *tags);
  if (!tags) return ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  size_t i;
  json_t *e;
  json_array_foreach(t, i, e) {
    const char *k = NULL, *v = NULL;
    if (!json_is_object(e)) return ssm_error(r, 400, "SerializationException", "Tags[%zu] must be an object", i), -1;
    if (f_str(r, e, "Key", &k) || f_str(r, e, "Value", &v)) return -1;
    if (!k || !v) return ssm_error(r, 400, "ValidationException", "Tags[%zu] needs a Key and a Value", i), -1;
    if (sy_tag_check(k, v, msg, sizeof msg)) return ssm_error(r, 400, "ValidationException", "%s", msg), -1;
    /* a repeated key keeps its last value */
    int j = 0;
    while (j < *n && strcmp(tags[j].key, k)) j++;
    tags[j].key = (char *)k;
    tags[j].value = (char *)v;
    if (j == *n) (*n)++;
  }
  *out = tags;
  return 0;
}

static enum MHD_Result put_parameter(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Name",           "Description", "Value", "Type",     "KeyId",    "Overwrite",
                                       "AllowedPattern", "Tags",        "Tier",  "Policies", "DataType", NULL};
  ssm_name n;
  const char *value = NULL, *type = NULL, *tier = NULL, *dtype = NULL, *desc = NULL, *pattern = NULL, *policies = NULL,
             *keyid = NULL;
  int overwrite = 0, has_tags = 0, ntags = 0;
  sy_tag *tags = NULL;
  char msg[SY_MSG_MAX];
  if (known(r, b, fields) || required_name(r, b, "Name", 0, &n) || f_str(r, b, "Value", &value) ||
      f_str(r, b, "Type", &type) || f_str(r, b, "Tier", &tier) || f_str(r, b, "DataType", &dtype) ||
      f_str(r, b, "Description", &desc) || f_str(r, b, "AllowedPattern", &pattern) || f_str(r, b, "KeyId", &keyid) ||
      f_str(r, b, "Policies", &policies) || f_bool(r, b, "Overwrite", &overwrite) ||
      tag_list(r, b, &tags, &ntags, &has_tags))
    return MHD_YES;
  if (!value) return ssm_error(r, 400, "ValidationException", "Value is required");
  sy_put *in = &r->op.put;
  in->if_version = -1;
  if (type && !(in->kind = sy_kind_by_name(type) ? sy_kind_by_name(type)->kind : 0))
    return ssm_error(r, 400, "ValidationException",
                     "1 validation error detected: Value '%.64s' at 'type' failed to satisfy constraint: Member must "
                     "satisfy enum value set: [SecureString, StringList, String]",
                     type);
  if (keyid && (!type || in->kind != SY_KIND_SECURESTRING))
    return ssm_error(r, 400, "ValidationException", "KeyId is only valid with the SecureString type");
  if (dtype && strcmp(dtype, "text"))
    return ssm_error(r, 400, "ValidationException", "The data type %.64s is not supported; use text", dtype);
  if (policies && *policies && strcmp(policies, "[]"))
    return ssm_error(r, 400, "InvalidPolicyTypeException", "Parameter policies are not supported");
  if (has_tags && overwrite)
    return ssm_error(r, 400, "ValidationException",
                     "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, "
                     "please remove overwrite flag. To update tags for an existing parameter, please use "
                     "AddTagsToResource or RemoveTagsFromResource.");
  size_t vlen = strlen(value);
  if (tier) {
    if (!strcmp(tier, "Intelligent-Tiering")) {
      in->tier = vlen > SY_VALUE_MAX_STANDARD ? SY_TIER_ADVANCED : 0;
    } else if (!(in->tier = sy_tier_parse(tier))) {
      return ssm_error(r, 400, "ValidationException",
                       "1 validation error detected: Value '%.64s' at 'tier' failed to satisfy constraint: Member "
                       "must satisfy enum value set: [Advanced, Intelligent-Tiering, Standard]",
                       tier);
    }
  }
  if (vlen > SY_VALUE_MAX_ADVANCED ||
      (in->tier != SY_TIER_ADVANCED && vlen > SY_VALUE_MAX_STANDARD && (!tier || in->tier == SY_TIER_STANDARD))) {
    /* the store checks again against the kept tier; this is SSM's wording for the common case */
    if (vlen > SY_VALUE_MAX_ADVANCED || in->tier == SY_TIER_STANDARD)
      return ssm_error(r, 400, "ValidationException",
                       "Standard tier parameters support a maximum parameter value of 4096 characters. To create a "
                       "larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more "
                       "information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/"
                       "parameter-store-advanced-parameters.html");
  }
  if (desc && strlen(desc) > SY_DESCRIPTION_MAX)
    return ssm_error(r, 400, "ValidationException", "Description is longer than 1024 characters");
  if (pattern && sy_pattern_compile_check(pattern, msg, sizeof msg) == SY_EINVAL && strlen(pattern) <= SY_PATTERN_MAX)
    return ssm_error(r, 400, "InvalidAllowedPatternException", "%s", msg);
  if (pattern && sy_pattern_compile_check(pattern, msg, sizeof msg))
    return ssm_error(r, 400, "ValidationException", "%s", msg);
  in->name = n.name;
  in->name_len = n.len;
  in->value = value;
  in->value_len = vlen;
  in->overwrite = overwrite;
  in->description = desc;
  in->allowed_pattern = pattern;
  in->tags = tags;
  in->ntags = ntags;
  in->has_tags = has_tags;
  r->op.kind = SY_OP_PUT;
  return sy__submit(r, finish_put);
}

static enum MHD_Result delete_parameter(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Name", NULL};
  ssm_name n;
  if (known(r, b, fields) || required_name(r, b, "Name", 0, &n)) return MHD_YES;
  r->op.kind = SY_OP_DELETE;
  r->op.put.name = n.name;
  r->op.put.name_len = n.len;
  return sy__submit(r, finish_empty);
}

static enum MHD_Result finish_delete_many(sy_req *r) {
  if (r->op.rc) return ssm_rc(r, r->op.rc, r->op.msg);
  json_t *res = r->op.result;
  json_t *invalid = json_deep_copy(json_object_get(res, "invalid"));
  json_t *bad = r->json ? json_object_get(r->json, "_invalid_names") : NULL;
  size_t i;
  json_t *e;
  json_array_foreach(bad, i, e) json_array_append(invalid, e);
  return ssm_reply(r, 200,
                   json_pack("{sO so}", "DeletedParameters", json_object_get(res, "deleted"), "InvalidParameters",
                             invalid ? invalid : json_array()));
}

static enum MHD_Result delete_parameters(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Names", NULL};
  const char **names;
  int nn;
  if (known(r, b, fields) || f_strs(r, b, "Names", 1, 10, &names, &nn)) return MHD_YES;
  /* names that break the rules are reported as invalid, the rest go to the store */
  const char **ok = sy_arena_alloc(r->arena, (size_t)(nn + 1) * sizeof *ok);
  json_t *bad = json_array();
  int nok = 0;
  if (!ok || !bad) return ssm_error(r, 500, "InternalServerError", "out of memory");
  for (int i = 0; i < nn; i++) {
    char msg[SY_MSG_MAX];
    int again = 0;
    for (int j = 0; j < i; j++) again |= !strcmp(names[i], names[j]);
    if (again) continue; /* a name given twice is deleted once */
    if (sy_name_check(names[i], strlen(names[i]), msg, sizeof msg))
      json_array_append_new(bad, json_string(names[i]));
    else
      ok[nok++] = names[i];
  }
  json_object_set_new(b, "_invalid_names", bad);
  if (!nok) return ssm_reply(r, 200, json_pack("{s[] sO}", "DeletedParameters", "InvalidParameters", bad));
  r->op.kind = SY_OP_DELETE;
  r->op.strs = ok;
  r->op.nstrs = nok;
  return sy__submit(r, finish_delete_many);
}

static enum MHD_Result finish_label(sy_req *r) {
  if (r->op.rc) return ssm_rc(r, r->op.rc, r->op.msg);
  json_t *res = r->op.result;
  return ssm_reply(r, 200,
                   json_pack("{sO sI}", "InvalidLabels", json_object_get(res, "invalid_labels"), "ParameterVersion",
                             (json_int_t)r->op.out_version));
}

static enum MHD_Result finish_unlabel(sy_req *r) {
  if (r->op.rc) return ssm_rc(r, r->op.rc, r->op.msg);
  json_t *res = r->op.result;
  return ssm_reply(r, 200,
                   json_pack("{sO sO}", "RemovedLabels", json_object_get(res, "removed"), "InvalidLabels",
                             json_object_get(res, "invalid_labels")));
}

/* LabelParameterVersion (version optional: the latest) and UnlabelParameterVersion (version required). */
static enum MHD_Result labels_op(sy_req *r, json_t *b, int add) {
  static const char *const fields[] = {"Name", "ParameterVersion", "Labels", NULL};
  ssm_name n;
  int64_t version = 0;
  const char **labels;
  if (known(r, b, fields) || required_name(r, b, "Name", 0, &n) ||
      f_int(r, b, "ParameterVersion", 1, INT64_MAX, &version) ||
      f_strs(r, b, "Labels", 1, SY_LABELS_PER_VERSION, &labels, &r->op.nstrs))
    return MHD_YES;
  if (!add && !version) return ssm_error(r, 400, "ValidationException", "ParameterVersion is required");
  r->op.strs = labels;
  r->op.kind = add ? SY_OP_LABEL : SY_OP_UNLABEL;
  r->op.version = version;
  r->op.put.name = n.name;
  r->op.put.name_len = n.len;
  return sy__submit(r, add ? finish_label : finish_unlabel);
}

static enum MHD_Result label_version(sy_req *r, json_t *b) { return labels_op(r, b, 1); }

static enum MHD_Result unlabel_version(sy_req *r, json_t *b) { return labels_op(r, b, 0); }

static enum MHD_Result add_tags(sy_req *r, json_t *b) {
  static const char *const fields[] = {"ResourceType", "ResourceId", "Tags", NULL};
  ssm_name n;
  int present = 0;
  sy_tag *tags = NULL;
  if (known(r, b, fields) || resource(r, b, &n) || tag_list(r, b, &tags, &r->op.ntags, &present)) return MHD_YES;
  if (!r->op.ntags) return ssm_error(r, 400, "ValidationException", "Tags is required");
  r->op.kind = SY_OP_TAG;
  r->op.tags = tags;
  r->op.put.name = n.name;
  r->op.put.name_len = n.len;
  return sy__submit(r, finish_empty);
}

static enum MHD_Result remove_tags(sy_req *r, json_t *b) {
  static const char *const fields[] = {"ResourceType", "ResourceId", "TagKeys", NULL};
  ssm_name n;
  const char **keys;
  if (known(r, b, fields) || resource(r, b, &n) || f_strs(r, b, "TagKeys", 1, 1000, &keys, &r->op.nstrs))
    return MHD_YES;
  r->op.strs = keys;
  r->op.kind = SY_OP_UNTAG;
  r->op.put.name = n.name;
  r->op.put.name_len = n.len;
  return sy__submit(r, finish_empty);
}

/* ---- the protocol ---- */

typedef struct ssm_op {
  const char *name;
  enum MHD_Result (*fn)(sy_req *r, json_t *body);
  unsigned scope;
} ssm_op;

static const ssm_op ops[] = {
    {"GetParameter", get_parameter, SY_SCOPE_READ},
    {"GetParameters", get_parameters, SY_SCOPE_READ},
    {"GetParametersByPath", get_parameters_by_path, SY_SCOPE_READ},
    {"GetParameterHistory", get_parameter_history, SY_SCOPE_READ},
    {"DescribeParameters", describe_parameters, SY_SCOPE_READ},
    {"ListTagsForResource", list_tags, SY_SCOPE_READ},
    {"PutParameter", put_parameter, SY_SCOPE_WRITE},
    {"DeleteParameter", delete_parameter, SY_SCOPE_WRITE},
    {"DeleteParameters", delete_parameters, SY_SCOPE_WRITE},
    {"LabelParameterVersion", label_version, SY_SCOPE_WRITE},
    {"UnlabelParameterVersion", unlabel_version, SY_SCOPE_WRITE},
    {"AddTagsToResource", add_tags, SY_SCOPE_WRITE},
    {"RemoveTagsFromResource", remove_tags, SY_SCOPE_WRITE},
};

typedef struct hdr_ctx {
  sy_req *r;
  sy_sigv4_header *h;
  size_t n, cap;
  int overflow;
} hdr_ctx;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  hdr_ctx *c = cls;
  (void)kind;
  if (c->n == c->cap) {
    c->overflow = 1;
    return MHD_NO;
  }
  c->h[c->n].name = key;
  c->h[c->n].value = value;
  c->n++;
  return MHD_YES;
}

typedef struct key_ctx {
  sy_store *st;
  char name[128];
  unsigned scopes;
} key_ctx;

/* Derived signing keys, per MHD thread: deriving one takes four HMACs and opening the
 * sealed secret, most of what checking a signature costs. An entry is good only for the
 * credential table it was made from (gen), so a revoked or replaced key misses at once. */
typedef struct key_cache {
  uint64_t gen;
  char id[SY_SIGV4_AKID_MAX + 1];
  char scope[96]; /* date8/region/service */
  unsigned char key[SY_SIGV4_KEY_LEN];
} key_cache;

#define KEY_CACHE_SLOTS 8
static __thread key_cache tl_keys[KEY_CACHE_SLOTS];
static __thread unsigned tl_keys_next;

static sy_rc signing_key_of(void *ctx, const char *id, const char *date8, const char *region, const char *service,
                            unsigned char key[SY_SIGV4_KEY_LEN]) {
  key_ctx *k = ctx;
  char scope[96];
  snprintf(scope, sizeof scope, "%s/%s/%s", date8, region, service);
  const sy_snap *s = sy__snap_enter(k->st);
  const sy_akey *ak = sy__snap_akey(s, id);
  uint64_t gen = s->auth->gen;
  if (ak) {
    snprintf(k->name, sizeof k->name, "%s", ak->name);
    k->scopes = ak->scopes;
  }
  sy__snap_leave(k->st);
  if (!ak) return SY_ENOTFOUND;
  for (int i = 0; i < KEY_CACHE_SLOTS; i++) {
    key_cache *c = &tl_keys[i];
    if (c->gen == gen && !strcmp(c->id, id) && !strcmp(c->scope, scope)) {
      memcpy(key, c->key, SY_SIGV4_KEY_LEN);
      return SY_OK;
    }
  }
  char secret[SY_SIGV4_SECRET_MAX + 1];
  size_t len = 0;
  sy_rc rc = sy__store_akey_secret(k->st, id, secret, sizeof secret, &len, NULL, 0, NULL);
  if (!rc) rc = sy_sigv4_signing_key(secret, len, date8, region, service, key);
  OPENSSL_cleanse(secret, sizeof secret);
  if (rc) return rc;
  key_cache *c = &tl_keys[tl_keys_next++ % KEY_CACHE_SLOTS];
  c->gen = gen;
  snprintf(c->id, sizeof c->id, "%s", id);
  snprintf(c->scope, sizeof c->scope, "%s", scope);
  memcpy(c->key, key, SY_SIGV4_KEY_LEN);
  return SY_OK;
}

/* Checks the SigV4 signature for service; replies 403 and returns -1 when it fails. */
static int authenticate_sigv4(sy_req *r, const char *service) {
  hdr_ctx hc = {r, NULL, 0, 128, 0};
  hc.h = sy_arena_alloc(r->arena, hc.cap * sizeof *hc.h);
  if (!hc.h) return ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_header, &hc);
  /* every header is seen by the verifier, or the request is not taken */
  if (hc.overflow)
    return ssm_error(r, 400, "SerializationException", "the request has more than %zu headers", hc.cap), -1;
  key_ctx kc = {r->srv->store, "", 0};
  sy_sigv4_verify_in in = {.http = {.method = r->method,
                                    .path = r->path,
                                    .query = r->raw_query,
                                    .headers = hc.h,
                                    .n_headers = hc.n,
                                    .body = r->body,
                                    .body_len = r->body_len},
                           .key_fn = signing_key_of,
                           .secret_ctx = &kc,
                           .service = service,
                           .now = (int64_t)time(NULL)};
  sy_sigv4_verdict vd;
  char msg[1024];
  sy_rc rc = sy_sigv4_verify(&in, &vd, msg, sizeof msg);
  if (rc == SY_OK && strcmp(vd.region, r->srv->aws_region))
    return ssm_error(r, 403, "InvalidSignatureException",
                     "Credential should be scoped to a valid region, not '%s'. This server's region is '%s' "
                     "(SWITCHYARD_AWS_REGION).",
                     vd.region, r->srv->aws_region),
           -1;
  if (rc == SY_OK) {
    r->actor = sy_arena_strdup(r->arena, kc.name);
    r->scopes = kc.scopes;
    return r->actor ? 0 : -1;
  }
  if (rc != SY_EUNAUTH) return ssm_error(r, 400, "ValidationException", "%s", msg[0] ? msg : "malformed request"), -1;
  const char *type = sy_sigv4_result_code(vd.result);
  if (vd.result == SY_SIGV4_UNKNOWN_KEY)
    return ssm_error(r, 403, "UnrecognizedClientException", "The security token included in the request is invalid."),
           -1;
  if (vd.result == SY_SIGV4_MISSING_AUTH)
    return ssm_error(r, 403, "MissingAuthenticationTokenException", "Missing Authentication Token"), -1;
  /* every refusal of a credential or signature is a 403, as AWS answers them */
  return ssm_error(r, 403, type, "%s", msg), -1;
}

/* STS GetCallerIdentity (awsQuery, XML), so that `aws sts get-caller-identity --endpoint-url ...`
 * of runbook 000 names the access key it signs with. */
static enum MHD_Result sts(sy_req *r) {
  static const char want[] = "Action=GetCallerIdentity";
  if (r->body_len < sizeof want - 1 || !memmem(r->body, r->body_len, want, sizeof want - 1)) {
    static const char err[] =
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Switchyard answers only "
        "GetCallerIdentity of STS</Message></Error></ErrorResponse>";
    return sy__queue(r, 400, MHD_create_response_from_buffer(sizeof err - 1, (void *)err, MHD_RESPMEM_PERSISTENT),
                     "text/xml");
  }
  if (authenticate_sigv4(r, "sts")) return MHD_YES;
  char rid[37], *xml = malloc(1024);
  if (!xml) return MHD_NO;
  request_id(rid);
  const sy_snap *s = sy__snap_enter(r->srv->store);
  const char *id = "";
  for (int i = 0; i < s->auth->nkeys; i++)
    if (!strcmp(s->auth->keys[i].name, r->actor)) id = s->auth->keys[i].id;
  int n = snprintf(xml, 1024,
                   "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   "<GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/%s</Arn><UserId>%s</UserId>"
                   "<Account>%s</Account></GetCallerIdentityResult>"
                   "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
                   r->srv->aws_account, r->actor, id, r->srv->aws_account, rid);
  sy__snap_leave(r->srv->store);
  size_t len = n < 0 ? 0 : (size_t)n < 1024 ? (size_t)n : 1023;
  return sy__reply_text(r, 200, xml, len, "text/xml");
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  (void)kind, (void)value;
  int *c = cls;
  if (!strcasecmp(key, "X-Amz-Target")) c[0]++;
  if (!strcasecmp(key, "Content-Type")) c[1]++;
  return MHD_YES;
}

enum MHD_Result sy__api_ssm(sy_req *r) {
  int counts[2] = {0, 0};
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, counts);
  if (counts[0] > 1 || counts[1] > 1)
    return ssm_error(r, 400, "SerializationException", "the request has more than one %s header",
                     counts[0] > 1 ? "X-Amz-Target" : "Content-Type");
  if (sy__query_only(r, "")) return MHD_YES;
  const char *target = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Amz-Target");
  const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!target && ct && !strncmp(ct, "application/x-www-form-urlencoded", 33)) return sts(r);
  if (!ct || strncmp(ct, SSM_CT, strlen(SSM_CT)) || (ct[strlen(SSM_CT)] && ct[strlen(SSM_CT)] != ';'))
    return ssm_error(r, 400, "UnknownOperationException", "Content-Type must be %s, not %.100s", SSM_CT,
                     ct ? ct : "(none)");
  if (!target) return ssm_error(r, 400, "UnknownOperationException", "the X-Amz-Target header is missing");
  if (strncmp(target, "AmazonSSM.", 10))
    return ssm_error(r, 400, "UnknownOperationException", "X-Amz-Target %.100s is not an AmazonSSM operation", target);
  const ssm_op *op = NULL;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(ops[i].name, target + 10)) op = &ops[i];
  if (authenticate_sigv4(r, "ssm")) return MHD_YES;
  if (!op)
    return ssm_error(r, 400, "UnknownOperationException", "Switchyard does not implement AmazonSSM.%.100s",
                     target + 10);
  if (sy__require_quiet(r, op->scope))
    return ssm_error(r, 400, "AccessDeniedException", "User: %s is not authorized to perform: ssm:%s", r->actor,
                     op->name);
  if (r->body_len == 0) {
    r->json = json_object();
  } else {
    json_error_t err;
    if (!sy_utf8_valid(r->body, r->body_len))
      return ssm_error(r, 400, "SerializationException", "the body is not valid UTF-8");
    r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!r->json)
      return ssm_error(r, 400, "SerializationException", "malformed JSON at line %d, column %d: %s", err.line,
                       err.column, err.text);
    if (!json_is_object(r->json)) return ssm_error(r, 400, "SerializationException", "the body must be a JSON object");
  }
  r->ssm = 1;
  return op->fn(r, r->json);
}

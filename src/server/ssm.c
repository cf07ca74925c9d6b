/* ssm.c — the envelope of the AWS SSM Parameter Store protocol (awsJson1_1, SigV4) on POST /:
 * request ids, replies, the error shape, and the request's fields and parameter names.
 *
 * The same documents, versions and audit records as the native API: every write
 * (ssm_write.c) becomes the same store operation, every read (ssm_read.c) comes from the
 * same snapshot. Only the wire shapes and error names differ. ssm_auth.c checks who signed
 * a request, and ssm_dispatch.c hands it to its operation. */
#include "server/ssm.h"

#include <inttypes.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
  char clean[SSM_MSG_MAX];
  snprintf(clean, sizeof clean, "%s", msg);
  sy__utf8_clean(clean, strlen(clean));
  return json_pack("{ss ss}", "__type", type, "message", clean);
}

enum MHD_Result sy__ssm_error(sy_req *r, int status, const char *type, const char *fmt, ...) {
  char msg[SSM_MSG_MAX];
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
  /* SSM names the member in camelCase and the one bound it breaks */
  if (x < min || x > max)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value '%" PRId64
                         "' at '%c%s' failed to satisfy constraint: Member must have value %s than or equal to "
                         "%" PRId64 ".",
                         x, key[0] + 32, key + 1, x < min ? "greater" : "less", x < min ? min : max),
           -1;
  *out = x;
  return 0;
}

/* A list with too few or too many members: SSM quotes the list, "[a, b, c]". */
static enum MHD_Result list_length_refused(sy_req *r, json_t *list, const char *key, int min, int max) {
  char text[SSM_MSG_MAX];
  size_t n = 0, i;
  json_t *e;
  text[0] = 0;
  json_array_foreach(list, i, e) {
    char *dumped = json_is_string(e) ? NULL : json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
    int w = snprintf(text + n, sizeof text - n, "%s%s", i ? ", " : "",
                     json_is_string(e) ? json_string_value(e)
                     : dumped          ? dumped
                                       : "");
    free(dumped);
    if (w < 0 || (size_t)w >= sizeof text - n) break;
    n += (size_t)w;
  }
  int few = json_array_size(list) < (size_t)min;
  return sy__ssm_error(r, 400, "ValidationException",
                       "1 validation error detected: Value '[%s]' at '%c%s' failed to satisfy constraint: Member must "
                       "have length %s than or equal to %d.",
                       text, key[0] + 32, key + 1, few ? "greater" : "less", few ? min : max);
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
  if (cnt < (size_t)min || cnt > (size_t)max) return list_length_refused(r, v, key, min, max), -1;
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

/* What SSM answers for a name that is not one: its generic text, whatever the fault. */
static const char NAME_RULES[] =
    "Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it can consist of "
    "sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 "
    "symbols .-_";

static int reserved(const char *s, size_t len) {
  if (len && s[0] == '/') s++, len--;
  return len >= 3 && (!strncasecmp(s, "aws", 3) || !strncasecmp(s, "ssm", 3));
}

int sy__ssm_name_refusal(const char *name, size_t len, int create, const char **type, char *msg, size_t cap) {
  char why[SY_MSG_MAX], copy[SY_NAME_MAX + 1];
  *type = "ValidationException";
  if (len == 0) {
    snprintf(msg, cap,
             "1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member must have length "
             "greater than or equal to 1.");
    return -1;
  }
  if (len > 2048) {
    snprintf(msg, cap,
             "1 validation error detected: Value '%.*s' at 'name' failed to satisfy constraint: Member must have "
             "length less than or equal to 2048.",
             (int)len, name);
    return -1;
  }
  int slashes = 0;
  for (size_t i = 0; i < len; i++) slashes += name[i] == '/';
  if (reserved(name, len) && create) {
    if (slashes > 1 && !strncasecmp(name, "/aws", 4)) {
      *type = "AccessDeniedException";
      snprintf(msg, cap, "No access to reserved parameter name: %.*s.", (int)len, name);
    } else if (slashes > 1) {
      snprintf(msg, cap, "%s", NAME_RULES);
    } else {
      snprintf(msg, cap, "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).");
    }
    return -1;
  }
  if (reserved(name, len) && len <= SY_NAME_MAX) {
    /* a read of a reserved name finds nothing; the rest of the name must still be one */
    memcpy(copy, name, len);
    memcpy(copy + (copy[0] == '/'), "xxx", 3);
    copy[len] = 0;
    name = copy;
  }
  sy_rc rc = sy__name_check(name, len, why, sizeof why);
  if (!rc) return 0;
  if (rc == SY_EHIERARCHY) {
    *type = "HierarchyLevelLimitExceededException";
    snprintf(msg, cap, "%s", SSM_HIERARCHY_TEXT);
  } else if (name[0] != '/' && slashes) {
    snprintf(msg, cap, "Parameter name must be a fully qualified name.");
  } else if (len > SY_NAME_MAX) {
    snprintf(msg, cap, "Parameter name: can't be longer than %d characters.", SY_NAME_MAX);
  } else {
    snprintf(msg, cap, "%s", NAME_RULES);
  }
  return -1;
}

/* The name inside an SSM parameter ARN (arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME, any
 * partition, region and account), or NULL when raw is not one. */
static const char *arn_name(const char *raw) {
  const char *s = raw + 4; /* after "arn:" */
  const char *c = strchr(s, ':');
  if (!c || c == s || strncmp(c, ":ssm:", 5)) return NULL;
  s = c + 5;
  for (int field = 0; field < 2; field++) { /* region, account */
    c = strchr(s, ':');
    if (!c) return NULL;
    s = c + 1;
  }
  if (strncmp(s, "parameter/", 10)) return NULL;
  s += 9;
  /* arn:...:parameter/name is the name "name", arn:...:parameter/a/b the name "/a/b" */
  const char *colon = strchr(s + 1, ':');
  size_t n = colon ? (size_t)(colon - s) : strlen(s);
  if (n > 1 && !memchr(s + 1, '/', n - 1)) s++;
  return s;
}

int sy__ssm_parse_name(sy_req *r, const char *raw, int flags, ssm_name *n) {
  char msg[SSM_MSG_MAX];
  const char *type;
  memset(n, 0, sizeof *n);
  n->given = raw;
  const char *s = raw;
  if (!strncmp(s, "arn:", 4)) {
    if (!(s = arn_name(raw)))
      return sy__ssm_error(r, 400, "ValidationException", "%.200s is not a parameter ARN", raw), -1;
  }
  size_t len = strlen(s);
  const char *colon = (flags & SSM_NAME_SELECTOR) ? memchr(s, ':', len) : NULL;
  size_t nlen = colon ? (size_t)(colon - s) : len;
  if (sy__ssm_name_refusal(s, nlen, flags & SSM_NAME_CREATE, &type, msg, sizeof msg))
    return sy__ssm_reply_error(r, 400, type, msg), -1;
  n->name = sy__arena_strndup(r->arena, s, nlen);
  n->len = nlen;
  if (!n->name) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  if (colon) {
    /* a selector that can name no version ("a:2:3", "a:", "a:0", "a:1x") finds nothing */
    const char *sel = colon + 1;
    if (*sel >= '0' && *sel <= '9') {
      char *end = NULL;
      long long v = strtoll(sel, &end, 10);
      if (*end || v < 1 || v == LLONG_MAX)
        n->unresolvable = 1;
      else
        n->version = v;
    } else if (sy__label_valid(sel)) {
      n->label = sel;
    } else {
      n->unresolvable = 1;
    }
  }
  return 0;
}

int sy__ssm_required_name(sy_req *r, json_t *o, const char *key, int flags, ssm_name *n) {
  const char *raw = NULL;
  if (sy__ssm_str(r, o, key, &raw)) return -1;
  if (!raw)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value null at '%c%s' failed to satisfy constraint: Member must "
                         "not be null",
                         key[0] + 32, key + 1),
           -1;
  return sy__ssm_parse_name(r, raw, flags, n);
}

int sy__ssm_resource(sy_req *r, json_t *b, ssm_name *n) {
  static const char *const others[] = {"Document",      "ManagedInstance", "MaintenanceWindow",
                                       "PatchBaseline", "OpsItem",         "OpsMetadata",
                                       "Automation",    "Association",     NULL};
  const char *type = NULL, *id = NULL;
  if (sy__ssm_str(r, b, "ResourceType", &type) || sy__ssm_str(r, b, "ResourceId", &id)) return -1;
  if (!type || !id)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must "
                         "not be null",
                         type ? "resourceId" : "resourceType"),
           -1;
  if (strcmp(type, "Parameter")) {
    /* a kind of resource SSM has, but not this server: none of them exists here */
    for (const char *const *o = others; *o; o++)
      if (!strcmp(*o, type)) return sy__ssm_error(r, 400, "InvalidResourceId", "Invalid Resource Id"), -1;
    return sy__ssm_error(r, 400, "InvalidResourceType", "Invalid Resource Type"), -1;
  }
  /* a resource id that is no parameter's name names no resource */
  char msg[SSM_MSG_MAX];
  const char *t;
  const char *s = !strncmp(id, "arn:", 4) ? arn_name(id) : id;
  if (!s || sy__ssm_name_refusal(s, strlen(s), 0, &t, msg, sizeof msg))
    return sy__ssm_error(r, 400, "InvalidResourceId", "Invalid Resource Id"), -1;
  return sy__ssm_parse_name(r, id, 0, n);
}

const char *sy__ssm_type_name(sy_kind kind) {
  return kind >= SY_KIND_STRING && kind <= SY_KIND_SECURESTRING ? sy__kind_name(kind) : "String";
}

/* ssm_dispatch.c — POST /: which protocol and operation a request names, who signed it,
 * and the operation that answers it; and the one answer to every AWS service or
 * operation that Switchyard does not serve. */
#include "server/ssm.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/text.h"
#include "server/ssm_int.h"

/* ---- the protocol ---- */

typedef struct ssm_op {
  const char *name;
  enum MHD_Result (*fn)(sy_req *r, json_t *body);
  unsigned scope;
} ssm_op;

static const ssm_op ops[] = {
    {"GetParameter", sy__ssm_get_parameter, SY_SCOPE_READ},
    {"GetParameters", sy__ssm_get_parameters, SY_SCOPE_READ},
    {"GetParametersByPath", sy__ssm_get_parameters_by_path, SY_SCOPE_READ},
    {"GetParameterHistory", sy__ssm_get_parameter_history, SY_SCOPE_READ},
    {"DescribeParameters", sy__ssm_describe_parameters, SY_SCOPE_READ},
    {"ListTagsForResource", sy__ssm_list_tags, SY_SCOPE_READ},
    {"PutParameter", sy__ssm_put_parameter, SY_SCOPE_WRITE},
    {"DeleteParameter", sy__ssm_delete_parameter, SY_SCOPE_WRITE},
    {"DeleteParameters", sy__ssm_delete_parameters, SY_SCOPE_WRITE},
    {"LabelParameterVersion", sy__ssm_label_version, SY_SCOPE_WRITE},
    {"UnlabelParameterVersion", sy__ssm_unlabel_version, SY_SCOPE_WRITE},
    {"AddTagsToResource", sy__ssm_add_tags, SY_SCOPE_WRITE},
    {"RemoveTagsFromResource", sy__ssm_remove_tags, SY_SCOPE_WRITE},
};

static const ssm_op *op_named(const char *name) {
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(ops[i].name, name)) return &ops[i];
  return NULL;
}

/* ---- what Switchyard does not serve ---- */

/* The one answer to an AWS service or operation that Switchyard does not serve, whichever
 * way a client asked for it (an X-Amz-Target, an awsQuery Action, a credential scoped to
 * another service, another path): 400 UnknownOperationException in the SSM shape, naming
 * what it serves and what was asked for (fmt). Answered before the signature is checked:
 * it tells nothing that the documentation does not. */
__attribute__((format(printf, 2, 3))) static enum MHD_Result unsupported(sy_req *r, const char *fmt, ...) {
  char what[256], list[512];
  size_t n = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  list[0] = 0;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0] && n < sizeof list; i++) {
    int k = snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "AmazonSSM.", ops[i].name);
    if (k > 0) n += (size_t)k;
  }
  return sy__ssm_error(r, 400, "UnknownOperationException",
                       "Switchyard serves the SSM Parameter Store API (%s) and STS GetCallerIdentity; %s is not "
                       "supported",
                       list, what);
}

/* The Action of an awsQuery body (a form: "Action=GetCallerIdentity&Version=2011-06-15")
 * into out, cut to cap - 1 bytes; 0, or -1 when the body names none. */
static int form_action(const char *body, size_t len, char *out, size_t cap) {
  const char *p = body, *end = body + len;
  while (p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p)), *e = amp ? amp : end;
    if (e - p >= 7 && !memcmp(p, "Action=", 7)) {
      size_t n = (size_t)(e - p - 7) < cap - 1 ? (size_t)(e - p - 7) : cap - 1;
      memcpy(out, p + 7, n);
      out[n] = 0;
      return 0;
    }
    p = amp ? amp + 1 : NULL;
  }
  return -1;
}

/* Whether a service of a credential's scope is one Switchyard serves. */
static int served_service(const char *svc) { return !strcmp(svc, "ssm") || !strcmp(svc, "sts"); }

int sy__ssm_from_aws(sy_req *r) {
  ssm_headers hs;
  if (sy__ssm_headers(r, &hs)) return -1;
  return hs.target ||
         (hs.authorization && !strncmp(hs.authorization, SY_SIGV4_ALGORITHM " ", sizeof SY_SIGV4_ALGORITHM));
}

enum MHD_Result sy__ssm_unsupported(sy_req *r) {
  ssm_headers hs;
  char svc[64];
  if (sy__ssm_headers(r, &hs)) return MHD_YES;
  if (hs.target) return unsupported(r, "%.100s on %.8s %.100s", hs.target, r->method, r->path);
  if (!sy__ssm_scope_service(&hs, svc, sizeof svc))
    return unsupported(r, "%.8s %.100s for the service '%s'", r->method, r->path, svc);
  return unsupported(r, "%.8s %.100s", r->method, r->path);
}

/* ---- the body ---- */

static const char *json_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* A string of the plain kind: no escape, no control character. Sets *s, *n past the quote. */
static const char *plain_string(const char *p, const char *end, const char **s, size_t *n) {
  if (p == end || *p != '"') return NULL;
  const char *q = ++p;
  while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
  if (q == end || *q != '"') return NULL;
  *s = p;
  *n = (size_t)(q - p);
  return q + 1;
}

/* The body as a JSON object when it is of the plain kind every SDK sends for the hot
 * reads: members whose names and string values need no escapes, or whose values are
 * true or false, each name once. NULL for anything else, which jansson then reads (and
 * refuses, with its words, when it is not JSON): jansson would make the same object of
 * a plain one, whose bytes are already known to be UTF-8, and making it directly costs a
 * fraction of parsing it. */
static json_t *plain_object(const char *body, size_t len) {
  const char *p = json_ws(body, body + len), *end = body + len;
  json_t *o = p < end && *p == '{' ? json_object() : NULL;
  if (!o) return NULL;
  p = json_ws(p + 1, end);
  if (p < end && *p == '}') goto close;
  for (;;) {
    const char *k, *v;
    size_t kn, vn;
    json_t *val = NULL;
    if (!(p = plain_string(p, end, &k, &kn))) goto other;
    p = json_ws(p, end);
    if (p == end || *p++ != ':') goto other;
    p = json_ws(p, end);
    if (p < end && *p == '"') {
      if (!(p = plain_string(p, end, &v, &vn))) goto other;
      val = json_stringn_nocheck(v, vn);
    } else if (end - p >= 4 && !memcmp(p, "true", 4)) {
      val = json_true(), p += 4;
    } else if (end - p >= 5 && !memcmp(p, "false", 5)) {
      val = json_false(), p += 5;
    } else {
      goto other;
    }
    if (!val || json_object_getn(o, k, kn) || json_object_setn_new_nocheck(o, k, kn, val)) {
      json_decref(val);
      goto other;
    }
    p = json_ws(p, end);
    if (p < end && *p == ',') {
      p = json_ws(p + 1, end);
      continue;
    }
    if (p < end && *p == '}') break;
    goto other;
  }
close:
  if (json_ws(p + 1, end) == end) return o;
other:
  json_decref(o);
  return NULL;
}

enum MHD_Result sy__api_ssm(sy_req *r) {
  ssm_headers hs;
  if (sy__ssm_headers(r, &hs)) return MHD_YES;
  if (hs.ntarget > 1 || hs.ncontent_type > 1)
    return sy__ssm_error(r, 400, "SerializationException", "the request has more than one %s header",
                         hs.ntarget > 1 ? "X-Amz-Target" : "Content-Type");
  if (sy__query_only(r, "")) return MHD_YES;
  const char *target = hs.target, *ct = hs.content_type;
  /* what the request asks for: an operation of another service or one SSM has and
   * Switchyard does not, an awsQuery Action, or a credential scoped to another service */
  const ssm_op *op = target && !strncmp(target, "AmazonSSM.", 10) ? op_named(target + 10) : NULL;
  char svc[64];
  int scoped = !sy__ssm_scope_service(&hs, svc, sizeof svc);
  /* a credential scoped to a service Switchyard does not serve is a signature error, refused
   * as every other one is (403), whatever the request asks for */
  int form = !target && ct && !strncmp(ct, "application/x-www-form-urlencoded", 33);
  if (scoped && !served_service(svc) && sy__ssm_authenticate(r, &hs, form ? "sts" : "ssm")) return MHD_YES;
  if (target && !op) return unsupported(r, "%.100s", target);
  if (form) {
    char action[65];
    if (form_action(r->body, r->body_len, action, sizeof action))
      return unsupported(r, "an awsQuery request%s%s%s without an Action", scoped ? " for the service '" : "",
                         scoped ? svc : "", scoped ? "'" : "");
    if (strcmp(action, "GetCallerIdentity")) return unsupported(r, "%s:%s", scoped ? svc : "sts", action);
    return sy__ssm_sts(r, &hs);
  }
  if (!ct || strncmp(ct, SSM_CT, strlen(SSM_CT)) || (ct[strlen(SSM_CT)] && ct[strlen(SSM_CT)] != ';'))
    return sy__ssm_error(r, 400, "UnknownOperationException", "Content-Type must be %s, not %.100s", SSM_CT,
                         ct ? ct : "(none)");
  if (!target) return sy__ssm_error(r, 400, "UnknownOperationException", "the X-Amz-Target header is missing");
  if (sy__ssm_authenticate(r, &hs, "ssm")) return MHD_YES;
  if (sy__require_quiet(r, op->scope))
    return sy__ssm_error(r, 400, "AccessDeniedException", "User: %s is not authorized to perform: ssm:%s", r->actor,
                         op->name);
  if (r->body_len == 0) {
    r->json = json_object();
  } else {
    json_error_t err;
    if (!sy__utf8_valid(r->body, r->body_len))
      return sy__ssm_error(r, 400, "SerializationException", "the body is not valid UTF-8");
    r->json = plain_object(r->body, r->body_len);
    if (!r->json) r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!r->json)
      return sy__ssm_error(r, 400, "SerializationException", "malformed JSON at line %d, column %d: %s", err.line,
                           err.column, err.text);
    if (!json_is_object(r->json))
      return sy__ssm_error(r, 400, "SerializationException", "the body must be a JSON object");
  }
  r->ssm = 1;
  return op->fn(r, r->json);
}

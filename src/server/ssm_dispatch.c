/* ssm_dispatch.c — POST /: which protocol and operation a request names, who signed it,
 * and the operation that answers it. */
#include "server/ssm.h"

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
  if (!target && ct && !strncmp(ct, "application/x-www-form-urlencoded", 33)) return sy__ssm_sts(r, &hs);
  if (!ct || strncmp(ct, SSM_CT, strlen(SSM_CT)) || (ct[strlen(SSM_CT)] && ct[strlen(SSM_CT)] != ';'))
    return sy__ssm_error(r, 400, "UnknownOperationException", "Content-Type must be %s, not %.100s", SSM_CT,
                         ct ? ct : "(none)");
  if (!target) return sy__ssm_error(r, 400, "UnknownOperationException", "the X-Amz-Target header is missing");
  if (strncmp(target, "AmazonSSM.", 10))
    return sy__ssm_error(r, 400, "UnknownOperationException", "X-Amz-Target %.100s is not an AmazonSSM operation",
                         target);
  const ssm_op *op = NULL;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0] && !op; i++)
    if (!strcmp(ops[i].name, target + 10)) op = &ops[i];
  if (sy__ssm_authenticate(r, &hs, "ssm")) return MHD_YES;
  if (!op)
    return sy__ssm_error(r, 400, "UnknownOperationException", "Switchyard does not implement AmazonSSM.%.100s",
                         target + 10);
  if (sy__require_quiet(r, op->scope))
    return sy__ssm_error(r, 400, "AccessDeniedException", "User: %s is not authorized to perform: ssm:%s", r->actor,
                         op->name);
  if (r->body_len == 0) {
    r->json = json_object();
  } else {
    json_error_t err;
    if (!sy_utf8_valid(r->body, r->body_len))
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

/* ssm_dispatch.c — POST /: which protocol and operation a request names, who signed it,
 * and the operation that answers it. */
#include "server/ssm.h"

#include <string.h>
#include <strings.h>

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
    return sy__ssm_error(r, 400, "SerializationException", "the request has more than one %s header",
                         counts[0] > 1 ? "X-Amz-Target" : "Content-Type");
  if (sy__query_only(r, "")) return MHD_YES;
  const char *target = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Amz-Target");
  const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!target && ct && !strncmp(ct, "application/x-www-form-urlencoded", 33)) return sy__ssm_sts(r);
  if (!ct || strncmp(ct, SSM_CT, strlen(SSM_CT)) || (ct[strlen(SSM_CT)] && ct[strlen(SSM_CT)] != ';'))
    return sy__ssm_error(r, 400, "UnknownOperationException", "Content-Type must be %s, not %.100s", SSM_CT,
                         ct ? ct : "(none)");
  if (!target) return sy__ssm_error(r, 400, "UnknownOperationException", "the X-Amz-Target header is missing");
  if (strncmp(target, "AmazonSSM.", 10))
    return sy__ssm_error(r, 400, "UnknownOperationException", "X-Amz-Target %.100s is not an AmazonSSM operation",
                         target);
  const ssm_op *op = NULL;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(ops[i].name, target + 10)) op = &ops[i];
  if (sy__ssm_authenticate(r, "ssm")) return MHD_YES;
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
    r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!r->json)
      return sy__ssm_error(r, 400, "SerializationException", "malformed JSON at line %d, column %d: %s", err.line,
                           err.column, err.text);
    if (!json_is_object(r->json))
      return sy__ssm_error(r, 400, "SerializationException", "the body must be a JSON object");
  }
  r->ssm = 1;
  return op->fn(r, r->json);
}

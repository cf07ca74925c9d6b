/* ssm_write.c — the SSM API's writes: PutParameter, DeleteParameter(s), Label- and
 * UnlabelParameterVersion, AddTagsToResource and RemoveTagsFromResource. Each becomes the
 * same store operation as its native counterpart. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/param.h"
#include "server/ssm_int.h"

static enum MHD_Result finish_put(sy_req *r) {
  if (r->op.rc == SY_ETIER)
    return sy__ssm_error(r, 400, "ValidationException",
                         "Standard tier parameters support a maximum parameter value of 4096 characters. To create a "
                         "larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more "
                         "information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/"
                         "parameter-store-advanced-parameters.html");
  if (r->op.rc == SY_EBADPATTERN) return sy__ssm_error(r, 400, "InvalidAllowedPatternException", "%s", r->op.msg);
  if (r->op.rc) return sy__ssm_rc(r, r->op.rc, r->op.msg);
  return sy__ssm_reply(
      r, 200, json_pack("{sI ss}", "Version", (json_int_t)r->op.out_version, "Tier", sy__tier_name(r->op.out_tier)));
}

static enum MHD_Result finish_empty(sy_req *r) {
  if (r->op.rc == SY_ENOTFOUND && (r->op.kind == SY_OP_TAG || r->op.kind == SY_OP_UNTAG))
    return sy__ssm_error(r, 400, "InvalidResourceId", "The resource ID %.*s is not valid. Verify the ID and try again.",
                         (int)r->op.put.name_len, r->op.put.name);
  if (r->op.rc == SY_ENOTFOUND && r->op.kind == SY_OP_DELETE)
    return sy__ssm_error(r, 400, "ParameterNotFound", "Parameter %.*s not found.", (int)r->op.put.name_len,
                         r->op.put.name);
  if (r->op.rc) return sy__ssm_rc(r, r->op.rc, r->op.msg);
  return sy__ssm_reply(r, 200, json_object());
}

/* Tags [{Key, Value}] into an arena array. */
static int tag_list(sy_req *r, json_t *b, sy_tag **out, int *n, int *present) {
  json_t *t = json_object_get(b, "Tags");
  *n = 0;
  *present = t && !json_is_null(t);
  if (!*present) return 0;
  if (!json_is_array(t)) return sy__ssm_error(r, 400, "SerializationException", "Tags must be a list"), -1;
  size_t cnt = json_array_size(t);
  if (cnt > 1000) return sy__ssm_error(r, 400, "TooManyTagsError", "too many tags"), -1;
  sy_tag *tags = sy__arena_alloc(r->arena, (cnt + 1) * sizeof *tags);
  if (!tags) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  size_t i;
  json_t *e;
  json_array_foreach(t, i, e) {
    const char *k = NULL, *v = NULL;
    if (!json_is_object(e))
      return sy__ssm_error(r, 400, "SerializationException", "Tags[%zu] must be an object", i), -1;
    if (sy__ssm_str(r, e, "Key", &k) || sy__ssm_str(r, e, "Value", &v)) return -1;
    if (!k || !v) return sy__ssm_error(r, 400, "ValidationException", "Tags[%zu] needs a Key and a Value", i), -1;
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

enum MHD_Result sy__ssm_put_parameter(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Name",           "Description", "Value", "Type",     "KeyId",    "Overwrite",
                                       "AllowedPattern", "Tags",        "Tier",  "Policies", "DataType", NULL};
  ssm_name n;
  const char *value = NULL, *type = NULL, *tier = NULL, *dtype = NULL, *desc = NULL, *pattern = NULL, *policies = NULL,
             *keyid = NULL;
  int overwrite = 0, has_tags = 0, ntags = 0;
  sy_tag *tags = NULL;
  if (sy__ssm_known(r, b, fields) || sy__ssm_required_name(r, b, "Name", 0, &n) || sy__ssm_str(r, b, "Value", &value) ||
      sy__ssm_str(r, b, "Type", &type) || sy__ssm_str(r, b, "Tier", &tier) || sy__ssm_str(r, b, "DataType", &dtype) ||
      sy__ssm_str(r, b, "Description", &desc) || sy__ssm_str(r, b, "AllowedPattern", &pattern) ||
      sy__ssm_str(r, b, "KeyId", &keyid) || sy__ssm_str(r, b, "Policies", &policies) ||
      sy__ssm_bool(r, b, "Overwrite", &overwrite) || tag_list(r, b, &tags, &ntags, &has_tags))
    return MHD_YES;
  if (!value) return sy__ssm_error(r, 400, "ValidationException", "Value is required");
  sy_put *in = &r->op.put;
  in->if_version = -1;
  if (type && !(in->kind = sy__kind_by_name(type) ? sy__kind_by_name(type)->kind : 0))
    return sy__ssm_error(
        r, 400, "ValidationException",
        "1 validation error detected: Value '%.64s' at 'type' failed to satisfy constraint: Member must "
        "satisfy enum value set: [SecureString, StringList, String]",
        type);
  if (keyid && (!type || in->kind != SY_KIND_SECURESTRING))
    return sy__ssm_error(r, 400, "ValidationException", "KeyId is only valid with the SecureString type");
  if (dtype && strcmp(dtype, "text"))
    return sy__ssm_error(r, 400, "ValidationException", "The data type %.64s is not supported; use text", dtype);
  if (policies && *policies && strcmp(policies, "[]"))
    return sy__ssm_error(r, 400, "InvalidPolicyTypeException", "Parameter policies are not supported");
  if (has_tags && overwrite)
    return sy__ssm_error(r, 400, "ValidationException",
                         "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, "
                         "please remove overwrite flag. To update tags for an existing parameter, please use "
                         "AddTagsToResource or RemoveTagsFromResource.");
  size_t vlen = strlen(value);
  if (tier) {
    if (!strcmp(tier, "Intelligent-Tiering")) {
      in->tier = vlen > SY_VALUE_MAX_STANDARD ? SY_TIER_ADVANCED : 0;
    } else if (!(in->tier = sy__tier_parse(tier))) {
      return sy__ssm_error(r, 400, "ValidationException",
                           "1 validation error detected: Value '%.64s' at 'tier' failed to satisfy constraint: Member "
                           "must satisfy enum value set: [Advanced, Intelligent-Tiering, Standard]",
                           tier);
    }
  }
  /* the value, description and pattern are checked once, by the store's rules (finish_put
   * says it in SSM's words) */
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

enum MHD_Result sy__ssm_delete_parameter(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Name", NULL};
  ssm_name n;
  if (sy__ssm_known(r, b, fields) || sy__ssm_required_name(r, b, "Name", 0, &n)) return MHD_YES;
  r->op.kind = SY_OP_DELETE;
  r->op.put.name = n.name;
  r->op.put.name_len = n.len;
  return sy__submit(r, finish_empty);
}

static enum MHD_Result finish_delete_many(sy_req *r) {
  if (r->op.rc) return sy__ssm_rc(r, r->op.rc, r->op.msg);
  json_t *res = r->op.result;
  json_t *invalid = json_deep_copy(json_object_get(res, "invalid"));
  json_t *bad = r->json ? json_object_get(r->json, "_invalid_names") : NULL;
  size_t i;
  json_t *e;
  json_array_foreach(bad, i, e) json_array_append(invalid, e);
  return sy__ssm_reply(r, 200,
                       json_pack("{sO so}", "DeletedParameters", json_object_get(res, "deleted"), "InvalidParameters",
                                 invalid ? invalid : json_array()));
}

enum MHD_Result sy__ssm_delete_parameters(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Names", NULL};
  const char **names;
  int nn;
  if (sy__ssm_known(r, b, fields) || sy__ssm_strs(r, b, "Names", 1, 10, &names, &nn)) return MHD_YES;
  /* names that break the rules are reported as invalid, the rest go to the store */
  const char **ok = sy__arena_alloc(r->arena, (size_t)(nn + 1) * sizeof *ok);
  json_t *bad = json_array();
  int nok = 0;
  if (!ok || !bad) return sy__ssm_error(r, 500, "InternalServerError", "out of memory");
  for (int i = 0; i < nn; i++) {
    char msg[SY_MSG_MAX];
    int again = 0;
    for (int j = 0; j < i; j++) again |= !strcmp(names[i], names[j]);
    if (again) continue; /* a name given twice is deleted once */
    if (sy__name_check(names[i], strlen(names[i]), msg, sizeof msg))
      json_array_append_new(bad, json_string(names[i]));
    else
      ok[nok++] = names[i];
  }
  json_object_set_new(b, "_invalid_names", bad);
  if (!nok) return sy__ssm_reply(r, 200, json_pack("{s[] sO}", "DeletedParameters", "InvalidParameters", bad));
  r->op.kind = SY_OP_DELETE;
  r->op.strs = ok;
  r->op.nstrs = nok;
  return sy__submit(r, finish_delete_many);
}

static enum MHD_Result finish_label(sy_req *r) {
  if (r->op.rc) return sy__ssm_rc(r, r->op.rc, r->op.msg);
  json_t *res = r->op.result;
  return sy__ssm_reply(r, 200,
                       json_pack("{sO sI}", "InvalidLabels", json_object_get(res, "invalid_labels"), "ParameterVersion",
                                 (json_int_t)r->op.out_version));
}

static enum MHD_Result finish_unlabel(sy_req *r) {
  if (r->op.rc) return sy__ssm_rc(r, r->op.rc, r->op.msg);
  json_t *res = r->op.result;
  return sy__ssm_reply(r, 200,
                       json_pack("{sO sO}", "RemovedLabels", json_object_get(res, "removed"), "InvalidLabels",
                                 json_object_get(res, "invalid_labels")));
}

/* LabelParameterVersion (version optional: the latest) and UnlabelParameterVersion (version required). */
static enum MHD_Result labels_op(sy_req *r, json_t *b, int add) {
  static const char *const fields[] = {"Name", "ParameterVersion", "Labels", NULL};
  ssm_name n;
  int64_t version = 0;
  const char **labels;
  if (sy__ssm_known(r, b, fields) || sy__ssm_required_name(r, b, "Name", 0, &n) ||
      sy__ssm_int(r, b, "ParameterVersion", 1, INT64_MAX, &version) ||
      sy__ssm_strs(r, b, "Labels", 1, SY_LABELS_PER_VERSION, &labels, &r->op.nstrs))
    return MHD_YES;
  if (!add && !version) return sy__ssm_error(r, 400, "ValidationException", "ParameterVersion is required");
  r->op.strs = labels;
  r->op.kind = add ? SY_OP_LABEL : SY_OP_UNLABEL;
  r->op.version = version;
  r->op.put.name = n.name;
  r->op.put.name_len = n.len;
  return sy__submit(r, add ? finish_label : finish_unlabel);
}

enum MHD_Result sy__ssm_label_version(sy_req *r, json_t *b) { return labels_op(r, b, 1); }

enum MHD_Result sy__ssm_unlabel_version(sy_req *r, json_t *b) { return labels_op(r, b, 0); }

enum MHD_Result sy__ssm_add_tags(sy_req *r, json_t *b) {
  static const char *const fields[] = {"ResourceType", "ResourceId", "Tags", NULL};
  ssm_name n;
  int present = 0;
  sy_tag *tags = NULL;
  if (sy__ssm_known(r, b, fields) || sy__ssm_resource(r, b, &n) || tag_list(r, b, &tags, &r->op.ntags, &present))
    return MHD_YES;
  if (!r->op.ntags) return sy__ssm_error(r, 400, "ValidationException", "Tags is required");
  r->op.kind = SY_OP_TAG;
  r->op.tags = tags;
  r->op.put.name = n.name;
  r->op.put.name_len = n.len;
  return sy__submit(r, finish_empty);
}

enum MHD_Result sy__ssm_remove_tags(sy_req *r, json_t *b) {
  static const char *const fields[] = {"ResourceType", "ResourceId", "TagKeys", NULL};
  ssm_name n;
  const char **keys;
  if (sy__ssm_known(r, b, fields) || sy__ssm_resource(r, b, &n) ||
      sy__ssm_strs(r, b, "TagKeys", 1, 1000, &keys, &r->op.nstrs))
    return MHD_YES;
  r->op.strs = keys;
  r->op.kind = SY_OP_UNTAG;
  r->op.put.name = n.name;
  r->op.put.name_len = n.len;
  return sy__submit(r, finish_empty);
}

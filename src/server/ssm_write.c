/* ssm_write.c — the SSM API's writes: PutParameter, DeleteParameter(s), Label- and
 * UnlabelParameterVersion, AddTagsToResource and RemoveTagsFromResource. Each becomes the
 * same store operation as its native counterpart. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/param.h"
#include "server/ssm_int.h"

/* The Name field as the request gave it (the body outlives the op), for SSM's messages. */
static const char *given_name(sy_req *r) {
  json_t *n = r->json ? json_object_get(r->json, "Name") : NULL;
  return json_is_string(n) ? json_string_value(n) : r->op.put.name ? r->op.put.name : "";
}

/* The store's refusal of a write in SSM's words. */
static enum MHD_Result put_refused(sy_req *r) {
  const char *msg = r->op.msg;
  switch (r->op.rc) {
  case SY_ETIER:
    return sy__ssm_error(r, 400, "ValidationException",
                         "Standard tier parameters support a maximum parameter value of 4096 characters. To create a "
                         "larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more "
                         "information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/"
                         "parameter-store-advanced-parameters.html");
  case SY_EBADPATTERN: return sy__ssm_error(r, 400, "InvalidAllowedPatternException", "%s", msg);
  case SY_EEXISTS:
    return sy__ssm_error(r, 400, "ParameterAlreadyExists",
                         "The parameter already exists. To overwrite this value, set the overwrite option in the "
                         "request to true.");
  case SY_EPATTERN: {
    const char *pat = strstr(msg, "allowed pattern ");
    if (pat)
      return sy__ssm_error(r, 400, "ParameterPatternMismatchException",
                           "Parameter value, cannot be validated against allowedPattern: %s", pat + 16);
    break;
  }
  case SY_EMAXVERSIONS:
    return sy__ssm_error(r, 400, "ParameterMaxVersionLimitExceeded",
                         "You attempted to create a new version of %s by calling the PutParameter API with the "
                         "overwrite flag. Version %" PRId64
                         ", the oldest version, can't be deleted because it has a "
                         "label associated with it. Move the label to another version of the parameter, and try "
                         "again.",
                         given_name(r), r->op.out_version);
  case SY_ETAG_LIMIT:
    return sy__ssm_error(r, 400, "TooManyTagsError", "The Systems Manager resource can have a maximum of %d tags.",
                         SY_TAGS_MAX);
  case SY_EINVAL:
    if (!strncmp(msg, "type is required", 16))
      return sy__ssm_error(r, 400, "ValidationException", "A parameter type is required when you create a parameter.");
    if (strstr(msg, "is an Advanced parameter"))
      return sy__ssm_error(r, 400, "ValidationException",
                           "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the "
                           "advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the "
                           "advanced parameter and recreate it as a standard parameter.");
    break;
  default: break;
  }
  return sy__ssm_rc(r, r->op.rc, msg);
}

static enum MHD_Result finish_put(sy_req *r) {
  if (r->op.rc) return put_refused(r);
  return sy__ssm_reply(
      r, 200, json_pack("{sI ss}", "Version", (json_int_t)r->op.out_version, "Tier", sy__tier_name(r->op.out_tier)));
}

static enum MHD_Result finish_empty(sy_req *r) {
  if (r->op.rc == SY_ENOTFOUND && (r->op.kind == SY_OP_TAG || r->op.kind == SY_OP_UNTAG))
    return sy__ssm_error(r, 400, "InvalidResourceId", "Invalid Resource Id");
  if (r->op.rc == SY_ENOTFOUND && r->op.kind == SY_OP_DELETE)
    return sy__ssm_error(r, 400, "ParameterNotFound", "Parameter %s not found.", given_name(r));
  if (r->op.rc == SY_ETAG_LIMIT)
    return sy__ssm_error(r, 400, "TooManyTagsError", "The Systems Manager resource can have a maximum of %d tags.",
                         SY_TAGS_MAX);
  if (r->op.rc) return sy__ssm_rc(r, r->op.rc, r->op.msg);
  return sy__ssm_reply(r, 200, json_object());
}

static int tag_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c >= 0x80 ||
         strchr("_.:/=+-@", c) != NULL;
}

/* Replies with SSM's refusal of member what (key or value) of tag i (from 1), or returns 0. */
static int tag_member_check(sy_req *r, size_t i, const char *what, const char *s, size_t min, size_t max) {
  size_t n = strlen(s);
  const char *why = NULL;
  char bound[64];
  if (n < min || n > max) {
    snprintf(bound, sizeof bound, "Member must have length %s than or equal to %zu", n < min ? "greater" : "less",
             n < min ? min : max);
    why = bound;
  }
  int ok = sy__utf8_valid(s, n);
  for (size_t k = 0; ok && k < n; k++) ok = tag_char((unsigned char)s[k]);
  if (!why && !ok) why = "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$";
  if (!why) return 0;
  return sy__ssm_error(r, 400, "ValidationException",
                       "1 validation error detected: Value '%s' at 'tags.%zu.member.%s' failed to satisfy constraint: "
                       "%s",
                       s, i, what, why),
         -1;
}

/* Tags [{Key, Value}] into an arena array, each checked as SSM does. */
static int tag_list(sy_req *r, json_t *b, sy_tag **out, int *n, int *present) {
  json_t *t = json_object_get(b, "Tags");
  *n = 0;
  *present = t && !json_is_null(t);
  if (!*present) return 0;
  if (!json_is_array(t)) return sy__ssm_error(r, 400, "SerializationException", "Tags must be a list"), -1;
  size_t cnt = json_array_size(t);
  if (cnt > 1000)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have "
                         "length less than or equal to 1000"),
           -1;
  sy_tag *tags = sy__arena_alloc(r->arena, (cnt + 1) * sizeof *tags);
  if (!tags) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  size_t i;
  json_t *e;
  json_array_foreach(t, i, e) {
    const char *k = NULL, *v = NULL;
    if (!json_is_object(e))
      return sy__ssm_error(r, 400, "SerializationException", "Tags[%zu] must be an object", i), -1;
    if (sy__ssm_str(r, e, "Key", &k) || sy__ssm_str(r, e, "Value", &v)) return -1;
    if (!k || !v)
      return sy__ssm_error(r, 400, "ValidationException",
                           "1 validation error detected: Value null at 'tags.%zu.member.%s' failed to satisfy "
                           "constraint: Member must not be null",
                           i + 1, k ? "value" : "key"),
             -1;
    if (tag_member_check(r, i + 1, "key", k, 1, SY_TAG_KEY_MAX) ||
        tag_member_check(r, i + 1, "value", v, 0, SY_TAG_VALUE_MAX))
      return -1;
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

/* ---- the SSM attributes of a put: DataType, KeyId, Policies ---- */

static int hex_run(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

/* An AMI id: "ami-" and 8 or 17 lowercase hex digits. */
static int ami_id(const char *v) {
  size_t n = strlen(v);
  return !strncmp(v, "ami-", 4) && (n == 12 || n == 21) && hex_run(v + 4, n - 4);
}

static int data_type_check(sy_req *r, const char *dtype, const char *value) {
  if (!dtype || !strcmp(dtype, "text") || !strcmp(dtype, "aws:ssm:integration")) return 0;
  if (!strcmp(dtype, "aws:ec2:image")) {
    if (ami_id(value)) return 0;
    return sy__ssm_error(r, 400, "ValidationException",
                         "Parameter value, %s, is not a valid EC2 image ID. An image ID has the format "
                         "ami-12345abcdeEXAMPLE.",
                         value),
           -1;
  }
  return sy__ssm_error(r, 400, "ValidationException",
                       "The following data type is not supported: %s (Data type names are all lowercase.)", dtype),
         -1;
}

/* A KMS key id, alias or ARN: 1..256 printable ASCII characters (a name of a key of this
 * store's own, "a key" say, is taken as the common emulators and tooling take it). Of the
 * AWS-managed aliases only alias/aws/ssm exists for Parameter Store: another names no key. */
static int key_id_check(sy_req *r, const char *keyid) {
  size_t n = strlen(keyid);
  if (n < 1 || n > SY_KEY_ID_MAX)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value '%.300s' at 'keyId' failed to satisfy constraint: Member "
                         "must have length %s than or equal to %d",
                         keyid, n < 1 ? "greater" : "less", n < 1 ? 1 : SY_KEY_ID_MAX),
           -1;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)keyid[i] < 0x20 || (unsigned char)keyid[i] > 0x7e)
      return sy__ssm_error(r, 400, "ValidationException",
                           "1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must "
                           "satisfy regular expression pattern: ^[\\x20-\\x7e]+$ (byte 0x%02x at position %zu)",
                           (unsigned char)keyid[i], i + 1),
             -1;
  const char *alias = !strncmp(keyid, "alias/aws/", 10) ? keyid : NULL;
  if (!alias && !strncmp(keyid, "arn:", 4) && strstr(keyid, ":alias/aws/")) alias = strstr(keyid, ":alias/aws/") + 1;
  if (alias && strcmp(alias + 10, "ssm")) {
    if (alias == keyid)
      return sy__ssm_error(r, 400, "InvalidKeyId", "Alias arn:aws:kms:%s:%s:%s is not found.", r->srv->aws_region,
                           r->srv->aws_account, keyid),
             -1;
    return sy__ssm_error(r, 400, "InvalidKeyId", "Alias %s is not found.", keyid), -1;
  }
  return 0;
}

#define SSM_POLICIES_MAX 10

static const char POLICY_TYPES[] =
    "The policy type isn't supported. Parameter Store supports the following policy types: Expiration, "
    "ExpirationNotification, and NoChangeNotification.";

static int policy_type_known(const char *t) {
  return !strcmp(t, "Expiration") || !strcmp(t, "ExpirationNotification") || !strcmp(t, "NoChangeNotification");
}

static int digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* YYYY-MM-DDThh:mm:ss, optional fraction, optional Z or ±hh:mm. */
static int iso8601(const char *s) {
  size_t n = strlen(s);
  if (n < 19 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) || s[10] != 'T' ||
      !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
    return 0;
  int mo = (s[5] - '0') * 10 + s[6] - '0', d = (s[8] - '0') * 10 + s[9] - '0', h = (s[11] - '0') * 10 + s[12] - '0';
  int mi = (s[14] - '0') * 10 + s[15] - '0', se = (s[17] - '0') * 10 + s[18] - '0';
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return 0;
  const char *p = s + 19;
  if (*p == '.') {
    size_t k = 1;
    while (p[k] >= '0' && p[k] <= '9') k++;
    if (k == 1) return 0;
    p += k;
  }
  if (*p == 'Z') return p[1] == 0;
  if (*p == '+' || *p == '-') return strlen(p) == 6 && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2);
  return *p == 0;
}

/* A positive whole number, as text ("15") or as a number. */
static int count_attr(json_t *v) {
  if (json_is_integer(v)) return json_integer_value(v) > 0;
  if (!json_is_string(v)) return 0;
  const char *s = json_string_value(v);
  size_t n = strlen(s);
  return n > 0 && n < 10 && digits(s, n) && strtol(s, NULL, 10) > 0;
}

static int policy_attr_refused(sy_req *r, const char *type, const char *attr, const char *why) {
  return sy__ssm_error(r, 400, "InvalidPolicyAttributeException",
                       "A policy attribute or its value is invalid: the %s attribute of the %s policy %s.", attr, type,
                       why),
         -1;
}

/* One policy object {"Type", "Version", "Attributes"}. */
static int policy_object_check(sy_req *r, json_t *o) {
  json_t *t = json_object_get(o, "Type"), *ver = json_object_get(o, "Version"), *a = json_object_get(o, "Attributes");
  if (!json_is_string(t) || !policy_type_known(json_string_value(t)))
    return sy__ssm_error(r, 400, "InvalidPolicyTypeException", "%s", POLICY_TYPES), -1;
  const char *type = json_string_value(t);
  if (ver && !(json_is_string(ver) && !strcmp(json_string_value(ver), "1.0")))
    return sy__ssm_error(r, 400, "InvalidPolicyAttributeException",
                         "A policy attribute or its value is invalid: the Version of the %s policy must be 1.0.", type),
           -1;
  if (!json_is_object(a)) return policy_attr_refused(r, type, "Attributes", "is required and must be an object");
  if (!strcmp(type, "Expiration")) {
    json_t *ts = json_object_get(a, "Timestamp");
    if (!json_is_string(ts) || !iso8601(json_string_value(ts)))
      return policy_attr_refused(r, type, "Timestamp", "must be an ISO 8601 timestamp");
    return 0;
  }
  const char *count = !strcmp(type, "ExpirationNotification") ? "Before" : "After";
  if (!count_attr(json_object_get(a, count))) return policy_attr_refused(r, type, count, "must be a positive number");
  json_t *u = json_object_get(a, "Unit");
  if (!json_is_string(u) || (strcmp(json_string_value(u), "Days") && strcmp(json_string_value(u), "Hours")))
    return policy_attr_refused(r, type, "Unit", "must be Days or Hours");
  return 0;
}

/* Policies: a JSON array of policy type names or policy objects. Text that is not JSON at
 * all holds no policies (*out ""), as SSM tooling expects; otherwise *out is the text. */
static int policies_check(sy_req *r, const char *text, const char **out) {
  json_error_t err;
  json_t *doc = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
  int rc = 0;
  *out = doc ? text : "";
  if (!doc) return 0;
  if (!json_is_array(doc)) {
    sy__ssm_error(r, 400, "InvalidPolicyTypeException", "%s", POLICY_TYPES);
    rc = -1;
    goto out;
  }
  if (json_array_size(doc) > SSM_POLICIES_MAX) {
    sy__ssm_error(r, 400, "PoliciesLimitExceededException",
                  "You specified more than the maximum number of allowed policies for the parameter. The maximum is "
                  "%d.",
                  SSM_POLICIES_MAX);
    rc = -1;
    goto out;
  }
  size_t i;
  json_t *e;
  json_array_foreach(doc, i, e) {
    if (json_is_string(e) && policy_type_known(json_string_value(e))) continue;
    if (json_is_object(e)) {
      if (policy_object_check(r, e)) {
        rc = -1;
        goto out;
      }
      continue;
    }
    sy__ssm_error(r, 400, "InvalidPolicyTypeException", "%s", POLICY_TYPES);
    rc = -1;
    goto out;
  }
out:
  json_decref(doc);
  return rc;
}

enum MHD_Result sy__ssm_put_parameter(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Name",           "Description", "Value", "Type",     "KeyId",    "Overwrite",
                                       "AllowedPattern", "Tags",        "Tier",  "Policies", "DataType", NULL};
  ssm_name n;
  const char *raw = NULL, *value = NULL, *type = NULL, *tier = NULL, *dtype = NULL, *desc = NULL, *pattern = NULL,
             *policies = NULL, *keyid = NULL;
  int overwrite = 0, has_tags = 0, ntags = 0;
  sy_tag *tags = NULL;
  if (sy__ssm_known(r, b, fields) || sy__ssm_str(r, b, "Name", &raw) || sy__ssm_str(r, b, "Value", &value) ||
      sy__ssm_str(r, b, "Type", &type) || sy__ssm_str(r, b, "Tier", &tier) || sy__ssm_str(r, b, "DataType", &dtype) ||
      sy__ssm_str(r, b, "Description", &desc) || sy__ssm_str(r, b, "AllowedPattern", &pattern) ||
      sy__ssm_str(r, b, "KeyId", &keyid) || sy__ssm_str(r, b, "Policies", &policies) ||
      sy__ssm_bool(r, b, "Overwrite", &overwrite) || tag_list(r, b, &tags, &ntags, &has_tags))
    return MHD_YES;
  /* in SSM's order: the members' constraints, then the request's rules, then the name */
  if (!raw)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must "
                         "not be null");
  if (!value)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must "
                         "not be null");
  if (!*value)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must "
                         "have length greater than or equal to 1.");
  sy_put *in = &r->op.put;
  in->if_version = -1;
  in->string_keeps_kind = 1;
  /* SSM's three types only; a document of another kind (a flag) is a String to SSM, and a
   * String written over it keeps its kind */
  if (type &&
      (!(in->kind = sy__kind_by_name(type) ? sy__kind_by_name(type)->kind : 0) || in->kind > SY_KIND_SECURESTRING))
    return sy__ssm_error(
        r, 400, "ValidationException",
        "1 validation error detected: Value '%.64s' at 'type' failed to satisfy constraint: Member must "
        "satisfy enum value set: [SecureString, StringList, String]",
        type);
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
  if (desc && strlen(desc) > SY_DESCRIPTION_MAX)
    return sy__ssm_error(
        r, 400, "ValidationException",
        "1 validation error detected: Value '%s' at 'description' failed to satisfy constraint: Member "
        "must have length less than or equal to %d",
        desc, SY_DESCRIPTION_MAX);
  if (pattern && strlen(pattern) > SY_PATTERN_MAX)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value '%s' at 'allowedPattern' failed to satisfy constraint: "
                         "Member must have length less than or equal to %d",
                         pattern, SY_PATTERN_MAX);
  if (has_tags && overwrite)
    return sy__ssm_error(r, 400, "ValidationException",
                         "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, "
                         "please remove overwrite flag. To update tags for an existing parameter, please use "
                         "AddTagsToResource or RemoveTagsFromResource.");
  if (sy__ssm_parse_name(r, raw, SSM_NAME_CREATE, &n) || data_type_check(r, dtype, value) ||
      (keyid && key_id_check(r, keyid)) || (policies && policies_check(r, policies, &policies)))
    return MHD_YES;
  /* a policy needs the advanced tier: Intelligent-Tiering picks it */
  if (tier && !strcmp(tier, "Intelligent-Tiering") && policies && *policies && strcmp(policies, "[]"))
    in->tier = SY_TIER_ADVANCED;
  /* the value, description and pattern are checked once, by the store's rules (finish_put
   * says it in SSM's words) */
  in->name = n.name;
  in->name_len = n.len;
  in->value = value;
  in->value_len = vlen;
  in->overwrite = overwrite;
  in->description = desc;
  in->allowed_pattern = pattern;
  in->key_id = keyid;
  in->data_type = dtype;
  in->policies = policies;
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
    char msg[SSM_MSG_MAX];
    const char *type;
    int again = 0;
    for (int j = 0; j < i; j++) again |= !strcmp(names[i], names[j]);
    if (again) continue; /* a name given twice is deleted once */
    if (sy__ssm_name_refusal(names[i], strlen(names[i]), 0, &type, msg, sizeof msg))
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

/* The store's refusal of a label operation in SSM's words. */
static enum MHD_Result label_refused(sy_req *r) {
  switch (r->op.rc) {
  case SY_ENOTFOUND: return sy__ssm_error(r, 400, "ParameterNotFound", "Parameter %s not found.", given_name(r));
  case SY_EVERSION_NOTFOUND:
    return sy__ssm_error(r, 400, "ParameterVersionNotFound",
                         "Systems Manager could not find version %" PRId64 " of %s. Verify the version and try again.",
                         r->op.version, given_name(r));
  case SY_ELABEL_LIMIT:
    return sy__ssm_error(r, 400, "ParameterVersionLabelLimitExceeded",
                         "An error occurred (ParameterVersionLabelLimitExceeded) when calling the "
                         "LabelParameterVersion operation: A parameter version can have maximum %d labels.Move one or "
                         "more labels to another version and try again.",
                         SY_LABELS_PER_VERSION);
  default: return sy__ssm_rc(r, r->op.rc, r->op.msg);
  }
}

static enum MHD_Result finish_label(sy_req *r) {
  if (r->op.rc) return label_refused(r);
  json_t *res = r->op.result;
  return sy__ssm_reply(r, 200,
                       json_pack("{sO sI}", "InvalidLabels", json_object_get(res, "invalid_labels"), "ParameterVersion",
                                 (json_int_t)r->op.out_version));
}

static enum MHD_Result finish_unlabel(sy_req *r) {
  if (r->op.rc) return label_refused(r);
  json_t *res = r->op.result;
  return sy__ssm_reply(r, 200,
                       json_pack("{sO sO}", "RemovedLabels", json_object_get(res, "removed"), "InvalidLabels",
                                 json_object_get(res, "invalid_labels")));
}

/* Labels one LabelParameterVersion may name: more than a version can carry, so that asking
 * for too many is ParameterVersionLabelLimitExceeded, as SSM answers, from the store's count. */
#define LABELS_ASKED_MAX 100

/* LabelParameterVersion (version optional: the latest) and UnlabelParameterVersion (version required). */
static enum MHD_Result labels_op(sy_req *r, json_t *b, int add) {
  static const char *const fields[] = {"Name", "ParameterVersion", "Labels", NULL};
  ssm_name n;
  int64_t version = 0;
  const char **labels;
  if (sy__ssm_known(r, b, fields) || sy__ssm_required_name(r, b, "Name", 0, &n) ||
      sy__ssm_int(r, b, "ParameterVersion", 1, INT64_MAX, &version) ||
      sy__ssm_strs(r, b, "Labels", 1, add ? LABELS_ASKED_MAX : SY_LABELS_PER_VERSION, &labels, &r->op.nstrs))
    return MHD_YES;
  if (!add && !version)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value 'null' at 'parameterVersion' failed to satisfy "
                         "constraint: Member must not be null");
  /* a label's length is a constraint of the request: one too long refuses it all (the store
   * reports the other bad labels one by one) */
  for (int i = 0; i < r->op.nstrs; i++) {
    size_t len = strlen(labels[i]);
    if (len < 1 || len > SY_LABEL_MAX)
      return sy__ssm_error(r, 400, "ValidationException",
                           "1 validation error detected: Value '[%s]' at 'labels' failed to satisfy constraint: "
                           "Member must satisfy constraint: [Member must have length less than or equal to 100, "
                           "Member must have length greater than or equal to 1]",
                           labels[i]);
  }
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

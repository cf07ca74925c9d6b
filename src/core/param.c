/* param.c — validation of parameter names, kinds, values, labels and tags. */
#include "core/param.h"

#include <jansson.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/civil.h"
#include "core/alert_rule.h"
#include "core/flag_kind.h"
#include "core/provider.h"
#include "core/rollout.h"

static sy_rc no_check(const char *value, size_t len, char *msg, size_t msgsz) {
  (void)value, (void)len, (void)msg, (void)msgsz;
  return SY_OK;
}

/* A StringList is comma-separated; SSM refuses empty items. */
static sy_rc stringlist_check(const char *value, size_t len, char *msg, size_t msgsz) {
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || value[i] == ',') {
      if (i == start) {
        snprintf(msg, msgsz, "StringList value has an empty item at byte %zu", start);
        return SY_EINVAL;
      }
      start = i + 1;
    }
  }
  return SY_OK;
}

/* The registry: the parameter kinds, then whatever registers at start-up. */
static sy_kind_def kinds[SY_KINDS_MAX] = {
    {.kind = SY_KIND_STRING, .name = "String", .validate = no_check},
    {.kind = SY_KIND_STRINGLIST, .name = "StringList", .validate = stringlist_check},
    {.kind = SY_KIND_SECURESTRING, .name = "SecureString", .validate = no_check},
    {.kind = SY_KIND_FLAG,
     .name = "Flag",
     .validate = no_check, /* checked as it compiles, against the flag's schema */
     .compile = sy__flag_kind_compile,
     .release = sy__flag_kind_release},
    {.kind = SY_KIND_PROVIDER,
     .name = "Provider",
     .value_max = SY_GATEWAY_DOC_MAX,
     .validate = no_check, /* checked as it compiles */
     .compile = sy__provider_kind_compile,
     .release = sy__provider_kind_release},
    {.kind = SY_KIND_ROUTE,
     .name = "Route",
     .value_max = SY_GATEWAY_DOC_MAX,
     .validate = no_check, /* checked as it compiles */
     .compile = sy__route_kind_compile,
     .release = sy__route_kind_release},
    {.kind = SY_KIND_LIMIT,
     .name = "Limit",
     .value_max = SY_GATEWAY_DOC_MAX,
     .validate = no_check, /* checked as it compiles */
     .compile = sy__limit_kind_compile,
     .release = sy__limit_kind_release},
    {.kind = SY_KIND_ROLLOUT,
     .name = "Rollout",
     .value_max = SY_ROLLOUT_DOC_MAX,
     .validate = no_check, /* checked as it compiles */
     .compile = sy__rollout_kind_compile,
     .release = sy__rollout_kind_release},
    {.kind = SY_KIND_ROLLOUT_STATE,
     .name = "RolloutState",
     .value_max = SY_ROLLOUT_DOC_MAX,
     .validate = no_check, /* checked as it compiles */
     .compile = sy__rollout_state_kind_compile,
     .release = sy__rollout_state_kind_release},
    {.kind = SY_KIND_ALERT_RULE,
     .name = "AlertRule",
     .value_max = SY_ALERT_RULE_DOC_MAX,
     .validate = no_check, /* checked as it compiles */
     .compile = sy__alert_rule_kind_compile,
     .release = sy__alert_rule_kind_release},
};
static size_t nkinds = 10;

sy_rc sy__kind_register(const sy_kind_def *def) {
  if (!def || !def->name || !def->validate) return SY_EINVAL;
  if (sy__kind_by_id(def->kind) || sy__kind_by_name(def->name)) return SY_EEXISTS;
  if (nkinds == SY_KINDS_MAX) return SY_ETOOLARGE;
  kinds[nkinds++] = *def;
  return SY_OK;
}

/* "alert_rule", "Alert-Rule" and "AlertRule" are one name: ASCII case, '_' and '-' aside. */
static int loose_equal(const char *a, const char *b) {
  for (;; a++, b++) {
    while (*a == '_' || *a == '-') a++;
    while (*b == '_' || *b == '-') b++;
    if (!*a || !*b) return !*a && !*b;
    char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a, y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
    if (x != y) return 0;
  }
}

const sy_kind_def *sy__kind_by_name(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < nkinds; i++)
    if (strcmp(kinds[i].name, name) == 0) return &kinds[i];
  /* the documents of Switchyard's own kinds (not SSM's types, which are exact) also go by a
   * looser spelling: "rollout", "alert_rule" */
  for (size_t i = 0; i < nkinds; i++)
    if (kinds[i].kind >= SY_KIND_FLAG && loose_equal(kinds[i].name, name)) return &kinds[i];
  return NULL;
}

const sy_kind_def *sy__kind_by_id(sy_kind kind) {
  for (size_t i = 0; i < nkinds; i++)
    if (kinds[i].kind == kind) return &kinds[i];
  return NULL;
}

const char *sy__kind_name(sy_kind kind) {
  const sy_kind_def *k = sy__kind_by_id(kind);
  return k ? k->name : "Unknown";
}

const char *sy__tier_name(sy_tier tier) { return tier == SY_TIER_ADVANCED ? "Advanced" : "Standard"; }

sy_tier sy__tier_parse(const char *s) {
  if (!s) return 0;
  if (strcmp(s, "Standard") == 0) return SY_TIER_STANDARD;
  if (strcmp(s, "Advanced") == 0) return SY_TIER_ADVANCED;
  return 0;
}

size_t sy__tier_value_max(sy_tier tier) {
  return tier == SY_TIER_ADVANCED ? SY_VALUE_MAX_ADVANCED : SY_VALUE_MAX_STANDARD;
}

static int name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-' || c == '/';
}

static int reserved_prefix(const char *s, size_t len) {
  return len >= 3 && (strncasecmp(s, "aws", 3) == 0 || strncasecmp(s, "ssm", 3) == 0);
}

int sy__name_levels(const char *name, size_t len) {
  int levels = 0;
  size_t i = (len && name[0] == '/') ? 1 : 0;
  if (i < len) levels = 1;
  for (; i < len; i++)
    if (name[i] == '/') levels++;
  return levels;
}

/* Shared by names and paths: characters, segments, reserved prefixes. kind is "name" or "path",
 * for the one message that speaks of what a valid one looks like. */
static sy_rc segments_check(const char *kind, const char *s, size_t len, char *msg, size_t msgsz) {
  for (size_t i = 0; i < len; i++) {
    if (!name_char(s[i])) {
      unsigned char c = (unsigned char)s[i];
      if (c >= 0x20 && c < 0x7f)
        snprintf(msg, msgsz, "invalid character '%c' at position %zu; allowed are a-zA-Z0-9_.-/", c, i + 1);
      else
        snprintf(msg, msgsz, "invalid byte 0x%02x at position %zu; allowed are a-zA-Z0-9_.-/", c, i + 1);
      return SY_EINVAL;
    }
  }
  if (len && s[0] != '/' && memchr(s, '/', len)) {
    snprintf(msg, msgsz, "a hierarchical %s must start with '/'", kind);
    return SY_EINVAL;
  }
  size_t seg = s[0] == '/' ? 1 : 0;
  for (size_t i = seg; i <= len; i++) {
    if (i < len && s[i] != '/') continue;
    size_t n = i - seg;
    if (n == 0 && i < len) {
      snprintf(msg, msgsz, "empty segment ('//') at position %zu", i + 1);
      return SY_EINVAL;
    }
    if ((n == 1 && s[seg] == '.') || (n == 2 && s[seg] == '.' && s[seg + 1] == '.')) {
      snprintf(msg, msgsz, "a '.' or '..' segment at position %zu", seg + 1);
      return SY_EINVAL;
    }
    seg = i + 1;
  }
  size_t first = s[0] == '/' ? 1 : 0;
  if (reserved_prefix(s + first, len - first)) {
    snprintf(msg, msgsz, "may not begin with \"aws\" or \"ssm\" (case-insensitive)");
    return SY_EINVAL;
  }
  return SY_OK;
}

sy_rc sy__name_check(const char *name, size_t len, char *msg, size_t msgsz) {
  if (len == 0) {
    snprintf(msg, msgsz, "may not be empty");
    return SY_EINVAL;
  }
  if (len > SY_NAME_MAX) {
    snprintf(msg, msgsz, "%zu characters; the limit is %d", len, SY_NAME_MAX);
    return SY_EINVAL;
  }
  if (name[len - 1] == '/') {
    snprintf(msg, msgsz, "may not end with '/'");
    return SY_EINVAL;
  }
  sy_rc rc = segments_check("name", name, len, msg, msgsz);
  if (rc) return rc;
  int levels = sy__name_levels(name, len);
  if (levels > SY_LEVELS_MAX) {
    snprintf(msg, msgsz, "%d hierarchy levels; the limit is %d", levels, SY_LEVELS_MAX);
    return SY_EHIERARCHY;
  }
  return SY_OK;
}

sy_rc sy__path_check(const char *path, size_t len, char *msg, size_t msgsz) {
  if (len == 0 || path[0] != '/') {
    snprintf(msg, msgsz, "must start with '/'");
    return SY_EINVAL;
  }
  if (len == 1) return SY_OK;
  if (len > SY_NAME_MAX) {
    snprintf(msg, msgsz, "%zu characters; the limit is %d", len, SY_NAME_MAX);
    return SY_EINVAL;
  }
  size_t n = path[len - 1] == '/' ? len - 1 : len;
  if (n > 0 && path[n - 1] == '/') {
    snprintf(msg, msgsz, "empty segment ('//') at position %zu", n);
    return SY_EINVAL;
  }
  sy_rc rc = segments_check("path", path, n, msg, msgsz);
  if (rc) return rc;
  if (sy__name_levels(path, n) > SY_LEVELS_MAX) {
    snprintf(msg, msgsz, "more than %d hierarchy levels", SY_LEVELS_MAX);
    return SY_EHIERARCHY;
  }
  return SY_OK;
}

sy_rc sy__value_check(sy_kind kind, sy_tier tier, const char *value, size_t len, char *msg, size_t msgsz) {
  const sy_kind_def *k = sy__kind_by_id(kind);
  if (!k) {
    snprintf(msg, msgsz, "unknown kind %d", (int)kind);
    return SY_EINVAL;
  }
  size_t max = k->value_max ? k->value_max : sy__tier_value_max(tier);
  if (len == 0) {
    snprintf(msg, msgsz, "value is empty; it must be 1 to %zu bytes", max);
    return SY_EINVAL;
  }
  if (len > max && !k->value_max) {
    snprintf(msg, msgsz, "value is %zu bytes; the %s tier allows at most %zu", len, sy__tier_name(tier), max);
    return SY_EINVAL;
  }
  if (len > max) {
    snprintf(msg, msgsz, "value is %zu bytes; a %s allows at most %zu", len, k->name, max);
    return SY_EINVAL;
  }
  if (!sy__utf8_valid(value, len)) {
    snprintf(msg, msgsz, "value is not valid UTF-8");
    return SY_EINVAL;
  }
  return k->validate(value, len, msg, msgsz);
}

sy_rc sy__version_check(sy_kind kind, sy_tier tier, const char *value, size_t len, const char *description,
                        const char *pattern, char *msg, size_t msgsz) {
  sy_rc rc = sy__value_check(kind, tier, value, len, msg, msgsz);
  const sy_kind_def *k = sy__kind_by_id(kind);
  if (rc == SY_EINVAL && k && !k->value_max && tier == SY_TIER_STANDARD && len > SY_VALUE_MAX_STANDARD &&
      len <= SY_VALUE_MAX_ADVANCED && sy__utf8_valid(value, len))
    return SY_ETIER; /* the Advanced tier would take it: the APIs say so */
  if (rc) return rc;
  if (description && strlen(description) > SY_DESCRIPTION_MAX) {
    snprintf(msg, msgsz, "description is longer than %d characters", SY_DESCRIPTION_MAX);
    return SY_EINVAL;
  }
  if (pattern && strlen(pattern) > SY_PATTERN_MAX) return sy__pattern_compile_check(pattern, msg, msgsz);
  /* compiled once: a pattern that does not compile is SY_EINVAL from the match */
  rc = sy__pattern_check(pattern, value, msg, msgsz);
  return rc == SY_EINVAL ? SY_EBADPATTERN : rc;
}

/* Allowed patterns are Java-style regular expressions, as in SSM (`^\d+$`, `(?:a|b)`):
 * PCRE2 reads that dialect. The match is a search, so anchors mean what they say;
 * a match limit keeps a hostile pattern from running away. */
static pcre2_code *pattern_compile(const char *pattern, char *msg, size_t msgsz) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
  if (!re && msg) {
    PCRE2_UCHAR why[128];
    pcre2_get_error_message(err, why, sizeof why);
    snprintf(msg, msgsz, "allowed_pattern is not a valid regular expression at offset %zu: %s", (size_t)off,
             (const char *)why);
  }
  return re;
}

sy_rc sy__pattern_compile_check(const char *pattern, char *msg, size_t msgsz) {
  if (!pattern || !*pattern) return SY_OK;
  if (strlen(pattern) > SY_PATTERN_MAX) {
    snprintf(msg, msgsz, "allowed_pattern is longer than %d characters", SY_PATTERN_MAX);
    return SY_EINVAL;
  }
  pcre2_code *re = pattern_compile(pattern, msg, msgsz);
  if (!re) return SY_EINVAL;
  pcre2_code_free(re);
  return SY_OK;
}

sy_rc sy__pattern_check(const char *pattern, const char *value, char *msg, size_t msgsz) {
  if (!pattern || !*pattern) return SY_OK;
  pcre2_code *re = pattern_compile(pattern, msg, msgsz);
  if (!re) return SY_EINVAL;
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
  pcre2_match_context *mc = pcre2_match_context_create(NULL);
  int m = -1;
  if (md && mc) {
    pcre2_set_match_limit(mc, 100000);
    pcre2_set_depth_limit(mc, 1000);
    m = pcre2_match(re, (PCRE2_SPTR)value, strlen(value), 0, 0, md, mc);
  }
  pcre2_match_context_free(mc);
  pcre2_match_data_free(md);
  pcre2_code_free(re);
  if (m == PCRE2_ERROR_MATCHLIMIT || m == PCRE2_ERROR_DEPTHLIMIT) {
    snprintf(msg, msgsz, "allowed_pattern %.200s takes too long to match this value", pattern);
    return SY_EPATTERN;
  }
  if (m < 0) {
    snprintf(msg, msgsz, "value does not match the allowed pattern %.200s", pattern);
    return SY_EPATTERN;
  }
  return SY_OK;
}

int sy__label_valid(const char *label) {
  size_t n = label ? strlen(label) : 0;
  if (n < 1 || n > SY_LABEL_MAX) return 0;
  if (label[0] >= '0' && label[0] <= '9') return 0;
  if (reserved_prefix(label, n)) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = label[i];
    if (!(name_char(c) && c != '/')) return 0;
  }
  return 1;
}

static int tag_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c >= 0x80 ||
         strchr("_.:/=+-@", c) != NULL;
}

sy_rc sy__tag_check(const char *key, const char *value, char *msg, size_t msgsz) {
  size_t kn = strlen(key), vn = value ? strlen(value) : 0;
  if (kn < 1 || kn > SY_TAG_KEY_MAX) {
    snprintf(msg, msgsz, "tag key must be 1 to %d characters", SY_TAG_KEY_MAX);
    return SY_EINVAL;
  }
  if (vn > SY_TAG_VALUE_MAX) {
    snprintf(msg, msgsz, "tag %.128s: value must be at most %d characters", key, SY_TAG_VALUE_MAX);
    return SY_EINVAL;
  }
  for (size_t i = 0; i < kn; i++)
    if (!tag_char((unsigned char)key[i])) {
      snprintf(msg, msgsz, "tag key %.128s has an invalid character at position %zu", key, i + 1);
      return SY_EINVAL;
    }
  for (size_t i = 0; i < vn; i++)
    if (!tag_char((unsigned char)value[i])) {
      snprintf(msg, msgsz, "tag %.128s: value has an invalid character at position %zu", key, i + 1);
      return SY_EINVAL;
    }
  if (!sy__utf8_valid(key, kn) || !sy__utf8_valid(value ? value : "", vn)) {
    snprintf(msg, msgsz, "tag %.128s is not valid UTF-8", key);
    return SY_EINVAL;
  }
  return SY_OK;
}

sy_rc sy__tags_check(const sy_tag *tags, int n, char *msg, size_t msgsz) {
  if (n > SY_TAGS_MAX) {
    snprintf(msg, msgsz, "%d tags; the limit is %d", n, SY_TAGS_MAX);
    return SY_ETAG_LIMIT;
  }
  for (int i = 0; i < n; i++) {
    sy_rc rc = sy__tag_check(tags[i].key, tags[i].value, msg, msgsz);
    if (rc) return rc;
  }
  return SY_OK;
}

/* ---- SSM's attributes of a version ---- */

static int hex_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

sy_rc sy__data_type_check(const char *data_type, const char *value, size_t len, char *msg, size_t msgsz) {
  if (!data_type || !*data_type || !strcmp(data_type, "text") || !strcmp(data_type, "aws:ssm:integration"))
    return SY_OK;
  if (strcmp(data_type, "aws:ec2:image")) {
    snprintf(msg, msgsz, "The following data type is not supported: %.*s (Data type names are all lowercase.)",
             SY_DATA_TYPE_MAX, data_type);
    return SY_EINVAL;
  }
  if (len >= 4 && !memcmp(value, "ami-", 4) && (len == 12 || len == 21) && hex_digits(value + 4, len - 4)) return SY_OK;
  snprintf(msg, msgsz,
           "Parameter value %.*s is not a valid EC2 image ID for the data type aws:ec2:image: an image ID is "
           "\"ami-\" and 8 or 17 hexadecimal digits (ami-0123456789abcdef0)",
           (int)(len > 64 ? 64 : len), value);
  return SY_EINVAL;
}

sy_rc sy__key_id_check(const char *key_id, char *msg, size_t msgsz) {
  size_t n = strlen(key_id);
  if (n == 0 || n > SY_KEY_ID_MAX) {
    snprintf(msg, msgsz,
             "1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length "
             "between 1 and %d",
             SY_KEY_ID_MAX);
    return SY_EINVAL;
  }
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)key_id[i] < 0x20 || (unsigned char)key_id[i] > 0x7e) {
      snprintf(msg, msgsz, "KeyId has a character that is not printable ASCII at position %zu", i + 1);
      return SY_EINVAL;
    }
  const char *alias = strstr(key_id, "alias/aws/");
  if (alias && (alias == key_id || alias[-1] == ':') && strcmp(alias, "alias/aws/ssm")) {
    snprintf(msg, msgsz, "Alias %.*s is not found.", SY_KEY_ID_MAX, key_id);
    return SY_EKEYID;
  }
  return SY_OK;
}

/* The string member key of o, or NULL. */
static const char *member(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* A positive whole number in text ("30"), as the notification policies give them. */
static int count_text(const char *s) {
  if (!s || !*s || strlen(s) > 9) return 0;
  long n = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    n = n * 10 + (*p - '0');
  }
  return n > 0;
}

static sy_rc policy_check(json_t *p, size_t i, int64_t *expires, char *msg, size_t msgsz) {
  static const char *const types[] = {"Expiration", "ExpirationNotification", "NoChangeNotification"};
  const char *type = json_is_string(p) ? json_string_value(p) : json_is_object(p) ? member(p, "Type") : NULL;
  int t = -1;
  for (int k = 0; type && k < 3; k++)
    if (!strcmp(type, types[k])) t = k;
  if (t < 0) {
    snprintf(msg, msgsz,
             "The policy type isn't supported. Parameter Store supports the following policy types: Expiration, "
             "ExpirationNotification, and NoChangeNotification. (Policies[%zu]%s%.64s)",
             i, type ? " is " : " has no Type", type ? type : "");
    return SY_EPOLICY_TYPE;
  }
  if (json_is_string(p)) return SY_OK; /* a policy named by its type alone: kept, with nothing to enforce */
  const char *version = member(p, "Version");
  json_t *attrs = json_object_get(p, "Attributes");
  if (json_object_get(p, "Version") && (!version || strcmp(version, "1.0"))) {
    snprintf(msg, msgsz, "A policy attribute or its value is invalid: Policies[%zu].Version must be \"1.0\"", i);
    return SY_EPOLICY_ATTR;
  }
  if (!json_is_object(attrs)) {
    snprintf(msg, msgsz, "A policy attribute or its value is invalid: Policies[%zu] (%s) needs an Attributes object", i,
             type);
    return SY_EPOLICY_ATTR;
  }
  if (t == 0) {
    const char *ts = member(attrs, "Timestamp");
    int64_t at = sy__parse_time(ts);
    if (at < 0) {
      snprintf(msg, msgsz,
               "A policy attribute or its value is invalid: Policies[%zu].Attributes.Timestamp must be an ISO 8601 "
               "time such as 2026-12-31T00:00:00.000Z, not %.64s",
               i, ts ? ts : "missing");
      return SY_EPOLICY_ATTR;
    }
    if (expires && (!*expires || at < *expires)) *expires = at > 0 ? at : 1;
    return SY_OK;
  }
  const char *amount = member(attrs, t == 1 ? "Before" : "After"), *unit = member(attrs, "Unit");
  if (!count_text(amount) || !unit || (strcmp(unit, "Days") && strcmp(unit, "Hours"))) {
    snprintf(msg, msgsz,
             "A policy attribute or its value is invalid: Policies[%zu] (%s) needs Attributes.%s, a positive "
             "number, and Attributes.Unit, Days or Hours",
             i, type, t == 1 ? "Before" : "After");
    return SY_EPOLICY_ATTR;
  }
  return SY_OK;
}

sy_rc sy__policies_check(const char *text, int64_t *expires_ms, char *msg, size_t msgsz) {
  if (expires_ms) *expires_ms = 0;
  if (!text || !*text) return SY_OK;
  size_t n = strlen(text);
  if (n > SY_POLICIES_MAX) {
    snprintf(msg, msgsz,
             "1 validation error detected: Value at 'policies' failed to satisfy constraint: Member must have length "
             "less than or equal to %d",
             SY_POLICIES_MAX);
    return SY_EINVAL;
  }
  json_t *a = json_loadb(text, n, JSON_DECODE_ANY, NULL);
  if (!a) return SY_OK; /* not JSON: kept, inert */
  sy_rc rc = SY_OK;
  if (!json_is_array(a)) {
    snprintf(msg, msgsz, "Policies must be a JSON array of parameter policies, not a JSON %s",
             json_is_object(a) ? "object" : "scalar");
    rc = SY_EINVAL;
  } else if (json_array_size(a) > SY_POLICIES_COUNT_MAX) {
    snprintf(msg, msgsz,
             "You specified more than the maximum number of allowed policies for the parameter. The maximum is %d.",
             SY_POLICIES_COUNT_MAX);
    rc = SY_EINVAL;
  }
  size_t i;
  json_t *p;
  json_array_foreach(a, i, p) {
    if (rc) break;
    rc = policy_check(p, i, expires_ms, msg, msgsz);
  }
  json_decref(a);
  return rc;
}

int64_t sy__policies_expiry(const char *text) {
  char msg[SY_MSG_MAX];
  int64_t at = 0;
  return sy__policies_check(text, &at, msg, sizeof msg) ? 0 : at;
}

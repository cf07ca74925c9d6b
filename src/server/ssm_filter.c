/* ssm_filter.c — the parameter filters of DescribeParameters and GetParametersByPath: read
 * from the request, checked with SSM's errors and messages (clients match on their text),
 * and matched against a parameter. */
#include "server/ssm_filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/ssm.h"
#include "server/ssm_int.h"

/* The constraints of the request's shape (ParameterStringFilter, ParametersFilter). */
#define KEY_MAX 132
#define OPTION_MAX 10
#define VALUES_MAX 50
#define VALUE_MAX 1024
/* The deprecated Filters: every one must match, so their number bounds the work of each
 * parameter listed (ParameterFilters are bounded by refusing a repeated key). */
#define OLD_FILTERS_MAX 50

#define KEY_PATTERN "tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType"
#define VALUE_CONSTRAINT                                                                                          \
  "Member must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length " \
  "greater than or equal to 1]"
#define MSG_CAP 1024 /* what an error reply carries of a message */
/* A value shown in a message is cut to this many bytes, so that the constraint it failed
 * (which scripts match on) and the other faults still fit in MSG_CAP. */
#define SHOWN_MAX 384

static const struct {
  const char *name;
  ssm_fkey key;
} key_names[] = {{"Name", SSM_FKEY_NAME},  {"Type", SSM_FKEY_TYPE}, {"KeyId", SSM_FKEY_KEYID},
                 {"Path", SSM_FKEY_PATH},  {"Tier", SSM_FKEY_TIER}, {"DataType", SSM_FKEY_DATATYPE},
                 {"Label", SSM_FKEY_LABEL}};

/* ---- the text of a request ---- */

/* The length of a UTF-8 string as SSM counts it: in UTF-16 code units. */
static size_t units(const char *s) {
  size_t n = 0;
  for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
    if ((*u & 0xc0) != 0x80) n++;
    if (*u >= 0xf0) n++; /* outside the BMP: a surrogate pair */
  }
  return n;
}

/* Whether s holds a line terminator, which a pattern's "." does not match. */
static int has_line_end(const char *s) {
  return strpbrk(s, "\n\r") || strstr(s, "\xc2\x85") || strstr(s, "\xe2\x80\xa8") || strstr(s, "\xe2\x80\xa9");
}

/* Parses a ParameterStringFilter key; 0 when it matches KEY_PATTERN. */
static int key_parse(const char *k, ssm_fkey *key, const char **tag) {
  *tag = NULL;
  if (!strncmp(k, "tag:", 4) && k[4] && !has_line_end(k + 4)) {
    *key = SSM_FKEY_TAG;
    *tag = k + 4;
    return 0;
  }
  for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
    if (!strcmp(k, key_names[i].name)) {
      *key = key_names[i].key;
      return 0;
    }
  return -1;
}

static int starts(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

/* A name without its leading slashes: "foo" and "/foo" are the same root name. */
static const char *bare(const char *name) {
  while (*name == '/') name++;
  return name;
}

/* ---- the constraints: every failure, in one ValidationException ---- */

typedef struct faults {
  char text[MSG_CAP];
  size_t len;
  int count;
} faults;

static void fault(faults *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fault(faults *e, const char *fmt, ...) {
  size_t cap = sizeof e->text;
  if (e->count++ && e->len < cap - 1) e->len += (size_t)snprintf(e->text + e->len, cap - e->len, "; ");
  if (e->len >= cap - 1) {
    e->len = cap - 1;
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(e->text + e->len, cap - e->len, fmt, ap);
  va_end(ap);
  e->len = k < 0 || (size_t)k >= cap - e->len ? cap - 1 : e->len + (size_t)k;
}

/* s as a message shows it: at most SHOWN_MAX bytes, cut between characters, "..." when cut;
 * out is used only when s is cut. */
static const char *shown(const char *s, char out[SHOWN_MAX + 4]) {
  size_t n = strlen(s);
  if (n <= SHOWN_MAX) return s;
  n = SHOWN_MAX;
  while (n && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
  (void)snprintf(out, SHOWN_MAX + 4, "%.*s...", (int)n, s);
  return out;
}

/* A list of strings as SSM writes it in a message, "[a, b]", into out, cut as shown() cuts. */
static void list_text(json_t *vals, char out[SHOWN_MAX + 4]) {
  char all[SHOWN_MAX + 8];
  size_t n = 1, i;
  json_t *v;
  all[0] = '[';
  all[1] = 0;
  json_array_foreach(vals, i, v) {
    int k = snprintf(all + n, sizeof all - n, "%s%s", i ? ", " : "", json_string_value(v));
    if (k < 0 || (size_t)k >= sizeof all - n) {
      n = sizeof all - 1;
      break;
    }
    n += (size_t)k;
  }
  if (n < sizeof all - 1) (void)snprintf(all + n, sizeof all - n, "]");
  const char *t = shown(all, out);
  if (t == all) memcpy(out, all, strlen(all) + 1);
}

static void values_faults(faults *e, json_t *vals, const char *list, int i) {
  char text[SHOWN_MAX + 4];
  list_text(vals, text);
  size_t n = json_array_size(vals), j;
  json_t *v;
  if (n == 0)
    fault(e,
          "Value '[]' at '%s.%d.member.values' failed to satisfy constraint: Member must have length greater than "
          "or equal to 1",
          list, i);
  if (n > VALUES_MAX)
    fault(e,
          "Value '%s' at '%s.%d.member.values' failed to satisfy constraint: Member must have length less than or "
          "equal to %d",
          text, list, i, VALUES_MAX);
  json_array_foreach(vals, j, v) {
    size_t u = units(json_string_value(v));
    if (u < 1 || u > VALUE_MAX) {
      fault(e, "Value '%s' at '%s.%d.member.values' failed to satisfy constraint: " VALUE_CONSTRAINT, text, list, i);
      break;
    }
  }
}

/* The shape's constraints on ParameterFilters[i-1] f (types already checked). */
static void string_filter_faults(faults *e, json_t *f, int i) {
  json_t *k = json_object_get(f, "Key"), *o = json_object_get(f, "Option"), *vals = json_object_get(f, "Values");
  char buf[SHOWN_MAX + 4];
  if (!json_is_string(k)) {
    fault(e, "Value null at 'parameterFilters.%d.member.key' failed to satisfy constraint: Member must not be null", i);
  } else {
    const char *key = json_string_value(k), *tag, *show = shown(key, buf);
    ssm_fkey fk;
    size_t u = units(key);
    if (key_parse(key, &fk, &tag))
      fault(e,
            "Value '%s' at 'parameterFilters.%d.member.key' failed to satisfy constraint: Member must satisfy "
            "regular expression pattern: " KEY_PATTERN,
            show, i);
    if (u > KEY_MAX)
      fault(e,
            "Value '%s' at 'parameterFilters.%d.member.key' failed to satisfy constraint: Member must have length "
            "less than or equal to %d",
            show, i, KEY_MAX);
    if (u < 1)
      fault(e,
            "Value '%s' at 'parameterFilters.%d.member.key' failed to satisfy constraint: Member must have length "
            "greater than or equal to 1",
            show, i);
  }
  if (json_is_string(o)) {
    const char *show = shown(json_string_value(o), buf);
    size_t u = units(json_string_value(o));
    if (u > OPTION_MAX)
      fault(e,
            "Value '%s' at 'parameterFilters.%d.member.option' failed to satisfy constraint: Member must have "
            "length less than or equal to %d",
            show, i, OPTION_MAX);
    if (u < 1)
      fault(e,
            "Value '%s' at 'parameterFilters.%d.member.option' failed to satisfy constraint: Member must have "
            "length greater than or equal to 1",
            show, i);
  }
  if (json_is_array(vals)) values_faults(e, vals, "parameterFilters", i);
}

/* The shape's constraints on Filters[i-1] f (the deprecated ParametersFilter). */
static void old_filter_faults(faults *e, json_t *f, int i) {
  json_t *k = json_object_get(f, "Key"), *vals = json_object_get(f, "Values");
  char buf[SHOWN_MAX + 4];
  if (!json_is_string(k))
    fault(e, "Value null at 'filters.%d.member.key' failed to satisfy constraint: Member must not be null", i);
  else if (strcmp(json_string_value(k), "Name") && strcmp(json_string_value(k), "Type") &&
           strcmp(json_string_value(k), "KeyId"))
    fault(e,
          "Value '%s' at 'filters.%d.member.key' failed to satisfy constraint: Member must satisfy enum value set: "
          "[Name, Type, KeyId]",
          shown(json_string_value(k), buf), i);
  if (!json_is_array(vals))
    fault(e, "Value null at 'filters.%d.member.values' failed to satisfy constraint: Member must not be null", i);
  else
    values_faults(e, vals, "filters", i);
}

/* ---- the types of a request's filters ---- */

static int want_string(sy_req *r, json_t *f, const char *list, size_t i, const char *field) {
  json_t *v = json_object_get(f, field);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v))
    return sy__ssm_error(r, 400, "SerializationException", "%s[%zu].%s must be a string, not %s", list, i, field,
                         sy__json_type_name(v)),
           -1;
  if (strlen(json_string_value(v)) != json_string_length(v))
    return sy__ssm_error(r, 400, "ValidationException", "%s[%zu].%s contains a NUL character", list, i, field), -1;
  return 0;
}

/* Checks that list is a list of filter objects of the right types (fields: the fields a
 * filter may have, Values last); SerializationException otherwise. Null stands for absent. */
static int check_types(sy_req *r, json_t *fs, const char *list, const char *const *fields) {
  if (!fs) return 0;
  if (!json_is_array(fs))
    return sy__ssm_error(r, 400, "SerializationException", "%s must be a list, not %s", list, sy__json_type_name(fs)),
           -1;
  size_t i, j;
  json_t *f, *v;
  json_array_foreach(fs, i, f) {
    if (!json_is_object(f))
      return sy__ssm_error(r, 400, "SerializationException", "%s[%zu] must be an object, not %s", list, i,
                           sy__json_type_name(f)),
             -1;
    const char *k;
    json_object_foreach(f, k, v) {
      int ok = 0;
      for (const char *const *x = fields; *x; x++) ok |= !strcmp(*x, k);
      if (!ok)
        return sy__ssm_error(r, 400, "SerializationException", "Unknown field %.100s in %s[%zu]", k, list, i), -1;
    }
    for (const char *const *x = fields; x[1]; x++)
      if (want_string(r, f, list, i, *x)) return -1;
    json_t *vals = json_object_get(f, "Values");
    if (!vals || json_is_null(vals)) continue;
    if (!json_is_array(vals))
      return sy__ssm_error(r, 400, "SerializationException", "%s[%zu].Values must be a list, not %s", list, i,
                           sy__json_type_name(vals)),
             -1;
    json_array_foreach(vals, j, v) {
      if (!json_is_string(v))
        return sy__ssm_error(r, 400, "SerializationException", "%s[%zu].Values[%zu] must be a string, not %s", list, i,
                             j, sy__json_type_name(v)),
               -1;
      if (strlen(json_string_value(v)) != json_string_length(v))
        return sy__ssm_error(r, 400, "ValidationException", "%s[%zu].Values[%zu] contains a NUL character", list, i, j),
               -1;
    }
  }
  return 0;
}

/* ---- what the filters mean ---- */

/* The strings of a Values list, in the arena; *n their number. */
static const char **values_of(sy_req *r, json_t *vals, int *n) {
  size_t cnt = json_array_size(vals), i;
  json_t *v;
  const char **a = sy__arena_alloc(r->arena, (cnt + 1) * sizeof *a);
  if (!a) return NULL;
  json_array_foreach(vals, i, v) a[i] = json_string_value(v);
  *n = (int)cnt;
  return a;
}

/* A filter's key and its place in the request, to sort. */
typedef struct keyed {
  const char *key;
  size_t at;
} keyed;

static int keyed_cmp(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* For each of the n filters of list (keys all strings), whether an earlier one has the same
 * key: sorted rather than hashed, so that no choice of keys makes it slow. In the arena;
 * NULL on ENOMEM. */
static unsigned char *repeats_of(sy_req *r, json_t *list, size_t n) {
  keyed *k = sy__arena_alloc(r->arena, n * sizeof *k);
  unsigned char *rep = sy__arena_alloc(r->arena, n);
  if (!k || !rep) return NULL;
  size_t i;
  json_t *f;
  json_array_foreach(list, i, f) k[i] = (keyed){json_string_value(json_object_get(f, "Key")), i};
  qsort(k, n, sizeof *k, keyed_cmp);
  for (i = 0; i < n; i++) rep[k[i].at] = i > 0 && !strcmp(k[i - 1].key, k[i].key);
  return rep;
}

static int path_value_ok(const char *v) {
  if (v[0] != '/' || strstr(v, "//")) return 0;
  for (const char *c = v; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
          *c == '-' || *c == '/'))
      return 0;
  return 1;
}

static int reserved_path(const char *v) { return !strncasecmp(v, "/aws", 4) || !strncasecmp(v, "/ssm", 4); }

static int refuse(sy_req *r, const char *type, const char *msg) {
  sy__ssm_reply_error(r, 400, type, msg);
  return -1;
}

/* The checks of a Path filter's option and values. */
static int path_check(sy_req *r, ssm_filter *d, const char *option) {
  if (option && strcmp(option, "Recursive") && strcmp(option, "OneLevel"))
    return sy__ssm_error(r, 400, "InvalidFilterOption",
                         "The following filter option is not valid: %s. Valid options include: [Recursive, OneLevel].",
                         option),
           -1;
  d->opt = option && !strcmp(option, "Recursive") ? SSM_FOPT_RECURSIVE : SSM_FOPT_ONELEVEL;
  for (int k = 0; k < d->nv; k++)
    if (reserved_path(d->vals[k]))
      return refuse(r, "ValidationException",
                    "Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). "
                    "When using global parameters, please specify within a global namespace.");
  for (int k = 0; k < d->nv; k++)
    if (!path_value_ok(d->vals[k]))
      return refuse(r, "ValidationException",
                    "The parameter doesn't meet the parameter name requirements. The parameter name must begin with "
                    "a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must "
                    "use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). "
                    "Special characters are not allowed. All sub-paths, if specified, must use the forward slash "
                    "symbol \"/\". Valid example: /get/parameters2-/by1./path0_.");
  return 0;
}

/* Every value of d is one of set (n names), or the InvalidFilterValue naming them (in list). */
static int values_in(sy_req *r, const ssm_filter *d, const char *const *set, int n, const char *list) {
  for (int k = 0; k < d->nv; k++) {
    int ok = 0;
    for (int s = 0; s < n; s++) ok |= !strcmp(d->vals[k], set[s]);
    if (!ok)
      return sy__ssm_error(r, 400, "InvalidFilterValue",
                           "The following filter value is not valid: %s. Valid values include: [%s].", d->vals[k],
                           list),
             -1;
  }
  return 0;
}

/* What ParameterFilters[i] means for op, checked in SSM's order; d filled. */
static int string_filter(sy_req *r, json_t *f, ssm_filter_op op, ssm_filter *d, int repeated) {
  const char *key = json_string_value(json_object_get(f, "Key"));
  json_t *o = json_object_get(f, "Option"), *vals = json_object_get(f, "Values");
  const char *option = json_is_string(o) ? json_string_value(o) : NULL;
  (void)key_parse(key, &d->key, &d->tag); /* the pattern was checked with the constraints */
  if (op == SSM_FILTERS_DESCRIBE && d->key == SSM_FKEY_LABEL)
    return refuse(r, "InvalidFilterKey",
                  "The following filter key is not valid: Label. Valid filter keys include: [Path, Name, Type, KeyId, "
                  "Tier].");
  if (op == SSM_FILTERS_BY_PATH &&
      (d->key == SSM_FKEY_NAME || d->key == SSM_FKEY_PATH || d->key == SSM_FKEY_TIER || d->key == SSM_FKEY_DATATYPE))
    return sy__ssm_error(r, 400, "InvalidFilterKey",
                         "The following filter key is not valid: %s. Valid filter keys include: [Type, KeyId].", key),
           -1;
  if (d->key != SSM_FKEY_TAG && !json_is_array(vals))
    return sy__ssm_error(r, 400, "InvalidFilterValue",
                         "The following filter values are missing : null for filter key %s.", key),
           -1;
  if (repeated)
    return sy__ssm_error(r, 400, "InvalidFilterKey",
                         "The following filter is duplicated in the request: %s. A request can contain only one "
                         "occurrence of a specific filter.",
                         key),
           -1;
  d->nv = 0;
  d->vals = json_is_array(vals) ? values_of(r, vals, &d->nv) : NULL;
  if (json_is_array(vals) && !d->vals) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  if (d->key == SSM_FKEY_PATH) return path_check(r, d, option);
  static const char *const tiers[] = {"Standard", "Advanced", "Intelligent-Tiering"};
  static const char *const types[] = {"String", "StringList", "SecureString"};
  if (d->key == SSM_FKEY_TIER && values_in(r, d, tiers, 3, "Standard, Advanced, Intelligent-Tiering")) return -1;
  if (d->key == SSM_FKEY_TYPE && values_in(r, d, types, 3, "String, StringList, SecureString")) return -1;
  int label_only = op == SSM_FILTERS_BY_PATH && d->key == SSM_FKEY_LABEL;
  if (!option || !strcmp(option, "Equals"))
    d->opt = SSM_FOPT_EQUALS;
  else if (!strcmp(option, "BeginsWith") && !label_only)
    d->opt = SSM_FOPT_BEGINSWITH;
  else if (!strcmp(option, "Contains") && op == SSM_FILTERS_DESCRIBE && d->key == SSM_FKEY_NAME)
    d->opt = SSM_FOPT_CONTAINS;
  else
    return sy__ssm_error(r, 400, "InvalidFilterOption",
                         "The following filter option is not valid: %s. Valid options include: [%s].", option,
                         label_only ? "Equals" : "BeginsWith, Equals"),
           -1;
  return 0;
}

/* The deprecated Filters[i]: Name begins with, Type and KeyId equal. */
static int old_filter(sy_req *r, json_t *f, ssm_filter *d) {
  const char *key = json_string_value(json_object_get(f, "Key"));
  d->key = !strcmp(key, "Name") ? SSM_FKEY_NAME : !strcmp(key, "Type") ? SSM_FKEY_TYPE : SSM_FKEY_KEYID;
  d->opt = d->key == SSM_FKEY_NAME ? SSM_FOPT_BEGINSWITH : SSM_FOPT_EQUALS;
  d->tag = NULL;
  d->vals = values_of(r, json_object_get(f, "Values"), &d->nv);
  if (!d->vals) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  return 0;
}

int sy__ssm_filters_read(sy_req *r, json_t *b, ssm_filter_op op, ssm_filters *out) {
  static const char *const string_fields[] = {"Key", "Option", "Values", NULL};
  static const char *const old_fields[] = {"Key", "Values", NULL};
  json_t *olds = op == SSM_FILTERS_DESCRIBE ? json_object_get(b, "Filters") : NULL;
  json_t *news = json_object_get(b, "ParameterFilters");
  memset(out, 0, sizeof *out);
  if (json_is_null(olds)) olds = NULL;
  if (json_is_null(news)) news = NULL;
  if (check_types(r, olds, "Filters", old_fields) || check_types(r, news, "ParameterFilters", string_fields)) return -1;
  if (json_array_size(olds) > OLD_FILTERS_MAX)
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value at 'filters' failed to satisfy constraint: Member must "
                         "have length less than or equal to %d",
                         OLD_FILTERS_MAX),
           -1;

  faults e = {.len = 0};
  size_t i;
  json_t *f;
  json_array_foreach(olds, i, f) old_filter_faults(&e, f, (int)i + 1);
  json_array_foreach(news, i, f) string_filter_faults(&e, f, (int)i + 1);
  if (e.count)
    return sy__ssm_error(r, 400, "ValidationException", "%d validation error%s detected: %s", e.count,
                         e.count > 1 ? "s" : "", e.text),
           -1;
  if (json_array_size(olds) && json_array_size(news))
    return refuse(r, "ValidationException", "You can use either Filters or ParameterFilters in a single request.");

  json_t *list = json_array_size(olds) ? olds : news;
  size_t n = json_array_size(list);
  if (!n) return 0;
  out->f = sy__arena_alloc(r->arena, n * sizeof *out->f);
  unsigned char *repeated = list == news ? repeats_of(r, news, n) : NULL;
  if (!out->f || (list == news && !repeated)) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  json_array_foreach(list, i, f) {
    ssm_filter *d = &out->f[out->n];
    if (list == olds ? old_filter(r, f, d) : string_filter(r, f, op, d, repeated[i])) return -1;
    if (d->key == SSM_FKEY_LABEL) out->label = d;
    out->n++;
  }
  return 0;
}

/* ---- matching ---- */

/* Whether s equals (or begins with, as f's option says) one of f's values. */
static int match_text(const ssm_filter *f, const char *s) {
  for (int i = 0; i < f->nv; i++)
    if (f->opt == SSM_FOPT_BEGINSWITH ? starts(s, f->vals[i]) : !strcmp(s, f->vals[i])) return 1;
  return 0;
}

/* Name compares "/" + the bare name with "/" + the bare value; Contains looks for the value
 * as given in "/" + the bare name. */
static int match_name(const ssm_filter *f, const char *name) {
  const char *n = bare(name);
  for (int i = 0; i < f->nv; i++) {
    const char *v = f->vals[i];
    switch (f->opt) {
    case SSM_FOPT_CONTAINS:
      if ((v[0] == '/' && starts(n, v + 1)) || strstr(n, v)) return 1;
      break;
    case SSM_FOPT_BEGINSWITH:
      if (starts(n, bare(v))) return 1;
      break;
    default:
      if (!strcmp(n, bare(v))) return 1;
      break;
    }
  }
  return 0;
}

/* Path: the names right below a value (OneLevel) or anywhere below it (Recursive); "/" is
 * the root, whose children are the names of one level, with or without their slash. */
static int match_path(const ssm_filter *f, const char *name) {
  const char *n = bare(name);
  int recursive = f->opt == SSM_FOPT_RECURSIVE;
  for (int i = 0; i < f->nv; i++) {
    const char *v = bare(f->vals[i]);
    size_t vl = strlen(v);
    while (vl && v[vl - 1] == '/') vl--;
    if (vl == 0) {
      if (recursive || !strchr(n, '/')) return 1;
      continue;
    }
    if (strncmp(n, v, vl) || n[vl] != '/') continue;
    if (recursive || !strchr(n + vl + 1, '/')) return 1;
  }
  return 0;
}

static int match_one(const ssm_filter *f, const sy_param *p, const sy_ver *v) {
  switch (f->key) {
  case SSM_FKEY_NAME: return match_name(f, p->name);
  case SSM_FKEY_PATH: return match_path(f, p->name);
  case SSM_FKEY_TYPE: return match_text(f, sy__ssm_type_name(v->kind));
  case SSM_FKEY_TIER: return match_text(f, sy__tier_name(v->tier));
  case SSM_FKEY_DATATYPE: return match_text(f, v->data_type[0] ? v->data_type : "text");
  case SSM_FKEY_KEYID:
    return v->kind == SY_KIND_SECURESTRING && match_text(f, v->key_id[0] ? v->key_id : "alias/aws/ssm");
  case SSM_FKEY_LABEL:
    for (int i = 0; i < f->nv; i++)
      if (sy__ver_has_label(v, f->vals[i])) return 1;
    return 0;
  case SSM_FKEY_TAG: {
    const char *val = sy__param_tag(p, f->tag);
    return val && (f->nv == 0 || match_text(f, val));
  }
  }
  return 0;
}

const sy_ver *sy__ssm_filters_version(const ssm_filters *fs, const sy_param *p) {
  if (!fs->label) return p->latest;
  for (int i = 0; i < fs->label->nv; i++) {
    const sy_ver *v = sy__param_find_label(p, fs->label->vals[i]);
    if (v) return v;
  }
  return NULL;
}

int sy__ssm_filters_match(const ssm_filters *fs, const sy_param *p, const sy_ver *v) {
  for (int i = 0; i < fs->n; i++)
    if (!match_one(&fs->f[i], p, v)) return 0;
  return 1;
}

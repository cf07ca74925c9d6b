/* flag.c — feature flags: the document compiled once against its schema, then evaluated
 * for a context without allocating (flag.h). The operators live in flag_match.c. */
#include "core/flag_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG(...) snprintf(msg, msgsz, __VA_ARGS__)

static const char *const own_keys[] = {"enabled", "rollout_percentage", "salt",  "variants",
                                       "weights", "default_variant",    "rules", "env_override",
                                       "config"};

static int own_key(const char *k) {
  for (size_t i = 0; i < sizeof own_keys / sizeof own_keys[0]; i++)
    if (strcmp(k, own_keys[i]) == 0) return 1;
  return 0;
}

/* A JSON value as short text for a message: numbers in their shortest form, the rest as
 * compact JSON (cut at outsz). */
static void value_text(const json_t *v, char *out, size_t outsz) {
  if (json_is_number(v)) {
    sy__flag_fmt_json_num(v, out, outsz);
    return;
  }
  size_t n = json_dumpb(v, out, outsz - 1, JSON_ENCODE_ANY | JSON_COMPACT);
  out[n < outsz - 1 ? n : outsz - 1] = 0;
}

static int num_equal(const json_t *a, const json_t *b) {
  if (json_is_number(a) && json_is_number(b)) return json_number_value(a) == json_number_value(b);
  return json_equal(a, b);
}

/* A percentage 0..100 with at most two decimals, in hundredths. 0, or -1 with msg. */
static int percentage_parse(const char *field, const json_t *v, int *cents, char *msg, size_t msgsz) {
  char t[40];
  if (!json_is_number(v)) {
    MSG("%s: must be a number", field);
    return -1;
  }
  double d = json_number_value(v);
  value_text(v, t, sizeof t);
  if (d > 100) {
    MSG("%s: %s is above the maximum 100", field, t);
    return -1;
  }
  if (d < 0) {
    MSG("%s: %s is below the minimum 0", field, t);
    return -1;
  }
  double c = round(d * 100.0);
  if (fabs(d * 100.0 - c) > 1e-6) {
    MSG("%s: at most two decimals", field);
    return -1;
  }
  *cents = (int)c;
  return 0;
}

/* ---- schema ---- */

static const char *const schema_types[] = {"number", "integer", "string", "boolean"};

static int type_is(const json_t *v, const char *type) {
  if (strcmp(type, "number") == 0) return json_is_number(v);
  if (strcmp(type, "integer") == 0)
    return json_is_integer(v) ||
           (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) && fabs(json_real_value(v)) < 9e15);
  if (strcmp(type, "string") == 0) return json_is_string(v);
  return json_is_boolean(v);
}

/* Checks a parsed schema; messages name "schema.<field>.<key>". */
static sy_rc schema_check_json(const json_t *s, char *msg, size_t msgsz) {
  const char *field;
  const json_t *spec;
  if (!json_is_object(s)) {
    MSG("schema: must be a JSON object");
    return SY_EINVAL;
  }
  json_object_foreach((json_t *)s, field, spec) {
    const char *k, *type = NULL;
    const json_t *v;
    if (!json_is_object(spec)) {
      MSG("schema.%.100s: must be an object", field);
      return SY_EINVAL;
    }
    const json_t *t = json_object_get(spec, "type");
    if (!t) {
      MSG("schema.%.100s.type: required", field);
      return SY_EINVAL;
    }
    for (size_t i = 0; i < 4 && json_is_string(t); i++)
      if (strcmp(json_string_value(t), schema_types[i]) == 0) type = schema_types[i];
    if (!type) {
      char tt[80];
      value_text(t, tt, sizeof tt);
      MSG("schema.%.100s.type: unknown type %s (number, integer, string or boolean)", field, tt);
      return SY_EINVAL;
    }
    json_object_foreach((json_t *)spec, k, v) {
      int numeric = strcmp(type, "number") == 0 || strcmp(type, "integer") == 0;
      if (strcmp(k, "type") == 0) continue;
      if (strcmp(k, "min") == 0 || strcmp(k, "max") == 0) {
        if (!numeric) {
          MSG("schema.%.100s.%s: only number and integer fields have one", field, k);
          return SY_EINVAL;
        }
        if (!json_is_number(v)) {
          MSG("schema.%.100s.%s: must be a number", field, k);
          return SY_EINVAL;
        }
      } else if (strcmp(k, "enum") == 0) {
        size_t i;
        const json_t *e;
        if (!json_is_array(v) || !json_array_size(v)) {
          MSG("schema.%.100s.enum: must be a non-empty array", field);
          return SY_EINVAL;
        }
        json_array_foreach(v, i, e) if (!type_is(e, type)) {
          MSG("schema.%.100s.enum[%zu]: must be a %s", field, i, type);
          return SY_EINVAL;
        }
      } else if (strcmp(k, "required") == 0) {
        if (!json_is_boolean(v)) {
          MSG("schema.%.100s.required: must be a boolean", field);
          return SY_EINVAL;
        }
      } else {
        MSG("schema.%.100s.%.60s: unknown key", field, k);
        return SY_EINVAL;
      }
    }
    const json_t *mn = json_object_get(spec, "min"), *mx = json_object_get(spec, "max");
    if (mn && mx && json_number_value(mn) > json_number_value(mx)) {
      MSG("schema.%.100s: min is above max", field);
      return SY_EINVAL;
    }
  }
  return SY_OK;
}

/* Parses schema text: NULL or "" is none (*out NULL). */
static sy_rc schema_load(const char *schema, json_t **out, char *msg, size_t msgsz) {
  json_error_t err;
  *out = NULL;
  if (!schema || !*schema) return SY_OK;
  json_t *s = json_loads(schema, JSON_REJECT_DUPLICATES, &err);
  if (!s) {
    MSG("schema: invalid JSON: %s (line %d, column %d)", err.text, err.line, err.column);
    return SY_EINVAL;
  }
  sy_rc rc = schema_check_json(s, msg, msgsz);
  if (rc) {
    json_decref(s);
    return rc;
  }
  *out = s;
  return SY_OK;
}

sy_rc sy__flag_schema_check(const char *schema, char *msg, size_t msgsz) {
  json_t *s = NULL;
  sy_rc rc = schema_load(schema, &s, msg, msgsz);
  json_decref(s);
  return rc;
}

/* One config field's value against its spec. */
static sy_rc config_field_check(const char *field, const json_t *spec, const json_t *v, char *msg, size_t msgsz) {
  const char *type = json_string_value(json_object_get(spec, "type"));
  const json_t *mn = json_object_get(spec, "min"), *mx = json_object_get(spec, "max"),
               *en = json_object_get(spec, "enum");
  char vt[80], bt[80];
  if (!type_is(v, type)) {
    MSG("config.%.100s: must be %s %s", field, strcmp(type, "integer") == 0 ? "an" : "a", type);
    return SY_EINVAL;
  }
  value_text(v, vt, sizeof vt);
  if (mx && json_number_value(v) > json_number_value(mx)) {
    value_text(mx, bt, sizeof bt);
    MSG("config.%.100s: %s is above the maximum %s", field, vt, bt);
    return SY_EINVAL;
  }
  if (mn && json_number_value(v) < json_number_value(mn)) {
    value_text(mn, bt, sizeof bt);
    MSG("config.%.100s: %s is below the minimum %s", field, vt, bt);
    return SY_EINVAL;
  }
  if (en) {
    size_t i, used;
    const json_t *e;
    json_array_foreach(en, i, e) if (num_equal(e, v)) return SY_OK;
    char list[512] = "[";
    used = 1;
    json_array_foreach(en, i, e) {
      value_text(e, bt, sizeof bt);
      int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", bt);
      if (n < 0 || (size_t)n >= sizeof list - used) break;
      used += (size_t)n;
    }
    if (used < sizeof list - 1) list[used++] = ']', list[used] = 0;
    MSG("config.%.100s: %s is not one of %s", field, vt, list);
    return SY_EINVAL;
  }
  return SY_OK;
}

/* The config fields (the "config" object's members and the top-level fields that are not
 * the flag's own) against the schema (NULL: any field is taken). */
static sy_rc config_check(const json_t *doc, const json_t *schema, char *msg, size_t msgsz) {
  const json_t *cfg = json_object_get(doc, "config"), *v;
  const char *k;
  if (cfg && !json_is_object(cfg)) {
    MSG("config: must be an object");
    return SY_EINVAL;
  }
  json_object_foreach((json_t *)doc, k, v) {
    if (own_key(k)) continue;
    if (json_object_get(cfg, k)) {
      MSG("config.%.100s: given both in config and at the top level", k);
      return SY_EINVAL;
    }
    if (schema && !json_object_get(schema, k)) {
      MSG("config.%.100s: not in the schema", k);
      return SY_EINVAL;
    }
  }
  if (schema && cfg) json_object_foreach((json_t *)cfg, k, v) if (!json_object_get(schema, k)) {
      MSG("config.%.100s: not in the schema", k);
      return SY_EINVAL;
    }
  if (!schema) return SY_OK;
  json_object_foreach((json_t *)schema, k, v) {
    const json_t *val = json_object_get(cfg, k);
    if (!val && !own_key(k)) val = json_object_get(doc, k);
    if (!val) {
      if (json_is_true(json_object_get(v, "required"))) {
        MSG("config.%.100s: required", k);
        return SY_EINVAL;
      }
      continue;
    }
    sy_rc rc = config_field_check(k, v, val, msg, msgsz);
    if (rc) return rc;
  }
  return SY_OK;
}

/* ---- compile ---- */

static int variant_find(const sy_flag *f, const char *name) {
  for (size_t i = 0; i < f->nvariants; i++)
    if (strcmp(f->variants[i].name, name) == 0) return (int)i;
  return -1;
}

static sy_rc variants_compile(sy_flag *f, const json_t *doc, char *msg, size_t msgsz) {
  const json_t *vs = json_object_get(doc, "variants"), *v;
  const char *name;
  if (!vs) { /* the boolean default; kept in the document so values are borrowed from it */
    json_t *def = json_pack("{s:b, s:b}", "on", 1, "off", 0);
    if (!def || json_object_set_new(f->doc, "variants", def)) return SY_ENOMEM;
    vs = def;
  }
  if (!json_is_object(vs) || !json_object_size(vs)) {
    MSG("variants: must be an object with at least one variant");
    return SY_EINVAL;
  }
  if (json_object_size(vs) > SY_FLAG_VARIANTS_MAX) {
    MSG("variants: %zu variants; the limit is %d", json_object_size(vs), SY_FLAG_VARIANTS_MAX);
    return SY_EINVAL;
  }
  f->variants = calloc(json_object_size(vs), sizeof *f->variants);
  if (!f->variants) return SY_ENOMEM;
  json_object_foreach((json_t *)vs, name, v) {
    if (!*name) {
      MSG("variants: a variant needs a name");
      return SY_EINVAL;
    }
    f->variants[f->nvariants].name = name;
    f->variants[f->nvariants].value = v;
    if (json_is_true(v) && f->on < 0) f->on = (int)f->nvariants;
    if (json_is_false(v) && f->off < 0) f->off = (int)f->nvariants;
    f->nvariants++;
  }
  /* the JSON type the values share */
  const char *t = NULL;
  for (size_t i = 0; i < f->nvariants; i++) {
    const json_t *x = f->variants[i].value;
    const char *xt = json_is_boolean(x)  ? "boolean"
                     : json_is_string(x) ? "string"
                     : json_is_number(x) ? "number"
                     : json_is_object(x) ? "object"
                                         : "mixed";
    t = !t || strcmp(t, xt) == 0 ? xt : "mixed";
  }
  f->value_type = t;

  const json_t *d = json_object_get(doc, "default_variant");
  const char *dn = "off";
  if (d && !json_is_string(d)) {
    MSG("default_variant: must be a string");
    return SY_EINVAL;
  }
  if (d) dn = json_string_value(d);
  if ((f->def = variant_find(f, dn)) < 0) {
    MSG("default_variant: \"%.100s\" is not a variant", dn);
    return SY_EINVAL;
  }
  return SY_OK;
}

static sy_rc weights_compile(sy_flag *f, const json_t *doc, char *msg, size_t msgsz) {
  const json_t *ws = json_object_get(doc, "weights"), *w;
  const char *name;
  f->first_weighted = -1;
  if (!ws) { /* all "on", else the only variant besides the default, else the default alone */
    int pick = variant_find(f, "on");
    if (pick < 0 && f->nvariants <= 2)
      for (size_t i = 0; i < f->nvariants; i++)
        if ((int)i != f->def || f->nvariants == 1) pick = (int)i;
    if (pick < 0) {
      MSG("weights: required when there is more than one variant besides the default");
      return SY_EINVAL;
    }
    f->variants[pick].weight = 1;
  } else {
    if (!json_is_object(ws)) {
      MSG("weights: must be an object of variant -> integer weight");
      return SY_EINVAL;
    }
    json_object_foreach((json_t *)ws, name, w) {
      int i = variant_find(f, name);
      char t[40];
      if (i < 0) {
        MSG("weights.%.100s: not a variant", name);
        return SY_EINVAL;
      }
      if (!json_is_integer(w)) {
        MSG("weights.%.100s: must be an integer", name);
        return SY_EINVAL;
      }
      value_text(w, t, sizeof t);
      if (json_integer_value(w) < 0) {
        MSG("weights.%.100s: %s is negative", name, t);
        return SY_EINVAL;
      }
      if (json_integer_value(w) > FLAG_WEIGHT_MAX) {
        MSG("weights.%.100s: %s is above the maximum %d", name, t, FLAG_WEIGHT_MAX);
        return SY_EINVAL;
      }
      f->variants[i].weight = (uint64_t)json_integer_value(w);
    }
  }
  for (size_t i = 0; i < f->nvariants; i++) {
    f->weight_sum += f->variants[i].weight;
    if (f->variants[i].weight && !f->nweighted++) f->first_weighted = (int)i;
  }
  if (!f->weight_sum) {
    MSG("weights: they sum to zero");
    return SY_EINVAL;
  }
  return SY_OK;
}

static sy_rc constraint_compile(sy_flag *f, flag_constraint *c, const json_t *cj, const char *at, char *msg,
                                size_t msgsz) {
  const char *k;
  const json_t *v;
  if (!json_is_object(cj)) {
    MSG("%s: must be an object", at);
    return SY_EINVAL;
  }
  json_object_foreach((json_t *)cj, k, v) {
    if (strcmp(k, "attribute") && strcmp(k, "operator") && strcmp(k, "values") && strcmp(k, "inverted") &&
        strcmp(k, "case_insensitive")) {
      MSG("%s.%.60s: unknown field", at, k);
      return SY_EINVAL;
    }
  }
  const json_t *a = json_object_get(cj, "attribute"), *op = json_object_get(cj, "operator"),
               *vals = json_object_get(cj, "values"), *inv = json_object_get(cj, "inverted"),
               *ci = json_object_get(cj, "case_insensitive");
  if (!json_is_string(a) || !json_string_length(a)) {
    MSG("%s.attribute: %s", at, a ? "must be a non-empty string" : "required");
    return SY_EINVAL;
  }
  c->attr = json_string_value(a);
  if (!json_is_string(op)) {
    MSG("%s.operator: %s", at, op ? "must be a string" : "required");
    return SY_EINVAL;
  }
  int o = sy__flag_op_parse(json_string_value(op));
  if (o < 0) {
    MSG("%s.operator: unknown operator %.60s", at, json_string_value(op));
    return SY_EINVAL;
  }
  c->op = (flag_op)o;
  if ((inv && !json_is_boolean(inv)) || (ci && !json_is_boolean(ci))) {
    MSG("%s.%s: must be a boolean", at, inv && !json_is_boolean(inv) ? "inverted" : "case_insensitive");
    return SY_EINVAL;
  }
  c->inverted = json_is_true(inv);
  c->ci = json_is_true(ci);
  c->mctx = f->mctx;
  if (!json_is_array(vals) || !json_array_size(vals)) {
    MSG("%s.values: %s", at, vals ? "must be a non-empty array" : "required");
    return SY_EINVAL;
  }
  if (json_array_size(vals) > SY_FLAG_VALUES_MAX) {
    MSG("%s.values: %zu values; the limit is %d", at, json_array_size(vals), SY_FLAG_VALUES_MAX);
    return SY_EINVAL;
  }
  c->vals = calloc(json_array_size(vals), sizeof *c->vals);
  if (!c->vals) return SY_ENOMEM;
  for (size_t k2 = 0; k2 < json_array_size(vals); k2++) {
    char why[256];
    if (sy__flag_value_compile(c, json_array_get(vals, k2), &c->vals[k2], why, sizeof why)) {
      MSG("%s.values[%zu]: %s", at, k2, why);
      return SY_EINVAL;
    }
    c->nvals++;
  }
  if (c->op == OP_IN || c->op == OP_NOT_IN) sy__flag_values_sort(c);
  return SY_OK;
}

static sy_rc rules_compile(sy_flag *f, const json_t *doc, char *msg, size_t msgsz) {
  const json_t *rs = json_object_get(doc, "rules");
  if (!rs) return SY_OK;
  if (!json_is_array(rs)) {
    MSG("rules: must be an array");
    return SY_EINVAL;
  }
  if (json_array_size(rs) > SY_FLAG_RULES_MAX) {
    MSG("rules: %zu rules; the limit is %d", json_array_size(rs), SY_FLAG_RULES_MAX);
    return SY_EINVAL;
  }
  f->rules = calloc(json_array_size(rs) + 1, sizeof *f->rules);
  if (!f->rules) return SY_ENOMEM;
  for (size_t i = 0; i < json_array_size(rs); i++) {
    const json_t *r = json_array_get(rs, i), *v;
    flag_rule *rule = &f->rules[f->nrules++];
    const char *k;
    char at[64];
    rule->variant = -1;
    rule->pct_cents = -1;
    rule->name = "";
    if (!json_is_object(r)) {
      MSG("rules[%zu]: must be an object", i);
      return SY_EINVAL;
    }
    json_object_foreach((json_t *)r, k, v) {
      if (strcmp(k, "name") && strcmp(k, "constraints") && strcmp(k, "variant") && strcmp(k, "percentage")) {
        MSG("rules[%zu].%.60s: unknown field", i, k);
        return SY_EINVAL;
      }
    }
    const json_t *name = json_object_get(r, "name"), *cs = json_object_get(r, "constraints"),
                 *var = json_object_get(r, "variant"), *pct = json_object_get(r, "percentage");
    if (name && !json_is_string(name)) {
      MSG("rules[%zu].name: must be a string", i);
      return SY_EINVAL;
    }
    if (name) rule->name = json_string_value(name);
    if (!var == !pct) {
      MSG("rules[%zu]: %s", i, var ? "a variant or a percentage, not both" : "needs a variant or a percentage");
      return SY_EINVAL;
    }
    if (var) {
      if (!json_is_string(var) || (rule->variant = variant_find(f, json_string_value(var))) < 0) {
        char t[80];
        value_text(var, t, sizeof t);
        MSG("rules[%zu].variant: %s is not a variant", i, t);
        return SY_EINVAL;
      }
    } else {
      snprintf(at, sizeof at, "rules[%zu].percentage", i);
      if (percentage_parse(at, pct, &rule->pct_cents, msg, msgsz)) return SY_EINVAL;
    }
    if (cs && !json_is_array(cs)) {
      MSG("rules[%zu].constraints: must be an array", i);
      return SY_EINVAL;
    }
    if (json_array_size(cs) > SY_FLAG_CONSTRAINTS_MAX) {
      MSG("rules[%zu].constraints: %zu constraints; the limit is %d", i, json_array_size(cs), SY_FLAG_CONSTRAINTS_MAX);
      return SY_EINVAL;
    }
    rule->cons = calloc(json_array_size(cs) + 1, sizeof *rule->cons);
    if (!rule->cons) return SY_ENOMEM;
    for (size_t j = 0; j < json_array_size(cs); j++) {
      snprintf(at, sizeof at, "rules[%zu].constraints[%zu]", i, j);
      sy_rc rc = constraint_compile(f, &rule->cons[rule->ncons++], json_array_get(cs, j), at, msg, msgsz);
      if (rc) return rc;
    }
  }
  return SY_OK;
}

static int env_name_ok(const char *s) {
  size_t n = strlen(s);
  if (!n || n > 128 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
      return 0;
  return 1;
}

static sy_rc flag_compile_doc(sy_flag *f, const char *key, const json_t *schema, char *msg, size_t msgsz) {
  const json_t *doc = f->doc, *v;
  sy_rc rc;
  if ((v = json_object_get(doc, "enabled")) && !json_is_boolean(v)) {
    MSG("enabled: must be a boolean");
    return SY_EINVAL;
  }
  f->enabled = !json_is_false(v);
  f->pct_cents = 10000;
  if ((v = json_object_get(doc, "rollout_percentage")) &&
      percentage_parse("rollout_percentage", v, &f->pct_cents, msg, msgsz))
    return SY_EINVAL;
  f->pct = f->pct_cents / 100.0;
  const char *salt = key ? key : "";
  if ((v = json_object_get(doc, "salt"))) {
    if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) != strlen(json_string_value(v))) {
      MSG("salt: must be a non-empty string");
      return SY_EINVAL;
    }
    salt = json_string_value(v);
  }
  f->saltlen = strlen(salt);
  if (f->saltlen > FLAG_SALT_MAX) {
    MSG("salt: %zu bytes; the limit is %d", f->saltlen, FLAG_SALT_MAX);
    return SY_EINVAL;
  }
  memcpy(f->salt, salt, f->saltlen + 1);
  if (!SHA256_Init(&f->bucket_state) || !SHA256_Update(&f->bucket_state, f->salt, f->saltlen) ||
      !SHA256_Update(&f->bucket_state, "/", 1) || !SHA256_Init(&f->split_state) ||
      !SHA256_Update(&f->split_state, f->salt, f->saltlen) || !SHA256_Update(&f->split_state, "/split/", 7)) {
    MSG("the SHA-256 of the salt failed");
    return SY_EINTERNAL;
  }
  if ((v = json_object_get(doc, "env_override"))) {
    if (!json_is_string(v) || !env_name_ok(json_string_value(v))) {
      MSG("env_override: must be an environment variable name (letters, digits, '_')");
      return SY_EINVAL;
    }
    f->env = json_string_value(v);
  }
  if ((rc = variants_compile(f, doc, msg, msgsz)) || (rc = weights_compile(f, doc, msg, msgsz))) return rc;
  if ((rc = rules_compile(f, doc, msg, msgsz))) return rc;
  return config_check(doc, schema, msg, msgsz);
}

sy_rc sy__flag_compile(const char *key, const char *doc, size_t len, const char *schema, sy_flag **out, char *msg,
                       size_t msgsz) {
  json_error_t err;
  json_t *s = NULL;
  sy_flag *f = NULL;
  sy_rc rc;
  *out = NULL;
  if (msgsz) msg[0] = 0;
  if ((rc = schema_load(schema, &s, msg, msgsz))) goto out;
  rc = SY_ENOMEM;
  if (!(f = calloc(1, sizeof *f))) goto out;
  f->on = f->off = f->def = -1;
  if (!(f->mctx = pcre2_match_context_create(NULL))) goto out;
  pcre2_set_match_limit(f->mctx, SY_FLAG_REGEX_MATCH_LIMIT);
  f->doc = json_loadb(doc ? doc : "", doc ? len : 0, JSON_REJECT_DUPLICATES, &err);
  rc = SY_EINVAL;
  if (!f->doc) {
    MSG("invalid JSON: %s (line %d, column %d)", err.text, err.line, err.column);
    goto out;
  }
  if (!json_is_object(f->doc)) {
    MSG("the flag document must be a JSON object");
    goto out;
  }
  if ((rc = flag_compile_doc(f, key, s, msg, msgsz))) goto out;
  *out = f;
  f = NULL;
out:
  if (rc == SY_ENOMEM) MSG("out of memory");
  sy__flag_free(f);
  json_decref(s);
  return rc;
}

void sy__flag_free(sy_flag *f) {
  if (!f) return;
  for (size_t i = 0; i < f->nrules; i++) {
    for (size_t j = 0; j < f->rules[i].ncons; j++) {
      sy__flag_values_free(&f->rules[i].cons[j]);
      free(f->rules[i].cons[j].vals);
    }
    free(f->rules[i].cons);
  }
  free(f->rules);
  free(f->variants);
  pcre2_match_context_free(f->mctx);
  json_decref(f->doc);
  free(f);
}

/* ---- evaluation ---- */

/* The first 8 bytes of SHA-256(prefix subject), big-endian, where state holds the hash
 * of the prefix (salt "/" for the bucket contract): a copy of it on the stack takes the
 * subject, so nothing is allocated and the compiled flag is only read. */
static uint64_t subject_hash(const SHA256_CTX *state, const char *subject) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_CTX c = *state;
  SHA256_Update(&c, subject, strlen(subject));
  SHA256_Final(md, &c);
  uint64_t b = 0;
  for (int i = 0; i < 8; i++) b = (b << 8) | md[i];
  return b;
}

static uint32_t subject_bucket(const sy_flag *f, const char *subject) {
  return (uint32_t)(subject_hash(&f->bucket_state, subject) % 10000);
}

/* The variant for a subject inside a rollout: the only weighted one, or the weighted choice
 * by the split hash SHA-256(salt "/split/" subject), which does not depend on the rollout's
 * percentage: raising it adds subjects and never moves one between variants. */
static int weighted_pick(const sy_flag *f, const char *subject) {
  if (f->nweighted <= 1 || !subject) return f->first_weighted;
  uint64_t x = subject_hash(&f->split_state, subject) % f->weight_sum;
  for (size_t i = 0; i < f->nvariants; i++) {
    if (x < f->variants[i].weight) return (int)i;
    x -= f->variants[i].weight;
  }
  return f->first_weighted;
}

static int depth_ok(const json_t *v, int depth) {
  const char *k;
  const json_t *x;
  size_t i;
  if (!json_is_object(v) && !json_is_array(v)) return 1;
  if (depth > SY_FLAG_CONTEXT_DEPTH) return 0;
  if (json_is_object(v)) {
    json_object_foreach((json_t *)v, k, x) if (!depth_ok(x, depth + 1)) return 0;
  } else {
    json_array_foreach(v, i, x) if (!depth_ok(x, depth + 1)) return 0;
  }
  return 1;
}

static void serve(const sy_flag *f, int variant, sy_flag_reason reason, sy_flag_result *out) {
  out->variant = f->variants[variant].name;
  out->value = f->variants[variant].value;
  out->reason = reason;
}

static void fail(const sy_flag *f, sy_flag_error e, const char *detail, sy_flag_result *out) {
  if (f && f->def >= 0) out->value = f->variants[f->def].value;
  out->variant = NULL;
  out->reason = SY_FLAG_ERROR;
  out->error = e;
  snprintf(out->detail, sizeof out->detail, "%s", detail);
}

/* The variant the override variable forces, or -1 when it is unset or names nothing. */
static int override_variant(const sy_flag *f, const char *val) {
  if (!val) return -1;
  if (f->value_type && strcmp(f->value_type, "boolean") == 0 && f->on >= 0 && f->off >= 0) {
    if (strcmp(val, "true") == 0) return f->on;
    if (strcmp(val, "false") == 0) return f->off;
  }
  return variant_find(f, val);
}

static int rule_matches(const flag_rule *r, const json_t *ctx) {
  for (size_t j = 0; j < r->ncons; j++)
    if (!sy__flag_constraint_match(&r->cons[j], ctx, NULL, 0)) return 0;
  return 1;
}

void sy__flag_eval(const sy_flag *f, const json_t *ctx, sy_flag_env_fn env, sy_flag_result *out) {
  const json_t *tk = json_object_get(ctx, "targetingKey");
  if (tk && !json_is_string(tk)) {
    memset(out, 0, sizeof *out);
    out->rule = -1;
    out->bucket = UINT32_MAX;
    fail(f, SY_FLAG_INVALID_CONTEXT, "targetingKey must be a string", out);
    return;
  }
  sy__flag_eval_subject(f, ctx, json_string_value(tk), f && env && f->env ? env(f->env) : NULL, out);
}

void sy__flag_eval_subject(const sy_flag *f, const json_t *ctx, const char *key, const char *env_value,
                           sy_flag_result *out) {
  memset(out, 0, sizeof *out);
  out->rule = -1;
  out->bucket = UINT32_MAX;
  if (!f) {
    fail(f, SY_FLAG_GENERAL, "no flag", out);
    return;
  }
  if (ctx && !json_is_object(ctx)) {
    fail(f, SY_FLAG_INVALID_CONTEXT, "the context must be a JSON object", out);
    return;
  }
  if (ctx && !depth_ok(ctx, 1)) {
    char d[64];
    snprintf(d, sizeof d, "the context is nested deeper than %d levels", SY_FLAG_CONTEXT_DEPTH);
    fail(f, SY_FLAG_INVALID_CONTEXT, d, out);
    return;
  }
  if (env_value && f->env) {
    const char *val = env_value;
    int v = override_variant(f, val);
    if (v >= 0) {
      serve(f, v, SY_FLAG_STATIC, out);
      out->overridden = 1;
      snprintf(out->detail, sizeof out->detail, "%.60s=%.80s", f->env, val);
      return;
    }
  }
  if (!f->enabled) {
    serve(f, f->def, SY_FLAG_DISABLED, out);
    return;
  }
  for (size_t i = 0; i < f->nrules; i++) {
    const flag_rule *r = &f->rules[i];
    if (!rule_matches(r, ctx)) continue;
    if (r->variant >= 0) {
      serve(f, r->variant, SY_FLAG_TARGETING_MATCH, out);
      out->rule = (int)i;
      return;
    }
    if (r->pct_cents == 0) continue;
    if (!key && r->pct_cents < 10000) {
      fail(f, SY_FLAG_TARGETING_KEY_MISSING, "a rule's rollout needs a targetingKey", out);
      out->rule = (int)i;
      return;
    }
    if (key) out->bucket = subject_bucket(f, key);
    if (!key || out->bucket < (uint32_t)r->pct_cents) {
      if (!key && f->nweighted > 1) {
        fail(f, SY_FLAG_TARGETING_KEY_MISSING, "a split needs a targetingKey", out);
        out->rule = (int)i;
        return;
      }
      serve(f, weighted_pick(f, key), SY_FLAG_TARGETING_MATCH, out);
      out->rule = (int)i;
      return;
    }
  }
  if (f->pct_cents == 10000 && f->nweighted <= 1) {
    serve(f, f->first_weighted, SY_FLAG_STATIC, out);
    return;
  }
  if (f->pct_cents == 0) {
    serve(f, f->def, SY_FLAG_DEFAULT, out);
    return;
  }
  if (!key) {
    fail(f, SY_FLAG_TARGETING_KEY_MISSING, "the rollout needs a targetingKey in the context", out);
    return;
  }
  out->bucket = subject_bucket(f, key);
  if (out->bucket < (uint32_t)f->pct_cents)
    serve(f, weighted_pick(f, key), SY_FLAG_SPLIT, out);
  else
    serve(f, f->def, SY_FLAG_DEFAULT, out);
}

/* ---- explain ---- */

static json_t *result_json(const sy_flag_result *r) {
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set(o, "value", r->value ? (json_t *)r->value : json_null());
  json_object_set_new(o, "variant", r->variant ? json_string(r->variant) : json_null());
  json_object_set_new(o, "reason", json_string(sy__flag_reason_name(r->reason)));
  if (r->error) json_object_set_new(o, "error", json_string(sy__flag_error_name(r->error)));
  if (r->detail[0]) json_object_set_new(o, "detail", json_string(r->detail));
  json_object_set_new(o, "rule", r->rule >= 0 ? json_integer(r->rule) : json_null());
  json_object_set_new(o, "overridden", json_boolean(r->overridden));
  return o;
}

json_t *sy__flag_explain(const sy_flag *f, const json_t *ctx, sy_flag_env_fn env) {
  sy_flag_result r;
  json_t *o = json_object(), *rules = json_array();
  if (!o || !rules || !f) goto oom;
  sy__flag_eval(f, ctx, env, &r);
  const json_t *tk = json_is_object(ctx) ? json_object_get(ctx, "targetingKey") : NULL;
  uint32_t bucket = json_is_string(tk) ? subject_bucket(f, json_string_value(tk)) : UINT32_MAX;
  json_object_set_new(o, "result", result_json(&r));
  json_object_set_new(o, "enabled", json_boolean(f->enabled));
  json_object_set_new(o, "bucket", bucket == UINT32_MAX ? json_null() : json_integer(bucket));
  json_object_set_new(o, "rollout_percentage", json_real(f->pct));
  for (size_t i = 0; i < f->nrules && (!ctx || json_is_object(ctx)); i++) {
    const flag_rule *rule = &f->rules[i];
    char why[400] = "no constraints: matches";
    int matched = 1;
    for (size_t j = 0; j < rule->ncons && matched; j++) {
      matched = sy__flag_constraint_match(&rule->cons[j], ctx, why, sizeof why);
      if (matched && j + 1 < rule->ncons) why[0] = 0;
    }
    if (matched && rule->ncons > 1) snprintf(why, sizeof why, "all %zu constraints match", rule->ncons);
    if (matched && rule->pct_cents >= 0) {
      size_t n = strlen(why);
      if (bucket == UINT32_MAX)
        snprintf(why + n, sizeof why - n, "; its %.2f%% rollout needs a targetingKey", rule->pct_cents / 100.0);
      else
        snprintf(why + n, sizeof why - n, "; bucket %u is %s its %.2f%% rollout", bucket,
                 bucket < (uint32_t)rule->pct_cents ? "inside" : "outside", rule->pct_cents / 100.0);
    }
    json_t *rj = json_pack("{s:s, s:b, s:s, s:b}", "name", rule->name, "matched", matched, "why", why, "decided",
                           r.rule == (int)i);
    if (!rj || json_array_append_new(rules, rj)) goto oom;
  }
  json_object_set_new(o, "rules", rules);
  rules = NULL;
  if (f->env) {
    const char *val = env ? env(f->env) : NULL;
    json_t *ov = json_pack("{s:s, s:s?, s:b}", "variable", f->env, "value", val, "applied", r.overridden);
    json_object_set_new(o, "override", ov ? ov : json_null());
  } else {
    json_object_set_new(o, "override", json_null());
  }
  return o;
oom:
  json_decref(rules);
  json_decref(o);
  return NULL;
}

/* ---- what a flag holds ---- */

int sy__flag_enabled(const sy_flag *f) { return f && f->enabled; }
double sy__flag_percentage(const sy_flag *f) { return f ? f->pct : 0; }
const char *sy__flag_default_variant(const sy_flag *f) {
  return f && f->def >= 0 && (size_t)f->def < f->nvariants ? f->variants[f->def].name : "off";
}
const char *sy__flag_rollout_variant(const sy_flag *f) {
  if (!f || !f->nvariants) return "on";
  if (f->nweighted >= 1 && f->first_weighted >= 0) return f->variants[f->first_weighted].name;
  return f->on >= 0 ? f->variants[f->on].name : "on";
}
const char *sy__flag_value_type(const sy_flag *f) { return f && f->value_type ? f->value_type : "mixed"; }

const char *sy__flag_reason_name(sy_flag_reason r) {
  switch (r) {
  case SY_FLAG_STATIC: return "STATIC";
  case SY_FLAG_TARGETING_MATCH: return "TARGETING_MATCH";
  case SY_FLAG_SPLIT: return "SPLIT";
  case SY_FLAG_DISABLED: return "DISABLED";
  case SY_FLAG_DEFAULT: return "DEFAULT";
  case SY_FLAG_ERROR: return "ERROR";
  }
  return "UNKNOWN";
}

const char *sy__flag_error_name(sy_flag_error e) {
  switch (e) {
  case SY_FLAG_OK: return "";
  case SY_FLAG_PARSE_ERROR: return "PARSE_ERROR";
  case SY_FLAG_TARGETING_KEY_MISSING: return "TARGETING_KEY_MISSING";
  case SY_FLAG_INVALID_CONTEXT: return "INVALID_CONTEXT";
  case SY_FLAG_GENERAL: return "GENERAL";
  }
  return "GENERAL";
}

const char *sy__flag_env_name(const sy_flag *f) { return f ? f->env : NULL; }

/* provider.c — compiles the gateway's documents, providers and routes (provider.h). */
#include "core/provider.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/param.h"

#define BASE_URL_MAX 1024
#define MODEL_MAX 128
#define SALT_MAX 256
#define PRICE_MAX 1e6

/* A refusal: writes the message and returns SY_EINVAL, so that every check reads
 * `if (...) return refuse(...)`. */
static sy_rc refuse(char *msg, size_t msgsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static sy_rc refuse(char *msg, size_t msgsz, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (msg && msgsz) vsnprintf(msg, msgsz, fmt, ap);
  va_end(ap);
  return SY_EINVAL;
}

const char *sy__provider_type_name(sy_provider_type t) {
  switch (t) {
  case SY_PROVIDER_OPENAI: return "openai";
  case SY_PROVIDER_GEMINI: return "gemini";
  case SY_PROVIDER_SEEDREAM: return "seedream";
  case SY_PROVIDER_STUB: return "stub";
  }
  return "unknown";
}

static int name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int sy__provider_name_valid(const char *s, size_t n) {
  if (!s || n == 0 || n > SY_PROVIDER_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (!name_char(s[i])) return 0;
  return 1;
}

/* ---- field readers: each names its field (a dotted path) in the refusal ---- */

/* An integer in [lo, hi]; a real with an integral value (2000.0) counts as one. */
static sy_rc read_int(const json_t *v, const char *field, int64_t lo, int64_t hi, int64_t *out, char *msg,
                      size_t msgsz) {
  if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    if (i >= lo && i <= hi) {
      *out = (int64_t)i;
      return SY_OK;
    }
  } else if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d == floor(d) && d >= (double)lo && d <= (double)hi) {
      *out = (int64_t)d;
      return SY_OK;
    }
  }
  return refuse(msg, msgsz, "%s must be an integer from %lld to %lld", field, (long long)lo, (long long)hi);
}

static sy_rc read_int32(const json_t *v, const char *field, int lo, int hi, int *out, char *msg, size_t msgsz) {
  int64_t x;
  sy_rc rc = read_int(v, field, lo, hi, &x, msg, msgsz);
  if (!rc) *out = (int)x;
  return rc;
}

static sy_rc read_number(const json_t *v, const char *field, double lo, double hi, double *out, char *msg,
                         size_t msgsz) {
  if (json_is_number(v)) {
    double d = json_number_value(v);
    if (isfinite(d) && d >= lo && d <= hi) {
      *out = d;
      return SY_OK;
    }
  }
  return refuse(msg, msgsz, "%s must be a number from %.15g to %.15g", field, lo, hi);
}

/* A string without NUL bytes (jansson allows them), with its length. */
static int plain_string(const json_t *v, const char **s, size_t *n) {
  if (!json_is_string(v)) return 0;
  *s = json_string_value(v);
  *n = json_string_length(v);
  return *s && strlen(*s) == *n;
}

static sy_rc read_name(const json_t *v, const char *field, char out[SY_PROVIDER_NAME_MAX + 1], char *msg,
                       size_t msgsz) {
  const char *s;
  size_t n;
  if (!plain_string(v, &s, &n) || !sy__provider_name_valid(s, n))
    return refuse(msg, msgsz, "%s must be a provider name: 1 to %d of a-z A-Z 0-9 . _ -", field, SY_PROVIDER_NAME_MAX);
  memcpy(out, s, n);
  out[n] = 0;
  return SY_OK;
}

/* A parameter name, hierarchical (it starts with '/'), as the store checks names. */
static sy_rc read_param_name(const json_t *v, const char *field, char **out, char *msg, size_t msgsz) {
  const char *s;
  size_t n;
  char why[256];
  if (!plain_string(v, &s, &n) || n == 0 || s[0] != '/')
    return refuse(msg, msgsz, "%s must be a parameter name starting with '/'", field);
  if (sy__name_check(s, n, why, sizeof why)) return refuse(msg, msgsz, "%s must be a parameter name: %s", field, why);
  *out = strdup(s);
  return *out ? SY_OK : SY_ENOMEM;
}

static sy_rc unknown_field(const char *at, const char *k, char *msg, size_t msgsz) {
  return refuse(msg, msgsz, "unknown field \"%s%s%.100s\"", at, *at ? "." : "", k);
}

static sy_rc need_object(const json_t *v, const char *field, char *msg, size_t msgsz) {
  return json_is_object(v) ? SY_OK : refuse(msg, msgsz, "%s must be an object", field);
}

/* Parses the JSON text of a document: an object, no duplicate keys. */
static sy_rc load_object(const char *value, size_t len, json_t **out, char *msg, size_t msgsz) {
  json_error_t err;
  *out = NULL;
  if (!value) return refuse(msg, msgsz, "value must be a JSON object");
  json_t *doc = json_loadb(value, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
  if (!doc)
    return refuse(msg, msgsz, "value is not valid JSON: %s (line %d, column %d)", err.text, err.line, err.column);
  if (!json_is_object(doc)) {
    json_decref(doc);
    return refuse(msg, msgsz, "value must be a JSON object");
  }
  *out = doc;
  return SY_OK;
}

/* ---- providers ---- */

static void provider_defaults(sy_provider *p) {
  p->connect_ms = 2000;
  p->first_byte_ms = 30000;
  p->idle_ms = 30000;
  p->total_ms = 120000;
  p->retry_max_attempts = 2;
  p->max_output_tokens = 4096;
  p->retry_base_ms = 100;
  p->retry_max_ms = 2000;
  sy__breaker_cfg_default(&p->breaker);
}

static sy_rc read_type(const json_t *v, sy_provider_type *t, char *msg, size_t msgsz) {
  static const sy_provider_type types[] = {SY_PROVIDER_OPENAI, SY_PROVIDER_GEMINI, SY_PROVIDER_SEEDREAM,
                                           SY_PROVIDER_STUB};
  const char *s;
  size_t n;
  if (plain_string(v, &s, &n))
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (strcmp(s, sy__provider_type_name(types[i])) == 0) {
        *t = types[i];
        return SY_OK;
      }
  return refuse(msg, msgsz, "type must be one of openai, gemini, seedream, stub");
}

/* http(s)://host..., printable, bounded; kept without trailing '/' so that the adapters'
 * paths append with exactly one. */
static sy_rc read_base_url(const json_t *v, char **out, char *msg, size_t msgsz) {
  const char *s;
  size_t n, scheme;
  if (!plain_string(v, &s, &n)) return refuse(msg, msgsz, "base_url must be a string");
  if (n > BASE_URL_MAX) return refuse(msg, msgsz, "base_url must be at most %d bytes", BASE_URL_MAX);
  if (strncmp(s, "https://", 8) == 0)
    scheme = 8;
  else if (strncmp(s, "http://", 7) == 0)
    scheme = 7;
  else
    return refuse(msg, msgsz, "base_url must start with http:// or https://");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f)
      return refuse(msg, msgsz, "base_url must not contain whitespace or control characters (byte %zu)", i + 1);
  }
  size_t host = strcspn(s + scheme, "/?#");
  if (host == 0) return refuse(msg, msgsz, "base_url must name a host after %.*s", (int)scheme, s);
  while (n > scheme + host && s[n - 1] == '/') n--;
  *out = strndup(s, n);
  return *out ? SY_OK : SY_ENOMEM;
}

/* Whether v is a model's name: 1 to MODEL_MAX printable ASCII characters. */
static int model_name(const json_t *v, const char **s, size_t *n) {
  int ok = plain_string(v, s, n) && *n > 0 && *n <= MODEL_MAX;
  for (size_t j = 0; ok && j < *n; j++) ok = (*s)[j] >= 0x20 && (*s)[j] < 0x7f;
  return ok;
}

static sy_rc read_models(const json_t *v, sy_provider *p, char *msg, size_t msgsz) {
  if (!json_is_array(v) || json_array_size(v) > SY_PROVIDER_MODELS_MAX)
    return refuse(msg, msgsz, "models must be an array of at most %d strings", SY_PROVIDER_MODELS_MAX);
  size_t count = json_array_size(v);
  if (count == 0) return SY_OK;
  if (p->models || p->nmodels) return refuse(msg, msgsz, "models is given twice");
  p->models = calloc(count, sizeof *p->models);
  if (!p->models) return SY_ENOMEM;
  for (size_t i = 0; i < count; i++) {
    const char *s;
    size_t n;
    if (!model_name(json_array_get(v, i), &s, &n))
      return refuse(msg, msgsz, "models[%zu] must be a non-empty string of at most %d printable ASCII characters", i,
                    MODEL_MAX);
    for (int j = 0; j < p->nmodels; j++) /* at most 64 x 64 */
      if (strcmp(p->models[j], s) == 0) return refuse(msg, msgsz, "models[%zu] repeats models[%d]", i, j);
    p->models[p->nmodels] = strdup(s);
    if (!p->models[p->nmodels]) return SY_ENOMEM;
    p->nmodels++;
  }
  return SY_OK;
}

/* A number field of one of a provider's nested objects (prices, timeouts_ms, retry, breaker):
 * where it lands in the provider and its range. One table and one reader serve them all. */
typedef enum num_kind { NUM_DOUBLE, NUM_INT64, NUM_INT } num_kind;
typedef struct num_field {
  const char *name; /* "section.key" */
  num_kind kind;
  double lo, hi;
  size_t off; /* in sy_provider */
} num_field;

#define PF(name, kind, lo, hi, member) \
  { name, kind, lo, hi, offsetof(sy_provider, member) }
static const num_field num_fields[] = {
    PF("prices.input_per_1k", NUM_DOUBLE, 0, PRICE_MAX, price_in_1k),
    PF("prices.output_per_1k", NUM_DOUBLE, 0, PRICE_MAX, price_out_1k),
    PF("prices.per_image", NUM_DOUBLE, 0, PRICE_MAX, price_image),
    PF("timeouts_ms.connect", NUM_INT64, 1, 600000, connect_ms),
    PF("timeouts_ms.first_byte", NUM_INT64, 1, 3600000, first_byte_ms),
    PF("timeouts_ms.idle", NUM_INT64, 1, 3600000, idle_ms),
    PF("timeouts_ms.total", NUM_INT64, 1, 3600000, total_ms),
    PF("retry.max_attempts", NUM_INT, 1, 10, retry_max_attempts),
    PF("retry.base_ms", NUM_INT64, 0, 60000, retry_base_ms),
    PF("retry.max_ms", NUM_INT64, 0, 600000, retry_max_ms),
    PF("breaker.consecutive_failures", NUM_INT, 1, 1000, breaker.consecutive_failures),
    PF("breaker.error_rate_percent", NUM_INT, 1, 100, breaker.error_rate_percent),
    PF("breaker.min_requests", NUM_INT, 1, 1000000, breaker.min_requests),
    PF("breaker.window_ms", NUM_INT64, 1000, 3600000, breaker.window_ms),
    PF("breaker.cooldown_ms", NUM_INT64, 1, 86400000, breaker.cooldown_ms),
    PF("breaker.half_open_max", NUM_INT, 1, 1000, breaker.half_open_max),
    PF("breaker.recovery_ms", NUM_INT64, 0, 86400000, breaker.recovery_ms),
};
#undef PF

/* Reads the nested object section of a provider: each key one of the table's "section.key". */
static sy_rc read_section(const json_t *v, const char *section, sy_provider *p, char *msg, size_t msgsz) {
  const char *k;
  json_t *x;
  size_t sl = strlen(section);
  sy_rc rc = need_object(v, section, msg, msgsz);
  if (rc) return rc;
  json_object_foreach((json_t *)v, k, x) {
    const num_field *f = NULL;
    for (size_t i = 0; i < sizeof num_fields / sizeof num_fields[0] && !f; i++) {
      const char *n = num_fields[i].name;
      if (!strncmp(n, section, sl) && n[sl] == '.' && !strcmp(n + sl + 1, k)) f = &num_fields[i];
    }
    if (!f) return unknown_field(section, k, msg, msgsz);
    char *at = (char *)p + f->off;
    if (f->kind == NUM_DOUBLE)
      rc = read_number(x, f->name, f->lo, f->hi, (double *)(void *)at, msg, msgsz);
    else if (f->kind == NUM_INT64)
      rc = read_int(x, f->name, (int64_t)f->lo, (int64_t)f->hi, (int64_t *)(void *)at, msg, msgsz);
    else
      rc = read_int32(x, f->name, (int)f->lo, (int)f->hi, (int *)(void *)at, msg, msgsz);
    if (rc) return rc;
  }
  if (!strcmp(section, "retry") && p->retry_max_ms < p->retry_base_ms)
    return refuse(msg, msgsz, "retry.max_ms (%lld) must be at least retry.base_ms (%lld)", (long long)p->retry_max_ms,
                  (long long)p->retry_base_ms);
  return SY_OK;
}

/* The NAME of "switchyard/providers/NAME", or NULL. */
static const char *provider_key_name(const char *key) {
  static const char prefix[] = SY_PROVIDERS_PREFIX;
  if (!key) return NULL;
  if (key[0] == '/') key++; /* tolerate the name with its '/' */
  if (strncmp(key, prefix + 1, sizeof prefix - 2) != 0) return NULL;
  const char *name = key + sizeof prefix - 2;
  return sy__provider_name_valid(name, strlen(name)) ? name : NULL;
}

static sy_rc provider_fields(json_t *doc, sy_provider *p, int *has_base_url, char *msg, size_t msgsz) {
  const char *k;
  json_t *v;
  sy_rc rc = SY_OK;
  json_object_foreach(doc, k, v) {
    if (strcmp(k, "type") == 0) {
      rc = read_type(v, &p->type, msg, msgsz);
    } else if (strcmp(k, "name") == 0) {
      const char *s;
      size_t n;
      if (!plain_string(v, &s, &n) || strcmp(s, p->name) != 0)
        rc = refuse(msg, msgsz, "name must equal the key's last segment \"%s\"", p->name);
    } else if (strcmp(k, "base_url") == 0) {
      rc = read_base_url(v, &p->base_url, msg, msgsz);
      *has_base_url = 1;
    } else if (strcmp(k, "models") == 0) {
      rc = read_models(v, p, msg, msgsz);
    } else if (strcmp(k, "credentials") == 0) {
      rc = read_param_name(v, "credentials", &p->credentials, msg, msgsz);
    } else if (strcmp(k, "max_output_tokens") == 0) {
      rc = read_int(v, "max_output_tokens", 1, 10000000, &p->max_output_tokens, msg, msgsz);
    } else if (!strcmp(k, "prices") || !strcmp(k, "timeouts_ms") || !strcmp(k, "retry") || !strcmp(k, "breaker")) {
      rc = read_section(v, k, p, msg, msgsz);
    } else {
      rc = unknown_field("", k, msg, msgsz);
    }
    if (rc) return rc;
  }
  return SY_OK;
}

sy_rc sy__provider_compile(const char *key, const char *value, size_t len, sy_provider **out, char *msg, size_t msgsz) {
  json_t *doc = NULL;
  sy_provider *p = NULL;
  int has_base_url = 0;
  sy_rc rc;
  *out = NULL;
  const char *name = provider_key_name(key);
  if (!name) {
    rc = refuse(msg, msgsz, "a provider's name must be %sNAME, NAME 1 to %d of a-z A-Z 0-9 . _ -", SY_PROVIDERS_PREFIX,
                SY_PROVIDER_NAME_MAX);
    goto out;
  }
  rc = load_object(value, len, &doc, msg, msgsz);
  if (rc) goto out;
  p = calloc(1, sizeof *p);
  if (!p) {
    rc = SY_ENOMEM;
    goto out;
  }
  memcpy(p->name, name, strlen(name) + 1);
  provider_defaults(p);
  rc = provider_fields(doc, p, &has_base_url, msg, msgsz);
  if (rc) goto out;
  if (!p->type) {
    rc = refuse(msg, msgsz, "type is required (openai, gemini, seedream or stub)");
    goto out;
  }
  if (!has_base_url) {
    if (p->type != SY_PROVIDER_STUB) {
      rc = refuse(msg, msgsz, "base_url is required for a provider of type %s", sy__provider_type_name(p->type));
      goto out;
    }
    p->base_url = strdup("");
    if (!p->base_url) rc = SY_ENOMEM;
  }
out:
  if (rc == SY_ENOMEM) refuse(msg, msgsz, "out of memory");
  if (rc) {
    sy__provider_free(p);
    p = NULL;
  }
  json_decref(doc);
  *out = p;
  return rc;
}

void sy__provider_free(sy_provider *p) {
  if (!p || p == sy__provider_builtin_stub()) return;
  free(p->base_url);
  for (int i = 0; i < p->nmodels; i++) free(p->models[i]);
  free(p->models);
  free(p->credentials);
  free(p);
}

static char stub_base_url[] = "";
static const sy_provider builtin_stub = {
    .name = "stub",
    .type = SY_PROVIDER_STUB,
    .base_url = stub_base_url,
    .connect_ms = 2000,
    .first_byte_ms = 30000,
    .idle_ms = 30000,
    .total_ms = 120000,
    .retry_max_attempts = 2,
    .max_output_tokens = 4096,
    .retry_base_ms = 100,
    .retry_max_ms = 2000,
    .breaker = {5, 50, 20, 30000, 30000, 1, 60000},
};

const sy_provider *sy__provider_builtin_stub(void) { return &builtin_stub; }

int sy__provider_has_model(const sy_provider *p, const char *model) {
  if (p->nmodels == 0) return 1;
  if (!model) return 0;
  for (int i = 0; i < p->nmodels; i++)
    if (strcmp(p->models[i], model) == 0) return 1;
  return 0;
}

/* ---- routes ---- */

/* A percent of 0..100 with at most two decimals: p*100 must be (within rounding of the
 * binary double) a whole number of basis points. */
static sy_rc read_percent(const json_t *v, const char *field, double *out, char *msg, size_t msgsz) {
  sy_rc rc = read_number(v, field, 0, 100, out, msg, msgsz);
  if (rc) return rc;
  if (fabs(round(*out * 100) - *out * 100) > 1e-6)
    return refuse(msg, msgsz, "%s must have at most two decimals", field);
  return SY_OK;
}

static sy_rc read_split(const json_t *v, sy_route *r, char *msg, size_t msgsz) {
  double sum = 0;
  if (!json_is_array(v) || json_array_size(v) > SY_ROUTE_SPLIT_MAX)
    return refuse(msg, msgsz, "split must be an array of at most %d entries", SY_ROUTE_SPLIT_MAX);
  for (size_t i = 0; i < json_array_size(v); i++) {
    json_t *e = json_array_get(v, i), *x;
    const char *k;
    char at[32], field[64];
    int has_provider = 0, has_percent = 0;
    double percent = 0;
    sy_rc rc = SY_OK;
    snprintf(at, sizeof at, "split[%zu]", i);
    if (!json_is_object(e)) return refuse(msg, msgsz, "%s must be an object {\"provider\", \"percent\"}", at);
    json_object_foreach(e, k, x) {
      if (strcmp(k, "provider") == 0) {
        snprintf(field, sizeof field, "%s.provider", at);
        rc = read_name(x, field, r->split[i].provider, msg, msgsz);
        has_provider = 1;
      } else if (strcmp(k, "percent") == 0) {
        snprintf(field, sizeof field, "%s.percent", at);
        rc = read_percent(x, field, &percent, msg, msgsz);
        has_percent = 1;
      } else {
        rc = unknown_field(at, k, msg, msgsz);
      }
      if (rc) return rc;
    }
    if (!has_provider) return refuse(msg, msgsz, "%s.provider is required", at);
    if (!has_percent) return refuse(msg, msgsz, "%s.percent is required", at);
    sum += percent;
    long upto = lround(sum * 100);
    if (upto > 10000)
      return refuse(msg, msgsz, "split percents must sum to at most 100 (%s brings them to %g)", at, sum);
    r->split[i].upto = (uint32_t)upto;
    r->nsplit++;
  }
  return SY_OK;
}

static sy_rc read_fallbacks(const json_t *v, sy_route *r, char *msg, size_t msgsz) {
  if (!json_is_array(v) || json_array_size(v) > SY_ROUTE_FALLBACKS_MAX)
    return refuse(msg, msgsz, "fallbacks must be an array of at most %d provider names", SY_ROUTE_FALLBACKS_MAX);
  for (size_t i = 0; i < json_array_size(v); i++) {
    char field[32];
    snprintf(field, sizeof field, "fallbacks[%zu]", i);
    sy_rc rc = read_name(json_array_get(v, i), field, r->fallbacks[i], msg, msgsz);
    if (rc) return rc;
    for (int j = 0; j < r->nfallbacks; j++)
      if (strcmp(r->fallbacks[j], r->fallbacks[i]) == 0)
        return refuse(msg, msgsz, "fallbacks[%zu] repeats fallbacks[%d] \"%s\"", i, j, r->fallbacks[i]);
    r->nfallbacks++;
  }
  return SY_OK;
}

static sy_rc read_salt(const json_t *v, char **out, char *msg, size_t msgsz) {
  const char *s;
  size_t n;
  if (!plain_string(v, &s, &n) || n == 0 || n > SALT_MAX)
    return refuse(msg, msgsz, "salt must be a string of 1 to %d bytes", SALT_MAX);
  *out = strdup(s);
  return *out ? SY_OK : SY_ENOMEM;
}

static sy_rc route_fields(json_t *doc, sy_route *r, int *has_provider, char *msg, size_t msgsz) {
  const char *k;
  json_t *v;
  sy_rc rc = SY_OK;
  json_object_foreach(doc, k, v) {
    if (strcmp(k, "strategy") == 0) {
      rc = read_param_name(v, "strategy", &r->strategy, msg, msgsz);
    } else if (strcmp(k, "provider") == 0) {
      rc = read_name(v, "provider", r->provider, msg, msgsz);
      *has_provider = 1;
    } else if (strcmp(k, "split") == 0) {
      rc = read_split(v, r, msg, msgsz);
    } else if (strcmp(k, "fallbacks") == 0) {
      rc = read_fallbacks(v, r, msg, msgsz);
    } else if (strcmp(k, "salt") == 0) {
      rc = read_salt(v, &r->salt, msg, msgsz);
    } else if (strcmp(k, "deadline_ms") == 0) {
      rc = read_int(v, "deadline_ms", 1, 3600000, &r->deadline_ms, msg, msgsz);
    } else if (strcmp(k, "model") == 0) {
      const char *m;
      size_t n;
      if (!model_name(v, &m, &n))
        rc = refuse(msg, msgsz, "model must be a non-empty string of at most %d printable ASCII characters", MODEL_MAX);
      else
        memcpy(r->model, m, n + 1);
    } else {
      rc = unknown_field("", k, msg, msgsz);
    }
    if (rc) return rc;
  }
  return SY_OK;
}

sy_rc sy__route_compile(const char *key, const char *value, size_t len, sy_route **out, char *msg, size_t msgsz) {
  json_t *doc = NULL;
  sy_route *r = NULL;
  int has_provider = 0;
  sy_rc rc;
  *out = NULL;
  if (!key || !*key) {
    rc = refuse(msg, msgsz, "a route needs a name");
    goto out;
  }
  rc = load_object(value, len, &doc, msg, msgsz);
  if (rc) goto out;
  r = calloc(1, sizeof *r);
  if (!r) {
    rc = SY_ENOMEM;
    goto out;
  }
  r->deadline_ms = 120000;
  rc = route_fields(doc, r, &has_provider, msg, msgsz);
  if (rc) goto out;
  if (!r->strategy && !has_provider) {
    rc = refuse(msg, msgsz, "strategy or provider is required");
    goto out;
  }
  if (!r->salt) {
    /* the route's name, as stored: with its leading '/' */
    size_t n = strlen(key) + 2;
    r->salt = malloc(n);
    if (!r->salt) {
      rc = SY_ENOMEM;
      goto out;
    }
    snprintf(r->salt, n, "%s%s", key[0] == '/' ? "" : "/", key);
  }
out:
  if (rc == SY_ENOMEM) refuse(msg, msgsz, "out of memory");
  if (rc) {
    sy__route_free(r);
    r = NULL;
  }
  json_decref(doc);
  *out = r;
  return rc;
}

void sy__route_free(sy_route *r) {
  if (!r) return;
  free(r->strategy);
  free(r->salt);
  free(r);
}

const char *sy__route_split_pick(const sy_route *r, uint32_t bucket) {
  for (int i = 0; i < r->nsplit; i++)
    if (bucket < r->split[i].upto) return r->split[i].provider; /* entries before took [0, their upto) */
  return NULL;
}

/* ---- the kinds' registry hooks (param.c); schema is a flag's notion and is ignored ---- */

sy_rc sy__provider_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                                char *msg, size_t msgsz) {
  sy_provider *p = NULL;
  sy_rc rc = sy__provider_compile(key, value, len, &p, msg, msgsz);
  *obj = p;
  return rc;
}

void sy__provider_kind_release(void *obj) { sy__provider_free(obj); }

sy_rc sy__route_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj, char *msg,
                             size_t msgsz) {
  sy_route *r = NULL;
  sy_rc rc = sy__route_compile(key, value, len, &r, msg, msgsz);
  *obj = r;
  return rc;
}

void sy__route_kind_release(void *obj) { sy__route_free(obj); }

/* ---- spending limits ---- */

const char *sy__limit_type_name(sy_limit_type t) {
  switch (t) {
  case SY_LIMIT_GLOBAL: return "global";
  case SY_LIMIT_PER_PROVIDER: return "per_provider";
  case SY_LIMIT_PER_ROUTE: return "per_route";
  }
  return "unknown";
}

int sy__limit_name(sy_limit_type t, const char *scope, char *out, size_t cap) {
  int n = t == SY_LIMIT_GLOBAL ? snprintf(out, cap, "%sglobal", SY_LIMITS_PREFIX)
                               : snprintf(out, cap, "%s%s/%s", SY_LIMITS_PREFIX, sy__limit_type_name(t),
                                          scope[0] == '/' ? scope + 1 : scope);
  return n > 0 && (size_t)n < cap ? n : -1;
}

static sy_rc limit_fields(json_t *doc, sy_limit *l, int *has_soft, int *has_hard, char *msg, size_t msgsz) {
  const char *k;
  json_t *v;
  sy_rc rc = SY_OK;
  json_object_foreach(doc, k, v) {
    const char *s;
    size_t n;
    if (!strcmp(k, "limit_type")) {
      if (!plain_string(v, &s, &n)) return refuse(msg, msgsz, "limit_type must be global, per_provider or per_route");
      l->type = !strcmp(s, "global")         ? SY_LIMIT_GLOBAL
                : !strcmp(s, "per_provider") ? SY_LIMIT_PER_PROVIDER
                : !strcmp(s, "per_route")    ? SY_LIMIT_PER_ROUTE
                                             : 0;
      if (!l->type) return refuse(msg, msgsz, "limit_type must be global, per_provider or per_route, not \"%.64s\"", s);
    } else if (!strcmp(k, "scope")) {
      if (json_is_null(v)) continue;
      if (!plain_string(v, &s, &n) || n >= sizeof l->scope)
        return refuse(msg, msgsz, "scope must be a string of at most %zu bytes", sizeof l->scope - 1);
      memcpy(l->scope, s, n + 1);
    } else if (!strcmp(k, "soft_limit_usd")) {
      rc = read_number(v, "soft_limit_usd", 0, SY_LIMIT_USD_MAX, &l->soft_usd, msg, msgsz);
      *has_soft = 1;
    } else if (!strcmp(k, "hard_limit_usd")) {
      rc = read_number(v, "hard_limit_usd", 0, SY_LIMIT_USD_MAX, &l->hard_usd, msg, msgsz);
      *has_hard = 1;
    } else if (!strcmp(k, "period")) {
      if (!plain_string(v, &s, &n) || strcmp(s, "daily"))
        return refuse(msg, msgsz, "period must be \"daily\" (a UTC day)");
    } else {
      return unknown_field("", k, msg, msgsz);
    }
    if (rc) return rc;
  }
  return SY_OK;
}

sy_rc sy__limit_compile(const char *key, const char *value, size_t len, sy_limit **out, char *msg, size_t msgsz) {
  *out = NULL;
  json_t *doc = NULL;
  sy_rc rc = load_object(value, len, &doc, msg, msgsz);
  if (rc) return rc;
  sy_limit *l = calloc(1, sizeof *l);
  if (!l) {
    json_decref(doc);
    return SY_ENOMEM;
  }
  int has_soft = 0, has_hard = 0;
  rc = limit_fields(doc, l, &has_soft, &has_hard, msg, msgsz);
  json_decref(doc);
  if (rc) goto fail;
  rc = SY_EINVAL;
  if (!l->type) {
    refuse(msg, msgsz, "limit_type is required (global, per_provider or per_route)");
    goto fail;
  }
  if (!has_hard) {
    refuse(msg, msgsz, "hard_limit_usd is required");
    goto fail;
  }
  if (!has_soft) l->soft_usd = l->hard_usd;
  if (l->soft_usd > l->hard_usd) {
    refuse(msg, msgsz, "soft_limit_usd (%.15g) must not be above hard_limit_usd (%.15g)", l->soft_usd, l->hard_usd);
    goto fail;
  }
  char why[256];
  if (l->type == SY_LIMIT_GLOBAL && l->scope[0] && strcmp(l->scope, "global") && strcmp(l->scope, "all")) {
    refuse(msg, msgsz, "scope must be empty for a global limit");
    goto fail;
  }
  if (l->type == SY_LIMIT_GLOBAL) l->scope[0] = 0;
  if (l->type == SY_LIMIT_PER_PROVIDER && !sy__provider_name_valid(l->scope, strlen(l->scope))) {
    refuse(msg, msgsz, "scope must be a provider's name (1 to 64 of a-z A-Z 0-9 . _ -) for a per_provider limit");
    goto fail;
  }
  if (l->type == SY_LIMIT_PER_ROUTE &&
      (l->scope[0] != '/' || sy__name_check(l->scope, strlen(l->scope), why, sizeof why))) {
    refuse(msg, msgsz, "scope must be a route's name starting with '/' for a per_route limit");
    goto fail;
  }
  char name[1200];
  if (key && key[0] != '/') {
    if (sy__limit_name(l->type, l->scope, name, sizeof name) < 0 || strcmp(name + 1, key)) {
      refuse(msg, msgsz, "a %s limit on %.200s lives at %.300s, not /%.300s", sy__limit_type_name(l->type),
             l->scope[0] ? l->scope : "everything", name, key);
      goto fail;
    }
  }
  *out = l;
  return SY_OK;
fail:
  free(l);
  return rc;
}

void sy__limit_free(sy_limit *l) { free(l); }

sy_rc sy__limit_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj, char *msg,
                             size_t msgsz) {
  (void)schema;
  sy_limit *l = NULL;
  sy_rc rc = sy__limit_compile(key, value, len, &l, msg, msgsz);
  *obj = l;
  return rc;
}

void sy__limit_kind_release(void *obj) { sy__limit_free(obj); }

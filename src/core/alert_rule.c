/* alert_rule.c — alert rule documents (kind AlertRule) and the count of consecutive
 * breaching periods that decides when a rule fires. */
#include "core/alert_rule.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/param.h"
#include "core/provider.h"

#define MINUTE_MS 60000
#define HOUR_MS 3600000
#define DAY_MS 86400000
#define DURATION_MAX_MS ((int64_t)3650 * DAY_MS) /* ten years: past it a duration is garbage */

static sy_rc refuse(char *msg, size_t msgsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static sy_rc refuse(char *msg, size_t msgsz, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (msg && msgsz) vsnprintf(msg, msgsz, fmt, ap);
  va_end(ap);
  return SY_EINVAL;
}

const char *sy__rule_source_name(sy_rule_source s) {
  switch (s) {
  case SY_RULE_GATEWAY: return "gateway";
  case SY_RULE_PUSHED: return "pushed";
  case SY_RULE_PROMETHEUS: return "prometheus";
  }
  return "unknown";
}

const char *sy__rule_op_name(sy_rule_op op) {
  switch (op) {
  case SY_RULE_GT: return ">";
  case SY_RULE_GE: return ">=";
  case SY_RULE_LT: return "<";
  case SY_RULE_LE: return "<=";
  }
  return "?";
}

static const char *const sev_names[] = {"critical", "warning", "info"};

/* ---- durations ---- */

int sy__rule_duration_ms(const char *text, int64_t *ms) {
  static const struct {
    const char *unit;
    int64_t ms;
  } units[] = {{"ms", 1}, {"s", 1000}, {"m", MINUTE_MS}, {"h", HOUR_MS}, {"d", DAY_MS}, {"w", 7 * (int64_t)DAY_MS}};
  if (!text || text[0] < '0' || text[0] > '9') return -1;
  int64_t n = 0;
  const char *p = text;
  for (; *p >= '0' && *p <= '9'; p++) {
    n = n * 10 + (*p - '0');
    if (n > DURATION_MAX_MS) return -1;
  }
  int64_t mul = *p ? 0 : 1000; /* digits alone are seconds */
  for (size_t i = 0; *p && i < sizeof units / sizeof *units; i++)
    if (!strcmp(p, units[i].unit)) mul = units[i].ms;
  if (!mul || n > DURATION_MAX_MS / mul) return -1;
  *ms = n * mul;
  return 0;
}

void sy__rule_duration_fmt(int64_t ms, char *out, size_t cap) {
  if (ms > 0 && ms % HOUR_MS == 0)
    snprintf(out, cap, "%lldh", (long long)(ms / HOUR_MS));
  else if (ms > 0 && ms % MINUTE_MS == 0)
    snprintf(out, cap, "%lldm", (long long)(ms / MINUTE_MS));
  else if (ms > 0 && ms % 1000 == 0)
    snprintf(out, cap, "%llds", (long long)(ms / 1000));
  else
    snprintf(out, cap, "%lldms", (long long)ms);
}

/* ---- the document ---- */

static int plain_string(const json_t *v, const char **s, size_t *n) {
  if (!json_is_string(v)) return 0;
  *s = json_string_value(v);
  *n = json_string_length(v);
  return *s && strlen(*s) == *n;
}

static int name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int name_ok(const char *s, size_t n, size_t max) {
  if (n == 0 || n > max) return 0;
  for (size_t i = 0; i < n; i++)
    if (!name_char(s[i])) return 0;
  return 1;
}

static sy_rc dup_string(const char *s, size_t n, char **out) {
  *out = malloc(n + 1);
  if (!*out) return SY_ENOMEM;
  memcpy(*out, s, n + 1);
  return SY_OK;
}

/* What the fields said, before the checks that need several of them. */
typedef struct seen {
  int source, provider, flag, variant, query, url, metric, op, threshold, period;
} seen;

static sy_rc read_period(const json_t *v, sy_alert_rule *r, char *msg, size_t msgsz) {
  const char *s;
  size_t n;
  if (json_is_number(v)) {
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > (double)DURATION_MAX_MS / 1000.0)
      return refuse(msg, msgsz, "period must be a duration (\"90s\", \"5m\", \"1h\") or a number of seconds");
    r->period_ms = (int64_t)llround(d * 1000.0);
    return SY_OK;
  }
  if (!plain_string(v, &s, &n) || sy__rule_duration_ms(s, &r->period_ms))
    return refuse(msg, msgsz, "period must be a duration (\"90s\", \"5m\", \"1h\") or a number of seconds");
  return SY_OK;
}

static sy_rc rule_fields(json_t *doc, sy_alert_rule *r, seen *has, char *msg, size_t msgsz) {
  const char *k, *s;
  size_t n;
  json_t *v;
  sy_rc rc = SY_OK;
  json_object_foreach(doc, k, v) {
    if (!strcmp(k, "source")) {
      if (!plain_string(v, &s, &n)) return refuse(msg, msgsz, "source must be gateway, pushed or prometheus");
      r->source = !strcmp(s, "gateway")      ? SY_RULE_GATEWAY
                  : !strcmp(s, "pushed")     ? SY_RULE_PUSHED
                  : !strcmp(s, "prometheus") ? SY_RULE_PROMETHEUS
                                             : 0;
      if (!r->source) return refuse(msg, msgsz, "source must be gateway, pushed or prometheus, not \"%.64s\"", s);
      has->source = 1;
    } else if (!strcmp(k, "provider")) {
      if (!plain_string(v, &s, &n) || !sy__provider_name_valid(s, n))
        return refuse(msg, msgsz, "provider must be a provider name: 1 to %d of a-z A-Z 0-9 . _ -",
                      SY_PROVIDER_NAME_MAX);
      memcpy(r->provider, s, n + 1);
      has->provider = 1;
    } else if (!strcmp(k, "flag")) {
      char why[256], path[1100];
      if (!plain_string(v, &s, &n) || n == 0) return refuse(msg, msgsz, "flag must be a flag's key");
      if (s[0] == '/') s++, n--;
      int pn = snprintf(path, sizeof path, "/%s", s);
      if (n == 0 || pn < 0 || (size_t)pn >= sizeof path || sy__name_check(path, (size_t)pn, why, sizeof why))
        return refuse(msg, msgsz, "flag must be a flag's key (a parameter name)");
      free(r->flag);
      r->flag = NULL;
      if ((rc = dup_string(s, n, &r->flag))) return rc;
      has->flag = 1;
    } else if (!strcmp(k, "variant")) {
      if (!plain_string(v, &s, &n) || !name_ok(s, n, 64))
        return refuse(msg, msgsz, "variant must be a variant's name: 1 to 64 of A-Z a-z 0-9 _ . -");
      memcpy(r->variant, s, n + 1);
      has->variant = 1;
    } else if (!strcmp(k, "query")) {
      if (!plain_string(v, &s, &n) || n == 0 || n > SY_ALERT_RULE_QUERY_MAX)
        return refuse(msg, msgsz, "query must be a PromQL expression of 1 to %d bytes", SY_ALERT_RULE_QUERY_MAX);
      free(r->query);
      r->query = NULL;
      if ((rc = dup_string(s, n, &r->query))) return rc;
      has->query = 1;
    } else if (!strcmp(k, "url")) {
      if (!plain_string(v, &s, &n) || n > SY_ALERT_RULE_URL_MAX ||
          (strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) || n <= (s[4] == 's' ? 8u : 7u))
        return refuse(msg, msgsz, "url must be an http:// or https:// URL of at most %d bytes", SY_ALERT_RULE_URL_MAX);
      free(r->url);
      r->url = NULL;
      if ((rc = dup_string(s, n, &r->url))) return rc;
      has->url = 1;
    } else if (!strcmp(k, "metric")) {
      if (!plain_string(v, &s, &n)) return refuse(msg, msgsz, "metric must be one of %s", sy__metric_names());
      r->metric = sy__metric_parse(s);
      if (!r->metric) return refuse(msg, msgsz, "metric: unknown metric \"%.64s\"; one of %s", s, sy__metric_names());
      has->metric = 1;
    } else if (!strcmp(k, "op")) {
      if (!plain_string(v, &s, &n)) return refuse(msg, msgsz, "op must be one of >, >=, <, <=");
      r->op = !strcmp(s, ">")    ? SY_RULE_GT
              : !strcmp(s, ">=") ? SY_RULE_GE
              : !strcmp(s, "<")  ? SY_RULE_LT
              : !strcmp(s, "<=") ? SY_RULE_LE
                                 : 0;
      if (!r->op) return refuse(msg, msgsz, "op must be one of >, >=, <, <=, not \"%.16s\"", s);
      has->op = 1;
    } else if (!strcmp(k, "threshold")) {
      if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return refuse(msg, msgsz, "threshold must be a number");
      r->threshold = json_number_value(v);
      has->threshold = 1;
    } else if (!strcmp(k, "period")) {
      if ((rc = read_period(v, r, msg, msgsz))) return rc;
      has->period = 1;
    } else if (!strcmp(k, "periods")) {
      if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > SY_ALERT_RULE_PERIODS_MAX)
        return refuse(msg, msgsz, "periods must be an integer from 1 to %d", SY_ALERT_RULE_PERIODS_MAX);
      r->periods = (int)json_integer_value(v);
    } else if (!strcmp(k, "severity")) {
      int sev = -1;
      if (plain_string(v, &s, &n))
        for (int i = 0; i < 3; i++)
          if (!strcmp(s, sev_names[i])) sev = i;
      if (sev < 0) return refuse(msg, msgsz, "severity must be critical, warning or info");
      r->severity = sev;
    } else if (!strcmp(k, "description")) {
      if (json_is_null(v)) continue;
      if (!plain_string(v, &s, &n) || n > SY_ALERT_RULE_DESCRIPTION_MAX)
        return refuse(msg, msgsz, "description must be a string of at most %d bytes", SY_ALERT_RULE_DESCRIPTION_MAX);
      free(r->description);
      r->description = NULL;
      if ((rc = dup_string(s, n, &r->description))) return rc;
    } else {
      return refuse(msg, msgsz, "unknown field \"%.100s\"", k);
    }
  }
  return SY_OK;
}

/* The checks across fields, once each field is known to be well-formed on its own. */
static sy_rc rule_check(const sy_alert_rule *r, const seen *has, char *msg, size_t msgsz) {
  if (!has->source) return refuse(msg, msgsz, "source is required (gateway, pushed or prometheus)");
  const char *src = sy__rule_source_name(r->source);
  int prom = r->source == SY_RULE_PROMETHEUS;
  if (r->source == SY_RULE_GATEWAY && !has->provider)
    return refuse(msg, msgsz, "provider is required for source gateway");
  if (r->source != SY_RULE_GATEWAY && has->provider)
    return refuse(msg, msgsz, "provider is only for source gateway, not %s", src);
  if (r->source == SY_RULE_PUSHED && !has->flag) return refuse(msg, msgsz, "flag is required for source pushed");
  if (r->source != SY_RULE_PUSHED && has->flag)
    return refuse(msg, msgsz, "flag is only for source pushed, not %s", src);
  if (r->source != SY_RULE_PUSHED && has->variant)
    return refuse(msg, msgsz, "variant is only for source pushed, not %s", src);
  if (prom && !has->query) return refuse(msg, msgsz, "query is required for source prometheus");
  if (!prom && has->query) return refuse(msg, msgsz, "query is only for source prometheus, not %s", src);
  if (!prom && has->url) return refuse(msg, msgsz, "url is only for source prometheus, not %s", src);
  if (!prom && !has->metric)
    return refuse(msg, msgsz, "metric is required for source %s; one of %s", src, sy__metric_names());
  if (prom && has->metric) return refuse(msg, msgsz, "metric is not for source prometheus: the query is the metric");
  if (!has->op) return refuse(msg, msgsz, "op is required (>, >=, < or <=)");
  if (!has->threshold) return refuse(msg, msgsz, "threshold is required (a number)");
  if (!has->period) return refuse(msg, msgsz, "period is required (\"5m\", or a number of seconds)");
  if (!prom && (r->period_ms < MINUTE_MS || r->period_ms > HOUR_MS || r->period_ms % MINUTE_MS))
    return refuse(msg, msgsz, "period must be a whole number of minutes from 1m to 60m for source %s", src);
  if (prom && (r->period_ms < 1000 || r->period_ms > DAY_MS))
    return refuse(msg, msgsz, "period must be from 1s to 1d for source prometheus");
  return SY_OK;
}

/* The rule's name from its key: 0, or -1 when the key is not SY_ALERT_RULES_PREFIX NAME. */
static int name_from_key(const char *key, sy_alert_rule *r) {
  static const char prefix[] = SY_ALERT_RULES_PREFIX;
  if (!key) return -1;
  if (key[0] == '/') key++;
  if (strncmp(key, prefix + 1, sizeof prefix - 2)) return -1;
  const char *name = key + sizeof prefix - 2;
  size_t n = strlen(name);
  if (!name_ok(name, n, SY_ALERT_RULE_NAME_MAX)) return -1;
  memcpy(r->name, name, n + 1);
  return 0;
}

sy_rc sy__alert_rule_compile(const char *key, const char *value, size_t len, sy_alert_rule **out, char *msg,
                             size_t msgsz) {
  sy_rc rc;
  json_error_t err;
  json_t *doc = NULL;
  sy_alert_rule *r = NULL;
  *out = NULL;
  if (!value) return refuse(msg, msgsz, "value must be a JSON object");
  doc = json_loadb(value, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
  if (!doc)
    return refuse(msg, msgsz, "value is not valid JSON: %s (line %d, column %d)", err.text, err.line, err.column);
  rc = refuse(msg, msgsz, "value must be a JSON object");
  if (!json_is_object(doc)) goto out;
  rc = SY_ENOMEM;
  r = calloc(1, sizeof *r);
  if (!r) goto out;
  r->periods = 1;
  r->severity = 1;
  rc = SY_EINVAL;
  if (name_from_key(key, r)) {
    refuse(msg, msgsz, "an alert rule lives at %sNAME (NAME 1 to %d of A-Z a-z 0-9 _ . -), not /%.300s",
           SY_ALERT_RULES_PREFIX, SY_ALERT_RULE_NAME_MAX, key ? (key[0] == '/' ? key + 1 : key) : "");
    goto out;
  }
  seen has = {0};
  rc = rule_fields(doc, r, &has, msg, msgsz);
  if (!rc) rc = rule_check(r, &has, msg, msgsz);
out:
  json_decref(doc);
  if (rc) {
    sy__alert_rule_free(r);
    r = NULL;
  }
  *out = r;
  return rc;
}

void sy__alert_rule_free(sy_alert_rule *r) {
  if (!r) return;
  free(r->flag);
  free(r->query);
  free(r->url);
  free(r->description);
  free(r);
}

sy_rc sy__alert_rule_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                                  char *msg, size_t msgsz) {
  (void)schema;
  sy_alert_rule *r = NULL;
  sy_rc rc = sy__alert_rule_compile(key, value, len, &r, msg, msgsz);
  *obj = r;
  return rc;
}

void sy__alert_rule_kind_release(void *obj) { sy__alert_rule_free(obj); }

/* ---- consecutive periods ---- */

void sy__rule_track_init(sy_rule_track *t) {
  memset(t, 0, sizeof *t);
  t->last = SY_RULE_NONE;
}

int sy__alert_rule_breach(const sy_alert_rule *r, double value) {
  switch (r->op) {
  case SY_RULE_GT: return value > r->threshold;
  case SY_RULE_GE: return value >= r->threshold;
  case SY_RULE_LT: return value < r->threshold;
  case SY_RULE_LE: return value <= r->threshold;
  }
  return 0;
}

/* floor(a / b) for b > 0, also for a < 0. */
static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && a < 0); }

/* One period: reads it and moves the count. */
static void evaluate_period(const sy_alert_rule *r, sy_rule_track *t, int64_t from_ms, int64_t to_ms,
                            sy_rule_read_fn read, void *ctx) {
  double v = 0;
  t->why[0] = 0;
  t->has_value = read(ctx, r, from_ms, to_ms, &v, t->why, sizeof t->why) == 0 && isfinite(v);
  t->value = t->has_value ? v : 0;
  if (t->has_value) t->why[0] = 0;
  if (t->has_value && sy__alert_rule_breach(r, v))
    t->count = t->count < INT32_MAX ? t->count + 1 : t->count;
  else
    t->count = 0;
}

int sy__alert_rule_advance(const sy_alert_rule *r, sy_rule_track *t, int64_t now_ms, sy_rule_read_fn read, void *ctx) {
  if (r->period_ms <= 0) return 0;
  int64_t done = floor_div(now_ms, r->period_ms) - 1; /* the last completed period */
  if (t->last != SY_RULE_NONE && done <= t->last) return 0;
  if (r->source == SY_RULE_PROMETHEUS) {
    if (t->last != SY_RULE_NONE && done > t->last + 1) t->count = 0; /* periods went by unread */
    evaluate_period(r, t, 0, 0, read, ctx);
    t->last = done;
    return 1;
  }
  int64_t first = t->last == SY_RULE_NONE ? done : t->last + 1;
  if (done - first > r->periods) { /* more missed than can matter: the last periods + 1 */
    first = done - r->periods;
    t->count = 0;
  }
  int n = 0;
  for (int64_t p = first; p <= done; p++, n++)
    evaluate_period(r, t, p * r->period_ms, (p + 1) * r->period_ms, read, ctx);
  t->last = done;
  return n;
}

int sy__alert_rule_firing(const sy_alert_rule *r, const sy_rule_track *t) { return t->count >= r->periods; }

/* A value as words: integers without decimals, others with up to 4 significant digits. */
static void fmt_value(double v, char *out, size_t cap) {
  if (fabs(v) < 1e15 && v == floor(v))
    snprintf(out, cap, "%.0f", v);
  else
    snprintf(out, cap, "%.4g", v);
}

void sy__alert_rule_message(const sy_alert_rule *r, const sy_rule_track *t, const char *what, char *out, size_t cap) {
  char val[48], thr[48], per[32];
  fmt_value(t->value, val, sizeof val);
  fmt_value(r->threshold, thr, sizeof thr);
  sy__rule_duration_fmt(r->period_ms, per, sizeof per);
  const char *unit = r->metric ? sy__metric_unit(r->metric) : "";
  const char *mname = r->metric ? sy__metric_name(r->metric) : "value";
  snprintf(out, cap, "%s %s%s %s %s%s for %d consecutive period%s of %s (%s)", mname, val, unit,
           sy__rule_op_name(r->op), thr, unit, t->count, t->count == 1 ? "" : "s", per, what);
}

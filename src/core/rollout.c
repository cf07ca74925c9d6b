/* rollout.c — rollout plans (kind Rollout), their state (kind RolloutState), the judgement
 * of gates over counts, the state machine, and the edit of a target document. */
#include "core/rollout.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alert_rule.h"
#include "core/civil.h"
#include "core/param.h"

#define MSG(...) snprintf(msg, msgsz, __VA_ARGS__)
#define DURATION_MAX_MS (366LL * 86400000LL)

/* ---- small readers ---- */

int sy__rollout_name_ok(const char *name) {
  size_t n = strlen(name);
  if (!n || n > SY_ROLLOUT_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
          c == '-'))
      return 0;
  }
  return 1;
}

int sy__rollout_name_of(const char *docname, char out[SY_ROLLOUT_NAME_MAX + 1]) {
  static const char *const prefixes[] = {SY_ROLLOUTS_PREFIX, SY_ROLLOUT_STATE_PREFIX};
  if (docname[0] == '/') docname++;
  for (int i = 0; i < 2; i++) {
    const char *pre = prefixes[i] + 1; /* without its leading '/' */
    size_t pn = strlen(pre);
    if (strncmp(docname, pre, pn)) continue;
    const char *name = docname + pn;
    if (!sy__rollout_name_ok(name)) return -1;
    memcpy(out, name, strlen(name) + 1);
    return 0;
  }
  return -1;
}

/* "90s", "5m", "1h", "3d", "1w", "500ms", or a number of seconds, into ms (0..366 days). */
int sy__duration_parse(const json_t *v, int64_t *ms) {
  int64_t x;
  if (json_is_number(v)) {
    double d = json_number_value(v) * 1000.0;
    if (!(d >= 0) || d > (double)DURATION_MAX_MS) return -1;
    x = (int64_t)llround(d);
  } else if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
             sy__rule_duration_ms(json_string_value(v), &x)) {
    return -1;
  }
  if (x > DURATION_MAX_MS) return -1;
  *ms = x;
  return 0;
}

/* A percent of 0..100 with at most two decimals, into hundredths. */
static int cents_parse(const json_t *v, int32_t *out) {
  if (!json_is_number(v)) return -1;
  double d = json_number_value(v), c = round(d * 100.0);
  if (!(d >= 0 && d <= 100) || fabs(d * 100.0 - c) > 1e-6) return -1;
  *out = (int32_t)c;
  return 0;
}

static void cents_text(int32_t c, char *out, size_t cap) {
  if (c % 100 == 0)
    snprintf(out, cap, "%d%%", c / 100);
  else
    snprintf(out, cap, "%d.%02d%%", c / 100, c % 100);
}

json_t *sy__cents_json(int32_t c) { return c % 100 == 0 ? json_integer(c / 100) : json_real((double)c / 100.0); }

/* The first member of o not in allowed, or NULL. */
static const char *unknown_key(const json_t *o, const char *const *allowed) {
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)o, k, v) {
    int ok = 0;
    for (int i = 0; allowed[i] && !ok; i++) ok = !strcmp(allowed[i], k);
    if (!ok) return k;
  }
  return NULL;
}

static void fmt_num(double x, char *out, size_t cap) {
  if (x == floor(x) && fabs(x) < 1e15)
    snprintf(out, cap, "%.0f", x);
  else
    snprintf(out, cap, "%.4g", x);
}

/* ---- the plan ---- */

static const char *const severities[] = {"critical", "warning", "info", NULL};

/* Compiles one gate of field at (e.g. "steps[1].gates[0]") into g. */
static sy_rc gate_compile(const sy_rollout *p, const char *at, const json_t *o, sy_gate *g, char *msg, size_t msgsz) {
  static const char *const keys[] = {"metric",  "min",   "max", "max_baseline_ratio", "severity",    "scope", "source",
                                     "variant", "query", "url", "min_samples",        "description", NULL};
  if (!json_is_object(o)) return MSG("%s: must be an object", at), SY_EINVAL;
  const char *bad = unknown_key(o, keys);
  if (bad) return MSG("%s: unknown field \"%.64s\"", at, bad), SY_EINVAL;
  const json_t *m = json_object_get(o, "metric");
  if (!json_is_string(m)) return MSG("%s.metric: required, a string", at), SY_EINVAL;
  const char *mn = json_string_value(m);
  g->min_samples = -1;
  const json_t *mi = json_object_get(o, "min"), *ma = json_object_get(o, "max"),
               *ra = json_object_get(o, "max_baseline_ratio");
  for (int i = 0; i < 3; i++) {
    const json_t *b = i == 0 ? mi : i == 1 ? ma : ra;
    const char *bn = i == 0 ? "min" : i == 1 ? "max" : "max_baseline_ratio";
    if (b && (!json_is_number(b) || !isfinite(json_number_value(b)) || json_number_value(b) < 0))
      return MSG("%s.%s: must be a number of at least 0", at, bn), SY_EINVAL;
  }
  g->has_min = mi != NULL;
  g->has_max = ma != NULL;
  g->has_ratio = ra != NULL;
  g->min = mi ? json_number_value(mi) : 0;
  g->max = ma ? json_number_value(ma) : 0;
  g->ratio = ra ? json_number_value(ra) : 0;
  const json_t *sev = json_object_get(o, "severity"), *scope = json_object_get(o, "scope"),
               *src = json_object_get(o, "source"), *var = json_object_get(o, "variant"),
               *q = json_object_get(o, "query"), *url = json_object_get(o, "url"),
               *ms = json_object_get(o, "min_samples");
  if (strcmp(mn, "alerts") && (sev || scope))
    return MSG("%s: severity and scope are for the alerts gate", at), SY_EINVAL;
  if (strcmp(mn, "prometheus") && (q || url))
    return MSG("%s: query and url are for the prometheus gate", at), SY_EINVAL;
  if (!strcmp(mn, "alerts") || !strcmp(mn, "provider_status")) {
    if (g->has_min || g->has_max || g->has_ratio) return MSG("%s: the %s gate takes no bound", at, mn), SY_EINVAL;
    if (src || var || ms) return MSG("%s: the %s gate takes no source, variant or min_samples", at, mn), SY_EINVAL;
  }
  if (!strcmp(mn, "alerts")) {
    g->kind = SY_GATE_ALERTS;
    g->severity = 0;
    if (sev) {
      g->severity = -1;
      for (int i = 0; json_is_string(sev) && severities[i]; i++)
        if (!strcmp(json_string_value(sev), severities[i])) g->severity = i;
      if (g->severity < 0) return MSG("%s.severity: one of critical, warning, info", at), SY_EINVAL;
    }
    if (scope) {
      if (!json_is_string(scope) ||
          (strcmp(json_string_value(scope), "target") && strcmp(json_string_value(scope), "any")))
        return MSG("%s.scope: one of target, any", at), SY_EINVAL;
      g->scope_any = !strcmp(json_string_value(scope), "any");
    }
    snprintf(g->label, sizeof g->label, "no %s alert%s", severities[g->severity], g->scope_any ? "" : " on the target");
    return SY_OK;
  }
  if (!strcmp(mn, "provider_status")) {
    if (p->is_flag) return MSG("%s: provider_status applies to a route target", at), SY_EINVAL;
    g->kind = SY_GATE_PROVIDER_STATUS;
    snprintf(g->label, sizeof g->label, "provider %s neither offline nor degraded", p->provider);
    return SY_OK;
  }
  if (g->has_min + g->has_max + g->has_ratio == 0)
    return MSG("%s: a bound is required: min, max%s", at, strcmp(mn, "prometheus") ? " or max_baseline_ratio" : ""),
           SY_EINVAL;
  if (g->has_min && (g->has_max || g->has_ratio)) return MSG("%s: min and max are exclusive; one bound", at), SY_EINVAL;
  char b[40];
  fmt_num(g->has_min ? g->min : g->max, b, sizeof b);
  if (!strcmp(mn, "prometheus")) {
    if (g->has_ratio) return MSG("%s.max_baseline_ratio: not for the prometheus gate", at), SY_EINVAL;
    if (src || var || ms) return MSG("%s: the prometheus gate takes no source, variant or min_samples", at), SY_EINVAL;
    if (!json_is_string(q) || !json_string_length(q) || json_string_length(q) > SY_ROLLOUT_QUERY_MAX)
      return MSG("%s.query: required, 1 to %d bytes", at, SY_ROLLOUT_QUERY_MAX), SY_EINVAL;
    if (url) {
      const char *u = json_is_string(url) ? json_string_value(url) : "";
      if ((strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) || json_string_length(url) > 1024 || strchr(u, ' '))
        return MSG("%s.url: an http:// or https:// URL of at most 1024 bytes", at), SY_EINVAL;
      if (!(g->url = strdup(u))) return SY_ENOMEM;
    }
    if (!(g->query = strdup(json_string_value(q)))) return SY_ENOMEM;
    g->kind = SY_GATE_PROMETHEUS;
    snprintf(g->label, sizeof g->label, "prometheus %s %s", g->has_min ? ">=" : "<=", b);
    return SY_OK;
  }
  g->kind = SY_GATE_METRIC;
  g->metric = sy__metric_parse(mn);
  if (!g->metric)
    return MSG("%s.metric: unknown metric \"%.64s\"; one of %s, alerts, provider_status, prometheus", at, mn,
               sy__metric_names()),
           SY_EINVAL;
  if (g->has_ratio && g->metric != SY_METRIC_P50_MS && g->metric != SY_METRIC_P95_MS && g->metric != SY_METRIC_P99_MS)
    return MSG("%s.max_baseline_ratio: only for p50_ms, p95_ms and p99_ms", at), SY_EINVAL;
  if (g->has_ratio && g->has_max) return MSG("%s: max and max_baseline_ratio are exclusive; one bound", at), SY_EINVAL;
  if (g->has_ratio && !(g->ratio > 0)) return MSG("%s.max_baseline_ratio: must be above 0", at), SY_EINVAL;
  if (g->metric == SY_METRIC_ERROR_RATE && ((g->has_max && g->max > 100) || (g->has_min && g->min > 100)))
    return MSG("%s: error_rate is a percent: a bound of at most 100", at), SY_EINVAL;
  if (src) {
    const char *s = json_is_string(src) ? json_string_value(src) : "";
    if (!strcmp(s, "gateway")) {
      if (p->is_flag) return MSG("%s.source: gateway applies to a route target; a flag's is pushed", at), SY_EINVAL;
      g->source = SY_GSRC_GATEWAY;
    } else if (!strcmp(s, "pushed")) {
      if (!p->is_flag) return MSG("%s.source: pushed applies to a flag target; a route's is gateway", at), SY_EINVAL;
      g->source = SY_GSRC_PUSHED;
    } else {
      return MSG("%s.source: one of gateway, pushed", at), SY_EINVAL;
    }
  }
  if (var) {
    if (!p->is_flag) return MSG("%s.variant: only for a flag target", at), SY_EINVAL;
    if (!json_is_string(var) || !json_string_length(var) || json_string_length(var) >= sizeof g->variant)
      return MSG("%s.variant: a string of 1 to %zu bytes", at, sizeof g->variant - 1), SY_EINVAL;
    memcpy(g->variant, json_string_value(var), json_string_length(var) + 1);
  }
  if (ms) {
    if (!json_is_integer(ms) || json_integer_value(ms) < 0 || json_integer_value(ms) > 1000000000)
      return MSG("%s.min_samples: an integer from 0 to 1000000000", at), SY_EINVAL;
    g->min_samples = json_integer_value(ms);
  }
  if (g->has_ratio) {
    char r[40];
    fmt_num(g->ratio, r, sizeof r);
    snprintf(g->label, sizeof g->label, "%s <= %sx baseline", mn, r);
  } else {
    snprintf(g->label, sizeof g->label, "%s %s %s%s", mn, g->has_min ? ">=" : "<=", b, sy__metric_unit(g->metric));
  }
  return SY_OK;
}

static void gate_clear(sy_gate *g) {
  free(g->query);
  free(g->url);
}

void sy__rollout_free(sy_rollout *p) {
  if (!p) return;
  for (int i = 0; i < p->ngates; i++) gate_clear(&p->gates[i]);
  free(p->gates);
  free(p->flag);
  free(p->route);
  free(p->target_id);
  free(p);
}

static sy_rc target_compile(sy_rollout *p, const json_t *t, char *msg, size_t msgsz) {
  static const char *const keys[] = {"flag", "route", "provider", NULL};
  if (!json_is_object(t))
    return MSG("target: required, {\"flag\": KEY} or {\"route\": PATH, \"provider\": NAME}"), SY_EINVAL;
  const char *bad = unknown_key(t, keys);
  if (bad) return MSG("target: unknown field \"%.64s\"", bad), SY_EINVAL;
  const json_t *f = json_object_get(t, "flag"), *r = json_object_get(t, "route"), *pv = json_object_get(t, "provider");
  char why[256], name[SY_NAME_MAX + 2];
  if (f) {
    if (r || pv) return MSG("target: a flag or a route and provider, not both"), SY_EINVAL;
    const char *k = json_is_string(f) ? json_string_value(f) : "";
    while (*k == '/') k++;
    if (!*k || strlen(k) >= SY_NAME_MAX) return MSG("target.flag: a flag's key"), SY_EINVAL;
    snprintf(name, sizeof name, "/%s", k);
    if (sy__name_check(name, strlen(name), why, sizeof why)) return MSG("target.flag: %s", why), SY_EINVAL;
    p->is_flag = 1;
    if (!(p->flag = strdup(k))) return SY_ENOMEM;
    size_t n = strlen(k) + 8;
    if (!(p->target_id = malloc(n))) return SY_ENOMEM;
    snprintf(p->target_id, n, "flag:%s", k);
    return SY_OK;
  }
  if (!r || !pv) return MSG("target: {\"flag\": KEY} or {\"route\": PATH, \"provider\": NAME}"), SY_EINVAL;
  const char *rs = json_is_string(r) ? json_string_value(r) : "";
  if (rs[0] != '/' || strlen(rs) > SY_NAME_MAX)
    return MSG("target.route: a route document's name, starting with /"), SY_EINVAL;
  if (sy__name_check(rs, strlen(rs), why, sizeof why)) return MSG("target.route: %s", why), SY_EINVAL;
  const char *ps = json_is_string(pv) ? json_string_value(pv) : "";
  if (!sy__rollout_name_ok(ps))
    return MSG("target.provider: a provider's name, 1 to 64 of A-Z a-z 0-9 _ . -"), SY_EINVAL;
  memcpy(p->provider, ps, strlen(ps) + 1);
  if (!(p->route = strdup(rs))) return SY_ENOMEM;
  size_t n = strlen(rs) + strlen(ps) + 16;
  if (!(p->target_id = malloc(n))) return SY_ENOMEM;
  snprintf(p->target_id, n, "route:%s:%s", rs, ps);
  return SY_OK;
}

static sy_rc gates_count(const json_t *a, const char *at, size_t *n, char *msg, size_t msgsz) {
  if (!a) return SY_OK;
  if (!json_is_array(a)) return MSG("%s: must be an array", at), SY_EINVAL;
  *n += json_array_size(a);
  return SY_OK;
}

static sy_rc plan_compile(sy_rollout *p, const json_t *doc, char *msg, size_t msgsz) {
  static const char *const keys[] = {"description", "target",   "steps",       "gates", "on_breach",
                                     "start_at",    "rollback", "min_samples", NULL};
  static const char *const step_keys[] = {"percent", "bake", "gates", "not_before", "approval", "description", NULL};
  if (!json_is_object(doc)) return MSG("a rollout plan is a JSON object"), SY_EINVAL;
  const char *bad = unknown_key(doc, keys);
  if (bad) return MSG("unknown field \"%.64s\"", bad), SY_EINVAL;
  const json_t *d = json_object_get(doc, "description");
  if (d && (!json_is_string(d) || json_string_length(d) > 1024))
    return MSG("description: a string of at most 1024 bytes"), SY_EINVAL;
  sy_rc rc = target_compile(p, json_object_get(doc, "target"), msg, msgsz);
  if (rc) return rc;
  const json_t *steps = json_object_get(doc, "steps"), *gates = json_object_get(doc, "gates");
  if (!json_is_array(steps) || !json_array_size(steps) || json_array_size(steps) > SY_ROLLOUT_STEPS_MAX)
    return MSG("steps: required, an array of 1 to %d steps", SY_ROLLOUT_STEPS_MAX), SY_EINVAL;
  size_t total = 0;
  if ((rc = gates_count(gates, "gates", &total, msg, msgsz))) return rc;
  size_t plan_gates = total;
  char at[64];
  for (size_t i = 0; i < json_array_size(steps); i++) {
    const json_t *s = json_array_get(steps, i);
    snprintf(at, sizeof at, "steps[%zu].gates", i);
    if (json_is_object(s) && (rc = gates_count(json_object_get(s, "gates"), at, &total, msg, msgsz))) return rc;
    size_t own = json_is_object(s) && json_object_get(s, "gates") ? json_array_size(json_object_get(s, "gates")) : 0;
    if (plan_gates + own > SY_ROLLOUT_GATES_MAX)
      return MSG("steps[%zu]: %zu gates with the plan's; the limit is %d", i, plan_gates + own, SY_ROLLOUT_GATES_MAX),
             SY_EINVAL;
  }
  p->gates = calloc(total ? total : 1, sizeof *p->gates);
  if (!p->gates) return SY_ENOMEM;
  const json_t *mss = json_object_get(doc, "min_samples");
  p->min_samples = SY_ROLLOUT_MIN_SAMPLES;
  if (mss) {
    if (!json_is_integer(mss) || json_integer_value(mss) < 0 || json_integer_value(mss) > 1000000000)
      return MSG("min_samples: an integer from 0 to 1000000000"), SY_EINVAL;
    p->min_samples = json_integer_value(mss);
  }
  for (size_t i = 0; i < plan_gates; i++) {
    snprintf(at, sizeof at, "gates[%zu]", i);
    if ((rc = gate_compile(p, at, json_array_get(gates, i), &p->gates[p->ngates++], msg, msgsz))) return rc;
  }
  for (size_t i = 0; i < json_array_size(steps); i++) {
    const json_t *s = json_array_get(steps, i);
    sy_rollout_step *st = &p->steps[p->nsteps++];
    if (!json_is_object(s)) return MSG("steps[%zu]: must be an object", i), SY_EINVAL;
    if ((bad = unknown_key(s, step_keys))) return MSG("steps[%zu]: unknown field \"%.64s\"", i, bad), SY_EINVAL;
    const json_t *pc = json_object_get(s, "percent");
    if (!pc) return MSG("steps[%zu].percent: required", i), SY_EINVAL;
    if (cents_parse(pc, &st->cents))
      return MSG("steps[%zu].percent: a number from 0 to 100 with at most two decimals", i), SY_EINVAL;
    if (i > 0 && st->cents <= p->steps[i - 1].cents) {
      char prev[16];
      cents_text(p->steps[i - 1].cents, prev, sizeof prev);
      return MSG("steps[%zu].percent must be above steps[%zu].percent (%s): steps rise", i, i - 1, prev), SY_EINVAL;
    }
    const json_t *bk = json_object_get(s, "bake");
    if (bk && sy__duration_parse(bk, &st->bake_ms))
      return MSG("steps[%zu].bake: a duration such as \"90s\", \"5m\", \"1h\", \"3d\" or \"1w\" (at most 366 days)", i),
             SY_EINVAL;
    const json_t *nb = json_object_get(s, "not_before");
    if (nb) {
      st->not_before_ms = json_is_string(nb) ? sy__parse_time(json_string_value(nb)) : -1;
      if (st->not_before_ms < 0)
        return MSG("steps[%zu].not_before: an RFC 3339 time such as \"2027-01-04T09:00:00Z\"", i), SY_EINVAL;
    }
    const json_t *ap = json_object_get(s, "approval");
    if (ap && !json_is_boolean(ap)) return MSG("steps[%zu].approval: true or false", i), SY_EINVAL;
    st->approval = json_is_true(ap);
    for (size_t k = 0; k < plan_gates; k++) st->gates[st->ngates++] = &p->gates[k];
    const json_t *sg = json_object_get(s, "gates");
    for (size_t k = 0; k < json_array_size(sg); k++) {
      snprintf(at, sizeof at, "steps[%zu].gates[%zu]", i, k);
      sy_gate *g = &p->gates[p->ngates++];
      if ((rc = gate_compile(p, at, json_array_get(sg, k), g, msg, msgsz))) return rc;
      st->gates[st->ngates++] = g;
    }
  }
  const json_t *ob = json_object_get(doc, "on_breach");
  p->on_breach = SY_BREACH_ROLLBACK;
  if (ob) {
    const char *s = json_is_string(ob) ? json_string_value(ob) : "";
    p->on_breach = !strcmp(s, "rollback")   ? SY_BREACH_ROLLBACK
                   : !strcmp(s, "previous") ? SY_BREACH_PREVIOUS
                   : !strcmp(s, "pause")    ? SY_BREACH_PAUSE
                                            : 0;
    if (!p->on_breach) return MSG("on_breach: one of rollback, previous, pause"), SY_EINVAL;
  }
  const json_t *sa = json_object_get(doc, "start_at");
  if (sa) {
    p->start_at_ms = json_is_string(sa) ? sy__parse_time(json_string_value(sa)) : -1;
    if (p->start_at_ms < 0) return MSG("start_at: an RFC 3339 time such as \"2027-01-04T09:00:00Z\""), SY_EINVAL;
  }
  p->rb_wait_ms = 3600000;
  const json_t *rb = json_object_get(doc, "rollback");
  if (rb) {
    static const char *const rb_keys[] = {"steps", "wait", NULL};
    if (!json_is_object(rb)) return MSG("rollback: an object {\"steps\": [...], \"wait\": \"1h\"}"), SY_EINVAL;
    if ((bad = unknown_key(rb, rb_keys))) return MSG("rollback: unknown field \"%.64s\"", bad), SY_EINVAL;
    const json_t *w = json_object_get(rb, "wait"), *rs = json_object_get(rb, "steps");
    if (w && sy__duration_parse(w, &p->rb_wait_ms)) return MSG("rollback.wait: a duration such as \"1h\""), SY_EINVAL;
    if (rs) {
      if (!json_is_array(rs) || !json_array_size(rs) || json_array_size(rs) > SY_ROLLOUT_STEPS_MAX + 1)
        return MSG("rollback.steps: an array of 1 to %d percents", SY_ROLLOUT_STEPS_MAX + 1), SY_EINVAL;
      for (size_t i = 0; i < json_array_size(rs); i++) {
        int32_t c;
        if (cents_parse(json_array_get(rs, i), &c))
          return MSG("rollback.steps[%zu]: a number from 0 to 100 with at most two decimals", i), SY_EINVAL;
        if (i > 0 && c >= p->rb_cents[i - 1])
          return MSG("rollback.steps[%zu] must be below rollback.steps[%zu]: a rollback falls", i, i - 1), SY_EINVAL;
        p->rb_cents[p->nrb++] = c;
      }
      if (p->rb_cents[p->nrb - 1] != 0) return MSG("rollback.steps: the last must be 0"), SY_EINVAL;
    }
  }
  return SY_OK;
}

sy_rc sy__rollout_compile(const char *key, const char *value, size_t len, sy_rollout **out, char *msg, size_t msgsz) {
  *out = NULL;
  char name[SY_ROLLOUT_NAME_MAX + 1];
  static const char pre[] = "switchyard/rollouts/";
  if (strncmp(key, pre, sizeof pre - 1) || sy__rollout_name_of(key, name))
    return MSG("a rollout plan lives at %sNAME, NAME 1 to %d of A-Z a-z 0-9 _ . -", SY_ROLLOUTS_PREFIX,
               SY_ROLLOUT_NAME_MAX),
           SY_EINVAL;
  json_error_t e;
  json_t *doc = json_loadb(value, len, JSON_REJECT_DUPLICATES, &e);
  if (!doc) return MSG("not JSON: %s at line %d, column %d", e.text, e.line, e.column), SY_EINVAL;
  sy_rollout *p = calloc(1, sizeof *p);
  if (!p) {
    json_decref(doc);
    return SY_ENOMEM;
  }
  memcpy(p->name, name, strlen(name) + 1);
  sy_rc rc = plan_compile(p, doc, msg, msgsz);
  json_decref(doc);
  if (rc) {
    if (rc == SY_ENOMEM) MSG("out of memory");
    sy__rollout_free(p);
    return rc;
  }
  *out = p;
  return SY_OK;
}

sy_rc sy__rollout_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                               char *msg, size_t msgsz) {
  (void)schema;
  sy_rollout *p = NULL;
  sy_rc rc = sy__rollout_compile(key, value, len, &p, msg, msgsz);
  *obj = p;
  return rc;
}

void sy__rollout_kind_release(void *obj) { sy__rollout_free(obj); }

/* ---- state ---- */

static const char *const phase_names[] = {"none",   "scheduled",    "running",     "awaiting_approval",
                                          "paused", "rolling_back", "rolled_back", "completed",
                                          "aborted"};

const char *sy__phase_name(sy_phase p) {
  return (unsigned)p < sizeof phase_names / sizeof *phase_names ? phase_names[p] : "?";
}

static sy_phase phase_parse(const char *s) {
  for (size_t i = 1; i < sizeof phase_names / sizeof *phase_names; i++)
    if (!strcmp(s, phase_names[i])) return (sy_phase)i;
  return SY_PHASE_NONE;
}

int sy__phase_active(sy_phase p) {
  return p == SY_PHASE_SCHEDULED || p == SY_PHASE_RUNNING || p == SY_PHASE_AWAITING_APPROVAL || p == SY_PHASE_PAUSED ||
         p == SY_PHASE_ROLLING_BACK;
}

int64_t sy__rollout_baked_ms(const sy_rollout_state *s, int64_t now_ms) {
  int64_t t = now_ms - s->step_started_ms - s->paused_ms;
  if (s->phase == SY_PHASE_PAUSED && s->paused_at_ms) t -= now_ms - s->paused_at_ms;
  return t > 0 ? t : 0;
}

json_t *sy__time_json(int64_t ms) {
  if (!ms) return json_null();
  char t[40];
  sy__fmt_time(ms, t, sizeof t);
  return json_string(t);
}

static int time_read(const json_t *v, int64_t *ms) {
  if (!v || json_is_null(v)) {
    *ms = 0;
    return 0;
  }
  *ms = json_is_string(v) ? sy__parse_time(json_string_value(v)) : -1;
  return *ms < 0 ? -1 : 0;
}

char *sy__rollout_state_json(const sy_rollout_state *s) {
  json_t *o = sy__rollout_state_obj(s);
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return text;
}

json_t *sy__rollout_state_obj(const sy_rollout_state *s) {
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "plan_version", json_integer(s->plan_version));
  json_object_set_new(o, "phase", json_string(sy__phase_name(s->phase)));
  if (s->phase == SY_PHASE_PAUSED) json_object_set_new(o, "paused_from", json_string(sy__phase_name(s->paused_from)));
  json_object_set_new(o, "step", json_integer(s->step));
  json_object_set_new(o, "percent", sy__cents_json(s->cents));
  json_object_set_new(o, "started_at", sy__time_json(s->started_ms));
  json_object_set_new(o, "step_started_at", sy__time_json(s->step_started_ms));
  json_object_set_new(o, "paused_at", sy__time_json(s->paused_at_ms));
  json_object_set_new(o, "paused_ms", json_integer(s->paused_ms));
  json_object_set_new(o, "baseline_p95_ms", s->baseline_p95_ms >= 0 ? json_real(s->baseline_p95_ms) : json_null());
  if (s->phase == SY_PHASE_ROLLING_BACK || (s->phase == SY_PHASE_PAUSED && s->paused_from == SY_PHASE_ROLLING_BACK)) {
    json_t *steps = json_array();
    for (int i = 0; i < s->nrb; i++) json_array_append_new(steps, sy__cents_json(s->rb_cents[i]));
    json_object_set_new(
        o, "rollback",
        json_pack("{sb so so}", "gradual", s->gradual, "steps", steps, "next_at", sy__time_json(s->rb_next_ms)));
  } else {
    json_object_set_new(o, "rollback", json_null());
  }
  if (s->breach.set) {
    json_t *b = json_pack("{ss si so ss}", "gate", s->breach.gate, "step", s->breach.step, "percent",
                          sy__cents_json(s->breach.cents), "message", s->breach.message);
    if (b && s->breach.has_value) {
      json_object_set_new(b, "value", json_real(s->breach.value));
      json_object_set_new(b, "bound", json_real(s->breach.bound));
    }
    json_object_set_new(o, "breach", b ? b : json_null());
  } else {
    json_object_set_new(o, "breach", json_null());
  }
  json_object_set_new(o, "reason", json_string(s->reason));
  json_object_set_new(o, "transitions", json_integer(s->transitions));
  json_object_set_new(o, "updated_at", sy__time_json(s->updated_ms));
  return o;
}

static sy_rc state_read(const json_t *o, sy_rollout_state *s, char *msg, size_t msgsz) {
  static const char *const keys[] = {"plan_version", "phase",           "paused_from",     "step",
                                     "percent",      "started_at",      "step_started_at", "paused_at",
                                     "paused_ms",    "baseline_p95_ms", "rollback",        "breach",
                                     "reason",       "transitions",     "updated_at",      NULL};
  memset(s, 0, sizeof *s);
  s->baseline_p95_ms = -1;
  if (!json_is_object(o)) return MSG("a rollout state is a JSON object"), SY_EINVAL;
  const char *bad = unknown_key(o, keys);
  if (bad) return MSG("unknown field \"%.64s\"", bad), SY_EINVAL;
  const json_t *v = json_object_get(o, "phase");
  if (!json_is_string(v) || !(s->phase = phase_parse(json_string_value(v))))
    return MSG("phase: one of scheduled, running, awaiting_approval, paused, rolling_back, rolled_back, completed, "
               "aborted"),
           SY_EINVAL;
  if ((v = json_object_get(o, "paused_from")) &&
      (!json_is_string(v) || !(s->paused_from = phase_parse(json_string_value(v)))))
    return MSG("paused_from: a phase"), SY_EINVAL;
  if (s->phase == SY_PHASE_PAUSED && !s->paused_from) s->paused_from = SY_PHASE_RUNNING;
  v = json_object_get(o, "plan_version");
  if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) return MSG("plan_version: an integer"), SY_EINVAL;
  s->plan_version = v ? json_integer_value(v) : 0;
  v = json_object_get(o, "step");
  if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) >= SY_ROLLOUT_STEPS_MAX)
    return MSG("step: an integer from -1 to %d", SY_ROLLOUT_STEPS_MAX - 1), SY_EINVAL;
  s->step = (int)json_integer_value(v);
  if (cents_parse(json_object_get(o, "percent"), &s->cents)) return MSG("percent: 0 to 100"), SY_EINVAL;
  if (time_read(json_object_get(o, "started_at"), &s->started_ms))
    return MSG("started_at: an RFC 3339 time"), SY_EINVAL;
  if (time_read(json_object_get(o, "step_started_at"), &s->step_started_ms))
    return MSG("step_started_at: an RFC 3339 time"), SY_EINVAL;
  if (time_read(json_object_get(o, "paused_at"), &s->paused_at_ms))
    return MSG("paused_at: an RFC 3339 time"), SY_EINVAL;
  if (time_read(json_object_get(o, "updated_at"), &s->updated_ms))
    return MSG("updated_at: an RFC 3339 time"), SY_EINVAL;
  v = json_object_get(o, "paused_ms");
  if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
    return MSG("paused_ms: an integer of at least 0"), SY_EINVAL;
  s->paused_ms = v ? json_integer_value(v) : 0;
  v = json_object_get(o, "transitions");
  if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) return MSG("transitions: an integer"), SY_EINVAL;
  s->transitions = v ? json_integer_value(v) : 0;
  v = json_object_get(o, "baseline_p95_ms");
  if (v && !json_is_null(v)) {
    if (!json_is_number(v) || json_number_value(v) < 0)
      return MSG("baseline_p95_ms: a number of at least 0"), SY_EINVAL;
    s->baseline_p95_ms = json_number_value(v);
  }
  v = json_object_get(o, "reason");
  if (v && !json_is_string(v)) return MSG("reason: a string"), SY_EINVAL;
  snprintf(s->reason, sizeof s->reason, "%s", v ? json_string_value(v) : "");
  v = json_object_get(o, "rollback");
  if (v && !json_is_null(v)) {
    const json_t *st = json_object_get(v, "steps");
    if (!json_is_object(v) || !json_is_array(st) || json_array_size(st) > SY_ROLLOUT_STEPS_MAX + 1)
      return MSG("rollback: {\"gradual\", \"steps\", \"next_at\"}"), SY_EINVAL;
    s->gradual = json_is_true(json_object_get(v, "gradual"));
    for (size_t i = 0; i < json_array_size(st); i++)
      if (cents_parse(json_array_get(st, i), &s->rb_cents[s->nrb++]))
        return MSG("rollback.steps[%zu]: 0 to 100", i), SY_EINVAL;
    if (time_read(json_object_get(v, "next_at"), &s->rb_next_ms))
      return MSG("rollback.next_at: an RFC 3339 time"), SY_EINVAL;
  }
  v = json_object_get(o, "breach");
  if (v && !json_is_null(v)) {
    if (!json_is_object(v)) return MSG("breach: an object"), SY_EINVAL;
    s->breach.set = 1;
    const json_t *g = json_object_get(v, "gate"), *m = json_object_get(v, "message"), *st = json_object_get(v, "step"),
                 *val = json_object_get(v, "value"), *bd = json_object_get(v, "bound");
    snprintf(s->breach.gate, sizeof s->breach.gate, "%s", json_is_string(g) ? json_string_value(g) : "");
    snprintf(s->breach.message, sizeof s->breach.message, "%s", json_is_string(m) ? json_string_value(m) : "");
    s->breach.step = json_is_integer(st) ? (int)json_integer_value(st) : 0;
    cents_parse(json_object_get(v, "percent"), &s->breach.cents);
    if (json_is_number(val) && json_is_number(bd)) {
      s->breach.has_value = 1;
      s->breach.value = json_number_value(val);
      s->breach.bound = json_number_value(bd);
    }
  }
  return SY_OK;
}

sy_rc sy__rollout_state_parse(const char *value, size_t len, sy_rollout_state *out, char *msg, size_t msgsz) {
  json_error_t e;
  json_t *o = json_loadb(value, len, JSON_REJECT_DUPLICATES, &e);
  if (!o) {
    memset(out, 0, sizeof *out);
    return MSG("not JSON: %s at line %d, column %d", e.text, e.line, e.column), SY_EINVAL;
  }
  sy_rc rc = state_read(o, out, msg, msgsz);
  json_decref(o);
  return rc;
}

sy_rc sy__rollout_state_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                                     char *msg, size_t msgsz) {
  (void)schema;
  *obj = NULL;
  static const char pre[] = "switchyard/rollout-state/";
  char name[SY_ROLLOUT_NAME_MAX + 1];
  if (strncmp(key, pre, sizeof pre - 1) || sy__rollout_name_of(key, name))
    return MSG("a rollout state lives at %sNAME", SY_ROLLOUT_STATE_PREFIX), SY_EINVAL;
  sy_rollout_state *s = malloc(sizeof *s);
  if (!s) return SY_ENOMEM;
  sy_rc rc = sy__rollout_state_parse(value, len, s, msg, msgsz);
  if (rc) {
    free(s);
    return rc;
  }
  *obj = s;
  return SY_OK;
}

void sy__rollout_state_kind_release(void *obj) { free(obj); }

/* ---- gates ---- */

const char *sy__gate_status_name(sy_gate_status s) {
  switch (s) {
  case SY_GATE_PASS: return "pass";
  case SY_GATE_WAIT: return "wait";
  case SY_GATE_BREACH: return "breach";
  case SY_GATE_UNKNOWN: return "unknown";
  }
  return "?";
}

static void detail(sy_gate_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void detail(sy_gate_result *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->detail, sizeof r->detail, fmt, ap);
  va_end(ap);
}

void sy__gate_judge(const sy_gate *g, const sy_counts *step, const sy_counts *baseline_step, double baseline_p95_ms,
                    int64_t plan_min_samples, sy_gate_result *out) {
  memset(out, 0, sizeof *out);
  out->gate = g;
  out->samples = step->requests;
  const char *mn = sy__metric_name(g->metric), *unit = sy__metric_unit(g->metric);
  int64_t need = g->min_samples >= 0 ? g->min_samples : plan_min_samples;
  double v = 0;
  int has = sy__metric_value(step, g->metric, &v) == 0;
  char vs[40], bs[40];
  if (has) {
    out->has_value = 1;
    out->value = v;
    fmt_num(v, vs, sizeof vs);
  }
  if (g->has_min) { /* a volume or a floor: never a breach, only not yet */
    out->bound = g->min;
    fmt_num(g->min, bs, sizeof bs);
    if (!has) {
      out->status = SY_GATE_WAIT;
      detail(out, "no %s yet (%lld requests)", mn, (long long)step->requests);
    } else {
      out->status = v >= g->min ? SY_GATE_PASS : SY_GATE_WAIT;
      detail(out, "%s %s%s %s %s%s", mn, vs, unit, v >= g->min ? ">=" : "<", bs, unit);
    }
    return;
  }
  double bound = g->max;
  if (g->has_ratio) {
    double base = baseline_p95_ms;
    const char *whence = "captured at the start";
    double live = 0;
    if (base < 0 && baseline_step && sy__metric_value(baseline_step, g->metric, &live) == 0) {
      base = live;
      whence = "in the same window";
    }
    if (base < 0) {
      out->status = SY_GATE_WAIT;
      detail(out, "no baseline %s yet", mn);
      return;
    }
    bound = g->ratio * base;
    char r[40], b0[40];
    fmt_num(g->ratio, r, sizeof r);
    fmt_num(base, b0, sizeof b0);
    fmt_num(bound, bs, sizeof bs);
    out->bound = bound;
    if (!has || step->requests < need) {
      out->status = SY_GATE_WAIT;
      detail(out, "%lld of %lld requests needed (bound %s ms = %sx baseline %s ms %s)", (long long)step->requests,
             (long long)need, bs, r, b0, whence);
      return;
    }
    out->status = v <= bound ? SY_GATE_PASS : SY_GATE_BREACH;
    detail(out, "%s %s ms %s %s ms (%sx baseline %s ms %s) over %lld requests", mn, vs, v <= bound ? "<=" : ">", bs, r,
           b0, whence, (long long)step->requests);
    return;
  }
  out->bound = bound;
  fmt_num(bound, bs, sizeof bs);
  /* counts (requests, errors, cost_usd) are judged at once; rates wait for the volume */
  int rate = g->metric != SY_METRIC_REQUESTS && g->metric != SY_METRIC_ERRORS && g->metric != SY_METRIC_COST_USD;
  if (!has || (rate && step->requests < need)) {
    out->status = SY_GATE_WAIT;
    detail(out, "%lld of %lld requests needed to judge %s", (long long)step->requests, (long long)need, mn);
    return;
  }
  out->status = v <= bound ? SY_GATE_PASS : SY_GATE_BREACH;
  detail(out, "%s %s%s %s %s%s over %lld requests", mn, vs, unit, v <= bound ? "<=" : ">", bs, unit,
         (long long)step->requests);
}

void sy__gate_judge_value(const sy_gate *g, int known, double value, const char *why, sy_gate_result *out) {
  memset(out, 0, sizeof *out);
  out->gate = g;
  out->bound = g->has_min ? g->min : g->max;
  if (!known) {
    out->status = SY_GATE_UNKNOWN;
    detail(out, "%s", why ? why : "unknown");
    return;
  }
  char vs[40], bs[40];
  fmt_num(value, vs, sizeof vs);
  fmt_num(out->bound, bs, sizeof bs);
  out->has_value = 1;
  out->value = value;
  int ok = g->has_min ? value >= g->min : value <= g->max;
  out->status = ok ? SY_GATE_PASS : SY_GATE_BREACH;
  detail(out, "value %s %s %s", vs, ok ? (g->has_min ? ">=" : "<=") : (g->has_min ? "<" : ">"), bs);
}

/* ---- the state machine ---- */

static void reason(sy_rollout_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(sy_rollout_state *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->reason, sizeof s->reason, fmt, ap);
  va_end(ap);
}

/* A new state from cur (or a blank one) stamped at now. */
static void begin(const sy_rollout_state *cur, int64_t now, int64_t plan_version, sy_rollout_state *next) {
  if (cur) {
    *next = *cur;
  } else {
    memset(next, 0, sizeof *next);
    next->step = -1;
    next->baseline_p95_ms = -1;
  }
  if (plan_version) next->plan_version = plan_version;
  next->updated_ms = now;
  next->transitions++;
}

static void enter_step(const sy_rollout *p, sy_rollout_state *n, int step, int64_t now) {
  n->step = step;
  n->cents = p->steps[step].cents;
  n->step_started_ms = now;
  n->paused_ms = 0;
  n->paused_at_ms = 0;
  n->phase = SY_PHASE_RUNNING;
  n->nrb = 0;
  n->gradual = 0;
}

static void start(const sy_rollout *p, sy_rollout_state *n, int64_t now, double baseline) {
  enter_step(p, n, 0, now);
  n->started_ms = now;
  n->baseline_p95_ms = baseline;
  memset(&n->breach, 0, sizeof n->breach);
}

/* The gates of the step joined for a reason: "requests 512 >= 500; error_rate 1.2% <= 5% ...". */
static void gates_text(const sy_rollout_input *in, char *out, size_t cap) {
  size_t o = 0;
  out[0] = 0;
  for (int i = 0; i < in->nresults && o + 1 < cap; i++) {
    int n = snprintf(out + o, cap - o, "%s%s", i ? "; " : "", in->results[i].detail);
    if (n < 0) break;
    o += (size_t)n;
  }
  if (o >= cap && cap > 4) memcpy(out + cap - 4, "...", 4);
}

static int current_step(const sy_rollout *p, const sy_rollout_state *s) {
  return s->step < 0 ? 0 : s->step >= p->nsteps ? p->nsteps - 1 : s->step;
}

/* The gradual rollback's steps from cents: the plan's own, or its percents below cents
 * falling, then 0. */
static void rollback_steps(const sy_rollout *p, int32_t cents, sy_rollout_state *n) {
  n->nrb = 0;
  if (p->nrb) {
    for (int i = 0; i < p->nrb; i++)
      if (p->rb_cents[i] < cents) n->rb_cents[n->nrb++] = p->rb_cents[i];
  } else {
    for (int i = p->nsteps - 1; i >= 0; i--)
      if (p->steps[i].cents < cents && p->steps[i].cents > 0) n->rb_cents[n->nrb++] = p->steps[i].cents;
  }
  if (!n->nrb || n->rb_cents[n->nrb - 1] != 0) n->rb_cents[n->nrb++] = 0;
}

/* Takes the next step of a gradual rollback: ROLLED_BACK at 0, else ROLLBACK_STEP. */
static sy_move rollback_next(const sy_rollout *p, sy_rollout_state *n, int64_t now, const char *why) {
  char from[16], to[16];
  cents_text(n->cents, from, sizeof from);
  n->cents = n->rb_cents[0];
  memmove(n->rb_cents, n->rb_cents + 1, (size_t)(n->nrb - 1) * sizeof *n->rb_cents);
  n->nrb--;
  cents_text(n->cents, to, sizeof to);
  if (n->cents == 0 || !n->nrb) {
    n->cents = 0;
    n->phase = SY_PHASE_ROLLED_BACK;
    n->nrb = 0;
    reason(n, "rollback: %s -> 0%%: the gradual rollback is done%s%s", from, why ? "; " : "", why ? why : "");
    return SY_MOVE_ROLLED_BACK;
  }
  n->phase = SY_PHASE_ROLLING_BACK;
  n->rb_next_ms = now + p->rb_wait_ms;
  reason(n, "rollback: %s -> %s, the next step in %lld s%s%s", from, to, (long long)(p->rb_wait_ms / 1000),
         why ? "; " : "", why ? why : "");
  return SY_MOVE_ROLLBACK_STEP;
}

/* A breach: what the plan's on_breach says (a gradual rollback under way goes to 0). */
static sy_move breach(const sy_rollout *p, const sy_rollout_state *cur, const sy_rollout_input *in,
                      const sy_gate_result *r, const char *what, sy_rollout_state *n) {
  begin(cur, in->now_ms, in->plan_version, n);
  int step = current_step(p, cur);
  char at[16];
  cents_text(cur->cents, at, sizeof at);
  n->breach.set = 1;
  n->breach.step = step;
  n->breach.cents = cur->cents;
  if (r) {
    snprintf(n->breach.gate, sizeof n->breach.gate, "%s", r->gate->label);
    snprintf(n->breach.message, sizeof n->breach.message, "%s", r->detail);
    n->breach.has_value = r->has_value;
    n->breach.value = r->value;
    n->breach.bound = r->bound;
  } else {
    snprintf(n->breach.gate, sizeof n->breach.gate, "no critical alert on the target");
    snprintf(n->breach.message, sizeof n->breach.message, "critical alert: %s", what ? what : "");
    n->breach.has_value = 0;
  }
  sy_breach_action act = cur->phase == SY_PHASE_ROLLING_BACK ? SY_BREACH_ROLLBACK : p->on_breach;
  if (act == SY_BREACH_PREVIOUS && step > 0 && cur->phase != SY_PHASE_ROLLING_BACK) {
    enter_step(p, n, step - 1, in->now_ms);
    n->phase = SY_PHASE_PAUSED;
    n->paused_from = SY_PHASE_RUNNING;
    n->paused_at_ms = in->now_ms;
    char to[16];
    cents_text(n->cents, to, sizeof to);
    reason(n, "breach at step %d (%s): %s: %s; back to step %d (%s) and paused", step + 1, at, n->breach.gate,
           n->breach.message, step, to);
    return SY_MOVE_BREACH;
  }
  if (act == SY_BREACH_PAUSE) {
    n->phase = SY_PHASE_PAUSED;
    n->paused_from = cur->phase;
    n->paused_at_ms = in->now_ms;
    reason(n, "breach at step %d (%s): %s: %s; paused", step + 1, at, n->breach.gate, n->breach.message);
    return SY_MOVE_BREACH;
  }
  n->phase = SY_PHASE_ROLLED_BACK;
  n->cents = 0;
  n->nrb = 0;
  n->gradual = 0;
  reason(n, "rollback: %s -> 0%% at step %d: %s breached: %s", at, step + 1, n->breach.gate, n->breach.message);
  return SY_MOVE_BREACH;
}

sy_move sy__rollout_decide(const sy_rollout *p, const sy_rollout_state *cur, const sy_rollout_input *in,
                           sy_rollout_state *next) {
  sy_phase ph = cur ? cur->phase : SY_PHASE_NONE;
  int64_t now = in->now_ms;
  char at[16], to[16];
  if (ph == SY_PHASE_NONE || ph == SY_PHASE_SCHEDULED) {
    /* the first step's not_before is a start time too */
    int64_t at_ms = p->start_at_ms > p->steps[0].not_before_ms ? p->start_at_ms : p->steps[0].not_before_ms;
    if (at_ms > now) {
      if (ph == SY_PHASE_SCHEDULED) return SY_MOVE_NONE;
      begin(NULL, now, in->plan_version, next);
      next->phase = SY_PHASE_SCHEDULED;
      char t[40];
      sy__fmt_time(at_ms, t, sizeof t);
      reason(next, "scheduled: starts at %s", t);
      return SY_MOVE_SCHEDULE;
    }
    begin(ph == SY_PHASE_SCHEDULED ? cur : NULL, now, in->plan_version, next);
    start(p, next, now, in->baseline_p95_ms);
    cents_text(next->cents, to, sizeof to);
    reason(next, "start: step 1/%d at %s", p->nsteps, to);
    return SY_MOVE_START;
  }
  if (ph != SY_PHASE_RUNNING && ph != SY_PHASE_AWAITING_APPROVAL && ph != SY_PHASE_ROLLING_BACK) return SY_MOVE_NONE;
  if (in->critical_alert) return breach(p, cur, in, NULL, in->critical_what, next);
  for (int i = 0; i < in->nresults; i++)
    if (in->results[i].status == SY_GATE_BREACH) return breach(p, cur, in, &in->results[i], NULL, next);
  if (ph == SY_PHASE_ROLLING_BACK) {
    if (now < cur->rb_next_ms || !cur->nrb) return SY_MOVE_NONE;
    begin(cur, now, in->plan_version, next);
    return rollback_next(p, next, now, NULL);
  }
  for (int i = 0; i < in->nresults; i++)
    if (in->results[i].status == SY_GATE_UNKNOWN) {
      begin(cur, now, in->plan_version, next);
      next->phase = SY_PHASE_PAUSED;
      next->paused_from = ph;
      next->paused_at_ms = now;
      reason(next, "paused: %s is unknown: %s; the plan waits for a person (resume)", in->results[i].gate->label,
             in->results[i].detail);
      return SY_MOVE_PAUSE;
    }
  if (ph == SY_PHASE_AWAITING_APPROVAL) return SY_MOVE_NONE;
  int step = current_step(p, cur);
  const sy_rollout_step *st = &p->steps[step];
  if (sy__rollout_baked_ms(cur, now) < st->bake_ms) return SY_MOVE_NONE;
  if (step + 1 < p->nsteps && now < p->steps[step + 1].not_before_ms) return SY_MOVE_NONE; /* not entered before */
  for (int i = 0; i < in->nresults; i++)
    if (in->results[i].status != SY_GATE_PASS) return SY_MOVE_NONE;
  char gates[400];
  gates_text(in, gates, sizeof gates);
  cents_text(cur->cents, at, sizeof at);
  begin(cur, now, in->plan_version, next);
  if (step + 1 >= p->nsteps) {
    next->phase = SY_PHASE_COMPLETED;
    reason(next, "complete: step %d/%d at %s baked %lld s%s%s", step + 1, p->nsteps, at,
           (long long)(st->bake_ms / 1000), *gates ? "; gates passed: " : "", gates);
    return SY_MOVE_COMPLETE;
  }
  cents_text(p->steps[step + 1].cents, to, sizeof to);
  if (p->steps[step + 1].approval) {
    next->phase = SY_PHASE_AWAITING_APPROVAL;
    reason(next, "awaiting approval: step %d/%d at %s is ready for %s%s%s", step + 1, p->nsteps, at, to,
           *gates ? "; gates passed: " : "", gates);
    return SY_MOVE_AWAIT;
  }
  enter_step(p, next, step + 1, now);
  reason(next, "promote: %s -> %s (step %d/%d)%s%s", at, to, step + 2, p->nsteps, *gates ? "; gates passed: " : "",
         gates);
  return SY_MOVE_PROMOTE;
}

sy_rc sy__rollout_command(const sy_rollout *p, const sy_rollout_state *cur, const char *cmd, int gradual, int64_t now,
                          const char *why, sy_rollout_state *next, char *msg, size_t msgsz) {
  sy_phase ph = cur ? cur->phase : SY_PHASE_NONE;
  const char *pn = sy__phase_name(ph);
  char at[16], to[16], by[SY_ROLLOUT_REASON_MAX / 2];
  snprintf(by, sizeof by, "%s%s", why && *why ? ": " : "", why && *why ? why : "");
  if (!strcmp(cmd, "start")) {
    if (sy__phase_active(ph) && ph != SY_PHASE_SCHEDULED)
      return MSG("plan %s is %s; abort or roll it back before starting it again", p->name, pn), SY_ECONFLICT;
    begin(cur, now, 0, next);
    start(p, next, now, cur ? cur->baseline_p95_ms : -1);
    cents_text(next->cents, to, sizeof to);
    snprintf(next->reason, sizeof next->reason, "start (by hand): step 1/%d at %s%s", p->nsteps, to, by);
    return SY_OK;
  }
  if (!strcmp(cmd, "promote")) {
    if (ph == SY_PHASE_NONE || ph == SY_PHASE_SCHEDULED)
      return sy__rollout_command(p, cur, "start", 0, now, why, next, msg, msgsz);
    if (ph != SY_PHASE_RUNNING && ph != SY_PHASE_AWAITING_APPROVAL &&
        !(ph == SY_PHASE_PAUSED && cur->paused_from != SY_PHASE_ROLLING_BACK))
      return MSG("plan %s is %s; only a running, paused or waiting plan can be promoted", p->name, pn), SY_ECONFLICT;
    int step = current_step(p, cur);
    begin(cur, now, 0, next);
    cents_text(cur->cents, at, sizeof at);
    if (step + 1 >= p->nsteps) {
      next->phase = SY_PHASE_COMPLETED;
      snprintf(next->reason, sizeof next->reason, "complete (by hand): step %d/%d at %s%s", step + 1, p->nsteps, at,
               by);
      return SY_OK;
    }
    enter_step(p, next, step + 1, now);
    cents_text(next->cents, to, sizeof to);
    snprintf(next->reason, sizeof next->reason, "promote (by hand): %s -> %s (step %d/%d)%s", at, to, step + 2,
             p->nsteps, by);
    return SY_OK;
  }
  if (!strcmp(cmd, "pause")) {
    if (ph == SY_PHASE_PAUSED) return MSG("plan %s is already paused", p->name), SY_ECONFLICT;
    if (!sy__phase_active(ph)) return MSG("plan %s is %s; there is nothing to pause", p->name, pn), SY_ECONFLICT;
    begin(cur, now, 0, next);
    next->phase = SY_PHASE_PAUSED;
    next->paused_from = ph;
    next->paused_at_ms = now;
    snprintf(next->reason, sizeof next->reason, "paused (by hand)%s", by);
    return SY_OK;
  }
  if (!strcmp(cmd, "resume")) {
    if (ph != SY_PHASE_PAUSED) return MSG("plan %s is %s, not paused", p->name, pn), SY_ECONFLICT;
    begin(cur, now, 0, next);
    int64_t paused = cur->paused_at_ms && now > cur->paused_at_ms ? now - cur->paused_at_ms : 0;
    next->phase = cur->paused_from ? cur->paused_from : SY_PHASE_RUNNING;
    next->paused_ms += paused;
    next->paused_at_ms = 0;
    if (next->phase == SY_PHASE_ROLLING_BACK) next->rb_next_ms += paused;
    if (next->phase == SY_PHASE_SCHEDULED) next->phase = SY_PHASE_SCHEDULED;
    memset(&next->breach, 0, sizeof next->breach);
    snprintf(next->reason, sizeof next->reason, "resumed (by hand) after %lld s paused%s", (long long)(paused / 1000),
             by);
    return SY_OK;
  }
  if (!strcmp(cmd, "abort")) {
    if (!sy__phase_active(ph) && ph != SY_PHASE_NONE)
      return MSG("plan %s is %s; there is nothing to abort", p->name, pn), SY_ECONFLICT;
    begin(cur, now, 0, next);
    cents_text(cur ? cur->cents : 0, at, sizeof at);
    next->phase = SY_PHASE_ABORTED;
    next->cents = 0;
    next->nrb = 0;
    snprintf(next->reason, sizeof next->reason, "abort (by hand): %s -> 0%%%s", at, by);
    return SY_OK;
  }
  if (!strcmp(cmd, "rollback")) {
    if (!sy__phase_active(ph) && ph != SY_PHASE_COMPLETED)
      return MSG("plan %s is %s; there is nothing to roll back", p->name, pn), SY_ECONFLICT;
    if (ph == SY_PHASE_SCHEDULED || !cur || cur->cents == 0)
      return MSG("plan %s holds its target at 0%%; there is nothing to roll back", p->name), SY_ECONFLICT;
    begin(cur, now, 0, next);
    next->paused_at_ms = 0;
    cents_text(cur->cents, at, sizeof at);
    if (!gradual) {
      next->phase = SY_PHASE_ROLLED_BACK;
      next->cents = 0;
      next->nrb = 0;
      next->gradual = 0;
      snprintf(next->reason, sizeof next->reason, "rollback (by hand): %s -> 0%% at once%s", at, by);
      return SY_OK;
    }
    next->gradual = 1;
    rollback_steps(p, cur->cents, next);
    rollback_next(p, next, now, why && *why ? why : NULL);
    char r[SY_ROLLOUT_REASON_MAX];
    snprintf(r, sizeof r, "%s", next->reason);
    snprintf(next->reason, sizeof next->reason, "gradual %.560s (by hand)", r);
    return SY_OK;
  }
  return MSG("unknown command \"%.32s\"; one of start, promote, pause, resume, abort, rollback", cmd), SY_EINVAL;
}

/* ---- the target ---- */

char *sy__rollout_target_value(const sy_rollout *p, const char *value, size_t len, int32_t cents, char *msg,
                               size_t msgsz) {
  json_error_t e;
  json_t *doc = json_loadb(value, len, 0, &e);
  char *out = NULL;
  if (!json_is_object(doc)) {
    MSG("the target's document is not a JSON object");
    goto done;
  }
  if (p->is_flag) {
    if (json_object_set_new(doc, "rollout_percentage", sy__cents_json(cents))) goto oom;
  } else {
    json_t *split = json_object_get(doc, "split");
    if (!split) {
      split = json_array();
      if (!split || json_object_set_new(doc, "split", split)) goto oom;
    }
    if (!json_is_array(split)) {
      MSG("the route's split is not an array");
      goto done;
    }
    size_t found = (size_t)-1;
    for (size_t i = 0; i < json_array_size(split); i++) {
      const json_t *pv = json_object_get(json_array_get(split, i), "provider");
      if (json_is_string(pv) && !strcmp(json_string_value(pv), p->provider)) found = i;
    }
    if (cents == 0) {
      if (found != (size_t)-1) json_array_remove(split, found);
    } else if (found != (size_t)-1) {
      if (json_object_set_new(json_array_get(split, found), "percent", sy__cents_json(cents))) goto oom;
    } else if (json_array_append_new(split,
                                     json_pack("{ss so}", "provider", p->provider, "percent", sy__cents_json(cents)))) {
      goto oom;
    }
  }
  out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!out) goto oom;
  goto done;
oom:
  MSG("out of memory");
done:
  json_decref(doc);
  return out;
}

int32_t sy__rollout_target_cents(const sy_rollout *p, const char *value, size_t len) {
  json_error_t e;
  json_t *doc = json_loadb(value, len, 0, &e);
  int32_t c = -1;
  if (p->is_flag) {
    const json_t *v = json_object_get(doc, "rollout_percentage");
    if (!v)
      c = 10000;
    else if (cents_parse(v, &c))
      c = -1;
  } else {
    const json_t *split = json_object_get(doc, "split");
    c = 0;
    for (size_t i = 0; i < json_array_size(split); i++) {
      const json_t *pv = json_object_get(json_array_get(split, i), "provider");
      if (json_is_string(pv) && !strcmp(json_string_value(pv), p->provider) &&
          cents_parse(json_object_get(json_array_get(split, i), "percent"), &c))
        c = -1;
    }
  }
  json_decref(doc);
  return c;
}

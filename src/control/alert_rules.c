/* alert_rules.c — the alert rules' evaluator: per rule, the count of consecutive breaching
 * periods (core/alert_rule.c) over the metric read from the gateway, pushed metrics or
 * Prometheus, and the rules that fire. */
#include "control/alert_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/promq.h"
#include "control/pushed.h"
#include "gateway/gateway.h"

#define RULES_MAX 1000 /* rules evaluated per call; past it the rest wait (logged by none: a bound) */

/* A rule's state: which document version it belongs to, and its count. */
typedef struct rule_state {
  char name[SY_ALERT_RULE_NAME_MAX + 1];
  int64_t version;
  sy_rule_track track;
  int seen; /* still in the snapshot of the call under way */
} rule_state;

struct sy_rules {
  rule_state *st;
  int n, cap;
};

sy_rc sy__rules_new(sy_rules **out) {
  *out = calloc(1, sizeof **out);
  return *out ? SY_OK : SY_ENOMEM;
}

void sy__rules_free(sy_rules *rs) {
  if (!rs) return;
  free(rs->st);
  free(rs);
}

/* ---- reading a metric ---- */

/* No data: why says what is missing; -1. */
static int no_data(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int no_data(char *why, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (why && cap) vsnprintf(why, cap, fmt, ap);
  va_end(ap);
  return -1;
}

int sy__rules_read(const sy_sources *src, const sy_alert_rule *r, const char *variant, const char *prom_url,
                   int64_t from_ms, int64_t to_ms, double *value, char *why, size_t cap) {
  sy_counts c;
  memset(&c, 0, sizeof c);
  switch (r->source) {
  case SY_RULE_GATEWAY:
    if (!src || !src->gw) return no_data(why, cap, "the gateway is not running");
    if (sy__gateway_provider_counts(src->gw, r->provider, from_ms, to_ms, &c))
      return no_data(why, cap, "the gateway has not called %s", r->provider);
    break;
  case SY_RULE_PUSHED:
    if (!src || !src->pushed) return no_data(why, cap, "pushed metrics are not running");
    if (sy__pushed_range(src->pushed, r->flag, variant, from_ms, to_ms, &c))
      return no_data(why, cap, "nothing pushed for %s variant %s", r->flag, variant);
    break;
  case SY_RULE_PROMETHEUS:
    if (!src || !src->promq) return no_data(why, cap, "Prometheus queries are not running");
    if (!prom_url) return no_data(why, cap, "no Prometheus URL (the rule's url or %s)", SY_PROMETHEUS_URL_PARAM);
    return sy__promq_get(src->promq, prom_url, r->query, value, why, cap);
  }
  if (sy__metric_value(&c, r->metric, value))
    return no_data(why, cap, "no %s in the period", sy__metric_name(r->metric));
  return 0;
}

/* ---- the snapshot's side ---- */

/* What the read callback of core's count needs. */
typedef struct reader {
  const sy_sources *src;
  const char *variant;
  const char *prom_url;
} reader;

static int read_cb(void *ctx, const sy_alert_rule *r, int64_t from_ms, int64_t to_ms, double *value, char *why,
                   size_t cap) {
  const reader *rd = ctx;
  return sy__rules_read(rd->src, r, rd->variant, rd->prom_url, from_ms, to_ms, value, why, cap);
}

/* The flag's rollout variant (docs/ROLLOUTS.md: "on", or the only non-default variant) into
 * out, from its document in s; "on" when it cannot be told. */
static void rollout_variant(const sy_snap *s, const char *flag, char out[65]) {
  char path[1100];
  snprintf(out, 65, "on");
  int n = snprintf(path, sizeof path, "/%s", flag);
  if (n < 0 || (size_t)n >= sizeof path) return;
  const sy_param *p = sy__snap_get(s, path, (size_t)n);
  if (!p || !p->latest) return;
  json_t *doc = json_loadb(p->latest->value, p->latest->value_len, 0, NULL);
  json_t *vars = json_object_get(doc, "variants");
  const char *def = json_string_value(json_object_get(doc, "default_variant"));
  if (!def) def = "off";
  if (json_is_object(vars) && !json_object_get(vars, "on")) {
    const char *k, *only = NULL;
    json_t *v;
    int others = 0;
    json_object_foreach(vars, k, v) {
      (void)v;
      if (strcmp(k, def)) {
        only = k;
        others++;
      }
    }
    if (others == 1 && strlen(only) < 65) snprintf(out, 65, "%s", only);
  }
  json_decref(doc);
}

/* The default Prometheus URL from the snapshot's parameter, into out; NULL when none. */
static const char *param_url(const sy_snap *s, char *out, size_t cap) {
  const sy_param *p = sy__snap_get(s, SY_PROMETHEUS_URL_PARAM, sizeof SY_PROMETHEUS_URL_PARAM - 1);
  if (!p || !p->latest || p->latest->kind != SY_KIND_STRING || p->latest->value_len >= cap || !p->latest->value_len)
    return NULL;
  memcpy(out, p->latest->value, p->latest->value_len + 1);
  return out;
}

static rule_state *state_of(sy_rules *rs, const char *name, int64_t version) {
  for (int i = 0; i < rs->n; i++)
    if (rs->st[i].version == version && !strcmp(rs->st[i].name, name)) return &rs->st[i];
  if (rs->n == rs->cap) {
    int cap = rs->cap ? rs->cap * 2 : 16;
    rule_state *ns = realloc(rs->st, (size_t)cap * sizeof *ns);
    if (!ns) return NULL;
    rs->st = ns;
    rs->cap = cap;
  }
  rule_state *st = &rs->st[rs->n++];
  memset(st, 0, sizeof *st);
  snprintf(st->name, sizeof st->name, "%s", name);
  st->version = version;
  sy__rule_track_init(&st->track);
  return st;
}

typedef struct walk {
  sy_rules *rs;
  const sy_snap *s;
  int64_t now;
  const sy_sources *src;
  sy_rule_fire_fn fire;
  void *ctx;
  char prom_url[SY_ALERT_RULE_URL_MAX + 1];
  const char *default_url;
  int n;
} walk;

static void fire_rule(walk *w, const sy_alert_rule *r, const rule_state *st, const char *variant) {
  char what[1200], msg[400];
  const char *resource = r->source == SY_RULE_GATEWAY  ? r->provider
                         : r->source == SY_RULE_PUSHED ? r->flag
                                                       : "prometheus";
  json_t *labels;
  if (r->source == SY_RULE_GATEWAY) {
    snprintf(what, sizeof what, "provider %s", r->provider);
    labels = json_pack("{ss ss ss}", "rule", r->name, "provider", r->provider, "metric", sy__metric_name(r->metric));
  } else if (r->source == SY_RULE_PUSHED) {
    snprintf(what, sizeof what, "%s, variant %s", r->flag, variant);
    labels = json_pack("{ss ss ss ss}", "rule", r->name, "flag", r->flag, "variant", variant, "metric",
                       sy__metric_name(r->metric));
  } else {
    snprintf(what, sizeof what, "query %.1000s", r->query);
    labels = json_pack("{ss ss}", "rule", r->name, "query", r->query);
  }
  sy__alert_rule_message(r, &st->track, what, msg, sizeof msg);
  sy_rule_fire f = {.name = r->name, .severity = r->severity, .resource = resource, .message = msg, .labels = labels};
  w->fire(w->ctx, &f);
}

static int visit_rule(void *ctx, const sy_param *p) {
  walk *w = ctx;
  const sy_ver *v = p->latest;
  if (!v || v->kind != SY_KIND_ALERT_RULE || !v->compiled || !v->compiled->obj) return 0;
  if (w->n == RULES_MAX) return 1;
  w->n++;
  const sy_alert_rule *r = v->compiled->obj;
  rule_state *st = state_of(w->rs, r->name, v->version);
  if (!st) return 0;
  st->seen = 1;
  char variant[65] = "";
  if (r->source == SY_RULE_PUSHED) {
    if (r->variant[0])
      snprintf(variant, sizeof variant, "%s", r->variant);
    else
      rollout_variant(w->s, r->flag, variant);
  }
  reader rd = {.src = w->src, .variant = variant, .prom_url = r->url ? r->url : w->default_url};
  sy__alert_rule_advance(r, &st->track, w->now, read_cb, &rd);
  if (sy__alert_rule_firing(r, &st->track)) fire_rule(w, r, st, variant);
  return 0;
}

int sy__rules_eval(sy_rules *rs, const sy_snap *s, int64_t now_ms, const sy_sources *src, sy_rule_fire_fn fire,
                   void *ctx) {
  walk w = {.rs = rs, .s = s, .now = now_ms, .src = src, .fire = fire, .ctx = ctx};
  w.default_url = param_url(s, w.prom_url, sizeof w.prom_url);
  for (int i = 0; i < rs->n; i++) rs->st[i].seen = 0;
  sy__snap_list(s, SY_ALERT_RULES_PREFIX, 0, NULL, visit_rule, &w);
  for (int i = 0; i < rs->n;) { /* deleted or changed rules: their state goes */
    if (rs->st[i].seen) {
      i++;
      continue;
    }
    memmove(&rs->st[i], &rs->st[i + 1], (size_t)(rs->n - i - 1) * sizeof *rs->st);
    rs->n--;
  }
  return w.n;
}

/* alert_rules.h — the alert rules' evaluator (docs/ROLLOUTS.md, "Alert rules"): at the end
 * of each period of a rule it reads the rule's metric over that period from its source (the
 * gateway's calls, pushed metrics, Prometheus), counts consecutive breaching periods, and
 * says which rules fire. Pure of HTTP: the server's alerts (server/alerts.c) raise what it
 * says. Not thread-safe: one caller at a time (the alerts' evaluation lock). */
#ifndef SY_CONTROL_ALERT_RULES_H
#define SY_CONTROL_ALERT_RULES_H

#include <jansson.h>

#include "control/sources.h"
#include "core/alert_rule.h"
#include "store/store.h"

typedef struct sy_rules sy_rules;

sy_rc sy__rules_new(sy_rules **out);
void sy__rules_free(sy_rules *rs);

/* A rule that fires: its name, severity (0 critical, 1 warning, 2 info), resource (the
 * provider, the flag's key, or "prometheus"), message, and labels ({rule, provider | flag,
 * variant, metric} or {rule, query}; a new reference the callee takes). Every string is
 * borrowed for the call. */
typedef struct sy_rule_fire {
  const char *name;
  int severity;
  const char *resource;
  const char *message;
  json_t *labels;
} sy_rule_fire;
typedef void (*sy_rule_fire_fn)(void *ctx, const sy_rule_fire *f);

/* Evaluates every AlertRule of snapshot s at now_ms (the server's clock): each rule whose
 * period ended since its last evaluation reads the completed periods from src (NULL
 * sources, or a source that is NULL in it, read as no data), then every rule that is
 * firing — at a period boundary or not — is reported through fire. State is kept per rule
 * name and document version: a rule deleted or changed starts again from no count. Call
 * inside the snapshot section s was entered in. Returns the number of rules. */
int sy__rules_eval(sy_rules *rs, const sy_snap *s, int64_t now_ms, const sy_sources *src, sy_rule_fire_fn fire,
                   void *ctx);

/* Reads rule r's metric over [from_ms, to_ms) from src (the evaluator's seam, exposed for
 * tests): 0 with *value, or -1 (why says what is missing). variant is the pushed variant
 * resolved (r->variant or the flag's rollout variant); prom_url the URL to ask (r->url or
 * the parameter), NULL when none. */
int sy__rules_read(const sy_sources *src, const sy_alert_rule *r, const char *variant, const char *prom_url,
                   int64_t from_ms, int64_t to_ms, double *value, char *why, size_t cap);

#endif

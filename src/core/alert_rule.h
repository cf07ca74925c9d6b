/* alert_rule.h — alert rules (pure): the AlertRule document (docs/ROLLOUTS.md, "Alert
 * rules") and the count of consecutive breaching periods. No I/O and no clock of its own:
 * the evaluator (control/alert_rules.h) gives the time and reads the metric. */
#ifndef SY_CORE_ALERT_RULE_H
#define SY_CORE_ALERT_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "core/metric.h"
#include "core/rc.h"

#define SY_ALERT_RULE_DOC_MAX 16384
#define SY_ALERT_RULES_PREFIX "/switchyard/alert-rules/"
#define SY_ALERT_RULE_NAME_MAX 64
#define SY_ALERT_RULE_PERIODS_MAX 100
#define SY_ALERT_RULE_QUERY_MAX 4096
#define SY_ALERT_RULE_URL_MAX 1024
#define SY_ALERT_RULE_DESCRIPTION_MAX 1024

typedef enum sy_rule_source { SY_RULE_GATEWAY = 1, SY_RULE_PUSHED, SY_RULE_PROMETHEUS } sy_rule_source;
typedef enum sy_rule_op { SY_RULE_GT = 1, SY_RULE_GE, SY_RULE_LT, SY_RULE_LE } sy_rule_op;

/* A compiled rule: what the evaluator reads from a version's compiled->obj. Every string
 * is owned by the rule and freed with it. */
typedef struct sy_alert_rule {
  char name[SY_ALERT_RULE_NAME_MAX + 1]; /* the document's last segment */
  sy_rule_source source;
  char provider[65]; /* gateway */
  char *flag;        /* pushed: the flag's key, no leading '/'; else NULL */
  char variant[65];  /* pushed: "" is the flag's rollout variant */
  char *query;       /* prometheus; else NULL */
  char *url;         /* prometheus; NULL is the SY_PROMETHEUS_URL_PARAM parameter's */
  sy_metric metric;  /* gateway, pushed; 0 for prometheus */
  sy_rule_op op;
  double threshold;
  int64_t period_ms;
  int periods;       /* consecutive breaching periods before it fires, 1..100 */
  int severity;      /* 0 critical, 1 warning (the default), 2 info */
  char *description; /* NULL when none */
} sy_alert_rule;

/* Compiles the rule at key ("switchyard/alert-rules/NAME", a leading '/' is tolerated). On
 * SY_EINVAL msg names the field ("period must be a whole number of minutes from 1m to 60m
 * for source gateway", "unknown field \"foo\"", "metric: unknown metric \"latency\"; one of
 * ..."); SY_ENOMEM. *out is the rule (free with sy__alert_rule_free), NULL on failure. */
sy_rc sy__alert_rule_compile(const char *key, const char *value, size_t len, sy_alert_rule **out, char *msg,
                             size_t msgsz);
void sy__alert_rule_free(sy_alert_rule *r);
sy_rc sy__alert_rule_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                                  char *msg, size_t msgsz);
void sy__alert_rule_kind_release(void *obj);

const char *sy__rule_source_name(sy_rule_source s);
const char *sy__rule_op_name(sy_rule_op op);
/* A duration as a document writes it: "500ms", "90s", "5m", "1h", "3d", "1w", or a JSON
 * number of seconds, into *ms. 0, or -1 when it is not one (negative, too large, garbage). */
int sy__rule_duration_ms(const char *text, int64_t *ms);
/* ms in the shortest of those words that is exact: "5m", "90s", "1h", "1500ms". */
void sy__rule_duration_fmt(int64_t ms, char *out, size_t cap);

/* ---- the count of consecutive breaching periods ---- */

#define SY_RULE_NONE INT64_MIN

/* A rule's running state; zero it with sy__rule_track_init. */
typedef struct sy_rule_track {
  int64_t last; /* index (ms / period_ms) of the last period evaluated; SY_RULE_NONE none */
  int count;    /* consecutive breaching periods, up to the last one evaluated */
  int has_value;
  double value;  /* the last period's value, when it had one */
  char why[160]; /* why the last period had no value ("" when it had one) */
} sy_rule_track;

void sy__rule_track_init(sy_rule_track *t);

/* Reads r's metric over [from_ms, to_ms) (both 0 for a Prometheus rule: the value now).
 * 0 with *value, or -1 when there is no data (why, cap bytes, may say so). */
typedef int (*sy_rule_read_fn)(void *ctx, const sy_alert_rule *r, int64_t from_ms, int64_t to_ms, double *value,
                               char *why, size_t cap);

/* Whether value breaches r's threshold. */
int sy__alert_rule_breach(const sy_alert_rule *r, double value);

/* Evaluates every period of r that completed by now_ms and was not yet evaluated, in order,
 * through read: a breach adds one to t->count, anything else (no data included) resets it.
 * The first time (t->last none) that is the last completed period only. After a jump of the
 * clock, at most r->periods + 1 of the missed periods (the earlier ones could not change
 * whether it fires; the count restarts from 0 when some were skipped). A Prometheus rule has
 * only a value now: one read per call that crosses a period boundary. Returns the number of
 * periods evaluated. */
int sy__alert_rule_advance(const sy_alert_rule *r, sy_rule_track *t, int64_t now_ms, sy_rule_read_fn read, void *ctx);

/* Whether r fires in state t: t->count >= r->periods. */
int sy__alert_rule_firing(const sy_alert_rule *r, const sy_rule_track *t);

/* The firing alert's message: "p95_ms 6200 ms > 5000 ms for 2 consecutive periods of 5m
 * (audio-transcription/partial-results/config, variant on)"; what says which (the flag and
 * variant, "provider NAME", the query). */
void sy__alert_rule_message(const sy_alert_rule *r, const sy_rule_track *t, const char *what, char *out, size_t cap);

#endif

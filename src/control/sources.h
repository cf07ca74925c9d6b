/* sources.h — where a gate or an alert rule reads its metric: the gateway's calls per
 * provider, what applications pushed per flag and variant, and Prometheus. One struct,
 * filled by the server at start-up, handed to the controller and the rule evaluator. */
#ifndef SY_CONTROL_SOURCES_H
#define SY_CONTROL_SOURCES_H

#include "core/clock.h"
#include "store/store.h"

struct sy_gateway;
struct sy_pushed;
struct sy_promq;

/* Active alerts that concern a target, for the controller (the alerts live in the server):
 * the number of active alerts of severity sev (0 critical, 1 warning, 2 info) or worse
 * whose provider is provider or whose flag is flag (either may be NULL; both NULL: every
 * alert); the first one's id and message into what (cap bytes). */
typedef int (*sy_alerts_count_fn)(void *ctx, int sev, const char *provider, const char *flag, char *what, size_t cap);

typedef struct sy_sources {
  sy_store *store;
  const sy_clock *clock;
  struct sy_gateway *gw;
  struct sy_pushed *pushed;
  struct sy_promq *promq;
  sy_alerts_count_fn alerts_count; /* may be NULL */
  void *alerts_ctx;
} sy_sources;

/* The Prometheus URL that gates and rules use when they name none. */
#define SY_PROMETHEUS_URL_PARAM "/switchyard/prometheus/url"

#endif

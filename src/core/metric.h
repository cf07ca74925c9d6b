/* metric.h — what a rollout gate or an alert rule measures (pure): counts of calls, their
 * failures, cost and latency over some window, and the metrics read from them. Both metric
 * sources that live in the server (the gateway's calls per provider, and what applications
 * push per flag and variant) hand out these counts, so a gate and a rule read any of them
 * the same way. */
#ifndef SY_CORE_METRIC_H
#define SY_CORE_METRIC_H

#include <stdint.h>

#include "core/hist.h"

typedef struct sy_counts {
  int64_t requests; /* calls made (each attempt) */
  int64_t errors;   /* of which failed */
  int64_t images;   /* images produced by the successful ones */
  double cost_usd;
  sy_hist latency; /* of the successful calls */
} sy_counts;

void sy__counts_add(sy_counts *into, const sy_counts *from);
/* into -= from (a mark taken earlier from the same cumulative counts); each field stops at 0,
 * so a source that restarted from zero reads as the counts since its restart. */
void sy__counts_sub(sy_counts *into, const sy_counts *from);

/* The metrics a gate or a rule can name over counts. */
typedef enum sy_metric {
  SY_METRIC_REQUESTS = 1,
  SY_METRIC_ERRORS,
  SY_METRIC_ERROR_RATE, /* percent of requests that failed */
  SY_METRIC_P50_MS,
  SY_METRIC_P95_MS,
  SY_METRIC_P99_MS,
  SY_METRIC_COST_USD,
  SY_METRIC_COST_PER_REQUEST, /* USD per successful request */
  SY_METRIC_COST_PER_IMAGE,   /* USD per image (per successful request when none counted images) */
} sy_metric;

/* "error_rate" -> SY_METRIC_ERROR_RATE; 0 when unknown. */
sy_metric sy__metric_parse(const char *name);
const char *sy__metric_name(sy_metric m);
/* The list of names, for messages: "requests, errors, error_rate, ...". */
const char *sy__metric_names(void);
/* The unit a value of m is written with in words: "%", " ms", " USD", "". */
const char *sy__metric_unit(sy_metric m);

/* m over c into *out: 0, or -1 when it has no value (a rate or a percentile of no calls). */
int sy__metric_value(const sy_counts *c, sy_metric m, double *out);

#endif

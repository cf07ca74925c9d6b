/* metric.c — metrics over counts of calls. */
#include "core/metric.h"

#include <stddef.h>
#include <string.h>

void sy__counts_add(sy_counts *into, const sy_counts *from) {
  into->requests += from->requests;
  into->errors += from->errors;
  into->images += from->images;
  into->cost_usd += from->cost_usd;
  sy__hist_merge(&into->latency, &from->latency);
}

static int64_t sub0(int64_t a, int64_t b) { return a > b ? a - b : 0; }

void sy__counts_sub(sy_counts *into, const sy_counts *from) {
  into->requests = sub0(into->requests, from->requests);
  into->errors = sub0(into->errors, from->errors);
  into->images = sub0(into->images, from->images);
  into->cost_usd = into->cost_usd > from->cost_usd ? into->cost_usd - from->cost_usd : 0;
  sy_hist *h = &into->latency;
  const sy_hist *f = &from->latency;
  if (f->count > h->count) { /* restarted from zero: the counts since the restart */
    return;
  }
  for (int i = 0; i <= SY_HIST_BOUNDS; i++)
    h->bucket[i] = h->bucket[i] > f->bucket[i] ? h->bucket[i] - f->bucket[i] : 0;
  h->count -= f->count;
  h->sum_us = h->sum_us > f->sum_us ? h->sum_us - f->sum_us : 0;
}

static const char *const names[] = {
    NULL,     "requests", "errors",   "error_rate",       "p50_ms",
    "p95_ms", "p99_ms",   "cost_usd", "cost_per_request", "cost_per_image",
};
#define NNAMES (sizeof names / sizeof *names)

sy_metric sy__metric_parse(const char *name) {
  for (size_t i = 1; name && i < NNAMES; i++)
    if (!strcmp(names[i], name)) return (sy_metric)i;
  return 0;
}

const char *sy__metric_name(sy_metric m) { return (size_t)m < NNAMES && m ? names[m] : "unknown"; }

const char *sy__metric_names(void) {
  return "requests, errors, error_rate, p50_ms, p95_ms, p99_ms, cost_usd, cost_per_request, cost_per_image";
}

const char *sy__metric_unit(sy_metric m) {
  switch (m) {
  case SY_METRIC_ERROR_RATE: return "%";
  case SY_METRIC_P50_MS:
  case SY_METRIC_P95_MS:
  case SY_METRIC_P99_MS: return " ms";
  case SY_METRIC_COST_USD:
  case SY_METRIC_COST_PER_REQUEST:
  case SY_METRIC_COST_PER_IMAGE: return " USD";
  default: return "";
  }
}

int sy__metric_value(const sy_counts *c, sy_metric m, double *out) {
  int64_t ok = c->requests - c->errors;
  switch (m) {
  case SY_METRIC_REQUESTS: *out = (double)c->requests; return 0;
  case SY_METRIC_ERRORS: *out = (double)c->errors; return 0;
  case SY_METRIC_COST_USD: *out = c->cost_usd; return 0;
  case SY_METRIC_ERROR_RATE:
    if (c->requests <= 0) return -1;
    *out = 100.0 * (double)c->errors / (double)c->requests;
    return 0;
  case SY_METRIC_P50_MS:
  case SY_METRIC_P95_MS:
  case SY_METRIC_P99_MS: {
    if (!c->latency.count) return -1;
    double q = m == SY_METRIC_P50_MS ? 0.5 : m == SY_METRIC_P95_MS ? 0.95 : 0.99;
    *out = (double)sy__hist_quantile(&c->latency, q) / 1000.0;
    return 0;
  }
  case SY_METRIC_COST_PER_REQUEST:
    if (ok <= 0) return -1;
    *out = c->cost_usd / (double)ok;
    return 0;
  case SY_METRIC_COST_PER_IMAGE: {
    int64_t n = c->images > 0 ? c->images : ok;
    if (n <= 0) return -1;
    *out = c->cost_usd / (double)n;
    return 0;
  }
  }
  return -1;
}

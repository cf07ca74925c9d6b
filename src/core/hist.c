/* hist.c — fixed-bound latency histograms: observe, merge and Prometheus-style quantiles. */
#include "core/hist.h"

#include <math.h>

/* From 100 µs (the gateway's own overhead) to a minute (a long image generation). */
const int64_t sy__hist_bounds_us[SY_HIST_BOUNDS] = {
    100,    250,    500,    1000,    2500,    5000,    10000,    25000,    50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};

void sy__hist_observe(sy_hist *h, int64_t us) {
  if (us < 0) us = 0;
  int i = 0;
  while (i < SY_HIST_BOUNDS && us > sy__hist_bounds_us[i]) i++; /* a bucket holds values <= its bound */
  h->bucket[i]++;
  h->count++;
  h->sum_us += us;
}

void sy__hist_merge(sy_hist *into, const sy_hist *from) {
  for (int i = 0; i <= SY_HIST_BOUNDS; i++) into->bucket[i] += from->bucket[i];
  into->count += from->count;
  into->sum_us += from->sum_us;
}

/* As histogram_quantile: find the bucket the rank falls in, then assume its observations are
 * spread evenly between its lower and upper bound. The first bucket's lower bound is 0; a rank
 * in +Inf answers the last finite bound, the most that can be said. */
int64_t sy__hist_quantile(const sy_hist *h, double q) {
  if (h->count == 0 || !(q > 0)) return 0;
  if (q > 1) q = 1;
  double rank = q * (double)h->count;
  uint64_t cum = 0;
  for (int i = 0; i <= SY_HIST_BOUNDS; i++) {
    uint64_t prev = cum;
    cum += h->bucket[i];
    if ((double)cum < rank || h->bucket[i] == 0) continue;
    if (i == SY_HIST_BOUNDS) break;
    double lo = i == 0 ? 0 : (double)sy__hist_bounds_us[i - 1];
    double hi = (double)sy__hist_bounds_us[i];
    return (int64_t)llround(lo + (hi - lo) * ((rank - (double)prev) / (double)h->bucket[i]));
  }
  return sy__hist_bounds_us[SY_HIST_BOUNDS - 1];
}

/* hist.h — a latency histogram with fixed bounds (Prometheus buckets, quantiles): pure, no
 * locks (the caller serialises or keeps one per thread and merges). */
#ifndef SY_CORE_HIST_H
#define SY_CORE_HIST_H

#include <stdint.h>

/* Upper bounds in microseconds of the finite buckets; a last bucket is +Inf. */
#define SY_HIST_BOUNDS 18
extern const int64_t sy__hist_bounds_us[SY_HIST_BOUNDS];

typedef struct sy_hist {
  uint64_t bucket[SY_HIST_BOUNDS + 1]; /* not cumulative; [SY_HIST_BOUNDS] is +Inf */
  uint64_t count;
  int64_t sum_us;
} sy_hist;

void sy__hist_observe(sy_hist *h, int64_t us); /* negative values count as 0 */
void sy__hist_merge(sy_hist *into, const sy_hist *from);
/* The q-quantile (0 < q <= 1) in microseconds, interpolated linearly inside its bucket
 * (as Prometheus' histogram_quantile does); 0 when empty. */
int64_t sy__hist_quantile(const sy_hist *h, double q);

#endif

/* test_hist.c — the latency histogram: bucket placement at the bounds, quantiles against
 * values worked out by hand (Prometheus' histogram_quantile), and merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/hist.h"

static int bucket_of(int64_t us) {
  sy_hist h;
  memset(&h, 0, sizeof h);
  sy__hist_observe(&h, us);
  for (int i = 0; i <= SY_HIST_BOUNDS; i++)
    if (h.bucket[i]) return i;
  return -1;
}

static void bounds(void **state) {
  static const int64_t want[SY_HIST_BOUNDS] = {100,     250,     500,     1000,     2500,     5000,
                                               10000,   25000,   50000,   100000,   250000,   500000,
                                               1000000, 2500000, 5000000, 10000000, 30000000, 60000000};
  for (int i = 0; i < SY_HIST_BOUNDS; i++) assert_int_equal(sy__hist_bounds_us[i], want[i]);
  for (int i = 1; i < SY_HIST_BOUNDS; i++) assert_true(sy__hist_bounds_us[i] > sy__hist_bounds_us[i - 1]);
}

static void placement(void **state) {
  assert_int_equal(bucket_of(0), 0);
  assert_int_equal(bucket_of(-5), 0);  /* negative counts as 0 */
  assert_int_equal(bucket_of(100), 0); /* a bound is inside its bucket (le) */
  assert_int_equal(bucket_of(101), 1);
  assert_int_equal(bucket_of(250), 1);
  assert_int_equal(bucket_of(251), 2);
  for (int i = 0; i < SY_HIST_BOUNDS; i++) {
    assert_int_equal(bucket_of(sy__hist_bounds_us[i]), i);
    assert_int_equal(bucket_of(sy__hist_bounds_us[i] + 1), i + 1);
  }
  assert_int_equal(bucket_of(60000001), SY_HIST_BOUNDS);
  assert_int_equal(bucket_of(INT64_MAX / 4), SY_HIST_BOUNDS);

  sy_hist h;
  memset(&h, 0, sizeof h);
  sy__hist_observe(&h, 10);
  sy__hist_observe(&h, -10);
  sy__hist_observe(&h, 300);
  assert_int_equal(h.count, 3);
  assert_int_equal(h.sum_us, 310);
}

static void quantiles(void **state) {
  sy_hist h;
  memset(&h, 0, sizeof h);
  assert_int_equal(sy__hist_quantile(&h, 0.5), 0); /* empty */

  /* 100 observations in (1000, 2500]: the median is halfway through that bucket */
  for (int i = 0; i < 100; i++) sy__hist_observe(&h, 2000);
  assert_int_equal(sy__hist_quantile(&h, 0.5), 1750);
  assert_int_equal(sy__hist_quantile(&h, 1.0), 2500);
  assert_int_equal(sy__hist_quantile(&h, 0.1), 1150);

  /* 10 in [0,100], 30 in (100,250], 60 in (250,500]: rank 0.5*100 = 50 lies 10 into the 60 of
   * the third bucket: 250 + 250 * 10/60 */
  memset(&h, 0, sizeof h);
  for (int i = 0; i < 10; i++) sy__hist_observe(&h, 50);
  for (int i = 0; i < 30; i++) sy__hist_observe(&h, 200);
  for (int i = 0; i < 60; i++) sy__hist_observe(&h, 400);
  assert_int_equal(sy__hist_quantile(&h, 0.5), 292);  /* 291.67 rounded */
  assert_int_equal(sy__hist_quantile(&h, 0.05), 50);  /* first bucket from 0: 100 * 5/10 */
  assert_int_equal(sy__hist_quantile(&h, 0.1), 100);  /* exactly at a bucket's top */
  assert_int_equal(sy__hist_quantile(&h, 0.25), 175); /* 100 + 150 * 15/30 */
  assert_int_equal(sy__hist_quantile(&h, 0.99), 496); /* 250 + 250 * 59/60 = 495.8 */
  assert_int_equal(sy__hist_quantile(&h, 1.0), 500);

  /* the +Inf bucket answers the last finite bound */
  memset(&h, 0, sizeof h);
  sy__hist_observe(&h, 1000);
  sy__hist_observe(&h, 90000000);
  assert_int_equal(sy__hist_quantile(&h, 0.5), 1000);
  assert_int_equal(sy__hist_quantile(&h, 0.99), 60000000);
  assert_int_equal(sy__hist_quantile(&h, 1.0), 60000000);
}

static void merge(void **state) {
  sy_hist a, b, both;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&both, 0, sizeof both);
  for (int64_t us = 1; us < 100000000; us = us * 3 + 7) {
    sy__hist_observe(us % 2 ? &a : &b, us);
    sy__hist_observe(&both, us);
  }
  sy__hist_merge(&a, &b);
  assert_memory_equal(a.bucket, both.bucket, sizeof a.bucket);
  assert_int_equal(a.count, both.count);
  assert_int_equal(a.sum_us, both.sum_us);
  for (int k = 1; k <= 20; k++) assert_int_equal(sy__hist_quantile(&a, k / 20.0), sy__hist_quantile(&both, k / 20.0));
  /* merging an empty one changes nothing */
  memset(&b, 0, sizeof b);
  sy__hist_merge(&a, &b);
  assert_int_equal(a.count, both.count);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bounds),
      cmocka_unit_test(placement),
      cmocka_unit_test(quantiles),
      cmocka_unit_test(merge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_flag_stats.c — per-flag evaluation counts: the minute and hour windows on a manual
 * clock, what counts as enabled, the bound on keys, exact counts under concurrent recording. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>

#include "server/flag_stats.h"

#define T0 ((int64_t)1764000000000) /* a whole minute */

static void windows_slide(void **state) {
  sy_manual_clock c;
  sy__clock_manual_init(&c, T0);
  sy_flag_stats *st = sy__flag_stats_new(&c.clock);
  assert_non_null(st);
  sy_flag_stats_view v;
  sy__flag_stats_get(st, "a/b", &v);
  assert_int_equal(v.minute + v.hour, 0);
  for (int i = 0; i < 3; i++) sy__flag_stats_add(st, "a/b", 1);
  sy__clock_advance(&c, 30000);
  sy__flag_stats_add(st, "a/b", 0);
  sy__flag_stats_add(st, "a/b", 0);
  sy__flag_stats_get(st, "a/b", &v);
  assert_int_equal(v.minute, 5);
  assert_int_equal(v.minute_enabled, 3);
  assert_int_equal(v.hour, 5);
  /* 60 s after the first three: they leave the minute, not the hour */
  sy__clock_advance(&c, 30000);
  sy__flag_stats_get(st, "a/b", &v);
  assert_int_equal(v.minute, 2);
  assert_int_equal(v.minute_enabled, 0);
  assert_int_equal(v.hour, 5);
  assert_int_equal(v.hour_enabled, 3);
  /* a bucket reused a minute later starts from zero */
  sy__clock_advance(&c, 30000);
  sy__flag_stats_add(st, "a/b", 1);
  sy__flag_stats_get(st, "a/b", &v);
  assert_int_equal(v.minute, 1);
  assert_int_equal(v.hour, 6);
  /* an hour on, nothing is left */
  sy__clock_advance(&c, 3600 * 1000);
  sy__flag_stats_get(st, "a/b", &v);
  assert_int_equal(v.minute + v.hour, 0);
  sy__flag_stats_get(st, "other", &v);
  assert_int_equal(v.minute + v.hour, 0);
  sy__flag_stats_free(st);
}

static void enabled_means(void **state) {
  json_t *t = json_true(), *f = json_false(), *s = json_string("blue");
  sy_flag_result r = {.value = t, .variant = "on", .reason = SY_FLAG_SPLIT};
  assert_true(sy__flag_result_enabled(&r));
  r.value = f;
  assert_false(sy__flag_result_enabled(&r)); /* a boolean flag: its value decides */
  r = (sy_flag_result){.value = s, .variant = "blue", .reason = SY_FLAG_TARGETING_MATCH};
  assert_true(sy__flag_result_enabled(&r));
  r.reason = SY_FLAG_DEFAULT;
  assert_false(sy__flag_result_enabled(&r));
  r.reason = SY_FLAG_DISABLED;
  assert_false(sy__flag_result_enabled(&r));
  r = (sy_flag_result){.value = t, .reason = SY_FLAG_ERROR, .error = SY_FLAG_TARGETING_KEY_MISSING};
  assert_false(sy__flag_result_enabled(&r));
  json_decref(s);
}

static void keys_are_bounded(void **state) {
  sy_manual_clock c;
  sy__clock_manual_init(&c, T0);
  sy_flag_stats *st = sy__flag_stats_new(&c.clock);
  assert_non_null(st);
  char key[32];
  for (int i = 0; i <= SY_FLAG_STATS_KEYS; i++) {
    snprintf(key, sizeof key, "k/%d", i);
    sy__flag_stats_add(st, key, 1);
  }
  sy_flag_stats_view v;
  sy__flag_stats_get(st, "k/0", &v);
  assert_int_equal(v.minute, 1);
  snprintf(key, sizeof key, "k/%d", SY_FLAG_STATS_KEYS - 1);
  sy__flag_stats_get(st, key, &v);
  assert_int_equal(v.minute, 1);
  snprintf(key, sizeof key, "k/%d", SY_FLAG_STATS_KEYS);
  sy__flag_stats_get(st, key, &v);
  assert_int_equal(v.minute, 0);
  assert_int_equal(sy__flag_stats_dropped(st), 1);
  sy__flag_stats_add(st, "k/0", 0); /* known keys still count */
  sy__flag_stats_get(st, "k/0", &v);
  assert_int_equal(v.minute, 2);
  sy__flag_stats_free(st);
}

#define THREADS 8
#define PER_THREAD 20000

static sy_flag_stats *shared;

static void *hammer(void *arg) {
  const char *keys[] = {"hot", "warm", (const char *)arg};
  for (int i = 0; i < PER_THREAD; i++) sy__flag_stats_add(shared, keys[i % 3], i % 2);
  return NULL;
}

static void concurrent_counts_are_exact(void **state) {
  sy_manual_clock c;
  sy__clock_manual_init(&c, T0);
  shared = sy__flag_stats_new(&c.clock);
  assert_non_null(shared);
  pthread_t th[THREADS];
  char own[THREADS][16];
  for (int i = 0; i < THREADS; i++) {
    snprintf(own[i], sizeof own[i], "own/%d", i);
    assert_int_equal(pthread_create(&th[i], NULL, hammer, own[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  sy_flag_stats_view v;
  int64_t total = 0;
  sy__flag_stats_get(shared, "hot", &v);
  total += v.minute;
  assert_int_equal(v.minute, v.hour);
  sy__flag_stats_get(shared, "warm", &v);
  total += v.minute;
  for (int i = 0; i < THREADS; i++) {
    sy__flag_stats_get(shared, own[i], &v);
    total += v.minute;
  }
  assert_int_equal(total, (int64_t)THREADS * PER_THREAD);
  sy__flag_stats_free(shared);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(windows_slide),
      cmocka_unit_test(enabled_means),
      cmocka_unit_test(keys_are_bounded),
      cmocka_unit_test(concurrent_counts_are_exact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

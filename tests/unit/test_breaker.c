/* test_breaker.c — the provider breaker's transitions on an injected clock, and the backoff's
 * bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/breaker.h"

/* Small numbers so that each transition takes a few calls. */
static sy_breaker_cfg cfg_small(void) {
  sy_breaker_cfg c = {.consecutive_failures = 3,
                      .error_rate_percent = 50,
                      .min_requests = 10,
                      .window_ms = 10000,
                      .cooldown_ms = 5000,
                      .half_open_max = 2};
  return c;
}

/* Admits and reports one request at t. */
static void request(sy_breaker *b, const sy_breaker_cfg *c, int64_t t, int ok) {
  assert_true(sy__breaker_allow(b, c, t));
  sy__breaker_result(b, c, t, ok);
}

/* Opens b at t through consecutive failures. */
static void open_at(sy_breaker *b, const sy_breaker_cfg *c, int64_t t) {
  for (int i = 0; i < c->consecutive_failures; i++) request(b, c, t, 0);
  assert_int_equal(sy__breaker_state(b, c, t), SY_BREAKER_OPEN);
}

static void defaults(void **state) {
  sy_breaker_cfg c;
  sy_breaker b;
  sy__breaker_cfg_default(&c);
  assert_int_equal(c.consecutive_failures, 5);
  assert_int_equal(c.error_rate_percent, 50);
  assert_int_equal(c.min_requests, 20);
  assert_int_equal(c.window_ms, 30000);
  assert_int_equal(c.cooldown_ms, 30000);
  assert_int_equal(c.half_open_max, 1);
  sy__breaker_init(&b);
  assert_int_equal(sy__breaker_state(&b, &c, 0), SY_BREAKER_CLOSED);
  assert_string_equal(sy__breaker_state_name(SY_BREAKER_CLOSED), "closed");
  assert_string_equal(sy__breaker_state_name(SY_BREAKER_OPEN), "open");
  assert_string_equal(sy__breaker_state_name(SY_BREAKER_HALF_OPEN), "half_open");
}

static void consecutive_opens(void **state) {
  sy_breaker_cfg c = cfg_small();
  sy_breaker b;
  sy__breaker_init(&b);
  request(&b, &c, 1000, 0);
  request(&b, &c, 1000, 0);
  request(&b, &c, 1000, 1); /* a success breaks the run */
  request(&b, &c, 1000, 0);
  request(&b, &c, 1000, 0);
  assert_int_equal(sy__breaker_state(&b, &c, 1000), SY_BREAKER_CLOSED);
  request(&b, &c, 1001, 0);
  assert_int_equal(sy__breaker_state(&b, &c, 1001), SY_BREAKER_OPEN);
  assert_int_equal(b.opened_ms, 1001);
  assert_int_equal(b.opens, 1);
  assert_false(sy__breaker_allow(&b, &c, 1002));
  assert_false(sy__breaker_allow(&b, &c, 1001 + c.cooldown_ms - 1));
}

static void error_rate_needs_min_requests(void **state) {
  sy_breaker_cfg c = cfg_small();
  sy_breaker b;
  c.consecutive_failures = 1000; /* only the rate can open it */
  sy__breaker_init(&b);
  /* 9 results, all alternating fail/ok: 5 of 9 failed, over 50%, but fewer than 10 results */
  for (int i = 0; i < 9; i++) request(&b, &c, 2000, i % 2);
  assert_int_equal(sy__breaker_state(&b, &c, 2000), SY_BREAKER_CLOSED);
  request(&b, &c, 2000, 1); /* 10 results, 5 failed: 50% */
  assert_int_equal(sy__breaker_state(&b, &c, 2000), SY_BREAKER_OPEN);

  /* below the rate it stays closed however many results */
  sy__breaker_init(&b);
  for (int i = 0; i < 1000; i++) request(&b, &c, 2000 + i, i % 3 == 0 ? 0 : 1); /* a third failed */
  assert_int_equal(sy__breaker_state(&b, &c, 3000), SY_BREAKER_CLOSED);
}

static void window_forgets(void **state) {
  sy_breaker_cfg c = cfg_small();
  sy_breaker b;
  c.consecutive_failures = 1000;
  sy__breaker_init(&b);
  /* 9 failures early on, then a window later 9 successes and 1 failure: the old failures are
   * out of the window, so 1 of 10 failed */
  for (int i = 0; i < 9; i++) request(&b, &c, 10000, 0);
  assert_int_equal(sy__breaker_state(&b, &c, 10000), SY_BREAKER_CLOSED);
  for (int i = 0; i < 9; i++) request(&b, &c, 20000 + i, 1);
  request(&b, &c, 20500, 0);
  assert_int_equal(sy__breaker_state(&b, &c, 20500), SY_BREAKER_CLOSED);

  /* within the window they count: 9 failures then one success at +5 s opens it */
  sy__breaker_init(&b);
  for (int i = 0; i < 9; i++) request(&b, &c, 10000, 0);
  request(&b, &c, 15000, 1);
  assert_int_equal(sy__breaker_state(&b, &c, 15000), SY_BREAKER_OPEN);

  /* a slot is reused once the window has passed it: the same slot index a window later */
  sy__breaker_init(&b);
  for (int i = 0; i < 9; i++) request(&b, &c, 10000, 0);
  for (int i = 0; i < 9; i++) request(&b, &c, 10000 + c.window_ms, 1);
  request(&b, &c, 10000 + c.window_ms, 1);
  assert_int_equal(sy__breaker_state(&b, &c, 10000 + c.window_ms), SY_BREAKER_CLOSED);
}

static void cooldown_to_half_open(void **state) {
  sy_breaker_cfg c = cfg_small();
  sy_breaker b;
  sy__breaker_init(&b);
  open_at(&b, &c, 1000);
  assert_int_equal(sy__breaker_state(&b, &c, 1000 + c.cooldown_ms - 1), SY_BREAKER_OPEN);
  assert_int_equal(sy__breaker_state(&b, &c, 1000 + c.cooldown_ms), SY_BREAKER_HALF_OPEN);
  assert_int_equal(b.state, SY_BREAKER_OPEN); /* state() only reads */
  assert_true(sy__breaker_allow(&b, &c, 1000 + c.cooldown_ms));
  assert_int_equal(b.state, SY_BREAKER_HALF_OPEN);
}

static void trial_limit(void **state) {
  sy_breaker_cfg c = cfg_small();
  sy_breaker b;
  int64_t t = 1000 + c.cooldown_ms;
  sy__breaker_init(&b);
  open_at(&b, &c, 1000);
  assert_true(sy__breaker_allow(&b, &c, t));
  assert_true(sy__breaker_allow(&b, &c, t));
  assert_false(sy__breaker_allow(&b, &c, t)); /* half_open_max 2 */
  assert_false(sy__breaker_allow(&b, &c, t + 100000));
  assert_int_equal(b.trials, 2);
}

static void trial_success_closes(void **state) {
  sy_breaker_cfg c = cfg_small();
  sy_breaker b;
  int64_t t = 1000 + c.cooldown_ms;
  sy__breaker_init(&b);
  open_at(&b, &c, 1000);
  assert_true(sy__breaker_allow(&b, &c, t));
  sy__breaker_result(&b, &c, t + 10, 1);
  assert_int_equal(sy__breaker_state(&b, &c, t + 10), SY_BREAKER_CLOSED);
  assert_int_equal(b.consecutive, 0);
  assert_int_equal(b.trials, 0);
  /* the window was reset: the failures that opened it are gone */
  for (int i = 0; i < SY_BREAKER_SLOTS; i++) assert_int_equal(b.slot_fail[i], 0);
  /* and it takes a full run of failures to open again */
  request(&b, &c, t + 20, 0);
  request(&b, &c, t + 20, 0);
  assert_int_equal(sy__breaker_state(&b, &c, t + 20), SY_BREAKER_CLOSED);
  request(&b, &c, t + 20, 0);
  assert_int_equal(sy__breaker_state(&b, &c, t + 20), SY_BREAKER_OPEN);
  assert_int_equal(b.opens, 2);
}

static void trial_failure_reopens(void **state) {
  sy_breaker_cfg c = cfg_small();
  sy_breaker b;
  int64_t t = 1000 + c.cooldown_ms;
  sy__breaker_init(&b);
  open_at(&b, &c, 1000);
  assert_true(sy__breaker_allow(&b, &c, t));
  assert_true(sy__breaker_allow(&b, &c, t));
  sy__breaker_result(&b, &c, t + 50, 0);
  assert_int_equal(sy__breaker_state(&b, &c, t + 50), SY_BREAKER_OPEN);
  assert_int_equal(b.opened_ms, t + 50);
  assert_int_equal(b.opens, 2);
  /* the other trial answers late, while open: ignored, the cooldown counts from the reopen */
  sy__breaker_result(&b, &c, t + 60, 1);
  assert_int_equal(sy__breaker_state(&b, &c, t + 60), SY_BREAKER_OPEN);
  assert_false(sy__breaker_allow(&b, &c, t + 50 + c.cooldown_ms - 1));
  assert_true(sy__breaker_allow(&b, &c, t + 50 + c.cooldown_ms));
}

static void late_results_while_open(void **state) {
  sy_breaker_cfg c = cfg_small();
  sy_breaker b;
  sy__breaker_init(&b);
  /* five requests admitted while closed; three fail and open it; the other two answer late */
  for (int i = 0; i < 5; i++) assert_true(sy__breaker_allow(&b, &c, 1000));
  for (int i = 0; i < 3; i++) sy__breaker_result(&b, &c, 1000, 0);
  assert_int_equal(sy__breaker_state(&b, &c, 1000), SY_BREAKER_OPEN);
  sy__breaker_result(&b, &c, 1100, 1);
  sy__breaker_result(&b, &c, 1200, 0);
  assert_int_equal(sy__breaker_state(&b, &c, 1200), SY_BREAKER_OPEN);
  assert_int_equal(b.opened_ms, 1000);
  assert_int_equal(b.opens, 1);
  assert_int_equal(b.trials, 0);
  /* a late result after the cooldown, before any trial, neither closes nor reopens it */
  sy__breaker_result(&b, &c, 1000 + c.cooldown_ms, 1);
  assert_int_equal(sy__breaker_state(&b, &c, 1000 + c.cooldown_ms), SY_BREAKER_HALF_OPEN);
  assert_true(sy__breaker_allow(&b, &c, 1000 + c.cooldown_ms));
  sy__breaker_cancel(&b); /* the trial's client left */
  assert_int_equal(b.trials, 0);
  sy__breaker_result(&b, &c, 1000 + c.cooldown_ms + 1, 0); /* no trial out: a late result */
  assert_int_equal(b.state, SY_BREAKER_HALF_OPEN);
  assert_int_equal(b.opens, 1);
}

static void cancel_frees_trial(void **state) {
  sy_breaker_cfg c = cfg_small();
  sy_breaker b;
  int64_t t = 1000 + c.cooldown_ms;
  c.half_open_max = 1;
  sy__breaker_init(&b);
  open_at(&b, &c, 1000);
  assert_true(sy__breaker_allow(&b, &c, t));
  assert_false(sy__breaker_allow(&b, &c, t));
  sy__breaker_cancel(&b);
  assert_int_equal(b.state, SY_BREAKER_HALF_OPEN);
  assert_true(sy__breaker_allow(&b, &c, t + 1));
  assert_false(sy__breaker_allow(&b, &c, t + 1));
  sy__breaker_cancel(&b);
  sy__breaker_cancel(&b); /* one too many never goes below zero */
  assert_int_equal(b.trials, 0);
  /* cancel while closed changes nothing */
  sy__breaker_init(&b);
  sy__breaker_cancel(&b);
  assert_int_equal(b.trials, 0);
  assert_int_equal(b.state, SY_BREAKER_CLOSED);
}

/* xorshift64*: many spread-out rnd values without a clock */
static uint64_t next_rnd(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ULL;
}

static void backoff_bounds(void **state) {
  uint64_t s = 0x9e3779b97f4a7c15ULL;
  for (int attempt = 1; attempt <= 64; attempt++) {
    int64_t cap = 100;
    for (int i = 1; i < attempt && cap < 2000; i++) cap *= 2;
    if (cap > 2000) cap = 2000;
    int64_t seen_max = 0;
    for (int i = 0; i < 5000; i++) {
      int64_t ms = sy__backoff_ms(attempt, 100, 2000, next_rnd(&s));
      assert_true(ms >= 0 && ms <= cap);
      if (ms > seen_max) seen_max = ms;
    }
    assert_true(seen_max > cap * 9 / 10); /* spread over the whole range */
  }
  /* the edges of rnd */
  assert_int_equal(sy__backoff_ms(1, 100, 2000, 0), 0);
  assert_int_equal(sy__backoff_ms(1, 100, 2000, 100), 100);
  assert_int_equal(sy__backoff_ms(1, 100, 2000, 101), 0);
  assert_int_equal(sy__backoff_ms(2, 100, 2000, 200), 200);
  assert_int_equal(sy__backoff_ms(3, 100, 2000, UINT64_MAX), (int64_t)(UINT64_MAX % 401));
  assert_int_equal(sy__backoff_ms(1, 0, 2000, 12345), 0); /* base 0: no wait */
  assert_int_equal(sy__backoff_ms(5, 100, 100, 100), 100);
}

static void backoff_no_overflow(void **state) {
  uint64_t s = 42;
  for (int attempt = 30; attempt <= 200; attempt++) {
    for (int i = 0; i < 200; i++) {
      int64_t ms = sy__backoff_ms(attempt, 60000, 600000, next_rnd(&s));
      assert_true(ms >= 0 && ms <= 600000);
    }
  }
  assert_int_equal(sy__backoff_ms(60, 60000, 600000, 600000), 600000);
  assert_int_equal(sy__backoff_ms(60, INT64_MAX / 2, INT64_MAX, (uint64_t)INT64_MAX), INT64_MAX);
  assert_int_equal(sy__backoff_ms(64, 1, 1000, 1000), 1000);
  assert_int_equal(sy__backoff_ms(0, 100, 2000, 100), 100); /* attempt 0 reads as the first */
}

/* After a trial closes it, the provider's share ramps from 0 to 1 over recovery_ms; a breaker
 * that never opened, or a ramp of 0, gives the full share. */
static void recovery_ramp(void **state) {
  (void)state;
  sy_breaker_cfg c = cfg_small();
  c.recovery_ms = 10000;
  sy_breaker b;
  sy__breaker_init(&b);
  assert_true(sy__breaker_share(&b, &c, 0) == 1.0);
  open_at(&b, &c, 1000);
  assert_true(sy__breaker_share(&b, &c, 2000) == 1.0); /* open: the breaker refuses, the share does not */
  request(&b, &c, 1000 + c.cooldown_ms, 1);            /* the trial succeeds: closed */
  int64_t t = 1000 + c.cooldown_ms;
  assert_int_equal(sy__breaker_state(&b, &c, t), SY_BREAKER_CLOSED);
  assert_true(sy__breaker_share(&b, &c, t) == 0.0);
  assert_true(sy__breaker_share(&b, &c, t + 2500) > 0.24 && sy__breaker_share(&b, &c, t + 2500) < 0.26);
  assert_true(sy__breaker_share(&b, &c, t + 10000) == 1.0);
  c.recovery_ms = 0;
  assert_true(sy__breaker_share(&b, &c, t) == 1.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults),
      cmocka_unit_test(recovery_ramp),
      cmocka_unit_test(consecutive_opens),
      cmocka_unit_test(error_rate_needs_min_requests),
      cmocka_unit_test(window_forgets),
      cmocka_unit_test(cooldown_to_half_open),
      cmocka_unit_test(trial_limit),
      cmocka_unit_test(trial_success_closes),
      cmocka_unit_test(trial_failure_reopens),
      cmocka_unit_test(late_results_while_open),
      cmocka_unit_test(cancel_frees_trial),
      cmocka_unit_test(backoff_bounds),
      cmocka_unit_test(backoff_no_overflow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_bucket.c — the rollout bucket contract: SHA-256(salt "/" subject), big-endian, mod 10000. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bucket.h"

/* The test data directory: the absolute tests/unit/data/ given by the build, so the test runs
 * from any directory; else relative to tests/unit, where ctest runs it. */
#ifndef SY_TEST_DATA
#define SY_TEST_DATA "data/"
#endif
#define DATA SY_TEST_DATA
#define SUBJECTS 10000

/* ---- fixtures ---- */

/* The contract computed here, independently of bucket.c: one buffer, one digest. */
static uint32_t bucket_reference(const char *salt, const char *subject) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  char buf[512];
  int n = snprintf(buf, sizeof buf, "%s/%s", salt, subject);
  uint64_t b = 0;
  assert_true(n > 0 && (size_t)n < sizeof buf);
  assert_int_equal(EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL), 1);
  assert_int_equal(mdlen, 32);
  for (int i = 0; i < 8; i++) b = b << 8 | md[i];
  return (uint32_t)(b % 10000);
}

static uint32_t subject_bucket(const char *salt, int i) {
  char subject[32];
  snprintf(subject, sizeof subject, "user-%d", i);
  return sy_bucket(salt, subject);
}

/* ---- tests ---- */

/* data/buckets.txt was computed with sha256sum, outside OpenSSL and this code. */
static void buckets_file(void **state) {
  FILE *f = fopen(DATA "buckets.txt", "r");
  char line[1024];
  int count = 0;
  assert_non_null(f);
  while (fgets(line, sizeof line, f)) {
    char *salt = line, *subject, *hex, *num, *end;
    long want;
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0] || line[0] == '#') continue;
    subject = strchr(salt, '\t');
    assert_non_null(subject);
    *subject++ = 0;
    hex = strchr(subject, '\t');
    assert_non_null(hex);
    *hex++ = 0;
    num = strchr(hex, '\t');
    assert_non_null(num);
    *num++ = 0;
    want = strtol(num, &end, 10);
    assert_true(*end == 0 && want >= 0 && want < 10000);
    uint32_t got = sy_bucket(salt, subject);
    if (got != (uint32_t)want) fail_msg("salt \"%s\" subject \"%s\": bucket %u, want %ld", salt, subject, got, want);
    assert_int_equal(bucket_reference(salt, subject), (uint32_t)want);
    count++;
  }
  fclose(f);
  assert_true(count >= 10);
}

static void matches_reference(void **state) {
  static const char *salts[] = {"checkout", "new-search", "", "/a/b/flag", "caf\xc3\xa9"};
  for (size_t s = 0; s < sizeof salts / sizeof salts[0]; s++)
    for (int i = 0; i < 1000; i++) {
      char subject[32];
      snprintf(subject, sizeof subject, "user-%d", i);
      uint32_t got = sy_bucket(salts[s], subject), want = bucket_reference(salts[s], subject);
      if (got != want) fail_msg("salt \"%s\" subject \"%s\": %u, want %u", salts[s], subject, got, want);
    }
}

static void bucket_range_and_determinism(void **state) {
  for (int i = 0; i < SUBJECTS; i++) {
    uint32_t b = subject_bucket("checkout", i);
    assert_true(b < 10000);
    assert_int_equal(b, subject_bucket("checkout", i));
  }
}

/* The salt separates flags: the same subjects land in unrelated buckets. */
static void salt_matters(void **state) {
  int same = 0;
  for (int i = 0; i < 1000; i++) same += subject_bucket("checkout", i) == subject_bucket("search", i);
  assert_true(same < 10); /* about 0.1 expected */
}

/* In rollout of p% iff bucket < round(p * 100). */
static void in_thresholds(void **state) {
  assert_false(sy_bucket_in(0, 0.0));
  assert_false(sy_bucket_in(9999, 0.0));
  assert_true(sy_bucket_in(0, 0.01));
  assert_false(sy_bucket_in(1, 0.01));
  assert_true(sy_bucket_in(4999, 50.0));
  assert_false(sy_bucket_in(5000, 50.0));
  assert_true(sy_bucket_in(1233, 12.34));
  assert_false(sy_bucket_in(1234, 12.34));
  assert_true(sy_bucket_in(9998, 99.99));
  assert_false(sy_bucket_in(9999, 99.99));
  assert_true(sy_bucket_in(9999, 100.0));
  assert_true(sy_bucket_in(0, 100.0));
  /* Rounding to the nearest hundredth: 0.004% is 0, 0.006% is 0.01%. */
  assert_false(sy_bucket_in(0, 0.004));
  assert_true(sy_bucket_in(0, 0.006));
  assert_false(sy_bucket_in(1, 0.006));
  /* Out of range clamps to 0..100. */
  assert_false(sy_bucket_in(0, -5.0));
  assert_true(sy_bucket_in(9999, 150.0));
}

/* Every hundredth of a percent that is representable: the subject enters at exactly (b+1)/100. */
static void in_every_step(void **state) {
  for (uint32_t b = 0; b < 10000; b += 37)
    for (int cents = 0; cents <= 10000; cents++) {
      int want = b < (uint32_t)cents;
      if (sy_bucket_in(b, cents / 100.0) != want)
        fail_msg("bucket %u at %d.%02d%%: got %d", b, cents / 100, cents % 100, !want);
    }
}

/* Raising the percentage never drops a subject. */
static void monotonic(void **state) {
  static uint32_t buckets[SUBJECTS];
  static unsigned char in[SUBJECTS];
  for (int i = 0; i < SUBJECTS; i++) buckets[i] = subject_bucket("checkout", i);
  memset(in, 0, sizeof in);
  for (int cents = 0; cents <= 10000; cents += 7) {
    for (int i = 0; i < SUBJECTS; i++) {
      int now = sy_bucket_in(buckets[i], cents / 100.0);
      if (in[i] && !now) fail_msg("user-%d (bucket %u) dropped at %d cents", i, buckets[i], cents);
      in[i] = (unsigned char)now;
    }
  }
  for (int i = 0; i < SUBJECTS; i++) assert_true(sy_bucket_in(buckets[i], 100.0));
}

/* About half of 10,000 subjects fall in a 50% rollout, a tenth in 10%. */
static void proportion(void **state) {
  int at50 = 0, at10 = 0, at0 = 0;
  for (int i = 0; i < SUBJECTS; i++) {
    uint32_t b = subject_bucket("checkout", i);
    at50 += sy_bucket_in(b, 50.0);
    at10 += sy_bucket_in(b, 10.0);
    at0 += sy_bucket_in(b, 0.0);
  }
  if (at50 < 4800 || at50 > 5200) fail_msg("%d of %d in a 50%% rollout", at50, SUBJECTS);
  if (at10 < 800 || at10 > 1200) fail_msg("%d of %d in a 10%% rollout", at10, SUBJECTS);
  assert_int_equal(at0, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buckets_file),
      cmocka_unit_test(matches_reference),
      cmocka_unit_test(bucket_range_and_determinism),
      cmocka_unit_test(salt_matters),
      cmocka_unit_test(in_thresholds),
      cmocka_unit_test(in_every_step),
      cmocka_unit_test(monotonic),
      cmocka_unit_test(proportion),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_promq_parse.c — sy__promq_parse over Prometheus' query API answers (files in
 * data/promq/) and over malformed ones: one value from a scalar or a one-sample vector,
 * and the words of each refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/promq.h"

/* The file data/promq/name, NUL-terminated, into a malloc'd buffer (caller frees). */
static char *load(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%spromq/%s", SY_TEST_DATA, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *buf = malloc(65536);
  assert_non_null(buf);
  *len = fread(buf, 1, 65535, f);
  buf[*len] = 0;
  fclose(f);
  return buf;
}

/* Parses the file; returns the result, the value and why through out-parameters. */
static int parse_file(const char *name, double *v, char *why, size_t cap) {
  size_t len;
  char *body = load(name, &len);
  int rc = sy__promq_parse(body, len, v, why, cap);
  free(body);
  return rc;
}

static int parse_text(const char *text, double *v, char *why, size_t cap) {
  return sy__promq_parse(text, strlen(text), v, why, cap);
}

static void values(void **state) {
  (void)state;
  double v = -1;
  char why[256] = "";
  assert_int_equal(parse_file("vector_one.json", &v, why, sizeof why), 0);
  assert_true(v == 0.25);
  assert_int_equal(parse_file("scalar.json", &v, why, sizeof why), 0);
  assert_true(v == 42);
  assert_int_equal(parse_file("scalar_inf.json", &v, why, sizeof why), 0);
  assert_true(isinf(v) && v > 0);
  assert_int_equal(parse_file("scalar_neginf.json", &v, why, sizeof why), 0);
  assert_true(isinf(v) && v < 0);
  assert_int_equal(parse_text("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1e+06\"]}}",
                              &v, why, sizeof why),
                   0);
  assert_true(v == 1e6);
  assert_int_equal(parse_text("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"-0.5\"]}}",
                              &v, why, sizeof why),
                   0);
  assert_true(v == -0.5);
}

static void refusals(void **state) {
  (void)state;
  double v = 7;
  char why[256];
  assert_int_equal(parse_file("vector_three.json", &v, why, sizeof why), -1);
  assert_string_equal(why, "the query returned 3 series; a gate needs exactly one");
  assert_int_equal(parse_file("vector_none.json", &v, why, sizeof why), -1);
  assert_string_equal(why, "the query returned no series");
  assert_int_equal(parse_file("scalar_nan.json", &v, why, sizeof why), -1);
  assert_string_equal(why, "the query's value is NaN");
  assert_int_equal(parse_file("matrix.json", &v, why, sizeof why), -1);
  assert_non_null(strstr(why, "matrix"));
  assert_int_equal(parse_file("error.json", &v, why, sizeof why), -1);
  assert_non_null(strstr(why, "bad_data"));
  assert_non_null(strstr(why, "parse error"));
  assert_true(v == 7); /* untouched by a refusal */
}

static void garbage(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",
      "garbage",
      "null",
      "[]",
      "{}",
      "{\"status\":\"success\"}",
      "{\"status\":\"success\",\"data\":[]}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[1]}}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1]}]}}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,2]}]}}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[\"1\",\"2\"]}}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"0x10\"]}}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"infinity\"]}}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1 \"]}}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"\"]}}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1e999\"]}}",
      "{\"status\":\"success\",\"data\":{\"resultType\":\"weird\",\"result\":[1,\"1\"]}}",
      "{\"status\":\"success\",\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1\"]}}",
      "{\"status\":\"ok\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1\"]}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    double v = 7;
    char why[256] = "";
    assert_int_equal(parse_text(bad[i], &v, why, sizeof why), -1);
    assert_true(why[0]);
    assert_true(v == 7);
  }
  double v;
  char why[256];
  /* a NUL inside, a NULL body, and a tiny why buffer */
  assert_int_equal(sy__promq_parse("{\"status\":\0\"success\"}", 22, &v, why, sizeof why), -1);
  assert_int_equal(sy__promq_parse(NULL, 0, &v, why, sizeof why), -1);
  char tiny[8];
  assert_int_equal(parse_text("garbage", &v, tiny, sizeof tiny), -1);
  assert_int_equal(strlen(tiny), sizeof tiny - 1);
  /* deep nesting is refused, not a stack overflow */
  size_t n = 200000;
  char *deep = malloc(n + 1);
  assert_non_null(deep);
  memset(deep, '[', n);
  deep[n] = 0;
  assert_int_equal(sy__promq_parse(deep, n, &v, why, sizeof why), -1);
  free(deep);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(values),
      cmocka_unit_test(refusals),
      cmocka_unit_test(garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_text.c — byte-level text helpers: making echoed input valid UTF-8 (sy__utf8_clean). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/text.h"

/* Cleans a copy of in[0..n) and compares it with want (same length); checks the count. */
static void cleans_to(const char *in, size_t n, const char *want, size_t replaced) {
  char buf[64];
  assert_true(n <= sizeof buf);
  memcpy(buf, in, n);
  assert_int_equal(sy__utf8_clean(buf, n), replaced);
  assert_memory_equal(buf, want, n);
  assert_true(sy__utf8_valid(buf, n));
  assert_int_equal(sy__utf8_clean(buf, n), 0); /* a second pass finds nothing */
}

static void valid_text_is_untouched(void **state) {
  (void)state;
  cleans_to("", 0, "", 0);
  cleans_to("plain ascii", 11, "plain ascii", 0);
  cleans_to("caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80", 14, "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80", 0);
}

static void bad_bytes_become_question_marks(void **state) {
  (void)state;
  cleans_to(
      "a\xff"
      "b",
      3, "a?b", 1);
  cleans_to("\xc0\xaf", 2, "??", 2);           /* overlong '/' */
  cleans_to("\xed\xa0\x80", 3, "???", 3);      /* a surrogate */
  cleans_to("\xf4\x90\x80\x80", 4, "????", 4); /* above U+10FFFF */
  cleans_to("a\0b", 3, "a?b", 1);              /* a NUL */
}

/* The case that turned error replies into 500s: "%.200s" cutting a character in two. */
static void a_character_cut_by_truncation(void **state) {
  (void)state;
  cleans_to("ab\xc3", 3, "ab?", 1);
  cleans_to("x\xe2\x98", 3, "x??", 2);
  char msg[16], name[32];
  memset(name, 0, sizeof name);
  for (int i = 0; i < 10; i++) memcpy(name + 2 * i, "\xc3\xa9", 2); /* ten e-acute */
  snprintf(msg, sizeof msg, "(%.6s)", name + 0);                    /* cuts nothing: 3 whole */
  assert_true(sy__utf8_valid(msg, strlen(msg)));
  snprintf(msg, sizeof msg, "(%.5s)", name);
  assert_false(sy__utf8_valid(msg, strlen(msg)));
  sy__utf8_clean(msg, strlen(msg));
  assert_string_equal(msg, "(\xc3\xa9\xc3\xa9?)");
  json_t *j = json_pack("{ss}", "message", msg); /* JSON takes it now */
  assert_non_null(j);
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(valid_text_is_untouched),
      cmocka_unit_test(bad_bytes_become_question_marks),
      cmocka_unit_test(a_character_cut_by_truncation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

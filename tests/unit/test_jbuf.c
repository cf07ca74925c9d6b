/* test_jbuf.c — the direct JSON writer of the hot read paths: escaping, numbers, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/jbuf.h"
#include "core/rc.h"

/* Writes s as a JSON string and checks that a JSON parser reads back exactly s. */
static void round_trip(const char *s, size_t n) {
  sy_jbuf b;
  sy__jbuf_init(&b, 1 << 20);
  sy__jbuf_cstr(&b, "[");
  sy__jbuf_str(&b, s, n);
  sy__jbuf_cstr(&b, "]");
  size_t len = 0;
  char *text = sy__jbuf_take(&b, &len);
  assert_non_null(text);
  assert_int_equal(strlen(text), len);
  json_error_t err;
  json_t *v = json_loadb(text, len, JSON_ALLOW_NUL, &err);
  if (!v) fail_msg("%s does not parse: %s", text, err.text);
  json_t *e = json_array_get(v, 0);
  assert_true(json_is_string(e));
  assert_int_equal(json_string_length(e), n);
  assert_memory_equal(json_string_value(e), s, n);
  json_decref(v);
  free(text);
}

static void escapes(void **state) {
  (void)state;
  round_trip("", 0);
  round_trip("plain", 5);
  round_trip("\"quoted\"", 8);
  round_trip("back\\slash", 10);
  round_trip("line\nfeed\r\ttab\b\f", 16);
  round_trip("\x01\x02\x1f end", 7);
  round_trip("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14); /* UTF-8 passes through */
  char all[32];
  for (int i = 0; i < 32; i++) all[i] = (char)i;
  round_trip(all, sizeof all); /* every control character, NUL included */
}

static void exact_text(void **state) {
  (void)state;
  sy_jbuf b;
  sy__jbuf_init(&b, 1024);
  sy__jbuf_str(&b, "a\"b\\c\n\x01", 7);
  sy__jbuf_cstr(&b, " ");
  sy__jbuf_int(&b, 0);
  sy__jbuf_cstr(&b, " ");
  sy__jbuf_int(&b, -42);
  sy__jbuf_cstr(&b, " ");
  sy__jbuf_int(&b, INT64_MAX);
  sy__jbuf_cstr(&b, " ");
  sy__jbuf_int(&b, INT64_MIN);
  sy__jbuf_cstr(&b, " ");
  sy__jbuf_epoch_ms(&b, 1763840000123);
  sy__jbuf_cstr(&b, " ");
  sy__jbuf_epoch_ms(&b, 5);
  char *text = sy__jbuf_take(&b, NULL);
  assert_string_equal(text,
                      "\"a\\\"b\\\\c\\n\\u0001\" 0 -42 9223372036854775807 -9223372036854775808 "
                      "1763840000.123 0.005");
  free(text);
}

static void limit(void **state) {
  (void)state;
  sy_jbuf b;
  sy__jbuf_init(&b, 16);
  sy__jbuf_cstr(&b, "0123456789");
  assert_int_equal(b.err, 0);
  sy__jbuf_cstr(&b, "0123456789"); /* past the limit: refused, and everything after too */
  assert_int_equal(b.err, SY_ETOOLARGE);
  sy__jbuf_cstr(&b, "x");
  assert_null(sy__jbuf_take(&b, NULL));
  assert_null(b.p); /* take released what was written */
}

static void grows(void **state) {
  (void)state;
  sy_jbuf b;
  sy__jbuf_init(&b, 1 << 20);
  for (int i = 0; i < 10000; i++) sy__jbuf_cstr(&b, "abcdefghij");
  size_t len = 0;
  char *text = sy__jbuf_take(&b, &len);
  assert_non_null(text);
  assert_int_equal(len, 100000);
  assert_int_equal(strlen(text), 100000);
  assert_memory_equal(text + 99990, "abcdefghij", 10);
  free(text);
}

/* Started in the caller's storage: no allocation while the text fits, a move to the heap
 * when it outgrows it, and the limit counted the same either way. */
static void on_caller_storage(void **state) {
  (void)state;
  char small[8];
  sy_jbuf b;
  sy__jbuf_init_on(&b, 64, small, sizeof small);
  sy__jbuf_cstr(&b, "abc");
  sy__jbuf_putc(&b, 'd');
  assert_ptr_equal(b.p, small);
  assert_string_equal(small, "abcd");
  size_t len = 0;
  char *text = sy__jbuf_take(&b, &len); /* a copy the caller owns */
  assert_non_null(text);
  assert_ptr_not_equal(text, small);
  assert_int_equal(len, 4);
  assert_string_equal(text, "abcd");
  free(text);

  sy__jbuf_init_on(&b, 64, small, sizeof small);
  sy__jbuf_cstr(&b, "0123456");
  assert_ptr_equal(b.p, small);
  sy__jbuf_putc(&b, '7'); /* 8 bytes and the NUL: onto the heap */
  assert_ptr_not_equal(b.p, small);
  assert_string_equal(b.p, "01234567");
  sy__jbuf_free(&b);

  sy__jbuf_init_on(&b, 4, small, sizeof small); /* the limit, not the storage, bounds the text */
  sy__jbuf_cstr(&b, "abc");
  assert_int_equal(b.err, 0);
  sy__jbuf_putc(&b, 'd');
  assert_int_equal(b.err, SY_ETOOLARGE);
  assert_null(sy__jbuf_take(&b, NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(escapes), cmocka_unit_test(exact_text),        cmocka_unit_test(limit),
      cmocka_unit_test(grows),   cmocka_unit_test(on_caller_storage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

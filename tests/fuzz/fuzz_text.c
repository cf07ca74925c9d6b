/* fuzz_text.c — libFuzzer harness for the text checks: sy__utf8_check, sy__utf8_clean, sy__url_decode.
 *
 * Beyond "no crash", each call is held to its contract: the offset of a UTF-8 failure is
 * inside the input and everything before it is valid; sy__utf8_clean leaves valid text of
 * the same length and changes nothing that was valid; a successful decode is no longer than
 * its input, NUL-terminated, free of NULs and valid UTF-8, and re-encoding it decodes back
 * to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "check.h"

static void check_utf8(const char *s, size_t n) {
  size_t bad = (size_t)-1;
  int ok = sy__utf8_check(s, n, &bad);
  CHECK(ok == sy__utf8_valid(s, n));
  CHECK(ok == sy__utf8_check(s, n, NULL));
  if (ok) return;
  CHECK(bad < n);
  CHECK(sy__utf8_valid(s, bad)); /* the prefix before the first bad byte is fine */
}

/* Cleaning leaves valid UTF-8 of the same length, touches nothing in text that was valid,
 * and a second pass finds nothing to replace. */
static void check_clean(const char *s, size_t n) {
  char *c = malloc(n ? n : 1);
  if (!c) return;
  memcpy(c, s, n);
  size_t replaced = sy__utf8_clean(c, n);
  CHECK(sy__utf8_valid(c, n));
  CHECK(replaced <= n && (replaced == 0) == (sy__utf8_valid(s, n) != 0));
  if (!replaced) CHECK(memcmp(c, s, n) == 0);
  CHECK(sy__utf8_clean(c, n) == 0);
  free(c);
}

/* Percent-encodes every byte of s, so that decoding gives s back. */
static size_t encode_all(const char *s, size_t n, char *out) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    out[o++] = '%';
    out[o++] = hex[c >> 4];
    out[o++] = hex[c & 15];
  }
  return o;
}

static void check_decode(const char *s, size_t n, int plus_space) {
  char *out = malloc(n + 1);
  size_t len = (size_t)-1, bad = (size_t)-1;
  if (!out) return;
  if (sy__url_decode(s, n, plus_space, out, &len, &bad)) {
    CHECK(bad < n);
    free(out);
    return;
  }
  CHECK(len <= n);
  CHECK(out[len] == 0);
  CHECK(!memchr(out, 0, len));
  CHECK(sy__utf8_valid(out, len));
  /* the decoded text, percent-encoded again, decodes to itself */
  char *enc = malloc(3 * len + 1), *back = malloc(3 * len + 1);
  size_t blen = 0;
  if (enc && back) {
    size_t elen = encode_all(out, len, enc);
    CHECK(sy__url_decode(enc, elen, plus_space, back, &blen, NULL) == 0);
    CHECK(blen == len && memcmp(back, out, len) == 0);
  }
  free(enc);
  free(back);
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of exactly size bytes, so that ASan sees any read past the end */
  char *s = malloc(size ? size : 1);
  if (!s) return 0;
  memcpy(s, data, size);
  check_utf8(s, size);
  check_clean(s, size);
  check_decode(s, size, 0);
  check_decode(s, size, 1);
  free(s);
  return 0;
}

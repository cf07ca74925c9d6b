/* text.c — UTF-8 validation and percent-decoding, linear in their input. */
#include "core/text.h"

/* The length of the valid UTF-8 sequence (no NUL) that starts at p, or 0 if none does. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
  unsigned c = *p, min;
  size_t n;
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    n = 1, min = 0x80, c &= 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 2, min = 0x800, c &= 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 3, min = 0x10000, c &= 0x07;
  } else {
    return 0;
  }
  if ((size_t)(end - p) <= n) return 0;
  for (size_t i = 1; i <= n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    c = (c << 6) | (p[i] & 0x3f);
  }
  if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
  return n + 1;
}

int sy__utf8_check(const char *s, size_t len, size_t *bad_at) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    if (*p < 0x80 && *p) { /* the common case, without the call */
      p++;
      continue;
    }
    size_t k = utf8_seq(p, end);
    if (!k) {
      if (bad_at) *bad_at = (size_t)(p - (const unsigned char *)s);
      return 0;
    }
    p += k;
  }
  return 1;
}

int sy__utf8_valid(const char *s, size_t len) { return sy__utf8_check(s, len, NULL); }

size_t sy__utf8_clean(char *s, size_t len) {
  unsigned char *p = (unsigned char *)s, *end = p + len;
  size_t replaced = 0;
  while (p < end) {
    size_t k = *p && *p < 0x80 ? 1 : utf8_seq(p, end);
    if (!k) {
      *p = '?';
      replaced++;
      k = 1;
    }
    p += k;
  }
  return replaced;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int sy__url_decode(const char *s, size_t n, int plus_space, char *out, size_t *outlen, size_t *bad_at) {
  size_t j = 0, i = 0;
  while (i < n) {
    if (s[i] == '%') {
      int hi = i + 1 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi | lo) == 0) {
        if (bad_at) *bad_at = i;
        return -1;
      }
      out[j++] = (char)(hi * 16 + lo);
      i += 3;
    } else if (s[i] == 0) {
      if (bad_at) *bad_at = i;
      return -1;
    } else {
      out[j++] = plus_space && s[i] == '+' ? ' ' : s[i];
      i++;
    }
  }
  out[j] = 0;
  *outlen = j;
  size_t at = 0;
  if (!sy__utf8_check(out, j, &at)) {
    /* map the offset in out back to s: one more pass over at most n bytes */
    size_t oi = 0, si = 0;
    while (si < n && oi < at) si += s[si] == '%' ? 3 : 1, oi++;
    if (bad_at) *bad_at = si;
    return -1;
  }
  return 0;
}

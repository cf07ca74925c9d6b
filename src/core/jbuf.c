/* jbuf.c — direct JSON text output. */
#include "core/jbuf.h"

#include "core/rc.h"

#include <stdlib.h>
#include <string.h>

void sy__jbuf_init(sy_jbuf *b, size_t max) {
  memset(b, 0, sizeof *b);
  b->max = max;
}

void sy__jbuf_init_on(sy_jbuf *b, size_t max, char *buf, size_t cap) {
  sy__jbuf_init(b, max);
  b->p = buf;
  b->cap = cap < max ? cap : max; /* never room past max: see sy__jbuf_raw */
  buf[0] = 0;
}

void sy__jbuf_free(sy_jbuf *b) {
  if (b->heap) free(b->p);
  memset(b, 0, sizeof *b);
}

char *sy__jbuf_take(sy_jbuf *b, size_t *len) {
  char *p = b->err ? NULL : b->p;
  if (p && !b->heap && (p = malloc(b->len + 1))) memcpy(p, b->p, b->len + 1); /* the caller's storage: a copy */
  if (!p) {
    sy__jbuf_free(b);
    return NULL;
  }
  if (len) *len = b->len;
  b->p = NULL;
  b->len = b->cap = 0;
  b->heap = 0;
  return p;
}

static int reserve(sy_jbuf *b, size_t n) {
  if (b->err) return -1;
  if (n < b->cap - b->len) return 0; /* b->len + n + 1 <= b->cap, and cap <= max */
  if (n >= b->max || b->len + n + 1 > b->max) {
    b->err = SY_ETOOLARGE;
    return -1;
  }
  size_t cap = b->cap ? b->cap * 2 : 512;
  while (cap < b->len + n + 1) cap *= 2;
  if (cap > b->max) cap = b->max;
  char *p = b->heap ? realloc(b->p, cap) : malloc(cap);
  if (!p) {
    b->err = SY_ENOMEM;
    return -1;
  }
  if (!b->heap && b->p) memcpy(p, b->p, b->len + 1);
  b->p = p;
  b->cap = cap;
  b->heap = 1;
  return 0;
}

void sy__jbuf_raw_grow(sy_jbuf *b, const char *s, size_t n) {
  if (reserve(b, n)) return;
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void sy__jbuf_cstr(sy_jbuf *b, const char *s) { sy__jbuf_raw(b, s, strlen(s)); }

void sy__jbuf_str(sy_jbuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  /* Room for the worst case (every byte a \u00XX) taken at once, so that the bytes are
   * copied without a check each; a long string, or one near the buffer's limit, takes
   * room as its escapes come instead. */
  if (b->err) return;
  int tight = n > 4096 || b->len + 6 * n + 3 > b->max;
  if (reserve(b, tight ? n + 2 : 6 * n + 2)) return;
  char *o = b->p + b->len;
  *o++ = '"';
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    char esc[7] = {'\\', 0};
    size_t k = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    default:
      memcpy(esc, "\\u00", 4);  // NOLINT(bugprone-not-null-terminated-result): counted bytes, k says how many
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      k = 6;
    }
    if (tight) { /* the room in hand is for the plain bytes: take more as escapes come */
      b->len = (size_t)(o - b->p);
      sy__jbuf_raw(b, s + start, i - start);
      sy__jbuf_raw(b, esc, k);
      if (b->err || reserve(b, n - i)) return; /* the rest and the closing quote */
      o = b->p + b->len;
    } else {
      memcpy(o, s + start, i - start);
      o += i - start;
      memcpy(o, esc, k);
      o += k;
    }
    start = i + 1;
  }
  memcpy(o, s + start, n - start);
  o += n - start;
  *o++ = '"';
  *o = 0;
  b->len = (size_t)(o - b->p);
}

void sy__jbuf_int(sy_jbuf *b, int64_t v) {
  char tmp[24];
  int i = (int)sizeof tmp;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[--i] = '-';
  sy__jbuf_raw(b, tmp + i, sizeof tmp - (size_t)i);
}

void sy__jbuf_epoch_ms(sy_jbuf *b, int64_t ms) {
  if (ms < 0) ms = 0;
  char frac[4] = {'.', (char)('0' + ms / 100 % 10), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10)};
  sy__jbuf_int(b, ms / 1000);
  sy__jbuf_raw(b, frac, 4);
}

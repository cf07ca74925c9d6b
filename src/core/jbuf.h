/* jbuf.h — a bounded growing buffer that writes JSON text directly (hot read paths). */
#ifndef SY_CORE_JBUF_H
#define SY_CORE_JBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Every call appends; once err is set (SY_ENOMEM, or SY_ETOOLARGE when the text and its
 * NUL would pass max bytes) later calls do nothing, so a writer checks once at the end.
 * p is NUL-terminated whenever it is not NULL. */
typedef struct sy_jbuf {
  char *p;
  size_t len, cap, max;
  int err;  /* 0, SY_ENOMEM or SY_ETOOLARGE (core/rc.h) */
  int heap; /* p is the buffer's own (else the caller's storage, or NULL) */
} sy_jbuf;

void sy__jbuf_init(sy_jbuf *b, size_t max);
/* Starts b in the caller's storage buf[0..cap) (cap >= 1), which must outlive b; the
 * buffer moves to the heap only if it outgrows it, so short text costs no allocation. */
void sy__jbuf_init_on(sy_jbuf *b, size_t max, char *buf, size_t cap);
void sy__jbuf_free(sy_jbuf *b);
/* Hands over the NUL-terminated text (caller frees; copied out of caller storage); NULL if
 * err was set or nothing was written and no memory could be had. The buffer is reset. */
char *sy__jbuf_take(sy_jbuf *b, size_t *len);
void sy__jbuf_raw_grow(sy_jbuf *b, const char *s, size_t n);
/* Appends s[0..n): inline while it fits the room in hand (never past max), else grows. */
static inline void sy__jbuf_raw(sy_jbuf *b, const char *s, size_t n) {
  if (!b->err && n < b->cap - b->len) {
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return;
  }
  sy__jbuf_raw_grow(b, s, n);
}
static inline void sy__jbuf_putc(sy_jbuf *b, char c) { sy__jbuf_raw(b, &c, 1); }
void sy__jbuf_cstr(sy_jbuf *b, const char *s); /* raw text up to the NUL */
/* s[0..n) as a quoted JSON string: '"' '\\' and control characters escaped; other bytes
 * pass through (the store holds only valid UTF-8 text). */
void sy__jbuf_str(sy_jbuf *b, const char *s, size_t n);
void sy__jbuf_int(sy_jbuf *b, int64_t v);
/* Milliseconds as seconds with three decimals: 1763840000.123 */
void sy__jbuf_epoch_ms(sy_jbuf *b, int64_t ms);

#endif

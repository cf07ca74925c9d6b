/* jbuf.h — a bounded growing buffer that writes JSON text directly (hot read paths). */
#ifndef SY_CORE_JBUF_H
#define SY_CORE_JBUF_H

#include <stddef.h>
#include <stdint.h>

/* Every call appends; once err is set (out of memory, or past max) later calls do nothing. */
typedef struct sy_jbuf {
  char *p;
  size_t len, cap, max;
  int err;
} sy_jbuf;

void sy_jbuf_init(sy_jbuf *b, size_t max);
void sy_jbuf_free(sy_jbuf *b);
/* Hands over the NUL-terminated text (caller frees); NULL if err was set. The buffer is reset. */
char *sy_jbuf_take(sy_jbuf *b, size_t *len);
void sy_jbuf_raw(sy_jbuf *b, const char *s, size_t n);
void sy_jbuf_cstr(sy_jbuf *b, const char *s); /* raw text up to the NUL */
/* s[0..n) as a quoted JSON string: '"' '\\' and control characters escaped; other bytes
 * pass through (the store holds only valid UTF-8 text). */
void sy_jbuf_str(sy_jbuf *b, const char *s, size_t n);
void sy_jbuf_int(sy_jbuf *b, int64_t v);
/* Milliseconds as seconds with three decimals: 1763840000.123 */
void sy_jbuf_epoch_ms(sy_jbuf *b, int64_t ms);

#endif

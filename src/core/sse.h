/* sse.h — an incremental server-sent events parser: the gateway reads its providers' streams
 * with it, and the library the server's change stream. */
#ifndef SY_CORE_SSE_H
#define SY_CORE_SSE_H

#include <stddef.h>

#include "core/jbuf.h"

/* An incremental server-sent events parser: bytes in any
 * pieces, one callback per complete event with its data lines joined by '\n'. Linear in its
 * input; an event's data over max bytes is an error. Comments and other fields are skipped. */
typedef struct sy_sse_parser {
  sy_jbuf line; /* the line being read */
  sy_jbuf data; /* the event being read */
  int has_data;
  int cr; /* the last byte was a CR (a CRLF's LF is not a second line end) */
  size_t max;
} sy_sse_parser;
typedef int (*sy_sse_event_fn)(void *ctx, const char *data, size_t len); /* nonzero stops */
void sy__sse_init(sy_sse_parser *p, size_t max);
void sy__sse_free(sy_sse_parser *p);
/* Feeds n bytes. Returns 0, the callback's nonzero value, or -1 when an event passes max. */
int sy__sse_feed(sy_sse_parser *p, const char *buf, size_t n, sy_sse_event_fn fn, void *ctx);

#endif

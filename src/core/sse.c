/* sse.c — the incremental server-sent events parser (data fields only) of provider streams and the change stream. */
#include <string.h>

#include "core/sse.h"

/* A line holds at most a field name, its colon and space, and an event's worth of data. */
#define LINE_SLACK 64

void sy__sse_init(sy_sse_parser *p, size_t max) {
  memset(p, 0, sizeof *p);
  p->max = max;
  sy__jbuf_init(&p->line, max + LINE_SLACK + 1);
  sy__jbuf_init(&p->data, max + 1);
}

void sy__sse_free(sy_sse_parser *p) {
  sy__jbuf_free(&p->line);
  sy__jbuf_free(&p->data);
}

/* One complete line (without its end). 0, the callback's nonzero value, or -1. */
static int sse_line(sy_sse_parser *p, const char *s, size_t n, sy_sse_event_fn fn, void *ctx) {
  if (n == 0) { /* a blank line dispatches the event, if it had data */
    if (!p->has_data) return 0;
    int r = fn(ctx, p->data.p ? p->data.p : "", p->data.len);
    p->data.len = 0;
    if (p->data.p) p->data.p[0] = 0;
    p->has_data = 0;
    return r;
  }
  if (s[0] == ':') return 0; /* a comment: keep-alives */
  const char *colon = memchr(s, ':', n);
  size_t name = colon ? (size_t)(colon - s) : n;
  if (name != 4 || memcmp(s, "data", 4)) return 0; /* event, id, retry and unknown fields */
  const char *v = colon ? colon + 1 : s + n;
  size_t vn = (size_t)(s + n - v);
  if (vn && *v == ' ') v++, vn--;
  size_t need = vn + (p->has_data ? 1 : 0);
  if (p->data.len + need > p->max) return -1;
  if (p->has_data) sy__jbuf_putc(&p->data, '\n');
  sy__jbuf_raw(&p->data, v, vn);
  if (p->data.err) return -1;
  p->has_data = 1;
  return 0;
}

int sy__sse_feed(sy_sse_parser *p, const char *buf, size_t n, sy_sse_event_fn fn, void *ctx) {
  size_t i = 0;
  while (i < n) {
    if (p->cr) { /* the LF of a CRLF split across feeds, or right after the CR */
      p->cr = 0;
      if (buf[i] == '\n') {
        i++;
        continue;
      }
    }
    /* the rest of the line in this piece: one scan for either end */
    size_t j = i;
    while (j < n && buf[j] != '\n' && buf[j] != '\r') j++;
    if (j == n) { /* no end yet: keep the piece */
      if (p->line.len + (n - i) > p->max + LINE_SLACK) return -1;
      sy__jbuf_raw(&p->line, buf + i, n - i);
      return p->line.err ? -1 : 0;
    }
    int r;
    if (p->line.len == 0) { /* the whole line is in this piece: no copy */
      r = sse_line(p, buf + i, j - i, fn, ctx);
    } else {
      if (p->line.len + (j - i) > p->max + LINE_SLACK) return -1;
      sy__jbuf_raw(&p->line, buf + i, j - i);
      if (p->line.err) return -1;
      r = sse_line(p, p->line.p, p->line.len, fn, ctx);
      p->line.len = 0;
      p->line.p[0] = 0;
    }
    p->cr = buf[j] == '\r';
    i = j + 1;
    if (r) return r;
  }
  return 0;
}

/* rawreq.h — a raw HTTP request as text (request line, headers, blank line, body), split
 * into the shape SigV4 signs: for the SigV4 fuzz harnesses and their seed files. */
#ifndef SY_FUZZ_RAWREQ_H
#define SY_FUZZ_RAWREQ_H

#include <stddef.h>

#include "core/sigv4.h"

#define RAWREQ_HEADERS_MAX 128

/* One parsed request. Every string points into text, which the struct owns. */
typedef struct rawreq {
  char *text;
  char *body; /* a copy of exactly body_len bytes, so ASan sees a read past its end */
  sy_sigv4_http http;
  sy_sigv4_header headers[RAWREQ_HEADERS_MAX];
} rawreq;

/* Parses s[0..n): "METHOD TARGET[ VERSION]", then "Name:value" lines up to a blank line,
 * then the body. Lines end in "\n" or "\r\n"; a line without ':' is skipped; headers past
 * RAWREQ_HEADERS_MAX are dropped. The target splits at the first '?' into path and query.
 * Returns 0, or -1 when there is no request line or memory ran out. */
int rawreq_parse(const char *s, size_t n, rawreq *r);
void rawreq_free(rawreq *r);

#endif

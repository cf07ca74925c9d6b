/* sigv4_canon.h — private to sigv4*.c: what the verifier and signer (sigv4.c) share with the
 * canonical request, string to sign and date parsing (sigv4_canon.c). */
#ifndef SY_CORE_SIGV4_CANON_H
#define SY_CORE_SIGV4_CANON_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/jbuf.h"
#include "core/sigv4.h"

#define SY__SIGV4_TERMINATOR "aws4_request"
#define SY__SHA256_LEN 32
#define SY__HEX_SHA256_LEN 64
#define SY__SIGV4_ECHO_MAX 64 /* longest piece of client input quoted back in a message */
/* A jbuf's max counts the NUL: a canonical request may be SY_SIGV4_CANON_MAX bytes of text. */
#define SY__SIGV4_BUF_MAX (SY_SIGV4_CANON_MAX + 1)

/* A name in SignedHeaders, borrowed from the Authorization value. */
typedef struct sy__sigv4_name {
  const char *p;
  size_t n;
} sy__sigv4_name;

/* ---- small character helpers ---- */

static inline int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static inline int is_digit(char c) { return c >= '0' && c <= '9'; }
static inline char lower(char c) { return (char)(c + ((unsigned)(c - 'A') < 26u) * ('a' - 'A')); }

static inline int hex_val(char ch) {
  unsigned c = (unsigned char)ch, d = c - '0', l = (c | 0x20) - 'a';
  return d < 10 ? (int)d : l < 6 ? (int)l + 10 : -1;
}

/* Whether the NUL-terminated name is p[0..n) in any case. */
static inline int name_eq(const char *name, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!name[i] || lower(name[i]) != lower(p[i])) return 0;
  return name[n] == 0;
}

/* Trims leading and trailing whitespace off [*s, *s + *n). */
static inline void trim(const char **s, size_t *n) {
  while (*n && is_ws(**s)) (*s)++, (*n)--;
  while (*n && is_ws((*s)[*n - 1])) (*n)--;
}

static inline sy_rc sha256_hex(const void *data, size_t len, char out[SY__HEX_SHA256_LEN + 1]) {
  unsigned char md[SY__SHA256_LEN];
  sy__sha256(data, len, md);
  sy__hex(md, SY__SHA256_LEN, out);
  return SY_OK;
}

/* A request's header names measured and lowercased once (the verifier's, for a request of
 * a usual size), so that looking one up is a length check and a memcmp. Borrowed arrays,
 * one entry per header; a NULL name has length 0. NULL where one is taken: no index. */
typedef struct sy__sigv4_hindex {
  const size_t *lens;
  const char *const *lc;
} sy__sigv4_hindex;

/* Whether header i of http is named p[0..n) (p lowercase, n >= 1), in any case. */
int sy__sigv4_header_named(const sy_sigv4_http *http, const sy__sigv4_hindex *ix, size_t i, const char *p, size_t n);

/* The first value of the header named lname (lowercase), or NULL. */
const char *sy__sigv4_find_header(const sy_sigv4_http *http, const sy__sigv4_hindex *ix, const char *lname);

/* ---- dates: 0 on success ---- */

int sy__sigv4_valid_day(const char *s, size_t n);                  /* "YYYYMMDD", a real date */
int sy__sigv4_parse_amz_date(const char *s, size_t n, int64_t *t); /* "YYYYMMDDTHHMMSSZ" */
/* RFC 1123, "Sun, 30 Aug 2015 12:36:00 GMT" (the weekday optional, not checked) */
int sy__sigv4_parse_http_date(const char *s, size_t n, int64_t *t);

/* ---- what is signed ---- */

/* Splits a SignedHeaders value into names (borrowed from s): each non-empty, lowercase
 * tchars, no repeats, at most SY_SIGV4_SIGNED_HEADERS_MAX. Returns 0, or -1 with the reason
 * in why. */
int sy__sigv4_parse_signed_headers(const char *s, size_t len, sy__sigv4_name *names, size_t *count, char *why,
                                   size_t why_cap);

/* The whole canonical request into b. Returns SY_OK, SY_EINVAL with *missing set to the
 * index of a signed header the request does not carry, or b's error. */
sy_rc sy__sigv4_build_canonical(sy_jbuf *b, const sy_sigv4_http *http, const sy__sigv4_hindex *ix,
                                const sy__sigv4_name *names, size_t n, const char *signed_headers, size_t sh_len,
                                const char *payload_hash, size_t *missing);

/* Whether a scope component (region or service) is non-empty, bounded, without '/' or space. */
int sy__sigv4_valid_scope_part(const char *s, size_t max);

/* The string to sign into b, for a validated date. Returns SY_OK or b's error. */
sy_rc sy__sigv4_build_string_to_sign(sy_jbuf *b, const char *date16, const char *region, const char *service,
                                     const char *creq, size_t creq_len);

#endif

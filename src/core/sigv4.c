/* sigv4.c — AWS Signature Version 4: canonical request, string to sign, signing and verification. */
#include "core/sigv4.h"

#include "core/audit.h"
#include "core/civil.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TERMINATOR "aws4_request"
#define SHA256_LEN 32
#define HEX_SHA256_LEN 64
#define ECHO_MAX 64 /* longest piece of client input quoted back in a message */

/* ---- a bounded, growable byte buffer with a sticky error ---- */

/* Appends never fail loudly: the first failure (SY_ENOMEM, or SY_ETOOLARGE past
 * max) sticks in err and later appends are ignored, so a builder checks once at
 * the end. p is NUL-terminated whenever it is non-NULL. The buffer owns p when
 * heap is set; otherwise p is the caller's storage (sbuf_init_on), which serves
 * until it is outgrown: a request's canonical request fits on the stack. */
typedef struct sbuf {
  char *p;
  size_t len, cap, max;
  sy_rc err;
  int heap;
} sbuf;

static void sbuf_init(sbuf *b, size_t max) {
  b->p = NULL;
  b->len = b->cap = 0;
  b->max = max;
  b->err = SY_OK;
  b->heap = 0;
}

/* Starts b in the caller's buf (cap bytes, cap >= 1), which must outlive b. */
static void sbuf_init_on(sbuf *b, size_t max, char *buf, size_t cap) {
  sbuf_init(b, max);
  b->p = buf;
  b->cap = cap < max + 1 ? cap : max + 1; /* never room past max: see sbuf_put */
  buf[0] = 0;
}

static void sbuf_free(sbuf *b) {
  if (b->heap) free(b->p);
  sbuf_init(b, b->max);
}

/* Copies the text of b, NUL included, into the caller's out (cap bytes). */
static sy_rc sbuf_copy_out(const sbuf *b, char *out, size_t cap, size_t *len) {
  if (b->len >= cap) return SY_ETOOLARGE;
  memcpy(out, b->p ? b->p : "", b->len + 1);
  if (len) *len = b->len;
  return SY_OK;
}

static void sbuf_put_slow(sbuf *b, const void *s, size_t n) {
  if (b->err) return;
  if (n > b->max - b->len) {
    b->err = SY_ETOOLARGE;
    return;
  }
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + n + 1) ncap *= 2;
    if (ncap > b->max + 1) ncap = b->max + 1; /* so that the room in hand never passes max */
    char *np = b->heap ? realloc(b->p, ncap) : malloc(ncap);
    if (!np) {
      b->err = SY_ENOMEM;
      return;
    }
    if (!b->heap && b->p) memcpy(np, b->p, b->len + 1);
    b->p = np;
    b->cap = ncap;
    b->heap = 1;
  }
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

/* Appends n bytes. The room in hand is at most max (+ the NUL), so what fits it is within
 * the limit; anything else takes the slow path, which grows or refuses. */
static inline void sbuf_put(sbuf *b, const void *s, size_t n) {
  if (!b->err && n < b->cap - b->len) {
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return;
  }
  sbuf_put_slow(b, s, n);
}

static void sbuf_puts(sbuf *b, const char *s) { sbuf_put(b, s, strlen(s)); }
static void sbuf_putc(sbuf *b, char c) { sbuf_put(b, &c, 1); }

/* ---- small character helpers ---- */

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static char lower(char c) { return (char)(c + ((unsigned)(c - 'A') < 26u) * ('a' - 'A')); }

static int hex_val(char ch) {
  unsigned c = (unsigned char)ch, d = c - '0', l = (c | 0x20) - 'a';
  return d < 10 ? (int)d : l < 6 ? (int)l + 10 : -1;
}

static int unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

/* A character allowed in a SignedHeaders name: an RFC 7230 tchar, lowercase only. */
static int is_lower_tchar(char c) {
  return (c >= 'a' && c <= 'z') || is_digit(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* Whether the NUL-terminated name is p[0..n) in any case. */
static int name_eq(const char *name, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!name[i] || lower(name[i]) != lower(p[i])) return 0;
  return name[n] == 0;
}

/* Decodes exactly 2*n hex digits (either case) into n bytes; 0 on success. */
static int from_hex(const char *s, size_t n, unsigned char *out) {
  for (size_t i = 0; i < n; i++) {
    int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  return 0;
}

static sy_rc sha256_hex(const void *data, size_t len, char out[HEX_SHA256_LEN + 1]) {
  unsigned char md[SHA256_LEN];
  sy_sha256(data, len, md);
  sy_hex(md, SHA256_LEN, out);
  return SY_OK;
}

/* Trims leading and trailing whitespace off [*s, *s + *n). */
static void trim(const char **s, size_t *n) {
  while (*n && is_ws(**s)) (*s)++, (*n)--;
  while (*n && is_ws((*s)[*n - 1])) (*n)--;
}

/* Whether header i of http is named p[0..n), in any case. lens, when not NULL, holds the
 * lengths of the headers' names, so that most names are told apart without reading them. */
static int header_named(const sy_sigv4_http *http, const size_t *lens, size_t i, const char *p, size_t n) {
  const char *name = http->headers[i].name;
  return name && (!lens || lens[i] == n) && name_eq(name, p, n);
}

/* The first value of the header named lname (lowercase), or NULL. */
static const char *find_header(const sy_sigv4_http *http, const size_t *lens, const char *lname) {
  size_t ln = strlen(lname);
  for (size_t i = 0; i < http->n_headers; i++)
    if (header_named(http, lens, i, lname, ln)) return http->headers[i].value ? http->headers[i].value : "";
  return NULL;
}

/* ---- dates ---- */

static int days_in_month(int64_t y, int m) {
  static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 ? 28 + leap : dm[m - 1];
}

/* Reads n decimal digits; -1 if any is not a digit. */
static int digits(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static int civil_to_epoch(int y, int mo, int d, int h, int mi, int s, int64_t *t) {
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      s < 0 || s > 59)
    return -1;
  *t = sy__days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + s;
  return 0;
}

/* 0 when "YYYYMMDD" is a real date. */
static int valid_day(const char *s, size_t n) {
  int64_t t;
  if (n != 8) return -1;
  return civil_to_epoch(digits(s, 4), digits(s + 4, 2), digits(s + 6, 2), 0, 0, 0, &t);
}

/* Parses ISO 8601 basic "YYYYMMDDTHHMMSSZ"; 0 on success. */
static int parse_amz_date(const char *s, size_t n, int64_t *t) {
  if (n != SY_SIGV4_DATE_LEN || s[8] != 'T' || s[15] != 'Z') return -1;
  return civil_to_epoch(digits(s, 4), digits(s + 4, 2), digits(s + 6, 2), digits(s + 9, 2), digits(s + 11, 2),
                        digits(s + 13, 2), t);
}

/* Parses an RFC 1123 date, "Sun, 30 Aug 2015 12:36:00 GMT" (the weekday is
 * optional and not checked); 0 on success. */
static int parse_http_date(const char *s, size_t n, int64_t *t) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const char *comma = memchr(s, ',', n);
  int mo = 0;
  if (comma) {
    n -= (size_t)(comma + 1 - s);
    s = comma + 1;
    trim(&s, &n);
  }
  /* "30 Aug 2015 12:36:00 GMT" is 24 bytes. */
  if (n != 24 || s[2] != ' ' || s[6] != ' ' || s[11] != ' ' || s[14] != ':' || s[17] != ':' || s[20] != ' ' ||
      memcmp(s + 21, "GMT", 3) != 0)
    return -1;
  for (int i = 0; i < 12; i++)
    if (memcmp(s + 3, months + 3 * i, 3) == 0) mo = i + 1;
  return civil_to_epoch(digits(s + 7, 4), mo, digits(s, 2), digits(s + 12, 2), digits(s + 15, 2), digits(s + 18, 2), t);
}

static void put_digits(char *out, int64_t v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    out[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

sy_rc sy_sigv4_format_date(int64_t t, char out[SY_SIGV4_DATE_LEN + 1]) {
  int64_t days, secs, y;
  int m, d;
  /* 0000-01-01 .. 9999-12-31 */
  if (t < -62167219200 || t > 253402300799) return SY_EINVAL;
  days = t / 86400;
  secs = t % 86400;
  if (secs < 0) secs += 86400, days--;
  sy__civil_from_days(days, &y, &m, &d);
  put_digits(out, y, 4);
  put_digits(out + 4, m, 2);
  put_digits(out + 6, d, 2);
  out[8] = 'T';
  put_digits(out + 9, secs / 3600, 2);
  put_digits(out + 11, secs / 60 % 60, 2);
  put_digits(out + 13, secs % 60, 2);
  out[15] = 'Z';
  out[16] = 0;
  return SY_OK;
}

/* ---- canonical request ---- */

static void put_encoded_byte(sbuf *b, unsigned char c) {
  static const char hex[] = "0123456789ABCDEF";
  if (unreserved(c)) {
    sbuf_putc(b, (char)c);
  } else {
    char e[3] = {'%', hex[c >> 4], hex[c & 15]};
    sbuf_put(b, e, 3);
  }
}

static void put_encoded(sbuf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) put_encoded_byte(b, (unsigned char)s[i]);
}

/* Percent-decodes s (a '%' not followed by two hex digits stays literal) and
 * encodes the bytes again, so equivalent spellings canonicalise the same. */
static void put_reencoded(sbuf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%' && i + 2 < n && hex_val(s[i + 1]) >= 0 && hex_val(s[i + 2]) >= 0) {
      c = (unsigned char)(hex_val(s[i + 1]) << 4 | hex_val(s[i + 2]));
      i += 2;
    }
    put_encoded_byte(b, c);
  }
}

/* The canonical URI: RFC 3986 dot-segment removal, empty segments dropped, a
 * trailing slash kept, each segment encoded. */
static sy_rc put_canonical_uri(sbuf *b, const char *path) {
  typedef struct seg {
    const char *p;
    size_t n;
  } seg;
  sy_rc rc = SY_OK;
  seg local[16], *stack = local;
  size_t nseg = 1, depth = 0;
  int trailing = 0;
  const char *s;

  if (!path || !*path) path = "/";
  for (s = path; *s; s++) nseg += *s == '/';
  if (nseg > sizeof local / sizeof local[0] && !(stack = malloc(nseg * sizeof *stack))) {
    rc = SY_ENOMEM;
    goto out;
  }
  s = path[0] == '/' ? path + 1 : path;
  for (;;) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    int last = e == NULL;
    if (n == 0 || (n == 1 && s[0] == '.')) {
      if (last) trailing = 1;
    } else if (n == 2 && s[0] == '.' && s[1] == '.') {
      if (depth) depth--;
      if (last) trailing = 1;
    } else {
      assert(depth < nseg);
      stack[depth].p = s;
      stack[depth].n = n;
      depth++;
    }
    if (last) break;
    s = e + 1;
  }
  sbuf_putc(b, '/');
  for (size_t i = 0; i < depth; i++) {
    if (i) sbuf_putc(b, '/');
    put_encoded(b, stack[i].p, stack[i].n);
  }
  if (trailing && depth) sbuf_putc(b, '/');
out:
  if (stack != local) free(stack);
  return rc;
}

typedef struct qpair {
  size_t koff, voff; /* offsets into the scratch buffer while it may still move */
  const char *k, *v;
} qpair;

static int qpair_cmp(const void *a, const void *b) {
  const qpair *x = a, *y = b;
  int c = strcmp(x->k, y->k);
  return c ? c : strcmp(x->v, y->v);
}

/* The canonical query: pairs re-encoded, sorted by key then value, "k=v" joined by '&'. */
static sy_rc put_canonical_query(sbuf *b, const char *query) {
  sy_rc rc = SY_OK;
  qpair *pairs = NULL;
  size_t cap = 1, n = 0;
  sbuf scratch;
  const char *s;

  sbuf_init(&scratch, SY_SIGV4_CANON_MAX);
  if (!query || !*query) goto out;
  for (s = query; *s; s++) cap += *s == '&';
  pairs = malloc(cap * sizeof *pairs);
  if (!pairs) {
    rc = SY_ENOMEM;
    goto out;
  }
  s = query;
  for (;;) {
    const char *e = strchr(s, '&');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (len) {
      const char *eq = memchr(s, '=', len);
      size_t klen = eq ? (size_t)(eq - s) : len;
      assert(n < cap);
      pairs[n].koff = scratch.len;
      put_reencoded(&scratch, s, klen);
      sbuf_putc(&scratch, 0);
      pairs[n].voff = scratch.len;
      if (eq) put_reencoded(&scratch, eq + 1, len - klen - 1);
      sbuf_putc(&scratch, 0);
      n++;
    }
    if (!e) break;
    s = e + 1;
  }
  rc = scratch.err;
  if (rc) goto out;
  for (size_t i = 0; i < n; i++) {
    pairs[i].k = scratch.p + pairs[i].koff;
    pairs[i].v = scratch.p + pairs[i].voff;
  }
  qsort(pairs, n, sizeof *pairs, qpair_cmp);
  for (size_t i = 0; i < n; i++) {
    if (i) sbuf_putc(b, '&');
    sbuf_puts(b, pairs[i].k);
    sbuf_putc(b, '=');
    sbuf_puts(b, pairs[i].v);
  }
out:
  free(pairs);
  sbuf_free(&scratch);
  return rc;
}

/* A name in SignedHeaders, borrowed from the Authorization value. */
typedef struct hname {
  const char *p;
  size_t n;
} hname;

/* Splits a SignedHeaders value into names: each non-empty, lowercase tchars, no
 * repeats, at most SY_SIGV4_SIGNED_HEADERS_MAX. Returns 0, or -1 with the reason in why. */
static int parse_signed_headers(const char *s, size_t len, hname *names, size_t *count, char *why, size_t why_cap) {
  size_t n = 0, i = 0;
  *count = 0;
  if (!len) {
    snprintf(why, why_cap, "SignedHeaders is empty.");
    return -1;
  }
  while (i <= len) {
    size_t start = i;
    while (i < len && s[i] != ';') i++;
    if (i == start) {
      snprintf(why, why_cap, "SignedHeaders has an empty name.");
      return -1;
    }
    if (n == SY_SIGV4_SIGNED_HEADERS_MAX) {
      snprintf(why, why_cap, "SignedHeaders lists more than %d headers.", SY_SIGV4_SIGNED_HEADERS_MAX);
      return -1;
    }
    for (size_t j = start; j < i; j++) {
      if (!is_lower_tchar(s[j])) {
        snprintf(why, why_cap, "SignedHeaders name '%.*s' is not a lowercase header name.",
                 (int)(i - start < ECHO_MAX ? i - start : ECHO_MAX), s + start);
        return -1;
      }
    }
    for (size_t k = 0; k < n; k++) {
      if (names[k].n == i - start && memcmp(names[k].p, s + start, i - start) == 0) {
        snprintf(why, why_cap, "SignedHeaders lists '%.*s' twice.", (int)(i - start < ECHO_MAX ? i - start : ECHO_MAX),
                 s + start);
        return -1;
      }
    }
    names[n].p = s + start;
    names[n].n = i - start;
    n++;
    i++; /* past the ';' (or the end) */
  }
  *count = n;
  return 0;
}

/* Appends a header value with leading and trailing whitespace trimmed and each
 * run of inner whitespace collapsed to one space. */
static void put_trimmed_value(sbuf *b, const char *v) {
  size_t n = strlen(v), i = 0;
  trim(&v, &n);
  while (i < n) { /* v[i] is not whitespace: a word, then a run of whitespace as one space */
    size_t j = i;
    while (j < n && !is_ws(v[j])) j++;
    sbuf_put(b, v + i, j - i);
    if (j == n) break;
    sbuf_putc(b, ' ');
    while (is_ws(v[j])) j++;
    i = j;
  }
}

/* The whole canonical request into b. Returns SY_OK, SY_EINVAL with *missing set to
 * the index of a signed header the request does not carry, or b's error. */
static sy_rc build_canonical(sbuf *b, const sy_sigv4_http *http, const size_t *lens, const hname *names, size_t n,
                             const char *signed_headers, size_t sh_len, const char *payload_hash, size_t *missing) {
  sy_rc rc;
  sbuf_puts(b, http->method);
  sbuf_putc(b, '\n');
  rc = put_canonical_uri(b, http->path);
  if (rc) goto out;
  sbuf_putc(b, '\n');
  rc = put_canonical_query(b, http->query);
  if (rc) goto out;
  sbuf_putc(b, '\n');
  for (size_t i = 0; i < n; i++) {
    int found = 0;
    sbuf_put(b, names[i].p, names[i].n);
    sbuf_putc(b, ':');
    for (size_t h = 0; h < http->n_headers; h++) {
      if (!header_named(http, lens, h, names[i].p, names[i].n)) continue;
      if (found) sbuf_putc(b, ',');
      put_trimmed_value(b, http->headers[h].value ? http->headers[h].value : "");
      found = 1;
    }
    if (!found) {
      *missing = i;
      rc = SY_EINVAL;
      goto out;
    }
    sbuf_putc(b, '\n');
  }
  sbuf_putc(b, '\n');
  sbuf_put(b, signed_headers, sh_len);
  sbuf_putc(b, '\n');
  sbuf_puts(b, payload_hash);
  rc = b->err;
out:
  return rc;
}

/* Checks a scope component (region or service): non-empty, bounded, no '/' or space. */
static int valid_scope_part(const char *s, size_t max) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > max) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '/' || is_ws(s[i]) || (unsigned char)s[i] < 0x20) return 0;
  return 1;
}

/* The string to sign into b, for a validated date. */
static sy_rc build_string_to_sign(sbuf *b, const char *date16, const char *region, const char *service,
                                  const char *creq, size_t creq_len) {
  char hash[HEX_SHA256_LEN + 1];
  sy_rc rc = sha256_hex(creq, creq_len, hash);
  if (rc) goto out;
  sbuf_puts(b, SY_SIGV4_ALGORITHM "\n");
  sbuf_put(b, date16, SY_SIGV4_DATE_LEN);
  sbuf_putc(b, '\n');
  sbuf_put(b, date16, 8);
  sbuf_putc(b, '/');
  sbuf_puts(b, region);
  sbuf_putc(b, '/');
  sbuf_puts(b, service);
  sbuf_puts(b, "/" TERMINATOR "\n");
  sbuf_puts(b, hash);
  rc = b->err;
out:
  return rc;
}

static sy_rc hmac(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[SHA256_LEN]) {
  sy_hmac_sha256(key, key_len, data, len, out);
  return SY_OK;
}

sy_rc sy_sigv4_signing_key(const char *secret, size_t secret_len, const char *date8, const char *region,
                           const char *service, unsigned char key[SY_SIGV4_KEY_LEN]) {
  unsigned char ksecret[4 + SY_SIGV4_SECRET_MAX];
  unsigned char k1[SHA256_LEN], k2[SHA256_LEN];
  sy_rc rc = SY_EINVAL;
  if (secret_len > SY_SIGV4_SECRET_MAX) goto out;
  memcpy(ksecret, "AWS4", 4);               // NOLINT(bugprone-not-null-terminated-result): key bytes
  memcpy(ksecret + 4, secret, secret_len);  // NOLINT(bugprone-not-null-terminated-result): key bytes
  rc = hmac(ksecret, 4 + secret_len, date8, 8, k1);
  if (rc) goto out;
  rc = hmac(k1, SHA256_LEN, region, strlen(region), k2);
  if (rc) goto out;
  rc = hmac(k2, SHA256_LEN, service, strlen(service), k1);
  if (rc) goto out;
  rc = hmac(k1, SHA256_LEN, TERMINATOR, strlen(TERMINATOR), key);
out:
  OPENSSL_cleanse(ksecret, sizeof ksecret);
  OPENSSL_cleanse(k1, sizeof k1);
  OPENSSL_cleanse(k2, sizeof k2);
  return rc;
}

/* HMAC chain of SigV4: the signing key from the secret and scope, then the
 * signature of the string to sign. Every intermediate key is wiped. */
static sy_rc compute_signature(const char *secret, size_t secret_len, const char *date8, const char *region,
                               const char *service, const char *sts, size_t sts_len, unsigned char sig[SHA256_LEN]) {
  unsigned char key[SY_SIGV4_KEY_LEN];
  sy_rc rc = sy_sigv4_signing_key(secret, secret_len, date8, region, service, key);
  if (!rc) rc = hmac(key, sizeof key, sts, sts_len, sig);
  OPENSSL_cleanse(key, sizeof key);
  return rc;
}

sy_rc sy_sigv4_canonical_request(const sy_sigv4_http *http, const char *signed_headers, char *out, size_t cap,
                                 size_t *len) {
  hname names[SY_SIGV4_SIGNED_HEADERS_MAX];
  size_t n = 0, missing = 0;
  char why[160], hash[HEX_SHA256_LEN + 1];
  sbuf b;
  sy_rc rc = SY_EINVAL;

  sbuf_init(&b, SY_SIGV4_CANON_MAX);
  if (!http || !http->method || !*http->method || !signed_headers || !out || !cap || !len ||
      (http->n_headers && !http->headers) || (http->body_len && !http->body))
    goto out;
  *len = 0;
  out[0] = 0;
  if (parse_signed_headers(signed_headers, strlen(signed_headers), names, &n, why, sizeof why)) goto out;
  rc = sha256_hex(http->body, http->body_len, hash);
  if (rc) goto out;
  rc = build_canonical(&b, http, NULL, names, n, signed_headers, strlen(signed_headers), hash, &missing);
  if (!rc) rc = sbuf_copy_out(&b, out, cap, len);
out:
  sbuf_free(&b);
  return rc;
}

sy_rc sy_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service, const char *creq,
                              size_t creq_len, char *out, size_t cap) {
  int64_t t;
  sbuf b;
  sy_rc rc = SY_EINVAL;

  sbuf_init(&b, SY_SIGV4_CANON_MAX);
  if (!amz_date || parse_amz_date(amz_date, strlen(amz_date), &t) || !valid_scope_part(region, SY_SIGV4_REGION_MAX) ||
      !valid_scope_part(service, 64) || (!creq && creq_len) || !out || !cap)
    goto out;
  out[0] = 0;
  rc = build_string_to_sign(&b, amz_date, region, service, creq ? creq : "", creq_len);
  if (!rc) rc = sbuf_copy_out(&b, out, cap, NULL);
out:
  sbuf_free(&b);
  return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* "a;b;c": every header name in http, lowercased, sorted, once each. */
static sy_rc all_header_names(const sy_sigv4_http *http, sbuf *out) {
  sbuf lc;
  const char **v = NULL;
  size_t *offs = NULL;
  sy_rc rc = SY_EINVAL;

  sbuf_init(&lc, SY_SIGV4_CANON_MAX);
  if (!http->n_headers) goto out;
  v = malloc(http->n_headers * sizeof *v);
  offs = malloc(http->n_headers * sizeof *offs);
  if (!v || !offs) {
    rc = SY_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < http->n_headers; i++) {
    const char *name = http->headers[i].name;
    if (!name || !*name) goto out;
    offs[i] = lc.len;
    for (; *name; name++) sbuf_putc(&lc, lower(*name));
    sbuf_putc(&lc, 0);
  }
  rc = lc.err;
  if (rc) goto out;
  for (size_t i = 0; i < http->n_headers; i++) v[i] = lc.p + offs[i];
  qsort(v, http->n_headers, sizeof *v, cmp_str);
  for (size_t i = 0; i < http->n_headers; i++) {
    if (i && strcmp(v[i], v[i - 1]) == 0) continue;
    if (out->len) sbuf_putc(out, ';');
    sbuf_puts(out, v[i]);
  }
  sbuf_put(out, "", 0);
  rc = out->err;
out:
  free(v);
  free(offs);
  sbuf_free(&lc);
  return rc;
}

sy_rc sy_sigv4_sign(const sy_sigv4_sign_in *in, char *authz, size_t cap) {
  hname names[SY_SIGV4_SIGNED_HEADERS_MAX];
  size_t n = 0, missing = 0;
  char why[160], hash[HEX_SHA256_LEN + 1], sig_hex[HEX_SHA256_LEN + 1];
  unsigned char sig[SHA256_LEN];
  const char *date, *sh;
  size_t date_len;
  int64_t t;
  sbuf shb, creq, sts;
  sy_rc rc = SY_EINVAL;
  int k;

  sbuf_init(&shb, SY_SIGV4_CANON_MAX);
  sbuf_init(&creq, SY_SIGV4_CANON_MAX);
  sbuf_init(&sts, SY_SIGV4_CANON_MAX);
  if (!in || !authz || !cap) goto out;
  authz[0] = 0;
  if (!in->http.method || !*in->http.method || (in->http.n_headers && !in->http.headers) ||
      (in->http.body_len && !in->http.body) || !in->secret || !valid_scope_part(in->access_key_id, SY_SIGV4_AKID_MAX) ||
      !valid_scope_part(in->region, SY_SIGV4_REGION_MAX) || !valid_scope_part(in->service, 64))
    goto out;
  date = in->amz_date ? in->amz_date : find_header(&in->http, NULL, "x-amz-date");
  if (!date) goto out;
  date_len = strlen(date);
  trim(&date, &date_len);
  if (parse_amz_date(date, date_len, &t)) goto out;
  sh = in->signed_headers;
  if (!sh) {
    rc = all_header_names(&in->http, &shb);
    if (rc) goto out;
    sh = shb.p;
  }
  rc = SY_EINVAL;
  if (parse_signed_headers(sh, strlen(sh), names, &n, why, sizeof why)) goto out;
  rc = sha256_hex(in->http.body, in->http.body_len, hash);
  if (rc) goto out;
  rc = build_canonical(&creq, &in->http, NULL, names, n, sh, strlen(sh), hash, &missing);
  if (rc) goto out;
  rc = build_string_to_sign(&sts, date, in->region, in->service, creq.p, creq.len);
  if (rc) goto out;
  rc = compute_signature(in->secret, strlen(in->secret), date, in->region, in->service, sts.p, sts.len, sig);
  if (rc) goto out;
  sy_hex(sig, SHA256_LEN, sig_hex);
  k = snprintf(authz, cap,
               SY_SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/" TERMINATOR ", SignedHeaders=%s, Signature=%s",
               in->access_key_id, date, in->region, in->service, sh, sig_hex);
  if (k < 0 || (size_t)k >= cap) {
    authz[0] = 0;
    rc = SY_ETOOLARGE;
    goto out;
  }
  rc = SY_OK;
out:
  sbuf_free(&shb);
  sbuf_free(&creq);
  sbuf_free(&sts);
  return rc;
}

/* ---- verification ---- */

/* The three components of an Authorization value, borrowed from it. */
typedef struct authz_parts {
  const char *cred, *sh, *sig;
  size_t cred_len, sh_len, sig_len;
} authz_parts;

__attribute__((format(printf, 6, 7))) static sy_rc refuse(sy_sigv4_verdict *v, sy_sigv4_result result,
                                                          sy_sigv4_part part, char *msg, size_t cap, const char *fmt,
                                                          ...) {
  v->result = result;
  v->part = part;
  if (msg && cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
  }
  return SY_EUNAUTH;
}

static int clamp(size_t n) { return (int)(n < ECHO_MAX ? n : ECHO_MAX); }

/* Splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." into
 * its components (any order, each once). Returns SY_OK or a refusal. */
static sy_rc parse_authorization(const char *a, authz_parts *ap, sy_sigv4_verdict *v, char *msg, size_t cap) {
  size_t alg_len = 0, n = strlen(a), i;
  const char *missing1 = NULL, *missing2 = NULL, *missing3 = NULL;
  sy_rc rc = SY_OK;

  memset(ap, 0, sizeof *ap);
  while (alg_len < n && !is_ws(a[alg_len])) alg_len++;
  if (alg_len != strlen(SY_SIGV4_ALGORITHM) || memcmp(a, SY_SIGV4_ALGORITHM, alg_len) != 0) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_ALGORITHM, msg, cap,
                "Unsupported Authorization algorithm '%.*s': only " SY_SIGV4_ALGORITHM " is accepted.", clamp(alg_len),
                a);
    goto out;
  }
  i = alg_len;
  while (i < n) {
    const char *c, *eq, *val;
    size_t clen, klen, vlen;
    while (i < n && (is_ws(a[i]) || a[i] == ',')) i++;
    if (i == n) break;
    c = a + i;
    const char *comma = memchr(c, ',', n - i);
    i = comma ? (size_t)(comma - a) : n;
    clen = (size_t)(a + i - c);
    trim(&c, &clen);
    eq = memchr(c, '=', clen);
    if (!eq) {
      rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_AUTHORIZATION, msg, cap,
                  "Authorization component '%.*s' is not of the form Name=value.", clamp(clen), c);
      goto out;
    }
    klen = (size_t)(eq - c);
    val = eq + 1;
    vlen = clen - klen - 1;
    trim(&c, &klen);
    trim(&val, &vlen);
    const char **slot = NULL;
    size_t *slot_len = NULL;
    sy_sigv4_part part = SY_SIGV4_PART_AUTHORIZATION;
    if (klen == 10 && memcmp(c, "Credential", 10) == 0) {
      slot = &ap->cred, slot_len = &ap->cred_len, part = SY_SIGV4_PART_CREDENTIAL;
    } else if (klen == 13 && memcmp(c, "SignedHeaders", 13) == 0) {
      slot = &ap->sh, slot_len = &ap->sh_len, part = SY_SIGV4_PART_SIGNED_HEADERS;
    } else if (klen == 9 && memcmp(c, "Signature", 9) == 0) {
      slot = &ap->sig, slot_len = &ap->sig_len, part = SY_SIGV4_PART_SIGNATURE;
    } else {
      rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_AUTHORIZATION, msg, cap,
                  "Authorization has an unknown component '%.*s'.", clamp(klen), c);
      goto out;
    }
    if (*slot) {
      rc = refuse(v, SY_SIGV4_MALFORMED, part, msg, cap, "Authorization has '%.*s' twice.", clamp(klen), c);
      goto out;
    }
    *slot = val;
    *slot_len = vlen;
  }
  if (!ap->cred) missing1 = "Authorization header requires 'Credential' parameter. ";
  if (!ap->sig) missing2 = "Authorization header requires 'Signature' parameter. ";
  if (!ap->sh) missing3 = "Authorization header requires 'SignedHeaders' parameter. ";
  if (missing1 || missing2 || missing3) {
    sy_sigv4_part part = missing1   ? SY_SIGV4_PART_CREDENTIAL
                         : missing2 ? SY_SIGV4_PART_SIGNATURE
                                    : SY_SIGV4_PART_SIGNED_HEADERS;
    rc = refuse(v, SY_SIGV4_MALFORMED, part, msg, cap, "%s%s%sAuthorization=%.*s", missing1 ? missing1 : "",
                missing2 ? missing2 : "", missing3 ? missing3 : "", clamp(n), a);
    goto out;
  }
out:
  return rc;
}

static int valid_akid_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '.' || c == '_' || c == '-';
}

static int valid_region_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}

/* Parses Credential=AKID/YYYYMMDD/region/service/aws4_request into v and date8. */
static sy_rc parse_credential(const char *c, size_t n, const char *service, sy_sigv4_verdict *v, char date8[9],
                              char *msg, size_t cap) {
  const char *part[5];
  size_t len[5], k = 0, start = 0;
  sy_rc rc = SY_OK;

  for (size_t i = 0; i <= n; i++) {
    if (i < n && c[i] != '/') continue;
    if (k == 5) {
      k++;
      break;
    }
    part[k] = c + start;
    len[k] = i - start;
    k++;
    start = i + 1;
  }
  if (k != 5) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CREDENTIAL, msg, cap,
                "Credential should be of the form <access key id>/<YYYYMMDD>/<region>/<service>/" TERMINATOR
                ", not '%.*s'.",
                clamp(n), c);
    goto out;
  }
  if (len[0] == 0 || len[0] > SY_SIGV4_AKID_MAX) goto bad_akid;
  for (size_t i = 0; i < len[0]; i++)
    if (!valid_akid_char(part[0][i])) goto bad_akid;
  memcpy(v->access_key_id, part[0], len[0]);
  v->access_key_id[len[0]] = 0;
  if (len[2] == 0 || len[2] > SY_SIGV4_REGION_MAX) goto bad_region;
  for (size_t i = 0; i < len[2]; i++)
    if (!valid_region_char(part[2][i])) goto bad_region;
  memcpy(v->region, part[2], len[2]);
  v->region[len[2]] = 0;
  if (valid_day(part[1], len[1])) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CREDENTIAL, msg, cap,
                "Credential date '%.*s' is not a date of the form YYYYMMDD.", clamp(len[1]), part[1]);
    goto out;
  }
  memcpy(date8, part[1], 8);
  date8[8] = 0;
  if (len[3] != strlen(service) || memcmp(part[3], service, len[3]) != 0) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CREDENTIAL, msg, cap,
                "Credential should be scoped to correct service: '%s'.", service);
    goto out;
  }
  if (len[4] != strlen(TERMINATOR) || memcmp(part[4], TERMINATOR, len[4]) != 0) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CREDENTIAL, msg, cap,
                "Credential should be scoped with a valid terminator: '" TERMINATOR "', not '%.*s'.", clamp(len[4]),
                part[4]);
    goto out;
  }
  goto out;
bad_akid:
  rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CREDENTIAL, msg, cap,
              "Credential access key id '%.*s' is empty, too long or has characters outside "
              "[A-Za-z0-9._-].",
              clamp(len[0]), part[0]);
  goto out;
bad_region:
  rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CREDENTIAL, msg, cap,
              "Credential should be scoped to a valid region, not '%.*s'.", clamp(len[2]), part[2]);
out:
  return rc;
}

/* Reads the request time from x-amz-date, or else Date. */
static sy_rc request_time(const sy_sigv4_verify_in *in, const size_t *lens, int64_t *t, sy_sigv4_verdict *v, char *msg,
                          size_t cap) {
  const char *s = in->amz_date ? in->amz_date : find_header(&in->http, lens, "x-amz-date");
  size_t n;
  sy_rc rc = SY_OK;

  if (s) {
    n = strlen(s);
    trim(&s, &n);
    if (parse_amz_date(s, n, t))
      rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_DATE, msg, cap,
                  "X-Amz-Date '%.*s' is not a valid date of the form YYYYMMDDTHHMMSSZ.", clamp(n), s);
    goto out;
  }
  s = in->date ? in->date : find_header(&in->http, lens, "date");
  if (!s) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_DATE, msg, cap,
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header.");
    goto out;
  }
  n = strlen(s);
  trim(&s, &n);
  if (parse_http_date(s, n, t) && parse_amz_date(s, n, t))
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_DATE, msg, cap,
                "Date '%.*s' is not an RFC 1123 date such as 'Sun, 30 Aug 2015 12:36:00 GMT'.", clamp(n), s);
out:
  return rc;
}

/* Whether a header must be signed when a request carries it: the ones that choose what
 * the request does (x-amz-target) or how its body reads (content-type), and the one
 * the request's time comes from (x-amz-date, else date). Host is required always. */
static int must_sign(const sy_sigv4_http *http, const size_t *lens, size_t i) {
  const char *name = http->headers[i].name;
  size_t n = lens ? lens[i] : strlen(name);
  if (n == 12) return name_eq(name, "content-type", 12) || name_eq(name, "x-amz-target", 12);
  if (n == 10) return name_eq(name, "x-amz-date", 10);
  return n == 4 && name_eq(name, "date", 4) && !find_header(http, lens, "x-amz-date");
}

/* Finds a header the request carries that must be signed and is not in names.
 * Returns 0 when there is none, or -1 with the message in why. */
static int unsigned_header(const sy_sigv4_http *http, const size_t *lens, const hname *names, size_t n, char *why,
                           size_t why_cap) {
  for (size_t i = 0; i < http->n_headers; i++) {
    const char *h = http->headers[i].name;
    if (!h || !must_sign(http, lens, i)) continue;
    size_t hl = lens ? lens[i] : strlen(h), k = 0;
    while (k < n && !(names[k].n == hl && name_eq(h, names[k].p, hl))) k++;
    if (k == n) {
      snprintf(why, why_cap, "Header '%.*s' is in the request but not in SignedHeaders: it must be signed.", clamp(hl),
               h);
      return -1;
    }
  }
  return 0;
}

sy_rc sy_sigv4_verify(const sy_sigv4_verify_in *in, sy_sigv4_verdict *v, char *msg, size_t cap) {
  hname names[SY_SIGV4_SIGNED_HEADERS_MAX];
  size_t n_names = 0, missing = 0, secret_len = 0;
  char why[160], date8[9], date16[SY_SIGV4_DATE_LEN + 1], body_hash[HEX_SHA256_LEN + 1];
  char secret[SY_SIGV4_SECRET_MAX + 1];
  unsigned char given[SHA256_LEN], computed[SHA256_LEN];
  const char *auth, *csha;
  authz_parts ap;
  int64_t t = 0;
  int secret_used = 0;
  size_t lens_buf[128];
  const size_t *lens = NULL;
  char creq_buf[2048], sts_buf[512]; /* what a request's take, most of the time */
  sbuf creq, sts;
  sy_rc rc;

  if (msg && cap) msg[0] = 0;
  if (!in || !v) return SY_EINVAL;
  memset(v, 0, sizeof *v);
  sbuf_init_on(&creq, SY_SIGV4_CANON_MAX, creq_buf, sizeof creq_buf);
  sbuf_init_on(&sts, SY_SIGV4_CANON_MAX, sts_buf, sizeof sts_buf);
  rc = SY_EINVAL;
  if (!in->http.method || !*in->http.method || (in->http.n_headers && !in->http.headers) ||
      (in->http.body_len && !in->http.body) || (!in->secret_fn && !in->key_fn && !in->mac_fn) || !in->service ||
      !*in->service)
    goto out;

  /* The header itself. */
  /* the headers' names measured once (for a request of a usual size) */
  if (in->http.n_headers <= sizeof lens_buf / sizeof lens_buf[0]) {
    for (size_t i = 0; i < in->http.n_headers; i++)
      lens_buf[i] = in->http.headers[i].name ? strlen(in->http.headers[i].name) : 0;
    lens = lens_buf;
  }
  auth = in->authorization ? in->authorization : find_header(&in->http, lens, "authorization");
  if (auth) {
    size_t an = strlen(auth);
    trim(&auth, &an);
    if (!an) auth = NULL;
  }
  if (!auth) {
    rc = refuse(v, SY_SIGV4_MISSING_AUTH, SY_SIGV4_PART_NONE, msg, cap, "Request is missing Authentication Token");
    goto out;
  }
  rc = parse_authorization(auth, &ap, v, msg, cap);
  if (rc) goto out;
  rc = parse_credential(ap.cred, ap.cred_len, in->service, v, date8, msg, cap);
  if (rc) goto out;
  if (parse_signed_headers(ap.sh, ap.sh_len, names, &n_names, why, sizeof why)) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_SIGNED_HEADERS, msg, cap, "%s", why);
    goto out;
  }
  {
    int host = 0;
    for (size_t i = 0; i < n_names; i++) host |= names[i].n == 4 && memcmp(names[i].p, "host", 4) == 0;
    if (!host) {
      rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_SIGNED_HEADERS, msg, cap,
                  "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
      goto out;
    }
  }
  if (ap.sig_len != HEX_SHA256_LEN || from_hex(ap.sig, SHA256_LEN, given)) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_SIGNATURE, msg, cap,
                "Signature should be 64 hexadecimal digits, not '%.*s'.", clamp(ap.sig_len), ap.sig);
    goto out;
  }

  /* The date: well formed, the credential's day, and within the window. */
  rc = request_time(in, lens, &t, v, msg, cap);
  if (rc) goto out;
  if (sy_sigv4_format_date(t, date16)) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_DATE, msg, cap, "The request date is out of range.");
    goto out;
  }
  if (memcmp(date8, date16, 8) != 0) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CREDENTIAL, msg, cap,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                "HTTP: '%s' != '%.8s', from '%s'.",
                date8, date16, date16);
    goto out;
  }
  if (t < in->now - SY_SIGV4_WINDOW || t > in->now + SY_SIGV4_WINDOW) {
    char edge[SY_SIGV4_DATE_LEN + 1], now16[SY_SIGV4_DATE_LEN + 1];
    int late = t < in->now - SY_SIGV4_WINDOW;
    if (sy_sigv4_format_date(in->now, now16) ||
        sy_sigv4_format_date(late ? in->now - SY_SIGV4_WINDOW : in->now + SY_SIGV4_WINDOW, edge)) {
      rc = SY_EINVAL; /* the injected clock is out of range */
      goto out;
    }
    if (late)
      rc = refuse(v, SY_SIGV4_EXPIRED, SY_SIGV4_PART_NONE, msg, cap,
                  "Signature expired: %s is now earlier than %s (%s - 5 min.)", date16, edge, now16);
    else
      rc = refuse(v, SY_SIGV4_NOT_YET_VALID, SY_SIGV4_PART_NONE, msg, cap,
                  "Signature not yet current: %s is still later than %s (%s + 5 min.)", date16, edge, now16);
    goto out;
  }

  /* The body against x-amz-content-sha256, when sent. */
  rc = sha256_hex(in->http.body, in->http.body_len, body_hash);
  if (rc) goto out;
  csha = in->content_sha256 ? in->content_sha256 : find_header(&in->http, lens, "x-amz-content-sha256");
  if (csha) {
    size_t cn = strlen(csha);
    int same = 1;
    trim(&csha, &cn);
    if (cn != HEX_SHA256_LEN || from_hex(csha, SHA256_LEN, computed)) {
      rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CONTENT_SHA256, msg, cap,
                  "x-amz-content-sha256 must be the hex SHA-256 of the body, not '%.*s' "
                  "(UNSIGNED-PAYLOAD and streaming payloads are not accepted).",
                  clamp(cn), csha);
      goto out;
    }
    for (size_t i = 0; i < HEX_SHA256_LEN; i++) same &= lower(csha[i]) == body_hash[i];
    if (!same) {
      rc = refuse(v, SY_SIGV4_BODY_MISMATCH, SY_SIGV4_PART_NONE, msg, cap,
                  "The provided 'x-amz-content-sha256' header does not match what was computed: "
                  "the header says %.*s, the body hashes to %s.",
                  (int)cn, csha, body_hash);
      goto out;
    }
  }

  /* The canonical request; this also proves every signed header was sent. */
  rc = build_canonical(&creq, &in->http, lens, names, n_names, ap.sh, ap.sh_len, body_hash, &missing);
  if (rc == SY_EINVAL) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_SIGNED_HEADERS, msg, cap,
                "Signed header '%.*s' is not present in the request.", clamp(names[missing].n), names[missing].p);
    goto out;
  }
  if (rc == SY_ETOOLARGE) { /* never a cut-short form: the request is not checked at all */
    if (msg && cap)
      snprintf(msg, cap,
               "The request's canonical form would be longer than %u bytes (its query string, path or signed "
               "headers are too long), so its signature is not checked.",
               SY_SIGV4_CANON_MAX);
    goto out;
  }
  if (rc) goto out;
  if (unsigned_header(&in->http, lens, names, n_names, why, sizeof why)) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_SIGNED_HEADERS, msg, cap, "%s", why);
    goto out;
  }
  rc = build_string_to_sign(&sts, date16, v->region, in->service, creq.p, creq.len);
  if (rc) goto out;

  /* The key, then the signature. */
  if (in->mac_fn) {
    rc = in->mac_fn(in->secret_ctx, v->access_key_id, date8, v->region, in->service, sts.p, sts.len, computed);
    if (rc == SY_ENOTFOUND || rc == SY_EUNAUTH) {
      rc = refuse(v, SY_SIGV4_UNKNOWN_KEY, SY_SIGV4_PART_NONE, msg, cap,
                  "The security token included in the request is invalid: unknown access key id '%s'.",
                  v->access_key_id);
      goto out;
    }
    if (rc) goto out;
    goto compare;
  }
  if (in->key_fn) {
    unsigned char key[SY_SIGV4_KEY_LEN];
    rc = in->key_fn(in->secret_ctx, v->access_key_id, date8, v->region, in->service, key);
    if (!rc) rc = hmac(key, sizeof key, sts.p, sts.len, computed);
    OPENSSL_cleanse(key, sizeof key);
    if (rc == SY_ENOTFOUND || rc == SY_EUNAUTH) {
      rc = refuse(v, SY_SIGV4_UNKNOWN_KEY, SY_SIGV4_PART_NONE, msg, cap,
                  "The security token included in the request is invalid: unknown access key id '%s'.",
                  v->access_key_id);
      goto out;
    }
    if (rc) goto out;
    goto compare;
  }
  secret_used = 1;
  rc = in->secret_fn(in->secret_ctx, v->access_key_id, secret, SY_SIGV4_SECRET_MAX, &secret_len);
  if (rc == SY_ENOTFOUND || rc == SY_EUNAUTH) {
    rc = refuse(v, SY_SIGV4_UNKNOWN_KEY, SY_SIGV4_PART_NONE, msg, cap,
                "The security token included in the request is invalid: unknown access key id '%s'.", v->access_key_id);
    goto out;
  }
  if (rc) goto out;
  if (secret_len > SY_SIGV4_SECRET_MAX) {
    rc = SY_EINTERNAL;
    goto out;
  }
  rc = compute_signature(secret, secret_len, date8, v->region, in->service, sts.p, sts.len, computed);
  if (rc) goto out;
compare:
  if (CRYPTO_memcmp(given, computed, SHA256_LEN) != 0) {
    rc = refuse(v, SY_SIGV4_MISMATCH, SY_SIGV4_PART_NONE, msg, cap,
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service "
                "documentation for details.");
    goto out;
  }
  v->result = SY_SIGV4_OK;
  rc = SY_OK;
out:
  if (secret_used) OPENSSL_cleanse(secret, sizeof secret);
  OPENSSL_cleanse(computed, sizeof computed);
  sbuf_free(&creq);
  sbuf_free(&sts);
  return rc;
}

const char *sy_sigv4_result_code(sy_sigv4_result result) {
  switch (result) {
  case SY_SIGV4_OK: return "";
  case SY_SIGV4_MISSING_AUTH: return "MissingAuthenticationTokenException";
  case SY_SIGV4_MALFORMED: return "IncompleteSignatureException";
  case SY_SIGV4_UNKNOWN_KEY: return "UnrecognizedClientException";
  case SY_SIGV4_MISMATCH:
  case SY_SIGV4_EXPIRED:
  case SY_SIGV4_NOT_YET_VALID:
  case SY_SIGV4_BODY_MISMATCH: return "InvalidSignatureException";
  }
  return "InvalidSignatureException";
}

const char *sy_sigv4_part_name(sy_sigv4_part part) {
  switch (part) {
  case SY_SIGV4_PART_NONE: return "";
  case SY_SIGV4_PART_AUTHORIZATION: return "Authorization";
  case SY_SIGV4_PART_ALGORITHM: return "Algorithm";
  case SY_SIGV4_PART_CREDENTIAL: return "Credential";
  case SY_SIGV4_PART_SIGNED_HEADERS: return "SignedHeaders";
  case SY_SIGV4_PART_SIGNATURE: return "Signature";
  case SY_SIGV4_PART_DATE: return "X-Amz-Date";
  case SY_SIGV4_PART_CONTENT_SHA256: return "X-Amz-Content-Sha256";
  }
  return "";
}

/* sigv4_canon.c — what SigV4 signs: dates, the canonical request and the string to sign. */
#include "core/sigv4_canon.h"

#include "core/civil.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

/* A character allowed in a SignedHeaders name: an RFC 7230 tchar, lowercase only. */
static int is_lower_tchar(char c) {
  return (c >= 'a' && c <= 'z') || is_digit(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

int sy__sigv4_header_named(const sy_sigv4_http *http, const sy__sigv4_hindex *ix, size_t i, const char *p, size_t n) {
  if (ix) return ix->lens[i] == n && memcmp(ix->lc[i], p, n) == 0;
  const char *name = http->headers[i].name;
  return name && name_eq(name, p, n);
}

/* The first value of the header named lname (lowercase), or NULL. */
const char *sy__sigv4_find_header(const sy_sigv4_http *http, const sy__sigv4_hindex *ix, const char *lname) {
  size_t ln = strlen(lname);
  for (size_t i = 0; i < http->n_headers; i++)
    if (sy__sigv4_header_named(http, ix, i, lname, ln)) return http->headers[i].value ? http->headers[i].value : "";
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
int sy__sigv4_valid_day(const char *s, size_t n) {
  int64_t t;
  if (n != 8) return -1;
  return civil_to_epoch(digits(s, 4), digits(s + 4, 2), digits(s + 6, 2), 0, 0, 0, &t);
}

/* Parses ISO 8601 basic "YYYYMMDDTHHMMSSZ"; 0 on success. */
int sy__sigv4_parse_amz_date(const char *s, size_t n, int64_t *t) {
  if (n != SY_SIGV4_DATE_LEN || s[8] != 'T' || s[15] != 'Z') return -1;
  return civil_to_epoch(digits(s, 4), digits(s + 4, 2), digits(s + 6, 2), digits(s + 9, 2), digits(s + 11, 2),
                        digits(s + 13, 2), t);
}

/* Parses an RFC 1123 date, "Sun, 30 Aug 2015 12:36:00 GMT" (the weekday is
 * optional and not checked); 0 on success. */
int sy__sigv4_parse_http_date(const char *s, size_t n, int64_t *t) {
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

sy_rc sy__sigv4_format_date(int64_t t, char out[SY_SIGV4_DATE_LEN + 1]) {
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

static void put_encoded_byte(sy_jbuf *b, unsigned char c) {
  static const char hex[] = "0123456789ABCDEF";
  if (unreserved(c)) {
    sy__jbuf_putc(b, (char)c);
  } else {
    char e[3] = {'%', hex[c >> 4], hex[c & 15]};
    sy__jbuf_raw(b, e, 3);
  }
}

static void put_encoded(sy_jbuf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) put_encoded_byte(b, (unsigned char)s[i]);
}

/* Percent-decodes s (a '%' not followed by two hex digits stays literal) and
 * encodes the bytes again, so equivalent spellings canonicalise the same. */
static void put_reencoded(sy_jbuf *b, const char *s, size_t n) {
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
static sy_rc put_canonical_uri(sy_jbuf *b, const char *path) {
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
  sy__jbuf_putc(b, '/');
  for (size_t i = 0; i < depth; i++) {
    if (i) sy__jbuf_putc(b, '/');
    put_encoded(b, stack[i].p, stack[i].n);
  }
  if (trailing && depth) sy__jbuf_putc(b, '/');
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
static sy_rc put_canonical_query(sy_jbuf *b, const char *query) {
  sy_rc rc = SY_OK;
  qpair *pairs = NULL;
  size_t cap = 1, n = 0;
  sy_jbuf scratch;
  const char *s;

  sy__jbuf_init(&scratch, SY__SIGV4_BUF_MAX);
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
      sy__jbuf_putc(&scratch, 0);
      pairs[n].voff = scratch.len;
      if (eq) put_reencoded(&scratch, eq + 1, len - klen - 1);
      sy__jbuf_putc(&scratch, 0);
      n++;
    }
    if (!e) break;
    s = e + 1;
  }
  rc = (sy_rc)scratch.err;
  if (rc) goto out;
  for (size_t i = 0; i < n; i++) {
    pairs[i].k = scratch.p + pairs[i].koff;
    pairs[i].v = scratch.p + pairs[i].voff;
  }
  qsort(pairs, n, sizeof *pairs, qpair_cmp);
  for (size_t i = 0; i < n; i++) {
    if (i) sy__jbuf_putc(b, '&');
    sy__jbuf_cstr(b, pairs[i].k);
    sy__jbuf_putc(b, '=');
    sy__jbuf_cstr(b, pairs[i].v);
  }
out:
  free(pairs);
  sy__jbuf_free(&scratch);
  return rc;
}

/* Splits a SignedHeaders value into names: each non-empty, lowercase tchars, no
 * repeats, at most SY_SIGV4_SIGNED_HEADERS_MAX. Returns 0, or -1 with the reason in why. */
int sy__sigv4_parse_signed_headers(const char *s, size_t len, sy__sigv4_name *names, size_t *count, char *why,
                                   size_t why_cap) {
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
                 (int)(i - start < SY__SIGV4_ECHO_MAX ? i - start : SY__SIGV4_ECHO_MAX), s + start);
        return -1;
      }
    }
    for (size_t k = 0; k < n; k++) {
      if (names[k].n == i - start && memcmp(names[k].p, s + start, i - start) == 0) {
        snprintf(why, why_cap, "SignedHeaders lists '%.*s' twice.",
                 (int)(i - start < SY__SIGV4_ECHO_MAX ? i - start : SY__SIGV4_ECHO_MAX), s + start);
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
static void put_trimmed_value(sy_jbuf *b, const char *v) {
  size_t n = strlen(v), i = 0;
  trim(&v, &n);
  while (i < n) { /* v[i] is not whitespace: a word, then a run of whitespace as one space */
    size_t j = i;
    while (j < n && !is_ws(v[j])) j++;
    sy__jbuf_raw(b, v + i, j - i);
    if (j == n) break;
    sy__jbuf_putc(b, ' ');
    while (is_ws(v[j])) j++;
    i = j;
  }
}

/* The whole canonical request into b. Returns SY_OK, SY_EINVAL with *missing set to
 * the index of a signed header the request does not carry, or b's error. */
sy_rc sy__sigv4_build_canonical(sy_jbuf *b, const sy_sigv4_http *http, const sy__sigv4_hindex *ix,
                                const sy__sigv4_name *names, size_t n, const char *signed_headers, size_t sh_len,
                                const char *payload_hash, size_t *missing) {
  sy_rc rc;
  sy__jbuf_cstr(b, http->method);
  sy__jbuf_putc(b, '\n');
  rc = put_canonical_uri(b, http->path);
  if (rc) goto out;
  sy__jbuf_putc(b, '\n');
  rc = put_canonical_query(b, http->query);
  if (rc) goto out;
  sy__jbuf_putc(b, '\n');
  for (size_t i = 0; i < n; i++) {
    int found = 0;
    sy__jbuf_raw(b, names[i].p, names[i].n);
    sy__jbuf_putc(b, ':');
    for (size_t h = 0; h < http->n_headers; h++) {
      if (!sy__sigv4_header_named(http, ix, h, names[i].p, names[i].n)) continue;
      if (found) sy__jbuf_putc(b, ',');
      put_trimmed_value(b, http->headers[h].value ? http->headers[h].value : "");
      found = 1;
    }
    if (!found) {
      *missing = i;
      rc = SY_EINVAL;
      goto out;
    }
    sy__jbuf_putc(b, '\n');
  }
  sy__jbuf_putc(b, '\n');
  sy__jbuf_raw(b, signed_headers, sh_len);
  sy__jbuf_putc(b, '\n');
  sy__jbuf_cstr(b, payload_hash);
  rc = (sy_rc)b->err;
out:
  return rc;
}

/* Checks a scope component (region or service): non-empty, bounded, no '/' or space. */
int sy__sigv4_valid_scope_part(const char *s, size_t max) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > max) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '/' || is_ws(s[i]) || (unsigned char)s[i] < 0x20) return 0;
  return 1;
}

/* The string to sign into b, for a validated date. */
sy_rc sy__sigv4_build_string_to_sign(sy_jbuf *b, const char *date16, const char *region, const char *service,
                                     const char *creq, size_t creq_len) {
  char hash[SY__HEX_SHA256_LEN + 1];
  sy_rc rc = sha256_hex(creq, creq_len, hash);
  if (rc) goto out;
  sy__jbuf_cstr(b, SY_SIGV4_ALGORITHM "\n");
  sy__jbuf_raw(b, date16, SY_SIGV4_DATE_LEN);
  sy__jbuf_putc(b, '\n');
  sy__jbuf_raw(b, date16, 8);
  sy__jbuf_putc(b, '/');
  sy__jbuf_cstr(b, region);
  sy__jbuf_putc(b, '/');
  sy__jbuf_cstr(b, service);
  sy__jbuf_cstr(b, "/" SY__SIGV4_TERMINATOR "\n");
  sy__jbuf_cstr(b, hash);
  rc = (sy_rc)b->err;
out:
  return rc;
}

/* Copies the text of b, NUL included, into the caller's out (cap bytes). */
static sy_rc copy_out(const sy_jbuf *b, char *out, size_t cap, size_t *len) {
  if (b->len >= cap) return SY_ETOOLARGE;
  memcpy(out, b->p ? b->p : "", b->len + 1);
  if (len) *len = b->len;
  return SY_OK;
}

sy_rc sy__sigv4_canonical_request(const sy_sigv4_http *http, const char *signed_headers, char *out, size_t cap,
                                  size_t *len) {
  sy__sigv4_name names[SY_SIGV4_SIGNED_HEADERS_MAX];
  size_t n = 0, missing = 0;
  char why[160], hash[SY__HEX_SHA256_LEN + 1];
  sy_jbuf b;
  sy_rc rc = SY_EINVAL;

  sy__jbuf_init(&b, SY__SIGV4_BUF_MAX);
  if (!http || !http->method || !*http->method || !signed_headers || !out || !cap || !len ||
      (http->n_headers && !http->headers) || (http->body_len && !http->body))
    goto out;
  *len = 0;
  out[0] = 0;
  if (sy__sigv4_parse_signed_headers(signed_headers, strlen(signed_headers), names, &n, why, sizeof why)) goto out;
  rc = sha256_hex(http->body, http->body_len, hash);
  if (rc) goto out;
  rc = sy__sigv4_build_canonical(&b, http, NULL, names, n, signed_headers, strlen(signed_headers), hash, &missing);
  if (!rc) rc = copy_out(&b, out, cap, len);
out:
  sy__jbuf_free(&b);
  return rc;
}

sy_rc sy__sigv4_string_to_sign(const char *amz_date, const char *region, const char *service, const char *creq,
                               size_t creq_len, char *out, size_t cap) {
  int64_t t;
  sy_jbuf b;
  sy_rc rc = SY_EINVAL;

  sy__jbuf_init(&b, SY__SIGV4_BUF_MAX);
  if (!amz_date || sy__sigv4_parse_amz_date(amz_date, strlen(amz_date), &t) ||
      !sy__sigv4_valid_scope_part(region, SY_SIGV4_REGION_MAX) || !sy__sigv4_valid_scope_part(service, 64) ||
      (!creq && creq_len) || !out || !cap)
    goto out;
  out[0] = 0;
  rc = sy__sigv4_build_string_to_sign(&b, amz_date, region, service, creq ? creq : "", creq_len);
  if (!rc) rc = copy_out(&b, out, cap, NULL);
out:
  sy__jbuf_free(&b);
  return rc;
}

/* sigv4.c — AWS Signature Version 4: verifying a request, signing one, and the signing key. */
#include "core/sigv4.h"

#include "core/audit.h"
#include "core/sigv4_canon.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes exactly 2*n hex digits (either case) into n bytes; 0 on success. */
static int from_hex(const char *s, size_t n, unsigned char *out) {
  /* a digit's value + 1; 0 for a byte that is not a hex digit */
  static const unsigned char val[256] = {
      ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
      ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
      ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16};
  unsigned bad = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned hi = val[(unsigned char)s[2 * i]], lo = val[(unsigned char)s[2 * i + 1]];
    bad |= (hi - 1) | (lo - 1); /* a 0 wraps: every bit set */
    out[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
  }
  return bad > 15 ? -1 : 0;
}

static sy_rc hmac(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[SY__SHA256_LEN]) {
  sy__hmac_sha256(key, key_len, data, len, out);
  return SY_OK;
}

sy_rc sy__sigv4_signing_key(const char *secret, size_t secret_len, const char *date8, const char *region,
                            const char *service, unsigned char key[SY_SIGV4_KEY_LEN]) {
  unsigned char ksecret[4 + SY_SIGV4_SECRET_MAX];
  unsigned char k1[SY__SHA256_LEN], k2[SY__SHA256_LEN];
  sy_rc rc = SY_EINVAL;
  if (secret_len > SY_SIGV4_SECRET_MAX) goto out;
  memcpy(ksecret, "AWS4", 4);               // NOLINT(bugprone-not-null-terminated-result): key bytes
  memcpy(ksecret + 4, secret, secret_len);  // NOLINT(bugprone-not-null-terminated-result): key bytes
  rc = hmac(ksecret, 4 + secret_len, date8, 8, k1);
  if (rc) goto out;
  rc = hmac(k1, SY__SHA256_LEN, region, strlen(region), k2);
  if (rc) goto out;
  rc = hmac(k2, SY__SHA256_LEN, service, strlen(service), k1);
  if (rc) goto out;
  rc = hmac(k1, SY__SHA256_LEN, SY__SIGV4_TERMINATOR, strlen(SY__SIGV4_TERMINATOR), key);
out:
  OPENSSL_cleanse(ksecret, sizeof ksecret);
  OPENSSL_cleanse(k1, sizeof k1);
  OPENSSL_cleanse(k2, sizeof k2);
  return rc;
}

/* HMAC chain of SigV4: the signing key from the secret and scope, then the
 * signature of the string to sign. Every intermediate key is wiped. */
static sy_rc compute_signature(const char *secret, size_t secret_len, const char *date8, const char *region,
                               const char *service, const char *sts, size_t sts_len,
                               unsigned char sig[SY__SHA256_LEN]) {
  unsigned char key[SY_SIGV4_KEY_LEN];
  sy_rc rc = sy__sigv4_signing_key(secret, secret_len, date8, region, service, key);
  if (!rc) rc = hmac(key, sizeof key, sts, sts_len, sig);
  OPENSSL_cleanse(key, sizeof key);
  return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* "a;b;c": every header name in http, lowercased, sorted, once each. */
static sy_rc all_header_names(const sy_sigv4_http *http, sy_jbuf *out) {
  sy_jbuf lc;
  const char **v = NULL;
  size_t *offs = NULL;
  sy_rc rc = SY_EINVAL;

  sy__jbuf_init(&lc, SY__SIGV4_BUF_MAX);
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
    for (; *name; name++) sy__jbuf_putc(&lc, lower(*name));
    sy__jbuf_putc(&lc, 0);
  }
  rc = (sy_rc)lc.err;
  if (rc) goto out;
  for (size_t i = 0; i < http->n_headers; i++) v[i] = lc.p + offs[i];
  qsort(v, http->n_headers, sizeof *v, cmp_str);
  for (size_t i = 0; i < http->n_headers; i++) {
    if (i && strcmp(v[i], v[i - 1]) == 0) continue;
    if (out->len) sy__jbuf_putc(out, ';');
    sy__jbuf_cstr(out, v[i]);
  }
  sy__jbuf_raw(out, "", 0);
  rc = (sy_rc)out->err;
out:
  free(v);
  free(offs);
  sy__jbuf_free(&lc);
  return rc;
}

sy_rc sy__sigv4_sign(const sy_sigv4_sign_in *in, char *authz, size_t cap) {
  sy__sigv4_name names[SY_SIGV4_SIGNED_HEADERS_MAX];
  size_t n = 0, missing = 0;
  char why[160], hash[SY__HEX_SHA256_LEN + 1], sig_hex[SY__HEX_SHA256_LEN + 1];
  unsigned char sig[SY__SHA256_LEN];
  const char *date, *sh;
  size_t date_len;
  int64_t t;
  sy_jbuf shb, creq, sts;
  sy_rc rc = SY_EINVAL;
  int k;

  sy__jbuf_init(&shb, SY__SIGV4_BUF_MAX);
  sy__jbuf_init(&creq, SY__SIGV4_BUF_MAX);
  sy__jbuf_init(&sts, SY__SIGV4_BUF_MAX);
  if (!in || !authz || !cap) goto out;
  authz[0] = 0;
  if (!in->http.method || !*in->http.method || (in->http.n_headers && !in->http.headers) ||
      (in->http.body_len && !in->http.body) || !in->secret ||
      !sy__sigv4_valid_scope_part(in->access_key_id, SY_SIGV4_AKID_MAX) ||
      !sy__sigv4_valid_scope_part(in->region, SY_SIGV4_REGION_MAX) || !sy__sigv4_valid_scope_part(in->service, 64))
    goto out;
  date = in->amz_date ? in->amz_date : sy__sigv4_find_header(&in->http, NULL, "x-amz-date");
  if (!date) goto out;
  date_len = strlen(date);
  trim(&date, &date_len);
  if (sy__sigv4_parse_amz_date(date, date_len, &t)) goto out;
  sh = in->signed_headers;
  if (!sh) {
    rc = all_header_names(&in->http, &shb);
    if (rc) goto out;
    sh = shb.p;
  }
  rc = SY_EINVAL;
  if (sy__sigv4_parse_signed_headers(sh, strlen(sh), names, &n, why, sizeof why)) goto out;
  rc = sha256_hex(in->http.body, in->http.body_len, hash);
  if (rc) goto out;
  rc = sy__sigv4_build_canonical(&creq, &in->http, NULL, names, n, sh, strlen(sh), hash, &missing);
  if (rc) goto out;
  rc = sy__sigv4_build_string_to_sign(&sts, date, in->region, in->service, creq.p, creq.len);
  if (rc) goto out;
  rc = compute_signature(in->secret, strlen(in->secret), date, in->region, in->service, sts.p, sts.len, sig);
  if (rc) goto out;
  sy__hex(sig, SY__SHA256_LEN, sig_hex);
  k = snprintf(authz, cap,
               SY_SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/" SY__SIGV4_TERMINATOR ", SignedHeaders=%s, Signature=%s",
               in->access_key_id, date, in->region, in->service, sh, sig_hex);
  if (k < 0 || (size_t)k >= cap) {
    authz[0] = 0;
    rc = SY_ETOOLARGE;
    goto out;
  }
  rc = SY_OK;
out:
  sy__jbuf_free(&shb);
  sy__jbuf_free(&creq);
  sy__jbuf_free(&sts);
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

static int clamp(size_t n) { return (int)(n < SY__SIGV4_ECHO_MAX ? n : SY__SIGV4_ECHO_MAX); }

/* Splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." (a[0..n)) into
 * its components (any order, each once). Returns SY_OK or a refusal. */
static sy_rc parse_authorization(const char *a, size_t n, authz_parts *ap, sy_sigv4_verdict *v, char *msg, size_t cap) {
  size_t alg_len = 0, i;
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
                "Credential should be of the form <access key id>/<YYYYMMDD>/<region>/<service>/" SY__SIGV4_TERMINATOR
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
  if (sy__sigv4_valid_day(part[1], len[1])) {
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
  if (len[4] != strlen(SY__SIGV4_TERMINATOR) || memcmp(part[4], SY__SIGV4_TERMINATOR, len[4]) != 0) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CREDENTIAL, msg, cap,
                "Credential should be scoped with a valid terminator: '" SY__SIGV4_TERMINATOR "', not '%.*s'.",
                clamp(len[4]), part[4]);
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
static sy_rc request_time(const sy_sigv4_verify_in *in, const sy__sigv4_hindex *ix, int64_t *t, sy_sigv4_verdict *v,
                          char *msg, size_t cap) {
  const char *s = in->amz_date ? in->amz_date : sy__sigv4_find_header(&in->http, ix, "x-amz-date");
  size_t n;
  sy_rc rc = SY_OK;

  if (s) {
    n = strlen(s);
    trim(&s, &n);
    if (sy__sigv4_parse_amz_date(s, n, t))
      rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_DATE, msg, cap,
                  "X-Amz-Date '%.*s' is not a valid date of the form YYYYMMDDTHHMMSSZ.", clamp(n), s);
    goto out;
  }
  s = in->date ? in->date : sy__sigv4_find_header(&in->http, ix, "date");
  if (!s) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_DATE, msg, cap,
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header.");
    goto out;
  }
  n = strlen(s);
  trim(&s, &n);
  if (sy__sigv4_parse_http_date(s, n, t) && sy__sigv4_parse_amz_date(s, n, t))
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_DATE, msg, cap,
                "Date '%.*s' is not an RFC 1123 date such as 'Sun, 30 Aug 2015 12:36:00 GMT'.", clamp(n), s);
out:
  return rc;
}

/* Whether a header must be signed when a request carries it: the ones that choose what
 * the request does (x-amz-target) or how its body reads (content-type), and the one
 * the request's time comes from (x-amz-date, else date). Host is required always. */
static int must_sign(const sy_sigv4_http *http, const sy__sigv4_hindex *ix, size_t i) {
  size_t n = ix ? ix->lens[i] : strlen(http->headers[i].name);
  if (n == 12)
    return sy__sigv4_header_named(http, ix, i, "content-type", 12) ||
           sy__sigv4_header_named(http, ix, i, "x-amz-target", 12);
  if (n == 10) return sy__sigv4_header_named(http, ix, i, "x-amz-date", 10);
  return n == 4 && sy__sigv4_header_named(http, ix, i, "date", 4) && !sy__sigv4_find_header(http, ix, "x-amz-date");
}

/* Finds a header the request carries that must be signed and is not in names.
 * Returns 0 when there is none, or -1 with the message in why. */
static int unsigned_header(const sy_sigv4_http *http, const sy__sigv4_hindex *ix, const sy__sigv4_name *names, size_t n,
                           char *why, size_t why_cap) {
  for (size_t i = 0; i < http->n_headers; i++) {
    const char *h = http->headers[i].name;
    if (!h || !must_sign(http, ix, i)) continue;
    size_t hl = ix ? ix->lens[i] : strlen(h), k = 0;
    while (k < n && !(names[k].n == hl && sy__sigv4_header_named(http, ix, i, names[k].p, hl))) k++;
    if (k == n) {
      snprintf(why, why_cap, "Header '%.*s' is in the request but not in SignedHeaders: it must be signed.", clamp(hl),
               h);
      return -1;
    }
  }
  return 0;
}

sy_rc sy__sigv4_verify(const sy_sigv4_verify_in *in, sy_sigv4_verdict *v, char *msg, size_t cap) {
  sy__sigv4_name names[SY_SIGV4_SIGNED_HEADERS_MAX];
  size_t n_names = 0, missing = 0, secret_len = 0, auth_len = 0;
  char why[160], date8[9], date16[SY_SIGV4_DATE_LEN + 1], body_hash[SY__HEX_SHA256_LEN + 1];
  char secret[SY_SIGV4_SECRET_MAX + 1];
  unsigned char given[SY__SHA256_LEN], computed[SY__SHA256_LEN];
  const char *auth, *csha;
  authz_parts ap;
  int64_t t = 0;
  int secret_used = 0;
  size_t lens_buf[128];
  const char *lc_buf[128];
  char lc_text[2048];
  sy__sigv4_hindex hix, *ix = NULL;
  char creq_buf[2048], sts_buf[512]; /* what a request's take, most of the time */
  sy_jbuf creq, sts;
  sy_rc rc;

  if (msg && cap) msg[0] = 0;
  if (!in || !v) return SY_EINVAL;
  memset(v, 0, sizeof *v);
  sy__jbuf_init_on(&creq, SY__SIGV4_BUF_MAX, creq_buf, sizeof creq_buf);
  sy__jbuf_init_on(&sts, SY__SIGV4_BUF_MAX, sts_buf, sizeof sts_buf);
  rc = SY_EINVAL;
  if (!in->http.method || !*in->http.method || (in->http.n_headers && !in->http.headers) ||
      (in->http.body_len && !in->http.body) || (!in->secret_fn && !in->key_fn && !in->mac_fn) || !in->service ||
      !*in->service)
    goto out;

  /* The header itself. */
  /* the headers' names measured and lowercased once (for a request of a usual size) */
  if (in->http.n_headers <= sizeof lens_buf / sizeof lens_buf[0]) {
    size_t used = 0, i = 0;
    for (; i < in->http.n_headers; i++) {
      const char *name = in->http.headers[i].name;
      size_t len = name ? strlen(name) : 0;
      if (len > sizeof lc_text - used) break;
      for (size_t j = 0; j < len; j++) lc_text[used + j] = lower(name[j]);
      lens_buf[i] = len;
      lc_buf[i] = lc_text + used;
      used += len;
    }
    if (i == in->http.n_headers) {
      hix.lens = lens_buf;
      hix.lc = lc_buf;
      ix = &hix;
    }
  }
  auth = in->authorization ? in->authorization : sy__sigv4_find_header(&in->http, ix, "authorization");
  if (auth) {
    size_t n = strlen(auth);
    const char *end = auth + n;
    trim(&auth, &n);
    auth_len = (size_t)(end - auth); /* from the first non-blank byte to the end, as parsed */
    if (!n) auth = NULL;
  }
  if (!auth) {
    rc = refuse(v, SY_SIGV4_MISSING_AUTH, SY_SIGV4_PART_NONE, msg, cap, "Request is missing Authentication Token");
    goto out;
  }
  rc = parse_authorization(auth, auth_len, &ap, v, msg, cap);
  if (rc) goto out;
  rc = parse_credential(ap.cred, ap.cred_len, in->service, v, date8, msg, cap);
  if (rc) goto out;
  if (sy__sigv4_parse_signed_headers(ap.sh, ap.sh_len, names, &n_names, why, sizeof why)) {
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
  if (ap.sig_len != SY__HEX_SHA256_LEN || from_hex(ap.sig, SY__SHA256_LEN, given)) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_SIGNATURE, msg, cap,
                "Signature should be 64 hexadecimal digits, not '%.*s'.", clamp(ap.sig_len), ap.sig);
    goto out;
  }

  /* The date: well formed, the credential's day, and within the window. */
  rc = request_time(in, ix, &t, v, msg, cap);
  if (rc) goto out;
  if (sy__sigv4_format_date(t, date16)) {
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
    if (sy__sigv4_format_date(in->now, now16) ||
        sy__sigv4_format_date(late ? in->now - SY_SIGV4_WINDOW : in->now + SY_SIGV4_WINDOW, edge)) {
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
  csha = in->content_sha256 ? in->content_sha256 : sy__sigv4_find_header(&in->http, ix, "x-amz-content-sha256");
  if (csha) {
    size_t cn = strlen(csha);
    int same = 1;
    trim(&csha, &cn);
    if (cn != SY__HEX_SHA256_LEN || from_hex(csha, SY__SHA256_LEN, computed)) {
      rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CONTENT_SHA256, msg, cap,
                  "x-amz-content-sha256 must be the hex SHA-256 of the body, not '%.*s' "
                  "(UNSIGNED-PAYLOAD and streaming payloads are not accepted).",
                  clamp(cn), csha);
      goto out;
    }
    for (size_t i = 0; i < SY__HEX_SHA256_LEN; i++) same &= lower(csha[i]) == body_hash[i];
    if (!same) {
      rc = refuse(v, SY_SIGV4_BODY_MISMATCH, SY_SIGV4_PART_NONE, msg, cap,
                  "The provided 'x-amz-content-sha256' header does not match what was computed: "
                  "the header says %.*s, the body hashes to %s.",
                  (int)cn, csha, body_hash);
      goto out;
    }
  }

  /* The canonical request; this also proves every signed header was sent. */
  rc = sy__sigv4_build_canonical(&creq, &in->http, ix, names, n_names, ap.sh, ap.sh_len, body_hash, &missing);
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
  if (unsigned_header(&in->http, ix, names, n_names, why, sizeof why)) {
    rc = refuse(v, SY_SIGV4_MALFORMED, SY_SIGV4_PART_SIGNED_HEADERS, msg, cap, "%s", why);
    goto out;
  }
  rc = sy__sigv4_build_string_to_sign(&sts, date16, v->region, in->service, creq.p, creq.len);
  if (rc) goto out;

  /* The key, then the signature. */
  if (in->mac_fn) {
    rc = in->mac_fn(in->secret_ctx, v->access_key_id, date8, v->region, in->service, sts.p, sts.len, computed);
  } else if (in->key_fn) {
    unsigned char key[SY_SIGV4_KEY_LEN];
    rc = in->key_fn(in->secret_ctx, v->access_key_id, date8, v->region, in->service, key);
    if (!rc) rc = hmac(key, sizeof key, sts.p, sts.len, computed);
    OPENSSL_cleanse(key, sizeof key);
  } else {
    secret_used = 1;
    rc = in->secret_fn(in->secret_ctx, v->access_key_id, secret, SY_SIGV4_SECRET_MAX, &secret_len);
    if (!rc && secret_len > SY_SIGV4_SECRET_MAX) rc = SY_EINTERNAL;
    if (!rc) rc = compute_signature(secret, secret_len, date8, v->region, in->service, sts.p, sts.len, computed);
  }
  if (rc == SY_ENOTFOUND || rc == SY_EUNAUTH) {
    rc = refuse(v, SY_SIGV4_UNKNOWN_KEY, SY_SIGV4_PART_NONE, msg, cap,
                "The security token included in the request is invalid: unknown access key id '%s'.", v->access_key_id);
    goto out;
  }
  if (rc) goto out;
  if (CRYPTO_memcmp(given, computed, SY__SHA256_LEN) != 0) {
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
  sy__jbuf_free(&creq);
  sy__jbuf_free(&sts);
  return rc;
}

const char *sy__sigv4_result_code(sy_sigv4_result result) {
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

const char *sy__sigv4_part_name(sy_sigv4_part part) {
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

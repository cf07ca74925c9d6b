/* fuzz_sigv4_canon.c — libFuzzer harness for the SigV4 canonical request (src/core/sigv4_canon.c):
 * path normalisation and encoding, the query string (percent-decoding, re-encoding, sorting),
 * header names and values, SignedHeaders; and signing against verifying.
 *
 * The input is a line with the SignedHeaders value (empty: every header of the request)
 * followed by a raw HTTP request. Checks: the canonical request is NUL-terminated at its
 * length and fits its buffer or is refused as too large; and a request the signer signs
 * (with Host and the headers that select the operation signed) is one the verifier
 * accepts, whatever the path, query, headers and body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/sigv4.h"
#include "rawreq.h"
#include "check.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DATE "20150830T123600Z"
#define NOW 1440938160

static sy_rc secret_of(void *ctx, const char *akid, char *secret, size_t cap, size_t *len) {
  (void)ctx;
  if (strcmp(akid, AKID)) return SY_ENOTFOUND;
  *len = strlen(SECRET);
  memcpy(secret, SECRET, *len);
  (void)cap;
  return SY_OK;
}

/* 1 if the name is one the signer and the verifier read for themselves. */
static int special(const char *name) {
  static const char *const names[] = {"authorization", "x-amz-date", "date", "x-amz-content-sha256"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcasecmp(name, names[i])) return 1;
  return 0;
}

/* 1 if name (any case) is one of the ';'-separated names of sh. */
static int listed(const char *sh, const char *name) {
  size_t n = strlen(name);
  for (const char *p = sh; p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL)
    if (!strncasecmp(p, name, n) && (p[n] == ';' || !p[n])) return 1;
  return 0;
}

/* The headers a verifier may insist are signed when sent: Content-Type, Date and x-amz-*. */
static int must_sign(const char *name) {
  return !strcasecmp(name, "content-type") || !strcasecmp(name, "date") || !strncasecmp(name, "x-amz-", 6);
}

static void canonical(const sy_sigv4_http *http, const char *sh) {
  static char out[1 << 16];
  size_t len = (size_t)-1;
  sy_rc rc = sy__sigv4_canonical_request(http, sh, out, sizeof out, &len);
  CHECK(rc == SY_OK || rc == SY_EINVAL || rc == SY_ETOOLARGE);
  if (rc) return;
  CHECK(len < sizeof out && out[len] == 0 && strlen(out) == len);
  char small[32];
  size_t slen = 0;
  rc = sy__sigv4_canonical_request(http, sh, small, sizeof small, &slen);
  CHECK(len < sizeof small ? rc == SY_OK : rc == SY_ETOOLARGE);
}

/* Signs the request (its own Host and X-Amz-Date headers added, the fuzzer's copies of the
 * headers the two sides read for themselves left out), then verifies it. */
static void round_trip(const sy_sigv4_http *src, const char *sh) {
  sy_sigv4_header h[RAWREQ_HEADERS_MAX + 2];
  sy_sigv4_http http = *src;
  size_t n = 0;
  for (size_t i = 0; i < src->n_headers; i++)
    if (!special(src->headers[i].name)) h[n++] = src->headers[i];
  h[n++] = (sy_sigv4_header){"X-Amz-Date", DATE};
  h[n++] = (sy_sigv4_header){"Host", "example.amazonaws.com"};
  http.headers = h;
  http.n_headers = n;
  sy_sigv4_sign_in s = {.http = http,
                        .access_key_id = AKID,
                        .secret = SECRET,
                        .region = "us-east-1",
                        .service = "ssm",
                        .signed_headers = sh};
  char authz[8192];
  if (sy__sigv4_sign(&s, authz, sizeof authz)) return;
  /* The verifier also insists that Host, and the headers that select the operation or
   * carry the time, are signed; the signer does not. With every header signed (sh NULL)
   * that holds; with a list, only a list that covers them must verify. */
  if (sh) {
    if (!listed(sh, "host")) return;
    for (size_t i = 0; i < n; i++)
      if (must_sign(h[i].name) && !listed(sh, h[i].name)) return;
  }
  sy_sigv4_verify_in in = {.http = http, .authorization = authz, .secret_fn = secret_of, .service = "ssm", .now = NOW};
  sy_sigv4_verdict v;
  char msg[1024];
  sy_rc rc = sy__sigv4_verify(&in, &v, msg, sizeof msg);
  CHECK(rc == SY_OK || rc == SY_ETOOLARGE || rc == SY_ENOMEM);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size);
  if (!nl) return 0;
  char *sh = strndup((const char *)data, (size_t)(nl - data));
  rawreq rq = {0};
  if (sh && rawreq_parse((const char *)nl + 1, size - (size_t)(nl + 1 - data), &rq) == 0) {
    canonical(&rq.http, sh);
    round_trip(&rq.http, *sh ? sh : NULL);
  }
  rawreq_free(&rq);
  free(sh);
  return 0;
}

/* test_sigv4.c — SigV4 verification and signing against the AWS test suite and refusal cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/sigv4.h"

/* The test data directory: the absolute tests/unit/data/ given by the build, so the test runs
 * from any directory; else relative to tests/unit, where ctest runs it. */
#ifndef SY_TEST_DATA
#define SY_TEST_DATA "data/"
#endif
#define DATA SY_TEST_DATA "sigv4/"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define AKID "AKIDEXAMPLE"
#define MAX_HEADERS 32
#define SSM_VECTOR "ssm-get-parameter"
#define SSM_NOW 1795374000 /* 20261122T190000Z, the vector's X-Amz-Date */

/* ---- fixtures ---- */

/* Reads a whole file into a NUL-terminated heap buffer; fails the test if absent. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = 0;
  fclose(f);
  if (len) *len = (size_t)n;
  return buf;
}

static char *vector_file(const char *name, const char *ext, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, DATA "%s/%s.%s", name, name, ext);
  return slurp(path, len);
}

/* A request parsed from a .req file: "METHOD path?query HTTP/1.1", "Name:value"
 * lines, a blank line, the body. Strings point into buf. */
typedef struct test_req {
  char *buf;
  char *path, *query;
  sy_sigv4_header headers[MAX_HEADERS];
  sy_sigv4_http http;
} test_req;

static void req_load(test_req *r, const char *name) {
  size_t len;
  char *line, *eol, *sp, *ver;
  memset(r, 0, sizeof *r);
  r->buf = vector_file(name, "req", &len);
  line = r->buf;
  eol = strchr(line, '\n');
  assert_non_null(eol);
  *eol = 0;
  sp = strchr(line, ' ');
  assert_non_null(sp);
  *sp = 0;
  r->http.method = line;
  r->path = sp + 1;
  ver = strstr(r->path, " HTTP/"); /* the path may hold spaces (get-space) */
  assert_non_null(ver);
  *ver = 0;
  r->query = strchr(r->path, '?');
  if (r->query) *r->query++ = 0;
  r->http.path = r->path;
  r->http.query = r->query;
  line = eol + 1;
  while (*line && *line != '\n') {
    char *colon;
    eol = strchr(line, '\n');
    if (eol) *eol = 0;
    colon = strchr(line, ':');
    assert_non_null(colon);
    *colon = 0;
    assert_true(r->http.n_headers < MAX_HEADERS);
    r->headers[r->http.n_headers].name = line;
    r->headers[r->http.n_headers].value = colon + 1;
    r->http.n_headers++;
    if (!eol) {
      line = colon + 1 + strlen(colon + 1);
      break;
    }
    line = eol + 1;
  }
  if (*line == '\n') line++;
  r->http.headers = r->headers;
  r->http.body = line;
  r->http.body_len = strlen(line);
}

static void req_free(test_req *r) { free(r->buf); }

/* Replaces the value of header name (exact case as in the file). */
static void req_set(test_req *r, const char *name, const char *value) {
  for (size_t i = 0; i < r->http.n_headers; i++)
    if (strcmp(r->headers[i].name, name) == 0) {
      r->headers[i].value = value;
      return;
    }
  fail_msg("no header %s", name);
}

/* Removes header name from the request (renames it out of the way). */
static void req_drop(test_req *r, const char *name) {
  for (size_t i = 0; i < r->http.n_headers; i++)
    if (strcmp(r->headers[i].name, name) == 0) {
      r->headers[i].name = "X-Dropped";
      return;
    }
  fail_msg("no header %s", name);
}

/* The SignedHeaders value inside an Authorization value, into out. */
static void signed_headers_of(const char *authz, char *out, size_t cap) {
  const char *s = strstr(authz, "SignedHeaders="), *e;
  assert_non_null(s);
  s += strlen("SignedHeaders=");
  e = strchr(s, ',');
  assert_non_null(e);
  assert_true((size_t)(e - s) < cap);
  memcpy(out, s, (size_t)(e - s));
  out[e - s] = 0;
}

/* The key store the verifier consults: one key, or a failing store. */
typedef struct keys {
  const char *akid, *secret;
  sy_rc fail;
  int calls;
} keys;

static sy_rc lookup(void *ctx, const char *akid, char *secret, size_t cap, size_t *len) {
  keys *k = ctx;
  k->calls++;
  if (k->fail) return k->fail;
  if (strcmp(akid, k->akid) != 0) return SY_ENOTFOUND;
  *len = strlen(k->secret);
  if (*len > cap) return SY_ETOOLARGE;
  memcpy(secret, k->secret, *len);
  return SY_OK;
}

static keys good_keys = {AKID, SECRET, SY_OK, 0};

static sy_sigv4_verify_in verify_in(const test_req *r, const char *authz, keys *k, const char *service, int64_t now) {
  sy_sigv4_verify_in in;
  memset(&in, 0, sizeof in);
  in.http = r->http;
  in.authorization = authz;
  in.secret_fn = lookup;
  in.secret_ctx = k;
  in.service = service;
  in.now = now;
  return in;
}

/* Signs r (its own X-Amz-Date) as AKIDEXAMPLE for ssm in us-east-1, signing the headers named. */
static void sign_ssm(const test_req *r, const char *signed_headers, const char *secret, char *authz, size_t cap) {
  sy_sigv4_sign_in s;
  memset(&s, 0, sizeof s);
  s.http = r->http;
  s.access_key_id = AKID;
  s.secret = secret;
  s.region = "us-east-1";
  s.service = "ssm";
  s.signed_headers = signed_headers;
  assert_int_equal(sy__sigv4_sign(&s, authz, cap), SY_OK);
}

/* ---- the test-suite vectors ---- */

static void check_vector(const char *name, const char *service, int64_t now) {
  test_req r;
  char *creq_want = vector_file(name, "creq", NULL), *sts_want = vector_file(name, "sts", NULL);
  char *authz_want = vector_file(name, "authz", NULL);
  char sh[512], creq[4096], sts[1024], authz[1024], date[SY_SIGV4_DATE_LEN + 1], msg[256];
  size_t creq_len = 0;
  sy_sigv4_sign_in s;
  sy_sigv4_verify_in in;
  sy_sigv4_verdict v;
  keys k = good_keys;

  req_load(&r, name);
  signed_headers_of(authz_want, sh, sizeof sh);

  /* Canonical request and string to sign, byte for byte. */
  assert_int_equal(sy__sigv4_canonical_request(&r.http, sh, creq, sizeof creq, &creq_len), SY_OK);
  assert_string_equal(creq, creq_want);
  assert_int_equal(creq_len, strlen(creq_want));
  assert_int_equal(sy__sigv4_format_date(now, date), SY_OK);
  assert_int_equal(sy__sigv4_string_to_sign(date, "us-east-1", service, creq, creq_len, sts, sizeof sts), SY_OK);
  assert_string_equal(sts, sts_want);

  /* The signer reproduces the Authorization value. */
  memset(&s, 0, sizeof s);
  s.http = r.http;
  s.access_key_id = AKID;
  s.secret = SECRET;
  s.region = "us-east-1";
  s.service = service;
  s.signed_headers = sh;
  assert_int_equal(sy__sigv4_sign(&s, authz, sizeof authz), SY_OK);
  assert_string_equal(authz, authz_want);

  /* The verifier accepts it. */
  in = verify_in(&r, authz_want, &k, service, now);
  if (sy__sigv4_verify(&in, &v, msg, sizeof msg) != SY_OK) fail_msg("%s: %s", name, msg);
  assert_int_equal(v.result, SY_SIGV4_OK);
  assert_string_equal(v.access_key_id, AKID);
  assert_string_equal(v.region, "us-east-1");
  assert_int_equal(k.calls, 1);

  req_free(&r);
  free(creq_want);
  free(sts_want);
  free(authz_want);
}

static void test_suite_vectors(void **state) {
  char *list = slurp(DATA "vectors.txt", NULL), *line = list, *next;
  int count = 0;
  (void)state;
  for (; line && *line; line = next) {
    char name[128], service[32];
    long long now;
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    if (*line == '#' || *line == 0) continue;
    assert_int_equal(sscanf(line, "%127s %31s %lld", name, service, &now), 3);
    check_vector(name, service, (int64_t)now);
    count++;
  }
  assert_true(count >= 25);
  free(list);
}

/* Signing every header (NULL signed_headers) lowercases, sorts and dedupes names. */
static void test_sign_all_headers(void **state) {
  test_req r;
  char authz[1024], msg[256];
  sy_sigv4_verdict v;
  keys k = good_keys;
  sy_sigv4_verify_in in;
  (void)state;
  req_load(&r, "get-header-key-duplicate");
  memset(&in, 0, sizeof in);
  {
    sy_sigv4_sign_in s;
    memset(&s, 0, sizeof s);
    s.http = r.http;
    s.access_key_id = AKID;
    s.secret = SECRET;
    s.region = "us-east-1";
    s.service = "service";
    assert_int_equal(sy__sigv4_sign(&s, authz, sizeof authz), SY_OK);
  }
  assert_non_null(strstr(authz, "SignedHeaders=host;my-header1;x-amz-date, "));
  assert_non_null(strstr(authz, "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"));
  in = verify_in(&r, authz, &k, "service", 1440938160);
  assert_int_equal(sy__sigv4_verify(&in, &v, msg, sizeof msg), SY_OK);
  req_free(&r);
}

/* ---- refusals, on the SSM vector ---- */

typedef struct outcome {
  sy_rc rc;
  sy_sigv4_verdict v;
  char msg[512];
} outcome;

static outcome verify_ssm(const test_req *r, const char *authz, keys *k, int64_t now) {
  outcome o;
  sy_sigv4_verify_in in = verify_in(r, authz, k, "ssm", now);
  o.rc = sy__sigv4_verify(&in, &o.v, o.msg, sizeof o.msg);
  return o;
}

static void expect_refusal(outcome o, sy_sigv4_result result, sy_sigv4_part part, const char *needle) {
  assert_int_equal(o.rc, SY_EUNAUTH);
  assert_int_equal(o.v.result, result);
  assert_int_equal(o.v.part, part);
  if (!strstr(o.msg, needle)) fail_msg("message '%s' lacks '%s'", o.msg, needle);
}

static void test_ssm_accepts_within_window(void **state) {
  test_req r;
  char *authz;
  keys k = good_keys;
  (void)state;
  req_load(&r, SSM_VECTOR);
  authz = vector_file(SSM_VECTOR, "authz", NULL);
  outcome o = verify_ssm(&r, authz, &k, SSM_NOW);
  assert_int_equal(o.rc, SY_OK);
  assert_string_equal(o.msg, "");
  /* Exactly five minutes either way is still good. */
  assert_int_equal(verify_ssm(&r, authz, &k, SSM_NOW + 300).rc, SY_OK);
  assert_int_equal(verify_ssm(&r, authz, &k, SSM_NOW - 300).rc, SY_OK);
  /* Authorization found among the headers when the field is NULL. */
  {
    sy_sigv4_header h[MAX_HEADERS + 1];
    sy_sigv4_verify_in in = verify_in(&r, NULL, &k, "ssm", SSM_NOW);
    sy_sigv4_verdict v;
    memcpy(h, r.headers, r.http.n_headers * sizeof *h);
    h[r.http.n_headers].name = "Authorization";
    h[r.http.n_headers].value = authz;
    in.http.headers = h;
    in.http.n_headers = r.http.n_headers + 1;
    assert_int_equal(sy__sigv4_verify(&in, &v, NULL, 0), SY_OK);
  }
  assert_string_equal(sy__sigv4_result_code(SY_SIGV4_OK), "");
  free(authz);
  req_free(&r);
}

static void test_refuse_wrong_secret(void **state) {
  test_req r;
  char authz[1024];
  keys k = good_keys;
  (void)state;
  req_load(&r, SSM_VECTOR);
  sign_ssm(&r, "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target", "not-the-secret-access-key", authz,
           sizeof authz);
  outcome o = verify_ssm(&r, authz, &k, SSM_NOW);
  expect_refusal(o, SY_SIGV4_MISMATCH, SY_SIGV4_PART_NONE, "does not match the signature you provided");
  assert_string_equal(o.v.access_key_id, AKID);
  assert_string_equal(sy__sigv4_result_code(o.v.result), "InvalidSignatureException");
  req_free(&r);
}

static void test_refuse_unknown_key(void **state) {
  test_req r;
  char *authz;
  keys k = {"AKIDOTHER", SECRET, SY_OK, 0};
  (void)state;
  req_load(&r, SSM_VECTOR);
  authz = vector_file(SSM_VECTOR, "authz", NULL);
  outcome o = verify_ssm(&r, authz, &k, SSM_NOW);
  expect_refusal(o, SY_SIGV4_UNKNOWN_KEY, SY_SIGV4_PART_NONE, "'AKIDEXAMPLE'");
  assert_string_equal(o.v.access_key_id, AKID);
  assert_string_equal(o.v.region, "us-east-1");
  assert_string_equal(sy__sigv4_result_code(o.v.result), "UnrecognizedClientException");
  /* A failing key store is an internal error, not a refusal. */
  k.fail = SY_EIO;
  assert_int_equal(verify_ssm(&r, authz, &k, SSM_NOW).rc, SY_EIO);
  free(authz);
  req_free(&r);
}

/* A mac_fn: the signing key of the scope asked for, made ready, as a server keeps it. */
typedef struct mac_keys {
  const char *akid, *secret;
  sy_rc fail;
  int calls;
} mac_keys;

static sy_rc mac_of(void *ctx, const char *akid, const char *date8, const char *region, const char *service,
                    const void *sts, size_t sts_len, unsigned char mac[SY_SIGV4_KEY_LEN]) {
  mac_keys *k = ctx;
  unsigned char raw[SY_SIGV4_KEY_LEN];
  k->calls++;
  if (k->fail) return k->fail;
  if (strcmp(akid, k->akid)) return SY_ENOTFOUND;
  assert_int_equal(sy__sigv4_signing_key(k->secret, strlen(k->secret), date8, region, service, raw), SY_OK);
  sy_hmac_key *key = sy__hmac_key_new(raw, sizeof raw);
  assert_non_null(key);
  int bad = sy__hmac_key_mac(key, sts, sts_len, mac);
  sy__hmac_key_free(key);
  return bad ? SY_EINTERNAL : SY_OK;
}

/* The verifier that hands the string to sign to the key's holder decides as the one that
 * reads the secret: good, wrong secret, unknown key, a failing store. */
static void test_verify_with_mac_fn(void **state) {
  test_req r;
  char *authz;
  char msg[256];
  sy_sigv4_verdict v;
  mac_keys mk = {AKID, SECRET, SY_OK, 0};
  (void)state;
  req_load(&r, SSM_VECTOR);
  authz = vector_file(SSM_VECTOR, "authz", NULL);
  sy_sigv4_verify_in in = verify_in(&r, authz, NULL, "ssm", SSM_NOW);
  in.secret_fn = NULL;
  in.mac_fn = mac_of;
  in.secret_ctx = &mk;
  assert_int_equal(sy__sigv4_verify(&in, &v, msg, sizeof msg), SY_OK);
  assert_int_equal(v.result, SY_SIGV4_OK);
  assert_int_equal(mk.calls, 1);

  mk.secret = "not-the-secret-access-key";
  assert_int_equal(sy__sigv4_verify(&in, &v, msg, sizeof msg), SY_EUNAUTH);
  assert_int_equal(v.result, SY_SIGV4_MISMATCH);

  mk.akid = "AKIDOTHER";
  assert_int_equal(sy__sigv4_verify(&in, &v, msg, sizeof msg), SY_EUNAUTH);
  assert_int_equal(v.result, SY_SIGV4_UNKNOWN_KEY);
  assert_non_null(strstr(msg, "'AKIDEXAMPLE'"));

  mk.fail = SY_EIO;
  assert_int_equal(sy__sigv4_verify(&in, &v, msg, sizeof msg), SY_EIO);
  free(authz);
  req_free(&r);
}

static void test_refuse_expired_and_future(void **state) {
  test_req r;
  char *authz;
  keys k = good_keys;
  outcome o;
  (void)state;
  req_load(&r, SSM_VECTOR);
  authz = vector_file(SSM_VECTOR, "authz", NULL);
  o = verify_ssm(&r, authz, &k, SSM_NOW + 600); /* now is 19:10, the request 19:00 */
  expect_refusal(o, SY_SIGV4_EXPIRED, SY_SIGV4_PART_NONE, "");
  assert_string_equal(o.msg,
                      "Signature expired: 20261122T190000Z is now earlier than 20261122T190500Z "
                      "(20261122T191000Z - 5 min.)");
  o = verify_ssm(&r, authz, &k, SSM_NOW + 301);
  assert_int_equal(o.v.result, SY_SIGV4_EXPIRED);
  o = verify_ssm(&r, authz, &k, SSM_NOW - 600); /* now is 18:50 */
  expect_refusal(o, SY_SIGV4_NOT_YET_VALID, SY_SIGV4_PART_NONE, "");
  assert_string_equal(o.msg,
                      "Signature not yet current: 20261122T190000Z is still later than "
                      "20261122T185500Z (20261122T185000Z + 5 min.)");
  assert_int_equal(k.calls, 0); /* refused before the key store was asked */
  free(authz);
  req_free(&r);
}

static void test_refuse_body_changed(void **state) {
  test_req r;
  char *authz;
  keys k = good_keys;
  const char *tampered = "{\"Name\":\"/app/db/password\",\"WithDecryption\":false}";
  outcome o;
  (void)state;
  req_load(&r, SSM_VECTOR);
  authz = vector_file(SSM_VECTOR, "authz", NULL);
  r.http.body = tampered;
  r.http.body_len = strlen(tampered);
  /* With x-amz-content-sha256 the precise reason is known. */
  o = verify_ssm(&r, authz, &k, SSM_NOW);
  expect_refusal(o, SY_SIGV4_BODY_MISMATCH, SY_SIGV4_PART_NONE,
                 "'x-amz-content-sha256' header does not match what was computed");
  /* Without it (signed by a client that does not send it) the signature fails. */
  {
    test_req plain;
    char authz2[1024];
    req_load(&plain, SSM_VECTOR);
    sign_ssm(&plain, "content-type;host;x-amz-date;x-amz-target", SECRET, authz2, sizeof authz2);
    req_drop(&plain, "X-Amz-Content-Sha256");
    assert_int_equal(verify_ssm(&plain, authz2, &k, SSM_NOW).rc, SY_OK);
    plain.http.body = tampered;
    plain.http.body_len = strlen(tampered);
    o = verify_ssm(&plain, authz2, &k, SSM_NOW);
    expect_refusal(o, SY_SIGV4_MISMATCH, SY_SIGV4_PART_NONE, "does not match");
    req_free(&plain);
  }
  /* x-amz-content-sha256 that is not a hash. */
  req_set(&r, "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
  o = verify_ssm(&r, authz, &k, SSM_NOW);
  expect_refusal(o, SY_SIGV4_MALFORMED, SY_SIGV4_PART_CONTENT_SHA256, "UNSIGNED-PAYLOAD");
  free(authz);
  req_free(&r);
}

static void test_refuse_signed_header_changed(void **state) {
  test_req r;
  char *authz;
  keys k = good_keys;
  (void)state;
  req_load(&r, SSM_VECTOR);
  authz = vector_file(SSM_VECTOR, "authz", NULL);
  req_set(&r, "X-Amz-Target", "AmazonSSM.DeleteParameter");
  expect_refusal(verify_ssm(&r, authz, &k, SSM_NOW), SY_SIGV4_MISMATCH, SY_SIGV4_PART_NONE, "does not match");
  /* Unsigned headers may change freely. */
  req_set(&r, "X-Amz-Target", "AmazonSSM.GetParameter");
  req_set(&r, "User-Agent", "something else");
  assert_int_equal(verify_ssm(&r, authz, &k, SSM_NOW).rc, SY_OK);
  /* Whitespace in a signed value is canonicalised away. */
  req_set(&r, "Content-Type", "   application/x-amz-json-1.1  ");
  assert_int_equal(verify_ssm(&r, authz, &k, SSM_NOW).rc, SY_OK);
  free(authz);
  req_free(&r);
}

static void test_refuse_missing_authorization(void **state) {
  test_req r;
  keys k = good_keys;
  outcome o;
  (void)state;
  req_load(&r, SSM_VECTOR);
  o = verify_ssm(&r, NULL, &k, SSM_NOW);
  expect_refusal(o, SY_SIGV4_MISSING_AUTH, SY_SIGV4_PART_NONE, "Request is missing Authentication Token");
  assert_string_equal(sy__sigv4_result_code(o.v.result), "MissingAuthenticationTokenException");
  o = verify_ssm(&r, "   ", &k, SSM_NOW);
  assert_int_equal(o.v.result, SY_SIGV4_MISSING_AUTH);
  req_free(&r);
}

static void test_refuse_malformed(void **state) {
  static const struct {
    const char *authz;
    sy_sigv4_part part;
    const char *needle;
  } cases[] = {
      {"AWS4-HMAC-SHA1 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature=" /* 64 zeros */
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_ALGORITHM, "AWS4-HMAC-SHA1"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm, "
       "SignedHeaders=host;x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_CREDENTIAL, "Credential should be of the form"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request/x, "
       "SignedHeaders=host;x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_CREDENTIAL, "Credential should be of the form"},
      {"AWS4-HMAC-SHA256 Credential=/20261122/us-east-1/ssm/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_CREDENTIAL, "access key id"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2026112/us-east-1/ssm/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_CREDENTIAL, "YYYYMMDD"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/s3/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_CREDENTIAL, "Credential should be scoped to correct service: 'ssm'."},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws5_request, "
       "SignedHeaders=host;x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_CREDENTIAL, "valid terminator: 'aws4_request', not 'aws5_request'"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/us-east-1/ssm/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_CREDENTIAL, "'20261123' != '20261122', from '20261122T190000Z'"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us east/ssm/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_CREDENTIAL, "valid region"},
      {"AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_CREDENTIAL, "requires 'Credential' parameter"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request", SY_SIGV4_PART_SIGNATURE,
       "requires 'Signature' parameter. Authorization header requires "
       "'SignedHeaders' parameter."},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request, "
       "SignedHeaders=x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_SIGNED_HEADERS, "'Host' or ':authority' must be a 'SignedHeader'"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request, "
       "SignedHeaders=Host;x-amz-date, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_SIGNED_HEADERS, "not a lowercase header name"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request, "
       "SignedHeaders=host;host, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_SIGNED_HEADERS, "twice"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request, "
       "SignedHeaders=host;x-amz-date;x-not-sent, Signature="
       "0000000000000000000000000000000000000000000000000000000000000000",
       SY_SIGV4_PART_SIGNED_HEADERS, "Signed header 'x-not-sent' is not present"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature=abc",
       SY_SIGV4_PART_SIGNATURE, "64 hexadecimal digits"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature="
       "000000000000000000000000000000000000000000000000000000000000000g",
       SY_SIGV4_PART_SIGNATURE, "64 hexadecimal digits"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request, "
       "SignedHeaders=host;x-amz-date, Signature=0, Extra=1",
       SY_SIGV4_PART_AUTHORIZATION, "unknown component 'Extra'"},
      {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request, "
       "Credential=AKIDEXAMPLE/20261122/us-east-1/ssm/aws4_request",
       SY_SIGV4_PART_CREDENTIAL, "twice"},
      {"AWS4-HMAC-SHA256 garbage", SY_SIGV4_PART_AUTHORIZATION, "Name=value"},
  };
  test_req r;
  keys k = good_keys;
  (void)state;
  req_load(&r, SSM_VECTOR);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    outcome o = verify_ssm(&r, cases[i].authz, &k, SSM_NOW);
    if (o.rc != SY_EUNAUTH || o.v.result != SY_SIGV4_MALFORMED || o.v.part != cases[i].part ||
        !strstr(o.msg, cases[i].needle))
      fail_msg("case %zu: rc %d result %d part %d msg '%s'", i, o.rc, o.v.result, o.v.part, o.msg);
  }
  assert_int_equal(k.calls, 0);
  assert_string_equal(sy__sigv4_result_code(SY_SIGV4_MALFORMED), "IncompleteSignatureException");
  assert_string_equal(sy__sigv4_part_name(SY_SIGV4_PART_CREDENTIAL), "Credential");
  req_free(&r);
}

static void test_dates(void **state) {
  test_req r;
  char *authz, date[SY_SIGV4_DATE_LEN + 1];
  keys k = good_keys;
  outcome o;
  (void)state;
  req_load(&r, SSM_VECTOR);
  authz = vector_file(SSM_VECTOR, "authz", NULL);
  req_set(&r, "X-Amz-Date", "2026-11-22T19:00:00Z");
  o = verify_ssm(&r, authz, &k, SSM_NOW);
  expect_refusal(o, SY_SIGV4_MALFORMED, SY_SIGV4_PART_DATE, "YYYYMMDDTHHMMSSZ");
  req_set(&r, "X-Amz-Date", "20261131T190000Z"); /* 31 November */
  o = verify_ssm(&r, authz, &k, SSM_NOW);
  expect_refusal(o, SY_SIGV4_MALFORMED, SY_SIGV4_PART_DATE, "20261131T190000Z");
  /* No x-amz-date: the Date header, in RFC 1123 form, stands in. */
  {
    sy_sigv4_verify_in in = verify_in(&r, authz, &k, "ssm", SSM_NOW);
    sy_sigv4_verdict v;
    char msg[256];
    req_drop(&r, "X-Amz-Date");
    in.http = r.http;
    assert_int_equal(sy__sigv4_verify(&in, &v, msg, sizeof msg), SY_EUNAUTH);
    assert_int_equal(v.part, SY_SIGV4_PART_DATE);
    assert_non_null(strstr(msg, "either a 'X-Amz-Date' or a 'Date' header"));
    in.date = "Sun, 22 Nov 2026 19:00:00 GMT";
    /* The signature covered x-amz-date, which is gone: a signed header is missing. */
    assert_int_equal(sy__sigv4_verify(&in, &v, msg, sizeof msg), SY_EUNAUTH);
    assert_int_equal(v.part, SY_SIGV4_PART_SIGNED_HEADERS);
    in.date = "Sun, 22 Nov 2026 19:00:00 CET";
    assert_int_equal(sy__sigv4_verify(&in, &v, msg, sizeof msg), SY_EUNAUTH);
    assert_int_equal(v.part, SY_SIGV4_PART_DATE);
  }
  /* A request signed with only a Date header verifies. */
  {
    sy_sigv4_header h[3] = {{"Host", "localhost:9000"},
                            {"Date", "Sun, 22 Nov 2026 19:00:00 GMT"},
                            {"Content-Type", "application/x-amz-json-1.1"}};
    sy_sigv4_sign_in s;
    sy_sigv4_verify_in in;
    sy_sigv4_verdict v;
    char a[512], msg[256];
    memset(&s, 0, sizeof s);
    s.http.method = "POST";
    s.http.path = "/";
    s.http.headers = h;
    s.http.n_headers = 3;
    s.access_key_id = AKID;
    s.secret = SECRET;
    s.region = "eu-west-3";
    s.service = "ssm";
    s.amz_date = "20261122T190000Z";
    assert_int_equal(sy__sigv4_sign(&s, a, sizeof a), SY_OK);
    memset(&in, 0, sizeof in);
    in.http = s.http;
    in.authorization = a;
    in.secret_fn = lookup;
    in.secret_ctx = &k;
    in.service = "ssm";
    in.now = SSM_NOW + 120;
    if (sy__sigv4_verify(&in, &v, msg, sizeof msg)) fail_msg("%s", msg);
    assert_string_equal(v.region, "eu-west-3");
    /* And the signer refuses without a date at all. */
    s.amz_date = NULL;
    assert_int_equal(sy__sigv4_sign(&s, a, sizeof a), SY_EINVAL);
  }
  assert_int_equal(sy__sigv4_format_date(0, date), SY_OK);
  assert_string_equal(date, "19700101T000000Z");
  assert_int_equal(sy__sigv4_format_date(951782400, date), SY_OK); /* leap day */
  assert_string_equal(date, "20000229T000000Z");
  assert_int_equal(sy__sigv4_format_date(-1, date), SY_OK);
  assert_string_equal(date, "19691231T235959Z");
  assert_int_equal(sy__sigv4_format_date(INT64_MAX, date), SY_EINVAL);
  free(authz);
  req_free(&r);
}

/* Canonical URI and query rules beyond the suite's cases. */
static void test_canonical_forms(void **state) {
  static const struct {
    const char *path, *query, *want_uri, *want_query;
  } cases[] = {
      {"/a/b/../c/./d", NULL, "/a/c/d", ""},
      {"/a/b/..", NULL, "/a/", ""},
      {"/../..", NULL, "/", ""},
      {"", NULL, "/", ""},
      {"/%41b", NULL, "/%2541b", ""}, /* '%' re-encoded: non-S3 double encoding */
      {"/a b/c+d", NULL, "/a%20b/c%2Bd", ""},
      {"/", "b=2&a=3&a=1&c", "/", "a=1&a=3&b=2&c="},
      {"/", "k=a%20b&k2=a+b&&x=%zz", "/", "k=a%20b&k2=a%2Bb&x=%25zz"},
      {"/", "%7E=%7e", "/", "~=~"},
      {"/", "Z=1&a=1", "/", "Z=1&a=1"}, /* byte order: uppercase first */
  };
  sy_sigv4_header h[1] = {{"Host", "h"}};
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sy_sigv4_http http = {"GET", cases[i].path, cases[i].query, h, 1, NULL, 0};
    char out[1024], want[1024];
    size_t len;
    snprintf(want, sizeof want,
             "GET\n%s\n%s\nhost:h\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
             cases[i].want_uri, cases[i].want_query);
    assert_int_equal(sy__sigv4_canonical_request(&http, "host", out, sizeof out, &len), SY_OK);
    if (strcmp(out, want) != 0) fail_msg("case %zu:\n%s\n--- want ---\n%s", i, out, want);
  }
  /* Bounded output: too small a buffer is refused, not overrun. */
  {
    sy_sigv4_http http = {"GET", "/", NULL, h, 1, NULL, 0};
    char small[16];
    size_t len;
    assert_int_equal(sy__sigv4_canonical_request(&http, "host", small, sizeof small, &len), SY_ETOOLARGE);
    assert_int_equal(sy__sigv4_canonical_request(&http, "host;x-missing", small, sizeof small, &len), SY_EINVAL);
  }
}

/* Messages are truncated to the caller's buffer and always terminated. */
/* A query whose canonical form passes SY_SIGV4_CANON_MAX, or the caller's buffer, is
 * refused whole: never signed, verified or written out cut short. */
static void test_long_query_refused(void **state) {
  test_req r;
  char authz[1024], msg[512], creq[8192];
  size_t len = 99, qlen = 360000; /* '%' not followed by two hex digits is re-encoded as %25: 3 bytes each */
  keys k = good_keys;
  sy_sigv4_verdict v;
  sy_sigv4_sign_in s;
  (void)state;
  req_load(&r, SSM_VECTOR);
  char *query = malloc(qlen + 3);
  assert_non_null(query);
  memcpy(query, "a=", 2);
  memset(query + 2, '%', qlen);
  query[qlen + 2] = 0;

  /* signed over a short query, then sent with the long one: refused, and said why */
  sign_ssm(&r, "content-type;host;x-amz-date;x-amz-target", SECRET, authz, sizeof authz);
  sy_sigv4_verify_in in = verify_in(&r, authz, &k, "ssm", SSM_NOW);
  in.http.query = query;
  assert_int_equal(sy__sigv4_verify(&in, &v, msg, sizeof msg), SY_ETOOLARGE);
  assert_non_null(strstr(msg, "canonical form would be longer than 1048576 bytes"));
  assert_non_null(strstr(msg, "query string"));
  assert_int_equal(k.calls, 0); /* no key was even looked up */

  /* nor is it signed */
  memset(&s, 0, sizeof s);
  s.http = r.http;
  s.http.query = query;
  s.access_key_id = AKID;
  s.secret = SECRET;
  s.region = "us-east-1";
  s.service = "ssm";
  s.signed_headers = "content-type;host;x-amz-date;x-amz-target";
  memset(authz, 'x', sizeof authz);
  assert_int_equal(sy__sigv4_sign(&s, authz, sizeof authz), SY_ETOOLARGE);
  assert_string_equal(authz, "");

  /* a canonical request larger than the caller's buffer (an 8 KiB one here) is not cut */
  r.http.query = query;
  query[9000] = 0;
  memset(creq, 'x', sizeof creq);
  assert_int_equal(
      sy__sigv4_canonical_request(&r.http, "content-type;host;x-amz-date;x-amz-target", creq, sizeof creq, &len),
      SY_ETOOLARGE);
  assert_string_equal(creq, "");
  assert_int_equal(len, 0);
  free(query);
  req_free(&r);
}

static void test_message_bounded(void **state) {
  test_req r;
  char *authz, msg[12];
  keys k = good_keys;
  sy_sigv4_verify_in in;
  sy_sigv4_verdict v;
  (void)state;
  req_load(&r, SSM_VECTOR);
  authz = vector_file(SSM_VECTOR, "authz", NULL);
  in = verify_in(&r, authz, &k, "ssm", SSM_NOW + 3600);
  memset(msg, 'x', sizeof msg);
  assert_int_equal(sy__sigv4_verify(&in, &v, msg, sizeof msg), SY_EUNAUTH);
  assert_int_equal(v.result, SY_SIGV4_EXPIRED);
  assert_string_equal(msg, "Signature e");
  assert_int_equal(sy__sigv4_verify(&in, &v, NULL, 0), SY_EUNAUTH);
  assert_int_equal(sy__sigv4_verify(NULL, &v, msg, sizeof msg), SY_EINVAL);
  free(authz);
  req_free(&r);
}

/* A signature must cover every header that chooses what the request does: a request
 * signed as GetParameter with SignedHeaders=host;x-amz-date could otherwise be replayed
 * with X-Amz-Target: AmazonSSM.DeleteParameter. */
static void test_refuse_unsigned_operation_headers(void **state) {
  static const struct {
    const char *signed_headers, *needle;
  } cases[] = {
      {"host;x-amz-date", "'Content-Type' is in the request but not in SignedHeaders"},
      {"content-type;host;x-amz-date", "'X-Amz-Target' is in the request but not in SignedHeaders"},
      {"content-type;host;x-amz-target", "'X-Amz-Date' is in the request but not in SignedHeaders"},
  };
  test_req r;
  char authz[1024];
  keys k = good_keys;
  (void)state;
  req_load(&r, SSM_VECTOR);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sign_ssm(&r, cases[i].signed_headers, SECRET, authz, sizeof authz);
    expect_refusal(verify_ssm(&r, authz, &k, SSM_NOW), SY_SIGV4_MALFORMED, SY_SIGV4_PART_SIGNED_HEADERS,
                   cases[i].needle);
  }
  /* the replay: signed as GetParameter over host and the date, sent as DeleteParameter */
  sign_ssm(&r, "host;x-amz-date", SECRET, authz, sizeof authz);
  req_set(&r, "X-Amz-Target", "AmazonSSM.DeleteParameter");
  expect_refusal(verify_ssm(&r, authz, &k, SSM_NOW), SY_SIGV4_MALFORMED, SY_SIGV4_PART_SIGNED_HEADERS,
                 "must be signed");
  /* signed over all of them, it verifies; a header that selects nothing may stay unsigned */
  req_set(&r, "X-Amz-Target", "AmazonSSM.GetParameter");
  sign_ssm(&r, "content-type;host;x-amz-date;x-amz-target", SECRET, authz, sizeof authz);
  assert_int_equal(verify_ssm(&r, authz, &k, SSM_NOW).rc, SY_OK);
  req_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_suite_vectors),
      cmocka_unit_test(test_sign_all_headers),
      cmocka_unit_test(test_ssm_accepts_within_window),
      cmocka_unit_test(test_refuse_wrong_secret),
      cmocka_unit_test(test_refuse_unknown_key),
      cmocka_unit_test(test_verify_with_mac_fn),
      cmocka_unit_test(test_refuse_expired_and_future),
      cmocka_unit_test(test_refuse_body_changed),
      cmocka_unit_test(test_refuse_signed_header_changed),
      cmocka_unit_test(test_refuse_missing_authorization),
      cmocka_unit_test(test_refuse_malformed),
      cmocka_unit_test(test_dates),
      cmocka_unit_test(test_canonical_forms),
      cmocka_unit_test(test_long_query_refused),
      cmocka_unit_test(test_message_bounded),
      cmocka_unit_test(test_refuse_unsigned_operation_headers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fuzz_sigv4_verify.c — libFuzzer harness for SigV4 verification (src/core/sigv4.c): the
 * Authorization header parser (algorithm, Credential scope, SignedHeaders, Signature), the
 * X-Amz-Date / Date parsers, x-amz-content-sha256 and the canonical request of what came in.
 *
 * The input is a line "SERVICE NOW" (the layout of tests/unit/data/sigv4/vectors.txt: the
 * service the credential must be scoped to and the clock, epoch seconds) followed by a raw
 * HTTP request. The one known key is the test suite's AKIDEXAMPLE, so seeds taken from the
 * suite verify and the fuzzer starts from requests that pass. Every refusal must name its
 * reason, and a verdict's strings stay inside their buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sigv4.h"
#include "rawreq.h"
#include "check.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static sy_rc secret_of(void *ctx, const char *akid, char *secret, size_t cap, size_t *len) {
  (void)ctx;
  CHECK(strlen(akid) <= SY_SIGV4_AKID_MAX);
  if (strcmp(akid, AKID)) return SY_ENOTFOUND;
  *len = strlen(SECRET);
  CHECK(*len <= cap);
  memcpy(secret, SECRET, *len);
  return SY_OK;
}

static sy_rc key_of(void *ctx, const char *akid, const char *date8, const char *region, const char *service,
                    unsigned char key[SY_SIGV4_KEY_LEN]) {
  (void)ctx;
  CHECK(strlen(akid) <= SY_SIGV4_AKID_MAX && strlen(date8) == 8 && strlen(region) <= SY_SIGV4_REGION_MAX);
  if (strcmp(akid, AKID)) return SY_ENOTFOUND;
  return sy__sigv4_signing_key(SECRET, strlen(SECRET), date8, region, service, key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size);
  if (!nl || nl - data > 64) return 0;
  char head[65], service[65] = "";
  memcpy(head, data, (size_t)(nl - data));
  head[nl - data] = 0;
  char *sp = strchr(head, ' ');
  if (!sp) return 0;
  *sp = 0;
  memcpy(service, head, (size_t)(sp - head) + 1);
  char *end = NULL;
  long long now = strtoll(sp + 1, &end, 10);
  /* the clock is the server's own time(), never input: keep it to years 0000-9999 */
  if (*end || now < 0 || now > 253402300799LL) return 0;

  rawreq rq = {0};
  if (rawreq_parse((const char *)nl + 1, size - (size_t)(nl + 1 - data), &rq) == 0) {
    sy_sigv4_verify_in in = {.http = rq.http, .service = service, .now = now};
    /* both ways of handing over the key: the secret, or the derived key a cache would keep */
    if (size % 2)
      in.key_fn = key_of;
    else
      in.secret_fn = secret_of;
    sy_sigv4_verdict v;
    char msg[1024];
    memset(msg, 'x', sizeof msg);
    sy_rc rc = sy__sigv4_verify(&in, &v, msg, sizeof msg);
    CHECK(memchr(msg, 0, sizeof msg));
    CHECK(memchr(v.access_key_id, 0, sizeof v.access_key_id) && memchr(v.region, 0, sizeof v.region));
    if (rc == SY_OK) {
      CHECK(v.result == SY_SIGV4_OK && !strcmp(v.access_key_id, AKID));
    } else if (rc == SY_EUNAUTH) {
      CHECK(v.result != SY_SIGV4_OK && msg[0]);
      CHECK(sy__sigv4_result_code(v.result)[0]);
      if (v.result == SY_SIGV4_MALFORMED) CHECK(v.part != SY_SIGV4_PART_NONE && sy__sigv4_part_name(v.part)[0]);
    }
    /* a tiny message buffer is truncated, never overrun, and the verdict is the same */
    char tiny[4];
    sy_sigv4_verdict v2;
    CHECK(sy__sigv4_verify(&in, &v2, tiny, sizeof tiny) == rc && v2.result == v.result && memchr(tiny, 0, sizeof tiny));
  }
  rawreq_free(&rq);
  return 0;
}

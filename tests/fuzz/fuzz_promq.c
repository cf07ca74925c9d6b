/* fuzz_promq.c — libFuzzer harness for sy__promq_parse, the parser of Prometheus' query API
 * answers: no crash on any bytes, a bounded NUL-terminated message on every refusal, and a
 * value that is a number (never NaN) on success. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/promq.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of exactly size bytes, so that ASan sees any read past the end */
  char *s = malloc(size ? size : 1);
  if (!s) return 0;
  memcpy(s, data, size);
  double v = 12345;
  char why[96];
  memset(why, 'x', sizeof why);
  int rc = sy__promq_parse(s, size, &v, why, sizeof why);
  CHECK(rc == 0 || rc == -1);
  if (rc) {
    CHECK(memchr(why, 0, sizeof why) != NULL);
    CHECK(why[0] != 0);
    CHECK(v == 12345);
  } else {
    CHECK(!isnan(v));
  }
  /* the same bytes parse the same way twice */
  double v2 = 12345;
  CHECK(sy__promq_parse(s, size, &v2, why, sizeof why) == rc);
  if (!rc) CHECK(v2 == v);
  free(s);
  return 0;
}

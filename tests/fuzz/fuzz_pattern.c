/* fuzz_pattern.c — libFuzzer harness for AllowedPattern: compiling a Java-style pattern
 * (PCRE2) and matching a value against it (sy__pattern_compile_check, sy__pattern_check).
 *
 * The input is the pattern, a newline, then the value. A pattern that compiles must
 * then match or refuse the value with SY_EPATTERN, never fail to compile again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/param.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char msg[SY_MSG_MAX];
  const uint8_t *nl = memchr(data, '\n', size);
  size_t plen = nl ? (size_t)(nl - data) : size;
  char *pattern = strndup((const char *)data, plen);
  char *value = nl ? strndup((const char *)nl + 1, size - plen - 1) : strdup("");
  if (!pattern || !value) goto out;
  sy_rc rc = sy__pattern_compile_check(pattern, msg, sizeof msg);
  CHECK(rc == SY_OK || rc == SY_EINVAL);
  if (rc) {
    CHECK(msg[0] != 0);
    goto out;
  }
  rc = sy__pattern_check(pattern, value, msg, sizeof msg);
  CHECK(rc == SY_OK || rc == SY_EPATTERN);
  if (rc) CHECK(msg[0] != 0);
out:
  free(pattern);
  free(value);
  return 0;
}

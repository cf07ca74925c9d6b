/* fuzz_libcache.c — libFuzzer harness for libswitchyard's cache file (src/lib/cache.c): what a
 * client reads at start when the server cannot be reached, from a disk it does not control.
 *
 * An input is a whole file. With a first byte 'V' the rest is the parameters' line and the
 * harness writes a header that vouches for it (its length and SHA-256), so that the fuzzer
 * reaches the parameters' parser, not only the header's. Besides "no crash": a refusal names its
 * reason and leaves no table; an accepted file gives entries named with a '/', of cache source,
 * that the table finds again by name, holding a value unless they are SecureStrings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/crypto.h"
#include "lib/lib_int.h"

static void *m_alloc(void *ud, size_t n) {
  (void)ud;
  return malloc(n);
}
static void *m_realloc(void *ud, void *p, size_t n) {
  (void)ud;
  return realloc(p, n);
}
static void m_free(void *ud, void *p) {
  (void)ud;
  free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const lib_alloc al = {{m_alloc, m_realloc, m_free, NULL}};
  static const char *const prefixes[] = {"/app/"};
  const lib_cache_meta m = {"http://127.0.0.1:8000", prefixes, 1, NULL, 0};
  char *buf = NULL, msg[512] = "", store[40] = "", sha[SY_HASH_HEX];
  size_t len = size;
  int64_t seq = -1;
  lib_table t = {0};
  if (size && data[0] == 'V') {
    sy__sha256_hex(data + 1, size - 1, sha);
    char head[512];
    int k =
        snprintf(head, sizeof head,
                 "{\"format\":\"switchyard-cache\",\"version\":1,\"server\":\"http://127.0.0.1:8000\","
                 "\"prefixes\":[\"/app/\"],\"store\":\"s\",\"seq\":7,\"params_bytes\":%zu,\"params_sha256\":\"%s\"}\n",
                 size - 1, sha);
    buf = malloc((size_t)k + size);
    memcpy(buf, head, (size_t)k);
    memcpy(buf + k, data + 1, size - 1);
    len = (size_t)k + size - 1;
  } else {
    buf = malloc(size + 1);
    if (size) memcpy(buf, data, size);
  }
  sy_rc rc = sy__cache_parse(&al, "fuzz.cache", buf, len, &m, &t, store, &seq, msg, sizeof msg);
  if (rc) {
    CHECK(msg[0] != 0);
    CHECK(t.slots == NULL && t.count == 0);
  } else {
    size_t n = 0;
    for (size_t i = 0; i < t.cap; i++) {
      lib_entry *e = t.slots[i];
      if (!e) continue;
      n++;
      CHECK(e->name[0] == '/' && e->source == SY_SOURCE_CACHE);
      CHECK((e->value != NULL) == (strcmp(e->type, "SecureString") != 0)); /* a secret is never held */
      CHECK(strlen(e->name) == e->name_len);
      CHECK(sy__ltab_get(&t, e->name, e->name_len, 0) == e);
    }
    CHECK(n == t.count);
    sy__ltab_free(&al, &t);
  }
  free(buf);
  return 0;
}

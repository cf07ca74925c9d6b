/* fuzz_query.c — libFuzzer harness for what the native API reads from the URL: parameter
 * names with their ":version" / ":label" selectors and suffixes in the path, and query
 * strings with their percent-decoding (list, get, history, audit, labels, tags, export).
 *
 * A real server runs in the process (inproc.c). The first input byte picks a route: 'a' +
 * the index in routes[]; the rest is appended to the route's target. Bytes that would break
 * the request line (controls, space, DEL) are sent percent-encoded, everything else raw, so
 * broken escapes and raw UTF-8 reach the server. Writes stay below /fz/query/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inproc.h"
#include "check.h"

static const struct route {
  const char *method, *target;
  int body; /* sends a valid put body */
} routes[] = {
    {"GET", "/api/v1/params/", 0},                      /* a: a name, selector, suffix */
    {"GET", "/api/v1/params?", 0},                      /* b: list */
    {"GET", "/api/v1/params/fz/query/a?", 0},           /* c: get one */
    {"GET", "/api/v1/params/fz/query/a/history?", 0},   /* d */
    {"GET", "/api/v1/admin/audit?", 0},                 /* e */
    {"DELETE", "/api/v1/params/fz/query/b/labels?", 0}, /* f: labels=a,b */
    {"DELETE", "/api/v1/params/fz/query/b/tags?", 0},   /* g: keys=a,b */
    {"GET", "/api/v1/config/runtime?", 0},              /* h: export */
    {"PUT", "/api/v1/params/fz/query/", 1},             /* i: a name to create */
    {"HEAD", "/api/v1/params/", 0},                     /* j */
    {"DELETE", "/api/v1/params/fz/query/", 0},          /* k: a name to delete */
    {"GET", "/api/v1/admin/audit/verify?", 0},          /* l */
};
#define NROUTES (sizeof routes / sizeof routes[0])

static int bearer(const char *method, const char *target, const char *body) {
  return inproc_bearer(method, target, body, body ? strlen(body) : 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  inproc_start("query");
  /* versions, labels and tags for the reads to find */
  CHECK(bearer("PUT", "/api/v1/params/fz/query/a", "{\"value\":\"v1\",\"type\":\"String\"}") == 200);
  CHECK(bearer("PUT", "/api/v1/params/fz/query/a", "{\"value\":\"v2\",\"overwrite\":true}") == 200);
  CHECK(bearer("PUT", "/api/v1/params/fz/query/a/tags", "{\"tags\":{\"team\":\"ml\"}}") == 200);
  CHECK(bearer("POST", "/api/v1/params/fz/query/a/labels", "{\"version\":1,\"labels\":[\"prod\"]}") == 200);
  CHECK(bearer("PUT", "/api/v1/params/fz/query/b", "{\"value\":\"x,y\",\"type\":\"StringList\"}") == 200);
  CHECK(bearer("PUT", "/api/v1/params/fz/query/s", "{\"value\":\"hush\",\"type\":\"SecureString\"}") == 200);
  CHECK(bearer("PUT", "/api/v1/params/fz/query/deep/er/c", "{\"value\":\"c\",\"type\":\"String\"}") == 200);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char hex[] = "0123456789ABCDEF";
  static const char body[] = "{\"value\":\"q\",\"type\":\"String\",\"overwrite\":true}";
  if (size == 0) return 0;
  const struct route *r = &routes[(uint8_t)(data[0] - 'a') % NROUTES];
  size_t tl = strlen(r->target);
  char *target = malloc(tl + 3 * size + 1);
  if (!target) return 0;
  memcpy(target, r->target, tl);
  size_t o = tl;
  for (size_t i = 1; i < size; i++) {
    uint8_t c = data[i];
    if (c <= 0x20 || c == 0x7f) {
      target[o++] = '%';
      target[o++] = hex[c >> 4];
      target[o++] = hex[c & 15];
    } else {
      target[o++] = (char)c;
    }
  }
  target[o] = 0;
  int status = inproc_bearer(r->method, target, r->body ? body : NULL, r->body ? sizeof body - 1 : 0);
  CHECK(status >= 200 && status < 500);
  free(target);
  return 0;
}

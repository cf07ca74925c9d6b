/* fuzz_native.c — libFuzzer harness for the JSON bodies of the native API: parameter puts,
 * labels, tags, rollback and delete below /api/v1/params/, and new tokens and access keys.
 *
 * A real server runs in the process (inproc.c). The first input byte picks the endpoint:
 * 'a' + the index in routes[] (any byte maps to one); the rest is the body, sent with the
 * admin bearer token, so every input reaches the handler. Parameters live below
 * /fz/native/. The server answering at all, and sanitizers staying quiet, is the check. */
#include <stdint.h>
#include <string.h>

#include "inproc.h"
#include "check.h"

static const struct route {
  const char *method, *target;
} routes[] = {
    {"PUT", "/api/v1/params/fz/native/a"},           /* a */
    {"PUT", "/api/v1/params/fz/native/b"},           /* b */
    {"PUT", "/api/v1/params/fz/native/a/tags"},      /* c */
    {"DELETE", "/api/v1/params/fz/native/a/tags"},   /* d */
    {"POST", "/api/v1/params/fz/native/a/labels"},   /* e */
    {"DELETE", "/api/v1/params/fz/native/a/labels"}, /* f */
    {"POST", "/api/v1/params/fz/native/a/rollback"}, /* g */
    {"DELETE", "/api/v1/params/fz/native/b"},        /* h */
    {"POST", "/api/v1/admin/tokens"},                /* i */
    {"POST", "/api/v1/admin/keys"},                  /* j */
    {"PUT", "/api/v1/params/fz/native/secret"},      /* k */
};
#define NROUTES (sizeof routes / sizeof routes[0])

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  inproc_start("native");
  /* something to label, tag and roll back */
  static const char first[] = "{\"value\":\"v1\",\"type\":\"String\"}";
  static const char second[] = "{\"value\":\"v2\",\"overwrite\":true}";
  CHECK(inproc_bearer("PUT", routes[0].target, first, sizeof first - 1) == 200);
  CHECK(inproc_bearer("PUT", routes[0].target, second, sizeof second - 1) == 200);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const struct route *r = &routes[(uint8_t)(data[0] - 'a') % NROUTES];
  int status = inproc_bearer(r->method, r->target, data + 1, size - 1);
  CHECK(status >= 200 && status < 500);
  return 0;
}

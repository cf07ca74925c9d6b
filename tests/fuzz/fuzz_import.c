/* fuzz_import.c — libFuzzer harness for the export/import document of
 * /api/v1/config/runtime ("switchyard-config/1"): the dry run, the applied import (one
 * transaction through the store) with and without prune, and the export of what came in.
 *
 * A real server runs in the process (inproc.c). The first input byte picks the request:
 * 'a' + the index in routes[]; the rest is the document, sent with the admin token. */
#include <stdint.h>
#include <string.h>

#include "inproc.h"
#include "check.h"

static const struct route {
  const char *method, *target;
} routes[] = {
    {"POST", "/api/v1/config/runtime"},                        /* a: dry run */
    {"POST", "/api/v1/config/runtime?apply=true"},             /* b */
    {"POST", "/api/v1/config/runtime?prune=true"},             /* c: dry run with deletions */
    {"POST", "/api/v1/config/runtime?apply=true&prune=true"},  /* d */
    {"GET", "/api/v1/config/runtime?include_secrets=true"},    /* e: export (the body is ignored) */
    {"POST", "/api/v1/config/runtime?apply=true&reason=fuzz"}, /* f */
};
#define NROUTES (sizeof routes / sizeof routes[0])

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  inproc_start("import");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const struct route *r = &routes[(uint8_t)(data[0] - 'a') % NROUTES];
  int status = inproc_bearer(r->method, r->target, data + 1, size - 1);
  CHECK(status >= 200 && status < 500);
  return 0;
}

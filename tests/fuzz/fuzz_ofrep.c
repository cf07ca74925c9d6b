/* fuzz_ofrep.c — libFuzzer harness for OFREP (server/ofrep.c): evaluation request bodies and
 * contexts, and flag keys as sent in the URL, raw or percent-encoded.
 *
 * A real server runs in the process (inproc.c) with a few flags below /fz/ofrep/. The first
 * input byte picks the route: 'a' one flag with the rest as the body, 'b' the bulk evaluation
 * with the rest as the body, 'c' one flag whose key is the rest (bytes that would break the
 * request line's framing, fuzz_http's business, become '%'), with an empty context. Any byte
 * maps to one of them. The server answering below 500, and sanitizers staying quiet, is the
 * check. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "inproc.h"

#define PREFIX "/ofrep/v1/evaluate/flags/"
#define KEY_MAX 4096

static void put(const char *name, const char *body) {
  char target[256];
  snprintf(target, sizeof target, "/api/v1/params%s", name);
  CHECK(inproc_bearer("PUT", target, body, strlen(body)) == 200);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  inproc_start("ofrep");
  put("/fz/ofrep/f",
      "{\"type\":\"Flag\",\"value\":\"{\\\"rollout_percentage\\\":50,\\\"variants\\\":{\\\"on\\\":"
      "{\\\"a\\\":[1,2.5,\\\"x\\\"]},\\\"off\\\":null},\\\"rules\\\":[{\\\"name\\\":\\\"nl\\\","
      "\\\"constraints\\\":[{\\\"attribute\\\":\\\"country\\\",\\\"operator\\\":\\\"IN\\\","
      "\\\"values\\\":[\\\"NL\\\"]}],\\\"variant\\\":\\\"on\\\"}]}\"}");
  put("/fz/ofrep/g",
      "{\"type\":\"Flag\",\"value\":\"{\\\"variants\\\":{\\\"on\\\":\\\"blue\\\",\\\"off\\\":"
      "\\\"red\\\"}}\"}");
  put("/fz/ofrep/plain", "{\"type\":\"String\",\"value\":\"not a flag\"}");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  int route = (uint8_t)(data[0] - 'a') % 3, status;
  if (route == 0) {
    status = inproc_bearer("POST", PREFIX "fz/ofrep/f", data + 1, size - 1);
  } else if (route == 1) {
    status = inproc_bearer("POST", "/ofrep/v1/evaluate/flags", data + 1, size - 1);
  } else {
    static char target[sizeof PREFIX + KEY_MAX];
    size_t n = size - 1 > KEY_MAX ? KEY_MAX : size - 1;
    memcpy(target, PREFIX, sizeof PREFIX - 1);
    for (size_t i = 0; i < n; i++) {
      unsigned char c = data[1 + i];
      target[sizeof PREFIX - 1 + i] = c <= 0x20 || c == 0x7f || c == '?' || c == '#' ? '%' : (char)c;
    }
    target[sizeof PREFIX - 1 + n] = 0;
    status = inproc_bearer("POST", target, "{}", 2);
  }
  CHECK(status >= 200 && status < 500);
  return 0;
}

/* fuzz_http.c — libFuzzer harness for the request framing: the request line and header
 * section as they come off the socket, through libmicrohttpd's parser and the exact-framing
 * check behind it (src/server/frame.c), the early refusals (credentials, size, query) and the
 * lingering close that follows them.
 *
 * A real server runs in the process (inproc.c). Each input is sent as it is on a fresh
 * connection whose sending side is then closed, and the reply is read until the server
 * closes. A server that neither answers nor closes within 10 s, or answers with a server
 * error (5xx but 501 and 505, which refuse a transfer coding or an HTTP version), is a finding. Seeds carry the admin
 * token (INPROC_TOKEN) so that mutations reach the handlers behind the framing; writes there stay below /fz/http/. */
#include <stdint.h>
#include <stdlib.h>

#include "inproc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  inproc_start("http");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int status = 0;
  if (inproc_raw(data, size, &status)) __builtin_trap();                 /* no answer and no close */
  if (status >= 500 && status != 501 && status != 505) __builtin_trap(); /* 501, 505: refusals */
  return 0;
}

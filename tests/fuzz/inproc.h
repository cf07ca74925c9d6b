/* inproc.h — a real Switchyard server inside the fuzzer's process, and HTTP requests to it
 * over a loopback socket: for the harnesses of the parsers that live in HTTP handlers. */
#ifndef SY_FUZZ_INPROC_H
#define SY_FUZZ_INPROC_H

#include <stddef.h>

/* The admin bearer token and the SSM access key (admin and decrypt scopes) made at start. */
#define INPROC_TOKEN "sy-fuzz-admin-token-0123456789abcdef"
#define INPROC_AKID "AKIAFUZZFUZZFUZZFUZZ"
#define INPROC_SECRET "fuzzSecretAccessKey0123456789abcdefghijkl"
#define INPROC_REGION "us-east-1"

/* Starts the server once: a store in a fresh directory (under $SY_FUZZ_TMPDIR, else /dev/shm
 * when it exists, so that fsync costs nothing, else $TMPDIR or /tmp; removed at exit), the
 * watch hub, the admin token and the access key, and the HTTP daemon on 127.0.0.1, port 0
 * (SWITCHYARD_ACCESS_LOG=1 logs every request, as the server does: handy with a reproducer).
 * name goes into the directory's name. Aborts with a message on any failure. */
void inproc_start(const char *name);

/* One request: "METHOD TARGET HTTP/1.1", Host, Content-Length, the extra header lines in
 * headers (each "Name: value", NULL-terminated list, may be NULL), then the body. Reads the
 * whole reply and returns its status. The connection is kept alive between requests and
 * opened again when the server closed it. Aborts when the server does not answer within
 * 10 seconds or answers something that is not HTTP: a hang is a finding too. */
int inproc_request(const char *method, const char *target, const char *const *headers, const void *body, size_t len);

/* Sends bytes as they are on a fresh connection, ends the sending side, and reads until
 * the server closes: the first status line's code in *status (0 if none). Returns 0, or -1
 * when the server neither answered nor closed within 10 seconds (a hang is a finding). */
int inproc_raw(const void *bytes, size_t len, int *status);
/* The same with "Authorization: Bearer INPROC_TOKEN" added. */
int inproc_bearer(const char *method, const char *target, const void *body, size_t len);

/* An SSM request (POST /, awsJson1_1) for X-Amz-Target: target, signed with SigV4 over the
 * body with the access key made at start, at the current time. */
int inproc_ssm(const char *target, const void *body, size_t len);

#endif

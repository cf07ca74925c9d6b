/* frame.h — the exact-framing check of a request's line and header section (see frame.c). */
#ifndef SY_SERVER_FRAME_H
#define SY_SERVER_FRAME_H

#include <microhttpd.h>
#include <stddef.h>

/* Checks the request that conn has just parsed. method and version are the pointers
 * libmicrohttpd passed to the request handler; target is the pointer it passed to the
 * URI log callback and target_len its length then. Returns 0 when the framing is
 * exact (and fills *body), or the HTTP status to refuse it with (400, 501, 505) and a
 * message in msg. */
/* What the check learned of the body on the way: its announced length and whether it is chunked. */
typedef struct sy_frame_body {
  unsigned long long length; /* Content-Length, 0 if none */
  int chunked;
} sy_frame_body;

int sy__frame_check(struct MHD_Connection *conn, const char *method, const char *target, size_t target_len,
                    const char *version, sy_frame_body *body, char *msg, size_t msgsz);

/* Checks the bytes of a piece of a request target (as sent): no space or control
 * character. base is the piece's offset in the target, for the message. Returns 0, or
 * 400 with a message. */
int sy__frame_target_check(const char *target, size_t len, size_t base, char *msg, size_t msgsz);

#endif

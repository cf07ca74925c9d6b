/* frame.c — checks that a request's framing is exact before anything acts on it.
 *
 * libmicrohttpd 0.9.75 parses the request line and header fields in place, in
 * its read buffer, and hands them on as C strings: a NUL byte inside the
 * target, a method or a field value silently cuts it short, and the rest of the
 * line is dropped. It also accepts two Content-Length fields, Content-Length
 * together with Transfer-Encoding, and HTTP/1.1 without Host. Any of these lets
 * a request mean one thing to a proxy in front and another thing here.
 *
 * The check walks the parsed pieces in order and proves that they cover the
 * received bytes exactly: the method ends at the space that libmicrohttpd
 * zeroed, the target runs up to the space before the version, the request line
 * and every field line end in CR LF (zeroed: two NULs), each field name starts
 * where the previous line ended, and the header block ends with an empty line.
 * A NUL, a bare LF or a folded line breaks that chain. One pass over the
 * header bytes. */
#include "server/frame.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 token characters. */
static int tchar(unsigned char c) {
  if (c >= 'a' && c <= 'z') return 1;
  if (c >= 'A' && c <= 'Z') return 1;
  if (c >= '0' && c <= '9') return 1;
  if (c == '-') return 1; /* the one in most names */
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The index of the first byte of s[0..n) that a field value may not hold (a control
 * character other than HTAB, or DEL), or n. Eight bytes at a time: a header block is
 * mostly long values (a SigV4 Authorization is some 200 bytes) with nothing to refuse. */
static size_t value_bad_at(const char *s, size_t n) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, s + i, 8);
    uint64_t below = (x - ones * 0x20) & ~x & highs; /* some byte < 0x20 */
    uint64_t del = x ^ (ones * 0x7f);
    del = (del - ones) & ~del & highs; /* some byte == 0x7f */
    if (below | del) break;            /* look at this word byte by byte */
  }
  for (; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) return i;
  }
  return n;
}

/* A line terminator that libmicrohttpd zeroed: CR LF became two NULs. */
static int crlf_at(const char *p) { return p[0] == 0 && p[1] == 0; }

typedef struct walk {
  const char *pos; /* where the next field line must start */
  int ncl, nte, nhost;
  const char *te, *cl;
  int status;
  char *msg;
  size_t msgsz;
} walk;

__attribute__((format(printf, 3, 4))) static enum MHD_Result fail(walk *w, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->msg, w->msgsz, fmt, ap);
  va_end(ap);
  w->status = status;
  return MHD_NO;
}

static enum MHD_Result field(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  walk *w = cls;
  (void)kind;
  if (!key || !value || key != w->pos)
    return fail(w, 400, "malformed header section near %.64s: a NUL byte, a bare LF or a folded line", key ? key : "");
  size_t klen = 0;
  while (key[klen]) {
    if (!tchar((unsigned char)key[klen]))
      return fail(w, 400, "header name %.64s has a character a field name may not have", key);
    klen++;
  }
  if (!klen) return fail(w, 400, "a header line has no name");
  const char *p = key + klen + 1; /* past the colon, which libmicrohttpd zeroed */
  if (value < p) return fail(w, 400, "malformed header %.64s", key);
  for (; p < value; p++)
    if (*p != ' ' && *p != '\t') return fail(w, 400, "malformed header %.64s", key);
  size_t vlen = strlen(value);
  if (value_bad_at(value, vlen) < vlen) return fail(w, 400, "header %.64s contains a control character", key);
  const unsigned char *v = (const unsigned char *)value + vlen;
  if (!crlf_at((const char *)v))
    return fail(w, 400, "header %.64s contains a NUL byte or its line does not end in CR LF", key);
  w->pos = (const char *)v + 2;
  char first = (char)(key[0] | 0x20); /* most names are none of the three below */
  if (first == 'c' && !strcasecmp(key, "Content-Length")) {
    w->ncl++;
    w->cl = value;
    size_t n = (size_t)((const char *)v - value);
    if (!n || n > 18 || strspn(value, "0123456789") != n)
      return fail(w, 400, "Content-Length must be a decimal number of bytes");
  } else if (first == 't' && !strcasecmp(key, "Transfer-Encoding")) {
    w->nte++;
    w->te = value;
  } else if (first == 'h' && !strcasecmp(key, "Host")) {
    w->nhost++;
  }
  return MHD_YES;
}

int sy__frame_target_check(const char *target, size_t len, size_t base, char *msg, size_t msgsz) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)target[i];
    if (c <= 0x20 || c == 0x7f) {
      snprintf(msg, msgsz, "the request target contains a space or a control character at byte %zu", base + i + 1);
      return 400;
    }
  }
  return 0;
}

int sy__frame_check(struct MHD_Connection *conn, const char *method, const char *target, size_t target_len,
                    const char *version, sy_frame_body *body, char *msg, size_t msgsz) {
  walk w = {.msg = msg, .msgsz = msgsz};
  size_t mlen = 0;
  if (!method || !target || !version) {
    snprintf(msg, msgsz, "malformed request line");
    return 400;
  }
  while (method[mlen])
    if (!tchar((unsigned char)method[mlen++])) {
      snprintf(msg, msgsz, "the method has a character a method may not have");
      return 400;
    }
  /* method, the zeroed space, perhaps more spaces, then the target */
  const char *p = method + mlen + 1;
  if (!mlen || target < p) {
    snprintf(msg, msgsz, "malformed request line: a NUL byte in the method");
    return 400;
  }
  for (; p < target; p++)
    if (*p != ' ') {
      snprintf(msg, msgsz, "malformed request line: a NUL byte in the method");
      return 400;
    }
  if (target + target_len + 1 != version) {
    snprintf(msg, msgsz, "the request target contains a NUL byte");
    return 400;
  }
  if (strlen(version) != 8 || !crlf_at(version + 8)) {
    snprintf(msg, msgsz, "the request line does not end in CR LF");
    return 400;
  }
  int http11 = !strcmp(version, "HTTP/1.1");
  if (!http11 && strcmp(version, "HTTP/1.0")) {
    snprintf(msg, msgsz, "%.8s is not supported; send HTTP/1.1", version);
    return 505;
  }
  w.pos = version + 10;
  MHD_get_connection_values(conn, MHD_HEADER_KIND, field, &w);
  if (w.status) return w.status;
  if (!crlf_at(w.pos)) {
    snprintf(msg, msgsz, "the header section does not end with an empty CR LF line");
    return 400;
  }
  if (w.ncl > 1) {
    snprintf(msg, msgsz, "more than one Content-Length header");
    return 400;
  }
  if (w.nte > 1 || (w.nte && !http11)) {
    snprintf(msg, msgsz, w.nte > 1 ? "more than one Transfer-Encoding header" : "HTTP/1.0 has no Transfer-Encoding");
    return 400;
  }
  if (w.nte && w.ncl) {
    snprintf(msg, msgsz, "Content-Length and Transfer-Encoding together");
    return 400;
  }
  if (w.nte && strcasecmp(w.te, "chunked")) {
    snprintf(msg, msgsz, "Transfer-Encoding %.64s is not supported; send chunked or a Content-Length", w.te);
    return 501;
  }
  if (w.nhost > 1 || (http11 && !w.nhost)) {
    snprintf(msg, msgsz, w.nhost > 1 ? "more than one Host header" : "an HTTP/1.1 request needs a Host header");
    return 400;
  }
  /* field() let through only 1 to 18 digits; checked again here so the parse stands on its own */
  char *end = NULL;
  errno = 0;
  body->length = w.cl ? strtoull(w.cl, &end, 10) : 0;
  if (w.cl && (*w.cl < '0' || *w.cl > '9' || *end || errno)) {
    snprintf(msg, msgsz, "Content-Length must be a decimal number of bytes");
    return 400;
  }
  body->chunked = w.nte > 0;
  return 0;
}

/* gwload.c — an open-loop, constant-rate HTTP/1.1 load generator (bench/gateway.sh): request i is
 * due at t0 + i/rate whatever happened to earlier ones, and its latency runs from that intended
 * time (coordinated omission corrected), so a request that waits for a free connection, or behind
 * a slow one, is charged for the wait. One thread, epoll, non-blocking sockets, keep-alive, one
 * request at a time per connection (no pipelining). Responses with Content-Length, chunked
 * transfer-encoding or read-until-close bodies. Prints one JSON line on stdout.
 *
 * Usage: gwload --url http://HOST:PORT/PATH --rate R --duration S [--connections N]
 *               [--body-file F] [--header 'Name: value']... [--stream] [--warmup S] [--grace S]
 *
 * With a body the method is POST (Content-Type application/json unless a header sets one), else GET.
 * --warmup S runs the same schedule for S seconds first, on the same connections, and counts none
 * of it. --stream asks for text/event-stream and counts a 2xx answer as ok only if its body holds
 * "data: [DONE]" (a stream the gateway cuts short ends without it). Everything stops at
 * warmup + duration + grace (default 3 s): what is still in flight then is an error (a timeout),
 * what was due but never sent is reported as "unsent". Latencies are of ok responses only. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADERS 32
#define MAX_CONNS 65536
#define MAX_BODY (16 << 20)
#define CONN_BUF 16384 /* longest status line + headers, or chunk-size line, accepted */

/* --- a log-linear histogram of microseconds (HdrHistogram's layout) ------------------------------ */
/* Values below 2^(SUB_BITS+1) are exact; above, each power of two is split into 2^SUB_BITS equal
 * buckets, so a bucket is at most 1/128 of its value wide and its midpoint is within 0.4 %. */
#define HIST_SUB_BITS 7
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_MAX_EXP 40 /* 2^41 µs ≈ 25 days: more than any run */
#define HIST_LEN ((HIST_MAX_EXP - HIST_SUB_BITS + 2) * HIST_SUB)

typedef struct {
  uint64_t n[HIST_LEN];
  uint64_t count, max;
} hist;

static size_t hist_index(uint64_t v) {
  if (v >= (UINT64_C(1) << (HIST_MAX_EXP + 1))) v = (UINT64_C(1) << (HIST_MAX_EXP + 1)) - 1;
  if (v < 2 * HIST_SUB) return (size_t)v;
  int k = 63 - __builtin_clzll(v);
  return (size_t)(k - HIST_SUB_BITS + 1) * HIST_SUB + (size_t)((v >> (k - HIST_SUB_BITS)) - HIST_SUB);
}

static uint64_t hist_value(size_t i) { /* the midpoint of bucket i */
  if (i < 2 * HIST_SUB) return i;
  int k = (int)(i / HIST_SUB) + HIST_SUB_BITS - 1;
  uint64_t sub = i % HIST_SUB + HIST_SUB, width = UINT64_C(1) << (k - HIST_SUB_BITS);
  return (sub << (k - HIST_SUB_BITS)) + (width - 1) / 2;
}

static void hist_add(hist *h, uint64_t us) {
  h->n[hist_index(us)]++;
  h->count++;
  if (us > h->max) h->max = us;
}

/* The value at quantile q (0 < q ≤ 1): the smallest bucket whose cumulative count reaches
 * ceil(q × count); the exact maximum for q = 1. 0 when the histogram is empty. */
static uint64_t hist_quantile(const hist *h, double q) {
  if (h->count == 0) return 0;
  if (q >= 1.0) return h->max;
  uint64_t rank = (uint64_t)ceil(q * (double)h->count), seen = 0;
  if (rank == 0) rank = 1;
  for (size_t i = 0; i < HIST_LEN; i++) {
    seen += h->n[i];
    if (seen >= rank) return hist_value(i) < h->max ? hist_value(i) : h->max;
  }
  return h->max;
}

/* --- settings and totals ------------------------------------------------------------------------ */
static struct {
  struct sockaddr_storage addr;
  socklen_t addrlen;
  char *req; /* the whole request, built once; owned, never freed (process lifetime) */
  size_t reqlen;
  double rate, duration, warmup, grace;
  int conns, stream;
} cfg;

static struct {
  uint64_t sent, ok, non2xx, errors, timeouts, unsent;
  uint64_t e_connect, e_io, e_parse, e_stream;
  int64_t last_send_ns;
  hist lat, ttfb;
} st;

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- connections and the response parser --------------------------------------------------------- */
enum { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };
enum { P_STATUS, P_HEADERS, P_BODY_LEN, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILER, P_UNTIL_CLOSE, P_DONE };

typedef struct conn {
  int fd, state;
  int64_t req;                  /* index of the request it carries, -1 when none */
  int64_t intended_ns, body_ns; /* when the request was due; when its first body byte came (0: not yet) */
  size_t wpos;                  /* bytes of the request written */
  int reused, retried;          /* has answered before (a stale keep-alive may be retried once) */
  int got_bytes;                /* any byte of this response received */
  /* parser */
  int pstate, status, chunked, close_after, event_stream, done_match, done_seen;
  int64_t body_left;
  size_t len;
  char buf[CONN_BUF];
} conn;

static conn *conns;
static conn **freelist; /* connections carrying no request (idle, down or still connecting) */
static int nfree, ep;
static int64_t inflight;
static int64_t win_first; /* the first request index that is measured (after the warm-up) */

static void parser_reset(conn *c) {
  c->pstate = P_STATUS;
  c->status = 0;
  c->chunked = 0;
  c->close_after = 0;
  c->event_stream = 0;
  c->done_match = 0;
  c->done_seen = 0;
  c->body_left = 0;
  c->body_ns = 0;
  c->got_bytes = 0;
}

static void conn_close(conn *c) {
  if (c->fd >= 0) close(c->fd); /* closing removes it from the epoll set */
  c->fd = -1;
  c->state = C_DOWN;
  c->len = 0;
  parser_reset(c);
}

/* Starts a non-blocking connect; 0, or -1 (connection down) on an immediate failure. */
static int conn_open(conn *c) {
  int one = 1;
  c->fd = socket(cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) goto fail;
  if (connect(c->fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) != 0 && errno != EINPROGRESS) goto fail;
  c->state = C_CONNECTING;
  c->reused = 0;
  return 0;
fail:
  conn_close(c);
  return -1;
}

static int measured(int64_t req) { return req >= win_first; }

static void conn_release(conn *c) {
  c->req = -1;
  inflight--;
  freelist[nfree++] = c;
}

static int conn_write(conn *c);

/* The request on c failed (kind: a counter in st). A reused keep-alive connection that the peer
 * closed before answering anything is retried once on a fresh connection, as browsers do. */
static void req_fail(conn *c, uint64_t *kind) {
  int retry = c->reused && !c->retried && !c->got_bytes && kind != &st.e_parse;
  conn_close(c);
  if (retry) {
    c->retried = 1;
    c->wpos = 0;
    if (conn_open(c) == 0) return;
  }
  if (measured(c->req)) {
    st.errors++;
    (*kind)++;
  }
  conn_release(c);
}

/* Sends what is left of the request; 0 when written or waiting for EPOLLOUT, -1 after req_fail. */
static int conn_write(conn *c) {
  while (c->wpos < cfg.reqlen) {
    ssize_t n = send(c->fd, cfg.req + c->wpos, cfg.reqlen - c->wpos, MSG_NOSIGNAL);
    if (n > 0) {
      c->wpos += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 0;
    } else {
      req_fail(c, &st.e_io);
      return -1;
    }
  }
  return 0;
}

/* Puts request i (due at intended) on the free connection c. */
static void conn_start(conn *c, int64_t i, int64_t intended) {
  c->req = i;
  c->intended_ns = intended;
  c->wpos = 0;
  c->retried = 0;
  parser_reset(c);
  inflight++;
  if (c->state == C_DOWN && conn_open(c) != 0) {
    req_fail(c, &st.e_connect);
    return;
  }
  if (c->state == C_IDLE) {
    c->state = C_BUSY;
    conn_write(c);
  } /* C_CONNECTING: written when the connect completes */
}

/* The response on c is complete: counts it and frees the connection. */
static void req_done(conn *c, int64_t now) {
  if (measured(c->req)) {
    if (c->status >= 200 && c->status < 300) {
      if (cfg.stream && !(c->event_stream && c->done_seen)) {
        st.errors++;
        st.e_stream++;
      } else {
        st.ok++;
        hist_add(&st.lat, (uint64_t)(now - c->intended_ns) / 1000);
        hist_add(&st.ttfb, (uint64_t)((c->body_ns ? c->body_ns : now) - c->intended_ns) / 1000);
      }
    } else {
      st.non2xx++;
    }
  }
  c->reused = 1;
  if (c->close_after || c->len > 0)
    conn_close(c); /* bytes after the response: not ours, start afresh */
  else {
    c->state = C_IDLE;
    parser_reset(c);
  }
  conn_release(c);
}

/* Body bytes of the response: the first one's time, and (for --stream) a search for [DONE]. */
static void body_bytes(conn *c, const char *p, size_t n, int64_t now) {
  static const char done[] = "[DONE]";
  if (n == 0) return;
  if (!c->body_ns) c->body_ns = now;
  if (!cfg.stream || c->done_seen) return;
  for (size_t i = 0; i < n && !c->done_seen; i++) {
    if (p[i] == done[c->done_match])
      c->done_match++;
    else
      c->done_match = p[i] == done[0];
    if (c->done_match == (int)sizeof done - 1) c->done_seen = 1;
  }
}

/* Reads an unsigned decimal (Content-Length) or hex (chunk size) number; -1 if malformed. */
static int64_t parse_num(const char *s, const char *end, int base) {
  int64_t v = 0;
  const char *p = s;
  for (; p < end; p++) {
    int d;
    if (*p >= '0' && *p <= '9')
      d = *p - '0';
    else if (base == 16 && *p >= 'a' && *p <= 'f')
      d = *p - 'a' + 10;
    else if (base == 16 && *p >= 'A' && *p <= 'F')
      d = *p - 'A' + 10;
    else
      break;
    if (v > (INT64_MAX - d) / base) return -1;
    v = v * base + d;
  }
  if (p == s) return -1;
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  if (p < end && !(base == 16 && *p == ';')) return -1;
  return v;
}

static int header_is(const char *name, size_t nlen, const char *want) {
  return nlen == strlen(want) && strncasecmp(name, want, nlen) == 0;
}

static int value_has(const char *v, size_t vlen, const char *word) { /* case-insensitive substring */
  size_t w = strlen(word);
  for (size_t i = 0; i + w <= vlen; i++)
    if (strncasecmp(v + i, word, w) == 0) return 1;
  return 0;
}

/* One header line (without CRLF): status line first, then fields. -1 on a malformed one. */
static int parse_line(conn *c, char *line, size_t n) {
  if (c->pstate == P_STATUS) {
    if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ') return -1;
    for (int i = 9; i < 12; i++)
      if (line[i] < '0' || line[i] > '9') return -1;
    c->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    c->close_after = line[7] == '0'; /* HTTP/1.0: closes unless it says keep-alive */
    c->body_left = -1;
    c->pstate = P_HEADERS;
    return 0;
  }
  char *colon = memchr(line, ':', n);
  if (!colon || colon == line) return -1;
  size_t nlen = (size_t)(colon - line);
  char *v = colon + 1, *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
  size_t vlen = (size_t)(end - v);
  if (header_is(line, nlen, "content-length")) {
    int64_t len = parse_num(v, end, 10);
    if (len < 0 || (c->body_left >= 0 && c->body_left != len)) return -1;
    c->body_left = len;
  } else if (header_is(line, nlen, "transfer-encoding")) {
    if (vlen >= 7 && strncasecmp(end - 7, "chunked", 7) == 0)
      c->chunked = 1;
    else if (!header_is(v, vlen, "identity"))
      return -1; /* a coding we do not decode */
  } else if (header_is(line, nlen, "connection")) {
    if (value_has(v, vlen, "close"))
      c->close_after = 1;
    else if (value_has(v, vlen, "keep-alive"))
      c->close_after = 0;
  } else if (header_is(line, nlen, "content-type")) {
    c->event_stream = value_has(v, vlen, "text/event-stream");
  }
  return 0;
}

/* Runs the parser over c->buf. Returns 1 when the response is complete, 0 for more, -1 on a
 * protocol error. Consumed bytes are dropped from the buffer; a partial line stays. */
static int parse(conn *c, int64_t now) {
  size_t pos = 0;
  int rc = 0;
  while (pos < c->len && rc == 0) {
    char *p = c->buf + pos;
    size_t avail = c->len - pos;
    if (c->pstate == P_BODY_LEN || c->pstate == P_CHUNK_DATA) {
      size_t take = avail < (uint64_t)c->body_left ? avail : (size_t)c->body_left;
      body_bytes(c, p, take, now);
      pos += take;
      c->body_left -= (int64_t)take;
      if (c->body_left == 0) {
        if (c->pstate == P_BODY_LEN)
          c->pstate = P_DONE, rc = 1;
        else
          c->pstate = P_CHUNK_CRLF;
      }
      continue;
    }
    if (c->pstate == P_UNTIL_CLOSE) {
      body_bytes(c, p, avail, now);
      pos += avail;
      continue;
    }
    char *nl = memchr(p, '\n', avail);
    if (!nl) break;
    size_t n = (size_t)(nl - p);
    pos += n + 1;
    if (n > 0 && p[n - 1] == '\r') n--;
    switch (c->pstate) {
    case P_STATUS:
      if (n == 0) break; /* tolerate a stray CRLF before the status line */
      if (parse_line(c, p, n)) rc = -1;
      break;
    case P_HEADERS:
      if (n > 0) {
        if (parse_line(c, p, n)) rc = -1;
        break;
      }
      if (c->status >= 100 && c->status < 200) { /* an interim answer: the real one follows */
        parser_reset(c);
        c->got_bytes = 1;
        break;
      }
      if (c->status == 204 || c->status == 304) {
        c->pstate = P_DONE, rc = 1;
      } else if (c->chunked) {
        c->pstate = P_CHUNK_SIZE;
      } else if (c->body_left == 0) {
        c->pstate = P_DONE, rc = 1;
      } else if (c->body_left > 0) {
        c->pstate = P_BODY_LEN;
      } else {
        c->pstate = P_UNTIL_CLOSE;
        c->close_after = 1;
      }
      break;
    case P_CHUNK_SIZE: {
      int64_t sz = parse_num(p, p + n, 16);
      if (sz < 0)
        rc = -1;
      else if (sz == 0)
        c->pstate = P_TRAILER;
      else
        c->pstate = P_CHUNK_DATA, c->body_left = sz;
      break;
    }
    case P_CHUNK_CRLF:
      if (n != 0)
        rc = -1;
      else
        c->pstate = P_CHUNK_SIZE;
      break;
    case P_TRAILER:
      if (n == 0) c->pstate = P_DONE, rc = 1;
      break;
    default: rc = -1;
    }
  }
  if (rc == 0 && c->len - pos == CONN_BUF) rc = -1; /* a line longer than the buffer */
  memmove(c->buf, c->buf + pos, c->len - pos);
  c->len -= pos;
  return rc;
}

/* Everything epoll reported for c. */
static void conn_event(conn *c, uint32_t events) {
  if (c->state == C_CONNECTING) {
    int err = 0;
    socklen_t elen = sizeof err;
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
      if (c->req >= 0)
        req_fail(c, &st.e_connect);
      else
        conn_close(c);
      return;
    }
    if (c->req < 0) {
      c->state = C_IDLE;
      return;
    }
    c->state = C_BUSY;
    if (conn_write(c)) return;
  } else if (c->state == C_BUSY && (events & EPOLLOUT) && c->wpos < cfg.reqlen) {
    if (conn_write(c)) return;
  }
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))) return;
  for (;;) { /* edge-triggered: read until EAGAIN */
    if (c->state != C_BUSY && c->state != C_IDLE) return;
    ssize_t n = recv(c->fd, c->buf + c->len, CONN_BUF - c->len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (c->state != C_BUSY) { /* an idle keep-alive connection closed by the peer, or stray bytes */
      conn_close(c);
      return;
    }
    if (n <= 0) {
      if (n == 0 && c->pstate == P_UNTIL_CLOSE)
        req_done(c, mono_ns());
      else
        req_fail(c, &st.e_io);
      return;
    }
    c->len += (size_t)n;
    c->got_bytes = 1;
    int rc = parse(c, mono_ns());
    if (rc < 0) {
      req_fail(c, &st.e_parse);
      return;
    }
    if (rc > 0) {
      req_done(c, mono_ns());
      return;
    }
  }
}

/* --- set-up ------------------------------------------------------------------------------------ */
static void usage(void) {
  fprintf(stderr,
          "usage: gwload --url http://HOST:PORT/PATH --rate R --duration S [--connections N]\n"
          "              [--body-file F] [--header 'Name: value']... [--stream] [--warmup S] [--grace S]\n");
  exit(2);
}

static double num_arg(const char *name, const char *s, double lo, double hi) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) {
    fprintf(stderr, "gwload: --%s %s: not a number in [%g, %g]\n", name, s, lo, hi);
    exit(2);
  }
  return v;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *b = NULL;
  struct stat sb;
  if (!f || fstat(fileno(f), &sb) != 0 || sb.st_size > MAX_BODY) goto out;
  b = malloc((size_t)sb.st_size + 1);
  if (b && fread(b, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
    free(b);
    b = NULL;
  }
  if (b) *len = (size_t)sb.st_size;
out:
  if (f) fclose(f);
  return b;
}

/* Builds cfg.req and cfg.addr from the URL, headers and body; exits with a message on bad input. */
static void build_request(const char *url, char **hdrs, int nh, const char *body_file) {
  char host[256], port[16] = "80";
  const char *path, *h, *colon;
  size_t hl;
  if (strncmp(url, "http://", 7) != 0) {
    fprintf(stderr, "gwload: only http:// URLs\n");
    exit(2);
  }
  h = url + 7;
  path = strchr(h, '/');
  hl = path ? (size_t)(path - h) : strlen(h);
  if (!path) path = "/";
  colon = memchr(h, ':', hl);
  size_t namelen = colon ? (size_t)(colon - h) : hl;
  if (namelen == 0 || namelen >= sizeof host || (colon && (size_t)(h + hl - colon - 1) >= sizeof port)) {
    fprintf(stderr, "gwload: bad URL %s\n", url);
    exit(2);
  }
  memcpy(host, h, namelen);
  host[namelen] = 0;
  if (colon) {
    memcpy(port, colon + 1, (size_t)(h + hl - colon - 1));
    port[h + hl - colon - 1] = 0;
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
  int gai = getaddrinfo(host, port, &hints, &ai);
  if (gai != 0) {
    fprintf(stderr, "gwload: %s:%s: %s\n", host, port, gai_strerror(gai));
    exit(2);
  }
  memcpy(&cfg.addr, ai->ai_addr, ai->ai_addrlen);
  cfg.addrlen = ai->ai_addrlen;
  freeaddrinfo(ai);

  size_t blen = 0;
  char *body = NULL;
  if (body_file && !(body = read_file(body_file, &blen))) {
    fprintf(stderr, "gwload: cannot read %s (at most %d bytes)\n", body_file, MAX_BODY);
    exit(2);
  }
  int has_ct = 0, has_accept = 0;
  size_t cap = strlen(path) + hl + blen + 256;
  for (int i = 0; i < nh; i++) {
    cap += strlen(hdrs[i]) + 2;
    if (strncasecmp(hdrs[i], "content-type:", 13) == 0) has_ct = 1;
    if (strncasecmp(hdrs[i], "accept:", 7) == 0) has_accept = 1;
  }
  cfg.req = malloc(cap);
  if (!cfg.req) exit(1);
  int n = snprintf(cfg.req, cap, "%s %s HTTP/1.1\r\nHost: %.*s\r\n", body ? "POST" : "GET", path, (int)hl, h);
  for (int i = 0; i < nh; i++) n += snprintf(cfg.req + n, cap - (size_t)n, "%s\r\n", hdrs[i]);
  if (body && !has_ct) n += snprintf(cfg.req + n, cap - (size_t)n, "Content-Type: application/json\r\n");
  if (cfg.stream && !has_accept) n += snprintf(cfg.req + n, cap - (size_t)n, "Accept: text/event-stream\r\n");
  if (body) n += snprintf(cfg.req + n, cap - (size_t)n, "Content-Length: %zu\r\n", blen);
  n += snprintf(cfg.req + n, cap - (size_t)n, "\r\n");
  if (body) memcpy(cfg.req + n, body, blen);
  cfg.reqlen = (size_t)n + blen;
  free(body);
}

static void arm(int tfd, int64_t at_ns) {
  struct itimerspec its = {.it_value = {.tv_sec = at_ns / 1000000000, .tv_nsec = at_ns % 1000000000}};
  timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"url", required_argument, 0, 'u'},
                                       {"rate", required_argument, 0, 'r'},
                                       {"duration", required_argument, 0, 'd'},
                                       {"connections", required_argument, 0, 'c'},
                                       {"body-file", required_argument, 0, 'b'},
                                       {"header", required_argument, 0, 'H'},
                                       {"stream", no_argument, 0, 's'},
                                       {"warmup", required_argument, 0, 'w'},
                                       {"grace", required_argument, 0, 'g'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *url = NULL, *body_file = NULL;
  char *hdrs[MAX_HEADERS];
  int nh = 0, o;
  cfg.conns = 64;
  cfg.grace = 3;
  while ((o = getopt_long(argc, argv, "u:r:d:c:b:H:sw:g:h", opts, NULL)) != -1) {
    switch (o) {
    case 'u': url = optarg; break;
    case 'r': cfg.rate = num_arg("rate", optarg, 0.001, 1e7); break;
    case 'd': cfg.duration = num_arg("duration", optarg, 0.001, 86400); break;
    case 'c': cfg.conns = (int)num_arg("connections", optarg, 1, MAX_CONNS); break;
    case 'b': body_file = optarg; break;
    case 'H':
      if (nh == MAX_HEADERS || strchr(optarg, '\r') || strchr(optarg, '\n') || !strchr(optarg, ':')) {
        fprintf(stderr, "gwload: bad or too many --header (at most %d, 'Name: value')\n", MAX_HEADERS);
        return 2;
      }
      hdrs[nh++] = optarg;
      break;
    case 's': cfg.stream = 1; break;
    case 'w': cfg.warmup = num_arg("warmup", optarg, 0, 86400); break;
    case 'g': cfg.grace = num_arg("grace", optarg, 0, 3600); break;
    default: usage();
    }
  }
  if (!url || cfg.rate <= 0 || cfg.duration <= 0 || optind != argc) usage();
  build_request(url, hdrs, nh, body_file);
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* timers fire within ~1 µs, not the default 50 µs */

  conns = calloc((size_t)cfg.conns, sizeof *conns);
  freelist = calloc((size_t)cfg.conns, sizeof *freelist);
  ep = epoll_create1(EPOLL_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  static int timer_tag;
  struct epoll_event tev = {.events = EPOLLIN, .data.ptr = &timer_tag};
  if (!conns || !freelist || ep < 0 || tfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev) != 0) {
    perror("gwload: set-up");
    return 1;
  }

  /* open every connection first (up to 1 s), so that connects are not in the schedule */
  int64_t t = mono_ns();
  for (int i = 0; i < cfg.conns; i++) {
    conn *c = &conns[i];
    c->fd = -1;
    c->req = -1;
    conn_close(c);
    conn_open(c);
    freelist[nfree++] = c;
  }
  struct epoll_event evs[512];
  for (;;) {
    int connecting = 0;
    for (int i = 0; i < cfg.conns; i++) connecting += conns[i].state == C_CONNECTING;
    if (!connecting || mono_ns() - t > 1000000000) break;
    int n = epoll_wait(ep, evs, 512, 50);
    for (int i = 0; i < n; i++)
      if (evs[i].data.ptr != &timer_tag) conn_event(evs[i].data.ptr, evs[i].events);
  }

  const double period = 1e9 / cfg.rate;
  const int64_t total = (int64_t)llround((cfg.warmup + cfg.duration) * cfg.rate);
  win_first = (int64_t)ceil(cfg.warmup * cfg.rate - 1e-9);
  const int64_t t0 = mono_ns() + 1000000;
  const int64_t deadline = t0 + (int64_t)((cfg.warmup + cfg.duration + cfg.grace) * 1e9);
  int64_t next = 0, armed = -1;
#define DUE(i) (t0 + (int64_t)((double)(i)*period))

  for (;;) {
    int64_t now = mono_ns();
    while (next < total && nfree > 0 && DUE(next) <= now) {
      if (measured(next)) {
        st.sent++;
        st.last_send_ns = now;
      }
      conn_start(freelist[--nfree], next, DUE(next));
      next++;
    }
    if (next >= total && inflight == 0) break;
    if (now >= deadline) break;
    int64_t wake = deadline;
    if (next < total && nfree > 0 && DUE(next) < wake) wake = DUE(next);
    if (wake != armed) {
      arm(tfd, wake);
      armed = wake;
    }
    int n = epoll_wait(ep, evs, 512, 1000);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == &timer_tag) {
        uint64_t x;
        ssize_t r = read(tfd, &x, sizeof x); /* drain; EAGAIN when already drained */
        (void)r;
        armed = -1;
      } else {
        conn_event(evs[i].data.ptr, evs[i].events);
      }
    }
  }

  /* at the deadline: what is in flight timed out; what was due and not sent is unsent */
  for (int i = 0; i < cfg.conns; i++) {
    if (conns[i].req >= 0 && measured(conns[i].req)) st.errors++, st.timeouts++;
    if (conns[i].fd >= 0) close(conns[i].fd);
  }
  for (int64_t i = next; i < total; i++)
    if (measured(i)) st.unsent++;

  double window = cfg.duration;
  if (st.sent > 0) {
    /* the last one is due 1/rate before the end: a send later than that by less stays on schedule */
    double span = (double)(st.last_send_ns - DUE(win_first)) / 1e9;
    if (span > window) window = span;
  }
  if (st.errors)
    fprintf(stderr,
            "gwload: errors: connect %llu, read/write %llu, protocol %llu, stream without [DONE] %llu, timeouts %llu\n",
            (unsigned long long)st.e_connect, (unsigned long long)st.e_io, (unsigned long long)st.e_parse,
            (unsigned long long)st.e_stream, (unsigned long long)st.timeouts);
  printf(
      "{\"rate_target\":%g,\"rate_achieved\":%.1f,\"duration_s\":%g,\"connections\":%d,\"stream\":%s,"
      "\"sent\":%llu,\"ok\":%llu,\"non2xx\":%llu,\"errors\":%llu,\"timeouts\":%llu,\"unsent\":%llu,"
      "\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,\"p999_us\":%llu,\"max_us\":%llu,"
      "\"ttfb_p50_us\":%llu,\"ttfb_p99_us\":%llu}\n",
      cfg.rate, (double)st.sent / window, cfg.duration, cfg.conns, cfg.stream ? "true" : "false",
      (unsigned long long)st.sent, (unsigned long long)st.ok, (unsigned long long)st.non2xx,
      (unsigned long long)st.errors, (unsigned long long)st.timeouts, (unsigned long long)st.unsent,
      (unsigned long long)hist_quantile(&st.lat, 0.50), (unsigned long long)hist_quantile(&st.lat, 0.90),
      (unsigned long long)hist_quantile(&st.lat, 0.99), (unsigned long long)hist_quantile(&st.lat, 0.999),
      (unsigned long long)hist_quantile(&st.lat, 1.0), (unsigned long long)hist_quantile(&st.ttfb, 0.50),
      (unsigned long long)hist_quantile(&st.ttfb, 0.99));
  return 0;
}

/* inproc.c — starts the server in-process as `switchyard serve` does, and speaks HTTP/1.1 to it. */
#define _GNU_SOURCE 1 /* memmem, strcasestr */
#include "inproc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/sigv4.h"
#include "server/http.h"
#include "server/serve.h"

#define REPLY_MAX (64u << 20) /* a reply larger than this is a finding */
#define ANSWER_SECONDS 10

static sy_server srv;
static int port, sock = -1;
static char dir[4096];

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "inproc: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

static void remove_dir(void) {
  if (dir[0]) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Queues op to the store and waits; aborts when it is refused. */
static void submit(sy_op *op) {
  sy_rc rc = sy__store_submit_wait(srv.store, op);
  if (rc) die("store op %d: %s: %s", (int)op->kind, sy_strerror(rc), op->msg);
  sy__op_clear(op);
}

void inproc_start(const char *name) {
  char msg[SY_MSG_MAX] = "";
  const char *base = getenv("SY_FUZZ_TMPDIR");
  struct stat st;
  if (!base || !*base) base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  snprintf(dir, sizeof dir, "%s/sy-fuzz-%s-XXXXXX", base, name);
  if (!mkdtemp(dir)) die("mkdtemp %s: %s", dir, strerror(errno));
  atexit(remove_dir);
  signal(SIGPIPE, SIG_IGN);
  unsetenv("SWITCHYARD_MASTER_KEY_FILE"); /* the store makes its own key in dir */

  srv.clock = sy__clock_system();
  srv.started_ms = sy__clock_now(srv.clock);
  snprintf(srv.aws_region, sizeof srv.aws_region, "%s", INPROC_REGION);
  snprintf(srv.aws_account, sizeof srv.aws_account, "000000000000");
  const char *al = getenv("SWITCHYARD_ACCESS_LOG"); /* =1: a log line per request, to read a reproducer */
  srv.access_log = al && *al == '1';
  /* the defaults of `switchyard serve`, but for shorter header and body timeouts:
   * libmicrohttpd 0.9.75 now and then misses the end of a stream that arrives with an
   * unfinished request head, and then only the guard's header timeout ends the connection
   * (fuzz_http sends such inputs all the time) */
  srv.limits = (sy_guard_cfg){
      .header_timeout_ms = 2000, .body_timeout_ms = 2000, .idle_timeout_ms = 60000, .max_conns_per_ip = 16384};
  srv.import_max = (size_t)256 << 20;
  if (sy__server_open(&srv, dir, 15000, msg, sizeof msg)) die("server open %s: %s", dir, msg);

  char hash[SY_HASH_HEX];
  sy__sha256_hex(INPROC_TOKEN, strlen(INPROC_TOKEN), hash);
  sy_op tok = {.kind = SY_OP_TOKEN_CREATE,
               .actor = "system",
               .reason = "fuzz",
               .token_name = "admin",
               .token_hash = hash,
               .scopes = SY_SCOPE_ADMIN | SY_SCOPE_DECRYPT};
  submit(&tok);
  sy_op key = {.kind = SY_OP_KEY_CREATE,
               .actor = "system",
               .reason = "fuzz",
               .token_name = "fuzz-key",
               .key_id = INPROC_AKID,
               .key_secret = INPROC_SECRET,
               .scopes = SY_SCOPE_ADMIN | SY_SCOPE_DECRYPT};
  submit(&key);
  if (sy__http_start(&srv, "127.0.0.1", 0, 1, &port, msg, sizeof msg)) die("http start: %s", msg);
}

/* ---- the client ---- */

/* A connect a signal interrupted (libFuzzer's timers) goes on in the background: that socket is
 * dropped and a new one tried, a few times. */
static int connect_server(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int tries = 0;; tries++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket: %s", strerror(errno));
    struct timeval tv = {.tv_sec = ANSWER_SECONDS};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!connect(fd, (struct sockaddr *)&sa, sizeof sa)) return fd;
    int err = errno;
    close(fd);
    if (err != EINTR || tries == 10) die("connect 127.0.0.1:%d: %s", port, strerror(err));
  }
}

static void drop_connection(void) {
  if (sock >= 0) close(sock);
  sock = -1;
}

/* Writes all of p; -1 when the peer is gone. */
static int send_all(const char *p, size_t n) {
  while (n) {
    ssize_t w = send(sock, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* A growing receive buffer over the socket. */
typedef struct rbuf {
  char *p;
  size_t len, cap, pos;
} rbuf;

/* Reads more bytes; 0 on success, -1 at EOF (or reset) with nothing read, aborts on a timeout. */
static int fill(rbuf *b) {
  if (b->len == b->cap) {
    if (b->cap >= REPLY_MAX) die("reply larger than %u bytes", REPLY_MAX);
    b->cap = b->cap ? b->cap * 2 : 16384;
    b->p = realloc(b->p, b->cap + 1);
    if (!b->p) die("out of memory");
  }
  for (;;) {
    ssize_t r = recv(sock, b->p + b->len, b->cap - b->len, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) die("no reply within %d s", ANSWER_SECONDS);
    if (r <= 0) return -1;
    b->len += (size_t)r;
    b->p[b->len] = 0;
    return 0;
  }
}

/* Finds the end of the header block at or after b->pos, reading as needed; NULL at EOF. */
static char *header_end(rbuf *b) {
  for (;;) {
    char *e = b->len > b->pos ? memmem(b->p + b->pos, b->len - b->pos, "\r\n\r\n", 4) : NULL;
    if (e) return e;
    if (fill(b)) return NULL;
  }
}

/* The value of header name in the block [h, e), or NULL. */
static const char *find_header(const char *h, const char *e, const char *name) {
  size_t n = strlen(name);
  for (const char *l = h; l && l < e;) {
    const char *nl = memmem(l, (size_t)(e - l), "\r\n", 2);
    if (!strncasecmp(l, name, n) && l[n] == ':') return l + n + 1;
    l = nl ? nl + 2 : NULL;
  }
  return NULL;
}

/* Reads one reply (skipping 1xx); returns the status, or -1 when the connection closed
 * before any of it arrived. *close_after is set when the server will close. */
static int read_reply(int head, int *close_after) {
  rbuf b = {0};
  int status = -1;
  for (;;) {
    char *e = header_end(&b);
    if (!e) {
      if (b.len) die("reply cut short in its headers");
      break;
    }
    const char *h = b.p + b.pos;
    int minor = 0;
    if (sscanf(h, "HTTP/1.%d %d", &minor, &status) != 2 || status < 100 || status > 599)
      die("not an HTTP status line: %.80s", h);
    size_t body_at = (size_t)(e + 4 - b.p);
    if (status < 200) { /* 100 Continue and the like: the real reply follows */
      b.pos = body_at;
      continue;
    }
    const char *conn = find_header(h, e, "Connection");
    *close_after = conn && strcasestr(conn, "close") != NULL;
    const char *cl = find_header(h, e, "Content-Length"), *te = find_header(h, e, "Transfer-Encoding");
    if (head || status == 204 || status == 304) break;
    if (te && strcasestr(te, "chunked")) {
      size_t at = body_at;
      for (;;) { /* chunk-size line, chunk, CRLF; a zero chunk, trailers, CRLF */
        char *crlf;
        while (!(crlf = memmem(b.p + at, b.len - at, "\r\n", 2)))
          if (fill(&b)) die("chunked reply cut short");
        char *end = NULL;
        unsigned long long n = strtoull(b.p + at, &end, 16);
        if (end == b.p + at || n > REPLY_MAX) die("bad chunk size");
        at = (size_t)(crlf + 2 - b.p);
        if (n == 0) {
          while (!memmem(b.p + at - 2, b.len - at + 2, "\r\n\r\n", 4))
            if (fill(&b)) die("chunked reply cut short in its trailer");
          break;
        }
        while (b.len < at + n + 2)
          if (fill(&b)) die("chunked reply cut short");
        at += (size_t)n + 2;
      }
    } else if (cl) {
      char *end = NULL;
      unsigned long long n = strtoull(cl, &end, 10);
      if (end == cl || n > REPLY_MAX) die("bad Content-Length %.40s", cl);
      while (b.len < body_at + n)
        if (fill(&b)) die("reply cut short: %zu of %llu body bytes", b.len - body_at, n);
    } else {
      while (!fill(&b)) {
      } /* the body runs to the close */
      *close_after = 1;
    }
    break;
  }
  free(b.p);
  return status;
}

/* Waits (a second at most) until the server has finished with every request: its
 * completion callback runs after the reply is sent, and its work belongs to this input,
 * not to the next one's coverage. */
static void settle(void) {
  for (int i = 0; i < 100000 && __atomic_load_n(&srv.active_reqs, __ATOMIC_ACQUIRE) > 0; i++) {
    struct timespec ts = {0, 10000};
    nanosleep(&ts, NULL);
  }
}

int inproc_request(const char *method, const char *target, const char *const *headers, const void *body, size_t len) {
  size_t cap = 1024 + strlen(target);
  for (const char *const *h = headers; h && *h; h++) cap += strlen(*h) + 2;
  char *head = malloc(cap);
  if (!head) die("out of memory");
  int n =
      snprintf(head, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %zu\r\n", method, target, port, len);
  for (const char *const *h = headers; h && *h; h++) n += snprintf(head + n, cap - (size_t)n, "%s\r\n", *h);
  n += snprintf(head + n, cap - (size_t)n, "\r\n");
  int status = -1;
  for (int attempt = 0; attempt < 2 && status < 0; attempt++) {
    /* a kept-alive connection the server has closed fails on the first send or read: once more on a new one */
    if (sock < 0) sock = connect_server();
    int close_after = 0;
    if (send_all(head, (size_t)n) == 0 && send_all(body, len) == 0)
      status = read_reply(!strcmp(method, "HEAD"), &close_after);
    if (status < 0 || close_after) drop_connection();
  }
  free(head);
  if (status < 0) die("the server closed the connection without a reply to %s %.200s", method, target);
  settle();
  return status;
}

int inproc_bearer(const char *method, const char *target, const void *body, size_t len) {
  const char *const h[] = {"Authorization: Bearer " INPROC_TOKEN, "Content-Type: application/json", NULL};
  return inproc_request(method, target, h, body, len);
}

int inproc_ssm(const char *target, const void *body, size_t len) {
  char date[SY_SIGV4_DATE_LEN + 1], host[64], amz_target[160], authz[1024];
  if (sy__sigv4_format_date((int64_t)time(NULL), date)) die("clock out of range");
  snprintf(host, sizeof host, "127.0.0.1:%d", port);
  snprintf(amz_target, sizeof amz_target, "%s", target);
  const sy_sigv4_header sh[] = {{"Host", host},
                                {"Content-Type", "application/x-amz-json-1.1"},
                                {"X-Amz-Target", amz_target},
                                {"X-Amz-Date", date}};
  sy_sigv4_sign_in in = {.http = {.method = "POST",
                                  .path = "/",
                                  .query = "",
                                  .headers = sh,
                                  .n_headers = sizeof sh / sizeof sh[0],
                                  .body = body,
                                  .body_len = len},
                         .access_key_id = INPROC_AKID,
                         .secret = INPROC_SECRET,
                         .region = INPROC_REGION,
                         .service = "ssm",
                         .signed_headers = "content-type;host;x-amz-date;x-amz-target"};
  sy_rc rc = sy__sigv4_sign(&in, authz, sizeof authz);
  if (rc) die("sign: %s", sy_strerror(rc));
  char h_target[200], h_date[64], h_authz[1100];
  snprintf(h_target, sizeof h_target, "X-Amz-Target: %s", amz_target);
  snprintf(h_date, sizeof h_date, "X-Amz-Date: %s", date);
  snprintf(h_authz, sizeof h_authz, "Authorization: %s", authz);
  const char *const h[] = {"Content-Type: application/x-amz-json-1.1", h_target, h_date, h_authz, NULL};
  return inproc_request("POST", "/", h, body, len);
}

int inproc_raw(const void *bytes, size_t len, int *status) {
  int fd = connect_server();
  const char *p = bytes;
  size_t off = 0;
  *status = 0;
  while (off < len) {
    ssize_t n = send(fd, p + off, len - off, MSG_NOSIGNAL);
    if (n <= 0) break; /* the server may close on a bad request before it has all of it */
    off += (size_t)n;
  }
  shutdown(fd, SHUT_WR);
  char buf[4096], head[16];
  size_t got = 0;
  int rc = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) break;
    if (n < 0) {
      /* nothing at all in the 10 s is a finding; a pause after a reply is not: libmicrohttpd
       * may miss the end of a stream that came with pipelined requests until its idle timeout */
      rc = got == 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : 0;
      break;
    }
    if (!got) { /* answered: from now on a short quiet ends the wait */
      struct timeval quiet = {.tv_usec = 300000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &quiet, sizeof quiet);
    }
    for (ssize_t i = 0; i < n && got < sizeof head - 1; i++) head[got++] = buf[i];
  }
  head[got] = 0;
  if (got >= 12 && !memcmp(head, "HTTP/1.1 ", 9)) *status = (int)strtol(head + 9, NULL, 10);
  close(fd);
  return rc;
}

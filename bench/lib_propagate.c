/* lib_propagate.c — bench_lib_propagate: how long one write takes to reach N clients of
 * libswitchyard, and what a client costs in memory (public API only).
 *
 *   bench_lib_propagate [--clients N] [--procs P] [--name NAME] [--deadline-s S]
 *
 * SWITCHYARD_URL (http://host:port) and SWITCHYARD_TOKEN (a token that may write NAME: the
 * PUTs are this program's own, over a plain socket) name the server. NAME defaults to
 * /bench/prop/x. N (default 1000) clients in event-loop mode (sy_options_set_threaded(o, 0)),
 * each following the prefix NAME, are split over P worker processes (default 2, to use both
 * cores); each worker polls all of its clients' descriptors (sy_client_fd) with one epoll loop
 * and calls sy_client_step when a descriptor is readable or the timeout the client's last step
 * returned has passed.
 *
 *   1. The parent writes NAME = v0-<pid> and forks the workers.
 *   2. Each worker reads VmRSS, makes its clients, runs its loop until every client is
 *      SY_STATE_SYNCED and holds v0, reads VmRSS again and its open descriptors, and reports.
 *   3. The parent takes CLOCK_MONOTONIC t0 just before it connects for the PUT of NAME = v1-…,
 *      sends it, and tells the workers. A client's delay is the CLOCK_MONOTONIC time at which
 *      its change callback first sees v1 in the client's snapshot, minus t0 (the clock is the
 *      same in every process of the machine).
 *   4. p50 / p99 / max of the delays over the clients, and how many got v1 within S seconds
 *      (default 10; must be all); memory per client = Σ (VmRSS after − before) / N.
 *
 * Human lines go to stderr, one JSON object to stdout; exit 1 when not every client synced or
 * got the change, 2 for a usage error. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <switchyard.h>

#define MAXP 16
#define NEVER INT64_MAX

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long vmrss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  while (d && readdir(d)) n++;
  if (d) closedir(d);
  return n - 3; /* ".", "..", and the directory's own descriptor */
}

/* ---- the PUT, by hand: one HTTP/1.1 request on a fresh connection ---------------------------------- */

static char host[256] = "127.0.0.1", port[16] = "8000";
static const char *token = "";

static int parse_url(const char *url) {
  if (strncmp(url, "http://", 7) != 0) return -1;
  const char *h = url + 7, *end = h + strcspn(h, "/"), *colon = memchr(h, ':', (size_t)(end - h));
  size_t hl = (size_t)((colon ? colon : end) - h);
  if (hl == 0 || hl >= sizeof host) return -1;
  memcpy(host, h, hl);
  host[hl] = 0;
  if (colon) {
    size_t pl = (size_t)(end - colon - 1);
    if (pl == 0 || pl >= sizeof port) return -1;
    memcpy(port, colon + 1, pl);
    port[pl] = 0;
  } else {
    strcpy(port, "80");
  }
  return 0;
}

/* PUT /api/v1/params<name> {"value":value,"type":"String","overwrite":true}: the HTTP status, or -1. */
static int put_value(const char *name, const char *value) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
  if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) return -1;
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    freeaddrinfo(ai);
    if (fd >= 0) close(fd);
    return -1;
  }
  freeaddrinfo(ai);
  char body[512], req[2048];
  int bl = snprintf(body, sizeof body, "{\"value\":\"%s\",\"type\":\"String\",\"overwrite\":true}", value);
  int rl = snprintf(req, sizeof req,
                    "PUT /api/v1/params%s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                    name, host, port, token, bl, body);
  if (rl <= 0 || rl >= (int)sizeof req) {
    close(fd);
    return -1;
  }
  for (int off = 0; off < rl;) {
    ssize_t n = write(fd, req + off, (size_t)(rl - off));
    if (n <= 0) {
      close(fd);
      return -1;
    }
    off += (int)n;
  }
  char resp[64] = {0};
  size_t got = 0;
  while (got < 12) { /* "HTTP/1.1 200" */
    ssize_t n = read(fd, resp + got, sizeof resp - 1 - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  int status = -1;
  if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) return -1;
  return status;
}

/* ---- a worker: its clients, one epoll loop --------------------------------------------------------- */

typedef struct cl {
  sy_client *c;
  int64_t due; /* when its step is due without an event (NEVER: only on an event) */
  int64_t got; /* when its change callback first saw the new value (0: not yet) */
  int synced;
} cl;

static const char *g_name, *g_v0, *g_v1;

static int holds(sy_client *c, const char *value) {
  sy_snapshot *s = sy_snapshot_acquire(c);
  sy_value v;
  int ok = sy_snapshot_get(s, g_name, &v) == SY_OK && strcmp(v.value, value) == 0;
  sy_snapshot_release(s);
  return ok;
}

static void on_change(void *ud, const sy_change *ch) {
  cl *k = ud;
  if (k->got || !k->c || strcmp(ch->name, g_name) != 0 || strcmp(ch->action, "put") != 0) return;
  if (holds(k->c, g_v1)) k->got = mono_ns();
}

static void step(cl *k, int64_t now) {
  int next = -1;
  sy_client_step(k->c, &next);
  k->due = next < 0 ? NEVER : now + (int64_t)next * 1000000;
}

static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int fd, const char *fmt, ...) {
  char b[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  if (n > 0) (void)!write(fd, b, (size_t)n < sizeof b ? (size_t)n : sizeof b - 1);
}

static int worker(int n, int ctl, int res, int deadline_s) {
  /* a first client made and freed: the libraries' one-time set-up is not counted per client */
  sy_options *o = NULL;
  sy_client *warm = NULL;
  if (sy_options_new(&o) != SY_OK || sy_options_set_threaded(o, 0) != SY_OK ||
      sy_options_add_prefix(o, g_name) != SY_OK || sy_client_new(o, &warm) != SY_OK) {
    say(res, "FAIL cannot make a client\n");
    return 1;
  }
  sy_client_free(warm);
  cl *k = calloc((size_t)n, sizeof *k);
  struct epoll_event *evs = calloc((size_t)n + 1, sizeof *evs);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (!k || !evs || ep < 0) {
    say(res, "FAIL out of memory\n");
    return 1;
  }
  long rss0 = vmrss_kb();
  int fds0 = open_fds();
  int64_t t_start = mono_ns();
  for (int i = 0; i < n; i++) {
    sy_rc rc = sy_options_set_on_change(o, on_change, &k[i]);
    if (rc == SY_OK) rc = sy_client_new(o, &k[i].c);
    if (rc != SY_OK) {
      say(res, "FAIL client %d: %s\n", i, sy_strerror(rc));
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sy_client_fd(k[i].c), &ev) != 0) {
      say(res, "FAIL epoll_ctl for client %d: %s\n", i, strerror(errno));
      return 1;
    }
    k[i].due = mono_ns();
  }
  sy_options_free(o);
  struct epoll_event cev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(ep, EPOLL_CTL_ADD, ctl, &cev);

  enum { SYNCING, WAITING, RECEIVING } phase = SYNCING;
  int synced = 0, received = 0;
  int64_t limit = t_start + (int64_t)60 * 1000000000; /* to sync */
  for (;;) {
    int64_t now = mono_ns(), due = NEVER;
    for (int i = 0; i < n; i++) due = k[i].due < due ? k[i].due : due;
    int timeout = due == NEVER ? 200 : due <= now ? 0 : (int)((due - now) / 1000000 + 1);
    if (timeout > 200) timeout = 200;
    int ne = epoll_wait(ep, evs, n + 1, timeout);
    now = mono_ns();
    for (int e = 0; e < ne; e++) {
      uint32_t i = evs[e].data.u32;
      if (i == UINT32_MAX) {
        char cmd[16];
        ssize_t r = read(ctl, cmd, sizeof cmd);
        if (r <= 0) return 1; /* the parent is gone */
        if (phase == WAITING) {
          phase = RECEIVING;
          limit = now + (int64_t)deadline_s * 1000000000;
        }
        continue;
      }
      step(&k[i], now);
    }
    for (int i = 0; i < n; i++)
      if (k[i].due <= now) step(&k[i], now);
    if (phase == SYNCING) {
      for (int i = 0; i < n; i++) {
        if (k[i].synced) continue;
        sy_state st;
        if (sy_client_state(k[i].c, &st) == SY_OK && st.state == SY_STATE_SYNCED && holds(k[i].c, g_v0)) {
          k[i].synced = 1;
          synced++;
        }
      }
      if (synced == n || now > limit) {
        long rss1 = vmrss_kb();
        say(res, "READY %d %ld %ld %d %d %.1f\n", synced, rss0, rss1, fds0, open_fds(), (double)(now - t_start) / 1e6);
        if (synced < n) return 1;
        phase = WAITING;
      }
    } else if (phase == RECEIVING) {
      received = 0;
      for (int i = 0; i < n; i++) received += k[i].got != 0;
      if (received == n || now > limit) break;
    }
  }
  for (int i = 0; i < n; i++) say(res, "T %lld\n", (long long)(k[i].got ? k[i].got : -1));
  say(res, "END\n");
  for (int i = 0; i < n; i++) sy_client_free(k[i].c);
  free(k);
  free(evs);
  close(ep);
  return 0;
}

/* ---- the parent -------------------------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Reads one line from fd into buf (up to cap-1 bytes) within deadline (mono ns); 0 on success. */
static int read_line(int fd, char *buf, size_t cap, int64_t deadline) {
  size_t n = 0;
  while (n + 1 < cap) {
    int64_t left = (deadline - mono_ns()) / 1000000;
    if (left <= 0) return -1;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0) continue;
    ssize_t r = read(fd, buf + n, 1);
    if (r <= 0) return -1;
    if (buf[n] == '\n') {
      buf[n] = 0;
      return 0;
    }
    n++;
  }
  return -1;
}

int main(int argc, char **argv) {
  int n = 1000, procs = 2, deadline_s = 10;
  g_name = "/bench/prop/x";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--clients") && i + 1 < argc)
      n = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--procs") && i + 1 < argc)
      procs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--name") && i + 1 < argc)
      g_name = argv[++i];
    else if (!strcmp(argv[i], "--deadline-s") && i + 1 < argc)
      deadline_s = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_lib_propagate [--clients N] [--procs P] [--name NAME] [--deadline-s S]\n");
      return 2;
    }
  }
  if (n < 1 || procs < 1 || procs > MAXP || procs > n || deadline_s < 1 || g_name[0] != '/') return 2;
  const char *url = getenv("SWITCHYARD_URL") ? getenv("SWITCHYARD_URL") : "http://127.0.0.1:8000";
  token = getenv("SWITCHYARD_TOKEN") ? getenv("SWITCHYARD_TOKEN") : "";
  if (parse_url(url) != 0) {
    fprintf(stderr, "bench_lib_propagate: SWITCHYARD_URL %s: only http://host[:port] here\n", url);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  /* N clients hold one epoll descriptor and one or two sockets each */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);

  static char v0[64], v1[64];
  snprintf(v0, sizeof v0, "v0-%d", (int)getpid());
  snprintf(v1, sizeof v1, "v1-%d-%lld", (int)getpid(), (long long)(mono_ns() % 1000000007));
  g_v0 = v0;
  g_v1 = v1;
  int st = put_value(g_name, v0);
  if (st != 200) {
    fprintf(stderr, "bench_lib_propagate: PUT %s answered %d (-1: no answer)\n", g_name, st);
    return 1;
  }
  fprintf(stderr, "bench_lib_propagate: libswitchyard %s, %d clients in %d processes on %s:%s, %s; fd limit %lu\n",
          sy_version(), n, procs, host, port, g_name, (unsigned long)rl.rlim_cur);

  pid_t pids[MAXP];
  int ctl[MAXP], res[MAXP], per[MAXP];
  for (int p = 0; p < procs; p++) {
    per[p] = n / procs + (p < n % procs);
    int a[2], b[2];
    if (pipe2(a, O_CLOEXEC) != 0 || pipe2(b, O_CLOEXEC) != 0) return 1;
    pids[p] = fork();
    if (pids[p] < 0) return 1;
    if (pids[p] == 0) {
      close(a[1]);
      close(b[0]);
      for (int q = 0; q < p; q++) { /* the earlier workers' pipes: theirs and the parent's only */
        close(ctl[q]);
        close(res[q]);
      }
      _exit(worker(per[p], a[0], b[1], deadline_s));
    }
    close(a[0]);
    close(b[1]);
    ctl[p] = a[1];
    res[p] = b[0];
  }

  int ok = 1, synced = 0, fds_before = 0, fds_after = 0;
  long rss_before = 0, rss_after = 0;
  double sync_ms = 0;
  char line[512];
  for (int p = 0; p < procs; p++) {
    int s, f0, f1;
    long r0, r1;
    double ms;
    if (read_line(res[p], line, sizeof line, mono_ns() + (int64_t)90 * 1000000000) != 0 ||
        sscanf(line, "READY %d %ld %ld %d %d %lf", &s, &r0, &r1, &f0, &f1, &ms) != 6) {
      fprintf(stderr, "bench_lib_propagate: worker %d: %s\n", p, line[0] ? line : "no report in 90 s");
      ok = 0;
      continue;
    }
    synced += s;
    rss_before += r0;
    rss_after += r1;
    fds_before += f0;
    fds_after += f1;
    sync_ms = ms > sync_ms ? ms : sync_ms;
  }
  int64_t *delay = calloc((size_t)n, sizeof *delay);
  int received = 0, got = 0;
  int64_t t0 = 0, t_put = 0;
  if (ok && synced == n) {
    fprintf(stderr,
            "bench_lib_propagate: %d clients synced in %.0f ms; RSS %ld -> %ld kB (%.1f kB per client), %d fds per "
            "client\n",
            n, sync_ms, rss_before, rss_after, (double)(rss_after - rss_before) / n, (fds_after - fds_before) / n);
    t0 = mono_ns();
    st = put_value(g_name, v1);
    t_put = mono_ns() - t0;
    if (st != 200) {
      fprintf(stderr, "bench_lib_propagate: PUT %s answered %d\n", g_name, st);
      ok = 0;
    }
    for (int p = 0; p < procs; p++) (void)!write(ctl[p], "G", 1);
    for (int p = 0; p < procs; p++) {
      int64_t until = mono_ns() + (int64_t)(deadline_s + 30) * 1000000000;
      for (;;) {
        long long t;
        if (read_line(res[p], line, sizeof line, until) != 0) {
          ok = 0;
          break;
        }
        if (!strcmp(line, "END")) break;
        if (sscanf(line, "T %lld", &t) == 1 && got < n) {
          if (t > 0) delay[received++] = (int64_t)t - t0;
          got++;
        }
      }
    }
  } else {
    ok = 0;
  }
  for (int p = 0; p < procs; p++) {
    close(ctl[p]);
    int ws;
    int64_t until = mono_ns() + (int64_t)30 * 1000000000;
    while (waitpid(pids[p], &ws, WNOHANG) == 0) {
      if (mono_ns() > until) {
        kill(pids[p], SIGKILL);
        waitpid(pids[p], &ws, 0);
        break;
      }
      usleep(10000);
    }
    close(res[p]);
  }
  qsort(delay, (size_t)received, sizeof *delay, cmp_i64);
  double p50 = received ? delay[(received - 1) * 50 / 100] / 1e6 : -1;
  double p99 = received ? delay[(received - 1) * 99 / 100] / 1e6 : -1;
  double mx = received ? delay[received - 1] / 1e6 : -1;
  double per_client = synced ? (double)(rss_after - rss_before) / synced : -1;
  if (received != n) ok = 0;
  fprintf(stderr,
          "bench_lib_propagate: one PUT (%.1f ms to its 200) reached %d/%d clients: delay p50 %.1f ms, p99 %.1f ms, "
          "max %.1f ms\n",
          t_put / 1e6, received, n, p50, p99, mx);
  fprintf(stderr,
          "  for comparison, the polling intervals of peers (not run): runbook 004's SSM cache 60 s (a change may take "
          "up to 60 s),\n"
          "  AWS AppConfig agent 45 s, Unleash SDKs 15 s\n");
  printf(
      "{\"version\":\"%s\",\"clients\":%d,\"procs\":%d,\"synced\":%d,\"sync_ms\":%.1f,\"received\":%d,"
      "\"put_ms\":%.2f,\"delay_ms\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f},"
      "\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,\"rss_per_client_kb\":%.1f,\"fds_per_client\":%.2f,"
      "\"peers_poll_s\":{\"runbook004_ssm_cache\":60,\"aws_appconfig_agent\":45,\"unleash_sdk\":15},\"ok\":%s}\n",
      sy_version(), n, procs, synced, sync_ms, received, t_put / 1e6, p50, p99, mx, rss_before, rss_after, per_client,
      synced ? (double)(fds_after - fds_before) / synced : -1.0, ok ? "true" : "false");
  free(delay);
  return ok ? 0 : 1;
}

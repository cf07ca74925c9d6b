/* guard.c — deadlines for slow requests and a per-address connection cap.
 *
 * libmicrohttpd 0.9.75 has one inactivity timeout per connection, which every
 * received byte resets: a client that sends one header byte every 200 ms, or a
 * body that stalls after announcing 100 MB, holds a connection (and its memory)
 * for ever. The guard keeps its own record of every connection (made and
 * dropped by MHD's connection notifications), with a deadline set by the phase
 * the request is in, and a thread that ends connections past their deadline:
 * it writes a 408 and shuts the socket down, which makes MHD close it. The
 * record is removed in MHD's "closed" notification, which MHD sends before it
 * closes the socket, so the guard never touches a descriptor MHD has reused. */
#include "server/guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h" /* sy__log_stderr */

#define IP_BUCKETS 4096
#define LINGER_MAX 256       /* sockets drained at once; past that a refused connection just closes */
#define LINGER_IDLE_MS 2000  /* a lingering socket closes when the client sends nothing this long */
#define LINGER_TOTAL_MS 5000 /* ... and in any case after this long */

typedef struct drain_slot {
  int fd;
  int64_t since_ms, last_ms;
} drain_slot;

typedef struct ip_slot {
  struct ip_slot *next;
  unsigned char addr[16];
  int len;
  int count;
} ip_slot;

struct sy_guard_conn {
  sy_guard_conn *prev, *next;
  int fd;
  ip_slot *ip;
  /* The phase (low 3 bits) and its deadline (monotonic ms, the rest; 0: none), in one word
   * that request threads store without a lock and the guard claims with a compare-and-swap,
   * so a connection that has just moved on is never cut for the phase it left. */
  uint64_t state;
  int linger_fd; /* a duplicate of fd, kept for a lingering close; -1: none */
};

struct sy_guard {
  sy_guard_cfg cfg;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  int started, stop;
  int closed;          /* atomic: the server is stopping; every new connection is refused */
  sy_guard_conn conns; /* list head */
  ip_slot *ips[IP_BUCKETS];
  int64_t refuse_logged_ms, expire_logged_ms;
  long refuse_quiet, expire_quiet; /* events not logged since the last line */
  drain_slot lingering[LINGER_MAX];
  int nlinger, npending; /* sockets draining; connections with a linger_fd not yet closed */
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The address bytes of sa (4 for IPv4, 16 for IPv6); 0 for other families. */
static int addr_key(const struct sockaddr *sa, unsigned char out[16]) {
  if (sa && sa->sa_family == AF_INET) {
    memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 4;
  }
  if (sa && sa->sa_family == AF_INET6) {
    memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    return 16;
  }
  return 0;
}

static void addr_text(const unsigned char *a, int len, char *out, size_t outsz) {
  if (!inet_ntop(len == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)outsz)) snprintf(out, outsz, "?");
}

static unsigned addr_hash(const unsigned char *a, int len) {
  unsigned h = 2166136261u;
  for (int i = 0; i < len; i++) h = (h ^ a[i]) * 16777619u;
  return h % IP_BUCKETS;
}

/* The slot of an address; with create, made if missing. Under g->mu. */
static ip_slot *ip_find(sy_guard *g, const unsigned char *a, int len, int create) {
  ip_slot **pp = &g->ips[addr_hash(a, len)];
  for (ip_slot *s = *pp; s; s = s->next)
    if (s->len == len && !memcmp(s->addr, a, (size_t)len)) return s;
  if (!create) return NULL;
  ip_slot *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  memcpy(s->addr, a, (size_t)len);
  s->len = len;
  s->next = *pp;
  *pp = s;
  return s;
}

static void ip_release(sy_guard *g, ip_slot *slot) {
  if (!slot || --slot->count > 0) return;
  ip_slot **pp = &g->ips[addr_hash(slot->addr, slot->len)];
  while (*pp && *pp != slot) pp = &(*pp)->next;
  if (*pp) *pp = slot->next;
  free(slot);
}

/* Whether to write a log line now: at most one a second of each kind; *quiet counts the rest. */
static int log_due(int64_t *last_ms, long *quiet, long *skipped) {
  int64_t now = mono_ms();
  if (*last_ms && now - *last_ms < 1000) {
    ++*quiet;
    return 0;
  }
  *last_ms = now;
  *skipped = *quiet;
  *quiet = 0;
  return 1;
}

enum MHD_Result sy__guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen) {
  sy_guard *g = cls;
  (void)addrlen;
  if (__atomic_load_n(&g->closed, __ATOMIC_ACQUIRE)) return MHD_NO;
  if (g->cfg.max_conns_per_ip <= 0) return MHD_YES;
  unsigned char a[16];
  int len = addr_key(addr, a);
  if (!len) return MHD_YES;
  pthread_mutex_lock(&g->mu);
  ip_slot *s = ip_find(g, a, len, 0);
  int open = s ? s->count : 0;
  long skipped = 0;
  int refuse = open >= g->cfg.max_conns_per_ip;
  int log = refuse && log_due(&g->refuse_logged_ms, &g->refuse_quiet, &skipped);
  pthread_mutex_unlock(&g->mu);
  if (log) {
    char ip[INET6_ADDRSTRLEN];
    addr_text(a, len, ip, sizeof ip);
    sy__log_stderr(
        "warn", "connection refused: too many connections from one address",
        json_pack("{ss si si sI ss}", "client", ip, "open", open, "limit", g->cfg.max_conns_per_ip, "refused_unlogged",
                  (json_int_t)skipped, "setting", "--max-conns-per-ip / SWITCHYARD_MAX_CONNS_PER_IP"));
  }
  return refuse ? MHD_NO : MHD_YES;
}

void sy__guard_close(sy_guard *g) {
  if (g) __atomic_store_n(&g->closed, 1, __ATOMIC_RELEASE);
}

static void set_phase(sy_guard *g, sy_guard_conn *c, sy_guard_phase phase) {
  int64_t wait = 0;
  switch (phase) {
  case SY_GUARD_HEADERS: wait = g->cfg.header_timeout_ms; break;
  case SY_GUARD_BODY: wait = g->cfg.body_timeout_ms; break;
  case SY_GUARD_HANDLING: break;
  case SY_GUARD_IDLE:
    wait = g->cfg.header_timeout_ms > 0 ? g->cfg.header_timeout_ms + (int64_t)g->cfg.idle_timeout_ms : 0;
    break;
  }
  uint64_t deadline = wait > 0 ? (uint64_t)(mono_ms() + wait) : 0;
  __atomic_store_n(&c->state, deadline << 3 | (uint64_t)phase, __ATOMIC_RELEASE);
}

void sy__guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code) {
  sy_guard *g = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    sy_guard_conn *c = calloc(1, sizeof *c);
    *socket_context = c;
    if (!c) return;
    const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ca = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    c->fd = fd ? fd->connect_fd : -1;
    c->linger_fd = -1;
    unsigned char a[16];
    int len = addr_key(ca ? ca->client_addr : NULL, a);
    pthread_mutex_lock(&g->mu);
    if (len && (c->ip = ip_find(g, a, len, 1))) c->ip->count++;
    set_phase(g, c, SY_GUARD_HEADERS);
    c->next = g->conns.next;
    c->prev = &g->conns;
    g->conns.next->prev = c;
    g->conns.next = c;
    pthread_mutex_unlock(&g->mu);
    return;
  }
  if (code != MHD_CONNECTION_NOTIFY_CLOSED) return;
  sy_guard_conn *c = *socket_context;
  if (!c) return;
  pthread_mutex_lock(&g->mu);
  c->prev->next = c->next;
  c->next->prev = c->prev;
  ip_release(g, c->ip);
  if (c->linger_fd >= 0) { /* the reply is out: end our side, then drain the client's */
    g->npending--;
    shutdown(c->linger_fd, SHUT_WR);
    int64_t now = mono_ms();
    g->lingering[g->nlinger++] = (drain_slot){c->linger_fd, now, now};
    pthread_cond_signal(&g->cv);
  }
  pthread_mutex_unlock(&g->mu);
  free(c);
  *socket_context = NULL;
}

sy_guard_conn *sy__guard_conn(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *i = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return i ? i->socket_context : NULL;
}

void sy__guard_linger(sy_guard *g, sy_guard_conn *c) {
  if (!g || !c || c->fd < 0) return;
  pthread_mutex_lock(&g->mu);
  if (c->linger_fd < 0 && g->nlinger + g->npending < LINGER_MAX &&
      (c->linger_fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0)) >= 0)
    g->npending++;
  pthread_mutex_unlock(&g->mu);
}

/* Reads and drops what lingering sockets hold; closes those that are done. Under g->mu. */
static void drain(sy_guard *g) {
  static char sink[65536];
  int64_t now = mono_ms();
  for (int i = 0; i < g->nlinger;) {
    drain_slot *l = &g->lingering[i];
    int done = 0;
    for (int reads = 0; reads < 64; reads++) {
      ssize_t n = recv(l->fd, sink, sizeof sink, MSG_DONTWAIT);
      if (n > 0) {
        l->last_ms = now;
        continue;
      }
      done = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
      break;
    }
    if (done || now - l->last_ms >= LINGER_IDLE_MS || now - l->since_ms >= LINGER_TOTAL_MS) {
      close(l->fd);
      *l = g->lingering[--g->nlinger];
    } else {
      i++;
    }
  }
}

void sy__guard_phase(sy_guard *g, sy_guard_conn *c, sy_guard_phase phase) {
  if (g && c) set_phase(g, c, phase); /* no lock: c lives until MHD's closed notification */
}

/* Ends a connection past its deadline: a 408 the client may read, then a shutdown that
 * makes MHD see the end of the stream and close it. Under g->mu (the fd is still MHD's). */
static void expire(sy_guard *g, sy_guard_conn *c, sy_guard_phase phase) {
  const char *what = phase == SY_GUARD_BODY ? "body" : "headers";
  /* an idle connection that trickles the next request gets the idle time and then the header time */
  int limit = phase == SY_GUARD_BODY ? g->cfg.body_timeout_ms : g->cfg.header_timeout_ms;
  char body[160], resp[384];
  int bn =
      snprintf(body, sizeof body,
               "{\"error\":{\"code\":\"RequestTimeout\",\"message\":\"the request %s did not arrive within %d ms\"}}",
               what, limit);
  int rn = snprintf(resp, sizeof resp,
                    "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    "Content-Length: %d\r\n\r\n%s",
                    bn, body);
  if (c->fd >= 0) {
    if (rn > 0 && (size_t)rn < sizeof resp) {
      ssize_t w = send(c->fd, resp, (size_t)rn, MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)w;
    }
    shutdown(c->fd, SHUT_RDWR);
  }
  long skipped = 0;
  if (log_due(&g->expire_logged_ms, &g->expire_quiet, &skipped)) {
    char ip[INET6_ADDRSTRLEN] = "?";
    if (c->ip) addr_text(c->ip->addr, c->ip->len, ip, sizeof ip);
    sy__log_stderr("info", "closed a slow client",
                   json_pack("{ss ss si sI}", "client", ip, "waiting_for", what, "limit_ms", limit, "closed_unlogged",
                             (json_int_t)skipped));
  }
}

static void *guard_main(void *arg) {
  sy_guard *g = arg;
  int tick = 250;
  if (g->cfg.header_timeout_ms > 0 && g->cfg.header_timeout_ms / 4 < tick) tick = g->cfg.header_timeout_ms / 4;
  if (g->cfg.body_timeout_ms > 0 && g->cfg.body_timeout_ms / 4 < tick) tick = g->cfg.body_timeout_ms / 4;
  if (tick < 10) tick = 10;
  pthread_mutex_lock(&g->mu);
  while (!g->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)(g->nlinger ? 5 : tick) * 1000000; /* draining sockets wants a short step */
    ts.tv_sec += ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    int64_t now = mono_ms();
    for (sy_guard_conn *c = g->conns.next; c != &g->conns; c = c->next) {
      uint64_t st = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE), deadline = st >> 3;
      /* claimed by clearing the deadline, unless the connection moved on meanwhile */
      if (deadline && (uint64_t)now >= deadline &&
          __atomic_compare_exchange_n(&c->state, &st, st & 7, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        expire(g, c, (sy_guard_phase)(st & 7));
    }
    if (g->nlinger) drain(g);
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

sy_guard *sy__guard_new(const sy_guard_cfg *cfg) {
  sy_guard *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->cfg = *cfg;
  g->conns.next = g->conns.prev = &g->conns;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&g->thread, NULL, guard_main, g)) {
    sy__guard_free(g);
    return NULL;
  }
  g->started = 1;
  return g;
}

void sy__guard_free(sy_guard *g) {
  if (!g) return;
  if (g->started) {
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
  }
  for (int i = 0; i < g->nlinger; i++) close(g->lingering[i].fd);
  for (int i = 0; i < IP_BUCKETS; i++)
    for (ip_slot *s = g->ips[i], *n; s; s = n) {
      n = s->next;
      free(s);
    }
  pthread_cond_destroy(&g->cv);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

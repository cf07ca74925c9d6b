/* watch.c — GET /api/v1/watch: one SSE event per committed change, no thread per subscriber.
 *
 * Subscribers are suspended MHD connections. The content reader callback
 * writes whatever events the subscriber has not seen; when there are none it
 * parks the connection (suspend) on the hub's waiting list and returns 0. A
 * publish or a heartbeat tick resumes the parked ones. Events live in one
 * bounded ring shared by all subscribers; a resume point older than the ring is
 * served from the store's audit table first. */
#include "server/watch.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/http.h"

typedef struct ring_ev {
  int64_t seq;
  char *name;
  char *json;
} ring_ev;

typedef struct sub {
  struct sub *prev, *next; /* on the waiting list while parked */
  sy_watch_hub *hub;
  struct MHD_Connection *conn;
  char *prefix; /* the prefixes, each NUL-terminated in one allocation */
  const char *prefixes[SY_WATCH_PREFIXES];
  size_t prefix_lens[SY_WATCH_PREFIXES];
  int nprefixes;  /* 0: everything */
  int64_t cursor; /* last seq delivered (or skipped) */
  int parked;
  int hb_due;
  int hello;   /* the opening comment is still to be sent */
  int from_db; /* still catching up from the store */
  int refs;    /* the response and the request each hold one */
  int closing;
  char *pending; /* bytes formatted but not yet written */
  size_t pending_len, pending_off;
} sub;

struct sy_watch_hub {
  pthread_mutex_t mu;
  sy_store *store;
  ring_ev *ring;       /* ring[seq % SY_WATCH_RING] */
  int64_t first, last; /* seqs held: first..last (first > last when empty) */
  sub waiting;         /* list head */
  int closing;
  int heartbeat_ms;
  pthread_t ticker;
  pthread_cond_t tick_cv;
  int nsubs;
};

static void park_all_resume(sy_watch_hub *h, int heartbeat) {
  sub *s = h->waiting.next;
  while (s != &h->waiting) {
    sub *n = s->next;
    s->prev = s->next = NULL;
    s->parked = 0;
    if (heartbeat) s->hb_due = 1;
    MHD_resume_connection(s->conn);
    s = n;
  }
  h->waiting.next = h->waiting.prev = &h->waiting;
}

/* Resumes parked subscribers whose client has gone: a suspended connection is not
 * watched by MHD, so without this a closed stream would hold its socket and memory
 * until the next heartbeat write failed. Called with the hub locked. */
static void reap_closed(sy_watch_hub *h) {
  sub *s = h->waiting.next;
  while (s != &h->waiting) {
    sub *n = s->next;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    char c;
    if (ci && recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
      s->prev->next = s->next;
      s->next->prev = s->prev;
      s->prev = s->next = NULL;
      s->parked = 0;
      s->closing = 1;
      MHD_resume_connection(s->conn);
    }
    s = n;
  }
}

#define REAP_MS 1000 /* how often parked streams are checked for clients that left */

static void *ticker_main(void *arg) {
  sy_watch_hub *h = arg;
  int64_t next_hb = sy__clock_now(sy__clock_system()) + h->heartbeat_ms;
  pthread_mutex_lock(&h->mu);
  while (!h->closing) {
    int64_t now = sy__clock_now(sy__clock_system()), wake = next_hb < now + REAP_MS ? next_hb : now + REAP_MS;
    struct timespec ts = {(time_t)(wake / 1000), (long)(wake % 1000) * 1000000};
    pthread_cond_timedwait(&h->tick_cv, &h->mu, &ts);
    if (h->closing) break;
    if (sy__clock_now(sy__clock_system()) >= next_hb) {
      park_all_resume(h, 1);
      next_hb = sy__clock_now(sy__clock_system()) + h->heartbeat_ms;
    } else {
      reap_closed(h);
    }
  }
  pthread_mutex_unlock(&h->mu);
  return NULL;
}

sy_watch_hub *sy__watch_hub_new(sy_store *store, int heartbeat_ms, int64_t last_seq) {
  sy_watch_hub *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->ring = calloc(SY_WATCH_RING, sizeof *h->ring);
  if (!h->ring) {
    free(h);
    return NULL;
  }
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->tick_cv, NULL);
  h->store = store;
  h->first = last_seq + 1;
  h->last = last_seq;
  h->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 15000;
  h->waiting.next = h->waiting.prev = &h->waiting;
  if (pthread_create(&h->ticker, NULL, ticker_main, h)) {
    free(h->ring);
    free(h);
    return NULL;
  }
  return h;
}

void sy__watch_shutdown(sy_watch_hub *h) {
  if (!h) return;
  pthread_mutex_lock(&h->mu);
  h->closing = 1;
  park_all_resume(h, 0);
  pthread_cond_signal(&h->tick_cv);
  pthread_mutex_unlock(&h->mu);
}

void sy__watch_hub_free(sy_watch_hub *h) {
  if (!h) return;
  sy__watch_shutdown(h);
  pthread_join(h->ticker, NULL);
  for (size_t i = 0; i < SY_WATCH_RING; i++) {
    free(h->ring[i].name);
    free(h->ring[i].json);
  }
  free(h->ring);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->tick_cv);
  free(h);
}

static void publish_some(sy_watch_hub *h, const sy_event *evs, size_t n);

#define EVENT_MAX (1024 * 1024) /* one change event's JSON: a value escaped at worst, and room to spare */

/* The data line of a change event: {"seq","action","name","version","time","type","value","detail"};
 * type only when the change wrote a version, value only when that version's may be shown. */
static char *event_json(const sy_event *e) {
  char time[32];
  sy_jbuf b;
  sy__fmt_time(e->time_ms, time, sizeof time);
  sy__jbuf_init(&b, EVENT_MAX);
  sy__jbuf_cstr(&b, "{\"seq\":");
  sy__jbuf_int(&b, e->seq);
  sy__jbuf_cstr(&b, ",\"action\":");
  sy__jbuf_str(&b, e->action, strlen(e->action));
  sy__jbuf_cstr(&b, ",\"name\":");
  sy__jbuf_str(&b, e->name, strlen(e->name));
  sy__jbuf_cstr(&b, ",\"version\":");
  sy__jbuf_int(&b, e->version);
  sy__jbuf_cstr(&b, ",\"time\":\"");
  sy__jbuf_cstr(&b, time);
  sy__jbuf_cstr(&b, "\"");
  if (e->kind) {
    sy__jbuf_cstr(&b, ",\"type\":\"");
    sy__jbuf_cstr(&b, sy__kind_name(e->kind));
    sy__jbuf_cstr(&b, "\"");
    if (e->value && e->kind != SY_KIND_SECURESTRING) {
      sy__jbuf_cstr(&b, ",\"value\":");
      sy__jbuf_str(&b, e->value, e->value_len);
    }
  }
  if (*e->detail) {
    sy__jbuf_cstr(&b, ",\"detail\":");
    sy__jbuf_str(&b, e->detail, strlen(e->detail));
  }
  sy__jbuf_cstr(&b, "}");
  return sy__jbuf_take(&b, NULL);
}

void sy__watch_publish(void *ctx, const sy_event *evs, size_t n) {
  for (size_t off = 0; off < n; off += 64) publish_some(ctx, evs + off, n - off < 64 ? n - off : 64);
}

static void publish_some(sy_watch_hub *h, const sy_event *evs, size_t n) {
  char *json[64];
  for (size_t i = 0; i < n; i++) json[i] = event_json(&evs[i]); /* outside the lock */
  pthread_mutex_lock(&h->mu);
  for (size_t i = 0; i < n; i++) {
    ring_ev *slot = &h->ring[evs[i].seq % SY_WATCH_RING];
    char *nm = strdup(evs[i].name), *js = json[i];
    if (!nm || !js) { /* cannot keep it: make the ring start after it so nobody misses it silently */
      free(nm);
      free(js);
      h->first = evs[i].seq + 1;
      h->last = evs[i].seq;
      continue;
    }
    free(slot->name);
    free(slot->json);
    slot->seq = evs[i].seq;
    slot->name = nm;
    slot->json = js;
    h->last = evs[i].seq;
    if (h->last - h->first + 1 > SY_WATCH_RING) h->first = h->last - SY_WATCH_RING + 1;
  }
  park_all_resume(h, 0);
  pthread_mutex_unlock(&h->mu);
}

static int matches(const sub *s, const char *name) {
  if (s->nprefixes == 0) return 1;
  for (int i = 0; i < s->nprefixes; i++)
    if (strncmp(name, s->prefixes[i], s->prefix_lens[i]) == 0) return 1;
  return 0;
}

int sy__watch_prefixes(sy_req *r, char **buf, const char **out, size_t *lens, int *n) {
  const char *q = sy__query(r, "prefix");
  *n = 0;
  *buf = NULL;
  if (!q || !*q) return 0;
  if (strlen(q) > (size_t)SY_WATCH_PREFIXES * (SY_NAME_MAX + 1)) {
    sy__reply_error(r, 400, "ValidationException", "prefix: longer than %d names", SY_WATCH_PREFIXES);
    return -1;
  }
  char *b = sy__arena_strndup(r->arena, q, strlen(q));
  if (!b) {
    sy__reply_error(r, 500, "InternalError", "out of memory");
    return -1;
  }
  for (char *p = b;;) {
    char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char msg[SY_MSG_MAX];
    if (*n == SY_WATCH_PREFIXES) {
      sy__reply_error(r, 400, "ValidationException", "prefix: at most %d prefixes, separated by ','",
                      SY_WATCH_PREFIXES);
      return -1;
    }
    if (len == 0 || sy__path_check(p, len, msg, sizeof msg)) {
      if (len == 0) snprintf(msg, sizeof msg, "it is empty");
      if (!strchr(q, ','))
        sy__reply_error(r, 400, "ValidationException", "prefix: %s", msg);
      else
        sy__reply_error(r, 400, "ValidationException", "prefix %d: %s", *n + 1, msg);
      return -1;
    }
    p[len] = 0;
    out[*n] = p;
    lens[(*n)++] = len;
    if (!comma) break;
    p = comma + 1;
  }
  *buf = b;
  return 0;
}

/* Appends one event to s->pending. */
static int format_event(sub *s, int64_t seq, const char *json) {
  size_t need = strlen(json) + 64;
  char *p = realloc(s->pending, s->pending_len + need);
  if (!p) return -1;
  s->pending = p;
  int k = snprintf(p + s->pending_len, need, "id: %lld\nevent: change\ndata: %s\n\n", (long long)seq, json);
  if (k > 0) s->pending_len += (size_t)k;
  return 0;
}

typedef struct db_ctx {
  sub *s;
  int failed;
} db_ctx;

static void db_event(void *ctx, const sy_event *ev) {
  db_ctx *c = ctx;
  if (matches(c->s, ev->name)) {
    char *json = event_json(ev);
    if (!json || format_event(c->s, ev->seq, json)) c->failed = 1;
    free(json);
  }
  c->s->cursor = ev->seq;
}

#define FILL_MAX 32768   /* bytes formatted per callback at most */
#define DB_ROUNDS_MAX 32 /* store reads of 256 events per callback at most */

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max) {
  sub *s = cls;
  sy_watch_hub *h = s->hub;
  (void)pos;
  if (s->pending_off < s->pending_len) {
    size_t n = s->pending_len - s->pending_off;
    if (n > max) n = max;
    memcpy(buf, s->pending + s->pending_off, n);
    s->pending_off += n;
    return (ssize_t)n;
  }
  s->pending_len = s->pending_off = 0;
  if (s->hello) {
    s->hello = 0;
    static const char hello[] = ": switchyard watch\nretry: 1000\n\n";
    memcpy(buf, hello, sizeof hello - 1);
    return (ssize_t)(sizeof hello - 1);
  }
  /* behind the ring: from the store, until something matches or the ring is reached */
  for (int rounds = 0; s->from_db; rounds++) {
    pthread_mutex_lock(&h->mu);
    int64_t first = h->first;
    pthread_mutex_unlock(&h->mu);
    if (s->cursor + 1 >= first) {
      s->from_db = 0;
      break;
    }
    if (rounds == DB_ROUNDS_MAX) return 0; /* let the thread serve others; called again at once */
    db_ctx c = {s, 0};
    int64_t before = s->cursor;
    if (sy__store_events(h->store, s->cursor, 256, db_event, &c) || c.failed) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (s->cursor == before) s->from_db = 0; /* nothing more in the store */
    if (s->pending_len) return reader(cls, pos, buf, max);
  }
  pthread_mutex_lock(&h->mu);
  if (h->closing || s->closing) {
    pthread_mutex_unlock(&h->mu);
    return MHD_CONTENT_READER_END_OF_STREAM;
  }
  if (s->cursor < h->last && s->cursor + 1 < h->first) {
    /* fell further behind than the ring holds (a burst larger than it, a slow reader):
     * catch up from the store instead of cutting the stream */
    s->from_db = 1;
    pthread_mutex_unlock(&h->mu);
    return reader(cls, pos, buf, max);
  }
  while (s->cursor < h->last && s->pending_len < FILL_MAX) {
    ring_ev *e = &h->ring[(s->cursor + 1) % SY_WATCH_RING];
    if (matches(s, e->name) && format_event(s, e->seq, e->json)) break;
    s->cursor++;
  }
  if (s->pending_len) {
    pthread_mutex_unlock(&h->mu);
    return reader(cls, pos, buf, max);
  }
  if (s->hb_due) {
    s->hb_due = 0;
    pthread_mutex_unlock(&h->mu);
    static const char hb[] = ": heartbeat\n\n";
    memcpy(buf, hb, sizeof hb - 1);
    return (ssize_t)(sizeof hb - 1);
  }
  /* nothing to say: park until a publish or a tick */
  s->parked = 1;
  s->next = &h->waiting;
  s->prev = h->waiting.prev;
  h->waiting.prev->next = s;
  h->waiting.prev = s;
  MHD_suspend_connection(s->conn);
  pthread_mutex_unlock(&h->mu);
  return 0;
}

/* Drops one reference; the last one unlinks and frees. */
static void sub_release(sub *s) {
  sy_watch_hub *h = s->hub;
  pthread_mutex_lock(&h->mu);
  if (s->parked) {
    s->prev->next = s->next;
    s->next->prev = s->prev;
    s->parked = 0;
  }
  int last = --s->refs == 0;
  if (last) h->nsubs--;
  pthread_mutex_unlock(&h->mu);
  if (!last) return;
  free(s->pending);
  free(s->prefix);
  free(s);
}

static void sub_free(void *cls) { sub_release(cls); }

enum MHD_Result sy__api_watch(sy_req *r) {
  if (strcmp(r->method, "GET")) return sy__reply_error(r, 405, "MethodNotAllowed", "the watch stream answers GET");
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "prefix since")) return MHD_YES;
  char *pbuf;
  const char *prefixes[SY_WATCH_PREFIXES];
  size_t lens[SY_WATCH_PREFIXES];
  int nprefixes;
  if (sy__watch_prefixes(r, &pbuf, prefixes, lens, &nprefixes)) return MHD_YES;
  int64_t since = -1;
  const char *lei = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
  if (lei) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(lei, &end, 10);
    if (*lei < '0' || *lei > '9' || *end || errno)
      return sy__reply_error(r, 400, "ValidationException", "Last-Event-ID must be a sequence number");
    since = v;
  } else if (sy__query(r, "since")) {
    if (sy__query_int(r, "since", 0, INT64_MAX, 0, &since)) return MHD_YES;
  }
  sy_watch_hub *h = r->srv->hub;
  sub *s = calloc(1, sizeof *s);
  if (!s) return sy__reply_error(r, 500, "InternalError", "out of memory");
  s->hub = h;
  s->refs = 2;
  s->conn = r->conn;
  s->hello = 1;
  /* the prefixes live as long as the subscriber, which may outlive the request's arena */
  size_t total = 0;
  for (int i = 0; i < nprefixes; i++) total += lens[i] + 1;
  s->prefix = malloc(total + 1);
  for (int i = 0, off = 0; s->prefix && i < nprefixes; i++) {
    memcpy(s->prefix + off, prefixes[i], lens[i] + 1);
    s->prefixes[i] = s->prefix + off;
    s->prefix_lens[i] = lens[i];
    off += (int)lens[i] + 1;
  }
  s->nprefixes = nprefixes;
  (void)pbuf;
  struct MHD_Response *resp =
      s->prefix ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, s, sub_free) : NULL;
  if (!resp) { /* nobody else has seen s yet */
    free(s->prefix);
    free(s);
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  /* On a store several nodes share, a watcher that resumes here may have seen, on another node,
   * changes this one has not applied yet: it waits for them rather than get them twice. */
  sy_store_status ss;
  sy__store_status(h->store, &ss);
  int shared = strcmp(ss.engine, "sqlite") != 0;
  pthread_mutex_lock(&h->mu);
  s->cursor = since >= 0 ? since : h->last;
  if (s->cursor > h->last && !shared) s->cursor = h->last;
  s->from_db = s->cursor + 1 < h->first;
  h->nsubs++;
  pthread_mutex_unlock(&h->mu);
  MHD_add_response_header(resp, "Content-Type", "text/event-stream");
  MHD_add_response_header(resp, "X-Switchyard-Store", sy__store_id(h->store));
  MHD_add_response_header(resp, "Cache-Control", "no-cache");
  MHD_add_response_header(resp, "X-Accel-Buffering", "no");
  /* the request holds a reference until it completes (released with its arena) */
  if (sy__arena_cleanup(r->arena, sub_free, s)) {
    MHD_destroy_response(resp); /* releases the response's reference */
    sub_release(s);             /* and the request's */
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  enum MHD_Result res = MHD_queue_response(r->conn, 200, resp);
  MHD_destroy_response(resp);
  r->status = 200;
  return res;
}

/* client.c — libswitchyard's client: options, the network loop that keeps a snapshot current
 * (the server's snapshot, then its change stream with resume and backoff), publication of new
 * snapshots that readers take without a lock, the cache file and the callbacks.
 *
 * Threads. Readers (sy_param_get, sy_flag_enabled, sy_snapshot_acquire, ...) run on any thread
 * inside an RCU read section: they load the current snapshot's pointer and never wait. One
 * network thread (the client's own, or the program's inside sy_client_step) does everything
 * else: libcurl's multi interface on an epoll descriptor of the client's, the SSE parser, the
 * pending changes, publication (a pointer swap; the old snapshot's reference is dropped after
 * an RCU grace period), the cache file and the callbacks. The state a program can ask for
 * (sy_client_state) is under a mutex that readers of values never take. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <urcu-bp.h>

#include "core/clock.h"
#include "core/flag_int.h"
#include "core/param.h"
#include "core/sse.h"
#include "lib/http.h"
#include "lib/lib_int.h"

/* ThreadSanitizer does not see the ordering an RCU grace period gives: tell it. */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TSAN_ACQUIRE(a) __tsan_acquire(a)
#define TSAN_RELEASE(a) __tsan_release(a)
#else
#define TSAN_ACQUIRE(a) ((void)(a))
#define TSAN_RELEASE(a) ((void)(a))
#endif

#define PREFIXES_MAX 16
#define EVENT_MAX ((size_t)2 << 20)      /* one change event's data */
#define SNAPSHOT_MAX ((size_t)256 << 20) /* the server's snapshot */
#define ERRBODY_MAX 4096                 /* what is kept of a refusal's body */

struct sy_options {
  char *server, *token, *cache;
  char *prefixes[PREFIXES_MAX];
  int nprefixes;
  int connect_ms, request_ms, stall_ms, backoff_init, backoff_max, start_timeout, threaded;
  sy_log_fn log;
  void *log_ud;
  sy_change_fn change;
  void *change_ud;
  sy_allocator alloc;
  int has_alloc;
};

typedef enum net_phase { NET_IDLE = 0, NET_SNAPSHOT, NET_STREAM } net_phase;

/* One change a publication brought, for the callbacks. */
typedef struct change {
  lib_entry *e; /* referenced: the new entry, or the old one for a delete */
  const char *action;
} change;

struct sy_client {
  lib_alloc al;
  char base[SY__BASE_MAX];
  char *token, *cache;
  char *prefixes[PREFIXES_MAX];
  int nprefixes;
  char *prefix_query; /* "?prefix=a,b" or "" */
  int connect_ms, request_ms, stall_ms, backoff_init, backoff_max, start_timeout, threaded;
  sy_log_fn log;
  void *log_ud;
  sy_change_fn change;
  void *change_ud;
  lib_env env;

  struct sy_snapshot *current; /* atomic; RCU-protected */
  int rcu_sync;                /* the addresses ThreadSanitizer's annotations synchronise on: readers and */
  int barrier_sync;            /* the RCU callbacks, the callbacks and sy_client_free */

  /* the network thread's own */
  int epfd, wakefd;
  CURLM *multi;
  int64_t curl_due; /* monotonic ms of libcurl's timer, or -1 */
  net_phase phase;
  CURL *easy;
  struct curl_slist *hdrs;
  char url[SY__BASE_MAX + 8192];
  char errbuf[CURL_ERROR_SIZE];
  sy__body body;     /* the snapshot's body, or a refused stream's */
  sy_sse_parser sse; /* the stream's events */
  long status;       /* the current transfer's HTTP status, once known */
  int64_t retry_at;  /* monotonic ms of the next attempt, or -1 */
  int backoff;       /* the current ceiling of the wait, ms */
  int64_t last_rx;   /* monotonic ms of the stream's last byte */
  int need_snapshot; /* the next attempt reads the snapshot (else it resumes the stream) */
  int failed;        /* the transfer failed inside a callback: fail_rc, fail_msg */
  sy_rc fail_rc;
  char fail_msg[256];
  char stream_store[40]; /* the store the stream's server says it is */
  int64_t applied;       /* the last sequence number applied */
  char store[40];        /* the store the snapshot came from */
  lib_table pending;     /* changes since the last publication: entries, and tombstones (version -1) */
  int pending_full;      /* pending is a whole snapshot, not changes */
  int dirty;
  int logged_error; /* the current failure has been logged */
  uint64_t rng;

  pthread_mutex_t mu; /* st, and the condition below */
  pthread_cond_t cv;
  sy_state st;
  pthread_t thread;
  int stop; /* atomic */
  int has_thread;
};

/* ---- small things ---- */

/* The system's clocks, as core gives them to everything else. */
static int64_t mono_ms(void) { return sy__clock_tick(sy__clock_system()); }
static int64_t wall_ms(void) { return sy__clock_now(sy__clock_system()); }

static void *std_malloc(void *ud, size_t n) {
  (void)ud;
  return malloc(n);
}
static void *std_realloc(void *ud, void *p, size_t n) {
  (void)ud;
  return realloc(p, n);
}
static void std_free(void *ud, void *p) {
  (void)ud;
  free(p);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_init_once(void) { curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

SY_API const char *sy_version(void) { return SWITCHYARD_VERSION; }
SY_API int sy_version_number(void) { return SWITCHYARD_VERSION_NUMBER; }

SY_API const char *sy_source_name(sy_source s) {
  static const char *const names[] = {"none", "stream", "cache", "env", "default"};
  return (unsigned)s < sizeof names / sizeof *names ? names[s] : "none";
}

/* ---- logging ---- */

/* Logs {"level","msg",...fields} (fields taken over; may be NULL). */
static void log_json(sy_client *c, sy_log_level level, const char *msg, json_t *fields) {
  static const char *const levels[] = {"debug", "info", "warn", "error"};
  if (!c->log) {
    json_decref(fields);
    return;
  }
  json_t *o = json_pack("{s:s, s:s}", "level", levels[level], "msg", msg);
  if (o && fields) json_object_update(o, fields);
  json_decref(fields);
  char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (line) c->log(c->log_ud, level, line);
  free(line);
  json_decref(o);
}

/* ---- options ---- */

static void opt_str(char **slot, const char *v, sy_rc *rc) {
  char *p = NULL;
  if (v && !(p = strdup(v))) {
    *rc = SY_ENOMEM;
    return;
  }
  free(*slot);
  *slot = p;
}

SY_API sy_rc sy_options_new(sy_options **out) {
  if (!out) return SY_EINVAL;
  sy_options *o = calloc(1, sizeof *o);
  *out = o;
  if (!o) return SY_ENOMEM;
  o->start_timeout = 2000;
  o->threaded = 1;
  return SY_OK;
}

SY_API void sy_options_free(sy_options *o) {
  if (!o) return;
  free(o->server);
  free(o->token);
  free(o->cache);
  for (int i = 0; i < o->nprefixes; i++) free(o->prefixes[i]);
  free(o);
}

SY_API sy_rc sy_options_set_server(sy_options *o, const char *url) {
  char base[SY__BASE_MAX], msg[300];
  sy_rc rc = SY_OK;
  if (!o || !url || sy__http_base(url, base, sizeof base, msg, sizeof msg)) return SY_EINVAL;
  opt_str(&o->server, base, &rc);
  return rc;
}

SY_API sy_rc sy_options_set_token(sy_options *o, const char *token) {
  char msg[128];
  sy_rc rc = SY_OK;
  if (!o || (token && sy__http_token_check(token, msg, sizeof msg))) return SY_EINVAL;
  opt_str(&o->token, token, &rc);
  return rc;
}

SY_API sy_rc sy_options_add_prefix(sy_options *o, const char *prefix) {
  char msg[SY_MSG_MAX];
  if (!o || !prefix || !*prefix || o->nprefixes == PREFIXES_MAX || strchr(prefix, ',') ||
      sy__path_check(prefix, strlen(prefix), msg, sizeof msg))
    return SY_EINVAL;
  if (!(o->prefixes[o->nprefixes] = strdup(prefix))) return SY_ENOMEM;
  o->nprefixes++;
  return SY_OK;
}

SY_API sy_rc sy_options_set_cache_file(sy_options *o, const char *path) {
  sy_rc rc = SY_OK;
  if (!o || (path && (!*path || strlen(path) > 4000))) return SY_EINVAL;
  opt_str(&o->cache, path, &rc);
  return rc;
}

SY_API sy_rc sy_options_set_timeouts(sy_options *o, int connect_ms, int request_ms, int stall_ms) {
  if (!o || connect_ms < 0 || request_ms < 0 || stall_ms < 0) return SY_EINVAL;
  o->connect_ms = connect_ms;
  o->request_ms = request_ms;
  o->stall_ms = stall_ms;
  return SY_OK;
}

SY_API sy_rc sy_options_set_backoff(sy_options *o, int initial_ms, int max_ms) {
  if (!o || initial_ms < 0 || max_ms < 0 || (initial_ms && max_ms && max_ms < initial_ms)) return SY_EINVAL;
  o->backoff_init = initial_ms;
  o->backoff_max = max_ms;
  return SY_OK;
}

SY_API sy_rc sy_options_set_start_timeout(sy_options *o, int ms) {
  if (!o || ms < 0) return SY_EINVAL;
  o->start_timeout = ms;
  return SY_OK;
}

SY_API sy_rc sy_options_set_threaded(sy_options *o, int threaded) {
  if (!o) return SY_EINVAL;
  o->threaded = threaded != 0;
  return SY_OK;
}

SY_API sy_rc sy_options_set_log(sy_options *o, sy_log_fn fn, void *ud) {
  if (!o) return SY_EINVAL;
  o->log = fn;
  o->log_ud = ud;
  return SY_OK;
}

SY_API sy_rc sy_options_set_on_change(sy_options *o, sy_change_fn fn, void *ud) {
  if (!o) return SY_EINVAL;
  o->change = fn;
  o->change_ud = ud;
  return SY_OK;
}

SY_API sy_rc sy_options_set_allocator(sy_options *o, const sy_allocator *a) {
  if (!o || (a && (!a->malloc || !a->realloc || !a->free))) return SY_EINVAL;
  o->has_alloc = a != NULL;
  if (a) o->alloc = *a;
  return SY_OK;
}

/* ---- state ---- */

static void set_error(sy_client *c, sy_rc rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records a failure of the connection: the state says it, and the log says it once per kind of
 * failure (not at every retry). */
static void set_error(sy_client *c, sy_rc rc, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&c->mu);
  int same = c->st.last_error == rc && strcmp(c->st.last_error_msg, msg) == 0;
  c->st.last_error = rc;
  snprintf(c->st.last_error_msg, sizeof c->st.last_error_msg, "%s", msg);
  c->st.state = SY_STATE_RECONNECTING;
  pthread_cond_broadcast(&c->cv); /* a client starting stops waiting */
  pthread_mutex_unlock(&c->mu);
  if (!same || !c->logged_error)
    log_json(c, SY_LOG_WARN, "Switchyard server unreachable; serving the last good values",
             json_pack("{s:s, s:s, s:s}", "server", c->base, "error", msg, "status", sy_strerror(rc)));
  c->logged_error = 1;
}

/* ---- publication ---- */

static void snap_free(sy_client *c, struct sy_snapshot *s) {
  sy__ltab_free(&c->al, &s->tab);
  sy__lib_free(&c->al, s->sorted);
  sy__lib_free(&c->al, s);
}

void sy__snap_unref(struct sy_snapshot *s) {
  if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) snap_free(s->client, s);
}

/* The "current" reference of a replaced snapshot, dropped once no reader can still be looking. */
typedef struct retired {
  struct rcu_head head;
  struct sy_snapshot *s;
} retired;

static void retired_cb(struct rcu_head *head) {
  retired *r = caa_container_of(head, retired, head);
  TSAN_ACQUIRE(r); /* handed over by retire() through urcu's queue */
  sy_client *c = r->s->client;
  TSAN_ACQUIRE(&c->rcu_sync); /* after every reader that could see r->s */
  sy__snap_unref(r->s);
  sy__lib_free(&c->al, r);
  TSAN_RELEASE(&c->barrier_sync); /* before sy_client_free's rcu_barrier returns */
}

static void retire(sy_client *c, struct sy_snapshot *old) {
  if (!old) return;
  retired *r = sy__lib_malloc(&c->al, sizeof *r);
  if (!r) { /* cannot defer: wait for the readers instead */
    synchronize_rcu_bp();
    TSAN_ACQUIRE(&c->rcu_sync);
    sy__snap_unref(old);
    return;
  }
  r->s = old;
  TSAN_RELEASE(r);
  call_rcu_bp(&r->head, retired_cb);
}

static struct sy_snapshot *read_enter(sy_client *c) {
  rcu_read_lock_bp();
  return __atomic_load_n(&c->current, __ATOMIC_ACQUIRE);
}

static void read_leave(sy_client *c) {
  TSAN_RELEASE(&c->rcu_sync);
  rcu_read_unlock_bp();
}

/* A strategy parameter of a Route in s names a provider: the log says "Provider strategy". */
static int is_strategy(const struct sy_snapshot *s, const lib_entry *e) {
  static const char tail[] = "/provider/strategy";
  if (e->name_len >= sizeof tail - 1 && memcmp(e->name + e->name_len - (sizeof tail - 1), tail, sizeof tail - 1) == 0)
    return 1;
  for (size_t i = 0; i < s->tab.count; i++)
    if (s->sorted[i]->strategy && strcmp(s->sorted[i]->strategy, e->name) == 0) return 1;
  return 0;
}

static void log_change(sy_client *c, const struct sy_snapshot *s, const change *ch) {
  const lib_entry *e = ch->e;
  const char *src = sy_source_name(s->source);
  if (strcmp(ch->action, "delete") == 0) {
    log_json(c, SY_LOG_INFO, "Parameter deleted", json_pack("{s:s, s:s}", "parameter", e->name, "source", src));
  } else if (e->flag) {
    log_json(c, SY_LOG_INFO, "Flag loaded",
             json_pack("{s:s, s:I, s:b, s:f, s:s}", "flag", e->name + (e->name[0] == '/'), "version",
                       (json_int_t)e->version, "enabled", sy__flag_enabled(e->flag), "rollout_percentage",
                       sy__flag_percentage(e->flag), "source", src));
  } else if (e->value && strcmp(e->type, "SecureString") && is_strategy(s, e)) {
    log_json(c, SY_LOG_INFO, "Provider strategy loaded",
             json_pack("{s:s%, s:s, s:s, s:I}", "provider", e->value, e->len, "source", src, "parameter", e->name,
                       "version", (json_int_t)e->version));
  } else {
    log_json(c, SY_LOG_INFO, "Parameter loaded",
             json_pack("{s:s, s:s, s:I, s:s}", "parameter", e->name, "type", e->type, "version", (json_int_t)e->version,
                       "source", src));
  }
}

/* Appends a change (referencing e). -1 on ENOMEM. */
static int add_change(const lib_alloc *al, change **v, size_t *n, size_t *cap, lib_entry *e, const char *action) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    change *p = sy__lib_malloc(al, nc * sizeof *p);
    if (!p) return -1;
    if (*n) memcpy(p, *v, *n * sizeof *p);
    sy__lib_free(al, *v);
    *v = p;
    *cap = nc;
  }
  sy__entry_ref(e);
  (*v)[(*n)++] = (change){e, action};
  return 0;
}

/* What a new entry n is to the old one o: a put, a new source, or nothing. */
static const char *diff(const lib_entry *o, const lib_entry *n) {
  if (!o || o->version != n->version || strcmp(o->type, n->type) || o->len != n->len ||
      (o->value == NULL) != (n->value == NULL) || (o->value && memcmp(o->value, n->value, n->len)))
    return "put";
  return o->source != n->source ? "source" : NULL;
}

/* Makes the pending changes (or whole snapshot) the current snapshot: one pointer swap; then
 * the cache file, the state, the waiters and the callbacks. */
static void publish(sy_client *c, sy_source src) {
  const lib_alloc *al = &c->al;
  struct sy_snapshot *old = c->current, *s = NULL;
  lib_table t = {0};
  change *chs = NULL;
  size_t nch = 0, cap = 0;
  int oom = 0;
  if (c->pending_full) {
    t = c->pending;
    memset(&c->pending, 0, sizeof c->pending);
  } else {
    if (sy__ltab_init(al, &t, (old ? old->tab.count : 0) + c->pending.count)) goto nomem;
    for (size_t i = 0; old && i < old->tab.count; i++) {
      lib_entry *e = old->sorted[i];
      if (sy__ltab_get(&c->pending, e->name, e->name_len, 0)) continue;
      sy__entry_ref(e);
      if (sy__ltab_put(al, &t, e)) goto nomem;
    }
    for (size_t i = 0; i < c->pending.cap; i++) {
      lib_entry *e = c->pending.slots[i];
      if (!e || e->version < 0) continue;
      sy__entry_ref(e);
      if (sy__ltab_put(al, &t, e)) goto nomem;
    }
  }
  /* what changed, against the old snapshot */
  for (size_t i = 0; i < t.cap; i++) {
    lib_entry *e = t.slots[i];
    if (!e) continue;
    const char *what = diff(old ? sy__ltab_get(&old->tab, e->name, e->name_len, 0) : NULL, e);
    if (what && add_change(al, &chs, &nch, &cap, e, what)) oom = 1;
  }
  for (size_t i = 0; old && i < old->tab.count; i++) {
    lib_entry *e = old->sorted[i];
    if (!sy__ltab_get(&t, e->name, e->name_len, 0) && add_change(al, &chs, &nch, &cap, e, "delete")) oom = 1;
  }
  s = sy__snap_new(c, al, &t, src == SY_SOURCE_STREAM ? c->applied : 0, src, c->store);
  if (!s) goto nomem;
  __atomic_store_n(&c->current, s, __ATOMIC_RELEASE);
  retire(c, old);
  sy__ltab_free(al, &c->pending);
  c->pending_full = 0;
  c->dirty = 0;

  if (c->cache && src == SY_SOURCE_STREAM) {
    char msg[512];
    lib_cache_meta m = {c->base, (const char *const *)c->prefixes, c->nprefixes, c->store, c->applied};
    if (sy__cache_write(c->cache, &m, s, msg, sizeof msg))
      log_json(c, SY_LOG_WARN, "cannot write the cache file", json_pack("{s:s}", "error", msg));
  }
  pthread_mutex_lock(&c->mu);
  c->st.source = src;
  c->st.seq = s->seq;
  c->st.params = s->held;
  c->st.updates++;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  if (oom) log_json(c, SY_LOG_ERROR, "out of memory: some changes are not reported", NULL);
  for (size_t i = 0; i < nch; i++) {
    log_change(c, s, &chs[i]);
    if (c->change) {
      const lib_entry *e = chs[i].e;
      int del = strcmp(chs[i].action, "delete") == 0;
      sy_change ch = {e->name, chs[i].action, del ? "" : e->type, del ? 0 : e->version, src, s->seq};
      c->change(c->change_ud, &ch);
    }
  }
  goto out;
nomem:
  sy__ltab_free(al, &t);
  log_json(c, SY_LOG_ERROR, "out of memory: the update waits for the next change", NULL);
out:
  for (size_t i = 0; i < nch; i++) sy__entry_unref(al, chs[i].e);
  sy__lib_free(al, chs);
}

/* ---- reading what the server sent ---- */

static int has_prefix(const void *ud, const char *name) {
  const sy_client *c = ud;
  if (!c->nprefixes) return 1;
  for (int i = 0; i < c->nprefixes; i++)
    if (strncmp(name, c->prefixes[i], strlen(c->prefixes[i])) == 0) return 1;
  return 0;
}

/* One parameter of an event into pending. 0, or -1 with fail_msg. */
static int pending_put(sy_client *c, const char *name, const char *type, const json_t *value, int64_t version) {
  /* a SecureString's value is never held (the stream does not carry it) */
  int held = json_is_string(value) && strcmp(type, "SecureString") != 0;
  lib_entry *e = sy__entry_new(&c->al, name, strlen(name), type, json_string_value(value), json_string_length(value),
                               held, version, SY_SOURCE_STREAM);
  if (!e || sy__ltab_put(&c->al, &c->pending, e)) {
    snprintf(c->fail_msg, sizeof c->fail_msg, "out of memory");
    c->fail_rc = SY_ENOMEM;
    return -1;
  }
  c->dirty = 1;
  return 0;
}

/* The snapshot's body into pending (a whole snapshot). 0, or -1 with fail_rc/fail_msg. */
static int take_snapshot(sy_client *c) {
  json_error_t jerr;
  json_t *doc = json_loadb(c->body.p ? c->body.p : "", c->body.len, 0, &jerr);
  json_t *params = json_object_get(doc, "params"), *seq = json_object_get(doc, "seq");
  const char *store = json_string_value(json_object_get(doc, "store"));
  int rc = -1;
  c->fail_rc = SY_EPROTOCOL;
  const char *format = json_string_value(json_object_get(doc, "format"));
  if (!json_is_object(doc) || !json_is_array(params) || !json_is_integer(seq) || !store || !format ||
      strcmp(format, "switchyard-snapshot/1")) {
    snprintf(c->fail_msg, sizeof c->fail_msg, "the snapshot from %.100s is not a switchyard-snapshot: %.100s", c->base,
             doc ? "a member is missing" : jerr.text);
    goto out;
  }
  sy__ltab_free(&c->al, &c->pending);
  size_t bad = 0;
  sy_rc lrc = sy__params_load(&c->al, params, SY_SOURCE_STREAM, 0, has_prefix, c, &c->pending, &bad);
  if (lrc) {
    c->fail_rc = lrc == SY_EINVAL ? SY_EPROTOCOL : lrc;
    snprintf(c->fail_msg, sizeof c->fail_msg, "the snapshot's parameter %zu is malformed", bad);
    if (lrc == SY_ENOMEM) snprintf(c->fail_msg, sizeof c->fail_msg, "out of memory");
    goto out;
  }
  c->pending_full = 1;
  c->dirty = 1;
  c->applied = json_integer_value(seq);
  snprintf(c->store, sizeof c->store, "%.39s", store);
  rc = 0;
out:
  json_decref(doc);
  return rc;
}

/* One change event. 0, or 1 to end the stream (fail_* set; sy__sse_feed's own -1 is an event too long). */
static int on_event(void *ctx, const char *data, size_t len) {
  sy_client *c = ctx;
  json_t *ev = json_loadb(data, len, 0, NULL);
  json_t *seq = json_object_get(ev, "seq"), *version = json_object_get(ev, "version");
  const char *name = json_string_value(json_object_get(ev, "name"));
  const char *action = json_string_value(json_object_get(ev, "action"));
  const char *type = json_string_value(json_object_get(ev, "type"));
  int rc = 0;
  if (!json_is_object(ev) || !json_is_integer(seq) || !name || !action || !json_is_integer(version)) {
    c->fail_rc = SY_EPROTOCOL;
    snprintf(c->fail_msg, sizeof c->fail_msg, "a change event from %.100s is malformed", c->base);
    rc = 1;
    goto out;
  }
  if (json_integer_value(seq) <= c->applied) goto out; /* seen (a resume that overlaps) */
  c->applied = json_integer_value(seq);
  if (!has_prefix(c, name) || *name != '/') goto out;
  if (type) { /* the change wrote a version */
    if (pending_put(c, name, type, json_object_get(ev, "value"), json_integer_value(version))) rc = 1;
  } else if (json_integer_value(version) == 0 && (!strcmp(action, "delete") || !strcmp(action, "import"))) {
    lib_entry *t = sy__entry_new(&c->al, name, strlen(name), "", NULL, 0, 0, -1, SY_SOURCE_STREAM);
    if (!t || sy__ltab_put(&c->al, &c->pending, t)) {
      c->fail_rc = SY_ENOMEM;
      snprintf(c->fail_msg, sizeof c->fail_msg, "out of memory");
      rc = 1;
    }
    c->dirty = 1;
  }
  c->dirty = 1; /* the sequence number moved on: the snapshot says so */
out:
  json_decref(ev);
  return rc;
}

/* ---- transfers ---- */

static void mark_synced(sy_client *c) {
  pthread_mutex_lock(&c->mu);
  int was = c->st.state;
  c->st.state = SY_STATE_SYNCED;
  c->st.last_error = SY_OK;
  c->st.last_error_msg[0] = 0;
  c->st.synced_ms = wall_ms();
  pthread_mutex_unlock(&c->mu);
  if (was != SY_STATE_SYNCED && c->logged_error)
    log_json(c, SY_LOG_INFO, "Switchyard server reached again; following its changes",
             json_pack("{s:s, s:I}", "server", c->base, "seq", (json_int_t)c->applied));
  c->logged_error = 0;
  c->backoff = c->backoff_init;
}

static size_t on_stream(char *data, size_t size, size_t nmemb, void *ud) {
  sy_client *c = ud;
  size_t n = size * nmemb;
  if (!c->status) curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
  if (c->status != 200) return sy__body_write(data, size, nmemb, &c->body); /* the refusal's words */
  c->last_rx = mono_ms();
  if (c->stream_store[0] && strcmp(c->stream_store, c->store)) {
    c->failed = 1;
    c->fail_rc = SY_EPROTOCOL;
    c->need_snapshot = 1;
    snprintf(c->fail_msg, sizeof c->fail_msg, "the server's store changed (%s, was %s): reading its snapshot again",
             c->stream_store, c->store);
    return 0;
  }
  if (c->st.state != SY_STATE_SYNCED) mark_synced(c);
  int r = sy__sse_feed(&c->sse, data, n, on_event, c);
  if (r) {
    if (r < 0) {
      c->fail_rc = SY_ETOOLARGE;
      snprintf(c->fail_msg, sizeof c->fail_msg, "a change event from %.100s is longer than %zu bytes", c->base,
               EVENT_MAX);
    }
    c->failed = 1;
    return 0;
  }
  pthread_mutex_lock(&c->mu);
  c->st.synced_ms = wall_ms();
  pthread_mutex_unlock(&c->mu);
  return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud) {
  sy_client *c = ud;
  size_t n = size * nmemb;
  static const char name[] = "x-switchyard-store:";
  if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
    size_t i = sizeof name - 1, k = 0;
    while (i < n && (data[i] == ' ' || data[i] == '\t')) i++;
    while (i < n && data[i] != '\r' && data[i] != '\n' && k < sizeof c->stream_store - 1)
      c->stream_store[k++] = data[i++];
    c->stream_store[k] = 0;
  }
  return n;
}

static void transfer_end(sy_client *c) {
  if (c->easy) {
    curl_multi_remove_handle(c->multi, c->easy);
    curl_easy_cleanup(c->easy);
    c->easy = NULL;
  }
  curl_slist_free_all(c->hdrs);
  c->hdrs = NULL;
  free(c->body.p);
  memset(&c->body, 0, sizeof c->body);
  sy__sse_free(&c->sse);
  memset(&c->sse, 0, sizeof c->sse);
  c->phase = NET_IDLE;
}

/* A random wait in [ceiling/2, ceiling] ("equal jitter": never 0, so a server that refuses at
 * once is not hammered), and the ceiling doubles up to the maximum. */
static void schedule_retry(sy_client *c) {
  c->rng ^= c->rng << 13;
  c->rng ^= c->rng >> 7;
  c->rng ^= c->rng << 17;
  int b = c->backoff > 0 ? c->backoff : 1;
  c->retry_at = mono_ms() + b / 2 + (int64_t)(c->rng % (uint64_t)(b / 2 + 1));
  c->backoff = b >= c->backoff_max / 2 ? c->backoff_max : b * 2;
}

static void start_transfer(sy_client *c) {
  char msg[256], path[8300], lei[64];
  const char *extra[3] = {NULL, NULL, NULL};
  int stream = !c->need_snapshot;
  sy__http_target t = {.base = c->base, .token = c->token, .connect_ms = c->connect_ms};
  c->retry_at = -1;
  c->failed = 0;
  c->status = 0;
  c->stream_store[0] = 0;
  c->easy = curl_easy_init();
  if (!c->easy) {
    set_error(c, SY_ENOMEM, "cannot make a libcurl handle");
    schedule_retry(c);
    return;
  }
  snprintf(path, sizeof path, "%s%s", stream ? "/api/v1/watch" : "/api/v1/snapshot", c->prefix_query);
  if (stream) {
    snprintf(lei, sizeof lei, "Last-Event-ID: %lld", (long long)c->applied);
    extra[0] = lei;
    extra[1] = "Accept: text/event-stream";
  } else {
    t.total_ms = c->request_ms;
  }
  pthread_mutex_lock(&c->mu);
  c->st.reconnects++;
  pthread_mutex_unlock(&c->mu);
  if (sy__http_setup(c->easy, &t, "GET", path, NULL, 0, extra, &c->hdrs, c->url, sizeof c->url, msg, sizeof msg)) {
    set_error(c, SY_EINVAL, "%s", msg);
    transfer_end(c);
    schedule_retry(c);
    return;
  }
  curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "libswitchyard/" SWITCHYARD_VERSION);
  curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
  c->errbuf[0] = 0;
  if (stream) {
    sy__sse_init(&c->sse, EVENT_MAX);
    c->body.max = ERRBODY_MAX;
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    c->last_rx = mono_ms();
  } else {
    c->body.max = SNAPSHOT_MAX;
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, sy__body_write);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &c->body);
  }
  if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK) {
    set_error(c, SY_ENOMEM, "cannot start a transfer");
    transfer_end(c);
    schedule_retry(c);
    return;
  }
  c->phase = stream ? NET_STREAM : NET_SNAPSHOT;
}

/* The server's refusal in words: its error message, or the HTTP status. */
static void refusal(sy_client *c, const char *what) {
  sy__resp r = {.status = c->status, .body = c->body.p, .len = c->body.len};
  r.json = c->body.len ? json_loadb(c->body.p, c->body.len, 0, NULL) : NULL;
  const char *code, *message;
  sy_rc rc = sy__resp_error(&r, &code, &message);
  set_error(c, rc, "%s: HTTP %ld%s%.40s%s%.150s", what, c->status, *code ? " " : "", code, *message ? ": " : "",
            message);
  json_decref(r.json);
}

static void transfer_done(sy_client *c, CURLcode cc) {
  net_phase phase = c->phase;
  if (!c->status) curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
  if (phase == NET_SNAPSHOT) {
    if (cc != CURLE_OK) {
      set_error(c, c->body.too_large ? SY_ETOOLARGE : SY_EUNAVAILABLE, "cannot read the snapshot of %.100s: %.120s",
                c->base,
                c->body.too_large ? "it is too large"
                : *c->errbuf      ? c->errbuf
                                  : curl_easy_strerror(cc));
    } else if (c->status != 200) {
      refusal(c, "the snapshot was refused");
    } else if (take_snapshot(c)) {
      set_error(c, c->fail_rc, "%s", c->fail_msg);
    } else {
      transfer_end(c);
      publish(c, SY_SOURCE_STREAM);
      mark_synced(c); /* the server's state of now is in place; its changes follow */
      c->need_snapshot = 0;
      start_transfer(c); /* and follow the stream from the snapshot's sequence number */
      return;
    }
    transfer_end(c);
    schedule_retry(c);
    return;
  }
  /* the stream ended: a refusal, a failure, or the server closed it */
  if (c->status && c->status != 200) {
    refusal(c, "the change stream was refused");
    if (c->status >= 400 && c->status < 500 && c->status != 429) c->need_snapshot = 1; /* start afresh */
  } else if (c->failed) {
    set_error(c, c->fail_rc, "%s", c->fail_msg);
  } else {
    set_error(c, SY_EUNAVAILABLE, "the change stream of %.100s ended: %.150s", c->base,
              cc == CURLE_OK ? "the server closed it"
              : *c->errbuf   ? c->errbuf
                             : curl_easy_strerror(cc));
  }
  transfer_end(c);
  schedule_retry(c);
}

/* ---- the loop ---- */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp) {
  (void)e;
  (void)sockp;
  sy_client *c = ud;
  struct epoll_event ev = {.data.fd = fd};
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
    return 0;
  }
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
  if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT) epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

static int on_timer(CURLM *m, long ms, void *ud) {
  (void)m;
  sy_client *c = ud;
  c->curl_due = ms < 0 ? -1 : mono_ms() + ms;
  return 0;
}

static void reap(sy_client *c) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(c->multi, &left)))
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy) transfer_done(c, msg->data.result);
}

/* Waits up to wait_ms (0: not at all) for the descriptors, then does what is due. */
static void run_once(sy_client *c, int wait_ms) {
  struct epoll_event evs[16];
  int running, n = epoll_wait(c->epfd, evs, 16, wait_ms);
  for (int i = 0; i < n; i++) {
    if (evs[i].data.fd == c->wakefd) {
      uint64_t v;
      if (read(c->wakefd, &v, sizeof v) < 0) { /* nothing to do: the wake-up is the point */
      }
      continue;
    }
    int mask = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) | (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
               (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
    curl_multi_socket_action(c->multi, evs[i].data.fd, mask, &running);
  }
  int64_t now = mono_ms();
  if (c->curl_due >= 0 && now >= c->curl_due) {
    c->curl_due = -1;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  reap(c);
  if (c->phase == NET_STREAM && c->stall_ms > 0 && now - c->last_rx >= c->stall_ms) {
    set_error(c, SY_EUNAVAILABLE, "the change stream of %.100s sent nothing for %d ms (heartbeats included)", c->base,
              c->stall_ms);
    transfer_end(c);
    schedule_retry(c);
  }
  if (c->dirty && c->phase != NET_SNAPSHOT) publish(c, SY_SOURCE_STREAM);
  if (c->phase == NET_IDLE && c->retry_at >= 0 && mono_ms() >= c->retry_at) start_transfer(c);
}

/* How long the loop may sleep: until libcurl's timer, the next attempt or the stall check. */
static int next_wait(const sy_client *c) {
  int64_t now = mono_ms(), due = -1;
  if (c->curl_due >= 0) due = c->curl_due;
  if (c->phase == NET_IDLE && c->retry_at >= 0 && (due < 0 || c->retry_at < due)) due = c->retry_at;
  if (c->phase == NET_STREAM && c->stall_ms > 0 && (due < 0 || c->last_rx + c->stall_ms < due))
    due = c->last_rx + c->stall_ms;
  if (due < 0) return -1;
  return due <= now ? 0 : due - now > 60000 ? 60000 : (int)(due - now);
}

static void *net_main(void *arg) {
  sy_client *c = arg;
  while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) run_once(c, next_wait(c));
  return NULL;
}

/* ---- the client ---- */

static sy_rc wait_for(sy_client *c, int64_t seq, int timeout_ms, int until_failure);

static sy_rc copy_str(sy_client *c, char **dst, const char *s) {
  *dst = NULL;
  if (!s) return SY_OK;
  *dst = sy__lib_strndup(&c->al, s, strlen(s));
  return *dst ? SY_OK : SY_ENOMEM;
}

/* The prefix query: "?prefix=" and the prefixes joined by ','; they hold only a name's
 * characters (sy__path_check), which need no escaping but '%' never appears. */
static sy_rc make_query(sy_client *c) {
  size_t n = 1;
  for (int i = 0; i < c->nprefixes; i++) n += c->prefixes[i] ? strlen(c->prefixes[i]) + 1 : 0;
  c->prefix_query = sy__lib_malloc(&c->al, n + 16);
  if (!c->prefix_query) return SY_ENOMEM;
  size_t off = 0, cap = n + 16;
  c->prefix_query[0] = 0;
  for (int i = 0; i < c->nprefixes && c->prefixes[i]; i++)
    off += (size_t)snprintf(c->prefix_query + off, cap - off, "%s%s", i ? "," : "?prefix=", c->prefixes[i]);
  return SY_OK;
}

/* The first snapshot: the cache file's, else an empty one (the environment and the program's
 * defaults answer then). */
static sy_rc first_snapshot(sy_client *c) {
  lib_table t = {0};
  char msg[512], store[40] = "";
  int64_t seq = 0;
  sy_source src = SY_SOURCE_NONE;
  if (c->cache) {
    lib_cache_meta m = {c->base, (const char *const *)c->prefixes, c->nprefixes, NULL, 0};
    sy_rc rc = sy__cache_read(&c->al, c->cache, &m, &t, store, &seq, msg, sizeof msg);
    if (rc == SY_OK) {
      src = SY_SOURCE_CACHE;
      log_json(c, SY_LOG_INFO, "cache file loaded",
               json_pack("{s:s, s:I, s:I}", "file", c->cache, "params", (json_int_t)t.count, "seq", (json_int_t)seq));
    } else if (rc == SY_ENOMEM) {
      return rc;
    } else if (rc != SY_ENOTFOUND) {
      log_json(c, SY_LOG_WARN, "cache file ignored", json_pack("{s:s, s:s}", "file", c->cache, "error", msg));
    }
  }
  if (src == SY_SOURCE_NONE && sy__ltab_init(&c->al, &t, 0)) return SY_ENOMEM;
  c->pending = t;
  c->pending_full = 1;
  publish(c, src);
  if (!c->current) return SY_ENOMEM;
  return SY_OK;
}

SY_API sy_rc sy_client_new(const sy_options *o, sy_client **out) {
  sy_options defaults = {.start_timeout = 2000, .threaded = 1};
  char msg[300];
  sy_rc rc = SY_OK;
  if (!out) return SY_EINVAL;
  *out = NULL;
  if (!o) o = &defaults;
  pthread_once(&curl_once, curl_init_once);
  if (!curl_ok) return SY_EIO;
  sy_allocator al = o->has_alloc ? o->alloc : (sy_allocator){std_malloc, std_realloc, std_free, NULL};
  sy_client *c = al.malloc(al.ud, sizeof *c);
  if (!c) return SY_ENOMEM;
  memset(c, 0, sizeof *c);
  c->al.a = al;
  c->epfd = c->wakefd = -1;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  const char *token = o->token ? o->token : getenv("SWITCHYARD_TOKEN");
  if (sy__http_base(o->server, c->base, sizeof c->base, msg, sizeof msg) ||
      (token && sy__http_token_check(token, msg, sizeof msg))) {
    rc = SY_EINVAL;
    goto fail;
  }
  if ((rc = copy_str(c, &c->token, token)) || (rc = copy_str(c, &c->cache, o->cache))) goto fail;
  for (int i = 0; i < o->nprefixes; i++) {
    if ((rc = copy_str(c, &c->prefixes[i], o->prefixes[i]))) goto fail;
    c->nprefixes++;
  }
  if ((rc = make_query(c))) goto fail;
  c->connect_ms = o->connect_ms ? o->connect_ms : 2000;
  c->request_ms = o->request_ms ? o->request_ms : 10000;
  c->stall_ms = o->stall_ms ? o->stall_ms : 45000;
  c->backoff_init = o->backoff_init ? o->backoff_init : 100;
  c->backoff_max = o->backoff_max ? o->backoff_max : 30000;
  if (c->backoff_max < c->backoff_init) c->backoff_max = c->backoff_init;
  c->backoff = c->backoff_init;
  c->start_timeout = o->start_timeout;
  c->threaded = o->threaded;
  c->log = o->log;
  c->log_ud = o->log_ud;
  c->change = o->change;
  c->change_ud = o->change_ud;
  c->curl_due = -1;
  c->rng = (uint64_t)mono_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)c;
  if (!c->rng) c->rng = 1;
  if (sy__env_load(&c->al, &c->env)) {
    rc = SY_ENOMEM;
    goto fail;
  }
  c->epfd = epoll_create1(EPOLL_CLOEXEC);
  c->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  c->multi = curl_multi_init();
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.fd = c->wakefd;
  if (c->epfd < 0 || c->wakefd < 0 || !c->multi || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wakefd, &ev)) {
    rc = c->multi ? SY_EIO : SY_ENOMEM;
    goto fail;
  }
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
  if ((rc = first_snapshot(c))) goto fail;
  c->need_snapshot = 1;
  c->retry_at = mono_ms(); /* the first attempt is due now */
  if (c->threaded) {
    if (pthread_create(&c->thread, NULL, net_main, c)) {
      rc = SY_EIO;
      goto fail;
    }
    c->has_thread = 1;
    if (c->start_timeout > 0) wait_for(c, 0, c->start_timeout, 1);
  } else {
    run_once(c, 0); /* starts the first request */
  }
  *out = c;
  return SY_OK;
fail:
  sy_client_free(c);
  return rc;
}

SY_API void sy_client_free(sy_client *c) {
  if (!c) return;
  if (c->has_thread) {
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    if (write(c->wakefd, &one, sizeof one) < 0) { /* the thread also wakes at its next timeout */
    }
    pthread_join(c->thread, NULL);
  }
  transfer_end(c);
  if (c->multi) curl_multi_cleanup(c->multi);
  if (c->epfd >= 0) close(c->epfd);
  if (c->wakefd >= 0) close(c->wakefd);
  struct sy_snapshot *s = c->current;
  c->current = NULL;
  rcu_barrier_bp(); /* every retired snapshot has been let go */
  TSAN_ACQUIRE(&c->barrier_sync);
  sy__snap_unref(s);
  sy__ltab_free(&c->al, &c->pending);
  sy__env_free(&c->al, &c->env);
  sy__lib_free(&c->al, c->token);
  sy__lib_free(&c->al, c->cache);
  for (int i = 0; i < c->nprefixes; i++) sy__lib_free(&c->al, c->prefixes[i]);
  sy__lib_free(&c->al, c->prefix_query);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  sy_allocator al = c->al.a;
  al.free(al.ud, c);
}

SY_API void sy_free(sy_client *c, void *p) {
  if (c && p) sy__lib_free(&c->al, p);
}

SY_API sy_rc sy_client_state(sy_client *c, sy_state *out) {
  if (!c || !out) return SY_EINVAL;
  pthread_mutex_lock(&c->mu);
  *out = c->st;
  pthread_mutex_unlock(&c->mu);
  return SY_OK;
}

/* Waits up to timeout_ms until the client holds the server's snapshot at seq or later, or, with
 * until_failure, until an attempt to reach the server has failed (a client starting does not
 * wait for a server that is known to be down). */
static sy_rc wait_for(sy_client *c, int64_t seq, int timeout_ms, int until_failure) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t ns = ts.tv_nsec + (int64_t)(timeout_ms % 1000) * 1000000;
  ts.tv_sec += timeout_ms / 1000 + ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  sy_rc rc = SY_OK;
  pthread_mutex_lock(&c->mu);
  while (!(c->st.source == SY_SOURCE_STREAM && c->st.seq >= seq && c->st.updates) &&
         !(until_failure && c->st.state == SY_STATE_RECONNECTING)) {
    if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT) {
      rc = c->st.source == SY_SOURCE_STREAM && c->st.seq >= seq ? SY_OK : SY_EUNAVAILABLE;
      break;
    }
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

SY_API sy_rc sy_client_wait(sy_client *c, int64_t seq, int timeout_ms) {
  if (!c || !c->threaded || timeout_ms < 0) return SY_EINVAL;
  return wait_for(c, seq, timeout_ms, 0);
}

SY_API int sy_client_fd(sy_client *c) { return c && !c->threaded ? c->epfd : -1; }

SY_API sy_rc sy_client_step(sy_client *c, int *next_ms) {
  if (!c || c->threaded) return SY_EINVAL;
  run_once(c, 0);
  if (next_ms) *next_ms = next_wait(c);
  return SY_OK;
}

/* ---- reads ---- */

SY_API sy_snapshot *sy_snapshot_acquire(sy_client *c) {
  if (!c) return NULL;
  struct sy_snapshot *s = read_enter(c);
  __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
  read_leave(c);
  return s;
}

SY_API void sy_snapshot_release(sy_snapshot *s) { sy__snap_unref(s); }

SY_API int64_t sy_snapshot_seq(const sy_snapshot *s) { return s ? s->seq : 0; }
SY_API sy_source sy_snapshot_source(const sy_snapshot *s) { return s ? s->source : SY_SOURCE_NONE; }
SY_API size_t sy_snapshot_count(const sy_snapshot *s) { return s ? s->held : 0; }

/* The parameter name in s, else the environment's value: into out. */
static sy_rc snap_lookup(const sy_snapshot *s, const char *name, sy_value *out) {
  size_t len = strlen(name);
  const lib_entry *e = sy__ltab_get(&s->tab, name, len, 0);
  if (!e && name[0] != '/') e = sy__ltab_get(&s->tab, name, len, 1); /* "foo" is "/foo" */
  if (e && e->value) {
    *out = (sy_value){e->name, e->value, e->len, e->type, e->version, e->source};
    return SY_OK;
  }
  const lib_env_var *v = sy__env_get(&s->client->env, name, len, 0);
  if (!v) return SY_ENOTFOUND;
  *out = (sy_value){"", v->value, v->len, "String", 0, SY_SOURCE_ENV};
  return SY_OK;
}

SY_API sy_rc sy_snapshot_get(const sy_snapshot *s, const char *name, sy_value *out) {
  if (!s || !name || !out) return SY_EINVAL;
  return snap_lookup(s, name, out);
}

SY_API void sy_snapshot_each(const sy_snapshot *s, const char *prefix, int (*fn)(void *ud, const sy_value *v),
                             void *ud) {
  if (!s || !fn) return;
  size_t plen = prefix ? strlen(prefix) : 0;
  for (size_t i = 0; i < s->tab.count; i++) {
    const lib_entry *e = s->sorted[i];
    if (!e->value || (plen && (e->name_len < plen || memcmp(e->name, prefix, plen)))) continue;
    sy_value v = {e->name, e->value, e->len, e->type, e->version, e->source};
    if (fn(ud, &v)) break;
  }
}

SY_API sy_rc sy_param_get(sy_client *c, const char *name, char **value, size_t *len, int64_t *version,
                          sy_source *source) {
  if (!c || !name || !value) return SY_EINVAL;
  *value = NULL;
  sy_value v;
  const sy_snapshot *s = read_enter(c);
  sy_rc rc = snap_lookup(s, name, &v);
  if (!rc && !(*value = sy__lib_strndup(&c->al, v.value, v.len))) rc = SY_ENOMEM;
  read_leave(c);
  if (rc) return rc;
  if (len) *len = v.len;
  if (version) *version = v.version;
  if (source) *source = v.source;
  return SY_OK;
}

/* ---- flags ---- */

static const lib_entry *flag_entry(const sy_snapshot *s, const char *key) {
  size_t len = strlen(key);
  if (key[0] == '/') return sy__ltab_get(&s->tab, key, len, 0);
  return sy__ltab_get(&s->tab, key, len, 1);
}

SY_API int sy_flag_enabled(sy_client *c, const char *key, const char *subject, int default_value) {
  if (!c || !key) return default_value;
  int on = default_value;
  const sy_snapshot *s = read_enter(c);
  const lib_entry *e = flag_entry(s, key);
  if (e && e->flag) {
    sy_flag_result r;
    sy__flag_eval_subject(e->flag, NULL, subject, e->env_value, &r);
    if (r.reason != SY_FLAG_ERROR) {
      const sy_flag *f = e->flag;
      int v = -1;
      for (size_t i = 0; i < f->nvariants && v < 0; i++)
        if (f->variants[i].name == r.variant) v = (int)i;
      on = json_is_boolean(r.value) ? json_is_true(r.value) : v != f->def;
    }
  } else if (!e) {
    const lib_env_var *v = sy__env_get(&c->env, key, strlen(key), 1);
    if (v && !strcmp(v->value, "true")) on = 1;
    if (v && !strcmp(v->value, "false")) on = 0;
  }
  read_leave(c);
  return on;
}

static const char *const reasons[] = {"", "STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "DEFAULT", "ERROR"};

/* Evaluates into out with strings lent by s. */
static sy_rc eval_in(const sy_snapshot *s, const char *key, const char *subject, const char *context_json,
                     sy_eval *out) {
  memset(out, 0, sizeof *out);
  out->rule = -1;
  out->bucket = UINT32_MAX;
  out->reason = "ERROR";
  const lib_entry *e = flag_entry(s, key);
  if (!e || !e->flag) {
    const lib_env_var *v = e ? NULL : sy__env_get(&s->client->env, key, strlen(key), 1);
    if (v && (!strcmp(v->value, "true") || !strcmp(v->value, "false"))) {
      out->variant = (char *)(v->value[0] == 't' ? "on" : "off");
      out->value = v->value;
      out->reason = "STATIC";
      out->source = SY_SOURCE_ENV;
      return SY_OK;
    }
    out->error_code = e ? "TYPE_MISMATCH" : "FLAG_NOT_FOUND";
    snprintf(out->error_message, sizeof out->error_message, e ? "%.100s is a %.20s, not a flag" : "no flag %.100s",
             e ? e->name : key, e ? e->type : "");
    out->source = e ? e->source : SY_SOURCE_DEFAULT;
    out->version = e ? e->version : 0;
    return SY_OK;
  }
  json_t *ctx = NULL;
  if (context_json) {
    json_error_t jerr;
    size_t n = strlen(context_json);
    ctx = n <= SY_FLAG_CONTEXT_MAX ? json_loadb(context_json, n, 0, &jerr) : NULL;
    if (!json_is_object(ctx)) {
      json_decref(ctx);
      out->error_code = "INVALID_CONTEXT";
      snprintf(out->error_message, sizeof out->error_message, "%s",
               n > SY_FLAG_CONTEXT_MAX ? "the context is longer than 65536 bytes" : "the context is not a JSON object");
      out->source = e->source;
      out->version = e->version;
      return SY_OK;
    }
  }
  sy_flag_result r;
  if (subject) {
    sy__flag_eval_subject(e->flag, ctx, subject, e->env_value, &r);
  } else {
    const json_t *tk = json_object_get(ctx, "targetingKey");
    if (tk && !json_is_string(tk)) {
      sy__flag_eval(e->flag, ctx, NULL, &r); /* reports the bad targetingKey */
    } else {
      sy__flag_eval_subject(e->flag, ctx, json_string_value(tk), e->env_value, &r);
    }
  }
  json_decref(ctx);
  out->version = e->version;
  out->source = r.overridden ? SY_SOURCE_ENV : e->source;
  out->bucket = r.bucket;
  out->rule = r.rule;
  out->reason = reasons[r.reason < 7 ? r.reason : 6];
  for (size_t i = 0; i < e->nvariants; i++)
    if (e->flag->variants[i].name == r.variant || e->flag->variants[i].value == r.value) {
      out->variant = (char *)e->flag->variants[i].name;
      out->value = e->variant_json[i];
      break;
    }
  if (r.reason == SY_FLAG_ERROR) {
    out->error_code = sy__flag_error_name(r.error);
    out->variant = NULL;
    snprintf(out->error_message, sizeof out->error_message, "%s", r.detail);
  }
  return SY_OK;
}

SY_API sy_rc sy_snapshot_evaluate(const sy_snapshot *s, const char *key, const char *subject, const char *context_json,
                                  sy_eval *out) {
  if (!s || !key || !out) return SY_EINVAL;
  return eval_in(s, key, subject, context_json, out);
}

SY_API sy_rc sy_flag_evaluate(sy_client *c, const char *key, const char *subject, const char *context_json,
                              sy_eval *out) {
  if (!c || !key || !out) return SY_EINVAL;
  sy_snapshot *s = sy_snapshot_acquire(c);
  sy_rc rc = eval_in(s, key, subject, context_json, out);
  char *variant = out->variant, *value = out->value;
  out->variant = out->value = NULL;
  if (!rc && variant && !(out->variant = sy__lib_strndup(&c->al, variant, strlen(variant)))) rc = SY_ENOMEM;
  if (!rc && value && !(out->value = sy__lib_strndup(&c->al, value, strlen(value)))) rc = SY_ENOMEM;
  out->owned = 1;
  sy_snapshot_release(s);
  if (rc) sy_eval_clear(c, out);
  return rc;
}

SY_API void sy_eval_clear(sy_client *c, sy_eval *e) {
  if (!e) return;
  if (e->owned && c) {
    sy__lib_free(&c->al, e->variant);
    sy__lib_free(&c->al, e->value);
  }
  memset(e, 0, sizeof *e);
}

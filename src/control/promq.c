/* promq.c — Prometheus instant queries: a cache of (url, query) → last answer that one
 * worker thread keeps fresh with libcurl, and the parser of Prometheus' query API JSON. */
#include "control/promq.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENTRIES_MAX 256        /* cached queries; past it a new one is refused until one idles */
#define IDLE_MS 60000          /* a query not read for this long is no longer asked, and may go */
#define REFRESH_MS 1000        /* a query's answer is asked again after this long */
#define BODY_MAX (1024 * 1024) /* an answer past this is refused */
#define WHY_MAX 320            /* what a cached failure says */
#define VALUE_TEXT_MAX 64      /* a sample's value string */

typedef struct entry {
  int used;
  uint64_t gen; /* changes whenever the slot is given to another query */
  char url[SY_PROMQ_URL_MAX + 1];
  char query[SY_PROMQ_QUERY_MAX + 1];
  int64_t read_ms;     /* monotonic: the last sy__promq_get of it */
  int64_t answered_ms; /* monotonic: when the last answer came (0: never asked) */
  int ok;
  double value;
  char why[WHY_MAX];
} entry;

struct sy_promq {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t worker;
  int started;
  int stop;     /* atomic: the worker ends (read without the lock during a round) */
  CURLM *multi; /* the worker's; curl_multi_wakeup from sy__promq_free */
  int kick;     /* a new query waits for its first answer */
  entry *e;     /* ENTRIES_MAX slots */
  uint64_t gens;
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* url without its user:password@ part (if any) into out (cap bytes), for messages. */
static void url_redact(const char *url, char *out, size_t cap) {
  const char *scheme_end = strstr(url, "://");
  if (!scheme_end) {
    snprintf(out, cap, "%s", url);
    return;
  }
  const char *auth = scheme_end + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *at = NULL;
  for (size_t k = 0; k < alen; k++)
    if (auth[k] == '@') at = auth + k;
  if (!at) {
    snprintf(out, cap, "%s", url);
    return;
  }
  snprintf(out, cap, "%.*s%s", (int)(auth - url), url, at + 1);
}

/* ---- the parser ---- */

/* A sample's value string into *out: Prometheus writes floats as Go does ("1.5", "1e+06",
 * "NaN", "+Inf", "-Inf"). Anything else (hex, "infinity", junk after the number) is refused. */
static int value_parse(const char *s, size_t len, double *out) {
  if (!len || len > VALUE_TEXT_MAX || strlen(s) != len) return -1;
  if (!strcmp(s, "NaN")) {
    *out = NAN;
    return 0;
  }
  if (!strcmp(s, "+Inf") || !strcmp(s, "Inf")) {
    *out = INFINITY;
    return 0;
  }
  if (!strcmp(s, "-Inf")) {
    *out = -INFINITY;
    return 0;
  }
  for (size_t k = 0; k < len; k++)
    if (!strchr("0123456789.eE+-", s[k])) return -1;
  char *end = NULL;
  errno = 0;
  double d = strtod(s, &end);
  if (end != s + len || errno == ERANGE) return -1;
  *out = d;
  return 0;
}

/* A [timestamp, "value"] pair into *out; -1 if it is not one. */
static int sample_parse(json_t *pair, double *out) {
  if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_number(json_array_get(pair, 0))) return -1;
  json_t *v = json_array_get(pair, 1);
  if (!json_is_string(v)) return -1;
  return value_parse(json_string_value(v), json_string_length(v), out);
}

int sy__promq_parse(const char *body, size_t len, double *value, char *why, size_t cap) {
  static const char not_api[] = "Prometheus answered something that is not its query API's JSON";
  int rc = -1;
  json_error_t err;
  json_t *root = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &err) : NULL;
  if (!json_is_object(root)) {
    snprintf(why, cap, "%s", not_api);
    goto out;
  }
  const char *status = json_string_value(json_object_get(root, "status"));
  if (status && !strcmp(status, "error")) {
    const char *type = json_string_value(json_object_get(root, "errorType"));
    const char *msg = json_string_value(json_object_get(root, "error"));
    snprintf(why, cap, "Prometheus refused the query: %.40s%s%.200s", type ? type : "error", msg ? ": " : "",
             msg ? msg : "");
    goto out;
  }
  json_t *data = json_object_get(root, "data");
  const char *type = json_string_value(json_object_get(data, "resultType"));
  json_t *result = json_object_get(data, "result");
  if (!status || strcmp(status, "success") || !json_is_object(data) || !type) {
    snprintf(why, cap, "%s", not_api);
    goto out;
  }
  double v = 0;
  if (!strcmp(type, "scalar")) {
    if (sample_parse(result, &v)) {
      snprintf(why, cap, "%s", not_api);
      goto out;
    }
  } else if (!strcmp(type, "vector")) {
    if (!json_is_array(result)) {
      snprintf(why, cap, "%s", not_api);
      goto out;
    }
    size_t n = json_array_size(result);
    if (!n) {
      snprintf(why, cap, "the query returned no series");
      goto out;
    }
    if (n > 1) {
      snprintf(why, cap, "the query returned %zu series; a gate needs exactly one", n);
      goto out;
    }
    json_t *s = json_array_get(result, 0);
    if (!json_is_object(s) || sample_parse(json_object_get(s, "value"), &v)) {
      snprintf(why, cap, "%s", not_api);
      goto out;
    }
  } else if (!strcmp(type, "matrix") || !strcmp(type, "string")) {
    snprintf(why, cap, "the query returned a %s; a gate needs an instant vector or a scalar", type);
    goto out;
  } else {
    snprintf(why, cap, "%s", not_api);
    goto out;
  }
  if (isnan(v)) {
    snprintf(why, cap, "the query's value is NaN");
    goto out;
  }
  *value = v;
  rc = 0;
out:
  json_decref(root);
  return rc;
}

/* ---- the queries over HTTP ---- */

/* One query being asked: its slot (and the slot's generation, so that an answer to a query
 * whose slot went to another is dropped), the request and what came back so far. */
typedef struct xfer {
  CURL *c;
  int slot;
  uint64_t gen;
  char *full;                       /* the request's URL */
  char shown[SY_PROMQ_URL_MAX + 1]; /* the base URL without user:password, for messages */
  char err[CURL_ERROR_SIZE];
  char *body;
  size_t n, cap;
  int over; /* the body passed BODY_MAX */
} xfer;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx) {
  xfer *x = ctx;
  size_t n = size * nmemb;
  if (n > BODY_MAX - x->n) {
    x->over = 1;
    return 0; /* ends the transfer */
  }
  if (x->n + n + 1 > x->cap) {
    size_t cap = x->cap ? x->cap : 16384;
    while (cap < x->n + n + 1) cap *= 2;
    char *p = realloc(x->body, cap);
    if (!p) return 0;
    x->body = p;
    x->cap = cap;
  }
  memcpy(x->body + x->n, data, n);
  x->n += n;
  x->body[x->n] = 0;
  return n;
}

static void xfer_free(xfer *x) {
  if (x->c) curl_easy_cleanup(x->c);
  free(x->full);
  free(x->body);
  memset(x, 0, sizeof *x);
}

/* Prepares the request of query at url into x (zeroed by the caller); -1 on ENOMEM. */
static int xfer_init(xfer *x, const char *url, const char *query) {
  url_redact(url, x->shown, sizeof x->shown);
  if (!(x->c = curl_easy_init())) return -1;
  char *esc = curl_easy_escape(x->c, query, (int)strlen(query));
  if (!esc) return -1;
  size_t ulen = strlen(url);
  while (ulen && url[ulen - 1] == '/') ulen--;
  size_t flen = ulen + strlen(esc) + sizeof "/api/v1/query?query=";
  if ((x->full = malloc(flen))) snprintf(x->full, flen, "%.*s/api/v1/query?query=%s", (int)ulen, url, esc);
  curl_free(esc);
  if (!x->full) return -1;
  CURL *c = x->c;
  curl_easy_setopt(c, CURLOPT_URL, x->full);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)SY_PROMQ_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)SY_PROMQ_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(c, CURLOPT_PRIVATE, x);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->err);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BODY_MAX);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "switchyard-promq");
  return 0;
}

/* What the finished transfer x (curl's result cc) answered: the value (0) or why (-1). */
static int xfer_result(xfer *x, CURLcode cc, double *value, char *why, size_t cap) {
  if (x->over || cc == CURLE_FILESIZE_EXCEEDED) {
    snprintf(why, cap, "Prometheus at %.120s answered more than %d bytes", x->shown, BODY_MAX);
    return -1;
  }
  if (cc != CURLE_OK) {
    /* curl's own words name the host and port at most, never the user:password part */
    snprintf(why, cap, "Prometheus at %.120s did not answer: %.160s", x->shown,
             x->err[0] ? x->err : curl_easy_strerror(cc));
    return -1;
  }
  long status = 0;
  curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    char detail[WHY_MAX];
    double ignored;
    /* 400 and 422 carry Prometheus' reason (a bad query) in its error shape */
    if (x->body && sy__promq_parse(x->body, x->n, &ignored, detail, sizeof detail) &&
        !strncmp(detail, "Prometheus refused the query: ", 30))
      snprintf(why, cap, "Prometheus answered HTTP %ld: %.250s", status, detail + 30);
    else
      snprintf(why, cap, "Prometheus answered HTTP %ld", status);
    return -1;
  }
  return sy__promq_parse(x->body, x->n, value, why, cap);
}

/* ---- the cache and its worker ---- */

/* Stores the answer of the finished transfer x in its slot, if the slot still holds its
 * query. Takes the lock. */
static void answer(sy_promq *q, xfer *x, CURLcode cc) {
  double v = 0;
  char why[WHY_MAX];
  int rc = xfer_result(x, cc, &v, why, sizeof why);
  pthread_mutex_lock(&q->mu);
  entry *e = &q->e[x->slot];
  if (e->used && e->gen == x->gen) {
    e->answered_ms = mono_ms();
    e->ok = !rc;
    e->value = v;
    if (rc) snprintf(e->why, sizeof e->why, "%s", why);
  }
  pthread_mutex_unlock(&q->mu);
}

/* One round: asks every query read in the last minute whose answer is a second old, all at
 * once on the multi handle, and stores each answer as it comes. Returns when all are done
 * or the promq stops. Called without the lock. */
static void round_ask(sy_promq *q, xfer *xs) {
  int n = 0;
  pthread_mutex_lock(&q->mu);
  int64_t now = mono_ms();
  for (int i = 0; i < ENTRIES_MAX; i++) {
    entry *e = &q->e[i];
    if (!e->used || now - e->read_ms > IDLE_MS) continue;
    if (e->answered_ms && now - e->answered_ms < REFRESH_MS) continue;
    xs[n].slot = i;
    xs[n].gen = e->gen;
    if (xfer_init(&xs[n], e->url, e->query)) {
      e->answered_ms = now; /* out of memory: this round skips it */
      e->ok = 0;
      snprintf(e->why, sizeof e->why, "out of memory asking Prometheus");
      xfer_free(&xs[n]);
      continue;
    }
    n++;
  }
  pthread_mutex_unlock(&q->mu);
  for (int k = 0; k < n; k++) curl_multi_add_handle(q->multi, xs[k].c);
  int running = n;
  while (running && !__atomic_load_n(&q->stop, __ATOMIC_ACQUIRE)) {
    if (curl_multi_perform(q->multi, &running) != CURLM_OK) break;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(q->multi, &left)))
      if (msg->msg == CURLMSG_DONE) {
        xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x) answer(q, x, msg->data.result);
      }
    if (running) curl_multi_poll(q->multi, NULL, 0, 1000, NULL);
  }
  for (int k = 0; k < n; k++) {
    curl_multi_remove_handle(q->multi, xs[k].c);
    xfer_free(&xs[k]);
  }
}

/* The worker: a round, then a quarter of a second (each answer is then about a second old
 * at most), or less when a new query comes. */
static void *worker_main(void *arg) {
  sy_promq *q = arg;
  xfer *xs = calloc(ENTRIES_MAX, sizeof *xs);
  pthread_mutex_lock(&q->mu);
  while (!q->stop && xs) {
    q->kick = 0;
    pthread_mutex_unlock(&q->mu);
    round_ask(q, xs);
    pthread_mutex_lock(&q->mu);
    if (q->kick) continue; /* a query came during the round: its first answer now */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 250 * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    if (!q->stop) pthread_cond_timedwait(&q->cv, &q->mu, &until);
  }
  pthread_mutex_unlock(&q->mu);
  free(xs);
  return NULL;
}

sy_rc sy__promq_new(sy_promq **out) {
  *out = NULL;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return SY_EIO;
  sy_promq *q = calloc(1, sizeof *q);
  if (!q || !(q->e = calloc(ENTRIES_MAX, sizeof *q->e)) || !(q->multi = curl_multi_init())) {
    if (q) free(q->e);
    free(q);
    curl_global_cleanup();
    return SY_ENOMEM;
  }
  /* gentle with one Prometheus: the rest of a round waits its turn */
  curl_multi_setopt(q->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&q->mu, NULL);
  if (pthread_create(&q->worker, NULL, worker_main, q)) {
    sy__promq_free(q);
    return SY_ENOMEM;
  }
  q->started = 1;
  *out = q;
  return SY_OK;
}

void sy__promq_free(sy_promq *q) {
  if (!q) return;
  pthread_mutex_lock(&q->mu);
  __atomic_store_n(&q->stop, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&q->cv);
  pthread_mutex_unlock(&q->mu);
  curl_multi_wakeup(q->multi); /* a round in flight is abandoned */
  if (q->started) pthread_join(q->worker, NULL);
  curl_multi_cleanup(q->multi);
  pthread_cond_destroy(&q->cv);
  pthread_mutex_destroy(&q->mu);
  free(q->e);
  free(q);
  curl_global_cleanup();
}

/* Whether url is one the worker may ask: http(s)://, no control characters, spaces, query or
 * fragment (the query API's path and query are appended to it). */
static int url_ok(const char *url, size_t len) {
  if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) return 0;
  for (size_t k = 0; k < len; k++)
    if ((unsigned char)url[k] <= 0x20 || url[k] == 0x7f || url[k] == '?' || url[k] == '#') return 0;
  return 1;
}

int sy__promq_get(sy_promq *q, const char *base_url, const char *query, double *value, char *why, size_t cap) {
  size_t ulen = base_url ? strlen(base_url) : 0, qlen = query ? strlen(query) : 0;
  if (!ulen || ulen > SY_PROMQ_URL_MAX || !url_ok(base_url, ulen)) {
    snprintf(why, cap, "the Prometheus URL must be http(s)://host[:port][/prefix], at most %d bytes", SY_PROMQ_URL_MAX);
    return -1;
  }
  if (!qlen || qlen > SY_PROMQ_QUERY_MAX) {
    snprintf(why, cap, "a Prometheus query is 1 to %d bytes", SY_PROMQ_QUERY_MAX);
    return -1;
  }
  int rc = -1;
  int64_t now = mono_ms();
  pthread_mutex_lock(&q->mu);
  entry *e = NULL, *free_slot = NULL, *idlest = NULL;
  for (int i = 0; i < ENTRIES_MAX; i++) {
    entry *x = &q->e[i];
    if (!x->used) {
      if (!free_slot) free_slot = x;
      continue;
    }
    if (!strcmp(x->url, base_url) && !strcmp(x->query, query)) {
      e = x;
      break;
    }
    if (now - x->read_ms > IDLE_MS && (!idlest || x->read_ms < idlest->read_ms)) idlest = x;
  }
  if (!e) {
    e = free_slot ? free_slot : idlest;
    if (!e) {
      snprintf(why, cap, "too many Prometheus queries (at most %d read in a minute)", ENTRIES_MAX);
      goto out;
    }
    memset(e, 0, sizeof *e);
    e->used = 1;
    e->gen = ++q->gens;
    memcpy(e->url, base_url, ulen + 1);
    memcpy(e->query, query, qlen + 1);
    e->read_ms = now;
    q->kick = 1;
    pthread_cond_signal(&q->cv);
    snprintf(why, cap, "no answer yet");
    goto out;
  }
  if (now - e->read_ms > IDLE_MS) { /* the worker had stopped asking it: ask now */
    q->kick = 1;
    pthread_cond_signal(&q->cv);
  }
  e->read_ms = now;
  if (!e->answered_ms) {
    snprintf(why, cap, "no answer yet");
  } else if (now - e->answered_ms > SY_PROMQ_STALE_MS) {
    snprintf(why, cap, "the last answer is %lld s old", (long long)((now - e->answered_ms) / 1000));
  } else if (!e->ok) {
    snprintf(why, cap, "%s", e->why);
  } else {
    *value = e->value;
    rc = 0;
  }
out:
  pthread_mutex_unlock(&q->mu);
  return rc;
}

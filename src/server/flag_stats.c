/* flag_stats.c — per-flag evaluation counts in ring buffers (see flag_stats.h).
 *
 * The table is an open-addressed array of pointers to entries, twice as large as the number
 * of keys it may hold. An entry is made once per key, under the table's insert mutex, and
 * published with a release store; it is never moved or removed until the table is freed, so
 * a lookup reads the array with acquire loads and takes no lock. Each entry has a mutex of
 * its own guarding its buckets: evaluations of different flags never contend. A bucket is
 * reset lazily, when it is first touched for a new second (minute), so an idle flag costs
 * nothing and a reader skips buckets whose stamp has passed out of the window. */
#include "server/flag_stats.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/http.h"

#define SLOTS (2 * SY_FLAG_STATS_KEYS) /* a power of two */
#define WINDOW 60

typedef struct bucket {
  int64_t stamp; /* the second (minute) it counts; INT64_MIN when never used */
  uint32_t n, on;
} bucket;

typedef struct entry {
  uint64_t hash;
  pthread_mutex_t mu; /* guards sec and min */
  bucket sec[WINDOW], min[WINDOW];
  char key[]; /* NUL-terminated */
} entry;

struct sy_flag_stats {
  const sy_clock *clock;
  pthread_mutex_t insert; /* serialises making entries */
  size_t nkeys;           /* written under insert; read without it as a hint */
  uint64_t dropped;       /* atomic */
  entry *slots[SLOTS];    /* atomic pointers, set once */
};

static uint64_t key_hash(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

sy_flag_stats *sy__flag_stats_new(const sy_clock *clock) {
  sy_flag_stats *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->clock = clock;
  if (pthread_mutex_init(&st->insert, NULL)) {
    free(st);
    return NULL;
  }
  return st;
}

void sy__flag_stats_free(sy_flag_stats *st) {
  if (!st) return;
  for (size_t i = 0; i < SLOTS; i++) {
    if (!st->slots[i]) continue;
    pthread_mutex_destroy(&st->slots[i]->mu);
    free(st->slots[i]);
  }
  pthread_mutex_destroy(&st->insert);
  free(st);
}

uint64_t sy__flag_stats_dropped(const sy_flag_stats *st) {
  return st ? __atomic_load_n(&st->dropped, __ATOMIC_RELAXED) : 0;
}

/* The entry of key, or NULL; with make, creates it when there is room. */
static entry *find(sy_flag_stats *st, const char *key, int make) {
  uint64_t h = key_hash(key);
  size_t i = (size_t)h & (SLOTS - 1);
  for (size_t probe = 0; probe < SLOTS; probe++, i = (i + 1) & (SLOTS - 1)) {
    entry *e = __atomic_load_n(&st->slots[i], __ATOMIC_ACQUIRE);
    if (!e) break;
    if (e->hash == h && strcmp(e->key, key) == 0) return e;
  }
  if (!make || __atomic_load_n(&st->nkeys, __ATOMIC_RELAXED) >= SY_FLAG_STATS_KEYS) return NULL;
  entry *made = NULL;
  pthread_mutex_lock(&st->insert);
  /* probe again: another thread may have made it, or filled the free slot, meanwhile */
  i = (size_t)h & (SLOTS - 1);
  for (size_t probe = 0; probe < SLOTS; probe++, i = (i + 1) & (SLOTS - 1)) {
    entry *e = st->slots[i];
    if (e && e->hash == h && strcmp(e->key, key) == 0) {
      made = e;
      break;
    }
    if (e) continue;
    if (st->nkeys >= SY_FLAG_STATS_KEYS) break;
    size_t klen = strlen(key);
    e = malloc(sizeof *e + klen + 1);
    if (!e) break;
    e->hash = h;
    memcpy(e->key, key, klen + 1);
    for (int b = 0; b < WINDOW; b++) {
      e->sec[b] = (bucket){.stamp = INT64_MIN};
      e->min[b] = (bucket){.stamp = INT64_MIN};
    }
    if (pthread_mutex_init(&e->mu, NULL)) {
      free(e);
      break;
    }
    __atomic_store_n(&st->nkeys, st->nkeys + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&st->slots[i], e, __ATOMIC_RELEASE);
    made = e;
    break;
  }
  pthread_mutex_unlock(&st->insert);
  return made;
}

static void bump(bucket *b, int64_t stamp, int on) {
  if (b->stamp != stamp) *b = (bucket){.stamp = stamp};
  b->n++;
  b->on += (uint32_t)on;
}

int sy__flag_result_enabled(const sy_flag_result *res) {
  if (res->reason == SY_FLAG_ERROR || !res->variant) return 0;
  if (res->value && json_is_boolean(res->value)) return json_is_true(res->value);
  return res->reason == SY_FLAG_STATIC || res->reason == SY_FLAG_TARGETING_MATCH || res->reason == SY_FLAG_SPLIT;
}

void sy__flag_stats_add(sy_flag_stats *st, const char *key, int enabled) {
  entry *e = find(st, key, 1);
  if (!e) {
    __atomic_fetch_add(&st->dropped, 1, __ATOMIC_RELAXED);
    return;
  }
  int64_t s = sy__clock_tick(st->clock) / 1000, m = s / 60;
  pthread_mutex_lock(&e->mu);
  bump(&e->sec[s % WINDOW], s, enabled);
  bump(&e->min[m % WINDOW], m, enabled);
  pthread_mutex_unlock(&e->mu);
}

void sy__flag_stats_get(sy_flag_stats *st, const char *key, sy_flag_stats_view *out) {
  memset(out, 0, sizeof *out);
  entry *e = find(st, key, 0);
  if (!e) return;
  int64_t s = sy__clock_tick(st->clock) / 1000, m = s / 60;
  pthread_mutex_lock(&e->mu);
  for (int b = 0; b < WINDOW; b++) {
    if (e->sec[b].stamp > s - WINDOW && e->sec[b].stamp <= s) {
      out->minute += e->sec[b].n;
      out->minute_enabled += e->sec[b].on;
    }
    if (e->min[b].stamp > m - WINDOW && e->min[b].stamp <= m) {
      out->hour += e->min[b].n;
      out->hour_enabled += e->min[b].on;
    }
  }
  pthread_mutex_unlock(&e->mu);
}

void sy__flag_stats_record(sy_server *srv, const char *key, const sy_flag_result *res) {
  if (srv->flag_stats) sy__flag_stats_add(srv->flag_stats, key, sy__flag_result_enabled(res));
}

void sy__flag_stats_read(sy_server *srv, const char *key, sy_flag_stats_view *out) {
  if (srv->flag_stats) {
    sy__flag_stats_get(srv->flag_stats, key, out);
    return;
  }
  memset(out, 0, sizeof *out);
}

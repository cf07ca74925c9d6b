/* pushed.c — metrics that applications push per flag and variant, in memory: a total since
 * start and a ring of the last 60 minutes per series, found by a hash table. */
#include "control/pushed.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTES 60
#define KEY_MAX 1200 /* "flag\0variant" */

typedef struct minute {
  int64_t minute; /* wall-clock minute (ms / 60000) it counts */
  sy_counts c;
} minute;

typedef struct series {
  char *key; /* flag '\n' variant */
  sy_counts total;
  minute ring[MINUTES];
} series;

struct sy_pushed {
  const sy_clock *clock;
  pthread_mutex_t mu;
  series **slots; /* open addressing, cap a power of two */
  size_t cap, n;
};

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int make_key(const char *flag, const char *variant, char out[KEY_MAX]) {
  int n = snprintf(out, KEY_MAX, "%s\n%s", flag, variant);
  return n < 0 || n >= KEY_MAX ? -1 : 0;
}

/* The slot of key: its series, or the empty slot it would take. */
static series **slot_of(sy_pushed *p, const char *key) {
  size_t i = hash(key) & (p->cap - 1);
  while (p->slots[i] && strcmp(p->slots[i]->key, key)) i = (i + 1) & (p->cap - 1);
  return &p->slots[i];
}

sy_rc sy__pushed_new(const sy_clock *clock, sy_pushed **out) {
  sy_pushed *p = calloc(1, sizeof *p);
  if (!p) return SY_ENOMEM;
  p->clock = clock;
  p->cap = 64;
  p->slots = calloc(p->cap, sizeof *p->slots);
  if (!p->slots) {
    free(p);
    return SY_ENOMEM;
  }
  pthread_mutex_init(&p->mu, NULL);
  *out = p;
  return SY_OK;
}

void sy__pushed_free(sy_pushed *p) {
  if (!p) return;
  for (size_t i = 0; i < p->cap; i++)
    if (p->slots[i]) {
      free(p->slots[i]->key);
      free(p->slots[i]);
    }
  free(p->slots);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static int grow(sy_pushed *p) {
  size_t cap = p->cap * 2;
  series **n = calloc(cap, sizeof *n);
  if (!n) return -1;
  series **old = p->slots;
  size_t ocap = p->cap;
  p->slots = n;
  p->cap = cap;
  for (size_t i = 0; i < ocap; i++)
    if (old[i]) *slot_of(p, old[i]->key) = old[i];
  free(old);
  return 0;
}

/* Adds c to key's series in minute m, making the series if it is new (the caller made
 * room: p->n below the limit, the table at most half full after it). Under p->mu. */
static sy_rc add_locked(sy_pushed *p, const char *key, int64_t m, const sy_counts *c) {
  series **sl = slot_of(p, key);
  if (!*sl) {
    if (p->n >= SY_PUSHED_SERIES_MAX) return SY_ETOOLARGE;
    if ((p->n + 1) * 2 > p->cap) {
      if (grow(p)) return SY_ENOMEM;
      sl = slot_of(p, key);
    }
    series *s = calloc(1, sizeof *s);
    if (!s || !(s->key = strdup(key))) {
      free(s);
      return SY_ENOMEM;
    }
    *sl = s;
    p->n++;
  }
  series *s = *sl;
  minute *mm = &s->ring[m % MINUTES];
  if (mm->minute != m) {
    memset(mm, 0, sizeof *mm);
    mm->minute = m;
  }
  sy__counts_add(&mm->c, c);
  sy__counts_add(&s->total, c);
  return SY_OK;
}

sy_rc sy__pushed_add(sy_pushed *p, const char *flag, const char *variant, const sy_counts *c) {
  sy_pushed_item it = {flag, variant, *c};
  return sy__pushed_add_all(p, &it, 1);
}

sy_rc sy__pushed_add_all(sy_pushed *p, const sy_pushed_item *items, size_t n) {
  char key[KEY_MAX];
  for (size_t i = 0; i < n; i++)
    if (make_key(items[i].flag, items[i].variant, key)) return SY_EINVAL;
  int64_t m = sy__clock_now(p->clock) / 60000;
  sy_rc rc = SY_OK;
  pthread_mutex_lock(&p->mu);
  /* room first, so that nothing of the batch counts unless all of it can */
  size_t fresh = 0;
  for (size_t i = 0; i < n; i++) {
    make_key(items[i].flag, items[i].variant, key);
    fresh += !*slot_of(p, key);
  }
  if (fresh > SY_PUSHED_SERIES_MAX - p->n) {
    rc = SY_ETOOLARGE;
    goto out;
  }
  while ((p->n + fresh) * 2 > p->cap)
    if (grow(p)) {
      rc = SY_ENOMEM;
      goto out;
    }
  for (size_t i = 0; i < n && !rc; i++) {
    make_key(items[i].flag, items[i].variant, key);
    rc = add_locked(p, key, m, &items[i].c);
  }
out:
  pthread_mutex_unlock(&p->mu);
  return rc;
}

int sy__pushed_total(sy_pushed *p, const char *flag, const char *variant, sy_counts *out) {
  return sy__pushed_range(p, flag, variant, 0, 0, out);
}

int sy__pushed_range(sy_pushed *p, const char *flag, const char *variant, int64_t from_ms, int64_t to_ms,
                     sy_counts *out) {
  char key[KEY_MAX];
  memset(out, 0, sizeof *out);
  if (make_key(flag, variant, key)) return -1;
  pthread_mutex_lock(&p->mu);
  series *s = *slot_of(p, key);
  if (s && !from_ms && !to_ms) {
    *out = s->total;
  } else if (s) {
    int64_t first = from_ms / 60000, last = (to_ms - 1) / 60000;
    for (int i = 0; i < MINUTES; i++)
      if (s->ring[i].minute >= first && s->ring[i].minute <= last && s->ring[i].c.requests + s->ring[i].c.errors)
        sy__counts_add(out, &s->ring[i].c);
  }
  pthread_mutex_unlock(&p->mu);
  return s ? 0 : -1;
}

void sy__pushed_each(sy_pushed *p, const char *flag, sy_pushed_each_fn cb, void *ctx) {
  size_t fl = strlen(flag);
  pthread_mutex_lock(&p->mu);
  for (size_t i = 0; i < p->cap; i++) {
    series *s = p->slots[i];
    if (!s || strncmp(s->key, flag, fl) || s->key[fl] != '\n') continue;
    if (cb(ctx, s->key + fl + 1, &s->total)) break;
  }
  pthread_mutex_unlock(&p->mu);
}

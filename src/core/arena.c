/* arena.c — bump allocator in chained blocks, with cleanup hooks. */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 4096

typedef struct block {
  struct block *next;
  size_t used, cap;
  max_align_t data[];
} block;

typedef struct cleanup {
  struct cleanup *next;
  void (*fn)(void *);
  void *arg;
} cleanup;

struct sy_arena {
  block *head;
  cleanup *cleanups;
};

sy_arena *sy__arena_new(void) { return calloc(1, sizeof(sy_arena)); }

void sy__arena_free(sy_arena *a) {
  if (!a) return;
  for (cleanup *c = a->cleanups; c; c = c->next) c->fn(c->arg);
  for (block *b = a->head, *n; b; b = n) {
    n = b->next;
    free(b);
  }
  free(a);
}

void *sy__arena_alloc(sy_arena *a, size_t size) {
  size_t align = sizeof(max_align_t);
  if (size > SIZE_MAX / 2) return NULL; /* no request is that large; refusing keeps the rounding from wrapping */
  size = (size + align - 1) & ~(align - 1);
  if (size == 0) size = align;
  block *b = a->head;
  if (!b || b->cap - b->used < size) {
    size_t cap = size > BLOCK ? size : BLOCK;
    b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->cap = cap;
    b->used = 0;
    if (a->head && size > BLOCK) { /* keep the current block for small allocations */
      b->next = a->head->next;
      a->head->next = b;
    } else {
      b->next = a->head;
      a->head = b;
    }
  }
  void *p = (char *)b->data + b->used;
  b->used += size;
  memset(p, 0, size);
  return p;
}

char *sy__arena_strndup(sy_arena *a, const char *s, size_t n) {
  char *d = sy__arena_alloc(a, n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

char *sy__arena_strdup(sy_arena *a, const char *s) { return sy__arena_strndup(a, s, strlen(s)); }

int sy__arena_cleanup(sy_arena *a, void (*fn)(void *), void *arg) {
  cleanup *c = sy__arena_alloc(a, sizeof *c);
  if (!c) return -1;
  c->fn = fn;
  c->arg = arg;
  c->next = a->cleanups;
  a->cleanups = c;
  return 0;
}

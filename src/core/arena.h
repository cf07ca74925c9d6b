/* arena.h — a memory arena per request: many small allocations, one free. */
#ifndef SY_CORE_ARENA_H
#define SY_CORE_ARENA_H

#include <stddef.h>

typedef struct sy_arena sy_arena;

/* A new arena; NULL on ENOMEM. */
sy_arena *sy__arena_new(void);
/* Frees every allocation made from a, runs its cleanups (last registered first), and a itself. */
void sy__arena_free(sy_arena *a);
/* size bytes aligned for any type, zeroed; NULL on ENOMEM. Freed with the arena. */
void *sy__arena_alloc(sy_arena *a, size_t size);
char *sy__arena_strndup(sy_arena *a, const char *s, size_t n);
char *sy__arena_strdup(sy_arena *a, const char *s);
/* Runs fn(arg) when the arena is freed (statements, JSON values, handles). 0 on success. */
int sy__arena_cleanup(sy_arena *a, void (*fn)(void *), void *arg);

#endif

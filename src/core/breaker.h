/* breaker.h — a circuit breaker per provider, and retry backoff: pure state machines on an
 * injected time (no clock of their own, no locks: the caller serialises). */
#ifndef SY_CORE_BREAKER_H
#define SY_CORE_BREAKER_H

#include <stdint.h>

typedef struct sy_breaker_cfg {
  int consecutive_failures; /* open after this many failures in a row (1..1000) */
  int error_rate_percent;   /* or when this share of the window's results failed (1..100) */
  int min_requests;         /* ... and the window holds at least this many results (1..1000000) */
  int64_t window_ms;        /* the sliding window (1000..3600000) */
  int64_t cooldown_ms;      /* open -> half-open after this long (1..86400000) */
  int half_open_max;        /* trial requests admitted while half-open (1..1000) */
  int64_t recovery_ms;      /* after a trial closes it, its share ramps from 0 to 100 % over this
                               long (0..86400000; 0: back at full share at once) */
} sy_breaker_cfg;

/* The defaults of docs/GATEWAY.md: 5 / 50 / 20 / 30000 / 30000 / 1, recovery 60000. */
void sy__breaker_cfg_default(sy_breaker_cfg *cfg);

typedef enum sy_breaker_state {
  SY_BREAKER_CLOSED = 0,
  SY_BREAKER_OPEN = 1,
  SY_BREAKER_HALF_OPEN = 2,
} sy_breaker_state;

#define SY_BREAKER_SLOTS 10 /* the window is kept as this many slots of window_ms / SLOTS */

typedef struct sy_breaker {
  sy_breaker_state state;
  int consecutive;   /* failures in a row */
  int64_t opened_ms; /* when it last opened */
  int64_t closed_ms; /* when a trial last closed it (0: never reopened) */
  int trials;        /* half-open trials admitted and not yet reported */
  int64_t slot_start[SY_BREAKER_SLOTS];
  uint32_t slot_ok[SY_BREAKER_SLOTS], slot_fail[SY_BREAKER_SLOTS];
  uint64_t opens; /* times it opened, for metrics */
} sy_breaker;

void sy__breaker_init(sy_breaker *b);
/* Whether a request may go to the provider at now_ms. Moves open -> half-open once the
 * cooldown is over; in half-open, admits up to half_open_max trials (each counted until
 * its result or its cancel is reported). */
int sy__breaker_allow(sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms);
/* Reports the result of a request that allow() admitted: ok 1 success, 0 failure. */
void sy__breaker_result(sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms, int ok);
/* A request allow() admitted ended without a result (the client left): frees its trial. */
void sy__breaker_cancel(sy_breaker *b);
/* The state at now_ms (open reads as half-open once its cooldown is over). */
sy_breaker_state sy__breaker_state(const sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms);
const char *sy__breaker_state_name(sy_breaker_state s); /* "closed", "open", "half_open" */

/* The share of its traffic a provider takes at now_ms: 1 but during the recovery ramp after
 * a trial closed the breaker, when it grows linearly from 0 to 1 over recovery_ms (a provider
 * that comes back is not handed its full share at once). */
double sy__breaker_share(const sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms);

/* Full-jitter exponential backoff before retry number attempt (1 = the first retry):
 * rnd % (min(max_ms, base_ms * 2^(attempt-1)) + 1). rnd is a uniform random number. */
int64_t sy__backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, uint64_t rnd);

#endif

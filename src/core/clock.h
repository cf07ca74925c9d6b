/* clock.h — injected time. Everything with a period, a cooldown, a bake time or a budget day
 * reads the clock it was given, never the system's directly, so tests can drive days in
 * milliseconds with a manual clock. */
#ifndef SY_CORE_CLOCK_H
#define SY_CORE_CLOCK_H

#include <stdint.h>

typedef struct sy_clock sy_clock;
struct sy_clock {
  int64_t (*now_ms)(const sy_clock *c);  /* wall time: ms since 1970-01-01 UTC */
  int64_t (*tick_ms)(const sy_clock *c); /* monotonic ms, for durations and deadlines */
};

/* The system's clocks (CLOCK_REALTIME, CLOCK_MONOTONIC). */
const sy_clock *sy__clock_system(void);

/* The system's monotonic time in µs, for measuring how long something took (latency, overhead),
 * which no test needs to move. */
int64_t sy__clock_mono_us(void);

static inline int64_t sy__clock_now(const sy_clock *c) { return c->now_ms(c); }
static inline int64_t sy__clock_tick(const sy_clock *c) { return c->tick_ms(c); }

/* A clock that moves only when told to; both readings advance together. Thread-safe. */
typedef struct sy_manual_clock {
  sy_clock clock; /* first: a sy_manual_clock * is a sy_clock * */
  int64_t now;    /* atomic */
  int64_t tick;   /* atomic */
} sy_manual_clock;

void sy__clock_manual_init(sy_manual_clock *m, int64_t now_ms);
void sy__clock_advance(sy_manual_clock *m, int64_t ms);

/* The system's time moved on by an offset that only grows (a server started for tests with
 * SWITCHYARD_TEST_CLOCK=1 advances it through POST /api/v1/admin/clock). Thread-safe. */
typedef struct sy_offset_clock {
  sy_clock clock; /* first: a sy_offset_clock * is a sy_clock * */
  int64_t offset; /* atomic, ms */
} sy_offset_clock;

void sy__clock_offset_init(sy_offset_clock *o);
void sy__clock_offset_advance(sy_offset_clock *o, int64_t ms);

#endif

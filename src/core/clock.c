/* clock.c — the system clock and a manual one for tests. */
#include <time.h>

#include "core/clock.h"

static int64_t ms_of(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_now(const sy_clock *c) {
  (void)c;
  return ms_of(CLOCK_REALTIME);
}

static int64_t sys_tick(const sy_clock *c) {
  (void)c;
  return ms_of(CLOCK_MONOTONIC);
}

static const sy_clock sys = {sys_now, sys_tick};

const sy_clock *sy__clock_system(void) { return &sys; }

int64_t sy__clock_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t man_now(const sy_clock *c) {
  return __atomic_load_n(&((const sy_manual_clock *)c)->now, __ATOMIC_ACQUIRE);
}

static int64_t man_tick(const sy_clock *c) {
  return __atomic_load_n(&((const sy_manual_clock *)c)->tick, __ATOMIC_ACQUIRE);
}

void sy__clock_manual_init(sy_manual_clock *m, int64_t now_ms) {
  m->clock = (sy_clock){man_now, man_tick};
  m->now = now_ms;
  m->tick = 0;
}

void sy__clock_advance(sy_manual_clock *m, int64_t ms) {
  __atomic_add_fetch(&m->now, ms, __ATOMIC_ACQ_REL);
  __atomic_add_fetch(&m->tick, ms, __ATOMIC_ACQ_REL);
}

static int64_t off_now(const sy_clock *c) {
  return ms_of(CLOCK_REALTIME) + __atomic_load_n(&((const sy_offset_clock *)c)->offset, __ATOMIC_ACQUIRE);
}

static int64_t off_tick(const sy_clock *c) {
  return ms_of(CLOCK_MONOTONIC) + __atomic_load_n(&((const sy_offset_clock *)c)->offset, __ATOMIC_ACQUIRE);
}

void sy__clock_offset_init(sy_offset_clock *o) {
  o->clock = (sy_clock){off_now, off_tick};
  o->offset = 0;
}

void sy__clock_offset_advance(sy_offset_clock *o, int64_t ms) { __atomic_add_fetch(&o->offset, ms, __ATOMIC_ACQ_REL); }

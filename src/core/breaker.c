/* breaker.c — the per-provider circuit breaker and the retry backoff (breaker.h). */
#include "core/breaker.h"

#include <string.h>

void sy__breaker_cfg_default(sy_breaker_cfg *cfg) {
  cfg->consecutive_failures = 5;
  cfg->error_rate_percent = 50;
  cfg->min_requests = 20;
  cfg->window_ms = 30000;
  cfg->cooldown_ms = 30000;
  cfg->half_open_max = 1;
  cfg->recovery_ms = 60000;
}

void sy__breaker_init(sy_breaker *b) {
  memset(b, 0, sizeof *b);
  b->state = SY_BREAKER_CLOSED;
}

static int64_t slot_len(const sy_breaker_cfg *cfg) {
  int64_t len = cfg->window_ms / SY_BREAKER_SLOTS;
  return len > 0 ? len : 1; /* a config outside its range must not divide by zero */
}

/* Floor division, so that slots stay aligned even for an injected time before 0. */
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

static void window_reset(sy_breaker *b) {
  memset(b->slot_start, 0, sizeof b->slot_start);
  memset(b->slot_ok, 0, sizeof b->slot_ok);
  memset(b->slot_fail, 0, sizeof b->slot_fail);
}

/* Counts a result in the slot now_ms falls in; a slot whose start is not the current one
 * holds results older than the window and is reused. */
static void window_add(sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms, int ok) {
  int64_t len = slot_len(cfg);
  int64_t n = floor_div(now_ms, len);
  int64_t start = n * len;
  int i = (int)(((n % SY_BREAKER_SLOTS) + SY_BREAKER_SLOTS) % SY_BREAKER_SLOTS);
  if (b->slot_start[i] != start) {
    b->slot_start[i] = start;
    b->slot_ok[i] = 0;
    b->slot_fail[i] = 0;
  }
  if (ok) {
    if (b->slot_ok[i] < UINT32_MAX) b->slot_ok[i]++;
  } else if (b->slot_fail[i] < UINT32_MAX) {
    b->slot_fail[i]++;
  }
}

/* The results of the slots that started within the last window_ms. */
static void window_totals(const sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms, uint64_t *total,
                          uint64_t *fails) {
  *total = *fails = 0;
  for (int i = 0; i < SY_BREAKER_SLOTS; i++) {
    if (now_ms - b->slot_start[i] >= cfg->window_ms || b->slot_start[i] > now_ms) continue;
    *total += (uint64_t)b->slot_ok[i] + b->slot_fail[i];
    *fails += b->slot_fail[i];
  }
}

static void breaker_open(sy_breaker *b, int64_t now_ms) {
  b->state = SY_BREAKER_OPEN;
  b->opened_ms = now_ms;
  b->trials = 0; /* trials still out report while open and are ignored */
  b->opens++;
}

static void breaker_close(sy_breaker *b, int64_t now_ms) {
  b->state = SY_BREAKER_CLOSED;
  b->closed_ms = now_ms;
  b->consecutive = 0;
  b->trials = 0;
  window_reset(b);
}

static int cooled(const sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms) {
  return now_ms - b->opened_ms >= cfg->cooldown_ms;
}

int sy__breaker_allow(sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms) {
  if (b->state == SY_BREAKER_OPEN) {
    if (!cooled(b, cfg, now_ms)) return 0;
    b->state = SY_BREAKER_HALF_OPEN;
    b->trials = 0;
  }
  if (b->state == SY_BREAKER_HALF_OPEN) {
    if (b->trials >= cfg->half_open_max) return 0;
    b->trials++;
    return 1;
  }
  return 1;
}

/* While open, a result can only be the late answer of a request admitted before the breaker
 * opened: it says nothing new and is dropped. While half-open, a result with no trial out is
 * such a late answer too; otherwise it is a trial's and decides the state. */
void sy__breaker_result(sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms, int ok) {
  if (b->state == SY_BREAKER_OPEN) return;
  if (b->state == SY_BREAKER_HALF_OPEN) {
    if (b->trials <= 0) return;
    b->trials--;
    if (ok)
      breaker_close(b, now_ms);
    else
      breaker_open(b, now_ms);
    return;
  }
  window_add(b, cfg, now_ms, ok);
  if (ok) {
    b->consecutive = 0;
  } else if (b->consecutive < cfg->consecutive_failures) {
    b->consecutive++;
  }
  if (!ok && b->consecutive >= cfg->consecutive_failures) {
    breaker_open(b, now_ms);
    return;
  }
  uint64_t total, fails;
  window_totals(b, cfg, now_ms, &total, &fails);
  if (total >= (uint64_t)(cfg->min_requests > 0 ? cfg->min_requests : 1) &&
      fails * 100 >= (uint64_t)(cfg->error_rate_percent > 0 ? cfg->error_rate_percent : 0) * total)
    breaker_open(b, now_ms);
}

void sy__breaker_cancel(sy_breaker *b) {
  if (b->state == SY_BREAKER_HALF_OPEN && b->trials > 0) b->trials--;
}

sy_breaker_state sy__breaker_state(const sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms) {
  if (b->state == SY_BREAKER_OPEN && cooled(b, cfg, now_ms)) return SY_BREAKER_HALF_OPEN;
  return b->state;
}

const char *sy__breaker_state_name(sy_breaker_state s) {
  switch (s) {
  case SY_BREAKER_CLOSED: return "closed";
  case SY_BREAKER_OPEN: return "open";
  case SY_BREAKER_HALF_OPEN: return "half_open";
  }
  return "unknown";
}

/* base_ms * 2^(attempt-1), capped at max_ms without ever computing a product that overflows. */
int64_t sy__backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, uint64_t rnd) {
  if (max_ms < 0) max_ms = 0;
  if (base_ms < 0) base_ms = 0;
  int shift = attempt > 1 ? attempt - 1 : 0;
  int64_t cap;
  if (base_ms == 0)
    cap = 0;
  else if (shift >= 62 || base_ms > (max_ms >> shift))
    cap = max_ms;
  else
    cap = base_ms << shift;
  if (cap > max_ms) cap = max_ms;
  return (int64_t)(rnd % ((uint64_t)cap + 1));
}

double sy__breaker_share(const sy_breaker *b, const sy_breaker_cfg *cfg, int64_t now_ms) {
  if (b->state != SY_BREAKER_CLOSED || !b->closed_ms || cfg->recovery_ms <= 0) return 1;
  int64_t t = now_ms - b->closed_ms;
  if (t >= cfg->recovery_ms) return 1;
  return t <= 0 ? 0 : (double)t / (double)cfg->recovery_ms;
}

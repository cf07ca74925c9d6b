/* pushed.h — metrics that applications push for a flag and a variant (POST /api/v1/metrics):
 * counts of requests and errors, cost, images and latency observations, kept in memory per
 * (flag, variant) both since the server started and per minute over the last hour, for the
 * rollout controller's gates and the alert rules (docs/ROLLOUTS.md, "Pushed metrics"). The
 * HTTP side (POST /api/v1/metrics) is server/api_metrics.c. Thread-safe. */
#ifndef SY_CONTROL_PUSHED_H
#define SY_CONTROL_PUSHED_H

#include "core/clock.h"
#include "core/metric.h"
#include "core/rc.h"

typedef struct sy_pushed sy_pushed;

#define SY_PUSHED_SERIES_MAX 10000 /* (flag, variant) pairs kept; past it a push is refused (429) */

/* Minutes are the wall-clock minutes of clock. */
sy_rc sy__pushed_new(const sy_clock *clock, sy_pushed **out);
void sy__pushed_free(sy_pushed *p);

/* The counts pushed for flag (its key, no leading '/') and variant since the server started.
 * 0, or -1 when nothing was ever pushed for them (*out zeroed). Any thread. (Like the
 * gateway's, sy__pushed_range with from_ms and to_ms both 0.) */
int sy__pushed_total(sy_pushed *p, const char *flag, const char *variant, sy_counts *out);
/* The counts of the whole minutes that overlap [from_ms, to_ms) of the last hour (older
 * minutes are gone). 0, or -1 when nothing was ever pushed for them. Any thread. */
int sy__pushed_range(sy_pushed *p, const char *flag, const char *variant, int64_t from_ms, int64_t to_ms,
                     sy_counts *out);

/* Adds one pushed item (already checked: the API checks and refuses a whole batch before
 * adding any of it) to the current minute. SY_ETOOLARGE past SY_PUSHED_SERIES_MAX series. */
sy_rc sy__pushed_add(sy_pushed *p, const char *flag, const char *variant, const sy_counts *c);

/* One item of a batch, already checked; flag and variant borrowed. */
typedef struct sy_pushed_item {
  const char *flag, *variant;
  sy_counts c;
} sy_pushed_item;
/* Adds the n items of a batch all at once under one lock, or none of them: SY_ETOOLARGE
 * when they could take the store past SY_PUSHED_SERIES_MAX series (each item of a series
 * not yet kept counts as a new one, so a batch near the limit may be refused that would
 * just fit), SY_EINVAL for a flag and variant too long, SY_ENOMEM. Linear in n. */
sy_rc sy__pushed_add_all(sy_pushed *p, const sy_pushed_item *items, size_t n);

/* Calls cb once per variant pushed for flag, with the variant's name and its total since
 * start (both borrowed for the call only), in no particular order, under the store's lock:
 * cb must not call back into p. cb returns nonzero to stop. Walks every series (linear in
 * their number, at most SY_PUSHED_SERIES_MAX). Any thread. */
typedef int (*sy_pushed_each_fn)(void *ctx, const char *variant, const sy_counts *total);
void sy__pushed_each(sy_pushed *p, const char *flag, sy_pushed_each_fn cb, void *ctx);

#endif

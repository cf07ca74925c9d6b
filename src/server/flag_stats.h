/* flag_stats.h — how often each flag was evaluated lately, and how often it came out enabled:
 * per flag key, counts per second over the last minute and per minute over the last hour, on
 * the server's clock. Recording is the evaluation hot path (the native API and OFREP): it takes
 * only the flag's own mutex, never a table-wide lock once the flag is known. */
#ifndef SY_SERVER_FLAG_STATS_H
#define SY_SERVER_FLAG_STATS_H

#include <stdint.h>

#include "core/clock.h"
#include "core/flag.h"

#define SY_FLAG_STATS_KEYS 4096 /* flags tracked at once; evaluations of more are counted as dropped */

typedef struct sy_flag_stats sy_flag_stats;
struct sy_server;

/* What /api/v1/flags/{key}/status shows. A minute is the current second and the 59 before
 * it; an hour the current minute and the 59 before it. */
typedef struct sy_flag_stats_view {
  int64_t minute, minute_enabled;
  int64_t hour, hour_enabled;
} sy_flag_stats_view;

/* A table on clock (borrowed; it must outlive the table). NULL on ENOMEM. */
sy_flag_stats *sy__flag_stats_new(const sy_clock *clock);
void sy__flag_stats_free(sy_flag_stats *st);

/* 1 when an evaluation counts as enabled: a boolean flag that served true; any other flag
 * that served a variant because it was on (a rule matched, the rollout or split chose it, or
 * the one static value), not because it was off, outside the rollout or in error. */
int sy__flag_result_enabled(const sy_flag_result *res);

/* Counts one evaluation of key in st (enabled: sy__flag_result_enabled of its result). Thread-
 * safe and allocation-free once the key is known; a key past SY_FLAG_STATS_KEYS is not counted. */
void sy__flag_stats_add(sy_flag_stats *st, const char *key, int enabled);
/* The counts of key in st now (all zero for a key never counted). */
void sy__flag_stats_get(sy_flag_stats *st, const char *key, sy_flag_stats_view *out);

/* Counts one evaluation of the flag key (its path without the leading '/'). Thread-safe and
 * allocation-free once the key is known; a key past SY_FLAG_STATS_KEYS is not counted. A
 * server without a table (srv->flag_stats NULL) counts nothing. */
void sy__flag_stats_record(struct sy_server *srv, const char *key, const sy_flag_result *res);
/* The counts of key now (all zero for a key never evaluated). */
void sy__flag_stats_read(struct sy_server *srv, const char *key, sy_flag_stats_view *out);
/* Evaluations not counted because the table was full. */
uint64_t sy__flag_stats_dropped(const sy_flag_stats *st);

#endif

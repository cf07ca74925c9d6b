/* controller.h — the rollout controller: every period of the server's clock it reads each
 * plan (kind Rollout) and its state (kind RolloutState) from the store's snapshot, judges
 * the gates of the plan's current step on the metric sources, and writes each transition
 * (the state and the target, in one transaction) through the store's one write path with
 * the actor "controller" and the reason. Its state is the store's: after a restart it goes
 * on from what the state documents say (docs/ROLLOUTS.md). */
#ifndef SY_CONTROL_CONTROLLER_H
#define SY_CONTROL_CONTROLLER_H

#include <jansson.h>

#include "control/sources.h"
#include "core/rollout.h"

typedef struct sy_controller sy_controller;

#define SY_CONTROLLER_PERIOD_MS 1000 /* default evaluation period, on the server's clock */

/* Starts the controller thread. src must outlive it. period_ms 0: the default. */
sy_rc sy__controller_start(const sy_sources *src, int64_t period_ms, sy_controller **out);
/* Asks the thread to evaluate now rather than at the end of its period (new metrics were
 * pushed): cheap, never waits, coalesces. NULL is fine. */
void sy__controller_poke(sy_controller *c);
/* Stops the thread; idempotent, NULL is fine. Call it before the store closes. */
void sy__controller_stop(sy_controller *c);
/* Stops (if not yet) and frees. Call it after the store closed: a transition submitted
 * before the stop completes there and its callback touches the controller. */
void sy__controller_free(sy_controller *c);
/* Evaluates every plan now (the API calls it so that a reader sees the state of now; tests
 * and the bench too). Thread-safe: one evaluation at a time. */
void sy__controller_kick(sy_controller *c);

/* The status of plan name as the API shows it (docs/ROLLOUTS.md, STATUS), judged now: a
 * new reference, or NULL when there is no such plan. */
json_t *sy__controller_status(sy_controller *c, const char *name);

/* Every plan's status, by name, judged now (a new reference; NULL on ENOMEM). */
json_t *sy__controller_list(sy_controller *c);

/* A person's command on plan name (sy__rollout_command's), written with actor and reason.
 * SY_ENOTFOUND, SY_ECONFLICT (msg says why), or a store error. *out_status: the plan's
 * status after it (a new reference) on success. */
sy_rc sy__controller_command(sy_controller *c, const char *name, const char *cmd, int gradual, const char *actor,
                             const char *reason, json_t **out_status, char *msg, size_t msgsz);

/* Evaluations done and transitions written since start, for the bench and /metrics. */
void sy__controller_counters(sy_controller *c, int64_t *evaluations, int64_t *transitions, int64_t *plans);

#endif

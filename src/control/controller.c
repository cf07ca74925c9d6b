/* controller.c — the rollout controller. */
#include "control/controller.h"

#include <stdlib.h>

struct sy_controller {
  const sy_sources *src;
};

sy_rc sy__controller_start(const sy_sources *src, int64_t period_ms, sy_controller **out) {
  (void)period_ms;
  sy_controller *c = calloc(1, sizeof *c);
  if (!c) return SY_ENOMEM;
  c->src = src;
  *out = c;
  return SY_OK;
}
void sy__controller_free(sy_controller *c) { free(c); }
void sy__controller_kick(sy_controller *c) { (void)c; }
json_t *sy__controller_status(sy_controller *c, const char *name) {
  (void)c, (void)name;
  return NULL;
}
sy_rc sy__controller_command(sy_controller *c, const char *name, const char *cmd, int gradual, const char *actor,
                             const char *reason, json_t **out_status, char *msg, size_t msgsz) {
  (void)c, (void)name, (void)cmd, (void)gradual, (void)actor, (void)reason, (void)msg, (void)msgsz;
  *out_status = NULL;
  return SY_ENOTFOUND;
}
void sy__controller_counters(sy_controller *c, int64_t *evaluations, int64_t *transitions, int64_t *plans) {
  (void)c;
  *evaluations = *transitions = *plans = 0;
}

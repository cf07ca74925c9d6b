/* rollout.c — rollout plans, their state and the state machine. */
#include "core/rollout.h"

#include <stdlib.h>

sy_rc sy__rollout_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj, char *msg,
                               size_t msgsz) {
  (void)key, (void)value, (void)len, (void)schema, (void)msg, (void)msgsz;
  *obj = NULL;
  return SY_OK;
}
void sy__rollout_kind_release(void *obj) { (void)obj; }
sy_rc sy__rollout_state_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                                     char *msg, size_t msgsz) {
  (void)key, (void)value, (void)len, (void)schema, (void)msg, (void)msgsz;
  *obj = NULL;
  return SY_OK;
}
void sy__rollout_state_kind_release(void *obj) { (void)obj; }

/* alert_rule.c — alert rule documents. */
#include "core/alert_rule.h"

#include <jansson.h>
#include <stdio.h>

sy_rc sy__alert_rule_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                                  char *msg, size_t msgsz) {
  (void)key, (void)schema;
  *obj = NULL;
  json_error_t e;
  json_t *doc = json_loadb(value, len, JSON_REJECT_DUPLICATES, &e);
  if (!json_is_object(doc)) {
    json_decref(doc);
    snprintf(msg, msgsz, "an alert rule is a JSON object");
    return SY_EINVAL;
  }
  json_decref(doc);
  return SY_OK;
}

void sy__alert_rule_kind_release(void *obj) { (void)obj; }

/* alert_rule.h — alert rules (pure): the AlertRule document (docs/ROLLOUTS.md, "Alert
 * rules") and the count of consecutive breaching periods. */
#ifndef SY_CORE_ALERT_RULE_H
#define SY_CORE_ALERT_RULE_H

#include <stddef.h>

#include "core/rc.h"

#define SY_ALERT_RULE_DOC_MAX 16384
#define SY_ALERT_RULES_PREFIX "/switchyard/alert-rules/"

sy_rc sy__alert_rule_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                                  char *msg, size_t msgsz);
void sy__alert_rule_kind_release(void *obj);

#endif

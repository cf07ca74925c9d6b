/* flag_kind.h — the kind Flag's hooks in the kind registry (param.c): a flag's value is
 * checked against its schema and compiled once per version (flag.h). */
#ifndef SY_CORE_FLAG_KIND_H
#define SY_CORE_FLAG_KIND_H

#include <stddef.h>

#include "core/rc.h"

sy_rc sy__flag_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj, char *msg,
                            size_t msgsz);
void sy__flag_kind_release(void *obj);

#endif

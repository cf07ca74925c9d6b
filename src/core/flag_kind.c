/* flag_kind.c — the kind Flag in the registry: its values compile into flags (flag.h). */
#include "core/flag_kind.h"

#include "core/flag.h"

sy_rc sy__flag_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj, char *msg,
                            size_t msgsz) {
  sy_flag *f = NULL;
  sy_rc rc = sy__flag_compile(key, value, len, schema, &f, msg, msgsz);
  *obj = f;
  return rc;
}

void sy__flag_kind_release(void *obj) { sy__flag_free(obj); }

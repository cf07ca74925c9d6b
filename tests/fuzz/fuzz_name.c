/* fuzz_name.c — libFuzzer harness for the rules on names: parameter names, listing paths,
 * labels, tags, values and the kind and tier names (src/core/param.c).
 *
 * The input is one name; for tags it is split at the first TAB into key and value (the
 * layout of tests/unit/data/tags.txt). Besides "no crash" the checks agree with each
 * other: a valid hierarchical name is a valid path, a valid path without its trailing '/'
 * is a valid name, and every refusal comes with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/param.h"
#include "check.h"

/* A refusal names its reason; a small buffer is truncated, never overrun. */
static void refused(sy_rc rc, const char *msg) {
  if (rc) CHECK(msg[0] != 0);
}

static void check_names(const char *s, size_t n) {
  char msg[SY_MSG_MAX], tiny[8];
  sy_rc name_rc = sy__name_check(s, n, msg, sizeof msg);
  refused(name_rc, msg);
  CHECK(sy__name_check(s, n, tiny, sizeof tiny) == name_rc);
  if (!name_rc) {
    CHECK(n >= 1 && n <= SY_NAME_MAX && s[n - 1] != '/');
    CHECK(!memchr(s, 0, n));
    int levels = sy__name_levels(s, n);
    CHECK(levels >= 1 && levels <= SY_LEVELS_MAX);
    if (s[0] == '/') {
      sy_rc prc = sy__path_check(s, n, msg, sizeof msg);
      CHECK(prc == SY_OK);
    } else {
      CHECK(!memchr(s, '/', n));
    }
  } else {
    CHECK(name_rc == SY_EINVAL || name_rc == SY_EHIERARCHY);
  }
  sy_rc path_rc = sy__path_check(s, n, msg, sizeof msg);
  refused(path_rc, msg);
  CHECK(sy__path_check(s, n, tiny, sizeof tiny) == path_rc);
  if (!path_rc && n > 1) {
    size_t nn = s[n - 1] == '/' ? n - 1 : n;
    sy_rc rc = sy__name_check(s, nn, msg, sizeof msg);
    CHECK(rc == SY_OK);
  }
}

static void check_label(const char *s) {
  if (!sy__label_valid(s)) return;
  size_t n = strlen(s);
  CHECK(n >= 1 && n <= SY_LABEL_MAX && !strchr(s, '/'));
  CHECK(!(s[0] >= '0' && s[0] <= '9'));
}

static void check_tag(const char *s) {
  char msg[SY_MSG_MAX];
  const char *tab = strchr(s, '\t');
  char *key = strndup(s, tab ? (size_t)(tab - s) : strlen(s));
  if (!key) return;
  sy_rc rc = sy__tag_check(key, tab ? tab + 1 : NULL, msg, sizeof msg);
  refused(rc, msg);
  if (!rc) CHECK(strlen(key) >= 1 && strlen(key) <= SY_TAG_KEY_MAX);
  free(key);
}

/* s: exactly n bytes; z: the same, NUL-terminated. */
static void check_values(const char *s, const char *z, size_t n) {
  char msg[SY_MSG_MAX];
  static const sy_kind kinds[] = {SY_KIND_STRING, SY_KIND_STRINGLIST, SY_KIND_SECURESTRING, 0};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    for (sy_tier t = SY_TIER_STANDARD; t <= SY_TIER_ADVANCED; t++) {
      sy_rc rc = sy__value_check(kinds[k], t, s, n, msg, sizeof msg);
      refused(rc, msg);
      if (!rc) CHECK(n >= 1 && n <= sy__tier_value_max(t));
    }
  }
  const sy_kind_def *kd = sy__kind_by_name(z);
  /* SSM's types match exactly; Switchyard's own kinds also by a looser spelling ("rollout") */
  if (kd) CHECK(sy__kind_by_id(kd->kind) == kd && (!strcmp(sy__kind_name(kd->kind), z) || kd->kind >= SY_KIND_FLAG));
  sy_tier tier = sy__tier_parse(z);
  if (tier) CHECK(!strcmp(sy__tier_name(tier), z));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* exactly size bytes for the length-taking checks, a NUL-terminated copy for the rest */
  char *s = malloc(size ? size : 1), *z = malloc(size + 1);
  if (s && z) {
    memcpy(s, data, size);
    memcpy(z, data, size);
    z[size] = 0;
    check_names(s, size);
    check_label(z);
    check_tag(z);
    check_values(s, z, size);
  }
  free(s);
  free(z);
  return 0;
}

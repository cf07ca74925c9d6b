/* param.h — rules for parameter documents: names, kinds, values, labels, tags (pure). */
#ifndef SY_CORE_PARAM_H
#define SY_CORE_PARAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/rc.h"
#include "core/text.h"

#define SY_NAME_MAX 1011
#define SY_LEVELS_MAX 15
#define SY_VALUE_MAX_STANDARD 4096
#define SY_VALUE_MAX_ADVANCED 8192
#define SY_VERSIONS_MAX 100
#define SY_LABELS_PER_VERSION 10
#define SY_LABEL_MAX 100
#define SY_TAGS_MAX 50
#define SY_TAG_KEY_MAX 128
#define SY_TAG_VALUE_MAX 256
#define SY_DESCRIPTION_MAX 1024
#define SY_PATTERN_MAX 1024
#define SY_REASON_MAX 1024
#define SY_MSG_MAX 1536          /* error messages written by validators */
#define SY_KEY_ID_MAX 256        /* an SSM KeyId */
#define SY_DATA_TYPE_MAX 128     /* an SSM DataType */
#define SY_POLICIES_MAX 4096     /* the Policies text of a put */
#define SY_POLICIES_COUNT_MAX 10 /* policies on one parameter */

/* The kinds of document. Later kinds (flag, provider, route, limit, rollout) register here. */
typedef enum sy_kind {
  SY_KIND_STRING = 1,
  SY_KIND_STRINGLIST = 2,
  SY_KIND_SECURESTRING = 3,
  SY_KIND_FLAG = 4,          /* a feature flag (core/flag.h); SSM shows it as a String */
  SY_KIND_PROVIDER = 5,      /* an AI provider of the gateway (core/provider.h); a String to SSM */
  SY_KIND_ROUTE = 6,         /* a gateway route (core/provider.h); a String to SSM */
  SY_KIND_LIMIT = 7,         /* a daily spending limit of the gateway (core/provider.h); a String to SSM */
  SY_KIND_ROLLOUT = 8,       /* a rollout plan (core/rollout.h); a String to SSM */
  SY_KIND_ROLLOUT_STATE = 9, /* a rollout plan's state, written by the controller (core/rollout.h) */
  SY_KIND_ALERT_RULE = 10,   /* an alert rule (core/alert_rule.h); a String to SSM */
} sy_kind;
#define SY_KINDS_MAX 16
typedef enum sy_tier { SY_TIER_STANDARD = 1, SY_TIER_ADVANCED = 2 } sy_tier;

/* A kind owns its rules: its name, the limit of its values and the validator every write
 * of it passes (in the store's rules, the one place a write is checked). The validator
 * writes a precise message into msg (msgsz bytes) when it refuses. */
typedef struct sy_kind_def {
  sy_kind kind;
  const char *name;
  size_t value_max; /* bytes; 0: the tier's limit (4 KiB Standard, 8 KiB Advanced) */
  sy_rc (*validate)(const char *value, size_t len, char *msg, size_t msgsz);
  /* Optional, for a kind whose values are compiled once per version (a flag): checks the
   * value of the document with key (its name without the leading '/') against schema (""
   * none) and compiles it into *obj, immutable, for readers of every thread; release frees
   * it. A refusal writes msg, as validate does. */
  sy_rc (*compile)(const char *key, const char *value, size_t len, const char *schema, void **obj, char *msg,
                   size_t msgsz);
  void (*release)(void *obj);
} sy_kind_def;

/* Registers a kind (at start-up, before any store is opened). SY_EEXISTS for a kind or name
 * already known, SY_ETOOLARGE past SY_KINDS_MAX. */
sy_rc sy__kind_register(const sy_kind_def *def);

/* The kind named name (exact), or NULL. */
const sy_kind_def *sy__kind_by_name(const char *name);
const sy_kind_def *sy__kind_by_id(sy_kind kind);
const char *sy__kind_name(sy_kind kind);

const char *sy__tier_name(sy_tier tier);
/* Parses "Standard"/"Advanced"; 0 when unknown. */
sy_tier sy__tier_parse(const char *s);
size_t sy__tier_value_max(sy_tier tier);

/* Checks a parameter name. SY_EHIERARCHY for more than 15 levels, SY_EINVAL otherwise.
 * msg says what is wrong without naming the field ("invalid character '*' at position 3; ..."):
 * each caller knows the field by its own name (Name, name, params[2].name, prefix) and puts it
 * first, as "<field>: <msg>". The same holds for sy__path_check. */
sy_rc sy__name_check(const char *name, size_t len, char *msg, size_t msgsz);
/* Number of levels in a valid name ("/a/b" has 2, "a" has 1). */
int sy__name_levels(const char *name, size_t len);
/* Checks a path used for listing: "/" or a hierarchical name, with or without a trailing "/". */
sy_rc sy__path_check(const char *path, size_t len, char *msg, size_t msgsz);

/* Checks a value: UTF-8, within the kind's (or the tier's) size, passes the kind's validator. */
sy_rc sy__value_check(sy_kind kind, sy_tier tier, const char *value, size_t len, char *msg, size_t msgsz);
/* Checks a whole version before it is written: its value (sy__value_check), its description
 * (at most SY_DESCRIPTION_MAX), its allowed pattern (compiles: SY_EBADPATTERN) and that the
 * value matches it (SY_EPATTERN). description and pattern may be NULL. A value over the
 * Standard tier's limit that the Advanced tier would take is SY_ETIER, so that an API can
 * say to change the tier. */
sy_rc sy__version_check(sy_kind kind, sy_tier tier, const char *value, size_t len, const char *description,
                        const char *pattern, char *msg, size_t msgsz);
/* Checks that value matches the POSIX ERE pattern (an empty pattern matches all). */
sy_rc sy__pattern_check(const char *pattern, const char *value, char *msg, size_t msgsz);
/* Checks that a pattern compiles. */
sy_rc sy__pattern_compile_check(const char *pattern, char *msg, size_t msgsz);

/* A label is 1..100 of [a-zA-Z0-9_.-], not starting with a digit nor "aws"/"ssm". Returns 1 if valid. */
int sy__label_valid(const char *label);
/* Tag key 1..128, value 0..256 of letters, digits, space and _.:/=+-@. */
sy_rc sy__tag_check(const char *key, const char *value, char *msg, size_t msgsz);

typedef struct sy_tag {
  char *key;
  char *value;
} sy_tag;

/* ---- SSM's attributes of a version ---- */

/* A DataType: "" or "text", "aws:ec2:image" (the value must then be an image id, "ami-" and 8
 * or 17 hexadecimal digits) or "aws:ssm:integration". */
sy_rc sy__data_type_check(const char *data_type, const char *value, size_t len, char *msg, size_t msgsz);
/* A KMS KeyId: 1..SY_KEY_ID_MAX printable ASCII characters (a key id, an alias "alias/...",
 * or an ARN of either). The AWS-managed aliases "alias/aws/<service>" other than
 * alias/aws/ssm name no key here: SY_EKEYID. */
sy_rc sy__key_id_check(const char *key_id, char *msg, size_t msgsz);
/* The Policies of a put: a JSON array of at most SY_POLICIES_COUNT_MAX policies, each a type
 * name ("Expiration") or an object {"Type", "Version": "1.0", "Attributes"}: Expiration with
 * Attributes.Timestamp (ISO 8601), ExpirationNotification with Before and Unit (Days or
 * Hours), NoChangeNotification with After and Unit. A text that is not JSON at all is
 * taken and kept but has no effect, as common tooling expects. SY_EPOLICY_TYPE for an
 * unknown type, SY_EPOLICY_ATTR for a missing or wrong attribute, SY_EINVAL otherwise.
 * *expires_ms (may be NULL) gets the earliest Expiration, or 0. */
sy_rc sy__policies_check(const char *text, int64_t *expires_ms, char *msg, size_t msgsz);
/* The earliest Expiration of a valid Policies text (ms since 1970), or 0 when it has none. */
int64_t sy__policies_expiry(const char *text);

/* Checks the tags a write gives: at most SY_TAGS_MAX (SY_ETAG_LIMIT), each by sy__tag_check. */
sy_rc sy__tags_check(const sy_tag *tags, int n, char *msg, size_t msgsz);

#endif

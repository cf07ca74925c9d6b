/* flag.h — feature flags (pure): the flag document, its checks against the flag's schema,
 * and its evaluation for a context. No I/O, no globals (but the per-thread regex match data
 * of sy__flag_eval); a compiled flag is immutable and may be evaluated from any number of
 * threads at once, without allocating.
 *
 * A flag is a document of kind Flag whose value is a JSON object:
 *
 *   {"enabled": true,                    kill switch (default true)
 *    "rollout_percentage": 10,           0..100, at most two decimals (default 100)
 *    "salt": "…",                        bucket salt (default: the flag's key)
 *    "variants": {"on": true, "off": false},        name -> any JSON value (this default)
 *    "weights": {"on": 1},               integer weights 0..1000000, sum > 0: the split of the
 *                                        subjects inside the rollout (default: all "on", or the
 *                                        only non-default variant)
 *    "default_variant": "off",           served when disabled, outside the rollout, or when
 *                                        nothing else applies (default "off")
 *    "rules": [{"name": "beta", "constraints": [{"attribute": "country", "operator": "IN",
 *               "values": ["NL"], "inverted": false, "case_insensitive": false}],
 *               "variant": "on"          or "percentage": 25 (its own rollout of "on"/weights)
 *             }],                        ordered, first match wins
 *    "env_override": "PARTIAL_RESULTS_ENABLED",     an environment variable that, where it is
 *                                        set, forces the result (true/false/a variant name)
 *    "config": {…},                      free fields, checked against the schema
 *    …}                                  any other top-level field is a config field too (the
 *                                        shape runbook 004 writes), checked the same way
 *
 * The schema (a version attribute of the flag, kept by writes that leave it out) is a JSON
 * object of config field -> {"type": "number"|"integer"|"string"|"boolean", "min", "max",
 * "enum": [...], "required": bool}.
 *
 * Bucketing is the fixed contract of bucket.h: a subject (the context's targetingKey) is in a
 * rollout of p percent iff sy_bucket(salt, subject) < round(p * 100). A rule's percentage
 * uses the same bucket. Inside a rollout, the variant among several weighted ones is chosen
 * by a second, independent hash: the first 8 bytes of SHA-256(salt "/split/" subject),
 * big-endian, modulo the sum of the weights, walked in the order the variants are written.
 * The split hash does not depend on the percentage, so raising it only adds subjects and
 * never moves one between variants.
 *
 * Evaluation: the env_override variable (set to "true"/"false" on a flag whose values are
 * booleans, or to a variant's name: that variant, STATIC, overridden; anything else is
 * ignored) → the kill switch (DISABLED) → the rules in order (the first whose constraints
 * all match: its variant, or, inside its percentage, the weighted variant, TARGETING_MATCH;
 * outside it the next rule) → the rollout: 100 % of at most one weighted variant is STATIC
 * and needs no targetingKey, 0 % is DEFAULT and needs none either; otherwise the bucket
 * decides (SPLIT inside, DEFAULT outside), and with no targetingKey the result is the error
 * TARGETING_KEY_MISSING.
 *
 * Constraints name a top-level context attribute. A constraint matches when any of its
 * values does (NOT_IN: when none does). String operators take strings, and numbers and
 * booleans as JSON writes them; NUM_* take JSON numbers or numeric strings; DATE_* take
 * ISO 8601 strings ("2026-01-01" is midnight UTC) or JSON numbers (Unix seconds); SEMVER_*
 * take "1.2.3[-pre][+build]" with an optional "v"; IN_CIDR an IPv4 or IPv6 address
 * (IPv4-mapped IPv6 counts as IPv4). A missing (or null) attribute never matches, and an
 * attribute of the wrong type or a malformed one does not match; "inverted" turns both
 * into a match. "case_insensitive" folds ASCII case (REGEX: PCRE2_CASELESS). Values are
 * parsed once, at compile time (REGEX with PCRE2, UTF-8, a match limit of
 * SY_FLAG_REGEX_MATCH_LIMIT; a match over the limit does not match). */
#ifndef SY_CORE_FLAG_H
#define SY_CORE_FLAG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rc.h"

#define SY_FLAG_RULES_MAX 100
#define SY_FLAG_CONSTRAINTS_MAX 50 /* per rule */
#define SY_FLAG_VALUES_MAX 1000    /* per constraint */
#define SY_FLAG_VARIANTS_MAX 100
#define SY_FLAG_CONTEXT_DEPTH 8   /* an evaluation context nested deeper is INVALID_CONTEXT */
#define SY_FLAG_CONTEXT_MAX 65536 /* bytes of a context's JSON */
#define SY_FLAG_REGEX_MATCH_LIMIT 100000

typedef struct sy_flag sy_flag;

/* Why a result is what it is (OpenFeature's reasons). */
typedef enum sy_flag_reason {
  SY_FLAG_STATIC = 1,      /* no rollout, no rule, no split: the one value */
  SY_FLAG_TARGETING_MATCH, /* a rule matched */
  SY_FLAG_SPLIT,           /* the subject's bucket chose it (rollout or weights) */
  SY_FLAG_DISABLED,        /* the kill switch is off */
  SY_FLAG_DEFAULT,         /* outside the rollout, or nothing else applied */
  SY_FLAG_ERROR,
} sy_flag_reason;

/* What went wrong, when reason is SY_FLAG_ERROR (OFREP's error codes). */
typedef enum sy_flag_error {
  SY_FLAG_OK = 0,
  SY_FLAG_PARSE_ERROR,
  SY_FLAG_TARGETING_KEY_MISSING, /* a rollout or split needs a targetingKey and there is none */
  SY_FLAG_INVALID_CONTEXT,       /* not an object, too deep, a targetingKey that is not a string */
  SY_FLAG_GENERAL,
} sy_flag_error;

typedef struct sy_flag_result {
  const json_t *value; /* borrowed from the flag */
  const char *variant; /* borrowed from the flag; NULL on error */
  sy_flag_reason reason;
  sy_flag_error error;
  char detail[160]; /* on error: what, precisely; with an override: which variable */
  int rule;         /* the rule that matched, or -1 */
  uint32_t bucket;  /* the subject's bucket 0..9999, or UINT32_MAX when none was needed */
  int overridden;   /* the env_override variable decided */
} sy_flag_result;

/* Looks up an environment variable for env_override (the server passes getenv; tests pass
 * their own). NULL: no overrides. */
typedef const char *(*sy_flag_env_fn)(const char *name);

/* Checks a schema (NULL or "" is none). SY_EINVAL with a message naming the field. */
sy_rc sy__flag_schema_check(const char *schema, char *msg, size_t msgsz);

/* Parses the flag document doc (len bytes of JSON) of the flag with key (its path without
 * the leading '/', the default salt), checks it and its config fields against schema, and
 * compiles it into *out (free with sy__flag_free). On a refusal SY_EINVAL with a message
 * that names the field and what is wrong, e.g.
 * "config.min_stability_threshold: 0.97 is above the maximum 0.95". */
sy_rc sy__flag_compile(const char *key, const char *doc, size_t len, const char *schema, sy_flag **out, char *msg,
                       size_t msgsz);
void sy__flag_free(sy_flag *f);

/* Evaluates f for the context ctx (a JSON object with an optional "targetingKey" and any
 * attributes; NULL is an empty one). Never fails: a problem is reason SY_FLAG_ERROR with an
 * error code and the flag's default variant's value. Does not allocate, with one exception
 * per thread: the first REGEX match of a thread makes that thread's PCRE2 match data, which
 * is kept for its later matches and freed when it exits (a compiled flag holds none, so that
 * it stays immutable and shareable between threads). */
void sy__flag_eval(const sy_flag *f, const json_t *ctx, sy_flag_env_fn env, sy_flag_result *out);
/* sy__flag_eval with the subject (the targetingKey; NULL for none) given apart from the
 * context (NULL: none; its own targetingKey is then not read), and the value of the flag's
 * env_override variable (NULL: not set) instead of a lookup: what a client that looked the
 * variable up when it loaded the flag, and evaluates a bare subject, calls. */
void sy__flag_eval_subject(const sy_flag *f, const json_t *ctx, const char *subject, const char *env_value,
                           sy_flag_result *out);
/* The flag's env_override variable, or NULL. */
const char *sy__flag_env_name(const sy_flag *f);

/* The evaluation of f for ctx, explained: {"result": {...}, "bucket", "rollout_percentage",
 * "rules": [{"name", "matched": bool, "why": "country IN [NL]: \"DE\" is not in the list",
 * "decided": bool}], "override": null or {"variable", "value", "applied"}}. Every rule is
 * shown, also those after the one that decided. NULL when out of memory (or f is NULL). */
json_t *sy__flag_explain(const sy_flag *f, const json_t *ctx, sy_flag_env_fn env);

/* What a compiled flag holds, for the APIs. */
int sy__flag_enabled(const sy_flag *f);
double sy__flag_percentage(const sy_flag *f);
/* The variant served outside the rollout, and the (first weighted) one served inside it:
 * what a rollout's pushed metrics compare ("off" and "on" by default). */
const char *sy__flag_default_variant(const sy_flag *f);
const char *sy__flag_rollout_variant(const sy_flag *f);
/* The JSON type of the flag's values ("boolean", "string", "number", "object") when all its
 * variants share one, else "mixed". */
const char *sy__flag_value_type(const sy_flag *f);

const char *sy__flag_reason_name(sy_flag_reason r); /* "TARGETING_MATCH" */
const char *sy__flag_error_name(sy_flag_error e);   /* "TARGETING_KEY_MISSING" */

#endif

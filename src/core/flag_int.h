/* flag_int.h — the compiled form of a flag, shared by flag.c (documents, evaluation) and
 * flag_match.c (constraint operators). Internal to core. */
#ifndef SY_CORE_FLAG_INT_H
#define SY_CORE_FLAG_INT_H

/* The bucket hashes with the SHA-256 of <openssl/sha.h> on a state held by the caller: it
 * allocates nothing, and a flag keeps the state after its salt, so that an evaluation
 * hashes only the subject. (OpenSSL 3.0 allocates on every EVP digest init.) The 1.1.1 API
 * level keeps those calls available without deprecation warnings; this header comes first. */
#ifndef OPENSSL_API_COMPAT
#define OPENSSL_API_COMPAT 10101
#endif
#include <openssl/sha.h>

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/flag.h"

#define FLAG_SALT_MAX 1024
#define FLAG_WEIGHT_MAX 1000000

typedef enum flag_op {
  OP_IN,
  OP_NOT_IN,
  OP_STR_STARTS_WITH,
  OP_STR_ENDS_WITH,
  OP_STR_CONTAINS,
  OP_NUM_EQ,
  OP_NUM_GT,
  OP_NUM_GTE,
  OP_NUM_LT,
  OP_NUM_LTE,
  OP_DATE_AFTER,
  OP_DATE_BEFORE,
  OP_SEMVER_EQ,
  OP_SEMVER_GT,
  OP_SEMVER_LT,
  OP_REGEX,
  OP_IN_CIDR,
  OP_COUNT
} flag_op;

typedef struct flag_semver {
  uint64_t v[3];
  const char *pre; /* the pre-release identifiers (borrowed), or NULL */
  size_t prelen;
} flag_semver;

typedef struct flag_cidr {
  int family; /* 4 or 6 */
  unsigned char addr[16];
  int bits;
} flag_cidr;

/* One value of a constraint, parsed once for its operator. */
typedef struct flag_value {
  const char *s; /* the value as written (borrowed from the document) */
  size_t len;
  double num;
  int64_t ms;
  flag_semver sv;
  flag_cidr cidr;
  pcre2_code *re;
} flag_value;

typedef struct flag_constraint {
  const char *attr; /* borrowed */
  flag_op op;
  int inverted, ci;
  size_t nvals;
  flag_value *vals;                /* IN/NOT_IN: sorted for a binary search */
  const pcre2_match_context *mctx; /* the flag's, for REGEX */
} flag_constraint;

typedef struct flag_rule {
  const char *name; /* borrowed; "" when the rule has none */
  size_t ncons;
  flag_constraint *cons;
  int variant;   /* index of the variant it serves, or -1 */
  int pct_cents; /* its own rollout in hundredths of a percent, or -1 */
} flag_rule;

typedef struct flag_variant {
  const char *name;    /* borrowed from the document */
  const json_t *value; /* borrowed from the document */
  uint64_t weight;
} flag_variant;

struct sy_flag {
  json_t *doc; /* owned: every borrowed string and value lives in it */
  char salt[FLAG_SALT_MAX + 8];
  size_t saltlen;
  SHA256_CTX bucket_state; /* after salt "/" */
  SHA256_CTX split_state;  /* after salt "/split/" */
  int enabled;
  int pct_cents; /* 0..10000 */
  double pct;
  size_t nvariants;
  flag_variant *variants;
  uint64_t weight_sum;
  int nweighted; /* variants with a weight > 0 */
  int first_weighted;
  int def;     /* default variant */
  int on, off; /* the variants whose values are true and false, or -1 */
  size_t nrules;
  flag_rule *rules;
  const char *env; /* borrowed, or NULL */
  const char *value_type;
  pcre2_match_context *mctx; /* the match limit of every regex of the flag */
};

/* The operator named s, or -1. */
int sy__flag_op_parse(const char *s);
const char *sy__flag_op_name(flag_op op);
/* Parses values[k] of constraint c for its operator; on a refusal writes what is wrong
 * (without the field) into msg and returns -1. */
int sy__flag_value_compile(flag_constraint *c, const json_t *v, flag_value *out, char *msg, size_t msgsz);
/* Sorts the values of an IN/NOT_IN constraint for the search (linear-log, once). */
void sy__flag_values_sort(flag_constraint *c);
/* Frees what a constraint's values own (compiled regexes). */
void sy__flag_values_free(flag_constraint *c);
/* 1 when constraint c matches context ctx (an object), inversion applied. When why is
 * not NULL, writes one line saying why into it. Does not allocate (beyond a regex match
 * data made once per thread). */
int sy__flag_constraint_match(const flag_constraint *c, const json_t *ctx, char *why, size_t whysz);
/* A number in its shortest round-trip form; integral reals keep a ".0", as JSON writes them. */
void sy__flag_fmt_num(double d, int integer, char *out, size_t outsz);
/* A JSON number as written by sy__flag_fmt_num. */
void sy__flag_fmt_json_num(const json_t *n, char *out, size_t outsz);

#endif

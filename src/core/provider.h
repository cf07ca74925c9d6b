/* provider.h — the documents of the gateway (docs/GATEWAY.md): providers (kind Provider, at
 * /switchyard/providers/NAME) and routes (kind Route, anywhere). Both compile once per
 * version into immutable objects that every thread reads. Pure. */
#ifndef SY_CORE_PROVIDER_H
#define SY_CORE_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "core/breaker.h"
#include "core/rc.h"

#define SY_PROVIDERS_PREFIX "/switchyard/providers/"
#define SY_DEFAULT_ROUTE "/switchyard/routes/default"
#define SY_PROVIDER_NAME_MAX 64 /* 1..64 of a-z A-Z 0-9 . _ - */
#define SY_PROVIDER_MODELS_MAX 64
#define SY_ROUTE_SPLIT_MAX 16
#define SY_ROUTE_FALLBACKS_MAX 8
#define SY_GATEWAY_DOC_MAX (16 * 1024) /* value limit of both kinds */

typedef enum sy_provider_type {
  SY_PROVIDER_OPENAI = 1,
  SY_PROVIDER_GEMINI = 2,
  SY_PROVIDER_SEEDREAM = 3,
  SY_PROVIDER_STUB = 4,
} sy_provider_type;

const char *sy__provider_type_name(sy_provider_type t); /* "openai", ... */

typedef struct sy_provider {
  char name[SY_PROVIDER_NAME_MAX + 1];
  sy_provider_type type;
  char *base_url; /* without a trailing '/'; "" for a stub */
  char **models;  /* nmodels strings; models[0] is the default */
  int nmodels;
  char *credentials; /* a SecureString parameter's name, or NULL */
  double price_in_1k, price_out_1k, price_image;
  int64_t connect_ms, first_byte_ms, idle_ms, total_ms;
  int64_t max_output_tokens; /* the most a call may answer when it does not say (a budget's worst case) */
  int retry_max_attempts;    /* 1..10, 1 = no retry */
  int64_t retry_base_ms, retry_max_ms;
  sy_breaker_cfg breaker;
} sy_provider;

/* Compiles the document at key (its name without the leading '/', e.g.
 * "switchyard/providers/gemini"): a JSON object as docs/GATEWAY.md has it. Refuses, naming
 * the field, an unknown field, a wrong type, a number out of range, a base_url that is not
 * http(s)://host..., a key outside /switchyard/providers/ or a "name" field that is not the
 * key's last segment. *out is NULL on a refusal (msg says why). */
sy_rc sy__provider_compile(const char *key, const char *value, size_t len, sy_provider **out, char *msg, size_t msgsz);
void sy__provider_free(sy_provider *p);
/* The built-in provider "stub" (type stub, no models: any model; zero prices). Static. */
const sy_provider *sy__provider_builtin_stub(void);
/* Whether the provider serves model: it lists it, or lists none. */
int sy__provider_has_model(const sy_provider *p, const char *model);

typedef struct sy_route_split {
  char provider[SY_PROVIDER_NAME_MAX + 1];
  uint32_t upto; /* the entry takes buckets [previous upto, upto) of [0, 10000) */
} sy_route_split;

typedef struct sy_route {
  char *strategy;                          /* the strategy parameter's name, or NULL */
  char provider[SY_PROVIDER_NAME_MAX + 1]; /* "" when only the strategy names one */
  sy_route_split split[SY_ROUTE_SPLIT_MAX];
  int nsplit;
  char fallbacks[SY_ROUTE_FALLBACKS_MAX][SY_PROVIDER_NAME_MAX + 1];
  int nfallbacks;
  char *salt;      /* defaults to the route's key */
  char model[129]; /* the model its provider is asked for ("" the client's): an activation's */
  int64_t deadline_ms;
} sy_route;

/* Compiles a route document at key (name without the leading '/'). As for providers: every
 * refusal names the field; split percents are 0..100 with at most two decimals and sum to at
 * most 100; provider names are checked as names (they need not exist yet). */
sy_rc sy__route_compile(const char *key, const char *value, size_t len, sy_route **out, char *msg, size_t msgsz);
void sy__route_free(sy_route *r);
/* The split entry a bucket (0..9999) falls in, or NULL: the primary serves it. */
const char *sy__route_split_pick(const sy_route *r, uint32_t bucket);

/* Spending limits (kind Limit): one document per limit, named by what it limits. */
#define SY_LIMITS_PREFIX "/switchyard/limits/"
#define SY_LIMIT_USD_MAX 1e9
typedef enum sy_limit_type {
  SY_LIMIT_GLOBAL = 1,       /* every request */
  SY_LIMIT_PER_PROVIDER = 2, /* scope: a provider's name */
  SY_LIMIT_PER_ROUTE = 3,    /* scope: a route document's name */
} sy_limit_type;

typedef struct sy_limit {
  sy_limit_type type;
  char scope[1024];          /* "" for global */
  double soft_usd, hard_usd; /* per UTC day; soft <= hard */
} sy_limit;

const char *sy__limit_type_name(sy_limit_type t); /* "global", "per_provider", "per_route" */
/* The document name of a limit: SY_LIMITS_PREFIX "global", "per_provider/NAME" or
 * "per_route/ROUTE" (the route's name without its leading '/'). -1 if it does not fit. */
int sy__limit_name(sy_limit_type t, const char *scope, char *out, size_t cap);
/* Compiles a limit document at key (its name without the leading '/'):
 * {"limit_type","scope","soft_limit_usd","hard_limit_usd","period"} as runbook 001 writes it;
 * period defaults to "daily" (the only one), soft to hard. Refusals name the field (soft above
 * hard, a negative amount, a scope that is not a provider's or a route's name, a key that is
 * not the limit's name). */
sy_rc sy__limit_compile(const char *key, const char *value, size_t len, sy_limit **out, char *msg, size_t msgsz);
void sy__limit_free(sy_limit *l);
sy_rc sy__limit_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj, char *msg,
                             size_t msgsz);
void sy__limit_kind_release(void *obj);

/* Whether s[0..n) is a provider name. */
int sy__provider_name_valid(const char *s, size_t n);

/* Registry hooks of the kinds Provider and Route (param.c's table). */
sy_rc sy__provider_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                                char *msg, size_t msgsz);
void sy__provider_kind_release(void *obj);
sy_rc sy__route_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj, char *msg,
                             size_t msgsz);
void sy__route_kind_release(void *obj);

#endif

/* fuzz_gwdoc.c — libFuzzer harness for the gateway's documents: provider, route and limit values
 * (src/core/provider.c), compiled as the store's rules compile them on every write.
 *
 * The input is one document value. Besides "no crash": a refusal names its reason and
 * leaves nothing compiled; an accepted provider keeps its limits (name, models, ranges), an
 * accepted route's split stays inside [0, 10000) in order and its pick agrees with it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/provider.h"

static void provider(const char *s, size_t n) {
  char msg[512];
  sy_provider *p = (sy_provider *)1;
  sy_rc rc = sy__provider_compile("switchyard/providers/fuzz", s, n, &p, msg, sizeof msg);
  if (rc) {
    CHECK(p == NULL);
    CHECK(msg[0] != 0);
    return;
  }
  CHECK(p != NULL);
  CHECK(!strcmp(p->name, "fuzz"));
  CHECK(p->nmodels >= 0 && p->nmodels <= SY_PROVIDER_MODELS_MAX);
  for (int i = 0; i < p->nmodels; i++) CHECK(sy__provider_has_model(p, p->models[i]));
  CHECK(p->retry_max_attempts >= 1 && p->retry_max_attempts <= 10);
  CHECK(p->retry_base_ms <= p->retry_max_ms);
  CHECK(p->connect_ms >= 1 && p->first_byte_ms >= 1 && p->idle_ms >= 1 && p->total_ms >= 1);
  CHECK(p->price_in_1k >= 0 && p->price_out_1k >= 0 && p->price_image >= 0);
  CHECK(p->type >= SY_PROVIDER_OPENAI && p->type <= SY_PROVIDER_STUB);
  sy__provider_free(p);
}

static void route(const char *s, size_t n) {
  char msg[512];
  sy_route *r = (sy_route *)1;
  sy_rc rc = sy__route_compile("fuzz/route", s, n, &r, msg, sizeof msg);
  if (rc) {
    CHECK(r == NULL);
    CHECK(msg[0] != 0);
    return;
  }
  CHECK(r != NULL);
  CHECK(r->strategy || r->provider[0]);
  CHECK(r->nsplit >= 0 && r->nsplit <= SY_ROUTE_SPLIT_MAX);
  uint32_t prev = 0;
  for (int i = 0; i < r->nsplit; i++) {
    CHECK(r->split[i].upto >= prev && r->split[i].upto <= 10000);
    prev = r->split[i].upto;
  }
  for (uint32_t b = 0; b < 10000; b += 37) {
    const char *pick = sy__route_split_pick(r, b);
    CHECK(!pick == (b >= prev));
  }
  CHECK(r->deadline_ms >= 1);
  sy__route_free(r);
}

static void limit(const char *s, size_t n) {
  char msg[512];
  sy_limit *l = (sy_limit *)1;
  sy_rc rc = sy__limit_compile(NULL, s, n, &l, msg, sizeof msg);
  if (rc) {
    CHECK(l == NULL);
    CHECK(msg[0] != 0);
    return;
  }
  CHECK(l != NULL);
  CHECK(l->soft_usd >= 0 && l->soft_usd <= l->hard_usd && l->hard_usd <= SY_LIMIT_USD_MAX);
  char name[1200];
  CHECK(sy__limit_name(l->type, l->scope, name, sizeof name) > 0);
  /* the document compiles at its own name, and only there */
  sy_limit *again = NULL;
  CHECK(sy__limit_compile(name + 1, s, n, &again, msg, sizeof msg) == SY_OK);
  sy__limit_free(again);
  sy__limit_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > SY_GATEWAY_DOC_MAX) return 0;
  provider((const char *)data, size);
  route((const char *)data, size);
  limit((const char *)data, size);
  return 0;
}

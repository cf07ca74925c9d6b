/* test_provider.c — the gateway's documents: providers and routes compile field by field,
 * every refusal names its field (tables in data/gateway/), defaults, the sticky split, and
 * the kinds Provider and Route in the registry and the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bucket.h"
#include "core/param.h"
#include "core/provider.h"
#include "store/store.h"

#ifndef SY_TEST_DATA
#define SY_TEST_DATA "data/"
#endif
#define DATA SY_TEST_DATA "gateway/"

#define ROUTE_KEY "photoeditor/staging/image-processor"

/* ---- fixtures ---- */

/* The whole of a data file, NUL-terminated; the caller frees it. */
static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) fail_msg("cannot open %s", path);
  char *buf = malloc(65536);
  assert_non_null(buf);
  size_t n = fread(buf, 1, 65535, fp);
  fclose(fp);
  buf[n] = 0;
  *len = n;
  return buf;
}

static sy_provider *provider_ok(const char *key, const char *doc) {
  sy_provider *p = NULL;
  char msg[512] = "";
  sy_rc rc = sy__provider_compile(key, doc, strlen(doc), &p, msg, sizeof msg);
  if (rc) fail_msg("provider %s: %s", doc, msg);
  assert_non_null(p);
  return p;
}

static sy_route *route_ok(const char *key, const char *doc) {
  sy_route *r = NULL;
  char msg[512] = "";
  sy_rc rc = sy__route_compile(key, doc, strlen(doc), &r, msg, sizeof msg);
  if (rc) fail_msg("route %s: %s", doc, msg);
  assert_non_null(r);
  return r;
}

/* Splits a line at tabs into at most n fields; the number found. */
static int fields(char *line, char **out, int n) {
  int k = 0;
  line[strcspn(line, "\r\n")] = 0;
  out[k++] = line;
  for (char *p = line; *p && k < n; p++)
    if (*p == '\t') {
      *p = 0;
      out[k++] = p + 1;
    }
  return k;
}

/* ---- providers ---- */

static void provider_full(void **state) {
  size_t len;
  char *doc = slurp(DATA "provider_gemini.json", &len);
  sy_provider *p = NULL;
  char msg[512];
  assert_int_equal(sy__provider_compile("switchyard/providers/gemini", doc, len, &p, msg, sizeof msg), SY_OK);
  assert_string_equal(p->name, "gemini");
  assert_int_equal(p->type, SY_PROVIDER_GEMINI);
  assert_string_equal(p->base_url, "https://generativelanguage.googleapis.com/v1beta"); /* trailing '/' stripped */
  assert_int_equal(p->nmodels, 2);
  assert_string_equal(p->models[0], "gemini-2.0-flash");
  assert_string_equal(p->models[1], "gemini-1.5-pro");
  assert_string_equal(p->credentials, "/photoeditor/staging/gemini/api-key");
  assert_true(p->price_in_1k == 0.000075);
  assert_true(p->price_out_1k == 0.0003);
  assert_true(p->price_image == 0.039);
  assert_int_equal(p->connect_ms, 2500);
  assert_int_equal(p->first_byte_ms, 15000);
  assert_int_equal(p->idle_ms, 31000);
  assert_int_equal(p->total_ms, 60000);
  assert_int_equal(p->retry_max_attempts, 3);
  assert_int_equal(p->retry_base_ms, 150);
  assert_int_equal(p->retry_max_ms, 2500);
  assert_int_equal(p->breaker.consecutive_failures, 7);
  assert_int_equal(p->breaker.error_rate_percent, 40);
  assert_int_equal(p->breaker.min_requests, 25);
  assert_int_equal(p->breaker.window_ms, 60000);
  assert_int_equal(p->breaker.cooldown_ms, 45000);
  assert_int_equal(p->breaker.half_open_max, 3);
  assert_true(sy__provider_has_model(p, "gemini-1.5-pro"));
  assert_false(sy__provider_has_model(p, "gpt-4o"));
  assert_false(sy__provider_has_model(p, NULL));
  sy__provider_free(p);
  free(doc);
}

static void provider_defaults(void **state) {
  sy_provider *p = provider_ok("switchyard/providers/stub", "{\"type\": \"stub\"}");
  assert_string_equal(p->name, "stub");
  assert_int_equal(p->type, SY_PROVIDER_STUB);
  assert_string_equal(p->base_url, "");
  assert_int_equal(p->nmodels, 0);
  assert_null(p->credentials);
  assert_true(p->price_in_1k == 0 && p->price_out_1k == 0 && p->price_image == 0);
  assert_int_equal(p->connect_ms, 2000);
  assert_int_equal(p->first_byte_ms, 30000);
  assert_int_equal(p->idle_ms, 30000);
  assert_int_equal(p->total_ms, 120000);
  assert_int_equal(p->retry_max_attempts, 2);
  assert_int_equal(p->retry_base_ms, 100);
  assert_int_equal(p->retry_max_ms, 2000);
  sy_breaker_cfg d;
  memset(&d, 0, sizeof d); /* the padding too, for assert_memory_equal */
  sy__breaker_cfg_default(&d);
  assert_memory_equal(&p->breaker, &d, sizeof d);
  assert_true(sy__provider_has_model(p, "anything"));
  sy__provider_free(p);

  /* a partial nested object keeps the defaults of the fields it leaves out */
  p = provider_ok("switchyard/providers/o",
                  "{\"type\": \"openai\", \"base_url\": \"http://localhost:8080\", \"timeouts_ms\": {\"total\": 5000},"
                  " \"retry\": {\"max_attempts\": 1}, \"breaker\": {\"half_open_max\": 2}, \"prices\": {}}");
  assert_string_equal(p->base_url, "http://localhost:8080");
  assert_int_equal(p->connect_ms, 2000);
  assert_int_equal(p->total_ms, 5000);
  assert_int_equal(p->retry_max_attempts, 1);
  assert_int_equal(p->retry_base_ms, 100);
  assert_int_equal(p->breaker.half_open_max, 2);
  assert_int_equal(p->breaker.consecutive_failures, 5);
  sy__provider_free(p);
}

static void provider_refusals_file(void **state) {
  FILE *fp = fopen(DATA "provider_refusals.txt", "r");
  char line[8192], msg[512];
  int count = 0;
  assert_non_null(fp);
  while (fgets(line, sizeof line, fp)) {
    char *f[3];
    if (line[0] == '#' || line[0] == '\n') continue;
    assert_int_equal(fields(line, f, 3), 3);
    sy_provider *p = (sy_provider *)1; /* must come back NULL */
    msg[0] = 0;
    sy_rc rc = sy__provider_compile(f[0], f[1], strlen(f[1]), &p, msg, sizeof msg);
    if (rc != SY_EINVAL || p) fail_msg("%s %s: accepted (rc %d)", f[0], f[1], rc);
    if (strcmp(msg, f[2])) fail_msg("%s:\n  got  %s\n  want %s", f[1], msg, f[2]);
    count++;
  }
  fclose(fp);
  assert_true(count >= 55);
}

/* The edges of each limit are taken. */
static void provider_limits(void **state) {
  char doc[4096], url[1100];
  int off;
  /* a base_url of exactly 1024 bytes, many trailing slashes stripped */
  off = snprintf(url, sizeof url, "https://");
  memset(url + off, 'h', 1024 - (size_t)off - 3);
  memcpy(url + 1021, "///", 4);
  snprintf(doc, sizeof doc, "{\"type\": \"openai\", \"base_url\": \"%s\"}", url);
  sy_provider *p = provider_ok("switchyard/providers/x", doc);
  assert_int_equal(strlen(p->base_url), 1021);
  sy__provider_free(p);

  /* 64 models, one of 128 characters */
  off = snprintf(doc, sizeof doc, "{\"type\": \"stub\", \"models\": [\"%0128d\"", 7);
  for (int i = 1; i < SY_PROVIDER_MODELS_MAX; i++) off += snprintf(doc + off, sizeof doc - (size_t)off, ", \"m%d\"", i);
  snprintf(doc + off, sizeof doc - (size_t)off, "]}");
  p = provider_ok("switchyard/providers/x", doc);
  assert_int_equal(p->nmodels, 64);
  assert_int_equal(strlen(p->models[0]), 128);
  assert_string_equal(p->models[63], "m63");
  sy__provider_free(p);

  /* integral reals count as integers; the maxima and minima of every range */
  p = provider_ok(
      "switchyard/providers/x",
      "{\"type\": \"stub\", \"name\": \"x\", \"timeouts_ms\": {\"connect\": 600000.0, \"first_byte\": 1,"
      " \"idle\": 3600000, \"total\": 3600000}, \"retry\": {\"max_attempts\": 10, \"base_ms\": 0,"
      " \"max_ms\": 0}, \"prices\": {\"per_image\": 1000000},"
      " \"breaker\": {\"consecutive_failures\": 1000, \"error_rate_percent\": 100,"
      " \"min_requests\": 1000000, \"window_ms\": 1000, \"cooldown_ms\": 86400000, \"half_open_max\": 1000},"
      " \"base_url\": \"http://h\", \"credentials\": \"/a.b/c_d-e\"}");
  assert_int_equal(p->connect_ms, 600000);
  assert_int_equal(p->retry_max_attempts, 10);
  assert_int_equal(p->retry_max_ms, 0);
  assert_true(p->price_image == 1e6);
  assert_int_equal(p->breaker.window_ms, 1000);
  assert_string_equal(p->base_url, "http://h"); /* a stub may name one */
  sy__provider_free(p);

  /* the key may come with its leading '/'; a 64-character name is valid */
  char key[128];
  snprintf(key, sizeof key, "/switchyard/providers/%064d", 1);
  p = provider_ok(key, "{\"type\": \"stub\"}");
  assert_int_equal(strlen(p->name), 64);
  sy__provider_free(p);
  snprintf(key, sizeof key, "switchyard/providers/%065d", 1);
  char msg[256];
  assert_int_equal(sy__provider_compile(key, "{\"type\":\"stub\"}", 15, &p, msg, sizeof msg), SY_EINVAL);
  assert_null(p);
}

static void provider_names(void **state) {
  assert_true(sy__provider_name_valid("gemini", 6));
  assert_true(sy__provider_name_valid("a.b_c-D9", 8));
  assert_true(sy__provider_name_valid("gemini/x", 6)); /* only n bytes are read */
  assert_false(sy__provider_name_valid("", 0));
  assert_false(sy__provider_name_valid("a b", 3));
  assert_false(sy__provider_name_valid("a/b", 3));
  assert_false(sy__provider_name_valid("a\0b", 3));
  assert_false(sy__provider_name_valid(NULL, 0));
  char long_name[70];
  memset(long_name, 'a', sizeof long_name);
  assert_true(sy__provider_name_valid(long_name, 64));
  assert_false(sy__provider_name_valid(long_name, 65));
  assert_string_equal(sy__provider_type_name(SY_PROVIDER_OPENAI), "openai");
  assert_string_equal(sy__provider_type_name(SY_PROVIDER_GEMINI), "gemini");
  assert_string_equal(sy__provider_type_name(SY_PROVIDER_SEEDREAM), "seedream");
  assert_string_equal(sy__provider_type_name(SY_PROVIDER_STUB), "stub");
}

static void builtin_stub(void **state) {
  const sy_provider *s = sy__provider_builtin_stub();
  assert_ptr_equal(s, sy__provider_builtin_stub());
  assert_string_equal(s->name, "stub");
  assert_int_equal(s->type, SY_PROVIDER_STUB);
  assert_string_equal(s->base_url, "");
  assert_int_equal(s->nmodels, 0);
  assert_null(s->credentials);
  assert_true(s->price_in_1k == 0 && s->price_out_1k == 0 && s->price_image == 0);
  assert_true(sy__provider_has_model(s, "gpt-4o"));
  /* the same as a document {"type": "stub"} at /switchyard/providers/stub */
  sy_provider *p = provider_ok("switchyard/providers/stub", "{\"type\": \"stub\"}");
  assert_int_equal(s->connect_ms, p->connect_ms);
  assert_int_equal(s->first_byte_ms, p->first_byte_ms);
  assert_int_equal(s->idle_ms, p->idle_ms);
  assert_int_equal(s->total_ms, p->total_ms);
  assert_int_equal(s->retry_max_attempts, p->retry_max_attempts);
  assert_int_equal(s->retry_base_ms, p->retry_base_ms);
  assert_int_equal(s->retry_max_ms, p->retry_max_ms);
  assert_memory_equal(&s->breaker, &p->breaker, sizeof s->breaker);
  sy__provider_free(p);
  sy__provider_free((sy_provider *)s); /* freeing the static one is a no-op */
}

/* ---- routes ---- */

static void route_full(void **state) {
  size_t len;
  char *doc = slurp(DATA "route_full.json", &len);
  sy_route *r = NULL;
  char msg[512];
  assert_int_equal(sy__route_compile(ROUTE_KEY, doc, len, &r, msg, sizeof msg), SY_OK);
  assert_string_equal(r->strategy, "/photoeditor/staging/provider/strategy");
  assert_string_equal(r->provider, "gemini");
  assert_int_equal(r->nsplit, 2);
  assert_string_equal(r->split[0].provider, "seedream");
  assert_int_equal(r->split[0].upto, 1000);
  assert_string_equal(r->split[1].provider, "openai");
  assert_int_equal(r->split[1].upto, 1250);
  assert_int_equal(r->nfallbacks, 2);
  assert_string_equal(r->fallbacks[0], "seedream");
  assert_string_equal(r->fallbacks[1], "stub");
  assert_string_equal(r->salt, "image-processor");
  assert_int_equal(r->deadline_ms, 60000);
  assert_null(sy__route_split_pick(r, 1250));
  assert_string_equal(sy__route_split_pick(r, 0), "seedream");
  assert_string_equal(sy__route_split_pick(r, 999), "seedream");
  assert_string_equal(sy__route_split_pick(r, 1000), "openai");
  assert_string_equal(sy__route_split_pick(r, 1249), "openai");
  assert_null(sy__route_split_pick(r, 9999));
  sy__route_free(r);
  free(doc);
}

static void route_defaults(void **state) {
  sy_route *r = route_ok(ROUTE_KEY, "{\"provider\": \"gemini\"}");
  assert_null(r->strategy);
  assert_string_equal(r->provider, "gemini");
  assert_int_equal(r->nsplit, 0);
  assert_int_equal(r->nfallbacks, 0);
  assert_string_equal(r->salt, "/" ROUTE_KEY); /* the route's name, with its '/' */
  assert_int_equal(r->deadline_ms, 120000);
  assert_null(sy__route_split_pick(r, 0));
  sy__route_free(r);

  r = route_ok("switchyard/routes/default", "{\"strategy\": \"/photoeditor/staging/provider/strategy\"}");
  assert_string_equal(r->strategy, "/photoeditor/staging/provider/strategy");
  assert_string_equal(r->provider, "");
  assert_string_equal(r->salt, SY_DEFAULT_ROUTE);
  sy__route_free(r);

  /* empty split and fallbacks; the maxima */
  r = route_ok(ROUTE_KEY,
               "{\"provider\": \"g\", \"split\": [], \"fallbacks\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", "
               "\"h\"], \"deadline_ms\": 3600000}");
  assert_int_equal(r->nsplit, 0);
  assert_int_equal(r->nfallbacks, 8);
  assert_string_equal(r->fallbacks[7], "h");
  assert_int_equal(r->deadline_ms, 3600000);
  sy__route_free(r);
}

static void route_refusals_file(void **state) {
  FILE *fp = fopen(DATA "route_refusals.txt", "r");
  char line[8192], msg[512];
  int count = 0;
  assert_non_null(fp);
  while (fgets(line, sizeof line, fp)) {
    char *f[2];
    if (line[0] == '#' || line[0] == '\n') continue;
    assert_int_equal(fields(line, f, 2), 2);
    sy_route *r = (sy_route *)1; /* must come back NULL */
    msg[0] = 0;
    sy_rc rc = sy__route_compile(ROUTE_KEY, f[0], strlen(f[0]), &r, msg, sizeof msg);
    if (rc != SY_EINVAL || r) fail_msg("%s: accepted (rc %d)", f[0], rc);
    if (strcmp(msg, f[1])) fail_msg("%s:\n  got  %s\n  want %s", f[0], msg, f[1]);
    count++;
  }
  fclose(fp);
  assert_true(count >= 30);
}

/* Percents with two decimals add up exactly, in basis points, however the doubles round. */
static void split_percents(void **state) {
  sy_route *r = route_ok(ROUTE_KEY,
                         "{\"provider\": \"g\", \"split\": [{\"provider\": \"a\", \"percent\": 33.33},"
                         " {\"provider\": \"b\", \"percent\": 33.33}, {\"provider\": \"c\", \"percent\": 33.34}]}");
  assert_int_equal(r->split[0].upto, 3333);
  assert_int_equal(r->split[1].upto, 6666);
  assert_int_equal(r->split[2].upto, 10000);
  assert_string_equal(sy__route_split_pick(r, 9999), "c");
  sy__route_free(r);

  /* sixteen entries of 0.07, 0.29 and 6.25: each sum a whole number of basis points */
  char doc[2048];
  int off = snprintf(doc, sizeof doc, "{\"provider\": \"g\", \"split\": [");
  static const double ps[] = {0.07, 0.29, 6.25, 0.01};
  for (int i = 0; i < 16; i++)
    off += snprintf(doc + off, sizeof doc - (size_t)off, "%s{\"provider\": \"p%d\", \"percent\": %.2f}", i ? ", " : "",
                    i, ps[i % 4]);
  snprintf(doc + off, sizeof doc - (size_t)off, "]}");
  r = route_ok(ROUTE_KEY, doc);
  uint32_t want = 0;
  for (int i = 0; i < 16; i++) {
    want += (uint32_t)lround(ps[i % 4] * 100);
    assert_int_equal(r->split[i].upto, want);
  }
  sy__route_free(r);

  /* zero-percent entries take no bucket */
  r = route_ok(ROUTE_KEY,
               "{\"provider\": \"g\", \"split\": [{\"provider\": \"z\", \"percent\": 0},"
               " {\"provider\": \"a\", \"percent\": 100}]}");
  assert_string_equal(sy__route_split_pick(r, 0), "a");
  assert_string_equal(sy__route_split_pick(r, 9999), "a");
  sy__route_free(r);
}

static int in_split(const sy_route *r, const char *subject, const char *provider) {
  const char *got = sy__route_split_pick(r, sy_bucket(r->salt, subject));
  return got && strcmp(got, provider) == 0;
}

/* 20,000 subjects over a 10% split land within one point of it; raising it to 50% keeps all
 * of them in it. */
static void split_sticky(void **state) {
  const int n = 20000;
  sy_route *r10 = route_ok(ROUTE_KEY,
                           "{\"provider\": \"gemini\", \"split\": [{\"provider\": \"seedream\", \"percent\": 10}],"
                           " \"salt\": \"image-processor\"}");
  sy_route *r50 = route_ok(ROUTE_KEY,
                           "{\"provider\": \"gemini\", \"split\": [{\"provider\": \"seedream\", \"percent\": 50}],"
                           " \"salt\": \"image-processor\"}");
  int in10 = 0, in50 = 0;
  for (int i = 0; i < n; i++) {
    char subject[32];
    snprintf(subject, sizeof subject, "user-%d", i);
    int a = in_split(r10, subject, "seedream"), b = in_split(r50, subject, "seedream");
    if (a && !b) fail_msg("%s left the split when it grew", subject);
    in10 += a;
    in50 += b;
  }
  assert_true(in10 >= n * 9 / 100 && in10 <= n * 11 / 100);
  assert_true(in50 >= n * 49 / 100 && in50 <= n * 51 / 100);
  sy__route_free(r10);
  sy__route_free(r50);
}

/* ---- the kinds ---- */

static void kinds_registered(void **state) {
  const sy_kind_def *k = sy__kind_by_name("Provider");
  assert_non_null(k);
  assert_int_equal(k->kind, SY_KIND_PROVIDER);
  assert_int_equal(k->value_max, SY_GATEWAY_DOC_MAX);
  assert_non_null(k->compile);
  k = sy__kind_by_name("Route");
  assert_non_null(k);
  assert_int_equal(k->kind, SY_KIND_ROUTE);
  assert_int_equal(k->value_max, SY_GATEWAY_DOC_MAX);
  assert_string_equal(sy__kind_name(SY_KIND_PROVIDER), "Provider");
  assert_string_equal(sy__kind_name(SY_KIND_ROUTE), "Route");

  /* the hooks compile, refuse with obj NULL, and release */
  void *obj = NULL;
  char msg[256];
  const char *doc = "{\"type\": \"stub\"}";
  assert_int_equal(sy__provider_kind_compile("switchyard/providers/s", doc, strlen(doc), "", &obj, msg, sizeof msg),
                   SY_OK);
  assert_string_equal(((sy_provider *)obj)->name, "s");
  sy__provider_kind_release(obj);
  assert_int_equal(sy__provider_kind_compile("elsewhere/s", doc, strlen(doc), "", &obj, msg, sizeof msg), SY_EINVAL);
  assert_null(obj);
  doc = "{\"provider\": \"stub\"}";
  assert_int_equal(sy__route_kind_compile("r", doc, strlen(doc), "", &obj, msg, sizeof msg), SY_OK);
  assert_string_equal(((sy_route *)obj)->salt, "/r");
  sy__route_kind_release(obj);
  assert_int_equal(sy__route_kind_compile("r", "{}", 2, "", &obj, msg, sizeof msg), SY_EINVAL);
  assert_null(obj);

  /* a document past 16 KiB is refused by the value check, before it compiles */
  size_t big = SY_GATEWAY_DOC_MAX + 1;
  char *v = malloc(big);
  assert_non_null(v);
  memset(v, ' ', big);
  assert_int_equal(sy__value_check(SY_KIND_ROUTE, SY_TIER_STANDARD, v, big, msg, sizeof msg), SY_EINVAL);
  assert_string_equal(msg, "value is 16385 bytes; a Route allows at most 16384");
  assert_int_equal(sy__value_check(SY_KIND_ROUTE, SY_TIER_STANDARD, v, big - 1, msg, sizeof msg), SY_OK);
  free(v);
}

static sy_rc store_put(sy_store *st, const char *name, const char *value, sy_kind kind, int keeps, char *msg,
                       size_t msgsz) {
  sy_op op = {.kind = SY_OP_PUT, .actor = "test"};
  op.put = (sy_put){.name = name,
                    .name_len = strlen(name),
                    .value = value,
                    .value_len = strlen(value),
                    .kind = kind,
                    .overwrite = 1,
                    .string_keeps_kind = keeps,
                    .if_version = -1};
  sy_rc rc = sy__store_submit_wait(st, &op);
  snprintf(msg, msgsz, "%s", op.msg);
  sy__op_clear(&op);
  return rc;
}

static sy_kind kind_of(sy_store *st, const char *name) {
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__tree_get(s->root, name, strlen(name));
  sy_kind k = p ? p->latest->kind : 0;
  sy__snap_leave(st);
  return k;
}

/* Through the store: a refused document is not written, and a String put the way SSM does it
 * (string_keeps_kind) over a provider or a route keeps its kind. */
static void kinds_in_store(void **state) {
  char dir[] = "/tmp/sy-test-provider-XXXXXX", msg[SY_MSG_MAX], cmd[128];
  sy_store *st = NULL;
  assert_non_null(mkdtemp(dir));
  assert_int_equal(sy__store_open(dir, NULL, &st, msg, sizeof msg), SY_OK);

  assert_int_equal(
      store_put(st, "/switchyard/providers/gemini", "{\"type\": \"gemini\", \"base_url\": \"https://g.example/v1\"}",
                SY_KIND_PROVIDER, 0, msg, sizeof msg),
      SY_OK);
  assert_int_equal(
      store_put(st, "/switchyard/providers/bad", "{\"type\": \"gemini\"}", SY_KIND_PROVIDER, 0, msg, sizeof msg),
      SY_EINVAL);
  assert_non_null(strstr(msg, "base_url is required"));
  assert_int_equal(kind_of(st, "/switchyard/providers/bad"), 0);
  assert_int_equal(store_put(st, "/app/route", "{\"provider\": \"gemini\"}", SY_KIND_ROUTE, 0, msg, sizeof msg), SY_OK);

  /* an SSM String put over each keeps the kind, and is checked as that kind */
  assert_int_equal(store_put(st, "/app/route", "{\"provider\": \"stub\"}", SY_KIND_STRING, 1, msg, sizeof msg), SY_OK);
  assert_int_equal(kind_of(st, "/app/route"), SY_KIND_ROUTE);
  assert_int_equal(store_put(st, "/app/route", "not json", SY_KIND_STRING, 1, msg, sizeof msg), SY_EINVAL);
  assert_int_equal(
      store_put(st, "/switchyard/providers/gemini", "{\"type\": \"stub\"}", SY_KIND_STRING, 1, msg, sizeof msg), SY_OK);
  assert_int_equal(kind_of(st, "/switchyard/providers/gemini"), SY_KIND_PROVIDER);
  /* the native API's String is a change of kind */
  assert_int_equal(store_put(st, "/app/route", "plain", SY_KIND_STRING, 0, msg, sizeof msg), SY_OK);
  assert_int_equal(kind_of(st, "/app/route"), SY_KIND_STRING);

  sy__store_close(st);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(provider_full),   cmocka_unit_test(provider_defaults), cmocka_unit_test(provider_refusals_file),
      cmocka_unit_test(provider_limits), cmocka_unit_test(provider_names),    cmocka_unit_test(builtin_stub),
      cmocka_unit_test(route_full),      cmocka_unit_test(route_defaults),    cmocka_unit_test(route_refusals_file),
      cmocka_unit_test(split_percents),  cmocka_unit_test(split_sticky),      cmocka_unit_test(kinds_registered),
      cmocka_unit_test(kinds_in_store),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

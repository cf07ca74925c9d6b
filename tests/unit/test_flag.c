/* test_flag.c — flag documents: compile refusals, schema checks, every operator, the rollout
 * and split contracts, overrides and invalid contexts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bucket.h"
#include "core/flag.h"

#ifndef SY_TEST_DATA
#define SY_TEST_DATA "data/"
#endif
#define DATA SY_TEST_DATA

/* ---- fixtures ---- */

static sy_flag *compile_ok(const char *key, const char *doc, const char *schema) {
  sy_flag *f = NULL;
  char msg[512];
  sy_rc rc = sy__flag_compile(key, doc, strlen(doc), schema, &f, msg, sizeof msg);
  if (rc) fail_msg("compile %s: %s", doc, msg);
  assert_non_null(f);
  return f;
}

/* The result for a context given as JSON text (NULL: no context). */
static void eval_text(const sy_flag *f, const char *ctx, sy_flag_env_fn env, sy_flag_result *r) {
  json_error_t err;
  json_t *c = ctx ? json_loads(ctx, JSON_DECODE_ANY, &err) : NULL;
  if (ctx && !c) fail_msg("context %s: %s", ctx, err.text);
  sy__flag_eval(f, c, env, r);
  json_decref(c);
}

static void eval_key(const sy_flag *f, const char *key, sy_flag_result *r) {
  json_t *c = json_pack("{s:s}", "targetingKey", key);
  assert_non_null(c);
  sy__flag_eval(f, c, NULL, r);
  json_decref(c);
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

static uint64_t hash64(const char *s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  uint64_t b = 0;
  assert_int_equal(EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL), 1);
  for (int i = 0; i < 8; i++) b = b << 8 | md[i];
  return b;
}

/* ---- documents ---- */

static void refusals_file(void **state) {
  FILE *fp = fopen(DATA "flag_refusals.txt", "r");
  char line[4096], msg[512];
  int count = 0;
  assert_non_null(fp);
  while (fgets(line, sizeof line, fp)) {
    char *f[3];
    sy_flag *fl = NULL;
    if (line[0] == '#' || line[0] == '\n') continue;
    assert_int_equal(fields(line, f, 3), 3);
    const char *schema = strcmp(f[0], "-") ? f[0] : NULL;
    msg[0] = 0;
    sy_rc rc = sy__flag_compile("k", f[1], strlen(f[1]), schema, &fl, msg, sizeof msg);
    if (rc != SY_EINVAL || fl) fail_msg("%s: accepted (rc %d)", f[1], rc);
    if (strcmp(msg, f[2])) fail_msg("%s:\n  got  %s\n  want %s", f[1], msg, f[2]);
    count++;
  }
  fclose(fp);
  assert_true(count >= 50);
}

static void schema_refusals_file(void **state) {
  FILE *fp = fopen(DATA "flag_schemas_invalid.txt", "r");
  char line[4096], msg[512];
  int count = 0;
  assert_non_null(fp);
  while (fgets(line, sizeof line, fp)) {
    char *f[2];
    if (line[0] == '#' || line[0] == '\n') continue;
    assert_int_equal(fields(line, f, 2), 2);
    msg[0] = 0;
    if (sy__flag_schema_check(f[0], msg, sizeof msg) != SY_EINVAL) fail_msg("%s: accepted", f[0]);
    if (strcmp(msg, f[1])) fail_msg("%s:\n  got  %s\n  want %s", f[0], msg, f[1]);
    count++;
  }
  fclose(fp);
  assert_true(count >= 10);
}

static void schema_accepts(void **state) {
  char msg[256];
  assert_int_equal(sy__flag_schema_check(NULL, msg, sizeof msg), SY_OK);
  assert_int_equal(sy__flag_schema_check("", msg, sizeof msg), SY_OK);
  assert_int_equal(sy__flag_schema_check("{}", msg, sizeof msg), SY_OK);
  assert_int_equal(sy__flag_schema_check("{\"a\": {\"type\": \"integer\", \"min\": 1, \"max\": 5, \"required\": true},"
                                         " \"b\": {\"type\": \"string\", \"enum\": [\"x\"]},"
                                         " \"c\": {\"type\": \"boolean\"}}",
                                         msg, sizeof msg),
                   SY_OK);
}

/* Config fields: top level and under "config", with a schema and without one. */
static void config_fields(void **state) {
  const char *schema =
      "{\"min_stability_threshold\": {\"type\": \"number\", \"min\": 0.5, \"max\": 0.95, \"required\": true},"
      " \"mode\": {\"type\": \"string\", \"enum\": [\"slow\", \"safe\"]}, \"n\": {\"type\": \"integer\"}}";
  sy_flag *f =
      compile_ok("k", "{\"min_stability_threshold\": 0.95, \"config\": {\"mode\": \"safe\", \"n\": 3.0}}", schema);
  sy__flag_free(f);
  f = compile_ok("k", "{\"config\": {\"min_stability_threshold\": 0.5}}", schema);
  sy__flag_free(f);
  /* without a schema any field is taken */
  f = compile_ok("k", "{\"anything\": [1, 2], \"config\": {\"else\": {}}}", NULL);
  sy__flag_free(f);
}

static void defaults_and_accessors(void **state) {
  sy_flag_result r;
  sy_flag *f = compile_ok("a/b", "{}", NULL);
  assert_true(sy__flag_enabled(f));
  assert_true(sy__flag_percentage(f) == 100.0);
  assert_string_equal(sy__flag_value_type(f), "boolean");
  eval_text(f, NULL, NULL, &r);
  assert_int_equal(r.reason, SY_FLAG_STATIC);
  assert_string_equal(r.variant, "on");
  assert_true(json_is_true(r.value));
  assert_int_equal(r.bucket, UINT32_MAX);
  assert_int_equal(r.rule, -1);
  sy__flag_free(f);

  f = compile_ok("k", "{\"enabled\": false, \"rollout_percentage\": 12.5}", NULL);
  assert_false(sy__flag_enabled(f));
  assert_true(sy__flag_percentage(f) == 12.5);
  sy__flag_free(f);

  static const char *const types[][2] = {
      {"{\"variants\": {\"a\": \"x\", \"b\": \"y\"}, \"default_variant\": \"a\"}", "string"},
      {"{\"variants\": {\"a\": 1, \"b\": 2.5}, \"default_variant\": \"a\"}", "number"},
      {"{\"variants\": {\"a\": {}, \"b\": {\"k\": 1}}, \"default_variant\": \"a\"}", "object"},
      {"{\"variants\": {\"a\": 1, \"b\": \"y\"}, \"default_variant\": \"a\"}", "mixed"},
  };
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    f = compile_ok("k", types[i][0], NULL);
    assert_string_equal(sy__flag_value_type(f), types[i][1]);
    sy__flag_free(f);
  }
  assert_string_equal(sy__flag_reason_name(SY_FLAG_TARGETING_MATCH), "TARGETING_MATCH");
  assert_string_equal(sy__flag_reason_name(SY_FLAG_SPLIT), "SPLIT");
  assert_string_equal(sy__flag_error_name(SY_FLAG_TARGETING_KEY_MISSING), "TARGETING_KEY_MISSING");
  assert_string_equal(sy__flag_error_name(SY_FLAG_INVALID_CONTEXT), "INVALID_CONTEXT");
}

/* Documents at and past the bounds of flag.h. */
static void bounds(void **state) {
  char msg[512];
  sy_flag *f = NULL;
  json_t *doc = json_object(), *rules = json_array(), *vals = json_array(), *vars = json_object();
  for (int i = 0; i < SY_FLAG_RULES_MAX; i++) json_array_append_new(rules, json_pack("{s:s}", "variant", "on"));
  for (int i = 0; i < SY_FLAG_VALUES_MAX; i++) {
    char v[16];
    snprintf(v, sizeof v, "v%d", SY_FLAG_VALUES_MAX - i);
    json_array_append_new(vals, json_string(v));
  }
  json_object_set_new(doc, "rules", rules);
  json_array_append_new(rules, json_pack("{s:s, s:[{s:s, s:s, s:O}]}", "variant", "on", "constraints", "attribute", "a",
                                         "operator", "IN", "values", vals));
  char *text = json_dumps(doc, 0);
  assert_int_equal(sy__flag_compile("k", text, strlen(text), NULL, &f, msg, sizeof msg), SY_EINVAL);
  assert_string_equal(msg, "rules: 101 rules; the limit is 100");
  free(text);
  json_array_remove(rules, 0);
  text = json_dumps(doc, 0);
  assert_int_equal(sy__flag_compile("k", text, strlen(text), NULL, &f, msg, sizeof msg), SY_OK);
  free(text);
  sy__flag_free(f);
  /* the sorted list of 1000 values finds each of them, and nothing else */
  json_t *one = json_pack("{s:i, s:[{s:s, s:[{s:s, s:s, s:O}]}]}", "rollout_percentage", 0, "rules", "variant", "on",
                          "constraints", "attribute", "a", "operator", "IN", "values", vals);
  text = json_dumps(one, 0);
  f = compile_ok("k", text, NULL);
  free(text);
  json_decref(one);
  for (int i = 0; i <= SY_FLAG_VALUES_MAX + 1; i++) {
    char ctx[64];
    sy_flag_result r;
    snprintf(ctx, sizeof ctx, "{\"a\": \"v%d\"}", i);
    eval_text(f, ctx, NULL, &r);
    if ((r.rule == 0) != (i >= 1 && i <= SY_FLAG_VALUES_MAX)) fail_msg("v%d: rule %d", i, r.rule);
  }
  sy__flag_free(f);
  json_array_append_new(vals, json_string("one too many"));
  json_array_clear(rules);
  json_array_append_new(rules, json_pack("{s:s, s:[{s:s, s:s, s:O}]}", "variant", "on", "constraints", "attribute", "a",
                                         "operator", "IN", "values", vals));
  text = json_dumps(doc, 0);
  assert_int_equal(sy__flag_compile("k", text, strlen(text), NULL, &f, msg, sizeof msg), SY_EINVAL);
  assert_string_equal(msg, "rules[0].constraints[0].values: 1001 values; the limit is 1000");
  free(text);
  json_t *cons = json_array();
  for (int i = 0; i <= SY_FLAG_CONSTRAINTS_MAX; i++)
    json_array_append_new(cons, json_pack("{s:s, s:s, s:[s]}", "attribute", "a", "operator", "IN", "values", "x"));
  json_array_clear(rules);
  json_array_append_new(rules, json_pack("{s:s, s:o}", "variant", "on", "constraints", cons));
  text = json_dumps(doc, 0);
  assert_int_equal(sy__flag_compile("k", text, strlen(text), NULL, &f, msg, sizeof msg), SY_EINVAL);
  assert_string_equal(msg, "rules[0].constraints: 51 constraints; the limit is 50");
  free(text);
  json_object_del(doc, "rules");
  for (int i = 0; i <= SY_FLAG_VARIANTS_MAX; i++) {
    char v[16];
    snprintf(v, sizeof v, "v%d", i);
    json_object_set_new(vars, v, json_integer(i));
  }
  json_object_set_new(doc, "variants", vars);
  text = json_dumps(doc, 0);
  assert_int_equal(sy__flag_compile("k", text, strlen(text), NULL, &f, msg, sizeof msg), SY_EINVAL);
  assert_string_equal(msg, "variants: 101 variants; the limit is 100");
  free(text);
  json_decref(vals);
  json_decref(doc);
}

/* ---- operators ---- */

static void operators_file(void **state) {
  FILE *fp = fopen(DATA "flag_operators.txt", "r");
  char line[4096], doc[4096];
  int count = 0;
  assert_non_null(fp);
  while (fgets(line, sizeof line, fp)) {
    char *f[5], ctx[1024];
    sy_flag_result r;
    if (line[0] == '#' || line[0] == '\n') continue;
    assert_int_equal(fields(line, f, 5), 5);
    snprintf(doc, sizeof doc,
             "{\"rollout_percentage\": 0, \"rules\": [{\"name\": \"r\", \"variant\": \"on\", \"constraints\": "
             "[{\"attribute\": \"a\", \"operator\": \"%s\", \"values\": %s, \"inverted\": %s, "
             "\"case_insensitive\": %s}]}]}",
             f[0], f[1], strstr(f[2], "inv") ? "true" : "false", strstr(f[2], "ci") ? "true" : "false");
    if (strcmp(f[3], "-") == 0)
      snprintf(ctx, sizeof ctx, "{\"b\": 1}");
    else
      snprintf(ctx, sizeof ctx, "{\"a\": %s}", f[3]);
    sy_flag *fl = compile_ok("k", doc, NULL);
    eval_text(fl, ctx, NULL, &r);
    int want = f[4][0] == '1';
    int got = r.reason == SY_FLAG_TARGETING_MATCH;
    if (got != want) fail_msg("%s %s (%s) on %s: matched %d, want %d", f[0], f[1], f[2], f[3], got, want);
    assert_int_equal(r.error, SY_FLAG_OK);
    assert_string_equal(r.variant, want ? "on" : "off");
    assert_int_equal(r.rule, want ? 0 : -1);
    sy__flag_free(fl);
    count++;
  }
  fclose(fp);
  assert_true(count >= 100);
}

/* Rules go in order; the first whose constraints all match decides. */
static void rules_in_order(void **state) {
  sy_flag_result r;
  sy_flag *f = compile_ok("k",
                          "{\"variants\": {\"a\": \"A\", \"b\": \"B\", \"c\": \"C\"}, \"default_variant\": \"c\","
                          " \"weights\": {\"c\": 1}, \"rules\": ["
                          "{\"name\": \"both\", \"variant\": \"a\", \"constraints\": ["
                          "  {\"attribute\": \"country\", \"operator\": \"IN\", \"values\": [\"NL\"]},"
                          "  {\"attribute\": \"plan\", \"operator\": \"IN\", \"values\": [\"pro\"]}]},"
                          "{\"name\": \"nl\", \"variant\": \"b\", \"constraints\": ["
                          "  {\"attribute\": \"country\", \"operator\": \"IN\", \"values\": [\"NL\"]}]},"
                          "{\"name\": \"all\", \"variant\": \"a\"}]}",
                          NULL);
  eval_text(f, "{\"country\": \"NL\", \"plan\": \"pro\"}", NULL, &r);
  assert_string_equal(r.variant, "a");
  assert_int_equal(r.rule, 0);
  eval_text(f, "{\"country\": \"NL\", \"plan\": \"free\"}", NULL, &r);
  assert_string_equal(r.variant, "b");
  assert_int_equal(r.rule, 1);
  assert_int_equal(r.reason, SY_FLAG_TARGETING_MATCH);
  eval_text(f, "{\"country\": \"DE\"}", NULL, &r);
  assert_string_equal(r.variant, "a");
  assert_int_equal(r.rule, 2);
  assert_string_equal(json_string_value(r.value), "A");
  sy__flag_free(f);
}

/* A rule with a percentage: inside its rollout it serves; outside, the next rule decides. */
static void rule_percentage(void **state) {
  sy_flag_result r;
  sy_flag *f = compile_ok("rp",
                          "{\"rollout_percentage\": 0, \"rules\": ["
                          "{\"percentage\": 30, \"constraints\": ["
                          "  {\"attribute\": \"country\", \"operator\": \"IN\", \"values\": [\"NL\"]}]}]}",
                          NULL);
  int in = 0;
  for (int i = 0; i < 10000; i++) {
    char ctx[96];
    snprintf(ctx, sizeof ctx, "{\"targetingKey\": \"user-%d\", \"country\": \"NL\"}", i);
    eval_text(f, ctx, NULL, &r);
    char subject[32];
    snprintf(subject, sizeof subject, "user-%d", i);
    uint32_t b = sy_bucket("rp", subject);
    assert_int_equal(r.bucket, b);
    if (b < 3000) {
      assert_int_equal(r.reason, SY_FLAG_TARGETING_MATCH);
      assert_string_equal(r.variant, "on");
      assert_int_equal(r.rule, 0);
      in++;
    } else {
      assert_int_equal(r.reason, SY_FLAG_DEFAULT);
      assert_string_equal(r.variant, "off");
    }
  }
  assert_true(in > 2800 && in < 3200);
  eval_text(f, "{\"country\": \"NL\"}", NULL, &r);
  assert_int_equal(r.reason, SY_FLAG_ERROR);
  assert_int_equal(r.error, SY_FLAG_TARGETING_KEY_MISSING);
  eval_text(f, "{\"country\": \"DE\"}", NULL, &r); /* the rule does not apply, 0 %: no key needed */
  assert_int_equal(r.reason, SY_FLAG_DEFAULT);
  sy__flag_free(f);
}

/* ---- rollout and split ---- */

#define MONO_SUBJECTS 10000
/* 10^8 evaluations take a minute or more under ASan: a sanitized build steps by 0.07 %, still
 * through 0 and 100, and the release build checks every hundredth. */
#if defined(__SANITIZE_ADDRESS__)
#define MONO_STEP 7
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MONO_STEP 7
#endif
#endif
#ifndef MONO_STEP
#define MONO_STEP 1
#endif

/* A subject in at p is in at every p' > p: every hundredth of a percent, 10,000 subjects. */
static void monotonic(void **state) {
  static unsigned char in[MONO_SUBJECTS];
  static char keys[MONO_SUBJECTS][24];
  json_t *ctx[MONO_SUBJECTS];
  for (int i = 0; i < MONO_SUBJECTS; i++) {
    snprintf(keys[i], sizeof keys[i], "session-%d", i);
    ctx[i] = json_pack("{s:s}", "targetingKey", keys[i]);
  }
  memset(in, 0, sizeof in);
  for (int cents = 0; cents <= 10000; cents = cents < 10000 && cents + MONO_STEP > 10000 ? 10000 : cents + MONO_STEP) {
    char doc[96];
    sy_flag_result r;
    snprintf(doc, sizeof doc, "{\"rollout_percentage\": %d.%02d, \"salt\": \"mono\"}", cents / 100, cents % 100);
    sy_flag *f = compile_ok("k", doc, NULL);
    int count = 0;
    for (int i = 0; i < MONO_SUBJECTS; i++) {
      sy__flag_eval(f, ctx[i], NULL, &r);
      int now = r.variant && strcmp(r.variant, "on") == 0;
      if (in[i] && !now) fail_msg("%s dropped at %d.%02d%%", keys[i], cents / 100, cents % 100);
      if (now != (r.bucket < (uint32_t)cents) && cents < 10000)
        fail_msg("%s: bucket %u at %d", keys[i], r.bucket, cents);
      in[i] = (unsigned char)now;
      count += now;
    }
    if (cents == 0) assert_int_equal(count, 0);
    if (cents == 10000) assert_int_equal(count, MONO_SUBJECTS);
    sy__flag_free(f);
  }
  for (int i = 0; i < MONO_SUBJECTS; i++) json_decref(ctx[i]);
}

/* Counts of each variant over n subjects of flag f. */
static void split_counts(const sy_flag *f, int n, const char *const *names, int nn, int *counts) {
  sy_flag_result r;
  memset(counts, 0, sizeof(int) * (size_t)nn);
  for (int i = 0; i < n; i++) {
    char key[32];
    snprintf(key, sizeof key, "user-%d", i);
    eval_key(f, key, &r);
    assert_int_equal(r.reason, SY_FLAG_SPLIT);
    for (int k = 0; k < nn; k++)
      if (strcmp(r.variant, names[k]) == 0) counts[k]++;
  }
}

static void split_proportions(void **state) {
  static const char *const ab[] = {"a", "b"}, *const abc[] = {"a", "b", "c"};
  int counts[3];
  const int n = 100000;
  sy_flag *f = compile_ok("split-ab",
                          "{\"variants\": {\"a\": 1, \"b\": 2, \"off\": 0}, \"weights\": {\"a\": 1, \"b\": 1}}", NULL);
  split_counts(f, n, ab, 2, counts);
  for (int k = 0; k < 2; k++)
    if (fabs(counts[k] * 100.0 / n - 50.0) > 0.5) fail_msg("1:1 split: %s has %d of %d", ab[k], counts[k], n);
  assert_int_equal(counts[0] + counts[1], n);
  sy__flag_free(f);

  f = compile_ok("split-abc",
                 "{\"variants\": {\"a\": 1, \"b\": 2, \"c\": 3, \"off\": 0},"
                 " \"weights\": {\"a\": 1, \"b\": 2, \"c\": 7}}",
                 NULL);
  split_counts(f, n, abc, 3, counts);
  static const double want[] = {10.0, 20.0, 70.0};
  for (int k = 0; k < 3; k++)
    if (fabs(counts[k] * 100.0 / n - want[k]) > 0.5)
      fail_msg("1:2:7 split: %s has %d of %d, want %.0f%%", abc[k], counts[k], n, want[k]);
  sy__flag_free(f);
}

/* The split hash is SHA-256(salt "/split/" subject): changing the percentage never moves a
 * subject between variants, and the choice is the documented one. */
static void split_independent_of_percentage(void **state) {
  sy_flag *full =
      compile_ok("s", "{\"variants\": {\"a\": 1, \"b\": 2, \"off\": 0}, \"weights\": {\"a\": 3, \"b\": 1}}", NULL);
  sy_flag *part = compile_ok(
      "s",
      "{\"rollout_percentage\": 40, \"variants\": {\"a\": 1, \"b\": 2, \"off\": 0}, \"weights\": {\"a\": 3, \"b\": 1}}",
      NULL);
  for (int i = 0; i < 5000; i++) {
    char key[32], buf[64];
    sy_flag_result r1, r2;
    snprintf(key, sizeof key, "user-%d", i);
    eval_key(full, key, &r1);
    eval_key(part, key, &r2);
    snprintf(buf, sizeof buf, "s/split/%s", key);
    const char *want = hash64(buf) % 4 < 3 ? "a" : "b";
    assert_string_equal(r1.variant, want);
    if (r2.reason == SY_FLAG_SPLIT)
      assert_string_equal(r2.variant, want);
    else
      assert_string_equal(r2.variant, "off");
    assert_int_equal(r2.reason == SY_FLAG_SPLIT, r2.bucket < 4000);
  }
  sy__flag_free(full);
  sy__flag_free(part);
}

static void deterministic(void **state) {
  const char *doc =
      "{\"rollout_percentage\": 37.5, \"variants\": {\"a\": 1, \"b\": 2, \"off\": 0},"
      " \"weights\": {\"a\": 1, \"b\": 2}}";
  sy_flag *f1 = compile_ok("det", doc, NULL), *f2 = compile_ok("det", doc, NULL);
  for (int i = 0; i < 2000; i++) {
    char key[32];
    sy_flag_result a, b, c;
    snprintf(key, sizeof key, "k%d", i);
    eval_key(f1, key, &a);
    eval_key(f1, key, &b);
    eval_key(f2, key, &c);
    assert_string_equal(a.variant, b.variant);
    assert_string_equal(a.variant, c.variant);
    assert_int_equal(a.bucket, c.bucket);
    assert_int_equal(a.bucket, sy_bucket("det", key));
    assert_int_equal(a.reason, c.reason);
  }
  sy__flag_free(f1);
  sy__flag_free(f2);
}

/* The salt defaults to the key; a given salt replaces it. */
static void salt_default(void **state) {
  sy_flag *f = compile_ok("audio/partial", "{\"rollout_percentage\": 50}", NULL);
  sy_flag *g = compile_ok("other", "{\"rollout_percentage\": 50, \"salt\": \"audio/partial\"}", NULL);
  sy_flag_result r, s;
  eval_key(f, "user-1", &r);
  eval_key(g, "user-1", &s);
  assert_int_equal(r.bucket, sy_bucket("audio/partial", "user-1"));
  assert_int_equal(r.bucket, s.bucket);
  /* a subject too long for the stack buffer hashes the same way */
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  eval_key(f, big, &r);
  assert_int_equal(r.bucket, sy_bucket("audio/partial", big));
  sy__flag_free(f);
  sy__flag_free(g);
}

static void targeting_key_missing(void **state) {
  sy_flag_result r;
  sy_flag *f = compile_ok("k", "{\"rollout_percentage\": 10}", NULL);
  eval_text(f, "{\"country\": \"NL\"}", NULL, &r);
  assert_int_equal(r.reason, SY_FLAG_ERROR);
  assert_int_equal(r.error, SY_FLAG_TARGETING_KEY_MISSING);
  assert_null(r.variant);
  assert_true(json_is_false(r.value)); /* the default variant's value */
  assert_true(r.detail[0] != 0);
  eval_text(f, NULL, NULL, &r);
  assert_int_equal(r.error, SY_FLAG_TARGETING_KEY_MISSING);
  sy__flag_free(f);
  /* a split needs one too, even at 100 % */
  f = compile_ok(
      "k", "{\"variants\": {\"a\": 1, \"b\": 2}, \"default_variant\": \"a\", \"weights\": {\"a\": 1, \"b\": 1}}", NULL);
  eval_text(f, "{}", NULL, &r);
  assert_int_equal(r.error, SY_FLAG_TARGETING_KEY_MISSING);
  assert_int_equal(json_integer_value(r.value), 1);
  sy__flag_free(f);
  /* 100 % of one variant, and 0 %, need none */
  f = compile_ok("k", "{\"rollout_percentage\": 0}", NULL);
  eval_text(f, "{}", NULL, &r);
  assert_int_equal(r.reason, SY_FLAG_DEFAULT);
  assert_string_equal(r.variant, "off");
  sy__flag_free(f);
}

static void invalid_contexts(void **state) {
  sy_flag_result r;
  sy_flag *f = compile_ok("k", "{\"rollout_percentage\": 50}", NULL);
  static const char *const bad[] = {
      "[1, 2]",
      "\"user\"",
      "42",
      "{\"targetingKey\": 7}",
      "{\"targetingKey\": null}",
      "{\"targetingKey\": [\"a\"]}",
      "{\"a\": [[[[[[[[1]]]]]]]]}",
      "{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": {\"g\": {\"h\": {}}}}}}}}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    eval_text(f, bad[i], NULL, &r);
    if (r.reason != SY_FLAG_ERROR || r.error != SY_FLAG_INVALID_CONTEXT) fail_msg("%s: accepted", bad[i]);
    assert_null(r.variant);
    assert_true(json_is_false(r.value));
  }
  /* eight levels are fine */
  eval_text(f, "{\"targetingKey\": \"u\", \"a\": [[[[[[[1]]]]]]]}", NULL, &r);
  assert_int_not_equal(r.reason, SY_FLAG_ERROR);
  eval_text(f, "{\"targetingKey\": \"u\", \"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": {\"g\": {}}}}}}}}", NULL, &r);
  assert_int_not_equal(r.reason, SY_FLAG_ERROR);
  sy__flag_free(f);
}

static void disabled(void **state) {
  sy_flag_result r;
  sy_flag *f = compile_ok("k", "{\"enabled\": false, \"rules\": [{\"variant\": \"on\"}]}", NULL);
  eval_text(f, "{\"targetingKey\": \"u\"}", NULL, &r);
  assert_int_equal(r.reason, SY_FLAG_DISABLED);
  assert_string_equal(r.variant, "off");
  sy__flag_free(f);
}

/* ---- env override ---- */

static const char *env_value;
static const char *test_env(const char *name) {
  return strcmp(name, "PARTIAL_RESULTS_ENABLED") == 0 ? env_value : NULL;
}

static void env_override(void **state) {
  sy_flag_result r;
  sy_flag *f = compile_ok(
      "k", "{\"enabled\": false, \"rollout_percentage\": 5, \"env_override\": \"PARTIAL_RESULTS_ENABLED\"}", NULL);
  env_value = "true";
  eval_text(f, "{}", test_env, &r);
  assert_int_equal(r.reason, SY_FLAG_STATIC);
  assert_string_equal(r.variant, "on");
  assert_int_equal(r.overridden, 1);
  assert_string_equal(r.detail, "PARTIAL_RESULTS_ENABLED=true");
  env_value = "false";
  eval_text(f, "{}", test_env, &r);
  assert_string_equal(r.variant, "off");
  assert_int_equal(r.overridden, 1);
  assert_string_equal(r.detail, "PARTIAL_RESULTS_ENABLED=false");
  env_value = "off"; /* a variant name */
  eval_text(f, "{}", test_env, &r);
  assert_string_equal(r.variant, "off");
  assert_int_equal(r.overridden, 1);
  env_value = "yes please"; /* ignored */
  eval_text(f, "{}", test_env, &r);
  assert_int_equal(r.overridden, 0);
  assert_int_equal(r.reason, SY_FLAG_DISABLED);
  env_value = NULL; /* unset */
  eval_text(f, "{}", test_env, &r);
  assert_int_equal(r.overridden, 0);
  eval_text(f, "{}", NULL, &r); /* no lookup */
  assert_int_equal(r.overridden, 0);
  sy__flag_free(f);

  /* not a boolean flag: only variant names */
  f = compile_ok("k",
                 "{\"variants\": {\"fast\": \"F\", \"slow\": \"S\"}, \"default_variant\": \"slow\","
                 " \"env_override\": \"PARTIAL_RESULTS_ENABLED\"}",
                 NULL);
  env_value = "fast";
  eval_text(f, "{}", test_env, &r);
  assert_string_equal(r.variant, "fast");
  assert_int_equal(r.overridden, 1);
  env_value = "true";
  eval_text(f, "{}", test_env, &r);
  assert_int_equal(r.overridden, 0);
  sy__flag_free(f);
}

/* ---- explain ---- */

static void explain(void **state) {
  sy_flag *f = compile_ok("k",
                          "{\"rollout_percentage\": 20, \"rules\": ["
                          "{\"name\": \"nl\", \"variant\": \"on\", \"constraints\": ["
                          "  {\"attribute\": \"country\", \"operator\": \"IN\", \"values\": [\"NL\"]}]},"
                          "{\"name\": \"pro\", \"variant\": \"on\", \"constraints\": ["
                          "  {\"attribute\": \"plan\", \"operator\": \"IN\", \"values\": [\"pro\"]}]}]}",
                          NULL);
  json_error_t err;
  json_t *ctx = json_loads("{\"targetingKey\": \"user-1\", \"country\": \"DE\"}", 0, &err);
  json_t *e = sy__flag_explain(f, ctx, NULL);
  assert_non_null(e);
  json_t *rules = json_object_get(e, "rules");
  assert_int_equal(json_array_size(rules), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "why")),
                      "country IN [NL]: \"DE\" is not in the list");
  assert_true(json_is_false(json_object_get(json_array_get(rules, 0), "matched")));
  assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 1), "why")),
                      "plan: missing in the context");
  assert_int_equal(json_integer_value(json_object_get(e, "bucket")), sy_bucket("k", "user-1"));
  assert_true(json_real_value(json_object_get(e, "rollout_percentage")) == 20.0);
  json_t *res = json_object_get(e, "result");
  assert_non_null(res);
  assert_non_null(json_object_get(res, "reason"));
  assert_true(json_is_null(json_object_get(e, "override")));
  json_decref(e);
  json_decref(ctx);

  ctx = json_loads("{\"country\": {\"code\": \"NL\"}}", 0, &err);
  e = sy__flag_explain(f, ctx, NULL);
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(e, "rules"), 0), "why")),
                      "country IN [NL]: an object, not a value it compares");
  assert_true(json_is_null(json_object_get(e, "bucket")));
  json_decref(e);
  json_decref(ctx);

  ctx = json_loads("{\"targetingKey\": \"user-1\", \"country\": \"NL\"}", 0, &err);
  e = sy__flag_explain(f, ctx, NULL);
  res = json_object_get(e, "result");
  assert_string_equal(json_string_value(json_object_get(res, "reason")), "TARGETING_MATCH");
  assert_true(json_is_true(json_object_get(json_array_get(json_object_get(e, "rules"), 0), "matched")));
  json_decref(e);
  json_decref(ctx);
  sy__flag_free(f);

  /* a percentage rule says where the bucket falls; an applied override is shown */
  f = compile_ok("k",
                 "{\"env_override\": \"PARTIAL_RESULTS_ENABLED\", \"rules\": [{\"name\": \"half\", \"percentage\": 50,"
                 " \"constraints\": [{\"attribute\": \"age\", \"operator\": \"NUM_GT\", \"values\": [\"18\"]}]}]}",
                 NULL);
  ctx = json_loads("{\"targetingKey\": \"user-1\", \"age\": 30}", 0, &err);
  env_value = "false";
  e = sy__flag_explain(f, ctx, test_env);
  char want[160];
  uint32_t b = sy_bucket("k", "user-1");
  snprintf(want, sizeof want, "age NUM_GT [18]: \"30\" matches; bucket %u is %s its 50.00%% rollout", b,
           b < 5000 ? "inside" : "outside");
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(e, "rules"), 0), "why")), want);
  assert_true(json_is_true(json_object_get(json_object_get(e, "override"), "applied")));
  assert_string_equal(json_string_value(json_object_get(json_object_get(e, "result"), "variant")), "off");
  json_decref(e);
  json_decref(ctx);
  sy__flag_free(f);
}

/* A compiled flag gives the same answers from many threads at once (regexes included). */
#include <pthread.h>
static sy_flag *shared_flag;
static void *thread_eval(void *arg) {
  long bad = 0;
  for (int i = 0; i < 2000; i++) {
    json_t *c = json_pack("{s:s, s:s}", "targetingKey", "u", "email", i % 2 ? "a@example.com" : "a@x.org");
    sy_flag_result r;
    sy__flag_eval(shared_flag, c, NULL, &r);
    bad += (r.reason == SY_FLAG_TARGETING_MATCH) != (i % 2);
    json_decref(c);
  }
  return (void *)bad;
}

static void threads(void **state) {
  shared_flag =
      compile_ok("k",
                 "{\"rollout_percentage\": 0, \"rules\": [{\"variant\": \"on\", \"constraints\": ["
                 "{\"attribute\": \"email\", \"operator\": \"REGEX\", \"values\": [\"@example\\\\.com$\"]}]}]}",
                 NULL);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, thread_eval, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *bad;
    pthread_join(t[i], &bad);
    assert_null(bad);
  }
  sy__flag_free(shared_flag);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(refusals_file),
      cmocka_unit_test(schema_refusals_file),
      cmocka_unit_test(schema_accepts),
      cmocka_unit_test(config_fields),
      cmocka_unit_test(defaults_and_accessors),
      cmocka_unit_test(bounds),
      cmocka_unit_test(operators_file),
      cmocka_unit_test(rules_in_order),
      cmocka_unit_test(rule_percentage),
      cmocka_unit_test(monotonic),
      cmocka_unit_test(split_proportions),
      cmocka_unit_test(split_independent_of_percentage),
      cmocka_unit_test(deterministic),
      cmocka_unit_test(salt_default),
      cmocka_unit_test(targeting_key_missing),
      cmocka_unit_test(invalid_contexts),
      cmocka_unit_test(disabled),
      cmocka_unit_test(env_override),
      cmocka_unit_test(explain),
      cmocka_unit_test(threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

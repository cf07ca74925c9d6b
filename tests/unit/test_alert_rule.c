/* test_alert_rule.c — alert rules: the AlertRule document compiles field by field, every
 * refusal names its field (data/alert_rule_refusals.txt), durations, and the count of
 * consecutive breaching periods driven by a fake metric source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alert_rule.h"

#ifndef SY_TEST_DATA
#define SY_TEST_DATA "data/"
#endif

#define KEY "switchyard/alert-rules/r1"
#define MIN 60000

static sy_alert_rule *rule_ok(const char *key, const char *doc) {
  char msg[512] = "";
  sy_alert_rule *r = NULL;
  sy_rc rc = sy__alert_rule_compile(key, doc, strlen(doc), &r, msg, sizeof msg);
  if (rc || !r) fail_msg("%s: refused (%d): %s", doc, rc, msg);
  return r;
}

/* Splits a tab-separated line in place into n fields (the last one without its newline). */
static int fields(char *line, char **f, int n) {
  int i = 0;
  line[strcspn(line, "\n")] = 0;
  f[i++] = line;
  for (char *p = line; *p && i < n; p++)
    if (*p == '\t') {
      *p = 0;
      f[i++] = p + 1;
    }
  return i;
}

/* ---- the document ---- */

static void pushed_example(void **state) {
  (void)state;
  sy_alert_rule *r = rule_ok(KEY,
                             "{\"source\": \"pushed\", \"flag\": \"audio-transcription/partial-results/config\", "
                             "\"variant\": \"on\", \"metric\": \"p95_ms\", \"op\": \">\", \"threshold\": 5000, "
                             "\"period\": \"5m\", \"periods\": 2, \"severity\": \"critical\", "
                             "\"description\": \"p95 > 5 s for 2 consecutive periods\"}");
  assert_string_equal(r->name, "r1");
  assert_int_equal(r->source, SY_RULE_PUSHED);
  assert_string_equal(r->flag, "audio-transcription/partial-results/config");
  assert_string_equal(r->variant, "on");
  assert_int_equal(r->metric, SY_METRIC_P95_MS);
  assert_int_equal(r->op, SY_RULE_GT);
  assert_true(r->threshold == 5000);
  assert_int_equal(r->period_ms, 5 * MIN);
  assert_int_equal(r->periods, 2);
  assert_int_equal(r->severity, 0);
  assert_string_equal(r->description, "p95 > 5 s for 2 consecutive periods");
  assert_null(r->query);
  assert_null(r->url);
  sy__alert_rule_free(r);
}

static void defaults_and_sources(void **state) {
  (void)state;
  /* gateway, defaults: periods 1, severity warning; the key with its leading '/' */
  sy_alert_rule *r = rule_ok("/switchyard/alert-rules/Errors_5m.v-1",
                             "{\"source\": \"gateway\", \"provider\": "
                             "\"gemini\", \"metric\": \"errors\", \"op\": "
                             "\">=\", \"threshold\": 1, \"period\": 300}");
  assert_string_equal(r->name, "Errors_5m.v-1");
  assert_int_equal(r->source, SY_RULE_GATEWAY);
  assert_string_equal(r->provider, "gemini");
  assert_int_equal(r->op, SY_RULE_GE);
  assert_int_equal(r->period_ms, 5 * MIN);
  assert_int_equal(r->periods, 1);
  assert_int_equal(r->severity, 1);
  assert_null(r->flag);
  assert_null(r->description);
  sy__alert_rule_free(r);

  /* pushed without a variant: the flag's rollout variant, found by the evaluator; a flag
   * written with its leading '/' */
  r = rule_ok(KEY,
              "{\"source\": \"pushed\", \"flag\": \"/a/b\", \"metric\": \"error_rate\", \"op\": \"<\", "
              "\"threshold\": 0.5, \"period\": \"1h\", \"severity\": \"info\"}");
  assert_string_equal(r->flag, "a/b");
  assert_string_equal(r->variant, "");
  assert_int_equal(r->op, SY_RULE_LT);
  assert_int_equal(r->period_ms, 60 * MIN);
  assert_int_equal(r->severity, 2);
  sy__alert_rule_free(r);

  /* prometheus: any period from 1s, a url, no metric */
  r = rule_ok(KEY,
              "{\"source\": \"prometheus\", \"query\": \"sum(rate(errors_total[5m]))\", \"url\": "
              "\"http://prom:9090\", \"op\": \"<=\", \"threshold\": -1.5, \"period\": \"90s\", \"periods\": "
              "100}");
  assert_int_equal(r->source, SY_RULE_PROMETHEUS);
  assert_string_equal(r->query, "sum(rate(errors_total[5m]))");
  assert_string_equal(r->url, "http://prom:9090");
  assert_int_equal(r->metric, 0);
  assert_int_equal(r->op, SY_RULE_LE);
  assert_int_equal(r->period_ms, 90000);
  assert_int_equal(r->periods, 100);
  sy__alert_rule_free(r);

  /* the edges of the periods */
  r = rule_ok(KEY, "{\"source\": \"prometheus\", \"query\": \"up\", \"op\": \">\", \"threshold\": 0, \"period\": 1}");
  assert_int_equal(r->period_ms, 1000);
  sy__alert_rule_free(r);
  r = rule_ok(KEY,
              "{\"source\": \"prometheus\", \"query\": \"up\", \"op\": \">\", \"threshold\": 0, \"period\": "
              "\"1d\"}");
  assert_int_equal(r->period_ms, 1440 * MIN);
  sy__alert_rule_free(r);
  r = rule_ok(KEY,
              "{\"source\": \"gateway\", \"provider\": \"p\", \"metric\": \"requests\", \"op\": \">\", "
              "\"threshold\": 0, \"period\": \"60m\"}");
  assert_int_equal(r->period_ms, 60 * MIN);
  sy__alert_rule_free(r);
  r = rule_ok(KEY,
              "{\"source\": \"gateway\", \"provider\": \"p\", \"metric\": \"requests\", \"op\": \">\", "
              "\"threshold\": 0, \"period\": \"60s\"}");
  assert_int_equal(r->period_ms, MIN);
  sy__alert_rule_free(r);
}

static void refusals_file(void **state) {
  (void)state;
  FILE *fp = fopen(SY_TEST_DATA "alert_rule_refusals.txt", "r");
  char line[8192], msg[512];
  int count = 0;
  assert_non_null(fp);
  while (fgets(line, sizeof line, fp)) {
    char *f[3];
    if (line[0] == '#' || line[0] == '\n') continue;
    assert_int_equal(fields(line, f, 3), 3);
    sy_alert_rule *r = (sy_alert_rule *)1; /* must come back NULL */
    msg[0] = 0;
    sy_rc rc = sy__alert_rule_compile(f[0], f[1], strlen(f[1]), &r, msg, sizeof msg);
    if (rc != SY_EINVAL || r) fail_msg("%s %s: accepted (rc %d)", f[0], f[1], rc);
    if (strcmp(msg, f[2])) fail_msg("%s:\n  got  %s\n  want %s", f[1], msg, f[2]);
    count++;
  }
  fclose(fp);
  assert_true(count >= 40);
}

static void kind_hooks(void **state) {
  (void)state;
  void *obj = (void *)1;
  char msg[256];
  const char *bad = "{\"source\": \"gateway\"}";
  assert_int_equal(sy__alert_rule_kind_compile(KEY, bad, strlen(bad), NULL, &obj, msg, sizeof msg), SY_EINVAL);
  assert_null(obj);
  assert_string_equal(msg, "provider is required for source gateway");
  const char *good =
      "{\"source\": \"gateway\", \"provider\": \"p\", \"metric\": \"errors\", \"op\": \">\", "
      "\"threshold\": 5, \"period\": \"5m\"}";
  assert_int_equal(sy__alert_rule_kind_compile(KEY, good, strlen(good), NULL, &obj, msg, sizeof msg), SY_OK);
  assert_non_null(obj);
  sy__alert_rule_kind_release(obj);
  sy__alert_rule_kind_release(NULL);
}

static void durations(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int64_t ms;
  } ok[] = {{"500ms", 500},    {"90s", 90000},    {"5m", 300000}, {"1h", 3600000},
            {"3d", 259200000}, {"1w", 604800000}, {"0s", 0},      {"120", 120000}};
  static const char *const bad[] = {"", "m", "5", "5 m", "-5m", "5min", "1.5m", "5M", "99999999999999999999s", "5mm"};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    int64_t ms = -1;
    if (sy__rule_duration_ms(ok[i].text, &ms) || ms != ok[i].ms) fail_msg("%s -> %lld", ok[i].text, (long long)ms);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int64_t ms;
    if (i == 2) continue; /* "5" is five seconds: digits alone are seconds */
    if (!sy__rule_duration_ms(bad[i], &ms)) fail_msg("%s accepted as %lld ms", bad[i], (long long)ms);
  }
  char out[32];
  sy__rule_duration_fmt(300000, out, sizeof out);
  assert_string_equal(out, "5m");
  sy__rule_duration_fmt(3600000, out, sizeof out);
  assert_string_equal(out, "1h");
  sy__rule_duration_fmt(90000, out, sizeof out);
  assert_string_equal(out, "90s");
  sy__rule_duration_fmt(1500, out, sizeof out);
  assert_string_equal(out, "1500ms");
}

/* ---- consecutive periods ---- */

/* A fake source: the value of each period index (NAN: no data), and what was read. */
typedef struct fake {
  double values[64];
  int64_t reads[64][2];
  int nreads;
  double now_value; /* prometheus */
} fake;

static int fake_read(void *ctx, const sy_alert_rule *r, int64_t from_ms, int64_t to_ms, double *value, char *why,
                     size_t cap) {
  fake *f = ctx;
  if (f->nreads < 64) {
    f->reads[f->nreads][0] = from_ms;
    f->reads[f->nreads][1] = to_ms;
  }
  f->nreads++;
  double v = r->source == SY_RULE_PROMETHEUS ? f->now_value : f->values[from_ms / r->period_ms];
  if (isnan(v)) {
    snprintf(why, cap, "no data");
    return -1;
  }
  *value = v;
  return 0;
}

static sy_alert_rule *gateway_rule(int periods) {
  char doc[512];
  snprintf(doc, sizeof doc,
           "{\"source\": \"gateway\", \"provider\": \"flaky\", \"metric\": \"errors\", \"op\": \">\", \"threshold\": "
           "5, \"period\": \"5m\", \"periods\": %d, \"severity\": \"critical\"}",
           periods);
  return rule_ok(KEY, doc);
}

static void fake_init(fake *f) {
  memset(f, 0, sizeof *f);
  for (int i = 0; i < 64; i++) f->values[i] = NAN;
}

static void breach_ops(void **state) {
  (void)state;
  sy_alert_rule r = {.op = SY_RULE_GT, .threshold = 5};
  assert_true(sy__alert_rule_breach(&r, 6));
  assert_false(sy__alert_rule_breach(&r, 5));
  r.op = SY_RULE_GE;
  assert_true(sy__alert_rule_breach(&r, 5));
  assert_false(sy__alert_rule_breach(&r, 4.99));
  r.op = SY_RULE_LT;
  assert_true(sy__alert_rule_breach(&r, 4));
  assert_false(sy__alert_rule_breach(&r, 5));
  r.op = SY_RULE_LE;
  assert_true(sy__alert_rule_breach(&r, 5));
  assert_false(sy__alert_rule_breach(&r, 6));
}

static void consecutive(void **state) {
  (void)state;
  sy_alert_rule *r = gateway_rule(2);
  const int64_t P = 5 * MIN;
  sy_rule_track t;
  fake f;
  fake_init(&f);
  sy__rule_track_init(&t);
  f.values[2] = 1; /* period 2 quiet */
  f.values[3] = 9; /* 3 and 4 breach */
  f.values[4] = 7;
  f.values[5] = 12; /* still */
  f.values[6] = 5;  /* not > 5: resets */
  f.values[7] = 6;
  /* first sight, in period 3: the last completed one (2) only */
  assert_int_equal(sy__alert_rule_advance(r, &t, 3 * P + 10, fake_read, &f), 1);
  assert_int_equal(f.reads[0][0], 2 * P);
  assert_int_equal(f.reads[0][1], 3 * P);
  assert_int_equal(t.count, 0);
  /* within the same period: nothing */
  assert_int_equal(sy__alert_rule_advance(r, &t, 4 * P - 1, fake_read, &f), 0);
  assert_int_equal(f.nreads, 1);
  /* period 3 ends: one breach, not firing with periods 2 */
  assert_int_equal(sy__alert_rule_advance(r, &t, 4 * P, fake_read, &f), 1);
  assert_int_equal(t.count, 1);
  assert_true(t.has_value && t.value == 9);
  assert_false(sy__alert_rule_firing(r, &t));
  /* period 4 ends: two, firing */
  assert_int_equal(sy__alert_rule_advance(r, &t, 5 * P + 1, fake_read, &f), 1);
  assert_int_equal(t.count, 2);
  assert_true(sy__alert_rule_firing(r, &t));
  char msg[400];
  sy__alert_rule_message(r, &t, "provider flaky", msg, sizeof msg);
  assert_string_equal(msg, "errors 7 > 5 for 2 consecutive periods of 5m (provider flaky)");
  /* still firing between boundaries */
  assert_int_equal(sy__alert_rule_advance(r, &t, 5 * P + 1000, fake_read, &f), 0);
  assert_true(sy__alert_rule_firing(r, &t));
  /* 5 breaches, 6 does not: resolved */
  assert_int_equal(sy__alert_rule_advance(r, &t, 6 * P, fake_read, &f), 1);
  assert_int_equal(t.count, 3);
  assert_int_equal(sy__alert_rule_advance(r, &t, 7 * P, fake_read, &f), 1);
  assert_int_equal(t.count, 0);
  assert_false(sy__alert_rule_firing(r, &t));
  /* 7 breaches, 8 has no data: resets */
  assert_int_equal(sy__alert_rule_advance(r, &t, 8 * P, fake_read, &f), 1);
  assert_int_equal(t.count, 1);
  assert_int_equal(sy__alert_rule_advance(r, &t, 9 * P, fake_read, &f), 1);
  assert_int_equal(t.count, 0);
  assert_false(t.has_value);
  assert_string_equal(t.why, "no data");
  sy__alert_rule_free(r);
}

static void clock_jumps(void **state) {
  (void)state;
  sy_alert_rule *r = gateway_rule(2);
  const int64_t P = 5 * MIN;
  sy_rule_track t;
  fake f;
  fake_init(&f);
  sy__rule_track_init(&t);
  for (int i = 10; i < 14; i++) f.values[i] = 100;
  assert_int_equal(sy__alert_rule_advance(r, &t, 10 * P, fake_read, &f), 1); /* reads 9: no data */
  /* the clock jumps three periods at once: 10, 11, 12 each read in order */
  f.nreads = 0;
  assert_int_equal(sy__alert_rule_advance(r, &t, 13 * P + 5, fake_read, &f), 3);
  assert_int_equal(f.reads[0][0], 10 * P);
  assert_int_equal(f.reads[1][0], 11 * P);
  assert_int_equal(f.reads[2][0], 12 * P);
  assert_int_equal(t.count, 3);
  assert_true(sy__alert_rule_firing(r, &t));
  /* a jump of many periods: only the last periods + 1 (three) are read, the count restarts */
  f.nreads = 0;
  fake_init(&f);
  f.values[40] = 50; /* 38 no data, 39 none, 40 breach */
  assert_int_equal(sy__alert_rule_advance(r, &t, 41 * P, fake_read, &f), 3);
  assert_int_equal(f.reads[0][0], 38 * P);
  assert_int_equal(f.reads[2][0], 40 * P);
  assert_int_equal(t.count, 1);
  assert_false(sy__alert_rule_firing(r, &t));
  sy__alert_rule_free(r);
}

static void periods_one_and_prometheus(void **state) {
  (void)state;
  sy_alert_rule *r = gateway_rule(1);
  const int64_t P = 5 * MIN;
  sy_rule_track t;
  fake f;
  fake_init(&f);
  sy__rule_track_init(&t);
  f.values[0] = 6;
  sy__alert_rule_advance(r, &t, P, fake_read, &f);
  assert_true(sy__alert_rule_firing(r, &t));
  char msg[400];
  sy__alert_rule_message(r, &t, "provider flaky", msg, sizeof msg);
  assert_string_equal(msg, "errors 6 > 5 for 1 consecutive period of 5m (provider flaky)");
  sy__alert_rule_free(r);

  /* prometheus: the value now, once per boundary, whatever the jump */
  r = rule_ok(KEY,
              "{\"source\": \"prometheus\", \"query\": \"up\", \"op\": \"<\", \"threshold\": 1, \"period\": "
              "\"10s\", \"periods\": 3}");
  sy__rule_track_init(&t);
  fake_init(&f);
  f.now_value = 0;
  assert_int_equal(sy__alert_rule_advance(r, &t, 100000, fake_read, &f), 1);
  assert_int_equal(f.reads[0][0], 0);
  assert_int_equal(f.reads[0][1], 0);
  assert_int_equal(sy__alert_rule_advance(r, &t, 105000, fake_read, &f), 0);
  assert_int_equal(sy__alert_rule_advance(r, &t, 110000, fake_read, &f), 1);
  assert_int_equal(sy__alert_rule_advance(r, &t, 120000, fake_read, &f), 1);
  assert_int_equal(t.count, 3);
  assert_true(sy__alert_rule_firing(r, &t));
  sy__alert_rule_message(r, &t, "query up", msg, sizeof msg);
  assert_string_equal(msg, "value 0 < 1 for 3 consecutive periods of 10s (query up)");
  /* a jump over unread periods restarts the count at this one */
  assert_int_equal(sy__alert_rule_advance(r, &t, 200000, fake_read, &f), 1);
  assert_int_equal(t.count, 1);
  f.now_value = NAN; /* Prometheus down: no data, resets */
  assert_int_equal(sy__alert_rule_advance(r, &t, 210000, fake_read, &f), 1);
  assert_int_equal(t.count, 0);
  sy__alert_rule_free(r);
}

static void message_units(void **state) {
  (void)state;
  sy_alert_rule *r = rule_ok(KEY,
                             "{\"source\": \"pushed\", \"flag\": \"audio-transcription/partial-results/config\", "
                             "\"metric\": \"p95_ms\", \"op\": \">\", \"threshold\": 5000, \"period\": \"5m\", "
                             "\"periods\": 2}");
  sy_rule_track t;
  sy__rule_track_init(&t);
  t.count = 2;
  t.has_value = 1;
  t.value = 6200;
  char msg[400];
  sy__alert_rule_message(r, &t, "audio-transcription/partial-results/config, variant on", msg, sizeof msg);
  assert_string_equal(msg,
                      "p95_ms 6200 ms > 5000 ms for 2 consecutive periods of 5m "
                      "(audio-transcription/partial-results/config, variant on)");
  sy__alert_rule_free(r);
  r = rule_ok(KEY,
              "{\"source\": \"gateway\", \"provider\": \"p\", \"metric\": \"error_rate\", \"op\": \">=\", "
              "\"threshold\": 5, \"period\": \"1m\"}");
  t.count = 1;
  t.value = 7.4;
  sy__alert_rule_message(r, &t, "provider p", msg, sizeof msg);
  assert_string_equal(msg, "error_rate 7.4% >= 5% for 1 consecutive period of 1m (provider p)");
  sy__alert_rule_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pushed_example),
      cmocka_unit_test(defaults_and_sources),
      cmocka_unit_test(refusals_file),
      cmocka_unit_test(kind_hooks),
      cmocka_unit_test(durations),
      cmocka_unit_test(breach_ops),
      cmocka_unit_test(consecutive),
      cmocka_unit_test(clock_jumps),
      cmocka_unit_test(periods_one_and_prometheus),
      cmocka_unit_test(message_units),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fuzz_alert_rule.c — libFuzzer harness for alert rule documents (src/core/alert_rule.c), as
 * the store's rules compile them on every write, and for the count of consecutive periods.
 *
 * The input is one document value. Besides "no crash": a refusal names its reason and leaves
 * nothing compiled; an accepted rule keeps its limits (name, source and its fields, period
 * and periods in range), and its count, driven over a few periods by values taken from the
 * input, stays within [0, periods evaluated] and fires exactly when it reaches periods. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/alert_rule.h"

typedef struct feed {
  const uint8_t *data;
  size_t n, at;
} feed;

/* A value per period from the input's bytes: no data for 0, else the byte as a number. */
static int feed_read(void *ctx, const sy_alert_rule *r, int64_t from_ms, int64_t to_ms, double *value, char *why,
                     size_t cap) {
  feed *f = ctx;
  CHECK(from_ms <= to_ms);
  CHECK(r->source == SY_RULE_PROMETHEUS ? from_ms == 0 && to_ms == 0 : to_ms - from_ms == r->period_ms);
  uint8_t b = f->n ? f->data[f->at++ % f->n] : 0;
  if (!b) {
    if (cap) why[0] = 0;
    return -1;
  }
  *value = (double)b - 128;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char msg[512];
  sy_alert_rule *r = (sy_alert_rule *)1;
  msg[0] = 0;
  sy_rc rc = sy__alert_rule_compile("switchyard/alert-rules/fuzz", (const char *)data, size, &r, msg, sizeof msg);
  if (rc) {
    CHECK(r == NULL);
    CHECK(msg[0] != 0);
    return 0;
  }
  CHECK(r != NULL);
  CHECK(!strcmp(r->name, "fuzz"));
  CHECK(r->periods >= 1 && r->periods <= SY_ALERT_RULE_PERIODS_MAX);
  CHECK(r->severity >= 0 && r->severity <= 2);
  CHECK(r->op >= SY_RULE_GT && r->op <= SY_RULE_LE);
  switch (r->source) {
  case SY_RULE_GATEWAY:
    CHECK(r->provider[0] && !r->flag && !r->query && !r->url && r->metric);
    CHECK(r->period_ms >= 60000 && r->period_ms <= 3600000 && r->period_ms % 60000 == 0);
    break;
  case SY_RULE_PUSHED:
    CHECK(r->flag && r->flag[0] && r->flag[0] != '/' && !r->query && !r->url && r->metric);
    CHECK(r->period_ms >= 60000 && r->period_ms <= 3600000 && r->period_ms % 60000 == 0);
    break;
  case SY_RULE_PROMETHEUS:
    CHECK(r->query && r->query[0] && !r->flag && !r->metric);
    CHECK(r->period_ms >= 1000 && r->period_ms <= 86400000);
    break;
  default: CHECK(0);
  }
  sy_rule_track t;
  sy__rule_track_init(&t);
  feed f = {.data = data, .n = size};
  int64_t now = 1764720000000 + (int64_t)(size % 7) * 12345;
  int total = 0;
  for (int step = 0; step < 12; step++) {
    int n = sy__alert_rule_advance(r, &t, now, feed_read, &f);
    CHECK(n >= 0 && n <= r->periods + 1);
    total += n;
    CHECK(t.count >= 0 && t.count <= total);
    CHECK(sy__alert_rule_firing(r, &t) == (t.count >= r->periods));
    if (t.count) CHECK(t.has_value && sy__alert_rule_breach(r, t.value));
    now += (int64_t)(data[step % size] % 4) * r->period_ms + (data[(step + 1) % size] % 3) * 777;
  }
  char out[400];
  sy__alert_rule_message(r, &t, "fuzz", out, sizeof out);
  CHECK(out[0] != 0);
  sy__alert_rule_free(r);
  return 0;
}

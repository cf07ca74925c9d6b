/* test_rollout.c — rollout plans: what a plan document may say (and the words of each
 * refusal), the gates' judgement over counts, the state machine on an injected time, the
 * state document's round trip, and the edit of a target document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rollout.h"

#define KEY "switchyard/rollouts/p"
#define H 3600000LL
#define D (24 * H)

static sy_rollout *plan(const char *doc) {
  sy_rollout *p = NULL;
  char msg[512] = "";
  sy_rc rc = sy__rollout_compile(KEY, doc, strlen(doc), &p, msg, sizeof msg);
  if (rc) fprintf(stderr, "refused: %s\n", msg);
  assert_int_equal(rc, SY_OK);
  return p;
}

/* Asserts doc is refused with a message containing want. */
static void refused(const char *doc, const char *want) {
  sy_rollout *p = NULL;
  char msg[512] = "";
  sy_rc rc = sy__rollout_compile(KEY, doc, strlen(doc), &p, msg, sizeof msg);
  if (rc == SY_OK || !strstr(msg, want)) fprintf(stderr, "doc %s\n  msg: %s\n  want: %s\n", doc, msg, want);
  assert_int_not_equal(rc, SY_OK);
  assert_null(p);
  assert_non_null(strstr(msg, want));
}

#define FLAG_TARGET "\"target\":{\"flag\":\"a/b\"}"

static void compiles(void **state) {
  (void)state;
  sy_rollout *p =
      plan("{" FLAG_TARGET
           ",\"steps\":[{\"percent\":10,\"bake\":\"3d\"},{\"percent\":50.5,\"bake\":\"7d\","
           "\"not_before\":\"2027-01-04T09:00:00Z\",\"approval\":true},{\"percent\":100}],"
           "\"gates\":[{\"metric\":\"error_rate\",\"max\":5},{\"metric\":\"alerts\"}],"
           "\"on_breach\":\"previous\",\"rollback\":{\"steps\":[50,10,0],\"wait\":\"30m\"},\"min_samples\":3}");
  assert_true(p->is_flag);
  assert_string_equal(p->flag, "a/b");
  assert_string_equal(p->target_id, "flag:a/b");
  assert_int_equal(p->nsteps, 3);
  assert_int_equal(p->steps[0].cents, 1000);
  assert_int_equal(p->steps[1].cents, 5050);
  assert_int_equal(p->steps[0].bake_ms, 3 * D);
  assert_true(p->steps[1].approval);
  assert_true(p->steps[1].not_before_ms > 0);
  assert_int_equal(p->steps[2].ngates, 2);
  assert_string_equal(p->steps[0].gates[0]->label, "error_rate <= 5%");
  assert_int_equal(p->on_breach, SY_BREACH_PREVIOUS);
  assert_int_equal(p->nrb, 3);
  assert_int_equal(p->rb_wait_ms, 30 * 60000);
  assert_int_equal(p->min_samples, 3);
  sy__rollout_free(p);
  p = plan(
      "{\"target\":{\"route\":\"/photoeditor/staging/image-processor\",\"provider\":\"gemini\"},"
      "\"steps\":[{\"percent\":10,\"gates\":[{\"metric\":\"p95_ms\",\"max_baseline_ratio\":2},"
      "{\"metric\":\"provider_status\"},{\"metric\":\"prometheus\",\"query\":\"up\",\"min\":1}]}]}");
  assert_false(p->is_flag);
  assert_string_equal(p->provider, "gemini");
  assert_int_equal(p->steps[0].ngates, 3);
  assert_int_equal(p->steps[0].gates[2]->kind, SY_GATE_PROMETHEUS);
  assert_int_equal(p->on_breach, SY_BREACH_ROLLBACK);
  sy__rollout_free(p);
}

static void refusals(void **state) {
  (void)state;
  refused("[]", "JSON object");
  refused("{\"steps\":[{\"percent\":10}]}", "target");
  refused("{" FLAG_TARGET "}", "steps: required");
  refused("{" FLAG_TARGET ",\"steps\":[]}", "steps: required");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":50},{\"percent\":10}]}", "steps[1].percent must be above");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":50},{\"percent\":50}]}", "steps rise");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":101}]}", "steps[0].percent");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":-1}]}", "steps[0].percent");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":1.234}]}", "two decimals");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":\"10\"}]}", "steps[0].percent");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10,\"bake\":\"3 days\"}]}", "steps[0].bake");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10,\"bake\":\"400d\"}]}", "steps[0].bake");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10,\"bake\":-5}]}", "steps[0].bake");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10,\"colour\":1}]}", "steps[0]: unknown field \"colour\"");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"x\":1}", "unknown field \"x\"");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"latency\",\"max\":1}]}",
          "gates[0].metric: unknown metric \"latency\"");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10,\"gates\":[{\"metric\":\"error_rate\"}]}]}",
          "steps[0].gates[0]: a bound is required");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"error_rate\",\"max\":-1}]}",
          "gates[0].max");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"error_rate\",\"max\":500}]}",
          "error_rate is a percent");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"requests\",\"min\":1,\"max\":2}]}",
          "exclusive");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"provider_status\"}]}",
          "provider_status applies to a route target");
  refused("{" FLAG_TARGET
          ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"error_rate\",\"max\":1,"
          "\"source\":\"gateway\"}]}",
          "gates[0].source");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"prometheus\",\"max\":1}]}",
          "gates[0].query");
  refused("{" FLAG_TARGET
          ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"prometheus\",\"query\":\"up\","
          "\"max\":1,\"url\":\"ftp://x\"}]}",
          "gates[0].url");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"alerts\",\"severity\":\"bad\"}]}",
          "gates[0].severity");
  refused("{" FLAG_TARGET
          ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"error_rate\",\"max_baseline_ratio\":2}]}",
          "only for p50_ms");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"on_breach\":\"explode\"}", "on_breach");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"start_at\":\"tomorrow\"}", "start_at");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"rollback\":{\"steps\":[10,50,0]}}", "a rollback falls");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"rollback\":{\"steps\":[50,10]}}", "the last must be 0");
  refused("{\"target\":{\"route\":\"x\",\"provider\":\"g\"},\"steps\":[{\"percent\":10}]}", "target.route");
  refused("{\"target\":{\"route\":\"/r\"},\"steps\":[{\"percent\":10}]}", "target");
  refused("{\"target\":{\"flag\":\"a\",\"route\":\"/r\",\"provider\":\"g\"},\"steps\":[{\"percent\":10}]}", "not both");
  refused("{\"target\":{\"route\":\"/r\",\"provider\":\"g h\"},\"steps\":[{\"percent\":10}]}", "target.provider");
  refused("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}],\"steps\":[]}", "not JSON");
  /* 21 steps */
  char big[4096];
  size_t o = (size_t)snprintf(big, sizeof big, "{" FLAG_TARGET ",\"steps\":[");
  for (int i = 0; i < 21; i++)
    o += (size_t)snprintf(big + o, sizeof big - o, "%s{\"percent\":%d}", i ? "," : "", i + 1);
  snprintf(big + o, sizeof big - o, "]}");
  refused(big, "steps: required, an array of 1 to 20");
  /* the key is the plan's name */
  sy_rollout *p = NULL;
  char msg[256];
  const char *doc = "{" FLAG_TARGET ",\"steps\":[{\"percent\":10}]}";
  assert_int_not_equal(sy__rollout_compile("switchyard/rollouts/a b", doc, strlen(doc), &p, msg, sizeof msg), SY_OK);
  assert_int_not_equal(sy__rollout_compile("switchyard/other/p", doc, strlen(doc), &p, msg, sizeof msg), SY_OK);
}

static sy_counts counts(int64_t req, int64_t err, double cost, int64_t latency_ms) {
  sy_counts c;
  memset(&c, 0, sizeof c);
  c.requests = req;
  c.errors = err;
  c.cost_usd = cost;
  for (int64_t i = 0; i < req - err; i++) sy__hist_observe(&c.latency, latency_ms * 1000);
  return c;
}

static void gates(void **state) {
  (void)state;
  sy_rollout *p = plan("{" FLAG_TARGET
                       ",\"steps\":[{\"percent\":10}],\"gates\":[{\"metric\":\"error_rate\",\"max\":5},"
                       "{\"metric\":\"requests\",\"min\":500},{\"metric\":\"p95_ms\",\"max_baseline_ratio\":2},"
                       "{\"metric\":\"cost_per_request\",\"max\":0.05},{\"metric\":\"errors\",\"max\":5}]}");
  sy_gate_result r;
  sy_counts few = counts(5, 5, 0, 0), bad = counts(100, 8, 1, 100), good = counts(600, 3, 6, 100);
  sy__gate_judge(&p->gates[0], &few, NULL, -1, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_WAIT); /* 5 of 10 requests: not judged yet */
  sy__gate_judge(&p->gates[0], &bad, NULL, -1, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_BREACH);
  assert_true(r.value > 7.9 && r.value < 8.1);
  assert_non_null(strstr(r.detail, "> 5%"));
  sy__gate_judge(&p->gates[0], &good, NULL, -1, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_PASS);
  sy__gate_judge(&p->gates[1], &bad, NULL, -1, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_WAIT); /* a volume never breaches */
  sy__gate_judge(&p->gates[1], &good, NULL, -1, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_PASS);
  /* ratio: against the captured baseline, else the baseline in the same window */
  sy_counts base = counts(100, 0, 0, 10);
  sy__gate_judge(&p->gates[2], &good, NULL, 60, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_PASS);
  sy__gate_judge(&p->gates[2], &good, NULL, 20, p->min_samples, &r);
  if (r.status != SY_GATE_BREACH) fprintf(stderr, "%s\n", r.detail);
  assert_int_equal(r.status, SY_GATE_BREACH);
  sy__gate_judge(&p->gates[2], &good, &base, -1, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_BREACH);
  assert_non_null(strstr(r.detail, "same window"));
  sy__gate_judge(&p->gates[2], &good, NULL, -1, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_WAIT);
  sy__gate_judge(&p->gates[3], &good, NULL, -1, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_PASS); /* 6 USD over 597 successes */
  sy__gate_judge(&p->gates[4], &few, NULL, -1, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_PASS); /* counts are judged at once */
  sy__gate_judge(&p->gates[4], &bad, NULL, -1, p->min_samples, &r);
  assert_int_equal(r.status, SY_GATE_BREACH);
  sy__gate_judge_value(&p->gates[0], 0, 0, "Prometheus at http://x did not answer", &r);
  assert_int_equal(r.status, SY_GATE_UNKNOWN);
  sy__rollout_free(p);
}

/* Runs the decision at now with every gate given status st; returns the move. */
static sy_move decide(const sy_rollout *p, sy_rollout_state *s, int have_state, int64_t now, sy_gate_status st) {
  sy_gate_result res[SY_ROLLOUT_GATES_MAX];
  int step = have_state && s->step >= 0 ? s->step : 0;
  memset(res, 0, sizeof res);
  for (int i = 0; i < p->steps[step].ngates; i++) {
    res[i].gate = p->steps[step].gates[i];
    res[i].status = st;
    snprintf(res[i].detail, sizeof res[i].detail, "detail %d", i);
  }
  sy_rollout_input in = {
      .now_ms = now, .plan_version = 1, .results = res, .nresults = p->steps[step].ngates, .baseline_p95_ms = -1};
  sy_rollout_state next;
  sy_move m = sy__rollout_decide(p, have_state ? s : NULL, &in, &next);
  if (m != SY_MOVE_NONE) *s = next;
  return m;
}

static void machine(void **state) {
  (void)state;
  /* runbook 001: 10/25/50/100 with 1h/1h/2h/4h */
  sy_rollout *p = plan("{" FLAG_TARGET
                       ",\"steps\":[{\"percent\":10,\"bake\":\"1h\"},{\"percent\":25,\"bake\":\"1h\"},"
                       "{\"percent\":50,\"bake\":\"2h\"},{\"percent\":100,\"bake\":\"4h\"}],"
                       "\"gates\":[{\"metric\":\"error_rate\",\"max\":5}]}");
  sy_rollout_state s;
  int64_t t = 1000000;
  assert_int_equal(decide(p, &s, 0, t, SY_GATE_WAIT), SY_MOVE_START);
  assert_int_equal(s.phase, SY_PHASE_RUNNING);
  assert_int_equal(s.cents, 1000);
  assert_int_equal(decide(p, &s, 1, t + H - 1, SY_GATE_PASS), SY_MOVE_NONE); /* bake not over */
  assert_int_equal(decide(p, &s, 1, t + H, SY_GATE_WAIT), SY_MOVE_NONE);     /* gates not yet passed */
  assert_int_equal(decide(p, &s, 1, t + H, SY_GATE_PASS), SY_MOVE_PROMOTE);
  assert_int_equal(s.cents, 2500);
  assert_non_null(strstr(s.reason, "10% -> 25%"));
  t += H;
  /* a pause stops the bake clock */
  sy_rollout_state n;
  char msg[256];
  assert_int_equal(sy__rollout_command(p, &s, "pause", 0, t + 10 * 60000, "look", &n, msg, sizeof msg), SY_OK);
  s = n;
  assert_int_equal(decide(p, &s, 1, t + 2 * H, SY_GATE_PASS), SY_MOVE_NONE); /* paused: no move */
  assert_int_equal(sy__rollout_command(p, &s, "resume", 0, t + 40 * 60000, NULL, &n, msg, sizeof msg), SY_OK);
  s = n;
  assert_int_equal(s.paused_ms, 30 * 60000);
  assert_int_equal(decide(p, &s, 1, t + H + 29 * 60000, SY_GATE_PASS), SY_MOVE_NONE);
  assert_int_equal(decide(p, &s, 1, t + H + 30 * 60000, SY_GATE_PASS), SY_MOVE_PROMOTE);
  assert_int_equal(s.cents, 5000);
  /* a breach rolls back to 0 at once */
  assert_int_equal(decide(p, &s, 1, t + 2 * H, SY_GATE_BREACH), SY_MOVE_BREACH);
  assert_int_equal(s.phase, SY_PHASE_ROLLED_BACK);
  assert_int_equal(s.cents, 0);
  assert_true(s.breach.set);
  assert_int_equal(s.breach.cents, 5000);
  assert_non_null(strstr(s.reason, "error_rate <= 5%"));
  /* and nothing moves after */
  assert_int_equal(decide(p, &s, 1, t + 9 * H, SY_GATE_PASS), SY_MOVE_NONE);
  assert_int_equal(sy__rollout_command(p, &s, "pause", 0, t, NULL, &n, msg, sizeof msg), SY_ECONFLICT);
  assert_int_equal(sy__rollout_command(p, &s, "rollback", 0, t, NULL, &n, msg, sizeof msg), SY_ECONFLICT);
  /* start again: from the first step */
  assert_int_equal(sy__rollout_command(p, &s, "start", 0, t + 10 * H, NULL, &n, msg, sizeof msg), SY_OK);
  s = n;
  assert_int_equal(s.cents, 1000);
  assert_false(s.breach.set);
  /* an unknown gate pauses, never promotes */
  assert_int_equal(decide(p, &s, 1, t + 12 * H, SY_GATE_UNKNOWN), SY_MOVE_PAUSE);
  assert_int_equal(s.phase, SY_PHASE_PAUSED);
  assert_int_equal(s.cents, 1000);
  assert_int_equal(sy__rollout_command(p, &s, "bogus", 0, t, NULL, &n, msg, sizeof msg), SY_EINVAL);
  sy__rollout_free(p);
}

static void last_step_and_approval(void **state) {
  (void)state;
  sy_rollout *p = plan("{" FLAG_TARGET
                       ",\"steps\":[{\"percent\":10,\"bake\":\"1h\"},{\"percent\":100,\"bake\":\"1h\","
                       "\"approval\":true}],\"start_at\":\"2030-01-01T00:00:00Z\"}");
  sy_rollout_state s, n;
  char msg[256];
  int64_t t0 = p->start_at_ms;
  assert_int_equal(decide(p, &s, 0, t0 - 1, SY_GATE_PASS), SY_MOVE_SCHEDULE);
  assert_int_equal(s.phase, SY_PHASE_SCHEDULED);
  assert_int_equal(decide(p, &s, 1, t0 - 1, SY_GATE_PASS), SY_MOVE_NONE);
  assert_int_equal(decide(p, &s, 1, t0, SY_GATE_PASS), SY_MOVE_START);
  assert_int_equal(decide(p, &s, 1, t0 + H, SY_GATE_PASS), SY_MOVE_AWAIT);
  assert_int_equal(s.phase, SY_PHASE_AWAITING_APPROVAL);
  assert_int_equal(s.cents, 1000);
  assert_int_equal(decide(p, &s, 1, t0 + 5 * H, SY_GATE_PASS), SY_MOVE_NONE);
  assert_int_equal(sy__rollout_command(p, &s, "promote", 0, t0 + 5 * H, "ok", &n, msg, sizeof msg), SY_OK);
  s = n;
  assert_int_equal(s.cents, 10000);
  assert_int_equal(decide(p, &s, 1, t0 + 6 * H - 1, SY_GATE_PASS), SY_MOVE_NONE);
  assert_int_equal(decide(p, &s, 1, t0 + 6 * H, SY_GATE_PASS), SY_MOVE_COMPLETE);
  assert_int_equal(s.phase, SY_PHASE_COMPLETED);
  /* runbook 002's gradual rollback from 100: 10, 0 here (the plan's percents below) */
  assert_int_equal(sy__rollout_command(p, &s, "rollback", 1, t0 + 7 * H, NULL, &n, msg, sizeof msg), SY_OK);
  s = n;
  assert_int_equal(s.phase, SY_PHASE_ROLLING_BACK);
  assert_int_equal(s.cents, 1000);
  assert_int_equal(decide(p, &s, 1, t0 + 8 * H - 1, SY_GATE_PASS), SY_MOVE_NONE);
  assert_int_equal(decide(p, &s, 1, t0 + 8 * H, SY_GATE_PASS), SY_MOVE_ROLLED_BACK);
  assert_int_equal(s.cents, 0);
  assert_int_equal(s.phase, SY_PHASE_ROLLED_BACK);
  sy__rollout_free(p);
}

/* runbook 004's timeline: a step is not entered before its date, even with its bake done */
static void not_before_004(void **state) {
  (void)state;
  sy_rollout *p = plan("{" FLAG_TARGET
                       ",\"steps\":[{\"percent\":10,\"bake\":\"1d\",\"not_before\":\"2030-01-01T00:00:00Z\"},"
                       "{\"percent\":50,\"bake\":\"1d\",\"not_before\":\"2030-01-08T00:00:00Z\"},{\"percent\":100}]}");
  int64_t w1 = p->steps[0].not_before_ms, w2 = p->steps[1].not_before_ms;
  sy_rollout_state s;
  assert_int_equal(decide(p, &s, 0, w1 - D, SY_GATE_PASS), SY_MOVE_SCHEDULE);
  assert_int_equal(decide(p, &s, 1, w1 - 1, SY_GATE_PASS), SY_MOVE_NONE);
  assert_int_equal(decide(p, &s, 1, w1, SY_GATE_PASS), SY_MOVE_START);
  assert_int_equal(decide(p, &s, 1, w1 + D, SY_GATE_PASS), SY_MOVE_NONE); /* baked, but week 2 has not come */
  assert_int_equal(decide(p, &s, 1, w2 - 1, SY_GATE_PASS), SY_MOVE_NONE);
  assert_int_equal(decide(p, &s, 1, w2, SY_GATE_PASS), SY_MOVE_PROMOTE);
  assert_int_equal(s.cents, 5000);
  assert_int_equal(decide(p, &s, 1, w2 + D, SY_GATE_PASS), SY_MOVE_PROMOTE); /* no date on the last */
  assert_int_equal(s.cents, 10000);
  sy__rollout_free(p);
}

static void gradual_002(void **state) {
  (void)state;
  sy_rollout *p = plan("{" FLAG_TARGET
                       ",\"steps\":[{\"percent\":10},{\"percent\":50},{\"percent\":100}],"
                       "\"gates\":[{\"metric\":\"errors\",\"max\":0}]}");
  sy_rollout_state s, n;
  char msg[256];
  assert_int_equal(decide(p, &s, 0, 0, SY_GATE_PASS), SY_MOVE_START);
  assert_int_equal(decide(p, &s, 1, 1, SY_GATE_PASS), SY_MOVE_PROMOTE);
  assert_int_equal(decide(p, &s, 1, 2, SY_GATE_PASS), SY_MOVE_PROMOTE);
  assert_int_equal(s.cents, 10000);
  assert_int_equal(sy__rollout_command(p, &s, "rollback", 1, 10, NULL, &n, msg, sizeof msg), SY_OK);
  s = n;
  assert_int_equal(s.cents, 5000); /* 100 -> 50 -> 10 -> 0, an hour apart */
  assert_int_equal(decide(p, &s, 1, 10 + H, SY_GATE_PASS), SY_MOVE_ROLLBACK_STEP);
  assert_int_equal(s.cents, 1000);
  /* a breach during the gradual rollback goes to 0 at once */
  assert_int_equal(decide(p, &s, 1, 10 + H + 5, SY_GATE_BREACH), SY_MOVE_BREACH);
  assert_int_equal(s.cents, 0);
  assert_int_equal(s.phase, SY_PHASE_ROLLED_BACK);
  /* on_breach previous and pause */
  sy__rollout_free(p);
  p = plan("{" FLAG_TARGET
           ",\"steps\":[{\"percent\":10},{\"percent\":50}],\"on_breach\":\"previous\","
           "\"gates\":[{\"metric\":\"errors\",\"max\":0}]}");
  assert_int_equal(decide(p, &s, 0, 0, SY_GATE_PASS), SY_MOVE_START);
  assert_int_equal(decide(p, &s, 1, 1, SY_GATE_PASS), SY_MOVE_PROMOTE);
  assert_int_equal(decide(p, &s, 1, 2, SY_GATE_BREACH), SY_MOVE_BREACH);
  assert_int_equal(s.cents, 1000);
  assert_int_equal(s.phase, SY_PHASE_PAUSED);
  sy__rollout_free(p);
  p = plan("{" FLAG_TARGET
           ",\"steps\":[{\"percent\":10},{\"percent\":50}],\"on_breach\":\"pause\","
           "\"gates\":[{\"metric\":\"errors\",\"max\":0}]}");
  assert_int_equal(decide(p, &s, 0, 0, SY_GATE_PASS), SY_MOVE_START);
  assert_int_equal(decide(p, &s, 1, 2, SY_GATE_BREACH), SY_MOVE_BREACH);
  assert_int_equal(s.cents, 1000);
  assert_int_equal(s.phase, SY_PHASE_PAUSED);
  sy__rollout_free(p);
}

static void state_round_trip(void **state) {
  (void)state;
  sy_rollout *p = plan("{" FLAG_TARGET ",\"steps\":[{\"percent\":12.5},{\"percent\":100}]}");
  sy_rollout_state s, back, n;
  char msg[256];
  assert_int_equal(decide(p, &s, 0, 1796000000000LL, SY_GATE_PASS), SY_MOVE_START);
  assert_int_equal(sy__rollout_command(p, &s, "rollback", 1, 1796000000500LL, "why", &n, msg, sizeof msg), SY_OK);
  char *text = sy__rollout_state_json(&n);
  assert_non_null(text);
  assert_int_equal(sy__rollout_state_parse(text, strlen(text), &back, msg, sizeof msg), SY_OK);
  assert_int_equal(back.phase, n.phase);
  assert_int_equal(back.cents, n.cents);
  assert_int_equal(back.step_started_ms, n.step_started_ms);
  assert_int_equal(back.rb_next_ms, n.rb_next_ms);
  assert_int_equal(back.nrb, n.nrb);
  assert_string_equal(back.reason, n.reason);
  free(text);
  const char *bad = "{\"phase\":\"flying\",\"step\":0,\"percent\":1}";
  assert_int_not_equal(sy__rollout_state_parse(bad, strlen(bad), &back, msg, sizeof msg), SY_OK);
  assert_non_null(strstr(msg, "phase"));
  sy__rollout_free(p);
}

static void target_edit(void **state) {
  (void)state;
  sy_rollout *f = plan("{" FLAG_TARGET ",\"steps\":[{\"percent\":10}]}");
  char msg[256];
  const char *flag = "{\"enabled\":true,\"rollout_percentage\":0,\"config\":{\"a\":1}}";
  char *v = sy__rollout_target_value(f, flag, strlen(flag), 2550, msg, sizeof msg);
  assert_non_null(v);
  assert_non_null(strstr(v, "\"rollout_percentage\":25.5"));
  assert_non_null(strstr(v, "\"config\":{\"a\":1}"));
  assert_int_equal(sy__rollout_target_cents(f, v, strlen(v)), 2550);
  free(v);
  assert_null(sy__rollout_target_value(f, "[1]", 3, 100, msg, sizeof msg));
  sy__rollout_free(f);
  sy_rollout *r = plan("{\"target\":{\"route\":\"/r\",\"provider\":\"gemini\"},\"steps\":[{\"percent\":10}]}");
  const char *route = "{\"strategy\":\"/r/strategy\",\"provider\":\"stub\"}";
  assert_int_equal(sy__rollout_target_cents(r, route, strlen(route)), 0);
  v = sy__rollout_target_value(r, route, strlen(route), 1000, msg, sizeof msg);
  assert_non_null(strstr(v, "\"split\":[{\"provider\":\"gemini\",\"percent\":10}]"));
  char *w = sy__rollout_target_value(r, v, strlen(v), 5000, msg, sizeof msg);
  assert_non_null(strstr(w, "\"percent\":50"));
  assert_int_equal(sy__rollout_target_cents(r, w, strlen(w)), 5000);
  char *z = sy__rollout_target_value(r, w, strlen(w), 0, msg, sizeof msg);
  assert_non_null(strstr(z, "\"split\":[]"));
  free(v);
  free(w);
  free(z);
  sy__rollout_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(compiles),
      cmocka_unit_test(refusals),
      cmocka_unit_test(gates),
      cmocka_unit_test(machine),
      cmocka_unit_test(last_step_and_approval),
      cmocka_unit_test(gradual_002),
      cmocka_unit_test(not_before_004),
      cmocka_unit_test(state_round_trip),
      cmocka_unit_test(target_edit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

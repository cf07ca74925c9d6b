/* fuzz_rollout.c — libFuzzer harness for rollout plans and their state (src/core/rollout.c):
 * the Rollout and RolloutState documents as the store's rules compile them on every write,
 * and the state machine run over what they accept.
 *
 * The input's first byte chooses: 'S' the rest is a state document, anything else a plan.
 * Besides "no crash": a refusal names its reason and leaves nothing compiled; an accepted
 * plan's steps rise within 0..100 %; every move of the state machine keeps the target's
 * share within 0..100 % and writes a state that parses back to the same phase and share. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rollout.h"

static void round_trip(const sy_rollout_state *s) {
  char *text = sy__rollout_state_json(s);
  CHECK(text != NULL);
  sy_rollout_state back;
  char msg[512];
  CHECK(sy__rollout_state_parse(text, strlen(text), &back, msg, sizeof msg) == SY_OK);
  CHECK(back.phase == s->phase && back.cents == s->cents && back.step == s->step);
  free(text);
}

/* Drives the plan through a few evaluations with every gate status, then every command. */
static void drive(const sy_rollout *p) {
  sy_rollout_state s, n;
  int have = 0;
  int64_t now = p->start_at_ms ? p->start_at_ms : 1700000000000LL;
  sy_gate_result res[SY_ROLLOUT_GATES_MAX];
  for (int round = 0; round < 4 * SY_ROLLOUT_STEPS_MAX; round++) {
    int step = have && s.step >= 0 && s.step < p->nsteps ? s.step : 0;
    sy_gate_status st = (sy_gate_status)(1 + round % 4);
    if (round < 2 * SY_ROLLOUT_STEPS_MAX) st = SY_GATE_PASS; /* first, climb */
    memset(res, 0, sizeof res);
    for (int i = 0; i < p->steps[step].ngates; i++) {
      res[i].gate = p->steps[step].gates[i];
      res[i].status = st;
    }
    sy_rollout_input in = {
        .now_ms = now, .plan_version = 1, .results = res, .nresults = p->steps[step].ngates, .baseline_p95_ms = -1};
    if (sy__rollout_decide(p, have ? &s : NULL, &in, &n) != SY_MOVE_NONE) {
      CHECK(n.cents >= 0 && n.cents <= 10000);
      round_trip(&n);
      s = n;
      have = 1;
    }
    now += 8 * 86400000LL;
  }
  static const char *const cmds[] = {"pause", "resume", "promote", "rollback", "abort", "start"};
  for (int i = 0; i < 6 && have; i++) {
    char msg[512];
    if (sy__rollout_command(p, &s, cmds[i], i % 2, now, "fuzz", &n, msg, sizeof msg) == SY_OK) {
      CHECK(n.cents >= 0 && n.cents <= 10000);
      round_trip(&n);
      s = n;
    } else {
      CHECK(msg[0] != 0);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char msg[512];
  if (size && data[0] == 'S') {
    sy_rollout_state s;
    if (sy__rollout_state_parse((const char *)data + 1, size - 1, &s, msg, sizeof msg) == SY_OK) {
      CHECK(s.phase != SY_PHASE_NONE && s.cents >= 0 && s.cents <= 10000);
      round_trip(&s);
    } else {
      CHECK(msg[0] != 0);
    }
    return 0;
  }
  sy_rollout *p = (sy_rollout *)1;
  if (sy__rollout_compile("switchyard/rollouts/fuzz", (const char *)data, size, &p, msg, sizeof msg)) {
    CHECK(p == NULL);
    CHECK(msg[0] != 0);
    return 0;
  }
  CHECK(p != NULL);
  CHECK(p->nsteps >= 1 && p->nsteps <= SY_ROLLOUT_STEPS_MAX);
  for (int i = 0; i < p->nsteps; i++) {
    CHECK(p->steps[i].cents >= 0 && p->steps[i].cents <= 10000);
    CHECK(i == 0 || p->steps[i].cents > p->steps[i - 1].cents);
    CHECK(p->steps[i].ngates <= SY_ROLLOUT_GATES_MAX);
  }
  drive(p);
  sy__rollout_free(p);
  return 0;
}

/* cmd_rollout.c — `switchyard rollout plan ...` and `switchyard rollout PLAN --rollback`: rollout plans over
 * /api/v1/rollouts (docs/ROLLOUTS.md). The flag forms of `switchyard rollout` live in cmd_flag.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/table.h"

#define PLAN_NAME_MAX 64
#define PLAN_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
#define TEXT_MAX 1024 /* bytes of one server text shown on a line */

static const char plan_usage[] =
    "usage: switchyard rollout plan SUBCOMMAND [ARGS...]\n"
    "\n"
    "A rollout plan moves one target - a flag's rollout_percentage, or a provider's share of a\n"
    "route - through steps (10 -> 25 -> 50 -> 100 %), waits a bake time at each, checks gates on\n"
    "live metrics and promotes itself when they pass. On a breach it rolls back or pauses. A\n"
    "person approves or watches (docs/ROLLOUTS.md).\n"
    "\n"
    "subcommands:\n"
    "  create NAME          a plan from --file PLAN.json or --plan JSON; it starts at once or at start_at\n"
    "  ls                   NAME TARGET PHASE STEP PERCENT NEXT BAKE-LEFT REASON of every plan\n"
    "  status NAME          phase, step, bake left, every gate with its value and bound\n"
    "  promote NAME         to the next step now (skips the bake and the approval, not a breach)\n"
    "  pause NAME           stop the bake's clock and the controller's moves\n"
    "  resume NAME          start them again\n"
    "  abort NAME           the target to 0 at once; phase aborted\n"
    "  start NAME           a plan that ended starts again from its first step\n"
    "  delete NAME          delete the plan and its state (abort a running plan first)\n"
    "\n"
    "Rolling back: switchyard rollout PLAN --rollback [--gradual] (see 'switchyard rollout PLAN\n"
    "--rollback --help'). NAME is 1 to 64 characters of A-Za-z0-9_.-.\n"
    "\n"
    "examples:\n"
    "  switchyard rollout plan create provider-ramp --file runbook-001.json   # 10/25/50/100 %, 1h/1h/2h/4h\n"
    "  switchyard rollout plan create gemini-ramp --file runbook-002.json     # 10/50/100 %, 3d/7d\n"
    "  switchyard rollout plan status gemini-ramp       # step 2/3 at 50%, next 100%; 6d 23h left of 7d\n"
    "  switchyard rollout plan pause gemini-ramp --reason \"cost review\"\n"
    "  switchyard rollout plan resume gemini-ramp\n"
    "  switchyard rollout plan promote gemini-ramp --reason \"approved by oncall\"\n"
    "  switchyard rollout gemini-ramp --rollback --gradual   # 100 -> 50 -> 10 -> 0, an hour apart\n"
    "\n"
    "run 'switchyard rollout plan SUBCOMMAND --help' for its options.\n";

static const char create_usage[] =
    "usage: switchyard rollout plan create NAME (--file PLAN.json | --plan JSON) [--json]\n"
    "\n"
    "Creates the rollout plan NAME (POST /api/v1/rollouts) and prints its status. The plan is a\n"
    "JSON object: target, steps (percent, bake, gates, not_before, approval), gates on every\n"
    "step, on_breach, start_at, rollback, min_samples (docs/ROLLOUTS.md). It starts at once, or\n"
    "at start_at. The server refuses a bad plan naming the field, and a second plan on a target.\n"
    "\n"
    "runbook 001, a provider's share of a route: 10, 25, 50, then 100 %, baking 1h, 1h, 2h, and\n"
    "watching 4h at 100 %:\n"
    "  {\"target\": {\"route\": \"/photoeditor/staging/image-processor\", \"provider\": \"gemini\"},\n"
    "   \"steps\": [{\"percent\": 10, \"bake\": \"1h\"}, {\"percent\": 25, \"bake\": \"1h\"},\n"
    "             {\"percent\": 50, \"bake\": \"2h\"}, {\"percent\": 100, \"bake\": \"4h\"}],\n"
    "   \"gates\": [{\"metric\": \"error_rate\", \"max\": 5}, {\"metric\": \"p95_ms\", \"max\": 60000},\n"
    "             {\"metric\": \"provider_status\"}]}\n"
    "\n"
    "runbook 002, Gemini for image processing: 10 % for 3 days, 50 % for 7 days, then 100 %\n"
    "once approved; a gradual rollback goes 100 -> 50 -> 10 -> 0, an hour apart:\n"
    "  {\"target\": {\"route\": \"/photoeditor/staging/image-processor\", \"provider\": \"gemini\"},\n"
    "   \"steps\": [{\"percent\": 10, \"bake\": \"3d\", \"gates\": [{\"metric\": \"requests\", \"min\": 500}]},\n"
    "             {\"percent\": 50, \"bake\": \"7d\", \"gates\": [{\"metric\": \"requests\", \"min\": 2000}]},\n"
    "             {\"percent\": 100, \"bake\": \"7d\", \"approval\": true}],\n"
    "   \"gates\": [{\"metric\": \"error_rate\", \"max\": 5}, {\"metric\": \"cost_per_image\", \"max\": 0.05}],\n"
    "   \"rollback\": {\"steps\": [50, 10, 0], \"wait\": \"1h\"}}\n"
    "\n"
    "A flag's plan (runbook 004) has \"target\": {\"flag\": \"audio-transcription/partial-results/config\"}.\n"
    "\n"
    "options:\n"
    "  --file PLAN.json   read the plan from a file ('-' reads stdin)\n"
    "  --plan JSON        the plan itself\n"
    "  --json             print the server's answer as JSON\n";

static const char ls_usage[] =
    "usage: switchyard rollout plan ls [--json]\n"
    "\n"
    "Lists the rollout plans, by name, as a table NAME TARGET PHASE STEP PERCENT NEXT BAKE-LEFT\n"
    "REASON: STEP is the current step of all (2/4), PERCENT what the target is set to, NEXT the\n"
    "next step's percent, BAKE-LEFT the time left at this step, REASON the last transition's.\n"
    "\n"
    "options:\n"
    "  --json   the server's answer: {\"rollouts\": [STATUS, ...]}\n";

static const char status_usage[] =
    "usage: switchyard rollout plan status NAME [--json]\n"
    "\n"
    "Prints the plan's target, phase (scheduled, running, awaiting_approval, paused,\n"
    "rolling_back, rolled_back, completed, aborted), step (\"2/4 at 25%, next 50%\"), the bake\n"
    "time left (\"2d 3h 5m left of 3d\"), not_before, every gate on its own line - pass, wait,\n"
    "breach or unknown, its current value, its bound and why - the baseline, the breach that\n"
    "rolled the plan back or paused it, and the reason of the last transition.\n"
    "\n"
    "options:\n"
    "  --json   the server's STATUS object\n";

static const char promote_usage[] =
    "usage: switchyard rollout plan promote NAME [--reason R] [--json]\n"
    "\n"
    "Moves the plan to its next step now: it skips the bake, not_before and the approval a\n"
    "step waits for (runbook 002's 100 % step), but not a breached gate. Prints the new step.\n"
    "\n"
    "options:\n"
    "  --reason R   recorded in the audit log and the plan's state\n"
    "  --json       the server's STATUS object\n";

static const char pause_usage[] =
    "usage: switchyard rollout plan pause NAME [--reason R] [--json]\n"
    "\n"
    "Pauses the plan: the bake's clock stops and the controller moves nothing (a critical alert\n"
    "on the target still rolls it back). The target stays where it is. 'resume' goes on.\n"
    "\n"
    "options:\n"
    "  --reason R   recorded in the audit log and the plan's state\n"
    "  --json       the server's STATUS object\n";

static const char resume_usage[] =
    "usage: switchyard rollout plan resume NAME [--reason R] [--json]\n"
    "\n"
    "Resumes a paused plan: the bake's clock runs again from where it stopped.\n"
    "\n"
    "options:\n"
    "  --reason R   recorded in the audit log and the plan's state\n"
    "  --json       the server's STATUS object\n";

static const char abort_usage[] =
    "usage: switchyard rollout plan abort NAME [--reason R] [--json]\n"
    "\n"
    "Sets the target to 0 at once and ends the plan (phase aborted). 'start' runs it again\n"
    "from its first step; 'delete' removes it.\n"
    "\n"
    "options:\n"
    "  --reason R   recorded in the audit log and the plan's state\n"
    "  --json       the server's STATUS object\n";

static const char start_usage[] =
    "usage: switchyard rollout plan start NAME [--reason R] [--json]\n"
    "\n"
    "Starts a plan that ended (completed, rolled_back, aborted) again from its first step, e.g.\n"
    "after the fix for the breach that rolled it back. It resolves the rollout_rolled_back alert.\n"
    "\n"
    "options:\n"
    "  --reason R   recorded in the audit log and the plan's state\n"
    "  --json       the server's STATUS object\n";

static const char delete_usage[] =
    "usage: switchyard rollout plan delete NAME [--json]\n"
    "\n"
    "Deletes the plan and its state. The target keeps the percent it has. A running plan is\n"
    "refused (Conflict): abort it first.\n"
    "\n"
    "options:\n"
    "  --json   the server's answer as JSON\n";

static const char rollback_usage[] =
    "usage: switchyard rollout PLAN --rollback [--gradual] [--reason R] [--json]\n"
    "\n"
    "Rolls the rollout plan PLAN back (POST /api/v1/rollouts/PLAN/rollback): the target to 0 at\n"
    "once (phase rolled_back) or, with --gradual, down the plan's rollback steps with its wait\n"
    "between them (phase rolling_back, then rolled_back). By default those steps are the plan's\n"
    "percents below the current one, falling, then 0: from 100 % of a 10/50/100 plan that is\n"
    "runbook 002's 100 -> 50 -> 10 -> 0, an hour apart.\n"
    "\n"
    "  switchyard rollout gemini-ramp --rollback --reason \"error rate 7%\"   # to 0 now\n"
    "  switchyard rollout gemini-ramp --rollback --gradual                  # 50, 10, 0, 1h apart\n"
    "  switchyard rollout plan status gemini-ramp                           # the next steps\n"
    "  switchyard rollout plan start gemini-ramp                            # again, from 10 %\n"
    "\n"
    "options:\n"
    "  --gradual    step down rather than to 0 at once\n"
    "  --reason R   recorded in the audit log and the plan's state\n"
    "  --json       the server's STATUS object\n";

/* ---- shared pieces --------------------------------------------------------------------- */

static int plan_name_ok(const char *name) {
  size_t n = strlen(name);
  return n >= 1 && n <= PLAN_NAME_MAX && strspn(name, PLAN_NAME_CHARS) == n;
}

/* Checks the plan name and builds "/api/v1/rollouts/NAME[suffix]" into u. A bad name is misuse:
 * the problem and the usage are printed and SY__EXIT_USAGE returned; else SY__EXIT_OK. */
static int plan_url(sy__url *u, const char *usage, const char *cmd, const char *name, const char *suffix) {
  if (!plan_name_ok(name))
    return sy__misuse(usage, "%s: a plan name is 1 to 64 characters of A-Za-z0-9_.-, not '%.80s'", cmd, name);
  sy__url_init(u, "/api/v1/rollouts");
  sy__url_segment(u, name);
  if (suffix) sy__url_add(u, suffix);
  return SY__EXIT_OK;
}

/* Any JSON value as text for a line (cut to fit): strings as they are, numbers in decimal,
 * null or absent as "-", with bytes that could garble the terminal replaced by '?'. */
static void text_of(const json_t *v, char *out, size_t cap) {
  char num[64];
  if (json_is_real(v)) {
    snprintf(num, sizeof num, "%.10g", json_real_value(v));
    snprintf(out, cap, "%s", num);
    return;
  }
  sy__json_cell(v && !json_is_null(v) ? v : NULL, cap, out, cap);
  for (char *p = out; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
}

/* A percent as "25%", "12.5%", or "-" when it is not a number. */
static void pct_text(const json_t *v, char *out, size_t cap) {
  if (json_is_integer(v)) {
    snprintf(out, cap, "%" JSON_INTEGER_FORMAT "%%", json_integer_value(v));
  } else if (json_is_real(v)) {
    char n[64];
    snprintf(n, sizeof n, "%.2f", json_real_value(v));
    size_t len = strlen(n);
    while (len && n[len - 1] == '0') n[--len] = 0;
    if (len && n[len - 1] == '.') n[--len] = 0;
    snprintf(out, cap, "%s%%", n);
  } else {
    snprintf(out, cap, "-");
  }
}

/* A duration of ms for a human: "2d 3h 5m", "45m 10s", "12s", "500ms", "0s". Seconds are shown
 * below an hour only; days, hours and minutes that are zero are left out. */
static void dur_text(int64_t ms, char *out, size_t cap) {
  int64_t s = ms / 1000, d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
  size_t len = 0;
  out[0] = 0;
  if (ms <= 0) {
    snprintf(out, cap, "0s");
    return;
  }
  if (ms < 1000) {
    snprintf(out, cap, "%" PRId64 "ms", ms);
    return;
  }
  const int64_t parts[] = {d, h, m, s < 3600 ? sec : 0};
  static const char *const units[] = {"d", "h", "m", "s"};
  for (size_t i = 0; i < 4; i++)
    if (parts[i] && len < cap)
      len += (size_t)snprintf(out + len, cap - len, "%s%" PRId64 "%s", len ? " " : "", parts[i], units[i]);
}

/* The plan's target: "flag KEY" or "route PATH, provider P" (the table's cell: "route PATH: P"). */
static void target_text(const json_t *st, int cell, char *out, size_t cap) {
  const json_t *t = json_object_get(st, "target");
  char a[TEXT_MAX], b[128];
  if (json_is_string(json_object_get(t, "flag"))) {
    text_of(json_object_get(t, "flag"), a, sizeof a);
    snprintf(out, cap, "flag %s", a);
  } else if (json_is_string(json_object_get(t, "route"))) {
    text_of(json_object_get(t, "route"), a, sizeof a);
    text_of(json_object_get(t, "provider"), b, sizeof b);
    snprintf(out, cap, cell ? "route %s: %s" : "route %s, provider %s", a, b);
  } else {
    text_of(t, out, cap);
  }
}

/* "2/4" of a STATUS: the current step counted from 1 (0 before the first), of all steps. */
static void step_of(const json_t *st, char *out, size_t cap) {
  const json_t *step = json_object_get(st, "step"), *steps = json_object_get(st, "steps");
  if (!json_is_integer(step) || !json_is_integer(steps)) {
    snprintf(out, cap, "-");
    return;
  }
  json_int_t i = json_integer_value(step);
  snprintf(out, cap, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT, i < 0 ? 0 : i + 1, json_integer_value(steps));
}

/* 1 if the plan is in a phase that moves up its steps (or will, once resumed or approved). */
static int moving(const json_t *st) {
  static const char *const phases[] = {"scheduled", "running", "awaiting_approval", "paused", NULL};
  return sy__one_of(sy__jstr(st, "phase"), phases);
}

/* "2/4 at 25%, next 50%" ("..., the last step" at the last one while the plan moves). */
static void step_text(const json_t *st, char *out, size_t cap) {
  char step[64], pct[32], next[32];
  const json_t *nx = json_object_get(st, "next_percent");
  step_of(st, step, sizeof step);
  pct_text(json_object_get(st, "percent"), pct, sizeof pct);
  pct_text(nx, next, sizeof next);
  if (json_is_number(nx))
    snprintf(out, cap, "%s at %s, next %s", step, pct, next);
  else if (moving(st) &&
           json_integer_value(json_object_get(st, "step")) + 1 == json_integer_value(json_object_get(st, "steps")))
    snprintf(out, cap, "%s at %s, the last step", step, pct);
  else
    snprintf(out, cap, "%s at %s", step, pct);
}

/* The bake at this step: "2d 3h 5m left of 3d", "none" when the step has no bake. */
static void bake_text(const json_t *st, char *out, size_t cap) {
  const json_t *bake = json_object_get(st, "bake_ms"), *left = json_object_get(st, "bake_left_ms");
  char a[64], b[64];
  if (!json_is_number(bake) || json_number_value(bake) <= 0) {
    snprintf(out, cap, "none");
    return;
  }
  dur_text((int64_t)json_number_value(bake), b, sizeof b);
  if (!json_is_number(left) || !moving(st)) {
    char phase[64];
    text_of(json_object_get(st, "phase"), phase, sizeof phase);
    snprintf(out, cap, "%s (not counting: the plan is %s)", b, phase);
    return;
  }
  dur_text((int64_t)json_number_value(left), a, sizeof a);
  snprintf(out, cap, "%s left of %s%s", a, b,
           strcmp(sy__jstr(st, "phase"), "paused") == 0 ? " (paused: the clock is stopped)" : "");
}

/* The gradual rollback of a STATUS ({"gradual", "steps", "next_at"}, at the top or in "state"),
 * or NULL when there is none. Borrowed. */
static const json_t *rollback_of(const json_t *st) {
  const json_t *rb = json_object_get(st, "rollback");
  if (!json_is_object(rb)) rb = json_object_get(json_object_get(st, "state"), "rollback");
  return json_is_object(rb) ? rb : NULL;
}

/* "gradual: next 10% -> 0%, the next at T" for a gradual rollback's remaining steps. */
static void rollback_text(const json_t *rb, char *out, size_t cap) {
  const json_t *steps = json_object_get(rb, "steps");
  char pct[32], at[128];
  size_t len = 0, i;
  json_t *e;
  len += (size_t)snprintf(out, cap, "%s", json_is_true(json_object_get(rb, "gradual")) ? "gradual" : "at once");
  json_array_foreach(steps, i, e) {
    pct_text(e, pct, sizeof pct);
    if (len < cap) len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " -> " : ", next steps ", pct);
  }
  text_of(json_object_get(rb, "next_at"), at, sizeof at);
  if (strcmp(at, "-") != 0 && len < cap) snprintf(out + len, cap - len, ", the next at %s", at);
}

/* Code points of a UTF-8 string, for alignment. */
static size_t width_of(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) w++;
  return w;
}

/* Prints "%-20s" label then text, padded by code points. */
static void line(const char *label, const char *text) { printf("%-20s%s\n", label, text); }

/* The texts of one gate: status, label, value, bound, detail. */
typedef struct gate_text {
  char status[16], gate[256], value[64], bound[64], detail[TEXT_MAX];
} gate_text;

static void gate_texts(const json_t *g, gate_text *t) {
  text_of(json_object_get(g, "status"), t->status, sizeof t->status);
  text_of(json_object_get(g, json_is_string(json_object_get(g, "gate")) ? "gate" : "metric"), t->gate, sizeof t->gate);
  text_of(json_object_get(g, "value"), t->value, sizeof t->value);
  text_of(json_object_get(g, "bound"), t->bound, sizeof t->bound);
  text_of(json_object_get(g, "detail"), t->detail, sizeof t->detail);
  if (strcmp(t->detail, "-") == 0) t->detail[0] = 0;
}

/* Prints the gates one a line, aligned: "  pass     error_rate <= 5%   value 1.2   bound 5   1.2% of 2013 requests". */
static void print_gates(const json_t *gates) {
  size_t i, ws = 0, wg = 0, wv = 0, wb = 0;
  json_t *g;
  gate_text t;
  if (!json_is_array(gates) || json_array_size(gates) == 0) {
    line("gates:", "(none)");
    return;
  }
  json_array_foreach(gates, i, g) {
    gate_texts(g, &t);
    if (width_of(t.status) > ws) ws = width_of(t.status);
    if (width_of(t.gate) > wg) wg = width_of(t.gate);
    if (width_of(t.value) > wv) wv = width_of(t.value);
    if (width_of(t.bound) > wb) wb = width_of(t.bound);
  }
  printf("gates:\n");
  json_array_foreach(gates, i, g) {
    gate_texts(g, &t);
    printf("  %s%*s  %s%*s  value %s%*s  bound %s%*s%s%s\n", t.status, (int)(ws - width_of(t.status)), "", t.gate,
           (int)(wg - width_of(t.gate)), "", t.value, (int)(wv - width_of(t.value)), "", t.bound,
           (int)(wb - width_of(t.bound)), "", *t.detail ? "  " : "", t.detail);
  }
}

/* "error_rate <= 5% at step 2/4 (25%): value 7.1, bound 5: <message>", or "(none)". */
static void breach_text(const json_t *st, char *out, size_t cap) {
  const json_t *b = json_object_get(st, "breach");
  const json_t *step = json_object_get(b, "step");
  char gate[256], value[64], bound[64], pct[32], msg[TEXT_MAX];
  if (!json_is_object(b)) {
    snprintf(out, cap, "(none)");
    return;
  }
  text_of(json_object_get(b, "gate"), gate, sizeof gate);
  text_of(json_object_get(b, "value"), value, sizeof value);
  text_of(json_object_get(b, "bound"), bound, sizeof bound);
  pct_text(json_object_get(b, "percent"), pct, sizeof pct);
  text_of(json_object_get(b, "message"), msg, sizeof msg);
  if (json_is_integer(step))
    snprintf(out, cap, "%s at step %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " (%s): value %s, bound %s: %s",
             gate, json_integer_value(step) + 1, json_integer_value(json_object_get(st, "steps")), pct, value, bound,
             msg);
  else
    snprintf(out, cap, "%s (%s): value %s, bound %s: %s", gate, pct, value, bound, msg);
}

/* Prints a STATUS for a human (docs/ROLLOUTS.md, "STATUS"). */
static sy_rc show_status(const json_t *st, void *ctx) {
  char text[2 * TEXT_MAX], a[64], b[64];
  const json_t *rb = rollback_of(st);
  (void)ctx;
  text_of(json_object_get(st, "name"), text, sizeof text);
  line("name:", text);
  target_text(st, 0, text, sizeof text);
  line("target:", text);
  text_of(json_object_get(st, "phase"), text, sizeof text);
  line("phase:", text);
  step_text(st, text, sizeof text);
  line("step:", text);
  bake_text(st, text, sizeof text);
  line("bake:", text);
  text_of(json_object_get(st, "not_before"), text, sizeof text);
  line("not before:", text);
  if (rb) {
    rollback_text(rb, text, sizeof text);
    line("rollback:", text);
  }
  print_gates(json_object_get(st, "gates"));
  const json_t *base = json_object_get(st, "baseline");
  if (json_is_object(base) && json_object_size(base)) {
    sy__json_cell(base, 200, text, sizeof text);
    line("baseline:", text);
  } else {
    line("baseline:", "(none)");
  }
  breach_text(st, text, sizeof text);
  line("breach:", text);
  text_of(json_object_get(st, "reason"), text, sizeof text);
  line("reason:", text);
  text_of(json_object_get(st, "version"), a, sizeof a);
  text_of(json_object_get(st, "state_version"), b, sizeof b);
  text_of(json_object_get(st, "updated_at"), text, sizeof text);
  printf("%-20splan %s, state %s, updated %s\n", "version:", a, b, text);
  return SY_OK;
}

/* ---- create ---------------------------------------------------------------------------- */

/* Reads the plan of --file (a path, "-": stdin) or --plan (the text) into *out, a JSON object (a
 * new reference). Returns SY__EXIT_OK; a file that cannot be read SY__EXIT_ERR (printed); text
 * that is not a JSON object SY__EXIT_USAGE, with where the JSON goes wrong and the usage printed. */
static int plan_json(const char *file, const char *text, json_t **out) {
  char *owned = NULL;
  size_t len = text ? strlen(text) : 0;
  json_error_t err;
  int ex = SY__EXIT_OK;
  *out = NULL;
  if (file) {
    if (sy__read_bounded(file, SY__MAX_FILE, &owned, &len)) return SY__EXIT_ERR;
    text = owned;
  }
  *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  if (!*out) {
    if (file)
      ex = sy__misuse(create_usage, "create: --file %s is not valid JSON: %s (line %d, column %d)",
                      strcmp(file, "-") == 0 ? "(stdin)" : file, err.text, err.line, err.column);
    else
      ex = sy__misuse(create_usage, "create: --plan is not valid JSON: %s (line %d, column %d)", err.text, err.line,
                      err.column);
  } else if (!json_is_object(*out)) {
    ex = sy__misuse(create_usage, "create: the plan in %s must be a JSON object", file ? "--file" : "--plan");
    json_decref(*out);
    *out = NULL;
  }
  free(owned);
  return ex;
}

/* "created rollout plan NAME", then its status. */
static sy_rc show_created(const json_t *st, void *ctx) {
  char name[128];
  text_of(json_object_get(st, "name"), name, sizeof name);
  printf("created rollout plan %s\n\n", strcmp(name, "-") ? name : (const char *)ctx);
  return show_status(st, ctx);
}

static int plan_create(sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *file = NULL, *text = NULL;
  const sy__opt opts[] = {
      {"--file", NULL, SY__OPT_VALUE, &file},
      {"--plan", NULL, SY__OPT_VALUE, &text},
      {0},
  };
  json_t *plan = NULL, *body = NULL;
  sy__url u;
  int ex;

  sy__parse p = sy__args(cli, argc, argv, create_usage, opts, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  if (file && text) return sy__misuse(create_usage, "create: give the plan once: --file PLAN.json or --plan JSON");
  if (!file && !text)
    return sy__misuse(create_usage, "create: the plan is missing: give --file PLAN.json or --plan JSON");
  if (file && !*file) return sy__misuse(create_usage, "create: --file needs a path ('-' reads stdin)");
  if ((ex = plan_url(&u, create_usage, "create", pos[0], NULL))) return ex;
  if ((ex = plan_json(file, text, &plan))) return ex;
  body = json_pack("{s:s,s:o}", "name", pos[0], "plan", plan);
  if (!body) {
    sy__err("out of memory");
    return SY__EXIT_ERR;
  }
  sy__url_init(&u, "/api/v1/rollouts");
  ex = sy__exit_of(sy__call(cli, "POST", &u, body, show_created, (void *)pos[0]));
  json_decref(body);
  return ex;
}

/* ---- ls -------------------------------------------------------------------------------- */

static sy_rc plan_row(sy__table *t, const json_t *st) {
  char name[128], target[TEXT_MAX], phase[64], step[64], pct[32], next[32], left[64], reason[SY__REASON_CELL_BYTES];
  const json_t *bl = json_object_get(st, "bake_left_ms");
  text_of(json_object_get(st, "name"), name, sizeof name);
  target_text(st, 1, target, sizeof target);
  text_of(json_object_get(st, "phase"), phase, sizeof phase);
  step_of(st, step, sizeof step);
  pct_text(json_object_get(st, "percent"), pct, sizeof pct);
  pct_text(json_object_get(st, "next_percent"), next, sizeof next);
  if (json_is_number(bl))
    dur_text((int64_t)json_number_value(bl), left, sizeof left);
  else
    snprintf(left, sizeof left, "-");
  sy__reason_cell(st, reason, sizeof reason);
  const char *row[] = {name, target, phase, step, pct, next, left, reason};
  return sy__table_row(t, row);
}

static sy_rc show_plans(const json_t *answer, void *ctx) {
  static const char *const head[] = {"NAME", "TARGET", "PHASE", "STEP", "PERCENT", "NEXT", "BAKE LEFT", "REASON"};
  const json_t *all = json_object_get(answer, "rollouts");
  sy_rc rc;
  (void)ctx;
  if (!json_is_array(all)) {
    sy__err("the server's answer has no \"rollouts\" array");
    return SY_EINTERNAL;
  }
  rc = sy__table_print_rows(8, head, all, plan_row, stdout);
  if (rc && rc != SY_ENOMEM) sy__err("cannot write to stdout");
  return rc;
}

static int plan_ls(sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__url u;
  sy__parse p = sy__args(cli, argc, argv, ls_usage, NULL, pos, &npos, 0, 0);
  if (p) return sy__parse_exit(p);
  sy__url_init(&u, "/api/v1/rollouts");
  return sy__exit_of(sy__call(cli, "GET", &u, NULL, show_plans, NULL));
}

/* ---- status and delete ----------------------------------------------------------------- */

static int plan_status(sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__url u;
  int ex;
  sy__parse p = sy__args(cli, argc, argv, status_usage, NULL, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  if ((ex = plan_url(&u, status_usage, "status", pos[0], NULL))) return ex;
  return sy__exit_of(sy__call(cli, "GET", &u, NULL, show_status, NULL));
}

static int plan_delete(sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__resp r = {0};
  sy__url u;
  sy_rc rc;
  int ex;
  sy__parse p = sy__args(cli, argc, argv, delete_usage, NULL, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  if ((ex = plan_url(&u, delete_usage, "delete", pos[0], NULL))) return ex;
  rc = sy__url_done(&u);
  /* the answer may be empty (204) or a JSON object: both are a deletion */
  if (!rc) rc = sy__http_raw(cli, "DELETE", u.buf, NULL, 0, &r);
  if (!rc && cli->json) {
    if (json_is_object(r.json))
      rc = sy__print_json(r.json);
    else
      printf("{\n  \"deleted\": \"%s\"\n}\n", pos[0]); /* the name's characters need no escaping */
  } else if (!rc) {
    printf("deleted rollout plan %s\n", pos[0]);
  }
  sy__resp_free(&r);
  return sy__exit_of(rc);
}

/* ---- transitions: promote, pause, resume, abort, start, rollback ----------------------- */

/* What was asked, for the headline of the answer. */
typedef struct moved {
  const char *name, *done; /* the plan as given; "promoted", "paused", ... */
} moved;

/* "promoted NAME: running, step 2/4 at 25%, next 50%", the rollback's steps, the reason. */
static sy_rc show_moved(const json_t *st, void *ctx) {
  const moved *m = ctx;
  const json_t *rb = rollback_of(st);
  char step[256], phase[64], text[2 * TEXT_MAX];
  if (!json_is_string(json_object_get(st, "phase"))) {
    printf("%s %s\n", m->done, m->name);
    return SY_OK;
  }
  text_of(json_object_get(st, "phase"), phase, sizeof phase);
  step_text(st, step, sizeof step);
  printf("%s %s: %s, step %s\n", m->done, m->name, phase, step);
  if (rb && strcmp(phase, "rolling_back") == 0) {
    rollback_text(rb, text, sizeof text);
    line("rollback:", text);
  }
  if (json_is_string(json_object_get(st, "reason"))) {
    text_of(json_object_get(st, "reason"), text, sizeof text);
    line("reason:", text);
  }
  return SY_OK;
}

/* POST /api/v1/rollouts/NAME/<verb> {"reason", and "gradual" when gradual >= 0}. */
static int plan_move(sy__cli *cli, const char *usage, const char *verb, const char *done, const char *name,
                     const char *reason, int gradual) {
  char suffix[32];
  json_t *body = json_object();
  sy__url u;
  int ex;
  snprintf(suffix, sizeof suffix, "/%s", verb);
  if ((ex = plan_url(&u, usage, verb, name, suffix))) goto out;
  if (!body) goto nomem;
  if (reason) {
    json_t *r = json_string(reason);
    if (!r) {
      ex = sy__misuse(usage, "%s: --reason must be UTF-8 text", verb);
      goto out;
    }
    if (json_object_set_new(body, "reason", r)) goto nomem;
  }
  if (gradual >= 0 && json_object_set_new(body, "gradual", json_boolean(gradual))) goto nomem;
  moved m = {name, done};
  ex = sy__exit_of(sy__call(cli, "POST", &u, body, show_moved, &m));
  goto out;
nomem:
  sy__err("out of memory");
  ex = SY__EXIT_ERR;
out:
  json_decref(body);
  return ex;
}

/* One transition subcommand: its verb (the URL's last segment), usage and headline. */
typedef struct move_cmd {
  const char *verb, *usage, *done;
} move_cmd;

static const move_cmd move_cmds[] = {
    {"promote", promote_usage, "promoted"}, {"pause", pause_usage, "paused"},  {"resume", resume_usage, "resumed"},
    {"abort", abort_usage, "aborted"},      {"start", start_usage, "started"},
};

static int plan_transition(sy__cli *cli, int argc, char **argv, const move_cmd *c) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *reason = NULL;
  const sy__opt opts[] = {{"--reason", NULL, SY__OPT_VALUE, &reason}, {0}};
  sy__parse p = sy__args(cli, argc, argv, c->usage, opts, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  return plan_move(cli, c->usage, c->verb, c->done, pos[0], reason, -1);
}

static int plan_promote(sy__cli *cli, int argc, char **argv) { return plan_transition(cli, argc, argv, &move_cmds[0]); }
static int plan_pause(sy__cli *cli, int argc, char **argv) { return plan_transition(cli, argc, argv, &move_cmds[1]); }
static int plan_resume(sy__cli *cli, int argc, char **argv) { return plan_transition(cli, argc, argv, &move_cmds[2]); }
static int plan_abort(sy__cli *cli, int argc, char **argv) { return plan_transition(cli, argc, argv, &move_cmds[3]); }
static int plan_start(sy__cli *cli, int argc, char **argv) { return plan_transition(cli, argc, argv, &move_cmds[4]); }

static const sy__cmd plan_cmds[] = {
    {"create", "create a plan", plan_create},   {"ls", "list plans", plan_ls},
    {"status", "a plan's status", plan_status}, {"promote", "to the next step now", plan_promote},
    {"pause", "stop the clock", plan_pause},    {"resume", "restart the clock", plan_resume},
    {"abort", "target to 0, end", plan_abort},  {"start", "start again", plan_start},
    {"delete", "delete a plan", plan_delete},   {0},
};

/* `switchyard rollout PLAN --rollback [--gradual] [--reason R]`; argv[0] is "rollout". The flag
 * forms' options are known here only to refuse them. */
static int plan_rollback(sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *reason = NULL, *pct = NULL, *pname = NULL;
  int rollback = 0, gradual = 0, enable = 0, disable = 0, status = 0;
  const sy__opt opts[] = {
      {"--rollback", NULL, SY__OPT_FLAG, &rollback},
      {"--gradual", NULL, SY__OPT_FLAG, &gradual},
      {"--reason", NULL, SY__OPT_VALUE, &reason},
      {"--percentage", NULL, SY__OPT_VALUE, &pct},
      {"--enable", NULL, SY__OPT_FLAG, &enable},
      {"--disable", NULL, SY__OPT_FLAG, &disable},
      {"--status", NULL, SY__OPT_FLAG, &status},
      {"--parameter-name", NULL, SY__OPT_VALUE, &pname},
      {0},
  };
  sy__parse p = sy__args(cli, argc, argv, rollback_usage, opts, pos, &npos, 0, 1);
  if (p) return sy__parse_exit(p);
  if (pct || enable || disable || status || pname)
    return sy__misuse(rollback_usage,
                      "rollout: --rollback rolls a plan back; it takes no --percentage, --enable, --disable, --status "
                      "or --parameter-name (those are a flag's: switchyard rollout FLAG --percentage N)");
  if (!npos)
    return sy__misuse(rollback_usage, "rollout: --rollback needs the plan: switchyard rollout PLAN --rollback");
  return plan_move(cli, rollback_usage, "rollback", gradual ? "rolling back" : "rolled back", pos[0], reason, gradual);
}

/* ---- which `switchyard rollout` this is ------------------------------------------------ */

int sy__rollout_plans(sy__cli *cli, int argc, char **argv, int *ex) {
  /* the options of both forms that take a value, so that a value is never read as an operand */
  static const char *const valued[] = {"--server", "--reason", "--percentage", "--parameter-name", NULL};
  int first = 0, rollback = 0, gradual = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) break; /* what follows is a flag's key: `rollout -- plan` is the flag "plan" */
    if (a[0] != '-' || !a[1]) {
      if (!first) first = i;
      continue;
    }
    if (sy__one_of(a, valued)) {
      i++;
      continue;
    }
    if (strcmp(a, "--rollback") == 0 || strncmp(a, "--rollback=", 11) == 0) rollback = 1;
    if (strcmp(a, "--gradual") == 0 || strncmp(a, "--gradual=", 10) == 0) gradual = 1;
  }
  if (first && strcmp(argv[first], "plan") == 0) {
    /* "plan" leads; the options written before it (--json, --server URL) go after the subcommand's */
    char **nargv = calloc((size_t)argc, sizeof *nargv);
    int n = 0;
    if (!nargv) {
      sy__err("out of memory");
      *ex = SY__EXIT_ERR;
      return 1;
    }
    for (int i = first; i < argc; i++) nargv[n++] = argv[i];
    for (int i = 1; i < first; i++) nargv[n++] = argv[i];
    *ex = sy__dispatch(cli, "rollout plan", plan_usage, plan_cmds, n, nargv);
    free(nargv);
    return 1;
  }
  if (rollback) {
    *ex = plan_rollback(cli, argc, argv);
    return 1;
  }
  if (gradual) {
    *ex = sy__misuse(rollback_usage,
                     "rollout: --gradual goes with --rollback: switchyard rollout PLAN --rollback --gradual");
    return 1;
  }
  return 0;
}

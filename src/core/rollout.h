/* rollout.h — rollout plans (pure): the plan document (kind Rollout), its state (kind
 * RolloutState), the gates' judgement over counts, and the state machine that decides what
 * the controller or a person's command does next. No I/O, no clock of its own: every call
 * is given the time. docs/ROLLOUTS.md is the reference for the documents. */
#ifndef SY_CORE_ROLLOUT_H
#define SY_CORE_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/metric.h"
#include "core/rc.h"

#define SY_ROLLOUT_DOC_MAX 65536
#define SY_ROLLOUTS_PREFIX "/switchyard/rollouts/"
#define SY_ROLLOUT_STATE_PREFIX "/switchyard/rollout-state/"
#define SY_ROLLOUT_NAME_MAX 64
#define SY_ROLLOUT_STEPS_MAX 20
#define SY_ROLLOUT_GATES_MAX 32 /* per step, the plan's own gates included */
#define SY_ROLLOUT_QUERY_MAX 4096
#define SY_ROLLOUT_LABEL_MAX 128
#define SY_ROLLOUT_REASON_MAX 600
#define SY_ROLLOUT_MIN_SAMPLES 10

typedef enum sy_gate_kind {
  SY_GATE_METRIC = 1,      /* a metric of the step's window against min / max / baseline ratio */
  SY_GATE_ALERTS,          /* no active alert of a severity (or worse) */
  SY_GATE_PROVIDER_STATUS, /* the target provider neither offline nor degraded */
  SY_GATE_PROMETHEUS,      /* an instant query's value against min / max */
} sy_gate_kind;

typedef enum sy_gate_source { SY_GSRC_DEFAULT = 0, SY_GSRC_GATEWAY, SY_GSRC_PUSHED } sy_gate_source;

typedef struct sy_gate {
  sy_gate_kind kind;
  sy_metric metric; /* SY_GATE_METRIC */
  int has_min, has_max, has_ratio;
  double min, max, ratio;
  int severity;  /* SY_GATE_ALERTS: 0 critical, 1 warning, 2 info (and worse counts) */
  int scope_any; /* SY_GATE_ALERTS: any alert, not only those concerning the target */
  sy_gate_source source;
  char variant[65];                 /* pushed: "" the flag's rollout variant */
  char *query;                      /* SY_GATE_PROMETHEUS, owned */
  char *url;                        /* SY_GATE_PROMETHEUS, owned; NULL: the parameter's */
  int64_t min_samples;              /* -1: the plan's */
  char label[SY_ROLLOUT_LABEL_MAX]; /* "error_rate <= 5%", "requests >= 500", ... */
} sy_gate;

typedef struct sy_rollout_step {
  int32_t cents; /* percent * 100 */
  int64_t bake_ms;
  int64_t not_before_ms; /* the earliest time the step may be entered; 0: none */
  int approval;
  const sy_gate *gates[SY_ROLLOUT_GATES_MAX]; /* the plan's gates, then the step's own */
  int ngates;
} sy_rollout_step;

typedef enum sy_breach_action { SY_BREACH_ROLLBACK = 1, SY_BREACH_PREVIOUS, SY_BREACH_PAUSE } sy_breach_action;

typedef struct sy_rollout {
  char name[SY_ROLLOUT_NAME_MAX + 1];
  int is_flag; /* target: a flag's rollout_percentage (else a route's share for provider) */
  char *flag;  /* its key, no leading '/' */
  char *route; /* the route's document name, with its leading '/' */
  char provider[65];
  char *target_id; /* "flag:KEY" or "route:PATH:PROVIDER": one plan per target */
  sy_rollout_step steps[SY_ROLLOUT_STEPS_MAX];
  int nsteps;
  sy_gate *gates; /* every gate of the plan (the plan's and the steps'), owned */
  int ngates;
  sy_breach_action on_breach;
  int64_t start_at_ms;                        /* 0: at once */
  int32_t rb_cents[SY_ROLLOUT_STEPS_MAX + 1]; /* the gradual rollback's steps; nrb 0: derived */
  int nrb;
  int64_t rb_wait_ms;
  int64_t min_samples;
} sy_rollout;

/* Compiles the plan at key ("switchyard/rollouts/NAME"). Every refusal names the field
 * ("steps[2].percent must be above steps[1].percent (50)", "gates[0].metric: unknown metric
 * \"latency\"; one of ..."). */
sy_rc sy__rollout_compile(const char *key, const char *value, size_t len, sy_rollout **out, char *msg, size_t msgsz);
void sy__rollout_free(sy_rollout *p);
sy_rc sy__rollout_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                               char *msg, size_t msgsz);
void sy__rollout_kind_release(void *obj);
/* The plan's name from a document name under SY_ROLLOUTS_PREFIX or SY_ROLLOUT_STATE_PREFIX
 * (with or without the leading '/'): 0, or -1 when name is not one. */
int sy__rollout_name_of(const char *docname, char out[SY_ROLLOUT_NAME_MAX + 1]);
/* "a-b_c.1": 1..64 of [A-Za-z0-9_.-]. */
int sy__rollout_name_ok(const char *name);
/* A duration: "500ms", "90s", "5m", "1h", "3d", "1w", or a JSON number of seconds; 0 to 366
 * days. 0 with *ms, or -1. */
int sy__duration_parse(const json_t *v, int64_t *ms);

/* ---- state ---- */

typedef enum sy_phase {
  SY_PHASE_NONE = 0, /* no state yet: the plan has not started */
  SY_PHASE_SCHEDULED,
  SY_PHASE_RUNNING,
  SY_PHASE_AWAITING_APPROVAL,
  SY_PHASE_PAUSED,
  SY_PHASE_ROLLING_BACK,
  SY_PHASE_ROLLED_BACK,
  SY_PHASE_COMPLETED,
  SY_PHASE_ABORTED,
} sy_phase;
const char *sy__phase_name(sy_phase p);
/* The phases in which the controller still moves the plan (or may, once resumed). */
int sy__phase_active(sy_phase p);

typedef struct sy_breach {
  int set;
  char gate[SY_ROLLOUT_LABEL_MAX];
  int has_value;
  double value, bound;
  int step;
  int32_t cents;
  char message[320];
} sy_breach;

typedef struct sy_rollout_state {
  int64_t plan_version;
  sy_phase phase;
  sy_phase paused_from; /* SY_PHASE_PAUSED: what resume goes back to */
  int step;             /* the current step's index; -1 before the first */
  int32_t cents;        /* what the target was set to, percent * 100 */
  int64_t started_ms, step_started_ms, paused_at_ms, paused_ms, updated_ms;
  double baseline_p95_ms; /* < 0: none captured */
  int gradual;            /* SY_PHASE_ROLLING_BACK */
  int32_t rb_cents[SY_ROLLOUT_STEPS_MAX + 1];
  int nrb;
  int64_t rb_next_ms;
  sy_breach breach;
  char reason[SY_ROLLOUT_REASON_MAX];
  int64_t transitions;
} sy_rollout_state;

/* Parses a state document; refusals name the field. */
sy_rc sy__rollout_state_parse(const char *value, size_t len, sy_rollout_state *out, char *msg, size_t msgsz);
/* The state as its document's JSON text (malloc'd), NULL on ENOMEM. */
char *sy__rollout_state_json(const sy_rollout_state *s);
/* The same as a JSON object (a new reference; NULL on ENOMEM). */
json_t *sy__rollout_state_obj(const sy_rollout_state *s);
/* A percent in hundredths as documents write it (10, or 12.5), and a time as RFC 3339 (0: null). */
json_t *sy__cents_json(int32_t cents);
json_t *sy__time_json(int64_t ms);
sy_rc sy__rollout_state_kind_compile(const char *key, const char *value, size_t len, const char *schema, void **obj,
                                     char *msg, size_t msgsz);
void sy__rollout_state_kind_release(void *obj);
/* The bake time at the current step that has passed at now (pauses excluded). */
int64_t sy__rollout_baked_ms(const sy_rollout_state *s, int64_t now_ms);

/* ---- gates ---- */

typedef enum sy_gate_status { SY_GATE_PASS = 1, SY_GATE_WAIT, SY_GATE_BREACH, SY_GATE_UNKNOWN } sy_gate_status;
const char *sy__gate_status_name(sy_gate_status s);

typedef struct sy_gate_result {
  const sy_gate *gate;
  sy_gate_status status;
  int has_value;
  double value, bound;
  int64_t samples;
  char detail[200]; /* "7.4% of 120 requests > 5%", "Prometheus at ... did not answer: ..." */
} sy_gate_result;

/* Judges a SY_GATE_METRIC gate over the step's counts of the canary; baseline_step is the
 * baseline's counts in the same window (NULL: none) and baseline_p95_ms the p95 captured
 * when the plan started (< 0: none), both for a max_baseline_ratio. */
void sy__gate_judge(const sy_gate *g, const sy_counts *step, const sy_counts *baseline_step, double baseline_p95_ms,
                    int64_t plan_min_samples, sy_gate_result *out);
/* Judges a gate whose value comes from elsewhere (Prometheus): known 0 with value, or -1
 * with why (the gate is then UNKNOWN). */
void sy__gate_judge_value(const sy_gate *g, int known, double value, const char *why, sy_gate_result *out);

/* ---- the state machine ---- */

typedef struct sy_rollout_input {
  int64_t now_ms;
  int64_t plan_version;
  const sy_gate_result *results; /* the current step's gates, in order (may be NULL with 0) */
  int nresults;
  int critical_alert; /* a critical alert concerns the target */
  const char *critical_what;
  double baseline_p95_ms; /* at a start: the baseline's p95 now (< 0 none) */
} sy_rollout_input;

typedef enum sy_move {
  SY_MOVE_NONE = 0,
  SY_MOVE_SCHEDULE,      /* no state, start_at ahead */
  SY_MOVE_START,         /* to the first step */
  SY_MOVE_PROMOTE,       /* to the next step */
  SY_MOVE_AWAIT,         /* gates and bake passed; waiting for a person */
  SY_MOVE_COMPLETE,      /* the last step's bake passed */
  SY_MOVE_BREACH,        /* a gate breached: rollback / previous / pause as the plan says */
  SY_MOVE_PAUSE,         /* a gate is unknown */
  SY_MOVE_ROLLBACK_STEP, /* a gradual rollback's next step */
  SY_MOVE_ROLLED_BACK,   /* a gradual rollback reached 0 */
} sy_move;

/* What the controller does now with plan in state cur (phase NONE when it has none). On a
 * move, *next is the new state (target percent in next->cents) with its reason; NONE
 * leaves *next untouched. */
sy_move sy__rollout_decide(const sy_rollout *plan, const sy_rollout_state *cur, const sy_rollout_input *in,
                           sy_rollout_state *next);

/* A person's command: "start", "promote", "pause", "resume", "abort", "rollback" (gradual
 * or not). SY_ECONFLICT when it does not apply to the phase (msg says why), SY_EINVAL for
 * an unknown command. */
sy_rc sy__rollout_command(const sy_rollout *plan, const sy_rollout_state *cur, const char *cmd, int gradual,
                          int64_t now_ms, const char *reason, sy_rollout_state *next, char *msg, size_t msgsz);

/* ---- the target ---- */

/* The target document's new value (malloc'd JSON text) with the plan's share set to cents:
 * a flag's rollout_percentage, or the route's split entry of the plan's provider (added
 * where missing, removed at 0). NULL with msg when value is not a document it can edit. */
char *sy__rollout_target_value(const sy_rollout *p, const char *value, size_t len, int32_t cents, char *msg,
                               size_t msgsz);
/* The share the target document gives now (percent * 100), or -1 when it cannot say. */
int32_t sy__rollout_target_cents(const sy_rollout *p, const char *value, size_t len);

#endif

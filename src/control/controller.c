/* controller.c — the rollout controller: reads plans and states from a pinned snapshot,
 * judges each plan's gates on the metric sources, and writes each transition (state and
 * target in one SY_OP_PUTS) through the store. Counts since a step began are the sources'
 * cumulative counts minus a mark taken when the controller first saw the step. */
#include "control/controller.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/promq.h"
#include "control/pushed.h"
#include "core/flag.h"
#include "core/provider.h"
#include "gateway/gateway.h"

#define WAIT_SLICE_MS 250 /* the longest real wait at once, so that a moved clock is noticed */
#define BUSY_WAIT_MS 5000 /* a command waits this long for the plan's transition in flight */
#define DEGRADED_PCT 5    /* as the alerts say: a 5-minute error rate from which a provider is degraded */

/* What the controller remembers of a plan between evaluations (in memory only). */
typedef struct mark {
  char name[SY_ROLLOUT_NAME_MAX + 1];
  int64_t stamp; /* step_started_ms of the step the marks belong to; 0 none */
  int32_t step_cents;
  sy_counts canary, baseline; /* the sources' cumulative counts when the step was first seen */
  int busy;                   /* a transition is in flight */
  char failed[SY_MSG_MAX];    /* the last transition the store refused (not a conflict) */
  int64_t seen_gen;
} mark;

struct sy_controller {
  const sy_sources *src;
  int64_t period_ms;
  pthread_mutex_t mu; /* one evaluation or command at a time; the marks */
  pthread_cond_t idle_cv;
  mark *marks; /* open addressing by name, cap a power of two */
  size_t cap, n;
  int64_t gen;
  pthread_mutex_t wmu; /* stop */
  pthread_cond_t wcv;
  int stopping, started;
  int poked; /* evaluate now, not at the end of the period */
  pthread_t thr;
  int64_t evaluations, transitions, plans; /* atomic */
};

/* ---- marks ---- */

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static mark *mark_slot(mark *t, size_t cap, const char *name) {
  size_t i = hash(name) & (cap - 1);
  while (t[i].name[0] && strcmp(t[i].name, name)) i = (i + 1) & (cap - 1);
  return &t[i];
}

/* The mark of plan name, made if new (with mu held); NULL on ENOMEM. */
static mark *mark_get(sy_controller *c, const char *name) {
  if ((c->n + 1) * 2 > c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    mark *t = calloc(cap, sizeof *t);
    if (!t) return NULL;
    for (size_t i = 0; i < c->cap; i++)
      if (c->marks[i].name[0]) *mark_slot(t, cap, c->marks[i].name) = c->marks[i];
    free(c->marks);
    c->marks = t;
    c->cap = cap;
  }
  mark *m = mark_slot(c->marks, c->cap, name);
  if (!m->name[0]) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    c->n++;
  }
  return m;
}

static mark *mark_find(sy_controller *c, const char *name) {
  if (!c->cap) return NULL;
  mark *m = mark_slot(c->marks, c->cap, name);
  return m->name[0] ? m : NULL;
}

/* Drops the marks of plans not seen by the evaluation of generation gen (rebuilds the table:
 * open addressing has no cheap delete). */
static void marks_prune(sy_controller *c, int64_t gen) {
  if (!c->cap) return;
  size_t keep = 0;
  for (size_t i = 0; i < c->cap; i++)
    if (c->marks[i].name[0] && (c->marks[i].seen_gen == gen || c->marks[i].busy)) keep++;
  if (keep == c->n) return;
  mark *t = calloc(c->cap, sizeof *t);
  if (!t) return;
  for (size_t i = 0; i < c->cap; i++)
    if (c->marks[i].name[0] && (c->marks[i].seen_gen == gen || c->marks[i].busy))
      *mark_slot(t, c->cap, c->marks[i].name) = c->marks[i];
  free(c->marks);
  c->marks = t;
  c->n = keep;
}

/* ---- reading the sources ---- */

/* A plan with what it reads, found in one snapshot. */
typedef struct view {
  const sy_rollout *plan;
  int64_t plan_version;
  const sy_rollout_state *state; /* NULL: none */
  int64_t state_version;         /* 0: none */
  const sy_ver *target;          /* the target's document, NULL when missing */
  char target_name[SY_NAME_MAX + 2];
  char canary[SY_PROVIDER_NAME_MAX + 66]; /* a provider, or a flag's rollout variant */
  char baseline[SY_PROVIDER_NAME_MAX + 66];
} view;

static const sy_ver *latest_of(const sy_snap *s, const char *name, sy_kind kind) {
  const sy_param *p = sy__snap_get(s, name, strlen(name));
  const sy_ver *v = p ? p->latest : NULL;
  return v && v->kind == kind && v->compiled ? v : NULL;
}

/* Fills what the plan reads from the snapshot: its state, its target, who is the canary
 * and who the baseline. */
static void view_fill(const sy_snap *s, const sy_ver *pv, view *w) {
  memset(w, 0, sizeof *w);
  w->plan = pv->compiled->obj;
  w->plan_version = pv->version;
  char name[SY_NAME_MAX + 2];
  snprintf(name, sizeof name, "%s%s", SY_ROLLOUT_STATE_PREFIX, w->plan->name);
  const sy_ver *sv = latest_of(s, name, SY_KIND_ROLLOUT_STATE);
  if (sv) {
    w->state = sv->compiled->obj;
    w->state_version = sv->version;
  }
  const sy_rollout *p = w->plan;
  if (p->is_flag) {
    snprintf(w->target_name, sizeof w->target_name, "/%s", p->flag);
    const sy_ver *fv = latest_of(s, w->target_name, SY_KIND_FLAG);
    w->target = fv;
    const sy_flag *f = fv ? fv->compiled->obj : NULL;
    snprintf(w->canary, sizeof w->canary, "%s", sy__flag_rollout_variant(f));
    snprintf(w->baseline, sizeof w->baseline, "%s", sy__flag_default_variant(f));
    return;
  }
  snprintf(w->target_name, sizeof w->target_name, "%s", p->route);
  const sy_ver *rv = latest_of(s, p->route, SY_KIND_ROUTE);
  w->target = rv;
  snprintf(w->canary, sizeof w->canary, "%s", p->provider);
  const sy_route *r = rv ? rv->compiled->obj : NULL;
  if (!r) return;
  /* the baseline: another split entry, the route's provider, or what its strategy names */
  for (int i = 0; i < r->nsplit && !w->baseline[0]; i++)
    if (strcmp(r->split[i].provider, p->provider))
      snprintf(w->baseline, sizeof w->baseline, "%s", r->split[i].provider);
  if (!w->baseline[0] && r->strategy) {
    const sy_param *sp = sy__snap_get(s, r->strategy, strlen(r->strategy));
    const sy_ver *v = sp ? sp->latest : NULL;
    if (v && v->kind == SY_KIND_STRING && v->value_len <= SY_PROVIDER_NAME_MAX)
      snprintf(w->baseline, sizeof w->baseline, "%.*s", (int)v->value_len, v->value);
  }
  if (!w->baseline[0] && r->provider[0] && strcmp(r->provider, p->provider))
    snprintf(w->baseline, sizeof w->baseline, "%s", r->provider);
}

/* The cumulative counts of who (a provider, or a flag's variant), or over [from, to). */
static void counts_of(const sy_controller *c, const view *w, const char *who, int64_t from, int64_t to,
                      sy_counts *out) {
  memset(out, 0, sizeof *out);
  if (!who[0]) return;
  if (w->plan->is_flag) {
    if (c->src->pushed) sy__pushed_range(c->src->pushed, w->plan->flag, who, from, to, out);
  } else if (c->src->gw) {
    sy__gateway_provider_counts(c->src->gw, who, from, to, out);
  }
}

/* The baseline's p95 over the last hour, or -1. */
static double baseline_p95(const sy_controller *c, const view *w, int64_t now) {
  sy_counts b;
  double v;
  counts_of(c, w, w->baseline, now - 3600000, now + 1, &b);
  return sy__metric_value(&b, SY_METRIC_P95_MS, &v) == 0 ? v : -1;
}

/* Offline or degraded, as the provider alerts judge it: 1 with why, else 0. */
static int provider_down(const sy_controller *c, const char *name, char *why, size_t cap) {
  sy_gw_pinfo in;
  if (!c->src->gw) return 0;
  sy__gateway_provider_info(c->src->gw, name, &in);
  if (!in.known) return 0;
  int64_t req = in.m5.requests, err = in.m5.errors;
  if (in.breaker == SY_BREAKER_OPEN || (err > 0 && err >= req)) {
    snprintf(why, cap, "provider %s is offline (breaker %s, %lld of %lld calls failed in 5 minutes)", name,
             in.breaker == SY_BREAKER_OPEN ? "open" : "closed", (long long)err, (long long)req);
    return 1;
  }
  if (in.breaker == SY_BREAKER_HALF_OPEN || (req >= 1 && err * 100 >= req * DEGRADED_PCT)) {
    snprintf(why, cap, "provider %s is degraded (breaker %s, %lld of %lld calls failed in 5 minutes)", name,
             in.breaker == SY_BREAKER_HALF_OPEN ? "half-open" : "closed", (long long)err, (long long)req);
    return 1;
  }
  return 0;
}

/* The Prometheus URL a gate uses: its own, or the parameter's. */
static const char *prom_url(const sy_snap *s, const sy_gate *g, char *buf, size_t cap) {
  if (g->url) return g->url;
  const sy_param *p = sy__snap_get(s, SY_PROMETHEUS_URL_PARAM, sizeof SY_PROMETHEUS_URL_PARAM - 1);
  const sy_ver *v = p ? p->latest : NULL;
  if (!v || v->kind != SY_KIND_STRING || v->value_len >= cap) return NULL;
  memcpy(buf, v->value, v->value_len);
  buf[v->value_len] = 0;
  return buf;
}

/* Judges the gates of the plan's current step into res (SY_ROLLOUT_GATES_MAX) and fills in
 * (the critical alert on the target). m holds the step's marks (taken now when new). */
static int judge(sy_controller *c, const sy_snap *s, const view *w, mark *m, int64_t now, sy_gate_result *res,
                 sy_rollout_input *in, char *critical, size_t ccap) {
  const sy_rollout *p = w->plan;
  const sy_rollout_state *st = w->state;
  memset(in, 0, sizeof *in);
  in->now_ms = now;
  in->plan_version = w->plan_version;
  in->baseline_p95_ms = -1;
  critical[0] = 0;
  if (c->src->alerts_count && c->src->alerts_count(c->src->alerts_ctx, 0, p->is_flag ? NULL : p->provider,
                                                   p->is_flag ? p->flag : NULL, critical, ccap) > 0) {
    in->critical_alert = 1;
    in->critical_what = critical;
  }
  if (!st || !(st->phase == SY_PHASE_RUNNING || st->phase == SY_PHASE_AWAITING_APPROVAL ||
               st->phase == SY_PHASE_ROLLING_BACK || st->phase == SY_PHASE_PAUSED)) {
    if (!st || st->phase == SY_PHASE_SCHEDULED) in->baseline_p95_ms = baseline_p95(c, w, now);
    return 0;
  }
  int step = st->step < 0 ? 0 : st->step >= p->nsteps ? p->nsteps - 1 : st->step;
  const sy_rollout_step *sp = &p->steps[step];
  sy_counts canary, base;
  counts_of(c, w, w->canary, 0, 0, &canary);
  counts_of(c, w, w->baseline, 0, 0, &base);
  if (m && (m->stamp != st->step_started_ms || m->step_cents != st->cents)) {
    m->stamp = st->step_started_ms;
    m->step_cents = st->cents;
    m->canary = canary;
    m->baseline = base;
  }
  if (m) {
    sy__counts_sub(&canary, &m->canary);
    sy__counts_sub(&base, &m->baseline);
  }
  char urlbuf[SY_PROMQ_URL_MAX + 1], why[256];
  for (int i = 0; i < sp->ngates; i++) {
    const sy_gate *g = sp->gates[i];
    sy_gate_result *r = &res[i];
    switch (g->kind) {
    case SY_GATE_METRIC: sy__gate_judge(g, &canary, &base, st->baseline_p95_ms, p->min_samples, r); break;
    case SY_GATE_ALERTS: {
      int n = c->src->alerts_count ? c->src->alerts_count(c->src->alerts_ctx, g->severity,
                                                          g->scope_any || p->is_flag ? NULL : p->provider,
                                                          g->scope_any || !p->is_flag ? NULL : p->flag, why, sizeof why)
                                   : 0;
      sy__gate_judge_value(g, 1, 0, NULL, r);
      r->status = n > 0 ? SY_GATE_BREACH : SY_GATE_PASS;
      r->has_value = 1;
      r->value = n;
      r->bound = 0;
      if (n > 0)
        snprintf(r->detail, sizeof r->detail, "%d active alert%s: %.160s", n, n == 1 ? "" : "s", why);
      else
        snprintf(r->detail, sizeof r->detail, "no active alert");
      break;
    }
    case SY_GATE_PROVIDER_STATUS: {
      int down = provider_down(c, p->provider, why, sizeof why);
      sy__gate_judge_value(g, 1, 0, NULL, r);
      r->status = down ? SY_GATE_BREACH : SY_GATE_PASS;
      r->has_value = 0;
      snprintf(r->detail, sizeof r->detail, "%.190s", down ? why : "online");
      break;
    }
    case SY_GATE_PROMETHEUS: {
      const char *url = prom_url(s, g, urlbuf, sizeof urlbuf);
      double v = 0;
      int known = 0;
      if (!url)
        snprintf(why, sizeof why, "no Prometheus URL: the gate names none and %s is not set", SY_PROMETHEUS_URL_PARAM);
      else if (!c->src->promq)
        snprintf(why, sizeof why, "Prometheus queries are not running");
      else
        known = sy__promq_get(c->src->promq, url, g->query, &v, why, sizeof why) == 0;
      sy__gate_judge_value(g, known, v, why, r);
      /* no data is not a failure: the first reads of a new query have no answer yet, and a
       * series Prometheus has not scraped yet is none: wait for one (never promote), do not pause */
      if (!known && (!strcmp(why, "no answer yet") || !strcmp(why, "the query returned no series")))
        r->status = SY_GATE_WAIT;
      break;
    }
    }
    r->samples = g->kind == SY_GATE_METRIC ? canary.requests : 0;
  }
  return sp->ngates;
}

/* ---- writing a transition ---- */

typedef struct txn {
  sy_op op; /* first: done gets &op */
  sy_controller *c;
  char plan[SY_ROLLOUT_NAME_MAX + 1];
  sy_put items[2];
  char state_name[SY_NAME_MAX + 2];
  char target_name[SY_NAME_MAX + 2];
  char *state_value, *target_value;
  char actor[SY_NAME_MAX + 1];
  char reason[SY_ROLLOUT_REASON_MAX];
  int wait; /* a command waits for it: done leaves it to the waiter */
} txn;

static void txn_free(txn *t) {
  sy__op_clear(&t->op);
  free(t->state_value);
  free(t->target_value);
  free(t);
}

static void txn_done(sy_op *op) {
  txn *t = (txn *)op;
  sy_controller *c = t->c;
  pthread_mutex_lock(&c->mu);
  mark *m = mark_find(c, t->plan);
  if (m) {
    m->busy = 0;
    if (op->rc && op->rc != SY_ECONFLICT) snprintf(m->failed, sizeof m->failed, "%s", op->msg);
  }
  pthread_cond_broadcast(&c->idle_cv);
  pthread_mutex_unlock(&c->mu);
  if (op->rc)
    sy__log_stderr(op->rc == SY_ECONFLICT ? "info" : "warn", "rollout transition not written",
                   json_pack("{ss ss ss}", "plan", t->plan, "status", sy_strerror(op->rc), "error", op->msg));
  else
    __atomic_add_fetch(&c->transitions, 1, __ATOMIC_RELAXED);
  if (!t->wait) txn_free(t);
}

/* Builds the op writing next (and the target when its share changes). NULL with msg. */
static txn *txn_make(sy_controller *c, const view *w, const sy_rollout_state *next, const char *actor, char *msg,
                     size_t msgsz) {
  txn *t = calloc(1, sizeof *t);
  if (!t) return snprintf(msg, msgsz, "out of memory"), NULL;
  t->c = c;
  snprintf(t->plan, sizeof t->plan, "%s", w->plan->name);
  snprintf(t->state_name, sizeof t->state_name, "%s%s", SY_ROLLOUT_STATE_PREFIX, w->plan->name);
  snprintf(t->actor, sizeof t->actor, "%s", actor);
  snprintf(t->reason, sizeof t->reason, "%s", next->reason);
  t->state_value = sy__rollout_state_json(next);
  if (!t->state_value) {
    free(t);
    return snprintf(msg, msgsz, "out of memory"), NULL;
  }
  int n = 0;
  t->items[n++] = (sy_put){.name = t->state_name,
                           .name_len = strlen(t->state_name),
                           .value = t->state_value,
                           .value_len = strlen(t->state_value),
                           .kind = SY_KIND_ROLLOUT_STATE,
                           .overwrite = 1,
                           .if_version = w->state_version};
  /* a plan that never started (step -1) leaves its target alone */
  int moves_target = next->step >= 0 && next->phase != SY_PHASE_SCHEDULED && next->phase != SY_PHASE_NONE;
  if (moves_target && w->target) {
    int32_t now_cents = sy__rollout_target_cents(w->plan, w->target->value, w->target->value_len);
    if (now_cents != next->cents) {
      t->target_value =
          sy__rollout_target_value(w->plan, w->target->value, w->target->value_len, next->cents, msg, msgsz);
      if (!t->target_value) {
        free(t->state_value);
        free(t);
        return NULL;
      }
      snprintf(t->target_name, sizeof t->target_name, "%s", w->target_name);
      t->items[n++] = (sy_put){.name = t->target_name,
                               .name_len = strlen(t->target_name),
                               .value = t->target_value,
                               .value_len = strlen(t->target_value),
                               .overwrite = 1,
                               .if_version = w->target->version};
    }
  } else if (moves_target && next->cents > 0) {
    free(t->state_value);
    free(t);
    snprintf(msg, msgsz, "the target %s %s does not exist", w->plan->is_flag ? "flag" : "route", w->target_name);
    return NULL;
  }
  t->op.kind = SY_OP_PUTS;
  t->op.items = t->items;
  t->op.nitems = (size_t)n;
  t->op.actor = t->actor;
  t->op.reason = t->reason;
  t->op.done = txn_done;
  return t;
}

/* A pause the controller writes when it cannot do what the plan says (the target is gone,
 * or the store refused its write). */
static txn *txn_pause(sy_controller *c, const view *w, int64_t now, const char *why) {
  sy_rollout_state n = *w->state;
  n.phase = SY_PHASE_PAUSED;
  n.paused_from = w->state->phase == SY_PHASE_PAUSED ? w->state->paused_from : w->state->phase;
  n.paused_at_ms = now;
  n.updated_ms = now;
  n.transitions++;
  snprintf(n.reason, sizeof n.reason, "paused: %.560s", why);
  char msg[SY_MSG_MAX];
  return txn_make(c, w, &n, "controller", msg, sizeof msg);
}

/* ---- evaluation ---- */

typedef struct pass {
  sy_controller *c;
  const sy_snap *s;
  int64_t now;
  int64_t plans;
} pass;

typedef struct holder {
  const sy_snap *s;
  const sy_rollout *me;
  char name[SY_ROLLOUT_NAME_MAX + 1];
} holder;

static int find_holder(void *ctx, const sy_param *pp) {
  holder *h = ctx;
  const sy_ver *v = pp->latest;
  if (!v || v->kind != SY_KIND_ROLLOUT || !v->compiled) return 0;
  const sy_rollout *o = v->compiled->obj;
  if (o == h->me || strcmp(o->target_id, h->me->target_id) || !strcmp(o->name, h->me->name)) return 0;
  char sn[SY_NAME_MAX + 2];
  snprintf(sn, sizeof sn, "%s%s", SY_ROLLOUT_STATE_PREFIX, o->name);
  const sy_ver *sv = latest_of(h->s, sn, SY_KIND_ROLLOUT_STATE);
  const sy_rollout_state *st = sv ? sv->compiled->obj : NULL;
  /* a plan holds its target while it has not ended; of two that never started, the first by name */
  int holds = st ? sy__phase_active(st->phase) && st->phase != SY_PHASE_SCHEDULED : strcmp(o->name, h->me->name) < 0;
  if (!holds) return 0;
  snprintf(h->name, sizeof h->name, "%s", o->name);
  return 1;
}

/* A transition into a new step (or a new share) marks the counts there and then, so that
 * what arrives before the next evaluation counts for the new step. */
static void mark_step(sy_controller *c, const view *w, mark *m, const sy_rollout_state *next) {
  if (!m || (m->stamp == next->step_started_ms && m->step_cents == next->cents)) return;
  m->stamp = next->step_started_ms;
  m->step_cents = next->cents;
  counts_of(c, w, w->canary, 0, 0, &m->canary);
  counts_of(c, w, w->baseline, 0, 0, &m->baseline);
}

static void submit(sy_controller *c, mark *m, txn *t) {
  m->busy = 1;
  m->failed[0] = 0;
  if (sy__store_submit(c->src->store, &t->op)) { /* closing */
    m->busy = 0;
    txn_free(t);
  }
}

static int eval_plan(void *ctx, const sy_param *pp) {
  pass *ps = ctx;
  sy_controller *c = ps->c;
  const sy_ver *pv = pp->latest;
  if (!pv || pv->kind != SY_KIND_ROLLOUT || !pv->compiled) return 0;
  ps->plans++;
  view w;
  view_fill(ps->s, pv, &w);
  mark *m = mark_get(c, w.plan->name);
  if (!m) return 0;
  m->seen_gen = c->gen;
  if (m->busy) return 0;
  sy_phase ph = w.state ? w.state->phase : SY_PHASE_NONE;
  if (ph != SY_PHASE_NONE && !sy__phase_active(ph)) return 0;
  if (m->failed[0] && w.state && ph != SY_PHASE_PAUSED) {
    txn *t = txn_pause(c, &w, ps->now, m->failed);
    if (t) submit(c, m, t);
    return 0;
  }
  sy_gate_result res[SY_ROLLOUT_GATES_MAX];
  sy_rollout_input in;
  char critical[320];
  int n = judge(c, ps->s, &w, m, ps->now, res, &in, critical, sizeof critical);
  if (ph == SY_PHASE_PAUSED) return 0;
  in.results = res;
  in.nresults = n;
  sy_rollout_state next;
  sy_move mv = sy__rollout_decide(w.plan, w.state, &in, &next);
  if (mv == SY_MOVE_NONE) return 0;
  char msg[SY_MSG_MAX];
  if (mv == SY_MOVE_START) { /* one plan per target: a plan written past the API's check waits */
    holder h = {.s = ps->s, .me = w.plan};
    sy__snap_list(ps->s, SY_ROLLOUTS_PREFIX, 0, NULL, find_holder, &h);
    if (h.name[0]) {
      snprintf(msg, sizeof msg, "plan %s already drives the target", h.name);
      next = (sy_rollout_state){.step = -1,
                                .baseline_p95_ms = -1,
                                .phase = SY_PHASE_PAUSED,
                                .paused_from = SY_PHASE_SCHEDULED,
                                .paused_at_ms = ps->now,
                                .updated_ms = ps->now,
                                .plan_version = w.plan_version,
                                .transitions = w.state ? w.state->transitions + 1 : 1};
      snprintf(next.reason, sizeof next.reason, "paused: cannot start: %.560s", msg);
    }
  }
  txn *t = txn_make(c, &w, &next, "controller", msg, sizeof msg);
  if (!t && w.state) t = txn_pause(c, &w, ps->now, msg);
  if (!t && !w.state) { /* cannot even start: say so in a state of its own */
    sy_rollout_state blank = {.step = -1,
                              .baseline_p95_ms = -1,
                              .phase = SY_PHASE_PAUSED,
                              .paused_from = SY_PHASE_SCHEDULED,
                              .paused_at_ms = ps->now,
                              .updated_ms = ps->now,
                              .plan_version = w.plan_version,
                              .transitions = 1};
    snprintf(blank.reason, sizeof blank.reason, "paused: cannot start: %.560s", msg);
    t = txn_make(c, &w, &blank, "controller", msg, sizeof msg);
  }
  if (t) {
    mark_step(c, &w, m, &next);
    submit(c, m, t);
  }
  return 0;
}

static void evaluate_locked(sy_controller *c) {
  sy_snap *s = sy__snap_pin(c->src->store);
  if (!s) return;
  pass ps = {.c = c, .s = s, .now = sy__clock_now(c->src->clock)};
  c->gen++;
  sy__snap_list(s, SY_ROLLOUTS_PREFIX, 0, NULL, eval_plan, &ps);
  marks_prune(c, c->gen);
  sy__snap_unpin(s);
  __atomic_store_n(&c->plans, ps.plans, __ATOMIC_RELAXED);
  __atomic_add_fetch(&c->evaluations, 1, __ATOMIC_RELAXED);
}

/* Evaluates the plan named by its document doc alone (with mu held). */
static void evaluate_one(sy_controller *c, const char *doc) {
  sy_snap *s = sy__snap_pin(c->src->store);
  if (!s) return;
  pass ps = {.c = c, .s = s, .now = sy__clock_now(c->src->clock)};
  const sy_param *p = sy__snap_get(s, doc, strlen(doc));
  if (p) eval_plan(&ps, p);
  sy__snap_unpin(s);
}

void sy__controller_kick(sy_controller *c) {
  pthread_mutex_lock(&c->mu);
  evaluate_locked(c);
  pthread_mutex_unlock(&c->mu);
}

static void *run(void *arg) {
  sy_controller *c = arg;
  pthread_mutex_lock(&c->wmu);
  while (!c->stopping) {
    c->poked = 0;
    pthread_mutex_unlock(&c->wmu);
    /* one node of a shared store drives the plans: the leader (another takes over when it is gone) */
    if (sy__store_leader(c->src->store)) sy__controller_kick(c);
    int64_t due = sy__clock_tick(c->src->clock) + c->period_ms;
    pthread_mutex_lock(&c->wmu);
    while (!c->stopping && !c->poked) {
      int64_t left = due - sy__clock_tick(c->src->clock);
      if (left <= 0) break;
      if (left > WAIT_SLICE_MS) left = WAIT_SLICE_MS;
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      ts.tv_nsec += (long)left * 1000000L;
      ts.tv_sec += ts.tv_nsec / 1000000000L;
      ts.tv_nsec %= 1000000000L;
      pthread_cond_timedwait(&c->wcv, &c->wmu, &ts);
    }
  }
  pthread_mutex_unlock(&c->wmu);
  return NULL;
}

sy_rc sy__controller_start(const sy_sources *src, int64_t period_ms, sy_controller **out) {
  *out = NULL;
  sy_controller *c = calloc(1, sizeof *c);
  if (!c) return SY_ENOMEM;
  c->src = src;
  c->period_ms = period_ms > 0 ? period_ms : SY_CONTROLLER_PERIOD_MS;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->idle_cv, NULL);
  pthread_mutex_init(&c->wmu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&c->wcv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&c->thr, NULL, run, c)) {
    sy__controller_free(c);
    return SY_EINTERNAL;
  }
  c->started = 1;
  *out = c;
  return SY_OK;
}

void sy__controller_poke(sy_controller *c) {
  if (!c) return;
  pthread_mutex_lock(&c->wmu);
  c->poked = 1;
  pthread_cond_broadcast(&c->wcv);
  pthread_mutex_unlock(&c->wmu);
}

void sy__controller_stop(sy_controller *c) {
  if (!c) return;
  pthread_mutex_lock(&c->wmu);
  c->stopping = 1;
  pthread_cond_broadcast(&c->wcv);
  pthread_mutex_unlock(&c->wmu);
  if (c->started) pthread_join(c->thr, NULL);
  c->started = 0;
}

void sy__controller_free(sy_controller *c) {
  if (!c) return;
  sy__controller_stop(c);
  /* transitions in flight complete in the store, whose close drains them first; their done
   * callbacks touch c, so the store must be closed before the controller is freed */
  free(c->marks);
  pthread_cond_destroy(&c->idle_cv);
  pthread_cond_destroy(&c->wcv);
  pthread_mutex_destroy(&c->mu);
  pthread_mutex_destroy(&c->wmu);
  free(c);
}

void sy__controller_counters(sy_controller *c, int64_t *evaluations, int64_t *transitions, int64_t *plans) {
  *evaluations = __atomic_load_n(&c->evaluations, __ATOMIC_RELAXED);
  *transitions = __atomic_load_n(&c->transitions, __ATOMIC_RELAXED);
  *plans = __atomic_load_n(&c->plans, __ATOMIC_RELAXED);
}

/* ---- status ---- */

static json_t *target_json(const sy_rollout *p) {
  return p->is_flag ? json_pack("{ss}", "flag", p->flag)
                    : json_pack("{ss ss}", "route", p->route, "provider", p->provider);
}

/* The plan's STATUS (docs/ROLLOUTS.md) from a view, judged now. */
static json_t *status_json(sy_controller *c, const sy_snap *s, const view *w, int64_t now) {
  const sy_rollout *p = w->plan;
  const sy_rollout_state *st = w->state;
  sy_gate_result res[SY_ROLLOUT_GATES_MAX];
  sy_rollout_input in;
  char critical[320];
  mark *m = mark_find(c, p->name);
  mark tmp;
  if (!m) { /* judge against a mark of its own: counts since now */
    memset(&tmp, 0, sizeof tmp);
    m = &tmp;
  }
  int n = judge(c, s, w, m, now, res, &in, critical, sizeof critical);
  sy_phase ph = st ? st->phase : SY_PHASE_NONE;
  int step = st ? st->step : -1;
  int cur = step < 0 ? 0 : step >= p->nsteps ? p->nsteps - 1 : step;
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(p->name));
  json_object_set_new(o, "version", json_integer(w->plan_version));
  json_object_set_new(o, "target", target_json(p));
  json_object_set_new(o, "phase", json_string(ph == SY_PHASE_NONE ? "pending" : sy__phase_name(ph)));
  json_object_set_new(o, "step", json_integer(step));
  json_object_set_new(o, "steps", json_integer(p->nsteps));
  json_object_set_new(o, "percent", sy__cents_json(st ? st->cents : 0));
  json_t *pcts = json_array();
  for (int i = 0; i < p->nsteps; i++) json_array_append_new(pcts, sy__cents_json(p->steps[i].cents));
  json_object_set_new(o, "percents", pcts);
  int has_next = sy__phase_active(ph) && ph != SY_PHASE_ROLLING_BACK && step + 1 < p->nsteps;
  json_object_set_new(o, "next_percent", has_next ? sy__cents_json(p->steps[step + 1].cents) : json_null());
  int baking = st && step >= 0 && (ph == SY_PHASE_RUNNING || ph == SY_PHASE_PAUSED || ph == SY_PHASE_AWAITING_APPROVAL);
  int64_t bake = p->steps[cur].bake_ms, left = baking ? bake - sy__rollout_baked_ms(st, now) : 0;
  json_object_set_new(o, "bake_ms", json_integer(bake));
  json_object_set_new(o, "bake_left_ms", baking ? json_integer(left > 0 ? left : 0) : json_null());
  json_object_set_new(o, "not_before", sy__time_json(has_next ? p->steps[step + 1].not_before_ms : 0));
  json_object_set_new(o, "start_at", sy__time_json(p->start_at_ms));
  json_t *gates = json_array();
  for (int i = 0; i < n; i++) {
    const sy_gate_result *r = &res[i];
    const sy_gate *g = p->steps[cur].gates[i];
    const char *metric = g->kind == SY_GATE_METRIC            ? sy__metric_name(g->metric)
                         : g->kind == SY_GATE_ALERTS          ? "alerts"
                         : g->kind == SY_GATE_PROVIDER_STATUS ? "provider_status"
                                                              : "prometheus";
    json_array_append_new(
        gates, json_pack("{ss ss so so sI ss ss}", "gate", g->label, "metric", metric, "bound", json_real(r->bound),
                         "value", r->has_value ? json_real(r->value) : json_null(), "samples", (json_int_t)r->samples,
                         "status", sy__gate_status_name(r->status), "detail", r->detail));
  }
  if (!n)
    for (int i = 0; i < p->steps[cur].ngates; i++)
      json_array_append_new(gates, json_pack("{ss ss}", "gate", p->steps[cur].gates[i]->label, "status", "idle"));
  json_object_set_new(o, "gates", gates);
  json_object_set_new(o, "critical_alert", in.critical_alert ? json_string(critical) : json_null());
  json_object_set_new(o, "baseline",
                      json_pack("{ss? so}", "who", w->baseline[0] ? w->baseline : NULL, "p95_ms",
                                st && st->baseline_p95_ms >= 0 ? json_real(st->baseline_p95_ms) : json_null()));
  json_object_set_new(o, "canary", json_string(w->canary));
  json_object_set_new(o, "reason", json_string(st ? st->reason : "not started yet"));
  json_object_set_new(o, "state_version", json_integer(w->state_version));
  json_object_set_new(o, "updated_at", sy__time_json(st ? st->updated_ms : 0));
  if (st) {
    json_t *sj = sy__rollout_state_obj(st);
    json_object_set_new(o, "breach",
                        sj && json_object_get(sj, "breach") ? json_incref(json_object_get(sj, "breach")) : json_null());
    json_object_set_new(
        o, "rollback",
        sj && json_object_get(sj, "rollback") ? json_incref(json_object_get(sj, "rollback")) : json_null());
    json_object_set_new(o, "state", sj ? sj : json_null());
  } else {
    json_object_set_new(o, "breach", json_null());
    json_object_set_new(o, "rollback", json_null());
    json_object_set_new(o, "state", json_null());
  }
  return o;
}

/* Waits (with mu held) until plan name has no transition in flight, at most BUSY_WAIT_MS. */
static void wait_idle(sy_controller *c, const char *name) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += BUSY_WAIT_MS / 1000;
  for (mark *m = mark_find(c, name); m && m->busy; m = mark_find(c, name))
    if (pthread_cond_timedwait(&c->idle_cv, &c->mu, &dl)) break;
}

json_t *sy__controller_status(sy_controller *c, const char *name) {
  char doc[SY_NAME_MAX + 2];
  snprintf(doc, sizeof doc, "%s%s", SY_ROLLOUTS_PREFIX, name);
  pthread_mutex_lock(&c->mu);
  evaluate_one(c, doc); /* a reader sees the state of now */
  json_t *out = NULL;
  wait_idle(c, name); /* for what that evaluation wrote, so that the answer shows it */
  sy_snap *s = sy__snap_pin(c->src->store);
  if (s) {
    const sy_ver *pv = latest_of(s, doc, SY_KIND_ROLLOUT);
    if (pv) {
      view w;
      view_fill(s, pv, &w);
      out = status_json(c, s, &w, sy__clock_now(c->src->clock));
    }
    sy__snap_unpin(s);
  }
  pthread_mutex_unlock(&c->mu);
  return out;
}

sy_rc sy__controller_command(sy_controller *c, const char *name, const char *cmd, int gradual, const char *actor,
                             const char *reason, json_t **out_status, char *msg, size_t msgsz) {
  *out_status = NULL;
  char doc[SY_NAME_MAX + 2];
  snprintf(doc, sizeof doc, "%s%s", SY_ROLLOUTS_PREFIX, name);
  sy_rc rc = SY_OK;
  pthread_mutex_lock(&c->mu);
  wait_idle(c, name);
  sy_snap *s = sy__snap_pin(c->src->store);
  txn *t = NULL;
  if (!s) {
    rc = SY_ENOMEM;
    snprintf(msg, msgsz, "out of memory");
    goto out;
  }
  const sy_ver *pv = latest_of(s, doc, SY_KIND_ROLLOUT);
  if (!pv) {
    rc = SY_ENOTFOUND;
    snprintf(msg, msgsz, "no rollout plan named %s", name);
    goto out;
  }
  view w;
  view_fill(s, pv, &w);
  sy_rollout_state next;
  rc = sy__rollout_command(w.plan, w.state, cmd, gradual, sy__clock_now(c->src->clock), reason, &next, msg, msgsz);
  if (rc) goto out;
  next.plan_version = w.plan_version;
  if (!strcmp(cmd, "start") || (!w.state && !strcmp(cmd, "promote"))) {
    next.baseline_p95_ms = baseline_p95(c, &w, sy__clock_now(c->src->clock));
  }
  t = txn_make(c, &w, &next, actor, msg, msgsz);
  if (!t) {
    rc = SY_ECONFLICT;
    goto out;
  }
  t->wait = 1;
  mark *m = mark_get(c, name);
  mark_step(c, &w, m, &next);
  if (m) {
    m->busy = 1;
    m->failed[0] = 0;
  }
  sy__snap_unpin(s);
  s = NULL;
  pthread_mutex_unlock(&c->mu); /* the done callback takes mu */
  rc = sy__store_submit_wait(c->src->store, &t->op);
  if (!rc) rc = t->op.rc;
  if (rc) snprintf(msg, msgsz, "%s", t->op.msg[0] ? t->op.msg : sy_strerror(rc));
  /* submit_wait calls no done of ours: the transition is over here */
  pthread_mutex_lock(&c->mu);
  if ((m = mark_find(c, name))) m->busy = 0;
  pthread_cond_broadcast(&c->idle_cv);
  pthread_mutex_unlock(&c->mu);
  if (!rc) __atomic_add_fetch(&c->transitions, 1, __ATOMIC_RELAXED);
  txn_free(t);
  t = NULL;
  if (!rc) *out_status = sy__controller_status(c, name);
  return rc;
out:
  if (s) sy__snap_unpin(s);
  pthread_mutex_unlock(&c->mu);
  return rc;
}

typedef struct lister {
  sy_controller *c;
  const sy_snap *s;
  int64_t now;
  json_t *list;
} lister;

static int list_one(void *ctx, const sy_param *pp) {
  lister *l = ctx;
  const sy_ver *pv = pp->latest;
  if (!pv || pv->kind != SY_KIND_ROLLOUT || !pv->compiled) return 0;
  view w;
  view_fill(l->s, pv, &w);
  json_t *st = status_json(l->c, l->s, &w, l->now);
  if (st) json_object_del(st, "state");
  return st && json_array_append_new(l->list, st) ? 1 : 0;
}

json_t *sy__controller_list(sy_controller *c) {
  json_t *list = json_array();
  if (!list) return NULL;
  pthread_mutex_lock(&c->mu);
  evaluate_locked(c);
  sy_snap *s = sy__snap_pin(c->src->store);
  if (s) {
    lister l = {.c = c, .s = s, .now = sy__clock_now(c->src->clock), .list = list};
    sy__snap_list(s, SY_ROLLOUTS_PREFIX, 0, NULL, list_one, &l);
    sy__snap_unpin(s);
  }
  pthread_mutex_unlock(&c->mu);
  return list;
}

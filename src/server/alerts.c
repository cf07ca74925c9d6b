/* alerts.c — the gateway's alerts: what fires (providers' breakers and error rates, spending
 * limits), the active set and a ring of recent transitions, each transition recorded through
 * the store and posted to the optional webhook, and the API that reads them. */
#include "server/alerts.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "control/alert_rules.h"
#include "core/civil.h"
#include "core/provider.h"
#include "core/rollout.h"
#include "gateway/gateway.h"

#define ID_MAX 240          /* an alert's id: "<name>:<resource>" */
#define ALERT_NAME_MAX 72   /* an alert's name: a fixed one, or a rule's (64 at most) */
#define RESOURCE_MAX 160    /* a provider's, a limit's, a flag's or a plan's name, cut there */
#define MESSAGE_MAX 320     /* an alert's message */
#define DETAIL_MAX 400      /* the detail of its audit record */
#define HISTORY_MAX 1000    /* transitions kept for GET /api/v1/alerts/history */
#define QUEUE_MAX 1000      /* webhook posts waiting to be sent */
#define URL_MAX 1024        /* the webhook's URL */
#define PROVIDERS_MAX 256   /* providers looked at per evaluation */
#define EVAL_MS 1000        /* the evaluator's period, on the server's clock */
#define TRIES 6             /* webhook attempts per transition */
#define BACKOFF_MS 200      /* before the second attempt; doubles after each */
#define RATE_DEGRADED_PCT 5 /* a 5-minute error rate from which a provider is degraded */

typedef enum severity { SEV_CRITICAL = 0, SEV_WARNING, SEV_INFO, SEV_COUNT } severity;
static const char *const sev_names[SEV_COUNT] = {"critical", "warning", "info"};

/* An active alert. The string source is static. */
typedef struct alert {
  char id[ID_MAX];
  char name[ALERT_NAME_MAX];
  severity sev;
  const char *source;
  char resource[RESOURCE_MAX];
  char message[MESSAGE_MAX];
  json_t *labels; /* owned */
  int64_t since_ms;
  int seen; /* raised again by the evaluation under way */
} alert;

/* A fire or a resolve, as kept in the history ring. */
typedef struct transition {
  char id[ID_MAX];
  char name[ALERT_NAME_MAX];
  severity sev;
  int resolved;
  char message[MESSAGE_MAX];
  int64_t since_ms, at_ms;
} transition;

/* A webhook post waiting to be sent: both strings owned. */
typedef struct delivery {
  char *url;
  char *body;
  char id[ID_MAX];
} delivery;

struct sy_alerts {
  sy_server *srv;
  /* the active set, the history and the providers' names: one evaluation at a time */
  pthread_mutex_t mu;
  alert *active;
  int nactive, cap_active;
  transition *hist; /* ring of HISTORY_MAX */
  int hist_next, hist_n;
  char (*pnames)[RESOURCE_MAX]; /* PROVIDERS_MAX names, filled by each evaluation */
  int npnames;
  /* the threads: stop, and the webhook's queue (taken after mu, never before) */
  pthread_mutex_t wmu;
  pthread_cond_t eval_cv, send_cv; /* on CLOCK_MONOTONIC */
  int stopping;
  delivery *queue; /* ring of QUEUE_MAX */
  int qhead, qn;
  int64_t dropped;
  int drop_logged;
  pthread_t eval_thr, send_thr;
  int eval_started, send_started;
  sy_rules *rules; /* the alert rules' counts (control/alert_rules.h), under mu */
};

/* ---- text ---- */

/* Copies src into out (cap bytes) with anything that looks like a credential masked: the
 * word after "Bearer " and the values of key=, token=, secret=, password=, and sk-... keys.
 * The gateway's last errors should hold none; this is a second line of defence. */
static void scrub(const char *src, char *out, size_t cap) {
  static const char *const marks[] = {"bearer ", "key=", "token=", "secret=", "password=", "sk-"};
  size_t o = 0;
  if (!cap) return;
  for (size_t i = 0; src[i] && o + 1 < cap;) {
    size_t skip = 0;
    for (size_t m = 0; m < sizeof marks / sizeof *marks && !skip; m++) {
      size_t n = strlen(marks[m]);
      if (!strncasecmp(src + i, marks[m], n)) skip = n;
    }
    if (!skip) {
      out[o++] = src[i++];
      continue;
    }
    for (size_t k = 0; k < skip && o + 1 < cap; k++) out[o++] = src[i++];
    int masked = 0;
    while (src[i] && !strchr(" \t\r\n\"'&,;)}", src[i])) {
      i++;
      masked = 1;
    }
    for (const char *m = masked ? "***" : ""; *m && o + 1 < cap; m++) out[o++] = *m;
  }
  out[o] = 0;
}

static void iso_time(int64_t ms, char out[32]) { sy__fmt_time(ms, out, 32); }

/* ---- recording a transition ---- */

/* A transition's store op, owned by itself: freed by its done callback, on the store's
 * syncer thread, so that the evaluator never waits for the store. */
typedef struct record {
  sy_op op; /* first: the done callback gets &op */
  char name[SY_NAME_MAX + 1];
  char detail[DETAIL_MAX];
} record;

static void record_done(sy_op *op) {
  record *rec = (record *)op;
  if (op->rc)
    sy__log("warn", "cannot record an alert transition",
            json_pack("{ss ss ss}", "name", rec->name, "status", sy_strerror(op->rc), "error", op->msg));
  sy__op_clear(op);
  free(rec);
}

/* Submits the audit record and change event of a transition (action alert.fire or
 * alert.resolve, name /switchyard/alerts/<name>/<resource>). Never waits. */
static void record_submit(sy_alerts *a, const alert *al, int resolved) {
  record *rec = calloc(1, sizeof *rec);
  if (!rec) {
    sy__log("warn", "cannot record an alert transition: out of memory", json_pack("{ss}", "id", al->id));
    return;
  }
  int n = snprintf(rec->name, sizeof rec->name, "/switchyard/alerts/%s/%s", al->name, al->resource);
  if (n < 0 || (size_t)n >= sizeof rec->name) n = (int)sizeof rec->name - 1;
  snprintf(rec->detail, sizeof rec->detail, "severity=%s message=%s", sev_names[al->sev], al->message);
  rec->op.kind = SY_OP_RECORD;
  rec->op.actor = "alerts";
  rec->op.put.name = rec->name;
  rec->op.put.name_len = (size_t)n;
  rec->op.rec_action = resolved ? "alert.resolve" : "alert.fire";
  rec->op.rec_detail = rec->detail;
  rec->op.done = record_done;
  sy_rc rc = sy__store_submit(a->srv->store, &rec->op);
  if (rc) { /* closing: done will not be called */
    sy__op_clear(&rec->op);
    free(rec);
  }
}

/* ---- the webhook ---- */

/* Queues a post to url (with wmu held). A full queue drops its oldest post. */
static void queue_post(sy_alerts *a, const char *url, const alert *al, int resolved, int64_t now) {
  char since[32], at[32];
  iso_time(al->since_ms, since);
  iso_time(now, at);
  json_t *o = json_pack("{ss ss ss ss ss ss ss?}", "id", al->id, "name", al->name, "severity", sev_names[al->sev],
                        "state", resolved ? "resolved" : "firing", "message", al->message, "since", since,
                        "resolved_at", resolved ? at : NULL);
  delivery d = {.url = strdup(url), .body = o ? json_dumps(o, JSON_COMPACT) : NULL};
  json_decref(o);
  snprintf(d.id, sizeof d.id, "%s", al->id);
  if (!d.url || !d.body) {
    free(d.url);
    free(d.body);
    sy__log("warn", "cannot queue an alert webhook post: out of memory", json_pack("{ss}", "id", al->id));
    return;
  }
  if (a->qn == QUEUE_MAX) {
    delivery *old = &a->queue[a->qhead];
    free(old->url);
    free(old->body);
    a->qhead = (a->qhead + 1) % QUEUE_MAX;
    a->qn--;
    a->dropped++;
    if (!a->drop_logged) {
      a->drop_logged = 1;
      sy__log("warn", "alert webhook queue full: dropping the oldest posts", json_pack("{si}", "queue_max", QUEUE_MAX));
    }
  }
  a->queue[(a->qhead + a->qn) % QUEUE_MAX] = d;
  a->qn++;
  pthread_cond_signal(&a->send_cv);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx) {
  (void)p;
  (void)ctx;
  return size * n;
}

/* One attempt: 0 when the receiver answered 2xx; else -1 with *status (0: no answer) and
 * why (curl's words). */
static int post_once(const delivery *d, long *status, char why[CURL_ERROR_SIZE]) {
  int ok = -1;
  *status = 0;
  why[0] = 0;
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  if (!c || !h) {
    snprintf(why, CURL_ERROR_SIZE, "out of memory");
    goto out;
  }
  curl_easy_setopt(c, CURLOPT_URL, d->url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "switchyard-alerts");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
  CURLcode cc = curl_easy_perform(c);
  if (cc != CURLE_OK) {
    if (!why[0]) snprintf(why, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
    goto out;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  if (*status >= 200 && *status < 300) ok = 0;
out:
  curl_slist_free_all(h);
  if (c) curl_easy_cleanup(c);
  return ok;
}

/* Waits ms of real time or until stop (with wmu held); 1 when stopping. */
static int wait_ms(sy_alerts *a, pthread_cond_t *cv, int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  if (!a->stopping) pthread_cond_timedwait(cv, &a->wmu, &ts);
  return a->stopping;
}

/* The sender: posts each queued transition in order, retrying with backoff; a post that
 * fails TRIES times is logged and dropped. */
static void *send_main(void *arg) {
  sy_alerts *a = arg;
  pthread_mutex_lock(&a->wmu);
  for (;;) {
    while (!a->stopping && !a->qn) pthread_cond_wait(&a->send_cv, &a->wmu);
    if (a->stopping) break;
    delivery d = a->queue[a->qhead];
    a->qhead = (a->qhead + 1) % QUEUE_MAX;
    a->qn--;
    pthread_mutex_unlock(&a->wmu);
    long status = 0;
    char why[CURL_ERROR_SIZE];
    int64_t backoff = BACKOFF_MS, tries = 0;
    int stop = 0, rc = -1;
    while (rc && !stop && tries < TRIES) {
      rc = post_once(&d, &status, why);
      tries++;
      if (rc && tries < TRIES) {
        pthread_mutex_lock(&a->wmu);
        stop = wait_ms(a, &a->send_cv, backoff);
        pthread_mutex_unlock(&a->wmu);
        backoff *= 2;
      }
    }
    if (rc && !stop) /* the URL may hold a secret (a path token): it is not logged */
      sy__log("warn", "alert webhook post failed",
              json_pack("{ss sI sI ss}", "id", d.id, "tries", (json_int_t)tries, "status", (json_int_t)status, "error",
                        why));
    free(d.url);
    free(d.body);
    pthread_mutex_lock(&a->wmu);
  }
  pthread_mutex_unlock(&a->wmu);
  return NULL;
}

/* ---- evaluation ---- */

typedef struct eval {
  sy_alerts *a;
  int64_t now;
  const sy_snap *snap; /* during the rules' and rollouts' part only */
  char url[URL_MAX];   /* the webhook's, "" when none */
  int leader;          /* this node records and posts alerts (one node of a shared store does) */
} eval;

static void transition_to(eval *e, const alert *al, int resolved) {
  sy_alerts *a = e->a;
  transition *t = &a->hist[a->hist_next];
  memset(t, 0, sizeof *t);
  snprintf(t->id, sizeof t->id, "%s", al->id);
  snprintf(t->name, sizeof t->name, "%s", al->name);
  t->sev = al->sev;
  t->resolved = resolved;
  snprintf(t->message, sizeof t->message, "%s", al->message);
  t->since_ms = al->since_ms;
  t->at_ms = e->now;
  a->hist_next = (a->hist_next + 1) % HISTORY_MAX;
  if (a->hist_n < HISTORY_MAX) a->hist_n++;
  sy__log(resolved ? "info" : "warn", resolved ? "alert resolved" : "alert firing",
          json_pack("{ss ss ss}", "id", al->id, "severity", sev_names[al->sev], "message", al->message));
  if (!e->leader) return; /* every node shows its alerts; the leader alone records and posts them */
  record_submit(a, al, resolved);
  if (e->url[0]) {
    pthread_mutex_lock(&a->wmu);
    queue_post(a, e->url, al, resolved, e->now);
    pthread_mutex_unlock(&a->wmu);
  }
}

/* The condition name:resource holds now: fires it unless active (then refreshes its
 * message and labels). Takes labels. */
static void raise_alert(eval *e, const char *name, severity sev, const char *source, const char *resource,
                        json_t *labels, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void raise_alert(eval *e, const char *name, severity sev, const char *source, const char *resource,
                        json_t *labels, const char *fmt, ...) {
  sy_alerts *a = e->a;
  char id[ID_MAX];
  snprintf(id, sizeof id, "%s:%s", name, resource);
  alert *al = NULL;
  for (int i = 0; i < a->nactive && !al; i++)
    if (!strcmp(a->active[i].id, id)) al = &a->active[i];
  int fresh = !al;
  if (fresh) {
    if (a->nactive == a->cap_active) {
      int cap = a->cap_active ? a->cap_active * 2 : 16;
      alert *na = realloc(a->active, (size_t)cap * sizeof *na);
      if (!na) {
        json_decref(labels);
        return;
      }
      a->active = na;
      a->cap_active = cap;
    }
    al = &a->active[a->nactive++];
    memset(al, 0, sizeof *al);
    snprintf(al->id, sizeof al->id, "%s", id);
    snprintf(al->resource, sizeof al->resource, "%s", resource);
    snprintf(al->name, sizeof al->name, "%s", name);
    al->sev = sev;
    al->source = source;
    al->since_ms = e->now;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(al->message, sizeof al->message, fmt, ap);
  va_end(ap);
  json_decref(al->labels);
  al->labels = labels;
  al->seen = 1;
  if (fresh) transition_to(e, al, 0);
}

static void eval_provider(eval *e, const char *pn) {
  sy_gw_pinfo in;
  char last[200];
  sy__gateway_provider_info(e->a->srv->gw, pn, &in);
  if (!in.known) return;
  scrub(in.last_error[0] ? in.last_error : "none", last, sizeof last);
  int open = in.breaker == SY_BREAKER_OPEN, half = in.breaker == SY_BREAKER_HALF_OPEN;
  int64_t req = in.m5.requests, err = in.m5.errors;
  int offline = open || (err > 0 && err >= req);
  int degraded = !offline && (half || (req >= 1 && err * 100 >= req * RATE_DEGRADED_PCT));
  const char *bs = open ? "open" : half ? "half-open" : "closed";
  if (open)
    raise_alert(e, "provider_breaker_open", SEV_CRITICAL, "gateway.breaker", pn,
                json_pack("{ss ss}", "provider", pn, "breaker", bs),
                "provider %s: circuit breaker open, no requests are sent to it until a trial succeeds; last error: %s",
                pn, last);
  if (offline)
    raise_alert(e, "provider_offline", SEV_CRITICAL, "gateway.metrics", pn,
                json_pack("{ss ss}", "provider", pn, "breaker", bs),
                open ? "provider %s is offline: its circuit breaker is open (%lld of %lld calls failed in 5 minutes); "
                       "last error: %s"
                     : "provider %s is offline: %lld of %lld calls failed in 5 minutes, none succeeded; last error: %s",
                pn, (long long)err, (long long)req, last);
  if (degraded)
    raise_alert(e, "provider_degraded", SEV_WARNING, "gateway.metrics", pn,
                json_pack("{ss ss}", "provider", pn, "breaker", bs),
                half ? "provider %s is degraded: its circuit breaker is half-open, only trial requests reach it "
                       "(%lld of %lld calls failed in 5 minutes); last error: %s"
                     : "provider %s is degraded: %lld of %lld calls failed in 5 minutes (at least 5%%); last error: %s",
                pn, (long long)err, (long long)req, last);
}

static void on_limit(void *ctx, const sy_gw_limit_state *l) {
  eval *e = ctx;
  if (l->level == SY_LIMIT_OK) return;
  static const char prefix[] = "/switchyard/limits/";
  const char *res = l->name;
  if (!strncmp(res, prefix, sizeof prefix - 1)) res += sizeof prefix - 1;
  while (*res == '/') res++;
  const char *scope = l->scope && l->scope[0] ? l->scope : "global";
  json_t *labels = json_pack("{ss ss ss ss ss}", "limit", l->name, "limit_type", l->limit_type ? l->limit_type : "",
                             "scope", l->scope ? l->scope : "", "period", l->period ? l->period : "", "day", l->day);
  /* over the hard limit is over the soft one too: both fire */
  raise_alert(e, "budget_soft_limit", SEV_WARNING, "gateway.limits", res, labels,
              "%s %s budget soft limit reached: %.4f USD spent of %.4f USD (hard limit %.4f USD) on %s", scope,
              l->period ? l->period : "daily", l->consumed_usd, l->soft_usd, l->hard_usd, l->day);
  if (l->level == SY_LIMIT_HARD)
    raise_alert(e, "budget_hard_limit", SEV_CRITICAL, "gateway.limits", res, json_deep_copy(labels),
                "%s budget breaker open: %s budget limit reached, requests are refused (%.4f USD spent, %.4f USD "
                "reserved, hard limit %.4f USD on %s)",
                scope, l->period ? l->period : "daily", l->consumed_usd, l->reserved_usd, l->hard_usd, l->day);
}

static int list_provider(void *ctx, const sy_param *p) {
  sy_alerts *a = ctx;
  const sy_ver *v = p->latest;
  if (!v || v->kind != SY_KIND_PROVIDER || !v->compiled) return 0;
  const sy_provider *pv = v->compiled->obj;
  if (a->npnames == PROVIDERS_MAX) return 1;
  snprintf(a->pnames[a->npnames++], RESOURCE_MAX, "%s", pv->name);
  return 0;
}

/* ---- alert rules and rollouts ---- */

static void on_rule_fire(void *ctx, const sy_rule_fire *f) {
  eval *e = ctx;
  severity sev = f->severity >= 0 && f->severity < SEV_COUNT ? (severity)f->severity : SEV_WARNING;
  raise_alert(e, f->name, sev, "rule", f->resource, f->labels, "%s", f->message);
}

/* The metric sources of the rules: the server's, with what serve.c has not filled yet taken
 * from the server itself. */
static void rule_sources(const sy_server *srv, sy_sources *out) {
  *out = srv->sources;
  if (!out->store) out->store = srv->store;
  if (!out->clock) out->clock = srv->clock;
  if (!out->gw) out->gw = srv->gw;
  if (!out->pushed) out->pushed = srv->pushed;
  if (!out->promq) out->promq = srv->promq;
}

/* A RolloutState document whose plan was rolled back on a breach raises rollout_rolled_back
 * (docs/ROLLOUTS.md): phase rolling_back or rolled_back and a breach object. The labels carry
 * the plan's name and its target (flag, or route and provider) from the plan's document. */
static int visit_rollout_state(void *ctx, const sy_param *p) {
  eval *e = ctx;
  const sy_ver *v = p->latest;
  static const char prefix[] = SY_ROLLOUT_STATE_PREFIX;
  if (!v || !v->value || p->name_len <= sizeof prefix - 1) return 0;
  const char *plan = p->name + sizeof prefix - 1;
  json_t *doc = json_loadb(v->value, v->value_len, 0, NULL);
  const char *phase = json_string_value(json_object_get(doc, "phase"));
  json_t *breach = json_object_get(doc, "breach");
  if (phase && (!strcmp(phase, "rolling_back") || !strcmp(phase, "rolled_back")) && json_is_object(breach)) {
    const char *m = json_string_value(json_object_get(breach, "message"));
    const char *gate = json_string_value(json_object_get(breach, "gate"));
    json_t *labels = json_pack("{ss ss}", "plan", plan, "phase", phase);
    if (labels && gate) json_object_set_new(labels, "gate", json_string(gate));
    char path[SY_NAME_MAX + 1];
    int n = snprintf(path, sizeof path, "%s%s", SY_ROLLOUTS_PREFIX, plan);
    const sy_param *pp = n > 0 && (size_t)n < sizeof path ? sy__snap_get(e->snap, path, (size_t)n) : NULL;
    json_t *pdoc = pp && pp->latest ? json_loadb(pp->latest->value, pp->latest->value_len, 0, NULL) : NULL;
    json_t *target = json_object_get(pdoc, "target");
    const char *k;
    json_t *tv;
    if (labels && json_is_object(target)) json_object_foreach(target, k, tv) {
        if (json_is_string(tv) && (!strcmp(k, "flag") || !strcmp(k, "route") || !strcmp(k, "provider")))
          json_object_set(labels, k, tv);
      }
    json_decref(pdoc);
    if (m && m[0])
      raise_alert(e, "rollout_rolled_back", SEV_WARNING, "rollout", plan, labels, "%s", m);
    else
      raise_alert(e, "rollout_rolled_back", SEV_WARNING, "rollout", plan, labels, "rollout %s %s on a breach", plan,
                  strcmp(phase, "rolled_back") ? "rolling back" : "rolled back");
  }
  json_decref(doc);
  return 0;
}

/* One evaluation: every condition now, firing what is new and resolving what is gone. */
static void evaluate(sy_alerts *a) {
  eval e = {.a = a, .now = sy__clock_now(a->srv->clock), .leader = sy__store_leader(a->srv->store)};
  pthread_mutex_lock(&a->mu);
  a->npnames = 0;
  const sy_snap *s = sy__snap_enter(a->srv->store);
  sy__snap_list(s, SY_PROVIDERS_PREFIX, 0, NULL, list_provider, a);
  const sy_param *w = sy__snap_get(s, SY_ALERTS_WEBHOOK_PARAM, sizeof SY_ALERTS_WEBHOOK_PARAM - 1);
  if (w && w->latest && w->latest->kind == SY_KIND_STRING && w->latest->value_len < sizeof e.url &&
      (!strncmp(w->latest->value, "http://", 7) || !strncmp(w->latest->value, "https://", 8)))
    memcpy(e.url, w->latest->value, w->latest->value_len + 1);
  sy__snap_leave(a->srv->store);
  int stub = 0;
  for (int i = 0; i < a->npnames; i++) stub |= !strcmp(a->pnames[i], "stub");
  if (!stub && a->npnames < PROVIDERS_MAX) snprintf(a->pnames[a->npnames++], RESOURCE_MAX, "stub");

  for (int i = 0; i < a->nactive; i++) a->active[i].seen = 0;
  for (int i = 0; i < a->npnames; i++) eval_provider(&e, a->pnames[i]);
  sy__gateway_limits(a->srv->gw, on_limit, &e);
  sy_sources src;
  rule_sources(a->srv, &src);
  e.snap = sy__snap_enter(a->srv->store);
  if (a->rules) sy__rules_eval(a->rules, e.snap, e.now, &src, on_rule_fire, &e);
  sy__snap_list(e.snap, SY_ROLLOUT_STATE_PREFIX, 0, NULL, visit_rollout_state, &e);
  sy__snap_leave(a->srv->store);
  e.snap = NULL;
  for (int i = 0; i < a->nactive;) {
    alert *al = &a->active[i];
    if (al->seen) {
      i++;
      continue;
    }
    transition_to(&e, al, 1);
    json_decref(al->labels);
    memmove(al, al + 1, (size_t)(a->nactive - i - 1) * sizeof *al);
    a->nactive--;
  }
  pthread_mutex_unlock(&a->mu);
}

/* The evaluator: every EVAL_MS of the server's clock. It waits at most 250 ms of real time
 * at once, so that a clock moved by hand is noticed. */
static void *eval_main(void *arg) {
  sy_alerts *a = arg;
  pthread_mutex_lock(&a->wmu);
  while (!a->stopping) {
    pthread_mutex_unlock(&a->wmu);
    evaluate(a);
    int64_t due = sy__clock_tick(a->srv->clock) + EVAL_MS;
    pthread_mutex_lock(&a->wmu);
    for (;;) {
      int64_t left = due - sy__clock_tick(a->srv->clock);
      if (left <= 0 || wait_ms(a, &a->eval_cv, left < 250 ? left : 250)) break;
    }
  }
  pthread_mutex_unlock(&a->wmu);
  return NULL;
}

/* ---- life ---- */

sy_rc sy__alerts_start(sy_server *srv, sy_alerts **out) {
  sy_rc rc = SY_ENOMEM;
  pthread_condattr_t ca;
  *out = NULL;
  sy_alerts *a = calloc(1, sizeof *a);
  if (!a) return SY_ENOMEM;
  a->srv = srv;
  pthread_mutex_init(&a->mu, NULL);
  pthread_mutex_init(&a->wmu, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&a->eval_cv, &ca);
  pthread_cond_init(&a->send_cv, &ca);
  pthread_condattr_destroy(&ca);
  a->hist = calloc(HISTORY_MAX, sizeof *a->hist);
  a->queue = calloc(QUEUE_MAX, sizeof *a->queue);
  a->pnames = calloc(PROVIDERS_MAX, sizeof *a->pnames);
  if (!a->hist || !a->queue || !a->pnames || sy__rules_new(&a->rules)) goto out;
  srv->sources.alerts_count = sy__alerts_count; /* before the threads: the controller may ask at once */
  srv->sources.alerts_ctx = a;
  rc = SY_EINTERNAL;
  if (pthread_create(&a->send_thr, NULL, send_main, a)) goto out;
  a->send_started = 1;
  if (pthread_create(&a->eval_thr, NULL, eval_main, a)) goto out;
  a->eval_started = 1;
  rc = SY_OK;
out:
  if (rc) {
    sy__alerts_free(a);
    a = NULL;
  }
  *out = a;
  return rc;
}

void sy__alerts_stop(sy_alerts *a) {
  if (!a) return;
  pthread_mutex_lock(&a->wmu);
  a->stopping = 1;
  pthread_cond_broadcast(&a->eval_cv);
  pthread_cond_broadcast(&a->send_cv);
  pthread_mutex_unlock(&a->wmu);
  if (a->eval_started) pthread_join(a->eval_thr, NULL);
  if (a->send_started) pthread_join(a->send_thr, NULL);
  a->eval_started = a->send_started = 0;
}

void sy__alerts_free(sy_alerts *a) {
  if (!a) return;
  sy__alerts_stop(a);
  for (int i = 0; i < a->nactive; i++) json_decref(a->active[i].labels);
  free(a->active);
  if (a->queue)
    for (int i = 0; i < a->qn; i++) {
      free(a->queue[(a->qhead + i) % QUEUE_MAX].url);
      free(a->queue[(a->qhead + i) % QUEUE_MAX].body);
    }
  free(a->queue);
  free(a->hist);
  free(a->pnames);
  sy__rules_free(a->rules);
  pthread_cond_destroy(&a->eval_cv);
  pthread_cond_destroy(&a->send_cv);
  pthread_mutex_destroy(&a->mu);
  pthread_mutex_destroy(&a->wmu);
  free(a);
}

/* ---- what the rollout controller asks ---- */

/* A string label of al, or NULL. */
static const char *label(const alert *al, const char *key) {
  return json_string_value(json_object_get(al->labels, key));
}

int sy__alerts_count(void *alerts, int sev, const char *provider, const char *flag, char *what, size_t cap) {
  sy_alerts *a = alerts;
  int n = 0;
  if (what && cap) what[0] = 0;
  if (!a) return 0;
  pthread_mutex_lock(&a->mu);
  for (int i = 0; i < a->nactive; i++) {
    const alert *al = &a->active[i];
    /* a rollout's own alert (one rolled back) says what a plan did, not how the target is */
    if ((int)al->sev > sev || !strcmp(al->source, "rollout")) continue;
    const char *lp = label(al, "provider"), *lf = label(al, "flag");
    int match = (!provider && !flag) || (provider && lp && !strcmp(provider, lp)) ||
                (flag && lf && (!strcmp(flag, lf) || (flag[0] == '/' && !strcmp(flag + 1, lf))));
    if (!match) continue;
    if (!n++ && what && cap) snprintf(what, cap, "%s: %s", al->id, al->message);
  }
  pthread_mutex_unlock(&a->mu);
  return n;
}

/* ---- the API ---- */

static json_t *alert_json(const alert *al) {
  char since[32];
  iso_time(al->since_ms, since);
  return json_pack("{ss ss ss ss ss ss ss ss so}", "id", al->id, "name", al->name, "severity", sev_names[al->sev],
                   "state", "firing", "source", al->source, "resource", al->resource, "message", al->message, "since",
                   since, "labels", al->labels ? json_incref(al->labels) : json_object());
}

static enum MHD_Result api_history(sy_req *r, sy_alerts *a) {
  int64_t limit;
  if (sy__query_only(r, "limit") || sy__query_int(r, "limit", 1, HISTORY_MAX, 100, &limit)) return MHD_YES;
  json_t *list = json_array();
  pthread_mutex_lock(&a->mu);
  for (int i = 0; list && i < a->hist_n && i < limit; i++) {
    const transition *t = &a->hist[(a->hist_next - 1 - i + HISTORY_MAX) % HISTORY_MAX];
    char since[32], at[32];
    iso_time(t->since_ms, since);
    iso_time(t->at_ms, at);
    json_array_append_new(
        list, json_pack("{ss ss ss ss ss ss ss}", "id", t->id, "name", t->name, "severity", sev_names[t->sev], "state",
                        t->resolved ? "resolved" : "firing", "message", t->message, "since", since, "at", at));
  }
  pthread_mutex_unlock(&a->mu);
  if (!list) return sy__reply_rc(r, SY_ENOMEM, NULL);
  return sy__reply_json(r, 200, json_pack("{so}", "history", list));
}

enum MHD_Result sy__api_alerts(sy_req *r, const char *rest) {
  if (strcmp(r->method, "GET")) return sy__reply_error(r, 405, "MethodNotAllowed", "alerts are read-only");
  if (sy__require(r, SY_SCOPE_READ)) return MHD_YES;
  sy_alerts *a = r->srv->alerts;
  if (!a) return sy__reply_error(r, 503, "ServiceUnavailable", "alerts are not running");
  if (!strcmp(rest, "/history")) return api_history(r, a);
  if (*rest && strcmp(rest, "/")) return sy__reply_error(r, 404, "NotFound", "no route for %.200s", r->path);
  if (sy__query_only(r, "severity")) return MHD_YES;
  const char *want = sy__query(r, "severity");
  int sev = -1;
  for (int i = 0; want && i < SEV_COUNT; i++)
    if (!strcmp(want, sev_names[i])) sev = i;
  if (want && sev < 0)
    return sy__reply_error(r, 400, "ValidationException", "severity %.64s is not one of critical, warning, info", want);
  evaluate(a); /* a reader sees the state of now, not of the last tick */
  json_t *list = json_array();
  json_int_t counts[SEV_COUNT] = {0}, total = 0;
  pthread_mutex_lock(&a->mu);
  for (int i = 0; list && i < a->nactive; i++) {
    const alert *al = &a->active[i];
    if (sev >= 0 && (int)al->sev != sev) continue;
    counts[al->sev]++;
    total++;
    json_array_append_new(list, alert_json(al));
  }
  pthread_mutex_unlock(&a->mu);
  if (!list) return sy__reply_rc(r, SY_ENOMEM, NULL);
  return sy__reply_json(r, 200,
                        json_pack("{so s{sI sI sI sI}}", "alerts", list, "summary", "critical", counts[SEV_CRITICAL],
                                  "warning", counts[SEV_WARNING], "info", counts[SEV_INFO], "total", total));
}

/* gateway.c — the engine's front: plans a request (route, strategy, split, chain, models,
 * credentials), answers what needs no upstream call, and hands answers to the server. */
#include "gateway/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bucket.h"
#include "core/param.h"
#include "gateway/gw_int.h"

/* ---- the engine ---- */

sy_rc sy__gateway_new(sy_store *st, const sy_clock *clock, const char *ledger_path, sy_gateway **out) {
  *out = NULL;
  sy_gateway *gw = calloc(1, sizeof *gw);
  if (!gw) return SY_ENOMEM;
  gw->store = st;
  gw->clock = clock;
  pthread_mutex_init(&gw->mu, NULL);
  gw->held.next = gw->held.prev = &gw->held;
  gw->rnd = (uint64_t)sy__clock_mono_us() * 0x9E3779B97F4A7C15ull | 1;
  sy_rc rc = sy__gw_ledger_open(gw, ledger_path);
  if (rc) {
    sy__gateway_free(gw);
    return rc;
  }
  rc = sy__gw_loop_start(gw);
  if (rc) {
    sy__gateway_free(gw);
    return rc;
  }
  *out = gw;
  return SY_OK;
}

void sy__gateway_stop(sy_gateway *gw) {
  if (gw) sy__gw_loop_stop(gw);
}

void sy__gateway_free(sy_gateway *gw) {
  if (!gw) return;
  sy__gw_loop_stop(gw);
  sy__gw_ledger_close(gw);
  free(gw->spend);
  for (int i = 0; i < gw->nidx; i++) {
    free(gw->idx_route[i]);
    free(gw->idx_param[i]);
  }
  free(gw->idx_route);
  free(gw->idx_param);
  for (int i = 0; i < gw->nlast; i++) free(gw->last_param[i]);
  free(gw->last_param);
  free(gw->last_value);
  free(gw->pstates);
  free(gw->series);
  pthread_mutex_destroy(&gw->mu);
  free(gw);
}

/* ---- the strategy log ---- */

/* Sets (param non-NULL) or drops the strategy parameter of route. gw->mu held. */
static void idx_set(sy_gateway *gw, const char *route, const char *param) {
  for (int i = 0; i < gw->nidx; i++) {
    if (strcmp(gw->idx_route[i], route)) continue;
    free(gw->idx_param[i]);
    if (param) {
      gw->idx_param[i] = strdup(param);
      if (gw->idx_param[i]) return;
    }
    free(gw->idx_route[i]);
    gw->nidx--;
    gw->idx_route[i] = gw->idx_route[gw->nidx];
    gw->idx_param[i] = gw->idx_param[gw->nidx];
    return;
  }
  if (!param) return;
  if (gw->nidx == gw->cap_idx) {
    int cap = gw->cap_idx ? gw->cap_idx * 2 : 16;
    char **r = realloc(gw->idx_route, (size_t)cap * sizeof *r);
    if (!r) return;
    gw->idx_route = r;
    char **p = realloc(gw->idx_param, (size_t)cap * sizeof *p);
    if (!p) return;
    gw->idx_param = p;
    gw->cap_idx = cap;
  }
  char *rc = strdup(route), *pc = strdup(param);
  if (!rc || !pc) {
    free(rc);
    free(pc);
    return;
  }
  gw->idx_route[gw->nidx] = rc;
  gw->idx_param[gw->nidx++] = pc;
}

static int idx_has_param(sy_gateway *gw, const char *name) {
  for (int i = 0; i < gw->nidx; i++)
    if (!strcmp(gw->idx_param[i], name)) return 1;
  return 0;
}

static int index_route(void *ctx, const sy_param *p) {
  sy_gateway *gw = ctx;
  const sy_ver *v = p->latest;
  if (v && v->kind == SY_KIND_ROUTE && v->compiled) {
    const sy_route *r = v->compiled->obj;
    if (r->strategy) idx_set(gw, p->name, r->strategy);
  }
  return 0;
}

/* How a parameter was last written, for the log: by an access key (a SigV4 signature, the
 * SSM API) or by a token (the native API, the CLI). */
static const char *write_source(const sy_snap *s, const char *user) {
  return user && sy__snap_akey_named(s, user) ? "ssm" : "api";
}

/* The provider a route's strategy parameter names, or NULL. */
static const char *strategy_value(const sy_snap *s, const char *param) {
  const sy_param *p = param ? sy__snap_get(s, param, strlen(param)) : NULL;
  if (!p || !p->latest || p->latest->kind == SY_KIND_SECURESTRING) return NULL;
  const sy_ver *v = p->latest;
  size_t n = v->value_len;
  while (n && (v->value[n - 1] == '\n' || v->value[n - 1] == ' ')) n--; /* "stub\n" from a file */
  return sy__provider_name_valid(v->value, n) && n == strlen(v->value) ? v->value : NULL;
}

/* Whether a provider named name exists now: a document, or the built-in stub. */
static int provider_exists(const sy_snap *s, const char *name) {
  char path[sizeof SY_PROVIDERS_PREFIX + SY_PROVIDER_NAME_MAX];
  int n = snprintf(path, sizeof path, "%s%s", SY_PROVIDERS_PREFIX, name);
  const sy_param *p = n > 0 && (size_t)n < sizeof path ? sy__snap_get(s, path, (size_t)n) : NULL;
  return (p && p->latest && p->latest->kind == SY_KIND_PROVIDER) || !strcmp(name, "stub");
}

/* Logs the provider the strategy parameter param now picks: its value, or, when it is gone,
 * the provider field of each route that names it. gw->mu held. */
/* Whether provider is what was last logged for param; remembers it if not. gw->mu held. */
static int logged_before(sy_gateway *gw, const char *param, const char *provider, size_t n) {
  char v[SY_PROVIDER_NAME_MAX + 1];
  snprintf(v, sizeof v, "%.*s", (int)(n < SY_PROVIDER_NAME_MAX ? n : SY_PROVIDER_NAME_MAX), provider);
  for (int i = 0; i < gw->nlast; i++) {
    if (strcmp(gw->last_param[i], param)) continue;
    if (!strcmp(gw->last_value[i], v)) return 1;
    snprintf(gw->last_value[i], sizeof gw->last_value[i], "%s", v);
    return 0;
  }
  if (gw->nlast == gw->cap_last) {
    int cap = gw->cap_last ? gw->cap_last * 2 : 16;
    char **np = realloc(gw->last_param, (size_t)cap * sizeof *np);
    if (!np) return 0;
    gw->last_param = np;
    char(*nv)[SY_PROVIDER_NAME_MAX + 1] = realloc(gw->last_value, (size_t)cap * sizeof *nv);
    if (!nv) return 0;
    gw->last_value = nv;
    gw->cap_last = cap;
  }
  if (!(gw->last_param[gw->nlast] = strdup(param))) return 0;
  snprintf(gw->last_value[gw->nlast++], SY_PROVIDER_NAME_MAX + 1, "%s", v);
  return 0;
}

static void log_strategy(sy_gateway *gw, const sy_snap *s, const char *param) {
  const sy_param *p = sy__snap_get(s, param, strlen(param));
  if (p && p->latest && p->latest->kind != SY_KIND_SECURESTRING) {
    const sy_ver *v = p->latest;
    if (logged_before(gw, param, v->value, v->value_len)) return; /* the same value written again */
    sy__log_stderr("info", "Provider strategy loaded",
                   json_pack("{ss# ss ss}", "provider", v->value, (int)(v->value_len > 64 ? 64 : v->value_len),
                             "source", write_source(s, v->modified_user), "parameter", param));
    const char *named = strategy_value(s, param);
    if (!named || !provider_exists(s, named)) /* a typo: each route's own provider serves */
      sy__log_stderr(
          "warn", "Provider strategy names no provider; each route that uses it falls back to its provider field",
          json_pack("{ss# ss}", "value", v->value, (int)(v->value_len > 64 ? 64 : v->value_len), "parameter", param));
    return;
  }
  for (int i = 0; i < gw->nidx; i++) {
    if (strcmp(gw->idx_param[i], param)) continue;
    const sy_param *rp = sy__snap_get(s, gw->idx_route[i], strlen(gw->idx_route[i]));
    const sy_ver *v = rp ? rp->latest : NULL;
    const sy_route *r = v && v->kind == SY_KIND_ROUTE && v->compiled ? v->compiled->obj : NULL;
    if (r && r->provider[0] && !logged_before(gw, param, r->provider, strlen(r->provider)))
      sy__log_stderr("info", "Provider strategy loaded",
                     json_pack("{ss ss ss ss}", "provider", r->provider, "source", "default", "parameter", param,
                               "route", gw->idx_route[i]));
  }
}

void sy__gateway_publish(sy_gateway *gw, const sy_event *ev, size_t n) {
  pthread_mutex_lock(&gw->mu);
  const sy_snap *s = sy__snap_enter(gw->store);
  if (!gw->indexed) { /* the routes stored before the first change */
    gw->indexed = 1;
    sy__snap_list(s, "", 1, NULL, index_route, gw);
  }
  for (size_t i = 0; i < n; i++) {
    const sy_event *e = &ev[i];
    if (!e->name || e->name[0] != '/' || !e->action) continue;
    int put = !strcmp(e->action, "put") || !strcmp(e->action, "rollback") || !strcmp(e->action, "import");
    int del = !strcmp(e->action, "delete");
    if (!put && !del) continue;
    if (e->kind == SY_KIND_ROUTE && put) { /* a route that names a strategy loads it */
      const sy_param *p = sy__snap_get(s, e->name, strlen(e->name));
      const sy_ver *v = p ? p->latest : NULL;
      const sy_route *r = v && v->kind == SY_KIND_ROUTE && v->compiled ? v->compiled->obj : NULL;
      idx_set(gw, e->name, r ? r->strategy : NULL);
      if (r && r->strategy) log_strategy(gw, s, r->strategy);
      continue;
    }
    if (idx_has_param(gw, e->name)) log_strategy(gw, s, e->name);
    if (del) idx_set(gw, e->name, NULL); /* a deleted route */
  }
  sy__snap_leave(gw->store);
  pthread_mutex_unlock(&gw->mu);
}

/* ---- the server's side of a request ---- */

ssize_t sy__gw_stream_read(sy_gw_req *q, char *buf, size_t max, void (*park)(void *), void *park_ctx) {
  pthread_mutex_lock(&q->mu);
  ssize_t n;
  if (q->out_off < q->out_len) {
    size_t k = q->out_len - q->out_off;
    if (k > max) k = max;
    memcpy(buf, q->out + q->out_off, k);
    q->out_off += k;
    n = (ssize_t)k;
    int resume = q->paused && q->out_len - q->out_off < SY_GW_OUT_HIGH / 2;
    if (resume) q->paused = 0;
    pthread_mutex_unlock(&q->mu);
    if (resume) sy__gw_loop_poke(q->gw, q);
    return n;
  }
  if (q->ended) {
    pthread_mutex_unlock(&q->mu);
    return -1;
  }
  q->parked = 1;
  park(park_ctx);
  pthread_mutex_unlock(&q->mu);
  return 0;
}

void sy__gw_release(sy_gw_req *q) {
  pthread_mutex_lock(&q->mu);
  q->released = 1;
  q->wake = NULL;
  int cancel = q->dispatched && !q->ended;
  pthread_mutex_unlock(&q->mu);
  if (cancel) sy__gw_loop_poke(q->gw, q);
  sy__gw_req_unref(q);
}

void sy__gw_dispatch(sy_gw_req *q) {
  pthread_mutex_lock(&q->mu);
  q->dispatched = 1;
  q->refs++; /* the loop's */
  pthread_mutex_unlock(&q->mu);
  sy__gw_loop_submit(q->gw, q);
}

/* ---- answers that need no provider ---- */

static void fail_now(sy_gw_req *q, int status, const char *type, const char *code, const char *param, const char *msg) {
  sy_gw_fail f;
  sy__gw_fail_set(&f, status, type, code, param, 0, "%s", msg);
  sy__gw_finish_fail(q, &f);
}

/* ---- planning ---- */

typedef struct plan_ctx {
  sy_gw_req *q;
  const sy_snap *s;
  char missing[SY_PROVIDER_NAME_MAX + 1]; /* the first provider named that does not exist */
} plan_ctx;

/* Adds provider name to the chain, once; a name with no document (other than the built-in
 * stub) is noted and skipped. */
static void plan_add(plan_ctx *c, const char *name) {
  sy_gw_req *q = c->q;
  if (!name || !*name || q->nplan == SY_GW_PLAN_MAX) return;
  for (int i = 0; i < q->nplan; i++)
    if (!strcmp(q->plan[i].p->name, name)) return;
  char path[sizeof SY_PROVIDERS_PREFIX + SY_PROVIDER_NAME_MAX];
  int n = snprintf(path, sizeof path, "%s%s", SY_PROVIDERS_PREFIX, name);
  const sy_param *p = n > 0 && (size_t)n < sizeof path ? sy__snap_get(c->s, path, (size_t)n) : NULL;
  sy_gw_step *st = &q->plan[q->nplan];
  if (p && p->latest && p->latest->kind == SY_KIND_PROVIDER && p->latest->compiled) {
    st->ver = sy__ver_ref(p->latest);
    st->p = st->ver->compiled->obj;
  } else if (!strcmp(name, "stub")) {
    st->p = sy__provider_builtin_stub();
  } else {
    if (!c->missing[0]) snprintf(c->missing, sizeof c->missing, "%s", name);
    return;
  }
  q->nplan++;
}

static int lists_model(void *ctx, const sy_param *p) {
  const char **asked = ctx;
  const sy_ver *v = p->latest;
  if (v && v->kind == SY_KIND_PROVIDER && v->compiled && sy__provider_has_model(v->compiled->obj, *asked) &&
      ((const sy_provider *)v->compiled->obj)->nmodels) {
    *asked = NULL; /* found */
    return 1;
  }
  return 0;
}

/* The model each step asks its provider for: the client's when the provider serves it, else
 * the provider's default (a swap keeps working for clients that name the old provider's
 * model). Returns 0, or -1 when the client named a model that no provider of the chain
 * serves and no provider at all lists. */
static int plan_models(sy_gw_req *q, const sy_snap *s, const char *asked) {
  int known = !asked;
  for (int i = 0; i < q->nplan; i++) {
    const sy_provider *p = q->plan[i].p;
    if (asked && (p->nmodels == 0 || sy__provider_has_model(p, asked))) known = 1;
  }
  if (!known) {
    const char *probe = asked;
    sy__snap_list(s, SY_PROVIDERS_PREFIX, 0, NULL, lists_model, &probe);
    if (probe) return -1;
  }
  for (int i = 0; i < q->nplan; i++) {
    sy_gw_step *st = &q->plan[i];
    const char *m = asked && sy__provider_has_model(st->p, asked) ? asked
                    : st->p->nmodels                              ? st->p->models[0]
                    : asked                                       ? asked
                                                                  : st->p->name;
    snprintf(st->model, sizeof st->model, "%s", m);
  }
  return 0;
}

/* Reads each step's API key from the SecureString its provider names. */
static void plan_keys(sy_gw_req *q, const sy_snap *s) {
  for (int i = 0; i < q->nplan; i++) {
    sy_gw_step *st = &q->plan[i];
    const char *cred = st->p->credentials;
    if (!cred) continue;
    const sy_param *p = sy__snap_get(s, cred, strlen(cred));
    if (!p || !p->latest || sy__store_reveal(q->gw->store, p->name, p->latest, &st->key, &st->key_len)) {
      st->missing_key = 1;
      st->key = NULL;
    }
  }
}

static void normalise_route(const char *in, char *out, size_t cap) {
  snprintf(out, cap, "%s%s", in[0] == '/' ? "" : "/", in);
}

sy_gw_req *sy__gw_start(sy_gateway *gw, const sy_gw_in *in, int *ready) {
  *ready = 1;
  sy_gw_req *q = calloc(1, sizeof *q);
  if (!q) {
    json_decref(in->body);
    return NULL;
  }
  pthread_mutex_init(&q->mu, NULL);
  q->gw = gw;
  q->refs = 1;
  q->op = in->op;
  q->body = in->body;
  q->t0_us = in->t0_us;
  q->wake = in->wake;
  q->wake_ctx = in->wake_ctx;
  q->status = 500;
  snprintf(q->request_id, sizeof q->request_id, "%s", in->request_id);
  pthread_mutex_lock(&gw->mu);
  gw->requests_total++;
  pthread_mutex_unlock(&gw->mu);

  sy_gw_fail f;
  if (sy__gw_check_request(q->op, q->body, &f)) {
    sy__gw_finish_fail(q, &f);
    return q;
  }
  q->body_bytes = in->body_len;
  q->stream = q->op == SY_GW_CHAT && json_is_true(json_object_get(q->body, "stream"));
  q->include_usage =
      q->stream && json_is_true(json_object_get(json_object_get(q->body, "stream_options"), "include_usage"));
  const char *asked = json_string_value(json_object_get(q->body, "model"));
  if (asked && strlen(asked) >= sizeof q->plan[0].model) {
    fail_now(q, 400, "invalid_request_error", "model_not_found", "model", "model is longer than 128 bytes");
    return q;
  }
  const char *subject = in->subject;
  if (!subject) subject = json_string_value(json_object_get(q->body, "user"));
  if (!subject) subject = q->request_id;
  if (in->route && strlen(in->route) >= sizeof q->route - 1) {
    fail_now(q, 400, "invalid_request_error", "route_not_found", NULL,
             "X-Switchyard-Route is longer than a parameter name may be");
    return q;
  }
  normalise_route(in->route ? in->route : SY_DEFAULT_ROUTE, q->route, sizeof q->route);

  plan_ctx c = {q, NULL, ""};
  const sy_snap *s = c.s = sy__snap_enter(gw->store);
  const sy_param *rp = sy__snap_get(s, q->route, strlen(q->route));
  const sy_route *route = NULL;
  char err[600] = "";
  int status = 0;
  if (in->provider) { /* a probe: this provider alone */
    q->probe = 1;
    snprintf(q->route, sizeof q->route, "(probe)");
    rp = NULL;
    if (sy__provider_name_valid(in->provider, strlen(in->provider))) plan_add(&c, in->provider);
    if (!q->nplan) {
      status = 404, snprintf(err, sizeof err, "provider %.64s does not exist", in->provider);
    } else {
      const sy_provider *pp = q->plan[0].p;
      q->deadline_tick = sy__clock_tick(gw->clock) + pp->connect_ms + pp->total_ms;
    }
  } else if (!rp || !rp->latest) {
    if (in->route) status = 404, snprintf(err, sizeof err, "route %.300s does not exist", q->route);
  } else if (rp->latest->kind != SY_KIND_ROUTE || !rp->latest->compiled) {
    status = 400,
    snprintf(err, sizeof err, "%.300s is a %s document, not a Route", q->route, sy__kind_name(rp->latest->kind));
  } else {
    route = rp->latest->compiled->obj;
  }
  if (q->probe) {
    /* planned above */
  } else if (!status && !route) { /* no default route: the built-in stub answers */
    plan_add(&c, "stub");
    q->deadline_tick = sy__clock_tick(gw->clock) + 120000;
  } else if (!status) {
    const char *primary = strategy_value(s, route->strategy);
    if (!primary || (route->provider[0] && !provider_exists(s, primary))) primary = route->provider;
    const char *chosen = route->nsplit ? sy__route_split_pick(route, sy_bucket(route->salt, subject)) : NULL;
    if (chosen) plan_add(&c, chosen);
    plan_add(&c, primary);
    for (int i = 0; i < route->nfallbacks; i++) plan_add(&c, route->fallbacks[i]);
    q->deadline_tick = sy__clock_tick(gw->clock) + route->deadline_ms;
    if (!q->nplan)
      status = 503,
      snprintf(err, sizeof err, "route %.300s names no provider that exists (provider %s has no document)", q->route,
               c.missing);
  }
  if (!status && plan_models(q, s, asked))
    status = 404, snprintf(err, sizeof err, "the model %.200s is not served on route %.300s", asked, q->route);
  if (!status && route && route->model[0] && route->provider[0]) /* its provider's model (an activation's) */
    for (int i = 0; i < q->nplan; i++)
      if (!strcmp(q->plan[i].p->name, route->provider) && sy__provider_has_model(q->plan[i].p, route->model))
        snprintf(q->plan[i].model, sizeof q->plan[i].model, "%s", route->model);
  if (!status) plan_keys(q, s);
  if (!status && !q->probe) sy__gw_budget_plan(q, s);
  sy__snap_leave(gw->store);
  if (status) {
    fail_now(q, status, status == 503 ? "api_error" : "invalid_request_error",
             status == 404 && strstr(err, "the model") ? "model_not_found"
             : status == 404                           ? "route_not_found"
             : status == 503                           ? "provider_not_found"
                                                       : "invalid_route",
             status == 404 && strstr(err, "the model") ? "model" : NULL, err);
    return q;
  }
  if (q->plan[0].p->type == SY_PROVIDER_STUB) {
    sy__gw_answer_stub(q);
    return q;
  }
  *ready = 0;
  return q;
}

/* ---- models ---- */

static int list_models(void *ctx, const sy_param *p) {
  json_t *data = ctx;
  const sy_ver *v = p->latest;
  if (!v || v->kind != SY_KIND_PROVIDER || !v->compiled) return 0;
  const sy_provider *pr = v->compiled->obj;
  for (int i = 0; i < pr->nmodels; i++)
    json_array_append_new(
        data, json_pack("{ss ss si ss}", "id", pr->models[i], "object", "model", "created", 0, "owned_by", pr->name));
  return 0;
}

json_t *sy__gateway_models(sy_gateway *gw) {
  json_t *data = json_array();
  if (!data) return NULL;
  json_array_append_new(data,
                        json_pack("{ss ss si ss}", "id", "stub", "object", "model", "created", 0, "owned_by", "stub"));
  const sy_snap *s = sy__snap_enter(gw->store);
  sy__snap_list(s, SY_PROVIDERS_PREFIX, 0, NULL, list_models, data);
  sy__snap_leave(gw->store);
  return json_pack("{ss so}", "object", "list", "data", data);
}

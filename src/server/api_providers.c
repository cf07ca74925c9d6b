/* api_providers.c — /api/v1/providers (runbook 001): list, probe, preflight, activate, status, metrics and
 * series. */
#include "server/api_providers.h"

#include "server/api_gateway.h"
#include "server/api_params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/civil.h"
#include "core/provider.h"
#include "gateway/gateway.h"

#define NAMES_MAX 1024 /* the known providers' names in a 404's message */

/* A provider as the snapshot holds it: its compiled document (or the built-in stub) and the
 * document's version (0 for the built-in). Borrowed until sy__snap_leave. */
typedef struct pfound {
  const sy_provider *p;
  int64_t version;
} pfound;

/* What a probe (test-connection, preflight) keeps across its wait (arena memory). */
typedef struct probe {
  sy_gw_req *q;
  int64_t t0_us;
  char provider[SY_PROVIDER_NAME_MAX + 1];
  const char *model; /* asked, else the provider's default; NULL when neither */
  json_t *checks;    /* preflight: the checks before the connection's (owned); NULL: test-connection */
  int ready;         /* preflight: every check so far passed */
} probe;

/* What an activation keeps across its write (arena memory). */
typedef struct activation {
  char provider[SY_PROVIDER_NAME_MAX + 1];
  char previous[SY_PROVIDER_NAME_MAX + 1];
  const char *model; /* NULL: none */
} activation;

/* A number of milliseconds with 3 decimals. */
static json_t *ms_json(double ms) { return json_real(round(ms * 1000.0) / 1000.0); }

static void release_json(void *v) { json_decref(v); }

/* ---- what the snapshot holds ---- */

/* The provider named name: its document at /switchyard/providers/NAME (of kind Provider), or
 * the built-in stub when no document replaces it. 0 found, -1 none. */
static int find_provider(const sy_snap *s, const char *name, pfound *out) {
  char path[sizeof SY_PROVIDERS_PREFIX + SY_PROVIDER_NAME_MAX];
  int n = snprintf(path, sizeof path, "%s%s", SY_PROVIDERS_PREFIX, name);
  const sy_param *p = n > 0 && (size_t)n < sizeof path ? sy__snap_get(s, path, (size_t)n) : NULL;
  memset(out, 0, sizeof *out);
  if (p && p->latest && p->latest->kind == SY_KIND_PROVIDER && p->latest->compiled) {
    out->p = p->latest->compiled->obj;
    out->version = p->latest->version;
    return 0;
  }
  if (strcmp(name, "stub") != 0) return -1;
  out->p = sy__provider_builtin_stub();
  return 0;
}

typedef struct walk {
  int (*each)(void *ctx, const sy_provider *p, int64_t version);
  void *ctx;
  int stub_seen;
} walk;

static int walk_one(void *ctx, const sy_param *p) {
  walk *w = ctx;
  const sy_ver *v = p->latest;
  if (!v || v->kind != SY_KIND_PROVIDER || !v->compiled) return 0;
  const sy_provider *pv = v->compiled->obj;
  if (!strcmp(pv->name, "stub")) w->stub_seen = 1;
  return w->each(w->ctx, pv, v->version);
}

/* Calls each for every provider: the documents in name order, then the built-in stub unless
 * a document replaces it. each returns 1 to stop. */
static void each_provider(const sy_snap *s, int (*each)(void *, const sy_provider *, int64_t), void *ctx) {
  walk w = {each, ctx, 0};
  sy__snap_list(s, SY_PROVIDERS_PREFIX, 0, NULL, walk_one, &w);
  if (!w.stub_seen) each(ctx, sy__provider_builtin_stub(), 0);
}

typedef struct names {
  char text[NAMES_MAX];
  size_t len;
} names;

static int add_name(void *ctx, const sy_provider *p, int64_t version) {
  names *nm = ctx;
  (void)version;
  int n = snprintf(nm->text + nm->len, sizeof nm->text - nm->len, "%s%s", nm->len ? ", " : "", p->name);
  if (n < 0 || (size_t)n >= sizeof nm->text - nm->len) {
    nm->text[nm->len] = 0;
    return 1;
  }
  nm->len += (size_t)n;
  return 0;
}

/* Whether name is a provider (0, *pf set) or not (-1, nm holding the names of those that are). */
static int lookup(const sy_snap *s, const char *name, pfound *pf, names *nm) {
  if (!find_provider(s, name, pf)) return 0;
  nm->len = 0;
  nm->text[0] = 0;
  each_provider(s, add_name, nm);
  return -1;
}

/* 404 naming the providers that exist. */
static enum MHD_Result reply_unknown(sy_req *r, const char *name, const names *nm) {
  return sy__reply_error(r, 404, "ProviderNotFound", "provider %s does not exist; known providers: %s", name, nm->text);
}

/* The provider a strategy parameter names (its value, trailing newlines and spaces cut), or
 * NULL: as the gateway reads it. */
static int strategy_value(const sy_snap *s, const char *param, char out[SY_PROVIDER_NAME_MAX + 1]) {
  const sy_param *p = param ? sy__snap_get(s, param, strlen(param)) : NULL;
  if (!p || !p->latest || p->latest->kind == SY_KIND_SECURESTRING) return -1;
  const sy_ver *v = p->latest;
  size_t n = v->value_len;
  while (n && (v->value[n - 1] == '\n' || v->value[n - 1] == ' ')) n--;
  if (!sy__provider_name_valid(v->value, n) || n != strlen(v->value)) return -1;
  memcpy(out, v->value, n);
  out[n] = 0;
  return 0;
}

/* The default route's document, if it is a Route: its latest version. */
static const sy_ver *default_route(const sy_snap *s) {
  const sy_param *p = sy__snap_get(s, SY_DEFAULT_ROUTE, strlen(SY_DEFAULT_ROUTE));
  return p && p->latest && p->latest->kind == SY_KIND_ROUTE && p->latest->compiled ? p->latest : NULL;
}

/* The active provider: the default route's primary (its strategy parameter's value when that
 * names a provider, else its provider field), "stub" without a default route; and the model
 * the route asks of it (a new reference, or NULL). */
static void active_of(const sy_snap *s, char name[SY_PROVIDER_NAME_MAX + 1], json_t **model) {
  const sy_ver *v = default_route(s);
  pfound pf;
  *model = NULL;
  snprintf(name, SY_PROVIDER_NAME_MAX + 1, "stub");
  if (!v) return;
  const sy_route *route = v->compiled->obj;
  char named[SY_PROVIDER_NAME_MAX + 1];
  int has = !strategy_value(s, route->strategy, named);
  if (!has || (route->provider[0] && find_provider(s, named, &pf)))
    snprintf(name, SY_PROVIDER_NAME_MAX + 1, "%s", route->provider);
  else
    snprintf(name, SY_PROVIDER_NAME_MAX + 1, "%s", named);
  json_t *doc = json_loadb(v->value, v->value_len, 0, NULL);
  json_t *m = json_object_get(doc, "model");
  if (json_is_string(m)) *model = json_incref(m);
  json_decref(doc);
}

/* The names of p's models as "a, b" into out. */
static void models_text(const sy_provider *p, char *out, size_t cap) {
  size_t len = 0;
  out[0] = 0;
  for (int i = 0; i < p->nmodels; i++) {
    int n = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", p->models[i]);
    if (n < 0 || (size_t)n >= cap - len) break;
    len += (size_t)n;
  }
}

static const char *breaker_name(sy_breaker_state b) {
  return b == SY_BREAKER_OPEN ? "open" : b == SY_BREAKER_HALF_OPEN ? "half_open" : "closed";
}

/* Whether a hard spending limit that applies to provider name (global, or its own) was reached
 * today: its calls are refused as if its breaker were open (gateway/gw_budget.c). */
typedef struct budget_hit {
  const char *name;
  int hit;
} budget_hit;

static void hard_one(void *ctx, const sy_gw_limit_state *l) {
  budget_hit *b = ctx;
  if (l->level != SY_LIMIT_HARD) return;
  if (!strcmp(l->limit_type, "global") || (!strcmp(l->limit_type, "per_provider") && !strcmp(l->scope, b->name)))
    b->hit = 1;
}

/* The provider's view, with a reached hard budget shown as its breaker open. */
static void provider_view(sy_req *r, const char *name, sy_gw_pinfo *in, int *budget) {
  sy__gateway_provider_info(r->srv->gw, name, in);
  budget_hit b = {name, 0};
  sy__gateway_limits(r->srv->gw, hard_one, &b);
  *budget = b.hit;
  if (b.hit) in->breaker = SY_BREAKER_OPEN;
}

static const char *connection_status(const sy_gw_pinfo *in) {
  if (in->breaker == SY_BREAKER_OPEN) return "circuit_open";
  if (!in->known) return "untested";
  return in->last_fail_ms > in->last_ok_ms ? "failing" : "connected";
}

/* ---- GET /api/v1/providers ---- */

typedef struct listing {
  sy_req *r;
  json_t *arr;
  const char *active;
  int err;
} listing;

static int list_one(void *ctx, const sy_provider *p, int64_t version) {
  listing *l = ctx;
  sy_gw_pinfo in;
  int budget = 0;
  provider_view(l->r, p->name, &in, &budget);
  json_t *models = json_array();
  for (int i = 0; models && i < p->nmodels; i++) json_array_append_new(models, json_string(p->models[i]));
  json_t *e = json_pack("{ss ss so so so ss sb ss sI}", "name", p->name, "type", sy__provider_type_name(p->type),
                        "base_url", p->base_url && p->base_url[0] ? json_string(p->base_url) : json_null(), "models",
                        models, "credentials", p->credentials ? json_string(p->credentials) : json_null(),
                        "connection_status", connection_status(&in), "is_active", !strcmp(p->name, l->active),
                        "breaker", breaker_name(in.breaker), "version", (json_int_t)version);
  if (!e || json_array_append_new(l->arr, e)) l->err = 1;
  return l->err;
}

static enum MHD_Result list_providers(sy_req *r) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
  char active[SY_PROVIDER_NAME_MAX + 1];
  json_t *model = NULL;
  listing l = {r, json_array(), active, 0};
  const sy_snap *s = sy__snap_enter(r->srv->store);
  active_of(s, active, &model);
  if (l.arr) each_provider(s, list_one, &l);
  sy__snap_leave(r->srv->store);
  json_t *out = l.arr && !l.err ? json_pack("{so ss so*}", "providers", l.arr, "active_provider", active,
                                            "active_model", model ? model : json_null())
                                : NULL;
  if (!out) {
    if (l.err || !l.arr) json_decref(l.arr);
    json_decref(model);
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  return sy__reply_json(r, 200, out);
}

/* ---- the request's optional body ---- */

/* An optional JSON body {"model"} (and "reason" for a write: into r->op.reason): *model stays
 * NULL when absent. -1 when refused (replied). */
static int model_body(sy_req *r, const char **model, int writes) {
  *model = NULL;
  if (!r->body_len) return 0;
  if (sy__parse_body(r)) return -1;
  const char *k;
  json_t *v;
  json_object_foreach(r->json, k, v) {
    if (strcmp(k, "model") != 0 && (!writes || strcmp(k, "reason") != 0))
      return sy__reply_error(r, 400, "ValidationException", "unknown field %.100s: the body takes only model%s", k,
                             writes ? " and reason" : ""),
             -1;
  }
  if (writes && sy__reason_field(r, r->json)) return -1;
  size_t len = 0;
  if (sy__field_str(r, r->json, "", "model", model, &len)) return -1;
  if (*model && (!len || len > 127))
    return sy__reply_error(r, 400, "ValidationException", "model must be 1 to 127 bytes"), -1;
  return 0;
}

/* ---- probes: test-connection, preflight ---- */

/* The probe's answer: success, its status and latency, and the error's message. */
static void probe_result(probe *pr, int *ok, int *status, double *ms, const char **model, char *err, size_t errsz) {
  sy_gw_head h;
  sy__gw_head(pr->q, &h);
  *ms = (double)(sy__clock_mono_us() - pr->t0_us) / 1000.0;
  *status = h.status;
  *ok = h.status >= 200 && h.status < 300;
  *model = pr->model;
  err[0] = 0;
  size_t len = 0;
  char *body = h.stream ? NULL : sy__gw_take_body(pr->q, &len);
  json_t *bj = body ? json_loadb(body, len, 0, NULL) : NULL;
  free(body);
  const char *msg = json_string_value(json_object_get(json_object_get(bj, "error"), "message"));
  if (!*ok) snprintf(err, errsz, "%s", msg ? msg : "the provider's answer was not a success");
  json_decref(bj);
}

static enum MHD_Result test_done(sy_req *r) {
  probe *pr = r->api_ctx;
  int ok = 0, status = 0;
  double ms = 0;
  const char *model = NULL;
  char err[512];
  probe_result(pr, &ok, &status, &ms, &model, err, sizeof err);
  /* "reason" says why in words either way; "error" is the failure's message, null on success */
  char reason[600];
  if (ok)
    snprintf(reason, sizeof reason, "a minimal chat call answered %d", status);
  else
    snprintf(reason, sizeof reason, "%s", err);
  return sy__reply_json(r, 200,
                        json_pack("{sb ss so so si so ss}", "success", ok, "provider", pr->provider, "model",
                                  model ? json_string(model) : json_null(), "latency_ms", ms_json(ms), "status", status,
                                  "error", ok ? json_null() : json_string(err), "reason", reason));
}

/* The budget check of a preflight: every limit that applies to the provider (global, its own,
 * any route's: a route's limit applies when the provider serves that route) has headroom. */
typedef struct budget_walk {
  const char *provider;
  int limits, pass;
  char detail[512];
} budget_walk;

static void budget_one(void *ctx, const sy_gw_limit_state *l) {
  budget_walk *b = ctx;
  if (!strcmp(l->limit_type, "per_provider") && strcmp(l->scope, b->provider)) return;
  b->limits++;
  double left = l->hard_usd - l->consumed_usd - l->reserved_usd;
  size_t n = strlen(b->detail);
  if (n + 2 >= sizeof b->detail) return;
  snprintf(b->detail + n, sizeof b->detail - n, "%s%s %s: $%.4f of $%.4f left today", n ? "; " : "", l->limit_type,
           l->scope[0] ? l->scope : "(all)", left > 0 ? left : 0.0, l->hard_usd);
  if (l->level == SY_LIMIT_HARD || left <= 0) b->pass = 0;
}

static enum MHD_Result preflight_done(sy_req *r) {
  probe *pr = r->api_ctx;
  int ok = 0, status = 0;
  double ms = 0;
  const char *model = NULL;
  char err[512], detail[640];
  probe_result(pr, &ok, &status, &ms, &model, err, sizeof err);
  if (ok)
    snprintf(detail, sizeof detail, "a minimal chat call answered %d", status);
  else
    snprintf(detail, sizeof detail, "a minimal chat call failed (%d): %s", status, err);
  json_array_append_new(pr->checks, json_pack("{ss sb ss so}", "name", "connection", "pass", ok, "detail", detail,
                                              "latency_ms", ms_json(ms)));
  budget_walk bw = {pr->provider, 0, 1, ""};
  sy__gateway_limits(r->srv->gw, budget_one, &bw);
  if (!bw.limits) snprintf(bw.detail, sizeof bw.detail, "no spending limit applies");
  json_array_append_new(pr->checks, json_pack("{ss sb ss}", "name", "budget", "pass", bw.pass, "detail", bw.detail));
  return sy__reply_json(
      r, 200,
      json_pack("{ss sb sO}", "provider", pr->provider, "ready", pr->ready && ok && bw.pass, "checks", pr->checks));
}

/* Starts the probe of pr->provider (a minimal chat call, pr->model when asked) and answers
 * with finish once it is done. */
static enum MHD_Result probe_start(sy_req *r, probe *pr, const char *asked, sy_finish_fn finish) {
  json_t *body = json_pack("{s[{ss ss}] si}", "messages", "role", "user", "content", "ping", "max_tokens", 1);
  if (body && asked) json_object_set_new(body, "model", json_string(asked));
  if (!body) return sy__reply_error(r, 500, "InternalError", "out of memory");
  sy_gw_in in = {.op = SY_GW_CHAT,
                 .provider = pr->provider,
                 .body = body,
                 .request_id = r->request_id ? r->request_id : "probe",
                 .t0_us = r->start_us};
  pr->t0_us = sy__clock_mono_us();
  r->api_ctx = pr;
  return sy__gw_serve(r, &in, &pr->q, finish);
}

static probe *probe_new(sy_req *r, const char *name) {
  probe *pr = sy__arena_alloc(r->arena, sizeof *pr);
  if (!pr) return NULL;
  memset(pr, 0, sizeof *pr);
  snprintf(pr->provider, sizeof pr->provider, "%s", name);
  return pr;
}

/* The model a probe asks for: the one given, else the provider's default (copied to the arena). */
static int probe_model(sy_req *r, probe *pr, const sy_provider *p, const char *asked) {
  const char *m = asked ? asked : p->nmodels ? p->models[0] : NULL;
  if (!m) return 0;
  pr->model = sy__arena_strdup(r->arena, m);
  return pr->model ? 0 : -1;
}

static enum MHD_Result test_connection(sy_req *r, const char *name) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "")) return MHD_YES;
  const char *asked = NULL;
  if (model_body(r, &asked, 0)) return MHD_YES;
  probe *pr = probe_new(r, name);
  if (!pr) return sy__reply_error(r, 500, "InternalError", "out of memory");
  pfound pf;
  names nm;
  const sy_snap *s = sy__snap_enter(r->srv->store);
  int missing = lookup(s, name, &pf, &nm);
  int rc = missing ? 0 : probe_model(r, pr, pf.p, asked);
  sy__snap_leave(r->srv->store);
  if (missing) return reply_unknown(r, name, &nm);
  if (rc) return sy__reply_error(r, 500, "InternalError", "out of memory");
  return probe_start(r, pr, asked, test_done);
}

/* The credentials check: the SecureString p names exists and opens. Never says what it holds. */
static json_t *check_credentials(sy_req *r, const sy_snap *s, const sy_provider *p) {
  char detail[1200];
  int pass = 0;
  if (!p->credentials) {
    pass = 1;
    snprintf(detail, sizeof detail, "none needed");
  } else {
    const sy_param *c = sy__snap_get(s, p->credentials, strlen(p->credentials));
    if (!c || !c->latest) {
      snprintf(detail, sizeof detail, "the credentials parameter %.1000s does not exist", p->credentials);
    } else if (c->latest->kind != SY_KIND_SECURESTRING) {
      snprintf(detail, sizeof detail, "the credentials parameter %.1000s is a %s, not a SecureString", p->credentials,
               sy__kind_name(c->latest->kind));
    } else {
      char *plain = NULL;
      size_t len = 0;
      sy_rc rc = sy__store_reveal(r->srv->store, p->credentials, c->latest, &plain, &len);
      if (rc)
        snprintf(detail, sizeof detail, "the credentials parameter %.1000s cannot be decrypted: %s", p->credentials,
                 sy_strerror(rc));
      else if (!len)
        snprintf(detail, sizeof detail, "the credentials parameter %.1000s is empty", p->credentials);
      else
        pass = 1, snprintf(detail, sizeof detail, "%.1000s (version %lld) is present and decrypts", p->credentials,
                           (long long)c->latest->version);
      if (plain) sy__reveal_free(plain, len);
    }
  }
  return json_pack("{ss sb ss}", "name", "credentials", "pass", pass, "detail", detail);
}

static json_t *check_model(const sy_provider *p, const char *asked) {
  char detail[1400], list[1024];
  int pass = 1;
  models_text(p, list, sizeof list);
  if (!asked && p->nmodels)
    snprintf(detail, sizeof detail, "no model asked: the default %.200s", p->models[0]);
  else if (!asked)
    snprintf(detail, sizeof detail, "no model asked; it lists none: any model");
  else if (!p->nmodels)
    snprintf(detail, sizeof detail, "%.200s: it lists no models, so any model is passed as asked", asked);
  else if (sy__provider_has_model(p, asked))
    snprintf(detail, sizeof detail, "%.200s is one of its models", asked);
  else
    pass = 0, snprintf(detail, sizeof detail, "%.200s is not one of its models (%s)", asked, list);
  return json_pack("{ss sb ss}", "name", "model", "pass", pass, "detail", detail);
}

static enum MHD_Result preflight(sy_req *r, const char *name) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "")) return MHD_YES;
  const char *asked = NULL;
  if (model_body(r, &asked, 0)) return MHD_YES;
  probe *pr = probe_new(r, name);
  if (!pr) return sy__reply_error(r, 500, "InternalError", "out of memory");
  pr->checks = json_array();
  if (!pr->checks || sy__arena_cleanup(r->arena, release_json, pr->checks)) {
    json_decref(pr->checks);
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  pfound pf;
  names nm;
  char detail[128];
  const sy_snap *s = sy__snap_enter(r->srv->store);
  if (lookup(s, name, &pf, &nm)) {
    sy__snap_leave(r->srv->store);
    return reply_unknown(r, name, &nm);
  }
  if (pf.version)
    snprintf(detail, sizeof detail, "%s%s version %lld compiles", SY_PROVIDERS_PREFIX, name, (long long)pf.version);
  else
    snprintf(detail, sizeof detail, "the built-in stub");
  json_array_append_new(pr->checks, json_pack("{ss sb ss}", "name", "document", "pass", 1, "detail", detail));
  json_array_append_new(pr->checks, check_credentials(r, s, pf.p));
  json_array_append_new(pr->checks, check_model(pf.p, asked));
  int rc = probe_model(r, pr, pf.p, asked);
  sy__snap_leave(r->srv->store);
  if (rc || json_array_size(pr->checks) != 3) return sy__reply_error(r, 500, "InternalError", "out of memory");
  pr->ready = 1;
  for (size_t i = 0; i < 3; i++)
    if (!json_is_true(json_object_get(json_array_get(pr->checks, i), "pass"))) pr->ready = 0;
  return probe_start(r, pr, asked, preflight_done);
}

/* ---- POST /api/v1/providers/{p}/activate ---- */

static enum MHD_Result activate_done(sy_req *r) {
  activation *a = r->api_ctx;
  if (r->op.rc) return sy__reply_rc(r, r->op.rc, r->op.msg);
  return sy__reply_json(r, 200,
                        json_pack("{ss ss so ss sI}", "activated", a->provider, "previous", a->previous, "model",
                                  a->model ? json_string(a->model) : json_null(), "route", SY_DEFAULT_ROUTE, "version",
                                  (json_int_t)r->op.out_version));
}

/* The default route's new document: the current one (if any) with provider set, model set or
 * removed, strategy removed (an explicit activation wins), the rest kept. New reference. */
static json_t *activated_route(const sy_ver *v, const char *name, const char *model) {
  json_t *doc = v ? json_loadb(v->value, v->value_len, 0, NULL) : NULL;
  if (!json_is_object(doc)) {
    json_decref(doc);
    doc = json_object();
  }
  if (!doc || json_object_set_new(doc, "provider", json_string(name))) goto fail;
  if (model ? json_object_set_new(doc, "model", json_string(model)) : (json_object_del(doc, "model"), 0)) goto fail;
  json_object_del(doc, "strategy");
  return doc;
fail:
  json_decref(doc);
  return NULL;
}

static enum MHD_Result activate(sy_req *r, const char *name) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "")) return MHD_YES;
  const char *model = NULL;
  if (model_body(r, &model, 1)) return MHD_YES;
  activation *a = sy__arena_alloc(r->arena, sizeof *a);
  if (!a) return sy__reply_error(r, 500, "InternalError", "out of memory");
  memset(a, 0, sizeof *a);
  snprintf(a->provider, sizeof a->provider, "%s", name);
  a->model = model;
  pfound pf;
  names nm;
  json_t *am = NULL, *doc = NULL;
  char list[1024] = "";
  const char *refused = NULL; /* why nothing is written */
  const sy_snap *s = sy__snap_enter(r->srv->store);
  const sy_param *rp = sy__snap_get(s, SY_DEFAULT_ROUTE, strlen(SY_DEFAULT_ROUTE));
  const sy_ver *rv = default_route(s);
  if (lookup(s, name, &pf, &nm)) {
    refused = "provider";
  } else if (model && pf.p->nmodels && !sy__provider_has_model(pf.p, model)) {
    refused = "model";
    models_text(pf.p, list, sizeof list);
  } else if (rp && rp->latest && !rv) {
    refused = sy__kind_name(rp->latest->kind);
  } else {
    active_of(s, a->previous, &am);
    json_decref(am);
    doc = activated_route(rv, name, model);
    r->op.put.if_version = rv ? rv->version : 0; /* a change made meanwhile is a 409, not lost */
  }
  sy__snap_leave(r->srv->store);
  if (refused && !strcmp(refused, "provider")) return reply_unknown(r, name, &nm);
  if (refused && !strcmp(refused, "model"))
    return sy__reply_error(r, 400, "ValidationException", "model %s is not served by provider %s (its models: %s)",
                           model, name, list);
  if (refused)
    return sy__reply_error(r, 400, "ValidationException", "%s is a %s document, not a Route", SY_DEFAULT_ROUTE,
                           refused);
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  const char *value = text ? sy__arena_strdup(r->arena, text) : NULL;
  free(text);
  /* "activate <p>", and the caller's words after it */
  const char *why = r->op.reason;
  char reason[sizeof "activate : " + SY_PROVIDER_NAME_MAX + SY_REASON_MAX];
  snprintf(reason, sizeof reason, "activate %s%s%s", name, why && *why ? ": " : "", why ? why : "");
  r->op.reason = sy__arena_strdup(r->arena, reason);
  if (!value || !r->op.reason) return sy__reply_error(r, 500, "InternalError", "out of memory");
  r->op.kind = SY_OP_PUT;
  r->op.put.name = SY_DEFAULT_ROUTE;
  r->op.put.name_len = strlen(SY_DEFAULT_ROUTE);
  r->op.put.value = value;
  r->op.put.value_len = strlen(value);
  r->op.put.kind = SY_KIND_ROUTE;
  r->op.put.overwrite = 1;
  r->api_ctx = a;
  return sy__submit(r, activate_done);
}

/* ---- GET /api/v1/providers/{p}/status and /metrics ---- */

static json_t *time_json(int64_t ms) {
  char t[40];
  if (!ms) return json_null();
  sy__fmt_time(ms, t, sizeof t);
  return json_string(t);
}

static double rate(int64_t errors, int64_t requests) { return requests ? (double)errors / (double)requests : 0.0; }

static enum MHD_Result status_of(sy_req *r, const char *name) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
  sy_gw_pinfo in;
  int budget = 0;
  provider_view(r, name, &in, &budget);
  const sy_gw_window *w = &in.m5;
  double er = rate(w->errors, w->requests);
  char reason[400];
  const char *st = "online";
  if (budget) {
    st = "offline";
    snprintf(reason, sizeof reason, "circuit breaker open: daily budget limit reached");
  } else if (in.breaker == SY_BREAKER_OPEN) {
    st = "offline";
    snprintf(reason, sizeof reason, "circuit breaker open%s%.300s", in.last_error[0] ? "; last error: " : "",
             in.last_error);
  } else if (w->errors > 0 && w->errors >= w->requests) {
    st = "offline";
    snprintf(reason, sizeof reason, "%lld failures and no success in the last 5 minutes; last error: %.250s",
             (long long)w->errors, in.last_error);
  } else if (in.breaker == SY_BREAKER_HALF_OPEN) {
    st = "degraded";
    snprintf(reason, sizeof reason, "circuit breaker half-open: trial calls are being let through");
  } else if (w->requests && er >= 0.05) {
    st = "degraded";
    snprintf(reason, sizeof reason, "error rate %.1f%% over the last 5 minutes (%lld of %lld)", er * 100.0,
             (long long)w->errors, (long long)w->requests);
  } else if (!in.known) {
    snprintf(reason, sizeof reason, "no traffic yet");
  } else {
    snprintf(reason, sizeof reason, "error rate %.1f%% over the last 5 minutes (%lld requests)", er * 100.0,
             (long long)w->requests);
  }
  return sy__reply_json(
      r, 200,
      json_pack("{ss ss ss ss sf sI so so}", "provider", name, "status", st, "reason", reason, "breaker",
                breaker_name(in.breaker), "error_rate_5m", er, "requests_5m", (json_int_t)w->requests, "last_ok",
                time_json(in.last_ok_ms), "last_error", time_json(in.last_fail_ms)));
}

static json_t *window_json(const sy_gw_window *w) {
  return json_pack("{sI sI sf s{so so so} sf sf}", "requests", (json_int_t)w->requests, "errors", (json_int_t)w->errors,
                   "error_rate", rate(w->errors, w->requests), "latency_ms", "p50", ms_json((double)w->p50_us / 1000.0),
                   "p95", ms_json((double)w->p95_us / 1000.0), "p99", ms_json((double)w->p99_us / 1000.0), "cost_usd",
                   w->cost_usd, "cost_per_request", w->requests ? w->cost_usd / (double)w->requests : 0.0);
}

/* {"metrics": the since-start figures as the runbook reads them (requests, errors, ...), and the
 * same per window under "1m", "5m", "1h" and "since_start"}. */
static enum MHD_Result metrics_of(sy_req *r, const char *name) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
  sy_gw_pinfo in;
  sy__gateway_provider_info(r->srv->gw, name, &in);
  json_t *m = window_json(&in.total);
  if (!m || json_object_set_new(m, "1m", window_json(&in.m1)) || json_object_set_new(m, "5m", window_json(&in.m5)) ||
      json_object_set_new(m, "1h", window_json(&in.h1)) ||
      json_object_set_new(m, "since_start", window_json(&in.total))) {
    json_decref(m);
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  return sy__reply_json(r, 200, json_pack("{ss so}", "provider", name, "metrics", m));
}

/* ---- GET /api/v1/providers/{p}/series ---- */

static json_t *point_json(const sy_gw_point *pt) {
  char t[40];
  sy__fmt_time(pt->start_ms, t, sizeof t);
  const sy_gw_window *w = &pt->w;
  json_t *lat = pt->ok ? json_pack("{so so so}", "p50", ms_json((double)w->p50_us / 1000.0), "p95",
                                   ms_json((double)w->p95_us / 1000.0), "p99", ms_json((double)w->p99_us / 1000.0))
                       : json_null();
  return json_pack("{ss sI sI sf so sf}", "t", t, "requests", (json_int_t)w->requests, "errors", (json_int_t)w->errors,
                   "error_rate", rate(w->errors, w->requests), "latency_ms", lat, "cost_usd", w->cost_usd);
}

/* {"provider","window","step_s","points":[...]}: every bucket of the window (1h, the default, or
 * 24h), oldest first. */
static enum MHD_Result series_of(sy_req *r, const char *name) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "window")) return MHD_YES;
  const char *win = sy__query(r, "window");
  if (!win) win = "1h";
  if (strcmp(win, "1h") != 0 && strcmp(win, "24h") != 0)
    return sy__reply_error(r, 400, "ValidationException", "window must be 1h or 24h, not %.40s", win);
  sy_gw_point *pts = sy__arena_alloc(r->arena, SY_GW_POINTS_MAX * sizeof *pts);
  json_t *arr = json_array();
  if (arr && sy__arena_cleanup(r->arena, release_json, arr)) {
    json_decref(arr);
    arr = NULL;
  }
  if (!pts || !arr) return sy__reply_error(r, 500, "InternalError", "out of memory");
  int64_t step_ms = 0;
  int n = sy__gateway_provider_series(r->srv->gw, name, !strcmp(win, "24h"), pts, &step_ms);
  for (int i = 0; i < n; i++)
    if (json_array_append_new(arr, point_json(&pts[i])))
      return sy__reply_error(r, 500, "InternalError", "out of memory");
  return sy__reply_json(r, 200,
                        json_pack("{ss ss sI sO}", "provider", name, "window", win, "step_s",
                                  (json_int_t)(step_ms / 1000), "points", arr));
}

/* ---- routing ---- */

typedef struct action {
  const char *path, *method;
  enum MHD_Result (*fn)(sy_req *r, const char *name);
  int reads; /* status, metrics, series: the provider's existence is checked here (a probe checks it itself) */
} action;

static const action actions[] = {
    {"test-connection", "POST", test_connection, 0},
    {"preflight", "POST", preflight, 0},
    {"activate", "POST", activate, 0},
    {"status", "GET", status_of, 1},
    {"metrics", "GET", metrics_of, 1},
    {"series", "GET", series_of, 1},
};

enum MHD_Result sy__api_providers(sy_req *r, const char *rest) {
  if (!rest[0] || (rest[0] == '/' && !rest[1])) {
    if (strcmp(r->method, "GET") != 0)
      return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/providers answers GET");
    return list_providers(r);
  }
  const char *name = rest + 1, *slash = strchr(name, '/');
  if (!slash) return sy__reply_error(r, 404, "NotFound", "no route for %.200s", r->path);
  size_t n = (size_t)(slash - name);
  const action *a = NULL;
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
    if (!strcmp(slash + 1, actions[i].path)) a = &actions[i];
  if (!a) return sy__reply_error(r, 404, "NotFound", "no route for %.200s", r->path);
  if (strcmp(r->method, a->method) != 0)
    return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/providers/{provider}/%s answers %s", a->path,
                           a->method);
  if (!sy__provider_name_valid(name, n))
    return sy__reply_error(r, 400, "ValidationException",
                           "provider name %.*s is not valid: 1 to %d of a-z A-Z 0-9 . _ -", (int)(n > 200 ? 200 : n),
                           name, SY_PROVIDER_NAME_MAX);
  char pname[SY_PROVIDER_NAME_MAX + 1];
  memcpy(pname, name, n);
  pname[n] = 0;
  if (a->reads) {
    pfound pf;
    names nm;
    const sy_snap *s = sy__snap_enter(r->srv->store);
    int missing = lookup(s, pname, &pf, &nm);
    sy__snap_leave(r->srv->store);
    if (missing) return reply_unknown(r, pname, &nm);
  }
  return a->fn(r, pname);
}

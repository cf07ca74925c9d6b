/* route.c — which API family answers a request: the table of the server's paths. */
#include "server/route.h"

#include <string.h>

#include "server/alerts.h"
#include "server/api_admin.h"
#include "server/api_config.h"
#include "server/api_flags.h"
#include "server/api_gateway.h"
#include "server/api_metrics.h"
#include "server/api_governance.h"
#include "server/api_params.h"
#include "server/api_providers.h"
#include "server/api_rollouts.h"
#include "server/console.h"
#include "server/ofrep.h"
#include "server/ssm.h"
#include "server/watch.h"

/* Always 200 while serving: a node whose store is out of reach still serves reads from its
 * snapshot, and says so ("degraded", with why) for whoever balances the load. */
static enum MHD_Result health(sy_req *r) {
  int64_t up = (sy__clock_now(r->srv->clock) - r->srv->started_ms) / 1000;
  sy_store_status st;
  sy__store_status(r->srv->store, &st);
  const char *status = r->srv->stopping ? "stopping" : st.connected ? "ok" : "degraded";
  json_t *b = json_pack("{ss ss ss sI sb sI}", "status", status, "version", SY_VERSION, "store", st.engine, "uptime_s",
                        (json_int_t)up, "leader", st.leader, "seq", (json_int_t)st.seq);
  if (b && !st.connected) json_object_set_new(b, "store_error", json_string(st.error));
  return sy__reply_json(r, 200, b);
}

/* Whether p is an endpoint a token of the evaluate scope alone may call besides OFREP's:
 * /api/v1/flags/{key}/evaluate. */
static int flag_evaluation(const char *p) {
  static const char head[] = "/api/v1/flags/", tail[] = "/evaluate";
  size_t n = strlen(p), h = sizeof head - 1, t = sizeof tail - 1;
  return n > h + t && !strncmp(p, head, h) && !strcmp(p + n - t, tail);
}

enum MHD_Result sy__route(sy_req *r) {
  const char *p = r->path;
  if (strcmp(p, "/health") == 0) {
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
      return sy__reply_error(r, 405, "MethodNotAllowed", "/health answers GET");
    return health(r);
  }
  if (p[0] == '/' && p[1] == 0 && !strcmp(r->method, "POST")) return sy__api_ssm(r);
  if (r->srv->stopping) return sy__reply_error(r, 503, "Unavailable", "the server is shutting down");
  if (strncmp(p, SY_OFREP_PREFIX, sizeof SY_OFREP_PREFIX - 1) == 0) return sy__api_ofrep(r);
  if (r->openai || !strcmp(p, "/metrics")) {
    if (!r->actor) /* settled with the headers; this is only a guard */
      return sy__reply_error(r, 401, "Unauthenticated", "missing Authorization: Bearer <token> header");
    if (!(r->scopes & ~(unsigned)SY_SCOPE_EVALUATE))
      return sy__reply_error(r, 403, "AccessDenied", "token %s may only evaluate flags (scope evaluate)", r->actor);
    return r->openai ? sy__api_gateway(r) : sy__api_metrics(r);
  }
  /* the console's page loads before its user gives a token: its files hold no secrets */
  if (strncmp(p, "/console", 8) == 0 && (p[8] == 0 || p[8] == '/')) return sy__console_serve(r, p + 8);
  if (strncmp(p, "/api/", 5) != 0) {
    /* an AWS client of another service (S3, Lambda, ...) pointed at Switchyard */
    int aws = sy__ssm_from_aws(r);
    if (aws) return aws < 0 ? MHD_YES : sy__ssm_unsupported(r);
    return sy__reply_error(r, 404, "NotFound", "no route for %.200s", p);
  }
  if (!r->actor) /* credentials are settled with the headers; this is only a guard */
    return sy__reply_error(r, 401, "Unauthenticated", "missing Authorization: Bearer <token> header");
  /* pushed metrics come from applications, whose tokens may have the evaluate scope alone */
  if (strncmp(p, "/api/v1/metrics", 15) == 0 && (p[15] == 0 || p[15] == '/')) return sy__api_pushed_metrics(r, p + 15);
  /* any token may ask what it is: the console tells an evaluate-only token that it cannot serve */
  if (strcmp(p, "/api/v1/whoami") == 0) return sy__api_whoami(r);
  if (!(r->scopes & ~(unsigned)SY_SCOPE_EVALUATE) && !flag_evaluation(p))
    return sy__reply_error(r, 403, "AccessDenied", "token %s may only evaluate flags (scope evaluate)", r->actor);
  if (strncmp(p, "/api/v1/params", 14) == 0 && (p[14] == 0 || p[14] == '/')) {
    if (p[14] == 0 || (p[14] == '/' && p[15] == 0)) return sy__api_params_list(r);
    return sy__api_params(r, p + 14);
  }
  if (strncmp(p, "/api/v1/flags", 13) == 0 && (p[13] == 0 || p[13] == '/')) {
    if (p[13] == 0 || (p[13] == '/' && p[14] == 0)) return sy__api_flags_root(r);
    return sy__api_flags(r, p + 13);
  }
  if (strncmp(p, "/api/v1/providers", 17) == 0 && (p[17] == 0 || p[17] == '/')) return sy__api_providers(r, p + 17);
  if (strcmp(p, "/api/v1/admin/clock") == 0) return sy__api_clock(r);
  if (strncmp(p, "/api/v1/admin/audit", 19) == 0) return sy__api_audit(r, p + 19);
  if (strncmp(p, "/api/v1/admin/tokens", 20) == 0) return sy__api_tokens(r, p + 20);
  if (strncmp(p, "/api/v1/admin/keys", 18) == 0) return sy__api_keys(r, p + 18);
  if (strcmp(p, "/api/v1/config/runtime") == 0) return sy__api_config(r);
  if (strcmp(p, "/api/v1/watch") == 0) return sy__api_watch(r);
  if (strcmp(p, "/api/v1/snapshot") == 0) return sy__api_snapshot(r);
  if (strncmp(p, "/api/v1/governance", 18) == 0 && (p[18] == 0 || p[18] == '/')) return sy__api_governance(r, p + 18);
  if (strncmp(p, "/api/v1/rollouts", 16) == 0 && (p[16] == 0 || p[16] == '/')) return sy__api_rollouts(r, p + 16);
  if (strncmp(p, "/api/v1/alerts", 14) == 0 && (p[14] == 0 || p[14] == '/')) return sy__api_alerts(r, p + 14);
  return sy__reply_error(r, 404, "NotFound", "no route for %.200s", p);
}

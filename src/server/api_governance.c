/* api_governance.c — runbook 001's governance API: POST /api/v1/governance/limits writes a
 * limit document (kind Limit) through the one write path; GET /api/v1/governance/status and
 * /limits show each limit with what was spent today (gateway/gw_budget.c keeps the ledger). */
#include "server/api_governance.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/provider.h"
#include "gateway/gateway.h"
#include "server/api_params.h"

static const char *level_name(sy_gw_limit_level l) {
  return l == SY_LIMIT_HARD ? "hard_limit_reached" : l == SY_LIMIT_SOFT ? "soft_limit_reached" : "ok";
}

static void add_state(void *ctx, const sy_gw_limit_state *l) {
  json_t *arr = ctx;
  double remaining = l->hard_usd - l->consumed_usd - l->reserved_usd;
  json_array_append_new(
      arr, json_pack("{ss ss ss* ss sf sf sf sf sf sI ss ss}", "name", l->name, "limit_type", l->limit_type, "scope",
                     l->scope[0] ? l->scope : NULL, "period", l->period, "soft_limit_usd", l->soft_usd,
                     "hard_limit_usd", l->hard_usd, "consumed_usd", l->consumed_usd, "reserved_usd", l->reserved_usd,
                     "remaining_usd", remaining > 0 ? remaining : 0.0, "request_count", (json_int_t)l->requests,
                     "state", level_name(l->level), "day", l->day));
}

static enum MHD_Result status(sy_req *r) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
  json_t *arr = json_array();
  if (!arr) return sy__reply_error(r, 500, "InternalError", "out of memory");
  sy__gateway_limits(r->srv->gw, add_state, arr);
  int64_t now = sy__clock_now(r->srv->clock);
  time_t t = (time_t)(now / 1000);
  struct tm tm;
  char day[16];
  gmtime_r(&t, &tm);
  strftime(day, sizeof day, "%Y-%m-%d", &tm);
  size_t hard = 0, soft = 0;
  for (size_t i = 0; i < json_array_size(arr); i++) {
    const char *st = json_string_value(json_object_get(json_array_get(arr, i), "state"));
    hard += st && !strcmp(st, "hard_limit_reached");
    soft += st && !strcmp(st, "soft_limit_reached");
  }
  return sy__reply_json(
      r, 200,
      json_pack("{ss so s{si si si}}", "day", day, "limits", arr, "summary", "limits", (int)json_array_size(arr),
                "soft_limit_reached", (int)soft, "hard_limit_reached", (int)hard));
}

static enum MHD_Result limit_written(sy_req *r) {
  if (r->op.rc) return sy__reply_rc(r, r->op.rc, r->op.msg);
  json_t *limit = r->api_ctx;
  return sy__reply_json(
      r, 200,
      json_pack("{ss sI sO}", "name", r->op.put.name, "version", (json_int_t)r->op.out_version, "limit", limit));
}

static void limit_release(void *p) { json_decref(p); }

/* POST /api/v1/governance/limits: runbook 001's body as it is written (period defaults to daily). */
static enum MHD_Result set_limit(sy_req *r) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "") || sy__parse_body(r)) return MHD_YES;
  json_t *body = r->json;
  if (json_is_object(body) && sy__reason_field(r, body)) return MHD_YES;
  const char *why = r->op.reason;
  /* the document: the body's fields but the reason, period made explicit; the compiler checks every one */
  json_t *doc = json_deep_copy(body);
  if (!doc) return sy__reply_error(r, 500, "InternalError", "out of memory");
  json_object_del(doc, "reason");
  if (!json_object_get(doc, "period")) json_object_set_new(doc, "period", json_string("daily"));
  char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text || sy__arena_cleanup(r->arena, limit_release, doc)) {
    free(text);
    json_decref(doc);
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  char msg[SY_MSG_MAX];
  sy_limit *l = NULL;
  sy_rc rc = sy__limit_compile(NULL, text, strlen(text), &l, msg, sizeof msg);
  if (rc) {
    free(text);
    return sy__reply_error(r, 400, "ValidationException", "%s", msg);
  }
  char name[1200];
  int n = sy__limit_name(l->type, l->scope, name, sizeof name);
  sy__limit_free(l);
  const char *value = sy__arena_strdup(r->arena, text);
  free(text);
  if (n < 0) return sy__reply_error(r, 400, "ValidationException", "scope is too long for a limit's name");
  r->op.kind = SY_OP_PUT;
  r->op.put.name = sy__arena_strdup(r->arena, name);
  r->op.put.name_len = (size_t)n;
  r->op.put.value = value;
  r->op.put.value_len = value ? strlen(value) : 0;
  r->op.put.kind = SY_KIND_LIMIT;
  r->op.put.overwrite = 1;
  r->op.put.if_version = -1; /* a limit written again replaces the last */
  r->op.reason = "governance limit";
  if (why && *why) {
    char reason[sizeof "governance limit: " + SY_REASON_MAX];
    snprintf(reason, sizeof reason, "governance limit: %s", why);
    if (!(r->op.reason = sy__arena_strdup(r->arena, reason)))
      return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  if (!r->op.put.name || !value) return sy__reply_error(r, 500, "InternalError", "out of memory");
  r->api_ctx = doc;
  return sy__submit(r, limit_written);
}

enum MHD_Result sy__api_governance(sy_req *r, const char *rest) {
  if (!strcmp(rest, "/limits")) {
    if (!strcmp(r->method, "POST") || !strcmp(r->method, "PUT")) return set_limit(r);
    if (!strcmp(r->method, "GET")) return status(r);
    return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/governance/limits answers GET and POST");
  }
  if (!strcmp(rest, "/status")) {
    if (strcmp(r->method, "GET")) return sy__reply_error(r, 405, "MethodNotAllowed", "%s answers GET", r->path);
    return status(r);
  }
  return sy__reply_error(r, 404, "NotFound", "no route for %.200s", r->path);
}

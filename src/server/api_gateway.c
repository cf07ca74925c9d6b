/* api_gateway.c — the gateway's endpoints over HTTP: parses the OpenAI request, hands it to
 * the engine (gateway/gateway.h), suspends, and answers or streams when woken. */
#include "server/api_gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/controller.h"
#include "gateway/gateway.h"
#include "server/gw_multipart.h"

#define STREAM_BLOCK 16384

static void gw_release(void *q) { sy__gw_release(q); }

/* The engine's wake: the head is ready (the request waits for its finish), or a parked
 * stream has more to send. */
static void gw_wake(void *ctx) {
  sy_req *r = ctx;
  if (__atomic_load_n(&r->wait, __ATOMIC_ACQUIRE) == 1)
    sy__resume(r);
  else
    MHD_resume_connection(r->conn);
}

static void park(void *ctx) { MHD_suspend_connection(ctx); }

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  sy_req *r = cls;
  (void)pos;
  ssize_t n = sy__gw_stream_read(*(sy_gw_req **)r->api_ctx, buf, max, park, r->conn);
  return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void add_headers(struct MHD_Response *resp, const sy_gw_head *h) {
  char ms[32];
  snprintf(ms, sizeof ms, "%.3f", (double)h->overhead_us / 1000.0);
  MHD_add_response_header(resp, "X-Switchyard-Provider", h->provider);
  MHD_add_response_header(resp, "X-Switchyard-Route", h->route[0] ? h->route : "(default)");
  MHD_add_response_header(resp, "X-Switchyard-Overhead-Ms", ms);
  char n[16];
  snprintf(n, sizeof n, "%d", h->attempts);
  MHD_add_response_header(resp, "X-Switchyard-Attempts", n);
}

/* Builds the reply once the engine has a head. */
static enum MHD_Result answer(sy_req *r) {
  sy_gw_req *q = *(sy_gw_req **)r->api_ctx;
  sy_gw_head h;
  sy__gw_head(q, &h);
  struct MHD_Response *resp;
  if (h.stream) {
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_reader, r, NULL);
    if (!resp) return MHD_NO;
    add_headers(resp, &h);
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    return sy__queue(r, 200, resp, "text/event-stream");
  }
  size_t len = 0;
  char *body = sy__gw_take_body(q, &len);
  if (!body) return sy__reply_error(r, 500, "internal_error", "out of memory");
  resp = sy__response(body, len);
  if (!resp) return MHD_NO;
  add_headers(resp, &h);
  return sy__queue(r, h.status, resp, "application/json");
}

static enum MHD_Result run(sy_req *r, sy_gw_op op) {
  if (strcmp(r->method, "POST")) return sy__reply_error(r, 405, "method_not_allowed", "%s answers POST", r->path);
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
  if (!r->body_len) return sy__reply_error(r, 400, "invalid_json", "the request needs a JSON body");
  json_t *body = NULL;
  int multipart = sy__gw_multipart(r);
  if (multipart) { /* what OpenAI's clients send to images/edits */
    if (op == SY_GW_CHAT) return sy__reply_error(r, 400, "invalid_json", "chat/completions takes a JSON body");
    if (sy__gw_multipart_json(r, &body)) return MHD_YES;
  }
  json_error_t e;
  if (!body) body = json_loadb(r->body, r->body_len, 0, &e);
  if (!body)
    return sy__reply_error(r, 400, "invalid_json", "the body is not JSON: %s at line %d, column %d", e.text, e.line,
                           e.column);
  if (!json_is_object(body)) {
    json_decref(body);
    return sy__reply_error(r, 400, "invalid_json", "the body must be a JSON object");
  }
  /* the header wins; without one (or an empty one) the token's default route, else the default */
  const char *header = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Switchyard-Route");
  if (header && !*header) header = NULL;
  sy_gw_in in = {.op = op,
                 .body = body,
                 .body_len = multipart ? 0 : r->body_len, /* a form's JSON is larger than its bytes */
                 .route = header ? header : r->token_route,
                 .subject = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Switchyard-Subject"),
                 .request_id = r->request_id ? r->request_id : "req",
                 .t0_us = r->start_us};
  if (in.subject && !*in.subject) in.subject = NULL;
  sy_gw_req **slot = sy__arena_alloc(r->arena, sizeof *slot);
  if (!slot) {
    json_decref(body);
    return sy__reply_error(r, 503, "unavailable", "out of memory");
  }
  r->api_ctx = slot;
  return sy__gw_serve(r, &in, slot, answer);
}

enum MHD_Result sy__gw_serve(sy_req *r, sy_gw_in *in, sy_gw_req **q, sy_finish_fn finish) {
  int ready = 0;
  in->wake = gw_wake;
  in->wake_ctx = r;
  *q = sy__gw_start(r->srv->gw, in, &ready);
  if (!*q) return sy__reply_error(r, 503, "unavailable", "out of memory");
  if (sy__arena_cleanup(r->arena, gw_release, *q)) {
    sy__gw_release(*q);
    *q = NULL;
    return sy__reply_error(r, 503, "unavailable", "out of memory");
  }
  if (ready) return finish(r);
  sy__suspend(r, finish);
  sy__gw_dispatch(*q);
  return MHD_YES;
}

enum MHD_Result sy__api_gateway(sy_req *r) {
  const char *p = r->path;
  if (!strcmp(p, "/v1/chat/completions") || !strcmp(p, "/api/v1/chat/completions")) return run(r, SY_GW_CHAT);
  if (!strcmp(p, "/v1/images/generations")) return run(r, SY_GW_IMAGES);
  if (!strcmp(p, "/v1/images/edits")) return run(r, SY_GW_EDITS);
  if (!strcmp(p, "/v1/models")) {
    if (strcmp(r->method, "GET")) return sy__reply_error(r, 405, "method_not_allowed", "/v1/models answers GET");
    if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
    json_t *m = sy__gateway_models(r->srv->gw);
    if (!m) return sy__reply_error(r, 500, "internal_error", "out of memory");
    return sy__reply_json(r, 200, m);
  }
  return sy__reply_error(r, 404, "not_found", "no route for %.200s", p);
}

enum MHD_Result sy__api_metrics(sy_req *r) {
  if (strcmp(r->method, "GET")) return sy__reply_error(r, 405, "MethodNotAllowed", "/metrics answers GET");
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
  sy_jbuf b;
  sy__jbuf_init(&b, (size_t)64 << 20);
  sy__gateway_metrics(r->srv->gw, &b);
  if (r->srv->controller) {
    int64_t ev, tr, plans;
    sy__controller_counters(r->srv->controller, &ev, &tr, &plans);
    char t[640];
    snprintf(t, sizeof t,
             "# HELP switchyard_rollout_plans Rollout plans the controller evaluates.\n"
             "# TYPE switchyard_rollout_plans gauge\nswitchyard_rollout_plans %lld\n"
             "# HELP switchyard_rollout_evaluations_total Evaluations of every plan by the rollout controller.\n"
             "# TYPE switchyard_rollout_evaluations_total counter\nswitchyard_rollout_evaluations_total %lld\n"
             "# HELP switchyard_rollout_transitions_total Rollout transitions written (promotions, rollbacks, ...).\n"
             "# TYPE switchyard_rollout_transitions_total counter\nswitchyard_rollout_transitions_total %lld\n",
             (long long)plans, (long long)ev, (long long)tr);
    sy__jbuf_cstr(&b, t);
  }
  sy_store_status ss;
  sy__store_status(r->srv->store, &ss);
  char t[900];
  snprintf(t, sizeof t,
           "# HELP switchyard_store_connected 1 while this node reaches its store (0: reads from its snapshot, "
           "writes refused).\n# TYPE switchyard_store_connected gauge\nswitchyard_store_connected{engine=\"%s\"} %d\n"
           "# HELP switchyard_store_leader 1 on the node that drives rollouts and records alerts.\n"
           "# TYPE switchyard_store_leader gauge\nswitchyard_store_leader %d\n"
           "# HELP switchyard_store_seq The last change (audit sequence number) this node's snapshot holds.\n"
           "# TYPE switchyard_store_seq gauge\nswitchyard_store_seq %lld\n",
           ss.engine, ss.connected, ss.leader, (long long)ss.seq);
  sy__jbuf_cstr(&b, t);
  if (b.err) {
    sy__jbuf_free(&b);
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  size_t len = 0;
  char *text = sy__jbuf_take(&b, &len);
  if (!text) return sy__reply_error(r, 500, "InternalError", "out of memory");
  return sy__reply_text(r, 200, text, len, "text/plain; version=0.0.4; charset=utf-8");
}

/* fuzz_adapter.c — libFuzzer harness for the gateway's adapters (src/gateway): answers, errors, streams, requests.
 *
 * The first input byte picks the HTTP status error() reads (its low four bits), the size of
 * the pieces the stream is fed in (its high four bits) and whether the client asked for
 * usage (its low bit); the rest is the body. Every adapter reads the body as a whole 2xx
 * answer for each op it offers, as an error answer, and as an SSE stream through
 * sy__sse_feed, stream_event and stream_end. When the body is a JSON request that
 * sy__gw_check_request accepts, every adapter builds its upstream request from it and the
 * stub answers it. The checks: results are consistent (an answer or a failure, a failure in
 * 400..599 whose JSON parses, an upstream body that is JSON), and sanitizers stay quiet. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/text.h"
#include "gateway/adapter.h"

#define EVENT_MAX (1 << 16)
#define OUT_MAX (1 << 22)

static const int statuses[16] = {400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 302, 599};
static const sy_provider_type types[] = {SY_PROVIDER_OPENAI, SY_PROVIDER_GEMINI, SY_PROVIDER_SEEDREAM};
static const sy_gw_op ops[] = {SY_GW_CHAT, SY_GW_IMAGES, SY_GW_EDITS};

static void check_fail(const sy_gw_fail *f) {
  CHECK(f->status >= 400 && f->status <= 599);
  CHECK(f->type[0]);
  CHECK(sy__utf8_valid(f->message, strlen(f->message)));
  size_t len;
  char *text = sy__gw_fail_json(f, &len);
  CHECK(text);
  json_t *j = json_loadb(text, len, 0, NULL);
  CHECK(json_is_object(json_object_get(j, "error")));
  json_decref(j);
  free(text);
}

typedef struct pipe_ctx {
  const sy_adapter *a;
  sy_gw_stream *st;
  sy_jbuf *out;
  sy_gw_fail *fail;
  int failed;
} pipe_ctx;

static int to_adapter(void *ctx, const char *data, size_t len) {
  pipe_ctx *p = ctx;
  if (p->a->stream_event(p->st, data, len, p->out, p->fail)) {
    check_fail(p->fail);
    p->failed = 1;
    return 1;
  }
  return 0;
}

static void stream(const sy_adapter *a, const char *body, size_t len, size_t step, int usage) {
  sy_gw_stream st = {.id = "chatcmpl-fuzz", .created = 1, .model = "m"};
  st.include_usage = usage;
  sy_jbuf out;
  sy__jbuf_init(&out, OUT_MAX);
  sy_gw_fail fail;
  sy_sse_parser p;
  sy__sse_init(&p, EVENT_MAX);
  pipe_ctx ctx = {a, &st, &out, &fail, 0};
  int r = 0;
  for (size_t at = 0; at < len && !r; at += step)
    r = sy__sse_feed(&p, body + at, len - at < step ? len - at : step, to_adapter, &ctx);
  sy__sse_free(&p);
  CHECK(r == 0 || r == -1 || (r == 1 && ctx.failed));
  if (!r) {
    if (a->stream_end(&st, &out, &fail))
      check_fail(&fail);
    else
      CHECK(out.err || (out.len >= 14 && !memcmp(out.p + out.len - 14, "data: [DONE]\n\n", 14)));
  }
  sy__jbuf_free(&out);
}

static void answers(const sy_adapter *a, const char *body, size_t len, int status) {
  for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
    json_t *out = NULL;
    sy_gw_usage u;
    sy_gw_fail fail;
    if (a->response(ops[o], "m", body, len, &out, &u, &fail) == SY_OK) {
      CHECK(json_is_object(out));
      char *text = json_dumps(out, JSON_COMPACT);
      CHECK(text);
      free(text);
      json_decref(out);
    } else {
      CHECK(!out);
      check_fail(&fail);
    }
  }
  sy_gw_fail fail;
  a->error(status, body, len, &fail);
  check_fail(&fail);
}

static void requests(const char *body, size_t len, int flag) {
  json_t *req = json_loadb(body, len, 0, NULL);
  if (!json_is_object(req)) goto out;
  for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
    sy_gw_fail fail;
    if (sy__gw_check_request(ops[o], req, &fail)) {
      CHECK(fail.status == 400);
      check_fail(&fail);
      continue;
    }
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
      sy_gw_call call;
      memset(&call, 0, sizeof call);
      const sy_adapter *a = sy__adapter_for(types[t]);
      if (a->request(ops[o], req, flag ? "model-1.5_x" : "m", flag, &call, &fail) == SY_OK) {
        json_t *j = json_loadb(call.body, call.body_len, 0, NULL);
        CHECK(json_is_object(j));
        CHECK(call.path[0] == '/');
        json_decref(j);
      } else {
        CHECK(!call.body);
        check_fail(&fail);
      }
      free(call.body);
    }
    json_t *out = NULL;
    sy_gw_usage u;
    if (sy__stub_answer(ops[o], req, "stub", NULL, &out, NULL, &u, &fail) == SY_OK)
      CHECK(json_is_object(out));
    else
      check_fail(&fail);
    json_decref(out);
    if (ops[o] == SY_GW_CHAT) {
      sy_gw_stream st = {0};
      st.include_usage = flag;
      sy_jbuf sse;
      sy__jbuf_init(&sse, OUT_MAX);
      if (sy__stub_answer(ops[o], req, "stub", &st, NULL, &sse, &u, &fail) == SY_OK) CHECK(st.done);
      sy__jbuf_free(&sse);
    }
  }
out:
  json_decref(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const char *body = (const char *)data + 1;
  size_t len = size - 1, step = 1 + (size_t)(data[0] >> 4) * 5;
  int status = statuses[data[0] & 15], flag = data[0] & 1;
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    const sy_adapter *a = sy__adapter_for(types[t]);
    answers(a, body, len, status);
    stream(a, body, len, step, flag);
  }
  requests(body, len, flag);
  return 0;
}

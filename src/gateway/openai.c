/* openai.c — the pass-through adapter of OpenAI and every OpenAI-compatible endpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/adapter_int.h"

#define WHO "openai"

static sy_rc oom(sy_gw_fail *fail) {
  sy__gw_fail_set(fail, 500, "api_error", NULL, NULL, 1, "out of memory building the upstream request");
  return SY_ENOMEM;
}

/* The client's body as is, but for model (the provider's name of it) and streaming: a stream
 * always asks for usage, so that every stream is counted, and the client's wish is kept in
 * sy_gw_stream.include_usage by the engine. */
static sy_rc openai_request(sy_gw_op op, const json_t *req, const char *model, int stream, sy_gw_call *out,
                            sy_gw_fail *fail) {
  const char *path = op == SY_GW_CHAT     ? "/chat/completions"
                     : op == SY_GW_IMAGES ? "/images/generations"
                     : op == SY_GW_EDITS  ? "/images/edits"
                                          : NULL;
  if (!path) return sy__gw_unsupported(fail, WHO, op);
  memset(out, 0, sizeof *out);
  json_t *body = json_deep_copy(req);
  if (!body || (model && json_object_set_new(body, "model", json_string(model)))) goto nomem;
  stream = stream && op == SY_GW_CHAT;
  if (stream) {
    json_t *so = json_object_get(body, "stream_options");
    so = json_is_object(so) ? json_deep_copy(so) : json_object();
    if (!so || json_object_set_new(so, "include_usage", json_true()) ||
        json_object_set_new(body, "stream_options", so) || json_object_set_new(body, "stream", json_true()))
      goto nomem;
  } else {
    json_object_del(body, "stream");
    json_object_del(body, "stream_options");
  }
  return sy__gw_call_set(out, path, stream, body, fail);
nomem:
  json_decref(body);
  return oom(fail);
}

/* The error an answer's JSON carries ({"error":{...}} or {"error":"words"}) into fail, as
 * an answer of HTTP status. Returns 0 when there was none to read. */
static int read_error(const json_t *j, int status, sy_gw_fail *fail) {
  const json_t *e = json_object_get(j, "error");
  if (!e || json_is_null(e)) return 0;
  const char *msg = NULL, *code = NULL, *param = NULL;
  char num[24];
  if (json_is_string(e)) {
    msg = json_string_value(e);
  } else if (json_is_object(e)) {
    msg = json_string_value(json_object_get(e, "message"));
    const json_t *c = json_object_get(e, "code");
    if (json_is_string(c)) {
      code = json_string_value(c);
    } else if (json_is_integer(c)) {
      snprintf(num, sizeof num, "%lld", (long long)json_integer_value(c));
      code = num;
    }
    param = json_string_value(json_object_get(e, "param"));
  }
  sy__gw_fail_upstream(fail, WHO, status, code, param, msg);
  return 1;
}

static void openai_error(int status, const char *body, size_t len, sy_gw_fail *fail) {
  json_t *j = sy__gw_parse_object(body, len);
  int read = j && read_error(j, status, fail);
  json_decref(j);
  if (read) return;
  sy__gw_fail_unread(fail, WHO, status, body, len);
}

static sy_rc garbage(sy_gw_fail *fail, const char *what) {
  sy__gw_fail_set(fail, 502, "api_error", "bad_upstream_response", NULL, 1,
                  "provider " WHO " answered something that is not %s", what);
  return SY_EINVAL;
}

/* A 200 that carries an error is the provider failing: retryable, whatever it says. */
static sy_rc error_in_200(const json_t *j, sy_gw_fail *fail) {
  read_error(j, 502, fail);
  fail->retryable = 1;
  return SY_EINVAL;
}

static sy_rc openai_response(sy_gw_op op, const char *model, const char *body, size_t len, json_t **out, sy_gw_usage *u,
                             sy_gw_fail *fail) {
  *out = NULL;
  memset(u, 0, sizeof *u);
  const char *what = op == SY_GW_CHAT ? "a chat completion" : "an images response";
  json_t *j = sy__gw_parse_object(body, len);
  if (!j) return garbage(fail, what);
  const json_t *e = json_object_get(j, "error");
  if (e && !json_is_null(e)) {
    error_in_200(j, fail);
    json_decref(j);
    return SY_EINVAL;
  }
  if (op == SY_GW_CHAT) {
    if (!json_is_array(json_object_get(j, "choices"))) goto bad;
    const json_t *usage = json_object_get(j, "usage");
    u->prompt_tokens = sy__gw_count(json_object_get(usage, "prompt_tokens"));
    u->completion_tokens = sy__gw_count(json_object_get(usage, "completion_tokens"));
  } else {
    const json_t *data = json_object_get(j, "data");
    if (!json_is_array(data)) goto bad;
    u->images = (int64_t)json_array_size(data);
  }
  *out = j;
  return SY_OK;
bad:
  json_decref(j);
  return garbage(fail, what);
}

/* Whether any choice of a chunk has a finish_reason. */
static int chunk_finishes(const json_t *choices) {
  for (size_t i = 0; i < json_array_size(choices); i++) {
    const json_t *f = json_object_get(json_array_get(choices, i), "finish_reason");
    if (f && !json_is_null(f)) return 1;
  }
  return 0;
}

static sy_rc openai_stream_event(sy_gw_stream *st, const char *data, size_t len, sy_jbuf *out, sy_gw_fail *fail) {
  size_t a = 0, b = len;
  while (a < b && (data[a] == ' ' || data[a] == '\n')) a++;
  while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\n')) b--;
  if (b - a == 6 && !memcmp(data + a, "[DONE]", 6)) {
    st->done = 1; /* stream_end writes the client's [DONE] */
    return SY_OK;
  }
  if (st->done) return SY_OK; /* nothing counts after [DONE] */
  json_t *j = sy__gw_parse_object(data, len);
  if (!j) {
    sy__gw_fail_set(fail, 502, "api_error", "bad_upstream_response", NULL, 1,
                    "provider " WHO " sent a stream event that is not JSON");
    return SY_EINVAL;
  }
  sy_rc rc = SY_OK;
  const json_t *e = json_object_get(j, "error");
  const json_t *choices = json_object_get(j, "choices");
  const json_t *usage = json_object_get(j, "usage");
  if (e && !json_is_null(e)) {
    rc = error_in_200(j, fail);
    goto out;
  }
  if (!json_is_array(choices)) {
    sy__gw_fail_set(fail, 502, "api_error", "bad_upstream_response", NULL, 1,
                    "provider " WHO " sent a stream event that is not a chat.completion.chunk");
    rc = SY_EINVAL;
    goto out;
  }
  if (json_is_object(usage)) {
    st->usage.prompt_tokens = sy__gw_count(json_object_get(usage, "prompt_tokens"));
    st->usage.completion_tokens = sy__gw_count(json_object_get(usage, "completion_tokens"));
  }
  if (json_array_size(choices) == 0 && !st->include_usage) goto out; /* the usage we asked for, not the client */
  sy__jbuf_cstr(out, "data: ");
  if (memchr(data, '\n', len) || memchr(data, '\r', len)) { /* lines would break the client's framing */
    char *text = json_dumps(j, JSON_COMPACT);
    if (!text) {
      sy__gw_fail_set(fail, 500, "api_error", NULL, NULL, 1, "out of memory");
      rc = SY_ENOMEM;
      goto out;
    }
    sy__jbuf_cstr(out, text);
    free(text);
  } else {
    sy__jbuf_raw(out, data, len);
  }
  sy__jbuf_cstr(out, "\n\n");
  if (json_array_size(choices)) st->started = 1;
  if (chunk_finishes(choices)) st->finished = 1;
out:
  json_decref(j);
  return rc;
}

static sy_rc openai_stream_end(sy_gw_stream *st, sy_jbuf *out, sy_gw_fail *fail) {
  if (!st->done && !st->finished) {
    sy__gw_fail_set(fail, 502, "api_error", "incomplete_stream", NULL, 1,
                    "the stream ended before the answer was complete");
    return SY_EINVAL;
  }
  sy__gw_done(out);
  return SY_OK;
}

const sy_adapter sy__adapter_openai = {
    .type = "openai",
    .auth_prefix = "Authorization: Bearer ",
    .request = openai_request,
    .response = openai_response,
    .error = openai_error,
    .stream_event = openai_stream_event,
    .stream_end = openai_stream_end,
};

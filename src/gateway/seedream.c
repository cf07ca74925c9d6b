/* seedream.c — the Seedream adapter (BytePlus ModelArk): OpenAI image generation and edits in and out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/adapter_int.h"

#define WHO "seedream"

static sy_rc oom(sy_gw_fail *fail) {
  sy__gw_fail_set(fail, 500, "api_error", NULL, NULL, 1, "out of memory");
  return SY_ENOMEM;
}

/* {model, prompt, image (edits), size, response_format, watermark: false}. "auto" sizes are
 * Seedream's default, so the field is left out; n has no Seedream equivalent of the same
 * meaning (its sequential generation lets the model decide how many) and is dropped. */
static sy_rc seedream_request(sy_gw_op op, const json_t *req, const char *model, int stream, sy_gw_call *out,
                              sy_gw_fail *fail) {
  if (op == SY_GW_CHAT) { /* ModelArk's chat is OpenAI's, under /api/v3 */
    sy_rc rc = sy__adapter_openai.request(op, req, model, stream, out, fail);
    if (!rc) snprintf(out->path, sizeof out->path, "/api/v3/chat/completions");
    return rc;
  }
  if (op != SY_GW_IMAGES && op != SY_GW_EDITS) return sy__gw_unsupported(fail, WHO, op);
  memset(out, 0, sizeof *out);
  if (!json_is_string(json_object_get(req, "prompt"))) {
    sy__gw_fail_set(fail, 400, "invalid_request_error", NULL, "prompt", 0, "prompt is required");
    return SY_EINVAL;
  }
  if (op == SY_GW_EDITS && !json_object_get(req, "image")) {
    sy__gw_fail_set(fail, 400, "invalid_request_error", NULL, "image", 0, "image is required");
    return SY_EINVAL;
  }
  json_t *body = json_object();
  if (!body) return oom(fail);
  int bad = 0;
  const json_t *v;
  if (model) bad |= json_object_set_new(body, "model", json_string(model));
  bad |= json_object_set(body, "prompt", json_object_get(req, "prompt"));
  if (op == SY_GW_EDITS) bad |= json_object_set(body, "image", json_object_get(req, "image"));
  v = json_object_get(req, "size");
  if (json_is_string(v) && strcmp(json_string_value(v), "auto")) bad |= json_object_set(body, "size", (json_t *)v);
  v = json_object_get(req, "response_format");
  if (json_is_string(v)) bad |= json_object_set(body, "response_format", (json_t *)v);
  static const char *const passed[] = {"seed", "guidance_scale"}; /* Seedream's own, when a client sends them */
  for (size_t i = 0; i < sizeof passed / sizeof passed[0]; i++)
    if (json_is_number(v = json_object_get(req, passed[i]))) bad |= json_object_set(body, passed[i], (json_t *)v);
  bad |= json_object_set_new(body, "watermark", json_false());
  if (bad) goto nomem;
  return sy__gw_call_set(out, "/api/v3/images/generations", 0, body, fail);
nomem:
  json_decref(body);
  return oom(fail);
}

/* {"error":{"code","message","param"}} into fail as an answer of HTTP status; 0 when none. */
static int read_error(const json_t *j, int status, sy_gw_fail *fail) {
  const json_t *e = json_object_get(j, "error");
  if (!e || json_is_null(e)) return 0;
  const char *msg = json_string_value(json_object_get(e, "message"));
  if (!msg) msg = json_string_value(e);
  sy__gw_fail_upstream(fail, WHO, status, json_string_value(json_object_get(e, "code")),
                       json_string_value(json_object_get(e, "param")), msg);
  return 1;
}

static void seedream_error(int status, const char *body, size_t len, sy_gw_fail *fail) {
  json_t *j = sy__gw_parse_object(body, len);
  int read = j && read_error(j, status, fail);
  json_decref(j);
  if (read) return;
  sy__gw_fail_unread(fail, WHO, status, body, len);
}

static sy_rc garbage(sy_gw_fail *fail) {
  sy__gw_fail_set(fail, 502, "api_error", "bad_upstream_response", NULL, 1,
                  "provider " WHO " answered something that is not an images response");
  return SY_EINVAL;
}

/* {"created","data":[{"url"|"b64_json"}]}; images are Seedream's generated_images, else the
 * count of data. An answer whose every image failed carries the first image's error (a
 * content filter is the caller's, not retryable). */
static sy_rc seedream_response(sy_gw_op op, const char *model, const char *body, size_t len, json_t **out,
                               sy_gw_usage *u, sy_gw_fail *fail) {
  if (op == SY_GW_CHAT) return sy__adapter_openai.response(op, model, body, len, out, u, fail);
  *out = NULL;
  memset(u, 0, sizeof *u);
  if (op != SY_GW_IMAGES && op != SY_GW_EDITS) return sy__gw_unsupported(fail, WHO, op);
  sy_rc rc = SY_OK;
  json_t *j = sy__gw_parse_object(body, len), *data = NULL;
  if (!j) return garbage(fail);
  if (read_error(j, 502, fail)) { /* a 200 that carries an error */
    fail->retryable = 1;
    rc = SY_EINVAL;
    goto out;
  }
  const json_t *items = json_object_get(j, "data"), *item_error = NULL;
  if (!json_is_array(items)) goto bad;
  if (!(data = json_array())) goto nomem;
  for (size_t i = 0; i < json_array_size(items); i++) {
    const json_t *it = json_array_get(items, i), *v;
    if (!json_is_object(it)) goto bad;
    json_t *img = NULL;
    if (json_is_string(v = json_object_get(it, "url")))
      img = json_pack("{s:O}", "url", v);
    else if (json_is_string(v = json_object_get(it, "b64_json")))
      img = json_pack("{s:O}", "b64_json", v);
    else if (json_is_object(v = json_object_get(it, "error"))) {
      if (!item_error) item_error = v;
      continue;
    } else {
      goto bad;
    }
    if (json_array_append_new(data, img)) goto nomem;
  }
  if (json_array_size(data) == 0 && item_error) {
    const char *msg = json_string_value(json_object_get(item_error, "message"));
    sy__gw_fail_set(fail, 400, "invalid_request_error", json_string_value(json_object_get(item_error, "code")), NULL, 0,
                    "%s", msg ? msg : "provider " WHO " generated no image");
    rc = SY_EINVAL;
    goto out;
  }
  const json_t *made = json_object_get(json_object_get(j, "usage"), "generated_images");
  u->images = json_is_integer(made) ? sy__gw_count(made) : (int64_t)json_array_size(data);
  int64_t created = sy__gw_int(json_object_get(j, "created"), 0);
  *out = json_pack("{s:I,s:O}", "created", (json_int_t)created, "data", data);
  if (!*out) goto nomem;
  goto out;
bad:
  rc = garbage(fail);
  goto out;
nomem:
  rc = oom(fail);
out:
  json_decref(data);
  json_decref(j);
  return rc;
}

/* Only chat streams (images come whole), in OpenAI's format. */
static sy_rc seedream_stream_event(sy_gw_stream *st, const char *data, size_t len, sy_jbuf *out, sy_gw_fail *fail) {
  return sy__adapter_openai.stream_event(st, data, len, out, fail);
}

static sy_rc seedream_stream_end(sy_gw_stream *st, sy_jbuf *out, sy_gw_fail *fail) {
  return sy__adapter_openai.stream_end(st, out, fail);
}

const sy_adapter sy__adapter_seedream = {
    .type = "seedream",
    .auth_prefix = "Authorization: Bearer ",
    .request = seedream_request,
    .response = seedream_response,
    .error = seedream_error,
    .stream_event = seedream_stream_event,
    .stream_end = seedream_stream_end,
};

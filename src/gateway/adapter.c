/* adapter.c — what the adapters share: failures in OpenAI's words, the request check, stream chunks, the table. */
#include "gateway/adapter.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/text.h"
#include "gateway/adapter_int.h"

#define MESSAGES_MAX 2048
#define PROMPT_MAX 32000
#define USER_MAX 256
#define MODEL_MAX 256
#define STOP_MAX 4
#define IMAGES_MAX 16 /* image inputs of one edit */

/* ---- failures ---- */

static void copy_field(char *dst, size_t cap, const char *s) {
  size_t n = s ? strnlen(s, cap - 1) : 0;
  if (n) memcpy(dst, s, n);
  dst[n] = 0;
  sy__utf8_clean(dst, n); /* a cut in the middle of a character must not reach the JSON */
}

static void fail_vset(sy_gw_fail *fail, int status, const char *type, const char *code, const char *param,
                      int retryable, const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));
static void fail_vset(sy_gw_fail *fail, int status, const char *type, const char *code, const char *param,
                      int retryable, const char *fmt, va_list ap) {
  memset(fail, 0, sizeof *fail);
  fail->status = status;
  fail->retryable = retryable;
  fail->retry_after_ms = -1;
  copy_field(fail->type, sizeof fail->type, type);
  copy_field(fail->code, sizeof fail->code, code);
  copy_field(fail->param, sizeof fail->param, param);
  int n = vsnprintf(fail->message, sizeof fail->message, fmt, ap);
  size_t len = n < 0 ? 0 : (size_t)n >= sizeof fail->message ? sizeof fail->message - 1 : (size_t)n;
  fail->message[len] = 0;
  sy__utf8_clean(fail->message, len);
}

void sy__gw_fail_set(sy_gw_fail *fail, int status, const char *type, const char *code, const char *param, int retryable,
                     const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fail_vset(fail, status, type, code, param, retryable, fmt, ap);
  va_end(ap);
}

static void put_nullable(sy_jbuf *b, const char *s) {
  if (s[0])
    sy__jbuf_str(b, s, strlen(s));
  else
    sy__jbuf_cstr(b, "null");
}

char *sy__gw_fail_json(const sy_gw_fail *fail, size_t *len) {
  sy_jbuf b;
  sy__jbuf_init(&b, 8192);
  sy__jbuf_cstr(&b, "{\"error\":{\"message\":");
  sy__jbuf_str(&b, fail->message, strlen(fail->message));
  sy__jbuf_cstr(&b, ",\"type\":");
  sy__jbuf_str(&b, fail->type[0] ? fail->type : "api_error", strlen(fail->type[0] ? fail->type : "api_error"));
  sy__jbuf_cstr(&b, ",\"param\":");
  put_nullable(&b, fail->param);
  sy__jbuf_cstr(&b, ",\"code\":");
  put_nullable(&b, fail->code);
  sy__jbuf_cstr(&b, "}}");
  return sy__jbuf_take(&b, len);
}

const char *sy__gw_op_name(sy_gw_op op) {
  switch (op) {
  case SY_GW_CHAT: return "chat/completions";
  case SY_GW_IMAGES: return "images/generations";
  case SY_GW_EDITS: return "images/edits";
  }
  return "unknown";
}

sy_rc sy__gw_unsupported(sy_gw_fail *fail, const char *who, sy_gw_op op) {
  sy__gw_fail_set(fail, 400, "invalid_request_error", "unsupported_operation", NULL, 0, "provider %s does not offer %s",
                  who, sy__gw_op_name(op));
  return SY_EINVAL;
}

void sy__gw_fail_upstream(sy_gw_fail *fail, const char *who, int status, const char *code, const char *param,
                          const char *msg) {
  if (status == 401 || status == 402 || status == 403) {
    sy__gw_fail_set(fail, 502, "api_error", "upstream_auth_failed", NULL, 1,
                    "provider %s refused the gateway's credentials (HTTP %d)", who, status);
    return;
  }
  if (status == 429) {
    sy__gw_fail_set(fail, 429, "rate_limit_error", code, param, 1, "%s",
                    msg && msg[0] ? msg : "the provider's rate limit was reached");
    return;
  }
  if (status >= 400 && status < 500 && status != 408 && status != 409) {
    if (msg && msg[0])
      sy__gw_fail_set(fail, status, "invalid_request_error", code, param, 0, "%s", msg);
    else
      sy__gw_fail_set(fail, status, "invalid_request_error", code, param, 0,
                      "provider %s refused the request (HTTP %d)", who, status);
    return;
  }
  int out = status == 503 ? 503 : 502;
  if (msg && msg[0])
    sy__gw_fail_set(fail, out, "api_error", code, param, 1, "%s", msg);
  else
    sy__gw_fail_set(fail, out, "api_error", code, param, 1, "provider %s failed (HTTP %d)", who, status);
}

json_t *sy__gw_parse_object(const char *body, size_t len) {
  if (!body) return NULL;
  json_t *j = json_loadb(body, len, 0, NULL);
  if (j && !json_is_object(j)) {
    json_decref(j);
    j = NULL;
  }
  return j;
}

void sy__gw_fail_unread(sy_gw_fail *fail, const char *who, int status, const char *body, size_t len) {
  char excerpt[208], msg[300];
  sy__gw_excerpt(body ? body : "", body ? len : 0, excerpt, sizeof excerpt);
  if (excerpt[0])
    snprintf(msg, sizeof msg, "provider %s answered HTTP %d: %s", who, status, excerpt);
  else
    snprintf(msg, sizeof msg, "provider %s answered HTTP %d with an empty body", who, status);
  sy__gw_fail_upstream(fail, who, status, NULL, NULL, msg);
}

sy_rc sy__gw_call_set(sy_gw_call *out, const char *path, int sse, json_t *body, sy_gw_fail *fail) {
  snprintf(out->path, sizeof out->path, "%s", path);
  out->sse = !!sse;
  out->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!out->body) {
    sy__gw_fail_set(fail, 500, "api_error", NULL, NULL, 1, "out of memory");
    return SY_ENOMEM;
  }
  out->body_len = strlen(out->body);
  return SY_OK;
}

void sy__gw_excerpt(const char *body, size_t len, char *out, size_t outsz) {
  size_t o = 0, cap = outsz - 1 < 200 ? outsz - 1 : 200;
  int space = 1; /* drops leading whitespace */
  for (size_t i = 0; i < len && o < cap; i++) {
    unsigned char c = (unsigned char)body[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (!space) out[o++] = ' ';
      space = 1;
      continue;
    }
    out[o++] = c >= 0x21 && c < 0x7f ? (char)c : '?';
    space = 0;
  }
  while (o && out[o - 1] == ' ') o--;
  out[o] = 0;
}

void sy__gw_done(sy_jbuf *out) { sy__jbuf_cstr(out, "data: [DONE]\n\n"); }

int64_t sy__gw_int(const json_t *v, int64_t dflt) {
  if (json_is_integer(v)) return json_integer_value(v);
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d >= -9e15 && d <= 9e15 && d == (double)(int64_t)d) return (int64_t)d;
  }
  return dflt;
}

int64_t sy__gw_count(const json_t *v) {
  int64_t n = sy__gw_int(v, 0);
  return n < 0 ? 0 : n > SY_GW_COUNT_MAX ? SY_GW_COUNT_MAX : n;
}

/* ---- the check of a client's request ---- */

static sy_rc refuse(sy_gw_fail *fail, const char *param, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static sy_rc refuse(sy_gw_fail *fail, const char *param, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fail_vset(fail, 400, "invalid_request_error", NULL, param, 0, fmt, ap);
  va_end(ap);
  return SY_EINVAL;
}

/* The optional field k of o; JSON null counts as absent, as OpenAI has it. */
static const json_t *opt(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_null(v) ? NULL : v;
}

static sy_rc check_string(const json_t *req, const char *k, size_t max, sy_gw_fail *fail) {
  const json_t *v = opt(req, k);
  if (!v) return SY_OK;
  if (!json_is_string(v)) return refuse(fail, k, "%s must be a string", k);
  if (json_string_length(v) > max) return refuse(fail, k, "%s is longer than %zu bytes", k, max);
  return SY_OK;
}

static sy_rc check_int(const json_t *req, const char *k, int64_t lo, int64_t hi, sy_gw_fail *fail) {
  const json_t *v = opt(req, k);
  if (!v) return SY_OK;
  if (!json_is_integer(v)) return refuse(fail, k, "%s must be an integer", k);
  int64_t x = json_integer_value(v);
  if (x < lo || x > hi)
    return refuse(fail, k, "%s is %lld; it must be between %lld and %lld", k, (long long)x, (long long)lo,
                  (long long)hi);
  return SY_OK;
}

static sy_rc check_number(const json_t *req, const char *k, double lo, double hi, sy_gw_fail *fail) {
  const json_t *v = opt(req, k);
  if (!v) return SY_OK;
  if (!json_is_number(v)) return refuse(fail, k, "%s must be a number", k);
  double x = json_number_value(v);
  if (!(x >= lo && x <= hi)) return refuse(fail, k, "%s is %g; it must be between %g and %g", k, x, lo, hi);
  return SY_OK;
}

static sy_rc check_bool(const json_t *o, const char *k, const char *param, sy_gw_fail *fail) {
  const json_t *v = opt(o, k);
  if (v && !json_is_boolean(v)) return refuse(fail, param, "%s must be a boolean", param);
  return SY_OK;
}

static sy_rc check_model(const json_t *req, sy_gw_fail *fail) {
  const json_t *v = opt(req, "model");
  if (!v) return SY_OK; /* the engine picks the provider's default */
  if (!json_is_string(v)) return refuse(fail, "model", "model must be a string");
  size_t n = json_string_length(v);
  if (n == 0) return refuse(fail, "model", "model must not be empty");
  if (n > MODEL_MAX) return refuse(fail, "model", "model is longer than %d bytes", MODEL_MAX);
  return SY_OK;
}

static sy_rc check_part(const json_t *part, size_t i, size_t j, sy_gw_fail *fail) {
  char param[64];
  snprintf(param, sizeof param, "messages[%zu].content[%zu]", i, j);
  if (!json_is_object(part)) return refuse(fail, param, "%s must be an object", param);
  const char *type = json_string_value(json_object_get(part, "type"));
  if (type && !strcmp(type, "text")) {
    snprintf(param, sizeof param, "messages[%zu].content[%zu].text", i, j);
    if (!json_is_string(json_object_get(part, "text"))) return refuse(fail, param, "%s must be a string", param);
    return SY_OK;
  }
  if (type && !strcmp(type, "image_url")) {
    const json_t *img = json_object_get(part, "image_url");
    snprintf(param, sizeof param, "messages[%zu].content[%zu].image_url", i, j);
    if (!json_is_object(img)) return refuse(fail, param, "%s must be an object with a url", param);
    const json_t *url = json_object_get(img, "url");
    snprintf(param, sizeof param, "messages[%zu].content[%zu].image_url.url", i, j);
    if (!json_is_string(url)) return refuse(fail, param, "%s must be a string", param);
    if (json_string_length(url) == 0) return refuse(fail, param, "%s must not be empty", param);
    return SY_OK;
  }
  snprintf(param, sizeof param, "messages[%zu].content[%zu].type", i, j);
  return refuse(fail, param, "%s must be \"text\" or \"image_url\"", param);
}

static sy_rc check_message(const json_t *m, size_t i, sy_gw_fail *fail) {
  static const char *const roles[] = {"system", "user", "assistant", "tool", "developer"};
  char param[64];
  snprintf(param, sizeof param, "messages[%zu]", i);
  if (!json_is_object(m)) return refuse(fail, param, "%s must be an object", param);
  const char *role = json_string_value(json_object_get(m, "role"));
  snprintf(param, sizeof param, "messages[%zu].role", i);
  if (!json_object_get(m, "role")) return refuse(fail, param, "%s is required", param);
  int known = 0;
  for (size_t r = 0; role && r < sizeof roles / sizeof roles[0]; r++) known |= !strcmp(role, roles[r]);
  if (!known) return refuse(fail, param, "%s must be one of system, user, assistant, tool, developer", param);

  const json_t *content = opt(m, "content");
  snprintf(param, sizeof param, "messages[%zu].content", i);
  if (!content) {
    const json_t *calls = json_object_get(m, "tool_calls");
    if (!strcmp(role, "assistant") && json_is_array(calls) && json_array_size(calls) > 0) return SY_OK;
    return refuse(fail, param, "%s is required", param);
  }
  if (json_is_string(content)) return SY_OK;
  if (!json_is_array(content)) return refuse(fail, param, "%s must be a string or an array of content parts", param);
  if (json_array_size(content) == 0) return refuse(fail, param, "%s must not be an empty array", param);
  for (size_t j = 0; j < json_array_size(content); j++) {
    sy_rc rc = check_part(json_array_get(content, j), i, j, fail);
    if (rc) return rc;
  }
  return SY_OK;
}

static sy_rc check_chat(const json_t *req, sy_gw_fail *fail) {
  sy_rc rc;
  if ((rc = check_model(req, fail))) return rc;
  const json_t *msgs = json_object_get(req, "messages");
  if (!msgs) return refuse(fail, "messages", "messages is required");
  if (!json_is_array(msgs)) return refuse(fail, "messages", "messages must be an array");
  size_t n = json_array_size(msgs);
  if (n == 0) return refuse(fail, "messages", "messages must not be empty");
  if (n > MESSAGES_MAX)
    return refuse(fail, "messages", "messages holds %zu items; at most %d are allowed", n, MESSAGES_MAX);
  for (size_t i = 0; i < n; i++)
    if ((rc = check_message(json_array_get(msgs, i), i, fail))) return rc;

  if ((rc = check_bool(req, "stream", "stream", fail))) return rc;
  const json_t *so = opt(req, "stream_options");
  if (so) {
    if (!json_is_object(so)) return refuse(fail, "stream_options", "stream_options must be an object");
    if ((rc = check_bool(so, "include_usage", "stream_options.include_usage", fail))) return rc;
  }
  if ((rc = check_int(req, "max_tokens", 1, INT32_MAX, fail))) return rc;
  if ((rc = check_int(req, "max_completion_tokens", 1, INT32_MAX, fail))) return rc;
  if ((rc = check_number(req, "temperature", 0, 2, fail))) return rc;
  if ((rc = check_number(req, "top_p", 0, 1, fail))) return rc;
  if ((rc = check_int(req, "n", 1, 10, fail))) return rc;
  if ((rc = check_string(req, "user", USER_MAX, fail))) return rc;

  const json_t *stop = opt(req, "stop");
  if (stop && !json_is_string(stop)) {
    if (!json_is_array(stop)) return refuse(fail, "stop", "stop must be a string or an array of strings");
    if (json_array_size(stop) > STOP_MAX)
      return refuse(fail, "stop", "stop holds %zu items; at most %d are allowed", json_array_size(stop), STOP_MAX);
    for (size_t i = 0; i < json_array_size(stop); i++)
      if (!json_is_string(json_array_get(stop, i))) {
        char param[32];
        snprintf(param, sizeof param, "stop[%zu]", i);
        return refuse(fail, param, "%s must be a string", param);
      }
  }
  return SY_OK;
}

/* "auto", or WIDTHxHEIGHT with each 1..99999. */
static int size_valid(const char *s) {
  if (!strcmp(s, "auto")) return 1;
  for (int side = 0; side < 2; side++) {
    size_t d = 0;
    while (s[d] >= '0' && s[d] <= '9') d++;
    if (d == 0 || d > 5 || s[0] == '0') return 0;
    s += d;
    if (side == 0 && *s++ != 'x') return 0;
  }
  return *s == 0;
}

static int image_url_valid(const char *s) {
  return !strncmp(s, "https://", 8) || !strncmp(s, "http://", 7) || !strncmp(s, "data:", 5);
}

static sy_rc check_image_input(const json_t *req, sy_gw_fail *fail) {
  const json_t *img = opt(req, "image");
  if (!img) return refuse(fail, "image", "image is required: a URL or a data URL, or an array of them");
  if (json_is_string(img)) {
    if (!image_url_valid(json_string_value(img)))
      return refuse(fail, "image", "image must be an http(s) URL or a data: URL");
    return SY_OK;
  }
  if (!json_is_array(img)) return refuse(fail, "image", "image must be a string or an array of strings");
  size_t n = json_array_size(img);
  if (n == 0) return refuse(fail, "image", "image must not be an empty array");
  if (n > IMAGES_MAX) return refuse(fail, "image", "image holds %zu items; at most %d are allowed", n, IMAGES_MAX);
  for (size_t i = 0; i < n; i++) {
    const json_t *v = json_array_get(img, i);
    char param[32];
    snprintf(param, sizeof param, "image[%zu]", i);
    if (!json_is_string(v)) return refuse(fail, param, "%s must be a string", param);
    if (!image_url_valid(json_string_value(v)))
      return refuse(fail, param, "%s must be an http(s) URL or a data: URL", param);
  }
  return SY_OK;
}

static sy_rc check_images(sy_gw_op op, const json_t *req, sy_gw_fail *fail) {
  sy_rc rc;
  if ((rc = check_model(req, fail))) return rc;
  const json_t *prompt = json_object_get(req, "prompt");
  if (!prompt || json_is_null(prompt)) return refuse(fail, "prompt", "prompt is required");
  if (!json_is_string(prompt)) return refuse(fail, "prompt", "prompt must be a string");
  if (json_string_length(prompt) == 0) return refuse(fail, "prompt", "prompt must not be empty");
  if (json_string_length(prompt) > PROMPT_MAX)
    return refuse(fail, "prompt", "prompt is longer than %d bytes", PROMPT_MAX);
  if ((rc = check_int(req, "n", 1, 10, fail))) return rc;
  const json_t *size = opt(req, "size");
  if (size && (!json_is_string(size) || !size_valid(json_string_value(size))))
    return refuse(fail, "size", "size must be \"auto\" or WIDTHxHEIGHT, e.g. \"1024x1024\"");
  const json_t *fmt = opt(req, "response_format");
  if (fmt) {
    const char *f = json_string_value(fmt);
    if (!f || (strcmp(f, "url") && strcmp(f, "b64_json")))
      return refuse(fail, "response_format", "response_format must be \"url\" or \"b64_json\"");
  }
  if ((rc = check_bool(req, "stream", "stream", fail))) return rc;
  if ((rc = check_string(req, "user", USER_MAX, fail))) return rc;
  if (op == SY_GW_EDITS && (rc = check_image_input(req, fail))) return rc;
  return SY_OK;
}

sy_rc sy__gw_check_request(sy_gw_op op, const json_t *req, sy_gw_fail *fail) {
  if (!json_is_object(req)) return refuse(fail, NULL, "the request body must be a JSON object");
  switch (op) {
  case SY_GW_CHAT: return check_chat(req, fail);
  case SY_GW_IMAGES:
  case SY_GW_EDITS: return check_images(op, req, fail);
  }
  return refuse(fail, NULL, "unknown operation");
}

/* ---- chunks of a stream ---- */

static void chunk_head(const sy_gw_stream *st, sy_jbuf *out) {
  sy__jbuf_cstr(out, "data: {\"id\":");
  sy__jbuf_str(out, st->id, strnlen(st->id, sizeof st->id));
  sy__jbuf_cstr(out, ",\"object\":\"chat.completion.chunk\",\"created\":");
  sy__jbuf_int(out, st->created);
  sy__jbuf_cstr(out, ",\"model\":");
  sy__jbuf_str(out, st->model, strnlen(st->model, sizeof st->model));
}

void sy__gw_chunk(sy_gw_stream *st, const char *content, size_t content_len, const char *finish_reason, sy_jbuf *out) {
  chunk_head(st, out);
  sy__jbuf_cstr(out, ",\"choices\":[{\"index\":0,\"delta\":{");
  int comma = 0;
  if (!st->started) {
    sy__jbuf_cstr(out, "\"role\":\"assistant\"");
    comma = 1;
    st->started = 1;
  }
  if (content) {
    if (comma) sy__jbuf_putc(out, ',');
    sy__jbuf_cstr(out, "\"content\":");
    sy__jbuf_str(out, content, content_len);
  }
  sy__jbuf_cstr(out, "},\"finish_reason\":");
  if (finish_reason) {
    sy__jbuf_str(out, finish_reason, strlen(finish_reason));
    st->finished = 1;
  } else {
    sy__jbuf_cstr(out, "null");
  }
  sy__jbuf_cstr(out, "}]}\n\n");
}

void sy__gw_chunk_usage(sy_gw_stream *st, sy_jbuf *out) {
  chunk_head(st, out);
  sy__jbuf_cstr(out, ",\"choices\":[],\"usage\":{\"prompt_tokens\":");
  sy__jbuf_int(out, st->usage.prompt_tokens);
  sy__jbuf_cstr(out, ",\"completion_tokens\":");
  sy__jbuf_int(out, st->usage.completion_tokens);
  sy__jbuf_cstr(out, ",\"total_tokens\":");
  sy__jbuf_int(out, st->usage.prompt_tokens + st->usage.completion_tokens);
  sy__jbuf_cstr(out, "}}\n\n");
}

/* ---- the table ---- */

const sy_adapter *sy__adapter_for(sy_provider_type t) {
  switch (t) {
  case SY_PROVIDER_OPENAI: return &sy__adapter_openai;
  case SY_PROVIDER_GEMINI: return &sy__adapter_gemini;
  case SY_PROVIDER_SEEDREAM: return &sy__adapter_seedream;
  case SY_PROVIDER_STUB: return &sy__adapter_stub;
  }
  return NULL;
}

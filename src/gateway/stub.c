/* stub.c — the stub provider: deterministic answers computed from the request alone, no network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "gateway/adapter_int.h"

#define ECHO_MAX 80 /* bytes of the user's text the reply quotes */
#define STREAM_PIECES 3

/* A valid 1x1 PNG (one transparent-ish pixel), for response_format b64_json. */
static const char PNG_1X1_B64[] =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
static const char ANALYSIS[] = "{\"labels\":[\"stub\"],\"description\":\"stub analysis\",\"confidence\":1.0}";

/* The stub has no upstream: the engine calls sy__stub_answer instead of the table's functions. */
const sy_adapter sy__adapter_stub = {.type = "stub", .auth_prefix = ""};

/* Hex SHA-256 of op and the request's canonical text (keys sorted), so that the same request
 * gives the same answer on every server. */
static sy_rc request_hash(sy_gw_op op, const json_t *req, char hex[SY_HASH_HEX]) {
  char *text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  if (!text) return SY_ENOMEM;
  sy_jbuf b;
  sy__jbuf_init(&b, (size_t)-1);
  sy__jbuf_int(&b, op);
  sy__jbuf_putc(&b, ' ');
  sy__jbuf_cstr(&b, text);
  free(text);
  if (b.err) {
    sy__jbuf_free(&b);
    return SY_ENOMEM;
  }
  sy__sha256_hex(b.p, b.len, hex);
  sy__jbuf_free(&b);
  return SY_OK;
}

/* The length of s[0..n) cut to at most max bytes without splitting a UTF-8 character. */
static size_t utf8_cut(const char *s, size_t n, size_t max) {
  if (n <= max) return n;
  while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--;
  return max;
}

/* Bytes of text a message holds (its string, or its text parts); *image when a part is an image. */
static size_t message_text(const json_t *m, const char **first, size_t *first_len, int *image) {
  const json_t *c = json_object_get(m, "content");
  if (json_is_string(c)) {
    if (first && !*first) *first = json_string_value(c), *first_len = json_string_length(c);
    return json_string_length(c);
  }
  size_t total = 0;
  for (size_t j = 0; j < json_array_size(c); j++) {
    const json_t *part = json_array_get(c, j);
    const json_t *t = json_object_get(part, "text");
    if (json_is_string(t)) {
      if (first && !*first) *first = json_string_value(t), *first_len = json_string_length(t);
      total += json_string_length(t);
    }
    if (json_object_get(part, "image_url") && image) *image = 1;
  }
  return total;
}

static int64_t tokens_of(size_t bytes) { return bytes / 4 ? (int64_t)(bytes / 4) : 1; }

static sy_rc oom(sy_gw_fail *fail) {
  sy__gw_fail_set(fail, 500, "api_error", NULL, NULL, 1, "the stub provider ran out of memory");
  return SY_ENOMEM;
}

static sy_rc stub_chat(const json_t *req, const char *model, const char *hex, sy_gw_stream *st, json_t **out,
                       sy_jbuf *sse, sy_gw_usage *u, sy_gw_fail *fail) {
  const json_t *msgs = json_object_get(req, "messages");
  size_t n = json_array_size(msgs), all = 0;
  const json_t *last = NULL;
  for (size_t i = 0; i < n; i++) {
    const json_t *m = json_array_get(msgs, i);
    all += message_text(m, NULL, NULL, NULL);
    const char *role = json_string_value(json_object_get(m, "role"));
    if (role && !strcmp(role, "user")) last = m;
  }
  if (!last && n) last = json_array_get(msgs, n - 1);
  const char *text = NULL;
  size_t text_len = 0;
  int image = 0;
  if (last) message_text(last, &text, &text_len, &image);

  char reply[sizeof "stub reply to: " + ECHO_MAX + sizeof ANALYSIS];
  if (image) {
    snprintf(reply, sizeof reply, "%s", ANALYSIS);
  } else {
    int cut = (int)utf8_cut(text ? text : "", text_len, ECHO_MAX);
    snprintf(reply, sizeof reply, "stub reply to: %.*s", cut, text ? text : "");
  }
  size_t reply_len = strlen(reply);
  u->prompt_tokens = tokens_of(all);
  u->completion_tokens = tokens_of(reply_len);
  u->images = 0;

  char id[64];
  snprintf(id, sizeof id, "chatcmpl-stub-%.16s", hex);
  if (st) {
    if (!st->id[0]) snprintf(st->id, sizeof st->id, "%s", id);
    if (!st->model[0]) snprintf(st->model, sizeof st->model, "%s", model);
    sy__gw_chunk(st, "", 0, NULL, sse); /* the role, as OpenAI's first chunk has it */
    size_t at = 0, piece = (reply_len + STREAM_PIECES - 1) / STREAM_PIECES;
    while (at < reply_len) {
      size_t end = at + piece < reply_len ? at + piece : reply_len;
      while (end < reply_len && ((unsigned char)reply[end] & 0xC0) == 0x80) end++; /* whole characters */
      sy__gw_chunk(st, reply + at, end - at, NULL, sse);
      at = end;
    }
    sy__gw_chunk(st, NULL, 0, "stop", sse);
    st->usage = *u;
    if (st->include_usage) sy__gw_chunk_usage(st, sse);
    sy__gw_done(sse);
    st->done = 1;
    return sse->err ? oom(fail) : SY_OK;
  }

  json_int_t choices_n = json_integer_value(json_object_get(req, "n"));
  if (choices_n < 1 || choices_n > 10) choices_n = 1;
  json_t *choices = json_array();
  for (json_int_t i = 0; choices && i < choices_n; i++)
    if (json_array_append_new(choices, json_pack("{s:I,s:{s:s,s:s},s:s}", "index", i, "message", "role", "assistant",
                                                 "content", reply, "finish_reason", "stop"))) {
      json_decref(choices);
      choices = NULL;
    }
  if (!choices) return oom(fail);
  json_int_t pt = u->prompt_tokens, ct = u->completion_tokens, total = pt + ct;
  *out = json_pack("{s:s,s:s,s:i,s:s,s:o,s:{s:I,s:I,s:I}}", "id", id, "object", "chat.completion", "created", 0,
                   "model", model, "choices", choices, "usage", "prompt_tokens", pt, "completion_tokens", ct,
                   "total_tokens", total);
  return *out ? SY_OK : oom(fail);
}

static sy_rc stub_images(const json_t *req, const char *hex, json_t **out, sy_gw_usage *u, sy_gw_fail *fail) {
  json_int_t n = json_integer_value(json_object_get(req, "n"));
  if (n < 1 || n > 10) n = 1;
  const char *fmt = json_string_value(json_object_get(req, "response_format"));
  int b64 = fmt && !strcmp(fmt, "b64_json");
  json_t *data = json_array();
  for (json_int_t i = 0; data && i < n; i++) {
    char url[128];
    snprintf(url, sizeof url, "https://stub.switchyard.invalid/images/%.32s-%d.png", hex, (int)i);
    if (json_array_append_new(data,
                              b64 ? json_pack("{s:s}", "b64_json", PNG_1X1_B64) : json_pack("{s:s}", "url", url))) {
      json_decref(data);
      data = NULL;
    }
  }
  if (!data) return oom(fail);
  /* created 0: the engine sets the time, adapters have no clock */
  *out = json_pack("{s:i,s:o}", "created", 0, "data", data);
  if (!*out) return oom(fail);
  u->prompt_tokens = u->completion_tokens = 0;
  u->images = n;
  return SY_OK;
}

sy_rc sy__stub_answer(sy_gw_op op, const json_t *req, const char *model, sy_gw_stream *st, json_t **out, sy_jbuf *sse,
                      sy_gw_usage *u, sy_gw_fail *fail) {
  char hex[SY_HASH_HEX];
  if (out) *out = NULL;
  memset(u, 0, sizeof *u);
  if (!model) model = "stub";
  if (request_hash(op, req, hex)) return oom(fail);
  switch (op) {
  case SY_GW_CHAT:
    if (st && !sse) break;
    if (!st && !out) break;
    return stub_chat(req, model, hex, st, out, sse, u, fail);
  case SY_GW_IMAGES:
  case SY_GW_EDITS:
    if (!out) break;
    return stub_images(req, hex, out, u, fail);
  }
  sy__gw_fail_set(fail, 500, "api_error", NULL, NULL, 0, "the stub provider cannot answer this call");
  return SY_EINVAL;
}

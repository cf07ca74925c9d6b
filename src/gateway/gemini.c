/* gemini.c — the Gemini adapter: OpenAI chat in and out, generateContent and its SSE stream upstream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "gateway/adapter_int.h"

#define WHO "gemini"
#define MODEL_NAME_MAX 200
#define TEXT_MAX ((size_t)64 << 20) /* a candidate's text: more than any body the engine passes */

static sy_rc oom(sy_gw_fail *fail) {
  sy__gw_fail_set(fail, 500, "api_error", NULL, NULL, 1, "out of memory");
  return SY_ENOMEM;
}

static sy_rc refuse(sy_gw_fail *fail, const char *param, const char *msg) {
  sy__gw_fail_set(fail, 400, "invalid_request_error", NULL, param, 0, "%s", msg);
  return SY_EINVAL;
}

/* The model goes into the URL's path unescaped, so only these bytes are let through. */
static int model_safe(const char *m) {
  size_t n = strlen(m);
  if (n == 0 || n > MODEL_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = m[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return 0;
  }
  return 1;
}

/* An image's MIME type guessed from its URL's extension (Gemini wants one with file_data). */
static const char *mime_of_url(const char *url) {
  size_t n = strcspn(url, "?#");
  static const struct {
    const char *ext, *mime;
  } types[] = {{".png", "image/png"},
               {".webp", "image/webp"},
               {".gif", "image/gif"},
               {".heic", "image/heic"},
               {".heif", "image/heif"}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    size_t e = strlen(types[i].ext);
    if (n >= e && !strncasecmp(url + n - e, types[i].ext, e)) return types[i].mime;
  }
  return "image/jpeg";
}

/* One image_url part as a Gemini part: a data: URL inline, an http(s) URL by reference. NULL
 * with fail filled when the URL is neither (or on ENOMEM, *nomem set). */
static json_t *image_part(const char *url, size_t i, size_t j, sy_gw_fail *fail, int *nomem) {
  char param[64];
  snprintf(param, sizeof param, "messages[%zu].content[%zu].image_url.url", i, j);
  json_t *p = NULL;
  if (!strncmp(url, "data:", 5)) {
    const char *comma = strchr(url, ',');
    const char *b64 = comma ? strstr(url, ";base64,") : NULL;
    if (!b64 || b64 + 7 != comma || b64 == url + 5 || !comma[1]) {
      refuse(fail, param, "a data: URL must be data:MIME;base64,DATA");
      return NULL;
    }
    p = json_pack("{s:{s:s%,s:s}}", "inline_data", "mime_type", url + 5, (size_t)(b64 - (url + 5)), "data", comma + 1);
  } else if (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7)) {
    p = json_pack("{s:{s:s,s:s}}", "file_data", "mime_type", mime_of_url(url), "file_uri", url);
  } else {
    refuse(fail, param, "an image URL must be http(s) or a data: URL");
    return NULL;
  }
  if (!p) *nomem = 1;
  return p;
}

/* The parts of message i, appended to parts; text_only drops images (system instructions). */
static sy_rc message_parts(const json_t *m, size_t i, int text_only, json_t *parts, sy_gw_fail *fail) {
  const json_t *c = json_object_get(m, "content");
  if (json_is_string(c)) {
    if (json_array_append_new(parts, json_pack("{s:s}", "text", json_string_value(c)))) return oom(fail);
    return SY_OK;
  }
  for (size_t j = 0; j < json_array_size(c); j++) {
    const json_t *part = json_array_get(c, j);
    const char *type = json_string_value(json_object_get(part, "type"));
    json_t *g = NULL;
    int nomem = 0;
    if (type && !strcmp(type, "text")) {
      g = json_pack("{s:s}", "text", json_string_value(json_object_get(part, "text")));
      nomem = !g;
    } else if (type && !strcmp(type, "image_url") && !text_only) {
      const char *url = json_string_value(json_object_get(json_object_get(part, "image_url"), "url"));
      g = image_part(url ? url : "", i, j, fail, &nomem);
      if (!g && !nomem) return SY_EINVAL;
    } else {
      continue;
    }
    if (nomem || json_array_append_new(parts, g)) return oom(fail);
  }
  return SY_OK;
}

static sy_rc put_config(const json_t *req, json_t *body) {
  json_t *cfg = json_object();
  if (!cfg) return SY_ENOMEM;
  const json_t *v;
  int bad = 0;
  if (json_is_number(v = json_object_get(req, "temperature")))
    bad |= json_object_set_new(cfg, "temperature", json_real(json_number_value(v)));
  if (json_is_number(v = json_object_get(req, "top_p")))
    bad |= json_object_set_new(cfg, "topP", json_real(json_number_value(v)));
  v = json_object_get(req, "max_completion_tokens");
  if (!json_is_integer(v)) v = json_object_get(req, "max_tokens");
  if (json_is_integer(v)) bad |= json_object_set_new(cfg, "maxOutputTokens", json_integer(json_integer_value(v)));
  v = json_object_get(req, "stop");
  if (json_is_string(v))
    bad |= json_object_set_new(cfg, "stopSequences", json_pack("[s]", json_string_value(v)));
  else if (json_is_array(v) && json_array_size(v))
    bad |= json_object_set_new(cfg, "stopSequences", json_deep_copy(v));
  if (json_is_integer(v = json_object_get(req, "n")))
    bad |= json_object_set_new(cfg, "candidateCount", json_integer(json_integer_value(v)));
  const char *fmt = json_string_value(json_object_get(json_object_get(req, "response_format"), "type"));
  if (fmt && !strcmp(fmt, "json_object"))
    bad |= json_object_set_new(cfg, "responseMimeType", json_string("application/json"));
  if (bad) {
    json_decref(cfg);
    return SY_ENOMEM;
  }
  if (json_object_size(cfg) == 0) {
    json_decref(cfg);
    return SY_OK;
  }
  return json_object_set_new(body, "generationConfig", cfg) ? SY_ENOMEM : SY_OK;
}

/* messages -> contents (user and model turns, consecutive turns of one side merged) and
 * systemInstruction (system and developer messages' text). */
static sy_rc gemini_request(sy_gw_op op, const json_t *req, const char *model, int stream, sy_gw_call *out,
                            sy_gw_fail *fail) {
  if (op != SY_GW_CHAT) return sy__gw_unsupported(fail, WHO, op);
  memset(out, 0, sizeof *out);
  if (!model || !model_safe(model)) return refuse(fail, "model", "the model's name must be 1-200 of A-Z a-z 0-9 . _ -");
  sy_rc rc = SY_OK;
  json_t *body = json_object(), *contents = json_array(), *sys = json_array(), *last = NULL;
  const char *last_role = NULL;
  if (!body || !contents || !sys) goto nomem;
  const json_t *msgs = json_object_get(req, "messages");
  for (size_t i = 0; i < json_array_size(msgs); i++) {
    const json_t *m = json_array_get(msgs, i);
    const char *role = json_string_value(json_object_get(m, "role"));
    if (!role) continue;
    if (!strcmp(role, "system") || !strcmp(role, "developer")) {
      if ((rc = message_parts(m, i, 1, sys, fail))) goto out;
      continue;
    }
    const char *side = !strcmp(role, "assistant") ? "model" : "user";
    json_t *parts = json_array();
    if (!parts) goto nomem;
    if ((rc = message_parts(m, i, 0, parts, fail))) {
      json_decref(parts);
      goto out;
    }
    if (json_array_size(parts) == 0) { /* an assistant turn of tool calls only */
      json_decref(parts);
      continue;
    }
    if (last && !strcmp(last_role, side)) {
      int bad = json_array_extend(json_object_get(last, "parts"), parts);
      json_decref(parts);
      if (bad) goto nomem;
      continue;
    }
    last = json_pack("{s:s,s:o}", "role", side, "parts", parts);
    if (!last || json_array_append_new(contents, last)) goto nomem;
    last_role = side;
  }
  if (json_array_size(contents) == 0) {
    rc = refuse(fail, "messages", "messages must hold a user or assistant message with content");
    goto out;
  }
  if (json_object_set(body, "contents", contents)) goto nomem;
  if (json_array_size(sys) && json_object_set_new(body, "systemInstruction", json_pack("{s:O}", "parts", sys)))
    goto nomem;
  if (put_config(req, body)) goto nomem;
  char path[sizeof out->path];
  snprintf(path, sizeof path, "/models/%s:%s", model, stream ? "streamGenerateContent?alt=sse" : "generateContent");
  rc = sy__gw_call_set(out, path, stream, body, fail);
  body = NULL; /* taken */
  goto out;
nomem:
  rc = oom(fail);
out:
  json_decref(body);
  json_decref(contents);
  json_decref(sys);
  return rc;
}

/* ---- answers ---- */

static int status_of(const char *s) {
  static const struct {
    const char *name;
    int status;
  } map[] = {{"INVALID_ARGUMENT", 400},
             {"FAILED_PRECONDITION", 400},
             {"OUT_OF_RANGE", 400},
             {"NOT_FOUND", 404},
             {"PERMISSION_DENIED", 403},
             {"UNAUTHENTICATED", 401},
             {"RESOURCE_EXHAUSTED", 429},
             {"UNAVAILABLE", 503},
             {"DEADLINE_EXCEEDED", 504},
             {"INTERNAL", 500},
             {"UNKNOWN", 500},
             {"ABORTED", 409},
             {"CANCELLED", 502},
             {"UNIMPLEMENTED", 501},
             {"DATA_LOSS", 500}};
  for (size_t i = 0; s && i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(s, map[i].name)) return map[i].status;
  return 0;
}

/* {"error":{"code","message","status"}} (or the same inside an array, as a stream's error
 * comes) into fail; status the HTTP status, or 0 to take the one the error names. Returns 0
 * when j holds no error. */
static int read_error(const json_t *j, int status, sy_gw_fail *fail) {
  if (json_is_array(j)) j = json_array_get(j, 0);
  const json_t *e = json_object_get(j, "error");
  if (!e || json_is_null(e)) return 0;
  const char *msg = json_string_value(json_object_get(e, "message"));
  const char *name = json_string_value(json_object_get(e, "status"));
  char code[48] = "";
  for (size_t i = 0; name && name[i] && i < sizeof code - 1; i++)
    code[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i], code[i + 1] = 0;
  if (!status) {
    status = status_of(name);
    int64_t c = sy__gw_int(json_object_get(e, "code"), 0);
    if (!status && c >= 400 && c <= 599) status = (int)c;
    if (!status) status = 502;
  }
  sy__gw_fail_upstream(fail, WHO, status, code, NULL, msg);
  return 1;
}

static void gemini_error(int status, const char *body, size_t len, sy_gw_fail *fail) {
  json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
  int mapped = status;
  if (j) { /* the error's own status is finer than HTTP's (400 covers three of them) */
    const json_t *e = json_object_get(json_is_array(j) ? json_array_get(j, 0) : j, "error");
    int named = status_of(json_string_value(json_object_get(e, "status")));
    if (named) mapped = named;
  }
  int read = j && read_error(j, mapped, fail);
  json_decref(j);
  if (read) return;
  sy__gw_fail_unread(fail, WHO, status, body, len);
}

static const char *finish_of(const json_t *reason) {
  const char *r = json_string_value(reason);
  if (!r) return NULL;
  if (!strcmp(r, "MAX_TOKENS")) return "length";
  static const char *const filtered[] = {"SAFETY", "RECITATION",  "BLOCKLIST", "PROHIBITED_CONTENT",
                                         "SPII",   "IMAGE_SAFETY"};
  for (size_t i = 0; i < sizeof filtered / sizeof filtered[0]; i++)
    if (!strcmp(r, filtered[i])) return "content_filter";
  return "stop";
}

/* The text of a candidate's parts, thoughts left out, into b. */
static void candidate_text(const json_t *cand, sy_jbuf *b) {
  const json_t *parts = json_object_get(json_object_get(cand, "content"), "parts");
  for (size_t i = 0; i < json_array_size(parts); i++) {
    const json_t *p = json_array_get(parts, i);
    const json_t *t = json_object_get(p, "text");
    if (json_is_string(t) && !json_is_true(json_object_get(p, "thought")))
      sy__jbuf_raw(b, json_string_value(t), json_string_length(t));
  }
}

static void read_usage(const json_t *j, sy_gw_usage *u) {
  const json_t *um = json_object_get(j, "usageMetadata");
  if (!json_is_object(um)) return;
  u->prompt_tokens = sy__gw_count(json_object_get(um, "promptTokenCount"));
  /* thinking is billed as output, as OpenAI counts reasoning in completion_tokens */
  u->completion_tokens = sy__gw_count(json_object_get(um, "candidatesTokenCount")) +
                         sy__gw_count(json_object_get(um, "thoughtsTokenCount"));
}

static int id_safe(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 40) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
          s[i] == '_'))
      return 0;
  return 1;
}

static sy_rc garbage(sy_gw_fail *fail) {
  sy__gw_fail_set(fail, 502, "api_error", "bad_upstream_response", NULL, 1,
                  "provider " WHO " answered something that is not a Gemini answer");
  return SY_EINVAL;
}

/* A chat.completion from a GenerateContentResponse. Its id comes from responseId, else from a
 * hash of the body (adapters have no clock or randomness); created is 0 and the engine sets it. */
static sy_rc gemini_response(sy_gw_op op, const char *model, const char *body, size_t len, json_t **out, sy_gw_usage *u,
                             sy_gw_fail *fail) {
  *out = NULL;
  memset(u, 0, sizeof *u);
  if (op != SY_GW_CHAT) return sy__gw_unsupported(fail, WHO, op);
  sy_rc rc = SY_OK;
  json_t *j = sy__gw_parse_object(body, len), *choices = NULL;
  sy_jbuf text;
  sy__jbuf_init(&text, TEXT_MAX);
  if (!j) return garbage(fail);
  if (read_error(j, 502, fail)) { /* a 200 that carries an error */
    fail->retryable = 1;
    rc = SY_EINVAL;
    goto out;
  }
  const json_t *cands = json_object_get(j, "candidates");
  if (cands && !json_is_array(cands)) goto bad;
  if (!(choices = json_array())) goto nomem;
  if (json_array_size(cands) == 0) { /* the prompt itself was blocked */
    const char *block = json_string_value(json_object_get(json_object_get(j, "promptFeedback"), "blockReason"));
    if (!block) goto bad;
    if (json_array_append_new(choices, json_pack("{s:i,s:{s:s,s:s},s:s}", "index", 0, "message", "role", "assistant",
                                                 "content", "", "finish_reason", "content_filter")))
      goto nomem;
  }
  for (size_t i = 0; i < json_array_size(cands); i++) {
    const json_t *c = json_array_get(cands, i);
    if (!json_is_object(c)) goto bad;
    text.len = 0;
    candidate_text(c, &text);
    if (text.err) goto nomem;
    const char *finish = finish_of(json_object_get(c, "finishReason"));
    json_t *msg = json_pack("{s:s,s:s%}", "role", "assistant", "content", text.p ? text.p : "", text.len);
    if (!msg ||
        json_array_append_new(choices, json_pack("{s:I,s:o,s:s}", "index",
                                                 (json_int_t)sy__gw_int(json_object_get(c, "index"), (int64_t)i),
                                                 "message", msg, "finish_reason", finish ? finish : "stop")))
      goto nomem;
  }
  read_usage(j, u);
  char id[64];
  const char *rid = json_string_value(json_object_get(j, "responseId"));
  if (id_safe(rid)) {
    snprintf(id, sizeof id, "chatcmpl-%s", rid);
  } else {
    char hex[SY_HASH_HEX];
    sy__sha256_hex(body, len, hex);
    snprintf(id, sizeof id, "chatcmpl-%.24s", hex);
  }
  json_int_t pt = u->prompt_tokens, ct = u->completion_tokens, total = pt + ct;
  *out = json_pack("{s:s,s:s,s:i,s:s,s:O,s:{s:I,s:I,s:I}}", "id", id, "object", "chat.completion", "created", 0,
                   "model", model ? model : "", "choices", choices, "usage", "prompt_tokens", pt, "completion_tokens",
                   ct, "total_tokens", total);
  if (!*out) goto nomem;
  goto out;
bad:
  rc = garbage(fail);
  goto out;
nomem:
  rc = oom(fail);
out:
  sy__jbuf_free(&text);
  json_decref(choices);
  json_decref(j);
  return rc;
}

/* ---- streams ---- */

/* One GenerateContentResponse of the stream: its first candidate's text as a chunk (the first
 * chunk carries the role), its finishReason as a finish chunk, its usage kept for the end. */
static sy_rc gemini_stream_event(sy_gw_stream *st, const char *data, size_t len, sy_jbuf *out, sy_gw_fail *fail) {
  sy_rc rc = SY_OK;
  json_t *j = json_loadb(data, len, 0, NULL);
  sy_jbuf text;
  sy__jbuf_init(&text, TEXT_MAX);
  if (!json_is_object(j) &&
      !(json_is_array(j) && json_is_object(json_array_get(j, 0)) && json_object_get(json_array_get(j, 0), "error"))) {
    sy__gw_fail_set(fail, 502, "api_error", "bad_upstream_response", NULL, 1,
                    "provider " WHO " sent a stream event that is not a Gemini answer");
    rc = SY_EINVAL;
    goto out;
  }
  if (read_error(j, 0, fail)) {
    rc = SY_EINVAL;
    goto out;
  }
  read_usage(j, &st->usage);
  if (st->finished) goto out; /* a late usage event */
  const json_t *cands = json_object_get(j, "candidates");
  const json_t *c = json_array_get(cands, 0);
  if (!c) {
    if (json_string_value(json_object_get(json_object_get(j, "promptFeedback"), "blockReason")))
      sy__gw_chunk(st, NULL, 0, "content_filter", out);
    goto out;
  }
  candidate_text(c, &text);
  if (text.err) {
    rc = oom(fail);
    goto out;
  }
  if (text.len) sy__gw_chunk(st, text.p, text.len, NULL, out);
  const char *finish = finish_of(json_object_get(c, "finishReason"));
  if (finish) sy__gw_chunk(st, NULL, 0, finish, out);
out:
  sy__jbuf_free(&text);
  json_decref(j);
  return rc;
}

/* Gemini has no end marker: a stream that said something ends when the body does. */
static sy_rc gemini_stream_end(sy_gw_stream *st, sy_jbuf *out, sy_gw_fail *fail) {
  if (!st->started && !st->finished) {
    sy__gw_fail_set(fail, 502, "api_error", "incomplete_stream", NULL, 1,
                    "the stream ended before the answer was complete");
    return SY_EINVAL;
  }
  if (!st->finished) sy__gw_chunk(st, NULL, 0, "stop", out);
  if (st->include_usage) sy__gw_chunk_usage(st, out);
  sy__gw_done(out);
  st->done = 1;
  return SY_OK;
}

const sy_adapter sy__adapter_gemini = {
    .type = "gemini",
    .auth_prefix = "x-goog-api-key: ",
    .request = gemini_request,
    .response = gemini_response,
    .error = gemini_error,
    .stream_event = gemini_stream_event,
    .stream_end = gemini_stream_end,
};

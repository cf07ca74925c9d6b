/* test_gw_adapters.c — the adapters: request checks, golden requests, answers, errors, SSE, streams, the stub. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "gateway/adapter.h"

#ifndef SY_TEST_DATA
#define SY_TEST_DATA "data/"
#endif
#define DATA SY_TEST_DATA "gateway/"

/* ---- fixtures ---- */

static char *slurp(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, DATA "%s", name);
  FILE *fp = fopen(path, "rb");
  if (!fp) fail_msg("cannot open %s", path);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  assert_non_null(p);
  assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
  p[n] = 0;
  fclose(fp);
  if (len) *len = (size_t)n;
  return p;
}

static json_t *load(const char *name) {
  json_error_t err;
  char path[512];
  snprintf(path, sizeof path, DATA "%s", name);
  json_t *j = json_load_file(path, 0, &err);
  if (!j) fail_msg("%s: %s", path, err.text);
  return j;
}

static json_t *parse(const char *text) {
  json_error_t err;
  json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
  if (!j) fail_msg("%s: %s", text, err.text);
  return j;
}

static void assert_json_equal(const json_t *got, const json_t *want) {
  if (json_equal(got, want)) return;
  char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS), *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
  print_error("got:  %s\nwant: %s\n", g, w);
  free(g);
  free(w);
  fail();
}

/* Splits a line at tabs into at most n fields; the number found. */
static int fields(char *line, char **out, int n) {
  int k = 0;
  line[strcspn(line, "\r\n")] = 0;
  out[k++] = line;
  for (char *p = line; *p && k < n; p++)
    if (*p == '\t') {
      *p = 0;
      out[k++] = p + 1;
    }
  return k;
}

static sy_gw_op op_of(const char *s) {
  if (!strcmp(s, "chat")) return SY_GW_CHAT;
  if (!strcmp(s, "images")) return SY_GW_IMAGES;
  if (!strcmp(s, "edits")) return SY_GW_EDITS;
  fail_msg("unknown op %s", s);
  return SY_GW_CHAT;
}

/* The fail as the client sees it, checked to be the OpenAI error shape. */
static json_t *fail_doc(const sy_gw_fail *f) {
  size_t len = 0;
  char *text = sy__gw_fail_json(f, &len);
  assert_non_null(text);
  assert_int_equal(len, strlen(text));
  json_t *j = parse(text);
  free(text);
  json_t *e = json_object_get(j, "error");
  assert_true(json_is_object(e));
  assert_int_equal(json_object_size(e), 4);
  assert_true(json_is_string(json_object_get(e, "message")));
  assert_true(json_is_string(json_object_get(e, "type")));
  assert_true(json_is_string(json_object_get(e, "param")) || json_is_null(json_object_get(e, "param")));
  assert_true(json_is_string(json_object_get(e, "code")) || json_is_null(json_object_get(e, "code")));
  return j;
}

/* ---- the check of a client's request ---- */

static void check_refusals(void **state) {
  FILE *fp = fopen(DATA "check_refusals.txt", "r");
  assert_non_null(fp);
  char *line = NULL;
  size_t cap = 0;
  int count = 0;
  while (getline(&line, &cap, fp) > 0) {
    char *f[3];
    if (line[0] == '#' || fields(line, f, 3) != 3) continue;
    json_t *req = parse(f[2]);
    sy_gw_fail fail;
    memset(&fail, 0x5a, sizeof fail);
    sy_rc rc = sy__gw_check_request(op_of(f[0]), req, &fail);
    if (rc != SY_EINVAL) fail_msg("accepted: %.200s", f[2]);
    assert_int_equal(fail.status, 400);
    assert_string_equal(fail.type, "invalid_request_error");
    assert_string_equal(fail.param, !strcmp(f[1], "-") ? "" : f[1]);
    assert_int_equal(fail.retryable, 0);
    assert_int_equal(fail.retry_after_ms, -1);
    assert_true(strlen(fail.message) > 10);
    json_t *doc = fail_doc(&fail);
    if (!strcmp(f[1], "-")) assert_true(json_is_null(json_object_get(json_object_get(doc, "error"), "param")));
    json_decref(doc);
    json_decref(req);
    count++;
  }
  free(line);
  fclose(fp);
  assert_true(count >= 50);
}

static void check_accepted(void **state) {
  FILE *fp = fopen(DATA "check_accepted.txt", "r");
  assert_non_null(fp);
  char *line = NULL;
  size_t cap = 0;
  int count = 0;
  while (getline(&line, &cap, fp) > 0) {
    char *f[2];
    if (line[0] == '#' || fields(line, f, 2) != 2) continue;
    json_t *req = parse(f[1]);
    sy_gw_fail fail;
    if (sy__gw_check_request(op_of(f[0]), req, &fail)) fail_msg("refused (%s): %.200s", fail.message, f[1]);
    json_decref(req);
    count++;
  }
  free(line);
  fclose(fp);
  assert_true(count >= 8);
  json_t *req = load("chat_request.json");
  sy_gw_fail fail;
  assert_int_equal(sy__gw_check_request(SY_GW_CHAT, req, &fail), SY_OK);
  json_decref(req);
  req = load("edit_request.json");
  assert_int_equal(sy__gw_check_request(SY_GW_EDITS, req, &fail), SY_OK);
  json_decref(req);
}

static void fail_json_shape(void **state) {
  sy_gw_fail f;
  sy__gw_fail_set(&f, 429, "rate_limit_error", "", "", 1, "slow down after %d", 3);
  assert_int_equal(f.retry_after_ms, -1);
  json_t *doc = fail_doc(&f);
  json_t *want = parse(
      "{\"error\":{\"message\":\"slow down after 3\",\"type\":\"rate_limit_error\",\"param\":null,"
      "\"code\":null}}");
  assert_json_equal(doc, want);
  json_decref(doc);
  json_decref(want);

  sy__gw_fail_set(&f, 400, "invalid_request_error", "bad\"code", "messages[0]", 0, "quote \" and\nnewline");
  doc = fail_doc(&f);
  want = parse(
      "{\"error\":{\"message\":\"quote \\\" and\\nnewline\",\"type\":\"invalid_request_error\","
      "\"param\":\"messages[0]\",\"code\":\"bad\\\"code\"}}");
  assert_json_equal(doc, want);
  json_decref(doc);
  json_decref(want);

  /* a message cut in the middle of a character is still UTF-8 */
  char big[1200] = "";
  for (size_t i = 0; i + 2 < sizeof big; i += 2) big[i] = (char)0xc3, big[i + 1] = (char)0xa9;
  sy__gw_fail_set(&f, 502, "api_error", NULL, NULL, 1, "x%s", big);
  assert_true(sy__utf8_valid(f.message, strlen(f.message)));
  doc = fail_doc(&f);
  json_decref(doc);
}

/* ---- upstream requests ---- */

static json_t *call_body(const sy_gw_call *c) {
  assert_non_null(c->body);
  assert_int_equal(c->body_len, strlen(c->body));
  return parse(c->body);
}

static void openai_request(void **state) {
  const sy_adapter *a = sy__adapter_for(SY_PROVIDER_OPENAI);
  json_t *req = load("chat_request.json"), *want = load("openai_chat_upstream.json");
  sy_gw_call c;
  sy_gw_fail f;
  assert_int_equal(a->request(SY_GW_CHAT, req, "gpt-4.1", 1, &c, &f), SY_OK);
  assert_string_equal(c.path, "/chat/completions");
  assert_int_equal(c.sse, 1);
  json_t *got = call_body(&c);
  assert_json_equal(got, want);
  json_decref(got);
  free(c.body);

  /* not streaming: no stream fields at all */
  assert_int_equal(a->request(SY_GW_CHAT, req, "gpt-4.1", 0, &c, &f), SY_OK);
  assert_int_equal(c.sse, 0);
  got = call_body(&c);
  assert_null(json_object_get(got, "stream"));
  assert_null(json_object_get(got, "stream_options"));
  assert_string_equal(json_string_value(json_object_get(got, "model")), "gpt-4.1");
  json_decref(got);
  free(c.body);

  /* a stream without stream_options still asks for usage */
  json_t *small = parse("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
  assert_int_equal(a->request(SY_GW_CHAT, small, "m", 1, &c, &f), SY_OK);
  got = call_body(&c);
  json_t *w = parse(
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,"
      "\"stream_options\":{\"include_usage\":true}}");
  assert_json_equal(got, w);
  json_decref(w);
  json_decref(got);
  free(c.body);
  json_decref(small);

  json_t *ed = load("edit_request.json");
  assert_int_equal(a->request(SY_GW_IMAGES, ed, "gpt-image-1", 1, &c, &f), SY_OK);
  assert_string_equal(c.path, "/images/generations");
  assert_int_equal(c.sse, 0);
  free(c.body);
  assert_int_equal(a->request(SY_GW_EDITS, ed, "gpt-image-1", 0, &c, &f), SY_OK);
  assert_string_equal(c.path, "/images/edits");
  got = call_body(&c);
  json_object_set_new(ed, "model", json_string("gpt-image-1"));
  assert_json_equal(got, ed);
  json_decref(got);
  free(c.body);
  json_decref(ed);
  json_decref(req);
  json_decref(want);
}

static void gemini_request(void **state) {
  const sy_adapter *a = sy__adapter_for(SY_PROVIDER_GEMINI);
  json_t *req = load("chat_request.json"), *want = load("gemini_chat_upstream.json");
  sy_gw_call c;
  sy_gw_fail f;
  assert_int_equal(a->request(SY_GW_CHAT, req, "gemini-2.0-flash", 0, &c, &f), SY_OK);
  assert_string_equal(c.path, "/models/gemini-2.0-flash:generateContent");
  assert_int_equal(c.sse, 0);
  json_t *got = call_body(&c);
  assert_json_equal(got, want);
  json_decref(got);
  free(c.body);
  assert_int_equal(a->request(SY_GW_CHAT, req, "gemini-1.5-pro", 1, &c, &f), SY_OK);
  assert_string_equal(c.path, "/models/gemini-1.5-pro:streamGenerateContent?alt=sse");
  assert_int_equal(c.sse, 1);
  free(c.body);

  /* names that would change the URL are refused */
  static const char *const bad_models[] = {"../x", "a/b", "m?alt=json", "m#", "a b", "", "m%2f"};
  for (size_t i = 0; i < sizeof bad_models / sizeof bad_models[0]; i++) {
    c.body = NULL;
    assert_int_equal(a->request(SY_GW_CHAT, req, bad_models[i], 0, &c, &f), SY_EINVAL);
    assert_null(c.body);
    assert_int_equal(f.status, 400);
    assert_string_equal(f.param, "model");
  }
  json_t *ed = load("edit_request.json");
  assert_int_equal(a->request(SY_GW_IMAGES, ed, "gemini-2.0-flash", 0, &c, &f), SY_EINVAL);
  assert_int_equal(f.status, 400);
  assert_string_equal(f.type, "invalid_request_error");
  assert_string_equal(f.code, "unsupported_operation");
  assert_non_null(strstr(f.message, "images/generations"));
  assert_int_equal(a->request(SY_GW_EDITS, ed, "gemini-2.0-flash", 0, &c, &f), SY_EINVAL);
  assert_string_equal(f.code, "unsupported_operation");
  json_decref(ed);

  static const char *const bad_urls[] = {"ftp://x/y.png", "data:image/png,AAAA", "data:;base64,AAAA",
                                         "data:image/png;base64,", "file:///etc/passwd"};
  for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
    json_t *r = json_pack("{s:[{s:s,s:[{s:s,s:s},{s:s,s:{s:s}}]}]}", "messages", "role", "user", "content", "type",
                          "text", "text", "look", "type", "image_url", "image_url", "url", bad_urls[i]);
    assert_int_equal(a->request(SY_GW_CHAT, r, "gemini-2.0-flash", 0, &c, &f), SY_EINVAL);
    assert_int_equal(f.status, 400);
    assert_string_equal(f.param, "messages[0].content[1].image_url.url");
    json_decref(r);
  }
  /* only a system message: nothing for Gemini to answer */
  json_t *r = parse("{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}");
  assert_int_equal(a->request(SY_GW_CHAT, r, "gemini-2.0-flash", 0, &c, &f), SY_EINVAL);
  assert_string_equal(f.param, "messages");
  json_decref(r);
  json_decref(req);
  json_decref(want);
}

static void seedream_request(void **state) {
  const sy_adapter *a = sy__adapter_for(SY_PROVIDER_SEEDREAM);
  json_t *req = load("edit_request.json"), *want = load("seedream_edit_upstream.json");
  sy_gw_call c;
  sy_gw_fail f;
  assert_int_equal(a->request(SY_GW_EDITS, req, "seedream-4-0-250828", 0, &c, &f), SY_OK);
  assert_string_equal(c.path, "/api/v3/images/generations");
  assert_int_equal(c.sse, 0);
  json_t *got = call_body(&c);
  assert_json_equal(got, want);
  json_decref(got);
  free(c.body);

  json_t *gen = parse("{\"prompt\":\"a fox\",\"size\":\"auto\",\"n\":3}");
  assert_int_equal(a->request(SY_GW_IMAGES, gen, "seedream-3-0-t2i-250415", 1, &c, &f), SY_OK);
  got = call_body(&c);
  json_t *w = parse("{\"model\":\"seedream-3-0-t2i-250415\",\"prompt\":\"a fox\",\"watermark\":false}");
  assert_json_equal(got, w);
  assert_int_equal(c.sse, 0);
  json_decref(w);
  json_decref(got);
  free(c.body);
  json_decref(gen);

  /* chat goes to ModelArk's OpenAI-compatible endpoint, under /api/v3 */
  json_t *chat = load("chat_request.json");
  assert_int_equal(a->request(SY_GW_CHAT, chat, "seedream-4-0-250828", 0, &c, &f), SY_OK);
  assert_string_equal(c.path, "/api/v3/chat/completions");
  json_t *sent = json_loadb(c.body, c.body_len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(sent, "model")), "seedream-4-0-250828");
  assert_non_null(json_object_get(sent, "messages"));
  json_decref(sent);
  free(c.body);
  json_decref(chat);
  json_decref(req);
  json_decref(want);
}

/* ---- answers ---- */

struct garbage_case {
  sy_provider_type t;
  sy_gw_op op;
  const char *body;
};

static void responses_garbage(void **state) {
  static const char *const common[] = {
      "",
      "   ",
      "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
      "[]",
      "null",
      "42",
      "\"text\"",
      "{",
      "{\"choices\":[{\"message\":{\"content\":\"hi\"",
      "{\"data\":[{\"url\":\"https://x\"}",
      "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"",
      "{}",
      "{\"a\":1}{\"b\":2}",
      "\xff\xfe{}",
      "{\"choices\":\"\xff\"}",
  };
  static const sy_provider_type types[] = {SY_PROVIDER_OPENAI, SY_PROVIDER_GEMINI, SY_PROVIDER_SEEDREAM};
  for (size_t t = 0; t < 3; t++) {
    const sy_adapter *a = sy__adapter_for(types[t]);
    sy_gw_op op = types[t] == SY_PROVIDER_SEEDREAM ? SY_GW_IMAGES : SY_GW_CHAT;
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
      json_t *out = (json_t *)1;
      sy_gw_usage u = {7, 7, 7};
      sy_gw_fail f;
      sy_rc rc = a->response(op, "m", common[i], strlen(common[i]), &out, &u, &f);
      if (rc != SY_EINVAL) fail_msg("%s accepted %s", a->type, common[i]);
      assert_null(out);
      assert_int_equal(f.status, 502);
      assert_string_equal(f.type, "api_error");
      assert_int_equal(f.retryable, 1);
      assert_non_null(strstr(f.message, "not"));
      json_decref(fail_doc(&f));
    }
  }
  /* the wrong shape for the op */
  static const struct garbage_case shapes[] = {
      {SY_PROVIDER_OPENAI, SY_GW_CHAT, "{\"choices\":{}}"},
      {SY_PROVIDER_OPENAI, SY_GW_CHAT, "{\"data\":[]}"},
      {SY_PROVIDER_OPENAI, SY_GW_IMAGES, "{\"choices\":[]}"},
      {SY_PROVIDER_OPENAI, SY_GW_EDITS, "{\"data\":{}}"},
      {SY_PROVIDER_GEMINI, SY_GW_CHAT, "{\"candidates\":{}}"},
      {SY_PROVIDER_GEMINI, SY_GW_CHAT, "{\"candidates\":[1]}"},
      {SY_PROVIDER_GEMINI, SY_GW_CHAT, "{\"candidates\":[]}"},
      {SY_PROVIDER_SEEDREAM, SY_GW_IMAGES, "{\"data\":[{\"size\":\"1K\"}]}"},
      {SY_PROVIDER_SEEDREAM, SY_GW_EDITS, "{\"data\":[7]}"},
      {SY_PROVIDER_SEEDREAM, SY_GW_IMAGES, "{\"data\":null}"},
  };
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const sy_adapter *a = sy__adapter_for(shapes[i].t);
    json_t *out = NULL;
    sy_gw_usage u;
    sy_gw_fail f;
    if (a->response(shapes[i].op, "m", shapes[i].body, strlen(shapes[i].body), &out, &u, &f) != SY_EINVAL)
      fail_msg("%s accepted %s", a->type, shapes[i].body);
    assert_int_equal(f.status, 502);
    assert_int_equal(f.retryable, 1);
  }
}

static void responses_200_with_error(void **state) {
  static const struct garbage_case cases[] = {
      {SY_PROVIDER_OPENAI, SY_GW_CHAT, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}"},
      {SY_PROVIDER_OPENAI, SY_GW_IMAGES, "{\"error\":\"boom\",\"data\":[]}"},
      {SY_PROVIDER_GEMINI, SY_GW_CHAT,
       "{\"error\":{\"code\":400,\"message\":\"boom\",\"status\":\"INVALID_ARGUMENT\"}}"},
      {SY_PROVIDER_SEEDREAM, SY_GW_IMAGES, "{\"error\":{\"code\":\"InvalidParameter\",\"message\":\"boom\"}}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const sy_adapter *a = sy__adapter_for(cases[i].t);
    json_t *out = NULL;
    sy_gw_usage u;
    sy_gw_fail f;
    assert_int_equal(a->response(cases[i].op, "m", cases[i].body, strlen(cases[i].body), &out, &u, &f), SY_EINVAL);
    assert_null(out);
    assert_int_equal(f.status, 502);
    assert_int_equal(f.retryable, 1);
    assert_string_equal(f.message, "boom");
  }
}

static void openai_response(void **state) {
  const sy_adapter *a = sy__adapter_for(SY_PROVIDER_OPENAI);
  const char *body =
      "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4.1-2025\",\"choices\":"
      "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
      "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}";
  json_t *out = NULL, *want = parse(body);
  sy_gw_usage u;
  sy_gw_fail f;
  assert_int_equal(a->response(SY_GW_CHAT, "gpt-4.1", body, strlen(body), &out, &u, &f), SY_OK);
  assert_json_equal(out, want); /* passed through, the provider's model kept */
  assert_int_equal(u.prompt_tokens, 12);
  assert_int_equal(u.completion_tokens, 3);
  assert_int_equal(u.images, 0);
  json_decref(out);
  json_decref(want);

  /* counts past any real answer are held to a bound, so that their sums stay defined */
  body = "{\"choices\":[],\"usage\":{\"prompt_tokens\":9223372036854775807,\"completion_tokens\":-5}}";
  assert_int_equal(a->response(SY_GW_CHAT, "m", body, strlen(body), &out, &u, &f), SY_OK);
  assert_true(u.prompt_tokens > 0 && u.prompt_tokens <= (int64_t)1 << 40);
  assert_int_equal(u.completion_tokens, 0);
  json_decref(out);

  body = "{\"created\":5,\"data\":[{\"url\":\"https://a\"},{\"b64_json\":\"AA==\"}]}";
  assert_int_equal(a->response(SY_GW_IMAGES, "dall-e-3", body, strlen(body), &out, &u, &f), SY_OK);
  assert_int_equal(u.images, 2);
  json_decref(out);
}

static void gemini_response(void **state) {
  const sy_adapter *a = sy__adapter_for(SY_PROVIDER_GEMINI);
  size_t len;
  char *body = slurp("gemini_response.json", &len);
  json_t *out = NULL, *want = load("gemini_response.expected.json");
  sy_gw_usage u;
  sy_gw_fail f;
  assert_int_equal(a->response(SY_GW_CHAT, "gemini-2.0-flash", body, len, &out, &u, &f), SY_OK);
  assert_json_equal(out, want);
  assert_int_equal(u.prompt_tokens, 258);
  assert_int_equal(u.completion_tokens, 13);
  json_decref(out);
  json_decref(want);
  free(body);

  /* no responseId: the id is a hash of the body, the same every time */
  const char *two =
      "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},\"finishReason\":\"MAX_TOKENS\"},"
      "{\"content\":{\"parts\":[{\"text\":\"b\"}]},\"finishReason\":\"SAFETY\",\"index\":1},"
      "{\"finishReason\":\"OTHER\",\"index\":2}]}";
  json_t *again = NULL;
  assert_int_equal(a->response(SY_GW_CHAT, "g", two, strlen(two), &out, &u, &f), SY_OK);
  assert_int_equal(a->response(SY_GW_CHAT, "g", two, strlen(two), &again, &u, &f), SY_OK);
  assert_json_equal(out, again);
  const char *id = json_string_value(json_object_get(out, "id"));
  assert_int_equal(strlen(id), strlen("chatcmpl-") + 24);
  assert_int_equal(strncmp(id, "chatcmpl-", 9), 0);
  json_t *choices = json_object_get(out, "choices");
  assert_int_equal(json_array_size(choices), 3);
  static const char *const reasons[] = {"length", "content_filter", "stop"};
  static const char *const texts[] = {"a", "b", ""};
  for (size_t i = 0; i < 3; i++) {
    json_t *c = json_array_get(choices, i);
    assert_int_equal(json_integer_value(json_object_get(c, "index")), (json_int_t)i);
    assert_string_equal(json_string_value(json_object_get(c, "finish_reason")), reasons[i]);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "message"), "content")), texts[i]);
  }
  assert_int_equal(u.prompt_tokens, 0);
  json_decref(out);
  json_decref(again);

  /* a blocked prompt is an empty, filtered answer */
  const char *blocked = "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{\"promptTokenCount\":4}}";
  assert_int_equal(a->response(SY_GW_CHAT, "g", blocked, strlen(blocked), &out, &u, &f), SY_OK);
  json_t *c0 = json_array_get(json_object_get(out, "choices"), 0);
  assert_string_equal(json_string_value(json_object_get(c0, "finish_reason")), "content_filter");
  assert_string_equal(json_string_value(json_object_get(json_object_get(c0, "message"), "content")), "");
  assert_int_equal(u.prompt_tokens, 4);
  json_decref(out);
}

static void seedream_response(void **state) {
  const sy_adapter *a = sy__adapter_for(SY_PROVIDER_SEEDREAM);
  size_t len;
  char *body = slurp("seedream_response.json", &len);
  json_t *out = NULL, *want = load("seedream_response.expected.json");
  sy_gw_usage u;
  sy_gw_fail f;
  assert_int_equal(a->response(SY_GW_EDITS, "seedream-4-0-250828", body, len, &out, &u, &f), SY_OK);
  assert_json_equal(out, want);
  assert_int_equal(u.images, 2);
  assert_int_equal(u.prompt_tokens + u.completion_tokens, 0);
  json_decref(out);
  json_decref(want);
  free(body);

  const char *no_usage = "{\"data\":[{\"url\":\"https://a\"},{\"url\":\"https://b\"},{\"url\":\"https://c\"}]}";
  assert_int_equal(a->response(SY_GW_IMAGES, "s", no_usage, strlen(no_usage), &out, &u, &f), SY_OK);
  assert_int_equal(u.images, 3);
  assert_int_equal(json_integer_value(json_object_get(out, "created")), 0);
  json_decref(out);

  /* every image filtered: the caller's error, not retried */
  const char *filtered =
      "{\"data\":[{\"error\":{\"code\":\"OutputImageSensitiveContentDetected\",\"message\":\"no\"}}]}";
  assert_int_equal(a->response(SY_GW_IMAGES, "s", filtered, strlen(filtered), &out, &u, &f), SY_EINVAL);
  assert_int_equal(f.status, 400);
  assert_int_equal(f.retryable, 0);
  assert_string_equal(f.code, "OutputImageSensitiveContentDetected");

  sy_gw_stream st = {0};
  sy_jbuf b;
  sy__jbuf_init(&b, 1024);
  assert_int_equal(a->stream_event(&st, "{}", 2, &b, &f), SY_EINVAL);
  assert_int_equal(a->stream_end(&st, &b, &f), SY_EINVAL);
  assert_int_equal(b.len, 0);
  sy__jbuf_free(&b);
}

/* ---- errors ---- */

static void unescape(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] == 'n') {
      *o++ = '\n';
      s++;
    } else {
      *o++ = *s;
    }
  }
  *o = 0;
}

static int num(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < 0 || v > 999) fail_msg("not a status: %s", s);
  return (int)v;
}

static void error_map(void **state) {
  FILE *fp = fopen(DATA "error_map.txt", "r");
  assert_non_null(fp);
  char line[4096];
  int count = 0;
  while (fgets(line, sizeof line, fp)) {
    char *f[8];
    if (line[0] == '#') continue;
    int k = fields(line, f, 8);
    if (k < 7) continue;
    const char *body = k == 8 ? f[7] : "";
    if (k == 8) unescape(f[7]);
    sy_provider_type t = !strcmp(f[0], "openai")   ? SY_PROVIDER_OPENAI
                         : !strcmp(f[0], "gemini") ? SY_PROVIDER_GEMINI
                                                   : SY_PROVIDER_SEEDREAM;
    sy_gw_fail fail;
    memset(&fail, 0x5a, sizeof fail);
    sy__adapter_for(t)->error(num(f[1]), body, strlen(body), &fail);
    char where[128];
    snprintf(where, sizeof where, "%s %s %s", f[0], f[1], f[6]);
    if (fail.status != num(f[2]) || strcmp(fail.type, f[3]) || strcmp(fail.code, !strcmp(f[4], "-") ? "" : f[4]) ||
        fail.retryable != num(f[5]) || !strstr(fail.message, f[6]))
      fail_msg("%s: got %d %s code=%s retryable=%d message=%s", where, fail.status, fail.type, fail.code,
               fail.retryable, fail.message);
    assert_int_equal(fail.retry_after_ms, -1);
    json_decref(fail_doc(&fail));
    count++;
  }
  fclose(fp);
  assert_true(count >= 25);

  /* a provider's words about a rejected key never reach the client */
  const char *leak = "{\"error\":{\"message\":\"Incorrect API key provided: sk-proj-abcdef123456\"}}";
  sy_gw_fail fail;
  static const sy_provider_type types[] = {SY_PROVIDER_OPENAI, SY_PROVIDER_GEMINI, SY_PROVIDER_SEEDREAM};
  static const int statuses[] = {401, 403};
  for (size_t t = 0; t < 3; t++)
    for (size_t s = 0; s < 2; s++) {
      sy__adapter_for(types[t])->error(statuses[s], leak, strlen(leak), &fail);
      assert_null(strstr(fail.message, "sk-"));
    }

  /* the excerpt of a body that is not JSON: short, printable */
  char big[4096];
  for (size_t i = 0; i < sizeof big; i++) big[i] = i % 7 ? (char)('a' + i % 26) : i % 3 ? '\x01' : '\xe9';
  sy__adapter_for(SY_PROVIDER_OPENAI)->error(500, big, sizeof big, &fail);
  assert_true(strlen(fail.message) < 300);
  for (const char *p = fail.message; *p; p++) assert_true(*p >= 0x20 && *p < 0x7f);
}

/* ---- the SSE parser ---- */

typedef struct events {
  char *text[64];
  size_t len[64];
  int n;
  int stop_at; /* the callback returns 7 at this event (-1 never) */
} events;

static int collect(void *ctx, const char *data, size_t len) {
  events *e = ctx;
  assert_true(e->n < 64);
  e->text[e->n] = malloc(len + 1);
  memcpy(e->text[e->n], data, len);
  e->text[e->n][len] = 0;
  e->len[e->n] = len;
  return e->n++ == e->stop_at ? 7 : 0;
}

static void events_free(events *e) {
  for (int i = 0; i < e->n; i++) free(e->text[i]);
  memset(e, 0, sizeof *e);
  e->stop_at = -1;
}

static void events_equal(const events *a, const events *b) {
  assert_int_equal(a->n, b->n);
  for (int i = 0; i < a->n; i++) {
    assert_int_equal(a->len[i], b->len[i]);
    assert_memory_equal(a->text[i], b->text[i], a->len[i]);
  }
}

/* Feeds s in the pieces that cuts (sorted offsets) make. */
static int feed_cut(const char *s, size_t n, const size_t *cuts, int ncuts, size_t max, events *e) {
  sy_sse_parser p;
  sy__sse_init(&p, max);
  size_t at = 0;
  int r = 0;
  for (int i = 0; i <= ncuts && !r; i++) {
    size_t end = i < ncuts ? cuts[i] : n;
    r = sy__sse_feed(&p, s + at, end - at, collect, e);
    at = end;
  }
  sy__sse_free(&p);
  return r;
}

static void sse_every_split(const char *s, size_t n, const events *whole) {
  for (size_t k = 0; k <= n; k++) {
    events e = {.stop_at = -1};
    assert_int_equal(feed_cut(s, n, &k, 1, 1 << 16, &e), 0);
    events_equal(&e, whole);
    events_free(&e);
  }
  for (size_t k = 0; k + 1 < n; k += 3) { /* three pieces */
    size_t cuts[2] = {k, k + (n - k) / 2};
    events e = {.stop_at = -1};
    assert_int_equal(feed_cut(s, n, cuts, 2, 1 << 16, &e), 0);
    events_equal(&e, whole);
    events_free(&e);
  }
  /* one byte at a time */
  events e = {.stop_at = -1};
  sy_sse_parser p;
  sy__sse_init(&p, 1 << 16);
  for (size_t i = 0; i < n; i++) assert_int_equal(sy__sse_feed(&p, s + i, 1, collect, &e), 0);
  sy__sse_free(&p);
  events_equal(&e, whole);
  events_free(&e);
}

/* s with every "\n" as eol. */
static char *with_eol(const char *s, size_t n, const char *eol, size_t *out_len) {
  char *o = malloc(n * 2 + 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\n') {
      memcpy(o + k, eol, strlen(eol));
      k += strlen(eol);
    } else {
      o[k++] = s[i];
    }
  }
  o[k] = 0;
  *out_len = k;
  return o;
}

static void sse_parser(void **state) {
  const char *sample =
      ": comment\n"
      "data: one\n"
      "\n"
      "data:two\n"
      "data:  three\n"
      "\n"
      "event: update\n"
      "id: 7\n"
      "retry: 100\n"
      "data\n"
      "\n"
      "data:\n"
      "data:\n"
      "\n"
      "foo: bar\n"
      "\n"
      "data: {\"x\":[1,2]}\n"
      "ignored-field\n"
      "\n"
      "data: unfinished\n";
  const char *want[] = {"one", "two\n three", "", "\n", "{\"x\":[1,2]}"};
  events whole = {.stop_at = -1};
  assert_int_equal(feed_cut(sample, strlen(sample), NULL, 0, 1 << 16, &whole), 0);
  assert_int_equal(whole.n, 5);
  for (int i = 0; i < 5; i++) assert_string_equal(whole.text[i], want[i]);
  sse_every_split(sample, strlen(sample), &whole);

  static const char *const eols[] = {"\r\n", "\r"};
  for (size_t i = 0; i < 2; i++) {
    size_t n;
    char *s = with_eol(sample, strlen(sample), eols[i], &n);
    events e = {.stop_at = -1};
    assert_int_equal(feed_cut(s, n, NULL, 0, 1 << 16, &e), 0);
    events_equal(&e, &whole);
    events_free(&e);
    sse_every_split(s, n, &whole);
    free(s);
  }
  /* mixed line ends, a CR at the end of one piece and its LF at the start of the next */
  const char *mixed = "data: a\r\ndata: b\r\rdata: c\n\r\n";
  events e = {.stop_at = -1};
  assert_int_equal(feed_cut(mixed, strlen(mixed), NULL, 0, 64, &e), 0);
  assert_int_equal(e.n, 2);
  assert_string_equal(e.text[0], "a\nb");
  assert_string_equal(e.text[1], "c");
  sse_every_split(mixed, strlen(mixed), &e);
  events_free(&e);
  events_free(&whole);

  /* the callback's nonzero value stops the feed */
  e.stop_at = 0;
  assert_int_equal(feed_cut(sample, strlen(sample), NULL, 0, 1 << 16, &e), 7);
  assert_int_equal(e.n, 1);
  events_free(&e);
}

static void sse_oversize(void **state) {
  events e = {.stop_at = -1};
  const char *fits = "data: 0123456789abcdef\n\n"; /* 16 bytes of data */
  assert_int_equal(feed_cut(fits, strlen(fits), NULL, 0, 16, &e), 0);
  assert_int_equal(e.n, 1);
  events_free(&e);
  const char *over = "data: 0123456789abcdefg\n\n";
  assert_int_equal(feed_cut(over, strlen(over), NULL, 0, 16, &e), -1);
  assert_int_equal(e.n, 0);
  const char *joined = "data: 01234567\ndata: 01234567\n\n"; /* 8 + 1 + 8 */
  assert_int_equal(feed_cut(joined, strlen(joined), NULL, 0, 16, &e), -1);
  assert_int_equal(feed_cut(joined, strlen(joined), NULL, 0, 17, &e), 0);
  assert_int_equal(e.n, 1);
  events_free(&e);

  /* a line without an end that never stops: refused once past the bound, piece by piece */
  sy_sse_parser p;
  sy__sse_init(&p, 1024);
  char chunk[256];
  memset(chunk, 'x', sizeof chunk);
  int r = 0, rounds = 0;
  while (!r && rounds < 100) r = sy__sse_feed(&p, chunk, sizeof chunk, collect, &e), rounds++;
  assert_int_equal(r, -1);
  assert_true(rounds <= 6);
  sy__sse_free(&p);
  events_free(&e);
}

/* ---- streams end to end ---- */

typedef struct pipe_ctx {
  const sy_adapter *a;
  sy_gw_stream *st;
  sy_jbuf *out;
  sy_gw_fail *fail;
  sy_rc rc;
} pipe_ctx;

static int to_adapter(void *ctx, const char *data, size_t len) {
  pipe_ctx *p = ctx;
  p->rc = p->a->stream_event(p->st, data, len, p->out, p->fail);
  return p->rc ? 1 : 0;
}

/* Feeds body (in pieces of step bytes) through the parser and the adapter, then ends it. */
static sy_rc run_stream(const sy_adapter *a, const char *body, size_t len, size_t step, sy_gw_stream *st, sy_jbuf *out,
                        sy_gw_fail *fail) {
  sy_sse_parser p;
  sy__sse_init(&p, 1 << 20);
  pipe_ctx ctx = {a, st, out, fail, SY_OK};
  int r = 0;
  for (size_t at = 0; at < len && !r; at += step)
    r = sy__sse_feed(&p, body + at, len - at < step ? len - at : step, to_adapter, &ctx);
  sy__sse_free(&p);
  if (r) return ctx.rc ? ctx.rc : SY_EINVAL;
  return a->stream_end(st, out, fail);
}

/* The chunks of an OpenAI stream as written: each must be "data: JSON\n\n" with a
 * chat.completion.chunk, the last "data: [DONE]\n\n". Returns the content concatenated and
 * fills the count of chunks, of finish reasons and the usage chunk's JSON (or NULL). */
static char *read_chunks(const char *s, int *nchunks, int *nfinish, json_t **usage, int *role_first) {
  sy_jbuf text;
  sy__jbuf_init(&text, 1 << 20);
  *nchunks = *nfinish = 0;
  *usage = NULL;
  *role_first = 0;
  int done = 0;
  while (*s) {
    assert_false(done);
    assert_int_equal(strncmp(s, "data: ", 6), 0);
    const char *end = strstr(s, "\n\n");
    assert_non_null(end);
    assert_null(memchr(s, '\n', (size_t)(end - s)));
    if (end - s == 12 && !strncmp(s + 6, "[DONE]", 6)) {
      done = 1;
      s = end + 2;
      continue;
    }
    json_error_t err;
    json_t *j = json_loadb(s + 6, (size_t)(end - s - 6), 0, &err);
    if (!j) fail_msg("chunk %.*s: %s", (int)(end - s), s, err.text);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "chat.completion.chunk");
    json_t *choices = json_object_get(j, "choices");
    assert_true(json_is_array(choices));
    if (json_array_size(choices) == 0) {
      assert_null(*usage);
      *usage = json_incref(json_object_get(j, "usage"));
    } else {
      json_t *c = json_array_get(choices, 0), *delta = json_object_get(c, "delta");
      if (*nchunks == 0)
        *role_first = !strcmp(json_string_value(json_object_get(delta, "role")), "assistant");
      else
        assert_null(json_object_get(delta, "role"));
      json_t *content = json_object_get(delta, "content");
      if (json_is_string(content)) sy__jbuf_raw(&text, json_string_value(content), json_string_length(content));
      if (json_is_string(json_object_get(c, "finish_reason"))) (*nfinish)++;
      (*nchunks)++;
    }
    json_decref(j);
    s = end + 2;
  }
  assert_true(done);
  char *r = text.p ? sy__jbuf_take(&text, NULL) : calloc(1, 1);
  assert_non_null(r);
  return r;
}

static void gemini_stream(void **state) {
  const sy_adapter *a = sy__adapter_for(SY_PROVIDER_GEMINI);
  size_t len;
  char *body = slurp("gemini_stream.sse", &len), *want = slurp("gemini_stream.expected.txt", NULL);
  static const size_t steps[] = {1 << 20, 1, 2, 7, 64};
  for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++)
    for (int usage = 0; usage < 2; usage++) {
      sy_gw_stream st = {.id = "chatcmpl-x", .created = 1700000000, .model = "gemini-2.0-flash"};
      st.include_usage = usage;
      sy_jbuf out;
      sy__jbuf_init(&out, 1 << 20);
      sy_gw_fail f;
      assert_int_equal(run_stream(a, body, len, steps[s], &st, &out, &f), SY_OK);
      int nchunks, nfinish, role_first;
      json_t *u;
      char *text = read_chunks(out.p, &nchunks, &nfinish, &u, &role_first);
      assert_string_equal(text, want);
      assert_int_equal(nfinish, 1);
      assert_true(role_first);
      assert_int_equal(nchunks, 4); /* three pieces of text, one finish */
      assert_int_equal(st.usage.prompt_tokens, 9);
      assert_int_equal(st.usage.completion_tokens, 12);
      if (usage) {
        json_t *w = parse("{\"prompt_tokens\":9,\"completion_tokens\":12,\"total_tokens\":21}");
        assert_json_equal(u, w);
        json_decref(w);
      } else {
        assert_null(u);
      }
      json_decref(u);
      free(text);
      sy__jbuf_free(&out);
    }
  free(body);
  free(want);
}

static void gemini_stream_failures(void **state) {
  const sy_adapter *a = sy__adapter_for(SY_PROVIDER_GEMINI);
  sy_gw_fail f;
  sy_jbuf out;
  sy__jbuf_init(&out, 1 << 20);

  sy_gw_stream st = {.id = "c"};
  assert_int_equal(run_stream(a, "", 0, 1, &st, &out, &f), SY_EINVAL); /* nothing at all */
  assert_int_equal(f.status, 502);
  assert_int_equal(f.retryable, 1);
  assert_non_null(strstr(f.message, "ended before"));
  assert_int_equal(out.len, 0);

  const char *err = "data: {\"error\":{\"code\":429,\"message\":\"quota\",\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n";
  memset(&st, 0, sizeof st);
  assert_int_equal(run_stream(a, err, strlen(err), 5, &st, &out, &f), SY_EINVAL);
  assert_int_equal(f.status, 429);
  assert_string_equal(f.type, "rate_limit_error");

  const char *junk = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\n\ndata: <html>\n\n";
  memset(&st, 0, sizeof st);
  assert_int_equal(run_stream(a, junk, strlen(junk), 3, &st, &out, &f), SY_EINVAL);
  assert_int_equal(f.status, 502);
  assert_true(st.started);

  /* no finishReason but text came: finished with "stop" */
  const char *nofinish = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\n\n";
  memset(&st, 0, sizeof st);
  out.len = 0;
  assert_int_equal(run_stream(a, nofinish, strlen(nofinish), 100, &st, &out, &f), SY_OK);
  assert_non_null(strstr(out.p, "\"finish_reason\":\"stop\""));
  assert_non_null(strstr(out.p, "data: [DONE]\n\n"));

  const char *blocked = "data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}\n\n";
  memset(&st, 0, sizeof st);
  out.len = 0;
  assert_int_equal(run_stream(a, blocked, strlen(blocked), 100, &st, &out, &f), SY_OK);
  assert_non_null(strstr(out.p, "\"finish_reason\":\"content_filter\""));
  sy__jbuf_free(&out);
}

static void openai_stream(void **state) {
  const sy_adapter *a = sy__adapter_for(SY_PROVIDER_OPENAI);
  size_t len;
  char *body = slurp("openai_stream.sse", &len);
  for (int usage = 0; usage < 2; usage++) {
    sy_gw_stream st = {0};
    st.include_usage = usage;
    sy_jbuf out;
    sy__jbuf_init(&out, 1 << 20);
    sy_gw_fail f;
    assert_int_equal(run_stream(a, body, len, 3, &st, &out, &f), SY_OK);
    assert_true(st.done && st.finished && st.started);
    assert_int_equal(st.usage.prompt_tokens, 11);
    assert_int_equal(st.usage.completion_tokens, 2);
    int nchunks, nfinish, role_first;
    json_t *u;
    char *text = read_chunks(out.p, &nchunks, &nfinish, &u, &role_first);
    assert_string_equal(text, "Hello world");
    assert_int_equal(nchunks, 4);
    assert_int_equal(nfinish, 1);
    if (usage)
      assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")), 13);
    else
      assert_null(u);
    json_decref(u);
    free(text);
    sy__jbuf_free(&out);
  }

  /* cut before the finish: the stream is incomplete */
  const char *cut = strstr(body,
                           "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                           "\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{},");
  assert_non_null(cut);
  sy_gw_stream st = {0};
  sy_jbuf out;
  sy__jbuf_init(&out, 1 << 20);
  sy_gw_fail f;
  assert_int_equal(run_stream(a, body, (size_t)(cut - body), 1, &st, &out, &f), SY_EINVAL);
  assert_int_equal(f.status, 502);
  assert_int_equal(f.retryable, 1);
  assert_null(strstr(out.p, "[DONE]"));

  const char *err = "data: {\"error\":{\"message\":\"server overloaded\",\"type\":\"server_error\"}}\n\n";
  memset(&st, 0, sizeof st);
  assert_int_equal(run_stream(a, err, strlen(err), 1, &st, &out, &f), SY_EINVAL);
  assert_string_equal(f.message, "server overloaded");
  const char *junk = "data: not json\n\n";
  assert_int_equal(run_stream(a, junk, strlen(junk), 1, &st, &out, &f), SY_EINVAL);
  const char *nochoices = "data: {\"id\":\"x\"}\n\n";
  assert_int_equal(run_stream(a, nochoices, strlen(nochoices), 1, &st, &out, &f), SY_EINVAL);
  sy__jbuf_free(&out);
  free(body);
}

/* ---- the stub ---- */

static char *dump(const json_t *j) { return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS); }

static void stub_chat(void **state) {
  json_t *req = load("chat_request.json");
  json_t *a = NULL, *b = NULL;
  sy_gw_usage u, u2;
  sy_gw_fail f;
  assert_int_equal(sy__stub_answer(SY_GW_CHAT, req, "stub-1", NULL, &a, NULL, &u, &f), SY_OK);
  assert_int_equal(sy__stub_answer(SY_GW_CHAT, req, "stub-1", NULL, &b, NULL, &u2, &f), SY_OK);
  char *ta = dump(a), *tb = dump(b);
  assert_string_equal(ta, tb);
  free(ta);
  free(tb);
  assert_memory_equal(&u, &u2, sizeof u);
  char id[64];
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(a, "id")));
  assert_int_equal(strlen(id), strlen("chatcmpl-stub-") + 16);
  assert_string_equal(json_string_value(json_object_get(a, "object")), "chat.completion");
  assert_int_equal(json_integer_value(json_object_get(a, "created")), 0);
  assert_string_equal(json_string_value(json_object_get(a, "model")), "stub-1");
  json_t *c0 = json_array_get(json_object_get(a, "choices"), 0);
  const char *content = json_string_value(json_object_get(json_object_get(c0, "message"), "content"));
  assert_string_equal(content, "stub reply to: Thanks.");
  assert_true(u.prompt_tokens > 5 && u.completion_tokens >= 1);
  json_t *usage = json_object_get(a, "usage");
  assert_int_equal(json_integer_value(json_object_get(usage, "total_tokens")), u.prompt_tokens + u.completion_tokens);

  /* streamed: the same text, in chunks, ending in [DONE] */
  for (int iu = 0; iu < 2; iu++) {
    sy_gw_stream st = {.created = 5};
    st.include_usage = iu;
    sy_jbuf sse;
    sy__jbuf_init(&sse, 1 << 20);
    assert_int_equal(sy__stub_answer(SY_GW_CHAT, req, "stub-1", &st, NULL, &sse, &u2, &f), SY_OK);
    assert_string_equal(st.id, id);
    assert_true(st.done && st.finished);
    int nchunks, nfinish, role_first;
    json_t *uj;
    char *text = read_chunks(sse.p, &nchunks, &nfinish, &uj, &role_first);
    assert_string_equal(text, content);
    assert_true(nchunks >= 3);
    assert_int_equal(nfinish, 1);
    assert_true(role_first);
    assert_int_equal(uj != NULL, iu);
    json_decref(uj);
    free(text);
    sy__jbuf_free(&sse);
  }
  json_decref(a);
  json_decref(b);

  /* another request, another id */
  json_object_set_new(req, "temperature", json_real(0.3));
  assert_int_equal(sy__stub_answer(SY_GW_CHAT, req, "stub-1", NULL, &b, NULL, &u2, &f), SY_OK);
  assert_string_not_equal(json_string_value(json_object_get(b, "id")), id);
  json_decref(b);
  json_decref(req);

  /* an image: an analysis, as JSON text */
  req = parse(
      "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"label\"},"
      "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/cat.png\"}}]}],\"n\":2}");
  assert_int_equal(sy__stub_answer(SY_GW_CHAT, req, "m", NULL, &a, NULL, &u, &f), SY_OK);
  assert_int_equal(json_array_size(json_object_get(a, "choices")), 2);
  c0 = json_array_get(json_object_get(a, "choices"), 0);
  json_t *analysis = parse(json_string_value(json_object_get(json_object_get(c0, "message"), "content")));
  assert_string_equal(json_string_value(json_object_get(analysis, "description")), "stub analysis");
  json_decref(analysis);
  json_decref(a);
  json_decref(req);

  /* a long text is quoted to 80 bytes, never in the middle of a character */
  char text[400] = "";
  for (size_t i = 0; i + 3 < sizeof text; i += 3)
    text[i] = (char)0xe2, text[i + 1] = (char)0x82, text[i + 2] = (char)0xac;
  req = json_pack("{s:[{s:s,s:s}]}", "messages", "role", "user", "content", text);
  assert_int_equal(sy__stub_answer(SY_GW_CHAT, req, "m", NULL, &a, NULL, &u, &f), SY_OK);
  c0 = json_array_get(json_object_get(a, "choices"), 0);
  content = json_string_value(json_object_get(json_object_get(c0, "message"), "content"));
  assert_true(strlen(content) <= strlen("stub reply to: ") + 80);
  assert_true(strlen(content) > strlen("stub reply to: ") + 70);
  json_decref(a);
  json_decref(req);
}

static void stub_images(void **state) {
  json_t *req = parse("{\"prompt\":\"a fox\",\"n\":3}");
  json_t *a = NULL, *b = NULL;
  sy_gw_usage u;
  sy_gw_fail f;
  assert_int_equal(sy__stub_answer(SY_GW_IMAGES, req, "m", NULL, &a, NULL, &u, &f), SY_OK);
  assert_int_equal(u.images, 3);
  assert_int_equal(json_integer_value(json_object_get(a, "created")), 0);
  json_t *data = json_object_get(a, "data");
  assert_int_equal(json_array_size(data), 3);
  const char *url0 = json_string_value(json_object_get(json_array_get(data, 0), "url"));
  assert_int_equal(strncmp(url0, "https://stub.switchyard.invalid/images/", 39), 0);
  assert_string_not_equal(url0, json_string_value(json_object_get(json_array_get(data, 1), "url")));
  assert_int_equal(sy__stub_answer(SY_GW_IMAGES, req, "m", NULL, &b, NULL, &u, &f), SY_OK);
  assert_json_equal(a, b);
  json_decref(b);
  /* an edit of the same prompt is another answer */
  json_object_set_new(req, "image", json_string("https://x/a.png"));
  assert_int_equal(sy__stub_answer(SY_GW_EDITS, req, "m", NULL, &b, NULL, &u, &f), SY_OK);
  assert_false(json_equal(a, b));
  json_decref(a);
  json_decref(b);
  json_decref(req);

  req = parse("{\"prompt\":\"a fox\",\"response_format\":\"b64_json\"}");
  assert_int_equal(sy__stub_answer(SY_GW_IMAGES, req, "m", NULL, &a, NULL, &u, &f), SY_OK);
  assert_int_equal(u.images, 1);
  const char *b64 = json_string_value(json_object_get(json_array_get(json_object_get(a, "data"), 0), "b64_json"));
  assert_non_null(b64);
  assert_int_equal(strncmp(b64, "iVBORw0KGgo", 11), 0); /* the PNG signature */
  json_decref(a);
  json_decref(req);
}

static void adapter_table(void **state) {
  assert_string_equal(sy__adapter_for(SY_PROVIDER_OPENAI)->type, "openai");
  assert_string_equal(sy__adapter_for(SY_PROVIDER_GEMINI)->type, "gemini");
  assert_string_equal(sy__adapter_for(SY_PROVIDER_SEEDREAM)->type, "seedream");
  assert_string_equal(sy__adapter_for(SY_PROVIDER_STUB)->type, "stub");
  assert_null(sy__adapter_for(SY_PROVIDER_STUB)->request);
  assert_null(sy__adapter_for((sy_provider_type)0));
  assert_string_equal(sy__adapter_for(SY_PROVIDER_GEMINI)->auth_prefix, "x-goog-api-key: ");
  assert_string_equal(sy__adapter_for(SY_PROVIDER_OPENAI)->auth_prefix, "Authorization: Bearer ");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(check_refusals),    cmocka_unit_test(check_accepted),
      cmocka_unit_test(fail_json_shape),   cmocka_unit_test(openai_request),
      cmocka_unit_test(gemini_request),    cmocka_unit_test(seedream_request),
      cmocka_unit_test(responses_garbage), cmocka_unit_test(responses_200_with_error),
      cmocka_unit_test(openai_response),   cmocka_unit_test(gemini_response),
      cmocka_unit_test(seedream_response), cmocka_unit_test(error_map),
      cmocka_unit_test(sse_parser),        cmocka_unit_test(sse_oversize),
      cmocka_unit_test(gemini_stream),     cmocka_unit_test(gemini_stream_failures),
      cmocka_unit_test(openai_stream),     cmocka_unit_test(stub_chat),
      cmocka_unit_test(stub_images),       cmocka_unit_test(adapter_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

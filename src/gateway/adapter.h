/* adapter.h — one provider wire format behind one table. An adapter turns a client's
 * OpenAI-format request into the upstream request of its provider, and the upstream answer
 * (whole, or one server-sent event at a time) back into OpenAI's format. Adapters are pure:
 * no I/O, no clock, no globals; the engine (gateway.c) does the HTTP. */
#ifndef SY_GATEWAY_ADAPTER_H
#define SY_GATEWAY_ADAPTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/jbuf.h"
#include "core/provider.h"
#include "core/rc.h"
#include "core/sse.h"

typedef enum sy_gw_op {
  SY_GW_CHAT = 1,   /* POST /v1/chat/completions */
  SY_GW_IMAGES = 2, /* POST /v1/images/generations */
  SY_GW_EDITS = 3,  /* POST /v1/images/edits */
} sy_gw_op;

typedef struct sy_gw_usage {
  int64_t prompt_tokens, completion_tokens, images;
} sy_gw_usage;

/* A failure in OpenAI's words: {"error":{"message","type","param","code"}} with status. */
typedef struct sy_gw_fail {
  int status;             /* the client's status: the provider's 4xx as is, 502 for garbage, ... */
  char type[48];          /* invalid_request_error, authentication_error, rate_limit_error, api_error, ... */
  char code[48];          /* "" is null */
  char param[64];         /* "" is null */
  char message[512];      /* never holds a credential */
  int retryable;          /* another attempt may succeed: 408, 429, 5xx, timeouts, garbage */
  int64_t retry_after_ms; /* Retry-After, filled by the engine; -1 none */
} sy_gw_fail;

/* Fills fail (retry_after_ms = -1). */
void sy__gw_fail_set(sy_gw_fail *fail, int status, const char *type, const char *code, const char *param, int retryable,
                     const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* {"error":{...}} as JSON text (caller frees), or NULL on ENOMEM. */
char *sy__gw_fail_json(const sy_gw_fail *fail, size_t *len);

/* Checks a client's request body for op before any provider sees it: the fields OpenAI
 * requires, with their types (messages: a non-empty array of {role, content} where content is
 * a string or an array of parts; prompt for images; n 1..10; ...). On a refusal fills fail
 * (400 invalid_request_error, param naming the field) and returns SY_EINVAL. */
sy_rc sy__gw_check_request(sy_gw_op op, const json_t *req, sy_gw_fail *fail);

/* The upstream request of one attempt. */
typedef struct sy_gw_call {
  char path[1024]; /* appended to the provider's base_url, e.g. "/chat/completions" */
  char *body;      /* JSON text, malloc'd: the caller frees it */
  size_t body_len;
  int sse; /* the answer is a server-sent event stream */
} sy_gw_call;

/* What the engine keeps for a stream and an adapter updates, event after event. */
typedef struct sy_gw_stream {
  char id[64];       /* chatcmpl-... given to every chunk */
  int64_t created;   /* seconds */
  char model[129];   /* the model as the client sees it (at most 128 bytes) */
  int include_usage; /* the client asked stream_options.include_usage */
  int started;       /* the first chunk (role: assistant) went out */
  int finished;      /* a chunk with a finish_reason went out */
  int done;          /* the provider said the stream is complete */
  sy_gw_usage usage; /* the provider's usage, when it said */
} sy_gw_stream;

typedef struct sy_adapter {
  const char *type; /* "openai", "gemini", "seedream", "stub" */
  /* The header that carries the provider's key ("Authorization: Bearer ", "x-goog-api-key: "),
   * to which the engine appends the key. */
  const char *auth_prefix;
  /* Builds the upstream request for op from the client's request req (already checked by
   * sy__gw_check_request), asking for model (the provider's name of it); stream asks for a
   * stream. SY_EINVAL with fail filled (400) for an op the provider does not offer. */
  sy_rc (*request)(sy_gw_op op, const json_t *req, const char *model, int stream, sy_gw_call *out, sy_gw_fail *fail);
  /* Reads a 2xx answer's whole body into OpenAI's response for op (a chat.completion, or
   * {"created","data":[{"url"|"b64_json"}]}), *out new. Garbage, HTML or a 200 that carries an
   * error: SY_EINVAL with fail filled (502, retryable). */
  sy_rc (*response)(sy_gw_op op, const char *model, const char *body, size_t len, json_t **out, sy_gw_usage *u,
                    sy_gw_fail *fail);
  /* Reads a non-2xx answer (status, body: JSON, HTML, anything) into fail, in OpenAI's words. */
  void (*error)(int status, const char *body, size_t len, sy_gw_fail *fail);
  /* One event of a stream: its data field (the lines joined with '\n'). Appends the OpenAI
   * chunks it makes to out, each as "data: {...}\n\n". An error event or garbage: SY_EINVAL
   * with fail filled. Sets st->done when the provider marks the end (OpenAI's [DONE]). */
  sy_rc (*stream_event)(sy_gw_stream *st, const char *data, size_t len, sy_jbuf *out, sy_gw_fail *fail);
  /* The upstream body ended cleanly: appends what the client is still owed (a finish chunk,
   * the usage chunk if st->include_usage, then "data: [DONE]\n\n"). SY_EINVAL with fail filled
   * when the provider ended before its answer was complete. */
  sy_rc (*stream_end)(sy_gw_stream *st, sy_jbuf *out, sy_gw_fail *fail);
} sy_adapter;

/* The adapter of a provider type; never NULL for a valid type (stub's has request NULL). */
const sy_adapter *sy__adapter_for(sy_provider_type t);

/* Shared by adapters: appends one chat.completion.chunk ("data: ...\n\n") with the delta's
 * text (content may be NULL), role when first, finish_reason (NULL for none). */
void sy__gw_chunk(sy_gw_stream *st, const char *content, size_t content_len, const char *finish_reason, sy_jbuf *out);
/* Appends the usage chunk (choices: [], usage: {...}). */
void sy__gw_chunk_usage(sy_gw_stream *st, sy_jbuf *out);

/* The stub provider: a deterministic answer for op, computed from the request alone, in
 * microseconds. Not streaming: *out is the OpenAI response. Streaming (st given, out NULL):
 * appends the whole stream, [DONE] included, to sse. Usage is filled either way. */
sy_rc sy__stub_answer(sy_gw_op op, const json_t *req, const char *model, sy_gw_stream *st, json_t **out, sy_jbuf *sse,
                      sy_gw_usage *u, sy_gw_fail *fail);

#endif

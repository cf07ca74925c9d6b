/* adapter_int.h — what the adapters (openai.c, gemini.c, seedream.c, stub.c) share with adapter.c. */
#ifndef SY_GATEWAY_ADAPTER_INT_H
#define SY_GATEWAY_ADAPTER_INT_H

#include "gateway/adapter.h"

/* The tables sy__adapter_for hands out, one per file. */
extern const sy_adapter sy__adapter_openai;
extern const sy_adapter sy__adapter_gemini;
extern const sy_adapter sy__adapter_seedream;
extern const sy_adapter sy__adapter_stub;

/* The upstream's body as a JSON object (new reference), or NULL when it is not one. */
json_t *sy__gw_parse_object(const char *body, size_t len);

/* A short, printable excerpt of an upstream body for a message: at most 200 bytes of it,
 * whitespace runs as one space, other bytes outside printable ASCII as '?'. out holds
 * outsz bytes, NUL included. */
void sy__gw_excerpt(const char *body, size_t len, char *out, size_t outsz);

/* Fills fail for an upstream failure of HTTP status (or the status a provider's error
 * names) the one way every adapter maps them:
 *   401, 402, 403            -> 502 api_error upstream_auth_failed, retryable (the gateway's
 *                               credentials are at fault, not the caller: another provider may
 *                               serve); the provider's words are dropped, they may quote a key
 *   408, 409, 5xx, others    -> 502 api_error (503 stays 503), retryable
 *   429                      -> 429 rate_limit_error, retryable
 *   other 4xx                -> the same status, invalid_request_error, not retryable
 * code and param (NULL or "" for none) are the provider's; msg its message (NULL: one is made
 * from the status). who names the provider in made-up messages. */
void sy__gw_fail_upstream(sy_gw_fail *fail, const char *who, int status, const char *code, const char *param,
                          const char *msg);

/* Fills fail for a non-2xx answer whose body says nothing an adapter can read: the status
 * and a short excerpt of the body (sy__gw_excerpt), mapped as sy__gw_fail_upstream does. */
void sy__gw_fail_unread(sy_gw_fail *fail, const char *who, int status, const char *body, size_t len);

/* Finishes an adapter's request: out's path and stream flag, and body (taken, released
 * whatever happens) as its JSON text. SY_ENOMEM with fail filled when it cannot be written. */
sy_rc sy__gw_call_set(sy_gw_call *out, const char *path, int sse, json_t *body, sy_gw_fail *fail);

/* The word for op in messages: "chat/completions", "images/generations", "images/edits". */
const char *sy__gw_op_name(sy_gw_op op);

/* 400 invalid_request_error unsupported_operation: provider who does not offer op. */
sy_rc sy__gw_unsupported(sy_gw_fail *fail, const char *who, sy_gw_op op);

/* Appends "data: [DONE]\n\n". */
void sy__gw_done(sy_jbuf *out);

/* The number v holds as an int64 (an integer, or a real that is one), else dflt. */
int64_t sy__gw_int(const json_t *v, int64_t dflt);
/* A provider's count of tokens or images: v's number within 0..SY_GW_COUNT_MAX (so that sums
 * of them never overflow), 0 when v is not one. */
#define SY_GW_COUNT_MAX ((int64_t)1 << 40)
int64_t sy__gw_count(const json_t *v);

#endif

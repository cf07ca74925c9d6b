/* http.h — the one HTTP transport of the library and the CLI: how a request to a Switchyard
 * server is made (URL, bearer token, headers, limits) with libcurl, whole (sy__http_request) or
 * driven by a multi handle (sy__http_setup, for the client's snapshot and change stream). */
#ifndef SY_LIB_HTTP_H
#define SY_LIB_HTTP_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

#include "core/rc.h"

#define SY__DEFAULT_URL "http://127.0.0.1:8000"
#define SY__BASE_MAX 4096 /* a server's base URL */
#define SY__AUTH_MAX 8192 /* the longest "Authorization: Bearer ..." header sent */

/* Where requests go and how. Strings are borrowed. */
typedef struct sy__http_target {
  const char *base;       /* "http://host:port", no trailing '/' (sy__http_base makes one) */
  const char *token;      /* NULL or "": none */
  const char *user_agent; /* "switchyard-cli/0.1.0" */
  long connect_ms;        /* 0: 10 s */
  long stall_s;           /* a transfer with no byte for stall_s seconds fails; 0: never */
  long total_ms;          /* the whole transfer at most; 0: no bound */
} sy__http_target;

/* The server's base URL from url (NULL or "": SWITCHYARD_URL, else SY__DEFAULT_URL) into out,
 * without trailing '/'. SY_EINVAL with msg when it is empty, too long, not http(s)://, or holds
 * control characters or spaces. */
sy_rc sy__http_base(const char *url, char *out, size_t cap, char *msg, size_t msgsz);

/* Checks a token: SY_EINVAL with msg when it holds a control character (a CR or LF would let
 * whoever sets it inject headers) or is too long for the header. */
sy_rc sy__http_token_check(const char *token, char *msg, size_t msgsz);

/* A growing response body that refuses to grow past max (a NUL always follows the bytes). */
typedef struct sy__body {
  char *p;
  size_t len, cap, max;
  int too_large;
  int nomem;
} sy__body;

/* The libcurl write callback that fills a sy__body (ud). */
size_t sy__body_write(char *data, size_t size, size_t nmemb, void *ud);

/* Sets up the easy handle h for METHOD t->base + path (already encoded) with t's token and
 * limits, body (borrowed until the transfer ends; NULL: none) of len bytes as JSON, and extra
 * headers (e.g. "Accept: text/event-stream"; NULL-terminated, may be NULL). *hdrs receives the
 * header list, which the caller frees with curl_slist_free_all after the transfer. The write
 * callback is the caller's. SY_EINVAL (msg) for a URL or token that cannot be sent, SY_ENOMEM. */
sy_rc sy__http_setup(CURL *h, const sy__http_target *t, const char *method, const char *path, const char *body,
                     size_t len, const char *const *extra, struct curl_slist **hdrs, char *url, size_t urlcap,
                     char *msg, size_t msgsz);

/* A response: status, body (NUL-terminated; len excludes the NUL) and the body parsed as JSON
 * (NULL when it is not JSON). Owned; sy__resp_free releases it. */
typedef struct sy__resp {
  long status;
  char *body;
  size_t len;
  json_t *json;
} sy__resp;

void sy__resp_free(sy__resp *r);

/* Sends one request and waits for the whole answer, whatever its HTTP status. SY_OK with out
 * filled when an answer came; else SY_EUNAVAILABLE (cannot connect, timed out), SY_ETOOLARGE
 * (a body over max bytes), SY_ENOMEM or SY_EINVAL, with msg saying what failed; out is then empty. */
sy_rc sy__http_request(const sy__http_target *t, const char *method, const char *path, const char *body, size_t len,
                       size_t max, sy__resp *out, char *msg, size_t msgsz);

/* The status a non-2xx answer stands for: its {"error":{"code"}} when it names one, else the
 * HTTP status's. *code and *message (may be NULL) are borrowed from r ("" when none). */
sy_rc sy__resp_error(const sy__resp *r, const char **code, const char **message);

#endif

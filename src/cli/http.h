/* http.h — the CLI's one way to talk to a Switchyard server: a request through the library's transport
 * (lib/http.h) that prints what went wrong, URL building, and the JSON helpers of the commands. */
#ifndef SY_CLI_HTTP_H
#define SY_CLI_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "cli/cli.h"
#include "core/param.h"
#include "lib/http.h"

/* Sends METHOD <server><path> with the bearer token and, when body is not NULL, len bytes of
 * JSON (borrowed). path must already be encoded (see sy__url_*). On a 2xx answer returns SY_OK
 * and fills out. Otherwise prints the reason to stderr — "switchyard: Code: message" from the
 * server's error object, or the transport failure — and returns a non-zero status; out is then
 * empty. The response body is bounded by SY__MAX_RESPONSE. */
sy_rc sy__http_raw(const sy__cli *cli, const char *method, const char *path, const char *body, size_t len,
                   sy__resp *out);

/* sy__http_raw with its own bound on the response body (max bytes) instead of SY__MAX_RESPONSE. */
sy_rc sy__http_raw_max(const sy__cli *cli, const char *method, const char *path, const char *body, size_t len,
                       size_t max, sy__resp *out);

/* sy__http_raw with a JSON body (borrowed; NULL for none) and a JSON object required back. */
sy_rc sy__http_json(const sy__cli *cli, const char *method, const char *path, const json_t *body, sy__resp *out);

/* ---- URL building ---------------------------------------------------------------------- */

#define SY__URL_MAX 8192

/* A bounded URL path-and-query under construction. Any append that would overflow, or any
 * name that core's name rules refuse, marks it failed; sy__url_done reports that. */
typedef struct sy__url {
  char buf[SY__URL_MAX];
  size_t len;
  int nquery;
  int failed;           /* 0, or the sy_rc of the first failure */
  char why[SY_MSG_MAX]; /* a refused name: what is wrong with it */
} sy__url;

void sy__url_init(sy__url *u, const char *path);
/* Appends raw text (already safe). */
void sy__url_add(sy__url *u, const char *s);
/* Appends "/api/v1/params" and the parameter name, so "/a/b" becomes "/api/v1/params/a/b".
 * The name is checked with core's sy__name_check, the server's own rules; a selector may
 * follow it (":3", ":prod"), of a-zA-Z0-9_.- like a label, and the server judges it. */
void sy__url_param(sy__url *u, const char *name);
/* Appends one path segment, percent-encoded. */
void sy__url_segment(sy__url *u, const char *seg);
/* Appends "?key=value" or "&key=value" with value percent-encoded. NULL value: nothing. */
void sy__url_query(sy__url *u, const char *key, const char *value);
/* SY_OK, or prints why the URL could not be built and returns the failure. */
sy_rc sy__url_done(const sy__url *u);

/* ---- JSON helpers ---------------------------------------------------------------------- */

/* The string member key of obj, or "" when absent or not a string. Borrowed from obj. */
const char *sy__jstr(const json_t *obj, const char *key);
/* The integer member key of obj, or 0 when absent, null or not an integer. */
int64_t sy__jint(const json_t *obj, const char *key);
/* Prints v to stdout as indented JSON and a newline. SY_EIO if stdout fails. */
sy_rc sy__print_json(const json_t *v);

/* ---- one call: request, errors, output ------------------------------------------------- */

/* sy__http_json to the URL u, finished first with sy__url_done (which prints a bad URL). */
sy_rc sy__http_url(const sy__cli *cli, const char *method, const sy__url *u, const json_t *body, sy__resp *out);

/* Prints a server's answer (a JSON object, borrowed) for a human; ctx is the caller's.
 * Prints its own failures, except SY_ENOMEM, which sy__call reports. */
typedef sy_rc (*sy__show_fn)(const json_t *answer, void *ctx);

/* Sends METHOD u with body (borrowed; NULL for none) through sy__http_url and prints the answer: the server's JSON
 * under --json, else show(answer, ctx). Every failure has been printed when it returns; the answer is freed before it
 * returns. */
sy_rc sy__call(const sy__cli *cli, const char *method, const sy__url *u, const json_t *body, sy__show_fn show,
               void *ctx);

/* GETs base (a URL that already has a query) page after page, appending each page's array
 * member `key` to all (owned by the caller). Stops when "next" is null or missing; a "next"
 * that does not advance is an error. Every failure has been printed when it returns. */
sy_rc sy__fetch_pages(const sy__cli *cli, const sy__url *base, const char *key, json_t *all);

#endif

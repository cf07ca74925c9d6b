/* promq.h — instant queries to a Prometheus server's HTTP API, for rollout gates and alert
 * rules. Callers never wait on the network: they read the last answer of a query from a
 * cache that a worker thread keeps fresh (every second for each query read in the last
 * minute), so a Prometheus that is slow or down delays no plan. */
#ifndef SY_CONTROL_PROMQ_H
#define SY_CONTROL_PROMQ_H

#include <stdint.h>

#include "core/rc.h"

typedef struct sy_promq sy_promq;

#define SY_PROMQ_URL_MAX 1024
#define SY_PROMQ_QUERY_MAX 4096
#define SY_PROMQ_TIMEOUT_MS 2000 /* per query */
#define SY_PROMQ_STALE_MS 10000  /* an answer older than this (real time) is not used */

/* Starts the worker. */
sy_rc sy__promq_new(sy_promq **out);
/* Stops the worker (promptly: a query in flight is abandoned) and frees. NULL is fine. */
void sy__promq_free(sy_promq *q);

/* The last answer to the instant query `query` at base_url (http(s)://host[:port][/prefix],
 * "/api/v1/query" is appended). Registers the query when new, so the first reads (until the
 * worker has asked, about a second) say "no answer yet".
 * 0 with *value set: the answer was one number (a scalar, or a vector of exactly one sample)
 * fresher than SY_PROMQ_STALE_MS. -1 otherwise, with why (cap bytes) saying what in words:
 * "no answer yet", "Prometheus at http://… did not answer: Connection refused",
 * "Prometheus answered HTTP 500", "Prometheus answered something that is not its query
 * API's JSON", "the query returned 3 series; a gate needs exactly one",
 * "the query returned no series", "the query's value is NaN". Never a secret: the URL's
 * user:password part is not written. Any thread. */
int sy__promq_get(sy_promq *q, const char *base_url, const char *query, double *value, char *why, size_t cap);

/* The pure part, exposed for tests and fuzzing: parses Prometheus' answer body (len bytes)
 * into one value, or -1 with why. */
int sy__promq_parse(const char *body, size_t len, double *value, char *why, size_t cap);

#endif

/* watch.h — the change stream: Server-Sent Events fed by the store's publish hook. */
#ifndef SY_SERVER_WATCH_H
#define SY_SERVER_WATCH_H

#include <microhttpd.h>
#include <stdint.h>

#include "store/store.h"

typedef struct sy_watch_hub sy_watch_hub;
struct sy_req;

#define SY_WATCH_PREFIXES 16 /* prefixes one stream or snapshot may follow */
#define SY_WATCH_RING 65536  /* events kept in memory; a consumer further behind is cut off */

/* A hub over store; heartbeat_ms between comments on idle streams. */
sy_watch_hub *sy__watch_hub_new(sy_store *store, int heartbeat_ms, int64_t last_seq);
void sy__watch_hub_free(sy_watch_hub *hub);
/* The store's publish hook (ctx is the hub). */
void sy__watch_publish(void *ctx, const sy_event *events, size_t n);
/* Ends every stream (shutdown). */
void sy__watch_shutdown(sy_watch_hub *hub);

/* GET /api/v1/watch?prefix=P1,P2: a stream on the server's hub of the changes to names that
 * start with any of the prefixes (none: all). MHD_NO only when the connection must be dropped. */
enum MHD_Result sy__api_watch(struct sy_req *r);

/* GET /api/v1/snapshot?prefix=P1,P2[&decrypt=true]: every parameter whose name starts with one
 * of the prefixes, from one snapshot, with the sequence number it reflects, so that a client
 * can follow the stream from there with no gap:
 * {"format":"switchyard-snapshot/1","store","seq","params":[{"name","type","version","value"}]}
 * (a SecureString's value only with decrypt=true and the decrypt scope). */
enum MHD_Result sy__api_snapshot(struct sy_req *r);

/* The request's prefix query: up to SY_WATCH_PREFIXES paths separated by ',', each checked,
 * into out/lens (borrowed from buf, in the request's arena). 0, or -1 when it has answered
 * the request with the error. */
int sy__watch_prefixes(struct sy_req *r, char **buf, const char **out, size_t *lens, int *n);

#endif

/* watch.h — the change stream: Server-Sent Events fed by the store's publish hook. */
#ifndef SY_SERVER_WATCH_H
#define SY_SERVER_WATCH_H

#include <microhttpd.h>
#include <stdint.h>

#include "store/store.h"

typedef struct sy_watch_hub sy_watch_hub;
struct sy_req;

#define SY_WATCH_RING 65536 /* events kept in memory; a consumer further behind is cut off */

/* A hub over store; heartbeat_ms between comments on idle streams. */
sy_watch_hub *sy__watch_hub_new(sy_store *store, int heartbeat_ms, int64_t last_seq);
void sy__watch_hub_free(sy_watch_hub *hub);
/* The store's publish hook (ctx is the hub). */
void sy__watch_publish(void *ctx, const sy_event *events, size_t n);
/* Ends every stream (shutdown). */
void sy__watch_shutdown(sy_watch_hub *hub);

/* GET /api/v1/watch: a stream on the server's hub. MHD_NO only when the connection must be dropped. */
enum MHD_Result sy__api_watch(struct sy_req *r);

#endif

/* api_gateway.h — the gateway's endpoints: /v1/chat/completions (and /api/v1/...), images,
 * models, and GET /metrics. */
#ifndef SY_SERVER_API_GATEWAY_H
#define SY_SERVER_API_GATEWAY_H

#include "gateway/gateway.h"
#include "server/http.h"

/* Answers a path of the gateway (/v1/..., /api/v1/chat/completions). */
enum MHD_Result sy__api_gateway(sy_req *r);
/* Serves a gateway request for r (a probe too): starts it, owned by r and released with its
 * arena; *q receives it before finish can run; finish answers now, or once the engine wakes r
 * (suspended meanwhile). in->wake and in->wake_ctx are set here. */
enum MHD_Result sy__gw_serve(sy_req *r, sy_gw_in *in, sy_gw_req **q, sy_finish_fn finish);
/* GET /metrics: Prometheus' text format. */
enum MHD_Result sy__api_metrics(sy_req *r);

#endif

/* api_gateway.h — the gateway's endpoints: /v1/chat/completions (and /api/v1/...), images,
 * models, and GET /metrics. */
#ifndef SY_SERVER_API_GATEWAY_H
#define SY_SERVER_API_GATEWAY_H

#include "server/http.h"

/* Answers a path of the gateway (/v1/..., /api/v1/chat/completions). */
enum MHD_Result sy__api_gateway(sy_req *r);
/* GET /metrics: Prometheus' text format. */
enum MHD_Result sy__api_metrics(sy_req *r);

#endif

/* api_metrics.h — pushed metrics (docs/ROLLOUTS.md, "Pushed metrics"): POST /api/v1/metrics
 * adds a batch of counts per flag and variant, GET /api/v1/metrics?flag=KEY shows them, and
 * GET /api/v1/metrics/prometheus?query=Q[&url=U] shows what the Prometheus cache answers. */
#ifndef SY_SERVER_API_METRICS_H
#define SY_SERVER_API_METRICS_H

#include "server/http.h"

/* Answers /api/v1/metrics and below; rest is what follows "/api/v1/metrics" ("" or "/..."). */
enum MHD_Result sy__api_pushed_metrics(sy_req *r, const char *rest);

#endif

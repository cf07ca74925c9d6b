/* api_rollouts.h — /api/v1/rollouts (docs/ROLLOUTS.md, "API"). */
#ifndef SY_SERVER_API_ROLLOUTS_H
#define SY_SERVER_API_ROLLOUTS_H

#include "server/http.h"

/* rest is what follows "/api/v1/rollouts". */
enum MHD_Result sy__api_rollouts(sy_req *r, const char *rest);

#endif

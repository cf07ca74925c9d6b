/* api_flags.h — /api/v1/flags: feature flags, their rollout, evaluation and statistics. */
#ifndef SY_SERVER_API_FLAGS_H
#define SY_SERVER_API_FLAGS_H

#include "server/http.h"

/* /api/v1/flags itself: GET lists, POST creates. MHD_NO only when the connection must be dropped. */
enum MHD_Result sy__api_flags_root(sy_req *r);
/* /api/v1/flags/<key>[/rollout|/evaluate|/explain|/status]; rest starts at the '/' before the key. */
enum MHD_Result sy__api_flags(sy_req *r, const char *rest);

#endif

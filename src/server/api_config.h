/* api_config.h — /api/v1/config/runtime: the whole configuration as one document. */
#ifndef SY_SERVER_API_CONFIG_H
#define SY_SERVER_API_CONFIG_H

#include "server/http.h"

/* Export (GET) and import (POST). MHD_NO only when the connection must be dropped. */
enum MHD_Result sy__api_config(sy_req *r);

#endif

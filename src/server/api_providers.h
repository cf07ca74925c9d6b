/* api_providers.h — /api/v1/providers: the gateway's providers for operators (runbook 001). */
#ifndef SY_SERVER_API_PROVIDERS_H
#define SY_SERVER_API_PROVIDERS_H

#include "server/http.h"

/* /api/v1/providers[/{p}[/test-connection|/preflight|/activate|/status|/metrics]]; rest is what
 * follows "/api/v1/providers" ("" or starting with '/'). MHD_NO only when the connection must
 * be dropped. */
enum MHD_Result sy__api_providers(sy_req *r, const char *rest);

#endif

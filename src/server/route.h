/* route.h — which API family answers a request (route.c); sy__server_open hooks it into the HTTP shell. */
#ifndef SY_SERVER_ROUTE_H
#define SY_SERVER_ROUTE_H

#include "server/http.h"

/* Answers a request whose headers and body are in: health, the SSM API, or the native API
 * family its path names. Returns MHD_NO only when the connection must be dropped. */
enum MHD_Result sy__route(sy_req *r);

#endif

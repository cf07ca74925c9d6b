/* ofrep.h — the OpenFeature Remote Evaluation Protocol (OFREP 0.3.0): /ofrep/v1/evaluate/flags. */
#ifndef SY_SERVER_OFREP_H
#define SY_SERVER_OFREP_H

#include "server/http.h"

/* The path every OFREP request starts with. */
#define SY_OFREP_PREFIX "/ofrep/"

/* Answers a request whose path starts with /ofrep/: POST /ofrep/v1/evaluate/flags/{key}
 * (one flag) and POST /ofrep/v1/evaluate/flags (every flag, with an ETag). Replies in
 * OFREP's shapes; 401 and 403 carry no body. MHD_NO only when the connection must be
 * dropped. */
enum MHD_Result sy__api_ofrep(sy_req *r);

#endif

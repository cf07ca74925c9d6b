/* api_governance.h — /api/v1/governance: runbook 001's spending limits and their state today. */
#ifndef SY_SERVER_API_GOVERNANCE_H
#define SY_SERVER_API_GOVERNANCE_H

#include "server/http.h"

/* /api/v1/governance/...; rest starts at the '/' after "governance" ("" for the root). */
enum MHD_Result sy__api_governance(sy_req *r, const char *rest);

#endif

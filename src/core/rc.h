/* rc.h — the one status type every fallible Switchyard function returns. */
#ifndef SY_CORE_RC_H
#define SY_CORE_RC_H

/* The status type is public: include/switchyard.h defines sy_rc and sy_strerror. */
#include "switchyard.h"

/* The API error code (e.g. "ParameterNotFound") and HTTP status of a status. */
const char *sy__rc_code(sy_rc rc);
int sy__rc_http_status(sy_rc rc);

#endif

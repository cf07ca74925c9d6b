/* api_admin.h — /api/v1/admin: the audit log, tokens and access keys, and the credential makers serve uses. */
#ifndef SY_SERVER_API_ADMIN_H
#define SY_SERVER_API_ADMIN_H

#include <stddef.h>

#include "server/http.h"

/* /api/v1/admin/audit, /tokens and /keys, rest being what follows in the path. MHD_NO only
 * when the connection must be dropped. */
enum MHD_Result sy__api_audit(sy_req *r, const char *rest);
enum MHD_Result sy__api_tokens(sy_req *r, const char *rest);
enum MHD_Result sy__api_keys(sy_req *r, const char *rest);

/* GET /api/v1/whoami: the credential's name and the scopes it holds, those its scopes imply
 * included ({"name","scopes"}); never the secret nor its hash. Any credential may ask. */
enum MHD_Result sy__api_whoami(sy_req *r);

/* A new token secret ("sy_" and 64 hex digits) into out (outsz >= 68); 0, or -1 without randomness. */
int sy__token_generate(char *out, size_t outsz);
/* Whether id is a well-formed access key id: 16 to 31 of A-Z0-9. */
int sy__akey_id_valid(const char *id);

/* POST /api/v1/admin/clock {"advance_ms": N}: moves a test server's clock (SWITCHYARD_TEST_CLOCK=1)
 * forward; 404 on any other server. GET shows the clock's time. */
enum MHD_Result sy__api_clock(sy_req *r);

#endif

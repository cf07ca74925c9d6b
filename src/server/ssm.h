/* ssm.h — the AWS SSM Parameter Store protocol (awsJson1_1, SigV4) on POST / (ssm*.c). */
#ifndef SY_SERVER_SSM_H
#define SY_SERVER_SSM_H

#include "server/http.h"

/* Answers POST /: an AmazonSSM.* operation, or STS GetCallerIdentity. MHD_NO only when the
 * connection must be dropped. */
enum MHD_Result sy__api_ssm(sy_req *r);
/* An error in the SSM API's shape ({"__type","message"} and a request id). */
enum MHD_Result sy__ssm_reply_error(sy_req *r, int status, const char *type, const char *msg);

#endif

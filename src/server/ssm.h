/* ssm.h — the AWS SSM Parameter Store protocol (awsJson1_1, SigV4) on POST / (ssm*.c). */
#ifndef SY_SERVER_SSM_H
#define SY_SERVER_SSM_H

#include "server/http.h"

/* Answers POST /: an AmazonSSM.* operation, or STS GetCallerIdentity. MHD_NO only when the
 * connection must be dropped. */
enum MHD_Result sy__api_ssm(sy_req *r);
/* Whether a request that POST / does not take came from an AWS client: it names an
 * X-Amz-Target or carries a SigV4 Authorization (1), or not (0); -1 with a reply queued
 * when its headers cannot be read. */
int sy__ssm_from_aws(sy_req *r);
/* Answers such a request with the SSM API's error for every service and operation that
 * Switchyard does not serve, naming what it serves. */
enum MHD_Result sy__ssm_unsupported(sy_req *r);
/* An error in the SSM API's shape ({"__type","message"} and a request id). */
enum MHD_Result sy__ssm_reply_error(sy_req *r, int status, const char *type, const char *msg);

#endif

/* ssm_int.h — what the files of the SSM API share: the envelope of ssm.c, the
 * authentication of ssm_auth.c, and the operations of ssm_read.c and ssm_write.c that
 * ssm_dispatch.c hands requests to. */
#ifndef SY_SERVER_SSM_INT_H
#define SY_SERVER_SSM_INT_H

#include <stdint.h>

#include "core/sigv4.h"
#include "server/http.h"

#define SSM_CT "application/x-amz-json-1.1"
#define SSM_HIERARCHY_TEXT                                                                                   \
  "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and constraints for " \
  "parameter names in the Amazon Web Services Systems Manager User Guide."
#define SSM_MSG_MAX 4096 /* an error message: room for the names SSM quotes back */

/* ---- the envelope (ssm.c) ---- */

/* A request id shaped like a UUID v4 into out, for x-amzn-RequestId. */
void sy__ssm_request_id(char out[37]);
/* Replies with body (stolen; NULL answers 500) as awsJson1_1, with a request id. */
enum MHD_Result sy__ssm_reply(sy_req *r, int status, json_t *body);
/* Replies with the error shape; the message is made from fmt. */
enum MHD_Result sy__ssm_error(sy_req *r, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Replies with the error shape, msg as it is. */
enum MHD_Result sy__ssm_reply_error(sy_req *r, int status, const char *type, const char *msg);
/* Replies with the error shape for a store status (msg, or the status's own words). */
enum MHD_Result sy__ssm_rc(sy_req *r, sy_rc rc, const char *msg);

/* Request fields. Absent or null leaves *out untouched and returns 0; a wrong type (or a
 * value out of its range) replies 400 naming the field and returns -1. sy__ssm_strs reads a
 * list of min..max strings into the request's arena; sy__ssm_known refuses a field not in
 * fields (NULL-terminated). */
int sy__ssm_str(sy_req *r, json_t *o, const char *key, const char **out);
int sy__ssm_bool(sy_req *r, json_t *o, const char *key, int *out);
int sy__ssm_int(sy_req *r, json_t *o, const char *key, int64_t min, int64_t max, int64_t *out);
int sy__ssm_strs(sy_req *r, json_t *o, const char *key, int min, int max, const char ***out, int *n);
int sy__ssm_known(sy_req *r, json_t *o, const char *const *fields);

/* A parameter name as a request gives it. */
typedef struct ssm_name {
  char *name; /* in the request's arena */
  size_t len;
  int64_t version;   /* from "name:N" */
  const char *label; /* from "name:label" */
  int unresolvable;  /* a selector that names no version ("name:2:3", "name:0"): nothing is found */
  const char *given; /* as the request had it */
} ssm_name;

/* How a name may be given: with a selector (reads of a version), or to be created (the
 * names SSM reserves are refused with its own texts; a read of one merely finds nothing). */
enum { SSM_NAME_SELECTOR = 1, SSM_NAME_CREATE = 2 };

/* 0 when name (len bytes) is a parameter name SSM takes; otherwise -1 with SSM's error name
 * (static) in *type and its message in msg. create as in SSM_NAME_CREATE. */
int sy__ssm_name_refusal(const char *name, size_t len, int create, const char **type, char *msg, size_t cap);
/* Accepts "name", "name:selector" (with SSM_NAME_SELECTOR) and parameter ARNs of any
 * partition, region and account; replies 400 and returns -1 when raw is none of them. */
int sy__ssm_parse_name(sy_req *r, const char *raw, int flags, ssm_name *n);
/* The name in field key, which must be there. */
int sy__ssm_required_name(sy_req *r, json_t *o, const char *key, int flags, ssm_name *n);
/* ResourceType (only Parameter) and ResourceId of the tag operations: InvalidResourceType for
 * a type SSM does not know, InvalidResourceId for one this server has none of or an id that
 * is no parameter name. */
int sy__ssm_resource(sy_req *r, json_t *b, ssm_name *n);

/* The SSM type of a kind: its own name for SSM's three, String for any other (a flag). */
const char *sy__ssm_type_name(sy_kind kind);

/* ---- who signed the request (ssm_auth.c) ---- */

/* The region of the request: the one it was signed for, else SWITCHYARD_AWS_REGION's. */
const char *sy__ssm_region(const sy_req *r);
/* The ARN partition of a region: aws-cn for cn-*, aws-us-gov for us-gov-*, aws-iso(-b) for
 * us-iso(b)-*, else aws. */
const char *sy__ssm_partition(const char *region);

/* The request's headers, read once: every one (up to a limit) for the verifier, and the
 * two that choose the protocol and operation, counted. */
typedef struct ssm_headers {
  sy_sigv4_header *h;         /* in the request's arena; names and values borrowed from libmicrohttpd */
  size_t n, cap;              /* cap: room in h, the request's count up to HEADERS_MAX */
  int overflow;               /* more headers than the verifier reads */
  const char *target;         /* the first X-Amz-Target, or NULL */
  const char *content_type;   /* the first Content-Type, or NULL */
  const char *authorization;  /* the first Authorization, or NULL */
  int ntarget, ncontent_type; /* how many of each */
} ssm_headers;

/* Reads r's headers into hs; replies 500 and returns -1 when out of memory. */
int sy__ssm_headers(sy_req *r, ssm_headers *hs);
/* The service a SigV4 Authorization's credential is scoped to ("ssm", "dynamodb": the fourth
 * part of Credential=AKID/date/region/service/aws4_request), into out; 0, or -1 when there
 * is no such header or the part is not a plausible service name. The signature is not
 * checked: this only tells which API a client meant. */
int sy__ssm_scope_service(const ssm_headers *hs, char *out, size_t cap);
/* Checks the SigV4 signature for service ("ssm", "sts") and sets r->actor and r->scopes;
 * replies (403, or 400 for a malformed request) and returns -1 when it fails. */
int sy__ssm_authenticate(sy_req *r, const ssm_headers *hs, const char *service);
/* STS GetCallerIdentity (awsQuery, XML). */
enum MHD_Result sy__ssm_sts(sy_req *r, const ssm_headers *hs);

/* ---- the operations (ssm_read.c, ssm_write.c) ----
 * Each takes the parsed body, an object, once the request is authenticated and its scope
 * checked, and returns MHD_NO only when the connection must be dropped. */
enum MHD_Result sy__ssm_get_parameter(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_get_parameters(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_get_parameters_by_path(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_get_parameter_history(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_describe_parameters(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_list_tags(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_put_parameter(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_delete_parameter(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_delete_parameters(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_label_version(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_unlabel_version(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_add_tags(sy_req *r, json_t *b);
enum MHD_Result sy__ssm_remove_tags(sy_req *r, json_t *b);

#endif

/* api_params.h — /api/v1/params, and the body parsing it shares with the config API. */
#ifndef SY_SERVER_API_PARAMS_H
#define SY_SERVER_API_PARAMS_H

#include "server/http.h"

/* /api/v1/params/<name>... and the listing of /api/v1/params. MHD_NO only when the
 * connection must be dropped. */
enum MHD_Result sy__api_params(sy_req *r, const char *rest);
enum MHD_Result sy__api_params_list(sy_req *r);

/* Body parsing shared by the params and config APIs (reply 400 and return -1 on bad input). */
int sy__parse_put(sy_req *r, json_t *obj, const char *ctx, int need_value, sy_put *in);
/* Refuses (400, naming it after ctx) the first field of obj that is not in allowed
 * (NULL-terminated); 0, or -1 after replying. */
int sy__only_fields(sy_req *r, json_t *obj, const char *ctx, const char *const *allowed);
/* Reads the optional "reason" of a write into r->op.reason (at most SY_REASON_MAX); 0 or -1. */
int sy__reason_field(sy_req *r, json_t *obj);
/* Ends a listing page begun as {"<items>":[ in out: the closing bracket, "next" (the name
 * to resume after, or null) and the reply. */
enum MHD_Result sy__reply_page(sy_req *r, sy_jbuf *out, const char *next);
int sy__parse_tags(sy_req *r, json_t *obj, const char *ctx, sy_tag **out, int *n);

#endif

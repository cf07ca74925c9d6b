/* api_params.h — /api/v1/params, and the body parsing and listing it shares with the config and SSM APIs. */
#ifndef SY_SERVER_API_PARAMS_H
#define SY_SERVER_API_PARAMS_H

#include "server/http.h"

/* /api/v1/params/<name>... and the listing of /api/v1/params. MHD_NO only when the
 * connection must be dropped. */
enum MHD_Result sy__api_params(sy_req *r, const char *rest);
enum MHD_Result sy__api_params_list(sy_req *r);

/* Body parsing shared by the params and config APIs (reply 400 and return -1 on bad input). */
int sy__parse_put(sy_req *r, json_t *obj, const char *ctx, int need_value, sy_put *in);
int sy__parse_tags(sy_req *r, json_t *obj, const char *ctx, sy_tag **out, int *n);

/* Walks the parameters below prefix (which ends in '/') in name order, starting after
 * `after` (NULL: from the start), only direct children unless recursive; cb returns 1 to stop. */
typedef int (*sy_list_cb)(void *ctx, const sy_param *p);
void sy__list_walk(const sy_snap *s, const char *prefix, int recursive, const char *after, sy_list_cb cb, void *ctx);
/* path with a trailing '/' into prefix; the length, or -1 if it does not fit. */
int sy__list_prefix(const char *path, char *prefix, size_t cap);

#endif

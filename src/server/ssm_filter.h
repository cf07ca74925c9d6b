/* ssm_filter.h — the parameter filters of the SSM API: DescribeParameters' Filters and
 * ParameterFilters and GetParametersByPath's ParameterFilters, read, checked with SSM's own
 * errors, and matched against a parameter. */
#ifndef SY_SERVER_SSM_FILTER_H
#define SY_SERVER_SSM_FILTER_H

#include <jansson.h>

#include "server/http.h"
#include "store/snap.h"

/* What a filter looks at. */
typedef enum ssm_fkey {
  SSM_FKEY_NAME,
  SSM_FKEY_TYPE,
  SSM_FKEY_KEYID,
  SSM_FKEY_PATH,
  SSM_FKEY_TIER,
  SSM_FKEY_DATATYPE,
  SSM_FKEY_LABEL,
  SSM_FKEY_TAG
} ssm_fkey;

/* How a filter compares. */
typedef enum ssm_fopt {
  SSM_FOPT_EQUALS,
  SSM_FOPT_BEGINSWITH,
  SSM_FOPT_CONTAINS,
  SSM_FOPT_ONELEVEL,
  SSM_FOPT_RECURSIVE
} ssm_fopt;

typedef struct ssm_filter {
  ssm_fkey key;
  ssm_fopt opt;
  const char *tag;   /* the tag key of "tag:<key>" */
  const char **vals; /* borrowed from the request body */
  int nv;            /* 0 only for a tag filter: the tag is there, whatever its value */
} ssm_filter;

/* The filters of one request (all must match), in the request's arena. */
typedef struct ssm_filters {
  ssm_filter *f;
  int n;
  const ssm_filter *label; /* GetParametersByPath's Label filter, if any */
} ssm_filters;

/* Which operation the filters belong to: the keys and options each takes differ. */
typedef enum ssm_filter_op { SSM_FILTERS_DESCRIBE, SSM_FILTERS_BY_PATH } ssm_filter_op;

/* Reads the filters of body b for op (DescribeParameters: Filters or ParameterFilters;
 * GetParametersByPath: ParameterFilters) into *out, memory from r's arena, strings borrowed
 * from b. Checks them as SSM does: the constraints of the request's shape first (every
 * failure in one ValidationException), then what the keys, options and values mean.
 * 0, or -1 after replying with the error. */
int sy__ssm_filters_read(sy_req *r, json_t *b, ssm_filter_op op, ssm_filters *out);

/* The version of p that the filters select: the one carrying a value of the Label filter
 * (the first value that one carries), else the latest; NULL when a Label filter selects none. */
const sy_ver *sy__ssm_filters_version(const ssm_filters *fs, const sy_param *p);

/* Whether version v of p passes every filter. */
int sy__ssm_filters_match(const ssm_filters *fs, const sy_param *p, const sy_ver *v);

#endif

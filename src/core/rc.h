/* rc.h — the one status type every fallible Switchyard function returns. */
#ifndef SY_CORE_RC_H
#define SY_CORE_RC_H

typedef enum sy_rc {
  SY_OK = 0,
  SY_ENOMEM,            /* allocation failed */
  SY_EINVAL,            /* input failed validation: ValidationException */
  SY_ENOTFOUND,         /* ParameterNotFound */
  SY_EVERSION_NOTFOUND, /* ParameterVersionNotFound */
  SY_EEXISTS,           /* ParameterAlreadyExists */
  SY_ECONFLICT,         /* VersionConflict (if_version mismatch) */
  SY_EPATTERN,          /* ParameterPatternMismatchException */
  SY_EHIERARCHY,        /* HierarchyLevelLimitExceededException */
  SY_EMAXVERSIONS,      /* ParameterMaxVersionLimitExceeded */
  SY_ETOOLARGE,         /* body or value over its limit */
  SY_EUNAUTH,           /* no or unknown credential */
  SY_EFORBIDDEN,        /* credential lacks the scope */
  SY_EIO,               /* storage failure */
  SY_EUNAVAILABLE,      /* shutting down, queue full */
  SY_ETOKEN_EXISTS,     /* TokenAlreadyExists */
  SY_ETOKEN_NOTFOUND,   /* TokenNotFound */
  SY_ELABEL_LIMIT,      /* ParameterVersionLabelLimitExceeded */
  SY_ETAG_LIMIT,        /* TooManyTagsError */
  SY_ETIER,             /* value too large for the Standard tier: ParameterLimitExceeded? see sy__rc_code */
  SY_EINTERNAL,
  SY_EBADPATTERN,  /* the allowed pattern does not compile: InvalidAllowedPatternException */
  SY_EPOLICY_TYPE, /* a parameter policy of an unknown type: InvalidPolicyTypeException */
  SY_EPOLICY_ATTR, /* a parameter policy's attribute is missing or wrong: InvalidPolicyAttributeException */
  SY_EKEYID,       /* a KMS key id that names no key: InvalidKeyId */
  SY_RC_MAX
} sy_rc;

/* Words for a status, for logs and the CLI. Never NULL. */
const char *sy_strerror(sy_rc rc);
/* The API error code (e.g. "ParameterNotFound") and HTTP status of a status. */
const char *sy__rc_code(sy_rc rc);
int sy__rc_http_status(sy_rc rc);

#endif

/* rc.c — words, API codes and HTTP statuses for sy_rc. */
#include "core/rc.h"

static const struct {
  const char *words;
  const char *code;
  int http;
} rc_table[SY_RC_MAX] = {
    [SY_OK] = {"ok", "OK", 200},
    [SY_ENOMEM] = {"out of memory", "InternalError", 500},
    [SY_EINVAL] = {"invalid input", "ValidationException", 400},
    [SY_ENOTFOUND] = {"parameter not found", "ParameterNotFound", 404},
    [SY_EVERSION_NOTFOUND] = {"parameter version not found", "ParameterVersionNotFound", 404},
    [SY_EEXISTS] = {"parameter already exists", "ParameterAlreadyExists", 409},
    [SY_ECONFLICT] = {"version conflict", "VersionConflict", 409},
    [SY_EPATTERN] = {"value does not match the allowed pattern", "ParameterPatternMismatchException", 400},
    [SY_EHIERARCHY] = {"too many hierarchy levels", "HierarchyLevelLimitExceededException", 400},
    [SY_EMAXVERSIONS] = {"oldest version carries a label", "ParameterMaxVersionLimitExceeded", 400},
    [SY_ETOOLARGE] = {"too large", "PayloadTooLarge", 413},
    [SY_EUNAUTH] = {"unauthenticated", "Unauthenticated", 401},
    [SY_EFORBIDDEN] = {"access denied", "AccessDenied", 403},
    [SY_EIO] = {"storage failure", "InternalError", 500},
    [SY_EUNAVAILABLE] = {"unavailable", "Unavailable", 503},
    [SY_ETOKEN_EXISTS] = {"token already exists", "TokenAlreadyExists", 409},
    [SY_ETOKEN_NOTFOUND] = {"token not found", "TokenNotFound", 404},
    [SY_ELABEL_LIMIT] = {"too many labels on the version", "ParameterVersionLabelLimitExceeded", 400},
    [SY_ETAG_LIMIT] = {"too many tags", "TooManyTagsError", 400},
    [SY_ETIER] = {"value too large for the tier", "ValidationException", 400},
    [SY_EINTERNAL] = {"internal error", "InternalError", 500},
    [SY_EBADPATTERN] = {"invalid allowed pattern", "ValidationException", 400},
    [SY_EPOLICY_TYPE] = {"unknown parameter policy type", "InvalidPolicyTypeException", 400},
    [SY_EPOLICY_ATTR] = {"invalid parameter policy attribute", "InvalidPolicyAttributeException", 400},
    [SY_EKEYID] = {"unknown KMS key", "InvalidKeyId", 400},
    [SY_EKIND] = {"not of the kind the call needs", "ValidationException", 400},
    [SY_EPROTOCOL] = {"the server's answer breaks the protocol", "InternalError", 502},
};

SY_API const char *sy_strerror(sy_rc rc) {
  if ((unsigned)rc >= SY_RC_MAX || !rc_table[rc].words) return "unknown status";
  return rc_table[rc].words;
}

const char *sy__rc_code(sy_rc rc) {
  if ((unsigned)rc >= SY_RC_MAX || !rc_table[rc].code) return "InternalError";
  return rc_table[rc].code;
}

int sy__rc_http_status(sy_rc rc) {
  if ((unsigned)rc >= SY_RC_MAX || !rc_table[rc].http) return 500;
  return rc_table[rc].http;
}

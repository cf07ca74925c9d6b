/* gemini.c — the gemini adapter (its wire format lands next; until then it offers nothing). */
#include "gateway/adapter_int.h"

static sy_rc gemini_request(sy_gw_op op, const json_t *req, const char *model, int stream, sy_gw_call *out,
                            sy_gw_fail *fail) {
  return sy__gw_unsupported(fail, "gemini", op);
}

const sy_adapter sy__adapter_gemini = {.type = "gemini", .auth_prefix = "", .request = gemini_request};

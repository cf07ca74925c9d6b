/* fuzz_ssm.c — libFuzzer harness for the request bodies of the SSM API (awsJson1_1 on
 * POST / with X-Amz-Target): names and selectors, ARNs, filters, tags, NextTokens.
 *
 * A real server runs in the process (inproc.c). The first input byte picks the operation:
 * 'a' + the index in ops[]; the rest is the body, signed with SigV4 by the access key made
 * at start, so every input passes authentication and reaches the operation. */
#include <stdint.h>
#include <string.h>

#include "inproc.h"
#include "check.h"

static const char *const ops[] = {
    "AmazonSSM.GetParameter",            /* a */
    "AmazonSSM.GetParameters",           /* b */
    "AmazonSSM.GetParametersByPath",     /* c */
    "AmazonSSM.GetParameterHistory",     /* d */
    "AmazonSSM.DescribeParameters",      /* e */
    "AmazonSSM.ListTagsForResource",     /* f */
    "AmazonSSM.PutParameter",            /* g */
    "AmazonSSM.DeleteParameter",         /* h */
    "AmazonSSM.DeleteParameters",        /* i */
    "AmazonSSM.LabelParameterVersion",   /* j */
    "AmazonSSM.UnlabelParameterVersion", /* k */
    "AmazonSSM.AddTagsToResource",       /* l */
    "AmazonSSM.RemoveTagsFromResource",  /* m */
};
#define NOPS (sizeof ops / sizeof ops[0])

static int ssm(const char *op, const char *body) { return inproc_ssm(op, body, strlen(body)); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  inproc_start("ssm");
  CHECK(ssm(ops[6], "{\"Name\":\"/fz/ssm/a\",\"Value\":\"v1\",\"Type\":\"String\"}") == 200);
  CHECK(ssm(ops[6], "{\"Name\":\"/fz/ssm/a\",\"Value\":\"v2\",\"Overwrite\":true}") == 200);
  CHECK(ssm(ops[9], "{\"Name\":\"/fz/ssm/a\",\"ParameterVersion\":1,\"Labels\":[\"prod\"]}") == 200);
  CHECK(ssm(ops[6],
            "{\"Name\":\"/fz/ssm/s\",\"Value\":\"hush\",\"Type\":\"SecureString\",\"Tags\":[{\"Key\":\"team\","
            "\"Value\":\"ml\"}]}") == 200);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  int status = inproc_ssm(ops[(uint8_t)(data[0] - 'a') % NOPS], data + 1, size - 1);
  CHECK(status >= 200 && status < 500);
  return 0;
}

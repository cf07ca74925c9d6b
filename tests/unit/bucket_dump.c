/* bucket_dump.c — prints the rollout bucket and the split choice of N subjects, as
 * sy_bucket and a compiled flag compute them, for bucket_check.py to recompute with
 * Python's hashlib. Usage: bucket_dump SALT N. One line per subject:
 *   subject <TAB> sy_bucket <TAB> the flag's bucket <TAB> the flag's variant */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bucket.h"
#include "core/flag.h"

int main(int argc, char **argv) {
  char doc[1400], msg[256], *end;
  sy_flag *f = NULL;
  if (argc != 3) {
    fprintf(stderr, "usage: bucket_dump SALT N\n");
    return 2;
  }
  long n = strtol(argv[2], &end, 10);
  json_t *salt = json_string(argv[1]);
  char *quoted = salt ? json_dumps(salt, JSON_ENCODE_ANY) : NULL;
  if (*end || n < 0 || n > 10000000 || !quoted) {
    fprintf(stderr, "bucket_dump: bad arguments\n");
    return 2;
  }
  /* a split over weights 1:2:7 inside a 100 % rollout: every subject is bucketed and split */
  snprintf(doc, sizeof doc,
           "{\"salt\": %s, \"variants\": {\"a\": 1, \"b\": 2, \"c\": 3, \"off\": 0},"
           " \"weights\": {\"a\": 1, \"b\": 2, \"c\": 7}}",
           quoted);
  free(quoted);
  json_decref(salt);
  if (sy__flag_compile("bucket-dump", doc, strlen(doc), NULL, &f, msg, sizeof msg)) {
    fprintf(stderr, "bucket_dump: %s\n", msg);
    return 1;
  }
  for (long i = 0; i < n; i++) {
    char subject[64];
    sy_flag_result r;
    /* plain, UTF-8 and punctuation-heavy subjects */
    if (i % 3 == 0)
      snprintf(subject, sizeof subject, "user-%ld", i);
    else if (i % 3 == 1)
      snprintf(subject, sizeof subject, "caf\xc3\xa9/%ld@example.com", i * 7919);
    else
      snprintf(subject, sizeof subject, "%lx:%ld", (unsigned long)i * 2654435761UL, i);
    json_t *ctx = json_pack("{s:s}", "targetingKey", subject);
    sy__flag_eval(f, ctx, NULL, &r);
    json_decref(ctx);
    printf("%s\t%u\t%u\t%s\n", subject, sy_bucket(argv[1], subject), r.bucket, r.variant ? r.variant : "-");
  }
  sy__flag_free(f);
  return 0;
}

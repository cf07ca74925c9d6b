/* flag_eval.c — bench_flag: nanoseconds per evaluation of a percentage flag, beside one
 * SHA-256 of 48 bytes, each the median of several runs. The hash is timed two ways: the
 * project's sy__sha256 (an EVP digest) and the SHA256_Init/Update/Final on a stack state, as the bucket hashes.
 * The ratios say how much an evaluation costs beyond its hash.
 * Usage: bench_flag [ITERATIONS] [RUNS] */
#define OPENSSL_API_COMPAT 10101
#include <openssl/sha.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "core/flag.h"

#define SUBJECTS 1024

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
  int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 7;
  static const char doc[] = "{\"rollout_percentage\": 25}";
  char msg[256];
  sy_flag *f = NULL;
  json_t *ctx[SUBJECTS];
  double eval_ns[64], sha_ns[64], raw_ns[64];
  volatile unsigned sink = 0;
  if (iters < 1000 || runs < 1 || runs > 64) {
    fprintf(stderr, "usage: bench_flag [ITERATIONS >= 1000] [RUNS 1..64]\n");
    return 2;
  }
  if (sy__flag_compile("bench/checkout", doc, strlen(doc), NULL, &f, msg, sizeof msg)) {
    fprintf(stderr, "bench_flag: %s\n", msg);
    return 1;
  }
  for (int i = 0; i < SUBJECTS; i++) {
    char key[48];
    snprintf(key, sizeof key, "session-%08d-4f1c-9a7e", i);
    ctx[i] = json_pack("{s:s, s:s}", "targetingKey", key, "country", "NL");
  }
  unsigned char in[48], md[32];
  memset(in, 'x', sizeof in);
  for (int r = 0; r < runs; r++) {
    sy_flag_result res;
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
      sy__flag_eval(f, ctx[i & (SUBJECTS - 1)], NULL, &res);
      sink += res.bucket;
    }
    eval_ns[r] = (now_ns() - t0) / (double)iters;
    t0 = now_ns();
    for (long i = 0; i < iters; i++) {
      in[0] = (unsigned char)i;
      sy__sha256(in, sizeof in, md);
      sink += md[0];
    }
    sha_ns[r] = (now_ns() - t0) / (double)iters;
    t0 = now_ns();
    for (long i = 0; i < iters; i++) {
      in[0] = (unsigned char)i;
      SHA256_CTX c;
      SHA256_Init(&c);
      SHA256_Update(&c, in, sizeof in);
      SHA256_Final(md, &c);
      sink += md[0];
    }
    raw_ns[r] = (now_ns() - t0) / (double)iters;
  }
  double e = median(eval_ns, runs), s = median(sha_ns, runs), h = median(raw_ns, runs);
  printf("flag eval (25%% rollout):         %.1f ns/eval (median of %d runs of %ld)\n", e, runs, iters);
  printf("SHA-256 of 48 bytes, sy__sha256:  %.1f ns/hash (ratio eval/hash %.2f)\n", s, e / s);
  printf("SHA-256 of 48 bytes, stack state: %.1f ns/hash (ratio eval/hash %.2f)\n", h, e / h);
  for (int i = 0; i < SUBJECTS; i++) json_decref(ctx[i]);
  sy__flag_free(f);
  return sink == 42 ? 1 : 0;
}

/* bucket.c — consistent rollout buckets (see DESIGN.md, fixed contracts). */
#include "core/bucket.h"

#include <math.h>
#include <openssl/evp.h>
#include <string.h>

uint32_t sy_bucket(const char *salt, const char *subject) {
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx) return 0;
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  EVP_DigestUpdate(ctx, salt, strlen(salt));
  EVP_DigestUpdate(ctx, "/", 1);
  EVP_DigestUpdate(ctx, subject, strlen(subject));
  EVP_DigestFinal_ex(ctx, md, &mdlen);
  EVP_MD_CTX_free(ctx);
  uint64_t b = 0;
  for (int i = 0; i < 8; i++) b = (b << 8) | md[i];
  return (uint32_t)(b % 10000);
}

int sy_bucket_in(uint32_t bucket, double percent) {
  double p = percent < 0 ? 0 : percent > 100 ? 100 : percent;
  return bucket < (uint32_t)llround(p * 100.0);
}

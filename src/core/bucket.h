/* bucket.h — the rollout bucket, a fixed contract shared by server and library. */
#ifndef SY_CORE_BUCKET_H
#define SY_CORE_BUCKET_H

#include <stddef.h>
#include <stdint.h>

/* b = first 8 bytes of SHA-256(salt + "/" + subject), big-endian, mod 10000. */
uint32_t sy_bucket(const char *salt, const char *subject);
/* 1 iff the subject is inside a rollout of percent p (0..100, two decimals). */
int sy_bucket_in(uint32_t bucket, double percent);

#endif

/* crypto.h — the hashing helpers every part uses: hex, SHA-256, HMAC-SHA-256. */
#ifndef SY_CORE_CRYPTO_H
#define SY_CORE_CRYPTO_H

#include <stddef.h>

#define SY_HASH_HEX 65 /* 64 hex digits + NUL */

/* n bytes as 2n lowercase hex digits and a NUL into out (2n+1 bytes). */
void sy_hex(const void *data, size_t n, char *out);

/* SHA-256 of len bytes into out[32]. */
void sy_sha256(const void *data, size_t len, unsigned char out[32]);
/* HMAC-SHA-256 of data under key into out[32]. */
void sy_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32]);

/* Hex SHA-256 of len bytes. */
void sy_sha256_hex(const void *data, size_t len, char out[SY_HASH_HEX]);

/* The SHA-256 implementation, fetched once (OpenSSL 3 looks an algorithm up on every
 * EVP_sha256() otherwise), for streaming digests. */
struct evp_md_st;
const struct evp_md_st *sy__sha256_md(void);

#endif

/* crypto.h — the hashing helpers every part uses: hex, SHA-256, HMAC-SHA-256. */
#ifndef SY_CORE_CRYPTO_H
#define SY_CORE_CRYPTO_H

#include <stddef.h>

#define SY_HASH_HEX 65 /* 64 hex digits + NUL */

/* n bytes as 2n lowercase hex digits and a NUL into out (2n+1 bytes). */
void sy__hex(const void *data, size_t n, char *out);

/* SHA-256 of len bytes into out[32]. */
void sy__sha256(const void *data, size_t len, unsigned char out[32]);
/* HMAC-SHA-256 of data under key into out[32]. */
void sy__hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32]);

/* Hex SHA-256 of len bytes. */
void sy__sha256_hex(const void *data, size_t len, char out[SY_HASH_HEX]);

/* An HMAC-SHA-256 key made ready once: the hash states after its two padded blocks, so
 * that a MAC under it hashes only the message. For a key that signs many messages (a
 * SigV4 signing key, which serves a whole day). Holds key material: free it with
 * sy__hmac_key_free, which wipes it. */
typedef struct sy_hmac_key sy_hmac_key;
/* NULL when out of memory. The caller's key bytes are not kept. */
sy_hmac_key *sy__hmac_key_new(const void *key, size_t key_len);
void sy__hmac_key_free(sy_hmac_key *k); /* NULL is fine */
/* The MAC of data under k into out[32]; 0, or -1 (out undefined) when the digest failed. */
int sy__hmac_key_mac(const sy_hmac_key *k, const void *data, size_t len, unsigned char out[32]);

/* The SHA-256 implementation, fetched once (OpenSSL 3 looks an algorithm up on every
 * EVP_sha256() otherwise), for streaming digests. */
struct evp_md_st;
const struct evp_md_st *sy__sha256_md(void);

#endif

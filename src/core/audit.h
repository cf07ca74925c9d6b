/* audit.h — the audit record and its hash chain (pure: no I/O). */
#ifndef SY_CORE_AUDIT_H
#define SY_CORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define SY_HASH_HEX 65 /* 64 hex digits + NUL */

/* One audit record. Strings are borrowed; NULL reads as "". Versions are 0 when absent. */
typedef struct sy_audit_rec {
  int64_t seq;
  const char *time;   /* RFC 3339 UTC with milliseconds */
  const char *actor;  /* the credential's name */
  const char *action; /* put, delete, label, unlabel, tag, untag, rollback, import, token.create, ... */
  const char *name;   /* the document or token name */
  int64_t old_version;
  int64_t new_version;
  const char *old_digest; /* hex SHA-256 of the old value, "" if none */
  const char *new_digest; /* hex SHA-256 of the new value, "" if none */
  const char *reason;
  const char *detail;    /* what changed beyond versions: "labels=a,b", "tags=k1,k2", "scopes=read" */
  const char *prev_hash; /* hex hash of the record before; 64 zeros for the first */
} sy_audit_rec;

/* The hash of a record: hex SHA-256 over the previous hash and every field, each
 * field written as "<decimal length>:<bytes>\n" so no two records can collide by
 * shifting bytes between fields. Writes 64 hex digits and a NUL into out. */
void sy_audit_hash(const sy_audit_rec *rec, char out[SY_HASH_HEX]);

/* n bytes as 2n lowercase hex digits and a NUL into out (2n+1 bytes). */
void sy_hex(const void *data, size_t n, char *out);

/* SHA-256 of len bytes into out[32]. */
void sy_sha256(const void *data, size_t len, unsigned char out[32]);
/* HMAC-SHA-256 of data under key into out[32]. */
void sy_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32]);

/* An HMAC-SHA-256 key made ready once: the hash states after its two padded blocks, so
 * that a MAC under it hashes only the message. For a key that signs many messages (a
 * SigV4 signing key, which serves a whole day). Holds key material: free it with
 * sy_hmac_key_free, which wipes it. */
typedef struct sy_hmac_key sy_hmac_key;
/* NULL when out of memory. The caller's key bytes are not kept. */
sy_hmac_key *sy_hmac_key_new(const void *key, size_t key_len);
void sy_hmac_key_free(sy_hmac_key *k); /* NULL is fine */
/* The MAC of data under k into out[32]; 0, or -1 (out undefined) when the digest failed. */
int sy_hmac_key_mac(const sy_hmac_key *k, const void *data, size_t len, unsigned char out[32]);

/* Hex SHA-256 of len bytes. */
void sy_sha256_hex(const void *data, size_t len, char out[SY_HASH_HEX]);

/* The prev_hash of the first record. */
extern const char sy_audit_genesis[SY_HASH_HEX];

#endif

/* audit.h — the audit record and its hash chain (pure: no I/O). */
#ifndef SY_CORE_AUDIT_H
#define SY_CORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"

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
void sy__audit_hash(const sy_audit_rec *rec, char out[SY_HASH_HEX]);

/* The prev_hash of the first record. */
extern const char sy__audit_genesis[SY_HASH_HEX];

/* A walk along the hash chain, oldest record first: the one check behind the server's
 * GET /api/v1/admin/audit/verify and the CLI's `audit verify`. Start it with sy__audit_chain_init. */
typedef struct sy_audit_chain {
  int64_t records;             /* records that followed the chain */
  int64_t last_seq;            /* the seq of the last of them; 0 before the first */
  char last_hash[SY_HASH_HEX]; /* its hash; the genesis hash before the first */
  int64_t broken_seq;          /* the first record that did not follow; 0 while intact */
  char why[160];               /* what was wrong with it */
} sy_audit_chain;

void sy__audit_chain_init(sy_audit_chain *c);

/* Checks the next record, rec, whose stored hash is hash (NULL reads as ""): its seq comes
 * after the last one's, its prev_hash is the last one's hash (the genesis hash for the first
 * record), its hash is what sy__audit_hash computes, and its seq is the last one's plus one.
 * Returns 0 if it follows. Otherwise sets broken_seq (rec's seq, or the last one's plus one
 * when rec has none) and why, and returns -1; after that every call returns -1
 * and changes nothing. */
int sy__audit_chain_next(sy_audit_chain *c, const sy_audit_rec *rec, const char *hash);

#endif

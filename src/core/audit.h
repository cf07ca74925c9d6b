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
void sy_audit_hash(const sy_audit_rec *rec, char out[SY_HASH_HEX]);

/* The prev_hash of the first record. */
extern const char sy_audit_genesis[SY_HASH_HEX];

#endif

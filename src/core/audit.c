/* audit.c — hash chain over audit records. */
#include "core/audit.h"
#include "core/crypto.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

const char sy__audit_genesis[SY_HASH_HEX] = "0000000000000000000000000000000000000000000000000000000000000000";

static void put_field(EVP_MD_CTX *ctx, const char *s) {
  char len[24];
  size_t n = s ? strlen(s) : 0;
  int k = snprintf(len, sizeof len, "%zu:", n);
  EVP_DigestUpdate(ctx, len, (size_t)k);
  if (n) EVP_DigestUpdate(ctx, s, n);
  EVP_DigestUpdate(ctx, "\n", 1);
}

static void put_int(EVP_MD_CTX *ctx, int64_t v) {
  char num[24];
  snprintf(num, sizeof num, "%" PRId64, v);
  put_field(ctx, num);
}

void sy__audit_hash(const sy_audit_rec *r, char out[SY_HASH_HEX]) {
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx) { /* cannot happen short of OOM; an all-zero hash fails verification loudly */
    memset(out, '0', 64);
    out[64] = 0;
    return;
  }
  EVP_DigestInit_ex(ctx, sy__sha256_md(), NULL);
  put_field(ctx, r->prev_hash ? r->prev_hash : sy__audit_genesis);
  put_int(ctx, r->seq);
  put_field(ctx, r->time);
  put_field(ctx, r->actor);
  put_field(ctx, r->action);
  put_field(ctx, r->name);
  put_int(ctx, r->old_version);
  put_int(ctx, r->new_version);
  put_field(ctx, r->old_digest);
  put_field(ctx, r->new_digest);
  put_field(ctx, r->reason);
  put_field(ctx, r->detail);
  EVP_DigestFinal_ex(ctx, md, &mdlen);
  EVP_MD_CTX_free(ctx);
  sy__hex(md, 32, out);
}

void sy__audit_chain_init(sy_audit_chain *c) {
  memset(c, 0, sizeof *c);
  memcpy(c->last_hash, sy__audit_genesis, SY_HASH_HEX);
}

int sy__audit_chain_next(sy_audit_chain *c, const sy_audit_rec *rec, const char *hash) {
  char want[SY_HASH_HEX];
  if (c->broken_seq) return -1;
  /* the order of the checks decides which one names a break: a dropped record shows as a
   * prev_hash that does not match, with the record that should have come before named */
  if (rec->seq <= c->last_seq) {
    snprintf(c->why, sizeof c->why, "seq does not follow %" PRId64, c->last_seq);
  } else if (!rec->prev_hash || strcmp(rec->prev_hash, c->last_hash) != 0) {
    if (c->records == 0)
      snprintf(c->why, sizeof c->why, "prev_hash is not the genesis hash");
    else
      snprintf(c->why, sizeof c->why, "prev_hash does not match the hash of seq %" PRId64, c->last_seq);
  } else {
    sy__audit_hash(rec, want);
    if (!hash || strcmp(hash, want) != 0)
      snprintf(c->why, sizeof c->why, "hash does not match the record's contents");
    else if (rec->seq != c->last_seq + 1)
      snprintf(c->why, sizeof c->why, "seq %" PRId64 " follows %" PRId64 ": a record is missing", rec->seq,
               c->last_seq);
  }
  if (c->why[0]) {
    c->broken_seq = rec->seq ? rec->seq : c->last_seq + 1;
    return -1;
  }
  c->records++;
  c->last_seq = rec->seq;
  memcpy(c->last_hash, want, SY_HASH_HEX);
  return 0;
}

/* ssm_auth.c — who signed a request to POST /: the SigV4 check over the request's headers,
 * with the derived signing keys cached per thread, and STS GetCallerIdentity. */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/audit.h"
#include "core/sigv4.h"
#include "server/ssm_int.h"

#define HEADERS_MAX 128 /* headers the verifier reads; a request with more is refused */

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  ssm_headers *hs = cls;
  (void)kind;
  char c = (char)(key[0] | 0x20); /* most names are neither: told apart by their first letter */
  if (c == 'x' && !strcasecmp(key, "X-Amz-Target") && !hs->ntarget++) hs->target = value;
  if (c == 'c' && !strcasecmp(key, "Content-Type") && !hs->ncontent_type++) hs->content_type = value;
  if (c == 'a' && !hs->authorization && !strcasecmp(key, "Authorization")) hs->authorization = value;
  if (hs->n == hs->cap) {
    hs->overflow = 1;
    return MHD_YES; /* counted on, not kept */
  }
  hs->h[hs->n].name = key;
  hs->h[hs->n].value = value;
  hs->n++;
  return MHD_YES;
}

const char *sy__ssm_region(const sy_req *r) { return r->aws_region ? r->aws_region : r->srv->aws_region; }

const char *sy__ssm_partition(const char *region) {
  if (!strncmp(region, "cn-", 3)) return "aws-cn";
  if (!strncmp(region, "us-gov-", 7)) return "aws-us-gov";
  if (!strncmp(region, "us-isob-", 8)) return "aws-iso-b";
  if (!strncmp(region, "us-iso-", 7)) return "aws-iso";
  return "aws";
}

int sy__ssm_headers(sy_req *r, ssm_headers *hs) {
  memset(hs, 0, sizeof *hs);
  /* room for the headers there are (counted: a linked list of a few), not for the most */
  int count = MHD_get_connection_values(r->conn, MHD_HEADER_KIND, NULL, NULL);
  hs->cap = count <= 0 ? 0 : count > HEADERS_MAX ? HEADERS_MAX : (size_t)count;
  hs->h = sy__arena_alloc(r->arena, (hs->cap ? hs->cap : 1) * sizeof *hs->h);
  if (!hs->h) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_header, hs);
  return 0;
}

int sy__ssm_scope_service(const ssm_headers *hs, char *out, size_t cap) {
  const char *a = hs->authorization, *c = a ? strstr(a, "Credential=") : NULL;
  if (!a || strncmp(a, SY_SIGV4_ALGORITHM " ", sizeof SY_SIGV4_ALGORITHM) || !c) return -1;
  c += 11;
  for (int part = 0; part < 3; part++) { /* past the key id, the date and the region */
    c += strcspn(c, "/, ");
    if (*c != '/') return -1;
    c++;
  }
  size_t n = strcspn(c, "/, ");
  if (!n || n >= cap || c[n] != '/') return -1;
  for (size_t i = 0; i < n; i++)
    if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') || c[i] == '-')) return -1;
  memcpy(out, c, n);
  out[n] = 0;
  return 0;
}

typedef struct key_ctx {
  sy_store *st;
  sy_arena *arena;
  const char *name; /* the key's name, in arena, once it is found */
  unsigned scopes;
} key_ctx;

/* Signing keys, per MHD thread, ready to sign: deriving one takes four HMACs and opening
 * the sealed secret, most of what checking a signature costs, and a key made ready hashes
 * only the string to sign. An entry is good only for the credential table it was made
 * from (gen, which grows on every change of a credential), so a revoked or replaced key
 * misses at once, and its entry is wiped at the next look. */
typedef struct key_cache {
  uint64_t gen;
  char id[SY_SIGV4_AKID_MAX + 1];
  char date8[9];
  char region[SY_SIGV4_REGION_MAX + 1];
  char service[8];
  sy_hmac_key *key; /* NULL: an empty slot */
} key_cache;

#define KEY_CACHE_SLOTS 8
typedef struct key_caches {
  key_cache slot[KEY_CACHE_SLOTS];
  unsigned next;
} key_caches;

static pthread_key_t caches_key;
static pthread_once_t caches_once = PTHREAD_ONCE_INIT;

static void caches_free(void *p) {
  key_caches *kc = p;
  for (int i = 0; i < KEY_CACHE_SLOTS; i++) sy__hmac_key_free(kc->slot[i].key);
  free(kc);
}

static void caches_init(void) { pthread_key_create(&caches_key, caches_free); }

/* This thread's cache, or NULL when none can be made (the key is then derived each time). */
static key_caches *thread_caches(void) {
  pthread_once(&caches_once, caches_init);
  key_caches *kc = pthread_getspecific(caches_key);
  if (!kc && (kc = calloc(1, sizeof *kc)) && pthread_setspecific(caches_key, kc)) {
    free(kc);
    kc = NULL;
  }
  return kc;
}

/* Copies s into out (cap bytes) when it fits; 0, or -1 when it does not. */
static int copy_fit(char *out, size_t cap, const char *s) {
  size_t n = strlen(s);
  if (n >= cap) return -1;
  memcpy(out, s, n + 1);
  return 0;
}

/* The signing key of a scope, made ready: from this thread's cache, or derived from the
 * access key's sealed secret and kept there. NULL with *rc set when it cannot be had. */
static sy_hmac_key *scope_key(key_caches *kc, sy_store *st, uint64_t gen, const char *id, const char *date8,
                              const char *region, const char *service, int *kept, sy_rc *rc) {
  *kept = 0;
  for (int i = 0; kc && i < KEY_CACHE_SLOTS; i++) {
    key_cache *c = &kc->slot[i];
    if (c->key && c->gen != gen) { /* made from another credential table */
      sy__hmac_key_free(c->key);
      c->key = NULL;
    }
    if (c->key && !strcmp(c->id, id) && !memcmp(c->date8, date8, 9) && !strcmp(c->region, region) &&
        !strcmp(c->service, service)) {
      *kept = 1;
      return c->key;
    }
  }
  char secret[SY_SIGV4_SECRET_MAX + 1];
  unsigned char raw[SY_SIGV4_KEY_LEN];
  size_t len = 0;
  sy_hmac_key *key = NULL;
  *rc = sy__store_akey_secret(st, id, secret, sizeof secret, &len, NULL, 0, NULL);
  if (!*rc) *rc = sy__sigv4_signing_key(secret, len, date8, region, service, raw);
  if (!*rc && !(key = sy__hmac_key_new(raw, sizeof raw))) *rc = SY_ENOMEM;
  OPENSSL_cleanse(secret, sizeof secret);
  OPENSSL_cleanse(raw, sizeof raw);
  if (!key || !kc) return key;
  key_cache *c = &kc->slot[kc->next++ % KEY_CACHE_SLOTS];
  sy__hmac_key_free(c->key);
  c->key = NULL;
  if (strlen(date8) != 8 || copy_fit(c->id, sizeof c->id, id) || copy_fit(c->region, sizeof c->region, region) ||
      copy_fit(c->service, sizeof c->service, service))
    return key; /* a scope that does not fit a slot is not kept */
  memcpy(c->date8, date8, 9);
  c->gen = gen;
  c->key = key;
  *kept = 1;
  return key;
}

/* The verifier's mac_fn: the key's name and scopes from the snapshot (so a revoked key is
 * refused at once), then the signature of the string to sign under the scope's key. */
static sy_rc sign_with(void *ctx, const char *id, const char *date8, const char *region, const char *service,
                       const void *sts, size_t sts_len, unsigned char mac[SY_SIGV4_KEY_LEN]) {
  key_ctx *k = ctx;
  const sy_snap *s = sy__snap_enter(k->st);
  const sy_akey *ak = sy__snap_akey(s, id);
  uint64_t gen = sy__snap_auth_gen(s);
  if (ak) {
    k->name = sy__arena_strdup(k->arena, ak->name);
    k->scopes = ak->scopes;
  }
  sy__snap_leave(k->st);
  if (!ak) return SY_ENOTFOUND;
  if (!k->name) return SY_ENOMEM;
  int kept = 0;
  sy_rc rc = SY_OK;
  sy_hmac_key *key = scope_key(thread_caches(), k->st, gen, id, date8, region, service, &kept, &rc);
  if (!key) return rc;
  if (sy__hmac_key_mac(key, sts, sts_len, mac)) rc = SY_EINTERNAL;
  if (!kept) sy__hmac_key_free(key);
  return rc;
}

int sy__ssm_authenticate(sy_req *r, const ssm_headers *hs, const char *service) {
  /* every header is seen by the verifier, or the request is not taken */
  if (hs->overflow)
    return sy__ssm_error(r, 400, "SerializationException", "the request has more than %d headers", HEADERS_MAX), -1;
  key_ctx kc = {r->srv->store, r->arena, NULL, 0};
  sy_sigv4_verify_in in = {.http = {.method = r->method,
                                    .path = r->path,
                                    .query = r->raw_query,
                                    .headers = hs->h,
                                    .n_headers = hs->n,
                                    .body = r->body,
                                    .body_len = r->body_len},
                           .mac_fn = sign_with,
                           .secret_ctx = &kc,
                           .service = service,
                           .now = sy__clock_now(r->srv->clock) / 1000};
  sy_sigv4_verdict vd;
  char msg[1024];
  sy_rc rc = sy__sigv4_verify(&in, &vd, msg, sizeof msg);
  /* one store answers every region: the request's region is the one it was signed for,
   * and its ARNs carry it */
  if (rc == SY_OK && !(r->aws_region = sy__arena_strdup(r->arena, vd.region))) rc = SY_ENOMEM;
  if (rc == SY_OK) {
    r->actor = kc.name;
    r->scopes = kc.scopes;
    return 0;
  }
  if (rc == SY_ENOMEM) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  if (rc != SY_EUNAUTH)
    return sy__ssm_error(r, 400, "ValidationException", "%s", msg[0] ? msg : "malformed request"), -1;
  const char *type = sy__sigv4_result_code(vd.result);
  if (vd.result == SY_SIGV4_UNKNOWN_KEY)
    return sy__ssm_error(r, 403, "UnrecognizedClientException",
                         "The security token included in the request is invalid."),
           -1;
  if (vd.result == SY_SIGV4_MISSING_AUTH)
    return sy__ssm_error(r, 403, "MissingAuthenticationTokenException", "Missing Authentication Token"), -1;
  /* every refusal of a credential or signature is a 403, as AWS answers them */
  return sy__ssm_error(r, 403, type, "%s", msg), -1;
}

/* STS GetCallerIdentity (awsQuery, XML), so that `aws sts get-caller-identity --endpoint-url ...`
 * of runbook 000 names the access key it signs with. The dispatcher has checked the Action. */
enum MHD_Result sy__ssm_sts(sy_req *r, const ssm_headers *hs) {
  if (sy__ssm_authenticate(r, hs, "sts")) return MHD_YES;
  char rid[37], *xml = malloc(1024);
  if (!xml) return MHD_NO;
  sy__ssm_request_id(rid);
  const sy_snap *s = sy__snap_enter(r->srv->store);
  const char *id = "";
  const sy_akey *k = sy__snap_akey_named(s, r->actor);
  if (k) id = k->id;
  int n = snprintf(xml, 1024,
                   "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   "<GetCallerIdentityResult><Arn>arn:%s:iam::%s:user/%s</Arn><UserId>%s</UserId>"
                   "<Account>%s</Account></GetCallerIdentityResult>"
                   "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
                   sy__ssm_partition(sy__ssm_region(r)), r->srv->aws_account, r->actor, id, r->srv->aws_account, rid);
  sy__snap_leave(r->srv->store);
  size_t len = n < 0 ? 0 : (size_t)n < 1024 ? (size_t)n : 1023;
  return sy__reply_text(r, 200, xml, len, "text/xml");
}

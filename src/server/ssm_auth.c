/* ssm_auth.c — who signed a request to POST /: the SigV4 check over the request's headers,
 * with the derived signing keys cached per thread, and STS GetCallerIdentity. */
#define _GNU_SOURCE 1 /* memmem */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sigv4.h"
#include "server/ssm_int.h"

typedef struct hdr_ctx {
  sy_req *r;
  sy_sigv4_header *h;
  size_t n, cap;
  int overflow;
} hdr_ctx;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  hdr_ctx *c = cls;
  (void)kind;
  if (c->n == c->cap) {
    c->overflow = 1;
    return MHD_NO;
  }
  c->h[c->n].name = key;
  c->h[c->n].value = value;
  c->n++;
  return MHD_YES;
}

typedef struct key_ctx {
  sy_store *st;
  char name[128];
  unsigned scopes;
} key_ctx;

/* Derived signing keys, per MHD thread: deriving one takes four HMACs and opening the
 * sealed secret, most of what checking a signature costs. An entry is good only for the
 * credential table it was made from (gen), so a revoked or replaced key misses at once. */
typedef struct key_cache {
  uint64_t gen;
  char id[SY_SIGV4_AKID_MAX + 1];
  char scope[96]; /* date8/region/service */
  unsigned char key[SY_SIGV4_KEY_LEN];
} key_cache;

#define KEY_CACHE_SLOTS 8
static __thread key_cache tl_keys[KEY_CACHE_SLOTS];
static __thread unsigned tl_keys_next;

static sy_rc signing_key_of(void *ctx, const char *id, const char *date8, const char *region, const char *service,
                            unsigned char key[SY_SIGV4_KEY_LEN]) {
  key_ctx *k = ctx;
  char scope[96];
  snprintf(scope, sizeof scope, "%s/%s/%s", date8, region, service);
  const sy_snap *s = sy__snap_enter(k->st);
  const sy_akey *ak = sy__snap_akey(s, id);
  uint64_t gen = s->auth->gen;
  if (ak) {
    snprintf(k->name, sizeof k->name, "%s", ak->name);
    k->scopes = ak->scopes;
  }
  sy__snap_leave(k->st);
  if (!ak) return SY_ENOTFOUND;
  for (int i = 0; i < KEY_CACHE_SLOTS; i++) {
    key_cache *c = &tl_keys[i];
    if (c->gen == gen && !strcmp(c->id, id) && !strcmp(c->scope, scope)) {
      memcpy(key, c->key, SY_SIGV4_KEY_LEN);
      return SY_OK;
    }
  }
  char secret[SY_SIGV4_SECRET_MAX + 1];
  size_t len = 0;
  sy_rc rc = sy__store_akey_secret(k->st, id, secret, sizeof secret, &len, NULL, 0, NULL);
  if (!rc) rc = sy_sigv4_signing_key(secret, len, date8, region, service, key);
  OPENSSL_cleanse(secret, sizeof secret);
  if (rc) return rc;
  key_cache *c = &tl_keys[tl_keys_next++ % KEY_CACHE_SLOTS];
  c->gen = gen;
  snprintf(c->id, sizeof c->id, "%s", id);
  snprintf(c->scope, sizeof c->scope, "%s", scope);
  memcpy(c->key, key, SY_SIGV4_KEY_LEN);
  return SY_OK;
}

/* Checks the SigV4 signature for service; replies 403 and returns -1 when it fails. */
int sy__ssm_authenticate(sy_req *r, const char *service) {
  hdr_ctx hc = {r, NULL, 0, 128, 0};
  hc.h = sy_arena_alloc(r->arena, hc.cap * sizeof *hc.h);
  if (!hc.h) return sy__ssm_error(r, 500, "InternalServerError", "out of memory"), -1;
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_header, &hc);
  /* every header is seen by the verifier, or the request is not taken */
  if (hc.overflow)
    return sy__ssm_error(r, 400, "SerializationException", "the request has more than %zu headers", hc.cap), -1;
  key_ctx kc = {r->srv->store, "", 0};
  sy_sigv4_verify_in in = {.http = {.method = r->method,
                                    .path = r->path,
                                    .query = r->raw_query,
                                    .headers = hc.h,
                                    .n_headers = hc.n,
                                    .body = r->body,
                                    .body_len = r->body_len},
                           .key_fn = signing_key_of,
                           .secret_ctx = &kc,
                           .service = service,
                           .now = (int64_t)time(NULL)};
  sy_sigv4_verdict vd;
  char msg[1024];
  sy_rc rc = sy_sigv4_verify(&in, &vd, msg, sizeof msg);
  if (rc == SY_OK && strcmp(vd.region, r->srv->aws_region))
    return sy__ssm_error(r, 403, "InvalidSignatureException",
                         "Credential should be scoped to a valid region, not '%s'. This server's region is '%s' "
                         "(SWITCHYARD_AWS_REGION).",
                         vd.region, r->srv->aws_region),
           -1;
  if (rc == SY_OK) {
    r->actor = sy_arena_strdup(r->arena, kc.name);
    r->scopes = kc.scopes;
    return r->actor ? 0 : -1;
  }
  if (rc != SY_EUNAUTH)
    return sy__ssm_error(r, 400, "ValidationException", "%s", msg[0] ? msg : "malformed request"), -1;
  const char *type = sy_sigv4_result_code(vd.result);
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
 * of runbook 000 names the access key it signs with. */
enum MHD_Result sy__ssm_sts(sy_req *r) {
  static const char want[] = "Action=GetCallerIdentity";
  if (r->body_len < sizeof want - 1 || !memmem(r->body, r->body_len, want, sizeof want - 1)) {
    static const char err[] =
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Switchyard answers only "
        "GetCallerIdentity of STS</Message></Error></ErrorResponse>";
    return sy__queue(r, 400, MHD_create_response_from_buffer(sizeof err - 1, (void *)err, MHD_RESPMEM_PERSISTENT),
                     "text/xml");
  }
  if (sy__ssm_authenticate(r, "sts")) return MHD_YES;
  char rid[37], *xml = malloc(1024);
  if (!xml) return MHD_NO;
  sy__ssm_request_id(rid);
  const sy_snap *s = sy__snap_enter(r->srv->store);
  const char *id = "";
  for (int i = 0; i < s->auth->nkeys; i++)
    if (!strcmp(s->auth->keys[i].name, r->actor)) id = s->auth->keys[i].id;
  int n = snprintf(xml, 1024,
                   "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   "<GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/%s</Arn><UserId>%s</UserId>"
                   "<Account>%s</Account></GetCallerIdentityResult>"
                   "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
                   r->srv->aws_account, r->actor, id, r->srv->aws_account, rid);
  sy__snap_leave(r->srv->store);
  size_t len = n < 0 ? 0 : (size_t)n < 1024 ? (size_t)n : 1023;
  return sy__reply_text(r, 200, xml, len, "text/xml");
}

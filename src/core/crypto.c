/* crypto.c — the hashing helpers: hex, SHA-256, HMAC-SHA-256 (OpenSSL 3). */
#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void sy__hex(const void *data, size_t n, char *out) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *d = data;
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[d[i] >> 4];
    out[2 * i + 1] = hex[d[i] & 15];
  }
  out[2 * n] = 0;
}

/* The SHA-256 implementation, fetched once. OpenSSL 3 otherwise looks the algorithm up
 * (locks, a hash table) on every EVP_sha256() use; the fetched handle is immutable and
 * safe to share between threads. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key; /* one digest context per thread, reused: no allocation per hash */
static void ctx_free(void *ctx) { EVP_MD_CTX_free(ctx); }
static void sha256_fetch(void) {
  sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
  pthread_key_create(&ctx_key, ctx_free);
}

/* This thread's digest context, or NULL when none can be made. */
static EVP_MD_CTX *thread_ctx(void) {
  EVP_MD_CTX *ctx = pthread_getspecific(ctx_key);
  if (!ctx && (ctx = EVP_MD_CTX_new()) && pthread_setspecific(ctx_key, ctx)) {
    EVP_MD_CTX_free(ctx);
    ctx = NULL;
  }
  return ctx;
}

const EVP_MD *sy__sha256_md(void) {
  pthread_once(&sha256_once, sha256_fetch);
  return sha256_md ? sha256_md : EVP_sha256();
}

void sy__sha256(const void *data, size_t len, unsigned char out[32]) {
  unsigned int mdlen = 0;
  const EVP_MD *md = sy__sha256_md();
  EVP_MD_CTX *ctx = thread_ctx();
  if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, len ? data : "", len) ||
      !EVP_DigestFinal_ex(ctx, out, &mdlen))
    EVP_Digest(len ? data : "", len, out, &mdlen, md, NULL);
}

void sy__hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32]) {
  /* RFC 2104 over the fetched digest: the one-shot HMAC() of OpenSSL 3 fetches a MAC and
   * a digest on every call, which costs more than the hashing itself for short inputs */
  unsigned char k[64] = {0}, pad[64], inner[32];
  if (key_len > sizeof k)
    sy__sha256(key, key_len, k);
  else
    memcpy(k, key, key_len);
  const EVP_MD *md = sy__sha256_md();
  EVP_MD_CTX *ctx = thread_ctx();
  unsigned int n = 0;
  if (!ctx) {
    memset(out, 0, 32); /* unequal to any real MAC: a signature check fails closed */
    return;
  }
  for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
  EVP_DigestInit_ex(ctx, md, NULL);
  EVP_DigestUpdate(ctx, pad, sizeof pad);
  EVP_DigestUpdate(ctx, data, len);
  EVP_DigestFinal_ex(ctx, inner, &n);
  for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
  EVP_DigestInit_ex(ctx, md, NULL);
  EVP_DigestUpdate(ctx, pad, sizeof pad);
  EVP_DigestUpdate(ctx, inner, sizeof inner);
  EVP_DigestFinal_ex(ctx, out, &n);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
}

void sy__sha256_hex(const void *data, size_t len, char out[SY_HASH_HEX]) {
  unsigned char md[32];
  sy__sha256(data, len, md);
  sy__hex(md, 32, out);
}

struct sy_hmac_key {
  EVP_MD_CTX *inner, *outer; /* SHA-256 after key ^ ipad, and after key ^ opad */
};

sy_hmac_key *sy__hmac_key_new(const void *key, size_t key_len) {
  unsigned char k[64] = {0}, ipad[64], opad[64];
  const EVP_MD *md = sy__sha256_md();
  sy_hmac_key *h = calloc(1, sizeof *h);
  if (key_len > sizeof k)
    sy__sha256(key, key_len, k);
  else
    memcpy(k, key, key_len);
  for (int i = 0; i < 64; i++) ipad[i] = k[i] ^ 0x36, opad[i] = k[i] ^ 0x5c;
  if (!h || !md || !(h->inner = EVP_MD_CTX_new()) || !(h->outer = EVP_MD_CTX_new()) ||
      !EVP_DigestInit_ex(h->inner, md, NULL) || !EVP_DigestUpdate(h->inner, ipad, sizeof ipad) ||
      !EVP_DigestInit_ex(h->outer, md, NULL) || !EVP_DigestUpdate(h->outer, opad, sizeof opad)) {
    sy__hmac_key_free(h);
    h = NULL;
  }
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
  return h;
}

void sy__hmac_key_free(sy_hmac_key *h) {
  if (!h) return;
  EVP_MD_CTX_free(h->inner); /* the digest's state is wiped as it is freed */
  EVP_MD_CTX_free(h->outer);
  free(h);
}

int sy__hmac_key_mac(const sy_hmac_key *h, const void *data, size_t len, unsigned char out[32]) {
  unsigned char inner[32];
  unsigned int n = 0;
  EVP_MD_CTX *ctx = sy__sha256_md() ? thread_ctx() : NULL; /* fetching makes the thread's context key */
  int ok = ctx && EVP_MD_CTX_copy_ex(ctx, h->inner) && EVP_DigestUpdate(ctx, len ? data : "", len) &&
           EVP_DigestFinal_ex(ctx, inner, &n) && EVP_MD_CTX_copy_ex(ctx, h->outer) &&
           EVP_DigestUpdate(ctx, inner, sizeof inner) && EVP_DigestFinal_ex(ctx, out, &n);
  OPENSSL_cleanse(inner, sizeof inner);
  return ok ? 0 : -1;
}

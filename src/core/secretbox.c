/* secretbox.c — AES-256-GCM seal and open of SecureString values, with a versioned blob layout. */
#include "core/secretbox.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>

#define HEADER_LEN (1 + SY_SECRETBOX_NONCE_LEN) /* version byte and nonce */

/* Sets up ctx for AES-256-GCM with key and nonce and feeds the aad: the version
 * byte first, then the caller's. enc is 1 to seal, 0 to open. */
static sy_rc gcm_begin(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *key, const unsigned char *header,
                       const void *aad, size_t aad_len) {
  int n = 0;
  if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SY_SECRETBOX_NONCE_LEN, NULL) != 1 ||
      EVP_CipherInit_ex(ctx, NULL, NULL, key, header + 1, enc) != 1 || EVP_CipherUpdate(ctx, NULL, &n, header, 1) != 1)
    return SY_EINTERNAL;
  if (aad_len && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) return SY_EINTERNAL;
  return SY_OK;
}

sy_rc sy__secretbox_seal(const unsigned char key[SY_SECRETBOX_KEY_LEN], const void *pt, size_t pt_len, const void *aad,
                         size_t aad_len, unsigned char *out, size_t out_cap, size_t *out_len) {
  EVP_CIPHER_CTX *ctx = NULL;
  unsigned char *ct;
  int n = 0, fin = 0;
  sy_rc rc = SY_EINVAL;

  if (!key || (!pt && pt_len) || (!aad && aad_len) || !out || !out_len) goto out;
  *out_len = 0;
  rc = SY_ETOOLARGE;
  if (pt_len > SY_SECRETBOX_MAX_PLAINTEXT || aad_len > SY_SECRETBOX_MAX_PLAINTEXT ||
      out_cap < SY_SECRETBOX_SEALED_LEN(pt_len))
    goto out;
  rc = SY_EINTERNAL;
  out[0] = SY_SECRETBOX_VERSION;
  if (RAND_bytes(out + 1, SY_SECRETBOX_NONCE_LEN) != 1) goto out;
  ctx = EVP_CIPHER_CTX_new();
  if (!ctx) {
    rc = SY_ENOMEM;
    goto out;
  }
  rc = gcm_begin(ctx, 1, key, out, aad, aad_len);
  if (rc) goto out;
  rc = SY_EINTERNAL;
  ct = out + HEADER_LEN;
  if (pt_len && EVP_EncryptUpdate(ctx, ct, &n, pt, (int)pt_len) != 1) goto out;
  if (EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 || (size_t)n + (size_t)fin != pt_len) goto out;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SY_SECRETBOX_TAG_LEN, ct + pt_len) != 1) goto out;
  *out_len = SY_SECRETBOX_SEALED_LEN(pt_len);
  rc = SY_OK;
out:
  EVP_CIPHER_CTX_free(ctx);
  return rc;
}

sy_rc sy__secretbox_open(const unsigned char key[SY_SECRETBOX_KEY_LEN], const void *blob, size_t blob_len,
                         const void *aad, size_t aad_len, unsigned char *out, size_t out_cap, size_t *out_len) {
  EVP_CIPHER_CTX *ctx = NULL;
  const unsigned char *b = blob;
  unsigned char tag[SY_SECRETBOX_TAG_LEN], spare[SY_SECRETBOX_TAG_LEN];
  size_t ct_len = 0;
  int n = 0, fin = 0;
  sy_rc rc = SY_EINVAL;

  if (!key || !blob || (!aad && aad_len) || !out_len) goto out;
  *out_len = 0;
  if (blob_len < SY_SECRETBOX_OVERHEAD || b[0] != SY_SECRETBOX_VERSION) goto out;
  ct_len = blob_len - SY_SECRETBOX_OVERHEAD;
  rc = SY_ETOOLARGE;
  if (ct_len > SY_SECRETBOX_MAX_PLAINTEXT || aad_len > SY_SECRETBOX_MAX_PLAINTEXT || out_cap < ct_len ||
      (ct_len && !out))
    goto out;
  ctx = EVP_CIPHER_CTX_new();
  if (!ctx) {
    rc = SY_ENOMEM;
    goto out;
  }
  rc = gcm_begin(ctx, 0, key, b, aad, aad_len);
  if (rc) goto out;
  rc = SY_EINTERNAL;
  if (ct_len && EVP_DecryptUpdate(ctx, out, &n, b + HEADER_LEN, (int)ct_len) != 1) goto wipe;
  /* GCM_SET_TAG wants a writable pointer in OpenSSL's signature; copy the tag. */
  for (size_t i = 0; i < SY_SECRETBOX_TAG_LEN; i++) tag[i] = b[HEADER_LEN + ct_len + i];
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SY_SECRETBOX_TAG_LEN, tag) != 1) goto wipe;
  rc = SY_EINVAL;
  if (EVP_DecryptFinal_ex(ctx, out ? out + n : spare, &fin) != 1) goto wipe;
  *out_len = ct_len;
  rc = SY_OK;
  goto out;
wipe:
  /* Decryption writes plaintext before the tag is checked: never leave it behind. */
  if (out && out_cap) OPENSSL_cleanse(out, ct_len < out_cap ? ct_len : out_cap);
out:
  EVP_CIPHER_CTX_free(ctx);
  return rc;
}

sy_rc sy__secretbox_aad(const char *name, int64_t version, char *out, size_t cap, size_t *len) {
  int k;
  if (!name || !out || !cap || !len) return SY_EINVAL;
  *len = 0;
  k = snprintf(out, cap, "%s:%" PRId64, name, version);
  if (k < 0 || (size_t)k >= cap) {
    out[0] = 0;
    return SY_ETOOLARGE;
  }
  *len = (size_t)k;
  return SY_OK;
}

/* secrets.c — sealed values: the data key of a KMS key id, sealing and opening SecureString
 * values under it, their audit digests, and the secrets of access keys. Everything sealed
 * is bound to what it belongs to (name:version, accesskey:<id>), and plaintext is wiped
 * when it is freed. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/secretbox.h"
#include "store/store_int.h"

void sy__store_data_key(const sy_store *st, const char *key_id, unsigned char out[32]) {
  static const char info[] = "switchyard kms data key\n";
  if (!key_id || !*key_id || !strcmp(key_id, "alias/aws/ssm")) {
    memcpy(out, st->master_key, 32);
    return;
  }
  char in[sizeof info + SY_KEY_ID_MAX];
  /* a longer key id is refused before it gets here */
  int n = snprintf(in, sizeof in, "%s%.*s", info, SY_KEY_ID_MAX, key_id);
  sy__hmac_sha256(st->master_key, 32, in, n > 0 ? (size_t)n : 0, out);
  OPENSSL_cleanse(in, sizeof in);
}

sy_rc sy__store_box(const sy_store *st, int seal, const char *name, const sy_ver *v, unsigned char **out, size_t *n) {
  char aad[SY_SECRETBOX_AAD_MAX];
  size_t aad_len = 0;
  *out = NULL;
  *n = 0;
  sy_rc rc = sy__secretbox_aad(name, v->version, aad, sizeof aad, &aad_len);
  if (rc) return rc;
  size_t cap = (seal ? SY_SECRETBOX_SEALED_LEN(v->value_len) : SY_SECRETBOX_OPENED_LEN(v->value_len)) + 1;
  unsigned char *buf = malloc(cap), key[32];
  if (!buf) return SY_ENOMEM;
  sy__store_data_key(st, v->key_id, key);
  rc = seal ? sy__secretbox_seal(key, v->value, v->value_len, aad, aad_len, buf, cap - 1, n)
            : sy__secretbox_open(key, v->value, v->value_len, aad, aad_len, buf, cap - 1, n);
  OPENSSL_cleanse(key, sizeof key);
  if (rc) {
    free(buf);
    return rc;
  }
  buf[*n] = 0;
  *out = buf;
  return SY_OK;
}

sy_rc sy__store_reveal(sy_store *st, const char *name, const sy_ver *v, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  if (v->kind != SY_KIND_SECURESTRING) {
    char *c = malloc(v->value_len + 1);
    if (!c) return SY_ENOMEM;
    memcpy(c, v->value, v->value_len);
    c[v->value_len] = 0;
    *out = c;
    *len = v->value_len;
    return SY_OK;
  }
  unsigned char *pt = NULL;
  size_t n = 0;
  sy_rc rc = sy__store_box(st, 0, name, v, &pt, &n);
  if (rc) {
    /* a sealed value that does not open: another master key, or damaged data */
    sy__store_log(st, "error", "cannot open a SecureString value",
                  json_pack("{ss sI ss}", "name", name, "version", (json_int_t)v->version, "status", sy_strerror(rc)));
    return rc;
  }
  pt[n] = 0;
  *out = (char *)pt;
  *len = n;
  return SY_OK;
}

void sy__reveal_free(char *p, size_t len) {
  if (!p) return;
  OPENSSL_cleanse(p, len);
  free(p);
}

sy_rc sy__store_digest(sy_store *st, const char *name, const sy_ver *v, char out[SY_HASH_HEX]) {
  if (v->kind != SY_KIND_SECURESTRING) {
    sy__sha256_hex(v->value, v->value_len, out);
    return SY_OK;
  }
  char *pt = NULL;
  size_t n = 0;
  sy_rc rc = sy__store_reveal(st, name, v, &pt, &n);
  if (rc) return rc;
  unsigned char mac[32];
  sy__hmac_sha256(st->digest_key, sizeof st->digest_key, pt, n, mac);
  sy__reveal_free(pt, n);
  sy__hex(mac, sizeof mac, out);
  return SY_OK;
}

sy_rc sy__store_akey_secret(sy_store *st, const char *id, char *secret, size_t cap, size_t *len, char *name,
                            size_t name_cap, unsigned *scopes) {
  unsigned char blob[SY_SECRETBOX_SEALED_LEN(SY_SECRETBOX_KEY_LEN * 8)];
  size_t blen = 0;
  const sy_snap *s = sy__snap_enter(st);
  const sy_akey *k = sy__snap_akey(s, id);
  if (k && k->sealed_len <= sizeof blob) {
    memcpy(blob, k->sealed, k->sealed_len);
    blen = k->sealed_len;
    if (name) snprintf(name, name_cap, "%s", k->name);
    if (scopes) *scopes = k->scopes;
  }
  sy__snap_leave(st);
  if (!blen) return SY_ENOTFOUND;
  char aad[80];
  size_t aad_len = (size_t)snprintf(aad, sizeof aad, "accesskey:%s", id), n = 0;
  if (cap < 1) return SY_ETOOLARGE;
  sy_rc rc = sy__secretbox_open(st->master_key, blob, blen, aad, aad_len, (unsigned char *)secret, cap - 1, &n);
  if (rc) {
    sy__store_log(st, "error", "cannot open the secret of an access key",
                  json_pack("{ss ss}", "access_key_id", id, "status", sy_strerror(rc)));
    return rc;
  }
  secret[n] = 0;
  *len = n;
  return SY_OK;
}

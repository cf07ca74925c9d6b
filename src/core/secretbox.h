/* secretbox.h — AES-256-GCM sealing of SecureString values under the master key (pure: no I/O). */
#ifndef SY_CORE_SECRETBOX_H
#define SY_CORE_SECRETBOX_H

#include <stddef.h>
#include <stdint.h>

#include "core/rc.h"

#define SY_SECRETBOX_KEY_LEN 32
#define SY_SECRETBOX_VERSION 1
#define SY_SECRETBOX_NONCE_LEN 12
#define SY_SECRETBOX_TAG_LEN 16
#define SY_SECRETBOX_OVERHEAD (1 + SY_SECRETBOX_NONCE_LEN + SY_SECRETBOX_TAG_LEN)
#define SY_SECRETBOX_MAX_PLAINTEXT (1u << 20) /* hard cap on one value, bytes */
#define SY_SECRETBOX_AAD_MAX 2100             /* enough for a 2048-byte name, ':' and a version */

/* Blob size for n bytes of plaintext, and plaintext size of an n-byte blob. */
#define SY_SECRETBOX_SEALED_LEN(n) ((size_t)(n) + SY_SECRETBOX_OVERHEAD)
#define SY_SECRETBOX_OPENED_LEN(n) ((size_t)(n) > SY_SECRETBOX_OVERHEAD ? (size_t)(n)-SY_SECRETBOX_OVERHEAD : 0)

/* Seals pt under key: writes the blob
 *   version byte 1 | 12-byte random nonce | ciphertext (pt_len bytes) | 16-byte tag
 * into out (out_cap bytes) and its length, SY_SECRETBOX_SEALED_LEN(pt_len), into
 * *out_len. A fresh nonce comes from RAND_bytes on every call. aad is authenticated,
 * not stored: pass the same aad to open (use sy__secretbox_aad). The version byte is
 * authenticated too. out must not overlap pt. Returns SY_OK; SY_EINVAL (NULL
 * arguments); SY_ETOOLARGE (pt over SY_SECRETBOX_MAX_PLAINTEXT, or out_cap too
 * small); SY_ENOMEM; SY_EINTERNAL (RNG or cipher failure). */
sy_rc sy__secretbox_seal(const unsigned char key[SY_SECRETBOX_KEY_LEN], const void *pt, size_t pt_len, const void *aad,
                         size_t aad_len, unsigned char *out, size_t out_cap, size_t *out_len);

/* Opens a blob made by sy__secretbox_seal with the same key and aad: writes the
 * plaintext into out (out_cap bytes, at least SY_SECRETBOX_OPENED_LEN(blob_len);
 * out may be NULL when that is 0) and its length into *out_len. out must not
 * overlap blob. Returns SY_OK; SY_EINVAL when the blob is short, of an unknown
 * version, or fails authentication (wrong key, wrong aad, any byte changed) — out
 * is wiped then; SY_ETOOLARGE when out_cap is too small; SY_ENOMEM; SY_EINTERNAL. */
sy_rc sy__secretbox_open(const unsigned char key[SY_SECRETBOX_KEY_LEN], const void *blob, size_t blob_len,
                         const void *aad, size_t aad_len, unsigned char *out, size_t out_cap, size_t *out_len);

/* The aad that binds a blob to one parameter version: "<name>:<version>", written
 * NUL-terminated into out (cap bytes, SY_SECRETBOX_AAD_MAX is enough for any valid
 * name) with its length (without the NUL) in *len. Returns SY_OK, SY_EINVAL (NULL
 * name), or SY_ETOOLARGE. */
sy_rc sy__secretbox_aad(const char *name, int64_t version, char *out, size_t cap, size_t *len);

#endif

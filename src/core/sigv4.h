/* sigv4.h — AWS Signature Version 4: verify a request, or sign one (pure: no I/O). */
#ifndef SY_CORE_SIGV4_H
#define SY_CORE_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "core/rc.h"

#define SY_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SY_SIGV4_AKID_MAX 128          /* longest access key id accepted */
#define SY_SIGV4_REGION_MAX 64         /* longest region accepted */
#define SY_SIGV4_SECRET_MAX 128        /* longest secret access key accepted */
#define SY_SIGV4_SIGNED_HEADERS_MAX 64 /* most names in SignedHeaders */
#define SY_SIGV4_CANON_MAX (1u << 20)  /* hard cap on a canonical request, bytes */
#define SY_SIGV4_DATE_LEN 16           /* "20150830T123600Z" */
#define SY_SIGV4_WINDOW 300            /* allowed clock skew either way, seconds */
#define SY_SIGV4_KEY_LEN 32            /* a derived signing key */

/* One header as received. Strings are borrowed; the name may be in any case, and a
 * name may repeat (the values are joined with ',' in the order given). */
typedef struct sy_sigv4_header {
  const char *name;
  const char *value; /* NULL reads as "" */
} sy_sigv4_header;

/* The HTTP message being signed or verified. Everything is borrowed. */
typedef struct sy_sigv4_http {
  const char *method; /* "POST" */
  /* The path exactly as on the request line, before any percent-decoding and
   * without the query: "/" for SSM. It is normalised (dot segments removed, empty
   * segments collapsed, RFC 3986) and every byte outside A-Za-z0-9-._~ is
   * percent-encoded, including '%' itself: the non-S3 "double encoding" rule. */
  const char *path;
  /* The raw query after '?', NULL or "" for none. Pairs are percent-decoded ('+'
   * stays a literal '+'), re-encoded, and sorted by key then value. */
  const char *query;
  const sy_sigv4_header *headers;
  size_t n_headers;
  const void *body; /* may be NULL when body_len is 0 */
  size_t body_len;
} sy_sigv4_http;

/* Looks up the secret access key of access_key_id (NUL-terminated, at most
 * SY_SIGV4_AKID_MAX bytes of [A-Za-z0-9._-]). Writes the secret (no NUL needed) into
 * secret[0..cap) and its length into *len. Returns SY_OK; SY_ENOTFOUND (or
 * SY_EUNAUTH) for an unknown key, which the verifier reports as
 * SY_SIGV4_UNKNOWN_KEY; any other status aborts verification with that status. */
typedef sy_rc (*sy_sigv4_secret_fn)(void *ctx, const char *access_key_id, char *secret, size_t cap, size_t *len);

/* What to verify. The four header fields may be NULL: each is then looked up
 * (case-insensitively, first occurrence) in http.headers. */
typedef struct sy_sigv4_verify_in {
  sy_sigv4_http http;
  const char *authorization;  /* the Authorization header value */
  const char *amz_date;       /* x-amz-date: "YYYYMMDDTHHMMSSZ" */
  const char *date;           /* Date (RFC 1123), used only without x-amz-date */
  const char *content_sha256; /* x-amz-content-sha256; optional, checked against the body */
  sy_sigv4_secret_fn secret_fn;
  /* Instead of secret_fn: hands over the derived signing key of the scope (see
   * sy__sigv4_signing_key), which a caller may cache per key and day: the four HMACs of
   * the derivation are most of a verification's cost. SY_ENOTFOUND: unknown key. */
  sy_rc (*key_fn)(void *ctx, const char *access_key_id, const char *date8, const char *region, const char *service,
                  unsigned char key[SY_SIGV4_KEY_LEN]);
  /* Instead of either: computes the signature itself, the HMAC of the string to sign
   * (sts, sts_len bytes) under the scope's signing key, into mac, so that the key never
   * leaves its holder, which may keep it ready for many requests. SY_ENOTFOUND: unknown
   * key; any other failure aborts verification with that status. */
  sy_rc (*mac_fn)(void *ctx, const char *access_key_id, const char *date8, const char *region, const char *service,
                  const void *sts, size_t sts_len, unsigned char mac[SY_SIGV4_KEY_LEN]);
  void *secret_ctx;    /* passed to secret_fn, key_fn or mac_fn */
  const char *service; /* the service the credential must be scoped to: "ssm" */
  int64_t now;         /* the time now, epoch seconds (injected clock) */
} sy_sigv4_verify_in;

typedef enum sy_sigv4_result {
  SY_SIGV4_OK = 0,
  SY_SIGV4_MISSING_AUTH,  /* no Authorization header */
  SY_SIGV4_MALFORMED,     /* the header, the date or x-amz-content-sha256 is malformed; see part */
  SY_SIGV4_UNKNOWN_KEY,   /* the access key id is not known */
  SY_SIGV4_MISMATCH,      /* the signature does not match */
  SY_SIGV4_EXPIRED,       /* the request date is more than SY_SIGV4_WINDOW before now */
  SY_SIGV4_NOT_YET_VALID, /* the request date is more than SY_SIGV4_WINDOW after now */
  SY_SIGV4_BODY_MISMATCH  /* x-amz-content-sha256 is not the SHA-256 of the body */
} sy_sigv4_result;

/* Which part of the request a SY_SIGV4_MALFORMED refusal is about. */
typedef enum sy_sigv4_part {
  SY_SIGV4_PART_NONE = 0,
  SY_SIGV4_PART_AUTHORIZATION, /* the header's overall syntax */
  SY_SIGV4_PART_ALGORITHM,
  SY_SIGV4_PART_CREDENTIAL, /* includes the scope: date, service, terminator */
  SY_SIGV4_PART_SIGNED_HEADERS,
  SY_SIGV4_PART_SIGNATURE,
  SY_SIGV4_PART_DATE, /* x-amz-date / Date */
  SY_SIGV4_PART_CONTENT_SHA256
} sy_sigv4_part;

/* The outcome of a verification. access_key_id and region are filled as soon as
 * the Credential is parsed, so they are there to log even on most refusals
 * ("" otherwise). */
typedef struct sy_sigv4_verdict {
  sy_sigv4_result result;
  sy_sigv4_part part; /* SY_SIGV4_PART_NONE unless result is SY_SIGV4_MALFORMED */
  char access_key_id[SY_SIGV4_AKID_MAX + 1];
  char region[SY_SIGV4_REGION_MAX + 1];
} sy_sigv4_verdict;

/* Verifies in->http against its Authorization header. Returns SY_OK when the
 * signature is good (out->result == SY_SIGV4_OK); SY_EUNAUTH when the request is
 * refused, with the reason in *out and a precise message in msg (AWS's wording
 * where AWS has one, e.g. "Signature expired: 20261122T190000Z is now earlier than
 * 20261122T190500Z (20261122T191000Z - 5 min.)"); otherwise an internal failure:
 * SY_EINVAL (bad arguments), SY_ENOMEM, SY_ETOOLARGE (the canonical request would pass
 * SY_SIGV4_CANON_MAX: nothing is checked, and msg says so), SY_EINTERNAL, or whatever secret_fn, key_fn or mac_fn
 * returned. msg may be NULL; when not, it is always NUL-terminated, truncated to msg_cap. The signature is compared in
 * constant time and the secret is wiped before returning. */
sy_rc sy__sigv4_verify(const sy_sigv4_verify_in *in, sy_sigv4_verdict *out, char *msg, size_t msg_cap);

/* What to sign. */
typedef struct sy_sigv4_sign_in {
  sy_sigv4_http http; /* must carry Host and X-Amz-Date headers to be verifiable */
  const char *access_key_id;
  const char *secret;
  const char *region;
  const char *service;
  const char *amz_date;       /* "YYYYMMDDTHHMMSSZ"; NULL: the x-amz-date header */
  const char *signed_headers; /* "host;x-amz-date"; NULL: every header in http.headers */
} sy_sigv4_sign_in;

/* The signing key of a scope: HMAC chain over "AWS4"+secret, date8 (YYYYMMDD), region,
 * service and "aws4_request". */
sy_rc sy__sigv4_signing_key(const char *secret, size_t secret_len, const char *date8, const char *region,
                            const char *service, unsigned char key[SY_SIGV4_KEY_LEN]);

/* Signs in->http and writes the Authorization header value ("AWS4-HMAC-SHA256
 * Credential=..., SignedHeaders=..., Signature=...") into authz. The payload hash is
 * always the SHA-256 of the body. Returns SY_OK; SY_EINVAL for a missing field, an
 * invalid date or header name, or a signed header the request lacks; SY_ETOOLARGE
 * when authz (cap bytes) is too small; SY_ENOMEM; SY_EINTERNAL. */
sy_rc sy__sigv4_sign(const sy_sigv4_sign_in *in, char *authz, size_t cap);

/* Writes the canonical request of http for the given SignedHeaders value
 * ("host;x-amz-date") into out (cap bytes, NUL-terminated) and its length into
 * *len. For tests and for debugging clients. Returns SY_OK, SY_EINVAL (bad
 * signed_headers or a signed header the request lacks), SY_ETOOLARGE, SY_ENOMEM. */
sy_rc sy__sigv4_canonical_request(const sy_sigv4_http *http, const char *signed_headers, char *out, size_t cap,
                                  size_t *len);

/* Writes the string to sign for a canonical request into out (cap bytes,
 * NUL-terminated). Returns SY_OK, SY_EINVAL (bad date or scope), SY_ETOOLARGE. */
sy_rc sy__sigv4_string_to_sign(const char *amz_date, const char *region, const char *service, const char *creq,
                               size_t creq_len, char *out, size_t cap);

/* Formats epoch seconds t as "YYYYMMDDTHHMMSSZ". Returns SY_OK, or SY_EINVAL
 * outside years 0000-9999. */
sy_rc sy__sigv4_format_date(int64_t t, char out[SY_SIGV4_DATE_LEN + 1]);

/* The AWS error type a refusal maps to ("InvalidSignatureException",
 * "UnrecognizedClientException", "IncompleteSignatureException",
 * "MissingAuthenticationTokenException"); "" for SY_SIGV4_OK. Never NULL. */
const char *sy__sigv4_result_code(sy_sigv4_result result);

/* Words for a part ("Credential", "SignedHeaders", ...). Never NULL. */
const char *sy__sigv4_part_name(sy_sigv4_part part);

#endif

/* test_secretbox.c — AES-256-GCM sealing of SecureString values, and the master key file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/secretbox.h"
#include "store/masterkey.h"

static const unsigned char key_a[SY_SECRETBOX_KEY_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                                          12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                                          23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* Whether needle occurs in hay (memmem is a GNU extension). */
static int contains(const void *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp((const char *)hay + i, needle, k) == 0) return 1;
  return 0;
}

/* Seals pt under key_a with aad "name:version" into a malloc'd blob. */
static unsigned char *seal(const char *pt, size_t pt_len, const char *name, int64_t version, size_t *blob_len) {
  char aad[SY_SECRETBOX_AAD_MAX];
  size_t aad_len = 0;
  unsigned char *blob = malloc(SY_SECRETBOX_SEALED_LEN(pt_len));
  assert_non_null(blob);
  assert_int_equal(sy__secretbox_aad(name, version, aad, sizeof aad, &aad_len), SY_OK);
  assert_int_equal(sy__secretbox_seal(key_a, pt, pt_len, aad, aad_len, blob, SY_SECRETBOX_SEALED_LEN(pt_len), blob_len),
                   SY_OK);
  assert_int_equal(*blob_len, SY_SECRETBOX_SEALED_LEN(pt_len));
  return blob;
}

/* Opens blob under key with aad "name:version"; returns the status, the plaintext in out. */
static sy_rc open_blob(const unsigned char *key, const unsigned char *blob, size_t blob_len, const char *name,
                       int64_t version, unsigned char *out, size_t cap, size_t *out_len) {
  char aad[SY_SECRETBOX_AAD_MAX];
  size_t aad_len = 0;
  assert_int_equal(sy__secretbox_aad(name, version, aad, sizeof aad, &aad_len), SY_OK);
  return sy__secretbox_open(key, blob, blob_len, aad, aad_len, out, cap, out_len);
}

static void test_round_trip(void **state) {
  const char *pt = "hunter2: the database password";
  unsigned char out[64];
  size_t blob_len = 0, out_len = 0;
  unsigned char *blob;
  (void)state;
  blob = seal(pt, strlen(pt), "/app/db/password", 3, &blob_len);
  assert_int_equal(blob[0], SY_SECRETBOX_VERSION);
  /* The ciphertext does not carry the plaintext in the clear. */
  assert_false(contains(blob, blob_len, "hunter2"));
  assert_int_equal(open_blob(key_a, blob, blob_len, "/app/db/password", 3, out, sizeof out, &out_len), SY_OK);
  assert_int_equal(out_len, strlen(pt));
  assert_memory_equal(out, pt, out_len);
  free(blob);

  /* The empty value. */
  blob = seal("", 0, "/empty", 1, &blob_len);
  assert_int_equal(blob_len, SY_SECRETBOX_OVERHEAD);
  assert_int_equal(open_blob(key_a, blob, blob_len, "/empty", 1, NULL, 0, &out_len), SY_OK);
  assert_int_equal(out_len, 0);
  free(blob);
}

static void test_tamper_each_region(void **state) {
  const char *pt = "s3cr3t value";
  size_t blob_len = 0, out_len = 99;
  unsigned char *blob, out[64];
  /* version byte, first/last nonce byte, first/last ciphertext byte, first/last tag byte */
  size_t where[7];
  (void)state;
  blob = seal(pt, strlen(pt), "/p", 1, &blob_len);
  where[0] = 0;
  where[1] = 1;
  where[2] = SY_SECRETBOX_NONCE_LEN;
  where[3] = 1 + SY_SECRETBOX_NONCE_LEN;
  where[4] = blob_len - SY_SECRETBOX_TAG_LEN - 1;
  where[5] = blob_len - SY_SECRETBOX_TAG_LEN;
  where[6] = blob_len - 1;
  for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
    blob[where[i]] ^= 0x01;
    memset(out, 0xAA, sizeof out);
    assert_int_equal(open_blob(key_a, blob, blob_len, "/p", 1, out, sizeof out, &out_len), SY_EINVAL);
    assert_int_equal(out_len, 0);
    /* Nothing of the plaintext is left behind in out. */
    assert_false(contains(out, sizeof out, "s3cr3t"));
    blob[where[i]] ^= 0x01;
  }
  /* Truncated blobs. */
  assert_int_equal(open_blob(key_a, blob, blob_len - 1, "/p", 1, out, sizeof out, &out_len), SY_EINVAL);
  assert_int_equal(open_blob(key_a, blob, SY_SECRETBOX_OVERHEAD - 1, "/p", 1, out, sizeof out, &out_len), SY_EINVAL);
  /* Untouched it still opens. */
  assert_int_equal(open_blob(key_a, blob, blob_len, "/p", 1, out, sizeof out, &out_len), SY_OK);
  free(blob);
}

static void test_wrong_aad_or_key(void **state) {
  const char *pt = "value";
  size_t blob_len = 0, out_len = 0;
  unsigned char *blob, out[32], key_b[SY_SECRETBOX_KEY_LEN];
  (void)state;
  blob = seal(pt, strlen(pt), "/a/b", 2, &blob_len);
  /* Moved to another parameter, or to another version of the same one. */
  assert_int_equal(open_blob(key_a, blob, blob_len, "/a/c", 2, out, sizeof out, &out_len), SY_EINVAL);
  assert_int_equal(open_blob(key_a, blob, blob_len, "/a/b", 1, out, sizeof out, &out_len), SY_EINVAL);
  assert_int_equal(sy__secretbox_open(key_a, blob, blob_len, NULL, 0, out, sizeof out, &out_len), SY_EINVAL);
  memcpy(key_b, key_a, sizeof key_b);
  key_b[31] ^= 0x80;
  assert_int_equal(open_blob(key_b, blob, blob_len, "/a/b", 2, out, sizeof out, &out_len), SY_EINVAL);
  assert_int_equal(open_blob(key_a, blob, blob_len, "/a/b", 2, out, sizeof out, &out_len), SY_OK);
  free(blob);
}

static void test_nonces_differ(void **state) {
  const char *pt = "same plaintext";
  size_t la = 0, lb = 0;
  unsigned char *a, *b;
  (void)state;
  a = seal(pt, strlen(pt), "/n", 1, &la);
  b = seal(pt, strlen(pt), "/n", 1, &lb);
  assert_int_equal(la, lb);
  assert_memory_not_equal(a + 1, b + 1, SY_SECRETBOX_NONCE_LEN);
  assert_memory_not_equal(a + 1 + SY_SECRETBOX_NONCE_LEN, b + 1 + SY_SECRETBOX_NONCE_LEN,
                          la - 1 - SY_SECRETBOX_NONCE_LEN);
  free(a);
  free(b);
}

static void test_large_value(void **state) {
  enum { N = 8192 };
  char *pt = malloc(N);
  unsigned char *blob, *out = malloc(N);
  size_t blob_len = 0, out_len = 0;
  (void)state;
  assert_non_null(pt);
  assert_non_null(out);
  for (size_t i = 0; i < N; i++) pt[i] = (char)(i * 31 + 7);
  blob = seal(pt, N, "/big", 1, &blob_len);
  assert_int_equal(blob_len, N + SY_SECRETBOX_OVERHEAD);
  assert_int_equal(open_blob(key_a, blob, blob_len, "/big", 1, out, N, &out_len), SY_OK);
  assert_int_equal(out_len, N);
  assert_memory_equal(out, pt, N);
  /* An output buffer one byte short is refused, not overrun. */
  assert_int_equal(open_blob(key_a, blob, blob_len, "/big", 1, out, N - 1, &out_len), SY_ETOOLARGE);
  free(blob);
  free(pt);
  free(out);
}

static void test_bounds(void **state) {
  unsigned char blob[SY_SECRETBOX_OVERHEAD + 4];
  char aad[8];
  size_t n = 0;
  (void)state;
  /* Too small an output buffer for the blob. */
  assert_int_equal(sy__secretbox_seal(key_a, "12345", 5, NULL, 0, blob, sizeof blob, &n), SY_ETOOLARGE);
  assert_int_equal(sy__secretbox_seal(key_a, "1234", 4, NULL, 0, blob, sizeof blob, &n), SY_OK);
  assert_int_equal(n, sizeof blob);
  assert_int_equal(sy__secretbox_seal(NULL, "1234", 4, NULL, 0, blob, sizeof blob, &n), SY_EINVAL);
  assert_int_equal(sy__secretbox_seal(key_a, NULL, 4, NULL, 0, blob, sizeof blob, &n), SY_EINVAL);
  /* Unknown version byte. */
  blob[0] = 2;
  assert_int_equal(sy__secretbox_open(key_a, blob, sizeof blob, NULL, 0, blob, 0, &n), SY_EINVAL);
  /* The aad helper is bounded. */
  assert_int_equal(sy__secretbox_aad("/x", 12, aad, sizeof aad, &n), SY_OK);
  assert_string_equal(aad, "/x:12");
  assert_int_equal(n, 5);
  assert_int_equal(sy__secretbox_aad("/longer-name", 1, aad, sizeof aad, &n), SY_ETOOLARGE);
  assert_string_equal(aad, "");
}

/* ---- master key file ---- */

static char tmpdir[64];

static int make_tmpdir(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/sy-masterkey-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state) {
  char cmd[128];
  (void)state;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static void test_masterkey_create_then_load(void **state) {
  char path[128];
  unsigned char k1[SY_SECRETBOX_KEY_LEN], k2[SY_SECRETBOX_KEY_LEN], zero[SY_SECRETBOX_KEY_LEN] = {0};
  struct stat st;
  int created = -1;
  (void)state;
  snprintf(path, sizeof path, "%s/master.key", tmpdir);
  assert_int_equal(sy_masterkey_load(path, k1), SY_ENOTFOUND);
  assert_int_equal(sy_masterkey_load_or_create(path, k1, &created), SY_OK);
  assert_int_equal(created, 1);
  assert_memory_not_equal(k1, zero, sizeof zero);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, 65); /* 64 hex digits and a newline */
  /* A second call loads the same key and does not recreate it. */
  assert_int_equal(sy_masterkey_load_or_create(path, k2, &created), SY_OK);
  assert_int_equal(created, 0);
  assert_memory_equal(k1, k2, sizeof k1);
  /* No temporary files left beside it. */
  {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", tmpdir);
    assert_int_equal(system(cmd), 0);
  }
  unlink(path);
}

static void test_masterkey_formats(void **state) {
  char path[128];
  unsigned char raw[SY_SECRETBOX_KEY_LEN], k[SY_SECRETBOX_KEY_LEN];
  const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
  char text[80];
  int created = -1;
  (void)state;
  snprintf(path, sizeof path, "%s/k", tmpdir);
  for (int i = 0; i < SY_SECRETBOX_KEY_LEN; i++) raw[i] = (unsigned char)i;

  write_file(path, raw, sizeof raw); /* 32 raw bytes */
  assert_int_equal(sy_masterkey_load(path, k), SY_OK);
  assert_memory_equal(k, raw, sizeof raw);

  write_file(path, hex, 64); /* 64 hex digits, no newline */
  assert_int_equal(sy_masterkey_load(path, k), SY_OK);
  assert_memory_equal(k, raw, sizeof raw);

  snprintf(text, sizeof text, "%s\r\n", hex);
  write_file(path, text, strlen(text));
  assert_int_equal(sy_masterkey_load_or_create(path, k, &created), SY_OK);
  assert_int_equal(created, 0);
  assert_memory_equal(k, raw, sizeof raw);

  /* Malformed files are refused and never replaced. */
  write_file(path, hex, 63);
  assert_int_equal(sy_masterkey_load_or_create(path, k, &created), SY_EINVAL);
  assert_int_equal(created, 0);
  snprintf(text, sizeof text, "%.63sg\n", hex);
  write_file(path, text, strlen(text));
  assert_int_equal(sy_masterkey_load(path, k), SY_EINVAL);
  {
    char big[SY_MASTERKEY_FILE_MAX + 10];
    memset(big, 'a', sizeof big);
    write_file(path, big, sizeof big);
    assert_int_equal(sy_masterkey_load(path, k), SY_EINVAL);
  }
  assert_int_equal(sy_masterkey_load(tmpdir, k), SY_EINVAL); /* a directory */
  unlink(path);
}

/* A key from the file seals and opens. */
static void test_masterkey_seals(void **state) {
  char path[128];
  unsigned char k[SY_SECRETBOX_KEY_LEN], blob[SY_SECRETBOX_SEALED_LEN(5)], out[5];
  size_t n = 0;
  (void)state;
  snprintf(path, sizeof path, "%s/seal.key", tmpdir);
  assert_int_equal(sy_masterkey_load_or_create(path, k, NULL), SY_OK);
  assert_int_equal(sy__secretbox_seal(k, "hello", 5, "/h:1", 4, blob, sizeof blob, &n), SY_OK);
  assert_int_equal(sy_masterkey_load(path, k), SY_OK);
  assert_int_equal(sy__secretbox_open(k, blob, n, "/h:1", 4, out, sizeof out, &n), SY_OK);
  assert_memory_equal(out, "hello", 5);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_tamper_each_region),
      cmocka_unit_test(test_wrong_aad_or_key),
      cmocka_unit_test(test_nonces_differ),
      cmocka_unit_test(test_large_value),
      cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_masterkey_create_then_load),
      cmocka_unit_test(test_masterkey_formats),
      cmocka_unit_test(test_masterkey_seals),
  };
  return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}

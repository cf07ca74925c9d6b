/* test_audit.c — the audit record hash: determinism, field sensitivity, framing, chains, SHA-256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"

#define CHAIN_LEN 5

/* ---- fixtures ---- */

static const char digest_a[] = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
static const char digest_b[] = "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7";
static const char prev_x[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

static sy_audit_rec base_rec(void) {
  sy_audit_rec r = {
      .seq = 7,
      .time = "2026-11-22T19:00:00.123Z",
      .actor = "admin",
      .action = "put",
      .name = "/photoeditor/staging/provider/strategy",
      .old_version = 2,
      .new_version = 3,
      .old_digest = digest_a,
      .new_digest = digest_b,
      .reason = "rollout step 2",
      .detail = "labels=prod,beta",
      .prev_hash = prev_x,
  };
  return r;
}

static void hash_of(const sy_audit_rec *r, char out[SY_HASH_HEX]) {
  memset(out, 'Z', SY_HASH_HEX);
  sy__audit_hash(r, out);
  assert_int_equal(strlen(out), 64);
  assert_int_equal(strspn(out, "0123456789abcdef"), 64);
}

/* The string fields of a record, by name, so tests can walk them. */
typedef struct str_field {
  const char *name;
  size_t off;
} str_field;

static const str_field str_fields[] = {
    {"time", offsetof(sy_audit_rec, time)},
    {"actor", offsetof(sy_audit_rec, actor)},
    {"action", offsetof(sy_audit_rec, action)},
    {"name", offsetof(sy_audit_rec, name)},
    {"old_digest", offsetof(sy_audit_rec, old_digest)},
    {"new_digest", offsetof(sy_audit_rec, new_digest)},
    {"reason", offsetof(sy_audit_rec, reason)},
    {"detail", offsetof(sy_audit_rec, detail)},
    {"prev_hash", offsetof(sy_audit_rec, prev_hash)},
};
#define NSTR (sizeof str_fields / sizeof str_fields[0])

static const char **str_at(sy_audit_rec *r, size_t i) { return (const char **)((char *)r + str_fields[i].off); }

/* ---- SHA-256 ---- */

static void sha256_vectors(void **state) {
  static const struct {
    const char *msg;
    const char *hex;
  } v[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char out[SY_HASH_HEX];
    memset(out, 'Z', sizeof out);
    sy__sha256_hex(v[i].msg, strlen(v[i].msg), out);
    assert_string_equal(out, v[i].hex);
  }
}

/* One million 'a's: the long FIPS 180-2 vector. */
static void sha256_million_a(void **state) {
  char out[SY_HASH_HEX];
  char *m = malloc(1000000);
  assert_non_null(m);
  memset(m, 'a', 1000000);
  sy__sha256_hex(m, 1000000, out);
  assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(m);
}

/* Length, not NUL, ends the input. */
static void sha256_binary(void **state) {
  char a[SY_HASH_HEX], b[SY_HASH_HEX];
  sy__sha256_hex("ab\0c", 4, a);
  sy__sha256_hex("ab", 2, b);
  assert_string_not_equal(a, b);
}

/* ---- HMAC-SHA-256 ---- */

static void hex_of(const unsigned char *mac, char out[SY_HASH_HEX]) { sy__hex(mac, 32, out); }

/* RFC 4231 cases 2 (a short key) and 6 (a key longer than a block, hashed first), one-shot
 * and with a key made ready, used more than once. */
static void hmac_rfc4231(void **state) {
  static const char want2[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  static const char want6[] = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
  static const char data2[] = "what do ya want for nothing?";
  static const char data6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
  unsigned char key6[131], mac[32];
  char hex[SY_HASH_HEX];
  memset(key6, 0xaa, sizeof key6);

  sy__hmac_sha256("Jefe", 4, data2, strlen(data2), mac);
  hex_of(mac, hex);
  assert_string_equal(hex, want2);
  sy__hmac_sha256(key6, sizeof key6, data6, strlen(data6), mac);
  hex_of(mac, hex);
  assert_string_equal(hex, want6);

  sy_hmac_key *k2 = sy__hmac_key_new("Jefe", 4), *k6 = sy__hmac_key_new(key6, sizeof key6);
  assert_non_null(k2);
  assert_non_null(k6);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(sy__hmac_key_mac(k2, data2, strlen(data2), mac), 0);
    hex_of(mac, hex);
    assert_string_equal(hex, want2);
    assert_int_equal(sy__hmac_key_mac(k6, data6, strlen(data6), mac), 0);
    hex_of(mac, hex);
    assert_string_equal(hex, want6);
  }
  sy__hmac_key_free(k2);
  sy__hmac_key_free(k6);
  sy__hmac_key_free(NULL);
  (void)state;
}

/* A key made ready gives the one-shot MAC for every key length around a block and every
 * message length around a block, an empty message included. */
static void hmac_key_matches_one_shot(void **state) {
  unsigned char key[130], msg[200], a[32], b[32];
  for (size_t i = 0; i < sizeof key; i++) key[i] = (unsigned char)(i * 7 + 1);
  for (size_t i = 0; i < sizeof msg; i++) msg[i] = (unsigned char)(i * 13 + 5);
  static const size_t klens[] = {0, 1, 31, 32, 63, 64, 65, 130};
  static const size_t mlens[] = {0, 1, 55, 56, 63, 64, 65, 119, 120, 200};
  for (size_t i = 0; i < sizeof klens / sizeof klens[0]; i++) {
    sy_hmac_key *k = sy__hmac_key_new(key, klens[i]);
    assert_non_null(k);
    for (size_t j = 0; j < sizeof mlens / sizeof mlens[0]; j++) {
      sy__hmac_sha256(key, klens[i], msg, mlens[j], a);
      assert_int_equal(sy__hmac_key_mac(k, msg, mlens[j], b), 0);
      assert_memory_equal(a, b, 32);
    }
    sy__hmac_key_free(k);
  }
  (void)state;
}

/* ---- the record hash ---- */

static void genesis_is_64_zeros(void **state) {
  assert_int_equal(strlen(sy__audit_genesis), 64);
  assert_int_equal(strspn(sy__audit_genesis, "0"), 64);
}

static void hash_deterministic(void **state) {
  sy_audit_rec r = base_rec(), copy;
  char h1[SY_HASH_HEX], h2[SY_HASH_HEX], h3[SY_HASH_HEX];
  char strs[NSTR][128];

  hash_of(&r, h1);
  hash_of(&r, h2);
  assert_string_equal(h1, h2);

  /* Equal contents at other addresses hash the same: only bytes count. */
  copy = r;
  for (size_t i = 0; i < NSTR; i++) {
    snprintf(strs[i], sizeof strs[i], "%s", *str_at(&r, i));
    *str_at(&copy, i) = strs[i];
  }
  hash_of(&copy, h3);
  assert_string_equal(h1, h3);
}

/* The hash is SHA-256 over "<len>:<bytes>\n" for prev_hash, seq, time, actor,
 * action, name, old_version, new_version, old_digest, new_digest, reason and
 * detail, in that order. Stored chains depend on this exact encoding. */
static void hash_encoding_pinned(void **state) {
  sy_audit_rec r = base_rec();
  char buf[2048], want[SY_HASH_HEX], got[SY_HASH_HEX];
  char seq[24], oldv[24], newv[24];
  int n;

  snprintf(seq, sizeof seq, "%" PRId64, r.seq);
  snprintf(oldv, sizeof oldv, "%" PRId64, r.old_version);
  snprintf(newv, sizeof newv, "%" PRId64, r.new_version);
  n = snprintf(buf, sizeof buf,
               "%zu:%s\n%zu:%s\n%zu:%s\n%zu:%s\n%zu:%s\n%zu:%s\n%zu:%s\n%zu:%s\n%zu:%s\n%zu:%s\n%zu:%s\n%zu:%s\n",
               strlen(r.prev_hash), r.prev_hash, strlen(seq), seq, strlen(r.time), r.time, strlen(r.actor), r.actor,
               strlen(r.action), r.action, strlen(r.name), r.name, strlen(oldv), oldv, strlen(newv), newv,
               strlen(r.old_digest), r.old_digest, strlen(r.new_digest), r.new_digest, strlen(r.reason), r.reason,
               strlen(r.detail), r.detail);
  assert_true(n > 0 && (size_t)n < sizeof buf);
  sy__sha256_hex(buf, (size_t)n, want);
  hash_of(&r, got);
  assert_string_equal(got, want);
}

/* Changing any one field changes the hash, and no two single-field changes collide. */
static void hash_every_field_counts(void **state) {
  enum { NCHANGES = NSTR + 3 };
  char hashes[NCHANGES + 1][SY_HASH_HEX];
  sy_audit_rec r = base_rec();
  size_t k = 0;

  hash_of(&r, hashes[k++]);
  for (size_t i = 0; i < NSTR; i++) {
    sy_audit_rec m = base_rec();
    *str_at(&m, i) = "changed";
    hash_of(&m, hashes[k++]);
  }
  r = base_rec();
  r.seq++;
  hash_of(&r, hashes[k++]);
  r = base_rec();
  r.old_version++;
  hash_of(&r, hashes[k++]);
  r = base_rec();
  r.new_version++;
  hash_of(&r, hashes[k++]);
  assert_int_equal(k, NCHANGES + 1);

  for (size_t i = 0; i < k; i++)
    for (size_t j = i + 1; j < k; j++)
      if (strcmp(hashes[i], hashes[j]) == 0) fail_msg("changes %zu and %zu give the same hash %s", i, j, hashes[i]);
}

/* A one-bit change anywhere in a string field changes the hash. */
static void hash_single_bit(void **state) {
  sy_audit_rec r = base_rec();
  char h0[SY_HASH_HEX], h1[SY_HASH_HEX], reason[64];
  hash_of(&r, h0);
  snprintf(reason, sizeof reason, "%s", r.reason);
  for (size_t i = 0; i < strlen(reason); i++) {
    reason[i] ^= 1;
    r.reason = reason;
    hash_of(&r, h1);
    if (strcmp(h0, h1) == 0) fail_msg("flipping bit 0 of reason[%zu] left the hash unchanged", i);
    reason[i] ^= 1;
  }
  /* Sign matters for versions. */
  r = base_rec();
  r.old_version = -2;
  hash_of(&r, h1);
  assert_string_not_equal(h0, h1);
}

/* Moving bytes from one field to its neighbour gives a different hash. */
static void hash_field_boundaries(void **state) {
  char h1[SY_HASH_HEX], h2[SY_HASH_HEX];
  /* Each string field with the next string field in hash order. */
  static const size_t order[] = {8, 0, 1, 2, 3, 4, 5, 6, 7}; /* prev_hash, time, ..., detail */
  for (size_t i = 0; i + 1 < sizeof order / sizeof order[0]; i++) {
    sy_audit_rec a = base_rec(), b = base_rec();
    *str_at(&a, order[i]) = "ab";
    *str_at(&a, order[i + 1]) = "c";
    *str_at(&b, order[i]) = "a";
    *str_at(&b, order[i + 1]) = "bc";
    hash_of(&a, h1);
    hash_of(&b, h2);
    if (strcmp(h1, h2) == 0)
      fail_msg("%s/%s: \"ab\"+\"c\" and \"a\"+\"bc\" collide", str_fields[order[i]].name,
               str_fields[order[i + 1]].name);
  }
  /* Across the integer fields too: 12,3 vs 1,23. */
  sy_audit_rec a = base_rec(), b = base_rec();
  a.old_version = 12, a.new_version = 3;
  b.old_version = 1, b.new_version = 23;
  hash_of(&a, h1);
  hash_of(&b, h2);
  assert_string_not_equal(h1, h2);
  /* A field that holds the framing itself cannot forge a neighbour. */
  a = base_rec(), b = base_rec();
  a.reason = "x\n1:y";
  a.detail = "";
  b.reason = "x";
  b.detail = "y";
  hash_of(&a, h1);
  hash_of(&b, h2);
  assert_string_not_equal(h1, h2);
}

/* NULL reads as "" for every string field but prev_hash. */
static void hash_null_is_empty(void **state) {
  for (size_t i = 0; i < NSTR; i++) {
    sy_audit_rec a = base_rec(), b = base_rec();
    char h1[SY_HASH_HEX], h2[SY_HASH_HEX];
    if (str_fields[i].off == offsetof(sy_audit_rec, prev_hash)) continue;
    *str_at(&a, i) = NULL;
    *str_at(&b, i) = "";
    hash_of(&a, h1);
    hash_of(&b, h2);
    if (strcmp(h1, h2) != 0) fail_msg("%s: NULL and \"\" hash differently", str_fields[i].name);
  }
  /* An all-zero record hashes without crashing and like its "" twin. */
  sy_audit_rec z = {0}, e = {.time = "",
                             .actor = "",
                             .action = "",
                             .name = "",
                             .old_digest = "",
                             .new_digest = "",
                             .reason = "",
                             .detail = "",
                             .prev_hash = sy__audit_genesis};
  char hz[SY_HASH_HEX], he[SY_HASH_HEX];
  hash_of(&z, hz);
  hash_of(&e, he);
  assert_string_equal(hz, he);
}

/* A NULL prev_hash stands for the genesis hash (the first record of a chain). */
static void hash_null_prev_is_genesis(void **state) {
  sy_audit_rec a = base_rec(), b = base_rec();
  char h1[SY_HASH_HEX], h2[SY_HASH_HEX];
  a.prev_hash = NULL;
  b.prev_hash = sy__audit_genesis;
  hash_of(&a, h1);
  hash_of(&b, h2);
  assert_string_equal(h1, h2);
}

/* ---- chains ---- */

typedef struct chain {
  sy_audit_rec rec[CHAIN_LEN];
  char hash[CHAIN_LEN][SY_HASH_HEX]; /* the stored hash of each record */
  char reason[CHAIN_LEN][32];
} chain;

static void chain_build(chain *c) {
  static const char *actions[] = {"put", "label", "put", "tag", "delete"};
  memset(c, 0, sizeof *c);
  for (int i = 0; i < CHAIN_LEN; i++) {
    sy_audit_rec *r = &c->rec[i];
    snprintf(c->reason[i], sizeof c->reason[i], "step %d", i + 1);
    r->seq = i + 1;
    r->time = "2026-11-22T19:00:00.000Z";
    r->actor = "admin";
    r->action = actions[i];
    r->name = "/a/b";
    r->old_version = i;
    r->new_version = i + 1;
    r->old_digest = i ? digest_a : "";
    r->new_digest = digest_b;
    r->reason = c->reason[i];
    r->detail = "";
    r->prev_hash = i ? c->hash[i - 1] : sy__audit_genesis;
    sy__audit_hash(r, c->hash[i]);
  }
}

/* Walks the chain with core's sy_audit_chain, as the server and the CLI do. Returns the
 * index of the first broken record, or -1 if the chain holds; *out (if given) is the walk. */
static int chain_walk(const sy_audit_rec *rec, char (*stored)[SY_HASH_HEX], int n, sy_audit_chain *out) {
  sy_audit_chain c;
  int broken = -1;
  sy__audit_chain_init(&c);
  for (int i = 0; i < n; i++)
    if (sy__audit_chain_next(&c, &rec[i], stored[i]) && broken < 0) broken = i;
  if (out) *out = c;
  return broken;
}

static int chain_verify(const sy_audit_rec *rec, char (*stored)[SY_HASH_HEX], int n) {
  return chain_walk(rec, stored, n, NULL);
}

static void chain_verifies(void **state) {
  chain c;
  chain_build(&c);
  assert_int_equal(chain_verify(c.rec, c.hash, CHAIN_LEN), -1);
  for (int i = 0; i < CHAIN_LEN; i++)
    for (int j = i + 1; j < CHAIN_LEN; j++) assert_string_not_equal(c.hash[i], c.hash[j]);
}

static void chain_detects_modified_record(void **state) {
  chain c;
  chain_build(&c);
  c.reason[2][0] = 'S'; /* edit the middle record's reason in place */
  assert_int_equal(chain_verify(c.rec, c.hash, CHAIN_LEN), 2);

  chain_build(&c);
  c.rec[2].new_version = 99;
  assert_int_equal(chain_verify(c.rec, c.hash, CHAIN_LEN), 2);

  /* Rewriting the record's stored hash to match moves the break to the next record. */
  chain_build(&c);
  c.rec[2].actor = "mallory";
  sy__audit_hash(&c.rec[2], c.hash[2]);
  assert_int_equal(chain_verify(c.rec, c.hash, CHAIN_LEN), 3);
}

static void chain_detects_removed_record(void **state) {
  chain c, cut;
  chain_build(&c);
  cut = c;
  /* Drop record index 2: 0,1,3,4. Record 3 still names record 2's hash. */
  cut.rec[2] = c.rec[3];
  cut.rec[3] = c.rec[4];
  memcpy(cut.hash[2], c.hash[3], SY_HASH_HEX);
  memcpy(cut.hash[3], c.hash[4], SY_HASH_HEX);
  assert_int_equal(chain_verify(cut.rec, cut.hash, CHAIN_LEN - 1), 2);
}

static void chain_detects_reordered_records(void **state) {
  chain c;
  sy_audit_rec tmp;
  char htmp[SY_HASH_HEX];
  chain_build(&c);
  tmp = c.rec[1], c.rec[1] = c.rec[2], c.rec[2] = tmp;
  memcpy(htmp, c.hash[1], SY_HASH_HEX);
  memcpy(c.hash[1], c.hash[2], SY_HASH_HEX);
  memcpy(c.hash[2], htmp, SY_HASH_HEX);
  assert_int_equal(chain_verify(c.rec, c.hash, CHAIN_LEN), 1);
}

/* What the walk says about each kind of break, and that the first break is the one it keeps. */
static void chain_names_the_break(void **state) {
  chain c, cut;
  sy_audit_chain w;

  chain_build(&c);
  assert_int_equal(chain_walk(c.rec, c.hash, CHAIN_LEN, &w), -1);
  assert_int_equal(w.records, CHAIN_LEN);
  assert_int_equal(w.last_seq, CHAIN_LEN);
  assert_string_equal(w.last_hash, c.hash[CHAIN_LEN - 1]);
  assert_int_equal(w.broken_seq, 0);

  c.reason[2][0] = 'S';
  assert_int_equal(chain_walk(c.rec, c.hash, CHAIN_LEN, &w), 2);
  assert_int_equal(w.broken_seq, 3);
  assert_int_equal(w.records, 2);
  assert_string_equal(w.why, "hash does not match the record's contents");

  chain_build(&c);
  cut = c; /* drop record index 2 */
  cut.rec[2] = c.rec[3];
  memcpy(cut.hash[2], c.hash[3], SY_HASH_HEX);
  assert_int_equal(chain_walk(cut.rec, cut.hash, 3, &w), 2);
  assert_int_equal(w.broken_seq, 4);
  assert_string_equal(w.why, "prev_hash does not match the hash of seq 2");

  /* a chain that starts later than the genesis */
  assert_int_equal(chain_walk(c.rec + 1, c.hash + 1, CHAIN_LEN - 1, &w), 0);
  assert_int_equal(w.broken_seq, 2);
  assert_string_equal(w.why, "prev_hash is not the genesis hash");

  /* a seq that goes back */
  cut = c;
  cut.rec[2].seq = 2;
  assert_int_equal(chain_walk(cut.rec, cut.hash, CHAIN_LEN, &w), 2);
  assert_int_equal(w.broken_seq, 2);
  assert_string_equal(w.why, "seq does not follow 2");

  /* hashes that hold over a gap in seq: the writer never skips one */
  cut = c;
  cut.rec[2].seq = 4;
  sy__audit_hash(&cut.rec[2], cut.hash[2]);
  assert_int_equal(chain_walk(cut.rec, cut.hash, 3, &w), 2);
  assert_int_equal(w.broken_seq, 4);
  assert_string_equal(w.why, "seq 4 follows 2: a record is missing");

  /* once broken, later records change nothing */
  sy__audit_chain_init(&w);
  assert_int_equal(sy__audit_chain_next(&w, &c.rec[1], c.hash[1]), -1);
  assert_int_equal(sy__audit_chain_next(&w, &c.rec[0], c.hash[0]), -1);
  assert_int_equal(w.broken_seq, 2);
  assert_int_equal(w.records, 0);
  assert_string_equal(w.why, "prev_hash is not the genesis hash");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sha256_vectors),
      cmocka_unit_test(sha256_million_a),
      cmocka_unit_test(sha256_binary),
      cmocka_unit_test(hmac_rfc4231),
      cmocka_unit_test(hmac_key_matches_one_shot),
      cmocka_unit_test(genesis_is_64_zeros),
      cmocka_unit_test(hash_deterministic),
      cmocka_unit_test(hash_encoding_pinned),
      cmocka_unit_test(hash_every_field_counts),
      cmocka_unit_test(hash_single_bit),
      cmocka_unit_test(hash_field_boundaries),
      cmocka_unit_test(hash_null_is_empty),
      cmocka_unit_test(hash_null_prev_is_genesis),
      cmocka_unit_test(chain_verifies),
      cmocka_unit_test(chain_detects_modified_record),
      cmocka_unit_test(chain_detects_removed_record),
      cmocka_unit_test(chain_detects_reordered_records),
      cmocka_unit_test(chain_names_the_break),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

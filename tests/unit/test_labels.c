/* test_labels.c — a property test of labels: seeded random sequences of overwrites, labels
 * (several at once, onto the latest or an older version) and unlabels, checked after every
 * operation against an in-memory model, through the snapshot and, at checkpoints and at the
 * end, through the versions on disk after reopening the store. The store's limits (10 labels a
 * version, 100 versions) are driven past, and every refusal must leave the model unchanged.
 * SY_LABELS_SEED=N replays a run; a failure prints the seed and the operation number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define OPS 4000
#define CHECKPOINT 800 /* reopen the store every this many operations */
#define MAXV 4096      /* versions a model parameter can reach in one run */

/* The label pool: NVALID labels the store must take, then some it must refuse as invalid. */
#define NVALID 14
static const char *const VALID[NVALID] = {"l0", "l1", "l2", "l3",   "l4",   "l5",      "l6",
                                          "l7", "l8", "l9", "prod", "blue", "Green_1", "x.y-z"};
#define NINVALID 6
static char long_label[102];
static const char *INVALID[NINVALID] = {"9lead", "awsx", "SSMy", "has/slash", "has space", long_label};
#define NLABELS (NVALID + NINVALID)

static const char *const NAMES[] = {"/prop/a", "/prop/b", "prop-flat"};
#define NNAMES 3
static const char *const MISSING = "/prop/never";

/* The model of one parameter: versions oldest..latest (0 latest: not created), and for each
 * valid label the version carrying it (0 when none). */
typedef struct model_param {
  int64_t oldest, latest;
  int64_t at[NVALID];
} model_param;

static model_param model[NNAMES];
static uint64_t seed, rng_state;
static int opno;

static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 32);
}

/* fail_msg with the seed and the operation number in front, so any failure can be replayed. */
static void failf(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fail_msg("SY_LABELS_SEED=%" PRIu64 " op %d: %s", seed, opno, buf);
}

static int label_index(const char *l) {
  for (int i = 0; i < NVALID; i++)
    if (strcmp(VALID[i], l) == 0) return i;
  return -1;
}

static int model_count(const model_param *m, int64_t v) {
  int n = 0;
  for (int i = 0; i < NVALID; i++) n += m->at[i] == v;
  return n;
}

static char *tmpdir(void) {
  char *d = strdup("/tmp/sy-test-labels-XXXXXX");
  assert_non_null(d);
  assert_non_null(mkdtemp(d));
  return d;
}

static void rmtree(const char *d) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  assert_int_equal(system(cmd), 0);
}

static sy_store *open_store(const char *dir) {
  sy_store *st = NULL;
  char msg[512];
  sy_rc rc = sy__store_open(dir, NULL, &st, msg, sizeof msg);
  if (rc) failf("open %s: %s", dir, msg);
  return st;
}

static sy_rc store_put(sy_store *st, const char *name, const char *value) {
  sy_op op = {.kind = SY_OP_PUT, .actor = "test"};
  op.put = (sy_put){.name = name,
                    .name_len = strlen(name),
                    .value = value,
                    .value_len = strlen(value),
                    .kind = SY_KIND_STRING,
                    .overwrite = 1,
                    .if_version = -1};
  sy_rc rc = sy__store_submit_wait(st, &op);
  sy__op_clear(&op);
  return rc;
}

static sy_rc store_labels(sy_store *st, sy_op_kind kind, const char *name, int64_t version, const char *const *ls,
                          int n) {
  sy_op op = {.kind = kind, .actor = "test", .version = version, .strs = ls, .nstrs = n};
  op.put.name = name;
  op.put.name_len = strlen(name);
  sy_rc rc = sy__store_submit_wait(st, &op);
  sy__op_clear(&op);
  return rc;
}

/* ---- the model's answer to each operation ---- */

static sy_rc model_put(model_param *m) {
  if (!m->latest) {
    m->oldest = m->latest = 1;
    return SY_OK;
  }
  int64_t next = m->latest + 1;
  if (next - m->oldest + 1 > SY_VERSIONS_MAX) {
    if (model_count(m, m->oldest)) return SY_EMAXVERSIONS;
    m->oldest++;
  }
  m->latest = next;
  return SY_OK;
}

static sy_rc model_label(model_param *m, int64_t version, const char *const *ls, int n) {
  if (!m->latest) return SY_ENOTFOUND;
  int64_t v = version ? version : m->latest;
  if (v < m->oldest || v > m->latest) return SY_EVERSION_NOTFOUND;
  int fresh[NVALID] = {0};
  int add = 0;
  for (int i = 0; i < n; i++) {
    int k = label_index(ls[i]);
    if (k < 0 || m->at[k] == v || fresh[k]) continue;
    fresh[k] = 1;
    add++;
  }
  if (model_count(m, v) + add > SY_LABELS_PER_VERSION) return SY_ELABEL_LIMIT;
  for (int k = 0; k < NVALID; k++)
    if (fresh[k]) m->at[k] = v;
  return SY_OK;
}

static sy_rc model_unlabel(model_param *m, int64_t version, const char *const *ls, int n) {
  if (!m->latest) return SY_ENOTFOUND;
  if (version && (version < m->oldest || version > m->latest)) return SY_EVERSION_NOTFOUND;
  for (int i = 0; i < n; i++) {
    int k = label_index(ls[i]);
    if (k >= 0 && m->at[k] && (!version || m->at[k] == version)) m->at[k] = 0;
  }
  return SY_OK;
}

/* ---- the store against the model ---- */

/* The snapshot: oldest and latest, the labelled-version lookup of every label in the pool,
 * and the labels of every version held in memory (latest and labelled), each on one version. */
static void check_snapshot(sy_store *st) {
  const sy_snap *s = sy__snap_enter(st);
  for (int i = 0; i < NNAMES; i++) {
    const model_param *m = &model[i];
    const sy_param *p = sy__snap_get(s, NAMES[i], strlen(NAMES[i]));
    if (!m->latest) {
      if (p) failf("%s exists in the store, not in the model", NAMES[i]);
      continue;
    }
    if (!p) {
      failf("%s is missing from the store", NAMES[i]);
      continue;
    }
    if (p->latest->version != m->latest || p->oldest != m->oldest)
      failf("%s: store holds versions %" PRId64 "..%" PRId64 ", model %" PRId64 "..%" PRId64, NAMES[i], p->oldest,
            p->latest->version, m->oldest, m->latest);
    for (int k = 0; k < NVALID; k++) {
      const sy_ver *h = sy__param_find_label(p, VALID[k]);
      int64_t got = h ? h->version : 0;
      if (got != m->at[k])
        failf("%s: label %s is on version %" PRId64 " in the store, %" PRId64 " in the model", NAMES[i], VALID[k], got,
              m->at[k]);
    }
    for (int k = 0; k < NINVALID; k++)
      if (sy__param_find_label(p, INVALID[k])) failf("%s: the invalid label %.20s is stored", NAMES[i], INVALID[k]);
    /* every version in memory carries exactly the model's labels, and a label is on one only */
    const sy_ver *vs[SY_VERSIONS_MAX + 1];
    int nv = 0;
    for (int j = 0; j < p->nlabeled; j++) vs[nv++] = p->labeled[j];
    vs[nv++] = p->latest;
    int seen[NVALID] = {0};
    int labelled_older = 0;
    for (int j = 0; j < nv; j++) {
      const sy_ver *v = vs[j];
      if (v != p->latest) {
        if (!v->nlabels) failf("%s: version %" PRId64 " is kept as labelled but has no label", NAMES[i], v->version);
        labelled_older++;
      }
      if (v->nlabels > SY_LABELS_PER_VERSION)
        failf("%s: version %" PRId64 " carries %d labels", NAMES[i], v->version, v->nlabels);
      if (v->nlabels != model_count(m, v->version))
        failf("%s: version %" PRId64 " carries %d labels, the model %d", NAMES[i], v->version, v->nlabels,
              model_count(m, v->version));
      for (int l = 0; l < v->nlabels; l++) {
        int k = label_index(v->labels[l]);
        if (k < 0) failf("%s: version %" PRId64 " carries the unknown label %.20s", NAMES[i], v->version, v->labels[l]);
        if (seen[k]++) failf("%s: label %s is on two versions", NAMES[i], VALID[k]);
        if (m->at[k] != v->version)
          failf("%s: label %s on version %" PRId64 ", the model has it on %" PRId64, NAMES[i], VALID[k], v->version,
                m->at[k]);
      }
    }
    /* the older versions that carry labels in the model are exactly those kept in memory */
    int model_older = 0;
    for (int64_t v = m->oldest; v < m->latest; v++) model_older += model_count(m, v) > 0;
    if (labelled_older != model_older)
      failf("%s: %d older versions kept as labelled, the model has %d", NAMES[i], labelled_older, model_older);
  }
  sy__snap_leave(st);
}

typedef struct hist {
  const model_param *m;
  const char *name;
  int64_t next; /* the version expected next */
} hist;

static void on_version(void *ctx, const sy_ver *v, const char *reason) {
  (void)reason;
  hist *h = ctx;
  if (v->version != h->next)
    failf("%s: history gives version %" PRId64 ", expected %" PRId64, h->name, v->version, h->next);
  h->next++;
  if (v->nlabels != model_count(h->m, v->version))
    failf("%s: on disk version %" PRId64 " carries %d labels, the model %d", h->name, v->version, v->nlabels,
          model_count(h->m, v->version));
  for (int l = 0; l < v->nlabels; l++) {
    int k = label_index(v->labels[l]);
    if (k < 0 || h->m->at[k] != v->version)
      failf("%s: on disk label %.20s is on version %" PRId64 ", not where the model has it", h->name, v->labels[l],
            v->version);
  }
}

/* Every stored version, read back from disk through the history, carries the model's labels. */
static void check_history(sy_store *st) {
  for (int i = 0; i < NNAMES; i++) {
    const model_param *m = &model[i];
    if (!m->latest) continue;
    hist h = {.m = m, .name = NAMES[i], .next = m->oldest};
    int more = 1;
    for (int guard = 0; more && guard < 1000; guard++) {
      sy_rc rc = sy__store_history(st, NAMES[i], h.next - 1, 50, on_version, &h, &more);
      if (rc) failf("%s: history: %s", NAMES[i], sy_strerror(rc));
    }
    if (h.next != m->latest + 1) failf("%s: history ends before version %" PRId64, NAMES[i], m->latest);
  }
}

/* Up to n labels drawn from the pool, mostly valid ones, sometimes a repeat. */
static int draw_labels(const char **ls, int max) {
  int n = 1 + (int)(rng() % (uint32_t)max);
  for (int j = 0; j < n; j++) {
    if (j && rng() % 8 == 0)
      ls[j] = ls[rng() % (uint32_t)j];
    else if (rng() % 10 == 0)
      ls[j] = INVALID[rng() % NINVALID];
    else
      ls[j] = VALID[rng() % NVALID];
  }
  return n;
}

/* n distinct valid labels, in random order. */
static void draw_distinct(const char **ls, int n) {
  const char *pool[NVALID];
  memcpy(pool, VALID, sizeof pool);
  for (int j = 0; j < n; j++) {
    int k = j + (int)(rng() % (uint32_t)(NVALID - j));
    const char *t = pool[j];
    pool[j] = pool[k];
    pool[k] = t;
    ls[j] = pool[j];
  }
}

/* A version to aim at: usually one that exists (the latest, the oldest, any between), now and
 * then 0 (the latest, or any for an unlabel), or one just outside the kept range. */
static int64_t draw_version(const model_param *m) {
  uint32_t r = rng() % 10;
  if (r == 0) return 0;
  if (r == 1) return m->latest + 1 + (int64_t)(rng() % 2);
  if (r == 2) return m->oldest > 1 ? m->oldest - 1 : m->latest + 1;
  if (r == 3) return m->latest;
  if (r == 4) return m->oldest;
  int64_t span = m->latest - m->oldest + 1;
  return span > 0 ? m->oldest + (int64_t)(rng() % (uint64_t)span) : 1;
}

static void labels_match_the_model(void **state) {
  (void)state;
  const char *env = getenv("SY_LABELS_SEED");
  seed = env ? strtoull(env, NULL, 10) : ((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
  if (!seed) seed = 1;
  rng_state = seed;
  print_message("labels property test: SY_LABELS_SEED=%" PRIu64 "\n", seed);
  memset(long_label, 'a', 101);
  long_label[101] = 0;
  memset(model, 0, sizeof model);

  char *dir = tmpdir();
  sy_store *st = open_store(dir);
  char value[32];
  int refused_limit = 0, refused_max = 0, puts = 0;
  for (opno = 0; opno < OPS; opno++) {
    int i = (int)(rng() % NNAMES);
    /* bias writes toward the first name so that it passes 100 versions early */
    if (rng() % 3 == 0) i = 0;
    model_param *m = &model[i];
    model_param before = *m;
    uint32_t what = rng() % 20;
    sy_rc want, got;
    if (!m->latest || what < 7) {
      snprintf(value, sizeof value, "v%d", opno);
      want = model_put(m);
      got = store_put(st, NAMES[i], value);
      puts++;
      if (got == SY_EMAXVERSIONS) refused_max++;
    } else if (what < 12) {
      const char *ls[12];
      int n = draw_labels(ls, rng() % 2 ? 4 : 12);
      int64_t v = draw_version(m);
      want = model_label(m, v, ls, n);
      got = store_labels(st, SY_OP_LABEL, NAMES[i], v, ls, n);
      if (got == SY_ELABEL_LIMIT) refused_limit++;
    } else if (what < 14) {
      /* many distinct labels at once: 10 (taken if the version has room for them, moving
       * them off wherever they are) or 11 to 14 (never room for them) */
      const char *ls[NVALID];
      int n = what == 12 ? 10 : 11 + (int)(rng() % (NVALID - 10));
      draw_distinct(ls, n);
      int64_t v = draw_version(m);
      want = model_label(m, v, ls, n);
      got = store_labels(st, SY_OP_LABEL, NAMES[i], v, ls, n);
      if (got == SY_ELABEL_LIMIT) refused_limit++;
    } else if (what < 19) {
      const char *ls[6];
      int n = draw_labels(ls, 6);
      int64_t v = draw_version(m);
      want = model_unlabel(m, v, ls, n);
      got = store_labels(st, SY_OP_UNLABEL, NAMES[i], v, ls, n);
    } else {
      /* a parameter that does not exist: refused, nothing changes */
      const char *l = VALID[rng() % NVALID];
      want = SY_ENOTFOUND;
      got = store_labels(st, rng() % 2 ? SY_OP_LABEL : SY_OP_UNLABEL, MISSING, 0, &l, 1);
    }
    if (got != want) failf("%s: the store answered %s, the model %s", NAMES[i], sy_strerror(got), sy_strerror(want));
    if (want && memcmp(&before, m, sizeof before)) failf("the model changed on a refusal");
    check_snapshot(st);
    if ((opno + 1) % CHECKPOINT == 0) {
      check_history(st);
      sy__store_close(st);
      st = open_store(dir);
      check_snapshot(st);
      check_history(st);
    }
  }
  sy__store_close(st);
  st = open_store(dir);
  check_snapshot(st);
  check_history(st);
  sy__store_close(st);
  /* the run reached the limits it is meant to test */
  if (model[0].latest <= SY_VERSIONS_MAX) failf("only %" PRId64 " versions of %s", model[0].latest, NAMES[0]);
  if (!refused_limit) failf("no label was refused for the 10-label limit in %d operations", OPS);
  if (!refused_max) failf("no write was refused for a labelled oldest version in %d puts", puts);
  print_message("%d puts (%d refused at 100 versions), %d labels refused at 10 a version\n", puts, refused_max,
                refused_limit);
  rmtree(dir);
  free(dir);
}

/* The version limit with labels, step by step: 100 versions, a label on the oldest refuses the
 * 101st and leaves everything as it was; moved to the newest, the 101st drops version 1. */
static void a_labelled_oldest_blocks_the_101st(void **state) {
  (void)state;
  seed = 0;
  opno = 0;
  char *dir = tmpdir();
  sy_store *st = open_store(dir);
  char value[16];
  for (int i = 1; i <= SY_VERSIONS_MAX; i++) {
    snprintf(value, sizeof value, "v%d", i);
    assert_int_equal(store_put(st, "/lim", value), SY_OK);
  }
  static const char *const keep[] = {"keep", "also"};
  assert_int_equal(store_labels(st, SY_OP_LABEL, "/lim", 1, keep, 2), SY_OK);
  assert_int_equal(store_put(st, "/lim", "v101"), SY_EMAXVERSIONS);
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__snap_get(s, "/lim", 4);
  assert_non_null(p);
  assert_int_equal(p->oldest, 1);
  assert_int_equal(p->latest->version, SY_VERSIONS_MAX);
  assert_int_equal(sy__param_find_label(p, "keep")->version, 1);
  sy__snap_leave(st);
  /* both labels move together onto the latest: the oldest is free to go */
  assert_int_equal(store_labels(st, SY_OP_LABEL, "/lim", 0, keep, 2), SY_OK);
  assert_int_equal(store_put(st, "/lim", "v101"), SY_OK);
  s = sy__snap_enter(st);
  p = sy__snap_get(s, "/lim", 4);
  assert_int_equal(p->oldest, 2);
  assert_int_equal(p->latest->version, SY_VERSIONS_MAX + 1);
  assert_int_equal(sy__param_find_label(p, "keep")->version, SY_VERSIONS_MAX);
  assert_int_equal(sy__param_find_label(p, "also")->version, SY_VERSIONS_MAX);
  sy__snap_leave(st);
  sy__store_close(st);
  rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(labels_match_the_model),
      cmocka_unit_test(a_labelled_oldest_blocks_the_101st),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

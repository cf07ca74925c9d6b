/* test_store.c — the store end to end on a real SQLite file, or with SY_TEST_STORE_PG set (a
 * base URL such as postgres://switchyard@127.0.0.1:PORT/postgres), on a real PostgreSQL
 * database per store: the write rules keep the in-memory snapshot equal to what is stored
 * (a random sequence of operations, then a reopen), labels move whole, time comes from the
 * injected clock, and a token keeps its default route. On PostgreSQL, two stores on one
 * database (two nodes) also share one sequence and chain, see each other's changes, and
 * judge a conditional write against the other's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/store.h"

#define DAY_MS (86400LL * 1000)

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 32);
}

static char *tmpdir(void) {
  char *d = strdup("/tmp/sy-test-store-XXXXXX");
  assert_non_null(mkdtemp(d));
  return d;
}

static void rmtree(const char *d) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  assert_int_equal(system(cmd), 0);
}

/* The PostgreSQL base URL to test on, or NULL for SQLite. */
static const char *pg_base(void) {
  const char *u = getenv("SY_TEST_STORE_PG");
  return u && *u ? u : NULL;
}

/* The URL of a database of its own for the store "in" dir (made if new): the base URL's
 * last path segment replaced by a name from dir's unique suffix. */
static void pg_url_for(const char *dir, char *url, size_t cap) {
  const char *base = pg_base(), *slash = strrchr(base, '/'), *suffix = strrchr(dir, '-');
  char name[64];
  snprintf(name, sizeof name, "st_%s", suffix ? suffix + 1 : "x");
  for (char *c = name; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
  PGconn *c = PQconnectdb(base);
  if (PQstatus(c) != CONNECTION_OK) fail_msg("connect to %s: %s", base, PQerrorMessage(c));
  char sql[128];
  snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
  PQclear(PQexec(c, sql)); /* already there: reopened */
  PQfinish(c);
  snprintf(url, cap, "%.*s/%s", (int)(slash - base), base, name);
}

static sy_store *open_store(const char *dir, const sy_clock *clock) {
  sy_store *st = NULL;
  char msg[512], url[512];
  if (pg_base()) pg_url_for(dir, url, sizeof url);
  sy_rc rc = sy__store_open_at(dir, pg_base() ? url : NULL, clock, &st, msg, sizeof msg);
  if (rc) fail_msg("open %s: %s", dir, msg);
  return st;
}

static sy_rc put(sy_store *st, const char *name, const char *value, int overwrite) {
  sy_op op = {.kind = SY_OP_PUT, .actor = "test"};
  op.put = (sy_put){.name = name,
                    .name_len = strlen(name),
                    .value = value,
                    .value_len = strlen(value),
                    .kind = SY_KIND_STRING,
                    .overwrite = overwrite,
                    .if_version = -1};
  sy_rc rc = sy__store_submit_wait(st, &op);
  sy__op_clear(&op);
  return rc;
}

static sy_rc labels_op(sy_store *st, sy_op_kind kind, const char *name, int64_t version, const char *const *labels,
                       int n) {
  sy_op op = {.kind = kind, .actor = "test", .version = version, .strs = labels, .nstrs = n};
  op.put.name = name;
  op.put.name_len = strlen(name);
  sy_rc rc = sy__store_submit_wait(st, &op);
  sy__op_clear(&op);
  return rc;
}

/* The snapshot as text: every parameter, its versions in memory with their labels, its tags. */
static char *dump(sy_store *st) {
  size_t cap = 1 << 20, off = 0;
  char *out = malloc(cap);
  assert_non_null(out);
  out[0] = 0;
  const sy_snap *s = sy__snap_enter(st);
  for (const sy_param *p = sy__tree_seek(s->root, "", 0, 0); p; p = sy__tree_seek(s->root, p->name, p->name_len, 1)) {
    off += (size_t)snprintf(out + off, cap - off, "%s oldest=%lld", p->name, (long long)p->oldest);
    const sy_ver *vs[SY_VERSIONS_MAX + 1];
    int n = 0;
    for (int i = 0; i < p->nlabeled; i++) vs[n++] = p->labeled[i];
    vs[n++] = p->latest;
    for (int i = 0; i < n; i++) {
      off += (size_t)snprintf(out + off, cap - off, " v%lld=%s[", (long long)vs[i]->version, vs[i]->value);
      for (int j = 0; j < vs[i]->nlabels; j++)
        off += (size_t)snprintf(out + off, cap - off, "%s%s", j ? "," : "", vs[i]->labels[j]);
      off += (size_t)snprintf(out + off, cap - off, "]");
    }
    for (int i = 0; i < p->ntags; i++)
      off += (size_t)snprintf(out + off, cap - off, " %s=%s", p->tags[i].key, p->tags[i].value);
    off += (size_t)snprintf(out + off, cap - off, "\n");
    assert_true(off < cap - 4096);
  }
  sy__snap_leave(st);
  return out;
}

/* Every label is on at most one version of its parameter. */
static void check_labels_unique(sy_store *st) {
  const sy_snap *s = sy__snap_enter(st);
  for (const sy_param *p = sy__tree_seek(s->root, "", 0, 0); p; p = sy__tree_seek(s->root, p->name, p->name_len, 1)) {
    const sy_ver *vs[SY_VERSIONS_MAX + 1];
    int n = 0;
    for (int i = 0; i < p->nlabeled; i++) vs[n++] = p->labeled[i];
    vs[n++] = p->latest;
    for (int a = 0; a < n; a++)
      for (int i = 0; i < vs[a]->nlabels; i++)
        for (int b = a + 1; b < n; b++)
          if (sy__ver_has_label(vs[b], vs[a]->labels[i]))
            fail_msg("%s: label %s on versions %lld and %lld", p->name, vs[a]->labels[i], (long long)vs[a]->version,
                     (long long)vs[b]->version);
  }
  sy__snap_leave(st);
}

static void random_ops_survive_a_reopen(void **state) {
  (void)state;
  char *dir = tmpdir();
  sy_store *st = open_store(dir, NULL);
  static const char *const names[] = {"/r/a", "/r/b", "/r/c", "/r/d"};
  static const char *const labels[] = {"blue", "green", "prod", "canary", "beta"};
  char value[32];
  for (int i = 0; i < 1500; i++) {
    const char *name = names[rng() % 4];
    int what = (int)(rng() % 10);
    if (what < 4) {
      snprintf(value, sizeof value, "v%d", i);
      put(st, name, value, 1);
    } else if (what < 7) {
      const char *ls[3];
      int n = 1 + (int)(rng() % 3);
      for (int j = 0; j < n; j++) ls[j] = labels[rng() % 5];
      labels_op(st, SY_OP_LABEL, name, (int64_t)(rng() % 6), ls, n);
    } else if (what < 8) {
      const char *l = labels[rng() % 5];
      labels_op(st, SY_OP_UNLABEL, name, 0, &l, 1);
    } else if (what < 9) {
      sy_tag t = {.key = (char *)labels[rng() % 5], .value = value};
      sy_op op = {.kind = rng() % 2 ? SY_OP_TAG : SY_OP_UNTAG, .actor = "test", .tags = &t, .ntags = 1};
      const char *k = t.key;
      op.strs = &k;
      op.nstrs = 1;
      op.put.name = name;
      op.put.name_len = strlen(name);
      sy__store_submit_wait(st, &op);
      sy__op_clear(&op);
    } else {
      sy_op op = {.kind = rng() % 3 ? SY_OP_ROLLBACK : SY_OP_DELETE, .actor = "test", .version = 1 + rng() % 5};
      op.put.name = name;
      op.put.name_len = strlen(name);
      sy__store_submit_wait(st, &op);
      sy__op_clear(&op);
    }
    if (i % 100 == 0) check_labels_unique(st);
  }
  check_labels_unique(st);
  char *before = dump(st);
  sy__store_close(st);
  st = open_store(dir, NULL);
  char *after = dump(st);
  assert_string_equal(before, after);
  sy__store_close(st);
  free(before);
  free(after);
  rmtree(dir);
  free(dir);
}

static void labels_move_together(void **state) {
  (void)state;
  char *dir = tmpdir();
  sy_store *st = open_store(dir, NULL);
  static const char *const ls[] = {"a", "b", "c"};
  assert_int_equal(put(st, "/m", "one", 0), SY_OK);
  assert_int_equal(labels_op(st, SY_OP_LABEL, "/m", 1, ls, 3), SY_OK);
  assert_int_equal(put(st, "/m", "two", 1), SY_OK);
  assert_int_equal(labels_op(st, SY_OP_LABEL, "/m", 2, ls, 3), SY_OK);
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__tree_get(s->root, "/m", 2);
  assert_non_null(p);
  assert_int_equal(p->latest->nlabels, 3);
  assert_int_equal(p->nlabeled, 0); /* version 1 carries none, so it is no longer kept in memory */
  for (int i = 0; i < 3; i++) assert_int_equal(sy__param_find_label(p, ls[i])->version, 2);
  sy__snap_leave(st);
  sy__store_close(st);
  rmtree(dir);
  free(dir);
}

static void reason_cb(void *ctx, const sy_ver *v, const char *reason) {
  (void)v;
  snprintf(ctx, 64, "%s", reason);
}

/* Labelling a version stores its labels and nothing else: the reason it was written with stays. */
static void a_label_keeps_the_reason(void **state) {
  (void)state;
  char *dir = tmpdir();
  sy_store *st = open_store(dir, NULL);
  sy_op op = {.kind = SY_OP_PUT, .actor = "test", .reason = "ticket 42"};
  op.put =
      (sy_put){.name = "/why", .name_len = 4, .value = "x", .value_len = 1, .kind = SY_KIND_STRING, .if_version = -1};
  assert_int_equal(sy__store_submit_wait(st, &op), SY_OK);
  sy__op_clear(&op);
  static const char *const ls[] = {"prod"};
  assert_int_equal(labels_op(st, SY_OP_LABEL, "/why", 1, ls, 1), SY_OK);
  assert_int_equal(put(st, "/why", "y", 1), SY_OK);
  char reason[64] = "?";
  int more = 0;
  assert_int_equal(sy__store_history(st, "/why", 0, 1, reason_cb, reason, &more), SY_OK);
  assert_string_equal(reason, "ticket 42");
  sy__store_close(st);
  rmtree(dir);
  free(dir);
}

typedef struct seen {
  int n;
  int64_t time_ms[8];
} seen;

static void on_events(void *ctx, const sy_event *evs, size_t n) {
  seen *s = ctx;
  for (size_t i = 0; i < n && s->n < 8; i++) s->time_ms[s->n++] = evs[i].time_ms;
}

static void time_is_the_injected_clock(void **state) {
  (void)state;
  char *dir = tmpdir();
  sy_manual_clock clk;
  int64_t t0 = 1767225600000LL; /* 2026-01-01T00:00:00Z */
  sy__clock_manual_init(&clk, t0);
  sy_store *st = open_store(dir, &clk.clock);
  seen ev = {0};
  sy__store_set_publish_hook(st, on_events, &ev);
  assert_int_equal(put(st, "/t", "one", 0), SY_OK);
  sy__clock_advance(&clk, 3 * DAY_MS); /* three days, in no time */
  assert_int_equal(put(st, "/t", "two", 1), SY_OK);
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__tree_get(s->root, "/t", 2);
  assert_int_equal(p->latest->modified_ms, t0 + 3 * DAY_MS);
  sy__snap_leave(st);
  assert_int_equal(ev.n, 2);
  assert_int_equal(ev.time_ms[0], t0);
  assert_int_equal(ev.time_ms[1], t0 + 3 * DAY_MS);
  char t[32];
  sy__fmt_time(ev.time_ms[1], t, sizeof t);
  assert_string_equal(t, "2026-01-04T00:00:00.000Z");
  sy__store_close(st);
  rmtree(dir);
  free(dir);
}

/* A put with SSM's attributes (key_id, data_type, policies: NULL keeps them). */
static sy_rc put_attrs(sy_store *st, const char *name, const char *value, sy_kind kind, const char *key_id,
                       const char *data_type, const char *policies) {
  sy_op op = {.kind = SY_OP_PUT, .actor = "test"};
  op.put = (sy_put){.name = name,
                    .name_len = strlen(name),
                    .value = value,
                    .value_len = strlen(value),
                    .kind = kind,
                    .overwrite = 1,
                    .key_id = key_id,
                    .data_type = data_type,
                    .policies = policies,
                    .if_version = -1};
  sy_rc rc = sy__store_submit_wait(st, &op);
  sy__op_clear(&op);
  return rc;
}

/* "foo" and "/foo" are one parameter: found, written and deleted by either spelling. */
static void root_names_are_one_parameter(void **state) {
  (void)state;
  char *dir = tmpdir();
  sy_store *st = open_store(dir, NULL);
  assert_int_equal(put(st, "foo", "one", 0), SY_OK);
  assert_int_equal(put(st, "/foo", "two", 0), SY_EEXISTS);
  assert_int_equal(put(st, "/foo", "two", 1), SY_OK);
  assert_int_equal(put(st, "/bar", "b", 0), SY_OK);
  assert_int_equal(put(st, "bar", "b2", 0), SY_EEXISTS);
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__snap_get(s, "/foo", 4);
  assert_non_null(p);
  assert_string_equal(p->name, "foo"); /* its own name is how it was made */
  assert_int_equal(p->latest->version, 2);
  assert_ptr_equal(sy__snap_get(s, "bar", 3), sy__snap_get(s, "/bar", 4));
  assert_null(sy__snap_get(s, "/foo/x", 6));
  sy__snap_leave(st);
  sy_op del = {.kind = SY_OP_DELETE, .actor = "test"};
  del.put.name = "/foo";
  del.put.name_len = 4;
  assert_int_equal(sy__store_submit_wait(st, &del), SY_OK);
  sy__op_clear(&del);
  s = sy__snap_enter(st);
  assert_null(sy__snap_get(s, "foo", 3));
  sy__snap_leave(st);
  sy__store_close(st);
  rmtree(dir);
  free(dir);
}

/* KeyId, DataType and Policies are kept by a put that leaves them out, across a reopen; a
 * SecureString under a named key opens again, and is not sealed as under the default. */
static void ssm_attributes_are_kept(void **state) {
  (void)state;
  char *dir = tmpdir();
  sy_store *st = open_store(dir, NULL);
  assert_int_equal(put_attrs(st, "/a/img", "ami-0123456789abcdef0", SY_KIND_STRING, NULL, "aws:ec2:image", NULL),
                   SY_OK);
  assert_int_equal(put_attrs(st, "/a/img", "not-an-image", SY_KIND_STRING, NULL, NULL, NULL), SY_EINVAL);
  assert_int_equal(put_attrs(st, "/a/img", "x", SY_KIND_STRING, NULL, "Text", NULL), SY_EINVAL);
  assert_int_equal(put_attrs(st, "/a/s", "secret", SY_KIND_SECURESTRING, "alias/custom", NULL,
                             "[{\"Type\":\"NoChangeNotification\",\"Version\":\"1.0\","
                             "\"Attributes\":{\"After\":\"30\",\"Unit\":\"Days\"}}]"),
                   SY_OK);
  assert_int_equal(put_attrs(st, "/a/s", "secret2", 0, NULL, NULL, NULL), SY_OK);
  assert_int_equal(put_attrs(st, "/a/s", "x", 0, "alias/aws/kms", NULL, NULL), SY_EKEYID);
  assert_int_equal(put_attrs(st, "/a/s", "x", 0, NULL, NULL, "[\"Bogus\"]"), SY_EPOLICY_TYPE);
  assert_int_equal(put_attrs(st, "/a/s", "x", 0, NULL, NULL, "[{\"Type\":\"Expiration\"}]"), SY_EPOLICY_ATTR);
  for (int round = 0; round < 2; round++) {
    const sy_snap *s = sy__snap_enter(st);
    const sy_param *p = sy__snap_get(s, "/a/s", 4);
    assert_int_equal(p->latest->version, 2);
    assert_string_equal(p->latest->key_id, "alias/custom");
    assert_non_null(strstr(p->latest->policies, "NoChangeNotification"));
    char *plain = NULL;
    size_t n = 0;
    assert_int_equal(sy__store_reveal(st, p->name, p->latest, &plain, &n), SY_OK);
    assert_string_equal(plain, "secret2");
    sy__reveal_free(plain, n);
    /* under the default key it does not open */
    sy_ver_meta m = {"", "", "", ""};
    sy_ver *v = sy__ver_make_meta(p->latest->value, p->latest->value_len, "", "", "", &m);
    v->version = p->latest->version;
    v->kind = SY_KIND_SECURESTRING;
    assert_int_not_equal(sy__store_reveal(st, p->name, v, &plain, &n), SY_OK);
    sy__ver_unref(v);
    p = sy__snap_get(s, "/a/img", 6);
    assert_string_equal(p->latest->data_type, "aws:ec2:image");
    sy__snap_leave(st);
    sy__store_close(st);
    st = open_store(dir, NULL);
  }
  sy__store_close(st);
  rmtree(dir);
  free(dir);
}

/* An Expiration policy deletes its parameter when the store's clock passes it: audited
 * and streamed, and still gone after a reopen. */
static void expiration_deletes_on_the_clock(void **state) {
  (void)state;
  char *dir = tmpdir();
  sy_manual_clock clk;
  int64_t t0 = 1767225600000LL; /* 2026-01-01T00:00:00Z */
  sy__clock_manual_init(&clk, t0);
  sy_store *st = open_store(dir, &clk.clock);
  seen ev = {0};
  sy__store_set_publish_hook(st, on_events, &ev);
  const char *soon =
      "[{\"Type\":\"Expiration\",\"Version\":\"1.0\",\"Attributes\":{\"Timestamp\":\"2026-01-02T00:00:00.000Z\"}}]";
  const char *later =
      "[{\"Type\":\"Expiration\",\"Version\":\"1.0\",\"Attributes\":{\"Timestamp\":\"2026-01-09T00:00:00Z\"}}]";
  assert_int_equal(put_attrs(st, "/exp/soon", "v", SY_KIND_STRING, NULL, NULL, soon), SY_OK);
  assert_int_equal(put_attrs(st, "/exp/later", "v", SY_KIND_STRING, NULL, NULL, later), SY_OK);
  assert_int_equal(put(st, "/exp/never", "v", 0), SY_OK);
  assert_int_equal(sy__store_expire(st), SY_OK); /* nothing due yet */
  const sy_snap *s = sy__snap_enter(st);
  assert_non_null(sy__snap_get(s, "/exp/soon", 9));
  sy__snap_leave(st);
  sy__clock_advance(&clk, 2 * DAY_MS);
  assert_int_equal(sy__store_expire(st), SY_OK);
  s = sy__snap_enter(st);
  assert_null(sy__snap_get(s, "/exp/soon", 9));
  assert_non_null(sy__snap_get(s, "/exp/later", 10));
  assert_non_null(sy__snap_get(s, "/exp/never", 10));
  sy__snap_leave(st);
  assert_int_equal(ev.n, 4); /* three puts and the deletion */
  sy__store_close(st);
  st = open_store(dir, &clk.clock);
  sy__clock_advance(&clk, 7 * DAY_MS);
  assert_int_equal(sy__store_expire(st), SY_OK);
  s = sy__snap_enter(st);
  assert_null(sy__snap_get(s, "/exp/soon", 9));
  assert_null(sy__snap_get(s, "/exp/later", 10));
  assert_non_null(sy__snap_get(s, "/exp/never", 10));
  sy__snap_leave(st);
  sy__store_close(st);
  rmtree(dir);
  free(dir);
}

/* ---- a token's default route ---- */

static sy_rc token_op(sy_store *st, sy_op_kind kind, const char *name, char digit, const char *route, char *msg,
                      size_t msgsz) {
  char hash[65];
  memset(hash, digit, 64);
  hash[64] = 0;
  sy_op op = {.kind = kind, .actor = "test", .token_name = name, .token_hash = hash, .token_route = route};
  op.scopes = SY_SCOPE_READ;
  sy_rc rc = sy__store_submit_wait(st, &op);
  if (msg) snprintf(msg, msgsz, "%s", op.msg);
  sy__op_clear(&op);
  return rc;
}

/* The route of the active token whose hash is 64 of digit; "(none)" when there is no such token. */
static char *route_of(sy_store *st, char digit) {
  char hash[65];
  memset(hash, digit, 64);
  hash[64] = 0;
  const sy_snap *s = sy__snap_enter(st);
  const sy_token *t = sy__snap_token(s, hash);
  char *r = strdup(t ? t->route : "(none)");
  sy__snap_leave(st);
  assert_non_null(r);
  return r;
}

static void assert_route(sy_store *st, char digit, const char *want) {
  char *got = route_of(st, digit);
  assert_string_equal(got, want);
  free(got);
}

typedef struct details {
  int n;
  char last[256];
} details;

static void on_detail(void *ctx, const sy_event *evs, size_t n) {
  details *d = ctx;
  for (size_t i = 0; i < n; i++) {
    d->n++;
    snprintf(d->last, sizeof d->last, "%s %s", evs[i].action, evs[i].detail);
  }
}

/* A token's route is checked, audited, changed, kept across a reopen, and a store made before
 * tokens had routes gains the column with every token routeless. */
static void a_token_keeps_its_route(void **state) {
  (void)state;
  char *dir = tmpdir(), msg[SY_MSG_MAX];
  sy_store *st = open_store(dir, NULL);
  details d = {0};
  sy__store_set_publish_hook(st, on_detail, &d);

  assert_int_equal(token_op(st, SY_OP_TOKEN_CREATE, "routed", '1', "/gw/a", NULL, 0), SY_OK);
  assert_string_equal(d.last, "token.create scopes=read route=/gw/a");
  assert_int_equal(token_op(st, SY_OP_TOKEN_CREATE, "plain", '2', NULL, NULL, 0), SY_OK);
  assert_string_equal(d.last, "token.create scopes=read");
  assert_int_equal(token_op(st, SY_OP_TOKEN_CREATE, "empty", '3', "", NULL, 0), SY_OK);
  assert_int_equal(token_op(st, SY_OP_TOKEN_CREATE, "bad", '4', "gw/a", msg, sizeof msg), SY_EINVAL);
  assert_string_equal(msg, "route: must start with '/'");
  assert_int_equal(token_op(st, SY_OP_TOKEN_CREATE, "bad", '4', "/gw/*", msg, sizeof msg), SY_EINVAL);
  assert_true(strncmp(msg, "route: ", 7) == 0);
  assert_route(st, '1', "/gw/a");
  assert_route(st, '2', "");
  assert_route(st, '3', "");
  assert_route(st, '4', "(none)");

  /* changed, cleared, refused on a revoked or unknown token */
  assert_int_equal(token_op(st, SY_OP_TOKEN_ROUTE, "plain", '0', "/gw/b", NULL, 0), SY_OK);
  assert_string_equal(d.last, "token.route route=/gw/b");
  assert_int_equal(token_op(st, SY_OP_TOKEN_ROUTE, "empty", '0', "/gw/c", NULL, 0), SY_OK);
  assert_int_equal(token_op(st, SY_OP_TOKEN_ROUTE, "empty", '0', NULL, NULL, 0), SY_OK);
  assert_string_equal(d.last, "token.route route=");
  assert_int_equal(token_op(st, SY_OP_TOKEN_ROUTE, "plain", '0', "x", NULL, 0), SY_EINVAL);
  assert_int_equal(token_op(st, SY_OP_TOKEN_ROUTE, "nobody", '0', "/gw/b", NULL, 0), SY_ETOKEN_NOTFOUND);
  assert_int_equal(token_op(st, SY_OP_TOKEN_REVOKE, "routed", '0', NULL, NULL, 0), SY_OK);
  assert_int_equal(token_op(st, SY_OP_TOKEN_ROUTE, "routed", '0', "/gw/b", NULL, 0), SY_ETOKEN_NOTFOUND);
  assert_route(st, '1', "(none)");
  assert_route(st, '2', "/gw/b");
  assert_route(st, '3', "");
  int events = d.n;
  sy__store_close(st);

  st = open_store(dir, NULL);
  assert_route(st, '2', "/gw/b");
  assert_route(st, '3', "");
  assert_int_equal(token_op(st, SY_OP_TOKEN_CREATE, "later", '5', "/gw/later", NULL, 0), SY_OK);
  sy__store_close(st);
  assert_int_equal(events, 7);
  if (pg_base()) { /* what follows edits an SQLite file */
    rmtree(dir);
    free(dir);
    return;
  }

  /* a store from before routes: the column goes, and comes back empty */
  char db_path[512];
  snprintf(db_path, sizeof db_path, "%s/switchyard.db", dir);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "ALTER TABLE tokens DROP COLUMN route; UPDATE meta SET v = '4' WHERE k = 'schema'",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  st = open_store(dir, NULL);
  assert_route(st, '2', "");
  assert_route(st, '5', "");
  assert_int_equal(token_op(st, SY_OP_TOKEN_ROUTE, "later", '0', "/gw/again", NULL, 0), SY_OK);
  sy__store_close(st);
  st = open_store(dir, NULL);
  assert_route(st, '5', "/gw/again");
  sy__store_close(st);
  rmtree(dir);
  free(dir);
}

/* Runs sql on the store's database behind its back (the store closed). */
static void db_exec(const char *dir, const char *sql) {
  char db_path[512];
  snprintf(db_path, sizeof db_path, "%s/switchyard.db", dir);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* A new store is at SY_SCHEMA_VERSION; an older one is migrated at open (a dry run first
 * changes nothing); a newer one is refused with both numbers and the directory. */
static void the_schema_number_decides(void **state) {
  (void)state;
  if (pg_base()) skip(); /* SQLite's migrations; PostgreSQL's are checked by tests/pg */
  char *dir = tmpdir();
  char report[1200], msg[1024], want[1200];
  sy_store *st = open_store(dir, NULL);
  assert_int_equal(put(st, "/s/a", "one", 0), SY_OK);
  sy__store_close(st);
  assert_int_equal(sy__store_migrate(dir, 0, report, sizeof report, msg, sizeof msg), SY_OK);
  snprintf(want, sizeof want, "schema %d: up to date", SY_SCHEMA_VERSION);
  assert_string_equal(report, want);

  /* schema 4, before tokens had routes: a dry run says so, and leaves it so */
  db_exec(dir, "ALTER TABLE tokens DROP COLUMN route; UPDATE meta SET v = '4' WHERE k = 'schema'");
  assert_int_equal(sy__store_migrate(dir, 1, report, sizeof report, msg, sizeof msg), SY_OK);
  snprintf(want, sizeof want, "schema 4 -> %d (dry run, nothing written): would add tokens' default routes",
           SY_SCHEMA_VERSION);
  assert_string_equal(report, want);
  assert_int_equal(sy__store_migrate(dir, 0, report, sizeof report, msg, sizeof msg), SY_OK);
  snprintf(want, sizeof want, "schema 4 -> %d: added tokens' default routes", SY_SCHEMA_VERSION);
  assert_string_equal(report, want);
  st = open_store(dir, NULL);
  assert_int_equal(put(st, "/s/a", "two", 1), SY_OK);
  sy__store_close(st);

  db_exec(dir, "UPDATE meta SET v = '99' WHERE k = 'schema'");
  snprintf(want, sizeof want, "the store in %s is of schema 99; this build knows schemas up to %d: upgrade switchyard",
           dir, SY_SCHEMA_VERSION);
  st = NULL;
  assert_int_equal(sy__store_open(dir, NULL, &st, msg, sizeof msg), SY_EINVAL);
  assert_null(st);
  assert_string_equal(msg, want);
  assert_int_equal(sy__store_migrate(dir, 1, report, sizeof report, msg, sizeof msg), SY_EINVAL);
  assert_string_equal(msg, want);

  db_exec(dir, "UPDATE meta SET v = 'seven' WHERE k = 'schema'");
  assert_int_equal(sy__store_open(dir, NULL, &st, msg, sizeof msg), SY_EIO);
  assert_non_null(strstr(msg, "'seven', which is not a schema number"));
  rmtree(dir);
  free(dir);
}

static void audit_cb(void *ctx, const sy_audit_rec *rec, const char *hash) {
  (void)hash;
  snprintf(ctx, 256, "%s %s %s", rec->action, rec->name, rec->detail);
}

/* A record op writes an audit record and an event, and no parameter. */
static void a_record_writes_no_parameter(void **state) {
  (void)state;
  char *dir = tmpdir();
  sy_store *st = open_store(dir, NULL);
  seen ev = {0};
  sy__store_set_publish_hook(st, on_events, &ev);
  static const char name[] = "/switchyard/alerts/x:y";
  sy_op op = {.kind = SY_OP_RECORD, .actor = "alerts", .rec_action = "alert.fire", .rec_detail = "severity=warning"};
  op.put.name = name;
  op.put.name_len = sizeof name - 1;
  assert_int_equal(sy__store_submit_wait(st, &op), SY_OK);
  sy__op_clear(&op);
  assert_int_equal(ev.n, 1);
  const sy_snap *s = sy__snap_enter(st);
  assert_null(sy__snap_get(s, name, sizeof name - 1));
  sy__snap_leave(st);
  char seen_rec[256] = "";
  sy_audit_query q = {.limit = 1};
  int64_t resume = 0;
  assert_int_equal(sy__store_audit(st, &q, audit_cb, seen_rec, &resume), SY_OK);
  assert_string_equal(seen_rec, "alert.fire /switchyard/alerts/x:y severity=warning");
  sy_op bad = {.kind = SY_OP_RECORD, .actor = "alerts", .rec_action = "nodot"};
  bad.put.name = name;
  bad.put.name_len = sizeof name - 1;
  assert_int_equal(sy__store_submit_wait(st, &bad), SY_EINVAL);
  sy__op_clear(&bad);
  sy__store_close(st);
  rmtree(dir);
  free(dir);
}

/* ---- two nodes on one PostgreSQL database ---- */

static int64_t snap_seq(sy_store *st) {
  const sy_snap *s = sy__snap_enter(st);
  int64_t seq = s->seq;
  sy__snap_leave(st);
  return seq;
}

/* Waits (10 s at most) until st's snapshot holds change seq. */
static void wait_seq(sy_store *st, int64_t seq) {
  for (int i = 0; i < 2000 && snap_seq(st) < seq; i++) usleep(5000);
  assert_true(snap_seq(st) >= seq);
}

static void value_is(sy_store *st, const char *name, const char *want) {
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__snap_get(s, name, strlen(name));
  char got[64] = "(none)";
  if (p) snprintf(got, sizeof got, "%.*s", (int)p->latest->value_len, p->latest->value);
  sy__snap_leave(st);
  assert_string_equal(got, want);
}

/* The change events a node published: their sequence numbers, which must follow each other. */
typedef struct seqs {
  pthread_mutex_t mu;
  int64_t last;
  int n, gaps;
} seqs;

static void on_seqs(void *ctx, const sy_event *evs, size_t n) {
  seqs *q = ctx;
  pthread_mutex_lock(&q->mu);
  for (size_t i = 0; i < n; i++) {
    if (q->last && evs[i].seq != q->last + 1) q->gaps++;
    q->last = evs[i].seq;
    q->n++;
  }
  pthread_mutex_unlock(&q->mu);
}

typedef struct pending {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int left, ok;
} pending;

static void counted(sy_op *op) {
  pending *p = op->ctx;
  pthread_mutex_lock(&p->mu);
  p->ok += op->rc == SY_OK;
  p->left--;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static void two_nodes_share_one_chain(void **state) {
  (void)state;
  if (!pg_base()) skip();
  char *d1 = tmpdir(), *d2 = tmpdir(), url[512], msg[512], key1[512], key2[512];
  pg_url_for(d1, url, sizeof url);
  sy_store *a = NULL, *b = NULL;
  assert_int_equal(sy__store_open_at(d1, url, NULL, &a, msg, sizeof msg), SY_OK);
  /* a node with another master key is refused; with the same one it joins */
  assert_int_equal(sy__store_open_at(d2, url, NULL, &b, msg, sizeof msg), SY_EINVAL);
  assert_non_null(strstr(msg, "master key"));
  snprintf(key1, sizeof key1, "%s/master.key", d1);
  snprintf(key2, sizeof key2, "%s/master.key", d2);
  unlink(key2);
  assert_int_equal(link(key1, key2), 0);
  assert_int_equal(sy__store_open_at(d2, url, NULL, &b, msg, sizeof msg), SY_OK);
  seqs qb = {.mu = PTHREAD_MUTEX_INITIALIZER};
  sy__store_set_publish_hook(b, on_seqs, &qb);

  /* a change on one node reaches the other's snapshot */
  assert_int_equal(put(a, "/n/x", "one", 0), SY_OK);
  wait_seq(b, snap_seq(a));
  value_is(b, "/n/x", "one");
  /* a conditional write is judged against the other node's: one wins */
  sy_op op = {.kind = SY_OP_PUT, .actor = "test"};
  op.put = (sy_put){.name = "/n/x", .name_len = 4, .value = "two", .value_len = 3, .overwrite = 1, .if_version = 1};
  assert_int_equal(sy__store_submit_wait(b, &op), SY_OK);
  sy__op_clear(&op);
  op.put.value = "tri";
  assert_int_equal(sy__store_submit_wait(a, &op), SY_ECONFLICT);
  sy__op_clear(&op);
  value_is(a, "/n/x", "two"); /* it caught up to judge */

  /* many writes on both at once: one sequence, one chain, every change on both */
  enum { N = 200 };
  sy_op *ops = calloc(2 * N, sizeof *ops);
  static char names[2 * N][32];
  assert_non_null(ops);
  pending p = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .left = 2 * N};
  for (int i = 0; i < 2 * N; i++) {
    snprintf(names[i], sizeof names[i], "/n/w%d", i % 40);
    ops[i] = (sy_op){.kind = SY_OP_PUT, .actor = "test", .done = counted, .ctx = &p};
    ops[i].put = (sy_put){.name = names[i],
                          .name_len = strlen(names[i]),
                          .value = i % 2 ? "b" : "a",
                          .value_len = 1,
                          .kind = SY_KIND_STRING,
                          .overwrite = 1,
                          .if_version = -1};
    assert_int_equal(sy__store_submit(i % 2 ? b : a, &ops[i]), SY_OK);
  }
  pthread_mutex_lock(&p.mu);
  while (p.left) pthread_cond_wait(&p.cv, &p.mu);
  pthread_mutex_unlock(&p.mu);
  assert_int_equal(p.ok, 2 * N);
  for (int i = 0; i < 2 * N; i++) sy__op_clear(&ops[i]);
  free(ops);
  int64_t head = snap_seq(a) > snap_seq(b) ? snap_seq(a) : snap_seq(b);
  assert_int_equal(head, 2 + 2 * N);
  wait_seq(a, head);
  wait_seq(b, head);
  int64_t records = 0, broken = -1;
  assert_int_equal(sy__store_audit_verify(b, &records, &broken, msg, sizeof msg), SY_OK);
  assert_int_equal(records, head);
  assert_int_equal(broken, 0);
  for (int i = 0; i < 40; i++) { /* both snapshots say the same of every name */
    const sy_snap *sa = sy__snap_enter(a);
    const sy_param *pa = sy__snap_get(sa, names[i], strlen(names[i]));
    int64_t va = pa ? pa->latest->version : -1;
    char ca = pa ? pa->latest->value[0] : 0;
    sy__snap_leave(a);
    const sy_snap *sb = sy__snap_enter(b);
    const sy_param *pb = sy__snap_get(sb, names[i], strlen(names[i]));
    assert_non_null(pb);
    assert_int_equal(pb->latest->version, va);
    assert_int_equal(pb->latest->value[0], ca);
    sy__snap_leave(b);
  }
  pthread_mutex_lock(&qb.mu);
  assert_int_equal(qb.gaps, 0); /* b published every change, its own and a's, in order */
  assert_int_equal(qb.last, head);
  pthread_mutex_unlock(&qb.mu);
  sy__store_close(a);
  sy__store_close(b);
  rmtree(d1);
  rmtree(d2);
  free(d1);
  free(d2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(random_ops_survive_a_reopen),     cmocka_unit_test(labels_move_together),
      cmocka_unit_test(a_label_keeps_the_reason),        cmocka_unit_test(time_is_the_injected_clock),
      cmocka_unit_test(root_names_are_one_parameter),    cmocka_unit_test(ssm_attributes_are_kept),
      cmocka_unit_test(expiration_deletes_on_the_clock), cmocka_unit_test(a_token_keeps_its_route),
      cmocka_unit_test(a_record_writes_no_parameter),    cmocka_unit_test(the_schema_number_decides),
      cmocka_unit_test(two_nodes_share_one_chain),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

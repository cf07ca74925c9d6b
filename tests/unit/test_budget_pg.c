/* test_budget_pg.c — the spending limits' ledger in PostgreSQL (gateway/gw_budget_pg.c): two
 * nodes reserving at once never pass a hard limit together, a settlement releases, a node that
 * starts again drops its reservations, a limit refused leaves the others untouched, and an
 * unreachable server refuses. Needs SY_TEST_PG_URL (a database it may write); skipped without. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gw_int.h"

#define NANO 1000000000LL

static const char *url;
static char run_id[64]; /* each run's limits are its own: a database used before stays valid */
static int64_t day;

static void limit_name(char *out, size_t cap, const char *what) {
  snprintf(out, cap, "/switchyard/limits/test/%s/%s", run_id, what);
}

static sy_gw_pg *node(const char *id) {
  sy_gw_pg *pg = NULL;
  assert_int_equal(sy__gw_pg_new(url, id, &pg), SY_OK);
  assert_non_null(pg);
  assert_string_equal(sy__gw_pg_node(pg), id);
  return pg;
}

static sy_gw_pg_total total(sy_gw_pg *pg, const char *name) {
  sy_gw_pg_total t;
  assert_int_equal(sy__gw_pg_total(pg, day, name, &t), SY_OK);
  return t;
}

static int reserve1(sy_gw_pg *pg, const char *name, int64_t hard, int64_t amount) {
  const char *names[] = {name};
  int64_t hards[] = {hard};
  int refused = -1;
  return sy__gw_pg_reserve(pg, day, 1, names, hards, amount, &refused);
}

static void settle1(sy_gw_pg *pg, const char *name, int64_t amount, int64_t cost) {
  const char *names[] = {name};
  sy__gw_pg_settle(pg, day, day, 1, names, amount, cost);
}

/* the tests that need a database are skipped without one */
#define NEED_PG()     \
  do {                \
    if (!url) skip(); \
  } while (0)

/* ---- many threads on two nodes against one hard limit ---- */

#define THREADS_PER_NODE 4
#define HARD (1 * NANO)  /* $1 */
#define EACH (7000000LL) /* $0.007: 142 fit, the 143rd would pass the limit */

typedef struct race {
  sy_gw_pg *pg;
  const char *name;
  int ok, refused, errors;
} race;

static void *racer(void *arg) {
  race *r = arg;
  for (int misses = 0; misses < 3;) {
    int rc = reserve1(r->pg, r->name, HARD, EACH);
    if (rc == 0) {
      r->ok++;
      usleep(200); /* the call in flight: its reservation holds the budget */
      settle1(r->pg, r->name, EACH, EACH);
    } else if (rc == -1) {
      r->refused++;
      misses++;
    } else {
      r->errors++;
      misses++;
    }
  }
  return NULL;
}

typedef struct watch {
  sy_gw_pg *pg;
  const char *name;
  atomic_int stop;
  int64_t most; /* the highest consumed + reserved seen */
  int reads;
} watch;

static void *watcher(void *arg) {
  watch *w = arg;
  while (!atomic_load(&w->stop)) {
    sy_gw_pg_total t;
    if (!sy__gw_pg_total(w->pg, day, w->name, &t)) {
      if (t.consumed + t.reserved > w->most) w->most = t.consumed + t.reserved;
      w->reads++;
    }
  }
  return NULL;
}

static void two_nodes_never_overshoot(void **state) {
  (void)state;
  NEED_PG();
  char name[256];
  limit_name(name, sizeof name, "race");
  sy_gw_pg *a = node("node-a"), *b = node("node-b");
  race r[2 * THREADS_PER_NODE];
  pthread_t th[2 * THREADS_PER_NODE], wt;
  watch w = {.pg = a, .name = name};
  assert_int_equal(pthread_create(&wt, NULL, watcher, &w), 0);
  for (int i = 0; i < 2 * THREADS_PER_NODE; i++) {
    r[i] = (race){i % 2 ? b : a, name, 0, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, racer, &r[i]), 0);
  }
  int ok = 0, errors = 0;
  for (int i = 0; i < 2 * THREADS_PER_NODE; i++) {
    pthread_join(th[i], NULL);
    ok += r[i].ok;
    errors += r[i].errors;
  }
  atomic_store(&w.stop, 1);
  pthread_join(wt, NULL);
  assert_int_equal(errors, 0);
  assert_int_equal(ok, (int)(HARD / EACH)); /* every one that fitted, none more */
  assert_true(w.reads > 0);
  assert_true(w.most <= HARD); /* not even for a moment, reservations included */
  total(a, name);              /* each node's settlements written */
  sy_gw_pg_total t = total(b, name);
  assert_int_equal(t.consumed, ok * EACH);
  assert_int_equal(t.reserved, 0);
  assert_int_equal(t.requests, ok);
  assert_true(t.hard_at == 1.0);           /* a refusal was recorded, at the limit it met */
  assert_true(r[0].ok > 0 && r[1].ok > 0); /* both nodes served */
  sy__gw_pg_free(a);
  sy__gw_pg_free(b);
}

/* ---- settle, restart, several limits, days ---- */

static void settle_releases(void **state) {
  (void)state;
  NEED_PG();
  char name[256];
  limit_name(name, sizeof name, "settle");
  sy_gw_pg *a = node("node-a"), *b = node("node-b");
  assert_int_equal(reserve1(a, name, 150, 100), 0);
  assert_int_equal(reserve1(b, name, 150, 100), -1); /* 100 held by a */
  sy_gw_pg_total t = total(b, name);
  assert_int_equal(t.reserved, 100);
  assert_int_equal(t.consumed, 0);
  settle1(a, name, 100, 30); /* it cost 30 */
  t = total(a, name);        /* a read waits for what its node settled before it */
  assert_int_equal(t.reserved, 0);
  assert_int_equal(t.consumed, 30);
  assert_int_equal(t.requests, 1);
  assert_int_equal(reserve1(b, name, 150, 100), 0); /* 30 + 100 fits */
  settle1(b, name, 100, -1);                        /* not sent: released, nothing charged */
  t = total(b, name);
  assert_int_equal(t.reserved, 0);
  assert_int_equal(t.consumed, 30);
  assert_int_equal(t.requests, 1);
  sy__gw_pg_free(a);
  sy__gw_pg_free(b);
}

static void restart_drops_reservations(void **state) {
  (void)state;
  NEED_PG();
  char name[256];
  limit_name(name, sizeof name, "restart");
  sy_gw_pg *a = node("node-a"), *b = node("node-b");
  assert_int_equal(reserve1(a, name, 100, 50), 0);
  sy__gw_pg_free(a); /* a dies with its call in flight */
  assert_int_equal(reserve1(b, name, 100, 60), -1);
  a = node("node-a"); /* and starts again */
  assert_int_equal(total(b, name).reserved, 0);
  assert_int_equal(reserve1(b, name, 100, 60), 0);
  assert_int_equal(total(a, name).reserved, 60); /* b's own reservation stayed */
  settle1(b, name, 60, 60);
  sy__gw_pg_free(a);
  sy__gw_pg_free(b);
}

static void one_limit_refuses_all(void **state) {
  (void)state;
  NEED_PG();
  char x[256], y[256], z[256];
  limit_name(x, sizeof x, "multi-x");
  limit_name(y, sizeof y, "multi-y");
  limit_name(z, sizeof z, "multi-\"quoted\\\"-z"); /* a name a text[] literal must escape */
  sy_gw_pg *a = node("node-a");
  const char *names[] = {z, y, x};
  int64_t hard[] = {1000, 50, 1000};
  int refused = -1;
  assert_int_equal(sy__gw_pg_reserve(a, day, 3, names, hard, 40, &refused), 0);
  assert_int_equal(sy__gw_pg_reserve(a, day, 3, names, hard, 40, &refused), -1);
  assert_int_equal(refused, 1);               /* y's, in the caller's order */
  assert_int_equal(total(a, x).reserved, 40); /* the refused call reserved nowhere */
  assert_int_equal(total(a, z).reserved, 40);
  assert_true(total(a, y).hard_at == 50e-9);
  assert_true(total(a, x).hard_at < 0);
  sy__gw_pg_settle(a, day, day, 3, names, 40, 10);
  assert_int_equal(total(a, z).consumed, 10);
  assert_int_equal(total(a, z).reserved, 0);
  sy_gw_pg_row *rows;
  int n;
  assert_int_equal(sy__gw_pg_day(a, day, &rows, &n), SY_OK);
  int seen = 0;
  for (int i = 0; i < n; i++)
    if (!strcmp(rows[i].name, z)) {
      seen++;
      assert_int_equal(rows[i].t.consumed, 10);
      assert_int_equal(rows[i].t.requests, 1);
    }
  assert_int_equal(seen, 1);
  free(rows);
  sy__gw_pg_free(a);
}

static void reserved_yesterday_charged_today(void **state) {
  (void)state;
  NEED_PG();
  char name[256];
  limit_name(name, sizeof name, "days");
  sy_gw_pg *a = node("node-a");
  const char *names[] = {name};
  int64_t hard[] = {100};
  assert_int_equal(sy__gw_pg_reserve(a, day, 1, names, hard, 80, NULL), 0);
  sy__gw_pg_settle(a, day, day + 1, 1, names, 80, 25);
  assert_int_equal(total(a, name).reserved, 0);
  assert_int_equal(total(a, name).consumed, 0);
  sy_gw_pg_total t;
  assert_int_equal(sy__gw_pg_total(a, day + 1, name, &t), SY_OK);
  assert_int_equal(t.consumed, 25);
  assert_int_equal(t.requests, 1);
  assert_int_equal(sy__gw_pg_reserve(a, day + 1, 1, names, hard, 75, NULL), 0); /* a new day: 25 + 75 fits */
  sy__gw_pg_settle(a, day + 1, day + 1, 1, names, 75, -1);
  sy__gw_pg_free(a);
}

/* ---- without PostgreSQL ---- */

static void unreachable_refuses(void **state) {
  (void)state; /* needs no server: port 1 on loopback refuses at once */
  sy_gw_pg *pg = NULL;
  assert_int_equal(sy__gw_pg_new("postgres://someone:s3cret@127.0.0.1:1/nothing", "node-x", &pg), SY_OK);
  const char *names[] = {"/switchyard/limits/global"};
  int64_t hard[] = {NANO};
  for (int i = 0; i < 3; i++) assert_int_equal(sy__gw_pg_reserve(pg, 1, 1, names, hard, 1, NULL), -2);
  sy_gw_pg_total t;
  assert_int_not_equal(sy__gw_pg_total(pg, 1, names[0], &t), SY_OK);
  sy__gw_pg_settle(pg, 1, 1, 1, names, 1, 1); /* kept for later, then dropped at free */
  sy__gw_pg_free(pg);
  assert_int_equal(sy__gw_pg_new("not a url at all ===", "n", &pg), SY_EINVAL);
}

static void urls(void **state) {
  (void)state;
  assert_true(sy__gw_pg_is_url("postgres://u@h:1/db"));
  assert_true(sy__gw_pg_is_url("postgresql://h/db?sslmode=disable"));
  assert_false(sy__gw_pg_is_url("/var/lib/switchyard/ledger.sqlite"));
  assert_false(sy__gw_pg_is_url(NULL));
}

int main(void) {
  url = getenv("SY_TEST_PG_URL");
  if (url && !*url) url = NULL;
  snprintf(run_id, sizeof run_id, "%ld-%ld", (long)getpid(), (long)time(NULL));
  day = (int64_t)time(NULL) / 86400;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(urls),
      cmocka_unit_test(unreachable_refuses),
      cmocka_unit_test(two_nodes_never_overshoot),
      cmocka_unit_test(settle_releases),
      cmocka_unit_test(restart_drops_reservations),
      cmocka_unit_test(one_limit_refuses_all),
      cmocka_unit_test(reserved_yesterday_charged_today),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

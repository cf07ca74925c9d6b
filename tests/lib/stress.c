/* stress.c — sy_stress: readers on many threads while updates arrive, for ThreadSanitizer.
 *
 *   sy_stress --server URL --token T --param NAME --flag KEY [--prefix P]... [--seconds S] [--threads N]
 *
 * The test writes NAME with values that are their own version ("7" is version 7) and KEY with
 * {"variants":{"on":"<its version>","off":"off"}} while this runs. Each thread loops over
 * sy_flag_enabled, sy_flag_evaluate, sy_param_get and sy_snapshot_acquire/get/evaluate/release,
 * and checks what the contract promises: a value matches its version, a thread never sees a
 * version or a snapshot sequence go back, a snapshot's reads agree with each other. It prints one
 * JSON line of counts and exits 0, or 1 after any inconsistency (each described on stderr),
 * 3 when the server's snapshot does not come. */
#include <switchyard.h>

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sy_client *client;
static const char *param_name;
static const char *flag_key;
static char flag_name[1024]; /* the flag's parameter name: its key with the leading '/' */
static atomic_int stop;
static atomic_long inconsistencies;
static atomic_long changes;
static atomic_long logs;
static atomic_llong max_param_version;
static atomic_llong max_flag_version;
static atomic_llong min_param_version = INT64_MAX;

static void bad(int tid, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(int tid, const char *fmt, ...) {
  long n = atomic_fetch_add(&inconsistencies, 1);
  if (n >= 20) return; /* enough to see what is wrong */
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "inconsistency (thread %d): %s\n", tid, msg);
}

static void on_change(void *ud, const sy_change *ch) {
  (void)ud;
  (void)ch;
  atomic_fetch_add(&changes, 1);
}

static void on_log(void *ud, sy_log_level level, const char *line) {
  (void)ud;
  atomic_fetch_add(&logs, 1);
  if (level >= SY_LOG_WARN) fprintf(stderr, "log: %s\n", line);
}

static void note_max(atomic_llong *m, long long v) {
  long long cur = atomic_load(m);
  while (v > cur && !atomic_compare_exchange_weak(m, &cur, v)) {
  }
}

static void note_min(atomic_llong *m, long long v) {
  long long cur = atomic_load(m);
  while (v < cur && !atomic_compare_exchange_weak(m, &cur, v)) {
  }
}

/* "7" for version 7 */
static int encodes(const char *value, size_t len, int64_t version) {
  char want[32];
  int n = snprintf(want, sizeof want, "%" PRId64, version);
  return (size_t)n == len && memcmp(value, want, len) == 0;
}

/* "\"7\"" for version 7 (the flag's "on" variant as JSON text) */
static int encodes_json(const char *value, int64_t version) {
  char want[40];
  snprintf(want, sizeof want, "\"%" PRId64 "\"", version);
  return value && strcmp(value, want) == 0;
}

typedef struct worker {
  pthread_t t;
  int id;
  long ops;
} worker;

static void *run(void *arg) {
  worker *w = arg;
  int tid = w->id;
  int64_t last_get = 0, last_seq = 0, last_flag = 0;
  char subject[32];
  for (unsigned long i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
    snprintf(subject, sizeof subject, "s-%d-%lu", tid, i % 1000);

    int on = sy_flag_enabled(client, flag_key, subject, 0);
    if (on != 0 && on != 1) bad(tid, "sy_flag_enabled returned %d", on);

    sy_eval e;
    memset(&e, 0, sizeof e);
    sy_rc rc = sy_flag_evaluate(client, flag_key, subject, NULL, &e);
    if (rc != SY_OK) {
      bad(tid, "sy_flag_evaluate: %s", sy_strerror(rc));
    } else if (e.variant) {
      if (e.version < last_flag) bad(tid, "flag version went back: %" PRId64 " after %" PRId64, e.version, last_flag);
      last_flag = e.version;
      note_max(&max_flag_version, e.version);
      if (strcmp(e.variant, "on") == 0 && !encodes_json(e.value, e.version))
        bad(tid, "flag version %" PRId64 " serves value %s", e.version, e.value ? e.value : "(null)");
    }
    sy_eval_clear(client, &e);

    char *v = NULL;
    size_t len = 0;
    int64_t ver = 0;
    sy_source src = SY_SOURCE_NONE;
    rc = sy_param_get(client, param_name, &v, &len, &ver, &src);
    if (rc == SY_OK) {
      if (!encodes(v, len, ver)) bad(tid, "sy_param_get: version %" PRId64 " has value %.40s", ver, v);
      if (ver < last_get) bad(tid, "sy_param_get: version went back: %" PRId64 " after %" PRId64, ver, last_get);
      if (strlen(v) != len) bad(tid, "sy_param_get: len %zu but strlen %zu", len, strlen(v));
      last_get = ver;
      note_max(&max_param_version, ver);
      note_min(&min_param_version, ver);
    } else if (rc != SY_ENOTFOUND) {
      bad(tid, "sy_param_get: %s", sy_strerror(rc));
    }
    sy_free(client, v);

    sy_snapshot *s = sy_snapshot_acquire(client);
    if (!s) {
      bad(tid, "sy_snapshot_acquire returned NULL");
    } else {
      int64_t seq = sy_snapshot_seq(s);
      if (seq < last_seq) bad(tid, "snapshot seq went back: %" PRId64 " after %" PRId64, seq, last_seq);
      last_seq = seq;
      sy_value a, b;
      sy_rc ra = sy_snapshot_get(s, param_name, &a);
      if (ra == SY_OK) {
        if (!encodes(a.value, a.len, a.version))
          bad(tid, "snapshot: version %" PRId64 " has value %.40s", a.version, a.value);
        if (a.version < last_get)
          bad(tid, "snapshot acquired after sy_param_get saw %" PRId64 " holds older %" PRId64, last_get, a.version);
      }
      sy_value fv;
      sy_rc rf = sy_snapshot_get(s, flag_name, &fv);
      sy_eval se;
      memset(&se, 0, sizeof se);
      rc = sy_snapshot_evaluate(s, flag_key, subject, NULL, &se);
      if (rc != SY_OK) {
        bad(tid, "sy_snapshot_evaluate: %s", sy_strerror(rc));
      } else if (se.variant) {
        if (rf == SY_OK && fv.version != se.version)
          bad(tid, "snapshot: flag document version %" PRId64 " but its evaluation says %" PRId64, fv.version,
              se.version);
        if (strcmp(se.variant, "on") == 0 && !encodes_json(se.value, se.version))
          bad(tid, "snapshot: flag version %" PRId64 " serves value %s", se.version, se.value ? se.value : "(null)");
      }
      sy_eval_clear(client, &se);
      if ((i & 7) == 0) sched_yield(); /* let the network thread publish while the snapshot is held */
      sy_rc rb = sy_snapshot_get(s, param_name, &b);
      if (ra != rb)
        bad(tid, "snapshot: two reads of one name disagree (%d, %d)", (int)ra, (int)rb);
      else if (ra == SY_OK && (a.version != b.version || a.len != b.len || strcmp(a.value, b.value) != 0))
        bad(tid, "snapshot changed while held: %" PRId64 " then %" PRId64, a.version, b.version);
      if (sy_snapshot_seq(s) != seq) bad(tid, "snapshot seq changed while held");
      sy_snapshot_release(s);
    }
    if ((i & 63) == 0) {
      sy_state st;
      if (sy_client_state(client, &st) != SY_OK) bad(tid, "sy_client_state failed");
    }
    w->ops++;
  }
  return NULL;
}

static void usage(void) {
  fputs("usage: sy_stress --server URL --token T --param NAME --flag KEY [--prefix P]... [--seconds S] [--threads N]\n",
        stderr);
  exit(2);
}

int main(int argc, char **argv) {
  sy_options *o = NULL;
  sy_rc rc = sy_options_new(&o);
  if (rc != SY_OK) {
    fprintf(stderr, "sy_options_new: %s\n", sy_strerror(rc));
    return 2;
  }
  int seconds = 5, nthreads = 10;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage();
    if (strcmp(a, "--server") == 0)
      rc = sy_options_set_server(o, v);
    else if (strcmp(a, "--token") == 0)
      rc = sy_options_set_token(o, v);
    else if (strcmp(a, "--prefix") == 0)
      rc = sy_options_add_prefix(o, v);
    else if (strcmp(a, "--param") == 0)
      param_name = v;
    else if (strcmp(a, "--flag") == 0)
      flag_key = v;
    else if (strcmp(a, "--seconds") == 0)
      seconds = atoi(v);
    else if (strcmp(a, "--threads") == 0)
      nthreads = atoi(v);
    else
      usage();
    if (rc != SY_OK) {
      fprintf(stderr, "%s %s: %s\n", a, v, sy_strerror(rc));
      return 2;
    }
    i++;
  }
  if (!param_name || !flag_key || nthreads < 1 || nthreads > 256) usage();
  snprintf(flag_name, sizeof flag_name, "%s%s", flag_key[0] == '/' ? "" : "/", flag_key);
  if ((rc = sy_options_set_on_change(o, on_change, NULL)) != SY_OK ||
      (rc = sy_options_set_log(o, on_log, NULL)) != SY_OK || (rc = sy_options_set_start_timeout(o, 5000)) != SY_OK) {
    fprintf(stderr, "options: %s\n", sy_strerror(rc));
    return 2;
  }
  if ((rc = sy_client_new(o, &client)) != SY_OK) {
    fprintf(stderr, "sy_client_new: %s\n", sy_strerror(rc));
    return 2;
  }
  sy_options_free(o);
  if ((rc = sy_client_wait(client, 0, 20000)) != SY_OK) {
    fprintf(stderr, "sy_client_wait: %s\n", sy_strerror(rc));
    sy_client_free(client);
    return 3;
  }
  worker *ws = calloc((size_t)nthreads, sizeof *ws);
  if (!ws) return 2;
  for (int i = 0; i < nthreads; i++) {
    ws[i].id = i;
    if (pthread_create(&ws[i].t, NULL, run, &ws[i]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 2;
    }
  }
  struct timespec ts = {seconds, 0};
  while (nanosleep(&ts, &ts) != 0) {
  }
  atomic_store(&stop, 1);
  long ops = 0;
  for (int i = 0; i < nthreads; i++) {
    pthread_join(ws[i].t, NULL);
    ops += ws[i].ops;
  }
  free(ws);
  sy_state st;
  memset(&st, 0, sizeof st);
  sy_client_state(client, &st);
  sy_client_free(client);
  long long minv = atomic_load(&min_param_version);
  printf("{\"threads\":%d,\"seconds\":%d,\"ops\":%ld,\"changes\":%ld,\"logs\":%ld,\"updates\":%" PRIu64
         ",\"min_param_version\":%lld,\"max_param_version\":%lld,\"max_flag_version\":%lld,\"inconsistencies\":%ld}\n",
         nthreads, seconds, ops, atomic_load(&changes), atomic_load(&logs), st.updates, minv == INT64_MAX ? 0 : minv,
         (long long)atomic_load(&max_param_version), (long long)atomic_load(&max_flag_version),
         atomic_load(&inconsistencies));
  fflush(stdout);
  return atomic_load(&inconsistencies) ? 1 : 0;
}

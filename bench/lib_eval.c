/* lib_eval.c — bench_lib_eval: what one sy_flag_enabled of a percentage flag costs in a program
 * that links libswitchyard, single-threaded and over 1, 2, 4 and 8 threads (public API only).
 *
 *   bench_lib_eval [--key KEY] [--runs R] [--iters N] [--threads "1 2 4 8"]
 *
 * SWITCHYARD_URL and SWITCHYARD_TOKEN name the server, which must hold the flag KEY (default
 * bench/lib/rollout25: a rollout of 25 %, bench/lib.sh writes it). A threaded client follows
 * the flag's name, waits for the server's snapshot, checks that the flag evaluates (reason
 * SPLIT or TARGETING_MATCH, not ERROR) and that about 25 % of the subjects are on, then times:
 *   - single: N evaluations in a row on one thread, subjects "session-0" … "session-4095" in
 *     turn (every call hashes another subject: one SHA-256 each), R runs, the median ns/eval;
 *   - threads T: T threads each do N evaluations (released together by a barrier); the wall
 *     time from the release to the last thread's end gives the total evaluations/s, each
 *     thread's own time / N its ns per evaluation (the mean over threads), the median of R runs
 *     (and the best run's total); each run measures every T in turn.
 * Human lines go to stderr; one JSON object to stdout. Exit 1 when it cannot measure. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <switchyard.h>

#define NSUBJ 4096
#define MAXT 64

static char subjects[NSUBJ][24];
static sy_client *client;
static const char *key = "bench/lib/rollout25";
static long iters = 2000000;
static volatile long sink;

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* n evaluations from subject offset off; returns how many were on. */
static long eval_loop(long n, unsigned off) {
  long on = 0;
  for (long i = 0; i < n; i++) on += sy_flag_enabled(client, key, subjects[(off + i) & (NSUBJ - 1)], 0);
  return on;
}

typedef struct worker {
  pthread_t th;
  pthread_barrier_t *bar;
  unsigned off;
  double ns; /* this thread's own time for its iters */
  long on;
} worker;

static void *work(void *ud) {
  worker *w = ud;
  pthread_barrier_wait(w->bar);
  double t0 = now_ns();
  w->on = eval_loop(iters, w->off);
  w->ns = now_ns() - t0;
  return NULL;
}

/* One run over t threads: wall ns from the release to the last end, and the mean per-thread ns/eval. */
static int run_threads(int t, double *wall_ns, double *per_eval_ns) {
  worker w[MAXT];
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, (unsigned)t + 1);
  for (int i = 0; i < t; i++) {
    w[i] = (worker){.bar = &bar, .off = (unsigned)i * 977u};
    if (pthread_create(&w[i].th, NULL, work, &w[i]) != 0) return -1;
  }
  pthread_barrier_wait(&bar);
  double t0 = now_ns();
  double sum = 0;
  long on = 0;
  for (int i = 0; i < t; i++) {
    pthread_join(w[i].th, NULL);
    sum += w[i].ns / (double)iters;
    on += w[i].on;
  }
  *wall_ns = now_ns() - t0;
  *per_eval_ns = sum / t;
  sink += on;
  pthread_barrier_destroy(&bar);
  return 0;
}

int main(int argc, char **argv) {
  int runs = 7;
  const char *tlist = "1 2 4 8";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--key") && i + 1 < argc)
      key = argv[++i];
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
      iters = atol(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      tlist = argv[++i];
    else {
      fprintf(stderr, "usage: bench_lib_eval [--key KEY] [--runs R] [--iters N] [--threads \"1 2 4 8\"]\n");
      return 2;
    }
  }
  if (runs < 1 || runs > 99 || iters < 1) return 2;
  for (int i = 0; i < NSUBJ; i++) snprintf(subjects[i], sizeof subjects[i], "session-%d", i);

  char name[512];
  snprintf(name, sizeof name, "%s%s", key[0] == '/' ? "" : "/", key);
  sy_options *o = NULL;
  sy_rc rc = sy_options_new(&o);
  if (rc == SY_OK) rc = sy_options_add_prefix(o, name);
  if (rc == SY_OK) rc = sy_options_set_start_timeout(o, 10000);
  if (rc == SY_OK) rc = sy_client_new(o, &client);
  sy_options_free(o);
  if (rc != SY_OK) {
    fprintf(stderr, "bench_lib_eval: sy_client_new: %s\n", sy_strerror(rc));
    return 1;
  }
  if ((rc = sy_client_wait(client, 0, 10000)) != SY_OK) {
    sy_state st;
    sy_client_state(client, &st);
    fprintf(stderr, "bench_lib_eval: no snapshot from the server in 10 s: %s (%s)\n", sy_strerror(rc),
            st.last_error_msg);
    return 1;
  }
  sy_eval e;
  rc = sy_flag_evaluate(client, key, "session-1", NULL, &e);
  if (rc != SY_OK || !e.reason || !strcmp(e.reason, "ERROR")) {
    fprintf(stderr, "bench_lib_eval: %s does not evaluate: %s %s %s\n", key, sy_strerror(rc),
            e.error_code ? e.error_code : "", e.error_message);
    return 1;
  }
  fprintf(stderr, "bench_lib_eval: libswitchyard %s; %s version %lld, reason %s, bucket %u\n", sy_version(), key,
          (long long)e.version, e.reason, e.bucket);
  sy_eval_clear(client, &e);
  long on = eval_loop(NSUBJ, 0);
  double share = (double)on / NSUBJ;
  fprintf(stderr, "bench_lib_eval: %ld of %d subjects on (%.1f %%)\n", on, NSUBJ, share * 100);

  eval_loop(iters / 4 + 1, 0); /* warm-up */
  double single[99];
  for (int r = 0; r < runs; r++) {
    double t0 = now_ns();
    sink += eval_loop(iters, (unsigned)r * 131u);
    single[r] = (now_ns() - t0) / (double)iters;
  }
  double smin = single[0];
  for (int r = 1; r < runs; r++) smin = single[r] < smin ? single[r] : smin;
  double smed = median(single, runs);
  fprintf(stderr, "single thread: %.1f ns per sy_flag_enabled (median of %d runs of %ld; min %.1f)\n", smed, runs,
          iters, smin);

  printf(
      "{\"version\":\"%s\",\"key\":\"%s\",\"share_on\":%.4f,\"iters\":%ld,\"runs\":%d,"
      "\"single_ns\":%.1f,\"single_min_ns\":%.1f,\"threads\":[",
      sy_version(), key, share, iters, runs, smed, smin);
  /* the thread counts in turn within each run, so that a slow moment of a shared machine falls
   * on all of them rather than on one */
  long tc[16];
  int nt = 0;
  for (const char *p = tlist; *p && nt < 16;) {
    char *end;
    long t = strtol(p, &end, 10);
    if (end == p) break;
    p = end;
    if (t >= 1 && t <= MAXT) tc[nt++] = t;
  }
  static double tot[16][99], per[16][99];
  for (int r = 0; r < runs; r++) {
    for (int k = 0; k < nt; k++) {
      double wall, pe;
      if (run_threads((int)tc[k], &wall, &pe) != 0) {
        fprintf(stderr, "bench_lib_eval: pthread_create failed\n");
        return 1;
      }
      tot[k][r] = (double)tc[k] * (double)iters / (wall / 1e9);
      per[k][r] = pe;
    }
  }
  for (int k = 0; k < nt; k++) {
    double best = 0;
    for (int r = 0; r < runs; r++) best = tot[k][r] > best ? tot[k][r] : best;
    double mtot = median(tot[k], runs), mper = median(per[k], runs);
    fprintf(stderr,
            "%ld thread%s: %.2f M evaluations/s in total (best run %.2f M/s), %.1f ns per evaluation per thread\n",
            tc[k], tc[k] > 1 ? "s" : " ", mtot / 1e6, best / 1e6, mper);
    printf("%s{\"threads\":%ld,\"evals_per_s\":%.0f,\"best_evals_per_s\":%.0f,\"ns_per_eval_thread\":%.1f}",
           k ? "," : "", tc[k], mtot, best, mper);
  }
  printf("]}\n");
  sy_client_free(client);
  return 0;
}

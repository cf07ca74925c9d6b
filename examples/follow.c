/* follow.c — a program that follows its configuration with libswitchyard (public API only).
 *
 * It follows runbook 000's provider strategy, /photoeditor/staging/provider/strategy (gemini,
 * seedream or stub), and runbook 004's flag audio-transcription/partial-results/config, and
 * prints one line when either changes: the strategy, and whether partial results are on for
 * its session. The library's own log lines (one JSON object each) go to stderr. SIGINT or
 * SIGTERM ends it, with status 0.
 *
 * Build (after `make install`, or with PKG_CONFIG_PATH=<prefix>/lib/pkgconfig):
 *
 *     cc follow.c -o follow $(pkg-config --cflags --libs switchyard)
 *
 * Run:
 *
 *     SWITCHYARD_URL=http://127.0.0.1:8000 SWITCHYARD_TOKEN=$(cat data/admin.token) ./follow [SESSION]
 *
 * SESSION is the subject of the flag's rollout (default golden-eagle-427). SWITCHYARD_URL and
 * SWITCHYARD_TOKEN are read by the library itself. FOLLOW_CACHE_FILE, when set, is the cache
 * file that lets the program start with the last values when the server is down.
 *
 * The change callback runs on the client's network thread; it only wakes the main thread
 * through a pipe, and the main thread reads the values (reads take no lock and never wait on
 * the network). The signal handler wakes it through the same pipe. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <switchyard.h>

#define STRATEGY "/photoeditor/staging/provider/strategy"
#define FLAG "audio-transcription/partial-results/config"
#define FLAG_NAME "/" FLAG

static int wake_wr = -1; /* the write end of the pipe that wakes the main thread */

static void on_signal(int sig) {
  char b = sig == SIGINT ? 'i' : 't';
  int saved = errno;
  (void)!write(wake_wr, &b, 1);
  errno = saved;
}

/* The library's log lines, as they are: one JSON object per line on stderr. */
static void on_log(void *ud, sy_log_level level, const char *line) {
  (void)ud;
  (void)level;
  fprintf(stderr, "%s\n", line);
}

/* Called once per changed parameter after the new snapshot is in place; only the two that
 * this program uses wake the main thread. */
static void on_change(void *ud, const sy_change *ch) {
  (void)ud;
  if (strcmp(ch->name, STRATEGY) == 0 || strcmp(ch->name, FLAG_NAME) == 0) {
    char b = 'c';
    (void)!write(wake_wr, &b, 1);
  }
}

/* The strategy the program would use: the parameter's value when it is one of the three, else
 * the safe one, stub. */
static void print_state(sy_client *c, const char *session) {
  char *value = NULL;
  size_t len = 0;
  int64_t version = 0;
  sy_source source = SY_SOURCE_NONE;
  const char *strategy = "stub";
  const char *note = "";
  sy_rc rc = sy_param_get(c, STRATEGY, &value, &len, &version, &source);
  if (rc == SY_OK) {
    if (strcmp(value, "gemini") == 0 || strcmp(value, "seedream") == 0 || strcmp(value, "stub") == 0)
      strategy = value;
    else
      note = " (unknown value: using stub)";
  } else {
    source = SY_SOURCE_DEFAULT;
    note = rc == SY_ENOTFOUND ? " (not set: using stub)" : " (unreadable: using stub)";
  }
  int on = sy_flag_enabled(c, FLAG, session, 0);
  sy_state st;
  int64_t seq = sy_client_state(c, &st) == SY_OK ? st.seq : 0;
  char line[512];
  snprintf(line, sizeof line, "strategy=%s%s version=%lld source=%s partial-results=%s session=%s seq=%lld\n", strategy,
           note, (long long)version, sy_source_name(source), on ? "on" : "off", session, (long long)seq);
  static char last[512];
  if (strcmp(line, last) != 0) { /* the same snapshot seen twice (a burst of wake-ups) prints once */
    fputs(line, stdout);
    memcpy(last, line, sizeof last);
  }
  sy_free(c, value);
}

int main(int argc, char **argv) {
  const char *session = argc > 1 ? argv[1] : "golden-eagle-427";
  int fds[2];
  if (pipe(fds) != 0) {
    perror("follow: pipe");
    return 1;
  }
  wake_wr = fds[1];
  fcntl(fds[1], F_SETFL, O_NONBLOCK); /* a full pipe already wakes the reader: drop the byte */
  setvbuf(stdout, NULL, _IOLBF, 0);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  sy_options *o = NULL;
  sy_rc rc = sy_options_new(&o);
  if (rc == SY_OK) rc = sy_options_add_prefix(o, STRATEGY);
  if (rc == SY_OK) rc = sy_options_add_prefix(o, FLAG_NAME);
  if (rc == SY_OK && getenv("FOLLOW_CACHE_FILE")) rc = sy_options_set_cache_file(o, getenv("FOLLOW_CACHE_FILE"));
  if (rc == SY_OK) rc = sy_options_set_log(o, on_log, NULL);
  if (rc == SY_OK) rc = sy_options_set_on_change(o, on_change, NULL);
  sy_client *c = NULL;
  if (rc == SY_OK) rc = sy_client_new(o, &c); /* waits up to 2 s for the server's snapshot */
  sy_options_free(o);
  if (rc != SY_OK) {
    fprintf(stderr, "follow: %s\n", sy_strerror(rc));
    return 1;
  }
  fprintf(stderr, "follow: libswitchyard %s, session %s\n", sy_version(), session);
  on_change(NULL, &(sy_change){.name = STRATEGY}); /* the first line: what it starts with */

  int status = 0;
  for (;;) {
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      perror("follow: poll");
      status = 1;
      break;
    }
    char buf[256];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    int changed = 0, stop = 0;
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] == 'c')
        changed = 1;
      else
        stop = 1;
    }
    if (changed) print_state(c, session); /* one line for a burst of changes */
    if (stop || n <= 0) break;
  }
  sy_client_free(c); /* no callback runs after it returns */
  close(fds[0]);
  close(fds[1]);
  return status;
}

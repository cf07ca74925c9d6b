/* evloop.c — follow.c with the client inside the program's own event loop: no thread of the
 * library's, everything happens in sy_client_step, called when sy_client_fd is readable or
 * when the timeout it returned has passed (public API only).
 *
 * It follows runbook 000's provider strategy, /photoeditor/staging/provider/strategy (gemini,
 * seedream or stub), and runbook 004's flag audio-transcription/partial-results/config, and
 * prints one line when either changes (and when the client's connection state changes, to
 * stderr). The library's log lines (JSON) go to stderr. SIGINT or SIGTERM ends it, status 0.
 *
 * Build (after `make install`, or with PKG_CONFIG_PATH=<prefix>/lib/pkgconfig):
 *
 *     cc evloop.c -o evloop $(pkg-config --cflags --libs switchyard)
 *
 * Run:
 *
 *     SWITCHYARD_URL=http://127.0.0.1:8000 SWITCHYARD_TOKEN=$(cat data/admin.token) ./evloop [SESSION]
 *
 * The loop below is poll(2) on two descriptors, the client's and a self-pipe for the signals;
 * a program with epoll, libuv or libevent watches sy_client_fd the same way (it is an epoll
 * descriptor: add it for reading) and arms a timer with the step's next_ms. */
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

static int sig_wr = -1;

static void on_signal(int sig) {
  (void)sig;
  int saved = errno;
  char b = 's';
  (void)!write(sig_wr, &b, 1);
  errno = saved;
}

static void on_log(void *ud, sy_log_level level, const char *line) {
  (void)ud;
  (void)level;
  fprintf(stderr, "%s\n", line);
}

/* Runs inside sy_client_step, on this thread: it only notes that a line is due. */
static void on_change(void *ud, const sy_change *ch) {
  int *dirty = ud;
  if (strcmp(ch->name, STRATEGY) == 0 || strcmp(ch->name, FLAG_NAME) == 0) *dirty = 1;
}

static void print_state(sy_client *c, const char *session) {
  /* One snapshot for both reads: the two values are from the same moment. */
  sy_snapshot *s = sy_snapshot_acquire(c);
  sy_value v;
  const char *strategy = "stub", *note = "";
  int64_t version = 0;
  sy_source source = SY_SOURCE_DEFAULT;
  char copy[16];
  if (sy_snapshot_get(s, STRATEGY, &v) == SY_OK) {
    version = v.version;
    source = v.source;
    if (strcmp(v.value, "gemini") == 0 || strcmp(v.value, "seedream") == 0 || strcmp(v.value, "stub") == 0) {
      snprintf(copy, sizeof copy, "%s", v.value);
      strategy = copy;
    } else {
      note = " (unknown value: using stub)";
    }
  } else {
    note = " (not set: using stub)";
  }
  sy_eval e;
  int on = 0;
  if (sy_snapshot_evaluate(s, FLAG, session, NULL, &e) == SY_OK) {
    on = e.value && strcmp(e.value, "true") == 0;
    /* a flag whose values are not booleans: on when it serves another variant than its default
     * (sy_flag_enabled's rule; this example's flag is runbook 004's boolean one) */
    sy_eval_clear(c, &e);
  }
  int64_t seq = sy_snapshot_seq(s);
  sy_snapshot_release(s);
  char line[512];
  snprintf(line, sizeof line, "strategy=%s%s version=%lld source=%s partial-results=%s session=%s seq=%lld\n", strategy,
           note, (long long)version, sy_source_name(source), on ? "on" : "off", session, (long long)seq);
  static char last[512];
  if (strcmp(line, last) != 0) { /* the same snapshot seen twice (a burst of wake-ups) prints once */
    fputs(line, stdout);
    memcpy(last, line, sizeof last);
  }
}

int main(int argc, char **argv) {
  const char *session = argc > 1 ? argv[1] : "golden-eagle-427";
  int fds[2];
  if (pipe(fds) != 0) {
    perror("evloop: pipe");
    return 1;
  }
  sig_wr = fds[1];
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int dirty = 1; /* the first line: what it starts with */
  sy_options *o = NULL;
  sy_rc rc = sy_options_new(&o);
  if (rc == SY_OK) rc = sy_options_set_threaded(o, 0);
  if (rc == SY_OK) rc = sy_options_add_prefix(o, STRATEGY);
  if (rc == SY_OK) rc = sy_options_add_prefix(o, FLAG_NAME);
  if (rc == SY_OK) rc = sy_options_set_log(o, on_log, NULL);
  if (rc == SY_OK) rc = sy_options_set_on_change(o, on_change, &dirty);
  sy_client *c = NULL;
  if (rc == SY_OK) rc = sy_client_new(o, &c); /* returns at once: nothing is fetched until a step */
  sy_options_free(o);
  if (rc != SY_OK) {
    fprintf(stderr, "evloop: %s\n", sy_strerror(rc));
    return 1;
  }
  fprintf(stderr, "evloop: libswitchyard %s, session %s\n", sy_version(), session);

  sy_conn_state shown = (sy_conn_state)-1;
  int status = 0;
  for (;;) {
    int next_ms = -1;
    sy_client_step(c, &next_ms); /* reads, connects, publishes, calls on_change */
    sy_state st;
    if (sy_client_state(c, &st) == SY_OK && st.state != shown) {
      static const char *names[] = {"starting", "synced", "reconnecting"};
      shown = st.state;
      fprintf(stderr, "evloop: %s (seq %lld%s%s)\n", (unsigned)shown < 3 ? names[shown] : "?", (long long)st.seq,
              st.last_error != SY_OK ? ", last error: " : "", st.last_error != SY_OK ? st.last_error_msg : "");
    }
    if (dirty) {
      dirty = 0;
      print_state(c, session);
    }
    struct pollfd p[2] = {{.fd = sy_client_fd(c), .events = POLLIN}, {.fd = fds[0], .events = POLLIN}};
    if (poll(p, 2, next_ms) < 0 && errno != EINTR) {
      perror("evloop: poll");
      status = 1;
      break;
    }
    if (p[1].revents & POLLIN) break; /* SIGINT or SIGTERM */
  }
  sy_client_free(c);
  close(fds[0]);
  close(fds[1]);
  return status;
}

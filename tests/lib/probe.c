/* probe.c — sy_probe: a program of libswitchyard's public API only, driven by tests/lib.
 *
 *   sy_probe follow --server URL [--token T] [--prefix P]... [--cache FILE] [--no-thread]
 *            [--start-timeout MS] [--stall-ms N] [--connect-ms N] [--request-ms N]
 *            [--backoff INIT MAX] [--count-alloc]
 *     prints one JSON line per event on stdout:
 *       {"ev":"ready",...}             once sy_client_new returned (with the API self-checks)
 *       {"ev":"change",...}            per change callback (with the value sy_param_get reads)
 *       {"ev":"log","level","line":{...}}  per log callback (line as the library's JSON)
 *     and answers one JSON line per command read from stdin:
 *       get NAME | flag KEY SUBJECT DEFAULT | eval KEY SUBJECT [CONTEXT_JSON] | snap [PREFIX]
 *       | state | wait SEQ MS | quit
 *     (SUBJECT "-" is NULL.) EOF on stdin is quit.
 *
 *   sy_probe evalmany --server URL [--token T] [--prefix P]... [--out FILE] KEY N
 *     waits for the server's snapshot, evaluates KEY for "user-0".."user-(N-1)" with
 *     sy_flag_evaluate and sy_snapshot_evaluate (they must agree), writes "subject variant" lines
 *     to FILE (stdout if none) and a summary JSON line to stdout.
 *
 * Every failure is a JSON line {"ev":"error","what","rc","error":sy_strerror(rc)}. */
#include <switchyard.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- output: one JSON line at a time, from any thread ---------------------------------- */

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static void b_put(buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      fputs("{\"ev\":\"error\",\"what\":\"probe out of memory\"}\n", stdout);
      fflush(stdout);
      exit(3);
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void b_s(buf *b, const char *s) { b_put(b, s, strlen(s)); }

static void b_f(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void b_f(buf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  b_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string of n bytes (bytes >= 0x80 are passed as they are; NULL is null). */
static void b_jstr(buf *b, const char *s, size_t n) {
  if (!s) {
    b_s(b, "null");
    return;
  }
  b_s(b, "\"");
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"')
      b_s(b, "\\\"");
    else if (ch == '\\')
      b_s(b, "\\\\");
    else if (ch == '\n')
      b_s(b, "\\n");
    else if (ch < 0x20 || ch == 0x7f)
      b_f(b, "\\u%04x", ch);
    else
      b_put(b, (const char *)&ch, 1);
  }
  b_s(b, "\"");
}

static void b_js(buf *b, const char *s) { b_jstr(b, s, s ? strlen(s) : 0); }

/* Writes b as one line and frees it. */
static void emit(buf *b) {
  pthread_mutex_lock(&out_mu);
  fwrite(b->p, 1, b->n, stdout);
  fputc('\n', stdout);
  fflush(stdout);
  pthread_mutex_unlock(&out_mu);
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

static void emit_error(const char *what, sy_rc rc) {
  buf b = {0};
  b_s(&b, "{\"ev\":\"error\",\"what\":");
  b_js(&b, what);
  b_f(&b, ",\"rc\":%d,\"error\":", (int)rc);
  b_js(&b, sy_strerror(rc));
  b_s(&b, "}");
  emit(&b);
}

static const char *state_name(sy_conn_state s) {
  switch (s) {
  case SY_STATE_STARTING: return "starting";
  case SY_STATE_SYNCED: return "synced";
  case SY_STATE_RECONNECTING: return "reconnecting";
  }
  return "?";
}

static const char *level_name(sy_log_level l) {
  switch (l) {
  case SY_LOG_DEBUG: return "debug";
  case SY_LOG_INFO: return "info";
  case SY_LOG_WARN: return "warn";
  case SY_LOG_ERROR: return "error";
  }
  return "?";
}

/* ---- a counting allocator (--count-alloc) ----------------------------------------------- */

static atomic_long live_allocs;
static atomic_long total_allocs;

static void *ca_malloc(void *ud, size_t n) {
  (void)ud;
  void *p = malloc(n ? n : 1);
  if (p) {
    atomic_fetch_add(&live_allocs, 1);
    atomic_fetch_add(&total_allocs, 1);
  }
  return p;
}
static void *ca_realloc(void *ud, void *p, size_t n) {
  (void)ud;
  void *q = realloc(p, n ? n : 1);
  if (q && !p) {
    atomic_fetch_add(&live_allocs, 1);
    atomic_fetch_add(&total_allocs, 1);
  }
  return q;
}
static void ca_free(void *ud, void *p) {
  (void)ud;
  if (!p) return;
  atomic_fetch_sub(&live_allocs, 1);
  free(p);
}

/* ---- the client and its callbacks ------------------------------------------------------ */

static sy_client *client;
/* the client as the callbacks see it: the first snapshot's callbacks may run before
 * sy_client_new has returned (and before `client` is set) */
static _Atomic(sy_client *) cb_client;
static int threaded = 1;

static void on_log(void *ud, sy_log_level level, const char *line) {
  (void)ud;
  buf b = {0};
  b_s(&b, "{\"ev\":\"log\",\"level\":");
  b_js(&b, level_name(level));
  if (!line) {
    b_s(&b, ",\"bad\":\"NULL line\"}");
  } else if (strchr(line, '\n') || line[0] != '{') {
    /* not one JSON object on one line: the test sees it as "bad" */
    b_s(&b, ",\"bad\":");
    b_js(&b, line);
    b_s(&b, "}");
  } else {
    b_s(&b, ",\"line\":");
    b_s(&b, line);
    b_s(&b, "}");
  }
  emit(&b);
}

static void on_change(void *ud, const sy_change *ch) {
  (void)ud;
  buf b = {0};
  char *v = NULL;
  size_t len = 0;
  int64_t ver = 0;
  sy_source src = SY_SOURCE_NONE;
  sy_client *c = atomic_load(&cb_client);
  sy_rc rc = c ? sy_param_get(c, ch->name, &v, &len, &ver, &src) : SY_RC_MAX;
  b_s(&b, "{\"ev\":\"change\",\"name\":");
  b_js(&b, ch->name);
  b_s(&b, ",\"action\":");
  b_js(&b, ch->action);
  b_s(&b, ",\"type\":");
  b_js(&b, ch->type);
  b_f(&b, ",\"version\":%" PRId64 ",\"seq\":%" PRId64 ",\"source\":", ch->version, ch->seq);
  b_js(&b, sy_source_name(ch->source));
  b_f(&b, ",\"get_rc\":%d", (int)rc);
  if (rc == SY_OK) {
    b_s(&b, ",\"value\":");
    b_jstr(&b, v, len);
    b_f(&b, ",\"value_version\":%" PRId64 ",\"value_source\":", ver);
    b_js(&b, sy_source_name(src));
    if (strlen(v) != len) b_s(&b, ",\"len_mismatch\":true");
  }
  b_s(&b, "}");
  if (c) sy_free(c, v);
  emit(&b);
}

/* ---- self-checks of the API's documented edges, reported in the "ready" line ------------- */

static void check(buf *b, int *n, int ok, const char *what) {
  if (ok) return;
  if ((*n)++) b_s(b, ",");
  b_js(b, what);
}

static void selfcheck(buf *b) {
  int n = 0;
  b_s(b, ",\"violations\":[");
  check(b, &n, strcmp(sy_version(), SWITCHYARD_VERSION) == 0, "sy_version() != SWITCHYARD_VERSION");
  check(b, &n, sy_version_number() == SWITCHYARD_VERSION_NUMBER, "sy_version_number() != SWITCHYARD_VERSION_NUMBER");
  for (int rc = 0; rc <= SY_RC_MAX; rc++) check(b, &n, sy_strerror((sy_rc)rc) != NULL, "sy_strerror returned NULL");
  check(b, &n, sy_strerror((sy_rc)12345) != NULL, "sy_strerror(out of range) returned NULL");
  check(b, &n, strcmp(sy_source_name(SY_SOURCE_STREAM), "stream") == 0, "sy_source_name(STREAM) != stream");
  check(b, &n, strcmp(sy_source_name(SY_SOURCE_CACHE), "cache") == 0, "sy_source_name(CACHE) != cache");
  check(b, &n, strcmp(sy_source_name(SY_SOURCE_ENV), "env") == 0, "sy_source_name(ENV) != env");
  check(b, &n, strcmp(sy_source_name(SY_SOURCE_DEFAULT), "default") == 0, "sy_source_name(DEFAULT) != default");
  check(b, &n, strcmp(sy_source_name(SY_SOURCE_NONE), "none") == 0, "sy_source_name(NONE) != none");
  check(b, &n, sy_source_name((sy_source)99) != NULL, "sy_source_name(99) returned NULL");

  sy_options *o = NULL;
  sy_rc rc = sy_options_new(&o);
  check(b, &n, rc == SY_OK && o, "sy_options_new failed");
  if (o) {
    check(b, &n, sy_options_set_server(o, "ftp://example.com") == SY_EINVAL, "set_server(ftp://) is not SY_EINVAL");
    check(b, &n, sy_options_set_server(o, "http://127.0.0.1:1") == SY_OK, "set_server(http://) failed");
    check(b, &n, sy_options_set_token(o, "a\nb") == SY_EINVAL, "set_token(control char) is not SY_EINVAL");
    sy_options_free(o);
  }
  sy_options_free(NULL);
  sy_client_free(NULL);
  sy_free(client, NULL);

  check(b, &n, !threaded || sy_client_fd(client) == -1, "sy_client_fd of a threaded client != -1");
  if (threaded) {
    check(b, &n, sy_client_step(client, NULL) == SY_EINVAL, "sy_client_step on a threaded client is not SY_EINVAL");
  } else {
    check(b, &n, sy_client_fd(client) >= 0, "sy_client_fd of an unthreaded client < 0");
    check(b, &n, sy_client_wait(client, 0, 0) == SY_EINVAL, "sy_client_wait on an unthreaded client is not SY_EINVAL");
  }
  sy_eval e;
  memset(&e, 0, sizeof e);
  check(b, &n, sy_flag_evaluate(client, NULL, "s", NULL, &e) == SY_EINVAL,
        "sy_flag_evaluate(NULL key) is not SY_EINVAL");
  sy_eval_clear(client, &e);

  /* a flag nobody has: FLAG_NOT_FOUND with source default, reason ERROR */
  memset(&e, 0, sizeof e);
  rc = sy_flag_evaluate(client, "probe-selfcheck/no/such/flag", "s", NULL, &e);
  check(b, &n, rc == SY_OK, "sy_flag_evaluate(missing flag) is not SY_OK");
  if (rc == SY_OK) {
    check(b, &n, e.reason && strcmp(e.reason, "ERROR") == 0, "missing flag: reason != ERROR");
    check(b, &n, e.error_code && strcmp(e.error_code, "FLAG_NOT_FOUND") == 0,
          "missing flag: error_code != FLAG_NOT_FOUND");
    check(b, &n, e.source == SY_SOURCE_DEFAULT, "missing flag: source != default");
    check(b, &n, e.variant == NULL, "missing flag: variant != NULL");
    check(b, &n, e.version == 0, "missing flag: version != 0");
  }
  sy_eval_clear(client, &e);
  check(b, &n, e.variant == NULL && e.value == NULL, "sy_eval_clear did not zero");
  check(b, &n, sy_flag_enabled(client, "probe-selfcheck/no/such/flag", "s", 1) == 1,
        "sy_flag_enabled(missing, default 1) != 1");
  check(b, &n, sy_flag_enabled(client, "probe-selfcheck/no/such/flag", "s", 0) == 0,
        "sy_flag_enabled(missing, default 0) != 0");
  char *v = NULL;
  size_t len = 0;
  check(b, &n, sy_param_get(client, "/probe-selfcheck/no/such/param", &v, &len, NULL, NULL) == SY_ENOTFOUND,
        "sy_param_get(missing) is not SY_ENOTFOUND");
  sy_free(client, v);
  sy_snapshot *s = sy_snapshot_acquire(client);
  check(b, &n, s != NULL, "sy_snapshot_acquire returned NULL");
  if (s) {
    sy_value sv;
    check(b, &n, sy_snapshot_get(s, "/probe-selfcheck/no/such/param", &sv) == SY_ENOTFOUND,
          "sy_snapshot_get(missing) is not SY_ENOTFOUND");
    sy_snapshot_release(s);
  }
  sy_state st;
  check(b, &n, sy_client_state(client, &st) == SY_OK, "sy_client_state failed");
  b_s(b, "]");
}

/* ---- commands ---------------------------------------------------------------------------- */

static const char *subj(const char *s) { return s && strcmp(s, "-") != 0 ? s : NULL; }

static void eval_fields(buf *b, const sy_eval *e) {
  b_s(b, ",\"variant\":");
  b_js(b, e->variant);
  b_s(b, ",\"value\":");
  b_js(b, e->value);
  b_s(b, ",\"reason\":");
  b_js(b, e->reason);
  b_s(b, ",\"error_code\":");
  b_js(b, e->error_code);
  b_s(b, ",\"error_message\":");
  b_jstr(b, e->error_message, strnlen(e->error_message, sizeof e->error_message));
  b_f(b, ",\"version\":%" PRId64 ",\"source\":", e->version);
  b_js(b, sy_source_name(e->source));
  if (e->bucket == UINT32_MAX)
    b_s(b, ",\"bucket\":null");
  else
    b_f(b, ",\"bucket\":%" PRIu32, e->bucket);
  b_f(b, ",\"rule\":%d", e->rule);
}

static void cmd_get(const char *name) {
  buf b = {0};
  char *v = NULL;
  size_t len = 0;
  int64_t ver = -1;
  sy_source src = SY_SOURCE_NONE;
  sy_rc rc = sy_param_get(client, name, &v, &len, &ver, &src);
  b_s(&b, "{\"ev\":\"get\",\"name\":");
  b_js(&b, name);
  b_f(&b, ",\"rc\":%d", (int)rc);
  if (rc == SY_OK) {
    b_s(&b, ",\"value\":");
    b_jstr(&b, v, len);
    b_f(&b, ",\"len\":%zu,\"version\":%" PRId64 ",\"source\":", len, ver);
    b_js(&b, sy_source_name(src));
    /* the same through a snapshot (it may be newer, never older) */
    sy_snapshot *s = sy_snapshot_acquire(client);
    sy_value sv;
    sy_rc src_rc = sy_snapshot_get(s, name, &sv);
    b_f(&b, ",\"snap_rc\":%d", (int)src_rc);
    if (src_rc == SY_OK) {
      b_f(&b, ",\"snap_version\":%" PRId64 ",\"snap_source\":", sv.version);
      b_js(&b, sy_source_name(sv.source));
      b_s(&b, ",\"snap_type\":");
      b_js(&b, sv.type);
      b_s(&b, ",\"snap_name\":");
      b_js(&b, sv.name);
      if (sv.value && strlen(sv.value) != sv.len) b_s(&b, ",\"snap_len_mismatch\":true");
    }
    sy_snapshot_release(s);
  } else {
    b_s(&b, ",\"error\":");
    b_js(&b, sy_strerror(rc));
  }
  b_s(&b, "}");
  sy_free(client, v);
  emit(&b);
}

static void cmd_flag(const char *key, const char *subject, const char *dflt) {
  buf b = {0};
  int d = dflt ? atoi(dflt) : 0;
  int on = sy_flag_enabled(client, key, subj(subject), d);
  b_s(&b, "{\"ev\":\"flag\",\"key\":");
  b_js(&b, key);
  b_f(&b, ",\"enabled\":%d}", on);
  emit(&b);
}

static void cmd_eval(const char *key, const char *subject, const char *ctx) {
  buf b = {0};
  sy_eval e;
  memset(&e, 0, sizeof e);
  sy_rc rc = sy_flag_evaluate(client, key, subj(subject), ctx, &e);
  b_s(&b, "{\"ev\":\"eval\",\"key\":");
  b_js(&b, key);
  b_f(&b, ",\"rc\":%d", (int)rc);
  if (rc == SY_OK) {
    eval_fields(&b, &e);
    sy_snapshot *s = sy_snapshot_acquire(client);
    sy_eval se;
    memset(&se, 0, sizeof se);
    sy_rc src = sy_snapshot_evaluate(s, key, subj(subject), ctx, &se);
    b_f(&b, ",\"snap\":{\"rc\":%d", (int)src);
    if (src == SY_OK) eval_fields(&b, &se);
    b_s(&b, "}");
    sy_eval_clear(client, &se);
    sy_snapshot_release(s);
  } else {
    b_s(&b, ",\"error\":");
    b_js(&b, sy_strerror(rc));
  }
  b_s(&b, "}");
  sy_eval_clear(client, &e);
  emit(&b);
}

typedef struct each_ctx {
  buf *b;
  int n;
} each_ctx;

static int each_fn(void *ud, const sy_value *v) {
  each_ctx *x = ud;
  if (x->n++) b_s(x->b, ",");
  b_s(x->b, "{\"name\":");
  b_js(x->b, v->name);
  b_s(x->b, ",\"value\":");
  b_jstr(x->b, v->value, v->len);
  b_s(x->b, ",\"type\":");
  b_js(x->b, v->type);
  b_f(x->b, ",\"version\":%" PRId64 ",\"source\":", v->version);
  b_js(x->b, sy_source_name(v->source));
  b_s(x->b, "}");
  return 0;
}

static void cmd_snap(const char *prefix) {
  buf b = {0};
  sy_snapshot *s = sy_snapshot_acquire(client);
  b_f(&b, "{\"ev\":\"snap\",\"seq\":%" PRId64 ",\"source\":", sy_snapshot_seq(s));
  b_js(&b, sy_source_name(sy_snapshot_source(s)));
  b_f(&b, ",\"count\":%zu,\"params\":[", sy_snapshot_count(s));
  each_ctx x = {&b, 0};
  sy_snapshot_each(s, prefix, each_fn, &x);
  b_s(&b, "]}");
  sy_snapshot_release(s);
  emit(&b);
}

static void cmd_state(void) {
  buf b = {0};
  sy_state st;
  memset(&st, 0, sizeof st);
  sy_rc rc = sy_client_state(client, &st);
  if (rc != SY_OK) {
    emit_error("sy_client_state", rc);
    return;
  }
  b_s(&b, "{\"ev\":\"state\",\"state\":");
  b_js(&b, state_name(st.state));
  b_s(&b, ",\"source\":");
  b_js(&b, sy_source_name(st.source));
  b_f(&b,
      ",\"seq\":%" PRId64 ",\"params\":%zu,\"updates\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"synced_ms\":%" PRId64
      ",\"last_error\":%d,\"last_error_msg\":",
      st.seq, st.params, st.updates, st.reconnects, st.synced_ms, (int)st.last_error);
  b_jstr(&b, st.last_error_msg, strnlen(st.last_error_msg, sizeof st.last_error_msg));
  b_s(&b, "}");
  emit(&b);
}

static void cmd_wait(const char *seq, const char *ms) {
  buf b = {0};
  sy_rc rc = sy_client_wait(client, seq ? strtoll(seq, NULL, 10) : 0, ms ? atoi(ms) : 0);
  b_f(&b, "{\"ev\":\"wait\",\"rc\":%d,\"error\":", (int)rc);
  b_js(&b, sy_strerror(rc));
  b_s(&b, "}");
  emit(&b);
}

/* One command line (modified in place). Returns 1 on quit. */
static int command(char *line) {
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
  if (!n) return 0;
  char *rest = line;
  char *tok[3] = {0};
  for (int i = 0; i < 3 && rest && *rest; i++) {
    tok[i] = rest;
    char *sp = strchr(rest, ' ');
    if (sp) {
      *sp = 0;
      rest = sp + 1;
    } else {
      rest = NULL;
    }
  }
  const char *cmd = tok[0];
  if (strcmp(cmd, "quit") == 0) return 1;
  if (strcmp(cmd, "get") == 0 && tok[1]) {
    cmd_get(tok[1]);
  } else if (strcmp(cmd, "flag") == 0 && tok[1] && tok[2] && rest) {
    cmd_flag(tok[1], tok[2], rest);
  } else if (strcmp(cmd, "eval") == 0 && tok[1] && tok[2]) {
    cmd_eval(tok[1], tok[2], rest && *rest ? rest : NULL);
  } else if (strcmp(cmd, "snap") == 0) {
    cmd_snap(tok[1]);
  } else if (strcmp(cmd, "state") == 0) {
    cmd_state();
  } else if (strcmp(cmd, "wait") == 0) {
    cmd_wait(tok[1], tok[2]);
  } else {
    buf b = {0};
    b_s(&b, "{\"ev\":\"error\",\"what\":\"unknown command\",\"command\":");
    b_js(&b, cmd);
    b_s(&b, "}");
    emit(&b);
  }
  return 0;
}

/* ---- options ----------------------------------------------------------------------------- */

static void usage(void) {
  fputs(
      "usage: sy_probe follow|evalmany --server URL [--token T] [--prefix P]... [--cache FILE] [--no-thread]\n"
      "       [--start-timeout MS] [--stall-ms N] [--connect-ms N] [--request-ms N] [--backoff INIT MAX]\n"
      "       [--count-alloc] [--out FILE] [KEY N]\n",
      stderr);
  exit(2);
}

static int must(const char *what, sy_rc rc) {
  if (rc != SY_OK) {
    emit_error(what, rc);
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  const char *mode = argv[1];
  if (strcmp(mode, "follow") != 0 && strcmp(mode, "evalmany") != 0) usage();
  sy_options *o = NULL;
  if (!must("sy_options_new", sy_options_new(&o))) return 1;
  int connect_ms = 0, request_ms = 0, stall_ms = 0, count_alloc = 0;
  const char *out_path = NULL;
  const char *pos[2] = {0};
  int npos = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--server") == 0 && v) {
      if (!must("sy_options_set_server", sy_options_set_server(o, v))) return 1;
      i++;
    } else if (strcmp(a, "--token") == 0 && v) {
      if (!must("sy_options_set_token", sy_options_set_token(o, v))) return 1;
      i++;
    } else if (strcmp(a, "--prefix") == 0 && v) {
      if (!must("sy_options_add_prefix", sy_options_add_prefix(o, v))) return 1;
      i++;
    } else if (strcmp(a, "--cache") == 0 && v) {
      if (!must("sy_options_set_cache_file", sy_options_set_cache_file(o, v))) return 1;
      i++;
    } else if (strcmp(a, "--no-thread") == 0) {
      threaded = 0;
    } else if (strcmp(a, "--start-timeout") == 0 && v) {
      if (!must("sy_options_set_start_timeout", sy_options_set_start_timeout(o, atoi(v)))) return 1;
      i++;
    } else if (strcmp(a, "--stall-ms") == 0 && v) {
      stall_ms = atoi(v);
      i++;
    } else if (strcmp(a, "--connect-ms") == 0 && v) {
      connect_ms = atoi(v);
      i++;
    } else if (strcmp(a, "--request-ms") == 0 && v) {
      request_ms = atoi(v);
      i++;
    } else if (strcmp(a, "--backoff") == 0 && v && i + 2 < argc) {
      if (!must("sy_options_set_backoff", sy_options_set_backoff(o, atoi(v), atoi(argv[i + 2])))) return 1;
      i += 2;
    } else if (strcmp(a, "--count-alloc") == 0) {
      count_alloc = 1;
    } else if (strcmp(a, "--out") == 0 && v) {
      out_path = v;
      i++;
    } else if (a[0] != '-' && npos < 2) {
      pos[npos++] = a;
    } else {
      usage();
    }
  }
  if (connect_ms || request_ms || stall_ms) {
    if (!must("sy_options_set_timeouts", sy_options_set_timeouts(o, connect_ms, request_ms, stall_ms))) return 1;
  }
  if (count_alloc) {
    sy_allocator al = {ca_malloc, ca_realloc, ca_free, NULL};
    if (!must("sy_options_set_allocator", sy_options_set_allocator(o, &al))) return 1;
  }
  if (!must("sy_options_set_threaded", sy_options_set_threaded(o, threaded))) return 1;
  if (!must("sy_options_set_log", sy_options_set_log(o, on_log, NULL))) return 1;

  if (strcmp(mode, "evalmany") == 0) {
    if (npos != 2 || !threaded) usage();
    const char *key = pos[0];
    long nsubj = strtol(pos[1], NULL, 10);
    if (!must("sy_client_new", sy_client_new(o, &client))) return 1;
    sy_options_free(o);
    if (!must("sy_client_wait", sy_client_wait(client, 0, 20000))) return 1;
    FILE *out = out_path ? fopen(out_path, "w") : stdout;
    if (!out) {
      buf b = {0};
      b_s(&b, "{\"ev\":\"error\",\"what\":\"fopen --out\",\"error\":");
      b_js(&b, strerror(errno));
      b_s(&b, "}");
      emit(&b);
      return 1;
    }
    sy_snapshot *s = sy_snapshot_acquire(client);
    long mismatches = 0, errors = 0;
    int64_t version = -1;
    const char *source = "none";
    char subject[64];
    for (long i = 0; i < nsubj; i++) {
      snprintf(subject, sizeof subject, "user-%ld", i);
      sy_eval e, se;
      memset(&e, 0, sizeof e);
      memset(&se, 0, sizeof se);
      sy_rc rc = sy_flag_evaluate(client, key, subject, NULL, &e);
      sy_rc rc2 = sy_snapshot_evaluate(s, key, subject, NULL, &se);
      if (rc != SY_OK || rc2 != SY_OK) {
        emit_error(rc != SY_OK ? "sy_flag_evaluate" : "sy_snapshot_evaluate", rc != SY_OK ? rc : rc2);
        return 1;
      }
      if (!e.variant) errors++;
      if (i == 0) {
        version = e.version;
        source = sy_source_name(e.source);
      }
      if (e.version != version || se.version != e.version || (e.variant == NULL) != (se.variant == NULL) ||
          (e.variant && strcmp(e.variant, se.variant) != 0) ||
          (e.value && se.value && strcmp(e.value, se.value) != 0) || e.bucket != se.bucket)
        mismatches++;
      fprintf(out, "%s %s\n", subject, e.variant ? e.variant : (e.error_code ? e.error_code : "?"));
      sy_eval_clear(client, &e);
      sy_eval_clear(client, &se);
    }
    sy_snapshot_release(s);
    if (out != stdout && fclose(out) != 0) {
      emit_error("fclose --out", SY_EIO);
      return 1;
    }
    fflush(stdout);
    buf b = {0};
    b_f(&b,
        "{\"ev\":\"evalmany\",\"n\":%ld,\"version\":%" PRId64 ",\"errors\":%ld,\"mismatches\":%ld,\"source\":", nsubj,
        version, errors, mismatches);
    b_js(&b, source);
    b_s(&b, "}");
    emit(&b);
    sy_client_free(client);
    return mismatches ? 1 : 0;
  }

  if (!must("sy_options_set_on_change", sy_options_set_on_change(o, on_change, NULL))) return 1;
  if (!must("sy_client_new", sy_client_new(o, &client))) return 1;
  atomic_store(&cb_client, client);
  sy_options_free(o);
  {
    buf b = {0};
    sy_state st;
    memset(&st, 0, sizeof st);
    sy_rc rc = sy_client_state(client, &st);
    b_f(&b, "{\"ev\":\"ready\",\"threaded\":%d,\"fd\":%d,\"state_rc\":%d,\"state\":", threaded, sy_client_fd(client),
        (int)rc);
    b_js(&b, state_name(st.state));
    b_s(&b, ",\"source\":");
    b_js(&b, sy_source_name(st.source));
    selfcheck(&b);
    b_s(&b, "}");
    emit(&b);
  }

  int quit = 0;
  if (threaded) {
    char *line = NULL;
    size_t cap = 0;
    while (!quit && getline(&line, &cap, stdin) >= 0) quit = command(line);
    free(line);
  } else {
    int fd = sy_client_fd(client);
    char *in = NULL;
    size_t in_n = 0, in_cap = 0;
    int eof = 0;
    while (!quit && !eof) {
      int next = -1;
      sy_rc rc = sy_client_step(client, &next);
      if (rc != SY_OK) emit_error("sy_client_step", rc);
      struct pollfd p[2] = {{fd, POLLIN, 0}, {0, POLLIN, 0}};
      int r = poll(p, 2, next);
      if (r < 0) {
        if (errno == EINTR) continue;
        emit_error("poll", SY_EIO);
        break;
      }
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        char chunk[4096];
        ssize_t k = read(0, chunk, sizeof chunk);
        if (k <= 0) {
          eof = 1;
        } else {
          if (in_n + (size_t)k + 1 > in_cap) {
            in_cap = (in_n + (size_t)k + 1) * 2;
            char *q = realloc(in, in_cap);
            if (!q) return 3;
            in = q;
          }
          memcpy(in + in_n, chunk, (size_t)k);
          in_n += (size_t)k;
          in[in_n] = 0;
          char *nl;
          while (!quit && (nl = memchr(in, '\n', in_n)) != NULL) {
            *nl = 0;
            size_t used = (size_t)(nl - in) + 1;
            quit = command(in);
            memmove(in, in + used, in_n - used);
            in_n -= used;
            in[in_n] = 0;
          }
        }
      }
    }
    free(in);
  }
  atomic_store(&cb_client, NULL);
  sy_client_free(client);
  client = NULL;
  buf b = {0};
  b_f(&b, "{\"ev\":\"bye\",\"count_alloc\":%d,\"live_allocs\":%ld,\"total_allocs\":%ld}", count_alloc,
      (long)atomic_load(&live_allocs), (long)atomic_load(&total_allocs));
  emit(&b);
  return 0;
}

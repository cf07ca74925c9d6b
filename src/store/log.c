/* log.c — how the store says why something failed: a hook the server sets, stderr by default. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"

void sy__log_stderr(const char *level, const char *msg, json_t *fields) {
  char t[32];
  sy__fmt_time(sy__clock_now(sy__clock_system()), t, sizeof t);
  json_t *o = fields ? fields : json_object();
  if (!o) return;
  json_object_set_new(o, "time", json_string(t));
  json_object_set_new(o, "level", json_string(level));
  json_object_set_new(o, "msg", json_string(msg));
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (!s) return;
  size_t n = strlen(s);
  s[n] = '\n'; /* jansson allocated n+1 bytes: the line goes out in one write and never interleaves */
  ssize_t w = write(2, s, n + 1);
  (void)w;
  free(s);
}

void sy__store_set_log_hook(sy_store *st, sy_log_hook hook) { __atomic_store_n(&st->log, hook, __ATOMIC_RELEASE); }

void sy__store_log(sy_store *st, const char *level, const char *msg, json_t *fields) {
  sy_log_hook h = st ? __atomic_load_n(&st->log, __ATOMIC_ACQUIRE) : NULL;
  (h ? h : sy__log_stderr)(level, msg, fields);
}

json_t *sy__db_cause(sqlite3 *db, const char *step) {
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "step", json_string(step ? step : "?"));
  if (!db) {
    json_object_set_new(o, "sqlite_msg", json_string("no connection"));
    return o;
  }
  int code = sqlite3_extended_errcode(db), sys = sqlite3_system_errno(db);
  json_object_set_new(o, "sqlite_code", json_integer(code));
  json_object_set_new(o, "sqlite_error", json_string(sqlite3_errstr(code)));
  json_object_set_new(o, "sqlite_msg", json_string(sqlite3_errmsg(db)));
  if (sys) json_object_set_new(o, "errno", json_string(strerror(sys)));
  return o;
}

sy_rc sy__read_failed(sy_store *st, sqlite3 *db, const char *step, sy_rc rc) {
  if (rc != SY_EIO && rc != SY_ENOMEM && rc != SY_EINTERNAL) return rc;
  json_t *f = rc == SY_EIO ? sy__db_cause(db, step) : json_pack("{ss}", "step", step);
  if (f) json_object_set_new(f, "status", json_string(sy_strerror(rc)));
  sy__store_log(st, "error", "read failed", f);
  return rc;
}

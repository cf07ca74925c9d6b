/* sqlite_write.c — the SQLite engine behind the write rules (backend.h): the batch's
 * transaction and savepoints, the rows of versions, parameters, audit records and
 * credentials, and the fsync of the write-ahead log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/backend.h"
#include "store/store_int.h"

/* ---- why a step failed: the first failing step of an op records its cause ---- */

static void explain(sy_store *st, const char *step) {
  int code = sqlite3_errcode(st->db);
  if (!st->cause && code != SQLITE_OK && code != SQLITE_ROW && code != SQLITE_DONE)
    st->cause = sy__db_cause(st->db, step);
}

static const char *errmsg(sy_store *st) { return sqlite3_errmsg(st->db); }

static void cause_sql(sy_store *st, const char *step) {
  if (!st->cause) st->cause = sy__db_cause(st->db, step);
}

static sy_rc exec(sy_store *st, const char *sql) {
  if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK) return SY_OK;
  cause_sql(st, sql);
  return SY_EIO;
}

static sqlite3_stmt *prep(sy_store *st, const char *sql) {
  sqlite3_stmt *q = sy__stmt(st->db, sql);
  if (!q) cause_sql(st, sql);
  return q;
}

/* Runs a statement (from prep, NULL if that failed) to completion and hands it back to the cache. */
static sy_rc run(sy_store *st, sqlite3_stmt *q) {
  if (!q) return SY_EIO;
  int s = sqlite3_step(q);
  if (s != SQLITE_DONE && s != SQLITE_ROW) cause_sql(st, sqlite3_sql(q));
  sy__stmt_done(q);
  return (s == SQLITE_DONE || s == SQLITE_ROW) ? SY_OK : SY_EIO;
}

/* ---- the transaction ---- */

static sy_rc begin(sy_store *st) { return exec(st, "BEGIN IMMEDIATE"); }
static sy_rc commit(sy_store *st) { return exec(st, "COMMIT"); }
static void abort_batch(sy_store *st) { sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL); }
static sy_rc savepoint(sy_store *st) { return exec(st, "SAVEPOINT op"); }
static sy_rc release(sy_store *st) { return exec(st, "RELEASE op"); }

static sy_rc undo(sy_store *st) {
  sy_rc rc = exec(st, "ROLLBACK TO op");
  sy_rc rc2 = exec(st, "RELEASE op");
  return rc ? rc : rc2;
}

/* The commits went to the WAL (synchronous=NORMAL): one fdatasync makes all of them durable. */
static int sync_log(sy_store *st) {
  if (st->wal_fd < 0) {
    char path[4096];
    snprintf(path, sizeof path, "%s-wal", st->db_path);
    st->wal_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (st->wal_fd < 0) return errno ? errno : EIO;
  }
  return fdatasync(st->wal_fd) ? (errno ? errno : EIO) : 0;
}

/* ---- rows ---- */

static sy_rc read_version(sy_store *st, const char *name, int64_t version, sy_ver **out) {
  sy_rc rc = sy__db_read_version(st->db, name, version, out);
  if (rc == SY_EIO) cause_sql(st, "read a version");
  return rc;
}

/* Binds a version's columns from col on: version, kind, tier, value, description, pattern,
 * modified_ms, modified_user, labels (written into csv). The order of both row kinds. */
static void bind_version(sqlite3_stmt *q, int col, const sy_ver *v, char *csv, size_t csvsz) {
  sqlite3_bind_int64(q, col, v->version);
  sqlite3_bind_int(q, col + 1, v->kind);
  sqlite3_bind_int(q, col + 2, v->tier);
  sqlite3_bind_blob(q, col + 3, v->value, (int)v->value_len, SQLITE_STATIC);
  sqlite3_bind_text(q, col + 4, v->description, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, col + 5, v->allowed_pattern, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, col + 6, v->modified_ms);
  sqlite3_bind_text(q, col + 7, v->modified_user, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, col + 8, sy__labels_csv(v, csv, csvsz), -1, SQLITE_STATIC);
  sqlite3_bind_text(q, col + 9, v->key_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, col + 10, v->data_type, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, col + 11, v->policies, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, col + 12, v->schema, -1, SQLITE_STATIC);
}

static sy_rc put_version(sy_store *st, const char *name, const sy_ver *v, const char *reason) {
  char csv[1200];
  sqlite3_stmt *q = prep(st,
                         "INSERT OR REPLACE INTO versions(name, version, kind, tier, value, description, pattern,"
                         " modified_ms, modified_user, labels, key_id, data_type, policies, schema, reason)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!q) return SY_EIO;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  bind_version(q, 2, v, csv, sizeof csv);
  sqlite3_bind_text(q, 15, reason ? reason : "", -1, SQLITE_STATIC);
  return run(st, q);
}

static sy_rc set_labels(sy_store *st, const char *name, const sy_ver *v) {
  char csv[1200];
  sqlite3_stmt *q = prep(st, "UPDATE versions SET labels = ? WHERE name = ? AND version = ?");
  if (!q) return SY_EIO;
  sqlite3_bind_text(q, 1, sy__labels_csv(v, csv, sizeof csv), -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, v->version);
  return run(st, q);
}

static sy_rc drop_versions(sy_store *st, const char *name, int64_t upto) {
  sqlite3_stmt *q = prep(st, "DELETE FROM versions WHERE name = ? AND version <= ?");
  if (!q) return SY_EIO;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, upto);
  return run(st, q);
}

/* The denormalised current state of a parameter: its latest version, oldest kept, tags. */
static sy_rc put_param(sy_store *st, const sy_param *p) {
  char csv[1200];
  char *tags = sy__tags_json(p);
  if (!tags) return SY_ENOMEM;
  const sy_ver *v = p->latest;
  sqlite3_stmt *q = prep(st,
                         "INSERT OR REPLACE INTO params(name, oldest, latest, kind, tier, value, description,"
                         " pattern, modified_ms, modified_user, labels, key_id, data_type, policies, schema, tags)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!q) {
    free(tags);
    return SY_EIO;
  }
  sqlite3_bind_text(q, 1, p->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, p->oldest);
  bind_version(q, 3, v, csv, sizeof csv);
  sqlite3_bind_text(q, 16, tags, -1, SQLITE_STATIC);
  sy_rc rc = run(st, q);
  free(tags);
  return rc;
}

static sy_rc drop_param(sy_store *st, const char *name) {
  sqlite3_stmt *q = prep(st, "DELETE FROM versions WHERE name = ?");
  if (q) sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sy_rc rc = run(st, q);
  if (rc) return rc;
  q = prep(st, "DELETE FROM params WHERE name = ?");
  if (q) sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  return run(st, q);
}

/* The record's columns, and the event's own (kind, value); `event` is the column of stores
 * written before events were kept structured, left empty now. */
static sy_rc append_audit(sy_store *st, const sy_audit_rec *r, const char *hash, const sy_event *ev) {
  sqlite3_stmt *q = prep(st,
                         "INSERT INTO audit(seq, time, time_ms, actor, action, name, old_version, new_version,"
                         " old_digest, new_digest, reason, detail, prev_hash, hash, event, kind, value)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,'',?,?)");
  if (!q) return SY_EIO;
  sqlite3_bind_int64(q, 1, r->seq);
  sqlite3_bind_text(q, 2, r->time, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, ev->time_ms);
  sqlite3_bind_text(q, 4, r->actor, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, r->action, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, r->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 7, r->old_version);
  sqlite3_bind_int64(q, 8, r->new_version);
  sqlite3_bind_text(q, 9, r->old_digest, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 10, r->new_digest, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 11, r->reason, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 12, r->detail, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 13, r->prev_hash, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 14, hash, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 15, ev->kind);
  if (ev->value)
    sqlite3_bind_blob(q, 16, ev->value, (int)ev->value_len, SQLITE_STATIC);
  else
    sqlite3_bind_null(q, 16);
  return run(st, q);
}

static sy_rc put_token(sy_store *st, const sy_token *t) {
  sqlite3_stmt *q =
      prep(st, "INSERT OR REPLACE INTO tokens(name, hash, scopes, created_ms, revoked_ms, route) VALUES (?,?,?,?,?,?)");
  if (!q) return SY_EIO;
  sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, t->hash, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 3, (int)t->scopes);
  sqlite3_bind_int64(q, 4, t->created_ms);
  sqlite3_bind_int64(q, 5, t->revoked_ms);
  sqlite3_bind_text(q, 6, t->route ? t->route : "", -1, SQLITE_STATIC);
  return run(st, q);
}

static sy_rc put_key(sy_store *st, const sy_akey *k) {
  sqlite3_stmt *q = prep(st,
                         "INSERT OR REPLACE INTO access_keys(id, name, secret, scopes, created_ms, revoked_ms)"
                         " VALUES (?,?,?,?,?,?)");
  if (!q) return SY_EIO;
  sqlite3_bind_text(q, 1, k->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, k->name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(q, 3, k->sealed, (int)k->sealed_len, SQLITE_STATIC);
  sqlite3_bind_int(q, 4, (int)k->scopes);
  sqlite3_bind_int64(q, 5, k->created_ms);
  sqlite3_bind_int64(q, 6, k->revoked_ms);
  return run(st, q);
}

const sy_backend sy__sqlite_backend = {
    .open = sy__sqlite_open,
    .start = sy__sqlite_start,
    .begin = begin,
    .commit = commit,
    .abort = abort_batch,
    .savepoint = savepoint,
    .release = release,
    .undo = undo,
    .sync = sync_log,
    .explain = explain,
    .errmsg = errmsg,
    .read_version = read_version,
    .put_version = put_version,
    .set_labels = set_labels,
    .drop_versions = drop_versions,
    .put_param = put_param,
    .drop_param = drop_param,
    .append_audit = append_audit,
    .put_token = put_token,
    .put_key = put_key,
    .load = sy__sqlite_load,
    .read_kept = sy__sqlite_read_kept,
    .history = sy__sqlite_history,
    .audit = sy__sqlite_audit,
    .events = sy__sqlite_events,
    .audit_walk = sy__sqlite_audit_walk,
};

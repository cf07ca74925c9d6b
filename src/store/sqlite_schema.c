/* sqlite_schema.c — the SQLite engine's schema: the tables of a new store, and the numbered
 * migrations that bring an older store to them, in one transaction at open. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* The tables of a store made by this build, at schema SY_SCHEMA_VERSION. An older store
 * runs it too (every statement is IF NOT EXISTS), then its migrations. */
static const char *schema =
    "CREATE TABLE IF NOT EXISTS params ("
    "  name TEXT PRIMARY KEY, oldest INTEGER NOT NULL, latest INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL, tier INTEGER NOT NULL, value BLOB NOT NULL, description TEXT,"
    "  pattern TEXT, modified_ms INTEGER NOT NULL, modified_user TEXT, labels TEXT NOT NULL DEFAULT '',"
    "  tags TEXT NOT NULL DEFAULT '{}', key_id TEXT NOT NULL DEFAULT '', data_type TEXT NOT NULL DEFAULT '',"
    "  policies TEXT NOT NULL DEFAULT '', schema TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS versions ("
    "  name TEXT NOT NULL, version INTEGER NOT NULL, kind INTEGER NOT NULL, tier INTEGER NOT NULL,"
    "  value BLOB NOT NULL, description TEXT, pattern TEXT, modified_ms INTEGER NOT NULL,"
    "  modified_user TEXT, labels TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',"
    "  key_id TEXT NOT NULL DEFAULT '', data_type TEXT NOT NULL DEFAULT '', policies TEXT NOT NULL DEFAULT '',"
    "  schema TEXT NOT NULL DEFAULT '', PRIMARY KEY (name, version)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS versions_labelled ON versions(name) WHERE labels <> '';"
    "CREATE TABLE IF NOT EXISTS audit ("
    "  seq INTEGER PRIMARY KEY, time TEXT NOT NULL, time_ms INTEGER NOT NULL, actor TEXT NOT NULL,"
    "  action TEXT NOT NULL, name TEXT NOT NULL, old_version INTEGER NOT NULL, new_version INTEGER NOT NULL,"
    "  old_digest TEXT NOT NULL, new_digest TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL,"
    "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL, event TEXT NOT NULL DEFAULT '',"
    "  kind INTEGER NOT NULL DEFAULT 0, value BLOB);"
    /* no index on audit(name): it cost every write a random page and a third of the
       write throughput; name and time filters scan a bounded window instead */
    "DROP INDEX IF EXISTS audit_name;"
    "CREATE TABLE IF NOT EXISTS tokens ("
    "  name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, scopes INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL DEFAULT 0, route TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS access_keys ("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, secret BLOB NOT NULL, scopes INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    /* who this store is, for clients that cached what it said (made once, never changed) */
    "INSERT OR IGNORE INTO meta(k, v) VALUES ('store_id', lower(hex(randomblob(16))));";

/* Whether table has column (1), not (0); -1 with *err set if SQLite failed otherwise. */
static int has_column(sqlite3 *db, const char *table, const char *column) {
  char sql[128];
  sqlite3_stmt *q = NULL;
  int has = 0;
  snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name = '%s'", table, column);
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) return -1;
  int s = sqlite3_step(q);
  if (s == SQLITE_ROW)
    has = 1;
  else if (s != SQLITE_DONE)
    has = -1;
  sqlite3_finalize(q);
  return has;
}

/* Runs sql unless table already has column (*changed says which): a store labelled with an older schema may
 * already hold what a migration adds (every store before numbered migrations said 1). */
static int add_columns(sqlite3 *db, const char *table, const char *column, const char *sql, int *changed, char **err) {
  int has = has_column(db, table, column);
  if (has < 0) {
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return SQLITE_ERROR;
  }
  *changed = !has;
  return has ? SQLITE_OK : sqlite3_exec(db, sql, NULL, NULL, err);
}

/* 2: change events kept structured: the event's own columns on audit; the old records keep
 * their JSON in audit.event, read by sy__store_events. */
static int m2_audit_events(sqlite3 *db, int *changed, char **err) {
  return add_columns(db, "audit", "kind",
                     "ALTER TABLE audit ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
                     "ALTER TABLE audit ADD COLUMN value BLOB;",
                     changed, err);
}

/* 3: each version keeps its reason, filled from the audit log: that of the newest put,
 * rollback or import record that wrote it, with an index that lives only as long as the fill. */
static int m3_version_reasons(sqlite3 *db, int *changed, char **err) {
  return add_columns(db, "versions", "reason",
                     "ALTER TABLE versions ADD COLUMN reason TEXT NOT NULL DEFAULT '';"
                     "CREATE INDEX audit_by_version ON audit(name, new_version);"
                     "UPDATE versions SET reason = coalesce((SELECT a.reason FROM audit a WHERE a.name = versions.name"
                     " AND a.new_version = versions.version AND a.action IN ('put', 'rollback', 'import')"
                     " ORDER BY a.seq DESC LIMIT 1), '');"
                     "DROP INDEX audit_by_version;",
                     changed, err);
}

/* 4: versions and parameters keep SSM's KeyId, DataType and Policies and a flag's schema
 * (empty: the defaults, alias/aws/ssm, text, none, none). */
static int m4_version_attrs(sqlite3 *db, int *changed, char **err) {
  int more = 0;
  int rc = add_columns(db, "versions", "schema",
                       "ALTER TABLE versions ADD COLUMN key_id TEXT NOT NULL DEFAULT '';"
                       "ALTER TABLE versions ADD COLUMN data_type TEXT NOT NULL DEFAULT '';"
                       "ALTER TABLE versions ADD COLUMN policies TEXT NOT NULL DEFAULT '';"
                       "ALTER TABLE versions ADD COLUMN schema TEXT NOT NULL DEFAULT '';",
                       changed, err);
  if (rc == SQLITE_OK)
    rc = add_columns(db, "params", "schema",
                     "ALTER TABLE params ADD COLUMN key_id TEXT NOT NULL DEFAULT '';"
                     "ALTER TABLE params ADD COLUMN data_type TEXT NOT NULL DEFAULT '';"
                     "ALTER TABLE params ADD COLUMN policies TEXT NOT NULL DEFAULT '';"
                     "ALTER TABLE params ADD COLUMN schema TEXT NOT NULL DEFAULT '';",
                     &more, err);
  *changed |= more;
  return rc;
}

/* 5: a token has a default gateway route (empty: none). */
static int m5_token_routes(sqlite3 *db, int *changed, char **err) {
  return add_columns(db, "tokens", "route", "ALTER TABLE tokens ADD COLUMN route TEXT NOT NULL DEFAULT '';", changed,
                     err);
}

/* Every migration, in order; the last one's number is SY_SCHEMA_VERSION. Schema 1 is the
 * store as it was before migrations were numbered. A new migration goes at the end, with
 * the next number, and SY_SCHEMA_VERSION follows it. */
static const struct migration {
  int to;           /* the schema a store is at once this has run */
  const char *what; /* what it adds, in words, for switchyard migrate */
  /* 0 or an SQLite error (*err, sqlite3_free'd by the caller); *changed 0 if the store
   * already held what it adds */
  int (*run)(sqlite3 *db, int *changed, char **err);
} migrations[] = {
    {2, "the change events' columns of the audit log", m2_audit_events},
    {3, "version reasons (filled from the audit log)", m3_version_reasons},
    {4, "the versions' KeyId, DataType, Policies and schema", m4_version_attrs},
    {5, "tokens' default routes", m5_token_routes},
};

_Static_assert(sizeof migrations / sizeof migrations[0] == SY_SCHEMA_VERSION - 1,
               "one migration per schema after 1, the last one SY_SCHEMA_VERSION");

/* The schema number db records: 0 for an empty database (a new store), 1 for a store from
 * before the meta table. SY_EIO with msg if it cannot be read or is not a number. */
static sy_rc stored_schema(sqlite3 *db, const char *dir, int *out, char *msg, size_t msgsz) {
  sqlite3_stmt *q = NULL;
  sy_rc rc = SY_OK;
  *out = 0;
  int has_meta = has_column(db, "meta", "v"), has_params = has_column(db, "params", "name");
  if (has_meta < 0 || has_params < 0) {
    snprintf(msg, msgsz, "cannot read the schema of the store in %s: %s", dir, sqlite3_errmsg(db));
    return SY_EIO;
  }
  if (!has_meta) {
    *out = has_params ? 1 : 0;
    return SY_OK;
  }
  if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k = 'schema'", -1, &q, NULL) != SQLITE_OK) {
    snprintf(msg, msgsz, "cannot read the schema of the store in %s: %s", dir, sqlite3_errmsg(db));
    return SY_EIO;
  }
  int s = sqlite3_step(q);
  if (s == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(q, 0);
    char *end = NULL;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || n < 1 || n > 1000000) {
      snprintf(msg, msgsz, "the store in %s records schema '%s', which is not a schema number", dir, v ? v : "");
      rc = SY_EIO;
    } else {
      *out = (int)n;
    }
  } else if (s == SQLITE_DONE) {
    *out = has_params ? 1 : 0;
  } else {
    snprintf(msg, msgsz, "cannot read the schema of the store in %s: %s", dir, sqlite3_errmsg(db));
    rc = SY_EIO;
  }
  sqlite3_finalize(q);
  return rc;
}

/* Appends what a migration did to the report (truncating, never overflowing). */
static void report_add(sy__schema_report *r, int dry_run, int changed, const char *what) {
  size_t len = strlen(r->did);
  if (len + 1 >= sizeof r->did) return;
  snprintf(r->did + len, sizeof r->did - len, "%s%s%s%s", len ? ", " : "",
           !changed  ? ""
           : dry_run ? "would add "
                     : "added ",
           what, changed ? "" : " (already there)");
}

sy_rc sy__sqlite_schema_upgrade(sqlite3 *db, const char *dir, int dry_run, sy__schema_report *rep, char *msg,
                                size_t msgsz) {
  char *err = NULL;
  sy_rc rc = SY_OK;
  memset(rep, 0, sizeof *rep);
  rep->to = SY_SCHEMA_VERSION;
  /* the write lock first, so that the number read is the one the migrations start from */
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &err)) {
    snprintf(msg, msgsz, "cannot open the store in %s: %s", dir, err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    return SY_EIO;
  }
  rc = stored_schema(db, dir, &rep->from, msg, msgsz);
  if (rc) goto out;
  if (rep->from > SY_SCHEMA_VERSION) {
    snprintf(msg, msgsz, "the store in %s is of schema %d; this build knows schemas up to %d: upgrade switchyard", dir,
             rep->from, SY_SCHEMA_VERSION);
    rc = SY_EINVAL;
    goto out;
  }
  if (sqlite3_exec(db, schema, NULL, NULL, &err)) goto failed;
  if (rep->from > 0) /* a new store is made at the current schema: nothing to migrate */
    for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++) {
      if (migrations[i].to <= rep->from) continue;
      int changed = 0;
      if (migrations[i].run(db, &changed, &err)) goto failed;
      report_add(rep, dry_run, changed, migrations[i].what);
    }
  {
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta(k, v) VALUES ('schema', '%d')", SY_SCHEMA_VERSION);
    if (sqlite3_exec(db, sql, NULL, NULL, &err)) goto failed;
  }
  if (dry_run) goto out; /* rolled back below: a dry run proves the migrations run, and keeps nothing */
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, &err)) goto failed;
  return SY_OK;
failed:
  snprintf(msg, msgsz, "cannot bring the store in %s from schema %d to %d: %s", dir, rep->from, SY_SCHEMA_VERSION,
           err ? err : sqlite3_errmsg(db));
  sqlite3_free(err);
  rc = SY_EIO;
out:
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

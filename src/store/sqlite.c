/* sqlite.c — the embedded store: open (schema in sqlite_schema.c), start-up load, snapshot access and read queries. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/secretbox.h"
#include "store/backend.h"
#include "store/masterkey.h"
#include "store/store_int.h"

sqlite3_stmt *sy__stmt(sqlite3 *db, const char *sql) {
  for (sqlite3_stmt *s = sqlite3_next_stmt(db, NULL); s; s = sqlite3_next_stmt(db, s))
    if (!sqlite3_stmt_busy(s) && strcmp(sqlite3_sql(s), sql) == 0) return s;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL)) return NULL;
  return q;
}

void sy__stmt_done(sqlite3_stmt *q) {
  if (!q) return;
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
}

void sy__db_close(sqlite3 *db) {
  if (!db) return;
  sqlite3_stmt *s;
  while ((s = sqlite3_next_stmt(db, NULL))) sqlite3_finalize(s);
  sqlite3_close_v2(db);
}

static char *col_dup(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? strdup((const char *)t) : NULL;
}

sy_rc sy__ver_set_labels(sy_ver *v, const char *csv) {
  for (int i = 0; i < v->nlabels; i++) free(v->labels[i]);
  free(v->labels);
  v->labels = NULL;
  v->nlabels = 0;
  if (!csv || !*csv) return SY_OK;
  int n = 1;
  for (const char *p = csv; *p; p++) n += *p == ',';
  v->labels = calloc((size_t)n, sizeof *v->labels);
  if (!v->labels) return SY_ENOMEM;
  const char *start = csv;
  for (const char *p = csv;; p++) {
    if (*p == ',' || *p == 0) {
      size_t len = (size_t)(p - start);
      if (len) {
        char *l = strndup(start, len);
        if (!l) return SY_ENOMEM;
        v->labels[v->nlabels++] = l;
      }
      if (*p == 0) break;
      start = p + 1;
    }
  }
  return SY_OK;
}

/* Fills a version from columns: version, kind, tier, value, description, pattern, modified_ms, user, labels,
 * key_id, data_type, policies, schema. */
static sy_rc ver_from_row(sqlite3_stmt *st, int c, sy_ver **out) {
  const void *val = sqlite3_column_blob(st, c + 3);
  size_t vlen = (size_t)sqlite3_column_bytes(st, c + 3);
  sy_ver_meta m = {(const char *)sqlite3_column_text(st, c + 9), (const char *)sqlite3_column_text(st, c + 10),
                   (const char *)sqlite3_column_text(st, c + 11), (const char *)sqlite3_column_text(st, c + 12)};
  sy_ver *v =
      sy__ver_make_meta(val, vlen, (const char *)sqlite3_column_text(st, c + 4),
                        (const char *)sqlite3_column_text(st, c + 5), (const char *)sqlite3_column_text(st, c + 7), &m);
  if (!v) return SY_ENOMEM;
  v->version = sqlite3_column_int64(st, c);
  v->kind = (sy_kind)sqlite3_column_int(st, c + 1);
  v->tier = (sy_tier)sqlite3_column_int(st, c + 2);
  v->modified_ms = sqlite3_column_int64(st, c + 6);
  const char *labels = (const char *)sqlite3_column_text(st, c + 8);
  sy_rc rc = labels && *labels ? sy__ver_set_labels(v, labels) : SY_OK;
  if (rc) {
    sy__ver_unref(v);
    return rc;
  }
  *out = v;
  return SY_OK;
}

#define PARAM_COLS                                                                                            \
  "name, oldest, tags, latest, kind, tier, value, description, pattern, modified_ms, modified_user, labels, " \
  "key_id, data_type, policies, schema"
#define VER_COLS_V                                                                                         \
  "version, v.kind, v.tier, v.value, v.description, v.pattern, v.modified_ms, v.modified_user, v.labels, " \
  "v.key_id, v.data_type, v.policies, v.schema"
#define VER_COLS                                                                                              \
  "version, kind, tier, value, description, pattern, modified_ms, modified_user, labels, key_id, data_type, " \
  "policies, schema"

static sy_rc param_from_row(sqlite3_stmt *st, sy_param **out) {
  const char *name = (const char *)sqlite3_column_text(st, 0);
  sy_param *p = sy__param_new(name, (size_t)sqlite3_column_bytes(st, 0));
  if (!p) return SY_ENOMEM;
  p->oldest = sqlite3_column_int64(st, 1);
  sy_rc rc = sy__tags_from_json(p, (const char *)sqlite3_column_text(st, 2));
  if (!rc) rc = ver_from_row(st, 3, &p->latest);
  /* the latest version of a kind that compiles (a flag) is compiled once, here; one that no
   * longer compiles stays readable, and uncompiled */
  char msg[SY_MSG_MAX];
  if (!rc && sy__ver_compile(p->latest, name[0] == '/' ? name + 1 : name, msg, sizeof msg) == SY_ENOMEM) rc = SY_ENOMEM;
  if (rc) {
    sy__param_unref(p);
    return rc;
  }
  *out = p;
  return SY_OK;
}

sy_rc sy__load_param(sqlite3 *db, const char *name, sy_param **out) {
  sqlite3_stmt *st = NULL;
  sy_param *p = NULL;
  sy_rc rc = SY_OK;
  *out = NULL;
  if (!(st = sy__stmt(db, "SELECT " PARAM_COLS " FROM params WHERE name = ?"))) return SY_EIO;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW)
    rc = param_from_row(st, &p);
  else if (s != SQLITE_DONE)
    rc = SY_EIO;
  sy__stmt_done(st);
  if (rc || !p) return rc;
  if (!(st = sy__stmt(db, "SELECT " VER_COLS " FROM versions WHERE name = ? AND labels <> '' AND version <> ? "
                          "ORDER BY version"))) {
    sy__param_unref(p);
    return SY_EIO;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, p->latest->version);
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    sy_ver *v = NULL;
    rc = ver_from_row(st, 0, &v);
    if (!rc) rc = sy__param_add_labeled(p, v);
  }
  if (!rc && s != SQLITE_DONE) rc = SY_EIO;
  sy__stmt_done(st);
  if (rc) {
    sy__param_unref(p);
    return rc;
  }
  *out = p;
  return SY_OK;
}

sy_rc sy__db_read_version(sqlite3 *db, const char *name, int64_t version, sy_ver **out) {
  sqlite3_stmt *st = NULL;
  sy_rc rc = SY_EVERSION_NOTFOUND;
  *out = NULL;
  if (!(st = sy__stmt(db, "SELECT " VER_COLS " FROM versions WHERE name = ? AND version = ?"))) return SY_EIO;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, version);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW)
    rc = ver_from_row(st, 0, out);
  else if (s != SQLITE_DONE)
    rc = SY_EIO;
  sy__stmt_done(st);
  return rc;
}

sy_rc sy__load_auth(sqlite3 *db, sy_auth **out) {
  sqlite3_stmt *st = NULL;
  int s, cap = 0;
  sy_rc rc = SY_OK;
  sy_auth *a = calloc(1, sizeof *a);
  *out = NULL;
  if (!a) return SY_ENOMEM;
  a->refs = 1;
  if (!(st = sy__stmt(db, "SELECT name, hash, scopes, created_ms, revoked_ms, route FROM tokens ORDER BY hash")))
    rc = SY_EIO;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    if (a->ntokens == cap) {
      cap = cap ? cap * 2 : 8;
      sy_token *na = realloc(a->tokens, (size_t)cap * sizeof *na);
      if (!na) {
        rc = SY_ENOMEM;
        break;
      }
      a->tokens = na;
    }
    sy_token *t = &a->tokens[a->ntokens];
    memset(t, 0, sizeof *t);
    t->name = col_dup(st, 0);
    t->route = col_dup(st, 5);
    if (!t->name || !t->route) {
      free(t->name);
      free(t->route);
      rc = SY_ENOMEM;
      break;
    }
    a->ntokens++;
    snprintf(t->hash, sizeof t->hash, "%s", (const char *)sqlite3_column_text(st, 1));
    t->scopes = (unsigned)sqlite3_column_int(st, 2);
    t->created_ms = sqlite3_column_int64(st, 3);
    t->revoked_ms = sqlite3_column_int64(st, 4);
  }
  sy__stmt_done(st);
  cap = 0;
  if (!rc &&
      !(st = sy__stmt(db, "SELECT id, name, secret, scopes, created_ms, revoked_ms FROM access_keys ORDER BY id")))
    rc = SY_EIO;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    if (a->nkeys == cap) {
      cap = cap ? cap * 2 : 8;
      sy_akey *na = realloc(a->keys, (size_t)cap * sizeof *na);
      if (!na) {
        rc = SY_ENOMEM;
        break;
      }
      a->keys = na;
    }
    sy_akey *k = &a->keys[a->nkeys];
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", (const char *)sqlite3_column_text(st, 0));
    k->name = col_dup(st, 1);
    k->sealed_len = (size_t)sqlite3_column_bytes(st, 2);
    k->sealed = malloc(k->sealed_len ? k->sealed_len : 1);
    if (!k->name || !k->sealed) {
      free(k->name);
      free(k->sealed);
      rc = SY_ENOMEM;
      break;
    }
    if (k->sealed_len) memcpy(k->sealed, sqlite3_column_blob(st, 2), k->sealed_len);
    k->scopes = (unsigned)sqlite3_column_int(st, 3);
    k->created_ms = sqlite3_column_int64(st, 4);
    k->revoked_ms = sqlite3_column_int64(st, 5);
    a->nkeys++;
  }
  sy__stmt_done(st);
  if (rc) {
    sy__auth_unref(a);
    return rc;
  }
  /* SQLite orders with memcmp, which is strcmp's order for these ASCII strings; sort anyway to be sure */
  if (a->ntokens) qsort(a->tokens, (size_t)a->ntokens, sizeof *a->tokens, sy__token_cmp);
  *out = a;
  return SY_OK;
}

/* Reads every parameter in name order and builds the first snapshot. */
static sy_rc load_snapshot(sy_store *st, sy_snap *snap) {
  sqlite3_stmt *q = NULL;
  sy_param **arr = NULL;
  size_t n = 0, cap = 0;
  sy_rc rc = SY_OK;
  int s;
  if (!(q = sy__stmt(st->db, "SELECT " PARAM_COLS " FROM params ORDER BY name"))) return SY_EIO;
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    if (n == cap) {
      cap = cap ? cap * 2 : 1024;
      sy_param **na = realloc(arr, cap * sizeof *na);
      if (!na) {
        rc = SY_ENOMEM;
        break;
      }
      arr = na;
    }
    rc = param_from_row(q, &arr[n]);
    if (rc) break;
    int64_t at = arr[n]->latest->expires_ms;
    if (at && (!st->next_expiry_ms || at < st->next_expiry_ms)) st->next_expiry_ms = at;
    n++;
  }
  if (!rc && s != SQLITE_DONE) rc = SY_EIO;
  sy__stmt_done(q);
  q = NULL;
  /* older versions that carry labels */
  if (!rc && !(q = sy__stmt(st->db, "SELECT v.name, v." VER_COLS_V " FROM versions v JOIN params p ON p.name = v.name "
                                    "WHERE v.labels <> '' AND v.version <> p.latest ORDER BY v.name, v.version")))
    rc = SY_EIO;
  while (!rc && (s = sqlite3_step(q)) == SQLITE_ROW) {
    sy_param key = {.name = (char *)sqlite3_column_text(q, 0)};
    sy_param *kp = &key;
    sy_param **hit = n ? bsearch(&kp, arr, n, sizeof *arr, sy__param_name_cmp) : NULL; /* arr is NULL when n is 0 */
    if (!hit) continue;
    sy_ver *v = NULL;
    rc = ver_from_row(q, 1, &v);
    if (!rc) rc = sy__param_add_labeled(*hit, v);
  }
  if (q) sy__stmt_done(q);
  if (!rc) rc = sy__load_auth(st->db, &snap->auth);
  if (!rc) snap->auth->gen = ++st->auth_gen;
  if (rc) {
    for (size_t i = 0; i < n; i++) sy__param_unref(arr[i]);
    free(arr);
    return rc;
  }
  snap->root = sy__tree_build(arr, n);
  snap->count = n;
  free(arr);
  return (n && !snap->root) ? SY_ENOMEM : SY_OK;
}

static sy_rc load_audit_tail(sy_store *st) {
  sqlite3_stmt *q = NULL;
  st->last_seq = 0;
  memcpy(st->last_hash, sy__audit_genesis, SY_HASH_HEX);
  if (!(q = sy__stmt(st->db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"))) return SY_EIO;
  if (sqlite3_step(q) == SQLITE_ROW) {
    st->last_seq = sqlite3_column_int64(q, 0);
    snprintf(st->last_hash, sizeof st->last_hash, "%s", (const char *)sqlite3_column_text(q, 1));
  }
  sy__stmt_done(q);
  if (!(q = sy__stmt(st->db, "SELECT v FROM meta WHERE k = 'store_id'"))) return SY_EIO;
  if (sqlite3_step(q) == SQLITE_ROW) snprintf(st->id, sizeof st->id, "%s", (const char *)sqlite3_column_text(q, 0));
  sy__stmt_done(q);
  return SY_OK;
}

sy_rc sy__sqlite_load(sy_store *st, sy_snap *snap) {
  sy_rc rc = load_snapshot(st, snap);
  return rc ? rc : load_audit_tail(st);
}

static void reader_close(void *db) { sy__db_close(db); }

#define CKPT_PAGES 8000 /* checkpoint once the WAL holds this many pages */

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages) {
  sy_store *st = arg;
  (void)db, (void)name;
  pthread_mutex_lock(&st->mu);
  st->ckpt_pages = pages;
  if (pages >= CKPT_PAGES) pthread_cond_signal(&st->ckpt_cv);
  pthread_mutex_unlock(&st->mu);
  return SQLITE_OK;
}

/* Copies the WAL back into the database file without ever blocking the writer (PASSIVE). */
static void *ckpt_main(void *arg) {
  sy_store *st = arg;
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(st->db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)) {
    sy__store_log(st, "error", "cannot open the checkpoint connection; the write-ahead log will grow",
                  sy__db_cause(db, "open the checkpoint connection"));
    sqlite3_close_v2(db);
    return NULL;
  }
  /* the connection learns the file is in WAL mode only once it has read it */
  sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0; PRAGMA journal_mode=WAL; SELECT count(*) FROM meta;", NULL, NULL,
               NULL);
  pthread_mutex_lock(&st->mu);
  while (!st->closing) {
    if (st->ckpt_pages < CKPT_PAGES) {
      pthread_cond_wait(&st->ckpt_cv, &st->mu);
      continue;
    }
    st->ckpt_pages = 0;
    pthread_mutex_unlock(&st->mu);
    int c = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (c != SQLITE_OK && c != SQLITE_BUSY && c != SQLITE_LOCKED)
      sy__store_log(st, "warn", "checkpoint failed", sy__db_cause(db, "wal checkpoint"));
    pthread_mutex_lock(&st->mu);
  }
  pthread_mutex_unlock(&st->mu);
  sqlite3_close_v2(db);
  return NULL;
}

/* The SQLite engine's start (backend.h): the checkpointer, off the commit path. */
void sy__sqlite_start(sy_store *st) {
  sqlite3_exec(st->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
  sqlite3_wal_hook(st->db, wal_hook, st);
  if (pthread_create(&st->ckpt, NULL, ckpt_main, st) == 0) st->ckpt_started = 1;
}

void sy__store_status(sy_store *st, sy_store_status *out) {
  memset(out, 0, sizeof *out);
  out->engine = st->url ? "postgres" : "sqlite";
  out->connected = 1;
  out->leader = 1;
  const sy_snap *s = sy__snap_enter(st);
  out->seq = s->seq;
  sy__snap_leave(st);
  if (st->be->status) st->be->status(st, out);
}

int sy__store_leader(sy_store *st) {
  sy_store_status s;
  if (!st->be->status) return 1;
  sy__store_status(st, &s);
  return s.leader;
}

/* A store for dir with nothing open yet: what sy__store_close can always close. */
int sy__store_url_is_pg(const char *url) {
  return url && (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13));
}

static sy_store *store_new(const char *dir, const char *url, const sy_clock *clock) {
  sy_store *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->clock = clock ? clock : sy__clock_system();
  st->be = sy__store_url_is_pg(url) ? &sy__pg_backend : &sy__sqlite_backend;
  st->url = url && *url ? strdup(url) : NULL;
  pthread_mutex_init(&st->mu, NULL);
  pthread_cond_init(&st->cv, NULL);
  pthread_cond_init(&st->ckpt_cv, NULL);
  pthread_cond_init(&st->sync_cv, NULL);
  st->wal_fd = -1;
  st->lock_fd = -1;
  pthread_key_create(&st->reader_key, reader_close);
  st->dir = strdup(dir);
  size_t plen = strlen(dir) + 32;
  st->db_path = malloc(plen);
  if (!st->dir || !st->db_path || (url && *url && !st->url)) {
    sy__store_close(st);
    return NULL;
  }
  snprintf(st->db_path, plen, "%s/switchyard.db", dir);
  return st;
}

/* The engine's open (backend.h): takes the directory's lock, opens the writer's connection
 * and brings the schema up to date. Open and migrate both go through it. */
sy_rc sy__sqlite_open(sy_store *st, int dry_run, sy__schema_report *rep, char *msg, size_t msgsz) {
  char *err = NULL;
  sy_rc rc = SY_OK;
  if (mkdir(st->dir, 0700) && errno != EEXIST) {
    snprintf(msg, msgsz, "cannot create data directory %s: %s", st->dir, strerror(errno));
    return SY_EIO;
  }
  /* before the master key and the database are touched: a second server stops here */
  rc = sy__dir_lock(st->dir, &st->lock_fd, msg, msgsz);
  if (rc) return rc;
  if (sqlite3_open_v2(st->db_path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)) {
    snprintf(msg, msgsz, "cannot open %s: %s", st->db_path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
    return SY_EIO;
  }
  sqlite3_busy_timeout(st->db, 5000);
  if (sqlite3_exec(
          st->db,
          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF; PRAGMA cache_size=-32768;",
          NULL, NULL, &err)) {
    snprintf(msg, msgsz, "cannot initialise %s: %s", st->db_path, err ? err : "?");
    sqlite3_free(err);
    return SY_EIO;
  }
  return sy__sqlite_schema_upgrade(st->db, st->dir, dry_run, rep, msg, msgsz);
}

sy_rc sy__store_migrate(const char *dir, int dry_run, char *report, size_t reportsz, char *msg, size_t msgsz) {
  return sy__store_migrate_at(dir, NULL, dry_run, report, reportsz, msg, msgsz);
}

sy_rc sy__store_migrate_at(const char *dir, const char *url, int dry_run, char *report, size_t reportsz, char *msg,
                           size_t msgsz) {
  char db_path[4096];
  struct stat sb;
  sy__schema_report rep;
  snprintf(db_path, sizeof db_path, "%s/switchyard.db", dir);
  if (!sy__store_url_is_pg(url) && stat(db_path, &sb)) {
    snprintf(msg, msgsz, "there is no store in %s (no %s)", dir, db_path);
    return SY_ENOTFOUND;
  }
  sy_store *st = store_new(dir, url, NULL);
  if (!st) return SY_ENOMEM;
  st->migrate_only = 1;
  sy_rc rc = st->be->open(st, dry_run, &rep, msg, msgsz);
  if (!rc && rep.from == rep.to)
    snprintf(report, reportsz, "schema %d: up to date", rep.to);
  else if (!rc)
    snprintf(report, reportsz, "schema %d -> %d%s: %s", rep.from, rep.to, dry_run ? " (dry run, nothing written)" : "",
             rep.did);
  sy__store_close(st);
  return rc;
}

/* The check value of the master key a shared store keeps: a node with another key would
 * seal what the others cannot open. */
static void key_check_hex(const sy_store *st, char out[SY_HASH_HEX]) {
  static const char label[] = "switchyard master key check v1";
  unsigned char mac[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), st->master_key, sizeof st->master_key, (const unsigned char *)label, sizeof label - 1, mac, &n);
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

sy_rc sy__store_open(const char *dir, const sy_clock *clock, sy_store **out, char *msg, size_t msgsz) {
  return sy__store_open_at(dir, NULL, clock, out, msg, msgsz);
}

sy_rc sy__store_open_at(const char *dir, const char *url, const sy_clock *clock, sy_store **out, char *msg,
                        size_t msgsz) {
  sy_rc rc = SY_OK;
  sy__schema_report rep;
  sy_store *st = store_new(dir, url, clock);
  if (!st) return SY_ENOMEM;
  rc = st->be->open(st, 0, &rep, msg, msgsz);
  if (rc) goto out;
  if (rep.from && rep.from < rep.to) {
    json_t *f = json_pack("{ss si si ss}", "data", st->url ? "postgres" : dir, "from", rep.from, "to", rep.to,
                          "migrations", rep.did);
    sy__store_log(st, "info", "store schema upgraded", f);
  }
  const char *keyfile = getenv("SWITCHYARD_MASTER_KEY_FILE");
  char keypath[4096];
  snprintf(keypath, sizeof keypath, "%s/master.key", dir);
  int created = 0;
  rc = keyfile && *keyfile ? sy_masterkey_load(keyfile, st->master_key)
                           : sy_masterkey_load_or_create(keypath, st->master_key, &created);
  if (rc) {
    snprintf(msg, msgsz, "cannot load the master key %s: %s", keyfile && *keyfile ? keyfile : keypath, sy_strerror(rc));
    goto out;
  }
  {
    static const char label[] = "switchyard audit digest v1";
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) {
      rc = SY_ENOMEM;
      goto out;
    }
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, label, sizeof label);
    EVP_DigestUpdate(ctx, st->master_key, sizeof st->master_key);
    EVP_DigestFinal_ex(ctx, st->digest_key, &n);
    EVP_MD_CTX_free(ctx);
  }
  if (st->be->key_check) {
    char check[SY_HASH_HEX];
    key_check_hex(st, check);
    rc = st->be->key_check(st, check, msg, msgsz);
    if (rc) goto out;
  }
  snap_box *box = calloc(1, sizeof *box);
  if (!box) {
    rc = SY_ENOMEM;
    goto out;
  }
  rc = st->be->load(st, &box->snap);
  if (rc) {
    const char *where = st->url ? "the PostgreSQL store" : st->db_path;
    if (rc == SY_EIO)
      snprintf(msg, msgsz, "cannot load %s: %s (%s)", where, sy_strerror(rc), st->be->errmsg(st));
    else
      snprintf(msg, msgsz, "cannot load %s: %s", where, sy_strerror(rc));
    sy__snap_clear(&box->snap);
    free(box);
    goto out;
  }
  box->snap.seq = st->last_seq;
  st->current = box;
  st->tree = sy__node_ref(box->snap.root);
  st->tree_count = box->snap.count;
  st->tree_auth = sy__auth_ref(box->snap.auth);
  if (pthread_create(&st->syncer, NULL, sy__syncer_main, st)) {
    snprintf(msg, msgsz, "cannot start the syncer thread");
    rc = SY_EINTERNAL;
    goto out;
  }
  st->syncer_started = 1;
  if (pthread_create(&st->writer, NULL, sy__writer_main, st)) {
    snprintf(msg, msgsz, "cannot start the writer thread");
    rc = SY_EINTERNAL;
    goto out;
  }
  st->writer_started = 1;
  st->be->start(st);
out:
  if (rc) {
    sy__store_close(st);
    return rc;
  }
  *out = st;
  return SY_OK;
}

static void snap_box_free(snap_box *b) {
  if (!b) return;
  sy__snap_clear(&b->snap);
  free(b);
}

const char *sy__store_id(const sy_store *st) { return st->id; }

void sy__store_close(sy_store *st) {
  if (!st) return;
  if (st->writer_started) {
    pthread_mutex_lock(&st->mu);
    st->closing = 1;
    pthread_cond_broadcast(&st->cv);
    pthread_cond_broadcast(&st->ckpt_cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->writer, NULL);
  } else {
    pthread_mutex_lock(&st->mu);
    st->writer_done = 1;
    pthread_cond_signal(&st->sync_cv);
    pthread_mutex_unlock(&st->mu);
  }
  if (st->syncer_started) pthread_join(st->syncer, NULL);
  if (st->wal_fd >= 0) close(st->wal_fd);
  sy__node_unref(st->tree);
  sy__auth_unref(st->tree_auth);
  if (st->ckpt_started) pthread_join(st->ckpt, NULL);
  if (st->be->close) st->be->close(st);
  rcu_barrier_bp(); /* every call_rcu'd snapshot freed */
  snap_box_free(st->current);
  sy__db_close(st->db);
  void *rdb = pthread_getspecific(st->reader_key);
  if (rdb) {
    sy__db_close(rdb);
    pthread_setspecific(st->reader_key, NULL);
  }
  pthread_key_delete(st->reader_key);
  pthread_mutex_destroy(&st->mu);
  pthread_cond_destroy(&st->cv);
  pthread_cond_destroy(&st->ckpt_cv);
  pthread_cond_destroy(&st->sync_cv);
  OPENSSL_cleanse(st->master_key, sizeof st->master_key);
  OPENSSL_cleanse(st->digest_key, sizeof st->digest_key);
  free(st->events);
  json_decref(st->cause);
  free(st->dir);
  free(st->db_path);
  free(st->url);
  sy__dir_unlock(st->lock_fd); /* last: nothing of ours touches the directory after this */
  free(st);
}

void sy__store_set_publish_hook(sy_store *st, sy_publish_hook hook, void *ctx) {
  st->hook = hook;
  st->hook_ctx = ctx;
}

const sy_snap *sy__snap_enter(sy_store *st) {
  rcu_read_lock_bp();
  snap_box *b = rcu_dereference_bp(st->current);
  return &b->snap;
}

void sy__snap_leave(sy_store *st) {
  (void)st;
  rcu_read_unlock_bp();
}

sy_rc sy__store_submit(sy_store *st, sy_op *op) {
  op->next = NULL;
  op->rc = SY_OK;
  op->msg[0] = 0;
  pthread_mutex_lock(&st->mu);
  if (st->closing) {
    pthread_mutex_unlock(&st->mu);
    return SY_EUNAVAILABLE;
  }
  if (st->tail)
    st->tail->next = op;
  else
    st->head = op;
  st->tail = op;
  pthread_cond_signal(&st->cv);
  pthread_mutex_unlock(&st->mu);
  return SY_OK;
}

sy_rc sy__store_expire(sy_store *st) {
  sy_op op = {.kind = SY_OP_EXPIRE, .actor = "policy"};
  sy_rc rc = sy__store_submit_wait(st, &op);
  sy__op_clear(&op);
  return rc;
}

typedef struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  void (*user_done)(sy_op *);
  void *user_ctx;
} waiter;

static void wait_done(sy_op *op) {
  waiter *w = op->ctx;
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

sy_rc sy__store_submit_wait(sy_store *st, sy_op *op) {
  waiter w = {.done = 0, .user_done = op->done, .user_ctx = op->ctx};
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  op->done = wait_done;
  op->ctx = &w;
  sy_rc rc = sy__store_submit(st, op);
  if (!rc) {
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    rc = op->rc;
  }
  op->done = w.user_done;
  op->ctx = w.user_ctx;
  pthread_mutex_destroy(&w.mu);
  pthread_cond_destroy(&w.cv);
  return rc;
}

void sy__op_clear(sy_op *op) {
  json_decref(op->result);
  op->result = NULL;
}

/* ---- read queries on the calling thread's read-only connection ---- */

static sqlite3 *reader(sy_store *st) {
  sqlite3 *db = pthread_getspecific(st->reader_key);
  if (db) return db;
  if (sqlite3_open_v2(st->db_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)) {
    sy__read_failed(st, db, "open a read-only connection", SY_EIO);
    sqlite3_close_v2(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 5000);
  pthread_setspecific(st->reader_key, db);
  return db;
}

sy_rc sy__sqlite_read_kept(sy_store *st, const char *name, int64_t version, sy_ver **out) {
  sqlite3 *db = reader(st);
  if (!db) return SY_EIO;
  return sy__read_failed(st, db, "read a version", sy__db_read_version(db, name, version, out));
}

sy_rc sy__sqlite_history(sy_store *st, const char *name, int64_t after_version, int limit, sy_ver_cb cb, void *ctx,
                         int *more) {
  sqlite3 *db = reader(st);
  sqlite3_stmt *q = NULL;
  sy_rc rc = SY_OK;
  int s, n = 0;
  *more = 0;
  if (!db) return SY_EIO;
  if (!(q = sy__stmt(db, "SELECT " VER_COLS ", reason FROM versions WHERE name = ? AND version > ? ORDER BY version "
                         "LIMIT ?")))
    return sy__read_failed(st, db, "prepare the history query", SY_EIO);
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, after_version);
  sqlite3_bind_int(q, 3, limit + 1);
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    if (n == limit) {
      *more = 1;
      break;
    }
    sy_ver *v = NULL;
    rc = ver_from_row(q, 0, &v);
    if (rc) break;
    cb(ctx, v, (const char *)sqlite3_column_text(q, 13));
    sy__ver_unref(v);
    n++;
  }
  if (!rc && s != SQLITE_DONE && s != SQLITE_ROW) rc = SY_EIO;
  sy__stmt_done(q);
  return sy__read_failed(st, db, "read the history", rc);
}

static void audit_from_row(sqlite3_stmt *q, sy_audit_rec *r) {
  r->seq = sqlite3_column_int64(q, 0);
  r->time = (const char *)sqlite3_column_text(q, 1);
  r->actor = (const char *)sqlite3_column_text(q, 2);
  r->action = (const char *)sqlite3_column_text(q, 3);
  r->name = (const char *)sqlite3_column_text(q, 4);
  r->old_version = sqlite3_column_int64(q, 5);
  r->new_version = sqlite3_column_int64(q, 6);
  r->old_digest = (const char *)sqlite3_column_text(q, 7);
  r->new_digest = (const char *)sqlite3_column_text(q, 8);
  r->reason = (const char *)sqlite3_column_text(q, 9);
  r->detail = (const char *)sqlite3_column_text(q, 10);
  r->prev_hash = (const char *)sqlite3_column_text(q, 11);
}

#define AUDIT_COLS \
  "seq, time, actor, action, name, old_version, new_version, old_digest, new_digest, reason, detail, prev_hash, hash"

sy_rc sy__sqlite_audit(sy_store *st, const sy_audit_query *aq, sy_audit_cb cb, void *ctx, int64_t *resume) {
  sqlite3 *db = reader(st);
  sqlite3_stmt *q = NULL;
  char sql[512];
  int s, n = 0;
  *resume = 0;
  if (!db) return SY_EIO;
  /* the seq range to look at: all of it, or for a filtered query a window of it */
  int64_t lower, upper;
  const sy_snap *sn = sy__snap_enter(st);
  int64_t last = sn->seq;
  sy__snap_leave(st);
  int filtered = sy__audit_window(aq, last, &lower, &upper);
  snprintf(sql, sizeof sql,
           "SELECT " AUDIT_COLS
           " FROM audit WHERE (?1 IS NULL OR name = ?1) AND seq > ?2 AND (?3 = 0 OR seq < ?3)"
           " AND time_ms >= ?4 ORDER BY seq %s LIMIT ?5",
           aq->asc ? "ASC" : "DESC");
  if (!(q = sy__stmt(db, sql))) return sy__read_failed(st, db, "prepare the audit query", SY_EIO);
  if (aq->name) sqlite3_bind_text(q, 1, aq->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, lower);
  sqlite3_bind_int64(q, 3, upper);
  sqlite3_bind_int64(q, 4, aq->since_ms);
  sqlite3_bind_int(q, 5, aq->limit);
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    sy_audit_rec r;
    audit_from_row(q, &r);
    cb(ctx, &r, (const char *)sqlite3_column_text(q, 12));
    n++;
  }
  sy__stmt_done(q);
  /* a short page of a filtered query that stopped at its window: where to go on from */
  if (filtered && n < aq->limit) *resume = sy__audit_resume(aq, lower, upper);
  return s == SQLITE_DONE ? SY_OK : sy__read_failed(st, db, "read the audit log", SY_EIO);
}

sy_rc sy__sqlite_audit_walk(sy_store *st, sy_audit_cb cb, void *ctx) {
  sqlite3 *db = reader(st);
  sqlite3_stmt *q = NULL;
  int s;
  if (!db) return SY_EIO;
  if (!(q = sy__stmt(db, "SELECT " AUDIT_COLS " FROM audit ORDER BY seq")))
    return sy__read_failed(st, db, "prepare the audit chain check", SY_EIO);
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    sy_audit_rec r;
    audit_from_row(q, &r);
    cb(ctx, &r, (const char *)sqlite3_column_text(q, 12));
  }
  sy__stmt_done(q);
  return s == SQLITE_DONE ? SY_OK : sy__read_failed(st, db, "read the audit chain", SY_EIO);
}

sy_rc sy__sqlite_events(sy_store *st, int64_t after, int limit, sy_event_cb cb, void *ctx) {
  sqlite3 *db = reader(st);
  sqlite3_stmt *q = NULL;
  int s;
  if (!db) return SY_EIO;
  if (!(q = sy__stmt(db,
                     "SELECT seq, time_ms, action, name, new_version, kind, value, detail, event FROM audit"
                     " WHERE seq > ? ORDER BY seq LIMIT ?")))
    return sy__read_failed(st, db, "prepare the change events query", SY_EIO);
  sqlite3_bind_int64(q, 1, after);
  sqlite3_bind_int(q, 2, limit);
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    sy_event ev = {.seq = sqlite3_column_int64(q, 0),
                   .time_ms = sqlite3_column_int64(q, 1),
                   .action = (const char *)sqlite3_column_text(q, 2),
                   .name = (const char *)sqlite3_column_text(q, 3),
                   .version = sqlite3_column_int64(q, 4),
                   .kind = (sy_kind)sqlite3_column_int(q, 5),
                   .detail = (const char *)sqlite3_column_text(q, 7)};
    if (sqlite3_column_type(q, 6) != SQLITE_NULL) {
      ev.value = sqlite3_column_blob(q, 6);
      ev.value_len = (size_t)sqlite3_column_bytes(q, 6);
      if (!ev.value) ev.value = "";
    }
    const char *legacy = (const char *)sqlite3_column_text(q, 8);
    json_t *old = legacy && *legacy ? json_loads(legacy, 0, NULL) : NULL;
    if (old) { /* a record from before events were structured: its kind and value are in the JSON */
      const sy_kind_def *k = sy__kind_by_name(json_string_value(json_object_get(old, "type")));
      json_t *v = json_object_get(old, "value");
      ev.kind = k ? k->kind : 0;
      ev.value = json_string_value(v);
      ev.value_len = json_string_length(v);
    }
    if (!ev.action) ev.action = "";
    if (!ev.name) ev.name = "";
    if (!ev.detail) ev.detail = "";
    cb(ctx, &ev);
    json_decref(old);
  }
  sy__stmt_done(q);
  return s == SQLITE_DONE ? SY_OK : sy__read_failed(st, db, "read the change events", SY_EIO);
}

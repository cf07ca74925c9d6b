/* store_int.h — the store's private state, shared by sqlite.c (open, load, reads) and writer.c. */
#ifndef SY_STORE_INT_H
#define SY_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <urcu-bp.h>

#include "store/store.h"

/* A snapshot with the bookkeeping RCU needs to free it after the last reader left. */
typedef struct snap_box {
  struct rcu_head head;
  sy_snap snap;
} snap_box;

/* A committed batch on its way to disk and to readers (see the syncer in writer.c). */
typedef struct sync_batch {
  struct sync_batch *next;
  struct sy_op *ops;
  struct snap_box *nb; /* the snapshot to publish once durable; NULL if nothing changed */
  sy_event **events;   /* published after the fsync */
  size_t nevents;
} sync_batch;

struct sy_backend;

/* The key a SecureString with KMS key id key_id is sealed under: the master key itself for
 * the default ("" or alias/aws/ssm), else a data key of its own derived from the master key
 * and the key id (HMAC-SHA-256), so that each named key seals apart. Wipe it after use. */
void sy__store_data_key(const sy_store *st, const char *key_id, unsigned char out[32]);
/* Seals (seal 1) or opens (seal 0) the value of version v of name under its key id's data
 * key, bound to name:version, into *out (malloc'd, one byte more than *n, for a NUL). */
sy_rc sy__store_box(const sy_store *st, int seal, const char *name, const sy_ver *v, unsigned char **out, size_t *n);

struct sy_store {
  const sy_clock *clock; /* stamps versions, audit records and credentials */
  const struct sy_backend *be;
  unsigned char master_key[32]; /* seals SecureString values */
  unsigned char digest_key[32]; /* keys the audit digests of SecureString values */
  char *dir;
  char *db_path;
  char *url;                /* a PostgreSQL store's URL (NULL for SQLite) */
  void *eng;                /* the engine's own state (PostgreSQL: postgres.c) */
  int batch_syncs_only;     /* writer-private: the batch only catches up (SY_OP_SYNC), it writes nothing */
  int migrate_only;         /* opened by sy__store_migrate_at: a shared store's data directory is not this node's */
  char id[40];              /* the store's identity: 32 hex digits made at creation */
  sqlite3 *db;              /* the writer's connection */
  snap_box *current;        /* RCU-protected */
  pthread_key_t reader_key; /* per-thread read-only connection */

  pthread_t writer;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  sy_op *head, *tail;
  int closing;
  int writer_started;

  /* checkpoints run on their own thread and connection, off the commit path */
  pthread_t ckpt;
  pthread_cond_t ckpt_cv;
  int ckpt_pages; /* WAL pages at the last commit */
  int ckpt_started;

  /* writer-private */
  int64_t last_seq;
  int64_t next_expiry_ms; /* no parameter expires before this (0: none known); the writer's */
  char last_hash[SY_HASH_HEX];
  sy_event **events; /* the current batch's change events, in order */
  size_t nevents, cap_events;
  /* the writer's latest committed state, which readers see once it is on disk */
  sy_node *tree;
  size_t tree_count;
  sy_auth *tree_auth;
  /* the syncer: one fdatasync for every batch committed since the last, then publish */
  pthread_t syncer;
  pthread_cond_t sync_cv;
  sync_batch *sync_head, *sync_tail;
  int syncer_started;
  int writer_done;
  int wal_fd;
  sy_node *work; /* the tree being built by the current batch */
  size_t work_count;
  sy_auth *work_auth; /* set when the batch changed a credential */
  uint64_t auth_gen;

  sy_publish_hook hook;
  void *hook_ctx;
  sy_log_hook log; /* read and written atomically: see sy__store_log */
  int lock_fd;     /* the flock on DATA/switchyard.lock, -1 until taken */
  json_t *cause;   /* writer-private: why the current op's storage step failed (first one wins) */
};

/* A prepared statement for sql on db, reused from earlier calls when one is idle. */
sqlite3_stmt *sy__stmt(sqlite3 *db, const char *sql);
/* Gives a statement from sy__stmt back (reset, bindings cleared). */
void sy__stmt_done(sqlite3_stmt *q);
/* Finalizes every statement of db and closes it. */
void sy__db_close(sqlite3 *db);

/* The seq range an audit query looks at, exclusive at both ends (upper 0: none), the log
 * ending at last (the snapshot's seq): all of it,
 * or for a filtered query (a name, a time) a window of at most 100,000 records; 1 when the
 * window may stop short, and a short page must say where to resume (sy__audit_resume). */
int sy__audit_window(const sy_audit_query *aq, int64_t last, int64_t *lower, int64_t *upper);
int64_t sy__audit_resume(const sy_audit_query *aq, int64_t lower, int64_t upper);

/* ---- rows, whatever the engine (rows.c) ---- */

/* A version's labels as the engines keep them, "a,b", written into buf. */
const char *sy__labels_csv(const sy_ver *v, char *buf, size_t sz);
/* A parameter's tags as a JSON object with sorted keys (malloc'd), and back into p. */
char *sy__tags_json(const sy_param *p);
sy_rc sy__tags_from_json(sy_param *p, const char *text);
/* Appends a labelled version to p (takes v; released on ENOMEM). */
sy_rc sy__param_add_labeled(sy_param *p, sy_ver *v);
/* qsort orders: tokens by hash, parameter pointers by name. */
int sy__token_cmp(const void *a, const void *b);
int sy__param_name_cmp(const void *a, const void *b);

/* Loads the parameter name from db (latest, labelled versions, tags); *out NULL if absent. */
sy_rc sy__load_param(sqlite3 *db, const char *name, sy_param **out);
/* Loads every token and access key. */
sy_rc sy__load_auth(sqlite3 *db, sy_auth **out);
/* Reads one version row. */
sy_rc sy__db_read_version(sqlite3 *db, const char *name, int64_t version, sy_ver **out);
/* Splits "a,b" into a label array on v. */
sy_rc sy__ver_set_labels(sy_ver *v, const char *csv);

/* What bringing a store's schema up to date did (or, for a dry run, would do): filled by
 * the engine's open (backend.h), whatever the engine; `switchyard migrate` prints it. */
typedef struct sy__schema_report {
  int from;       /* the schema the store was at: 0 for a new store */
  int to;         /* SY_SCHEMA_VERSION */
  char did[1024]; /* the migrations run, in words, comma-separated; empty if none */
} sy__schema_report;

/* Brings the SQLite database db of the store in dir to SY_SCHEMA_VERSION, in one
 * transaction: a new store gets the current tables, an older one each migration past its
 * schema, and meta.schema the new number. A dry run does the same and rolls it back. A
 * store of a newer schema is refused (SY_EINVAL), a failure is SY_EIO; msg says which. */
sy_rc sy__sqlite_schema_upgrade(sqlite3 *db, const char *dir, int dry_run, sy__schema_report *rep, char *msg,
                                size_t msgsz);

/* The SQLite engine's open, load and reads (sqlite.c), in its backend table (sqlite_write.c):
 * see backend.h. The reads run on the calling thread's own read-only connection. */
sy_rc sy__sqlite_open(sy_store *st, int dry_run, sy__schema_report *rep, char *msg, size_t msgsz);
void sy__sqlite_start(sy_store *st);
sy_rc sy__sqlite_load(sy_store *st, sy_snap *snap);
sy_rc sy__sqlite_read_kept(sy_store *st, const char *name, int64_t version, sy_ver **out);
sy_rc sy__sqlite_history(sy_store *st, const char *name, int64_t after_version, int limit, sy_ver_cb cb, void *ctx,
                         int *more);
sy_rc sy__sqlite_audit(sy_store *st, const sy_audit_query *q, sy_audit_cb cb, void *ctx, int64_t *resume);
sy_rc sy__sqlite_events(sy_store *st, int64_t after, int limit, sy_event_cb cb, void *ctx);
sy_rc sy__sqlite_audit_walk(sy_store *st, sy_audit_cb cb, void *ctx);

/* Locks dir for this process (see sy__store_open): *fd holds the lock until sy__dir_unlock.
 * SY_EUNAVAILABLE with msg naming dir and the holder's PID when another process has it. */
sy_rc sy__dir_lock(const char *dir, int *fd, char *msg, size_t msgsz);
void sy__dir_unlock(int fd);

/* Reports through the store's log hook (takes fields, which may be NULL). */
void sy__store_log(sy_store *st, const char *level, const char *msg, json_t *fields);
/* The cause of db's last failure as log fields: {"step", "sqlite_code", "sqlite_error",
 * "sqlite_msg", "errno"}; step names what was being done (SQL text is fine: it holds no
 * values, they are bound). A new object, or NULL on ENOMEM. */
json_t *sy__db_cause(sqlite3 *db, const char *step);
/* Logs a failed read (rc SY_EIO, SY_ENOMEM, SY_EINTERNAL; others pass silently) with the
 * cause found on db (may be NULL); returns rc. */
sy_rc sy__read_failed(sy_store *st, sqlite3 *db, const char *step, sy_rc rc);

void *sy__writer_main(void *arg);
void *sy__syncer_main(void *arg);

/* ---- the rules, across their files (rules.c, creds.c) ---- */

/* What one change did, for its audit record and change event. */
typedef struct sy__change {
  const char *action, *name, *detail;
  int64_t old_version, new_version;
  const sy_ver *old_ver, *new_ver; /* for the digests, and the event's kind and value */
} sy__change;

/* Refuses op: sets op->rc and op->msg (from fmt); returns rc. */
__attribute__((format(printf, 3, 4))) sy_rc sy__op_fail(sy_op *op, sy_rc rc, const char *fmt, ...);
/* A storage step failed: the engine has recorded why; the client hears only this. */
sy_rc sy__storage_failed(sy_op *op, sy_rc rc);
/* Chains the audit record of a change, hands it to the engine with its event, and queues
 * the event to be published once the batch is durable. */
sy_rc sy__audit_append(sy_store *st, const sy_op *op, const sy__change *c);
/* Creates (create 1) or revokes a bearer token (creds.c). */
sy_rc sy__apply_token(sy_store *st, sy_op *op, int create);
/* Sets or clears an active token's default route (creds.c). */
sy_rc sy__apply_token_route(sy_store *st, sy_op *op);
/* Creates or revokes an access key; its secret is sealed, bound to "accesskey:<id>". */
sy_rc sy__apply_key(sy_store *st, sy_op *op, int create);

#endif

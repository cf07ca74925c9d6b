/* backend.h — what the store needs from a storage engine: the write rules (rules.c) and the
 * commit pipeline (commit.c) on the writer thread; the load at open; the reads of what is
 * not in memory (read.c) on any thread. The rules decide what an operation means against
 * the batch's working snapshot; the engine only stores the rows they hand it, inside the
 * batch's one transaction, with a savepoint per operation. SQLite implements it (the table
 * in sqlite_write.c, the load and reads in sqlite.c); a second engine implements the same
 * table and reuses the rules, the pipeline and the reads' callers unchanged.
 *
 * Every write function runs on the writer thread (sync on the syncer thread). A storage
 * failure returns SY_EIO (or SY_ENOMEM) after recording its cause with the store (sy__cause). */
#ifndef SY_STORE_BACKEND_H
#define SY_STORE_BACKEND_H

#include "store/store.h"

struct sy__schema_report;

typedef struct sy_backend {
  /* ---- open, on the opening thread ---- */

  /* Opens the engine's storage for the store in st->dir (for SQLite: takes the directory's
   * lock, opens the writer's connection) and brings its schema to the engine's current one
   * in one transaction, saying in rep what it did; a dry run says what it would do and
   * keeps nothing. A store of a newer schema is refused (SY_EINVAL) with msg naming both
   * numbers and where the store is. What it opened is closed by sy__store_close. */
  sy_rc (*open)(sy_store *st, int dry_run, struct sy__schema_report *rep, char *msg, size_t msgsz);

  /* the batch's transaction, and each operation's savepoint inside it */
  sy_rc (*begin)(sy_store *st);
  sy_rc (*commit)(sy_store *st);
  void (*abort)(sy_store *st); /* rolls the whole batch back */
  sy_rc (*savepoint)(sy_store *st);
  sy_rc (*release)(sy_store *st); /* the operation stays */
  sy_rc (*undo)(sy_store *st);    /* the operation leaves no trace */
  /* Makes every commit so far durable; 0, or an errno. Runs on the syncer thread. */
  int (*sync)(sy_store *st);
  /* Records the engine's last error (if any) as the cause of the current operation's failure. */
  void (*explain)(sy_store *st, const char *step);
  /* The engine's last error in words, for a batch that failed as a whole. */
  const char *(*errmsg)(sy_store *st);

  /* A kept version that is not in memory (neither latest nor labelled). */
  sy_rc (*read_version)(sy_store *st, const char *name, int64_t version, sy_ver **out);
  /* Stores a new version (value as held in memory: sealed for a SecureString), with the
   * reason it was written with. */
  sy_rc (*put_version)(sy_store *st, const char *name, const sy_ver *v, const char *reason);
  /* Stores the labels of a kept version. */
  sy_rc (*set_labels)(sy_store *st, const char *name, const sy_ver *v);
  /* Forgets the versions of name up to and including version upto. */
  sy_rc (*drop_versions)(sy_store *st, const char *name, int64_t upto);
  /* Stores a parameter's current state: its latest version, the oldest kept, its tags. */
  sy_rc (*put_param)(sy_store *st, const sy_param *p);
  /* Forgets a parameter and every version of it. */
  sy_rc (*drop_param)(sy_store *st, const char *name);
  /* Appends an audit record (hash is its chain hash) with the change event it describes. */
  sy_rc (*append_audit)(sy_store *st, const sy_audit_rec *r, const char *hash, const sy_event *ev);
  /* Stores a credential, replacing the one of the same name. */
  sy_rc (*put_token)(sy_store *st, const sy_token *t);
  sy_rc (*put_key)(sy_store *st, const sy_akey *k);

  /* ---- a store several nodes share (NULL for an engine only one process writes) ---- */

  /* Right after begin, under the store-wide write lock the engine takes there: brings the
   * batch's working snapshot (st->work, work_auth) and the audit tail (last_seq, last_hash)
   * up to what other nodes have committed, queueing their change events (sy__event_queue)
   * so that this node publishes them in order before its own. */
  sy_rc (*catch_up)(sy_store *st);
  /* After the writer started: the engine's own threads (a checkpointer, a listener). */
  void (*start)(sy_store *st);
  /* At close, after the writer and syncer stopped: stops those threads, closes what open opened. */
  void (*close)(sy_store *st);
  /* Fills what the node says of its engine (sy__store_status); engine, seq are set already. */
  void (*status)(sy_store *st, sy_store_status *out);
  /* 1 when the engine lost its connection: a failed write is then "unavailable", not internal. */
  int (*down)(sy_store *st);
  /* Checks the master key against the check value the store keeps (check_hex, made from
   * the key), keeping it when the store has none yet; SY_EINVAL with msg when they differ. */
  sy_rc (*key_check)(sy_store *st, const char *check_hex, char *msg, size_t msgsz);

  /* ---- the load at open, on the opening thread ---- */

  /* Reads every parameter (latest and labelled versions, tags) and every credential into
   * snap (root, count, auth), and sets st's audit tail (last_seq, last_hash: the genesis
   * hash for an empty log), store id and next_expiry_ms. On failure snap holds what was
   * read, for sy__snap_clear. */
  sy_rc (*load)(sy_store *st, sy_snap *snap);

  /* ---- reads of what is not in memory, on any request thread, beside the writer ---- */

  /* As sy__store_read_version, sy__store_history, sy__store_audit and sy__store_events
   * (store.h). A failure is logged through the store's log hook (sy__read_failed). */
  sy_rc (*read_kept)(sy_store *st, const char *name, int64_t version, sy_ver **out);
  sy_rc (*history)(sy_store *st, const char *name, int64_t after_version, int limit, sy_ver_cb cb, void *ctx,
                   int *more);
  sy_rc (*audit)(sy_store *st, const sy_audit_query *q, sy_audit_cb cb, void *ctx, int64_t *resume);
  sy_rc (*events)(sy_store *st, int64_t after, int limit, sy_event_cb cb, void *ctx);
  /* Calls cb for every audit record in seq order, with its stored hash (audit verify). */
  sy_rc (*audit_walk)(sy_store *st, sy_audit_cb cb, void *ctx);
} sy_backend;

extern const sy_backend sy__sqlite_backend;
extern const sy_backend sy__pg_backend;

/* Queues a change event (copied) to be published with the batch, in order. */
sy_rc sy__event_queue(sy_store *st, const sy_event *ev);
/* Puts p into the batch's working tree (takes p's reference), or removes name from it. */
sy_rc sy__work_put(sy_store *st, sy_param *p);
sy_rc sy__work_del(sy_store *st, const char *name);

/* Records why the current operation failed, when nothing did yet: for SY_EIO the engine's
 * own error (explain), otherwise the step and the status. */
void sy__cause(sy_store *st, const char *step, sy_rc rc);

/* Applies one operation to the batch's working snapshot through the engine (rules.c).
 * On refusal op->rc and op->msg say why; the caller undoes the operation's savepoint. */
sy_rc sy__apply(sy_store *st, sy_op *op);

/* The change events of a batch: heap copies made by rules.c, freed by the pipeline. */
sy_event *sy__event_copy(const sy_event *e);

#endif

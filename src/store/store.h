/* store.h — the versioned document store: one write path, snapshot reads.
 *
 * Writes are operations (sy_op) queued to one writer thread. The writer takes
 * every queued op and applies each through the write rules (rules.c: what an op
 * means, pure of storage) inside one transaction of the engine (backend.h; SQLite
 * today): new version + audit record + change event per change, a savepoint per op
 * so a refused op leaves no trace; then it commits (commit.c). A syncer thread then fsyncs the log once for
 * every batch committed since its last fsync (group commit), publishes the new
 * snapshot and only then calls each op's done callback (on the syncer thread).
 * Reads take the current snapshot under an RCU read lock and never touch
 * SQLite, except for versions that are neither latest nor labelled, history
 * and the audit log, which come from a per-thread read-only connection (WAL
 * readers never wait for the writer). */
#ifndef SY_STORE_STORE_H
#define SY_STORE_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/audit.h"
#include "core/civil.h"
#include "core/clock.h"
#include "core/param.h"
#include "core/rc.h"
#include "store/snap.h"

typedef struct sy_store sy_store;

typedef enum sy_op_kind {
  SY_OP_PUT = 1,
  SY_OP_DELETE,
  SY_OP_LABEL,
  SY_OP_UNLABEL,
  SY_OP_TAG,
  SY_OP_UNTAG,
  SY_OP_ROLLBACK,
  SY_OP_IMPORT,
  SY_OP_TOKEN_CREATE,
  SY_OP_TOKEN_REVOKE,
  SY_OP_KEY_CREATE,
  SY_OP_KEY_REVOKE,
  SY_OP_EXPIRE,      /* deletes every parameter whose Expiration policy has passed */
  SY_OP_TOKEN_ROUTE, /* sets (or clears) an active token's default route */
  SY_OP_RECORD,      /* writes nothing but an audit record and its change event (an alert fired) */
  SY_OP_PUTS,        /* several puts (items), all or none: a rollout's state and its target */
  SY_OP_SYNC,        /* writes nothing: brings this node's snapshot up to what other nodes committed */
} sy_op_kind;

/* The inputs of one put. Strings are borrowed from the op's owner until done. */
typedef struct sy_put {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
  sy_kind kind; /* 0: keep the existing kind (required on create) */
  sy_tier tier; /* 0: keep the existing tier, Standard on create */
  int overwrite;
  const char *description;     /* NULL: keep */
  const char *allowed_pattern; /* NULL: keep */
  const char *key_id;          /* SecureString's KMS key id or alias; NULL: keep ("" is alias/aws/ssm) */
  const char *data_type;       /* NULL: keep ("" or "text" on create) */
  const char *policies;        /* SSM parameter policies, JSON text; NULL: keep */
  const char *schema;          /* a flag's schema (core/flag.h), JSON text; NULL: keep */
  int string_keeps_kind;       /* SSM's view: the kind String on a flag keeps it a flag */
  const sy_tag *tags;          /* create only (import: replaces all tags) */
  int ntags;
  int has_tags;
  int64_t if_version; /* -1: no condition; 0: must not exist */
} sy_put;

/* What an import did with one item (sy_op.actions). */
typedef enum sy_import_action { SY_IMPORT_UNCHANGED = 1, SY_IMPORT_CREATE, SY_IMPORT_UPDATE } sy_import_action;

typedef struct sy_op sy_op;
struct sy_op {
  sy_op_kind kind;
  const char *actor;
  const char *reason;
  sy_put put;          /* PUT; name for every param op */
  const sy_put *items; /* IMPORT, PUTS */
  size_t nitems;
  int prune;               /* IMPORT: delete what items lack */
  unsigned char *actions;  /* IMPORT: nitems bytes from the caller (or NULL), set to a sy_import_action each */
  int64_t version;         /* LABEL: target (0 latest); ROLLBACK: to_version */
  const char *const *strs; /* LABEL/UNLABEL labels; UNTAG keys */
  int nstrs;
  const sy_tag *tags; /* TAG */
  int ntags;
  const char *token_name;  /* TOKEN_*, KEY_*: the credential's name */
  const char *token_hash;  /* TOKEN_CREATE: hex SHA-256 of the secret */
  const char *token_route; /* TOKEN_CREATE, TOKEN_ROUTE: the token's default route, a parameter name
                              starting with '/' (its document need not exist); NULL or "": none */
  const char *key_id;      /* KEY_CREATE: the access key id */
  const char *key_secret;  /* KEY_CREATE: the secret access key (sealed before it is stored) */
  unsigned scopes;
  const char *rec_action; /* RECORD: the record's action, "<family>.<verb>" ("alert.fire") */
  const char *rec_detail; /* RECORD: its detail ("" or NULL: none); its name is put.name */

  /* results, valid in done() */
  sy_rc rc;
  char msg[SY_MSG_MAX];
  int64_t out_version; /* the version written (or labelled); SY_EMAXVERSIONS: the oldest, which blocks it */
  sy_tier out_tier;
  json_t *result; /* op-specific JSON (owned by the op; freed by sy__op_clear). IMPORT:
                     {"summary": {"create", "update", "unchanged", "delete"}, "deleted": [names]} */

  void (*done)(sy_op *op); /* called on the syncer thread once the commit is on disk and published */
  void *ctx;
  sy_op *next; /* queue link, store-private */
};

/* One committed change, as handed to the publish hook and the watch stream (which decides
 * how it looks on the wire). Strings are borrowed for the duration of the call. */
typedef struct sy_event {
  int64_t seq;
  int64_t time_ms;
  const char *action; /* put, delete, label, ..., token.create */
  const char *name;   /* a parameter's or a credential's name */
  int64_t version;    /* the version written or labelled; 0 when none (delete, credentials) */
  sy_kind kind;       /* the kind of the version written; 0 when the change wrote none */
  const char *value;  /* its value; NULL when none or not shown (a SecureString) */
  size_t value_len;
  const char *detail; /* "labels=a,b", "to_version=3", ...; "" when none */
} sy_event;

typedef void (*sy_publish_hook)(void *ctx, const sy_event *events, size_t n);

/* Where the store says why something failed below an error it returns: the operation,
 * SQLite's message and code, errno. level is "error", "warn" or "fatal"; msg is a short
 * sentence; fields is a JSON object the hook takes over (it must free it). Never holds a
 * value, a token or a secret. Called from the writer, syncer, checkpoint and request
 * threads at once, so it must be thread-safe. The same shape as the server's sy__log. */
typedef void (*sy_log_hook)(const char *level, const char *msg, json_t *fields);

/* Opens (creating if needed) the store in dir, loads the snapshot, starts the writer.
 * Takes an exclusive lock on dir first (DATA/switchyard.lock, held until close): a second
 * store on the same directory, in this process or another, fails with SY_EUNAVAILABLE and
 * a msg naming dir and the PID of the holder, before it reads the master key or the
 * database. Versions, audit records and credentials are stamped with clock (NULL: the
 * system clock). */
sy_rc sy__store_open(const char *dir, const sy_clock *clock, sy_store **out, char *msg, size_t msgsz);
/* As sy__store_open, on the engine url names: NULL, "" or "sqlite" for the SQLite store in dir,
 * a postgres:// or postgresql:// URL for a PostgreSQL database that several nodes may share
 * (dir then holds only this node's files: the master key, the admin token). */
sy_rc sy__store_open_at(const char *dir, const char *url, const sy_clock *clock, sy_store **out, char *msg,
                        size_t msgsz);
/* 1 when url names a PostgreSQL store. */
int sy__store_url_is_pg(const char *url);

/* What a node says of its store on /health. */
typedef struct sy_store_status {
  const char *engine; /* "sqlite" or "postgres" */
  int connected;      /* 0 while the engine cannot be reached: reads serve the snapshot, writes are refused */
  int leader;         /* 1 on the one node of a shared store that runs singleton work (the controller) */
  int64_t seq;        /* the last change this node's snapshot holds */
  char error[256];    /* why it is not connected, in words ("" when it is) */
} sy_store_status;
void sy__store_status(sy_store *st, sy_store_status *out);
/* 1 when this node should run work only one node of a store may run (always, for SQLite). */
int sy__store_leader(sy_store *st);
/* The schema of the SQLite store this build writes (the last of sqlite_schema.c's
 * migrations); a store of a newer one is refused at open. */
#define SY_SCHEMA_VERSION 5

/* Brings the existing store in dir to SY_SCHEMA_VERSION as sy__store_open does (same lock,
 * same steps), without loading it. report gets what was done ("schema 1 -> 5: added ...",
 * "schema 5: up to date"); a dry run says what would be done and writes nothing. SY_ENOTFOUND
 * when dir holds no store; otherwise as sy__store_open, msg saying why. */
sy_rc sy__store_migrate(const char *dir, int dry_run, char *report, size_t reportsz, char *msg, size_t msgsz);
/* The same for the store url names (see sy__store_open_at). */
sy_rc sy__store_migrate_at(const char *dir, const char *url, int dry_run, char *report, size_t reportsz, char *msg,
                           size_t msgsz);
/* Drains queued writes, stops the writer, closes, and releases the directory lock. */
void sy__store_close(sy_store *st);
/* The store's identity: 32 hex digits made when it was created, never changed. Lets a client
 * that cached what a server said know whether it is talking to the same store. */
const char *sy__store_id(const sy_store *st);
void sy__store_set_publish_hook(sy_store *st, sy_publish_hook hook, void *ctx);
/* Replaces the store's log (by default one JSON line per report on stderr). NULL restores
 * the default. Set it right after open, before the first write. */
void sy__store_set_log_hook(sy_store *st, sy_log_hook hook);
/* Writes one log line to stderr: the fields (stolen; may be NULL) with time, level and msg,
 * as one JSON object in one write, so lines from several threads never interleave. */
void sy__log_stderr(const char *level, const char *msg, json_t *fields);

/* Queues op; op->done runs on the syncer thread once the op is durable and published (or on
 * the writer thread, at once, when a batch cannot even start for want of memory).
 * SY_EUNAVAILABLE when closing: done is not called then. */
sy_rc sy__store_submit(sy_store *st, sy_op *op);
/* Queues op and waits for it. */
sy_rc sy__store_submit_wait(sy_store *st, sy_op *op);
/* Deletes, now, every parameter whose Expiration policy has passed on the store's clock
 * (the writer also does it by itself, within a second of the time): each deletion is
 * audited (actor "policy", reason naming the policy) and streamed like any other. The
 * result lists the names. */
sy_rc sy__store_expire(sy_store *st);
void sy__op_clear(sy_op *op);

/* Snapshot reads: call between sy__snap_enter and sy__snap_leave; the pointer
 * and everything reached through it stay valid until leave. */
const sy_snap *sy__snap_enter(sy_store *st);
void sy__snap_leave(sy_store *st);

/* ---- the query API (query.c): the reads of every API family, on one snapshot ---- */

/* The compiled flag of version v (core/flag.h), or NULL when v is not a flag (or, for a flag
 * stored by an older engine, does not compile). It lives as long as v: evaluate it inside
 * the snapshot section v was found in. */
const struct sy_flag *sy__ver_flag(const sy_ver *v);

/* The parameter named name (exactly len bytes; a single-level name with or without its
 * leading slash, which are one parameter), or NULL. */
const sy_param *sy__snap_get(const sy_snap *s, const char *name, size_t len);
/* Walks the parameters below prefix (which ends in '/', or "" for all) in name order,
 * starting after `after` (NULL: from the start), only direct children unless recursive
 * (the direct children of "/" are every single-level name, with or without its slash);
 * cb returns 1 to stop. A page is a walk that stops: the next starts after its last name. */
typedef int (*sy_list_cb)(void *ctx, const sy_param *p);
void sy__snap_list(const sy_snap *s, const char *prefix, int recursive, const char *after, sy_list_cb cb, void *ctx);
/* Walks the folders one level below prefix (which ends in '/'): each distinct next segment that
 * has a parameter below it, in name order. cb gets the folder's path with its trailing '/' (len
 * bytes, NUL-terminated, valid for the call) and the exact number of parameters below it (from
 * the tree's subtree sizes: O(log n) a folder); it returns 1 to stop. The walk steps over the
 * direct children, one seek each. */
typedef int (*sy_folder_cb)(void *ctx, const char *folder, size_t len, size_t count);
void sy__snap_folders(const sy_snap *s, const char *prefix, sy_folder_cb cb, void *ctx);
/* path with a trailing '/' into prefix; the length, or -1 if it does not fit. */
int sy__list_prefix(const char *path, char *prefix, size_t cap);
/* A credential as listed: never its secret nor its hash. id is NULL for a token; route is
 * a token's default route, "" when it has none (and for a key). */
typedef struct sy_cred {
  const char *name;
  const char *id;
  unsigned scopes;
  int64_t created_ms, revoked_ms;
  const char *route;
} sy_cred;
typedef void (*sy_cred_cb)(void *ctx, const sy_cred *c);
/* Every access key (keys) or every token, revoked ones included. */
void sy__snap_creds(const sy_snap *s, int keys, sy_cred_cb cb, void *ctx);
/* The access key with that id, revoked or not; NULL if there is none. */
const sy_akey *sy__snap_akey_any(const sy_snap *s, const char *id);
/* The access key named name, revoked or not; NULL if there is none. */
const sy_akey *sy__snap_akey_named(const sy_snap *s, const char *name);
/* Grows with every change of any credential: a cache of something derived from a
 * credential holds only while it is the same. */
uint64_t sy__snap_auth_gen(const sy_snap *s);
/* 1 once any token exists (revoked ones count). */
int sy__snap_has_tokens(const sy_snap *s);
/* The first parameter named after `after` (len bytes) in name order, or the first of all
 * when after is NULL; NULL at the end. */
const sy_param *sy__snap_next(const sy_snap *s, const char *after, size_t len);
/* The current snapshot, held past the read section (a streamed export reads it across many
 * callbacks while writes go on); NULL on ENOMEM. Release it with sy__snap_unpin. */
sy_snap *sy__snap_pin(sy_store *st);
void sy__snap_unpin(sy_snap *pin);

/* A version from the database (any kept version). *out is owned by the caller (sy__ver_unref). */
sy_rc sy__store_read_version(sy_store *st, const char *name, int64_t version, sy_ver **out);
/* History: versions after after_version (exclusive), oldest first, up to limit, each handed
 * to cb with the reason it was written with ("" if none; borrowed for the call). *more set
 * when more remain. */
typedef void (*sy_ver_cb)(void *ctx, const sy_ver *v, const char *reason);
sy_rc sy__store_history(sy_store *st, const char *name, int64_t after_version, int limit, sy_ver_cb cb, void *ctx,
                        int *more);
/* Audit records, newest first (asc=0) or oldest first after `after`. */
typedef struct sy_audit_query {
  int asc;
  int64_t after;  /* asc: seq > after */
  int64_t before; /* desc: seq < before (0 = no bound) */
  int64_t since_seq;
  int64_t since_ms;
  const char *name;
  int limit;
} sy_audit_query;
typedef void (*sy_audit_cb)(void *ctx, const sy_audit_rec *rec, const char *hash);
/* A query with a name or time filter examines at most 100,000 records per call; when it
 * stops there with fewer than limit, *resume is the seq to continue from (as before= for
 * newest-first, after= for oldest-first), else 0. */
sy_rc sy__store_audit(sy_store *st, const sy_audit_query *q, sy_audit_cb cb, void *ctx, int64_t *resume);
/* Recomputes the whole chain. *first_broken = 0 when intact. */
sy_rc sy__store_audit_verify(sy_store *st, int64_t *records, int64_t *first_broken, char *msg, size_t msgsz);
/* Change events with seq > after, oldest first, at most limit. */
typedef void (*sy_event_cb)(void *ctx, const sy_event *ev);
sy_rc sy__store_events(sy_store *st, int64_t after, int limit, sy_event_cb cb, void *ctx);

/* 1 if importing item would change parameter p. */
int sy__import_differs(sy_store *st, const sy_param *p, const sy_put *item);

/* The plaintext of a version (a SecureString is opened with the master key).
 * *out is malloc'd, NUL-terminated, owned by the caller: free it with sy__reveal_free. */
sy_rc sy__store_reveal(sy_store *st, const char *name, const sy_ver *v, char **out, size_t *len);
void sy__reveal_free(char *p, size_t len);
/* The audit digest of a version's value: SHA-256 of the value, or for a SecureString
 * an HMAC-SHA-256 under a key derived from the master key (so the digest cannot be
 * brute-forced back into a short secret). */
sy_rc sy__store_digest(sy_store *st, const char *name, const sy_ver *v, char out[SY_HASH_HEX]);

/* The secret of access key id (active keys only), opened with the master key into
 * secret (cap bytes). SY_ENOTFOUND for an unknown or revoked key. Reads the
 * current snapshot; call it outside a snapshot section or inside one, either works. */
sy_rc sy__store_akey_secret(sy_store *st, const char *id, char *secret, size_t cap, size_t *len, char *name,
                            size_t name_cap, unsigned *scopes);

#endif

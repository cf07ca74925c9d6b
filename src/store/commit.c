/* commit.c — the commit pipeline: the writer thread takes every queued operation, applies
 * each through the rules (rules.c) inside one transaction of the engine (backend.h) with a
 * savepoint per operation, and commits; the syncer thread makes every batch committed since
 * its last sync durable at once, then publishes the snapshot and the change events, and
 * only then answers the operations. Nothing here knows what an operation means or how the
 * engine stores it. */
#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "store/store_int.h"

#define BATCH_MAX 1024

/* ---- the batch loop ---- */

static const char *op_name(sy_op_kind k) {
  switch (k) {
  case SY_OP_PUT: return "put";
  case SY_OP_DELETE: return "delete";
  case SY_OP_LABEL: return "label";
  case SY_OP_UNLABEL: return "unlabel";
  case SY_OP_TAG: return "tag";
  case SY_OP_UNTAG: return "untag";
  case SY_OP_ROLLBACK: return "rollback";
  case SY_OP_IMPORT: return "import";
  case SY_OP_TOKEN_CREATE: return "token.create";
  case SY_OP_TOKEN_REVOKE: return "token.revoke";
  case SY_OP_KEY_CREATE: return "key.create";
  case SY_OP_KEY_REVOKE: return "key.revoke";
  case SY_OP_EXPIRE: return "expire";
  case SY_OP_TOKEN_ROUTE: return "token.route";
  case SY_OP_RECORD: return "record";
  case SY_OP_PUTS: return "puts";
  case SY_OP_SYNC: return "sync";
  }
  return "?";
}

/* 1 for a status the API answers with 500 InternalError. */
static int internal(sy_rc rc) { return rc == SY_EIO || rc == SY_ENOMEM || rc == SY_EINTERNAL; }

/* Logs an op that failed with an internal error, with the cause its first failing step
 * recorded: which op, on what (a parameter name, a credential's name; never a value or
 * a secret), by whom, and why. Takes st->cause. */
static void log_op_failure(sy_store *st, const sy_op *op) {
  json_t *f = json_pack("{ss}", "op", op_name(op->kind));
  if (f && op->kind <= SY_OP_ROLLBACK && op->put.name)
    json_object_set_new(f, "name",
                        json_stringn(op->put.name, op->put.name_len < SY_NAME_MAX ? op->put.name_len : SY_NAME_MAX));
  if (f && (op->kind == SY_OP_IMPORT || op->kind == SY_OP_PUTS))
    json_object_set_new(f, "items", json_integer((json_int_t)op->nitems));
  if (f && op->kind >= SY_OP_TOKEN_CREATE && op->token_name)
    json_object_set_new(f, "credential", json_string(op->token_name));
  if (f && op->actor) json_object_set_new(f, "actor", json_string(op->actor));
  if (f) json_object_set_new(f, "status", json_string(sy_strerror(op->rc)));
  if (f && op->msg[0]) json_object_set_new(f, "message", json_string(op->msg));
  if (f && st->cause) json_object_update(f, st->cause);
  json_decref(st->cause);
  st->cause = NULL;
  sy__store_log(st, "error", "write failed", f);
}

static void free_events(sy_store *st, size_t from) {
  for (size_t i = from; i < st->nevents; i++) {
    free(st->events[i]);
  }
  st->nevents = from;
}

static void snap_free_cb(struct rcu_head *head) {
  snap_box *b = caa_container_of(head, snap_box, head);
  sy__snap_clear(&b->snap);
  free(b);
}

/* Writes queued while the batch waited for the engine's write lock (another node of a shared
 * store held it) join the batch: one commit for all of them instead of one wait each. */
static void join_late(sy_store *st, sy_op *ops) {
  int n = 1;
  sy_op *last = ops;
  for (; last->next; last = last->next) n++;
  pthread_mutex_lock(&st->mu);
  while (st->head && n < BATCH_MAX) {
    sy_op *op = st->head;
    st->head = op->next;
    if (!st->head) st->tail = NULL;
    op->next = NULL;
    last->next = op;
    last = op;
    n++;
  }
  pthread_mutex_unlock(&st->mu);
}

/* Applies a batch in one transaction and hands it to the syncer. COMMIT does not wait
 * for the disk (synchronous=NORMAL): the syncer fsyncs the WAL for every batch committed
 * since its last fsync, and only then publishes and answers. So the next batch is
 * applied while the last one is being made durable, and nothing is shown or
 * acknowledged before it is on disk. */
static void run_batch(sy_store *st, sy_op *ops) {
  sync_batch *sb = calloc(1, sizeof *sb);
  int64_t seq0 = st->last_seq;
  char hash0[SY_HASH_HEX];
  memcpy(hash0, st->last_hash, SY_HASH_HEX);
  st->work = sy__node_ref(st->tree);
  st->work_count = st->tree_count;
  st->work_auth = NULL;
  st->batch_syncs_only = 1;
  for (sy_op *op = ops; op; op = op->next) st->batch_syncs_only &= op->kind == SY_OP_SYNC;
  sy_rc rc = sb ? st->be->begin(st) : SY_ENOMEM;
  /* what other nodes committed comes first: the rules judge against it, and its events
   * go out before this batch's own */
  if (!rc && st->be->catch_up) rc = st->be->catch_up(st);
  if (!rc && !st->batch_syncs_only) join_late(st, ops);
  int any = !rc && st->nevents > 0; /* caught up: a snapshot to publish even if every op is refused */
  for (sy_op *op = ops; !rc && op; op = op->next) {
    int64_t seq = st->last_seq;
    size_t nev = st->nevents;
    char h[SY_HASH_HEX];
    memcpy(h, st->last_hash, SY_HASH_HEX);
    sy_node *root = sy__node_ref(st->work);
    size_t count = st->work_count;
    sy_auth *auth = sy__auth_ref(st->work_auth);
    if (st->be->savepoint(st)) {
      rc = SY_EIO;
      sy__node_unref(root);
      sy__auth_unref(auth);
      break;
    }
    if (sy__apply(st, op) == SY_OK) {
      json_decref(st->cause); /* a step that failed and was handled: not worth a line */
      st->cause = NULL;
      sy__node_unref(root);
      sy__auth_unref(auth);
      if (st->be->release(st)) {
        rc = SY_EIO;
        break;
      }
      any = 1;
    } else {
      if (!op->rc) op->rc = SY_EINTERNAL;
      /* the connection's error is this op's if no step said otherwise: read it before the rollback */
      if (internal(op->rc)) {
        st->be->explain(st, "apply");
        log_op_failure(st, op);
      } else {
        json_decref(st->cause);
        st->cause = NULL;
      }
      /* undo this op alone: SQL, chain, events, tree */
      if (st->be->undo(st)) rc = SY_EIO;
      st->last_seq = seq;
      memcpy(st->last_hash, h, SY_HASH_HEX);
      free_events(st, nev);
      sy__node_unref(st->work);
      st->work = root;
      st->work_count = count;
      sy__auth_unref(st->work_auth);
      st->work_auth = auth;
    }
  }
  if (!rc && any) rc = st->be->commit(st);
  if (!rc && !any) st->be->abort(st);
  snap_box *nb = NULL;
  if (!rc && any) {
    nb = calloc(1, sizeof *nb);
    if (!nb) {
      /* committed but cannot publish: serving the old state would be a lie, so stop loudly */
      sy__store_log(st, "fatal", "out of memory publishing a snapshot", NULL);
      abort();
    }
    if (st->work_auth) {
      sy__auth_unref(st->tree_auth);
      st->tree_auth = st->work_auth;
      st->work_auth = NULL;
    }
    nb->snap.auth = sy__auth_ref(st->tree_auth);
    nb->snap.root = st->work; /* the snapshot owns the batch's reference ... */
    nb->snap.count = st->work_count;
    nb->snap.seq = st->last_seq;
    sy__node_unref(st->tree);
    st->tree = sy__node_ref(st->work); /* ... and the writer takes one of its own */
    st->tree_count = st->work_count;
    st->work = NULL;
  } else {
    if (rc) {
      /* the batch as a whole failed (BEGIN, a savepoint or COMMIT): one line for all its ops */
      size_t nops = 0;
      char why[256];
      snprintf(why, sizeof why, "%s", rc == SY_ENOMEM ? "out of memory" : st->be->errmsg(st));
      int down = rc == SY_EUNAVAILABLE || (st->be->down && st->be->down(st));
      for (sy_op *op = ops; op; op = op->next) nops++;
      sy__cause(st, "batch", rc);
      json_t *f = json_pack("{ss sI}", "op", "batch", "ops", (json_int_t)nops);
      if (f && st->cause) json_object_update(f, st->cause);
      json_decref(st->cause);
      st->cause = NULL;
      sy__store_log(st, "error", "the store could not commit a batch of writes", f);
      st->be->abort(st);
      st->last_seq = seq0;
      memcpy(st->last_hash, hash0, SY_HASH_HEX);
      free_events(st, 0);
      for (sy_op *op = ops; op; op = op->next)
        if (down && (!op->rc || op->rc == SY_EIO)) {
          /* the engine is out of reach: nothing of the batch was kept; the client may try again */
          op->rc = SY_EUNAVAILABLE;
          snprintf(op->msg, sizeof op->msg, "the store is unavailable: %s", why);
        } else if (!op->rc) {
          op->rc = rc == SY_ENOMEM ? SY_ENOMEM : SY_EIO;
          snprintf(op->msg, sizeof op->msg, "the store could not commit: %s", why);
        }
    }
    sy__node_unref(st->work);
    st->work = NULL;
    sy__auth_unref(st->work_auth);
    st->work_auth = NULL;
  }
  if (!sb) { /* out of memory before anything was written: answer at once */
    for (sy_op *op = ops, *next; op; op = next) {
      next = op->next;
      op->done(op);
    }
    return;
  }
  sb->ops = ops;
  sb->nb = nb;
  sb->events = st->events;
  sb->nevents = st->nevents;
  st->events = NULL;
  st->nevents = st->cap_events = 0;
  pthread_mutex_lock(&st->mu);
  if (st->sync_tail)
    st->sync_tail->next = sb;
  else
    st->sync_head = sb;
  st->sync_tail = sb;
  pthread_cond_signal(&st->sync_cv);
  pthread_mutex_unlock(&st->mu);
}

void *sy__syncer_main(void *arg) {
  sy_store *st = arg;
  for (;;) {
    pthread_mutex_lock(&st->mu);
    while (!st->sync_head && !st->writer_done) pthread_cond_wait(&st->sync_cv, &st->mu);
    sync_batch *list = st->sync_head;
    st->sync_head = st->sync_tail = NULL;
    pthread_cond_signal(&st->cv); /* the writer may commit the next batch */
    int done = st->writer_done;
    pthread_mutex_unlock(&st->mu);
    if (!list && done) break;
    int changed = 0;
    for (sync_batch *b = list; b; b = b->next) changed |= b->nb != NULL;
    if (changed) {
      int err = st->be->sync(st);
      if (err) {
        /* the disk did not take committed data: nothing more can be promised */
        sy__store_log(st, "fatal", "cannot make committed writes durable",
                      json_pack("{ss ss}", "step", "sync", "errno", strerror(err)));
        abort();
      }
    }
    for (sync_batch *b = list, *nextb; b; b = nextb) {
      nextb = b->next;
      if (b->nb) {
        snap_box *cur = st->current;
        rcu_assign_pointer(st->current, b->nb);
        call_rcu_bp(&cur->head, snap_free_cb);
      }
      if (st->hook && b->nevents) {
        sy_event evs[64];
        size_t i = 0;
        while (i < b->nevents) {
          size_t n = 0;
          for (; n < 64 && i < b->nevents; n++, i++) evs[n] = *b->events[i];
          st->hook(st->hook_ctx, evs, n);
        }
      }
      for (size_t i = 0; i < b->nevents; i++) {
        free(b->events[i]);
      }
      free(b->events);
      for (sy_op *op = b->ops, *next; op; op = next) {
        next = op->next;
        op->done(op);
      }
      free(b);
    }
  }
  return NULL;
}

static void expire_done(sy_op *op) {
  sy__op_clear(op);
  free(op);
}

/* Queues the deletion of expired parameters when one is due on the store's clock (the
 * writer's, under st->mu, while it is idle); 1 when it did. The next look is a second
 * away until the deletion says when the next one is due. */
static int expiry_due(sy_store *st) {
  int64_t now = sy__clock_now(st->clock);
  if (!st->next_expiry_ms || now < st->next_expiry_ms) return 0;
  st->next_expiry_ms = now + 1000;
  sy_op *op = calloc(1, sizeof *op);
  if (!op) return 0;
  op->kind = SY_OP_EXPIRE;
  op->actor = "policy";
  op->done = expire_done;
  st->head = st->tail = op;
  return 1;
}

void *sy__writer_main(void *arg) {
  sy_store *st = arg;
  for (;;) {
    pthread_mutex_lock(&st->mu);
    /* At most one committed batch waits for the disk. While the syncer is busy with the
     * one before, new writes gather in the queue and go into the next batch together:
     * fewer, larger commits write each page to the log fewer times. Idle, the writer looks
     * each second whether a parameter's Expiration has come. */
    while ((!st->head || st->sync_head) && !st->closing) {
      if (st->head || st->sync_head || !st->next_expiry_ms) {
        pthread_cond_wait(&st->cv, &st->mu);
        continue;
      }
      if (expiry_due(st)) break;
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait(&st->cv, &st->mu, &ts);
    }
    if (!st->head && st->closing) {
      st->writer_done = 1;
      pthread_cond_signal(&st->sync_cv);
      pthread_mutex_unlock(&st->mu);
      break;
    }
    sy_op *ops = st->head, *last = ops;
    int n = 1;
    while (last->next && n < BATCH_MAX) {
      last = last->next;
      n++;
    }
    st->head = last->next;
    if (!st->head) st->tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&st->mu);
    run_batch(st, ops);
  }
  return NULL;
}

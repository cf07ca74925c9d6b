/* read.c — the store's reads of what is not in memory, through its engine (backend.h). */
#include <inttypes.h>
#include <stdio.h>

#include "store/backend.h"
#include "store/store_int.h"

sy_rc sy__store_read_version(sy_store *st, const char *name, int64_t version, sy_ver **out) {
  return st->be->read_kept(st, name, version, out);
}

sy_rc sy__store_history(sy_store *st, const char *name, int64_t after_version, int limit, sy_ver_cb cb, void *ctx,
                        int *more) {
  return st->be->history(st, name, after_version, limit, cb, ctx, more);
}

sy_rc sy__store_audit(sy_store *st, const sy_audit_query *q, sy_audit_cb cb, void *ctx, int64_t *resume) {
  return st->be->audit(st, q, cb, ctx, resume);
}

sy_rc sy__store_events(sy_store *st, int64_t after, int limit, sy_event_cb cb, void *ctx) {
  return st->be->events(st, after, limit, cb, ctx);
}

#define AUDIT_WINDOW 100000 /* records a filtered audit query examines per call */

int sy__audit_window(const sy_audit_query *aq, int64_t last, int64_t *lower, int64_t *upper) {
  *lower = aq->asc ? aq->after : 0;
  *upper = aq->asc ? 0 : aq->before;
  if (aq->since_seq > *lower) *lower = aq->since_seq;
  if (!aq->name && !aq->since_ms) return 0;
  if (aq->asc) {
    *upper = *lower + AUDIT_WINDOW + 1;
    if (*upper > last + 1) *upper = 0;
    return 1;
  }
  int64_t top = *upper ? *upper : last + 1;
  if (top - AUDIT_WINDOW - 1 <= *lower) return 0; /* the window reaches the start: nothing to resume */
  *lower = top - AUDIT_WINDOW - 1;
  return 1;
}

int64_t sy__audit_resume(const sy_audit_query *aq, int64_t lower, int64_t upper) {
  return aq->asc ? (upper ? upper - 1 : 0) : lower + 1;
}

/* The verify walk's state: the chain so far and how many records it has seen. */
typedef struct verify_walk {
  sy_audit_chain chain;
  int64_t records;
} verify_walk;

static void verify_next(void *ctx, const sy_audit_rec *rec, const char *hash) {
  verify_walk *w = ctx;
  w->records++;
  sy__audit_chain_next(&w->chain, rec, hash);
}

/* The chain is checked here, whatever the engine: it only hands over the records in order. */
sy_rc sy__store_audit_verify(sy_store *st, int64_t *records, int64_t *first_broken, char *msg, size_t msgsz) {
  verify_walk w = {.records = 0};
  *records = 0;
  *first_broken = 0;
  msg[0] = 0;
  sy__audit_chain_init(&w.chain);
  sy_rc rc = st->be->audit_walk(st, verify_next, &w);
  *records = w.records;
  if (w.chain.broken_seq) {
    *first_broken = w.chain.broken_seq;
    snprintf(msg, msgsz, "record %" PRId64 ": %s", w.chain.broken_seq, w.chain.why);
  }
  return rc;
}

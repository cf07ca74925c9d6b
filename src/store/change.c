/* change.c — what every write rule shares (rules.c, creds.c): refusing an op with a precise
 * message, recording why a storage step failed, and a change's audit record and event,
 * chained and handed to the engine. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "store/store_int.h"

sy_rc sy__op_fail(sy_op *op, sy_rc rc, const char *fmt, ...) {
  va_list ap;
  op->rc = rc;
  va_start(ap, fmt);
  vsnprintf(op->msg, sizeof op->msg, fmt, ap);
  va_end(ap);
  return rc;
}

void sy__cause(sy_store *st, const char *step, sy_rc rc) {
  if (st->cause) return;
  if (rc == SY_EIO)
    st->be->explain(st, step);
  else
    st->cause = json_pack("{ss ss}", "step", step, "status", sy_strerror(rc));
}

/* A storage step failed: the engine has recorded why; the client hears only this. */
sy_rc sy__storage_failed(sy_op *op, sy_rc rc) {
  return sy__op_fail(op, rc == SY_ENOMEM ? SY_ENOMEM : SY_EIO, "%s",
                     rc == SY_ENOMEM ? "out of memory" : "storage failure");
}

/* ---- audit record and change event ---- */

sy_event *sy__event_copy(const sy_event *e) {
  size_t an = strlen(e->action) + 1, nn = strlen(e->name) + 1, dn = strlen(e->detail) + 1;
  size_t vn = e->value ? e->value_len + 1 : 0;
  sy_event *c = malloc(sizeof *c + an + nn + dn + vn);
  if (!c) return NULL;
  *c = *e;
  char *p = (char *)(c + 1);
  c->action = memcpy(p, e->action, an);
  c->name = memcpy(p += an, e->name, nn);
  c->detail = memcpy(p += nn, e->detail, dn);
  if (e->value) {
    memcpy(p += dn, e->value, e->value_len);
    p[e->value_len] = 0;
    c->value = p;
  }
  return c;
}

sy_rc sy__event_queue(sy_store *st, const sy_event *ev) {
  if (st->nevents == st->cap_events) {
    size_t cap = st->cap_events ? st->cap_events * 2 : 64;
    sy_event **ne = realloc(st->events, cap * sizeof *ne);
    if (!ne) return SY_ENOMEM;
    st->events = ne;
    st->cap_events = cap;
  }
  sy_event *copy = sy__event_copy(ev);
  if (!copy) return SY_ENOMEM;
  st->events[st->nevents++] = copy;
  return SY_OK;
}

/* Chains the audit record of a change, hands it to the engine with its event, and queues
 * the event to be published once the batch is durable. */
sy_rc sy__audit_append(sy_store *st, const sy_op *op, const sy__change *c) {
  char time[32], old_d[SY_HASH_HEX] = "", new_d[SY_HASH_HEX] = "", h[SY_HASH_HEX];
  int64_t now = sy__clock_now(st->clock);
  sy__fmt_time(now, time, sizeof time);
  sy_rc rc = c->old_ver ? sy__store_digest(st, c->name, c->old_ver, old_d) : SY_OK;
  if (!rc && c->new_ver) rc = sy__store_digest(st, c->name, c->new_ver, new_d);
  if (rc) {
    sy__cause(st, "digest of a value for the audit record", rc);
    return SY_EINTERNAL;
  }
  sy_audit_rec r = {.seq = st->last_seq + 1,
                    .time = time,
                    .actor = op->actor ? op->actor : "system",
                    .action = c->action,
                    .name = c->name,
                    .old_version = c->old_version,
                    .new_version = c->new_version,
                    .old_digest = old_d,
                    .new_digest = new_d,
                    .reason = op->reason ? op->reason : "",
                    .detail = c->detail ? c->detail : "",
                    .prev_hash = st->last_hash};
  sy__audit_hash(&r, h);
  sy_event ev = {.seq = r.seq,
                 .time_ms = now,
                 .action = c->action,
                 .name = c->name,
                 .version = c->new_version,
                 .detail = r.detail};
  if (c->new_ver) {
    ev.kind = c->new_ver->kind;
    if (ev.kind != SY_KIND_SECURESTRING) {
      ev.value = c->new_ver->value;
      ev.value_len = c->new_ver->value_len;
    }
  }
  rc = st->be->append_audit(st, &r, h, &ev);
  if (!rc) rc = sy__event_queue(st, &ev);
  if (rc) return rc;
  st->last_seq = r.seq;
  memcpy(st->last_hash, h, SY_HASH_HEX);
  return SY_OK;
}

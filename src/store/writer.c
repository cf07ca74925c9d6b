/* writer.c — the one write path: validate, apply in one transaction, commit, publish. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/jbuf.h"
#include "core/secretbox.h"
#include "store/store_int.h"

#define BATCH_MAX 1024
#define EVENT_MAX (1024 * 1024) /* one change event's JSON: a value escaped at worst, and room to spare */

/* ---- why a write failed ----
 * The first storage step of an op that fails records its cause (the SQL, SQLite's
 * message and code, errno); if the op then fails with an internal error, run_batch logs
 * the op with that cause as one line. Later failures of the same op are consequences. */

static void cause_sql(sy_store *st, const char *step) {
  if (!st->cause) st->cause = sy__db_cause(st->db, step);
}

static void cause_rc(sy_store *st, const char *step, sy_rc rc) {
  if (rc == SY_EIO) {
    cause_sql(st, step);
    return;
  }
  if (!st->cause) st->cause = json_pack("{ss ss}", "step", step, "status", sy_strerror(rc));
}

/* ---- SQL helpers ---- */

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

__attribute__((format(printf, 3, 4))) static sy_rc fail(sy_op *op, sy_rc rc, const char *fmt, ...) {
  va_list ap;
  op->rc = rc;
  va_start(ap, fmt);
  vsnprintf(op->msg, sizeof op->msg, fmt, ap);
  va_end(ap);
  return rc;
}

static const char *labels_csv(const sy_ver *v, char *buf, size_t sz) {
  size_t off = 0;
  buf[0] = 0;
  for (int i = 0; i < v->nlabels && off < sz; i++)
    off += (size_t)snprintf(buf + off, sz - off, "%s%s", i ? "," : "", v->labels[i]);
  return buf;
}

static char *tags_json(const sy_tag *tags, int n) {
  json_t *o = json_object();
  for (int i = 0; i < n; i++) json_object_set_new(o, tags[i].key, json_string(tags[i].value));
  char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  return s;
}

/* ---- audit + change event ---- */

typedef struct change {
  const char *action, *name, *reason, *detail;
  int64_t old_version, new_version;
  const sy_ver *old_ver, *new_ver; /* for digests and the event's value */
  const char *event_type;          /* kind for the event, if any */
} change;

static sy_rc audit_append(sy_store *st, const sy_op *op, const change *c) {
  char time[32], old_d[SY_HASH_HEX] = "", new_d[SY_HASH_HEX] = "", h[SY_HASH_HEX];
  int64_t now = sy__clock_now(st->clock);
  sy__fmt_time(now, time, sizeof time);
  sy_rc drc = c->old_ver ? sy__store_digest(st, c->name, c->old_ver, old_d) : SY_OK;
  if (!drc && c->new_ver) drc = sy__store_digest(st, c->name, c->new_ver, new_d);
  if (drc) {
    cause_rc(st, "digest of a value for the audit record", drc);
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
  sy_audit_hash(&r, h);

  /* the change event, written directly: this runs once per change, 100,000 times in a large import */
  sy_jbuf eb;
  sy_jbuf_init(&eb, EVENT_MAX);
  sy_jbuf_cstr(&eb, "{\"seq\":");
  sy_jbuf_int(&eb, r.seq);
  sy_jbuf_cstr(&eb, ",\"action\":");
  sy_jbuf_str(&eb, c->action, strlen(c->action));
  sy_jbuf_cstr(&eb, ",\"name\":");
  sy_jbuf_str(&eb, c->name, strlen(c->name));
  sy_jbuf_cstr(&eb, ",\"version\":");
  sy_jbuf_int(&eb, c->new_version);
  sy_jbuf_cstr(&eb, ",\"time\":\"");
  sy_jbuf_cstr(&eb, time);
  sy_jbuf_cstr(&eb, "\"");
  if (c->new_ver) {
    sy_jbuf_cstr(&eb, ",\"type\":\"");
    sy_jbuf_cstr(&eb, sy_kind_name(c->new_ver->kind));
    sy_jbuf_cstr(&eb, "\"");
    if (c->new_ver->kind != SY_KIND_SECURESTRING) {
      sy_jbuf_cstr(&eb, ",\"value\":");
      sy_jbuf_str(&eb, c->new_ver->value, c->new_ver->value_len);
    }
  }
  if (c->detail && *c->detail) {
    sy_jbuf_cstr(&eb, ",\"detail\":");
    sy_jbuf_str(&eb, c->detail, strlen(c->detail));
  }
  sy_jbuf_cstr(&eb, "}");
  char *evs = sy_jbuf_take(&eb, NULL);
  if (!evs) {
    cause_rc(st, "change event", SY_ENOMEM);
    return SY_ENOMEM;
  }

  sqlite3_stmt *q = prep(st,
                         "INSERT INTO audit(seq, time, time_ms, actor, action, name, old_version, new_version,"
                         " old_digest, new_digest, reason, detail, prev_hash, hash, event)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!q) {
    free(evs);
    return SY_EIO;
  }
  sqlite3_bind_int64(q, 1, r.seq);
  sqlite3_bind_text(q, 2, time, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, now);
  sqlite3_bind_text(q, 4, r.actor, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, r.action, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, r.name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 7, r.old_version);
  sqlite3_bind_int64(q, 8, r.new_version);
  sqlite3_bind_text(q, 9, old_d, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 10, new_d, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 11, r.reason, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 12, r.detail, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 13, r.prev_hash, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 14, h, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 15, evs, -1, SQLITE_STATIC);
  sy_rc rc = run(st, q);
  if (rc) {
    free(evs);
    return rc;
  }
  if (st->nevents == st->cap_events) {
    size_t cap = st->cap_events ? st->cap_events * 2 : 64;
    pending_event *ne = realloc(st->events, cap * sizeof *ne);
    if (!ne) {
      free(evs);
      return SY_ENOMEM;
    }
    st->events = ne;
    st->cap_events = cap;
  }
  char *nm = strdup(c->name);
  if (!nm) {
    free(evs);
    return SY_ENOMEM;
  }
  st->events[st->nevents++] = (pending_event){r.seq, nm, evs};
  st->last_seq = r.seq;
  memcpy(st->last_hash, h, SY_HASH_HEX);
  return SY_OK;
}

/* ---- tree maintenance: SQL is the truth, memory follows it ---- */

/* Reloads name from the database into the batch's working tree. */
static sy_rc refresh(sy_store *st, const char *name) {
  sy_param *p = NULL;
  sy_rc rc = sy__load_param(st->db, name, &p);
  if (rc) {
    cause_rc(st, "reload a parameter", rc);
    return rc;
  }
  sy_node *nr;
  if (p) {
    int grew = 0;
    nr = sy__tree_put(st->work, p, &grew);
    if (!nr) return SY_ENOMEM;
    st->work_count += (size_t)grew;
  } else {
    int shrank = 0, err = 0;
    nr = sy__tree_del(st->work, name, strlen(name), &shrank, &err);
    if (err) return SY_ENOMEM;
    if (!shrank) return SY_OK;
    st->work_count--;
  }
  sy__node_unref(st->work);
  st->work = nr;
  return SY_OK;
}

static const sy_param *work_get(sy_store *st, const char *name) { return sy__tree_get(st->work, name, strlen(name)); }

/* A version kept in memory or, failing that, in the database (owned by caller). */
static sy_rc get_version(sy_store *st, const sy_param *p, int64_t version, sy_ver **out) {
  const sy_ver *v = sy__param_find_version(p, version);
  if (v) {
    *out = sy__ver_ref((sy_ver *)v);
    return SY_OK;
  }
  return sy__db_read_version(st->db, p->name, version, out);
}

static sy_rc write_version_row(sy_store *st, const char *name, const sy_ver *v) {
  sqlite3_stmt *q = prep(st,
                         "INSERT OR REPLACE INTO versions(name, version, kind, tier, value, description, pattern,"
                         " modified_ms, modified_user, labels) VALUES (?,?,?,?,?,?,?,?,?,'')");
  if (!q) return SY_EIO;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, v->version);
  sqlite3_bind_int(q, 3, v->kind);
  sqlite3_bind_int(q, 4, v->tier);
  sqlite3_bind_blob(q, 5, v->value, (int)v->value_len, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, v->description, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 7, v->allowed_pattern, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 8, v->modified_ms);
  sqlite3_bind_text(q, 9, v->modified_user, -1, SQLITE_STATIC);
  return run(st, q);
}

/* Writes the denormalised current state of a parameter (its latest version, oldest kept, tags). */
static sy_rc write_params_row(sy_store *st, const char *name, int64_t oldest, const sy_ver *v, const char *tags) {
  sqlite3_stmt *q = prep(st,
                         "INSERT OR REPLACE INTO params(name, oldest, latest, kind, tier, value, description,"
                         " pattern, modified_ms, modified_user, labels, tags) VALUES (?,?,?,?,?,?,?,?,?,?,'',?)");
  if (!q) return SY_EIO;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, oldest);
  sqlite3_bind_int64(q, 3, v->version);
  sqlite3_bind_int(q, 4, v->kind);
  sqlite3_bind_int(q, 5, v->tier);
  sqlite3_bind_blob(q, 6, v->value, (int)v->value_len, SQLITE_STATIC);
  sqlite3_bind_text(q, 7, v->description, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 8, v->allowed_pattern, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 9, v->modified_ms);
  sqlite3_bind_text(q, 10, v->modified_user, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 11, tags, -1, SQLITE_STATIC);
  return run(st, q);
}

/* Puts the parameter that results from writing v into the working tree, without
 * asking the database: the old latest keeps its labels among the labelled
 * versions, versions older than oldest are gone, tags are replaced when given. */
static sy_rc put_in_memory(sy_store *st, const sy_param *p, const char *name, sy_ver *v, int64_t oldest,
                           const sy_tag *tags, int ntags, int replace_tags) {
  sy_param *np = p ? sy__param_clone(p) : sy__param_new(name, strlen(name));
  if (!np) return SY_ENOMEM;
  sy_ver *old = np->latest;
  np->latest = sy__ver_ref(v);
  np->oldest = oldest;
  int n = 0;
  for (int i = 0; i < np->nlabeled; i++) {
    if (np->labeled[i]->version < oldest)
      sy__ver_unref(np->labeled[i]);
    else
      np->labeled[n++] = np->labeled[i];
  }
  np->nlabeled = n;
  sy_rc rc = SY_OK;
  if (old && old->nlabels) {
    sy_ver **nl = realloc(np->labeled, (size_t)(np->nlabeled + 1) * sizeof *nl);
    if (!nl)
      rc = SY_ENOMEM;
    else {
      np->labeled = nl;
      np->labeled[np->nlabeled++] = sy__ver_ref(old);
    }
  }
  sy__ver_unref(old);
  if (!rc && replace_tags) {
    for (int i = 0; i < np->ntags; i++) {
      free(np->tags[i].key);
      free(np->tags[i].value);
    }
    free(np->tags);
    np->tags = NULL;
    np->ntags = 0;
    if (ntags) {
      /* kept sorted by key, as the database writes them */
      np->tags = calloc((size_t)ntags, sizeof *np->tags);
      if (!np->tags) rc = SY_ENOMEM;
      for (int i = 0; !rc && i < ntags; i++) {
        int at = np->ntags;
        while (at > 0 && strcmp(np->tags[at - 1].key, tags[i].key) > 0) {
          np->tags[at] = np->tags[at - 1];
          at--;
        }
        np->tags[at].key = strdup(tags[i].key);
        np->tags[at].value = strdup(tags[i].value);
        np->ntags++;
        if (!np->tags[at].key || !np->tags[at].value) rc = SY_ENOMEM;
      }
    }
  }
  if (rc) {
    sy__param_unref(np);
    return rc;
  }
  int grew = 0;
  sy_node *nr = sy__tree_put(st->work, np, &grew);
  if (!nr) return SY_ENOMEM;
  sy__node_unref(st->work);
  st->work = nr;
  st->work_count += (size_t)grew;
  return SY_OK;
}

static sy_rc set_labels_row(sy_store *st, const char *name, int64_t version, const char *csv) {
  sqlite3_stmt *q = prep(st, "UPDATE versions SET labels = ? WHERE name = ? AND version = ?");
  if (!q) return SY_EIO;
  sqlite3_bind_text(q, 1, csv, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, version);
  sy_rc rc = run(st, q);
  if (rc) return rc;
  q = prep(st, "UPDATE params SET labels = ? WHERE name = ? AND latest = ?");
  if (!q) return SY_EIO;
  sqlite3_bind_text(q, 1, csv, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, version);
  return run(st, q);
}

static sy_rc set_tags_row(sy_store *st, const char *name, const char *tags) {
  sqlite3_stmt *q = prep(st, "UPDATE params SET tags = ? WHERE name = ?");
  if (!q) return SY_EIO;
  sqlite3_bind_text(q, 1, tags, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
  return run(st, q);
}

/* ---- operations ---- */

/* A copy of v whose value is sealed under the master key, bound to name:version. */
static sy_rc seal_version(sy_store *st, const char *name, const sy_ver *v, sy_ver **out) {
  char aad[SY_SECRETBOX_AAD_MAX];
  size_t aad_len = 0, n = 0;
  sy_rc rc = sy_secretbox_aad(name, v->version, aad, sizeof aad, &aad_len);
  if (rc) return rc;
  size_t cap = SY_SECRETBOX_SEALED_LEN(v->value_len);
  unsigned char *blob = malloc(cap);
  if (!blob) return SY_ENOMEM;
  rc = sy_secretbox_seal(st->master_key, v->value, v->value_len, aad, aad_len, blob, cap, &n);
  if (!rc) {
    sy_ver *s = sy__ver_make((const char *)blob, n, v->description, v->allowed_pattern, v->modified_user);
    if (!s)
      rc = SY_ENOMEM;
    else {
      s->version = v->version;
      s->kind = v->kind;
      s->tier = v->tier;
      s->modified_ms = v->modified_ms;
      *out = s;
    }
  }
  free(blob);
  return rc;
}

/* Writes a new version. action is "put", "rollback" or "import"; replace_tags for import. */
static sy_rc apply_put(sy_store *st, sy_op *op, const sy_put *in, const char *action, const char *detail, int import) {
  char name[SY_NAME_MAX + 1];
  if (in->name_len > SY_NAME_MAX) return fail(op, SY_EINVAL, "%s", "name too long");
  memcpy(name, in->name, in->name_len);
  name[in->name_len] = 0;
  const sy_param *p = work_get(st, name);
  const sy_ver *cur = p ? p->latest : NULL;
  sy_rc rc;

  if (in->if_version == 0 && p)
    return fail(op, SY_ECONFLICT, "parameter %s already exists (if_version 0 means it must not exist)", name);
  if (in->if_version > 0 && (!p || cur->version != in->if_version)) {
    op->rc = SY_ECONFLICT;
    snprintf(op->msg, sizeof op->msg, "parameter %s is at version %" PRId64 ", not %" PRId64, name,
             cur ? cur->version : (int64_t)0, in->if_version);
    return SY_ECONFLICT;
  }
  if (p && !in->overwrite && in->if_version < 0 && !import)
    return fail(op, SY_EEXISTS, "parameter %s already exists; set overwrite to replace it", name);
  if (p && in->has_tags && !import)
    return fail(op, SY_EINVAL, "tags can be given only when %s is created; use the tags endpoint to change them", name);
  if (!p && !in->kind) return fail(op, SY_EINVAL, "type is required to create %s", name);

  if (cur && cur->tier == SY_TIER_ADVANCED && in->tier == SY_TIER_STANDARD && !import)
    return fail(op, SY_EINVAL, "%s is an Advanced parameter; it cannot be changed to Standard", name);
  sy_ver *v = sy__ver_make(in->value, in->value_len,
                           in->description ? in->description
                           : cur           ? cur->description
                                           : "",
                           in->allowed_pattern ? in->allowed_pattern
                           : cur               ? cur->allowed_pattern
                                               : "",
                           op->actor ? op->actor : "system");
  if (!v) return fail(op, SY_ENOMEM, "%s", "out of memory");
  v->version = cur ? cur->version + 1 : 1;
  v->kind = in->kind ? in->kind : cur ? cur->kind : SY_KIND_STRING; /* a create without a kind was refused above */
  v->tier = in->tier ? in->tier : cur ? cur->tier : SY_TIER_STANDARD;
  v->modified_ms = sy__clock_now(st->clock);

  op->rc = sy_value_check(v->kind, v->tier, v->value, v->value_len, op->msg, sizeof op->msg);
  if (!op->rc) op->rc = sy_pattern_compile_check(v->allowed_pattern, op->msg, sizeof op->msg);
  if (!op->rc) op->rc = sy_pattern_check(v->allowed_pattern, v->value, op->msg, sizeof op->msg);
  if (op->rc) {
    sy__ver_unref(v);
    return op->rc;
  }
  if (v->kind == SY_KIND_SECURESTRING) {
    /* from here on only the sealed form exists: in the database, the snapshot and the audit chain */
    sy_ver *sealed = NULL;
    rc = seal_version(st, name, v, &sealed);
    sy__ver_unref(v);
    if (rc) {
      cause_rc(st, "seal a SecureString value", rc);
      return fail(op, rc, "cannot seal the value of %s", name);
    }
    v = sealed;
  }

  int64_t oldest = p ? p->oldest : 1;
  if (v->version - oldest + 1 > SY_VERSIONS_MAX) {
    /* every labelled version is in memory, so the oldest carries a label only if it is there */
    const sy_ver *old = sy__param_find_version(p, oldest);
    if (old && old->nlabels) {
      op->rc = SY_EMAXVERSIONS;
      snprintf(op->msg, sizeof op->msg,
               "%s has %d versions and the oldest, version %" PRId64
               ", carries a label; move or remove the label"
               " first",
               name, SY_VERSIONS_MAX, oldest);
      sy__ver_unref(v);
      return op->rc;
    }
    sqlite3_stmt *q = prep(st, "DELETE FROM versions WHERE name = ? AND version <= ?");
    if (q) {
      sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_int64(q, 2, v->version - SY_VERSIONS_MAX);
    }
    rc = run(st, q);
    if (rc) {
      sy__ver_unref(v);
      return fail(op, rc, "%s", "storage failure");
    }
    oldest = v->version - SY_VERSIONS_MAX + 1;
  }

  char *tags = NULL;
  if (import || !p)
    tags = tags_json(in->tags, in->ntags);
  else
    tags = tags_json(p->tags, p->ntags);
  if (!tags) {
    sy__ver_unref(v);
    return fail(op, SY_ENOMEM, "%s", "out of memory");
  }
  if (in->ntags > SY_TAGS_MAX) {
    free(tags);
    sy__ver_unref(v);
    return fail(op, SY_ETAG_LIMIT, "%s", "at most 50 tags");
  }
  rc = write_version_row(st, name, v);
  if (!rc) rc = write_params_row(st, name, oldest, v, tags);
  free(tags);
  change c = {.action = action,
              .name = name,
              .detail = detail,
              .old_version = cur ? cur->version : 0,
              .new_version = v->version,
              .old_ver = cur,
              .new_ver = v};
  if (!rc) rc = audit_append(st, op, &c);
  op->out_version = v->version;
  op->out_tier = v->tier;
  if (!rc) rc = put_in_memory(st, p, name, v, oldest, in->tags, in->ntags, import || !p);
  sy__ver_unref(v);
  if (rc) return fail(op, rc, "%s", "storage failure");
  return SY_OK;
}

static sy_rc apply_delete_name(sy_store *st, sy_op *op, const char *name, const char *action) {
  const sy_param *p = work_get(st, name);
  if (!p) return fail(op, SY_ENOTFOUND, "parameter %s not found", name);
  sqlite3_stmt *q = prep(st, "DELETE FROM versions WHERE name = ?");
  if (q) sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sy_rc rc = run(st, q);
  if (!rc) {
    q = prep(st, "DELETE FROM params WHERE name = ?");
    if (q) sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    rc = run(st, q);
  }
  char nm[SY_NAME_MAX + 1];
  snprintf(nm, sizeof nm, "%s", name); /* name may point into p, which refresh frees */
  change c = {.action = action, .name = nm, .old_version = p->latest->version, .old_ver = p->latest};
  if (!rc) rc = audit_append(st, op, &c);
  if (!rc) rc = refresh(st, nm);
  if (rc) return fail(op, rc, "%s", "storage failure");
  return SY_OK;
}

/* Deletes every name in op->strs that exists; the result lists what was deleted and what was not there. */
static sy_rc apply_delete_many(sy_store *st, sy_op *op) {
  json_t *deleted = json_array(), *invalid = json_array();
  sy_rc rc = deleted && invalid ? SY_OK : SY_ENOMEM;
  for (int i = 0; !rc && i < op->nstrs; i++) {
    const char *name = op->strs[i];
    if (strlen(name) > SY_NAME_MAX || !work_get(st, name)) {
      json_array_append_new(invalid, json_string(name));
      continue;
    }
    rc = apply_delete_name(st, op, name, "delete");
    if (!rc) json_array_append_new(deleted, json_string(name));
  }
  if (!rc) op->result = json_pack("{sO sO}", "deleted", deleted, "invalid", invalid);
  json_decref(deleted);
  json_decref(invalid);
  if (rc && !op->rc) fail(op, rc, "%s", "out of memory");
  return rc;
}

/* Takes label l off the (private, unpublished) version h. */
static void ver_drop_label(sy_ver *h, const char *l) {
  int n = 0;
  for (int j = 0; j < h->nlabels; j++) {
    if (strcmp(h->labels[j], l) == 0)
      free(h->labels[j]);
    else
      h->labels[n++] = h->labels[j];
  }
  h->nlabels = n;
}

static sy_rc param_name(sy_op *op, char *name) {
  if (op->put.name_len > SY_NAME_MAX || !op->put.name) return fail(op, SY_EINVAL, "%s", "bad name");
  memcpy(name, op->put.name, op->put.name_len);
  name[op->put.name_len] = 0;
  return SY_OK;
}

static sy_rc apply_label(sy_store *st, sy_op *op) {
  char name[SY_NAME_MAX + 1], csv[1200], detail[1200];
  sy_rc rc = param_name(op, name);
  if (rc) return rc;
  const sy_param *p = work_get(st, name);
  if (!p) return fail(op, SY_ENOTFOUND, "parameter %s not found", name);
  int64_t version = op->version ? op->version : p->latest->version;
  sy_ver *target = NULL;
  if (version < p->oldest || version > p->latest->version || get_version(st, p, version, &target)) {
    op->rc = SY_EVERSION_NOTFOUND;
    snprintf(op->msg, sizeof op->msg, "parameter %s has no version %" PRId64, name, version);
    return op->rc;
  }
  json_t *invalid = json_array(), *applied = json_array();
  sy_ver *nt = sy__ver_clone(target);
  sy__ver_unref(target);
  if (!nt || !invalid || !applied) {
    rc = fail(op, SY_ENOMEM, "%s", "out of memory");
    goto out;
  }
  /* which labels are new on this version */
  int add = 0;
  for (int i = 0; i < op->nstrs; i++) {
    const char *l = op->strs[i];
    if (!sy_label_valid(l)) {
      json_array_append_new(invalid, json_string(l));
      continue;
    }
    int dup = 0;
    for (int j = 0; j < i; j++) dup |= strcmp(op->strs[j], l) == 0;
    if (!dup && !sy__ver_has_label(nt, l)) add++;
  }
  if (nt->nlabels + add > SY_LABELS_PER_VERSION) {
    op->rc = SY_ELABEL_LIMIT;
    snprintf(op->msg, sizeof op->msg, "version %" PRId64 " of %s would carry %d labels; the limit is %d", version, name,
             nt->nlabels + add, SY_LABELS_PER_VERSION);
    rc = op->rc;
    goto out;
  }
  size_t doff = (size_t)snprintf(detail, sizeof detail, "labels=");
  for (int i = 0; i < op->nstrs; i++) {
    const char *l = op->strs[i];
    if (!sy_label_valid(l) || sy__ver_has_label(nt, l)) continue;
    /* move it off whichever version carries it */
    const sy_ver *holder = sy__param_find_label(p, l);
    sy_ver *h = NULL;
    if (!holder) {
      sqlite3_stmt *q = prep(st, "SELECT version FROM versions WHERE name = ? AND ',' || labels || ',' LIKE ?");
      char pat[SY_LABEL_MAX + 8];
      snprintf(pat, sizeof pat, "%%,%s,%%", l);
      if (q) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, pat, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW) sy__db_read_version(st->db, name, sqlite3_column_int64(q, 0), &h);
        sy__stmt_done(q);
      }
    } else if (holder->version != version) {
      h = sy__ver_clone(holder);
    }
    if (h) {
      ver_drop_label(h, l);
      rc = set_labels_row(st, name, h->version, labels_csv(h, csv, sizeof csv));
      sy__ver_unref(h);
      if (rc) goto io;
    }
    char **nl = realloc(nt->labels, (size_t)(nt->nlabels + 1) * sizeof *nl);
    if (!nl || !(nl[nt->nlabels] = strdup(l))) {
      if (nl) nt->labels = nl;
      rc = fail(op, SY_ENOMEM, "%s", "out of memory");
      goto out;
    }
    nt->labels = nl;
    nt->nlabels++;
    json_array_append_new(applied, json_string(l));
    doff += (size_t)snprintf(detail + doff, doff < sizeof detail ? sizeof detail - doff : 0, "%s%s",
                             json_array_size(applied) > 1 ? "," : "", l);
  }
  if (json_array_size(applied)) {
    rc = set_labels_row(st, name, version, labels_csv(nt, csv, sizeof csv));
    change c = {.action = "label", .name = name, .detail = detail, .new_version = version};
    if (!rc) rc = audit_append(st, op, &c);
    if (!rc) rc = refresh(st, name);
    if (rc) goto io;
  }
  op->out_version = version;
  op->result = json_pack("{sI sO sO}", "version", (json_int_t)version, "invalid_labels", invalid, "labels", applied);
  rc = SY_OK;
  goto out;
io:
  rc = fail(op, SY_EIO, "%s", "storage failure");
out:
  json_decref(invalid);
  json_decref(applied);
  sy__ver_unref(nt);
  return rc;
}

static sy_rc apply_unlabel(sy_store *st, sy_op *op) {
  char name[SY_NAME_MAX + 1], csv[1200], detail[1200];
  sy_rc rc = param_name(op, name);
  if (rc) return rc;
  const sy_param *p = work_get(st, name);
  if (!p) return fail(op, SY_ENOTFOUND, "parameter %s not found", name);
  if (op->version && (op->version < p->oldest || op->version > p->latest->version)) {
    op->rc = SY_EVERSION_NOTFOUND;
    snprintf(op->msg, sizeof op->msg, "parameter %s has no version %" PRId64, name, op->version);
    return op->rc;
  }
  json_t *removed = json_array(), *invalid = json_array();
  size_t doff = (size_t)snprintf(detail, sizeof detail, "labels=");
  for (int i = 0; i < op->nstrs && !rc; i++) {
    const char *l = op->strs[i];
    const sy_ver *holder = sy_label_valid(l) ? sy__param_find_label(work_get(st, name), l) : NULL;
    if (!holder || (op->version && holder->version != op->version)) {
      json_array_append_new(invalid, json_string(l));
      continue;
    }
    sy_ver *h = sy__ver_clone(holder);
    if (!h) {
      rc = fail(op, SY_ENOMEM, "%s", "out of memory");
      break;
    }
    ver_drop_label(h, l);
    rc = set_labels_row(st, name, h->version, labels_csv(h, csv, sizeof csv));
    if (!rc) {
      change c = {.action = "unlabel", .name = name, .detail = detail, .old_version = h->version};
      doff = (size_t)snprintf(detail, sizeof detail, "labels=%s", l);
      rc = audit_append(st, op, &c);
    }
    sy__ver_unref(h);
    if (!rc) rc = refresh(st, name);
    if (rc)
      rc = fail(op, SY_EIO, "%s", "storage failure");
    else
      json_array_append_new(removed, json_string(l));
  }
  (void)doff;
  if (!rc) op->result = json_pack("{sO sO}", "removed", removed, "invalid_labels", invalid);
  json_decref(removed);
  json_decref(invalid);
  return rc;
}

static json_t *tags_obj(const sy_param *p) {
  json_t *o = json_object();
  for (int i = 0; o && i < p->ntags; i++) json_object_set_new(o, p->tags[i].key, json_string(p->tags[i].value));
  return o;
}

static sy_rc apply_tags(sy_store *st, sy_op *op, int add) {
  char name[SY_NAME_MAX + 1], detail[1024];
  sy_rc rc = param_name(op, name);
  if (rc) return rc;
  const sy_param *p = work_get(st, name);
  if (!p) return fail(op, SY_ENOTFOUND, "parameter %s not found", name);
  json_t *o = tags_obj(p);
  if (!o) return fail(op, SY_ENOMEM, "%s", "out of memory");
  size_t doff = (size_t)snprintf(detail, sizeof detail, "tags=");
  if (add) {
    for (int i = 0; i < op->ntags; i++) {
      json_object_set_new(o, op->tags[i].key, json_string(op->tags[i].value));
      doff += (size_t)snprintf(detail + doff, doff < sizeof detail ? sizeof detail - doff : 0, "%s%s", i ? "," : "",
                               op->tags[i].key);
    }
    if (json_object_size(o) > SY_TAGS_MAX) {
      json_decref(o);
      op->rc = SY_ETAG_LIMIT;
      snprintf(op->msg, sizeof op->msg, "%s would have more than %d tags", name, SY_TAGS_MAX);
      return op->rc;
    }
  } else {
    for (int i = 0; i < op->nstrs; i++) {
      json_object_del(o, op->strs[i]);
      doff += (size_t)snprintf(detail + doff, doff < sizeof detail ? sizeof detail - doff : 0, "%s%s", i ? "," : "",
                               op->strs[i]);
    }
  }
  char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  rc = s ? set_tags_row(st, name, s) : SY_ENOMEM;
  free(s);
  change c = {.action = add ? "tag" : "untag",
              .name = name,
              .detail = detail,
              .old_version = p->latest->version,
              .new_version = p->latest->version};
  if (!rc) rc = audit_append(st, op, &c);
  if (!rc) rc = refresh(st, name);
  if (rc) {
    json_decref(o);
    return fail(op, SY_EIO, "%s", "storage failure");
  }
  op->result = json_pack("{so}", "tags", o);
  return SY_OK;
}

static sy_rc apply_rollback(sy_store *st, sy_op *op) {
  char name[SY_NAME_MAX + 1], detail[64];
  sy_rc rc = param_name(op, name);
  if (rc) return rc;
  const sy_param *p = work_get(st, name);
  if (!p) return fail(op, SY_ENOTFOUND, "parameter %s not found", name);
  sy_ver *old = NULL;
  if (op->version < p->oldest || op->version > p->latest->version || get_version(st, p, op->version, &old)) {
    op->rc = SY_EVERSION_NOTFOUND;
    snprintf(op->msg, sizeof op->msg, "parameter %s has no version %" PRId64, name, op->version);
    return op->rc;
  }
  char *plain = NULL;
  size_t plen = 0;
  rc = sy__store_reveal(st, name, old, &plain, &plen);
  if (rc) {
    sy__ver_unref(old);
    return fail(op, rc, "cannot read version %lld of %s", (long long)op->version, name);
  }
  sy_put in = {.name = name,
               .name_len = strlen(name),
               .value = plain,
               .value_len = plen,
               .kind = old->kind,
               .tier = p->latest->tier > old->tier ? p->latest->tier : old->tier,
               .overwrite = 1,
               .description = old->description,
               .allowed_pattern = old->allowed_pattern,
               .if_version = -1};
  snprintf(detail, sizeof detail, "to_version=%" PRId64, op->version);
  rc = apply_put(st, op, &in, "rollback", detail, 0);
  sy__reveal_free(plain, plen);
  sy__ver_unref(old);
  return rc;
}

/* 1 if item would change the parameter p (value, kind, tier, description, pattern or tags). */
int sy__import_differs(sy_store *st, const sy_param *p, const sy_put *in) {
  const sy_ver *v = p->latest;
  if (v->kind == SY_KIND_SECURESTRING) {
    char *plain = NULL;
    size_t n = 0;
    if (sy__store_reveal(st, p->name, v, &plain, &n)) return 1;
    int differ = n != in->value_len || memcmp(plain, in->value, n);
    sy__reveal_free(plain, n);
    if (differ) return 1;
  } else if (v->value_len != in->value_len || memcmp(v->value, in->value, in->value_len)) {
    return 1;
  }
  if (in->kind && in->kind != v->kind) return 1;
  if ((in->tier ? in->tier : SY_TIER_STANDARD) != v->tier) return 1;
  if (strcmp(in->description ? in->description : "", v->description ? v->description : "")) return 1;
  if (strcmp(in->allowed_pattern ? in->allowed_pattern : "", v->allowed_pattern ? v->allowed_pattern : "")) return 1;
  if (in->ntags != p->ntags) return 1;
  for (int i = 0; i < in->ntags; i++) {
    const char *cur = sy__param_tag(p, in->tags[i].key);
    if (!cur || strcmp(cur, in->tags[i].value)) return 1;
  }
  return 0;
}

static int item_cmp(const void *a, const void *b) {
  const sy_put *x = *(const sy_put *const *)a, *y = *(const sy_put *const *)b;
  size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
  int c = memcmp(x->name, y->name, n);
  return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Writes every item that differs from what the store holds (and with prune deletes what
 * the items lack), all inside the batch's one transaction. What became of each item goes
 * into op->actions; the result is {"summary": {...}, "deleted": [names]}. */
static sy_rc apply_import(sy_store *st, sy_op *op) {
  int created = 0, updated = 0, unchanged = 0, deleted = 0;
  sy_rc rc = SY_OK;
  json_t *gone = json_array();
  const sy_put **sorted = NULL;
  if (!gone) return fail(op, SY_ENOMEM, "%s", "out of memory");
  for (size_t i = 0; i < op->nitems && !rc; i++) {
    const sy_put *in = &op->items[i];
    char name[SY_NAME_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)in->name_len, in->name);
    const sy_param *p = work_get(st, name);
    if (p && !sy__import_differs(st, p, in)) {
      unchanged++;
      if (op->actions) op->actions[i] = SY_IMPORT_UNCHANGED;
      continue;
    }
    p ? updated++ : created++;
    if (op->actions) op->actions[i] = p ? SY_IMPORT_UPDATE : SY_IMPORT_CREATE;
    rc = apply_put(st, op, in, "import", "", 1);
    if (rc && op->msg[0]) {
      char m[SY_MSG_MAX];
      memcpy(m, op->msg, sizeof m);
      int k = snprintf(op->msg, sizeof op->msg, "params[%zu] (%.200s): ", i, name);
      if (k > 0 && (size_t)k < sizeof op->msg) memcpy(op->msg + k, m, sizeof op->msg - (size_t)k - 1);
      op->msg[sizeof op->msg - 1] = 0;
    }
  }
  if (!rc && op->prune) {
    /* delete what the export lacks: walk the tree in order against the items sorted by name */
    sorted = malloc((op->nitems ? op->nitems : 1) * sizeof *sorted);
    if (!sorted) {
      rc = fail(op, SY_ENOMEM, "%s", "out of memory");
      goto out;
    }
    for (size_t i = 0; i < op->nitems; i++) sorted[i] = &op->items[i];
    qsort(sorted, op->nitems, sizeof *sorted, item_cmp);
    char key[SY_NAME_MAX + 2] = "";
    size_t klen = 0;
    int strict = 0;
    for (;;) {
      const sy_param *p = sy__tree_seek(st->work, key, klen, strict);
      if (!p) break;
      snprintf(key, sizeof key, "%s", p->name);
      klen = p->name_len;
      strict = 1;
      sy_put probe = {.name = key, .name_len = klen};
      const sy_put *pp = &probe;
      if (bsearch(&pp, sorted, op->nitems, sizeof *sorted, item_cmp)) continue;
      if (json_array_append_new(gone, json_string(key))) {
        rc = fail(op, SY_ENOMEM, "%s", "out of memory");
        goto out;
      }
      rc = apply_delete_name(st, op, key, "import");
      if (rc) goto out;
      deleted++;
    }
  }
  if (!rc) {
    op->result = json_pack("{s{si si si si} sO}", "summary", "create", created, "update", updated, "unchanged",
                           unchanged, "delete", deleted, "deleted", gone);
    if (!op->result) rc = fail(op, SY_ENOMEM, "%s", "out of memory");
  }
out:
  free(sorted);
  json_decref(gone);
  return rc;
}

static sy_rc auth_reload(sy_store *st) {
  sy_auth *a = NULL;
  sy_rc rc = sy__load_auth(st->db, &a);
  if (rc) {
    cause_rc(st, "reload the credentials", rc);
    return rc;
  }
  a->gen = ++st->auth_gen;
  sy__auth_unref(st->work_auth);
  st->work_auth = a;
  return SY_OK;
}

static void scopes_detail(unsigned scopes, char *detail, size_t sz) {
  static const char *const names[] = {"read", "write", "admin", "decrypt"};
  size_t off = (size_t)snprintf(detail, sz, "scopes=");
  for (int i = 0, first = 1; i < 4 && off < sz; i++)
    if (scopes & (1u << i)) {
      off += (size_t)snprintf(detail + off, sz - off, "%s%s", first ? "" : ",", names[i]);
      first = 0;
    }
}

/* Creates or revokes an access key; the secret is sealed, bound to "accesskey:<id>". */
static sy_rc apply_key(sy_store *st, sy_op *op, int create) {
  sqlite3_stmt *q;
  char detail[64];
  sy_rc rc;
  if (create) {
    q = prep(st, "SELECT name = ? FROM access_keys WHERE name = ? OR id = ?");
    if (!q) return fail(op, SY_EIO, "%s", "storage failure");
    sqlite3_bind_text(q, 1, op->token_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, op->token_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, op->key_id, -1, SQLITE_STATIC);
    int s = sqlite3_step(q), exists = s == SQLITE_ROW, same_name = exists && sqlite3_column_int(q, 0);
    if (s != SQLITE_ROW && s != SQLITE_DONE) cause_sql(st, sqlite3_sql(q));
    sy__stmt_done(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE) return fail(op, SY_EIO, "%s", "storage failure");
    if (exists && same_name) return fail(op, SY_ETOKEN_EXISTS, "an access key named %s already exists", op->token_name);
    if (exists) return fail(op, SY_ETOKEN_EXISTS, "access key id %s is already in use", op->key_id);
    char aad[80];
    unsigned char blob[SY_SECRETBOX_SEALED_LEN(128)];
    size_t aad_len = (size_t)snprintf(aad, sizeof aad, "accesskey:%s", op->key_id), n = 0;
    rc = sy_secretbox_seal(st->master_key, op->key_secret, strlen(op->key_secret), aad, aad_len, blob, sizeof blob, &n);
    if (rc) {
      cause_rc(st, "seal an access key secret", rc);
      return fail(op, rc, "%s", "cannot seal the secret");
    }
    q = prep(st, "INSERT INTO access_keys(id, name, secret, scopes, created_ms) VALUES (?,?,?,?,?)");
    if (q) {
      sqlite3_bind_text(q, 1, op->key_id, -1, SQLITE_STATIC);
      sqlite3_bind_text(q, 2, op->token_name, -1, SQLITE_STATIC);
      sqlite3_bind_blob(q, 3, blob, (int)n, SQLITE_TRANSIENT);
      sqlite3_bind_int(q, 4, (int)op->scopes);
      sqlite3_bind_int64(q, 5, sy__clock_now(st->clock));
    }
  } else {
    q = prep(st, "UPDATE access_keys SET revoked_ms = ? WHERE name = ? AND revoked_ms = 0");
    if (q) {
      sqlite3_bind_int64(q, 1, sy__clock_now(st->clock));
      sqlite3_bind_text(q, 2, op->token_name, -1, SQLITE_STATIC);
    }
  }
  rc = run(st, q);
  if (rc) return fail(op, rc, "%s", "storage failure");
  if (!create && sqlite3_changes(st->db) == 0)
    return fail(op, SY_ETOKEN_NOTFOUND, "no active access key named %s", op->token_name);
  scopes_detail(op->scopes, detail, sizeof detail);
  change c = {.action = create ? "key.create" : "key.revoke", .name = op->token_name, .detail = create ? detail : ""};
  rc = audit_append(st, op, &c);
  if (!rc) rc = auth_reload(st);
  if (rc) return fail(op, rc, "%s", "storage failure");
  return SY_OK;
}

static sy_rc apply_token(sy_store *st, sy_op *op, int create) {
  sqlite3_stmt *q;
  char detail[64];
  if (create) {
    q = prep(st, "SELECT 1 FROM tokens WHERE name = ? OR hash = ?");
    if (!q) return fail(op, SY_EIO, "%s", "storage failure");
    sqlite3_bind_text(q, 1, op->token_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, op->token_hash, -1, SQLITE_STATIC);
    int s = sqlite3_step(q), exists = s == SQLITE_ROW;
    if (s != SQLITE_ROW && s != SQLITE_DONE) cause_sql(st, sqlite3_sql(q));
    sy__stmt_done(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE) return fail(op, SY_EIO, "%s", "storage failure");
    if (exists) return fail(op, SY_ETOKEN_EXISTS, "a token named %s already exists", op->token_name);
    q = prep(st, "INSERT INTO tokens(name, hash, scopes, created_ms) VALUES (?,?,?,?)");
    if (q) {
      sqlite3_bind_text(q, 1, op->token_name, -1, SQLITE_STATIC);
      sqlite3_bind_text(q, 2, op->token_hash, -1, SQLITE_STATIC);
      sqlite3_bind_int(q, 3, (int)op->scopes);
      sqlite3_bind_int64(q, 4, sy__clock_now(st->clock));
    }
  } else {
    q = prep(st, "UPDATE tokens SET revoked_ms = ? WHERE name = ? AND revoked_ms = 0");
    if (q) {
      sqlite3_bind_int64(q, 1, sy__clock_now(st->clock));
      sqlite3_bind_text(q, 2, op->token_name, -1, SQLITE_STATIC);
    }
  }
  sy_rc rc = run(st, q);
  if (rc) return fail(op, rc, "%s", "storage failure");
  if (!create && sqlite3_changes(st->db) == 0)
    return fail(op, SY_ETOKEN_NOTFOUND, "no active token named %s", op->token_name);
  scopes_detail(op->scopes, detail, sizeof detail);
  change c = {
      .action = create ? "token.create" : "token.revoke", .name = op->token_name, .detail = create ? detail : ""};
  rc = audit_append(st, op, &c);
  if (!rc) rc = auth_reload(st);
  if (rc) return fail(op, rc, "%s", "storage failure");
  return SY_OK;
}

static sy_rc apply(sy_store *st, sy_op *op) {
  char name[SY_NAME_MAX + 1];
  switch (op->kind) {
  case SY_OP_PUT: return apply_put(st, op, &op->put, "put", "", 0);
  case SY_OP_DELETE:
    if (op->nstrs) return apply_delete_many(st, op);
    if (param_name(op, name)) return op->rc;
    return apply_delete_name(st, op, name, "delete");
  case SY_OP_LABEL: return apply_label(st, op);
  case SY_OP_UNLABEL: return apply_unlabel(st, op);
  case SY_OP_TAG: return apply_tags(st, op, 1);
  case SY_OP_UNTAG: return apply_tags(st, op, 0);
  case SY_OP_ROLLBACK: return apply_rollback(st, op);
  case SY_OP_IMPORT: return apply_import(st, op);
  case SY_OP_TOKEN_CREATE: return apply_token(st, op, 1);
  case SY_OP_TOKEN_REVOKE: return apply_token(st, op, 0);
  case SY_OP_KEY_CREATE: return apply_key(st, op, 1);
  case SY_OP_KEY_REVOKE: return apply_key(st, op, 0);
  }
  return fail(op, SY_EINVAL, "%s", "unknown operation");
}

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
  if (f && op->kind == SY_OP_IMPORT) json_object_set_new(f, "items", json_integer((json_int_t)op->nitems));
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
    free(st->events[i].name);
    free(st->events[i].json);
  }
  st->nevents = from;
}

static void snap_free_cb(struct rcu_head *head) {
  snap_box *b = caa_container_of(head, snap_box, head);
  sy__snap_clear(&b->snap);
  free(b);
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
  sy_rc rc = sb ? exec(st, "BEGIN IMMEDIATE") : SY_ENOMEM;
  int any = 0;
  for (sy_op *op = ops; !rc && op; op = op->next) {
    int64_t seq = st->last_seq;
    size_t nev = st->nevents;
    char h[SY_HASH_HEX];
    memcpy(h, st->last_hash, SY_HASH_HEX);
    sy_node *root = sy__node_ref(st->work);
    size_t count = st->work_count;
    sy_auth *auth = sy__auth_ref(st->work_auth);
    if (exec(st, "SAVEPOINT op")) {
      rc = SY_EIO;
      sy__node_unref(root);
      sy__auth_unref(auth);
      break;
    }
    if (apply(st, op) == SY_OK) {
      json_decref(st->cause); /* a step that failed and was handled: not worth a line */
      st->cause = NULL;
      sy__node_unref(root);
      sy__auth_unref(auth);
      if (exec(st, "RELEASE op")) {
        rc = SY_EIO;
        break;
      }
      any = 1;
    } else {
      if (!op->rc) op->rc = SY_EINTERNAL;
      /* the connection's error is this op's if no step said otherwise: read it before the rollback */
      if (internal(op->rc)) {
        int code = sqlite3_errcode(st->db);
        if (code != SQLITE_OK && code != SQLITE_ROW && code != SQLITE_DONE) cause_sql(st, "apply");
        log_op_failure(st, op);
      } else {
        json_decref(st->cause);
        st->cause = NULL;
      }
      /* undo this op alone: SQL, chain, events, tree */
      if (exec(st, "ROLLBACK TO op") || exec(st, "RELEASE op")) rc = SY_EIO;
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
  if (!rc) rc = exec(st, any ? "COMMIT" : "ROLLBACK");
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
      snprintf(why, sizeof why, "%s", rc == SY_ENOMEM ? "out of memory" : sqlite3_errmsg(st->db));
      for (sy_op *op = ops; op; op = op->next) nops++;
      if (!st->cause) cause_rc(st, "batch", rc);
      json_t *f = json_pack("{ss sI}", "op", "batch", "ops", (json_int_t)nops);
      if (f && st->cause) json_object_update(f, st->cause);
      json_decref(st->cause);
      st->cause = NULL;
      sy__store_log(st, "error", "the store could not commit a batch of writes", f);
      sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      st->last_seq = seq0;
      memcpy(st->last_hash, hash0, SY_HASH_HEX);
      free_events(st, 0);
      for (sy_op *op = ops; op; op = op->next)
        if (!op->rc) {
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

/* The file the commits of the batches went to; opened once it exists. */
static int wal_fd(sy_store *st) {
  if (st->wal_fd >= 0) return st->wal_fd;
  char path[4096];
  snprintf(path, sizeof path, "%s-wal", st->db_path);
  st->wal_fd = open(path, O_RDONLY | O_CLOEXEC);
  return st->wal_fd;
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
      int fd = wal_fd(st);
      if (fd < 0 || fdatasync(fd)) {
        /* the disk did not take committed data: nothing more can be promised */
        sy__store_log(
            st, "fatal", "cannot sync the write-ahead log",
            json_pack("{ss ss}", "step", fd < 0 ? "open the write-ahead log" : "fdatasync", "errno", strerror(errno)));
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
          for (; n < 64 && i < b->nevents; n++, i++)
            evs[n] = (sy_event){b->events[i].seq, b->events[i].name, b->events[i].json};
          st->hook(st->hook_ctx, evs, n);
        }
      }
      for (size_t i = 0; i < b->nevents; i++) {
        free(b->events[i].name);
        free(b->events[i].json);
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

void *sy__writer_main(void *arg) {
  sy_store *st = arg;
  for (;;) {
    pthread_mutex_lock(&st->mu);
    /* At most one committed batch waits for the disk. While the syncer is busy with the
     * one before, new writes gather in the queue and go into the next batch together:
     * fewer, larger commits write each page to the log fewer times. */
    while ((!st->head || st->sync_head) && !st->closing) pthread_cond_wait(&st->cv, &st->mu);
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

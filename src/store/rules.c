/* rules.c — what each write operation means: its checks, the versions, labels, tags and
 * credentials it makes, its audit record and its change event, or a precise refusal.
 *
 * The rules read only the batch's working snapshot (st->work, the credentials being built)
 * and hand every row to store to the engine (backend.h); they know no SQL. The new state
 * of a parameter is computed here and put into the working tree, so that what readers see
 * after the commit is exactly what was stored. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secretbox.h"
#include "store/backend.h"
#include "store/store_int.h"

/* ---- the working snapshot ---- */

/* The parameter name means ("foo" finds "/foo" and the other way round: sy__tree_find). */
static const sy_param *work_get(sy_store *st, const char *name) { return sy__tree_find(st->work, name, strlen(name)); }

/* Puts np into the working tree (takes np's reference). */
sy_rc sy__work_put(sy_store *st, sy_param *np) {
  int grew = 0;
  sy_node *nr = sy__tree_put(st->work, np, &grew);
  if (!nr) return SY_ENOMEM;
  sy__node_unref(st->work);
  st->work = nr;
  st->work_count += (size_t)grew;
  return SY_OK;
}

sy_rc sy__work_del(sy_store *st, const char *name) {
  int shrank = 0, err = 0;
  sy_node *nr = sy__tree_del(st->work, name, strlen(name), &shrank, &err);
  if (err) return SY_ENOMEM;
  if (!shrank) { /* not there (a catch-up names what is gone): the tree is the same, its new reference goes */
    sy__node_unref(nr);
    return SY_OK;
  }
  sy__node_unref(st->work);
  st->work = nr;
  st->work_count--;
  return SY_OK;
}

/* A version kept in memory or, failing that, by the engine (owned by the caller). */
static sy_rc get_version(sy_store *st, const sy_param *p, int64_t version, sy_ver **out) {
  const sy_ver *v = sy__param_find_version(p, version);
  if (v) {
    *out = sy__ver_ref((sy_ver *)v);
    return SY_OK;
  }
  return st->be->read_version(st, p->name, version, out);
}

/* A copy of p with v in place of the version of its number: the latest, or among the
 * labelled versions while it carries a label (kept in version order). NULL on ENOMEM. */
static sy_param *param_with(const sy_param *p, sy_ver *v) {
  sy_param *np = sy__param_clone(p);
  if (!np) return NULL;
  if (v->version == np->latest->version) {
    sy__ver_unref(np->latest);
    np->latest = sy__ver_ref(v);
    return np;
  }
  int n = 0, at = -1;
  for (int i = 0; i < np->nlabeled; i++) {
    if (np->labeled[i]->version == v->version)
      sy__ver_unref(np->labeled[i]);
    else
      np->labeled[n++] = np->labeled[i];
  }
  np->nlabeled = n;
  if (!v->nlabels) return np;
  sy_ver **nl = realloc(np->labeled, (size_t)(n + 1) * sizeof *nl);
  if (!nl) {
    sy__param_unref(np);
    return NULL;
  }
  np->labeled = nl;
  for (at = n; at > 0 && nl[at - 1]->version > v->version; at--) nl[at] = nl[at - 1];
  nl[at] = sy__ver_ref(v);
  np->nlabeled++;
  return np;
}

/* Replaces np's tags with a copy of tags, kept sorted by key. */
static sy_rc param_set_tags(sy_param *np, const sy_tag *tags, int ntags) {
  for (int i = 0; i < np->ntags; i++) {
    free(np->tags[i].key);
    free(np->tags[i].value);
  }
  free(np->tags);
  np->tags = NULL;
  np->ntags = 0;
  if (!ntags) return SY_OK;
  np->tags = calloc((size_t)ntags, sizeof *np->tags);
  if (!np->tags) return SY_ENOMEM;
  for (int i = 0; i < ntags; i++) {
    int at = np->ntags;
    while (at > 0 && strcmp(np->tags[at - 1].key, tags[i].key) > 0) {
      np->tags[at] = np->tags[at - 1];
      at--;
    }
    np->tags[at].key = strdup(tags[i].key);
    np->tags[at].value = strdup(tags[i].value);
    np->ntags++;
    if (!np->tags[at].key || !np->tags[at].value) return SY_ENOMEM;
  }
  return SY_OK;
}

/* The parameter that results from writing v: the old latest keeps its labels among the
 * labelled versions, versions older than oldest are gone, tags are replaced when given. */
static sy_param *param_after_put(const sy_param *p, const char *name, sy_ver *v, int64_t oldest, const sy_tag *tags,
                                 int ntags, int replace_tags) {
  sy_param *np = p ? sy__param_clone(p) : sy__param_new(name, strlen(name));
  if (!np) return NULL;
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
  if (!rc && replace_tags) rc = param_set_tags(np, tags, ntags);
  if (rc) {
    sy__param_unref(np);
    return NULL;
  }
  return np;
}

/* ---- parameters ---- */

/* A copy of v whose value is sealed under its KMS key id's data key, bound to name:version. */
static sy_rc seal_version(sy_store *st, const char *name, const sy_ver *v, sy_ver **out) {
  unsigned char *blob = NULL;
  size_t n = 0;
  sy_rc rc = sy__store_box(st, 1, name, v, &blob, &n);
  if (!rc) {
    sy_ver_meta m = {v->key_id, v->data_type, v->policies, v->schema};
    sy_ver *s = sy__ver_make_meta((const char *)blob, n, v->description, v->allowed_pattern, v->modified_user, &m);
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

/* An attribute a put gives (NULL: keep the current one, given the default: "") */
static const char *attr_or(const char *given, const char *dflt, const char *current) {
  if (!given) return current;
  return strcmp(given, dflt) ? given : "";
}

/* Writes a new version. action is "put", "rollback" or "import"; an import replaces the tags
 * and may lower the tier. */
static sy_rc apply_put(sy_store *st, sy_op *op, const sy_put *in, const char *action, const char *detail, int import) {
  char name[SY_NAME_MAX + 1];
  if (!in->name || in->name_len > SY_NAME_MAX) return sy__op_fail(op, SY_EINVAL, "%s", "name too long");
  memcpy(name, in->name, in->name_len);
  name[in->name_len] = 0;
  char why[256];
  sy_rc nrc = sy__name_check(name, in->name_len, why, sizeof why);
  if (nrc) return sy__op_fail(op, nrc, "name: %s", why); /* core leaves the field to its caller */
  const sy_param *p = work_get(st, name);
  if (p) memcpy(name, p->name, p->name_len + 1); /* "foo" writes the "/foo" that exists */
  const sy_ver *cur = p ? p->latest : NULL;

  if (in->if_version == 0 && p)
    return sy__op_fail(op, SY_ECONFLICT, "parameter %s already exists (if_version 0 means it must not exist)", name);
  if (in->if_version > 0 && (!p || cur->version != in->if_version))
    return sy__op_fail(op, SY_ECONFLICT, "parameter %s is at version %" PRId64 ", not %" PRId64, name,
                       cur ? cur->version : (int64_t)0, in->if_version);
  if (p && !in->overwrite && in->if_version < 0 && !import)
    return sy__op_fail(op, SY_EEXISTS, "parameter %s already exists; set overwrite to replace it", name);
  if (p && in->has_tags && !import)
    return sy__op_fail(op, SY_EINVAL, "tags can be given only when %s is created; use the tags endpoint to change them",
                       name);
  if (!p && !in->kind) return sy__op_fail(op, SY_EINVAL, "type is required to create %s", name);
  if (cur && cur->tier == SY_TIER_ADVANCED && in->tier == SY_TIER_STANDARD && !import)
    return sy__op_fail(op, SY_EINVAL, "%s is an Advanced parameter; it cannot be changed to Standard", name);

  /* a String put through SSM on a flag, a provider or a route writes that document (each is a
   * String to SSM) */
  sy_kind kind = in->kind ? in->kind : cur ? cur->kind : SY_KIND_STRING; /* a create without one was refused above */
  if (in->string_keeps_kind && kind == SY_KIND_STRING && cur &&
      (cur->kind == SY_KIND_FLAG || cur->kind == SY_KIND_PROVIDER || cur->kind == SY_KIND_ROUTE ||
       cur->kind == SY_KIND_LIMIT || cur->kind == SY_KIND_ROLLOUT || cur->kind == SY_KIND_ROLLOUT_STATE ||
       cur->kind == SY_KIND_ALERT_RULE))
    kind = cur->kind;
  if (kind != SY_KIND_FLAG && in->schema && *in->schema)
    return sy__op_fail(op, SY_EINVAL, "schema: only a flag has a schema; %s is a %s", name, sy__kind_name(kind));
  /* what a put leaves out it keeps: the description, pattern, SSM attributes and a flag's
   * schema (the defaults, text and alias/aws/ssm, are kept as "") */
  sy_ver_meta meta = {attr_or(in->key_id, "alias/aws/ssm", cur ? cur->key_id : ""),
                      attr_or(in->data_type, "text", cur ? cur->data_type : ""),
                      attr_or(in->policies, "", cur ? cur->policies : ""),
                      kind == SY_KIND_FLAG ? attr_or(in->schema, "", cur ? cur->schema : "") : ""};
  sy_ver *v = sy__ver_make_meta(in->value, in->value_len,
                                in->description ? in->description
                                : cur           ? cur->description
                                                : "",
                                in->allowed_pattern ? in->allowed_pattern
                                : cur               ? cur->allowed_pattern
                                                    : "",
                                op->actor ? op->actor : "system", &meta);
  if (!v) return sy__op_fail(op, SY_ENOMEM, "%s", "out of memory");
  v->version = cur ? cur->version + 1 : 1;
  v->kind = kind;
  v->tier = in->tier ? in->tier : cur ? cur->tier : SY_TIER_STANDARD;
  v->modified_ms = sy__clock_now(st->clock);

  /* the one place a version's content is checked: its kind's rules and its pattern */
  op->rc = sy__version_check(v->kind, v->tier, v->value, v->value_len, v->description, v->allowed_pattern, op->msg,
                             sizeof op->msg);
  if (!op->rc && (in->data_type || in->value))
    op->rc = sy__data_type_check(v->data_type, v->value, v->value_len, op->msg, sizeof op->msg);
  if (!op->rc && in->key_id && *v->key_id) op->rc = sy__key_id_check(v->key_id, op->msg, sizeof op->msg);
  if (!op->rc && in->policies) op->rc = sy__policies_check(v->policies, NULL, op->msg, sizeof op->msg);
  if (!op->rc) op->rc = sy__tags_check(in->tags, in->ntags, op->msg, sizeof op->msg);
  /* a kind that compiles its values (a flag) checks them against its schema here, once */
  if (!op->rc) op->rc = sy__ver_compile(v, name[0] == '/' ? name + 1 : name, op->msg, sizeof op->msg);
  if (op->rc) {
    sy__ver_unref(v);
    return op->rc;
  }
  sy_rc rc;
  if (v->kind == SY_KIND_SECURESTRING) {
    /* from here on only the sealed form exists: in storage, the snapshot and the audit chain */
    sy_ver *sealed = NULL;
    rc = seal_version(st, name, v, &sealed);
    sy__ver_unref(v);
    if (rc) {
      sy__cause(st, "seal a SecureString value", rc);
      return sy__op_fail(op, rc, "cannot seal the value of %s", name);
    }
    v = sealed;
  }

  int64_t oldest = p ? p->oldest : 1;
  rc = SY_OK;
  if (v->version - oldest + 1 > SY_VERSIONS_MAX) {
    /* every labelled version is in memory, so the oldest carries a label only if it is there */
    const sy_ver *old = sy__param_find_version(p, oldest);
    if (old && old->nlabels) {
      sy__ver_unref(v);
      op->out_version = oldest; /* the version in the way, for the API's words */
      return sy__op_fail(op, SY_EMAXVERSIONS,
                         "%s has %d versions and the oldest, version %" PRId64
                         ", carries a label; move or remove the label first",
                         name, SY_VERSIONS_MAX, oldest);
    }
    rc = st->be->drop_versions(st, name, v->version - SY_VERSIONS_MAX);
    oldest = v->version - SY_VERSIONS_MAX + 1;
  }
  int replace_tags = import || !p;
  sy_param *np = rc ? NULL : param_after_put(p, name, v, oldest, in->tags, in->ntags, replace_tags);
  if (!rc && !np) rc = SY_ENOMEM;
  if (!rc) rc = st->be->put_version(st, name, v, op->reason);
  if (!rc) rc = st->be->put_param(st, np);
  sy__change c = {.action = action,
                  .name = name,
                  .detail = detail,
                  .old_version = cur ? cur->version : 0,
                  .new_version = v->version,
                  .old_ver = cur,
                  .new_ver = v};
  if (!rc) rc = sy__audit_append(st, op, &c);
  op->out_version = v->version;
  op->out_tier = v->tier;
  if (!rc && v->expires_ms && (!st->next_expiry_ms || v->expires_ms < st->next_expiry_ms))
    st->next_expiry_ms = v->expires_ms; /* a lower bound: an op undone later costs one idle look */
  sy__ver_unref(v);
  if (!rc) {
    rc = sy__work_put(st, np); /* cur points into p, which this may free: last */
    np = NULL;
  }
  sy__param_unref(np);
  return rc ? sy__storage_failed(op, rc) : SY_OK;
}

static sy_rc apply_delete_name(sy_store *st, sy_op *op, const char *name, const char *action) {
  const sy_param *p = work_get(st, name);
  if (!p) return sy__op_fail(op, SY_ENOTFOUND, "parameter %s not found", name);
  char nm[SY_NAME_MAX + 1];
  snprintf(nm, sizeof nm, "%s", p->name); /* its own name, which p (freed by work_del) holds */
  sy__change c = {.action = action, .name = nm, .old_version = p->latest->version, .old_ver = p->latest};
  sy_rc rc = st->be->drop_param(st, nm);
  if (!rc) rc = sy__audit_append(st, op, &c);
  if (!rc) rc = sy__work_del(st, nm);
  return rc ? sy__storage_failed(op, rc) : SY_OK;
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
  if (rc && !op->rc) sy__op_fail(op, rc, "%s", "out of memory");
  return rc;
}

/* Deletes the parameters whose Expiration has passed, and sets when the next one is due. */
static sy_rc apply_expire(sy_store *st, sy_op *op) {
  int64_t now = sy__clock_now(st->clock), next = 0;
  json_t *gone = json_array();
  sy_rc rc = gone ? SY_OK : SY_ENOMEM;
  char key[SY_NAME_MAX + 1] = "";
  size_t klen = 0;
  int strict = 0;
  while (!rc) {
    const sy_param *p = sy__tree_seek(st->work, key, klen, strict);
    if (!p) break;
    memcpy(key, p->name, p->name_len + 1);
    klen = p->name_len;
    strict = 1;
    int64_t at = p->latest->expires_ms;
    if (!at) continue;
    if (at > now) {
      if (!next || at < next) next = at;
      continue;
    }
    char why[96], when[32];
    sy__fmt_time(at, when, sizeof when);
    snprintf(why, sizeof why, "parameter policy: Expiration at %s", when);
    const char *reason = op->reason;
    op->reason = why;
    rc = apply_delete_name(st, op, key, "delete");
    op->reason = reason;
    if (!rc && json_array_append_new(gone, json_string(key))) rc = SY_ENOMEM;
  }
  if (!rc) {
    st->next_expiry_ms = next;
    op->result = json_pack("{sO}", "deleted", gone);
    if (!op->result) rc = SY_ENOMEM;
  }
  json_decref(gone);
  if (rc && !op->rc) sy__op_fail(op, rc, "%s", "out of memory");
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
  if (op->put.name_len > SY_NAME_MAX || !op->put.name) return sy__op_fail(op, SY_EINVAL, "%s", "bad name");
  memcpy(name, op->put.name, op->put.name_len);
  name[op->put.name_len] = 0;
  return SY_OK;
}

/* The parameter an op names, copied into name; NULL with op->rc set when it has none. */
static const sy_param *op_param(sy_store *st, sy_op *op, char name[SY_NAME_MAX + 1]) {
  if (param_name(op, name)) return NULL;
  const sy_param *p = work_get(st, name);
  if (!p) sy__op_fail(op, SY_ENOTFOUND, "parameter %s not found", name);
  if (p) memcpy(name, p->name, p->name_len + 1);
  return p;
}

/* Stores the labels of version v of the working parameter *np (a private copy) and replaces
 * *np with the copy that holds v. */
static sy_rc store_version(sy_store *st, sy_param **np, sy_ver *v) {
  sy_param *next = param_with(*np, v);
  if (!next) return SY_ENOMEM;
  sy__param_unref(*np);
  *np = next;
  return st->be->set_labels(st, next->name, v);
}

static sy_rc apply_label(sy_store *st, sy_op *op) {
  char name[SY_NAME_MAX + 1], detail[1200];
  const sy_param *p = op_param(st, op, name);
  if (!p) return op->rc;
  sy_rc rc = SY_OK;
  int64_t version = op->version ? op->version : p->latest->version;
  sy_ver *target = NULL;
  if (version < p->oldest || version > p->latest->version || get_version(st, p, version, &target))
    return sy__op_fail(op, SY_EVERSION_NOTFOUND, "parameter %s has no version %" PRId64, name, version);
  json_t *invalid = json_array(), *applied = json_array();
  sy_ver *nt = sy__ver_clone(target);
  sy__ver_unref(target);
  sy_param *np = sy__param_clone(p);
  if (!nt || !invalid || !applied || !np) {
    rc = sy__op_fail(op, SY_ENOMEM, "%s", "out of memory");
    goto out;
  }
  /* which labels are new on this version */
  int add = 0;
  for (int i = 0; i < op->nstrs; i++) {
    const char *l = op->strs[i];
    if (!sy__label_valid(l)) {
      json_array_append_new(invalid, json_string(l));
      continue;
    }
    int dup = 0;
    for (int j = 0; j < i; j++) dup |= strcmp(op->strs[j], l) == 0;
    if (!dup && !sy__ver_has_label(nt, l)) add++;
  }
  if (nt->nlabels + add > SY_LABELS_PER_VERSION) {
    rc = sy__op_fail(op, SY_ELABEL_LIMIT, "version %" PRId64 " of %s would carry %d labels; the limit is %d", version,
                     name, nt->nlabels + add, SY_LABELS_PER_VERSION);
    goto out;
  }
  size_t doff = (size_t)snprintf(detail, sizeof detail, "labels=");
  for (int i = 0; i < op->nstrs; i++) {
    const char *l = op->strs[i];
    if (!sy__label_valid(l) || sy__ver_has_label(nt, l)) continue;
    /* move it off whichever version carries it: every labelled version is in memory */
    const sy_ver *holder = sy__param_find_label(np, l);
    if (holder && holder->version != version) {
      sy_ver *h = sy__ver_clone(holder);
      if (!h) {
        rc = SY_ENOMEM;
        goto io;
      }
      ver_drop_label(h, l);
      rc = store_version(st, &np, h);
      sy__ver_unref(h);
      if (rc) goto io;
    }
    char **nl = realloc(nt->labels, (size_t)(nt->nlabels + 1) * sizeof *nl);
    if (!nl || !(nl[nt->nlabels] = strdup(l))) {
      if (nl) nt->labels = nl;
      rc = sy__op_fail(op, SY_ENOMEM, "%s", "out of memory");
      goto out;
    }
    nt->labels = nl;
    nt->nlabels++;
    json_array_append_new(applied, json_string(l));
    doff += (size_t)snprintf(detail + doff, doff < sizeof detail ? sizeof detail - doff : 0, "%s%s",
                             json_array_size(applied) > 1 ? "," : "", l);
  }
  if (json_array_size(applied)) {
    rc = store_version(st, &np, nt);
    if (!rc) rc = st->be->put_param(st, np);
    sy__change c = {.action = "label", .name = name, .detail = detail, .new_version = version};
    if (!rc) rc = sy__audit_append(st, op, &c);
    if (!rc) {
      rc = sy__work_put(st, np);
      np = NULL;
    }
    if (rc) goto io;
  }
  op->out_version = version;
  op->result = json_pack("{sI sO sO}", "version", (json_int_t)version, "invalid_labels", invalid, "labels", applied);
  rc = SY_OK;
  goto out;
io:
  rc = sy__storage_failed(op, rc);
out:
  json_decref(invalid);
  json_decref(applied);
  sy__ver_unref(nt);
  sy__param_unref(np);
  return rc;
}

static sy_rc apply_unlabel(sy_store *st, sy_op *op) {
  char name[SY_NAME_MAX + 1], detail[1200];
  const sy_param *p = op_param(st, op, name);
  if (!p) return op->rc;
  sy_rc rc = SY_OK;
  if (op->version && (op->version < p->oldest || op->version > p->latest->version))
    return sy__op_fail(op, SY_EVERSION_NOTFOUND, "parameter %s has no version %" PRId64, name, op->version);
  json_t *removed = json_array(), *invalid = json_array();
  sy_param *np = sy__param_clone(p);
  if (!removed || !invalid || !np) rc = SY_ENOMEM;
  int any = 0;
  for (int i = 0; i < op->nstrs && !rc; i++) {
    const char *l = op->strs[i];
    const sy_ver *holder = sy__label_valid(l) ? sy__param_find_label(np, l) : NULL;
    if (!holder || (op->version && holder->version != op->version)) {
      json_array_append_new(invalid, json_string(l));
      continue;
    }
    sy_ver *h = sy__ver_clone(holder);
    if (!h) {
      rc = SY_ENOMEM;
      break;
    }
    ver_drop_label(h, l);
    int64_t from = h->version;
    rc = store_version(st, &np, h);
    sy__ver_unref(h);
    snprintf(detail, sizeof detail, "labels=%s", l);
    sy__change c = {.action = "unlabel", .name = name, .detail = detail, .old_version = from};
    if (!rc) rc = sy__audit_append(st, op, &c);
    if (!rc) json_array_append_new(removed, json_string(l));
    any = 1;
  }
  if (!rc && any) rc = st->be->put_param(st, np);
  if (!rc && any) {
    rc = sy__work_put(st, np);
    np = NULL;
  }
  if (rc)
    sy__storage_failed(op, rc);
  else
    op->result = json_pack("{sO sO}", "removed", removed, "invalid_labels", invalid);
  sy__param_unref(np);
  json_decref(removed);
  json_decref(invalid);
  return rc;
}

static json_t *tags_obj(const sy_param *p) {
  json_t *o = json_object();
  for (int i = 0; o && i < p->ntags; i++) json_object_set_new(o, p->tags[i].key, json_string(p->tags[i].value));
  return o;
}

/* Adds op->tags (a key given again takes the new value) or removes the keys in op->strs. */
static sy_rc apply_tags(sy_store *st, sy_op *op, int add) {
  char name[SY_NAME_MAX + 1], detail[1024];
  const sy_param *p = op_param(st, op, name);
  if (!p) return op->rc;
  sy_rc rc = SY_OK;
  if (add && (op->rc = sy__tags_check(op->tags, op->ntags, op->msg, sizeof op->msg))) return op->rc;
  int cap = p->ntags + (add ? op->ntags : 0), n = 0;
  sy_tag *t = calloc((size_t)(cap ? cap : 1), sizeof *t);
  if (!t) return sy__op_fail(op, SY_ENOMEM, "%s", "out of memory");
  size_t doff = (size_t)snprintf(detail, sizeof detail, "tags=");
  for (int i = 0; i < p->ntags; i++) {
    int gone = 0;
    for (int j = 0; !add && j < op->nstrs; j++) gone |= strcmp(op->strs[j], p->tags[i].key) == 0;
    if (!gone) t[n++] = p->tags[i];
  }
  for (int i = 0; add && i < op->ntags; i++) {
    int j = 0;
    while (j < n && strcmp(t[j].key, op->tags[i].key)) j++;
    t[j] = op->tags[i];
    n += j == n;
  }
  for (int i = 0; i < (add ? op->ntags : op->nstrs); i++)
    doff += (size_t)snprintf(detail + doff, doff < sizeof detail ? sizeof detail - doff : 0, "%s%s", i ? "," : "",
                             add ? op->tags[i].key : op->strs[i]);
  if (n > SY_TAGS_MAX) {
    free(t);
    return sy__op_fail(op, SY_ETAG_LIMIT, "%s would have more than %d tags", name, SY_TAGS_MAX);
  }
  sy_param *np = sy__param_clone(p);
  rc = np ? param_set_tags(np, t, n) : SY_ENOMEM;
  free(t);
  if (!rc) rc = st->be->put_param(st, np);
  sy__change c = {.action = add ? "tag" : "untag",
                  .name = name,
                  .detail = detail,
                  .old_version = p->latest->version,
                  .new_version = p->latest->version};
  if (!rc) rc = sy__audit_append(st, op, &c);
  json_t *o = rc ? NULL : tags_obj(np);
  if (!rc && !o) rc = SY_ENOMEM;
  if (!rc) {
    rc = sy__work_put(st, np);
    np = NULL;
  }
  sy__param_unref(np);
  if (rc) {
    json_decref(o);
    return sy__storage_failed(op, rc);
  }
  op->result = json_pack("{so}", "tags", o);
  return SY_OK;
}

static sy_rc apply_rollback(sy_store *st, sy_op *op) {
  char name[SY_NAME_MAX + 1], detail[64];
  const sy_param *p = op_param(st, op, name);
  if (!p) return op->rc;
  sy_rc rc = SY_OK;
  sy_ver *old = NULL;
  if (op->version < p->oldest || op->version > p->latest->version || get_version(st, p, op->version, &old))
    return sy__op_fail(op, SY_EVERSION_NOTFOUND, "parameter %s has no version %" PRId64, name, op->version);
  char *plain = NULL;
  size_t plen = 0;
  rc = sy__store_reveal(st, name, old, &plain, &plen);
  if (rc) {
    sy__ver_unref(old);
    return sy__op_fail(op, rc, "cannot read version %" PRId64 " of %s", op->version, name);
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
               .key_id = old->key_id,
               .data_type = old->data_type,
               .policies = old->policies,
               .schema = old->schema,
               .if_version = -1};
  snprintf(detail, sizeof detail, "to_version=%" PRId64, op->version);
  rc = apply_put(st, op, &in, "rollback", detail, 0);
  sy__reveal_free(plain, plen);
  sy__ver_unref(old);
  return rc;
}

/* 1 if item would sy__change the parameter p (value, kind, tier, description, pattern or tags). */
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
  if (strcmp(attr_or(in->key_id, "alias/aws/ssm", ""), v->key_id) ||
      strcmp(attr_or(in->data_type, "text", ""), v->data_type) || strcmp(attr_or(in->policies, "", ""), v->policies) ||
      strcmp(attr_or(in->schema, "", ""), v->schema))
    return 1;
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
  if (!gone) return sy__op_fail(op, SY_ENOMEM, "%s", "out of memory");
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
      rc = sy__op_fail(op, SY_ENOMEM, "%s", "out of memory");
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
      /* an item may name a single-level parameter with or without its slash */
      int root = !memchr(key + 1, '/', klen - 1);
      sy_put probe = {.name = key, .name_len = klen}, alt = {.name = key + 1, .name_len = klen - 1};
      const sy_put *pp = &probe, *pa = &alt;
      if (bsearch(&pp, sorted, op->nitems, sizeof *sorted, item_cmp)) continue;
      if (root && key[0] == '/' && bsearch(&pa, sorted, op->nitems, sizeof *sorted, item_cmp)) continue;
      if (root && key[0] != '/') {
        char slashed[SY_NAME_MAX + 2];
        slashed[0] = '/';
        memcpy(slashed + 1, key, klen + 1);
        alt = (sy_put){.name = slashed, .name_len = klen + 1};
        if (bsearch(&pa, sorted, op->nitems, sizeof *sorted, item_cmp)) continue;
      }
      if (json_array_append_new(gone, json_string(key))) {
        rc = sy__op_fail(op, SY_ENOMEM, "%s", "out of memory");
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
    if (!op->result) rc = sy__op_fail(op, SY_ENOMEM, "%s", "out of memory");
  }
out:
  free(sorted);
  json_decref(gone);
  return rc;
}

/* A record of something that happened outside the store (an alert fired or resolved): an
 * audit record and its change event, chained like any other, and no version. The name is
 * the record's subject (it need not be a parameter). */
static sy_rc apply_record(sy_store *st, sy_op *op) {
  char name[SY_NAME_MAX + 1];
  if (param_name(op, name)) return op->rc;
  const char *a = op->rec_action;
  if (!a || !strchr(a, '.') || strlen(a) > 64) return sy__op_fail(op, SY_EINVAL, "%s", "bad record action");
  sy__change c = {.action = a, .name = name, .detail = op->rec_detail ? op->rec_detail : ""};
  return sy__audit_append(st, op, &c);
}

/* Several puts in the op's one savepoint: each is checked and written as a put is (its own
 * if_version, overwrite and kind), and the first refusal undoes them all. The message names
 * the item. */
static sy_rc apply_puts(sy_store *st, sy_op *op) {
  for (size_t i = 0; i < op->nitems; i++) {
    sy_rc rc = apply_put(st, op, &op->items[i], "put", "", 0);
    if (rc) {
      char m[SY_MSG_MAX];
      memcpy(m, op->msg, sizeof m);
      int k = snprintf(op->msg, sizeof op->msg,
                       "%.*s: ", (int)(op->items[i].name_len > 200 ? 200 : op->items[i].name_len), op->items[i].name);
      if (k > 0 && (size_t)k < sizeof op->msg) memcpy(op->msg + k, m, sizeof op->msg - (size_t)k - 1);
      op->msg[sizeof op->msg - 1] = 0;
      return rc;
    }
  }
  return SY_OK;
}

sy_rc sy__apply(sy_store *st, sy_op *op) {
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
  case SY_OP_EXPIRE: return apply_expire(st, op);
  case SY_OP_IMPORT: return apply_import(st, op);
  case SY_OP_TOKEN_CREATE: return sy__apply_token(st, op, 1);
  case SY_OP_TOKEN_REVOKE: return sy__apply_token(st, op, 0);
  case SY_OP_TOKEN_ROUTE: return sy__apply_token_route(st, op);
  case SY_OP_KEY_CREATE: return sy__apply_key(st, op, 1);
  case SY_OP_KEY_REVOKE: return sy__apply_key(st, op, 0);
  case SY_OP_RECORD: return apply_record(st, op);
  case SY_OP_PUTS: return apply_puts(st, op);
  case SY_OP_SYNC: return SY_OK; /* the engine's catch_up did it all */
  }
  return sy__op_fail(op, SY_EINVAL, "%s", "unknown operation");
}

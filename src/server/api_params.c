/* api_params.c — /api/v1/params: parameters, versions, labels, tags, history, rollback. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_params.h"

/* Writes the parameter object of docs/API.md: the hot read of the native API, so the
 * JSON text is written directly. */
/* The members of a parameter object, without its closing brace. */
static void param_members(sy_jbuf *b, sy_store *st, const sy_param *p, const sy_ver *v, int show_value) {
  char t[32];
  sy__fmt_time(v->modified_ms, t, sizeof t);
  sy__jbuf_cstr(b, "{\"name\":");
  sy__jbuf_str(b, p->name, p->name_len);
  sy__jbuf_cstr(b, ",\"type\":\"");
  sy__jbuf_cstr(b, sy__kind_name(v->kind));
  sy__jbuf_cstr(b, "\"");
  if (v->kind != SY_KIND_SECURESTRING) {
    sy__jbuf_cstr(b, ",\"value\":");
    sy__jbuf_str(b, v->value, v->value_len);
  } else if (show_value && st) {
    char *plain = NULL;
    size_t n = 0;
    if (!sy__store_reveal(st, p->name, v, &plain, &n)) {
      sy__jbuf_cstr(b, ",\"value\":");
      sy__jbuf_str(b, plain, n);
    }
    sy__reveal_free(plain, n);
  }
  sy__jbuf_cstr(b, ",\"version\":");
  sy__jbuf_int(b, v->version);
  sy__jbuf_cstr(b, ",\"tier\":\"");
  sy__jbuf_cstr(b, sy__tier_name(v->tier));
  sy__jbuf_cstr(b, "\",\"data_type\":");
  sy__jbuf_str(b, *v->data_type ? v->data_type : "text", *v->data_type ? strlen(v->data_type) : 4);
  if (v->kind == SY_KIND_SECURESTRING || *v->key_id) {
    sy__jbuf_cstr(b, ",\"key_id\":");
    sy__jbuf_str(b, *v->key_id ? v->key_id : "alias/aws/ssm", *v->key_id ? strlen(v->key_id) : 13);
  }
  if (*v->policies) {
    sy__jbuf_cstr(b, ",\"policies\":");
    sy__jbuf_str(b, v->policies, strlen(v->policies));
  }
  if (*v->schema) {
    sy__jbuf_cstr(b, ",\"schema\":");
    sy__jbuf_str(b, v->schema, strlen(v->schema));
  }
  sy__jbuf_cstr(b, ",\"description\":");
  sy__jbuf_str(b, v->description, strlen(v->description));
  sy__jbuf_cstr(b, ",\"allowed_pattern\":");
  sy__jbuf_str(b, v->allowed_pattern, strlen(v->allowed_pattern));
  sy__jbuf_cstr(b, ",\"labels\":[");
  for (int i = 0; i < v->nlabels; i++) {
    if (i) sy__jbuf_cstr(b, ",");
    sy__jbuf_str(b, v->labels[i], strlen(v->labels[i]));
  }
  sy__jbuf_cstr(b, "],\"tags\":{");
  for (int i = 0; i < p->ntags; i++) {
    if (i) sy__jbuf_cstr(b, ",");
    sy__jbuf_str(b, p->tags[i].key, strlen(p->tags[i].key));
    sy__jbuf_cstr(b, ":");
    sy__jbuf_str(b, p->tags[i].value, strlen(p->tags[i].value));
  }
  sy__jbuf_cstr(b, "},\"last_modified\":\"");
  sy__jbuf_cstr(b, t);
  sy__jbuf_cstr(b, "\",\"last_modified_user\":");
  sy__jbuf_str(b, v->modified_user, strlen(v->modified_user));
}

static void param_write(sy_jbuf *b, sy_store *st, const sy_param *p, const sy_ver *v, int show_value) {
  param_members(b, st, p, v, show_value);
  sy__jbuf_cstr(b, "}");
}

/* ---- addressing ---- */

typedef struct target {
  char *name; /* arena */
  size_t len;
  int64_t version;   /* from a ":N" selector, 0 if none */
  const char *label; /* from a ":label" selector */
} target;

/* Parses "/a/b[:sel]" from the URL; replies 400 and returns -1 when it breaks a rule. */
static int parse_target(sy_req *r, const char *raw, size_t n, target *t) {
  char msg[SY_MSG_MAX];
  memset(t, 0, sizeof *t);
  if (memchr(raw, '%', n))
    return sy__reply_error(r, 400, "InvalidPath", "percent-encoding is not allowed in parameter paths"), -1;
  const char *colon = memchr(raw, ':', n);
  size_t name_len = colon ? (size_t)(colon - raw) : n;
  t->name = sy__arena_strndup(r->arena, raw, name_len);
  t->len = name_len;
  if (!t->name) return sy__reply_error(r, 500, "InternalError", "out of memory"), -1;
  sy_rc rc = sy__name_check(t->name, name_len, msg, sizeof msg);
  if (rc) return sy__reply_error(r, sy__rc_http_status(rc), sy__rc_code(rc), "name: %s", msg), -1;
  if (colon) {
    const char *sel = colon + 1;
    size_t sl = n - name_len - 1;
    if (sl == 0) return sy__reply_error(r, 400, "ValidationException", "empty selector after ':'"), -1;
    if (sel[0] >= '0' && sel[0] <= '9') {
      char *end = NULL;
      char *tmp = sy__arena_strndup(r->arena, sel, sl);
      long long v = tmp ? strtoll(tmp, &end, 10) : 0;
      if (!tmp || *end || v < 1)
        return sy__reply_error(r, 400, "ValidationException", "selector :%.*s is not a version number", (int)sl, sel),
               -1;
      t->version = v;
    } else {
      t->label = sy__arena_strndup(r->arena, sel, sl);
      if (!t->label || !sy__label_valid(t->label))
        return sy__reply_error(r, 400, "ValidationException", "selector :%.*s is not a valid label", (int)sl, sel), -1;
    }
  }
  return 0;
}

/* ---- GET one ---- */

static enum MHD_Result get_param(sy_req *r, target *t) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "version label decrypt?")) return MHD_YES;
  int64_t qv = 0;
  if (sy__query_int(r, "version", 1, INT64_MAX, 0, &qv)) return MHD_YES;
  const char *ql = sy__query(r, "label");
  if (qv) t->version = qv;
  if (ql) t->label = ql;
  if (ql && !sy__label_valid(ql))
    return sy__reply_error(r, 400, "ValidationException", "query parameter label: %.100s is not a valid label", ql);
  int decrypt = 0;
  if (sy__query_bool(r, "decrypt", &decrypt)) return MHD_YES;
  if (decrypt && sy__require(r, SY_SCOPE_DECRYPT)) return MHD_YES;
  sy_store *st = r->srv->store;
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__snap_get(s, t->name, t->len);
  sy_jbuf out;
  sy__jbuf_init(&out, 1 << 20);
  sy_rc rc = SY_OK;
  int64_t want = 0;
  if (!p) {
    rc = SY_ENOTFOUND;
  } else if (t->label) {
    const sy_ver *v = sy__param_find_label(p, t->label);
    if (v)
      param_write(&out, st, p, v, decrypt);
    else
      rc = SY_EVERSION_NOTFOUND;
  } else if (t->version) {
    const sy_ver *v = sy__param_find_version(p, t->version);
    if (v)
      param_write(&out, st, p, v, decrypt);
    else if (t->version < p->oldest || t->version > p->latest->version)
      rc = SY_EVERSION_NOTFOUND;
    else
      want = t->version; /* kept, but only in the database */
  } else {
    param_write(&out, st, p, p->latest, decrypt);
  }
  if (want) {
    /* an older unlabelled version: read it from the store, then dress it with the snapshot's tags */
    sy_ver *v = NULL;
    rc = sy__store_read_version(st, p->name, want, &v);
    if (!rc) param_write(&out, st, p, v, decrypt);
    sy__ver_unref(v);
  }
  sy__snap_leave(st);
  if (rc) sy__jbuf_free(&out);
  if (rc == SY_ENOTFOUND) return sy__reply_error(r, 404, "ParameterNotFound", "parameter %s not found", t->name);
  if (rc == SY_EVERSION_NOTFOUND) {
    if (t->label)
      return sy__reply_error(r, 404, "ParameterVersionNotFound", "parameter %s has no version labelled %s", t->name,
                             t->label);
    return sy__reply_error(r, 404, "ParameterVersionNotFound", "parameter %s has no version %" PRId64, t->name,
                           t->version);
  }
  if (rc) return sy__reply_rc(r, rc, NULL);
  return sy__reply_jbuf(r, 200, &out);
}

/* ---- writes ---- */

static enum MHD_Result finish_put(sy_req *r) {
  if (r->op.rc) return sy__reply_rc(r, r->op.rc, r->op.msg);
  return sy__reply_json(r, 200,
                        json_pack("{ss sI ss}", "name", r->op.put.name, "version", (json_int_t)r->op.out_version,
                                  "tier", sy__tier_name(r->op.out_tier)));
}

static enum MHD_Result finish_result(sy_req *r) {
  if (r->op.rc) return sy__reply_rc(r, r->op.rc, r->op.msg);
  json_t *res = r->op.result ? json_incref(r->op.result) : json_object();
  return sy__reply_json(r, 200, res);
}

static enum MHD_Result finish_delete(sy_req *r) {
  if (r->op.rc) return sy__reply_rc(r, r->op.rc, r->op.msg);
  return sy__reply_json(r, 200, json_pack("{ss}", "deleted", r->op.put.name));
}

/* Refuses fields the endpoint does not know, naming the first. */
int sy__only_fields(sy_req *r, json_t *obj, const char *ctx, const char *const *allowed) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    int ok = 0;
    for (const char *const *a = allowed; *a; a++) ok |= strcmp(*a, k) == 0;
    if (!ok) return sy__reply_error(r, 400, "ValidationException", "%sunknown field \"%.100s\"", ctx, k), -1;
  }
  return 0;
}

enum MHD_Result sy__reply_page(sy_req *r, sy_jbuf *out, const char *next) {
  sy__jbuf_cstr(out, "],\"next\":");
  if (next)
    sy__jbuf_str(out, next, strlen(next));
  else
    sy__jbuf_cstr(out, "null");
  sy__jbuf_cstr(out, "}");
  return sy__reply_jbuf(r, 200, out);
}

int sy__reason_field(sy_req *r, json_t *obj) {
  size_t len = 0;
  if (sy__field_str(r, obj, "", "reason", &r->op.reason, &len)) return -1;
  if (len > SY_REASON_MAX)
    return sy__reply_error(r, 400, "ValidationException", "reason is longer than %d characters", SY_REASON_MAX), -1;
  return 0;
}

/* Reads a tags object {"k":"v"} into an arena array. */
int sy__parse_tags(sy_req *r, json_t *obj, const char *ctx, sy_tag **out, int *n) {
  if (!json_is_object(obj))
    return sy__reply_error(r, 400, "ValidationException", "%stags must be an object of key to string value", ctx), -1;
  size_t cnt = json_object_size(obj);
  sy_tag *tags = sy__arena_alloc(r->arena, (cnt ? cnt : 1) * sizeof *tags);
  if (!tags) return sy__reply_error(r, 500, "InternalError", "out of memory"), -1;
  const char *k;
  json_t *v;
  int i = 0;
  json_object_foreach(obj, k, v) {
    if (!json_is_string(v))
      return sy__reply_error(r, 400, "ValidationException", "%stags.%.128s must be a string", ctx, k), -1;
    tags[i].key = (char *)k;
    tags[i].value = (char *)json_string_value(v);
    i++;
  }
  *out = tags;
  *n = i;
  return 0;
}

/* Reads the fields of a put object into *in (strings borrowed from obj): their types and
 * spellings; what they must hold is the store's rules' to check. ctx prefixes messages. */
int sy__parse_put(sy_req *r, json_t *obj, const char *ctx, int need_value, sy_put *in) {
  static const char *const fields[] = {"name",      "value",         "type",
                                       "overwrite", "description",   "allowed_pattern",
                                       "tier",      "tags",          "if_version",
                                       "reason",    "data_type",     "labels",
                                       "version",   "last_modified", "last_modified_user",
                                       "key_id",    "policies",      "schema",
                                       NULL};
  const char *type = NULL, *tier = NULL;
  int64_t ifv = -1;
  json_t *ifj = json_object_get(obj, "if_version");
  if (sy__only_fields(r, obj, ctx, fields)) return -1;
  in->if_version = -1;
  if (sy__field_str(r, obj, ctx, "value", &in->value, &in->value_len) ||
      sy__field_str(r, obj, ctx, "type", &type, NULL) || sy__field_bool(r, obj, ctx, "overwrite", &in->overwrite) ||
      sy__field_str(r, obj, ctx, "description", &in->description, NULL) ||
      sy__field_str(r, obj, ctx, "allowed_pattern", &in->allowed_pattern, NULL) ||
      sy__field_str(r, obj, ctx, "tier", &tier, NULL) ||
      sy__field_str(r, obj, ctx, "data_type", &in->data_type, NULL) ||
      sy__field_str(r, obj, ctx, "key_id", &in->key_id, NULL) ||
      sy__field_str(r, obj, ctx, "policies", &in->policies, NULL) ||
      sy__field_str(r, obj, ctx, "schema", &in->schema, NULL) || sy__field_int(r, obj, ctx, "if_version", &ifv))
    return -1;
  if (need_value && !in->value) return sy__reply_error(r, 400, "ValidationException", "%svalue is required", ctx), -1;
  if (type && !(in->kind = sy__kind_by_name(type) ? sy__kind_by_name(type)->kind : 0))
    return sy__reply_error(r, 400, "ValidationException",
                           "%stype \"%.64s\" is not one of String, StringList, SecureString", ctx, type),
           -1;
  if (tier && !(in->tier = sy__tier_parse(tier)))
    return sy__reply_error(r, 400, "ValidationException", "%stier \"%.64s\" is not Standard or Advanced", ctx, tier),
           -1;
  if (ifj && !json_is_null(ifj) && ifv < 0)
    return sy__reply_error(r, 400, "ValidationException", "%sif_version must be 0 or more", ctx), -1;
  in->if_version = ifv;
  /* the value, description and pattern are checked where the version is made: the store's rules */
  json_t *tags = json_object_get(obj, "tags");
  if (tags && !json_is_null(tags)) {
    sy_tag *t = NULL;
    if (sy__parse_tags(r, tags, ctx, &t, &in->ntags)) return -1;
    in->tags = t;
    in->has_tags = 1;
  }
  return 0;
}

static enum MHD_Result put_param(sy_req *r, target *t) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "")) return MHD_YES;
  if (t->version || t->label)
    return sy__reply_error(r, 400, "ValidationException", "a write cannot name a version or label");
  if (sy__parse_body(r)) return MHD_YES;
  r->op.kind = SY_OP_PUT;
  if (sy__parse_put(r, r->json, "", 1, &r->op.put) || sy__reason_field(r, r->json)) return MHD_YES;
  const char *bn = NULL;
  if (sy__field_str(r, r->json, "", "name", &bn, NULL)) return MHD_YES;
  if (bn && strcmp(bn, t->name))
    return sy__reply_error(r, 400, "ValidationException", "name in the body (%.200s) differs from the path (%s)", bn,
                           t->name);
  r->op.put.name = t->name;
  r->op.put.name_len = t->len;
  return sy__submit(r, finish_put);
}

static enum MHD_Result delete_param(sy_req *r, target *t) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "reason")) return MHD_YES;
  if (t->version || t->label)
    return sy__reply_error(r, 400, "ValidationException", "delete removes every version; do not name one");
  r->op.kind = SY_OP_DELETE;
  r->op.reason = sy__query(r, "reason");
  if (r->body_len) {
    if (sy__parse_body(r) || sy__reason_field(r, r->json)) return MHD_YES;
  }
  r->op.put.name = t->name;
  r->op.put.name_len = t->len;
  return sy__submit(r, finish_delete);
}

/* A string array from a body field or a comma-separated query argument. */
static int str_list(sy_req *r, const char *field, const char *query, const char *const **out, int *n, int max) {
  json_t *arr = r->json ? json_object_get(r->json, field) : NULL;
  const char **v;
  int cnt = 0;
  if (arr) {
    if (!json_is_array(arr))
      return sy__reply_error(r, 400, "ValidationException", "%s must be an array of strings", field), -1;
    if (json_array_size(arr) > (size_t)max)
      return sy__reply_error(r, 400, "ValidationException", "%s has more than %d items", field, max), -1;
    v = sy__arena_alloc(r->arena, (json_array_size(arr) + 1) * sizeof *v);
    if (!v) return sy__reply_error(r, 500, "InternalError", "out of memory"), -1;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
      if (!json_is_string(e))
        return sy__reply_error(r, 400, "ValidationException", "%s[%zu] must be a string", field, i), -1;
      v[cnt++] = json_string_value(e);
    }
  } else {
    const char *q = sy__query(r, query);
    if (!q)
      return sy__reply_error(r, 400, "ValidationException", "%s is required (body field or ?%s=a,b)", field, query), -1;
    char *copy = sy__arena_strdup(r->arena, q);
    v = sy__arena_alloc(r->arena, (size_t)(max + 1) * sizeof *v);
    if (!copy || !v) return sy__reply_error(r, 500, "InternalError", "out of memory"), -1;
    for (char *s = copy, *c; s; s = c ? c + 1 : NULL) {
      c = strchr(s, ',');
      if (c) *c = 0;
      if (cnt == max)
        return sy__reply_error(r, 400, "ValidationException", "%s has more than %d items", query, max), -1;
      v[cnt++] = s;
    }
  }
  if (!cnt) return sy__reply_error(r, 400, "ValidationException", "%s must not be empty", field), -1;
  *out = v;
  *n = cnt;
  return 0;
}

static enum MHD_Result labels(sy_req *r, target *t, int add) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "labels")) return MHD_YES;
  if (r->body_len && sy__parse_body(r)) return MHD_YES;
  if (add && !r->json)
    return sy__reply_error(r, 400, "ValidationException", "a JSON body {\"labels\": [...]} is required");
  static const char *const fields[] = {"labels", "version", "reason", NULL};
  if (r->json && (sy__only_fields(r, r->json, "", fields) || sy__reason_field(r, r->json) ||
                  sy__field_int(r, r->json, "", "version", &r->op.version)))
    return MHD_YES;
  if (r->op.version < 0) return sy__reply_error(r, 400, "ValidationException", "version must be 1 or more");
  if (str_list(r, "labels", "labels", &r->op.strs, &r->op.nstrs, SY_LABELS_PER_VERSION)) return MHD_YES;
  r->op.kind = add ? SY_OP_LABEL : SY_OP_UNLABEL;
  r->op.put.name = t->name;
  r->op.put.name_len = t->len;
  return sy__submit(r, finish_result);
}

static enum MHD_Result tags(sy_req *r, target *t, int add) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "keys")) return MHD_YES;
  if (r->body_len && sy__parse_body(r)) return MHD_YES;
  static const char *const fields[] = {"tags", "keys", "reason", NULL};
  if (r->json && (sy__only_fields(r, r->json, "", fields) || sy__reason_field(r, r->json))) return MHD_YES;
  if (add) {
    json_t *o = r->json ? json_object_get(r->json, "tags") : NULL;
    sy_tag *tg = NULL;
    if (!o)
      return sy__reply_error(r, 400, "ValidationException", "a JSON body {\"tags\": {\"key\": \"value\"}} is required");
    if (sy__parse_tags(r, o, "", &tg, &r->op.ntags)) return MHD_YES;
    if (!r->op.ntags) return sy__reply_error(r, 400, "ValidationException", "tags must not be empty");
    r->op.tags = tg;
    r->op.kind = SY_OP_TAG;
  } else {
    if (str_list(r, "keys", "keys", &r->op.strs, &r->op.nstrs, SY_TAGS_MAX)) return MHD_YES;
    r->op.kind = SY_OP_UNTAG;
  }
  r->op.put.name = t->name;
  r->op.put.name_len = t->len;
  return sy__submit(r, finish_result);
}

static enum MHD_Result rollback(sy_req *r, target *t) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "")) return MHD_YES;
  if (sy__parse_body(r)) return MHD_YES;
  static const char *const fields[] = {"to_version", "reason", NULL};
  if (sy__only_fields(r, r->json, "", fields) || sy__reason_field(r, r->json) ||
      sy__field_int(r, r->json, "", "to_version", &r->op.version))
    return MHD_YES;
  if (r->op.version < 1)
    return sy__reply_error(r, 400, "ValidationException", "to_version is required and must be 1 or more");
  r->op.kind = SY_OP_ROLLBACK;
  r->op.put.name = t->name;
  r->op.put.name_len = t->len;
  return sy__submit(r, finish_put);
}

/* ---- history ---- */

typedef struct hist_ctx {
  sy_store *st;
  const sy_param *p;
  sy_jbuf out;
  size_t n;
  int64_t last;
  int decrypt;
} hist_ctx;

/* One version of the history: a parameter object with the reason it was written with. */
static void hist_cb(void *ctx, const sy_ver *v, const char *reason) {
  hist_ctx *h = ctx;
  if (h->n++) sy__jbuf_cstr(&h->out, ",");
  param_members(&h->out, h->st, h->p, v, h->decrypt);
  sy__jbuf_cstr(&h->out, ",\"reason\":");
  sy__jbuf_str(&h->out, reason ? reason : "", reason ? strlen(reason) : 0);
  sy__jbuf_cstr(&h->out, "}");
  h->last = v->version;
}

static enum MHD_Result history(sy_req *r, target *t) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "limit next decrypt?")) return MHD_YES;
  int64_t limit, next;
  int decrypt = 0;
  if (sy__query_int(r, "limit", 1, 1000, 50, &limit) || sy__query_int(r, "next", 0, INT64_MAX, 0, &next) ||
      sy__query_bool(r, "decrypt", &decrypt))
    return MHD_YES;
  if (decrypt && sy__require(r, SY_SCOPE_DECRYPT)) return MHD_YES;
  sy_store *st = r->srv->store;
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__snap_get(s, t->name, t->len);
  hist_ctx h = {.st = st, .p = p, .decrypt = decrypt};
  sy__jbuf_init(&h.out, 64 << 20);
  sy__jbuf_cstr(&h.out, "{\"name\":");
  sy__jbuf_str(&h.out, t->name, t->len);
  sy__jbuf_cstr(&h.out, ",\"versions\":[");
  int more = 0;
  sy_rc rc = p ? sy__store_history(st, p->name, next, (int)limit, hist_cb, &h, &more) : SY_ENOTFOUND;
  sy__snap_leave(st);
  if (rc) {
    sy__jbuf_free(&h.out);
    if (rc == SY_ENOTFOUND) return sy__reply_error(r, 404, "ParameterNotFound", "parameter %s not found", t->name);
    return sy__reply_rc(r, rc, NULL);
  }
  sy__jbuf_cstr(&h.out, "],\"next\":");
  if (more)
    sy__jbuf_int(&h.out, h.last);
  else
    sy__jbuf_cstr(&h.out, "null");
  sy__jbuf_cstr(&h.out, "}");
  return sy__reply_jbuf(r, 200, &h.out);
}

/* ---- list ---- */

typedef struct list_ctx {
  sy_req *r;
  sy_jbuf out;
  size_t n, limit;
  int decrypt;
  int more;
  const char *last;
} list_ctx;

static int list_cb(void *ctx, const sy_param *p) {
  list_ctx *c = ctx;
  if (c->n == c->limit) {
    c->more = 1;
    return 1;
  }
  if (c->n++) sy__jbuf_cstr(&c->out, ",");
  param_write(&c->out, c->r->srv->store, p, p->latest, c->decrypt);
  c->last = sy__arena_strndup(c->r->arena, p->name, p->name_len);
  return 0;
}

#define FOLDERS_MAX 1000 /* folders in one answer; more are cut ("folders_truncated") */

typedef struct folders_ctx {
  sy_jbuf *out;
  int n, truncated;
} folders_ctx;

static int folder_cb(void *ctx, const char *folder, size_t len, size_t count) {
  folders_ctx *c = ctx;
  if (c->n == FOLDERS_MAX) return c->truncated = 1;
  sy__jbuf_cstr(c->out, c->n++ ? ",{\"path\":" : "{\"path\":");
  sy__jbuf_str(c->out, folder, len);
  sy__jbuf_cstr(c->out, ",\"count\":");
  sy__jbuf_int(c->out, (int64_t)count);
  sy__jbuf_cstr(c->out, "}");
  return 0;
}

/* The members "folders":[{"path","count"}...], and "folders_truncated":true when there were
 * more than FOLDERS_MAX. */
static void folders_write(sy_jbuf *out, const sy_snap *s, const char *prefix) {
  folders_ctx c = {out, 0, 0};
  sy__jbuf_cstr(out, "\"folders\":[");
  sy__snap_folders(s, prefix, folder_cb, &c);
  sy__jbuf_cstr(out, c.truncated ? "],\"folders_truncated\":true," : "],");
}

enum MHD_Result sy__api_params_list(sy_req *r) {
  if (strcmp(r->method, "GET")) return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/params answers GET");
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "path next limit recursive? decrypt? folders?"))
    return MHD_YES;
  const char *path = sy__query(r, "path");
  const char *next = sy__query(r, "next");
  int64_t limit;
  int recursive = 0, folders = 0;
  if (sy__query_int(r, "limit", 1, 1000, 50, &limit)) return MHD_YES;
  list_ctx c = {.r = r, .limit = (size_t)limit};
  if (sy__query_bool(r, "decrypt", &c.decrypt) || sy__query_bool(r, "recursive", &recursive) ||
      sy__query_bool(r, "folders", &folders))
    return MHD_YES;
  if (folders && recursive)
    return sy__reply_error(r, 400, "ValidationException", "folders=true lists one level: not with recursive=true");
  if (c.decrypt && sy__require(r, SY_SCOPE_DECRYPT)) return MHD_YES;
  char msg[SY_MSG_MAX], prefix[SY_NAME_MAX + 2];
  if (!path) path = "/";
  sy_rc rc = sy__path_check(path, strlen(path), msg, sizeof msg);
  if (rc) return sy__reply_error(r, sy__rc_http_status(rc), sy__rc_code(rc), "path: %s", msg);
  int plen = sy__list_prefix(path, prefix, sizeof prefix);
  if (plen < 0 || (next && (strncmp(next, prefix, (size_t)plen) || strlen(next) > SY_NAME_MAX)))
    return sy__reply_error(r, 400, "InvalidNextToken", "next token does not belong to path %s", path);
  sy__jbuf_init(&c.out, 64 << 20);
  sy__jbuf_cstr(&c.out, "{");
  const sy_snap *s = sy__snap_enter(r->srv->store);
  if (folders && !next) folders_write(&c.out, s, prefix);
  sy__jbuf_cstr(&c.out, "\"params\":[");
  sy__snap_list(s, prefix, recursive, next, list_cb, &c);
  sy__snap_leave(r->srv->store);
  return sy__reply_page(r, &c.out, c.more ? c.last : NULL);
}

/* ---- routing below /api/v1/params/ ---- */

static int ends_with(const char *s, size_t n, const char *suffix, size_t *cut) {
  size_t k = strlen(suffix);
  if (n <= k || memcmp(s + n - k, suffix, k)) return 0;
  *cut = n - k;
  return 1;
}

enum MHD_Result sy__api_params(sy_req *r, const char *rest) {
  size_t n = strlen(rest), cut = 0;
  target t;
  const char *m = r->method;
  int get = !strcmp(m, "GET"), put = !strcmp(m, "PUT"), post = !strcmp(m, "POST"), del = !strcmp(m, "DELETE");
  if (get && ends_with(rest, n, "/history", &cut)) {
    if (parse_target(r, rest, cut, &t)) return MHD_YES;
    return history(r, &t);
  }
  if ((post || del) && ends_with(rest, n, "/labels", &cut)) {
    if (parse_target(r, rest, cut, &t)) return MHD_YES;
    return labels(r, &t, post);
  }
  if (post && ends_with(rest, n, "/rollback", &cut)) {
    if (parse_target(r, rest, cut, &t)) return MHD_YES;
    return rollback(r, &t);
  }
  /* PUT .../tags with a body that has no "value" is a tag change, not a parameter named tags */
  if ((put || del) && ends_with(rest, n, "/tags", &cut) &&
      (del ? (r->body_len || sy__query(r, "keys")) : (r->body_len && !strstr(r->body, "\"value\"")))) {
    if (parse_target(r, rest, cut, &t)) return MHD_YES;
    return tags(r, &t, put);
  }
  if (parse_target(r, rest, n, &t)) return MHD_YES;
  if (get || !strcmp(m, "HEAD")) return get_param(r, &t);
  if (put) return put_param(r, &t);
  if (del) return delete_param(r, &t);
  return sy__reply_error(r, 405, "MethodNotAllowed", "%s is not allowed on a parameter", m);
}

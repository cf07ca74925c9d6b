/* api_flags.c — /api/v1/flags: flags (documents of kind Flag) read, written, rolled out,
 * evaluated and explained, and their evaluation counts. A flag's key is its path without the
 * leading '/'. Writes go through the one write path (sy__submit): the store compiles every
 * flag document against the flag's schema and refuses, naming the field, what fails it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/civil.h"
#include "core/flag.h"
#include "server/api_flags.h"

#include "server/api_params.h"
#include "server/flag_stats.h"

#define DEFAULT_DOCUMENT "{\"enabled\":false}"

typedef struct flag_target {
  char *name; /* "/a/b" (arena) */
  size_t len;
  const char *key; /* "a/b": name without its leading '/' */
} flag_target;

/* What a snapshot holds at a target: the parameter, its latest version and the compiled flag
 * (NULL when the parameter is another kind). Borrowed until sy__snap_leave. */
typedef struct found {
  const sy_param *p;
  const sy_ver *v;
  const sy_flag *f;
  sy_kind kind;
} found;

static const char *env_lookup(const char *name) { return getenv(name); }

/* ---- addressing ---- */

/* Makes a target of a name ("/a/b", or "a" for a single-level name) of n bytes; replies 400
 * naming field and returns -1 when it breaks the naming rules. */
static int make_target(sy_req *r, const char *field, const char *name, size_t n, flag_target *t) {
  char msg[SY_MSG_MAX];
  memset(t, 0, sizeof *t);
  if (memchr(name, '%', n))
    return sy__reply_error(r, 400, "InvalidPath", "percent-encoding is not allowed in flag keys"), -1;
  t->name = sy__arena_strndup(r->arena, name, n);
  if (!t->name) return sy__reply_error(r, 500, "InternalError", "out of memory"), -1;
  t->len = n;
  sy_rc rc = sy__name_check(t->name, n, msg, sizeof msg);
  if (rc) return sy__reply_error(r, sy__rc_http_status(rc), sy__rc_code(rc), "%s: %s", field, msg), -1;
  t->key = t->name[0] == '/' ? t->name + 1 : t->name;
  return 0;
}

/* A key as given ("a/b"): the name is "/a/b". */
static int key_target(sy_req *r, const char *field, const char *key, size_t n, flag_target *t) {
  if (n == 0) return sy__reply_error(r, 400, "ValidationException", "%s must not be empty", field), -1;
  if (key[0] == '/')
    return sy__reply_error(r, 400, "ValidationException",
                           "%s \"%.200s\" starts with '/': a key is the flag's path without its leading '/'", field,
                           key),
           -1;
  char *name = sy__arena_alloc(r->arena, n + 2);
  if (!name) return sy__reply_error(r, 500, "InternalError", "out of memory"), -1;
  name[0] = '/';
  memcpy(name + 1, key, n);
  return make_target(r, field, name, n + 1, t);
}

static void find_flag(const sy_snap *s, const flag_target *t, found *fd) {
  memset(fd, 0, sizeof *fd);
  fd->p = sy__snap_get(s, t->name, t->len);
  if (!fd->p) return;
  fd->v = fd->p->latest;
  fd->kind = fd->v->kind;
  fd->f = sy__ver_flag(fd->v);
}

/* 404 for a target that holds no flag: nothing there, or a document of another kind. */
static enum MHD_Result reply_missing(sy_req *r, const flag_target *t, const found *fd) {
  if (fd->p)
    return sy__reply_error(r, 404, "FlagNotFound", "%s is not a flag (it is a %s)", t->name, sy__kind_name(fd->kind));
  return sy__reply_error(r, 404, "FlagNotFound", "flag %s not found", t->key);
}

/* The compact JSON text of v, on the request's arena. NULL (500 replied) on ENOMEM. */
static const char *arena_dump(sy_req *r, const json_t *v, size_t *len) {
  char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  char *out = text ? sy__arena_strdup(r->arena, text) : NULL;
  free(text);
  if (!out) {
    sy__reply_error(r, 500, "InternalError", "out of memory");
    return NULL;
  }
  *len = strlen(out);
  return out;
}

/* "document" (must be an object; absent: dflt, NULL meaning required) into the put's value. */
static int document_field(sy_req *r, json_t *obj, const char *dflt, sy_put *in) {
  json_t *doc = json_object_get(obj, "document");
  if (!doc || json_is_null(doc)) {
    if (!dflt) return sy__reply_error(r, 400, "ValidationException", "document is required"), -1;
    in->value = dflt;
    in->value_len = strlen(dflt);
    return 0;
  }
  if (!json_is_object(doc))
    return sy__reply_error(r, 400, "ValidationException", "document must be an object, not %s",
                           sy__json_type_name(doc)),
           -1;
  in->value = arena_dump(r, doc, &in->value_len);
  return in->value ? 0 : -1;
}

/* "schema": an object is the new schema, null clears it, absent keeps it (NULL). */
static int schema_field(sy_req *r, json_t *obj, sy_put *in) {
  json_t *sc = json_object_get(obj, "schema");
  size_t len = 0;
  if (!sc) return 0;
  if (json_is_null(sc)) {
    in->schema = "";
    return 0;
  }
  if (!json_is_object(sc))
    return sy__reply_error(r, 400, "ValidationException", "schema must be an object, not %s", sy__json_type_name(sc)),
           -1;
  in->schema = arena_dump(r, sc, &len);
  return in->schema ? 0 : -1;
}

/* The put of a flag document: its kind, and the Advanced tier when it needs it. */
static void flag_put(sy_put *in, const flag_target *t) {
  in->name = t->name;
  in->name_len = t->len;
  in->kind = SY_KIND_FLAG;
  if (in->value_len > SY_VALUE_MAX_STANDARD) in->tier = SY_TIER_ADVANCED;
}

/* A percentage as JSON: an integer when it is whole, so 10 reads 10 and not 10.0. */
static json_t *pct_json(double p) {
  if (p == floor(p) && fabs(p) < 1e15) return json_integer((json_int_t)p);
  return json_real(p);
}

static void jbuf_pct(sy_jbuf *b, double p) {
  char t[32];
  snprintf(t, sizeof t, "%.15g", p);
  sy__jbuf_cstr(b, t);
}

/* ---- GET one ---- */

static json_t *parse_text(const char *s, size_t n) {
  json_t *v = json_loadb(s, n, JSON_DECODE_ANY, NULL);
  return v ? v : json_stringn(s, n);
}

static json_t *flag_object(const flag_target *t, const found *fd) {
  char when[32];
  const sy_ver *v = fd->v;
  sy__fmt_time(v->modified_ms, when, sizeof when);
  json_t *schema = v->schema && *v->schema ? parse_text(v->schema, strlen(v->schema)) : json_null();
  return json_pack("{ss ss sI so so sb so ss ss ss}", "key", t->key, "name", fd->p->name, "version",
                   (json_int_t)v->version, "document", parse_text(v->value, v->value_len), "schema", schema, "enabled",
                   sy__flag_enabled(fd->f), "rollout_percentage", pct_json(sy__flag_percentage(fd->f)), "type",
                   sy__flag_value_type(fd->f), "last_modified", when, "last_modified_user", v->modified_user);
}

static enum MHD_Result get_flag(sy_req *r, const flag_target *t) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
  sy_store *st = r->srv->store;
  found fd;
  json_t *out = NULL;
  find_flag(sy__snap_enter(st), t, &fd);
  if (fd.f) out = flag_object(t, &fd);
  sy__snap_leave(st);
  if (!fd.f) return reply_missing(r, t, &fd);
  if (!out) return sy__reply_error(r, 500, "InternalError", "out of memory");
  return sy__reply_json(r, 200, out);
}

/* ---- list ---- */

typedef struct list_ctx {
  sy_req *r;
  sy_jbuf out;
  size_t n, limit;
  int more;
  const char *last;
} list_ctx;

static int list_cb(void *ctx, const sy_param *p) {
  list_ctx *c = ctx;
  const sy_flag *f = sy__ver_flag(p->latest);
  if (!f) return 0;
  if (c->n == c->limit) {
    c->more = 1;
    return 1;
  }
  const char *key = p->name[0] == '/' ? p->name + 1 : p->name;
  if (c->n++) sy__jbuf_cstr(&c->out, ",");
  sy__jbuf_cstr(&c->out, "{\"key\":");
  sy__jbuf_str(&c->out, key, strlen(key));
  sy__jbuf_cstr(&c->out, ",\"name\":");
  sy__jbuf_str(&c->out, p->name, p->name_len);
  sy__jbuf_cstr(&c->out, ",\"version\":");
  sy__jbuf_int(&c->out, p->latest->version);
  sy__jbuf_cstr(&c->out, sy__flag_enabled(f) ? ",\"enabled\":true" : ",\"enabled\":false");
  sy__jbuf_cstr(&c->out, ",\"rollout_percentage\":");
  jbuf_pct(&c->out, sy__flag_percentage(f));
  sy__jbuf_cstr(&c->out, ",\"type\":\"");
  sy__jbuf_cstr(&c->out, sy__flag_value_type(f));
  sy__jbuf_cstr(&c->out, "\"}");
  c->last = sy__arena_strndup(c->r->arena, p->name, p->name_len);
  return 0;
}

static enum MHD_Result list_flags(sy_req *r) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "prefix limit next")) return MHD_YES;
  const char *path = sy__query(r, "prefix");
  const char *next = sy__query(r, "next");
  int64_t limit;
  if (sy__query_int(r, "limit", 1, 1000, 100, &limit)) return MHD_YES;
  char msg[SY_MSG_MAX], prefix[SY_NAME_MAX + 2];
  if (!path) path = "/";
  if (path[0] != '/') { /* a key prefix: "a/" is the path "/a/" */
    char *p = sy__arena_alloc(r->arena, strlen(path) + 2);
    if (!p) return sy__reply_error(r, 500, "InternalError", "out of memory");
    p[0] = '/';
    memcpy(p + 1, path, strlen(path) + 1);
    path = p;
  }
  sy_rc rc = sy__path_check(path, strlen(path), msg, sizeof msg);
  if (rc) return sy__reply_error(r, sy__rc_http_status(rc), sy__rc_code(rc), "prefix: %s", msg);
  int plen = sy__list_prefix(path, prefix, sizeof prefix);
  if (plen < 0 || (next && (strncmp(next, prefix, (size_t)plen) || strlen(next) > SY_NAME_MAX)))
    return sy__reply_error(r, 400, "InvalidNextToken", "next token does not belong to prefix %s", path);
  list_ctx c = {.r = r, .limit = (size_t)limit};
  sy__jbuf_init(&c.out, 64 << 20);
  sy__jbuf_cstr(&c.out, "{\"flags\":[");
  const sy_snap *s = sy__snap_enter(r->srv->store);
  sy__snap_list(s, prefix, 1, next, list_cb, &c);
  sy__snap_leave(r->srv->store);
  return sy__reply_page(r, &c.out, c.more ? c.last : NULL);
}

/* ---- writes ---- */

/* The reply to a refused flag write, in the flag API's words where it has its own. */
static enum MHD_Result reply_write_error(sy_req *r, const flag_target *t) {
  if (r->op.rc == SY_EEXISTS) {
    found fd;
    sy_kind kind = 0;
    find_flag(sy__snap_enter(r->srv->store), t, &fd);
    if (fd.p && !fd.f) kind = fd.kind;
    sy__snap_leave(r->srv->store);
    if (kind)
      return sy__reply_error(r, 409, "FlagAlreadyExists", "%s already exists as a %s, not a flag", t->name,
                             sy__kind_name(kind));
    return sy__reply_error(r, 409, "FlagAlreadyExists", "flag %s already exists", t->key);
  }
  if (r->op.rc == SY_ENOTFOUND) return sy__reply_error(r, 404, "FlagNotFound", "flag %s not found", t->key);
  return sy__reply_rc(r, r->op.rc, r->op.msg);
}

/* What a write keeps across its wait: the target, and for a rollout what it changed. */
typedef struct write_ctx {
  flag_target t;
  json_t *changed; /* rollout: {"field": [old, new]}; released with the arena */
} write_ctx;

static void json_release(void *v) { json_decref(v); }

static write_ctx *new_write_ctx(sy_req *r, const flag_target *t) {
  write_ctx *w = sy__arena_alloc(r->arena, sizeof *w);
  if (!w) return sy__reply_error(r, 500, "InternalError", "out of memory"), NULL;
  w->t = *t;
  r->api_ctx = w;
  return w;
}

static enum MHD_Result finish_create(sy_req *r) {
  write_ctx *w = r->api_ctx;
  if (r->op.rc) return reply_write_error(r, &w->t);
  return sy__reply_json(
      r, 201, json_pack("{ss ss sI}", "key", w->t.key, "name", w->t.name, "version", (json_int_t)r->op.out_version));
}

static enum MHD_Result finish_write(sy_req *r) {
  write_ctx *w = r->api_ctx;
  if (r->op.rc) return reply_write_error(r, &w->t);
  json_t *out = json_pack("{ss sI}", "key", w->t.key, "version", (json_int_t)r->op.out_version);
  if (out && w->changed) json_object_set(out, "changed", w->changed);
  return sy__reply_json(r, 200, out);
}

static enum MHD_Result finish_delete(sy_req *r) {
  write_ctx *w = r->api_ctx;
  if (r->op.rc) return reply_write_error(r, &w->t);
  return sy__reply_json(r, 200, json_pack("{ss}", "deleted", w->t.key));
}

/* POST /api/v1/flags {"key" | "name", "document", "schema", "reason"} */
static enum MHD_Result create_flag(sy_req *r) {
  static const char *const fields[] = {"key", "name", "document", "schema", "reason", NULL};
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "") || sy__parse_body(r)) return MHD_YES;
  if (sy__only_fields(r, r->json, "", fields) || sy__reason_field(r, r->json)) return MHD_YES;
  const char *key = NULL, *name = NULL;
  size_t klen = 0, nlen = 0;
  if (sy__field_str(r, r->json, "", "key", &key, &klen) || sy__field_str(r, r->json, "", "name", &name, &nlen))
    return MHD_YES;
  flag_target t;
  if (!key && !name) return sy__reply_error(r, 400, "ValidationException", "key (or name) is required");
  if (key && key_target(r, "key", key, klen, &t)) return MHD_YES;
  if (!key && make_target(r, "name", name, nlen, &t)) return MHD_YES;
  if (key && name) {
    const char *nk = name[0] == '/' ? name + 1 : name;
    if (strcmp(nk, t.key))
      return sy__reply_error(r, 400, "ValidationException", "name (%.200s) and key (%.200s) name different flags", name,
                             key);
  }
  sy_put *in = &r->op.put;
  in->if_version = -1;
  if (document_field(r, r->json, DEFAULT_DOCUMENT, in) || schema_field(r, r->json, in)) return MHD_YES;
  if (in->schema && !*in->schema) in->schema = NULL; /* null on create: none, which is the default */
  flag_put(in, &t);
  r->op.kind = SY_OP_PUT;
  if (!new_write_ctx(r, &t)) return MHD_YES;
  return sy__submit(r, finish_create);
}

/* PUT /api/v1/flags/{key} {"document", "schema", "if_version", "reason"} */
static enum MHD_Result put_flag(sy_req *r, const flag_target *t) {
  static const char *const fields[] = {"document", "schema", "if_version", "reason", NULL};
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "") || sy__parse_body(r)) return MHD_YES;
  if (sy__only_fields(r, r->json, "", fields) || sy__reason_field(r, r->json)) return MHD_YES;
  sy_put *in = &r->op.put;
  int64_t ifv = -1;
  if (sy__field_int(r, r->json, "", "if_version", &ifv)) return MHD_YES;
  if (json_object_get(r->json, "if_version") && !json_is_null(json_object_get(r->json, "if_version")) && ifv < 1)
    return sy__reply_error(r, 400, "ValidationException", "if_version must be 1 or more");
  in->if_version = ifv;
  in->overwrite = 1;
  if (document_field(r, r->json, NULL, in) || schema_field(r, r->json, in)) return MHD_YES;
  found fd;
  find_flag(sy__snap_enter(r->srv->store), t, &fd);
  int is_flag = fd.f != NULL;
  sy__snap_leave(r->srv->store);
  if (!is_flag) return reply_missing(r, t, &fd);
  flag_put(in, t);
  r->op.kind = SY_OP_PUT;
  if (!new_write_ctx(r, t)) return MHD_YES;
  return sy__submit(r, finish_write);
}

/* A percentage as a request gives it: a number from 0 to 100 with at most two decimals. */
static int percentage_field(sy_req *r, json_t *obj, int *given, double *out) {
  json_t *v = json_object_get(obj, "percentage");
  *given = 0;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_number(v))
    return sy__reply_error(r, 400, "ValidationException", "percentage must be a number, not %s", sy__json_type_name(v)),
           -1;
  double p = json_number_value(v);
  if (!(p >= 0 && p <= 100))
    return sy__reply_error(r, 400, "ValidationException", "percentage: %g is outside 0..100", p), -1;
  if (fabs(p * 100 - round(p * 100)) > 1e-6)
    return sy__reply_error(r, 400, "ValidationException", "percentage: %.10g has more than two decimals", p), -1;
  *given = 1;
  *out = round(p * 100) / 100;
  return 0;
}

/* POST /api/v1/flags/{key}/rollout {"percentage", "enabled", "reason"}: one conditional
 * write of the current document with only those fields changed; nothing when nothing would. */
static enum MHD_Result rollout(sy_req *r, const flag_target *t) {
  static const char *const fields[] = {"percentage", "enabled", "reason", NULL};
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "") || sy__parse_body(r)) return MHD_YES;
  if (sy__only_fields(r, r->json, "", fields) || sy__reason_field(r, r->json)) return MHD_YES;
  int has_pct = 0, en = -1;
  double pct = 0;
  if (percentage_field(r, r->json, &has_pct, &pct) || sy__field_bool(r, r->json, "", "enabled", &en)) return MHD_YES;
  if (!has_pct && en < 0)
    return sy__reply_error(r, 400, "ValidationException", "percentage or enabled (or both) is required");
  found fd;
  json_t *doc = NULL;
  double old_pct = 0;
  int old_en = 0;
  int64_t version = 0;
  find_flag(sy__snap_enter(r->srv->store), t, &fd);
  if (fd.f) {
    doc = json_loadb(fd.v->value, fd.v->value_len, 0, NULL);
    old_pct = sy__flag_percentage(fd.f);
    old_en = sy__flag_enabled(fd.f);
    version = fd.v->version;
  }
  sy__snap_leave(r->srv->store);
  if (!fd.f) return reply_missing(r, t, &fd);
  write_ctx *w = new_write_ctx(r, t);
  if (!w || !doc || !json_is_object(doc) || sy__arena_cleanup(r->arena, json_release, doc)) {
    json_decref(doc);
    return w ? sy__reply_error(r, 500, "InternalError", "flag %s: its document cannot be read", t->key) : MHD_YES;
  }
  json_t *changed = json_object();
  if (!changed || sy__arena_cleanup(r->arena, json_release, changed)) {
    json_decref(changed);
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  w->changed = changed;
  int fail = 0;
  if (has_pct && llround(pct * 100) != llround(old_pct * 100)) {
    fail |= json_object_set_new(doc, "rollout_percentage", pct_json(pct));
    fail |= json_object_set_new(changed, "rollout_percentage", json_pack("[oo]", pct_json(old_pct), pct_json(pct)));
  }
  if (en >= 0 && en != old_en) {
    fail |= json_object_set_new(doc, "enabled", json_boolean(en));
    fail |= json_object_set_new(changed, "enabled", json_pack("[bb]", old_en, en));
  }
  if (fail) return sy__reply_error(r, 500, "InternalError", "out of memory");
  if (!json_object_size(changed)) /* idempotent: the flag already is as asked */
    return sy__reply_json(r, 200,
                          json_pack("{ss sI sO}", "key", t->key, "version", (json_int_t)version, "changed", changed));
  sy_put *in = &r->op.put;
  in->value = arena_dump(r, doc, &in->value_len);
  if (!in->value) return MHD_YES;
  in->overwrite = 1;
  in->if_version = version; /* a change made meanwhile is a 409, not lost */
  flag_put(in, t);
  r->op.kind = SY_OP_PUT;
  return sy__submit(r, finish_write);
}

/* DELETE /api/v1/flags/{key}[?reason=] */
static enum MHD_Result delete_flag(sy_req *r, const flag_target *t) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "reason")) return MHD_YES;
  r->op.reason = sy__query(r, "reason");
  if (r->body_len) {
    static const char *const fields[] = {"reason", NULL};
    if (sy__parse_body(r) || sy__only_fields(r, r->json, "", fields) || sy__reason_field(r, r->json)) return MHD_YES;
  }
  found fd;
  find_flag(sy__snap_enter(r->srv->store), t, &fd);
  int is_flag = fd.f != NULL;
  sy__snap_leave(r->srv->store);
  if (!is_flag) return reply_missing(r, t, &fd);
  if (!new_write_ctx(r, t)) return MHD_YES;
  r->op.kind = SY_OP_DELETE;
  r->op.put.name = t->name;
  r->op.put.name_len = t->len;
  return sy__submit(r, finish_delete);
}

/* ---- evaluation ---- */

/* The body of evaluate and explain: {"context": {...}} (or none: an empty context). *ctx is
 * borrowed from r->json, NULL for none. Replies 400 naming the problem and returns -1. */
static int context_body(sy_req *r, json_t **ctx) {
  static const char *const fields[] = {"context", NULL};
  *ctx = NULL;
  if (!r->body_len) return 0;
  if (sy__parse_body(r) || sy__only_fields(r, r->json, "", fields)) return -1;
  json_t *c = json_object_get(r->json, "context");
  if (!c || json_is_null(c)) return 0;
  if (!json_is_object(c))
    return sy__reply_error(r, 400, "ValidationException", "context must be an object, not %s", sy__json_type_name(c)),
           -1;
  size_t n = json_dumpb(c, NULL, 0, JSON_COMPACT);
  if (n > SY_FLAG_CONTEXT_MAX)
    return sy__reply_error(r, 400, "ValidationException", "context is %zu bytes of JSON; at most %d are allowed", n,
                           SY_FLAG_CONTEXT_MAX),
           -1;
  *ctx = c;
  return 0;
}

static int context_refused(const sy_flag_result *res) {
  return res->reason == SY_FLAG_ERROR && (res->error == SY_FLAG_INVALID_CONTEXT || res->error == SY_FLAG_PARSE_ERROR);
}

/* POST /api/v1/flags/{key}/evaluate {"context"} */
static enum MHD_Result evaluate(sy_req *r, const flag_target *t) {
  /* tokens that may read, and evaluate-only tokens (those an application ships) */
  if (sy__require(r, SY_SCOPE_EVALUATE) || sy__query_only(r, "")) return MHD_YES;
  json_t *ctx;
  if (context_body(r, &ctx)) return MHD_YES;
  found fd;
  sy_flag_result res;
  json_t *out = NULL;
  int refused = 0;
  char detail[sizeof res.detail] = "";
  find_flag(sy__snap_enter(r->srv->store), t, &fd);
  if (fd.f) {
    sy__flag_eval(fd.f, ctx, env_lookup, &res);
    refused = context_refused(&res);
    if (refused) {
      memcpy(detail, res.detail, sizeof detail);
      detail[sizeof detail - 1] = 0;
    } else {
      sy__flag_stats_record(r->srv, t->key, &res);
      out = json_pack("{ss so? ss? ss sI}", "key", t->key, "value", res.value ? json_deep_copy(res.value) : NULL,
                      "variant", res.variant, "reason", sy__flag_reason_name(res.reason), "version",
                      (json_int_t)fd.v->version);
      if (out && res.reason == SY_FLAG_ERROR) {
        json_object_set_new(out, "error_code", json_string(sy__flag_error_name(res.error)));
        json_object_set_new(out, "error_details", json_string(res.detail));
      }
    }
  }
  sy__snap_leave(r->srv->store);
  if (!fd.f) return reply_missing(r, t, &fd);
  if (refused) return sy__reply_error(r, 400, "ValidationException", "context: %s", detail);
  if (!out) return sy__reply_error(r, 500, "InternalError", "out of memory");
  return sy__reply_json(r, 200, out);
}

/* POST /api/v1/flags/{key}/explain {"context"} */
static enum MHD_Result explain(sy_req *r, const flag_target *t) {
  /* an explanation shows the rules and their values: for readers, not for shipped tokens */
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
  json_t *ctx;
  if (context_body(r, &ctx)) return MHD_YES;
  found fd;
  json_t *out = NULL;
  sy_flag_result res;
  int refused = 0;
  char detail[sizeof res.detail] = "";
  find_flag(sy__snap_enter(r->srv->store), t, &fd);
  if (fd.f) {
    sy__flag_eval(fd.f, ctx, env_lookup, &res);
    refused = context_refused(&res);
    memcpy(detail, res.detail, sizeof detail);
    detail[sizeof detail - 1] = 0;
  }
  if (fd.f && !refused) {
    json_t *e = sy__flag_explain(fd.f, ctx, env_lookup);
    out = e ? json_deep_copy(e) : NULL; /* nothing in the reply may borrow from the flag past leave */
    json_decref(e);
    if (out && (json_object_set_new(out, "key", json_string(t->key)) ||
                json_object_set_new(out, "version", json_integer(fd.v->version)) ||
                json_object_set_new(out, "rollout_percentage", pct_json(sy__flag_percentage(fd.f))))) {
      json_decref(out);
      out = NULL;
    }
  }
  sy__snap_leave(r->srv->store);
  if (!fd.f) return reply_missing(r, t, &fd);
  if (refused) return sy__reply_error(r, 400, "ValidationException", "context: %s", detail);
  if (!out) return sy__reply_error(r, 500, "InternalError", "out of memory");
  return sy__reply_json(r, 200, out);
}

static json_t *share(int64_t on, int64_t n) { return n ? json_real((double)on / (double)n) : json_null(); }

/* GET /api/v1/flags/{key}/status */
static enum MHD_Result status(sy_req *r, const flag_target *t) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
  found fd;
  int en = 0;
  double pct = 0;
  int64_t version = 0;
  find_flag(sy__snap_enter(r->srv->store), t, &fd);
  if (fd.f) {
    en = sy__flag_enabled(fd.f);
    pct = sy__flag_percentage(fd.f);
    version = fd.v->version;
  }
  sy__snap_leave(r->srv->store);
  if (!fd.f) return reply_missing(r, t, &fd);
  sy_flag_stats_view sv;
  sy__flag_stats_read(r->srv, t->key, &sv);
  return sy__reply_json(
      r, 200,
      json_pack("{ss sb so sI s{sI sI so so}}", "key", t->key, "enabled", en, "rollout_percentage", pct_json(pct),
                "version", (json_int_t)version, "evaluations", "last_minute", (json_int_t)sv.minute, "last_hour",
                (json_int_t)sv.hour, "enabled_share_last_minute", share(sv.minute_enabled, sv.minute),
                "enabled_share_last_hour", share(sv.hour_enabled, sv.hour)));
}

/* ---- routing ---- */

static int ends_with(const char *s, size_t n, const char *suffix, size_t *cut) {
  size_t k = strlen(suffix);
  if (n <= k || memcmp(s + n - k, suffix, k)) return 0;
  *cut = n - k;
  return 1;
}

enum MHD_Result sy__api_flags_root(sy_req *r) {
  if (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")) return list_flags(r);
  if (!strcmp(r->method, "POST")) return create_flag(r);
  return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/flags answers GET and POST");
}

enum MHD_Result sy__api_flags(sy_req *r, const char *rest) {
  size_t n = strlen(rest), cut = 0;
  const char *m = r->method;
  int get = !strcmp(m, "GET") || !strcmp(m, "HEAD"), post = !strcmp(m, "POST");
  flag_target t;
  /* rest is "/<key>[/action]": the key is what follows the '/' */
  rest++;
  n--;
  enum MHD_Result (*action)(sy_req *, const flag_target *) = NULL;
  if (get && ends_with(rest, n, "/status", &cut))
    action = status;
  else if (post && ends_with(rest, n, "/rollout", &cut))
    action = rollout;
  else if (post && ends_with(rest, n, "/evaluate", &cut))
    action = evaluate;
  else if (post && ends_with(rest, n, "/explain", &cut))
    action = explain;
  if (action) {
    if (key_target(r, "key", rest, cut, &t)) return MHD_YES;
    return action(r, &t);
  }
  if (key_target(r, "key", rest, n, &t)) return MHD_YES;
  if (get) return get_flag(r, &t);
  if (!strcmp(m, "PUT")) return put_flag(r, &t);
  if (!strcmp(m, "DELETE")) return delete_flag(r, &t);
  return sy__reply_error(r, 405, "MethodNotAllowed", "%s is not allowed on a flag", m);
}

/* api_config.c — the whole configuration as one document: export, streamed from
 * a snapshot, and import, read one parameter at a time and applied as one
 * transaction.
 *
 * A backup of 100,000 parameters is tens of megabytes. Neither direction builds
 * it as one JSON tree: the export writes text from the snapshot as the client
 * reads it, and the import walks the top level of the body itself and hands
 * jansson one params[] entry at a time, keeping only the copied strings (in the
 * request's arena). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "server/api_config.h"
#include "server/api_params.h"

#define IMPORT_MAX                                                                                          \
  10000000                               /* params per import: more than the byte limit lets through; keeps \
                                            counts in an int */
#define EXPORT_CHUNK (64 * 1024)         /* text formatted per call of the export stream */
#define EXPORT_BUF_MAX (4 * 1024 * 1024) /* one chunk and the parameter that ends it */
#define CHANGES_MAX                                                          \
  ((size_t)1 << 34) /* a change list is bounded by the items, which the body \
                       limit bounds */
#define FORMAT "switchyard-config/1"

/* ---- export ---- */

/* An export in flight. It holds a reference on the tree of the snapshot it
 * started from, so it reads one consistent state without staying in an RCU read
 * section while the client reads: the tree is immutable and outlives newer
 * snapshots until released. */
typedef struct export_stream {
  sy_store *st;
  sy_snap *snap; /* pinned when the export began */
  int secrets;
  int state;                 /* 0: the head is next, 1: parameters, 2: done */
  int started;               /* a parameter has been written: key holds its name */
  char key[SY_NAME_MAX + 1]; /* the last name written */
  size_t key_len;
  int64_t seq;
  char time[32];
  sy_jbuf buf; /* formatted text not yet handed to MHD, from off */
  size_t off;
} export_stream;

static void export_param(sy_jbuf *b, sy_store *st, const sy_param *p, int secrets, int first) {
  const sy_ver *v = p->latest;
  sy__jbuf_cstr(b, first ? "{\"name\":" : ",{\"name\":");
  sy__jbuf_str(b, p->name, p->name_len);
  sy__jbuf_cstr(b, ",\"type\":\"");
  sy__jbuf_cstr(b, sy__kind_name(v->kind));
  sy__jbuf_cstr(b, "\",\"tier\":\"");
  sy__jbuf_cstr(b, sy__tier_name(v->tier));
  sy__jbuf_cstr(b, "\",\"description\":");
  sy__jbuf_str(b, v->description, strlen(v->description));
  sy__jbuf_cstr(b, ",\"allowed_pattern\":");
  sy__jbuf_str(b, v->allowed_pattern, strlen(v->allowed_pattern));
  /* SSM's attributes, when they are not the defaults */
  const char *attr[4][2] = {
      {"key_id", v->key_id}, {"data_type", v->data_type}, {"policies", v->policies}, {"schema", v->schema}};
  for (int i = 0; i < 4; i++) {
    if (!*attr[i][1]) continue;
    sy__jbuf_cstr(b, ",\"");
    sy__jbuf_cstr(b, attr[i][0]);
    sy__jbuf_cstr(b, "\":");
    sy__jbuf_str(b, attr[i][1], strlen(attr[i][1]));
  }
  if (v->kind != SY_KIND_SECURESTRING) {
    sy__jbuf_cstr(b, ",\"value\":");
    sy__jbuf_str(b, v->value, v->value_len);
  } else if (secrets) {
    char *plain = NULL;
    size_t n = 0;
    if (!sy__store_reveal(st, p->name, v, &plain, &n)) { /* a failure is logged by the store */
      sy__jbuf_cstr(b, ",\"value\":");
      sy__jbuf_str(b, plain, n);
    }
    sy__reveal_free(plain, n);
  }
  sy__jbuf_cstr(b, ",\"tags\":{");
  for (int i = 0; i < p->ntags; i++) {
    if (i) sy__jbuf_cstr(b, ",");
    sy__jbuf_str(b, p->tags[i].key, strlen(p->tags[i].key));
    sy__jbuf_cstr(b, ":");
    sy__jbuf_str(b, p->tags[i].value, strlen(p->tags[i].value));
  }
  sy__jbuf_cstr(b, "}}");
}

/* Formats the next chunk of the document into x->buf. */
static void export_fill(export_stream *x) {
  sy_jbuf *b = &x->buf;
  if (x->state == 0) {
    sy__jbuf_cstr(b, "{\"format\":\"" FORMAT "\",\"exported_at\":\"");
    sy__jbuf_cstr(b, x->time);
    sy__jbuf_cstr(b, "\",\"seq\":");
    sy__jbuf_int(b, x->seq);
    sy__jbuf_cstr(b, ",\"params\":[");
    x->state = 1;
  }
  while (x->state == 1 && b->len < EXPORT_CHUNK && !b->err) {
    const sy_param *p = sy__snap_next(x->snap, x->started ? x->key : NULL, x->key_len);
    if (!p) {
      sy__jbuf_cstr(b, "]}");
      x->state = 2;
      break;
    }
    export_param(b, x->st, p, x->secrets, !x->started);
    memcpy(x->key, p->name, p->name_len); /* names are at most SY_NAME_MAX */
    x->key[p->name_len] = 0;
    x->key_len = p->name_len;
    x->started = 1;
  }
}

static ssize_t export_read(void *cls, uint64_t pos, char *out, size_t max) {
  export_stream *x = cls;
  (void)pos;
  if (x->off == x->buf.len) {
    if (x->state == 2) return MHD_CONTENT_READER_END_OF_STREAM;
    x->buf.len = 0; /* reuse the allocation */
    x->off = 0;
    export_fill(x);
    if (x->buf.err)
      return MHD_CONTENT_READER_END_WITH_ERROR; /* the client sees a cut
                                                   document */
  }
  size_t n = x->buf.len - x->off;
  if (n > max) n = max;
  memcpy(out, x->buf.p + x->off, n);
  x->off += n;
  return (ssize_t)n;
}

static void export_free(void *cls) {
  export_stream *x = cls;
  sy__snap_unpin(x->snap);
  sy__jbuf_free(&x->buf);
  free(x);
}

static enum MHD_Result export_config(sy_req *r) {
  int secrets = 0;
  if (sy__query_only(r, "include_secrets?") || sy__query_bool(r, "include_secrets", &secrets)) return MHD_YES;
  if (secrets && sy__require(r, SY_SCOPE_DECRYPT)) return MHD_YES;
  export_stream *x = calloc(1, sizeof *x);
  if (!x) return sy__reply_error(r, 500, "InternalError", "out of memory");
  x->st = r->srv->store;
  x->secrets = secrets;
  sy__jbuf_init(&x->buf, EXPORT_BUF_MAX);
  sy__fmt_time(sy__clock_now(r->srv->clock), x->time, sizeof x->time);
  x->snap = sy__snap_pin(x->st);
  if (!x->snap) {
    export_free(x);
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  x->seq = x->snap->seq;
  struct MHD_Response *resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, EXPORT_CHUNK, export_read, x, export_free);
  if (!resp) {
    export_free(x);
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  }
  return sy__queue(r, 200, resp, "application/json");
}

/* ---- reading an import ---- */

/* The items of an import, grown as they are read; freed with the request's
 * arena. */
typedef struct import_items {
  sy_put *v;
  size_t n, cap;
} import_items;

static void import_items_free(void *p) { free(((import_items *)p)->v); }

static size_t skip_ws(const char *b, size_t n, size_t i) {
  while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')) i++;
  return i;
}

/* Where the JSON value that starts at b[i] ends: past its closing quote or
 * bracket, or at the first delimiter after a scalar; n if it runs off the end.
 * Only the extent: jansson checks the text itself. */
static size_t value_end(const char *b, size_t n, size_t i) {
  size_t depth = 0;
  for (; i < n; i++) {
    char c = b[i];
    if (c == '"') {
      for (i++; i < n && b[i] != '"'; i++)
        if (b[i] == '\\') i++;
      if (i >= n) return n;
      if (!depth) return i + 1;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      if (!depth) return i; /* a scalar's end, or a stray closer jansson will name */
      if (--depth == 0) return i + 1;
    } else if (!depth && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':')) {
      return i;
    }
  }
  return n;
}

/* Replies 400 for malformed JSON at byte off of the body, worded as
 * sy__parse_body words it. */
static int bad_json(sy_req *r, size_t off, const char *what) {
  int line = 1;
  size_t bol = 0;
  for (size_t i = 0; i < off && i < r->body_len; i++)
    if (r->body[i] == '\n') line++, bol = i + 1;
  sy__reply_error(r, 400, "ValidationException", "malformed JSON at line %d, column %zu: %s", line, off - bol + 1,
                  what);
  return -1;
}

/* The JSON value in body[at, end), or NULL with a 400 queued. */
static json_t *load_value(sy_req *r, size_t at, size_t end) {
  json_error_t err;
  json_t *v = json_loadb(r->body + at, end - at, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
  if (!v) bad_json(r, at + (err.position > 0 ? (size_t)err.position : 0), err.text);
  return v;
}

static int copy_str(sy_req *r, const char **s, size_t len) {
  if (!*s) return 0;
  *s = sy__arena_strndup(r->arena, *s, len);
  return *s ? 0 : -1;
}

/* Checks params[i] (e) into the next item, its strings copied into the arena so
 * that e can go. */
static int take_item(sy_req *r, json_t *e, size_t i, import_items *it) {
  char ctx[48], msg[SY_MSG_MAX];
  snprintf(ctx, sizeof ctx, "params[%zu].", i);
  if (!json_is_object(e)) return sy__reply_error(r, 400, "ValidationException", "params[%zu] must be an object", i), -1;
  if (it->n == it->cap) {
    size_t cap = it->cap ? it->cap * 2 : 1024;
    sy_put *nv = realloc(it->v, cap * sizeof *nv);
    if (!nv) return sy__reply_error(r, 500, "InternalError", "out of memory"), -1;
    it->v = nv;
    it->cap = cap;
  }
  sy_put *in = &it->v[it->n];
  memset(in, 0, sizeof *in);
  if (sy__parse_put(r, e, ctx, 0, in) || sy__field_str(r, e, ctx, "name", &in->name, &in->name_len)) return -1;
  if (!in->name) return sy__reply_error(r, 400, "ValidationException", "%sname is required", ctx), -1;
  sy_rc rc = sy__name_check(in->name, in->name_len, msg, sizeof msg);
  if (rc) return sy__reply_error(r, 400, sy__rc_code(rc), "%sname: %s", ctx, msg), -1;
  if (!in->kind) return sy__reply_error(r, 400, "ValidationException", "%stype is required", ctx), -1;
  if (!in->value)
    return sy__reply_error(r, 400, "ValidationException",
                           "%svalue is missing (a SecureString exported "
                           "without include_secrets cannot be restored)",
                           ctx),
           -1;
  if (!in->tier) in->tier = SY_TIER_STANDARD;
  /* the store's own check of a version, up front: a dry run reports what the import would refuse */
  rc = sy__version_check(in->kind, in->tier, in->value, in->value_len, in->description, in->allowed_pattern, msg,
                         sizeof msg);
  if (!rc) rc = sy__tags_check(in->tags, in->ntags, msg, sizeof msg);
  if (!rc) rc = sy__data_type_check(in->data_type, in->value, in->value_len, msg, sizeof msg);
  if (!rc && in->key_id && *in->key_id) rc = sy__key_id_check(in->key_id, msg, sizeof msg);
  if (!rc) rc = sy__policies_check(in->policies, NULL, msg, sizeof msg);
  if (rc) return sy__reply_error(r, 400, sy__rc_code(rc), "%s%s", ctx, msg), -1;
  /* an export leaves out what is the default: the import writes the default */
  if (!in->key_id) in->key_id = "";
  if (!in->data_type) in->data_type = "";
  if (!in->policies) in->policies = "";
  if (!in->schema) in->schema = "";
  in->overwrite = 1;
  in->if_version = -1;
  /* everything borrowed from e moves into the arena */
  int bad = copy_str(r, &in->name, in->name_len) || copy_str(r, &in->value, in->value_len) ||
            copy_str(r, &in->description, in->description ? strlen(in->description) : 0) ||
            copy_str(r, &in->allowed_pattern, in->allowed_pattern ? strlen(in->allowed_pattern) : 0) ||
            copy_str(r, &in->key_id, in->key_id ? strlen(in->key_id) : 0) ||
            copy_str(r, &in->data_type, in->data_type ? strlen(in->data_type) : 0) ||
            copy_str(r, &in->policies, in->policies ? strlen(in->policies) : 0) ||
            copy_str(r, &in->schema, in->schema ? strlen(in->schema) : 0);
  for (int t = 0; !bad && t < in->ntags; t++) {
    sy_tag *tag = (sy_tag *)&in->tags[t]; /* the arena's array from sy__parse_tags */
    tag->key = sy__arena_strdup(r->arena, tag->key);
    tag->value = tag->key ? sy__arena_strdup(r->arena, tag->value) : NULL;
    bad = !tag->value;
  }
  if (bad) return sy__reply_error(r, 500, "InternalError", "out of memory"), -1;
  it->n++;
  return 0;
}

/* Reads params[] from body[at..) into it. */
static int read_params(sy_req *r, size_t at, import_items *it) {
  const char *b = r->body;
  size_t n = r->body_len, i = skip_ws(b, n, at + 1);
  if (i < n && b[i] == ']') return 0;
  for (;;) {
    if (i >= n) return bad_json(r, i, "unexpected end of input");
    if (it->n == IMPORT_MAX)
      return sy__reply_error(r, 400, "ValidationException", "at most %d params per import", IMPORT_MAX), -1;
    size_t end = value_end(b, n, i);
    json_t *e = load_value(r, i, end);
    if (!e) return -1;
    int bad = take_item(r, e, it->n, it);
    json_decref(e);
    if (bad) return -1;
    i = skip_ws(b, n, end);
    if (i < n && b[i] == ',') {
      i = skip_ws(b, n, i + 1);
      continue;
    }
    if (i < n && b[i] == ']') return 0;
    return bad_json(r, i, i < n ? "',' or ']' expected" : "unexpected end of input");
  }
}

/* Reads the body: the top level by hand into r->json (every member but params,
 * so the usual field accessors apply), then params[] one entry at a time into
 * it. The whole body is checked as JSON, duplicate keys refused, as
 * sy__parse_body would. */
static int read_import(sy_req *r, import_items *it) {
  const char *b = r->body;
  size_t n = r->body_len, bad_at = 0, params_at = 0, i;
  int have_params = 0;
  if (!n) return sy__reply_error(r, 400, "ValidationException", "a JSON object body is required"), -1;
  if (!sy__utf8_check(b, n, &bad_at))
    return sy__reply_error(r, 400, "ValidationException", "body is not valid UTF-8 (near byte %zu)", bad_at + 1), -1;
  i = skip_ws(b, n, 0);
  if (i < n && b[i] == '[') return sy__reply_error(r, 400, "ValidationException", "body must be a JSON object"), -1;
  if (i >= n || b[i] != '{') return bad_json(r, i, "'{' expected");
  r->json = json_object();
  if (!r->json) return sy__reply_error(r, 500, "InternalError", "out of memory"), -1;
  i = skip_ws(b, n, i + 1);
  if (i < n && b[i] == '}') {
    i++;
  } else {
    for (;;) {
      if (i >= n || b[i] != '"') return bad_json(r, i, i < n ? "string or '}' expected" : "unexpected end of input");
      size_t kend = value_end(b, n, i);
      json_t *k = load_value(r, i, kend);
      if (!k) return -1;
      const char *key = json_string_value(k);
      if (!key) { /* a quoted slice is a string or an error; this is for the reader */
        json_decref(k);
        return bad_json(r, i, "string expected");
      }
      int dup = (!strcmp(key, "params") && have_params) || json_object_get(r->json, key);
      size_t kat = i;
      i = skip_ws(b, n, kend);
      if (dup || i >= n || b[i] != ':') {
        json_decref(k);
        return dup ? bad_json(r, kat, "duplicate object key") : bad_json(r, i, "':' expected");
      }
      i = skip_ws(b, n, i + 1);
      if (i >= n) {
        json_decref(k);
        return bad_json(r, i, "unexpected end of input");
      }
      size_t vend = value_end(b, n, i);
      if (!strcmp(key, "params") && b[i] == '[') {
        have_params = 1;
        params_at = i; /* read once the rest is known good */
      } else {
        json_t *v = load_value(r, i, vend);
        if (!v || json_object_set_new(r->json, key, v)) {
          json_decref(k);
          return v ? (sy__reply_error(r, 500, "InternalError", "out of memory"), -1) : -1;
        }
      }
      json_decref(k);
      i = skip_ws(b, n, vend);
      if (i < n && b[i] == ',') {
        i = skip_ws(b, n, i + 1);
        continue;
      }
      if (i < n && b[i] == '}') {
        i++;
        break;
      }
      return bad_json(r, i, i < n ? "',' or '}' expected" : "unexpected end of input");
    }
  }
  i = skip_ws(b, n, i);
  if (i < n) return bad_json(r, i, "end of file expected");
  const char *format = NULL;
  if (sy__field_str(r, r->json, "", "format", &format, NULL)) return -1;
  if (!format || strcmp(format, FORMAT))
    return sy__reply_error(r, 400, "ValidationException", "format must be \"" FORMAT "\", not \"%.64s\"",
                           format ? format : "(missing)"),
           -1;
  if (!have_params) return sy__reply_error(r, 400, "ValidationException", "params must be an array"), -1;
  return read_params(r, params_at, it);
}

/* ---- import ---- */

static int item_ptr_cmp(const void *a, const void *b) {
  const sy_put *x = *(const sy_put *const *)a, *y = *(const sy_put *const *)b;
  return strcmp(x->name, y->name);
}

static const char *action_name(int a) {
  return a == SY_IMPORT_CREATE ? "create" : a == SY_IMPORT_UPDATE ? "update" : "unchanged";
}

static void change_json(sy_jbuf *b, const char *name, size_t len, const char *action, int first) {
  sy__jbuf_cstr(b, first ? "{\"name\":" : ",{\"name\":");
  sy__jbuf_str(b, name, len);
  sy__jbuf_cstr(b, ",\"action\":\"");
  sy__jbuf_cstr(b, action);
  sy__jbuf_cstr(b, "\"}");
}

static void summary_json(sy_jbuf *b, int64_t c, int64_t u, int64_t same, int64_t d) {
  sy__jbuf_cstr(b, "\"summary\":{\"create\":");
  sy__jbuf_int(b, c);
  sy__jbuf_cstr(b, ",\"update\":");
  sy__jbuf_int(b, u);
  sy__jbuf_cstr(b, ",\"unchanged\":");
  sy__jbuf_int(b, same);
  sy__jbuf_cstr(b, ",\"delete\":");
  sy__jbuf_int(b, d);
  sy__jbuf_cstr(b, "}");
}

static enum MHD_Result finish_import(sy_req *r) {
  if (r->op.rc) return sy__reply_rc(r, r->op.rc, r->op.msg);
  json_t *sum = json_object_get(r->op.result, "summary"), *gone = json_object_get(r->op.result, "deleted");
  sy_jbuf b;
  sy__jbuf_init(&b, CHANGES_MAX);
  sy__jbuf_cstr(&b, "{\"changes\":[");
  for (size_t i = 0; i < r->op.nitems; i++)
    change_json(&b, r->op.items[i].name, r->op.items[i].name_len, action_name(r->op.actions[i]), i == 0);
  size_t k;
  json_t *g;
  json_array_foreach(gone, k, g) {
    change_json(&b, json_string_value(g), json_string_length(g), "delete", r->op.nitems == 0 && k == 0);
  }
  sy__jbuf_cstr(&b, "],");
  summary_json(
      &b, json_integer_value(json_object_get(sum, "create")), json_integer_value(json_object_get(sum, "update")),
      json_integer_value(json_object_get(sum, "unchanged")), json_integer_value(json_object_get(sum, "delete")));
  sy__jbuf_cstr(&b, ",\"dry_run\":false}");
  return sy__reply_jbuf(r, 200, &b);
}

static enum MHD_Result import_config(sy_req *r) {
  int prune = 0, apply = 0;
  if (sy__query_only(r, "apply? prune? reason") || sy__query_bool(r, "prune", &prune) ||
      sy__query_bool(r, "apply", &apply))
    return MHD_YES;
  import_items *it = sy__arena_alloc(r->arena, sizeof *it);
  if (!it || sy__arena_cleanup(r->arena, import_items_free, it))
    return sy__reply_error(r, 500, "InternalError", "out of memory");
  if (read_import(r, it)) return MHD_YES;
  size_t n = it->n, i;
  /* duplicates would make the result depend on order */
  const sy_put **sorted = sy__arena_alloc(r->arena, (n ? n : 1) * sizeof *sorted);
  if (!sorted) return sy__reply_error(r, 500, "InternalError", "out of memory");
  for (i = 0; i < n; i++) sorted[i] = &it->v[i];
  qsort(sorted, n, sizeof *sorted, item_ptr_cmp);
  for (i = 1; i < n; i++)
    if (!strcmp(sorted[i]->name, sorted[i - 1]->name))
      return sy__reply_error(r, 400, "ValidationException", "%s appears twice in params", sorted[i]->name);
  if (apply) {
    r->op.kind = SY_OP_IMPORT;
    r->op.items = it->v;
    r->op.nitems = n;
    r->op.prune = prune;
    r->op.actions = sy__arena_alloc(r->arena, n ? n : 1);
    if (!r->op.actions) return sy__reply_error(r, 500, "InternalError", "out of memory");
    r->op.reason = sy__query(r, "reason");
    return sy__submit(r, finish_import);
  }
  /* dry run: diff against the snapshot, write nothing */
  sy_jbuf b;
  int64_t c = 0, u = 0, same = 0, d = 0;
  sy__jbuf_init(&b, CHANGES_MAX);
  sy__jbuf_cstr(&b, "{\"dry_run\":true,\"changes\":[");
  const sy_snap *s = sy__snap_enter(r->srv->store);
  for (i = 0; i < n; i++) {
    const sy_put *in = &it->v[i];
    const sy_param *p = sy__snap_get(s, in->name, in->name_len);
    int a = !p ? SY_IMPORT_CREATE : sy__import_differs(r->srv->store, p, in) ? SY_IMPORT_UPDATE : SY_IMPORT_UNCHANGED;
    a == SY_IMPORT_CREATE ? c++ : a == SY_IMPORT_UPDATE ? u++ : same++;
    change_json(&b, in->name, in->name_len, action_name(a), i == 0);
  }
  if (prune) {
    for (const sy_param *p = sy__snap_next(s, NULL, 0); p; p = sy__snap_next(s, p->name, p->name_len)) {
      sy_put probe = {.name = p->name};
      const sy_put *pp = &probe;
      if (bsearch(&pp, sorted, n, sizeof *sorted, item_ptr_cmp)) continue;
      change_json(&b, p->name, p->name_len, "delete", n == 0 && d == 0);
      d++;
    }
  }
  sy__snap_leave(r->srv->store);
  sy__jbuf_cstr(&b, "],");
  summary_json(&b, c, u, same, d);
  sy__jbuf_cstr(&b, "}");
  return sy__reply_jbuf(r, 200, &b);
}

enum MHD_Result sy__api_config(sy_req *r) {
  if (sy__require(r, SY_SCOPE_ADMIN)) return MHD_YES;
  if (!strcmp(r->method, "GET")) return export_config(r);
  if (!strcmp(r->method, "POST")) return import_config(r);
  return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/config/runtime answers GET (export) and POST (import)");
}

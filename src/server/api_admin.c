/* api_admin.c — audit log, tokens and access keys (the whole-config export/import is in api_config.c). */
#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/api_admin.h"

#include "server/api_params.h"

/* ---- audit ---- */

static json_t *audit_json(const sy_audit_rec *a, const char *hash) {
  return json_pack("{sI ss ss ss ss sI sI ss ss ss ss ss ss}", "seq", (json_int_t)a->seq, "time", a->time, "actor",
                   a->actor, "action", a->action, "name", a->name, "old_version", (json_int_t)a->old_version,
                   "new_version", (json_int_t)a->new_version, "old_digest", a->old_digest, "new_digest", a->new_digest,
                   "reason", a->reason, "detail", a->detail ? a->detail : "", "prev_hash", a->prev_hash, "hash", hash);
}

typedef struct audit_ctx {
  json_t *arr;
  int64_t last;
} audit_ctx;

static void audit_cb(void *ctx, const sy_audit_rec *a, const char *hash) {
  audit_ctx *c = ctx;
  json_array_append_new(c->arr, audit_json(a, hash));
  c->last = a->seq;
}

/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.mmm]Z" into epoch ms; -1 if it is not that. */
static int64_t parse_time(const char *s) {
  struct tm tm = {0};
  int ms = 0, n = 0;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
             &n) != 6)
    return -1;
  const char *p = s + n;
  if (*p == '.') {
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, digits++)
      if (digits < 3) ms = ms * 10 + (*p - '0');
    while (digits++ < 3) ms *= 10;
  }
  if (strcmp(p, "Z") && strcmp(p, "+00:00")) return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t t = timegm(&tm);
  return t < 0 ? -1 : (int64_t)t * 1000 + ms;
}

enum MHD_Result sy__api_audit(sy_req *r, const char *rest) {
  if (strcmp(r->method, "GET")) return sy__reply_error(r, 405, "MethodNotAllowed", "the audit log is read-only");
  if (sy__require(r, SY_SCOPE_ADMIN)) return MHD_YES;
  sy_store *st = r->srv->store;
  if (strcmp(rest, "/verify") == 0) {
    if (sy__query_only(r, "")) return MHD_YES;
    int64_t n = 0, broken = 0;
    char msg[SY_MSG_MAX];
    sy_rc rc = sy__store_audit_verify(st, &n, &broken, msg, sizeof msg);
    if (rc) return sy__reply_rc(r, rc, NULL);
    if (!broken) return sy__reply_json(r, 200, json_pack("{sb sI}", "ok", 1, "records", (json_int_t)n));
    return sy__reply_json(r, 200,
                          json_pack("{sb sI sI ss}", "ok", 0, "records", (json_int_t)n, "first_broken_seq",
                                    (json_int_t)broken, "message", msg));
  }
  if (*rest) return sy__reply_error(r, 404, "NotFound", "no route for %.200s", r->path);
  if (sy__query_only(r, "limit after before order since name")) return MHD_YES;
  sy_audit_query q = {0};
  int64_t limit, after, before;
  if (sy__query_int(r, "limit", 1, 1000, 100, &limit) || sy__query_int(r, "after", 0, INT64_MAX, 0, &after) ||
      sy__query_int(r, "before", 0, INT64_MAX, 0, &before))
    return MHD_YES;
  const char *order = sy__query(r, "order");
  const char *since = sy__query(r, "since");
  q.name = sy__query(r, "name");
  char msg[SY_MSG_MAX];
  if (q.name && sy__name_check(q.name, strlen(q.name), msg, sizeof msg))
    return sy__reply_error(r, 400, "ValidationException", "query parameter name: %s", msg);
  if (order && strcmp(order, "asc") && strcmp(order, "desc"))
    return sy__reply_error(r, 400, "ValidationException", "order must be asc or desc");
  q.asc = order && !strcmp(order, "asc");
  q.limit = (int)limit;
  q.after = after;
  q.before = before;
  if (since) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(since, &end, 10);
    if (*since >= '0' && *since <= '9' && !*end && !errno) {
      q.since_seq = v;
    } else if ((q.since_ms = parse_time(since)) < 0) {
      return sy__reply_error(r, 400, "ValidationException",
                             "since must be a sequence number or an RFC 3339 UTC time like 2026-11-22T19:00:00Z");
    }
  }
  audit_ctx c = {json_array(), 0};
  int64_t resume = 0;
  sy_rc rc = sy__store_audit(st, &q, audit_cb, &c, &resume);
  if (rc) {
    json_decref(c.arr);
    return sy__reply_rc(r, rc, NULL);
  }
  int full = json_array_size(c.arr) == (size_t)limit;
  json_t *out = json_pack("{so}", "records", c.arr);
  if (out) json_object_set_new(out, "next", full ? json_integer(c.last) : resume ? json_integer(resume) : json_null());
  return sy__reply_json(r, 200, out);
}

/* ---- tokens ---- */

static unsigned parse_scopes(json_t *arr, const char **bad) {
  unsigned s = 0;
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    const char *v = json_string_value(e);
    if (v && !strcmp(v, "read"))
      s |= SY_SCOPE_READ;
    else if (v && !strcmp(v, "write"))
      s |= SY_SCOPE_WRITE;
    else if (v && !strcmp(v, "admin"))
      s |= SY_SCOPE_ADMIN;
    else if (v && !strcmp(v, "decrypt"))
      s |= SY_SCOPE_DECRYPT;
    else if (v && !strcmp(v, "evaluate"))
      s |= SY_SCOPE_EVALUATE;
    else {
      *bad = v ? v : "(not a string)";
      return 0;
    }
  }
  return s;
}

static json_t *scopes_json(unsigned s) {
  json_t *a = json_array();
  if (s & SY_SCOPE_READ) json_array_append_new(a, json_string("read"));
  if (s & SY_SCOPE_WRITE) json_array_append_new(a, json_string("write"));
  if (s & SY_SCOPE_ADMIN) json_array_append_new(a, json_string("admin"));
  if (s & SY_SCOPE_DECRYPT) json_array_append_new(a, json_string("decrypt"));
  if (s & SY_SCOPE_EVALUATE) json_array_append_new(a, json_string("evaluate"));
  return a;
}

enum MHD_Result sy__api_whoami(sy_req *r) {
  if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
    return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/whoami answers GET");
  if (sy__query_only(r, "")) return MHD_YES;
  unsigned have = 0; /* what the scope checks grant, asked of them: admin brings read, write and decrypt */
  for (unsigned s = SY_SCOPE_READ; s <= SY_SCOPE_EVALUATE; s <<= 1)
    if (!sy__require_quiet(r, s)) have |= s;
  return sy__reply_json(r, 200, json_pack("{ss so}", "name", r->actor, "scopes", scopes_json(have)));
}

/* A new token secret: "sy_" and 64 hex digits of 32 random bytes. */
int sy__token_generate(char *out, size_t outsz) {
  unsigned char raw[32];
  if (outsz < 3 + 64 + 1 || RAND_bytes(raw, sizeof raw) != 1) return -1;
  memcpy(out, "sy_", 3);  // NOLINT(bugprone-not-null-terminated-result): sy__hex terminates it
  sy__hex(raw, sizeof raw, out + 3);
  return 0;
}

static int token_name_valid(const char *n) {
  size_t len = strlen(n);
  if (len < 1 || len > 64) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = n[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return 0;
  }
  return 1;
}

static enum MHD_Result finish_created(sy_req *r) {
  if (r->op.rc) return sy__reply_rc(r, r->op.rc, r->op.msg);
  json_t *o = r->op.kind == SY_OP_KEY_CREATE ? json_pack("{ss ss ss}", "name", r->op.token_name, "access_key_id",
                                                         r->op.key_id, "secret_access_key", r->op.key_secret)
                                             : json_pack("{ss ss}", "name", r->op.token_name, "token", r->secret);
  if (o) json_object_set_new(o, "scopes", scopes_json(r->op.scopes));
  if (o && r->op.token_route && *r->op.token_route) json_object_set_new(o, "route", json_string(r->op.token_route));
  return sy__reply_json(r, 201, o);
}

static enum MHD_Result finish_routed(sy_req *r) {
  if (r->op.rc) return sy__reply_rc(r, r->op.rc, r->op.msg);
  const char *route = r->op.token_route ? r->op.token_route : "";
  return sy__reply_json(r, 200, json_pack("{ss ss*}", "name", r->op.token_name, "route", *route ? route : NULL));
}

/* A token's default route from the body's "route" (absent, null or "": none, *out NULL).
 * Refuses (400 "route: <why>") what is not a parameter name starting with '/'; the store
 * checks the same, this answers before the write is queued. Returns 0, or -1 with the
 * reply queued. */
static int route_field(sy_req *r, const char **out) {
  const char *route = NULL;
  char why[SY_MSG_MAX];
  *out = NULL;
  if (sy__field_str(r, r->json, "", "route", &route, NULL)) return -1;
  if (!route || !*route) return 0;
  if (route[0] != '/') return sy__reply_error(r, 400, "ValidationException", "route: must start with '/'"), -1;
  if (sy__name_check(route, strlen(route), why, sizeof why))
    return sy__reply_error(r, 400, "ValidationException", "route: %s", why), -1;
  *out = route;
  return 0;
}

static enum MHD_Result finish_revoked(sy_req *r) {
  if (r->op.rc) return sy__reply_rc(r, r->op.rc, r->op.msg);
  return sy__reply_json(r, 200, json_pack("{ss}", "revoked", r->op.token_name));
}

static json_t *credential_json(const char *name, const char *key_id, unsigned scopes, int64_t created_ms,
                               int64_t revoked_ms, const char *route) {
  char c[32], v[32];
  sy__fmt_time(created_ms, c, sizeof c);
  sy__fmt_time(revoked_ms, v, sizeof v);
  json_t *o = json_pack("{ss}", "name", name);
  if (!o) return NULL;
  if (key_id) json_object_set_new(o, "access_key_id", json_string(key_id));
  json_object_set_new(o, "scopes", scopes_json(scopes));
  json_object_set_new(o, "created", json_string(c));
  json_object_set_new(o, "revoked", revoked_ms ? json_string(v) : json_null());
  if (route && *route) json_object_set_new(o, "route", json_string(route));
  return o;
}

/* A new access key: an id like AWS's ("AKIA" and 16 of A-Z2-7) and a 40-character secret. */
static int akey_generate(char id[32], char secret[48]) {
  static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  unsigned char raw[56];
  if (RAND_bytes(raw, sizeof raw) != 1) return -1;
  memcpy(id, "AKIA", 4);
  for (int i = 0; i < 16; i++) id[4 + i] = b32[raw[i] & 31];
  id[20] = 0;
  for (int i = 0; i < 40; i++) secret[i] = b64[raw[16 + i] & 63];
  secret[40] = 0;
  return 0;
}

int sy__akey_id_valid(const char *id) {
  size_t n = strlen(id);
  if (n < 16 || n > 31) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9'))) return 0;
  return 1;
}

/* Tokens (bearer, for the native API) and access keys (SigV4, for the SSM API) share
 * one shape: list, create with a name and scopes (the secret shown once), revoke by name.
 * A token also has a default gateway route, set at creation or by PATCH. */
static void cred_cb(void *arr, const sy_cred *c) {
  json_array_append_new(arr, credential_json(c->name, c->id, c->scopes, c->created_ms, c->revoked_ms, c->route));
}

static enum MHD_Result credentials(sy_req *r, const char *rest, int keys) {
  const char *what = keys ? "keys" : "tokens";
  /* every write takes a reason for its audit record: in the body, or ?reason= on a DELETE */
  if (sy__require(r, SY_SCOPE_ADMIN) || sy__query_only(r, strcmp(r->method, "DELETE") ? "" : "reason")) return MHD_YES;
  if (!*rest && !strcmp(r->method, "GET")) {
    json_t *arr = json_array();
    const sy_snap *s = sy__snap_enter(r->srv->store);
    sy__snap_creds(s, keys, cred_cb, arr);
    sy__snap_leave(r->srv->store);
    return sy__reply_json(r, 200, json_pack("{so}", what, arr));
  }
  if (!*rest && !strcmp(r->method, "POST")) {
    if (sy__parse_body(r) || sy__reason_field(r, r->json)) return MHD_YES;
    const char *name = NULL, *bad = NULL;
    if (sy__field_str(r, r->json, "", "name", &name, NULL)) return MHD_YES;
    if (!name || !token_name_valid(name))
      return sy__reply_error(r, 400, "ValidationException", "name is required: 1 to 64 of a-zA-Z0-9._-");
    json_t *sc = json_object_get(r->json, "scopes");
    if (!json_is_array(sc) || !json_array_size(sc))
      return sy__reply_error(r, 400, "ValidationException",
                             "scopes must be a non-empty array of read, write, admin, decrypt, evaluate");
    unsigned scopes = parse_scopes(sc, &bad);
    if (bad)
      return sy__reply_error(r, 400, "ValidationException",
                             "unknown scope \"%.64s\"; use read, write, admin, decrypt or evaluate", bad);
    r->op.token_name = name;
    r->op.scopes = scopes;
    if (keys) {
      char *id = sy__arena_alloc(r->arena, 32), *secret = sy__arena_alloc(r->arena, 48);
      if (!id || !secret || akey_generate(id, secret))
        return sy__reply_error(r, 500, "InternalError", "cannot make a key");
      r->op.kind = SY_OP_KEY_CREATE;
      r->op.key_id = id;
      r->op.key_secret = secret;
    } else {
      char *secret = sy__arena_alloc(r->arena, 80), *hash = sy__arena_alloc(r->arena, SY_HASH_HEX);
      if (!secret || !hash || sy__token_generate(secret, 80))
        return sy__reply_error(r, 500, "InternalError", "cannot make a token");
      sy__sha256_hex(secret, strlen(secret), hash);
      if (route_field(r, &r->op.token_route)) return MHD_YES;
      r->secret = secret;
      r->op.kind = SY_OP_TOKEN_CREATE;
      r->op.token_hash = hash;
    }
    return sy__submit(r, finish_created);
  }
  if (!keys && rest[0] == '/' && rest[1] && !strcmp(r->method, "PATCH")) {
    const char *name = sy__arena_strdup(r->arena, rest + 1);
    if (!name || !token_name_valid(name))
      return sy__reply_error(r, 400, "ValidationException", "bad name %.64s", rest + 1);
    if (sy__parse_body(r) || sy__reason_field(r, r->json)) return MHD_YES;
    if (!json_object_get(r->json, "route"))
      return sy__reply_error(r, 400, "ValidationException", "route is required (\"\" or null clears it)");
    if (route_field(r, &r->op.token_route)) return MHD_YES;
    r->op.kind = SY_OP_TOKEN_ROUTE;
    r->op.token_name = name;
    return sy__submit(r, finish_routed);
  }
  if (rest[0] == '/' && rest[1] && !strcmp(r->method, "DELETE")) {
    const char *name = sy__arena_strdup(r->arena, rest + 1);
    if (!name || !token_name_valid(name))
      return sy__reply_error(r, 400, "ValidationException", "bad name %.64s", rest + 1);
    r->op.reason = sy__query(r, "reason");
    if (r->body_len && (sy__parse_body(r) || sy__reason_field(r, r->json))) return MHD_YES;
    r->op.kind = keys ? SY_OP_KEY_REVOKE : SY_OP_TOKEN_REVOKE;
    r->op.token_name = name;
    return sy__submit(r, finish_revoked);
  }
  if (!keys)
    return sy__reply_error(r, 405, "MethodNotAllowed",
                           "tokens: GET or POST /api/v1/admin/tokens, PATCH or DELETE /api/v1/admin/tokens/NAME");
  return sy__reply_error(r, 405, "MethodNotAllowed", "%s: GET or POST /api/v1/admin/%s, DELETE /api/v1/admin/%s/NAME",
                         what, what, what);
}

enum MHD_Result sy__api_tokens(sy_req *r, const char *rest) { return credentials(r, rest, 0); }

enum MHD_Result sy__api_keys(sy_req *r, const char *rest) { return credentials(r, rest, 1); }

enum MHD_Result sy__api_clock(sy_req *r) {
  if (!r->srv->test_clock)
    return sy__reply_error(r, 404, "NotFound", "the clock moves only on a server started with SWITCHYARD_TEST_CLOCK=1");
  if (sy__require(r, SY_SCOPE_ADMIN) || sy__query_only(r, "")) return MHD_YES;
  if (!strcmp(r->method, "POST")) {
    int64_t ms = 0;
    if (sy__parse_body(r) || sy__field_int(r, r->json, "body", "advance_ms", &ms)) return MHD_YES;
    if (ms < 0 || ms > (int64_t)3650 * 86400000)
      return sy__reply_error(r, 400, "ValidationException", "advance_ms must be from 0 to 10 years of ms");
    sy__clock_offset_advance(r->srv->test_clock, ms);
  } else if (strcmp(r->method, "GET")) {
    return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/admin/clock answers GET and POST");
  }
  return sy__reply_json(r, 200,
                        json_pack("{sI sI}", "now_ms", (json_int_t)sy__clock_now(r->srv->clock), "offset_ms",
                                  (json_int_t)__atomic_load_n(&r->srv->test_clock->offset, __ATOMIC_ACQUIRE)));
}

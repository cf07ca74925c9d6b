/* api_snapshot.c — GET /api/v1/snapshot: the parameters below some prefixes from one in-memory
 * snapshot, with the sequence number it reflects: where a client (libswitchyard) starts before
 * it follows the change stream from that number. */
#include <string.h>

#include "server/http.h"
#include "server/watch.h"

#define SNAPSHOT_MAX ((size_t)256 << 20) /* the body: every parameter of a big store */

static void param_json(sy_jbuf *b, sy_store *st, const sy_param *p, int decrypt, int *first) {
  const sy_ver *v = p->latest;
  char *plain = NULL;
  size_t n = 0;
  if (!*first) sy__jbuf_cstr(b, ",");
  *first = 0;
  sy__jbuf_cstr(b, "{\"name\":");
  sy__jbuf_str(b, p->name, p->name_len);
  sy__jbuf_cstr(b, ",\"type\":\"");
  sy__jbuf_cstr(b, sy__kind_name(v->kind));
  sy__jbuf_cstr(b, "\",\"version\":");
  sy__jbuf_int(b, v->version);
  if (v->kind != SY_KIND_SECURESTRING) {
    sy__jbuf_cstr(b, ",\"value\":");
    sy__jbuf_str(b, v->value, v->value_len);
  } else if (decrypt && !sy__store_reveal(st, p->name, v, &plain, &n)) {
    sy__jbuf_cstr(b, ",\"value\":");
    sy__jbuf_str(b, plain, n);
  }
  sy__reveal_free(plain, n);
  sy__jbuf_cstr(b, "}");
}

static int has_prefix(const sy_param *p, const char *prefix, size_t len) {
  return p->name_len >= len && memcmp(p->name, prefix, len) == 0;
}

enum MHD_Result sy__api_snapshot(sy_req *r) {
  if (strcmp(r->method, "GET")) return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/snapshot answers GET");
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "prefix decrypt?")) return MHD_YES;
  int decrypt = 0, n = 0, first = 1;
  if (sy__query_bool(r, "decrypt", &decrypt)) return MHD_YES;
  if (decrypt && sy__require(r, SY_SCOPE_DECRYPT)) return MHD_YES;
  char *buf;
  const char *prefixes[SY_WATCH_PREFIXES];
  size_t lens[SY_WATCH_PREFIXES];
  if (sy__watch_prefixes(r, &buf, prefixes, lens, &n)) return MHD_YES;
  sy_store *st = r->srv->store;
  sy_jbuf b;
  sy__jbuf_init(&b, SNAPSHOT_MAX);
  sy__jbuf_cstr(&b, "{\"format\":\"switchyard-snapshot/1\",\"store\":\"");
  sy__jbuf_cstr(&b, sy__store_id(st));
  sy__jbuf_cstr(&b, "\",\"seq\":");
  const sy_snap *s = sy__snap_enter(st);
  sy__jbuf_int(&b, s->seq);
  sy__jbuf_cstr(&b, ",\"params\":[");
  if (n == 0) {
    for (const sy_param *p = sy__snap_next(s, NULL, 0); p; p = sy__snap_next(s, p->name, p->name_len))
      param_json(&b, st, p, decrypt, &first);
  }
  /* prefixes that overlap ("/a/" and "/a/b/") would list a name twice: a name is listed
   * under the first prefix that covers it only */
  for (int i = 0; i < n; i++) {
    const sy_param *p = sy__snap_get(s, prefixes[i], lens[i]);
    if (!p || !has_prefix(p, prefixes[i], lens[i])) p = sy__snap_next(s, prefixes[i], lens[i]);
    for (; p && has_prefix(p, prefixes[i], lens[i]); p = sy__snap_next(s, p->name, p->name_len)) {
      int earlier = 0;
      for (int j = 0; j < i && !earlier; j++) earlier = has_prefix(p, prefixes[j], lens[j]);
      if (!earlier) param_json(&b, st, p, decrypt, &first);
    }
  }
  sy__snap_leave(st);
  sy__jbuf_cstr(&b, "]}");
  return sy__reply_jbuf(r, 200, &b);
}

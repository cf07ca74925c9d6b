/* query.c — the reads every API family makes, on one snapshot: a parameter by name, the
 * parameters below a path in name order with paging, the credentials. The server never
 * walks the snapshot's tree or credential tables itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

const sy_param *sy__snap_get(const sy_snap *s, const char *name, size_t len) {
  return sy__tree_find(s->root, name, len);
}

/* One walk of sy__snap_list over the names that begin with prefix; 1 when cb stopped it. */
static int walk(const sy_snap *s, const char *prefix, int recursive, const char *after, sy_list_cb cb, void *ctx) {
  char key[SY_NAME_MAX + 2];
  size_t plen = strlen(prefix), klen;
  int strict = after != NULL;
  klen = (size_t)snprintf(key, sizeof key, "%s", after ? after : prefix);
  if (klen >= sizeof key) return 0;
  for (;;) {
    const sy_param *p = sy__tree_seek(s->root, key, klen, strict);
    if (!p || p->name_len < plen || memcmp(p->name, prefix, plen)) return 0;
    const char *slash = recursive ? NULL : memchr(p->name + plen, '/', p->name_len - plen);
    if (slash) {
      /* a deeper name: jump past the whole child subtree ('0' sorts right after '/') */
      klen = (size_t)(slash - p->name);
      memcpy(key, p->name, klen);
      key[klen++] = '0';
      key[klen] = 0;
      strict = 0;
      continue;
    }
    if (cb(ctx, p)) return 1;
    memcpy(key, p->name, p->name_len);
    klen = p->name_len;
    key[klen] = 0;
    strict = 1;
  }
}

void sy__snap_list(const sy_snap *s, const char *prefix, int recursive, const char *after, sy_list_cb cb, void *ctx) {
  if (strcmp(prefix, "/")) {
    walk(s, prefix, recursive, after, cb, ctx);
    return;
  }
  /* the root holds the single-level names with and without their slash: recursively that
   * is every name; one level down, the "/x" names and then the bare ones (a page that
   * stopped at a bare name resumes among them) */
  if (recursive) {
    walk(s, "", 1, after, cb, ctx);
    return;
  }
  if (after && after[0] != '/') {
    walk(s, "", 0, after, cb, ctx);
    return;
  }
  if (!walk(s, "/", 0, after, cb, ctx)) walk(s, "", 0, NULL, cb, ctx);
}

void sy__snap_folders(const sy_snap *s, const char *prefix, sy_folder_cb cb, void *ctx) {
  char key[SY_NAME_MAX + 2];
  size_t plen = strlen(prefix), klen = plen;
  int strict = 0;
  if (plen >= sizeof key) return;
  memcpy(key, prefix, plen + 1);
  for (;;) {
    const sy_param *p = sy__tree_seek(s->root, key, klen, strict);
    if (!p || p->name_len < plen || memcmp(p->name, prefix, plen)) return;
    const char *slash = memchr(p->name + plen, '/', p->name_len - plen);
    if (!slash) { /* a direct child: step over it */
      klen = p->name_len;
      memcpy(key, p->name, klen + 1);
      strict = 1;
      continue;
    }
    klen = (size_t)(slash - p->name) + 1; /* the folder, with its '/' */
    memcpy(key, p->name, klen);
    key[klen] = 0;
    size_t first = sy__tree_rank(s->root, key, klen);
    key[klen - 1] = '0'; /* '0' sorts right after '/': the first name past the folder */
    size_t end = sy__tree_rank(s->root, key, klen);
    key[klen - 1] = '/';
    if (cb(ctx, key, klen, end - first)) return;
    key[klen - 1] = '0';
    strict = 0;
  }
}

int sy__list_prefix(const char *path, char *prefix, size_t cap) {
  size_t n = strlen(path);
  int k = snprintf(prefix, cap, "%s%s", path, n && path[n - 1] == '/' ? "" : "/");
  return k < 0 || (size_t)k >= cap ? -1 : k;
}

void sy__snap_creds(const sy_snap *s, int keys, sy_cred_cb cb, void *ctx) {
  const sy_auth *a = s->auth;
  for (int i = 0; keys && i < a->nkeys; i++) {
    const sy_akey *k = &a->keys[i];
    cb(ctx, &(sy_cred){k->name, k->id, k->scopes, k->created_ms, k->revoked_ms, ""});
  }
  for (int i = 0; !keys && i < a->ntokens; i++) {
    const sy_token *t = &a->tokens[i];
    cb(ctx, &(sy_cred){t->name, NULL, t->scopes, t->created_ms, t->revoked_ms, t->route});
  }
}

const sy_akey *sy__snap_akey_any(const sy_snap *s, const char *id) {
  for (int i = 0; i < s->auth->nkeys; i++)
    if (!strcmp(s->auth->keys[i].id, id)) return &s->auth->keys[i];
  return NULL;
}

int sy__snap_has_tokens(const sy_snap *s) { return s->auth->ntokens > 0; }

const sy_param *sy__snap_next(const sy_snap *s, const char *after, size_t len) {
  return after ? sy__tree_seek(s->root, after, len, 1) : sy__tree_seek(s->root, "", 0, 0);
}

sy_snap *sy__snap_pin(sy_store *st) {
  sy_snap *pin = malloc(sizeof *pin);
  if (!pin) return NULL;
  const sy_snap *s = sy__snap_enter(st);
  *pin = *s;
  sy__node_ref(pin->root);
  sy__auth_ref(pin->auth);
  sy__snap_leave(st);
  return pin;
}

void sy__snap_unpin(sy_snap *pin) {
  if (!pin) return;
  sy__snap_clear(pin);
  free(pin);
}

const sy_akey *sy__snap_akey_named(const sy_snap *s, const char *name) {
  for (int i = 0; i < s->auth->nkeys; i++)
    if (!strcmp(s->auth->keys[i].name, name)) return &s->auth->keys[i];
  return NULL;
}

uint64_t sy__snap_auth_gen(const sy_snap *s) { return s->auth->gen; }

const struct sy_flag *sy__ver_flag(const sy_ver *v) {
  return v->kind == SY_KIND_FLAG && v->compiled ? (const struct sy_flag *)v->compiled->obj : NULL;
}

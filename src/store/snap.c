/* snap.c — persistent AVL tree of parameters and the refcounted values it holds. */
#include "store/snap.h"

#include <stdlib.h>
#include <string.h>

static int ref_inc(int *r) { return __atomic_add_fetch(r, 1, __ATOMIC_RELAXED); }
static int ref_dec(int *r) { return __atomic_sub_fetch(r, 1, __ATOMIC_ACQ_REL); }

/* Copies the NUL-terminated s (NULL: "") to *p and moves *p past it; returns the copy. */
static const char *put_str(char **p, const char *s, size_t len) {
  char *at = *p;
  if (len) memcpy(at, s, len);
  at[len] = 0;
  *p += len + 1;
  return at;
}

sy_ver *sy__ver_make_meta(const char *value, size_t value_len, const char *description, const char *pattern,
                          const char *user, const sy_ver_meta *meta) {
  const char *strs[7] = {description,
                         pattern,
                         user,
                         meta ? meta->key_id : NULL,
                         meta ? meta->data_type : NULL,
                         meta ? meta->policies : NULL,
                         meta ? meta->schema : NULL};
  size_t lens[7], total = value_len + 1;
  for (int i = 0; i < 7; i++) total += (lens[i] = strs[i] ? strlen(strs[i]) : 0) + 1;
  sy_ver *v = malloc(sizeof *v + total);
  if (!v) return NULL;
  memset(v, 0, sizeof *v);
  v->refs = 1;
  char *p = (char *)(v + 1);
  v->value = put_str(&p, value, value_len);
  v->value_len = value_len;
  v->description = put_str(&p, strs[0], lens[0]);
  v->allowed_pattern = put_str(&p, strs[1], lens[1]);
  v->modified_user = put_str(&p, strs[2], lens[2]);
  v->key_id = put_str(&p, strs[3], lens[3]);
  v->data_type = put_str(&p, strs[4], lens[4]);
  v->policies = put_str(&p, strs[5], lens[5]);
  v->schema = put_str(&p, strs[6], lens[6]);
  if (lens[5]) v->expires_ms = sy__policies_expiry(v->policies);
  return v;
}

sy_ver *sy__ver_make(const char *value, size_t value_len, const char *description, const char *pattern,
                     const char *user) {
  return sy__ver_make_meta(value, value_len, description, pattern, user, NULL);
}

sy_ver *sy__ver_ref(sy_ver *v) {
  if (v) ref_inc(&v->refs);
  return v;
}

sy_rc sy__ver_compile(sy_ver *v, const char *key, char *msg, size_t msgsz) {
  const sy_kind_def *def = sy__kind_by_id(v->kind);
  if (!def || !def->compile) return SY_OK;
  sy_compiled *c = calloc(1, sizeof *c);
  if (!c) return SY_ENOMEM;
  sy_rc rc = def->compile(key, v->value, v->value_len, v->schema, &c->obj, msg, msgsz);
  if (rc) {
    free(c);
    return rc;
  }
  c->refs = 1;
  c->def = def;
  v->compiled = c;
  return SY_OK;
}

static void compiled_unref(sy_compiled *c) {
  if (!c || ref_dec(&c->refs) > 0) return;
  if (c->def->release) c->def->release(c->obj);
  free(c);
}

void sy__ver_unref(sy_ver *v) {
  if (!v || ref_dec(&v->refs) > 0) return;
  compiled_unref(v->compiled);
  for (int i = 0; i < v->nlabels; i++) free(v->labels[i]);
  free(v->labels);
  free(v);
}

sy_ver *sy__ver_clone(const sy_ver *v) {
  sy_ver_meta m = {v->key_id, v->data_type, v->policies, v->schema};
  sy_ver *c = sy__ver_make_meta(v->value, v->value_len, v->description, v->allowed_pattern, v->modified_user, &m);
  if (c && v->compiled) {
    ref_inc(&v->compiled->refs);
    c->compiled = v->compiled;
  }
  if (!c) return NULL;
  c->version = v->version;
  c->kind = v->kind;
  c->tier = v->tier;
  c->modified_ms = v->modified_ms;
  if (v->nlabels) {
    c->labels = calloc((size_t)v->nlabels, sizeof *c->labels);
    if (c->labels)
      for (int i = 0; i < v->nlabels; i++) {
        c->labels[i] = strdup(v->labels[i]);
        if (c->labels[i]) c->nlabels++;
      }
  }
  if (c->nlabels != v->nlabels) {
    sy__ver_unref(c);
    return NULL;
  }
  return c;
}

int sy__ver_has_label(const sy_ver *v, const char *label) {
  for (int i = 0; i < v->nlabels; i++)
    if (strcmp(v->labels[i], label) == 0) return 1;
  return 0;
}

sy_param *sy__param_new(const char *name, size_t len) {
  sy_param *p = malloc(sizeof *p + len + 1);
  if (!p) return NULL;
  memset(p, 0, sizeof *p);
  p->refs = 1;
  p->name = (char *)(p + 1);
  memcpy(p->name, name, len);
  p->name[len] = 0;
  p->name_len = len;
  return p;
}

sy_param *sy__param_ref(sy_param *p) {
  if (p) ref_inc(&p->refs);
  return p;
}

void sy__param_unref(sy_param *p) {
  if (!p || ref_dec(&p->refs) > 0) return;
  sy__ver_unref(p->latest);
  for (int i = 0; i < p->nlabeled; i++) sy__ver_unref(p->labeled[i]);
  free(p->labeled);
  for (int i = 0; i < p->ntags; i++) {
    free(p->tags[i].key);
    free(p->tags[i].value);
  }
  free(p->tags);
  free(p);
}

sy_param *sy__param_clone(const sy_param *p) {
  sy_param *c = sy__param_new(p->name, p->name_len);
  if (!c) return NULL;
  c->oldest = p->oldest;
  c->latest = sy__ver_ref(p->latest);
  if (p->nlabeled) {
    c->labeled = calloc((size_t)p->nlabeled, sizeof *c->labeled);
    if (!c->labeled) goto fail;
    for (int i = 0; i < p->nlabeled; i++) c->labeled[i] = sy__ver_ref(p->labeled[i]);
    c->nlabeled = p->nlabeled;
  }
  if (p->ntags) {
    c->tags = calloc((size_t)p->ntags, sizeof *c->tags);
    if (!c->tags) goto fail;
    for (int i = 0; i < p->ntags; i++) {
      c->tags[i].key = strdup(p->tags[i].key);
      c->tags[i].value = strdup(p->tags[i].value);
      c->ntags++;
      if (!c->tags[i].key || !c->tags[i].value) goto fail;
    }
  }
  return c;
fail:
  sy__param_unref(c);
  return NULL;
}

const sy_ver *sy__param_find_version(const sy_param *p, int64_t version) {
  if (p->latest && p->latest->version == version) return p->latest;
  for (int i = 0; i < p->nlabeled; i++)
    if (p->labeled[i]->version == version) return p->labeled[i];
  return NULL;
}

const sy_ver *sy__param_find_label(const sy_param *p, const char *label) {
  if (p->latest && sy__ver_has_label(p->latest, label)) return p->latest;
  for (int i = 0; i < p->nlabeled; i++)
    if (sy__ver_has_label(p->labeled[i], label)) return p->labeled[i];
  return NULL;
}

const char *sy__param_tag(const sy_param *p, const char *key) {
  for (int i = 0; i < p->ntags; i++)
    if (strcmp(p->tags[i].key, key) == 0) return p->tags[i].value;
  return NULL;
}

/* ---- tree ---- */

static int keycmp(const char *a, size_t alen, const char *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = memcmp(a, b, n);
  if (c) return c;
  return alen < blen ? -1 : alen > blen;
}

sy_node *sy__node_ref(sy_node *n) {
  if (n) ref_inc(&n->refs);
  return n;
}

void sy__node_unref(sy_node *n) {
  while (n && ref_dec(&n->refs) == 0) {
    sy_node *right = n->right;
    sy__node_unref(n->left);
    sy__param_unref(n->param);
    free(n);
    n = right; /* loop on one side keeps the recursion to the tree's height */
  }
}

static int height(const sy_node *n) { return n ? n->height : 0; }
static size_t size(const sy_node *n) { return n ? n->size : 0; }

/* A new node owning one reference each of left, right and p. */
static sy_node *node_make(sy_node *left, sy_param *p, sy_node *right) {
  sy_node *n = malloc(sizeof *n);
  if (!n) {
    sy__node_unref(left);
    sy__node_unref(right);
    sy__param_unref(p);
    return NULL;
  }
  n->refs = 1;
  n->left = left;
  n->right = right;
  n->param = p;
  int hl = height(left), hr = height(right);
  n->height = (hl > hr ? hl : hr) + 1;
  n->size = size(left) + size(right) + 1;
  return n;
}

/* Balances a node made of owned parts (left, p, right): the AVL rotations, path-copying. */
static sy_node *balance(sy_node *l, sy_param *p, sy_node *r) {
  int hl = height(l), hr = height(r);
  if (hl > hr + 1) {
    /* l is owned by us; take its parts */
    sy_node *ll = sy__node_ref(l->left), *lr = sy__node_ref(l->right);
    sy_param *lp = sy__param_ref(l->param);
    sy__node_unref(l);
    if (height(ll) >= height(lr)) {
      sy_node *nr = node_make(lr, p, r);
      if (!nr) {
        sy__node_unref(ll);
        sy__param_unref(lp);
        return NULL;
      }
      return node_make(ll, lp, nr);
    }
    sy_node *lrl = sy__node_ref(lr->left), *lrr = sy__node_ref(lr->right);
    sy_param *lrp = sy__param_ref(lr->param);
    sy__node_unref(lr);
    sy_node *a = node_make(ll, lp, lrl);
    sy_node *b = node_make(lrr, p, r);
    if (!a || !b) {
      sy__node_unref(a);
      sy__node_unref(b);
      sy__param_unref(lrp);
      return NULL;
    }
    return node_make(a, lrp, b);
  }
  if (hr > hl + 1) {
    sy_node *rl = sy__node_ref(r->left), *rr = sy__node_ref(r->right);
    sy_param *rp = sy__param_ref(r->param);
    sy__node_unref(r);
    if (height(rr) >= height(rl)) {
      sy_node *nl = node_make(l, p, rl);
      if (!nl) {
        sy__node_unref(rr);
        sy__param_unref(rp);
        return NULL;
      }
      return node_make(nl, rp, rr);
    }
    sy_node *rll = sy__node_ref(rl->left), *rlr = sy__node_ref(rl->right);
    sy_param *rlp = sy__param_ref(rl->param);
    sy__node_unref(rl);
    sy_node *a = node_make(l, p, rll);
    sy_node *b = node_make(rlr, rp, rr);
    if (!a || !b) {
      sy__node_unref(a);
      sy__node_unref(b);
      sy__param_unref(rlp);
      return NULL;
    }
    return node_make(a, rlp, b);
  }
  return node_make(l, p, r);
}

const sy_param *sy__tree_get(const sy_node *n, const char *name, size_t len) {
  while (n) {
    int c = keycmp(name, len, n->param->name, n->param->name_len);
    if (c == 0) return n->param;
    n = c < 0 ? n->left : n->right;
  }
  return NULL;
}

const sy_param *sy__tree_find(const sy_node *root, const char *name, size_t len) {
  const sy_param *p = sy__tree_get(root, name, len);
  if (p || !len || len > SY_NAME_MAX || memchr(name + 1, '/', len - 1)) return p;
  char other[SY_NAME_MAX + 2];
  if (name[0] == '/') return len > 1 ? sy__tree_get(root, name + 1, len - 1) : NULL;
  other[0] = '/';
  memcpy(other + 1, name, len);
  return sy__tree_get(root, other, len + 1);
}

const sy_param *sy__tree_seek(const sy_node *n, const char *key, size_t len, int strict) {
  const sy_param *best = NULL;
  while (n) {
    int c = keycmp(key, len, n->param->name, n->param->name_len);
    if (c < 0 || (c == 0 && !strict)) {
      best = n->param;
      if (c == 0) return best;
      n = n->left;
    } else {
      n = n->right;
    }
  }
  return best;
}

size_t sy__tree_rank(const sy_node *n, const char *key, size_t len) {
  size_t below = 0;
  while (n) {
    if (keycmp(key, len, n->param->name, n->param->name_len) <= 0) {
      n = n->left;
    } else {
      below += size(n->left) + 1;
      n = n->right;
    }
  }
  return below;
}

sy_node *sy__tree_put(sy_node *n, sy_param *p, int *grew) {
  if (!n) {
    *grew = 1;
    return node_make(NULL, p, NULL);
  }
  int c = keycmp(p->name, p->name_len, n->param->name, n->param->name_len);
  if (c == 0) return node_make(sy__node_ref(n->left), p, sy__node_ref(n->right));
  if (c < 0) {
    sy_node *l = sy__tree_put(n->left, p, grew);
    if (!l) return NULL;
    return balance(l, sy__param_ref(n->param), sy__node_ref(n->right));
  }
  sy_node *r = sy__tree_put(n->right, p, grew);
  if (!r) return NULL;
  return balance(sy__node_ref(n->left), sy__param_ref(n->param), r);
}

/* Removes the smallest node of n; its param is handed to *min. */
static sy_node *del_min(sy_node *n, sy_param **min, int *err) {
  if (!n->left) {
    *min = sy__param_ref(n->param);
    return sy__node_ref(n->right);
  }
  sy_node *l = del_min(n->left, min, err);
  if (*err) return NULL;
  sy_node *out = balance(l, sy__param_ref(n->param), sy__node_ref(n->right));
  if (!out) *err = 1;
  return out;
}

sy_node *sy__tree_del(sy_node *n, const char *name, size_t len, int *shrank, int *err) {
  if (!n) return NULL;
  int c = keycmp(name, len, n->param->name, n->param->name_len);
  sy_node *out;
  if (c == 0) {
    *shrank = 1;
    if (!n->left) return sy__node_ref(n->right);
    if (!n->right) return sy__node_ref(n->left);
    sy_param *min = NULL;
    sy_node *r = del_min(n->right, &min, err);
    if (*err) {
      sy__param_unref(min);
      return NULL;
    }
    out = balance(sy__node_ref(n->left), min, r);
  } else if (c < 0) {
    sy_node *l = sy__tree_del(n->left, name, len, shrank, err);
    if (*err) return NULL;
    if (!*shrank) {
      sy__node_unref(l);
      return sy__node_ref(n);
    }
    out = balance(l, sy__param_ref(n->param), sy__node_ref(n->right));
  } else {
    sy_node *r = sy__tree_del(n->right, name, len, shrank, err);
    if (*err) return NULL;
    if (!*shrank) {
      sy__node_unref(r);
      return sy__node_ref(n);
    }
    out = balance(sy__node_ref(n->left), sy__param_ref(n->param), r);
  }
  if (!out) *err = 1;
  return out;
}

sy_node *sy__tree_build(sy_param **sorted, size_t n) {
  if (n == 0) return NULL;
  size_t mid = n / 2;
  sy_node *l = sy__tree_build(sorted, mid);
  sy_node *r = sy__tree_build(sorted + mid + 1, n - mid - 1);
  return node_make(l, sorted[mid], r);
}

sy_auth *sy__auth_ref(sy_auth *a) {
  if (a) ref_inc(&a->refs);
  return a;
}

void sy__auth_unref(sy_auth *a) {
  if (!a || ref_dec(&a->refs) > 0) return;
  for (int i = 0; i < a->ntokens; i++) {
    free(a->tokens[i].name);
    free(a->tokens[i].route);
  }
  free(a->tokens);
  for (int i = 0; i < a->nkeys; i++) {
    free(a->keys[i].name);
    free(a->keys[i].sealed);
  }
  free(a->keys);
  free(a);
}

void sy__snap_clear(sy_snap *s) {
  if (!s) return;
  sy__node_unref(s->root);
  sy__auth_unref(s->auth);
  memset(s, 0, sizeof *s);
}

const sy_token *sy__snap_token(const sy_snap *s, const char *hash) {
  const sy_auth *a = s->auth;
  int lo = 0, hi = a ? a->ntokens - 1 : -1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    int c = strcmp(hash, a->tokens[mid].hash);
    if (c == 0) return a->tokens[mid].revoked_ms ? NULL : &a->tokens[mid];
    if (c < 0)
      hi = mid - 1;
    else
      lo = mid + 1;
  }
  return NULL;
}

const sy_akey *sy__snap_akey(const sy_snap *s, const char *id) {
  const sy_auth *a = s->auth;
  int lo = 0, hi = a ? a->nkeys - 1 : -1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    int c = strcmp(id, a->keys[mid].id);
    if (c == 0) return a->keys[mid].revoked_ms ? NULL : &a->keys[mid];
    if (c < 0)
      hi = mid - 1;
    else
      lo = mid + 1;
  }
  return NULL;
}

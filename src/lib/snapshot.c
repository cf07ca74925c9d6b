/* snapshot.c — what a client holds: entries (one version of a parameter, its flag compiled once),
 * the tables of entries by name, immutable snapshots, and the environment's fallback values. */
#include <stdlib.h>
#include <string.h>

#include "core/flag_int.h"
#include "lib/lib_int.h"

extern char **environ;

void *sy__lib_malloc(const lib_alloc *al, size_t n) { return al->a.malloc(al->a.ud, n ? n : 1); }

void sy__lib_free(const lib_alloc *al, void *p) {
  if (p) al->a.free(al->a.ud, p);
}

char *sy__lib_strndup(const lib_alloc *al, const char *s, size_t n) {
  char *p = sy__lib_malloc(al, n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

uint64_t sy__lib_hash(const char *s, size_t n, int slash) {
  uint64_t h = 1469598103934665603ULL;
  if (slash) h = (h ^ (unsigned char)'/') * 1099511628211ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h;
}

/* ---- entries ---- */

/* Compiles a flag's document and serialises its variants' values; on failure the entry stays a
 * plain value (the server has checked it: this happens only with a document from elsewhere). */
static void entry_flag(const lib_alloc *al, lib_entry *e) {
  char msg[256];
  /* a flag's key is its name without the leading '/' (the default salt) */
  const char *key = e->name[0] == '/' ? e->name + 1 : e->name;
  if (sy__flag_compile(key, e->value, e->len, NULL, &e->flag, msg, sizeof msg)) {
    e->flag = NULL;
    return;
  }
  const sy_flag *f = e->flag;
  e->variant_json = sy__lib_malloc(al, (f->nvariants ? f->nvariants : 1) * sizeof *e->variant_json);
  if (!e->variant_json) goto drop;
  e->nvariants = f->nvariants;
  for (size_t i = 0; i < f->nvariants; i++) {
    char *j = json_dumps(f->variants[i].value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    e->variant_json[i] = j ? sy__lib_strndup(al, j, strlen(j)) : NULL;
    free(j);
    if (!e->variant_json[i]) {
      e->nvariants = i;
      goto drop;
    }
  }
  const char *env = sy__flag_env_name(f);
  const char *val = env ? getenv(env) : NULL;
  if (val && !(e->env_value = sy__lib_strndup(al, val, strlen(val)))) goto drop;
  return;
drop: /* out of memory: keep the value, not the flag */
  for (size_t i = 0; e->variant_json && i < e->nvariants; i++) sy__lib_free(al, e->variant_json[i]);
  sy__lib_free(al, e->variant_json);
  e->variant_json = NULL;
  e->nvariants = 0;
  sy__flag_free(e->flag);
  e->flag = NULL;
}

/* A Route's strategy parameter, for the log line that says which provider a strategy names. */
static void entry_route(const lib_alloc *al, lib_entry *e) {
  json_t *doc = json_loadb(e->value, e->len, 0, NULL);
  const char *s = json_string_value(json_object_get(doc, "strategy"));
  if (s) e->strategy = sy__lib_strndup(al, s, strlen(s));
  json_decref(doc);
}

lib_entry *sy__entry_new(const lib_alloc *al, const char *name, size_t name_len, const char *type, const char *value,
                         size_t len, int has_value, int64_t version, sy_source src) {
  size_t tlen = strlen(type), vlen = has_value ? len + 1 : 0;
  lib_entry *e = sy__lib_malloc(al, sizeof *e + name_len + 1 + tlen + 1 + vlen);
  if (!e) return NULL;
  memset(e, 0, sizeof *e);
  char *p = (char *)(e + 1);
  e->refs = 1;
  e->name = p;
  memcpy(p, name, name_len);
  p[name_len] = 0;
  e->name_len = name_len;
  p += name_len + 1;
  e->type = p;
  memcpy(p, type, tlen + 1);
  p += tlen + 1;
  if (has_value) {
    e->value = p;
    memcpy(p, value, len);
    p[len] = 0;
    e->len = len;
  }
  e->hash = sy__lib_hash(name, name_len, 0);
  e->version = version;
  e->source = src;
  if (e->value && strcmp(type, "Flag") == 0) entry_flag(al, e);
  if (e->value && strcmp(type, "Route") == 0) entry_route(al, e);
  return e;
}

lib_entry *sy__entry_resourced(const lib_alloc *al, const lib_entry *e, sy_source src) {
  return sy__entry_new(al, e->name, e->name_len, e->type, e->value, e->len, e->value != NULL, e->version, src);
}

void sy__entry_ref(lib_entry *e) { __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED); }

void sy__entry_unref(const lib_alloc *al, lib_entry *e) {
  if (!e || __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL)) return;
  for (size_t i = 0; i < e->nvariants; i++) sy__lib_free(al, e->variant_json[i]);
  sy__lib_free(al, e->variant_json);
  sy__flag_free(e->flag);
  sy__lib_free(al, e->env_value);
  sy__lib_free(al, e->strategy);
  sy__lib_free(al, e);
}

/* ---- tables ---- */

int sy__ltab_init(const lib_alloc *al, lib_table *t, size_t expected) {
  size_t cap = 16;
  while (cap < expected * 2 + 2) cap *= 2;
  t->slots = sy__lib_malloc(al, cap * sizeof *t->slots);
  if (!t->slots) return -1;
  memset(t->slots, 0, cap * sizeof *t->slots);
  t->cap = cap;
  t->count = 0;
  return 0;
}

void sy__ltab_free(const lib_alloc *al, lib_table *t) {
  for (size_t i = 0; t->slots && i < t->cap; i++) sy__entry_unref(al, t->slots[i]);
  sy__lib_free(al, t->slots);
  memset(t, 0, sizeof *t);
}

static int same_name(const lib_entry *e, const char *name, size_t len, int slash) {
  if (slash) return e->name_len == len + 1 && e->name[0] == '/' && memcmp(e->name + 1, name, len) == 0;
  return e->name_len == len && memcmp(e->name, name, len) == 0;
}

static size_t slot_of(const lib_table *t, uint64_t h, const char *name, size_t len, int slash) {
  size_t i = (size_t)h & (t->cap - 1);
  while (t->slots[i] && !(t->slots[i]->hash == h && same_name(t->slots[i], name, len, slash)))
    i = (i + 1) & (t->cap - 1);
  return i;
}

lib_entry *sy__ltab_get(const lib_table *t, const char *name, size_t len, int slash) {
  if (!t->cap) return NULL;
  return t->slots[slot_of(t, sy__lib_hash(name, len, slash), name, len, slash)];
}

static int table_grow(const lib_alloc *al, lib_table *t) {
  lib_table n;
  if (sy__ltab_init(al, &n, t->cap)) return -1;
  for (size_t i = 0; i < t->cap; i++) {
    lib_entry *e = t->slots[i];
    if (e) n.slots[slot_of(&n, e->hash, e->name, e->name_len, 0)] = e;
  }
  n.count = t->count;
  sy__lib_free(al, t->slots);
  *t = n;
  return 0;
}

int sy__ltab_put(const lib_alloc *al, lib_table *t, lib_entry *e) {
  if ((t->count + 1) * 2 > t->cap && table_grow(al, t)) {
    sy__entry_unref(al, e);
    return -1;
  }
  size_t i = slot_of(t, e->hash, e->name, e->name_len, 0);
  if (t->slots[i])
    sy__entry_unref(al, t->slots[i]);
  else
    t->count++;
  t->slots[i] = e;
  return 0;
}

int sy__ltab_del(const lib_alloc *al, lib_table *t, const char *name, size_t len) {
  if (!t->cap) return 0;
  size_t i = slot_of(t, sy__lib_hash(name, len, 0), name, len, 0);
  if (!t->slots[i]) return 0;
  sy__entry_unref(al, t->slots[i]);
  t->slots[i] = NULL;
  t->count--;
  /* linear probing: put back the entries of the run after the hole */
  for (size_t j = (i + 1) & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1)) {
    lib_entry *e = t->slots[j];
    t->slots[j] = NULL;
    t->slots[slot_of(t, e->hash, e->name, e->name_len, 0)] = e;
  }
  return 1;
}

/* ---- parameters as the server and the cache file write them ---- */

sy_rc sy__params_load(const lib_alloc *al, const json_t *params, sy_source src, int need_value,
                      int (*keep)(const void *ud, const char *name), const void *ud, lib_table *t, size_t *bad) {
  size_t i;
  json_t *p;
  if (sy__ltab_init(al, t, json_array_size(params))) return SY_ENOMEM;
  json_array_foreach(params, i, p) {
    const char *name = json_string_value(json_object_get(p, "name"));
    const char *type = json_string_value(json_object_get(p, "type"));
    json_t *value = json_object_get(p, "value"), *version = json_object_get(p, "version");
    if (!name || !type || !json_is_integer(version) || *name != '/' || (value && !json_is_string(value)) ||
        (need_value && !value)) {
      *bad = i;
      sy__ltab_free(al, t);
      return SY_EINVAL;
    }
    if (keep && !keep(ud, name)) continue;
    /* a SecureString's value is never held: the change stream does not carry it, and the cache
     * file must not */
    int held = value && strcmp(type, "SecureString") != 0;
    lib_entry *e = sy__entry_new(al, name, strlen(name), type, json_string_value(value), json_string_length(value),
                                 held, json_integer_value(version), src);
    if (!e || sy__ltab_put(al, t, e)) {
      sy__ltab_free(al, t);
      return SY_ENOMEM;
    }
  }
  return SY_OK;
}

/* ---- snapshots ---- */

static int by_name(const void *a, const void *b) {
  const lib_entry *x = *(lib_entry *const *)a, *y = *(lib_entry *const *)b;
  size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
  int c = memcmp(x->name, y->name, n);
  return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

struct sy_snapshot *sy__snap_new(struct sy_client *c, const lib_alloc *al, lib_table *t, int64_t seq, sy_source src,
                                 const char *store) {
  struct sy_snapshot *s = sy__lib_malloc(al, sizeof *s);
  lib_entry **sorted = sy__lib_malloc(al, (t->count ? t->count : 1) * sizeof *sorted);
  if (!s || !sorted) {
    sy__lib_free(al, s);
    sy__lib_free(al, sorted);
    sy__ltab_free(al, t);
    return NULL;
  }
  memset(s, 0, sizeof *s);
  s->refs = 1;
  s->client = c;
  s->tab = *t;
  memset(t, 0, sizeof *t);
  size_t n = 0;
  for (size_t i = 0; i < s->tab.cap; i++)
    if (s->tab.slots[i]) {
      sorted[n++] = s->tab.slots[i];
      s->held += s->tab.slots[i]->value != NULL;
    }
  qsort(sorted, n, sizeof *sorted, by_name);
  s->sorted = sorted;
  s->seq = seq;
  s->source = src;
  if (store) {
    size_t k = strlen(store);
    if (k >= sizeof s->store) k = sizeof s->store - 1;
    memcpy(s->store, store, k);
    s->store[k] = 0;
  }
  return s;
}

/* ---- the environment ---- */

#define ENV_PARAM "SWITCHYARD_PARAM_"
#define ENV_FLAG "SWITCHYARD_FLAG_"

int sy__env_load(const lib_alloc *al, lib_env *env) {
  size_t n = 0;
  memset(env, 0, sizeof *env);
  for (char **e = environ; e && *e; e++)
    if (!strncmp(*e, ENV_PARAM, sizeof ENV_PARAM - 1) || !strncmp(*e, ENV_FLAG, sizeof ENV_FLAG - 1)) n++;
  if (!n) return 0;
  env->vars = sy__lib_malloc(al, n * sizeof *env->vars);
  if (!env->vars) return -1;
  for (char **e = environ; e && *e && env->n < n; e++) {
    int flag = !strncmp(*e, ENV_FLAG, sizeof ENV_FLAG - 1);
    if (!flag && strncmp(*e, ENV_PARAM, sizeof ENV_PARAM - 1)) continue;
    const char *k = *e + (flag ? sizeof ENV_FLAG - 1 : sizeof ENV_PARAM - 1), *eq = strchr(k, '=');
    if (!eq || eq == k) continue;
    lib_env_var *v = &env->vars[env->n];
    v->flag = flag;
    v->len = strlen(eq + 1);
    v->key = sy__lib_strndup(al, k, (size_t)(eq - k));
    v->value = sy__lib_strndup(al, eq + 1, v->len);
    env->n++;
    if (!v->key || !v->value) return -1;
  }
  return 0;
}

void sy__env_free(const lib_alloc *al, lib_env *env) {
  for (size_t i = 0; i < env->n; i++) {
    sy__lib_free(al, env->vars[i].key);
    sy__lib_free(al, env->vars[i].value);
  }
  sy__lib_free(al, env->vars);
  memset(env, 0, sizeof *env);
}

const lib_env_var *sy__env_get(const lib_env *env, const char *name, size_t len, int flag) {
  if (!env->n) return NULL;
  while (len && *name == '/') name++, len--;
  for (size_t i = 0; i < env->n; i++) {
    const lib_env_var *v = &env->vars[i];
    if (v->flag != flag || strlen(v->key) != len) continue;
    size_t j = 0;
    for (; j < len; j++) {
      unsigned char c = (unsigned char)name[j];
      char want = c >= 'a' && c <= 'z'                               ? (char)(c - 32)
                  : (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? (char)c
                                                                     : '_';
      if (v->key[j] != want) break;
    }
    if (j == len) return v;
  }
  return NULL;
}

/* snap.h — the immutable in-memory snapshot that every read is served from.
 *
 * A snapshot is a persistent (path-copying) AVL tree of parameters keyed by
 * name, plus the token table. Writers build a new snapshot that shares all
 * untouched nodes with the old one and publish it with one pointer swap;
 * readers hold an RCU read lock while they look, so they never wait and never
 * see a half-applied change. Nodes, parameters and versions are refcounted;
 * the last snapshot to let go of one frees it. */
#ifndef SY_STORE_SNAP_H
#define SY_STORE_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/param.h"

/* One version of a parameter, immutable once published. */
typedef struct sy_ver {
  int refs;
  int64_t version;
  sy_kind kind;
  sy_tier tier;
  const char *value; /* NUL-terminated; these four strings live in the same allocation as the struct */
  size_t value_len;
  const char *description;
  const char *allowed_pattern;
  int64_t modified_ms;
  const char *modified_user;
  /* what SSM keeps with a version (never NULL; "" when not given): the KMS key id or alias a
   * SecureString is sealed under ("" is alias/aws/ssm), the data type ("" is text), and the
   * parameter policies as the JSON text the client sent */
  const char *key_id;
  const char *data_type;
  const char *policies;
  const char *schema;           /* a flag's schema (core/flag.h), "" when none */
  int64_t expires_ms;           /* the earliest Expiration of its policies (ms since 1970), or 0 */
  struct sy_compiled *compiled; /* the value compiled by its kind (a flag), or NULL */
  int nlabels;
  char **labels; /* labels on this version */
} sy_ver;

/* A parameter: its latest version, the older versions that carry labels, its tags. */
typedef struct sy_param {
  int refs;
  char *name; /* in the same allocation as the struct */
  size_t name_len;
  int64_t oldest; /* oldest version still kept */
  sy_ver *latest;
  int nlabeled;
  sy_ver **labeled; /* older versions with labels, by version */
  int ntags;
  sy_tag *tags; /* sorted by key */
} sy_param;

typedef struct sy_node {
  int refs;
  int height;
  size_t size; /* parameters in this subtree: a range's count in O(log n) (sy__tree_rank) */
  struct sy_node *left, *right;
  sy_param *param;
} sy_node;

/* A bearer token as the server knows it: only the hash of its secret. */
typedef struct sy_token {
  char *name;
  char hash[65];
  char *route;     /* the gateway route its requests take without X-Switchyard-Route; "" when none */
  unsigned scopes; /* SY_SCOPE_* bits */
  int64_t created_ms;
  int64_t revoked_ms; /* 0 while valid */
} sy_token;

/* EVALUATE: evaluate flags (OFREP, /api/v1/flags/{key}/evaluate) and nothing else, for
 * tokens that ship inside applications. */
enum { SY_SCOPE_READ = 1, SY_SCOPE_WRITE = 2, SY_SCOPE_ADMIN = 4, SY_SCOPE_DECRYPT = 8, SY_SCOPE_EVALUATE = 16 };

/* An access key for the SSM API (SigV4). Its secret is needed to check
 * signatures, so it cannot be a hash: it is kept sealed under the master key. */
typedef struct sy_akey {
  char id[32];
  char *name;
  unsigned char *sealed; /* the sealed secret */
  size_t sealed_len;
  unsigned scopes;
  int64_t created_ms;
  int64_t revoked_ms;
} sy_akey;

/* Every credential the server knows, shared by snapshots until one changes. */
typedef struct sy_auth {
  int refs;
  uint64_t gen; /* grows with every change of any credential: caches keyed on it stay right */
  int ntokens;
  sy_token *tokens; /* sorted by hash */
  int nkeys;
  sy_akey *keys; /* sorted by id */
} sy_auth;

typedef struct sy_snap {
  sy_node *root;
  size_t count;
  int64_t seq;   /* the last committed sequence number this snapshot reflects */
  sy_auth *auth; /* never NULL once published */
} sy_snap;

/* A version holding copies of its strings (NULL reads as ""), in one allocation.
 * The caller fills version, kind, tier, modified_ms. NULL on ENOMEM. */
/* The SSM attributes of a version, for sy__ver_make_meta (NULL members read as ""). */
typedef struct sy_ver_meta {
  const char *key_id, *data_type, *policies, *schema;
} sy_ver_meta;

/* A version's value as its kind compiled it (sy_kind_def.compile), shared by the copies of
 * the version (a label change copies it) and released with the last. */
typedef struct sy_compiled {
  int refs;
  const sy_kind_def *def;
  void *obj;
} sy_compiled;

/* Compiles v's value with its kind's compile hook, if the kind has one; key is the
 * document's key (its name without the leading '/'). SY_OK and nothing done for a kind
 * without one; otherwise the kind's refusal, with msg. */
sy_rc sy__ver_compile(sy_ver *v, const char *key, char *msg, size_t msgsz);

sy_ver *sy__ver_make(const char *value, size_t value_len, const char *description, const char *pattern,
                     const char *user);
/* sy__ver_make with the SSM attributes (meta may be NULL). */
sy_ver *sy__ver_make_meta(const char *value, size_t value_len, const char *description, const char *pattern,
                          const char *user, const sy_ver_meta *meta);
sy_ver *sy__ver_ref(sy_ver *v);
void sy__ver_unref(sy_ver *v);
/* A copy of v with its own label array (strings deep-copied). NULL on ENOMEM. */
sy_ver *sy__ver_clone(const sy_ver *v);
int sy__ver_has_label(const sy_ver *v, const char *label);

sy_param *sy__param_new(const char *name, size_t len);
sy_param *sy__param_ref(sy_param *p);
void sy__param_unref(sy_param *p);
/* A shallow copy: versions shared (ref'd), labeled array and tags copied. */
sy_param *sy__param_clone(const sy_param *p);
/* The version of p with that number if it is in memory (latest or labeled), else NULL. */
const sy_ver *sy__param_find_version(const sy_param *p, int64_t version);
/* The version carrying label, or NULL. */
const sy_ver *sy__param_find_label(const sy_param *p, const char *label);
const char *sy__param_tag(const sy_param *p, const char *key);

/* Tree. Lookups borrow; put/del return a new root (old root untouched, still owned by caller). */
const sy_param *sy__tree_get(const sy_node *root, const char *name, size_t len);
/* The parameter a name means: as sy__tree_get, but a single-level name finds its parameter
 * with or without the leading slash ("foo" and "/foo" are one parameter, as in SSM). The
 * parameter's own name is how it was created. */
const sy_param *sy__tree_find(const sy_node *root, const char *name, size_t len);
/* The first parameter whose name is >= key (or > key when strict), or NULL. */
const sy_param *sy__tree_seek(const sy_node *root, const char *key, size_t len, int strict);
/* How many parameters have a name < key (bytes compared unsigned, a proper prefix first): the
 * count of a range [a, b) is rank(b) - rank(a). O(log n). */
size_t sy__tree_rank(const sy_node *root, const char *key, size_t len);
/* Inserts or replaces (takes one reference of p). *grew is set to 1 if the count grew. NULL on ENOMEM. */
sy_node *sy__tree_put(sy_node *root, sy_param *p, int *grew);
/* Removes name if present. *shrank set to 1 if removed. *err set on ENOMEM. */
sy_node *sy__tree_del(sy_node *root, const char *name, size_t len, int *shrank, int *err);
/* Builds a balanced tree from n parameters sorted by name (takes their references). */
sy_node *sy__tree_build(sy_param **sorted, size_t n);
sy_node *sy__node_ref(sy_node *n);
void sy__node_unref(sy_node *n);

/* Releases what s holds (not s itself). */
void sy__snap_clear(sy_snap *s);
/* The token whose secret hashes to hash, if not revoked; NULL otherwise. */
const sy_token *sy__snap_token(const sy_snap *s, const char *hash);
/* The access key with that id, if not revoked; NULL otherwise. */
const sy_akey *sy__snap_akey(const sy_snap *s, const char *id);

sy_auth *sy__auth_ref(sy_auth *a);
void sy__auth_unref(sy_auth *a);

#endif

/* lib_int.h — the library's insides shared by its files: entries, immutable snapshots and the
 * tables they are made of, the environment's values, the cache file. Nothing here is public. */
#ifndef SY_LIB_INT_H
#define SY_LIB_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/flag.h"
#include "core/rc.h"

/* The client's allocator, never NULL members. */
typedef struct lib_alloc {
  sy_allocator a;
} lib_alloc;

void *sy__lib_malloc(const lib_alloc *al, size_t n);
void sy__lib_free(const lib_alloc *al, void *p);
char *sy__lib_strndup(const lib_alloc *al, const char *s, size_t n);

/* One version of one parameter as the client holds it: immutable once made, shared by every
 * snapshot that holds it (refs), freed by the last. */
typedef struct lib_entry {
  int refs; /* atomic */
  uint64_t hash;
  char *name; /* these strings live in the entry's allocation */
  size_t name_len;
  char *value; /* NULL: not held (a SecureString the server did not send) */
  size_t len;
  char *type;
  int64_t version;
  sy_source source;
  sy_flag *flag;       /* a Flag's compiled document, or NULL (another kind, or it does not compile) */
  char **variant_json; /* a flag's variants' values as JSON text, in the flag's order */
  size_t nvariants;
  char *env_value; /* a flag's env_override variable's value when the flag was loaded, or NULL */
  char *strategy;  /* a Route's "strategy" parameter, or NULL */
} lib_entry;

/* FNV-1a over the name, with an optional '/' before it (a flag's key is its name without it). */
uint64_t sy__lib_hash(const char *s, size_t n, int slash);

/* A new entry (refs 1) for a parameter, sourced from src; a Flag is compiled here (a flag that
 * does not compile is kept as a value, without flag). NULL on ENOMEM. */
lib_entry *sy__entry_new(const lib_alloc *al, const char *name, size_t name_len, const char *type, const char *value,
                         size_t len, int has_value, int64_t version, sy_source src);
/* The same parameter with another source (refs 1). NULL on ENOMEM. */
lib_entry *sy__entry_resourced(const lib_alloc *al, const lib_entry *e, sy_source src);
void sy__entry_ref(lib_entry *e);
void sy__entry_unref(const lib_alloc *al, lib_entry *e);

/* An open-addressing table of entries by name; entries are referenced, not copied. */
typedef struct lib_table {
  lib_entry **slots; /* cap slots, NULL when empty */
  size_t cap, count; /* cap a power of two, count <= cap / 2 */
} lib_table;

int sy__ltab_init(const lib_alloc *al, lib_table *t, size_t expected);
void sy__ltab_free(const lib_alloc *al, lib_table *t); /* drops the table's references */
/* Puts e (the table takes the caller's reference), replacing (and unreferencing) an entry of
 * the same name. 0, or -1 on ENOMEM (e is then unreferenced). */
int sy__ltab_put(const lib_alloc *al, lib_table *t, lib_entry *e);
/* Removes the entry named name; 1 if there was one. */
int sy__ltab_del(const lib_alloc *al, lib_table *t, const char *name, size_t len);
/* The entry named name (or, with slash, "/" + name), or NULL. */
lib_entry *sy__ltab_get(const lib_table *t, const char *name, size_t len, int slash);

/* Loads params, a JSON array of {"name","type","version","value"} (the server's snapshot, the
 * cache file), into *t (initialised here), entries sourced src, those for which keep (NULL: all)
 * says 1. value may be absent (a SecureString's) unless need_value. SY_EINVAL with *bad the index
 * of the first malformed item, or SY_ENOMEM; *t is then empty. */
sy_rc sy__params_load(const lib_alloc *al, const json_t *params, sy_source src, int need_value,
                      int (*keep)(const void *ud, const char *name), const void *ud, lib_table *t, size_t *bad);

/* The environment's SWITCHYARD_PARAM_* and SWITCHYARD_FLAG_* values, read once. */
typedef struct lib_env_var {
  char *key; /* after the prefix: "PHOTOEDITOR_STAGING_PROVIDER_STRATEGY" */
  char *value;
  size_t len;
  int flag; /* SWITCHYARD_FLAG_ */
} lib_env_var;

typedef struct lib_env {
  lib_env_var *vars;
  size_t n;
} lib_env;

int sy__env_load(const lib_alloc *al, lib_env *env);
void sy__env_free(const lib_alloc *al, lib_env *env);
/* The value the environment gives a parameter name (flag 0) or a flag key (flag 1), or NULL. */
const lib_env_var *sy__env_get(const lib_env *env, const char *name, size_t len, int flag);

/* An immutable snapshot: a table, the names in order, and where it came from. */
struct sy_snapshot {
  int refs; /* atomic: "current" holds one, each sy_snapshot_acquire one */
  struct sy_client *client;
  lib_table tab;
  lib_entry **sorted; /* tab's entries by name */
  size_t held;        /* entries that hold a value (a SecureString's is never held) */
  int64_t seq;
  sy_source source;
  char store[40];
};

/* A new snapshot of t (taken over: *t is emptied), refs 1. NULL on ENOMEM (t is then freed). */
struct sy_snapshot *sy__snap_new(struct sy_client *c, const lib_alloc *al, lib_table *t, int64_t seq, sy_source src,
                                 const char *store);
void sy__snap_unref(struct sy_snapshot *s);

/* ---- the cache file ---- */

/* What a cache file holds besides its parameters. */
typedef struct lib_cache_meta {
  const char *server;
  const char *const *prefixes;
  int nprefixes;
  const char *store;
  int64_t seq;
} lib_cache_meta;

/* Writes s to path atomically (a temporary file beside it, fsync, rename, fsync of the
 * directory), mode 0600, without SecureString values. SY_EIO with msg. */
sy_rc sy__cache_write(const char *path, const lib_cache_meta *m, const struct sy_snapshot *s, char *msg, size_t msgsz);
/* Reads path into *t (entries sourced SY_SOURCE_CACHE) when it is a cache file of this format,
 * for the same server and prefixes, and intact (its checksum). SY_ENOTFOUND when there is no
 * file; any other failure names what is wrong in msg, and the file is to be ignored. store (40
 * bytes) and *seq receive what the file says. */
sy_rc sy__cache_read(const lib_alloc *al, const char *path, const lib_cache_meta *m, lib_table *t, char *store,
                     int64_t *seq, char *msg, size_t msgsz);
/* sy__cache_read of a file's len bytes already in buf (path only names it in messages). */
sy_rc sy__cache_parse(const lib_alloc *al, const char *path, const char *buf, size_t len, const lib_cache_meta *m,
                      lib_table *t, char *store, int64_t *seq, char *msg, size_t msgsz);

#endif

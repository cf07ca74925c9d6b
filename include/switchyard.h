/* switchyard.h — libswitchyard, the client library of Switchyard: the whole public contract.
 *
 * A program links libswitchyard to read its configuration and evaluate its feature flags
 * locally, without a network round trip per read, and to learn about a change within a
 * fraction of a second. The library keeps a copy of every parameter below the prefixes it
 * follows, in an immutable in-memory snapshot:
 *
 *   1. At start it reads the server's snapshot (GET /api/v1/snapshot), then follows the change
 *      stream (GET /api/v1/watch) from the snapshot's sequence number. When the stream breaks
 *      it reconnects with exponential backoff and jitter and resumes with Last-Event-ID, so no
 *      change is lost or applied twice.
 *   2. Every batch of changes builds a new snapshot, which replaces the old one with one atomic
 *      pointer swap. Readers take no lock and never wait on the network: a read or a flag
 *      evaluation costs a hash lookup (and, for a percentage flag, one SHA-256).
 *   3. After each update the snapshot is written to the cache file (if one is set) atomically:
 *      write, fsync, rename. When the server cannot be reached at start, the client starts
 *      from that file; without a usable file, from environment overrides and the defaults the
 *      program passes. Every value says where it came from (sy_source).
 *
 * Flags are evaluated by the same code as the server's (OFREP, /api/v1/flags/{key}/evaluate),
 * so a subject gets the same variant from both.
 *
 * Threads. A client may be used from any number of threads at once. By default it runs one
 * thread of its own for the network. A program with its own event loop can ask for none
 * (sy_options_set_threaded(o, 0)) and drive the client with sy_client_fd and sy_client_step.
 *
 * Errors. Every fallible call returns a sy_rc: SY_OK (0) or a failure that sy_strerror()
 * puts into words. Nothing aborts the program: out of memory is SY_ENOMEM.
 *
 * Memory. What the library hands over (sy_param_get's copy, sy_eval's strings) is allocated
 * with the client's allocator (sy_options_set_allocator; the C library's by default) and is
 * freed with sy_free() or sy_eval_clear(). What the library lends (a sy_value from a
 * snapshot) stays valid until that snapshot is released. libcurl, jansson and OpenSSL, which
 * the library uses, keep their own allocators.
 *
 * Names. A parameter's name is its path ("/photoeditor/staging/provider/strategy"). A flag's
 * key is its path without the leading '/' ("audio-transcription/partial-results/config");
 * a key given with the '/' is accepted too.
 *
 * Build: cc prog.c $(pkg-config --cflags --libs switchyard). The header is C11 and C++17. */
#ifndef SWITCHYARD_H
#define SWITCHYARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the library exports; everything else in it is hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define SY_API __attribute__((visibility("default")))
#else
#define SY_API
#endif

/* ---- version --------------------------------------------------------------------------- */

/* The version of this header. sy_version() is the version of the library that is linked;
 * the library's soname changes with its major version, which changes only when the ABI breaks. */
#define SWITCHYARD_VERSION "0.1.0"
#define SWITCHYARD_VERSION_NUMBER 1000 /* major * 1000000 + minor * 1000 + patch */

SY_API const char *sy_version(void); /* "0.1.0" */
SY_API int sy_version_number(void);  /* 1000 */

/* ---- status ---------------------------------------------------------------------------- */

/* The one status type. The values are stable; new ones are added before SY_RC_MAX. Many name
 * the server's refusals (its API error codes are in parentheses), which the CLI reports too. */
typedef enum sy_rc {
  SY_OK = 0,
  SY_ENOMEM,            /* allocation failed */
  SY_EINVAL,            /* an argument or an input failed validation (ValidationException) */
  SY_ENOTFOUND,         /* no such parameter or flag (ParameterNotFound) */
  SY_EVERSION_NOTFOUND, /* ParameterVersionNotFound */
  SY_EEXISTS,           /* ParameterAlreadyExists */
  SY_ECONFLICT,         /* VersionConflict: a conditional write lost */
  SY_EPATTERN,          /* ParameterPatternMismatchException */
  SY_EHIERARCHY,        /* HierarchyLevelLimitExceededException */
  SY_EMAXVERSIONS,      /* ParameterMaxVersionLimitExceeded */
  SY_ETOOLARGE,         /* a body, a value or an event over its limit */
  SY_EUNAUTH,           /* no token, or one the server does not know (401) */
  SY_EFORBIDDEN,        /* the token lacks the scope (403) */
  SY_EIO,               /* a file or storage failure */
  SY_EUNAVAILABLE,      /* the server cannot be reached, or is shutting down (503) */
  SY_ETOKEN_EXISTS,     /* TokenAlreadyExists */
  SY_ETOKEN_NOTFOUND,   /* TokenNotFound */
  SY_ELABEL_LIMIT,      /* ParameterVersionLabelLimitExceeded */
  SY_ETAG_LIMIT,        /* TooManyTagsError */
  SY_ETIER,             /* a value too large for the Standard tier */
  SY_EINTERNAL,         /* a bug, or the server's 500 */
  SY_EBADPATTERN,       /* InvalidAllowedPatternException */
  SY_EPOLICY_TYPE,      /* InvalidPolicyTypeException */
  SY_EPOLICY_ATTR,      /* InvalidPolicyAttributeException */
  SY_EKEYID,            /* InvalidKeyId */
  SY_EKIND,             /* the parameter is not of the kind the call needs (a flag, for an evaluation) */
  SY_EPROTOCOL,         /* the server's answer is not what the protocol says (not JSON, a bad event) */
  SY_RC_MAX             /* not a status */
} sy_rc;

/* Words for a status ("parameter not found"). Never NULL; static storage. */
SY_API const char *sy_strerror(sy_rc rc);

/* ---- where a value came from ----------------------------------------------------------- */

typedef enum sy_source {
  SY_SOURCE_NONE = 0, /* nothing: the caller's default was not even given */
  SY_SOURCE_STREAM,   /* the server: its snapshot and change stream */
  SY_SOURCE_CACHE,    /* the cache file, written after an earlier update */
  SY_SOURCE_ENV,      /* an environment variable (see sy_param_get, sy_flag_evaluate) */
  SY_SOURCE_DEFAULT,  /* the default the program passed */
} sy_source;

/* "none", "stream", "cache", "env", "default". Never NULL. */
SY_API const char *sy_source_name(sy_source s);

/* ---- options --------------------------------------------------------------------------- */

typedef struct sy_options sy_options;

/* A replacement allocator: three functions and their context. realloc(NULL, n) allocates;
 * free(NULL) does nothing. They may be called from any of the client's threads at once. */
typedef struct sy_allocator {
  void *(*malloc)(void *ud, size_t size);
  void *(*realloc)(void *ud, void *ptr, size_t size);
  void (*free)(void *ud, void *ptr);
  void *ud;
} sy_allocator;

/* Log levels of the log callback. */
typedef enum sy_log_level { SY_LOG_DEBUG = 0, SY_LOG_INFO, SY_LOG_WARN, SY_LOG_ERROR } sy_log_level;

/* The log callback: line is one JSON object, NUL-terminated, borrowed for the call, e.g.
 *   {"level":"info","msg":"Provider strategy loaded","provider":"stub","source":"stream",
 *    "parameter":"/photoeditor/staging/provider/strategy"}
 * A line never holds a token or a SecureString's value. It is called on the client's network
 * thread (or inside sy_client_step), never while a lock of the client is held; it must not
 * free the client. Without a callback the library is silent. */
typedef void (*sy_log_fn)(void *ud, sy_log_level level, const char *line);

/* One change that a new snapshot brought, for the change callback. Strings are borrowed for
 * the duration of the call. */
typedef struct sy_change {
  const char *name;   /* the parameter's name */
  const char *action; /* "put" (created or changed), "delete", or "source" (same version, new source) */
  const char *type;   /* its kind: "String", "StringList", "SecureString", "Flag", "Provider", "Route",
                         "Limit", ...; "" for a delete */
  int64_t version;    /* the version now held; 0 for a delete */
  sy_source source;   /* where the new snapshot came from */
  int64_t seq;        /* the server's sequence number of the snapshot (0 when not from the server) */
} sy_change;

/* The change callback: called once per changed parameter, after the snapshot that holds the
 * change is in place (a read from inside the callback sees it), on the client's network thread
 * or inside sy_client_step. The first snapshot (from the server, the cache file or nothing)
 * calls it for every parameter it holds. It must not free the client. */
typedef void (*sy_change_fn)(void *ud, const sy_change *change);

/* New options with the defaults below; *out is freed with sy_options_free. The options are
 * copied by sy_client_new, so they may be freed (or reused) as soon as it returns. */
SY_API sy_rc sy_options_new(sy_options **out);
SY_API void sy_options_free(sy_options *o);

/* The server's base URL, "http://host:port" (https too). Default: the environment variable
 * SWITCHYARD_URL, else http://127.0.0.1:8000. SY_EINVAL for anything but http(s)://. */
SY_API sy_rc sy_options_set_server(sy_options *o, const char *url);
/* The bearer token (it needs the read scope). Default: SWITCHYARD_TOKEN. Kept in memory only:
 * it is never logged nor written to the cache file. SY_EINVAL for a token with control characters. */
SY_API sy_rc sy_options_set_token(sy_options *o, const char *token);
/* Follows the parameters whose names start with prefix ("/photoeditor/staging/", or a whole
 * name). Call it up to 16 times; with none, the client follows everything the token may read. */
SY_API sy_rc sy_options_add_prefix(sy_options *o, const char *prefix);
/* The cache file (NULL: none, the default). Its directory must exist; the file is replaced
 * atomically after each update, with mode 0600. SecureString values are never written to it.
 * A file is used at start only if it was written by this library's format version for the same
 * server URL (as given, e.g. http://127.0.0.1:8000 is not http://localhost:8000) and the same
 * prefixes in the same order, and is intact (its length and SHA-256); any other file is ignored
 * with a warning through the log callback ("cache file ignored", and why). */
SY_API sy_rc sy_options_set_cache_file(sy_options *o, const char *path);
/* Timeouts in milliseconds (0 keeps a default): connect (default 2000), a snapshot request
 * (default 10000), a stream silent for stall_ms is treated as broken and reconnected (default
 * 45000: the server sends a heartbeat every 15 s). */
SY_API sy_rc sy_options_set_timeouts(sy_options *o, int connect_ms, int request_ms, int stall_ms);
/* Reconnection backoff: the first wait after a failure and the most it grows to, doubling
 * each time, each wait a random fraction ("full jitter") of it. Defaults 100 and 30000 ms. */
SY_API sy_rc sy_options_set_backoff(sy_options *o, int initial_ms, int max_ms);
/* How long sy_client_new waits for the server's first snapshot before it returns with what the
 * cache file or the defaults give (0: it does not wait). It returns sooner when the first attempt
 * fails (the server refuses the connection or the request). Default 2000 ms. Threaded clients only. */
SY_API sy_rc sy_options_set_start_timeout(sy_options *o, int ms);
/* 1 (the default): the client runs its own network thread. 0: it runs none; the program
 * calls sy_client_step when sy_client_fd is readable or its timeout passes. */
SY_API sy_rc sy_options_set_threaded(sy_options *o, int threaded);
SY_API sy_rc sy_options_set_log(sy_options *o, sy_log_fn fn, void *ud);
SY_API sy_rc sy_options_set_on_change(sy_options *o, sy_change_fn fn, void *ud);
/* The allocator of everything the client allocates itself (NULL: the C library's). */
SY_API sy_rc sy_options_set_allocator(sy_options *o, const sy_allocator *a);

/* ---- the client ------------------------------------------------------------------------ */

typedef struct sy_client sy_client;

/* A new client, *out, with the options o (copied; NULL: all defaults). It loads the cache file
 * and the environment, and starts following the server; a threaded client then waits up to the
 * start timeout for the server's snapshot. A server that cannot be reached is not an error:
 * the client serves the cache file's values or the defaults, and keeps trying in the
 * background (sy_client_state says how it stands). Fails only for invalid options
 * (SY_EINVAL), SY_ENOMEM, or when the thread or its descriptors cannot be made (SY_EIO). */
SY_API sy_rc sy_client_new(const sy_options *o, sy_client **out);
/* Stops the network thread, closes the connections and frees the client. No callback runs
 * after it returns. Every snapshot acquired from it must have been released. NULL: nothing. */
SY_API void sy_client_free(sy_client *c);

/* Frees memory the client handed over (sy_param_get's copy). NULL: nothing. */
SY_API void sy_free(sy_client *c, void *p);

/* ---- reading parameters ---------------------------------------------------------------- */

/* A parameter as the client holds it: borrowed from a snapshot, valid until sy_snapshot_release. */
typedef struct sy_value {
  const char *name;  /* the parameter's name ("" for an environment value) */
  const char *value; /* its value, NUL-terminated (len excludes the NUL; a value holds no NUL) */
  size_t len;
  const char *type; /* "String", "Flag", ... ("String" for an environment value) */
  int64_t version;  /* 0 for an environment value */
  sy_source source; /* SY_SOURCE_STREAM, SY_SOURCE_CACHE or SY_SOURCE_ENV */
} sy_value;

/* Copies the value of parameter name into *value (NUL-terminated, *len bytes without the NUL,
 * allocated with the client's allocator: free it with sy_free). version and source may be
 * NULL. Where the value comes from, in order: the server (or the cache file it wrote), then the
 * environment variable SWITCHYARD_PARAM_<NAME>, where <NAME> is the name without its leading
 * '/', in upper case, every character but A-Z and 0-9 turned into '_'
 * (/photoeditor/staging/provider/strategy: SWITCHYARD_PARAM_PHOTOEDITOR_STAGING_PROVIDER_STRATEGY),
 * read once when the client was made. SY_ENOTFOUND when none has it: the caller uses its own
 * default. A SecureString's value is never held (the change stream does not carry secrets, and
 * the cache file must not): it is SY_ENOTFOUND; read it with the HTTP API. Never blocks on the network. */
SY_API sy_rc sy_param_get(sy_client *c, const char *name, char **value, size_t *len, int64_t *version,
                          sy_source *source);

/* ---- snapshots: borrowed, consistent views --------------------------------------------- */

typedef struct sy_snapshot sy_snapshot;

/* The client's current snapshot, pinned: it does not change and is not freed until
 * sy_snapshot_release, however many updates arrive meanwhile (they make new snapshots). Reads
 * from one snapshot are consistent with each other. Never fails, never blocks. */
SY_API sy_snapshot *sy_snapshot_acquire(sy_client *c);
SY_API void sy_snapshot_release(sy_snapshot *s);
/* The parameter name in s (then the environment, as sy_param_get), lent until s is released.
 * SY_ENOTFOUND when neither has it. */
SY_API sy_rc sy_snapshot_get(const sy_snapshot *s, const char *name, sy_value *out);
/* The server sequence number s reflects (0 when it is not from the server), where it came
 * from, and how many parameters it holds. */
SY_API int64_t sy_snapshot_seq(const sy_snapshot *s);
SY_API sy_source sy_snapshot_source(const sy_snapshot *s);
SY_API size_t sy_snapshot_count(const sy_snapshot *s);
/* Calls fn for each parameter of s whose name starts with prefix (NULL or "": all), by name,
 * until fn returns nonzero. The values are lent until s is released. */
SY_API void sy_snapshot_each(const sy_snapshot *s, const char *prefix, int (*fn)(void *ud, const sy_value *v),
                             void *ud);

/* ---- flags ----------------------------------------------------------------------------- */

/* Whether the flag key is on for subject (the targetingKey; NULL for none): its evaluated value
 * is JSON true, or, for a flag whose values are not booleans, the variant served is not its
 * default variant. default_value when the client has no such flag, the parameter is not a flag,
 * or the evaluation fails (a rollout with no subject). When the client holds no flag of that key
 * (no server, no cache), the environment variable SWITCHYARD_FLAG_<KEY> ("true" or "false"; KEY
 * written as for SWITCHYARD_PARAM_) decides before default_value. Lock-free; allocates nothing. */
SY_API int sy_flag_enabled(sy_client *c, const char *key, const char *subject, int default_value);

/* A full evaluation. Its strings are allocated with the client's allocator (sy_flag_evaluate) and
 * freed by sy_eval_clear, or lent by the snapshot (sy_snapshot_evaluate) until it is released. */
typedef struct sy_eval {
  char *variant;          /* the variant's name; NULL on error */
  char *value;            /* the variant's value as JSON text ("true", "\"blue\"", "{...}") */
  const char *reason;     /* OpenFeature's: "STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "DEFAULT",
                             "ERROR" (static storage) */
  const char *error_code; /* on ERROR: "FLAG_NOT_FOUND", "TYPE_MISMATCH", "TARGETING_KEY_MISSING",
                             "INVALID_CONTEXT", "PARSE_ERROR", "GENERAL"; else NULL (static storage) */
  char error_message[192];
  int64_t version;  /* the flag's version; 0 when not found */
  sy_source source; /* stream, cache, env (an override decided), default (not found) */
  uint32_t bucket;  /* the subject's rollout bucket 0..9999, or UINT32_MAX when none was needed */
  int rule;         /* the index of the rule that matched, or -1 */
  int owned;        /* internal: the strings belong to the caller */
} sy_eval;

/* Evaluates flag key for a context: context_json is a JSON object of attributes, NUL-terminated
 * (NULL: none; at most 65536 bytes, nested at most 8 deep), and subject, when not NULL, is its
 * targetingKey (it replaces one in the context). Returns SY_OK with out filled, also when the
 * evaluation's reason is ERROR (its error_code says why: a missing flag is FLAG_NOT_FOUND with
 * source default, a malformed context INVALID_CONTEXT); SY_ENOMEM or SY_EINVAL (NULL key) otherwise.
 * The flag's env_override variable, where it is set in the program's environment when the flag
 * version was loaded, decides as it does on the server. */
SY_API sy_rc sy_flag_evaluate(sy_client *c, const char *key, const char *subject, const char *context_json,
                              sy_eval *out);
SY_API sy_rc sy_snapshot_evaluate(const sy_snapshot *s, const char *key, const char *subject, const char *context_json,
                                  sy_eval *out);
/* Frees an sy_flag_evaluate result's strings (nothing for a snapshot's) and zeroes it. */
SY_API void sy_eval_clear(sy_client *c, sy_eval *e);

/* ---- state ----------------------------------------------------------------------------- */

typedef enum sy_conn_state {
  SY_STATE_STARTING = 0, /* no answer from the server yet */
  SY_STATE_SYNCED,       /* holds the server's snapshot and follows (or is opening) its change stream */
  SY_STATE_RECONNECTING, /* the server or the stream failed; waiting to try again */
} sy_conn_state;

typedef struct sy_state {
  sy_conn_state state;
  sy_source source;         /* where the current snapshot came from */
  int64_t seq;              /* the server sequence number it reflects */
  size_t params;            /* how many parameters it holds */
  uint64_t updates;         /* snapshots made since start */
  uint64_t reconnects;      /* connections to the server since start, the first one included */
  int64_t synced_ms;        /* wall time (ms since 1970) of the last event or heartbeat, 0 if none */
  sy_rc last_error;         /* the last failure (SY_OK when none since the last sync) */
  char last_error_msg[256]; /* its words: what failed and why */
} sy_state;

/* Fills out with how the client stands. Never blocks. */
SY_API sy_rc sy_client_state(sy_client *c, sy_state *out);
/* Waits up to timeout_ms until the client holds a snapshot from the server at least as new as
 * seq (0: any), then SY_OK; else SY_EUNAVAILABLE. Threaded clients only (SY_EINVAL otherwise). */
SY_API sy_rc sy_client_wait(sy_client *c, int64_t seq, int timeout_ms);

/* ---- an event loop of the program's own (sy_options_set_threaded(o, 0)) ----------------- */

/* A file descriptor that becomes readable when the client has work to do; poll it for reading
 * (it is an epoll descriptor on Linux). -1 for a threaded client. Owned by the client. */
SY_API int sy_client_fd(sy_client *c);
/* Does everything that is due without blocking: reads what arrived, starts or resumes a
 * connection, publishes a new snapshot, calls the callbacks. *next_ms (may be NULL) is set to
 * the longest the program may wait before the next call when the descriptor stays quiet
 * (-1: no limit). SY_EINVAL for a threaded client; otherwise SY_OK (failures of the
 * server are in sy_client_state, not here). */
SY_API sy_rc sy_client_step(sy_client *c, int *next_ms);

#ifdef __cplusplus
}
#endif

#endif /* SWITCHYARD_H */

/* cache.c — the client's cache file: the last good snapshot, written atomically, read at start.
 *
 * Two lines. The first is a header: {"format":"switchyard-cache","version":1,"server","prefixes",
 * "store","seq","params_bytes","params_sha256"}; the second is the parameters, a JSON array of
 * {"name","type","version","value"}, which the header's length and SHA-256 cover, so a file cut
 * short or changed in any byte is told from a good one before a value of it is used. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/jbuf.h"
#include "lib/lib_int.h"

#define CACHE_FORMAT "switchyard-cache"
#define CACHE_VERSION 1
#define CACHE_MAX ((size_t)256 << 20) /* the largest cache file read */
#define HEADER_MAX (64 * 1024)

static json_t *prefixes_json(const lib_cache_meta *m) {
  json_t *a = json_array();
  for (int i = 0; a && i < m->nprefixes; i++) json_array_append_new(a, json_string(m->prefixes[i]));
  return a;
}

/* Writes all of buf to fd. */
static int write_all(int fd, const char *buf, size_t n) {
  while (n) {
    ssize_t k = write(fd, buf, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    buf += k;
    n -= (size_t)k;
  }
  return 0;
}

sy_rc sy__cache_write(const char *path, const lib_cache_meta *m, const struct sy_snapshot *s, char *msg, size_t msgsz) {
  sy_rc rc = SY_OK;
  sy_jbuf b;
  char *head = NULL, tmp[4096], sha[SY_HASH_HEX];
  int fd = -1;
  json_t *h = NULL;
  sy__jbuf_init(&b, CACHE_MAX);
  sy__jbuf_cstr(&b, "[");
  for (size_t i = 0, n = 0; i < s->tab.count; i++) {
    const lib_entry *e = s->sorted[i];
    if (!e->value || strcmp(e->type, "SecureString") == 0) continue; /* secrets stay in memory */
    if (n++) sy__jbuf_cstr(&b, ",");
    sy__jbuf_cstr(&b, "{\"name\":");
    sy__jbuf_str(&b, e->name, e->name_len);
    sy__jbuf_cstr(&b, ",\"type\":");
    sy__jbuf_str(&b, e->type, strlen(e->type));
    sy__jbuf_cstr(&b, ",\"version\":");
    sy__jbuf_int(&b, e->version);
    sy__jbuf_cstr(&b, ",\"value\":");
    sy__jbuf_str(&b, e->value, e->len);
    sy__jbuf_cstr(&b, "}");
  }
  sy__jbuf_cstr(&b, "]\n");
  if (b.err) {
    snprintf(msg, msgsz, "cache file %s: the snapshot is too large to write", path);
    rc = SY_ETOOLARGE;
    goto out;
  }
  sy__sha256_hex(b.p, b.len, sha);
  h = json_pack("{s:s, s:i, s:s, s:o, s:s, s:I, s:I, s:s}", "format", CACHE_FORMAT, "version", CACHE_VERSION, "server",
                m->server, "prefixes", prefixes_json(m), "store", m->store ? m->store : "", "seq", (json_int_t)m->seq,
                "params_bytes", (json_int_t)b.len, "params_sha256", sha);
  head = h ? json_dumps(h, JSON_COMPACT) : NULL;
  if (!head || snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
    snprintf(msg, msgsz, "cache file %s: out of memory, or the path is too long", path);
    rc = head ? SY_EINVAL : SY_ENOMEM;
    goto out;
  }
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write_all(fd, head, strlen(head)) || write_all(fd, "\n", 1) || write_all(fd, b.p, b.len) || fsync(fd)) {
    snprintf(msg, msgsz, "cache file %s: cannot write %s: %s", path, tmp, strerror(errno));
    rc = SY_EIO;
    goto out;
  }
  if (close(fd)) {
    fd = -1;
    snprintf(msg, msgsz, "cache file %s: cannot write %s: %s", path, tmp, strerror(errno));
    rc = SY_EIO;
    goto out;
  }
  fd = -1;
  if (rename(tmp, path)) {
    snprintf(msg, msgsz, "cache file %s: cannot rename %s over it: %s", path, tmp, strerror(errno));
    rc = SY_EIO;
    goto out;
  }
  /* the rename itself is durable once the directory is */
  char dir[4096];
  const char *slash = strrchr(path, '/');
  size_t dl = slash ? (size_t)(slash - path) : 0;
  if (dl == 0 && slash) dl = 1;
  if (dl < sizeof dir) {
    memcpy(dir, slash ? path : ".", slash ? dl : 1);
    dir[slash ? dl : 1] = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
out:
  if (fd >= 0) {
    close(fd);
    unlink(tmp);
  } else if (rc && rc != SY_EINVAL && rc != SY_ENOMEM && rc != SY_ETOOLARGE) {
    unlink(tmp);
  }
  free(head);
  json_decref(h);
  sy__jbuf_free(&b);
  return rc;
}

/* Reads the whole file (at most CACHE_MAX bytes) into *out (malloc'd, NUL-terminated). */
static sy_rc read_file(const char *path, char **out, size_t *len, char *msg, size_t msgsz) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return SY_ENOTFOUND;
    snprintf(msg, msgsz, "cache file %s: cannot open it: %s", path, strerror(errno));
    return SY_EIO;
  }
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size > CACHE_MAX) {
    snprintf(msg, msgsz, "cache file %s: not a regular file of at most %zu bytes", path, CACHE_MAX);
    close(fd);
    return SY_EINVAL;
  }
  size_t n = (size_t)st.st_size, got = 0;
  char *p = malloc(n + 1);
  if (!p) {
    close(fd);
    snprintf(msg, msgsz, "cache file %s: out of memory", path);
    return SY_ENOMEM;
  }
  while (got < n) {
    ssize_t k = read(fd, p + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
  }
  close(fd);
  p[got] = 0;
  *out = p;
  *len = got;
  return SY_OK;
}

/* 1 when the file's prefixes are the client's, in the same order. */
static int same_prefixes(const json_t *a, const lib_cache_meta *m) {
  if (!json_is_array(a) || json_array_size(a) != (size_t)m->nprefixes) return 0;
  for (int i = 0; i < m->nprefixes; i++) {
    const char *s = json_string_value(json_array_get(a, (size_t)i));
    if (!s || strcmp(s, m->prefixes[i])) return 0;
  }
  return 1;
}

sy_rc sy__cache_read(const lib_alloc *al, const char *path, const lib_cache_meta *m, lib_table *t, char *store,
                     int64_t *seq, char *msg, size_t msgsz) {
  char *buf = NULL;
  size_t len = 0;
  sy_rc rc = read_file(path, &buf, &len, msg, msgsz);
  if (rc) return rc;
  rc = sy__cache_parse(al, path, buf, len, m, t, store, seq, msg, msgsz);
  free(buf);
  return rc;
}

sy_rc sy__cache_parse(const lib_alloc *al, const char *path, const char *buf, size_t len, const lib_cache_meta *m,
                      lib_table *t, char *store, int64_t *seq, char *msg, size_t msgsz) {
  char sha[SY_HASH_HEX];
  json_t *h = NULL, *params = NULL;
  json_error_t jerr;
  sy_rc rc = SY_EINVAL;
  const char *nl = memchr(buf, '\n', len < HEADER_MAX ? len : HEADER_MAX);
  if (!nl) {
    snprintf(msg, msgsz, "cache file %s: no header line (truncated, or not a cache file)", path);
    goto out;
  }
  h = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
  const char *format = json_string_value(json_object_get(h, "format"));
  if (!json_is_object(h) || !format || strcmp(format, CACHE_FORMAT)) {
    snprintf(msg, msgsz, "cache file %s: not a cache file of this library", path);
    goto out;
  }
  json_t *ver = json_object_get(h, "version");
  if (!json_is_integer(ver) || json_integer_value(ver) != CACHE_VERSION) {
    snprintf(msg, msgsz, "cache file %s: format version %lld, this library reads version %d", path,
             json_is_integer(ver) ? (long long)json_integer_value(ver) : -1LL, CACHE_VERSION);
    goto out;
  }
  const char *server = json_string_value(json_object_get(h, "server"));
  if (!server || strcmp(server, m->server)) {
    snprintf(msg, msgsz, "cache file %s: written for the server %.200s, not %.200s", path, server ? server : "?",
             m->server);
    goto out;
  }
  if (!same_prefixes(json_object_get(h, "prefixes"), m)) {
    snprintf(msg, msgsz, "cache file %s: written for other prefixes", path);
    goto out;
  }
  const char *want = json_string_value(json_object_get(h, "params_sha256"));
  json_t *bytes = json_object_get(h, "params_bytes");
  size_t body = len - (size_t)(nl + 1 - buf);
  if (!want || !json_is_integer(bytes) || (size_t)json_integer_value(bytes) != body) {
    snprintf(msg, msgsz, "cache file %s: %zu bytes of parameters where its header says %lld (truncated?)", path, body,
             json_is_integer(bytes) ? (long long)json_integer_value(bytes) : -1LL);
    goto out;
  }
  sy__sha256_hex(nl + 1, body, sha);
  if (strcmp(sha, want)) {
    snprintf(msg, msgsz, "cache file %s: its checksum does not match (the file is damaged)", path);
    goto out;
  }
  params = json_loadb(nl + 1, body, 0, &jerr);
  if (!json_is_array(params)) {
    snprintf(msg, msgsz, "cache file %s: its parameters are not a JSON array", path);
    goto out;
  }
  size_t bad = 0;
  rc = sy__params_load(al, params, SY_SOURCE_CACHE, 1, NULL, NULL, t, &bad);
  if (rc) {
    if (rc == SY_EINVAL)
      snprintf(msg, msgsz, "cache file %s: parameter %zu is malformed", path, bad);
    else
      snprintf(msg, msgsz, "cache file %s: out of memory", path);
    goto out;
  }
  const char *st = json_string_value(json_object_get(h, "store"));
  snprintf(store, 40, "%s", st ? st : "");
  *seq = json_is_integer(json_object_get(h, "seq")) ? json_integer_value(json_object_get(h, "seq")) : 0;
  rc = SY_OK;
out:
  json_decref(h);
  json_decref(params);
  return rc;
}

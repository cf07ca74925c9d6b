/* console.c — the web console's files: read once at start, served from memory with their caching and security headers.
 */
#include "server/console.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/text.h"

#ifndef SY_CONSOLE_INSTALL_DIR
#define SY_CONSOLE_INSTALL_DIR "/usr/local/share/switchyard/console"
#endif

#define NAME_MAX_LEN 128

typedef struct console_file {
  char name[NAME_MAX_LEN + 1];
  const char *type;      /* Content-Type, by extension */
  char etag[2 + 32 + 1]; /* quoted hex of the first 16 bytes of the bytes' SHA-256 */
  unsigned char *data;   /* owned */
  size_t len;
  int immutable;                 /* a hashed name: these bytes are the name's for good */
  const struct console_file *gz; /* NAME.gz beside it, or NULL */
} console_file;

struct sy_console {
  console_file files[SY_CONSOLE_FILES_MAX];
  int n;
  const console_file *index;
};

/* Sent with every reply under /console, errors included: the page runs only its own
 * scripts and styles, talks only to this server, and is never framed. */
static const char *const security_headers[][2] = {
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
     "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
};

static const char *content_type(const char *name) {
  static const char *const types[][2] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (!strcmp(dot, types[i][0])) return types[i][1];
  return "application/octet-stream";
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Whether the name carries a content hash: '-', 8 or more hex digits, then '.' (app-3f2a9c1d.js). */
static int hashed(const char *name) {
  for (const char *p = strchr(name, '-'); p; p = strchr(p, '-')) {
    size_t n = 0;
    for (p++; is_hex(p[n]); n++) {
    }
    if (n >= 8 && p[n] == '.') return 1;
    p += n;
  }
  return 0;
}

/* A name the console may have: 1 to NAME_MAX_LEN of [A-Za-z0-9._-], not starting with '.'. */
static int name_valid(const char *s) {
  size_t n = 0;
  if (*s == '.') return 0;
  for (; s[n]; n++) {
    char c = s[n];
    if (n == NAME_MAX_LEN || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                               c == '_' || c == '-'))
      return 0;
  }
  return n > 0;
}

/* Reads dir's file name into f->data (malloc'd, owned by f). 0 when read, 1 when it is not
 * a regular file (skipped), or an error with msg set. */
static int read_file(int dfd, const char *dir, const char *name, console_file *f, sy_rc *rc, char *msg, size_t msgsz) {
  int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ret = -1;
  struct stat st;
  if (fd < 0 || fstat(fd, &st)) {
    snprintf(msg, msgsz, "cannot read %s/%s: %s", dir, name, strerror(errno));
    *rc = SY_EIO;
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    ret = 1;
    goto out;
  }
  if ((size_t)st.st_size > SY_CONSOLE_FILE_MAX) {
    snprintf(msg, msgsz, "%s/%s is %lld bytes; a console file may have at most %zu", dir, name, (long long)st.st_size,
             SY_CONSOLE_FILE_MAX);
    *rc = SY_ETOOLARGE;
    goto out;
  }
  size_t want = (size_t)st.st_size;
  if (!(f->data = malloc(want ? want : 1))) {
    snprintf(msg, msgsz, "out of memory reading %s/%s", dir, name);
    *rc = SY_ENOMEM;
    goto out;
  }
  while (f->len < want) { /* a file that shrinks meanwhile is taken as it ends */
    ssize_t got = read(fd, f->data + f->len, want - f->len);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      snprintf(msg, msgsz, "cannot read %s/%s: %s", dir, name, strerror(errno));
      *rc = SY_EIO;
      goto out;
    }
    if (!got) break;
    f->len += (size_t)got;
  }
  ret = 0;
out:
  if (fd >= 0) close(fd);
  return ret;
}

void sy__console_free(sy_console *c) {
  if (!c) return;
  for (int i = 0; i < c->n; i++) free(c->files[i].data);
  free(c);
}

/* Loads every file of dir; SY_ENOTFOUND when it has no index.html. */
static sy_rc load_dir(const char *dir, sy_console **out, char *msg, size_t msgsz) {
  sy_rc rc = SY_OK;
  sy_console *c = calloc(1, sizeof *c);
  DIR *d = c ? opendir(dir) : NULL;
  if (!c) {
    snprintf(msg, msgsz, "out of memory");
    return SY_ENOMEM;
  }
  if (!d) {
    snprintf(msg, msgsz, "cannot open %s: %s", dir, strerror(errno));
    rc = errno == ENOENT || errno == ENOTDIR ? SY_ENOTFOUND : SY_EIO;
    goto out;
  }
  for (struct dirent *e; (e = readdir(d));) {
    if (!name_valid(e->d_name)) continue;
    if (c->n == SY_CONSOLE_FILES_MAX) {
      snprintf(msg, msgsz, "%s has more than %d files; the console has at most that many", dir, SY_CONSOLE_FILES_MAX);
      rc = SY_ETOOLARGE;
      goto out;
    }
    console_file *f = &c->files[c->n];
    int got = read_file(dirfd(d), dir, e->d_name, f, &rc, msg, msgsz);
    if (got < 0) {
      c->n++; /* what it holds is freed with the rest */
      goto out;
    }
    if (got) continue;
    unsigned char sum[32];
    char hex[33];
    sy__sha256(f->data, f->len, sum);
    sy__hex(sum, 16, hex);
    snprintf(f->etag, sizeof f->etag, "\"%s\"", hex);
    memcpy(f->name, e->d_name, strlen(e->d_name) + 1); /* name_valid: at most NAME_MAX_LEN */
    f->type = content_type(f->name);
    f->immutable = hashed(f->name);
    if (!strcmp(f->name, "index.html")) c->index = f;
    c->n++;
  }
  for (int i = 0; i < c->n; i++) { /* NAME.gz is NAME, compressed */
    console_file *gz = &c->files[i];
    size_t n = strlen(gz->name);
    if (n <= 3 || strcmp(gz->name + n - 3, ".gz")) continue;
    for (int j = 0; j < c->n; j++)
      if (j != i && strlen(c->files[j].name) == n - 3 && !memcmp(c->files[j].name, gz->name, n - 3))
        c->files[j].gz = gz;
  }
  if (!c->index) {
    snprintf(msg, msgsz, "%s has no index.html", dir);
    rc = SY_ENOTFOUND;
    goto out;
  }
  *out = c;
  c = NULL;
out:
  if (d) closedir(d);
  sy__console_free(c);
  return rc;
}

/* Whether dir holds an index.html, the mark of a built console. */
static int has_index(const char *dir) {
  char path[4096];
  struct stat st;
  return (size_t)snprintf(path, sizeof path, "%s/index.html", dir) < sizeof path && !stat(path, &st) &&
         S_ISREG(st.st_mode);
}

sy_rc sy__console_load(const char *dir, sy_console **out, char *used, size_t usedsz, char *msg, size_t msgsz) {
  *out = NULL;
  *used = 0;
  const char *env = getenv("SWITCHYARD_CONSOLE_DIR");
  if (!dir && env && *env) dir = env;
  if (dir) {
    snprintf(used, usedsz, "%s", dir);
    return load_dir(dir, out, msg, msgsz);
  }
  /* beside the executable (a build tree, or an install moved elsewhere), else the install prefix */
  char exe[4096], cand[3][4096 + 32];
  int k = 0;
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;
  char *slash = strrchr(exe, '/');
  if (slash) {
    *slash = 0;
    snprintf(cand[k++], sizeof cand[0], "%s/console", exe);
    snprintf(cand[k++], sizeof cand[0], "%s/../share/switchyard/console", exe);
  }
  snprintf(cand[k++], sizeof cand[0], "%s", SY_CONSOLE_INSTALL_DIR);
  for (int i = 0; i < k; i++)
    if (has_index(cand[i])) {
      snprintf(used, usedsz, "%s", cand[i]);
      return load_dir(cand[i], out, msg, msgsz);
    }
  if (k == 3)
    snprintf(msg, msgsz, "no index.html in %s, %s or %s", cand[0], cand[1], cand[2]);
  else
    snprintf(msg, msgsz, "no index.html in %s", cand[0]);
  return SY_ENOTFOUND;
}

/* ---- serving ---- */

/* Whether Accept-Encoding h allows gzip: gzip (or x-gzip) with a q above 0, else "*" with
 * one. One pass over h; a q value is above 0 when a digit of it is. */
static int gzip_accepted(const char *h) {
  int gzip = -1, star = -1;
  while (h && *h) {
    h += strspn(h, " \t,");
    const char *tok = h;
    size_t n = strcspn(h, " \t,;");
    int q = 1;
    h += n;
    for (;;) { /* ;name=value parameters; only q counts */
      h += strspn(h, " \t");
      if (*h != ';') break;
      h++;
      h += strspn(h, " \t");
      size_t pn = strcspn(h, " \t=,;");
      int isq = pn == 1 && (*h == 'q' || *h == 'Q');
      h += pn;
      h += strspn(h, " \t");
      if (*h != '=') continue;
      h++;
      h += strspn(h, " \t");
      size_t vn = strcspn(h, " \t,;");
      if (isq) q = strcspn(h, "123456789") < vn;
      h += vn;
    }
    h += strcspn(h, ","); /* whatever else is in this element */
    if ((n == 4 && !strncasecmp(tok, "gzip", 4)) || (n == 6 && !strncasecmp(tok, "x-gzip", 6)))
      gzip = q;
    else if (n == 1 && *tok == '*')
      star = q;
  }
  return gzip >= 0 ? gzip : star > 0;
}

/* Whether If-None-Match h names etag (weakly: W/"x" matches "x"), or is "*". */
static int etag_listed(const char *h, const char *etag) {
  size_t el = strlen(etag);
  while (*h) {
    h += strspn(h, " \t,");
    size_t n = strcspn(h, ",");
    const char *t = h;
    h += n;
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t')) n--;
    if (n == 1 && *t == '*') return 1;
    if (n > 2 && t[0] == 'W' && t[1] == '/') t += 2, n -= 2;
    if (n == el && !memcmp(t, etag, el)) return 1;
  }
  return 0;
}

static void add_security_headers(struct MHD_Response *resp) {
  for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
    MHD_add_response_header(resp, security_headers[i][0], security_headers[i][1]);
}

/* An error in the native shape, with the console's headers. */
__attribute__((format(printf, 4, 5))) static enum MHD_Result console_error(sy_req *r, int status, const char *code,
                                                                           const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  sy__utf8_clean(msg, strlen(msg)); /* it may quote the path's bytes */
  json_t *b = json_pack("{s{ss ss}}", "error", "code", code, "message", msg);
  char *s = b ? json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(b);
  struct MHD_Response *resp = s ? sy__response(s, strlen(s)) : NULL;
  if (!resp) return sy__reply_json(r, 500, NULL);
  add_security_headers(resp);
  if (status == 405) MHD_add_response_header(resp, "Allow", "GET, HEAD");
  return sy__queue(r, status, resp, "application/json");
}

static const console_file *find(const sy_console *c, const char *name) {
  for (int i = 0; i < c->n; i++)
    if (!strcmp(c->files[i].name, name)) return &c->files[i];
  return NULL;
}

enum MHD_Result sy__console_serve(sy_req *r, const char *rest) {
  const sy_console *c = r->srv->console;
  if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
    return console_error(r, 405, "MethodNotAllowed", "the console answers GET and HEAD");
  if (!c)
    return console_error(r, 404, "ConsoleNotBuilt",
                         "the web console is not built: build it with `make console` (or serve a built one with "
                         "switchyard serve --console DIR)");
  /* rest is raw: "%2e%2e", "%2f" or a second '/' name no file, as only plain names were loaded */
  const console_file *f = !*rest || !strcmp(rest, "/") ? c->index : find(c, rest + 1);
  if (!f) return console_error(r, 404, "NotFound", "no console file %.200s", r->path);
  const console_file *rep = f;
  if (f->gz && gzip_accepted(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept-Encoding"))) rep = f->gz;
  const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
  int fresh = inm && etag_listed(inm, rep->etag);
  /* the bytes live as long as the server: no copy */
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(fresh ? 0 : rep->len, fresh ? (void *)"" : rep->data, MHD_RESPMEM_PERSISTENT);
  if (!resp) return MHD_NO;
  add_security_headers(resp);
  MHD_add_response_header(resp, "ETag", rep->etag);
  MHD_add_response_header(resp, "Cache-Control",
                          f->immutable && f != c->index ? "public, max-age=31536000, immutable" : "no-cache");
  if (f->gz) MHD_add_response_header(resp, "Vary", "Accept-Encoding");
  if (rep != f) MHD_add_response_header(resp, "Content-Encoding", "gzip");
  return sy__queue(r, fresh ? 304 : 200, resp, fresh ? NULL : f->type);
}

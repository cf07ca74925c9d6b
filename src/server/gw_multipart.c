/* gw_multipart.c — multipart/form-data image requests read into the gateway's JSON by MHD's post processor. */
#include "server/gw_multipart.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MULTIPART "multipart/form-data"
#define FIELD_NAME_MAX 64
#define TEXT_MAX (32 * 1024)
#define IMAGES_MAX 16
#define PARTS_MAX 64
#define BOUNDARY_MAX 70 /* RFC 2046 */
#define MEDIA_TYPE_MAX 127
#define DEFAULT_TYPE "application/octet-stream"
/* The post processor's window: a part's header line must fit in it, values pass through it. */
#define PP_BUFFER 65536

/* The part being read: its name, what it is and its bytes so far. */
typedef struct part {
  char name[FIELD_NAME_MAX + 1];
  char type[MEDIA_TYPE_MAX + 1]; /* a file's media type */
  int file;                      /* image, image[] or mask: becomes a data URL */
  char *data;                    /* owned */
  size_t len, cap;
} part;

/* What the iterator builds. obj and images are owned until sy__gw_multipart_json hands obj out. */
typedef struct form {
  json_t *obj;
  json_t *images; /* the data URLs of image and image[], in order */
  int bare_image; /* a part was named image (not image[]) */
  int list_image; /* a part was named image[] */
  int nparts;
  int nomem;
  size_t total; /* file bytes of all parts */
  int open;     /* cur holds a part */
  part cur;
  char err[256]; /* the first refusal, for the 400 */
} form;

int sy__gw_multipart(sy_req *r) {
  const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  return ct && !strncasecmp(ct, MULTIPART, strlen(MULTIPART));
}

/* Records the first refusal; returns -1. */
static int refuse(form *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(form *f, const char *fmt, ...) {
  if (!f->err[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static int nomem(form *f) {
  f->nomem = 1;
  return refuse(f, "out of memory reading the multipart body");
}

static int name_byte_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == '[' || c == ']';
}

static int type_byte_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$&^_.+-", c);
}

/* A part's Content-Type without its parameters ("image/png; x=y" → "image/png") into out,
 * or the default when it has none. Returns -1 (refused) when it is not type/subtype. */
static int media_type(form *f, const char *ct, char out[MEDIA_TYPE_MAX + 1]) {
  if (!ct) ct = "";
  while (*ct == ' ' || *ct == '\t') ct++;
  size_t n = strcspn(ct, ";");
  while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
  if (n == 0) {
    snprintf(out, MEDIA_TYPE_MAX + 1, "%s", DEFAULT_TYPE);
    return 0;
  }
  size_t slash = 0, slashes = 0;
  for (size_t i = 0; i < n; i++) {
    if (ct[i] == '/') {
      slash = i;
      slashes++;
    } else if (!type_byte_ok(ct[i])) {
      slashes = 2;
    }
  }
  if (n > MEDIA_TYPE_MAX || slashes != 1 || slash == 0 || slash == n - 1)
    return refuse(f, "the Content-Type of field %s is not a media type (type/subtype)", f->cur.name);
  memcpy(out, ct, n);
  out[n] = 0;
  return 0;
}

/* Starts a part named key. */
static int part_begin(form *f, const char *key, const char *content_type, const char *encoding) {
  part *p = &f->cur;
  if (!key || !*key)
    return refuse(f, "a part of the multipart body has no name (Content-Disposition: form-data; name=\"...\")");
  size_t klen = strlen(key);
  if (klen > FIELD_NAME_MAX)
    return refuse(f, "the field name \"%.64s...\" is longer than %d bytes", key, FIELD_NAME_MAX);
  for (size_t i = 0; i < klen; i++)
    if (!name_byte_ok(key[i]))
      return refuse(f, "the field name \"%.64s\" holds a byte other than letters, digits and _ - . [ ]", key);
  if (++f->nparts > PARTS_MAX) return refuse(f, "the multipart body holds more than %d fields", PARTS_MAX);
  memcpy(p->name, key, klen + 1);
  p->len = 0;
  p->file = !strcmp(key, "image") || !strcmp(key, "image[]") || !strcmp(key, "mask");
  f->open = 1;
  if (encoding && strcasecmp(encoding, "binary") && strcasecmp(encoding, "8bit") && strcasecmp(encoding, "7bit"))
    return refuse(f, "field %s has Content-Transfer-Encoding %.32s; only binary is read", key, encoding);
  if (!p->file) {
    if (json_object_get(f->obj, key)) return refuse(f, "field %s is given twice", key);
    return 0;
  }
  if (!strcmp(key, "mask")) {
    if (json_object_get(f->obj, "mask")) return refuse(f, "field mask is given twice");
  } else {
    if (json_array_size(f->images) >= IMAGES_MAX)
      return refuse(f, "the body holds more than %d images; at most %d are allowed", IMAGES_MAX, IMAGES_MAX);
    if (key[5])
      f->list_image = 1;
    else
      f->bare_image = 1;
  }
  return media_type(f, content_type, p->type);
}

static int part_append(form *f, const char *data, size_t size) {
  part *p = &f->cur;
  if (p->file) {
    if (size > SY_GATEWAY_BODY_MAX - f->total)
      return refuse(f, "the files of the body are larger than %d bytes", SY_GATEWAY_BODY_MAX);
    f->total += size;
  } else if (size > TEXT_MAX - p->len) {
    return refuse(f, "field %s is longer than %d bytes", p->name, TEXT_MAX);
  }
  if (p->len + size + 1 > p->cap) { /* + 1: a text is ended with a NUL before it is read */
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < p->len + size + 1) cap *= 2;
    char *d = realloc(p->data, cap);
    if (!d) return nomem(f);
    p->data = d;
    p->cap = cap;
  }
  memcpy(p->data + p->len, data, size);
  p->len += size;
  return 0;
}

/* A text field's value: an integer for the number fields when all digits, a boolean for
 * stream when true or false, else the string (the request check refuses what is wrong). */
static json_t *text_value(const part *p) {
  int number = !strcmp(p->name, "n") || !strcmp(p->name, "output_compression") || !strcmp(p->name, "partial_images");
  if (number && p->data && p->len > 0 && p->len <= 18 && strspn(p->data, "0123456789") == p->len) {
    char digits[19];
    memcpy(digits, p->data, p->len);
    digits[p->len] = 0;
    return json_integer(strtoll(digits, NULL, 10));
  }
  if (!strcmp(p->name, "stream") && p->len == 4 && !memcmp(p->data, "true", 4)) return json_true();
  if (!strcmp(p->name, "stream") && p->len == 5 && !memcmp(p->data, "false", 5)) return json_false();
  return json_stringn(p->len ? p->data : "", p->len);
}

/* data:TYPE;base64,... of the part's bytes. */
static json_t *data_url(const part *p) {
  size_t tlen = strlen(p->type);
  size_t b64 = 4 * ((p->len + 2) / 3);
  size_t cap = 5 + tlen + 8 + b64 + 1;
  char *s = malloc(cap);
  if (!s) return NULL;
  int head = snprintf(s, cap, "data:%s;base64,", p->type);
  int n = EVP_EncodeBlock((unsigned char *)s + head, (const unsigned char *)p->data, (int)p->len);
  json_t *v = n < 0 ? NULL : json_stringn_nocheck(s, (size_t)head + (size_t)n);
  free(s);
  return v;
}

/* Ends the open part: its value goes into the object (or the images). */
static int part_end(form *f) {
  part *p = &f->cur;
  if (!f->open) return 0;
  f->open = 0;
  json_t *v;
  if (!p->file) {
    if (p->len && memchr(p->data, 0, p->len)) return refuse(f, "field %s contains a NUL byte", p->name);
    if (p->data) p->data[p->len] = 0;
    v = text_value(p);
    if (!v) return refuse(f, "field %s is not valid UTF-8", p->name);
    if (json_object_set_new(f->obj, p->name, v)) return nomem(f);
    return 0;
  }
  if (!p->len) return refuse(f, "file %s is empty", p->name);
  if (!(v = data_url(p))) return nomem(f);
  if (!strcmp(p->name, "mask")) return json_object_set_new(f->obj, "mask", v) ? nomem(f) : 0;
  return json_array_append_new(f->images, v) ? nomem(f) : 0;
}

/* libmicrohttpd's iterator: each part arrives in pieces, its first at offset 0 (the whole
 * body is fed at once, so a part never starts twice). Answers MHD_NO to stop at a refusal. */
static enum MHD_Result on_data(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                               const char *content_type, const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size) {
  form *f = cls;
  (void)kind;
  (void)filename;
  if (off == 0 && (part_end(f) || part_begin(f, key, content_type, transfer_encoding))) return MHD_NO;
  if (size && part_append(f, data, size)) return MHD_NO;
  return MHD_YES;
}

/* Checks the Content-Type's boundary before the post processor, which only says NULL. */
static int check_boundary(form *f, const char *ct) {
  const char *b = ct ? strstr(ct + strlen(MULTIPART), "boundary=") : NULL;
  if (!b || !b[9] || b[9] == ';') return refuse(f, "the multipart/form-data Content-Type has no boundary");
  b += 9;
  size_t n = strlen(b);
  if (n >= 2 && b[0] == '"' && b[n - 1] == '"') n -= 2;
  if (n == 0 || n > BOUNDARY_MAX) return refuse(f, "the multipart boundary must be 1 to %d bytes", BOUNDARY_MAX);
  return 0;
}

int sy__gw_multipart_json(sy_req *r, json_t **out) {
  form f;
  memset(&f, 0, sizeof f);
  *out = NULL;
  int rc = -1;
  struct MHD_PostProcessor *pp;
  size_t nimg;
  const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (check_boundary(&f, ct)) goto out;
  f.obj = json_object();
  f.images = json_array();
  if (!f.obj || !f.images) {
    nomem(&f);
    goto out;
  }
  pp = MHD_create_post_processor(r->conn, PP_BUFFER, on_data, &f);
  if (!pp) {
    refuse(&f, "the multipart/form-data Content-Type cannot be read");
    goto out;
  }
  enum MHD_Result fed = MHD_post_process(pp, r->body, r->body_len);
  enum MHD_Result whole = MHD_destroy_post_processor(pp); /* MHD_NO: it stopped inside a part */
  if (fed != MHD_YES) {
    refuse(
        &f,
        "the multipart body is malformed: a part's headers or a boundary line are not as multipart/form-data has them");
    goto out;
  }
  if (whole != MHD_YES) {
    refuse(&f, "the multipart body ends before its closing boundary (--BOUNDARY--)");
    goto out;
  }
  if (part_end(&f)) goto out;
  if (!f.nparts) {
    refuse(&f, "the multipart body holds no fields (does it use the boundary of its Content-Type?)");
    goto out;
  }
  nimg = json_array_size(f.images);
  if (nimg == 1 && f.bare_image && !f.list_image) {
    if (json_object_set(f.obj, "image", json_array_get(f.images, 0))) {
      nomem(&f);
      goto out;
    }
  } else if (nimg && json_object_set(f.obj, "image", f.images)) {
    nomem(&f);
    goto out;
  }
  *out = f.obj;
  f.obj = NULL;
  rc = 0;
out:
  free(f.cur.data);
  json_decref(f.images);
  json_decref(f.obj);
  if (rc) {
    if (f.nomem)
      sy__reply_error(r, 503, "unavailable", "%s", f.err);
    else
      sy__reply_error(r, 400, "invalid_multipart", "%s", f.err);
  }
  return rc;
}

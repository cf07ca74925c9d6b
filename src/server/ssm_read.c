/* ssm_read.c — the SSM API's reads: GetParameter(s), GetParametersByPath, GetParameterHistory,
 * DescribeParameters and ListTagsForResource, their shapes of a parameter and their paging
 * tokens. Every read comes from the same snapshot as the native API's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jbuf.h"
#include "core/text.h"
#include "server/api_params.h"
#include "server/ssm_filter.h"
#include "server/ssm_int.h"

/* ---- the shapes of a parameter ---- */

/* Appends the NUL-terminated s to out[*n..cap), cut where it does not fit (as snprintf). */
static void put(char *out, size_t cap, size_t *n, const char *s) {
  size_t l = strlen(s);
  if (l > cap - 1 - *n) l = cap - 1 - *n;
  memcpy(out + *n, s, l);
  *n += l;
  out[*n] = 0;
}

/* The parameter's ARN into out (cap bytes, cap > 0); its length. Written on every read,
 * so without snprintf. */
static size_t arn_of(sy_req *r, const char *name, char *out, size_t cap) {
  size_t n = 0;
  out[0] = 0;
  const char *region = sy__ssm_region(r);
  put(out, cap, &n, "arn:");
  put(out, cap, &n, sy__ssm_partition(region));
  put(out, cap, &n, ":ssm:");
  put(out, cap, &n, region);
  put(out, cap, &n, ":");
  put(out, cap, &n, r->srv->aws_account);
  put(out, cap, &n, name[0] == '/' ? ":parameter" : ":parameter/");
  put(out, cap, &n, name);
  return n;
}

static json_t *epoch(int64_t ms) { return json_real((double)ms / 1000.0); }

static void user_arn(sy_req *r, const char *user, char *out, size_t cap) {
  snprintf(out, cap, "arn:%s:iam::%s:user/%s", sy__ssm_partition(sy__ssm_region(r)), r->srv->aws_account,
           user && *user ? user : "unknown");
}

/* The text of "Value": the plaintext, or for a SecureString read without decryption the
 * sealed blob in base64 (what SSM answers: ciphertext, never the secret). *out is
 * malloc'd (free it with sy__reveal_free); NULL with 0 returned means "no Value": the
 * credential may not decrypt, and r->decrypt_denied says so. -1 on failure. */
static int value_of(sy_req *r, const sy_param *p, const sy_ver *v, int decrypt, char **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (v->kind != SY_KIND_SECURESTRING || decrypt) {
    if (v->kind == SY_KIND_SECURESTRING && sy__require_quiet(r, SY_SCOPE_DECRYPT)) {
      r->decrypt_denied = 1; /* SSM refuses only when a SecureString is actually to be decrypted */
      return 0;
    }
    return sy__store_reveal(r->srv->store, p->name, v, out, n) ? -1 : 0;
  }
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *in = (const unsigned char *)v->value;
  size_t len = v->value_len, o64 = 0;
  char *enc = malloc(4 * ((len + 2) / 3) + 1);
  if (!enc) return -1;
  for (size_t i = 0; i < len; i += 3) {
    unsigned x = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
    enc[o64++] = b64[(x >> 18) & 63];
    enc[o64++] = b64[(x >> 12) & 63];
    enc[o64++] = i + 1 < len ? b64[(x >> 6) & 63] : '=';
    enc[o64++] = i + 2 < len ? b64[x & 63] : '=';
  }
  enc[o64] = 0;
  *out = enc;
  *n = o64;
  return 0;
}

static int set_value(sy_req *r, json_t *o, const sy_param *p, const sy_ver *v, int decrypt) {
  char *text;
  size_t n;
  if (value_of(r, p, v, decrypt, &text, &n)) return -1;
  if (text) json_object_set_new(o, "Value", json_stringn(text, n));
  sy__reveal_free(text, n);
  return 0;
}

static const char *data_type_of(const sy_ver *v) { return v->data_type && *v->data_type ? v->data_type : "text"; }

/* The KeyId SSM reports: a SecureString's key (alias/aws/ssm unless another was given), or
 * a key given with another type; NULL for none. */
static const char *key_id_of(const sy_ver *v) {
  if (v->key_id && *v->key_id) return v->key_id;
  return v->kind == SY_KIND_SECURESTRING ? "alias/aws/ssm" : NULL;
}

/* The Policies of a version as SSM lists them, [{PolicyText, PolicyType, PolicyStatus}]:
 * a policy given by its type alone is that type, finished; a policy object is pending. An
 * empty array when there are none. NULL on ENOMEM. */
static json_t *policies_of(const sy_ver *v) {
  json_t *out = json_array();
  json_t *doc = v->policies && *v->policies ? json_loads(v->policies, JSON_DECODE_ANY, NULL) : NULL;
  size_t i;
  json_t *e;
  json_array_foreach(doc, i, e) {
    if (!out) break;
    if (json_is_string(e)) {
      json_array_append_new(out, json_pack("{sO sO ss}", "PolicyText", e, "PolicyType", e, "PolicyStatus", "Finished"));
    } else if (json_is_object(e)) {
      char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
      json_t *type = json_object_get(e, "Type");
      if (text && json_is_string(type))
        json_array_append_new(
            out, json_pack("{ss sO ss}", "PolicyText", text, "PolicyType", type, "PolicyStatus", "Pending"));
      free(text);
    }
  }
  json_decref(doc);
  return out;
}

/* Writes the Parameter shape of GetParameter(s) and GetParametersByPath. These are the
 * hot reads of the SSM API, so the JSON text is written directly. -1 on failure. */
static int param_shape(sy_req *r, sy_jbuf *b, const sy_param *p, const sy_ver *v, int decrypt, const char *selector) {
  char *text = NULL;
  size_t n = 0;
  /* a value that is not sealed is written from the snapshot, not from a copy */
  if (v->kind == SY_KIND_SECURESTRING && value_of(r, p, v, decrypt, &text, &n)) return -1;
  sy__jbuf_cstr(b, "{\"Name\":");
  sy__jbuf_str(b, p->name, p->name_len);
  sy__jbuf_cstr(b, ",\"Type\":\"");
  sy__jbuf_cstr(b, sy__ssm_type_name(v->kind));
  sy__jbuf_cstr(b, "\"");
  if (v->kind != SY_KIND_SECURESTRING) {
    sy__jbuf_cstr(b, ",\"Value\":");
    sy__jbuf_str(b, v->value, v->value_len);
  } else if (text) {
    sy__jbuf_cstr(b, ",\"Value\":");
    sy__jbuf_str(b, text, n);
  }
  sy__reveal_free(text, n);
  sy__jbuf_cstr(b, ",\"Version\":");
  sy__jbuf_int(b, v->version);
  if (selector) {
    sy__jbuf_cstr(b, ",\"Selector\":");
    sy__jbuf_str(b, selector, strlen(selector));
  }
  sy__jbuf_cstr(b, ",\"LastModifiedDate\":");
  sy__jbuf_epoch_ms(b, v->modified_ms);
  char arn[SY_NAME_MAX + 128];
  size_t alen = arn_of(r, p->name, arn, sizeof arn);
  sy__jbuf_cstr(b, ",\"ARN\":");
  sy__jbuf_str(b, arn, alen);
  sy__jbuf_cstr(b, ",\"DataType\":");
  const char *dt = data_type_of(v);
  sy__jbuf_str(b, dt, strlen(dt));
  sy__jbuf_cstr(b, "}");
  return b->err ? -1 : 0;
}

static void free_buf(void *p) { free(p); }

/* Sends a reply written with jbuf (or an error if writing it failed). */
static enum MHD_Result jbuf_reply(sy_req *r, sy_jbuf *b) {
  size_t len = 0;
  char *text = sy__jbuf_take(b, &len);
  if (!text) return sy__ssm_error(r, 500, "InternalServerError", "out of memory");
  if (r->decrypt_denied) {
    free(text);
    return sy__ssm_error(r, 400, "AccessDeniedException",
                         "User: %s is not authorized to decrypt SecureString parameters (the credential lacks the "
                         "decrypt scope)",
                         r->actor);
  }
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, text, free_buf);
  if (!resp) {
    free(text);
    return MHD_NO;
  }
  char rid[37];
  sy__ssm_request_id(rid);
  MHD_add_response_header(resp, "x-amzn-RequestId", rid);
  return sy__queue(r, 200, resp, SSM_CT);
}

static json_t *labels_of(const sy_ver *v) {
  json_t *a = json_array();
  for (int i = 0; a && i < v->nlabels; i++) json_array_append_new(a, json_string(v->labels[i]));
  return a;
}

/* The ParameterHistory shape. */
static json_t *history_shape(sy_req *r, const sy_param *p, const sy_ver *v, int decrypt) {
  char user[512];
  user_arn(r, v->modified_user, user, sizeof user);
  json_t *o = json_pack("{ss ss}", "Name", p->name, "Type", sy__ssm_type_name(v->kind));
  if (!o) return NULL;
  if (key_id_of(v)) json_object_set_new(o, "KeyId", json_string(key_id_of(v)));
  json_object_set_new(o, "LastModifiedDate", epoch(v->modified_ms));
  json_object_set_new(o, "LastModifiedUser", json_string(user));
  if (v->description && *v->description) json_object_set_new(o, "Description", json_string(v->description));
  if (set_value(r, o, p, v, decrypt)) {
    json_decref(o);
    return NULL;
  }
  if (v->allowed_pattern && *v->allowed_pattern)
    json_object_set_new(o, "AllowedPattern", json_string(v->allowed_pattern));
  json_object_set_new(o, "Version", json_integer(v->version));
  json_object_set_new(o, "Labels", labels_of(v));
  json_object_set_new(o, "Tier", json_string(sy__tier_name(v->tier)));
  json_object_set_new(o, "Policies", policies_of(v));
  json_object_set_new(o, "DataType", json_string(data_type_of(v)));
  return o;
}

/* The ParameterMetadata shape of DescribeParameters. */
static json_t *meta_shape(sy_req *r, const sy_param *p) {
  const sy_ver *v = p->latest;
  char arn[SY_NAME_MAX + 128], user[512];
  arn_of(r, p->name, arn, sizeof arn);
  user_arn(r, v->modified_user, user, sizeof user);
  json_t *o = json_pack("{ss ss ss}", "Name", p->name, "ARN", arn, "Type", sy__ssm_type_name(v->kind));
  if (!o) return NULL;
  if (key_id_of(v)) json_object_set_new(o, "KeyId", json_string(key_id_of(v)));
  json_object_set_new(o, "LastModifiedDate", epoch(v->modified_ms));
  json_object_set_new(o, "LastModifiedUser", json_string(user));
  if (v->description && *v->description) json_object_set_new(o, "Description", json_string(v->description));
  if (v->allowed_pattern && *v->allowed_pattern)
    json_object_set_new(o, "AllowedPattern", json_string(v->allowed_pattern));
  json_object_set_new(o, "Version", json_integer(v->version));
  json_object_set_new(o, "Tier", json_string(sy__tier_name(v->tier)));
  json_t *pol = policies_of(v);
  if (json_array_size(pol))
    json_object_set_new(o, "Policies", pol);
  else
    json_decref(pol);
  json_object_set_new(o, "DataType", json_string(data_type_of(v)));
  return o;
}

/* ---- pagination: NextToken is the base64 of where the page stopped ---- */

static char *token_encode(sy_req *r, const char *s) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t n = strlen(s), o = 0;
  char *out = sy__arena_alloc(r->arena, 4 * ((n + 2) / 3) + 1);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i += 3) {
    unsigned x = (unsigned char)s[i] << 16 | (i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0) |
                 (i + 2 < n ? (unsigned char)s[i + 2] : 0);
    out[o++] = b64[(x >> 18) & 63];
    out[o++] = b64[(x >> 12) & 63];
    if (i + 1 < n) out[o++] = b64[(x >> 6) & 63];
    if (i + 2 < n) out[o++] = b64[x & 63];
  }
  out[o] = 0;
  return out;
}

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/* Decodes a NextToken; NULL (after replying InvalidNextToken) when it is not one of ours. */
static char *token_decode(sy_req *r, const char *t) {
  size_t n = strlen(t), o = 0;
  if (n == 0 || n > 2048 || n % 4 == 1) goto bad;
  char *out = sy__arena_alloc(r->arena, n);
  if (!out) goto bad;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64val(t[i]);
    if (v < 0) goto bad;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (char)((acc >> bits) & 0xff);
    }
  }
  out[o] = 0;
  if (o == 0 || memchr(out, 0, o) || !sy__utf8_valid(out, o)) goto bad;
  return out;
bad:
  sy__ssm_error(r, 400, "InvalidNextToken", "The specified token isn't valid.");
  return NULL;
}

/* ---- reads ---- */

/* Finds the version a name (with its selector) points at; replies and returns NULL if absent.
 * Must run inside a snapshot section; *owned is set when the version came from the database. */
static const sy_ver *resolve(sy_req *r, const sy_param *p, const ssm_name *n, sy_ver **owned, sy_rc *why) {
  *owned = NULL;
  *why = SY_OK;
  /* a missing label, like a selector that names nothing, is a parameter not found */
  if (!p || n->unresolvable) {
    *why = SY_ENOTFOUND;
    return NULL;
  }
  if (n->label) {
    const sy_ver *v = sy__param_find_label(p, n->label);
    if (!v) *why = SY_ENOTFOUND;
    return v;
  }
  if (!n->version) return p->latest;
  const sy_ver *v = sy__param_find_version(p, n->version);
  if (v) return v;
  if (n->version < p->oldest || n->version > p->latest->version) {
    *why = SY_EVERSION_NOTFOUND;
    return NULL;
  }
  if (sy__store_read_version(r->srv->store, p->name, n->version, owned)) {
    *why = SY_EVERSION_NOTFOUND;
    return NULL;
  }
  return *owned;
}

static int want_decrypt(sy_req *r, json_t *b, int *decrypt) {
  *decrypt = 0;
  return sy__ssm_bool(r, b, "WithDecryption", decrypt);
}

/* The reply of a read, unless it met a SecureString the credential may not decrypt. */
static enum MHD_Result read_reply(sy_req *r, json_t *out) {
  if (!r->decrypt_denied) return sy__ssm_reply(r, 200, out);
  json_decref(out);
  return sy__ssm_error(
      r, 400, "AccessDeniedException",
      "User: %s is not authorized to decrypt SecureString parameters (the credential lacks the decrypt "
      "scope)",
      r->actor);
}

enum MHD_Result sy__ssm_get_parameter(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Name", "WithDecryption", NULL};
  ssm_name n;
  int decrypt;
  if (sy__ssm_known(r, b, fields) || sy__ssm_required_name(r, b, "Name", 1, &n) || want_decrypt(r, b, &decrypt))
    return MHD_YES;
  sy_store *st = r->srv->store;
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__snap_get(s, n.name, n.len);
  sy_ver *owned = NULL;
  sy_rc why;
  const sy_ver *v = resolve(r, p, &n, &owned, &why);
  const char *sel = strchr(n.given, ':') && strncmp(n.given, "arn:", 4) ? strchr(n.given, ':') : NULL;
  sy_jbuf out;
  sy__jbuf_init(&out, 64 * 1024);
  sy__jbuf_cstr(&out, "{\"Parameter\":");
  int bad = v ? param_shape(r, &out, p, v, decrypt, sel) : 0;
  sy__jbuf_cstr(&out, "}");
  sy__snap_leave(st);
  sy__ver_unref(owned);
  if (why || bad) sy__jbuf_free(&out);
  if (why == SY_ENOTFOUND) return sy__ssm_error(r, 400, "ParameterNotFound", "Parameter %s not found.", n.given);
  if (why)
    return sy__ssm_error(r, 400, "ParameterVersionNotFound",
                         "Systems Manager could not find version %" PRId64 " of %s. Verify the version and try again.",
                         n.version, n.name);
  if (bad) return sy__ssm_error(r, 500, "InternalServerError", "cannot read %s", n.name);
  return jbuf_reply(r, &out);
}

enum MHD_Result sy__ssm_get_parameters(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Names", "WithDecryption", NULL};
  const char **names;
  int nn, decrypt;
  if (sy__ssm_known(r, b, fields) || sy__ssm_strs(r, b, "Names", 1, 10, &names, &nn) || want_decrypt(r, b, &decrypt))
    return MHD_YES;
  sy_jbuf out, invalid;
  sy__jbuf_init(&out, 1 << 20);
  sy__jbuf_init(&invalid, 1 << 20);
  int nfound = 0, ninvalid = 0, bad = 0;
  /* what was answered: a name asked for again, or in its other spelling ("foo", "/foo", its
   * ARN), is answered once */
  struct {
    const sy_param *p;
    int64_t version;
    const char *sel;
  } seen[10];
  sy__jbuf_cstr(&out, "{\"Parameters\":[");
  sy_store *st = r->srv->store;
  const sy_snap *s = sy__snap_enter(st);
  for (int i = 0; i < nn && !bad; i++) {
    ssm_name n;
    char msg[SSM_MSG_MAX];
    const char *type;
    int again = 0;
    for (int j = 0; j < i; j++) again |= !strcmp(names[i], names[j]);
    if (again) continue; /* a name asked for twice is answered once */
    const char *colon = strchr(names[i], ':');
    size_t len = colon && strncmp(names[i], "arn:", 4) ? (size_t)(colon - names[i]) : strlen(names[i]);
    if (strncmp(names[i], "arn:", 4) && sy__ssm_name_refusal(names[i], len, 0, &type, msg, sizeof msg)) {
      sy__jbuf_cstr(&invalid, ninvalid++ ? "," : "");
      sy__jbuf_str(&invalid, names[i], strlen(names[i]));
      continue;
    }
    if (sy__ssm_parse_name(r, names[i], SSM_NAME_SELECTOR, &n)) { /* replied already (a malformed ARN) */
      sy__snap_leave(st);
      sy__jbuf_free(&out);
      sy__jbuf_free(&invalid);
      return MHD_YES;
    }
    const sy_param *p = sy__snap_get(s, n.name, n.len);
    sy_ver *owned = NULL;
    sy_rc why;
    const sy_ver *v = resolve(r, p, &n, &owned, &why);
    const char *sel = colon && strncmp(names[i], "arn:", 4) ? colon : NULL;
    int dup = 0;
    for (int j = 0; v && j < nfound && !dup; j++)
      dup = seen[j].p == p && seen[j].version == v->version && !strcmp(seen[j].sel ? seen[j].sel : "", sel ? sel : "");
    if (!v) {
      sy__jbuf_cstr(&invalid, ninvalid++ ? "," : "");
      sy__jbuf_str(&invalid, names[i], strlen(names[i]));
    } else if (!dup && nfound < 10) {
      seen[nfound].p = p;
      seen[nfound].version = v->version;
      seen[nfound].sel = sel;
      sy__jbuf_cstr(&out, nfound++ ? "," : "");
      bad = param_shape(r, &out, p, v, decrypt, sel);
    }
    sy__ver_unref(owned);
  }
  sy__snap_leave(st);
  sy__jbuf_cstr(&out, "],\"InvalidParameters\":[");
  sy__jbuf_raw(&out, invalid.p ? invalid.p : "", invalid.len);
  sy__jbuf_cstr(&out, "]}");
  if (invalid.err && !out.err) out.err = invalid.err;
  sy__jbuf_free(&invalid);
  if (bad) {
    sy__jbuf_free(&out);
    return sy__ssm_error(r, 500, "InternalServerError", "cannot read a parameter");
  }
  return jbuf_reply(r, &out);
}

/* A page of GetParametersByPath, filtered (ssm_filter.c). */
typedef struct path_ctx {
  sy_req *r;
  sy_jbuf out;
  size_t n, max;
  int bad;
  int decrypt;
  ssm_filters fs;
  const char *last;
  int more;
} path_ctx;

static int path_cb(void *ctx, const sy_param *p) {
  path_ctx *c = ctx;
  const sy_ver *v = sy__ssm_filters_version(&c->fs, p); /* a Label filter selects the labelled version */
  if (!v || !sy__ssm_filters_match(&c->fs, p, v)) return 0;
  if (c->n == c->max) {
    c->more = 1;
    return 1;
  }
  sy__jbuf_cstr(&c->out, c->n++ ? "," : "");
  c->bad = param_shape(c->r, &c->out, p, v, c->decrypt, NULL);
  c->last = sy__arena_strndup(c->r->arena, p->name, p->name_len);
  return c->bad;
}

enum MHD_Result sy__ssm_get_parameters_by_path(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Path",      "Recursive", "ParameterFilters", "WithDecryption", "MaxResults",
                                       "NextToken", NULL};
  const char *path = NULL, *next = NULL;
  int recursive = 0;
  int64_t max = 10;
  path_ctx c = {.r = r};
  json_t *mr = json_object_get(b, "MaxResults");
  if (json_is_integer(mr) && json_integer_value(mr) > 10) /* SSM's words for this one bound, as they are */
    return sy__ssm_error(r, 400, "ValidationException",
                         "1 validation error detected: Value %" JSON_INTEGER_FORMAT
                         " at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to "
                         "10",
                         json_integer_value(mr));
  if (sy__ssm_known(r, b, fields) || sy__ssm_str(r, b, "Path", &path) || sy__ssm_bool(r, b, "Recursive", &recursive) ||
      sy__ssm_int(r, b, "MaxResults", 1, 10, &max) || sy__ssm_str(r, b, "NextToken", &next) ||
      want_decrypt(r, b, &c.decrypt) || sy__ssm_filters_read(r, b, SSM_FILTERS_BY_PATH, &c.fs))
    return MHD_YES;
  if (!path) return sy__ssm_error(r, 400, "ValidationException", "Path is required");
  char msg[SY_MSG_MAX], prefix[SY_NAME_MAX + 2];
  sy_rc rc = sy__path_check(path, strlen(path), msg, sizeof msg);
  if (rc == SY_EHIERARCHY) return sy__ssm_error(r, 400, "HierarchyLevelLimitExceededException", SSM_HIERARCHY_TEXT);
  if (rc) return sy__ssm_error(r, 400, "ValidationException", "Path: %s", msg);
  if (sy__list_prefix(path, prefix, sizeof prefix) < 0)
    return sy__ssm_error(r, 400, "ValidationException", "Path is too long");
  const char *after = NULL;
  if (next && !(after = token_decode(r, next))) return MHD_YES;
  if (after && strncmp(after, prefix, strlen(prefix)) && strcmp(prefix, "/"))
    return sy__ssm_error(r, 400, "InvalidNextToken", "The specified token isn't valid.");
  sy__jbuf_init(&c.out, 1 << 20);
  sy__jbuf_cstr(&c.out, "{\"Parameters\":[");
  c.max = (size_t)max;
  const sy_snap *s = sy__snap_enter(r->srv->store);
  sy__snap_list(s, prefix, recursive, after, path_cb, &c);
  sy__snap_leave(r->srv->store);
  sy__jbuf_cstr(&c.out, "]");
  if (c.more && c.last) {
    const char *t = token_encode(r, c.last);
    sy__jbuf_cstr(&c.out, ",\"NextToken\":");
    sy__jbuf_str(&c.out, t ? t : "", t ? strlen(t) : 0);
  }
  sy__jbuf_cstr(&c.out, "}");
  if (c.bad) {
    sy__jbuf_free(&c.out);
    return sy__ssm_error(r, 500, "InternalServerError", "cannot read a parameter");
  }
  return jbuf_reply(r, &c.out);
}

typedef struct ssm_hist {
  sy_req *r;
  const sy_param *p;
  json_t *arr;
  int decrypt;
  int64_t last;
  int failed;
} ssm_hist;

static void hist_cb(void *ctx, const sy_ver *v, const char *reason) {
  (void)reason;
  ssm_hist *h = ctx;
  json_t *o = history_shape(h->r, h->p, v, h->decrypt);
  if (!o) h->failed = 1;
  json_array_append_new(h->arr, o);
  h->last = v->version;
}

enum MHD_Result sy__ssm_get_parameter_history(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Name", "WithDecryption", "MaxResults", "NextToken", NULL};
  ssm_name n;
  int decrypt;
  int64_t max = 50;
  const char *next = NULL;
  if (sy__ssm_known(r, b, fields) || sy__ssm_required_name(r, b, "Name", 0, &n) || want_decrypt(r, b, &decrypt) ||
      sy__ssm_int(r, b, "MaxResults", 1, 50, &max) || sy__ssm_str(r, b, "NextToken", &next))
    return MHD_YES;
  int64_t after = 0;
  if (next) {
    const char *t = token_decode(r, next);
    char *end = NULL;
    if (!t) return MHD_YES;
    after = strtoll(t, &end, 10);
    if (*end || after < 0) return sy__ssm_error(r, 400, "InvalidNextToken", "The specified token isn't valid.");
  }
  sy_store *st = r->srv->store;
  const sy_snap *s = sy__snap_enter(st);
  const sy_param *p = sy__snap_get(s, n.name, n.len);
  ssm_hist h = {r, p, json_array(), decrypt, 0, 0};
  int more = 0;
  sy_rc rc = p ? sy__store_history(st, p->name, after, (int)max, hist_cb, &h, &more) : SY_ENOTFOUND;
  sy__snap_leave(st);
  if (rc || h.failed) {
    json_decref(h.arr);
    if (rc == SY_ENOTFOUND) return sy__ssm_error(r, 400, "ParameterNotFound", "Parameter %s not found.", n.given);
    return sy__ssm_rc(r, rc ? rc : SY_EINTERNAL, NULL);
  }
  json_t *out = json_pack("{so}", "Parameters", h.arr);
  if (out && more) {
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, h.last);
    json_object_set_new(out, "NextToken", json_string(token_encode(r, num)));
  }
  return read_reply(r, out);
}

/* DescribeParameters: every parameter, filtered (ssm_filter.c), metadata only. */
typedef struct desc_ctx {
  sy_req *r;
  json_t *arr;
  size_t max;
  ssm_filters fs;
  const char *last;
  int more;
} desc_ctx;

static int desc_cb(void *ctx, const sy_param *p) {
  desc_ctx *c = ctx;
  if (!sy__ssm_filters_match(&c->fs, p, p->latest)) return 0;
  if (json_array_size(c->arr) == c->max) {
    c->more = 1;
    return 1;
  }
  json_array_append_new(c->arr, meta_shape(c->r, p));
  c->last = sy__arena_strndup(c->r->arena, p->name, p->name_len);
  return 0;
}

enum MHD_Result sy__ssm_describe_parameters(sy_req *r, json_t *b) {
  static const char *const fields[] = {"Filters", "ParameterFilters", "MaxResults", "NextToken", "Shared", NULL};
  int64_t max = 10;
  const char *next = NULL, *after = NULL;
  desc_ctx c = {.r = r};
  if (sy__ssm_known(r, b, fields) || sy__ssm_int(r, b, "MaxResults", 1, 50, &max) ||
      sy__ssm_str(r, b, "NextToken", &next) || sy__ssm_filters_read(r, b, SSM_FILTERS_DESCRIBE, &c.fs))
    return MHD_YES;
  if (next && !(after = token_decode(r, next))) return MHD_YES;
  c.arr = json_array();
  c.max = (size_t)max;
  const sy_snap *s = sy__snap_enter(r->srv->store);
  sy__snap_list(s, "", 1, after, desc_cb, &c);
  sy__snap_leave(r->srv->store);
  json_t *out = json_pack("{so}", "Parameters", c.arr);
  if (out && c.more && c.last) json_object_set_new(out, "NextToken", json_string(token_encode(r, c.last)));
  return sy__ssm_reply(r, 200, out);
}

enum MHD_Result sy__ssm_list_tags(sy_req *r, json_t *b) {
  static const char *const fields[] = {"ResourceType", "ResourceId", NULL};
  ssm_name n;
  if (sy__ssm_known(r, b, fields) || sy__ssm_resource(r, b, &n)) return MHD_YES;
  const sy_snap *s = sy__snap_enter(r->srv->store);
  const sy_param *p = sy__snap_get(s, n.name, n.len);
  json_t *list = p ? json_array() : NULL;
  for (int i = 0; p && i < p->ntags; i++)
    json_array_append_new(list, json_pack("{ss ss}", "Key", p->tags[i].key, "Value", p->tags[i].value));
  sy__snap_leave(r->srv->store);
  if (!p) return sy__ssm_error(r, 400, "InvalidResourceId", "Invalid Resource Id");
  return sy__ssm_reply(r, 200, json_pack("{so}", "TagList", list));
}

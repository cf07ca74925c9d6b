/* rows.c — how every engine keeps what is not a plain column: a version's labels as
 * comma-separated text, a parameter's tags as a JSON object with sorted keys; and the
 * orders the snapshot and the credentials are kept in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

const char *sy__labels_csv(const sy_ver *v, char *buf, size_t sz) {
  size_t off = 0;
  buf[0] = 0;
  for (int i = 0; i < v->nlabels && off < sz; i++)
    off += (size_t)snprintf(buf + off, sz - off, "%s%s", i ? "," : "", v->labels[i]);
  return buf;
}

char *sy__tags_json(const sy_param *p) {
  json_t *o = json_object();
  for (int i = 0; o && i < p->ntags; i++) json_object_set_new(o, p->tags[i].key, json_string(p->tags[i].value));
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(o);
  return s;
}

sy_rc sy__tags_from_json(sy_param *p, const char *text) {
  if (!text || strcmp(text, "{}") == 0) return SY_OK;
  json_error_t err;
  json_t *obj = json_loads(text, 0, &err);
  if (!json_is_object(obj)) {
    json_decref(obj);
    return SY_EIO;
  }
  size_t n = json_object_size(obj);
  p->tags = calloc(n, sizeof *p->tags);
  if (!p->tags) {
    json_decref(obj);
    return SY_ENOMEM;
  }
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    p->tags[p->ntags].key = strdup(k);
    p->tags[p->ntags].value = strdup(json_string_value(v) ? json_string_value(v) : "");
    p->ntags++;
  }
  json_decref(obj);
  /* jansson keeps insertion order; the store writes keys sorted, so this stays sorted */
  return SY_OK;
}

sy_rc sy__param_add_labeled(sy_param *p, sy_ver *v) {
  sy_ver **n = realloc(p->labeled, (size_t)(p->nlabeled + 1) * sizeof *n);
  if (!n) {
    sy__ver_unref(v);
    return SY_ENOMEM;
  }
  p->labeled = n;
  p->labeled[p->nlabeled++] = v;
  return SY_OK;
}

int sy__token_cmp(const void *a, const void *b) {
  return strcmp(((const sy_token *)a)->hash, ((const sy_token *)b)->hash);
}

int sy__param_name_cmp(const void *a, const void *b) {
  const sy_param *x = *(sy_param *const *)a, *y = *(sy_param *const *)b;
  return strcmp(x->name, y->name);
}

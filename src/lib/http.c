/* http.c — the transport shared by the library and the CLI: libcurl requests to a Switchyard
 * server with a bounded response body, and the status an API error stands for. */
#include "lib/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sy__resp_free(sy__resp *r) {
  if (!r) return;
  free(r->body);
  json_decref(r->json);
  memset(r, 0, sizeof *r);
}

size_t sy__body_write(char *data, size_t size, size_t nmemb, void *ud) {
  sy__body *b = ud;
  size_t n = size * nmemb;
  if (n > b->max - b->len) {
    b->too_large = 1;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 16 * 1024;
    while (cap < b->len + n + 1) cap *= 2;
    if (cap > b->max + 1) cap = b->max + 1;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->nomem = 1;
      return 0;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = 0;
  return n;
}

sy_rc sy__http_base(const char *url, char *out, size_t cap, char *msg, size_t msgsz) {
  const char *s = url;
  if (!s || !*s) s = getenv("SWITCHYARD_URL");
  if (!s || !*s) s = SY__DEFAULT_URL;
  size_t n = strlen(s);
  while (n && s[n - 1] == '/') n--;
  int scheme = strncmp(s, "http://", 7) == 0 ? 7 : strncmp(s, "https://", 8) == 0 ? 8 : 0;
  size_t bad = 0;
  while (bad < n && (unsigned char)s[bad] > 0x20 && s[bad] != 0x7f) bad++;
  if (n == 0 || n >= cap || !scheme || (size_t)scheme == n || bad < n) {
    snprintf(msg, msgsz, "invalid server URL '%.200s': it must be http://HOST[:PORT] or https://…", s);
    return SY_EINVAL;
  }
  memcpy(out, s, n);
  out[n] = 0;
  return SY_OK;
}

sy_rc sy__http_token_check(const char *token, char *msg, size_t msgsz) {
  if (!token) return SY_OK;
  size_t n = strlen(token);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)token[i] < 0x20 || token[i] == 0x7f) {
      snprintf(msg, msgsz, "the token holds a control character at byte %zu", i);
      return SY_EINVAL;
    }
  if (n + sizeof "Authorization: Bearer " > SY__AUTH_MAX) {
    snprintf(msg, msgsz, "the token is longer than %d bytes", SY__AUTH_MAX - 32);
    return SY_EINVAL;
  }
  return SY_OK;
}

static int add_header(struct curl_slist **hdrs, const char *h) {
  struct curl_slist *tmp = curl_slist_append(*hdrs, h);
  if (!tmp) return -1;
  *hdrs = tmp;
  return 0;
}

sy_rc sy__http_setup(CURL *h, const sy__http_target *t, const char *method, const char *path, const char *body,
                     size_t len, const char *const *extra, struct curl_slist **hdrs, char *url, size_t urlcap,
                     char *msg, size_t msgsz) {
  char auth[SY__AUTH_MAX];
  *hdrs = NULL;
  if (snprintf(url, urlcap, "%s%s", t->base, path) >= (int)urlcap) {
    snprintf(msg, msgsz, "the URL is longer than %zu bytes", urlcap - 1);
    return SY_EINVAL;
  }
  if (t->token && *t->token) {
    sy_rc rc = sy__http_token_check(t->token, msg, msgsz);
    if (rc) return rc;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", t->token);
    if (add_header(hdrs, auth)) goto nomem;
  }
  if (add_header(hdrs, "Accept: application/json")) goto nomem;
  if (body && add_header(hdrs, "Content-Type: application/json")) goto nomem;
  if (add_header(hdrs, "Expect:")) goto nomem; /* no 100-continue round trip */
  for (size_t i = 0; extra && extra[i]; i++)
    if (add_header(hdrs, extra[i])) goto nomem;

  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  /* Send "/a/../b" as typed so the server refuses it, rather than libcurl quietly resolving it
   * to "/b" and touching a parameter nobody named. */
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
  curl_easy_setopt(h, CURLOPT_USERAGENT, t->user_agent ? t->user_agent : "libswitchyard/" SWITCHYARD_VERSION);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, t->connect_ms > 0 ? t->connect_ms : 10000L);
  if (t->stall_s > 0) { /* a stalled server fails after stall_s seconds without a byte */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, t->stall_s);
  }
  if (t->total_ms > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t->total_ms);
  if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
  }
  return SY_OK;
nomem:
  curl_slist_free_all(*hdrs);
  *hdrs = NULL;
  snprintf(msg, msgsz, "out of memory");
  return SY_ENOMEM;
}

sy_rc sy__http_request(const sy__http_target *t, const char *method, const char *path, const char *body, size_t len,
                       size_t max, sy__resp *out, char *msg, size_t msgsz) {
  sy_rc rc = SY_OK;
  struct curl_slist *hdrs = NULL;
  sy__body b = {.max = max};
  char url[SY__BASE_MAX + 16384], errbuf[CURL_ERROR_SIZE] = "";
  memset(out, 0, sizeof *out);
  CURL *h = curl_easy_init();
  if (!h) {
    snprintf(msg, msgsz, "cannot initialise libcurl");
    return SY_ENOMEM;
  }
  rc = sy__http_setup(h, t, method, path, body, len, NULL, &hdrs, url, sizeof url, msg, msgsz);
  if (rc) goto out;
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sy__body_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  CURLcode cc = curl_easy_perform(h);
  if (cc != CURLE_OK) {
    if (b.too_large) {
      snprintf(msg, msgsz, "the response from %.200s is larger than %zu bytes", t->base, max);
      rc = SY_ETOOLARGE;
    } else if (b.nomem) {
      snprintf(msg, msgsz, "out of memory reading the response");
      rc = SY_ENOMEM;
    } else {
      snprintf(msg, msgsz, "cannot reach %.200s: %.200s", t->base, *errbuf ? errbuf : curl_easy_strerror(cc));
      rc = SY_EUNAVAILABLE;
    }
    goto out;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
  if (!b.p && !(b.p = calloc(1, 1))) {
    snprintf(msg, msgsz, "out of memory");
    rc = SY_ENOMEM;
    goto out;
  }
  out->body = b.p;
  out->len = b.len;
  b.p = NULL;
  if (out->len) out->json = json_loadb(out->body, out->len, JSON_ALLOW_NUL, NULL);
out:
  free(b.p);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  return rc;
}

sy_rc sy__resp_error(const sy__resp *r, const char **code, const char **message) {
  json_t *err = r->json ? json_object_get(r->json, "error") : NULL;
  const char *c = json_is_object(err) ? json_string_value(json_object_get(err, "code")) : NULL;
  const char *m = json_is_object(err) ? json_string_value(json_object_get(err, "message")) : NULL;
  if (code) *code = c ? c : "";
  if (message) *message = m ? m : "";
  for (int i = 1; c && i < SY_RC_MAX; i++)
    if (strcmp(c, sy__rc_code((sy_rc)i)) == 0) return (sy_rc)i;
  switch (r->status) {
  case 400: return SY_EINVAL;
  case 401: return SY_EUNAUTH;
  case 403: return SY_EFORBIDDEN;
  case 404: return SY_ENOTFOUND;
  case 409: return SY_ECONFLICT;
  case 413: return SY_ETOOLARGE;
  case 503: return SY_EUNAVAILABLE;
  default: return SY_EINTERNAL;
  }
}

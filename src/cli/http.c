/* http.c — libcurl requests to the Switchyard HTTP API, bounded response bodies, and API error mapping for the CLI. */
#include "cli/http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_MAX 8192 /* longest "Authorization: Bearer ..." header we will send */

void sy__resp_free(sy__resp *r) {
  if (!r) return;
  free(r->body);
  json_decref(r->json);
  memset(r, 0, sizeof *r);
}

/* Growing response buffer; refuses to grow past max. */
typedef struct body_buf {
  char *p;
  size_t len, cap, max;
  int too_large;
  int nomem;
} body_buf;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  body_buf *b = ud;
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

/* The status that the API error code names; falls back on the HTTP status. */
static sy_rc rc_from_error(const char *code, long status) {
  for (int i = 1; i < SY_RC_MAX; i++)
    if (code && strcmp(code, sy__rc_code((sy_rc)i)) == 0) return (sy_rc)i;
  switch (status) {
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

/* Prints a server text without control characters that could garble the terminal. */
static void print_clean(FILE *f, const char *s, size_t max) {
  for (size_t i = 0; s[i] && i < max; i++) {
    unsigned char c = (unsigned char)s[i];
    fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
  }
}

/* Reports a non-2xx answer as "switchyard: Code: message" and returns its status. */
static sy_rc report_error(const sy__resp *r) {
  json_t *err = r->json ? json_object_get(r->json, "error") : NULL;
  const char *code = json_is_object(err) ? sy__jstr(err, "code") : "";
  const char *msg = json_is_object(err) ? sy__jstr(err, "message") : "";
  fputs("switchyard: ", stderr);
  if (*code) {
    print_clean(stderr, code, 200);
    fputs(": ", stderr);
    print_clean(stderr, *msg ? msg : "(no message)", 2000);
  } else {
    fprintf(stderr, "HTTP %ld", r->status);
    if (r->body && r->len) {
      fputs(": ", stderr);
      print_clean(stderr, r->body, 300);
    }
  }
  fputc('\n', stderr);
  return rc_from_error(*code ? code : NULL, r->status);
}

/* After a 401: how to give the CLI a token, or that the one it has is not known. */
static void token_hint(const sy__cli *cli) {
  if (cli->token && *cli->token)
    sy__err("the token sent is the one in SWITCHYARD_TOKEN");
  else
    sy__err("no token: set SWITCHYARD_TOKEN, e.g. export SWITCHYARD_TOKEN=$(cat data/admin.token)");
  sy__err(
      "the admin token is printed once when `switchyard serve` (or `make run`) first starts, and kept in "
      "DATA/admin.token; `switchyard token create` makes more");
}

/* The server's base URL without a trailing slash, written into out. */
static sy_rc base_url(const sy__cli *cli, char *out, size_t cap) {
  const char *s = cli->server;
  if (!s || !*s) s = getenv("SWITCHYARD_URL");
  if (!s || !*s) s = SY__DEFAULT_URL;
  size_t n = strlen(s);
  while (n && s[n - 1] == '/') n--;
  if (n == 0 || n >= cap) {
    sy__err("invalid server URL '%s'", s);
    return SY_EINVAL;
  }
  memcpy(out, s, n);
  out[n] = 0;
  return SY_OK;
}

sy_rc sy__http_raw(const sy__cli *cli, const char *method, const char *path, const char *body, size_t len,
                   sy__resp *out) {
  return sy__http_raw_max(cli, method, path, body, len, SY__MAX_RESPONSE, out);
}

sy_rc sy__http_raw_max(const sy__cli *cli, const char *method, const char *path, const char *body, size_t len,
                       size_t max, sy__resp *out) {
  sy_rc rc = SY_OK;
  CURL *h = NULL;
  struct curl_slist *hdrs = NULL, *tmp;
  body_buf b = {.max = max};
  char base[4096], url[4096 + SY__URL_MAX], auth[AUTH_MAX], errbuf[CURL_ERROR_SIZE] = "";
  CURLcode cc;
  memset(out, 0, sizeof *out);

  rc = base_url(cli, base, sizeof base);
  if (rc) goto out;
  if (snprintf(url, sizeof url, "%s%s", base, path) >= (int)sizeof url) {
    sy__err("URL too long");
    rc = SY_EINVAL;
    goto out;
  }
  h = curl_easy_init();
  if (!h) {
    sy__err("cannot initialise libcurl");
    rc = SY_ENOMEM;
    goto out;
  }
  if (cli->token && *cli->token) {
    /* A token with CR/LF would let the environment inject headers. */
    if (strpbrk(cli->token, "\r\n") ||
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cli->token) >= (int)sizeof auth) {
      sy__err("SWITCHYARD_TOKEN is malformed");
      rc = SY_EINVAL;
      goto out;
    }
    if (!(tmp = curl_slist_append(hdrs, auth))) goto nomem;
    hdrs = tmp;
  }
  if (!(tmp = curl_slist_append(hdrs, "Accept: application/json"))) goto nomem;
  hdrs = tmp;
  if (body) {
    if (!(tmp = curl_slist_append(hdrs, "Content-Type: application/json"))) goto nomem;
    hdrs = tmp;
  }
  if (!(tmp = curl_slist_append(hdrs, "Expect:"))) goto nomem; /* no 100-continue round trip */
  hdrs = tmp;

  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  /* Send "/a/../b" as typed so the server refuses it, rather than libcurl quietly
   * resolving it to "/b" and writing a parameter the user did not name. */
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "switchyard-cli/" SY_VERSION);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stalled server fails after 60 s */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
  }
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }

  cc = curl_easy_perform(h);
  if (cc != CURLE_OK) {
    if (b.too_large)
      sy__err("response from %s is larger than %zu bytes", base, max);
    else if (b.nomem)
      sy__err("out of memory reading the response");
    else
      sy__err("cannot reach %s: %s", base, *errbuf ? errbuf : curl_easy_strerror(cc));
    rc = b.nomem ? SY_ENOMEM : SY_EUNAVAILABLE;
    goto out;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
  if (!b.p) {
    b.p = calloc(1, 1);
    if (!b.p) goto nomem;
  }
  out->body = b.p;
  out->len = b.len;
  b.p = NULL;
  if (out->len) out->json = json_loadb(out->body, out->len, JSON_ALLOW_NUL, NULL);
  if (out->status < 200 || out->status > 299) {
    rc = report_error(out);
    if (out->status == 401) token_hint(cli);
    sy__resp_free(out);
    goto out;
  }
  goto out;
nomem:
  sy__err("out of memory");
  rc = SY_ENOMEM;
out:
  free(b.p);
  curl_slist_free_all(hdrs);
  if (h) curl_easy_cleanup(h);
  return rc;
}

sy_rc sy__http_json(const sy__cli *cli, const char *method, const char *path, const json_t *body, sy__resp *out) {
  sy_rc rc = SY_OK;
  char *text = NULL;
  if (body) {
    /* Reals with 15 significant digits: a percentage of 12.35 or a threshold of 0.85 goes out as
     * typed, not as the 17-digit expansion of its binary value. */
    text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!text) {
      sy__err("cannot encode the request");
      rc = SY_ENOMEM;
      goto out;
    }
  }
  rc = sy__http_raw(cli, method, path, text, text ? strlen(text) : 0, out);
  if (rc) goto out;
  if (!json_is_object(out->json)) {
    sy__err("the server answered %s %s with something that is not a JSON object", method, path);
    sy__resp_free(out);
    rc = SY_EINTERNAL;
    goto out;
  }
out:
  free(text);
  return rc;
}

/* ---- URL building ---------------------------------------------------------------------- */

void sy__url_init(sy__url *u, const char *path) {
  u->len = 0;
  u->nquery = 0;
  u->failed = 0;
  u->buf[0] = 0;
  u->why[0] = 0;
  sy__url_add(u, path);
}

void sy__url_add(sy__url *u, const char *s) {
  size_t n = strlen(s);
  if (u->failed) return;
  if (n >= sizeof u->buf - u->len) {
    u->failed = SY_ETOOLARGE;
    return;
  }
  memcpy(u->buf + u->len, s, n + 1);
  u->len += n;
}

/* The characters of a selector: a label's, which include a version's digits. */
#define SELECTOR_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

void sy__url_param(sy__url *u, const char *name) {
  const char *colon = strchr(name, ':');
  size_t len = colon ? (size_t)(colon - name) : strlen(name);
  char msg[256], shown[128]; /* core's name messages are short and quote no input */
  sy_rc rc = sy__name_check(name, len, msg, sizeof msg);
  if (!rc && colon && strspn(colon + 1, SELECTOR_CHARS) != strlen(colon + 1)) {
    snprintf(msg, sizeof msg, "the selector after ':' may hold only a-zA-Z0-9_.-");
    rc = SY_EINVAL;
    len = strlen(name); /* show the selector too */
  }
  if (!rc) {
    sy__url_add(u, "/api/v1/params");
    if (name[0] != '/') sy__url_add(u, "/");
    sy__url_add(u, name);
    return;
  }
  if (u->failed) return;
  u->failed = rc;
  /* the name as typed, without bytes that could garble the terminal (the message gives their value) */
  size_t n = len < sizeof shown - 1 ? len : sizeof shown - 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    shown[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
  }
  shown[n] = 0;
  snprintf(u->why, sizeof u->why, "%s: invalid parameter name '%s%s': %s", sy__rc_code(rc), shown, len > n ? "..." : "",
           msg);
}

void sy__url_segment(sy__url *u, const char *seg) {
  char *e = curl_easy_escape(NULL, seg, 0);
  if (!e) {
    if (!u->failed) u->failed = SY_ENOMEM;
    return;
  }
  sy__url_add(u, "/");
  sy__url_add(u, e);
  curl_free(e);
}

void sy__url_query(sy__url *u, const char *key, const char *value) {
  if (!value) return;
  char *e = curl_easy_escape(NULL, value, 0);
  if (!e) {
    if (!u->failed) u->failed = SY_ENOMEM;
    return;
  }
  sy__url_add(u, u->nquery++ ? "&" : "?");
  sy__url_add(u, key);
  sy__url_add(u, "=");
  sy__url_add(u, e);
  curl_free(e);
}

sy_rc sy__url_done(const sy__url *u) {
  if (!u->failed) return SY_OK;
  if (u->why[0])
    sy__err("%s", u->why);
  else if (u->failed == SY_ETOOLARGE)
    sy__err("request URL longer than %d bytes", SY__URL_MAX);
  else
    sy__err("out of memory");
  return (sy_rc)u->failed;
}

/* ---- JSON helpers ---------------------------------------------------------------------- */

const char *sy__jstr(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : "";
}

int64_t sy__jint(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

sy_rc sy__print_json(const json_t *v) {
  if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) || fputc('\n', stdout) == EOF) {
    sy__err("cannot write to stdout");
    return SY_EIO;
  }
  return SY_OK;
}

/* ---- paging ---------------------------------------------------------------------------- */

sy_rc sy__fetch_pages(const sy__cli *cli, const sy__url *base, const char *key, json_t *all) {
  sy_rc rc = SY_OK;
  sy__resp r = {0};
  char next[2048] = "";
  for (;;) {
    sy__url u = *base;
    if (*next) sy__url_query(&u, "next", next);
    rc = sy__http_url(cli, "GET", &u, NULL, &r);
    if (rc) goto out;
    json_t *items = json_object_get(r.json, key);
    if (!json_is_array(items)) {
      sy__err("the server's answer has no \"%s\" array", key);
      rc = SY_EINTERNAL;
      goto out;
    }
    if (json_array_extend(all, items)) {
      sy__err("out of memory");
      rc = SY_ENOMEM;
      goto out;
    }
    json_t *jn = json_object_get(r.json, "next");
    if (!jn || json_is_null(jn)) break;
    char tok[sizeof next];
    if (json_is_string(jn))
      snprintf(tok, sizeof tok, "%s", json_string_value(jn));
    else if (json_is_integer(jn))
      snprintf(tok, sizeof tok, "%" JSON_INTEGER_FORMAT, json_integer_value(jn));
    else
      break;
    if (!*tok || strcmp(tok, next) == 0 || json_array_size(items) == 0) {
      sy__err("the server's paging did not advance (next=%s)", tok);
      rc = SY_EINTERNAL;
      goto out;
    }
    memcpy(next, tok, sizeof next);
    sy__resp_free(&r);
  }
out:
  sy__resp_free(&r);
  return rc;
}

/* ---- one call: request, errors, output ------------------------------------------------- */

sy_rc sy__http_url(const sy__cli *cli, const char *method, const sy__url *u, const json_t *body, sy__resp *out) {
  sy_rc rc = sy__url_done(u);
  if (rc) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  return sy__http_json(cli, method, u->buf, body, out);
}

sy_rc sy__call(const sy__cli *cli, const char *method, const sy__url *u, const json_t *body, sy__show_fn show,
               void *ctx) {
  sy_rc rc = SY_OK;
  sy__resp r = {0};
  rc = sy__http_url(cli, method, u, body, &r);
  if (rc) goto out;
  if (cli->json) {
    rc = sy__print_json(r.json);
    goto out;
  }
  rc = show(r.json, ctx);
  if (rc == SY_ENOMEM) sy__err("out of memory");
out:
  sy__resp_free(&r);
  return rc;
}

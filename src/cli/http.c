/* http.c — libcurl requests to the Switchyard HTTP API, bounded response bodies, and API error mapping for the CLI. */
#include "cli/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints a server text without control characters that could garble the terminal. */
static void print_clean(FILE *f, const char *s, size_t max) {
  for (size_t i = 0; s[i] && i < max; i++) {
    unsigned char c = (unsigned char)s[i];
    fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
  }
}

/* Reports a non-2xx answer as "switchyard: Code: message" and returns its status. */
static sy_rc report_error(const sy__resp *r) {
  const char *code, *msg;
  sy_rc rc = sy__resp_error(r, &code, &msg);
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
  return rc;
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

sy_rc sy__http_raw(const sy__cli *cli, const char *method, const char *path, const char *body, size_t len,
                   sy__resp *out) {
  return sy__http_raw_max(cli, method, path, body, len, SY__MAX_RESPONSE, out);
}

sy_rc sy__http_raw_max(const sy__cli *cli, const char *method, const char *path, const char *body, size_t len,
                       size_t max, sy__resp *out) {
  char base[SY__BASE_MAX], msg[512];
  memset(out, 0, sizeof *out);
  sy_rc rc = sy__http_base(cli->server, base, sizeof base, msg, sizeof msg);
  if (!rc && sy__http_token_check(cli->token, msg, sizeof msg)) {
    snprintf(msg, sizeof msg, "SWITCHYARD_TOKEN is malformed");
    rc = SY_EINVAL;
  }
  if (!rc) {
    sy__http_target t = {.base = base, .token = cli->token, .user_agent = "switchyard-cli/" SY_VERSION, .stall_s = 60};
    rc = sy__http_request(&t, method, path, body, len, max, out, msg, sizeof msg);
  }
  if (rc) {
    sy__err("%s", msg);
    return rc;
  }
  if (out->status < 200 || out->status > 299) {
    rc = report_error(out);
    if (out->status == 401) token_hint(cli);
    sy__resp_free(out);
  }
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

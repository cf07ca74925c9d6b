/* rawreq.c — splits a raw HTTP request into method, path, query, headers and body. */
#include "rawreq.h"

#include <stdlib.h>
#include <string.h>

/* Cuts the line starting at *p (ending in "\n" or at end) off the text; returns it. */
static char *next_line(char **p, char *end) {
  char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
  char *e = nl ? nl : end;
  if (e > s && e[-1] == '\r') e[-1] = 0;
  *e = 0;
  *p = nl ? nl + 1 : end;
  return s;
}

int rawreq_parse(const char *s, size_t n, rawreq *r) {
  memset(r, 0, sizeof *r);
  r->text = malloc(n + 1);
  if (!r->text) return -1;
  memcpy(r->text, s, n);
  r->text[n] = 0;
  char *p = r->text, *end = r->text + n;
  if (p == end) return -1;
  char *line = next_line(&p, end);
  char *sp = strchr(line, ' ');
  if (!sp) return -1;
  *sp = 0;
  r->http.method = line;
  char *target = sp + 1, *sp2 = strchr(target, ' ');
  if (sp2) *sp2 = 0;
  char *q = strchr(target, '?');
  if (q) *q = 0;
  r->http.path = target;
  r->http.query = q ? q + 1 : NULL;
  while (p < end) {
    line = next_line(&p, end);
    if (!*line) break; /* the blank line before the body */
    char *colon = strchr(line, ':');
    if (!colon || r->http.n_headers == RAWREQ_HEADERS_MAX) continue;
    *colon = 0;
    r->headers[r->http.n_headers].name = line;
    r->headers[r->http.n_headers].value = colon + 1;
    r->http.n_headers++;
  }
  r->http.headers = r->headers;
  r->http.body_len = (size_t)(end - p);
  if (r->http.body_len) {
    r->body = malloc(r->http.body_len);
    if (!r->body) return -1;
    memcpy(r->body, p, r->http.body_len);
  }
  r->http.body = r->body;
  return 0;
}

void rawreq_free(rawreq *r) {
  free(r->text);
  free(r->body);
  r->text = r->body = NULL;
}

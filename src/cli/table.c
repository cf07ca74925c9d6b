/* table.c — aligned text tables and JSON-to-cell formatting for the CLI. */
#include "cli/table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL_MAX 4096 /* bytes kept of any one cell */

struct sy__table {
  size_t ncols;
  size_t nrows, cap; /* rows, not counting the header */
  char **cells;      /* (nrows + 1) * ncols, header first */
  size_t *width;     /* widest cell per column, in code points */
};

/* Code points in a UTF-8 string: every byte that is not a continuation byte. */
static size_t utf8_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) w++;
  return w;
}

/* A heap copy of s (at most CELL_MAX bytes, cut on a code-point boundary) with tabs,
 * newlines and other control characters shown as spaces. */
static char *cell_dup(const char *s) {
  size_t n = strlen(s);
  if (n > CELL_MAX) {
    n = CELL_MAX;
    while (n && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  }
  char *c = malloc(n + 1);
  if (!c) return NULL;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    c[i] = (char)(ch < 0x20 || ch == 0x7f ? ' ' : ch);
  }
  c[n] = 0;
  return c;
}

static sy_rc add_row(sy__table *t, const char *const *cells) {
  if (t->nrows + 1 == t->cap) {
    size_t cap = t->cap * 2;
    char **p = realloc(t->cells, cap * t->ncols * sizeof *p);
    if (!p) return SY_ENOMEM;
    t->cells = p;
    t->cap = cap;
  }
  char **row = t->cells + (t->nrows + 1) * t->ncols;
  for (size_t i = 0; i < t->ncols; i++) {
    row[i] = cell_dup(cells[i] ? cells[i] : "-");
    if (!row[i]) {
      for (size_t j = 0; j < i; j++) free(row[j]);
      return SY_ENOMEM;
    }
  }
  for (size_t i = 0; i < t->ncols; i++) {
    size_t w = utf8_width(row[i]);
    if (w > t->width[i]) t->width[i] = w;
  }
  t->nrows++;
  return SY_OK;
}

sy_rc sy__table_new(size_t ncols, const char *const *headers, sy__table **out) {
  sy_rc rc = SY_OK;
  sy__table *t = calloc(1, sizeof *t);
  *out = NULL;
  if (!t) return SY_ENOMEM;
  t->ncols = ncols;
  t->cap = 16;
  t->cells = calloc(t->cap * ncols, sizeof *t->cells);
  t->width = calloc(ncols, sizeof *t->width);
  if (!t->cells || !t->width) {
    rc = SY_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < ncols; i++) {
    t->cells[i] = cell_dup(headers[i]);
    if (!t->cells[i]) {
      rc = SY_ENOMEM;
      goto out;
    }
    t->width[i] = utf8_width(t->cells[i]);
  }
  *out = t;
  t = NULL;
out:
  sy__table_free(t);
  return rc;
}

sy_rc sy__table_row(sy__table *t, const char *const *cells) { return add_row(t, cells); }

sy_rc sy__table_print(const sy__table *t, FILE *f) {
  for (size_t r = 0; r <= t->nrows; r++) {
    char *const *row = t->cells + r * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
      fputs(row[c], f);
      if (c + 1 == t->ncols) break;
      for (size_t pad = utf8_width(row[c]); pad < t->width[c] + 2; pad++) fputc(' ', f);
    }
    fputc('\n', f);
  }
  return ferror(f) ? SY_EIO : SY_OK;
}

void sy__table_free(sy__table *t) {
  if (!t) return;
  if (t->cells)
    for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++) free(t->cells[i]);
  free(t->cells);
  free(t->width);
  free(t);
}

sy_rc sy__table_print_rows(size_t ncols, const char *const *headers, const json_t *arr, sy__row_fn row_of, FILE *f) {
  sy_rc rc = SY_OK;
  sy__table *t = NULL;
  size_t i;
  json_t *e;
  rc = sy__table_new(ncols, headers, &t);
  if (rc) goto out;
  json_array_foreach(arr, i, e) {
    rc = row_of(t, e);
    if (rc) goto out;
  }
  rc = sy__table_print(t, f);
out:
  sy__table_free(t);
  return rc;
}

/* ---- JSON cells ------------------------------------------------------------------------ */

/* Bounded writer: keeps what fits, remembers whether anything was cut. */
typedef struct cell_w {
  char *p;
  size_t len, cap, cp, maxcp;
  int cut;
} cell_w;

static void w_put(cell_w *w, const char *s, size_t n) {
  for (size_t i = 0; i < n && !w->cut; i++) {
    unsigned char c = (unsigned char)s[i];
    int starts_cp = (c & 0xC0) != 0x80;
    if (starts_cp && w->cp == w->maxcp) {
      w->cut = 1;
      break;
    }
    if (w->len + 1 >= w->cap) {
      w->cut = 1;
      break;
    }
    w->p[w->len++] = (char)c;
    if (starts_cp) w->cp++;
  }
  w->p[w->len] = 0;
}

static void w_str(cell_w *w, const char *s) { w_put(w, s, strlen(s)); }

static void w_scalar(cell_w *w, const json_t *v) {
  char num[64];
  switch (json_typeof(v)) {
  case JSON_STRING: w_put(w, json_string_value(v), json_string_length(v)); break;
  case JSON_INTEGER:
    snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    w_str(w, num);
    break;
  case JSON_REAL:
    snprintf(num, sizeof num, "%g", json_real_value(v));
    w_str(w, num);
    break;
  case JSON_TRUE: w_str(w, "true"); break;
  case JSON_FALSE: w_str(w, "false"); break;
  case JSON_NULL: w_str(w, "-"); break;
  default: w_str(w, "…"); break; /* nested containers: not worth a cell */
  }
}

void sy__json_cell(const json_t *v, size_t maxcp, char *out, size_t cap) {
  /* keep room for the "…" (3 bytes, one code point) that marks a cut */
  if (cap < 8) {
    if (cap) out[0] = 0;
    return;
  }
  cell_w w = {out, 0, cap - 3, 0, maxcp ? maxcp : 1, 0};
  out[0] = 0;
  if (!v) {
    w_str(&w, "-");
  } else if (json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      if (i) w_str(&w, ",");
      w_scalar(&w, e);
    }
    if (json_array_size(v) == 0) w_str(&w, "-");
  } else if (json_is_object(v)) {
    const char *k;
    json_t *e;
    int first = 1;
    json_object_foreach((json_t *)v, k, e) {
      if (!first) w_str(&w, ",");
      first = 0;
      w_str(&w, k);
      w_str(&w, "=");
      w_scalar(&w, e);
    }
    if (first) w_str(&w, "-");
  } else {
    w_scalar(&w, v);
  }
  if (w.cut) { /* drop the last (maybe partial) code point kept, to make room for the "…" */
    if (w.len) {
      do w.len--;
      while (w.len && ((unsigned char)out[w.len] & 0xC0) == 0x80);
    }
    memcpy(out + w.len, "\xe2\x80\xa6", 4);
  }
}

void sy__reason_cell(const json_t *e, char *out, size_t cap) {
  const json_t *r = json_object_get(e, "reason");
  if (json_is_string(r) && json_string_length(r))
    sy__json_cell(r, SY__REASON_CELL, out, cap);
  else
    snprintf(out, cap, "-");
}

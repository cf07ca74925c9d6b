/* flag_match.c — the constraint operators of flag rules: their values parsed once, and
 * matched against a context attribute without allocating. */
#include "core/flag_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/civil.h"

static const char *const op_names[OP_COUNT] = {
    "IN",        "NOT_IN",    "STR_STARTS_WITH", "STR_ENDS_WITH", "STR_CONTAINS", "NUM_EQ",
    "NUM_GT",    "NUM_GTE",   "NUM_LT",          "NUM_LTE",       "DATE_AFTER",   "DATE_BEFORE",
    "SEMVER_EQ", "SEMVER_GT", "SEMVER_LT",       "REGEX",         "IN_CIDR",
};

int sy__flag_op_parse(const char *s) {
  for (int i = 0; i < OP_COUNT; i++)
    if (strcmp(s, op_names[i]) == 0) return i;
  return -1;
}

const char *sy__flag_op_name(flag_op op) { return op >= 0 && op < OP_COUNT ? op_names[op] : "?"; }

void sy__flag_fmt_num(double d, int integer, char *out, size_t outsz) {
  if (!isfinite(d)) {
    snprintf(out, outsz, "%s", isnan(d) ? "nan" : d < 0 ? "-inf" : "inf");
    return;
  }
  if (integer && fabs(d) < 9e15) {
    snprintf(out, outsz, "%.0f", d);
    return;
  }
  for (int p = 1; p <= 17; p++) {
    snprintf(out, outsz, "%.*g", p, d);
    if (strtod(out, NULL) == d) break;
  }
  if (!strpbrk(out, ".eE")) {
    size_t n = strlen(out);
    if (n + 3 <= outsz) memcpy(out + n, ".0", 3);
  }
}

void sy__flag_fmt_json_num(const json_t *n, char *out, size_t outsz) {
  if (json_is_integer(n))
    snprintf(out, outsz, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
  else
    sy__flag_fmt_num(json_number_value(n), 0, out, outsz);
}

/* ---- parsers shared by values and context attributes ---- */

/* A whole numeric string (no spaces, finite). 0 on success. */
static int parse_num(const char *s, size_t len, double *out) {
  char *end;
  if (!len || strlen(s) != len || isspace((unsigned char)s[0])) return -1;
  double d = strtod(s, &end);
  if (*end || !isfinite(d)) return -1;
  *out = d;
  return 0;
}

/* An ISO 8601 time, or a date alone (midnight UTC). Milliseconds, or 0 on success. */
static int parse_date(const char *s, size_t len, int64_t *out) {
  char buf[48];
  if (strlen(s) != len) return -1;
  if (len == 10) {
    memcpy(buf, s, 10);
    memcpy(buf + 10, "T00:00:00Z", 11);
    s = buf;
  }
  int64_t t = sy__parse_time(s);
  if (t == -1) return -1;
  *out = t;
  return 0;
}

static int digits_u64(const char **p, const char *end, uint64_t *out) {
  const char *s = *p;
  uint64_t v = 0;
  if (s == end || *s < '0' || *s > '9') return -1;
  for (; s < end && *s >= '0' && *s <= '9'; s++) {
    if (v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *p = s;
  *out = v;
  return 0;
}

/* MAJOR.MINOR.PATCH[-pre][+build], an optional leading 'v'. 0 on success; pre borrows s. */
static int parse_semver(const char *s, size_t len, flag_semver *out) {
  const char *p = s, *end = s + len;
  memset(out, 0, sizeof *out);
  if (p < end && (*p == 'v' || *p == 'V')) p++;
  for (int i = 0; i < 3; i++) {
    if (i && (p == end || *p++ != '.')) return -1;
    if (digits_u64(&p, end, &out->v[i])) return -1;
  }
  if (p < end && *p == '-') {
    const char *pre = ++p;
    while (p < end && (isalnum((unsigned char)*p) || *p == '-' || *p == '.')) p++;
    if (p == pre || pre[0] == '.' || p[-1] == '.') return -1;
    out->pre = pre;
    out->prelen = (size_t)(p - pre);
  }
  if (p < end && *p == '+') {
    const char *b = ++p;
    while (p < end && (isalnum((unsigned char)*p) || *p == '-' || *p == '.')) p++;
    if (p == b) return -1;
  }
  return p == end ? 0 : -1;
}

static int all_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return n > 0;
}

/* Semantic Versioning 2.0 precedence: -1, 0 or 1. */
static int semver_cmp(const flag_semver *a, const flag_semver *b) {
  for (int i = 0; i < 3; i++)
    if (a->v[i] != b->v[i]) return a->v[i] < b->v[i] ? -1 : 1;
  if (!a->pre || !b->pre) return a->pre ? -1 : b->pre ? 1 : 0;
  const char *p = a->pre, *pe = a->pre + a->prelen, *q = b->pre, *qe = b->pre + b->prelen;
  while (p < pe && q < qe) {
    const char *pd = memchr(p, '.', (size_t)(pe - p)), *qd = memchr(q, '.', (size_t)(qe - q));
    size_t pn = (size_t)((pd ? pd : pe) - p), qn = (size_t)((qd ? qd : qe) - q);
    int pnum = all_digits(p, pn), qnum = all_digits(q, qn), c;
    if (pnum && qnum) {
      while (pn > 1 && *p == '0') p++, pn--;
      while (qn > 1 && *q == '0') q++, qn--;
      c = pn != qn ? (pn < qn ? -1 : 1) : memcmp(p, q, pn);
    } else if (pnum != qnum) {
      c = pnum ? -1 : 1;
    } else {
      c = memcmp(p, q, pn < qn ? pn : qn);
      if (!c && pn != qn) c = pn < qn ? -1 : 1;
    }
    if (c) return c < 0 ? -1 : 1;
    p += pn + (pd ? 1 : 0);
    q += qn + (qd ? 1 : 0);
    if (!pd || !qd) {
      if (pd || qd) return pd ? 1 : -1;
      return 0;
    }
  }
  return 0;
}

/* An IPv4 or IPv6 address; IPv4-mapped IPv6 addresses count as IPv4. 0 on success. */
static int parse_addr(const char *s, size_t len, int *family, unsigned char addr[16]) {
  char buf[64];
  if (len >= sizeof buf || strlen(s) != len) return -1;
  memcpy(buf, s, len);
  buf[len] = 0;
  memset(addr, 0, 16);
  if (!memchr(buf, ':', len)) {
    if (inet_pton(AF_INET, buf, addr) != 1) return -1;
    *family = 4;
    return 0;
  }
  if (inet_pton(AF_INET6, buf, addr) != 1) return -1;
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(addr, mapped, 12) == 0) {
    memmove(addr, addr + 12, 4);
    memset(addr + 4, 0, 12);
    *family = 4;
    return 0;
  }
  *family = 6;
  return 0;
}

/* "addr/bits" or "addr" (one host). 0 on success. */
static int parse_cidr(const char *s, size_t len, flag_cidr *out) {
  const char *slash = memchr(s, '/', len);
  size_t alen = slash ? (size_t)(slash - s) : len;
  char buf[64];
  if (alen >= sizeof buf) return -1;
  memcpy(buf, s, alen);
  buf[alen] = 0;
  if (!memchr(buf, ':', alen)) {
    if (inet_pton(AF_INET, buf, out->addr) != 1) return -1;
    out->family = 4;
  } else {
    if (inet_pton(AF_INET6, buf, out->addr) != 1) return -1;
    out->family = 6;
  }
  int max = out->family == 4 ? 32 : 128;
  out->bits = max;
  if (slash) {
    const char *p = slash + 1;
    uint64_t b;
    if (digits_u64(&p, s + len, &b) || p != s + len || b > (uint64_t)max || p - slash > 4) return -1;
    out->bits = (int)b;
  }
  return 0;
}

static int cidr_contains(const flag_cidr *c, int family, const unsigned char addr[16]) {
  if (c->family != family) return 0;
  int full = c->bits / 8, rest = c->bits % 8;
  if (memcmp(c->addr, addr, (size_t)full)) return 0;
  if (!rest) return 1;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (c->addr[full] & mask) == (addr[full] & mask);
}

/* ---- values ---- */

static int is_num_op(flag_op op) { return op >= OP_NUM_EQ && op <= OP_NUM_LTE; }
static int is_date_op(flag_op op) { return op == OP_DATE_AFTER || op == OP_DATE_BEFORE; }
static int is_semver_op(flag_op op) { return op >= OP_SEMVER_EQ && op <= OP_SEMVER_LT; }

int sy__flag_value_compile(flag_constraint *c, const json_t *v, flag_value *out, char *msg, size_t msgsz) {
  memset(out, 0, sizeof *out);
  if (json_is_number(v) && is_num_op(c->op)) { /* a JSON number is taken as it is */
    out->num = json_number_value(v);
    return 0;
  }
  if (!json_is_string(v)) {
    snprintf(msg, msgsz, "must be a string");
    return -1;
  }
  out->s = json_string_value(v);
  out->len = json_string_length(v);
  if (is_num_op(c->op)) {
    if (parse_num(out->s, out->len, &out->num)) {
      snprintf(msg, msgsz, "not a number: %.64s", out->s);
      return -1;
    }
  } else if (is_date_op(c->op)) {
    if (parse_date(out->s, out->len, &out->ms)) {
      snprintf(msg, msgsz, "not an ISO 8601 date: %.64s", out->s);
      return -1;
    }
  } else if (is_semver_op(c->op)) {
    if (parse_semver(out->s, out->len, &out->sv)) {
      snprintf(msg, msgsz, "not a semantic version: %.64s", out->s);
      return -1;
    }
  } else if (c->op == OP_IN_CIDR) {
    if (parse_cidr(out->s, out->len, &out->cidr)) {
      snprintf(msg, msgsz, "not a CIDR: %.64s", out->s);
      return -1;
    }
  } else if (c->op == OP_REGEX) {
    int err = 0;
    PCRE2_SIZE off = 0;
    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (c->ci ? PCRE2_CASELESS : 0);
    out->re = pcre2_compile((PCRE2_SPTR)out->s, out->len, opts, &err, &off, NULL);
    if (!out->re) {
      PCRE2_UCHAR emsg[120];
      pcre2_get_error_message(err, emsg, sizeof emsg);
      snprintf(msg, msgsz, "invalid regular expression: %s at offset %zu", (const char *)emsg, (size_t)off);
      return -1;
    }
  }
  return 0;
}

/* Byte order, or ASCII case-folded order for a case-insensitive constraint. */
static int text_cmp(const char *a, size_t an, const char *b, size_t bn, int ci) {
  size_t n = an < bn ? an : bn;
  for (size_t i = 0; i < n; i++) {
    int x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (ci) x = tolower(x), y = tolower(y);
    if (x != y) return x < y ? -1 : 1;
  }
  return an == bn ? 0 : an < bn ? -1 : 1;
}

static int cmp_values(const void *a, const void *b) {
  const flag_value *x = a, *y = b;
  return text_cmp(x->s, x->len, y->s, y->len, 0);
}
static int cmp_values_ci(const void *a, const void *b) {
  const flag_value *x = a, *y = b;
  return text_cmp(x->s, x->len, y->s, y->len, 1);
}

void sy__flag_values_sort(flag_constraint *c) {
  if (c->nvals > 1) qsort(c->vals, c->nvals, sizeof c->vals[0], c->ci ? cmp_values_ci : cmp_values);
}

void sy__flag_values_free(flag_constraint *c) {
  for (size_t i = 0; i < c->nvals; i++) pcre2_code_free(c->vals[i].re);
}

/* ---- matching ---- */

/* One match data per thread, made at the first regex match of the thread and freed when
 * it exits: compiled flags stay immutable and shareable, and a match allocates nothing. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;
static int md_key_ok;
static void md_free(void *md) { pcre2_match_data_free(md); }
static void md_key_make(void) { md_key_ok = pthread_key_create(&md_key, md_free) == 0; }

static pcre2_match_data *thread_match_data(void) {
  pthread_once(&md_once, md_key_make);
  if (!md_key_ok) return NULL;
  pcre2_match_data *md = pthread_getspecific(md_key);
  if (!md && (md = pcre2_match_data_create(1, NULL)) && pthread_setspecific(md_key, md)) {
    pcre2_match_data_free(md);
    md = NULL;
  }
  return md;
}

/* The attribute as text: a string as it is, a number or a boolean as JSON writes it.
 * -1 for any other type. */
static int attr_text(const json_t *v, char *buf, size_t bufsz, const char **s, size_t *len) {
  if (json_is_string(v)) {
    *s = json_string_value(v);
    *len = json_string_length(v);
  } else if (json_is_number(v)) {
    sy__flag_fmt_json_num(v, buf, bufsz);
    *s = buf;
    *len = strlen(buf);
  } else if (json_is_boolean(v)) {
    *s = json_is_true(v) ? "true" : "false";
    *len = strlen(*s);
  } else {
    return -1;
  }
  return 0;
}

static int starts_with(const char *s, size_t n, const char *p, size_t pn, int ci) {
  return pn <= n && text_cmp(s, pn, p, pn, ci) == 0;
}
static int ends_with(const char *s, size_t n, const char *p, size_t pn, int ci) {
  return pn <= n && text_cmp(s + n - pn, pn, p, pn, ci) == 0;
}
static int contains(const char *s, size_t n, const char *p, size_t pn, int ci) {
  if (!pn) return 1;
  for (size_t i = 0; i + pn <= n; i++) {
    if (!ci) { /* skip to the next place the first byte occurs */
      const char *q = memchr(s + i, p[0], n - pn - i + 1);
      if (!q) return 0;
      i = (size_t)(q - s);
    }
    if (text_cmp(s + i, pn, p, pn, ci) == 0) return 1;
  }
  return 0;
}

/* The values of c as a short list for an explanation: "[NL, BE]". */
static void values_list(const flag_constraint *c, char *out, size_t outsz) {
  size_t used = 0;
  int n = snprintf(out, outsz, "[");
  used = n > 0 ? (size_t)n : 0;
  for (size_t i = 0; i < c->nvals && used < outsz; i++) {
    if (i == 3) {
      n = snprintf(out + used, outsz - used, ", … %zu more", c->nvals - 3);
      used += n > 0 ? (size_t)n : 0;
      break;
    }
    char num[40] = "";
    if (!c->vals[i].s) sy__flag_fmt_num(c->vals[i].num, 0, num, sizeof num);
    n = snprintf(out + used, outsz - used, "%s%.40s", i ? ", " : "", c->vals[i].s ? c->vals[i].s : num);
    used += n > 0 ? (size_t)n : 0;
  }
  if (used < outsz) snprintf(out + used, outsz - used, "]");
}

int sy__flag_constraint_match(const flag_constraint *c, const json_t *ctx, char *why, size_t whysz) {
  const json_t *v = json_object_get(ctx, c->attr);
  char tbuf[48], head[200], list[120];
  const char *s = NULL;
  size_t n = 0;
  int hit = 0, bad = 0;
  const char *what = "does not match";
  if (why) {
    values_list(c, list, sizeof list);
    snprintf(head, sizeof head, "%.48s %s%s %s", c->attr, c->inverted ? "NOT " : "", sy__flag_op_name(c->op), list);
  }
  if (!v || json_is_null(v)) {
    if (why)
      snprintf(why, whysz, "%.48s: missing in the context%s", c->attr, c->inverted ? " (inverted: matches)" : "");
    return c->inverted;
  }
  int text_ok = attr_text(v, tbuf, sizeof tbuf, &s, &n) == 0;
  switch (c->op) {
  case OP_IN:
  case OP_NOT_IN: {
    if (!text_ok) {
      bad = 1;
      break;
    }
    flag_value key = {.s = s, .len = n};
    hit = bsearch(&key, c->vals, c->nvals, sizeof c->vals[0], c->ci ? cmp_values_ci : cmp_values) != NULL;
    what = hit ? "is in the list" : "is not in the list";
    if (c->op == OP_NOT_IN) hit = !hit;
    break;
  }
  case OP_STR_STARTS_WITH:
  case OP_STR_ENDS_WITH:
  case OP_STR_CONTAINS:
    if (!text_ok) {
      bad = 1;
      break;
    }
    for (size_t i = 0; i < c->nvals && !hit; i++) {
      const flag_value *x = &c->vals[i];
      hit = c->op == OP_STR_STARTS_WITH ? starts_with(s, n, x->s, x->len, c->ci)
            : c->op == OP_STR_ENDS_WITH ? ends_with(s, n, x->s, x->len, c->ci)
                                        : contains(s, n, x->s, x->len, c->ci);
    }
    break;
  case OP_NUM_EQ:
  case OP_NUM_GT:
  case OP_NUM_GTE:
  case OP_NUM_LT:
  case OP_NUM_LTE: {
    double d;
    if (json_is_number(v))
      d = json_number_value(v);
    else if (!json_is_string(v) || parse_num(s, n, &d)) {
      bad = 1;
      what = "is not a number";
      break;
    }
    for (size_t i = 0; i < c->nvals && !hit; i++) {
      double x = c->vals[i].num;
      hit = c->op == OP_NUM_EQ    ? d == x
            : c->op == OP_NUM_GT  ? d > x
            : c->op == OP_NUM_GTE ? d >= x
            : c->op == OP_NUM_LT  ? d < x
                                  : d <= x;
    }
    break;
  }
  case OP_DATE_AFTER:
  case OP_DATE_BEFORE: {
    int64_t t;
    if (json_is_number(v)) {
      double secs = json_number_value(v); /* a number is Unix seconds */
      if (!(fabs(secs) < 9e12)) {
        bad = 1;
        break;
      }
      t = (int64_t)llround(secs * 1000.0);
    } else if (!json_is_string(v) || parse_date(s, n, &t)) {
      bad = 1;
      what = "is not an ISO 8601 date";
      break;
    }
    for (size_t i = 0; i < c->nvals && !hit; i++) hit = c->op == OP_DATE_AFTER ? t > c->vals[i].ms : t < c->vals[i].ms;
    break;
  }
  case OP_SEMVER_EQ:
  case OP_SEMVER_GT:
  case OP_SEMVER_LT: {
    flag_semver sv;
    if (!json_is_string(v) || parse_semver(s, n, &sv)) {
      bad = 1;
      what = "is not a semantic version";
      break;
    }
    for (size_t i = 0; i < c->nvals && !hit; i++) {
      int r = semver_cmp(&sv, &c->vals[i].sv);
      hit = c->op == OP_SEMVER_EQ ? r == 0 : c->op == OP_SEMVER_GT ? r > 0 : r < 0;
    }
    break;
  }
  case OP_REGEX: {
    pcre2_match_data *md = text_ok ? thread_match_data() : NULL;
    if (!text_ok) {
      bad = 1;
      break;
    }
    if (!md) {
      what = "could not be matched (out of memory)";
      break;
    }
    /* a match that errs (over the match limit) does not match */
    for (size_t i = 0; i < c->nvals && !hit; i++)
      hit = pcre2_match(c->vals[i].re, (PCRE2_SPTR)s, n, 0, 0, md, (pcre2_match_context *)c->mctx) >= 0;
    break;
  }
  case OP_IN_CIDR: {
    int family;
    unsigned char addr[16];
    if (!json_is_string(v) || parse_addr(s, n, &family, addr)) {
      bad = 1;
      what = "is not an IP address";
      break;
    }
    for (size_t i = 0; i < c->nvals && !hit; i++) hit = cidr_contains(&c->vals[i].cidr, family, addr);
    break;
  }
  default: bad = 1; break;
  }
  if (hit && c->op != OP_IN && c->op != OP_NOT_IN) what = "matches";
  if (why) {
    if (bad && !text_ok)
      snprintf(why, whysz, "%s: a %s, not a value it compares", head,
               json_is_object(v)  ? "object"
               : json_is_array(v) ? "array"
                                  : "value");
    else
      snprintf(why, whysz, "%s: \"%.60s\" %s%s", head, s, what,
               c->inverted ? (hit ? " (inverted: does not match)" : " (inverted: matches)") : "");
  }
  return c->inverted ? !hit : hit;
}

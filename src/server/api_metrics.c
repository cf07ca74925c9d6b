/* api_metrics.c — the pushed-metrics API: a batch checked whole then added to the in-memory
 * store (control/pushed.c), the counts read back per variant, and the Prometheus cache's
 * answer to one query (control/promq.c). */
#include "server/api_metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/promq.h"
#include "control/controller.h"
#include "control/pushed.h"
#include "core/param.h"

#define ITEMS_MAX 1000
#define OBSERVATIONS_MAX 10000
#define COUNT_MAX 1000000000LL
#define LATENCY_MS_MAX 1e7
#define COST_MAX 1e6
#define VARIANT_MAX 64
#define FLAG_MAX 1011 /* the name "/" + key in a 1 KiB buffer */
#define WINDOW_MS (5 * 60 * 1000)

/* A checked item of a batch borrows its strings from r->json. */
typedef sy_pushed_item item;

/* Refuses the batch: 400 naming metrics[i].field; returns -1. */
__attribute__((format(printf, 4, 5))) static int refuse(sy_req *r, size_t i, const char *field, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  sy__reply_error(r, 400, "ValidationException", "metrics[%zu].%s%s", i, field, what);
  return -1;
}

/* A count field: absent is 0; otherwise a JSON integer from 0 to COUNT_MAX. */
static int count_field(sy_req *r, size_t i, json_t *obj, const char *key, int64_t *out) {
  json_t *v = json_object_get(obj, key);
  *out = 0;
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > COUNT_MAX)
    return refuse(r, i, key, " must be an integer from 0 to 1000000000");
  *out = (int64_t)json_integer_value(v);
  return 0;
}

/* Whether s (n bytes) holds a control character; names with one are refused. */
static int has_control(const char *s, size_t n) {
  for (size_t k = 0; k < n; k++)
    if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f) return 1;
  return 0;
}

/* Whether key names a flag in the snapshot s: its document "/"+key, of kind Flag. */
static int flag_exists(const sy_snap *s, const char *key, size_t len) {
  char name[FLAG_MAX + 2];
  if (len > FLAG_MAX) return 0;
  name[0] = '/';
  memcpy(name + 1, key, len);
  name[len + 1] = 0;
  const sy_param *p = sy__snap_get(s, name, len + 1);
  return p && p->latest && p->latest->kind == SY_KIND_FLAG;
}

/* Checks item i of the batch into *it; -1 with the reply queued. *observations counts the
 * latency observations of the batch so far. */
static int check_item(sy_req *r, const sy_snap *snap, size_t i, json_t *m, item *it, size_t *observations) {
  if (!json_is_object(m)) {
    sy__reply_error(r, 400, "ValidationException", "metrics[%zu] must be an object, not %s", i, sy__json_type_name(m));
    return -1;
  }
  const char *key;
  json_t *v;
  json_object_foreach(m, key, v) {
    static const char *const known[] = {"flag", "variant", "requests", "errors", "latency_ms", "cost_usd", "images"};
    size_t k = 0;
    while (k < sizeof known / sizeof *known && strcmp(key, known[k])) k++;
    if (k == sizeof known / sizeof *known) {
      char field[80];
      snprintf(field, sizeof field, "%.64s%s", key, strlen(key) > 64 ? "..." : "");
      return refuse(r, i, field, ": unknown key; one of flag, variant, requests, errors, latency_ms, cost_usd, images");
    }
  }
  memset(it, 0, sizeof *it);
  v = json_object_get(m, "flag");
  if (!v) return refuse(r, i, "flag", " is required");
  size_t len = json_string_length(v);
  if (!json_is_string(v) || !len || len > FLAG_MAX)
    return refuse(r, i, "flag", " must be a flag's key, a string of 1 to %d characters", FLAG_MAX);
  it->flag = json_string_value(v);
  if (it->flag[0] == '/') it->flag++, len--;
  if (!len || has_control(it->flag, len) || strlen(it->flag) != len || !flag_exists(snap, it->flag, len))
    return refuse(r, i, "flag", ": no flag named %.200s", it->flag);
  v = json_object_get(m, "variant");
  if (!v) return refuse(r, i, "variant", " is required");
  len = json_string_length(v);
  if (!json_is_string(v) || !len || len > VARIANT_MAX || has_control(json_string_value(v), len) ||
      strlen(json_string_value(v)) != len)
    return refuse(r, i, "variant", " must be a string of 1 to %d printable characters", VARIANT_MAX);
  it->variant = json_string_value(v);
  if (count_field(r, i, m, "requests", &it->c.requests) || count_field(r, i, m, "errors", &it->c.errors) ||
      count_field(r, i, m, "images", &it->c.images))
    return -1;
  if (it->c.errors > it->c.requests)
    return refuse(r, i, "errors", " (%lld) may not exceed requests (%lld)", (long long)it->c.errors,
                  (long long)it->c.requests);
  v = json_object_get(m, "cost_usd");
  if (v) {
    double d = json_number_value(v);
    if (!json_is_number(v) || !(d >= 0 && d <= COST_MAX))
      return refuse(r, i, "cost_usd", " must be a number from 0 to 1000000");
    it->c.cost_usd = d;
  }
  v = json_object_get(m, "latency_ms");
  if (v) {
    if (!json_is_array(v)) return refuse(r, i, "latency_ms", " must be an array of numbers");
    size_t n = json_array_size(v);
    if (n > OBSERVATIONS_MAX - *observations)
      return refuse(r, i, "latency_ms", ": a batch takes at most %d latency observations", OBSERVATIONS_MAX);
    *observations += n;
    for (size_t k = 0; k < n; k++) {
      json_t *o = json_array_get(v, k);
      double ms = json_number_value(o);
      if (!json_is_number(o) || !(ms >= 0 && ms <= LATENCY_MS_MAX)) {
        char field[48];
        snprintf(field, sizeof field, "latency_ms[%zu]", k);
        return refuse(r, i, field, " must be a number of milliseconds from 0 to 10000000");
      }
      sy__hist_observe(&it->c.latency, llround(ms * 1000.0));
    }
  }
  return 0;
}

/* POST /api/v1/metrics: the whole batch is checked before any of it counts. */
static enum MHD_Result push(sy_req *r) {
  if (sy__require_quiet(r, SY_SCOPE_WRITE) && !(r->scopes & SY_SCOPE_EVALUATE))
    return sy__reply_error(r, 403, "AccessDenied", "token %s lacks the evaluate or write scope",
                           r->actor ? r->actor : "?");
  if (sy__query_only(r, "") || sy__parse_body(r)) return MHD_YES;
  const char *key;
  json_t *v;
  json_object_foreach(r->json, key, v) {
    if (strcmp(key, "metrics"))
      return sy__reply_error(r, 400, "ValidationException", "%.64s: unknown key; the body is {\"metrics\": [...]}",
                             key);
  }
  json_t *arr = json_object_get(r->json, "metrics");
  if (!json_is_array(arr)) return sy__reply_error(r, 400, "ValidationException", "metrics must be an array of items");
  size_t n = json_array_size(arr);
  if (n > ITEMS_MAX)
    return sy__reply_error(r, 400, "ValidationException", "metrics has %zu items; a batch takes at most %d", n,
                           ITEMS_MAX);
  item *items = n ? sy__arena_alloc(r->arena, n * sizeof *items) : NULL; /* at most 1000: ~200 KiB */
  if (n && !items) return sy__reply_error(r, 503, "Unavailable", "out of memory");
  size_t observations = 0;
  int bad = 0;
  const sy_snap *snap = sy__snap_enter(r->srv->store);
  for (size_t i = 0; i < n && !bad; i++) bad = check_item(r, snap, i, json_array_get(arr, i), &items[i], &observations);
  sy__snap_leave(r->srv->store);
  if (bad) return MHD_YES;
  sy_rc rc = sy__pushed_add_all(r->srv->pushed, items, n);
  if (rc == SY_ETOOLARGE)
    return sy__reply_error(r, 429, "TooManySeries",
                           "the server keeps at most %d (flag, variant) series; nothing of the batch was counted",
                           SY_PUSHED_SERIES_MAX);
  if (rc) return sy__reply_rc(r, rc, NULL);
  sy__controller_poke(r->srv->controller); /* a breach they show rolls back now, not at the next period */
  return sy__reply_json(r, 200, json_pack("{sI}", "accepted", (json_int_t)n));
}

/* m over c as a JSON number, or null when it has no value. */
static json_t *metric_json(const sy_counts *c, sy_metric m) {
  double d;
  if (sy__metric_value(c, m, &d) || !isfinite(d)) return json_null();
  return m == SY_METRIC_REQUESTS || m == SY_METRIC_ERRORS ? json_integer((json_int_t)d) : json_real(d);
}

static json_t *counts_json(const sy_counts *c) {
  static const sy_metric shown[] = {SY_METRIC_REQUESTS, SY_METRIC_ERRORS, SY_METRIC_ERROR_RATE, SY_METRIC_P50_MS,
                                    SY_METRIC_P95_MS,   SY_METRIC_P99_MS, SY_METRIC_COST_USD};
  json_t *o = json_object();
  if (!o) return NULL;
  for (size_t k = 0; k < sizeof shown / sizeof *shown; k++)
    if (json_object_set_new(o, sy__metric_name(shown[k]), metric_json(c, shown[k]))) {
      json_decref(o);
      return NULL;
    }
  if (json_object_set_new(o, "images", json_integer((json_int_t)c->images))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* The variants pushed for a flag, gathered under the pushed store's lock (the windows are
 * read after it, one call each). */
typedef struct variants {
  json_t *names; /* array of strings */
  int failed;
} variants;

static int add_variant(void *ctx, const char *variant, const sy_counts *total) {
  variants *vs = ctx;
  (void)total;
  if (json_array_append_new(vs->names, json_string(variant))) vs->failed = 1;
  return vs->failed;
}

/* GET /api/v1/metrics?flag=KEY */
static enum MHD_Result show(sy_req *r) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "flag")) return MHD_YES;
  const char *flag = sy__query(r, "flag");
  if (!flag) return sy__reply_error(r, 400, "ValidationException", "flag is required: GET /api/v1/metrics?flag=KEY");
  if (flag[0] == '/') flag++;
  size_t len = strlen(flag);
  const sy_snap *snap = sy__snap_enter(r->srv->store);
  int exists = len && flag_exists(snap, flag, len);
  sy__snap_leave(r->srv->store);
  if (!exists) return sy__reply_error(r, 404, "FlagNotFound", "flag %.200s not found", flag);
  variants vs = {json_array(), 0};
  json_t *out = json_object();
  if (!vs.names || !out) goto oom;
  sy__pushed_each(r->srv->pushed, flag, add_variant, &vs);
  if (vs.failed) goto oom;
  int64_t now = sy__clock_now(r->srv->clock);
  for (size_t k = 0; k < json_array_size(vs.names); k++) {
    const char *variant = json_string_value(json_array_get(vs.names, k));
    sy_counts total, recent;
    sy__pushed_total(r->srv->pushed, flag, variant, &total);
    sy__pushed_range(r->srv->pushed, flag, variant, now - WINDOW_MS, now + 1, &recent);
    json_t *t = counts_json(&total), *l = counts_json(&recent);
    if (!t || !l || json_object_set_new(out, variant, json_pack("{so so}", "total", t, "last_5m", l))) goto oom;
  }
  json_decref(vs.names);
  return sy__reply_json(r, 200, json_pack("{ss so}", "flag", flag, "variants", out));
oom:
  json_decref(vs.names);
  json_decref(out);
  return sy__reply_error(r, 503, "Unavailable", "out of memory");
}

/* GET /api/v1/metrics/prometheus?query=Q[&url=U]: the cache's answer to Q at U (default:
 * the /switchyard/prometheus/url parameter), as a gate would read it. */
static enum MHD_Result prometheus(sy_req *r) {
  if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "query url")) return MHD_YES;
  const char *query = sy__query(r, "query"), *url = sy__query(r, "url");
  if (!query) return sy__reply_error(r, 400, "ValidationException", "query is required");
  if (!url) {
    const sy_snap *snap = sy__snap_enter(r->srv->store);
    const sy_param *p = sy__snap_get(snap, SY_PROMETHEUS_URL_PARAM, strlen(SY_PROMETHEUS_URL_PARAM));
    url = p && p->latest ? sy__arena_strdup(r->arena, p->latest->value) : NULL;
    sy__snap_leave(r->srv->store);
    if (!url)
      return sy__reply_json(
          r, 200,
          json_pack("{ss sb}", "error", "no url given and no " SY_PROMETHEUS_URL_PARAM " parameter", "known", 0));
  }
  double value = 0;
  char why[512];
  if (sy__promq_get(r->srv->promq, url, query, &value, why, sizeof why))
    return sy__reply_json(r, 200, json_pack("{ss sb}", "error", why, "known", 0));
  if (isinf(value)) return sy__reply_json(r, 200, json_pack("{ss}", "value", value > 0 ? "+Inf" : "-Inf"));
  return sy__reply_json(r, 200, json_pack("{sf}", "value", value));
}

enum MHD_Result sy__api_pushed_metrics(sy_req *r, const char *rest) {
  if (!*rest || !strcmp(rest, "/")) {
    if (!strcmp(r->method, "POST")) return push(r);
    if (!strcmp(r->method, "GET")) return show(r);
    return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/metrics answers GET and POST");
  }
  if (!strcmp(rest, "/prometheus")) {
    if (strcmp(r->method, "GET")) return sy__reply_error(r, 405, "MethodNotAllowed", "%s answers GET", r->path);
    return prometheus(r);
  }
  return sy__reply_error(r, 404, "NotFound", "no route for %.200s", r->path);
}

/* gw_metrics.c — the gateway's provider states and metric series, and their Prometheus text. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_int.h"

const char *const sy__gw_err_class_names[SY_GW_ERR_CLASSES] = {
    "connect", "timeout", "rate_limit", "server", "client", "bad_response", "breaker_open", "config", "budget"};

sy_gw_pstate *sy__gw_pstate(sy_gateway *gw, const sy_provider *p) {
  for (int i = 0; i < gw->npstates; i++)
    if (!strcmp(gw->pstates[i].name, p->name)) {
      gw->pstates[i].cfg = p->breaker;
      return &gw->pstates[i];
    }
  if (gw->npstates == gw->cap_pstates) {
    int cap = gw->cap_pstates ? gw->cap_pstates * 2 : 16;
    sy_gw_pstate *n = realloc(gw->pstates, (size_t)cap * sizeof *n);
    if (!n) return NULL;
    gw->pstates = n;
    gw->cap_pstates = cap;
  }
  sy_gw_pstate *ps = &gw->pstates[gw->npstates++];
  memset(ps, 0, sizeof *ps);
  snprintf(ps->name, sizeof ps->name, "%s", p->name);
  sy__breaker_init(&ps->breaker);
  ps->cfg = p->breaker;
  return ps;
}

static sy_gw_pstate *pstate_named(sy_gateway *gw, const char *name) {
  for (int i = 0; i < gw->npstates; i++)
    if (!strcmp(gw->pstates[i].name, name)) return &gw->pstates[i];
  return NULL;
}

static void minute_add(sy_gw_minute *m, int ok, int64_t dur_us, double cost, int64_t images) {
  m->requests++;
  if (images > 0) m->images += images;
  if (!ok) m->errors++;
  m->cost_usd += cost;
  if (ok) sy__hist_observe(&m->latency, dur_us);
}

/* The bucket of ring (n of width_ms) that counts the time now, emptied first if it counted an
 * older one. */
static sy_gw_minute *bucket_at(sy_gw_minute *ring, int n, int64_t width_ms, int64_t now) {
  int64_t slot = now / width_ms;
  sy_gw_minute *m = &ring[slot % n];
  if (m->slot != slot) {
    memset(m, 0, sizeof *m);
    m->slot = slot;
  }
  return m;
}

void sy__gw_pstate_note(sy_gateway *gw, const sy_provider *p, int ok, int64_t dur_us, double cost, int64_t images,
                        const char *error) {
  sy_gw_pstate *ps = sy__gw_pstate(gw, p);
  if (!ps) return;
  int64_t now = sy__clock_now(gw->clock);
  minute_add(bucket_at(ps->minutes, SY_GW_MINUTES, 60000, now), ok, dur_us, cost, images);
  minute_add(bucket_at(ps->quarters, SY_GW_QUARTERS, SY_GW_QUARTER_MS, now), ok, dur_us, cost, images);
  minute_add(&ps->total, ok, dur_us, cost, images);
  if (ok) {
    ps->last_ok_ms = now;
  } else {
    ps->last_fail_ms = now;
    snprintf(ps->last_error, sizeof ps->last_error, "%s", error ? error : "");
  }
}

static void window_of(const sy_gw_minute *src, sy_gw_window *w) {
  w->requests = src->requests;
  w->errors = src->errors;
  w->cost_usd = src->cost_usd;
  w->p50_us = sy__hist_quantile(&src->latency, 0.50);
  w->p95_us = sy__hist_quantile(&src->latency, 0.95);
  w->p99_us = sy__hist_quantile(&src->latency, 0.99);
}

/* The sum of the minutes of the last n (the current one included). */
static void window(const sy_gw_pstate *ps, int64_t minute, int n, sy_gw_window *w) {
  sy_gw_minute sum;
  memset(&sum, 0, sizeof sum);
  const sy_gw_minute *src = &ps->total;
  if (n > 0) {
    for (int i = 0; i < SY_GW_MINUTES; i++) {
      const sy_gw_minute *m = &ps->minutes[i];
      if (m->slot > minute - n && m->slot <= minute) {
        sum.requests += m->requests;
        sum.errors += m->errors;
        sum.cost_usd += m->cost_usd;
        sy__hist_merge(&sum.latency, &m->latency);
      }
    }
    src = &sum;
  }
  window_of(src, w);
}

void sy__gateway_provider_info(sy_gateway *gw, const char *name, sy_gw_pinfo *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&gw->mu);
  const sy_gw_pstate *ps = pstate_named(gw, name);
  if (ps) {
    int64_t now = sy__clock_now(gw->clock), minute = now / 60000;
    out->known = 1;
    out->breaker = sy__breaker_state(&ps->breaker, &ps->cfg, now);
    out->last_ok_ms = ps->last_ok_ms;
    out->last_fail_ms = ps->last_fail_ms;
    snprintf(out->last_error, sizeof out->last_error, "%s", ps->last_error);
    window(ps, minute, 1, &out->m1);
    window(ps, minute, 5, &out->m5);
    window(ps, minute, 60, &out->h1);
    window(ps, minute, 0, &out->total);
  }
  pthread_mutex_unlock(&gw->mu);
}

int sy__gateway_provider_series(sy_gateway *gw, const char *name, int day, sy_gw_point *out, int64_t *step_ms) {
  int n = day ? SY_GW_QUARTERS : SY_GW_MINUTES;
  int64_t width = day ? SY_GW_QUARTER_MS : 60000;
  memset(out, 0, (size_t)n * sizeof *out);
  pthread_mutex_lock(&gw->mu);
  int64_t last = sy__clock_now(gw->clock) / width;
  const sy_gw_pstate *ps = pstate_named(gw, name);
  const sy_gw_minute *ring = !ps ? NULL : day ? ps->quarters : ps->minutes;
  for (int i = 0; i < n; i++) {
    int64_t slot = last - (n - 1) + i;
    out[i].start_ms = slot * width;
    const sy_gw_minute *m = ring && slot >= 0 ? &ring[slot % n] : NULL;
    if (!m || m->slot != slot) continue;
    window_of(m, &out[i].w);
    out[i].ok = (int64_t)m->latency.count;
  }
  pthread_mutex_unlock(&gw->mu);
  *step_ms = width;
  return n;
}

static void minute_counts(const sy_gw_minute *m, sy_counts *c) {
  sy_counts one = {.requests = m->requests,
                   .errors = m->errors,
                   .images = m->images,
                   .cost_usd = m->cost_usd,
                   .latency = m->latency};
  sy__counts_add(c, &one);
}

void sy__gateway_on_failure(sy_gateway *gw, void (*fn)(void *ctx), void *ctx) {
  pthread_mutex_lock(&gw->mu);
  gw->on_failure = fn;
  gw->on_failure_ctx = ctx;
  pthread_mutex_unlock(&gw->mu);
}

int sy__gateway_provider_counts(sy_gateway *gw, const char *name, int64_t from_ms, int64_t to_ms, sy_counts *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&gw->mu);
  const sy_gw_pstate *ps = pstate_named(gw, name);
  if (ps && !from_ms && !to_ms) {
    minute_counts(&ps->total, out);
  } else if (ps) {
    int64_t first = from_ms / 60000, last = (to_ms - 1) / 60000;
    for (int i = 0; i < SY_GW_MINUTES; i++)
      if (ps->minutes[i].requests && ps->minutes[i].slot >= first && ps->minutes[i].slot <= last)
        minute_counts(&ps->minutes[i], out);
  }
  pthread_mutex_unlock(&gw->mu);
  return ps ? 0 : -1;
}

/* Series are few (providers x routes in use): found by a linear scan from the last hit. */
sy_gw_series *sy__gw_series(sy_gateway *gw, const char *provider, const char *route) {
  if (!route[0]) route = "(default)";
  for (int i = 0; i < gw->nseries; i++) {
    sy_gw_series *s = &gw->series[i];
    if (!strcmp(s->provider, provider) && !strcmp(s->route, route)) return s;
  }
  if (gw->nseries >= SY_GW_SERIES_MAX) route = "(other)";
  if (gw->nseries >= SY_GW_SERIES_MAX + 64) return NULL;
  if (gw->nseries == gw->cap_series) {
    int cap = gw->cap_series ? gw->cap_series * 2 : 16;
    sy_gw_series *n = realloc(gw->series, (size_t)cap * sizeof *n);
    if (!n) return NULL;
    gw->series = n;
    gw->cap_series = cap;
  }
  sy_gw_series *s = &gw->series[gw->nseries++];
  memset(s, 0, sizeof *s);
  snprintf(s->provider, sizeof s->provider, "%s", provider);
  snprintf(s->route, sizeof s->route, "%s", route);
  return s;
}

/* ---- Prometheus text ---- */

static void label_value(sy_jbuf *b, const char *v) {
  for (; *v; v++) {
    if (*v == '\\' || *v == '"') sy__jbuf_putc(b, '\\');
    if (*v == '\n') {
      sy__jbuf_cstr(b, "\\n");
      continue;
    }
    sy__jbuf_putc(b, *v);
  }
}

static void labels(sy_jbuf *b, const sy_gw_series *s) {
  sy__jbuf_cstr(b, "provider=\"");
  label_value(b, s->provider);
  sy__jbuf_cstr(b, "\",route=\"");
  label_value(b, s->route);
  sy__jbuf_putc(b, '"');
}

static void head(sy_jbuf *b, const char *name, const char *type, const char *help) {
  char line[512];
  snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
  sy__jbuf_cstr(b, line);
}

static void num(sy_jbuf *b, double v) {
  char t[64];
  snprintf(t, sizeof t, "%.17g", v);
  sy__jbuf_cstr(b, t);
}

static void counter(sy_jbuf *b, sy_gateway *gw, const char *name, const char *help, size_t off) {
  head(b, name, "counter", help);
  for (int i = 0; i < gw->nseries; i++) {
    const sy_gw_series *s = &gw->series[i];
    sy__jbuf_cstr(b, name);
    sy__jbuf_putc(b, '{');
    labels(b, s);
    sy__jbuf_cstr(b, "} ");
    sy__jbuf_int(b, (int64_t) * (const uint64_t *)((const char *)s + off));
    sy__jbuf_putc(b, '\n');
  }
}

static void hist_lines(sy_jbuf *b, const char *name, const sy_gw_series *s, const sy_hist *h) {
  uint64_t cum = 0;
  for (int i = 0; i <= SY_HIST_BOUNDS; i++) {
    cum += h->bucket[i];
    sy__jbuf_cstr(b, name);
    sy__jbuf_cstr(b, "_bucket{");
    if (s) {
      labels(b, s);
      sy__jbuf_putc(b, ',');
    }
    sy__jbuf_cstr(b, "le=\"");
    if (i == SY_HIST_BOUNDS)
      sy__jbuf_cstr(b, "+Inf");
    else
      num(b, (double)sy__hist_bounds_us[i] / 1e6);
    sy__jbuf_cstr(b, "\"} ");
    sy__jbuf_int(b, (int64_t)cum);
    sy__jbuf_putc(b, '\n');
  }
  const char *tails[2] = {"_sum", "_count"};
  for (int k = 0; k < 2; k++) {
    sy__jbuf_cstr(b, name);
    sy__jbuf_cstr(b, tails[k]);
    if (s) {
      sy__jbuf_putc(b, '{');
      labels(b, s);
      sy__jbuf_putc(b, '}');
    }
    sy__jbuf_putc(b, ' ');
    if (k == 0)
      num(b, (double)h->sum_us / 1e6);
    else
      sy__jbuf_int(b, (int64_t)h->count);
    sy__jbuf_putc(b, '\n');
  }
}

void sy__gateway_metrics(sy_gateway *gw, sy_jbuf *b) {
  pthread_mutex_lock(&gw->mu);
  counter(b, gw, "switchyard_gateway_requests_total", "Calls made to a provider (attempts), by provider and route.",
          offsetof(sy_gw_series, requests));
  counter(b, gw, "switchyard_gateway_successes_total", "Calls a provider answered well.", offsetof(sy_gw_series, ok));
  counter(b, gw, "switchyard_gateway_retries_total", "Retries on the same provider after a failed call.",
          offsetof(sy_gw_series, retries));
  counter(b, gw, "switchyard_gateway_fallbacks_total", "Requests moved from this provider to the next of the chain.",
          offsetof(sy_gw_series, fallbacks));
  counter(b, gw, "switchyard_gateway_images_total", "Images generated or edited.", offsetof(sy_gw_series, images));
  head(b, "switchyard_gateway_errors_total", "counter", "Failed or skipped calls, by class.");
  for (int i = 0; i < gw->nseries; i++)
    for (int c = 0; c < SY_GW_ERR_CLASSES; c++) {
      const sy_gw_series *s = &gw->series[i];
      if (!s->errors[c]) continue;
      sy__jbuf_cstr(b, "switchyard_gateway_errors_total{");
      labels(b, s);
      sy__jbuf_cstr(b, ",class=\"");
      sy__jbuf_cstr(b, sy__gw_err_class_names[c]);
      sy__jbuf_cstr(b, "\"} ");
      sy__jbuf_int(b, (int64_t)s->errors[c]);
      sy__jbuf_putc(b, '\n');
    }
  head(b, "switchyard_gateway_tokens_total", "counter", "Tokens, by direction (input, output).");
  for (int i = 0; i < gw->nseries; i++)
    for (int d = 0; d < 2; d++) {
      const sy_gw_series *s = &gw->series[i];
      sy__jbuf_cstr(b, "switchyard_gateway_tokens_total{");
      labels(b, s);
      sy__jbuf_cstr(b, d ? ",direction=\"output\"} " : ",direction=\"input\"} ");
      sy__jbuf_int(b, (int64_t)(d ? s->tokens_out : s->tokens_in));
      sy__jbuf_putc(b, '\n');
    }
  head(b, "switchyard_gateway_cost_usd_total", "counter", "Spend in US dollars, from the providers' price tables.");
  for (int i = 0; i < gw->nseries; i++) {
    sy__jbuf_cstr(b, "switchyard_gateway_cost_usd_total{");
    labels(b, &gw->series[i]);
    sy__jbuf_cstr(b, "} ");
    num(b, gw->series[i].cost_usd);
    sy__jbuf_putc(b, '\n');
  }
  head(b, "switchyard_gateway_ttfb_seconds", "histogram", "Time to the first byte (a stream: first token) of a call.");
  for (int i = 0; i < gw->nseries; i++)
    hist_lines(b, "switchyard_gateway_ttfb_seconds", &gw->series[i], &gw->series[i].ttfb);
  head(b, "switchyard_gateway_duration_seconds", "histogram", "Duration of a successful call.");
  for (int i = 0; i < gw->nseries; i++)
    hist_lines(b, "switchyard_gateway_duration_seconds", &gw->series[i], &gw->series[i].duration);
  head(b, "switchyard_gateway_overhead_seconds", "histogram",
       "Time a request spent in the gateway itself, upstream calls and backoff excluded.");
  hist_lines(b, "switchyard_gateway_overhead_seconds", NULL, &gw->overhead);
  head(b, "switchyard_gateway_breaker_state", "gauge", "A provider's circuit breaker: 0 closed, 1 open, 2 half-open.");
  int64_t now = sy__clock_now(gw->clock);
  for (int i = 0; i < gw->npstates; i++) {
    sy__jbuf_cstr(b, "switchyard_gateway_breaker_state{provider=\"");
    label_value(b, gw->pstates[i].name);
    sy__jbuf_cstr(b, "\"} ");
    sy__jbuf_int(b, (int64_t)sy__breaker_state(&gw->pstates[i].breaker, &gw->pstates[i].cfg, now));
    sy__jbuf_putc(b, '\n');
  }
  head(b, "switchyard_gateway_breaker_opens_total", "counter", "Times a provider's circuit breaker opened.");
  for (int i = 0; i < gw->npstates; i++) {
    sy__jbuf_cstr(b, "switchyard_gateway_breaker_opens_total{provider=\"");
    label_value(b, gw->pstates[i].name);
    sy__jbuf_cstr(b, "\"} ");
    sy__jbuf_int(b, (int64_t)gw->pstates[i].breaker.opens);
    sy__jbuf_putc(b, '\n');
  }
  head(b, "switchyard_gateway_client_requests_total", "counter", "Requests received by the gateway's endpoints.");
  sy__jbuf_cstr(b, "switchyard_gateway_client_requests_total ");
  sy__jbuf_int(b, (int64_t)gw->requests_total);
  sy__jbuf_putc(b, '\n');
  head(b, "switchyard_gateway_answers_total", "counter", "Answers to clients, by status class.");
  static const char *const cls[6] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
  for (int i = 0; i < 6; i++) {
    sy__jbuf_cstr(b, "switchyard_gateway_answers_total{code=\"");
    sy__jbuf_cstr(b, cls[i]);
    sy__jbuf_cstr(b, "\"} ");
    sy__jbuf_int(b, (int64_t)gw->answered_by_status[i]);
    sy__jbuf_putc(b, '\n');
  }
  pthread_mutex_unlock(&gw->mu);
}

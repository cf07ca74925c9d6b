/* upstream.c — the gateway's loop thread: every upstream call of every request runs here on
 * libcurl's multi interface (pooled keep-alive connections), so no server thread waits on a
 * provider. Attempts, timeouts, retries with backoff, fallbacks and breakers live here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gateway/gw_int.h"

enum { ABORT_NONE = 0, ABORT_FIRST_BYTE, ABORT_IDLE, ABORT_TOO_LARGE, ABORT_STREAM, ABORT_CANCEL };

#define TIMER_SLACK_MS 5 /* timers are checked this often at most while requests wait */

/* What a reservation charges when an answer's usage is unknown (a stream cut after it began). */
static double usd_resv(const sy_gw_req *q) { return (double)q->resv_nano / 1e9; }

static uint64_t next_rnd(sy_gateway *gw) {
  uint64_t x = gw->rnd;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return gw->rnd = x;
}

static int64_t tick(sy_gateway *gw) { return sy__clock_tick(gw->clock); }

static void unlink_held(sy_gw_req *q) {
  if (!q->next) return;
  q->prev->next = q->next;
  q->next->prev = q->prev;
  q->prev = q->next = NULL;
}

/* The loop lets go of q: it is answered, or its client left. */
static void drop(sy_gw_req *q) {
  q->state = Q_DONE;
  unlink_held(q);
  sy__gw_req_unref(q);
}

/* Easy handles are kept for the next attempt (reset, not rebuilt): a handle costs several
 * allocations, and the connections they use live in the multi handle anyway. lmu held. */
#define EASY_POOL_MAX 256

static CURL *easy_get(sy_gateway *gw) { return gw->neasy ? gw->easy_pool[--gw->neasy] : curl_easy_init(); }

static void easy_end(sy_gateway *gw, sy_gw_req *q) {
  if (q->easy) {
    curl_multi_remove_handle(gw->multi, q->easy);
    if (gw->neasy < EASY_POOL_MAX) {
      curl_easy_reset(q->easy);
      gw->easy_pool[gw->neasy++] = q->easy;
    } else {
      curl_easy_cleanup(q->easy);
    }
    q->easy = NULL;
  }
  curl_slist_free_all(q->hdrs);
  q->hdrs = NULL;
}

/* Reports an attempt's end to its provider's breaker: ok, failed, or neither (cancelled, or
 * the caller's own error). */
static void breaker_report(sy_gateway *gw, sy_gw_req *q, int outcome /* 1 ok, 0 fail, -1 neither */) {
  if (!q->counted) return;
  q->counted = 0;
  const sy_provider *p = q->plan[q->cur].p;
  int64_t now = sy__clock_now(gw->clock);
  sy_breaker_state before = SY_BREAKER_CLOSED, after = SY_BREAKER_CLOSED;
  pthread_mutex_lock(&gw->mu);
  sy_gw_pstate *ps = sy__gw_pstate(gw, p);
  if (ps) {
    before = sy__breaker_state(&ps->breaker, &p->breaker, now);
    if (outcome < 0)
      sy__breaker_cancel(&ps->breaker);
    else
      sy__breaker_result(&ps->breaker, &p->breaker, now, outcome);
    after = sy__breaker_state(&ps->breaker, &p->breaker, now);
  }
  pthread_mutex_unlock(&gw->mu);
  if (before != after && (after == SY_BREAKER_OPEN || after == SY_BREAKER_CLOSED)) /* a breaker opens or heals */
    sy__log_stderr(after == SY_BREAKER_OPEN ? "warn" : "info",
                   after == SY_BREAKER_OPEN ? "circuit breaker open" : "circuit breaker closed",
                   json_pack("{ss ss ss}", "provider", p->name, "route", q->route, "last_error",
                             outcome == 0 ? q->fail.message : ""));
}

static void count(sy_gateway *gw, sy_gw_req *q, int cls, int retry, int fallback) {
  pthread_mutex_lock(&gw->mu);
  const sy_provider *p = q->plan[q->cur].p;
  sy_gw_series *se = sy__gw_series(gw, p->name, q->route);
  if (cls >= 0 && cls != SY_GW_ERR_BREAKER && cls != SY_GW_ERR_CONFIG) /* a call that was made and failed */
    sy__gw_pstate_note(gw, p, 0, 0, 0, 0, q->fail.message);
  if (cls >= 0 && gw->on_failure) gw->on_failure(gw->on_failure_ctx);
  if (se) {
    if (cls >= 0) {
      se->errors[cls]++;
      if (cls != SY_GW_ERR_BREAKER && cls != SY_GW_ERR_CONFIG) se->requests++;
    }
    se->retries += (uint64_t)retry;
    se->fallbacks += (uint64_t)fallback;
  }
  pthread_mutex_unlock(&gw->mu);
}

/* ---- callbacks of a transfer ---- */

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
  sy_gw_req *q = ud;
  size_t len = size * n;
  static const char ra[] = "retry-after:";
  if (len > sizeof ra - 1 && !strncasecmp(buf, ra, sizeof ra - 1)) {
    char v[64];
    size_t i = sizeof ra - 1, k = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t')) i++;
    while (i < len && k < sizeof v - 1 && buf[i] != '\r' && buf[i] != '\n') v[k++] = buf[i++];
    v[k] = 0;
    char *end = NULL;
    long secs = strtol(v, &end, 10);
    if (k && end && !*end && secs >= 0 && secs <= 86400) {
      q->retry_after_ms = (int64_t)secs * 1000;
    } else if (k) { /* an HTTP date */
      time_t t = curl_getdate(v, NULL);
      int64_t ms = t > 0 ? (int64_t)t * 1000 - sy__clock_now(q->gw->clock) : -1;
      if (t > 0) q->retry_after_ms = ms < 0 ? 0 : ms > 86400000 ? 86400000 : ms;
    }
  } else if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
    q->retry_after_ms = -1; /* a new response (after a 1xx) */
  }
  return len;
}

/* One event of an upstream stream, translated for the client. Nonzero stops the transfer. */
static int on_event(void *ctx, const char *data, size_t len) {
  sy_gw_req *q = ctx;
  const sy_adapter *a = sy__adapter_for(q->plan[q->cur].p->type);
  sy_jbuf b;
  sy__jbuf_init(&b, SY_GW_RESP_MAX);
  if (!a->stream_event || a->stream_event(&q->st, data, len, &b, &q->fail)) {
    sy__jbuf_free(&b);
    if (!a->stream_event)
      sy__gw_fail_set(&q->fail, 502, "api_error", "bad_response", NULL, 1, "provider %s does not stream",
                      q->plan[q->cur].p->name);
    q->abort_reason = ABORT_STREAM;
    return 1;
  }
  if (b.len) {
    if (!q->first_tick) q->first_tick = tick(q->gw);
    sy__gw_stream_put(q, &b);
  }
  sy__jbuf_free(&b);
  return 0;
}

static size_t on_write(char *data, size_t size, size_t n, void *ud) {
  sy_gw_req *q = ud;
  size_t len = size * n;
  if (__atomic_load_n(&q->released, __ATOMIC_ACQUIRE)) {
    q->abort_reason = ABORT_CANCEL;
    return 0;
  }
  if (!q->http_status) curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &q->http_status);
  int64_t now = tick(q->gw);
  if (q->stream && q->http_status >= 200 && q->http_status < 300) {
    pthread_mutex_lock(&q->mu);
    int full = q->out_len - q->out_off > SY_GW_OUT_HIGH;
    if (full) q->paused = 1; /* the client reads slower than the provider writes */
    pthread_mutex_unlock(&q->mu);
    if (full) return CURL_WRITEFUNC_PAUSE;
    q->last_tick = now;
    int rc = sy__sse_feed(&q->sse, data, len, on_event, q);
    if (rc) {
      if (rc < 0) q->abort_reason = ABORT_TOO_LARGE;
      return 0;
    }
    return len;
  }
  if (!q->first_tick) q->first_tick = now;
  q->last_tick = now;
  sy__jbuf_raw(&q->resp, data, len);
  if (q->resp.err) {
    q->abort_reason = ABORT_TOO_LARGE;
    return 0;
  }
  return len;
}

/* ---- attempts ---- */

static void fail_all(sy_gateway *gw, sy_gw_req *q, const sy_gw_fail *f) {
  (void)gw;
  sy__gw_finish_fail(q, f);
  drop(q);
}

/* The chain moves to its next provider. */
static void next_provider(sy_gateway *gw, sy_gw_req *q) {
  if (q->cur + 1 < q->nplan) count(gw, q, -1, 0, 1);
  q->cur++;
  q->attempt = 0;
}

/* Builds and starts an attempt on the chain's current provider, moving down the chain past
 * providers that cannot take it; answers when the chain is exhausted. */
static void attempt_begin(sy_gateway *gw, sy_gw_req *q) {
  for (;;) {
    if (q->released) {
      drop(q);
      return;
    }
    int64_t now = tick(gw);
    if (q->cur >= q->nplan) {
      if (!q->fail.status)
        sy__gw_fail_set(&q->fail, 503, "api_error", "no_provider", NULL, 1, "no provider of route %s could answer",
                        q->route);
      fail_all(gw, q, &q->fail);
      return;
    }
    if (now >= q->deadline_tick) {
      sy_gw_fail f;
      sy__gw_fail_set(&f, 504, "api_error", "deadline_exceeded", NULL, 1,
                      "the route's deadline passed after %d attempts%s%s", q->attempts,
                      q->fail.status ? "; the last failure: " : "", q->fail.status ? q->fail.message : "");
      fail_all(gw, q, &f);
      return;
    }
    sy_gw_step *st = &q->plan[q->cur];
    const sy_provider *p = st->p;
    if (p->type == SY_PROVIDER_STUB) {
      sy__gw_answer_stub(q);
      drop(q);
      return;
    }
    if (st->missing_key) {
      sy__gw_fail_set(&q->fail, 502, "api_error", "provider_credentials", NULL, 1,
                      "provider %s: its credentials %s cannot be read", p->name, p->credentials);
      count(gw, q, SY_GW_ERR_CONFIG, 0, 0);
      next_provider(gw, q);
      continue;
    }
    pthread_mutex_lock(&gw->mu);
    sy_gw_pstate *ps = q->probe ? NULL : sy__gw_pstate(gw, p); /* a probe neither waits for nor feeds it */
    int64_t wall = sy__clock_now(gw->clock);
    /* a provider back from an open breaker takes a share that ramps up; what it does not take
     * goes on down the chain (with nothing after it, it takes the request) */
    double share = ps && q->cur + 1 < q->nplan ? sy__breaker_share(&ps->breaker, &p->breaker, wall) : 1;
    int ramped = share < 1 && (double)(next_rnd(gw) % 10000) >= share * 10000;
    int allowed = ps && !ramped ? sy__breaker_allow(&ps->breaker, &p->breaker, wall) : !ramped;
    pthread_mutex_unlock(&gw->mu);
    if (ramped) {
      sy__gw_fail_set(&q->fail, 503, "api_error", "recovering", NULL, 1,
                      "provider %s: recovering from an open breaker, at %.0f%% of its share", p->name, share * 100);
      next_provider(gw, q);
      continue;
    }
    if (!allowed) {
      if (!q->fail.status || q->fail.status == 503)
        sy__gw_fail_set(&q->fail, 503, "api_error", "circuit_open", NULL, 1, "provider %s: circuit breaker open",
                        p->name);
      count(gw, q, SY_GW_ERR_BREAKER, 0, 0);
      next_provider(gw, q);
      continue;
    }
    q->counted = ps != NULL;
    if (sy__gw_budget_reserve(q, p)) { /* runbook 002's words for a provider over its budget */
      breaker_report(gw, q, -1);
      sy__gw_fail_set(&q->fail, 503, "api_error", "budget_exceeded", NULL, 1,
                      "provider %s: circuit breaker open: daily budget limit reached", p->name);
      count(gw, q, SY_GW_ERR_BUDGET, 0, 0);
      next_provider(gw, q);
      continue;
    }
    const sy_adapter *a = sy__adapter_for(p->type);
    free(q->call.body);
    memset(&q->call, 0, sizeof q->call);
    sy_gw_fail f;
    if (!a->request || a->request(q->op, q->body, st->model, q->stream, &q->call, &f)) {
      breaker_report(gw, q, -1);
      sy__gw_budget_settle(q, -1);
      if (!a->request)
        sy__gw_fail_set(&f, 400, "invalid_request_error", "unsupported_operation", NULL, 1,
                        "provider %s cannot answer this request", p->name);
      f.retryable = 1; /* another provider of the chain may offer it */
      q->fail = f;
      count(gw, q, SY_GW_ERR_CONFIG, 0, 0);
      next_provider(gw, q);
      continue;
    }
    /* the transfer */
    char url[2048 + 1024];
    snprintf(url, sizeof url, "%s%s", p->base_url, q->call.path);
    q->easy = easy_get(gw);
    struct curl_slist *h = NULL, *t;
    int hok = q->easy != NULL;
    if (hok && (t = curl_slist_append(h, "Content-Type: application/json")))
      h = t;
    else
      hok = 0;
    if (hok && (t = curl_slist_append(h, "Expect:")))
      h = t;
    else
      hok = 0;
    if (hok && (t = curl_slist_append(h, q->call.sse ? "Accept: text/event-stream" : "Accept: application/json")))
      h = t;
    else
      hok = 0;
    if (hok && st->key) {
      char hdr[1024];
      int k = snprintf(hdr, sizeof hdr, "%s%s", a->auth_prefix, st->key);
      if (k > 0 && (size_t)k < sizeof hdr && (t = curl_slist_append(h, hdr)))
        h = t;
      else
        hok = 0;
      explicit_bzero(hdr, sizeof hdr);
    }
    q->hdrs = h;
    if (!hok) {
      easy_end(gw, q);
      breaker_report(gw, q, -1);
      sy__gw_fail_set(&f, 500, "api_error", "internal_error", NULL, 0, "out of memory");
      fail_all(gw, q, &f);
      return;
    }
    int64_t left = q->deadline_tick - now, total = p->total_ms < left ? p->total_ms : left;
    CURL *e = q->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->call.body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->call.body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(e, CURLOPT_PRIVATE, q);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(total > 1 ? total : 1));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    sy__jbuf_free(&q->resp);
    sy__jbuf_init(&q->resp, SY_GW_RESP_MAX);
    sy__sse_free(&q->sse);
    sy__sse_init(&q->sse, SY_GW_SSE_EVENT_MAX);
    memset(&q->st, 0, sizeof q->st);
    snprintf(q->st.id, sizeof q->st.id, "chatcmpl-%s", q->request_id);
    q->st.created = sy__clock_now(gw->clock) / 1000;
    snprintf(q->st.model, sizeof q->st.model, "%s", st->model);
    q->st.include_usage = q->include_usage;
    q->http_status = 0;
    q->first_tick = q->last_tick = 0;
    q->retry_after_ms = -1;
    q->abort_reason = ABORT_NONE;
    memset(&q->usage, 0, sizeof q->usage);
    pthread_mutex_lock(&q->mu); /* a stream's head names who serves it */
    snprintf(q->served, sizeof q->served, "%s", p->name);
    pthread_mutex_unlock(&q->mu);
    q->attempt_tick = now;
    q->attempt_us = sy__clock_mono_us();
    q->attempts++;
    q->attempt++;
    q->state = Q_FLIGHT;
    if (curl_multi_add_handle(gw->multi, e) != CURLM_OK) {
      easy_end(gw, q);
      breaker_report(gw, q, -1);
      sy__gw_fail_set(&f, 500, "api_error", "internal_error", NULL, 0, "cannot start the upstream call");
      fail_all(gw, q, &f);
    }
    return;
  }
}

/* An attempt is over (res: libcurl's result; q->abort_reason: why the loop cut it). */
static void attempt_end(sy_gateway *gw, sy_gw_req *q, CURLcode res) {
  const sy_provider *p = q->plan[q->cur].p;
  const sy_adapter *a = sy__adapter_for(p->type);
  int64_t dur_us = sy__clock_mono_us() - q->attempt_us;
  q->upstream_us += dur_us;
  if (!q->http_status && q->easy) curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &q->http_status);
  easy_end(gw, q);
  q->state = Q_NEW;
  if (q->released) {
    breaker_report(gw, q, -1);
    sy__gw_budget_settle(q, q->sse_head ? usd_resv(q) : -1);
    drop(q);
    return;
  }
  long status = q->http_status;
  sy_gw_fail f;
  memset(&f, 0, sizeof f);
  int cls = -1;
  json_t *out = NULL;
  switch (q->abort_reason) {
  case ABORT_FIRST_BYTE:
    cls = SY_GW_ERR_TIMEOUT;
    sy__gw_fail_set(&f, 504, "api_error", "timeout", NULL, 1, "provider %s sent no %s within %lld ms", p->name,
                    q->stream ? "first token" : "first byte", (long long)p->first_byte_ms);
    break;
  case ABORT_IDLE:
    cls = SY_GW_ERR_TIMEOUT;
    sy__gw_fail_set(&f, 504, "api_error", "timeout", NULL, 1, "provider %s's stream was idle for %lld ms", p->name,
                    (long long)p->idle_ms);
    break;
  case ABORT_TOO_LARGE:
    cls = SY_GW_ERR_BAD_RESPONSE;
    sy__gw_fail_set(&f, 502, "api_error", "bad_response", NULL, 1, "provider %s's answer is larger than %zu bytes",
                    p->name, q->stream ? SY_GW_SSE_EVENT_MAX : SY_GW_RESP_MAX);
    break;
  case ABORT_STREAM:
    cls = SY_GW_ERR_BAD_RESPONSE;
    f = q->fail;
    break;
  default:
    if (res == CURLE_OPERATION_TIMEDOUT) {
      cls = SY_GW_ERR_TIMEOUT;
      sy__gw_fail_set(&f, 504, "api_error", "timeout", NULL, 1, "provider %s did not answer within %lld ms", p->name,
                      (long long)p->total_ms);
    } else if (res != CURLE_OK) {
      cls = SY_GW_ERR_CONNECT;
      sy__gw_fail_set(&f, 502, "api_error", "provider_unreachable", NULL, 1, "provider %s: %s", p->name,
                      curl_easy_strerror(res));
    } else if (status < 200 || status >= 300) {
      a->error((int)status, q->resp.p ? q->resp.p : "", q->resp.len, &f);
      f.retry_after_ms = q->retry_after_ms;
      cls = status == 429 ? SY_GW_ERR_RATE_LIMIT : status >= 500 ? SY_GW_ERR_SERVER : SY_GW_ERR_CLIENT;
    } else if (q->stream) {
      sy_jbuf b;
      sy__jbuf_init(&b, SY_GW_RESP_MAX);
      if (!a->stream_end || a->stream_end(&q->st, &b, &f)) {
        if (!a->stream_end)
          sy__gw_fail_set(&f, 502, "api_error", "bad_response", NULL, 1, "provider %s does not stream", p->name);
        cls = SY_GW_ERR_BAD_RESPONSE;
      } else {
        if (!q->first_tick) q->first_tick = tick(gw);
        sy__gw_stream_put(q, &b);
      }
      sy__jbuf_free(&b);
    } else if (a->response(q->op, q->plan[q->cur].model, q->resp.p ? q->resp.p : "", q->resp.len, &out, &q->usage,
                           &f)) {
      cls = SY_GW_ERR_BAD_RESPONSE;
    }
  }
  snprintf(q->served, sizeof q->served, "%s", p->name);
  if (cls < 0) { /* success */
    breaker_report(gw, q, 1);
    if (q->stream) q->usage = q->st.usage;
    sy__gw_budget_settle(q, sy__gw_cost(p, &q->usage));
    int64_t ttfb = q->first_tick ? (q->first_tick - q->attempt_tick) * 1000 : dur_us;
    sy__gw_record_ok(q, p, &q->usage, ttfb, dur_us);
    if (q->stream) {
      sy__gw_finish(q, 200, NULL, 0);
    } else {
      size_t len = 0;
      /* an OpenAI-format answer that is already whole goes out as its provider wrote it */
      json_t *created = json_object_get(out, "created");
      int as_is = p->type == SY_PROVIDER_OPENAI && json_is_integer(created) && json_integer_value(created) > 0;
      char *text = as_is ? sy__jbuf_take(&q->resp, &len) : sy__gw_answer_text(q, out, &len);
      json_decref(out);
      if (text)
        sy__gw_finish(q, 200, text, len);
      else {
        sy__gw_fail_set(&f, 500, "api_error", "internal_error", NULL, 0, "out of memory");
        sy__gw_finish_fail(q, &f);
      }
    }
    drop(q);
    return;
  }
  json_decref(out);
  q->fail = f; /* the last failure, which an open breaker's log names */
  breaker_report(gw, q, f.retryable ? 0 : -1);
  int committed = sy__gw_committed(q);
  sy__gw_budget_settle(q, committed ? usd_resv(q) : -1); /* a cut stream may have been billed: its worst case */
  int more = !committed && f.retryable;
  int retry = 0;
  int64_t delay = 0;
  if (more && !q->probe && q->attempt < p->retry_max_attempts) {
    delay = f.retry_after_ms >= 0 ? f.retry_after_ms
                                  : sy__backoff_ms(q->attempt, p->retry_base_ms, p->retry_max_ms, next_rnd(gw));
    retry = tick(gw) + delay < q->deadline_tick;
  }
  count(gw, q, cls, retry, 0);
  if (!more) {
    fail_all(gw, q, &f);
    return;
  }
  q->fail = f;
  if (retry) {
    q->state = Q_BACKOFF;
    q->wait_until = tick(gw) + delay;
    q->attempt_us = sy__clock_mono_us(); /* the wait is the provider's time, not the gateway's */
    return;
  }
  next_provider(gw, q);
  attempt_begin(gw, q);
}

/* ---- the loop ---- */

static void hold(sy_gateway *gw, sy_gw_req *q) {
  q->next = &gw->held;
  q->prev = gw->held.prev;
  gw->held.prev->next = q;
  gw->held.prev = q;
}

/* Abandons what q has in flight: its client left, or the server stops. */
static void abandon(sy_gateway *gw, sy_gw_req *q) {
  if (q->state == Q_DONE) return;
  if (q->easy) {
    q->upstream_us += sy__clock_mono_us() - q->attempt_us;
    easy_end(gw, q);
  }
  breaker_report(gw, q, -1);
  sy__gw_budget_settle(q, q->sse_head ? usd_resv(q) : -1);
  if (!q->released) {
    sy_gw_fail f;
    sy__gw_fail_set(&f, 503, "api_error", "unavailable", NULL, 0, "the server is shutting down");
    sy__gw_finish_fail(q, &f);
  }
  drop(q);
}

/* Ends the attempts libcurl has finished. lmu held. */
static void run_done(sy_gateway *gw) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(gw->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    sy_gw_req *q = NULL;
    CURL *e = m->easy_handle;
    CURLcode res = m->data.result;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&q);
    if (q) attempt_end(gw, q, res);
  }
}

static void wake_loop(sy_gateway *gw) {
  uint64_t one = 1;
  ssize_t w = write(gw->evfd, &one, sizeof one);
  (void)w; /* a full counter already wakes it */
}

/* Lets libcurl start what was just added (a new attempt's connection and request), on the
 * calling thread; the caller set kicking before touching the multi handle, so that libcurl's
 * timer updates wake the loop only if, after this, it still wants something before the
 * loop's own wake-up. lmu held. */
static void kick(sy_gateway *gw) {
  int running = 0;
  /* what libcurl wants done at once is done here, not by waking the loop for it */
  for (int i = 0; i < 4 && (i == 0 || (gw->curl_due >= 0 && gw->curl_due <= tick(gw))); i++) {
    gw->curl_due = -1;
    curl_multi_socket_action(gw->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  gw->kicking = 0;
  if (gw->curl_due >= 0 && gw->curl_due < gw->loop_wake_at && !pthread_equal(pthread_self(), gw->thread)) wake_loop(gw);
  run_done(gw);
}

/* Cuts attempts past their first-byte or idle time and starts retries whose backoff is over;
 * returns the ms until the next of these is due. lmu held. */
static int64_t run_timers(sy_gateway *gw) {
  int64_t now = tick(gw), next = 1000;
  sy_gw_req *q = gw->held.next;
  while (q != &gw->held) {
    sy_gw_req *n = q->next;
    const sy_provider *p = q->cur < q->nplan ? q->plan[q->cur].p : NULL;
    if (q->state == Q_BACKOFF) {
      if (now >= q->wait_until) {
        q->state = Q_NEW;
        q->upstream_us += sy__clock_mono_us() - q->attempt_us;
        attempt_begin(gw, q);
      } else if (q->wait_until - now < next) {
        next = q->wait_until - now;
      }
    } else if (q->state == Q_FLIGHT && p) {
      int64_t due = 0;
      int why = ABORT_NONE;
      if (!q->first_tick) {
        due = q->attempt_tick + p->first_byte_ms;
        why = ABORT_FIRST_BYTE;
      } else if (q->stream && !__atomic_load_n(&q->paused, __ATOMIC_ACQUIRE)) {
        due = q->last_tick + p->idle_ms;
        why = ABORT_IDLE;
      }
      if (why && now >= due) {
        q->abort_reason = why;
        attempt_end(gw, q, CURLE_OK);
      } else if (why && due - now < next) {
        next = due - now;
      }
    }
    q = n;
  }
  return next;
}

/* libcurl's socket callback: which of its sockets the loop's epoll watches, for what. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp) {
  sy_gateway *gw = userp;
  (void)e;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(gw->epfd, EPOLL_CTL_DEL, fd, NULL);
    curl_multi_assign(gw->multi, fd, NULL);
    return 0;
  }
  struct epoll_event ev = {.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u)};
  ev.data.fd = fd;
  if (socketp) {
    epoll_ctl(gw->epfd, EPOLL_CTL_MOD, fd, &ev);
  } else if (epoll_ctl(gw->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
    curl_multi_assign(gw->multi, fd, gw);
  }
  return 0;
}

/* libcurl's timer callback: when it next wants socket_action(TIMEOUT). A thread other than
 * the loop's moves the loop's wake-up earlier when it must. lmu held. */
static int on_timer(CURLM *m, long timeout_ms, void *userp) {
  sy_gateway *gw = userp;
  (void)m;
  gw->curl_due = timeout_ms < 0 ? -1 : tick(gw) + timeout_ms;
  if (!gw->kicking && gw->curl_due >= 0 && gw->curl_due < gw->loop_wake_at &&
      !pthread_equal(pthread_self(), gw->thread))
    wake_loop(gw);
  return 0;
}

/* The loop: waits on libcurl's sockets (no lock held), then under lmu drives the transfers,
 * ends the finished ones and runs the timers. Other threads start attempts themselves under
 * lmu (sy__gw_loop_submit), so a request goes out without waiting for this thread. */
static void *loop_main(void *arg) {
  sy_gateway *gw = arg;
  struct epoll_event evs[64];
  int64_t last_timers = 0, timers_next = 1000;
  pthread_mutex_lock(&gw->lmu);
  while (!gw->stopping) {
    int64_t now = tick(gw), wait = timers_next;
    if (gw->curl_due >= 0 && gw->curl_due - now < wait) wait = gw->curl_due - now;
    if (wait < 0) wait = 0;
    if (wait > 1000) wait = 1000;
    gw->loop_wake_at = now + wait;
    pthread_mutex_unlock(&gw->lmu);
    int n = epoll_wait(gw->epfd, evs, 64, (int)wait);
    pthread_mutex_lock(&gw->lmu);
    gw->loop_wake_at = INT64_MAX; /* awake: nobody needs to wake it */
    if (gw->stopping) break;
    int running = 0;
    for (int i = 0; i < n; i++) {
      if (evs[i].data.fd == gw->evfd) {
        uint64_t v;
        ssize_t r = read(gw->evfd, &v, sizeof v);
        (void)r;
        continue;
      }
      int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) | (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                  (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(gw->multi, evs[i].data.fd, flags, &running);
    }
    now = tick(gw);
    if (gw->curl_due >= 0 && now >= gw->curl_due) {
      gw->curl_due = -1;
      curl_multi_socket_action(gw->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    run_done(gw);
    if (now - last_timers >= TIMER_SLACK_MS || timers_next <= now - last_timers) {
      timers_next = run_timers(gw);
      last_timers = now;
      run_done(gw); /* retries started by the timers may end at once (a refused connection) */
    } else {
      timers_next = TIMER_SLACK_MS;
    }
    if (timers_next < TIMER_SLACK_MS && gw->held.next != &gw->held) timers_next = TIMER_SLACK_MS;
  }
  while (gw->held.next != &gw->held) abandon(gw, gw->held.next);
  pthread_mutex_unlock(&gw->lmu);
  return NULL;
}

sy_rc sy__gw_loop_start(sy_gateway *gw) {
  pthread_mutex_init(&gw->lmu, NULL);
  gw->curl_due = -1;
  gw->loop_wake_at = INT64_MAX;
  gw->epfd = epoll_create1(EPOLL_CLOEXEC);
  gw->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  gw->multi = curl_multi_init();
  if (gw->epfd < 0 || gw->evfd < 0 || !gw->multi) return SY_ENOMEM;
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.fd = gw->evfd;
  if (epoll_ctl(gw->epfd, EPOLL_CTL_ADD, gw->evfd, &ev)) return SY_EINTERNAL;
  curl_multi_setopt(gw->multi, CURLMOPT_MAXCONNECTS, 1024L);
  curl_multi_setopt(gw->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(gw->multi, CURLMOPT_SOCKETDATA, gw);
  curl_multi_setopt(gw->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(gw->multi, CURLMOPT_TIMERDATA, gw);
  if (pthread_create(&gw->thread, NULL, loop_main, gw)) return SY_EINTERNAL;
  gw->thread_started = 1;
  return SY_OK;
}

void sy__gw_loop_stop(sy_gateway *gw) {
  if (!gw->multi && gw->epfd <= 0) return;
  pthread_mutex_lock(&gw->lmu);
  int join = gw->thread_started && !gw->stopped;
  gw->stopping = 1;
  gw->stopped = 1;
  pthread_mutex_unlock(&gw->lmu);
  if (join) {
    wake_loop(gw);
    pthread_join(gw->thread, NULL);
  }
  if (join || !gw->thread_started) {
    while (gw->neasy) curl_easy_cleanup(gw->easy_pool[--gw->neasy]);
    if (gw->multi) curl_multi_cleanup(gw->multi);
    gw->multi = NULL;
    if (gw->epfd > 0) close(gw->epfd);
    if (gw->evfd > 0) close(gw->evfd);
    gw->epfd = gw->evfd = -1;
  }
}

void sy__gw_loop_submit(sy_gateway *gw, sy_gw_req *q) {
  pthread_mutex_lock(&gw->lmu);
  if (!gw->stopping) {
    gw->kicking = 1; /* libcurl's timer updates wait for the kick below */
    hold(gw, q);
    q->state = Q_NEW;
    attempt_begin(gw, q);
    kick(gw);
    pthread_mutex_unlock(&gw->lmu);
    return;
  }
  pthread_mutex_unlock(&gw->lmu);
  sy_gw_fail f;
  sy__gw_fail_set(&f, 503, "api_error", "unavailable", NULL, 0, "the gateway is not taking requests");
  sy__gw_finish_fail(q, &f);
  sy__gw_req_unref(q); /* the loop's reference, which it will never take */
}

void sy__gw_loop_poke(sy_gateway *gw, sy_gw_req *q) {
  pthread_mutex_lock(&gw->lmu);
  if (q->state != Q_DONE && !gw->stopping) {
    if (__atomic_load_n(&q->released, __ATOMIC_ACQUIRE)) {
      abandon(gw, q);
    } else if (q->state == Q_FLIGHT && q->easy) {
      gw->kicking = 1;
      curl_easy_pause(q->easy, CURLPAUSE_CONT); /* may deliver what it held back, here */
      kick(gw);
    }
  }
  pthread_mutex_unlock(&gw->lmu);
}

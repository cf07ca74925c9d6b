/* answer.c — a gateway request's answer, shared by the engine's threads and the server's:
 * the head, a whole body or a stream's bytes, the wake-ups, and the answers that need no
 * provider (the stub). The request's lock (q->mu) guards what both sides see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gw_int.h"

static void step_clear(sy_gw_step *st) {
  if (st->key) sy__reveal_free(st->key, st->key_len);
  sy__ver_unref(st->ver);
  memset(st, 0, sizeof *st);
}

void sy__gw_req_unref(sy_gw_req *q) {
  pthread_mutex_lock(&q->mu);
  int last = --q->refs == 0;
  pthread_mutex_unlock(&q->mu);
  if (!last) return;
  for (int i = 0; i < q->nplan; i++) step_clear(&q->plan[i]);
  json_decref(q->body);
  free(q->call.body);
  sy__jbuf_free(&q->resp);
  sy__sse_free(&q->sse);
  free(q->out);
  pthread_mutex_destroy(&q->mu);
  free(q);
}

/* Wakes the server if it waits: for the head (after dispatch), or parked on a stream. mu held. */
static void wake_locked(sy_gw_req *q, int was_ready) {
  int need = (!was_ready && q->dispatched) || q->parked;
  q->parked = 0;
  if (need && q->wake && !q->released) q->wake(q->wake_ctx);
}

static void note_overhead(sy_gw_req *q) {
  q->overhead_us = sy__clock_mono_us() - q->t0_us - q->upstream_us;
  if (q->overhead_us < 0) q->overhead_us = 0;
}

void sy__gw_finish(sy_gw_req *q, int status, char *body, size_t len) {
  pthread_mutex_lock(&q->mu);
  int was_ready = q->ready;
  if (q->sse_head) { /* a stream that has begun ends here; a body would be a second answer */
    free(body);
  } else {
    note_overhead(q);
    q->status = status;
    free(q->out);
    q->out = body;
    q->out_len = body ? len : 0;
    q->out_off = 0;
  }
  q->ready = 1;
  q->ended = 1;
  wake_locked(q, was_ready);
  pthread_mutex_unlock(&q->mu);
  pthread_mutex_lock(&q->gw->mu);
  int cls = status / 100;
  q->gw->answered_by_status[cls >= 1 && cls <= 5 ? cls - 1 : 5]++;
  if (q->overhead_us >= 0) sy__hist_observe(&q->gw->overhead, q->overhead_us);
  pthread_mutex_unlock(&q->gw->mu);
}

void sy__gw_finish_fail(sy_gw_req *q, const sy_gw_fail *fail) {
  size_t len = 0;
  char *js = sy__gw_fail_json(fail, &len);
  if (sy__gw_committed(q)) { /* the client has a 200 and chunks: end with an error event, no [DONE] */
    sy_jbuf b;
    sy__jbuf_init(&b, 8192);
    sy__jbuf_cstr(&b, "data: ");
    if (js) sy__jbuf_raw(&b, js, len);
    sy__jbuf_cstr(&b, "\n\n");
    sy__gw_stream_put(q, &b);
    sy__jbuf_free(&b);
    free(js);
    sy__gw_finish(q, 200, NULL, 0);
    return;
  }
  sy__gw_finish(q, fail->status ? fail->status : 502, js, js ? len : 0);
}

int sy__gw_committed(sy_gw_req *q) {
  pthread_mutex_lock(&q->mu);
  int c = q->sse_head;
  pthread_mutex_unlock(&q->mu);
  return c;
}

void sy__gw_stream_put(sy_gw_req *q, sy_jbuf *b) {
  if (!b->len || b->err) return;
  pthread_mutex_lock(&q->mu);
  int was_ready = q->ready;
  if (!q->sse_head) {
    note_overhead(q);
    q->sse_head = 1;
    q->status = 200;
    q->ready = 1;
  }
  if (q->out_off && q->out_off == q->out_len) q->out_off = q->out_len = 0;
  if (q->out_len + b->len + 1 > q->out_cap) {
    size_t cap = q->out_cap ? q->out_cap : 4096;
    while (cap < q->out_len + b->len + 1) cap *= 2;
    char *n = realloc(q->out, cap);
    if (!n) { /* the client loses these bytes; the stream's end says so */
      pthread_mutex_unlock(&q->mu);
      return;
    }
    q->out = n;
    q->out_cap = cap;
  }
  memcpy(q->out + q->out_len, b->p, b->len);
  q->out_len += b->len;
  wake_locked(q, was_ready);
  pthread_mutex_unlock(&q->mu);
}

/* The unsent bytes of a stream (for the loop's back-pressure). */
size_t sy__gw_pending(sy_gw_req *q) {
  pthread_mutex_lock(&q->mu);
  size_t n = q->out_len - q->out_off;
  pthread_mutex_unlock(&q->mu);
  return n;
}

void sy__gw_head(sy_gw_req *q, sy_gw_head *h) {
  pthread_mutex_lock(&q->mu);
  h->status = q->status;
  h->stream = q->sse_head;
  h->provider = q->served;
  h->route = q->route;
  h->request_id = q->request_id;
  h->attempts = q->attempts;
  h->overhead_us = q->overhead_us;
  pthread_mutex_unlock(&q->mu);
}

char *sy__gw_take_body(sy_gw_req *q, size_t *len) {
  pthread_mutex_lock(&q->mu);
  char *b = q->out;
  *len = q->out_len;
  q->out = NULL;
  q->out_len = q->out_off = q->out_cap = 0;
  pthread_mutex_unlock(&q->mu);
  return b;
}

/* Sets created (seconds) where an adapter left 0, so answers carry the gateway's clock. */
static void stamp_created(sy_gw_req *q, json_t *resp) {
  json_t *c = json_object_get(resp, "created");
  if (!c || (json_is_integer(c) && json_integer_value(c) == 0))
    json_object_set_new(resp, "created", json_integer(sy__clock_now(q->gw->clock) / 1000));
}

/* The usage and price of an answer into the provider's series. gw->mu held. */
double sy__gw_cost(const sy_provider *p, const sy_gw_usage *u) {
  return (double)u->prompt_tokens / 1000.0 * p->price_in_1k + (double)u->completion_tokens / 1000.0 * p->price_out_1k +
         (double)u->images * p->price_image;
}

static void account(sy_gw_series *se, const sy_provider *p, const sy_gw_usage *u) {
  se->tokens_in += (uint64_t)(u->prompt_tokens > 0 ? u->prompt_tokens : 0);
  se->tokens_out += (uint64_t)(u->completion_tokens > 0 ? u->completion_tokens : 0);
  se->images += (uint64_t)(u->images > 0 ? u->images : 0);
  se->cost_usd += sy__gw_cost(p, u);
}

void sy__gw_record_ok(sy_gw_req *q, const sy_provider *p, const sy_gw_usage *u, int64_t ttfb_us, int64_t dur_us) {
  pthread_mutex_lock(&q->gw->mu);
  sy_gw_series *se = sy__gw_series(q->gw, p->name, q->route);
  sy__gw_pstate_note(q->gw, p, 1, dur_us, sy__gw_cost(p, u), u->images, NULL);
  if (se) {
    se->requests++;
    se->ok++;
    account(se, p, u);
    sy__hist_observe(&se->ttfb, ttfb_us);
    sy__hist_observe(&se->duration, dur_us);
  }
  pthread_mutex_unlock(&q->gw->mu);
}

void sy__gw_answer_stub(sy_gw_req *q) {
  sy_gw_step *st = &q->plan[q->cur];
  int64_t t = sy__clock_mono_us();
  sy_gw_usage u = {0, 0, 0};
  sy_gw_fail f;
  q->attempts++;
  snprintf(q->served, sizeof q->served, "%s", st->p->name);
  if (q->stream) {
    sy_gw_stream s;
    memset(&s, 0, sizeof s);
    snprintf(s.id, sizeof s.id, "chatcmpl-%s", q->request_id);
    s.created = sy__clock_now(q->gw->clock) / 1000;
    snprintf(s.model, sizeof s.model, "%s", st->model);
    s.include_usage = q->include_usage;
    sy_jbuf b;
    sy__jbuf_init(&b, SY_GW_RESP_MAX);
    if (sy__stub_answer(q->op, q->body, st->model, &s, NULL, &b, &u, &f)) {
      sy__jbuf_free(&b);
      sy__gw_finish_fail(q, &f);
      return;
    }
    sy__gw_record_ok(q, st->p, &u, sy__clock_mono_us() - t, sy__clock_mono_us() - t);
    sy__gw_stream_put(q, &b);
    sy__jbuf_free(&b);
    sy__gw_finish(q, 200, NULL, 0);
    return;
  }
  json_t *out = NULL;
  if (sy__stub_answer(q->op, q->body, st->model, NULL, &out, NULL, &u, &f)) {
    sy__gw_finish_fail(q, &f);
    return;
  }
  stamp_created(q, out);
  sy__gw_record_ok(q, st->p, &u, sy__clock_mono_us() - t, sy__clock_mono_us() - t);
  char *text = json_dumps(out, JSON_COMPACT);
  json_decref(out);
  if (!text) {
    sy__gw_fail_set(&f, 500, "api_error", "internal_error", NULL, 0, "out of memory");
    sy__gw_finish_fail(q, &f);
    return;
  }
  sy__gw_finish(q, 200, text, strlen(text));
}

/* Makes an upstream answer the client's: created stamped, as JSON text. */
char *sy__gw_answer_text(sy_gw_req *q, json_t *resp, size_t *len) {
  stamp_created(q, resp);
  char *text = json_dumps(resp, JSON_COMPACT);
  *len = text ? strlen(text) : 0;
  return text;
}

/* promq.c — Prometheus instant queries (placeholder: no worker yet, every query unknown). */
#include "control/promq.h"

#include <stdio.h>
#include <stdlib.h>

struct sy_promq {
  int unused;
};

sy_rc sy__promq_new(sy_promq **out) {
  *out = calloc(1, sizeof **out);
  return *out ? SY_OK : SY_ENOMEM;
}
void sy__promq_free(sy_promq *q) { free(q); }
int sy__promq_get(sy_promq *q, const char *base_url, const char *query, double *value, char *why, size_t cap) {
  (void)q, (void)base_url, (void)query, (void)value;
  snprintf(why, cap, "no answer yet");
  return -1;
}
int sy__promq_parse(const char *body, size_t len, double *value, char *why, size_t cap) {
  (void)body, (void)len, (void)value;
  snprintf(why, cap, "not parsed");
  return -1;
}

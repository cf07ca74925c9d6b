/* clock.c — the store's wall clock and its one timestamp format (RFC 3339 UTC, milliseconds). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/civil.h"
#include "store/store.h"

int64_t sy__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sy__fmt_time(int64_t ms, char *out, size_t outsz) {
  if (ms < 0) ms = 0;
  int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
  int64_t yy;
  int mo, d;
  sy__civil_from_days(days, &yy, &mo, &d);
  int y = (int)yy;
  char buf[32];
  int h = (int)(rem / 3600), mi = (int)(rem / 60 % 60), sec = (int)(rem % 60), milli = (int)(ms % 1000);
  if (y > 9999 || outsz < 25) {
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, sec, milli);
    return;
  }
  int v[] = {y / 1000, y / 100 % 10, y / 10 % 10, y % 10,          -1,         mo / 10, mo % 10, -1, d / 10,
             d % 10,   -2,           h / 10,      h % 10,          -3,         mi / 10, mi % 10, -3, sec / 10,
             sec % 10, -4,           milli / 100, milli / 10 % 10, milli % 10, -5};
  static const char sep[] = {0, '-', 'T', ':', '.', 'Z'};
  for (int i = 0; i < 24; i++) buf[i] = v[i] >= 0 ? (char)('0' + v[i]) : sep[-v[i]];
  buf[24] = 0;
  memcpy(out, buf, 25);
}

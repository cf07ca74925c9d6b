/* clock.c — the store's wall clock and its one timestamp format (RFC 3339 UTC, milliseconds). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

int64_t sy__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm): no locale, no lock,
 * unlike gmtime_r, which takes the time-zone lock on every call of a hot read path. */
static void civil(int64_t days, int *y, int *m, int *d) {
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t doe = days - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

void sy__fmt_time(int64_t ms, char *out, size_t outsz) {
  if (ms < 0) ms = 0;
  int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
  int y, mo, d;
  civil(days, &y, &mo, &d);
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

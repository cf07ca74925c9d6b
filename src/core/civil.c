/* civil.c — proleptic Gregorian dates from and to days since 1970-01-01: no locale, no
 * lock (unlike gmtime_r, which takes the time-zone lock on every call of a hot path). */
#include <stdio.h>
#include <string.h>

#include "core/civil.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
int64_t sy__days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void sy__civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
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

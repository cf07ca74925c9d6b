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

/* n decimal digits at s into *v; 0, or -1 when they are not all digits. */
static int digits(const char *s, int n, int *v) {
  *v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    *v = *v * 10 + (s[i] - '0');
  }
  return 0;
}

int64_t sy__parse_time(const char *s) {
  int y, mo, d, h, mi, sec, ms = 0;
  if (!s || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) || s[13] != ':' ||
      digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
    return -1;
  const char *p = s + 19;
  if (*p == '.') {
    int n = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, n++)
      if (n < 3) ms = ms * 10 + (*p - '0');
    if (!n || n > 9) return -1;
    for (; n < 3; n++) ms *= 10;
  }
  int64_t off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59) return -1;
    off = (int64_t)(oh * 60 + om) * 60000 * (*p == '-' ? -1 : 1);
    p += 6;
  }
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*p || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60) return -1;
  if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return -1;
  int64_t t = ((sy__days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
  return t * 1000 + ms - off;
}

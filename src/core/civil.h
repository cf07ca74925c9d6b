/* civil.h — calendar arithmetic (H. Hinnant's algorithms), shared by SigV4 dates and log times. */
#ifndef SY_CORE_CIVIL_H
#define SY_CORE_CIVIL_H

#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 of year y, month m (1-12), day d. */
int64_t sy__days_from_civil(int64_t y, int m, int d);
/* The date of z days since 1970-01-01. */
void sy__civil_from_days(int64_t z, int64_t *y, int *m, int *d);
/* RFC 3339 UTC with milliseconds ("2026-12-02T06:26:37.123Z") into out (at least 25 bytes):
 * the one timestamp format of logs, audit records, versions and events. */
void sy__fmt_time(int64_t ms, char *out, size_t outsz);

/* Parses an ISO 8601 / RFC 3339 time: "YYYY-MM-DDTHH:MM:SS", optional fraction, then "Z" or
 * "+HH:MM"/"-HH:MM" (none: UTC). Milliseconds since 1970, or -1 when s is not one. */
int64_t sy__parse_time(const char *s);

#endif

/* civil.h — calendar arithmetic (H. Hinnant's algorithms), shared by SigV4 dates and log times. */
#ifndef SY_CORE_CIVIL_H
#define SY_CORE_CIVIL_H

#include <stdint.h>

/* Days since 1970-01-01 of year y, month m (1-12), day d. */
int64_t sy__days_from_civil(int64_t y, int m, int d);
/* The date of z days since 1970-01-01. */
void sy__civil_from_days(int64_t z, int64_t *y, int *m, int *d);

#endif

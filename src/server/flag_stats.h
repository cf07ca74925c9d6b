/* flag_stats.h — counts of flag evaluations by flag, variant and reason, for the APIs and metrics. */
#ifndef SY_SERVER_FLAG_STATS_H
#define SY_SERVER_FLAG_STATS_H

#include "core/flag.h"
#include "server/http.h"

/* Records one evaluation of the flag with key (its path without the leading '/') and its
 * result (borrowed for the call). Safe from any thread; never fails the evaluation. */
void sy__flag_stats_record(sy_server *srv, const char *key, const sy_flag_result *res);

#endif

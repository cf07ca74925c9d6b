/* flag_stats.c — counts of flag evaluations (placeholder: records nothing yet). */
#include "server/flag_stats.h"

void sy__flag_stats_record(sy_server *srv, const char *key, const sy_flag_result *res) {
  (void)srv, (void)key, (void)res;
}

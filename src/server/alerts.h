/* alerts.h — the server's alerts: an evaluator that watches the providers' breakers and
 * error rates, the spending limits, the alert rules (control/alert_rules.h) and the rollouts
 * rolled back on a breach, records each alert that fires or resolves through
 * the store (an audit record and a change event), posts it to an optional webhook, and
 * answers GET /api/v1/alerts[/history] (docs/API.md, "Alerts"). */
#ifndef SY_SERVER_ALERTS_H
#define SY_SERVER_ALERTS_H

#include "server/http.h"

typedef struct sy_alerts sy_alerts;

/* The String parameter whose value is the webhook's URL (absent: no webhook). */
#define SY_ALERTS_WEBHOOK_PARAM "/switchyard/alerts/webhook-url"

/* Starts the evaluator (every second of srv->clock) and the webhook sender. srv's store
 * and gateway must outlive sy__alerts_stop. SY_ENOMEM or SY_EINTERNAL (a thread). */
sy_rc sy__alerts_start(sy_server *srv, sy_alerts **out);
/* Stops both threads (promptly: a webhook retry in progress is abandoned). Transitions
 * already submitted to the store still complete there. Idempotent; NULL is fine. */
void sy__alerts_stop(sy_alerts *a);
/* Stops (if not yet) and frees. */
void sy__alerts_free(sy_alerts *a);

/* The controller's question (control/sources.h, sy_alerts_count_fn; alerts is the
 * sy_alerts): how many active alerts of severity sev (0 critical, 1 warning, 2 info) or
 * worse have the label provider equal to provider or the label flag equal to flag (both
 * NULL: every alert); the first one's "id: message" into what (cap bytes, may be NULL).
 * sy__alerts_start sets srv->sources.alerts_count and alerts_ctx to it. Any thread. */
int sy__alerts_count(void *alerts, int sev, const char *provider, const char *flag, char *what, size_t cap);

/* GET /api/v1/alerts[?severity=] and GET /api/v1/alerts/history[?limit=]; rest is what
 * follows "/api/v1/alerts". */
enum MHD_Result sy__api_alerts(sy_req *r, const char *rest);

#endif

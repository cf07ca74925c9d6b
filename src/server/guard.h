/* guard.h — connection limits that libmicrohttpd lacks: deadlines for a request's headers and
 * body (separate from the idle keep-alive timeout) and a cap on connections per client address. */
#ifndef SY_SERVER_GUARD_H
#define SY_SERVER_GUARD_H

#include <microhttpd.h>
#include <stdint.h>

typedef struct sy_guard sy_guard;
typedef struct sy_guard_conn sy_guard_conn;

typedef struct sy_guard_cfg {
  int header_timeout_ms; /* from the start of a request to the end of its headers */
  int body_timeout_ms;   /* from the end of the headers to the end of the body */
  int idle_timeout_ms;   /* keep-alive idle time before the next request begins */
  int max_conns_per_ip;  /* 0: no cap */
} sy_guard_cfg;

/* What a connection is doing, which decides its deadline. */
typedef enum sy_guard_phase {
  SY_GUARD_HEADERS = 1, /* waiting for a request's headers */
  SY_GUARD_BODY,        /* headers in, body arriving */
  SY_GUARD_HANDLING,    /* the request is complete: being answered or streaming; no deadline */
  SY_GUARD_IDLE,        /* between requests: the idle timeout, then the header timeout */
} sy_guard_phase;

/* Starts the guard thread. NULL on failure. */
sy_guard *sy__guard_new(const sy_guard_cfg *cfg);
/* Stops the thread and frees the guard; call after the HTTP daemon has stopped. */
void sy__guard_free(sy_guard *g);
/* Refuses every new connection from now on (the server is stopping). */
void sy__guard_close(sy_guard *g);

/* libmicrohttpd hooks: pass g as their closure (MHD_start_daemon's apc and
 * MHD_OPTION_NOTIFY_CONNECTION). */
enum MHD_Result sy__guard_accept(void *g, const struct sockaddr *addr, socklen_t addrlen);
void sy__guard_notify(void *g, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);

/* The guard's record of conn (NULL if it has none). */
sy_guard_conn *sy__guard_conn(struct MHD_Connection *conn);
/* Asks for a lingering close of c: once libmicrohttpd has sent its last reply and closed
 * the connection, the guard half-closes the socket and reads and drops what the client
 * still sends (until it stops, for at most a few seconds) before closing it, so that
 * unread data does not reset the connection and take the reply with it. */
void sy__guard_linger(sy_guard *g, sy_guard_conn *c);
/* Moves c into phase; its deadline counts from now. c may be NULL. */
void sy__guard_phase(sy_guard *g, sy_guard_conn *c, sy_guard_phase phase);

#endif

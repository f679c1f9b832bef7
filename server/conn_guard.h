/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * conn_guard.h -- what one client may hold of guichetd's connections: at
 * most max_connections_per_address open at once (an IPv6 client counts by
 * its /64), and each request's line and headers within header_timeout_s
 * of the connection's start or of the previous answer, however slowly
 * they trickle in.  A client holding thousands of half-sent requests then
 * holds a few dozen connections for a few seconds, and other addresses
 * are served.
 *
 * The cap has to be where every connection passes: daemon.c's acceptor
 * hands connections to one of many libmicrohttpd daemons, so no daemon's
 * own per-IP limit sees them all.  Connections from a trusted proxy
 * (trusted_proxies) are neither capped nor timed here: all of the
 * proxy's clients share its address, so the proxy must do both itself.
 *
 * This is connection state, local to the process by nature (a connection
 * lives in one process); nothing here decides who a request is.
 */
#ifndef GUICHET_SERVER_CONN_GUARD_H
#define GUICHET_SERVER_CONN_GUARD_H

#include <stdbool.h>
#include <sys/socket.h>
#include <microhttpd.h>

/** Size the tables for the process's descriptor limit (raised to what
    MAX_CONNECTIONS needs when the hard limit allows).  @return 0 or -1 */
int
srv_conn_guard_init (unsigned int max_connections);

void
srv_conn_guard_free (void);

/**
 * The acceptor's question about a new connection @a fd from @a addr.
 * @return true: registered, hand it to a daemon; false: over its
 *         address's cap -- the caller closes @a fd
 */
bool
srv_conn_guard_accept (int fd, const struct sockaddr *addr, socklen_t len);

/** MHD_add_connection refused @a fd (and closed it): forget it. */
void
srv_conn_guard_forget (int fd);

/** MHD_CONNECTION_NOTIFY_STARTED / _CLOSED. */
void
srv_conn_guard_started (struct MHD_Connection *conn);

void
srv_conn_guard_closed (struct MHD_Connection *conn);

/** A request's headers are all in: no deadline until it is answered. */
void
srv_conn_guard_request_begun (struct MHD_Connection *conn);

/** A request was answered: the next one's headers are due within
    header_timeout_s. */
void
srv_conn_guard_request_done (struct MHD_Connection *conn);

/** Shut down the connections past their header deadline (call about once
    a second). */
void
srv_conn_guard_sweep (void);

#endif

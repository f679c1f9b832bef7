/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * proxy.h -- the client's address: the connection's peer, or, when the peer
 * is a configured trusted proxy, the first untrusted hop of
 * X-Forwarded-For counted from the right.  Used for audit rows and risk.
 */
#ifndef GUICHET_SERVER_PROXY_H
#define GUICHET_SERVER_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <microhttpd.h>

/** @return whether @a addr (text) is one of trusted_proxies. */
bool
srv_proxy_is_trusted (const char *addr);

/** @return whether @a addr (text) is in the comma-separated @a list. */
bool
srv_proxy_addr_in (const char *list, const char *addr);

/** Write the client address into @a out (never fails; "unknown" at worst). */
void
srv_proxy_client_addr (struct MHD_Connection *conn, char *out, size_t outlen);

#endif

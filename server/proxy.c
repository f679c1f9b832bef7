/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * proxy.c -- which address a request came from.
 *
 * X-Forwarded-For is a client-controlled header: it is believed only when
 * the connection itself comes from a proxy listed in trusted_proxies, and
 * then only up to the first hop that is not itself a trusted proxy (walking
 * from the right, the entries the proxies appended).  Never trust the
 * leftmost entry blindly.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h"
#include "server/proxy.h"

static void
peer_addr (struct MHD_Connection *conn, char *out, size_t outlen)
{
  const union MHD_ConnectionInfo *ci;
  const struct sockaddr *sa;

  snprintf (out, outlen, "unknown");
  ci = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (NULL == ci || NULL == ci->client_addr)
    return;
  sa = ci->client_addr;
  if (AF_INET == sa->sa_family)
    inet_ntop (AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, out,
               (socklen_t) outlen);
  else if (AF_INET6 == sa->sa_family)
  {
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *) sa)->sin6_addr;

    if (IN6_IS_ADDR_V4MAPPED (a6))
      inet_ntop (AF_INET, &a6->s6_addr[12], out, (socklen_t) outlen);
    else
      inet_ntop (AF_INET6, a6, out, (socklen_t) outlen);
  }
}

/* Is @a addr (len bytes, not NUL-terminated) in the comma-separated
   @a list? */
static bool
in_list (const char *list, const char *addr, size_t len)
{
  while (NULL != list && '\0' != *list)
  {
    const char *end = strchr (list, ',');
    size_t n = (NULL != end) ? (size_t) (end - list) : strlen (list);

    while (n > 0 && ' ' == *list)
      list++, n--;
    while (n > 0 && ' ' == list[n - 1])
      n--;
    if (n == len && 0 == memcmp (list, addr, len))
      return true;
    list = (NULL != end) ? end + 1 : NULL;
  }
  return false;
}

static bool
is_trusted (const char *addr, size_t len)
{
  return in_list (core_cfg->trusted_proxies, addr, len);
}

bool
srv_proxy_addr_in (const char *list, const char *addr)
{
  return NULL != addr && in_list (list, addr, strlen (addr));
}

bool
srv_proxy_is_trusted (const char *addr)
{
  return NULL != addr && is_trusted (addr, strlen (addr));
}

/* Is the text a plausible IP address (so junk in the header is ignored)? */
static bool
is_ip (const char *s, size_t len)
{
  char buf[INET6_ADDRSTRLEN];
  unsigned char tmp[sizeof (struct in6_addr)];

  if (0 == len || len >= sizeof buf)
    return false;
  memcpy (buf, s, len);
  buf[len] = '\0';
  return 1 == inet_pton (AF_INET, buf, tmp) || 1 == inet_pton (AF_INET6, buf, tmp);
}

void
srv_proxy_client_addr (struct MHD_Connection *conn, char *out, size_t outlen)
{
  const char *xff;
  size_t end;

  peer_addr (conn, out, outlen);
  if (! is_trusted (out, strlen (out)))
    return;
  xff = MHD_lookup_connection_value (conn, MHD_HEADER_KIND,
                                     "X-Forwarded-For");
  if (NULL == xff)
    return;
  end = strlen (xff);
  while (end > 0)
  {
    size_t start = end;
    size_t a, b;

    while (start > 0 && ',' != xff[start - 1])
      start--;
    for (a = start; a < end && ' ' == xff[a]; a++)
      ;
    for (b = end; b > a && ' ' == xff[b - 1]; b--)
      ;
    if (! is_ip (xff + a, b - a))
      return;                   /* junk: keep the last good address */
    if (b - a < outlen)
    {
      memcpy (out, xff + a, b - a);
      out[b - a] = '\0';
    }
    if (! is_trusted (xff + a, b - a))
      return;
    end = (start > 0) ? start - 1 : 0;
  }
}

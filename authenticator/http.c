/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http.c -- just enough HTTP/1.1 to talk to guichetd over a plain TCP
 * socket: one request per connection ("Connection: close"), a JSON body,
 * an answer read up to Content-Length, through chunked coding, or to EOF.
 *
 * http:// only.  The reference authenticator runs against a local server
 * in the tests; a production phone uses its platform's HTTP and TLS stack
 * and only the request/answer bodies of activate.c and device.c.  Answers
 * are capped at 1 MiB; every socket operation times out after 30 s.
 */
#include "ga_internal.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#define HTTP_MAX_ANSWER (1024 * 1024 + 16 * 1024)
#define HTTP_TIMEOUT_S 30

struct url {
  char host[256];
  char port[8];
  char prefix[512];    /* path of the base URL, without trailing '/' */
};

struct buf {
  char *data;
  size_t len, cap;
};

/* ================================================================
 * URL and connection
 * ================================================================ */

static ga_status
url_fail (ga_error *err)
{
  return ga_fail (err, GA_ERR_INVALID, "unsupported_url",
                  "base URL is not http://host[:port][/path]");
}

/* http://host[:port][/path], host a name, IPv4 or [IPv6]; no user info. */
static ga_status
url_parse (const char *base, struct url *u, ga_error *err)
{
  const char *auth = base + 7, *host = auth, *port = NULL, *sep;
  size_t auth_len, host_len, port_len = 0;

  if (strncmp (base, "http://", 7) != 0)
    return ga_fail (err, GA_ERR_INVALID, "unsupported_url",
                    "only http:// base URLs are supported by this client");
  auth_len = strcspn (auth, "/");
  if (memchr (auth, '@', auth_len) != NULL)
    return url_fail (err);
  if (*auth == '[')
    {
      host = auth + 1;
      sep = memchr (auth, ']', auth_len);
      if (sep == NULL || (sep[1] != ':' && sep + 1 != auth + auth_len))
        return url_fail (err);
      port = sep[1] == ':' ? sep + 2 : NULL;
    }
  else
    {
      sep = memchr (auth, ':', auth_len);
      if (sep == NULL)
        sep = auth + auth_len;
      port = *sep == ':' ? sep + 1 : NULL;
    }
  host_len = (size_t) (sep - host);
  if (port != NULL)
    port_len = (size_t) (auth + auth_len - port);
  if (host_len == 0 || host_len >= sizeof u->host
      || (port != NULL && (port_len == 0 || port_len >= sizeof u->port
                           || strspn (port, "0123456789") < port_len))
      || strlen (auth + auth_len) >= sizeof u->prefix)
    return url_fail (err);
  snprintf (u->host, sizeof u->host, "%.*s", (int) host_len, host);
  snprintf (u->port, sizeof u->port, "%.*s", port != NULL ? (int) port_len : 2,
            port != NULL ? port : "80");
  snprintf (u->prefix, sizeof u->prefix, "%s", auth + auth_len);
  for (size_t n = strlen (u->prefix); n > 0 && u->prefix[n - 1] == '/'; n--)
    u->prefix[n - 1] = '\0';
  return GA_OK;
}

static int
connect_to (const struct url *u)
{
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
  struct addrinfo *res = NULL;
  struct timeval tv = { .tv_sec = HTTP_TIMEOUT_S };
  int fd = -1;

  if (getaddrinfo (u->host, u->port, &hints, &res) != 0)
    return -1;
  for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
    {
      fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                   ai->ai_protocol);
      if (fd < 0)
        continue;
      setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (connect (fd, ai->ai_addr, ai->ai_addrlen) != 0)
        {
          close (fd);
          fd = -1;
        }
    }
  freeaddrinfo (res);
  return fd;
}

static bool
send_all (int fd, const char *data, size_t len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, data, len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      data += n;
      len -= (size_t) n;
    }
  return true;
}

/* ================================================================
 * Reading the answer
 * ================================================================ */

/* The value of header `name` in a header block (first occurrence), copied
 * into out; false when absent. */
static bool
header_value (const char *head, size_t head_len, const char *name,
              char *out, size_t cap)
{
  size_t name_len = strlen (name);
  const char *p = head, *end = head + head_len;

  while ((p = memchr (p, '\n', (size_t) (end - p))) != NULL)
    {
      const char *eol;

      p++;
      if ((size_t) (end - p) <= name_len + 1
          || strncasecmp (p, name, name_len) != 0 || p[name_len] != ':')
        continue;
      p += name_len + 1;
      p += strspn (p, " \t");
      eol = p + strcspn (p, "\r\n");
      snprintf (out, cap, "%.*s", (int) (eol - p), p);
      return true;
    }
  return false;
}

/* Content-Length of a complete header block, or -1 if none is given. */
static long
content_length (const char *head, size_t head_len)
{
  char value[32], *end;
  long n;

  if (!header_value (head, head_len, "Content-Length", value, sizeof value))
    return -1;
  n = strtol (value, &end, 10);
  return end != value && *end == '\0' && n >= 0 ? n : -1;
}

static bool
is_chunked (const char *head, size_t head_len)
{
  char value[128];

  return header_value (head, head_len, "Transfer-Encoding", value,
                       sizeof value)
         && strcasestr (value, "chunked") != NULL;
}

/* Read until EOF, or until Content-Length bytes of body are in. */
static ga_status
read_answer (int fd, struct buf *b, ga_error *err)
{
  for (;;)
    {
      char *end;
      ssize_t n;

      if (b->cap - b->len < 4096)
        {
          size_t cap = b->cap == 0 ? 16384 : b->cap * 2;
          char *grown = cap > HTTP_MAX_ANSWER ? NULL : realloc (b->data, cap);

          if (grown == NULL)
            return ga_fail (err, GA_ERR_PROTOCOL, "answer_too_large",
                            "the server's answer exceeds 1 MiB");
          b->data = grown;
          b->cap = cap;
        }
      n = recv (fd, b->data + b->len, b->cap - b->len - 1, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return ga_fail (err, GA_ERR_NETWORK, "network_error",
                        "reading the answer: %s", strerror (errno));
      b->len += (size_t) n;
      b->data[b->len] = '\0';
      if (n == 0)
        return GA_OK;
      end = strstr (b->data, "\r\n\r\n");
      if (end != NULL)
        {
          size_t head = (size_t) (end - b->data) + 4;
          long cl = content_length (b->data, head);

          if (cl >= 0 && b->len >= head + (size_t) cl)
            return GA_OK;
        }
    }
}

/* Undo chunked transfer coding in place; false when malformed. */
static bool
dechunk (char *body, size_t len, size_t *out_len)
{
  size_t in = 0, out = 0;

  for (;;)
    {
      char *line_end = memchr (body + in, '\n', len - in);
      unsigned long size;

      if (line_end == NULL)
        return false;
      size = strtoul (body + in, NULL, 16);
      in = (size_t) (line_end - body) + 1;
      if (size == 0)
        break;
      if (size > len - in)
        return false;
      memmove (body + out, body + in, size);
      out += size;
      in += size;
      if (in + 2 <= len && body[in] == '\r')
        in += 2;
    }
  body[out] = '\0';
  *out_len = out;
  return true;
}

static ga_status
parse_answer (struct buf *b, ga_http_reply *reply, ga_error *err)
{
  char *end = b->data != NULL ? strstr (b->data, "\r\n\r\n") : NULL;
  size_t head, body_len;
  long cl;

  if (b->len == 0)
    return ga_fail (err, GA_ERR_NETWORK, "network_error",
                    "the server closed the connection without answering");
  if (end == NULL || sscanf (b->data, "HTTP/1.%*d %3d", &reply->status) != 1)
    return ga_fail (err, GA_ERR_PROTOCOL, "bad_http_answer",
                    "the server's answer is not HTTP/1.x");
  head = (size_t) (end - b->data) + 4;
  body_len = b->len - head;
  cl = content_length (b->data, head);
  if (is_chunked (b->data, head))
    {
      if (!dechunk (b->data + head, body_len, &body_len))
        return ga_fail (err, GA_ERR_PROTOCOL, "bad_http_answer",
                        "malformed chunked answer");
    }
  else if (cl >= 0 && (size_t) cl <= body_len)
    body_len = (size_t) cl;
  else if (cl >= 0)
    return ga_fail (err, GA_ERR_PROTOCOL, "bad_http_answer",
                    "the answer was cut short");
  memmove (b->data, b->data + head, body_len);
  b->data[body_len] = '\0';
  reply->body = b->data;
  reply->body_len = body_len;
  b->data = NULL;
  return GA_OK;
}

/* ================================================================
 * Requests
 * ================================================================ */

static char *
build_request (const struct url *u, const char *method, const char *path,
               const char *const *headers, const char *body)
{
  struct buf b = { 0 };
  FILE *f = open_memstream (&b.data, &b.len);
  bool v6 = strchr (u->host, ':') != NULL;

  if (f == NULL)
    return NULL;
  fprintf (f, "%s %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n", method, u->prefix,
           path, v6 ? "[" : "", u->host, v6 ? "]" : "", u->port);
  fprintf (f, "User-Agent: guichet-authenticator\r\n"
              "Accept: application/json\r\nConnection: close\r\n");
  if (body != NULL)
    fprintf (f, "Content-Type: application/json; charset=utf-8\r\n"
                "Content-Length: %zu\r\n", strlen (body));
  else if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
    fprintf (f, "Content-Length: 0\r\n");
  for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
    fprintf (f, "%s\r\n", headers[i]);
  fprintf (f, "\r\n%s", body != NULL ? body : "");
  if (fclose (f) != 0)
    {
      free (b.data);
      return NULL;
    }
  return b.data;
}

ga_status
ga_http_request (const char *base_url, const char *method, const char *path,
                 const char *const *headers, const char *body,
                 ga_http_reply *reply, ga_error *err)
{
  struct url u;
  struct buf answer = { 0 };
  char *req;
  ga_status rc;
  int fd;

  memset (reply, 0, sizeof *reply);
  if ((rc = url_parse (base_url, &u, err)) != GA_OK)
    return rc;
  if (strpbrk (path, " \r\n") != NULL || strpbrk (method, " \r\n") != NULL)
    return ga_fail (err, GA_ERR_INVALID, "request_invalid",
                    "method or path holds a space or line break");
  if ((req = build_request (&u, method, path, headers, body)) == NULL)
    return ga_nomem (err);
  fd = connect_to (&u);
  if (fd < 0)
    rc = ga_fail (err, GA_ERR_NETWORK, "network_error",
                  "cannot connect to %s port %s", u.host, u.port);
  else if (!send_all (fd, req, strlen (req)))
    rc = ga_fail (err, GA_ERR_NETWORK, "network_error",
                  "sending the request: %s", strerror (errno));
  else
    rc = read_answer (fd, &answer, err);
  if (rc == GA_OK)
    rc = parse_answer (&answer, reply, err);
  if (fd >= 0)
    close (fd);
  free (req);
  free (answer.data);
  return rc;
}

void
ga_http_reply_clear (ga_http_reply *reply)
{
  free (reply->body);
  memset (reply, 0, sizeof *reply);
}

ga_status
ga_http_server_error (const ga_http_reply *reply, ga_error *err)
{
  json_t *root = json_loads (reply->body != NULL ? reply->body : "", 0, NULL);
  const char *code = NULL, *message = NULL;
  char fallback[32];

  json_unpack (root, "{s:{s?s, s?s}}", "error", "code", &code,
               "message", &message);
  snprintf (fallback, sizeof fallback, "http_%d", reply->status);
  ga_fail (err, GA_ERR_SERVER, code != NULL ? code : fallback, "%s",
           message != NULL ? message : "the server refused the request");
  if (err != NULL)
    err->http_status = reply->status;
  json_decref (root);
  return GA_ERR_SERVER;
}

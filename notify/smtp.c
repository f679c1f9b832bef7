/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * smtp.c -- handing a message to the relay of `smtp_url` (libcurl).
 *
 * smtp://host:port uses STARTTLS, required -- the message is refused
 * rather than sent in clear -- unless the host is a loopback address (a
 * relay on the same machine, or the tests'); smtps:// is TLS from the
 * first byte.  Certificates are verified against the system's store.  The
 * relay's password, if any, is read from `smtp_password_file` when the
 * sender starts, never from the configuration itself.  One handle per
 * sender thread keeps its connection to the relay between messages.
 *
 * A 5xx answer is permanent (the relay will never take this message: a
 * bad recipient, say), anything else is worth another try.  The relay's
 * answer goes into outbox.last_error; the message itself is never logged.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "notify/notify_int.h"

struct notify_smtp {
  CURL *curl;
  char *password;              /* from smtp_password_file, or NULL */
  bool loopback;
};

bool
notify_host_is_loopback (const char *host)
{
  struct in6_addr a6;
  struct in_addr a4;
  char h[64];
  size_t n;

  if (NULL == host)
    return false;
  n = strlen (host);
  if (n >= 2 && '[' == host[0] && ']' == host[n - 1] && n - 2 < sizeof h)
  {
    memcpy (h, host + 1, n - 2);
    h[n - 2] = '\0';
    host = h;
  }
  if (0 == strcasecmp (host, "localhost"))
    return true;
  if (1 == inet_pton (AF_INET, host, &a4))
    return 127 == (ntohl (a4.s_addr) >> 24);
  return 1 == inet_pton (AF_INET6, host, &a6)
         && IN6_IS_ADDR_LOOPBACK (&a6);
}

/* The host of smtp_url. */
static bool
url_is_loopback (const char *url)
{
  CURLU *u = curl_url ();
  char *host = NULL;
  bool lo = false;

  if (NULL != u && CURLUE_OK == curl_url_set (u, CURLUPART_URL, url, 0)
      && CURLUE_OK == curl_url_get (u, CURLUPART_HOST, &host, 0))
    lo = notify_host_is_loopback (host);
  curl_free (host);
  curl_url_cleanup (u);
  return lo;
}

/* The first line of a file, or NULL. */
static char *
read_password (const char *path)
{
  FILE *f = fopen (path, "r");
  char buf[512];
  char *s = NULL;

  if (NULL == f)
    return NULL;
  if (NULL != fgets (buf, sizeof buf, f))
  {
    buf[strcspn (buf, "\r\n")] = '\0';
    s = strdup (buf);
  }
  fclose (f);
  OPENSSL_cleanse (buf, sizeof buf);
  return s;
}

struct notify_smtp *
notify_smtp_new (void)
{
  struct notify_smtp *s = calloc (1, sizeof *s);
  const char *pwfile = core_cfg->smtp_password_file;

  if (NULL == s || NULL == (s->curl = curl_easy_init ()))
  {
    free (s);
    return NULL;
  }
  if (NULL != pwfile && '\0' != pwfile[0]
      && NULL == (s->password = read_password (pwfile)))
  {
    LOG_ERROR ("smtp_password_file %s cannot be read", pwfile);
    notify_smtp_free (s);
    return NULL;
  }
  s->loopback = url_is_loopback (core_cfg->smtp_url);
  return s;
}

void
notify_smtp_free (struct notify_smtp *s)
{
  if (NULL == s)
    return;
  curl_easy_cleanup (s->curl);
  if (NULL != s->password)
    core_free_secret (s->password, strlen (s->password));
  free (s);
}

struct reader {
  const char *data;
  size_t left;
};

static size_t
read_cb (char *buf, size_t size, size_t n, void *cls)
{
  struct reader *r = cls;
  size_t take = size * n < r->left ? size * n : r->left;

  memcpy (buf, r->data, take);
  r->data += take;
  r->left -= take;
  return take;
}

enum notify_outcome
notify_smtp_send (struct notify_smtp *s, const char *from, const char *to,
                  const char *message, char *why, size_t whylen)
{
  struct reader r = { .data = message, .left = strlen (message) };
  struct curl_slist *rcpt = NULL;
  char env_from[300], env_to[300], err[CURL_ERROR_SIZE] = "";
  long code = 0;
  CURLcode rc;
  CURL *c = s->curl;

  snprintf (env_from, sizeof env_from, "<%s>", from);
  snprintf (env_to, sizeof env_to, "<%s>", to);
  if (NULL == (rcpt = curl_slist_append (NULL, env_to)))
  {
    snprintf (why, whylen, "out of memory");
    return NOTIFY_RETRY;
  }
  curl_easy_setopt (c, CURLOPT_URL, core_cfg->smtp_url);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt (c, CURLOPT_USE_SSL, (long) (s->loopback ? CURLUSESSL_TRY
                                                : CURLUSESSL_ALL));
  curl_easy_setopt (c, CURLOPT_MAIL_FROM, env_from);
  curl_easy_setopt (c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt (c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt (c, CURLOPT_READFUNCTION, &read_cb);
  curl_easy_setopt (c, CURLOPT_READDATA, &r);
  curl_easy_setopt (c, CURLOPT_INFILESIZE_LARGE, (curl_off_t) r.left);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt (c, CURLOPT_TIMEOUT, (long) core_cfg->smtp_timeout_s);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, err);
  if ('\0' != core_cfg->smtp_user[0])
  {
    curl_easy_setopt (c, CURLOPT_USERNAME, core_cfg->smtp_user);
    curl_easy_setopt (c, CURLOPT_PASSWORD, s->password);
  }
  rc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_setopt (c, CURLOPT_MAIL_RCPT, NULL);
  curl_slist_free_all (rcpt);
  if (CURLE_OK == rc)
    return NOTIFY_SENT;
  snprintf (why, whylen, "smtp %ld: %s", code,
            '\0' != err[0] ? err : curl_easy_strerror (rc));
  /* the relay itself is unusable (down, no TLS, our login): every message
     would fail alike, so this batch stops and the rows wait */
  if (CURLE_COULDNT_CONNECT == rc || CURLE_COULDNT_RESOLVE_HOST == rc
      || CURLE_OPERATION_TIMEDOUT == rc || CURLE_USE_SSL_FAILED == rc
      || CURLE_LOGIN_DENIED == rc || 0 == code)
    return NOTIFY_TRANSPORT;
  return code >= 500 && code < 600 ? NOTIFY_PERMANENT : NOTIFY_RETRY;
}

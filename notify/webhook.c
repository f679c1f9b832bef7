/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * webhook.c -- POSTing an event to a relying party (libcurl).
 *
 * The body is {"id", "type", "created_at", "data"}, the same bytes on
 * every attempt.  The header Guichet-Signature: t=<unix seconds>,
 * v1=<hex HMAC-SHA256(secret, "<t>." || body)> lets the receiver check
 * that the body is ours and fresh (the timestamped scheme of the large
 * payment APIs); the secret is the whole "whsec_…" string, as printed.
 *
 * The receiver is someone else's server: redirects are never followed
 * (a 3xx is a failure), only https is spoken (http only to a loopback
 * address, checked again here whatever the table holds), the whole
 * exchange is bounded by `webhook_timeout_s`, and the answer's body is
 * read and thrown away.  2xx is delivered; anything else is retried later
 * with the same event id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "core/config.h"
#include "core/crypto.h"
#include "notify/notify_int.h"

struct notify_http {
  CURL *curl;
};

struct notify_http *
notify_http_new (void)
{
  struct notify_http *h = calloc (1, sizeof *h);

  if (NULL == h || NULL == (h->curl = curl_easy_init ()))
  {
    free (h);
    return NULL;
  }
  return h;
}

void
notify_http_free (struct notify_http *h)
{
  if (NULL == h)
    return;
  curl_easy_cleanup (h->curl);
  free (h);
}

int
notify_webhook_signature (const char *secret, long long t, const char *body,
                          char out[128])
{
  uint8_t mac[CORE_SHA256_LEN];
  char *signed_text = NULL;
  char hex[2 * CORE_SHA256_LEN + 1];
  int rc = -1;

  if (asprintf (&signed_text, "%lld.%s", t, body) < 0)
    return -1;
  if (0 == core_hmac_sha256 (secret, strlen (secret), signed_text,
                             strlen (signed_text), mac))
  {
    core_hex_encode (mac, sizeof mac, hex);
    snprintf (out, 128, "t=%lld,v1=%s", t, hex);
    rc = 0;
  }
  free (signed_text);
  return rc;
}

char *
notify_event_body (const char *id, const char *type, const char *created_at,
                   const char *data_json)
{
  json_t *data = json_loads (data_json, JSON_REJECT_DUPLICATES, NULL);
  json_t *o;
  char *s;

  if (NULL == data)
    return NULL;
  o = json_pack ("{s:s, s:s, s:s, s:o}", "id", id, "type", type,
                 "created_at", created_at, "data", data);
  s = NULL != o ? json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref (o);
  return s;
}

static size_t
discard (char *p, size_t size, size_t n, void *cls)
{
  (void) p;
  (void) cls;
  return size * n;
}

enum notify_outcome
notify_http_post (struct notify_http *h, const char *url, const char *secret,
                  const char *body, long *status, char *why, size_t whylen)
{
  struct curl_slist *hdrs = NULL;
  char sig[160], err[CURL_ERROR_SIZE] = "";
  const char *problem = notify_webhook_url_problem (url);
  CURL *c = h->curl;
  CURLcode rc;

  *status = 0;
  if (NULL != problem)
  {
    snprintf (why, whylen, "%s", problem);
    return NOTIFY_RETRY;
  }
  memcpy (sig, "Guichet-Signature: ", 19);
  if (0 != notify_webhook_signature (secret, (long long) time (NULL), body,
                                     sig + 19)
      || NULL == (hdrs = curl_slist_append (hdrs, sig))
      || NULL == curl_slist_append (hdrs, "Content-Type: application/json")
      || NULL == curl_slist_append (hdrs, "User-Agent: Guichet-Webhook/1")
      || NULL == curl_slist_append (hdrs, "Expect:"))
  {
    curl_slist_free_all (hdrs);
    snprintf (why, whylen, "out of memory");
    return NOTIFY_RETRY;
  }
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE_LARGE,
                    (curl_off_t) strlen (body));
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt (c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) 65536);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt (c, CURLOPT_TIMEOUT, (long) core_cfg->webhook_timeout_s);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, err);
  rc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, status);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all (hdrs);
  if (CURLE_OK == rc && *status >= 200 && *status < 300)
    return NOTIFY_SENT;
  if (CURLE_OK == rc)
    snprintf (why, whylen, "HTTP %ld", *status);
  else
    snprintf (why, whylen, "%s", '\0' != err[0] ? err
              : curl_easy_strerror (rc));
  return NOTIFY_RETRY;
}

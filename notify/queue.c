/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * queue.c -- queueing messages and events inside the caller's transaction,
 * and the relying parties' webhook endpoints.
 *
 * A queued message is a template name and its parameters, not text: the
 * sender renders it in the recipient's language when it sends, and ends
 * a customer's message with the code they have then.  Both queueing paths
 * are SQL functions of migration 0014 (notify_queue_customer_mail,
 * notify_queue_event), shared with the lockout trigger and with the
 * statements of authn/ (a revocation, a passkey, a payment's outcome
 * through notify_queue_transaction), so every path addresses and fans out
 * alike.  Event data never carries a PIN, an OTP, a
 * seed, a document number or an assurance code: callers pass identifiers,
 * amounts and states.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "notify/notify_int.h"

/* ------------------------------------------------------------ queueing */

/* Run @a stmt with @a a, @a b and then @a json written as text: both
   queueing functions take their JSON last.  Takes @a json (decref'd).
   @return the statement's status; HARD_ERROR if @a json is NULL or could
   not be written. */
static enum core_db_status
queue_with_json (struct core_db *db, const char *stmt, const char *a,
                 const char *b, json_t *json)
{
  char *text = NULL != json ? core_json_dump (json) : NULL;
  const char *v[3] = { a, b, text };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (NULL != text)
    st = core_db_exec (db, stmt, 3, v, NULL);
  free (text);
  json_decref (json);
  return st;
}

enum core_db_status
notify_mail_customer_tx (struct core_db *db, const char *customer_id,
                         const char *kind, json_t *params)
{
  return queue_with_json (db, "notify_mail_customer", customer_id, kind,
                          params);
}

enum core_db_status
notify_event_tx (struct core_db *db, const char *type,
                 const char *api_key_name, json_t *data)
{
  return queue_with_json (db, "notify_event", type, api_key_name, data);
}

/* ------------------------------------------------------------ endpoints */

const char *
notify_webhook_url_problem (const char *url)
{
  CURLU *u;
  char *scheme = NULL, *host = NULL, *user = NULL;
  const char *why = NULL;

  if (NULL == url || strlen (url) < 8 || strlen (url) > 2048)
    return "the URL must be 8 to 2048 characters";
  if (NULL == (u = curl_url ()))
    return "out of memory";
  if (CURLUE_OK != curl_url_set (u, CURLUPART_URL, url, 0)
      || CURLUE_OK != curl_url_get (u, CURLUPART_SCHEME, &scheme, 0)
      || CURLUE_OK != curl_url_get (u, CURLUPART_HOST, &host, 0))
    why = "not an absolute URL";
  else if (CURLUE_NO_USER != curl_url_get (u, CURLUPART_USER, &user, 0))
    why = "the URL must not carry a user name or password";
  else if (0 == strcmp (scheme, "http") && ! notify_host_is_loopback (host))
    why = "http is only for a loopback address: use https";
  else if (0 != strcmp (scheme, "https") && 0 != strcmp (scheme, "http"))
    why = "the URL must be https";
  curl_free (scheme);
  curl_free (host);
  curl_free (user);
  curl_url_cleanup (u);
  return why;
}

struct hook_tx {
  const char *name;
  const char *url;
  const char *secret;
  bool found;
};

static enum core_db_status
hook_tx_run (struct core_db *db, void *cls)
{
  struct hook_tx *t = cls;
  const char *p[1] = { t->name };
  PGresult *r = NULL;
  char id[32], aad[48];
  uint8_t *env = NULL;
  size_t envlen = 0;
  char *sealed = NULL;
  enum core_db_status st;

  t->found = false;
  st = core_db_exec (db, "notify_hook_key", 1, p, &r);
  if (CORE_DB_ONE_ROW != st)
    return st;
  snprintf (id, sizeof id, "%s", PQgetvalue (r, 0, 0));
  PQclear (r);
  t->found = true;
  snprintf (aad, sizeof aad, "webhook:%s", id);
  if (0 != core_seal (t->secret, strlen (t->secret), aad, &env, &envlen)
      || NULL == (sealed = malloc (2 * envlen + 3)))
    st = CORE_DB_HARD_ERROR;
  else
  {
    const char *v[3] = { id, t->url, sealed };

    sealed[0] = '\\';
    sealed[1] = 'x';
    core_hex_encode (env, envlen, sealed + 2);
    st = core_db_exec (db, "notify_hook_upsert", 3, v, NULL);
  }
  free (sealed);
  free (env);
  return st;
}

/* "whsec_" + 256 random bits. */
static char *
new_secret (void)
{
  uint8_t raw[32];
  char *b64 = NULL, *s = NULL;

  if (0 == core_random (raw, sizeof raw)
      && NULL != (b64 = core_b64url_encode (raw, sizeof raw))
      && asprintf (&s, "whsec_%s", b64) < 0)
    s = NULL;
  OPENSSL_cleanse (raw, sizeof raw);
  if (NULL != b64)
    core_free_secret (b64, strlen (b64));
  return s;
}

/* The secret for @a t, the transaction's outcome into an error. */
static enum core_err
hook_result (struct core_db *db, enum core_db_status st,
             const struct hook_tx *t, char **secret)
{
  if (st >= 0 && t->found)
    return CORE_OK;
  core_free_secret (*secret, strlen (*secret));
  *secret = NULL;
  return st < 0 ? notify_db_err (db) : CORE_ERR_NOT_FOUND;
}

/* Both ways of setting a webhook: in a transaction of its own, or as a
   statement of the caller's (@a in_tx). */
static enum core_err
webhook_set (struct core_db *db, const char *api_key_name, const char *url,
             char **secret, bool in_tx)
{
  struct hook_tx t = { .name = api_key_name, .url = url };

  *secret = NULL;
  if (NULL != notify_webhook_url_problem (url))
    return CORE_ERR_INVALID_FIELD;
  if (NULL == (*secret = new_secret ()))
    return CORE_ERR_INTERNAL;
  t.secret = *secret;
  return hook_result (db, in_tx ? hook_tx_run (db, &t)
                      : core_db_tx (db, false, &hook_tx_run, &t), &t, secret);
}

enum core_err
notify_webhook_set (struct core_db *db, const char *api_key_name,
                    const char *url, char **secret)
{
  return webhook_set (db, api_key_name, url, secret, false);
}

enum core_err
notify_webhook_set_tx (struct core_db *db, const char *api_key_name,
                       const char *url, char **secret)
{
  return webhook_set (db, api_key_name, url, secret, true);
}

enum core_err
notify_webhook_remove (struct core_db *db, const char *api_key_name)
{
  const char *p[1] = { api_key_name };
  enum core_db_status st = core_db_exec (db, "notify_hook_delete", 1, p,
                                         NULL);

  if (st < 0)
    return notify_db_err (db);
  return CORE_DB_ONE_ROW == st ? CORE_OK : CORE_ERR_NOT_FOUND;
}

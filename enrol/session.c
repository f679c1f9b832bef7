/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * session.c -- applicant sessions and resume links.
 *
 * A session token is 256 random bits, given to the browser once as a
 * cookie and stored as its SHA-256.  A session idle longer than
 * session_idle_s (5 minutes, PSD2 RTS Art. 4(3)(d)) is dead; the enrolment
 * survives and a new session can only be started through a single-use link
 * queued in the outbox for the applicant's e-mail (notify/ sends it).
 * Never log a token.
 *
 * An enrolment has at most one live link -- whether asked for by the
 * applicant or sent when a review lets the enrolment go on: a new one ends
 * the one before (and drops its message if still unsent).  The outbox row
 * keeps the link's token in its secret column, apart from the message,
 * only until the message is sent or given up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "enrol/enrol_db.h"
#include "enrol/session.h"
#include "notify/notify.h"

/* "\\x" + hex SHA-256 of @a token, as a bytea text parameter. */
static void
token_hash_param (const char *token, char out[67])
{
  uint8_t h[CORE_SHA256_LEN];

  core_sha256 (token, strlen (token), h);
  out[0] = '\\';
  out[1] = 'x';
  core_hex_encode (h, sizeof h, out + 2);
}

char *
enrol_token_new (char hash_param[67])
{
  uint8_t raw[32];
  char *token;

  if (0 != core_random (raw, sizeof raw))
    return NULL;
  token = core_b64url_encode (raw, sizeof raw);
  OPENSSL_cleanse (raw, sizeof raw);
  if (NULL != token)
    token_hash_param (token, hash_param);
  return token;
}

enum core_db_status
enrol_session_create (struct core_db *db, const char *id, char **token)
{
  char hash[67];
  const char *params[2] = { hash, id };
  enum core_db_status st;

  *token = enrol_token_new (hash);
  if (NULL == *token)
    return CORE_DB_HARD_ERROR;
  st = core_db_exec (db, "enrol_session_insert", 2, params, NULL);
  if (st <= 0)
  {
    core_free_secret (*token, strlen (*token));
    *token = NULL;
  }
  return st;
}

enum core_err
enrol_db_err (struct core_db *db)
{
  return core_db_err (db);
}

enum core_err
enrol_session_check (struct core_db *db, const char *token, const char *id)
{
  char hash[67];
  char idle[16];
  const char *params[3] = { hash, id, idle };
  enum core_db_status st;

  if (NULL == token || '\0' == token[0] || strlen (token) > 128)
    return CORE_ERR_NOT_FOUND;
  token_hash_param (token, hash);
  snprintf (idle, sizeof idle, "%u", core_cfg->session_idle_s);
  st = core_db_exec (db, "enrol_session_touch", 3, params, NULL);
  if (CORE_DB_ONE_ROW == st)
    return CORE_OK;
  if (st < 0)
    return enrol_db_err (db);
  st = core_db_exec (db, "enrol_session_exists", 2, params, NULL);
  if (st < 0)
    return enrol_db_err (db);
  return CORE_DB_ONE_ROW == st ? CORE_ERR_UNAUTHORIZED : CORE_ERR_NOT_FOUND;
}

enum core_db_status
enrol_outbox_applicant_tx (struct core_db *db, const char *id,
                           const char *kind, json_t *params,
                           const char *secret)
{
  char *p = NULL != params ? core_json_dump (params) : NULL;
  const char *v[4] = { kind, id, p, secret };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (NULL != p)
    st = core_db_exec (db, "enrol_outbox_insert", 4, v, NULL);
  free (p);                     /* the link says {{secret}}: no secret */
  json_decref (params);
  return st;
}

/* The link's bearer part is not in the row's params but in its secret
   column; the params say {{secret}} where the sender puts it when it
   renders the message, and the statement that marks the row sent or
   failed clears the column (the CHECK outbox_secret_until_sent refuses
   a row that is not pending and still holds one), so neither a sent
   message nor a given-up one keeps a working link. */
static enum core_db_status
link_queue (struct core_db *db, const char *id, const char *base_url,
            const char *kind, const char *token)
{
  char *link = NULL;
  enum core_db_status st;

  if (asprintf (&link, "%s/#resume=%s.{{secret}}", base_url, id) < 0)
    return CORE_DB_HARD_ERROR;
  st = enrol_outbox_applicant_tx (db, id, kind,
                                  json_pack ("{s:s}", "link", link), token);
  free (link);
  return st;
}

enum core_db_status
enrol_link_message_tx (struct core_db *db, const char *id,
                       const char *base_url, const char *kind)
{
  const char *p1[1] = { id };
  char hash[67];
  const char *p2[2] = { hash, id };
  char *token = NULL;
  enum core_db_status st;

  st = core_db_exec (db, "enrol_resume_lock", 1, p1, NULL);
  if (CORE_DB_ONE_ROW != st)
    return st;
  if ((st = core_db_exec (db, "enrol_resume_tokens_end", 1, p1, NULL)) < 0
      || (st = core_db_exec (db, "enrol_resume_outbox_drop", 1, p1,
                             NULL)) < 0)
    return st;
  if (NULL == (token = enrol_token_new (hash)))
    return CORE_DB_HARD_ERROR;
  st = core_db_exec (db, "enrol_resume_token_insert", 2, p2, NULL);
  if (CORE_DB_ONE_ROW == st)
    st = link_queue (db, id, base_url, kind, token);
  core_free_secret (token, strlen (token));
  return st;
}

struct resume_link_tx {
  const char *id;
  const char *base_url;
  char addr_key[CORE_RATE_KEY_LEN];
  unsigned int rate_wait;       /* > 0: refused by a rate limit */
};

/* Is the enrolment's live link younger than resume_link_min_age_s?  Then
   a new one would only end a link that is probably still on its way or
   unread: anyone who knows an enrolment id may ask, and the applicant
   must not lose their fresh link, or their quota, to a stranger. */
static enum core_db_status
link_young (struct core_db *db, const char *id, bool *young)
{
  char age[16];
  const char *p[2] = { id, age };
  enum core_db_status st;

  *young = false;
  if (0 == core_cfg->resume_link_min_age_s)
    return CORE_DB_NO_ROW;
  snprintf (age, sizeof age, "%u", core_cfg->resume_link_min_age_s);
  st = core_db_exec (db, "enrol_resume_young", 2, p, NULL);
  *young = CORE_DB_ONE_ROW == st;
  return st;
}

/* The address's limit; nothing more while a young link lives; then the
   enrolment's limit and the link (enrol_link_message_tx).  An unknown or
   finished enrolment writes nothing but the limits' counts (its limit
   counts all the same: a 429 says nothing about whether it exists).  A
   request the enrolment's limit refuses has spent one of its address's:
   abuse costs the abuser.  Every case that is not a 429 answers the same
   202. */
static enum core_db_status
resume_link_tx (struct core_db *db, void *cls)
{
  struct resume_link_tx *t = cls;
  enum core_db_status st;
  bool young = false;

  t->rate_wait = 0;
  st = core_rate_take (db, "resume_link_address", t->addr_key,
                       &core_cfg->rate_resume_link_per_address, &t->rate_wait);
  if (st >= 0 && 0 == t->rate_wait)
    st = link_young (db, t->id, &young);
  if (st < 0 || t->rate_wait > 0 || young)
    return st < 0 ? st : CORE_DB_ONE_ROW;   /* keep the address's count */
  st = core_rate_take (db, "resume_link_enrolment", t->id,
                       &core_cfg->rate_resume_link_per_enrolment,
                       &t->rate_wait);
  if (st < 0 || t->rate_wait > 0)
    return st < 0 ? st : CORE_DB_ONE_ROW;   /* keep both counts */
  return enrol_link_message_tx (db, t->id, t->base_url, NOTIFY_RESUME_LINK);
}

enum core_err
enrol_resume_link (struct core_db *db, const char *id, const char *base_url,
                   const char *client_addr, long *retry_after)
{
  struct resume_link_tx t = { .id = id, .base_url = base_url };

  *retry_after = 0;
  core_rate_addr_key (client_addr, t.addr_key);
  if (core_db_tx (db, false, &resume_link_tx, &t) < 0)
    return enrol_db_err (db);
  if (t.rate_wait > 0)
  {
    *retry_after = t.rate_wait;
    return CORE_ERR_RATE_LIMITED;
  }
  return CORE_OK;                        /* whether or not it exists */
}

struct resume_tx {
  const char *id;
  char hash[67];
  char *session_token;
};

static enum core_db_status
resume_tx (struct core_db *db, void *cls)
{
  struct resume_tx *t = cls;
  const char *params[2] = { t->hash, t->id };
  enum core_db_status st;

  if (NULL != t->session_token)
  {
    core_free_secret (t->session_token, strlen (t->session_token));
    t->session_token = NULL;
  }
  st = core_db_exec (db, "enrol_resume_token_use", 2, params, NULL);
  if (CORE_DB_ONE_ROW != st)
    return st;
  return enrol_session_create (db, t->id, &t->session_token);
}

enum core_err
enrol_resume (struct core_db *db, const char *id, const char *token,
              char **session_token, json_t **view)
{
  struct resume_tx t = { .id = id };
  enum core_db_status st;
  enum core_err err;

  *session_token = NULL;
  *view = NULL;
  if (strlen (token) > 128)
    return CORE_ERR_NOT_FOUND;
  token_hash_param (token, t.hash);
  st = core_db_tx (db, false, &resume_tx, &t);
  if (st < 0)
    return enrol_db_err (db);
  if (CORE_DB_NO_ROW == st || NULL == t.session_token)
    return CORE_ERR_NOT_FOUND;
  err = enrol_get (db, id, view);
  if (CORE_OK != err)
  {
    core_free_secret (t.session_token, strlen (t.session_token));
    return err;
  }
  *session_token = t.session_token;
  return CORE_OK;
}

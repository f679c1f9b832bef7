/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * session.c -- applicant sessions and resume links.
 *
 * A session token is 256 random bits, given to the browser once as a
 * cookie and stored as its SHA-256.  A session idle longer than
 * session_idle_s (5 minutes, PSD2 RTS Art. 4(3)(d)) is dead; the enrolment
 * survives and a new session can only be started through a single-use link
 * queued in the outbox for the applicant's e-mail (notify/ sends it and
 * then forgets it: the row carries a secret).  Never log a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
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
  return core_db_alive (db, false) ? CORE_ERR_INTERNAL
         : CORE_ERR_DATABASE_UNAVAILABLE;
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
                           const char *kind, json_t *params, bool secret)
{
  char *p = NULL != params ? core_json_dump (params) : NULL;
  const char *v[4] = { kind, id, p, secret ? "true" : "false" };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (NULL != p)
    st = core_db_exec (db, "enrol_outbox_insert", 4, v, NULL);
  if (NULL != p)
    core_free_secret (p, strlen (p));
  json_decref (params);
  return st;
}

enum core_db_status
enrol_link_message_tx (struct core_db *db, const char *id,
                       const char *base_url, const char *kind)
{
  char hash[67];
  char *token = enrol_token_new (hash);
  char *link = NULL;
  const char *p1[2] = { hash, id };
  enum core_db_status st;

  if (NULL == token)
    return CORE_DB_HARD_ERROR;
  st = core_db_exec (db, "enrol_resume_token_insert", 2, p1, NULL);
  if (CORE_DB_ONE_ROW == st
      && asprintf (&link, "%s/#resume=%s.%s", base_url, id, token) > 0)
    st = enrol_outbox_applicant_tx (db, id, kind,
                                    json_pack ("{s:s}", "link", link), true);
  if (NULL != link)
    core_free_secret (link, strlen (link));
  core_free_secret (token, strlen (token));
  return st;
}

struct resume_link_tx {
  const char *id;
  const char *base_url;
};

static enum core_db_status
resume_link_tx (struct core_db *db, void *cls)
{
  struct resume_link_tx *t = cls;

  return enrol_link_message_tx (db, t->id, t->base_url, NOTIFY_RESUME_LINK);
}

enum core_err
enrol_resume_link (struct core_db *db, const char *id, const char *base_url)
{
  struct resume_link_tx t = { .id = id, .base_url = base_url };

  if (core_db_tx (db, false, &resume_link_tx, &t) < 0)
    return enrol_db_err (db);
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

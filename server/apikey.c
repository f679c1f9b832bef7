/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * apikey.c -- relying parties' API keys (see apikey.h).
 *
 * A key is "gk_" + 43 base64url characters (256 random bits).  Only its
 * SHA-256 is stored: a database dump does not let anyone call the API.
 * Looking a key up by its hash needs no constant-time compare (the hash of
 * a guess reveals nothing usable about the real key).
 *
 * A key may carry origins (guichetd apikey create --origin ...): the
 * places a transaction's return_url may send the payer back to.  They are
 * checked and normalised here (authn/tx_check.c) and stored as text[].
 *
 * Every call looks its key up in PostgreSQL: whether a key is valid is
 * security state, and no process keeps a copy of it, so a key revoked on
 * one instance is refused by every instance from the commit on.  (An
 * earlier per-thread cache saved one indexed query per call at the price
 * of a revoked key working for a few more seconds.)
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "authn/transaction.h"
#include "core/crypto.h"
#include "core/log.h"
#include "server/apikey.h"

static const struct core_db_stmt stmts[] = {
  { "srv_apikey_insert",
    "INSERT INTO api_keys (name, key_hash, origins)"
    " VALUES ($1, $2::bytea, string_to_array($3, ' '))"
    " ON CONFLICT (name) DO NOTHING RETURNING id" },
  { "srv_apikey_lookup",
    "SELECT name FROM api_keys WHERE key_hash = $1::bytea"
    " AND revoked_at IS NULL" },
  { NULL, NULL }
};

void
srv_apikey_register_statements (void)
{
  core_db_register (stmts);
}

/* "\\x" + hex of SHA-256(key): bytea text input. */
static void
key_hash_param (const char *key, char out[2 + 64 + 1])
{
  uint8_t h[CORE_SHA256_LEN];

  core_sha256 (key, strlen (key), h);
  out[0] = '\\';
  out[1] = 'x';
  core_hex_encode (h, sizeof h, out + 2);
}

/* The normalised origins, space-separated (an origin holds no space).
   @return malloc'd text, or NULL with *bad set when one is refused. */
static char *
origins_param (const char *const *origins, size_t n, const char **bad)
{
  char *text = calloc (n + 1, AUTHN_TX_ORIGIN_MAX);
  char one[AUTHN_TX_ORIGIN_MAX];

  *bad = NULL;
  if (NULL == text)
    return NULL;
  for (size_t i = 0; i < n; i++)
  {
    if (0 != authn_tx_origin (origins[i], false, one)
        || ! authn_tx_origin_registrable (one))
    {
      *bad = origins[i];
      free (text);
      return NULL;
    }
    if (i > 0)
      strcat (text, " ");
    strcat (text, one);
  }
  return text;
}

enum core_err
srv_apikey_create (struct core_db *db, const char *name,
                   const char *const *origins, size_t n_origins, char **key,
                   const char **bad_origin)
{
  uint8_t raw[32];
  char *b64 = NULL;
  char *origin_list = NULL;
  char hash[67];
  const char *params[3];
  enum core_db_status st;
  enum core_err err = CORE_ERR_INTERNAL;

  *key = NULL;
  *bad_origin = NULL;
  if (NULL == name || '\0' == name[0] || strlen (name) > 64)
    return CORE_ERR_INVALID_FIELD;
  if (NULL == (origin_list = origins_param (origins, n_origins, bad_origin)))
    return NULL != *bad_origin ? CORE_ERR_INVALID_FIELD : CORE_ERR_INTERNAL;
  if (0 != core_random (raw, sizeof raw))
    goto cleanup;
  b64 = core_b64url_encode (raw, sizeof raw);
  if (NULL == b64 || NULL == (*key = malloc (3 + strlen (b64) + 1)))
    goto cleanup;
  strcpy (*key, "gk_");
  strcat (*key, b64);
  key_hash_param (*key, hash);
  params[0] = name;
  params[1] = hash;
  params[2] = origin_list;
  st = core_db_exec (db, "srv_apikey_insert", 3, params, NULL);
  if (CORE_DB_ONE_ROW == st)
    err = CORE_OK;
  else if (CORE_DB_NO_ROW == st)
    err = CORE_ERR_CONFLICT;
  else
    err = core_db_err (db);
cleanup:
  OPENSSL_cleanse (raw, sizeof raw);
  core_free_secret (b64, NULL != b64 ? strlen (b64) : 0);
  free (origin_list);
  if (CORE_OK != err && NULL != *key)
  {
    core_free_secret (*key, strlen (*key));
    *key = NULL;
  }
  return err;
}

enum core_err
srv_apikey_hash (const char *key, char out[2 + 64 + 1])
{
  out[0] = '\0';
  if (strlen (key) > 128)
    return CORE_ERR_UNAUTHORIZED;
  key_hash_param (key, out);
  return CORE_OK;
}

enum core_err
srv_apikey_check (struct core_db *db, const char *key, char **name)
{
  char hash[67];
  const char *params[1] = { hash };
  PGresult *res = NULL;
  enum core_db_status st;

  *name = NULL;
  if (strlen (key) > 128)
    return CORE_ERR_UNAUTHORIZED;
  key_hash_param (key, hash);
  st = core_db_exec (db, "srv_apikey_lookup", 1, params, &res);
  if (CORE_DB_ONE_ROW == st)
    *name = strdup (PQgetvalue (res, 0, 0));
  if (NULL != res)
    PQclear (res);
  if (st < 0)
    return core_db_err (db);
  return NULL != *name ? CORE_OK : CORE_ERR_UNAUTHORIZED;
}

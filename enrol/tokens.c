/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tokens.c -- identifiers of people as keyed tokens (see tokens.h), and
 * the rekey step that brings stored rows to the current token key.
 *
 * A document number is never stored: only its token is, so a stolen copy
 * of the database cannot be searched for a known passport, nor brute-forced
 * back to numbers, without the key file.  The number and the inner hash
 * live on the stack for the time of the computation and are cleansed.
 *
 * Rekey.  The identity token can be recomputed from the applicant data the
 * row keeps, so every row whose identity_key_id is not the current key's
 * is recomputed.  The document token cannot: the number is not kept.  Rows
 * written before tokenisation (doc_key_id NULL) hold SHA-256("STATE|NUMBER")
 * and are wrapped once into the current key's token; rows already under an
 * older token key stay as they are and still match while that key is in the
 * key file.  Each UPDATE is conditional on the key ids it read, so two
 * guichetd starting together never wrap a value twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core/crypto.h"
#include "core/log.h"
#include "enrol/names.h"
#include "enrol/session.h"
#include "enrol/tokens.h"

#define DOC_DOMAIN "guichet-doc-v1"
#define IDENTITY_DOMAIN "guichet-identity-v1"
#define NAME_FORM_MAX 512
#define REKEY_BATCH "500"

/* HMAC of domain || 0x00 || data under every key into @a out. */
static int
tokens_of (const char *domain, const void *data, size_t len,
           struct enrol_tokens *out)
{
  size_t dl = strlen (domain), n = core_token_keys (), o = 0;
  uint8_t *msg = malloc (dl + 1 + len);
  char hex[65];
  int rc = -1;

  out->key_id[0] = out->current[0] = out->all[0] = '\0';
  if (NULL == msg || 0 == n)
    goto cleanup;
  memcpy (msg, domain, dl + 1);
  memcpy (msg + dl + 1, data, len);
  out->all[o++] = '{';
  for (size_t i = 0; i < n; i++)
  {
    if (0 != core_token_hmac_hex (i, msg, dl + 1 + len, hex))
      goto cleanup;
    o += (size_t) snprintf (out->all + o, sizeof out->all - o, "%s%s",
                            i > 0 ? "," : "", hex);
    if (0 == i)
      memcpy (out->current, hex, sizeof hex);
  }
  snprintf (out->all + o, sizeof out->all - o, "}");
  snprintf (out->key_id, sizeof out->key_id, "%s", core_token_key_id (0));
  rc = 0;
cleanup:
  if (NULL != msg)
    core_free_secret (msg, dl + 1 + len);
  if (0 != rc)
    out->current[0] = out->all[0] = '\0';
  return rc;
}

int
enrol_tokens_doc (const char *state, const char *number,
                  struct enrol_tokens *out)
{
  char text[64];
  uint8_t inner[CORE_SHA256_LEN];
  int rc;

  snprintf (text, sizeof text, "%s|%s", state, number);
  core_sha256 (text, strlen (text), inner);
  rc = tokens_of (DOC_DOMAIN, inner, sizeof inner, out);
  OPENSSL_cleanse (text, sizeof text);
  OPENSSL_cleanse (inner, sizeof inner);
  return rc;
}

int
enrol_tokens_identity (const char *surname, const char *given_names,
                       const char *birth_date, struct enrol_tokens *out)
{
  char sur[NAME_FORM_MAX], giv[NAME_FORM_MAX], text[2 * NAME_FORM_MAX + 16];
  int n, rc = -1;

  out->current[0] = out->all[0] = '\0';
  if (0 == enrol_names_key_form (surname, sur, sizeof sur)
      && 0 == enrol_names_key_form (given_names, giv, sizeof giv))
  {
    n = snprintf (text, sizeof text, "%s|%s|%s", sur, giv, birth_date);
    if (n > 0 && (size_t) n < sizeof text)
      rc = tokens_of (IDENTITY_DOMAIN, text, (size_t) n, out);
  }
  OPENSSL_cleanse (sur, sizeof sur);
  OPENSSL_cleanse (giv, sizeof giv);
  OPENSSL_cleanse (text, sizeof text);
  return rc;
}

int
enrol_tokens_doc_wrap (size_t key, const char *legacy_hex, char out[65])
{
  static const char domain[] = DOC_DOMAIN;
  uint8_t msg[sizeof domain + CORE_SHA256_LEN];

  out[0] = '\0';
  if (NULL == legacy_hex || 2 * CORE_SHA256_LEN != strlen (legacy_hex)
      || CORE_SHA256_LEN != core_hex_decode (legacy_hex, msg + sizeof domain,
                                             CORE_SHA256_LEN))
    return -1;
  memcpy (msg, domain, sizeof domain);   /* with its NUL: the 0x00 */
  return core_token_hmac_hex (key, msg, sizeof msg, out);
}

/* ------------------------------------------------------------ rekey */

struct rekey_tx {
  char after[128];          /* keyset: rows with a greater id */
  long rows;                /* rows changed, all batches */
  int seen;                 /* rows read by this batch */
};

/* Recompute one row of the batch result @a r. */
static enum core_db_status
rekey_row (struct core_db *db, PGresult *r, int i, struct rekey_tx *t)
{
  struct enrol_tokens idt;
  char wrapped[65] = "";
  const char *legacy = PQgetisnull (r, i, 4) ? NULL : PQgetvalue (r, i, 4);
  bool wrap = NULL != legacy && '\0' == PQgetvalue (r, i, 5)[0];
  const char *p[6];
  enum core_db_status st;

  if (0 != enrol_tokens_identity (PQgetvalue (r, i, 1), PQgetvalue (r, i, 2),
                                  PQgetvalue (r, i, 3), &idt))
    return CORE_DB_HARD_ERROR;
  /* A legacy value that is not 64 hex digits is dropped (wrapped stays ""). */
  if (wrap)
    (void) enrol_tokens_doc_wrap (0, legacy, wrapped);
  p[0] = PQgetvalue (r, i, 0);
  p[1] = idt.current;
  p[2] = idt.key_id;
  p[3] = wrap && '\0' != wrapped[0] ? wrapped : NULL;
  p[4] = PQgetvalue (r, i, 6);
  p[5] = PQgetvalue (r, i, 5);
  st = core_db_exec (db, "enrol_rekey_row", 6, p, NULL);
  if (CORE_DB_ONE_ROW == st)
    t->rows++;
  return st;
}

static enum core_db_status
rekey_batch (struct core_db *db, void *cls)
{
  struct rekey_tx *t = cls;
  const char *p[2] = { core_token_key_id (0), t->after };
  PGresult *r = NULL;
  long rows = t->rows;
  enum core_db_status st = core_db_exec (db, "enrol_rekey_batch", 2, p, &r);

  t->seen = 0;
  for (int i = 0; CORE_DB_ONE_ROW == st && i < PQntuples (r); i++)
  {
    enum core_db_status one = rekey_row (db, r, i, t);

    if (one < 0)
    {
      st = one;
      break;
    }
    t->seen++;
  }
  if (st >= 0 && t->seen > 0)
    snprintf (t->after, sizeof t->after, "%s",
              PQgetvalue (r, t->seen - 1, 0));
  if (st < 0)
    t->rows = rows;          /* rolled back: retried or given up */
  if (NULL != r)
    PQclear (r);
  return st < 0 ? st : CORE_DB_ONE_ROW;
}

enum core_err
enrol_tokens_rekey (struct core_db *db, long *rows)
{
  struct rekey_tx t = { .after = "" };
  enum core_db_status st;

  *rows = 0;
  if (0 == core_token_keys ())
    return CORE_ERR_INTERNAL;
  do
    st = core_db_tx (db, false, &rekey_batch, &t);
  while (st >= 0 && t.seen > 0);
  *rows = t.rows;
  if (st < 0)
    return enrol_db_err (db);
  if (t.rows > 0)
    LOG_INFO ("tokens: %ld enrolment rows brought to token key %s", t.rows,
              core_token_key_id (0));
  return CORE_OK;
}

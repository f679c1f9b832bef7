/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey.c (enrol/) -- the applicant registers a passkey for the laptop
 * (or a second phone) on the credential step or the completion page; it
 * is optional and comes on top of the credential chosen.
 *
 * The passkey's user handle is the customer id, which does not exist yet
 * in state `credential`: the first options reserve it on the enrolment
 * row (the credential step then uses the same id).  A passkey registered
 * before completion is stored pending and becomes the customer's in the
 * completing transaction (authn_passkey_attach_tx, called from
 * enrol_issue_complete); one registered after it is active at once.  The
 * enrolment row is locked while the passkey is stored, so completion and
 * registration never cross.  The ceremony itself is authn/'s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "enrol/passkey.h"
#include "enrol/session.h"

#define RELYING_PARTY "enrolment"
/* Passkeys one enrolment may register: a laptop, a second phone, a
   security key or two.  What an applicant can create stays bounded. */
#define MAX_PASSKEYS 5

static const struct core_db_stmt stmts[] = {
  { "enrol_passkey_lock",
    "SELECT state, expires_at < now(), coalesce(customer_id, '')"
    "  FROM enrolments WHERE id = $1 FOR UPDATE" },
  { "enrol_passkey_count",
    "SELECT count(*) FROM passkeys WHERE enrolment_id = $1"
    "   AND status <> 'revoked'" },
  { "enrol_passkey_reserve",
    "UPDATE enrolments SET customer_id = $2"
    " WHERE id = $1 AND customer_id IS NULL RETURNING id" },
  { NULL, NULL }
};

void
enrol_passkey_register_statements (void)
{
  core_db_register (stmts);
}

struct lock_tx {
  const char *id;
  bool reserve;                /* options: reserve a customer id */
  const struct authn_passkey_new *pk;   /* register: store it */
  char customer_id[64];
  char passkey_id[AUTHN_ID_MAX];
  enum core_err err;
};

/* Lock the enrolment; @return its state's verdict in t->err. */
static enum core_db_status
lock_row (struct core_db *db, struct lock_tx *t, bool *completed)
{
  const char *p[1] = { t->id };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "enrol_passkey_lock", 1, p, &r);

  t->err = CORE_OK;
  if (st == CORE_DB_ONE_ROW)
    {
      *completed = strcmp (PQgetvalue (r, 0, 0), "completed") == 0;
      if (!*completed && strcmp (PQgetvalue (r, 0, 0), "credential") != 0)
        t->err = CORE_ERR_WRONG_STATE;
      else if (!*completed && strcmp (PQgetvalue (r, 0, 1), "t") == 0)
        t->err = CORE_ERR_ENROLMENT_EXPIRED;
      snprintf (t->customer_id, sizeof t->customer_id, "%s",
                PQgetvalue (r, 0, 2));
    }
  else if (st == CORE_DB_NO_ROW)
    t->err = CORE_ERR_NOT_FOUND;
  PQclear (r);
  return st;
}

/* Under the row lock: refuse past MAX_PASSKEYS. */
static enum core_db_status
check_count (struct core_db *db, struct lock_tx *t)
{
  const char *p[1] = { t->id };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "enrol_passkey_count", 1, p, &r);

  if (st == CORE_DB_ONE_ROW && atoi (PQgetvalue (r, 0, 0)) >= MAX_PASSKEYS)
    {
      t->err = CORE_ERR_POLICY_REFUSED;
      st = CORE_DB_NO_ROW;
    }
  PQclear (r);
  return st;
}

static enum core_db_status
reserve (struct core_db *db, struct lock_tx *t)
{
  char *cus;
  const char *p[2] = { t->id, NULL };
  enum core_db_status st;

  if (t->customer_id[0] != '\0')
    return CORE_DB_ONE_ROW;
  if ((cus = core_random_id ("cus")) == NULL)
    return CORE_DB_HARD_ERROR;
  p[1] = cus;
  st = core_db_exec (db, "enrol_passkey_reserve", 2, p, NULL);
  if (st == CORE_DB_ONE_ROW)
    snprintf (t->customer_id, sizeof t->customer_id, "%s", cus);
  free (cus);
  return st == CORE_DB_NO_ROW ? CORE_DB_HARD_ERROR : st;
}

static enum core_db_status
lock_tx_run (struct core_db *db, void *cls)
{
  struct lock_tx *t = cls;
  bool completed = false;
  enum core_db_status st = lock_row (db, t, &completed);

  if (st != CORE_DB_ONE_ROW || t->err != CORE_OK)
    return st < 0 ? st : CORE_DB_NO_ROW;
  if ((st = check_count (db, t)) != CORE_DB_ONE_ROW)
    return st;
  if (t->reserve)
    return reserve (db, t);
  if (strcmp (t->customer_id, authn_passkey_new_customer (t->pk)) != 0)
    {
      /* the challenge was made for another customer id: cannot happen
         while this file reserves ids once, so it is our bug */
      LOG_BUG ("enrolment %s: passkey for another customer id", t->id);
      t->err = CORE_ERR_INTERNAL;
      return CORE_DB_NO_ROW;
    }
  return authn_passkey_store_tx (db, t->pk, !completed, t->passkey_id,
                                 &t->err);
}

enum core_err
enrol_passkey_options (struct core_db *db, const char *id,
                       const struct authn_passkey_rp *rp,
                       const char *client_addr, json_t **out)
{
  struct lock_tx t = { .id = id, .reserve = true };
  struct authn_passkey_who who = { .relying_party = RELYING_PARTY,
                                   .client_addr = client_addr };
  struct authn_passkey_owner owner = { .enrolment_id = id };
  enum core_db_status st;

  *out = NULL;
  st = core_db_tx (db, false, &lock_tx_run, &t);
  if (st < 0)
    return enrol_db_err (db);
  if (t.err != CORE_OK)
    return t.err;
  owner.customer_id = owner.user_name = t.customer_id;
  return authn_passkey_register_options (db, rp, &who, &owner, out);
}

enum core_err
enrol_passkey_register (struct core_db *db, const char *id,
                        const struct authn_passkey_rp *rp,
                        const char *client_addr, const char *challenge_id,
                        json_t *credential, char passkey_id[AUTHN_ID_MAX],
                        struct authn_passkey_refusal *r)
{
  struct authn_passkey_who who = { .relying_party = RELYING_PARTY,
                                   .client_addr = client_addr };
  struct lock_tx t = { .id = id };
  struct authn_passkey_new *pk = NULL;
  enum core_db_status st;
  enum core_err err;

  err = authn_passkey_register_verify (db, rp, &who, challenge_id, id,
                                       credential, &pk, r);
  if (err != CORE_OK)
    return err;
  t.pk = pk;
  st = core_db_tx (db, false, &lock_tx_run, &t);
  err = st < 0 ? enrol_db_err (db) : t.err;
  if (err == CORE_OK)
    {
      snprintf (passkey_id, AUTHN_ID_MAX, "%s", t.passkey_id);
      LOG_INFO ("enrolment %s: passkey %s registered", id, t.passkey_id);
    }
  authn_passkey_new_free (pk);
  return err;
}

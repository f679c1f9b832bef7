/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tokens_admin.c -- the credential lifecycle the back-office drives: look
 * at a customer and their credentials, clear a lockout, revoke a
 * credential (and retire its hardware token as lost or revoked).
 *
 * Each change and its audit row (core_audit_append) are one transaction,
 * so neither can exist without the other; so are a revocation and what
 * notify/ sends about it (the customer's e-mail, the credential.revoked
 * event, queued through authn_db_queue_*).  A revocation is one
 * conditional UPDATE (WHERE state = 'active'); verify and resync only
 * load active credentials and spend a code only WHERE state = 'active',
 * so a revoked credential fails from the commit on, even for a verify
 * already in flight.  No PIN hash, seed or code is read here.
 */
#include <stdlib.h>
#include <string.h>

#include "authn/authn_db.h"
#include "authn/tokens.h"
#include "authn/tokens_db.h"
#include "core/audit.h"
#include "core/log.h"

/* ---------------------------------------------------------------- view */

enum core_err
authn_admin_customer (struct core_db *db, const char *customer_id,
                      json_t **out)
{
  enum core_db_status st = tokens_db_customer_view (db, customer_id, out);

  if (st == CORE_DB_NO_ROW)
    return CORE_ERR_NOT_FOUND;
  return st < 0 ? authn_db_err (db) : CORE_OK;
}

/* -------------------------------------------------------------- unlock */

struct unlock_tx {
  const char *customer_id;
  const char *actor;
  bool found;
};

static enum core_db_status
unlock_tx_run (struct core_db *db, void *cls)
{
  struct unlock_tx *u = cls;
  long failed = 0;
  bool locked = false;
  enum core_db_status st;

  st = tokens_db_unlock (db, u->customer_id, &failed, &locked);
  u->found = st == CORE_DB_ONE_ROW;
  if (st != CORE_DB_ONE_ROW)
    return st;
  return core_audit_append (db, u->actor, "customer.unlock", u->customer_id,
                            json_pack ("{s:b, s:I}", "was_locked", locked,
                                       "failed_attempts",
                                       (json_int_t) failed));
}

enum core_err
authn_admin_unlock (struct core_db *db, const char *customer_id,
                    const char *actor)
{
  struct unlock_tx u = { .customer_id = customer_id, .actor = actor };
  enum core_db_status st = core_db_tx (db, false, &unlock_tx_run, &u);

  if (st < 0)
    return authn_db_err (db);
  if (!u.found)
    return CORE_ERR_NOT_FOUND;
  LOG_INFO ("customer %s unlocked by %s", customer_id, actor);
  return CORE_OK;
}

/* -------------------------------------------------------------- revoke */

struct revoke_tx {
  const char *credential_id;
  const char *reason;
  const char *actor;
  char customer_id[AUTHN_ID_MAX];
  char *serial;              /* out: the retired token's serial, or NULL */
  enum core_err err;
};

/* Not active: unknown (404) or revoked already (409). */
static enum core_db_status
not_active (struct core_db *db, struct revoke_tx *r)
{
  enum core_db_status st = tokens_db_credential_exists (db, r->credential_id);

  if (st >= 0)
    r->err = st == CORE_DB_ONE_ROW ? CORE_ERR_WRONG_STATE
                                   : CORE_ERR_NOT_FOUND;
  return st;
}

/* The customer's e-mail and the relying parties' credential.revoked
   event, committed with the revocation.  The reason stays in the audit
   log: it is staff's free text. */
static enum core_db_status
revoke_notify (struct core_db *db, const struct revoke_tx *r)
{
  enum core_db_status st;

  st = authn_db_queue_mail (db, r->customer_id, "credential_revoked",
                            json_pack ("{s:s?}", "serial", r->serial));
  if (st >= 0)
    st = authn_db_queue_event (db, "credential.revoked",
                               json_pack ("{s:s, s:s}", "customer_id",
                                          r->customer_id, "credential_id",
                                          r->credential_id));
  return st;
}

static enum core_db_status
revoke_tx_run (struct core_db *db, void *cls)
{
  struct revoke_tx *r = cls;
  const char *token_state = strcmp (r->reason, "lost") == 0 ? "lost"
                                                             : "revoked";
  enum core_db_status st;

  free (r->serial);
  r->serial = NULL;
  r->err = CORE_OK;
  st = tokens_db_revoke (db, r->credential_id, r->reason, r->actor,
                         r->customer_id);
  if (st == CORE_DB_NO_ROW)
    return not_active (db, r);
  if (st >= 0)
    st = tokens_db_retire (db, r->credential_id, token_state, &r->serial);
  if (st >= 0)
    st = revoke_notify (db, r);
  if (st < 0)
    return st;
  return core_audit_append (db, r->actor, "credential.revoke",
                            r->credential_id,
                            json_pack ("{s:s, s:s, s:s?, s:s?}", "reason",
                                       r->reason, "customer_id",
                                       r->customer_id, "token_serial",
                                       r->serial, "token_state",
                                       r->serial != NULL ? token_state
                                                         : NULL));
}

bool
authn_revoke_reason_ok (const char *s)
{
  size_t chars = 0;
  bool text = false;

  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
    {
      chars += (*p & 0xC0) != 0x80;
      text = text || strchr (" \t\r\n", *p) == NULL;
    }
  return text && chars <= AUTHN_REVOKE_REASON_MAX;
}

enum core_err
authn_admin_revoke (struct core_db *db, const char *credential_id,
                    const char *reason, const char *actor,
                    char **token_serial)
{
  struct revoke_tx r = { .credential_id = credential_id, .reason = reason,
                         .actor = actor };
  enum core_db_status st;

  *token_serial = NULL;
  if (reason == NULL || !authn_revoke_reason_ok (reason))
    return CORE_ERR_INVALID_FIELD;
  st = core_db_tx (db, false, &revoke_tx_run, &r);
  if (st < 0)
    {
      free (r.serial);
      return authn_db_err (db);
    }
  if (r.err == CORE_OK)
    LOG_INFO ("credential %s of customer %s revoked by %s%s%s", credential_id,
              r.customer_id, actor, r.serial != NULL ? ", token " : "",
              r.serial != NULL ? r.serial : "");
  *token_serial = r.serial;
  return r.err;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey_signin.c -- signing in with a passkey (WebAuthn §7.2).
 *
 * The order is the point of this file, as verify.c's is for PIN+OTP: the
 * credential's structure first (a 400 that changes nothing), then one
 * query loads the challenge, the passkey and the customer; a bad challenge
 * is refused without counting (it proves nothing about the customer), a
 * locked customer before any signature is checked, and from then on every
 * failure spends the challenge, counts toward the same lockout as a wrong
 * PIN or OTP (authn_db_fail) and is audited with its reason.  The client
 * only hears "authentication failed".  A success is one statement
 * (passkey_db.c).  A counter that went backwards means two authenticators
 * hold one key: the passkey is flagged, and refused until the back-office
 * revokes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn_db.h"
#include "authn/passkey_int.h"
#include "core/audit.h"
#include "core/log.h"

/* One sign-in attempt in progress. */
struct signin {
  struct core_db *db;
  const struct authn_passkey_who *who;
  const char *challenge_id;
  struct pk_db_signin row;
  struct authn_db_audit a;
  struct authn_passkey_refusal *r;
  bool spent;                  /* this attempt spent the challenge */
};

/* Audit a refusal that counts nothing (when there is someone to audit it
   for) and answer @a err. */
static enum core_err
refuse (struct signin *s, const char *outcome, enum core_err err)
{
  s->r->reason = outcome;
  if (authn_db_audit (s->db, &s->a, outcome, -1) < 0)
    return authn_db_err (s->db);
  return err;
}

/* A failed check: spend the challenge, count the failure (locking at the
   limit) and audit it with its reason. */
static enum core_err
fail (struct signin *s, const char *outcome)
{
  enum core_db_status st;
  struct authn_db_lock lock;
  long wait = 0;
  int left = -1;

  s->r->reason = outcome;
  if (!s->spent)
    {
      st = pk_db_challenge_spend (s->db, s->challenge_id);
      if (st < 0)
        return authn_db_err (s->db);
      if (st == CORE_DB_NO_ROW)   /* a parallel request took it */
        return refuse (s, "challenge_used", CORE_ERR_CONFLICT);
    }
  st = authn_db_fail (s->db, &s->a, outcome, pk_lockout_limit (), false,
                      &left, &lock, &wait);
  if (st < 0)
    return authn_db_err (s->db);
  if (st == CORE_DB_NO_ROW)       /* locked meanwhile */
    return refuse (s, "locked", CORE_ERR_LOCKED);
  s->r->attempts_remaining = left;
  if (left == 0)
    LOG_INFO ("customer %s locked (passkey)", s->a.customer_id);
  return CORE_ERR_AUTHENTICATION_FAILED;
}

/* Two authenticators hold one key: flag it and say so in the audit log. */
static enum core_err
flag_and_fail (struct signin *s, uint32_t seen)
{
  enum core_db_status st;

  st = pk_db_flag (s->db, s->row.passkey_id, "counter_regressed");
  if (st < 0)
    return authn_db_err (s->db);
  if (st == CORE_DB_ONE_ROW)
    {
      LOG_WARN ("passkey %s of customer %s flagged: counter %u after %u",
                s->row.passkey_id, s->row.owner, seen, s->row.sign_count);
      if (core_audit_record (s->db, "system", "passkey.flag",
                             s->row.passkey_id,
                             json_pack ("{s:s, s:s, s:I, s:I}",
                                        "customer_id", s->row.owner,
                                        "reason", "counter_regressed",
                                        "stored_count",
                                        (json_int_t) s->row.sign_count,
                                        "seen_count", (json_int_t) seen))
          != CORE_OK)
        return authn_db_err (s->db);
    }
  return fail (s, pk_check_name (PK_COUNTER_REGRESSED));
}

/* The challenge, the customer, the passkey: @return CORE_OK to go on to
   the ceremony checks, or the answer. */
static enum core_err
check_context (struct signin *s)
{
  enum core_err err = pk_challenge_usable (&s->row.ch, "authenticate",
                                           s->who->relying_party, NULL);

  if (err == CORE_ERR_NOT_FOUND)
    return err;
  if (err != CORE_OK)
    return s->a.customer_id == NULL ? err
           : refuse (s, err == CORE_ERR_CONFLICT ? "challenge_used"
                                                 : "challenge_expired", err);
  if (!s->row.customer_found)
    {
      /* nobody to count against: an unknown customer was named, or a
         discoverable credential that is not ours */
      if (pk_db_challenge_spend (s->db, s->challenge_id) < 0)
        return authn_db_err (s->db);
      return refuse (s, s->row.ch.customer_id[0] != '\0' ? "unknown_customer"
                                                         : "unknown_passkey",
                     CORE_ERR_AUTHENTICATION_FAILED);
    }
  if (s->row.locked || s->row.failed_attempts >= (long) pk_lockout_limit ())
    {
      if (pk_db_challenge_spend (s->db, s->challenge_id) < 0)
        return authn_db_err (s->db);
      return refuse (s, "locked", CORE_ERR_LOCKED);
    }
  if (!s->row.found || strcmp (s->row.owner, s->row.customer_id) != 0)
    return fail (s, "unknown_passkey");   /* not this customer's */
  if (strcmp (s->row.status, "active") != 0)
    return fail (s, "passkey_inactive");  /* flagged or revoked */
  return CORE_OK;
}

/* The ceremony: client data, authenticator data, signature, counter. */
static enum pk_check
ceremony (struct signin *s, const struct pk_auth_json *j,
          const struct pk_authdata *ad, const struct authn_passkey_rp *rp)
{
  uint8_t cdh[CORE_SHA256_LEN];
  enum pk_check c;

  c = pk_client_data_check (j->cdj, (size_t) j->cdj_len, "webauthn.get",
                            s->row.ch.challenge, rp);
  if (c == PK_OK)
    c = pk_authdata_check (ad, rp);
  if (c == PK_OK && ((ad->flags & PK_FLAG_BE) != 0) != s->row.backup_eligible)
    c = PK_BACKUP_STATE_INVALID;
  if (c == PK_OK && j->user_handle != NULL
      && ((size_t) j->user_handle_len != s->row.user_handle_len
          || memcmp (j->user_handle, s->row.user_handle,
                     s->row.user_handle_len) != 0))
    c = PK_USER_HANDLE_MISMATCH;
  core_sha256 (j->cdj, (size_t) j->cdj_len, cdh);
  if (c == PK_OK)
    c = pk_assertion_verify (j->auth_data, (size_t) j->auth_data_len, ad,
                             cdh, j->sig, (size_t) j->sig_len, &s->row.key,
                             rp);
  if (c == PK_OK)
    c = pk_counter_check (s->row.sign_count, ad->sign_count);
  return c;
}

/* Everything checked: the one accepting statement, and what it found. */
static enum core_err
accept_signin (struct signin *s, const struct pk_authdata *ad,
        struct authn_passkey_signin_res *res)
{
  struct pk_db_accepted acc;
  enum core_db_status st;
  char status[16] = "";

  st = pk_db_accept (s->db, s->challenge_id, s->row.passkey_id,
                     ad->sign_count, (ad->flags & PK_FLAG_BS) != 0,
                     pk_lockout_limit (), s->who, &acc);
  if (st < 0)
    return authn_db_err (s->db);
  if (!acc.challenge_spent)       /* a parallel request used it first */
    return refuse (s, "challenge_used", CORE_ERR_CONFLICT);
  s->spent = true;
  if (!acc.counter_advanced)
    {
      /* revoked or flagged meanwhile, or a parallel assertion with the
         same or a later counter won: the latter is a clone */
      st = pk_db_status (s->db, s->row.passkey_id, status);
      if (st < 0)
        return authn_db_err (s->db);
      if (strcmp (status, "active") == 0)
        return flag_and_fail (s, ad->sign_count);
      return fail (s, "passkey_inactive");
    }
  if (!acc.customer_unlocked)
    return refuse (s, "locked", CORE_ERR_LOCKED);
  snprintf (res->customer_id, sizeof res->customer_id, "%s", s->row.owner);
  snprintf (res->passkey_id, sizeof res->passkey_id, "%s",
            s->row.passkey_id);
  return CORE_OK;
}

enum core_err
authn_passkey_signin (struct core_db *db, const struct authn_passkey_rp *rp,
                      const struct authn_passkey_who *who,
                      const char *challenge_id, json_t *credential,
                      struct authn_passkey_signin_res *res,
                      struct authn_passkey_refusal *r)
{
  struct signin s = { .db = db, .who = who, .challenge_id = challenge_id,
                      .r = r };
  struct pk_auth_json j;
  struct pk_authdata ad;
  enum core_db_status st;
  enum core_err err;
  enum pk_check c;

  memset (res, 0, sizeof *res);
  *r = (struct authn_passkey_refusal) { .attempts_remaining = -1 };
  if ((r->bad_field = pk_auth_json_parse (credential, &j)) != NULL)
    {
      pk_auth_json_clear (&j);
      return CORE_ERR_INVALID_FIELD;
    }
  if (pk_authdata_parse (j.auth_data, (size_t) j.auth_data_len, false, &ad)
      != PK_OK)
    {
      r->bad_field = "credential.response.authenticatorData";
      pk_auth_json_clear (&j);
      return CORE_ERR_INVALID_FIELD;
    }
  st = pk_db_signin_load (db, challenge_id, j.raw_id, (size_t) j.raw_id_len,
                          &s.row);
  s.a = (struct authn_db_audit) {
    .customer_id = s.row.customer_found ? s.row.customer_id
                   : s.row.ch.customer_id[0] != '\0' ? s.row.ch.customer_id
                   : NULL,
    .credential_id = s.row.found ? s.row.passkey_id : NULL,
    .relying_party = who->relying_party, .client_addr = who->client_addr,
    .action = "passkey",
  };
  if (st < 0)
    err = authn_db_err (db);
  else if (st == CORE_DB_NO_ROW)
    err = CORE_ERR_NOT_FOUND;
  else
    err = check_context (&s);
  if (err == CORE_OK)
    {
      c = ceremony (&s, &j, &ad, rp);
      if (c == PK_MALFORMED)
        {
          r->bad_field = "credential.response.clientDataJSON";
          err = CORE_ERR_INVALID_FIELD;
        }
      else if (c == PK_COUNTER_REGRESSED)
        err = flag_and_fail (&s, ad.sign_count);
      else if (c != PK_OK)
        err = fail (&s, pk_check_name (c));
      else
        err = accept_signin (&s, &ad, res);
    }
  pk_auth_json_clear (&j);
  return err;
}

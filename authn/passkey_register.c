/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey_register.c -- registering a passkey (WebAuthn §7.1): verify what
 * navigator.credentials.create() answered against its challenge, then
 * store it -- for a relying party in a transaction of its own, for an
 * enrolment inside the enrolment's (enrol/passkey.c).
 *
 * The checks run cheapest first (passkey_ceremony.c has them all); a
 * refusal names its reason, spends the challenge and counts nothing: the
 * registrant has proved PIN+OTP or holds the enrolment's session.  The
 * challenge is spent again, conditionally, by the statement that inserts
 * the passkey, so of two requests carrying one challenge one stores.  A
 * passkey stored for a customer queues the device_registered message
 * (notify/) in the storing transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn_db.h"
#include "authn/passkey_int.h"
#include "core/audit.h"
#include "core/log.h"

struct authn_passkey_new {
  struct pk_reg_json j;        /* owns the decoded bytes */
  struct pk_attobj att;        /* owns the CBOR tree */
  struct pk_authdata ad;       /* points into att */
  struct pk_attested attd;
  char challenge_id[AUTHN_ID_MAX];
  char customer_id[AUTHN_ID_MAX];
  char enrolment_id[AUTHN_ID_MAX];
  char relying_party[128];
};

/* ------------------------------------------------------------ verify */

/* The checks after the challenge, cheapest first.  @return PK_OK, or the
   first failure (PK_MALFORMED with *bad set). */
static enum pk_check
registration_checks (struct authn_passkey_new *pk, const uint8_t *challenge,
                     const struct authn_passkey_rp *rp, const char **bad)
{
  static const char *const attobj = "credential.response.attestationObject";
  uint8_t cdh[CORE_SHA256_LEN];
  enum pk_check c;

  c = pk_client_data_check (pk->j.cdj, (size_t) pk->j.cdj_len,
                            "webauthn.create", challenge, rp);
  if (c == PK_MALFORMED)
    *bad = "credential.response.clientDataJSON";
  if (c != PK_OK)
    return c;
  c = pk_attobj_parse (pk->j.att_obj, (size_t) pk->j.att_obj_len, &pk->att);
  if (c == PK_OK)
    c = pk_authdata_parse (pk->att.auth_data, pk->att.auth_data_len, true,
                           &pk->ad);
  if (c == PK_OK && (pk->ad.cred_id_len != (size_t) pk->j.raw_id_len
                     || memcmp (pk->ad.cred_id, pk->j.raw_id,
                                pk->ad.cred_id_len) != 0))
    {
      *bad = "credential.rawId";  /* not the credential it created */
      return PK_MALFORMED;
    }
  if (c == PK_MALFORMED)
    *bad = attobj;
  if (c == PK_OK)
    c = pk_authdata_check (&pk->ad, rp);
  core_sha256 (pk->j.cdj, (size_t) pk->j.cdj_len, cdh);
  if (c == PK_OK)
    c = pk_attestation_verify (&pk->att, &pk->ad, cdh, rp, &pk->attd);
  if (c == PK_MALFORMED)
    *bad = attobj;
  if (c == PK_OK && rp->aaguid_allowed != NULL
      && !rp->aaguid_allowed (pk->ad.aaguid))
    c = PK_AAGUID_DENIED;
  return c;
}

enum core_err
authn_passkey_register_verify (struct core_db *db,
                               const struct authn_passkey_rp *rp,
                               const struct authn_passkey_who *who,
                               const char *challenge_id,
                               const char *enrolment_id, json_t *credential,
                               struct authn_passkey_new **out,
                               struct authn_passkey_refusal *r)
{
  struct authn_passkey_new *pk = calloc (1, sizeof *pk);
  struct pk_db_challenge ch;
  enum core_db_status st;
  enum core_err err;
  enum pk_check c;

  *out = NULL;
  *r = (struct authn_passkey_refusal) { .attempts_remaining = -1 };
  if (pk == NULL)
    return CORE_ERR_INTERNAL;
  if ((r->bad_field = pk_reg_json_parse (credential, &pk->j)) != NULL)
    {
      authn_passkey_new_free (pk);
      return CORE_ERR_INVALID_FIELD;
    }
  st = pk_db_challenge_load (db, challenge_id, &ch);
  err = st < 0 ? authn_db_err (db) : st == CORE_DB_NO_ROW
        ? CORE_ERR_NOT_FOUND
        : pk_challenge_usable (&ch, "register", who->relying_party,
                               enrolment_id);
  if (err == CORE_OK)
    {
      c = registration_checks (pk, ch.challenge, rp, &r->bad_field);
      if (c == PK_MALFORMED)
        err = CORE_ERR_INVALID_FIELD;
      else if (c != PK_OK)
        {
          /* refused: the challenge is spent all the same */
          r->reason = pk_check_name (c);
          err = pk_db_challenge_spend (db, challenge_id) < 0
                ? authn_db_err (db) : CORE_ERR_POLICY_REFUSED;
        }
    }
  if (err != CORE_OK)
    {
      authn_passkey_new_free (pk);
      return err;
    }
  snprintf (pk->challenge_id, sizeof pk->challenge_id, "%s", challenge_id);
  snprintf (pk->customer_id, sizeof pk->customer_id, "%s", ch.customer_id);
  snprintf (pk->enrolment_id, sizeof pk->enrolment_id, "%s",
            ch.enrolment_id);
  snprintf (pk->relying_party, sizeof pk->relying_party, "%s",
            ch.relying_party);
  *out = pk;
  return CORE_OK;
}

const char *
authn_passkey_new_customer (const struct authn_passkey_new *pk)
{
  return pk->customer_id;
}

void
authn_passkey_new_free (struct authn_passkey_new *pk)
{
  if (pk == NULL)
    return;
  pk_reg_json_clear (&pk->j);
  pk_attobj_clear (&pk->att);
  free (pk);
}

/* The transports as a text[] literal; only known words reach it. */
static void
transports_literal (json_t *t, char *buf, size_t cap)
{
  size_t i, n = 0;
  json_t *v;

  n += (size_t) snprintf (buf, cap, "{");
  json_array_foreach (t, i, v)
    if (n < cap)
      n += (size_t) snprintf (buf + n, cap - n, "%s%s", i > 0 ? "," : "",
                              json_string_value (v));
  if (n < cap)
    snprintf (buf + n, cap - n, "}");
}

static void
aaguid_text (const uint8_t a[PK_AAGUID_LEN], char out[37])
{
  char hex[33];

  core_hex_encode (a, PK_AAGUID_LEN, hex);
  snprintf (out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
            hex + 16, hex + 20);
}

/* A registration that stored nothing: why? */
static enum core_db_status
why_not_stored (struct core_db *db, const struct authn_passkey_new *pk,
                enum core_err *err)
{
  struct pk_db_challenge ch;
  enum core_db_status st;

  st = pk_db_credential_exists (db, pk->ad.cred_id, pk->ad.cred_id_len);
  if (st == CORE_DB_NO_ROW)
    st = pk_db_challenge_load (db, pk->challenge_id, &ch);
  if (st < 0)
    return st;
  *err = st == CORE_DB_ONE_ROW && ch.expired && !ch.used
         ? CORE_ERR_CHALLENGE_EXPIRED : CORE_ERR_CONFLICT;
  return CORE_DB_NO_ROW;
}

enum core_db_status
authn_passkey_store_tx (struct core_db *db, const struct authn_passkey_new *pk,
                        bool pending, char passkey_id[AUTHN_ID_MAX],
                        enum core_err *err)
{
  char aaguid[37], transports[128];
  char *id = core_random_id ("pk");
  struct pk_db_new n = {
    .challenge_id = pk->challenge_id,
    .customer_id = pending ? NULL : pk->customer_id,
    .enrolment_id = pk->enrolment_id[0] != '\0' ? pk->enrolment_id : NULL,
    .cred_id = pk->ad.cred_id, .cred_id_len = pk->ad.cred_id_len,
    .user_handle = (const uint8_t *) pk->customer_id,
    .user_handle_len = strlen (pk->customer_id),
    .cose_key = pk->ad.cose_key, .cose_key_len = pk->ad.cose_key_len,
    .key = &pk->attd.key, .sign_count = pk->ad.sign_count,
    .aaguid = aaguid, .format = pk->att.fmt,
    .attestation_type = pk->attd.attestation_type,
    .backup_eligible = (pk->ad.flags & PK_FLAG_BE) != 0,
    .backed_up = (pk->ad.flags & PK_FLAG_BS) != 0,
    .transports = transports, .status = pending ? "pending" : "active",
    .registered_by = pk->relying_party,
  };
  enum core_db_status st;

  *err = CORE_ERR_INTERNAL;
  if (id == NULL)
    return CORE_DB_HARD_ERROR;
  n.id = id;
  aaguid_text (pk->ad.aaguid, aaguid);
  transports_literal (pk->j.transports, transports, sizeof transports);
  st = pk_db_insert (db, &n);
  if (st == CORE_DB_NO_ROW)
    st = why_not_stored (db, pk, err);
  else if (st == CORE_DB_ONE_ROW)
    st = core_audit_append (db, pk->relying_party, "passkey.register", id,
                            json_pack ("{s:s, s:s?, s:s, s:s, s:s, s:i, s:s,"
                                       " s:b}", "customer_id",
                                       pk->customer_id, "enrolment_id",
                                       n.enrolment_id, "status", n.status,
                                       "aaguid", aaguid, "attestation",
                                       pk->att.fmt, "algorithm",
                                       pk->attd.key.alg, "attestation_type",
                                       n.attestation_type, "backup_eligible",
                                       n.backup_eligible));
  /* A passkey that is the customer's from now on is a new way into their
     account: they are told, in this transaction, at their address and
     with their assurance code.  One made during an enrolment (pending)
     becomes theirs at completion, which the welcome speaks for. */
  if (st == CORE_DB_ONE_ROW && !pending)
    st = authn_db_queue_mail (db, pk->customer_id, "device_registered",
                              json_pack ("{s:s}", "credential", "passkey"));
  if (st == CORE_DB_ONE_ROW)
    {
      snprintf (passkey_id, AUTHN_ID_MAX, "%s", id);
      *err = CORE_OK;
    }
  free (id);
  return st;
}

struct register_tx {
  const struct authn_passkey_new *pk;
  char passkey_id[AUTHN_ID_MAX];
  enum core_err err;
};

static enum core_db_status
register_tx_run (struct core_db *db, void *cls)
{
  struct register_tx *t = cls;

  return authn_passkey_store_tx (db, t->pk, false, t->passkey_id, &t->err);
}

enum core_err
authn_passkey_register (struct core_db *db, const struct authn_passkey_rp *rp,
                        const struct authn_passkey_who *who,
                        const char *challenge_id, json_t *credential,
                        char passkey_id[AUTHN_ID_MAX],
                        struct authn_passkey_refusal *r)
{
  struct register_tx t = { .err = CORE_ERR_INTERNAL };
  struct authn_passkey_new *pk;
  enum core_db_status st;
  enum core_err err;

  err = authn_passkey_register_verify (db, rp, who, challenge_id, NULL,
                                       credential, &pk, r);
  if (err != CORE_OK)
    return err;
  t.pk = pk;
  st = core_db_tx (db, false, &register_tx_run, &t);
  err = st < 0 ? authn_db_err (db) : t.err;
  if (err == CORE_OK)
    {
      snprintf (passkey_id, AUTHN_ID_MAX, "%s", t.passkey_id);
      LOG_INFO ("passkey %s registered for customer %s by %s", t.passkey_id,
                pk->customer_id, who->relying_party);
    }
  authn_passkey_new_free (pk);
  return err;
}

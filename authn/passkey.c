/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey.c -- the passkey ceremonies end to end: options with a fresh
 * challenge, registration, sign-in, and the back-office's view and
 * revocation (see passkey.h).
 *
 * The order of a sign-in is the point of this file, as verify.c's is for
 * PIN+OTP: the credential's structure first (a 400 that changes nothing),
 * then one query loads the challenge, the passkey and the customer; a
 * bad challenge is refused without counting (it proves nothing about the
 * customer), a locked customer before any signature is checked, and from
 * then on every failure spends the challenge and counts toward the same
 * lockout as a wrong PIN or OTP (authn_db_fail), and is audited with its
 * reason.  The client only hears "authentication failed".  A success is
 * one statement (passkey_db.c).  A counter that went backwards means two
 * authenticators hold one key: the passkey is flagged, and refused until
 * the back-office looks at it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn_db.h"
#include "authn/passkey_int.h"
#include "authn/tokens.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/log.h"

#define TIMEOUT_MS (AUTHN_PASSKEY_CHALLENGE_TTL_S * 1000)

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

/* As verify.c: the configured lockout, 5 when main set nothing. */
static unsigned int
lockout_limit (void)
{
  return core_cfg != NULL && core_cfg->lockout_attempts > 0
         ? core_cfg->lockout_attempts : 5;
}

/* ----------------------------------------------------- relying party */

static bool
host_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
         || c == '.';
}

static bool
loopback (const char *host, size_t n)
{
  static const char *const names[] = { "localhost", "127.0.0.1" };

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (n == strlen (names[i]) && memcmp (host, names[i], n) == 0)
      return true;
  return n > 10 && memcmp (host + n - 10, ".localhost", 10) == 0;
}

/* "https://host[:port]" (http on a loopback host): a host that is the rp
   id or a name below it, no path. */
static bool
origin_ok (const char *o, const char *rp_id)
{
  bool https = strncmp (o, "https://", 8) == 0;
  const char *host = o + (https ? 8 : 7), *end = host;
  size_t n, r = strlen (rp_id);

  if (!https && strncmp (o, "http://", 7) != 0)
    return false;
  while (host_char (*end))
    end++;
  n = (size_t) (end - host);
  if (*end == ':')
    {
      const char *port = end + 1;

      if (*port == '\0' || strspn (port, "0123456789") != strlen (port)
          || strlen (port) > 5)
        return false;
    }
  else if (*end != '\0')
    return false;
  if (!https && !loopback (host, n))
    return false;
  return n == r ? memcmp (host, rp_id, n) == 0
         : n > r && host[n - r - 1] == '.' && memcmp (host + n - r, rp_id,
                                                       r) == 0;
}

int
authn_passkey_rp_check (const struct authn_passkey_rp *rp, char *why,
                        size_t whylen)
{
  const char *id = rp->id;

  if (id == NULL || id[0] == '\0' || strlen (id) > 253
      || strspn (id, "abcdefghijklmnopqrstuvwxyz0123456789-.") != strlen (id)
      || id[0] == '.' || id[0] == '-')
    {
      snprintf (why, whylen, "webauthn_rp_id: \"%.64s\" is not a lowercase "
                "host name", id != NULL ? id : "");
      return -1;
    }
  if (rp->n_origins == 0 || rp->n_origins > AUTHN_PASSKEY_MAX_ORIGINS)
    {
      snprintf (why, whylen, "webauthn_origins: 1 to %d origins",
                AUTHN_PASSKEY_MAX_ORIGINS);
      return -1;
    }
  for (size_t i = 0; i < rp->n_origins; i++)
    if (!origin_ok (rp->origins[i], id))
      {
        snprintf (why, whylen, "webauthn_origins: \"%.100s\" is not an "
                  "https origin (http on localhost) on %s or below it",
                  rp->origins[i], id);
        return -1;
      }
  if (rp->name == NULL || rp->name[0] == '\0' || strlen (rp->name) > 64
      || rp->attestation == NULL
      || (strcmp (rp->attestation, "none") != 0
          && strcmp (rp->attestation, "indirect") != 0
          && strcmp (rp->attestation, "direct") != 0))
    {
      snprintf (why, whylen, "webauthn_rp_name must be 1-64 bytes and "
                "webauthn_attestation none, indirect or direct");
      return -1;
    }
  return 0;
}

/* ----------------------------------------------------------- options */

static json_t *
b64_json (const void *data, size_t len)
{
  char *s = core_b64url_encode (data, len);
  json_t *v = s != NULL ? json_string (s) : NULL;

  free (s);
  return v;
}

/* [{"type":"public-key","id":b64url,"transports":[...]}] from the
   database's [{"id": hex, "transports"}]; @return new or NULL. */
static json_t *
descriptors (json_t *creds)
{
  json_t *out = json_array (), *c;
  uint8_t raw[PK_MAX_CRED_ID];
  size_t i;

  if (out == NULL)
    return NULL;
  json_array_foreach (creds, i, c)
    {
      const char *hex = json_string_value (json_object_get (c, "id"));
      long n = hex != NULL && strlen (hex) / 2 <= sizeof raw
               ? core_hex_decode (hex, raw, sizeof raw) : -1;
      json_t *d;

      if (n <= 0)
        continue;
      d = json_pack ("{s:s, s:o, s:O}", "type", "public-key", "id",
                     b64_json (raw, (size_t) n), "transports",
                     json_object_get (c, "transports"));
      if (d == NULL || json_array_append_new (out, d) != 0)
        {
          json_decref (out);
          return NULL;
        }
    }
  return out;
}

/* A new challenge: its id and bytes. @return 0, or -1 */
static int
new_challenge (char id[AUTHN_ID_MAX], uint8_t ch[PK_CHALLENGE_LEN])
{
  char *s = core_random_id ("pkc");

  if (s == NULL || strlen (s) >= AUTHN_ID_MAX
      || core_random (ch, PK_CHALLENGE_LEN) != 0)
    {
      free (s);
      return -1;
    }
  strcpy (id, s);
  free (s);
  return 0;
}

static json_t *
creation_options (const struct authn_passkey_rp *rp,
                  const struct authn_passkey_owner *o,
                  const uint8_t ch[PK_CHALLENGE_LEN], json_t *exclude)
{
  return json_pack ("{s:{s:s, s:s}, s:{s:o, s:s, s:s}, s:o,"
                    " s:[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}], s:i, s:o,"
                    " s:{s:s, s:b, s:s}, s:s, s:{s:b}}",
                    "rp", "id", rp->id, "name", rp->name,
                    "user", "id", b64_json (o->customer_id,
                                            strlen (o->customer_id)),
                    "name", o->user_name, "displayName", o->user_name,
                    "challenge", b64_json (ch, PK_CHALLENGE_LEN),
                    "pubKeyCredParams",
                    "type", "public-key", "alg", PK_ALG_ES256,
                    "type", "public-key", "alg", PK_ALG_EDDSA,
                    "type", "public-key", "alg", PK_ALG_RS256,
                    "timeout", TIMEOUT_MS, "excludeCredentials", exclude,
                    "authenticatorSelection", "residentKey", "preferred",
                    "requireResidentKey", 0, "userVerification", "required",
                    "attestation", rp->attestation,
                    "extensions", "credProps", 1);
}

enum core_err
authn_passkey_register_options (struct core_db *db,
                                const struct authn_passkey_rp *rp,
                                const struct authn_passkey_who *who,
                                const struct authn_passkey_owner *owner,
                                json_t **out)
{
  char id[AUTHN_ID_MAX];
  uint8_t ch[PK_CHALLENGE_LEN];
  json_t *creds = NULL, *exclude, *opts;
  enum core_db_status st;

  *out = NULL;
  if (new_challenge (id, ch) != 0)
    return CORE_ERR_INTERNAL;
  st = pk_db_register_options (db, id, ch, owner->customer_id,
                               owner->enrolment_id, who->relying_party,
                               &creds);
  if (st != CORE_DB_ONE_ROW)
    return authn_db_err (db);
  exclude = descriptors (creds);
  json_decref (creds);
  opts = exclude != NULL ? creation_options (rp, owner, ch, exclude) : NULL;
  if (opts != NULL)
    *out = json_pack ("{s:s, s:o}", "challenge_id", id, "publicKey", opts);
  return *out != NULL ? CORE_OK : CORE_ERR_INTERNAL;
}

enum core_err
authn_passkey_signin_options (struct core_db *db,
                              const struct authn_passkey_rp *rp,
                              const struct authn_passkey_who *who,
                              const char *customer_id, json_t **out)
{
  char id[AUTHN_ID_MAX];
  uint8_t ch[PK_CHALLENGE_LEN];
  json_t *creds = NULL, *allow;
  bool locked = false;
  enum core_db_status st;

  *out = NULL;
  if (new_challenge (id, ch) != 0)
    return CORE_ERR_INTERNAL;
  st = pk_db_signin_options (db, id, ch, customer_id, who->relying_party,
                             lockout_limit (), &locked, &creds);
  if (st != CORE_DB_ONE_ROW)
    return authn_db_err (db);
  allow = descriptors (creds);
  json_decref (creds);
  if (locked)
    {
      json_decref (allow);
      return CORE_ERR_LOCKED;
    }
  if (allow != NULL)
    *out = json_pack ("{s:s, s:{s:o, s:i, s:s, s:o, s:s}}",
                      "challenge_id", id, "publicKey",
                      "challenge", b64_json (ch, PK_CHALLENGE_LEN),
                      "timeout", TIMEOUT_MS, "rpId", rp->id,
                      "allowCredentials", allow,
                      "userVerification", "required");
  return *out != NULL ? CORE_OK : CORE_ERR_INTERNAL;
}

/* ------------------------------------------------------ registration */

/* The challenge must be for registration, through the same caller and
   enrolment.  @return CORE_OK, or how to answer */
static enum core_err
challenge_usable (const struct pk_db_challenge *ch, const char *purpose,
                  const char *relying_party, const char *enrolment_id)
{
  if (strcmp (ch->purpose, purpose) != 0
      || strcmp (ch->relying_party, relying_party) != 0
      || strcmp (ch->enrolment_id, enrolment_id != NULL ? enrolment_id : "")
         != 0)
    return CORE_ERR_NOT_FOUND;      /* not this caller's: as unknown */
  if (ch->used)
    return CORE_ERR_CONFLICT;
  if (ch->expired)
    return CORE_ERR_CHALLENGE_EXPIRED;
  return CORE_OK;
}

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
        : challenge_usable (&ch, "register", who->relying_party,
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

/* ----------------------------------------------------------- sign in */

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
  st = authn_db_fail (s->db, &s->a, outcome, lockout_limit (), &left);
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
  enum core_err err = challenge_usable (&s->row.ch, "authenticate",
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
  if (s->row.locked || s->row.failed_attempts >= (long) lockout_limit ())
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
                     lockout_limit (), s->who, &acc);
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

/* ------------------------------------------------------- back-office */

enum core_err
authn_passkey_admin_list (struct core_db *db, const char *customer_id,
                          json_t **out)
{
  return pk_db_admin_list (db, customer_id, out) < 0 ? authn_db_err (db)
                                                     : CORE_OK;
}

struct revoke_tx {
  const char *id;
  const char *reason;
  const char *actor;
  char customer_id[AUTHN_ID_MAX];
  enum core_err err;
};

static enum core_db_status
revoke_tx_run (struct core_db *db, void *cls)
{
  struct revoke_tx *t = cls;
  char was[16] = "", status[16] = "";
  enum core_db_status st;

  t->err = CORE_OK;
  st = pk_db_revoke (db, t->id, t->reason, t->actor, t->customer_id, was);
  if (st == CORE_DB_NO_ROW)
    {
      st = pk_db_status (db, t->id, status);
      t->err = st == CORE_DB_ONE_ROW ? CORE_ERR_WRONG_STATE
               : CORE_ERR_NOT_FOUND;
      return st < 0 ? st : CORE_DB_NO_ROW;
    }
  if (st < 0)
    return st;
  return core_audit_append (db, t->actor, "passkey.revoke", t->id,
                            json_pack ("{s:s, s:s, s:s}", "customer_id",
                                       t->customer_id, "reason", t->reason,
                                       "was", was));
}

/* 1..AUTHN_REVOKE_REASON_MAX characters, not only white space. */
static bool
reason_ok (const char *s)
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
authn_passkey_revoke (struct core_db *db, const char *passkey_id,
                      const char *reason, const char *actor,
                      char customer_id[AUTHN_ID_MAX])
{
  struct revoke_tx t = { .id = passkey_id, .reason = reason,
                         .actor = actor };
  enum core_db_status st;

  if (reason == NULL || !reason_ok (reason))
    return CORE_ERR_INVALID_FIELD;
  st = core_db_tx (db, false, &revoke_tx_run, &t);
  if (st < 0)
    return authn_db_err (db);
  if (t.err == CORE_OK)
    {
      snprintf (customer_id, AUTHN_ID_MAX, "%s", t.customer_id);
      LOG_INFO ("passkey %s of customer %s revoked by %s", passkey_id,
                t.customer_id, actor);
    }
  return t.err;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey.c -- the passkey module's front: the relying party check, the
 * ceremony options with a fresh challenge, and the back-office's view and
 * revocation (see passkey.h).  Registration is passkey_register.c,
 * sign-in passkey_signin.c.
 *
 * A challenge is 32 CSPRNG bytes made in the statement that reads what the
 * options need (passkey_db.c); it is bound to its purpose and to who asked,
 * and an options answer never tells whether a customer exists.
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

/* As verify.c: the configured lockout, 5 when main set nothing. */
unsigned int
pk_lockout_limit (void)
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
                             pk_lockout_limit (), &locked, &creds);
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

/* A challenge serves one purpose and one caller: any other gets the
   answer an unknown id gets, so challenge ids cannot be probed. */
enum core_err
pk_challenge_usable (const struct pk_db_challenge *ch, const char *purpose,
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

enum core_err
authn_passkey_revoke (struct core_db *db, const char *passkey_id,
                      const char *reason, const char *actor,
                      char customer_id[AUTHN_ID_MAX])
{
  struct revoke_tx t = { .id = passkey_id, .reason = reason,
                         .actor = actor };
  enum core_db_status st;

  if (reason == NULL || !authn_revoke_reason_ok (reason))
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

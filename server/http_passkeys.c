/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_passkeys.c -- the passkey (WebAuthn) endpoints: registration and
 * sign-in for relying parties (/v1/authn/passkey/...), "also use this
 * computer" in the applicant's enrolment (/v1/enrolments/{id}/passkey...),
 * the back-office's revocation, and the backend of the /signin/
 * demonstration page.
 *
 * The relying party the browser sees (rp id, origins, name, attestation
 * preference) is read from the configuration once, before the workers
 * start, and checked: a bad value stops guichetd with the key's name.
 * Answers never say which ceremony check failed a sign-in (the audit
 * does); a refused registration names its reason, which only tells the
 * registrant about their own authenticator.
 *
 * The demonstration backend (signin_demo = 1) plays a bank's web server:
 * the same two calls a relying party makes with its API key, under the
 * relying party name "signin-demo", without one.  Off by default, since
 * it lets anyone who can reach it try sign-ins (which count toward the
 * lockout like any other).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn.h"
#include "authn/passkey.h"
#include "core/config.h"
#include "core/log.h"
#include "enrol/passkey.h"
#include "risk/risk.h"
#include "server/handlers.h"

#define DEMO_RP "signin-demo"

static struct authn_passkey_rp rp;
static char rp_id[256];
static char origins[AUTHN_PASSKEY_MAX_ORIGINS][256];

/* ------------------------------------------------------------- setup */

/* The origin ("scheme://host[:port]") and host of @a url into the
   buffers.  @return 0, or -1 */
static int
split_url (const char *url, char origin[256], char host[256])
{
  const char *h = strstr (url, "://");
  size_t hn, on;

  if (h == NULL)
    return -1;
  h += 3;
  hn = strcspn (h, ":/?#");
  on = (size_t) (h - url) + strcspn (h, "/?#");
  if (hn == 0 || hn >= 256 || on >= 256)
    return -1;
  memcpy (host, h, hn);
  host[hn] = '\0';
  memcpy (origin, url, on);
  origin[on] = '\0';
  return 0;
}

static int
parse_origins (const char *list, char *why, size_t whylen)
{
  const char *p = list;

  rp.n_origins = 0;
  while (*p != '\0')
    {
      size_t n;

      p += strspn (p, ", \t");
      n = strcspn (p, ", \t");
      if (n == 0)
        break;
      if (rp.n_origins == AUTHN_PASSKEY_MAX_ORIGINS || n >= 256)
        {
          snprintf (why, whylen, "webauthn_origins: at most %d origins of "
                    "up to 255 characters", AUTHN_PASSKEY_MAX_ORIGINS);
          return -1;
        }
      memcpy (origins[rp.n_origins], p, n);
      origins[rp.n_origins][n] = '\0';
      rp.origins[rp.n_origins] = origins[rp.n_origins];
      rp.n_origins++;
      p += n;
    }
  return 0;
}

int
srv_passkey_setup (char *why, size_t whylen)
{
  char origin[256], host[256];

  if (split_url (srv_public_url (), origin, host) != 0)
    {
      snprintf (why, whylen, "public_url: not a URL (passkeys need its "
                "host and origin)");
      return -1;
    }
  snprintf (rp_id, sizeof rp_id, "%s", core_cfg->webauthn_rp_id[0] != '\0'
            ? core_cfg->webauthn_rp_id : host);
  rp.id = rp_id;
  rp.name = core_cfg->webauthn_rp_name;
  rp.attestation = core_cfg->webauthn_attestation;
  rp.aaguid_allowed = &risk_passkey_aaguid_allowed;
  if (parse_origins (core_cfg->webauthn_origins[0] != '\0'
                     ? core_cfg->webauthn_origins : origin, why, whylen) != 0)
    return -1;
  if (authn_passkey_rp_check (&rp, why, whylen) != 0)
    return -1;
  LOG_INFO ("passkeys: rp id %s, %zu origin(s), attestation %s%s", rp.id,
            rp.n_origins, rp.attestation,
            core_cfg->signin_demo ? ", /signin/ demonstration on" : "");
  return 0;
}

/* ------------------------------------------------------------ replies */

static void
reply_refusal (struct srv_request *rq, enum core_err err,
               const struct authn_passkey_refusal *r)
{
  switch (err)
    {
    case CORE_ERR_INVALID_FIELD:
      srv_reply_bad_field (rq, r->bad_field != NULL ? r->bad_field
                                                    : "credential");
      return;
    case CORE_ERR_POLICY_REFUSED:
      srv_reply_error (rq, err, "the passkey was refused",
                       json_pack ("{s:[s]}", "reasons", r->reason));
      return;
    case CORE_ERR_AUTHENTICATION_FAILED:
      srv_reply_error (rq, err, "authentication failed",
                       r->attempts_remaining >= 0
                       ? json_pack ("{s:i}", "attempts_remaining",
                                    r->attempts_remaining) : NULL);
      return;
    case CORE_ERR_NOT_FOUND:
      srv_reply_error (rq, err, "unknown challenge", NULL);
      return;
    case CORE_ERR_CONFLICT:
      srv_reply_error (rq, err, "this challenge was used already, or this "
                       "passkey is registered already", NULL);
      return;
    case CORE_ERR_CHALLENGE_EXPIRED:
      srv_reply_error (rq, err, "the challenge expired: ask for new options",
                       NULL);
      return;
    case CORE_ERR_LOCKED:
      srv_reply_error (rq, err, "too many failed attempts: the customer is "
                       "locked", NULL);
      return;
    default:
      srv_reply_error (rq, err, NULL, NULL);
      return;
    }
}

/* {"challenge_id", "credential"}: @return false once a 400 is queued. */
static bool
parse_answer (struct srv_request *rq, const char **challenge_id,
              json_t **credential)
{
  const struct core_json_field fields[] = {
    { .name = "challenge_id", .type = CORE_JSON_STRING, .max_len = 64,
      .out = challenge_id },
    { .name = "credential", .type = CORE_JSON_OBJECT, .out = credential },
    CORE_JSON_FIELD_END
  };

  return srv_parse_fields (rq, fields);
}

static void
who_of (struct srv_request *rq, const char *relying_party,
        struct authn_passkey_who *who)
{
  who->relying_party = relying_party;
  who->client_addr = rq->client_addr;
}

/* ---------------------------------------------------- relying parties */

/* Non-empty, no control characters: an authenticator shows it as is. */
static bool
printable (const char *s)
{
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
    if (*p < 0x20 || *p == 0x7f)
      return false;
  return s[0] != '\0';
}

void
srv_http_passkey_registration_options (struct srv_request *rq)
{
  struct authn_verify_req req = { .client_addr = rq->client_addr,
                                  .api_key_name = rq->api_key_name };
  struct authn_verify_res res = { .attempts_remaining = -1 };
  struct authn_passkey_refusal r = { .attempts_remaining = -1 };
  struct authn_passkey_owner owner = { 0 };
  struct authn_passkey_who who;
  const char *user_name = NULL;
  const struct core_json_field fields[] = {
    { .name = "customer_id", .type = CORE_JSON_STRING, .max_len = 64,
      .out = &req.customer_id },
    { .name = "pin", .type = CORE_JSON_STRING, .max_len = 64,
      .out = &req.pin },
    { .name = "otp", .type = CORE_JSON_STRING, .max_len = 16,
      .out = &req.otp },
    { .name = "user_name", .type = CORE_JSON_STRING, .max_len = 64,
      .optional = true, .out = &user_name },
    CORE_JSON_FIELD_END
  };
  json_t *out = NULL;
  enum core_err err;

  if (!srv_parse_fields (rq, fields))
    return;
  if (user_name != NULL && !printable (user_name))
    {
      srv_reply_bad_field (rq, "user_name");
      return;
    }
  /* a full PIN+OTP verify, counted and audited as /v1/authn/verify */
  err = authn_verify (rq->db, &req, &res);
  if (err == CORE_OK)
    {
      owner.customer_id = req.customer_id;
      owner.user_name = user_name != NULL ? user_name : req.customer_id;
      who_of (rq, rq->api_key_name, &who);
      err = authn_passkey_register_options (rq->db, &rp, &who, &owner, &out);
    }
  if (err == CORE_OK)
    srv_reply_json (rq, MHD_HTTP_OK, out);
  else
    {
      r.attempts_remaining = res.attempts_remaining;
      reply_refusal (rq, err, &r);
    }
}

void
srv_http_passkey_register (struct srv_request *rq)
{
  struct authn_passkey_refusal r;
  struct authn_passkey_who who;
  const char *challenge_id = NULL;
  json_t *credential = NULL;
  char id[AUTHN_ID_MAX];
  enum core_err err;

  if (!parse_answer (rq, &challenge_id, &credential))
    return;
  who_of (rq, rq->api_key_name, &who);
  err = authn_passkey_register (rq->db, &rp, &who, challenge_id, credential,
                                id, &r);
  if (err == CORE_OK)
    srv_reply_json (rq, MHD_HTTP_CREATED, json_pack ("{s:s}", "passkey_id",
                                                     id));
  else
    reply_refusal (rq, err, &r);
}

/* Sign-in options for @a relying_party. */
static void
signin_options (struct srv_request *rq, const char *relying_party)
{
  struct authn_passkey_refusal r = { .attempts_remaining = -1 };
  struct authn_passkey_who who;
  const char *customer_id = NULL;
  const struct core_json_field fields[] = {
    { .name = "customer_id", .type = CORE_JSON_STRING, .max_len = 64,
      .optional = true, .out = &customer_id },
    CORE_JSON_FIELD_END
  };
  json_t *out = NULL;
  enum core_err err;

  if (!srv_parse_fields (rq, fields))
    return;
  if (customer_id != NULL && customer_id[0] == '\0')
    customer_id = NULL;          /* an empty field: no customer named */
  who_of (rq, relying_party, &who);
  err = authn_passkey_signin_options (rq->db, &rp, &who, customer_id, &out);
  if (err == CORE_OK)
    srv_reply_json (rq, MHD_HTTP_OK, out);
  else
    reply_refusal (rq, err, &r);
}

static void
signin_verify (struct srv_request *rq, const char *relying_party)
{
  struct authn_passkey_signin_res res;
  struct authn_passkey_refusal r;
  struct authn_passkey_who who;
  const char *challenge_id = NULL;
  json_t *credential = NULL;
  enum core_err err;

  if (!parse_answer (rq, &challenge_id, &credential))
    return;
  who_of (rq, relying_party, &who);
  err = authn_passkey_signin (rq->db, &rp, &who, challenge_id, credential,
                              &res, &r);
  if (err == CORE_OK)
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:s, s:s, s:s}", "result", "accepted",
                               "customer_id", res.customer_id,
                               "credential_id", res.passkey_id));
  else
    reply_refusal (rq, err, &r);
}

void
srv_http_passkey_options (struct srv_request *rq)
{
  signin_options (rq, rq->api_key_name);
}

void
srv_http_passkey_verify (struct srv_request *rq)
{
  signin_verify (rq, rq->api_key_name);
}

/* ---------------------------------------------------------- enrolment */

/* enrol_passkey_*'s POLICY_REFUSED without a ceremony reason. */
static void
reply_too_many (struct srv_request *rq)
{
  srv_reply_error (rq, CORE_ERR_POLICY_REFUSED, "this application has "
                   "registered as many passkeys as it may",
                   json_pack ("{s:[s]}", "reasons", "too_many_passkeys"));
}

void
srv_http_enrolment_passkey_options (struct srv_request *rq)
{
  const struct core_json_field none[] = { CORE_JSON_FIELD_END };
  json_t *out = NULL;
  enum core_err err;

  if (!srv_parse_fields (rq, none))
    return;
  err = enrol_passkey_options (rq->db, rq->args[0], &rp, rq->client_addr,
                               &out);
  if (err == CORE_OK)
    srv_reply_json (rq, MHD_HTTP_OK, out);
  else if (err == CORE_ERR_POLICY_REFUSED)
    reply_too_many (rq);
  else
    srv_reply_error (rq, err, err == CORE_ERR_WRONG_STATE
                     ? "a passkey can be added once the phone, the PIN and "
                       "the first code are confirmed" : NULL, NULL);
}

void
srv_http_enrolment_passkey (struct srv_request *rq)
{
  struct authn_passkey_refusal r = { .attempts_remaining = -1 };
  const char *challenge_id = NULL;
  json_t *credential = NULL;
  char id[AUTHN_ID_MAX];
  enum core_err err;

  if (!parse_answer (rq, &challenge_id, &credential))
    return;
  err = enrol_passkey_register (rq->db, rq->args[0], &rp, rq->client_addr,
                                challenge_id, credential, id, &r);
  if (err == CORE_OK)
    srv_reply_json (rq, MHD_HTTP_CREATED, json_pack ("{s:s}", "passkey_id",
                                                     id));
  else if (err == CORE_ERR_WRONG_STATE || err == CORE_ERR_ENROLMENT_EXPIRED)
    srv_reply_error (rq, err, NULL, NULL);
  else if (err == CORE_ERR_POLICY_REFUSED && r.reason == NULL)
    reply_too_many (rq);
  else
    reply_refusal (rq, err, &r);
}

/* ------------------------------------------------------ demonstration */

void
srv_http_signin_demo_options (struct srv_request *rq)
{
  if (!core_cfg->signin_demo)
    srv_reply_error (rq, CORE_ERR_NOT_FOUND, NULL, NULL);
  else
    signin_options (rq, DEMO_RP);
}

void
srv_http_signin_demo_verify (struct srv_request *rq)
{
  if (!core_cfg->signin_demo)
    srv_reply_error (rq, CORE_ERR_NOT_FOUND, NULL, NULL);
  else
    signin_verify (rq, DEMO_RP);
}

/* ------------------------------------------------------- back-office */

void
srv_http_admin_passkey_revoke (struct srv_request *rq)
{
  const char *reason = NULL;
  const struct core_json_field fields[] = {
    { .name = "reason", .type = CORE_JSON_STRING, .max_len = 800,
      .out = &reason },
    CORE_JSON_FIELD_END
  };
  char customer[AUTHN_ID_MAX];
  enum core_err err;

  if (!srv_parse_fields (rq, fields))
    return;
  err = authn_passkey_revoke (rq->db, rq->args[0], reason,
                              rq->admin_username, customer);
  if (err == CORE_ERR_INVALID_FIELD)
    srv_reply_bad_field (rq, "reason");
  else if (err == CORE_ERR_WRONG_STATE)
    srv_reply_error (rq, err, "this passkey is revoked already", NULL);
  else if (err == CORE_ERR_NOT_FOUND)
    srv_reply_error (rq, err, "no such passkey", NULL);
  else if (err != CORE_OK)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:s, s:s, s:s}", "id", rq->args[0],
                               "status", "revoked", "customer_id", customer));
}

enum core_err
srv_admin_customer_passkeys (struct srv_request *rq, json_t *view)
{
  json_t *list = NULL;
  enum core_err err = authn_passkey_admin_list (rq->db, rq->args[0], &list);

  if (err == CORE_OK)
    json_object_set_new (view, "passkeys", list);
  return err;
}

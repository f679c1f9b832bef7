/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * activate.c -- POST /v1/devices/activate: a phone proves it scanned the
 * QR (HMAC under the activation secret) and owns its signing key (ECDSA),
 * the risk module scores it, and, unless denied, both sides derive the OTP
 * seed by ECDH + HKDF without it crossing the wire (API.md, normative).
 *
 * Order: cheap and secret-free checks first (field shapes), then the rate
 * limits (per client address, then per challenge id as submitted, known
 * or not), then the proof -- an attacker without the QR learns nothing
 * about the challenge's state -- then expiry (410) and single use (409).
 * Every attempt on a challenge that exists, accepted or not, is recorded,
 * so a QR tried by two phones shows; an unknown challenge id is recorded
 * nowhere (ids are random: such attempts are noise, and the address's
 * limit bounds them).  From the limits to the binding, an attempt is one
 * transaction: its counts commit with what it recorded, and a loser of a
 * race for the challenge creates nothing.  The server's ECDH key lives
 * only inside authn_device_derive_seed(); the seed only until sealed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "authn/device.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/config.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "enrol/device_step.h"
#include "enrol/enrol_db.h"
#include "enrol/review.h"
#include "enrol/session.h"
#include "risk/risk.h"

struct activation {
  const struct enrol_activate_req *req;
  uint8_t *device_pub, *ecdh_pub, *proof, *sig;
  long device_pub_len, ecdh_pub_len, proof_len, sig_len;
  char pub_param[2 + 2 * AUTHN_P256_PUB_LEN + 1];
  const char *install_id;
  const char *platform;
  /* from the challenge row */
  char enrolment_id[64];
  char browser_addr[64];
  char residence[8];
  uint8_t secret[AUTHN_ACTIVATION_SECRET_LEN];
  /* outcome */
  char device_id[64];
  struct risk_input risk_in;
  struct risk_result risk;
  bool risk_done;
  const char *device_status;
  uint8_t server_pub[AUTHN_P256_PUB_LEN];
  char *seed_param;
  /* the transaction's outcome */
  const struct risk_device *dev;
  enum core_err err;
  unsigned int rate_wait;       /* CORE_ERR_RATE_LIMITED: seconds */
};

/* What one run of the transaction body computed (it may run again). */
static void
activation_reset (struct activation *a)
{
  a->enrolment_id[0] = a->browser_addr[0] = a->residence[0] = '\0';
  OPENSSL_cleanse (a->secret, sizeof a->secret);
  if (a->risk_done)
    risk_result_free (&a->risk);
  a->risk_done = false;
  free (a->seed_param);
  a->seed_param = NULL;
  a->err = CORE_ERR_INTERNAL;
  a->rate_wait = 0;
}

static void
activation_clear (struct activation *a)
{
  activation_reset (a);
  free (a->device_pub);
  free (a->ecdh_pub);
  free (a->proof);
  free (a->sig);
}

/* ------------------------------------------------------------ input */

enum core_err
enrol_activate_req_parse (json_t *body, struct enrol_activate_req *req,
                          const char **bad_field)
{
  const struct core_json_field fields[] = {
    { .name = "challenge_id", .type = CORE_JSON_STRING, .max_len = 64,
      .out = &req->challenge_id },
    { .name = "device_public_key", .type = CORE_JSON_STRING, .max_len = 128,
      .out = &req->device_public_key },
    { .name = "ecdh_public_key", .type = CORE_JSON_STRING, .max_len = 128,
      .out = &req->ecdh_public_key },
    { .name = "proof", .type = CORE_JSON_STRING, .max_len = 64,
      .out = &req->proof },
    { .name = "signature", .type = CORE_JSON_STRING, .max_len = 128,
      .out = &req->signature },
    { .name = "device", .type = CORE_JSON_OBJECT, .out = &req->device },
    CORE_JSON_FIELD_END
  };

  return core_json_parse (body, fields, bad_field);
}

static const char *
decode_fields (struct activation *a)
{
  const struct enrol_activate_req *r = a->req;

  a->device_pub_len = core_b64url_decode (r->device_public_key, &a->device_pub);
  if (AUTHN_P256_PUB_LEN != a->device_pub_len)
    return "device_public_key";
  a->ecdh_pub_len = core_b64url_decode (r->ecdh_public_key, &a->ecdh_pub);
  if (AUTHN_P256_PUB_LEN != a->ecdh_pub_len)
    return "ecdh_public_key";
  a->proof_len = core_b64url_decode (r->proof, &a->proof);
  if (32 != a->proof_len)
    return "proof";
  a->sig_len = core_b64url_decode (r->signature, &a->sig);
  if (a->sig_len < 8 || a->sig_len > 80)
    return "signature";
  a->pub_param[0] = '\\';
  a->pub_param[1] = 'x';
  core_hex_encode (a->device_pub, AUTHN_P256_PUB_LEN, a->pub_param + 2);
  return NULL;
}

static const char *
check_device_object (struct activation *a, struct risk_device *d)
{
  const char *bad = NULL;
  /* What an app cannot know it leaves out (or sends as null): the web app
     has no OS version or model it could trust, and no integrity checks.
     An unreported flag is "unknown" to the risk rules, never "false". */
  bool has_rooted = false, has_emulator = false, has_debugger = false,
       has_hooking = false;
  const struct core_json_field f[] = {
    { .name = "platform", .type = CORE_JSON_STRING, .max_len = 32,
      .out = &d->platform },
    { .name = "os_version", .type = CORE_JSON_STRING, .max_len = 32,
      .optional = true, .out = &d->os_version },
    { .name = "model", .type = CORE_JSON_STRING, .max_len = 64,
      .optional = true, .out = &d->model },
    { .name = "app_version", .type = CORE_JSON_STRING, .max_len = 32,
      .out = &d->app_version },
    { .name = "install_id", .type = CORE_JSON_STRING, .max_len = 128,
      .out = &d->install_id },
    { .name = "rooted", .type = CORE_JSON_BOOL, .optional = true,
      .out = &d->rooted, .present = &has_rooted },
    { .name = "emulator", .type = CORE_JSON_BOOL, .optional = true,
      .out = &d->emulator, .present = &has_emulator },
    { .name = "debugger", .type = CORE_JSON_BOOL, .optional = true,
      .out = &d->debugger, .present = &has_debugger },
    { .name = "hooking", .type = CORE_JSON_BOOL, .optional = true,
      .out = &d->hooking, .present = &has_hooking },
    { .name = "sim_country", .type = CORE_JSON_STRING, .max_len = 2,
      .optional = true, .out = &d->sim_country },
    { .name = "locale", .type = CORE_JSON_STRING, .max_len = 35,
      .optional = true, .out = &d->locale },
    { .name = "timezone", .type = CORE_JSON_STRING, .max_len = 64,
      .optional = true, .out = &d->timezone },
    CORE_JSON_FIELD_END
  };
  static __thread char name[80];

  if (CORE_OK == core_json_parse (a->req->device, f, &bad))
  {
    d->rooted_unknown = ! has_rooted;
    d->emulator_unknown = ! has_emulator;
    d->debugger_unknown = ! has_debugger;
    d->hooking_unknown = ! has_hooking;
    a->install_id = d->install_id;
    a->platform = d->platform;
    return NULL;
  }
  snprintf (name, sizeof name, "device.%s", NULL != bad ? bad : "");
  return name;
}

/* ------------------------------------------------------------ attempts */

/* Record an attempt on an existing challenge, in the transaction, and
   answer @a err.  @a proof_ok: the attempt held the QR's secret.  Only such
   attempts count in the risk of the phone that comes next
   (qr_multiple_devices): anyone can send a wrong proof for a challenge id,
   and must not be able to push the genuine phone into review with it.
   @return the statement's status (< 0: roll back) */
static enum core_db_status
record_attempt (struct core_db *db, struct activation *a, const char *outcome,
                bool proof_ok, enum core_err err)
{
  const char *p[7] = { a->req->challenge_id,
                       a->enrolment_id[0] ? a->enrolment_id : NULL,
                       a->pub_param[0] ? a->pub_param : NULL, a->install_id,
                       a->req->client_addr, outcome,
                       proof_ok ? "true" : "false" };

  a->err = err;
  return core_db_exec (db, "enrol_attempt_insert", 7, p, NULL);
}

/* The proof and signature with the challenge's secret (in a->secret). */
static enum core_err
check_proof (const struct activation *a)
{
  const struct authn_activation act = {
    .challenge_id = a->req->challenge_id, .secret = a->secret,
    .secret_len = sizeof a->secret, .device_pub = a->device_pub,
    .device_pub_len = (size_t) a->device_pub_len, .ecdh_pub = a->ecdh_pub,
    .ecdh_pub_len = (size_t) a->ecdh_pub_len, .proof = a->proof,
    .proof_len = (size_t) a->proof_len, .signature = a->sig,
    .signature_len = (size_t) a->sig_len
  };

  return authn_device_check_activation (&act);
}

/* The rate limits: per address, then per challenge id as submitted.  A
   request the challenge's limit refuses has spent one of its address's.
   @return the status; a->rate_wait > 0 when refused */
static enum core_db_status
take_limits (struct core_db *db, struct activation *a)
{
  char key[CORE_RATE_KEY_LEN];
  enum core_db_status st;

  core_rate_addr_key (a->req->client_addr, key);
  st = core_rate_take (db, "activation_address", key,
                       &core_cfg->rate_activation_per_address, &a->rate_wait);
  if (st >= 0 && 0 == a->rate_wait)
    st = core_rate_take (db, "activation_challenge", a->req->challenge_id,
                         &core_cfg->rate_activation_per_challenge,
                         &a->rate_wait);
  if (st >= 0 && a->rate_wait > 0)
    a->err = CORE_ERR_RATE_LIMITED;
  return st;
}

/* Load the challenge; check proof, signature, expiry and use, recording
   the attempt when it fails.  @return the status; a->err is the answer
   (CORE_OK: go on) */
static enum core_db_status
check_challenge (struct core_db *db, struct activation *a)
{
  const char *p[1] = { a->req->challenge_id };
  PGresult *r = NULL;
  enum core_db_status st;
  enum core_err err;
  bool expired, used, replaced;
  struct authn_activation act;

  st = core_db_exec (db, "enrol_activation_load", 1, p, &r);
  if (st < 0)
    return st;
  if (CORE_DB_NO_ROW == st)
  {
    PQclear (r);
    a->err = CORE_ERR_PROOF_INVALID;    /* unknown: recorded nowhere */
    return CORE_DB_NO_ROW;
  }
  snprintf (a->enrolment_id, sizeof a->enrolment_id, "%s", PQgetvalue (r, 0, 0));
  snprintf (a->browser_addr, sizeof a->browser_addr, "%s", PQgetvalue (r, 0, 5));
  snprintf (a->residence, sizeof a->residence, "%s", PQgetvalue (r, 0, 6));
  expired = 0 == strcmp (PQgetvalue (r, 0, 2), "t");
  used = 0 == strcmp (PQgetvalue (r, 0, 3), "t");
  replaced = 0 == strcmp (PQgetvalue (r, 0, 4), "t");
  if (0 != enrol_challenge_open_secret (a->req->challenge_id,
                                        PQgetvalue (r, 0, 1), a->secret))
  {
    PQclear (r);
    a->err = CORE_ERR_INTERNAL;
    return CORE_DB_HARD_ERROR;
  }
  PQclear (r);
  act = (struct authn_activation) {
    .challenge_id = a->req->challenge_id, .secret = a->secret,
    .secret_len = sizeof a->secret, .device_pub = a->device_pub,
    .device_pub_len = (size_t) a->device_pub_len, .ecdh_pub = a->ecdh_pub,
    .ecdh_pub_len = (size_t) a->ecdh_pub_len, .proof = a->proof,
    .proof_len = (size_t) a->proof_len, .signature = a->sig,
    .signature_len = (size_t) a->sig_len
  };
  err = authn_device_check_activation (&act);
  if (CORE_ERR_PROOF_INVALID == err && authn_device_proof_ok (&act))
    return record_attempt (db, a, "signature_invalid", true, err);
  if (CORE_OK != err)
    return record_attempt (db, a, CORE_ERR_INVALID_FIELD == err ? "bad_key"
                           : "proof_invalid", false, err);
  if (expired)
    return record_attempt (db, a, "expired", true,
                           CORE_ERR_CHALLENGE_EXPIRED);
  if (used || replaced)
    return record_attempt (db, a, used ? "reused" : "replaced", true,
                           CORE_ERR_CONFLICT);
  a->err = CORE_OK;
  return CORE_DB_ONE_ROW;
}

/* ------------------------------------------------------------ binding */

static const char *
status_for (enum risk_decision d)
{
  return RISK_ALLOW == d ? "active" : RISK_REVIEW == d ? "pending_review"
         : "denied";
}

static const char *
state_for (enum risk_decision d)
{
  return RISK_ALLOW == d ? "pin_otp" : RISK_REVIEW == d ? "device_review"
         : "rejected";
}

/* Derive the seed and seal it as a bytea parameter (not for denied). */
static int
derive_and_seal (struct activation *a)
{
  uint8_t seed[AUTHN_SEED_LEN];
  uint8_t *env = NULL;
  size_t envlen = 0;
  char aad[80];
  int rc = -1;

  snprintf (aad, sizeof aad, "device:%s", a->device_id);
  if (0 == authn_device_derive_seed (a->ecdh_pub, a->secret, sizeof a->secret,
                                     a->device_id, a->server_pub, seed)
      && 0 == core_seal (seed, sizeof seed, aad, &env, &envlen)
      && NULL != (a->seed_param = malloc (2 * envlen + 3)))
  {
    a->seed_param[0] = '\\';
    a->seed_param[1] = 'x';
    core_hex_encode (env, envlen, a->seed_param + 2);
    rc = 0;
  }
  OPENSSL_cleanse (seed, sizeof seed);
  free (env);
  return rc;
}

/* Consume the challenge, bind the device, advance the enrolment, record
   the risk decision and the attempt.  NO_ROW: the challenge was consumed
   or replaced meanwhile (nothing written); HARD_ERROR with a->err
   CORE_ERR_CONFLICT: the enrolment left the device step meanwhile (roll
   back). */
static enum core_db_status
bind (struct core_db *db, struct activation *a)
{
  enum risk_decision d = a->risk.decision;
  json_t *riskj = risk_result_json (&a->risk);
  char *risk_s = core_json_dump (riskj);
  char *signals = core_json_dump (a->req->device);
  const char *pc[1] = { a->req->challenge_id };
  const char *pd[11] = { a->device_id, a->enrolment_id, a->req->challenge_id,
                         status_for (d), a->pub_param, a->install_id,
                         a->platform, signals, a->req->client_addr,
                         a->seed_param, risk_s };
  const char *pe[3] = { a->enrolment_id, state_for (d), a->device_id };
  const char *pn[1] = { a->enrolment_id };
  enum core_db_status st;

  st = core_db_exec (db, "enrol_challenge_consume", 1, pc, NULL);
  if (CORE_DB_ONE_ROW == st)
    st = core_db_exec (db, "enrol_device_insert", 11, pd, NULL);
  if (CORE_DB_ONE_ROW == st)
  {
    st = core_db_exec (db, "enrol_advance_device", 3, pe, NULL);
    if (CORE_DB_NO_ROW == st)
    {
      a->err = CORE_ERR_CONFLICT;
      st = CORE_DB_HARD_ERROR;
    }
  }
  if (CORE_DB_ONE_ROW == st)
  {
    int64_t rid;

    st = risk_record (db, &a->risk_in, a->device_id, &a->risk, &rid);
  }
  if (CORE_DB_ONE_ROW == st && RISK_REVIEW == d)
    st = enrol_review_open (db, ENROL_REVIEW_KIND_DEVICE, a->enrolment_id,
                            a->device_id, a->risk.score, a->risk.reasons,
                            NULL);
  if (CORE_DB_ONE_ROW == st)
  {
    const char *pa[7] = { a->req->challenge_id, a->enrolment_id,
                          a->pub_param, a->install_id, a->req->client_addr,
                          RISK_ALLOW == d ? "activated" : status_for (d),
                          "true" };

    st = core_db_exec (db, "enrol_attempt_insert", 7, pa, NULL);
  }
  if (CORE_DB_ONE_ROW == st)
    st = core_db_exec (db, "enrol_notify", 1, pn, NULL);
  json_decref (riskj);
  free (risk_s);
  free (signals);
  return st;
}

static json_t *
answer_json (struct activation *a)
{
  json_t *o = json_pack ("{s:s, s:s, s:o}", "device_id", a->device_id,
                         "status", status_for (a->risk.decision), "risk",
                         risk_result_answer (&a->risk));
  char *spub;

  if (NULL == o || RISK_DENY == a->risk.decision)
    return o;
  spub = core_b64url_encode (a->server_pub, sizeof a->server_pub);
  json_object_set_new (o, "server_ecdh_public_key", json_string (spub));
  json_object_set_new (o, "otp", json_pack ("{s:s, s:s, s:i, s:i}", "type",
                                            "totp", "algorithm", "SHA256",
                                            "digits", 6, "period", 30));
  free (spub);
  return o;
}

static enum core_err
score (struct core_db *db, struct activation *a, const struct risk_device *d)
{
  enum core_err err;

  a->risk_in = (struct risk_input) {
    .enrolment_id = a->enrolment_id, .challenge_id = a->req->challenge_id,
    .device = *d, .device_key = a->device_pub,
    .phone_addr = a->req->client_addr,
    .browser_addr = a->browser_addr[0] ? a->browser_addr : NULL,
    .residence_country = a->residence[0] ? a->residence : NULL
  };
  err = risk_score_device (db, &a->risk_in, &a->risk);

  a->risk_done = CORE_OK == err;
  return err;
}

/* One attempt, from the rate limits to the binding. */
static enum core_db_status
activate_tx (struct core_db *db, void *cls)
{
  struct activation *a = cls;
  enum core_db_status st;

  activation_reset (a);
  st = take_limits (db, a);
  if (st < 0 || a->rate_wait > 0)
    return st;
  st = check_challenge (db, a);
  if (st < 0 || CORE_OK != a->err)
    return st;
  if (CORE_OK != (a->err = score (db, a, a->dev)))
    return CORE_DB_HARD_ERROR;
  a->err = CORE_ERR_INTERNAL;
  if (RISK_DENY != a->risk.decision && 0 != derive_and_seal (a))
    return CORE_DB_HARD_ERROR;
  st = bind (db, a);
  if (CORE_DB_NO_ROW == st)             /* lost a race for the challenge */
    return record_attempt (db, a, "reused", true, CORE_ERR_CONFLICT);
  if (CORE_DB_ONE_ROW == st)
    a->err = CORE_OK;
  return st;
}

enum core_err
enrol_activate_check_offline (const struct enrol_activate_req *req,
                              const uint8_t *secret, const char **bad_field)
{
  struct activation a = { .req = req };
  struct risk_device dev = { 0 };
  enum core_err err = CORE_ERR_INVALID_FIELD;

  *bad_field = decode_fields (&a);
  if (NULL == *bad_field)
    *bad_field = check_device_object (&a, &dev);
  if (NULL == *bad_field)
  {
    memcpy (a.secret, secret, sizeof a.secret);
    err = check_proof (&a);
    if (CORE_ERR_INVALID_FIELD == err)
      *bad_field = "device_public_key";
  }
  activation_clear (&a);
  return err;
}

enum core_err
enrol_device_activate (struct core_db *db,
                       const struct enrol_activate_req *req,
                       json_t **answer, const char **bad_field,
                       long *retry_after)
{
  struct activation a = { .req = req };
  struct risk_device dev = { 0 };
  char *id = NULL;
  enum core_db_status st;
  enum core_err err;

  *answer = NULL;
  *retry_after = 0;
  *bad_field = decode_fields (&a);
  if (NULL == *bad_field)
    *bad_field = check_device_object (&a, &dev);
  if (NULL != *bad_field)
  {
    err = CORE_ERR_INVALID_FIELD;
    goto cleanup;
  }
  err = CORE_ERR_INTERNAL;
  if (NULL == (id = core_random_id ("dev")))
    goto cleanup;
  snprintf (a.device_id, sizeof a.device_id, "%s", id);
  a.dev = &dev;
  st = core_db_tx (db, false, &activate_tx, &a);
  err = a.err;
  if (st < 0 && (CORE_OK == err || CORE_ERR_INTERNAL == err))
    err = enrol_db_err (db);
  else if (CORE_ERR_INVALID_FIELD == err)
    *bad_field = "device_public_key";
  else if (CORE_ERR_RATE_LIMITED == err)
    *retry_after = a.rate_wait;
  else if (CORE_OK == err && NULL == (*answer = answer_json (&a)))
    err = CORE_ERR_INTERNAL;
  if (CORE_OK == err)
    LOG_INFO ("device %s bound to enrolment %s: %s (risk %d)", a.device_id,
              a.enrolment_id, status_for (a.risk.decision), a.risk.score);
cleanup:
  free (id);
  activation_clear (&a);
  return err;
}

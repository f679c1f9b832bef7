/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * verify.c -- PIN + OTP verification and HOTP resynchronisation.
 *
 * The order of checks is the point of this file: load the customer (one
 * query, which also checks the relying party's API key when the server
 * hands it over: a refusal costs one round trip), refuse unknown and
 * locked customers, then the OTP (microseconds,
 * in C), and only for a right, unspent code the Argon2id PIN hash (~20 ms),
 * whose result is written together with the spend of the code (one
 * statement).  A wrong, replayed or malformed OTP therefore never pays for
 * a hash, yet every failure -- PIN or OTP -- counts toward the same lockout
 * and gets the same answer (a replay of a spent code is refused without
 * counting: see refuse_replay).  A right PIN + OTP costs two round trips
 * and one WAL flush.  Every attempt leaves an audit row, but one refused
 * by a rate limit.
 *
 * Rate limits (per customer, per API key) bound the attempts that go on
 * to work: a wrong code takes them in the statement that counts its
 * failure, a right code in a statement of its own before the hash, a
 * resync before its search.  An unknown or locked customer and a replayed
 * code are refused without them: that refusal is already the cheapest
 * answer there is (one statement, its audit row written without a flush),
 * and a lock bounds it.  A lock is temporary by default (lockout_base_s,
 * doubling, at most lockout_max_s) and its end is answered.  Nothing here
 * logs or returns a PIN, an OTP or a seed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "authn/authn.h"
#include "authn/authn_db.h"
#include "authn/otp.h"
#include "authn/pin.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"

/* Used when main has not set core_cfg (tools, tests): the documented
   defaults. */
static const struct core_config default_cfg = {
  .lockout_attempts = 5, .totp_window = 1, .hotp_lookahead = 10,
  .resync_window = 1000,
};

static const struct core_config *
cfg (void)
{
  return core_cfg != NULL ? core_cfg : &default_cfg;
}

static unsigned int
lockout_limit (void)
{
  return cfg ()->lockout_attempts > 0 ? cfg ()->lockout_attempts : 5;
}

/* ---------------------------------------------------- shared by both */

/* Audit an attempt that counts nothing and answer @a err. */
static enum core_err
refuse (struct core_db *db, const struct authn_db_audit *a,
        const char *outcome, int remaining, enum core_err err)
{
  if (authn_db_audit (db, a, outcome, remaining) < 0)
    return authn_db_err (db);
  return err;
}

/* Refused by a rate limit: nothing counted, nothing audited. */
static enum core_err
rate_limited (long wait, struct authn_verify_res *res)
{
  res->retry_after = wait;
  return CORE_ERR_RATE_LIMITED;
}

/* Take the attempt from the rate limits before work that writes only
   afterwards.  @return CORE_OK when admitted, else the answer. */
static enum core_err
take_rate (struct core_db *db, const struct authn_db_audit *a,
           struct authn_verify_res *res)
{
  long wait = 0;

  if (authn_db_rate_take (db, a, &wait) < 0)
    return authn_db_err (db);
  return wait > 0 ? rate_limited (wait, res) : CORE_OK;
}

/* Put @a lock into the answer. */
static void
answer_lock (const struct authn_db_lock *lock, struct authn_verify_res *res)
{
  snprintf (res->locked_until, sizeof res->locked_until, "%s", lock->until);
  res->retry_after = lock->retry_after;
}

/* Answer a failure that was counted, leaving @a left attempts (and, when
   it locked, @a lock). */
static enum core_err
counted (const struct authn_db_audit *a, int left,
         const struct authn_db_lock *lock, struct authn_verify_res *res)
{
  res->attempts_remaining = left;
  if (left == 0)
    {
      answer_lock (lock, res);
      LOG_INFO ("customer %s locked until %s (%s)", a->customer_id,
                lock->until[0] ? lock->until : "unlocked", a->action);
    }
  return CORE_ERR_AUTHENTICATION_FAILED;
}

/* A lock began meanwhile (parallel failures): audit the refusal and
   answer LOCKED with its end. */
static enum core_err
refuse_locked (struct core_db *db, const struct authn_db_audit *a,
               struct authn_verify_res *res)
{
  struct authn_db_lock lock;

  if (authn_db_lock_state (db, a->customer_id, &lock) < 0)
    return authn_db_err (db);
  answer_lock (&lock, res);
  return refuse (db, a, "locked", 0, CORE_ERR_LOCKED);
}

/* Count a failure (locking at the limit) and answer
   AUTHENTICATION_FAILED with the attempts left; unless, when @a take_rate,
   the rate limits refuse the attempt (then nothing is counted). */
static enum core_err
fail (struct core_db *db, const struct authn_db_audit *a,
      const char *outcome, bool take_rate, struct authn_verify_res *res)
{
  struct authn_db_lock lock;
  int left = -1;
  long wait = 0;
  enum core_db_status st;

  st = authn_db_fail (db, a, outcome, lockout_limit (), take_rate, &left,
                      &lock, &wait);
  if (st < 0)
    return authn_db_err (db);
  if (wait > 0)
    return rate_limited (wait, res);
  /* One conditional UPDATE: a failure counts only while no lock is in
     force, so parallel wrong guesses stop at the limit and those that
     arrive after it are answered `locked`, as later ones will be. */
  if (st == CORE_DB_NO_ROW)
    return refuse_locked (db, a, res);
  return counted (a, left, &lock, res);
}

/* A code that matched but was spent already -- a double submission, or
   the losers of a parallel race.  It is refused and audited, but not
   counted: the PIN was never tried, so the attempt guessed nothing, and
   counting it would let the losers lock out the one request that won. */
static enum core_err
refuse_replay (struct core_db *db, const struct authn_db_audit *a,
               const struct authn_db_customer *c,
               struct authn_verify_res *res)
{
  long left = (long) lockout_limit () - c->failed_attempts;

  res->attempts_remaining = left > 0 ? (int) left : 0;
  return refuse (db, a, "otp_replayed", res->attempts_remaining,
                 CORE_ERR_AUTHENTICATION_FAILED);
}

/* Check the API key (when @a key_hash), load the customer, or answer for
   an unknown key or customer or a locked one.
   @return CORE_OK with @a c filled (the caller clears it; a->relying_party
   then points into it), else the answer, with @a c empty. */
static enum core_err
load_or_refuse (struct core_db *db, struct authn_db_audit *a,
                const char *key_hash, struct authn_db_customer *c,
                struct authn_verify_res *res)
{
  enum core_db_status st;

  /* One statement checks the key, loads the customer and already audits
     the attempts that end here (unknown customer, locked). */
  st = authn_db_load_customer_audited (db, a, key_hash, c);
  if (st < 0)
    return authn_db_err (db);
  if (c->key_refused)
    return CORE_ERR_UNAUTHORIZED;
  if (st == CORE_DB_NO_ROW)
    return CORE_ERR_AUTHENTICATION_FAILED;
  a->relying_party = c->relying_party;
  snprintf (res->relying_party, sizeof res->relying_party, "%s",
            c->relying_party);
  /* A count at or past the limit with no lock in force (the limit was
     lowered) is not a lock: the next failure locks. */
  if (!c->locked)
    return CORE_OK;
  answer_lock (&c->lock, res);
  authn_db_customer_clear (c);
  return CORE_ERR_LOCKED;
}

/* Open a credential's seed.  @return 0, or -1 (logged: our problem). */
static int
open_seed (const struct authn_db_cred *k, uint8_t **seed, size_t *len)
{
  char aad[sizeof "credential:" + AUTHN_ID_MAX];

  *seed = NULL;
  *len = 0;
  snprintf (aad, sizeof aad, "credential:%s", k->id);
  if (!k->usable || core_open (k->sealed, k->sealed_len, aad, seed, len) != 0)
    {
      LOG_ERROR ("credential %s: seed cannot be opened", k->id);
      return -1;
    }
  return 0;
}

/* ------------------------------------------------------------- verify */

/* Factors lo..hi to try. */
struct range {
  int64_t lo, hi;
};

/* Where a credential's code may be.  HOTP: counter .. counter + look-ahead,
   and as far back for spent codes.  TOTP: +-window around now and around
   now + drift (the device clock we saw last), so a remembered drift never
   hides a code that is on time.  @return the number of ranges (1 or 2). */
static size_t
cred_ranges (const struct authn_db_cred *k, int64_t now_step,
             struct range r[2])
{
  int64_t w = cfg ()->totp_window, d = k->drift;

  if (k->otp.type == AUTHN_OTP_HOTP)
    {
      w = cfg ()->hotp_lookahead;
      r[0] = (struct range) { k->counter - w, k->counter + w };
      return 1;
    }
  r[0] = (struct range) { now_step - w, now_step + w };
  r[1] = (struct range) { now_step + d - w, now_step + d + w };
  if (r[1].lo > r[0].hi + 1 || r[1].hi < r[0].lo - 1)
    return 2;
  r[0].lo = r[0].lo < r[1].lo ? r[0].lo : r[1].lo;
  r[0].hi = r[0].hi > r[1].hi ? r[0].hi : r[1].hi;
  return 1;
}

/* Search the part of @a r within min..max. */
static enum authn_otp_result
search_ranges (const struct authn_db_cred *k, const uint8_t *seed, size_t len,
               const char *otp, const struct range *r, size_t n,
               int64_t min, int64_t max, int64_t *t)
{
  enum authn_otp_result res = AUTHN_OTP_NO_MATCH;

  for (size_t i = 0; i < n && res == AUTHN_OTP_NO_MATCH; i++)
    res = authn_otp_search (&k->otp, seed, len, otp,
                            r[i].lo > min ? r[i].lo : min,
                            r[i].hi < max ? r[i].hi : max, t);
  return res;
}

/* Look for @a otp among the factors not yet spent, then -- only to tell a
   replay from a wrong code -- among the spent ones.
   @param[out] t      the matched factor
   @param[out] spent  whether it was spent already (as loaded) */
static enum authn_otp_result
match_cred (const struct authn_db_cred *k, const char *otp, int64_t now_step,
            int64_t *t, bool *spent)
{
  /* highest spent factor: HOTP counter is the next expected, TOTP
     counter the last step accepted */
  int64_t last = k->otp.type == AUTHN_OTP_HOTP ? k->counter - 1 : k->counter;
  enum authn_otp_result r;
  struct range rg[2];
  size_t n = cred_ranges (k, now_step, rg);
  uint8_t *seed;
  size_t len;

  *spent = false;
  if (!authn_otp_code_well_formed (otp, k->otp.digits))
    return AUTHN_OTP_MALFORMED;
  if (open_seed (k, &seed, &len) != 0)
    return AUTHN_OTP_ERROR;
  r = search_ranges (k, seed, len, otp, rg, n, last + 1, INT64_MAX, t);
  if (r == AUTHN_OTP_NO_MATCH)
    {
      r = search_ranges (k, seed, len, otp, rg, n, INT64_MIN, last, t);
      *spent = r == AUTHN_OTP_MATCH;
    }
  core_free_secret (seed, len);
  return r;
}

/* How to spend factor @a t of @a k (see struct authn_db_spend). */
static struct authn_db_spend
spend_of (const struct authn_db_cred *k, int64_t t, int64_t now_step)
{
  int64_t drift = t - now_step;

  if (k->otp.type == AUTHN_OTP_HOTP)
    return (struct authn_db_spend) { t + 1, 0, t };
  if (drift > INT32_MAX || drift < INT32_MIN)
    drift = 0;
  return (struct authn_db_spend) { t, (int32_t) drift, t - 1 };
}

/* What trying the OTP on a customer's credentials gave. */
struct otp_check {
  const char *outcome;                /* audit outcome if not accepted */
  const struct authn_db_cred *cred;   /* matched (unspent or replayed) */
  struct authn_db_spend spend;        /* how to spend it, if unspent */
};

/* Find the credential whose unspent code @a otp is.  Nothing is written:
   the code is spent with the PIN's result (check_pin).
   @return CORE_OK (chk->cred, chk->spend), AUTHENTICATION_FAILED
   (chk->outcome), or CORE_ERR_INTERNAL (no credential could be tried). */
static enum core_err
check_otp (const struct authn_db_customer *c, const char *otp,
           struct otp_check *chk)
{
  time_t now = time (NULL);
  size_t broken = 0;
  bool replayed = false;

  for (size_t i = 0; i < c->ncreds; i++)
    {
      const struct authn_db_cred *k = &c->creds[i];
      int64_t t = 0, now_step = authn_otp_step (&k->otp, now);
      bool spent;
      enum authn_otp_result r = match_cred (k, otp, now_step, &t, &spent);

      broken += r == AUTHN_OTP_ERROR;
      if (r != AUTHN_OTP_MATCH)
        continue;
      chk->cred = k;
      if (spent)
        {
          replayed = true;    /* spent already, as far as we loaded */
          continue;
        }
      chk->spend = spend_of (k, t, now_step);
      return CORE_OK;
    }
  if (broken > 0 && broken == c->ncreds)
    return CORE_ERR_INTERNAL; /* not the customer's fault: count nothing */
  chk->outcome = c->ncreds == 0 ? "no_credential"
                 : replayed ? "otp_replayed" : "otp_invalid";
  return CORE_ERR_AUTHENTICATION_FAILED;
}

/* The OTP is right and was unspent when loaded; now, and only now, the
   PIN.  Its result is written with the spend of the code, in one
   statement: of parallel requests carrying one code, only the one whose
   spend wins has its PIN accepted or counted; the others are answered as
   replays, whatever their PIN, so one code still buys one PIN try.  (They
   have paid a hash for nothing; only a code that is right and unspent
   gets that far.) */
static enum core_err
check_pin (struct core_db *db, const struct authn_db_audit *a,
           const struct authn_db_customer *c, const char *pin,
           const struct otp_check *chk, struct authn_verify_res *res)
{
  enum authn_db_spent spent;
  struct authn_db_lock lock;
  enum core_db_status st;
  enum core_err err = take_rate (db, a, res);
  int left, rc;

  if (err != CORE_OK)
    return err;
  rc = authn_pin_verify (c->pin_hash, pin);
  if (rc < 0)
    return CORE_ERR_INTERNAL;
  st = authn_db_spend (db, a, rc == 1 ? "accepted" : "pin_invalid",
                       lockout_limit (), &chk->spend, &spent, &left, &lock);
  if (st < 0)
    return authn_db_err (db);
  if (spent == AUTHN_DB_SPEND_LOST)
    return refuse_replay (db, a, c, res);
  if (spent == AUTHN_DB_SPEND_LOCKED) /* by parallel failures meanwhile */
    return refuse_locked (db, a, res);
  if (rc != 1)
    return counted (a, left, &lock, res);
  snprintf (res->credential_id, sizeof res->credential_id, "%s",
            a->credential_id);
  return CORE_OK;
}

enum core_err
authn_verify (struct core_db *db, const struct authn_verify_req *req,
              struct authn_verify_res *res)
{
  struct authn_db_audit a = {
    .customer_id = req->customer_id, .relying_party = req->api_key_name,
    .client_addr = req->client_addr, .action = "verify",
  };
  struct authn_db_customer c;
  struct otp_check chk = { .outcome = NULL, .cred = NULL };
  enum core_err err;

  memset (res, 0, sizeof *res);
  res->attempts_remaining = -1;
  err = load_or_refuse (db, &a, req->api_key_hash, &c, res);
  if (err != CORE_OK)
    return err;
  err = check_otp (&c, req->otp, &chk);
  if (chk.cred != NULL)
    a.credential_id = chk.cred->id;
  if (err == CORE_ERR_AUTHENTICATION_FAILED
      && strcmp (chk.outcome, "otp_replayed") == 0)
    err = refuse_replay (db, &a, &c, res);
  else if (err == CORE_ERR_AUTHENTICATION_FAILED)
    err = fail (db, &a, chk.outcome, true, res);
  else if (err == CORE_OK)
    err = check_pin (db, &a, &c, req->pin, &chk, res);
  authn_db_customer_clear (&c);
  return err;
}

/* ------------------------------------------------------------- resync */

/* Find otp1, otp2 at (t, t + 1) in one HOTP credential's resync window. */
static enum authn_otp_result
match_pair (const struct authn_db_cred *k, const char *otp1,
            const char *otp2, int64_t *t)
{
  enum authn_otp_result r;
  uint8_t *seed;
  size_t len;

  if (!authn_otp_code_well_formed (otp1, k->otp.digits)
      || !authn_otp_code_well_formed (otp2, k->otp.digits))
    return AUTHN_OTP_MALFORMED;
  if (open_seed (k, &seed, &len) != 0)
    return AUTHN_OTP_ERROR;
  r = authn_otp_search_pair (&k->otp, seed, len, otp1, otp2, k->counter,
                             k->counter + cfg ()->resync_window, t);
  core_free_secret (seed, len);
  return r;
}

/* Try every active HOTP credential; on a match, move its counter past
   both codes and audit, in one statement.  Returns as check_otp. */
static enum core_err
resync_creds (struct core_db *db, const struct authn_db_customer *c,
              struct authn_db_audit *a, const char *otp1, const char *otp2,
              const char **outcome)
{
  size_t hotp = 0, broken = 0;
  bool replayed = false;

  for (size_t i = 0; i < c->ncreds; i++)
    {
      const struct authn_db_cred *k = &c->creds[i];
      enum authn_otp_result r;
      enum core_db_status st;
      int64_t t = 0;

      if (k->otp.type != AUTHN_OTP_HOTP)
        continue;
      hotp++;
      r = match_pair (k, otp1, otp2, &t);
      broken += r == AUTHN_OTP_ERROR;
      if (r != AUTHN_OTP_MATCH)
        continue;
      a->credential_id = k->id;
      st = authn_db_resync_apply (db, a, t + 2, t);
      if (st < 0)
        return authn_db_err (db);
      if (st == CORE_DB_ONE_ROW)
        return CORE_OK;
      replayed = true;
    }
  if (broken > 0 && broken == hotp)
    return CORE_ERR_INTERNAL;
  *outcome = hotp == 0 ? "no_credential"
             : replayed ? "otp_replayed" : "otp_invalid";
  return CORE_ERR_AUTHENTICATION_FAILED;
}

/* A successful resync proves the token, not the PIN: it does not reset
   failed_attempts, or token + resync would buy unlimited PIN guesses. */
enum core_err
authn_resync (struct core_db *db, const char *customer_id, const char *otp1,
              const char *otp2, const char *client_addr,
              const char *api_key_name, struct authn_verify_res *res)
{
  struct authn_db_audit a = {
    .customer_id = customer_id, .relying_party = api_key_name,
    .client_addr = client_addr, .action = "resync",
  };
  struct authn_db_customer c;
  const char *outcome = "otp_invalid";
  enum core_err err;

  memset (res, 0, sizeof *res);
  res->attempts_remaining = -1;
  err = load_or_refuse (db, &a, NULL, &c, res);
  if (err != CORE_OK)
    return err;
  /* the search costs up to resync_window codes: limits first */
  err = take_rate (db, &a, res);
  if (err == CORE_OK)
    err = resync_creds (db, &c, &a, otp1, otp2, &outcome);
  if (err == CORE_ERR_AUTHENTICATION_FAILED
      && strcmp (outcome, "otp_replayed") == 0)
    err = refuse_replay (db, &a, &c, res);
  else if (err == CORE_ERR_AUTHENTICATION_FAILED)
    err = fail (db, &a, outcome, false, res);
  else if (err == CORE_OK)
    snprintf (res->credential_id, sizeof res->credential_id, "%s",
              a.credential_id);
  authn_db_customer_clear (&c);
  return err;
}

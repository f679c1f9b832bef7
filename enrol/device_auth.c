/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * device_auth.c -- signed device requests (API.md, normative): after
 * activation the phone signs "METHOD\nPATH\nTIMESTAMP\nhex(SHA-256(body))"
 * with its P-256 key.  PATH is the request path without the query string.
 * A timestamp more than 120 s from ours is refused.  Only an active device
 * may sign.
 *
 * Replay: a request is accepted once.  What is recorded (in PostgreSQL, so
 * the rule holds across instances) is the device, the timestamp and the
 * SHA-256 of the signed message -- never the signature text, because ECDSA
 * gives many valid signatures of one message: a new random k, or the
 * (r, n - s) twin anyone can compute from a seen signature.  For the same
 * reason only low-s signatures are taken.  A message is recorded only
 * after its signature verifies, so nobody but the device can burn one.
 *
 * Durability.  The record commits without waiting for its WAL flush
 * (synchronous_commit off for its own statement): a request that changes
 * something commits that change synchronously afterwards, and PostgreSQL
 * flushes the WAL in order, so the change's flush carries the record with
 * it -- no approval, decline or assurance-code change is on disk without
 * the record that refuses its replay.  What a crash of PostgreSQL can
 * forget is the record of a read (the pending list) made in the last
 * moments before it (wal_writer_delay x 3): a recorded read could then be
 * replayed within its 120 s, to be told again what that device was told.
 * That spares every signed request a flush of its own, which is most of
 * what a payment approval waits for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authn/device.h"
#include "core/crypto.h"
#include "enrol/device_step.h"
#include "enrol/enrol_db.h"
#include "enrol/session.h"

#define MAX_SKEW 120

/* @return true and the value in @a out if @a ts is unix seconds in
 * canonical decimal (digits, no sign, no leading zero: one text per
 * second) within MAX_SKEW of our clock. */
static bool
timestamp_ok (const char *ts, time_t now, long long *out)
{
  size_t len = NULL != ts ? strlen (ts) : 0;
  long long t;

  if (0 == len || len > 12 || '0' == ts[0]
      || strspn (ts, "0123456789") != len)
    return false;
  t = strtoll (ts, NULL, 10);
  if (NULL != out)
    *out = t;
  return llabs (t - (long long) now) <= MAX_SKEW;
}

/* @return 0 and the device key, or -1 (unknown or not active). */
static enum core_err
load_key (struct core_db *db, const char *device_id,
          uint8_t pub[AUTHN_P256_PUB_LEN])
{
  const char *p[1] = { device_id };
  PGresult *r = NULL;
  enum core_db_status st;
  enum core_err err = CORE_ERR_UNAUTHORIZED;

  st = core_db_exec (db, "enrol_device_key", 1, p, &r);
  if (st < 0)
    return enrol_db_err (db);
  if (CORE_DB_ONE_ROW == st
      && AUTHN_P256_PUB_LEN == core_hex_decode (PQgetvalue (r, 0, 0), pub,
                                                AUTHN_P256_PUB_LEN))
    err = CORE_OK;
  if (NULL != r)
    PQclear (r);
  return err;
}

/* Record the message; @return CORE_OK the first time, CORE_ERR_UNAUTHORIZED
 * for a replay. */
static enum core_err
record_message (struct core_db *db, const char *device_id, long long ts,
                const char *msg)
{
  uint8_t h[CORE_SHA256_LEN];
  char hash[2 + 2 * CORE_SHA256_LEN + 1] = "\\x";
  char ts_s[24];
  const char *p[3] = { device_id, ts_s, hash };
  enum core_db_status st;

  core_sha256 (msg, strlen (msg), h);
  core_hex_encode (h, sizeof h, hash + 2);
  snprintf (ts_s, sizeof ts_s, "%lld", ts);
  st = core_db_exec (db, "enrol_device_nonce", 3, p, NULL);
  if (CORE_DB_ONE_ROW == st)
    return CORE_OK;
  return st < 0 ? enrol_db_err (db) : CORE_ERR_UNAUTHORIZED;
}

enum core_err
enrol_device_headers_check (const char *device_id, const char *timestamp,
                            const char *signature, time_t now)
{
  if (NULL == device_id || NULL == signature || strlen (device_id) > 64
      || strlen (signature) > 200 || ! timestamp_ok (timestamp, now, NULL))
    return CORE_ERR_UNAUTHORIZED;
  return CORE_OK;
}

enum core_err
enrol_device_signature_check (const uint8_t pub[AUTHN_P256_PUB_LEN],
                              const char *method, const char *path,
                              const char *timestamp, const void *body,
                              size_t body_len, const char *signature)
{
  uint8_t *sig = NULL;
  long sig_len;
  char *msg = NULL;
  enum core_err err = CORE_ERR_UNAUTHORIZED;

  sig_len = core_b64url_decode (signature, &sig);
  msg = authn_device_request_string (method, path, timestamp, body, body_len);
  if (sig_len > 0 && NULL != msg
      && authn_device_sig_low_s (sig, (size_t) sig_len)
      && authn_device_verify (pub, msg, strlen (msg), sig, (size_t) sig_len))
    err = CORE_OK;
  free (sig);
  free (msg);
  return err;
}

enum core_err
enrol_device_request_check (struct core_db *db, const char *device_id,
                            const char *method, const char *path,
                            const char *timestamp, const void *body,
                            size_t body_len, const char *signature)
{
  uint8_t pub[AUTHN_P256_PUB_LEN];
  long long ts;
  char *msg = NULL;
  enum core_err err;

  if (CORE_OK != enrol_device_headers_check (device_id, timestamp, signature,
                                             time (NULL)))
    return CORE_ERR_UNAUTHORIZED;
  ts = strtoll (timestamp, NULL, 10);
  if (CORE_OK != (err = load_key (db, device_id, pub)))
    return err;
  if (CORE_OK != enrol_device_signature_check (pub, method, path, timestamp,
                                               body, body_len, signature))
    return CORE_ERR_UNAUTHORIZED;
  msg = authn_device_request_string (method, path, timestamp, body, body_len);
  if (NULL == msg)
    return CORE_ERR_INTERNAL;
  err = record_message (db, device_id, ts, msg);
  free (msg);
  return err;
}

enum core_err
enrol_device_get (struct core_db *db, const char *device_id, json_t **view)
{
  const char *p[1] = { device_id };
  PGresult *r = NULL;
  enum core_db_status st;

  *view = NULL;
  st = core_db_exec (db, "enrol_device_view", 1, p, &r);
  if (st < 0)
    return enrol_db_err (db);
  if (CORE_DB_NO_ROW == st)
  {
    PQclear (r);
    return CORE_ERR_NOT_FOUND;
  }
  *view = json_pack ("{s:s, s:s, s:s?, s:s}", "device_id",
                     PQgetvalue (r, 0, 0), "status", PQgetvalue (r, 0, 1),
                     "customer_id", PQgetisnull (r, 0, 2) ? NULL
                     : PQgetvalue (r, 0, 2), "enrolment_id",
                     PQgetvalue (r, 0, 3));
  PQclear (r);
  return NULL != *view ? CORE_OK : CORE_ERR_INTERNAL;
}

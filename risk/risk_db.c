/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * risk_db.c -- the SQL of risk/: one statement table, one function per
 * query.
 *
 * Scoring is dominated by its look-ups, so the whole history of a device,
 * its address and its QR challenge comes back from one SELECT of scalar
 * sub-selects, each served by an index of 0004/0005 (devices.public_key,
 * devices.install_id, devices(client_addr, created_at),
 * activation_attempts.challenge_id, the blocklist's primary key).
 * Parameters are text, never spliced into SQL; device keys travel as hex.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "risk/risk_int.h"

/* Columns of risk_history. */
enum {
  H_BOUND, H_ADDR_1H, H_DEVICE_1H, H_QR_KEYS, H_BLK_KEY, H_BLK_INSTALL,
  H_BLK_ADDR, H_RESIDENCE, H_COUNT
};

static const struct core_db_stmt risk_stmts[] = {
  /* $1 enrolment, $2 device key (hex), $3 install id, $4 phone address as
     given, $5 challenge, $6 phone address in canonical form */
  { "risk_history",
    "SELECT"
    " (SELECT count(DISTINCT d.enrolment_id) FROM devices d"
    "   WHERE (d.public_key = decode($2, 'hex') OR d.install_id = $3)"
    "     AND d.enrolment_id <> $1 AND d.status <> 'denied'),"
    " (SELECT count(*) FROM devices d"
    "   WHERE d.client_addr = $4 AND d.created_at > now() - interval '1 hour'"
    "     AND d.enrolment_id <> $1),"
    " (SELECT count(DISTINCT d.enrolment_id) FROM devices d"
    "   WHERE (d.public_key = decode($2, 'hex') OR d.install_id = $3)"
    "     AND d.created_at > now() - interval '1 hour'"
    "     AND d.enrolment_id <> $1),"
    " (SELECT count(DISTINCT a.public_key) FROM activation_attempts a"
    "   WHERE a.challenge_id = $5 AND a.proof_ok"
    "     AND a.public_key <> decode($2, 'hex')),"
    " EXISTS (SELECT 1 FROM blocklist b"
    "          WHERE b.kind = 'device_key' AND b.value = $2),"
    " EXISTS (SELECT 1 FROM blocklist b"
    "          WHERE b.kind = 'install_id' AND b.value = $3),"
    " EXISTS (SELECT 1 FROM blocklist b"
    "          WHERE b.kind = 'address' AND b.value IN ($4, $6)),"
    " (SELECT e.applicant->>'residence_country' FROM enrolments e"
    "   WHERE e.id = $1)" },
  { "risk_record",
    "INSERT INTO risk_decisions (enrolment_id, device_id, challenge_id,"
    "                            score, decision, reasons, signals,"
    "                            ruleset_version, input_hash, inputs)"
    " VALUES ($1, $2, $3, $4::integer, $5, $6::jsonb, $7::jsonb, $8, $9,"
    "         $10::jsonb)"
    " RETURNING id" },
  { "risk_blocklist_add",
    "INSERT INTO blocklist (kind, value, reason, created_by)"
    " VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (kind, value) DO NOTHING"
    " RETURNING kind" },
  /* $1 device, $2 with address (boolean), $3 reason, $4 by */
  { "risk_blocklist_device",
    "INSERT INTO blocklist (kind, value, reason, created_by)"
    " SELECT v.kind, v.value, $3, $4"
    "   FROM devices d,"
    "        LATERAL (VALUES ('device_key', encode(d.public_key, 'hex')),"
    "                        ('install_id', d.install_id),"
    "                        ('address', CASE WHEN $2::boolean"
    "                                         THEN d.client_addr END))"
    "          AS v (kind, value)"
    "  WHERE d.id = $1 AND v.value IS NOT NULL AND v.value <> ''"
    " ON CONFLICT (kind, value) DO NOTHING"
    " RETURNING kind" },
  { NULL, NULL }
};

void
risk_register_statements (void)
{
  core_db_register (risk_stmts);
}

/* ============================================================ history */

static long
count_at (const PGresult *res, int col)
{
  const char *v = core_db_value (res, 0, col);

  return (NULL == v) ? 0 : strtol (v, NULL, 10);
}

static bool
true_at (const PGresult *res, int col)
{
  const char *v = core_db_value (res, 0, col);

  return NULL != v && 't' == v[0];
}

static void
read_history (const PGresult *res, struct risk_history *h)
{
  const char *residence = core_db_value (res, 0, H_RESIDENCE);

  h->bound_elsewhere = count_at (res, H_BOUND);
  h->address_1h = count_at (res, H_ADDR_1H);
  h->device_1h = count_at (res, H_DEVICE_1H);
  h->qr_other_keys = count_at (res, H_QR_KEYS);
  h->blocked_key = true_at (res, H_BLK_KEY);
  h->blocked_install_id = true_at (res, H_BLK_INSTALL);
  h->blocked_address = true_at (res, H_BLK_ADDR);
  if (NULL != residence && strlen (residence) < sizeof h->residence)
    memcpy (h->residence, residence, strlen (residence) + 1);
}

enum core_db_status
risk_db_history (struct core_db *db, const struct risk_input *in,
                 struct risk_history *h)
{
  char key[2 * RISK_DEVICE_KEY_LEN + 1];
  char canon[INET6_ADDRSTRLEN];
  const char *params[6];
  PGresult *res = NULL;
  enum core_db_status st;

  memset (h, 0, sizeof *h);
  core_hex_encode (in->device_key, RISK_DEVICE_KEY_LEN, key);
  (void) risk_addr_classify (in->phone_addr, canon, sizeof canon);
  params[0] = in->enrolment_id;
  params[1] = key;
  params[2] = in->device.install_id;
  params[3] = in->phone_addr;
  params[4] = in->challenge_id;
  params[5] = ('\0' != canon[0]) ? canon : NULL;
  st = core_db_exec (db, "risk_history", 6, params, &res);
  if (CORE_DB_ONE_ROW == st && H_COUNT == PQnfields (res))
    read_history (res, h);
  else if (CORE_DB_ONE_ROW == st)
    st = CORE_DB_HARD_ERROR;
  PQclear (res);
  return st;
}

/* ============================================================= record */

static enum core_db_status
record_exec (struct core_db *db, const char *const params[10], int64_t *id)
{
  PGresult *res = NULL;
  enum core_db_status st;

  st = core_db_exec (db, "risk_record", 10, params, &res);
  if (CORE_DB_ONE_ROW == st && NULL != id)
    *id = strtoll (core_db_value (res, 0, 0), NULL, 10);
  PQclear (res);
  return st;
}

enum core_db_status
risk_record (struct core_db *db, const struct risk_input *in,
             const char *device_id, const struct risk_result *r,
             int64_t *id)
{
  char score[16];
  char *reasons = json_dumps (r->reasons, JSON_COMPACT);
  char *signals = json_dumps (r->signals, JSON_COMPACT);
  char *inputs = json_dumps (r->inputs, JSON_COMPACT | JSON_SORT_KEYS
                             | JSON_ENSURE_ASCII);
  const char *params[10] = {
    in->enrolment_id, device_id, in->challenge_id, score,
    risk_decision_name (r->decision), reasons, signals, r->ruleset_version,
    r->input_hash, inputs
  };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  snprintf (score, sizeof score, "%d", r->score);
  if (NULL != reasons && NULL != signals && NULL != inputs)
    st = record_exec (db, params, id);
  else
    LOG_BUG ("risk_record: out of memory");
  free (reasons);
  free (signals);
  free (inputs);
  return st;
}

/* ========================================================== blocklist */

const char *
risk_block_kind_name (enum risk_block_kind kind)
{
  switch (kind)
    {
    case RISK_BLOCK_DEVICE_KEY: return "device_key";
    case RISK_BLOCK_INSTALL_ID: return "install_id";
    case RISK_BLOCK_ADDRESS: return "address";
    }
  return "unknown";
}

/* Canonical form of a blocklisted value into @a out. @return 0 or -1. */
static int
block_value (enum risk_block_kind kind, const char *value, char *out,
             size_t outlen)
{
  uint8_t key[RISK_DEVICE_KEY_LEN];
  enum risk_addr_class c;

  if (NULL == value || '\0' == *value || strlen (value) >= outlen)
    return -1;
  switch (kind)
    {
    case RISK_BLOCK_DEVICE_KEY:
      if (RISK_DEVICE_KEY_LEN != core_hex_decode (value, key, sizeof key)
          || 0x04 != key[0])
        return -1;
      core_hex_encode (key, sizeof key, out);
      return 0;
    case RISK_BLOCK_INSTALL_ID:
      memcpy (out, value, strlen (value) + 1);
      return 0;
    case RISK_BLOCK_ADDRESS:
      c = risk_addr_classify (value, out, outlen);
      return (RISK_ADDR_PUBLIC == c || RISK_ADDR_PRIVATE == c) ? 0 : -1;
    }
  return -1;
}

enum core_db_status
risk_blocklist_add (struct core_db *db, enum risk_block_kind kind,
                    const char *value, const char *reason, const char *by)
{
  char canon[512];
  const char *params[4] = { risk_block_kind_name (kind), canon, reason, by };

  if (0 != block_value (kind, value, canon, sizeof canon)
      || NULL == reason || NULL == by)
    {
      LOG_WARN ("risk_blocklist_add: malformed %s value refused",
                risk_block_kind_name (kind));
      return CORE_DB_HARD_ERROR;
    }
  return core_db_exec (db, "risk_blocklist_add", 4, params, NULL);
}

enum core_db_status
risk_blocklist_device (struct core_db *db, const char *device_id,
                       bool with_address, const char *reason,
                       const char *by)
{
  const char *params[4] = { device_id, with_address ? "true" : "false",
                            reason, by };

  return core_db_exec (db, "risk_blocklist_device", 4, params, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * assurance.c -- the customer's assurance code: six characters the
 * customer chooses (or is given) at enrolment and that end every message
 * the bank sends them and come with every payment to approve, so that a
 * message or a screen without it, or with another, is recognisably not
 * the bank's.
 *
 * A code is a shared secret between the customer and the bank, weaker
 * than a password but still one: it is stored sealed (AES-256-GCM under
 * the master key, associated data naming its row so it cannot be moved to
 * another customer), opened only to put it into the customer's own
 * message or pending transaction, and never logged, audited or put in a
 * URL.  The alphabet leaves out 0/O and 1/I so it is read back right.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core/audit.h"
#include "core/crypto.h"
#include "core/config.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "notify/notify_int.h"

/* ------------------------------------------------------------ the code */

bool
notify_code_normalise (const char *in, char out[NOTIFY_CODE_LEN + 1])
{
  char c[NOTIFY_CODE_LEN + 1];
  bool ok = NULL != in && NOTIFY_CODE_LEN == strlen (in);

  for (size_t i = 0; ok && i < NOTIFY_CODE_LEN; i++)
  {
    c[i] = (in[i] >= 'a' && in[i] <= 'z') ? (char) (in[i] - 'a' + 'A')
           : in[i];
    ok = NULL != strchr (NOTIFY_CODE_ALPHABET, c[i]);
  }
  c[NOTIFY_CODE_LEN] = '\0';
  /* @a in and @a out may be the same buffer */
  if (ok)
    memcpy (out, c, sizeof c);
  else
    out[0] = '\0';
  OPENSSL_cleanse (c, sizeof c);
  return ok;
}

int
notify_code_draw (char out[NOTIFY_CODE_LEN + 1])
{
  uint8_t raw[NOTIFY_CODE_LEN];

  /* 32 letters: the low five bits of a random byte are uniform over them */
  if (0 != core_random (raw, sizeof raw))
    return -1;
  for (size_t i = 0; i < NOTIFY_CODE_LEN; i++)
    out[i] = NOTIFY_CODE_ALPHABET[raw[i] & 31];
  out[NOTIFY_CODE_LEN] = '\0';
  OPENSSL_cleanse (raw, sizeof raw);
  return 0;
}

static void
code_aad (char *aad, size_t len, const char *owner, const char *id)
{
  snprintf (aad, len, "assurance:%s:%s", owner, id);
}

char *
notify_code_seal_param (const char *code, const char *owner, const char *id)
{
  char aad[128];
  uint8_t *env = NULL;
  size_t envlen = 0;
  char *hex = NULL;

  code_aad (aad, sizeof aad, owner, id);
  if (0 == core_seal (code, strlen (code), aad, &env, &envlen)
      && NULL != (hex = malloc (2 * envlen + 3)))
  {
    hex[0] = '\\';
    hex[1] = 'x';
    core_hex_encode (env, envlen, hex + 2);
  }
  free (env);
  return hex;
}

int
notify_code_open_hex (const char *hex, const char *owner, const char *id,
                      char out[NOTIFY_CODE_LEN + 1])
{
  char aad[128];
  size_t n = NULL != hex ? strlen (hex) / 2 : 0;
  uint8_t *env = NULL, *plain = NULL;
  size_t plen = 0;
  int rc = -1;

  out[0] = '\0';
  if (0 == n || NULL == (env = malloc (n)))
    return -1;
  code_aad (aad, sizeof aad, owner, id);
  if ((long) n == core_hex_decode (hex, env, n)
      && 0 == core_open (env, n, aad, &plain, &plen)
      && NOTIFY_CODE_LEN == plen)
  {
    memcpy (out, plain, NOTIFY_CODE_LEN);
    out[NOTIFY_CODE_LEN] = '\0';
    rc = notify_code_normalise (out, out) ? 0 : -1;
  }
  core_free_secret (plain, plen);
  free (env);
  return rc;
}

/* ------------------------------------------------------------ contacts */

/* Seal @a code for customer @a id and store it with @a stmt. */
static enum core_db_status
store_code (struct core_db *db, const char *stmt, const char *id,
            const char *code, const char *set_by)
{
  char *sealed = notify_code_seal_param (code, "customer", id);
  const char *p[3] = { id, sealed, set_by };
  enum core_db_status st;

  if (NULL == sealed)
    return CORE_DB_HARD_ERROR;
  st = core_db_exec (db, stmt, NULL != set_by ? 3 : 2, p, NULL);
  free (sealed);
  return st;
}

enum core_db_status
notify_contact_tx (struct core_db *db, const struct notify_contact *c,
                   bool *created, char drawn[NOTIFY_CODE_LEN + 1])
{
  const char *p[3] = { c->customer_id, c->email,
                       NULL != c->lang ? c->lang : "en" };
  char code[NOTIFY_CODE_LEN + 1];
  enum core_db_status st;

  *created = false;
  drawn[0] = '\0';
  st = core_db_exec (db, "notify_contact_insert", 3, p, NULL);
  if (st < 0)
    return st;
  *created = CORE_DB_ONE_ROW == st;
  if (NULL != c->code)
    return store_code (db, "notify_code_set", c->customer_id, c->code,
                       "applicant");
  if (0 != notify_code_draw (code))
    return CORE_DB_HARD_ERROR;
  st = store_code (db, "notify_code_set_if_none", c->customer_id, code, NULL);
  if (CORE_DB_ONE_ROW == st)
    memcpy (drawn, code, sizeof code);
  OPENSSL_cleanse (code, sizeof code);
  return st < 0 ? st : CORE_DB_ONE_ROW;
}

enum core_db_status
notify_code_set_tx (struct core_db *db, const char *customer_id,
                    const char *code, const char *set_by)
{
  const char *p[1] = { customer_id };
  enum core_db_status st;

  st = core_db_exec (db, "notify_contact_ensure", 1, p, NULL);
  if (st < 0)
    return st;
  st = store_code (db, "notify_code_set", customer_id, code, set_by);
  if (CORE_DB_ONE_ROW != st)
    return st;
  st = notify_mail_customer_tx (db, customer_id, NOTIFY_CODE_CHANGED,
                                json_pack ("{s:s}", "by", set_by));
  return st < 0 ? st : CORE_DB_ONE_ROW;
}

enum core_err
notify_code_get (struct core_db *db, const char *customer_id,
                 char out[NOTIFY_CODE_LEN + 1])
{
  const char *p[1] = { customer_id };
  PGresult *r = NULL;
  enum core_db_status st;
  enum core_err err = CORE_ERR_NOT_FOUND;

  out[0] = '\0';
  st = core_db_exec (db, "notify_code_get", 1, p, &r);
  if (st < 0)
    return notify_db_err (db);
  if (CORE_DB_ONE_ROW == st)
    err = 0 == notify_code_open_hex (PQgetvalue (r, 0, 0), "customer",
                                     customer_id, out)
          ? CORE_OK : CORE_ERR_INTERNAL;
  if (CORE_ERR_INTERNAL == err)
    LOG_ERROR ("the assurance code of customer %s does not open",
               customer_id);
  PQclear (r);
  return err;
}

/* ------------------------------------------------------------ staff */

struct staff_tx {
  const char *customer_id;
  const char *code;
  const char *actor;
  bool drawn;
  bool found;
  unsigned int rate_wait;    /* > 0: refused by the rate limit */
};

static enum core_db_status
staff_tx_run (struct core_db *db, void *cls)
{
  struct staff_tx *t = cls;
  const char *p[1] = { t->customer_id };
  enum core_db_status st;

  t->found = false;
  t->rate_wait = 0;
  st = core_db_exec (db, "notify_customer_exists", 1, p, NULL);
  if (CORE_DB_ONE_ROW != st)
    return st;
  t->found = true;
  /* The phone's limit too: each change e-mails the customer, whoever
     makes it, and a support account must not fill their mailbox either.
     A refused change commits its count alone. */
  st = core_rate_take (db, "assurance_code_customer", t->customer_id,
                       &core_cfg->rate_assurance_code_per_customer,
                       &t->rate_wait);
  if (st < 0 || t->rate_wait > 0)
    return st < 0 ? st : CORE_DB_ONE_ROW;
  st = notify_code_set_tx (db, t->customer_id, t->code, "staff");
  if (CORE_DB_ONE_ROW != st)
    return st < 0 ? st : CORE_DB_HARD_ERROR;
  /* who and whether the customer chose it; never the code */
  return core_audit_append (db, t->actor, "customer.assurance_code_change",
                            t->customer_id,
                            json_pack ("{s:b}", "drawn", t->drawn));
}

enum core_err
notify_admin_code_change (struct core_db *db, const char *customer_id,
                          const char *code, const char *actor,
                          unsigned int *retry_after)
{
  char drawn[NOTIFY_CODE_LEN + 1];
  struct staff_tx t = { .customer_id = customer_id, .actor = actor,
                        .drawn = NULL == code };
  enum core_db_status st;

  if (0 != notify_code_draw (drawn))
    return CORE_ERR_INTERNAL;
  t.code = NULL != code ? code : drawn;
  st = core_db_tx (db, false, &staff_tx_run, &t);
  OPENSSL_cleanse (drawn, sizeof drawn);
  if (st < 0)
    return notify_db_err (db);
  if (! t.found)
    return CORE_ERR_NOT_FOUND;
  *retry_after = t.rate_wait;
  if (t.rate_wait > 0)
    return CORE_ERR_RATE_LIMITED;
  LOG_INFO ("assurance code of customer %s changed by %s", customer_id,
            actor);
  return CORE_OK;
}

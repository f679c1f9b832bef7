/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tokens.c -- importing a vendor's PSKC file into the hardware token
 * inventory, and listing the inventory.
 *
 * An import reads and judges the whole file first (authn/pskc.c: every
 * ValueMAC before any decryption), then seals each accepted secret under
 * "token:<id>" -- outside the transaction, so a retried transaction does
 * not redo the crypto -- and writes everything in one transaction: the
 * import row, the tokens a thousand per statement (progress logged per
 * thousand), the counts, and the audit row.  Without partial mode one
 * rejected key means nothing is written.  The clear secrets live in the
 * read file's keys only, cleansed when it is freed; the log gets counts
 * and the rate, never a secret.
 *
 * The parsed tree of a large file is hundreds of megabytes: one import
 * runs at a time in a process (another is answered "busy" at once rather
 * than queued on a worker), and the memory goes back to the system when
 * it ends -- glibc keeps freed memory in the arena of the thread that
 * used it, so every worker would otherwise keep its largest import.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "authn/authn_db.h"
#include "authn/pskc.h"
#include "authn/tokens.h"
#include "authn/tokens_db.h"
#include "core/audit.h"
#include "core/crypto.h"
#include "core/log.h"

#define BATCH 1000

static pthread_mutex_t importing = PTHREAD_MUTEX_INITIALIZER;

static const char *const states[] = {
  "in_stock", "assigned", "active", "lost", "revoked"
};

/* Everything one import transaction writes. */
struct import_tx {
  const struct authn_tokens_import_req *req;
  struct tokens_db_import row;
  char **batches;            /* JSON arrays of rows, BATCH rows each */
  size_t nbatches;
  unsigned long importable;
  unsigned long inserted;    /* out */
};

static double
since (const struct timespec *t0)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) (t.tv_sec - t0->tv_sec)
         + (double) (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---------------------------------------------------------- the file */

/* Refuse the file with @a reason.  @return @a err */
static enum core_err
refuse (struct authn_tokens_import_res *res, enum core_err err,
        const char *reason, const char *message)
{
  res->reason = reason;
  res->message = message;
  return err;
}

/* The pre-shared key or the password.  @return CORE_OK or BAD_REQUEST. */
static enum core_err
unlock_of (const struct authn_tokens_import_req *req, uint8_t key[32],
           struct authn_pskc_unlock *u, struct authn_tokens_import_res *res)
{
  long n;

  memset (u, 0, sizeof *u);
  if (req->key_hex != NULL && req->password != NULL)
    return refuse (res, CORE_ERR_BAD_REQUEST, "key_and_password",
                   "give the pre-shared key or the password, not both");
  u->password = req->password;
  if (req->key_hex == NULL)
    return CORE_OK;
  n = core_hex_decode (req->key_hex, key, 32);
  if (n != 16 && n != 24 && n != 32)
    return refuse (res, CORE_ERR_BAD_REQUEST, "bad_key",
                   "the pre-shared key must be 32, 48 or 64 hex digits "
                   "(AES-128, -192 or -256)");
  u->key = key;
  u->key_len = (size_t) n;
  return CORE_OK;
}

static enum core_err
status_err (enum authn_pskc_status st)
{
  switch (st)
    {
    case AUTHN_PSKC_OK:
      return CORE_OK;
    case AUTHN_PSKC_MALFORMED:
    case AUTHN_PSKC_KEY_REQUIRED:
      return CORE_ERR_BAD_REQUEST;
    case AUTHN_PSKC_NOMEM:
      return CORE_ERR_INTERNAL;
    default:
      return CORE_ERR_POLICY_REFUSED;
    }
}

/* [{"serial", "reason", "key_package"}] of the refused keys. */
static json_t *
rejected_of (const struct authn_pskc *p)
{
  json_t *a = json_array ();

  for (size_t i = 0; a != NULL && i < p->nkeys; i++)
    {
      const struct authn_pskc_key *k = &p->keys[i];

      if (k->reject == NULL)
        continue;
      if (json_array_append_new (a, json_pack ("{s:s?, s:s, s:I}", "serial",
                                               k->serial, "reason", k->reject,
                                               "key_package",
                                               (json_int_t) k->position)) != 0)
        {
          json_decref (a);
          return NULL;
        }
    }
  return a;
}

/* ----------------------------------------------------------- sealing */

static json_t *
opt_time (time_t t)
{
  return t != 0 ? json_integer ((json_int_t) t) : json_null ();
}

/* One row of tokens_db_insert_batch, with the secret sealed. */
static json_t *
row_of (const struct authn_pskc_key *k)
{
  char *id = core_random_id ("tok");
  char aad[sizeof "token:" + AUTHN_ID_MAX];
  uint8_t *env = NULL;
  size_t env_len = 0;
  char *hex = NULL;
  json_t *row = NULL;

  if (id == NULL || strlen (id) >= AUTHN_ID_MAX)
    goto done;
  snprintf (aad, sizeof aad, "token:%s", id);
  if (core_seal (k->secret, k->secret_len, aad, &env, &env_len) != 0
      || (hex = malloc (2 * env_len + 1)) == NULL)
    goto done;
  core_hex_encode (env, env_len, hex);
  row = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:I, s:i, s:s,"
                   " s:o, s:o}", "id", id, "serial", k->serial,
                   "manufacturer", k->manufacturer,
                   "otp_type", authn_otp_type_name (k->otp.type),
                   "algorithm", authn_otp_alg_name (k->otp.alg),
                   "digits", (int) k->otp.digits,
                   "period", k->otp.type == AUTHN_OTP_TOTP
                             ? json_integer (k->otp.period) : json_null (),
                   "counter", (json_int_t) k->counter, "drift", k->drift,
                   "seed", hex, "valid_from", opt_time (k->valid_from),
                   "valid_until", opt_time (k->valid_until));
done:
  free (id);
  free (env);
  free (hex);
  return row;
}

/* Close the current batch: its JSON text joins t->batches. */
static int
flush (struct import_tx *t, json_t **batch)
{
  char *text = json_dumps (*batch, JSON_COMPACT);

  json_decref (*batch);
  *batch = NULL;
  if (text == NULL)
    return -1;
  t->batches[t->nbatches++] = text;
  return 0;
}

/* Seal the accepted keys into JSON batches of BATCH rows.
   @return 0, or -1 (sealing or memory failed: our problem, logged). */
static int
seal_batches (const struct authn_pskc *p, struct import_tx *t)
{
  json_t *batch = NULL;
  int rc = -1;

  t->batches = calloc (p->nkeys / BATCH + 2, sizeof *t->batches);
  if (t->batches == NULL)
    goto done;
  for (size_t i = 0; i < p->nkeys; i++)
    {
      if (p->keys[i].reject != NULL)
        continue;
      if (batch == NULL && (batch = json_array ()) == NULL)
        goto done;
      if (json_array_append_new (batch, row_of (&p->keys[i])) != 0)
        goto done;
      t->importable++;
      if (json_array_size (batch) == BATCH && flush (t, &batch) != 0)
        goto done;
    }
  if (batch != NULL && flush (t, &batch) != 0)
    goto done;
  rc = 0;
done:
  json_decref (batch);
  if (rc != 0)
    LOG_ERROR ("token import: sealing the secrets failed");
  return rc;
}

static void
batches_free (struct import_tx *t)
{
  for (size_t i = 0; i < t->nbatches; i++)
    free (t->batches[i]);
  free (t->batches);
}

/* ------------------------------------------------------- transaction */

static json_t *
audit_details (const struct import_tx *t, size_t rejected)
{
  return json_pack ("{s:s, s:s, s:b, s:I, s:I, s:I, s:I}",
                    "file_sha256", t->row.file_sha256,
                    "encryption", t->row.encryption, "partial",
                    t->row.partial, "key_packages",
                    (json_int_t) t->row.key_packages, "imported",
                    (json_int_t) t->inserted, "duplicates",
                    (json_int_t) (t->importable - t->inserted), "rejected",
                    (json_int_t) rejected);
}

static enum core_db_status
import_tx_run (struct core_db *db, void *cls)
{
  struct import_tx *t = cls;
  enum core_db_status st = tokens_db_import_open (db, &t->row);
  unsigned long n;

  t->inserted = 0;
  for (size_t i = 0; st >= 0 && i < t->nbatches; i++)
    {
      st = tokens_db_insert_batch (db, t->row.id, t->batches[i], &n);
      t->inserted += n;
      LOG_INFO ("token import %s: %lu of %lu keys written", t->row.id,
                (unsigned long) ((i + 1) * BATCH < t->importable
                                 ? (i + 1) * BATCH : t->importable),
                t->importable);
    }
  if (st >= 0)
    st = tokens_db_import_close (db, t->row.id, t->inserted,
                                 t->importable - t->inserted);
  if (st >= 0)
    st = core_audit_append (db, t->req->actor, "tokens.import", t->row.id,
                            audit_details (t, t->row.key_packages
                                              - t->importable));
  return st;
}

/* Write the accepted keys.  @return CORE_OK or a database error. */
static enum core_err
write_all (struct core_db *db, const struct authn_pskc *p,
           struct import_tx *t, struct authn_tokens_import_res *res)
{
  enum core_db_status st;
  char *rejected = json_dumps (res->rejected, JSON_COMPACT);

  t->row.rejected_json = rejected;
  if (rejected == NULL || seal_batches (p, t) != 0)
    {
      free (rejected);
      return CORE_ERR_INTERNAL;
    }
  st = core_db_tx (db, false, &import_tx_run, t);
  free (rejected);
  if (st < 0)
    return authn_db_err (db);
  res->imported = t->inserted;
  res->duplicates = t->importable - t->inserted;
  snprintf (res->batch, sizeof res->batch, "%s", t->row.id);
  return CORE_OK;
}

/* Judge the read file and write it.  @return as authn_tokens_import. */
static enum core_err
import_read (struct core_db *db, const struct authn_tokens_import_req *req,
             const struct authn_pskc *p, enum authn_pskc_status st,
             struct authn_tokens_import_res *res)
{
  char sha[65];
  struct import_tx t = { .req = req };
  enum core_err err;

  res->key_packages = p->nkeys;
  if ((res->rejected = rejected_of (p)) == NULL)
    return CORE_ERR_INTERNAL;
  if (st != AUTHN_PSKC_OK)
    return refuse (res, status_err (st), authn_pskc_status_reason (st),
                   authn_pskc_status_message (st));
  if (!req->partial && json_array_size (res->rejected) > 0)
    return refuse (res, CORE_ERR_POLICY_REFUSED, "keys_rejected",
                   "some keys were refused (see rejected): nothing was "
                   "imported; send ?partial=1 to import the others");
  core_sha256_hex (req->xml, req->len, sha);
  t.row = (struct tokens_db_import) {
    .id = NULL, .actor = req->actor, .file_sha256 = sha,
    .encryption = !p->encrypted ? "none" : req->password != NULL
                  ? "password" : "key",
    .partial = req->partial, .key_packages = p->nkeys,
  };
  if ((t.row.id = core_random_id ("imp")) == NULL)
    return CORE_ERR_INTERNAL;
  err = write_all (db, p, &t, res);
  free ((char *) t.row.id);
  batches_free (&t);
  return err;
}

/* A refused file changes nothing, but an altered or mis-keyed file is
   worth a trace: audited in a transaction of its own. */
static void
audit_refusal (struct core_db *db, const struct authn_tokens_import_req *req,
               const struct authn_pskc *p,
               const struct authn_tokens_import_res *res)
{
  char sha[65];

  LOG_INFO ("token import by %s refused: %s", req->actor, res->reason);
  core_sha256_hex (req->xml, req->len, sha);
  if (core_audit_record (db, req->actor, "tokens.import_refused", NULL,
                         json_pack ("{s:s, s:s, s:I, s:I}", "reason",
                                    res->reason, "file_sha256", sha,
                                    "key_packages",
                                    (json_int_t) (p != NULL ? p->nkeys : 0),
                                    "rejected",
                                    (json_int_t) json_array_size
                                      (res->rejected))) != CORE_OK)
    LOG_WARN ("token import by %s: the refusal could not be audited",
              req->actor);
}

enum core_err
authn_tokens_import (struct core_db *db,
                     const struct authn_tokens_import_req *req,
                     struct authn_tokens_import_res *res)
{
  struct timespec t0;
  struct authn_pskc_unlock u;
  struct authn_pskc *p = NULL;
  enum authn_pskc_status st;
  uint8_t key[32];
  enum core_err err;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  memset (res, 0, sizeof *res);
  if (pthread_mutex_trylock (&importing) != 0)
    return refuse (res, CORE_ERR_RATE_LIMITED, "import_running",
                   "another import is running on this server: try again "
                   "when it has ended");
  err = unlock_of (req, key, &u, res);
  if (err != CORE_OK)
    goto done;
  st = authn_pskc_read (req->xml, req->len, &u, time (NULL), &p);
  if (p == NULL)
    err = refuse (res, status_err (st), authn_pskc_status_reason (st),
                  authn_pskc_status_message (st));
  else
    err = import_read (db, req, p, st, res);
  res->seconds = since (&t0);
  if (err == CORE_OK)
    LOG_INFO ("token import %s by %s: %lu imported, %lu duplicates, %zu "
              "rejected of %lu in %.2f s (%.0f keys/s)", res->batch,
              req->actor, res->imported, res->duplicates,
              json_array_size (res->rejected), res->key_packages,
              res->seconds, (double) res->key_packages
                            / (res->seconds > 0 ? res->seconds : 1e-9));
  else if (res->reason != NULL)
    audit_refusal (db, req, p, res);
done:
  OPENSSL_cleanse (key, sizeof key);
  authn_pskc_free (p);
  malloc_trim (0);
  pthread_mutex_unlock (&importing);
  return err;
}

void
authn_tokens_import_res_clear (struct authn_tokens_import_res *res)
{
  if (res->rejected != NULL)
    json_decref (res->rejected);
  res->rejected = NULL;
}

/* ------------------------------------------------------------------ list */

static bool
state_known (const char *s)
{
  for (size_t i = 0; i < sizeof states / sizeof *states; i++)
    if (strcmp (s, states[i]) == 0)
      return true;
  return false;
}

enum core_err
authn_tokens_list (struct core_db *db, const struct authn_tokens_filter *f,
                   json_t **out)
{
  json_t *tokens = NULL;
  long long total = 0;
  enum core_db_status st;

  *out = NULL;
  if ((f->state != NULL && !state_known (f->state))
      || (f->serial != NULL && strlen (f->serial) > AUTHN_PSKC_SERIAL_MAX)
      || f->limit < 1 || f->limit > AUTHN_TOKENS_LIST_MAX || f->offset < 0)
    return CORE_ERR_BAD_REQUEST;
  st = tokens_db_list (db, f->state, f->serial, f->limit, f->offset, &tokens,
                       &total);
  if (st < 0)
    return authn_db_err (db);
  *out = json_pack ("{s:o, s:I}", "tokens", tokens, "total",
                    (json_int_t) total);
  return *out != NULL ? CORE_OK : CORE_ERR_INTERNAL;
}

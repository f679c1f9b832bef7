/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * audit.c -- the hash-chained audit log (see audit.h for the hash).
 *
 * An append takes a transaction-scoped advisory lock, then reads the chain
 * head, the next id and the clock in one statement, computes the row's
 * hash here and inserts it: three round trips, inside the caller's
 * transaction, so an audit row exists exactly when the change it records
 * committed.  Verify walks the table by keyset pages and recomputes every
 * hash; it re-canonicalises the stored jsonb, which keeps numbers and
 * strings as written, so the text hashed at append is the text hashed at
 * verify.  The database refuses UPDATE and DELETE (0006_backoffice.sql):
 * this file only ever inserts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/log.h"

/* "guichet-audit" folded into 63 bits: the same key in every process. */
#define AUDIT_LOCK_KEY "7020589218431125101"
#define WALK_BATCH "1000"
#define AT_FORMAT "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"

static const struct core_db_stmt audit_stmts[] = {
  { "audit_lock", "SELECT pg_advisory_xact_lock(" AUDIT_LOCK_KEY ")" },
  /* After the lock: the next id, the time, the head's hash (NULL when
     the log is empty). */
  { "audit_head",
    "SELECT nextval('audit_log_id_seq'),"
    " to_char(clock_timestamp() AT TIME ZONE 'UTC', " AT_FORMAT "),"
    " (SELECT encode(hash, 'hex') FROM audit_log ORDER BY id DESC LIMIT 1)" },
  { "audit_insert",
    "INSERT INTO audit_log (id, at, actor, action, target, details,"
    "                       prev_hash, hash)"
    " VALUES ($1::bigint, $2::timestamptz, $3, $4, $5, $6::jsonb,"
    "         decode($7, 'hex'), decode($8, 'hex'))" },
  { "audit_walk",
    "SELECT id, to_char(at AT TIME ZONE 'UTC', " AT_FORMAT "), actor,"
    " action, target, details::text, encode(prev_hash, 'hex'),"
    " encode(hash, 'hex')"
    " FROM audit_log WHERE id > $1::bigint ORDER BY id LIMIT " WALK_BATCH },
  /* $1 actor, $2 action, $3 target, $4 since, $5 before id, $6 limit,
     $7 until (rows before it) */
  { "audit_list",
    "SELECT id, to_char(at AT TIME ZONE 'UTC', " AT_FORMAT "), actor,"
    " action, target, details::text, encode(hash, 'hex')"
    " FROM audit_log"
    " WHERE ($1::text IS NULL OR actor = $1)"
    "   AND ($2::text IS NULL OR action = $2)"
    "   AND ($3::text IS NULL OR target = $3)"
    "   AND ($4::timestamptz IS NULL OR at >= $4::timestamptz)"
    "   AND ($5::bigint IS NULL OR id < $5::bigint)"
    "   AND ($7::timestamptz IS NULL OR at < $7::timestamptz)"
    " ORDER BY id DESC LIMIT $6::integer" },
  { NULL, NULL }
};

void
core_audit_register_statements (void)
{
  core_db_register (audit_stmts);
}

/* ============================================================ hashing */

char *
core_audit_canonical (const json_t *details)
{
  return json_dumps (details, JSON_COMPACT | JSON_SORT_KEYS
                     | JSON_ENSURE_ASCII);
}

void
core_audit_hash (const uint8_t prev[CORE_SHA256_LEN], const char *id,
                 const char *at, const char *actor, const char *action,
                 const char *target, const char *details_canon,
                 uint8_t out[CORE_SHA256_LEN])
{
  const char *parts[6] = { id, at, actor, action, target, details_canon };
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);

  memset (out, 0, CORE_SHA256_LEN);
  if (NULL == f)
    return;
  fwrite (prev, 1, CORE_SHA256_LEN, f);
  for (size_t i = 0; i < 6; i++)
    fprintf (f, "%zu:%s,", strlen (parts[i]), parts[i]);
  if (0 == fclose (f))
    core_sha256 (buf, len, out);
  free (buf);
}

/* ============================================================ append */

static bool
action_ok (const char *a)
{
  bool word_start = true;

  if (NULL == a || '\0' == *a)
    return false;
  for (; '\0' != *a; a++)
  {
    bool lower = *a >= 'a' && *a <= 'z';
    bool other = (*a >= '0' && *a <= '9') || '_' == *a;

    if ('.' == *a && ! word_start)
      word_start = true;
    else if (lower || (other && ! word_start))
      word_start = false;
    else
      return false;
  }
  return ! word_start;
}

/* The row as it will be inserted. */
struct audit_row {
  char id[24];
  char at[40];
  uint8_t prev[CORE_SHA256_LEN];
};

/* Lock the chain and read its head. */
static enum core_db_status
read_head (struct core_db *db, struct audit_row *row)
{
  PGresult *r = NULL;
  const char *head;
  enum core_db_status st;

  st = core_db_exec (db, "audit_lock", 0, NULL, NULL);
  if (st < 0)
    return st;
  st = core_db_exec (db, "audit_head", 0, NULL, &r);
  if (CORE_DB_ONE_ROW == st)
  {
    snprintf (row->id, sizeof row->id, "%s", PQgetvalue (r, 0, 0));
    snprintf (row->at, sizeof row->at, "%s", PQgetvalue (r, 0, 1));
    head = core_db_value (r, 0, 2);
    memset (row->prev, 0, sizeof row->prev);
    if (NULL != head
        && CORE_SHA256_LEN != core_hex_decode (head, row->prev,
                                               sizeof row->prev))
      st = CORE_DB_HARD_ERROR;
  }
  else if (st >= 0)
    st = CORE_DB_HARD_ERROR;
  PQclear (r);
  return st;
}

static enum core_db_status
insert_row (struct core_db *db, const struct audit_row *row,
            const char *actor, const char *action, const char *target,
            const char *canon)
{
  uint8_t hash[CORE_SHA256_LEN];
  char prev_hex[2 * CORE_SHA256_LEN + 1];
  char hash_hex[2 * CORE_SHA256_LEN + 1];
  const char *p[8] = { row->id, row->at, actor, action, target, canon,
                       prev_hex, hash_hex };

  core_audit_hash (row->prev, row->id, row->at, actor, action, target, canon,
                   hash);
  core_hex_encode (row->prev, sizeof row->prev, prev_hex);
  core_hex_encode (hash, sizeof hash, hash_hex);
  return core_db_exec (db, "audit_insert", 8, p, NULL);
}

enum core_db_status
core_audit_append (struct core_db *db, const char *actor, const char *action,
                   const char *target, json_t *details)
{
  struct audit_row row;
  char *canon = NULL;
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (NULL == details)
    details = json_object ();
  if (NULL == actor || '\0' == *actor || ! action_ok (action)
      || ! json_is_object (details))
  {
    LOG_BUG ("core_audit_append: bad actor, action or details (%s)",
             NULL != action ? action : "-");
    goto cleanup;
  }
  if (NULL == (canon = core_audit_canonical (details)))
    goto cleanup;
  st = read_head (db, &row);
  if (st >= 0)
    st = insert_row (db, &row, actor, action, NULL != target ? target : "",
                     canon);
  if (CORE_DB_NO_ROW == st)
    st = CORE_DB_HARD_ERROR;
cleanup:
  free (canon);
  json_decref (details);
  return st;
}

struct record_tx {
  const char *actor, *action, *target;
  json_t *details;
};

static enum core_db_status
record_tx_run (struct core_db *db, void *cls)
{
  struct record_tx *t = cls;

  return core_audit_append (db, t->actor, t->action, t->target,
                            json_incref (t->details));
}

enum core_err
core_audit_record (struct core_db *db, const char *actor, const char *action,
                   const char *target, json_t *details)
{
  struct record_tx t = { actor, action, target,
                         NULL != details ? details : json_object () };
  enum core_db_status st;

  st = (NULL == db) ? CORE_DB_HARD_ERROR
       : core_db_tx (db, false, &record_tx_run, &t);
  json_decref (t.details);
  if (st >= 0)
    return CORE_OK;
  return (NULL == db || ! core_db_alive (db, false))
         ? CORE_ERR_DATABASE_UNAVAILABLE : CORE_ERR_INTERNAL;
}

/* ============================================================ verify */

struct walk {
  uint8_t prev[CORE_SHA256_LEN];
  long long rows;
  long long last_id;
  long long broken;
  const struct core_audit_anchor *anchor;
  bool anchor_seen;
  char *reason;
  size_t reason_len;
};

/* Check row @a i of @a r against the chain so far.  @return true if it
   verifies (and becomes the head). */
static bool
check_row (struct walk *w, const PGresult *r, int i)
{
  uint8_t prev[CORE_SHA256_LEN], hash[CORE_SHA256_LEN], want[CORE_SHA256_LEN];
  json_t *details = json_loads (PQgetvalue (r, i, 5), 0, NULL);
  char *canon = (NULL != details) ? core_audit_canonical (details) : NULL;
  const char *why = NULL;

  if (CORE_SHA256_LEN != core_hex_decode (PQgetvalue (r, i, 6), prev,
                                          sizeof prev)
      || CORE_SHA256_LEN != core_hex_decode (PQgetvalue (r, i, 7), hash,
                                             sizeof hash))
    why = "prev_hash or hash is not 32 bytes";
  else if (! core_ct_equal (prev, sizeof prev, w->prev, sizeof w->prev))
    why = "prev_hash is not the hash of the row before it "
          "(a row was removed, inserted or re-chained)";
  else if (NULL == canon)
    why = "details cannot be read back";
  else
  {
    core_audit_hash (prev, PQgetvalue (r, i, 0), PQgetvalue (r, i, 1),
                     PQgetvalue (r, i, 2), PQgetvalue (r, i, 3),
                     PQgetvalue (r, i, 4), canon, want);
    if (! core_ct_equal (want, sizeof want, hash, sizeof hash))
      why = "hash does not match the row's content (the row was altered)";
  }
  free (canon);
  json_decref (details);
  if (NULL == why && NULL != w->anchor && w->anchor->id == w->last_id)
  {
    w->anchor_seen = true;
    if (! core_ct_equal (hash, sizeof hash, w->anchor->hash,
                         sizeof w->anchor->hash))
      why = "the anchored row has another hash (the chain was rebuilt)";
  }
  if (NULL != why)
  {
    snprintf (w->reason, w->reason_len, "%s", why);
    return false;
  }
  memcpy (w->prev, hash, sizeof hash);
  return true;
}

/* One page after w->last_id.  @return rows read, or -1. */
static int
walk_page (struct core_db *db, struct walk *w)
{
  char after[24];
  const char *p[1] = { after };
  PGresult *r = NULL;
  enum core_db_status st;
  int n;

  snprintf (after, sizeof after, "%lld", w->last_id);
  st = core_db_exec (db, "audit_walk", 1, p, &r);
  if (st < 0)
    return -1;
  n = PQntuples (r);
  for (int i = 0; i < n && 0 == w->broken; i++)
  {
    w->rows++;
    w->last_id = strtoll (PQgetvalue (r, i, 0), NULL, 10);
    if (! check_row (w, r, i))
      w->broken = w->last_id;
  }
  PQclear (r);
  return n;
}

int
core_audit_verify (struct core_db *db, const struct core_audit_anchor *anchor,
                   struct core_audit_anchor *head, long long *rows,
                   long long *first_broken, char *reason, size_t reason_len)
{
  struct walk w = { .reason = reason, .reason_len = reason_len,
                    .anchor = (NULL != anchor && anchor->id > 0)
                              ? anchor : NULL };
  int n;

  memset (w.prev, 0, sizeof w.prev);
  memset (head, 0, sizeof *head);
  *first_broken = 0;
  if (reason_len > 0)
    reason[0] = '\0';
  do
    n = walk_page (db, &w);
  while (n > 0 && 0 == w.broken);
  *rows = w.rows;
  if (n < 0)
  {
    snprintf (reason, reason_len, "the database could not be read");
    return -1;
  }
  if (0 == w.broken && NULL != w.anchor && ! w.anchor_seen)
  {
    w.broken = w.anchor->id;
    snprintf (reason, reason_len, "the anchored row is gone (%s)",
              w.last_id < w.anchor->id ? "the newest rows were removed"
                                       : "the chain was rebuilt without it");
  }
  *first_broken = w.broken;
  if (0 == w.broken && w.rows > 0)
  {
    head->id = w.last_id;
    memcpy (head->hash, w.prev, sizeof head->hash);
  }
  return 0 == w.broken ? 1 : 0;
}

/* ============================================================ list */

static json_t *
entry_json (const PGresult *r, int i)
{
  json_t *details = json_loads (PQgetvalue (r, i, 5), 0, NULL);

  return json_pack ("{s:I, s:s, s:s, s:s, s:s, s:o, s:s}",
                    "id", (json_int_t) strtoll (PQgetvalue (r, i, 0), NULL,
                                                10),
                    "at", PQgetvalue (r, i, 1), "actor", PQgetvalue (r, i, 2),
                    "action", PQgetvalue (r, i, 3),
                    "target", PQgetvalue (r, i, 4),
                    "details", NULL != details ? details : json_object (),
                    "hash", PQgetvalue (r, i, 6));
}

enum core_err
core_audit_list (struct core_db *db, const struct core_audit_filter *f,
                 json_t **entries, long long *next_before_id)
{
  char before[24], limit[16];
  const char *p[7] = { f->actor, f->action, f->target, f->since,
                       f->before_id > 0 ? before : NULL, limit, f->until };
  PGresult *r = NULL;
  enum core_db_status st;
  int n;

  *entries = NULL;
  *next_before_id = 0;
  snprintf (before, sizeof before, "%lld", f->before_id);
  snprintf (limit, sizeof limit, "%d", f->limit + 1);
  st = core_db_exec (db, "audit_list", 7, p, &r);
  if (st < 0)
    return 0 == strncmp (core_db_last_sqlstate (), "22", 2)
           ? CORE_ERR_INVALID_FIELD
           : core_db_alive (db, false) ? CORE_ERR_INTERNAL
           : CORE_ERR_DATABASE_UNAVAILABLE;
  *entries = json_array ();
  n = PQntuples (r);
  for (int i = 0; i < n && i < f->limit; i++)
    json_array_append_new (*entries, entry_json (r, i));
  if (n > f->limit)
    *next_before_id = strtoll (PQgetvalue (r, f->limit - 1, 0), NULL, 10);
  PQclear (r);
  return CORE_OK;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * review.c -- the back-office review queue (see review.h): its SQL, the
 * opening of a review inside the flagging transaction, the views, and the
 * decision transaction.
 *
 * The views are built by PostgreSQL as JSON (json_build_object), so a
 * reviewer's page is two round trips whatever it shows.  A decision locks
 * the review, then changes the review, the enrolment and the device with
 * UPDATEs conditional on their current states; when one of them finds
 * nothing to change, the whole transaction rolls back and the caller gets
 * 409, so a review is never closed without its enrolment moving.  Comments
 * are data for reviewers and the audit log, never logged here.
 *
 * Attaching to an existing customer.  An identity review whose document is
 * one an existing customer enrolled with names that customer
 * (attach_customer_id) and needs four eyes.  Only the final approval
 * attaches -- the enrolment's reenrols_customer_id, which completion reads
 * to replace that customer's PIN and add the credential -- and in the same
 * transaction queues a message to the customer (notify/, at the address
 * they enrolled with, ending with their assurance code).  Every other review creates a new customer or nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/crypto.h"
#include "core/log.h"
#include "enrol/enrol.h"
#include "enrol/review.h"
#include "enrol/session.h"
#include "notify/notify.h"
#include "risk/risk.h"

#define TS(x) \
  "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* One decision appended to reviews.comments: $2 by, $3 role, $4 comment,
   the decision as SQL. */
#define COMMENT_JSON(decision) \
  "comments = comments || jsonb_build_array(jsonb_build_object(" \
  " 'by', $2::text, 'role', $3::text, 'decision', " decision "," \
  " 'comment', $4::text, 'at', " TS ("now()") "))"

static const struct core_db_stmt stmts[] = {
  { "enrol_review_insert",
    "INSERT INTO reviews (id, kind, enrolment_id, device_id, score, reasons,"
    " four_eyes, attach_customer_id) VALUES ($1, $2, $3, $4, $5::integer,"
    " $6::jsonb, $7::boolean, $8) RETURNING id" },
  /* One page of the queue: $1 states (text[]), $2 kind or NULL, $3/$4
     the cursor (microseconds since the epoch and id of the last review
     of the page before, NULL for the first), $5 the page size.  Oldest
     first (REVIEW_PAGE's ASC, >) for the queue, newest first (DESC, <)
     for the closed ones.  A page of $5 + 1 rows tells whether another
     follows; "next" is the cursor of the last one shown. */
/* $6 a search as an ILIKE pattern ("%text%", its own % _ \\ escaped) or
   NULL, $9 the same text as typed: part of a name or e-mail address (any
   case), or a review, enrolment or customer id; $7 "sanctions" or "four_eyes"
   or NULL; $8 who took it ("" for nobody) or NULL. */
#define REVIEW_FILTER \
    "   AND ($6::text IS NULL" \
    "        OR (e.applicant->>'surname') ILIKE $6" \
    "        OR (e.applicant->>'given_names') ILIKE $6" \
    "        OR (coalesce(e.applicant->>'given_names', '') || ' '" \
    "            || coalesce(e.applicant->>'surname', '')) ILIKE $6" \
    "        OR e.email ILIKE $6" \
    "        OR $9 IN (r.id, r.enrolment_id, r.attach_customer_id," \
    "                  e.customer_id, e.reenrols_customer_id))" \
    "   AND ($7::text IS NULL OR ($7 = 'sanctions'" \
    "        AND r.reasons ? 'sanctions_match') OR ($7 = 'four_eyes'" \
    "        AND r.four_eyes))" \
    "   AND ($8::text IS NULL OR coalesce(r.assigned_to, '') = $8)"
#define REVIEW_PAGE(order, after) \
    "WITH page AS (" \
    " SELECT r.created_at AS t, r.id, json_build_object('id', r.id," \
    "  'kind', r.kind, 'state', r.state, 'enrolment_id', r.enrolment_id," \
    "  'device_id', r.device_id, 'score', r.score, 'reasons', r.reasons," \
    "  'four_eyes', r.four_eyes, 'first_approver', r.first_approver," \
    "  'decided_by', r.decided_by," \
    "  'attach_customer_id', r.attach_customer_id," \
    "  'sanctions', r.reasons ? 'sanctions_match'," \
    "  'assigned_to', r.assigned_to," \
    "  'asked_at', " TS ("r.asked_at") "," \
    "  'age_seconds', floor(extract(epoch FROM now() - r.created_at))::bigint," \
    "  'created_at', " TS ("r.created_at") "," \
    "  'applicant', json_build_object('surname', e.applicant->>'surname'," \
    "   'given_names', e.applicant->>'given_names')) AS j" \
    " FROM reviews r JOIN enrolments e ON e.id = r.enrolment_id" \
    " WHERE r.state = ANY ($1::text[]) AND ($2::text IS NULL OR r.kind = $2)" \
    REVIEW_FILTER \
    "   AND ($3::bigint IS NULL OR (r.created_at, r.id) " after \
    "        ('epoch'::timestamptz + $3::bigint * interval '1 microsecond'," \
    "         $4::text))" \
    " ORDER BY r.created_at " order ", r.id " order \
    " LIMIT $5::integer + 1)," \
    " shown AS (SELECT * FROM page ORDER BY t " order ", id " order \
    "  LIMIT $5::integer)" \
    " SELECT json_build_object(" \
    "  'reviews', (SELECT coalesce(json_agg(j ORDER BY t " order ", id " \
    order "), '[]') FROM shown)," \
    "  'next', CASE WHEN (SELECT count(*) FROM page) > $5::integer THEN" \
    "   (SELECT (extract(epoch FROM t) * 1000000)::bigint || '.' || id" \
    "      FROM shown ORDER BY t " order ", id " order \
    "     OFFSET $5::integer - 1) END," \
    "  'total', (SELECT count(*) FROM reviews r" \
    "    JOIN enrolments e ON e.id = r.enrolment_id" \
    "    WHERE r.state = ANY ($1::text[])" \
    "      AND ($2::text IS NULL OR r.kind = $2)" REVIEW_FILTER "))::text"
  { "enrol_review_list_oldest", REVIEW_PAGE ("ASC", ">") },
  { "enrol_review_list_newest", REVIEW_PAGE ("DESC", "<") },
  { "enrol_review_detail",
    "SELECT json_build_object('id', r.id, 'kind', r.kind, 'state', r.state,"
    " 'enrolment_id', r.enrolment_id, 'device_id', r.device_id,"
    " 'score', r.score, 'reasons', r.reasons, 'four_eyes', r.four_eyes,"
    " 'first_approver', r.first_approver, 'decided_by', r.decided_by,"
    " 'attach_customer_id', r.attach_customer_id,"
    " 'sanctions', r.reasons ? 'sanctions_match',"
    " 'assigned_to', r.assigned_to,"
    " 'assigned_at', " TS ("r.assigned_at") ","
    " 'asked_at', " TS ("r.asked_at") ","
    " 'age_seconds', floor(extract(epoch FROM now() - r.created_at))::bigint,"
    " 'created_at', " TS ("r.created_at") ","
    " 'decided_at', " TS ("r.decided_at") ","
    " 'applicant', e.applicant, 'identity', e.identity_result,"
    " 'enrolment', json_build_object('state', e.state,"
    "  'created_at', " TS ("e.created_at") ","
    "  'expires_at', " TS ("e.expires_at") "),"
    " 'device', CASE WHEN d.id IS NULL THEN NULL ELSE json_build_object("
    "  'id', d.id, 'status', d.status, 'platform', d.platform,"
    "  'model', d.signals->>'model', 'install_id', d.install_id,"
    "  'client_addr', d.client_addr, 'signals', d.signals,"
    "  'public_key_sha256', encode(sha256(d.public_key), 'hex'),"
    "  'created_at', " TS ("d.created_at") ", 'risk', d.risk) END,"
    " 'decisions', r.comments)::text"
    " FROM reviews r JOIN enrolments e ON e.id = r.enrolment_id"
    " LEFT JOIN devices d ON d.id = r.device_id WHERE r.id = $1" },
  /* Other devices with the same key, install id or address; other
     enrolments with the same document or identity; every activation
     attempt on the device's QR challenge. */
  { "enrol_review_history",
    "WITH r AS (SELECT r.enrolment_id, d.id AS device_id, d.public_key,"
    "  d.install_id, d.client_addr, d.challenge_id, e.doc_key,"
    "  e.identity_key FROM reviews r JOIN enrolments e ON e.id = r.enrolment_id"
    "  LEFT JOIN devices d ON d.id = r.device_id WHERE r.id = $1)"
    " SELECT json_build_object("
    " 'devices', (SELECT coalesce(json_agg(j ORDER BY t DESC), '[]') FROM"
    "  (SELECT o.created_at AS t, json_build_object('device_id', o.id,"
    "   'enrolment_id', o.enrolment_id, 'status', o.status,"
    "   'enrolment_state', oe.state, 'client_addr', o.client_addr,"
    "   'created_at', " TS ("o.created_at") ","
    "   'same_key', o.public_key = r.public_key,"
    "   'same_install_id', coalesce(o.install_id = r.install_id, false),"
    "   'same_address', coalesce(o.client_addr = r.client_addr, false)) AS j"
    "   FROM r, devices o JOIN enrolments oe ON oe.id = o.enrolment_id"
    "   WHERE o.id <> r.device_id AND (o.public_key = r.public_key"
    "    OR o.install_id = r.install_id OR o.client_addr = r.client_addr)"
    "   ORDER BY o.created_at DESC LIMIT 50) x),"
    " 'enrolments', (SELECT coalesce(json_agg(j ORDER BY t DESC), '[]') FROM"
    "  (SELECT o.created_at AS t, json_build_object('enrolment_id', o.id,"
    "   'state', o.state, 'created_at', " TS ("o.created_at") ","
    "   'same_document', coalesce(o.doc_key = r.doc_key, false)) AS j"
    "   FROM r, enrolments o WHERE o.id <> r.enrolment_id"
    "   AND (o.identity_key = r.identity_key OR o.doc_key = r.doc_key)"
    "   ORDER BY o.created_at DESC LIMIT 50) x),"
    " 'attempts', (SELECT coalesce(json_agg(j ORDER BY i), '[]') FROM"
    "  (SELECT a.id AS i, json_build_object('at', " TS ("a.at") ","
    "   'outcome', a.outcome, 'client_addr', a.client_addr,"
    "   'install_id', a.install_id,"
    "   'same_key', coalesce(a.public_key = r.public_key, false)) AS j"
    "   FROM r, activation_attempts a WHERE a.challenge_id = r.challenge_id"
    "   ORDER BY a.id LIMIT 50) x))::text FROM r" },
  { "enrol_review_lock",
    "SELECT r.kind, r.state, r.enrolment_id, r.device_id, r.four_eyes,"
    " coalesce(r.first_approver, ''), e.state, e.expires_at < now(),"
    " encode(d.public_key, 'hex'), d.install_id, d.client_addr,"
    " coalesce(r.attach_customer_id, '')"
    " FROM reviews r JOIN enrolments e ON e.id = r.enrolment_id"
    " LEFT JOIN devices d ON d.id = r.device_id"
    " WHERE r.id = $1 FOR UPDATE OF r, e" },
  /* $1 review, $2 by, $3 role, $4 comment */
  { "enrol_review_first_approval",
    "UPDATE reviews SET state = 'awaiting_second_approval',"
    " first_approver = $2, " COMMENT_JSON ("'approve'")
    " WHERE id = $1 AND state = 'open' AND four_eyes RETURNING id" },
  /* $1 review, $2 by, $3 role, $4 comment, $5 approved | rejected.  An
     approval closes a four-eyes review only as its second, by another. */
  { "enrol_review_close",
    "UPDATE reviews SET state = $5, decided_by = $2, decided_at = now(), "
    COMMENT_JSON ("CASE $5 WHEN 'approved' THEN 'approve' ELSE 'reject' END")
    " WHERE id = $1 AND state IN ('open', 'awaiting_second_approval')"
    " AND ($5 = 'rejected' OR NOT four_eyes"
    "      OR (state = 'awaiting_second_approval' AND first_approver <> $2))"
    " RETURNING id" },
  /* $1 review, $2 by, $3 role, $4 the question: the review stays as it is */
  { "enrol_review_ask",
    "UPDATE reviews SET asked_at = now(), " COMMENT_JSON ("'ask'")
    " WHERE id = $1 AND state IN ('open', 'awaiting_second_approval')"
    " RETURNING state" },
  /* $1 review, $2 who takes it or NULL; answers whom it was taken from */
  { "enrol_review_assign",
    "UPDATE reviews r SET assigned_to = $2,"
    " assigned_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END"
    " FROM (SELECT id, assigned_to FROM reviews WHERE id = $1 FOR UPDATE) o"
    " WHERE r.id = o.id AND r.state IN ('open', 'awaiting_second_approval')"
    " RETURNING coalesce(o.assigned_to, '')" },
  { "enrol_review_exists", "SELECT 1 FROM reviews WHERE id = $1" },
  /* $1 enrolment, $2 from, $3 to; moving on needs an enrolment alive */
  { "enrol_review_enrolment_move",
    "UPDATE enrolments SET state = $3, updated_at = now()"
    " WHERE id = $1 AND state = $2"
    " AND ($3 = 'rejected' OR expires_at > now()) RETURNING id" },
  /* $1 enrolment, $2 the customer it re-enrols (final approval only) */
  { "enrol_review_attach",
    "UPDATE enrolments SET reenrols_customer_id = $2, updated_at = now()"
    " WHERE id = $1 AND state = 'device' AND reenrols_customer_id IS NULL"
    " AND customer_id IS NULL RETURNING id" },
  /* $1 device, $2 active | denied */
  { "enrol_review_device_move",
    "UPDATE devices SET status = $2, decided_at = now()"
    " WHERE id = $1 AND status = 'pending_review' RETURNING id" },
  { NULL, NULL }
};

void
enrol_review_register_statements (void)
{
  core_db_register (stmts);
}

/* ============================================================== open */

static bool
needs_four_eyes (int score, const json_t *reasons, const char *attach)
{
  int at = risk_threshold ("four_eyes");
  size_t i;
  json_t *v;

  if (NULL != attach)
    return true;
  if (score >= 0 && at > 0 && score >= at)
    return true;
  json_array_foreach (reasons, i, v)
    if (json_is_string (v)
        && 0 == strcmp (json_string_value (v), "sanctions_match"))
      return true;
  return false;
}

enum core_db_status
enrol_review_open (struct core_db *db, enum enrol_review_kind kind,
                   const char *enrolment_id, const char *device_id,
                   int score, const json_t *reasons,
                   const char *attach_customer_id)
{
  char *id = core_random_id ("rev");
  char *reasons_s = json_dumps (reasons, JSON_COMPACT);
  char score_s[16];
  const char *k = ENROL_REVIEW_KIND_DEVICE == kind ? "device" : "identity";
  bool four = needs_four_eyes (score, reasons, attach_customer_id);
  const char *p[8] = { id, k, enrolment_id, device_id,
                       score >= 0 ? score_s : NULL, reasons_s,
                       four ? "true" : "false", attach_customer_id };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  snprintf (score_s, sizeof score_s, "%d", score);
  if (NULL != id && NULL != reasons_s)
    st = core_db_exec (db, "enrol_review_insert", 8, p, NULL);
  if (CORE_DB_ONE_ROW == st)
    st = core_audit_append (db, "system", "review.open", id,
                            json_pack ("{s:s, s:s, s:s?, s:O, s:b, s:s?}",
                                       "kind", k,
                                       "enrolment_id", enrolment_id,
                                       "device_id", device_id,
                                       "reasons", reasons,
                                       "four_eyes", four,
                                       "attach_customer_id",
                                       attach_customer_id));
  free (id);
  free (reasons_s);
  return st;
}

/* ============================================================== views */

static const char *
states_for (const char *state)
{
  static const char *const map[][2] = {
    { "open", "{open,awaiting_second_approval}" },
    { "awaiting_second_approval", "{awaiting_second_approval}" },
    { "approved", "{approved}" },
    { "rejected", "{rejected}" },
    { "all", "{open,awaiting_second_approval,approved,rejected}" },
  };

  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (0 == strcmp (map[i][0], state))
      return map[i][1];
  return NULL;
}

/* "<digits>.<id>", as the list answers in "next".  @return true, with
   the two parts in @a us, @a id. */
static bool
cursor_parse (const char *cursor, char us[24], char id[72])
{
  const char *dot = strchr (cursor, '.');
  size_t nd = NULL != dot ? (size_t) (dot - cursor) : 0;
  size_t ni = NULL != dot ? strlen (dot + 1) : 0;

  if (0 == nd || nd > 19 || nd != strspn (cursor, "0123456789")
      || 0 == ni || ni > 64
      || ni != strspn (dot + 1, "abcdefghijklmnopqrstuvwxyz"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"))
    return false;
  memcpy (us, cursor, nd);
  us[nd] = '\0';
  memcpy (id, dot + 1, ni + 1);
  return true;
}

enum core_err
enrol_review_list (struct core_db *db, const struct enrol_review_query *q,
                   json_t **page)
{
  const char *states = states_for (NULL != q->state ? q->state : "open");
  bool queue = NULL != states && (NULL == q->state
                                  || 0 == strcmp (q->state, "open")
                                  || 0 == strcmp (q->state,
                                                  "awaiting_second_approval"));
  char us[24], id[72], size[16];
  char pattern[2 * ENROL_REVIEW_SEARCH_MAX + 3];
  const char *p[9] = { states, q->kind, NULL, NULL, size, NULL,
                       q->needs, q->assigned, q->search };
  enum core_err err;

  *page = NULL;
  if (NULL == states || (NULL != q->kind && 0 != strcmp (q->kind, "identity")
                         && 0 != strcmp (q->kind, "device"))
      || q->limit < 1 || q->limit > ENROL_REVIEW_PAGE_MAX
      || (NULL != q->needs && 0 != strcmp (q->needs, "sanctions")
          && 0 != strcmp (q->needs, "four_eyes"))
      || (NULL != q->search && strlen (q->search) > ENROL_REVIEW_SEARCH_MAX))
    return CORE_ERR_BAD_REQUEST;
  if (NULL != q->after)
  {
    if (! cursor_parse (q->after, us, id))
      return CORE_ERR_BAD_REQUEST;
    p[2] = us;
    p[3] = id;
  }
  snprintf (size, sizeof size, "%u", q->limit);
  if (NULL != q->search)
  {
    size_t o = 0;

    pattern[o++] = '%';
    for (const char *c = q->search; '\0' != *c; c++)
    {
      if (NULL != strchr ("%_\\", *c))
        pattern[o++] = '\\';
      pattern[o++] = *c;
    }
    pattern[o++] = '%';
    pattern[o] = '\0';
    p[5] = pattern;
  }
  err = core_db_json_query (db, queue ? "enrol_review_list_oldest"
                            : "enrol_review_list_newest", 9, p, page);
  return err;
}

/* Each sanctions hit of the identity check gets "entry": the listed
   individual as the list in force describes it (names, birth dates,
   nationality, programme), or null when that list no longer holds it. */
static void
describe_hits (json_t *review)
{
  json_t *checks = json_object_get (json_object_get (review, "identity"),
                                    "checks");
  json_t *c, *h;
  size_t i, k;

  json_array_foreach (checks, i, c)
  {
    const char *name = json_string_value (json_object_get (c, "check"));

    if (NULL == name || 0 != strcmp (name, "sanctions"))
      continue;
    json_array_foreach (json_object_get (c, "hits"), k, h)
    {
      json_t *id = json_object_get (h, "entry_id");
      json_t *entry = json_is_integer (id)
                      ? enrol_sanctions_describe ((long) json_integer_value (id))
                      : NULL;

      json_object_set_new (h, "entry", NULL != entry ? entry : json_null ());
    }
  }
}

enum core_err
enrol_review_get (struct core_db *db, const char *id, json_t **review)
{
  const char *p[1] = { id };
  json_t *history = NULL;
  enum core_err err;

  err = core_db_json_query (db, "enrol_review_detail", 1, p, review);
  if (CORE_OK == err)
    describe_hits (*review);
  if (CORE_OK == err)
    err = core_db_json_query (db, "enrol_review_history", 1, p, &history);
  if (CORE_OK == err)
    json_object_set_new (*review, "history", history);
  else if (NULL != *review)
  {
    json_decref (*review);
    *review = NULL;
  }
  return err;
}

/* ============================================================ decide */

/* The review as locked, and what the transaction did. */
struct decide_tx {
  const struct enrol_review_decision *d;
  char kind[16], state[32], enrolment_id[64], device_id[64];
  char first_approver[64], enrolment_state[32];
  char device_key[140], install_id[136], client_addr[64];
  char attach[64];              /* customer an approval attaches to, or "" */
  bool four_eyes, expired;
  /* outcome */
  enum core_err err;
  const char *new_state;
  const char *new_enrolment_state;
};

static void
copy_col (char *dst, size_t len, const PGresult *r, int col)
{
  const char *v = core_db_value (r, 0, col);

  snprintf (dst, len, "%s", NULL != v ? v : "");
}

static enum core_db_status
lock_review (struct core_db *db, struct decide_tx *t)
{
  const char *p[1] = { t->d->review_id };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "enrol_review_lock", 1, p, &r);

  if (CORE_DB_ONE_ROW == st)
  {
    copy_col (t->kind, sizeof t->kind, r, 0);
    copy_col (t->state, sizeof t->state, r, 1);
    copy_col (t->enrolment_id, sizeof t->enrolment_id, r, 2);
    copy_col (t->device_id, sizeof t->device_id, r, 3);
    t->four_eyes = 't' == PQgetvalue (r, 0, 4)[0];
    copy_col (t->first_approver, sizeof t->first_approver, r, 5);
    copy_col (t->enrolment_state, sizeof t->enrolment_state, r, 6);
    t->expired = 't' == PQgetvalue (r, 0, 7)[0];
    copy_col (t->device_key, sizeof t->device_key, r, 8);
    copy_col (t->install_id, sizeof t->install_id, r, 9);
    copy_col (t->client_addr, sizeof t->client_addr, r, 10);
    copy_col (t->attach, sizeof t->attach, r, 11);
  }
  PQclear (r);
  return st;
}

/* Roll back with @a err for the caller. */
static enum core_db_status
refuse (struct decide_tx *t, enum core_err err)
{
  t->err = err;
  return CORE_DB_HARD_ERROR;
}

static bool
is_device (const struct decide_tx *t)
{
  return 0 == strcmp (t->kind, "device");
}

static const char *
waiting_state (const struct decide_tx *t)
{
  return is_device (t) ? "device_review" : "identity_review";
}

static enum core_db_status
move_enrolment (struct core_db *db, struct decide_tx *t, const char *to)
{
  const char *p[3] = { t->enrolment_id, waiting_state (t), to };
  enum core_db_status st;

  st = core_db_exec (db, "enrol_review_enrolment_move", 3, p, NULL);
  if (CORE_DB_ONE_ROW == st)
    t->new_enrolment_state = to;
  return st;
}

static enum core_db_status
move_device (struct core_db *db, struct decide_tx *t, const char *to)
{
  const char *p[2] = { t->device_id, to };

  if (! is_device (t))
    return CORE_DB_ONE_ROW;
  return core_db_exec (db, "enrol_review_device_move", 2, p, NULL);
}

/* Change the review row by @a stmt with the decider's comment. */
static enum core_db_status
update_review (struct core_db *db, struct decide_tx *t, const char *stmt,
               const char *to)
{
  const char *p[5] = { t->d->review_id, t->d->username, t->d->role,
                       t->d->comment, to };
  enum core_db_status st;

  st = core_db_exec (db, stmt, NULL != to ? 5 : 4, p, NULL);
  if (CORE_DB_ONE_ROW == st)
    t->new_state = NULL != to ? to : "awaiting_second_approval";
  return st;
}

static enum core_db_status
audit_decision (struct core_db *db, struct decide_tx *t, const char *stage)
{
  return core_audit_append (db, t->d->username,
                            t->d->approve ? "review.approve" : "review.reject",
                            t->d->review_id,
                            json_pack ("{s:s, s:s, s:s?, s:s, s:s, s:b, s:b,"
                                       " s:s?}",
                                       "kind", t->kind,
                                       "enrolment_id", t->enrolment_id,
                                       "device_id", t->device_id[0]
                                       ? t->device_id : NULL,
                                       "stage", stage,
                                       "comment", t->d->comment,
                                       "four_eyes", t->four_eyes,
                                       "blocklist_address",
                                       t->d->blocklist_address,
                                       "attach_customer_id", t->attach[0]
                                       ? t->attach : NULL));
}

static enum core_db_status
notify (struct core_db *db, struct decide_tx *t)
{
  const char *p[1] = { t->enrolment_id };

  return core_db_exec (db, "enrol_notify", 1, p, NULL);
}

/* Blocklist the device's key and install id (and address) and audit. */
static enum core_db_status
blocklist (struct core_db *db, struct decide_tx *t)
{
  enum core_db_status st;

  if (! is_device (t))
    return CORE_DB_ONE_ROW;
  st = risk_blocklist_device (db, t->device_id, t->d->blocklist_address,
                              t->d->comment, t->d->username);
  if (st < 0)
    return st;
  return core_audit_append (db, t->d->username, "blocklist.add", t->device_id,
                            json_pack ("{s:s, s:s, s:s?, s:s?, s:s}",
                                       "review_id", t->d->review_id,
                                       "device_key", t->device_key,
                                       "install_id", t->install_id[0]
                                       ? t->install_id : NULL,
                                       "address", t->d->blocklist_address
                                       && t->client_addr[0]
                                       ? t->client_addr : NULL,
                                       "reason", t->d->comment));
}

static enum core_db_status
reject (struct core_db *db, struct decide_tx *t)
{
  enum core_db_status st;

  st = update_review (db, t, "enrol_review_close", "rejected");
  if (CORE_DB_NO_ROW == st)
    return refuse (t, CORE_ERR_WRONG_STATE);
  /* An enrolment that expired meanwhile stays expired. */
  if (st >= 0 && 0 == strcmp (t->enrolment_state, waiting_state (t)))
    st = move_enrolment (db, t, "rejected");
  if (st >= 0)
    st = move_device (db, t, "denied");
  if (st >= 0 && NULL != t->new_enrolment_state)
    st = enrol_outbox_applicant_tx (db, t->enrolment_id,
                                    NOTIFY_REVIEW_REJECTED, json_object (),
                                    NULL);
  if (st >= 0)
    st = blocklist (db, t);
  if (st >= 0)
    st = audit_decision (db, t, "final");
  if (st >= 0)
    st = notify (db, t);
  return st;
}

static enum core_db_status
approve_first (struct core_db *db, struct decide_tx *t)
{
  enum core_db_status st;

  st = update_review (db, t, "enrol_review_first_approval", NULL);
  if (CORE_DB_NO_ROW == st)
    return refuse (t, CORE_ERR_WRONG_STATE);
  if (st >= 0)
    st = audit_decision (db, t, "first");
  return st;
}

/* The message to the existing customer that their account is being
   re-enrolled: queued through notify/ like every message to a customer,
   so it goes to the address and in the language they have with us (never
   the newcomer's), is rendered when sent, and ends with their assurance
   code.  No secret, no document number: when and what, and whom to call
   if it was not them. */
static enum core_db_status
tell_customer (struct core_db *db, struct decide_tx *t)
{
  enum core_db_status st;

  st = notify_mail_customer_tx (db, t->attach, NOTIFY_REENROLMENT,
                                json_object ());
  return st < 0 ? st : CORE_DB_ONE_ROW;   /* no address: none to tell */
}

/* Final approval of a review that attaches: name the customer on the
   enrolment and tell them, in the approving transaction. */
static enum core_db_status
attach (struct core_db *db, struct decide_tx *t)
{
  const char *p[2] = { t->enrolment_id, t->attach };
  enum core_db_status st;

  if ('\0' == t->attach[0])
    return CORE_DB_ONE_ROW;
  st = core_db_exec (db, "enrol_review_attach", 2, p, NULL);
  if (CORE_DB_ONE_ROW == st)
    st = tell_customer (db, t);
  return st;
}

static enum core_db_status
approve_final (struct core_db *db, struct decide_tx *t)
{
  enum core_db_status st;

  /* Never attach on one pair of eyes, whatever the row says. */
  if ('\0' != t->attach[0] && ! t->four_eyes)
    return refuse (t, CORE_ERR_INTERNAL);
  st = move_device (db, t, "active");
  if (CORE_DB_ONE_ROW == st)
    st = move_enrolment (db, t, is_device (t) ? "pin_otp" : "device");
  if (CORE_DB_ONE_ROW == st)
    st = attach (db, t);
  if (CORE_DB_ONE_ROW == st)
    st = update_review (db, t, "enrol_review_close", "approved");
  if (CORE_DB_NO_ROW == st)
    return refuse (t, CORE_ERR_WRONG_STATE);
  if (st >= 0)
    st = enrol_link_message_tx (db, t->enrolment_id, t->d->base_url,
                                NOTIFY_REVIEW_APPROVED);
  if (CORE_DB_NO_ROW == st)
    return refuse (t, CORE_ERR_WRONG_STATE);
  if (st >= 0)
    st = audit_decision (db, t, t->four_eyes ? "second" : "final");
  if (st >= 0)
    st = notify (db, t);
  return st;
}

static enum core_db_status
approve (struct core_db *db, struct decide_tx *t)
{
  bool second = 0 == strcmp (t->state, "awaiting_second_approval");

  if (t->expired || 0 != strcmp (t->enrolment_state, waiting_state (t)))
    return refuse (t, CORE_ERR_WRONG_STATE);
  if (second && 0 == strcmp (t->first_approver, t->d->username))
    return refuse (t, CORE_ERR_CONFLICT);
  if (second && 0 != strcmp (t->d->role, "admin"))
    return refuse (t, CORE_ERR_FORBIDDEN);
  if (t->four_eyes && ! second)
    return approve_first (db, t);
  return approve_final (db, t);
}

/* Ask the applicant: an e-mail with the reviewer's question; the review
   stays open and the enrolment waits where it is. */
static enum core_db_status
ask (struct core_db *db, struct decide_tx *t)
{
  enum core_db_status st;

  if (t->expired || 0 != strcmp (t->enrolment_state, waiting_state (t)))
    return refuse (t, CORE_ERR_WRONG_STATE);
  st = update_review (db, t, "enrol_review_ask", NULL);
  if (CORE_DB_NO_ROW == st)
    return refuse (t, CORE_ERR_WRONG_STATE);
  t->new_state = t->state;
  if (st >= 0)
    st = enrol_outbox_applicant_tx (db, t->enrolment_id,
                                    NOTIFY_REVIEW_QUESTION,
                                    json_pack ("{s:s}", "question",
                                               t->d->comment), NULL);
  if (st >= 0)
    st = core_audit_append (db, t->d->username, "review.ask",
                            t->d->review_id,
                            json_pack ("{s:s, s:s, s:s}", "kind", t->kind,
                                       "enrolment_id", t->enrolment_id,
                                       "question", t->d->comment));
  return st;
}

static enum core_db_status
decide_tx_run (struct core_db *db, void *cls)
{
  struct decide_tx *t = cls;
  enum core_db_status st;

  t->err = CORE_OK;
  t->new_state = NULL;
  t->new_enrolment_state = NULL;
  st = lock_review (db, t);
  if (CORE_DB_NO_ROW == st)
    return refuse (t, CORE_ERR_NOT_FOUND);
  if (st < 0)
    return st;
  if (0 == strcmp (t->state, "approved") || 0 == strcmp (t->state, "rejected"))
    return refuse (t, CORE_ERR_WRONG_STATE);
  if (t->d->ask)
    return ask (db, t);
  return t->d->approve ? approve (db, t) : reject (db, t);
}

enum core_err
enrol_review_decide (struct core_db *db,
                     const struct enrol_review_decision *d, json_t **result)
{
  struct decide_tx t = { .d = d };
  enum core_db_status st;

  *result = NULL;
  st = core_db_tx (db, false, &decide_tx_run, &t);
  if (CORE_OK != t.err)
    return t.err;
  if (st < 0)
    return enrol_db_err (db);
  *result = json_pack ("{s:s, s:s, s:s, s:s, s:s?, s:s, s:s?}",
                       "id", d->review_id, "state", t.new_state,
                       "kind", t.kind, "enrolment_id", t.enrolment_id,
                       "device_id", t.device_id[0] ? t.device_id : NULL,
                       "enrolment_state", NULL != t.new_enrolment_state
                       ? t.new_enrolment_state : t.enrolment_state,
                       "attach_customer_id", t.attach[0] ? t.attach : NULL);
  LOG_INFO ("review %s: %s by %s -> %s", d->review_id,
            d->ask ? "ask" : d->approve ? "approve" : "reject", d->username,
            t.new_state);
  return NULL != *result ? CORE_OK : CORE_ERR_INTERNAL;
}

/* ============================================================ assign */

struct assign_tx {
  const char *review_id, *to, *actor;
  enum core_err err;
};

static enum core_db_status
assign_tx_run (struct core_db *db, void *cls)
{
  struct assign_tx *a = cls;
  const char *p[2] = { a->review_id, a->to };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "enrol_review_assign", 2, p, &r);
  char from[72] = "";

  a->err = CORE_OK;
  if (CORE_DB_ONE_ROW == st)
    snprintf (from, sizeof from, "%s", PQgetvalue (r, 0, 0));
  PQclear (r);
  if (CORE_DB_NO_ROW == st)
  {
    st = core_db_exec (db, "enrol_review_exists", 1, p, NULL);
    if (st >= 0)
      a->err = CORE_DB_ONE_ROW == st ? CORE_ERR_WRONG_STATE
                                     : CORE_ERR_NOT_FOUND;
    return st;
  }
  if (st < 0)
    return st;
  return core_audit_append (db, a->actor, NULL != a->to ? "review.assign"
                                                        : "review.release",
                            a->review_id,
                            json_pack ("{s:s?, s:s?}", "to", a->to, "from",
                                       from[0] ? from : NULL));
}

enum core_err
enrol_review_assign (struct core_db *db, const char *review_id,
                     const char *to, const char *actor)
{
  struct assign_tx a = { .review_id = review_id, .to = to, .actor = actor };
  enum core_db_status st = core_db_tx (db, false, &assign_tx_run, &a);

  if (st < 0)
    return enrol_db_err (db);
  return a.err;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * assist.c -- assisted enrolment: its input rules (scopes, hint text),
 * what both sides share (loading a session and ending it when due, audit,
 * NOTIFY, the code's keyed hash), and the applicant's side: the code, Stop,
 * and who follows.  The advisor's side is assist_advisor.c, the view
 * assist_view.c, the SQL assist_db.c; assist.h says the rules.
 *
 * Every change is one READ COMMITTED transaction with its audit row, and
 * a NOTIFY on the enrolment's id so the advisor's long poll and the
 * applicant's page learn of it.  A session that should have ended (the
 * enrolment completed, was rejected or expired, nothing happened for
 * assist_idle_s) is ended by the first request that finds it, with its
 * audit row, before anything is shown.  The code is drawn here, handed
 * to the applicant once and stored only as a keyed HMAC: it never reaches
 * a log line, an audit row or an error message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core/audit.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "enrol/assist_int.h"
#include "enrol/session.h"

#define CODE_TRIES 20        /* draws before giving up on a free code value */

/* ============================================================ scopes */

static const struct {
  const char *name;
  unsigned int bit;
} scope_names[] = {
  { "progress", ENROL_ASSIST_PROGRESS },
  { "identity", ENROL_ASSIST_IDENTITY },
  { "device", ENROL_ASSIST_DEVICE },
};

#define N_SCOPES (sizeof scope_names / sizeof scope_names[0])

static unsigned int
scope_bit (const char *name)
{
  for (size_t i = 0; i < N_SCOPES; i++)
    if (0 == strcmp (scope_names[i].name, name))
      return scope_names[i].bit;
  return 0;
}

int
enrol_assist_scopes_parse (const json_t *names, unsigned int *scopes)
{
  unsigned int named = 0;
  size_t i;
  json_t *v;

  *scopes = ENROL_ASSIST_PROGRESS;
  if (! json_is_array (names) || json_array_size (names) > N_SCOPES)
    return -1;
  json_array_foreach (names, i, v)
  {
    unsigned int bit = json_is_string (v) ? scope_bit (json_string_value (v))
                       : 0;

    if (0 == bit || 0 != (named & bit))
      return -1;                             /* unknown, or named twice */
    named |= bit;
  }
  *scopes |= named;
  return 0;
}

json_t *
enrol_assist_scopes_json (unsigned int scopes)
{
  json_t *a = json_array ();

  for (size_t i = 0; NULL != a && i < N_SCOPES; i++)
    if (scopes & scope_names[i].bit)
      json_array_append_new (a, json_string (scope_names[i].name));
  return a;
}

unsigned int
enrol_assist_scopes_from_text (const char *text)
{
  unsigned int scopes = 0;
  char buf[64];
  char *save = NULL;

  snprintf (buf, sizeof buf, "%s", text);
  for (char *t = strtok_r (buf, ",", &save); NULL != t;
       t = strtok_r (NULL, ",", &save))
    scopes |= scope_bit (t);
  return scopes;
}

/* "progress,identity": the stored form. */
static void
scopes_text (unsigned int scopes, char out[64])
{
  out[0] = '\0';
  for (size_t i = 0; i < N_SCOPES; i++)
    if (scopes & scope_names[i].bit)
    {
      if ('\0' != out[0])
        strcat (out, ",");
      strcat (out, scope_names[i].name);
    }
}

/* ============================================================ hints */

/* Next code point of valid UTF-8 (jansson refuses invalid UTF-8). */
static unsigned long
utf8_next (const unsigned char **p)
{
  const unsigned char *s = *p;
  unsigned long c = s[0];
  int more = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;

  if (more > 0)
    c &= 0x3F >> more;
  for (int i = 1; i <= more && 0 != s[i]; i++)
    c = (c << 6) | (s[i] & 0x3F);
  *p = s + 1;
  while (0x80 == (**p & 0xC0))
    (*p)++;
  return c;
}

/* Characters that would hide or reorder what the applicant reads. */
static bool
hidden_char (unsigned long c)
{
  return c < 0x20 || (c >= 0x7F && c <= 0x9F)
         || (c >= 0x200B && c <= 0x200F)          /* zero-width, LRM, RLM */
         || (c >= 0x2028 && c <= 0x202E)          /* separators, embeddings */
         || (c >= 0x2060 && c <= 0x2069)          /* word joiner, isolates */
         || 0x061C == c || 0xFEFF == c;
}

bool
enrol_assist_hint_text_ok (const char *text)
{
  const unsigned char *p = (const unsigned char *) text;
  size_t chars = 0;
  bool visible = false;

  while ('\0' != *p)
  {
    unsigned long c = utf8_next (&p);

    if (hidden_char (c) || ++chars > ENROL_ASSIST_HINT_MAX)
      return false;
    visible = visible || (' ' != c && 0xA0 != c && 0x3000 != c);
  }
  return visible;
}

/* ============================================================ plumbing */

static const char *const end_reasons[] = {
  "applicant", "advisor", "replaced", "completed", "rejected", "expired",
  "idle", "code_expired",
};

/* The static string for a stored end reason ("" or unknown: NULL). */
static const char *
reason_static (const char *r)
{
  for (size_t i = 0; i < sizeof end_reasons / sizeof end_reasons[0]; i++)
    if (0 == strcmp (end_reasons[i], r))
      return end_reasons[i];
  return NULL;
}

enum core_db_status
enrol_assist_audit (struct core_db *db, const char *actor, const char *action,
                    const char *enrolment_id, json_t *details)
{
  enum core_db_status st = core_audit_append (db, actor, action, enrolment_id,
                                              details);

  return CORE_DB_ONE_ROW == st ? st : (st < 0 ? st : CORE_DB_HARD_ERROR);
}

enum core_db_status
enrol_assist_notify (struct core_db *db, const char *enrolment_id)
{
  const char *p[1] = { enrolment_id };

  return core_db_exec (db, "enrol_notify", 1, p, NULL);
}

static void
idle_param (char out[16])
{
  snprintf (out, 16, "%u", core_cfg->assist_idle_s);
}

/* End session @a s now, for @a reason, by @a who: audited and notified.
   @return ONE_ROW; NO_ROW if it had ended meanwhile; errors. */
enum core_db_status
enrol_assist_session_end (struct core_db *db, const struct assist_session *s,
                          const char *reason, const char *who)
{
  const char *p[3] = { s->id, reason, who };
  enum core_db_status st = core_db_exec (db, "assist_end", 3, p, NULL);
  json_t *details;

  if (CORE_DB_ONE_ROW != st)
    return st;
  details = json_pack ("{s:s, s:s, s:s, s:b}", "assist_id", s->id, "reason",
                       reason, "advisor", s->advisor, "joined", 1);
  st = enrol_assist_audit (db, who, "assist.end", s->enrolment_id, details);
  return st < 0 ? st : enrol_assist_notify (db, s->enrolment_id);
}

/* Why the session in row 0 of @a r must end now, or NULL. */
static const char *
due_end (PGresult *r)
{
  const char *state = PQgetvalue (r, 0, 5);

  if (0 == strcmp (state, "completed"))
    return "completed";
  if (0 == strcmp (state, "rejected"))
    return "rejected";
  if (0 == strcmp (state, "expired") || 't' == PQgetvalue (r, 0, 6)[0])
    return "expired";
  if ('t' == PQgetvalue (r, 0, 7)[0])
    return "idle";
  return NULL;
}

/* Load a joined session by @a stmt (assist_load, _lock: by id; _open: the
   enrolment's running one) and end it if it is due.  @a advisor, if not
   NULL, must be the one who joined (else NO_ROW, and nothing is ended).
   @return ONE_ROW (s filled; s->ended says whether it ended), NO_ROW,
   errors. */
enum core_db_status
enrol_assist_session_open (struct core_db *db, const char *stmt,
                           const char *key, const char *advisor,
                           struct assist_session *s)
{
  char idle[16];
  const char *p[2] = { key, idle };
  const char *due = NULL;
  PGresult *r = NULL;
  enum core_db_status st;

  memset (s, 0, sizeof *s);
  idle_param (idle);
  st = core_db_exec (db, stmt, 2, p, &r);
  if (CORE_DB_ONE_ROW == st && NULL != advisor
      && 0 != strcmp (PQgetvalue (r, 0, 2), advisor))
    st = CORE_DB_NO_ROW;
  if (CORE_DB_ONE_ROW == st)
  {
    snprintf (s->id, sizeof s->id, "%s", PQgetvalue (r, 0, 0));
    snprintf (s->enrolment_id, sizeof s->enrolment_id, "%s",
              PQgetvalue (r, 0, 1));
    snprintf (s->advisor, sizeof s->advisor, "%s", PQgetvalue (r, 0, 2));
    s->scopes = enrol_assist_scopes_from_text (PQgetvalue (r, 0, 3));
    s->ended = reason_static (PQgetvalue (r, 0, 4));
    snprintf (s->joined_at, sizeof s->joined_at, "%s", PQgetvalue (r, 0, 8));
    snprintf (s->idle_ends_at, sizeof s->idle_ends_at, "%s",
              PQgetvalue (r, 0, 9));
    due = NULL == s->ended ? due_end (r) : NULL;
  }
  if (NULL != r)
    PQclear (r);
  if (NULL != due)
  {
    enum core_db_status e = enrol_assist_session_end (db, s, due, "system");

    if (e < 0)
      return e;
    s->ended = due;
  }
  return st;
}

/* ========================================================= the applicant */

/* A uniform 6-digit code: rejection sampling keeps every value equally
   likely.  @return 0 or -1. */
static int
code_draw (char code[ENROL_ASSIST_CODE_DIGITS + 1])
{
  uint32_t v;

  do
  {
    if (0 != core_random (&v, sizeof v))
      return -1;
  } while (v >= 4294000000u);             /* 4294 * 10^6: a multiple */
  snprintf (code, ENROL_ASSIST_CODE_DIGITS + 1, "%06u",
            (unsigned int) (v % 1000000u));
  OPENSSL_cleanse (&v, sizeof v);
  return 0;
}

/* "\\x" + hex HMAC of a code: the bytea parameter.  @return 0 or -1. */
int
enrol_assist_code_hash (const char *code, char out[67])
{
  uint8_t h[CORE_SHA256_LEN];

  if (0 != core_keyed_mac ("assist-code", code, strlen (code), h))
    return -1;
  memcpy (out, "\\x", 2);
  core_hex_encode (h, sizeof h, out + 2);
  return 0;
}

/* End enrolment @a id's open request (code or session) for @a reason by
   @a who; each that was in use is audited, and a followed enrolment
   notified.  A code that had expired unused ends silently. */
static enum core_db_status
end_open (struct core_db *db, const char *id, const char *reason,
          const char *who)
{
  const char *p[3] = { id, reason, who };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "assist_end_open", 3, p, &r);
  bool followed = false;

  for (int i = 0; CORE_DB_ONE_ROW == st && i < PQntuples (r); i++)
  {
    const char *advisor = PQgetvalue (r, i, 1);
    bool joined = '\0' != advisor[0];

    if (0 == strcmp (PQgetvalue (r, i, 2), "code_expired"))
      continue;
    followed = followed || joined;
    st = enrol_assist_audit (db, who, "assist.end", id,
                             json_pack ("{s:s, s:s, s:s?, s:b}", "assist_id",
                                        PQgetvalue (r, i, 0), "reason", reason,
                                        "advisor", joined ? advisor : NULL,
                                        "joined", joined));
  }
  if (NULL != r)
    PQclear (r);
  if (st >= 0 && followed)
    st = enrol_assist_notify (db, id);
  return st < 0 ? st : CORE_DB_ONE_ROW;
}

struct offer_tx {
  const char *id;
  struct enrol_assist_offer *out;
  enum core_err err;
};

/* Insert a fresh code for the enrolment (a new value if another live
   request holds the one drawn).  @return ONE_ROW, or errors. */
static enum core_db_status
offer_insert (struct core_db *db, struct offer_tx *t, char *assist_id)
{
  char hash[67], ttl[16], scopes[64];
  PGresult *r = NULL;
  enum core_db_status st = CORE_DB_NO_ROW;

  snprintf (ttl, sizeof ttl, "%u", core_cfg->assist_code_ttl_s);
  scopes_text (t->out->scopes, scopes);
  for (int i = 0; CORE_DB_NO_ROW == st && i < CODE_TRIES; i++)
  {
    const char *p[5] = { assist_id, t->id, hash, scopes, ttl };

    if (0 != code_draw (t->out->code)
        || 0 != enrol_assist_code_hash (t->out->code, hash))
      return CORE_DB_HARD_ERROR;
    st = core_db_exec (db, "assist_code_release", 1, p + 2, NULL);
    if (st >= 0)
      st = core_db_exec (db, "assist_insert", 5, p, &r);
  }
  if (CORE_DB_ONE_ROW == st)
    snprintf (t->out->expires_at, sizeof t->out->expires_at, "%s",
              PQgetvalue (r, 0, 0));
  if (NULL != r)
    PQclear (r);
  return CORE_DB_NO_ROW == st ? CORE_DB_HARD_ERROR : st;
}

/* Is enrolment t->id open to help?  Locks its row, so two requests of
   one applicant take turns.  @return ONE_ROW (t->err set otherwise). */
static enum core_db_status
offer_check_enrolment (struct core_db *db, struct offer_tx *t)
{
  const char *p[1] = { t->id };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "assist_enrolment_lock", 1, p,
                                         &r);

  if (CORE_DB_NO_ROW == st)
    t->err = CORE_ERR_NOT_FOUND;
  else if (CORE_DB_ONE_ROW == st)
  {
    const char *state = PQgetvalue (r, 0, 0);

    if (0 == strcmp (state, "expired") || 't' == PQgetvalue (r, 0, 1)[0])
      t->err = CORE_ERR_ENROLMENT_EXPIRED;
    else if (0 == strcmp (state, "completed")
             || 0 == strcmp (state, "rejected"))
      t->err = CORE_ERR_WRONG_STATE;
  }
  if (NULL != r)
    PQclear (r);
  return st;
}

/* Under the enrolment's lock: has it asked too often this hour? */
static enum core_db_status
offer_check_count (struct core_db *db, struct offer_tx *t)
{
  const char *p[1] = { t->id };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "assist_offer_count", 1, p, &r);

  if (CORE_DB_ONE_ROW == st
      && atol (PQgetvalue (r, 0, 0)) >= ENROL_ASSIST_OFFERS_PER_HOUR)
  {
    long retry = atol (PQgetvalue (r, 0, 1));

    t->err = CORE_ERR_RATE_LIMITED;
    t->out->retry_after = retry > 0 ? retry : 1;
  }
  if (NULL != r)
    PQclear (r);
  return st;
}

static enum core_db_status
offer_tx (struct core_db *db, void *cls)
{
  struct offer_tx *t = cls;
  char *assist_id;
  enum core_db_status st;

  t->err = CORE_OK;
  t->out->retry_after = 0;
  OPENSSL_cleanse (t->out->code, sizeof t->out->code);
  st = offer_check_enrolment (db, t);
  if (CORE_DB_ONE_ROW == st && CORE_OK == t->err)
    st = offer_check_count (db, t);
  if (CORE_DB_ONE_ROW != st || CORE_OK != t->err)
    return st;
  st = end_open (db, t->id, "replaced", "applicant");
  if (st < 0)
    return st;
  if (NULL == (assist_id = core_random_id ("ast")))
    return CORE_DB_HARD_ERROR;
  st = offer_insert (db, t, assist_id);
  if (CORE_DB_ONE_ROW == st)
    st = enrol_assist_audit (db, "applicant", "assist.offer", t->id,
                             json_pack ("{s:s, s:o, s:s}", "assist_id",
                                        assist_id, "scopes",
                                        enrol_assist_scopes_json (
                                          t->out->scopes),
                                        "code_expires_at",
                                        t->out->expires_at));
  free (assist_id);
  return st;
}

enum core_err
enrol_assist_offer (struct core_db *db, const char *id, unsigned int scopes,
                    struct enrol_assist_offer *out)
{
  struct offer_tx t = { .id = id, .out = out };
  enum core_db_status st;

  memset (out, 0, sizeof *out);
  out->scopes = scopes | ENROL_ASSIST_PROGRESS;
  st = core_db_tx (db, false, &offer_tx, &t);
  if (st < 0 || (CORE_OK == t.err && '\0' == out->expires_at[0]))
  {
    enrol_assist_offer_clear (out);
    return st < 0 ? enrol_db_err (db) : CORE_ERR_INTERNAL;
  }
  if (CORE_OK != t.err)
    enrol_assist_offer_clear (out);
  else
    LOG_INFO ("enrolment %s asked for an advisor's help", id);
  return t.err;
}

void
enrol_assist_offer_clear (struct enrol_assist_offer *o)
{
  OPENSSL_cleanse (o->code, sizeof o->code);
}

static enum core_db_status
stop_tx (struct core_db *db, void *cls)
{
  return end_open (db, cls, "applicant", "applicant");
}

enum core_err
enrol_assist_stop (struct core_db *db, const char *id)
{
  if (core_db_tx (db, false, &stop_tx, (void *) id) < 0)
    return enrol_db_err (db);
  return CORE_OK;
}

struct applicant_tx {
  const char *id;
  json_t *assist;
};

static enum core_db_status
applicant_tx (struct core_db *db, void *cls)
{
  struct applicant_tx *t = cls;
  struct assist_session s;
  json_t *hints = NULL;
  enum core_db_status st;

  if (NULL != t->assist)
    json_decref (t->assist);
  t->assist = NULL;
  st = enrol_assist_session_open (db, "assist_load_open", t->id, NULL, &s);
  if (CORE_DB_ONE_ROW != st || NULL != s.ended)
    return st;
  st = enrol_assist_hints (db, s.id, &hints);
  if (st < 0)
    return st;
  t->assist = json_pack ("{s:s, s:o, s:s, s:o}", "advisor", s.advisor,
                         "scopes", enrol_assist_scopes_json (s.scopes),
                         "joined_at", s.joined_at, "hints", hints);
  return NULL != t->assist ? CORE_DB_ONE_ROW : CORE_DB_HARD_ERROR;
}

enum core_err
enrol_assist_for_applicant (struct core_db *db, const char *id,
                            json_t **assist)
{
  struct applicant_tx t = { .id = id };

  *assist = NULL;
  if (core_db_tx (db, false, &applicant_tx, &t) < 0)
  {
    if (NULL != t.assist)
      json_decref (t.assist);
    return enrol_db_err (db);
  }
  *assist = t.assist;
  return CORE_OK;
}

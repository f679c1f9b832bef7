/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * assist_int.h -- internal to enrol/'s assisted enrolment: the session as
 * loaded (assist.c), and the views built from it (assist_view.c).
 */
#ifndef GUICHET_ENROL_ASSIST_INT_H
#define GUICHET_ENROL_ASSIST_INT_H

#include <stdbool.h>
#include <jansson.h>
#include "core/db.h"
#include "enrol/assist.h"

/* One joined session, as the assist_load* statements read it. */
struct assist_session {
  char id[ENROL_ASSIST_ID_MAX];
  char enrolment_id[ENROL_ASSIST_ID_MAX];
  char advisor[64];
  unsigned int scopes;
  char joined_at[32];
  char idle_ends_at[32];
  const char *ended;          /* why it ended (static), NULL while it runs */
};

/* ------------------------------------------ assist.c, shared with the
   advisor's side (assist_advisor.c) */

/** core_audit_append with the enrolment as target (NULL: none); a
 *  refused append is an error.  @a details is stolen. */
enum core_db_status
enrol_assist_audit (struct core_db *db, const char *actor, const char *action,
                    const char *enrolment_id, json_t *details);

/** NOTIFY guichet_enrolment @a enrolment_id (wakes long polls). */
enum core_db_status
enrol_assist_notify (struct core_db *db, const char *enrolment_id);

/** Load a joined session by @a stmt (assist_load, assist_load_lock: by id;
 *  assist_load_open: the enrolment's running one) and end it if it is due
 *  (the enrolment over, idle).  @a advisor, if not NULL, must be the one
 *  who joined (else NO_ROW, and nothing is ended).
 *  @return ONE_ROW (s filled; s->ended says whether it ended), NO_ROW,
 *  errors. */
enum core_db_status
enrol_assist_session_open (struct core_db *db, const char *stmt,
                           const char *key, const char *advisor,
                           struct assist_session *s);

/** End running session @a s for @a reason by @a who: audited, notified.
 *  @return ONE_ROW; NO_ROW if it had ended meanwhile; errors. */
enum core_db_status
enrol_assist_session_end (struct core_db *db, const struct assist_session *s,
                          const char *reason, const char *who);

/** "\\x" + hex of the code's keyed HMAC: the bytea parameter.
 *  @return 0, or -1 (no keyring). */
int
enrol_assist_code_hash (const char *code, char out[67]);

/* ------------------------------------------ assist_view.c */

/** The hints sent in session @a assist_id, oldest first.
 *  @param[out] hints  new array on ONE_ROW/NO_ROW */
enum core_db_status
enrol_assist_hints (struct core_db *db, const char *assist_id,
                    json_t **hints);

/** The advisor's view of session @a s (which runs).
 *  @param[out] view  new object on ONE_ROW */
enum core_db_status
enrol_assist_view_build (struct core_db *db, const struct assist_session *s,
                         json_t **view);

/** Scopes from their stored text form "progress,identity". */
unsigned int
enrol_assist_scopes_from_text (const char *text);

/* "YYYY-MM-DDTHH:MM:SSZ" of a timestamptz column, in SQL. */
#define ENROL_ASSIST_TS(x) \
  "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#endif

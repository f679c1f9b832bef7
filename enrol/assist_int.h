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

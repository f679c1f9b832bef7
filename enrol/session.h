/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * session.h -- internal to enrol/: applicant session helpers.
 */
#ifndef GUICHET_ENROL_SESSION_H
#define GUICHET_ENROL_SESSION_H

#include "core/db.h"
#include "core/error.h"

/** A new random token (malloc'd secret) and its bytea hash parameter. */
char *
enrol_token_new (char hash_param[67]);

/** Insert a session for @a id; *token is the cookie value (malloc'd). */
enum core_db_status
enrol_session_create (struct core_db *db, const char *id, char **token);

/** Map a failed statement to 503 (connection gone) or 500 (our bug). */
enum core_err
enrol_db_err (struct core_db *db);

#endif

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * session.h -- internal to enrol/: applicant session helpers.
 */
#ifndef GUICHET_ENROL_SESSION_H
#define GUICHET_ENROL_SESSION_H

#include <stdbool.h>
#include <jansson.h>
#include "core/db.h"
#include "core/error.h"

/** A new random token (malloc'd secret) and its bytea hash parameter. */
char *
enrol_token_new (char hash_param[67]);

/** Insert a session for @a id; *token is the cookie value (malloc'd). */
enum core_db_status
enrol_session_create (struct core_db *db, const char *id, char **token);

/**
 * Queue message @a kind (notify.h) for enrolment @a id's applicant, in the
 * enrolment's language; @a params is stolen and never holds a secret.
 * @a secret: the bearer secret the message carries (the sender puts it
 * where the rendered text says {{secret}} and clears it once the row is
 * sent or failed), or NULL.  Nothing is queued for an unknown id.
 */
enum core_db_status
enrol_outbox_applicant_tx (struct core_db *db, const char *id,
                           const char *kind, json_t *params,
                           const char *secret);

/**
 * The enrolment's one live link: lock live enrolment @a id, end its
 * earlier links and delete their unsent messages, then make a new
 * single-use resume token (one hour, never past the enrolment's expiry)
 * and queue message @a kind carrying its link
 * <base_url>/#resume=<id>.<token> (the token in the row's secret column).
 * NO_ROW: no live enrolment by that id.
 */
enum core_db_status
enrol_link_message_tx (struct core_db *db, const char *id,
                       const char *base_url, const char *kind);

/** Map a failed statement to 503 (connection gone) or 500 (our bug). */
enum core_err
enrol_db_err (struct core_db *db);

#endif

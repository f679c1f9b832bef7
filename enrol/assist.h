/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * assist.h -- assisted enrolment: an advisor follows an applicant's
 * enrolment, only with the applicant's one-time code and consent, and only
 * while the applicant lets it (API.md "Assisted enrolment", docs/assist.md).
 *
 * The applicant asks for help with the scopes it agrees to show and gets a
 * 6-digit code (single use, assist_code_ttl_s, stored as a keyed HMAC; a new
 * request ends the previous code and session).  An advisor who enters the
 * code joins a read-only view of that enrolment, built from an allow-list
 * of fields per scope (assist_view.c), and may send short text hints.  The
 * applicant may stop at any moment; the session also ends when the
 * enrolment completes, is rejected or expires, or after assist_idle_s
 * without activity.  Every step goes to the audit log; the code never does.
 *
 * Nothing here changes an enrolment: an advisor can read and send hints,
 * nothing else.  No HTTP here; server/http_assist.c is the only caller.
 */
#ifndef GUICHET_ENROL_ASSIST_H
#define GUICHET_ENROL_ASSIST_H

#include <stdbool.h>
#include <jansson.h>
#include "core/db.h"
#include "core/error.h"

#define ENROL_ASSIST_ID_MAX 64
#define ENROL_ASSIST_CODE_DIGITS 6
#define ENROL_ASSIST_HINT_MAX 280        /* characters */
#define ENROL_ASSIST_HINTS_PER_SESSION 50
#define ENROL_ASSIST_OFFERS_PER_HOUR 10  /* help requests per enrolment */

/* What the applicant agrees the advisor may see (a bit set). */
enum enrol_assist_scope {
  ENROL_ASSIST_PROGRESS = 1,   /* state, step, expiry: always included */
  ENROL_ASSIST_IDENTITY = 2,   /* declared data and identity reasons */
  ENROL_ASSIST_DEVICE = 4      /* the phone's status and risk reasons */
};

/** Statements of assisted enrolment for core_db_register (once, from main). */
void
enrol_assist_register_statements (void);

/**
 * The scopes named in @a names (a JSON array of distinct strings among
 * "progress", "identity", "device"); "progress" is always added.
 * @return 0, or -1 when @a names is not such an array.
 */
int
enrol_assist_scopes_parse (const json_t *names, unsigned int *scopes);

/** @return a new JSON array naming @a scopes, in a fixed order. */
json_t *
enrol_assist_scopes_json (unsigned int scopes);

/* ------------------------------------------------------------ applicant */

struct enrol_assist_offer {
  char code[ENROL_ASSIST_CODE_DIGITS + 1];  /* secret: shown once */
  char expires_at[32];                      /* RFC 3339 UTC */
  unsigned int scopes;
  long retry_after;          /* on CORE_ERR_RATE_LIMITED: seconds (>= 1) */
};

/**
 * Ask for help: draw a new code for enrolment @a id, ending any earlier
 * code or session of it (audited as replaced).  At most
 * ENROL_ASSIST_OFFERS_PER_HOUR per enrolment, so a session cannot fill the
 * tables and the audit log.
 * @param[out] out  the code; wipe it with enrol_assist_offer_clear()
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_WRONG_STATE (completed or
 *         rejected), CORE_ERR_ENROLMENT_EXPIRED, CORE_ERR_RATE_LIMITED
 *         (out->retry_after), CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
enrol_assist_offer (struct core_db *db, const char *id, unsigned int scopes,
                    struct enrol_assist_offer *out);

void
enrol_assist_offer_clear (struct enrol_assist_offer *o);

/**
 * The applicant's Stop: end enrolment @a id's code and session at once
 * (the advisor's next request is 410 assist_ended).  Nothing to end is
 * fine.  @return CORE_OK, CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
enrol_assist_stop (struct core_db *db, const char *id);

/**
 * The "assist" member of the applicant's view of enrolment @a id:
 * {"advisor", "scopes", "joined_at", "hints": [{"at", "text", "step"}]}
 * while a session runs.  A session that should have ended (idle, the
 * enrolment over) is ended here.
 * @param[out] assist  new object, or NULL when no session runs
 * @return CORE_OK, CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
enrol_assist_for_applicant (struct core_db *db, const char *id,
                            json_t **assist);

/* ------------------------------------------------------------ advisor */

struct enrol_assist_join {
  char assist_id[ENROL_ASSIST_ID_MAX];
  char enrolment_id[ENROL_ASSIST_ID_MAX];
  unsigned int scopes;
  long retry_after;          /* on CORE_ERR_RATE_LIMITED: seconds (>= 1) */
};

/**
 * An advisor enters a code.  The per-advisor limit of wrong codes
 * (assist_code_attempts per assist_code_window_s, counted in PostgreSQL)
 * is checked first: once reached, even a right code is refused.  Every
 * attempt is audited, never with the code.
 * @return CORE_OK (res filled), CORE_ERR_NOT_FOUND (wrong, used, replaced
 *         or expired code: counted), CORE_ERR_RATE_LIMITED
 *         (res->retry_after), CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
enrol_assist_join (struct core_db *db, const char *advisor, const char *code,
                   const char *client_addr, struct enrol_assist_join *res);

/**
 * Session @a assist_id as @a advisor may see it (assist_view.c): the
 * enrolment limited to the consented scopes, the hints sent, and a
 * "version" that changes whenever any of it does.
 * @param[out] view        new object on CORE_OK
 * @param[out] enrolment_id  (ENROL_ASSIST_ID_MAX) the key to wait on
 * @param[out] end_reason  on CORE_ERR_ASSIST_ENDED: why (static string)
 * @return CORE_OK, CORE_ERR_NOT_FOUND (unknown, or joined by another
 *         advisor), CORE_ERR_ASSIST_ENDED, CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
enrol_assist_view (struct core_db *db, const char *advisor,
                   const char *assist_id, json_t **view, char *enrolment_id,
                   const char **end_reason);

/**
 * Send a hint to the applicant's page.
 * @param[out] hint  new {"at", "text", "step"} on CORE_OK
 * @return CORE_OK, CORE_ERR_INVALID_FIELD (text empty, too long, or with
 *         control, bidi-override or zero-width characters),
 *         CORE_ERR_POLICY_REFUSED (ENROL_ASSIST_HINTS_PER_SESSION sent),
 *         CORE_ERR_NOT_FOUND, CORE_ERR_ASSIST_ENDED (end_reason), database
 *         errors.
 */
enum core_err
enrol_assist_hint (struct core_db *db, const char *advisor,
                   const char *assist_id, const char *text, json_t **hint,
                   const char **end_reason);

/**
 * The advisor ends the session.
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_ASSIST_ENDED (it already
 *         had: end_reason), database errors.
 */
enum core_err
enrol_assist_leave (struct core_db *db, const char *advisor,
                    const char *assist_id, const char **end_reason);

/** @return true if @a text may be a hint (see enrol_assist_hint). */
bool
enrol_assist_hint_text_ok (const char *text);

#endif

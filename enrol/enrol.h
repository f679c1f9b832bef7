/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * enrol.h -- what server/ may ask of the onboarding module: start an
 * enrolment (with its identity check), read it, and manage the applicant's
 * browser session (idle expiry, resume links).
 *
 * No HTTP here: plain strings in, a core_err and a JSON view out.  Session
 * tokens are returned once to be set as a cookie and stored only as SHA-256.
 */
#ifndef GUICHET_ENROL_H
#define GUICHET_ENROL_H

#include <stdbool.h>
#include <jansson.h>
#include "core/db.h"
#include "core/error.h"

#define ENROL_ID_MAX 64

/** Statements of enrol/ for core_db_register (call once from main). */
void
enrol_register_statements (void);

/**
 * Load (or reload, on SIGHUP) the sanctions list from the configured
 * folder.  Requests in flight keep screening against the old list; the new
 * one replaces it atomically.  @return 0, or -1 (the old list, or none,
 * stays in force; screening then reports `unavailable`).
 */
int
enrol_sanctions_reload (void);

/**
 * The listed individual @a entry_id of the list in force, for a reviewer
 * deciding a sanctions hit: {"entry_id", "list", "names": [{"name",
 * "alias"}], "birth_dates", "places_of_birth", "nationalities",
 * "citizenships", "programmes", "title"}, read from the list's own fields
 * (its Remarks cut at ";"; passport and other identity numbers are left
 * out).  @return a new object, or NULL when no list is loaded or it does
 * not hold that entry (any more).
 */
json_t *
enrol_sanctions_describe (long entry_id);

/**
 * Bring the identifiers stored with enrolments to the current token key
 * (tokens.c): recompute identity keys from the applicant data, wrap the
 * unkeyed document hashes written before tokenisation.  Safe to run from
 * several processes at once; a no-op when everything is current.
 * @param[out] rows  rows changed
 * @return CORE_OK, CORE_ERR_INTERNAL (no token key, or our bug),
 *         CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
enrol_tokens_rekey (struct core_db *db, long *rows);

struct enrol_applicant {
  const char *given_names;
  const char *surname;
  const char *birth_date;          /* YYYY-MM-DD */
  const char *nationality;         /* ISO 3166-1 alpha-3 (or ICAO code) */
  const char *residence_country;   /* ISO 3166-1 alpha-3 */
  const char *email;
  const char *phone;               /* E.164 once parsed (phone.c) */
};

struct enrol_start_req {
  struct enrol_applicant applicant;
  const char *mrz;
  const char *on_mismatch;         /* "ask": a declared-data mismatch is
                                      answered for correction (nothing
                                      stored); NULL or "review": review */
  const char *lang;                /* "en" | "fr" for messages; NULL: en */
  const char *idempotency_key;     /* may be NULL */
  const char *body_sha256_hex;     /* with idempotency_key */
  const char *client_addr;         /* for the per-address rate limit */
  char phone_e164[20];             /* applicant.phone points here once a
                                      national number was read */
  char mrz_tidy[256];              /* mrz points here: upper case, one
                                      pasted line cut (enrol_mrz_tidy) */
};

struct enrol_start_res {
  char id[ENROL_ID_MAX];
  char *session_token;   /* malloc'd secret for the cookie; core_free_secret;
                            NULL for a replay (no session is handed out) */
  json_t *view;          /* the enrolment as API.md shows it (caller owns) */
  json_t *bad_fields;    /* on CORE_ERR_INVALID_FIELD: every bad field's
                            dotted name, in form order (caller owns) */
  json_t *mismatch;      /* on CORE_ERR_POLICY_REFUSED: {"reasons",
                            "fields", "document"} (caller owns) */
  bool replayed;         /* answer replayed for an Idempotency-Key */
  long retry_after;      /* on CORE_ERR_RATE_LIMITED: seconds */
};

/**
 * Read the body of POST /v1/enrolments into @a req (strings borrowed from
 * @a body) with its field tables: unknown, missing, mistyped or over-long
 * fields are refused.
 * @param[out] bad_field  on error, the first bad field: a top-level name
 *             borrowed from @a body or the table ("body" if @a body is not
 *             an object), or a nested one as "applicant.email" in a
 *             thread-local buffer; NULL on success
 * @return CORE_OK or CORE_ERR_INVALID_FIELD
 */
enum core_err
enrol_start_req_parse (json_t *body, struct enrol_start_req *req,
                       const char **bad_field);

/**
 * Validate the request, run the identity check, then in one transaction
 * take the request from the per-address rate limit
 * (rate_enrolment_per_address), store the enrolment and start a session.
 * With an Idempotency-Key seen before (same body): the first answer again,
 * res->replayed, and no session.
 * With on_mismatch "ask", typed data that differs from the document's
 * (name, birth date, nationality) and would only send the enrolment to
 * review is answered for correction instead: nothing is written.
 * @return CORE_OK (res filled), CORE_ERR_INVALID_FIELD (res->bad_fields),
 *         CORE_ERR_POLICY_REFUSED (res->mismatch: the applicant may correct),
 *         CORE_ERR_CONFLICT (Idempotency-Key reused with another body),
 *         CORE_ERR_RATE_LIMITED (res->retry_after; nothing written),
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
enrol_start (struct core_db *db, const struct enrol_start_req *req,
             struct enrol_start_res *res);

/**
 * Check that the session @a token may act on enrolment @a id, and touch it.
 * @return CORE_OK, CORE_ERR_NOT_FOUND (no such session or enrolment, or
 *         another enrolment's session: no enumeration),
 *         CORE_ERR_UNAUTHORIZED (the session was idle too long: resume by
 *         the e-mailed link), CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
enrol_session_check (struct core_db *db, const char *token, const char *id);

/**
 * The enrolment's current view.  An enrolment past its expiry is moved to
 * `expired` and answers CORE_ERR_ENROLMENT_EXPIRED.
 * @return CORE_OK (*view set), CORE_ERR_NOT_FOUND,
 *         CORE_ERR_ENROLMENT_EXPIRED, CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
enrol_get (struct core_db *db, const char *id, json_t **view);

/**
 * Queue a resume link for enrolment @a id to its applicant's e-mail, after
 * taking the request from the rate limits per client address and per
 * enrolment (in the same transaction; the enrolment's limit counts
 * whether or not it exists, so a 429 tells nothing either).
 * @param[out] retry_after  on CORE_ERR_RATE_LIMITED, seconds
 * @return CORE_OK for a well-formed id (does not reveal whether it
 *         exists), CORE_ERR_RATE_LIMITED, CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
enrol_resume_link (struct core_db *db, const char *id, const char *base_url,
                   const char *client_addr, long *retry_after);

/**
 * Exchange a resume token (single use) for a new session.
 * @param[out] session_token  malloc'd secret on success
 * @return CORE_OK, CORE_ERR_NOT_FOUND (unknown, used or expired token),
 *         CORE_ERR_ENROLMENT_EXPIRED, CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
enrol_resume (struct core_db *db, const char *id, const char *token,
              char **session_token, json_t **view);

/**
 * The applicant chooses their assurance code (already normalised by
 * notify_code_normalise) in any state before `completed`; it is sealed to
 * the enrolment and becomes the customer's at completion.  Choosing again
 * replaces it.
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_WRONG_STATE (completed or
 *         rejected), CORE_ERR_ENROLMENT_EXPIRED,
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
enrol_assurance_code (struct core_db *db, const char *id, const char *code);

/**
 * The customer's phone changes their assurance code (a signed device
 * request): the device must be active and its enrolment completed.  The
 * customer is told by e-mail, which ends with the new code.  Each change
 * takes one from rate_assurance_code_per_customer: a phone in a thief's
 * hand cannot fill the customer's mailbox.
 * @param[out] retry_after  on CORE_ERR_RATE_LIMITED, seconds to wait
 * @return CORE_OK, CORE_ERR_FORBIDDEN (the device has no customer yet, or
 *         its credential was revoked), CORE_ERR_RATE_LIMITED,
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
enrol_device_assurance_code (struct core_db *db, const char *device_id,
                             const char *code, unsigned int *retry_after);

#endif

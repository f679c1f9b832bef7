/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * identity.h -- internal to enrol/: the identity check of an applicant
 * against their document's MRZ and the sanctions list.  Pure computation:
 * the duplicate-identity look-up, which needs the database, is added by
 * enrolment.c with enrol_identity_with_duplicates().
 */
#ifndef GUICHET_ENROL_IDENTITY_H
#define GUICHET_ENROL_IDENTITY_H

#include <jansson.h>
#include "enrol/enrol.h"
#include "enrol/mrz.h"
#include "enrol/tokens.h"

enum enrol_decision {
  ENROL_PASS = 0,
  ENROL_REVIEW,
  ENROL_REJECT
};

struct enrol_identity {
  enum enrol_decision decision;
  json_t *reasons;          /* array of reason codes, in order found */
  json_t *checks;           /* array of {"check","result",...} */
  bool tokens_ok;           /* false: no token key (the caller refuses) */
  bool has_doc;             /* an MRZ was read: @a doc holds its tokens */
  struct enrol_tokens doc;       /* the document (issuing state + number) */
  struct enrol_tokens identity;  /* declared names and birth date */
};

/** Run every check; @a out is filled (release with enrol_identity_free). */
void
enrol_identity_check (const struct enrol_applicant *a, const char *mrz,
                      struct enrol_date today, struct enrol_identity *out);

/**
 * A copy of @a idn (release with enrol_identity_free) with the enrolments
 * found with the same document or identity recorded: @a ids, possibly
 * empty; @a same_document: one of them presented the same document;
 * @a attach_customer_id: the one existing customer who enrolled with this
 * document, or NULL.  Any duplicate sends the identity to review.
 */
void
enrol_identity_with_duplicates (const struct enrol_identity *idn,
                                json_t *ids, bool same_document,
                                const char *attach_customer_id,
                                struct enrol_identity *out);

/**
 * Screen the applicant against the sanctions list in force (holder.c):
 * the declared names with the declared birth date and, when the document
 * was read (@a mrz not NULL), the MRZ's names with its birth date; each
 * also with runs of single letters joined ("A.B.B.A.S" -> ABBAS).
 */
void
enrol_identity_screen (struct enrol_identity *idn,
                       const struct enrol_applicant *a,
                       const struct enrol_mrz *mrz);

/** @return whether the applicant (and so an advisor following them) may
    read the identity reason @a code: one about what they typed or hold. */
bool
enrol_identity_reason_told (const char *code);

/**
 * What the applicant may be told of an identity result (API.md, "What the
 * applicant is told"): the reasons about what they typed or hold, the
 * checks of those, and the one neutral reason "manual_check" for anything
 * about screening lists, other people or other enrolments.  Idempotent:
 * the view of a view is itself.
 * @param full  {"decision","reasons","checks"} as stored (borrowed)
 * @return a new object, or NULL when @a full is not an object
 */
json_t *
enrol_identity_applicant_view (const json_t *full);

/** {"decision","reasons","checks"} (new reference). */
json_t *
enrol_identity_json (const struct enrol_identity *idn);

const char *
enrol_decision_name (enum enrol_decision d);

void
enrol_identity_free (struct enrol_identity *idn);

/** Today's date in UTC. */
struct enrol_date
enrol_today (void);

#endif

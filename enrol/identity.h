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

enum enrol_decision {
  ENROL_PASS = 0,
  ENROL_REVIEW,
  ENROL_REJECT
};

struct enrol_identity {
  enum enrol_decision decision;
  json_t *reasons;          /* array of reason codes, in order found */
  json_t *checks;           /* array of {"check","result",...} */
  char doc_key[65];         /* SHA-256 hex of state + number, "" if no MRZ */
  char identity_key[65];    /* SHA-256 hex of normalised names + birth */
};

/** Run every check; @a out is filled (release with enrol_identity_free). */
void
enrol_identity_check (const struct enrol_applicant *a, const char *mrz,
                      struct enrol_date today, struct enrol_identity *out);

/**
 * A copy of @a idn (release with enrol_identity_free) with the enrolments
 * found with the same document or identity recorded: @a ids, possibly empty.
 */
void
enrol_identity_with_duplicates (const struct enrol_identity *idn,
                                json_t *ids, struct enrol_identity *out);

/** Screen the applicant against the sanctions list in force (holder.c). */
void
enrol_identity_screen (struct enrol_identity *idn,
                       const struct enrol_applicant *a);

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

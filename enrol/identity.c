/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * identity.c -- the identity check: the document's MRZ against the
 * applicant's declared data, the document's validity, the applicant's age,
 * and sanctions screening.
 *
 * Every check is reported with its result so the back-office can see why;
 * reasons are API.md's stable codes.  Policy: a document that cannot be
 * read, fails its check digits, has expired, or belongs to a minor is
 * refused; a disagreement with the declared data, a sanctions list hit, an
 * unavailable list or a duplicate goes to a person (a fuzzy list match is
 * never an automatic verdict either way).  Never log the MRZ or the
 * document number: the document is kept only as a SHA-256 key.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "core/crypto.h"
#include "enrol/identity.h"
#include "enrol/names.h"
#include "enrol/sanctions_holder.h"

const char *
enrol_decision_name (enum enrol_decision d)
{
  static const char *const names[] = { "pass", "review", "reject" };

  return (d <= ENROL_REJECT) ? names[d] : "reject";
}

struct enrol_date
enrol_today (void)
{
  time_t now = time (NULL);
  struct tm tm;

  gmtime_r (&now, &tm);
  return (struct enrol_date) { tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday };
}

/* Record a failed check: its reason and the decision it implies. */
static void
flag (struct enrol_identity *idn, const char *reason, enum enrol_decision d)
{
  json_array_append_new (idn->reasons, json_string (reason));
  if (d > idn->decision)
    idn->decision = d;
}

static void
check (struct enrol_identity *idn, const char *name, const char *result)
{
  json_array_append_new (idn->checks, json_pack ("{s:s, s:s}", "check", name,
                                                 "result", result));
}

static void
identity_key (const struct enrol_applicant *a, char out[65])
{
  char sur[128] = "", giv[128] = "", buf[300];

  enrol_names_to_mrz (a->surname, sur, sizeof sur);
  enrol_names_to_mrz (a->given_names, giv, sizeof giv);
  snprintf (buf, sizeof buf, "%s|%s|%s", sur, giv, a->birth_date);
  core_sha256_hex (buf, strlen (buf), out);
}

static void
doc_key (const struct enrol_mrz *m, char out[65])
{
  char buf[64];

  snprintf (buf, sizeof buf, "%s|%s", m->issuing_state, m->document_number);
  core_sha256_hex (buf, strlen (buf), out);
  OPENSSL_cleanse (buf, sizeof buf);
}

/* Declared data against the MRZ. */
static void
check_declared (struct enrol_identity *idn, const struct enrol_applicant *a,
                const struct enrol_mrz *m)
{
  bool name_ok = enrol_names_match_mrz (a->surname, a->given_names, m);
  bool birth_ok = 0 == strcmp (a->birth_date, m->birth_date);
  bool nat_ok = 0 == strcmp (a->nationality, m->nationality);

  check (idn, "name", name_ok ? "pass" : "fail");
  if (! name_ok)
    flag (idn, "name_mismatch", ENROL_REVIEW);
  check (idn, "birth_date", birth_ok ? "pass" : "fail");
  if (! birth_ok)
    flag (idn, "birth_date_mismatch", ENROL_REVIEW);
  check (idn, "nationality", nat_ok ? "pass" : "fail");
  if (! nat_ok)
    flag (idn, "nationality_mismatch", ENROL_REVIEW);
}

/* Expiry and age, from the document (the authority) when it was read. */
static void
check_validity (struct enrol_identity *idn, const struct enrol_mrz *m,
                struct enrol_date today)
{
  bool expired = enrol_mrz_is_expired (m->expiry, today);

  json_array_append_new (idn->checks,
                         json_pack ("{s:s, s:s, s:s, s:b}", "check", "expiry",
                                    "result", expired ? "fail" : "pass",
                                    "expiry_date", m->expiry_date,
                                    "derived", m->expiry_derived));
  if (expired)
    flag (idn, "document_expired", ENROL_REJECT);
  if (enrol_mrz_age_on (m->birth, today) < 18)
  {
    check (idn, "age", "fail");
    flag (idn, "underage", ENROL_REJECT);
  }
  else
    check (idn, "age", "pass");
}

static void
check_mrz (struct enrol_identity *idn, const struct enrol_applicant *a,
           const char *mrz, struct enrol_date today)
{
  struct enrol_mrz m;
  const char *field = NULL;
  enum enrol_mrz_err e = enrol_mrz_parse (mrz, today, &m, &field);

  if (MRZ_OK != e)
  {
    const char *reason = MRZ_CHECK_DIGIT == e ? "mrz_check_digit"
                         : "mrz_format";

    json_array_append_new (idn->checks,
                           json_pack ("{s:s, s:s, s:s, s:s?}", "check", "mrz",
                                      "result", "fail", "reason", reason,
                                      "field", field));
    flag (idn, reason, ENROL_REJECT);
    OPENSSL_cleanse (&m, sizeof m);
    return;
  }
  json_array_append_new (idn->checks,
                         json_pack ("{s:s, s:s, s:s, s:s}", "check", "mrz",
                                    "result", "pass", "document_code",
                                    m.document_code, "issuing_state",
                                    m.issuing_state));
  doc_key (&m, idn->doc_key);
  check_declared (idn, a, &m);
  check_validity (idn, &m, today);
  OPENSSL_cleanse (&m, sizeof m);
}

void
enrol_identity_check (const struct enrol_applicant *a, const char *mrz,
                      struct enrol_date today, struct enrol_identity *out)
{
  memset (out, 0, sizeof *out);
  out->decision = ENROL_PASS;
  out->reasons = json_array ();
  out->checks = json_array ();
  identity_key (a, out->identity_key);
  check_mrz (out, a, mrz, today);
  enrol_identity_screen (out, a);
}

static void
add_duplicates (struct enrol_identity *idn, json_t *ids)
{
  if (0 == json_array_size (ids))
  {
    check (idn, "duplicate", "pass");
    return;
  }
  json_array_append_new (idn->checks,
                         json_pack ("{s:s, s:s, s:O}", "check", "duplicate",
                                    "result", "review", "enrolments", ids));
  flag (idn, "duplicate_identity", ENROL_REVIEW);
}

void
enrol_identity_with_duplicates (const struct enrol_identity *idn,
                                json_t *ids, struct enrol_identity *out)
{
  *out = *idn;
  out->reasons = json_deep_copy (idn->reasons);
  out->checks = json_deep_copy (idn->checks);
  add_duplicates (out, ids);
}

json_t *
enrol_identity_json (const struct enrol_identity *idn)
{
  return json_pack ("{s:s, s:O, s:O}", "decision",
                    enrol_decision_name (idn->decision), "reasons",
                    idn->reasons, "checks", idn->checks);
}

void
enrol_identity_free (struct enrol_identity *idn)
{
  json_decref (idn->reasons);
  json_decref (idn->checks);
  idn->reasons = idn->checks = NULL;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * identity.c -- the identity check: the document's MRZ against the
 * applicant's declared data, the document's validity, the applicant's age,
 * and sanctions screening.
 *
 * Every check is reported with its result so the back-office can see why;
 * reasons are API.md's stable codes.  Policy: a document that cannot be
 * read, fails its check digits, has expired, or belongs to a minor is
 * refused; a disagreement with the declared data (letters, or the words
 * they form), a sanctions list hit, an unavailable list or a duplicate
 * goes to a person (a fuzzy list match is never an automatic verdict either
 * way).  Never log the MRZ or the document number: the document is kept
 * only as a keyed token (tokens.c), and shown to staff masked.
 *
 * The applicant is told less than staff (enrol_identity_applicant_view):
 * only what they typed or hold; screening lists, other people and other
 * enrolments reach them as the one neutral reason "manual_check", so a
 * result neither tips off a listed person nor tells who is a customer.
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

/* The document number as staff see it: its last three characters. */
static void
masked_number (const char *number, char out[16])
{
  size_t n = strlen (number);

  snprintf (out, 16, "******%s", n > 3 ? number + n - 3 : "");
}

/* Declared data against the MRZ. */
static void
check_declared (struct enrol_identity *idn, const struct enrol_applicant *a,
                const struct enrol_mrz *m)
{
  bool name_ok = enrol_names_match_mrz (a->surname, a->given_names, m);
  /* The same letters cut into other words ("A.B.B.A.S" for ABBAS) are
     another name to screening: a person looks. */
  bool words_ok = name_ok
                  && enrol_names_same_words_mrz (a->surname, a->given_names,
                                                 m);
  bool birth_ok = 0 == strcmp (a->birth_date, m->birth_date);
  bool nat_ok = 0 == strcmp (a->nationality, m->nationality);

  if (name_ok && ! words_ok)
    json_array_append_new (idn->checks,
                           json_pack ("{s:s, s:s, s:s}", "check", "name",
                                      "result", "fail", "detail",
                                      "word_structure"));
  else
    check (idn, "name", name_ok ? "pass" : "fail");
  if (! words_ok)
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

/* @return true if the MRZ was read into @a m (the caller cleanses it). */
static bool
check_mrz (struct enrol_identity *idn, const struct enrol_applicant *a,
           const char *mrz, struct enrol_date today, struct enrol_mrz *m)
{
  const char *field = NULL;
  enum enrol_mrz_err e = enrol_mrz_parse (mrz, today, m, &field);
  char masked[16];

  if (MRZ_OK != e)
  {
    const char *reason = MRZ_CHECK_DIGIT == e ? "mrz_check_digit"
                         : "mrz_format";

    json_array_append_new (idn->checks,
                           json_pack ("{s:s, s:s, s:s, s:s?}", "check", "mrz",
                                      "result", "fail", "reason", reason,
                                      "field", field));
    flag (idn, reason, ENROL_REJECT);
    return false;
  }
  masked_number (m->document_number, masked);
  /* What the document says, for the reviewer to set beside what was
     typed (the number masked); the applicant's view leaves it out. */
  json_array_append_new (idn->checks,
                         json_pack ("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s,"
                                    " s:s, s:s, s:s, s:b}}", "check",
                                    "mrz", "result", "pass", "document_code",
                                    m->document_code, "issuing_state",
                                    m->issuing_state, "document_number",
                                    masked, "document", "surname",
                                    m->surname, "given_names",
                                    m->given_names, "birth_date",
                                    m->birth_date, "nationality",
                                    m->nationality, "expiry_date",
                                    m->expiry_date, "expiry_derived",
                                    m->expiry_derived));
  idn->has_doc = true;
  if (0 != enrol_tokens_doc (m->issuing_state, m->document_number, &idn->doc))
    idn->tokens_ok = false;
  check_declared (idn, a, m);
  check_validity (idn, m, today);
  return true;
}

void
enrol_identity_check (const struct enrol_applicant *a, const char *mrz,
                      struct enrol_date today, struct enrol_identity *out)
{
  struct enrol_mrz m;
  bool read;

  memset (out, 0, sizeof *out);
  out->decision = ENROL_PASS;
  out->reasons = json_array ();
  out->checks = json_array ();
  out->tokens_ok = 0 == enrol_tokens_identity (a->surname, a->given_names,
                                               a->birth_date, &out->identity);
  read = check_mrz (out, a, mrz, today, &m);
  enrol_identity_screen (out, a, read ? &m : NULL);
  OPENSSL_cleanse (&m, sizeof m);
}

static void
add_duplicates (struct enrol_identity *idn, json_t *ids, bool same_document,
                const char *attach_customer_id)
{
  if (0 == json_array_size (ids) && NULL == attach_customer_id)
  {
    check (idn, "duplicate", "pass");
    return;
  }
  json_array_append_new (idn->checks,
                         json_pack ("{s:s, s:s, s:O, s:b, s:s?}", "check",
                                    "duplicate", "result", "review",
                                    "enrolments", ids, "same_document",
                                    same_document, "attach_customer_id",
                                    attach_customer_id));
  flag (idn, "duplicate_identity", ENROL_REVIEW);
}

void
enrol_identity_with_duplicates (const struct enrol_identity *idn,
                                json_t *ids, bool same_document,
                                const char *attach_customer_id,
                                struct enrol_identity *out)
{
  *out = *idn;
  out->reasons = json_deep_copy (idn->reasons);
  out->checks = json_deep_copy (idn->checks);
  add_duplicates (out, ids, same_document, attach_customer_id);
}

/* ------------------------------------------------------------ applicant */

/* Reasons about what the applicant typed or holds (API.md, normative). */
static const char *const told_reasons[] = {
  "mrz_format", "mrz_check_digit", "name_mismatch", "birth_date_mismatch",
  "nationality_mismatch", "document_expired", "underage", NULL
};

/* Checks of those, and the members of each the applicant may read. */
static const char *const told_checks[] = {
  "mrz", "name", "birth_date", "nationality", "expiry", "age", NULL
};
static const char *const told_members[] = {
  "check", "result", "reason", "field", "document_code", "issuing_state",
  "expiry_date", "derived", NULL
};

static bool
listed (const char *const *list, const char *s)
{
  for (; NULL != s && NULL != *list; list++)
    if (0 == strcmp (*list, s))
      return true;
  return false;
}

bool
enrol_identity_reason_told (const char *code)
{
  return listed (told_reasons, code);
}

/* One check as the applicant may read it, or NULL if it is not theirs. */
static json_t *
told_check (json_t *c)
{
  const char *name = json_string_value (json_object_get (c, "check"));
  const char *field;
  json_t *out, *v;
  const char *k;

  if (! listed (told_checks, name) || NULL == (out = json_object ()))
    return NULL;
  json_object_foreach (c, k, v)
    if (listed (told_members, k))
      json_object_set (out, k, v);
  /* API.md names the TD3 personal number's check digit optional_data. */
  field = json_string_value (json_object_get (out, "field"));
  if (NULL != field && 0 == strcmp (field, "personal_number"))
    json_object_set_new (out, "field", json_string ("optional_data"));
  return out;
}

json_t *
enrol_identity_applicant_view (const json_t *full)
{
  json_t *reasons = json_array (), *checks = json_array (), *v;
  const char *decision = json_string_value (json_object_get (full,
                                                             "decision"));
  bool hidden = false;
  size_t i;

  if (! json_is_object (full) || NULL == reasons || NULL == checks)
  {
    json_decref (reasons);
    json_decref (checks);
    return NULL;
  }
  json_array_foreach (json_object_get (full, "reasons"), i, v)
  {
    const char *r = json_string_value (v);

    if (listed (told_reasons, r))
      json_array_append (reasons, v);
    else
      hidden = true;        /* manual_check itself, in a view of a view */
  }
  /* A refusal already explained by what was typed needs no manual check. */
  if (hidden && (NULL == decision || 0 != strcmp (decision, "reject")
                 || 0 == json_array_size (reasons)))
    json_array_append_new (reasons, json_string ("manual_check"));
  json_array_foreach (json_object_get (full, "checks"), i, v)
  {
    json_t *c = told_check (v);

    if (NULL != c)
      json_array_append_new (checks, c);
  }
  return json_pack ("{s:s, s:o, s:o}", "decision",
                    NULL != decision ? decision : "review", "reasons",
                    reasons, "checks", checks);
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
  OPENSSL_cleanse (&idn->doc, sizeof idn->doc);
  OPENSSL_cleanse (&idn->identity, sizeof idn->identity);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * fuzz_mrz.c -- the MRZ parser (enrol/mrz.c, mrz_date.c) and, behind it,
 * the identity check an applicant's typed data goes through
 * (enrol/identity.c, names.c): transliteration and matching of declared
 * UTF-8 names against the MRZ, dates, age, expiry, and -- when the OFAC
 * list in ../shared/data is there (GUICHET_SHARED_DIR) -- screening.
 *
 * Input: the MRZ text, optionally followed by '|' surname '|' given names
 * '|' birth date '|' nationality (the declared data, any bytes).  '|' is
 * outside the MRZ alphabet, so the split never hides an MRZ character.
 *
 * Properties checked besides "no crash": a parse either fills the struct
 * with a consistent document (real dates, the birth not after today,
 * names of letters and single spaces, a document number) and names no
 * field, or zeroes it and names the culprit; the identity check always
 * yields a decision, reasons and checks that serialise to JSON; a name's
 * MRZ transliteration holds only [A-Z0-9<] (digits pass through: a typed
 * name may hold them, an MRZ name never matches them).
 */
#include "fuzz.h"

#include <jansson.h>

#include "enrol/identity.h"
#include "enrol/mrz.h"
#include "enrol/names.h"
#include "enrol/sanctions.h"

static const struct enrol_date today = { 2025, 6, 15 };
static struct enrol_sanctions_list *list;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  const char *shared = getenv ("GUICHET_SHARED_DIR");
  char dir[512];

  (void) argc;
  (void) argv;
  if (shared != NULL
      && snprintf (dir, sizeof dir, "%s/data/sanctions/ofac", shared)
         < (int) sizeof dir)
    list = enrol_sanctions_load (dir, NULL, 0);
  return 0;
}

static bool
all_zero (const void *p, size_t n)
{
  const unsigned char *c = p;

  for (size_t i = 0; i < n; i++)
    if (c[i] != 0)
      return false;
  return true;
}

/* Letters and single inner spaces, as struct enrol_mrz promises. */
static bool
mrz_name_ok (const char *s)
{
  size_t n = strlen (s);

  if (n > 0 && (s[0] == ' ' || s[n - 1] == ' '))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z')
          || (s[i] == ' ' && i > 0 && s[i - 1] != ' ')))
      return false;
  return true;
}

static void
check_parsed (const struct enrol_mrz *m)
{
  struct enrol_date d;

  FUZZ_CHECK (m->format >= MRZ_TD1 && m->format <= MRZ_FRA_CNI);
  FUZZ_CHECK (enrol_date_valid (m->birth));
  FUZZ_CHECK (enrol_date_cmp (m->birth, today) <= 0);
  FUZZ_CHECK (enrol_mrz_age_on (m->birth, today) >= 0);
  FUZZ_CHECK (enrol_date_valid (m->expiry));
  FUZZ_CHECK (enrol_date_parse (m->birth_date, &d) == 0
              && enrol_date_cmp (d, m->birth) == 0);
  FUZZ_CHECK (enrol_date_parse (m->expiry_date, &d) == 0
              && enrol_date_cmp (d, m->expiry) == 0);
  FUZZ_CHECK (m->document_number[0] != '\0');
  FUZZ_CHECK (strlen (m->issuing_state) >= 1
              && strlen (m->nationality) >= 1);
  FUZZ_CHECK (mrz_name_ok (m->surname) && mrz_name_ok (m->given_names));
  FUZZ_CHECK (m->sex == 'M' || m->sex == 'F' || m->sex == 'X'
              || m->sex == '<');
}

static void
check_transliteration (const char *name)
{
  char out[256];

  if (enrol_names_to_mrz (name, out, sizeof out) != 0)
    return;
  for (const char *p = out; *p != '\0'; p++)
    FUZZ_CHECK ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
                || *p == '<');
}

/* What an applicant is told names only what they typed (API.md): never a
   screening or duplicate reason, and the view of a view is itself. */
static void
check_applicant_view (const json_t *full)
{
  static const char *const allowed[] = {
    "mrz_format", "mrz_check_digit", "name_mismatch", "birth_date_mismatch",
    "nationality_mismatch", "document_expired", "underage", "manual_check"
  };
  json_t *view = enrol_identity_applicant_view (full), *again, *r;
  char *a, *b;
  size_t i;

  FUZZ_CHECK (view != NULL);
  json_array_foreach (json_object_get (view, "reasons"), i, r)
  {
    bool ok = false;

    FUZZ_CHECK (json_is_string (r));
    for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
      ok = ok || 0 == strcmp (json_string_value (r), allowed[k]);
    FUZZ_CHECK (ok);
  }
  again = enrol_identity_applicant_view (view);
  a = json_dumps (view, JSON_COMPACT | JSON_SORT_KEYS);
  b = json_dumps (again, JSON_COMPACT | JSON_SORT_KEYS);
  FUZZ_CHECK (a != NULL && b != NULL && 0 == strcmp (a, b));
  free (a);
  free (b);
  json_decref (again);
  json_decref (view);
}

static void
check_identity (const struct enrol_applicant *a, const char *mrz)
{
  struct enrol_identity idn;
  json_t *j;
  char *text;

  enrol_identity_check (a, mrz, today, &idn);
  FUZZ_CHECK (idn.decision <= ENROL_REJECT);
  FUZZ_CHECK (json_is_array (idn.reasons) && json_is_array (idn.checks));
  /* no keyring here: no token is made, and the caller must be told */
  FUZZ_CHECK (! idn.tokens_ok);
  /* a reject or review always says why */
  FUZZ_CHECK (idn.decision == ENROL_PASS
              || json_array_size (idn.reasons) > 0);
  j = enrol_identity_json (&idn);
  FUZZ_CHECK (j != NULL);
  text = json_dumps (j, JSON_COMPACT);
  FUZZ_CHECK (text != NULL);
  free (text);
  check_applicant_view (j);
  json_decref (j);
  enrol_identity_free (&idn);
}

static void
check_screening (const char *surname, const char *given, const char *birth)
{
  struct enrol_sanctions_result r;

  if (list == NULL)
    return;
  if (enrol_sanctions_screen (list, surname, given, birth, &r) != 0)
    {
      FUZZ_CHECK (r.count == 0 && !r.match);
      return;
    }
  FUZZ_CHECK (r.count <= ENROL_SANCTIONS_MAX_HITS);
  for (size_t i = 0; i < r.count; i++)
    FUZZ_CHECK (r.hits[i].score >= 0.0 && r.hits[i].score <= 1.0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct fuzz_fields ff;
  struct enrol_mrz m;
  const char *field = NULL;
  enum enrol_mrz_err e;

  if (size > 4096 || !fuzz_split (data, size, '|', 5, &ff))
    return 0;
  e = enrol_mrz_parse (ff.f[0], today, &m, &field);
  FUZZ_CHECK (field != NULL);
  FUZZ_CHECK (strcmp (enrol_mrz_err_name (e), "") != 0);
  if (e == MRZ_OK)
    {
      FUZZ_CHECK (field[0] == '\0');
      check_parsed (&m);
    }
  else
    {
      FUZZ_CHECK (e == MRZ_FORMAT || e == MRZ_CHECK_DIGIT || e == MRZ_DATE);
      FUZZ_CHECK (field[0] != '\0');
      FUZZ_CHECK (all_zero (&m, sizeof m));
    }
  FUZZ_CHECK (enrol_mrz_check_digit (ff.f[0], strlen (ff.f[0])) >= -1
              && enrol_mrz_check_digit (ff.f[0], strlen (ff.f[0])) <= 9);
  if (ff.n >= 3)
    {
      struct enrol_applicant a = {
        .surname = ff.f[1], .given_names = ff.f[2],
        .birth_date = ff.n > 3 ? ff.f[3] : "1980-01-01",
        .nationality = ff.n > 4 ? ff.f[4] : "UTO",
        .residence_country = "FRA", .email = "a@example.org",
        .phone = "+33612345678",
      };

      check_transliteration (a.surname);
      check_transliteration (a.given_names);
      if (e == MRZ_OK)
        (void) enrol_names_match_mrz (a.surname, a.given_names, &m);
      check_identity (&a, ff.f[0]);
      check_screening (a.surname, a.given_names,
                       ff.n > 3 ? a.birth_date : NULL);
    }
  fuzz_fields_free (&ff);
  return 0;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_sanctions.c -- the sanctions screening (enrol/sanctions*.c) on the
 * real OFAC SDN list in ../shared/data/sanctions/ofac (read in place,
 * never copied), and on small files written here for the CSV corner cases
 * and the load errors.
 *
 * The entries named below were read from that copy of the list (ent_num,
 * name as listed, DOB remark):
 *   6861  GUZMAN LOERA, Joaquin            DOB 25 Dec 1954
 *   22790 MADURO MOROS, Nicolas            DOB 23 Nov 1962
 *   23343 KADYROV, Ramzan Akhmatovich      DOB 05 Oct 1976
 *   2676  AL ZAWAHIRI, Dr. Ayman           DOB 19 Jun 1951; aliases
 *         AL-ZAWAHIRI, Ayman and SALIM, Ahmad Fuad
 *   7782  SAHINPASIC, Senad                DOB circa 1951
 *   23470 SALAVATI, Abolghassem            DOB Mar 1962 to Feb 1963
 *   15962 NIKOUSOKHAN, Mahmoud             DOB 01 Jan 1961 to 31 Dec 1962
 *   12057 NAQDI, Mohammad Reza             alias NAQDI, Gholamreza
 *   1572  NORIEGA, Manuel Antonio          no DOB
 * and HERMANN, SAND SWAN and TIFON are vessels, BANCO NACIONAL DE CUBA and
 * CIMEX entities.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "enrol/sanctions.h"

#if defined(__has_include)
#if __has_include("guichet_build.h")
#include "guichet_build.h"
#endif
#endif
#ifndef GUICHET_SOURCE_DIR
#define GUICHET_SOURCE_DIR "."
#endif

static struct enrol_sanctions_list *list;

static const char *
ofac_dir (void)
{
  static char path[4096];
  const char *shared = getenv ("GUICHET_SHARED_DIR");

  if (shared == NULL || *shared == '\0')
    shared = GUICHET_SOURCE_DIR "/../shared";
  snprintf (path, sizeof path, "%s/data/sanctions/ofac", shared);
  return path;
}

static int
setup (void **state)
{
  char err[256] = "";

  (void) state;
  list = enrol_sanctions_load (ofac_dir (), err, sizeof err);
  if (list == NULL)
    print_error ("cannot load %s: %s\n", ofac_dir (), err);
  return list == NULL ? -1 : 0;
}

static int
teardown (void **state)
{
  (void) state;
  enrol_sanctions_free (list);
  return 0;
}

static const struct enrol_sanctions_hit *
hit_for (const struct enrol_sanctions_result *r, long id)
{
  for (size_t i = 0; i < r->count; i++)
    if (r->hits[i].entry_id == id)
      return &r->hits[i];
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Real entries                                                       */
/* ------------------------------------------------------------------ */

struct expect {
  const char *surname, *given, *birth;
  long id;
  bool match;
  enum enrol_sanctions_dob dob;
};

#define UNKNOWN ENROL_SANCTIONS_DOB_UNKNOWN
#define CORROBORATED ENROL_SANCTIONS_DOB_CORROBORATED
#define CONTRADICTED ENROL_SANCTIONS_DOB_CONTRADICTED

static const struct expect real[] = {
  /* as written, reordered, accents and case, one-letter typos */
  { "GUZMAN LOERA", "Joaquin", NULL, 6861, true, UNKNOWN },
  { "Joaquín", "Guzmán Loera", NULL, 6861, true, UNKNOWN },
  { "guzmán loera", "JOAQUÍN", NULL, 6861, true, UNKNOWN },
  { "GUZMAN LOERRA", "Joaquin", NULL, 6861, true, UNKNOWN },
  { "GUZMAN LOERA", "Joakin", NULL, 6861, true, UNKNOWN },
  { "Maduro Moros", "Nicolás", NULL, 22790, true, UNKNOWN },
  { "Nicolas", "Maduro Moros", NULL, 22790, true, UNKNOWN },
  { "Кадыров", "Рамзан Ахматович", NULL, 23343, true, UNKNOWN },
  { "KADYROV", "Ramzan", NULL, 23343, true, UNKNOWN },
  { "AL-ZAWAHIRI", "Ayman", NULL, 2676, true, UNKNOWN },
  { "Alzawahiri", "Ayman", NULL, 2676, true, UNKNOWN },
  { "Ayman", "al Zawahiry", NULL, 2676, true, UNKNOWN },
  { "SALIM", "Ahmad Fuad", NULL, 2676, true, UNKNOWN },
  { "NAQDI", "Gholamreza", NULL, 12057, true, UNKNOWN },
  /* dates of birth: exact, same year, other year */
  { "GUZMAN LOERA", "Joaquin", "1954-12-25", 6861, true, CORROBORATED },
  { "GUZMAN LOERA", "Joaquin", "1954-03-01", 6861, true, UNKNOWN },
  { "GUZMAN LOERA", "Joaquin", "1980-01-01", 6861, false, CONTRADICTED },
  { "Maduro Moros", "Nicolas", "1962-11-23", 22790, true, CORROBORATED },
  { "Maduro Moros", "Nicolas", "1990-11-23", 22790, false, CONTRADICTED },
  { "AL ZAWAHIRI", "Ayman", "1951-06-19", 2676, true, CORROBORATED },
  { "SALIM", "Ahmad Fuad", "1970-01-01", 2676, false, CONTRADICTED },
  /* circa 1951: 1950..1952 */
  { "SAHINPASIC", "Senad", "1950-03-03", 7782, true, CORROBORATED },
  { "SAHINPASIC", "Senad", "1952-12-31", 7782, true, CORROBORATED },
  { "SAHINPASIC", "Senad", "1955-03-03", 7782, false, CONTRADICTED },
  /* Mar 1962 to Feb 1963 */
  { "SALAVATI", "Abolghassem", "1962-12-15", 23470, true, CORROBORATED },
  { "SALAVATI", "Abolghassem", "1963-03-15", 23470, true, UNKNOWN },
  { "SALAVATI", "Abolghassem", "1965-01-01", 23470, false, CONTRADICTED },
  /* 01 Jan 1961 to 31 Dec 1962 */
  { "NIKOUSOKHAN", "Mahmoud", "1962-07-01", 15962, true, CORROBORATED },
  { "NIKOUSOKHAN", "Mahmoud", "1970-07-01", 15962, false, CONTRADICTED },
  /* no DOB on the list */
  { "NORIEGA", "Manuel Antonio", "1990-01-01", 1572, true, UNKNOWN },
};

static void
test_real_entries (void **state)
{
  (void) state;
  for (size_t i = 0; i < sizeof real / sizeof real[0]; i++)
    {
      const struct expect *e = &real[i];
      struct enrol_sanctions_result r;
      const struct enrol_sanctions_hit *h;

      assert_int_equal (enrol_sanctions_screen (list, e->surname, e->given,
                                                e->birth, &r), 0);
      h = hit_for (&r, e->id);
      if (h == NULL)
        fail_msg ("%s / %s: entry %ld not reported", e->surname, e->given,
                  e->id);
      if (h->match != e->match || h->dob != e->dob)
        fail_msg ("%s / %s / %s: match %d dob %d score %.3f", e->surname,
                  e->given, e->birth ? e->birth : "-", h->match, h->dob,
                  h->score);
      assert_true (h->score >= ENROL_SANCTIONS_REPORT && h->score <= 1.0);
      assert_int_equal (r.match, e->match || r.hits[0].match);
      if (e->match)
        assert_true (r.match);
    }
}

static void
test_alias_is_reported_as_listed (void **state)
{
  struct enrol_sanctions_result r;
  const struct enrol_sanctions_hit *h;

  (void) state;
  assert_int_equal (enrol_sanctions_screen (list, "Salim", "Ahmad Fuad",
                                            NULL, &r), 0);
  h = hit_for (&r, 2676);
  assert_non_null (h);
  assert_true (h->alias);
  assert_string_equal (h->name, "SALIM, Ahmad Fuad");
  assert_int_equal (enrol_sanctions_screen (list, "NORIEGA",
                                            "Manuel Antonio", NULL, &r), 0);
  assert_string_equal (r.hits[0].name, "NORIEGA, Manuel Antonio");
  assert_false (r.hits[0].alias);
  assert_true (r.hits[0].score > 0.999);
}

/* Checked against this copy of the list: ordinary names, no match. */
static const char *const ordinary[][2] = {
  { "ERIKSSON", "ANNA MARIA" }, { "DUPONT", "JEAN" }, { "SMITH", "JOHN" },
  { "Martin", "Marie" }, { "Müller", "Thomas" }, { "Garcia", "Maria" },
  { "Nguyen", "Van Anh" }, { "Dubois", "Françoise" }, { "Rossi", "Luca" },
  { "Kowalski", "Piotr" }, { "Johansson", "Lars" }, { "O'Brien", "Sean" },
  { "Bernard", "Camille" }, { "Schmidt", "Sabine" }, { "Larsen", "Øyvind" },
};

static void
test_ordinary_names (void **state)
{
  (void) state;
  for (size_t i = 0; i < sizeof ordinary / sizeof ordinary[0]; i++)
    {
      struct enrol_sanctions_result r;

      assert_int_equal (enrol_sanctions_screen (list, ordinary[i][0],
                                                ordinary[i][1], "1980-05-17",
                                                &r), 0);
      if (r.match)
        fail_msg ("%s %s matched %ld %s (%.3f)", ordinary[i][1],
                  ordinary[i][0], r.hits[0].entry_id, r.hits[0].name,
                  r.hits[0].score);
      assert_int_equal (enrol_sanctions_screen (list, ordinary[i][0],
                                                ordinary[i][1], NULL, &r), 0);
      assert_false (r.match);
    }
}

static void
test_entities_and_vessels_ignored (void **state)
{
  static const char *const names[] = { "Banco Nacional de Cuba", "Cimex",
                                       "Hermann", "Sand Swan", "Tifon" };

  (void) state;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      struct enrol_sanctions_result r;

      assert_int_equal (enrol_sanctions_screen (list, names[i], "", NULL,
                                                &r), 0);
      if (r.count > 0)
        fail_msg ("%s: %ld %s", names[i], r.hits[0].entry_id,
                  r.hits[0].name);
    }
}

/* The index must find exactly what scoring every name finds. */
static void
test_index_loses_nothing (void **state)
{
  (void) state;
  for (size_t i = 0; i < sizeof real / sizeof real[0]; i++)
    {
      struct enrol_sanctions_result a, b;

      enrol_sanctions_screen (list, real[i].surname, real[i].given,
                              real[i].birth, &a);
      enrol_sanctions_screen_exhaustive (list, real[i].surname,
                                         real[i].given, real[i].birth, &b);
      assert_int_equal (a.count, b.count);
      assert_int_equal (a.match, b.match);
      for (size_t k = 0; k < a.count; k++)
        {
          assert_int_equal (a.hits[k].entry_id, b.hits[k].entry_id);
          assert_true (a.hits[k].score == b.hits[k].score);
          assert_string_equal (a.hits[k].name, b.hits[k].name);
        }
    }
}

static void
test_bad_input (void **state)
{
  struct enrol_sanctions_result r;

  (void) state;
  assert_int_equal (enrol_sanctions_screen (NULL, "A", "B", NULL, &r), -1);
  assert_int_equal (r.count, 0);
  assert_int_equal (enrol_sanctions_screen (list, NULL, "B", NULL, &r), -1);
  assert_int_equal (enrol_sanctions_screen (list, "Guzman Loera", "Joaquin",
                                            "1954-13-01", &r), -1);
  assert_false (r.match);
  assert_int_equal (enrol_sanctions_screen (list, "\xff\xfe", "", NULL, &r),
                    -1);
  assert_int_equal (enrol_sanctions_screen (list, "", NULL, NULL, &r), 0);
  assert_int_equal (r.count, 0);
  assert_true (strncmp (enrol_sanctions_version (list), "sha256:", 7) == 0);
  assert_int_equal (strlen (enrol_sanctions_version (list)), 7 + 16);
  assert_true (enrol_sanctions_entries (list) > 4000);
  assert_true (enrol_sanctions_names (list) > enrol_sanctions_entries (list));
}

/* ------------------------------------------------------------------ */
/* Small lists written here                                           */
/* ------------------------------------------------------------------ */

static char tmpdir[64];

static void
make_dir (void)
{
  snprintf (tmpdir, sizeof tmpdir, "/tmp/guichet-sanctions-XXXXXX");
  assert_non_null (mkdtemp (tmpdir));
}

static void
write_file (const char *name, const char *text)
{
  char path[128];
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", tmpdir, name);
  f = fopen (path, "wb");
  assert_non_null (f);
  assert_int_equal (fwrite (text, 1, strlen (text), f), strlen (text));
  assert_int_equal (fclose (f), 0);
}

static void
remove_dir (void)
{
  char path[128];

  snprintf (path, sizeof path, "%s/sdn.csv", tmpdir);
  unlink (path);
  snprintf (path, sizeof path, "%s/alt.csv", tmpdir);
  unlink (path);
  rmdir (tmpdir);
}

/* The official layout: quoted fields, "" inside quotes, "-0- " for
   empty, CRLF, a DOS end-of-file byte. */
static const char sdn_small[] =
  "10,\"DOE, John \"\"Johnny\"\"\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,"
  "-0- ,-0- ,-0- ,-0- ,\"DOB 10 Jan 1960; alt. DOB circa 1970; POB "
  "Nowhere.\"\r\n"
  "11,\"ACME TRADING, LTD.\",-0- ,\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
  "-0- ,-0- \r\n"
  "12,\"SEA STAR\",\"vessel\",\"CUBA\",-0- ,\"CL2192\",\"Tug\",-0- ,\"212\","
  "\"Cuba\",-0- ,-0- \r\n"
  "13,\"ROE, Richard (Dick) Paul\",\"individual\",\"SDNT\",-0- ,-0- ,-0- ,"
  "-0- ,-0- ,-0- ,-0- ,\"DOB Mar 1975 to Feb 1976; nationality Utopia.\"\r\n"
  "\x1a";
static const char alt_small[] =
  "10,100,\"aka\",\"SMITHERS, Johnny\",-0- \r\n"
  "11,101,\"aka\",\"ACME\",-0- \r\n"
  "99,102,\"aka\",\"NOBODY, Nemo\",-0- \r\n";

static struct enrol_sanctions_result
screen (const struct enrol_sanctions_list *l, const char *surname,
        const char *given, const char *birth)
{
  struct enrol_sanctions_result r;

  assert_int_equal (enrol_sanctions_screen (l, surname, given, birth, &r), 0);
  return r;
}

static void
test_small_list (void **state)
{
  struct enrol_sanctions_list *l;
  struct enrol_sanctions_result r;
  char err[256];

  (void) state;
  make_dir ();
  write_file ("sdn.csv", sdn_small);
  write_file ("alt.csv", alt_small);
  l = enrol_sanctions_load (tmpdir, err, sizeof err);
  remove_dir ();
  assert_non_null (l);
  assert_int_equal (enrol_sanctions_entries (l), 2);
  r = screen (l, "Doe", "John Johnny", NULL);
  assert_true (r.match);
  assert_string_equal (r.hits[0].name, "DOE, John \"Johnny\"");
  assert_int_equal (screen (l, "Doe", "John Johnny", "1960-01-10").hits[0].dob,
                    ENROL_SANCTIONS_DOB_CORROBORATED);
  assert_int_equal (screen (l, "Doe", "John Johnny", "1969-05-05").hits[0].dob,
                    ENROL_SANCTIONS_DOB_CORROBORATED);
  r = screen (l, "Doe", "John Johnny", "1965-05-05");
  assert_false (r.match);
  assert_int_equal (r.hits[0].dob, ENROL_SANCTIONS_DOB_CONTRADICTED);
  r = screen (l, "Smithers", "Johnny", NULL);
  assert_true (r.match && r.hits[0].alias && r.hits[0].entry_id == 10);
  /* "(Dick)" is an alternative to the word before it. */
  assert_true (screen (l, "Roe", "Richard Paul", "1975-12-01").match);
  assert_true (screen (l, "Roe", "Dick Paul", NULL).match);
  assert_int_equal (screen (l, "Roe", "Dick Paul", "1976-02-29").hits[0].dob,
                    ENROL_SANCTIONS_DOB_CORROBORATED);
  assert_int_equal (screen (l, "Acme Trading", "", NULL).count, 0);
  assert_int_equal (screen (l, "Sea Star", "", NULL).count, 0);
  assert_int_equal (screen (l, "Nobody", "Nemo", NULL).count, 0);
  enrol_sanctions_free (l);
}

static void
test_version_follows_content (void **state)
{
  struct enrol_sanctions_list *a, *b, *c;
  char err[256];

  (void) state;
  make_dir ();
  write_file ("sdn.csv", sdn_small);
  write_file ("alt.csv", alt_small);
  a = enrol_sanctions_load (tmpdir, err, sizeof err);
  b = enrol_sanctions_load (tmpdir, err, sizeof err);
  write_file ("alt.csv", "10,100,\"aka\",\"SMITHERS, Johnny\",-0- \r\n");
  c = enrol_sanctions_load (tmpdir, err, sizeof err);
  remove_dir ();
  assert_non_null (a);
  assert_non_null (b);
  assert_non_null (c);
  assert_string_equal (enrol_sanctions_version (a),
                       enrol_sanctions_version (b));
  assert_string_not_equal (enrol_sanctions_version (a),
                           enrol_sanctions_version (c));
  assert_string_not_equal (enrol_sanctions_version (a),
                           enrol_sanctions_version (list));
  enrol_sanctions_free (a);
  enrol_sanctions_free (b);
  enrol_sanctions_free (c);
}

static void
test_load_errors (void **state)
{
  char err[256];

  (void) state;
  assert_null (enrol_sanctions_load ("/nonexistent/guichet", err,
                                     sizeof err));
  assert_non_null (strstr (err, "sdn.csv"));
  make_dir ();
  assert_null (enrol_sanctions_load (tmpdir, err, sizeof err));
  write_file ("sdn.csv", sdn_small);
  assert_null (enrol_sanctions_load (tmpdir, err, sizeof err));
  assert_non_null (strstr (err, "alt.csv"));
  write_file ("alt.csv", "");
  write_file ("sdn.csv", "");
  assert_null (enrol_sanctions_load (tmpdir, err, sizeof err));
  assert_non_null (strstr (err, "no individual"));
  write_file ("sdn.csv", "11,\"ACME TRADING, LTD.\",-0- ,\"SDGT\",-0- ,-0- ,"
              "-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n");
  assert_null (enrol_sanctions_load (tmpdir, NULL, 0));
  write_file ("sdn.csv", "\"unterminated, \"individual\r\n12,\"x");
  assert_null (enrol_sanctions_load (tmpdir, err, sizeof err));
  remove_dir ();
  enrol_sanctions_free (NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_real_entries),
    cmocka_unit_test (test_alias_is_reported_as_listed),
    cmocka_unit_test (test_ordinary_names),
    cmocka_unit_test (test_entities_and_vessels_ignored),
    cmocka_unit_test (test_index_loses_nothing),
    cmocka_unit_test (test_bad_input),
    cmocka_unit_test (test_small_list),
    cmocka_unit_test (test_version_follows_content),
    cmocka_unit_test (test_load_errors),
  };

  return cmocka_run_group_tests (tests, setup, teardown);
}

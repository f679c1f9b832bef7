/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * sanctions_bench.c -- how long one sanctions screening takes, against the
 * real OFAC list, compared in the same run with the naive way: scoring
 * every listed name with fresh Jaro-Winkler calls
 * (enrol_sanctions_screen_exhaustive, which must and does give the same
 * answers).  Machines differ, so the figure to quote is the ratio.
 *
 * usage: sanctions_bench [ofac-dir] [names] [baseline-every]
 *   ofac-dir        default $GUICHET_SHARED_DIR/data/sanctions/ofac
 *   names           screenings to time (default 10000)
 *   baseline-every  run the exhaustive baseline on every n-th name
 *                   (default 25: it is slow)
 *
 * The names mix listed people (as written, reordered, with accents, with a
 * one-letter typo) with ordinary names from several countries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enrol/sanctions.h"

#if defined(__has_include)
#if __has_include("guichet_build.h")
#include "guichet_build.h"
#endif
#endif
#ifndef GUICHET_SOURCE_DIR
#define GUICHET_SOURCE_DIR "."
#endif

/* People on the list (primary names or aliases, read from sdn/alt.csv). */
static const char *const listed[][2] = {
  { "GUZMAN LOERA", "Joaquin" }, { "MADURO MOROS", "Nicolas" },
  { "KADYROV", "Ramzan Akhmatovich" }, { "AL-ZAWAHIRI", "Ayman" },
  { "SALIM", "Ahmad Fuad" }, { "SAHINPASIC", "Senad" },
  { "SALAVATI", "Abolghassem" }, { "NIKOUSOKHAN", "Mahmoud" },
  { "NAQDI", "Mohammad Reza" }, { "NORIEGA", "Manuel Antonio" },
  { "ROTENBERG", "Arkady" }, { "DERIPASKA", "Oleg Vladimirovich" },
  { "PRIGOZHIN", "Yevgeniy Viktorovich" }, { "KIM", "Jong Un" },
  { "ESCOBAR BUITRAGO", "Walter" }, { "HABASH", "George" },
  { "NASRALLAH", "Hasan" }, { "ABU-MARZUQ", "Musa" },
};

static const char *const first[] = {
  "John", "Mary", "James", "Patricia", "Jean", "Marie", "Pierre",
  "Françoise", "Hans", "Jürgen", "Anna", "Erik", "Giuseppe", "Giulia",
  "Piotr", "Agnieszka", "José", "María", "Carlos", "Lucía", "Mohammed",
  "Fatima", "Ahmed", "Aisha", "Ali", "Omar", "Olga", "Dmitri", "Sergei",
  "Natalia", "Wei", "Hiroshi", "Yuki", "Kwame", "Amina", "Søren", "Zoë",
};

static const char *const last[] = {
  "Smith", "Johnson", "Brown", "Martin", "Bernard", "Dubois", "Durand",
  "Lefèvre", "Müller", "Schmidt", "Eriksson", "Johansson", "Rossi",
  "Esposito", "Kowalski", "Nowak", "García", "Fernández", "López",
  "Rodríguez", "Hassan", "Haddad", "Khalil", "Rahman", "Ivanov", "Petrova",
  "Smirnov", "Nguyen", "Tanaka", "Mensah", "Okafor", "Jensen", "Van Dijk",
  "De Jong", "O'Connor", "Al-Masri", "Ben Ali",
};

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

struct name {
  char surname[64];
  char given[64];
};

static unsigned long rng = 88172645463325252ul;

static unsigned
rnd (unsigned n)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned) (rng % n);
}

/* One listed person, perturbed one of four ways. */
static void
listed_name (struct name *n)
{
  const char *const *p = listed[rnd (COUNT (listed))];
  size_t len;

  switch (rnd (4))
    {
    case 0:
      snprintf (n->surname, sizeof n->surname, "%s", p[0]);
      snprintf (n->given, sizeof n->given, "%s", p[1]);
      break;
    case 1:                     /* given names first */
      snprintf (n->surname, sizeof n->surname, "%s", p[1]);
      snprintf (n->given, sizeof n->given, "%s", p[0]);
      break;
    case 2:                     /* lower case, an accent */
      snprintf (n->surname, sizeof n->surname, "%s", p[0]);
      for (char *c = n->surname; *c; c++)
        *c = (char) (*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
      snprintf (n->given, sizeof n->given, "%sé", p[1]);
      break;
    default:                    /* one-letter typo */
      snprintf (n->surname, sizeof n->surname, "%s", p[0]);
      snprintf (n->given, sizeof n->given, "%s", p[1]);
      len = strlen (n->surname);
      n->surname[1 + rnd ((unsigned) len - 2)] = 'Q';
    }
}

static void
make_names (struct name *v, size_t count)
{
  for (size_t i = 0; i < count; i++)
    if (rnd (5) == 0)
      listed_name (&v[i]);
    else
      {
        snprintf (v[i].surname, sizeof v[i].surname, "%s",
                  last[rnd (COUNT (last))]);
        snprintf (v[i].given, sizeof v[i].given, "%s%s%s",
                  first[rnd (COUNT (first))], rnd (3) ? "" : " ",
                  rnd (3) ? "" : first[rnd (COUNT (first))]);
      }
}

static double
now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static bool
same (const struct enrol_sanctions_result *a,
      const struct enrol_sanctions_result *b)
{
  if (a->count != b->count || a->match != b->match)
    return false;
  for (size_t k = 0; k < a->count; k++)
    if (a->hits[k].entry_id != b->hits[k].entry_id
        || a->hits[k].score != b->hits[k].score)
      return false;
  return true;
}

/* Time the indexed screening of every name; @return mean microseconds. */
static double
run_indexed (const struct enrol_sanctions_list *l, const struct name *v,
             size_t count, size_t *matches)
{
  double *us = malloc (count * sizeof *us), total = 0;

  *matches = 0;
  for (size_t i = 0; i < count; i++)
    {
      struct enrol_sanctions_result r;
      double t0 = now ();

      enrol_sanctions_screen (l, v[i].surname, v[i].given, NULL, &r);
      us[i] = (now () - t0) * 1e6;
      total += us[i];
      *matches += r.match;
    }
  qsort (us, count, sizeof *us, cmp_double);
  printf ("indexed:    %zu screenings, %zu matches, %.0f screenings/s\n",
          count, *matches, count / (total / 1e6));
  printf ("            mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us\n",
          total / count, us[count / 2], us[count * 99 / 100],
          us[count - 1]);
  free (us);
  return total / count;
}

/* The same names, every n-th, both ways. */
static void
run_baseline (const struct enrol_sanctions_list *l, const struct name *v,
              size_t count, size_t every)
{
  double ti = 0, te = 0;
  size_t n = 0, differ = 0;

  for (size_t i = 0; i < count; i += every, n++)
    {
      struct enrol_sanctions_result a, b;
      double t0 = now (), t1;

      enrol_sanctions_screen (l, v[i].surname, v[i].given, NULL, &a);
      t1 = now ();
      enrol_sanctions_screen_exhaustive (l, v[i].surname, v[i].given, NULL,
                                         &b);
      ti += t1 - t0;
      te += now () - t1;
      differ += !same (&a, &b);
    }
  printf ("baseline:   %zu of the same names scored against every listed "
          "name\n", n);
  printf ("            exhaustive %.1f us, indexed %.1f us per screening: "
          "ratio %.0fx; results differ on %zu\n",
          te / n * 1e6, ti / n * 1e6, te / ti, differ);
}

int
main (int argc, char **argv)
{
  char dir[4096], err[256];
  const char *shared = getenv ("GUICHET_SHARED_DIR");
  size_t count = argc > 2 ? strtoul (argv[2], NULL, 10) : 10000;
  size_t every = argc > 3 ? strtoul (argv[3], NULL, 10) : 25, matches;
  struct enrol_sanctions_list *l;
  struct name *v;
  double t0;

  if (shared == NULL || *shared == '\0')
    shared = GUICHET_SOURCE_DIR "/../shared";
  snprintf (dir, sizeof dir, "%s/data/sanctions/ofac", shared);
  if (argc > 1)
    snprintf (dir, sizeof dir, "%s", argv[1]);
  if (count == 0 || every == 0)
    return fprintf (stderr, "usage: %s [dir] [names] [every]\n", argv[0]), 2;
  t0 = now ();
  l = enrol_sanctions_load (dir, err, sizeof err);
  if (l == NULL)
    return fprintf (stderr, "%s: %s\n", dir, err), 1;
  printf ("list:       %s, %zu individuals, %zu names, loaded in %.0f ms\n",
          enrol_sanctions_version (l), enrol_sanctions_entries (l),
          enrol_sanctions_names (l), (now () - t0) * 1e3);
  v = malloc (count * sizeof *v);
  make_names (v, count);
  run_indexed (l, v, count, &matches);
  run_baseline (l, v, count, every);
  free (v);
  enrol_sanctions_free (l);
  return 0;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * sanctions.h -- screening a person's name against the US OFAC SDN list
 * (legacy CSV: sdn.csv entries + alt.csv aliases), individuals only.
 *
 * A list is loaded once into an immutable object; screening takes a const
 * pointer, allocates its own scratch and is safe from any number of
 * threads.  To reload (SIGHUP), load a new list, swap the pointer the
 * request threads read, and free the old one when no screening uses it
 * any more.  This module never touches the database or logs: the caller
 * logs the version, counts and load errors.
 *
 * Matching is fuzzy and order-insensitive: names are transliterated and cut
 * into tokens, tokens are compared with Jaro-Winkler, and the best
 * one-to-one pairing of the applicant's tokens with a listed name's tokens
 * gives a score in [0, 1].  A date of birth on the list corroborates or
 * contradicts the match; a contradicted name is reported, never a match.
 */
#ifndef GUICHET_ENROL_SANCTIONS_H
#define GUICHET_ENROL_SANCTIONS_H

#include <stdbool.h>
#include <stddef.h>

/** Score from which a name is a match (unless its DOB contradicts). */
#define ENROL_SANCTIONS_MATCH 0.90
/** Score from which a name is reported as a hit (a near miss below MATCH). */
#define ENROL_SANCTIONS_REPORT 0.85
/** Hits kept in a result, best first. */
#define ENROL_SANCTIONS_MAX_HITS 5

struct enrol_sanctions_list;

enum enrol_sanctions_dob {
  /* no DOB on the list, none given, or only the year agrees */
  ENROL_SANCTIONS_DOB_UNKNOWN = 0,
  /* the birth date lies in a listed date or range ("circa" = +-1 year) */
  ENROL_SANCTIONS_DOB_CORROBORATED,
  /* the list has DOBs and the birth year lies outside all of them */
  ENROL_SANCTIONS_DOB_CONTRADICTED
};

struct enrol_sanctions_hit {
  long entry_id;                /* the list's ent_num */
  char name[128];               /* the matched name as listed */
  bool alias;                   /* the name came from alt.csv */
  double score;                 /* 0..1 */
  enum enrol_sanctions_dob dob;
  bool match;                   /* score >= MATCH and DOB not contradicted */
};

struct enrol_sanctions_result {
  bool match;                   /* at least one hit is a match */
  size_t count;
  /* One hit per list entry (its best name); matches first, then by score. */
  struct enrol_sanctions_hit hits[ENROL_SANCTIONS_MAX_HITS];
};

/**
 * Load sdn.csv and alt.csv from @a dir.
 * @param[out] err  a message on failure (may be NULL)
 * @return a new list (free with enrol_sanctions_free), or NULL if a file
 *         is missing or unreadable, malformed, or holds no individual
 */
struct enrol_sanctions_list *
enrol_sanctions_load (const char *dir, char *err, size_t errlen);

/** Free a list; NULL is fine.  No screening may be using it. */
void
enrol_sanctions_free (struct enrol_sanctions_list *list);

/**
 * @return "sha256:" + the first 16 hex digits of SHA-256(sdn.csv ||
 *         alt.csv): which list a decision was made against.  Valid while
 *         the list lives.
 */
const char *
enrol_sanctions_version (const struct enrol_sanctions_list *list);

/** @return the number of individuals (entries) on the list. */
size_t
enrol_sanctions_entries (const struct enrol_sanctions_list *list);

/** @return the number of screened names (primary names and aliases). */
size_t
enrol_sanctions_names (const struct enrol_sanctions_list *list);

/** Names of one entry kept by enrol_sanctions_entry. */
#define ENROL_SANCTIONS_ENTRY_NAMES 16

/** One listed individual as staff read it.  Pointers into the list: valid
 *  while it lives. */
struct enrol_sanctions_entry_info {
  long entry_id;
  const char *program;          /* "SDGT] [IRAQ2": the list's Program field */
  const char *title;            /* "" when none */
  const char *remarks;          /* DOB, POB, nationality ... as listed */
  size_t nnames;                /* the primary name first, then aliases */
  const char *names[ENROL_SANCTIONS_ENTRY_NAMES];
  bool alias[ENROL_SANCTIONS_ENTRY_NAMES];
};

/**
 * Look an individual up by the list's ent_num (a hit's entry_id).
 * @return true if found, with @a out filled
 */
bool
enrol_sanctions_entry (const struct enrol_sanctions_list *list, long entry_id,
                       struct enrol_sanctions_entry_info *out);

/**
 * Screen one person.  Order of names does not matter; only the first 12
 * tokens count.  Takes some tens of microseconds (see
 * tests/bench/sanctions_bench.c).
 * @param surname, given_names  UTF-8 as declared or read from the MRZ
 *                  (given_names may be NULL or empty)
 * @param birth_date  "YYYY-MM-DD", or NULL if unknown
 * @param[out] res  the hits, best first
 * @return 0, or -1 on bad input (NULL list or surname, invalid UTF-8,
 *         names longer than 400 bytes together, malformed birth date) or
 *         allocation failure; @a res then has no hits and the caller must
 *         report the check as unavailable
 */
int
enrol_sanctions_screen (const struct enrol_sanctions_list *list,
                        const char *surname, const char *given_names,
                        const char *birth_date,
                        struct enrol_sanctions_result *res);

/**
 * The same screening without the index: every listed name is scored.
 * Same results as enrol_sanctions_screen by construction; it exists so
 * tests can prove the index loses nothing and the benchmark has a
 * baseline.  Slow (milliseconds): never use it on the request path.
 */
int
enrol_sanctions_screen_exhaustive (const struct enrol_sanctions_list *list,
                                   const char *surname,
                                   const char *given_names,
                                   const char *birth_date,
                                   struct enrol_sanctions_result *res);

#endif

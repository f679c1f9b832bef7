/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * mrz.h -- parse and check the machine-readable zone of an identity
 * document (ICAO Doc 9303): TD1 (3x30), TD2 (2x36), TD3 (2x44) and the
 * French national identity card issued before 2021 (2x36, "IDFRA").
 *
 * The applicant types or pastes the MRZ, so the parser is strict: the
 * alphabet is [A-Z0-9<], line lengths are exact, every check digit
 * (composite included) must hold, and nothing is upper-cased or "fixed".
 * Only trailing whitespace, "\r\n" line ends and an empty last line are
 * forgiven.  Two-digit years are resolved against a caller-supplied "today"
 * so results are deterministic.  This module keeps no state, touches no
 * database and never logs: an MRZ line must never reach a log.
 */
#ifndef GUICHET_ENROL_MRZ_H
#define GUICHET_ENROL_MRZ_H

#include <stdbool.h>
#include <stddef.h>

/** A calendar date (proleptic Gregorian); m and d are 1-based. */
struct enrol_date {
  int y;
  int m;
  int d;
};

enum enrol_mrz_format {
  MRZ_TD1 = 1,                  /* ID-1 card, 3 lines of 30 */
  MRZ_TD2,                      /* ID-2 card, 2 lines of 36 */
  MRZ_TD3,                      /* passport, 2 lines of 44 */
  MRZ_FRA_CNI                   /* French identity card 1988-2021, 2x36 */
};

enum enrol_mrz_err {
  MRZ_OK = 0,
  MRZ_FORMAT,                   /* alphabet, line count/length, field syntax */
  MRZ_CHECK_DIGIT,              /* a check digit does not match */
  MRZ_DATE                      /* impossible or partly unknown date; the
                                   identity check reports it as mrz_format */
};

/*
 * Text fields have their trailing fillers removed.  Names keep only
 * letters and single spaces (each run of '<' becomes one space).  Optional
 * data keeps inner '<' as printed.  All strings are NUL-terminated.
 */
struct enrol_mrz {
  enum enrol_mrz_format format;
  char document_code[3];        /* "P", "I", "ID", "AC", ... */
  char issuing_state[4];        /* "UTO", "D", ... */
  char surname[40];
  char given_names[40];
  /* The field that held the name was full, so the name may have been
     truncated by the issuer (TD1/2/3: one shared field; CNI: two). */
  bool surname_truncatable;
  bool given_names_truncatable;
  char document_number[24];     /* whole, TD1/TD2 overflow included */
  char nationality[4];          /* CNI: "FRA" (not printed, implied) */
  char sex;                     /* 'M', 'F', 'X' or '<' as printed */
  struct enrol_date birth;
  char birth_date[11];          /* "YYYY-MM-DD" */
  struct enrol_date expiry;
  char expiry_date[11];         /* "YYYY-MM-DD" */
  /* CNI only: the expiry is not printed in the MRZ but derived from the
     issue month (document number "YYMM...") -- see mrz.c. */
  bool expiry_derived;
  char issue_month[8];          /* CNI: "YYYY-MM", else "" */
  char optional_data[24];       /* TD3 personal number, TD2/TD1 optional
                                   data (after any overflow), CNI office */
  char optional_data2[12];      /* TD1 line 2 optional data, else "" */
};

/**
 * Tidy an MRZ as pasted or typed on a phone: letters upper-cased, blank
 * lines around it dropped, and one line of 88, 72 or 90 characters (blanks
 * in it ignored) cut into 2 x 44, 2 x 36 or 3 x 30.  Nothing else changes.
 * @param[out] out  at most @a cap - 1 characters and a NUL
 * @return the length of @a out
 */
size_t
enrol_mrz_tidy (const char *in, char *out, size_t cap);

/**
 * Parse and check an MRZ.
 *
 * @param text   lines separated by "\n" or "\r\n"
 * @param today  the date used to resolve two-digit years: a birth date is
 *               the latest one not after today, an expiry date lies within
 *               [today.y - 50, today.y + 49]
 * @param[out] out    filled on MRZ_OK, zeroed otherwise
 * @param[out] field  on error, a static name of the culprit: for
 *               MRZ_CHECK_DIGIT one of "document_number", "birth_date",
 *               "expiry_date", "personal_number", "composite"; for MRZ_DATE
 *               "birth_date", "expiry_date" or "issue_date"; for
 *               MRZ_FORMAT e.g. "lines", "alphabet", "name", "sex".  May be
 *               NULL.  Set to "" on MRZ_OK.
 * @return MRZ_OK, MRZ_FORMAT, MRZ_CHECK_DIGIT or MRZ_DATE
 */
enum enrol_mrz_err
enrol_mrz_parse (const char *text, struct enrol_date today,
                 struct enrol_mrz *out, const char **field);

/**
 * The ICAO 9303 check digit (weights 7,3,1; '<' = 0, A = 10 .. Z = 35).
 * @return 0..9, or -1 if @a s holds a character outside [A-Z0-9<]
 */
int
enrol_mrz_check_digit (const char *s, size_t len);

/** @return the name of @a err: "ok", "format", "check_digit", "date". */
const char *
enrol_mrz_err_name (enum enrol_mrz_err err);

/** @return the number of days of month @a m of year @a y (0 if @a m is
 *  not 1..12). */
int
enrol_date_days_in_month (int y, int m);

/**
 * A past date from MRZ digits "YYMMDD": the latest century that does not
 * put it after @a today.
 * @return false if not six digits, not a real date, or after @a today
 */
bool
enrol_date_past_yymmdd (const char *yymmdd, struct enrol_date today,
                        struct enrol_date *out);

/**
 * An expiry date from MRZ digits "YYMMDD": the year within
 * [today.y - 50, today.y + 49].
 * @return false if not six digits or not a real date
 */
bool
enrol_date_expiry_yymmdd (const char *yymmdd, struct enrol_date today,
                          struct enrol_date *out);

/** @return true if @a d is a real calendar date (years 1..9999). */
bool
enrol_date_valid (struct enrol_date d);

/**
 * Parse exactly "YYYY-MM-DD".
 * @return 0, or -1 if malformed or not a real date (@a out untouched)
 */
int
enrol_date_parse (const char *s, struct enrol_date *out);

/** Write "YYYY-MM-DD" into @a buf (11 bytes). */
void
enrol_date_format (struct enrol_date d, char buf[11]);

/** @return <0, 0 or >0 as @a a is before, equal to or after @a b. */
int
enrol_date_cmp (struct enrol_date a, struct enrol_date b);

/**
 * Age in whole years on @a today.  Someone born on 29 February comes of
 * age on 1 March in common years.
 * @return the age, or -1 if @a birth is after @a today
 */
int
enrol_mrz_age_on (struct enrol_date birth, struct enrol_date today);

/** @return true if the document has expired: @a expiry is before @a today
 *  (a document is still valid on its expiry day). */
bool
enrol_mrz_is_expired (struct enrol_date expiry, struct enrol_date today);

#endif

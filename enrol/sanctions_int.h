/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * sanctions_int.h -- the in-memory layout of a loaded sanctions list and
 * the helpers its four source files share:
 *   sanctions_csv.c    OFAC's CSV records and the DOBs in the remarks
 *   sanctions_load.c   building the list: names, tokens, vocabulary
 *   sanctions_index.c  token similarity, vocabulary scan, neighbour lists,
 *                      candidate postings
 *   sanctions.c        screening one person
 * Private to enrol/: nothing else may include it.
 *
 * Every listed name is a run of token ids into one vocabulary of distinct
 * tokens, sorted by length, then text, and stored as parallel arrays so
 * the scan touches little memory.
 */
#ifndef GUICHET_ENROL_SANCTIONS_INT_H
#define GUICHET_ENROL_SANCTIONS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enrol/names.h"
#include "enrol/sanctions.h"

#define SX_NAME_TOKENS 16       /* tokens kept per listed name */
#define SX_QUERY_TOKENS 12      /* tokens kept of an applicant's name */

/* Token pairs below this similarity count as unrelated. */
#define SX_FLOOR 0.80f
/* score = COVER_LISTED * cover(listed name) + rest * cover(applicant) */
#define SX_COVER_LISTED 0.70
/* Weight of particles and initials; significant tokens weigh 1. */
#define SX_MINOR_WEIGHT 0.25f
/* The share of a listed name's weight that must find a partner for the
   name to reach ENROL_SANCTIONS_REPORT (with a margin for rounding). */
#define SX_MIN_COVER \
  ((ENROL_SANCTIONS_REPORT - (1.0 - SX_COVER_LISTED)) / SX_COVER_LISTED \
   - 1e-4)

/* How much a token says about identity. */
enum sx_kind {
  SX_SIGNIFICANT = 0,           /* weight 1, may make a name eligible */
  SX_PARTICLE,                  /* AL, BIN, DE, VAN, ...: minor weight */
  SX_INITIAL                    /* one letter: minor weight */
};

struct sx_name {
  uint32_t entry;               /* index into entries */
  uint32_t display;             /* offset of the listed text in pool */
  uint32_t tok;                 /* first token id in tok_ids */
  uint8_t ntok;
  bool alias;
};

struct sx_entry {
  long id;                      /* ent_num */
  uint32_t dob;                 /* first range in dobs */
  uint32_t ndob;
  uint32_t program;             /* offsets in pool: the Program field, */
  uint32_t title;               /* the Title field, */
  uint32_t remarks;             /* the Remarks field (for staff to read) */
};

/* A date of birth as an inclusive range of yyyymmdd numbers. */
struct sx_dob {
  int32_t lo;
  int32_t hi;
};

/* Compressed rows: item k of row r is ids[off[r] + k], k < off[r+1]-off[r]. */
struct sx_csr {
  uint32_t *off;
  uint32_t *ids;
  float *sim;                   /* neighbour lists only */
};

struct enrol_sanctions_list {
  char version[32];
  char *pool;                   /* listed names and token texts */
  struct sx_entry *entries;
  size_t nentries;
  struct sx_name *names;
  size_t nnames;
  uint32_t *tok_ids;
  struct sx_dob *dobs;
  /* vocabulary, sorted by (length, text) */
  size_t nvocab;
  uint32_t *v_str;              /* offset of the text in pool */
  uint8_t *v_len;
  uint8_t *v_kind;              /* enum sx_kind */
  uint64_t *v_mask;             /* sx_mask() */
  uint32_t *v_pre;              /* sx_prefix4() */
  uint8_t *v_extra;             /* length - popcount(mask) */
  uint32_t by_len[ENROL_NAMES_TOKEN_MAX + 2]; /* first id of each length */
  struct sx_csr post;           /* token -> names holding it */
  struct sx_csr prefix;         /* token -> names it may discover */
  struct sx_csr near;           /* token -> tokens within SX_FLOOR */
  uint32_t *always;             /* names no token can discover */
  size_t nalways;
};

/* ---- sanctions_index.c ---- */

/**
 * Screening tokens of a name: enrol_names_tokens minus titles (DR, JR,
 * COL, ...).  The list and the applicant go through the same function.
 * @return the number of tokens, or -1 on invalid UTF-8 / small buffer
 */
int
sx_tokens (const char *utf8, char *buf, size_t buflen, const char **tok,
           size_t max);

enum sx_kind
sx_kind (const char *tok, size_t len);

float
sx_weight (enum sx_kind kind);

/* Letters present (bits 0-35: A-Z, 0-9) and letters present twice
   (bits 36-61): the popcount of an AND bounds the common characters. */
uint64_t
sx_mask (const char *tok, size_t len);

/* The first four characters, little-endian, zero padded. */
uint32_t
sx_prefix4 (const char *tok, size_t len);

/**
 * The similarity of two tokens used everywhere: first letters for an
 * initial, equality for two-letter tokens, else Jaro-Winkler (no prefix
 * bonus when one token is half as long again as the other), 0 below
 * SX_FLOOR.  Symmetric.
 */
float
sx_token_sim (const char *a, size_t alen, const char *b, size_t blen);

/** @return the vocabulary id of @a tok, or -1 if the list lacks it. */
long
sx_find (const struct enrol_sanctions_list *l, const char *tok, size_t len);

/**
 * Call @a fn for every vocabulary token of three letters or more, with id
 * >= @a from, whose sx_token_sim with @a tok (three letters or more) is
 * not 0.  A cheap bound on shared letters skips most tokens unread.
 * @return 0, or the first non-zero value @a fn returned
 */
int
sx_scan (const struct enrol_sanctions_list *l, const char *tok, size_t len,
         uint32_t from, int (*fn) (void *arg, uint32_t v, float sim),
         void *arg);

/** Build near, prefix and always (after post). @return false on ENOMEM. */
bool
sx_build_index (struct enrol_sanctions_list *l);

/**
 * Build rows from @a n items (row[k], id[k], sim[k] or no sims): items keep
 * their order within a row.  @return false on ENOMEM.
 */
bool
sx_csr_build (struct sx_csr *c, size_t rows, const uint32_t *row,
              const uint32_t *id, const float *sim, size_t n);

void
sx_csr_free (struct sx_csr *c);

/* ---- sanctions_csv.c ---- */

struct sx_csv {
  char *p;
  char *end;
};

/**
 * Read the next record of OFAC's CSV, unquoting fields in place; "-0-"
 * reads as "".  @a f gets up to @a max fields.
 * @return the number of fields of the record, 0 at the end
 */
int
sx_csv_record (struct sx_csv *c, char **f, int max);

/**
 * Parse one DOB value of the remarks ("10 Jan 1960", "circa 1960", "1960
 * to 1962", ...; @a n bytes at @a p, up to the ';').
 * @return true and the range in @a r, or false if unreadable
 */
bool
sx_dob_value (const char *p, size_t n, struct sx_dob *r);

/**
 * Read a whole file @a dir/@a name.
 * @return a malloc'd NUL-terminated buffer and its length in @a len, or
 *         NULL with a message in @a err
 */
char *
sx_read_file (const char *dir, const char *name, size_t *len, char *err,
              size_t errlen);

#endif

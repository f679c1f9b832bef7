/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * names.h -- personal names as the identity check sees them: declared
 * names (UTF-8, as typed) transliterated to the MRZ alphabet per ICAO Doc
 * 9303 Part 3 section 6, compared with the names read from an MRZ, and cut
 * into plain tokens for sanctions screening; plus the Jaro-Winkler
 * similarity the screening uses.
 *
 * Pure functions over caller buffers: no allocation, no state, no logging
 * (names are personal data).
 */
#ifndef GUICHET_ENROL_NAMES_H
#define GUICHET_ENROL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

struct enrol_mrz;

/** Longest token kept by enrol_names_tokens (longer ones are cut). */
#define ENROL_NAMES_TOKEN_MAX 40

/**
 * Transliterate a declared name to MRZ text with ICAO's recommended forms
 * (Mueller -> MUELLER for "Müller", Ø -> OE, ß -> SS, Þ -> TH, Cyrillic
 * per Doc 9303 table B): upper case, apostrophes dropped, every run of
 * spaces, hyphens or other punctuation -> one '<'.
 * @return 0, or -1 if @a utf8 is not valid UTF-8, holds a character with
 *         no transliteration (e.g. CJK) or does not fit @a outlen
 */
int
enrol_names_to_mrz (const char *utf8, char *out, size_t outlen);

/**
 * Does a declared name (UTF-8) agree with the same name read from an MRZ
 * (letters and single spaces, as in struct enrol_mrz)?
 *
 * Every character may take any transliteration ICAO allows (Ü -> UE, UXX
 * or U; Ñ -> N or NXX; Å -> AA or A; ...), so both the recommended and the
 * plain spelling match.  Word breaks are ignored: "Jean-Pierre" matches
 * JEAN PIERRE and JEANPIERRE.  The order of words is not: a reordered or
 * partly missing name does not match (the back-office decides).
 * When @a truncatable (the MRZ field was full) the MRZ value may also be a
 * truncation: a prefix of the declared name, or each MRZ word a prefix of
 * the matching declared word with trailing words dropped (ICAO's
 * "CHAYAPA<DEJ<K" style).
 * @return true on agreement; false otherwise or if either is malformed
 */
bool
enrol_names_match (const char *declared, const char *mrz, bool truncatable);

/**
 * Surname and given names of an applicant against a parsed MRZ, each with
 * enrol_names_match and the MRZ's truncation flags.
 */
bool
enrol_names_match_mrz (const char *declared_surname,
                       const char *declared_given_names,
                       const struct enrol_mrz *mrz);

/**
 * Do a declared name's words correspond one to one with the MRZ name's
 * words (each spelling its partner, as enrol_names_match)?  Unlike
 * enrol_names_match, word breaks count: "A.B.B.A.S" spells ABBAS letter for
 * letter but has five words against one.  When @a truncatable, the MRZ may
 * drop trailing words and cut each word short (wordwise truncation).
 * @return true when the words agree; false otherwise or if malformed
 */
bool
enrol_names_same_words (const char *declared, const char *mrz,
                        bool truncatable);

/** enrol_names_same_words for surname and given names against an MRZ. */
bool
enrol_names_same_words_mrz (const char *declared_surname,
                            const char *declared_given_names,
                            const struct enrol_mrz *mrz);

/**
 * The form of a name inside an identity key: "m:" + its MRZ
 * transliteration when there is one and it is not empty, else "u:" + the
 * name as typed (ASCII letters upper-cased, white space runs as one space,
 * every other byte kept).  Names that cannot be transliterated (CJK,
 * Greek, ...) thus keep what tells them apart instead of collapsing to "".
 * @return 0, or -1 if @a out is too small
 */
int
enrol_names_key_form (const char *utf8, char *out, size_t outlen);

/**
 * The screening tokens of a name (enrol_names_tokens) written out with
 * single spaces, where a run of one-letter tokens is joined into one word:
 * "A.B.B.A.S" -> "ABBAS", "J. R. R. Tolkien" -> "JRR TOLKIEN".
 * @return 1 if a run was joined, 0 if the text is the plain tokens, -1 on
 *         bad UTF-8 or overflow
 */
int
enrol_names_join_initials (const char *utf8, char *out, size_t outlen);

/**
 * Cut a name into screening tokens: plain transliteration (Ü -> U,
 * ß -> SS), upper-case ASCII letters and digits, apostrophes dropped,
 * anything else separates tokens.  Characters with no transliteration
 * separate tokens too.
 * @param buf, buflen  storage for the tokens (NUL-terminated strings)
 * @param[out] tok     up to @a max pointers into @a buf
 * @return the number of tokens (extra tokens are dropped), or -1 if
 *         @a buf is too small or @a utf8 is not valid UTF-8
 */
int
enrol_names_tokens (const char *utf8, char *buf, size_t buflen,
                    const char **tok, size_t max);

/**
 * Jaro similarity (matching window max(len)/2 - 1).  Strings longer than
 * ENROL_NAMES_TOKEN_MAX are compared on their first ENROL_NAMES_TOKEN_MAX
 * characters.
 * @return 0.0 .. 1.0 (1.0 for equal strings, 0.0 if either is empty)
 */
double
enrol_names_jaro (const char *a, size_t alen, const char *b, size_t blen);

/**
 * Jaro-Winkler similarity (prefix scale 0.1, prefix up to 4, boost above
 * a Jaro of 0.7).  Strings longer than ENROL_NAMES_TOKEN_MAX are compared
 * on their first ENROL_NAMES_TOKEN_MAX characters.
 * @return 0.0 .. 1.0 (1.0 for equal strings, 0.0 if either is empty)
 */
double
enrol_names_jaro_winkler (const char *a, size_t alen, const char *b,
                          size_t blen);

#endif

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * names.c -- transliteration of declared names to the MRZ alphabet (ICAO
 * Doc 9303 Part 3, section 6: table A for Latin letters, table B for
 * Cyrillic), the declared-name versus MRZ-name comparison, the screening
 * tokeniser and Jaro-Winkler.
 *
 * A declared name becomes a sequence of "units", one per letter, each
 * holding every spelling ICAO allows for it (Ü: UE, U, UXX).  Matching an
 * MRZ name is then a small dynamic programme over units and MRZ letters,
 * so "Müller" agrees with MUELLER and MULLER without trying every
 * combination of spellings.
 */
#include "enrol/names.h"

#include <stdint.h>
#include <string.h>

#include "enrol/mrz.h"

#define UNITS_MAX 128
#define WORDS_MAX 24
#define MRZ_NAME_MAX 128

/* ------------------------------------------------------------------ */
/* Transliteration table                                              */
/* ------------------------------------------------------------------ */

/* Upper-case code point -> ICAO recommended, plain, other spelling. */
struct translit {
  uint16_t cp;
  const char *alt[3];
};

static const struct translit table[] = {
  { 0x00C0, { "A" } }, { 0x00C1, { "A" } }, { 0x00C2, { "A" } },
  { 0x00C3, { "A" } }, { 0x00C4, { "AE", "A" } }, { 0x00C5, { "AA", "A" } },
  { 0x00C6, { "AE" } }, { 0x00C7, { "C" } }, { 0x00C8, { "E" } },
  { 0x00C9, { "E" } }, { 0x00CA, { "E" } }, { 0x00CB, { "E" } },
  { 0x00CC, { "I" } }, { 0x00CD, { "I" } }, { 0x00CE, { "I" } },
  { 0x00CF, { "I" } }, { 0x00D0, { "D" } }, { 0x00D1, { "N", NULL, "NXX" } },
  { 0x00D2, { "O" } }, { 0x00D3, { "O" } }, { 0x00D4, { "O" } },
  { 0x00D5, { "O" } }, { 0x00D6, { "OE", "O" } }, { 0x00D8, { "OE", "O" } },
  { 0x00D9, { "U" } }, { 0x00DA, { "U" } }, { 0x00DB, { "U" } },
  { 0x00DC, { "UE", "U", "UXX" } }, { 0x00DD, { "Y" } },
  { 0x00DE, { "TH" } }, { 0x00DF, { "SS" } },
  { 0x0100, { "A" } }, { 0x0102, { "A" } }, { 0x0104, { "A" } },
  { 0x0106, { "C" } }, { 0x0108, { "C" } }, { 0x010A, { "C" } },
  { 0x010C, { "C" } }, { 0x010E, { "D" } }, { 0x0110, { "D" } },
  { 0x0112, { "E" } }, { 0x0114, { "E" } }, { 0x0116, { "E" } },
  { 0x0118, { "E" } }, { 0x011A, { "E" } }, { 0x011C, { "G" } },
  { 0x011E, { "G" } }, { 0x0120, { "G" } }, { 0x0122, { "G" } },
  { 0x0124, { "H" } }, { 0x0126, { "H" } }, { 0x0128, { "I" } },
  { 0x012A, { "I" } }, { 0x012C, { "I" } }, { 0x012E, { "I" } },
  { 0x0130, { "I" } }, { 0x0132, { "IJ" } }, { 0x0134, { "J" } },
  { 0x0136, { "K" } }, { 0x0138, { "K" } }, { 0x0139, { "L" } },
  { 0x013B, { "L" } }, { 0x013D, { "L" } }, { 0x013F, { "L" } },
  { 0x0141, { "L" } }, { 0x0143, { "N" } }, { 0x0145, { "N" } },
  { 0x0147, { "N" } }, { 0x0149, { "N" } }, { 0x014A, { "N" } },
  { 0x014C, { "O" } }, { 0x014E, { "O" } }, { 0x0150, { "O" } },
  { 0x0152, { "OE" } }, { 0x0154, { "R" } }, { 0x0156, { "R" } },
  { 0x0158, { "R" } }, { 0x015A, { "S" } }, { 0x015C, { "S" } },
  { 0x015E, { "S" } }, { 0x0160, { "S" } }, { 0x0162, { "T" } },
  { 0x0164, { "T" } }, { 0x0166, { "T" } }, { 0x0168, { "U" } },
  { 0x016A, { "U" } }, { 0x016C, { "U" } }, { 0x016E, { "U" } },
  { 0x0170, { "U" } }, { 0x0172, { "U" } }, { 0x0174, { "W" } },
  { 0x0176, { "Y" } }, { 0x0178, { "Y" } }, { 0x0179, { "Z" } },
  { 0x017B, { "Z" } }, { 0x017D, { "Z" } }, { 0x017F, { "S" } },
  { 0x01A0, { "O" } }, { 0x01AF, { "U" } },
  { 0x0218, { "S" } }, { 0x021A, { "T" } },
  { 0x0400, { "E" } }, { 0x0401, { "E" } }, { 0x0402, { "D" } },
  { 0x0403, { "G" } }, { 0x0404, { "IE" } }, { 0x0405, { "DZ" } },
  { 0x0406, { "I" } }, { 0x0407, { "I" } }, { 0x0408, { "J" } },
  { 0x0409, { "LJ" } }, { 0x040A, { "NJ" } }, { 0x040B, { "C" } },
  { 0x040C, { "K" } }, { 0x040D, { "I" } }, { 0x040E, { "U" } },
  { 0x040F, { "DZ" } }, { 0x0410, { "A" } }, { 0x0411, { "B" } },
  { 0x0412, { "V" } }, { 0x0413, { "G", NULL, "H" } }, { 0x0414, { "D" } },
  { 0x0415, { "E" } }, { 0x0416, { "ZH" } }, { 0x0417, { "Z" } },
  { 0x0418, { "I", NULL, "Y" } }, { 0x0419, { "I" } }, { 0x041A, { "K" } },
  { 0x041B, { "L" } }, { 0x041C, { "M" } }, { 0x041D, { "N" } },
  { 0x041E, { "O" } }, { 0x041F, { "P" } }, { 0x0420, { "R" } },
  { 0x0421, { "S" } }, { 0x0422, { "T" } }, { 0x0423, { "U" } },
  { 0x0424, { "F" } }, { 0x0425, { "KH" } }, { 0x0426, { "TS" } },
  { 0x0427, { "CH" } }, { 0x0428, { "SH" } }, { 0x0429, { "SHCH" } },
  { 0x042A, { "IE" } }, { 0x042B, { "Y" } }, { 0x042C, { "" } },
  { 0x042D, { "E" } }, { 0x042E, { "IU" } }, { 0x042F, { "IA" } },
  { 0x0490, { "G" } }, { 0x1E9E, { "SS" } },
};

/* Vietnamese vowels with two diacritics (U+1EA0..U+1EF9), upper and lower
   case in turn: their base letters, one per pair.  ICAO's table stops
   short of them; the plain letter is what documents print. */
static const char vietnamese[] = "AAAAAAAAAAAAEEEEEEEEIIOOOOOOOOOOOOUUUUUUUYYYY";

static const struct translit base_letter[] = {
  { 'A', { "A" } }, { 'E', { "E" } }, { 'I', { "I" } }, { 'O', { "O" } },
  { 'U', { "U" } }, { 'Y', { "Y" } },
};

/* Map a lower-case code point of the covered blocks to its upper case. */
static uint32_t
fold (uint32_t cp)
{
  if ((cp >= 0xE0 && cp <= 0xFE && cp != 0xF7))
    return cp - 0x20;
  if (cp == 0xFF)
    return 0x178;
  if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)
      || (cp >= 0x218 && cp <= 0x21B) || cp == 0x491)
    return cp & ~1u;
  if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
      && cp % 2 == 0)
    return cp - 1;
  if (cp >= 0x430 && cp <= 0x44F)
    return cp - 0x20;
  if (cp >= 0x450 && cp <= 0x45F)
    return cp - 0x50;
  if (cp == 0x1A1 || cp == 0x1B0)
    return cp - 1;
  return cp;
}

static const struct translit *
lookup (uint32_t cp)
{
  size_t lo = 0, hi = sizeof table / sizeof table[0];

  if (cp >= 0x1EA0 && cp <= 0x1EF9)
    {
      static const char vowels[] = "AEIOUY";
      const char *b = strchr (vowels, vietnamese[(cp - 0x1EA0) / 2]);

      return &base_letter[b - vowels];
    }
  cp = fold (cp);
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;

      if (table[mid].cp == cp)
        return &table[mid];
      if (table[mid].cp < cp)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* UTF-8 and character classes                                        */
/* ------------------------------------------------------------------ */

/* Decode one code point; @return bytes used, or 0 on invalid UTF-8. */
static size_t
utf8_next (const unsigned char *s, uint32_t *cp)
{
  size_t n;
  uint32_t c = s[0], min;

  if (c < 0x80)
    return *cp = c, 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2, c &= 0x1F, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3, c &= 0x0F, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4, c &= 0x07, min = 0x10000;
  else
    return 0;
  for (size_t i = 1; i < n; i++)
    {
      if ((s[i] & 0xC0) != 0x80)
        return 0;
      c = (c << 6) | (s[i] & 0x3F);
    }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  *cp = c;
  return n;
}

static const char ascii_upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* One letter with the spellings it may take. */
struct unit {
  const char *alt[3];
  unsigned char len[3];
  unsigned char n;
  unsigned char plain;          /* index of the plain spelling */
};

enum cls {
  CLS_UNIT,                     /* a letter: fills a unit */
  CLS_SKIP,                     /* apostrophes, combining marks: dropped */
  CLS_SEP,                      /* spaces, hyphens, punctuation */
  CLS_UNKNOWN                   /* no transliteration */
};

static bool
is_apostrophe (uint32_t cp)
{
  return cp == '\'' || cp == '`' || cp == 0xB4 || cp == 0x2018
         || cp == 0x2019 || cp == 0x2BB || cp == 0x2BC;
}

static void
unit_ascii (struct unit *u, uint32_t cp)
{
  const char *p;

  if (cp >= 'a' && cp <= 'z')
    cp -= 'a' - 'A';
  p = strchr (ascii_upper, (int) cp);
  u->alt[0] = p;
  u->len[0] = 1;
  u->n = 1;
  u->plain = 0;
}

static enum cls
classify (uint32_t cp, struct unit *u)
{
  const struct translit *t;

  if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z')
      || (cp >= '0' && cp <= '9'))
    return unit_ascii (u, cp), CLS_UNIT;
  if (is_apostrophe (cp) || (cp >= 0x300 && cp <= 0x36F))
    return CLS_SKIP;
  if (cp < 0x80 || cp == 0xA0 || (cp >= 0x2000 && cp <= 0x2015))
    return CLS_SEP;
  t = lookup (cp);
  if (t == NULL)
    return CLS_UNKNOWN;
  u->n = 0;
  u->plain = t->alt[1] != NULL;
  for (size_t i = 0; i < 3; i++)
    if (t->alt[i] != NULL)
      {
        u->alt[u->n] = t->alt[i];
        u->len[u->n++] = (unsigned char) strlen (t->alt[i]);
      }
  return CLS_UNIT;
}

/* ------------------------------------------------------------------ */
/* Declared names as units and words                                  */
/* ------------------------------------------------------------------ */

struct decl {
  struct unit u[UNITS_MAX];
  size_t n;
  size_t word[WORDS_MAX + 1];   /* word i is units word[i] .. word[i+1] */
  size_t words;
};

static bool
decl_add (struct decl *d, const struct unit *u, bool *gap)
{
  if (d->n == UNITS_MAX)
    return false;
  if (*gap || d->words == 0)
    {
      if (d->words == WORDS_MAX)
        return false;
      d->word[d->words++] = d->n;
    }
  *gap = false;
  d->u[d->n++] = *u;
  return true;
}

/* @return false on invalid UTF-8, unknown characters or overflow. */
static bool
decl_parse (const char *utf8, struct decl *d)
{
  const unsigned char *s = (const unsigned char *) utf8;
  bool gap = false;

  d->n = d->words = 0;
  while (*s != '\0')
    {
      uint32_t cp;
      struct unit u;
      size_t used = utf8_next (s, &cp);

      if (used == 0)
        return false;
      s += used;
      switch (classify (cp, &u))
        {
        case CLS_UNIT:
          if (!decl_add (d, &u, &gap))
            return false;
          break;
        case CLS_SEP:
          gap = true;
          break;
        case CLS_SKIP:
          break;
        case CLS_UNKNOWN:
          return false;
        }
    }
  d->word[d->words] = d->n;
  return true;
}

int
enrol_names_to_mrz (const char *utf8, char *out, size_t outlen)
{
  struct decl d;
  size_t o = 0;

  if (outlen == 0 || !decl_parse (utf8, &d))
    return -1;
  for (size_t w = 0; w < d.words; w++)
    for (size_t i = d.word[w]; i < d.word[w + 1]; i++)
      {
        size_t l = d.u[i].len[0] + (w > 0 && i == d.word[w]);

        if (o + l >= outlen)
          return -1;
        if (w > 0 && i == d.word[w])
          out[o++] = '<';
        memcpy (out + o, d.u[i].alt[0], d.u[i].len[0]);
        o += d.u[i].len[0];
      }
  out[o] = '\0';
  return 0;
}

/* ------------------------------------------------------------------ */
/* Matching units against MRZ letters                                 */
/* ------------------------------------------------------------------ */

/*
 * Can units u[0..nu) spell s[0..ns)?  With @a prefix, s may also stop
 * anywhere inside the spelling (a truncated MRZ name).
 */
static bool
units_match (const struct unit *u, size_t nu, const char *s, size_t ns,
             bool prefix)
{
  static const size_t cols = MRZ_NAME_MAX + 1;
  bool reach[(UNITS_MAX + 1) * (MRZ_NAME_MAX + 1)];

  if (ns > MRZ_NAME_MAX)
    return false;
  memset (reach, 0, (nu + 1) * cols);
  reach[0] = true;
  for (size_t i = 0; i < nu; i++)
    for (size_t j = 0; j <= ns; j++)
      {
        if (!reach[i * cols + j])
          continue;
        if (prefix && j == ns)
          return true;
        for (size_t a = 0; a < u[i].n; a++)
          {
            size_t l = u[i].len[a], rest = ns - j;

            if (l <= rest && memcmp (s + j, u[i].alt[a], l) == 0)
              reach[(i + 1) * cols + j + l] = true;
            else if (prefix && l > rest
                     && memcmp (s + j, u[i].alt[a], rest) == 0)
              return true;
          }
      }
  return reach[nu * cols + ns];
}

/* MRZ name text: letters and single spaces. */
struct mrz_words {
  char letters[MRZ_NAME_MAX + 1];
  size_t n;
  size_t word[WORDS_MAX + 1];
  size_t words;
};

static bool
mrz_split (const char *mrz, struct mrz_words *m)
{
  bool gap = true;

  m->n = m->words = 0;
  for (const char *p = mrz; *p != '\0'; p++)
    {
      if (*p == ' ' || *p == '<')
        {
          gap = true;
          continue;
        }
      if (*p < 'A' || *p > 'Z' || m->n == MRZ_NAME_MAX)
        return false;
      if (gap)
        {
          if (m->words == WORDS_MAX)
            return false;
          m->word[m->words++] = m->n;
        }
      gap = false;
      m->letters[m->n++] = *p;
    }
  m->word[m->words] = m->n;
  m->letters[m->n] = '\0';
  return true;
}

/* Truncation word by word: each MRZ word starts the declared word. */
static bool
wordwise_prefix (const struct decl *d, const struct mrz_words *m)
{
  if (m->words > d->words)
    return false;
  for (size_t w = 0; w < m->words; w++)
    if (!units_match (d->u + d->word[w], d->word[w + 1] - d->word[w],
                      m->letters + m->word[w], m->word[w + 1] - m->word[w],
                      true))
      return false;
  return true;
}

bool
enrol_names_match (const char *declared, const char *mrz, bool truncatable)
{
  struct decl d;
  struct mrz_words m;

  if (declared == NULL || mrz == NULL || !decl_parse (declared, &d)
      || !mrz_split (mrz, &m))
    return false;
  if (units_match (d.u, d.n, m.letters, m.n, false))
    return true;
  if (!truncatable)
    return false;
  return units_match (d.u, d.n, m.letters, m.n, true)
         || wordwise_prefix (&d, &m);
}

bool
enrol_names_match_mrz (const char *declared_surname,
                       const char *declared_given_names,
                       const struct enrol_mrz *mrz)
{
  return enrol_names_match (declared_surname, mrz->surname,
                            mrz->surname_truncatable)
         && enrol_names_match (declared_given_names, mrz->given_names,
                               mrz->given_names_truncatable);
}

/* Word by word: each declared word spells the matching MRZ word, none
   left over on either side. */
static bool
wordwise_exact (const struct decl *d, const struct mrz_words *m)
{
  if (m->words != d->words)
    return false;
  for (size_t w = 0; w < m->words; w++)
    if (!units_match (d->u + d->word[w], d->word[w + 1] - d->word[w],
                      m->letters + m->word[w], m->word[w + 1] - m->word[w],
                      false))
      return false;
  return true;
}

bool
enrol_names_same_words (const char *declared, const char *mrz,
                        bool truncatable)
{
  struct decl d;
  struct mrz_words m;

  if (declared == NULL || mrz == NULL || !decl_parse (declared, &d)
      || !mrz_split (mrz, &m))
    return false;
  return wordwise_exact (&d, &m) || (truncatable && wordwise_prefix (&d, &m));
}

bool
enrol_names_same_words_mrz (const char *declared_surname,
                            const char *declared_given_names,
                            const struct enrol_mrz *mrz)
{
  return enrol_names_same_words (declared_surname, mrz->surname,
                                 mrz->surname_truncatable)
         && enrol_names_same_words (declared_given_names, mrz->given_names,
                                    mrz->given_names_truncatable);
}

/* ------------------------------------------------------------------ */
/* The form of a name in an identity key                              */
/* ------------------------------------------------------------------ */

/* The name as typed: ASCII letters upper-cased, runs of ASCII white space
   one space, nothing trimmed away but white space at the ends.  Every other
   byte is kept, so two different names never become the same text. */
static int
verbatim_form (const char *utf8, char *out, size_t outlen)
{
  size_t o = 0;
  bool space = false;

  for (const unsigned char *p = (const unsigned char *) utf8; *p; p++)
    {
      if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        {
          space = o > 0;
          continue;
        }
      if (o + 2 >= outlen)
        return -1;
      if (space)
        out[o++] = ' ';
      space = false;
      out[o++] = (char) ((*p >= 'a' && *p <= 'z') ? *p - ('a' - 'A') : *p);
    }
  out[o] = '\0';
  return 0;
}

int
enrol_names_key_form (const char *utf8, char *out, size_t outlen)
{
  if (outlen < 3)
    return -1;
  memcpy (out, "m:", 2);
  if (enrol_names_to_mrz (utf8, out + 2, outlen - 2) == 0 && out[2] != '\0')
    return 0;
  memcpy (out, "u:", 2);
  return verbatim_form (utf8, out + 2, outlen - 2);
}

/* ------------------------------------------------------------------ */
/* Screening tokens                                                   */
/* ------------------------------------------------------------------ */

struct tok_writer {
  char *buf;
  size_t cap, o, len;
  const char **tok;
  size_t n, max;
  bool open;
};

/* Append @a l characters to the current token (opening one if needed). */
static int
tw_add (struct tok_writer *w, const char *p, size_t l)
{
  if (l == 0 || (!w->open && w->n == w->max))
    return 0;
  if (!w->open)
    {
      w->tok[w->n++] = w->buf + w->o;
      w->open = true;
      w->len = 0;
    }
  if (w->len + l > ENROL_NAMES_TOKEN_MAX)
    l = ENROL_NAMES_TOKEN_MAX - w->len;
  if (w->o + l + 1 > w->cap)
    return -1;
  memcpy (w->buf + w->o, p, l);
  w->o += l;
  w->len += l;
  return 0;
}

static void
tw_end (struct tok_writer *w)
{
  if (w->open)
    w->buf[w->o++] = '\0';
  w->open = false;
}

int
enrol_names_tokens (const char *utf8, char *buf, size_t buflen,
                    const char **tok, size_t max)
{
  const unsigned char *s = (const unsigned char *) utf8;
  struct tok_writer w = { buf, buflen, 0, 0, tok, 0, max, false };

  if (buflen == 0)
    return -1;
  buf[0] = '\0';
  while (*s != '\0')
    {
      uint32_t cp;
      struct unit u;
      size_t used = utf8_next (s, &cp);

      if (used == 0)
        return -1;
      s += used;
      switch (classify (cp, &u))
        {
        case CLS_UNIT:
          if (tw_add (&w, u.alt[u.plain], u.len[u.plain]) < 0)
            return -1;
          break;
        case CLS_SEP:
        case CLS_UNKNOWN:
          tw_end (&w);
          break;
        case CLS_SKIP:
          break;
        }
    }
  tw_end (&w);
  return (int) w.n;
}

int
enrol_names_join_initials (const char *utf8, char *out, size_t outlen)
{
  char buf[512];
  const char *tok[64];
  int n = enrol_names_tokens (utf8, buf, sizeof buf, tok, 64);
  size_t o = 0;
  bool joined = false;

  if (n < 0 || outlen == 0)
    return -1;
  for (int i = 0; i < n; i++)
    {
      size_t l = strlen (tok[i]);
      /* a letter following a letter: the same word, spelled out */
      bool glue = l == 1 && i > 0 && strlen (tok[i - 1]) == 1;

      if (o + l + 2 > outlen)
        return -1;
      if (i > 0 && !glue)
        out[o++] = ' ';
      joined = joined || glue;
      memcpy (out + o, tok[i], l);
      o += l;
    }
  out[o] = '\0';
  return joined ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Jaro-Winkler                                                       */
/* ------------------------------------------------------------------ */

double
enrol_names_jaro (const char *a, size_t alen, const char *b, size_t blen)
{
  uint64_t amask = 0, bmask = 0;
  size_t win, m = 0, t = 0, k = 0;

  alen = alen > ENROL_NAMES_TOKEN_MAX ? ENROL_NAMES_TOKEN_MAX : alen;
  blen = blen > ENROL_NAMES_TOKEN_MAX ? ENROL_NAMES_TOKEN_MAX : blen;
  if (alen == 0 || blen == 0)
    return 0.0;
  win = (alen > blen ? alen : blen) / 2;
  win = win > 0 ? win - 1 : 0;
  for (size_t i = 0; i < alen; i++)
    {
      size_t lo = i > win ? i - win : 0;
      size_t hi = i + win + 1 < blen ? i + win + 1 : blen;

      for (size_t x = lo; x < hi; x++)
        if (!(bmask >> x & 1) && a[i] == b[x])
          {
            amask |= (uint64_t) 1 << i;
            bmask |= (uint64_t) 1 << x;
            m++;
            break;
          }
    }
  if (m == 0)
    return 0.0;
  for (size_t i = 0; i < alen; i++)
    if (amask >> i & 1)
      {
        while (!(bmask >> k & 1))
          k++;
        t += a[i] != b[k++];
      }
  return ((double) m / alen + (double) m / blen + (m - t / 2.0) / m) / 3.0;
}

double
enrol_names_jaro_winkler (const char *a, size_t alen, const char *b,
                          size_t blen)
{
  double j = enrol_names_jaro (a, alen, b, blen);
  size_t l = 0;

  if (j <= 0.7)
    return j;
  while (l < 4 && l < alen && l < blen && a[l] == b[l])
    l++;
  return j + l * 0.1 * (1.0 - j);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * sanctions_load.c -- building the immutable list that sanctions.c screens
 * against from OFAC's sdn.csv and alt.csv.
 *
 * Only entries of type "individual" and their aliases are kept.  Each
 * listed name is cut into tokens (the same sx_tokens the applicant goes
 * through), tokens are interned into one vocabulary, the vocabulary is
 * sorted by (length, text) and indexed (sanctions_index.c).  A load
 * either builds a whole list or fails: a half-read list must never screen
 * anyone.
 */
#include "enrol/sanctions_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define SDN_FIELDS 12
#define ALT_FIELDS 5

/* ------------------------------------------------------------------ */
/* The list being built                                               */
/* ------------------------------------------------------------------ */

struct builder {
  struct enrol_sanctions_list *l;
  size_t pool_len, pool_cap, entries_cap, names_cap, ids_len, ids_cap;
  size_t dobs_len, dobs_cap, vocab_cap;
  uint32_t *hash;               /* open addressing: vocab id + 1, 0 free */
  size_t hash_cap;
  uint32_t *v_tmpstr;           /* token text offsets, in insertion order */
  char *err;
  size_t errlen;
};

static bool
grow (void *pp, size_t *cap, size_t need, size_t size)
{
  void **p = pp;
  size_t n = *cap ? *cap : 64;
  void *q;

  if (need <= *cap)
    return true;
  while (n < need)
    n *= 2;
  q = realloc (*p, n * size);
  if (q == NULL)
    return false;
  *p = q;
  *cap = n;
  return true;
}

/* @return the pool offset of a copy of s[0..n), or UINT32_MAX. */
static uint32_t
pool_add (struct builder *b, const char *s, size_t n)
{
  uint32_t off = (uint32_t) b->pool_len;

  if (b->pool_len + n + 1 > UINT32_MAX
      || !grow (&b->l->pool, &b->pool_cap, b->pool_len + n + 1, 1))
    return UINT32_MAX;
  memcpy (b->l->pool + off, s, n);
  b->l->pool[off + n] = '\0';
  b->pool_len += n + 1;
  return off;
}

static uint32_t
hash_str (const char *s, size_t n)
{
  uint32_t h = 2166136261u;

  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char) s[i]) * 16777619u;
  return h;
}

static bool
rehash (struct builder *b)
{
  size_t cap = b->hash_cap ? b->hash_cap * 2 : 4096;
  uint32_t *h = calloc (cap, sizeof *h);

  if (h == NULL)
    return false;
  for (size_t v = 0; v < b->l->nvocab; v++)
    {
      const char *s = b->l->pool + b->v_tmpstr[v];
      size_t i = hash_str (s, strlen (s)) & (cap - 1);

      while (h[i] != 0)
        i = (i + 1) & (cap - 1);
      h[i] = (uint32_t) v + 1;
    }
  free (b->hash);
  b->hash = h;
  b->hash_cap = cap;
  return true;
}

/* @return the vocabulary id of @a tok, adding it if new; UINT32_MAX on
   allocation failure. */
static uint32_t
intern (struct builder *b, const char *tok)
{
  size_t n = strlen (tok), i;
  uint32_t off;

  if (2 * (b->l->nvocab + 1) > b->hash_cap && !rehash (b))
    return UINT32_MAX;
  i = hash_str (tok, n) & (b->hash_cap - 1);
  for (; b->hash[i] != 0; i = (i + 1) & (b->hash_cap - 1))
    if (strcmp (b->l->pool + b->v_tmpstr[b->hash[i] - 1], tok) == 0)
      return b->hash[i] - 1;
  off = pool_add (b, tok, n);
  if (off == UINT32_MAX
      || !grow (&b->v_tmpstr, &b->vocab_cap, b->l->nvocab + 1,
                sizeof *b->v_tmpstr))
    return UINT32_MAX;
  b->v_tmpstr[b->l->nvocab] = off;
  b->hash[i] = (uint32_t) b->l->nvocab + 1;
  return (uint32_t) b->l->nvocab++;
}

/* Add one screened name made of @a n tokens. */
static bool
add_name_tokens (struct builder *b, const struct sx_name *proto,
                 const char *const *tok, int n)
{
  struct sx_name *nm;

  if (!grow (&b->l->names, &b->names_cap, b->l->nnames + 1, sizeof *nm)
      || !grow (&b->l->tok_ids, &b->ids_cap, b->ids_len + (size_t) n,
                sizeof *b->l->tok_ids))
    return false;
  nm = &b->l->names[b->l->nnames++];
  *nm = *proto;
  nm->tok = (uint32_t) b->ids_len;
  nm->ntok = (uint8_t) n;
  for (int i = 0; i < n; i++)
    {
      uint32_t id = intern (b, tok[i]);

      if (id == UINT32_MAX)
        return false;
      b->l->tok_ids[b->ids_len++] = id;
    }
  return true;
}

/*
 * The same name with each particle glued to the word after it
 * (AL ZAWAHIRI -> ALZAWAHIRI, DE LA CRUZ -> DELACRUZ), as some documents
 * write it.  @return the number of tokens, 0 if the name has no particle
 * to glue (or a glued token would be too long).
 */
static int
glue_particles (const char *const *tok, int n, char *buf, size_t buflen,
                const char **out)
{
  size_t o = 0, start = 0;
  int k = 0;
  bool glued = false;

  for (int i = 0; i < n; i++)
    {
      size_t len = strlen (tok[i]);
      bool particle = i + 1 < n && sx_kind (tok[i], len) == SX_PARTICLE;

      if (o == start)
        out[k++] = buf + start;
      if (o + len + 1 > buflen || o - start + len > ENROL_NAMES_TOKEN_MAX)
        return 0;
      memcpy (buf + o, tok[i], len);
      o += len;
      glued = glued || particle;
      if (!particle)
        {
          buf[o++] = '\0';
          start = o;
        }
    }
  return glued ? k : 0;
}

/* Add the tokens of @a text as a name, and its glued variant if any. */
static bool
add_tokens (struct builder *b, uint32_t entry, uint32_t display,
            const char *text, bool alias)
{
  char buf[512], glue[512];
  const char *tok[SX_NAME_TOKENS], *gtok[SX_NAME_TOKENS];
  const struct sx_name proto = { entry, display, 0, 0, alias };
  int n = sx_tokens (text, buf, sizeof buf, tok, SX_NAME_TOKENS), g;

  if (n <= 0)
    return true;
  if (!add_name_tokens (b, &proto, tok, n))
    return false;
  g = glue_particles (tok, n, glue, sizeof glue, gtok);
  return g == 0 || add_name_tokens (b, &proto, gtok, g);
}

/*
 * A parenthesised part is an alternative to the word before it ("SANTOS,
 * Ahmad (Ahmed)", "REJON AGUILAR, Jose (Jesus) Enrique"): @a plain gets
 * the text without it, @a alt the text with it instead of that word.
 */
static void
split_alternative (const char *text, char *plain, char *alt, size_t n)
{
  size_t po = 0, ao = 0;

  for (const char *p = text; *p != '\0' && po + 1 < n && ao + 1 < n;)
    {
      if (*p != '(')
        {
          plain[po++] = alt[ao++] = *p++;
          continue;
        }
      while (ao > 0 && alt[ao - 1] == ' ')
        ao--;
      while (ao > 0 && alt[ao - 1] != ' ' && alt[ao - 1] != ',')
        ao--;
      for (p++; *p != '\0' && *p != ')' && ao + 1 < n; p++)
        alt[ao++] = *p;
      p += *p == ')';
    }
  plain[po] = '\0';
  alt[ao] = '\0';
}

/* A listed name, "SURNAME, Given Names", and its alternative if any. */
static bool
add_name (struct builder *b, uint32_t entry, const char *text, bool alias)
{
  char plain[512], alt[512];
  uint32_t display = pool_add (b, text, strlen (text));

  if (display == UINT32_MAX)
    return false;
  split_alternative (text, plain, alt, sizeof plain);
  if (!add_tokens (b, entry, display, plain, alias))
    return false;
  return strcmp (plain, alt) == 0
         || add_tokens (b, entry, display, alt, alias);
}

/* ------------------------------------------------------------------ */
/* Dates of birth                                                     */
/* ------------------------------------------------------------------ */

/* Every "DOB ..." of a remarks field; unreadable values are skipped. */
static bool
add_dobs (struct builder *b, struct sx_entry *e, const char *remarks)
{
  e->dob = (uint32_t) b->dobs_len;
  for (const char *p = remarks; (p = strstr (p, "DOB ")) != NULL; p += 4)
    {
      const char *v = p + 4, *end = strchr (v, ';');
      struct sx_dob r;

      if (p != remarks && p[-1] != ' ')
        continue;
      if (end == NULL)
        end = v + strlen (v);
      if (!sx_dob_value (v, (size_t) (end - v), &r))
        continue;
      if (!grow (&b->l->dobs, &b->dobs_cap, b->dobs_len + 1, sizeof r))
        return false;
      b->l->dobs[b->dobs_len++] = r;
    }
  e->ndob = (uint32_t) b->dobs_len - e->dob;
  return true;
}

/* ------------------------------------------------------------------ */
/* Version                                                            */
/* ------------------------------------------------------------------ */

static bool
version (struct enrol_sanctions_list *l, const char *a, size_t alen,
         const char *z, size_t zlen)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  bool ok = ctx != NULL && EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL)
            && EVP_DigestUpdate (ctx, a, alen)
            && EVP_DigestUpdate (ctx, z, zlen)
            && EVP_DigestFinal_ex (ctx, md, &mdlen) && mdlen >= 8;

  EVP_MD_CTX_free (ctx);
  if (!ok)
    return false;
  memcpy (l->version, "sha256:", 7);
  for (int i = 0; i < 8; i++)
    snprintf (l->version + 7 + 2 * i, 3, "%02x", md[i]);
  return true;
}

/* ------------------------------------------------------------------ */
/* Reading the two files                                              */
/* ------------------------------------------------------------------ */

static bool
read_sdn (struct builder *b, char *buf, size_t len)
{
  struct sx_csv c = { buf, buf + len };
  char *f[SDN_FIELDS];
  int n;

  while ((n = sx_csv_record (&c, f, SDN_FIELDS)) > 0)
    {
      struct sx_entry *e;
      char *end;
      long id;

      if (n != SDN_FIELDS || strcmp (f[2], "individual") != 0)
        continue;
      id = strtol (f[0], &end, 10);
      if (*end != '\0' || end == f[0])
        continue;
      if (!grow (&b->l->entries, &b->entries_cap, b->l->nentries + 1,
                 sizeof *e))
        return false;
      e = &b->l->entries[b->l->nentries];
      e->id = id;
      e->program = pool_add (b, f[3], strlen (f[3]));
      e->title = pool_add (b, f[4], strlen (f[4]));
      e->remarks = pool_add (b, f[11], strlen (f[11]));
      if (e->program == UINT32_MAX || e->title == UINT32_MAX
          || e->remarks == UINT32_MAX || !add_dobs (b, e, f[11])
          || !add_name (b, (uint32_t) b->l->nentries++, f[1], false))
        return false;
    }
  return true;
}

static int
id_cmp (const void *a, const void *b, void *arg)
{
  const struct sx_entry *e = arg;
  long x = e[*(const uint32_t *) a].id, y = e[*(const uint32_t *) b].id;

  return (x > y) - (x < y);
}

/* @return the index of the entry numbered @a id, or -1. */
static long
find_entry (const struct enrol_sanctions_list *l, const uint32_t *by_id,
            long id)
{
  size_t lo = 0, hi = l->nentries;

  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      long x = l->entries[by_id[mid]].id;

      if (x == id)
        return by_id[mid];
      if (x < id)
        lo = mid + 1;
      else
        hi = mid;
    }
  return -1;
}

static bool
read_alt (struct builder *b, char *buf, size_t len)
{
  struct sx_csv c = { buf, buf + len };
  char *f[ALT_FIELDS];
  uint32_t *by_id = malloc (b->l->nentries * sizeof *by_id);
  bool ok = by_id != NULL;
  int n;

  for (size_t i = 0; ok && i < b->l->nentries; i++)
    by_id[i] = (uint32_t) i;
  if (ok)
    qsort_r (by_id, b->l->nentries, sizeof *by_id, id_cmp, b->l->entries);
  while (ok && (n = sx_csv_record (&c, f, ALT_FIELDS)) > 0)
    {
      char *end;
      long id = strtol (f[0], &end, 10), e;

      if (n != ALT_FIELDS || *end != '\0' || end == f[0])
        continue;
      e = find_entry (b->l, by_id, id);
      if (e >= 0)
        ok = add_name (b, (uint32_t) e, f[3], true);
    }
  free (by_id);
  return ok;
}

/* ------------------------------------------------------------------ */
/* Vocabulary: sorted by length and text, with postings               */
/* ------------------------------------------------------------------ */

static int
vocab_cmp (const void *a, const void *b, void *arg)
{
  const struct builder *bd = arg;
  const char *x = bd->l->pool + bd->v_tmpstr[*(const uint32_t *) a];
  const char *y = bd->l->pool + bd->v_tmpstr[*(const uint32_t *) b];
  size_t lx = strlen (x), ly = strlen (y);

  if (lx != ly)
    return lx < ly ? -1 : 1;
  return strcmp (x, y);
}

static bool
alloc_vocab (struct enrol_sanctions_list *l, size_t n)
{
  l->v_str = malloc (n * sizeof *l->v_str);
  l->v_len = malloc (n);
  l->v_kind = malloc (n);
  l->v_mask = malloc (n * sizeof *l->v_mask);
  l->v_pre = malloc (n * sizeof *l->v_pre);
  l->v_extra = malloc (n);
  return l->v_str && l->v_len && l->v_kind && l->v_mask && l->v_pre
         && l->v_extra;
}

/* Postings: token -> the names holding it, each name once. */
static bool
build_postings (struct enrol_sanctions_list *l, size_t ntok)
{
  uint32_t *row = malloc ((ntok + 1) * sizeof *row);
  uint32_t *id = malloc ((ntok + 1) * sizeof *id);
  size_t n = 0;
  bool ok = row != NULL && id != NULL;

  for (size_t i = 0; ok && i < l->nnames; i++)
    {
      const uint32_t *ids = l->tok_ids + l->names[i].tok;

      for (size_t t = 0; t < l->names[i].ntok; t++)
        {
          bool dup = false;

          for (size_t u = 0; u < t; u++)
            dup = dup || ids[u] == ids[t];
          if (!dup)
            row[n] = ids[t], id[n++] = (uint32_t) i;
        }
    }
  ok = ok && sx_csr_build (&l->post, l->nvocab, row, id, NULL, n);
  free (row);
  free (id);
  return ok;
}

static void
fill_vocab (struct enrol_sanctions_list *l, size_t v, uint32_t str)
{
  const char *s = l->pool + str;
  size_t len = strlen (s);

  l->v_str[v] = str;
  l->v_len[v] = (uint8_t) len;
  l->v_kind[v] = (uint8_t) sx_kind (s, len);
  l->v_mask[v] = sx_mask (s, len);
  l->v_pre[v] = sx_prefix4 (s, len);
  l->v_extra[v] = (uint8_t) (len
                               - (size_t) __builtin_popcountll (l->v_mask[v]));
}

/* Sort the vocabulary by (length, text) and renumber the names' tokens. */
static bool
build_vocab (struct builder *b)
{
  struct enrol_sanctions_list *l = b->l;
  size_t n = l->nvocab;
  uint32_t *order = malloc ((n + 1) * sizeof *order);
  uint32_t *remap = malloc ((n + 1) * sizeof *remap);
  bool ok = order != NULL && remap != NULL && alloc_vocab (l, n + 1);

  for (size_t v = 0; ok && v < n; v++)
    order[v] = (uint32_t) v;
  if (ok)
    qsort_r (order, n, sizeof *order, vocab_cmp, b);
  for (size_t v = 0; ok && v < n; v++)
    {
      remap[order[v]] = (uint32_t) v;
      fill_vocab (l, v, b->v_tmpstr[order[v]]);
    }
  for (size_t i = 0; ok && i < b->ids_len; i++)
    l->tok_ids[i] = remap[l->tok_ids[i]];
  for (size_t len = 0, v = 0; ok && len <= ENROL_NAMES_TOKEN_MAX + 1; len++)
    {
      while (v < n && l->v_len[v] < len)
        v++;
      l->by_len[len] = (uint32_t) v;
    }
  free (order);
  free (remap);
  return ok && build_postings (l, b->ids_len) && sx_build_index (l);
}

/* ------------------------------------------------------------------ */
/* Entry points                                                       */
/* ------------------------------------------------------------------ */

bool
enrol_sanctions_entry (const struct enrol_sanctions_list *l, long entry_id,
                       struct enrol_sanctions_entry_info *out)
{
  size_t e;

  memset (out, 0, sizeof *out);
  if (l == NULL)
    return false;
  for (e = 0; e < l->nentries && l->entries[e].id != entry_id; e++)
    ;
  if (e == l->nentries)
    return false;
  out->entry_id = entry_id;
  out->program = l->pool + l->entries[e].program;
  out->title = l->pool + l->entries[e].title;
  out->remarks = l->pool + l->entries[e].remarks;
  /* A name with an alternative is indexed twice under one display text. */
  for (size_t i = 0; i < l->nnames
       && out->nnames < ENROL_SANCTIONS_ENTRY_NAMES; i++)
    {
      const char *d = l->pool + l->names[i].display;
      bool seen = false;

      if (l->names[i].entry != e)
        continue;
      for (size_t k = 0; k < out->nnames && !seen; k++)
        seen = out->names[k] == d;
      if (seen)
        continue;
      out->alias[out->nnames] = l->names[i].alias;
      out->names[out->nnames++] = d;
    }
  return true;
}

void
enrol_sanctions_free (struct enrol_sanctions_list *l)
{
  if (l == NULL)
    return;
  free (l->pool);
  free (l->entries);
  free (l->names);
  free (l->tok_ids);
  free (l->dobs);
  free (l->v_str);
  free (l->v_len);
  free (l->v_kind);
  free (l->v_mask);
  free (l->v_pre);
  free (l->v_extra);
  sx_csr_free (&l->post);
  sx_csr_free (&l->prefix);
  sx_csr_free (&l->near);
  free (l->always);
  free (l);
}

static bool
build (struct builder *b, char *sdn, size_t sdnlen, char *alt, size_t altlen)
{
  const char *why = "out of memory";

  if (!version (b->l, sdn, sdnlen, alt, altlen))
    why = "SHA-256 failed";
  else if (!read_sdn (b, sdn, sdnlen))
    why = "out of memory";
  else if (b->l->nentries == 0)
    why = "sdn.csv: no individual found";
  else if (read_alt (b, alt, altlen) && build_vocab (b))
    return true;
  snprintf (b->err, b->errlen, "%s", why);
  return false;
}

struct enrol_sanctions_list *
enrol_sanctions_load (const char *dir, char *err, size_t errlen)
{
  char dummy[8];
  struct builder b = { 0 };
  size_t sdnlen = 0, altlen = 0;
  char *sdn, *alt = NULL;

  if (err == NULL)
    err = dummy, errlen = sizeof dummy;
  b.err = err;
  b.errlen = errlen;
  sdn = sx_read_file (dir, "sdn.csv", &sdnlen, err, errlen);
  if (sdn != NULL)
    alt = sx_read_file (dir, "alt.csv", &altlen, err, errlen);
  b.l = alt != NULL ? calloc (1, sizeof *b.l) : NULL;
  if (alt != NULL && b.l == NULL)
    snprintf (err, errlen, "out of memory");
  if (b.l != NULL && !build (&b, sdn, sdnlen, alt, altlen))
    {
      enrol_sanctions_free (b.l);
      b.l = NULL;
    }
  free (b.hash);
  free (b.v_tmpstr);
  free (sdn);
  free (alt);
  return b.l;
}

const char *
enrol_sanctions_version (const struct enrol_sanctions_list *l)
{
  return l->version;
}

size_t
enrol_sanctions_entries (const struct enrol_sanctions_list *l)
{
  return l->nentries;
}

size_t
enrol_sanctions_names (const struct enrol_sanctions_list *l)
{
  return l->nnames;
}

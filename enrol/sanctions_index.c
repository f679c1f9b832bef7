/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * sanctions_index.c -- screening tokens, their similarity, and the
 * indexes that spare a screening from comparing every listed name.
 *
 * The vocabulary of a list (about 10,000 distinct tokens for OFAC's
 * individuals) is small enough that, at load time, each token's
 * neighbours -- the tokens within SX_FLOOR of it -- are computed once.  An
 * applicant's token that is on the list then costs a lookup; any other
 * token is compared with the whole vocabulary by sx_scan, which skips most
 * tokens on a bound (shared letters and prefix) before any Jaro-Winkler.
 *
 * Which names to score is decided by "prefix filtering": a name can only
 * reach ENROL_SANCTIONS_REPORT if tokens worth SX_MIN_COVER of its weight
 * find a partner, so one of its rarest tokens -- the shortest run, rarest
 * first, whose absence would leave too little weight -- must find one.  A
 * name is posted under those tokens only, so a common token such as
 * MUHAMMAD discovers few names.  Initials are matched by first letter and
 * cannot discover anything: a name that would need one in its prefix is
 * scored on every screening ("always"), and so is every name when the
 * applicant's own name has an initial (see sanctions.c).
 */
#include "enrol/sanctions_int.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Tokens                                                             */
/* ------------------------------------------------------------------ */

static bool
in_list (const char *const *list, const char *tok, size_t len)
{
  for (; *list != NULL; list++)
    if (strlen (*list) == len && memcmp (*list, tok, len) == 0)
      return true;
  return false;
}

/* Titles say nothing about who someone is: dropped on both sides. */
static const char *const titles[] = {
  "DR", "MR", "MRS", "MS", "MISS", "JR", "SR", "II", "III", "IV", "PROF",
  "LT", "COL", "RTD", "GEN", "CAPT", "MAJ", "COLONEL", "GENERAL", NULL
};

/* Particles and honorifics kept with a small weight. */
static const char *const particles[] = {
  "AL", "EL", "UL", "BIN", "BINT", "BINTI", "BEN", "IBN", "ABU", "ABOU",
  "BOU", "DE", "DEL", "DELA", "LA", "LAS", "LOS", "DA", "DAS", "DO", "DOS",
  "DI", "DU", "LE", "VAN", "VON", "DER", "DEN", "HAJI", "HAJJI", "SHEIKH",
  "SHAYKH", "MULLAH", NULL
};

enum sx_kind
sx_kind (const char *tok, size_t len)
{
  if (len == 1)
    return SX_INITIAL;
  return in_list (particles, tok, len) ? SX_PARTICLE : SX_SIGNIFICANT;
}

float
sx_weight (enum sx_kind kind)
{
  return kind == SX_SIGNIFICANT ? 1.0f : SX_MINOR_WEIGHT;
}

int
sx_tokens (const char *utf8, char *buf, size_t buflen, const char **tok,
           size_t max)
{
  int n = enrol_names_tokens (utf8, buf, buflen, tok, max);
  int k = 0;

  for (int i = 0; i < n; i++)
    if (!in_list (titles, tok[i], strlen (tok[i])))
      tok[k++] = tok[i];
  return n < 0 ? -1 : k;
}

uint64_t
sx_mask (const char *tok, size_t len)
{
  uint64_t m = 0;

  for (size_t i = 0; i < len; i++)
    {
      int x = tok[i] >= 'A' && tok[i] <= 'Z' ? tok[i] - 'A'
                                             : 26 + (tok[i] - '0');
      uint64_t once = (uint64_t) 1 << x;

      if ((m & once) && x < 26)
        m |= (uint64_t) 1 << (36 + x);
      m |= once;
    }
  return m;
}

uint32_t
sx_prefix4 (const char *tok, size_t len)
{
  uint32_t p = 0;

  for (size_t i = 0; i < 4 && i < len; i++)
    p |= (uint32_t) (unsigned char) tok[i] << (8 * i);
  return p;
}

/* ------------------------------------------------------------------ */
/* Similarity                                                         */
/* ------------------------------------------------------------------ */

float
sx_token_sim (const char *a, size_t alen, const char *b, size_t blen)
{
  double j;
  size_t l = 0;
  float s;

  if (alen == 1 || blen == 1)
    return a[0] == b[0] ? 1.0f : 0.0f;
  if (alen == 2 || blen == 2)
    return alen == blen && memcmp (a, b, 2) == 0 ? 1.0f : 0.0f;
  if (alen > blen || (alen == blen && memcmp (a, b, alen) > 0))
    {
      const char *t = a;
      size_t tl = alen;

      a = b, alen = blen, b = t, blen = tl;
    }
  j = enrol_names_jaro (a, alen, b, blen);
  /* Winkler's prefix bonus, except between a short token and a much
     longer one (LEE / LEFEBVRE), where a shared start means little. */
  if (j > 0.7 && 2 * blen < 3 * alen)
    {
      while (l < 4 && l < alen && a[l] == b[l])
        l++;
      j += (double) l * 0.1 * (1.0 - j);
    }
  s = (float) j;
  return s >= SX_FLOOR ? s : 0.0f;
}

long
sx_find (const struct enrol_sanctions_list *l, const char *tok, size_t len)
{
  size_t lo, hi;

  if (len > ENROL_NAMES_TOKEN_MAX)
    return -1;
  lo = l->by_len[len];
  hi = l->by_len[len + 1];
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      int c = memcmp (l->pool + l->v_str[mid], tok, len);

      if (c == 0)
        return (long) mid;
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return -1;
}

/* ------------------------------------------------------------------ */
/* Scanning the vocabulary                                            */
/* ------------------------------------------------------------------ */

/*
 * Fewest shared characters a token of length @a lv needs to possibly reach
 * SX_FLOOR against one of length @a lq sharing a prefix of @a pl:
 * Jaro <= (c/lq + c/lv + 1) / 3 and the bonus, when sx_token_sim gives
 * one, adds 0.1*pl*(1 - Jaro).
 */
static void
needs (size_t lq, size_t lv, int need[5])
{
  size_t lo = lq < lv ? lq : lv, hi = lq < lv ? lv : lq;
  bool bonus = 2 * hi < 3 * lo;

  for (int pl = 0; pl <= 4; pl++)
    {
      double b = bonus ? 0.1 * pl : 0.0;
      double jmin = (SX_FLOOR - 1e-6 - b) / (1.0 - b);
      double c = (3.0 * jmin - 1.0) * (double) (lq * lv)
                 / (double) (lq + lv);

      need[pl] = (int) c + ((double) (int) c < c - 1e-9);
    }
}

/* Shared leading bytes of two sx_prefix4 values (4 when all agree). */
static int
shared_prefix (uint32_t a, uint32_t b)
{
  uint32_t x = a ^ b;

  return x == 0 ? 4 : __builtin_ctz (x) / 8;
}

/* The hot loop of a screening: with the POPCNT instruction (an ifunc
   picks it at load time) it runs about a third faster.  Sanitizers call
   the resolver before they are ready, so they get the plain version. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) \
  && !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
__attribute__ ((target_clones ("popcnt", "default")))
#endif
static int
scan_bucket (const struct enrol_sanctions_list *l, const char *tok,
             size_t lq, size_t lv, uint32_t from,
             int (*fn) (void *, uint32_t, float), void *arg)
{
  const uint64_t *mask = l->v_mask;
  const uint32_t *pre = l->v_pre;
  const uint8_t *extra = l->v_extra;
  uint64_t qm = sx_mask (tok, lq);
  uint32_t qp = sx_prefix4 (tok, lq);
  int qe = (int) lq - __builtin_popcountll (qm), need[5];
  uint32_t end = l->by_len[lv + 1];

  needs (lq, lv, need);
  if (need[4] > (int) (lq < lv ? lq : lv))
    return 0;
  for (uint32_t v = from > l->by_len[lv] ? from : l->by_len[lv]; v < end;
       v++)
    {
      int c = __builtin_popcountll (qm & mask[v])
              + (qe < extra[v] ? qe : extra[v]);
      float s;
      int rc;

      if (c < need[shared_prefix (qp, pre[v])])
        continue;
      s = sx_token_sim (tok, lq, l->pool + l->v_str[v], lv);
      if (s > 0.0f && (rc = fn (arg, v, s)) != 0)
        return rc;
    }
  return 0;
}

int
sx_scan (const struct enrol_sanctions_list *l, const char *tok, size_t len,
         uint32_t from, int (*fn) (void *arg, uint32_t v, float sim),
         void *arg)
{
  for (size_t lv = 3; lv <= ENROL_NAMES_TOKEN_MAX; lv++)
    {
      int rc = scan_bucket (l, tok, len, lv, from, fn, arg);

      if (rc != 0)
        return rc;
    }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Compressed rows                                                    */
/* ------------------------------------------------------------------ */

bool
sx_csr_build (struct sx_csr *c, size_t rows, const uint32_t *row,
              const uint32_t *id, const float *sim, size_t n)
{
  uint32_t *fill = calloc (rows + 1, sizeof *fill);

  c->off = calloc (rows + 1, sizeof *c->off);
  c->ids = malloc ((n + 1) * sizeof *c->ids);
  c->sim = sim != NULL ? malloc ((n + 1) * sizeof *c->sim) : NULL;
  if (fill == NULL || c->off == NULL || c->ids == NULL
      || (sim != NULL && c->sim == NULL))
    {
      free (fill);
      return false;
    }
  for (size_t k = 0; k < n; k++)
    c->off[row[k] + 1]++;
  for (size_t r = 0; r < rows; r++)
    c->off[r + 1] += c->off[r];
  memcpy (fill, c->off, rows * sizeof *fill);
  for (size_t k = 0; k < n; k++)
    {
      uint32_t at = fill[row[k]]++;

      c->ids[at] = id[k];
      if (sim != NULL)
        c->sim[at] = sim[k];
    }
  free (fill);
  return true;
}

void
sx_csr_free (struct sx_csr *c)
{
  free (c->off);
  free (c->ids);
  free (c->sim);
  c->off = c->ids = NULL;
  c->sim = NULL;
}

/* Items gathered before they become rows. */
struct items {
  uint32_t *row, *id;
  float *sim;
  size_t n, cap;
};

static int
items_add (struct items *it, uint32_t row, uint32_t id, float sim)
{
  if (it->n == it->cap)
    {
      size_t cap = it->cap ? 2 * it->cap : 4096;
      uint32_t *r = realloc (it->row, cap * sizeof *r);
      uint32_t *i = r ? realloc (it->id, cap * sizeof *i) : NULL;
      float *s = i ? realloc (it->sim, cap * sizeof *s) : NULL;

      it->row = r ? r : it->row;
      it->id = i ? i : it->id;
      if (s == NULL)
        return -1;
      it->sim = s;
      it->cap = cap;
    }
  it->row[it->n] = row;
  it->id[it->n] = id;
  it->sim[it->n++] = sim;
  return 0;
}

static void
items_free (struct items *it)
{
  free (it->row);
  free (it->id);
  free (it->sim);
}

/* ------------------------------------------------------------------ */
/* Neighbours                                                         */
/* ------------------------------------------------------------------ */

struct near_ctx {
  struct items *it;
  uint32_t v;
};

static int
near_add (void *arg, uint32_t u, float sim)
{
  struct near_ctx *c = arg;

  if (items_add (c->it, c->v, u, sim) < 0)
    return -1;
  return u == c->v ? 0 : items_add (c->it, u, c->v, sim);
}

/* Each pair is compared once (the similarity is symmetric). */
static bool
build_near (struct enrol_sanctions_list *l)
{
  struct items it = { 0 };
  bool ok = true;

  for (uint32_t v = l->by_len[3]; ok && v < l->nvocab; v++)
    {
      struct near_ctx c = { &it, v };

      ok = sx_scan (l, l->pool + l->v_str[v], l->v_len[v], v, near_add, &c)
           == 0;
    }
  ok = ok && sx_csr_build (&l->near, l->nvocab, it.row, it.id, it.sim, it.n);
  items_free (&it);
  return ok;
}

/* ------------------------------------------------------------------ */
/* Prefixes                                                           */
/* ------------------------------------------------------------------ */

/* Rarest first; initials last (they cannot discover a name). */
static bool
rarer (const struct enrol_sanctions_list *l, uint32_t a, uint32_t b)
{
  bool ia = l->v_kind[a] == SX_INITIAL, ib = l->v_kind[b] == SX_INITIAL;
  uint32_t na = l->post.off[a + 1] - l->post.off[a];
  uint32_t nb = l->post.off[b + 1] - l->post.off[b];

  if (ia != ib)
    return ib;
  return na != nb ? na < nb : a < b;
}

/* Post name @a n under its prefix. @return 1 if it needs "always". */
static int
post_prefix (const struct enrol_sanctions_list *l, uint32_t n,
             struct items *it)
{
  const struct sx_name *nm = &l->names[n];
  uint32_t ord[SX_NAME_TOKENS];
  float total = 0, rest;

  for (size_t k = 0; k < nm->ntok; k++)
    {
      uint32_t v = l->tok_ids[nm->tok + k];
      size_t x = k;

      total += sx_weight (l->v_kind[v]);
      for (; x > 0 && rarer (l, v, ord[x - 1]); x--)
        ord[x] = ord[x - 1];
      ord[x] = v;
    }
  rest = total;
  for (size_t k = 0; k < nm->ntok && rest >= SX_MIN_COVER * total; k++)
    {
      if (l->v_kind[ord[k]] == SX_INITIAL)
        return 1;
      if ((k == 0 || ord[k] != ord[k - 1])
          && items_add (it, ord[k], n, 0.0f) < 0)
        return -1;
      rest -= sx_weight (l->v_kind[ord[k]]);
    }
  return 0;
}

static bool
build_prefix (struct enrol_sanctions_list *l)
{
  struct items it = { 0 };
  bool ok = true;

  l->always = malloc ((l->nnames + 1) * sizeof *l->always);
  ok = l->always != NULL;
  for (uint32_t n = 0; ok && n < l->nnames; n++)
    {
      int rc = post_prefix (l, n, &it);

      if (rc == 1)
        l->always[l->nalways++] = n;
      ok = rc >= 0;
    }
  ok = ok && sx_csr_build (&l->prefix, l->nvocab, it.row, it.id, NULL, it.n);
  items_free (&it);
  return ok;
}

bool
sx_build_index (struct enrol_sanctions_list *l)
{
  return build_near (l) && build_prefix (l);
}

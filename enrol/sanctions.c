/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * sanctions.c -- screening one person against a loaded sanctions list.
 *
 * Scoring.  The applicant's tokens Q and a listed name's tokens E are
 * compared pairwise with sx_token_sim (Jaro-Winkler for tokens of three
 * letters or more, 0 below SX_FLOOR; equality for two-letter tokens; first
 * letters for initials).  The best one-to-one pairing is taken greedily;
 * the cover of each side is the weighted share of its tokens that found a
 * partner (particles and initials weigh SX_MINOR_WEIGHT), and
 *   score = SX_COVER_LISTED * cover(E) + (1 - SX_COVER_LISTED) * cover(Q)
 * so a listed name found whole inside a longer declared name still scores
 * high, while one token shared with a long listed name does not.  Order
 * does not matter.  A name is only considered when a significant token
 * pair reaches ENROL_SANCTIONS_REPORT.  Each list entry is reported once,
 * with its best name, and its dates of birth then confirm or rule it out.
 *
 * Speed.  Similarities come from the vocabulary (sanctions_index.c): the
 * neighbour list of an applicant's token when the list has that token,
 * else one bounded scan of the vocabulary.  Only the names those tokens
 * can discover are scored.  enrol_sanctions_screen_exhaustive scores every
 * name from the texts instead and must give the same answer: the tests
 * and the benchmark hold it to that.
 */
#include "enrol/sanctions_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrol/mrz.h"

#define QUERY_TEXT_MAX 400

struct query {
  char buf[QUERY_TEXT_MAX + 64];
  const char *tok[SX_QUERY_TOKENS];
  uint8_t len[SX_QUERY_TOKENS];
  uint8_t kind[SX_QUERY_TOKENS];
  size_t n;
  int32_t birth;                /* yyyymmdd, 0 if unknown */
};

/* Similarities of the query tokens to the vocabulary tokens that came
   close to at least one of them. */
struct rows {
  uint32_t *slot;               /* per vocabulary id: row + 1, 0 = none */
  float (*sim)[SX_QUERY_TOKENS];
  uint32_t *vid;
  size_t n, cap;
};

/* A scored name, before grouping by entry. */
struct scored {
  uint32_t name;
  float score;
};

struct hits {
  struct scored *v;
  size_t n, cap;
};

/* ------------------------------------------------------------------ */
/* The applicant                                                      */
/* ------------------------------------------------------------------ */

static int
query_parse (struct query *q, const char *surname, const char *given,
             const char *birth_date)
{
  char text[QUERY_TEXT_MAX + 2];
  struct enrol_date d;
  int n;

  if (strlen (surname) + strlen (given) > QUERY_TEXT_MAX)
    return -1;
  snprintf (text, sizeof text, "%s %s", surname, given);
  n = sx_tokens (text, q->buf, sizeof q->buf, q->tok, SX_QUERY_TOKENS);
  if (n < 0)
    return -1;
  q->n = (size_t) n;
  for (size_t i = 0; i < q->n; i++)
    {
      q->len[i] = (uint8_t) strlen (q->tok[i]);
      q->kind[i] = (uint8_t) sx_kind (q->tok[i], q->len[i]);
    }
  q->birth = 0;
  if (birth_date != NULL)
    {
      if (enrol_date_parse (birth_date, &d) != 0)
        return -1;
      q->birth = d.y * 10000 + d.m * 100 + d.d;
    }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Token similarity                                                   */
/* ------------------------------------------------------------------ */

struct pair {
  float sim;
  uint8_t i, j;
};

/* Greedy one-to-one pairing, best pairs first. */
static size_t
best_pairs (const float m[][SX_NAME_TOKENS], size_t nq, size_t ne,
            struct pair *p)
{
  size_t n = 0, k = 0;
  uint32_t qused = 0, eused = 0;

  for (size_t i = 0; i < nq; i++)
    for (size_t j = 0; j < ne; j++)
      if (m[i][j] > 0.0f)
        {
          size_t x = n++;

          for (; x > 0 && p[x - 1].sim < m[i][j]; x--)
            p[x] = p[x - 1];
          p[x] = (struct pair) { m[i][j], (uint8_t) i, (uint8_t) j };
        }
  for (size_t x = 0; x < n; x++)
    if (!(qused >> p[x].i & 1) && !(eused >> p[x].j & 1))
      {
        qused |= 1u << p[x].i;
        eused |= 1u << p[x].j;
        p[k++] = p[x];
      }
  return k;
}

/* @return the name's score, or -1 if no significant pair is close. */
static float
name_score (const struct query *q, const uint8_t *ekind, size_t ne,
            const float m[][SX_NAME_TOKENS])
{
  struct pair p[SX_QUERY_TOKENS * SX_NAME_TOKENS];
  float wq = 0, we = 0, cq = 0, ce = 0;
  bool eligible = false;
  size_t k;

  for (size_t i = 0; i < q->n; i++)
    for (size_t j = 0; j < ne; j++)
      eligible = eligible
                 || (q->kind[i] == SX_SIGNIFICANT
                     && ekind[j] == SX_SIGNIFICANT
                     && m[i][j] >= (float) ENROL_SANCTIONS_REPORT);
  if (!eligible)
    return -1.0f;
  for (size_t i = 0; i < q->n; i++)
    wq += sx_weight (q->kind[i]);
  for (size_t j = 0; j < ne; j++)
    we += sx_weight (ekind[j]);
  k = best_pairs (m, q->n, ne, p);
  for (size_t x = 0; x < k; x++)
    {
      cq += p[x].sim * sx_weight (q->kind[p[x].i]);
      ce += p[x].sim * sx_weight (ekind[p[x].j]);
    }
  return (float) (SX_COVER_LISTED * ce / we
                  + (1.0 - SX_COVER_LISTED) * cq / wq);
}

/* ------------------------------------------------------------------ */
/* Index scan: the query against the vocabulary                       */
/* ------------------------------------------------------------------ */

static float *
row_for (struct rows *r, uint32_t v)
{
  if (r->slot[v] == 0)
    {
      if (r->n == r->cap)
        {
          size_t cap = r->cap ? 2 * r->cap : 256;
          void *s = realloc (r->sim, cap * sizeof *r->sim);
          void *i = s ? realloc (r->vid, cap * sizeof *r->vid) : NULL;

          if (s != NULL)
            r->sim = s;
          if (i == NULL)
            return NULL;
          r->vid = i;
          r->cap = cap;
        }
      memset (r->sim[r->n], 0, sizeof r->sim[r->n]);
      r->vid[r->n] = v;
      r->slot[v] = (uint32_t) ++r->n;
    }
  return r->sim[r->slot[v] - 1];
}

struct scan_ctx {
  struct rows *r;
  size_t i;
};

static int
scan_visit (void *arg, uint32_t v, float sim)
{
  struct scan_ctx *c = arg;
  float *row = row_for (c->r, v);

  if (row == NULL)
    return -1;
  row[c->i] = sim;
  return 0;
}

/* Rows for query token @a i: its neighbour list if the list has the
   token, else a scan of the vocabulary. */
static int
scan_token (const struct enrol_sanctions_list *l, const struct query *q,
            size_t i, struct rows *r)
{
  long v = sx_find (l, q->tok[i], q->len[i]);
  struct scan_ctx c = { r, i };

  if (q->len[i] == 2)
    return v < 0 ? 0 : scan_visit (&c, (uint32_t) v, 1.0f);
  if (v < 0)
    return sx_scan (l, q->tok[i], q->len[i], 0, scan_visit, &c);
  for (uint32_t k = l->near.off[v]; k < l->near.off[v + 1]; k++)
    if (scan_visit (&c, l->near.ids[k], l->near.sim[k]) < 0)
      return -1;
  return 0;
}

static int
scan_query (const struct enrol_sanctions_list *l, const struct query *q,
            struct rows *r)
{
  for (size_t i = 0; i < q->n; i++)
    if (q->len[i] >= 2 && scan_token (l, q, i, r) < 0)
      return -1;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Hits                                                               */
/* ------------------------------------------------------------------ */

static int
hits_add (struct hits *h, uint32_t name, float score)
{
  if (h->n == h->cap)
    {
      size_t cap = h->cap ? 2 * h->cap : 32;
      void *v = realloc (h->v, cap * sizeof *h->v);

      if (v == NULL)
        return -1;
      h->v = v;
      h->cap = cap;
    }
  h->v[h->n++] = (struct scored) { name, score };
  return 0;
}

/* Fill m[i][j] for name @a nm from the rows (indexed path). */
static void
fill_from_rows (const struct enrol_sanctions_list *l, const struct query *q,
                const struct rows *r, const struct sx_name *nm,
                float m[][SX_NAME_TOKENS], uint8_t *ekind)
{
  for (size_t j = 0; j < nm->ntok; j++)
    {
      uint32_t v = l->tok_ids[nm->tok + j];
      const float *row = r->slot[v] ? r->sim[r->slot[v] - 1] : NULL;

      ekind[j] = l->v_kind[v];
      for (size_t i = 0; i < q->n; i++)
        if (q->len[i] == 1 || l->v_len[v] == 1)
          m[i][j] = q->tok[i][0] == l->pool[l->v_str[v]] ? 1.0f : 0.0f;
        else
          m[i][j] = row != NULL ? row[i] : 0.0f;
    }
}

/* The same matrix from the texts (exhaustive path). */
static void
fill_direct (const struct enrol_sanctions_list *l, const struct query *q,
             const struct sx_name *nm, float m[][SX_NAME_TOKENS],
             uint8_t *ekind)
{
  for (size_t j = 0; j < nm->ntok; j++)
    {
      uint32_t v = l->tok_ids[nm->tok + j];

      ekind[j] = l->v_kind[v];
      for (size_t i = 0; i < q->n; i++)
        m[i][j] = sx_token_sim (q->tok[i], q->len[i],
                                l->pool + l->v_str[v], l->v_len[v]);
    }
}

static int
keep (struct hits *h, const struct query *q, uint32_t name,
      const uint8_t *ekind, size_t ne, const float m[][SX_NAME_TOKENS])
{
  float s = name_score (q, ekind, ne, m);

  if (s < (float) ENROL_SANCTIONS_REPORT)
    return 0;
  return hits_add (h, name, s);
}

/* ------------------------------------------------------------------ */
/* Candidates                                                         */
/* ------------------------------------------------------------------ */

struct cands {
  const struct enrol_sanctions_list *l;
  const struct query *q;
  const struct rows *r;
  struct hits *h;
  uint8_t *seen;
};

static int
score_once (struct cands *c, uint32_t n)
{
  float m[SX_QUERY_TOKENS][SX_NAME_TOKENS];
  uint8_t ekind[SX_NAME_TOKENS];

  if (c->seen[n / 8] >> (n % 8) & 1)
    return 0;
  c->seen[n / 8] |= (uint8_t) (1u << (n % 8));
  fill_from_rows (c->l, c->q, c->r, &c->l->names[n], m, ekind);
  return keep (c->h, c->q, n, ekind, c->l->names[n].ntok, m);
}

static int
score_row (struct cands *c, const struct sx_csr *posts, uint32_t v)
{
  for (uint32_t k = posts->off[v]; k < posts->off[v + 1]; k++)
    if (score_once (c, posts->ids[k]) < 0)
      return -1;
  return 0;
}

/* A significant token of the query close to a significant listed token:
   what makes a name eligible at all. */
static bool
row_eligible (const struct cands *c, size_t x)
{
  bool close = false;

  for (size_t i = 0; i < c->q->n; i++)
    close = close || (c->q->kind[i] == SX_SIGNIFICANT
                      && c->r->sim[x][i] >= (float) ENROL_SANCTIONS_REPORT);
  return close && c->l->v_kind[c->r->vid[x]] == SX_SIGNIFICANT;
}

/*
 * Score the names that could reach the report threshold: those posted
 * under a token close to the query (prefix filtering, sanctions_index.c),
 * plus the few no token can discover.  A query with an initial matches
 * tokens by first letter, which the rows do not show: then fall back on
 * every name holding an eligible pair.
 */
static int
score_candidates (const struct enrol_sanctions_list *l,
                  const struct query *q, const struct rows *r,
                  struct hits *h)
{
  struct cands c = { l, q, r, h, calloc (l->nnames / 8 + 1, 1) };
  bool initials = false;
  int rc = c.seen == NULL ? -1 : 0;

  for (size_t i = 0; i < q->n; i++)
    initials = initials || q->len[i] == 1;
  for (size_t x = 0; rc == 0 && x < r->n; x++)
    if (!initials)
      rc = score_row (&c, &l->prefix, r->vid[x]);
    else if (row_eligible (&c, x))
      rc = score_row (&c, &l->post, r->vid[x]);
  for (size_t k = 0; rc == 0 && !initials && k < l->nalways; k++)
    rc = score_once (&c, l->always[k]);
  free (c.seen);
  return rc;
}

static int
screen_indexed (const struct enrol_sanctions_list *l, const struct query *q,
                struct hits *h)
{
  struct rows r = { 0 };
  int rc;

  r.slot = calloc (l->nvocab + 1, sizeof *r.slot);
  rc = r.slot == NULL ? -1 : scan_query (l, q, &r);
  if (rc == 0)
    rc = score_candidates (l, q, &r, h);
  free (r.slot);
  free (r.sim);
  free (r.vid);
  return rc;
}

static int
screen_all (const struct enrol_sanctions_list *l, const struct query *q,
            struct hits *h)
{
  for (uint32_t n = 0; n < l->nnames; n++)
    {
      float m[SX_QUERY_TOKENS][SX_NAME_TOKENS];
      uint8_t ekind[SX_NAME_TOKENS];

      fill_direct (l, q, &l->names[n], m, ekind);
      if (keep (h, q, n, ekind, l->names[n].ntok, m) < 0)
        return -1;
    }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Dates of birth and the result                                      */
/* ------------------------------------------------------------------ */

/*
 * Corroborated: the birth date lies in one of the listed ranges.
 * Contradicted: the birth year lies outside every listed range's years
 * (a "circa" range already spans a year more on each side).  Same year,
 * other day: unknown -- the list's dates are too often approximate for
 * one day to clear a name.
 */
static enum enrol_sanctions_dob
dob_check (const struct enrol_sanctions_list *l, const struct sx_entry *e,
           int32_t birth)
{
  bool same_year = false;

  if (birth == 0 || e->ndob == 0)
    return ENROL_SANCTIONS_DOB_UNKNOWN;
  for (uint32_t k = 0; k < e->ndob; k++)
    {
      const struct sx_dob *d = &l->dobs[e->dob + k];

      if (birth >= d->lo && birth <= d->hi)
        return ENROL_SANCTIONS_DOB_CORROBORATED;
      same_year = same_year || (birth / 10000 >= d->lo / 10000
                                && birth / 10000 <= d->hi / 10000);
    }
  return same_year ? ENROL_SANCTIONS_DOB_UNKNOWN
                   : ENROL_SANCTIONS_DOB_CONTRADICTED;
}

static bool
better (const struct enrol_sanctions_hit *a,
        const struct enrol_sanctions_hit *b)
{
  if (a->match != b->match)
    return a->match;
  if (a->score != b->score)
    return a->score > b->score;
  return a->entry_id < b->entry_id;
}

static void
make_hit (const struct enrol_sanctions_list *l, const struct query *q,
          const struct scored *s, struct enrol_sanctions_hit *hit)
{
  const struct sx_name *nm = &l->names[s->name];
  const struct sx_entry *e = &l->entries[nm->entry];

  memset (hit, 0, sizeof *hit);
  hit->entry_id = e->id;
  snprintf (hit->name, sizeof hit->name, "%s", l->pool + nm->display);
  hit->alias = nm->alias;
  hit->score = s->score;
  hit->dob = dob_check (l, e, q->birth);
  hit->match = s->score >= (float) ENROL_SANCTIONS_MATCH
               && hit->dob != ENROL_SANCTIONS_DOB_CONTRADICTED;
}

/* Insert @a hit unless its entry is already there with a better name. */
static void
result_add (struct enrol_sanctions_result *res,
            const struct enrol_sanctions_hit *hit)
{
  size_t x;

  for (x = 0; x < res->count; x++)
    if (res->hits[x].entry_id == hit->entry_id)
      {
        if (!better (hit, &res->hits[x]))
          return;
        memmove (&res->hits[x], &res->hits[x + 1],
                 (res->count - x - 1) * sizeof *hit);
        res->count--;
        break;
      }
  for (x = res->count; x > 0 && better (hit, &res->hits[x - 1]); x--)
    if (x < ENROL_SANCTIONS_MAX_HITS)
      res->hits[x] = res->hits[x - 1];
  if (x < ENROL_SANCTIONS_MAX_HITS)
    {
      res->hits[x] = *hit;
      res->count += res->count < ENROL_SANCTIONS_MAX_HITS;
    }
}

static int
screen (const struct enrol_sanctions_list *l, const char *surname,
        const char *given, const char *birth_date,
        struct enrol_sanctions_result *res, bool exhaustive)
{
  struct query q;
  struct hits h = { 0 };
  int rc;

  memset (res, 0, sizeof *res);
  if (l == NULL || surname == NULL
      || query_parse (&q, surname, given ? given : "", birth_date) < 0)
    return -1;
  rc = exhaustive ? screen_all (l, &q, &h) : screen_indexed (l, &q, &h);
  for (size_t x = 0; rc == 0 && x < h.n; x++)
    {
      struct enrol_sanctions_hit hit;

      make_hit (l, &q, &h.v[x], &hit);
      result_add (res, &hit);
    }
  free (h.v);
  if (rc < 0)
    memset (res, 0, sizeof *res);
  res->match = res->count > 0 && res->hits[0].match;
  return rc;
}

int
enrol_sanctions_screen (const struct enrol_sanctions_list *list,
                        const char *surname, const char *given_names,
                        const char *birth_date,
                        struct enrol_sanctions_result *res)
{
  return screen (list, surname, given_names, birth_date, res, false);
}

int
enrol_sanctions_screen_exhaustive (const struct enrol_sanctions_list *list,
                                   const char *surname,
                                   const char *given_names,
                                   const char *birth_date,
                                   struct enrol_sanctions_result *res)
{
  return screen (list, surname, given_names, birth_date, res, true);
}

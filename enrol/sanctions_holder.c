/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * sanctions_holder.c -- keeps the sanctions list in force and screens
 * applicants against it.
 *
 * The list is immutable once loaded.  Screening holds a read lock for the
 * fraction of a millisecond it takes; a reload (SIGHUP) loads the new files
 * completely outside the lock and only then swaps the pointer under the
 * write lock, so requests are never dropped and never see half a list.  A
 * failed reload keeps the old list.  No list at all → the check reports
 * `unavailable` and the decision is review, never a silent pass.
 *
 * An applicant is screened under every name they brought: the declared
 * names and the names the document's MRZ carries, each also with runs of
 * single letters joined into a word ("A.B.B.A.S" is ABBAS to screening as
 * to a person reading it).  The hits of all of them are merged per list
 * entry; each hit says which names found it ("declared", "document").
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/log.h"
#include "enrol/enrol.h"
#include "enrol/names.h"
#include "enrol/sanctions_holder.h"

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct enrol_sanctions_list *current;

int
enrol_sanctions_reload (void)
{
  const char *dir = core_cfg->sanctions_dir;
  struct enrol_sanctions_list *fresh, *old;
  char err[256];

  if (NULL == dir || '\0' == dir[0])
  {
    LOG_WARN ("no sanctions_dir configured: screening reports unavailable");
    return -1;
  }
  fresh = enrol_sanctions_load (dir, err, sizeof err);
  if (NULL == fresh)
  {
    LOG_ERROR ("sanctions list not loaded from %s: %s", dir, err);
    return -1;
  }
  pthread_rwlock_wrlock (&lock);
  old = current;
  current = fresh;
  pthread_rwlock_unlock (&lock);
  enrol_sanctions_free (old);
  LOG_INFO ("sanctions list %s: %zu individuals, %zu names",
            enrol_sanctions_version (fresh), enrol_sanctions_entries (fresh),
            enrol_sanctions_names (fresh));
  return 0;
}

/* ------------------------------------------------------------ describe */

/* Appends the trimmed text after @a label (compared without case) of each
   ";"-separated part of @a remarks that starts with it, to @a out. */
static void
remarks_values (const char *remarks, const char *label, json_t *out)
{
  size_t ll = strlen (label);

  for (const char *p = remarks; NULL != p && '\0' != *p;)
  {
    const char *end = strchr (p, ';');
    size_t n = NULL != end ? (size_t) (end - p) : strlen (p);

    while (n > 0 && ' ' == *p)
    {
      p++;
      n--;
    }
    if (n > ll && 0 == strncasecmp (p, label, ll))
    {
      const char *v = p + ll;
      size_t vn = n - ll;

      while (vn > 0 && (' ' == v[vn - 1] || '.' == v[vn - 1]))
        vn--;
      if (vn > 0)
        json_array_append_new (out, json_stringn (v, vn));
    }
    p = NULL != end ? end + 1 : NULL;
  }
}

/* "SDGT] [IRAQ2" -> ["SDGT", "IRAQ2"] */
static json_t *
programmes (const char *program)
{
  json_t *a = json_array ();
  const char *p = program;

  while (NULL != p && '\0' != *p)
  {
    size_t n = strcspn (p, "[] ");

    if (n > 0)
      json_array_append_new (a, json_stringn (p, n));
    p += n;
    p += strspn (p, "[] ");
  }
  return a;
}

json_t *
enrol_sanctions_describe (long entry_id)
{
  struct enrol_sanctions_entry_info e;
  json_t *out = NULL, *names, *dobs, *pobs, *nat, *cit;

  pthread_rwlock_rdlock (&lock);
  if (enrol_sanctions_entry (current, entry_id, &e))
  {
    names = json_array ();
    for (size_t i = 0; i < e.nnames; i++)
      json_array_append_new (names, json_pack ("{s:s, s:b}", "name",
                                               e.names[i], "alias",
                                               e.alias[i]));
    dobs = json_array ();
    pobs = json_array ();
    nat = json_array ();
    cit = json_array ();
    remarks_values (e.remarks, "DOB ", dobs);
    remarks_values (e.remarks, "POB ", pobs);
    remarks_values (e.remarks, "nationality ", nat);
    remarks_values (e.remarks, "citizen ", cit);
    out = json_pack ("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s?}",
                     "entry_id", (json_int_t) entry_id, "list",
                     enrol_sanctions_version (current), "names", names,
                     "birth_dates", dobs, "places_of_birth", pobs,
                     "nationalities", nat, "citizenships", cit,
                     "programmes", programmes (e.program), "title",
                     '\0' != e.title[0] ? e.title : NULL);
  }
  pthread_rwlock_unlock (&lock);
  return out;
}

/* The names one applicant is screened under. */
#define SCREENINGS_MAX 4
#define JOINED_MAX 512

struct screening {
  const char *label;            /* "declared" or "document" */
  const char *surname, *given, *birth;
  char joined_sur[JOINED_MAX], joined_giv[JOINED_MAX];
};

/* Add (surname, given) and, if it differs, its joined-initials form. */
static size_t
add_names (struct screening *v, size_t n, const char *label,
           const char *surname, const char *given, const char *birth)
{
  struct screening *j = &v[n + 1];
  int js, jg;

  v[n] = (struct screening) { .label = label, .surname = surname,
                              .given = given, .birth = birth };
  js = enrol_names_join_initials (surname, j->joined_sur, JOINED_MAX);
  jg = enrol_names_join_initials (given, j->joined_giv, JOINED_MAX);
  if (js < 0 || jg < 0 || (0 == js && 0 == jg))
    return n + 1;
  j->label = label;
  j->surname = j->joined_sur;
  j->given = j->joined_giv;
  j->birth = birth;
  return n + 2;
}

/* A merged hit: one list entry, found by one or more screenings. */
struct merged {
  struct enrol_sanctions_hit hit;
  bool by[2];                   /* by "declared", by "document" */
};

static bool
better (const struct enrol_sanctions_hit *a,
        const struct enrol_sanctions_hit *b)
{
  return a->match != b->match ? a->match : a->score > b->score;
}

static size_t
merge (struct merged *m, size_t n, const struct enrol_sanctions_result *r,
       int label)
{
  for (size_t i = 0; i < r->count; i++)
  {
    size_t k = 0;

    while (k < n && m[k].hit.entry_id != r->hits[i].entry_id)
      k++;
    if (k == n)
    {
      memset (&m[n++], 0, sizeof m[0]);
      m[k].hit = r->hits[i];
    }
    else if (better (&r->hits[i], &m[k].hit))
      m[k].hit = r->hits[i];
    m[k].by[label] = true;
  }
  return n;
}

static int
merged_cmp (const void *a, const void *b)
{
  const struct enrol_sanctions_hit *x = &((const struct merged *) a)->hit;
  const struct enrol_sanctions_hit *y = &((const struct merged *) b)->hit;

  if (better (x, y))
    return -1;
  return better (y, x) ? 1 : 0;
}

static json_t *
hits_json (const struct merged *m, size_t n)
{
  static const char *const dob[] = { "unknown", "corroborated",
                                     "contradicted" };
  json_t *a = json_array ();

  for (size_t i = 0; i < n; i++)
  {
    const struct enrol_sanctions_hit *h = &m[i].hit;
    json_t *by = json_array ();

    if (m[i].by[0])
      json_array_append_new (by, json_string ("declared"));
    if (m[i].by[1])
      json_array_append_new (by, json_string ("document"));
    json_array_append_new (a, json_pack ("{s:I, s:s, s:b, s:f, s:s, s:b, s:o}",
                                         "entry_id", (json_int_t) h->entry_id,
                                         "name", h->name, "alias", h->alias,
                                         "score", h->score,
                                         "dob", dob[h->dob],
                                         "match", h->match,
                                         "screened", by));
  }
  return a;
}

static void
raise_to_review (struct enrol_identity *idn, const char *reason)
{
  json_array_append_new (idn->reasons, json_string (reason));
  if (idn->decision < ENROL_REVIEW)
    idn->decision = ENROL_REVIEW;
}

void
enrol_identity_screen (struct enrol_identity *idn,
                       const struct enrol_applicant *a,
                       const struct enrol_mrz *mrz)
{
  struct screening *v = calloc (SCREENINGS_MAX, sizeof *v);
  struct merged m[SCREENINGS_MAX * ENROL_SANCTIONS_MAX_HITS];
  struct enrol_sanctions_result r;
  size_t nv = 0, nm = 0;
  bool match = false;
  json_t *c;
  int rc = NULL != v ? 0 : -1;

  if (NULL != v)
  {
    nv = add_names (v, nv, "declared", a->surname, a->given_names,
                    a->birth_date);
    if (NULL != mrz)
      nv = add_names (v, nv, "document", mrz->surname, mrz->given_names,
                      mrz->birth_date);
  }
  pthread_rwlock_rdlock (&lock);
  if (NULL == current)
    rc = -1;
  for (size_t i = 0; 0 == rc && i < nv; i++)
  {
    rc = enrol_sanctions_screen (current, v[i].surname, v[i].given,
                                 v[i].birth, &r);
    if (0 == rc)
    {
      nm = merge (m, nm, &r, 0 == strcmp (v[i].label, "document"));
      match = match || r.match;
    }
  }
  c = json_pack ("{s:s, s:s?}", "check", "sanctions", "list",
                 NULL != current ? enrol_sanctions_version (current) : NULL);
  pthread_rwlock_unlock (&lock);
  free (v);
  if (0 != rc)
  {
    json_object_set_new (c, "result", json_string ("unavailable"));
    json_array_append_new (idn->checks, c);
    raise_to_review (idn, "sanctions_unavailable");
    return;
  }
  qsort (m, nm, sizeof m[0], merged_cmp);
  json_object_set_new (c, "result", json_string (match ? "fail" : "pass"));
  json_object_set_new (c, "hits", hits_json (m, nm));
  json_array_append_new (idn->checks, c);
  if (match)
    raise_to_review (idn, "sanctions_match");
}

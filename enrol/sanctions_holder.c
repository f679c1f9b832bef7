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
 */
#include <pthread.h>
#include <stdio.h>

#include "core/config.h"
#include "core/log.h"
#include "enrol/enrol.h"
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

static json_t *
hits_json (const struct enrol_sanctions_result *r)
{
  static const char *const dob[] = { "unknown", "corroborated",
                                     "contradicted" };
  json_t *a = json_array ();

  for (size_t i = 0; i < r->count; i++)
    json_array_append_new (a, json_pack ("{s:I, s:s, s:b, s:f, s:s, s:b}",
                                         "entry_id",
                                         (json_int_t) r->hits[i].entry_id,
                                         "name", r->hits[i].name,
                                         "alias", r->hits[i].alias,
                                         "score", r->hits[i].score,
                                         "dob", dob[r->hits[i].dob],
                                         "match", r->hits[i].match));
  return a;
}

void
enrol_identity_screen (struct enrol_identity *idn,
                       const struct enrol_applicant *a)
{
  struct enrol_sanctions_result r;
  json_t *c;
  int rc = -1;

  pthread_rwlock_rdlock (&lock);
  if (NULL != current)
    rc = enrol_sanctions_screen (current, a->surname, a->given_names,
                                 a->birth_date, &r);
  c = json_pack ("{s:s, s:s?}", "check", "sanctions", "list",
                 NULL != current ? enrol_sanctions_version (current) : NULL);
  pthread_rwlock_unlock (&lock);
  if (0 != rc)
  {
    json_object_set_new (c, "result", json_string ("unavailable"));
    json_array_append_new (idn->checks, c);
    json_array_append_new (idn->reasons, json_string ("sanctions_unavailable"));
    if (idn->decision < ENROL_REVIEW)
      idn->decision = ENROL_REVIEW;
    return;
  }
  json_object_set_new (c, "result", json_string (r.match ? "fail" : "pass"));
  json_object_set_new (c, "hits", hits_json (&r));
  json_array_append_new (idn->checks, c);
  if (r.match)
  {
    json_array_append_new (idn->reasons, json_string ("sanctions_match"));
    if (idn->decision < ENROL_REVIEW)
      idn->decision = ENROL_REVIEW;
  }
}

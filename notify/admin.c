/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * admin.c -- what the back-office sees of notify/: the queue by state
 * (messages and events that failed for good, that wait, that went out),
 * putting a failed one back in the queue, and the customer view's part.
 *
 * Staff see who a message went to, what kind it was, when and why it
 * failed -- never its body, its parameters (a resume link) or a customer's
 * assurance code.  A retry is audited in its own transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/log.h"
#include "notify/notify_int.h"

enum core_err
notify_admin_list (struct core_db *db, const char *state, int limit,
                   json_t **out)
{
  char lim[16];
  const char *p[2] = { state, lim };
  json_t *messages = NULL, *events = NULL;
  enum core_err err;

  *out = NULL;
  if (0 != strcmp (state, "pending") && 0 != strcmp (state, "failed")
      && 0 != strcmp (state, "sent"))
    return CORE_ERR_BAD_REQUEST;
  snprintf (lim, sizeof lim, "%d", limit);
  err = core_db_json_query (db, "notify_admin_messages", 2, p, &messages);
  if (CORE_OK == err)
    err = core_db_json_query (db, "notify_admin_events", 2, p, &events);
  if (CORE_OK == err)
    *out = json_pack ("{s:s, s:o, s:o}", "state", state, "messages",
                      messages, "events", events);
  else
  {
    json_decref (messages);
    json_decref (events);
  }
  return CORE_OK == err && NULL == *out ? CORE_ERR_INTERNAL : err;
}

/* ------------------------------------------------------------ retry */

struct retry_tx {
  bool event;
  const char *num;           /* outbox id or event seq, digits */
  const char *id;            /* as given */
  const char *actor;
  enum core_err err;
};

static enum core_db_status
retry_tx_run (struct core_db *db, void *cls)
{
  struct retry_tx *t = cls;
  const char *p[1] = { t->num };
  PGresult *r = NULL;
  json_t *details;
  enum core_db_status st;

  t->err = CORE_OK;
  st = core_db_exec (db, t->event ? "notify_admin_retry_event"
                     : "notify_admin_retry_message", 1, p, &r);
  if (CORE_DB_NO_ROW == st)
  {
    st = core_db_exec (db, t->event ? "notify_admin_event_exists"
                       : "notify_admin_message_exists", 1, p, NULL);
    if (st >= 0)
      t->err = CORE_DB_ONE_ROW == st ? CORE_ERR_WRONG_STATE
               : CORE_ERR_NOT_FOUND;
    return st < 0 ? st : CORE_DB_NO_ROW;
  }
  if (st < 0)
    return st;
  details = t->event
            ? json_pack ("{s:s, s:s}", "type", PQgetvalue (r, 0, 0),
                         "event_id", PQgetvalue (r, 0, 1))
            : json_pack ("{s:s, s:s?}", "kind", PQgetvalue (r, 0, 0),
                         "customer_id", core_db_value (r, 0, 1));
  PQclear (r);
  return core_audit_append (db, t->actor, t->event ? "webhook.retry"
                            : "message.retry", t->id, details);
}

/* "msg_<digits>" or "evt_seq_<digits>". */
static const char *
id_number (const char *id, bool *event)
{
  const char *n = NULL;

  if (0 == strncmp (id, "msg_", 4))
    n = id + 4, *event = false;
  else if (0 == strncmp (id, "evt_seq_", 8))
    n = id + 8, *event = true;
  if (NULL == n || '\0' == n[0] || strlen (n) > 18
      || strspn (n, "0123456789") != strlen (n))
    return NULL;
  return n;
}

enum core_err
notify_admin_retry (struct core_db *db, const char *id, const char *actor)
{
  struct retry_tx t = { .id = id, .actor = actor };
  enum core_db_status st;

  if (NULL == (t.num = id_number (id, &t.event)))
    return CORE_ERR_NOT_FOUND;
  st = core_db_tx (db, false, &retry_tx_run, &t);
  if (st < 0)
    return notify_db_err (db);
  if (CORE_OK == t.err)
    LOG_INFO ("%s put back in the queue by %s", id, actor);
  return t.err;
}

/* ------------------------------------------------------------ customer */

enum core_err
notify_admin_customer (struct core_db *db, const char *customer_id,
                       json_t **out)
{
  const char *p[1] = { customer_id };
  enum core_err err = core_db_json_query (db, "notify_admin_customer", 1, p,
                                          out);

  if (CORE_ERR_NOT_FOUND != err)
    return err;
  *out = json_object ();
  return NULL != *out ? CORE_OK : CORE_ERR_INTERNAL;
}

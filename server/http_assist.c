/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_assist.c -- assisted enrolment over HTTP (API.md "Assisted
 * enrolment"; enrol/assist.c does the work).
 *
 * The applicant's two routes ride on its session cookie: ask for help
 * (the code, shown once in this answer and nowhere else) and Stop.  The
 * advisor's four ride on a back-office session with role advisor (or
 * admin): join with a code, read the view (long-polled, woken by NOTIFY
 * like the enrolment status), send a hint, end.  None of the advisor's
 * routes reaches an enrolment step, and an advisor has no applicant
 * session: the enrolment endpoints answer it 404 like any stranger.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enrol/assist.h"
#include "server/handlers.h"
#include "server/longpoll.h"

#define MAX_WAIT 25

/* ------------------------------------------------------------ replies */

static const char *
ended_message (const char *reason)
{
  static const char *const msgs[][2] = {
    { "applicant", "the applicant ended the session" },
    { "advisor", "the advisor ended the session" },
    { "replaced", "the applicant asked for a new code: this session ended" },
    { "completed", "the enrolment is completed: the session ended" },
    { "rejected", "the enrolment was rejected: the session ended" },
    { "expired", "the enrolment expired: the session ended" },
    { "idle", "nothing happened for too long: the session ended" },
  };

  for (size_t i = 0; NULL != reason && i < sizeof msgs / sizeof msgs[0]; i++)
    if (0 == strcmp (msgs[i][0], reason))
      return msgs[i][1];
  return NULL;
}

/* 410 assist_ended with {"reason"} so the page can say why. */
static void
reply_ended (struct srv_request *rq, const char *reason)
{
  srv_reply_error (rq, CORE_ERR_ASSIST_ENDED, ended_message (reason),
                   json_pack ("{s:s?}", "reason", reason));
}

static void
reply_session_error (struct srv_request *rq, enum core_err err,
                     const char *reason)
{
  if (CORE_ERR_ASSIST_ENDED == err)
    reply_ended (rq, reason);
  else
    srv_reply_error (rq, err, CORE_ERR_NOT_FOUND == err
                     ? "no assistance session of yours has this id" : NULL,
                     NULL);
}

/* 429 with Retry-After: @a seconds (the shared reply sets "1"). */
static void
reply_rate_limited (struct srv_request *rq, const char *message, long seconds)
{
  char v[24];

  srv_reply_error (rq, CORE_ERR_RATE_LIMITED, message,
                   json_pack ("{s:I}", "retry_after", (json_int_t) seconds));
  if (NULL == rq->response)
    return;
  snprintf (v, sizeof v, "%ld", seconds);
  MHD_del_response_header (rq->response, MHD_HTTP_HEADER_RETRY_AFTER, "1");
  MHD_add_response_header (rq->response, MHD_HTTP_HEADER_RETRY_AFTER, v);
}

/* ------------------------------------------------------------ applicant */

void
srv_http_assist_offer (struct srv_request *rq)
{
  json_t *names = NULL;
  const struct core_json_field fields[] = {
    { .name = "scopes", .type = CORE_JSON_ARRAY, .out = &names },
    CORE_JSON_FIELD_END
  };
  struct enrol_assist_offer o;
  unsigned int scopes;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  if (0 != enrol_assist_scopes_parse (names, &scopes))
  {
    srv_reply_bad_field (rq, "scopes");
    return;
  }
  err = enrol_assist_offer (rq->db, rq->args[0], scopes, &o);
  if (CORE_ERR_RATE_LIMITED == err)
  {
    reply_rate_limited (rq, "this application asked for help too often: "
                        "wait before asking again", o.retry_after);
    return;
  }
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, CORE_ERR_WRONG_STATE == err
                     ? "this enrolment is over: no help can follow it"
                     : NULL, NULL);
    return;
  }
  srv_reply_json (rq, MHD_HTTP_CREATED,
                  json_pack ("{s:s, s:s, s:o}", "code", o.code, "expires_at",
                             o.expires_at, "scopes",
                             enrol_assist_scopes_json (o.scopes)));
  enrol_assist_offer_clear (&o);
}

void
srv_http_assist_stop (struct srv_request *rq)
{
  enum core_err err = enrol_assist_stop (rq->db, rq->args[0]);

  if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_bytes (rq, MHD_HTTP_NO_CONTENT, "application/json", "", 0);
}

/* ------------------------------------------------------------ advisor */

void
srv_http_assist_join (struct srv_request *rq)
{
  const char *code = NULL;
  const struct core_json_field fields[] = {
    { .name = "code", .type = CORE_JSON_STRING, .max_len = 16, .out = &code },
    CORE_JSON_FIELD_END
  };
  struct enrol_assist_join j;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = enrol_assist_join (rq->db, rq->admin_username, code, rq->client_addr,
                           &j);
  if (CORE_ERR_INVALID_FIELD == err)
    srv_reply_bad_field (rq, "code");
  else if (CORE_ERR_RATE_LIMITED == err)
    reply_rate_limited (rq, "too many wrong codes: wait before trying again",
                        j.retry_after);
  else if (CORE_ERR_NOT_FOUND == err)
    srv_reply_error (rq, err, "no open request for help has this code "
                     "(wrong, used, replaced or expired)", NULL);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_CREATED,
                    json_pack ("{s:s, s:s, s:o}", "assist_id", j.assist_id,
                               "enrolment_id", j.enrolment_id, "scopes",
                               enrol_assist_scopes_json (j.scopes)));
}

static bool
deadline_passed (const struct srv_request *rq)
{
  struct timespec now;

  if (! rq->resumed)
    return false;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return now.tv_sec > rq->deadline.tv_sec
         || (now.tv_sec == rq->deadline.tv_sec
             && now.tv_nsec >= rq->deadline.tv_nsec);
}

/* ?wait=N (0..25) and ?since=<version>.  @return false once replied. */
static bool
parse_wait (struct srv_request *rq, long *wait, const char **since)
{
  const char *w = srv_query (rq, "wait");
  char *end = NULL;

  *wait = 0;
  *since = srv_query (rq, "since");
  if (NULL != *since && (strlen (*since) > 64 || '\0' == (*since)[0]))
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST,
                     "since must be the version of an earlier answer", NULL);
    return false;
  }
  if (NULL == w)
    return true;
  *wait = strtol (w, &end, 10);
  if ('\0' == w[0] || '\0' != *end || *wait < 0 || *wait > MAX_WAIT)
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST,
                     "wait must be a whole number of seconds, 0 to 25", NULL);
    return false;
  }
  return true;
}

/* Hold the answer?  With since: while the view is still that version.
   Without: until the first wake-up (a change, or the deadline). */
static bool
should_wait (const struct srv_request *rq, long wait, const char *since,
             const json_t *view)
{
  const char *version = json_string_value (json_object_get (view, "version"));

  if (wait <= 0 || deadline_passed (rq))
    return false;
  if (NULL != since)
    return NULL != version && 0 == strcmp (since, version);
  return ! rq->resumed;
}

void
srv_http_assist_view (struct srv_request *rq)
{
  char enrolment_id[ENROL_ASSIST_ID_MAX];
  const char *since = NULL;
  const char *reason = NULL;
  json_t *view = NULL;
  long wait;
  enum core_err err;

  if (! parse_wait (rq, &wait, &since))
    return;
  err = enrol_assist_view (rq->db, rq->admin_username, rq->args[0], &view,
                           enrolment_id, &reason);
  if (CORE_OK != err)
  {
    reply_session_error (rq, err, reason);
    return;
  }
  if (should_wait (rq, wait, since, view))
  {
    srv_longpoll_wait (rq, enrolment_id, (unsigned int) wait);
    if (rq->suspended)
    {
      json_decref (view);
      return;
    }
  }
  srv_reply_json (rq, MHD_HTTP_OK, view);
}

void
srv_http_assist_hint (struct srv_request *rq)
{
  const char *text = NULL;
  const struct core_json_field fields[] = {
    { .name = "text", .type = CORE_JSON_STRING,
      .max_len = 4 * ENROL_ASSIST_HINT_MAX, .out = &text },
    CORE_JSON_FIELD_END
  };
  const char *reason = NULL;
  json_t *hint = NULL;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = enrol_assist_hint (rq->db, rq->admin_username, rq->args[0], text,
                           &hint, &reason);
  if (CORE_ERR_INVALID_FIELD == err)
    srv_reply_bad_field (rq, "text");
  else if (CORE_ERR_POLICY_REFUSED == err)
    srv_reply_error (rq, err, "this session has had as many hints as it may",
                     json_pack ("{s:[s]}", "reasons", "too_many_hints"));
  else if (CORE_OK != err)
    reply_session_error (rq, err, reason);
  else
    srv_reply_json (rq, MHD_HTTP_CREATED, hint);
}

void
srv_http_assist_leave (struct srv_request *rq)
{
  const char *reason = NULL;
  enum core_err err = enrol_assist_leave (rq->db, rq->admin_username,
                                          rq->args[0], &reason);

  if (CORE_OK != err)
    reply_session_error (rq, err, reason);
  else
    srv_reply_bytes (rq, MHD_HTTP_NO_CONTENT, "application/json", "", 0);
}

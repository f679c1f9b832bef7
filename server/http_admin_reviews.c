/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_admin_reviews.c -- the review queue of the back-office: list (one
 * page at a time: ?after= the "next" of the page before, ?limit= up to
 * 200), detail, and the approve/reject decision (enrol/review.c does the
 * work).
 *
 * The route lets reviewers and admins in; the per-record rule (the second
 * approval of a four-eyes review needs another user with role admin) is
 * the domain's, answered here as 403 or 409.  A comment is mandatory and
 * bounded; it is stored and audited, never logged.
 */
#include <stdlib.h>
#include <string.h>

#include "enrol/review.h"
#include "server/handlers.h"

#define COMMENT_MAX_CHARS 2000

/* ?limit=: 1..ENROL_REVIEW_PAGE_MAX digits, or absent. @return 0 if bad */
static unsigned int
page_size (const char *v)
{
  char *end;
  unsigned long n;

  if (NULL == v)
    return ENROL_REVIEW_PAGE_DEFAULT;
  if (v[0] < '0' || v[0] > '9' || strlen (v) > 3)
    return 0;
  n = strtoul (v, &end, 10);
  return '\0' == *end && n <= ENROL_REVIEW_PAGE_MAX ? (unsigned int) n : 0;
}

void
srv_http_admin_reviews (struct srv_request *rq)
{
  json_t *page = NULL;
  struct enrol_review_query q = {
    .state = srv_query (rq, "state"), .kind = srv_query (rq, "kind"),
    .after = srv_query (rq, "after"), .limit = page_size (srv_query (rq, "limit"))
  };
  enum core_err err;

  if (NULL != q.kind && '\0' == q.kind[0])
    q.kind = NULL;                      /* ?kind= : both */
  err = enrol_review_list (rq->db, &q, &page);
  if (CORE_ERR_BAD_REQUEST == err)
    srv_reply_error (rq, err, "state must be open, awaiting_second_approval, "
                     "approved, rejected or all; kind identity or device; "
                     "after the \"next\" of a page; limit 1 to 200", NULL);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, page);
}

void
srv_http_admin_review (struct srv_request *rq)
{
  json_t *review = NULL;
  enum core_err err = enrol_review_get (rq->db, rq->args[0], &review);

  if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, review);
}

/* 1..2000 characters, not only white space. */
static bool
comment_ok (const char *c)
{
  size_t chars = 0;
  bool text = false;

  for (const unsigned char *p = (const unsigned char *) c; '\0' != *p; p++)
  {
    chars += 0x80 != (*p & 0xC0);
    text = text || NULL == strchr (" \t\r\n", *p);
  }
  return text && chars <= COMMENT_MAX_CHARS;
}

static void
reply_decision_error (struct srv_request *rq, enum core_err err)
{
  const char *msg = NULL;

  if (CORE_ERR_WRONG_STATE == err)
    msg = "this review is closed, or its enrolment no longer waits for it";
  else if (CORE_ERR_CONFLICT == err)
    msg = "four eyes: the second approval must come from another user";
  else if (CORE_ERR_FORBIDDEN == err)
    msg = "four eyes: the second approval needs the admin role";
  srv_reply_error (rq, err, msg, NULL);
}

void
srv_http_admin_review_decision (struct srv_request *rq)
{
  const char *decision = NULL;
  struct enrol_review_decision d = {
    .review_id = rq->args[0], .username = rq->admin_username,
    .role = rq->admin_role, .base_url = srv_public_url ()
  };
  const struct core_json_field fields[] = {
    { .name = "decision", .type = CORE_JSON_STRING, .max_len = 16,
      .out = &decision },
    { .name = "comment", .type = CORE_JSON_STRING,
      .max_len = 4 * COMMENT_MAX_CHARS, .out = &d.comment },
    { .name = "blocklist_address", .type = CORE_JSON_BOOL, .optional = true,
      .out = &d.blocklist_address },
    CORE_JSON_FIELD_END
  };
  json_t *result = NULL;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  if (0 != strcmp (decision, "approve") && 0 != strcmp (decision, "reject"))
  {
    srv_reply_bad_field (rq, "decision");
    return;
  }
  if (! comment_ok (d.comment))
  {
    srv_reply_bad_field (rq, "comment");
    return;
  }
  d.approve = 0 == strcmp (decision, "approve");
  err = enrol_review_decide (rq->db, &d, &result);
  if (CORE_OK != err)
    reply_decision_error (rq, err);
  else
    srv_reply_json (rq, MHD_HTTP_OK, result);
}

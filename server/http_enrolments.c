/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_enrolments.c -- the applicant's browser API: start an enrolment,
 * read it, and resume it after the session went idle.
 *
 * The session cookie is HttpOnly and SameSite=Strict (Secure when the
 * public URL is https); its value is shown to the browser once and stored
 * only hashed.  Only the enrolment's own session may read it: any other
 * caller gets 404, so ids cannot be probed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "core/crypto.h"
#include "enrol/assist.h"
#include "enrol/enrol.h"
#include "enrol/issue.h"
#include "server/handlers.h"

#define COOKIE_NAME "guichet_applicant"

const char *
srv_public_url (void)
{
  static __thread char buf[300];

  if (NULL != core_cfg->public_url && '\0' != core_cfg->public_url[0])
    return core_cfg->public_url;
  snprintf (buf, sizeof buf, "http://%s", core_cfg->listen);
  return buf;
}

static void
set_session_cookie (struct srv_request *rq, const char *token)
{
  char cookie[256];
  bool secure = 0 == strncmp (srv_public_url (), "https:", 6);

  if (NULL == rq->response)
    return;
  snprintf (cookie, sizeof cookie,
            COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict%s", token,
            secure ? "; Secure" : "");
  MHD_add_response_header (rq->response, MHD_HTTP_HEADER_SET_COOKIE, cookie);
  OPENSSL_cleanse (cookie, sizeof cookie);
}

const char *
srv_applicant_token (struct srv_request *rq)
{
  return MHD_lookup_connection_value (rq->conn, MHD_COOKIE_KIND, COOKIE_NAME);
}

/* The language of the applicant's messages: of Accept-Language (which the
   enrolment page sets to its own language), the supported one the client
   prefers most -- "en" or "fr" -- else "en". */
static const char *
message_lang (struct srv_request *rq)
{
  const char *h = srv_header (rq, "Accept-Language");
  const char *best = "en";
  double best_q = -1;

  while (NULL != h && '\0' != *h)
  {
    size_t n = strcspn (h, ",");
    const char *q = memchr (h, ';', n);
    const char *tag = h;
    double w = 1.0;

    while (' ' == *tag)
      tag++;
    if (NULL != q && NULL != (q = strstr (q, "q=")) && q < h + n)
      w = strtod (q + 2, NULL);
    if (w > best_q && (0 == strncasecmp (tag, "fr", 2)
                       || 0 == strncasecmp (tag, "en", 2))
        && ! isalpha ((unsigned char) tag[2]))
    {
      best = 0 == strncasecmp (tag, "fr", 2) ? "fr" : "en";
      best_q = w;
    }
    h += n;
    if (',' == *h)
      h++;
  }
  return best;
}

void
srv_http_enrolment_create (struct srv_request *rq)
{
  struct enrol_start_req req = { 0 };
  struct enrol_start_res res;
  char body_hash[65];
  const char *bad = NULL;
  enum core_err err;

  if (CORE_OK != enrol_start_req_parse (rq->json, &req, &bad))
  {
    srv_reply_bad_field (rq, bad);
    return;
  }
  req.lang = message_lang (rq);
  req.idempotency_key = srv_header (rq, "Idempotency-Key");
  if (NULL != req.idempotency_key
      && (strlen (req.idempotency_key) < 8 || strlen (req.idempotency_key) > 128))
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST,
                     "Idempotency-Key must be 8 to 128 characters", NULL);
    return;
  }
  core_sha256_hex (rq->body, rq->body_len, body_hash);
  req.body_sha256_hex = body_hash;
  req.client_addr = rq->client_addr;
  err = enrol_start (rq->db, &req, &res);
  if (CORE_ERR_INVALID_FIELD == err)
  {
    srv_reply_bad_fields (rq, res.bad_fields);
    return;
  }
  if (CORE_ERR_POLICY_REFUSED == err)
  {
    srv_reply_error (rq, err, "what was typed differs from the document: "
                     "correct it, or send it again with on_mismatch "
                     "\"review\"", res.mismatch);
    return;
  }
  if (CORE_ERR_RATE_LIMITED == err)
  {
    srv_reply_rate_limited (rq, res.retry_after);
    return;
  }
  if (CORE_ERR_CONFLICT == err)
  {
    srv_reply_error (rq, err, "this Idempotency-Key was used with another "
                     "request body", NULL);
    return;
  }
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  srv_reply_json (rq, MHD_HTTP_CREATED, res.view);
  if (NULL != res.session_token)
  {
    set_session_cookie (rq, res.session_token);
    core_free_secret (res.session_token, strlen (res.session_token));
  }
  /* A replay carries no session (enrol_start): the client resumes. */
  if (res.replayed && NULL != rq->response)
    MHD_add_response_header (rq->response, "Idempotent-Replayed", "true");
}

/* A configured text, or JSON null when the operator left it empty. */
static json_t *
text_or_null (const char *s)
{
  return NULL != s && '\0' != s[0] ? json_string (s) : json_null ();
}

/* What the enrolment page shows around its steps, from the configuration:
   the authenticator app and where to get it, the bank's contact, its help,
   privacy and legal pages, how long a review usually takes.  Public: it is
   what the bank publishes anyway. */
void
srv_http_enrolment_info (struct srv_request *rq)
{
  const struct core_config *c = core_cfg;

  srv_reply_json (rq, MHD_HTTP_OK, json_pack (
                    "{s:{s:s, s:o, s:o}, s:{s:o, s:o, s:o}, s:{s:o, s:o, s:o},"
                    " s:I, s:I}",
                    "app", "name", c->app_name,
                    "app_store_url", text_or_null (c->app_store_url),
                    "play_store_url", text_or_null (c->play_store_url),
                    "contact", "email", text_or_null (c->contact_email),
                    "phone", text_or_null (c->contact_phone),
                    "hours", text_or_null (c->contact_hours),
                    "links", "help", text_or_null (c->help_url),
                    "privacy", text_or_null (c->privacy_url),
                    "legal", text_or_null (c->legal_url),
                    "review_hours", (json_int_t) c->review_hours,
                    "session_idle_s", (json_int_t) c->session_idle_s));
}

void
srv_http_enrolment_get (struct srv_request *rq)
{
  json_t *view = NULL;
  json_t *assist = NULL;
  enum core_err err = enrol_get (rq->db, rq->args[0], &view);

  /* While an advisor follows: who, what they may see, their hints. */
  if (CORE_OK == err)
    err = enrol_assist_for_applicant (rq->db, rq->args[0], &assist);
  if (CORE_OK != err)
  {
    json_decref (view);
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  if (NULL != assist)
    json_object_set_new (view, "assist", assist);
  srv_reply_json (rq, MHD_HTTP_OK, view);
}

void
srv_http_enrolment_resume_link (struct srv_request *rq)
{
  const struct core_json_field none[] = { CORE_JSON_FIELD_END };
  long retry_after = 0;
  enum core_err err;

  if (! srv_parse_fields (rq, none))
    return;
  err = enrol_resume_link (rq->db, rq->args[0], srv_public_url (),
                           rq->client_addr, &retry_after);
  if (CORE_ERR_RATE_LIMITED == err)
  {
    srv_reply_rate_limited (rq, retry_after);
    return;
  }
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  srv_reply_json (rq, MHD_HTTP_ACCEPTED, json_pack ("{s:b}", "sent", 1));
}

void
srv_http_enrolment_resume (struct srv_request *rq)
{
  const char *token = NULL;
  const struct core_json_field fields[] = {
    { .name = "token", .type = CORE_JSON_STRING, .max_len = 128,
      .out = &token },
    CORE_JSON_FIELD_END
  };
  char *session = NULL;
  json_t *view = NULL;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = enrol_resume (rq->db, rq->args[0], token, &session, &view);
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, CORE_ERR_NOT_FOUND == err
                     ? "this link is unknown, used or expired" : NULL, NULL);
    return;
  }
  srv_reply_json (rq, MHD_HTTP_OK, view);
  set_session_cookie (rq, session);
  core_free_secret (session, strlen (session));
}

void
srv_http_enrolment_credential (struct srv_request *rq)
{
  struct enrol_credential_req req = { 0 };
  const struct core_json_field fields[] = {
    { .name = "kind", .type = CORE_JSON_STRING, .max_len = 16,
      .out = &req.kind },
    { .name = "serial", .type = CORE_JSON_STRING, .max_len = 64,
      .optional = true, .out = &req.serial },
    { .name = "otp", .type = CORE_JSON_STRING, .max_len = 16,
      .optional = true, .out = &req.otp },
    CORE_JSON_FIELD_END
  };
  json_t *answer = NULL;
  bool created = false;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  if (0 == strcmp (req.kind, "hardware")
      && (NULL == req.serial || NULL == req.otp))
  {
    srv_reply_bad_field (rq, NULL == req.serial ? "serial" : "otp");
    return;
  }
  if (0 != strcmp (req.kind, "hardware") && (NULL != req.serial
                                             || NULL != req.otp))
  {
    srv_reply_bad_field (rq, NULL != req.serial ? "serial" : "otp");
    return;
  }
  err = enrol_credential (rq->db, rq->args[0], &req, &answer, &created);
  if (CORE_ERR_INVALID_FIELD == err)
    srv_reply_bad_field (rq, "kind");
  else if (CORE_ERR_OTP_INVALID == err)
    srv_reply_error (rq, err, NULL, answer);    /* attempts_remaining */
  else if (CORE_OK != err)
  {
    json_decref (answer);
    srv_reply_error (rq, err, NULL, NULL);
  }
  else
    srv_reply_json (rq, created ? MHD_HTTP_CREATED : MHD_HTTP_OK, answer);
}

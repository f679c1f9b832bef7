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

/* Parse a nested object; a bad field is reported as "outer.inner". */
static bool
parse_nested (struct srv_request *rq, json_t *obj, const char *outer,
              const struct core_json_field *fields)
{
  const char *bad = NULL;
  char name[128];

  if (CORE_OK == core_json_parse (obj, fields, &bad))
    return true;
  snprintf (name, sizeof name, "%s.%s", outer, NULL != bad ? bad : "");
  srv_reply_bad_field (rq, name);
  return false;
}

void
srv_http_enrolment_create (struct srv_request *rq)
{
  struct enrol_start_req req = { 0 };
  struct enrol_start_res res;
  struct enrol_applicant *a = &req.applicant;
  json_t *applicant = NULL, *document = NULL;
  char body_hash[65];
  const struct core_json_field top[] = {
    { .name = "applicant", .type = CORE_JSON_OBJECT, .out = &applicant },
    { .name = "document", .type = CORE_JSON_OBJECT, .out = &document },
    CORE_JSON_FIELD_END
  };
  const struct core_json_field af[] = {
    { .name = "given_names", .type = CORE_JSON_STRING, .max_len = 100,
      .out = &a->given_names },
    { .name = "surname", .type = CORE_JSON_STRING, .max_len = 100,
      .out = &a->surname },
    { .name = "birth_date", .type = CORE_JSON_STRING, .max_len = 10,
      .out = &a->birth_date },
    { .name = "nationality", .type = CORE_JSON_STRING, .max_len = 3,
      .out = &a->nationality },
    { .name = "residence_country", .type = CORE_JSON_STRING, .max_len = 3,
      .out = &a->residence_country },
    { .name = "email", .type = CORE_JSON_STRING, .max_len = 254,
      .out = &a->email },
    { .name = "phone", .type = CORE_JSON_STRING, .max_len = 16,
      .out = &a->phone },
    CORE_JSON_FIELD_END
  };
  const struct core_json_field df[] = {
    { .name = "mrz", .type = CORE_JSON_STRING, .max_len = 200,
      .out = &req.mrz },
    CORE_JSON_FIELD_END
  };
  enum core_err err;

  if (! srv_parse_fields (rq, top) || ! parse_nested (rq, applicant,
                                                      "applicant", af)
      || ! parse_nested (rq, document, "document", df))
    return;
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
  err = enrol_start (rq->db, &req, &res);
  if (CORE_ERR_INVALID_FIELD == err)
  {
    srv_reply_bad_field (rq, res.bad_field);
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
  set_session_cookie (rq, res.session_token);
  if (res.replayed && NULL != rq->response)
    MHD_add_response_header (rq->response, "Idempotent-Replayed", "true");
  core_free_secret (res.session_token, strlen (res.session_token));
}

void
srv_http_enrolment_get (struct srv_request *rq)
{
  json_t *view = NULL;
  enum core_err err = enrol_get (rq->db, rq->args[0], &view);

  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  srv_reply_json (rq, MHD_HTTP_OK, view);
}

void
srv_http_enrolment_resume_link (struct srv_request *rq)
{
  const struct core_json_field none[] = { CORE_JSON_FIELD_END };
  enum core_err err;

  if (! srv_parse_fields (rq, none))
    return;
  err = enrol_resume_link (rq->db, rq->args[0], srv_public_url ());
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
  else if (CORE_OK != err)
    srv_reply_error (rq, err, CORE_ERR_CONFLICT == err
                     ? "this token is already assigned" : NULL, NULL);
  else
    srv_reply_json (rq, created ? MHD_HTTP_CREATED : MHD_HTTP_OK, answer);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_devices.c -- the device step: QR challenges (browser), activation
 * (phone), the long-polled status, the PIN and the first OTP, and the
 * signed device requests that follow activation.
 *
 * The QR payload carries the activation secret: it is sent only to the
 * owning session, never logged, and the SVG is not cached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enrol/device_step.h"
#include "server/handlers.h"
#include "server/longpoll.h"

#define MAX_WAIT 25

void
srv_http_challenge_create (struct srv_request *rq)
{
  struct enrol_challenge c;
  const struct core_json_field none[] = { CORE_JSON_FIELD_END };
  char svg[160];
  long retry_after = 0;
  enum core_err err;

  if (! srv_parse_fields (rq, none))
    return;
  err = enrol_challenge_new (rq->db, rq->args[0], rq->client_addr,
                             srv_public_url (), &c, &retry_after);
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
  snprintf (svg, sizeof svg, "/v1/enrolments/%s/device-challenge/qr.svg",
            rq->args[0]);
  srv_reply_json (rq, MHD_HTTP_CREATED,
                  json_pack ("{s:s, s:s, s:s, s:s}", "challenge_id", c.id,
                             "expires_at", c.expires_at, "qr_payload",
                             c.qr_payload, "qr_svg", svg));
  enrol_challenge_clear (&c);
}

void
srv_http_challenge_svg (struct srv_request *rq)
{
  char *svg = NULL;
  enum core_err err = enrol_challenge_svg (rq->db, rq->args[0],
                                           srv_public_url (), &svg);

  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  srv_reply_bytes (rq, MHD_HTTP_OK, "image/svg+xml", svg, strlen (svg));
  free (svg);
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

void
srv_http_challenge_status (struct srv_request *rq)
{
  const char *w = srv_query (rq, "wait");
  const char *status = NULL;
  long wait = 0;
  char *end = NULL;
  enum core_err err;

  if (NULL != w)
  {
    wait = strtol (w, &end, 10);
    if ('\0' == w[0] || '\0' != *end || wait < 0 || wait > MAX_WAIT)
    {
      srv_reply_error (rq, CORE_ERR_BAD_REQUEST,
                       "wait must be a whole number of seconds, 0 to 25",
                       NULL);
      return;
    }
  }
  err = enrol_challenge_status (rq->db, rq->args[0], &status);
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  /* "pending_review" waits for the back-office only until the first wake:
     a browser that was waiting on "pending" must learn of the review. */
  if (wait > 0 && (0 == strcmp (status, "pending")
                   || (0 == strcmp (status, "pending_review")
                       && ! rq->resumed))
      && ! deadline_passed (rq))
  {
    srv_longpoll_wait (rq, rq->args[0], (unsigned int) wait);
    if (rq->suspended)
      return;
  }
  srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:s}", "status", status));
}

void
srv_http_device_activate (struct srv_request *rq)
{
  struct enrol_activate_req req = { .client_addr = rq->client_addr };
  json_t *answer = NULL;
  const char *bad = NULL;
  long retry_after = 0;
  enum core_err err;

  if (CORE_OK != enrol_activate_req_parse (rq->json, &req, &bad))
  {
    srv_reply_bad_field (rq, NULL != bad ? bad : "body");
    return;
  }
  err = enrol_device_activate (rq->db, &req, &answer, &bad, &retry_after);
  if (CORE_ERR_INVALID_FIELD == err)
    srv_reply_bad_field (rq, NULL != bad ? bad : "body");
  else if (CORE_ERR_RATE_LIMITED == err)
    srv_reply_rate_limited (rq, retry_after);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, CORE_ERR_CONFLICT == err
                     ? "this challenge was already used or replaced" : NULL,
                     NULL);
  else
    srv_reply_json (rq, MHD_HTTP_CREATED, answer);
}

void
srv_http_enrolment_pin (struct srv_request *rq)
{
  const char *pin = NULL;
  const struct core_json_field fields[] = {
    { .name = "pin", .type = CORE_JSON_STRING, .max_len = 64, .out = &pin },
    CORE_JSON_FIELD_END
  };
  json_t *reasons = NULL;
  long retry_after = 0;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = enrol_set_pin (rq->db, rq->args[0], pin, &reasons, &retry_after);
  if (CORE_ERR_POLICY_REFUSED == err)
    srv_reply_error (rq, err, "the PIN is refused by policy",
                     json_pack ("{s:o}", "reasons", reasons));
  else if (CORE_ERR_RATE_LIMITED == err)
    srv_reply_rate_limited (rq, retry_after);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:b, s:s}", "pin_set", 1,
                                                "next", "otp_confirm"));
}

void
srv_http_enrolment_otp_confirm (struct srv_request *rq)
{
  const char *otp = NULL;
  const struct core_json_field fields[] = {
    { .name = "otp", .type = CORE_JSON_STRING, .max_len = 16, .out = &otp },
    CORE_JSON_FIELD_END
  };
  int remaining = -1;
  json_t *done = NULL;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = enrol_otp_confirm (rq->db, rq->args[0], otp, &remaining, &done);
  if (CORE_ERR_OTP_INVALID == err)
    srv_reply_error (rq, err, "the code is wrong, expired or already used",
                     json_pack ("{s:i}", "attempts_remaining", remaining));
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else if (NULL != done)
    srv_reply_json (rq, MHD_HTTP_CREATED, done);
  else
    srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:s, s:s}", "state",
                                                "credential", "next",
                                                "credential"));
}

bool
srv_device_authenticate (struct srv_request *rq)
{
  enum core_err err;

  err = enrol_device_request_check (rq->db, srv_header (rq, "Guichet-Device"),
                                    rq->method, rq->url,
                                    srv_header (rq, "Guichet-Timestamp"),
                                    NULL != rq->body ? rq->body : "",
                                    rq->body_len,
                                    srv_header (rq, "Guichet-Signature"));
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, CORE_ERR_UNAUTHORIZED == err
                     ? "device signature missing, invalid, replayed or "
                       "outside the 120 s clock window" : NULL, NULL);
    return false;
  }
  rq->device_id = strdup (srv_header (rq, "Guichet-Device"));
  return true;
}

void
srv_http_device_get (struct srv_request *rq)
{
  json_t *view = NULL;
  enum core_err err;

  if (NULL == rq->device_id || 0 != strcmp (rq->device_id, rq->args[0]))
  {
    srv_reply_error (rq, CORE_ERR_FORBIDDEN,
                     "a device may only read itself", NULL);
    return;
  }
  err = enrol_device_get (rq->db, rq->args[0], &view);
  if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, view);
}

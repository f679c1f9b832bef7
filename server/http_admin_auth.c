/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_admin_auth.c -- the back-office login, logout, who-am-I, password
 * change, and the staff list.
 *
 * Login answers the same 401 whatever was wrong (user, password or code),
 * 423 with the time the lock ends once the username tried is locked (an
 * account or not), and 429 with Retry-After past a rate limit.  The session cookie is HttpOnly, SameSite=Strict,
 * Path=/ (Secure when the public URL is https); the CSRF token is in the
 * JSON answer only, for the page to send back in X-CSRF-Token.  Neither
 * the password, the code nor either token reaches a log line.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "server/admin.h"
#include "server/handlers.h"

#define COOKIE_NAME "guichet_admin"

static void
set_cookie (struct srv_request *rq, const char *token)
{
  char cookie[256];
  bool secure = 0 == strncmp (srv_public_url (), "https:", 6);

  if (NULL == rq->response)
    return;
  /* The browser drops the cookie when the session's lifetime ends. */
  if (NULL != token)
    snprintf (cookie, sizeof cookie, COOKIE_NAME "=%s; Path=/; HttpOnly; "
              "SameSite=Strict; Max-Age=%u%s", token,
              core_cfg->admin_session_max_s, secure ? "; Secure" : "");
  else
    snprintf (cookie, sizeof cookie, COOKIE_NAME "=; Path=/; HttpOnly; "
              "SameSite=Strict; Max-Age=0%s", secure ? "; Secure" : "");
  MHD_add_response_header (rq->response, MHD_HTTP_HEADER_SET_COOKIE, cookie);
  OPENSSL_cleanse (cookie, sizeof cookie);
}

void
srv_http_admin_login (struct srv_request *rq)
{
  struct srv_admin_login req = { .client_addr = rq->client_addr };
  struct srv_admin_login_res res;
  const struct core_json_field fields[] = {
    { .name = "username", .type = CORE_JSON_STRING, .max_len = 64,
      .out = &req.username },
    { .name = "password", .type = CORE_JSON_STRING,
      .max_len = SRV_ADMIN_PASSWORD_MAX, .out = &req.password },
    { .name = "otp", .type = CORE_JSON_STRING, .max_len = 16,
      .out = &req.otp },
    CORE_JSON_FIELD_END
  };
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = srv_admin_login (rq->db, &req, &res);
  if (CORE_ERR_AUTHENTICATION_FAILED == err)
    srv_reply_error (rq, err, "wrong user name, password or code", NULL);
  else if (CORE_ERR_LOCKED == err)
    srv_reply_locked (rq, res.locked_until, res.retry_after, NULL);
  else if (CORE_ERR_RATE_LIMITED == err)
    srv_reply_rate_limited (rq, res.retry_after);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
  {
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:s, s:s, s:s}", "username", req.username,
                               "role", res.role, "csrf_token", res.csrf));
    set_cookie (rq, res.token);
    srv_admin_login_res_clear (&res);
  }
}

void
srv_http_admin_logout (struct srv_request *rq)
{
  const struct core_json_field none[] = { CORE_JSON_FIELD_END };
  enum core_err err;

  if (NULL != rq->json && ! srv_parse_fields (rq, none))
    return;
  err = srv_admin_session_end (rq->db, srv_admin_cookie (rq));
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:b}", "logged_out", 1));
  set_cookie (rq, NULL);
}

void
srv_http_admin_me (struct srv_request *rq)
{
  srv_reply_json (rq, MHD_HTTP_OK,
                  json_pack ("{s:s, s:s}", "username", rq->admin_username,
                             "role", rq->admin_role));
}

void
srv_http_admin_password (struct srv_request *rq)
{
  const char *current = NULL, *fresh = NULL;
  const struct core_json_field fields[] = {
    { .name = "current_password", .type = CORE_JSON_STRING,
      .max_len = SRV_ADMIN_PASSWORD_MAX, .out = &current },
    { .name = "new_password", .type = CORE_JSON_STRING,
      .max_len = 4 * SRV_ADMIN_PASSWORD_MAX, .out = &fresh },
    CORE_JSON_FIELD_END
  };
  json_t *reasons = NULL;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = srv_admin_change_password (rq->db, rq->admin_username,
                                   srv_admin_cookie (rq), current, fresh,
                                   &reasons);
  if (CORE_ERR_POLICY_REFUSED == err)
    srv_reply_error (rq, err, "the new password is refused by policy "
                     "(at least 12 characters, not the current one)",
                     json_pack ("{s:o}", "reasons", reasons));
  else if (CORE_ERR_AUTHENTICATION_FAILED == err)
    srv_reply_error (rq, err, "the current password is wrong", NULL);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:b}", "changed", 1));
}

void
srv_http_admin_admins (struct srv_request *rq)
{
  json_t *admins = NULL;
  enum core_err err = srv_admin_list (rq->db, &admins);

  if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:o}", "admins", admins));
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * router.c -- the route table of guichetd and the matcher.
 *
 * One table with named fields says, for every endpoint, its method, path,
 * handler, authentication, body kind and cap.  "{}" in a path captures one
 * segment (1..64 characters of [A-Za-z0-9_-]), "{file}" a file name (the
 * same plus '.', not leading); anything else in a capture is a 404, so
 * handlers never see odd identifiers or paths.
 */
#include <stdlib.h>
#include <string.h>

#include "server/handlers.h"
#include "server/server.h"

static const struct srv_route routes[] = {
  { .method = "GET", .path = "/", .handler = &srv_http_index,
    .name = "web_index" },
  { .method = "GET", .path = "/enrol/{file}", .handler = &srv_http_enrol_file,
    .name = "web_enrol" },
  { .method = "GET", .path = "/common/{file}", .handler = &srv_http_common_file,
    .name = "web_common" },
  { .method = "GET", .path = "/backoffice/", .handler = &srv_http_backoffice_index,
    .name = "web_backoffice" },
  { .method = "GET", .path = "/backoffice/{file}",
    .handler = &srv_http_backoffice_file, .name = "web_backoffice_file" },
  { .method = "GET", .path = "/approve/", .handler = &srv_http_approve_index,
    .name = "web_approve" },
  { .method = "GET", .path = "/approve/{file}",
    .handler = &srv_http_approve_file, .name = "web_approve_file" },
  /* the Guichet app, an installable web app (docs/app.md) */
  { .method = "GET", .path = "/app/", .handler = &srv_http_app_index,
    .name = "web_app" },
  { .method = "GET", .path = "/app/{file}", .handler = &srv_http_app_file,
    .name = "web_app_file" },
  { .method = "GET", .path = "/app/vendor/{file}",
    .handler = &srv_http_app_vendor_file, .name = "web_app_vendor" },
  { .method = "GET", .path = "/signin/", .handler = &srv_http_signin_index,
    .name = "web_signin" },
  { .method = "GET", .path = "/signin/{file}", .handler = &srv_http_signin_file,
    .name = "web_signin_file" },
  { .method = "GET", .path = "/healthz", .handler = &srv_http_healthz,
    .name = "healthz" },
  { .method = "GET", .path = "/readyz", .handler = &srv_http_readyz,
    .name = "readyz", .needs_db = true },
  { .method = "GET", .path = "/metrics", .handler = &srv_http_metrics,
    .name = "metrics" },
  { .method = "POST", .path = "/v1/authn/verify",
    .handler = &srv_http_authn_verify, .auth = SRV_AUTH_API_KEY,
    .key_in_handler = true,
    .body = SRV_BODY_JSON, .max_body = 4096, .name = "authn_verify",
    .needs_db = true },
  { .method = "POST", .path = "/v1/authn/resync",
    .handler = &srv_http_authn_resync, .auth = SRV_AUTH_API_KEY,
    .body = SRV_BODY_JSON, .max_body = 4096, .name = "authn_resync",
    .needs_db = true },
  /* passkeys (http_passkeys.c) */
  { .method = "POST", .path = "/v1/authn/passkey/registration-options",
    .handler = &srv_http_passkey_registration_options,
    .auth = SRV_AUTH_API_KEY, .body = SRV_BODY_JSON, .max_body = 4096,
    .name = "passkey_registration_options", .needs_db = true },
  { .method = "POST", .path = "/v1/authn/passkey/register",
    .handler = &srv_http_passkey_register, .auth = SRV_AUTH_API_KEY,
    .body = SRV_BODY_JSON, .max_body = 65536, .name = "passkey_register",
    .needs_db = true },
  { .method = "POST", .path = "/v1/authn/passkey/options",
    .handler = &srv_http_passkey_options, .auth = SRV_AUTH_API_KEY,
    .body = SRV_BODY_JSON, .max_body = 1024, .name = "passkey_options",
    .needs_db = true },
  { .method = "POST", .path = "/v1/authn/passkey/verify",
    .handler = &srv_http_passkey_verify, .auth = SRV_AUTH_API_KEY,
    .body = SRV_BODY_JSON, .max_body = 16384, .name = "passkey_verify",
    .needs_db = true },
  { .method = "POST", .path = "/signin/api/options",
    .handler = &srv_http_signin_demo_options, .body = SRV_BODY_JSON,
    .max_body = 1024, .name = "signin_demo_options", .needs_db = true },
  { .method = "POST", .path = "/signin/api/verify",
    .handler = &srv_http_signin_demo_verify, .body = SRV_BODY_JSON,
    .max_body = 16384, .name = "signin_demo_verify", .needs_db = true },
  { .method = "GET", .path = "/v1/enrolment-info",
    .handler = &srv_http_enrolment_info, .name = "enrolment_info" },
  { .method = "POST", .path = "/v1/enrolments",
    .handler = &srv_http_enrolment_create, .body = SRV_BODY_JSON,
    .max_body = 8192, .name = "enrolment_create", .needs_db = true },
  { .method = "GET", .path = "/v1/enrolments/{}",
    .handler = &srv_http_enrolment_get, .auth = SRV_AUTH_APPLICANT,
    .name = "enrolment_get", .needs_db = true },
  { .method = "POST", .path = "/v1/enrolments/{}/resume-link",
    .handler = &srv_http_enrolment_resume_link, .body = SRV_BODY_JSON,
    .max_body = 1024, .name = "enrolment_resume_link", .needs_db = true },
  { .method = "POST", .path = "/v1/enrolments/{}/resume",
    .handler = &srv_http_enrolment_resume, .body = SRV_BODY_JSON,
    .max_body = 1024, .name = "enrolment_resume", .needs_db = true },
  { .method = "POST", .path = "/v1/enrolments/{}/device-challenge",
    .handler = &srv_http_challenge_create, .auth = SRV_AUTH_APPLICANT,
    .body = SRV_BODY_JSON, .max_body = 1024, .name = "challenge_create",
    .needs_db = true },
  { .method = "GET", .path = "/v1/enrolments/{}/device-challenge",
    .handler = &srv_http_challenge_status, .auth = SRV_AUTH_APPLICANT,
    .name = "challenge_status", .needs_db = true },
  { .method = "GET", .path = "/v1/enrolments/{}/device-challenge/qr.svg",
    .handler = &srv_http_challenge_svg, .auth = SRV_AUTH_APPLICANT,
    .name = "challenge_svg", .needs_db = true },
  { .method = "POST", .path = "/v1/enrolments/{}/pin",
    .handler = &srv_http_enrolment_pin, .auth = SRV_AUTH_APPLICANT,
    .body = SRV_BODY_JSON, .max_body = 1024, .name = "enrolment_pin",
    .needs_db = true },
  { .method = "POST", .path = "/v1/enrolments/{}/otp-confirm",
    .handler = &srv_http_enrolment_otp_confirm, .auth = SRV_AUTH_APPLICANT,
    .body = SRV_BODY_JSON, .max_body = 1024, .name = "enrolment_otp_confirm",
    .needs_db = true },
  { .method = "POST", .path = "/v1/enrolments/{}/credential",
    .handler = &srv_http_enrolment_credential, .auth = SRV_AUTH_APPLICANT,
    .body = SRV_BODY_JSON, .max_body = 1024, .name = "enrolment_credential",
    .needs_db = true },
  { .method = "POST", .path = "/v1/enrolments/{}/passkey/options",
    .handler = &srv_http_enrolment_passkey_options,
    .auth = SRV_AUTH_APPLICANT, .body = SRV_BODY_JSON, .max_body = 1024,
    .name = "enrolment_passkey_options", .needs_db = true },
  { .method = "POST", .path = "/v1/enrolments/{}/passkey",
    .handler = &srv_http_enrolment_passkey, .auth = SRV_AUTH_APPLICANT,
    .body = SRV_BODY_JSON, .max_body = 65536,
    .name = "enrolment_passkey", .needs_db = true },
  { .method = "POST", .path = "/v1/enrolments/{}/assist",
    .handler = &srv_http_assist_offer, .auth = SRV_AUTH_APPLICANT,
    .body = SRV_BODY_JSON, .max_body = 1024, .name = "assist_offer",
    .needs_db = true },
  { .method = "DELETE", .path = "/v1/enrolments/{}/assist",
    .handler = &srv_http_assist_stop, .auth = SRV_AUTH_APPLICANT,
    .name = "assist_stop", .needs_db = true },
  { .method = "POST", .path = "/v1/enrolments/{}/assurance-code",
    .handler = &srv_http_enrolment_assurance_code,
    .auth = SRV_AUTH_APPLICANT, .body = SRV_BODY_JSON, .max_body = 1024,
    .name = "enrolment_assurance_code", .needs_db = true },
  { .method = "POST", .path = "/v1/devices/activate",
    .handler = &srv_http_device_activate, .body = SRV_BODY_JSON,
    .max_body = 4096, .name = "device_activate", .needs_db = true },
  { .method = "GET", .path = "/v1/devices/{}",
    .handler = &srv_http_device_get, .auth = SRV_AUTH_DEVICE,
    .name = "device_get", .needs_db = true },
  /* transactions: the relying party (API key) */
  { .method = "POST", .path = "/v1/transactions",
    .handler = &srv_http_tx_create, .auth = SRV_AUTH_API_KEY,
    .body = SRV_BODY_JSON, .max_body = 8192, .name = "tx_create",
    .needs_db = true },
  { .method = "GET", .path = "/v1/transactions/{}",
    .handler = &srv_http_tx_get, .auth = SRV_AUTH_API_KEY,
    .name = "tx_get", .needs_db = true },
  { .method = "GET", .path = "/v1/transactions/{}/qr.svg",
    .handler = &srv_http_tx_svg, .auth = SRV_AUTH_API_KEY,
    .name = "tx_svg", .needs_db = true },
  { .method = "POST", .path = "/v1/transactions/{}/verify",
    .handler = &srv_http_tx_verify, .auth = SRV_AUTH_API_KEY,
    .body = SRV_BODY_JSON, .max_body = 1024, .name = "tx_verify",
    .needs_db = true },
  { .method = "GET", .path = "/v1/transactions/{}/evidence",
    .handler = &srv_http_tx_evidence, .auth = SRV_AUTH_API_KEY,
    .name = "tx_evidence", .needs_db = true },
  /* transactions: the phone (signed device requests) */
  { .method = "GET", .path = "/v1/devices/{}/transactions",
    .handler = &srv_http_tx_pending, .auth = SRV_AUTH_DEVICE,
    .name = "tx_pending", .needs_db = true },
  { .method = "POST", .path = "/v1/transactions/{}/approve",
    .handler = &srv_http_tx_approve, .auth = SRV_AUTH_DEVICE,
    .body = SRV_BODY_JSON, .max_body = 1024, .name = "tx_approve",
    .needs_db = true },
  { .method = "POST", .path = "/v1/transactions/{}/decline",
    .handler = &srv_http_tx_decline, .auth = SRV_AUTH_DEVICE,
    .name = "tx_decline", .needs_db = true },
  /* transactions: the hosted approval page (Guichet-Approval: the link's
     secret) */
  { .method = "GET", .path = "/v1/approval",
    .handler = &srv_http_approval_get, .name = "approval_get",
    .needs_db = true },
  { .method = "GET", .path = "/v1/approval/qr.svg",
    .handler = &srv_http_approval_svg, .name = "approval_svg",
    .needs_db = true },
  { .method = "POST", .path = "/v1/approval/verify",
    .handler = &srv_http_approval_verify, .body = SRV_BODY_JSON,
    .max_body = 1024, .name = "approval_verify", .needs_db = true },
  { .method = "PUT", .path = "/v1/devices/{}/assurance-code",
    .handler = &srv_http_device_assurance_code, .auth = SRV_AUTH_DEVICE,
    .body = SRV_BODY_JSON, .max_body = 1024,
    .name = "device_assurance_code", .needs_db = true },
  /* back-office (sessions and CSRF: admin_session.c) */
  { .method = "POST", .path = "/v1/admin/login",
    .handler = &srv_http_admin_login, .body = SRV_BODY_JSON,
    .max_body = 2048, .name = "admin_login", .needs_db = true },
  { .method = "POST", .path = "/v1/admin/logout",
    .handler = &srv_http_admin_logout, .auth = SRV_AUTH_ADMIN,
    .role = "staff", .name = "admin_logout", .needs_db = true },
  { .method = "GET", .path = "/v1/admin/me", .handler = &srv_http_admin_me,
    .auth = SRV_AUTH_ADMIN, .role = "staff", .name = "admin_me",
    .needs_db = true },
  { .method = "POST", .path = "/v1/admin/password",
    .handler = &srv_http_admin_password, .auth = SRV_AUTH_ADMIN,
    .role = "staff", .body = SRV_BODY_JSON, .max_body = 4096,
    .name = "admin_password", .needs_db = true },
  { .method = "GET", .path = "/v1/admin/admins",
    .handler = &srv_http_admin_admins, .auth = SRV_AUTH_ADMIN,
    .role = "admin", .name = "admin_admins", .needs_db = true },
  { .method = "GET", .path = "/v1/admin/reviews",
    .handler = &srv_http_admin_reviews, .auth = SRV_AUTH_ADMIN,
    .role = "reviewer", .name = "admin_reviews", .needs_db = true },
  { .method = "GET", .path = "/v1/admin/reviews/{}",
    .handler = &srv_http_admin_review, .auth = SRV_AUTH_ADMIN,
    .role = "reviewer", .name = "admin_review", .needs_db = true },
  { .method = "POST", .path = "/v1/admin/reviews/{}/decision",
    .handler = &srv_http_admin_review_decision, .auth = SRV_AUTH_ADMIN,
    .role = "reviewer", .body = SRV_BODY_JSON, .max_body = 16384,
    .name = "admin_review_decision", .needs_db = true },
  { .method = "POST", .path = "/v1/admin/reviews/{}/assign",
    .handler = &srv_http_admin_review_assign, .auth = SRV_AUTH_ADMIN,
    .role = "reviewer", .body = SRV_BODY_JSON, .max_body = 1024,
    .name = "admin_review_assign", .needs_db = true },
  { .method = "GET", .path = "/v1/admin/audit/export",
    .handler = &srv_http_admin_audit_export, .auth = SRV_AUTH_ADMIN,
    .role = "reviewer", .name = "admin_audit_export", .needs_db = true },
  { .method = "GET", .path = "/v1/admin/audit",
    .handler = &srv_http_admin_audit, .auth = SRV_AUTH_ADMIN,
    .role = "reviewer", .name = "admin_audit", .needs_db = true },
  /* assisted enrolment: advisors (and admins) follow an applicant who
     gave them a code */
  { .method = "POST", .path = "/v1/admin/assist",
    .handler = &srv_http_assist_join, .auth = SRV_AUTH_ADMIN,
    .role = "advisor", .body = SRV_BODY_JSON, .max_body = 1024,
    .name = "assist_join", .needs_db = true },
  { .method = "GET", .path = "/v1/admin/assist/{}",
    .handler = &srv_http_assist_view, .auth = SRV_AUTH_ADMIN,
    .role = "advisor", .name = "assist_view", .needs_db = true },
  { .method = "POST", .path = "/v1/admin/assist/{}/hints",
    .handler = &srv_http_assist_hint, .auth = SRV_AUTH_ADMIN,
    .role = "advisor", .body = SRV_BODY_JSON, .max_body = 4096,
    .name = "assist_hint", .needs_db = true },
  { .method = "DELETE", .path = "/v1/admin/assist/{}",
    .handler = &srv_http_assist_leave, .auth = SRV_AUTH_ADMIN,
    .role = "advisor", .name = "assist_leave", .needs_db = true },
  /* hardware token inventory and credential lifecycle (support and
     admin roles) */
  { .method = "POST", .path = "/v1/admin/tokens/import",
    .handler = &srv_http_admin_tokens_import, .auth = SRV_AUTH_ADMIN,
    .role = "support", .body = SRV_BODY_RAW,
    .content_type = "application/pskc+xml", .max_body = 32 * 1024 * 1024,
    .name = "admin_tokens_import", .needs_db = true },
  { .method = "GET", .path = "/v1/admin/tokens",
    .handler = &srv_http_admin_tokens, .auth = SRV_AUTH_ADMIN,
    .role = "support", .name = "admin_tokens", .needs_db = true },
  { .method = "GET", .path = "/v1/admin/customers",
    .handler = &srv_http_admin_customer_search, .auth = SRV_AUTH_ADMIN,
    .role = "support", .name = "admin_customer_search", .needs_db = true },
  { .method = "GET", .path = "/v1/admin/customers/{}",
    .handler = &srv_http_admin_customer, .auth = SRV_AUTH_ADMIN,
    .role = "support", .name = "admin_customer", .needs_db = true },
  { .method = "POST", .path = "/v1/admin/customers/{}/unlock",
    .handler = &srv_http_admin_customer_unlock, .auth = SRV_AUTH_ADMIN,
    .role = "support", .body = SRV_BODY_JSON, .max_body = 8192,
    .name = "admin_customer_unlock", .needs_db = true },
  { .method = "POST", .path = "/v1/admin/credentials/{}/revoke",
    .handler = &srv_http_admin_credential_revoke, .auth = SRV_AUTH_ADMIN,
    .role = "support", .body = SRV_BODY_JSON, .max_body = 2048,
    .name = "admin_credential_revoke", .needs_db = true },
  { .method = "POST", .path = "/v1/admin/passkeys/{}/revoke",
    .handler = &srv_http_admin_passkey_revoke, .auth = SRV_AUTH_ADMIN,
    .role = "support", .body = SRV_BODY_JSON, .max_body = 2048,
    .name = "admin_passkey_revoke", .needs_db = true },
  { .method = "PUT", .path = "/v1/admin/customers/{}/assurance-code",
    .handler = &srv_http_admin_customer_assurance_code,
    .auth = SRV_AUTH_ADMIN, .role = "support", .body = SRV_BODY_JSON,
    .max_body = 1024, .name = "admin_customer_assurance_code",
    .needs_db = true },
  /* the delivery queue (notify/) */
  { .method = "GET", .path = "/v1/admin/outbox",
    .handler = &srv_http_admin_outbox, .auth = SRV_AUTH_ADMIN,
    .role = "admin", .name = "admin_outbox", .needs_db = true },
  { .method = "POST", .path = "/v1/admin/outbox/{}/retry",
    .handler = &srv_http_admin_outbox_retry, .auth = SRV_AUTH_ADMIN,
    .role = "admin", .body = SRV_BODY_JSON, .max_body = 1024,
    .name = "admin_outbox_retry", .needs_db = true },
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

const struct srv_route *
srv_routes (size_t *count)
{
  if (NULL != count)
    *count = N_ROUTES;
  return routes;
}

static bool
capture_char_ok (char c, bool file)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || '_' == c || '-' == c
         || (file && '.' == c);
}

/* Match @a url against @a pattern; on success copy captures into @a rq. */
static bool
path_match (const char *pattern, const char *url, struct srv_request *rq)
{
  const char *caps[SRV_MAX_ARGS];
  size_t caplen[SRV_MAX_ARGS];
  unsigned int n = 0;

  while ('\0' != *pattern)
  {
    if ('{' == pattern[0])
    {
      /* "{}" an identifier, "{file}" a file name (no leading dot) */
      bool file = 0 == strncmp (pattern, "{file}", 6);
      const char *s = url;

      while (capture_char_ok (*url, file))
        url++;
      if (url == s || url - s > 64 || n == SRV_MAX_ARGS || '.' == *s)
        return false;
      caps[n] = s;
      caplen[n++] = (size_t) (url - s);
      pattern += file ? 6 : 2;
      continue;
    }
    if (*pattern++ != *url++)
      return false;
  }
  if ('\0' != *url)
    return false;
  if (NULL == rq)
    return true;
  for (unsigned int i = 0; i < n; i++)
    rq->args[i] = strndup (caps[i], caplen[i]);
  rq->nargs = n;
  return true;
}

const struct srv_route *
srv_route_find (const char *method, const char *url, struct srv_request *rq,
                bool *path_known)
{
  *path_known = false;
  for (size_t i = 0; i < N_ROUTES; i++)
  {
    if (! path_match (routes[i].path, url, NULL))
      continue;
    if (0 != strcmp (routes[i].method, method)
        && ! (0 == strcmp (method, "HEAD")
              && 0 == strcmp (routes[i].method, "GET")))
    {
      *path_known = true;
      continue;
    }
    path_match (routes[i].path, url, rq);
    return &routes[i];
  }
  return NULL;
}

void
srv_route_allow (const char *url, char *out, size_t len)
{
  static const char *const methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"
  };
  size_t used = 0;

  out[0] = '\0';
  for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++)
  {
    const char *want = 0 == strcmp (methods[m], "HEAD") ? "GET" : methods[m];
    bool found = false;

    for (size_t i = 0; i < N_ROUTES && ! found; i++)
      found = 0 == strcmp (routes[i].method, want)
              && path_match (routes[i].path, url, NULL);
    if (found && used + strlen (methods[m]) + 3 < len)
      used += (size_t) snprintf (out + used, len - used, "%s%s",
                                 0 == used ? "" : ", ", methods[m]);
  }
}

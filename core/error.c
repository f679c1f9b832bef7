/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * error.c -- the table behind error.h: one entry per enum core_err with its
 * stable name, HTTP status and a hint safe to show to a client.
 *
 * Designated initializers keep each entry next to its code, so a code added
 * to the enum without an entry shows up as a NULL name (the unit test checks
 * every code).  Names are part of the API: never rename one.  Hints never
 * carry request data or secrets.
 */
#include "core/error.h"

#include <stddef.h>

static const struct core_err_info err_table[CORE_ERR_COUNT] = {
  [CORE_OK] = { "ok", 200, "OK" },
  [CORE_ERR_MALFORMED_JSON] = {
    "malformed_json", 400, "The request body is not a JSON object." },
  [CORE_ERR_INVALID_FIELD] = {
    "invalid_field", 400, "A field is missing, unknown or invalid." },
  [CORE_ERR_BAD_REQUEST] = {
    "bad_request", 400, "The request is malformed." },
  [CORE_ERR_UNAUTHORIZED] = {
    "unauthorized", 401, "Missing or invalid credentials." },
  [CORE_ERR_AUTHENTICATION_FAILED] = {
    "authentication_failed", 401, "Authentication failed." },
  [CORE_ERR_PROOF_INVALID] = {
    "proof_invalid", 401, "The proof or signature does not verify." },
  [CORE_ERR_FORBIDDEN] = {
    "forbidden", 403, "This action is not allowed." },
  [CORE_ERR_NOT_FOUND] = {
    "not_found", 404, "Not found." },
  [CORE_ERR_METHOD_NOT_ALLOWED] = {
    "method_not_allowed", 405, "Method not allowed for this resource." },
  [CORE_ERR_WRONG_STATE] = {
    "wrong_state", 409, "This step is not possible in the current state." },
  [CORE_ERR_CONFLICT] = {
    "conflict", 409, "This conflicts with an existing record." },
  [CORE_ERR_EXPIRED] = {
    "expired", 410, "This has expired." },
  [CORE_ERR_ENROLMENT_EXPIRED] = {
    "enrolment_expired", 410, "The enrolment has expired." },
  [CORE_ERR_CHALLENGE_EXPIRED] = {
    "challenge_expired", 410, "The challenge has expired." },
  [CORE_ERR_ASSIST_ENDED] = {
    "assist_ended", 410, "This assistance session has ended." },
  [CORE_ERR_BODY_TOO_LARGE] = {
    "body_too_large", 413, "The request body is too large." },
  [CORE_ERR_UNSUPPORTED_MEDIA_TYPE] = {
    "unsupported_media_type", 415, "Unsupported content type." },
  [CORE_ERR_POLICY_REFUSED] = {
    "policy_refused", 422, "The request was refused by policy." },
  [CORE_ERR_OTP_INVALID] = {
    "otp_invalid", 422, "The one-time password is not valid." },
  [CORE_ERR_NO_CAPABLE_DEVICE] = {
    "no_capable_device", 422,
    "The customer has no active Guichet phone that can show and sign a "
    "transaction." },
  [CORE_ERR_LOCKED] = {
    "locked", 423, "Too many failed attempts: locked." },
  [CORE_ERR_RATE_LIMITED] = {
    "rate_limited", 429, "Too many requests: try again later." },
  [CORE_ERR_INTERNAL] = {
    "internal_error", 500, "Internal error." },
  [CORE_ERR_DATABASE_UNAVAILABLE] = {
    "database_unavailable", 503, "The database is unavailable." },
};

const struct core_err_info *
core_err_info (enum core_err err)
{
  if ((unsigned int) err >= CORE_ERR_COUNT || err_table[err].name == NULL)
    return &err_table[CORE_ERR_INTERNAL];
  return &err_table[err];
}

const char *
core_err_name (enum core_err err)
{
  return core_err_info (err)->name;
}

unsigned int
core_err_status (enum core_err err)
{
  return core_err_info (err)->http_status;
}

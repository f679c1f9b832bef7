/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * activate.c -- device activation ("Device activation (normative)" in
 * API.md): the two key pairs, M, the HMAC proof and ECDSA signature, the
 * JSON body of POST /v1/devices/activate, the server's 201 answer and the
 * seed derived by ECDH + HKDF so that it never crosses the wire.
 *
 * The steps are separate functions (new → request → finish) so an app can
 * carry the body over its own HTTP stack; ga_activate chains them over the
 * library's plain-HTTP client.  The ECDH private key lives only between
 * ga_activation_new and the seed derivation in ga_activation_finish.
 */
#include "ga_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

/* ================================================================
 * Keys, M and the proof
 * ================================================================ */

/* Fill the public points and M once both keys are in place. */
static ga_status
activation_prepare (ga_activation *act, ga_error *err)
{
  if (ga_key_public (act->signing_key, act->device_pub) != GA_OK
      || ga_key_public (act->ecdh_key, act->ecdh_pub) != GA_OK)
    return ga_crypto_fail (err, "public key export");
  act->message = ga_activation_message (act->challenge_id, act->device_pub,
                                        act->ecdh_pub, &act->message_len);
  return act->message != NULL ? GA_OK : ga_nomem (err);
}

static ga_status
activation_alloc (const ga_activation_payload *payload, ga_activation **out,
                  ga_error *err)
{
  ga_activation *act = calloc (1, sizeof *act);

  *out = NULL;
  if (act == NULL)
    return ga_nomem (err);
  act->base_url = ga_strdup (payload->base_url);
  act->challenge_id = ga_strdup (payload->challenge_id);
  memcpy (act->secret, payload->secret, GA_SECRET_LEN);
  if (act->base_url == NULL || act->challenge_id == NULL)
    {
      ga_activation_free (act);
      return ga_nomem (err);
    }
  *out = act;
  return GA_OK;
}

/* Make the activation with either fresh keys (d == NULL) or fixed ones. */
static ga_status
activation_make (const ga_activation_payload *payload,
                 const uint8_t *signing_d, const uint8_t *ecdh_d,
                 ga_activation **out, ga_error *err)
{
  ga_activation *act;
  ga_status rc = activation_alloc (payload, &act, err);

  if (rc != GA_OK)
    return rc;
  if (signing_d != NULL)
    rc = ga_key_from_private (signing_d, &act->signing_key);
  else
    rc = ga_key_generate (&act->signing_key);
  if (rc == GA_OK && ecdh_d != NULL)
    rc = ga_key_from_private (ecdh_d, &act->ecdh_key);
  else if (rc == GA_OK)
    rc = ga_key_generate (&act->ecdh_key);
  rc = rc == GA_OK ? activation_prepare (act, err)
                   : ga_crypto_fail (err, "P-256 key generation");
  if (rc != GA_OK)
    ga_activation_free (act);
  else
    *out = act;
  return rc;
}

ga_status
ga_activation_new (const ga_activation_payload *payload, ga_activation **out,
                   ga_error *err)
{
  return activation_make (payload, NULL, NULL, out, err);
}

ga_status
ga_activation_new_with_keys (const ga_activation_payload *payload,
                             const uint8_t signing_d[GA_SCALAR_LEN],
                             const uint8_t ecdh_d[GA_SCALAR_LEN],
                             ga_activation **out, ga_error *err)
{
  return activation_make (payload, signing_d, ecdh_d, out, err);
}

void
ga_activation_free (ga_activation *act)
{
  if (act == NULL)
    return;
  free (act->base_url);
  free (act->challenge_id);
  EVP_PKEY_free (act->signing_key);
  EVP_PKEY_free (act->ecdh_key);
  free (act->message);
  OPENSSL_cleanse (act, sizeof *act);
  free (act);
}

const uint8_t *
ga_activation_get_message (const ga_activation *act, size_t *len)
{
  *len = act->message_len;
  return act->message;
}

ga_status
ga_activation_get_proof (const ga_activation *act,
                         uint8_t proof[GA_SHA256_LEN])
{
  return ga_hmac_sha256 (act->secret, GA_SECRET_LEN, act->message,
                         act->message_len, proof);
}

const uint8_t *
ga_activation_get_device_pub (const ga_activation *act)
{
  return act->device_pub;
}

const uint8_t *
ga_activation_get_ecdh_pub (const ga_activation *act)
{
  return act->ecdh_pub;
}

/* ================================================================
 * The request body
 * ================================================================ */

void
ga_device_info_defaults (ga_device_info *info)
{
  *info = (ga_device_info) {
    .platform = "android", .os_version = "14", .model = "Pixel 8",
    .app_version = "1.0.0", .install_id = NULL,
    .rooted = false, .emulator = false, .debugger = false, .hooking = false,
    .sim_country = "FR", .locale = "fr-FR", .timezone = "Europe/Paris",
  };
}

ga_status
ga_random_install_id (char out[37])
{
  uint8_t b[16];

  if (ga_random (b, sizeof b) != GA_OK)
    return GA_ERR_CRYPTO;
  b[6] = (uint8_t) ((b[6] & 0x0f) | 0x40);   /* version 4 */
  b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
  snprintf (out, 37,
            "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
            "%02x%02x%02x%02x%02x%02x",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
            b[10], b[11], b[12], b[13], b[14], b[15]);
  return GA_OK;
}

static json_t *
device_info_json (const ga_device_info *i)
{
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b,"
                    " s:s, s:s, s:s}",
                    "platform", i->platform, "os_version", i->os_version,
                    "model", i->model, "app_version", i->app_version,
                    "install_id", i->install_id, "rooted", i->rooted,
                    "emulator", i->emulator, "debugger", i->debugger,
                    "hooking", i->hooking, "sim_country", i->sim_country,
                    "locale", i->locale, "timezone", i->timezone);
}

ga_status
ga_activation_request (ga_activation *act, const ga_device_info *info,
                       char **body, ga_error *err)
{
  uint8_t proof[GA_SHA256_LEN], *der = NULL;
  size_t der_len = 0;
  char *b[4] = { NULL };
  json_t *dev_json = NULL, *root = NULL;
  ga_status rc;

  *body = NULL;
  if (info->install_id == NULL || info->platform == NULL)
    return ga_fail (err, GA_ERR_INVALID, "device_info_invalid",
                    "device info lacks install_id or platform");
  rc = ga_activation_get_proof (act, proof);
  if (rc == GA_OK)
    rc = ga_ecdsa_sign (act->signing_key, act->message, act->message_len,
                        &der, &der_len);
  if (rc != GA_OK)
    return ga_crypto_fail (err, "activation proof or signature");
  b[0] = ga_b64url_encode (act->device_pub, GA_POINT_LEN);
  b[1] = ga_b64url_encode (act->ecdh_pub, GA_POINT_LEN);
  b[2] = ga_b64url_encode (proof, sizeof proof);
  b[3] = ga_b64url_encode (der, der_len);
  dev_json = device_info_json (info);
  if (b[0] && b[1] && b[2] && b[3] && dev_json)
    root = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:O}",
                      "challenge_id", act->challenge_id,
                      "device_public_key", b[0], "ecdh_public_key", b[1],
                      "proof", b[2], "signature", b[3], "device", dev_json);
  if (root != NULL)
    *body = json_dumps (root, JSON_COMPACT);
  rc = *body != NULL ? GA_OK
       : dev_json == NULL ? ga_fail (err, GA_ERR_INVALID,
                                     "device_info_invalid",
                                     "device info has a missing or non-UTF-8 "
                                     "field")
       : ga_nomem (err);
  OPENSSL_cleanse (proof, sizeof proof);
  for (size_t i = 0; i < 4; i++)
    free (b[i]);
  free (der);
  json_decref (dev_json);
  json_decref (root);
  return rc;
}

/* ================================================================
 * The answer and the seed
 * ================================================================ */

static ga_status
protocol_error (ga_error *err, const char *what)
{
  return ga_fail (err, GA_ERR_PROTOCOL, "bad_server_answer",
                  "activation answer: %s", what);
}

static bool
printable_token (const char *s)
{
  if (*s == '\0' || strlen (s) > 100)
    return false;
  for (; *s != '\0'; s++)
    if ((unsigned char) *s <= 0x20 || (unsigned char) *s >= 0x7f)
      return false;
  return true;
}

static ga_status
parse_otp (json_t *otp, ga_otp_params *out, ga_error *err)
{
  const char *type = NULL, *algorithm = NULL;
  int digits = 0, period = 0;

  if (json_unpack (otp, "{s:s, s:s, s:i, s:i}", "type", &type,
                   "algorithm", &algorithm, "digits", &digits,
                   "period", &period) != 0)
    return protocol_error (err, "otp lacks type, algorithm, digits or period");
  if (strcmp (type, "totp") != 0 || strlen (algorithm) >= sizeof out->algorithm)
    return protocol_error (err, "otp is not a supported TOTP");
  memset (out, 0, sizeof *out);
  strcpy (out->algorithm, algorithm);
  out->digits = digits;
  out->period = period;
  if (!ga_otp_params_valid (out))
    return protocol_error (err, "otp parameters are not supported");
  return GA_OK;
}

/* Derive the seed, drop the ECDH key, hand the signing key to a device. */
static ga_status
activation_complete (ga_activation *act, const char *device_id,
                     const char *status, const uint8_t server_pub[],
                     const ga_otp_params *otp, ga_device **out,
                     ga_error *err)
{
  uint8_t x[GA_SCALAR_LEN], seed[GA_SEED_LEN];
  ga_status rc = ga_ecdh_x (act->ecdh_key, server_pub, x);

  if (rc != GA_OK)
    return protocol_error (err, "server ECDH key is not a P-256 point");
  rc = ga_seed_derive (x, act->secret, device_id, seed);
  OPENSSL_cleanse (x, sizeof x);
  EVP_PKEY_free (act->ecdh_key);
  act->ecdh_key = NULL;
  if (rc != GA_OK)
    return ga_crypto_fail (err, "HKDF");
  rc = ga_device_assemble (device_id, act->base_url, status,
                           act->signing_key, seed, otp, out);
  act->signing_key = NULL;
  OPENSSL_cleanse (seed, sizeof seed);
  return rc == GA_OK ? GA_OK : ga_nomem (err);
}

static ga_status
finish_parsed (ga_activation *act, json_t *root, ga_device **out,
               ga_error *err)
{
  const char *device_id = NULL, *status = NULL, *server_key = NULL;
  json_t *otp = NULL;
  uint8_t server_pub[GA_POINT_LEN];
  ga_otp_params params;
  ga_status rc;

  if (json_unpack (root, "{s:s, s:s}", "device_id", &device_id,
                   "status", &status) != 0)
    return protocol_error (err, "no device_id or status");
  if (strcmp (status, "denied") == 0)
    return ga_fail (err, GA_ERR_DENIED, "device_denied",
                    "the server denied this device");
  if (strcmp (status, "active") != 0 && strcmp (status, "pending_review") != 0)
    return protocol_error (err, "unknown status");
  if (!printable_token (device_id))
    return protocol_error (err, "device_id is not a printable token");
  if (json_unpack (root, "{s:s, s:o}", "server_ecdh_public_key", &server_key,
                   "otp", &otp) != 0)
    return protocol_error (err, "no server_ecdh_public_key or otp");
  if (ga_b64url_decode (server_key, server_pub, sizeof server_pub)
      != GA_POINT_LEN)
    return protocol_error (err, "server_ecdh_public_key is not 65 bytes");
  if ((rc = parse_otp (otp, &params, err)) != GA_OK)
    return rc;
  return activation_complete (act, device_id, status, server_pub, &params,
                              out, err);
}

ga_status
ga_activation_finish (ga_activation *act, const char *answer,
                      ga_device **out, ga_error *err)
{
  json_t *root;
  ga_status rc;

  *out = NULL;
  if (act->ecdh_key == NULL || act->signing_key == NULL)
    return ga_fail (err, GA_ERR_INVALID, "activation_used",
                    "this activation is already finished");
  root = json_loads (answer, JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object (root))
    rc = protocol_error (err, "not a JSON object");
  else
    rc = finish_parsed (act, root, out, err);
  json_decref (root);
  return rc;
}

/* ================================================================
 * All of it over HTTP
 * ================================================================ */

ga_status
ga_activate (const ga_activation_payload *payload, const ga_device_info *info,
             ga_device **out, char **answer, ga_error *err)
{
  static const char *const headers[] = { NULL };
  ga_activation *act = NULL;
  ga_http_reply reply = { 0 };
  char *body = NULL;
  ga_status rc;

  *out = NULL;
  if (answer != NULL)
    *answer = NULL;
  rc = ga_activation_new (payload, &act, err);
  if (rc == GA_OK)
    rc = ga_activation_request (act, info, &body, err);
  if (rc == GA_OK)
    rc = ga_http_request (act->base_url, "POST", "/v1/devices/activate",
                          headers, body, &reply, err);
  if (rc == GA_OK && reply.status != 201)
    rc = ga_http_server_error (&reply, err);
  if (rc == GA_OK)
    rc = ga_activation_finish (act, reply.body, out, err);
  if ((rc == GA_OK || rc == GA_ERR_DENIED) && answer != NULL)
    {
      *answer = reply.body;
      reply.body = NULL;
    }
  ga_http_reply_clear (&reply);
  free (body);
  ga_activation_free (act);
  return rc;
}

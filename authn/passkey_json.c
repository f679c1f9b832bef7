/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey_json.c -- the credential a browser returns, in WebAuthn Level
 * 3's JSON forms (RegistrationResponseJSON, AuthenticationResponseJSON),
 * checked against field tables and decoded from base64url.
 *
 * The members browsers add (authenticatorAttachment,
 * clientExtensionResults with credProps, the response's transports,
 * publicKey, publicKeyAlgorithm, authenticatorData) are accepted and, but
 * for transports, ignored: what counts is signed, in the client data and
 * the authenticator data.  Anything else is refused with the dotted name
 * of the field, e.g. "credential.response.clientDataJSON".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/passkey_int.h"
#include "core/json.h"

#define B64_MAX_ID 1400          /* base64url of 1023 bytes */
#define B64_MAX_CDJ 8192
#define B64_MAX_ATTOBJ 43000     /* 32 KiB of attestation object */
#define B64_MAX_AUTHDATA 8192
#define B64_MAX_SIG 1024

/* "credential." + @a inner, in a per-thread buffer. */
static const char *
field_name (const char *outer, const char *inner)
{
  static __thread char buf[96];

  snprintf (buf, sizeof buf, "credential%s%s%s", outer,
            inner != NULL ? "." : "", inner != NULL ? inner : "");
  return buf;
}

/* Decode @a b64 into *out; @return false on bad base64url or empty. */
static bool
decode (const char *b64, uint8_t **out, long *len)
{
  *len = core_b64url_decode (b64, out);
  if (*len > 0)
    return true;
  free (*out);
  *out = NULL;
  return false;
}

/* The members every PublicKeyCredential JSON has; @a response is the
   caller's table.  @return NULL, or the bad field */
static const char *
parse_common (json_t *credential, const struct core_json_field *response,
              uint8_t **raw_id, long *raw_id_len)
{
  const char *id = NULL, *raw = NULL, *type = NULL, *attachment = NULL;
  const char *bad = NULL;
  json_t *resp = NULL, *ext = NULL;
  const struct core_json_field top[] = {
    { .name = "id", .type = CORE_JSON_STRING, .max_len = B64_MAX_ID,
      .out = &id },
    { .name = "rawId", .type = CORE_JSON_STRING, .max_len = B64_MAX_ID,
      .out = &raw },
    { .name = "type", .type = CORE_JSON_STRING, .max_len = 16,
      .out = &type },
    { .name = "response", .type = CORE_JSON_OBJECT, .out = &resp },
    { .name = "authenticatorAttachment", .type = CORE_JSON_STRING,
      .max_len = 32, .optional = true, .out = &attachment },
    { .name = "clientExtensionResults", .type = CORE_JSON_OBJECT,
      .optional = true, .out = &ext },
    CORE_JSON_FIELD_END
  };

  if (core_json_parse (credential, top, &bad) != CORE_OK)
    return field_name ("",
                       strcmp (bad, "body") == 0 ? NULL : bad);
  if (strcmp (type, "public-key") != 0)
    return field_name ("", "type");
  if (!decode (raw, raw_id, raw_id_len) || *raw_id_len > PK_MAX_CRED_ID)
    return field_name ("", "rawId");
  if (strcmp (id, raw) != 0)
    return field_name ("", "id");
  if (core_json_parse (resp, response, &bad) != CORE_OK)
    return field_name (".response", bad);
  return NULL;
}

/* Keep the transports we know (WebAuthn's AuthenticatorTransport); the
   spec says to ignore the others. */
static const char *
take_transports (json_t *in, json_t **out)
{
  static const char *const known[] = { "usb", "nfc", "ble", "internal",
                                       "hybrid", "smart-card" };
  size_t i;
  json_t *v;

  *out = json_array ();
  if (*out == NULL)
    return field_name (".response", "transports");
  if (in == NULL)
    return NULL;
  if (json_array_size (in) > 16)
    return field_name (".response", "transports");
  json_array_foreach (in, i, v)
    {
      if (!json_is_string (v))
        return field_name (".response", "transports");
      for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (strcmp (json_string_value (v), known[k]) == 0)
          json_array_append_new (*out, json_string (known[k]));
    }
  return NULL;
}

const char *
pk_reg_json_parse (json_t *credential, struct pk_reg_json *out)
{
  const char *cdj = NULL, *att = NULL, *authdata = NULL, *pubkey = NULL;
  json_t *transports = NULL;
  int64_t alg = 0;
  const struct core_json_field response[] = {
    { .name = "clientDataJSON", .type = CORE_JSON_STRING,
      .max_len = B64_MAX_CDJ, .out = &cdj },
    { .name = "attestationObject", .type = CORE_JSON_STRING,
      .max_len = B64_MAX_ATTOBJ, .out = &att },
    { .name = "transports", .type = CORE_JSON_ARRAY, .optional = true,
      .out = &transports },
    { .name = "authenticatorData", .type = CORE_JSON_STRING,
      .max_len = B64_MAX_ATTOBJ, .optional = true, .out = &authdata },
    { .name = "publicKey", .type = CORE_JSON_STRING, .max_len = 4096,
      .optional = true, .out = &pubkey },
    { .name = "publicKeyAlgorithm", .type = CORE_JSON_INT, .min = INT32_MIN,
      .max = INT32_MAX, .optional = true, .out = &alg },
    CORE_JSON_FIELD_END
  };
  const char *bad;

  memset (out, 0, sizeof *out);
  if ((bad = parse_common (credential, response, &out->raw_id,
                           &out->raw_id_len)) != NULL)
    return bad;
  if (!decode (cdj, &out->cdj, &out->cdj_len))
    return field_name (".response", "clientDataJSON");
  if (!decode (att, &out->att_obj, &out->att_obj_len))
    return field_name (".response", "attestationObject");
  return take_transports (transports, &out->transports);
}

void
pk_reg_json_clear (struct pk_reg_json *j)
{
  free (j->raw_id);
  free (j->cdj);
  free (j->att_obj);
  if (j->transports != NULL)
    json_decref (j->transports);
  memset (j, 0, sizeof *j);
}

const char *
pk_auth_json_parse (json_t *credential, struct pk_auth_json *out)
{
  const char *cdj = NULL, *ad = NULL, *sig = NULL, *uh = NULL, *att = NULL;
  const struct core_json_field response[] = {
    { .name = "clientDataJSON", .type = CORE_JSON_STRING,
      .max_len = B64_MAX_CDJ, .out = &cdj },
    { .name = "authenticatorData", .type = CORE_JSON_STRING,
      .max_len = B64_MAX_AUTHDATA, .out = &ad },
    { .name = "signature", .type = CORE_JSON_STRING, .max_len = B64_MAX_SIG,
      .out = &sig },
    { .name = "userHandle", .type = CORE_JSON_STRING, .max_len = 128,
      .optional = true, .out = &uh },
    { .name = "attestationObject", .type = CORE_JSON_STRING,
      .max_len = B64_MAX_AUTHDATA, .optional = true, .out = &att },
    CORE_JSON_FIELD_END
  };
  const char *bad;

  memset (out, 0, sizeof *out);
  if ((bad = parse_common (credential, response, &out->raw_id,
                           &out->raw_id_len)) != NULL)
    return bad;
  if (!decode (cdj, &out->cdj, &out->cdj_len))
    return field_name (".response", "clientDataJSON");
  if (!decode (ad, &out->auth_data, &out->auth_data_len))
    return field_name (".response", "authenticatorData");
  if (!decode (sig, &out->sig, &out->sig_len))
    return field_name (".response", "signature");
  /* an empty userHandle is how some browsers say "none" */
  if (uh != NULL && uh[0] != '\0'
      && (!decode (uh, &out->user_handle, &out->user_handle_len)
          || out->user_handle_len > 64))
    return field_name (".response", "userHandle");
  return NULL;
}

void
pk_auth_json_clear (struct pk_auth_json *j)
{
  free (j->raw_id);
  free (j->cdj);
  free (j->auth_data);
  free (j->sig);
  free (j->user_handle);
  memset (j, 0, sizeof *j);
}

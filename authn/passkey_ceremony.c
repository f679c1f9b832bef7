/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey_ceremony.c -- the checks of a WebAuthn ceremony that decide
 * whether an authenticator's answer is accepted (WebAuthn Level 3, §7.1
 * registration and §7.2 authentication), as pure functions over bytes.
 *
 * libfido2 verifies signatures per algorithm and decodes COSE keys.  It
 * does not parse the client data, it refuses the `none` attestation
 * format, its UP and UV checks default to "check nothing", and it leaves
 * the counter to its caller: all of that is here, each check answering a
 * stable reason.  The rp id hash and the flags are checked here first and
 * again by libfido2, which is told UP and UV are required.  Extensions an
 * authenticator adds on its own (credProtect, hmac-secret, ...) are
 * mirrored into libfido2's request so that its "extensions requested =
 * extensions returned" comparison does not refuse a legitimate passkey;
 * they decide nothing.  Nothing here touches the database or logs the
 * client's bytes.
 */
#include <string.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "authn/passkey_int.h"

static const char *const check_names[PK_CHECK_COUNT] = {
  [PK_OK] = "ok",
  [PK_MALFORMED] = "malformed",
  [PK_TYPE_MISMATCH] = "type_mismatch",
  [PK_CHALLENGE_MISMATCH] = "challenge_mismatch",
  [PK_ORIGIN_MISMATCH] = "origin_mismatch",
  [PK_CROSS_ORIGIN] = "cross_origin",
  [PK_RP_ID_MISMATCH] = "rp_id_mismatch",
  [PK_UP_MISSING] = "up_missing",
  [PK_UV_MISSING] = "uv_missing",
  [PK_BACKUP_STATE_INVALID] = "backup_state_invalid",
  [PK_SIGNATURE_INVALID] = "signature_invalid",
  [PK_COUNTER_REGRESSED] = "counter_regressed",
  [PK_USER_HANDLE_MISMATCH] = "user_handle_mismatch",
  [PK_ALGORITHM_UNSUPPORTED] = "algorithm_unsupported",
  [PK_PUBLIC_KEY_INVALID] = "public_key_invalid",
  [PK_ATTESTATION_UNSUPPORTED] = "attestation_unsupported",
  [PK_ATTESTATION_INVALID] = "attestation_invalid",
  [PK_AAGUID_DENIED] = "aaguid_denied",
};

const char *
pk_check_name (enum pk_check c)
{
  if ((int) c < 0 || c >= PK_CHECK_COUNT || check_names[c] == NULL)
    return "malformed";
  return check_names[c];
}

/* ---------------------------------------------------------- client data */

/* A member that must be a string when present. @return it, or NULL */
static const char *
member_str (json_t *o, const char *name)
{
  json_t *v = json_object_get (o, name);

  return json_is_string (v) ? json_string_value (v) : NULL;
}

static bool
origin_allowed (const char *origin, const struct authn_passkey_rp *rp)
{
  for (size_t i = 0; i < rp->n_origins; i++)
    if (strcmp (origin, rp->origins[i]) == 0)
      return true;
  return false;
}

/* The challenge member: exactly the base64url of ours. */
static bool
challenge_matches (const char *b64, const uint8_t want[PK_CHALLENGE_LEN])
{
  uint8_t *got = NULL;
  long n = core_b64url_decode (b64, &got);
  bool ok = n == PK_CHALLENGE_LEN
            && CRYPTO_memcmp (got, want, PK_CHALLENGE_LEN) == 0;

  free (got);
  return ok;
}

enum pk_check
pk_client_data_check (const uint8_t *cdj, size_t len, const char *type,
                      const uint8_t challenge[PK_CHALLENGE_LEN],
                      const struct authn_passkey_rp *rp)
{
  json_t *o = json_loadb ((const char *) cdj, len,
                          JSON_REJECT_DUPLICATES, NULL);
  const char *t, *c, *origin;
  json_t *cross;
  enum pk_check rc = PK_MALFORMED;

  if (o == NULL)
    return PK_MALFORMED;
  t = member_str (o, "type");
  c = member_str (o, "challenge");
  origin = member_str (o, "origin");
  cross = json_object_get (o, "crossOrigin");
  if (!json_is_object (o) || t == NULL || c == NULL || origin == NULL
      || (cross != NULL && !json_is_boolean (cross)))
    goto out;
  if (strcmp (t, type) != 0)
    rc = PK_TYPE_MISMATCH;
  else if (!challenge_matches (c, challenge))
    rc = PK_CHALLENGE_MISMATCH;
  else if (!origin_allowed (origin, rp))
    rc = PK_ORIGIN_MISMATCH;
  else if (json_is_true (cross))
    rc = PK_CROSS_ORIGIN;
  else
    rc = PK_OK;
out:
  json_decref (o);
  return rc;
}

/* ------------------------------------------------- authenticator data */

enum pk_check
pk_authdata_check (const struct pk_authdata *ad,
                   const struct authn_passkey_rp *rp)
{
  uint8_t want[CORE_SHA256_LEN];

  core_sha256 (rp->id, strlen (rp->id), want);
  if (CRYPTO_memcmp (want, ad->rp_id_hash, sizeof want) != 0)
    return PK_RP_ID_MISMATCH;
  if (!(ad->flags & PK_FLAG_UP))
    return PK_UP_MISSING;
  if (!(ad->flags & PK_FLAG_UV))
    return PK_UV_MISSING;
  if ((ad->flags & PK_FLAG_BS) && !(ad->flags & PK_FLAG_BE))
    return PK_BACKUP_STATE_INVALID;
  return PK_OK;
}

enum pk_check
pk_counter_check (uint32_t stored, uint32_t seen)
{
  if (seen > stored || (seen == 0 && stored == 0))
    return PK_OK;
  return PK_COUNTER_REGRESSED;
}

/* ----------------------------------------------------------- keys */

static bool
alg_supported (int alg)
{
  return alg == PK_ALG_ES256 || alg == PK_ALG_EDDSA || alg == PK_ALG_RS256;
}

static void
free_pk (int alg, void *pk)
{
  if (pk == NULL)
    return;
  if (alg == PK_ALG_ES256)
    es256_pk_free ((es256_pk_t **) &pk);
  else if (alg == PK_ALG_EDDSA)
    eddsa_pk_free ((eddsa_pk_t **) &pk);
  else if (alg == PK_ALG_RS256)
    rs256_pk_free ((rs256_pk_t **) &pk);
}

/* A libfido2 public key object for @a key, or NULL.  Release with
   free_pk(). */
static void *
new_pk (const struct pk_pubkey *key)
{
  void *pk = NULL;
  int r = FIDO_ERR_INVALID_ARGUMENT;

  switch (key->alg)
    {
    case PK_ALG_ES256:
      if ((pk = es256_pk_new ()) != NULL)
        r = es256_pk_from_ptr (pk, key->raw, key->raw_len);
      break;
    case PK_ALG_EDDSA:
      if ((pk = eddsa_pk_new ()) != NULL)
        r = eddsa_pk_from_ptr (pk, key->raw, key->raw_len);
      break;
    case PK_ALG_RS256:
      if ((pk = rs256_pk_new ()) != NULL)
        r = rs256_pk_from_ptr (pk, key->raw, key->raw_len);
      break;
    default:
      break;
    }
  if (r == FIDO_OK)
    return pk;
  free_pk (key->alg, pk);
  return NULL;
}

/* Does @a key make an OpenSSL key (a point on the curve, a sane RSA
   modulus)?  Checked at registration, so a sign-in never meets a key that
   cannot verify. */
static bool
pubkey_usable (const struct pk_pubkey *key)
{
  void *pk = new_pk (key);
  EVP_PKEY *evp = NULL;

  if (pk == NULL)
    return false;
  if (key->alg == PK_ALG_ES256)
    evp = es256_pk_to_EVP_PKEY (pk);
  else if (key->alg == PK_ALG_EDDSA)
    evp = eddsa_pk_to_EVP_PKEY (pk);
  else
    evp = rs256_pk_to_EVP_PKEY (pk);
  free_pk (key->alg, pk);
  EVP_PKEY_free (evp);
  return evp != NULL;
}

/* ----------------------------------------------------- attestation */

/* The extensions libfido2 saw in the authenticator data, as requested
   extensions, so that fido_cred_verify's comparison holds. */
static int
mirror_cred_extensions (fido_cred_t *cred, const struct pk_authdata *ad)
{
  int mask = (ad->ext_hmac_secret ? FIDO_EXT_HMAC_SECRET : 0)
             | (ad->ext_cred_blob ? FIDO_EXT_CRED_BLOB : 0);

  if (mask != 0 && fido_cred_set_extensions (cred, mask) != FIDO_OK)
    return -1;
  if (ad->ext_cred_protect != 0
      && fido_cred_set_prot (cred, ad->ext_cred_protect) != FIDO_OK)
    return -1;
  if (ad->ext_min_pin_length != 0
      && fido_cred_set_pin_minlen (cred, (size_t) ad->ext_min_pin_length)
         != FIDO_OK)
    return -1;
  return 0;
}

/* The packed format's requirements on an attestation certificate
   (WebAuthn §8.2.1) that a signature check does not cover: X.509 v3, not
   a CA, OU "Authenticator Attestation", and the AAGUID extension
   (1.3.6.1.4.1.45724.1.1.4), when present, equal to the credential's. */
static bool
packed_cert_ok (const uint8_t *der, size_t len, const uint8_t aaguid[16])
{
  const unsigned char *p = der;
  X509 *cert = d2i_X509 (NULL, &p, (long) len);
  ASN1_OBJECT *oid = OBJ_txt2obj ("1.3.6.1.4.1.45724.1.1.4", 1);
  char ou[64];
  int idx;
  bool ok = false;

  if (cert == NULL || oid == NULL || p != der + len
      || X509_get_version (cert) != 2
      || (X509_get_extension_flags (cert) & EXFLAG_CA)
      || X509_NAME_get_text_by_NID (X509_get_subject_name (cert),
                                    NID_organizationalUnitName, ou,
                                    sizeof ou) < 0
      || strcmp (ou, "Authenticator Attestation") != 0)
    goto out;
  idx = X509_get_ext_by_OBJ (cert, oid, -1);
  if (idx >= 0)
    {
      X509_EXTENSION *ext = X509_get_ext (cert, idx);
      ASN1_OCTET_STRING *v = X509_EXTENSION_get_data (ext);
      const unsigned char *d = ASN1_STRING_get0_data (v);

      /* the value is itself a DER OCTET STRING of 16 bytes */
      if (X509_EXTENSION_get_critical (ext) || ASN1_STRING_length (v) != 18
          || d[0] != 0x04 || d[1] != 16 || memcmp (d + 2, aaguid, 16) != 0)
        goto out;
    }
  ok = true;
out:
  ASN1_OBJECT_free (oid);
  X509_free (cert);
  return ok;
}

/* Let libfido2 decode the credential (and its key) from the
   authenticator data; copy the key out. */
static enum pk_check
decode_credential (fido_cred_t *cred, const struct pk_attobj *att,
                   const struct pk_authdata *ad, struct pk_pubkey *key)
{
  const unsigned char *pk;
  size_t n;

  if (!alg_supported (ad->alg))
    return PK_ALGORITHM_UNSUPPORTED;
  if (fido_cred_set_type (cred, ad->alg) != FIDO_OK
      || fido_cred_set_authdata_raw (cred, att->auth_data,
                                     att->auth_data_len) != FIDO_OK)
    return PK_PUBLIC_KEY_INVALID;
  pk = fido_cred_pubkey_ptr (cred);
  n = fido_cred_pubkey_len (cred);
  if (pk == NULL || n == 0 || n > sizeof key->raw
      || fido_cred_id_len (cred) != ad->cred_id_len
      || memcmp (fido_cred_id_ptr (cred), ad->cred_id, ad->cred_id_len) != 0)
    return PK_PUBLIC_KEY_INVALID;
  key->alg = ad->alg;
  memcpy (key->raw, pk, n);
  key->raw_len = n;
  return pubkey_usable (key) ? PK_OK : PK_PUBLIC_KEY_INVALID;
}

/* fmt "packed": self attestation (no x5c: signed by the credential key,
   whose algorithm the statement must name) or basic (x5c). */
static enum pk_check
verify_packed (fido_cred_t *cred, const struct pk_attobj *att,
               const struct pk_authdata *ad,
               const uint8_t cdh[CORE_SHA256_LEN],
               const struct authn_passkey_rp *rp, struct pk_attested *out)
{
  int r;

  if (att->n_x5c == 0 && att->stmt_alg != ad->alg)
    return PK_ATTESTATION_INVALID;
  if (att->n_x5c > 0 && !packed_cert_ok (att->x5c0, att->x5c0_len, ad->aaguid))
    return PK_ATTESTATION_INVALID;
  if (fido_cred_set_clientdata_hash (cred, cdh, CORE_SHA256_LEN) != FIDO_OK
      || fido_cred_set_rp (cred, rp->id, NULL) != FIDO_OK
      || fido_cred_set_uv (cred, FIDO_OPT_TRUE) != FIDO_OK
      || fido_cred_set_fmt (cred, "packed") != FIDO_OK
      || mirror_cred_extensions (cred, ad) != 0
      || fido_cred_set_attstmt (cred, att->att_stmt, att->att_stmt_len)
         != FIDO_OK)
    return PK_ATTESTATION_INVALID;
  r = att->n_x5c > 0 ? fido_cred_verify (cred) : fido_cred_verify_self (cred);
  if (r != FIDO_OK)
    return PK_ATTESTATION_INVALID;
  out->attestation_type = att->n_x5c > 0 ? "basic" : "self";
  return PK_OK;
}

enum pk_check
pk_attestation_verify (const struct pk_attobj *att,
                       const struct pk_authdata *ad,
                       const uint8_t cdh[CORE_SHA256_LEN],
                       const struct authn_passkey_rp *rp,
                       struct pk_attested *out)
{
  fido_cred_t *cred = fido_cred_new ();
  enum pk_check rc;

  memset (out, 0, sizeof *out);
  if (cred == NULL)
    return PK_PUBLIC_KEY_INVALID;
  rc = decode_credential (cred, att, ad, &out->key);
  if (rc == PK_OK && strcmp (att->fmt, "none") == 0)
    {
      /* Nothing to verify: the authenticator data stands alone, and
         pk_authdata_check has checked its rp id hash and flags. */
      rc = att->n_stmt_keys == 0 ? PK_OK : PK_MALFORMED;
      out->attestation_type = "none";
    }
  else if (rc == PK_OK && strcmp (att->fmt, "packed") == 0)
    rc = verify_packed (cred, att, ad, cdh, rp, out);
  else if (rc == PK_OK)
    rc = PK_ATTESTATION_UNSUPPORTED;
  fido_cred_free (&cred);
  return rc;
}

/* -------------------------------------------------------- assertion */

enum pk_check
pk_assertion_verify (const uint8_t *ad, size_t ad_len,
                     const struct pk_authdata *parsed,
                     const uint8_t cdh[CORE_SHA256_LEN],
                     const uint8_t *sig, size_t sig_len,
                     const struct pk_pubkey *key,
                     const struct authn_passkey_rp *rp)
{
  fido_assert_t *a = fido_assert_new ();
  int ext = (parsed->ext_hmac_secret ? FIDO_EXT_HMAC_SECRET : 0)
            | (parsed->ext_cred_blob ? FIDO_EXT_CRED_BLOB : 0);
  void *pk = new_pk (key);
  enum pk_check rc = PK_SIGNATURE_INVALID;

  if (a == NULL || pk == NULL || sig_len == 0)
    goto out;
  if (fido_assert_set_rp (a, rp->id) != FIDO_OK
      || fido_assert_set_clientdata_hash (a, cdh, CORE_SHA256_LEN) != FIDO_OK
      || fido_assert_set_count (a, 1) != FIDO_OK
      || fido_assert_set_authdata_raw (a, 0, ad, ad_len) != FIDO_OK
      || fido_assert_set_sig (a, 0, sig, sig_len) != FIDO_OK
      || fido_assert_set_up (a, FIDO_OPT_TRUE) != FIDO_OK
      || fido_assert_set_uv (a, FIDO_OPT_TRUE) != FIDO_OK
      || (ext != 0 && fido_assert_set_extensions (a, ext) != FIDO_OK))
    goto out;
  if (fido_assert_verify (a, 0, key->alg, pk) == FIDO_OK)
    rc = PK_OK;
out:
  free_pk (key->alg, pk);
  fido_assert_free (&a);
  return rc;
}

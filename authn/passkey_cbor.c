/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey_cbor.c -- the bytes a browser relays from an authenticator:
 * authenticator data (a fixed header, the attested credential data, an
 * extensions map) and the attestation object (a CBOR map).
 *
 * Nothing reaches libcbor or libfido2 before pk_cbor_measure() has walked
 * it without building anything: definite lengths only (CTAP2's canonical
 * form has no others), no tags, little nesting, every length inside the
 * buffer.  libcbor builds whole trees and frees them recursively, so a
 * hostile nesting depth must stop here.  The authenticator data is cut at
 * the lengths measured here, and anything left over is refused (libfido2
 * does not check that).  These functions only parse: the checks of what
 * the bytes say are passkey_ceremony.c's.
 */
#include <stdlib.h>
#include <string.h>
#include <cbor.h>

#include "authn/passkey_int.h"

#define PK_MAX_DEPTH 8

/* ------------------------------------------------------------ measure */

/* Read the argument of the head at buf[*pos]; @return -1 if it runs past
   @a len or uses a reserved or indefinite length. */
static int
read_head (const uint8_t *buf, size_t len, size_t *pos, unsigned int *major,
           uint64_t *arg)
{
  unsigned int ai;
  size_t n;

  if (*pos >= len)
    return -1;
  *major = buf[*pos] >> 5;
  ai = buf[*pos] & 0x1f;
  (*pos)++;
  if (ai < 24)
    {
      *arg = ai;
      return 0;
    }
  if (ai > 27)
    return -1;                  /* reserved, or indefinite (31) */
  n = (size_t) 1 << (ai - 24);
  if (len - *pos < n)
    return -1;
  *arg = 0;
  for (size_t i = 0; i < n; i++)
    *arg = (*arg << 8) | buf[(*pos)++];
  return 0;
}

int
pk_cbor_measure (const uint8_t *buf, size_t len, unsigned int max_depth,
                 size_t *item_len)
{
  uint64_t left[PK_MAX_DEPTH + 1];
  unsigned int depth = 0, major;
  size_t pos = 0, head;
  uint64_t arg;

  if (max_depth > PK_MAX_DEPTH)
    max_depth = PK_MAX_DEPTH;
  left[0] = 1;
  for (;;)
    {
      while (left[depth] == 0)
        {
          if (depth == 0)
            {
              *item_len = pos;
              return 0;
            }
          depth--;
        }
      left[depth]--;
      head = pos;
      if (read_head (buf, len, &pos, &major, &arg) != 0)
        return -1;
      switch (major)
        {
        case 0: case 1:
          break;
        case 2: case 3:
          if (arg > len - pos)
            return -1;
          pos += (size_t) arg;
          break;
        case 4: case 5:
          if (depth == max_depth || arg > len - pos
              || (major == 5 && 2 * arg > len - pos))
            return -1;          /* each item needs a byte at least */
          left[++depth] = major == 5 ? 2 * arg : arg;
          break;
        case 6:
          return -1;            /* tags: never in WebAuthn's CBOR */
        default:                /* 7: simple values and floats */
          if (buf[head] == 0xf8 && arg < 32)
            return -1;
          break;
        }
    }
}

/* libcbor on bytes pk_cbor_measure() accepted, whole: @return the tree or
   NULL. */
static cbor_item_t *
load_measured (const uint8_t *buf, size_t len)
{
  struct cbor_load_result res;
  size_t n;
  cbor_item_t *item;

  if (pk_cbor_measure (buf, len, PK_MAX_DEPTH, &n) != 0 || n != len)
    return NULL;
  item = cbor_load (buf, len, &res);
  if (item != NULL && (res.error.code != CBOR_ERR_NONE || res.read != len))
    cbor_decref (&item);
  return item;
}

/* A CBOR integer as int64 (major 0 or 1). @return 0, or -1 */
static int
get_int (const cbor_item_t *it, int64_t *out)
{
  uint64_t v;

  if (!cbor_is_int (it))
    return -1;
  v = cbor_get_int (it);
  if (v > INT64_MAX)
    return -1;
  *out = cbor_isa_uint (it) ? (int64_t) v : -1 - (int64_t) v;
  return 0;
}

/* Is @a it the text @a s? */
static bool
text_is (const cbor_item_t *it, const char *s)
{
  size_t n = strlen (s);

  return cbor_isa_string (it) && cbor_string_is_definite (it)
         && cbor_string_length (it) == n
         && memcmp (cbor_string_handle (it), s, n) == 0;
}

/* ------------------------------------------------- authenticator data */

/* The COSE_Key map: integer labels, kty (1) and alg (3) present. */
static enum pk_check
parse_cose_key (const uint8_t *buf, size_t len, int *alg)
{
  cbor_item_t *map = load_measured (buf, len);
  bool has_kty = false, has_alg = false;
  enum pk_check rc = PK_MALFORMED;
  struct cbor_pair *p;
  int64_t label, v;

  if (map == NULL)
    return PK_MALFORMED;
  if (!cbor_isa_map (map) || !cbor_map_is_definite (map))
    goto out;
  p = cbor_map_handle (map);
  for (size_t i = 0; i < cbor_map_size (map); i++)
    {
      if (get_int (p[i].key, &label) != 0)
        goto out;
      if (label == 1)
        has_kty = true;
      if (label == 3)
        {
          if (get_int (p[i].value, &v) != 0 || v < INT32_MIN || v > INT32_MAX
              || has_alg)
            goto out;
          *alg = (int) v;
          has_alg = true;
        }
    }
  if (has_kty && has_alg)
    rc = PK_OK;
out:
  cbor_decref (&map);
  return rc;
}

/* One extension, as libfido2 will decode it (cbor.c): registration
   (@a attested) has booleans and small integers, an assertion byte
   strings.  Unknown names are ignored, as libfido2 ignores them. */
static int
parse_extension (const cbor_item_t *k, const cbor_item_t *v, bool attested,
                 struct pk_authdata *out)
{
  bool is_bool = cbor_isa_float_ctrl (v) && cbor_is_bool (v);
  bool is_true = is_bool && cbor_get_bool (v);

  if (!cbor_isa_string (k))
    return 0;
  if (text_is (k, "hmac-secret") || text_is (k, "credBlob"))
    {
      bool *flag = text_is (k, "hmac-secret") ? &out->ext_hmac_secret
                                               : &out->ext_cred_blob;

      if (attested && !is_bool)
        return -1;
      if (!attested && !cbor_isa_bytestring (v))
        return -1;
      *flag = attested ? is_true : true;
      return 0;
    }
  if (attested && (text_is (k, "credProtect") || text_is (k, "minPinLength")))
    {
      int *val = text_is (k, "credProtect") ? &out->ext_cred_protect
                                             : &out->ext_min_pin_length;

      if (!cbor_isa_uint (v) || cbor_int_get_width (v) != CBOR_INT_8
          || cbor_get_uint8 (v) == 0)
        return -1;
      *val = cbor_get_uint8 (v);
      if (text_is (k, "credProtect") && *val > 3)
        return -1;
    }
  return 0;
}

static enum pk_check
parse_extensions (const uint8_t *buf, size_t len, bool attested,
                  struct pk_authdata *out)
{
  cbor_item_t *map = load_measured (buf, len);
  enum pk_check rc = PK_MALFORMED;
  struct cbor_pair *p;

  if (map == NULL)
    return PK_MALFORMED;
  if (cbor_isa_map (map) && cbor_map_is_definite (map))
    {
      p = cbor_map_handle (map);
      rc = PK_OK;
      for (size_t i = 0; i < cbor_map_size (map) && rc == PK_OK; i++)
        if (parse_extension (p[i].key, p[i].value, attested, out) != 0)
          rc = PK_MALFORMED;
    }
  cbor_decref (&map);
  return rc;
}

/* The attested credential data at @a p: AAGUID, credential id, key. */
static enum pk_check
parse_attested (const uint8_t *ad, size_t len, size_t *p,
                struct pk_authdata *out)
{
  size_t idlen, keylen;

  if (len - *p < PK_AAGUID_LEN + 2)
    return PK_MALFORMED;
  memcpy (out->aaguid, ad + *p, PK_AAGUID_LEN);
  *p += PK_AAGUID_LEN;
  idlen = ((size_t) ad[*p] << 8) | ad[*p + 1];
  *p += 2;
  if (idlen == 0 || idlen > PK_MAX_CRED_ID || len - *p < idlen)
    return PK_MALFORMED;
  out->cred_id = ad + *p;
  out->cred_id_len = idlen;
  *p += idlen;
  if (pk_cbor_measure (ad + *p, len - *p, 4, &keylen) != 0
      || keylen > PK_MAX_PUBKEY)
    return PK_MALFORMED;
  out->cose_key = ad + *p;
  out->cose_key_len = keylen;
  *p += keylen;
  return parse_cose_key (out->cose_key, keylen, &out->alg);
}

enum pk_check
pk_authdata_parse (const uint8_t *ad, size_t len, bool attested,
                   struct pk_authdata *out)
{
  size_t p = 37, extlen;
  enum pk_check rc;

  memset (out, 0, sizeof *out);
  if (ad == NULL || len < 37)
    return PK_MALFORMED;
  out->rp_id_hash = ad;
  out->flags = ad[32];
  out->sign_count = ((uint32_t) ad[33] << 24) | ((uint32_t) ad[34] << 16)
                    | ((uint32_t) ad[35] << 8) | ad[36];
  /* AT: present exactly when a credential is being created */
  if (attested != ((out->flags & PK_FLAG_AT) != 0))
    return PK_MALFORMED;
  if (attested && (rc = parse_attested (ad, len, &p, out)) != PK_OK)
    return rc;
  if (out->flags & PK_FLAG_ED)
    {
      if (pk_cbor_measure (ad + p, len - p, 4, &extlen) != 0)
        return PK_MALFORMED;
      if ((rc = parse_extensions (ad + p, extlen, attested, out)) != PK_OK)
        return rc;
      p += extlen;
    }
  return p == len ? PK_OK : PK_MALFORMED;
}

/* ------------------------------------------------- attestation object */

/* The packed statement: alg (a negative integer), sig, x5c (optional, a
   non-empty array of byte strings); nothing else. */
static enum pk_check
parse_packed (const cbor_item_t *stmt, struct pk_attobj *out)
{
  struct cbor_pair *p = cbor_map_handle (stmt);
  int64_t alg;

  for (size_t i = 0; i < cbor_map_size (stmt); i++)
    {
      const cbor_item_t *v = p[i].value;

      if (text_is (p[i].key, "alg") && out->stmt_alg == 0
          && get_int (v, &alg) == 0 && alg < 0 && alg >= INT32_MIN)
        out->stmt_alg = (int) alg;
      else if (text_is (p[i].key, "sig") && out->sig == NULL
               && cbor_isa_bytestring (v) && cbor_bytestring_is_definite (v)
               && cbor_bytestring_length (v) > 0)
        {
          out->sig = cbor_bytestring_handle (v);
          out->sig_len = cbor_bytestring_length (v);
        }
      else if (text_is (p[i].key, "x5c") && out->n_x5c == 0
               && cbor_isa_array (v) && cbor_array_size (v) > 0)
        {
          cbor_item_t **certs = cbor_array_handle (v);

          for (size_t j = 0; j < cbor_array_size (v); j++)
            if (!cbor_isa_bytestring (certs[j])
                || cbor_bytestring_length (certs[j]) == 0)
              return PK_MALFORMED;
          out->x5c0 = cbor_bytestring_handle (certs[0]);
          out->x5c0_len = cbor_bytestring_length (certs[0]);
          out->n_x5c = cbor_array_size (v);
        }
      else
        return PK_MALFORMED;
    }
  return out->stmt_alg != 0 && out->sig != NULL ? PK_OK : PK_MALFORMED;
}

/* Take one member of the attestation object's map. */
static enum pk_check
take_member (const struct cbor_pair *m, struct pk_attobj *out,
             const cbor_item_t **stmt)
{
  const cbor_item_t *v = m->value;

  if (text_is (m->key, "fmt") && out->fmt[0] == '\0')
    {
      size_t n = cbor_isa_string (v) ? cbor_string_length (v) : 0;

      if (n == 0 || n >= sizeof out->fmt)
        return PK_MALFORMED;
      memcpy (out->fmt, cbor_string_handle (v), n);
      out->fmt[n] = '\0';
      return strlen (out->fmt) == n ? PK_OK : PK_MALFORMED;
    }
  if (text_is (m->key, "attStmt") && *stmt == NULL)
    {
      if (!cbor_isa_map (v) || !cbor_map_is_definite (v))
        return PK_MALFORMED;
      *stmt = v;
      return PK_OK;
    }
  if (text_is (m->key, "authData") && out->auth_data == NULL)
    {
      if (!cbor_isa_bytestring (v) || !cbor_bytestring_is_definite (v))
        return PK_MALFORMED;
      out->auth_data = cbor_bytestring_handle (v);
      out->auth_data_len = cbor_bytestring_length (v);
      return PK_OK;
    }
  return PK_MALFORMED;          /* unknown or repeated member */
}

enum pk_check
pk_attobj_parse (const uint8_t *ao, size_t len, struct pk_attobj *out)
{
  cbor_item_t *root = load_measured (ao, len);
  const cbor_item_t *stmt = NULL;
  enum pk_check rc = PK_MALFORMED;
  struct cbor_pair *m;
  size_t alloc = 0;

  memset (out, 0, sizeof *out);
  if (root == NULL)
    return PK_MALFORMED;
  out->root = root;
  if (!cbor_isa_map (root) || !cbor_map_is_definite (root))
    return PK_MALFORMED;
  m = cbor_map_handle (root);
  for (size_t i = 0; i < cbor_map_size (root); i++)
    if (take_member (&m[i], out, &stmt) != PK_OK)
      return PK_MALFORMED;
  if (out->fmt[0] == '\0' || stmt == NULL || out->auth_data == NULL)
    return PK_MALFORMED;
  out->n_stmt_keys = cbor_map_size (stmt);
  if (strcmp (out->fmt, "packed") == 0)
    rc = parse_packed (stmt, out);
  else if (strcmp (out->fmt, "none") == 0)
    rc = out->n_stmt_keys == 0 ? PK_OK : PK_MALFORMED;
  else
    rc = PK_ATTESTATION_UNSUPPORTED;
  if (rc == PK_OK
      && (out->att_stmt_len = cbor_serialize_alloc (stmt, &out->att_stmt,
                                                    &alloc)) == 0)
    rc = PK_MALFORMED;
  return rc;
}

void
pk_attobj_clear (struct pk_attobj *att)
{
  cbor_item_t *root = att->root;

  if (root != NULL)
    cbor_decref (&root);
  free (att->att_stmt);
  memset (att, 0, sizeof *att);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * pskc_crypto.c -- RFC 6030 §6 with OpenSSL 3: the container's encryption
 * key (pre-shared, or PBKDF2 of a password), its MAC key (encrypted under
 * the encryption key), ValueMAC verification and AES-CBC decryption.
 *
 * Every encrypted value must carry a ValueMAC = HMAC(MAC key, IV ||
 * ciphertext); pskc.c checks all of them before it decrypts any, so a
 * padding check is never an oracle.  XML Encryption pads like ISO 10126
 * (only the last byte is defined), so padding is stripped by hand.  Keys
 * live in struct pskc_keys and are cleansed by pskc_keys_clear; nothing
 * here logs.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "authn/pskc_int.h"

#define AES_BLOCK 16

static const struct pskc_cipher ciphers[] = {
  { "http://www.w3.org/2001/04/xmlenc#aes128-cbc", 16, "AES-128-CBC" },
  { "http://www.w3.org/2001/04/xmlenc#aes192-cbc", 24, "AES-192-CBC" },
  { "http://www.w3.org/2001/04/xmlenc#aes256-cbc", 32, "AES-256-CBC" },
};

static const struct pskc_mac macs[] = {
  { "http://www.w3.org/2000/09/xmldsig#hmac-sha1", "SHA1" },
  { "http://www.w3.org/2001/04/xmldsig-more#hmac-sha224", "SHA224" },
  { "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", "SHA256" },
  { "http://www.w3.org/2001/04/xmldsig-more#hmac-sha384", "SHA384" },
  { "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512", "SHA512" },
};

#define PBKDF2_URI \
  "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2"

const struct pskc_cipher *
pskc_cipher_find (const char *uri)
{
  for (size_t i = 0; uri != NULL && i < sizeof ciphers / sizeof *ciphers; i++)
    if (strcmp (uri, ciphers[i].uri) == 0)
      return &ciphers[i];
  return NULL;
}

const struct pskc_mac *
pskc_mac_find (const char *uri)
{
  for (size_t i = 0; uri != NULL && i < sizeof macs / sizeof *macs; i++)
    if (strcmp (uri, macs[i].uri) == 0)
      return &macs[i];
  return NULL;
}

/* ------------------------------------------------------------ base64 */

static int
b64_digit (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

static bool
xml_space (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Append one 4-character group (with its padding count) to @a out. */
static void
b64_group (const int q[4], int pad, uint8_t *out, size_t *n)
{
  uint32_t v = (uint32_t) q[0] << 18 | (uint32_t) q[1] << 12
               | (uint32_t) q[2] << 6 | (uint32_t) q[3];

  out[(*n)++] = (uint8_t) (v >> 16);
  if (pad < 2)
    out[(*n)++] = (uint8_t) (v >> 8);
  if (pad < 1)
    out[(*n)++] = (uint8_t) v;
}

long
pskc_b64_decode (const char *s, uint8_t **out)
{
  size_t cap = strlen (s) / 4 * 3 + 3, n = 0;
  int q[4], k = 0, pad = 0;
  uint8_t *buf = malloc (cap);

  *out = NULL;
  if (buf == NULL)
    return -1;
  for (; *s != '\0'; s++)
    {
      int d = b64_digit (*s);

      if (xml_space (*s))
        continue;
      if (pad > 0 && (*s != '=' || k < 2))
        goto bad;                 /* data after padding, or "x===" */
      if (*s == '=')
        {
          if (k < 2)
            goto bad;
          pad++;
          d = 0;
        }
      else if (d < 0)
        goto bad;
      q[k++] = d;
      if (k == 4)
        {
          b64_group (q, pad, buf, &n);
          k = 0;
          if (pad > 0)
            pad = 3;              /* nothing may follow a padded group */
        }
    }
  if (k != 0)
    goto bad;
  *out = buf;
  return (long) n;
bad:
  OPENSSL_cleanse (buf, cap);
  free (buf);
  return -1;
}

/* ------------------------------------------------------------- PBKDF2 */

int
authn_pskc_pbkdf2 (const char *password, const uint8_t *salt, size_t salt_len,
                   unsigned long iterations, const char *prf_uri,
                   uint8_t *out, size_t out_len)
{
  const struct pskc_mac *prf = (prf_uri == NULL || prf_uri[0] == '\0')
                               ? &macs[0] : pskc_mac_find (prf_uri);
  EVP_MD *md = NULL;
  int ok;

  if (prf == NULL || iterations < 1 || iterations > AUTHN_PSKC_MAX_ITERATIONS
      || password == NULL || out_len == 0 || out_len > 1024)
    return -1;
  md = EVP_MD_fetch (NULL, prf->digest, NULL);
  if (md == NULL)
    return -1;
  ok = PKCS5_PBKDF2_HMAC (password, (int) strlen (password), salt,
                          (int) salt_len, (int) iterations, md, (int) out_len,
                          out);
  EVP_MD_free (md);
  return ok == 1 ? 0 : -1;
}

/* --------------------------------------------------------- AES-CBC, HMAC */

static int
cbc_decrypt (const struct pskc_cipher *c, const uint8_t *key,
             const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
  EVP_CIPHER *cipher = EVP_CIPHER_fetch (NULL, c->evp_name, NULL);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n1 = 0, n2 = 0, rc = -1;

  if (cipher == NULL || ctx == NULL)
    goto done;
  if (EVP_DecryptInit_ex2 (ctx, cipher, key, in, NULL) != 1
      || EVP_CIPHER_CTX_set_padding (ctx, 0) != 1
      || EVP_DecryptUpdate (ctx, out, &n1, in + AES_BLOCK,
                            (int) (len - AES_BLOCK)) != 1
      || EVP_DecryptFinal_ex (ctx, out + n1, &n2) != 1)
    goto done;
  *out_len = (size_t) n1 + (size_t) n2;
  rc = 0;
done:
  EVP_CIPHER_CTX_free (ctx);
  EVP_CIPHER_free (cipher);
  return rc;
}

/* Decrypt @a data (IV || ciphertext) with @a key and strip the padding. */
static int
decrypt_raw (const struct pskc_cipher *c, const uint8_t *key, size_t key_len,
             const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
  uint8_t *buf;
  size_t n = 0;
  unsigned int pad;

  *out = NULL;
  *out_len = 0;
  if (c == NULL || key_len != c->key_len || len < 2 * AES_BLOCK
      || len % AES_BLOCK != 0 || (buf = malloc (len)) == NULL)
    return -1;
  if (cbc_decrypt (c, key, data, len, buf, &n) != 0 || n == 0)
    goto bad;
  pad = buf[n - 1];
  if (pad < 1 || pad > AES_BLOCK || pad > n)
    goto bad;
  *out = buf;
  *out_len = n - pad;
  OPENSSL_cleanse (buf + *out_len, pad);
  return 0;
bad:
  OPENSSL_cleanse (buf, len);
  free (buf);
  return -1;
}

/* Key an HMAC context once for the whole file (a fetch per value costs
   more than the MAC itself).  @return 0 or -1. */
static int
hmac_setup (struct pskc_keys *k)
{
  EVP_MAC *mac = EVP_MAC_fetch (NULL, "HMAC", NULL);
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST,
                                      (char *) k->mac_alg->digest, 0),
    OSSL_PARAM_construct_end ()
  };

  k->hmac = mac != NULL ? EVP_MAC_CTX_new (mac) : NULL;
  EVP_MAC_free (mac);
  if (k->hmac == NULL
      || EVP_MAC_init (k->hmac, k->mac, k->mac_len, params) != 1)
    return -1;
  return 0;
}

bool
pskc_value_mac_ok (const struct pskc_keys *k, const struct pskc_value *v)
{
  uint8_t md[EVP_MAX_MD_SIZE];
  size_t md_len = 0;
  bool ok;

  if (k->hmac == NULL || v->mac == NULL || v->data == NULL)
    return false;
  /* a NULL key re-initialises the context with the key it has */
  if (EVP_MAC_init (k->hmac, NULL, 0, NULL) != 1
      || EVP_MAC_update (k->hmac, v->data, v->data_len) != 1
      || EVP_MAC_final (k->hmac, md, &md_len, sizeof md) != 1)
    return false;
  ok = md_len == v->mac_len && CRYPTO_memcmp (md, v->mac, md_len) == 0;
  OPENSSL_cleanse (md, sizeof md);
  return ok;
}

int
pskc_value_decrypt (const struct pskc_keys *k, const struct pskc_value *v,
                    uint8_t **out, size_t *out_len)
{
  return decrypt_raw (v->cipher, k->enc, k->enc_len, v->data, v->data_len,
                      out, out_len);
}

/* ------------------------------------------------------ container keys */

/* The encryption key: PBKDF2 of the password, or the pre-shared key. */
static enum authn_pskc_status
unlock_enc (const struct pskc_container *c, const struct authn_pskc_unlock *u,
            const struct pskc_cipher *cipher, struct pskc_keys *k)
{
  if (cipher == NULL)
    return AUTHN_PSKC_UNSUPPORTED;
  if (c->derived)
    {
      if (c->derived_bad)
        return AUTHN_PSKC_UNSUPPORTED;
      if (u == NULL || u->password == NULL)
        return AUTHN_PSKC_KEY_REQUIRED;
      if (c->derived_len != 0 && c->derived_len != cipher->key_len)
        return AUTHN_PSKC_KEY_MISMATCH;
      if (authn_pskc_pbkdf2 (u->password, c->salt, c->salt_len,
                             c->iterations, c->prf_uri, k->enc,
                             cipher->key_len) != 0)
        return AUTHN_PSKC_UNSUPPORTED;
      k->enc_len = cipher->key_len;
      return AUTHN_PSKC_OK;
    }
  if (u == NULL || u->key == NULL)
    return AUTHN_PSKC_KEY_REQUIRED;
  if (u->key_len != cipher->key_len)
    return AUTHN_PSKC_KEY_MISMATCH;
  memcpy (k->enc, u->key, u->key_len);
  k->enc_len = u->key_len;
  return AUTHN_PSKC_OK;
}

/* The MAC key, encrypted under the encryption key (RFC 6030 §6.1.1). */
static enum authn_pskc_status
unlock_mac (const struct pskc_container *c, struct pskc_keys *k)
{
  const struct pskc_value *v = &c->mac_key;
  uint8_t *key = NULL;
  size_t len = 0;

  if (c->mac_uri == NULL || !v->present)
    return AUTHN_PSKC_MAC_MISSING;
  k->mac_alg = pskc_mac_find (c->mac_uri);
  if (k->mac_alg == NULL || (v->data != NULL && v->cipher == NULL))
    return AUTHN_PSKC_UNSUPPORTED;
  if (v->bad || v->data == NULL)
    return AUTHN_PSKC_MALFORMED;
  if (decrypt_raw (v->cipher, k->enc, k->enc_len, v->data, v->data_len,
                   &key, &len) != 0)
    return AUTHN_PSKC_DECRYPTION_FAILED;
  if (len == 0 || len > sizeof k->mac)
    {
      OPENSSL_cleanse (key, len);
      free (key);
      return AUTHN_PSKC_DECRYPTION_FAILED;
    }
  memcpy (k->mac, key, len);
  k->mac_len = len;
  OPENSSL_cleanse (key, len);
  free (key);
  return hmac_setup (k) == 0 ? AUTHN_PSKC_OK : AUTHN_PSKC_NOMEM;
}

enum authn_pskc_status
pskc_keys_unlock (const struct pskc_container *c,
                  const struct authn_pskc_unlock *unlock,
                  const struct pskc_cipher *first_cipher, bool need_enc,
                  struct pskc_keys *k)
{
  enum authn_pskc_status st;

  memset (k, 0, sizeof *k);
  if (!need_enc)
    return AUTHN_PSKC_OK;         /* plain container: nothing to unlock */
  st = unlock_enc (c, unlock, first_cipher, k);
  if (st == AUTHN_PSKC_OK)
    st = unlock_mac (c, k);
  if (st != AUTHN_PSKC_OK)
    pskc_keys_clear (k);
  return st;
}

void
pskc_keys_clear (struct pskc_keys *k)
{
  EVP_MAC_CTX_free (k->hmac);
  OPENSSL_cleanse (k, sizeof *k);
}

void
pskc_value_clear (struct pskc_value *v)
{
  if (v->plain != NULL)
    OPENSSL_cleanse (v->plain, strlen (v->plain));
  free (v->plain);
  free (v->cipher_uri);
  free (v->data);
  free (v->mac);
  memset (v, 0, sizeof *v);
}

/* Used by pskc.c to recognise the one key derivation we do. */
const char *const pskc_pbkdf2_uri = PBKDF2_URI;

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * payload.c -- the two QR payloads a phone scans: `guichet://activate`
 * (device activation) and `guichet://tx` (transaction signing), and the
 * transaction message T built from the latter.
 *
 * A QR code is untrusted input that decides what the user approves, so the
 * parser is strict: exact scheme and path, v=1, every field exactly once,
 * no control characters (T is '\n'-separated: a '\n' in a payee name would
 * shift the fields the signature covers), and no payee name holding a
 * character that changes what is shown without showing itself (bidi
 * controls, zero-width characters, tags): the person approves what the
 * screen shows.  Values are percent-decoded with
 * '+' read as a space, as browsers and Python's parse_qs read queries.
 */
#include "ga_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static const char activate_prefix[] = "guichet://activate?";
static const char tx_prefix[] = "guichet://tx?";

/* One expected query parameter and where its decoded value goes. */
struct field {
  const char *key;
  char **slot;
};

/* ================================================================
 * Query parsing
 * ================================================================ */

static bool
has_control_char (const char *s)
{
  for (; *s != '\0'; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

/* A character that draws nothing or reorders what is drawn, in UTF-8:
 * U+00AD, U+061C, U+200B..U+200F, U+202A..U+202E, U+2060..U+2069,
 * U+FEFF, C1 controls (U+0080..U+009F) and tags (U+E0000..U+E0FFF). */
static bool
has_invisible_char (const char *text)
{
  const unsigned char *s = (const unsigned char *) text;

  for (; *s != '\0'; s++)
    {
      if (s[0] == 0xC2 && (s[1] == 0xAD || (s[1] >= 0x80 && s[1] <= 0x9F)))
        return true;
      if (s[0] == 0xD8 && s[1] == 0x9C)
        return true;
      if (s[0] == 0xE2 && s[1] == 0x80
          && ((s[2] >= 0x8B && s[2] <= 0x8F) || (s[2] >= 0xAA && s[2] <= 0xAE)))
        return true;
      if (s[0] == 0xE2 && s[1] == 0x81 && s[2] >= 0xA0 && s[2] <= 0xA9)
        return true;
      if (s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        return true;
      if (s[0] == 0xF3 && s[1] >= 0xA0 && s[1] <= 0xA3)
        return true;
    }
  return false;
}

/* Store one "key=value" pair into its field; unknown keys are ignored. */
static ga_status
store_pair (const char *pair, size_t len, struct field *fields,
            ga_error *err)
{
  const char *eq = memchr (pair, '=', len);
  size_t key_len = eq != NULL ? (size_t) (eq - pair) : len;

  if (eq == NULL || key_len == 0)
    return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                    "query parameter without a name or value");
  for (struct field *f = fields; f->key != NULL; f++)
    {
      if (strlen (f->key) != key_len || memcmp (f->key, pair, key_len) != 0)
        continue;
      if (*f->slot != NULL)
        return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                        "parameter %s given twice", f->key);
      *f->slot = ga_percent_decode (eq + 1, len - key_len - 1);
      if (*f->slot == NULL)
        return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                        "parameter %s is badly percent-encoded", f->key);
      return GA_OK;
    }
  return GA_OK;
}

/* Split text (after its prefix) on '&' into the fields. */
static ga_status
parse_query (const char *text, const char *prefix, struct field *fields,
             ga_error *err)
{
  size_t plen = strlen (prefix);
  const char *p;
  ga_status rc;

  if (text == NULL || strncmp (text, prefix, plen) != 0)
    return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                    "payload does not start with %s", prefix);
  for (p = text + plen; *p != '\0';)
    {
      size_t len = strcspn (p, "&#");

      if (p[len] == '#')
        return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                        "payload carries a fragment");
      if ((rc = store_pair (p, len, fields, err)) != GA_OK)
        return rc;
      p += len + (p[len] == '&');
    }
  return GA_OK;
}

/* Check v first (a newer payload is refused as such), then that every
 * field was given, non-empty and free of control characters. */
static ga_status
check_fields (const char *v, const struct field *fields, ga_error *err)
{
  if (v != NULL && strcmp (v, "1") != 0)
    return ga_fail (err, GA_ERR_INVALID, "payload_version",
                    "payload version %.16s is not supported (want 1)", v);
  for (const struct field *f = fields; f->key != NULL; f++)
    {
      if (*f->slot == NULL || **f->slot == '\0')
        return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                        "parameter %s is missing", f->key);
      if (has_control_char (*f->slot))
        return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                        "parameter %s holds a control character", f->key);
    }
  return GA_OK;
}

/* ================================================================
 * guichet://activate
 * ================================================================ */

/* An http(s) URL with a host: "http:///" would lose its "//" to the
 * trailing-slash trim and leave "http:" to prefix every path. */
static ga_status
check_base_url (const char *url, ga_error *err)
{
  size_t scheme = strncmp (url, "http://", 7) == 0    ? 7
                  : strncmp (url, "https://", 8) == 0 ? 8
                                                      : 0;

  if (scheme == 0)
    return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                    "base URL is not http:// or https://");
  if (url[scheme] == '\0' || url[scheme] == '/')
    return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                    "base URL has no host");
  if (strpbrk (url, "?# ") != NULL)
    return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                    "base URL carries a query, fragment or space");
  return GA_OK;
}

ga_status
ga_activation_payload_parse (const char *text, ga_activation_payload *out,
                             ga_error *err)
{
  char *v = NULL, *u = NULL, *c = NULL, *s = NULL;
  struct field fields[] = {
    { "v", &v }, { "u", &u }, { "c", &c }, { "s", &s }, { NULL, NULL },
  };
  ga_status rc;

  memset (out, 0, sizeof *out);
  rc = parse_query (text, activate_prefix, fields, err);
  if (rc == GA_OK)
    rc = check_fields (v, fields, err);
  if (rc == GA_OK)
    rc = check_base_url (u, err);
  if (rc == GA_OK
      && ga_b64url_decode (s, out->secret, GA_SECRET_LEN) != GA_SECRET_LEN)
    rc = ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                  "activation secret is not 16 bytes of base64url");
  if (rc == GA_OK)
    {
      size_t len = strlen (u);

      while (len > 0 && u[len - 1] == '/')   /* paths are appended */
        u[--len] = '\0';
      out->base_url = u;
      out->challenge_id = c;
      u = c = NULL;
    }
  else
    OPENSSL_cleanse (out->secret, GA_SECRET_LEN);
  free (v);
  free (u);
  free (c);
  ga_free_secret_str (s);
  return rc;
}

void
ga_activation_payload_clear (ga_activation_payload *p)
{
  if (p == NULL)
    return;
  free (p->base_url);
  free (p->challenge_id);
  OPENSSL_cleanse (p, sizeof *p);
}

/* ================================================================
 * guichet://tx and T
 * ================================================================ */

static bool
amount_valid (const char *a)
{
  size_t int_len = strspn (a, "0123456789");

  if (int_len == 0 || int_len > 15)
    return false;
  if (a[int_len] == '\0')
    return true;
  return a[int_len] == '.' && strspn (a + int_len + 1, "0123456789") > 0
         && a[int_len + 1 + strspn (a + int_len + 1, "0123456789")] == '\0';
}

static bool
currency_valid (const char *c)
{
  return strlen (c) == 3 && strspn (c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3;
}

/* The checks every transaction passes, from a QR code or from the
 * server's pending list. */
static ga_status
tx_check (const ga_tx *tx, ga_error *err)
{
  const char *fields[] = { tx->id, tx->amount, tx->currency, tx->payee_name,
                           tx->payee_iban, tx->nonce };

  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (fields[i] == NULL || *fields[i] == '\0' || has_control_char (fields[i]))
      return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                      "a transaction field is missing or holds a control "
                      "character");
  if (!amount_valid (tx->amount))
    return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                    "amount is not a decimal number");
  if (!currency_valid (tx->currency))
    return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                    "currency is not a three-letter code");
  if (has_invisible_char (tx->payee_name))
    return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                    "the payee name holds an invisible or bidi character");
  return GA_OK;
}

ga_status
ga_tx_parse (const char *text, ga_tx *out, ga_error *err)
{
  char *v = NULL;
  struct field fields[] = {
    { "v", &v }, { "id", &out->id }, { "a", &out->amount },
    { "c", &out->currency }, { "n", &out->payee_name },
    { "i", &out->payee_iban }, { "x", &out->nonce }, { NULL, NULL },
  };
  ga_status rc;

  memset (out, 0, sizeof *out);
  rc = parse_query (text, tx_prefix, fields, err);
  if (rc == GA_OK)
    rc = check_fields (v, fields, err);
  if (rc == GA_OK)
    rc = tx_check (out, err);
  free (v);
  if (rc != GA_OK)
    ga_tx_clear (out);
  return rc;
}

ga_status
ga_tx_from_fields (const char *id, const char *amount, const char *currency,
                   const char *payee_name, const char *payee_iban,
                   const char *nonce, ga_tx *out, ga_error *err)
{
  ga_status rc = GA_OK;

  memset (out, 0, sizeof *out);
  if (id == NULL || amount == NULL || currency == NULL || payee_name == NULL
      || payee_iban == NULL || nonce == NULL)
    rc = ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                  "a transaction field is missing");
  else if ((out->id = ga_strdup (id)) == NULL
           || (out->amount = ga_strdup (amount)) == NULL
           || (out->currency = ga_strdup (currency)) == NULL
           || (out->payee_name = ga_strdup (payee_name)) == NULL
           || (out->payee_iban = ga_strdup (payee_iban)) == NULL
           || (out->nonce = ga_strdup (nonce)) == NULL)
    rc = ga_nomem (err);
  else
    rc = tx_check (out, err);
  if (rc != GA_OK)
    ga_tx_clear (out);
  return rc;
}

void
ga_tx_clear (ga_tx *tx)
{
  if (tx == NULL)
    return;
  free (tx->id);
  free (tx->amount);
  free (tx->currency);
  free (tx->payee_name);
  free (tx->payee_iban);
  free (tx->nonce);
  memset (tx, 0, sizeof *tx);
}

static bool
assurance_code_ok (const char *c)
{
  if (c == NULL || strlen (c) != 6)
    return false;
  for (size_t i = 0; i < 6; i++)
    if (c[i] == '\0' || strchr (GA_ASSURANCE_ALPHABET, c[i]) == NULL)
      return false;
  return true;
}

char *
ga_tx_display (const char *amount, const char *currency,
               const char *payee_name, const char *payee_iban,
               const char *assurance_code)
{
  char *s = NULL;
  int n;

  if (assurance_code_ok (assurance_code))
    n = asprintf (&s, "Pay %s %s to %s (%s). Your security code: %s"
                  " \xe2\x80\x94 if it is missing or wrong, do not approve.",
                  amount ? amount : "?", currency ? currency : "?",
                  payee_name ? payee_name : "?", payee_iban ? payee_iban : "?",
                  assurance_code);
  else
    n = asprintf (&s, "Pay %s %s to %s (%s). No security code came with this"
                  " payment: it may not be from your bank. Do not approve it.",
                  amount ? amount : "?", currency ? currency : "?",
                  payee_name ? payee_name : "?", payee_iban ? payee_iban : "?");
  return n < 0 ? NULL : s;
}

char *
ga_tx_message (const ga_tx *tx, size_t *len)
{
  const char *parts[] = { "guichet-tx-v1", tx->id, tx->amount, tx->currency,
                          tx->payee_name, tx->payee_iban, tx->nonce };
  size_t n = sizeof parts / sizeof parts[0], total = 0, o = 0;
  char *t;

  for (size_t i = 0; i < n; i++)
    total += strlen (parts[i]) + 1;
  t = malloc (total);
  if (t == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    {
      size_t plen = strlen (parts[i]);

      memcpy (t + o, parts[i], plen);
      o += plen;
      t[o++] = i + 1 < n ? '\n' : '\0';
    }
  if (len != NULL)
    *len = total - 1;
  return t;
}

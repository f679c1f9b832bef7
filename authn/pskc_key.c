/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * pskc_key.c -- judging one PSKC KeyPackage once the file's MACs are known
 * good: which OTP it is (algorithm URI and HMAC suite), how many digits,
 * its counter, time step and drift, its validity dates, and whether its
 * secret is long enough.  Each refusal is a stable reason for the
 * operator's report; the first one found wins.
 *
 * Decrypted secrets are handed to the key (and cleansed by
 * authn_pskc_free); every intermediate buffer is cleansed here.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "authn/pskc_int.h"

#define MAX_DRIFT 1000000L

static const struct {
  const char *uri;
  enum authn_otp_type type;
} otp_algorithms[] = {
  { "urn:ietf:params:xml:ns:keyprov:pskc:hotp", AUTHN_OTP_HOTP },
  { "urn:ietf:params:xml:ns:keyprov:pskc#hotp", AUTHN_OTP_HOTP },
  { "http://www.ietf.org/keyprov/pskc#hotp", AUTHN_OTP_HOTP },
  { "urn:ietf:params:xml:ns:keyprov:pskc:totp", AUTHN_OTP_TOTP },
  { "urn:ietf:params:xml:ns:keyprov:pskc#totp", AUTHN_OTP_TOTP },
  { "http://www.ietf.org/keyprov/pskc#totp", AUTHN_OTP_TOTP },
};

/* Set the reason unless one is set already. */
static void
refuse (struct authn_pskc_key *k, bool cond, const char *reason)
{
  if (cond && k->reject == NULL)
    k->reject = reason;
}

/* ------------------------------------------------------ algorithm */

static bool
otp_type_of (const char *uri, enum authn_otp_type *type)
{
  for (size_t i = 0; uri != NULL
       && i < sizeof otp_algorithms / sizeof *otp_algorithms; i++)
    if (strcmp (uri, otp_algorithms[i].uri) == 0)
      {
        *type = otp_algorithms[i].type;
        return true;
      }
  return false;
}

/* "HMAC-SHA256", "hmac-sha-256", "SHA256" ... -> SHA256; absent: SHA1. */
static bool
hash_of (const char *suite, enum authn_otp_alg *alg)
{
  char norm[16];
  size_t n = 0;

  *alg = AUTHN_OTP_SHA1;
  if (suite == NULL || suite[0] == '\0')
    return true;
  if (strncasecmp (suite, "HMAC", 4) == 0)
    suite += 4;
  for (; *suite != '\0' && n + 1 < sizeof norm; suite++)
    if (*suite != '-' && *suite != '_' && *suite != ' ')
      norm[n++] = (char) (*suite >= 'a' && *suite <= 'z' ? *suite - 32
                                                           : *suite);
  norm[n] = '\0';
  return *suite == '\0' && authn_otp_alg_parse (norm, alg) == 0;
}

/* ResponseFormat: DECIMAL, 6 or 8 digits (6 when not given). */
static bool
digits_of (const struct pskc_raw *r, unsigned int *digits)
{
  *digits = 6;
  if (r->encoding != NULL && strcmp (r->encoding, "DECIMAL") != 0)
    return false;
  if (r->length == NULL)
    return true;
  if (strcmp (r->length, "6") != 0 && strcmp (r->length, "8") != 0)
    return false;
  *digits = (unsigned int) (r->length[0] - '0');
  return true;
}

/* ---------------------------------------------------------- dates */

/* @a n decimal digits at @a s. */
static bool
num (const char *s, int n, int *out)
{
  *out = 0;
  for (int i = 0; i < n; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return false;
      *out = *out * 10 + (s[i] - '0');
    }
  return true;
}

/* The zone of an xs:dateTime: "", "Z" or (+|-)hh:mm, in seconds east. */
static bool
zone (const char *s, long *east)
{
  int h, m;

  *east = 0;
  if (*s == '\0' || strcmp (s, "Z") == 0)
    return true;
  if ((*s != '+' && *s != '-') || !num (s + 1, 2, &h) || s[3] != ':'
      || !num (s + 4, 2, &m) || s[6] != '\0' || h > 14 || m > 59)
    return false;
  *east = (*s == '-' ? -1L : 1L) * (h * 3600L + m * 60L);
  return true;
}

/* xs:dateTime: YYYY-MM-DDThh:mm:ss[.fff][Z|(+|-)hh:mm]; no zone is UTC. */
static bool
parse_date (const char *s, time_t *out)
{
  int y, mo, d, h, mi, sec;
  long east;
  struct tm tm;

  if (strlen (s) < 19 || !num (s, 4, &y) || s[4] != '-'
      || !num (s + 5, 2, &mo) || s[7] != '-' || !num (s + 8, 2, &d)
      || s[10] != 'T' || !num (s + 11, 2, &h) || s[13] != ':'
      || !num (s + 14, 2, &mi) || s[16] != ':' || !num (s + 17, 2, &sec))
    return false;
  s += 19;
  if (*s == '.')
    for (s++; *s >= '0' && *s <= '9'; s++)
      ;
  if (!zone (s, &east) || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31
      || h > 23 || mi > 59 || sec > 60)
    return false;
  tm = (struct tm) { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                     .tm_hour = h, .tm_min = mi, .tm_sec = sec };
  *out = timegm (&tm) - east;
  return true;
}

/* valid_from: the latest StartDate; valid_until: the earliest ExpiryDate. */
static bool
dates_of (const struct pskc_raw *r, struct authn_pskc_key *k)
{
  for (int i = 0; i < 4; i++)
    {
      time_t t;

      if (r->dates[i] == NULL)
        continue;
      if (!parse_date (r->dates[i], &t))
        return false;
      if (i % 2 == 0 && t > k->valid_from)
        k->valid_from = t;
      if (i % 2 == 1 && (k->valid_until == 0 || t < k->valid_until))
        k->valid_until = t;
    }
  return true;
}

/* --------------------------------------------------------- values */

/* The bytes of a value: decrypted, or the base64 of a PlainValue.
   @return 0, -1 (undecodable: bad), -2 (out of memory) */
static int
value_bytes (const struct pskc_value *v, const struct pskc_keys *k,
             uint8_t **out, size_t *len)
{
  long n;

  *out = NULL;
  *len = 0;
  if (v->encrypted)
    return pskc_value_decrypt (k, v, out, len) == 0 ? 0 : -1;
  n = pskc_b64_decode (v->plain, out);
  if (n < 0)
    return -1;
  *len = (size_t) n;
  return 0;
}

/* An integer value: decimal text, or big-endian bytes when encrypted.
   Absent: @a dflt.  @return false when out of lo..hi or undecodable. */
static bool
int_value (const struct pskc_value *v, const struct pskc_keys *k,
           int64_t lo, int64_t hi, int64_t dflt, int64_t *out)
{
  uint8_t *b;
  size_t len;
  uint64_t u = 0;
  char *end;

  *out = dflt;
  if (!v->present)
    return true;
  if (v->bad)
    return false;
  if (!v->encrypted)
    {
      long long x = strtoll (v->plain, &end, 10);

      *out = x;
      return v->plain[0] != '\0' && *end == '\0' && x >= lo && x <= hi;
    }
  if (value_bytes (v, k, &b, &len) != 0 || len == 0 || len > 8)
    {
      free (b);
      return false;
    }
  for (size_t i = 0; i < len; i++)
    u = u << 8 | b[i];
  free (b);
  *out = (int64_t) u;
  return u <= (uint64_t) INT64_MAX && *out >= lo && *out <= hi;
}

static void
judge_secret (const struct pskc_raw *r, const struct pskc_keys *k,
              struct authn_pskc_key *key)
{
  uint8_t *s = NULL;
  size_t len = 0;

  refuse (key, !r->secret.present, "missing_secret");
  refuse (key, r->secret.bad, "malformed_key");
  if (key->reject != NULL)
    return;
  if (value_bytes (&r->secret, k, &s, &len) != 0)
    refuse (key, true, r->secret.encrypted ? "decryption_failed"
                                           : "malformed_key");
  refuse (key, len < AUTHN_PSKC_MIN_SECRET, "secret_too_short");
  refuse (key, len > AUTHN_PSKC_MAX_SECRET, "secret_too_long");
  if (key->reject == NULL)
    {
      key->secret = s;
      key->secret_len = len;
      return;
    }
  if (s != NULL)
    OPENSSL_cleanse (s, len);
  free (s);
}

/* ---------------------------------------------------------- judge */

static bool
serial_ok (const char *s)
{
  size_t n = strlen (s);

  if (n == 0 || n > AUTHN_PSKC_SERIAL_MAX)
    return false;
  for (; *s != '\0'; s++)
    if (*s < ' ' || *s > '~')
      return false;
  return true;
}

static bool
manufacturer_ok (const char *s)
{
  if (strlen (s) > 128)
    return false;
  for (; *s != '\0'; s++)
    if ((unsigned char) *s < ' ' || *s == 0x7f)
      return false;
  return true;
}

static void
judge_params (const struct pskc_raw *r, const struct pskc_keys *k,
              struct authn_pskc_key *key)
{
  int64_t counter, period, drift;

  refuse (key, !int_value (&r->counter, k, 0, INT64_MAX / 2, 0, &counter)
          || !int_value (&r->interval, k, 1, 3600, 30, &period)
          || !int_value (&r->drift, k, -MAX_DRIFT, MAX_DRIFT, 0, &drift),
          "invalid_parameters");
  if (key->reject != NULL)
    return;
  key->counter = counter;
  key->otp.period = key->otp.type == AUTHN_OTP_TOTP ? (unsigned int) period
                                                     : 0;
  key->drift = key->otp.type == AUTHN_OTP_TOTP ? (int32_t) drift : 0;
  refuse (key, !authn_otp_params_valid (&key->otp), "invalid_parameters");
}

void
pskc_judge (const struct pskc_raw *r, const struct pskc_keys *k, time_t now,
            struct authn_pskc_key *key)
{
  refuse (key, r->dup || r->no_key, "malformed_key");
  refuse (key, !otp_type_of (r->alg_uri, &key->otp.type)
          || !hash_of (r->suite, &key->otp.alg), "unsupported_algorithm");
  refuse (key, key->serial == NULL, "missing_serial");
  refuse (key, key->serial != NULL && !serial_ok (key->serial),
          "invalid_serial");
  refuse (key, !manufacturer_ok (key->manufacturer), "malformed_key");
  refuse (key, !digits_of (r, &key->otp.digits), "unsupported_format");
  refuse (key, !dates_of (r, key), "invalid_date");
  refuse (key, key->valid_until != 0 && key->valid_until <= now, "expired");
  judge_params (r, k, key);
  judge_secret (r, k, key);
}

/* ------------------------------------------------------ duplicates */

static int
by_token (const void *a, const void *b)
{
  const struct authn_pskc_key *x = *(const struct authn_pskc_key *const *) a;
  const struct authn_pskc_key *y = *(const struct authn_pskc_key *const *) b;
  int c = strcmp (x->serial, y->serial);

  if (c == 0)
    c = strcmp (x->manufacturer, y->manufacturer);
  if (c == 0)
    c = x->position < y->position ? -1 : x->position > y->position;
  return c;
}

int
pskc_mark_duplicates (struct authn_pskc *p)
{
  struct authn_pskc_key **v = calloc (p->nkeys + 1, sizeof *v);
  size_t n = 0;

  if (v == NULL)
    return -1;
  for (size_t i = 0; i < p->nkeys; i++)
    if (p->keys[i].reject == NULL)
      v[n++] = &p->keys[i];
  qsort (v, n, sizeof *v, by_token);
  for (size_t i = 1; i < n; i++)
    if (strcmp (v[i]->serial, v[i - 1]->serial) == 0
        && strcmp (v[i]->manufacturer, v[i - 1]->manufacturer) == 0)
      {
        v[i]->reject = "duplicate_in_file";
        OPENSSL_cleanse (v[i]->secret, v[i]->secret_len);
        free (v[i]->secret);
        v[i]->secret = NULL;
        v[i]->secret_len = 0;
      }
  free (v);
  return 0;
}

/* ----------------------------------------------------------- misc */

void
pskc_raw_clear (struct pskc_raw *r)
{
  free (r->alg_uri);
  free (r->suite);
  free (r->encoding);
  free (r->length);
  for (int i = 0; i < 4; i++)
    free (r->dates[i]);
  pskc_value_clear (&r->secret);
  pskc_value_clear (&r->counter);
  pskc_value_clear (&r->interval);
  pskc_value_clear (&r->drift);
  memset (r, 0, sizeof *r);
}

static const struct {
  const char *reason, *message;
} statuses[] = {
  [AUTHN_PSKC_OK] = { "ok", "the container was read" },
  [AUTHN_PSKC_MALFORMED] = { "malformed_pskc", "the body is not a "
    "well-formed PSKC 1.0 KeyContainer (RFC 6030), or it has a document "
    "type declaration" },
  [AUTHN_PSKC_KEY_REQUIRED] = { "key_required", "the container is "
    "encrypted: give the pre-shared key (Guichet-PSKC-Key / --key) or, for "
    "a password-derived key, the password (Guichet-PSKC-Password / "
    "--password)" },
  [AUTHN_PSKC_KEY_MISMATCH] = { "key_mismatch", "the key's length does not "
    "fit the container's cipher" },
  [AUTHN_PSKC_UNSUPPORTED] = { "unsupported_encryption", "the container "
    "uses an encryption, MAC or key derivation algorithm Guichet does not "
    "support (AES-CBC, HMAC-SHA1/SHA2 and PBKDF2 are)" },
  [AUTHN_PSKC_MAC_MISSING] = { "mac_missing", "an encrypted value has no "
    "ValueMAC (or the container no MACMethod/MACKey): refused" },
  [AUTHN_PSKC_MAC_INVALID] = { "mac_invalid", "a ValueMAC does not verify "
    "(wrong key or altered file): nothing was imported" },
  [AUTHN_PSKC_DECRYPTION_FAILED] = { "decryption_failed", "the MAC key "
    "does not decrypt: wrong key or password" },
  [AUTHN_PSKC_TOO_MANY_TAGS] = { "too_many_elements", "the file has more "
    "than 2,000,000 tags: split it (it was not parsed)" },
  [AUTHN_PSKC_NOMEM] = { "internal", "out of memory" },
};

const char *
authn_pskc_status_reason (enum authn_pskc_status st)
{
  return (unsigned int) st <= AUTHN_PSKC_NOMEM ? statuses[st].reason
                                               : "internal";
}

const char *
authn_pskc_status_message (enum authn_pskc_status st)
{
  return (unsigned int) st <= AUTHN_PSKC_NOMEM ? statuses[st].message
                                               : "internal error";
}

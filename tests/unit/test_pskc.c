/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_pskc.c -- unit tests of the PSKC (RFC 6030) reader: the RFC's own
 * examples (Figures 2, 3, 5, 6 and 7, in tests/unit/data/pskc/) with their
 * expected secrets written out, files written by python-pskc (an
 * independent implementation: AES-256-CBC, HMAC-SHA256, PBKDF2-SHA256),
 * PBKDF2 against RFC 6070 and the RFC 6030 §6.2 derived key, and every
 * refusal: no key, wrong key, wrong password, a flipped MAC or ciphertext
 * byte, a missing MAC, short secrets, expired policies, malformed XML and
 * XXE / entity-expansion attempts.  libpskc reads the plain figures as a
 * second opinion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <pskc/pskc.h>

#include "authn/pskc.h"
#include "authn/pskc_int.h"
#include "core/crypto.h"
#include "guichet_build.h"

#define RFC_SECRET "3132333435363738393031323334353637383930"
#define FIG6_KEY "12345678901234567890123456789012"
#define PY_KEY "000102030405060708090a0b0c0d0e0f" \
               "101112131415161718191a1b1c1d1e1f"
#define PY_PASSWORD "correct horse battery staple"

/* 2024-01-01T00:00:00Z: the tests' "now". */
static const time_t NOW = 1704067200;

/* ------------------------------------------------------------ helpers */

/* The file's bytes, malloc'd and NUL-terminated. */
static char *
load (const char *name, size_t *len)
{
  char path[512];
  FILE *f;
  char *buf = malloc (1 << 20);

  snprintf (path, sizeof path, "%s/tests/unit/data/pskc/%s",
            GUICHET_SOURCE_DIR, name);
  f = fopen (path, "rb");
  assert_non_null (f);
  assert_non_null (buf);
  *len = fread (buf, 1, (1 << 20) - 1, f);
  buf[*len] = '\0';
  fclose (f);
  return buf;
}

/* Replace the first @a from in @a buf (as made by load) by @a to. */
static void
edit (char *buf, size_t *len, const char *from, const char *to)
{
  char *p = strstr (buf, from);
  size_t fl = strlen (from), tl = strlen (to);

  assert_non_null (p);
  assert_true (*len + tl < (1 << 20) + fl);
  memmove (p + tl, p + fl, strlen (p + fl) + 1);
  memcpy (p, to, tl);
  *len = *len + tl - fl;
}

static enum authn_pskc_status
read_buf (const char *buf, size_t len, const char *key_hex,
          const char *password, struct authn_pskc **out)
{
  uint8_t key[64];
  struct authn_pskc_unlock u = { .password = password };
  long n;

  if (key_hex != NULL)
    {
      n = core_hex_decode (key_hex, key, sizeof key);
      assert_true (n > 0);
      u.key = key;
      u.key_len = (size_t) n;
    }
  return authn_pskc_read (buf, len, &u, NOW, out);
}

static enum authn_pskc_status
read_file (const char *name, const char *key_hex, const char *password,
           struct authn_pskc **out)
{
  size_t len;
  char *buf = load (name, &len);
  enum authn_pskc_status st = read_buf (buf, len, key_hex, password, out);

  free (buf);
  return st;
}

static void
assert_secret (const struct authn_pskc_key *k, const char *hex)
{
  char got[2 * AUTHN_PSKC_MAX_SECRET + 1];

  assert_null (k->reject);
  assert_non_null (k->secret);
  core_hex_encode (k->secret, k->secret_len, got);
  assert_string_equal (got, hex);
}

/* The single key of an RFC figure with DeviceInfo 987654321. */
static void
assert_rfc_hotp (const struct authn_pskc *p, const char *manufacturer)
{
  const struct authn_pskc_key *k = &p->keys[0];

  assert_secret (k, RFC_SECRET);
  assert_string_equal (k->serial, "987654321");
  assert_string_equal (k->manufacturer, manufacturer);
  assert_int_equal (k->otp.type, AUTHN_OTP_HOTP);
  assert_int_equal (k->otp.alg, AUTHN_OTP_SHA1);
  assert_int_equal (k->otp.digits, 8);
  assert_int_equal (k->counter, 0);
  assert_int_equal (k->valid_until, 0);
}

/* --------------------------------------------------- plain RFC figures */

/* libpskc's reading of a plain file: the secret as hex. */
static void
libpskc_secret (const char *name, char *hex)
{
  size_t len, slen = 0;
  char *buf = load (name, &len);
  pskc_t *c;
  const char *s;

  assert_int_equal (pskc_global_init (), PSKC_OK);
  assert_int_equal (pskc_init (&c), PSKC_OK);
  assert_int_equal (pskc_parse_from_memory (c, len, buf), PSKC_OK);
  s = pskc_get_key_data_secret (pskc_get_keypackage (c, 0), &slen);
  assert_non_null (s);
  core_hex_encode (s, slen, hex);
  pskc_done (c);
  free (buf);
}

static void
test_figure2_basic (void **state)
{
  struct authn_pskc *p;
  char hex[64];
  size_t len;
  char *buf;

  (void) state;
  libpskc_secret ("rfc6030-figure2.xml", hex);
  assert_string_equal (hex, "31323334");          /* "1234" */
  assert_int_equal (read_file ("rfc6030-figure2.xml", NULL, NULL, &p),
                    AUTHN_PSKC_OK);
  assert_int_equal (p->nkeys, 1);
  assert_string_equal (p->keys[0].reject, "missing_serial");
  assert_null (p->keys[0].secret);
  assert_false (p->encrypted);
  authn_pskc_free (p);
  /* with a serial, the 32-bit secret is what is refused */
  buf = load ("rfc6030-figure2.xml", &len);
  edit (buf, &len, "<Issuer>Issuer-A</Issuer>", "");
  edit (buf, &len, "<KeyPackage>",
        "<KeyPackage><DeviceInfo><SerialNo>1</SerialNo></DeviceInfo>");
  assert_int_equal (read_buf (buf, len, NULL, NULL, &p), AUTHN_PSKC_OK);
  assert_string_equal (p->keys[0].reject, "secret_too_short");
  authn_pskc_free (p);
  free (buf);
}

static void
test_figure3_supplementary (void **state)
{
  struct authn_pskc *p;
  char hex[64];

  (void) state;
  libpskc_secret ("rfc6030-figure3.xml", hex);
  assert_string_equal (hex, RFC_SECRET);
  assert_int_equal (read_file ("rfc6030-figure3.xml", FIG6_KEY, "ignored",
                               &p), AUTHN_PSKC_OK);
  assert_int_equal (p->nkeys, 1);
  assert_int_equal (p->keys[0].position, 1);
  assert_rfc_hotp (p, "Manufacturer");
  authn_pskc_free (p);
}

static void
test_figure5_pin_key (void **state)
{
  struct authn_pskc *p;

  (void) state;
  assert_int_equal (read_file ("rfc6030-figure5.xml", NULL, NULL, &p),
                    AUTHN_PSKC_OK);
  assert_int_equal (p->nkeys, 2);
  assert_rfc_hotp (p, "Manufacturer");
  assert_string_equal (p->keys[1].reject, "unsupported_algorithm");
  assert_null (p->keys[1].secret);
  authn_pskc_free (p);
}

/* ------------------------------------------- §6.1 pre-shared AES key */

static void
test_figure6_aes128_hmac_sha1 (void **state)
{
  struct authn_pskc *p;

  (void) state;
  assert_int_equal (read_file ("rfc6030-figure6.xml", FIG6_KEY, NULL, &p),
                    AUTHN_PSKC_OK);
  assert_true (p->encrypted);
  assert_int_equal (p->nkeys, 1);
  assert_rfc_hotp (p, "Manufacturer");
  authn_pskc_free (p);
}

static void
expect_status (const char *name, const char *key, const char *password,
               enum authn_pskc_status want)
{
  struct authn_pskc *p = (struct authn_pskc *) 1;

  assert_int_equal (read_file (name, key, password, &p), want);
  assert_null (p);
}

static void
test_figure6_wrong_keys (void **state)
{
  struct authn_pskc *p = NULL;
  enum authn_pskc_status st;

  (void) state;
  expect_status ("rfc6030-figure6.xml", NULL, NULL, AUTHN_PSKC_KEY_REQUIRED);
  expect_status ("rfc6030-figure6.xml", NULL, "qwerty",
                 AUTHN_PSKC_KEY_REQUIRED);
  expect_status ("rfc6030-figure6.xml", FIG6_KEY FIG6_KEY, NULL,
                 AUTHN_PSKC_KEY_MISMATCH);
  /* a wrong key of the right length: the MAC key decrypts to garbage
     (bad padding) or to a wrong MAC key (every MAC fails) */
  st = read_file ("rfc6030-figure6.xml", "00112233445566778899aabbccddeeff",
                  NULL, &p);
  assert_true (st == AUTHN_PSKC_DECRYPTION_FAILED
               || st == AUTHN_PSKC_MAC_INVALID);
  if (p != NULL)
    {
      assert_string_equal (p->keys[0].reject, "mac_invalid");
      assert_null (p->keys[0].secret);
    }
  authn_pskc_free (p);
}

/* Flip one character of @a what in figure 6: the MAC no longer verifies,
   and nothing is decrypted. */
static void
expect_mac_failure (const char *from, const char *to)
{
  struct authn_pskc *p;
  size_t len;
  char *buf = load ("rfc6030-figure6.xml", &len);

  edit (buf, &len, from, to);
  assert_int_equal (read_buf (buf, len, FIG6_KEY, NULL, &p),
                    AUTHN_PSKC_MAC_INVALID);
  assert_int_equal (p->nkeys, 1);
  assert_string_equal (p->keys[0].reject, "mac_invalid");
  assert_null (p->keys[0].secret);
  assert_string_equal (p->keys[0].serial, "987654321");
  authn_pskc_free (p);
  free (buf);
}

static void
test_figure6_tampered (void **state)
{
  (void) state;
  expect_mac_failure ("Su+NvtQfmvfJzF6bmQiJqoLRExc=",
                      "Tu+NvtQfmvfJzF6bmQiJqoLRExc=");   /* the MAC */
  expect_mac_failure ("D+cIHItlB3Wra1DU", "D+cIIItlB3Wra1DU"); /* ciphertext */
  expect_mac_failure ("AAECAwQF", "AQECAwQF");              /* the IV */
  expect_mac_failure ("Su+NvtQfmvfJzF6bmQiJqoLRExc=",
                      "Su+NvtQfmvfJzF6bmQiJqoLR");         /* truncated */
  expect_mac_failure ("Su+NvtQfmvfJzF6bmQiJqoLRExc=",
                      "not base64!");
}

static void
test_figure6_mac_missing_or_unsupported (void **state)
{
  struct authn_pskc *p = NULL;
  size_t len;
  char *buf = load ("rfc6030-figure6.xml", &len);

  (void) state;
  edit (buf, &len, "<ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=", "<!--");
  edit (buf, &len, "</ValueMAC>", "-->");
  assert_int_equal (read_buf (buf, len, FIG6_KEY, NULL, &p),
                    AUTHN_PSKC_MAC_MISSING);
  free (buf);
  buf = load ("rfc6030-figure6.xml", &len);
  edit (buf, &len, "<MACMethod", "<Ignored  ");
  edit (buf, &len, "</MACMethod>", "</Ignored  >");
  assert_int_equal (read_buf (buf, len, FIG6_KEY, NULL, &p),
                    AUTHN_PSKC_MAC_MISSING);
  free (buf);
  buf = load ("rfc6030-figure6.xml", &len);
  edit (buf, &len, "xmldsig#hmac-sha1", "xmldsig#hmac-md5_");
  assert_int_equal (read_buf (buf, len, FIG6_KEY, NULL, &p),
                    AUTHN_PSKC_UNSUPPORTED);
  free (buf);
  buf = load ("rfc6030-figure6.xml", &len);
  edit (buf, &len, "xmlenc#aes128-cbc\"/>\n                        <xenc:C",
        "xmlenc#kw-aes128\"/>\n                        <xenc:C");
  assert_int_equal (read_buf (buf, len, FIG6_KEY, NULL, &p),
                    AUTHN_PSKC_UNSUPPORTED);
  assert_null (p);
  free (buf);
}

/* ---------------------------------------------------- §6.2 PBKDF2 */

static void
expect_pbkdf2 (const char *pw, const char *salt, unsigned long iter,
               const char *prf, size_t len, const char *want)
{
  uint8_t out[64];
  char hex[129];

  assert_int_equal (authn_pskc_pbkdf2 (pw, (const uint8_t *) salt,
                                       strlen (salt), iter, prf, out, len),
                    0);
  core_hex_encode (out, len, hex);
  assert_string_equal (hex, want);
}

static void
test_pbkdf2_vectors (void **state)
{
  static const uint8_t fig7_salt[] = { 0x12, 0x3e, 0xff, 0x3c, 0x4a, 0x72,
                                       0x12, 0x9c };  /* Ej7/PEpyEpw= */
  uint8_t out[32];
  char hex[65];

  (void) state;
  /* RFC 6070 (PBKDF2-HMAC-SHA1) */
  expect_pbkdf2 ("password", "salt", 1, NULL, 20,
                 "0c60c80f961f0e71f3a9b524af6012062fe037a6");
  expect_pbkdf2 ("password", "salt", 2, "", 20,
                 "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
  expect_pbkdf2 ("password", "salt", 4096,
                 "http://www.w3.org/2000/09/xmldsig#hmac-sha1", 20,
                 "4b007901b765489abead49d926f721d065a429c1");
  /* PBKDF2-HMAC-SHA256, c = 1, dkLen = 32 (RFC 7914 §11 lists c = 1 too) */
  expect_pbkdf2 ("password", "salt", 1,
                 "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", 32,
                 "120fb6cffcf8b32c43e7225256c4f837"
                 "a86548c92ccc35480805987cb70be17b");
  /* RFC 6030 §6.2: "qwerty", 1000 iterations, 16 bytes */
  assert_int_equal (authn_pskc_pbkdf2 ("qwerty", fig7_salt, sizeof fig7_salt,
                                       1000, NULL, out, 16), 0);
  core_hex_encode (out, 16, hex);
  assert_string_equal (hex, "651e63cd57008476af1ff6422cd02e41");
  /* refusals */
  assert_int_equal (authn_pskc_pbkdf2 ("p", fig7_salt, 8, 1,
                                       "urn:example:hmac-md5", out, 16), -1);
  assert_int_equal (authn_pskc_pbkdf2 ("p", fig7_salt, 8, 0, NULL, out, 16),
                    -1);
  assert_int_equal (authn_pskc_pbkdf2 ("p", fig7_salt, 8,
                                       AUTHN_PSKC_MAX_ITERATIONS + 1, NULL,
                                       out, 16), -1);
}

static void
test_figure7_password (void **state)
{
  struct authn_pskc *p = NULL;
  enum authn_pskc_status st;

  (void) state;
  assert_int_equal (read_file ("rfc6030-figure7.xml", NULL, "qwerty", &p),
                    AUTHN_PSKC_OK);
  assert_rfc_hotp (p, "TokenVendorAcme");
  authn_pskc_free (p);
  p = NULL;
  expect_status ("rfc6030-figure7.xml", NULL, NULL, AUTHN_PSKC_KEY_REQUIRED);
  expect_status ("rfc6030-figure7.xml", FIG6_KEY, NULL,
                 AUTHN_PSKC_KEY_REQUIRED);
  st = read_file ("rfc6030-figure7.xml", NULL, "Qwerty", &p);
  assert_true (st == AUTHN_PSKC_DECRYPTION_FAILED
               || st == AUTHN_PSKC_MAC_INVALID);
  if (p != NULL)
    assert_null (p->keys[0].secret);
  authn_pskc_free (p);
}

/* ------------------------------------------------- python-pskc files */

static void
assert_python_pskc_keys (const struct authn_pskc *p)
{
  const struct authn_pskc_key *t = &p->keys[0], *h = &p->keys[1];

  assert_int_equal (p->nkeys, 2);
  assert_secret (t, "3132333435363738393031323334353637383930"
                    "313233343536373839303132");
  assert_string_equal (t->serial, "GT-TOTP-0001");
  assert_string_equal (t->manufacturer, "Guichet Test");
  assert_int_equal (t->otp.type, AUTHN_OTP_TOTP);
  assert_int_equal (t->otp.alg, AUTHN_OTP_SHA256);
  assert_int_equal (t->otp.digits, 8);
  assert_int_equal (t->otp.period, 60);
  assert_int_equal (t->drift, -2);
  assert_int_equal (t->valid_from, 1577836800);   /* 2020-01-01 */
  assert_int_equal (t->valid_until, 4102358400);  /* 2099-12-31 */
  assert_secret (h, "00112233445566778899aabbccddeeff");
  assert_string_equal (h->serial, "GT-HOTP-0002");
  assert_int_equal (h->otp.type, AUTHN_OTP_HOTP);
  assert_int_equal (h->otp.alg, AUTHN_OTP_SHA1);
  assert_int_equal (h->otp.digits, 6);
  assert_int_equal (h->counter, 42);
}

static void
test_python_pskc_aes256 (void **state)
{
  struct authn_pskc *p;

  (void) state;
  assert_int_equal (read_file ("python-pskc-aes256-sha256.xml", PY_KEY, NULL,
                               &p), AUTHN_PSKC_OK);
  assert_python_pskc_keys (p);
  authn_pskc_free (p);
  expect_status ("python-pskc-aes256-sha256.xml", FIG6_KEY, NULL,
                 AUTHN_PSKC_KEY_MISMATCH);
}

static void
test_python_pskc_pbkdf2 (void **state)
{
  struct authn_pskc *p;

  (void) state;
  assert_int_equal (read_file ("python-pskc-pbkdf2-sha256.xml", NULL,
                               PY_PASSWORD, &p), AUTHN_PSKC_OK);
  assert_python_pskc_keys (p);
  authn_pskc_free (p);
}

/* ------------------------------------------------------ per-key policy */

static void
test_policy_refusals (void **state)
{
  static const char *const want[] = {
    NULL, "secret_too_short", "expired", "unsupported_algorithm",
    "missing_secret", "unsupported_format", "malformed_key",
    "missing_serial", "duplicate_in_file", "invalid_date",
  };
  struct authn_pskc *p;
  const struct authn_pskc_key *g;

  (void) state;
  assert_int_equal (read_file ("policy.xml", NULL, NULL, &p), AUTHN_PSKC_OK);
  assert_int_equal (p->nkeys, sizeof want / sizeof *want);
  for (size_t i = 0; i < p->nkeys; i++)
    {
      if (want[i] == NULL)
        assert_null (p->keys[i].reject);
      else
        assert_string_equal (p->keys[i].reject, want[i]);
      if (want[i] != NULL)
        assert_null (p->keys[i].secret);
    }
  g = &p->keys[0];
  assert_secret (g, RFC_SECRET);
  assert_int_equal (g->otp.type, AUTHN_OTP_TOTP);
  assert_int_equal (g->otp.alg, AUTHN_OTP_SHA512);
  assert_int_equal (g->otp.digits, 6);
  assert_int_equal (g->otp.period, 30);
  assert_int_equal (g->drift, 1);
  assert_int_equal (g->valid_from, 1622548800);   /* 2021-06-01T12:00Z */
  assert_int_equal (g->valid_until, 4070905200);  /* 2098-12-31T23:00Z */
  assert_string_equal (p->keys[7].manufacturer, "");
  authn_pskc_free (p);
}

/* ------------------------------------------------ malformed and XXE */

static void
expect_malformed (const char *xml)
{
  struct authn_pskc *p = (struct authn_pskc *) 1;

  assert_int_equal (authn_pskc_read (xml, strlen (xml), NULL, NOW, &p),
                    AUTHN_PSKC_MALFORMED);
  assert_null (p);
}

static void
test_malformed (void **state)
{
  (void) state;
  expect_status ("malformed.xml", NULL, NULL, AUTHN_PSKC_MALFORMED);
  expect_malformed ("");
  expect_malformed ("not xml at all");
  expect_malformed ("<KeyContainer Version=\"1.0\"/>");     /* no namespace */
  expect_malformed ("<KeyContainer xmlns=\"urn:example\"/>");
  expect_malformed ("<Other xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\"/>");
  expect_malformed ("<KeyContainer Version=\"2.0\" "
                    "xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\"/>");
  /* an undeclared entity is a well-formedness error */
  expect_malformed ("<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:"
                    "xml:ns:keyprov:pskc\">&xxe;</KeyContainer>");
  /* two EncryptionKeys: which one? */
  expect_malformed ("<KeyContainer xmlns=\"urn:ietf:params:xml:ns:keyprov:"
                    "pskc\"><EncryptionKey/><EncryptionKey/></KeyContainer>");
}

static void
test_xxe_refused (void **state)
{
  xmlExternalEntityLoader loader;

  (void) state;
  expect_status ("xxe.xml", NULL, NULL, AUTHN_PSKC_MALFORMED);
  expect_status ("xxe-dtd.xml", NULL, NULL, AUTHN_PSKC_MALFORMED);
  expect_status ("billion-laughs.xml", NULL, NULL, AUTHN_PSKC_MALFORMED);
  /* the DOCTYPE is refused in any encoding libxml2 understands */
  expect_malformed ("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                    "<!DOCTYPE KeyContainer><KeyContainer xmlns=\"urn:ietf:"
                    "params:xml:ns:keyprov:pskc\"/>");
  /* and behind that, the process's entity loader fetches nothing */
  loader = xmlGetExternalEntityLoader ();
  assert_non_null (loader);
  assert_null (loader ("file:///etc/passwd", NULL, NULL));
}

static void
test_empty_container (void **state)
{
  struct authn_pskc *p;
  const char *xml = "<KeyContainer Version=\"1.0\" "
                    "xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\"/>";

  (void) state;
  /* RFC 6030: a KeyContainer holds one KeyPackage or more */
  assert_int_equal (authn_pskc_read (xml, strlen (xml), NULL, NOW, &p),
                    AUTHN_PSKC_MALFORMED);
  assert_null (p);
}

static void
test_too_many_tags (void **state)
{
  struct authn_pskc *p = NULL;
  const char *head = "<KeyContainer Version=\"1.0\" "
                     "xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">";
  size_t n = AUTHN_PSKC_MAX_TAGS, hl = strlen (head);
  char *xml = malloc (hl + 4 * n + 32);

  (void) state;
  assert_non_null (xml);
  memcpy (xml, head, hl);
  for (size_t i = 0; i < n; i++)
    memcpy (xml + hl + 4 * i, "<a/>", 4);
  strcpy (xml + hl + 4 * n, "</KeyContainer>");
  /* head + n tags + the end tag: one over; refused before the parse */
  assert_int_equal (authn_pskc_read (xml, strlen (xml), NULL, NOW, &p),
                    AUTHN_PSKC_TOO_MANY_TAGS);
  assert_null (p);
  assert_string_equal (authn_pskc_status_reason (AUTHN_PSKC_TOO_MANY_TAGS),
                       "too_many_elements");
  free (xml);
}

static void
test_base64 (void **state)
{
  uint8_t *out;

  (void) state;
  assert_int_equal (pskc_b64_decode (" TWFu\n TWE=\tTQ== ", &out), -1);
  assert_int_equal (pskc_b64_decode (" TWFu\n TWE=", &out), 5);
  assert_memory_equal (out, "ManMa", 5);
  free (out);
  assert_int_equal (pskc_b64_decode ("TQ==", &out), 1);
  free (out);
  assert_int_equal (pskc_b64_decode ("TQ=", &out), -1);
  assert_int_equal (pskc_b64_decode ("T===", &out), -1);
  assert_int_equal (pskc_b64_decode ("TW-u", &out), -1);
  assert_int_equal (pskc_b64_decode ("TW=u", &out), -1);
  assert_null (out);
  assert_int_equal (authn_pskc_status_reason (AUTHN_PSKC_MAC_INVALID)[0],
                    'm');
  assert_string_equal (authn_pskc_status_reason (AUTHN_PSKC_MAC_INVALID),
                       "mac_invalid");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_figure2_basic),
    cmocka_unit_test (test_figure3_supplementary),
    cmocka_unit_test (test_figure5_pin_key),
    cmocka_unit_test (test_figure6_aes128_hmac_sha1),
    cmocka_unit_test (test_figure6_wrong_keys),
    cmocka_unit_test (test_figure6_tampered),
    cmocka_unit_test (test_figure6_mac_missing_or_unsupported),
    cmocka_unit_test (test_pbkdf2_vectors),
    cmocka_unit_test (test_figure7_password),
    cmocka_unit_test (test_python_pskc_aes256),
    cmocka_unit_test (test_python_pskc_pbkdf2),
    cmocka_unit_test (test_policy_refusals),
    cmocka_unit_test (test_malformed),
    cmocka_unit_test (test_xxe_refused),
    cmocka_unit_test (test_empty_container),
    cmocka_unit_test (test_too_many_tags),
    cmocka_unit_test (test_base64),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}

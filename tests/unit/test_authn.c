/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_authn.c -- unit tests of authn/'s pure parts: OTP generation against
 * the RFC 4226 and RFC 6238 vectors and API.md's device vector, the
 * constant-time search, the PIN policy and the Argon2id round trip.
 *
 * The SQL (lockout, replay, audit) is exercised by the API tests against a
 * real PostgreSQL; nothing here needs a database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <argon2.h>

#include "authn/otp.h"
#include "authn/pin.h"
#include "core/config.h"
#include "core/crypto.h"

static const uint8_t seed20[] = "12345678901234567890";
static const uint8_t seed32[] = "12345678901234567890123456789012";
static const uint8_t seed64[] =
  "1234567890123456789012345678901234567890123456789012345678901234";

/* ------------------------------------------------------------------ OTP */

static void
expect_code (const struct authn_otp_params *p, const uint8_t *seed,
             size_t len, int64_t t, const char *want)
{
  char got[AUTHN_OTP_MAX_DIGITS + 1];

  assert_int_equal (authn_otp_generate (p, seed, len, t, got), 0);
  assert_string_equal (got, want);
}

/* RFC 4226 Appendix D. */
static void
test_hotp_rfc4226 (void **state)
{
  static const char *const want[10] = {
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
  };
  struct authn_otp_params p = { .type = AUTHN_OTP_HOTP,
                                .alg = AUTHN_OTP_SHA1, .digits = 6 };

  (void) state;
  for (int64_t c = 0; c < 10; c++)
    expect_code (&p, seed20, 20, c, want[c]);
}

/* RFC 6238 Appendix B: time, then SHA1, SHA256, SHA512 (8 digits, 30 s). */
static const struct {
  time_t t;
  const char *sha1, *sha256, *sha512;
} rfc6238[] = {
  { 59LL, "94287082", "46119246", "90693936" },
  { 1111111109LL, "07081804", "68084774", "25091201" },
  { 1111111111LL, "14050471", "67062674", "99943326" },
  { 1234567890LL, "89005924", "91819424", "93441116" },
  { 2000000000LL, "69279037", "90698825", "38618901" },
  { 20000000000LL, "65353130", "77737706", "47863826" },
};

static void
test_totp_rfc6238 (void **state)
{
  struct authn_otp_params p = { .type = AUTHN_OTP_TOTP, .digits = 8,
                                .period = 30 };

  (void) state;
  for (size_t i = 0; i < sizeof rfc6238 / sizeof rfc6238[0]; i++)
    {
      int64_t step;

      p.alg = AUTHN_OTP_SHA1;
      step = authn_otp_step (&p, rfc6238[i].t);
      assert_int_equal (step, rfc6238[i].t / 30);
      expect_code (&p, seed20, 20, step, rfc6238[i].sha1);
      p.alg = AUTHN_OTP_SHA256;
      expect_code (&p, seed32, 32, step, rfc6238[i].sha256);
      p.alg = AUTHN_OTP_SHA512;
      expect_code (&p, seed64, 64, step, rfc6238[i].sha512);
    }
}

/* API.md "Test vectors": the seed a phone derives, TOTP SHA256/6/30. */
static void
test_totp_api_vector (void **state)
{
  uint8_t seed[32];
  struct authn_otp_params p = { .type = AUTHN_OTP_TOTP,
                                .alg = AUTHN_OTP_SHA256, .digits = 6,
                                .period = 30 };

  (void) state;
  assert_int_equal (core_hex_decode ("960db2141599b9e176cec0c480ed5e99"
                                     "4d244ca16c1ff5753d637a5c06989408",
                                     seed, sizeof seed), 32);
  expect_code (&p, seed, 32, authn_otp_step (&p, 59), "185491");
  expect_code (&p, seed, 32, authn_otp_step (&p, 1111111109), "946648");
  expect_code (&p, seed, 32, authn_otp_step (&p, 2000000000), "855248");
}

/* HOTP with SHA-256/512 goes through oath_totp_generate2 with T = counter;
   expected values from Python's hmac module. */
static void
test_hotp_sha2 (void **state)
{
  struct authn_otp_params p = { .type = AUTHN_OTP_HOTP,
                                .alg = AUTHN_OTP_SHA256, .digits = 6 };

  (void) state;
  expect_code (&p, seed20, 20, 0, "875740");
  expect_code (&p, seed20, 20, 1, "247374");
  expect_code (&p, seed20, 20, 2, "254785");
  p.alg = AUTHN_OTP_SHA512;
  p.digits = 8;
  expect_code (&p, seed20, 20, 0, "04125165");
  expect_code (&p, seed20, 20, 1, "69342147");
  expect_code (&p, seed20, 20, 2, "71730102");
}

static void
test_otp_params (void **state)
{
  enum authn_otp_alg alg;
  enum authn_otp_type type;
  struct authn_otp_params p = { .type = AUTHN_OTP_TOTP,
                                .alg = AUTHN_OTP_SHA1, .digits = 7,
                                .period = 30 };
  char out[AUTHN_OTP_MAX_DIGITS + 1];

  (void) state;
  assert_int_equal (authn_otp_alg_parse ("SHA256", &alg), 0);
  assert_int_equal (alg, AUTHN_OTP_SHA256);
  assert_string_equal (authn_otp_alg_name (AUTHN_OTP_SHA512), "SHA512");
  assert_string_equal (authn_otp_alg_name (AUTHN_OTP_SHA1), "SHA1");
  assert_int_equal (authn_otp_alg_parse ("sha1", &alg), -1);
  assert_int_equal (authn_otp_alg_parse ("MD5", &alg), -1);
  assert_int_equal (authn_otp_alg_parse (NULL, &alg), -1);
  assert_int_equal (authn_otp_type_parse ("hotp", &type), 0);
  assert_int_equal (type, AUTHN_OTP_HOTP);
  assert_string_equal (authn_otp_type_name (AUTHN_OTP_TOTP), "totp");
  assert_int_equal (authn_otp_type_parse ("TOTP", &type), -1);
  assert_false (authn_otp_params_valid (&p));          /* 7 digits */
  assert_int_equal (authn_otp_generate (&p, seed20, 20, 0, out), -1);
  p.digits = 6;
  p.period = 0;
  assert_false (authn_otp_params_valid (&p));
  p.period = 30;
  assert_true (authn_otp_params_valid (&p));
  assert_int_equal (authn_otp_generate (&p, seed20, 20, -1, out), -1);
  assert_int_equal (authn_otp_step (&p, -5), -1);
}

static void
test_code_format (void **state)
{
  (void) state;
  assert_true (authn_otp_code_well_formed ("012345", 6));
  assert_true (authn_otp_code_well_formed ("01234567", 8));
  assert_false (authn_otp_code_well_formed ("01234567", 6));
  assert_false (authn_otp_code_well_formed ("01234", 6));
  assert_false (authn_otp_code_well_formed ("01234a", 6));
  assert_false (authn_otp_code_well_formed (" 12345", 6));
  assert_false (authn_otp_code_well_formed ("12345 ", 6));
  assert_false (authn_otp_code_well_formed ("", 6));
  assert_false (authn_otp_code_well_formed (NULL, 6));
  assert_false (authn_otp_code_well_formed ("１２３４５６", 6));
}

static void
test_search (void **state)
{
  struct authn_otp_params p = { .type = AUTHN_OTP_HOTP,
                                .alg = AUTHN_OTP_SHA1, .digits = 6 };
  int64_t m = -1;

  (void) state;
  assert_int_equal (authn_otp_search (&p, seed20, 20, "359152", 0, 9, &m),
                    AUTHN_OTP_MATCH);
  assert_int_equal (m, 2);
  assert_int_equal (authn_otp_search (&p, seed20, 20, "520489", -5, 9, &m),
                    AUTHN_OTP_MATCH);
  assert_int_equal (m, 9);
  /* below the window (already spent) and past it */
  assert_int_equal (authn_otp_search (&p, seed20, 20, "359152", 3, 9, &m),
                    AUTHN_OTP_NO_MATCH);
  assert_int_equal (authn_otp_search (&p, seed20, 20, "520489", 0, 8, &m),
                    AUTHN_OTP_NO_MATCH);
  assert_int_equal (authn_otp_search (&p, seed20, 20, "000000", 0, 9, &m),
                    AUTHN_OTP_NO_MATCH);
  assert_int_equal (authn_otp_search (&p, seed20, 20, "359152", 5, 4, &m),
                    AUTHN_OTP_NO_MATCH);
  /* malformed codes are refused before any HMAC */
  assert_int_equal (authn_otp_search (&p, seed20, 20, "35915", 0, 9, &m),
                    AUTHN_OTP_MALFORMED);
  assert_int_equal (authn_otp_search (&p, seed20, 20, "3591520", 0, 9, &m),
                    AUTHN_OTP_MALFORMED);
  assert_int_equal (authn_otp_search (&p, seed20, 20, "35915x", 0, 9, &m),
                    AUTHN_OTP_MALFORMED);
  assert_int_equal (authn_otp_search (&p, seed20, 20, NULL, 0, 9, &m),
                    AUTHN_OTP_MALFORMED);
  assert_int_equal (authn_otp_search (&p, seed20, 20, "359152", 0,
                                      AUTHN_OTP_MAX_SPAN, &m),
                    AUTHN_OTP_ERROR);
  assert_int_equal (authn_otp_search (&p, NULL, 0, "359152", 0, 9, &m),
                    AUTHN_OTP_ERROR);
}

static void
test_search_totp_window (void **state)
{
  struct authn_otp_params p = { .type = AUTHN_OTP_TOTP,
                                .alg = AUTHN_OTP_SHA1, .digits = 8,
                                .period = 30 };
  int64_t step = authn_otp_step (&p, 1111111111), m = 0;

  (void) state;
  /* 1111111109 and 1111111111 are steps 37037036 and 37037037 */
  assert_int_equal (authn_otp_search (&p, seed20, 20, "07081804", step - 1,
                                      step + 1, &m), AUTHN_OTP_MATCH);
  assert_int_equal (m, step - 1);
  assert_int_equal (authn_otp_search (&p, seed20, 20, "14050471", step - 1,
                                      step + 1, &m), AUTHN_OTP_MATCH);
  assert_int_equal (m, step);
  assert_int_equal (authn_otp_search (&p, seed20, 20, "1405047", step - 1,
                                      step + 1, &m), AUTHN_OTP_MALFORMED);
}

static void
test_search_pair (void **state)
{
  struct authn_otp_params p = { .type = AUTHN_OTP_HOTP,
                                .alg = AUTHN_OTP_SHA1, .digits = 6 };
  int64_t m = -1;

  (void) state;
  assert_int_equal (authn_otp_search_pair (&p, seed20, 20, "969429",
                                           "338314", 0, 9, &m),
                    AUTHN_OTP_MATCH);
  assert_int_equal (m, 3);
  /* the second code may sit just past hi */
  assert_int_equal (authn_otp_search_pair (&p, seed20, 20, "969429",
                                           "338314", 3, 3, &m),
                    AUTHN_OTP_MATCH);
  assert_int_equal (m, 3);
  /* not consecutive, reversed, or the first below the window */
  assert_int_equal (authn_otp_search_pair (&p, seed20, 20, "969429",
                                           "254676", 0, 9, &m),
                    AUTHN_OTP_NO_MATCH);
  assert_int_equal (authn_otp_search_pair (&p, seed20, 20, "338314",
                                           "969429", 0, 9, &m),
                    AUTHN_OTP_NO_MATCH);
  assert_int_equal (authn_otp_search_pair (&p, seed20, 20, "969429",
                                           "338314", 4, 9, &m),
                    AUTHN_OTP_NO_MATCH);
  assert_int_equal (authn_otp_search_pair (&p, seed20, 20, "969429",
                                           "33831", 0, 9, &m),
                    AUTHN_OTP_MALFORMED);
}

/* ---------------------------------------------------------- PIN policy */

/* The reasons as one comma-separated string, "" if accepted. */
static char *
reasons_of (const char *pin, const char *birth_date)
{
  json_t *r = authn_pin_policy (pin, birth_date);
  char buf[256] = "";
  size_t i;
  json_t *v;

  assert_non_null (r);
  json_array_foreach (r, i, v)
    {
      if (i > 0)
        strcat (buf, ",");
      strcat (buf, json_string_value (v));
    }
  json_decref (r);
  return strdup (buf);
}

static void
expect_reasons (const char *pin, const char *birth_date, const char *want)
{
  char *got = reasons_of (pin, birth_date);

  if (strcmp (got, want) != 0)
    print_error ("PIN %s: got [%s], want [%s]\n", pin, got, want);
  assert_string_equal (got, want);
  free (got);
}

static void
test_pin_policy_reasons (void **state)
{
  (void) state;
  expect_reasons ("12345", NULL, "too_short");
  expect_reasons ("", NULL, "too_short");
  expect_reasons (NULL, NULL, "too_short");
  expect_reasons ("4807", NULL, "too_short");
  expect_reasons ("4807139264573", NULL, "too_long");
  expect_reasons ("48a713", NULL, "not_digits");
  expect_reasons ("480 713", NULL, "not_digits");
  expect_reasons ("48071x", NULL, "not_digits");
  expect_reasons ("abc", NULL, "too_short,not_digits");
  expect_reasons ("000000", NULL, "repeated");
  expect_reasons ("99999999", NULL, "repeated");
  expect_reasons ("123456", NULL, "sequential");
  expect_reasons ("654321", NULL, "sequential");
  expect_reasons ("234567", NULL, "sequential");
  expect_reasons ("012345", NULL, "sequential");
  expect_reasons ("3456789", NULL, "sequential");
  expect_reasons ("98765432", NULL, "sequential");
  expect_reasons ("123456789012", NULL, "");   /* wraps: not a run */
}

static void
test_pin_policy_common (void **state)
{
  static const char *const common[] = {
    "121212", "112233", "123123", "696969", "159753", "147258", "123321",
    "131313", "100200", "520520", "11223344", "789456", "102030",
    "000001", "12341234", "909090", "456456",
  };

  (void) state;
  for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
    expect_reasons (common[i], NULL, "common");
  /* 1234567 and 12345678 are on the list but a run first */
  expect_reasons ("1234567", NULL, "sequential");
  expect_reasons ("12345678", NULL, "sequential");
}

static void
test_pin_policy_accepts (void **state)
{
  (void) state;
  expect_reasons ("480713", NULL, "");
  expect_reasons ("9051728", NULL, "");
  expect_reasons ("83920571", NULL, "");
  expect_reasons ("480713926457", NULL, "");
  expect_reasons ("480713", "1974-08-12", "");
}

static void
test_pin_policy_birth_date (void **state)
{
  static const char *const forms[] = {
    "120874", "740812", "12081974", "19740812", "081274", "08121974",
  };

  (void) state;
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
    {
      expect_reasons (forms[i], "1974-08-12", "birth_date");
      expect_reasons (forms[i], NULL, "");
      expect_reasons (forms[i], "1974-8-12", "");      /* malformed: ignored */
    }
  expect_reasons ("120875", "1974-08-12", "");
  /* a date that is also a pattern gets both reasons */
  expect_reasons ("121212", "2012-12-12", "common,birth_date");
}

/* ------------------------------------------------------------- Argon2id */

static struct core_config test_cfg = {
  .lockout_attempts = 5, .totp_window = 1, .hotp_lookahead = 10,
  .resync_window = 1000, .argon2_m_kib = 64, .argon2_t = 1, .argon2_p = 1,
};

static void
test_pin_hash_round_trip (void **state)
{
  char *h1 = NULL, *h2 = NULL;

  (void) state;
  core_cfg = &test_cfg;
  assert_int_equal (authn_pin_hash ("480713", &h1), 0);
  assert_non_null (h1);
  assert_true (strncmp (h1, "$argon2id$v=19$m=64,t=1,p=1$", 28) == 0);
  assert_int_equal (authn_pin_verify (h1, "480713"), 1);
  assert_int_equal (authn_pin_verify (h1, "480714"), 0);
  /* exactly as received: extensions and prefixes fail */
  assert_int_equal (authn_pin_verify (h1, "4807139"), 0);
  assert_int_equal (authn_pin_verify (h1, "48071"), 0);
  assert_int_equal (authn_pin_verify (h1, ""), 0);
  assert_int_equal (authn_pin_verify (h1, " 480713"), 0);
  assert_int_equal (authn_pin_verify (h1, NULL), 0);
  /* fresh salt each time */
  assert_int_equal (authn_pin_hash ("480713", &h2), 0);
  assert_string_not_equal (h1, h2);
  assert_int_equal (authn_pin_verify (h2, "480713"), 1);
  /* a hash made at other parameters still verifies */
  test_cfg.argon2_m_kib = 128;
  test_cfg.argon2_t = 2;
  free (h2);
  assert_int_equal (authn_pin_hash ("9051728", &h2), 0);
  assert_true (strncmp (h2, "$argon2id$v=19$m=128,t=2,p=1$", 29) == 0);
  assert_int_equal (authn_pin_verify (h1, "480713"), 1);
  assert_int_equal (authn_pin_verify (h2, "9051728"), 1);
  /* an unusable hash is our problem, not a mismatch */
  assert_int_equal (authn_pin_verify ("$argon2id$garbage", "480713"), -1);
  assert_int_equal (authn_pin_verify (NULL, "480713"), -1);
  free (h1);
  free (h2);
  test_cfg.argon2_m_kib = 64;
  test_cfg.argon2_t = 1;
}

/* Verification parses the encoded hash itself (to hash in the slot's own
   memory): whatever libargon2 writes must verify exactly as libargon2's
   own argon2id_verify would, and anything else must not. */
static void
test_pin_verify_libargon2_encodings (void **state)
{
  static const struct {
    uint32_t t, m, p;
    size_t salt_len, hash_len;
  } cases[] = {
    { 1, 64, 1, 16, 32 }, { 2, 256, 2, 8, 16 }, { 3, 96, 1, 32, 64 },
    { 1, 32, 4, 17, 33 },
  };
  uint8_t salt[32];
  char enc[256], bad[256];
  const char *pin = "9051728";

  (void) state;
  core_cfg = &test_cfg;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      for (size_t j = 0; j < sizeof salt; j++)
        salt[j] = (uint8_t) (0x5a ^ (i * 31 + j));
      assert_int_equal (argon2id_hash_encoded (cases[i].t, cases[i].m,
                                               cases[i].p, pin, strlen (pin),
                                               salt, cases[i].salt_len,
                                               cases[i].hash_len, enc,
                                               sizeof enc), ARGON2_OK);
      assert_int_equal (authn_pin_verify (enc, pin), 1);
      assert_int_equal (argon2id_verify (enc, pin, strlen (pin)), ARGON2_OK);
      assert_int_equal (authn_pin_verify (enc, "9051729"), 0);
      /* one hash character changed: a mismatch, not an error */
      strcpy (bad, enc);
      bad[strlen (bad) - 2] = bad[strlen (bad) - 2] == 'A' ? 'B' : 'A';
      assert_int_equal (authn_pin_verify (bad, pin), 0);
    }
  /* malformed: neither accepted nor a mismatch */
  static const char *const malformed[] = {
    "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$",
    "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA=="
    "$m8O2+v0eZgE/l3xh6vbm7cz1TiyC8m0Gk8b3MXahIqw",
    "$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA"
    "$m8O2+v0eZgE/l3xh6vbm7cz1TiyC8m0Gk8b3MXahIqw",
    "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2Fsd-"
    "$m8O2+v0eZgE/l3xh6vbm7cz1TiyC8m0Gk8b3MXahIqw",
    "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA"
    "$m8O2+v0eZgE/l3xh6vbm7cz1TiyC8m0Gk8b3MXahIqw$",
    "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA"
    "$m8O2+v0eZgE/l3xh6vbm7cz1TiyC8m0Gk8b3MXahIqw",
    "$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA"
    "$m8O2+v0eZgE/l3xh6vbm7cz1TiyC8m0Gk8b3MXahIqw",
    "",
  };
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
    assert_int_equal (authn_pin_verify (malformed[i], pin), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_hotp_rfc4226),
    cmocka_unit_test (test_totp_rfc6238),
    cmocka_unit_test (test_totp_api_vector),
    cmocka_unit_test (test_hotp_sha2),
    cmocka_unit_test (test_otp_params),
    cmocka_unit_test (test_code_format),
    cmocka_unit_test (test_search),
    cmocka_unit_test (test_search_totp_window),
    cmocka_unit_test (test_search_pair),
    cmocka_unit_test (test_pin_policy_reasons),
    cmocka_unit_test (test_pin_policy_common),
    cmocka_unit_test (test_pin_policy_accepts),
    cmocka_unit_test (test_pin_policy_birth_date),
    cmocka_unit_test (test_pin_hash_round_trip),
    cmocka_unit_test (test_pin_verify_libargon2_encodings),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_transaction.c -- unit tests of authn/'s transactions: T and the
 * offline response code against API.md's test vector, and the field checks
 * a new transaction passes (ISO 4217 minor units, amounts, IBANs, payee
 * names, return-URL origins), with the edge cases written out.
 *
 * Creating and deciding transactions is SQL: tests/api/test_transactions.py
 * exercises it against a real PostgreSQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "authn/device.h"
#include "authn/transaction.h"
#include "core/crypto.h"

/* API.md, "Test vectors (normative)". */
#define V_SEED "960db2141599b9e176cec0c480ed5e994d244ca16c1ff5753d637a5c06989408"
#define V_T "guichet-tx-v1\ntx_test_0001\n125.00\nEUR\nACME SARL\n" \
            "FR7630006000011234567890189\nn0nce"
#define V_CODE "09148292"

static void
test_t_and_response_code (void **state)
{
  uint8_t seed[32];
  char code[9];
  char *t;

  (void) state;
  assert_int_equal (core_hex_decode (V_SEED, seed, sizeof seed), 32);
  t = authn_tx_data ("tx_test_0001", "125.00", "EUR", "ACME SARL",
                     "FR7630006000011234567890189", "n0nce");
  assert_non_null (t);
  assert_string_equal (t, V_T);
  assert_int_equal (strlen (t), strlen (V_T));     /* no trailing newline */
  assert_int_equal (authn_tx_response_code (seed, sizeof seed, t, code), 0);
  assert_string_equal (code, V_CODE);
  free (t);

  /* One character of the payee or the amount changes the code. */
  t = authn_tx_data ("tx_test_0001", "125.00", "EUR", "ACME SARM",
                     "FR7630006000011234567890189", "n0nce");
  assert_int_equal (authn_tx_response_code (seed, sizeof seed, t, code), 0);
  assert_string_not_equal (code, V_CODE);
  free (t);
  t = authn_tx_data ("tx_test_0001", "125.01", "EUR", "ACME SARL",
                     "FR7630006000011234567890189", "n0nce");
  assert_int_equal (authn_tx_response_code (seed, sizeof seed, t, code), 0);
  assert_string_not_equal (code, V_CODE);
  free (t);
}

static void
test_currencies (void **state)
{
  (void) state;
  assert_int_equal (authn_tx_currency_minor_units ("EUR"), 2);
  assert_int_equal (authn_tx_currency_minor_units ("JPY"), 0);
  assert_int_equal (authn_tx_currency_minor_units ("BHD"), 3);
  assert_int_equal (authn_tx_currency_minor_units ("KWD"), 3);
  assert_int_equal (authn_tx_currency_minor_units ("CHF"), 2);
  assert_int_equal (authn_tx_currency_minor_units ("AED"), 2);   /* first */
  assert_int_equal (authn_tx_currency_minor_units ("ZWG"), 2);   /* last */
  assert_int_equal (authn_tx_currency_minor_units ("eur"), -1);
  assert_int_equal (authn_tx_currency_minor_units ("XAU"), -1);  /* gold */
  assert_int_equal (authn_tx_currency_minor_units ("CLF"), -1);  /* a fund */
  assert_int_equal (authn_tx_currency_minor_units ("XTS"), -1);  /* testing */
  assert_int_equal (authn_tx_currency_minor_units ("HRK"), -1);  /* withdrawn */
  assert_int_equal (authn_tx_currency_minor_units ("EURO"), -1);
  assert_int_equal (authn_tx_currency_minor_units (""), -1);
  assert_int_equal (authn_tx_currency_minor_units (NULL), -1);
}

static void
test_amounts (void **state)
{
  (void) state;
  assert_true (authn_tx_amount_valid ("125.00", 2));
  assert_true (authn_tx_amount_valid ("0.01", 2));
  assert_true (authn_tx_amount_valid ("125", 0));           /* JPY */
  assert_true (authn_tx_amount_valid ("1.250", 3));         /* BHD */
  assert_true (authn_tx_amount_valid ("9999999999999.99", 2));  /* 15 digits */
  assert_false (authn_tx_amount_valid ("99999999999999.99", 2)); /* 16 */
  assert_false (authn_tx_amount_valid ("125.00", 0));       /* JPY with decimals */
  assert_false (authn_tx_amount_valid ("125.0", 0));
  assert_false (authn_tx_amount_valid ("1.25", 3));         /* BHD, two */
  assert_false (authn_tx_amount_valid ("1.2500", 3));
  assert_false (authn_tx_amount_valid ("125", 2));          /* EUR, none */
  assert_false (authn_tx_amount_valid ("125.5", 2));
  assert_false (authn_tx_amount_valid ("0.00", 2));         /* not positive */
  assert_false (authn_tx_amount_valid ("0", 0));
  assert_false (authn_tx_amount_valid ("-1.00", 2));
  assert_false (authn_tx_amount_valid ("+1.00", 2));
  assert_false (authn_tx_amount_valid ("01.00", 2));        /* leading zero */
  assert_false (authn_tx_amount_valid ("1,00", 2));
  assert_false (authn_tx_amount_valid ("1e2", 0));
  assert_false (authn_tx_amount_valid (".50", 2));
  assert_false (authn_tx_amount_valid ("1.", 0));
  assert_false (authn_tx_amount_valid (" 1.00", 2));
  assert_false (authn_tx_amount_valid ("1.00 ", 2));
  assert_false (authn_tx_amount_valid ("١.٠٠", 2));         /* Arabic digits */
  assert_false (authn_tx_amount_valid ("", 2));
  assert_false (authn_tx_amount_valid (NULL, 2));
}

static void
test_ibans (void **state)
{
  (void) state;
  assert_true (authn_tx_iban_valid ("FR7630006000011234567890189"));
  assert_true (authn_tx_iban_valid ("DE89370400440532013000"));
  assert_true (authn_tx_iban_valid ("GB29NWBK60161331926819"));
  assert_true (authn_tx_iban_valid ("NO9386011117947"));               /* shortest */
  assert_true (authn_tx_iban_valid ("LC55HEMM000100010012001200023015")); /* 32 */
  assert_true (authn_tx_iban_valid ("BE68539007547034"));
  /* one digit off: mod 97 */
  assert_false (authn_tx_iban_valid ("FR7630006000011234567890188"));
  /* two digits swapped */
  assert_false (authn_tx_iban_valid ("FR7630006000011234567809189"));
  /* spaces and lower case: sent without spaces, in capitals */
  assert_false (authn_tx_iban_valid ("FR76 3000 6000 0112 3456 7890 189"));
  assert_false (authn_tx_iban_valid ("fr7630006000011234567890189"));
  assert_false (authn_tx_iban_valid ("FR7630006000011234567890189 "));
  /* wrong length for the country (valid mod 97 elsewhere) */
  assert_false (authn_tx_iban_valid ("FR763000600001123456789018"));
  assert_false (authn_tx_iban_valid ("DE8937040044053201300"));
  /* unknown country; check digits 00, 01, 99 */
  assert_false (authn_tx_iban_valid ("XX89370400440532013000"));
  assert_false (authn_tx_iban_valid ("DE00370400440532013000"));
  assert_false (authn_tx_iban_valid ("DE99370400440532013000"));
  assert_false (authn_tx_iban_valid ("DE8937040044053201300-"));
  assert_false (authn_tx_iban_valid (""));
  assert_false (authn_tx_iban_valid (NULL));
}

static void
test_payee_names (void **state)
{
  char name[300];

  (void) state;
  assert_true (authn_tx_payee_name_valid ("ACME SARL"));
  assert_true (authn_tx_payee_name_valid ("Café Müller & Söhne GmbH"));
  assert_true (authn_tx_payee_name_valid ("Ελληνικά Τρόφιμα ΑΕ"));
  assert_true (authn_tx_payee_name_valid ("شركة المثال"));  /* RTL letters */
  assert_true (authn_tx_payee_name_valid ("株式会社サンプル"));
  assert_true (authn_tx_payee_name_valid ("X"));
  /* 70 characters, two bytes each: the limit counts characters */
  name[0] = '\0';
  for (int i = 0; i < 70; i++)
    strcat (name, "é");
  assert_true (authn_tx_payee_name_valid (name));
  strcat (name, "é");                                    /* 71 */
  assert_false (authn_tx_payee_name_valid (name));
  memset (name, 'A', 71);
  name[71] = '\0';
  assert_false (authn_tx_payee_name_valid (name));
  name[70] = '\0';
  assert_true (authn_tx_payee_name_valid (name));
  /* bidi: RLO, LRO, PDF, isolates, marks */
  assert_false (authn_tx_payee_name_valid ("ACME \xE2\x80\xAE" "LRAS"));  /* RLO */
  assert_false (authn_tx_payee_name_valid ("ACME \xE2\x80\xAD" "SARL"));  /* LRO */
  assert_false (authn_tx_payee_name_valid ("ACME\xE2\x80\xAC"));          /* PDF */
  assert_false (authn_tx_payee_name_valid ("ACME \xE2\x81\xA7" "X"));     /* RLI */
  assert_false (authn_tx_payee_name_valid ("ACME \xE2\x80\x8F" "X"));     /* RLM */
  assert_false (authn_tx_payee_name_valid ("ACME \xD8\x9C" "X"));         /* ALM */
  /* zero-width and invisible */
  assert_false (authn_tx_payee_name_valid ("AC\xE2\x80\x8B" "ME"));       /* ZWSP */
  assert_false (authn_tx_payee_name_valid ("AC\xE2\x80\x8D" "ME"));       /* ZWJ */
  assert_false (authn_tx_payee_name_valid ("AC\xE2\x81\xA0" "ME"));       /* WJ */
  assert_false (authn_tx_payee_name_valid ("\xEF\xBB\xBF" "ACME"));       /* BOM */
  assert_false (authn_tx_payee_name_valid ("AC\xC2\xAD" "ME"));           /* SHY */
  assert_false (authn_tx_payee_name_valid ("ACME\xF3\xA0\x80\x81"));      /* tag */
  assert_false (authn_tx_payee_name_valid ("ACME\xEF\xB8\x8F"));          /* VS16 */
  assert_false (authn_tx_payee_name_valid ("ACME\xE3\x85\xA4"));          /* filler */
  assert_false (authn_tx_payee_name_valid ("ACME\xEE\x80\x80"));          /* PUA */
  /* controls, other spaces, and spaces at the ends or doubled */
  assert_false (authn_tx_payee_name_valid ("ACME\nSARL"));
  assert_false (authn_tx_payee_name_valid ("ACME\tSARL"));
  assert_false (authn_tx_payee_name_valid ("ACME\x7F"));
  assert_false (authn_tx_payee_name_valid ("ACME\xC2\x85"));              /* NEL */
  assert_false (authn_tx_payee_name_valid ("ACME\xC2\xA0SARL"));          /* NBSP */
  assert_false (authn_tx_payee_name_valid ("ACME\xE2\x80\xA8SARL"));      /* LS */
  assert_false (authn_tx_payee_name_valid (" ACME"));
  assert_false (authn_tx_payee_name_valid ("ACME "));
  assert_false (authn_tx_payee_name_valid ("ACME  SARL"));
  assert_false (authn_tx_payee_name_valid (" "));
  assert_false (authn_tx_payee_name_valid (""));
  assert_false (authn_tx_payee_name_valid (NULL));
  /* invalid UTF-8: overlong, surrogate, truncated, stray continuation */
  assert_false (authn_tx_payee_name_valid ("AC\xC0\xAF" "ME"));
  assert_false (authn_tx_payee_name_valid ("AC\xED\xA0\x80" "ME"));
  assert_false (authn_tx_payee_name_valid ("ACME\xC3"));
  assert_false (authn_tx_payee_name_valid ("AC\x80ME"));
  assert_false (authn_tx_payee_name_valid ("AC\xF4\x90\x80\x80" "ME"));
}

static void
expect_origin (const char *text, bool whole, const char *want)
{
  char out[AUTHN_TX_ORIGIN_MAX];

  if (NULL == want)
  {
    assert_int_equal (authn_tx_origin (text, whole, out), -1);
    return;
  }
  assert_int_equal (authn_tx_origin (text, whole, out), 0);
  assert_string_equal (out, want);
}

static void
test_origins (void **state)
{
  (void) state;
  expect_origin ("https://shop.example", false, "https://shop.example");
  expect_origin ("HTTPS://Shop.Example/", false, "https://shop.example");
  expect_origin ("https://shop.example:443", false, "https://shop.example");
  expect_origin ("https://shop.example:8443", false, "https://shop.example:8443");
  expect_origin ("http://127.0.0.1:8080", false, "http://127.0.0.1:8080");
  expect_origin ("http://[::1]:8080", false, "http://[::1]:8080");
  expect_origin ("https://shop.example/path", false, NULL);
  expect_origin ("https://shop.example?x=1", false, NULL);
  expect_origin ("ftp://shop.example", false, NULL);
  expect_origin ("javascript:alert(1)", false, NULL);
  expect_origin ("https://", false, NULL);
  expect_origin ("https://shop.example:0", false, NULL);
  expect_origin ("https://shop.example:65536", false, NULL);
  expect_origin ("https://shop.example:", false, NULL);
  expect_origin ("https://-shop.example", false, NULL);
  expect_origin ("https://shop..example", false, NULL);
  expect_origin ("https://shop_example.com", false, NULL);

  expect_origin ("https://shop.example/done?order=42", true,
                 "https://shop.example");
  expect_origin ("https://Shop.Example:443/r", true, "https://shop.example");
  expect_origin ("https://shop.example", true, "https://shop.example");
  expect_origin ("https://shop.example?x", true, "https://shop.example");
  /* tricks that would send the payer elsewhere */
  expect_origin ("https://shop.example@evil.example/", true, NULL);
  expect_origin ("https://shop.example\\@evil.example/", true, NULL);
  expect_origin ("https://evil.example#@shop.example", true, NULL);
  expect_origin ("https://shop.example/done#frag", true, NULL);
  expect_origin ("https://shop.example/a b", true, NULL);
  expect_origin ("https://shop.exämple/", true, NULL);
  expect_origin ("//shop.example/done", true, NULL);
  expect_origin ("/done", true, NULL);
  expect_origin ("https:shop.example", true, NULL);
  expect_origin ("https://shop.example\t/", true, NULL);

  assert_true (authn_tx_origin_registrable ("https://shop.example"));
  assert_true (authn_tx_origin_registrable ("http://127.0.0.1:8080"));
  assert_true (authn_tx_origin_registrable ("http://localhost"));
  assert_true (authn_tx_origin_registrable ("http://[::1]:3000"));
  assert_false (authn_tx_origin_registrable ("http://shop.example"));
  assert_false (authn_tx_origin_registrable ("http://127.0.0.1.evil.example"));
  assert_false (authn_tx_origin_registrable ("http://localhost.evil.example"));
}

static void
expect_reasons (json_t *got, const char *const *want, size_t n)
{
  assert_non_null (got);
  assert_int_equal (json_array_size (got), n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal (json_string_value (json_array_get (got, i)), want[i]);
  json_decref (got);
}

static void
test_check_fields (void **state)
{
  const char *const all[] = { "amount_format", "currency_unknown",
                              "iban_invalid", "payee_name_invalid",
                              "return_url_invalid" };
  const char *const jpy[] = { "amount_format" };
  const char *const cur[] = { "currency_unknown" };

  (void) state;
  expect_reasons (authn_tx_check_fields ("125.00", "EUR", "ACME SARL",
                                         "FR7630006000011234567890189",
                                         "https://shop.example/r"), NULL, 0);
  expect_reasons (authn_tx_check_fields ("125", "JPY", "ACME SARL",
                                         "FR7630006000011234567890189",
                                         NULL), NULL, 0);
  expect_reasons (authn_tx_check_fields ("125.00", "JPY", "ACME SARL",
                                         "FR7630006000011234567890189",
                                         NULL), jpy, 1);
  /* an unknown currency does not make a well-shaped amount wrong */
  expect_reasons (authn_tx_check_fields ("125.00", "XXX", "ACME SARL",
                                         "FR7630006000011234567890189",
                                         NULL), cur, 1);
  expect_reasons (authn_tx_check_fields ("-1", "EURO", "ACME\xE2\x80\xAE",
                                         "FR76", "ftp://x"), all, 5);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_t_and_response_code),
    cmocka_unit_test (test_currencies),
    cmocka_unit_test (test_amounts),
    cmocka_unit_test (test_ibans),
    cmocka_unit_test (test_payee_names),
    cmocka_unit_test (test_origins),
    cmocka_unit_test (test_check_fields),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}

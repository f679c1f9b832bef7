/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_passkey.c -- unit tests of the passkey ceremony checks
 * (authn/passkey_ceremony.c, passkey_cbor.c) on fixtures made by an
 * independent authenticator (tests/unit/data/passkeys/make_fixtures.py,
 * Python `cryptography` and its own CBOR): good registrations in every
 * format and algorithm we accept, good assertions, and each way a
 * ceremony can be wrong -- origin, rp id, type, another challenge, UP or
 * UV missing, bad signatures, a counter going backwards -- plus the CBOR
 * measurer's limits and the relying party configuration check.
 *
 * No database: single use of a challenge, the lockout and flagging are the
 * API tests' (tests/api/test_passkeys.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#if __has_include("guichet_build.h")
#include "guichet_build.h"
#endif
#include "authn/passkey_int.h"

static json_t *fx;
static struct authn_passkey_rp rp;
static uint8_t challenge[PK_CHALLENGE_LEN];

/* ------------------------------------------------------------ helpers */

static int
setup (void **state)
{
  char path[512];
  json_error_t err;

  (void) state;
  snprintf (path, sizeof path, "%s/tests/unit/data/passkeys/fixtures.json",
            GUICHET_SOURCE_DIR);
  fx = json_load_file (path, 0, &err);
  if (fx == NULL)
    return -1;
  rp = (struct authn_passkey_rp) {
    .id = json_string_value (json_object_get (fx, "rp_id")),
    .name = "Bank", .attestation = "none",
    .origins = { json_string_value (json_object_get (fx, "origin")) },
    .n_origins = 1,
  };
  return core_hex_decode (json_string_value (json_object_get (fx, "challenge")),
                          challenge, sizeof challenge) == 32 ? 0 : -1;
}

static int
teardown (void **state)
{
  (void) state;
  json_decref (fx);
  return 0;
}

/* A base64url member of fixture @a o, decoded (malloc'd). */
static uint8_t *
bytes (json_t *o, const char *name, size_t *len)
{
  uint8_t *out = NULL;
  long n = core_b64url_decode (json_string_value (json_object_get (o, name)),
                               &out);

  assert_true (n > 0);
  *len = (size_t) n;
  return out;
}

static json_t *
fixture (const char *kind, const char *name)
{
  json_t *o = json_object_get (json_object_get (fx, kind), name);

  assert_non_null (o);
  return o;
}

/* Run the registration checks in the server's order on fixture @a name:
   @return the first failure (or PK_OK, with @a out filled). */
static enum pk_check
registration (const char *name, struct pk_attested *out)
{
  json_t *o = fixture ("registrations", name);
  size_t cdj_len, ao_len;
  uint8_t *cdj = bytes (o, "client_data", &cdj_len);
  uint8_t *ao = bytes (o, "attestation_object", &ao_len);
  uint8_t cdh[CORE_SHA256_LEN];
  struct pk_attobj att;
  struct pk_authdata ad;
  enum pk_check c;

  core_sha256 (cdj, cdj_len, cdh);
  c = pk_client_data_check (cdj, cdj_len, "webauthn.create", challenge, &rp);
  if (c == PK_OK)
    c = pk_attobj_parse (ao, ao_len, &att);
  else
    memset (&att, 0, sizeof att);
  if (c == PK_OK)
    c = pk_authdata_parse (att.auth_data, att.auth_data_len, true, &ad);
  if (c == PK_OK)
    c = pk_authdata_check (&ad, &rp);
  if (c == PK_OK)
    c = pk_attestation_verify (&att, &ad, cdh, &rp, out);
  pk_attobj_clear (&att);
  free (cdj);
  free (ao);
  return c;
}

/* The assertion checks on fixture @a name, with the key its registration
   fixture made; @a ours: run our flag checks before libfido2's. */
static enum pk_check
assertion (const char *name, bool ours, uint32_t stored_count)
{
  json_t *o = fixture ("assertions", name);
  struct pk_attested reg;
  size_t cdj_len, ad_len, sig_len;
  uint8_t *cdj = bytes (o, "client_data", &cdj_len);
  uint8_t *adb = bytes (o, "authenticator_data", &ad_len);
  uint8_t *sig = bytes (o, "signature", &sig_len);
  uint8_t cdh[CORE_SHA256_LEN];
  struct pk_authdata ad;
  enum pk_check c;

  assert_int_equal (registration (json_string_value (json_object_get (
                                    o, "registration")), &reg), PK_OK);
  core_sha256 (cdj, cdj_len, cdh);
  c = pk_client_data_check (cdj, cdj_len, "webauthn.get", challenge, &rp);
  if (c == PK_OK)
    c = pk_authdata_parse (adb, ad_len, false, &ad);
  if (c == PK_OK && ours)
    c = pk_authdata_check (&ad, &rp);
  if (c == PK_OK)
    c = pk_assertion_verify (adb, ad_len, &ad, cdh, sig, sig_len, &reg.key,
                             &rp);
  if (c == PK_OK)
    c = pk_counter_check (stored_count, ad.sign_count);
  free (cdj);
  free (adb);
  free (sig);
  return c;
}

/* ------------------------------------------------------- registration */

static void
test_registration_formats_and_algorithms (void **state)
{
  static const struct {
    const char *name;
    int alg;
    size_t key_len;
    const char *type;
  } good[] = {
    { "es256_none", PK_ALG_ES256, 64, "none" },
    { "es256_self", PK_ALG_ES256, 64, "self" },
    { "es256_x5c", PK_ALG_ES256, 64, "basic" },
    { "eddsa_none", PK_ALG_EDDSA, 32, "none" },
    { "eddsa_self", PK_ALG_EDDSA, 32, "self" },
    { "rs256_self", PK_ALG_RS256, 259, "self" },
    { "es256_self_extensions", PK_ALG_ES256, 64, "self" },
  };
  struct pk_attested out;

  (void) state;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    {
      assert_int_equal (registration (good[i].name, &out), PK_OK);
      assert_int_equal (out.key.alg, good[i].alg);
      assert_int_equal (out.key.raw_len, good[i].key_len);
      assert_string_equal (out.attestation_type, good[i].type);
    }
}

static void
test_registration_refusals (void **state)
{
  static const struct {
    const char *name;
    enum pk_check want;
  } bad[] = {
    { "wrong_origin", PK_ORIGIN_MISMATCH },
    { "wrong_rp_id", PK_RP_ID_MISMATCH },
    { "wrong_type", PK_TYPE_MISMATCH },
    { "other_challenge", PK_CHALLENGE_MISMATCH },
    { "uv_missing", PK_UV_MISSING },
    { "up_missing", PK_UP_MISSING },
    { "self_bad_signature", PK_ATTESTATION_INVALID },
    { "x5c_bad_signature", PK_ATTESTATION_INVALID },
    { "x5c_ca_certificate", PK_ATTESTATION_INVALID },
    { "self_alg_mismatch", PK_ATTESTATION_INVALID },
  };
  struct pk_attested out;

  (void) state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      enum pk_check c = registration (bad[i].name, &out);

      if (c != bad[i].want)
        fail_msg ("%s: %s, not %s", bad[i].name, pk_check_name (c),
                  pk_check_name (bad[i].want));
    }
}

/* `none` carries no signature: a UV-less authenticator data must still be
   refused, by our check alone (libfido2's fido_cred_verify refuses `none`
   outright, so it cannot be the one to check). */
static void
test_none_relies_on_our_flag_checks (void **state)
{
  json_t *o = fixture ("registrations", "uv_missing");
  size_t ao_len, cdj_len;
  uint8_t *ao = bytes (o, "attestation_object", &ao_len);
  uint8_t *cdj = bytes (o, "client_data", &cdj_len);
  uint8_t cdh[CORE_SHA256_LEN];
  struct pk_attested out;
  struct pk_attobj att;
  struct pk_authdata ad;

  (void) state;
  core_sha256 (cdj, cdj_len, cdh);
  assert_int_equal (pk_attobj_parse (ao, ao_len, &att), PK_OK);
  assert_string_equal (att.fmt, "none");
  assert_int_equal (pk_authdata_parse (att.auth_data, att.auth_data_len, true,
                                       &ad), PK_OK);
  assert_false (ad.flags & PK_FLAG_UV);
  /* the attestation step alone has nothing to say against it ... */
  assert_int_equal (pk_attestation_verify (&att, &ad, cdh, &rp, &out), PK_OK);
  /* ... which is why pk_authdata_check runs for every format */
  assert_int_equal (pk_authdata_check (&ad, &rp), PK_UV_MISSING);
  pk_attobj_clear (&att);
  free (ao);
  free (cdj);
}

/* --------------------------------------------------------- assertions */

static void
test_assertions (void **state)
{
  (void) state;
  assert_int_equal (assertion ("es256_good", true, 0), PK_OK);
  assert_int_equal (assertion ("eddsa_good", true, 0), PK_OK);
  assert_int_equal (assertion ("rs256_good", true, 0), PK_OK);
  assert_int_equal (assertion ("bad_signature", true, 0), PK_SIGNATURE_INVALID);
  assert_int_equal (assertion ("wrong_origin", true, 0), PK_ORIGIN_MISMATCH);
  assert_int_equal (assertion ("wrong_rp_id", true, 0), PK_RP_ID_MISMATCH);
  assert_int_equal (assertion ("wrong_type", true, 0), PK_TYPE_MISMATCH);
  assert_int_equal (assertion ("other_challenge", true, 0),
                    PK_CHALLENGE_MISMATCH);
  assert_int_equal (assertion ("uv_missing", true, 0), PK_UV_MISSING);
  assert_int_equal (assertion ("up_missing", true, 0), PK_UP_MISSING);
}

/* libfido2 is told UV and UP are required (its default checks nothing):
   even without our own flag check, it refuses. */
static void
test_libfido2_requires_up_and_uv (void **state)
{
  (void) state;
  assert_int_equal (assertion ("uv_missing", false, 0), PK_SIGNATURE_INVALID);
  assert_int_equal (assertion ("up_missing", false, 0), PK_SIGNATURE_INVALID);
  assert_int_equal (assertion ("wrong_rp_id", false, 0), PK_SIGNATURE_INVALID);
}

static void
test_counter (void **state)
{
  (void) state;
  /* the fixture's counter is 1: fine after 0, backwards after 1 or more */
  assert_int_equal (assertion ("es256_good", true, 0), PK_OK);
  assert_int_equal (assertion ("es256_good", true, 1), PK_COUNTER_REGRESSED);
  assert_int_equal (assertion ("es256_good", true, 7), PK_COUNTER_REGRESSED);
  /* an authenticator without a counter always says 0 */
  assert_int_equal (assertion ("counter_zero", true, 0), PK_OK);
  assert_int_equal (assertion ("counter_zero", true, 3), PK_COUNTER_REGRESSED);
  assert_int_equal (pk_counter_check (UINT32_MAX - 1, UINT32_MAX), PK_OK);
  assert_int_equal (pk_counter_check (UINT32_MAX, 0), PK_COUNTER_REGRESSED);
}

/* ------------------------------------------------------- client data */

static void
test_client_data (void **state)
{
  static const char *const bad[] = {
    "not json",
    "[]",
    "{\"type\":\"webauthn.get\",\"origin\":\"https://bank.example\"}",
    "{\"type\":\"webauthn.get\",\"type\":\"webauthn.get\","
    "\"challenge\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
    "\"origin\":\"https://bank.example\"}",
    "{\"type\":\"webauthn.get\",\"challenge\":"
    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
    "\"origin\":\"https://bank.example\",\"crossOrigin\":\"no\"}",
  };
  const char *cross = "{\"type\":\"webauthn.get\",\"challenge\":"
                      "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
                      "\"origin\":\"https://bank.example\",\"crossOrigin\":true}";
  const char *padded = "{\"type\":\"webauthn.get\",\"challenge\":"
                       "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
                       "\"origin\":\"https://bank.example\"}";
  const char *port = "{\"type\":\"webauthn.get\",\"challenge\":"
                     "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
                     "\"origin\":\"https://bank.example:443\"}";

  (void) state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal (pk_client_data_check ((const uint8_t *) bad[i],
                                            strlen (bad[i]), "webauthn.get",
                                            challenge, &rp), PK_MALFORMED);
  assert_int_equal (pk_client_data_check ((const uint8_t *) cross,
                                          strlen (cross), "webauthn.get",
                                          challenge, &rp), PK_CROSS_ORIGIN);
  assert_int_equal (pk_client_data_check ((const uint8_t *) padded,
                                          strlen (padded), "webauthn.get",
                                          challenge, &rp),
                    PK_CHALLENGE_MISMATCH);
  /* origins compare exactly: an explicit default port is another origin */
  assert_int_equal (pk_client_data_check ((const uint8_t *) port,
                                          strlen (port), "webauthn.get",
                                          challenge, &rp), PK_ORIGIN_MISMATCH);
}

/* --------------------------------------------------------------- CBOR */

static void
test_cbor_measure (void **state)
{
  static const struct {
    const char *hex;
    int rc;
    size_t len;
  } cases[] = {
    { "a201020326", 0, 5 },          /* {1: 2, 3: -7} */
    { "a20102032600", 0, 5 },        /* trailing byte: measured, not eaten */
    { "5f4101ff", -1, 0 },           /* indefinite byte string */
    { "9fff", -1, 0 },               /* indefinite array */
    { "c11a514b67b0", -1, 0 },       /* a tag */
    { "f810", -1, 0 },               /* simple value < 32 in two bytes */
    { "f820", 0, 2 },
    { "5a00010000", -1, 0 },         /* 65536 bytes announced, none there */
    { "9bffffffffffffffff", -1, 0 }, /* huge array */
    { "1c", -1, 0 },                 /* reserved additional information */
    { "818181818181818181818100", -1, 0 },   /* nesting past 8 */
    { "8181818100", 0, 5 },
  };
  uint8_t buf[64];

  (void) state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      long n = core_hex_decode (cases[i].hex, buf, sizeof buf);
      size_t len = 0;

      assert_true (n > 0);
      assert_int_equal (pk_cbor_measure (buf, (size_t) n, 8, &len),
                        cases[i].rc);
      if (cases[i].rc == 0)
        assert_int_equal (len, cases[i].len);
    }
}

static void
test_authdata_parse (void **state)
{
  uint8_t ad[64] = { 0 };
  struct pk_authdata out;

  (void) state;
  assert_int_equal (pk_authdata_parse (ad, 36, false, &out), PK_MALFORMED);
  ad[32] = PK_FLAG_UP | PK_FLAG_UV;
  ad[36] = 5;
  assert_int_equal (pk_authdata_parse (ad, 37, false, &out), PK_OK);
  assert_int_equal (out.sign_count, 5);
  assert_int_equal (pk_authdata_parse (ad, 38, false, &out), PK_MALFORMED);
  /* a registration needs AT; an assertion must not have it */
  assert_int_equal (pk_authdata_parse (ad, 37, true, &out), PK_MALFORMED);
  ad[32] |= PK_FLAG_AT;
  assert_int_equal (pk_authdata_parse (ad, 37, false, &out), PK_MALFORMED);
  /* ED: an extensions map, and nothing after it */
  ad[32] = PK_FLAG_UP | PK_FLAG_ED;
  memcpy (ad + 37, "\xa1\x63" "abc" "\xf5", 6);    /* {"abc": true} */
  assert_int_equal (pk_authdata_parse (ad, 43, false, &out), PK_OK);
  assert_int_equal (pk_authdata_parse (ad, 44, false, &out), PK_MALFORMED);
  memcpy (ad + 37, "\x81\x00", 2);                  /* an array */
  assert_int_equal (pk_authdata_parse (ad, 39, false, &out), PK_MALFORMED);
}

/* ------------------------------------------------------ configuration */

static void
test_rp_check (void **state)
{
  static const struct {
    const char *id;
    const char *origin;
    int rc;
  } cases[] = {
    { "bank.example", "https://bank.example", 0 },
    { "bank.example", "https://login.bank.example:8443", 0 },
    { "localhost", "http://localhost:8080", 0 },
    { "127.0.0.1", "http://127.0.0.1:8080", 0 },
    { "bank.example", "http://bank.example", -1 },        /* not https */
    { "bank.example", "https://evilbank.example", -1 },   /* not below */
    { "bank.example", "https://bank.example/login", -1 }, /* a path */
    { "Bank.Example", "https://bank.example", -1 },
    { "", "https://bank.example", -1 },
  };
  char why[256];

  (void) state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct authn_passkey_rp r = { .id = cases[i].id, .name = "Bank",
                                    .attestation = "none",
                                    .origins = { cases[i].origin },
                                    .n_origins = 1 };

      if (authn_passkey_rp_check (&r, why, sizeof why) != cases[i].rc)
        fail_msg ("%s / %s: expected %d", cases[i].id, cases[i].origin,
                  cases[i].rc);
    }
}

static void
test_check_names (void **state)
{
  (void) state;
  for (int i = 0; i < PK_CHECK_COUNT; i++)
    {
      assert_non_null (pk_check_name (i));
      for (int j = 0; j < i; j++)
        assert_string_not_equal (pk_check_name (i), pk_check_name (j));
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_registration_formats_and_algorithms),
    cmocka_unit_test (test_registration_refusals),
    cmocka_unit_test (test_none_relies_on_our_flag_checks),
    cmocka_unit_test (test_assertions),
    cmocka_unit_test (test_libfido2_requires_up_and_uv),
    cmocka_unit_test (test_counter),
    cmocka_unit_test (test_client_data),
    cmocka_unit_test (test_cbor_measure),
    cmocka_unit_test (test_authdata_parse),
    cmocka_unit_test (test_rp_check),
    cmocka_unit_test (test_check_names),
  };

  return cmocka_run_group_tests (tests, setup, teardown);
}

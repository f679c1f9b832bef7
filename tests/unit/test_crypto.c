/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_crypto.c -- unit tests of core/crypto.c: codecs (RFC 4648 §10
 * vectors), hashes (FIPS 180-2 "abc", RFC 4231 case 2), constant-time
 * comparison and ids, the AES-GCM envelope, the keyring and the keyed
 * MAC derived from it.
 *
 * These tests write only under a mkdtemp() folder and never touch var/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "tests/unit/tmpdir.h"

struct vector {
  const char *plain, *encoded;
};

/* RFC 4648 §10, base64 (url alphabet is the same for these; no padding). */
static const struct vector b64_vectors[] = {
  { "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
  { "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
};

/* RFC 4648 §10, base32 with its padding as printed in the RFC. */
static const struct vector b32_vectors[] = {
  { "", "" }, { "f", "MY======" }, { "fo", "MZXQ====" },
  { "foo", "MZXW6===" }, { "foob", "MZXW6YQ=" }, { "fooba", "MZXW6YTB" },
  { "foobar", "MZXW6YTBOI======" },
};

/* ================================================================
 * Codecs and hashes
 * ================================================================ */

static void
test_b64url_vectors (void **state UNUSED)
{
  for (size_t i = 0; i < N (b64_vectors); i++)
    {
      const struct vector *v = &b64_vectors[i];
      char *enc = core_b64url_encode (v->plain, strlen (v->plain));
      uint8_t *dec = NULL;
      long n;

      assert_non_null (enc);
      assert_string_equal (enc, v->encoded);
      n = core_b64url_decode (v->encoded, &dec);
      assert_int_equal (n, (long) strlen (v->plain));
      assert_non_null (dec);
      assert_memory_equal (dec, v->plain, (size_t) n);
      free (enc);
      free (dec);
    }
}

static void
test_b64url_alphabet_and_bad (void **state UNUSED)
{
  static const uint8_t raw[] = { 0xfb, 0xff };
  static const char *const bad[] = {
    "Zg==", "Zm9v+", "Zm9v/", "Z", "Zm9vY", "Zh", "Zm 9v", "Zm9v\n", "Zm=9",
  };
  char *enc = core_b64url_encode (raw, sizeof raw);
  uint8_t *dec = NULL;

  assert_string_equal (enc, "-_8");
  assert_int_equal (core_b64url_decode ("-_8", &dec), 2);
  assert_memory_equal (dec, raw, 2);
  free (enc);
  free (dec);
  for (size_t i = 0; i < N (bad); i++)
    {
      dec = (uint8_t *) 1;
      assert_int_equal (core_b64url_decode (bad[i], &dec), -1);
      assert_null (dec);
    }
}

static void
test_b32_vectors (void **state UNUSED)
{
  for (size_t i = 0; i < N (b32_vectors); i++)
    {
      const struct vector *v = &b32_vectors[i];
      char *enc = core_b32_encode (v->plain, strlen (v->plain));
      char unpadded[32], lower[32];
      uint8_t *dec = NULL;

      assert_non_null (enc);
      snprintf (unpadded, sizeof unpadded, "%.*s",
                (int) strcspn (v->encoded, "="), v->encoded);
      assert_string_equal (enc, unpadded);
      free (enc);
      assert_int_equal (core_b32_decode (v->encoded, &dec),
                        (long) strlen (v->plain));
      assert_memory_equal (dec, v->plain, strlen (v->plain));
      free (dec);
      for (size_t j = 0; j <= strlen (unpadded); j++)
        lower[j] = unpadded[j] != '\0' ? (char) (unpadded[j] | 0x20) : '\0';
      assert_int_equal (core_b32_decode (lower, &dec),
                        (long) strlen (v->plain));
      assert_memory_equal (dec, v->plain, strlen (v->plain));
      free (dec);
    }
}

static void
test_b32_tolerant_and_bad (void **state UNUSED)
{
  static const char *const bad[] = {
    "MZXW1", "M=ZXW6", "MZX", "M", "MZXW6Y", "MZXW6!", "MZXW6===Y",
  };
  uint8_t *dec = NULL;

  assert_int_equal (core_b32_decode ("mzxw 6ytb oi", &dec), 6);
  assert_memory_equal (dec, "foobar", 6);
  free (dec);
  for (size_t i = 0; i < N (bad); i++)
    {
      dec = (uint8_t *) 1;
      assert_int_equal (core_b32_decode (bad[i], &dec), -1);
      assert_null (dec);
    }
}

static void
test_hex (void **state UNUSED)
{
  static const uint8_t raw[] = { 0x00, 0x01, 0xab, 0xff };
  uint8_t out[4];
  char hex[9];

  core_hex_encode (raw, sizeof raw, hex);
  assert_string_equal (hex, "0001abff");
  assert_int_equal (core_hex_decode ("0001ABff", out, sizeof out), 4);
  assert_memory_equal (out, raw, 4);
  assert_int_equal (core_hex_decode ("", out, sizeof out), 0);
  assert_int_equal (core_hex_decode ("abc", out, sizeof out), -1);
  assert_int_equal (core_hex_decode ("zz", out, sizeof out), -1);
  assert_int_equal (core_hex_decode ("0001abff00", out, sizeof out), -1);
}

static void
test_sha256_hmac (void **state UNUSED)
{
  uint8_t mac[CORE_SHA256_LEN];
  char hex[65];

  core_sha256_hex ("abc", 3, hex);
  assert_string_equal (hex, "ba7816bf8f01cfea414140de5dae2223"
                            "b00361a396177a9cb410ff61f20015ad");
  /* RFC 4231, test case 2 */
  assert_int_equal (core_hmac_sha256 ("Jefe", 4,
                                      "what do ya want for nothing?", 28,
                                      mac), 0);
  core_hex_encode (mac, sizeof mac, hex);
  assert_string_equal (hex, "5bdcc146bf60754e6a042426089575c7"
                            "5a003f089d2739839dec58b964ec3843");
}

static void
test_compare_and_ids (void **state UNUSED)
{
  char *a = core_random_id ("dev");
  char *b = core_random_id ("dev");
  uint8_t *raw = NULL;

  assert_true (core_ct_equal ("abc", 3, "abc", 3));
  assert_false (core_ct_equal ("abc", 3, "abd", 3));
  assert_false (core_ct_equal ("abc", 3, "abcd", 4));
  assert_true (core_ct_streq ("", ""));
  assert_false (core_ct_streq ("123456", "123457"));
  assert_false (core_ct_streq (NULL, "x"));
  assert_non_null (a);
  assert_int_equal (strlen (a), 4 + 22);
  assert_memory_equal (a, "dev_", 4);
  assert_int_equal (core_b64url_decode (a + 4, &raw), 16);
  assert_string_not_equal (a, b);
  free (raw);
  free (a);
  free (b);
}
/* ================================================================
 * Keyring and envelope
 * ================================================================ */

#define KEY1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY2 "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101"

static void
load_keys (const char *text)
{
  char err[256];

  assert_int_equal (core_keyring_load (write_file ("keys", text, 0600), err,
                                       sizeof err), 0);
}

static void
test_envelope_round_trip (void **state UNUSED)
{
  static const char secret[] = "seed: 12345678901234567890";
  uint8_t *env = NULL, *plain = NULL;
  size_t envlen = 0, plainlen = 0;

  load_keys ("# master keys\n\nkey1 " KEY1 "\n");
  assert_int_equal (core_seal (secret, sizeof secret, "credential:42", &env,
                               &envlen), 0);
  assert_int_equal (envlen, 2 + 4 + 12 + sizeof secret + 16);
  assert_int_equal (env[0], 1);
  assert_int_equal (env[1], 4);
  assert_memory_equal (env + 2, "key1", 4);
  assert_int_equal (core_open (env, envlen, "credential:42", &plain,
                               &plainlen), 0);
  assert_int_equal (plainlen, sizeof secret);
  assert_memory_equal (plain, secret, sizeof secret);
  core_free_secret (plain, plainlen);

  /* wrong or missing aad */
  assert_int_equal (core_open (env, envlen, "credential:43", &plain,
                               &plainlen), -1);
  assert_null (plain);
  assert_int_equal (core_open (env, envlen, NULL, &plain, &plainlen), -1);
  /* truncated */
  assert_int_equal (core_open (env, envlen - 1, "credential:42", &plain,
                               &plainlen), -1);
  assert_int_equal (core_open (env, 5, "credential:42", &plain, &plainlen),
                    -1);
  free (env);
}

static void
test_envelope_tamper (void **state UNUSED)
{
  uint8_t *env = NULL, *plain = NULL;
  size_t envlen = 0, plainlen = 0;

  load_keys ("key1 " KEY1 "\n");
  assert_int_equal (core_seal ("0123456789", 10, "x", &env, &envlen), 0);
  for (size_t i = 0; i < envlen; i++)
    for (unsigned int bit = 0; bit < 8; bit++)
      {
        env[i] ^= (uint8_t) (1u << bit);
        plain = (uint8_t *) 1;
        assert_int_equal (core_open (env, envlen, "x", &plain, &plainlen),
                          -1);
        assert_null (plain);
        env[i] ^= (uint8_t) (1u << bit);
      }
  assert_int_equal (core_open (env, envlen, "x", &plain, &plainlen), 0);
  core_free_secret (plain, plainlen);
  free (env);
}

static void
test_empty_plaintext (void **state UNUSED)
{
  uint8_t *env = NULL, *plain = NULL;
  size_t envlen = 0, plainlen = 1;

  load_keys (KEY1 "\n");        /* bare key: id "k1" */
  assert_int_equal (core_seal ("", 0, NULL, &env, &envlen), 0);
  assert_memory_equal (env + 2, "k1", 2);
  assert_int_equal (core_open (env, envlen, NULL, &plain, &plainlen), 0);
  assert_int_equal (plainlen, 0);
  core_free_secret (plain, plainlen);
  free (env);
}

static void
test_keyring_rotation (void **state UNUSED)
{
  uint8_t *env = NULL, *plain = NULL;
  size_t envlen = 0, plainlen = 0;

  /* sealed when key2 was current */
  load_keys ("key2 " KEY2 "\n");
  assert_int_equal (core_seal ("otp-seed", 8, "credential:7", &env, &envlen),
                    0);
  /* key1 now seals, key2 still opens */
  load_keys ("key1 " KEY1 "\nkey2 " KEY2 "\n");
  assert_int_equal (core_open (env, envlen, "credential:7", &plain,
                               &plainlen), 0);
  assert_int_equal (plainlen, 8);
  assert_memory_equal (plain, "otp-seed", 8);
  core_free_secret (plain, plainlen);
  /* key2 gone: unknown key id */
  load_keys ("key1 " KEY1 "\n");
  assert_int_equal (core_open (env, envlen, "credential:7", &plain,
                               &plainlen), -1);
  /* same id, different key bytes */
  load_keys ("key2 " KEY1 "\n");
  assert_int_equal (core_open (env, envlen, "credential:7", &plain,
                               &plainlen), -1);
  free (env);
}

/* Vectors from Python's hmac module:
   K = HMAC(master, "guichet-keyed-mac-v1\0" purpose), out = HMAC(K, data). */
static void
test_keyed_mac (void **state UNUSED)
{
  uint8_t out[CORE_SHA256_LEN];
  char hex[2 * CORE_SHA256_LEN + 1];

  load_keys ("key1 " KEY1 "\nkey2 " KEY2 "\n");
  assert_int_equal (core_keyed_mac ("assist-code", "123456", 6, out), 0);
  core_hex_encode (out, sizeof out, hex);
  assert_string_equal (hex, "377d0c7a4aad62560e8b92f6f4aae133"
                       "a68212238fd5a32c8421893ee2b98f19");
  /* another purpose, another key */
  assert_int_equal (core_keyed_mac ("other", "123456", 6, out), 0);
  core_hex_encode (out, sizeof out, hex);
  assert_string_equal (hex, "2308d75711471f6346ef6d7a949188e4"
                       "f410c1c43315c173fc785e7c267fb513");
  /* the sealing key (the first line) is the one used */
  load_keys ("key2 " KEY2 "\nkey1 " KEY1 "\n");
  assert_int_equal (core_keyed_mac ("assist-code", "123456", 6, out), 0);
  core_hex_encode (out, sizeof out, hex);
  assert_string_equal (hex, "f0f5309d77ce5db2fa35072e8b4e16ec"
                       "d7467e24f9c924eab98225a8f2f14d1a");
  /* a purpose too long to be one */
  assert_int_equal (core_keyed_mac ("0123456789012345678901234567890123456789"
                                    "01234567890123456789012345", "1", 1, out),
                    -1);
}

static void
test_keyring_refusals (void **state UNUSED)
{
  char err[512];

  assert_int_equal (core_keyring_load (write_file ("keys", "k " KEY1 "\n",
                                                   0640), err, sizeof err),
                    -1);
  assert_non_null (strstr (err, "group or others"));
  assert_int_equal (core_keyring_load (write_file ("keys", "k " KEY1 "\n",
                                                   0604), err, sizeof err),
                    -1);
  assert_int_equal (core_keyring_load (write_file ("keys", "k abcd\n", 0600),
                                       err, sizeof err), -1);
  assert_null (strstr (err, "abcd"));
  assert_int_equal (core_keyring_load (write_file ("keys", "# none\n", 0600),
                                       err, sizeof err), -1);
  assert_int_equal (core_keyring_load (write_file ("keys", "a " KEY1 "\na "
                                                   KEY2 "\n", 0600),
                                       err, sizeof err), -1);
  assert_int_equal (core_keyring_load ("/nonexistent/keys", err, sizeof err),
                    -1);
}

static void
test_keyring_create (void **state UNUSED)
{
  char path[128], err[256];
  uint8_t *env = NULL, *plain = NULL;
  size_t envlen = 0, plainlen = 0;
  struct stat st;

  snprintf (path, sizeof path, "%s/new.key", tmpdir);
  unlink (path);
  assert_int_equal (core_keyring_create (path, err, sizeof err), 0);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  assert_int_equal (core_keyring_create (path, err, sizeof err), -1);
  assert_int_equal (core_keyring_load (path, err, sizeof err), 0);
  assert_int_equal (core_seal ("x", 1, "a", &env, &envlen), 0);
  assert_int_equal (env[2], 'k');
  assert_int_equal (core_open (env, envlen, "a", &plain, &plainlen), 0);
  core_free_secret (plain, plainlen);
  free (env);
}
static void
test_token_keys (void **state UNUSED)
{
  char hex[65], err[256];

  /* a sealing key and two token keys: the first token line is current */
  load_keys ("k1 " KEY1 "\ntoken t2 " KEY2 "\n  token\tt1 " KEY1 "\n");
  assert_int_equal (core_token_keys (), 2);
  assert_string_equal (core_token_key_id (0), "t2");
  assert_string_equal (core_token_key_id (1), "t1");
  assert_null (core_token_key_id (2));
  assert_string_equal (core_keyring_current_id (), "k1");
  /* HMAC-SHA256(KEY2, "guichet"), from Python's hmac module */
  assert_int_equal (core_token_hmac_hex (0, "guichet", 7, hex), 0);
  assert_string_equal (hex, "a01370bbc3ad854214d4d27d3611aace"
                       "90b7f8a578a05e5bedfb90fa64f6485e");
  assert_int_equal (core_token_hmac_hex (2, "guichet", 7, hex), -1);
  assert_string_equal (hex, "");
  /* a token key never seals: the envelope names the sealing key */
  {
    uint8_t *env = NULL;
    size_t envlen = 0;

    assert_int_equal (core_seal ("x", 1, "a", &env, &envlen), 0);
    assert_memory_equal (env + 2, "k1", 2);
    free (env);
  }
  /* no token key is fine for loading (serve refuses to start without) */
  load_keys ("k1 " KEY1 "\n");
  assert_int_equal (core_token_keys (), 0);
  assert_int_equal (core_token_hmac_hex (0, "x", 1, hex), -1);
  /* only token keys: no sealing key */
  assert_int_equal (core_keyring_load (write_file ("keys", "token t " KEY1
                                                   "\n", 0600), err,
                                       sizeof err), -1);
  /* duplicate token id, a token key named "token", a short line */
  assert_int_equal (core_keyring_load (write_file ("keys", "k " KEY1
                                                   "\ntoken t " KEY1
                                                   "\ntoken t " KEY2 "\n",
                                                   0600), err, sizeof err),
                    -1);
  assert_int_equal (core_keyring_load (write_file ("keys", "k " KEY1
                                                   "\ntoken token " KEY1
                                                   "\n", 0600), err,
                                       sizeof err), -1);
  assert_int_equal (core_keyring_load (write_file ("keys", "k " KEY1
                                                   "\ntoken " KEY1 "\n",
                                                   0600), err, sizeof err),
                    -1);
  assert_null (strstr (err, KEY1));
}

static void
test_token_key_create_and_add (void **state UNUSED)
{
  char path[128], err[256], id[80], first[80];
  struct stat st;

  snprintf (path, sizeof path, "%s/tok.key", tmpdir);
  unlink (path);
  assert_int_equal (core_keyring_create (path, err, sizeof err), 0);
  assert_int_equal (core_keyring_load (path, err, sizeof err), 0);
  assert_int_equal (core_token_keys (), 1);
  assert_int_equal (core_token_key_id (0)[0], 't');
  snprintf (first, sizeof first, "t_old");
  /* an old file without a token key gets one; the next one is current */
  write_file ("tok.key", "k1 " KEY1 "\n# comment\ntoken t_old " KEY2, 0600);
  assert_int_equal (core_keyring_add_token (path, id, sizeof id, err,
                                            sizeof err), 0);
  assert_int_equal (core_token_keys (), 2);
  assert_string_equal (core_token_key_id (0), id);
  assert_string_equal (core_token_key_id (1), first);
  assert_string_equal (core_keyring_current_id (), "k1");
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  write_file ("tok.key", "k1 " KEY1, 0600);
  assert_int_equal (core_keyring_add_token (path, id, sizeof id, err,
                                            sizeof err), 0);
  assert_int_equal (core_token_keys (), 1);
  assert_int_equal (core_keyring_add_token ("/nonexistent/k", id, sizeof id,
                                            err, sizeof err), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_b64url_vectors),
    cmocka_unit_test (test_b64url_alphabet_and_bad),
    cmocka_unit_test (test_b32_vectors),
    cmocka_unit_test (test_b32_tolerant_and_bad),
    cmocka_unit_test (test_hex),
    cmocka_unit_test (test_sha256_hmac),
    cmocka_unit_test (test_compare_and_ids),
    cmocka_unit_test (test_envelope_round_trip),
    cmocka_unit_test (test_envelope_tamper),
    cmocka_unit_test (test_empty_plaintext),
    cmocka_unit_test (test_keyring_rotation),
    cmocka_unit_test (test_keyed_mac),
    cmocka_unit_test (test_keyring_refusals),
    cmocka_unit_test (test_keyring_create),
    cmocka_unit_test (test_token_keys),
    cmocka_unit_test (test_token_key_create_and_add),
  };

  return cmocka_run_group_tests (tests, tmpdir_setup, tmpdir_teardown);
}

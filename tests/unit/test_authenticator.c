/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_authenticator.c -- unit tests of the reference phone authenticator
 * (authenticator/): API.md's normative test vectors replayed through the
 * library with fixed keys (public points, M, proof, ECDH, seed, TOTP, T
 * and the offline response code), QR payload parsing, signed requests,
 * the PIN-sealed state file, and activation and approval over HTTP against
 * a tiny in-process server that plays guichetd's side of the protocol.
 *
 * These tests write only under a mkdtemp() folder and listen only on
 * 127.0.0.1 with a port chosen by the kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include "authenticator/ga_internal.h"

#define N(a) (sizeof (a) / sizeof (a)[0])
#define UNUSED __attribute__ ((unused))

/* API.md, "Test vectors (normative)". */
#define V_SIGN_D "25f00d7601429388eba003af27c68647d2ce8033a3c71beffdce62c7a7c3205d"
#define V_ECDH_D "297d2848ca9a76b593abb507429bb0837d8dde868560061319c9e63470bd7ee9"
#define V_SERVER_D "9ce767facd35b77c52b103353b44399faa0fbf94e37f85c10bda97c2db90ae50"
#define V_S "AAECAwQFBgcICQoLDA0ODw"
#define V_DEVICE_PUB "04adf6e00b6a658c624433636a9e0e5f188d36cf3c794fdfb4056938c758c1c3bdfb6e087e3c72e3193f6dae90d35924848e4b99fc3caa03c52b06f8ef4af4a864"
#define V_ECDH_PUB "04e394fb5485a00945dfe2d1a7493c984a63ba8ec1682387bfb42b81a6a919269df60a8f68150d4a2fe6565f8368e2bd3b73ac9fe015211a00f2c879d7b0f675eb"
#define V_SERVER_PUB "04fa962fc5854cd0c55f3cd49b98845db37ceb725350e8970629ceb513375db06671c0b3b2ddb6599272228007a2ff83c12d5f096840ee293a6ca5090cc922d173"
#define V_M_SHA256 "97d503ee21b0776afb658c137d294568a295b23f5204316efd407e8572417be7"
#define V_PROOF "ea395813255f659bee2ce1e7374654c10286130ad9831c910f54a9d974030a95"
#define V_SHARED_X "7fce7bb9a9a050072bcce794bed3929030025ef57b5d1e39a6e974b169dbe43c"
#define V_SEED "960db2141599b9e176cec0c480ed5e994d244ca16c1ff5753d637a5c06989408"
#define V_T "guichet-tx-v1\ntx_test_0001\n125.00\nEUR\nACME SARL\nFR7630006000011234567890189\nn0nce"
#define V_TX_PAYLOAD "guichet://tx?v=1&id=tx_test_0001&a=125.00&c=EUR&n=ACME+SARL&i=FR7630006000011234567890189&x=n0nce"
#define V_PAYLOAD(url) "guichet://activate?v=1&u=" url "&c=ch_test_0001&s=" V_S

static char tmpdir[64];

/* ================================================================
 * Helpers
 * ================================================================ */

static void
unhex (const char *hex, uint8_t *out, size_t len)
{
  assert_int_equal (strlen (hex), 2 * len);
  for (size_t i = 0; i < len; i++)
    assert_int_equal (sscanf (hex + 2 * i, "%2hhx", &out[i]), 1);
}

static void
assert_hex (const void *data, size_t len, const char *want)
{
  char hex[2 * 256 + 1];

  assert_true (len <= 256);
  ga_hex_encode (data, len, hex);
  assert_string_equal (hex, want);
}

static char *
answer_json (const char *device_id, const char *status, const char *server_d)
{
  uint8_t d[32], pub[GA_POINT_LEN];
  EVP_PKEY *key = NULL;
  char *b64, *text;

  unhex (server_d, d, sizeof d);
  assert_int_equal (ga_key_from_private (d, &key), GA_OK);
  assert_int_equal (ga_key_public (key, pub), GA_OK);
  b64 = ga_b64url_encode (pub, sizeof pub);
  assert_true (asprintf (&text,
                         "{\"device_id\":\"%s\",\"status\":\"%s\",\"risk\":"
                         "{\"score\":0,\"decision\":\"allow\",\"reasons\":[]},"
                         "\"server_ecdh_public_key\":\"%s\",\"otp\":{\"type\":"
                         "\"totp\",\"algorithm\":\"SHA256\",\"digits\":6,"
                         "\"period\":30}}", device_id, status, b64) > 0);
  free (b64);
  EVP_PKEY_free (key);
  return text;
}

static ga_activation *
vector_activation (void)
{
  ga_activation_payload p;
  ga_activation *act = NULL;
  uint8_t sd[32], ed[32];

  unhex (V_SIGN_D, sd, 32);
  unhex (V_ECDH_D, ed, 32);
  assert_int_equal (ga_activation_payload_parse (
                      V_PAYLOAD ("http%3A%2F%2F127.0.0.1%3A8080"), &p, NULL),
                    GA_OK);
  assert_int_equal (ga_activation_new_with_keys (&p, sd, ed, &act, NULL),
                    GA_OK);
  ga_activation_payload_clear (&p);
  return act;
}

/* The device of the test vectors, activated with the vector keys. */
static ga_device *
vector_device (void)
{
  ga_activation *act = vector_activation ();
  char *answer = answer_json ("dev_test_0001", "active", V_SERVER_D);
  ga_device *dev = NULL;

  assert_int_equal (ga_activation_finish (act, answer, &dev, NULL), GA_OK);
  assert_null (act->ecdh_key);   /* discarded once the seed exists */
  free (answer);
  ga_activation_free (act);
  return dev;
}

/* ================================================================
 * Test vectors
 * ================================================================ */

static void
test_vector_activation_message (void **state UNUSED)
{
  ga_activation *act = vector_activation ();
  uint8_t digest[32], proof[32];
  size_t len;
  const uint8_t *m = ga_activation_get_message (act, &len);

  assert_hex (ga_activation_get_device_pub (act), GA_POINT_LEN, V_DEVICE_PUB);
  assert_hex (ga_activation_get_ecdh_pub (act), GA_POINT_LEN, V_ECDH_PUB);
  assert_int_equal (len, 163);
  assert_int_equal (ga_sha256 (m, len, digest), GA_OK);
  assert_hex (digest, 32, V_M_SHA256);
  assert_int_equal (ga_activation_get_proof (act, proof), GA_OK);
  assert_hex (proof, 32, V_PROOF);
  ga_activation_free (act);
}

static void
test_vector_request_body (void **state UNUSED)
{
  ga_activation *act = vector_activation ();
  ga_device_info info;
  const char *pub_b64, *sig_b64, *proof_b64;
  uint8_t pub[GA_POINT_LEN], sig[80], proof[32];
  char *body = NULL;
  size_t len;
  const uint8_t *m = ga_activation_get_message (act, &len);
  json_t *root;
  long sig_len;

  ga_device_info_defaults (&info);
  assert_int_equal (ga_activation_request (act, &info, &body, NULL),
                    GA_ERR_INVALID);   /* no install_id */
  info.install_id = "4f1c0a52-0000-4000-8000-000000000001";
  info.emulator = true;
  assert_int_equal (ga_activation_request (act, &info, &body, NULL), GA_OK);
  root = json_loads (body, JSON_REJECT_DUPLICATES, NULL);
  assert_int_equal (json_unpack (root, "{s:s, s:s, s:s, s:s, s:s, s:{s:s,"
                                       " s:b}}", "challenge_id", &(const char *) { NULL },
                                 "device_public_key", &pub_b64,
                                 "ecdh_public_key", &(const char *) { NULL },
                                 "proof", &proof_b64, "signature", &sig_b64,
                                 "device", "timezone", &(const char *) { NULL },
                                 "emulator", &(int) { 0 }), 0);
  assert_int_equal (json_object_size (json_object_get (root, "device")), 12);
  assert_int_equal (ga_b64url_decode (pub_b64, pub, sizeof pub), GA_POINT_LEN);
  assert_hex (pub, GA_POINT_LEN, V_DEVICE_PUB);
  assert_int_equal (ga_b64url_decode (proof_b64, proof, sizeof proof), 32);
  assert_hex (proof, 32, V_PROOF);
  sig_len = ga_b64url_decode (sig_b64, sig, sizeof sig);
  assert_true (sig_len > 8);
  assert_int_equal (ga_ecdsa_verify (pub, m, len, sig, (size_t) sig_len), 1);
  sig[sig_len - 1] ^= 1;
  assert_int_not_equal (ga_ecdsa_verify (pub, m, len, sig, (size_t) sig_len),
                        1);
  json_decref (root);
  free (body);
  ga_activation_free (act);
}

static void
test_vector_ecdh_and_seed (void **state UNUSED)
{
  ga_activation *act = vector_activation ();
  uint8_t server_d[32], server_pub[GA_POINT_LEN], x[32], seed[32];
  EVP_PKEY *server = NULL;
  ga_device *dev;

  unhex (V_SERVER_D, server_d, 32);
  assert_int_equal (ga_key_from_private (server_d, &server), GA_OK);
  assert_int_equal (ga_key_public (server, server_pub), GA_OK);
  assert_hex (server_pub, GA_POINT_LEN, V_SERVER_PUB);
  /* Both sides reach the same x. */
  assert_int_equal (ga_ecdh_x (act->ecdh_key, server_pub, x), GA_OK);
  assert_hex (x, 32, V_SHARED_X);
  assert_int_equal (ga_ecdh_x (server, ga_activation_get_ecdh_pub (act), x),
                    GA_OK);
  assert_hex (x, 32, V_SHARED_X);
  assert_int_equal (ga_seed_derive (x, act->secret, "dev_test_0001", seed),
                    GA_OK);
  assert_hex (seed, 32, V_SEED);
  dev = vector_device ();
  assert_hex (ga_device_get_seed (dev), 32, V_SEED);
  assert_string_equal (ga_device_id (dev), "dev_test_0001");
  assert_string_equal (ga_device_base_url (dev), "http://127.0.0.1:8080");
  ga_device_free (dev);
  EVP_PKEY_free (server);
  ga_activation_free (act);
}

static void
test_vector_totp (void **state UNUSED)
{
  static const struct { int64_t t; const char *code; int valid; } v[] = {
    { 59, "185491", 1 }, { 1111111109, "946648", 1 },
    { 2000000000, "855248", 10 },
  };
  ga_device *dev = vector_device ();
  char code[16];
  int valid_for;

  for (size_t i = 0; i < N (v); i++)
    {
      assert_int_equal (ga_device_totp (dev, v[i].t, code, &valid_for, NULL),
                        GA_OK);
      assert_string_equal (code, v[i].code);
      assert_int_equal (valid_for, v[i].valid);
    }
  ga_device_free (dev);
}

static void
test_vector_transaction (void **state UNUSED)
{
  ga_device *dev = vector_device ();
  uint8_t pub[GA_POINT_LEN], sig[80];
  char code[9], *t, *sig_b64 = NULL;
  size_t len;
  ga_tx tx;
  long n;

  assert_int_equal (ga_tx_parse (V_TX_PAYLOAD, &tx, NULL), GA_OK);
  t = ga_tx_message (&tx, &len);
  assert_string_equal (t, V_T);
  assert_int_equal (len, strlen (V_T));
  assert_int_equal (ga_device_tx_response_code (dev, &tx, code, NULL), GA_OK);
  assert_string_equal (code, "09148292");
  assert_int_equal (ga_device_tx_sign (dev, &tx, &sig_b64, NULL), GA_OK);
  n = ga_b64url_decode (sig_b64, sig, sizeof sig);
  assert_int_equal (ga_device_get_public (dev, pub), GA_OK);
  assert_int_equal (ga_ecdsa_verify (pub, t, len, sig, (size_t) n), 1);
  t[strlen ("guichet-tx-v1\ntx_test_0001\n1")] = '9';   /* 925.00 */
  assert_int_equal (ga_ecdsa_verify (pub, t, len, sig, (size_t) n), 0);
  free (t);
  free (sig_b64);
  ga_tx_clear (&tx);
  assert_int_equal (ga_tx_parse ("guichet://tx?v=1&id=tx_test_0001&a=125.00"
                                 "&c=EUR&n=ACME%20SARL&i=FR763000600001123456"
                                 "7890189&x=n0nce", &tx, NULL), GA_OK);
  assert_int_equal (ga_device_tx_response_code (dev, &tx, code, NULL), GA_OK);
  assert_string_equal (code, "09148292");
  ga_tx_clear (&tx);
  ga_device_free (dev);
}

/* ================================================================
 * Payloads and codecs
 * ================================================================ */

static void
test_payload_good (void **state UNUSED)
{
  ga_activation_payload p;
  uint8_t secret[16];

  unhex ("000102030405060708090a0b0c0d0e0f", secret, 16);
  assert_int_equal (ga_activation_payload_parse (
                      V_PAYLOAD ("https%3A%2F%2Fbank.example%3A8443%2Fg%2Bx%2F")
                      "&future=1", &p, NULL), GA_OK);
  assert_string_equal (p.base_url, "https://bank.example:8443/g+x");
  assert_string_equal (p.challenge_id, "ch_test_0001");
  assert_memory_equal (p.secret, secret, 16);
  ga_activation_payload_clear (&p);
  assert_null (p.base_url);
}

static void
test_payload_refused (void **state UNUSED)
{
  static const struct { const char *payload, *code; } bad[] = {
    { "guichet://activate?v=2&u=http%3A%2F%2Fh&c=c&s=" V_S, "payload_version" },
    { "guichet://activate?v=1&u=http%3A%2F%2Fh&c=c", "payload_invalid" },
    { "guichet://activate?v=1&u=http%3A%2F%2Fh&s=" V_S, "payload_invalid" },
    { "guichet://activate?u=http%3A%2F%2Fh&c=c&s=" V_S, "payload_invalid" },
    { "guichet://activate?v=1&u=http%3A%2F%2Fh&c=c&s=AAECAwQFBgcICQoLDA0OD*",
      "payload_invalid" },
    { "guichet://activate?v=1&u=http%3A%2F%2Fh&c=c&s=AAECAwQFBgcICQoLDA0ODx",
      "payload_invalid" },   /* non-canonical trailing bits */
    { "guichet://activate?v=1&u=http%3A%2F%2Fh&c=c&s=AAECAwQFBgcICQoLDA0O",
      "payload_invalid" },   /* 15 bytes */
    { "guichet://activate?v=1&u=http%3A%2F%2Fh&c=c&s=AAECAwQFBgcICQoLDA0ODw==",
      "payload_invalid" },
    { "guichet://activate?v=1&v=1&u=http%3A%2F%2Fh&c=c&s=" V_S,
      "payload_invalid" },
    { "guichet://activate?v=1&u=http%3A%2F%2Fh%zz&c=c&s=" V_S,
      "payload_invalid" },
    { "guichet://activate?v=1&u=http%3A%2F%2Fh&c=c%00d&s=" V_S,
      "payload_invalid" },
    { "guichet://activate?v=1&u=ftp%3A%2F%2Fh&c=c&s=" V_S, "payload_invalid" },
    { "guichet://activatex?v=1&u=http%3A%2F%2Fh&c=c&s=" V_S,
      "payload_invalid" },
    { "https://activate?v=1&u=http%3A%2F%2Fh&c=c&s=" V_S, "payload_invalid" },
    /* found by tests/fuzz/fuzz_qr_activate: no host, and the trailing-'/'
       trim left "http:" as the base URL */
    { "guichet://activate?v=1&u=http%3A%2F%2F%2F&c=c&s=" V_S,
      "payload_invalid" },
    { "guichet://activate?v=1&u=https%3A%2F%2F&c=c&s=" V_S, "payload_invalid" },
  };
  ga_activation_payload p;
  ga_error err;

  for (size_t i = 0; i < N (bad); i++)
    {
      memset (&err, 0, sizeof err);
      assert_int_equal (ga_activation_payload_parse (bad[i].payload, &p, &err),
                        GA_ERR_INVALID);
      assert_string_equal (err.code, bad[i].code);
      assert_null (p.base_url);
    }
}

static void
test_tx_payload_refused (void **state UNUSED)
{
  static const char *const bad[] = {
    "guichet://tx?v=2&id=t&a=1.00&c=EUR&n=A&i=FR76&x=n",
    "guichet://tx?v=1&id=t&a=1.00&c=EUR&n=A&i=FR76",
    "guichet://tx?v=1&id=t&a=1.00&c=EUR&n=A%0ASARL&i=FR76&x=n",
    "guichet://tx?v=1&id=t&a=1,00&c=EUR&n=A&i=FR76&x=n",
    "guichet://tx?v=1&id=t&a=1.00&c=eur&n=A&i=FR76&x=n",
    "guichet://tx?v=1&id=t&a=1.00&c=EUR&n=&i=FR76&x=n",
    "guichet://activate?v=1&id=t&a=1.00&c=EUR&n=A&i=FR76&x=n",
    /* what the screen would show is not what is signed */
    "guichet://tx?v=1&id=t&a=1.00&c=EUR&n=ACME%E2%80%AELRAS&i=FR76&x=n",
    "guichet://tx?v=1&id=t&a=1.00&c=EUR&n=AC%E2%80%8BME&i=FR76&x=n",
    "guichet://tx?v=1&id=t&a=1.00&c=EUR&n=ACME%E2%81%A7X&i=FR76&x=n",
    "guichet://tx?v=1&id=t&a=1.00&c=EUR&n=%EF%BB%BFACME&i=FR76&x=n",
    "guichet://tx?v=1&id=t&a=1.00&c=EUR&n=ACME%C2%85&i=FR76&x=n",
  };
  ga_tx tx;

  for (size_t i = 0; i < N (bad); i++)
    {
      assert_int_equal (ga_tx_parse (bad[i], &tx, NULL), GA_ERR_INVALID);
      assert_null (tx.id);
    }
  /* from the pending list's fields: the same checks */
  assert_int_equal (ga_tx_from_fields ("t", "1.00", "EUR", "Caf\xC3\xA9 SARL",
                                       "FR76", "n", &tx, NULL), GA_OK);
  assert_string_equal (tx.payee_name, "Caf\xC3\xA9 SARL");
  ga_tx_clear (&tx);
  assert_int_equal (ga_tx_from_fields ("t", "1.00", "EUR", "A\xE2\x80\xAE" "B",
                                       "FR76", "n", &tx, NULL), GA_ERR_INVALID);
  assert_null (tx.id);
  assert_int_equal (ga_tx_from_fields ("t", "1.00", "EUR", "A\nB", "FR76", "n",
                                       &tx, NULL), GA_ERR_INVALID);
  assert_int_equal (ga_tx_from_fields ("t", NULL, "EUR", "A", "FR76", "n",
                                       &tx, NULL), GA_ERR_INVALID);
}

static void
test_b64url (void **state UNUSED)
{
  static const struct { const char *plain, *enc; } v[] = {
    { "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
    { "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
  };
  uint8_t out[8];

  for (size_t i = 0; i < N (v); i++)
    {
      char *enc = ga_b64url_encode (v[i].plain, strlen (v[i].plain));

      assert_string_equal (enc, v[i].enc);
      assert_int_equal (ga_b64url_decode (enc, out, sizeof out),
                        (long) strlen (v[i].plain));
      assert_memory_equal (out, v[i].plain, strlen (v[i].plain));
      free (enc);
    }
  assert_int_equal (ga_b64url_decode ("-_8", out, sizeof out), 2);
  assert_int_equal (out[0], 0xfb);
  assert_int_equal (ga_b64url_decode ("Zm9v+", out, sizeof out), -1);
  assert_int_equal (ga_b64url_decode ("Zh", out, sizeof out), -1);
  assert_int_equal (ga_b64url_decode ("Zm9vYmFyYmF6", out, 8), -1);
}

/* ================================================================
 * Answers, requests, bad keys
 * ================================================================ */

static void
test_answer_refusals (void **state UNUSED)
{
  ga_activation *act = vector_activation ();
  char *denied = answer_json ("dev_x", "denied", V_SERVER_D);
  char *weird = answer_json ("dev_x", "approved", V_SERVER_D);
  ga_device *dev = (ga_device *) 1;
  ga_error err = { 0 };
  /* A point not on P-256 (y + 1). */
  const char *off_curve =
    "{\"device_id\":\"d\",\"status\":\"active\",\"server_ecdh_public_key\":"
    "\"BPqWL8WFTNDFXzzUm5iEXbN863JTUOiXBinOtRM3XbBmccCzst22WZJyIoAHov-DwS1fCWhA7ik6bKUJDMki0XQ\","
    "\"otp\":{\"type\":\"totp\",\"algorithm\":\"SHA256\",\"digits\":6,\"period\":30}}";

  assert_int_equal (ga_activation_finish (act, denied, &dev, &err),
                    GA_ERR_DENIED);
  assert_null (dev);
  assert_int_equal (ga_activation_finish (act, weird, &dev, NULL),
                    GA_ERR_PROTOCOL);
  assert_int_equal (ga_activation_finish (act, "[]", &dev, NULL),
                    GA_ERR_PROTOCOL);
  assert_int_equal (ga_activation_finish (act, off_curve, &dev, &err),
                    GA_ERR_PROTOCOL);
  assert_string_equal (err.code, "bad_server_answer");
  free (denied);
  free (weird);
  ga_activation_free (act);
}

static void
test_sign_request (void **state UNUSED)
{
  static const char body[] = "{\"signature\":\"x\"}";
  ga_device *dev = vector_device ();
  uint8_t pub[GA_POINT_LEN], sig[80], digest[32];
  char hex[65], *msg;
  ga_signed_headers h;
  long n;

  assert_int_equal (ga_device_get_public (dev, pub), GA_OK);
  assert_int_equal (ga_device_sign_request (dev, "POST", "/v1/transactions/t/"
                                            "approve", body, strlen (body),
                                            1700000000, &h, NULL), GA_OK);
  assert_string_equal (h.device, "dev_test_0001");
  assert_string_equal (h.timestamp, "1700000000");
  assert_int_equal (ga_sha256 (body, strlen (body), digest), GA_OK);
  ga_hex_encode (digest, 32, hex);
  assert_true (asprintf (&msg, "POST\n/v1/transactions/t/approve\n"
                               "1700000000\n%s", hex) > 0);
  n = ga_b64url_decode (h.signature, sig, sizeof sig);
  assert_int_equal (ga_ecdsa_verify (pub, msg, strlen (msg), sig, (size_t) n),
                    1);
  free (msg);
  ga_signed_headers_clear (&h);
  /* An empty body hashes as SHA-256 of nothing. */
  assert_int_equal (ga_device_sign_request (dev, "GET", "/v1/x", NULL, 0, 5,
                                            &h, NULL), GA_OK);
  msg = "GET\n/v1/x\n5\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  n = ga_b64url_decode (h.signature, sig, sizeof sig);
  assert_int_equal (ga_ecdsa_verify (pub, msg, strlen (msg), sig, (size_t) n),
                    1);
  ga_signed_headers_clear (&h);
  assert_int_equal (ga_device_sign_request (dev, "get", "/v1/x", NULL, 0, 5,
                                            &h, NULL), GA_ERR_INVALID);
  assert_int_equal (ga_device_sign_request (dev, "GET", "v1/x", NULL, 0, 5,
                                            &h, NULL), GA_ERR_INVALID);
  ga_device_free (dev);
}

/* Every signature the authenticator makes is in the low-s form the server
 * requires of signed requests (s <= n/2), and still verifies. */
static void
test_signatures_are_low_s (void **state UNUSED)
{
  ga_device *dev = vector_device ();
  EC_GROUP *group = EC_GROUP_new_by_curve_name (NID_X9_62_prime256v1);
  BIGNUM *half = BN_new ();
  uint8_t pub[GA_POINT_LEN];

  assert_non_null (group);
  assert_int_equal (BN_rshift1 (half, EC_GROUP_get0_order (group)), 1);
  assert_int_equal (ga_device_get_public (dev, pub), GA_OK);
  for (int i = 0; i < 64; i++)
    {
      uint8_t *der = NULL;
      size_t len = 0;
      const unsigned char *p;
      ECDSA_SIG *sig;

      assert_int_equal (ga_ecdsa_sign (dev->signing_key, &i, sizeof i, &der,
                                       &len), GA_OK);
      p = der;
      sig = d2i_ECDSA_SIG (NULL, &p, (long) len);
      assert_non_null (sig);
      assert_true (p == der + len);
      assert_true (BN_cmp (ECDSA_SIG_get0_s (sig), half) <= 0);
      assert_int_equal (ga_ecdsa_verify (pub, &i, sizeof i, der, len), 1);
      ECDSA_SIG_free (sig);
      free (der);
    }
  BN_free (half);
  EC_GROUP_free (group);
  ga_device_free (dev);
}

static void
test_bad_points (void **state UNUSED)
{
  uint8_t pub[GA_POINT_LEN], zero[32] = { 0 }, big[32];
  EVP_PKEY *key = NULL;

  unhex (V_SERVER_PUB, pub, sizeof pub);
  assert_int_equal (ga_key_from_public (pub, &key), GA_OK);
  EVP_PKEY_free (key);
  pub[64] ^= 1;   /* off the curve */
  assert_int_not_equal (ga_key_from_public (pub, &key), GA_OK);
  pub[64] ^= 1;
  pub[0] = 0x02;  /* not uncompressed */
  assert_int_not_equal (ga_key_from_public (pub, &key), GA_OK);
  assert_int_not_equal (ga_key_from_private (zero, &key), GA_OK);
  memset (big, 0xff, sizeof big);   /* >= the group order */
  assert_int_not_equal (ga_key_from_private (big, &key), GA_OK);
}

/* ================================================================
 * State file
 * ================================================================ */

static char *
state_path (const char *name)
{
  char *p;

  assert_true (asprintf (&p, "%s/%s", tmpdir, name) > 0);
  return p;
}

static void
flip_byte (const char *path, long offset)
{
  FILE *f = fopen (path, "r+b");
  int c;

  assert_non_null (f);
  fseek (f, offset, offset < 0 ? SEEK_END : SEEK_SET);
  c = fgetc (f);
  fseek (f, -1, SEEK_CUR);
  fputc (c ^ 0x01, f);
  fclose (f);
}

static void
test_state_round_trip (void **state UNUSED)
{
  ga_device *dev = vector_device (), *back = NULL;
  char *path = state_path ("round.state"), *pub1, *pub2, code[16];
  uint8_t seed[32], raw[512];
  struct stat st;
  FILE *f;
  size_t n;

  assert_int_equal (ga_state_save (dev, path, "480713", NULL), GA_OK);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  f = fopen (path, "rb");
  n = fread (raw, 1, sizeof raw, f);
  fclose (f);
  unhex (V_SEED, seed, 32);
  assert_memory_equal (raw, "GUICHETA\x01\x01", 10);
  assert_null (memmem (raw, n, seed, 8));
  assert_null (memmem (raw, n, "dev_test_0001", 13));
  assert_int_equal (ga_state_load (path, "480713", &back, NULL), GA_OK);
  assert_string_equal (ga_device_id (back), "dev_test_0001");
  assert_string_equal (ga_device_status (back), "active");
  assert_string_equal (ga_device_base_url (back), "http://127.0.0.1:8080");
  assert_memory_equal (ga_device_get_seed (back), seed, 32);
  pub1 = ga_device_public_key_b64 (dev);
  pub2 = ga_device_public_key_b64 (back);
  assert_string_equal (pub1, pub2);
  assert_int_equal (ga_device_totp (back, 59, code, NULL, NULL), GA_OK);
  assert_string_equal (code, "185491");
  free (pub1);
  free (pub2);
  ga_device_free (back);
  ga_device_free (dev);
  free (path);
}

static void
test_state_refusals (void **state UNUSED)
{
  ga_device *dev = vector_device (), *back = (ga_device *) 1;
  char *path = state_path ("bad.state");
  ga_error err = { 0 };

  assert_int_equal (ga_state_save (dev, path, "", NULL), GA_ERR_INVALID);
  assert_int_equal (ga_state_save (dev, path, "480713", NULL), GA_OK);
  assert_int_equal (ga_state_load (path, "480714", &back, &err), GA_ERR_PIN);
  assert_null (back);
  assert_string_equal (err.code, "wrong_pin");
  flip_byte (path, 50);   /* ciphertext */
  assert_int_equal (ga_state_load (path, "480713", &back, NULL), GA_ERR_PIN);
  flip_byte (path, 50);
  flip_byte (path, -1);   /* tag */
  assert_int_equal (ga_state_load (path, "480713", &back, NULL), GA_ERR_PIN);
  flip_byte (path, -1);
  flip_byte (path, 20);   /* salt, in the associated data */
  assert_int_equal (ga_state_load (path, "480713", &back, NULL), GA_ERR_PIN);
  flip_byte (path, 20);
  flip_byte (path, 8);    /* version */
  assert_int_equal (ga_state_load (path, "480713", &back, &err),
                    GA_ERR_INVALID);
  assert_string_equal (err.code, "state_version");
  flip_byte (path, 8);
  assert_int_equal (truncate (path, 30), 0);
  assert_int_equal (ga_state_load (path, "480713", &back, NULL),
                    GA_ERR_INVALID);
  free (path);
  path = state_path ("missing.state");
  assert_int_equal (ga_state_load (path, "480713", &back, NULL), GA_ERR_IO);
  free (path);
  ga_device_free (dev);
}

/* ================================================================
 * HTTP against an in-process server
 * ================================================================ */

struct fake {
  int listen_fd, port, status;
  char request[8192];
  const char *answer;   /* written verbatim after the status line */
};

static void *
fake_serve (void *arg)
{
  struct fake *f = arg;
  int fd = accept (f->listen_fd, NULL, NULL);
  size_t len = 0;
  ssize_t n;
  char *reply, *cl;

  while (fd >= 0 && len < sizeof f->request - 1
         && (n = read (fd, f->request + len, sizeof f->request - 1 - len)) > 0)
    {
      char *head_end;

      len += (size_t) n;
      f->request[len] = '\0';
      head_end = strstr (f->request, "\r\n\r\n");
      cl = strcasestr (f->request, "Content-Length:");
      if (head_end != NULL
          && len >= (size_t) (head_end + 4 - f->request)
                    + (cl != NULL ? strtoul (cl + 15, NULL, 10) : 0))
        break;
    }
  /* No cmocka assertion in this thread: the main thread checks. */
  if (fd >= 0 && asprintf (&reply, "HTTP/1.1 %d X\r\n%s", f->status,
                           f->answer) > 0)
    {
      if (write (fd, reply, strlen (reply)) < 0)
        f->status = -1;
      free (reply);
    }
  close (fd);
  return NULL;
}

static void
fake_start (struct fake *f, pthread_t *thread)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t sl = sizeof sa;

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  f->listen_fd = socket (AF_INET, SOCK_STREAM, 0);
  assert_int_equal (bind (f->listen_fd, (struct sockaddr *) &sa, sizeof sa), 0);
  assert_int_equal (listen (f->listen_fd, 1), 0);
  getsockname (f->listen_fd, (struct sockaddr *) &sa, &sl);
  f->port = ntohs (sa.sin_port);
  assert_int_equal (pthread_create (thread, NULL, fake_serve, f), 0);
}

static void
fake_join (struct fake *f, pthread_t thread)
{
  pthread_join (thread, NULL);
  close (f->listen_fd);
}

static void
test_http_activate (void **state UNUSED)
{
  struct fake f = { .status = 201 };
  ga_activation_payload p;
  ga_device_info info;
  ga_device *dev = NULL;
  char *answer = NULL, *json = answer_json ("dev_http", "pending_review",
                                            V_SERVER_D), *payload, *text;
  pthread_t thread;

  assert_true (asprintf (&text, "Content-Type: application/json\r\n"
                                "Content-Length: %zu\r\n\r\n%s",
                         strlen (json), json) > 0);
  f.answer = text;
  fake_start (&f, &thread);
  assert_true (asprintf (&payload, V_PAYLOAD ("http%%3A%%2F%%2F127.0.0.1%%3A%d"),
                         f.port) > 0);
  assert_int_equal (ga_activation_payload_parse (payload, &p, NULL), GA_OK);
  ga_device_info_defaults (&info);
  info.install_id = "i-1";
  assert_int_equal (ga_activate (&p, &info, &dev, &answer, NULL), GA_OK);
  fake_join (&f, thread);
  assert_non_null (strstr (f.request, "POST /v1/devices/activate HTTP/1.1"));
  assert_non_null (strstr (f.request, "\"challenge_id\":\"ch_test_0001\""));
  assert_string_equal (answer, json);
  assert_string_equal (ga_device_status (dev), "pending_review");
  ga_device_free (dev);
  ga_activation_payload_clear (&p);
  free (answer);
  free (payload);
  free (text);
  free (json);
}

static void
test_http_errors (void **state UNUSED)
{
  struct fake f = { .status = 410 };
  ga_activation_payload p;
  ga_device_info info;
  ga_device *dev = NULL;
  ga_error err = { 0 };
  char *payload;
  pthread_t thread;

  /* Chunked coding, as libmicrohttpd may send. */
  f.answer = "Transfer-Encoding: chunked\r\n\r\n"
             "1d\r\n{\"error\":{\"code\":\"challenge_e\r\n"
             "1a\r\nxpired\",\"message\":\"gone\"}}\r\n0\r\n\r\n";
  fake_start (&f, &thread);
  assert_true (asprintf (&payload, V_PAYLOAD ("http%%3A%%2F%%2F127.0.0.1%%3A%d"),
                         f.port) > 0);
  assert_int_equal (ga_activation_payload_parse (payload, &p, NULL), GA_OK);
  ga_device_info_defaults (&info);
  info.install_id = "i-1";
  assert_int_equal (ga_activate (&p, &info, &dev, NULL, &err), GA_ERR_SERVER);
  fake_join (&f, thread);
  assert_null (dev);
  assert_int_equal (err.http_status, 410);
  assert_string_equal (err.code, "challenge_expired");
  assert_string_equal (err.message, "gone");
  ga_activation_payload_clear (&p);
  free (payload);
  /* https:// is parsed but this client speaks plain HTTP only. */
  assert_int_equal (ga_activation_payload_parse (
                      V_PAYLOAD ("https%3A%2F%2Fbank.example"), &p, NULL),
                    GA_OK);
  assert_int_equal (ga_activate (&p, &info, &dev, NULL, &err), GA_ERR_INVALID);
  assert_string_equal (err.code, "unsupported_url");
  ga_activation_payload_clear (&p);
}

static void
test_http_tx_approve (void **state UNUSED)
{
  struct fake f = { .status = 200 };
  ga_device *dev = vector_device (), *moved = NULL;
  char *path = state_path ("approve.state"), *answer = NULL, *sig_line;
  uint8_t pub[GA_POINT_LEN], sig[80], digest[32];
  char hex[65], *msg, *ts;
  const char *body;
  pthread_t thread;
  ga_tx tx;
  long n;

  f.answer = "Content-Length: 21\r\n\r\n{\"status\":\"approved\"}";
  fake_start (&f, &thread);
  /* Point the vector device at the fake server via a state file. */
  free (dev->base_url);
  assert_true (asprintf (&dev->base_url, "http://127.0.0.1:%d/", f.port) > 0);
  assert_int_equal (ga_state_save (dev, path, "1234", NULL), GA_OK);
  assert_int_equal (ga_state_load (path, "1234", &moved, NULL), GA_OK);
  assert_int_equal (ga_tx_parse (V_TX_PAYLOAD, &tx, NULL), GA_OK);
  assert_int_equal (ga_device_tx_approve (moved, &tx, &answer, NULL), GA_OK);
  fake_join (&f, thread);
  assert_string_equal (answer, "{\"status\":\"approved\"}");
  assert_non_null (strstr (f.request, "POST /v1/transactions/tx_test_0001/"
                                      "approve HTTP/1.1\r\n"));
  assert_non_null (strstr (f.request, "Guichet-Device: dev_test_0001\r\n"));
  ts = strstr (f.request, "Guichet-Timestamp: ") + 19;
  body = strstr (f.request, "\r\n\r\n") + 4;
  sig_line = strstr (f.request, "Guichet-Signature: ") + 19;
  *strchr (sig_line, '\r') = '\0';
  assert_int_equal (ga_sha256 (body, strlen (body), digest), GA_OK);
  ga_hex_encode (digest, 32, hex);
  assert_true (asprintf (&msg, "POST\n/v1/transactions/tx_test_0001/approve\n"
                               "%.*s\n%s", (int) strcspn (ts, "\r"), ts,
                         hex) > 0);
  assert_true (llabs (strtoll (ts, NULL, 10) - (long long) time (NULL)) < 60);
  assert_int_equal (ga_device_get_public (dev, pub), GA_OK);
  n = ga_b64url_decode (sig_line, sig, sizeof sig);
  assert_int_equal (ga_ecdsa_verify (pub, msg, strlen (msg), sig, (size_t) n),
                    1);
  free (msg);
  free (answer);
  free (path);
  ga_tx_clear (&tx);
  ga_device_free (moved);
  ga_device_free (dev);
}

/* ================================================================
 * main
 * ================================================================ */

static int
setup_tmp (void **state UNUSED)
{
  snprintf (tmpdir, sizeof tmpdir, "/tmp/test_authenticator.XXXXXX");
  return mkdtemp (tmpdir) != NULL ? 0 : -1;
}

static int
teardown_tmp (void **state UNUSED)
{
  char *cmd;

  /* Fixed names only, under our own mkdtemp() folder. */
  static const char *const names[] = { "round.state", "bad.state",
                                       "approve.state" };
  for (size_t i = 0; i < N (names); i++)
    {
      cmd = state_path (names[i]);
      unlink (cmd);
      free (cmd);
    }
  return rmdir (tmpdir);
}

/* The phone's words for a transaction: the code, or a refusal to trust. */
static void
test_tx_display (void **state UNUSED)
{
  static const char *const bad[] = { NULL, "", "K7F2Q", "K7F2Q0", "k7f2q9",
                                     "K7F2Q9X" };
  char *d = ga_tx_display ("125.00", "EUR", "ACME SARL",
                           "FR7630006000011234567890189", "K7F2Q9");

  assert_string_equal (d, "Pay 125.00 EUR to ACME SARL "
                          "(FR7630006000011234567890189). Your security code: "
                          "K7F2Q9 \xe2\x80\x94 if it is missing or wrong, do "
                          "not approve.");
  free (d);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      d = ga_tx_display ("125.00", "EUR", "ACME SARL", "FR76", bad[i]);
      assert_non_null (strstr (d, "No security code came with this payment"));
      assert_null (strstr (d, "Your security code"));
      free (d);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_vector_activation_message),
    cmocka_unit_test (test_vector_request_body),
    cmocka_unit_test (test_vector_ecdh_and_seed),
    cmocka_unit_test (test_vector_totp),
    cmocka_unit_test (test_vector_transaction),
    cmocka_unit_test (test_payload_good),
    cmocka_unit_test (test_payload_refused),
    cmocka_unit_test (test_tx_payload_refused),
    cmocka_unit_test (test_b64url),
    cmocka_unit_test (test_answer_refusals),
    cmocka_unit_test (test_sign_request),
    cmocka_unit_test (test_signatures_are_low_s),
    cmocka_unit_test (test_bad_points),
    cmocka_unit_test (test_state_round_trip),
    cmocka_unit_test (test_state_refusals),
    cmocka_unit_test (test_http_activate),
    cmocka_unit_test (test_http_errors),
    cmocka_unit_test (test_http_tx_approve),
    cmocka_unit_test (test_tx_display),
  };

  return cmocka_run_group_tests (tests, setup_tmp, teardown_tmp);
}

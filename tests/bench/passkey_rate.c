/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey_rate.c -- the machine's ECDSA-verify ceiling for
 * tests/bench/passkeys: how many ES256 assertions per second all cores
 * verify through the very function a passkey sign-in calls
 * (pk_assertion_verify: libfido2's fido_assert_verify with UP and UV
 * required, the key converted for OpenSSL each time as in guichetd).  An
 * accepted sign-in costs one such verify, so this bounds sign-ins/s from
 * the CPU side, as pgbench does from the database side.
 *
 * usage: passkey_rate THREADS SECONDS
 * prints one JSON object: {"verifies", "seconds", "per_second", "threads"}
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "authn/passkey_int.h"

static struct authn_passkey_rp rp = { .id = "bench.example",
                                      .name = "Bench", .attestation = "none",
                                      .origins = { "https://bench.example" },
                                      .n_origins = 1 };
static uint8_t ad[37], cdh[CORE_SHA256_LEN], sig[80];
static size_t sig_len;
static struct pk_pubkey key = { .alg = PK_ALG_ES256 };
static struct pk_authdata parsed;
static double seconds;

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A P-256 key, its x||y, and one assertion signed with it. */
static int
prepare (void)
{
  EVP_PKEY *pkey = EVP_EC_gen ("P-256");
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  uint8_t pub[65], msg[37 + CORE_SHA256_LEN];
  size_t publen = 0;
  int ok;

  core_sha256 (rp.id, strlen (rp.id), ad);
  ad[32] = PK_FLAG_UP | PK_FLAG_UV;
  ad[36] = 1;
  core_sha256 ("{\"type\":\"webauthn.get\"}", 23, cdh);
  memcpy (msg, ad, 37);
  memcpy (msg + 37, cdh, sizeof cdh);
  sig_len = sizeof sig;
  ok = pkey != NULL && md != NULL
       && EVP_PKEY_get_octet_string_param (pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                           sizeof pub, &publen) == 1
       && publen == 65
       && EVP_DigestSignInit (md, NULL, EVP_sha256 (), NULL, pkey) == 1
       && EVP_DigestSign (md, sig, &sig_len, msg, sizeof msg) == 1;
  memcpy (key.raw, pub + 1, 64);
  key.raw_len = 64;
  EVP_MD_CTX_free (md);
  EVP_PKEY_free (pkey);
  return ok && pk_authdata_parse (ad, sizeof ad, false, &parsed) == PK_OK
         ? 0 : -1;
}

static void *
run (void *arg)
{
  unsigned long *count = arg;
  double end = now () + seconds;

  while (now () < end)
    for (int i = 0; i < 16; i++)
      {
        if (pk_assertion_verify (ad, sizeof ad, &parsed, cdh, sig, sig_len,
                                 &key, &rp) != PK_OK)
          abort ();             /* the ceiling must verify for real */
        (*count)++;
      }
  return NULL;
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 1;
  unsigned long counts[64] = { 0 }, total = 0;
  pthread_t t[64];
  double start;

  seconds = argc > 2 ? atof (argv[2]) : 3;
  if (threads < 1 || threads > 64 || seconds <= 0 || prepare () != 0)
    {
      fputs ("usage: passkey_rate THREADS SECONDS\n", stderr);
      return 2;
    }
  start = now ();
  for (int i = 0; i < threads; i++)
    pthread_create (&t[i], NULL, run, &counts[i]);
  for (int i = 0; i < threads; i++)
    {
      pthread_join (t[i], NULL);
      total += counts[i];
    }
  seconds = now () - start;
  printf ("{\"verifies\": %lu, \"seconds\": %.3f, \"per_second\": %.1f, "
          "\"threads\": %d}\n", total, seconds, total / seconds, threads);
  return 0;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * fuzz_qr_tx.c -- the `guichet://tx` QR payload as the phone reads it
 * (authenticator/payload.c: ga_tx_parse, ga_tx_message), and the
 * transaction data T both sides sign (API.md, dynamic linking).
 *
 * Input: the scanned text.
 *
 * Properties besides "no crash": what the phone shows is what it signs --
 * T of a parsed payload has exactly seven '\n'-separated lines, the label
 * and the six values as parsed, none of them empty; the server's T
 * (authn_tx_data in authn/device.c) is the same bytes; and the offline
 * response codes of both sides agree.  A refused payload leaves the
 * struct zeroed.
 */
#include "fuzz.h"

#include "authenticator/guichet_authenticator.h"
#include "authenticator/ga_internal.h"
#include "authn/device.h"

static bool
all_zero (const void *p, size_t n)
{
  const unsigned char *c = p;

  for (size_t i = 0; i < n; i++)
    if (c[i] != 0)
      return false;
  return true;
}

static void
check_t (const ga_tx *tx)
{
  const char *want[7] = { "guichet-tx-v1", tx->id, tx->amount, tx->currency,
                          tx->payee_name, tx->payee_iban, tx->nonce };
  static const uint8_t seed[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  size_t len = 0;
  char *t = ga_tx_message (tx, &len), *server, *line, *save = NULL;
  char phone_code[GA_TX_CODE_DIGITS + 1], server_code[9];
  size_t i = 0;

  FUZZ_CHECK (t != NULL && strlen (t) == len);
  server = authn_tx_data (tx->id, tx->amount, tx->currency, tx->payee_name,
                          tx->payee_iban, tx->nonce);
  FUZZ_CHECK (server != NULL && strcmp (server, t) == 0);
  FUZZ_CHECK (ga_tx_code (seed, sizeof seed, t, len, phone_code) == GA_OK);
  FUZZ_CHECK (authn_tx_response_code (seed, sizeof seed, server,
                                      server_code) == 0);
  FUZZ_CHECK (strcmp (phone_code, server_code) == 0);
  for (line = strtok_r (t, "\n", &save); line != NULL;
       line = strtok_r (NULL, "\n", &save))
    {
      FUZZ_CHECK (i < 7);
      FUZZ_CHECK (strcmp (line, want[i]) == 0);
      i++;
    }
  FUZZ_CHECK (i == 7);
  free (server);
  free (t);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text;
  ga_tx tx;
  ga_error err = { 0 };
  ga_status st;

  if (size > 8192 || (text = fuzz_strndup (data, size)) == NULL)
    return 0;
  st = ga_tx_parse (text, &tx, &err);
  if (st == GA_OK)
    {
      const char *v[6] = { tx.id, tx.amount, tx.currency, tx.payee_name,
                           tx.payee_iban, tx.nonce };

      for (int i = 0; i < 6; i++)
        FUZZ_CHECK (v[i] != NULL && v[i][0] != '\0'
                    && !fuzz_has_control (v[i]));
      FUZZ_CHECK (strlen (tx.currency) == 3);
      FUZZ_CHECK (strspn (tx.amount, "0123456789.") == strlen (tx.amount));
      check_t (&tx);
      ga_tx_clear (&tx);
    }
  else
    {
      FUZZ_CHECK (st == GA_ERR_INVALID || st == GA_ERR_NOMEM);
      FUZZ_CHECK (err.code[0] != '\0');
    }
  FUZZ_CHECK (all_zero (&tx, sizeof tx));
  free (text);
  return 0;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli_tx.c -- guichet-authenticator tx: the pending list, and approving,
 * declining or showing the offline code of a payment -- each after
 * showing the customer what they approve (relying party, amount,
 * currency, payee, IBAN in groups of four) and asking, unless --yes.
 * What is shown goes to stderr; stdout carries the one JSON answer, with
 * "shown" so a caller can check what was displayed.  A transaction from
 * the pending list comes with the customer's security code (their
 * assurance code), shown with it -- "Your security code: K7F2Q9 -- if it
 * is missing or wrong, do not approve" -- so a customer can tell their
 * bank's request from a look-alike's; a scanned QR code carries none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli_int.h"

/* ================================================================
 * tx: what the customer sees, then what the phone signs
 * ================================================================ */

/* The IBAN in groups of four, as people read it. */
static void
print_iban (FILE *f, const char *iban)
{
  for (size_t i = 0; iban[i] != '\0'; i++)
    {
      if (i > 0 && i % 4 == 0)
        fputc (' ', f);
      fputc (iban[i], f);
    }
}

/* Show what is about to be signed (on stderr: stdout is the JSON answer)
 * and, unless --yes, ask.  @return true if the customer confirmed. */
static bool
confirm (const struct cli *cli, const ga_tx *tx, const char *rp,
         const char *code, const char *question)
{
  char line[16];

  fprintf (stderr, "Payment%s%s\n  Amount:  %s %s\n  To:      %s\n  IBAN:    ",
           rp != NULL ? " requested by " : "", rp != NULL ? rp : "",
           tx->amount, tx->currency, tx->payee_name);
  print_iban (stderr, tx->payee_iban);
  fputc ('\n', stderr);
  if (code != NULL)
    fprintf (stderr, "  Your security code: %s \xe2\x80\x94 if it is missing "
             "or wrong, do not approve\n", code);
  if (cli->yes)
    return true;
  fprintf (stderr, "%s [y/N] ", question);
  fflush (stderr);
  if (fgets (line, sizeof line, stdin) == NULL)
    return false;
  return strcmp (line, "y\n") == 0 || strcmp (line, "yes\n") == 0
         || strcmp (line, "y") == 0 || strcmp (line, "yes") == 0;
}

static json_t *
shown_json (const ga_tx *tx, const char *code)
{
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s?}", "id", tx->id,
                    "amount", tx->amount, "currency", tx->currency,
                    "payee_name", tx->payee_name, "payee_iban", tx->payee_iban,
                    "assurance_code", code);
}

/* GET the pending list (signed); @a wait is the ?wait= value or NULL. */
static ga_status
fetch_pending (ga_device *dev, const char *wait, char **answer,
               ga_error *err)
{
  char *path = NULL;
  ga_status rc;

  *answer = NULL;
  if (asprintf (&path, "/v1/devices/%s/transactions?status=pending%s%s",
                ga_device_id (dev), wait != NULL ? "&wait=" : "",
                wait != NULL ? wait : "") < 0)
    {
      snprintf (err->code, sizeof err->code, "out_of_memory");
      snprintf (err->message, sizeof err->message, "out of memory");
      return GA_ERR_NOMEM;
    }
  rc = ga_device_request (dev, "GET", path, NULL, answer, err);
  free (path);
  return rc;
}

/* The transaction @a id of the pending list, as the server sent it, with
 * the relying party's name in *rp and the customer's security code in
 * *code (each malloc'd or NULL).
 * @return 0, or the exit code of a printed failure. */
static int
find_pending (ga_device *dev, const char *id, ga_tx *tx, char **rp,
              char **code)
{
  ga_error err = { 0 };
  char *answer = NULL;
  json_t *root, *list, *item;
  size_t i;
  int rc = 0;

  *rp = NULL;
  *code = NULL;
  if (fetch_pending (dev, NULL, &answer, &err) != GA_OK)
    return fail_with (&err);
  root = json_loads (answer, 0, NULL);
  free (answer);
  list = json_object_get (root, "transactions");
  if (!json_is_array (list))
    rc = fail ("bad_server_answer", "the pending list is not a list");
  json_array_foreach (list, i, item)
    {
#define F(k) json_string_value (json_object_get (item, k))
      if (rc != 0 || F ("id") == NULL || strcmp (F ("id"), id) != 0)
        continue;
      if (ga_tx_from_fields (F ("id"), F ("amount"), F ("currency"),
                             F ("payee_name"), F ("payee_iban"), F ("nonce"),
                             tx, &err) != GA_OK)
        rc = fail_with (&err);
      else
        {
          if (F ("relying_party") != NULL)
            *rp = strdup (F ("relying_party"));
          if (F ("assurance_code") != NULL)
            *code = strdup (F ("assurance_code"));
        }
#undef F
      break;
    }
  if (rc == 0 && tx->id == NULL)
    rc = fail ("not_pending", "no pending transaction with this id for this "
               "phone");
  json_decref (root);
  return rc;
}

int
print_pending (const char *answer)
{
  json_t *obj = json_loads (answer != NULL ? answer : "", 0, NULL);
  json_t *txs = json_object_get (obj, "transactions"), *tx;
  size_t i;

  if (!json_is_array (txs))
    {
      json_decref (obj);
      return print_answer (answer);
    }
  json_array_foreach (txs, i, tx)
    {
      char *d = ga_tx_display (
        json_string_value (json_object_get (tx, "amount")),
        json_string_value (json_object_get (tx, "currency")),
        json_string_value (json_object_get (tx, "payee_name")),
        json_string_value (json_object_get (tx, "payee_iban")),
        json_string_value (json_object_get (tx, "assurance_code")));

      if (d != NULL && json_is_object (tx))
        {
          fprintf (stderr, "%s\n", d);
          json_object_set_new (tx, "display", json_string (d));
        }
      free (d);
    }
  return print_json (obj);
}

static int
cmd_tx_pending (const struct cli *cli, ga_device *dev)
{
  ga_error err = { 0 };
  char *answer = NULL;
  int rc;

  if (cli->argc != 2)
    return fail ("usage", "tx pending [--wait N]");
  rc = fetch_pending (dev, cli->wait, &answer, &err) == GA_OK
       ? print_pending (answer) : fail_with (&err);
  free (answer);
  return rc;
}

/* tx approve ID (from the pending list) or PAYLOAD (a scanned QR code). */
static int
cmd_tx_decide (const struct cli *cli, ga_device *dev, bool approve)
{
  ga_tx tx = { 0 };
  ga_error err = { 0 };
  char *answer = NULL, *rp = NULL, *code = NULL;
  const char *arg = cli->argc == 3 ? cli->argv[2] : NULL;
  int rc = 0;
  ga_status st;

  if (arg == NULL)
    return fail ("usage", approve ? "tx approve ID|PAYLOAD [--yes]"
                                  : "tx decline ID [--yes]");
  if (strncmp (arg, "guichet://", 10) == 0)
    rc = ga_tx_parse (arg, &tx, &err) == GA_OK ? 0 : fail_with (&err);
  else
    rc = find_pending (dev, arg, &tx, &rp, &code);
  if (rc == 0 && !confirm (cli, &tx, rp, code,
                           approve ? "Approve this payment?"
                                   : "Decline this payment?"))
    rc = fail ("not_confirmed", "the customer did not confirm");
  if (rc == 0)
    {
      st = approve ? ga_device_tx_approve (dev, &tx, &answer, &err)
                   : ga_device_tx_decline (dev, tx.id, &answer, &err);
      if (st != GA_OK)
        rc = fail_with (&err);
      else
        {
          json_t *out = json_loads (answer, 0, NULL);

          if (!json_is_object (out))
            out = json_pack ("{s:s}", "answer", answer);
          json_object_set_new (out, "shown", shown_json (&tx, code));
          rc = print_json (out);
        }
    }
  free (answer);
  free (rp);
  if (code != NULL)
    OPENSSL_cleanse (code, strlen (code));
  free (code);
  ga_tx_clear (&tx);
  return rc;
}

/* tx code PAYLOAD: the offline response code, for a phone without
 * network; nothing is sent. */
static int
cmd_tx_code (const struct cli *cli, ga_device *dev)
{
  ga_tx tx;
  ga_error err = { 0 };
  char code[GA_TX_CODE_DIGITS + 1];
  int rc;

  if (cli->argc != 3)
    return fail ("usage", "tx code PAYLOAD [--yes]");
  if (ga_tx_parse (cli->argv[2], &tx, &err) != GA_OK)
    return fail_with (&err);
  if (!confirm (cli, &tx, NULL, NULL,
                "Show the code that approves this payment?"))
    rc = fail ("not_confirmed", "the customer did not confirm");
  else if (ga_device_tx_response_code (dev, &tx, code, &err) != GA_OK)
    rc = fail_with (&err);
  else
    rc = print_json (json_pack ("{s:s, s:o}", "response_code", code,
                                "shown", shown_json (&tx, NULL)));
  OPENSSL_cleanse (code, sizeof code);
  ga_tx_clear (&tx);
  return rc;
}

int
cmd_tx (const struct cli *cli)
{
  ga_device *dev = NULL;
  const char *sub = cli->argc >= 2 ? cli->argv[1] : "";
  int rc;

  if (strcmp (sub, "pending") != 0 && strcmp (sub, "approve") != 0
      && strcmp (sub, "decline") != 0 && strcmp (sub, "code") != 0)
    return fail ("usage", "tx pending|approve|decline|code ...");
  if (cli->wait != NULL && strspn (cli->wait, "0123456789") != strlen (cli->wait))
    return fail ("usage", "--wait takes a number of seconds");
  if ((rc = load_device (cli, &dev)) != 0)
    return rc;
  if (strcmp (sub, "pending") == 0)
    rc = cmd_tx_pending (cli, dev);
  else if (strcmp (sub, "code") == 0)
    rc = cmd_tx_code (cli, dev);
  else
    rc = cmd_tx_decide (cli, dev, strcmp (sub, "approve") == 0);
  release_device (cli, dev);
  return rc;
}


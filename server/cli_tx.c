/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli_tx.c -- `guichetd tx evidence ID`: the evidence of an approved
 * transaction for an operator (a dispute, an auditor), whichever relying
 * party created it.  The output is the JSON of GET
 * /v1/transactions/{id}/evidence: T, and for a signature the DER in
 * base64url and the phone's key as PEM, which `openssl dgst -sha256
 * -verify` checks with nothing from Guichet (docs/transactions.md).
 */
#include <string.h>

#include "authn/transaction.h"
#include "server/cli.h"

int
srv_cli_tx (int argc, char **argv)
{
  struct core_db *db;
  json_t *out = NULL;
  enum core_err err;

  if (argc != 2 || 0 != strcmp (argv[0], "evidence") || '\0' == argv[1][0])
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: tx evidence ID");
  if (NULL == (db = core_db_thread ()))
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  err = authn_tx_evidence (db, argv[1], NULL, &out);
  if (CORE_ERR_WRONG_STATE == err)
    return srv_cli_fail (err, "only an approved transaction has evidence");
  if (CORE_ERR_NOT_FOUND == err)
    return srv_cli_fail (err, "no such transaction");
  if (CORE_OK != err)
    return srv_cli_fail (err, NULL);
  srv_cli_print (out);
  return 0;
}

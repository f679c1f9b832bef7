/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli_customer.c -- `guichetd customer create|unlock`: an operator's way to
 * bring an existing customer in with a standard authenticator app, and to
 * clear a lockout.  The otpauth URI carries the seed: it is printed once on
 * stdout and never logged.  `--pin -` reads the PIN from standard input, so
 * that it shows in no process list and no shell history.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "authn/authn.h"
#include "core/crypto.h"
#include "server/cli.h"

static int
customer_create (int argc, char **argv, struct core_db *db)
{
  const char *ref = srv_cli_opt (argc, argv, "--ref");
  char line[130];
  bool bad;
  const char *pin = srv_cli_secret_opt (argc, argv, "--pin", line,
                                        sizeof line, &bad);
  char customer_id[AUTHN_ID_MAX];
  char *uri = NULL;
  json_t *reasons = NULL;
  enum core_err err;

  if (bad)
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "--pin -: expected the PIN "
                         "on one line of standard input");
  if (NULL == pin || ! srv_cli_flag (argc, argv, "--otpauth"))
  {
    OPENSSL_cleanse (line, sizeof line);
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: customer create "
                         "--ref REF --pin PIN|- --otpauth");
  }
  err = authn_customer_create_otpauth (db, ref, pin, &reasons, customer_id,
                                       &uri);
  OPENSSL_cleanse (line, sizeof line);
  if (CORE_ERR_POLICY_REFUSED == err)
  {
    srv_cli_print (json_pack ("{s:{s:s, s:s}, s:o}", "error", "code",
                              core_err_name (err), "message",
                              "the PIN is refused by policy", "reasons",
                              NULL != reasons ? reasons : json_array ()));
    return 1;
  }
  if (NULL != reasons)
    json_decref (reasons);
  if (CORE_OK != err)
    return srv_cli_fail (err, CORE_ERR_CONFLICT == err
                         ? "a customer with that reference exists" : NULL);
  srv_cli_print (json_pack ("{s:s, s:s}", "customer_id", customer_id,
                            "otpauth_uri", uri));
  core_free_secret (uri, strlen (uri));
  return 0;
}

static int
customer_unlock (int argc, char **argv, struct core_db *db)
{
  const char *id = srv_cli_opt (argc, argv, "--customer");
  enum core_err err;

  if (NULL == id || '\0' == id[0])
    return srv_cli_fail (CORE_ERR_BAD_REQUEST,
                         "usage: customer unlock --customer ID");
  err = authn_customer_unlock (db, id);
  if (CORE_OK != err)
    return srv_cli_fail (err, NULL);
  srv_cli_print (json_pack ("{s:s, s:b}", "customer_id", id, "locked", 0));
  return 0;
}

int
srv_cli_customer (int argc, char **argv)
{
  struct core_db *db;

  if (argc < 1)
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: customer create|unlock");
  if (NULL == (db = core_db_thread ()))
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  if (0 == strcmp (argv[0], "create"))
    return customer_create (argc - 1, argv + 1, db);
  if (0 == strcmp (argv[0], "unlock"))
    return customer_unlock (argc - 1, argv + 1, db);
  return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: customer create|unlock");
}

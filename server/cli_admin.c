/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli_admin.c -- `guichetd admin create|passwd|unlock` (back-office staff)
 * and `guichetd audit verify` (walk the audit log's hash chain).
 *
 * A generated password and the otpauth URI (which holds the TOTP seed) are
 * printed once on stdout, wiped after, and never logged.  `audit verify`
 * exits 1 when the chain is broken, naming the first row that fails.
 */
#include <string.h>

#include "core/audit.h"
#include "core/crypto.h"
#include "server/admin.h"
#include "server/cli.h"

static void
free_secret (char *s)
{
  if (NULL != s)
    core_free_secret (s, strlen (s));
}

static int
admin_create (int argc, char **argv, struct core_db *db)
{
  const char *user = srv_cli_opt (argc, argv, "--username");
  const char *role = srv_cli_opt (argc, argv, "--role");
  char *password = NULL, *uri = NULL;
  enum core_err err;

  if (NULL == user || NULL == role)
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: admin create "
                         "--username U --role reviewer|admin");
  err = srv_admin_create (db, user, role, &password, &uri);
  if (CORE_ERR_INVALID_FIELD == err)
    return srv_cli_fail (err, "the user name must be 1-63 of a-z 0-9 . _ - "
                         "(not starting with . _ -) and the role reviewer "
                         "or admin");
  if (CORE_OK != err)
    return srv_cli_fail (err, CORE_ERR_CONFLICT == err
                         ? "a back-office user with that name exists" : NULL);
  srv_cli_print (json_pack ("{s:s, s:s, s:s, s:s}", "username", user,
                            "role", role, "password", password,
                            "otpauth_uri", uri));
  free_secret (password);
  free_secret (uri);
  return 0;
}

static int
admin_passwd (int argc, char **argv, struct core_db *db)
{
  const char *user = srv_cli_opt (argc, argv, "--username");
  char *password = NULL;
  enum core_err err;

  if (NULL == user)
    return srv_cli_fail (CORE_ERR_BAD_REQUEST,
                         "usage: admin passwd --username U");
  err = srv_admin_reset_password (db, user, &password);
  if (CORE_OK != err)
    return srv_cli_fail (err, CORE_ERR_NOT_FOUND == err
                         ? "no back-office user with that name" : NULL);
  srv_cli_print (json_pack ("{s:s, s:s}", "username", user,
                            "password", password));
  free_secret (password);
  return 0;
}

static int
admin_unlock (int argc, char **argv, struct core_db *db)
{
  const char *user = srv_cli_opt (argc, argv, "--username");
  enum core_err err;

  if (NULL == user)
    return srv_cli_fail (CORE_ERR_BAD_REQUEST,
                         "usage: admin unlock --username U");
  err = srv_admin_unlock (db, user);
  if (CORE_OK != err)
    return srv_cli_fail (err, CORE_ERR_NOT_FOUND == err
                         ? "no back-office user with that name" : NULL);
  srv_cli_print (json_pack ("{s:s, s:b}", "username", user, "locked", 0));
  return 0;
}

int
srv_cli_admin (int argc, char **argv)
{
  struct core_db *db;

  if (argc < 1)
    return srv_cli_fail (CORE_ERR_BAD_REQUEST,
                         "usage: admin create|passwd|unlock ...");
  if (NULL == (db = core_db_thread ()))
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  if (0 == strcmp (argv[0], "create"))
    return admin_create (argc - 1, argv + 1, db);
  if (0 == strcmp (argv[0], "passwd"))
    return admin_passwd (argc - 1, argv + 1, db);
  if (0 == strcmp (argv[0], "unlock"))
    return admin_unlock (argc - 1, argv + 1, db);
  return srv_cli_fail (CORE_ERR_BAD_REQUEST,
                       "usage: admin create|passwd|unlock ...");
}

int
srv_cli_audit (int argc, char **argv)
{
  struct core_db *db;
  long long rows = 0, broken = 0;
  char reason[256];
  int rc;

  if (argc < 1 || 0 != strcmp (argv[0], "verify"))
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: audit verify");
  if (NULL == (db = core_db_thread ()))
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  rc = core_audit_verify (db, &rows, &broken, reason, sizeof reason);
  if (rc < 0)
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, reason);
  if (1 == rc)
  {
    srv_cli_print (json_pack ("{s:b, s:I}", "ok", 1, "rows",
                              (json_int_t) rows));
    return 0;
  }
  srv_cli_print (json_pack ("{s:b, s:I, s:I, s:s}", "ok", 0, "rows",
                            (json_int_t) rows, "first_broken",
                            (json_int_t) broken, "reason", reason));
  return 1;
}

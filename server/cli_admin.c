/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli_admin.c -- `guichetd admin create|passwd|unlock` (back-office staff)
 * and `guichetd audit verify` (walk the audit log's hash chain).
 *
 * A generated password and the otpauth URI (which holds the TOTP seed) are
 * printed once on stdout, wiped after, and never logged.  `audit verify`
 * exits 1 when the chain is broken, naming the first row that fails, or
 * when it no longer holds the row given with --anchor (the head printed
 * by an earlier verify): that is how removing the newest rows shows.
 */
#include <stdio.h>
#include <stdlib.h>
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
                         "--username U --role reviewer|advisor|support|admin");
  err = srv_admin_create (db, user, role, &password, &uri);
  if (CORE_ERR_INVALID_FIELD == err)
    return srv_cli_fail (err, "the user name must be 1-63 of a-z 0-9 . _ - "
                         "(not starting with . _ -) and the role reviewer, "
                         "advisor, support or admin");
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

/* "ID:HASH" (as verify prints the head) into @a a.  @return false if it
   is not one. */
static bool
parse_anchor (const char *text, struct core_audit_anchor *a)
{
  const char *colon = strchr (text, ':');
  char *end;

  if (NULL == colon || 2 * CORE_SHA256_LEN != strlen (colon + 1))
    return false;
  a->id = strtoll (text, &end, 10);
  return end == colon && a->id > 0
         && CORE_SHA256_LEN == core_hex_decode (colon + 1, a->hash,
                                                sizeof a->hash);
}

/* {"id", "hash", "anchor": "ID:HASH"} of the head (the anchor to record
   for the next verify), or null for an empty log. */
static json_t *
anchor_json (const struct core_audit_anchor *a)
{
  char hex[2 * CORE_SHA256_LEN + 1], text[24 + sizeof hex];

  if (0 == a->id)
    return json_null ();
  core_hex_encode (a->hash, sizeof a->hash, hex);
  snprintf (text, sizeof text, "%lld:%s", a->id, hex);
  return json_pack ("{s:I, s:s, s:s}", "id", (json_int_t) a->id, "hash", hex,
                    "anchor", text);
}

int
srv_cli_audit (int argc, char **argv)
{
  const char *anchor_opt = srv_cli_opt (argc, argv, "--anchor");
  struct core_audit_anchor anchor, head;
  struct core_db *db;
  long long rows = 0, broken = 0;
  char reason[256];
  int rc;

  if (argc < 1 || 0 != strcmp (argv[0], "verify")
      || (NULL != anchor_opt && ! parse_anchor (anchor_opt, &anchor)))
    return srv_cli_fail (CORE_ERR_BAD_REQUEST,
                         "usage: audit verify [--anchor ID:HASH]");
  if (NULL == (db = core_db_thread ()))
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  rc = core_audit_verify (db, NULL != anchor_opt ? &anchor : NULL, &head,
                          &rows, &broken, reason, sizeof reason);
  if (rc < 0)
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, reason);
  if (1 == rc)
  {
    srv_cli_print (json_pack ("{s:b, s:I, s:o}", "ok", 1, "rows",
                              (json_int_t) rows, "head", anchor_json (&head)));
    return 0;
  }
  srv_cli_print (json_pack ("{s:b, s:I, s:I, s:s}", "ok", 0, "rows",
                            (json_int_t) rows, "first_broken",
                            (json_int_t) broken, "reason", reason));
  return 1;
}

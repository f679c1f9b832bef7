/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli_tokens.c -- `guichetd tokens import FILE [--key HEX | --password P]
 * [--partial]` and `guichetd tokens list [--state S] [--serial X]`: the
 * operator's way to load a vendor's PSKC file into the hardware token
 * inventory, printing the same JSON as POST /v1/admin/tokens/import.
 *
 * The import is audited with the actor "cli".  The file's bytes are
 * cleansed once imported; the key and password are never printed or
 * logged.  Given as "-", either is read from standard input: on the
 * command line it would be visible to other local users while the command
 * runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authn/tokens.h"
#include "core/crypto.h"
#include "server/cli.h"

#define FILE_MAX (256L * 1024 * 1024)

/* The whole of @a path, malloc'd.  @return NULL (with a message) if it
   cannot be read. */
static char *
slurp (const char *path, size_t *len, const char **why)
{
  FILE *f = fopen (path, "rb");
  char *buf = NULL;
  long size;

  *why = "the file cannot be read";
  if (f == NULL || fseek (f, 0, SEEK_END) != 0 || (size = ftell (f)) < 0
      || fseek (f, 0, SEEK_SET) != 0)
    goto done;
  *why = "the file is larger than 256 MiB";
  if (size > FILE_MAX || (buf = malloc ((size_t) size + 1)) == NULL)
    goto done;
  *len = fread (buf, 1, (size_t) size, f);
  buf[*len] = '\0';
  *why = NULL;
done:
  if (f != NULL)
    fclose (f);
  if (*why != NULL)
    {
      free (buf);
      buf = NULL;
    }
  return buf;
}

static int
print_result (enum core_err err, const struct authn_tokens_import_res *res)
{
  if (err == CORE_OK)
    {
      srv_cli_print (json_pack ("{s:I, s:I, s:O, s:s, s:I, s:I}", "imported",
                                (json_int_t) res->imported, "duplicates",
                                (json_int_t) res->duplicates, "rejected",
                                res->rejected, "import_batch", res->batch,
                                "key_packages",
                                (json_int_t) res->key_packages, "ms",
                                (json_int_t) (res->seconds * 1000 + 0.5)));
      return 0;
    }
  if (res->reason == NULL)
    return srv_cli_fail (err, NULL);
  srv_cli_print (json_pack ("{s:{s:s, s:s}, s:[s], s:o, s:i, s:i}", "error",
                            "code", core_err_name (err), "message",
                            res->message, "reasons", res->reason, "rejected",
                            res->rejected != NULL
                            ? json_incref (res->rejected) : json_array (),
                            "imported", 0, "duplicates", 0));
  return 1;
}

static int
tokens_import (int argc, char **argv, struct core_db *db)
{
  char line[1026];
  bool bad_key, bad_password;
  struct authn_tokens_import_req req = {
    .key_hex = srv_cli_opt (argc, argv, "--key"),
    .password = srv_cli_opt (argc, argv, "--password"),
    .partial = srv_cli_flag (argc, argv, "--partial"), .actor = "cli",
  };
  struct authn_tokens_import_res res = { .rejected = NULL };
  const char *why = NULL;
  char *buf;
  enum core_err err;
  int rc;

  if (argc < 1 || argv[0][0] == '-')
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: tokens import FILE "
                         "[--key HEX|- | --password P|-] [--partial]");
  /* at most one of them can come from standard input */
  if (NULL != req.key_hex)
    req.key_hex = srv_cli_secret_opt (argc, argv, "--key", line, sizeof line,
                                      &bad_key);
  else
    bad_key = false;
  if (NULL != req.password && NULL == req.key_hex && !bad_key)
    req.password = srv_cli_secret_opt (argc, argv, "--password", line,
                                       sizeof line, &bad_password);
  else
    bad_password = false;
  if (bad_key || bad_password)
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "expected the secret on one "
                         "line of standard input");
  if ((buf = slurp (argv[0], &req.len, &why)) == NULL)
  {
    OPENSSL_cleanse (line, sizeof line);
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, why);
  }
  req.xml = buf;
  err = authn_tokens_import (db, &req, &res);
  OPENSSL_cleanse (buf, req.len);
  OPENSSL_cleanse (line, sizeof line);
  free (buf);
  rc = print_result (err, &res);
  authn_tokens_import_res_clear (&res);
  return rc;
}

static int
tokens_list (int argc, char **argv, struct core_db *db)
{
  struct authn_tokens_filter f = {
    .state = srv_cli_opt (argc, argv, "--state"),
    .serial = srv_cli_opt (argc, argv, "--serial"),
    .limit = AUTHN_TOKENS_LIST_MAX, .offset = 0,
  };
  json_t *out = NULL;
  enum core_err err = authn_tokens_list (db, &f, &out);

  if (err != CORE_OK)
    return srv_cli_fail (err, CORE_ERR_BAD_REQUEST == err
                         ? "--state must be in_stock, assigned, active, "
                           "lost or revoked" : NULL);
  srv_cli_print (out);
  return 0;
}

int
srv_cli_tokens (int argc, char **argv)
{
  struct core_db *db;

  if (argc < 1)
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: tokens import|list");
  if (NULL == (db = core_db_thread ()))
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  if (0 == strcmp (argv[0], "import"))
    return tokens_import (argc - 1, argv + 1, db);
  if (0 == strcmp (argv[0], "list"))
    return tokens_list (argc - 1, argv + 1, db);
  return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: tokens import|list");
}

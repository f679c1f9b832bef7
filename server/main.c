/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * main.c -- guichetd: the service and its operator commands.
 *
 *   guichetd [--config FILE] serve
 *   guichetd [--config FILE] migrate
 *   guichetd keyring create FILE
 *   guichetd apikey create --name NAME [--webhook URL]
 *   guichetd apikey webhook --name NAME (--url URL | --remove)
 *   guichetd customer create --ref REF --pin PIN --otpauth
 *   guichetd customer unlock --customer ID
 *   guichetd tokens import FILE [--key HEX | --password P] [--partial]
 *   guichetd tokens list [--state S] [--serial X]
 *   guichetd admin create --username U --role reviewer|admin
 *   guichetd admin passwd|unlock --username U
 *   guichetd audit verify
 *
 * Every command prints exactly one JSON object on stdout (an error object
 * and a non-zero exit on failure); logs go to stderr.  Secrets printed by a
 * command (a new API key, an otpauth URI) are shown once and never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authn/authn.h"
#include "authn/tokens.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/migrate.h"
#include "enrol/enrol.h"
#include "enrol/review.h"
#include "notify/notify.h"
#include "risk/risk.h"
#include "server/admin.h"
#include "server/apikey.h"
#include "server/cli.h"
#include "server/server.h"

static struct core_config config;

/* Print {"error":{...}} and return the exit code for it. */
int
srv_cli_fail (enum core_err err, const char *message)
{
  json_t *o = json_pack ("{s:{s:s, s:s}}", "error", "code",
                         core_err_name (err), "message",
                         NULL != message ? message : core_err_info (err)->hint);

  srv_cli_print (o);
  return 1;
}

void
srv_cli_print (json_t *o)
{
  char *s = (NULL != o) ? json_dumps (o, JSON_COMPACT) : NULL;

  if (NULL != s)
  {
    puts (s);
    fflush (stdout);
    core_free_secret (s, strlen (s));
  }
  if (NULL != o)
    json_decref (o);
}

const char *
srv_cli_opt (int argc, char **argv, const char *name)
{
  for (int i = 0; i < argc; i++)
    if (0 == strcmp (argv[i], name))
      return (i + 1 < argc) ? argv[i + 1] : "";
  return NULL;
}

const char *
srv_cli_secret_opt (int argc, char **argv, const char *name, char *buf,
                    size_t len, bool *bad)
{
  const char *v = srv_cli_opt (argc, argv, name);
  size_t n;

  *bad = false;
  if (NULL == v || 0 != strcmp (v, "-"))
    return v;
  /* unbuffered: no copy of the secret left in stdio's buffer */
  (void) setvbuf (stdin, NULL, _IONBF, 0);
  if (NULL == fgets (buf, (int) len, stdin))
    n = 0;
  else
    n = strcspn (buf, "\r\n");
  if (0 == n || ('\0' == buf[n] && n == len - 1))
  {
    OPENSSL_cleanse (buf, len);
    *bad = true;
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

bool
srv_cli_flag (int argc, char **argv, const char *name)
{
  for (int i = 0; i < argc; i++)
    if (0 == strcmp (argv[i], name))
      return true;
  return false;
}

static void
register_statements (void)
{
  srv_apikey_register_statements ();
  authn_register_statements ();
  authn_tokens_register_statements ();
  enrol_register_statements ();
  risk_register_statements ();
  core_audit_register_statements ();
  enrol_review_register_statements ();
  srv_admin_register_statements ();
  notify_register_statements ();
}

/* Database and keyring for commands that need them. @return 0 or exit code */
static int
setup_runtime (bool need_keyring)
{
  char err[256];

  if ('\0' == config.database_url[0])
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE,
                         "no database configured: set database_url or "
                         "GUICHET_DATABASE_URL (./dev does this for you)");
  if (need_keyring
      && 0 != core_keyring_load (config.master_key_file, err, sizeof err))
    return srv_cli_fail (CORE_ERR_INTERNAL, err);
  core_db_setup (config.database_url);
  register_statements ();
  return 0;
}

static int
cmd_migrate (void)
{
  PGconn *conn;
  char err[512];
  int applied = 0;
  int rc;

  if (0 != (rc = setup_runtime (false)))
    return rc;
  conn = PQconnectdb (config.database_url);
  if (CONNECTION_OK != PQstatus (conn))
  {
    snprintf (err, sizeof err, "cannot connect: %s", PQerrorMessage (conn));
    PQfinish (conn);
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, err);
  }
  rc = core_migrate_apply (conn, config.migrations_dir, &applied, err,
                           sizeof err);
  PQfinish (conn);
  if (0 != rc)
    return srv_cli_fail (CORE_ERR_INTERNAL, err);
  srv_cli_print (json_pack ("{s:i, s:i}", "applied", applied, "pending", 0));
  return 0;
}

static int
cmd_keyring (int argc, char **argv)
{
  char err[256];

  if (argc < 2 || 0 != strcmp (argv[0], "create"))
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: keyring create FILE");
  if (0 != core_keyring_create (argv[1], err, sizeof err))
    return srv_cli_fail (CORE_ERR_CONFLICT, err);
  if (0 != core_keyring_load (argv[1], err, sizeof err))
    return srv_cli_fail (CORE_ERR_INTERNAL, err);
  srv_cli_print (json_pack ("{s:s, s:s}", "file", argv[1], "key_id",
                            core_keyring_current_id ()));
  return 0;
}

/* A webhook for key @a name into @a out ("webhook_url", "webhook_secret"),
   in the caller's transaction when @a in_tx.  @return CORE_OK or why not. */
static enum core_err
set_webhook (struct core_db *db, const char *name, const char *url,
             bool in_tx, json_t *out)
{
  char *secret = NULL;
  enum core_err err = in_tx ? notify_webhook_set_tx (db, name, url, &secret)
                      : notify_webhook_set (db, name, url, &secret);

  if (CORE_OK != err)
    return err;
  json_object_set_new (out, "webhook_url", json_string (url));
  json_object_set_new (out, "webhook_secret", json_string (secret));
  core_free_secret (secret, strlen (secret));
  return CORE_OK;
}

/* apikey webhook --name N (--url URL | --remove) */
static int
cmd_apikey_webhook (struct core_db *db, const char *name, int argc,
                    char **argv)
{
  const char *url = srv_cli_opt (argc, argv, "--url");
  bool remove = srv_cli_flag (argc, argv, "--remove");
  json_t *out;
  enum core_err err;

  if ((NULL == url) == ! remove)
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, "usage: apikey webhook "
                         "--name NAME (--url URL | --remove)");
  if (remove)
  {
    err = notify_webhook_remove (db, name);
    if (CORE_OK != err)
      return srv_cli_fail (err, CORE_ERR_NOT_FOUND == err
                           ? "no webhook for that API key" : NULL);
    srv_cli_print (json_pack ("{s:s, s:b}", "name", name, "webhook", 0));
    return 0;
  }
  out = json_pack ("{s:s}", "name", name);
  err = set_webhook (db, name, url, false, out);
  if (CORE_OK != err)
  {
    json_decref (out);
    return srv_cli_fail (err, CORE_ERR_INVALID_FIELD == err
                         ? notify_webhook_url_problem (url)
                         : CORE_ERR_NOT_FOUND == err
                         ? "no API key with that name" : NULL);
  }
  srv_cli_print (out);
  return 0;
}

static int
cmd_apikey (int argc, char **argv)
{
  const char *name = srv_cli_opt (argc, argv, "--name");
  const char *webhook = srv_cli_opt (argc, argv, "--webhook");
  struct core_db *db;
  char *key = NULL;
  json_t *out;
  enum core_err err;
  int rc;

  if (argc < 1 || NULL == name || (0 != strcmp (argv[0], "create")
                                   && 0 != strcmp (argv[0], "webhook")))
    return srv_cli_fail (CORE_ERR_BAD_REQUEST,
                         "usage: apikey create --name NAME [--webhook URL] "
                         "| apikey webhook --name NAME (--url URL | --remove)");
  /* a bad URL is refused before any key is made */
  if (NULL != webhook && NULL != notify_webhook_url_problem (webhook))
    return srv_cli_fail (CORE_ERR_INVALID_FIELD,
                         notify_webhook_url_problem (webhook));
  if (0 != (rc = setup_runtime (NULL != webhook
                                || 0 == strcmp (argv[0], "webhook"))))
    return rc;
  if (NULL == (db = core_db_thread ()))
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  if (0 == strcmp (argv[0], "webhook"))
    return cmd_apikey_webhook (db, name, argc, argv);
  /* the key and its webhook commit together, or neither does */
  if (NULL != webhook && core_db_command (db, "BEGIN") < 0)
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  err = srv_apikey_create (db, name, &key);
  out = CORE_OK == err ? json_pack ("{s:s, s:s}", "name", name, "key", key)
        : NULL;
  if (NULL != key)
    core_free_secret (key, strlen (key));
  if (CORE_OK == err && NULL != webhook)
    err = set_webhook (db, name, webhook, true, out);
  if (NULL != webhook && (CORE_OK != err
                          || core_db_command (db, "COMMIT") < 0))
  {
    (void) core_db_command (db, "ROLLBACK");
    if (CORE_OK == err)
      err = CORE_ERR_DATABASE_UNAVAILABLE;
  }
  if (CORE_OK != err)
  {
    json_decref (out);
    return srv_cli_fail (err, CORE_ERR_CONFLICT == err
                         ? "an API key with that name exists" : NULL);
  }
  srv_cli_print (out);
  return 0;
}

static void
usage (void)
{
  fputs ("usage: guichetd [--config FILE] COMMAND\n"
         "  serve                                   run the HTTP service\n"
         "  migrate                                 apply database migrations\n"
         "  keyring create FILE                     make a master key file\n"
         "  apikey create --name NAME [--webhook URL]  make a relying-party key\n"
         "  apikey webhook --name NAME (--url URL | --remove)\n"
         "  customer create --ref REF --pin PIN --otpauth\n"
         "  customer unlock --customer ID\n"
         "  tokens import FILE [--key HEX | --password P] [--partial]\n"
         "  tokens list [--state S] [--serial X]\n"
         "  admin create --username U --role reviewer|admin\n"
         "  admin passwd|unlock --username U\n"
         "  audit verify                            check the audit hash chain\n",
         stderr);
}

int
main (int argc, char **argv)
{
  const char *config_file = NULL;
  char err[256];
  enum core_log_level level;
  int rc;

  if (argc >= 3 && 0 == strcmp (argv[1], "--config"))
  {
    config_file = argv[2];
    argc -= 2;
    argv += 2;
  }
  if (argc < 2 || 0 == strcmp (argv[1], "--help"))
  {
    usage ();
    return argc < 2 ? 2 : 0;
  }
  if (0 != core_config_load (config_file, &config, err, sizeof err))
    return srv_cli_fail (CORE_ERR_BAD_REQUEST, err);
  core_cfg = &config;
  if (0 == core_log_parse_level (config.log_level, &level))
    core_log_set_level (level);
  if (0 == strcmp (argv[1], "serve"))
  {
    rc = setup_runtime (true);
    if (0 == rc)
    {
      enrol_sanctions_reload ();
      if (risk_reload () < 0)
        rc = srv_cli_fail (CORE_ERR_INTERNAL, "the risk rules could not be "
                           "loaded (see the log)");
      else
        rc = srv_serve ();
      risk_shutdown ();
    }
  }
  else if (0 == strcmp (argv[1], "migrate"))
    rc = cmd_migrate ();
  else if (0 == strcmp (argv[1], "keyring"))
    rc = cmd_keyring (argc - 2, argv + 2);
  else if (0 == strcmp (argv[1], "apikey"))
    rc = cmd_apikey (argc - 2, argv + 2);
  else if (0 == strcmp (argv[1], "admin"))
    rc = (0 != (rc = setup_runtime (true))) ? rc
         : srv_cli_admin (argc - 2, argv + 2);
  else if (0 == strcmp (argv[1], "audit"))
    rc = (0 != (rc = setup_runtime (false))) ? rc
         : srv_cli_audit (argc - 2, argv + 2);
  else if (0 == strcmp (argv[1], "tokens"))
    rc = (0 != (rc = setup_runtime (true))) ? rc
         : srv_cli_tokens (argc - 2, argv + 2);
  else if (0 == strcmp (argv[1], "customer"))
    rc = (0 != (rc = setup_runtime (true))) ? rc
         : srv_cli_customer (argc - 2, argv + 2);
  else
  {
    usage ();
    rc = srv_cli_fail (CORE_ERR_BAD_REQUEST, "unknown command");
  }
  core_db_thread_close ();
  core_config_free (&config);
  return rc;
}

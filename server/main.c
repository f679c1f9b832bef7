/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * main.c -- guichetd: the service and its operator commands.
 *
 *   guichetd [--config FILE] serve
 *   guichetd [--config FILE] migrate
 *   guichetd keyring create FILE
 *   guichetd keyring add-token FILE
 *   guichetd apikey create --name NAME [--origin ORIGIN]... [--webhook URL]
 *   guichetd apikey webhook --name NAME (--url URL | --remove)
 *   guichetd customer create --ref REF --pin PIN --otpauth
 *   guichetd customer unlock --customer ID
 *   guichetd tokens import FILE [--key HEX | --password P] [--partial]
 *   guichetd tokens list [--state S] [--serial X]
 *   guichetd admin create --username U --role reviewer|admin
 *   guichetd admin passwd|unlock --username U
 *   guichetd audit verify
 *   guichetd tx evidence ID
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
#include "authn/transaction.h"
#include "authn/passkey.h"
#include "authn/tokens.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/migrate.h"
#include "core/ratelimit.h"
#include "core/retention.h"
#include "enrol/assist.h"
#include "enrol/enrol.h"
#include "enrol/passkey.h"
#include "enrol/review.h"
#include "notify/notify.h"
#include "risk/risk.h"
#include "server/admin.h"
#include "server/apikey.h"
#include "server/cli.h"
#include "server/handlers.h"
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
  authn_tx_register_statements ();
  authn_passkey_register_statements ();
  enrol_passkey_register_statements ();
  enrol_register_statements ();
  risk_register_statements ();
  core_audit_register_statements ();
  core_ratelimit_register ();
  enrol_review_register_statements ();
  enrol_assist_register_statements ();
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

/* Bring stored identifiers to the current token key (enrol/tokens.c).
   @return the rows changed, or -1 (logged) */
static long
rekey_tokens (void)
{
  struct core_db *db = core_db_thread ();
  long rows = -1;
  enum core_err err;

  if (NULL == db)
    LOG_WARN ("tokens not rekeyed: the database cannot be reached");
  else if (0 != core_migrate_pending (core_db_conn (db),
                                      config.migrations_dir))
    LOG_WARN ("tokens not rekeyed: migrations are pending "
              "(guichetd migrate does it)");
  else if (CORE_OK != (err = enrol_tokens_rekey (db, &rows)))
    LOG_ERROR ("tokens not rekeyed: %s", core_err_name (err));
  return rows;
}

static int
cmd_migrate (void)
{
  PGconn *conn;
  char err[512];
  int applied = 0;
  long rekeyed = -1;
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
  /* The rekey needs the token key: done here when this process may read
     the key file, else by guichetd serve at start. */
  if (0 == core_keyring_load (config.master_key_file, err, sizeof err)
      && core_token_keys () > 0)
    rekeyed = rekey_tokens ();
  else
    LOG_WARN ("tokens not rekeyed here (no token key readable): "
              "guichetd serve does it at start");
  srv_cli_print (json_pack ("{s:i, s:i, s:o}", "applied", applied, "pending",
                            0, "rekeyed", rekeyed >= 0
                            ? json_integer (rekeyed) : json_null ()));
  return 0;
}

static int
cmd_keyring (int argc, char **argv)
{
  char err[256], id[80];

  if (argc >= 2 && 0 == strcmp (argv[0], "add-token"))
  {
    if (0 != core_keyring_add_token (argv[1], id, sizeof id, err, sizeof err))
      return srv_cli_fail (CORE_ERR_CONFLICT, err);
    srv_cli_print (json_pack ("{s:s, s:s}", "file", argv[1], "token_key_id",
                              id));
    return 0;
  }
  if (argc < 2 || 0 != strcmp (argv[0], "create"))
    return srv_cli_fail (CORE_ERR_BAD_REQUEST,
                         "usage: keyring create|add-token FILE");
  if (0 != core_keyring_create (argv[1], err, sizeof err))
    return srv_cli_fail (CORE_ERR_CONFLICT, err);
  if (0 != core_keyring_load (argv[1], err, sizeof err))
    return srv_cli_fail (CORE_ERR_INTERNAL, err);
  srv_cli_print (json_pack ("{s:s, s:s, s:s}", "file", argv[1], "key_id",
                            core_keyring_current_id (), "token_key_id",
                            core_token_key_id (0)));
  return 0;
}

/* Every value of a repeated option @a name, in order (at most @a max).
   @return how many, or -1 if one has no value. */
static int
cli_opts (int argc, char **argv, const char *name, const char **out,
          int max)
{
  int n = 0;

  for (int i = 0; i < argc; i++)
    if (0 == strcmp (argv[i], name))
    {
      if (i + 1 >= argc || '-' == argv[i + 1][0] || n == max)
        return -1;
      out[n++] = argv[++i];
    }
  return n;
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

/* The origins of a new key as the answer shows them, or NULL for none
   (the answer stays as it was for keys without them). */
static json_t *
origins_answer (const char *const *origins, int n)
{
  json_t *list;

  if (0 == n)
    return NULL;
  list = json_array ();
  for (int i = 0; i < n; i++)
  {
    char one[AUTHN_TX_ORIGIN_MAX];

    if (0 == authn_tx_origin (origins[i], false, one))
      json_array_append_new (list, json_string (one));
  }
  return list;
}

/* apikey create: the key, its origins and its webhook commit together, or
   nothing does; the key and the webhook's signing secret are printed once. */
static int
cmd_apikey_create (struct core_db *db, const char *name,
                   const char *const *origins, int n_origins,
                   const char *webhook)
{
  const char *bad = NULL;
  char *key = NULL;
  char msg[256];
  json_t *out = NULL;
  enum core_err err;

  if (core_db_command (db, "BEGIN") < 0)
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  err = srv_apikey_create (db, name, origins, (size_t) n_origins, &key,
                           &bad);
  if (CORE_OK == err)
    out = json_pack ("{s:s, s:s, s:o*}", "name", name, "key", key,
                     "origins", origins_answer (origins, n_origins));
  if (NULL != key)
    core_free_secret (key, strlen (key));
  if (CORE_OK == err && NULL != webhook)
    err = set_webhook (db, name, webhook, true, out);
  if (CORE_OK == err && core_db_command (db, "COMMIT") < 0)
    err = CORE_ERR_DATABASE_UNAVAILABLE;
  if (CORE_OK == err)
  {
    srv_cli_print (out);
    return 0;
  }
  (void) core_db_command (db, "ROLLBACK");
  json_decref (out);
  if (CORE_ERR_INVALID_FIELD == err && NULL != bad)
  {
    snprintf (msg, sizeof msg, "--origin %.80s: not an https:// origin "
              "(scheme://host[:port]; http only on a loopback host)", bad);
    return srv_cli_fail (err, msg);
  }
  return srv_cli_fail (err, CORE_ERR_CONFLICT == err
                       ? "an API key with that name exists" : NULL);
}

static int
cmd_apikey (int argc, char **argv)
{
  const char *name = srv_cli_opt (argc, argv, "--name");
  const char *webhook = srv_cli_opt (argc, argv, "--webhook");
  const char *origins[32];
  int n_origins = cli_opts (argc, argv, "--origin", origins, 32);
  bool create = argc >= 1 && 0 == strcmp (argv[0], "create");
  bool hook = argc >= 1 && 0 == strcmp (argv[0], "webhook");
  struct core_db *db;
  int rc;

  if (NULL == name || n_origins < 0 || ! (create || hook))
    return srv_cli_fail (CORE_ERR_BAD_REQUEST,
                         "usage: apikey create --name NAME [--origin "
                         "https://shop.example]... (at most 32) [--webhook "
                         "URL] | apikey webhook --name NAME (--url URL | "
                         "--remove)");
  /* a bad URL is refused before any key is made */
  if (NULL != webhook && NULL != notify_webhook_url_problem (webhook))
    return srv_cli_fail (CORE_ERR_INVALID_FIELD,
                         notify_webhook_url_problem (webhook));
  if (0 != (rc = setup_runtime (NULL != webhook || hook)))
    return rc;
  if (NULL == (db = core_db_thread ()))
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  if (hook)
    return cmd_apikey_webhook (db, name, argc, argv);
  return cmd_apikey_create (db, name, origins, n_origins, webhook);
}

/* One retention pass, as guichetd serve runs every purge_interval_s:
   prints {"ran": bool, "purged": {table: rows}}. */
static int
cmd_purge (void)
{
  struct core_db *db;
  json_t *report = NULL;
  int rc;

  if (0 != (rc = setup_runtime (false)))
    return rc;
  if (NULL == (db = core_db_thread ()))
    return srv_cli_fail (CORE_ERR_DATABASE_UNAVAILABLE, NULL);
  if (0 != core_retention_run (db, &report))
  {
    json_decref (report);
    return srv_cli_fail (core_db_alive (db, false) ? CORE_ERR_INTERNAL
                         : CORE_ERR_DATABASE_UNAVAILABLE,
                         "the purge failed (see the log)");
  }
  srv_cli_print (report);
  return 0;
}

static void
usage (void)
{
  fputs ("usage: guichetd [--config FILE] COMMAND\n"
         "  serve                                   run the HTTP service\n"
         "  migrate                                 apply database migrations\n"
         "  keyring create FILE                     make a master key file\n"
         "  keyring add-token FILE                  add a token key (current)\n"
         "  apikey create --name NAME [--origin https://shop.example]...\n"
         "                [--webhook URL]           make a relying-party key\n"
         "  apikey webhook --name NAME (--url URL | --remove)\n"
         "  customer create --ref REF --pin PIN --otpauth\n"
         "  customer unlock --customer ID\n"
         "  tokens import FILE [--key HEX | --password P] [--partial]\n"
         "  tokens list [--state S] [--serial X]\n"
         "  admin create --username U --role reviewer|admin\n"
         "  admin passwd|unlock --username U\n"
         "  audit verify                            check the audit hash chain\n"
         "  purge                                   one retention pass now\n"
         "  tx evidence ID                          an approved transaction's evidence\n",
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
    if (0 == rc && 0 == core_token_keys ())
      rc = srv_cli_fail (CORE_ERR_INTERNAL, "the master key file has no "
                         "token key (identifiers of people are tokenised "
                         "under it): run guichetd keyring add-token FILE");
    if (0 == rc)
    {
      rekey_tokens ();
      core_db_thread_close ();    /* the workers hold their own */
      enrol_sanctions_reload ();
      if (0 != srv_passkey_setup (err, sizeof err))
        rc = srv_cli_fail (CORE_ERR_BAD_REQUEST, err);
      else if (risk_reload () < 0)
        rc = srv_cli_fail (CORE_ERR_INTERNAL, "the risk rules could not be "
                           "loaded (see the log)");
      else
        rc = srv_serve ();
      risk_shutdown ();
    }
  }
  else if (0 == strcmp (argv[1], "migrate"))
    rc = cmd_migrate ();
  else if (0 == strcmp (argv[1], "purge"))
    rc = cmd_purge ();
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
  else if (0 == strcmp (argv[1], "tx"))
    rc = (0 != (rc = setup_runtime (false))) ? rc
         : srv_cli_tx (argc - 2, argv + 2);
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

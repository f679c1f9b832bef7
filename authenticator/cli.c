/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli.c -- guichet-authenticator, the reference phone as a command: it
 * activates against a guichetd (from a payload or a QR image decoded by
 * zbarimg), shows TOTP codes, signs device requests and transactions.
 *
 * It is what the server's tests use to act as a phone, so every command
 * prints exactly one JSON object on stdout; failures print
 * {"error": {"code", "message"}} there too and exit 1.  It never prints
 * the seed or the private key: those live only in the PIN-sealed state
 * file (docs/authenticator.md).
 */
#include "cli_int.h"
#include "guichet_authenticator.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#define QR_MAX_OUTPUT (64 * 1024)

/* ================================================================
 * Output
 * ================================================================ */

/* Print obj (stolen) as one line of JSON; returns the exit status 0. */
int
print_json (json_t *obj)
{
  if (obj == NULL || json_dumpf (obj, stdout, JSON_COMPACT) != 0)
    {
      json_decref (obj);
      fputs ("{\"error\":{\"code\":\"out_of_memory\","
             "\"message\":\"cannot print the answer\"}}\n", stdout);
      return 1;
    }
  fputc ('\n', stdout);
  json_decref (obj);
  return 0;
}

int
fail (const char *code, const char *message)
{
  print_json (json_pack ("{s:{s:s, s:s}}", "error", "code", code,
                         "message", message));
  return 1;
}

int
fail_with (const ga_error *err)
{
  json_t *e = json_pack ("{s:s, s:s}", "code", err->code,
                         "message", err->message);

  if (e != NULL && err->http_status != 0)
    json_object_set_new (e, "http_status", json_integer (err->http_status));
  print_json (json_pack ("{s:o}", "error", e));
  return 1;
}

/* Print a server answer as it came, or wrapped when it is not JSON. */
int
print_answer (const char *answer)
{
  json_t *obj = json_loads (answer != NULL ? answer : "", 0, NULL);

  if (obj == NULL)
    obj = json_pack ("{s:s}", "answer", answer != NULL ? answer : "");
  return print_json (obj);
}

/* ================================================================
 * Arguments
 * ================================================================ */

static const char usage[] =
  "usage: guichet-authenticator [--state FILE] [--pin PIN] COMMAND ...\n"
  "  activate PAYLOAD [--device-json JSON] | activate --qr IMAGE\n"
  "  code [--at UNIX]          show\n"
  "  sign-request METHOD PATH [BODY] [--at UNIX]\n"
  "  tx pending [--wait N]     tx approve ID|PAYLOAD [--yes]\n"
  "  tx decline ID [--yes]     tx code PAYLOAD [--yes]\n"
  "  tx-sign PAYLOAD           tx-approve PAYLOAD          pending\n"
  "  assurance-code CODE\n"
  "PIN: --pin or GUICHET_AUTHENTICATOR_PIN; state file: --state or\n"
  "GUICHET_AUTHENTICATOR_STATE (default ./authenticator.state).\n";

static int
parse_args (int argc, char **argv, struct cli *cli)
{
  static const struct option options[] = {
    { "state", required_argument, NULL, 's' },
    { "pin", required_argument, NULL, 'p' },
    { "device-json", required_argument, NULL, 'd' },
    { "qr", required_argument, NULL, 'q' },
    { "at", required_argument, NULL, 'a' },
    { "wait", required_argument, NULL, 'w' },
    { "yes", no_argument, NULL, 'y' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "h", options, NULL)) != -1)
    switch (c)
      {
      case 's': cli->state = optarg; break;
      case 'p': cli->pin = optarg; break;
      case 'd': cli->device_json = optarg; break;
      case 'q': cli->qr = optarg; break;
      case 'a': cli->at = optarg; break;
      case 'w': cli->wait = optarg; break;
      case 'y': cli->yes = true; break;
      case 'h': fputs (usage, stderr); exit (0);
      default: return -1;
      }
  cli->argc = argc - optind;
  cli->argv = argv + optind;
  if (cli->state == NULL)
    cli->state = getenv ("GUICHET_AUTHENTICATOR_STATE");
  if (cli->state == NULL || *cli->state == '\0')
    cli->state = "./authenticator.state";
  if (cli->pin == NULL)
    cli->pin = getenv ("GUICHET_AUTHENTICATOR_PIN");
  return cli->argc >= 1 ? 0 : -1;
}

/* --at UNIX, or now. */
static int
time_arg (const struct cli *cli, int64_t *at)
{
  char *end;
  long long v;

  if (cli->at == NULL)
    {
      *at = (int64_t) time (NULL);
      return 0;
    }
  errno = 0;
  v = strtoll (cli->at, &end, 10);
  if (errno != 0 || end == cli->at || *end != '\0' || v < 0)
    return -1;
  *at = (int64_t) v;
  return 0;
}

/* Each process signs its requests with seconds after the last one the
   previous process sent (see release_device). */
static void
ts_file_read (const struct cli *cli, ga_device *dev)
{
  char *path = NULL;
  long long ts = 0;
  FILE *f;

  if (asprintf (&path, "%s.ts", cli->state) > 0
      && (f = fopen (path, "r")) != NULL)
    {
      if (fscanf (f, "%lld", &ts) == 1 && ts > 0)
        ga_device_set_last_request_ts (dev, (int64_t) ts);
      fclose (f);
    }
  free (path);
}

int
load_device (const struct cli *cli, ga_device **dev)
{
  ga_error err = { 0 };

  if (cli->pin == NULL || *cli->pin == '\0')
    return fail ("pin_required",
                 "give --pin or set GUICHET_AUTHENTICATOR_PIN");
  if (ga_state_load (cli->state, cli->pin, dev, &err) != GA_OK)
    return fail_with (&err);
  ts_file_read (cli, *dev);
  return 0;
}

void
release_device (const struct cli *cli, ga_device *dev)
{
  char *path = NULL;
  FILE *f;

  if (dev != NULL && ga_device_last_request_ts (dev) > 0
      && asprintf (&path, "%s.ts", cli->state) > 0
      && (f = fopen (path, "w")) != NULL)
    {
      fprintf (f, "%lld\n", (long long) ga_device_last_request_ts (dev));
      fclose (f);
    }
  free (path);
  ga_device_free (dev);
}

/* ================================================================
 * QR images (zbarimg as a subprocess, no shell)
 * ================================================================ */

static void
qr_child (int out_fd, const char *image)
{
  char *arg = NULL;
  int null_fd = open ("/dev/null", O_RDWR);

  /* An image named "-x" must not read as an option. */
  if (image[0] == '-' && asprintf (&arg, "./%s", image) < 0)
    _exit (127);
  if (null_fd >= 0)
    {
      dup2 (null_fd, STDIN_FILENO);
      dup2 (null_fd, STDERR_FILENO);
    }
  dup2 (out_fd, STDOUT_FILENO);
  execlp ("zbarimg", "zbarimg", "--raw", "-q", arg != NULL ? arg : image,
          (char *) NULL);
  _exit (127);
}

/* Read the child's output until EOF (at most QR_MAX_OUTPUT bytes). */
static char *
qr_read (int fd)
{
  char *out = malloc (QR_MAX_OUTPUT + 1);
  size_t len = 0;
  ssize_t n;

  if (out == NULL)
    return NULL;
  while (len < QR_MAX_OUTPUT
         && ((n = read (fd, out + len, QR_MAX_OUTPUT - len)) > 0
             || (n < 0 && errno == EINTR)))
    len += n > 0 ? (size_t) n : 0;
  out[len] = '\0';
  return out;
}

/* The first decoded line that is an activation payload (malloc'ed). */
static char *
qr_pick (char *output)
{
  for (char *line = strtok (output, "\r\n"); line != NULL;
       line = strtok (NULL, "\r\n"))
    if (strncmp (line, "guichet://activate?", 19) == 0)
      return strdup (line);
  return NULL;
}

static int
qr_decode (const char *image, char **payload)
{
  int fds[2], status = 0;
  char *output;
  pid_t pid;

  *payload = NULL;
  if (pipe2 (fds, O_CLOEXEC) != 0 || (pid = fork ()) < 0)
    return fail ("qr_unreadable", "cannot start zbarimg");
  if (pid == 0)
    qr_child (fds[1], image);
  close (fds[1]);
  output = qr_read (fds[0]);
  close (fds[0]);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (output != NULL && WIFEXITED (status) && WEXITSTATUS (status) == 0)
    *payload = qr_pick (output);
  free (output);
  if (*payload != NULL)
    return 0;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return fail ("qr_unreadable", "zbarimg is not installed");
  return fail ("qr_unreadable",
               "no guichet://activate QR code found in the image");
}

/* ================================================================
 * activate
 * ================================================================ */

/* Apply --device-json onto info; strings stay owned by *keep. */
static int
device_overrides (const char *text, ga_device_info *info, json_t **keep)
{
  struct { const char *key; const char **s; bool *b; } fields[] = {
    { "platform", &info->platform, NULL },
    { "os_version", &info->os_version, NULL },
    { "model", &info->model, NULL },
    { "app_version", &info->app_version, NULL },
    { "install_id", &info->install_id, NULL },
    { "rooted", NULL, &info->rooted }, { "emulator", NULL, &info->emulator },
    { "debugger", NULL, &info->debugger }, { "hooking", NULL, &info->hooking },
    { "sim_country", &info->sim_country, NULL },
    { "locale", &info->locale, NULL }, { "timezone", &info->timezone, NULL },
  };
  const char *key;
  json_t *value;

  *keep = json_loads (text, JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object (*keep))
    return fail ("device_json_invalid", "--device-json is not a JSON object");
  json_object_foreach (*keep, key, value)
    {
      size_t i = 0;

      while (i < sizeof fields / sizeof fields[0]
             && strcmp (fields[i].key, key) != 0)
        i++;
      if (i == sizeof fields / sizeof fields[0]
          || (fields[i].s != NULL && !json_is_string (value))
          || (fields[i].b != NULL && !json_is_boolean (value)))
        return fail ("device_json_invalid",
                     "--device-json has an unknown field or a wrong type");
      if (fields[i].s != NULL)
        *fields[i].s = json_string_value (value);
      else
        *fields[i].b = json_is_true (value);
    }
  return 0;
}

/* Can the state file be written?  Checked before activating, because an
 * activation uses up its challenge even if the result cannot be kept. */
static bool
state_dir_writable (const char *state)
{
  char *copy = strdup (state), *slash;
  bool ok;

  if (copy == NULL)
    return false;
  slash = strrchr (copy, '/');
  if (slash == copy)
    slash[1] = '\0';
  else if (slash != NULL)
    *slash = '\0';
  ok = access (slash != NULL ? copy : ".", W_OK | X_OK) == 0;
  free (copy);
  return ok;
}

/* Activate with a parsed payload and save the device. */
static int
activate_with (const struct cli *cli, const ga_activation_payload *payload,
               const ga_device_info *info)
{
  ga_device *dev = NULL;
  ga_error err = { 0 };
  char *answer = NULL;
  ga_status rc = ga_activate (payload, info, &dev, &answer, &err);
  int exit_code;

  if (rc == GA_OK && ga_state_save (dev, cli->state, cli->pin, &err) != GA_OK)
    rc = err.status;
  /* "denied" is the server's verdict, not our failure: print it. */
  exit_code = rc == GA_OK || rc == GA_ERR_DENIED ? print_answer (answer)
                                                 : fail_with (&err);
  free (answer);
  release_device (cli, dev);
  return exit_code;
}

static int
cmd_activate (const struct cli *cli)
{
  ga_activation_payload payload;
  ga_device_info info;
  ga_error err = { 0 };
  char install_id[37], *text = NULL;
  json_t *keep = NULL;
  int rc = 0;

  if (cli->pin == NULL || *cli->pin == '\0')
    return fail ("pin_required",
                 "give --pin or set GUICHET_AUTHENTICATOR_PIN");
  if (cli->argc != (cli->qr != NULL ? 1 : 2))
    return fail ("usage", "activate takes a PAYLOAD or --qr IMAGE");
  if (!state_dir_writable (cli->state))
    return fail ("state_write_failed",
                 "the state file's folder is not writable");
  if (cli->qr != NULL && (rc = qr_decode (cli->qr, &text)) != 0)
    return rc;
  ga_device_info_defaults (&info);
  if (ga_random_install_id (install_id) != GA_OK)
    rc = fail ("crypto_failed", "no random install id");
  info.install_id = install_id;
  if (rc == 0 && cli->device_json != NULL)
    rc = device_overrides (cli->device_json, &info, &keep);
  if (rc == 0
      && ga_activation_payload_parse (text != NULL ? text : cli->argv[1],
                                      &payload, &err) != GA_OK)
    rc = fail_with (&err);
  else if (rc == 0)
    {
      rc = activate_with (cli, &payload, &info);
      ga_activation_payload_clear (&payload);
    }
  json_decref (keep);
  free (text);
  return rc;
}

/* ================================================================
 * code, show, sign-request
 * ================================================================ */

static int
cmd_code (const struct cli *cli)
{
  ga_device *dev = NULL;
  ga_error err = { 0 };
  char code[16];
  int valid_for = 0, rc;
  int64_t at;

  if (cli->argc != 1 || time_arg (cli, &at) != 0)
    return fail ("usage", "code [--at UNIX]");
  if ((rc = load_device (cli, &dev)) != 0)
    return rc;
  if (ga_device_totp (dev, at, code, &valid_for, &err) != GA_OK)
    rc = fail_with (&err);
  else
    rc = print_json (json_pack ("{s:s, s:i}", "otp", code,
                                "valid_for", valid_for));
  release_device (cli, dev);
  return rc;
}

static int
cmd_show (const struct cli *cli)
{
  ga_device *dev = NULL;
  const ga_otp_params *otp;
  char *pub;
  int rc;

  if (cli->argc != 1)
    return fail ("usage", "show takes no argument");
  if ((rc = load_device (cli, &dev)) != 0)
    return rc;
  otp = ga_device_otp_params (dev);
  pub = ga_device_public_key_b64 (dev);
  rc = print_json (json_pack ("{s:s, s:s, s:s, s:{s:s, s:s, s:i, s:i},"
                              " s:s?}",
                              "device_id", ga_device_id (dev),
                              "base_url", ga_device_base_url (dev),
                              "status", ga_device_status (dev),
                              "otp", "type", "totp",
                              "algorithm", otp->algorithm,
                              "digits", otp->digits, "period", otp->period,
                              "device_public_key", pub));
  free (pub);
  release_device (cli, dev);
  return rc;
}

static int
cmd_sign_request (const struct cli *cli)
{
  ga_device *dev = NULL;
  ga_signed_headers h;
  ga_error err = { 0 };
  const char *body;
  int64_t at;
  int rc;

  if (cli->argc < 3 || cli->argc > 4 || time_arg (cli, &at) != 0)
    return fail ("usage", "sign-request METHOD PATH [BODY] [--at UNIX]");
  if ((rc = load_device (cli, &dev)) != 0)
    return rc;
  body = cli->argc == 4 ? cli->argv[3] : "";
  if (ga_device_sign_request (dev, cli->argv[1], cli->argv[2], body,
                              strlen (body), at, &h, &err) != GA_OK)
    rc = fail_with (&err);
  else
    rc = print_json (json_pack ("{s:s, s:s, s:s}", "Guichet-Device", h.device,
                                "Guichet-Timestamp", h.timestamp,
                                "Guichet-Signature", h.signature));
  ga_signed_headers_clear (&h);
  release_device (cli, dev);
  return rc;
}

/* ================================================================
 * Transactions and pending requests
 * ================================================================ */

static int
cmd_tx_sign (const struct cli *cli)
{
  ga_device *dev = NULL;
  ga_tx tx;
  ga_error err = { 0 };
  char code[GA_TX_CODE_DIGITS + 1], *sig = NULL;
  int rc;

  if (cli->argc != 2)
    return fail ("usage", "tx-sign PAYLOAD");
  if (ga_tx_parse (cli->argv[1], &tx, &err) != GA_OK)
    return fail_with (&err);
  if ((rc = load_device (cli, &dev)) == 0)
    {
      if (ga_device_tx_sign (dev, &tx, &sig, &err) != GA_OK
          || ga_device_tx_response_code (dev, &tx, code, &err) != GA_OK)
        rc = fail_with (&err);
      else
        rc = print_json (json_pack ("{s:s, s:s}", "signature", sig,
                                    "response_code", code));
    }
  free (sig);
  ga_tx_clear (&tx);
  release_device (cli, dev);
  return rc;
}

static int
cmd_tx_approve (const struct cli *cli)
{
  ga_device *dev = NULL;
  ga_tx tx;
  ga_error err = { 0 };
  char *answer = NULL;
  int rc;

  if (cli->argc != 2)
    return fail ("usage", "tx-approve PAYLOAD");
  if (ga_tx_parse (cli->argv[1], &tx, &err) != GA_OK)
    return fail_with (&err);
  if ((rc = load_device (cli, &dev)) == 0)
    rc = ga_device_tx_approve (dev, &tx, &answer, &err) == GA_OK
         ? print_answer (answer) : fail_with (&err);
  free (answer);
  ga_tx_clear (&tx);
  release_device (cli, dev);
  return rc;
}

static int
cmd_pending (const struct cli *cli)
{
  ga_device *dev = NULL;
  ga_error err = { 0 };
  char *answer = NULL, *path = NULL;
  int rc;

  if (cli->argc != 1)
    return fail ("usage", "pending takes no argument");
  if ((rc = load_device (cli, &dev)) != 0)
    return rc;
  if (asprintf (&path, "/v1/devices/%s/transactions?status=pending",
                ga_device_id (dev)) < 0)
    {
      path = NULL;
      rc = fail ("out_of_memory", "out of memory");
    }
  else
    rc = ga_device_request (dev, "GET", path, NULL, &answer, &err) == GA_OK
         ? print_pending (answer) : fail_with (&err);
  free (path);
  free (answer);
  release_device (cli, dev);
  return rc;
}

/* assurance-code CODE: the customer changes their security code from the
   phone (PUT /v1/devices/{id}/assurance-code, signed). */
static int
cmd_assurance_code (const struct cli *cli)
{
  ga_device *dev = NULL;
  ga_error err = { 0 };
  char *answer = NULL, *path = NULL, *body = NULL;
  json_t *o;
  int rc;

  if (cli->argc != 2)
    return fail ("usage", "assurance-code CODE");
  if ((rc = load_device (cli, &dev)) != 0)
    return rc;
  o = json_pack ("{s:s}", "code", cli->argv[1]);
  body = o != NULL ? json_dumps (o, JSON_COMPACT) : NULL;
  json_decref (o);
  if (body == NULL || asprintf (&path, "/v1/devices/%s/assurance-code",
                                ga_device_id (dev)) < 0)
    {
      path = NULL;
      rc = fail ("out_of_memory", "out of memory");
    }
  else
    rc = ga_device_request (dev, "PUT", path, body, &answer, &err) == GA_OK
         ? print_answer (answer) : fail_with (&err);
  free (body);
  free (path);
  free (answer);
  release_device (cli, dev);
  return rc;
}

/* ================================================================
 * main
 * ================================================================ */

int
main (int argc, char **argv)
{
  static const struct {
    const char *name;
    int (*run) (const struct cli *);
  } commands[] = {
    { "activate", cmd_activate }, { "code", cmd_code }, { "show", cmd_show },
    { "sign-request", cmd_sign_request }, { "tx-sign", cmd_tx_sign },
    { "tx-approve", cmd_tx_approve }, { "pending", cmd_pending },
    { "tx", cmd_tx }, { "assurance-code", cmd_assurance_code },
  };
  struct cli cli = { 0 };

  if (parse_args (argc, argv, &cli) != 0)
    {
      fputs (usage, stderr);
      return fail ("usage", "unknown option or missing command");
    }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (cli.argv[0], commands[i].name) == 0)
      return commands[i].run (&cli);
  fputs (usage, stderr);
  return fail ("usage", "unknown command");
}

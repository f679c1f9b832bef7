/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli_int.h -- what the files of guichet-authenticator share: the parsed
 * command line and the one-JSON-object-on-stdout helpers (cli.c).
 */
#ifndef GA_CLI_INT_H
#define GA_CLI_INT_H

#include <stdbool.h>
#include <jansson.h>

#include "guichet_authenticator.h"

struct cli {
  const char *state, *pin, *device_json, *qr, *at, *wait;
  bool yes;          /* tx: confirmed without asking */
  int argc;          /* positional arguments after the command name */
  char **argv;
};

/* Print obj (stolen) as one line of JSON; returns the exit status 0. */
int print_json (json_t *obj);
/* Print {"error": {code, message}}; returns the exit status 1. */
int fail (const char *code, const char *message);
int fail_with (const ga_error *err);
/* A server answer as it came, or wrapped when it is not JSON. */
int print_answer (const char *answer);
/* Open the state file with the PIN; 0, or the exit code of a failure. */
int load_device (const struct cli *cli, ga_device **dev);
/* Keep the last request's timestamp beside the state (<state>.ts: not a
   secret) and free @a dev. */
void release_device (const struct cli *cli, ga_device *dev);

/* cli_tx.c: tx pending|approve|decline|code */
int cmd_tx (const struct cli *cli);
/* cli_tx.c: print the pending list @a answer as the server sent it, each
   transaction with "display" (ga_tx_display: amount, payee and the
   customer's security code, or the warning that none came), also shown
   on stderr as a phone shows it.  Returns the exit status. */
int print_pending (const char *answer);

#endif

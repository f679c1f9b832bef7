/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli.h -- helpers shared by guichetd's operator commands: one JSON object
 * on stdout per command, errors as API.md's error object.
 */
#ifndef GUICHET_SERVER_CLI_H
#define GUICHET_SERVER_CLI_H

#include <stdbool.h>
#include <jansson.h>
#include "core/error.h"

/** Print @a o compactly on stdout (stolen; its text is cleansed after). */
void
srv_cli_print (json_t *o);

/** Print the error object for @a err. @return the exit code (1). */
int
srv_cli_fail (enum core_err err, const char *message);

/** @return the value after option @a name, "" if it has none, NULL if absent. */
const char *
srv_cli_opt (int argc, char **argv, const char *name);

bool
srv_cli_flag (int argc, char **argv, const char *name);

/** guichetd customer create|unlock ... @return exit code */
int
srv_cli_customer (int argc, char **argv);

/** guichetd tokens import|list ... (cli_tokens.c) @return exit code */
int
srv_cli_tokens (int argc, char **argv);

#endif

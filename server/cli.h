/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli.h -- helpers shared by guichetd's operator commands: one JSON object
 * on stdout per command, errors as API.md's error object.
 */
#ifndef GUICHET_SERVER_CLI_H
#define GUICHET_SERVER_CLI_H

#include <stdbool.h>
#include <stddef.h>
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

/**
 * Like srv_cli_opt for an option that holds a secret: the value "-" means
 * one line of standard input (so the secret shows in no process list and
 * no shell history), read into @a buf (the caller wipes it).
 * @param[out] bad  set when "-" was given but no usable line came: empty,
 *                  absent, or longer than @a len - 2 characters
 * @return the value, or NULL (absent, or @a bad)
 */
const char *
srv_cli_secret_opt (int argc, char **argv, const char *name, char *buf,
                    size_t len, bool *bad);

bool
srv_cli_flag (int argc, char **argv, const char *name);

/**
 * Check the words after the global options (@a argv[0] is the command)
 * against the command table in cli_args.c; print the error naming the
 * unknown command, subcommand or option, the option given twice or
 * without its value, the stray or missing argument.
 * @return 0 when they fit, else the exit code (the error is printed)
 */
int
srv_cli_check_args (int argc, char **argv);

/** guichetd customer create|unlock ... @return exit code */
int
srv_cli_customer (int argc, char **argv);

/** guichetd tokens import|list ... (cli_tokens.c) @return exit code */
int
srv_cli_tokens (int argc, char **argv);

/** guichetd tx evidence ID (cli_tx.c) @return exit code */
int
srv_cli_tx (int argc, char **argv);

#endif

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * cli_args.c -- the grammar of guichetd's command line, checked before any
 * command runs.
 *
 * One table names every command, the positional arguments it takes and
 * the options it knows.  An option that is not in its command's row, an
 * option given twice that may not repeat, an option without its value, a
 * stray or missing argument: each stops the command with a JSON error
 * naming the offending word and a non-zero exit, before a database is
 * touched -- an operator's typo in a flag must not be silently ignored,
 * as an unknown configuration key is not.  The commands themselves still
 * say which options they need (a usage error of their own).
 *
 * A branch that adds a command or an option adds its row here; the
 * parser must never read a word the table does not describe.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server/cli.h"

/* Options of one command: at most this many (the last entry is zeroed). */
#define MAX_OPTIONS 6

enum opt_kind {
  OPT_VALUE = 0,     /* --name VALUE, once */
  OPT_REPEAT,        /* --origin VALUE, any number of times */
  OPT_FLAG,          /* --otpauth, no value, once */
};

struct cli_option {
  const char *name;
  enum opt_kind kind;
};

struct cli_command {
  const char *word;             /* "apikey" */
  const char *sub;              /* "create", or NULL for a one-word command */
  unsigned int args;            /* positional arguments, exactly */
  const char *usage;
  struct cli_option options[MAX_OPTIONS + 1];
};

static const struct cli_command commands[] = {
  { .word = "serve", .usage = "serve" },
  { .word = "migrate", .usage = "migrate" },
  { .word = "purge", .usage = "purge" },
  { .word = "routes", .usage = "routes" },
  { .word = "keyring", .sub = "create", .args = 1,
    .usage = "keyring create FILE" },
  { .word = "keyring", .sub = "add-token", .args = 1,
    .usage = "keyring add-token FILE" },
  { .word = "apikey", .sub = "create",
    .usage = "apikey create --name NAME [--origin https://shop.example]... "
             "[--webhook URL]",
    .options = { { "--name", OPT_VALUE }, { "--origin", OPT_REPEAT },
                 { "--webhook", OPT_VALUE } } },
  { .word = "apikey", .sub = "webhook",
    .usage = "apikey webhook --name NAME (--url URL | --remove)",
    .options = { { "--name", OPT_VALUE }, { "--url", OPT_VALUE },
                 { "--remove", OPT_FLAG } } },
  { .word = "customer", .sub = "create",
    .usage = "customer create --ref REF --pin PIN|- --otpauth",
    .options = { { "--ref", OPT_VALUE }, { "--pin", OPT_VALUE },
                 { "--otpauth", OPT_FLAG } } },
  { .word = "customer", .sub = "unlock",
    .usage = "customer unlock --customer ID",
    .options = { { "--customer", OPT_VALUE } } },
  { .word = "tokens", .sub = "import", .args = 1,
    .usage = "tokens import FILE [--key HEX|- | --password P|-] [--partial]",
    .options = { { "--key", OPT_VALUE }, { "--password", OPT_VALUE },
                 { "--partial", OPT_FLAG } } },
  { .word = "tokens", .sub = "list",
    .usage = "tokens list [--state S] [--serial X]",
    .options = { { "--state", OPT_VALUE }, { "--serial", OPT_VALUE } } },
  { .word = "admin", .sub = "create",
    .usage = "admin create --username U --role reviewer|advisor|admin",
    .options = { { "--username", OPT_VALUE }, { "--role", OPT_VALUE } } },
  { .word = "admin", .sub = "passwd", .usage = "admin passwd --username U",
    .options = { { "--username", OPT_VALUE } } },
  { .word = "admin", .sub = "unlock", .usage = "admin unlock --username U",
    .options = { { "--username", OPT_VALUE } } },
  { .word = "audit", .sub = "verify",
    .usage = "audit verify [--anchor ID:HASH]",
    .options = { { "--anchor", OPT_VALUE } } },
  { .word = "tx", .sub = "evidence", .args = 1, .usage = "tx evidence ID" },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* Print the error (message built from @a fmt) and @return the exit code. */
__attribute__((format (printf, 1, 2)))
static int
usage_error (const char *fmt, ...)
{
  char msg[512];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  return srv_cli_fail (CORE_ERR_BAD_REQUEST, msg);
}

/* "create|add-token" for @a word's subcommands, into @a buf. */
static const char *
subcommands (const char *word, char *buf, size_t len)
{
  size_t n = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (0 == strcmp (commands[i].word, word) && n < len)
      n += (size_t) snprintf (buf + n, len - n, "%s%s", 0 == n ? "" : "|",
                              commands[i].sub);
  return buf;
}

static const struct cli_option *
find_option (const struct cli_command *c, const char *name)
{
  for (const struct cli_option *o = c->options; NULL != o->name; o++)
    if (0 == strcmp (o->name, name))
      return o;
  return NULL;
}

/* Check @a argc words after the command's own against @a c.  @return 0 or
   the exit code of the error printed. */
static int
check_words (const struct cli_command *c, int argc, char **argv)
{
  unsigned int seen[MAX_OPTIONS + 1] = { 0 };
  unsigned int positional = 0;
  char full[64];

  snprintf (full, sizeof full, "%s%s%s", c->word, NULL != c->sub ? " " : "",
            NULL != c->sub ? c->sub : "");
  for (int i = 0; i < argc; i++)
  {
    const char *w = argv[i];
    const struct cli_option *o;

    if ('-' != w[0] || 0 == strcmp (w, "-"))
    {
      if (++positional > c->args)
        return usage_error ("%s: unexpected argument \"%.80s\" (usage: "
                            "guichetd %s)", full, w, c->usage);
      continue;
    }
    if (NULL == (o = find_option (c, w)))
      return usage_error ("%s: unknown option %.80s (usage: guichetd %s)",
                          full, w, c->usage);
    if (OPT_REPEAT != o->kind && 0 != seen[o - c->options]++)
      return usage_error ("%s: %s given twice (usage: guichetd %s)", full,
                          o->name, c->usage);
    if (OPT_FLAG == o->kind)
      continue;
    /* a value: the next word, which may be "-" (standard input) but not
       another option (a forgotten value would swallow the next flag) */
    if (i + 1 >= argc || 0 == strncmp (argv[i + 1], "--", 2))
      return usage_error ("%s: %s needs a value (usage: guichetd %s)", full,
                          o->name, c->usage);
    i++;
  }
  if (positional < c->args)
    return usage_error ("%s: missing argument (usage: guichetd %s)", full,
                        c->usage);
  return 0;
}

int
srv_cli_check_args (int argc, char **argv)
{
  char subs[128];
  bool known = false;

  if (argc < 1)
    return usage_error ("no command");
  for (size_t i = 0; i < N_COMMANDS; i++)
  {
    const struct cli_command *c = &commands[i];

    if (0 != strcmp (c->word, argv[0]))
      continue;
    known = true;
    if (NULL == c->sub)
      return check_words (c, argc - 1, argv + 1);
    if (argc >= 2 && 0 == strcmp (c->sub, argv[1]))
      return check_words (c, argc - 2, argv + 2);
  }
  if (! known)
    return usage_error ("unknown command \"%.80s\" (guichetd --help lists "
                        "them)", argv[0]);
  if (argc < 2)
    return usage_error ("%s: missing subcommand (%s)", argv[0],
                        subcommands (argv[0], subs, sizeof subs));
  return usage_error ("%s: unknown subcommand \"%.80s\" (%s)", argv[0],
                      argv[1], subcommands (argv[0], subs, sizeof subs));
}

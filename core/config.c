/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * config.c -- loads struct core_config: built-in defaults, then the config
 * file, then GUICHET_<KEY> environment variables.
 *
 * Every key is one row of key_table (name, type, offset, bounds), so the
 * file parser, the environment pass and validation share one code path and
 * adding a key is adding a row.  Errors name the key (and the line, for the
 * file).  This file must never read or hold a secret: the config names where
 * secrets live (master_key_file, database_url may carry a password, so a
 * value is never echoed in an error message).
 */
#include "core/config.h"
#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include("guichet_build.h")
#include "guichet_build.h"
#endif
#endif

#ifdef GUICHET_SOURCE_DIR
#define DEFAULT_MIGRATIONS_DIR GUICHET_SOURCE_DIR "/migrations"
#else
#define DEFAULT_MIGRATIONS_DIR "migrations"
#endif

const struct core_config *core_cfg;

/* KEY_URL and KEY_TEXT are strings the enrolment page shows as they are
   (validate_page): a link, or one line of text between min and max
   characters. */
enum key_type { KEY_STR, KEY_URL, KEY_TEXT, KEY_UINT, KEY_SIZE, KEY_RATE };

struct key_def {
  const char *name;
  enum key_type type;
  size_t offset;
  const char *def_str;          /* default of a string or KEY_RATE */
  unsigned long long def_num;   /* numeric default */
  unsigned long long min, max;  /* numeric bounds (KEY_TEXT: its length),
                                   inclusive */
};

#define STR(k, d) \
  { #k, KEY_STR, offsetof (struct core_config, k), d, 0, 0, 0 }
#define URL(k) \
  { #k, KEY_URL, offsetof (struct core_config, k), "", 0, 0, 0 }
#define TEXT(k, d, lo, hi) \
  { #k, KEY_TEXT, offsetof (struct core_config, k), d, 0, lo, hi }
#define UINT(k, d, lo, hi) \
  { #k, KEY_UINT, offsetof (struct core_config, k), NULL, d, lo, hi }
#define SIZE(k, d, lo, hi) \
  { #k, KEY_SIZE, offsetof (struct core_config, k), NULL, d, lo, hi }
#define RATE(k, d) \
  { #k, KEY_RATE, offsetof (struct core_config, k), d, 0, 0, 0 }

/* Bounds of a rate limit: at most a million requests, per at most 30 days. */
#define RATE_COUNT_MAX 1000000U
#define RATE_PERIOD_MAX (30U * 86400)

static const struct key_def key_table[] = {
  STR (listen, "127.0.0.1:8080"),
  STR (database_url, ""),
  STR (master_key_file, "var/master.key"),
  STR (public_url, ""),
  UINT (workers, 16, 1, 256),
  SIZE (max_body, 65536, 1024, 64ULL * 1024 * 1024),
  UINT (lockout_attempts, 5, 1, 100),
  UINT (audit_refusals_sync, 0, 0, 1),
  UINT (totp_window, 1, 0, 10),
  UINT (hotp_lookahead, 10, 0, 1000),
  UINT (resync_window, 1000, 1, 100000),
  UINT (argon2_m_kib, 19456, 8, 4194304),
  UINT (argon2_t, 2, 1, 1000),
  UINT (argon2_p, 1, 1, 255),
  STR (log_level, "info"),
  STR (trusted_proxies, ""),
  STR (metrics_from, "127.0.0.1,::1"),
  STR (web_root, ""),
  STR (sanctions_dir, ""),
  STR (geoip_country_db, ""),
  STR (geoip_anonymous_db, ""),
  STR (risk_rules_file, ""),
  UINT (enrolment_ttl_s, 86400, 60, 90U * 86400),
  UINT (session_idle_s, 300, 10, 86400),
  UINT (challenge_ttl_s, 180, 10, 3600),
  UINT (resume_link_min_age_s, 600, 0, 3600),
  UINT (admin_session_max_s, 28800, 900, 7U * 86400),
  UINT (admin_idle_s, 900, 60, 3600),
  UINT (review_hours, 24, 1, 720),
  UINT (tx_ttl_s, 300, 1, 3600),
  UINT (assist_code_ttl_s, 600, 10, 3600),
  UINT (assist_idle_s, 900, 10, 86400),
  UINT (assist_code_attempts, 5, 1, 100),
  UINT (assist_code_window_s, 600, 10, 86400),
  STR (migrations_dir, DEFAULT_MIGRATIONS_DIR),
  UINT (lockout_base_s, 900, 1, 30U * 86400),
  UINT (lockout_max_s, 86400, 1, 365U * 86400),
  UINT (lockout_permanent, 0, 0, 1),
  RATE (rate_enrolment_per_address, "20/h"),
  RATE (rate_resume_link_per_enrolment, "5/h"),
  RATE (rate_resume_link_per_address, "20/h"),
  RATE (rate_activation_per_challenge, "5/10m"),
  RATE (rate_activation_per_address, "60/h"),
  RATE (rate_admin_login_per_username, "10/15m"),
  RATE (rate_admin_login_per_address, "30/15m"),
  RATE (rate_verify_per_customer, "12/m"),
  RATE (rate_verify_per_api_key, "1000/s"),
  RATE (rate_pin_per_enrolment, "10/h"),
  RATE (rate_challenge_per_enrolment, "30/h"),
  RATE (rate_assurance_code_per_customer, "5/h"),
  UINT (max_connections_per_address, 64, 0, 100000),
  UINT (header_timeout_s, 10, 1, 300),
  UINT (purge_interval_s, 60, 0, 86400),
  UINT (purge_batch, 1000, 1, 100000),
  UINT (retention_s, 86400, 0, 3650U * 86400),
  UINT (retention_challenges_s, 30U * 86400, 0, 3650U * 86400),
  UINT (retention_outbox_s, 7U * 86400, 0, 3650U * 86400),
  /* a nonce must outlive the +-120 s a signed request's timestamp may be
     off, or a replay after the purge would pass */
  UINT (retention_nonces_s, 600, 300, 86400),
  STR (webauthn_rp_id, ""),
  STR (webauthn_rp_name, "Guichet"),
  STR (webauthn_origins, ""),
  STR (webauthn_attestation, "none"),
  UINT (signin_demo, 0, 0, 1),
  TEXT (app_name, "Guichet", 1, 40),
  URL (app_store_url),
  URL (play_store_url),
  STR (contact_email, ""),
  TEXT (contact_phone, "", 0, 40),
  TEXT (contact_hours, "", 0, 120),
  URL (help_url),
  URL (privacy_url),
  URL (legal_url),
  STR (smtp_url, ""),
  STR (mail_from, ""),
  STR (smtp_user, ""),
  STR (smtp_password_file, ""),
  UINT (smtp_timeout_s, 30, 1, 300),
  UINT (webhook_timeout_s, 10, 1, 60),
  UINT (notify_workers, 2, 0, 16),
  UINT (notify_poll_ms, 1000, 20, 60000),
  UINT (notify_batch, 20, 1, 500),
  UINT (notify_max_attempts, 10, 1, 100),
  UINT (notify_retry_base_ms, 30000, 10, 3600000),
  UINT (notify_retry_max_s, 3600, 1, 7U * 86400),
};

#define KEY_COUNT (sizeof key_table / sizeof key_table[0])

static void
set_err (char *errbuf, size_t errlen, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

static void
set_err (char *errbuf, size_t errlen, const char *fmt, ...)
{
  va_list ap;

  if (errbuf == NULL || errlen == 0)
    return;
  va_start (ap, fmt);
  vsnprintf (errbuf, errlen, fmt, ap);
  va_end (ap);
}

/* @return true if @a k is held as a string (char *, owned by the config). */
static bool
is_string (const struct key_def *k)
{
  return k->type == KEY_STR || k->type == KEY_URL || k->type == KEY_TEXT;
}

/* The string field of @a k in @a cfg. */
static const char *
string_of (const struct core_config *cfg, const struct key_def *k)
{
  return *(const char *const *) ((const char *) cfg + k->offset);
}

static const struct key_def *
find_key (const char *name)
{
  for (size_t i = 0; i < KEY_COUNT; i++)
    if (strcmp (key_table[i].name, name) == 0)
      return &key_table[i];
  return NULL;
}

/* Parse a decimal number: digits only, no sign, no spaces, no overflow. */
static int
parse_number (const char *s, unsigned long long *out)
{
  char *end;

  if (!isdigit ((unsigned char) s[0]))
    return -1;
  errno = 0;
  *out = strtoull (s, &end, 10);
  if (errno != 0 || *end != '\0')
    return -1;
  return 0;
}

/* "COUNT/PERIOD" (PERIOD: seconds, or [N]s|m|h|d), "off" or "0".
 * @return 0, or -1 when malformed or out of bounds. */
static int
parse_rate (const char *s, struct core_rate *out)
{
  static const struct { char unit; unsigned int seconds; } units[] = {
    { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }
  };
  unsigned long long count, n = 1, mult = 1;
  char buf[64];
  char *slash, *p;

  if (strcmp (s, "off") == 0 || strcmp (s, "0") == 0)
    {
      *out = (struct core_rate) { 0, 0 };
      return 0;
    }
  if (strlen (s) >= sizeof buf)
    return -1;
  strcpy (buf, s);
  slash = strchr (buf, '/');
  if (slash == NULL)
    return -1;
  *slash = '\0';
  p = slash + 1;
  if (parse_number (buf, &count) != 0 || count == 0 || count > RATE_COUNT_MAX)
    return -1;
  if (isdigit ((unsigned char) *p))
    {
      char *end;

      errno = 0;
      n = strtoull (p, &end, 10);
      if (errno != 0 || n == 0 || n > RATE_PERIOD_MAX)
        return -1;
      p = end;
    }
  else if (*p == '\0')
    return -1;                  /* "20/" */
  if (*p != '\0')
    {
      size_t i;

      for (i = 0; i < sizeof units / sizeof units[0]; i++)
        if (units[i].unit == *p)
          break;
      if (i == sizeof units / sizeof units[0] || p[1] != '\0')
        return -1;
      mult = units[i].seconds;
    }
  if (n * mult > RATE_PERIOD_MAX)
    return -1;
  *out = (struct core_rate) { (unsigned int) count, (unsigned int) (n * mult) };
  return 0;
}

/* Store @a value into the field of @a k; @a where prefixes any message
 * (e.g. "file:3: ").  @return 0 or -1 (message set). */
static int
set_value (struct core_config *cfg, const struct key_def *k,
           const char *value, const char *where, char *errbuf, size_t errlen)
{
  char *base = (char *) cfg + k->offset;
  unsigned long long n;
  char *copy;

  if (is_string (k))
    {
      copy = strdup (value);
      if (copy == NULL)
        {
          set_err (errbuf, errlen, "%s%s: out of memory", where, k->name);
          return -1;
        }
      free (*(char **) base);
      *(char **) base = copy;
      return 0;
    }
  if (k->type == KEY_RATE)
    {
      if (parse_rate (value, (struct core_rate *) base) == 0)
        return 0;
      set_err (errbuf, errlen,
               "%s%s: must be COUNT/PERIOD (e.g. 20/h, 5/10m, 1000/s; "
               "PERIOD up to 30d) or off", where, k->name);
      return -1;
    }
  if (parse_number (value, &n) != 0 || n < k->min || n > k->max)
    {
      set_err (errbuf, errlen,
               "%s%s: must be a whole number from %llu to %llu", where,
               k->name, k->min, k->max);
      return -1;
    }
  if (k->type == KEY_UINT)
    *(unsigned int *) base = (unsigned int) n;
  else
    *(size_t *) base = (size_t) n;
  return 0;
}

static int
set_defaults (struct core_config *cfg, char *errbuf, size_t errlen)
{
  char num[32];

  for (size_t i = 0; i < KEY_COUNT; i++)
    {
      const struct key_def *k = &key_table[i];
      const char *v = k->def_str;

      if (!is_string (k) && k->type != KEY_RATE)
        {
          snprintf (num, sizeof num, "%llu", k->def_num);
          v = num;
        }
      if (set_value (cfg, k, v, "default ", errbuf, errlen) != 0)
        return -1;
    }
  return 0;
}

/* ================================================================
 * The file
 * ================================================================ */

static char *
trim (char *s)
{
  char *end;

  while (isspace ((unsigned char) *s))
    s++;
  end = s + strlen (s);
  while (end > s && isspace ((unsigned char) end[-1]))
    *--end = '\0';
  return s;
}

/* Cut a comment: '#' at the start of the line or after whitespace, outside
 * double quotes (a URL or path may hold " #" if quoted). */
static void
cut_comment (char *s)
{
  bool quoted = false;

  for (char *p = s; *p != '\0'; p++)
    if (*p == '"')
      quoted = !quoted;
    else if (*p == '#' && !quoted
             && (p == s || isspace ((unsigned char) p[-1])))
      {
        *p = '\0';
        return;
      }
}

/* Handle one line. @return 0 or -1 (message set). */
static int
parse_line (struct core_config *cfg, char *line, const char *path,
            unsigned int lineno, char *errbuf, size_t errlen)
{
  const struct key_def *k;
  char *eq, *key, *value;
  char where[512];
  size_t vlen;

  cut_comment (line);
  key = trim (line);
  if (*key == '\0')
    return 0;
  eq = strchr (key, '=');
  if (eq == NULL)
    {
      set_err (errbuf, errlen, "%s:%u: expected \"key = value\"", path,
               lineno);
      return -1;
    }
  *eq = '\0';
  key = trim (key);
  value = trim (eq + 1);
  vlen = strlen (value);
  if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"')
    {
      value[vlen - 1] = '\0';
      value++;
    }
  k = find_key (key);
  if (k == NULL)
    {
      set_err (errbuf, errlen, "%s:%u: unknown key \"%.64s\"", path, lineno,
               key);
      return -1;
    }
  snprintf (where, sizeof where, "%s:%u: ", path, lineno);
  return set_value (cfg, k, value, where, errbuf, errlen);
}

static int
parse_file (struct core_config *cfg, const char *path, char *errbuf,
            size_t errlen)
{
  FILE *f;
  char *line = NULL;
  size_t cap = 0;
  unsigned int lineno = 0;
  int ret = 0;

  f = fopen (path, "r");
  if (f == NULL)
    {
      set_err (errbuf, errlen, "%s: %s", path, strerror (errno));
      return -1;
    }
  while (getline (&line, &cap, f) != -1)
    {
      lineno++;
      if (parse_line (cfg, line, path, lineno, errbuf, errlen) != 0)
        {
          ret = -1;
          break;
        }
    }
  if (ret == 0 && ferror (f))
    {
      set_err (errbuf, errlen, "%s: read error", path);
      ret = -1;
    }
  free (line);
  fclose (f);
  return ret;
}

/* ================================================================
 * Environment and validation
 * ================================================================ */

static int
parse_env (struct core_config *cfg, char *errbuf, size_t errlen)
{
  char var[64];
  const char *v;

  for (size_t i = 0; i < KEY_COUNT; i++)
    {
      const struct key_def *k = &key_table[i];
      size_t j;

      j = (size_t) snprintf (var, sizeof var, "GUICHET_");
      for (const char *p = k->name; *p != '\0' && j + 1 < sizeof var; p++)
        var[j++] = (char) toupper ((unsigned char) *p);
      var[j] = '\0';
      v = getenv (var);
      if (v == NULL)
        continue;
      if (set_value (cfg, k, v, "environment: ", errbuf, errlen) != 0)
        return -1;
    }
  return 0;
}

/* An address for the envelope and the From header: one '@', no white
   space, no character that would end or add a header. */
static bool
address_ok (const char *a)
{
  const char *at = strchr (a, '@');

  if (NULL == at || at == a || '\0' == at[1] || NULL != strchr (at + 1, '@')
      || strlen (a) > 254)
    return false;
  for (const unsigned char *p = (const unsigned char *) a; *p; p++)
    if (*p <= ' ' || *p >= 127 || NULL != strchr ("<>,;:\"()[]\\", *p))
      return false;
  return true;
}

static int
validate_mail (const struct core_config *cfg, char *errbuf, size_t errlen)
{
  if (cfg->smtp_url[0] == '\0')
    return 0;
  if (strncmp (cfg->smtp_url, "smtp://", 7) != 0
      && strncmp (cfg->smtp_url, "smtps://", 8) != 0)
    {
      set_err (errbuf, errlen, "smtp_url: must be smtp://host:port or "
               "smtps://host:port");
      return -1;
    }
  if (!address_ok (cfg->mail_from))
    {
      set_err (errbuf, errlen, "mail_from: must be an e-mail address "
               "(required with smtp_url)");
      return -1;
    }
  return 0;
}

/* A link the enrolment page shows: http(s), no blank, quote or angle
   bracket (it goes into an href as it is), or "" for none. */
static bool
page_url_ok (const char *u)
{
  if ('\0' == u[0])
    return true;
  if (strncmp (u, "https://", 8) != 0 && strncmp (u, "http://", 7) != 0)
    return false;
  for (const unsigned char *p = (const unsigned char *) u; *p; p++)
    if (*p <= ' ' || *p >= 127 || NULL != strchr ("\"'<>\\`", *p))
      return false;
  return strlen (u) <= 512;
}

/* Text the page shows as it is: one line, printable, short. */
static bool
page_text_ok (const char *s, size_t max)
{
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    if (*p < ' ' || *p == 127)
      return false;
  return strlen (s) <= max;
}

/* The one message for a KEY_TEXT key out of bounds, naming them all with
   their lengths, e.g. "a, b: one line of text (a 1 to 40 characters,
   b 120)". */
static void
text_err (char *errbuf, size_t errlen)
{
  char names[256] = "", rules[256] = "", len[48];
  size_t n = 0, r = 0;

  for (size_t i = 0; i < KEY_COUNT; i++)
    {
      const struct key_def *k = &key_table[i];
      const char *sep = 0 == n ? "" : ", ";

      if (k->type != KEY_TEXT || n >= sizeof names || r >= sizeof rules)
        continue;
      if (k->min > 0)
        snprintf (len, sizeof len, "%llu to %llu", k->min, k->max);
      else
        snprintf (len, sizeof len, "%llu", k->max);
      r += (size_t) snprintf (rules + r, sizeof rules - r, "%s%s %s%s", sep,
                              k->name, len, 0 == n ? " characters" : "");
      n += (size_t) snprintf (names + n, sizeof names - n, "%s%s", sep,
                              k->name);
    }
  set_err (errbuf, errlen, "%s: one line of text (%s)", names, rules);
}

/* What the enrolment page shows: every KEY_URL key a link (or ""), the
   contact address, then every KEY_TEXT key one line of its length. */
static int
validate_page (const struct core_config *cfg, char *errbuf, size_t errlen)
{
  for (size_t i = 0; i < KEY_COUNT; i++)
    if (key_table[i].type == KEY_URL
        && !page_url_ok (string_of (cfg, &key_table[i])))
      {
        set_err (errbuf, errlen, "%s: must be an http:// or https:// URL "
                 "(at most 512 characters, no blanks or quotes)",
                 key_table[i].name);
        return -1;
      }
  if (cfg->contact_email[0] != '\0' && !address_ok (cfg->contact_email))
    {
      set_err (errbuf, errlen, "contact_email: must be an e-mail address");
      return -1;
    }
  for (size_t i = 0; i < KEY_COUNT; i++)
    {
      const struct key_def *k = &key_table[i];

      if (k->type == KEY_TEXT
          && (strlen (string_of (cfg, k)) < k->min
              || !page_text_ok (string_of (cfg, k), k->max)))
        {
          text_err (errbuf, errlen);
          return -1;
        }
    }
  return 0;
}

static int
validate (const struct core_config *cfg, char *errbuf, size_t errlen)
{
  enum core_log_level lvl;

  if (core_log_parse_level (cfg->log_level, &lvl) != 0)
    {
      set_err (errbuf, errlen,
               "log_level: must be one of debug, info, warn, error");
      return -1;
    }
  if (cfg->listen[0] == '\0')
    {
      set_err (errbuf, errlen, "listen: must not be empty");
      return -1;
    }
  if (cfg->lockout_max_s < cfg->lockout_base_s)
    {
      set_err (errbuf, errlen,
               "lockout_max_s: must be at least lockout_base_s");
      return -1;
    }
  if (validate_page (cfg, errbuf, errlen) != 0)
    return -1;
  return validate_mail (cfg, errbuf, errlen);
}

int
core_config_load (const char *path, struct core_config *out,
                  char *errbuf, size_t errlen)
{
  if (errbuf != NULL && errlen > 0)
    errbuf[0] = '\0';
  memset (out, 0, sizeof *out);
  if (path == NULL)
    {
      path = getenv ("GUICHET_CONFIG");
      if (path != NULL && path[0] == '\0')
        path = NULL;
    }
  if (set_defaults (out, errbuf, errlen) != 0)
    goto fail;
  if (path != NULL && parse_file (out, path, errbuf, errlen) != 0)
    goto fail;
  if (parse_env (out, errbuf, errlen) != 0)
    goto fail;
  if (validate (out, errbuf, errlen) != 0)
    goto fail;
  return 0;

fail:
  core_config_free (out);
  return -1;
}

void
core_config_free (struct core_config *cfg)
{
  if (cfg == NULL)
    return;
  for (size_t i = 0; i < KEY_COUNT; i++)
    if (is_string (&key_table[i]))
      {
        char **p = (char **) ((char *) cfg + key_table[i].offset);

        free (*p);
        *p = NULL;
      }
  memset (cfg, 0, sizeof *cfg);
}

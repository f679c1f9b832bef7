/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * rules.c -- the rule set: built-in defaults, the rules file parser, and
 * the canonical dump whose SHA-256 names a rule-set version.
 *
 * The file is "key = value" lines ('#' starts a comment) laid over the
 * built-in defaults, which are the same as the shipped risk/rules.conf (a
 * unit test holds them together).  Each rule has a weight added to the
 * score and an optional floor (review or deny) that the decision cannot go
 * below whatever the score.  A bad line stops the load with "file:LINE:
 * reason" and the rules in force stay: this parser must never half-apply a
 * file.  The version hashes the effective rules, not the file's bytes, so
 * comments do not change it and a changed default does.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "risk/risk_int.h"

#define MAX_RULES_FILE (64 * 1024)
#define MAX_KEYS 256

/* Every rule: its stable code, default weight and floor, and who besides
 * the back-office may read its reason (risk.h, enum risk_audience).  The
 * applicant is told only what the phone says about itself; what the bank's
 * lists, other enrolments, velocity or GeoIP say would tell a fraud ring
 * what is checked and that it was seen (docs/risk.md, "What the phone is
 * told").  An advisor also sees what is said of the phone's connection
 * (docs/assist.md).  A rule added without the last member is STAFF (0):
 * hidden from both until someone decides it may be shown. */
#define STAFF RISK_TOLD_STAFF
#define ADVISOR RISK_TOLD_ADVISOR
#define APPLICANT RISK_TOLD_APPLICANT

static const struct {
  const char *code;
  int weight;
  enum risk_decision floor;
  enum risk_audience told;
} defs[RISK_R_COUNT] = {
  [RISK_R_BLOCKLISTED_DEVICE_KEY] =
    { "blocklisted_device_key", 100, RISK_DENY, STAFF },
  [RISK_R_BLOCKLISTED_INSTALL_ID] =
    { "blocklisted_install_id", 100, RISK_DENY, STAFF },
  [RISK_R_BLOCKLISTED_ADDRESS] =
    { "blocklisted_address", 40, RISK_REVIEW, STAFF },
  [RISK_R_RESTRICTED_COUNTRY] =
    { "restricted_country", 100, RISK_DENY, STAFF },
  [RISK_R_ROOTED] = { "rooted", 30, RISK_ALLOW, APPLICANT },
  [RISK_R_EMULATOR] = { "emulator", 40, RISK_ALLOW, APPLICANT },
  [RISK_R_DEBUGGER] = { "debugger", 20, RISK_ALLOW, APPLICANT },
  [RISK_R_HOOKING] = { "hooking", 30, RISK_ALLOW, APPLICANT },
  [RISK_R_WEB_APP] = { "web_app", 20, RISK_ALLOW, APPLICANT },
  [RISK_R_OS_OUTDATED] = { "os_outdated", 15, RISK_ALLOW, APPLICANT },
  [RISK_R_APP_OUTDATED] = { "app_outdated", 10, RISK_ALLOW, APPLICANT },
  [RISK_R_TOR_EXIT_NODE] = { "tor_exit_node", 40, RISK_ALLOW, ADVISOR },
  [RISK_R_PUBLIC_PROXY] = { "public_proxy", 30, RISK_ALLOW, ADVISOR },
  [RISK_R_RESIDENTIAL_PROXY] =
    { "residential_proxy", 25, RISK_ALLOW, ADVISOR },
  [RISK_R_ANONYMOUS_VPN] = { "anonymous_vpn", 20, RISK_ALLOW, ADVISOR },
  [RISK_R_HOSTING_PROVIDER] =
    { "hosting_provider", 15, RISK_ALLOW, ADVISOR },
  [RISK_R_ANONYMOUS_NETWORK] =
    { "anonymous_network", 15, RISK_ALLOW, ADVISOR },
  [RISK_R_COMPROMISED_ON_ANON] =
    { "compromised_device_on_anonymous_network", 10, RISK_REVIEW, ADVISOR },
  [RISK_R_SIM_IP_MISMATCH] =
    { "sim_ip_country_mismatch", 15, RISK_ALLOW, ADVISOR },
  [RISK_R_SIM_RESIDENCE_MISMATCH] =
    { "sim_residence_mismatch", 10, RISK_ALLOW, ADVISOR },
  [RISK_R_IP_RESIDENCE_MISMATCH] =
    { "ip_residence_mismatch", 10, RISK_ALLOW, ADVISOR },
  [RISK_R_BROWSER_PHONE_MISMATCH] =
    { "browser_phone_country_mismatch", 20, RISK_ALLOW, ADVISOR },
  [RISK_R_LOCALE_MISMATCH] = { "locale_mismatch", 5, RISK_ALLOW, ADVISOR },
  [RISK_R_TIMEZONE_MISMATCH] =
    { "timezone_mismatch", 5, RISK_ALLOW, ADVISOR },
  [RISK_R_DEVICE_REUSED] = { "device_reused", 15, RISK_ALLOW, STAFF },
  [RISK_R_DEVICE_REUSED_MANY] =
    { "device_reused_many", 40, RISK_REVIEW, STAFF },
  [RISK_R_VELOCITY_ADDRESS] = { "velocity_address", 15, RISK_ALLOW, STAFF },
  [RISK_R_VELOCITY_DEVICE] = { "velocity_device", 15, RISK_ALLOW, STAFF },
  [RISK_R_QR_MULTIPLE_DEVICES] =
    { "qr_multiple_devices", 40, RISK_REVIEW, ADVISOR },
  [RISK_R_GEO_UNAVAILABLE] = { "geo_unavailable", 10, RISK_ALLOW, ADVISOR },
};

#undef STAFF
#undef ADVISOR
#undef APPLICANT

const char *
risk_rule_code (enum risk_rule r)
{
  if ((int) r < 0 || r >= RISK_R_COUNT)
    return NULL;
  return defs[r].code;
}

bool
risk_reason_told (const char *code, enum risk_audience to)
{
  if (NULL == code)
    return false;
  for (int r = 0; r < RISK_R_COUNT; r++)
    if (0 == strcmp (code, defs[r].code))
      return defs[r].told >= to;
  return false;                 /* manual_check itself, or unknown */
}

bool
risk_rule_is_network (enum risk_rule r)
{
  return r >= RISK_R_TOR_EXIT_NODE && r <= RISK_R_ANONYMOUS_NETWORK;
}

/* Set the minimum of @a platform, adding it if new. @return 0, or -1 if
 * the table is full. */
static int
add_min_os (struct risk_rules *rules, const char *platform,
            const char *version)
{
  size_t i;

  for (i = 0; i < rules->n_min_os; i++)
    if (0 == strcmp (rules->min_os[i].platform, platform))
      break;
  if (i == RISK_MAX_MIN_OS)
    return -1;
  if (i == rules->n_min_os)
    {
      rules->n_min_os++;
      snprintf (rules->min_os[i].platform, sizeof rules->min_os[i].platform,
                "%s", platform);
    }
  snprintf (rules->min_os[i].version, sizeof rules->min_os[i].version, "%s",
            version);
  return 0;
}

void
risk_rules_defaults (struct risk_rules *rules)
{
  static const char *const restricted[] = { "KP", "IR", "SY", "CU" };

  memset (rules, 0, sizeof *rules);
  for (int r = 0; r < RISK_R_COUNT; r++)
    {
      rules->weight[r] = defs[r].weight;
      rules->floor[r] = defs[r].floor;
    }
  rules->review_at = 40;
  rules->deny_at = 80;
  rules->four_eyes_at = 80;
  for (size_t i = 0; i < sizeof restricted / sizeof restricted[0]; i++)
    memcpy (rules->restricted[rules->n_restricted++], restricted[i], 3);
  (void) add_min_os (rules, "android", "10");
  (void) add_min_os (rules, "ios", "15");
  snprintf (rules->min_app_version, sizeof rules->min_app_version, "1.0.0");
  rules->velocity_address = 5;
  rules->velocity_device = 2;
  rules->reuse_many_at = 3;
  (void) risk_rules_set_version (rules);
}

/* ============================================================ parsing */

struct parse {
  struct risk_rules *rules;
  const char *name;
  unsigned int line;
  char *err;
  size_t errlen;
  char *seen[MAX_KEYS];
  size_t n_seen;
};

__attribute__ ((format (printf, 2, 3)))
static int
fail (struct parse *p, const char *fmt, ...)
{
  va_list ap;
  int n = snprintf (p->err, p->errlen, "%s:%u: ", p->name, p->line);

  if (n < 0 || (size_t) n >= p->errlen)
    return -1;
  va_start (ap, fmt);
  vsnprintf (p->err + n, p->errlen - (size_t) n, fmt, ap);
  va_end (ap);
  return -1;
}

static int
parse_int (struct parse *p, const char *key, const char *v, int min, int max,
           int *out)
{
  char *end;
  long n;

  errno = 0;
  n = strtol (v, &end, 10);
  if ('\0' == *v || '\0' != *end || 0 != errno || n < min || n > max)
    return fail (p, "%s: '%s' is not a whole number from %d to %d", key, v,
                 min, max);
  *out = (int) n;
  return 0;
}

static int
find_rule (const char *code)
{
  for (int r = 0; r < RISK_R_COUNT; r++)
    if (0 == strcmp (code, defs[r].code))
      return r;
  return -1;
}

static int
parse_floor (struct parse *p, const char *key, const char *v,
             enum risk_decision *out)
{
  if (0 == strcmp (v, "none"))
    *out = RISK_ALLOW;
  else if (0 == strcmp (v, "review"))
    *out = RISK_REVIEW;
  else if (0 == strcmp (v, "deny"))
    *out = RISK_DENY;
  else
    return fail (p, "%s: '%s' is not none, review or deny", key, v);
  return 0;
}

static int
parse_rule_key (struct parse *p, const char *key, const char *v)
{
  bool is_weight = (0 == strncmp (key, "weight.", 7));
  int r = find_rule (key + (is_weight ? 7 : 6));

  if (r < 0)
    return fail (p, "unknown rule in '%s'", key);
  if (is_weight)
    return parse_int (p, key, v, 0, 100, &p->rules->weight[r]);
  return parse_floor (p, key, v, &p->rules->floor[r]);
}

static int
parse_countries (struct parse *p, const char *v)
{
  struct risk_rules *rules = p->rules;
  char buf[4 * RISK_MAX_RESTRICTED + 1];
  char *save = NULL;

  if (strlen (v) >= sizeof buf)
    return fail (p, "restricted_countries: too long");
  snprintf (buf, sizeof buf, "%s", v);
  rules->n_restricted = 0;
  for (char *c = strtok_r (buf, ", \t", &save); NULL != c;
       c = strtok_r (NULL, ", \t", &save))
    {
      if (! risk_country_known (c))
        return fail (p, "restricted_countries: '%s' is not an ISO 3166 "
                     "alpha-2 code (uppercase)", c);
      if (rules->n_restricted == RISK_MAX_RESTRICTED)
        return fail (p, "restricted_countries: more than %d",
                     RISK_MAX_RESTRICTED);
      memcpy (rules->restricted[rules->n_restricted++], c, 3);
    }
  return 0;
}

static int
parse_version (struct parse *p, const char *key, const char *v, char *out)
{
  if (strlen (v) >= RISK_VERSION_STR || 0 != risk_version_cmp (v, v))
    return fail (p, "%s: '%s' is not a dotted version like 1.2.3", key, v);
  memcpy (out, v, strlen (v) + 1);
  return 0;
}

static int
parse_min_os (struct parse *p, const char *key, const char *v)
{
  const char *platform = key + 7;
  char version[RISK_VERSION_STR];
  size_t n = strlen (platform);

  if (0 == n || n >= sizeof p->rules->min_os[0].platform
      || n != strspn (platform, "abcdefghijklmnopqrstuvwxyz0123456789_-"))
    return fail (p, "%s: the platform must be 1-15 lowercase letters or "
                 "digits", key);
  if (0 != parse_version (p, key, v, version))
    return -1;
  if (0 != add_min_os (p->rules, platform, version))
    return fail (p, "%s: more than %d platforms", key, RISK_MAX_MIN_OS);
  return 0;
}

static int
parse_aaguids (struct parse *p, const char *key, const char *v)
{
  bool allow = 0 == strcmp (key, "passkey.aaguid_allow");
  char why[128];

  if (0 != risk_aaguid_list_parse (v, allow ? p->rules->aaguid_allow
                                            : p->rules->aaguid_deny,
                                   allow ? &p->rules->n_aaguid_allow
                                         : &p->rules->n_aaguid_deny,
                                   why, sizeof why))
    return fail (p, "%s: %s", key, why);
  return 0;
}

static int
parse_pair (struct parse *p, const char *key, const char *v)
{
  struct risk_rules *r = p->rules;

  if (0 == strcmp (key, "threshold.review"))
    return parse_int (p, key, v, 1, 100, &r->review_at);
  if (0 == strcmp (key, "threshold.deny"))
    return parse_int (p, key, v, 1, 101, &r->deny_at);
  if (0 == strcmp (key, "threshold.four_eyes"))
    return parse_int (p, key, v, 1, 100, &r->four_eyes_at);
  if (0 == strncmp (key, "weight.", 7) || 0 == strncmp (key, "floor.", 6))
    return parse_rule_key (p, key, v);
  if (0 == strcmp (key, "restricted_countries"))
    return parse_countries (p, v);
  if (0 == strncmp (key, "min_os.", 7))
    return parse_min_os (p, key, v);
  if (0 == strcmp (key, "min_app_version"))
    return parse_version (p, key, v, r->min_app_version);
  if (0 == strcmp (key, "velocity.address_per_hour"))
    return parse_int (p, key, v, 1, 1000000, &r->velocity_address);
  if (0 == strcmp (key, "velocity.device_per_hour"))
    return parse_int (p, key, v, 1, 1000000, &r->velocity_device);
  if (0 == strcmp (key, "device_reuse.many_at"))
    return parse_int (p, key, v, 1, 1000000, &r->reuse_many_at);
  if (0 == strcmp (key, "passkey.aaguid_allow")
      || 0 == strcmp (key, "passkey.aaguid_deny"))
    return parse_aaguids (p, key, v);
  return fail (p, "unknown key '%s'", key);
}

static char *
trim (char *s)
{
  char *e;

  while (' ' == *s || '\t' == *s)
    s++;
  e = s + strlen (s);
  while (e > s && (' ' == e[-1] || '\t' == e[-1] || '\r' == e[-1]))
    *--e = '\0';
  return s;
}

static int
note_key (struct parse *p, const char *key)
{
  for (size_t i = 0; i < p->n_seen; i++)
    if (0 == strcmp (p->seen[i], key))
      return fail (p, "'%s' is set twice", key);
  if (p->n_seen == MAX_KEYS)
    return fail (p, "more than %d keys", MAX_KEYS);
  p->seen[p->n_seen] = strdup (key);
  if (NULL == p->seen[p->n_seen])
    return fail (p, "out of memory");
  p->n_seen++;
  return 0;
}

static int
parse_line (struct parse *p, char *line)
{
  char *hash = strchr (line, '#');
  char *eq, *key;

  if (NULL != hash)
    *hash = '\0';
  line = trim (line);
  if ('\0' == *line)
    return 0;
  eq = strchr (line, '=');
  if (NULL == eq)
    return fail (p, "expected 'key = value'");
  *eq = '\0';
  key = trim (line);
  if ('\0' == *key)
    return fail (p, "missing key before '='");
  if (0 != note_key (p, key))
    return -1;
  return parse_pair (p, key, trim (eq + 1));
}

static int
parse_all (struct parse *p, char *text)
{
  char *line = text;

  while (NULL != line)
    {
      char *nl = strchr (line, '\n');

      if (NULL != nl)
        *nl = '\0';
      p->line++;
      if (0 != parse_line (p, line))
        return -1;
      line = (NULL != nl) ? nl + 1 : NULL;
    }
  if (p->rules->review_at > p->rules->deny_at)
    return fail (p, "threshold.review (%d) is above threshold.deny (%d)",
                 p->rules->review_at, p->rules->deny_at);
  return 0;
}

int
risk_rules_parse (const char *text, const char *name,
                  struct risk_rules *rules, char *err, size_t errlen)
{
  struct parse p = { .rules = rules, .name = name, .err = err,
                     .errlen = errlen };
  char *copy = strdup (text);
  int rc;

  risk_rules_defaults (rules);
  if (NULL == copy)
    return fail (&p, "out of memory");
  rc = parse_all (&p, copy);
  free (copy);
  for (size_t i = 0; i < p.n_seen; i++)
    free (p.seen[i]);
  if (0 == rc && 0 != risk_rules_set_version (rules))
    rc = fail (&p, "out of memory");
  return rc;
}

static char *
slurp (const char *path, char *err, size_t errlen)
{
  FILE *f = fopen (path, "r");
  char *buf = malloc (MAX_RULES_FILE + 1);
  size_t n = 0;

  if (NULL == f || NULL == buf)
    {
      snprintf (err, errlen, "%s: %s", path,
                (NULL == f) ? strerror (errno) : "out of memory");
      goto fail;
    }
  n = fread (buf, 1, MAX_RULES_FILE + 1, f);
  if (ferror (f) || n > MAX_RULES_FILE || NULL != memchr (buf, 0, n))
    {
      snprintf (err, errlen, "%s: unreadable, larger than %d bytes or "
                "binary", path, MAX_RULES_FILE);
      goto fail;
    }
  buf[n] = '\0';
  fclose (f);
  return buf;
fail:
  if (NULL != f)
    fclose (f);
  free (buf);
  return NULL;
}

int
risk_rules_load_file (const char *path, struct risk_rules *rules, char *err,
                      size_t errlen)
{
  const char *base = strrchr (path, '/');
  char *text = slurp (path, err, errlen);
  int rc;

  if (NULL == text)
    return -1;
  rc = risk_rules_parse (text, (NULL != base) ? base + 1 : path, rules, err,
                         errlen);
  free (text);
  return rc;
}

/* ====================================================== canonical dump */

static const char *
floor_name (enum risk_decision d)
{
  return (RISK_ALLOW == d) ? "none" : risk_decision_name (d);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (a, b);
}

static void
dump_lists (FILE *f, const struct risk_rules *rules)
{
  char cc[RISK_MAX_RESTRICTED][3];
  struct risk_min_os os[RISK_MAX_MIN_OS];

  memcpy (cc, rules->restricted, sizeof cc);
  qsort (cc, rules->n_restricted, sizeof cc[0], cmp_str);
  fputs ("restricted_countries =", f);
  for (size_t i = 0; i < rules->n_restricted; i++)
    fprintf (f, "%s%s", (0 == i) ? " " : ",", cc[i]);
  fputc ('\n', f);
  memcpy (os, rules->min_os, sizeof os);
  /* platform is the first member: cmp_str orders by it */
  qsort (os, rules->n_min_os, sizeof os[0], cmp_str);
  for (size_t i = 0; i < rules->n_min_os; i++)
    fprintf (f, "min_os.%s = %s\n", os[i].platform, os[i].version);
}

char *
risk_rules_dump (const struct risk_rules *rules)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);

  if (NULL == f)
    return NULL;
  fprintf (f, "threshold.review = %d\nthreshold.deny = %d\n"
           "threshold.four_eyes = %d\n", rules->review_at, rules->deny_at,
           rules->four_eyes_at);
  for (int r = 0; r < RISK_R_COUNT; r++)
    fprintf (f, "weight.%s = %d\nfloor.%s = %s\n", defs[r].code,
             rules->weight[r], defs[r].code, floor_name (rules->floor[r]));
  dump_lists (f, rules);
  fprintf (f, "min_app_version = %s\nvelocity.address_per_hour = %d\n"
           "velocity.device_per_hour = %d\ndevice_reuse.many_at = %d\n",
           rules->min_app_version, rules->velocity_address,
           rules->velocity_device, rules->reuse_many_at);
  risk_aaguid_lists_dump (f, rules);
  if (0 != fclose (f))
    {
      free (buf);
      return NULL;
    }
  return buf;
}

int
risk_rules_set_version (struct risk_rules *rules)
{
  char *dump = risk_rules_dump (rules);
  char hex[65];

  if (NULL == dump)
    return -1;
  core_sha256_hex (dump, strlen (dump), hex);
  free (dump);
  snprintf (rules->version, sizeof rules->version, "r-%.16s", hex);
  return 0;
}

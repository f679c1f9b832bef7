/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * signals.c -- reading what a scoring weighs: dotted versions, the region
 * of a locale, what kind of address a client has, and the canonical JSON
 * of all the facts, whose SHA-256 is stored with the decision.
 *
 * The canonical form is jansson's compact output with sorted keys and
 * ASCII-only escapes, so the same facts always hash the same.  Anything
 * added to the facts must be added here too, or a replay could not tell
 * two different inputs apart.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "risk/risk_int.h"

/* ========================================================== versions */

/* Read "17.4.1" (digits and dots, then optionally a suffix after '-', '+',
 * ' ' or '(') into @a part.  @return the number of parts, or -1. */
static int
version_parts (const char *v, unsigned long part[8])
{
  int n = 0;

  if (NULL == v || ! isdigit ((unsigned char) *v))
    return -1;
  while (n < 8)
    {
      char *end;

      part[n++] = strtoul (v, &end, 10);
      if (end - v > 9)
        return -1;
      if ('.' != *end)
        return ('\0' == *end || NULL != strchr ("-+ (", *end)) ? n : -1;
      v = end + 1;
      if (! isdigit ((unsigned char) *v))
        return -1;
    }
  return -1;
}

int
risk_version_cmp (const char *a, const char *b)
{
  unsigned long pa[8], pb[8];
  int na = version_parts (a, pa);
  int nb = version_parts (b, pb);

  if (na < 0 || nb < 0)
    return -2;
  for (int i = 0; i < 8 && (i < na || i < nb); i++)
    {
      unsigned long x = (i < na) ? pa[i] : 0;
      unsigned long y = (i < nb) ? pb[i] : 0;

      if (x != y)
        return (x < y) ? -1 : 1;
    }
  return 0;
}

/* =========================================================== locales */

int
risk_locale_region (const char *locale, char out[3])
{
  size_t i = 0;

  if (NULL == locale)
    return -1;
  /* Skip the language subtag, then look for a two-letter region among the
     next subtags ("zh-Hant-TW"); stop at a POSIX ".UTF-8" or "@euro". */
  while (isalpha ((unsigned char) locale[i]))
    i++;
  while ('-' == locale[i] || '_' == locale[i])
    {
      size_t start = ++i;

      while (isalnum ((unsigned char) locale[i]))
        i++;
      if (2 == i - start && isalpha ((unsigned char) locale[start])
          && isalpha ((unsigned char) locale[start + 1]))
        {
          out[0] = (char) toupper ((unsigned char) locale[start]);
          out[1] = (char) toupper ((unsigned char) locale[start + 1]);
          out[2] = '\0';
          return 0;
        }
    }
  return -1;
}

/* ========================================================= addresses */

static bool
v4_private (const uint8_t a[4])
{
  return 0 == a[0] || 10 == a[0] || 127 == a[0]
    || (100 == a[0] && 64 == (a[1] & 0xc0))      /* CGNAT 100.64/10 */
    || (169 == a[0] && 254 == a[1])
    || (172 == a[0] && 16 == (a[1] & 0xf0))
    || (192 == a[0] && 168 == a[1])
    || a[0] >= 224;                              /* multicast, reserved */
}

static bool
v6_private (const uint8_t a[16])
{
  static const uint8_t zero[15] = { 0 };

  if (0 == memcmp (a, zero, 15) && a[15] <= 1)   /* :: and ::1 */
    return true;
  return 0xfc == (a[0] & 0xfe)                   /* ULA fc00::/7 */
    || (0xfe == a[0] && 0x80 == (a[1] & 0xc0))   /* link-local */
    || 0xff == a[0];                             /* multicast */
}

static enum risk_addr_class
classify_v6 (const uint8_t a[16], char *canon, size_t canonlen)
{
  static const uint8_t mapped[12] =
    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  if (0 == memcmp (a, mapped, 12))
    {
      /* ::ffff:a.b.c.d is an IPv4 client of a dual-stack socket */
      if (NULL != canon)
        inet_ntop (AF_INET, a + 12, canon, (socklen_t) canonlen);
      return v4_private (a + 12) ? RISK_ADDR_PRIVATE : RISK_ADDR_PUBLIC;
    }
  if (NULL != canon)
    inet_ntop (AF_INET6, a, canon, (socklen_t) canonlen);
  return v6_private (a) ? RISK_ADDR_PRIVATE : RISK_ADDR_PUBLIC;
}

enum risk_addr_class
risk_addr_classify (const char *addr, char *canon, size_t canonlen)
{
  uint8_t a[16];

  if (NULL != canon && canonlen > 0)
    canon[0] = '\0';
  if (NULL == addr || '\0' == *addr)
    return RISK_ADDR_NONE;
  if (1 == inet_pton (AF_INET, addr, a))
    {
      if (NULL != canon)
        inet_ntop (AF_INET, a, canon, (socklen_t) canonlen);
      return v4_private (a) ? RISK_ADDR_PRIVATE : RISK_ADDR_PUBLIC;
    }
  if (1 == inet_pton (AF_INET6, addr, a))
    return classify_v6 (a, canon, canonlen);
  return RISK_ADDR_INVALID;
}

/* ================================================== canonical inputs */

static const char *
class_name (enum risk_addr_class c)
{
  static const char *const names[] =
    { "none", "invalid", "private", "public" };

  return names[c];
}

static json_t *
geo_json (const struct risk_geo *g)
{
  json_t *anon = json_null ();

  if (g->anon_known)
    anon = json_pack ("{s:b, s:b, s:b, s:b, s:b, s:b}",
                      "is_anonymous", g->anonymous, "is_anonymous_vpn", g->vpn,
                      "is_hosting_provider", g->hosting,
                      "is_public_proxy", g->public_proxy,
                      "is_residential_proxy", g->residential_proxy,
                      "is_tor_exit_node", g->tor);
  return json_pack ("{s:s, s:s?, s:o}", "class", class_name (g->cls),
                    "country", g->country_known ? g->country : NULL,
                    "anonymous", anon);
}

/* A flag as reported, or null when the app did not report it (the same
   facts as before for an app that reports them all). */
static json_t *
flag (bool value, bool unknown)
{
  return unknown ? json_null () : json_boolean (value);
}

static json_t *
device_json (const struct risk_device *d)
{
  return json_pack ("{s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:o, s:o, s:o,"
                    " s:s?, s:s?, s:s?}",
                    "platform", d->platform, "os_version", d->os_version,
                    "model", d->model, "app_version", d->app_version,
                    "install_id", d->install_id,
                    "rooted", flag (d->rooted, d->rooted_unknown),
                    "emulator", flag (d->emulator, d->emulator_unknown),
                    "debugger", flag (d->debugger, d->debugger_unknown),
                    "hooking", flag (d->hooking, d->hooking_unknown),
                    "sim_country", d->sim_country,
                    "locale", d->locale, "timezone", d->timezone);
}

static json_t *
history_json (const struct risk_history *h)
{
  return json_pack ("{s:I, s:I, s:I, s:I, s:b, s:b, s:b}",
                    "bound_elsewhere", (json_int_t) h->bound_elsewhere,
                    "address_1h", (json_int_t) h->address_1h,
                    "device_1h", (json_int_t) h->device_1h,
                    "qr_other_keys", (json_int_t) h->qr_other_keys,
                    "blocked_key", h->blocked_key,
                    "blocked_install_id", h->blocked_install_id,
                    "blocked_address", h->blocked_address);
}

json_t *
risk_facts_json (const struct risk_facts *f)
{
  const struct risk_input *in = f->in;
  char key[2 * RISK_DEVICE_KEY_LEN + 1] = "";

  if (NULL != in->device_key)
    core_hex_encode (in->device_key, RISK_DEVICE_KEY_LEN, key);
  return json_pack ("{s:s?, s:s?, s:o, s:s, s:s?, s:s?, s:s?,"
                    " s:{s:b, s:b, s:o, s:o}, s:o}",
                    "enrolment_id", in->enrolment_id,
                    "challenge_id", in->challenge_id,
                    "device", device_json (&in->device),
                    "device_key", key,
                    "phone_addr", in->phone_addr,
                    "browser_addr", in->browser_addr,
                    "residence_country", f->residence,
                    "geo", "country_db", f->country_db,
                    "anonymous_db", f->anonymous_db,
                    "phone", geo_json (&f->phone),
                    "browser", geo_json (&f->browser),
                    "history", history_json (&f->hist));
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey_rules.c -- which passkey authenticator models a bank accepts:
 * the rules file's passkey.aaguid_allow and passkey.aaguid_deny, lists of
 * AAGUIDs (the model identifier an authenticator puts in its attested
 * credential data).
 *
 * The default is both lists empty: every model.  The deny list wins over
 * the allow list; a non-empty allow list admits only its models (the
 * all-zero AAGUID of an authenticator or browser that does not say is then
 * refused unless listed).  An AAGUID says what the authenticator claims to
 * be; only an attestation certificate the bank trusts makes it more than a
 * claim (docs/risk.md).  Parsing is all-or-nothing like the rest of the
 * rules file.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "risk/risk_int.h"

/* One "8-4-4-4-12" AAGUID of @a len characters at @a s. @return 0 or -1 */
static int
parse_one (const char *s, size_t len, uint8_t out[16])
{
  char hex[33];
  size_t n = 0;

  if (len != 36)
    return -1;
  for (size_t i = 0; i < len; i++)
    {
      bool dash = i == 8 || i == 13 || i == 18 || i == 23;

      if (dash != (s[i] == '-') || (!dash && !isxdigit ((unsigned char) s[i])))
        return -1;
      if (!dash)
        hex[n++] = (char) tolower ((unsigned char) s[i]);
    }
  hex[n] = '\0';
  return core_hex_decode (hex, out, 16) == 16 ? 0 : -1;
}

int
risk_aaguid_list_parse (const char *v, uint8_t out[RISK_MAX_AAGUIDS][16],
                        size_t *n, char *why, size_t whylen)
{
  const char *p = v;

  *n = 0;
  while (*p != '\0')
    {
      size_t len;

      while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
      len = strcspn (p, ", \t");
      if (len == 0)
        break;
      if (*n == RISK_MAX_AAGUIDS)
        {
          snprintf (why, whylen, "more than %d AAGUIDs", RISK_MAX_AAGUIDS);
          return -1;
        }
      if (parse_one (p, len, out[*n]) != 0)
        {
          snprintf (why, whylen, "'%.40s' is not an AAGUID like "
                    "ee882879-721c-4913-9775-3dfcce97072a", p);
          return -1;
        }
      (*n)++;
      p += len;
    }
  return 0;
}

static int
cmp_aaguid (const void *a, const void *b)
{
  return memcmp (a, b, 16);
}

static void
dump_list (FILE *f, const char *key, const uint8_t list[][16], size_t n)
{
  uint8_t sorted[RISK_MAX_AAGUIDS][16];
  char hex[33];

  memcpy (sorted, list, n * 16);
  qsort (sorted, n, 16, cmp_aaguid);
  fprintf (f, "%s =", key);
  for (size_t i = 0; i < n; i++)
    {
      core_hex_encode (sorted[i], 16, hex);
      fprintf (f, "%s%.8s-%.4s-%.4s-%.4s-%.12s", i == 0 ? " " : ",", hex,
               hex + 8, hex + 12, hex + 16, hex + 20);
    }
  fputc ('\n', f);
}

void
risk_aaguid_lists_dump (FILE *f, const struct risk_rules *rules)
{
  dump_list (f, "passkey.aaguid_allow", rules->aaguid_allow,
             rules->n_aaguid_allow);
  dump_list (f, "passkey.aaguid_deny", rules->aaguid_deny,
             rules->n_aaguid_deny);
}

static bool
listed (const uint8_t list[][16], size_t n, const uint8_t aaguid[16])
{
  for (size_t i = 0; i < n; i++)
    if (memcmp (list[i], aaguid, 16) == 0)
      return true;
  return false;
}

bool
risk_aaguid_decide (const struct risk_rules *rules, const uint8_t aaguid[16])
{
  if (listed (rules->aaguid_deny, rules->n_aaguid_deny, aaguid))
    return false;
  return rules->n_aaguid_allow == 0
         || listed (rules->aaguid_allow, rules->n_aaguid_allow, aaguid);
}

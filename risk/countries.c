/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * countries.c -- ISO 3166-1 country codes for the consistency checks:
 * applicants declare their residence in alpha-3 ("FRA", as in the MRZ)
 * while GeoIP and the SIM speak alpha-2 ("FR"); and a phone's IANA time
 * zone should lie in an area ("Europe", "America", ...) where its SIM
 * country has zones.
 *
 * The table was generated once from Debian's iso-codes (iso_3166-1.json)
 * and tzdata's zone.tab (the areas of each country's zones), then frozen
 * here so scoring depends on no file at run time.  It must never guess: an
 * unknown code or zone answers "cannot tell", and the caller skips the
 * check rather than firing it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "risk/risk_int.h"

/* Areas of IANA zone names (the part before the first '/'). */
enum {
  EU = 1 << 0, AS = 1 << 1, AM = 1 << 2, AF = 1 << 3, AU = 1 << 4,
  PA = 1 << 5, AT = 1 << 6, IN = 1 << 7, AN = 1 << 8, AR = 1 << 9
};

static const struct {
  const char *name;
  unsigned int bit;
} areas[] = {
  { "Europe", EU }, { "Asia", AS }, { "America", AM }, { "Africa", AF },
  { "Australia", AU }, { "Pacific", PA }, { "Atlantic", AT },
  { "Indian", IN }, { "Antarctica", AN }, { "Arctic", AR },
};

struct country {
  const char *a3;
  const char *a2;
  unsigned int areas;         /* areas of the country's zones; 0 = none */
};

/* Sorted by alpha-3 for bsearch. */
static const struct country countries[] = {
  { "ABW", "AW", AM }, { "AFG", "AF", AS }, { "AGO", "AO", AF },
  { "AIA", "AI", AM }, { "ALA", "AX", EU }, { "ALB", "AL", EU },
  { "AND", "AD", EU }, { "ARE", "AE", AS }, { "ARG", "AR", AM },
  { "ARM", "AM", AS }, { "ASM", "AS", PA }, { "ATA", "AQ", AN },
  { "ATF", "TF", IN }, { "ATG", "AG", AM }, { "AUS", "AU", AN|AU },
  { "AUT", "AT", EU }, { "AZE", "AZ", AS }, { "BDI", "BI", AF },
  { "BEL", "BE", EU }, { "BEN", "BJ", AF }, { "BES", "BQ", AM },
  { "BFA", "BF", AF }, { "BGD", "BD", AS }, { "BGR", "BG", EU },
  { "BHR", "BH", AS }, { "BHS", "BS", AM }, { "BIH", "BA", EU },
  { "BLM", "BL", AM }, { "BLR", "BY", EU }, { "BLZ", "BZ", AM },
  { "BMU", "BM", AT }, { "BOL", "BO", AM }, { "BRA", "BR", AM },
  { "BRB", "BB", AM }, { "BRN", "BN", AS }, { "BTN", "BT", AS },
  { "BVT", "BV", 0 }, { "BWA", "BW", AF }, { "CAF", "CF", AF },
  { "CAN", "CA", AM }, { "CCK", "CC", IN }, { "CHE", "CH", EU },
  { "CHL", "CL", AM|PA }, { "CHN", "CN", AS }, { "CIV", "CI", AF },
  { "CMR", "CM", AF }, { "COD", "CD", AF }, { "COG", "CG", AF },
  { "COK", "CK", PA }, { "COL", "CO", AM }, { "COM", "KM", IN },
  { "CPV", "CV", AT }, { "CRI", "CR", AM }, { "CUB", "CU", AM },
  { "CUW", "CW", AM }, { "CXR", "CX", IN }, { "CYM", "KY", AM },
  { "CYP", "CY", AS }, { "CZE", "CZ", EU }, { "DEU", "DE", EU },
  { "DJI", "DJ", AF }, { "DMA", "DM", AM }, { "DNK", "DK", EU },
  { "DOM", "DO", AM }, { "DZA", "DZ", AF }, { "ECU", "EC", AM|PA },
  { "EGY", "EG", AF }, { "ERI", "ER", AF }, { "ESH", "EH", AF },
  { "ESP", "ES", AF|AT|EU }, { "EST", "EE", EU }, { "ETH", "ET", AF },
  { "FIN", "FI", EU }, { "FJI", "FJ", PA }, { "FLK", "FK", AT },
  { "FRA", "FR", EU }, { "FRO", "FO", AT }, { "FSM", "FM", PA },
  { "GAB", "GA", AF }, { "GBR", "GB", EU }, { "GEO", "GE", AS },
  { "GGY", "GG", EU }, { "GHA", "GH", AF }, { "GIB", "GI", EU },
  { "GIN", "GN", AF }, { "GLP", "GP", AM }, { "GMB", "GM", AF },
  { "GNB", "GW", AF }, { "GNQ", "GQ", AF }, { "GRC", "GR", EU },
  { "GRD", "GD", AM }, { "GRL", "GL", AM }, { "GTM", "GT", AM },
  { "GUF", "GF", AM }, { "GUM", "GU", PA }, { "GUY", "GY", AM },
  { "HKG", "HK", AS }, { "HMD", "HM", 0 }, { "HND", "HN", AM },
  { "HRV", "HR", EU }, { "HTI", "HT", AM }, { "HUN", "HU", EU },
  { "IDN", "ID", AS }, { "IMN", "IM", EU }, { "IND", "IN", AS },
  { "IOT", "IO", IN }, { "IRL", "IE", EU }, { "IRN", "IR", AS },
  { "IRQ", "IQ", AS }, { "ISL", "IS", AT }, { "ISR", "IL", AS },
  { "ITA", "IT", EU }, { "JAM", "JM", AM }, { "JEY", "JE", EU },
  { "JOR", "JO", AS }, { "JPN", "JP", AS }, { "KAZ", "KZ", AS },
  { "KEN", "KE", AF }, { "KGZ", "KG", AS }, { "KHM", "KH", AS },
  { "KIR", "KI", PA }, { "KNA", "KN", AM }, { "KOR", "KR", AS },
  { "KWT", "KW", AS }, { "LAO", "LA", AS }, { "LBN", "LB", AS },
  { "LBR", "LR", AF }, { "LBY", "LY", AF }, { "LCA", "LC", AM },
  { "LIE", "LI", EU }, { "LKA", "LK", AS }, { "LSO", "LS", AF },
  { "LTU", "LT", EU }, { "LUX", "LU", EU }, { "LVA", "LV", EU },
  { "MAC", "MO", AS }, { "MAF", "MF", AM }, { "MAR", "MA", AF },
  { "MCO", "MC", EU }, { "MDA", "MD", EU }, { "MDG", "MG", IN },
  { "MDV", "MV", IN }, { "MEX", "MX", AM }, { "MHL", "MH", PA },
  { "MKD", "MK", EU }, { "MLI", "ML", AF }, { "MLT", "MT", EU },
  { "MMR", "MM", AS }, { "MNE", "ME", EU }, { "MNG", "MN", AS },
  { "MNP", "MP", PA }, { "MOZ", "MZ", AF }, { "MRT", "MR", AF },
  { "MSR", "MS", AM }, { "MTQ", "MQ", AM }, { "MUS", "MU", IN },
  { "MWI", "MW", AF }, { "MYS", "MY", AS }, { "MYT", "YT", IN },
  { "NAM", "NA", AF }, { "NCL", "NC", PA }, { "NER", "NE", AF },
  { "NFK", "NF", PA }, { "NGA", "NG", AF }, { "NIC", "NI", AM },
  { "NIU", "NU", PA }, { "NLD", "NL", EU }, { "NOR", "NO", EU },
  { "NPL", "NP", AS }, { "NRU", "NR", PA }, { "NZL", "NZ", PA },
  { "OMN", "OM", AS }, { "PAK", "PK", AS }, { "PAN", "PA", AM },
  { "PCN", "PN", PA }, { "PER", "PE", AM }, { "PHL", "PH", AS },
  { "PLW", "PW", PA }, { "PNG", "PG", PA }, { "POL", "PL", EU },
  { "PRI", "PR", AM }, { "PRK", "KP", AS }, { "PRT", "PT", AT|EU },
  { "PRY", "PY", AM }, { "PSE", "PS", AS }, { "PYF", "PF", PA },
  { "QAT", "QA", AS }, { "REU", "RE", IN }, { "ROU", "RO", EU },
  { "RUS", "RU", AS|EU }, { "RWA", "RW", AF }, { "SAU", "SA", AS },
  { "SDN", "SD", AF }, { "SEN", "SN", AF }, { "SGP", "SG", AS },
  { "SGS", "GS", AT }, { "SHN", "SH", AT }, { "SJM", "SJ", AR },
  { "SLB", "SB", PA }, { "SLE", "SL", AF }, { "SLV", "SV", AM },
  { "SMR", "SM", EU }, { "SOM", "SO", AF }, { "SPM", "PM", AM },
  { "SRB", "RS", EU }, { "SSD", "SS", AF }, { "STP", "ST", AF },
  { "SUR", "SR", AM }, { "SVK", "SK", EU }, { "SVN", "SI", EU },
  { "SWE", "SE", EU }, { "SWZ", "SZ", AF }, { "SXM", "SX", AM },
  { "SYC", "SC", IN }, { "SYR", "SY", AS }, { "TCA", "TC", AM },
  { "TCD", "TD", AF }, { "TGO", "TG", AF }, { "THA", "TH", AS },
  { "TJK", "TJ", AS }, { "TKL", "TK", PA }, { "TKM", "TM", AS },
  { "TLS", "TL", AS }, { "TON", "TO", PA }, { "TTO", "TT", AM },
  { "TUN", "TN", AF }, { "TUR", "TR", EU }, { "TUV", "TV", PA },
  { "TWN", "TW", AS }, { "TZA", "TZ", AF }, { "UGA", "UG", AF },
  { "UKR", "UA", EU }, { "UMI", "UM", PA }, { "URY", "UY", AM },
  { "USA", "US", AM|PA }, { "UZB", "UZ", AS }, { "VAT", "VA", EU },
  { "VCT", "VC", AM }, { "VEN", "VE", AM }, { "VGB", "VG", AM },
  { "VIR", "VI", AM }, { "VNM", "VN", AS }, { "VUT", "VU", PA },
  { "WLF", "WF", PA }, { "WSM", "WS", PA }, { "YEM", "YE", AS },
  { "ZAF", "ZA", AF }, { "ZMB", "ZM", AF }, { "ZWE", "ZW", AF },
};

/* Codes outside ISO 3166-1 that passports (ICAO 9303) and GeoIP use. */
static const struct country extras[] = {
  { "D", "DE", EU }, { "RKS", "XK", EU },
};

#define N_COUNTRIES (sizeof countries / sizeof countries[0])
#define N_EXTRAS (sizeof extras / sizeof extras[0])

static int
cmp_a3 (const void *key, const void *elem)
{
  const struct country *c = elem;

  return strcasecmp (key, c->a3);
}

static const struct country *
by_alpha2 (const char *a2)
{
  for (size_t i = 0; i < N_COUNTRIES; i++)
    if (0 == strcasecmp (a2, countries[i].a2))
      return &countries[i];
  for (size_t i = 0; i < N_EXTRAS; i++)
    if (0 == strcasecmp (a2, extras[i].a2))
      return &extras[i];
  return NULL;
}

const char *
risk_country_alpha2 (const char *code)
{
  const struct country *c;

  if (NULL == code)
    return NULL;
  if (2 == strlen (code))
    {
      c = by_alpha2 (code);
      return (NULL == c) ? NULL : c->a2;
    }
  c = bsearch (code, countries, N_COUNTRIES, sizeof countries[0], cmp_a3);
  for (size_t i = 0; NULL == c && i < N_EXTRAS; i++)
    if (0 == strcasecmp (code, extras[i].a3))
      c = &extras[i];
  return (NULL == c) ? NULL : c->a2;
}

bool
risk_country_known (const char *alpha2)
{
  if (NULL == alpha2 || 2 != strlen (alpha2))
    return false;
  if (! isupper ((unsigned char) alpha2[0])
      || ! isupper ((unsigned char) alpha2[1]))
    return false;
  return NULL != by_alpha2 (alpha2);
}

static unsigned int
tz_area (const char *tz)
{
  const char *slash = strchr (tz, '/');
  size_t n;

  if (NULL == slash)
    return 0;
  n = (size_t) (slash - tz);
  for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++)
    if (n == strlen (areas[i].name) && 0 == strncmp (tz, areas[i].name, n))
      return areas[i].bit;
  return 0;                   /* "Etc/UTC", "US/Eastern": cannot tell */
}

int
risk_country_tz_consistent (const char *alpha2, const char *tz)
{
  const struct country *c;
  unsigned int area;

  if (NULL == alpha2 || NULL == tz)
    return -1;
  c = by_alpha2 (alpha2);
  area = tz_area (tz);
  if (NULL == c || 0 == c->areas || 0 == area)
    return -1;
  return (0 != (c->areas & area)) ? 1 : 0;
}

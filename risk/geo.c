/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * geo.c -- where a client address is, with libmaxminddb: its country from
 * a GeoLite2/GeoIP2 Country (or City) database, and whether it is an
 * anonymising network from a GeoIP2 Anonymous IP database.
 *
 * The databases are memory-mapped once per load and only read afterwards;
 * libmaxminddb's look-ups are safe from many threads on one handle.  A
 * database that is not configured, cannot be opened or is of the wrong
 * type is "missing": the scorer then reports geo_unavailable instead of
 * passing the checks that need it.  Private and loopback addresses are not
 * looked up: their country is unknown, which is not an error.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "risk/risk_int.h"

static void
append (char *err, size_t errlen, const char *what, const char *path,
        const char *why)
{
  size_t used = strlen (err);

  if (used + 1 >= errlen)
    return;
  snprintf (err + used, errlen - used, "%s%s database %s%s%s",
            (0 == used) ? "" : "; ", what, (NULL != path) ? path : "",
            (NULL != path) ? ": " : "", why);
}

/* Open @a path as a database whose type contains one of @a types. */
static bool
open_one (MMDB_s *db, const char *path, const char *what,
          const char *const types[], char *err, size_t errlen)
{
  int rc;

  if (NULL == path || '\0' == *path)
    {
      append (err, errlen, what, NULL, "not configured");
      return false;
    }
  rc = MMDB_open (path, MMDB_MODE_MMAP, db);
  if (MMDB_SUCCESS != rc)
    {
      append (err, errlen, what, path, MMDB_strerror (rc));
      return false;
    }
  for (size_t i = 0; NULL != types[i]; i++)
    if (NULL != strstr (db->metadata.database_type, types[i]))
      return true;
  append (err, errlen, what, path, "is not of the expected type");
  MMDB_close (db);
  return false;
}

int
risk_geo_open (struct risk_geodb *g, const char *country_path,
               const char *anonymous_path, char *err, size_t errlen)
{
  static const char *const country_types[] =
    { "Country", "City", "Enterprise", NULL };
  static const char *const anonymous_types[] = { "Anonymous-IP", NULL };
  char dummy[1];

  if (NULL == err || 0 == errlen)
    {
      err = dummy;
      errlen = sizeof dummy;
    }
  err[0] = '\0';
  memset (g, 0, sizeof *g);
  g->have_country = open_one (&g->country, country_path, "GeoIP country",
                              country_types, err, errlen);
  g->have_anonymous = open_one (&g->anonymous, anonymous_path,
                                "GeoIP anonymous-IP", anonymous_types, err,
                                errlen);
  return (g->have_country && g->have_anonymous) ? 0 : 1;
}

void
risk_geo_close (struct risk_geodb *g)
{
  if (g->have_country)
    MMDB_close (&g->country);
  if (g->have_anonymous)
    MMDB_close (&g->anonymous);
  g->have_country = g->have_anonymous = false;
}

/* ============================================================ look-ups */

static bool
find (const MMDB_s *db, const char *addr, MMDB_entry_s *entry)
{
  int gai_error = 0, mmdb_error = MMDB_SUCCESS;
  MMDB_lookup_result_s res =
    MMDB_lookup_string (db, addr, &gai_error, &mmdb_error);

  if (0 != gai_error || MMDB_SUCCESS != mmdb_error || ! res.found_entry)
    return false;
  *entry = res.entry;
  return true;
}

static bool
get_iso_code (MMDB_entry_s *entry, const char *where, char out[3])
{
  MMDB_entry_data_s data;

  if (MMDB_SUCCESS != MMDB_get_value (entry, &data, where, "iso_code", NULL)
      || ! data.has_data || MMDB_DATA_TYPE_UTF8_STRING != data.type
      || 2 != data.data_size)
    return false;
  memcpy (out, data.utf8_string, 2);
  out[2] = '\0';
  return true;
}

static void
lookup_country (const MMDB_s *db, const char *addr, struct risk_geo *out)
{
  MMDB_entry_s entry;

  if (! find (db, addr, &entry))
    return;
  /* Where the network is used; failing that, where it is registered. */
  out->country_known = get_iso_code (&entry, "country", out->country)
    || get_iso_code (&entry, "registered_country", out->country);
}

static bool
get_flag (MMDB_entry_s *entry, const char *name)
{
  MMDB_entry_data_s data;

  return MMDB_SUCCESS == MMDB_get_value (entry, &data, name, NULL)
    && data.has_data && MMDB_DATA_TYPE_BOOLEAN == data.type && data.boolean;
}

static void
lookup_anonymous (const MMDB_s *db, const char *addr, struct risk_geo *out)
{
  MMDB_entry_s entry;

  out->anon_known = true;     /* absent from the database = not anonymous */
  if (! find (db, addr, &entry))
    return;
  out->anonymous = get_flag (&entry, "is_anonymous");
  out->vpn = get_flag (&entry, "is_anonymous_vpn");
  out->hosting = get_flag (&entry, "is_hosting_provider");
  out->public_proxy = get_flag (&entry, "is_public_proxy");
  out->residential_proxy = get_flag (&entry, "is_residential_proxy");
  out->tor = get_flag (&entry, "is_tor_exit_node");
}

void
risk_geo_lookup (const struct risk_geodb *g, const char *addr,
                 struct risk_geo *out)
{
  char canon[INET6_ADDRSTRLEN];

  memset (out, 0, sizeof *out);
  out->cls = risk_addr_classify (addr, canon, sizeof canon);
  if (RISK_ADDR_PUBLIC != out->cls || NULL == g)
    return;
  if (g->have_country)
    lookup_country (&g->country, canon, out);
  if (g->have_anonymous)
    lookup_anonymous (&g->anonymous, canon, out);
}

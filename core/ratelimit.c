/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * ratelimit.c -- rate limits in PostgreSQL (see ratelimit.h): one call of
 * the SQL function rate_limit_take(), the addresses that stand for a
 * client, and the purge of rows that hold nothing any more.
 *
 * Nothing here caches a count: every decision is the database's, so a
 * limit holds whichever instance a request reaches.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ratelimit.h"
#include "core/retention.h"

static const struct core_db_stmt rate_stmts[] = {
  { "core_rate_take",
    "SELECT rate_limit_take($1, $2, $3::integer, $4::integer)" },
  /* A row whose tat is past is as good as none.  $1 batch, $2 unused */
  { "core_rate_purge",
    "DELETE FROM rate_limits WHERE ctid = ANY (ARRAY ("
    " SELECT ctid FROM rate_limits"
    "  WHERE tat < now() - make_interval(secs => $2::integer)"
    "  LIMIT $1::integer FOR UPDATE SKIP LOCKED))" },
  { NULL, NULL }
};

static const struct core_purge_job rate_jobs[] = {
  { .name = "rate_limits", .stmt = "core_rate_purge",
    .retention = CORE_PURGE_NOW },
  { .name = NULL }
};

void
core_ratelimit_register (void)
{
  core_db_register (rate_stmts);
  core_retention_register (rate_jobs);
}

void
core_rate_params (const struct core_rate *r, char count[CORE_RATE_PARAM_LEN],
                  char period[CORE_RATE_PARAM_LEN])
{
  snprintf (count, CORE_RATE_PARAM_LEN, "%u", r != NULL ? r->count : 0);
  snprintf (period, CORE_RATE_PARAM_LEN, "%u", r != NULL ? r->period_s : 0);
}

bool
core_rate_gcra (const struct core_rate *r, char step[CORE_RATE_PARAM_LEN],
                char ahead[CORE_RATE_PARAM_LEN])
{
  double st;

  if (r == NULL || r->count == 0 || r->period_s == 0)
    return false;
  st = (double) r->period_s / r->count;
  snprintf (step, CORE_RATE_PARAM_LEN, "%.6f", st);
  snprintf (ahead, CORE_RATE_PARAM_LEN, "%.6f", (double) r->period_s - st);
  return true;
}

/* Counted exactly up to this many requests a second; above, sampled. */
#define EXACT_PER_S 64
#define MAX_WEIGHT 16

unsigned int
core_rate_sampled (const struct core_rate *r,
                   char step_w[CORE_RATE_PARAM_LEN],
                   char chance[CORE_RATE_PARAM_LEN])
{
  double per_s;
  unsigned int w;

  if (r == NULL || r->count == 0 || r->period_s == 0)
    return 0;
  per_s = (double) r->count / r->period_s;
  w = per_s < EXACT_PER_S ? 1 : (unsigned int) (per_s / (EXACT_PER_S / 2));
  if (w > MAX_WEIGHT)
    w = MAX_WEIGHT;
  snprintf (step_w, CORE_RATE_PARAM_LEN, "%.6f",
            (double) w * r->period_s / r->count);
  snprintf (chance, CORE_RATE_PARAM_LEN, "%.6f", 1.0 / w);
  return w;
}

enum core_db_status
core_rate_take (struct core_db *db, const char *scope, const char *key,
                const struct core_rate *r, unsigned int *retry_after)
{
  char count[CORE_RATE_PARAM_LEN], period[CORE_RATE_PARAM_LEN];
  const char *p[4] = { scope, key, count, period };
  PGresult *res = NULL;
  enum core_db_status st;
  const char *v;

  *retry_after = 0;
  if (r == NULL || r->count == 0)
    return CORE_DB_ONE_ROW;     /* no limit: no round trip */
  core_rate_params (r, count, period);
  st = core_db_exec (db, "core_rate_take", 4, p, &res);
  if (st == CORE_DB_ONE_ROW && (v = core_db_value (res, 0, 0)) != NULL)
    *retry_after = (unsigned int) strtoul (v, NULL, 10);
  else if (st == CORE_DB_NO_ROW)
    st = CORE_DB_HARD_ERROR;
  PQclear (res);
  return st;
}

void
core_rate_addr_key (const char *addr, char out[CORE_RATE_KEY_LEN])
{
  struct in6_addr a6;

  snprintf (out, CORE_RATE_KEY_LEN, "%s",
            addr != NULL && addr[0] != '\0' ? addr : "unknown");
  if (addr == NULL || strchr (addr, ':') == NULL
      || inet_pton (AF_INET6, addr, &a6) != 1)
    return;
  if (IN6_IS_ADDR_V4MAPPED (&a6))
    {
      inet_ntop (AF_INET, &a6.s6_addr[12], out, CORE_RATE_KEY_LEN);
      return;
    }
  memset (&a6.s6_addr[8], 0, 8);
  if (inet_ntop (AF_INET6, &a6, out, CORE_RATE_KEY_LEN - 4) != NULL)
    strcat (out, "/64");
}

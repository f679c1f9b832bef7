/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * ratelimit.h -- rate limits kept in PostgreSQL, so that every guichetd
 * instance sees the same counts.
 *
 * A limit is "N per P seconds" (struct core_rate, from the configuration)
 * on a (scope, key) pair: scope names what is limited ("enrolment_address"),
 * key who or what ("203.0.113.7", an enrolment id).  The state is one row
 * of rate_limits and the arithmetic is the SQL function rate_limit_take()
 * of migration 0010 (GCRA), so that a module can also call it inside one
 * of its own statements (CORE_RATE_TAKE_SQL) and count in the transaction
 * that does the limited work.  A refused request counts nothing.
 */
#ifndef GUICHET_CORE_RATELIMIT_H
#define GUICHET_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/db.h"

/** Buffer sizes for core_rate_params and core_rate_addr_key. */
#define CORE_RATE_PARAM_LEN 16
#define CORE_RATE_KEY_LEN 64

/** Register the statements of this file and the purge job of
    rate_limits (once, from main). */
void
core_ratelimit_register (void);

/**
 * Take one request from the limit @a r of (@a scope, @a key), inside the
 * caller's transaction if one is open (the count then commits or rolls
 * back with the caller's work).
 * @param[out] retry_after  0 when admitted, else the seconds to wait (>= 1)
 * @return ONE_ROW (see @a retry_after), SOFT_ERROR or HARD_ERROR
 */
enum core_db_status
core_rate_take (struct core_db *db, const char *scope, const char *key,
                const struct core_rate *r, unsigned int *retry_after);

/** @a r as the two text parameters rate_limit_take() wants. */
void
core_rate_params (const struct core_rate *r, char count[CORE_RATE_PARAM_LEN],
                  char period[CORE_RATE_PARAM_LEN]);

/**
 * The same limit for a statement that does the arithmetic itself, on a hot
 * path where a plpgsql call per request costs too much (authn_db.c): in
 * seconds, as text, the GCRA step (period/count: how far one request moves
 * tat) and how far ahead of now tat may be when a request is admitted
 * (period - step).  A request is refused while tat - now() > ahead.
 * @return false for "no limit" (nothing written to the buffers)
 */
bool
core_rate_gcra (const struct core_rate *r, char step[CORE_RATE_PARAM_LEN],
                char ahead[CORE_RATE_PARAM_LEN]);

/**
 * Sampled counting, for limits far above what one row should take a write
 * for (a relying party's thousand verifies a second): one admitted request
 * in @a weight is counted, chosen at random by the database, and moves tat
 * @a weight steps.  The expected count is exact; below 64 requests a
 * second the weight is 1 (every request counted).
 * @param[out] step_w  @a weight steps, in seconds, as text
 * @param[out] chance  1 / @a weight, as text
 * @return the weight (>= 1), or 0 for "no limit"
 */
unsigned int
core_rate_sampled (const struct core_rate *r,
                   char step_w[CORE_RATE_PARAM_LEN],
                   char chance[CORE_RATE_PARAM_LEN]);

/**
 * The key that stands for a client address in per-address limits: an IPv4
 * address as it is, an IPv6 address as its /64 (one subscriber gets a
 * whole /64 and picks addresses in it at will), an IPv4-mapped IPv6
 * address as the IPv4 address.  Anything else is kept as given (cut to
 * fit).  Never fails.
 */
void
core_rate_addr_key (const char *addr, char out[CORE_RATE_KEY_LEN]);

#endif

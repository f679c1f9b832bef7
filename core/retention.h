/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * retention.h -- nothing a stranger can create grows without bound: each
 * module registers purge jobs for its tables (dead challenges, ended
 * sessions, used tokens, old nonces, sent messages, spent rate-limit rows)
 * and guichetd runs them on a schedule, in bounded batches, one instance
 * at a time.
 *
 * A job is one prepared statement of its module that deletes at most $1
 * rows (the batch) among those that ended more than $2 seconds ago (the
 * job's retention), skipping rows a request holds (FOR UPDATE SKIP LOCKED),
 * and affects the rows it deleted.  The audit log and the authentication
 * audit are never purged here.
 */
#ifndef GUICHET_CORE_RETENTION_H
#define GUICHET_CORE_RETENTION_H

#include <stddef.h>
#include <jansson.h>

#include "core/db.h"

/** A job's retention: a configuration field (offsetof struct core_config,
    an unsigned int of seconds), or CORE_PURGE_NOW for rows that hold
    nothing once they end (their $2 is 0). */
#define CORE_PURGE_NOW ((size_t) -1)

struct core_purge_job {
  const char *name;          /* the table, for logs and the report */
  const char *stmt;          /* registered statement: $1 batch, $2 seconds */
  size_t retention;          /* offsetof (struct core_config, ...) or NOW */
  size_t plus;               /* another such field added to it (how long a
                                row lives before it ends, e.g. a session's
                                idle time), or 0 for none */
  const char *verb;          /* what it does to its rows, for the log:
                                NULL for "purged"; a job may also change
                                rows that ended rather than delete them
                                (transactions past their expiry become
                                "expired") */
};

/** Register @a jobs (ending with a NULL name; must stay valid), once,
    from main, before core_retention_start or core_retention_run. */
void
core_retention_register (const struct core_purge_job *jobs);

/**
 * One pass over every job on @a db, unless another instance holds the
 * purge lock (then nothing is done).  Each job deletes batches of
 * purge_batch rows until a batch comes back short, at most 100 batches.
 * @param[out] report  if not NULL: {"ran": bool, "purged": {table: n}}
 *                     (caller json_decref()s)
 * @return 0, or -1 when the database failed (logged; the lock is let go)
 */
int
core_retention_run (struct core_db *db, json_t **report);

/** Start the thread that runs a pass every purge_interval_s seconds (none
    when it is 0).  @return 0, or -1 (logged) */
int
core_retention_start (void);

/** Stop that thread (waits for a pass in progress). */
void
core_retention_stop (void);

#endif

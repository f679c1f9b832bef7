/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * migrate.h -- applies the numbered SQL files of migrations/ in order.
 *
 * Each file NNNN_name.sql runs in its own transaction and is recorded in
 * schema_migrations in that same transaction.  A session-level advisory
 * lock serialises concurrent migrators, so running it twice, or from two
 * processes at once, applies each file exactly once.
 */
#ifndef GUICHET_CORE_MIGRATE_H
#define GUICHET_CORE_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/**
 * Apply the files of @a dir missing from schema_migrations.
 * @param[out] applied  number of files applied now
 * @return 0, or -1 with a message in @a err (the failing file's transaction
 *         is rolled back; earlier files stay applied)
 */
int
core_migrate_apply (PGconn *conn, const char *dir, int *applied,
                    char *err, size_t errlen);

/**
 * @return the number of files in @a dir not yet recorded (0 = current),
 *         or -1 if the database cannot be read.
 */
int
core_migrate_pending (PGconn *conn, const char *dir);

#endif

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * db.h -- PostgreSQL access: one connection per thread, statements prepared
 * once per connection, a transaction runner that retries serialization
 * failures and deadlocks, and reconnection after the database restarts.
 *
 * Domain modules register their statements at start-up with
 * core_db_register(); every new (or re-established) connection prepares all
 * registered statements.  Queries run by statement name with text
 * parameters only -- never SQL built from strings.  The function that runs a
 * query PQclear()s its result.
 */
#ifndef GUICHET_CORE_DB_H
#define GUICHET_CORE_DB_H

#include <stdbool.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "core/error.h"

/** Outcome of a query or transaction. */
enum core_db_status {
  CORE_DB_HARD_ERROR = -2,   /* connection lost, bug in SQL, constraint... */
  CORE_DB_SOFT_ERROR = -1,   /* serialization failure or deadlock: retry */
  CORE_DB_NO_ROW = 0,        /* ran, no row returned/affected */
  CORE_DB_ONE_ROW = 1        /* ran, one (or more: see nrows) rows */
};

struct core_db_stmt {
  const char *name;          /* unique across modules, e.g. "authn_get_cred" */
  const char *sql;
};

/**
 * Register statements to prepare on every connection.  Call before any
 * connection is opened (from main, single-threaded).  @a stmts ends with a
 * {NULL, NULL} entry and must stay valid for the life of the process.
 */
void
core_db_register (const struct core_db_stmt *stmts);

/** Set the conninfo used by all threads (copied).  Call once from main. */
void
core_db_setup (const char *conninfo);

/** The conninfo given to core_db_setup (for a dedicated LISTEN connection). */
const char *
core_db_conninfo (void);

struct core_db;

/**
 * This thread's connection, connecting and preparing statements if needed.
 * @return NULL when the database cannot be reached (caller answers 503);
 *         retried on the next call.
 */
struct core_db *
core_db_thread (void);

/** Close this thread's connection (e.g. at thread exit).  */
void
core_db_thread_close (void);

/** The raw libpq handle (for COPY and the like). */
PGconn *
core_db_conn (struct core_db *db);

/**
 * Run a prepared statement.
 * @param params  @a nparams NUL-terminated strings (NULL = SQL NULL)
 * @param[out] res  if non-NULL and the status is >= 0, the result, which the
 *             caller must PQclear(); otherwise set to NULL.
 * @return ONE_ROW if at least one row came back or was affected, NO_ROW if
 *         none, SOFT_ERROR on 40001/40P01, HARD_ERROR otherwise (the error
 *         is logged; a broken connection is reset for the next call).
 *         A statement that is not prepared on this connection (its table
 *         was not migrated yet when the connection opened) is prepared and
 *         run again outside a transaction; inside one, the connection is
 *         reset and SOFT_ERROR returned so core_db_tx retries afresh.
 */
enum core_db_status
core_db_exec (struct core_db *db, const char *stmt, int nparams,
              const char *const *params, PGresult **res);

/**
 * The SQLSTATE of this thread's last failed statement ("" if the last one
 * succeeded), e.g. "23505" for a unique violation, so a domain module can
 * answer "conflict" rather than 500.  Valid until the next query.
 */
const char *
core_db_last_sqlstate (void);

/** Like core_db_exec with binary-capable params (lengths/formats as libpq). */
enum core_db_status
core_db_exec_params (struct core_db *db, const char *stmt, int nparams,
                     const char *const *values, const int *lengths,
                     const int *formats, PGresult **res);

/** Run a plain SQL command without parameters (BEGIN, COMMIT, DDL). */
enum core_db_status
core_db_command (struct core_db *db, const char *sql);

/**
 * A transaction body.  Runs between BEGIN and COMMIT; returns a status.  A
 * HARD/SOFT error makes the runner roll back; SOFT errors are retried (up
 * to 5 times, with a short randomized back-off).  @a cls is the caller's.
 * A body may be called several times: it must not keep side effects outside
 * the database between attempts (reset its output at the start).
 */
typedef enum core_db_status
(*core_db_tx_fn)(struct core_db *db, void *cls);

/**
 * Run @a fn in a transaction (READ COMMITTED unless @a serializable).
 * A body that returns NO_ROW or ONE_ROW is committed; a commit that fails
 * with a serialization error is retried too.
 * @return the body's final status, or HARD_ERROR if BEGIN/COMMIT failed.
 */
enum core_db_status
core_db_tx (struct core_db *db, bool serializable, core_db_tx_fn fn, void *cls);

/** @return true if the connection is up (runs "SELECT 1" if @a probe). */
bool
core_db_alive (struct core_db *db, bool probe);

/**
 * What a failed statement means for the answer: the database is gone
 * (no connection, or it dropped) or the failure is ours.
 * @return CORE_ERR_DATABASE_UNAVAILABLE or CORE_ERR_INTERNAL
 */
enum core_err
core_db_err (struct core_db *db);

/** Helper: column @a col of row 0 of @a res, or NULL if SQL NULL. */
const char *
core_db_value (const PGresult *res, int row, int col);

/**
 * Run a prepared statement whose answer is one row of one column of JSON
 * text (PostgreSQL builds the document, e.g. with json_agg) and parse it.
 * @param[out] out  the parsed document, which the caller must json_decref();
 *             NULL unless CORE_OK is returned.
 * @return CORE_OK; CORE_ERR_NOT_FOUND if no row came back;
 *         CORE_ERR_DATABASE_UNAVAILABLE if the statement failed and the
 *         connection is gone; CORE_ERR_INTERNAL if it failed on a live
 *         connection or its text is not JSON.
 */
enum core_err
core_db_json_query (struct core_db *db, const char *stmt, int nparams,
                    const char *const *params, json_t **out);

#endif

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * db.c -- PostgreSQL access for every module: one connection per thread,
 * the registry of prepared statements, result classification and the
 * transaction runner (see db.h).
 *
 * Each thread owns its connection (a __thread struct), so nothing here needs
 * a lock once start-up has registered the statements.  A statement is
 * prepared on a connection the first time that connection runs it, not at
 * connect: there are hundreds, a worker uses a few, and preparing them all
 * cost every new connection ~80 ms of round trips and server parsing (16
 * workers connecting under load spent a second of CPU on it).  A connection
 * that breaks is closed and re-opened by the next core_db_thread().
 * Failures are logged once, by statement name, with the SQLSTATE and server
 * message: never with the parameters, which may be secrets.  This file must
 * never build SQL from strings.
 */
#include "core/db.h"
#include "core/crypto.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define MAX_TABLES 64
#define TX_RETRIES 5

struct core_db {
  PGconn *conn;
  bool down_logged;     /* "cannot connect" already said on this thread */
  uint8_t *prepared;    /* per statement index: prepared on conn */
};

static const struct core_db_stmt *registry[MAX_TABLES];
static size_t registry_len;
static char *conninfo;

/* Every registered statement, sorted by name; built once, at the first
   connection, after start-up has registered them all. */
static const struct core_db_stmt **stmt_index;
static size_t stmt_count;
static pthread_once_t stmt_index_once = PTHREAD_ONCE_INIT;

static __thread struct core_db thread_db;
static __thread char last_sqlstate[6];

/* A thread's connection is closed when the thread ends (the key's
   destructor): libmicrohttpd's worker threads end with the daemon, and
   their connections went with them unclosed (found by ./dev test
   --sanitize: LeakSanitizer, every PGconn of every worker). */
static pthread_key_t thread_end_key;
static pthread_once_t thread_end_once = PTHREAD_ONCE_INIT;

void
core_db_register (const struct core_db_stmt *stmts)
{
  if (registry_len == MAX_TABLES || stmt_index != NULL)
    {
      LOG_BUG ("statement table registered %s",
               stmt_index != NULL ? "after the first connection"
                                  : "beyond the table limit");
      abort ();
    }
  registry[registry_len++] = stmts;
}

static int
stmt_cmp (const void *a, const void *b)
{
  return strcmp ((*(const struct core_db_stmt *const *) a)->name,
                 (*(const struct core_db_stmt *const *) b)->name);
}

static void
stmt_index_build (void)
{
  size_t n = 0, k = 0;

  for (size_t t = 0; t < registry_len; t++)
    for (const struct core_db_stmt *s = registry[t]; s->name != NULL; s++)
      n++;
  stmt_index = calloc (n > 0 ? n : 1, sizeof *stmt_index);
  if (stmt_index == NULL)
    {
      LOG_BUG ("out of memory");
      abort ();
    }
  for (size_t t = 0; t < registry_len; t++)
    for (const struct core_db_stmt *s = registry[t]; s->name != NULL; s++)
      stmt_index[k++] = s;
  qsort (stmt_index, n, sizeof *stmt_index, stmt_cmp);
  for (size_t i = 1; i < n; i++)
    if (strcmp (stmt_index[i - 1]->name, stmt_index[i]->name) == 0)
      {
        LOG_BUG ("statement %s registered twice", stmt_index[i]->name);
        abort ();
      }
  stmt_count = n;
}

/* @return the index of statement @a name, or -1. */
static long
stmt_find (const char *name)
{
  size_t lo = 0, hi = stmt_count;

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int c = strcmp (name, stmt_index[mid]->name);

      if (c == 0)
        return (long) mid;
      if (c < 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return -1;
}

void
core_db_setup (const char *info)
{
  free (conninfo);
  conninfo = strdup (info != NULL ? info : "");
  if (conninfo == NULL)
    {
      LOG_BUG ("out of memory");
      abort ();
    }
}

const char *
core_db_conninfo (void)
{
  return conninfo != NULL ? conninfo : "";
}

const char *
core_db_last_sqlstate (void)
{
  return last_sqlstate;
}

/* ================================================================
 * Connections
 * ================================================================ */

/* @return true if @a s was prepared on @a conn (failure logged). */
static bool
prepare_one (PGconn *conn, const struct core_db_stmt *s)
{
  PGresult *r = PQprepare (conn, s->name, s->sql, 0, NULL);
  bool ok = PQresultStatus (r) == PGRES_COMMAND_OK;

  if (!ok)
    LOG_ERROR ("cannot prepare statement %s: %s", s->name,
               r != NULL && PQresultErrorField (r, PG_DIAG_MESSAGE_PRIMARY)
               ? PQresultErrorField (r, PG_DIAG_MESSAGE_PRIMARY)
               : PQerrorMessage (conn));
  PQclear (r);
  return ok;
}

/* Server notices (e.g. "relation already exists, skipping") go to the
 * log, not raw to stderr. */
static void
notice_to_log (void *cls __attribute__ ((unused)), const char *message)
{
  LOG_DEBUG ("database notice: %s", message);
}

static PGconn *
connect_once (void)
{
  static const char *const keys[] = {
    "connect_timeout", "dbname", "fallback_application_name", NULL
  };
  const char *values[] = {
    "10", conninfo != NULL ? conninfo : "", "guichetd", NULL
  };

  return PQconnectdbParams (keys, values, 1);
}

static void
db_close (struct core_db *db)
{
  if (db->conn != NULL)
    PQfinish (db->conn);
  db->conn = NULL;
  free (db->prepared);
  db->prepared = NULL;
}

/* Does an idle connection have anything to read?  We use no LISTEN on
   these connections, so anything the server sends while we are idle is a
   FATAL message or the end of the stream. */
static bool
stale (PGconn *conn)
{
  struct pollfd p = { .fd = PQsocket (conn), .events = POLLIN };

  if (p.fd < 0)
    return true;
  return poll (&p, 1, 0) > 0;
}

static void
thread_end (void *db)
{
  db_close (db);
}

static void
thread_end_key_make (void)
{
  if (pthread_key_create (&thread_end_key, &thread_end) != 0)
    LOG_BUG ("pthread_key_create failed: connections are not closed "
             "when their thread ends");
}

/* One connection attempt if @a db has none. @return true if connected. */
static bool
ensure_conn (struct core_db *db)
{
  /* An idle connection whose server went away (restart, failover) has an
     EOF or a FATAL message waiting: reading it now, without blocking, lets
     us reconnect before the request's first statement rather than failing
     it.  A statement is never re-sent after it may have run. */
  if (db->conn != NULL && PQstatus (db->conn) == CONNECTION_OK
      && PQtransactionStatus (db->conn) == PQTRANS_IDLE && stale (db->conn))
    {
      LOG_INFO ("database connection was closed by the server: reconnecting");
      db_close (db);
    }
  if (db->conn != NULL && PQstatus (db->conn) == CONNECTION_OK)
    return true;
  db_close (db);
  pthread_once (&stmt_index_once, &stmt_index_build);
  db->conn = connect_once ();
  db->prepared = calloc (stmt_count > 0 ? stmt_count : 1, 1);
  if (db->conn == NULL || PQstatus (db->conn) != CONNECTION_OK
      || db->prepared == NULL)
    {
      if (!db->down_logged)
        LOG_WARN ("cannot connect to the database: %s",
                  db->conn != NULL ? PQerrorMessage (db->conn)
                                   : "out of memory");
      db->down_logged = true;
      db_close (db);
      return false;
    }
  PQsetNoticeProcessor (db->conn, notice_to_log, NULL);
  pthread_once (&thread_end_once, &thread_end_key_make);
  (void) pthread_setspecific (thread_end_key, db);
  if (db->down_logged)
    LOG_INFO ("database connection restored");
  db->down_logged = false;
  return true;
}

struct core_db *
core_db_thread (void)
{
  return ensure_conn (&thread_db) ? &thread_db : NULL;
}

void
core_db_thread_close (void)
{
  db_close (&thread_db);
}

PGconn *
core_db_conn (struct core_db *db)
{
  return db != NULL ? db->conn : NULL;
}

/* ================================================================
 * Running statements
 * ================================================================ */

/* Log a hard failure once.  The server's DETAIL (and for data exceptions,
 * class 22, even the primary message) can quote parameter values, which
 * may be secrets: only the statement name, SQLSTATE, constraint and primary
 * message are logged. */
static void
log_failure (struct core_db *db, const char *name, const char *state,
             const PGresult *r)
{
  const char *msg = NULL, *constraint = NULL;

  if (r != NULL)
    {
      msg = PQresultErrorField (r, PG_DIAG_MESSAGE_PRIMARY);
      constraint = PQresultErrorField (r, PG_DIAG_CONSTRAINT_NAME);
    }
  if (state == NULL)
    LOG_ERROR ("statement %s failed: %s", name, PQerrorMessage (db->conn));
  else if (strncmp (state, "23", 2) == 0)
    /* unique/foreign key/check: a duplicate or stale request, not a bug */
    LOG_WARN ("statement %s: constraint %s violated [%s]", name,
              constraint != NULL ? constraint : "-", state);
  else if (strncmp (state, "22", 2) == 0)
    LOG_WARN ("statement %s: data exception [%s]", name, state);
  else
    LOG_ERROR ("statement %s failed: [%s] %s", name, state,
               msg != NULL ? msg : PQerrorMessage (db->conn));
}

/* Classify @a r (which may be NULL) and log a hard failure once. */
static enum core_db_status
classify (struct core_db *db, const char *name, const PGresult *r)
{
  const char *state, *tuples;

  last_sqlstate[0] = '\0';
  switch (PQresultStatus (r))
    {
    case PGRES_TUPLES_OK:
      return PQntuples (r) > 0 ? CORE_DB_ONE_ROW : CORE_DB_NO_ROW;
    case PGRES_COMMAND_OK:
      tuples = PQcmdTuples ((PGresult *) r);
      return tuples[0] != '\0' && strcmp (tuples, "0") != 0
             ? CORE_DB_ONE_ROW : CORE_DB_NO_ROW;
    case PGRES_EMPTY_QUERY:
      return CORE_DB_NO_ROW;
    default:
      break;
    }
  state = r != NULL ? PQresultErrorField (r, PG_DIAG_SQLSTATE) : NULL;
  if (state != NULL)
    snprintf (last_sqlstate, sizeof last_sqlstate, "%s", state);
  if (state != NULL
      && (strcmp (state, "40001") == 0 || strcmp (state, "40P01") == 0))
    {
      LOG_DEBUG ("%s: serialization failure or deadlock (%s)", name, state);
      return CORE_DB_SOFT_ERROR;
    }
  log_failure (db, name, state, r);
  return CORE_DB_HARD_ERROR;
}

static PGresult *
exec_prepared (struct core_db *db, const char *stmt, int nparams,
               const char *const *values, const int *lengths,
               const int *formats)
{
  return PQexecPrepared (db->conn, stmt, nparams, values, lengths, formats, 0);
}

static bool
is_missing_statement (const PGresult *r)
{
  const char *state = PQresultErrorField (r, PG_DIAG_SQLSTATE);

  return state != NULL && strcmp (state, "26000") == 0;
}

/* Prepare statement @a i on this connection unless it is already.
   @return false (logged) if it cannot be prepared. */
static bool
ensure_prepared (struct core_db *db, long i)
{
  if (db->prepared[i])
    return true;
  if (!prepare_one (db->conn, stmt_index[i]))
    return false;
  db->prepared[i] = 1;
  return true;
}

/* The server lost a statement we prepared (a pooler's DISCARD ALL, say).
 * Outside a transaction, prepare it again and run again; inside one (now
 * aborted), reset the connection so the runner's next attempt starts on a
 * fresh one. */
static PGresult *
recover_missing (struct core_db *db, long i, int nparams,
                 const char *const *values, const int *lengths,
                 const int *formats, PGresult *r, bool *soft)
{
  const char *stmt = stmt_index[i]->name;

  if (PQtransactionStatus (db->conn) != PQTRANS_IDLE)
    {
      LOG_WARN ("statement %s missing inside a transaction: reconnecting",
                stmt);
      PQclear (r);
      db_close (db);
      *soft = true;
      return NULL;
    }
  db->prepared[i] = 0;
  if (!ensure_prepared (db, i))
    return r;
  PQclear (r);
  return exec_prepared (db, stmt, nparams, values, lengths, formats);
}

enum core_db_status
core_db_exec_params (struct core_db *db, const char *stmt, int nparams,
                     const char *const *values, const int *lengths,
                     const int *formats, PGresult **res)
{
  enum core_db_status st;
  bool soft = false;
  PGresult *r;
  long i;

  if (res != NULL)
    *res = NULL;
  if (db == NULL || db->conn == NULL)
    return CORE_DB_HARD_ERROR;
  i = stmt_find (stmt);
  if (i < 0)
    {
      LOG_BUG ("statement %s is not registered", stmt);
      return CORE_DB_HARD_ERROR;
    }
  if (!ensure_prepared (db, i))
    {
      if (PQstatus (db->conn) == CONNECTION_BAD)
        db_close (db);
      return CORE_DB_HARD_ERROR;
    }
  r = exec_prepared (db, stmt, nparams, values, lengths, formats);
  if (r != NULL && is_missing_statement (r))
    r = recover_missing (db, i, nparams, values, lengths, formats, r, &soft);
  if (soft)
    return CORE_DB_SOFT_ERROR;
  st = classify (db, stmt, r);
  if (st >= 0 && res != NULL)
    *res = r;
  else
    PQclear (r);
  if (st == CORE_DB_HARD_ERROR && PQstatus (db->conn) == CONNECTION_BAD)
    db_close (db);
  return st;
}

enum core_db_status
core_db_exec (struct core_db *db, const char *stmt, int nparams,
              const char *const *params, PGresult **res)
{
  return core_db_exec_params (db, stmt, nparams, params, NULL, NULL, res);
}

enum core_db_status
core_db_command (struct core_db *db, const char *sql)
{
  enum core_db_status st;
  PGresult *r;

  if (db == NULL || db->conn == NULL)
    return CORE_DB_HARD_ERROR;
  r = PQexec (db->conn, sql);
  st = classify (db, "(command)", r);
  PQclear (r);
  if (st == CORE_DB_HARD_ERROR && PQstatus (db->conn) == CONNECTION_BAD)
    db_close (db);
  return st;
}

/* ================================================================
 * Transactions
 * ================================================================ */

static void
backoff (void)
{
  uint8_t b = 0;
  struct timespec ts;

  core_random (&b, 1);
  ts.tv_sec = 0;
  ts.tv_nsec = (1 + b % 20) * 1000000L;
  nanosleep (&ts, NULL);
}

/* COMMIT; a transaction that was already aborted answers "ROLLBACK" with
 * a success status: that is a body that ignored an error. */
static enum core_db_status
commit (struct core_db *db)
{
  enum core_db_status st;
  PGresult *r;

  if (db->conn == NULL)
    return CORE_DB_HARD_ERROR;
  r = PQexec (db->conn, "COMMIT");
  st = classify (db, "COMMIT", r);
  if (st >= 0 && strcmp (PQcmdStatus (r), "COMMIT") != 0)
    {
      LOG_BUG ("COMMIT rolled back: a transaction body ignored an error");
      st = CORE_DB_HARD_ERROR;
    }
  PQclear (r);
  if (st == CORE_DB_HARD_ERROR && PQstatus (db->conn) == CONNECTION_BAD)
    db_close (db);
  return st;
}

static void
rollback (struct core_db *db)
{
  PGresult *r;

  if (db->conn == NULL)
    return;
  r = PQexec (db->conn, "ROLLBACK");
  if (PQresultStatus (r) != PGRES_COMMAND_OK
      && PQstatus (db->conn) == CONNECTION_BAD)
    db_close (db);
  PQclear (r);
}

/* One attempt: BEGIN, body, COMMIT. */
static enum core_db_status
tx_attempt (struct core_db *db, bool serializable, core_db_tx_fn fn,
            void *cls)
{
  enum core_db_status st, cst;

  if (!ensure_conn (db))
    return CORE_DB_HARD_ERROR;
  if (core_db_command (db, serializable
                       ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                       : "BEGIN") < 0)
    /* Nothing ran: a connection lost since the last request (database
     * restart) is worth one more attempt on a fresh one. */
    return db->conn == NULL ? CORE_DB_SOFT_ERROR : CORE_DB_HARD_ERROR;
  st = fn (db, cls);
  if (st < 0)
    {
      rollback (db);
      return st;
    }
  cst = commit (db);
  return cst < 0 ? cst : st;
}

enum core_db_status
core_db_tx (struct core_db *db, bool serializable, core_db_tx_fn fn, void *cls)
{
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (db == NULL)
    return CORE_DB_HARD_ERROR;
  for (int attempt = 0; attempt <= TX_RETRIES; attempt++)
    {
      if (attempt > 0)
        backoff ();
      st = tx_attempt (db, serializable, fn, cls);
      if (st != CORE_DB_SOFT_ERROR)
        return st;
    }
  LOG_WARN ("transaction still failing after %d retries", TX_RETRIES);
  return st;
}

bool
core_db_alive (struct core_db *db, bool probe)
{
  PGresult *r;
  bool ok;

  if (db == NULL || db->conn == NULL || PQstatus (db->conn) != CONNECTION_OK)
    return false;
  if (!probe)
    return true;
  r = PQexec (db->conn, "SELECT 1");
  ok = PQresultStatus (r) == PGRES_TUPLES_OK;
  PQclear (r);
  if (!ok && PQstatus (db->conn) == CONNECTION_BAD)
    db_close (db);
  return ok;
}

const char *
core_db_value (const PGresult *res, int row, int col)
{
  if (res == NULL || row < 0 || col < 0 || row >= PQntuples (res)
      || col >= PQnfields (res) || PQgetisnull (res, row, col))
    return NULL;
  return PQgetvalue (res, row, col);
}

enum core_err
core_db_err (struct core_db *db)
{
  return NULL != db && core_db_alive (db, false) ? CORE_ERR_INTERNAL
         : CORE_ERR_DATABASE_UNAVAILABLE;
}

enum core_err
core_db_json_query (struct core_db *db, const char *stmt, int nparams,
                    const char *const *params, json_t **out)
{
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, stmt, nparams, params, &r);
  enum core_err err = CORE_OK;

  *out = NULL;
  if (st < 0)
    return core_db_err (db);
  if (CORE_DB_NO_ROW == st)
    err = CORE_ERR_NOT_FOUND;
  else if (NULL == (*out = json_loads (PQgetvalue (r, 0, 0), 0, NULL)))
    err = CORE_ERR_INTERNAL;
  PQclear (r);
  return err;
}

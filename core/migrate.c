/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * migrate.c -- applies migrations/NNNN_name.sql in order, each in its own
 * transaction, and records it in schema_migrations in that transaction.
 *
 * A session-level advisory lock (the same constant in every process) makes
 * concurrent migrators take turns: the second one waits, then finds the
 * files already recorded.  The lock is released on every path out.  This
 * file must never edit a migration or skip a failed one: a failure stops
 * the run, rolls that file back and names it.
 */
#include "core/migrate.h"
#include "core/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0x67756963686574, "guichet" in ASCII: an arbitrary key, the same in every guichetd. */
#define MIGRATE_LOCK "SELECT pg_advisory_lock(29121018100999540)"
#define MIGRATE_UNLOCK "SELECT pg_advisory_unlock(29121018100999540)"

/* Run under the lock, and only when to_regclass() finds no table, so the
 * "already exists, skipping" notice never reaches the caller's stderr. */
static const char schema_sql[] =
  "CREATE TABLE IF NOT EXISTS schema_migrations ("
  " version integer PRIMARY KEY,"
  " name text NOT NULL,"
  " applied_at timestamptz NOT NULL DEFAULT now());"
  "COMMENT ON TABLE schema_migrations IS"
  " 'One row per migrations/NNNN_name.sql file applied, written in the"
  " same transaction as the file.';"
  "COMMENT ON COLUMN schema_migrations.version IS"
  " 'The NNNN number of the file name.';"
  "COMMENT ON COLUMN schema_migrations.name IS 'The file name.';"
  "COMMENT ON COLUMN schema_migrations.applied_at IS"
  " 'When the file was applied.';";

struct file_list {
  char **names;
  size_t n;
};

/* ================================================================
 * Listing the files
 * ================================================================ */

/* ^[0-9]{4}_.+\.sql$ */
static bool
is_migration_name (const char *s)
{
  size_t len = strlen (s);

  for (int i = 0; i < 4; i++)
    if (!isdigit ((unsigned char) s[i]))
      return false;
  return len > 9 && s[4] == '_' && strcmp (s + len - 4, ".sql") == 0;
}

static int
version_of (const char *name)
{
  return (name[0] - '0') * 1000 + (name[1] - '0') * 100
         + (name[2] - '0') * 10 + (name[3] - '0');
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
list_free (struct file_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    free (l->names[i]);
  free (l->names);
  l->names = NULL;
  l->n = 0;
}

static int
list_add (struct file_list *l, const char *name)
{
  char **grown = realloc (l->names, (l->n + 1) * sizeof *grown);

  if (grown == NULL)
    return -1;
  l->names = grown;
  l->names[l->n] = strdup (name);
  if (l->names[l->n] == NULL)
    return -1;
  l->n++;
  return 0;
}

/* Sorted migration files of @a dir. @return 0, or -1 with @a err set. */
static int
list_files (const char *dir, struct file_list *l, char *err, size_t errlen)
{
  struct dirent *e;
  DIR *d;

  l->names = NULL;
  l->n = 0;
  d = opendir (dir);
  if (d == NULL)
    {
      snprintf (err, errlen, "%s: %s", dir, strerror (errno));
      return -1;
    }
  while ((e = readdir (d)) != NULL)
    if (is_migration_name (e->d_name) && list_add (l, e->d_name) != 0)
      {
        snprintf (err, errlen, "out of memory");
        closedir (d);
        list_free (l);
        return -1;
      }
  closedir (d);
  qsort (l->names, l->n, sizeof l->names[0], cmp_names);
  for (size_t i = 1; i < l->n; i++)
    if (version_of (l->names[i]) == version_of (l->names[i - 1]))
      {
        snprintf (err, errlen, "%s and %s have the same number",
                  l->names[i - 1], l->names[i]);
        list_free (l);
        return -1;
      }
  return 0;
}

static char *
read_file (const char *dir, const char *name, char *err, size_t errlen)
{
  char path[4096];
  char *buf = NULL;
  size_t len = 0, cap = 0, got;
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", dir, name);
  f = fopen (path, "r");
  if (f == NULL)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      return NULL;
    }
  do
    {
      if (cap - len < 4096)
        {
          char *grown = realloc (buf, cap + 65536);

          if (grown == NULL)
            break;
          buf = grown;
          cap += 65536;
        }
      got = fread (buf + len, 1, cap - len - 1, f);
      len += got;
    }
  while (got > 0);
  if (buf == NULL || ferror (f))
    {
      snprintf (err, errlen, "%s: cannot read", path);
      free (buf);
      buf = NULL;
    }
  else
    buf[len] = '\0';
  fclose (f);
  return buf;
}

/* ================================================================
 * The database side
 * ================================================================ */

/* "<what>: <libpq error>" into @a err, without libpq's final newline. */
static void
pq_error (PGconn *conn, const char *what, char *err, size_t errlen)
{
  size_t len;

  snprintf (err, errlen, "%s: %s", what, PQerrorMessage (conn));
  len = strlen (err);
  while (len > 0 && isspace ((unsigned char) err[len - 1]))
    err[--len] = '\0';
}

/* Run @a sql; @return 0 if it succeeded, else -1 with the PQ error. */
static int
run (PGconn *conn, const char *sql, const char *what, char *err,
     size_t errlen)
{
  PGresult *r = PQexec (conn, sql);
  ExecStatusType st = PQresultStatus (r);
  int ret = 0;

  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK
      && st != PGRES_EMPTY_QUERY)
    {
      pq_error (conn, what, err, errlen);
      ret = -1;
    }
  PQclear (r);
  return ret;
}

/* @return 1 if schema_migrations exists, 0 if not, -1 on error. */
static int
table_exists (PGconn *conn)
{
  PGresult *r = PQexec (conn, "SELECT to_regclass('schema_migrations')"
                              " IS NOT NULL");
  int ret = -1;

  if (PQresultStatus (r) == PGRES_TUPLES_OK && PQntuples (r) == 1)
    ret = strcmp (PQgetvalue (r, 0, 0), "t") == 0;
  PQclear (r);
  return ret;
}

/* Versions already applied, as a one-column PGresult (caller clears);
 * empty if the table does not exist yet.  @return NULL on error. */
static PGresult *
applied_versions (PGconn *conn)
{
  int exists = table_exists (conn);
  PGresult *r;

  if (exists < 0)
    return NULL;
  r = PQexec (conn, exists ? "SELECT version FROM schema_migrations"
                           : "SELECT NULL::integer AS version WHERE false");
  if (PQresultStatus (r) != PGRES_TUPLES_OK)
    {
      PQclear (r);
      return NULL;
    }
  return r;
}

static bool
is_applied (const PGresult *r, int version)
{
  for (int i = 0; i < PQntuples (r); i++)
    if (atoi (PQgetvalue (r, i, 0)) == version)
      return true;
  return false;
}

static int
record (PGconn *conn, const char *name, char *err, size_t errlen)
{
  char version[16];
  const char *params[2] = { version, name };
  PGresult *r;
  int ret = 0;

  snprintf (version, sizeof version, "%d", version_of (name));
  r = PQexecParams (conn,
                    "INSERT INTO schema_migrations (version, name)"
                    " VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
  if (PQresultStatus (r) != PGRES_COMMAND_OK)
    {
      pq_error (conn, name, err, errlen);
      ret = -1;
    }
  PQclear (r);
  return ret;
}

/* Apply one file in its own transaction. @return 0 or -1 (rolled back). */
static int
apply_one (PGconn *conn, const char *dir, const char *name, char *err,
           size_t errlen)
{
  char *sql = read_file (dir, name, err, errlen);
  int ret = -1;

  if (sql == NULL)
    return -1;
  if (run (conn, "BEGIN", name, err, errlen) != 0)
    goto cleanup;
  if (run (conn, sql, name, err, errlen) != 0
      || record (conn, name, err, errlen) != 0
      || run (conn, "COMMIT", name, err, errlen) != 0)
    {
      PQclear (PQexec (conn, "ROLLBACK"));
      goto cleanup;
    }
  LOG_INFO ("applied migration %s", name);
  ret = 0;

cleanup:
  free (sql);
  return ret;
}

/* Under the lock: create the table, then apply what is missing. */
static int
apply_locked (PGconn *conn, const char *dir, const struct file_list *files,
              int *applied, char *err, size_t errlen)
{
  PGresult *done;
  int ret = 0;

  if (table_exists (conn) == 0
      && run (conn, schema_sql, "schema_migrations", err, errlen) != 0)
    return -1;
  done = applied_versions (conn);
  if (done == NULL)
    {
      pq_error (conn, "schema_migrations", err, errlen);
      return -1;
    }
  for (size_t i = 0; i < files->n && ret == 0; i++)
    {
      if (is_applied (done, version_of (files->names[i])))
        continue;
      ret = apply_one (conn, dir, files->names[i], err, errlen);
      if (ret == 0)
        (*applied)++;
    }
  PQclear (done);
  return ret;
}

int
core_migrate_apply (PGconn *conn, const char *dir, int *applied,
                    char *err, size_t errlen)
{
  struct file_list files;
  char unlock_err[256];
  int ret;

  *applied = 0;
  if (list_files (dir, &files, err, errlen) != 0)
    return -1;
  ret = run (conn, MIGRATE_LOCK, "advisory lock", err, errlen);
  if (ret == 0)
    {
      ret = apply_locked (conn, dir, &files, applied, err, errlen);
      if (run (conn, MIGRATE_UNLOCK, "advisory unlock", unlock_err,
               sizeof unlock_err) != 0 && ret == 0)
        {
          snprintf (err, errlen, "%s", unlock_err);
          ret = -1;
        }
    }
  list_free (&files);
  return ret;
}

int
core_migrate_pending (PGconn *conn, const char *dir)
{
  struct file_list files;
  char err[512];
  PGresult *done;
  int pending = 0;

  if (list_files (dir, &files, err, sizeof err) != 0)
    {
      LOG_ERROR ("migrations: %s", err);
      return -1;
    }
  done = applied_versions (conn);
  if (done == NULL)
    {
      list_free (&files);
      return -1;
    }
  for (size_t i = 0; i < files.n; i++)
    if (!is_applied (done, version_of (files.names[i])))
      pending++;
  PQclear (done);
  list_free (&files);
  return pending;
}

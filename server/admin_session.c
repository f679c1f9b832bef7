/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * admin_session.c -- back-office sessions: the guichet_admin cookie, the
 * CSRF token of state-changing calls, the idle limit (admin_idle_s), the
 * absolute lifetime (admin_session_max_s, 8 hours by default: a session
 * kept busy by a stolen cookie still ends), and the role each route asks
 * for (SRV_AUTH_ADMIN in request.c calls
 * srv_admin_authenticate before the handler).
 *
 * Both tokens are 256 random bits shown once (the cookie to the browser,
 * the CSRF token in the login answer) and stored as SHA-256; the CSRF
 * header is hashed and compared in constant time.  A request is checked
 * before the session is touched, so a refused call does not keep an idle
 * session alive.  The role is read from the account on every request: a
 * demotion takes effect at once.  Never log a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "core/crypto.h"
#include "server/admin.h"
#include "server/handlers.h"

#define COOKIE_NAME "guichet_admin"

static const struct core_db_stmt session_stmts[] = {
  { "admin_session_insert",
    "INSERT INTO admin_sessions (token_hash, username, csrf_hash,"
    " client_addr) VALUES ($1::bytea, $2, $3::bytea, $4)" },
  /* $1 token hash, $2 idle seconds, $3 absolute lifetime in seconds */
  { "admin_session_get",
    "SELECT s.username, a.role, encode(s.csrf_hash, 'hex'),"
    " s.last_seen_at > now() - make_interval(secs => $2::integer),"
    " s.created_at > now() - make_interval(secs => $3::integer)"
    " FROM admin_sessions s JOIN admins a ON a.username = s.username"
    " WHERE s.token_hash = $1::bytea AND s.ended_at IS NULL" },
  { "admin_session_touch",
    "UPDATE admin_sessions SET last_seen_at = now()"
    " WHERE token_hash = $1::bytea AND ended_at IS NULL"
    " AND last_seen_at > now() - make_interval(secs => $2::integer)"
    " AND created_at > now() - make_interval(secs => $3::integer)"
    " RETURNING username" },
  { "admin_session_end",
    "UPDATE admin_sessions SET ended_at = now()"
    " WHERE token_hash = $1::bytea AND ended_at IS NULL RETURNING username" },
  /* $1 user, $2 the session to keep (NULL: none) */
  { "admin_sessions_end_others",
    "UPDATE admin_sessions SET ended_at = now()"
    " WHERE username = $1 AND ended_at IS NULL"
    " AND ($2::bytea IS NULL OR token_hash <> $2::bytea)" },
  { NULL, NULL }
};

void
srv_admin_session_register_statements (void)
{
  core_db_register (session_stmts);
}

/* "\\x" + hex SHA-256 of @a token: a bytea text parameter. */
static void
hash_param (const char *token, char out[67])
{
  uint8_t h[CORE_SHA256_LEN];

  core_sha256 (token, strlen (token), h);
  memcpy (out, "\\x", 2);
  core_hex_encode (h, sizeof h, out + 2);
}

/* A new token (malloc'd secret) and its hash parameter. */
static char *
token_new (char hash[67])
{
  uint8_t raw[32];
  char *token = NULL;

  if (0 == core_random (raw, sizeof raw))
    token = core_b64url_encode (raw, sizeof raw);
  OPENSSL_cleanse (raw, sizeof raw);
  if (NULL != token)
    hash_param (token, hash);
  return token;
}

static void
free_secret (char **s)
{
  if (NULL != *s)
    core_free_secret (*s, strlen (*s));
  *s = NULL;
}

enum core_db_status
srv_admin_session_open (struct core_db *db, const char *username,
                        const char *client_addr, char **token, char **csrf)
{
  char th[67], ch[67];
  const char *p[4] = { th, username, ch, client_addr };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  *token = token_new (th);
  *csrf = token_new (ch);
  if (NULL != *token && NULL != *csrf)
    st = core_db_exec (db, "admin_session_insert", 4, p, NULL);
  if (CORE_DB_ONE_ROW != st)
  {
    free_secret (token);
    free_secret (csrf);
  }
  return CORE_DB_NO_ROW == st ? CORE_DB_HARD_ERROR : st;
}

enum core_err
srv_admin_session_end (struct core_db *db, const char *token)
{
  char th[67];
  const char *p[1] = { th };

  hash_param (token, th);
  if (core_db_exec (db, "admin_session_end", 1, p, NULL) < 0)
    return core_db_alive (db, false) ? CORE_ERR_INTERNAL
           : CORE_ERR_DATABASE_UNAVAILABLE;
  return CORE_OK;
}

enum core_db_status
srv_admin_sessions_end_others (struct core_db *db, const char *username,
                               const char *keep_token)
{
  char th[67];
  const char *p[2] = { username, NULL != keep_token ? th : NULL };

  if (NULL != keep_token)
    hash_param (keep_token, th);
  return core_db_exec (db, "admin_sessions_end_others", 2, p, NULL);
}

const char *
srv_admin_cookie (struct srv_request *rq)
{
  return MHD_lookup_connection_value (rq->conn, MHD_COOKIE_KIND, COOKIE_NAME);
}

/* ============================================================ checks */

/* The session as loaded. */
struct session {
  char username[SRV_ADMIN_NAME_MAX];
  char role[16];
  char csrf_hex[65];
  bool fresh;                   /* not idle too long */
  bool young;                   /* not past its absolute lifetime */
};

/* The idle limit and the absolute lifetime as text parameters. */
static void
limits (char idle[16], char max[16])
{
  snprintf (idle, 16, "%u", core_cfg->admin_idle_s);
  snprintf (max, 16, "%u", core_cfg->admin_session_max_s);
}

static enum core_db_status
session_get (struct core_db *db, const char *th, struct session *s)
{
  char idle[16], max[16];
  const char *p[3] = { th, idle, max };
  PGresult *r = NULL;
  enum core_db_status st;

  limits (idle, max);
  st = core_db_exec (db, "admin_session_get", 3, p, &r);
  if (CORE_DB_ONE_ROW == st)
  {
    snprintf (s->username, sizeof s->username, "%s", PQgetvalue (r, 0, 0));
    snprintf (s->role, sizeof s->role, "%s", PQgetvalue (r, 0, 1));
    snprintf (s->csrf_hex, sizeof s->csrf_hex, "%s", PQgetvalue (r, 0, 2));
    s->fresh = 't' == PQgetvalue (r, 0, 3)[0];
    s->young = 't' == PQgetvalue (r, 0, 4)[0];
  }
  PQclear (r);
  return st;
}

static bool
csrf_ok (struct srv_request *rq, const struct session *s)
{
  const char *given = srv_header (rq, "X-CSRF-Token");
  uint8_t want[CORE_SHA256_LEN], got[CORE_SHA256_LEN];

  if (NULL == given || '\0' == given[0]
      || CORE_SHA256_LEN != core_hex_decode (s->csrf_hex, want, sizeof want))
    return false;
  core_sha256 (given, strlen (given), got);
  return core_ct_equal (got, sizeof got, want, sizeof want);
}

/* Admins pass every route; "staff" routes (who am I, password, logout)
   let every account in; otherwise the role must be the route's. */
static bool
role_allows (const char *have, const char *route_role)
{
  if (0 == strcmp (have, "admin"))
    return true;
  if (NULL == route_role)
    route_role = "reviewer";
  if (0 == strcmp (route_role, "staff"))
    return 0 == strcmp (have, "reviewer") || 0 == strcmp (have, "advisor")
           || 0 == strcmp (have, "support");
  return 0 == strcmp (have, route_role);
}

static bool
state_changing (const char *method)
{
  return 0 != strcmp (method, "GET") && 0 != strcmp (method, "HEAD");
}

/* Refresh last_seen_at.  @return ONE_ROW, NO_ROW (went idle or reached its
 * lifetime meanwhile), error. */
static enum core_db_status
session_touch (struct core_db *db, const char *th)
{
  char idle[16], max[16];
  const char *p[3] = { th, idle, max };

  limits (idle, max);
  return core_db_exec (db, "admin_session_touch", 3, p, NULL);
}

/* "8 hours", "90 minutes": admin_session_max_s in words. */
static const char *
duration_text (unsigned int s)
{
  static __thread char buf[32];

  if (0 == s % 3600)
    snprintf (buf, sizeof buf, "%u hour%s", s / 3600, 3600 == s ? "" : "s");
  else if (0 == s % 60)
    snprintf (buf, sizeof buf, "%u minute%s", s / 60, 60 == s ? "" : "s");
  else
    snprintf (buf, sizeof buf, "%u seconds", s);
  return buf;
}

static bool
unauthorized (struct srv_request *rq, const char *message)
{
  srv_reply_error (rq, CORE_ERR_UNAUTHORIZED, message, NULL);
  return false;
}

static bool
db_failed (struct srv_request *rq)
{
  srv_reply_error (rq, core_db_alive (rq->db, false) ? CORE_ERR_INTERNAL
                   : CORE_ERR_DATABASE_UNAVAILABLE, NULL, NULL);
  return false;
}

bool
srv_admin_authenticate (struct srv_request *rq)
{
  const char *cookie = srv_admin_cookie (rq);
  struct session s = { .fresh = false };
  enum core_db_status st;
  char th[67];

  if (NULL == cookie || '\0' == cookie[0])
    return unauthorized (rq, "no back-office session: log in");
  hash_param (cookie, th);
  st = session_get (rq->db, th, &s);
  if (st < 0)
    return db_failed (rq);
  if (CORE_DB_ONE_ROW == st && ! s.young)
  {
    char msg[128];

    snprintf (msg, sizeof msg, "a back-office session lasts at most %s: "
              "log in again", duration_text (core_cfg->admin_session_max_s));
    return unauthorized (rq, msg);
  }
  if (CORE_DB_NO_ROW == st || ! s.fresh)
  {
    char msg[160];

    snprintf (msg, sizeof msg, "the back-office session is unknown, ended "
              "or was idle for %s: log in again",
              duration_text (core_cfg->admin_idle_s));
    return unauthorized (rq, msg);
  }
  if (state_changing (rq->method) && ! csrf_ok (rq, &s))
  {
    srv_reply_error (rq, CORE_ERR_FORBIDDEN,
                     "missing or wrong X-CSRF-Token header", NULL);
    return false;
  }
  if (! role_allows (s.role, rq->route->role))
  {
    srv_reply_error (rq, CORE_ERR_FORBIDDEN, "your role may not do this",
                     NULL);
    return false;
  }
  st = session_touch (rq->db, th);
  if (st < 0)
    return db_failed (rq);
  if (CORE_DB_NO_ROW == st)
    return unauthorized (rq, "the back-office session expired: log in again");
  rq->admin_username = strdup (s.username);
  rq->admin_role = strdup (s.role);
  if (NULL == rq->admin_username || NULL == rq->admin_role)
    return db_failed (rq);
  return true;
}

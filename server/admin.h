/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * admin.h -- back-office staff: accounts with a password and a TOTP
 * (admin.c, admin_login.c), their sessions with a CSRF token
 * (admin_session.c), and the operator commands `guichetd admin` and
 * `guichetd audit` (cli_admin.c).
 *
 * Passwords are Argon2id hashes (authn/pin.c's hash), TOTP seeds sealed
 * with the master key, session and CSRF tokens stored as SHA-256.  Secrets
 * handed back by these functions are malloc'd, shown once by the caller,
 * then core_free_secret()ed; none is ever logged or audited.
 */
#ifndef GUICHET_SERVER_ADMIN_H
#define GUICHET_SERVER_ADMIN_H

#include <stdbool.h>
#include <jansson.h>
#include "core/db.h"
#include "core/error.h"

#define SRV_ADMIN_IDLE_MAX_S 3600     /* the largest admin_idle_s */
#define SRV_ADMIN_NAME_MAX 64
#define SRV_ADMIN_PASSWORD_MIN 12     /* a password an admin chooses */
#define SRV_ADMIN_PASSWORD_MAX 256

/** Register the statements of admin.c and admin_session.c (from main). */
void
srv_admin_register_statements (void);

/* ---------------------------------------------------------- admin.c */

/* Shared by admin.c and admin_login.c. */
unsigned int
srv_admin_lockout_limit (void);

/** CORE_ERR_DATABASE_UNAVAILABLE when the connection is gone, else
 *  CORE_ERR_INTERNAL. */
enum core_err
srv_admin_db_err (struct core_db *db);

bool
srv_admin_username_ok (const char *username);

/**
 * Store the Argon2id @a hash as @a username's password, clear the lockout,
 * end the user's sessions but @a keep_token's (NULL: all), and audit
 * @a action by @a actor: one transaction.
 * @return CORE_OK, CORE_ERR_NOT_FOUND, or a database error.
 */
enum core_err
srv_admin_store_password (struct core_db *db, const char *username,
                          const char *hash, const char *keep_token,
                          const char *actor, const char *action);

/**
 * Create a staff account with a generated password (24 characters) and a
 * fresh TOTP seed (20 bytes, SHA1, 6 digits, 30 s).
 * @param[out] password     malloc'd secret on CORE_OK
 * @param[out] otpauth_uri  malloc'd secret (holds the seed) on CORE_OK
 * @return CORE_OK, CORE_ERR_INVALID_FIELD (user name or role),
 *         CORE_ERR_CONFLICT (the user exists), CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
srv_admin_create (struct core_db *db, const char *username, const char *role,
                  char **password, char **otpauth_uri);

/**
 * Give an account a new generated password, clear its lockout and end its
 * sessions (an operator's reset).
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
srv_admin_reset_password (struct core_db *db, const char *username,
                          char **password);

/** Clear an account's lockout. @return CORE_OK, CORE_ERR_NOT_FOUND, or a
 *  database error. */
enum core_err
srv_admin_unlock (struct core_db *db, const char *username);

struct srv_admin_login {
  const char *username;
  const char *password;
  const char *otp;
  const char *client_addr;
};

struct srv_admin_login_res {
  char role[16];
  char *token;                 /* session cookie value (secret) */
  char *csrf;                  /* CSRF token (secret) */
  char locked_until[32];       /* CORE_ERR_LOCKED: RFC 3339, "" permanent */
  long retry_after;            /* CORE_ERR_LOCKED, CORE_ERR_RATE_LIMITED */
};

/* ---------------------------------------------------------- admin_login.c */

/**
 * Log in, in one transaction.  The rate limits (per client address, per
 * username) are taken first; the OTP is checked (and its step spent by one
 * conditional UPDATE) before the password, so a wrong or replayed code
 * never costs an Argon2id hash.  Every attempt but a rate-limited one is
 * audited; every failure counts toward the lockout of the username tried,
 * whether an account has it or not.
 * @return CORE_OK (res filled; release with srv_admin_login_res_clear),
 *         CORE_ERR_AUTHENTICATION_FAILED (whatever was wrong),
 *         CORE_ERR_LOCKED (res->locked_until, res->retry_after),
 *         CORE_ERR_RATE_LIMITED (res->retry_after),
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
srv_admin_login (struct core_db *db, const struct srv_admin_login *req,
                 struct srv_admin_login_res *res);

void
srv_admin_login_res_clear (struct srv_admin_login_res *res);

/**
 * Change one's own password; the other sessions of the user end.
 * @param[out] reasons  on CORE_ERR_POLICY_REFUSED, a JSON array
 * @return CORE_OK, CORE_ERR_AUTHENTICATION_FAILED (current password wrong;
 *         counted), CORE_ERR_LOCKED, CORE_ERR_POLICY_REFUSED ("too_short",
 *         "too_long", "unchanged"), CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
srv_admin_change_password (struct core_db *db, const char *username,
                           const char *session_token, const char *current,
                           const char *fresh, json_t **reasons);

/** The staff list. @return CORE_OK (*admins a new array) or a db error. */
enum core_err
srv_admin_list (struct core_db *db, json_t **admins);

/* ---------------------------------------------------------- admin_support.c */

/** admin_support.c's statements (called by srv_admin_register_statements). */
void
srv_admin_support_register_statements (void);

/** Customers whose id, bank reference or e-mail address (any case) is
 *  @a q, newest first, at most 20: *out a new array.
 *  @return CORE_OK or a db error. */
enum core_err
srv_admin_customer_search (struct core_db *db, const char *q, json_t **out);

/** Adds "devices" (the customer's phones) and "verify_attempts" (their 20
 *  latest verify/resync attempts) to the customer @a view. */
enum core_err
srv_admin_customer_extra (struct core_db *db, const char *customer_id,
                          json_t *view);

/** Staff's free text: 1..@a max_chars characters, not only white space. */
bool
srv_admin_comment_ok (const char *c, size_t max_chars);

/* ---------------------------------------------------------- admin_session.c */

struct srv_request;

/** admin_session.c's statements (called by srv_admin_register_statements). */
void
srv_admin_session_register_statements (void);

/** The guichet_admin cookie of @a rq, or NULL (borrowed, secret). */
const char *
srv_admin_cookie (struct srv_request *rq);

/**
 * Start a session for @a username inside the caller's transaction.
 * @param[out] token, csrf  malloc'd secrets on ONE_ROW
 * @return ONE_ROW, or SOFT/HARD_ERROR.
 */
enum core_db_status
srv_admin_session_open (struct core_db *db, const char *username,
                        const char *client_addr, char **token, char **csrf);

/** End the session of @a token (logout). @return CORE_OK or a db error. */
enum core_err
srv_admin_session_end (struct core_db *db, const char *token);

/** End the other sessions of @a username, inside a transaction.
 *  @a keep_token may be NULL (end them all). */
enum core_db_status
srv_admin_sessions_end_others (struct core_db *db, const char *username,
                               const char *keep_token);

/* ---------------------------------------------------------- cli_admin.c */

/** guichetd admin create|passwd|unlock ... @return exit code */
int
srv_cli_admin (int argc, char **argv);

/** guichetd audit verify  @return exit code (1 when the chain is broken) */
int
srv_cli_audit (int argc, char **argv);

#endif

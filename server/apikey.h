/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * apikey.h -- relying parties' API keys: made by the CLI, shown once,
 * stored as SHA-256, checked on every SRV_AUTH_API_KEY route.
 */
#ifndef GUICHET_SERVER_APIKEY_H
#define GUICHET_SERVER_APIKEY_H

#include <stddef.h>
#include "core/db.h"
#include "core/error.h"

void
srv_apikey_register_statements (void);

/**
 * Make a key for relying party @a name, which may send its payers back to
 * the @a n_origins origins in @a origins (scheme://host[:port]; https, or
 * http on a loopback host), stored normalised.
 * @param[out] key  malloc'd key text (secret: caller core_free_secret()s it)
 * @param[out] bad_origin  on CORE_ERR_INVALID_FIELD because of an origin,
 *             that origin (borrowed from @a origins); else NULL
 * @return CORE_OK, CORE_ERR_CONFLICT (name taken), CORE_ERR_INVALID_FIELD,
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
srv_apikey_create (struct core_db *db, const char *name,
                   const char *const *origins, size_t n_origins, char **key,
                   const char **bad_origin);

/**
 * Check the bearer @a key.
 * @param[out] name  malloc'd relying-party name on success
 * @return CORE_OK, CORE_ERR_UNAUTHORIZED, CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
srv_apikey_check (struct core_db *db, const char *key, char **name);

/**
 * The bearer @a key as the api_keys.key_hash a statement compares with
 * ("\\x" + hex of SHA-256), for a route that checks the key in its own
 * statement (srv_route.key_in_handler).  Reads no database.
 * @return CORE_OK, or CORE_ERR_UNAUTHORIZED (too long to be a key).
 */
enum core_err
srv_apikey_hash (const char *key, char out[2 + 64 + 1]);

#endif

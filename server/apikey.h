/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * apikey.h -- relying parties' API keys: made by the CLI, shown once,
 * stored as SHA-256, checked on every SRV_AUTH_API_KEY route.
 */
#ifndef GUICHET_SERVER_APIKEY_H
#define GUICHET_SERVER_APIKEY_H

#include "core/db.h"
#include "core/error.h"

void
srv_apikey_register_statements (void);

/**
 * Make a key for relying party @a name.
 * @param[out] key  malloc'd key text (secret: caller core_free_secret()s it)
 * @return CORE_OK, CORE_ERR_CONFLICT (name taken), CORE_ERR_INVALID_FIELD,
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
srv_apikey_create (struct core_db *db, const char *name, char **key);

/**
 * Check the bearer @a key.
 * @param[out] name  malloc'd relying-party name on success
 * @return CORE_OK, CORE_ERR_UNAUTHORIZED, CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
srv_apikey_check (struct core_db *db, const char *key, char **name);

#endif

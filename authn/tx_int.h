/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tx_int.h -- what transaction.c and tx_decide.c share (internal to
 * authn/).
 */
#ifndef GUICHET_AUTHN_TX_INT_H
#define GUICHET_AUTHN_TX_INT_H

#include "authn/authn_db.h"
#include "authn/tx_db.h"

/** A failed query's answer (503 when the database is down, else 500). */
enum core_err
tx_err (struct core_db *db);

/** Wrong response codes before a transaction fails: lockout_attempts. */
unsigned int
tx_limit (void);

/** T of a row (malloc'd, or NULL). */
char *
tx_t_of (const struct tx_row *r);

/** The guichet://tx payload of a row (malloc'd, or NULL). */
char *
tx_qr_payload (const struct tx_row *r);

/** Wake the long polls waiting on @a key (a customer or a transaction). */
void
tx_notify (struct core_db *db, const char *key);

#endif

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tx_reply.h -- the one answer to every attempt to decide a transaction
 * (the phone's approve and decline, the relying party's and the approval
 * page's response code), so the same outcome reads the same everywhere
 * and is counted once in the metrics.
 */
#ifndef GUICHET_SERVER_TX_REPLY_H
#define GUICHET_SERVER_TX_REPLY_H

#include "authn/transaction.h"
#include "server/metrics.h"
#include "server/server.h"

/** Reply to a decision @a err with @a out (200 {"id", "status"}, or the
    error with its explanation), and count it under @a method. */
void
srv_tx_reply_decision (struct srv_request *rq, enum core_err err,
                       const struct authn_tx_outcome *out,
                       enum srv_tx_method method);

#endif

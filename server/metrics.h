/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * metrics.h -- process-local counters exposed at /metrics in the Prometheus
 * text format: requests by route and status, a latency histogram, the
 * outcomes of /v1/authn/verify, and transactions by outcome and method.  Lock-free (C11 atomics); per instance, as
 * Prometheus expects (it sums across instances itself).
 */
#ifndef GUICHET_SERVER_METRICS_H
#define GUICHET_SERVER_METRICS_H

#include <stddef.h>

enum srv_verify_outcome {
  SRV_VERIFY_ACCEPTED = 0,
  SRV_VERIFY_FAILED,
  SRV_VERIFY_LOCKED,
  SRV_VERIFY_ERROR,
  SRV_VERIFY_RATE_LIMITED,
  SRV_VERIFY_OUTCOMES
};

/* What happened to a transaction (or an attempt to decide one). */
enum srv_tx_outcome {
  SRV_TX_CREATED = 0,
  SRV_TX_APPROVED,
  SRV_TX_DECLINED,
  SRV_TX_EXPIRED,
  SRV_TX_FAILED,
  SRV_TX_SIGNATURE_INVALID,       /* an approval whose signature is not of T */
  SRV_TX_RESPONSE_INVALID,        /* a wrong offline response code */
  SRV_TX_OUTCOMES
};

/* How: the phone's signature (also its decline), the offline code. */
enum srv_tx_method {
  SRV_TX_METHOD_NONE = 0,
  SRV_TX_METHOD_SIGNATURE,
  SRV_TX_METHOD_RESPONSE_CODE,
  SRV_TX_METHODS
};

/** Size the tables for @a nroutes routes (call once before serving). */
void
srv_metrics_init (size_t nroutes);

/** Count one request; @a route is the route index or nroutes for "none". */
void
srv_metrics_request (size_t route, unsigned int status, double seconds);

void
srv_metrics_verify (enum srv_verify_outcome outcome);

void
srv_metrics_transaction (enum srv_tx_outcome outcome,
                         enum srv_tx_method method);

/** @return the exposition text, malloc'd (caller frees). */
char *
srv_metrics_render (void);

#endif

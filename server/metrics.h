/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * metrics.h -- process-local counters exposed at /metrics in the Prometheus
 * text format: requests by route and status, a latency histogram, and the
 * outcomes of /v1/authn/verify.  Lock-free (C11 atomics); per instance, as
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

/** Size the tables for @a nroutes routes (call once before serving). */
void
srv_metrics_init (size_t nroutes);

/** Count one request; @a route is the route index or nroutes for "none". */
void
srv_metrics_request (size_t route, unsigned int status, double seconds);

void
srv_metrics_verify (enum srv_verify_outcome outcome);

/** @return the exposition text, malloc'd (caller frees). */
char *
srv_metrics_render (void);

#endif

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * metrics.c -- Prometheus counters for guichetd (see metrics.h).
 *
 * Counters are C11 relaxed atomics in tables sized once at start, so the
 * hot path never takes a lock or allocates.  Rendering reads them without
 * a consistent snapshot, which Prometheus tolerates.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/metrics.h"
#include "server/server.h"

static const unsigned int statuses[] = {
  200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 423,
  429, 500, 503
};
#define N_STATUS (sizeof statuses / sizeof statuses[0])

static const double buckets[] = {
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5, 10
};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])

static const char *const verify_names[SRV_VERIFY_OUTCOMES] = {
  "accepted", "failed", "locked", "error", "rate_limited"
};

static const char *const tx_outcome_names[SRV_TX_OUTCOMES] = {
  "created", "approved", "declined", "expired", "failed", "signature_invalid",
  "response_invalid"
};
static const char *const tx_method_names[SRV_TX_METHODS] = {
  "none", "signature", "response_code"
};

/* The pairs that can happen, all rendered (0 until they do). */
static const struct {
  enum srv_tx_outcome outcome;
  enum srv_tx_method method;
} tx_series[] = {
  { SRV_TX_CREATED, SRV_TX_METHOD_NONE },
  { SRV_TX_APPROVED, SRV_TX_METHOD_SIGNATURE },
  { SRV_TX_APPROVED, SRV_TX_METHOD_RESPONSE_CODE },
  { SRV_TX_DECLINED, SRV_TX_METHOD_SIGNATURE },
  { SRV_TX_EXPIRED, SRV_TX_METHOD_NONE },
  { SRV_TX_FAILED, SRV_TX_METHOD_RESPONSE_CODE },
  { SRV_TX_SIGNATURE_INVALID, SRV_TX_METHOD_SIGNATURE },
  { SRV_TX_RESPONSE_INVALID, SRV_TX_METHOD_RESPONSE_CODE },
};

static size_t n_routes;
static _Atomic unsigned long *requests;           /* [route+1][status+1] */
static _Atomic unsigned long hist[N_BUCKETS + 1];  /* last: +Inf */
static _Atomic unsigned long long hist_sum_us;
static _Atomic unsigned long verify_counts[SRV_VERIFY_OUTCOMES];
static _Atomic unsigned long tx_counts[SRV_TX_OUTCOMES][SRV_TX_METHODS];

void
srv_metrics_init (size_t nroutes)
{
  n_routes = nroutes;
  requests = calloc ((nroutes + 1) * (N_STATUS + 1), sizeof *requests);
}

static size_t
status_index (unsigned int status)
{
  for (size_t i = 0; i < N_STATUS; i++)
    if (statuses[i] == status)
      return i;
  return N_STATUS;                      /* "other" */
}

void
srv_metrics_request (size_t route, unsigned int status, double seconds)
{
  size_t b = 0;

  if (NULL == requests || route > n_routes)
    return;
  atomic_fetch_add_explicit (&requests[route * (N_STATUS + 1)
                                       + status_index (status)], 1,
                             memory_order_relaxed);
  while (b < N_BUCKETS && seconds > buckets[b])
    b++;
  atomic_fetch_add_explicit (&hist[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit (&hist_sum_us,
                             (unsigned long long) (seconds * 1e6),
                             memory_order_relaxed);
}

void
srv_metrics_verify (enum srv_verify_outcome outcome)
{
  if (outcome < SRV_VERIFY_OUTCOMES)
    atomic_fetch_add_explicit (&verify_counts[outcome], 1,
                               memory_order_relaxed);
}

void
srv_metrics_transaction (enum srv_tx_outcome outcome,
                         enum srv_tx_method method)
{
  if (outcome < SRV_TX_OUTCOMES && method < SRV_TX_METHODS)
    atomic_fetch_add_explicit (&tx_counts[outcome][method], 1,
                               memory_order_relaxed);
}

static void
render_transactions (FILE *f)
{
  fputs ("# HELP guichet_transactions_total Transactions created and decided,"
         " and refused attempts to decide them, by outcome and method.\n"
         "# TYPE guichet_transactions_total counter\n", f);
  for (size_t i = 0; i < sizeof tx_series / sizeof tx_series[0]; i++)
    fprintf (f, "guichet_transactions_total{outcome=\"%s\",method=\"%s\"} "
             "%lu\n", tx_outcome_names[tx_series[i].outcome],
             tx_method_names[tx_series[i].method],
             atomic_load_explicit (&tx_counts[tx_series[i].outcome]
                                   [tx_series[i].method],
                                   memory_order_relaxed));
}

static void
render_requests (FILE *f)
{
  const struct srv_route *routes = srv_routes (NULL);

  fputs ("# HELP guichet_http_requests_total HTTP requests by route and status.\n"
         "# TYPE guichet_http_requests_total counter\n", f);
  for (size_t r = 0; r <= n_routes; r++)
    for (size_t s = 0; s <= N_STATUS; s++)
    {
      unsigned long v = atomic_load_explicit (
        &requests[r * (N_STATUS + 1) + s], memory_order_relaxed);
      char code[8];

      if (0 == v)
        continue;
      if (s < N_STATUS)
        snprintf (code, sizeof code, "%u", statuses[s]);
      else
        snprintf (code, sizeof code, "other");
      fprintf (f, "guichet_http_requests_total{route=\"%s\",status=\"%s\"} %lu\n",
               r < n_routes ? routes[r].name : "none", code, v);
    }
}

static void
render_histogram (FILE *f)
{
  unsigned long cum = 0;

  fputs ("# HELP guichet_http_request_duration_seconds Time from first byte "
         "to response.\n"
         "# TYPE guichet_http_request_duration_seconds histogram\n", f);
  for (size_t b = 0; b <= N_BUCKETS; b++)
  {
    cum += atomic_load_explicit (&hist[b], memory_order_relaxed);
    if (b < N_BUCKETS)
      fprintf (f, "guichet_http_request_duration_seconds_bucket{le=\"%g\"} %lu\n",
               buckets[b], cum);
    else
      fprintf (f, "guichet_http_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n",
               cum);
  }
  fprintf (f, "guichet_http_request_duration_seconds_sum %.6f\n",
           (double) atomic_load (&hist_sum_us) / 1e6);
  fprintf (f, "guichet_http_request_duration_seconds_count %lu\n", cum);
}

char *
srv_metrics_render (void)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);

  if (NULL == f)
    return NULL;
  render_requests (f);
  render_histogram (f);
  fputs ("# HELP guichet_authn_verify_total Outcomes of /v1/authn/verify.\n"
         "# TYPE guichet_authn_verify_total counter\n", f);
  for (int i = 0; i < SRV_VERIFY_OUTCOMES; i++)
    fprintf (f, "guichet_authn_verify_total{outcome=\"%s\"} %lu\n",
             verify_names[i],
             atomic_load_explicit (&verify_counts[i], memory_order_relaxed));
  render_transactions (f);
  fclose (f);
  return buf;
}

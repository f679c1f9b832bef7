/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_ops.c -- operations endpoints: /healthz (the process answers),
 * /readyz (the database answers and every migration is applied: a load
 * balancer may send traffic), /metrics (Prometheus text, with the
 * outbox's depth, oldest age and failures read from the database).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/migrate.h"
#include "notify/notify.h"
#include "server/handlers.h"
#include "server/metrics.h"
#include "server/proxy.h"

void
srv_http_healthz (struct srv_request *rq)
{
  srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:s}", "status", "ok"));
}

void
srv_http_readyz (struct srv_request *rq)
{
  int pending;

  if (! core_db_alive (rq->db, true))
  {
    srv_reply_error (rq, CORE_ERR_DATABASE_UNAVAILABLE, NULL, NULL);
    return;
  }
  pending = core_migrate_pending (core_db_conn (rq->db),
                                  core_cfg->migrations_dir);
  if (pending < 0)
  {
    srv_reply_error (rq, CORE_ERR_DATABASE_UNAVAILABLE, NULL, NULL);
    return;
  }
  if (pending > 0)
  {
    srv_reply_error (rq, CORE_ERR_DATABASE_UNAVAILABLE,
                     "database schema is not current: run guichetd migrate",
                     json_pack ("{s:i}", "pending_migrations", pending));
    return;
  }
  srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:s}", "status", "ready"));
}

/* The process's counters, then the outbox's (its gauges read the
   database, and are left out when it does not answer). */
static char *
metrics_text (void)
{
  char *text = srv_metrics_render ();
  char *buf = NULL;
  size_t len = 0;
  FILE *f;

  if (NULL == text || NULL == (f = open_memstream (&buf, &len)))
    return text;
  fputs (text, f);
  free (text);
  notify_metrics_write (f, core_db_thread ());
  fclose (f);
  return buf;
}

void
srv_http_metrics (struct srv_request *rq)
{
  char *text;

  /* Request and verify counts per outcome, payment volumes and the outbox
     read from the database at each scrape: for the bank's monitoring, not
     for whoever reaches the listener.  Refused as a route that does not
     exist. */
  if (0 != strcmp (core_cfg->metrics_from, "*")
      && ! srv_proxy_addr_in (core_cfg->metrics_from, rq->client_addr))
  {
    srv_reply_error (rq, CORE_ERR_NOT_FOUND, NULL, NULL);
    return;
  }
  text = metrics_text ();
  if (NULL == text)
  {
    srv_reply_error (rq, CORE_ERR_INTERNAL, NULL, NULL);
    return;
  }
  srv_reply_bytes (rq, MHD_HTTP_OK, "text/plain; version=0.0.4", text,
                   strlen (text));
  free (text);
}

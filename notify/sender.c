/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * sender.c -- the threads of guichetd that deliver the outbox and the
 * webhook events.
 *
 * Each of the `notify_workers` threads has its own database connection
 * and, in turn: claims up to `notify_batch` due e-mails (FOR UPDATE SKIP
 * LOCKED), renders and hands each to the relay, records each outcome, and
 * commits; then claims one relying party whose oldest pending event is
 * due (its endpoint row, locked) and delivers its events in order until
 * one fails.  A thread that found nothing waits `notify_poll_ms`.
 * Several threads and several guichetd instances share the work through
 * those row locks alone: PostgreSQL is the only state.
 *
 * The claim's transaction stays open while the messages go out, so the
 * locks hold; a row is marked sent only after the relay or the receiver
 * accepted it.  If the process dies in between, the transaction rolls
 * back with the connection and another sender delivers the row again:
 * at least once, with the same Message-ID or event id.  A failure is
 * retried after an exponential back-off with jitter; after
 * `notify_max_attempts` the row is `failed` (the back-office lists it,
 * /metrics counts it).  These transactions are run by hand rather than by
 * core_db_tx: a body that has sent mail must not be run again.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <time.h>
#include <curl/curl.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/migrate.h"
#include "notify/notify_int.h"

static struct {
  pthread_t *threads;
  unsigned int n;
  atomic_bool stopping;
  pthread_mutex_t lock;
  pthread_cond_t wake;
} S = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static _Atomic unsigned long counters[NOTIFY_C_COUNT];

void
notify_count (enum notify_counter c)
{
  atomic_fetch_add_explicit (&counters[c], 1, memory_order_relaxed);
}

/* ------------------------------------------------------------ back-off */

double
notify_backoff_ms (int attempts, double rnd)
{
  double d = (double) core_cfg->notify_retry_base_ms;
  double max = 1000.0 * (double) core_cfg->notify_retry_max_s;

  for (int i = 0; i < attempts && d < max; i++)
    d *= 2;
  if (d > max)
    d = max;
  return d / 2 + rnd * d / 2;
}

static double
random_unit (void)
{
  uint32_t r = 0;

  (void) core_random (&r, sizeof r);
  return (double) r / 4294967296.0;
}

/* What differs between putting back an e-mail and a webhook event. */
struct retry_kind {
  const char *stmt;          /* five parameters, of which the back-off in
                                ms and the most attempts are delay_at
                                and delay_at + 1 */
  int delay_at;
  enum notify_counter failed, retried;
  const char *not_done;      /* for the log: "not sent", "not delivered" */
};

static const struct retry_kind mail_retry = {
  "notify_mail_retry", 2, NOTIFY_C_MAIL_FAILED, NOTIFY_C_MAIL_RETRIED,
  "not sent"
};

static const struct retry_kind hook_retry = {
  "notify_hook_retry", 3, NOTIFY_C_HOOK_FAILED, NOTIFY_C_HOOK_RETRIED,
  "not delivered"
};

/* A delivery of @a what (as the log names it), tried @a attempts times
   before this one, failed with @a why: run @a k's statement with @a p,
   whose back-off and most attempts this fills in, and count and log
   whether the row now waits or (the statement answers "failed") is given
   up.  @return the statement's status. */
static enum core_db_status
record_retry (struct core_db *db, const struct retry_kind *k,
              const char *p[5], const char *attempts, const char *what,
              const char *why)
{
  char delay[32], max[16];
  PGresult *res = NULL;
  enum core_db_status st;

  snprintf (delay, sizeof delay, "%.0f",
            notify_backoff_ms (atoi (attempts), random_unit ()));
  snprintf (max, sizeof max, "%u", core_cfg->notify_max_attempts);
  p[k->delay_at] = delay;
  p[k->delay_at + 1] = max;
  st = core_db_exec (db, k->stmt, 5, p, &res);
  if (CORE_DB_ONE_ROW == st && 0 == strcmp (PQgetvalue (res, 0, 0), "failed"))
  {
    notify_count (k->failed);
    LOG_WARN ("%s failed for good: %s", what, why);
  }
  else if (CORE_DB_ONE_ROW == st)
  {
    notify_count (k->retried);
    LOG_INFO ("%s %s, will retry: %s", what, k->not_done, why);
  }
  if (NULL != res)
    PQclear (res);
  return st;
}

/* ------------------------------------------------------------ e-mail */

/* Columns of notify_mail_claim. */
enum {
  M_ID, M_KIND, M_RCPT, M_SUBJECT, M_BODY, M_PARAMS, M_LANG, M_CUSTOMER,
  M_MSGID, M_ATTEMPTS, M_CODE, M_CREATED, M_SECRET
};

#define SECRET_MARK "{{secret}}"

/* The right part of mail_from, for Message-IDs. */
static const char *
mail_domain (void)
{
  const char *at = strrchr (core_cfg->mail_from, '@');

  return NULL != at && '\0' != at[1] ? at + 1 : "guichet.invalid";
}

/* @a text (consumed) with every SECRET_MARK replaced by @a secret.
   @return the new text (malloc'd), or NULL out of memory. */
static char *
put_secret (char *text, const char *secret)
{
  size_t n = 0, mark = strlen (SECRET_MARK), slen = strlen (secret), len;
  char *out, *o;
  const char *p;

  for (p = text; NULL != (p = strstr (p, SECRET_MARK)); p += mark)
    n++;
  len = strlen (text) + n * slen - n * mark;
  if (NULL != (out = malloc (len + 1)))
  {
    o = out;
    for (p = text; '\0' != *p;)
      if (0 == strncmp (p, SECRET_MARK, mark))
      {
        memcpy (o, secret, slen);
        o += slen;
        p += mark;
      }
      else
        *o++ = *p++;
    *o = '\0';
  }
  core_free_secret (text, strlen (text));
  return out;
}

/* The bearer secret of the row (a resume link's token) where the rendered
   text says SECRET_MARK.  @return NULL, or why not. */
static const char *
secret_into (const PGresult *r, int i, struct notify_text *t)
{
  const char *secret = core_db_value (r, i, M_SECRET);
  bool marked = NULL != strstr (t->subject, SECRET_MARK)
                || NULL != strstr (t->body, SECRET_MARK);

  if (! marked)
    return NULL;
  if (NULL == secret)        /* cannot be while pending: our bug */
    return "the message's secret is gone";
  t->subject = put_secret (t->subject, secret);
  t->body = put_secret (t->body, secret);
  return NULL != t->subject && NULL != t->body ? NULL : "out of memory";
}

/* A customer from before migration 0014 has no code yet: draw one and
   store it in this transaction, committed with the outcome of this
   attempt; the message goes out on the next attempt, with the stored code,
   so no message ever carries a code that was not kept.  @return why the
   message waits. */
static const char *
draw_code (struct core_db *db, const char *customer)
{
  char code[NOTIFY_CODE_LEN + 1];
  char *sealed = NULL;
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (0 == notify_code_draw (code)
      && NULL != (sealed = notify_code_seal_param (code, "customer",
                                                   customer)))
  {
    const char *p[2] = { customer, sealed };

    st = core_db_exec (db, "notify_code_set_if_none", 2, p, NULL);
  }
  OPENSSL_cleanse (code, sizeof code);
  free (sealed);
  return CORE_DB_ONE_ROW == st
         ? "the customer had no assurance code yet: one was drawn"
         : "the customer's assurance code is not available";
}

/* Render row @a i of @a r into @a out.  @return NULL, or why not. */
static const char *
render_row (struct core_db *db, const PGresult *r, int i,
            struct notify_text *out)
{
  const char *customer = core_db_value (r, i, M_CUSTOMER);
  const char *params = core_db_value (r, i, M_PARAMS);
  char code[NOTIFY_CODE_LEN + 1] = "";
  const char *why = NULL;
  json_t *p;

  if (NULL != customer && NULL == core_db_value (r, i, M_CODE))
    return draw_code (db, customer);
  if (NULL != customer
      && 0 != notify_code_open_hex (PQgetvalue (r, i, M_CODE), "customer",
                                    customer, code))
    return "the customer's assurance code is not available";
  if (NULL == params)
  {
    if (0 != notify_render_raw (PQgetvalue (r, i, M_SUBJECT),
                                PQgetvalue (r, i, M_BODY),
                                NULL != customer ? code : NULL, out))
      why = "out of memory";
  }
  else if (NULL == (p = json_loads (params, 0, NULL)) || ! json_is_object (p))
  {
    json_decref (p);
    why = "the parameters are not a JSON object";
  }
  else
  {
    /* "at" defaults to when the message was queued */
    if (NULL == json_object_get (p, "at"))
    {
      char at[32];
      time_t t = (time_t) strtoll (PQgetvalue (r, i, M_CREATED), NULL, 10);
      struct tm tm;

      gmtime_r (&t, &tm);
      strftime (at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
      json_object_set_new (p, "at", json_string (at));
    }
    (void) notify_render (PQgetvalue (r, i, M_KIND),
                          PQgetvalue (r, i, M_LANG), p,
                          NULL != customer ? code : NULL, out, &why);
    json_decref (p);
  }
  OPENSSL_cleanse (code, sizeof code);
  if (NULL == why)
    why = secret_into (r, i, out);
  if (NULL != why)
    notify_text_clear (out);
  return why;
}

/* Deliver row @a i; @a why gets the reason when it is not sent. */
static enum notify_outcome
deliver_mail (struct core_db *db, struct notify_smtp *smtp,
              const PGresult *r, int i, char *why, size_t whylen)
{
  struct notify_text text = { 0 };
  struct notify_mail m = {
    .from = core_cfg->mail_from, .to = PQgetvalue (r, i, M_RCPT),
    .lang = PQgetvalue (r, i, M_LANG), .date = (long long) time (NULL),
    .text = &text,
  };
  char msgid[128];
  const char *problem;
  char *mime = NULL;
  enum notify_outcome o;

  if (! notify_address_ok (m.to))
  {
    snprintf (why, whylen, "the recipient is not a usable address");
    return NOTIFY_PERMANENT;
  }
  if (NULL != (problem = render_row (db, r, i, &text)))
  {
    snprintf (why, whylen, "%s", problem);
    return NOTIFY_RETRY;
  }
  snprintf (msgid, sizeof msgid, "<%s@%s>", PQgetvalue (r, i, M_MSGID),
            mail_domain ());
  m.message_id = msgid;
  if (NULL == (mime = notify_mime_build (&m)))
  {
    notify_text_clear (&text);
    snprintf (why, whylen, "out of memory");
    return NOTIFY_RETRY;
  }
  o = notify_smtp_send (smtp, core_cfg->mail_from, m.to, mime, why, whylen);
  core_free_secret (mime, strlen (mime));
  notify_text_clear (&text);
  return o;
}

/* Record the outcome of row @a i.  @return the statement's status. */
static enum core_db_status
record_mail (struct core_db *db, const PGresult *r, int i,
             enum notify_outcome o, const char *why)
{
  const char *id = PQgetvalue (r, i, M_ID);
  const char *p[5] = { id, why, NULL, NULL,
                       NOTIFY_PERMANENT == o ? "true" : "false" };
  char what[64];

  if (NOTIFY_SENT == o)
  {
    notify_count (NOTIFY_C_MAIL_SENT);
    return core_db_exec (db, "notify_mail_sent", 1, p, NULL);
  }
  snprintf (what, sizeof what, "outbox message %s", id);
  return record_retry (db, &mail_retry, p, PQgetvalue (r, i, M_ATTEMPTS),
                       what, why);
}

/* One batch.  @return rows handled, or -1 on a database error. */
static int
mail_round (struct core_db *db, struct notify_smtp *smtp)
{
  char batch[16];
  const char *p[1] = { batch };
  PGresult *r = NULL;
  enum core_db_status st;
  int n, done = 0;

  snprintf (batch, sizeof batch, "%u", core_cfg->notify_batch);
  if (core_db_command (db, "BEGIN") < 0)
    return -1;
  st = core_db_exec (db, "notify_mail_claim", 1, p, &r);
  n = CORE_DB_ONE_ROW == st ? PQntuples (r) : 0;
  for (int i = 0; i < n && ! atomic_load (&S.stopping); i++)
  {
    char why[300] = "";
    enum notify_outcome o = deliver_mail (db, smtp, r, i, why, sizeof why);

    if (record_mail (db, r, i, o, why) < 0)
    {
      st = CORE_DB_HARD_ERROR;
      break;
    }
    done++;
    if (NOTIFY_TRANSPORT == o)
      break;                /* the relay is away: the rest wait their turn */
  }
  if (NULL != r)
    PQclear (r);
  if (st < 0 || core_db_command (db, "COMMIT") < 0)
  {
    (void) core_db_command (db, "ROLLBACK");
    return -1;
  }
  return done;
}

/* ------------------------------------------------------------ webhooks */

/* Columns of notify_hook_events. */
enum { E_SEQ, E_ID, E_TYPE, E_CREATED, E_DATA, E_ATTEMPTS };

static enum core_db_status
record_event (struct core_db *db, const PGresult *r, int i,
              enum notify_outcome o, long status, const char *why)
{
  const char *seq = PQgetvalue (r, i, E_SEQ);
  char st_s[16], what[96];
  const char *p[5] = { seq, 0 != status ? st_s : NULL, why, NULL, NULL };

  snprintf (st_s, sizeof st_s, "%ld", status);
  if (NOTIFY_SENT == o)
  {
    notify_count (NOTIFY_C_HOOK_SENT);
    return core_db_exec (db, "notify_hook_delivered", 2, p, NULL);
  }
  snprintf (what, sizeof what, "webhook event %s (seq %s)",
            PQgetvalue (r, i, E_ID), seq);
  return record_retry (db, &hook_retry, p, PQgetvalue (r, i, E_ATTEMPTS),
                       what, why);
}

/* The endpoint's events in order, stopping at the first failure; with no
   @a secret (it does not open: a key missing from the keyring) the first
   one fails, so back-off and the attempt limit apply as to any failure.
   @return events handled, or -1 on a database error. */
static int
deliver_events (struct core_db *db, struct notify_http *http,
                const char *key_id, const char *url, const char *secret)
{
  char batch[16];
  const char *p[2] = { key_id, batch };
  PGresult *r = NULL;
  enum core_db_status st;
  int n, done = 0;

  snprintf (batch, sizeof batch, "%u", core_cfg->notify_batch);
  st = core_db_exec (db, "notify_hook_events", 2, p, &r);
  if (st < 0)
    return -1;
  n = CORE_DB_ONE_ROW == st ? PQntuples (r) : 0;
  for (int i = 0; i < n && ! atomic_load (&S.stopping); i++)
  {
    char why[300] = "";
    long status = 0;
    char *body = notify_event_body (PQgetvalue (r, i, E_ID),
                                    PQgetvalue (r, i, E_TYPE),
                                    PQgetvalue (r, i, E_CREATED),
                                    PQgetvalue (r, i, E_DATA));
    enum notify_outcome o = NOTIFY_RETRY;

    if (NULL == secret)
      snprintf (why, sizeof why, "the webhook secret does not open");
    else if (NULL == body)
      snprintf (why, sizeof why, "the event cannot be serialised");
    else
      o = notify_http_post (http, url, secret, body, &status, why,
                            sizeof why);
    free (body);
    if (record_event (db, r, i, o, status, why) < 0)
    {
      done = -1;
      break;
    }
    done++;
    if (NOTIFY_SENT != o)
      break;                /* in order: the next wait behind this one */
  }
  if (NULL != r)
    PQclear (r);
  return done;
}

/* One relying party.  @return events handled, or -1. */
static int
hook_round (struct core_db *db, struct notify_http *http)
{
  PGresult *r = NULL;
  enum core_db_status st;
  uint8_t *secret = NULL;
  size_t slen = 0;
  int done = 0;

  if (core_db_command (db, "BEGIN") < 0)
    return -1;
  st = core_db_exec (db, "notify_hook_claim", 0, NULL, &r);
  if (CORE_DB_ONE_ROW == st)
  {
    char aad[48], *s = NULL;
    const char *hex = PQgetvalue (r, 0, 2);
    size_t n = strlen (hex) / 2;
    uint8_t *env = malloc (n + 1);

    snprintf (aad, sizeof aad, "webhook:%s", PQgetvalue (r, 0, 0));
    if (NULL != env && (long) n == core_hex_decode (hex, env, n)
        && 0 == core_open (env, n, aad, &secret, &slen)
        && NULL != (s = strndup ((const char *) secret, slen)))
    {
      done = deliver_events (db, http, PQgetvalue (r, 0, 0),
                             PQgetvalue (r, 0, 1), s);
      core_free_secret (s, slen);
    }
    else
    {
      LOG_ERROR ("the webhook secret of API key %s does not open",
                 PQgetvalue (r, 0, 0));
      done = deliver_events (db, http, PQgetvalue (r, 0, 0),
                             PQgetvalue (r, 0, 1), NULL);
    }
    free (env);
    core_free_secret (secret, slen);
  }
  if (NULL != r)
    PQclear (r);
  if (st < 0 || done < 0 || core_db_command (db, "COMMIT") < 0)
  {
    (void) core_db_command (db, "ROLLBACK");
    return -1;
  }
  return done;
}

/* ------------------------------------------------------------ threads */

static bool
mail_enabled (void)
{
  return '\0' != core_cfg->smtp_url[0];
}

/* Sleep @a ms unless stopping. */
static void
nap (unsigned int ms)
{
  struct timespec until;

  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long) (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L)
  {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock (&S.lock);
  if (! atomic_load (&S.stopping))
    pthread_cond_timedwait (&S.wake, &S.lock, &until);
  pthread_mutex_unlock (&S.lock);
}

/* Whether this database has every migration: a guichetd started before
   `guichetd migrate` (a rolling upgrade) waits quietly for it rather than
   failing its statements every poll. */
static bool
schema_current (struct core_db *db)
{
  return NULL != db && 0 == core_migrate_pending (core_db_conn (db),
                                                  core_cfg->migrations_dir);
}

static void *
sender_main (void *cls)
{
  struct notify_smtp *smtp = mail_enabled () ? notify_smtp_new () : NULL;
  struct notify_http *http = notify_http_new ();
  bool ready = false, said = false;

  (void) cls;
  if (NULL == http || (mail_enabled () && NULL == smtp))
    LOG_ERROR ("notify sender cannot start its transports");
  while (! atomic_load (&S.stopping) && NULL != http)
  {
    struct core_db *db = core_db_thread ();
    int m = 0, h = 0;

    if (! ready && ! (ready = schema_current (db)))
    {
      if (! said)
        LOG_WARN ("notify sender: the database is unavailable or the "
                  "schema is not current; waiting");
      said = true;
      nap (core_cfg->notify_poll_ms);
      continue;
    }
    said = false;
    if (NULL != smtp)
      m = mail_round (db, smtp);
    h = hook_round (db, http);
    /* a failed round: look at the database again before the next */
    ready = m >= 0 && h >= 0;
    if (ready && m + h > 0)
      continue;
    nap (core_cfg->notify_poll_ms);
  }
  notify_smtp_free (smtp);
  notify_http_free (http);
  core_db_thread_close ();
  return NULL;
}

int
notify_start (void)
{
  sigset_t all, old;

  if (0 == core_cfg->notify_workers)
    return 0;
  if (CURLE_OK != curl_global_init (CURL_GLOBAL_DEFAULT))
  {
    LOG_ERROR ("libcurl cannot start");
    return -1;
  }
  S.threads = calloc (core_cfg->notify_workers, sizeof *S.threads);
  if (NULL == S.threads)
    return -1;
  atomic_store (&S.stopping, false);
  /* signals are for the main thread's loop */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  for (S.n = 0; S.n < core_cfg->notify_workers; S.n++)
    if (0 != pthread_create (&S.threads[S.n], NULL, &sender_main, NULL))
      break;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (S.n < core_cfg->notify_workers)
  {
    LOG_ERROR ("cannot start the notify sender threads");
    notify_stop ();
    return -1;
  }
  LOG_INFO ("notify: %u sender thread%s; e-mail %s", S.n, 1 == S.n ? "" : "s",
            mail_enabled () ? "on" : "off (no smtp_url)");
  return 0;
}

void
notify_stop (void)
{
  if (NULL == S.threads)
    return;
  pthread_mutex_lock (&S.lock);
  atomic_store (&S.stopping, true);
  pthread_cond_broadcast (&S.wake);
  pthread_mutex_unlock (&S.lock);
  for (unsigned int i = 0; i < S.n; i++)
    pthread_join (S.threads[i], NULL);
  free (S.threads);
  S.threads = NULL;
  S.n = 0;
  curl_global_cleanup ();
}

/* ------------------------------------------------------------ metrics */

void
notify_metrics_write (FILE *f, struct core_db *db)
{
  static const char *const names[NOTIFY_C_COUNT][2] = {
    { "email", "sent" }, { "email", "retried" }, { "email", "failed" },
    { "webhook", "sent" }, { "webhook", "retried" }, { "webhook", "failed" },
  };
  /* notify_gauges' columns after the channel */
  static const struct {
    const char *name, *help;
    int column;
  } gauges[] = {
    { "pending", "Messages and events waiting to be delivered (all "
      "instances).", 1 },
    { "oldest_pending_seconds", "Age of the oldest message or event waiting "
      "(0 when none).", 2 },
    { "failed", "Messages and events given up, waiting for staff (all "
      "instances).", 3 },
  };
  PGresult *r = NULL;

  fputs ("# HELP guichet_outbox_deliveries_total Delivery attempts of this "
         "process by channel and outcome (sent, retried later, failed for "
         "good).\n# TYPE guichet_outbox_deliveries_total counter\n", f);
  for (int i = 0; i < NOTIFY_C_COUNT; i++)
    fprintf (f, "guichet_outbox_deliveries_total{channel=\"%s\","
             "outcome=\"%s\"} %lu\n", names[i][0], names[i][1],
             atomic_load_explicit (&counters[i], memory_order_relaxed));
  if (NULL == db
      || CORE_DB_ONE_ROW != core_db_exec (db, "notify_gauges", 0, NULL, &r))
  {
    if (NULL != r)
      PQclear (r);
    return;
  }
  for (size_t g = 0; g < sizeof gauges / sizeof gauges[0]; g++)
  {
    fprintf (f, "# HELP guichet_outbox_%s %s\n"
             "# TYPE guichet_outbox_%s gauge\n", gauges[g].name,
             gauges[g].help, gauges[g].name);
    for (int i = 0; i < PQntuples (r); i++)
      fprintf (f, "guichet_outbox_%s{channel=\"%s\"} %s\n", gauges[g].name,
               PQgetvalue (r, i, 0), PQgetvalue (r, i, gauges[g].column));
  }
  PQclear (r);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * notify_int.h -- internal to notify/: the pieces the sender puts together
 * (templates, the MIME message, the SMTP and HTTP transports, back-off)
 * and the counters behind /metrics.
 */
#ifndef GUICHET_NOTIFY_INT_H
#define GUICHET_NOTIFY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/db.h"
#include "core/error.h"
#include "notify/notify.h"

enum core_err
notify_db_err (struct core_db *db);

/* ------------------------------------------------------------ templates.c */

/** A message ready to put in MIME: owned strings (notify_text_clear). */
struct notify_text {
  char *subject;
  char *body;                /* plain text, "\n" line ends */
};

/**
 * Render template @a kind in @a lang ("en" | "fr") with @a params (a JSON
 * object), and end it with the assurance code line when @a code is given.
 * @return 0, or -1 (unknown kind or a parameter missing: *why set).
 */
int
notify_render (const char *kind, const char *lang, const json_t *params,
               const char *code, struct notify_text *out, const char **why);

/** A row written as text: its subject and body, plus the code line. */
int
notify_render_raw (const char *subject, const char *body, const char *code,
                   struct notify_text *out);

/** Free (and cleanse: a body may hold a link or a code). */
void
notify_text_clear (struct notify_text *t);

/** The line every message to a customer ends with (API.md, normative). */
#define NOTIFY_CODE_LINE "Your security code: "

/* ------------------------------------------------------------ mime.c */

struct notify_mail {
  const char *from;          /* address only */
  const char *to;            /* address only */
  const char *lang;
  const char *message_id;    /* "<uuid@domain>" */
  long long date;            /* unix seconds for the Date header */
  const struct notify_text *text;
};

/**
 * The RFC 5322 message: Date, From, To, Subject (RFC 2047 when not
 * ASCII), Message-ID, Auto-Submitted, Content-Language, and a
 * multipart/alternative of the text and a simple HTML rendering of it,
 * both quoted-printable, CRLF line ends.
 * @return malloc'd text (core_free_secret), or NULL.
 */
char *
notify_mime_build (const struct notify_mail *m);

/** An address fit for a header and the envelope: no white space, CR, LF,
 *  angle brackets, commas or quotes; one '@' with text either side. */
bool
notify_address_ok (const char *addr);

/** Quoted-printable of @a s (for tests too). @return malloc'd or NULL. */
char *
notify_qp_encode (const char *s);

/* ------------------------------------------------------------ smtp.c */

struct notify_smtp;

/** One relay connection per sender thread (reused between messages). */
struct notify_smtp *
notify_smtp_new (void);

void
notify_smtp_free (struct notify_smtp *s);

enum notify_outcome {
  NOTIFY_SENT,               /* accepted */
  NOTIFY_RETRY,              /* try again later */
  NOTIFY_PERMANENT,          /* refused for good (SMTP 5xx): give up */
  NOTIFY_TRANSPORT           /* could not talk to the relay at all: retry,
                                and stop this batch */
};

/**
 * Send @a message from @a from to @a to.
 * @param why  a short reason when not sent (the relay's answer)
 */
enum notify_outcome
notify_smtp_send (struct notify_smtp *s, const char *from, const char *to,
                  const char *message, char *why, size_t whylen);

/** @return true when @a host is a loopback name or address. */
bool
notify_host_is_loopback (const char *host);

/* ------------------------------------------------------------ webhook.c */

struct notify_http;

struct notify_http *
notify_http_new (void);

void
notify_http_free (struct notify_http *h);

/**
 * POST @a body to @a url, signed with @a secret (API.md: Guichet-Signature
 * t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." body)>).
 * @param[out] status  the HTTP status, 0 when there was no answer
 * @return NOTIFY_SENT for 2xx, else NOTIFY_RETRY (why set)
 */
enum notify_outcome
notify_http_post (struct notify_http *h, const char *url, const char *secret,
                  const char *body, long *status, char *why, size_t whylen);

/** The signature header value for @a body at @a t (for tests too).
 *  @return 0, or -1. */
int
notify_webhook_signature (const char *secret, long long t, const char *body,
                          char out[128]);

/** The JSON body of an event. @return malloc'd, or NULL. */
char *
notify_event_body (const char *id, const char *type, const char *created_at,
                   const char *data_json);

/* ------------------------------------------------------------ sender.c */

/**
 * Delay before attempt @a attempts + 1: notify_retry_base_ms doubled per
 * attempt made, at most notify_retry_max_s, with full jitter in its upper
 * half ([d/2, d]) so retries of many rows spread out.  @a rnd in [0, 1).
 */
double
notify_backoff_ms (int attempts, double rnd);

/* Counters of this process (relaxed atomics, metrics only). */
enum notify_counter {
  NOTIFY_C_MAIL_SENT, NOTIFY_C_MAIL_RETRIED, NOTIFY_C_MAIL_FAILED,
  NOTIFY_C_HOOK_SENT, NOTIFY_C_HOOK_RETRIED, NOTIFY_C_HOOK_FAILED,
  NOTIFY_C_COUNT
};

void
notify_count (enum notify_counter c);

#endif

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * longpoll.h -- hold a request until something it waits for changes,
 * without holding a worker thread: the connection is suspended in
 * libmicrohttpd and resumed when PostgreSQL NOTIFYs the key (from any
 * guichetd instance) or when the deadline passes.
 */
#ifndef GUICHET_SERVER_LONGPOLL_H
#define GUICHET_SERVER_LONGPOLL_H

#include "server/server.h"

/** Start the LISTEN thread (after core_db_setup).  @return 0 or -1. */
int
srv_longpoll_start (void);

/** Resume every waiting request and stop the thread (before MHD stops). */
void
srv_longpoll_stop (void);

/**
 * How many notifications this instance has received so far.  The request
 * layer takes it before each run of a handler (rq->notify_mark), so that
 * srv_longpoll_wait knows of a notification that arrived while the handler
 * was reading the state it decided to wait on.
 */
unsigned long long
srv_longpoll_mark (void);

/**
 * Suspend @a rq until NOTIFY guichet_enrolment '@a key' or @a seconds pass;
 * a notification of @a key received since rq->notify_mark resumes it at
 * once (the handler read the state before that change committed);
 * the handler is then called again with rq->resumed set (and may wait
 * again until its first deadline).  Call from a handler only, instead of
 * replying; if rq->suspended is still false afterwards, it could not wait
 * and must answer now.
 */
void
srv_longpoll_wait (struct srv_request *rq, const char *key,
                   unsigned int seconds);

#endif

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * server.h -- the request context and the route table of guichetd.
 *
 * server/ is the only module that knows HTTP.  request.c reads the whole
 * body once, under the route's cap, parses JSON bodies, checks the route's
 * authentication, and hands the handler an srv_request.  A handler
 * parses its fields, calls one domain function and replies with exactly one
 * srv_reply_* call.  The request context owns everything of its request and
 * is freed by one cleaner when libmicrohttpd reports completion.
 */
#ifndef GUICHET_SERVER_H
#define GUICHET_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>
#include <microhttpd.h>
#include "core/db.h"
#include "core/error.h"
#include "core/json.h"

#define SRV_MAX_ARGS 4

enum srv_auth {
  SRV_AUTH_NONE = 0,
  SRV_AUTH_API_KEY,          /* Authorization: Bearer <relying-party key> */
  SRV_AUTH_APPLICANT,        /* enrolment session cookie (enrol issues) */
  SRV_AUTH_DEVICE,           /* signed device request */
  SRV_AUTH_ADMIN             /* back-office session + CSRF */
};

enum srv_body {
  SRV_BODY_NONE = 0,         /* no body expected; one given is ignored */
  SRV_BODY_JSON,             /* application/json object, parsed into ->json */
  SRV_BODY_RAW               /* raw bytes of .content_type (e.g. PSKC XML) */
};

struct srv_request;

typedef void
(*srv_handler)(struct srv_request *rq);

struct srv_route {
  const char *method;        /* "GET", "POST" */
  const char *path;          /* "/v1/enrolments/{}/pin": {} captures a segment */
  srv_handler handler;
  enum srv_auth auth;
  enum srv_body body;
  const char *content_type;  /* for SRV_BODY_RAW */
  size_t max_body;           /* 0: the configured default (64 KiB) */
  const char *name;          /* label for metrics and logs */
  const char *role;          /* SRV_AUTH_ADMIN: "reviewer", "advisor",
                                "support" (admins pass all three), "admin",
                                or "staff" (anyone) */
  bool needs_db;             /* false for /healthz and static files */
  /* SRV_AUTH_API_KEY checked by the handler's first statement rather than
     by a lookup of its own before the body is read: the request layer
     only checks that a key is there and hashes it (rq->api_key_hash), and
     checks it on its own only before answering an error (a stranger never
     learns more than 401).  For a hot path whose body is small (verify:
     one round trip for a refusal). */
  bool key_in_handler;
};

struct srv_request {
  struct MHD_Connection *conn;
  const struct srv_route *route;
  const char *method;
  const char *url;
  char *args[SRV_MAX_ARGS];  /* captured path segments, decoded */
  unsigned int nargs;
  char *body;                /* accumulated body, NUL-terminated */
  size_t body_len;
  size_t body_cap;
  bool body_too_large;
  bool body_untyped;         /* JSON route, no Content-Type: must stay empty */
  bool body_untyped_refused; /* ... and bytes came: 415 */
  json_t *json;              /* parsed body for SRV_BODY_JSON routes */
  char request_id[20];
  char client_addr[64];      /* peer, or first untrusted X-Forwarded-For hop */
  struct timespec started;
  unsigned int status;       /* status of the queued response */
  bool replied;
  struct MHD_Response *response;
  struct core_db *db;        /* this worker's connection (needs_db routes) */
  char *api_key_name;        /* SRV_AUTH_API_KEY: the relying party */
  char api_key_hash[2 + 64 + 1]; /* .key_in_handler: bytea param, or "" */
  char *device_id;           /* SRV_AUTH_DEVICE: the verified device */
  char *admin_username;      /* SRV_AUTH_ADMIN: who is logged in */
  char *admin_role;          /* SRV_AUTH_ADMIN: "reviewer" | "admin" */
  bool authenticated;        /* checked before the body was read */
  bool suspended;            /* waiting in longpoll.c */
  bool resumed;              /* the handler runs again after a wait */
  struct timespec deadline;  /* of a long poll (CLOCK_MONOTONIC) */
  unsigned long long notify_mark; /* srv_longpoll_mark () before the handler ran */
};

/* ---------------------------------------------------------------- reply.c */

/** Reply with @a body (stolen: the reference is consumed). */
void
srv_reply_json (struct srv_request *rq, unsigned int status, json_t *body);

/**
 * Reply with API.md's error body for @a err.  @a message may be NULL (the
 * code's hint is used).  @a extra, if not NULL, is merged at the top level
 * (stolen), e.g. {"attempts_remaining": 2} or {"reasons": [...]}.
 */
void
srv_reply_error (struct srv_request *rq, enum core_err err,
                 const char *message, json_t *extra);

/**
 * Reply 429 rate_limited with header Retry-After and "retry_after" (both
 * @a retry_after seconds, at least 1).
 */
void
srv_reply_rate_limited (struct srv_request *rq, long retry_after);

/**
 * Reply 423 locked with "locked_until" (@a locked_until, RFC 3339, or null
 * for a lock only an unlock ends -- then no Retry-After) and header
 * Retry-After: @a retry_after.  @a extra as srv_reply_error's (stolen).
 */
void
srv_reply_locked (struct srv_request *rq, const char *locked_until,
                  long retry_after, json_t *extra);

/**
 * 400 invalid_field for several fields at once: "field" is the first (as
 * srv_reply_bad_field), "fields" all of them.  Takes @a fields (a
 * non-empty JSON array of dotted names).
 */
void
srv_reply_bad_fields (struct srv_request *rq, json_t *fields);

/** Reply 400 invalid_field naming @a field. */
void
srv_reply_bad_field (struct srv_request *rq, const char *field);

/** Reply with raw bytes of @a mime (copied). */
void
srv_reply_bytes (struct srv_request *rq, unsigned int status,
                 const char *mime, const void *data, size_t len);

/**
 * Reply with raw bytes of @a mime (copied) under a page's own
 * Content-Security-Policy @a csp and Permissions-Policy @a permissions
 * (NULL: no camera, microphone or location), with every other security
 * header as usual.  For the Guichet app, which needs a camera and
 * workers (server/http_static.c).
 */
void
srv_reply_bytes_policy (struct srv_request *rq, unsigned int status,
                        const char *mime, const void *data, size_t len,
                        const char *csp, const char *permissions);

/** Add the security headers every response carries. */
void
srv_add_security_headers (struct MHD_Response *resp, bool is_html);

/* ---------------------------------------------------------------- request.c */

/** libmicrohttpd's access handler: every call for every request. */
enum MHD_Result
srv_access_handler (void *cls, struct MHD_Connection *conn,
                    const char *url, const char *method,
                    const char *version, const char *upload_data,
                    size_t *upload_data_size, void **con_cls);

/**
 * libmicrohttpd's unescaper (MHD_OPTION_UNESCAPE_CALLBACK) for the path
 * and each query value: %XX decoded in place, except %00, which stays as
 * typed -- a NUL would end the C string early, so that the path or value
 * we act on is shorter than the one the client (or a cache in front of
 * us) sees.  @return the new length of @a s.
 */
size_t
srv_unescape (void *cls, struct MHD_Connection *conn, char *s);

/** libmicrohttpd's completion callback: count, log one line, free. */
void
srv_request_completed (void *cls, struct MHD_Connection *conn,
                       void **con_cls, enum MHD_RequestTerminationCode toe);

/** @return the request header @a name or NULL (borrowed). */
const char *
srv_header (struct srv_request *rq, const char *name);

/** @return the query argument @a name or NULL (borrowed). */
const char *
srv_query (struct srv_request *rq, const char *name);

/**
 * Is @a v (a query argument) text PostgreSQL will take: valid UTF-8 of at
 * most @a max bytes?  A query string may carry any bytes ("%FF"), which
 * the database refuses as text -- the client's mistake, to be answered
 * 400 before a query runs, not 500 after.  NULL (absent) is fine.
 */
bool
srv_query_text_ok (const char *v, size_t max);

/**
 * Parse rq->json against @a fields; on failure replies 400 naming the field.
 * @return true if the handler may go on.
 */
bool
srv_parse_fields (struct srv_request *rq,
                  const struct core_json_field *fields);

/* ---------------------------------------------------------------- router.c */

/**
 * Find the route for @a method and @a url.  Path captures are copied into
 * rq->args.
 * @return the route, or NULL with *path_known telling whether another method
 *         would have matched (405 rather than 404).
 */
const struct srv_route *
srv_route_find (const char *method, const char *url, struct srv_request *rq,
                bool *path_known);

/* The methods some route answers on @a url ("GET, HEAD, POST"), for the
   Allow header of a 405, written to @a out (at most @a len bytes). */
void
srv_route_allow (const char *url, char *out, size_t len);

/** @return the number of routes (for metrics) and the table. */
const struct srv_route *
srv_routes (size_t *count);

/* ---------------------------------------------------------------- daemon.c */

/** Run the HTTP service until SIGINT/SIGTERM. @return process exit code. */
int
srv_serve (void);

#endif

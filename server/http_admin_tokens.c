/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_admin_tokens.c -- the hardware token inventory in the back-office:
 * import a vendor's PSKC file (POST /v1/admin/tokens/import, body
 * application/pskc+xml) and list the stock (GET /v1/admin/tokens).
 *
 * The pre-shared key and the password come in headers (Guichet-PSKC-Key,
 * Guichet-PSKC-Password); like the file's secrets they are never logged
 * or echoed, and the body is cleansed once the import is done.  A refused
 * file answers API.md's error body with "reasons" and the "rejected" keys.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authn/tokens.h"
#include "server/handlers.h"

#define LIST_DEFAULT 50

/* "1"/"true" or "0"/"false"; absent is false.  @return -1 if neither. */
static int
flag (const char *v)
{
  if (v == NULL || strcmp (v, "0") == 0 || strcmp (v, "false") == 0)
    return 0;
  if (strcmp (v, "1") == 0 || strcmp (v, "true") == 0)
    return 1;
  return -1;
}

/* When to try again after "another import is running" (a large file takes
   a few seconds). */
#define IMPORT_RETRY_S 5

static void
reply_refused (struct srv_request *rq, enum core_err err,
               const struct authn_tokens_import_res *res)
{
  json_t *extra = NULL;

  if (res->reason != NULL)
    extra = json_pack ("{s:[s], s:o, s:i, s:i}", "reasons", res->reason,
                       "rejected", res->rejected != NULL
                                   ? json_incref (res->rejected)
                                   : json_array (),
                       "imported", 0, "duplicates", 0);
  srv_reply_error (rq, err, res->message, extra);
}

void
srv_http_admin_tokens_import (struct srv_request *rq)
{
  struct authn_tokens_import_req req = {
    .xml = rq->body != NULL ? rq->body : "", .len = rq->body_len,
    .key_hex = srv_header (rq, "Guichet-PSKC-Key"),
    .password = srv_header (rq, "Guichet-PSKC-Password"),
    .actor = rq->admin_username,
  };
  struct authn_tokens_import_res res = { .rejected = NULL };
  int partial = flag (srv_query (rq, "partial"));
  enum core_err err;

  if (partial < 0)
    {
      srv_reply_error (rq, CORE_ERR_BAD_REQUEST, "partial must be 1 or 0",
                       NULL);
      return;
    }
  req.partial = partial == 1;
  err = authn_tokens_import (rq->db, &req, &res);
  if (rq->body != NULL)
    OPENSSL_cleanse (rq->body, rq->body_len);
  if (err == CORE_ERR_RATE_LIMITED)     /* another import is running */
    srv_reply_rate_limited (rq, IMPORT_RETRY_S);
  else if (err == CORE_OK)
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:I, s:I, s:O, s:s, s:I, s:I}", "imported",
                               (json_int_t) res.imported, "duplicates",
                               (json_int_t) res.duplicates, "rejected",
                               res.rejected, "import_batch", res.batch,
                               "key_packages", (json_int_t) res.key_packages,
                               "ms", (json_int_t) (res.seconds * 1000 + 0.5)));
  else
    reply_refused (rq, err, &res);
  authn_tokens_import_res_clear (&res);
}

/* A whole number in lo..hi, or @a dflt when absent.  @return false if
   malformed. */
static bool
number (const char *v, long lo, long hi, long dflt, long *out)
{
  char *end;

  *out = dflt;
  if (v == NULL)
    return true;
  *out = strtol (v, &end, 10);
  return v[0] != '\0' && *end == '\0' && *out >= lo && *out <= hi;
}

void
srv_http_admin_tokens (struct srv_request *rq)
{
  struct authn_tokens_filter f = {
    .state = srv_query (rq, "state"), .serial = srv_query (rq, "serial"),
  };
  json_t *out = NULL;
  enum core_err err = CORE_ERR_BAD_REQUEST;

  if (f.state != NULL && f.state[0] == '\0')
    f.state = NULL;
  if (f.serial != NULL && f.serial[0] == '\0')
    f.serial = NULL;
  if (number (srv_query (rq, "limit"), 1, AUTHN_TOKENS_LIST_MAX,
              LIST_DEFAULT, &f.limit)
      && number (srv_query (rq, "offset"), 0, 1000000000L, 0, &f.offset))
    err = authn_tokens_list (rq->db, &f, &out);
  if (err == CORE_ERR_BAD_REQUEST)
    srv_reply_error (rq, err, "state must be in_stock, assigned, active, "
                     "lost or revoked; limit 1..500; offset >= 0", NULL);
  else if (err != CORE_OK)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, out);
}

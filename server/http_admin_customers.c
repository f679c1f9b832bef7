/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_admin_customers.c -- the credential lifecycle in the back-office:
 * a customer, their credentials, passkeys and latest transactions (GET
 * /v1/admin/customers/{id}),
 * clearing a lockout (POST .../unlock), and revoking a credential
 * (POST /v1/admin/credentials/{id}/revoke {"reason"}).  The customer view
 * carries notify/'s "contact": address, language, when and by whom the
 * assurance code was set, the last messages; http_assurance.c changes the
 * code.
 *
 * Support staff find a customer first (GET /v1/admin/customers?q= an id,
 * the bank's reference or an e-mail address); the view also lists the
 * customer's phones and latest verify attempts (admin_support.c).  An
 * unlock needs a comment, as a revocation needs a reason: both go to the
 * audit log.
 *
 * The support (or admin) role and the CSRF header are checked before these
 * run (admin_session.c); authn/tokens_admin.c does the work and writes the
 * audit row in the same transaction.  No answer carries a PIN hash or a
 * seed; a comment or revocation reason is stored and audited, never logged.
 */
#include <stdlib.h>
#include <string.h>

#include "authn/tokens.h"
#include "authn/transaction.h"
#include "notify/notify.h"
#include "server/admin.h"
#include "server/handlers.h"

#define ADMIN_TX_LIST 50
#define SEARCH_MAX 254          /* an e-mail address at most */
#define UNLOCK_COMMENT_MAX 2000

void
srv_http_admin_customer_search (struct srv_request *rq)
{
  const char *q = srv_query (rq, "q");
  json_t *list = NULL;
  enum core_err err;

  if (NULL == q || '\0' == q[0] || ! srv_query_text_ok (q, SEARCH_MAX))
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST, "q must be a customer id, "
                     "the bank's reference or an e-mail address (1 to 254 "
                     "characters of UTF-8)", NULL);
    return;
  }
  err = srv_admin_customer_search (rq->db, q, &list);
  if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:o}", "customers", list));
}

void
srv_http_admin_customer (struct srv_request *rq)
{
  json_t *out = NULL, *txs = NULL, *contact = NULL;
  enum core_err err = authn_admin_customer (rq->db, rq->args[0], &out);

  if (CORE_OK == err)
    err = authn_tx_customer_list (rq->db, rq->args[0], ADMIN_TX_LIST, &txs);
  if (CORE_OK == err)
    json_object_set_new (out, "transactions", txs);
  /* how we reach them and whether they have a code (never the code) */
  if (CORE_OK == err
      && CORE_OK == (err = notify_admin_customer (rq->db, rq->args[0],
                                                  &contact)))
    json_object_set_new (out, "contact", contact);
  if (CORE_OK == err)
    err = srv_admin_customer_passkeys (rq, out);
  if (CORE_OK == err)
    err = srv_admin_customer_extra (rq->db, rq->args[0], out);
  if (CORE_OK != err && NULL != out)
  {
    json_decref (out);
    out = NULL;
  }
  if (err != CORE_OK)
    srv_reply_error (rq, err, CORE_ERR_NOT_FOUND == err
                     ? "no such customer" : NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, out);
}

void
srv_http_admin_customer_unlock (struct srv_request *rq)
{
  const char *comment = NULL;
  const struct core_json_field fields[] = {
    { .name = "comment", .type = CORE_JSON_STRING,
      .max_len = 4 * UNLOCK_COMMENT_MAX, .out = &comment },
    CORE_JSON_FIELD_END
  };
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  if (! srv_admin_comment_ok (comment, UNLOCK_COMMENT_MAX))
  {
    srv_reply_bad_field (rq, "comment");
    return;
  }
  err = authn_admin_unlock (rq->db, rq->args[0], rq->admin_username, comment);
  if (err != CORE_OK)
    srv_reply_error (rq, err, CORE_ERR_NOT_FOUND == err
                     ? "no such customer" : NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:s, s:b}", "customer_id", rq->args[0],
                               "locked", 0));
}

void
srv_http_admin_credential_revoke (struct srv_request *rq)
{
  const char *reason = NULL;
  const struct core_json_field fields[] = {
    { .name = "reason", .type = CORE_JSON_STRING, .max_len = 800,
      .out = &reason },
    CORE_JSON_FIELD_END
  };
  char *serial = NULL;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = authn_admin_revoke (rq->db, rq->args[0], reason, rq->admin_username,
                            &serial);
  if (CORE_ERR_INVALID_FIELD == err)
    srv_reply_bad_field (rq, "reason");
  else if (CORE_ERR_WRONG_STATE == err)
    srv_reply_error (rq, err, "this credential is revoked already", NULL);
  else if (CORE_ERR_NOT_FOUND == err)
    srv_reply_error (rq, err, "no such credential", NULL);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:s, s:s, s:s?}", "id", rq->args[0],
                               "state", "revoked", "token_serial", serial));
  free (serial);
}

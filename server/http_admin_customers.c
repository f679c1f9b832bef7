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
 * The admin role and the CSRF header are checked before these run
 * (admin_session.c); authn/tokens_admin.c does the work and writes the
 * audit row in the same transaction.  No answer carries a PIN hash or a
 * seed; a revocation reason is stored and audited, never logged.
 */
#include <stdlib.h>

#include "authn/tokens.h"
#include "authn/transaction.h"
#include "notify/notify.h"
#include "server/handlers.h"

#define ADMIN_TX_LIST 50

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
  enum core_err err = authn_admin_unlock (rq->db, rq->args[0],
                                          rq->admin_username);

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

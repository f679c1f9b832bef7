/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * admin_support.c -- what support staff need around a customer, beyond
 * authn/'s credential view: finding the customer (by id, the bank's
 * reference or e-mail address), the phones bound to them, and their latest
 * verify and resync attempts (authn_audit).  Read only: the changes
 * (unlock, revoke) are authn/'s, audited there.
 *
 * PostgreSQL builds each answer as one JSON document from an allow-list of
 * columns: no PIN hash, seed, public key or assurance code is ever
 * selected.
 */
#include <string.h>

#include "server/admin.h"

#define UTC(col) "to_char(" col " AT TIME ZONE 'UTC'," \
                 " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const struct core_db_stmt support_stmts[] = {
  /* $1 the search text: an id, a reference, or an e-mail address */
  { "support_customer_search",
    "SELECT coalesce(json_agg(x ORDER BY x.created_at DESC), '[]')::text"
    " FROM (SELECT c.id AS customer_id, c.ref, c.reference, k.email,"
    "         coalesce(c.locked_until > now(), false) AS locked,"
    "         (SELECT count(*) FROM credentials r WHERE r.customer_id = c.id"
    "           AND r.state = 'active') AS active_credentials,"
    "         " UTC ("c.created_at") " AS created_at"
    "       FROM customers c"
    "       LEFT JOIN customer_contacts k ON k.customer_id = c.id"
    /* four index lookups (primary key, unique ref, the unique reference
       made for people -- read as typed, groups of digits apart --, and
       lower(email)) */
    "       WHERE c.id IN (SELECT id FROM customers WHERE id = $1"
    "         UNION SELECT id FROM customers WHERE ref = $1"
    "         UNION SELECT id FROM customers"
    "               WHERE reference = translate($1, ' -', '')"
    "         UNION SELECT customer_id FROM customer_contacts"
    "               WHERE email IS NOT NULL AND lower(email) = lower($1))"
    "       ORDER BY c.created_at DESC LIMIT 20) x" },
  { "support_customer_devices",
    "SELECT coalesce(json_agg(x ORDER BY x.created_at DESC), '[]')::text"
    " FROM (SELECT d.id, d.status, d.platform, d.signals->>'model' AS model,"
    "         d.install_id, d.enrolment_id, " UTC ("d.created_at")
    "         AS created_at, " UTC ("d.decided_at") " AS decided_at"
    "       FROM devices d WHERE d.customer_id = $1"
    "       ORDER BY d.created_at DESC LIMIT 50) x" },
  { "support_customer_attempts",
    "SELECT coalesce(json_agg(x ORDER BY x.id DESC), '[]')::text"
    " FROM (SELECT a.id, " UTC ("a.at") " AS at, a.action, a.outcome,"
    "         a.credential_id, a.relying_party, a.client_addr,"
    "         a.attempts_remaining"
    "       FROM authn_audit a WHERE a.customer_id = $1"
    "       ORDER BY a.id DESC LIMIT $2::integer) x" },
  { NULL, NULL }
};

void
srv_admin_support_register_statements (void)
{
  core_db_register (support_stmts);
}

enum core_err
srv_admin_customer_search (struct core_db *db, const char *q, json_t **out)
{
  const char *p[1] = { q };

  return core_db_json_query (db, "support_customer_search", 1, p, out);
}

enum core_err
srv_admin_customer_extra (struct core_db *db, const char *customer_id,
                          json_t *view)
{
  const char *p[2] = { customer_id, "20" };
  json_t *devices = NULL, *attempts = NULL;
  enum core_err err;

  err = core_db_json_query (db, "support_customer_devices", 1, p, &devices);
  if (CORE_OK == err)
    err = core_db_json_query (db, "support_customer_attempts", 2, p,
                              &attempts);
  if (CORE_OK != err)
  {
    json_decref (devices);
    json_decref (attempts);
    return err;
  }
  json_object_set_new (view, "devices", devices);
  json_object_set_new (view, "verify_attempts", attempts);
  return CORE_OK;
}

bool
srv_admin_comment_ok (const char *c, size_t max_chars)
{
  size_t chars = 0;
  bool text = false;

  if (NULL == c)
    return false;
  for (const unsigned char *p = (const unsigned char *) c; '\0' != *p; p++)
  {
    chars += 0x80 != (*p & 0xC0);
    text = text || NULL == strchr (" \t\r\n", *p);
  }
  return text && chars <= max_chars;
}

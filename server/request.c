/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * request.c -- small accessors over the request context: headers, query
 * arguments, and the field-table parse that answers 400 naming the field.
 * Returned strings are borrowed from libmicrohttpd or jansson and live as
 * long as the request.
 */
#include <stdio.h>

#include "server/server.h"

const char *
srv_header (struct srv_request *rq, const char *name)
{
  return MHD_lookup_connection_value (rq->conn, MHD_HEADER_KIND, name);
}

const char *
srv_query (struct srv_request *rq, const char *name)
{
  return MHD_lookup_connection_value (rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool
srv_parse_fields (struct srv_request *rq, const struct core_json_field *fields)
{
  const char *bad = NULL;

  if (CORE_OK == core_json_parse (rq->json, fields, &bad))
    return true;
  srv_reply_bad_field (rq, NULL != bad ? bad : "body");
  return false;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * json.c -- loads request bodies with jansson and checks them against field
 * tables (see json.h).
 *
 * The whole body must be exactly one JSON object, without duplicate keys.
 * core_json_parse() refuses unknown fields, wrong types, over-long strings,
 * strings with an embedded NUL (which C would silently truncate) and
 * integers out of bounds, and names the first bad field.  An optional
 * field given as null counts as absent.  It never copies:
 * outputs borrow from the tree.  Never echo a field's value in an error: it
 * may be a PIN or an OTP.
 */
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_LEN 1024

static __thread char load_why[JSON_ERROR_TEXT_LENGTH + 48];

enum core_err
core_json_load (const char *body, size_t len, json_t **root, const char **why)
{
  json_error_t jerr;
  json_t *v;

  *root = NULL;
  *why = NULL;
  v = json_loadb (body != NULL ? body : "", body != NULL ? len : 0,
                  JSON_REJECT_DUPLICATES, &jerr);
  if (v == NULL)
    {
      snprintf (load_why, sizeof load_why, "%s (at byte %d)", jerr.text,
                jerr.position);
      *why = load_why;
      return CORE_ERR_MALFORMED_JSON;
    }
  if (!json_is_object (v))
    {
      json_decref (v);
      *why = "the body must be a JSON object";
      return CORE_ERR_MALFORMED_JSON;
    }
  *root = v;
  return CORE_OK;
}

static const struct core_json_field *
find_field (const struct core_json_field *fields, const char *name)
{
  for (; fields->type != CORE_JSON_END; fields++)
    if (strcmp (fields->name, name) == 0)
      return fields;
  return NULL;
}

static bool
check_string (const struct core_json_field *f, json_t *v)
{
  size_t max = f->max_len != 0 ? f->max_len : DEFAULT_MAX_LEN;
  size_t len;

  if (!json_is_string (v))
    return false;
  len = json_string_length (v);
  if (len > max || strlen (json_string_value (v)) != len)
    return false;
  *(const char **) f->out = json_string_value (v);
  return true;
}

static bool
check_int (const struct core_json_field *f, json_t *v)
{
  json_int_t n;

  if (!json_is_integer (v))
    return false;
  n = json_integer_value (v);
  if ((f->min != 0 || f->max != 0) && (n < f->min || n > f->max))
    return false;
  *(int64_t *) f->out = (int64_t) n;
  return true;
}

/* Check one present value and store it. @return false if it is bad. */
static bool
check_value (const struct core_json_field *f, json_t *v)
{
  switch (f->type)
    {
    case CORE_JSON_STRING:
      return check_string (f, v);
    case CORE_JSON_INT:
      return check_int (f, v);
    case CORE_JSON_BOOL:
      if (!json_is_boolean (v))
        return false;
      *(bool *) f->out = json_is_true (v);
      return true;
    case CORE_JSON_OBJECT:
      if (!json_is_object (v))
        return false;
      *(json_t **) f->out = v;
      return true;
    case CORE_JSON_ARRAY:
      if (!json_is_array (v))
        return false;
      *(json_t **) f->out = v;
      return true;
    case CORE_JSON_END:
    default:
      return false;
    }
}

enum core_err
core_json_parse (json_t *obj, const struct core_json_field *fields,
                 const char **bad_field)
{
  const char *key;
  json_t *v;

  *bad_field = NULL;
  if (!json_is_object (obj))
    {
      *bad_field = "body";
      return CORE_ERR_INVALID_FIELD;
    }
  json_object_foreach (obj, key, v)
    if (find_field (fields, key) == NULL)
      {
        *bad_field = key;
        return CORE_ERR_INVALID_FIELD;
      }
  for (const struct core_json_field *f = fields; f->type != CORE_JSON_END;
       f++)
    {
      v = json_object_get (obj, f->name);
      if (v != NULL && json_is_null (v) && f->optional)
        v = NULL;               /* an explicit null means "not given" */
      if (f->present != NULL)
        *f->present = v != NULL;
      if (v == NULL ? !f->optional : !check_value (f, v))
        {
          *bad_field = f->name;
          return CORE_ERR_INVALID_FIELD;
        }
    }
  return CORE_OK;
}

char *
core_json_dump (const json_t *v)
{
  if (v == NULL)
    return NULL;
  return json_dumps (v, JSON_COMPACT);
}

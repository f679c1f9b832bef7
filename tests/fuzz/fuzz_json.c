/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * fuzz_json.c -- request bodies as every handler reads them: core_json_load
 * (one JSON object, no duplicate keys) and core_json_parse with field
 * tables (core/json.c) -- the real tables of POST /v1/enrolments and
 * POST /v1/devices/activate (enrol_start_req_parse,
 * enrol_activate_req_parse), and one table that uses every field type and
 * bound.
 *
 * Input: the request body, as the server would receive it.
 *
 * Properties besides "no crash": a loaded body is an object and
 * round-trips through core_json_dump; a table that accepts a body gives
 * every required field, strings within their byte limits with no NUL
 * inside, integers within bounds; a table that refuses names a field.
 */
#include "fuzz.h"

#include <jansson.h>

#include "core/json.h"
#include "enrol/device_step.h"
#include "enrol/enrol.h"

/* A string field as a table promised it: present, within max bytes. */
static void
check_str (const char *s, size_t max, bool required)
{
  if (s == NULL)
    {
      FUZZ_CHECK (!required);
      return;
    }
  FUZZ_CHECK (strlen (s) <= max);
}

static void
enrolment_table (json_t *root)
{
  struct enrol_start_req r = { 0 };
  const struct enrol_applicant *a = &r.applicant;
  const char *bad = NULL;

  if (enrol_start_req_parse (root, &r, &bad) != CORE_OK)
    {
      FUZZ_CHECK (bad != NULL);       /* "" for an unknown key "" */
      return;
    }
  FUZZ_CHECK (bad == NULL);
  check_str (a->given_names, 100, true);
  check_str (a->surname, 100, true);
  check_str (a->birth_date, 10, true);
  check_str (a->nationality, 3, true);
  check_str (a->residence_country, 3, true);
  check_str (a->email, 254, true);
  check_str (a->phone, 32, true);   /* as typed, or its E.164 form */
  check_str (r.mrz, 200, true);
  FUZZ_CHECK (r.on_mismatch == NULL || strcmp (r.on_mismatch, "ask") == 0
              || strcmp (r.on_mismatch, "review") == 0);
}

static void
activation_table (json_t *root)
{
  struct enrol_activate_req r = { 0 };
  const char *bad = NULL;

  if (enrol_activate_req_parse (root, &r, &bad) != CORE_OK)
    {
      FUZZ_CHECK (bad != NULL);
      return;
    }
  check_str (r.challenge_id, 64, true);
  check_str (r.device_public_key, 128, true);
  check_str (r.ecdh_public_key, 128, true);
  check_str (r.proof, 64, true);
  check_str (r.signature, 128, true);
  FUZZ_CHECK (json_is_object (r.device));
}

/* Every type, optional and required, bounded and not. */
static void
generic_table (json_t *obj)
{
  const char *s = NULL, *r = NULL;
  int64_t i = 99, u = 0;
  bool b = false, s_given = true;
  json_t *o = NULL, *a = NULL;
  const struct core_json_field f[] = {
    { .name = "s", .type = CORE_JSON_STRING, .max_len = 8, .optional = true,
      .out = &s, .present = &s_given },
    { .name = "r", .type = CORE_JSON_STRING, .out = &r },
    { .name = "i", .type = CORE_JSON_INT, .min = -5, .max = 5,
      .optional = true, .out = &i },
    { .name = "u", .type = CORE_JSON_INT, .optional = true, .out = &u },
    { .name = "b", .type = CORE_JSON_BOOL, .optional = true, .out = &b },
    { .name = "o", .type = CORE_JSON_OBJECT, .optional = true, .out = &o },
    { .name = "a", .type = CORE_JSON_ARRAY, .optional = true, .out = &a },
    CORE_JSON_FIELD_END
  };
  const char *bad = NULL;

  if (core_json_parse (obj, f, &bad) != CORE_OK)
    {
      FUZZ_CHECK (bad != NULL);
      return;
    }
  FUZZ_CHECK (bad == NULL);
  check_str (r, 1024, true);
  FUZZ_CHECK (s_given == (s != NULL));
  check_str (s, 8, false);
  FUZZ_CHECK (i == 99 || (i >= -5 && i <= 5));
  FUZZ_CHECK (o == NULL || json_is_object (o));
  FUZZ_CHECK (a == NULL || json_is_array (a));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  json_t *root = NULL, *again = NULL, *v;
  const char *why = NULL, *key;
  char *text;

  if (core_json_load ((const char *) data, size, &root, &why) != CORE_OK)
    {
      FUZZ_CHECK (root == NULL && why != NULL);
      return 0;
    }
  FUZZ_CHECK (json_is_object (root));
  text = core_json_dump (root);
  FUZZ_CHECK (text != NULL);
  FUZZ_CHECK (core_json_load (text, strlen (text), &again, &why) == CORE_OK);
  FUZZ_CHECK (json_equal (root, again));
  free (text);
  json_decref (again);

  enrolment_table (root);
  activation_table (root);
  generic_table (root);
  json_object_foreach (root, key, v)
    if (json_is_object (v))
      generic_table (v);
  json_decref (root);
  return 0;
}

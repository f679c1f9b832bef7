/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_assist.c -- unit tests of enrol/assist.c's input rules: the scopes
 * an applicant may tick and the text an advisor may send as a hint.  The
 * rest of assisted enrolment lives in the database and is tested over
 * HTTP (tests/api/test_assist.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "enrol/assist.h"

#define UNUSED __attribute__ ((unused))

static int
parse (const char *json, unsigned int *scopes)
{
  json_t *v = json_loads (json, JSON_DECODE_ANY, NULL);
  int rc;

  assert_non_null (v);
  rc = enrol_assist_scopes_parse (v, scopes);
  json_decref (v);
  return rc;
}

static void
test_scopes (void **state UNUSED)
{
  unsigned int s = 0;
  char *text;
  json_t *names;

  assert_int_equal (parse ("[]", &s), 0);
  assert_int_equal (s, ENROL_ASSIST_PROGRESS);
  assert_int_equal (parse ("[\"device\", \"identity\"]", &s), 0);
  assert_int_equal (s, ENROL_ASSIST_PROGRESS | ENROL_ASSIST_IDENTITY
                    | ENROL_ASSIST_DEVICE);
  assert_int_equal (parse ("[\"progress\"]", &s), 0);
  assert_int_equal (s, ENROL_ASSIST_PROGRESS);
  /* unknown, repeated, not strings, not an array, too many */
  assert_int_equal (parse ("[\"pin\"]", &s), -1);
  assert_int_equal (parse ("[\"identity\", \"identity\"]", &s), -1);
  assert_int_equal (parse ("[\"progress\", \"progress\"]", &s), -1);
  assert_int_equal (parse ("[1]", &s), -1);
  assert_int_equal (parse ("\"identity\"", &s), -1);
  assert_int_equal (parse ("[\"Identity\"]", &s), -1);
  assert_int_equal (parse ("[\"progress\", \"identity\", \"device\", "
                           "\"device\"]", &s), -1);
  /* shown in a fixed order */
  names = enrol_assist_scopes_json (ENROL_ASSIST_DEVICE | ENROL_ASSIST_PROGRESS);
  text = json_dumps (names, JSON_COMPACT);
  assert_string_equal (text, "[\"progress\",\"device\"]");
  free (text);
  json_decref (names);
}

static void
test_hint_text (void **state UNUSED)
{
  char long_ok[2 * ENROL_ASSIST_HINT_MAX + 1];
  char too_long[ENROL_ASSIST_HINT_MAX + 2];

  assert_true (enrol_assist_hint_text_ok ("Scan the code with the app."));
  assert_true (enrol_assist_hint_text_ok ("« Ajouter ce téléphone » — 😀"));
  assert_false (enrol_assist_hint_text_ok (""));
  assert_false (enrol_assist_hint_text_ok ("   "));
  assert_false (enrol_assist_hint_text_ok ("\xc2\xa0"));       /* NBSP only */
  assert_false (enrol_assist_hint_text_ok ("two\nlines"));
  assert_false (enrol_assist_hint_text_ok ("tab\there"));
  assert_false (enrol_assist_hint_text_ok ("del\x7f"));
  assert_false (enrol_assist_hint_text_ok ("c1\xc2\x85"));     /* U+0085 */
  assert_false (enrol_assist_hint_text_ok ("rlo\xe2\x80\xae"));  /* U+202E */
  assert_false (enrol_assist_hint_text_ok ("lri\xe2\x81\xa6"));  /* U+2066 */
  assert_false (enrol_assist_hint_text_ok ("zw\xe2\x80\x8b"));   /* U+200B */
  assert_false (enrol_assist_hint_text_ok ("bom\xef\xbb\xbf"));  /* U+FEFF */
  assert_false (enrol_assist_hint_text_ok ("alm\xd8\x9c"));      /* U+061C */
  /* 280 characters, counted as characters, not bytes */
  for (int i = 0; i < ENROL_ASSIST_HINT_MAX; i++)
    memcpy (long_ok + 2 * i, "\xc3\xa9", 2);
  long_ok[2 * ENROL_ASSIST_HINT_MAX] = '\0';
  assert_true (enrol_assist_hint_text_ok (long_ok));
  memset (too_long, 'x', sizeof too_long - 1);
  too_long[sizeof too_long - 1] = '\0';
  assert_false (enrol_assist_hint_text_ok (too_long));
  too_long[sizeof too_long - 2] = '\0';
  assert_true (enrol_assist_hint_text_ok (too_long));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_scopes),
    cmocka_unit_test (test_hint_text),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}

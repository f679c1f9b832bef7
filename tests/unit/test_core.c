/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_core.c -- unit tests of the rest of core/: the error registry,
 * logging, JSON field tables and configuration loading.  Crypto and codecs
 * are in test_crypto.c.
 *
 * db.c and migrate.c need a PostgreSQL server: the API tests cover them.
 * These tests write only under a mkdtemp() folder and never touch var/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/ratelimit.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "tests/unit/tmpdir.h"

/* ================================================================
 * Errors and logging
 * ================================================================ */

static void
test_error_table (void **state UNUSED)
{
  assert_string_equal (core_err_name (CORE_OK), "ok");
  assert_int_equal (core_err_status (CORE_OK), 200);
  for (int i = 0; i < CORE_ERR_COUNT; i++)
    {
      const struct core_err_info *e = core_err_info ((enum core_err) i);

      assert_non_null (e->name);
      assert_non_null (e->hint);
      assert_in_range (e->http_status, 200, 599);
      for (int j = 0; j < i; j++)
        assert_string_not_equal (e->name,
                                 core_err_name ((enum core_err) j));
    }
  assert_string_equal (core_err_name (CORE_ERR_OTP_INVALID), "otp_invalid");
  assert_int_equal (core_err_status (CORE_ERR_LOCKED), 423);
  assert_int_equal (core_err_status (CORE_ERR_DATABASE_UNAVAILABLE), 503);
  assert_string_equal (core_err_name ((enum core_err) 9999),
                       "internal_error");
}

static void
test_log (void **state UNUSED)
{
  enum core_log_level lvl;

  assert_int_equal (core_log_parse_level ("warn", &lvl), 0);
  assert_int_equal (lvl, CORE_LOG_WARN);
  assert_int_equal (core_log_parse_level ("loud", &lvl), -1);
  assert_string_equal (core_log_request_id (), "-");
  core_log_set_request_id ("req\n1 INFO forged");
  assert_null (strchr (core_log_request_id (), '\n'));
  core_log_set_request_id (NULL);
  assert_string_equal (core_log_request_id (), "-");
}
/* ================================================================
 * JSON field tables
 * ================================================================ */

struct person {
  const char *name, *note;
  int64_t age;
  bool ok, note_given;
  json_t *tags;
};

static enum core_err
parse_person (const char *body, struct person *p, const char **bad)
{
  const struct core_json_field fields[] = {
    { .name = "name", .type = CORE_JSON_STRING, .max_len = 8,
      .out = &p->name },
    { .name = "age", .type = CORE_JSON_INT, .min = 0, .max = 150,
      .out = &p->age },
    { .name = "ok", .type = CORE_JSON_BOOL, .out = &p->ok },
    { .name = "note", .type = CORE_JSON_STRING, .optional = true,
      .out = &p->note, .present = &p->note_given },
    { .name = "tags", .type = CORE_JSON_ARRAY, .optional = true,
      .out = &p->tags },
    CORE_JSON_FIELD_END
  };
  static json_t *root;
  const char *why;
  enum core_err e;

  json_decref (root);
  memset (p, 0, sizeof *p);
  e = core_json_load (body, strlen (body), &root, &why);
  if (e != CORE_OK)
    return e;
  return core_json_parse (root, fields, bad);
}

static void
expect_bad (const char *body, const char *field)
{
  struct person p;
  const char *bad = NULL;

  assert_int_equal (parse_person (body, &p, &bad), CORE_ERR_INVALID_FIELD);
  assert_non_null (bad);
  assert_string_equal (bad, field);
}

static void
test_json_ok (void **state UNUSED)
{
  struct person p;
  const char *bad = "x";

  assert_int_equal (parse_person ("{\"name\":\"anna\",\"age\":42,"
                                  "\"ok\":true,\"tags\":[1]}", &p, &bad),
                    CORE_OK);
  assert_null (bad);
  assert_string_equal (p.name, "anna");
  assert_int_equal (p.age, 42);
  assert_true (p.ok);
  assert_false (p.note_given);
  assert_null (p.note);
  assert_true (json_is_array (p.tags));
  assert_int_equal (parse_person ("{\"name\":\"12345678\",\"age\":0,"
                                  "\"ok\":false,\"note\":\"n\"}", &p, &bad),
                    CORE_OK);
  assert_true (p.note_given);
  assert_string_equal (p.note, "n");
  assert_int_equal (parse_person ("{\"name\":\"a\",\"age\":150,\"ok\":false,"
                                  "\"note\":null}", &p, &bad), CORE_OK);
  assert_false (p.note_given);
}

static void
test_json_bad_fields (void **state UNUSED)
{
  expect_bad ("{\"age\":1,\"ok\":true}", "name");
  expect_bad ("{\"name\":\"a\",\"age\":1,\"ok\":true,\"extra\":1}", "extra");
  expect_bad ("{\"name\":1,\"age\":1,\"ok\":true}", "name");
  expect_bad ("{\"name\":\"a\",\"age\":\"1\",\"ok\":true}", "age");
  expect_bad ("{\"name\":\"a\",\"age\":1.5,\"ok\":true}", "age");
  expect_bad ("{\"name\":\"a\",\"age\":1,\"ok\":1}", "ok");
  expect_bad ("{\"name\":\"a\",\"age\":1,\"ok\":null}", "ok");
  expect_bad ("{\"name\":\"a\",\"age\":1,\"ok\":true,\"tags\":{}}", "tags");
  expect_bad ("{\"name\":\"123456789\",\"age\":1,\"ok\":true}", "name");
  expect_bad ("{\"name\":\"a\",\"age\":151,\"ok\":true}", "age");
  expect_bad ("{\"name\":\"a\",\"age\":-1,\"ok\":true}", "age");
}

static void
test_json_nul (void **state UNUSED)
{
  const char *s = NULL, *bad, *why;
  const struct core_json_field fields[] = {
    { .name = "s", .type = CORE_JSON_STRING, .out = &s },
    CORE_JSON_FIELD_END
  };
  static const char body[] = "{\"s\":\"a\\u0000b\"}";
  json_t *o;

  /* jansson refuses \u0000 unless JSON_ALLOW_NUL ... */
  assert_int_equal (core_json_load (body, strlen (body), &o, &why),
                    CORE_ERR_MALFORMED_JSON);
  /* ... and the field check refuses it anyway, for trees built otherwise */
  o = json_object ();
  json_object_set_new (o, "s", json_stringn ("a\0b", 3));
  assert_int_equal (core_json_parse (o, fields, &bad), CORE_ERR_INVALID_FIELD);
  assert_string_equal (bad, "s");
  assert_null (s);
  json_decref (o);
}

static void
test_json_default_len (void **state UNUSED)
{
  const char *s = NULL, *bad;
  const struct core_json_field fields[] = {
    { .name = "s", .type = CORE_JSON_STRING, .out = &s },
    CORE_JSON_FIELD_END
  };
  json_t *o = json_object ();
  char *big = malloc (1026);

  memset (big, 'x', 1025);
  big[1025] = '\0';
  json_object_set_new (o, "s", json_string (big));
  assert_int_equal (core_json_parse (o, fields, &bad), CORE_ERR_INVALID_FIELD);
  assert_string_equal (bad, "s");
  big[1024] = '\0';
  json_object_set_new (o, "s", json_string (big));
  assert_int_equal (core_json_parse (o, fields, &bad), CORE_OK);
  assert_int_equal (strlen (s), 1024);
  json_decref (o);
  free (big);
}

static void
test_json_load (void **state UNUSED)
{
  static const char *const bad[] = {
    "{\"a\":1,\"a\":2}", "[1]", "\"s\"", "", "{", "{} x", "{}{}", "nul",
  };
  const struct core_json_field none[] = { CORE_JSON_FIELD_END };
  json_t *root = (json_t *) 1;
  const char *why = NULL, *badf = NULL;
  char *dump;

  for (size_t i = 0; i < N (bad); i++)
    {
      assert_int_equal (core_json_load (bad[i], strlen (bad[i]), &root, &why),
                        CORE_ERR_MALFORMED_JSON);
      assert_null (root);
      assert_non_null (why);
    }
  assert_int_equal (core_json_load (" {\"b\": [1, true]} \n", 19, &root,
                                    &why), CORE_OK);
  dump = core_json_dump (root);
  assert_string_equal (dump, "{\"b\":[1,true]}");
  free (dump);
  assert_int_equal (core_json_parse (root, none, &badf),
                    CORE_ERR_INVALID_FIELD);
  assert_string_equal (badf, "b");
  json_decref (root);
  root = json_array ();
  assert_int_equal (core_json_parse (root, none, &badf),
                    CORE_ERR_INVALID_FIELD);
  assert_string_equal (badf, "body");
  json_decref (root);
}
/* ================================================================
 * Configuration
 * ================================================================ */

static void
clear_env (void)
{
  static const char *const vars[] = {
    "GUICHET_CONFIG", "GUICHET_LISTEN", "GUICHET_WORKERS",
    "GUICHET_DATABASE_URL", "GUICHET_MAX_BODY", "GUICHET_LOG_LEVEL",
    "GUICHET_LOCKOUT_ATTEMPTS", "GUICHET_MIGRATIONS_DIR",
    "GUICHET_RATE_PIN_PER_ENROLMENT", "GUICHET_LOCKOUT_BASE_S",
    "GUICHET_LOCKOUT_MAX_S", "GUICHET_RETENTION_NONCES_S",
  };

  for (size_t i = 0; i < N (vars); i++)
    unsetenv (vars[i]);
}

static void
test_config_defaults (void **state UNUSED)
{
  struct core_config c;
  char err[256];

  clear_env ();
  assert_int_equal (core_config_load (NULL, &c, err, sizeof err), 0);
  assert_string_equal (c.listen, "127.0.0.1:8080");
  assert_string_equal (c.database_url, "");
  assert_string_equal (c.master_key_file, "var/master.key");
  assert_int_equal (c.workers, 16);
  assert_int_equal (c.max_body, 65536);
  assert_int_equal (c.lockout_attempts, 5);
  assert_int_equal (c.totp_window, 1);
  assert_int_equal (c.hotp_lookahead, 10);
  assert_int_equal (c.resync_window, 1000);
  assert_int_equal (c.argon2_m_kib, 19456);
  assert_int_equal (c.argon2_t, 2);
  assert_int_equal (c.argon2_p, 1);
  assert_string_equal (c.log_level, "info");
  assert_string_equal (c.sanctions_dir, "");
  assert_int_equal (c.enrolment_ttl_s, 86400);
  assert_int_equal (c.session_idle_s, 300);
  assert_int_equal (c.challenge_ttl_s, 180);
  assert_non_null (strstr (c.migrations_dir, "migrations"));
  core_config_free (&c);
  assert_null (c.listen);
}

static void
test_config_file_and_env (void **state UNUSED)
{
  const char *path = write_file ("guichet.conf",
                                 "# Guichet\n\n"
                                 "listen = 0.0.0.0:9000\n"
                                 "  workers=4   # four\n"
                                 "database_url = \"postgresql:///g #1\"\n"
                                 "log_level = debug\n", 0600);
  struct core_config c;
  char err[256];

  clear_env ();
  assert_int_equal (core_config_load (path, &c, err, sizeof err), 0);
  assert_string_equal (c.listen, "0.0.0.0:9000");
  assert_int_equal (c.workers, 4);
  assert_string_equal (c.database_url, "postgresql:///g #1");
  assert_string_equal (c.log_level, "debug");
  assert_int_equal (c.lockout_attempts, 5);
  core_config_free (&c);

  setenv ("GUICHET_WORKERS", "32", 1);
  setenv ("GUICHET_DATABASE_URL", "host=/tmp dbname=x", 1);
  assert_int_equal (core_config_load (path, &c, err, sizeof err), 0);
  assert_int_equal (c.workers, 32);
  assert_string_equal (c.database_url, "host=/tmp dbname=x");
  assert_string_equal (c.listen, "0.0.0.0:9000");
  core_config_free (&c);

  clear_env ();
  setenv ("GUICHET_CONFIG", path, 1);
  assert_int_equal (core_config_load (NULL, &c, err, sizeof err), 0);
  assert_int_equal (c.workers, 4);
  core_config_free (&c);
  clear_env ();
}

static void
expect_config_error (const char *text, const char *env, const char *value,
                     const char *needle)
{
  const char *path = write_file ("bad.conf", text, 0600);
  struct core_config c;
  char err[256] = "";

  clear_env ();
  if (env != NULL)
    setenv (env, value, 1);
  assert_int_equal (core_config_load (path, &c, err, sizeof err), -1);
  assert_non_null (strstr (err, needle));
  assert_null (c.listen);
  clear_env ();
}

static void
test_config_errors (void **state UNUSED)
{
  expect_config_error ("listen = x\nbogus = 1\n", NULL, NULL, "bogus");
  expect_config_error ("listen = x\nbogus = 1\n", NULL, NULL, ":2:");
  expect_config_error ("just words\n", NULL, NULL, ":1:");
  expect_config_error ("workers = 0\n", NULL, NULL, "workers");
  expect_config_error ("workers = 257\n", NULL, NULL, "workers");
  expect_config_error ("max_body = -5\n", NULL, NULL, "max_body");
  expect_config_error ("argon2_m_kib = 4\n", NULL, NULL, "argon2_m_kib");
  expect_config_error ("lockout_attempts = 5x\n", NULL, NULL,
                       "lockout_attempts");
  expect_config_error ("", "GUICHET_WORKERS", "abc", "workers");
  expect_config_error ("", "GUICHET_WORKERS", "", "workers");
  expect_config_error ("", "GUICHET_LOCKOUT_ATTEMPTS", "1000",
                       "lockout_attempts");
  expect_config_error ("log_level = loud\n", NULL, NULL, "log_level");
  expect_config_error ("lockout_base_s = 900\nlockout_max_s = 60\n", NULL, NULL,
                       "lockout_max_s");
  expect_config_error ("retention_nonces_s = 60\n", NULL, NULL,
                       "retention_nonces_s");
  /* What the enrolment page shows: each message whole. */
  expect_config_error ("legal_url = https://bank.example/a b\n", NULL, NULL,
                       "legal_url: must be an http:// or https:// URL "
                       "(at most 512 characters, no blanks or quotes)");
  expect_config_error ("contact_email = nobody\n", NULL, NULL,
                       "contact_email: must be an e-mail address");
  expect_config_error ("app_name = \"\"\n", NULL, NULL,
                       "app_name, contact_phone, contact_hours: one line of "
                       "text (app_name 1 to 40 characters, contact_phone 40, "
                       "contact_hours 120)");
  expect_config_error ("contact_phone = 01234567890123456789012345678901234567"
                       "890\n", NULL, NULL, "contact_hours 120)");
}

/* Rate limits: "COUNT/PERIOD" with a unit or seconds, or off. */
static void
test_config_rates (void **state UNUSED)
{
  static const struct {
    const char *text;
    unsigned int count, period;
  } good[] = {
    { "20/h", 20, 3600 }, { "5/10m", 5, 600 }, { "1000/s", 1000, 1 },
    { "3/90", 3, 90 }, { "7/2d", 7, 172800 }, { "1/30d", 1, 2592000 },
    { "off", 0, 0 }, { "0", 0, 0 }, { "1000000/s", 1000000, 1 },
  };
  static const char *const bad[] = {
    "20", "0/h", "20/", "20/x", "20/31d", "20/h5", "-1/h", "1000001/s",
    "20/0", "20/0s", "/h", "twenty/h", "20 /h", "20/ h", "",
  };
  const char *path = write_file ("rates.conf", "", 0600);
  struct core_config c;
  char err[256];

  clear_env ();
  assert_int_equal (core_config_load (NULL, &c, err, sizeof err), 0);
  assert_int_equal (c.rate_enrolment_per_address.count, 20);
  assert_int_equal (c.rate_enrolment_per_address.period_s, 3600);
  assert_int_equal (c.rate_verify_per_customer.count, 12);
  assert_int_equal (c.rate_verify_per_customer.period_s, 60);
  assert_int_equal (c.rate_verify_per_api_key.count, 1000);
  assert_int_equal (c.rate_verify_per_api_key.period_s, 1);
  assert_int_equal (c.rate_activation_per_challenge.period_s, 600);
  assert_int_equal (c.lockout_base_s, 900);
  assert_int_equal (c.lockout_max_s, 86400);
  assert_int_equal (c.lockout_permanent, 0);
  assert_int_equal (c.max_connections_per_address, 64);
  assert_int_equal (c.header_timeout_s, 10);
  assert_int_equal (c.purge_interval_s, 60);
  assert_int_equal (c.retention_nonces_s, 600);
  core_config_free (&c);
  for (size_t i = 0; i < N (good); i++)
    {
      setenv ("GUICHET_RATE_PIN_PER_ENROLMENT", good[i].text, 1);
      assert_int_equal (core_config_load (path, &c, err, sizeof err), 0);
      assert_int_equal (c.rate_pin_per_enrolment.count, good[i].count);
      assert_int_equal (c.rate_pin_per_enrolment.period_s, good[i].period);
      core_config_free (&c);
    }
  for (size_t i = 0; i < N (bad); i++)
    {
      setenv ("GUICHET_RATE_PIN_PER_ENROLMENT", bad[i], 1);
      assert_int_equal (core_config_load (path, &c, err, sizeof err), -1);
      assert_non_null (strstr (err, "rate_pin_per_enrolment"));
    }
  unsetenv ("GUICHET_RATE_PIN_PER_ENROLMENT");
}

/* The key of a client address in per-address limits. */
static void
test_rate_addr_key (void **state UNUSED)
{
  static const char *const cases[][2] = {
    { "203.0.113.7", "203.0.113.7" },
    { "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64" },
    { "2001:db8:1:2::ffff", "2001:db8:1:2::/64" },
    { "::ffff:192.0.2.1", "192.0.2.1" },
    { "::1", "::/64" },
    { "unknown", "unknown" },
    { "", "unknown" },
  };
  char key[CORE_RATE_KEY_LEN];

  for (size_t i = 0; i < N (cases); i++)
    {
      core_rate_addr_key (cases[i][0], key);
      assert_string_equal (key, cases[i][1]);
    }
}

/* GCRA parameters and sampling of a limit. */
static void
test_rate_params (void **state UNUSED)
{
  const struct core_rate per_min = { 12, 60 }, per_s = { 1000, 1 };
  const struct core_rate mid = { 100, 1 }, off = { 0, 0 };
  char a[CORE_RATE_PARAM_LEN], b[CORE_RATE_PARAM_LEN];

  assert_true (core_rate_gcra (&per_min, a, b));
  assert_string_equal (a, "5.000000");
  assert_string_equal (b, "55.000000");
  assert_false (core_rate_gcra (&off, a, b));
  assert_int_equal (core_rate_sampled (&per_min, a, b), 1);
  assert_string_equal (a, "5.000000");
  assert_string_equal (b, "1.000000");
  assert_int_equal (core_rate_sampled (&mid, a, b), 3);
  assert_string_equal (a, "0.030000");
  assert_int_equal (core_rate_sampled (&per_s, a, b), 16);
  assert_string_equal (a, "0.016000");
  assert_string_equal (b, "0.062500");
  assert_int_equal (core_rate_sampled (&off, a, b), 0);
  core_rate_params (&per_min, a, b);
  assert_string_equal (a, "12");
  assert_string_equal (b, "60");
}
int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_error_table),
    cmocka_unit_test (test_log),
    cmocka_unit_test (test_json_ok),
    cmocka_unit_test (test_json_bad_fields),
    cmocka_unit_test (test_json_nul),
    cmocka_unit_test (test_json_default_len),
    cmocka_unit_test (test_json_load),
    cmocka_unit_test (test_config_defaults),
    cmocka_unit_test (test_config_file_and_env),
    cmocka_unit_test (test_config_errors),
    cmocka_unit_test (test_config_rates),
    cmocka_unit_test (test_rate_addr_key),
    cmocka_unit_test (test_rate_params),
  };

  return cmocka_run_group_tests (tests, tmpdir_setup, tmpdir_teardown);
}

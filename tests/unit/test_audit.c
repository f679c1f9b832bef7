/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_audit.c -- unit tests of core/audit.c's hash chain: the canonical
 * JSON of details and the row hash, against vectors computed independently
 * with Python's hashlib (details canonical as jansson writes them: sorted
 * keys, compact, non-ASCII as \uXXXX with upper-case hex):
 *
 *   ns(x)  = str(len(x)) + ":" + x + ","
 *   hash   = sha256(prev + ns(id) + ns(at) + ns(actor) + ns(action)
 *                   + ns(target) + ns(details))
 *
 * Appending and verifying need PostgreSQL: tests/api/test_admin.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/audit.h"

static const char canon1[] =
  "{\"a\":\"\\u00E9\",\"b\":1,\"c\":[true,null,1.5]}";
static const char hash1[] =
  "77a665d7f2fd7213c273a2831804dcde2935d0616b0c4262154fd5a951f41353";
static const char hash2[] =
  "089095c869de1ad7558ee7b1020927f4ee1cd745d418e19a774506fa98f0addc";

static void
test_canonical_details (void **state)
{
  json_t *d = json_loads ("{\"c\":[true,null,1.5],\"b\":1,\"a\":\"\xc3\xa9\"}",
                          0, NULL);
  char *c = core_audit_canonical (d);

  (void) state;
  assert_non_null (c);
  assert_string_equal (c, canon1);
  free (c);
  json_decref (d);
}

static void
test_chain_vectors (void **state)
{
  uint8_t zero[CORE_SHA256_LEN] = { 0 };
  uint8_t h1[CORE_SHA256_LEN], h2[CORE_SHA256_LEN];
  char hex[2 * CORE_SHA256_LEN + 1];

  (void) state;
  core_audit_hash (zero, "1", "2026-01-02T03:04:05.123456Z", "alice",
                   "review.approve", "rev_x", canon1, h1);
  core_hex_encode (h1, sizeof h1, hex);
  assert_string_equal (hex, hash1);
  core_audit_hash (h1, "2", "2026-01-02T03:04:06.000001Z", "system",
                   "admin.create", "bob", "{}", h2);
  core_hex_encode (h2, sizeof h2, hex);
  assert_string_equal (hex, hash2);
}

static void
test_every_field_counts (void **state)
{
  uint8_t zero[CORE_SHA256_LEN] = { 0 };
  uint8_t base[CORE_SHA256_LEN], h[CORE_SHA256_LEN];
  const char *f[6] = { "1", "2026-01-02T03:04:05.123456Z", "alice",
                       "review.approve", "rev_x", "{}" };

  (void) state;
  core_audit_hash (zero, f[0], f[1], f[2], f[3], f[4], f[5], base);
  /* netstrings: moving a character from one field to the next changes
     the hash, so fields cannot be re-split */
  core_audit_hash (zero, f[0], f[1], "alic", "ereview.approve", f[4], f[5], h);
  assert_memory_not_equal (base, h, sizeof h);
  for (int i = 0; i < 6; i++)
    {
      const char *g[6];

      memcpy (g, f, sizeof g);
      g[i] = "x";
      core_audit_hash (zero, g[0], g[1], g[2], g[3], g[4], g[5], h);
      assert_memory_not_equal (base, h, sizeof h);
    }
  zero[31] = 1;
  core_audit_hash (zero, f[0], f[1], f[2], f[3], f[4], f[5], h);
  assert_memory_not_equal (base, h, sizeof h);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_canonical_details),
    cmocka_unit_test (test_chain_vectors),
    cmocka_unit_test (test_every_field_counts),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}

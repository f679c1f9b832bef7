/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_risk.c -- unit tests of risk/: every rule and the score arithmetic
 * on hand-filled facts (no database), the rules file parser and its error
 * lines, the country and version helpers, GeoIP look-ups against MaxMind's
 * test databases in ../shared/data/geoip (checked network by network
 * against the JSON they were built from), and reloads racing scorings.
 *
 * The history SQL runs against a real PostgreSQL in the API tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#if __has_include("guichet_build.h")
#include "guichet_build.h"
#endif
#include "core/log.h"
#include "risk/risk_int.h"

static uint8_t key[RISK_DEVICE_KEY_LEN] = { 0x04, 0x11, 0x22 };

/* ============================================================ fixtures */

struct fx {
  struct risk_rules rules;
  struct risk_input in;
  struct risk_facts f;
  struct risk_result r;
};

/* A clean French phone in France; @a x must be zeroed or cleaned before. */
static void
clean (struct fx *x)
{
  risk_result_free (&x->r);
  memset (x, 0, sizeof *x);
  risk_rules_defaults (&x->rules);
  x->in = (struct risk_input) {
    .enrolment_id = "enr_1", .challenge_id = "ch_1", .device_key = key,
    .phone_addr = "192.0.2.10", .browser_addr = "192.0.2.20",
    .residence_country = "FRA",
    .device = { .platform = "android", .os_version = "14",
                .model = "Pixel 8", .app_version = "1.0.0",
                .install_id = "inst-1", .sim_country = "FR",
                .locale = "fr-FR", .timezone = "Europe/Paris" } };
  x->f.in = &x->in;
  x->f.residence = "FRA";
  x->f.country_db = x->f.anonymous_db = true;
  x->f.phone = (struct risk_geo) { .cls = RISK_ADDR_PUBLIC,
                                   .country_known = true, .country = "FR",
                                   .anon_known = true };
  x->f.browser = x->f.phone;
}

static void
eval (struct fx *x)
{
  risk_result_free (&x->r);
  assert_int_equal (risk_evaluate (&x->rules, &x->f, &x->r), 0);
}

/* Assert the reasons are exactly the NULL-terminated list. */
static void
expect (struct fx *x, int score, enum risk_decision d, ...)
{
  va_list ap;
  size_t n = 0;

  eval (x);
  va_start (ap, d);
  for (const char *c = va_arg (ap, const char *); NULL != c;
       c = va_arg (ap, const char *), n++)
    {
      json_t *s = json_array_get (x->r.reasons, n);

      assert_non_null (s);
      assert_string_equal (json_string_value (s), c);
    }
  va_end (ap);
  assert_int_equal (json_array_size (x->r.reasons), n);
  assert_int_equal (x->r.score, score);
  assert_int_equal (x->r.decision, d);
}

static json_t *
signal (struct fx *x, const char *code)
{
  json_t *s = json_object_get (x->r.signals, code);

  assert_non_null (s);
  return s;
}

/* ======================================================= single rules */

static void
test_clean_allows (void **state)
{
  struct fx x = { 0 };

  (void) state;
  clean (&x);
  expect (&x, 0, RISK_ALLOW, NULL);
  /* every rule is reported, fired or not, with its value */
  assert_int_equal (json_object_size (x.r.signals), RISK_R_COUNT);
  for (int r = 0; r < RISK_R_COUNT; r++)
    assert_non_null (json_object_get (signal (&x, risk_rule_code (r)),
                                      "value"));
  assert_string_equal (x.r.ruleset_version, x.rules.version);
  risk_result_free (&x.r);
}

static void
test_device_rules (void **state)
{
  struct fx x = { 0 };
  json_t *s;

  (void) state;
  clean (&x);
  x.in.device.rooted = true;
  expect (&x, 30, RISK_ALLOW, "rooted", NULL);
  s = signal (&x, "rooted");
  assert_int_equal (json_integer_value (json_object_get (s, "weight")), 30);
  assert_non_null (strstr (json_string_value (json_object_get (
                     s, "explanation")), "rooted"));
  clean (&x);
  x.in.device.emulator = true;          /* emulator alone -> review */
  expect (&x, 40, RISK_REVIEW, "emulator", NULL);
  clean (&x);
  x.in.device.debugger = true;
  expect (&x, 20, RISK_ALLOW, "debugger", NULL);
  clean (&x);
  x.in.device.hooking = true;
  expect (&x, 30, RISK_ALLOW, "hooking", NULL);
  risk_result_free (&x.r);
}

static void
test_version_rules (void **state)
{
  struct fx x = { 0 };

  (void) state;
  clean (&x);
  x.in.device.os_version = "9";
  expect (&x, 15, RISK_ALLOW, "os_outdated", NULL);
  x.in.device.os_version = "not-a-version";     /* cannot hide by garbage */
  expect (&x, 15, RISK_ALLOW, "os_outdated", NULL);
  x.in.device.os_version = NULL;
  expect (&x, 15, RISK_ALLOW, "os_outdated", NULL);
  x.in.device.platform = "iOS";
  x.in.device.os_version = "17.4.1";
  expect (&x, 0, RISK_ALLOW, NULL);
  x.in.device.os_version = "14.8";
  expect (&x, 15, RISK_ALLOW, "os_outdated", NULL);
  x.in.device.platform = "kaios";               /* no minimum: skipped */
  expect (&x, 0, RISK_ALLOW, NULL);
  assert_non_null (json_object_get (signal (&x, "os_outdated"), "skipped"));
  clean (&x);
  x.in.device.app_version = "0.9.3";
  expect (&x, 10, RISK_ALLOW, "app_outdated", NULL);
  x.in.device.app_version = "1.0.0-rc1";
  expect (&x, 0, RISK_ALLOW, NULL);
  risk_result_free (&x.r);
}

/* The web app (web/app/, docs/app.md): platform "web", no OS version,
   model or SIM, and the four integrity flags not reported. */
static void
web_app (struct fx *x)
{
  clean (x);
  x->in.device = (struct risk_device) {
    .platform = "web", .app_version = "1.0.0", .install_id = "inst-web",
    .rooted_unknown = true, .emulator_unknown = true,
    .debugger_unknown = true, .hooking_unknown = true,
    .locale = "fr-FR", .timezone = "Europe/Paris" };
}

static void
test_web_app (void **state)
{
  static const char *const flags[] = { "rooted", "emulator", "debugger",
                                       "hooking" };
  struct fx x = { 0 };
  json_t *inputs, *dev;

  (void) state;
  web_app (&x);
  expect (&x, 20, RISK_ALLOW, "web_app", NULL);
  /* what it cannot know is skipped, not taken as "false" */
  for (size_t i = 0; i < 4; i++)
    {
      assert_non_null (json_object_get (signal (&x, flags[i]), "skipped"));
      assert_true (json_is_false (json_object_get (signal (&x, flags[i]),
                                                   "fired")));
    }
  assert_non_null (json_object_get (signal (&x, "os_outdated"), "skipped"));
  assert_non_null (json_object_get (signal (&x, "sim_ip_country_mismatch"),
                                    "skipped"));
  inputs = risk_facts_json (&x.f);
  dev = json_object_get (inputs, "device");
  assert_true (json_is_null (json_object_get (dev, "rooted")));
  assert_true (json_is_null (json_object_get (dev, "os_version")));
  json_decref (inputs);
  /* an unknown phone on an anonymising network: possibly modified */
  x.f.phone.vpn = x.f.phone.anonymous = true;
  expect (&x, 50, RISK_REVIEW, "web_app", "anonymous_vpn",
          "compromised_device_on_anonymous_network", NULL);
  assert_non_null (strstr (json_string_value (json_object_get (
    signal (&x, "compromised_device_on_anonymous_network"), "explanation")),
                           "possibly modified"));
  x.f.phone.vpn = false;
  x.f.phone.hosting = true;
  expect (&x, 45, RISK_REVIEW, "web_app", "hosting_provider",
          "compromised_device_on_anonymous_network", NULL);
  /* a native app that reports its flags is scored as before */
  clean (&x);
  x.in.device.platform = "WEB";
  expect (&x, 20, RISK_ALLOW, "web_app", NULL);
  clean (&x);
  x.f.phone.vpn = x.f.phone.anonymous = true;
  expect (&x, 20, RISK_ALLOW, "anonymous_vpn", NULL);
  inputs = risk_facts_json (&x.f);
  dev = json_object_get (inputs, "device");
  assert_true (json_is_false (json_object_get (dev, "rooted")));
  json_decref (inputs);
  /* a bank that wants every web app looked at */
  web_app (&x);
  x.rules.floor[RISK_R_WEB_APP] = RISK_REVIEW;
  expect (&x, 20, RISK_REVIEW, "web_app", NULL);
  risk_result_free (&x.r);
}

static void
test_network_rules (void **state)
{
  static const struct {
    size_t off;
    const char *code;
    int score;
    enum risk_decision d;
  } cases[] = {
    { offsetof (struct risk_geo, tor), "tor_exit_node", 40, RISK_REVIEW },
    { offsetof (struct risk_geo, public_proxy), "public_proxy", 30,
      RISK_ALLOW },
    { offsetof (struct risk_geo, residential_proxy), "residential_proxy",
      25, RISK_ALLOW },
    { offsetof (struct risk_geo, vpn), "anonymous_vpn", 20, RISK_ALLOW },
    { offsetof (struct risk_geo, hosting), "hosting_provider", 15,
      RISK_ALLOW },
    { offsetof (struct risk_geo, anonymous), "anonymous_network", 15,
      RISK_ALLOW },
  };
  struct fx x = { 0 };

  (void) state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      clean (&x);
      *(bool *) ((char *) &x.f.phone + cases[i].off) = true;
      x.f.phone.anonymous = true;
      expect (&x, cases[i].score, cases[i].d, cases[i].code, NULL);
    }
  risk_result_free (&x.r);
}

static void
test_network_counts_once (void **state)
{
  struct fx x = { 0 };

  (void) state;
  clean (&x);                   /* 81.2.69.1: flagged every way */
  x.f.phone.anonymous = x.f.phone.vpn = x.f.phone.hosting = true;
  x.f.phone.public_proxy = x.f.phone.residential_proxy = true;
  x.f.phone.tor = true;
  expect (&x, 40, RISK_REVIEW, "tor_exit_node", "public_proxy",
          "residential_proxy", "anonymous_vpn", "hosting_provider", NULL);
  assert_int_equal (json_integer_value (json_object_get (
                      signal (&x, "tor_exit_node"), "contribution")), 40);
  assert_int_equal (json_integer_value (json_object_get (
                      signal (&x, "anonymous_vpn"), "contribution")), 0);
  risk_result_free (&x.r);
}

static void
test_compromised_on_anonymous (void **state)
{
  struct fx x = { 0 };

  (void) state;
  clean (&x);                   /* rooted + Tor exit (1.124.213.1) */
  x.in.device.rooted = true;
  x.f.phone.anonymous = x.f.phone.vpn = x.f.phone.tor = true;
  expect (&x, 80, RISK_DENY, "rooted", "tor_exit_node", "anonymous_vpn",
          "compromised_device_on_anonymous_network", NULL);
  clean (&x);                   /* hooking + hosting: floor, not score */
  x.rules.weight[RISK_R_HOOKING] = 5;
  x.in.device.hooking = true;
  x.f.phone.anonymous = x.f.phone.hosting = true;
  expect (&x, 30, RISK_REVIEW, "hooking", "hosting_provider",
          "compromised_device_on_anonymous_network", NULL);
  assert_string_equal (json_string_value (json_object_get (
    signal (&x, "compromised_device_on_anonymous_network"), "floor")),
    "review");
  risk_result_free (&x.r);
}

static void
test_country_rules (void **state)
{
  struct fx x = { 0 };

  (void) state;
  clean (&x);                   /* SIM vs IP only: no residence, browser */
  x.in.residence_country = x.f.residence = NULL;
  x.f.browser.cls = RISK_ADDR_NONE;
  x.f.browser.country_known = false;
  memcpy (x.f.phone.country, "SE", 3);
  expect (&x, 15, RISK_ALLOW, "sim_ip_country_mismatch", NULL);
  assert_non_null (json_object_get (signal (&x, "ip_residence_mismatch"),
                                    "skipped"));
  clean (&x);                   /* SIM vs residence; address private */
  x.f.residence = "DEU";
  x.f.phone = x.f.browser = (struct risk_geo) { .cls = RISK_ADDR_PRIVATE,
                                                .anon_known = true };
  expect (&x, 10, RISK_ALLOW, "sim_residence_mismatch", NULL);
  clean (&x);                   /* IP vs residence; no SIM */
  x.in.device.sim_country = NULL;
  x.f.residence = "deu";
  expect (&x, 10, RISK_ALLOW, "ip_residence_mismatch", NULL);
  clean (&x);
  memcpy (x.f.browser.country, "SE", 3);
  expect (&x, 20, RISK_ALLOW, "browser_phone_country_mismatch", NULL);
  clean (&x);
  x.in.device.locale = "en-US";
  expect (&x, 5, RISK_ALLOW, "locale_mismatch", NULL);
  x.in.device.locale = "fr";
  x.in.device.timezone = "America/New_York";
  expect (&x, 5, RISK_ALLOW, "timezone_mismatch", NULL);
  x.in.device.timezone = "Etc/UTC";
  expect (&x, 0, RISK_ALLOW, NULL);
  risk_result_free (&x.r);
}

static void
test_restricted_country (void **state)
{
  struct fx x = { 0 };

  (void) state;
  clean (&x);
  x.f.residence = "IRN";
  x.in.device.sim_country = NULL;
  x.f.phone.country_known = x.f.browser.country_known = false;
  expect (&x, 100, RISK_DENY, "restricted_country", NULL);
  clean (&x);
  x.in.device.sim_country = "kp";         /* SIM codes are normalised */
  x.in.device.locale = "ko-KP";
  x.in.device.timezone = "Asia/Pyongyang";
  eval (&x);
  assert_int_equal (x.r.decision, RISK_DENY);
  assert_string_equal (json_string_value (json_array_get (x.r.reasons, 0)),
                       "restricted_country");
  risk_result_free (&x.r);
}

static void
test_history_rules (void **state)
{
  struct fx x = { 0 };

  (void) state;
  clean (&x);
  x.f.hist.blocked_key = true;
  expect (&x, 100, RISK_DENY, "blocklisted_device_key", NULL);
  clean (&x);
  x.f.hist.blocked_install_id = true;
  expect (&x, 100, RISK_DENY, "blocklisted_install_id", NULL);
  clean (&x);
  x.f.hist.blocked_address = true;
  expect (&x, 40, RISK_REVIEW, "blocklisted_address", NULL);
  clean (&x);
  x.f.hist.bound_elsewhere = 2;
  expect (&x, 15, RISK_ALLOW, "device_reused", NULL);
  x.f.hist.bound_elsewhere = 3;           /* bound to 3 others -> review */
  expect (&x, 40, RISK_REVIEW, "device_reused_many", NULL);
  clean (&x);
  x.f.hist.address_1h = 5;
  expect (&x, 15, RISK_ALLOW, "velocity_address", NULL);
  x.f.phone.cls = RISK_ADDR_PRIVATE;      /* shared: not counted */
  x.f.phone.country_known = false;
  expect (&x, 0, RISK_ALLOW, NULL);
  clean (&x);
  x.f.hist.address_1h = 4;
  x.f.hist.device_1h = 2;
  expect (&x, 15, RISK_ALLOW, "velocity_device", NULL);
  clean (&x);
  x.f.hist.qr_other_keys = 1;
  expect (&x, 40, RISK_REVIEW, "qr_multiple_devices", NULL);
  risk_result_free (&x.r);
}

static void
test_geo_unavailable (void **state)
{
  struct fx x = { 0 };

  (void) state;
  clean (&x);
  x.f.anonymous_db = false;
  x.f.phone.anon_known = false;
  x.in.device.rooted = true;
  expect (&x, 40, RISK_REVIEW, "rooted", "geo_unavailable", NULL);
  assert_string_equal (json_string_value (json_object_get (
    signal (&x, "tor_exit_node"), "skipped")), "GeoIP unavailable");
  assert_non_null (json_object_get (
    signal (&x, "compromised_device_on_anonymous_network"), "skipped"));
  risk_result_free (&x.r);
}

/* ================================================== score arithmetic */

static void
test_clamp_and_thresholds (void **state)
{
  struct fx x = { 0 };

  (void) state;
  clean (&x);
  x.in.device.rooted = x.in.device.emulator = true;
  x.in.device.debugger = x.in.device.hooking = true;
  eval (&x);                              /* 120 -> 100 */
  assert_int_equal (x.r.score, 100);
  assert_int_equal (x.r.decision, RISK_DENY);
  clean (&x);
  x.in.device.rooted = x.in.device.hooking = true;
  x.in.device.debugger = true;
  expect (&x, 80, RISK_DENY, "rooted", "debugger", "hooking", NULL);
  x.in.device.debugger = false;           /* 60: review */
  expect (&x, 60, RISK_REVIEW, "rooted", "hooking", NULL);
  x.rules.review_at = 70;
  expect (&x, 60, RISK_ALLOW, "rooted", "hooking", NULL);
  x.rules.weight[RISK_R_HOOKING] = 0;     /* switched off */
  expect (&x, 30, RISK_ALLOW, "rooted", NULL);
  assert_false (json_is_true (json_object_get (signal (&x, "hooking"),
                                               "fired")));
  x.rules.floor[RISK_R_ROOTED] = RISK_DENY;       /* floor beats score */
  expect (&x, 30, RISK_DENY, "rooted", NULL);
  risk_result_free (&x.r);
}

/* ============================================================== rules */

static char *
shipped_rules (void)
{
  static char path[1024];
  const char *src =
#ifdef GUICHET_SOURCE_DIR
    GUICHET_SOURCE_DIR;
#else
    ".";
#endif

  snprintf (path, sizeof path, "%s/risk/rules.conf", src);
  return path;
}

static void
test_rules_file_is_default (void **state)
{
  struct risk_rules def, file;
  char err[256] = "";
  char *a, *b;

  (void) state;
  risk_rules_defaults (&def);
  assert_int_equal (risk_rules_load_file (shipped_rules (), &file, err,
                                          sizeof err), 0);
  a = risk_rules_dump (&def);
  b = risk_rules_dump (&file);
  assert_string_equal (a, b);
  assert_string_equal (def.version, file.version);
  assert_int_equal (strncmp (def.version, "r-", 2), 0);
  assert_int_equal (strlen (def.version), 18);
  free (a);
  free (b);
  assert_int_equal (risk_rules_parse ("# nothing\n\n", "x", &file, err,
                                      sizeof err), 0);
  assert_string_equal (def.version, file.version);
  assert_int_equal (risk_rules_parse ("weight.rooted = 31\n", "x", &file,
                                      err, sizeof err), 0);
  assert_int_equal (file.weight[RISK_R_ROOTED], 31);
  assert_string_not_equal (def.version, file.version);
}

static void
test_rules_parse_values (void **state)
{
  struct risk_rules r;
  char err[256] = "";

  (void) state;
  assert_int_equal (risk_rules_parse (
    "threshold.review = 30\r\nthreshold.deny=90 # comment\n"
    "floor.emulator = review\nfloor.blocklisted_address = none\n"
    "restricted_countries = RU, BY\nmin_os.harmonyos = 3.0\n"
    "min_os.android = 12\nmin_app_version = 2.1\n"
    "velocity.address_per_hour = 9\nvelocity.device_per_hour = 4\n"
    "device_reuse.many_at = 5\n", "t", &r, err, sizeof err), 0);
  assert_int_equal (r.review_at, 30);
  assert_int_equal (r.deny_at, 90);
  assert_int_equal (r.floor[RISK_R_EMULATOR], RISK_REVIEW);
  assert_int_equal (r.floor[RISK_R_BLOCKLISTED_ADDRESS], RISK_ALLOW);
  assert_int_equal (r.n_restricted, 2);
  assert_string_equal (r.restricted[1], "BY");
  assert_int_equal (r.n_min_os, 3);
  assert_string_equal (r.min_os[0].version, "12");
  assert_string_equal (r.min_app_version, "2.1");
  assert_int_equal (r.velocity_address, 9);
  assert_int_equal (r.velocity_device, 4);
  assert_int_equal (r.reuse_many_at, 5);
  assert_int_equal (risk_rules_parse ("restricted_countries =\n", "t", &r,
                                      err, sizeof err), 0);
  assert_int_equal (r.n_restricted, 0);
}

/* passkey.aaguid_allow / _deny: default every model, deny wins, a
   non-empty allow list admits only its models; the lists are part of the
   rule-set version; a malformed AAGUID names its key and line. */
static void
test_rules_passkey_aaguids (void **state)
{
  static const uint8_t yubikey[16] = { 0xee, 0x88, 0x28, 0x79, 0x72, 0x1c,
                                       0x49, 0x13, 0x97, 0x75, 0x3d, 0xfc,
                                       0xce, 0x97, 0x07, 0x2a };
  static const uint8_t zero[16] = { 0 };
  struct risk_rules def, r;
  char err[256];

  (void) state;
  risk_rules_defaults (&def);
  assert_true (risk_aaguid_decide (&def, yubikey));
  assert_true (risk_aaguid_decide (&def, zero));
  assert_int_equal (risk_rules_parse ("passkey.aaguid_deny = "
                                      "EE882879-721C-4913-9775-3DFCCE97072A\n",
                                      "t", &r, err, sizeof err), 0);
  assert_false (risk_aaguid_decide (&r, yubikey));
  assert_true (risk_aaguid_decide (&r, zero));
  assert_string_not_equal (r.version, def.version);
  assert_int_equal (risk_rules_parse ("passkey.aaguid_allow = ee882879-721c-"
                                      "4913-9775-3dfcce97072a, 00000000-0000"
                                      "-0000-0000-000000000001\n",
                                      "t", &r, err, sizeof err), 0);
  assert_true (risk_aaguid_decide (&r, yubikey));
  assert_false (risk_aaguid_decide (&r, zero));
  assert_int_equal (risk_rules_parse ("passkey.aaguid_allow = ee882879-721c-"
                                      "4913-9775-3dfcce97072a\npasskey.aaguid_"
                                      "deny = ee882879-721c-4913-9775-3dfcce97"
                                      "072a\n", "t", &r, err, sizeof err), 0);
  assert_false (risk_aaguid_decide (&r, yubikey));
  assert_int_equal (risk_rules_parse ("\npasskey.aaguid_deny = ee882879721c"
                                      "491397753dfcce97072a\n", "t", &r, err,
                                      sizeof err), -1);
  assert_non_null (strstr (err, "t:2: passkey.aaguid_deny"));
}

static void
test_rules_parse_errors (void **state)
{
  static const struct {
    const char *text;
    const char *want;
  } bad[] = {
    { "# c\nthreshold.review = 40\nweight.nosuch = 3\n",
      "r.conf:3: unknown rule in 'weight.nosuch'" },
    { "\n\nbogus = 1\n", "r.conf:3: unknown key 'bogus'" },
    { "weight.rooted = 101\n", "r.conf:1: weight.rooted: '101' is not" },
    { "weight.rooted = 3x\n", "r.conf:1: weight.rooted: '3x'" },
    { "weight.rooted =\n", "r.conf:1: weight.rooted: ''" },
    { "floor.rooted = maybe\n", "r.conf:1: floor.rooted: 'maybe' is not" },
    { "weight.rooted 30\n", "r.conf:1: expected 'key = value'" },
    { " = 30\n", "r.conf:1: missing key" },
    { "weight.rooted = 1\nweight.rooted = 2\n",
      "r.conf:2: 'weight.rooted' is set twice" },
    { "restricted_countries = KP,XX\n", "r.conf:1: restricted_countries: "
      "'XX' is not" },
    { "restricted_countries = kp\n", "r.conf:1: restricted_countries: 'kp'" },
    { "min_os.Android = 10\n", "r.conf:1: min_os.Android: the platform" },
    { "min_os.ios = fifteen\n", "r.conf:1: min_os.ios: 'fifteen' is not" },
    { "velocity.address_per_hour = 0\n", "r.conf:1: velocity.address" },
    { "threshold.review = 90\nthreshold.deny = 50\n",
      "r.conf:3: threshold.review (90) is above threshold.deny (50)" },
  };
  struct risk_rules r;
  char err[256];

  (void) state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      err[0] = '\0';
      assert_int_equal (risk_rules_parse (bad[i].text, "r.conf", &r, err,
                                          sizeof err), -1);
      if (0 != strncmp (err, bad[i].want, strlen (bad[i].want)))
        fail_msg ("case %zu: got \"%s\", want \"%s...\"", i, err,
                  bad[i].want);
    }
  assert_int_equal (risk_rules_load_file ("/nonexistent/rules.conf", &r,
                                          err, sizeof err), -1);
  assert_non_null (strstr (err, "/nonexistent/rules.conf"));
}

/* ============================================================ helpers */

static void
test_countries (void **state)
{
  (void) state;
  assert_string_equal (risk_country_alpha2 ("FRA"), "FR");
  assert_string_equal (risk_country_alpha2 ("gbr"), "GB");
  assert_string_equal (risk_country_alpha2 ("SWE"), "SE");
  assert_string_equal (risk_country_alpha2 ("ZWE"), "ZW");
  assert_string_equal (risk_country_alpha2 ("ABW"), "AW");
  assert_string_equal (risk_country_alpha2 ("D"), "DE");
  assert_string_equal (risk_country_alpha2 ("FR"), "FR");
  assert_null (risk_country_alpha2 ("UTO"));      /* ICAO's Utopia */
  assert_null (risk_country_alpha2 ("XXX"));
  assert_null (risk_country_alpha2 (NULL));
  assert_true (risk_country_known ("KP"));
  assert_false (risk_country_known ("ZZ"));
  assert_false (risk_country_known ("fr"));
  assert_int_equal (risk_country_tz_consistent ("FR", "Europe/Paris"), 1);
  assert_int_equal (risk_country_tz_consistent ("FR", "America/Chicago"), 0);
  assert_int_equal (risk_country_tz_consistent ("US", "Pacific/Honolulu"),
                    1);
  assert_int_equal (risk_country_tz_consistent ("RU", "Asia/Vladivostok"),
                    1);
  assert_int_equal (risk_country_tz_consistent ("ES", "Atlantic/Canary"), 1);
  assert_int_equal (risk_country_tz_consistent ("FR", "Etc/UTC"), -1);
  assert_int_equal (risk_country_tz_consistent ("FR", "UTC"), -1);
  assert_int_equal (risk_country_tz_consistent ("ZZ", "Europe/Paris"), -1);
}

static void
test_versions_locales_addresses (void **state)
{
  char canon[64], region[3];

  (void) state;
  assert_true (risk_version_cmp ("14", "10") > 0);
  assert_true (risk_version_cmp ("9", "10") < 0);
  assert_true (risk_version_cmp ("17.4.1", "17.4") > 0);
  assert_int_equal (risk_version_cmp ("10", "10.0.0"), 0);
  assert_int_equal (risk_version_cmp ("1.0.0-beta", "1.0.0"), 0);
  assert_int_equal (risk_version_cmp ("v1", "1"), -2);
  assert_int_equal (risk_version_cmp ("1..2", "1"), -2);
  assert_int_equal (risk_version_cmp (NULL, "1"), -2);
  assert_int_equal (risk_locale_region ("fr-FR", region), 0);
  assert_string_equal (region, "FR");
  assert_int_equal (risk_locale_region ("de_at.UTF-8", region), 0);
  assert_string_equal (region, "AT");
  assert_int_equal (risk_locale_region ("zh-Hant-TW", region), 0);
  assert_string_equal (region, "TW");
  assert_int_equal (risk_locale_region ("fr", region), -1);
  assert_int_equal (risk_locale_region ("es-419", region), -1);
  assert_int_equal (risk_addr_classify ("10.1.2.3", NULL, 0),
                    RISK_ADDR_PRIVATE);
  assert_int_equal (risk_addr_classify ("127.0.0.1", NULL, 0),
                    RISK_ADDR_PRIVATE);
  assert_int_equal (risk_addr_classify ("100.64.0.1", NULL, 0),
                    RISK_ADDR_PRIVATE);
  assert_int_equal (risk_addr_classify ("::1", NULL, 0), RISK_ADDR_PRIVATE);
  assert_int_equal (risk_addr_classify ("fe80::1", NULL, 0),
                    RISK_ADDR_PRIVATE);
  assert_int_equal (risk_addr_classify ("fd00::5", NULL, 0),
                    RISK_ADDR_PRIVATE);
  assert_int_equal (risk_addr_classify ("::ffff:89.160.20.112", canon,
                                        sizeof canon), RISK_ADDR_PUBLIC);
  assert_string_equal (canon, "89.160.20.112");
  assert_int_equal (risk_addr_classify ("2001:DB8:0:0::1", canon,
                                        sizeof canon), RISK_ADDR_PUBLIC);
  assert_string_equal (canon, "2001:db8::1");
  assert_int_equal (risk_addr_classify ("example.org", NULL, 0),
                    RISK_ADDR_INVALID);
  assert_int_equal (risk_addr_classify (NULL, NULL, 0), RISK_ADDR_NONE);
}

/* ================================================================ GeoIP */

static const char *
geoip_path (const char *file)
{
  static char path[4][1024];
  static int next;
  const char *shared = getenv ("GUICHET_SHARED_DIR");
  char *p = path[next++ % 4];

  if (NULL != shared && '\0' != *shared)
    snprintf (p, sizeof path[0], "%s/data/geoip/%s", shared, file);
  else
    snprintf (p, sizeof path[0], "%s/../shared/data/geoip/%s",
#ifdef GUICHET_SOURCE_DIR
              GUICHET_SOURCE_DIR,
#else
              "..",
#endif
              file);
  return p;
}

#define COUNTRY_DB "GeoLite2-Country-Test.mmdb"
#define ANON_DB "GeoIP2-Anonymous-IP-Test.mmdb"

static void
open_test_dbs (struct risk_geodb *g, const char *country)
{
  char err[512] = "";

  assert_int_equal (risk_geo_open (g, geoip_path (country),
                                   geoip_path (ANON_DB), err, sizeof err), 0);
  assert_string_equal (err, "");
}

static void
test_geo_known_addresses (void **state)
{
  static const struct {
    const char *addr, *country;
    bool anonymous, vpn, hosting, public_proxy, residential_proxy, tor;
  } want[] = {
    { "89.160.20.112", "SE", 0, 0, 0, 0, 0, 0 },
    { "2.125.160.216", "GB", 0, 0, 0, 0, 0, 0 },
    { "216.160.83.56", "US", 0, 0, 0, 0, 0, 0 },
    { "67.43.156.1", "BT", 0, 0, 0, 0, 0, 0 },
    { "2a02:d2c0::1", "IR", 0, 0, 0, 0, 0, 0 },
    { "::ffff:89.160.20.112", "SE", 0, 0, 0, 0, 0, 0 },
    { "1.124.213.1", NULL, 1, 1, 0, 0, 0, 1 },
    { "81.2.69.1", NULL, 1, 1, 1, 1, 1, 1 },
    { "71.160.223.1", NULL, 1, 0, 1, 0, 0, 0 },
    { "186.30.236.7", NULL, 1, 0, 0, 1, 0, 0 },
    { "6.1.0.4", NULL, 1, 0, 0, 0, 1, 0 },
  };
  struct risk_geodb g;
  struct risk_geo o;

  (void) state;
  open_test_dbs (&g, COUNTRY_DB);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    {
      risk_geo_lookup (&g, want[i].addr, &o);
      assert_int_equal (o.cls, RISK_ADDR_PUBLIC);
      assert_int_equal (o.country_known, NULL != want[i].country);
      if (NULL != want[i].country)
        assert_string_equal (o.country, want[i].country);
      assert_true (o.anon_known);
      assert_int_equal (o.anonymous, want[i].anonymous);
      assert_int_equal (o.vpn, want[i].vpn);
      assert_int_equal (o.hosting, want[i].hosting);
      assert_int_equal (o.public_proxy, want[i].public_proxy);
      assert_int_equal (o.residential_proxy, want[i].residential_proxy);
      assert_int_equal (o.tor, want[i].tor);
    }
  risk_geo_lookup (&g, "10.0.0.1", &o);         /* private: unknown, fine */
  assert_int_equal (o.cls, RISK_ADDR_PRIVATE);
  assert_false (o.country_known || o.anon_known);
  risk_geo_lookup (&g, "not an address", &o);
  assert_int_equal (o.cls, RISK_ADDR_INVALID);
  risk_geo_close (&g);
}

/* The first address of a network of the JSON sources ("::1.2.0.0/112"). */
static void
first_address (const char *net, char *out, size_t len)
{
  const char *v4 = (0 == strncmp (net, "::", 2) && NULL != strchr (net, '.'))
    ? net + 2 : net;

  snprintf (out, len, "%.*s", (int) strcspn (v4, "/"), v4);
}

static const char *
iso_of (json_t *data)
{
  json_t *c = json_object_get (json_object_get (data, "country"),
                               "iso_code");

  if (NULL == c)
    c = json_object_get (json_object_get (data, "registered_country"),
                         "iso_code");
  return json_string_value (c);
}

static size_t
check_country_source (const char *json, const char *mmdb)
{
  json_t *src = json_load_file (geoip_path (json), 0, NULL);
  struct risk_geodb g;
  struct risk_geo o;
  size_t i, checked = 0;
  json_t *e;

  assert_non_null (src);
  open_test_dbs (&g, mmdb);
  json_array_foreach (src, i, e)
    {
      const char *net = json_object_iter_key (json_object_iter (e));
      const char *iso = iso_of (json_object_iter_value (json_object_iter (e)));
      char addr[64];

      first_address (net, addr, sizeof addr);
      risk_geo_lookup (&g, addr, &o);
      if (RISK_ADDR_PUBLIC != o.cls)
        continue;
      if ((NULL != iso) != o.country_known
          || (NULL != iso && 0 != strcmp (iso, o.country)))
        fail_msg ("%s %s: want %s, got %s", mmdb, addr, iso ? iso : "none",
                  o.country_known ? o.country : "none");
      checked++;
    }
  risk_geo_close (&g);
  json_decref (src);
  return checked;
}

static bool
flag (json_t *data, const char *name)
{
  return json_is_true (json_object_get (data, name));
}

static void
test_geo_matches_json_sources (void **state)
{
  json_t *src = json_load_file (geoip_path ("GeoIP2-Anonymous-IP-Test.json"),
                                0, NULL);
  struct risk_geodb g;
  struct risk_geo o;
  size_t i;
  json_t *e;

  (void) state;
  assert_true (check_country_source ("GeoLite2-Country-Test.json",
                                     COUNTRY_DB) > 200);
  assert_true (check_country_source ("GeoIP2-Country-Test.json",
                                     "GeoIP2-Country-Test.mmdb") > 200);
  assert_non_null (src);
  open_test_dbs (&g, COUNTRY_DB);
  json_array_foreach (src, i, e)
    {
      json_t *d = json_object_iter_value (json_object_iter (e));
      char addr[64];

      first_address (json_object_iter_key (json_object_iter (e)), addr,
                     sizeof addr);
      risk_geo_lookup (&g, addr, &o);
      assert_int_equal (o.anonymous, flag (d, "is_anonymous"));
      assert_int_equal (o.vpn, flag (d, "is_anonymous_vpn"));
      assert_int_equal (o.hosting, flag (d, "is_hosting_provider"));
      assert_int_equal (o.public_proxy, flag (d, "is_public_proxy"));
      assert_int_equal (o.residential_proxy, flag (d, "is_residential_proxy"));
      assert_int_equal (o.tor, flag (d, "is_tor_exit_node"));
    }
  risk_geo_close (&g);
  json_decref (src);
}

static void
test_geo_missing_database (void **state)
{
  struct risk_geodb g;
  struct risk_geo o;
  char err[512];

  (void) state;
  assert_int_equal (risk_geo_open (&g, "/nonexistent/c.mmdb",
                                   geoip_path (ANON_DB), err, sizeof err), 1);
  assert_non_null (strstr (err, "/nonexistent/c.mmdb"));
  assert_true (g.have_anonymous && ! g.have_country);
  risk_geo_lookup (&g, "89.160.20.112", &o);
  assert_false (o.country_known);
  risk_geo_close (&g);
  /* the anonymous-IP database is not a country database */
  assert_int_equal (risk_geo_open (&g, geoip_path (ANON_DB), "", err,
                                   sizeof err), 1);
  assert_non_null (strstr (err, "not of the expected type"));
  assert_non_null (strstr (err, "not configured"));
  assert_false (g.have_country || g.have_anonymous);
  risk_geo_close (&g);
}

/* ========================================================= whole path */

static void
input_at (struct risk_input *in, const char *phone, const char *browser)
{
  struct fx x = { 0 };

  clean (&x);
  *in = x.in;
  in->phone_addr = phone;
  in->browser_addr = browser;
}

static bool
has_reason (const struct risk_result *r, const char *code)
{
  size_t i;
  json_t *v;

  json_array_foreach (r->reasons, i, v)
    if (0 == strcmp (json_string_value (v), code))
      return true;
  return false;
}

static void
test_score_with_geo (void **state)
{
  struct risk_rules rules;
  struct risk_geodb g;
  struct risk_input in;
  struct risk_history h = { .residence = "SWE" };
  struct risk_result a, b;

  (void) state;
  risk_rules_defaults (&rules);
  open_test_dbs (&g, COUNTRY_DB);
  input_at (&in, "81.2.69.1", "89.160.20.112");   /* rooted + Tor exit */
  in.device.rooted = true;
  assert_int_equal (risk_score_facts (&rules, &g, &in, &h, &a), 0);
  assert_true (has_reason (&a, "rooted") && has_reason (&a, "tor_exit_node")
               && has_reason (&a, "compromised_device_on_anonymous_network"));
  assert_true (a.decision >= RISK_REVIEW);
  assert_int_equal (strlen (a.input_hash), 64);
  assert_int_equal (risk_score_facts (&rules, &g, &in, &h, &b), 0);
  assert_string_equal (a.input_hash, b.input_hash);     /* replayable */
  risk_result_free (&b);
  in.device.install_id = "inst-2";
  assert_int_equal (risk_score_facts (&rules, &g, &in, &h, &b), 0);
  assert_string_not_equal (a.input_hash, b.input_hash);
  risk_result_free (&a);
  risk_result_free (&b);
  /* Swedish phone, US browser, French SIM, residence from the enrolment */
  input_at (&in, "89.160.20.112", "216.160.83.56");
  in.residence_country = NULL;
  assert_int_equal (risk_score_facts (&rules, &g, &in, &h, &a), 0);
  assert_true (has_reason (&a, "browser_phone_country_mismatch")
               && has_reason (&a, "sim_ip_country_mismatch")
               && has_reason (&a, "sim_residence_mismatch"));
  assert_false (has_reason (&a, "ip_residence_mismatch"));
  assert_false (has_reason (&a, "geo_unavailable"));
  risk_result_free (&a);
  risk_geo_close (&g);
  /* no databases at all: not a silent pass */
  assert_int_equal (risk_score_facts (&rules, NULL, &in, &h, &a), 0);
  assert_true (has_reason (&a, "geo_unavailable"));
  risk_result_free (&a);
}

static void
test_result_json (void **state)
{
  struct fx x = { 0 };
  json_t *full, *answer;

  (void) state;
  clean (&x);
  x.in.device.emulator = true;
  eval (&x);
  full = risk_result_json (&x.r);
  answer = risk_result_answer (&x.r);
  assert_string_equal (json_string_value (json_object_get (full, "decision")),
                       "review");
  assert_non_null (json_object_get (full, "signals"));
  assert_non_null (json_object_get (full, "ruleset_version"));
  assert_int_equal (json_object_size (answer), 3);
  assert_int_equal (json_integer_value (json_object_get (answer, "score")),
                    40);
  assert_null (json_object_get (answer, "signals"));
  json_decref (full);
  json_decref (answer);
  risk_result_free (&x.r);
  risk_result_free (&x.r);                /* twice is harmless */
}

/* The phone's answer as JSON text, compact and in order. */
static char *
answer_text (struct fx *x)
{
  json_t *a;
  char *t;

  eval (x);
  a = risk_result_answer (&x->r);
  assert_non_null (a);
  t = json_dumps (a, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (a);
  assert_non_null (t);
  return t;
}

#define ANSWER(x, want) \
  do { \
    char *t_ = answer_text (x); \
    assert_string_equal (t_, want); \
    free (t_); \
  } while (0)

/* What the phone is told (docs/risk.md): its own state, never the bank's
   lists, other enrolments, velocity or GeoIP; a score that is its
   decision's.  The stored result keeps everything. */
static void
test_answer_tells_the_phone_only_its_own_state (void **state)
{
  struct fx x = { 0 };

  (void) state;
  clean (&x);
  ANSWER (&x, "{\"score\":0,\"decision\":\"allow\",\"reasons\":[]}");
  /* the bank's blocklist: decision kept, reason and score hidden */
  x.f.hist.blocked_address = true;
  ANSWER (&x, "{\"score\":40,\"decision\":\"review\","
          "\"reasons\":[\"manual_check\"]}");
  assert_string_equal (json_string_value (json_array_get (x.r.reasons, 0)),
                       "blocklisted_address");
  x.f.hist.blocked_address = false;
  x.f.hist.blocked_install_id = true;
  x.in.device.rooted = true;
  ANSWER (&x, "{\"score\":100,\"decision\":\"deny\","
          "\"reasons\":[\"rooted\",\"manual_check\"]}");
  assert_int_equal (x.r.score, 100);
  /* reuse and velocity under an allow: nothing, not even manual_check */
  clean (&x);
  x.f.hist.bound_elsewhere = 1;
  x.in.device.debugger = true;
  ANSWER (&x, "{\"score\":0,\"decision\":\"allow\","
          "\"reasons\":[\"debugger\"]}");
  assert_int_equal (x.r.score, 35);                     /* stored: real */
  assert_int_equal (json_array_size (x.r.reasons), 2);
  /* many other enrolments and the velocity of this device: one
     manual_check, and the score of a review whatever the sum */
  clean (&x);
  x.f.hist.bound_elsewhere = 3;
  x.f.hist.device_1h = 2;
  ANSWER (&x, "{\"score\":40,\"decision\":\"review\","
          "\"reasons\":[\"manual_check\"]}");
  assert_int_equal (x.r.score, 55);
  /* a Tor exit and a restricted country are not the phone's own */
  clean (&x);
  x.f.phone.tor = x.f.phone.anonymous = true;
  x.in.device.emulator = true;
  ANSWER (&x, "{\"score\":100,\"decision\":\"deny\","
          "\"reasons\":[\"emulator\",\"manual_check\"]}");
  clean (&x);
  x.in.device.sim_country = "KP";
  ANSWER (&x, "{\"score\":100,\"decision\":\"deny\","
          "\"reasons\":[\"manual_check\"]}");
  /* the review threshold of the rules in force */
  clean (&x);
  x.rules.review_at = 25;
  x.in.device.hooking = true;
  ANSWER (&x, "{\"score\":25,\"decision\":\"review\","
          "\"reasons\":[\"hooking\"]}");
  risk_result_free (&x.r);
}

/* One classification: every code, who may read it. */
static void
test_reason_audiences (void **state)
{
  static const char *const applicant[] = {
    "rooted", "emulator", "debugger", "hooking", "web_app", "os_outdated",
    "app_outdated",
  };
  static const char *const staff[] = {
    "blocklisted_device_key", "blocklisted_install_id",
    "blocklisted_address", "restricted_country", "device_reused",
    "device_reused_many", "velocity_address", "velocity_device",
  };
  int n_applicant = 0, n_advisor = 0;

  (void) state;
  for (int r = 0; r < RISK_R_COUNT; r++)
    {
      const char *c = risk_rule_code (r);

      assert_true (risk_reason_told (c, RISK_TOLD_STAFF));
      n_applicant += risk_reason_told (c, RISK_TOLD_APPLICANT);
      n_advisor += risk_reason_told (c, RISK_TOLD_ADVISOR);
      /* what the phone is told, the advisor may see */
      assert_true (! risk_reason_told (c, RISK_TOLD_APPLICANT)
                   || risk_reason_told (c, RISK_TOLD_ADVISOR));
    }
  for (size_t i = 0; i < sizeof applicant / sizeof applicant[0]; i++)
    assert_true (risk_reason_told (applicant[i], RISK_TOLD_APPLICANT));
  for (size_t i = 0; i < sizeof staff / sizeof staff[0]; i++)
    assert_false (risk_reason_told (staff[i], RISK_TOLD_ADVISOR));
  assert_int_equal (n_applicant, 7);
  assert_int_equal (n_advisor, RISK_R_COUNT - 8);
  assert_false (risk_reason_told ("tor_exit_node", RISK_TOLD_APPLICANT));
  assert_false (risk_reason_told ("geo_unavailable", RISK_TOLD_APPLICANT));
  assert_false (risk_reason_told ("manual_check", RISK_TOLD_STAFF));
  assert_false (risk_reason_told (NULL, RISK_TOLD_STAFF));
}

/* ============================================================= reload */

static struct risk_paths test_paths;

static void *
scorer (void *arg)
{
  struct risk_input in;
  struct risk_history h = { 0 };
  struct risk_result r;

  (void) arg;
  input_at (&in, "1.124.213.1", "89.160.20.112");
  for (int i = 0; i < 2000; i++)
    {
      if (0 != risk_score_loaded (&in, &h, &r)
          || ! has_reason (&r, "tor_exit_node"))
        return (void *) 1;
      risk_result_free (&r);
    }
  return NULL;
}

static void
test_reload (void **state)
{
  char bad[] = "/tmp/test_risk_rules_XXXXXX";
  char err[512], before[RISK_VERSION_LEN], after[RISK_VERSION_LEN];
  struct risk_paths p;
  pthread_t t[4];
  void *rv;
  int fd;

  (void) state;
  test_paths = (struct risk_paths) { shipped_rules (),
                                     geoip_path (COUNTRY_DB),
                                     geoip_path (ANON_DB) };
  assert_int_equal (risk_load (&test_paths, err, sizeof err), 0);
  assert_int_equal (risk_ruleset_version (before, sizeof before), 0);
  fd = mkstemp (bad);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "threshold.review = 40\nweight.x = 1\n", 35),
                    35);
  close (fd);
  p = test_paths;
  p.rules_file = bad;
  assert_int_equal (risk_load (&p, err, sizeof err), -1);    /* kept */
  assert_non_null (strstr (err, ":2: unknown rule"));
  unlink (bad);
  assert_int_equal (risk_ruleset_version (after, sizeof after), 0);
  assert_string_equal (before, after);
  for (int i = 0; i < 4; i++)
    assert_int_equal (pthread_create (&t[i], NULL, scorer, NULL), 0);
  for (int i = 0; i < 50; i++)            /* reloads race the scorings */
    assert_int_equal (risk_load (&test_paths, NULL, 0), 0);
  for (int i = 0; i < 4; i++)
    {
      assert_int_equal (pthread_join (t[i], &rv), 0);
      assert_null (rv);
    }
  p.rules_file = shipped_rules ();
  p.anonymous_db = NULL;
  assert_int_equal (risk_load (&p, err, sizeof err), 1);     /* degraded */
  assert_non_null (strstr (err, "not configured"));
  risk_shutdown ();
  assert_int_equal (risk_ruleset_version (after, sizeof after), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_clean_allows),
    cmocka_unit_test (test_device_rules),
    cmocka_unit_test (test_web_app),
    cmocka_unit_test (test_version_rules),
    cmocka_unit_test (test_network_rules),
    cmocka_unit_test (test_network_counts_once),
    cmocka_unit_test (test_compromised_on_anonymous),
    cmocka_unit_test (test_country_rules),
    cmocka_unit_test (test_restricted_country),
    cmocka_unit_test (test_history_rules),
    cmocka_unit_test (test_geo_unavailable),
    cmocka_unit_test (test_clamp_and_thresholds),
    cmocka_unit_test (test_rules_file_is_default),
    cmocka_unit_test (test_rules_parse_values),
    cmocka_unit_test (test_rules_parse_errors),
    cmocka_unit_test (test_rules_passkey_aaguids),
    cmocka_unit_test (test_countries),
    cmocka_unit_test (test_versions_locales_addresses),
    cmocka_unit_test (test_geo_known_addresses),
    cmocka_unit_test (test_geo_matches_json_sources),
    cmocka_unit_test (test_geo_missing_database),
    cmocka_unit_test (test_score_with_geo),
    cmocka_unit_test (test_result_json),
    cmocka_unit_test (test_answer_tells_the_phone_only_its_own_state),
    cmocka_unit_test (test_reason_audiences),
    cmocka_unit_test (test_reload),
  };

  core_log_set_level (CORE_LOG_ERROR);   /* reloads log at INFO/WARN */
  return cmocka_run_group_tests (tests, NULL, NULL);
}

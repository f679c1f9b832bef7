/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_notify.c -- unit tests of notify/: the assurance code (alphabet,
 * drawing, sealing bound to its owner), every template in both languages
 * ending with the code line, quoted-printable and header encoding (no
 * header injection through a subject), the MIME message, the webhook
 * signature against a vector computed with Python's hmac, the event body,
 * back-off bounds, and the address, loopback and webhook URL checks.
 *
 * Delivery itself is tested against a real relay and receiver in
 * tests/api (test_messages.py, test_webhooks.py, test_delivery.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/crypto.h"
#include "notify/notify_int.h"
#include "tests/unit/tmpdir.h"

#define KEY1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* ------------------------------------------------------------ the code */

static void
test_code_normalise (void **state UNUSED)
{
  static const char *const bad[] = {
    "K7F2Q", "K7F2Q90", "K7F2Q0", "K7F2QO", "K7F2Q1", "K7F2QI", "K7 2Q9",
    "K7F2Q\n", "", "\xc3\x89\xc3\x89\xc3\x89",
  };
  char out[NOTIFY_CODE_LEN + 1];
  char same[] = "k7f2q9";

  assert_true (notify_code_normalise ("k7F2q9", out));
  assert_string_equal (out, "K7F2Q9");
  assert_true (notify_code_normalise (same, same));     /* in place */
  assert_string_equal (same, "K7F2Q9");
  for (size_t i = 0; i < N (bad); i++)
  {
    assert_false (notify_code_normalise (bad[i], out));
    assert_string_equal (out, "");
  }
  assert_false (notify_code_normalise (NULL, out));
}

static void
test_code_draw_uses_the_whole_alphabet (void **state UNUSED)
{
  int seen[256] = { 0 };
  char c[NOTIFY_CODE_LEN + 1];

  for (int i = 0; i < 400; i++)
  {
    assert_int_equal (notify_code_draw (c), 0);
    assert_true (notify_code_normalise (c, c));
    for (int k = 0; k < NOTIFY_CODE_LEN; k++)
      seen[(unsigned char) c[k]]++;
  }
  /* 2400 draws over 32 letters: each expected 75 times */
  for (const char *a = NOTIFY_CODE_ALPHABET; *a; a++)
    assert_true (seen[(unsigned char) *a] > 20);
}

static void
test_code_seal_is_bound_to_its_owner (void **state UNUSED)
{
  char err[256], out[NOTIFY_CODE_LEN + 1];
  char *p;

  assert_int_equal (core_keyring_load (write_file ("keys", "k1 " KEY1 "\n",
                                                   0600), err, sizeof err), 0);
  p = notify_code_seal_param ("K7F2Q9", "customer", "cus_a");
  assert_non_null (p);
  assert_memory_equal (p, "\\x", 2);
  assert_null (strstr (p, "4b37463251"));           /* hex of "K7F2Q" */
  assert_int_equal (notify_code_open_hex (p + 2, "customer", "cus_a", out), 0);
  assert_string_equal (out, "K7F2Q9");
  assert_int_equal (notify_code_open_hex (p + 2, "customer", "cus_b", out), -1);
  assert_int_equal (notify_code_open_hex (p + 2, "enrolment", "cus_a", out),
                    -1);
  assert_int_equal (notify_code_open_hex ("zz", "customer", "cus_a", out), -1);
  free (p);
}

/* ------------------------------------------------------------ templates */

static const char *const kinds[] = {
  NOTIFY_RESUME_LINK, NOTIFY_REVIEW_APPROVED, NOTIFY_REVIEW_REJECTED,
  NOTIFY_WELCOME, NOTIFY_DEVICE_REGISTERED, NOTIFY_CREDENTIAL_REVOKED,
  NOTIFY_ACCOUNT_LOCKED, NOTIFY_CODE_CHANGED, NOTIFY_TX_APPROVED,
  NOTIFY_TX_DECLINED, NOTIFY_REENROLMENT,
};

static json_t *
all_params (void)
{
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                    "link", "https://bank.example/#resume=enr_x.tok",
                    "customer_id", "cus_abc", "credential", "device",
                    "at", "2026-05-01T14:03:09Z",
                    "locked_at", "2026-05-01T14:03:09Z", "by", "device",
                    "amount", "125.00", "currency", "EUR",
                    "payee_name", "ACME SARL");
}

static void
test_every_template_renders_in_both_languages (void **state UNUSED)
{
  json_t *p = all_params ();

  for (size_t i = 0; i < N (kinds); i++)
    for (int l = 0; l < 2; l++)
    {
      struct notify_text t;
      const char *why = NULL;
      const char *lang = 0 == l ? "en" : "fr";
      size_t n;

      assert_int_equal (notify_render (kinds[i], lang, p, "K7F2Q9", &t, &why),
                        0);
      assert_null (strchr (t.subject, '{'));
      assert_null (strchr (t.body, '{'));
      assert_null (strchr (t.subject, '\n'));
      n = strlen (t.body);
      /* API.md: the last line, word for word, in every language */
      assert_true (n > 28);
      assert_string_equal (t.body + n - 28, "\nYour security code: K7F2Q9\n");
      assert_non_null (strstr (t.body, 0 == l ? "Hello," : "Bonjour,"));
      notify_text_clear (&t);
      /* an applicant's message has no code line */
      assert_int_equal (notify_render (kinds[i], lang, p, NULL, &t, &why), 0);
      assert_null (strstr (t.body, NOTIFY_CODE_LINE));
      notify_text_clear (&t);
    }
  json_decref (p);
}

static void
test_template_phrases_and_times (void **state UNUSED)
{
  json_t *p = all_params ();
  struct notify_text t;
  const char *why;

  assert_int_equal (notify_render (NOTIFY_DEVICE_REGISTERED, "fr", p, "K7F2Q9",
                                   &t, &why), 0);
  assert_non_null (strstr (t.body, "Le 01/05/2026 à 14:03 UTC"));
  assert_non_null (strstr (t.body, "l'application Guichet d'un téléphone"));
  notify_text_clear (&t);
  assert_int_equal (notify_render (NOTIFY_ACCOUNT_LOCKED, "en", p, "K7F2Q9",
                                   &t, &why), 0);
  assert_non_null (strstr (t.body, "2026-05-01 at 14:03 UTC"));
  assert_non_null (strstr (t.body, "Call your bank to unlock it."));
  notify_text_clear (&t);
  json_object_set_new (p, "unlocks_at", json_string ("2026-05-01T14:18:09Z"));
  assert_int_equal (notify_render (NOTIFY_ACCOUNT_LOCKED, "en", p, "K7F2Q9",
                                   &t, &why), 0);
  assert_non_null (strstr (t.body, "It unlocks by itself on 2026-05-01 at "
                                   "14:18 UTC."));
  notify_text_clear (&t);
  json_object_set_new (p, "serial", json_string ("TOK-0042"));
  json_object_del (p, "credential");
  assert_int_equal (notify_render (NOTIFY_CREDENTIAL_REVOKED, "en", p, "K7F2Q9",
                                   &t, &why), 0);
  assert_non_null (strstr (t.body, "the hardware token TOK-0042"));
  notify_text_clear (&t);
  json_decref (p);
}

static void
test_template_refusals (void **state UNUSED)
{
  json_t *p = json_object ();
  struct notify_text t;
  const char *why = NULL;

  assert_int_equal (notify_render ("no_such_kind", "en", p, NULL, &t, &why),
                    -1);
  assert_non_null (why);
  assert_null (t.body);
  assert_int_equal (notify_render (NOTIFY_RESUME_LINK, "en", p, NULL, &t,
                                   &why), -1);          /* no link */
  assert_int_equal (notify_render (NOTIFY_WELCOME, "de", p, NULL, &t, &why),
                    -1);                               /* no customer_id */
  json_decref (p);
}

/* ------------------------------------------------------------ MIME */

static void
test_quoted_printable (void **state UNUSED)
{
  char long_line[200];
  char *q;

  q = notify_qp_encode ("a=b\n.start\ntrailing \n\xc3\xa9t\xc3\xa9\n");
  assert_string_equal (q, "a=3Db\r\n=2Estart\r\ntrailing=20\r\n=C3=A9t=C3=A9"
                          "\r\n");
  free (q);
  memset (long_line, 'x', sizeof long_line - 1);
  long_line[sizeof long_line - 1] = '\0';
  long_line[75] = '.';            /* would start a line after the break */
  q = notify_qp_encode (long_line);
  for (char *l = q, *e; *l; l = e + 2)
  {
    e = strstr (l, "\r\n");
    assert_non_null (e);
    assert_true (e - l <= 76);
    assert_true ('.' != l[0]);
  }
  free (q);
}

/* Quoted-printable back to text: soft breaks dropped, =XX decoded. */
static char *
qp_decode (const char *s)
{
  char *out = malloc (strlen (s) + 1), *o = out;

  while (*s)
    if ('=' == s[0] && '\r' == s[1] && '\n' == s[2])
      s += 3;
    else if ('=' == s[0] && s[1] && s[2])
    {
      unsigned int v;

      sscanf (s + 1, "%2x", &v);
      *o++ = (char) v;
      s += 3;
    }
    else
      *o++ = *s++;
  *o = '\0';
  return out;
}

static void
test_mime_message (void **state UNUSED)
{
  struct notify_text t = {
    .subject = strdup ("Paiement approuvé : 125.00 EUR\r\nBcc: x@evil.example"),
    .body = strdup ("Bonjour,\n\nhttps://bank.example/a?b=1&c=<2>\n\n-- \n"
                    "Your security code: K7F2Q9\n"),
  };
  struct notify_mail m = {
    .from = "guichet@bank.example", .to = "anna@example.org", .lang = "fr",
    .message_id = "<0b0f5a4e-0000-4000-8000-000000000001@bank.example>",
    .date = 1777644189, .text = &t,
  };
  char *mime = notify_mime_build (&m);
  const char *body;
  char *decoded;

  assert_non_null (mime);
  body = strstr (mime, "\r\n\r\n");
  assert_non_null (body);
  /* headers: nothing a person typed can add one, nor a line anywhere */
  assert_null (strstr (mime, "\nBcc:"));
  assert_non_null (strstr (mime, "Subject: =?UTF-8?B?"));
  assert_non_null (strstr (mime, "Date: Fri, 01 May 2026 14:03:09 +0000\r\n"));
  assert_non_null (strstr (mime, "\r\nMessage-ID: <0b0f5a4e-0000-4000-8000-"
                                 "000000000001@bank.example>\r\n"));
  assert_non_null (strstr (mime, "\r\nAuto-Submitted: auto-generated\r\n"));
  assert_non_null (strstr (mime, "\r\nContent-Language: fr\r\n"));
  assert_non_null (strstr (mime, "multipart/alternative; boundary="));
  assert_non_null (strstr (mime, "Content-Type: text/plain; charset=utf-8"));
  assert_non_null (strstr (mime, "Content-Type: text/html; charset=utf-8"));
  for (const char *p = mime; *p; p++)
    assert_true ((unsigned char) *p < 128);       /* 7-bit all through */
  /* the HTML: escaped, the link clickable, the code line bold */
  decoded = qp_decode (strstr (body, "Content-Type: text/html"));
  assert_non_null (strstr (decoded, "<a href=\"https://bank.example/a?b=1"
                                    "&amp;c=&lt;2&gt;\">"));
  assert_non_null (strstr (decoded, "<strong>Your security code: K7F2Q9"
                                    "</strong>"));
  assert_non_null (strstr (decoded, "<html lang=\"fr\">"));
  assert_null (strstr (decoded, "<2>"));
  free (decoded);
  core_free_secret (mime, strlen (mime));
  notify_text_clear (&t);
}

static void
test_addresses (void **state UNUSED)
{
  assert_true (notify_address_ok ("anna@example.org"));
  assert_true (notify_address_ok ("a.b+c@sub.example.org"));
  assert_false (notify_address_ok ("anna@example.org\r\nBcc: x@y"));
  assert_false (notify_address_ok ("Anna <anna@example.org>"));
  assert_false (notify_address_ok ("a@b@c"));
  assert_false (notify_address_ok ("@example.org"));
  assert_false (notify_address_ok ("anna@"));
  assert_false (notify_address_ok ("a,b@example.org"));
  assert_false (notify_address_ok (NULL));
}

/* ------------------------------------------------------------ webhooks */

static void
test_webhook_signature_vector (void **state UNUSED)
{
  char sig[128];

  /* python3: hmac.new(b'whsec_test', b'1700000000.{"id":"evt_1"}',
     hashlib.sha256).hexdigest() */
  assert_int_equal (notify_webhook_signature ("whsec_test", 1700000000,
                                              "{\"id\":\"evt_1\"}", sig), 0);
  assert_string_equal (sig, "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6b"
                            "d58cea9022bd80ccc78230f3942d632925");
}

static void
test_event_body (void **state UNUSED)
{
  char *b = notify_event_body ("evt_x", "credential.revoked",
                               "2026-05-01T14:03:09Z",
                               "{\"customer_id\": \"cus_a\"}");

  assert_string_equal (b, "{\"id\":\"evt_x\",\"type\":\"credential.revoked\","
                          "\"created_at\":\"2026-05-01T14:03:09Z\","
                          "\"data\":{\"customer_id\":\"cus_a\"}}");
  free (b);
  assert_null (notify_event_body ("evt_x", "t.t", "x", "not json"));
}

static void
test_webhook_urls (void **state UNUSED)
{
  static const char *const good[] = {
    "https://hooks.example.org/guichet", "http://127.0.0.1:8081/hook",
    "http://localhost/hook", "http://[::1]:9/h", "https://10.0.0.1/h",
  };
  static const char *const bad[] = {
    "http://hooks.example.org/guichet", "ftp://127.0.0.1/x",
    "https://user:pw@hooks.example.org/h", "hooks.example.org/h", "https://",
    "file:///etc/passwd", "http://127.0.0.1.example.org/h", "",
  };

  for (size_t i = 0; i < N (good); i++)
    assert_null (notify_webhook_url_problem (good[i]));
  for (size_t i = 0; i < N (bad); i++)
    assert_non_null (notify_webhook_url_problem (bad[i]));
  assert_true (notify_host_is_loopback ("127.0.0.2"));
  assert_true (notify_host_is_loopback ("LOCALHOST"));
  assert_true (notify_host_is_loopback ("[::1]"));
  assert_false (notify_host_is_loopback ("128.0.0.1"));
  assert_false (notify_host_is_loopback ("localhost.example.org"));
}

/* ------------------------------------------------------------ back-off */

static void
test_backoff_bounds (void **state UNUSED)
{
  static struct core_config cfg = { .notify_retry_base_ms = 1000,
                                    .notify_retry_max_s = 8 };

  core_cfg = &cfg;
  assert_true (notify_backoff_ms (0, 0.0) == 500.0);
  assert_true (notify_backoff_ms (0, 0.999) < 1000.0);
  assert_true (notify_backoff_ms (2, 0.0) == 2000.0);
  assert_true (notify_backoff_ms (3, 0.5) == 6000.0);
  assert_true (notify_backoff_ms (50, 0.0) == 4000.0);    /* capped */
  assert_true (notify_backoff_ms (50, 0.999) < 8000.0);
  core_cfg = NULL;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_code_normalise),
    cmocka_unit_test (test_code_draw_uses_the_whole_alphabet),
    cmocka_unit_test (test_code_seal_is_bound_to_its_owner),
    cmocka_unit_test (test_every_template_renders_in_both_languages),
    cmocka_unit_test (test_template_phrases_and_times),
    cmocka_unit_test (test_template_refusals),
    cmocka_unit_test (test_quoted_printable),
    cmocka_unit_test (test_mime_message),
    cmocka_unit_test (test_addresses),
    cmocka_unit_test (test_webhook_signature_vector),
    cmocka_unit_test (test_event_body),
    cmocka_unit_test (test_webhook_urls),
    cmocka_unit_test (test_backoff_bounds),
  };

  return cmocka_run_group_tests (tests, tmpdir_setup, tmpdir_teardown);
}

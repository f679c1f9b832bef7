# SPDX-License-Identifier: AGPL-3.0-or-later
"""Support staff (issue 14): the `support` role finds a customer by id,
the bank's reference or e-mail address, sees their credentials, phones,
passkeys, lockout and latest verify attempts, unlocks with a required
comment and revokes with a reason (both audited), and keeps the token
inventory -- and reaches nothing else (review queue, audit log, assist,
delivery queue).

Every test checks the answer and the database: customers, credentials and
the audit log."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error, wrong_code  # noqa: E402
from test_admin import Admin, post  # noqa: E402


@pytest.fixture(scope="module")
def support(guichet):
    return Admin(guichet, "support")


@pytest.fixture(scope="module")
def s(support):
    return support.login()


def audit_rows(g, action, target):
    return g.sql("SELECT actor, details FROM audit_log WHERE action = %s AND target = %s"
                 " ORDER BY id", action, target)


def lock(http, c):
    for _ in range(5):
        http.verify_otp(c.id, c.pin, wrong_code(c.code()))
    assert http.verify_otp(c.id, c.pin, c.code()).status_code == 423


def test_the_support_role_exists_and_is_audited(guichet, support):
    assert support.role == "support"
    assert guichet.sql("SELECT role FROM admins WHERE username = %s",
                       support.username) == [("support",)]
    [(actor, details)] = audit_rows(guichet, "admin.create", support.username)
    assert actor == "system" and details["role"] == "support"


def test_support_reaches_customers_and_tokens_only(guichet, s, customer):
    ok = ["/v1/admin/me", f"/v1/admin/customers/{customer.id}",
          f"/v1/admin/customers?q={customer.id}", "/v1/admin/tokens"]
    for path in ok:
        r = s.get(guichet.url(path), timeout=10)
        assert r.status_code == 200, (path, r.text)
    assert s.get(guichet.url("/v1/admin/me"), timeout=10).json()["role"] == "support"
    for path in ["/v1/admin/reviews", "/v1/admin/audit", "/v1/admin/outbox",
                 "/v1/admin/admins"]:
        assert_error(s.get(guichet.url(path), timeout=10), 403, "forbidden")
    before = guichet.sql_value("SELECT count(*) FROM assists")
    assert_error(post(guichet, s, "/v1/admin/assist", {"code": "123456"}), 403, "forbidden")
    assert guichet.sql_value("SELECT count(*) FROM assists") == before


def test_reviewers_and_advisors_do_not_reach_customers(guichet, customer):
    for role in ("reviewer", "advisor"):
        sess = Admin(guichet, role).login()
        assert_error(sess.get(guichet.url(f"/v1/admin/customers/{customer.id}"),
                              timeout=10), 403, "forbidden")
        assert_error(sess.get(guichet.url(f"/v1/admin/customers?q={customer.id}"),
                              timeout=10), 403, "forbidden")
        assert_error(post(guichet, sess, f"/v1/admin/customers/{customer.id}/unlock",
                          {"comment": "no"}), 403, "forbidden")


def test_search_by_id_reference_and_email(guichet, s, new_customer):
    c = new_customer()
    other = new_customer()
    email = f"Anna.{c.id[-6:]}@Example.org"
    guichet.sql("INSERT INTO customer_contacts (customer_id, email, lang) VALUES (%s, %s, 'fr')",
                c.id, email)

    def search(q):
        r = s.get(guichet.url("/v1/admin/customers"), params={"q": q}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["customers"]

    for q in (c.id, c.ref, email, email.lower(), email.upper()):
        [hit] = search(q)
        assert hit["customer_id"] == c.id and hit["ref"] == c.ref, q
        assert hit["email"] == email and hit["locked"] is False
        assert hit["active_credentials"] == 1 and hit["created_at"].endswith("Z")
    assert search(other.ref)[0]["customer_id"] == other.id
    assert search("nobody@example.org") == []
    assert search("cus_" + "x" * 22) == []
    for bad in ({}, {"q": ""}, {"q": "x" * 255}):
        assert_error(s.get(guichet.url("/v1/admin/customers"), params=bad, timeout=10),
                     400, "bad_request")


def test_view_lists_phones_and_latest_attempts(guichet, http, s, customer):
    c = customer
    assert http.verify_otp(c.id, c.pin, wrong_code(c.code())).status_code == 401
    assert http.verify_otp(c.id, "0000" if c.pin != "0000" else "1111",
                           c.code()).status_code == 401
    r = s.get(guichet.url(f"/v1/admin/customers/{c.id}"), timeout=10)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["devices"] == []          # made by the CLI: no phone
    attempts = view["verify_attempts"]
    assert [a["outcome"] for a in attempts[:2]] == ["pin_invalid", "otp_invalid"]
    assert all(a["action"] == "verify" and a["at"].endswith("Z") for a in attempts)
    assert attempts[0]["id"] > attempts[1]["id"]
    assert view["failed_attempts"] == 2 and view["locked"] is False
    assert "pin_hash" not in r.text and c.secret not in r.text


def test_unlock_needs_a_comment_and_audits_it(guichet, http, s, support, customer):
    c = customer
    lock(http, c)
    url = f"/v1/admin/customers/{c.id}/unlock"
    for body in ({}, {"comment": ""}, {"comment": "  \n "}, {"comment": "x" * 2001},
                 {"comment": 5}):
        assert_error(post(guichet, s, url, body), 400)
    assert_error(post(guichet, s, url, {"comment": " "}), 400, "invalid_field")
    assert guichet.sql("SELECT locked_until > now() FROM customers WHERE id = %s",
                       c.id) == [(True,)]
    assert audit_rows(guichet, "customer.unlock", c.id) == []
    r = post(guichet, s, url, {"comment": "Customer called; identity checked by callback"})
    assert r.status_code == 200 and r.json() == {"customer_id": c.id, "locked": False}, r.text
    assert guichet.sql("SELECT failed_attempts, locked_until FROM customers WHERE id = %s",
                       c.id) == [(0, None)]
    [(actor, details)] = audit_rows(guichet, "customer.unlock", c.id)
    assert actor == support.username
    assert details == {"comment": "Customer called; identity checked by callback",
                       "failed_attempts": 5, "was_locked": True}
    assert http.verify_otp(c.id, c.pin, c.code()).status_code in (200, 401)


def test_support_revokes_with_a_reason(guichet, s, support, customer):
    c = customer
    [cred] = s.get(guichet.url(f"/v1/admin/customers/{c.id}"), timeout=10).json()["credentials"]
    url = f"/v1/admin/credentials/{cred['id']}/revoke"
    assert_error(post(guichet, s, url, {"reason": ""}), 400, "invalid_field")
    assert guichet.sql("SELECT state FROM credentials WHERE id = %s", cred["id"]) == [("active",)]
    r = post(guichet, s, url, {"reason": "phone lost, customer called"})
    assert r.status_code == 200 and r.json()["state"] == "revoked", r.text
    assert guichet.sql("SELECT state, revoked_by FROM credentials WHERE id = %s",
                       cred["id"]) == [("revoked", support.username)]
    [(actor, details)] = audit_rows(guichet, "credential.revoke", cred["id"])
    assert actor == support.username and details["reason"] == "phone lost, customer called"


def test_cli_refuses_an_unknown_role(guichet):
    out = guichet.cli_run("admin", "create", "--username", "rolebogus1", "--role", "boss")
    assert out.returncode != 0
    assert "support" in out.stdout
    assert guichet.sql("SELECT count(*) FROM admins WHERE username = 'rolebogus1'") == [(0,)]

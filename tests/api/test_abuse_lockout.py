# SPDX-License-Identifier: AGPL-3.0-or-later
"""Lockout is not a denial-of-service weapon (issue 12; PSD2 RTS Art.
4(3)(b) allows a temporary block): a customer locked by five wrong codes
is locked for 15 minutes, then 30, 60... at most a day, and the relying
party sees 423 `locked` with the time it ends and Retry-After;
lockout_permanent = 1 keeps the old behaviour.  Back-office accounts
alike, counted per username tried, so five requests by a stranger cannot
shut an admin out for good, and a 423 does not tell whether a username
exists.  guichetd customer unlock and the back-office unlock still end a
lock.  Time passes by moving locked_until in the database."""
import datetime
import sys
import time
from pathlib import Path

import pyotp
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from abuse import client, extra_server  # noqa: E402
from conftest import create_customer  # noqa: E402
from helpers import assert_error, wait_fresh_step, wrong_code  # noqa: E402
from test_admin import Admin, post  # noqa: E402


def until(body):
    v = body["locked_until"]
    return datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))


def seconds_left(body):
    return (until(body) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


def lock_row(guichet, cid):
    return guichet.sql("SELECT failed_attempts, lockouts, locked_until > now(),"
                       " extract(epoch FROM locked_until - now()) FROM customers WHERE id = %s",
                       cid)[0]


def five_wrong(http, c):
    for i in range(5):
        r = http.verify_otp(c.id, c.pin, wrong_code())
        assert_error(r, 401, "authentication_failed")


def end_lock(guichet, table, column, value):
    """Time passes: the lock in force ends now."""
    guichet.sql(f"UPDATE {table} SET locked_until = now() - interval '1 second'"
                f" WHERE {column} = %s AND locked_until > now()", value)


# ------------------------------------------------------------------ customers

def test_a_customer_lock_is_temporary_and_doubles(guichet, http):
    c = create_customer(guichet)
    five_wrong(http, c)
    now = wait_fresh_step(min_left=8)
    good = pyotp.TOTP(c.secret).at(now)
    guichet.secrets.add(good)
    r = http.verify_otp(c.id, c.pin, good)        # even the right PIN + OTP
    body = assert_error(r, 423, "locked")
    assert 890 <= seconds_left(body) <= 901, body
    assert 890 <= int(r.headers["Retry-After"]) <= 900
    failed, lockouts, locked, left = lock_row(guichet, c.id)
    assert (failed, lockouts, locked) == (5, 1, True) and 890 <= left <= 900
    assert "attempts_remaining" not in body
    # 15 minutes later: five more tries, then 30 minutes
    end_lock(guichet, "customers", "id", c.id)
    five_wrong(http, c)
    body = assert_error(http.verify_otp(c.id, c.pin, wrong_code()), 423, "locked")
    assert 1790 <= seconds_left(body) <= 1801
    assert lock_row(guichet, c.id)[:3] == (5, 2, True)
    # and so on, capped at lockout_max_s (a day)
    guichet.sql("UPDATE customers SET lockouts = 20 WHERE id = %s", c.id)
    end_lock(guichet, "customers", "id", c.id)
    five_wrong(http, c)
    body = assert_error(http.verify_otp(c.id, c.pin, wrong_code()), 423, "locked")
    assert 86390 <= seconds_left(body) <= 86401
    # once it ends, the right PIN + OTP gets in and wipes the history
    end_lock(guichet, "customers", "id", c.id)
    now = wait_fresh_step(min_left=8)
    good = pyotp.TOTP(c.secret).at(now)
    guichet.secrets.add(good)
    r = http.verify_otp(c.id, c.pin, good)
    assert r.status_code == 200, r.text
    assert guichet.sql("SELECT failed_attempts, lockouts, locked_until FROM customers"
                       " WHERE id = %s", c.id)[0] == (0, 0, None)


def test_unlock_ends_a_lock_and_its_history(guichet, http):
    c = create_customer(guichet)
    five_wrong(http, c)
    assert_error(http.verify_otp(c.id, c.pin, wrong_code()), 423, "locked")
    out = guichet.cli("customer", "unlock", "--customer", c.id)
    assert out == {"customer_id": c.id, "locked": False}
    assert guichet.sql("SELECT failed_attempts, lockouts, locked_until FROM customers"
                       " WHERE id = %s", c.id)[0] == (0, 0, None)
    five_wrong(http, c)
    admin = Admin(guichet, "admin").login()
    view = admin.get(guichet.url(f"/v1/admin/customers/{c.id}"), timeout=10).json()
    assert view["locked"] is True and view["lockouts"] == 1 and view["locked_until"]
    r = post(guichet, admin, f"/v1/admin/customers/{c.id}/unlock",
             {"comment": "customer called"})
    assert r.status_code == 200, r.text
    assert guichet.sql("SELECT lockouts, locked_until FROM customers WHERE id = %s",
                       c.id)[0] == (0, None)
    assert http.verify_otp(c.id, c.pin, wrong_code()).json()["attempts_remaining"] == 4


def test_lockout_permanent_is_configurable(guichet):
    with extra_server(guichet, "lock-permanent", GUICHET_LOCKOUT_PERMANENT=1,
                      GUICHET_ARGON2_M_KIB=1024, GUICHET_ARGON2_T=1) as srv:
        key = guichet.cli("apikey", "create", "--name", "perm-" + client().addr)["key"]
        guichet.secrets.add(key)
        c = create_customer(guichet)
        h = {"Authorization": f"Bearer {key}"}

        def v():
            return requests.post(srv.url("/v1/authn/verify"), headers=h, timeout=10,
                                 json={"customer_id": c.id, "pin": c.pin, "otp": wrong_code()})
        for _ in range(5):
            assert v().status_code == 401
        r = v()
        body = assert_error(r, 423, "locked")
        assert body["locked_until"] is None and "Retry-After" not in r.headers
        assert guichet.sql_value("SELECT locked_until = 'infinity' FROM customers WHERE id = %s",
                                 c.id)
        guichet.cli("customer", "unlock", "--customer", c.id)
        assert v().status_code == 401


# ------------------------------------------------------------------ back-office

def login(g, c, username, password="x" * 24, otp="123456"):
    return c.post(g.url("/v1/admin/login"),
                  json={"username": username, "password": password, "otp": otp}, timeout=30)


def shape(r):
    """What a stranger sees of an answer, the moment aside."""
    b = r.json()
    if "locked_until" in b:
        b["locked_until"] = "T"
    return r.status_code, b, "Retry-After" in r.headers


def test_a_locked_unknown_username_answers_like_a_known_one(guichet):
    a = Admin(guichet, "admin")
    ghost = "ghost-" + a.username
    known, unknown = [], []
    for i in range(7):
        known.append(login(guichet, client(), a.username))
        unknown.append(login(guichet, client(), ghost))
    assert [shape(r) for r in known] == [shape(r) for r in unknown]
    assert [r.status_code for r in known] == [401] * 5 + [423] * 2
    for r in (known[-1], unknown[-1]):
        body = r.json()
        assert 890 <= seconds_left(body) <= 901 and 890 <= int(r.headers["Retry-After"]) <= 900
    rows = dict(guichet.sql("SELECT username, lockouts FROM admin_lockouts"
                            " WHERE username IN (%s, %s)", a.username, ghost))
    assert rows == {a.username: 1, ghost: 1}


def test_a_stranger_cannot_shut_an_admin_out_for_good(guichet):
    a = Admin(guichet, "admin")
    for _ in range(5):
        login(guichet, client(), a.username)
    s, r = a.login_raw()
    assert_error(r, 423, "locked")                 # right password and code: locked
    end_lock(guichet, "admin_lockouts", "username", a.username)   # 15 minutes later
    a.login()
    assert guichet.sql_value("SELECT count(*) FROM admin_lockouts WHERE username = %s",
                             a.username) == 0
    # and the operator can end a lock at once
    for _ in range(5):
        login(guichet, client(), a.username)
    assert guichet.cli("admin", "unlock", "--username", a.username)["locked"] is False
    a.login()

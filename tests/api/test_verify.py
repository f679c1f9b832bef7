# SPDX-License-Identifier: AGPL-3.0-or-later
"""POST /v1/authn/verify: PIN + TOTP from two independent implementations,
replay (including an older code after a newer one), the ±1 step window,
lockout and unlock, identical failure bodies, and 16 parallel submissions of
one code.  Each test asserts on the answer and on what changed in the
database (customers, credentials, authn_audit)."""
import re
import secrets
import threading

import pytest
import requests

from helpers import (STEP, assert_error, oathtool_totp, random_pin, totp_at,
                     wait_fresh_step, wrong_code)


def state(guichet, customer_id):
    """(failed_attempts, locked?) of a customer."""
    row = guichet.sql("SELECT failed_attempts, locked_at IS NOT NULL FROM customers "
                      "WHERE id = %s", customer_id)
    assert row, f"no customer {customer_id}"
    return row[0]


def credential(guichet, customer_id):
    rows = guichet.sql("SELECT id, counter, drift, last_used_at FROM credentials "
                       "WHERE customer_id = %s AND state = 'active'", customer_id)
    assert len(rows) == 1, rows
    return rows[0]


def audit(guichet, customer_id):
    """[(action, outcome, attempts_remaining, relying_party, client_addr,
    credential_id)] of a customer, oldest first."""
    return guichet.sql("SELECT action, outcome, attempts_remaining, relying_party, "
                       "client_addr, credential_id FROM authn_audit "
                       "WHERE customer_id = %s ORDER BY id", customer_id)


def outcomes(guichet, customer_id):
    return [row[1] for row in audit(guichet, customer_id)]


def accepted(resp, guichet, customer):
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    cred_id = credential(guichet, customer.id)[0]
    assert body == {"result": "accepted", "credential_id": cred_id}
    return body


def failed(resp, remaining):
    body = assert_error(resp, 401, "authentication_failed")
    assert body.get("attempts_remaining") == remaining, body
    assert set(body) == {"error", "attempts_remaining"}, body
    return body


# ------------------------------------------------------------------ accept

def test_accepts_pyotp_code(guichet, http, customer):
    t = wait_fresh_step()
    step = int(t) // STEP
    r = http.verify_otp(customer.id, customer.pin, totp_at(customer.secret, t))
    body = accepted(r, guichet, customer)
    cred_id, counter, drift, last_used = credential(guichet, customer.id)
    assert counter == step, "TOTP counter is the last accepted step"
    assert drift == 0
    assert last_used is not None
    assert state(guichet, customer.id) == (0, False)
    rows = audit(guichet, customer.id)
    assert len(rows) == 1, rows
    action, outcome, _, relying_party, client_addr, audit_cred = rows[0]
    assert (action, outcome) == ("verify", "accepted")
    assert relying_party == "api-tests" and client_addr == "127.0.0.1"
    assert audit_cred == cred_id == body["credential_id"]


def test_accepts_oathtool_code(guichet, http, customer):
    t = wait_fresh_step()
    code = oathtool_totp(customer.secret, t)
    assert code == totp_at(customer.secret, t), "oathtool and pyotp disagree"
    accepted(http.verify_otp(customer.id, customer.pin, code), guichet, customer)
    assert outcomes(guichet, customer.id) == ["accepted"]


def test_independent_implementations_agree_on_fixed_times(customer):
    for t in (59, 1111111109, 1234567890, 2000000000):
        assert oathtool_totp(customer.secret, t) == totp_at(customer.secret, t)


def test_pin_compared_exactly(guichet, http, customer):
    # each wrong-PIN attempt carries a fresh valid code, so the PIN is judged
    t = wait_fresh_step(10)
    failed(http.verify_otp(customer.id, customer.pin + "1", totp_at(customer.secret, t - STEP)), 4)
    failed(http.verify_otp(customer.id, customer.pin[:-1], totp_at(customer.secret, t)), 3)
    assert state(guichet, customer.id) == (2, False)
    assert outcomes(guichet, customer.id) == ["pin_invalid", "pin_invalid"]
    # a success resets the count
    accepted(http.verify_otp(customer.id, customer.pin, totp_at(customer.secret, t + STEP)),
             guichet, customer)
    assert state(guichet, customer.id) == (0, False)
    failed(http.verify_otp(customer.id, customer.pin, wrong_code(customer.code())), 4)


# ------------------------------------------------------------------ replay

def replay_refused(guichet, resp, customer, before):
    """A spent code is refused like any failure.  Whether it also counts
    toward the lockout is the server's choice (authn/verify.c does not count
    it: the PIN was never tried); the answer and the database must agree."""
    body = assert_error(resp, 401, "authentication_failed")
    remaining = body.get("attempts_remaining")
    assert remaining in (5 - before, 4 - before), body
    assert state(guichet, customer.id) == (5 - remaining, False)
    assert outcomes(guichet, customer.id)[-1] == "otp_replayed"


def test_replay_refused(guichet, http, customer):
    t = wait_fresh_step()
    code = totp_at(customer.secret, t)
    accepted(http.verify_otp(customer.id, customer.pin, code), guichet, customer)
    counter = credential(guichet, customer.id)[1]
    replay_refused(guichet, http.verify_otp(customer.id, customer.pin, code), customer, 0)
    assert credential(guichet, customer.id)[1] == counter
    assert outcomes(guichet, customer.id) == ["accepted", "otp_replayed"]


def test_older_code_in_window_refused_after_newer(guichet, http, customer):
    t = wait_fresh_step(10)
    older, now, newer = (totp_at(customer.secret, t + d) for d in (-STEP, 0, STEP))
    assert len({older, now, newer}) == 3, "codes collide: rerun"
    accepted(http.verify_otp(customer.id, customer.pin, now), guichet, customer)
    # the previous step is inside the ±1 window, but older than the accepted one
    replay_refused(guichet, http.verify_otp(customer.id, customer.pin, older), customer, 0)
    assert credential(guichet, customer.id)[1] == int(t) // STEP
    # the next step is newer: accepted, and the count resets
    accepted(http.verify_otp(customer.id, customer.pin, newer), guichet, customer)
    assert credential(guichet, customer.id)[1] == int(t) // STEP + 1
    assert credential(guichet, customer.id)[2] == 1, "drift: the code was one step ahead"
    assert state(guichet, customer.id) == (0, False)


def test_window_is_one_step_each_side(guichet, http, customer):
    t = wait_fresh_step(10)
    far_past, far_future = totp_at(customer.secret, t - 2 * STEP), totp_at(customer.secret, t + 2 * STEP)
    window = {totp_at(customer.secret, t + d) for d in (-STEP, 0, STEP)}
    if far_past in window or far_future in window:
        pytest.skip("codes collide at this instant")
    failed(http.verify_otp(customer.id, customer.pin, far_past), 4)
    failed(http.verify_otp(customer.id, customer.pin, far_future), 3)
    assert outcomes(guichet, customer.id) == ["otp_invalid", "otp_invalid"]
    assert credential(guichet, customer.id)[1] == 0, "nothing accepted yet"
    # one step behind: accepted
    accepted(http.verify_otp(customer.id, customer.pin, totp_at(customer.secret, t - STEP)),
             guichet, customer)
    assert credential(guichet, customer.id)[1] == int(t) // STEP - 1
    assert credential(guichet, customer.id)[2] == -1, "drift: the code was one step behind"


# ------------------------------------------------------------------ lockout

def test_lockout_after_five_failures_then_unlock(guichet, http, customer):
    t = wait_fresh_step(15)
    good = totp_at(customer.secret, t)
    for remaining in (4, 3, 2, 1):
        failed(http.verify_otp(customer.id, customer.pin, wrong_code(good)), remaining)
    r = http.verify_otp(customer.id, customer.pin, wrong_code(good))
    if r.status_code == 401:
        failed(r, 0)
    else:
        assert_error(r, 423, "locked")
    n, locked = state(guichet, customer.id)
    assert locked and n >= 5
    # locked: even the right PIN and OTP are refused
    body = assert_error(http.verify_otp(customer.id, customer.pin, good), 423, "locked")
    assert "attempts_remaining" not in body or body["attempts_remaining"] == 0
    assert outcomes(guichet, customer.id)[-1] == "locked"
    # unlock clears it
    out = guichet.cli("customer", "unlock", "--customer", customer.id)
    assert out == {"customer_id": customer.id, "locked": False}
    assert state(guichet, customer.id) == (0, False)
    accepted(http.verify_otp(customer.id, customer.pin, totp_at(customer.secret, t + STEP)),
             guichet, customer)


def test_wrong_pin_and_wrong_otp_both_count(guichet, http, customer):
    t = wait_fresh_step(15)
    good = totp_at(customer.secret, t)
    failed(http.verify_otp(customer.id, customer.pin, wrong_code(good)), 4)
    failed(http.verify_otp(customer.id, "19283746", good), 3)
    failed(http.verify_otp(customer.id, customer.pin, wrong_code(good)), 2)
    failed(http.verify_otp(customer.id, "56473829", wrong_code(good)), 1)
    r = http.verify_otp(customer.id, "91827364", totp_at(customer.secret, t + STEP))
    assert r.status_code in (401, 423), r.text
    assert state(guichet, customer.id)[1], "locked after five failures of either kind"
    assert_error(http.verify_otp(customer.id, customer.pin, totp_at(customer.secret, t + STEP)),
                 423, "locked")
    oc = outcomes(guichet, customer.id)
    assert "pin_invalid" in oc and "otp_invalid" in oc, oc


def test_unlock_unknown_customer_fails(guichet):
    r = guichet.cli_run("customer", "unlock", "--customer", "cus_" + "A" * 22)
    assert r.returncode != 0
    import json
    err = json.loads(r.stdout)["error"]
    assert err["code"] == "not_found", err


def test_parallel_failures_counted_exactly(guichet, http, customer):
    """16 wrong guesses at once: the count is atomic in PostgreSQL (each of
    4, 3, 2, 1 attempts remaining is told exactly once), the lock holds, and
    afterwards the right PIN + OTP is refused."""
    t = wait_fresh_step(15)
    good = totp_at(customer.secret, t)
    results = parallel(guichet, http, [(customer.id, customer.pin, wrong_code(good))] * 16)
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {401, 423}, statuses
    for r in results:
        assert_error(r, r.status_code, "authentication_failed" if r.status_code == 401 else "locked")
    remaining = sorted(r.json().get("attempts_remaining") for r in results if r.status_code == 401)
    assert [n for n in remaining if n != 0] == [1, 2, 3, 4], remaining
    assert 0 in remaining, "the fifth failure says 0 attempts remain"
    assert state(guichet, customer.id)[1], "locked"
    assert_error(http.verify_otp(customer.id, customer.pin, good), 423, "locked")


# ------------------------------------------------------------------ nothing revealed

def _strip_remaining(raw):
    out = re.sub(rb',\s*"attempts_remaining"\s*:\s*\d+', b"", raw)
    return re.sub(rb'"attempts_remaining"\s*:\s*\d+\s*,\s*', b"", out)


def test_failures_are_indistinguishable(guichet, http, new_customer):
    a, b = new_customer(), new_customer()
    t = wait_fresh_step()
    wrong_pin = http.verify_otp(a.id, "73829164", totp_at(a.secret, t))
    wrong_otp = http.verify_otp(b.id, b.pin, wrong_code(totp_at(b.secret, t)))
    unknown = http.verify_otp("cus_" + secrets.token_urlsafe(16)[:22], "73829164", "123456")
    failed(wrong_pin, 4)
    failed(wrong_otp, 4)
    body = assert_error(unknown, 401, "authentication_failed")
    assert "attempts_remaining" not in body, "unknown customers have no counter"
    assert wrong_pin.content == wrong_otp.content, "wrong PIN vs wrong OTP must be byte-identical"
    assert _strip_remaining(wrong_pin.content) == unknown.content, (wrong_pin.content, unknown.content)
    skip = {"date", "content-length", "x-request-id", "request-id"}
    for r in (wrong_otp, unknown):
        assert ({k.lower() for k in r.headers} - skip) == ({k.lower() for k in wrong_pin.headers} - skip)
        assert r.headers["Content-Type"] == wrong_pin.headers["Content-Type"]
    assert outcomes(guichet, a.id) == ["pin_invalid"]
    assert outcomes(guichet, b.id) == ["otp_invalid"]


def test_unknown_customer_is_audited(guichet, http):
    cid = "cus_" + secrets.token_urlsafe(16)[:22]
    assert_error(http.verify_otp(cid, "73829164", "123456"), 401, "authentication_failed")
    rows = audit(guichet, cid)
    assert [(r[0], r[1], r[2]) for r in rows] == [("verify", "unknown_customer", None)]
    assert guichet.sql_value("SELECT count(*) FROM customers WHERE id = %s", cid) == 0


# ------------------------------------------------------------------ concurrency

def parallel(guichet, http, calls):
    """POST each (customer_id, pin, otp) of @calls at once, one connection
    each; @return the responses."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    key = http.headers["Authorization"]

    def run(i, call):
        s = requests.Session()
        s.headers["Authorization"] = key
        # open the connection before the barrier so the POSTs race
        s.get(guichet.url("/healthz"), timeout=10)
        barrier.wait()
        results[i] = s.post(guichet.url("/v1/authn/verify"),
                            json=dict(zip(("customer_id", "pin", "otp"), call)), timeout=60)
        s.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(90)
    assert all(r is not None for r in results), "a request did not finish"
    return results


def test_parallel_submissions_of_one_code(guichet, http, customer):
    t = wait_fresh_step(15)
    code = totp_at(customer.secret, t)
    results = parallel(guichet, http, [(customer.id, customer.pin, code)] * 16)
    statuses = [r.status_code for r in results]
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 401, 423}, statuses
    oc = outcomes(guichet, customer.id)
    assert len(oc) == 16, oc
    assert oc.count("accepted") == 1, oc
    assert credential(guichet, customer.id)[1] == int(t) // STEP


def test_one_code_buys_one_pin_try(guichet, http, customer):
    """16 parallel submissions of one right code, each with another PIN
    (one of them the customer's): the PIN of exactly one is tried --
    accepted or counted -- and the other 15 are refused as replays without
    counting, whatever their PIN."""
    pins = {customer.pin}
    while len(pins) < 16:
        pins.add(random_pin())
    t = wait_fresh_step(15)
    code = totp_at(customer.secret, t)
    results = parallel(guichet, http, [(customer.id, p, code) for p in sorted(pins)])
    oc = outcomes(guichet, customer.id)
    assert len(oc) == 16 and oc.count("otp_replayed") == 15, oc
    tried = [o for o in oc if o != "otp_replayed"]
    assert tried in (["accepted"], ["pin_invalid"]), oc
    statuses = sorted(r.status_code for r in results)
    assert statuses == ([200] if tried == ["accepted"] else []) + [401] * (16 - (tried == ["accepted"])), statuses
    assert state(guichet, customer.id) == ((0 if tried == ["accepted"] else 1), False)
    for r in results:
        if r.status_code == 401:
            assert r.json()["attempts_remaining"] in (4, 5), r.text
    assert credential(guichet, customer.id)[1] == int(t) // STEP


def test_parallel_customers_all_accepted(guichet, http, new_customer):
    """Different customers verifying at once do not get in each other's way."""
    cs = [new_customer() for _ in range(8)]
    t = wait_fresh_step(15)
    results = parallel(guichet, http, [(c.id, c.pin, totp_at(c.secret, t)) for c in cs])
    assert [r.status_code for r in results] == [200] * 8, [r.text for r in results]

# SPDX-License-Identifier: AGPL-3.0-or-later
"""What waits for the WAL flush before a verify answer leaves
(docs/configuration.md, "What is durable before an answer leaves"), measured
on a durable cluster of its own by PostgreSQL's count of WAL flushes
(pg_stat_wal.wal_sync; the other API tests run with fsync off, where it
stays 0):

- every counted failure and every accepted verify waits for its own flush;
- the audit row of a refusal that changes nothing (unknown or locked
  customer) does not, unless audit_refusals_sync = 1 -- and is written
  either way;
- a right PIN + OTP waits for one too: the code is spent in the same
  statement that records the success."""
import json
import secrets
import time

import pytest
import requests

from conftest import FAST_ARGON2
from harness import SUITE_LIMITS, Stack
from helpers import parse_otpauth, random_pin, totp_at, wait_fresh_step, wrong_code

N = 40


@pytest.fixture(scope="module")
def durable():
    s = Stack("durable", env=dict(FAST_ARGON2, **SUITE_LIMITS), durable=True)
    try:
        s.api_key = s.server.cli("apikey", "create", "--name", "durability")["key"]
        yield s
    finally:
        s.close()


def settle(stack):
    """Stop guichetd and wait until its database sessions have ended: a
    session publishes its WAL counts when it exits (while it lives,
    PostgreSQL 15 may hold them back for up to 10 s)."""
    stack.server.stop()
    deadline = time.monotonic() + 10
    while stack.cluster.psql("SELECT count(*) FROM pg_stat_activity "
                             "WHERE application_name = 'guichetd'") != "0":
        assert time.monotonic() < deadline, "guichetd's sessions did not end"
        time.sleep(0.05)


def flushes_during(stack, action, refusals_sync=None):
    """Run @action against a guichetd started with @refusals_sync; @return
    (WAL flushes by anyone meanwhile, what @action returned)."""
    settle(stack)
    before = int(stack.cluster.psql("SELECT wal_sync FROM pg_stat_wal"))
    stack.server.extra_env.pop("GUICHET_AUDIT_REFUSALS_SYNC", None)
    if refusals_sync is not None:
        stack.server.extra_env["GUICHET_AUDIT_REFUSALS_SYNC"] = refusals_sync
    stack.server.start()
    try:
        out = action()
        settle(stack)
        return int(stack.cluster.psql("SELECT wal_sync FROM pg_stat_wal")) - before, out
    finally:
        stack.server.extra_env.pop("GUICHET_AUDIT_REFUSALS_SYNC", None)
        if stack.server.proc is None or stack.server.proc.poll() is not None:
            stack.server.start()


def audit_count(stack, outcome):
    return int(stack.cluster.psql(
        f"SELECT count(*) FROM authn_audit WHERE outcome = '{outcome}'", dbname="guichet").strip())


def verify(stack, customer_id, pin, otp):
    return requests.post(stack.server.base_url + "/v1/authn/verify",
                         headers={"Authorization": "Bearer " + stack.api_key},
                         json={"customer_id": customer_id, "pin": pin, "otp": otp}, timeout=30)


def make_customer(stack):
    pin = random_pin()
    out = stack.server.cli("customer", "create", "--ref", "dur-" + secrets.token_hex(6),
                           "--pin", pin, "--otpauth")
    return out["customer_id"], pin, parse_otpauth(out["otpauth_uri"])[1]["secret"]


def unknown_refusals(stack):
    """N verifies for unknown customers, one after another: @return the
    audit rows they wrote."""
    rows = audit_count(stack, "unknown_customer")
    for _ in range(N):
        r = verify(stack, "cus_" + secrets.token_urlsafe(16)[:22], "73829164", "123456")
        assert r.status_code == 401, r.text
    return audit_count(stack, "unknown_customer") - rows


def test_refusals_do_not_wait_for_a_flush_by_default(durable):
    flushes, rows = flushes_during(durable, lambda: unknown_refusals(durable))
    assert rows == N, "every refusal is audited"
    # the WAL writer flushes them in the background, a few at a time
    assert flushes < N // 2, f"{flushes} WAL flushes for {N} refusals"


def test_refusals_wait_with_audit_refusals_sync(durable):
    flushes, rows = flushes_during(durable, lambda: unknown_refusals(durable), "1")
    assert rows == N
    assert flushes >= N, f"only {flushes} WAL flushes for {N} durable refusals"
    # a locked customer's refusal too
    cid, pin, secret = make_customer(durable)
    durable.cluster.psql(f"UPDATE customers SET locked_at = now(), failed_attempts = 5, "
                         f"locked_until = now() + interval '1 hour' "
                         f"WHERE id = '{cid}'", dbname="guichet")

    def locked():
        before = audit_count(durable, "locked")
        for _ in range(N):
            r = verify(durable, cid, pin, "123456")
            assert r.status_code == 423, r.text
        return audit_count(durable, "locked") - before

    flushes, rows = flushes_during(durable, locked, "1")
    assert rows == N and flushes >= N, (rows, flushes)
    flushes, rows = flushes_during(durable, locked)
    assert rows == N and flushes < N // 2, (rows, flushes)


def test_bad_value_stops_start_up(durable):
    r = durable.server.cli_run("migrate", env=durable.server.env(GUICHET_AUDIT_REFUSALS_SYNC="2"))
    assert r.returncode != 0
    assert "audit_refusals_sync" in (r.stdout + r.stderr)


def test_counted_failures_and_accepts_always_wait(durable):
    cid, pin, secret = make_customer(durable)
    t = wait_fresh_step(15)
    good = totp_at(secret, t)

    def two_failures():
        for remaining in (4, 3):
            r = verify(durable, cid, pin, wrong_code(good))
            assert r.status_code == 401 and r.json()["attempts_remaining"] == remaining, r.text

    flushes, _ = flushes_during(durable, two_failures)
    assert flushes >= 2, "each counted failure is flushed before its answer"
    # spend + success: one statement, one flush
    flushes, r = flushes_during(durable, lambda: verify(durable, cid, pin, good))
    assert r.status_code == 200, r.text
    assert flushes >= 1
    row = durable.cluster.psql(f"SELECT counter, (SELECT failed_attempts FROM customers "
                               f"WHERE id = '{cid}') FROM credentials WHERE customer_id = '{cid}'",
                               dbname="guichet")
    assert row == f"{int(t) // 30}|0", row
    # the spent code stays spent
    r = verify(durable, cid, pin, good)
    assert r.status_code == 401, r.text
    assert json.loads(durable.cluster.psql(
        f"SELECT json_agg(outcome ORDER BY id) FROM authn_audit WHERE customer_id = '{cid}'",
        dbname="guichet")) == ["otp_invalid", "otp_invalid", "accepted", "otp_replayed"]

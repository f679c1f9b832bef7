# SPDX-License-Identifier: AGPL-3.0-or-later
"""Nothing a stranger can create grows without bound (issue 12,
"Retention"): guichetd purges, on a schedule and in bounded batches,
expired challenges that bound no device and the activation attempts on
them, ended applicant and admin sessions, used or expired resume tokens,
old signed-request nonces, sent or failed outbox rows (a pending one
waits for its sender however old), spent Idempotency-Keys,
rate-limit rows that hold nothing and idle login-failure rows -- and
keeps whatever is still alive, and the audit logs.  Of several instances
one purges at a time (an advisory lock).  An activation for an unknown
challenge id is recorded nowhere.

Rows are planted with SQL, aged or fresh, then a guichetd of its own with
a short purge interval and short retentions does its work."""
import hashlib
import secrets
import sys
import time
from pathlib import Path

import psycopg2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from abuse import extra_server, wait_until  # noqa: E402
from helpers import assert_error  # noqa: E402
from phone import Phone  # noqa: E402
from test_admin import Admin  # noqa: E402

OLD = "now() - interval '2 hours'"
PURGE_LOCK = 7020589217993171301        # core/retention.c


def h(tag):
    return hashlib.sha256(tag.encode()).digest()


def plant(g, tag, when, admin):
    """One row of every purged kind, dated @when (SQL); @return a probe per
    table: (table, condition, parameter) that finds the row."""
    enr = f"enr_p{tag}"
    g.sql("INSERT INTO enrolments (id, state, expires_at, applicant, email, identity_key)"
          " VALUES (%s, 'device', now() + interval '1 day', '{}', 'p@example.org', %s)"
          " ON CONFLICT DO NOTHING", enr, "k" + tag)
    g.sql(f"INSERT INTO device_challenges (id, enrolment_id, secret_sealed, created_at, expires_at)"
          f" VALUES (%s, %s, '\\x00', {when}, {when} + interval '3 minutes')", f"ch_p{tag}", enr)
    g.sql(f"INSERT INTO activation_attempts (at, challenge_id, outcome)"
          f" VALUES ({when}, %s, 'proof_invalid')", f"ch_p{tag}")
    g.sql(f"INSERT INTO applicant_sessions (token_hash, enrolment_id, created_at, last_seen_at)"
          f" VALUES (%s, %s, {when}, {when})", h("s" + tag), enr)
    g.sql(f"INSERT INTO resume_tokens (token_hash, enrolment_id, created_at, expires_at)"
          f" VALUES (%s, %s, {when}, {when} + interval '1 second')", h("r" + tag), enr)
    g.sql(f"INSERT INTO device_request_nonces (device_id, ts, msg_hash, at)"
          f" VALUES (%s, extract(epoch FROM {when})::bigint, %s, {when})",
          f"dev_p{tag}", h("n" + tag))
    g.sql(f"INSERT INTO outbox (created_at, kind, recipient, subject, body, state, sent_at)"
          f" VALUES ({when}, 'test', 'p@example.org', %s, 'x', 'sent', {when})", tag)
    g.sql(f"INSERT INTO outbox (created_at, kind, recipient, subject, body, state,"
          f" failed_at) VALUES ({when}, 'test', 'p@example.org', %s, 'x', 'failed', {when})",
          tag + "-failed")
    g.sql(f"INSERT INTO idempotency_keys (scope, key, request_hash, status, response, created_at)"
          f" VALUES ('test', %s, '\\x00', 201, '{{}}', {when} - interval '1 day')", tag)
    g.sql(f"INSERT INTO rate_limits (scope, key, tat)"
          f" VALUES ('test', %s, {when} + interval '1 hour')", tag)
    g.sql(f"INSERT INTO admin_sessions (token_hash, username, csrf_hash, created_at, last_seen_at)"
          f" VALUES (%s, %s, %s, {when}, {when})", h("a" + tag), admin, h("c" + tag))
    g.sql(f"INSERT INTO admin_lockouts (username, failed_attempts, updated_at)"
          f" VALUES (%s, 2, {when})", "p" + tag)
    return [("device_challenges", "id = %s", f"ch_p{tag}"),
            ("activation_attempts", "challenge_id = %s", f"ch_p{tag}"),
            ("applicant_sessions", "token_hash = %s", h("s" + tag)),
            ("resume_tokens", "token_hash = %s", h("r" + tag)),
            ("device_request_nonces", "device_id = %s", f"dev_p{tag}"),
            ("outbox", "subject = %s", tag),
            ("outbox", "subject = %s", tag + "-failed"),
            ("idempotency_keys", "key = %s", tag),
            ("rate_limits", "key = %s", tag),
            ("admin_sessions", "token_hash = %s", h("a" + tag)),
            ("admin_lockouts", "username = %s", "p" + tag)]


def present(g, probes):
    return {(t, cond, str(v)): g.sql_value(f"SELECT count(*) FROM {t} WHERE {cond}", v)
            for t, cond, v in probes}


def audit_counts(g):
    return g.sql("SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM authn_audit)")[0]


@pytest.fixture(scope="module")
def admin(guichet):
    return Admin(guichet, "admin")


def test_the_schedule_purges_what_ended_and_keeps_what_lives(guichet, admin):
    tag = secrets.token_hex(4)
    dead = plant(guichet, "d" + tag, OLD, admin.username)
    live = plant(guichet, "l" + tag, "now()", admin.username)
    # a challenge that bound a device stays, with its attempts, however old
    bound = f"ch_b{tag}"
    guichet.sql(f"INSERT INTO device_challenges (id, enrolment_id, secret_sealed, created_at,"
                f" expires_at) VALUES (%s, %s, '\\x00', {OLD}, {OLD})", bound, f"enr_pd{tag}")
    guichet.sql("INSERT INTO devices (id, enrolment_id, challenge_id, status, public_key, signals)"
                " VALUES (%s, %s, %s, 'active', %s, '{}')",
                f"dev_b{tag}", f"enr_pd{tag}", bound, b"\x04" + b"\x01" * 64)
    guichet.sql(f"INSERT INTO activation_attempts (at, challenge_id, outcome)"
                f" VALUES ({OLD}, %s, 'activated')", bound)
    # a message still waiting for its sender stays, however old
    waiting = "w" + tag
    guichet.sql(f"INSERT INTO outbox (created_at, kind, recipient, subject, body)"
                f" VALUES ({OLD}, 'test', 'p@example.org', %s, 'x')", waiting)
    audits = audit_counts(guichet)
    assert set(present(guichet, dead).values()) == {1}
    with extra_server(guichet, "purge", GUICHET_PURGE_INTERVAL_S=1, GUICHET_RETENTION_S=60,
                      GUICHET_RETENTION_CHALLENGES_S=60, GUICHET_RETENTION_OUTBOX_S=60,
                      GUICHET_RETENTION_NONCES_S=300, GUICHET_SESSION_IDLE_S=60) as srv:
        assert wait_until(lambda: set(present(guichet, dead).values()) == {0}, timeout=15), \
            present(guichet, dead)
        assert "purged" in srv.log_text()
    assert set(present(guichet, live).values()) == {1}, present(guichet, live)
    assert guichet.sql_value("SELECT count(*) FROM outbox WHERE subject = %s", waiting) == 1
    assert guichet.sql_value("SELECT count(*) FROM activation_attempts WHERE challenge_id = %s",
                             bound) == 1
    assert guichet.sql_value("SELECT count(*) FROM device_challenges WHERE id = %s", bound) == 1
    assert audit_counts(guichet) >= audits            # the audit logs are never purged


def test_one_instance_purges_at_a_time_in_batches(guichet):
    tag = secrets.token_hex(4)
    guichet.sql("INSERT INTO rate_limits (scope, key, tat) SELECT 'test', %s || g,"
                " now() - interval '1 minute' FROM generate_series(1, 35) g", tag)
    env = guichet.env(GUICHET_PURGE_BATCH=10)
    mine = "SELECT count(*) FROM rate_limits WHERE scope = 'test' AND key LIKE %s"
    # another instance holds the purge lock: this one skips its turn
    other = psycopg2.connect(host=str(guichet.cluster.sock), dbname="guichet", user="postgres")
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (PURGE_LOCK,))
        out = guichet.cli("purge", env=env)
        assert out == {"ran": False, "purged": {}}
        assert guichet.sql_value(mine, tag + "%") == 35
    finally:
        other.close()                             # and lets go
    out = guichet.cli("purge", env=env)
    assert out["ran"] is True and out["purged"]["rate_limits"] >= 35   # 4 batches of <= 10
    assert guichet.sql_value(mine, tag + "%") == 0


def test_an_unknown_challenge_is_recorded_nowhere(guichet):
    before = guichet.sql_value("SELECT count(*) FROM activation_attempts")
    payload = (f"guichet://activate?v=1&u={guichet.base_url}&c=ch_nothere"
               "&s=AAECAwQFBgcICQoLDA0ODw")
    r = Phone().activate(payload, challenge_override="ch_" + secrets.token_hex(11))
    assert_error(r, 401, "proof_invalid")
    assert guichet.sql_value("SELECT count(*) FROM activation_attempts") == before

# SPDX-License-Identifier: AGPL-3.0-or-later
"""Smaller holes an attacker finds (issue 12, "Smaller holes"): each test
plays the attack against the real guichetd and checks both the answer and
what the database kept.

- a signed device request replayed as the high-s twin (r, n-s) of its
  signature, or re-signed (a new ECDSA signature of the same message);
- a stranger's activation attempt with a wrong proof pushing the genuine
  phone into review (qr_other_keys);
- an Idempotency-Key replay handing out a session;
- resume links: one live link per enrolment, the link kept in the outbox
  only until the message is sent;
- back-office sessions that live forever as long as they are used."""
import hashlib
import json
import re
import shutil
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import REPO  # noqa: E402
from helpers import assert_error  # noqa: E402
from phone import P256_ORDER, Phone, b64u, unb64u  # noqa: E402
from test_admin import Admin  # noqa: E402
from test_devices import activated, challenge, passed_enrolment  # noqa: E402
from test_enrolments import applicant, body_for, start  # noqa: E402

N = P256_ORDER


def flip_s(sig_b64u):
    """The other valid signature of the same message: (r, n - s)."""
    r, s = decode_dss_signature(unb64u(sig_b64u))
    return b64u(encode_dss_signature(r, N - s))


def is_low_s(sig_b64u):
    return decode_dss_signature(unb64u(sig_b64u))[1] <= N // 2


def nonces(g, device_id):
    return g.sql_value("SELECT count(*) FROM device_request_nonces WHERE device_id = %s",
                       device_id)


# ------------------------------------------------------------ signed requests

def test_high_s_twin_of_a_used_signature_is_refused(guichet):
    s, c, p, a = activated(guichet)
    path = f"/v1/devices/{p.device_id}"
    h = p.signed_headers("GET", path)
    assert is_low_s(h["Guichet-Signature"])
    assert requests.get(guichet.url(path), headers=h, timeout=10).status_code == 200
    assert nonces(guichet, p.device_id) == 1
    twin = dict(h, **{"Guichet-Signature": flip_s(h["Guichet-Signature"])})
    assert_error(requests.get(guichet.url(path), headers=twin, timeout=10), 401, "unauthorized")
    assert nonces(guichet, p.device_id) == 1


def test_high_s_signature_is_refused_and_burns_nothing(guichet):
    s, c, p, a = activated(guichet)
    path = f"/v1/devices/{p.device_id}"
    h = p.signed_headers("GET", path)
    high = dict(h, **{"Guichet-Signature": flip_s(h["Guichet-Signature"])})
    assert_error(requests.get(guichet.url(path), headers=high, timeout=10), 401, "unauthorized")
    assert nonces(guichet, p.device_id) == 0
    # the canonical form of the same request still goes through, once
    assert requests.get(guichet.url(path), headers=h, timeout=10).status_code == 200
    assert nonces(guichet, p.device_id) == 1


def test_a_new_signature_of_a_used_message_is_a_replay(guichet):
    s, c, p, a = activated(guichet)
    path = f"/v1/devices/{p.device_id}"
    ts = int(time.time())
    first = p.signed_headers("GET", path, ts=ts)
    again = p.signed_headers("GET", path, ts=ts)   # ECDSA: another random k
    assert first["Guichet-Signature"] != again["Guichet-Signature"]
    assert requests.get(guichet.url(path), headers=first, timeout=10).status_code == 200
    assert_error(requests.get(guichet.url(path), headers=again, timeout=10), 401, "unauthorized")
    msg = f"GET\n{path}\n{ts}\n{hashlib.sha256(b'').hexdigest()}".encode()
    rows = guichet.sql("SELECT ts, msg_hash FROM device_request_nonces WHERE device_id = %s",
                       p.device_id)
    assert [(r[0], bytes(r[1])) for r in rows] == [(ts, hashlib.sha256(msg).digest())]
    # the next second is another message
    nxt = p.signed_headers("GET", path, ts=ts + 1)
    assert requests.get(guichet.url(path), headers=nxt, timeout=10).status_code == 200
    assert nonces(guichet, p.device_id) == 2


def test_the_test_phone_signs_low_s():
    key = ec.generate_private_key(ec.SECP256R1())
    p = Phone()
    p.signing = key
    p.device_id = "dev_x"
    for i in range(64):
        assert is_low_s(p.signed_headers("GET", f"/v1/devices/dev_x/{i}")["Guichet-Signature"])
    # and its activation signatures verify under the public key
    sig = unb64u(p.activation_body("guichet://activate?v=1&u=http%3A%2F%2Fx&c=ch_1&s="
                                   + b64u(b"\x01" * 16))[1]["signature"])
    assert decode_dss_signature(sig)[1] <= N // 2


# ------------------------------------------------------------ activation attempts

def risk_of(g, device_id):
    rows = g.sql("SELECT decision, reasons, (inputs->'history'->>'qr_other_keys')::int"
                 " FROM risk_decisions WHERE device_id = %s", device_id)
    assert len(rows) == 1, rows
    return rows[0]


def test_a_wrong_proof_does_not_send_the_genuine_phone_to_review(guichet):
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    # a stranger who knows the challenge id but not the QR's secret
    for _ in range(3):
        assert_error(Phone().activate(c["qr_payload"], secret_override=b"\x07" * 16),
                     401, "proof_invalid")
    r = Phone().activate(c["qr_payload"])
    assert r.status_code == 201 and r.json()["status"] == "active", r.text
    # the phone is told only its own state (docs/risk.md): a clean allow
    assert r.json()["risk"] == {"score": 0, "decision": "allow", "reasons": []}
    decision, reasons, other_keys = risk_of(guichet, r.json()["device_id"])
    assert (decision, other_keys) == ("allow", 0) and "qr_multiple_devices" not in reasons
    assert guichet.sql_value("SELECT state FROM enrolments WHERE id = %s", s.eid) == "pin_otp"
    rows = guichet.sql("SELECT outcome, proof_ok FROM activation_attempts"
                       " WHERE challenge_id = %s ORDER BY id", c["challenge_id"])
    assert rows == [("proof_invalid", False)] * 3 + [("activated", True)]


def test_an_attempt_that_passed_the_proof_still_counts(guichet):
    """Someone holding the QR (right proof) with a key that does not sign:
    the QR has leaked, and the genuine phone goes to review as before."""
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    p = Phone()
    base, body = p.activation_body(c["qr_payload"])
    body["signature"] = Phone().activation_body(c["qr_payload"])[1]["signature"]
    assert_error(requests.post(base + "/v1/devices/activate", json=body, timeout=10),
                 401, "proof_invalid")
    r = Phone().activate(c["qr_payload"])
    assert r.status_code == 201 and r.json()["status"] == "pending_review", r.text
    decision, reasons, other_keys = risk_of(guichet, r.json()["device_id"])
    assert (decision, other_keys) == ("review", 1) and "qr_multiple_devices" in reasons
    rows = guichet.sql("SELECT outcome, proof_ok FROM activation_attempts"
                       " WHERE challenge_id = %s ORDER BY id", c["challenge_id"])
    assert rows == [("signature_invalid", True), ("pending_review", True)]


# ------------------------------------------------------------ Idempotency-Key

def test_an_idempotency_key_replay_hands_out_no_session(guichet):
    """Whoever replays a key (a proxy log, a shared device, a predictable
    key) gets the first answer again, never a session of the enrolment."""
    body = body_for(applicant())
    key = str(uuid.uuid4())
    s1, r1 = start(guichet, body, headers={"Idempotency-Key": key})
    assert r1.status_code == 201 and "guichet_applicant" in s1.cookies
    eid = r1.json()["id"]
    sessions = guichet.sql_value("SELECT count(*) FROM applicant_sessions"
                                 " WHERE enrolment_id = %s", eid)
    thief, r2 = start(guichet, body, headers={"Idempotency-Key": key})
    assert r2.status_code == 201 and r2.json() == r1.json(), r2.text
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert "Set-Cookie" not in r2.headers and not thief.cookies
    assert guichet.sql_value("SELECT count(*) FROM applicant_sessions"
                             " WHERE enrolment_id = %s", eid) == sessions == 1
    assert guichet.sql_value("SELECT count(*) FROM enrolments WHERE applicant = %s::jsonb",
                             json.dumps(body["applicant"])) == 1
    assert_error(thief.get(guichet.url(f"/v1/enrolments/{eid}"), timeout=10), 404, "not_found")
    # the first answer's session is untouched
    assert s1.get(guichet.url(f"/v1/enrolments/{eid}"), timeout=10).status_code == 200


# ------------------------------------------------------------ resume links

def newest_message(g, email):
    """The newest resume-link message to @email as notify/ renders it when
    it sends: the row (as a dict) and the link it carries (the template's
    "link" parameter with its "{{secret}}" replaced by the row's secret
    column, docs/messages.md)."""
    row = g.sql_value("SELECT to_jsonb(o) FROM outbox o WHERE kind = 'resume_link'"
                      " AND recipient = %s ORDER BY id DESC LIMIT 1", email)
    return row, row["params"]["link"].replace("{{secret}}", row.get("secret") or "")


def link_token(text, eid):
    m = re.search(r"#resume=(enr_[A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)", text)
    assert m and m.group(1) == eid, text
    return m.group(2)


def ask_link(g, eid):
    r = requests.post(g.url(f"/v1/enrolments/{eid}/resume-link"), json={}, timeout=10)
    assert r.status_code == 202 and r.json() == {"sent": True}, r.text


def resume(g, eid, token):
    return requests.post(g.url(f"/v1/enrolments/{eid}/resume"), json={"token": token},
                         timeout=10)


def fresh_enrolment(g):
    email = f"resume-{uuid.uuid4().hex[:10]}@example.org"
    s, r = start(g, body_for(applicant(email=email)))
    assert r.status_code == 201, r.text
    return r.json()["id"], email


def test_a_new_resume_link_ends_the_old_one(guichet):
    eid, email = fresh_enrolment(guichet)
    ask_link(guichet, eid)
    old = link_token(newest_message(guichet, email)[1], eid)
    ask_link(guichet, eid)
    new = link_token(newest_message(guichet, email)[1], eid)
    assert old != new
    # the first link (already in someone's mailbox) no longer opens anything
    assert_error(resume(guichet, eid, old), 404, "not_found")
    live = guichet.sql("SELECT token_hash FROM resume_tokens WHERE enrolment_id = %s"
                       " AND used_at IS NULL AND ended_at IS NULL", eid)
    assert [bytes(r[0]) for r in live] == [hashlib.sha256(new.encode()).digest()]
    # the superseded message is not sent at all: one queued message, the live one
    assert guichet.sql_value("SELECT count(*) FROM outbox WHERE recipient = %s"
                             " AND state = 'pending'", email) == 1
    r = resume(guichet, eid, new)
    assert r.status_code == 200 and r.json()["id"] == eid and "guichet_applicant" in r.cookies
    assert guichet.sql_value("SELECT count(*) FROM resume_tokens WHERE enrolment_id = %s"
                             " AND used_at IS NOT NULL", eid) == 1


def test_the_outbox_keeps_the_link_only_until_sent(guichet):
    eid, email = fresh_enrolment(guichet)
    ask_link(guichet, eid)
    row, text = newest_message(guichet, email)
    token = link_token(text, eid)
    assert token not in row["body"] and token not in row["subject"]
    assert token not in str(row["params"]) and "{{secret}}" in row["params"]["link"]
    assert row["secret"] == token and row["enrolment_id"] == eid
    assert row["state"] == "pending"
    # a sender that marks the row sent, or gives it up, but keeps the link
    # is refused by the schema
    for done in ("state = 'sent', sent_at = now()", "sent_at = now()",
                 "state = 'failed', failed_at = now()"):
        with pytest.raises(psycopg2.errors.CheckViolation):
            guichet.sql(f"UPDATE outbox SET {done} WHERE id = %s", row["id"])
    assert guichet.sql_value("SELECT secret FROM outbox WHERE id = %s", row["id"]) == token
    guichet.sql("UPDATE outbox SET state = 'sent', sent_at = now(), secret = NULL"
                " WHERE id = %s", row["id"])
    assert token not in str(guichet.sql_value("SELECT to_jsonb(o) FROM outbox o WHERE id = %s",
                                              row["id"]))
    # nor can a sent row get a secret back
    with pytest.raises(psycopg2.errors.CheckViolation):
        guichet.sql("UPDATE outbox SET secret = 'x' WHERE id = %s", row["id"])
    # the link sent works, once
    assert resume(guichet, eid, token).status_code == 200
    assert_error(resume(guichet, eid, token), 404, "not_found")


def test_migration_takes_links_out_of_old_outbox_rows(guichet, tmp_path):
    """A database that queued links before 0011: unsent rows keep their
    token only in `secret`, sent rows lose it, and of two live links of
    one enrolment only the newer still works."""
    before = tmp_path / "migrations"
    before.mkdir()
    for f in sorted((REPO / "migrations").glob("*.sql")):
        if f.name < "0011":
            shutil.copy(f, before)
    db = "mig_holes"
    guichet.cluster.create_database(db)
    env = guichet.env(GUICHET_DATABASE_URL=guichet.cluster.conninfo(db))
    guichet.cli("migrate", env=dict(env, GUICHET_MIGRATIONS_DIR=str(before)))
    old_tok, new_tok, sent_tok = "A" * 43, "B" * 43, "C" * 43
    body = "open this link:\n\nhttp://x/#resume=enr_old.%s\n\nbye\n"
    guichet.cluster.psql(
        "INSERT INTO enrolments (id, state, expires_at, applicant, email, identity_key)"
        " VALUES ('enr_old', 'device', now() + interval '1 day', '{}', 'o@example.org', 'k');"
        "INSERT INTO resume_tokens (token_hash, enrolment_id, created_at, expires_at) VALUES"
        f" (sha256('{old_tok}'), 'enr_old', now() - interval '2 minutes', now() + interval '1 hour'),"
        f" (sha256('{new_tok}'), 'enr_old', now() - interval '1 minute', now() + interval '1 hour');"
        "INSERT INTO outbox (kind, recipient, subject, body, sent_at) VALUES"
        f" ('resume_link', 'o@example.org', 's', '{body % sent_tok}', now()),"
        f" ('resume_link', 'o@example.org', 's', '{body % new_tok}', NULL);", dbname=db)
    newer = [f for f in (REPO / "migrations").glob("*.sql") if f.name >= "0011"]
    assert guichet.cli("migrate", env=env)["applied"] == len(newer)
    rows = guichet.cluster.psql("SELECT body, coalesce(secret, '-'), enrolment_id,"
                                " sent_at IS NOT NULL FROM outbox ORDER BY id", dbname=db)
    assert rows.split("\n") == [
        "open this link:", "", "http://x/#resume=enr_old.{{secret}}", "", "bye", "|-|enr_old|t",
        "open this link:", "", "http://x/#resume=enr_old.{{secret}}", "", "bye",
        f"|{new_tok}|enr_old|f"]
    live = guichet.cluster.psql("SELECT encode(token_hash, 'hex') FROM resume_tokens"
                                " WHERE used_at IS NULL AND ended_at IS NULL", dbname=db)
    assert live == hashlib.sha256(new_tok.encode()).hexdigest()
    # 0014 (notify/): the sent row is sent, the other waits for the sender,
    # which renders it as text and puts its secret where it says {{secret}}
    assert guichet.cluster.psql("SELECT state, params IS NULL FROM outbox ORDER BY id",
                                dbname=db).split("\n") == ["sent|t", "pending|t"]


# ------------------------------------------------------------ back-office sessions

def test_an_admin_session_ends_after_its_absolute_lifetime(guichet):
    """A session kept busy (a stolen cookie replayed every few minutes, or
    a desk left logged in) still ends admin_session_max_s (8 h) after
    login."""
    s = Admin(guichet).login()
    h = hashlib.sha256(s.cookies["guichet_admin"].encode()).digest()
    me = guichet.url("/v1/admin/me")
    guichet.sql("UPDATE admin_sessions SET created_at = now() - interval '7 hours 59 minutes'"
                " WHERE token_hash = %s", h)
    assert s.get(me, timeout=10).status_code == 200
    guichet.sql("UPDATE admin_sessions SET created_at = now() - interval '8 hours 1 second',"
                " last_seen_at = now() - interval '10 seconds' WHERE token_hash = %s", h)
    seen = guichet.sql_value("SELECT last_seen_at FROM admin_sessions WHERE token_hash = %s", h)
    b = assert_error(s.get(me, timeout=10), 401, "unauthorized")
    assert "8 hours" in b["error"]["message"], b
    assert_error(s.post(guichet.url("/v1/admin/logout"), headers={"X-CSRF-Token": s.csrf},
                        timeout=10), 401, "unauthorized")
    # refused without being touched: the refusal does not extend anything
    assert guichet.sql_value("SELECT last_seen_at FROM admin_sessions WHERE token_hash = %s",
                             h) == seen


def test_the_login_cookie_dies_with_the_session(guichet):
    a = Admin(guichet)
    s, r = a.login_raw()
    assert r.status_code == 200, r.text
    assert "Max-Age=28800" in r.headers["Set-Cookie"], r.headers["Set-Cookie"]
    guichet.secrets.update({r.json()["csrf_token"], s.cookies["guichet_admin"]})


def test_admin_session_max_s_is_checked_at_start(guichet):
    r = guichet.cli_run("migrate", env=guichet.env(GUICHET_ADMIN_SESSION_MAX_S="60"))
    assert r.returncode != 0 and "admin_session_max_s" in r.stderr + r.stdout, r

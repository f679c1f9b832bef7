# SPDX-License-Identifier: AGPL-3.0-or-later
"""Rate limits with their defaults (issue 12, "Abuse controls"): each test
plays the attacker against a guichetd started with the default
configuration, reaches one limit, and checks the 429 (Retry-After, the
body's retry_after) and that the refused request changed nothing --
while the counts live in PostgreSQL (rate_limits), where every instance
sees them.

Defaults: enrolments 20/h per address; resume links 5/h per enrolment and
20/h per address; activations 5/10 min per challenge and 60/h per
address (a request while the live link is under 10 minutes old changes
nothing); back-office logins 10/15 min per username and 30/15 min per
address; verify 12/min per customer and 1000/s per API key; PINs 10/h per
enrolment, one hash at a time; QR challenges 30/h per enrolment;
assurance-code changes by the customer's phone 5/h per customer (each one
e-mails the customer)."""
import sys
import threading
import time
from pathlib import Path

import pyotp
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from abuse import client, extra_server, fresh_addr, retry_after  # noqa: E402
from conftest import create_customer  # noqa: E402
from helpers import assert_error, random_pin, wait_fresh_step, wrong_code  # noqa: E402
from phone import Phone  # noqa: E402
from test_admin import Admin  # noqa: E402
from test_enrolments import applicant, body_for  # noqa: E402


@pytest.fixture(scope="module")
def srv(guichet):
    """guichetd with every default (Argon2id too: a PIN costs its real
    hash), behind 127.0.0.1 as a proxy."""
    with extra_server(guichet, "limits") as s:
        yield s


def rate_row(guichet, scope, key):
    return guichet.sql_value("SELECT tat > now() FROM rate_limits WHERE scope = %s AND key = %s",
                             scope, key)


def enrol(srv, c):
    return c.post(srv.url("/v1/enrolments"), json=body_for(applicant()), timeout=30)


def passed(srv, c):
    r = enrol(srv, c)
    assert r.status_code == 201 and r.json()["state"] == "device", r.text
    c.eid = r.json()["id"]
    return c


def new_challenge(srv, c):
    r = c.post(srv.url(f"/v1/enrolments/{c.eid}/device-challenge"), json={}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def count(guichet, sql, *args):
    return guichet.sql_value(sql, *args)


# ------------------------------------------------------------------ enrolments

def test_enrolments_per_address(guichet, srv):
    c = client()
    before = count(guichet, "SELECT count(*) FROM enrolments")
    for i in range(20):
        assert enrol(srv, c).status_code == 201, i
    r = enrol(srv, c)
    assert_error(r, 429, "rate_limited")
    assert 170 <= retry_after(r) <= 181           # one more every 3 minutes
    assert count(guichet, "SELECT count(*) FROM enrolments") == before + 20
    assert rate_row(guichet, "enrolment_address", c.addr)
    # another address is not affected; nor is one in another /64 ... an
    # IPv6 client counts by its /64
    assert enrol(srv, client()).status_code == 201
    v6 = client("2001:db8:1:2::1")
    for i in range(20):
        v6.headers["X-Forwarded-For"] = f"2001:db8:1:2::{i + 1:x}"
        assert enrol(srv, v6).status_code == 201, i
    v6.headers["X-Forwarded-For"] = "2001:db8:1:2:ffff::9"
    assert_error(enrol(srv, v6), 429, "rate_limited")
    assert rate_row(guichet, "enrolment_address", "2001:db8:1:2::/64")


# ------------------------------------------------------------------ resume links

def age_links(guichet, eid, minutes=11):
    """Make the enrolment's links @minutes older (resume_link_min_age_s)."""
    guichet.sql("UPDATE resume_tokens SET created_at = created_at - make_interval(mins => %s)"
                " WHERE enrolment_id = %s", minutes, eid)


def test_resume_links_per_enrolment(guichet, srv):
    c = passed(srv, client())
    tokens = "SELECT count(*) FROM resume_tokens WHERE enrolment_id = %s"
    before = count(guichet, tokens, c.eid)
    for i in range(5):                       # from five addresses: the enrolment's limit
        r = client().post(srv.url(f"/v1/enrolments/{c.eid}/resume-link"), json={}, timeout=10)
        assert r.status_code == 202, (i, r.text)
        age_links(guichet, c.eid)            # each link 11 minutes old before the next
    r = client().post(srv.url(f"/v1/enrolments/{c.eid}/resume-link"), json={}, timeout=10)
    assert_error(r, 429, "rate_limited")
    assert 700 <= retry_after(r) <= 721           # 5 an hour: one every 12 minutes
    assert count(guichet, tokens, c.eid) == before + 5      # no sixth link
    assert count(guichet, "SELECT count(*) FROM outbox WHERE enrolment_id = %s"
                 " AND kind = 'resume_link'", c.eid) == 1   # one live link
    # an unknown enrolment answers alike: its limit counts all the same
    ghost = "enr_" + "A" * 22
    for i in range(5):
        r = client().post(srv.url(f"/v1/enrolments/{ghost}/resume-link"), json={}, timeout=10)
        assert r.status_code == 202
    assert_error(client().post(srv.url(f"/v1/enrolments/{ghost}/resume-link"), json={},
                               timeout=10), 429, "rate_limited")


def test_a_stranger_cannot_end_a_fresh_link_or_spend_its_quota(guichet, srv):
    """Whoever knew an enrolment id ended the applicant's live link with
    each request, and five requests used the enrolment's quota: the
    applicant was refused for 12 minutes.  While the live link is younger
    than resume_link_min_age_s (10 minutes) a request answers the same 202
    and changes nothing."""
    c = passed(srv, client())
    url = srv.url(f"/v1/enrolments/{c.eid}/resume-link")
    assert c.post(url, json={}, timeout=10).status_code == 202     # the applicant
    live = ("SELECT token_hash FROM resume_tokens WHERE enrolment_id = %s"
            " AND used_at IS NULL AND ended_at IS NULL")
    first = guichet.sql(live, c.eid)
    assert len(first) == 1
    for i in range(8):                       # strangers, each from its own address
        r = client().post(url, json={}, timeout=10)
        assert r.status_code == 202 and r.json() == {"sent": True}, (i, r.text)
    assert guichet.sql(live, c.eid) == first                       # still the applicant's
    assert count(guichet, "SELECT count(*) FROM resume_tokens WHERE enrolment_id = %s",
                 c.eid) == 1
    # once the link is older, a request makes a new one (and ends the old)
    age_links(guichet, c.eid)
    assert c.post(url, json={}, timeout=10).status_code == 202
    now = guichet.sql(live, c.eid)
    assert len(now) == 1 and now != first


def test_resume_links_per_address(guichet, srv):
    c = client()
    tokens = count(guichet, "SELECT count(*) FROM resume_tokens")
    for i in range(20):
        r = c.post(srv.url(f"/v1/enrolments/enr_{i:022d}/resume-link"), json={}, timeout=10)
        assert r.status_code == 202, i
    r = c.post(srv.url("/v1/enrolments/enr_x/resume-link"), json={}, timeout=10)
    assert_error(r, 429, "rate_limited")
    assert 170 <= retry_after(r) <= 181
    assert count(guichet, "SELECT count(*) FROM resume_tokens") == tokens
    assert rate_row(guichet, "resume_link_address", c.addr)


# ------------------------------------------------------------------ activations

def test_activations_per_challenge(guichet, srv):
    c = passed(srv, client())
    ch = new_challenge(srv, c)
    attacker = Phone()
    for i in range(5):                       # a wrong proof, from five addresses
        _, body = attacker.activation_body(ch["qr_payload"], secret_override=b"\0" * 16)
        r = client().post(srv.url("/v1/devices/activate"), json=body, timeout=10)
        assert_error(r, 401, "proof_invalid")
    _, body = attacker.activation_body(ch["qr_payload"], secret_override=b"\0" * 16)
    r = client().post(srv.url("/v1/devices/activate"), json=body, timeout=10)
    assert_error(r, 429, "rate_limited")
    assert 110 <= retry_after(r) <= 121           # 5 per 10 minutes
    assert count(guichet, "SELECT count(*) FROM activation_attempts WHERE challenge_id = %s",
                 ch["challenge_id"]) == 5
    # the applicant asks for a new QR, and the genuine phone goes through
    ch2 = new_challenge(srv, c)
    r = Phone().activate(ch2["qr_payload"], headers={"X-Forwarded-For": fresh_addr()})
    assert r.status_code == 201, r.text
    assert count(guichet, "SELECT state FROM enrolments WHERE id = %s", c.eid) == "pin_otp"


def test_activations_per_address_and_unknown_challenges_are_not_recorded(guichet, srv):
    c = client()
    phone = Phone()
    attempts = count(guichet, "SELECT count(*) FROM activation_attempts")
    payload = (f"guichet://activate?v=1&u={srv.base_url}&c=ch_unknown"
               "&s=AAECAwQFBgcICQoLDA0ODw")
    for i in range(60):
        _, body = phone.activation_body(payload, challenge_override=f"ch_{i:022d}")
        r = c.post(srv.url("/v1/devices/activate"), json=body, timeout=10)
        assert_error(r, 401, "proof_invalid")
    _, body = phone.activation_body(payload, challenge_override="ch_x")
    r = c.post(srv.url("/v1/devices/activate"), json=body, timeout=10)
    assert_error(r, 429, "rate_limited")
    assert 50 <= retry_after(r) <= 61              # 60 an hour
    assert count(guichet, "SELECT count(*) FROM activation_attempts") == attempts
    assert rate_row(guichet, "activation_address", c.addr)


def test_challenges_per_enrolment(guichet, srv):
    """Each new QR is a row holding a sealed activation secret, kept for
    retention_challenges_s after it expires: one session asking in a loop
    made 500 of them in a second.  The 31st in an hour is refused, adds no
    row and leaves the current QR usable."""
    c = passed(srv, client())
    for i in range(30):
        last = new_challenge(srv, c)
    rows = "SELECT count(*) FROM device_challenges WHERE enrolment_id = %s"
    assert count(guichet, rows, c.eid) == 30
    r = c.post(srv.url(f"/v1/enrolments/{c.eid}/device-challenge"), json={}, timeout=10)
    assert_error(r, 429, "rate_limited")
    assert 110 <= retry_after(r) <= 121            # 30 an hour
    assert count(guichet, rows, c.eid) == 30
    assert rate_row(guichet, "challenge_enrolment", c.eid)
    # the last QR still binds the genuine phone
    r = Phone().activate(last["qr_payload"], headers={"X-Forwarded-For": fresh_addr()})
    assert r.status_code == 201 and r.json()["status"] == "active", r.text


# ------------------------------------------------------------------ PINs

def pin_step(srv):
    """An enrolment of the limits server in state pin_otp, and its session."""
    c = passed(srv, client())
    ch = new_challenge(srv, c)
    r = Phone().activate(ch["qr_payload"], headers={"X-Forwarded-For": fresh_addr()})
    assert r.status_code == 201 and r.json()["status"] == "active", r.text
    return c


def test_pins_per_enrolment(guichet, srv):
    c = pin_step(srv)
    url = srv.url(f"/v1/enrolments/{c.eid}/pin")
    hashes = []
    for i in range(10):
        r = c.post(url, json={"pin": random_pin()}, timeout=30)
        assert r.status_code == 200, (i, r.text)
        hashes.append(guichet.sql_value("SELECT pin_hash FROM enrolments WHERE id = %s", c.eid))
    assert len(set(hashes)) == 10
    # a PIN the policy refuses costs no hash and is not counted
    assert_error(c.post(url, json={"pin": "123456"}, timeout=10), 422, "policy_refused")
    r = c.post(url, json={"pin": random_pin()}, timeout=30)
    assert_error(r, 429, "rate_limited")
    assert 350 <= retry_after(r) <= 361            # 10 an hour
    assert guichet.sql_value("SELECT pin_hash FROM enrolments WHERE id = %s", c.eid) == hashes[-1]


def test_one_pin_hash_at_a_time_per_enrolment(guichet, srv):
    """16 parallel PINs on one session: today they queue on the enrolment
    row, each holding a worker while the one before hashes (bank logins
    wait behind them).  A PIN that finds another being hashed is refused
    at once."""
    c = pin_step(srv)
    url = srv.url(f"/v1/enrolments/{c.eid}/pin")
    answers, go = [], threading.Barrier(16)

    def one():
        go.wait()
        answers.append(c.post(url, json={"pin": random_pin()}, timeout=60))

    threads = [threading.Thread(target=one) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers)
    assert set(codes) <= {200, 429} and 200 in codes, codes
    busy = [r for r in answers if r.status_code == 429]
    assert busy, "parallel PINs all waited for the lock"
    assert all(retry_after(r) >= 1 for r in busy)
    assert guichet.sql_value("SELECT pin_hash IS NOT NULL FROM enrolments WHERE id = %s", c.eid)


# ------------------------------------------------------------------ back-office logins

def login(srv, c, username, password="x" * 24, otp="123456"):
    return c.post(srv.url("/v1/admin/login"),
                  json={"username": username, "password": password, "otp": otp}, timeout=30)


def test_admin_logins_per_username(guichet, srv):
    a = Admin(guichet, "reviewer")
    for i in range(10):                      # ten addresses, one username
        r = login(srv, client(), a.username)
        assert r.status_code in (401, 423), r.text
    audited = count(guichet, "SELECT count(*) FROM audit_log WHERE target = %s", a.username)
    r = login(srv, client(), a.username, a.password, a.code(a.next_step()))
    assert_error(r, 429, "rate_limited")
    assert 80 <= retry_after(r) <= 91              # 10 per 15 minutes
    assert count(guichet, "SELECT count(*) FROM audit_log WHERE target = %s",
                 a.username) == audited          # a refused attempt writes nothing
    assert rate_row(guichet, "admin_login_username", a.username)


def test_admin_logins_per_address(guichet, srv):
    c = client()
    for i in range(30):
        r = login(srv, c, f"nobody{i}")
        assert r.status_code == 401, (i, r.text)
    r = login(srv, c, "nobody-else")
    assert_error(r, 429, "rate_limited")
    assert 25 <= retry_after(r) <= 31              # 30 per 15 minutes
    assert guichet.sql_value("SELECT count(*) FROM admin_lockouts WHERE username = 'nobody-else'") == 0


# ------------------------------------------------------------------ verify

@pytest.fixture(scope="module")
def rp(guichet, srv):
    import requests
    key = guichet.cli("apikey", "create", "--name", "limits-" + fresh_addr())
    guichet.secrets.add(key["key"])
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {key['key']}"
    s.name = key["name"]
    return s


def verify(srv, rp, cus, otp, pin=None):
    return rp.post(srv.url("/v1/authn/verify"),
                   json={"customer_id": cus.id, "pin": pin or cus.pin, "otp": otp}, timeout=30)


def test_verify_per_customer(guichet, srv, rp):
    """12 a minute: four wrong codes, a right one (the count of failures
    starts again), four wrong, a right one, two wrong -- the thirteenth
    is refused, and counts nothing toward the lockout."""
    cus = create_customer(guichet)
    now = wait_fresh_step(min_left=20)
    step = int(now) // 30
    codes = [pyotp.TOTP(cus.secret).at((step + d) * 30) for d in (-1, 0)]
    guichet.secrets.update(codes)
    seq = ["w"] * 4 + [codes[0]] + ["w"] * 4 + [codes[1]] + ["w"] * 2
    for i, otp in enumerate(seq):
        r = verify(srv, rp, cus, wrong_code(*codes) if otp == "w" else otp)
        assert r.status_code == (401 if otp == "w" else 200), (i, r.text)
    failed = guichet.sql_value("SELECT failed_attempts FROM customers WHERE id = %s", cus.id)
    audited = count(guichet, "SELECT count(*) FROM authn_audit WHERE customer_id = %s", cus.id)
    r = verify(srv, rp, cus, wrong_code(*codes))
    assert_error(r, 429, "rate_limited")
    assert 1 <= retry_after(r) <= 6                 # one more every 5 s
    assert guichet.sql_value("SELECT failed_attempts FROM customers WHERE id = %s",
                             cus.id) == failed == 2
    assert count(guichet, "SELECT count(*) FROM authn_audit WHERE customer_id = %s",
                 cus.id) == audited
    assert rate_row(guichet, "authn_customer", cus.id)


def test_verify_per_api_key(guichet, srv, rp):
    """1000 a second: a bucket at the edge admits, one past it refuses
    (planted, as no test here sends 1000 verifies a second)."""
    cus = create_customer(guichet)
    plant = ("INSERT INTO rate_limits (scope, key, tat) VALUES ('authn_api_key', %s,"
             " now() + make_interval(secs => %s)) ON CONFLICT (scope, key)"
             " DO UPDATE SET tat = EXCLUDED.tat")
    guichet.sql(plant, rp.name, 0.95)           # 950 ms ahead: under 999 ms
    assert verify(srv, rp, cus, wrong_code()).status_code == 401
    guichet.sql(plant, rp.name, 6.0)            # 6 s ahead: 5 s over
    r = verify(srv, rp, cus, wrong_code())
    assert_error(r, 429, "rate_limited")
    assert 5 <= retry_after(r) <= 6
    assert guichet.sql_value("SELECT failed_attempts FROM customers WHERE id = %s", cus.id) == 1
    guichet.sql("DELETE FROM rate_limits WHERE scope = 'authn_api_key' AND key = %s", rp.name)


def test_assurance_code_changes_per_customer(guichet, srv):
    """Each change of the assurance code from the phone e-mails the
    customer: a phone in a thief's hand must not fill their mailbox."""
    import json as _json
    from test_messages import complete, customer_code, start_enrolment
    keep_code = lambda g, c: g.secrets.add(c)  # noqa: E731
    phone, done = complete(guichet, start_enrolment(guichet), pin="592740")
    cus = done["customer_id"]
    keep_code(guichet, done["assurance_code"])

    def put(code):
        raw = _json.dumps({"code": code}).encode()
        path = f"/v1/devices/{phone.device_id}/assurance-code"
        h = phone.signed_headers("PUT", path, raw)
        h["Content-Type"] = "application/json"
        return client().put(srv.url(path), data=raw, headers=h, timeout=10)

    codes = ["KQ7M2P", "KQ7M2R", "KQ7M2S", "KQ7M2T", "KQ7M2U"]
    for code in codes:
        keep_code(guichet, code)
        r = put(code)
        assert r.status_code == 200, r.text
    assert rate_row(guichet, "assurance_code_customer", cus)
    mails = guichet.sql_value("SELECT count(*) FROM outbox")
    keep_code(guichet, "KQ7M2V")
    r = put("KQ7M2V")
    assert_error(r, 429, "rate_limited")
    assert retry_after(r) > 0
    assert customer_code(guichet, cus) == codes[-1]
    assert guichet.sql_value("SELECT count(*) FROM outbox") == mails


def test_staff_assurance_code_changes_share_the_customers_limit(guichet, srv):
    """Staff changes e-mail the customer too, and had no limit: a support
    account could fill a customer's mailbox.  They count toward the same
    per-customer limit as the phone's; the refused one changes nothing."""
    from test_messages import complete, customer_code, start_enrolment
    phone, done = complete(guichet, start_enrolment(guichet), pin="592740")
    cus = done["customer_id"]
    guichet.secrets.add(done["assurance_code"])
    a = Admin(guichet, "support").login()        # its session works on srv too
    path = f"/v1/admin/customers/{cus}/assurance-code"
    h = {"X-CSRF-Token": a.csrf}
    codes = ["KR7M2P", "KR7M2R", "KR7M2S", "KR7M2T", "KR7M2U"]
    for code in codes:
        guichet.secrets.add(code)
        r = a.put(srv.url(path), json={"code": code}, headers=h, timeout=10)
        assert r.status_code == 200, r.text
    assert rate_row(guichet, "assurance_code_customer", cus)
    mails = guichet.sql_value("SELECT count(*) FROM outbox")
    audited = count(guichet, "SELECT count(*) FROM audit_log WHERE target = %s", cus)
    r = a.put(srv.url(path), json={}, headers=h, timeout=10)
    assert_error(r, 429, "rate_limited")
    assert 700 <= retry_after(r) <= 721            # 5 an hour
    assert customer_code(guichet, cus) == codes[-1]
    assert guichet.sql_value("SELECT count(*) FROM outbox") == mails
    assert count(guichet, "SELECT count(*) FROM audit_log WHERE target = %s", cus) == audited

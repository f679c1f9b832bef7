# SPDX-License-Identifier: AGPL-3.0-or-later
"""The back-office API (issue 5): staff made with `guichetd admin create`,
login with password + TOTP (replay, lockout), sessions (cookie, CSRF, idle
expiry, roles), the review queue (identity and device reviews, approve,
reject + blocklist, four eyes), and the hash-chained audit log (verify,
tamper detection, append-only for the server's role).  Each test checks the
answer and what changed in the database."""
import hashlib
import json
import re
import secrets
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg2
import pyotp
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mrz  # noqa: E402
from harness import CliError  # noqa: E402
from helpers import assert_error  # noqa: E402
from phone import Phone  # noqa: E402
from test_devices import challenge, passed_enrolment  # noqa: E402
from test_enrolments import SANCTIONED, applicant, body_for  # noqa: E402

STEP = 30


# ------------------------------------------------------------------ helpers

class Admin:
    """A back-office user made with the CLI; logs in with fresh TOTP steps
    (a step once used is refused: replay protection)."""

    def __init__(self, g, role="reviewer", name=None):
        self.g = g
        name = name or f"{role[:3]}-{secrets.token_hex(4)}"
        out = g.cli("admin", "create", "--username", name, "--role", role)
        self.username, self.role = out["username"], out["role"]
        self.password, self.uri = out["password"], out["otpauth_uri"]
        self.secret = parse_qs(urlsplit(self.uri).query)["secret"][0]
        self.last_step = -1
        g.secrets.update({self.password, self.secret})

    def code(self, step):
        c = pyotp.TOTP(self.secret).at(step * STEP)
        self.g.secrets.add(c)
        return c

    def next_step(self):
        """The oldest step the server still accepts (window +-1) that this
        user has not spent; waits when all three are spent."""
        while True:
            now = int(time.time()) // STEP
            step = max(now - 1, self.last_step + 1)
            if step <= now + 1 and (step > now - 1 or time.time() % STEP < STEP - 2):
                self.last_step = step
                return step
            time.sleep(STEP - time.time() % STEP + 0.2)

    def login_raw(self, password=None, otp=None, session=None):
        s = session or requests.Session()
        body = {"username": self.username,
                "password": self.password if password is None else password,
                "otp": otp if otp is not None else self.code(self.next_step())}
        return s, s.post(self.g.url("/v1/admin/login"), json=body, timeout=30)

    def login(self):
        s, r = self.login_raw()
        assert r.status_code == 200, r.text
        s.csrf = r.json()["csrf_token"]
        self.g.secrets.update({s.csrf, s.cookies["guichet_admin"]})
        return s


def post(g, s, path, body=None, csrf=True):
    h = {"X-CSRF-Token": s.csrf} if csrf else {}
    return s.post(g.url(path), json=body if body is not None else {}, headers=h, timeout=30)


def decide(g, s, rid, decision="approve", comment="checked the documents", **kw):
    return post(g, s, f"/v1/admin/reviews/{rid}/decision",
                dict({"decision": decision, "comment": comment}, **kw))


def review_of(g, eid):
    rows = g.sql("SELECT id, kind, state, four_eyes, score FROM reviews"
                 " WHERE enrolment_id = %s", eid)
    assert len(rows) == 1, rows
    return dict(zip(("id", "kind", "state", "four_eyes", "score"), rows[0]))


def identity_review(g, **app):
    """An enrolment in identity_review (name mismatch).  @return (session, id)."""
    a = applicant(**app)
    s = requests.Session()
    r = s.post(g.url("/v1/enrolments"),
               json=body_for(a, doc_surname=mrz.random_surname("OTHER")), timeout=30)
    assert r.status_code == 201 and r.json()["state"] == "identity_review", r.text
    s.eid = r.json()["id"]
    return s, s.eid


def device_review(g, phone=None, headers=None):
    """An enrolment whose phone (an emulator) went to review.
    @return (browser session, phone, activation answer)."""
    s = passed_enrolment(g)
    c = challenge(g, s)
    p = phone or Phone(emulator=True)
    r = p.activate(c["qr_payload"], headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending_review", r.json()
    s.challenge = c
    return s, p, r.json()


def listed(g, s, query=""):
    """Every review the list answers for @query, page after page (the queue
    is oldest first: a new review is on the last page)."""
    out, after = [], None
    while True:
        q = query + ("&" if query else "") + "limit=200" + (f"&after={after}" if after else "")
        r = s.get(g.url("/v1/admin/reviews?" + q), timeout=10)
        assert r.status_code == 200, r.text
        out += r.json()["reviews"]
        after = r.json()["next"]
        if after is None:
            return out


def enrol_state(g, eid):
    return g.sql_value("SELECT state FROM enrolments WHERE id = %s", eid)


def audit_rows(g, action, target):
    return g.sql("SELECT actor, details FROM audit_log WHERE action = %s AND target = %s"
                 " ORDER BY id", action, target)


@pytest.fixture(scope="module")
def reviewer(guichet):
    return Admin(guichet, "reviewer")


@pytest.fixture(scope="module")
def admin(guichet):
    return Admin(guichet, "admin")


@pytest.fixture(scope="module")
def rs(reviewer):
    """A logged-in reviewer session for the module."""
    return reviewer.login()


# ------------------------------------------------------------------ CLI

def test_admin_create_prints_a_password_and_an_otpauth_uri(guichet):
    a = Admin(guichet, "admin")
    assert a.role == "admin" and len(a.password) >= 20
    u = urlsplit(a.uri)
    assert (u.scheme, u.netloc) == ("otpauth", "totp")
    assert unquote(u.path) == f"/Guichet back-office:{a.username}"
    q = {k: v[0] for k, v in parse_qs(u.query).items()}
    assert q["issuer"] == "Guichet back-office" and q["algorithm"] == "SHA1"
    assert (q["digits"], q["period"]) == ("6", "30") and len(q["secret"]) == 32
    assert a.uri.startswith("otpauth://totp/Guichet%20back-office:")
    row = guichet.sql("SELECT role, password_hash, totp_sealed FROM admins WHERE username = %s",
                      a.username)[0]
    assert row[0] == "admin" and row[1].startswith("$argon2id$") and a.password not in row[1]
    seed = pyotp.TOTP(a.secret).byte_secret()
    assert seed not in bytes(row[2]), "the TOTP seed is sealed at rest"
    assert audit_rows(guichet, "admin.create", a.username)[0][0] == "system"
    with pytest.raises(CliError) as e:
        guichet.cli("admin", "create", "--username", a.username, "--role", "reviewer")
    assert e.value.json["error"]["code"] == "conflict"
    for bad in (("--username", "Bad Name", "--role", "admin"),
                ("--username", "ok-name", "--role", "root")):
        with pytest.raises(CliError) as e:
            guichet.cli("admin", "create", *bad)
        assert e.value.json["error"]["code"] == "invalid_field"


# ------------------------------------------------------------------ login

def test_login_sets_a_strict_cookie_and_returns_a_csrf_token(guichet, reviewer):
    s, r = reviewer.login_raw()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["username"] == reviewer.username and body["role"] == "reviewer"
    assert len(body["csrf_token"]) >= 40
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("guichet_admin=")
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in cookie, cookie
    assert "Secure" not in cookie          # the test server is plain http
    token = s.cookies["guichet_admin"]
    guichet.secrets.update({token, body["csrf_token"]})
    assert len(token) >= 43                # 256 bits
    row = guichet.sql("SELECT username, csrf_hash FROM admin_sessions WHERE token_hash = %s",
                      hashlib.sha256(token.encode()).digest())
    assert row and row[0][0] == reviewer.username
    assert bytes(row[0][1]) == hashlib.sha256(body["csrf_token"].encode()).digest()
    me = s.get(guichet.url("/v1/admin/me"), timeout=10)
    assert me.json() == {"username": reviewer.username, "role": "reviewer"}
    assert audit_rows(guichet, "admin.login", reviewer.username)


def test_every_wrong_login_gets_the_same_401(guichet):
    a = Admin(guichet)
    good = a.code(a.next_step())
    wrong_otp = "%06d" % ((int(good) + 1) % 10 ** 6)
    answers = []
    for name, kw in (("password", {"password": "not-the-password", "otp": good}),
                     ("otp", {"otp": wrong_otp}),
                     ("malformed otp", {"otp": "12ab56"})):
        s, r = a.login_raw(**kw)
        answers.append(assert_error(r, 401, "authentication_failed"))
    r = requests.post(guichet.url("/v1/admin/login"), timeout=10,
                      json={"username": "nobody-" + secrets.token_hex(3),
                            "password": "x" * 24, "otp": good})
    answers.append(assert_error(r, 401, "authentication_failed"))
    assert all(x == answers[0] for x in answers), answers
    assert guichet.sql_value("SELECT failed_attempts FROM admin_lockouts WHERE username = %s",
                             a.username) == 3
    reasons = [d["reason"] for _, d in audit_rows(guichet, "admin.login_failed", a.username)]
    assert reasons == ["password_invalid", "otp_invalid", "otp_invalid"], reasons
    # the code spent by the wrong-password attempt cannot be used again
    s, r = a.login_raw(otp=good)
    assert_error(r, 401, "authentication_failed")
    assert audit_rows(guichet, "admin.login_failed", a.username)[-1][1]["reason"] == "otp_replayed"
    a.login()                               # a fresh step and the password
    assert guichet.sql_value("SELECT count(*) FROM admin_lockouts WHERE username = %s",
                             a.username) == 0


def test_a_used_code_is_refused(guichet):
    a = Admin(guichet)
    step = a.next_step()
    s, r = a.login_raw(otp=a.code(step))
    assert r.status_code == 200, r.text
    s2, r2 = a.login_raw(otp=a.code(step))
    assert_error(r2, 401, "authentication_failed")
    assert guichet.sql_value("SELECT totp_last_step FROM admins WHERE username = %s",
                             a.username) == step


def test_lockout_after_five_failures_and_passwd_resets_it(guichet):
    a = Admin(guichet)
    for i in range(5):                       # wrong codes spend no TOTP step
        s, r = a.login_raw(otp="%06d" % secrets.randbelow(10 ** 6))
        assert_error(r, 401, "authentication_failed")
    s, r = a.login_raw()                     # right password and code: still locked
    assert_error(r, 423, "locked")
    assert guichet.sql_value("SELECT locked_until > now() FROM admin_lockouts"
                             " WHERE username = %s", a.username)
    assert audit_rows(guichet, "admin.login_failed", a.username)[-1][1]["reason"] == "locked"
    out = guichet.cli("admin", "passwd", "--username", a.username)
    assert out["username"] == a.username and len(out["password"]) >= 20
    assert out["password"] != a.password
    guichet.secrets.add(out["password"])
    a.password = out["password"]
    a.login()
    with pytest.raises(CliError) as e:
        guichet.cli("admin", "passwd", "--username", "nobody-here")
    assert e.value.json["error"]["code"] == "not_found"


def test_password_change(guichet):
    a = Admin(guichet)
    s = a.login()
    other = a.login()
    url = "/v1/admin/password"
    b = assert_error(post(guichet, s, url, {"current_password": a.password,
                                            "new_password": "short"}), 422, "policy_refused")
    assert b["reasons"] == ["too_short"]
    assert_error(post(guichet, s, url, {"current_password": "wrong-" + a.password,
                                        "new_password": "a long enough new password"}),
                 401, "authentication_failed")
    assert_error(post(guichet, s, url, {"current_password": a.password,
                                        "new_password": "x" * 20}, csrf=False), 403, "forbidden")
    new = "correct horse battery " + secrets.token_hex(4)
    guichet.secrets.add(new)
    r = post(guichet, s, url, {"current_password": a.password, "new_password": new})
    assert r.status_code == 200, r.text
    assert s.get(guichet.url("/v1/admin/me"), timeout=10).status_code == 200
    assert_error(other.get(guichet.url("/v1/admin/me"), timeout=10), 401, "unauthorized")
    # the old password no longer works, the new one does
    again = "another long password " + secrets.token_hex(4)
    guichet.secrets.add(again)
    assert_error(post(guichet, s, url, {"current_password": a.password, "new_password": again}),
                 401, "authentication_failed")
    assert post(guichet, s, url, {"current_password": new, "new_password": again}).status_code == 200
    assert guichet.sql_value("SELECT count(*) FROM admin_lockouts WHERE username = %s",
                             a.username) == 0
    assert [x[0] for x in audit_rows(guichet, "admin.password_change", a.username)] == [a.username] * 2


# ------------------------------------------------------------------ sessions

def test_no_or_unknown_session_is_401(guichet):
    for cookies in ({}, {"guichet_admin": "A" * 43}):
        r = requests.get(guichet.url("/v1/admin/reviews?state=open"), cookies=cookies, timeout=10)
        assert_error(r, 401, "unauthorized")
    r = requests.post(guichet.url("/v1/admin/logout"), timeout=10)
    assert_error(r, 401, "unauthorized")


def test_idle_session_expires(guichet):
    s = Admin(guichet).login()
    h = hashlib.sha256(s.cookies["guichet_admin"].encode()).digest()
    guichet.sql("UPDATE admin_sessions SET last_seen_at = now() - interval '14 minutes'"
                " WHERE token_hash = %s", h)
    assert s.get(guichet.url("/v1/admin/me"), timeout=10).status_code == 200
    assert guichet.sql_value("SELECT now() - last_seen_at < interval '1 minute'"
                             " FROM admin_sessions WHERE token_hash = %s", h)
    guichet.sql("UPDATE admin_sessions SET last_seen_at = now() - interval '15 minutes 1 second'"
                " WHERE token_hash = %s", h)
    assert_error(s.get(guichet.url("/v1/admin/me"), timeout=10), 401, "unauthorized")


def test_the_idle_limit_is_the_banks_to_set(guichet):
    """admin_idle_s: a bank that wants desks to lock after 2 minutes."""
    from types import SimpleNamespace
    from abuse import client, extra_server
    a = Admin(guichet)
    with extra_server(guichet, "admin-idle", GUICHET_ADMIN_IDLE_S=120) as srv:
        # from an address of its own: this instance has the default rate
        # limits, whose state in the database the suite's address shares
        a.g = SimpleNamespace(url=srv.url, secrets=guichet.secrets)
        s, r = a.login_raw(session=client())
        assert r.status_code == 200, r.text
        guichet.secrets.update({r.json()["csrf_token"], s.cookies["guichet_admin"]})
        h = hashlib.sha256(s.cookies["guichet_admin"].encode()).digest()
        guichet.sql("UPDATE admin_sessions SET last_seen_at = now() - interval '110 seconds'"
                    " WHERE token_hash = %s", h)
        assert s.get(srv.url("/v1/admin/me"), timeout=10).status_code == 200
        guichet.sql("UPDATE admin_sessions SET last_seen_at = now() - interval '121 seconds'"
                    " WHERE token_hash = %s", h)
        b = assert_error(s.get(srv.url("/v1/admin/me"), timeout=10), 401, "unauthorized")
        assert "idle for 2 minutes" in b["error"]["message"], b
        # the same session is alive for an instance with the default 15 minutes
        assert s.get(guichet.url("/v1/admin/me"), timeout=10).status_code == 200


def test_the_idle_limit_is_checked_at_start(guichet):
    for bad in ("59", "3601"):
        r = guichet.cli_run("migrate", env=guichet.env(GUICHET_ADMIN_IDLE_S=bad))
        assert r.returncode != 0 and "admin_idle_s" in r.stderr + r.stdout, r


def test_logout_ends_the_session(guichet):
    s = Admin(guichet).login()
    token = s.cookies["guichet_admin"]
    h = hashlib.sha256(token.encode()).digest()
    assert_error(post(guichet, s, "/v1/admin/logout", csrf=False), 403, "forbidden")
    assert s.get(guichet.url("/v1/admin/me"), timeout=10).status_code == 200
    r = s.post(guichet.url("/v1/admin/logout"), headers={"X-CSRF-Token": s.csrf}, timeout=10)
    assert r.status_code == 200, r.text
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    assert guichet.sql_value("SELECT ended_at IS NOT NULL FROM admin_sessions"
                             " WHERE token_hash = %s", h)
    # the browser dropped the cookie; the token itself is dead too
    again = requests.get(guichet.url("/v1/admin/me"), cookies={"guichet_admin": token}, timeout=10)
    assert_error(again, 401, "unauthorized")


def test_roles_per_route(guichet, rs, admin):
    assert_error(rs.get(guichet.url("/v1/admin/admins"), timeout=10), 403, "forbidden")
    a = admin.login()
    r = a.get(guichet.url("/v1/admin/admins"), timeout=10)
    assert r.status_code == 200, r.text
    names = {x["username"]: x for x in r.json()["admins"]}
    assert names[admin.username]["role"] == "admin"
    assert "password_hash" not in names[admin.username]
    # reviewers and admins both work the queue
    for s in (rs, a):
        assert s.get(guichet.url("/v1/admin/reviews"), timeout=10).status_code == 200


def test_csrf_is_required_and_a_refused_call_changes_nothing(guichet, rs):
    b, eid = identity_review(guichet)
    rev = review_of(guichet, eid)
    for headers in ({}, {"X-CSRF-Token": "wrong" + rs.csrf[5:]}):
        r = rs.post(guichet.url(f"/v1/admin/reviews/{rev['id']}/decision"), timeout=10,
                    json={"decision": "approve", "comment": "ok"}, headers=headers)
        assert_error(r, 403, "forbidden")
    assert review_of(guichet, eid)["state"] == "open" and enrol_state(guichet, eid) == "identity_review"
    assert not audit_rows(guichet, "review.approve", rev["id"])


# ------------------------------------------------------------------ reviews

def test_identity_review_is_listed_shown_and_approved(guichet, rs, reviewer):
    b, eid = identity_review(guichet)
    rev = review_of(guichet, eid)
    assert (rev["kind"], rev["state"], rev["four_eyes"], rev["score"]) == ("identity", "open", False, None)
    reviews = listed(guichet, rs, "state=open&kind=identity")
    items = {x["id"]: x for x in reviews}
    item = items[rev["id"]]
    a = guichet.sql_value("SELECT applicant FROM enrolments WHERE id = %s", eid)
    assert item["applicant"] == {"surname": a["surname"], "given_names": a["given_names"]}
    assert item["reasons"] == ["name_mismatch"] and item["score"] is None
    assert item["enrolment_id"] == eid and item["device_id"] is None
    assert isinstance(item["age_seconds"], int) and item["age_seconds"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item["created_at"])
    assert all(x["kind"] == "identity" for x in reviews)
    d = rs.get(guichet.url(f"/v1/admin/reviews/{rev['id']}"), timeout=10).json()
    assert d["identity"]["decision"] == "review" and d["identity"]["reasons"] == ["name_mismatch"]
    assert any(c["check"] for c in d["identity"]["checks"])
    assert d["device"] is None and d["decisions"] == [] and "history" in d
    r = decide(guichet, rs, rev["id"], comment="passport photo page checked by phone call")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved" and r.json()["enrolment_state"] == "device"
    assert enrol_state(guichet, eid) == "device"
    assert review_of(guichet, eid)["state"] == "approved"
    assert guichet.sql_value("SELECT decided_by FROM reviews WHERE id = %s", rev["id"]) == reviewer.username
    actor, details = audit_rows(guichet, "review.approve", rev["id"])[0]
    assert actor == reviewer.username and details["comment"].startswith("passport photo")
    # the applicant carries on
    assert b.get(guichet.url(f"/v1/enrolments/{eid}"), timeout=10).json()["state"] == "device"
    assert_error(decide(guichet, rs, rev["id"]), 409, "wrong_state")
    closed = listed(guichet, rs, "state=approved")
    assert rev["id"] in {x["id"] for x in closed}
    assert rev["id"] not in {x["id"] for x in listed(guichet, rs)}


def test_decision_body_is_checked(guichet, rs):
    b, eid = identity_review(guichet)
    rid = review_of(guichet, eid)["id"]
    for body, field in (({"decision": "approve", "comment": ""}, "comment"),
                        ({"decision": "approve", "comment": "   "}, "comment"),
                        ({"decision": "approve", "comment": "x" * 2001}, "comment"),
                        ({"decision": "approve"}, "comment"),
                        ({"decision": "maybe", "comment": "hm"}, "decision"),
                        ({"decision": "approve", "comment": "ok", "extra": 1}, "extra")):
        assert assert_error(post(guichet, rs, f"/v1/admin/reviews/{rid}/decision", body),
                            400, "invalid_field")["field"] == field
    assert review_of(guichet, eid)["state"] == "open"
    assert decide(guichet, rs, rid, comment="é" * 2000).status_code == 200
    assert_error(decide(guichet, rs, "rev_doesnotexist"), 404, "not_found")
    assert_error(rs.get(guichet.url("/v1/admin/reviews/rev_doesnotexist"), timeout=10), 404, "not_found")
    assert_error(rs.get(guichet.url("/v1/admin/reviews?state=bogus"), timeout=10), 400, "bad_request")


def test_device_review_detail_and_approval_wakes_the_applicant(guichet, rs):
    b, p, act = device_review(guichet)
    eid, did = b.eid, act["device_id"]
    assert enrol_state(guichet, eid) == "device_review"
    rev = review_of(guichet, eid)
    # the review keeps the real score; the phone was told its decision's
    assert rev["kind"] == "device" and rev["score"] == guichet.sql_value(
        "SELECT score FROM risk_decisions WHERE device_id = %s", did)
    # later steps wait for the decision
    assert_error(b.post(guichet.url(f"/v1/enrolments/{eid}/pin"), json={"pin": "480713"},
                        timeout=10), 409, "wrong_state")
    item = [x for x in listed(guichet, rs, "state=open&kind=device")
            if x["id"] == rev["id"]][0]
    assert item["device_id"] == did and "emulator" in item["reasons"]
    d = rs.get(guichet.url(f"/v1/admin/reviews/{rev['id']}"), timeout=10).json()
    dev = d["device"]
    assert dev["id"] == did and dev["status"] == "pending_review"
    assert dev["install_id"] == p.device["install_id"] and dev["model"] == "Pixel 8"
    assert dev["signals"]["emulator"] is True and dev["client_addr"] == "127.0.0.1"
    risk = dev["risk"]
    assert risk["decision"] == "review" and "emulator" in risk["reasons"]
    assert risk["signals"]["emulator"]["explanation"]
    assert re.fullmatch(r"[0-9a-f]{64}", risk["input_hash"]) and risk["ruleset_version"].startswith("r-")
    assert d["identity"]["decision"] == "pass"
    outcomes = [a["outcome"] for a in d["history"]["attempts"]]
    assert outcomes == ["pending_review"] and d["history"]["attempts"][0]["same_key"]
    assert isinstance(d["history"]["devices"], list)
    # an applicant long poll started before the decision
    out = {}

    def poll():
        t0 = time.monotonic()
        r = b.get(guichet.url(f"/v1/enrolments/{eid}/device-challenge?wait=20"), timeout=30)
        out["r"], out["dt"] = r, time.monotonic() - t0

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(1.0)
    r = decide(guichet, rs, rev["id"], comment="emulator used by our QA team, known")
    assert r.status_code == 200, r.text
    assert r.json()["enrolment_state"] == "pin_otp"
    th.join(25)
    assert out["r"].json() == {"status": "registered"}
    assert 0.9 < out["dt"] < 5, out["dt"]
    assert guichet.sql_value("SELECT status FROM devices WHERE id = %s", did) == "active"
    assert enrol_state(guichet, eid) == "pin_otp"
    # and the enrolment goes on
    assert b.post(guichet.url(f"/v1/enrolments/{eid}/pin"), json={"pin": "480713"},
                  timeout=10).status_code == 200


def test_reject_ends_it_and_blocklists_the_phone(guichet, rs, reviewer):
    b, p, act = device_review(guichet)
    eid, did = b.eid, act["device_id"]
    rev = review_of(guichet, eid)
    r = decide(guichet, rs, rev["id"], "reject", comment="emulator farm, same kit as case 41")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "rejected" and r.json()["enrolment_state"] == "rejected"
    assert enrol_state(guichet, eid) == "rejected"
    assert guichet.sql_value("SELECT status FROM devices WHERE id = %s", did) == "denied"
    st = b.get(guichet.url(f"/v1/enrolments/{eid}/device-challenge"), timeout=10)
    assert st.json() == {"status": "denied"}
    listed = dict(guichet.sql("SELECT kind, created_by FROM blocklist WHERE value IN (%s, %s)",
                              p.device["install_id"],
                              guichet.sql_value("SELECT encode(public_key, 'hex') FROM devices"
                                                " WHERE id = %s", did)))
    assert listed == {"install_id": reviewer.username, "device_key": reviewer.username}
    assert audit_rows(guichet, "blocklist.add", did)
    assert audit_rows(guichet, "review.reject", rev["id"])[0][1]["comment"].startswith("emulator farm")
    assert_error(decide(guichet, rs, rev["id"]), 409, "wrong_state")
    # the same phone (key and install id) in a new enrolment is denied
    b2 = passed_enrolment(guichet)
    c2 = challenge(guichet, b2)
    r2 = p.activate(c2["qr_payload"])
    assert r2.status_code == 201, r2.text
    a2 = r2.json()
    assert a2["status"] == "denied" and a2["risk"]["decision"] == "deny"
    # the phone is not told it is on the blocklist (docs/risk.md): only
    # what it says of itself, the rest as one manual_check
    assert a2["risk"]["reasons"] == ["emulator", "manual_check"], a2["risk"]
    assert a2["risk"]["score"] == 100 and "blocklist" not in r2.text
    stored = guichet.sql_value("SELECT reasons FROM risk_decisions WHERE device_id = %s",
                               a2["device_id"])
    assert {"blocklisted_device_key", "blocklisted_install_id"} <= set(stored), stored
    assert enrol_state(guichet, b2.eid) == "rejected"
    assert guichet.sql_value("SELECT count(*) FROM reviews WHERE enrolment_id = %s", b2.eid) == 0


def test_reject_can_blocklist_the_address(guichet, rs):
    addr = "9.9.%d.%d" % (secrets.randbelow(250), secrets.randbelow(250) + 1)   # in no GeoIP test db
    b, p, act = device_review(guichet, headers={"X-Forwarded-For": addr})
    rid = review_of(guichet, b.eid)["id"]
    r = decide(guichet, rs, rid, "reject", comment="address seen in fraud ring",
               blocklist_address=True)
    assert r.status_code == 200, r.text
    assert guichet.sql_value("SELECT count(*) FROM blocklist WHERE kind = 'address'"
                             " AND value = %s", addr) == 1


def test_sanctions_match_needs_four_eyes(guichet, rs, reviewer, admin):
    a = applicant(surname=SANCTIONED["surname"], given=SANCTIONED["given_names"],
                  birth=SANCTIONED["birth"])
    r = requests.post(guichet.url("/v1/enrolments"), json=body_for(a), timeout=30)
    eid = r.json()["id"]
    rev = review_of(guichet, eid)
    assert rev["kind"] == "identity" and rev["four_eyes"] is True
    r = decide(guichet, rs, rev["id"], comment="different person: birth place differs")
    assert r.status_code == 200 and r.json()["state"] == "awaiting_second_approval", r.text
    assert enrol_state(guichet, eid) == "identity_review"
    assert_error(decide(guichet, rs, rev["id"]), 409, "conflict")
    other = Admin(guichet, "reviewer").login()
    assert_error(decide(guichet, other, rev["id"]), 403, "forbidden")
    waiting = {x["id"]: x for x in listed(guichet, rs, "state=awaiting_second_approval")}
    assert waiting[rev["id"]]["first_approver"] == reviewer.username
    s = admin.login()
    r = decide(guichet, s, rev["id"], comment="confirmed with compliance")
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    assert enrol_state(guichet, eid) == "device"
    d = s.get(guichet.url(f"/v1/admin/reviews/{rev['id']}"), timeout=10).json()
    assert [(x["by"], x["decision"]) for x in d["decisions"]] == \
        [(reviewer.username, "approve"), (admin.username, "approve")]
    stages = [x[1]["stage"] for x in audit_rows(guichet, "review.approve", rev["id"])]
    assert stages == ["first", "second"]


# ------------------------------------------------------------------ audit

def test_audit_api_filters_and_pages(guichet, admin, rs, reviewer):
    r = rs.get(guichet.url(f"/v1/admin/audit?actor={reviewer.username}&limit=2"), timeout=10)
    assert r.status_code == 200, r.text
    page = r.json()
    assert len(page["entries"]) == 2 and page["next_before_id"] is not None
    assert all(e["actor"] == reviewer.username for e in page["entries"])
    ids = [e["id"] for e in page["entries"]]
    assert ids == sorted(ids, reverse=True)
    nxt = rs.get(guichet.url(f"/v1/admin/audit?actor={reviewer.username}&limit=2"
                             f"&before_id={page['next_before_id']}"), timeout=10).json()
    assert nxt["entries"] and nxt["entries"][0]["id"] < ids[-1]
    e = page["entries"][0]
    assert set(e) == {"id", "at", "actor", "action", "target", "details", "hash"}
    logins = rs.get(guichet.url("/v1/admin/audit?action=admin.login&since=2000-01-01T00:00:00Z"),
                    timeout=10).json()["entries"]
    assert logins and all(x["action"] == "admin.login" for x in logins)
    assert_error(rs.get(guichet.url("/v1/admin/audit?since=not-a-time"), timeout=10), 400, "bad_request")
    assert_error(rs.get(guichet.url("/v1/admin/audit?limit=500"), timeout=10), 400, "bad_request")


def server_role_conn(guichet):
    conn = psycopg2.connect(host=str(guichet.cluster.sock), dbname="guichet", user="guichet")
    conn.autocommit = True
    return conn


def test_audit_log_is_append_only_for_the_server_role(guichet):
    conn = server_role_conn(guichet)
    try:
        for q in ("UPDATE audit_log SET actor = 'mallory' WHERE id = (SELECT min(id) FROM audit_log)",
                  "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
                  "TRUNCATE audit_log"):
            with conn.cursor() as cur, pytest.raises(psycopg2.Error) as e:
                cur.execute(q)
            assert e.value.pgcode == "42501", (q, e.value.pgcode)
        # even the owner granting itself the privilege back meets the trigger
        with conn.cursor() as cur:
            cur.execute("GRANT UPDATE ON audit_log TO guichet")
        with conn.cursor() as cur, pytest.raises(psycopg2.Error) as e:
            cur.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = (SELECT min(id) FROM audit_log)")
        assert "append-only" in str(e.value)
        with conn.cursor() as cur:
            cur.execute("REVOKE UPDATE ON audit_log FROM guichet")
    finally:
        conn.close()
    with pytest.raises(psycopg2.Error):           # the superuser too, while the trigger is on
        guichet.sql("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)")


def test_audit_chain_verifies_and_names_an_altered_row(guichet):
    out = guichet.cli("audit", "verify")
    assert out["ok"] is True and out["rows"] >= 10, out
    rows = guichet.sql("SELECT id, actor FROM audit_log ORDER BY id")
    victim, actor = rows[len(rows) // 2]
    tamper = ("ALTER TABLE audit_log DISABLE TRIGGER ALL;"
              " UPDATE audit_log SET actor = %s WHERE id = %s;"
              " ALTER TABLE audit_log ENABLE TRIGGER ALL;")
    guichet.sql(tamper, "mallory", victim)
    try:
        r = guichet.cli_run("audit", "verify")
        assert r.returncode == 1, r.stdout + r.stderr
        out = json.loads(r.stdout)
        assert out["ok"] is False and out["first_broken"] == victim, out
        assert out["rows"] == len([x for x in rows if x[0] <= victim]) and out["reason"]
    finally:
        guichet.sql(tamper, actor, victim)
    assert guichet.cli("audit", "verify")["ok"] is True


def test_audit_anchor_shows_that_the_newest_rows_were_removed(guichet):
    """The chain alone cannot show that its newest rows were removed (what
    is left verifies); the head printed by one verify, given to a later one
    with --anchor, does."""
    out = guichet.cli("audit", "verify")
    head = out["head"]
    assert out["ok"] is True and head["id"] == guichet.sql_value("SELECT max(id) FROM audit_log")
    assert head["hash"] == guichet.sql_value(
        "SELECT encode(hash, 'hex') FROM audit_log WHERE id = %s", head["id"])
    assert head["anchor"] == f"{head['id']}:{head['hash']}"
    assert guichet.cli("audit", "verify", "--anchor", head["anchor"])["ok"] is True

    r = guichet.cli_run("audit", "verify", "--anchor", f"{head['id']}:{'0' * 64}")
    assert r.returncode == 1, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["first_broken"] == head["id"], out
    assert "another hash" in out["reason"], out

    # a superuser who disables the trigger removes the two newest rows
    gone = guichet.sql("SELECT id, at, actor, action, target, details::text, prev_hash, hash"
                       " FROM audit_log ORDER BY id DESC LIMIT 2")
    total = guichet.sql_value("SELECT count(*) FROM audit_log")
    guichet.sql("ALTER TABLE audit_log DISABLE TRIGGER ALL;"
                " DELETE FROM audit_log WHERE id >= %s;"
                " ALTER TABLE audit_log ENABLE TRIGGER ALL;", gone[-1][0])
    try:
        assert guichet.cli("audit", "verify")["ok"] is True, "a shorter chain still verifies"
        r = guichet.cli_run("audit", "verify", "--anchor", head["anchor"])
        assert r.returncode == 1, r.stdout + r.stderr
        out = json.loads(r.stdout)
        assert out["ok"] is False and out["first_broken"] == head["id"], out
        assert out["rows"] == total - 2 and "newest rows were removed" in out["reason"], out
    finally:
        for row in reversed(gone):
            guichet.sql("INSERT INTO audit_log (id, at, actor, action, target, details,"
                        " prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s)", *row)
    assert guichet.cli("audit", "verify", "--anchor", head["anchor"])["ok"] is True


@pytest.mark.parametrize("anchor", ["12", "12:", f"x:{'0' * 64}", f"0:{'0' * 64}",
                                    f"-3:{'0' * 64}", f"12:{'0' * 63}", f"12:{'g' * 64}",
                                    f"12:{'0' * 64}:1"])
def test_audit_verify_refuses_a_malformed_anchor(guichet, anchor):
    r = guichet.cli_run("audit", "verify", "--anchor", anchor)
    assert r.returncode != 0
    assert json.loads(r.stdout)["error"]["code"] == "bad_request", r.stdout


def test_no_admin_secret_in_the_server_log(guichet, reviewer):
    s = reviewer.login()
    log = guichet.log_text()
    for secret in (reviewer.password, reviewer.secret, s.csrf, s.cookies["guichet_admin"]):
        assert secret not in log
    assert "/v1/admin/login" in log

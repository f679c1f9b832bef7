# SPDX-License-Identifier: AGPL-3.0-or-later
"""Assisted enrolment (issue 17, API.md "Assisted enrolment"): the
applicant's one-time code and consent, the advisor's join (single use,
expiry, wrong codes limited per advisor in PostgreSQL), the read-only view
per scope (long-polled), hints, the applicant's Stop and the other ends of
a session, roles, and a whole enrolment followed by an advisor whose every
answer is searched for the enrolment's secrets.  Each test checks the
answers and the rows they changed (or did not)."""
import base64
import hashlib
import hmac
import json
import re
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mrz  # noqa: E402
from helpers import assert_error, read_keyring  # noqa: E402
from phone import Phone, b64u, parse_payload  # noqa: E402
from test_admin import Admin, identity_review  # noqa: E402
from test_devices import challenge, passed_enrolment  # noqa: E402
from test_enrolments import applicant, body_for  # noqa: E402

ALL = ["progress", "identity", "device"]


# ------------------------------------------------------------------ helpers

class Advisor:
    """A logged-in back-office user (role advisor unless told) who keeps
    every answer the server gave it, for the secret search."""

    def __init__(self, g, role="advisor"):
        self.g = g
        self.admin = Admin(g, role=role)
        self.s = self.admin.login()
        self.answers = []

    def _keep(self, r):
        self.answers.append(r)
        return r

    def join(self, code):
        if isinstance(code, str):
            self.g.secrets.add(code)
        return self._keep(self.s.post(self.g.url("/v1/admin/assist"), json={"code": code},
                                      headers={"X-CSRF-Token": self.s.csrf}, timeout=30))

    def view(self, aid, **params):
        return self._keep(self.s.get(self.g.url(f"/v1/admin/assist/{aid}"), params=params,
                                     timeout=40))

    def hint(self, aid, text):
        return self._keep(self.s.post(self.g.url(f"/v1/admin/assist/{aid}/hints"),
                                      json={"text": text},
                                      headers={"X-CSRF-Token": self.s.csrf}, timeout=30))

    def leave(self, aid):
        return self._keep(self.s.delete(self.g.url(f"/v1/admin/assist/{aid}"),
                                        headers={"X-CSRF-Token": self.s.csrf}, timeout=30))


def ask_help(g, s, scopes=None, eid=None):
    r = s.post(g.url(f"/v1/enrolments/{eid or s.eid}/assist"),
               json={"scopes": ["progress"] if scopes is None else scopes}, timeout=10)
    if r.status_code == 201:
        g.secrets.add(r.json()["code"])
    return r


def offered(g, s, scopes=None):
    r = ask_help(g, s, scopes)
    assert r.status_code == 201, r.text
    return r.json()["code"]


def joined(g, scopes=None, advisor=None):
    """An enrolment at the device step whose applicant asked for help and an
    advisor who joined.  @return (applicant session, advisor, join answer)."""
    s = passed_enrolment(g)
    adv = advisor or Advisor(g)
    r = adv.join(offered(g, s, scopes))
    assert r.status_code == 201, r.text
    return s, adv, r.json()


def assist_row(g, aid):
    rows = g.sql("SELECT enrolment_id, code_hash, scopes, advisor, joined_at IS NOT NULL,"
                 " ended_at IS NOT NULL, ended_by, end_reason FROM assists WHERE id = %s", aid)
    assert len(rows) == 1, rows
    return dict(zip(("enrolment_id", "code_hash", "scopes", "advisor", "joined", "ended",
                     "ended_by", "end_reason"), rows[0]))


def open_rows(g, eid):
    return g.sql("SELECT id, advisor, code_hash IS NOT NULL FROM assists"
                 " WHERE enrolment_id = %s AND ended_at IS NULL", eid)


def audit_rows(g, action, target=None, actor=None):
    q = "SELECT actor, target, details FROM audit_log WHERE action = %s"
    args = [action]
    if target is not None:
        q += " AND target = %s"
        args.append(target)
    if actor is not None:
        q += " AND actor = %s"
        args.append(actor)
    return g.sql(q + " ORDER BY id", *args)


def code_mac(g, code):
    """The stored form of a code, computed here from the master key file
    (docs/assist.md): HMAC(HMAC(key, "guichet-keyed-mac-v1\\0assist-code"), code)."""
    key = read_keyring(g.keyfile)[0][1]
    k = hmac.new(key, b"guichet-keyed-mac-v1\x00assist-code", hashlib.sha256).digest()
    return hmac.new(k, code.encode(), hashlib.sha256).digest()


def enrolment_row(g, eid):
    return g.sql("SELECT state, updated_at, pin_hash, otp_failures, device_id,"
                 " customer_id, applicant FROM enrolments WHERE id = %s", eid)[0]


def unused_codes(g, n, start=0):
    """@n codes that no open request holds right now (other tests' codes
    live in the same database): wrong for sure."""
    live = {bytes(h) for (h,) in g.sql("SELECT code_hash FROM assists WHERE code_hash IS NOT NULL")}
    out = []
    for i in range(start, start + 1000):
        c = f"{i:06d}"
        if code_mac(g, c) not in live:
            out.append(c)
        if len(out) == n:
            return out
    raise AssertionError("no free codes?")


def clear_failures(g, adv):
    g.sql("DELETE FROM assist_code_failures WHERE username = %s", adv.admin.username)


# ------------------------------------------------------------------ the code

def test_help_request_gives_a_code_stored_as_a_keyed_hash(guichet):
    s = passed_enrolment(guichet)
    r = ask_help(guichet, s, ["identity"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"code", "expires_at", "scopes"}
    assert re.fullmatch(r"[0-9]{6}", body["code"]), body
    assert body["scopes"] == ["progress", "identity"]
    left = (time.mktime(time.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
            - time.mktime(time.gmtime()))
    assert 590 <= left <= 601, left
    rows = guichet.sql("SELECT id, code_hash, scopes, advisor, ended_at FROM assists"
                       " WHERE enrolment_id = %s", s.eid)
    assert len(rows) == 1
    aid, code_hash, scopes, advisor, ended = rows[0]
    assert bytes(code_hash) == code_mac(guichet, body["code"])
    assert scopes == ["progress", "identity"] and advisor is None and ended is None
    # the code is nowhere in clear: not in the row, not in the audit log
    assert body["code"] not in repr(guichet.sql("SELECT * FROM assists WHERE id = %s", aid))
    offers = audit_rows(guichet, "assist.offer", target=s.eid)
    assert len(offers) == 1 and offers[0][0] == "applicant"
    assert offers[0][2]["assist_id"] == aid and offers[0][2]["scopes"] == ["progress", "identity"]
    assert body["code"] not in json.dumps(offers[0][2])
    # the applicant's view carries no "assist" before an advisor joins
    assert "assist" not in s.get(guichet.url(f"/v1/enrolments/{s.eid}"), timeout=10).json()


def test_bad_help_requests_change_nothing(guichet):
    s = passed_enrolment(guichet)
    url = guichet.url(f"/v1/enrolments/{s.eid}/assist")
    before = guichet.sql_value("SELECT count(*) FROM assists")
    for body in ({}, {"scopes": "identity"}, {"scopes": ["identity", "identity"]},
                 {"scopes": ["passport"]}, {"scopes": [1]}, {"scopes": ALL + ["device"]},
                 {"scopes": [], "code": "123456"}):
        assert_error(s.post(url, json=body, timeout=10), 400, "invalid_field")
    assert_error(s.post(url, data="[", headers={"Content-Type": "application/json"},
                        timeout=10), 400, "malformed_json")
    assert_error(s.post(url, data='{"scopes": []}', headers={"Content-Type": "text/plain"},
                        timeout=10), 415, "unsupported_media_type")
    # another applicant, or none, cannot ask for this enrolment
    other = passed_enrolment(guichet)
    assert_error(other.post(url, json={"scopes": []}, timeout=10), 404, "not_found")
    assert_error(requests.post(url, json={"scopes": []}, timeout=10), 404, "not_found")
    assert_error(requests.delete(url, timeout=10), 404, "not_found")
    assert guichet.sql_value("SELECT count(*) FROM assists") == before


def test_no_help_once_the_enrolment_is_over(guichet):
    s = requests.Session()
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    import datetime
    r = s.post(guichet.url("/v1/enrolments"),
               json=body_for(applicant(), expiry=datetime.date.fromisoformat(yesterday)),
               timeout=30)
    assert r.json()["state"] == "rejected", r.text
    s.eid = r.json()["id"]
    assert_error(ask_help(guichet, s), 409, "wrong_state")
    late = passed_enrolment(guichet)
    guichet.sql("UPDATE enrolments SET expires_at = now() - interval '1 second'"
                " WHERE id = %s", late.eid)
    assert_error(ask_help(guichet, late), 410, "enrolment_expired")
    assert guichet.sql_value("SELECT count(*) FROM assists WHERE enrolment_id IN (%s, %s)",
                             s.eid, late.eid) == 0


def test_help_requests_per_enrolment_are_bounded(guichet):
    s = passed_enrolment(guichet)
    for _ in range(10):
        assert ask_help(guichet, s).status_code == 201
    r = ask_help(guichet, s)
    body = assert_error(r, 429, "rate_limited")
    assert 3500 <= int(r.headers["Retry-After"]) <= 3600 and body["retry_after"] > 0
    assert guichet.sql_value("SELECT count(*) FROM assists WHERE enrolment_id = %s", s.eid) == 10
    assert len(audit_rows(guichet, "assist.offer", target=s.eid)) == 10
    # the code of the last request still works
    assert len(open_rows(guichet, s.eid)) == 1 and open_rows(guichet, s.eid)[0][2]
    guichet.sql("UPDATE assists SET created_at = created_at - interval '1 hour'"
                " WHERE enrolment_id = %s", s.eid)
    assert ask_help(guichet, s).status_code == 201


def test_join_spends_the_code_once(guichet):
    s = passed_enrolment(guichet)
    code = offered(guichet, s, ["device"])
    adv = Advisor(guichet)
    r = adv.join(code)
    assert r.status_code == 201, r.text
    j = r.json()
    assert set(j) == {"assist_id", "enrolment_id", "scopes"}
    assert j["enrolment_id"] == s.eid and j["scopes"] == ["progress", "device"]
    row = assist_row(guichet, j["assist_id"])
    assert row["advisor"] == adv.admin.username and row["joined"] and not row["ended"]
    assert row["code_hash"] is None, "a spent code keeps no hash"
    joins = audit_rows(guichet, "assist.join", target=s.eid)
    assert [(a, d["assist_id"], d["scopes"]) for a, t, d in joins] == \
        [(adv.admin.username, j["assist_id"], ["progress", "device"])]
    # used: another advisor (and the same one) cannot join with it again
    other = Advisor(guichet)
    assert_error(other.join(code), 404, "not_found")
    assert_error(adv.join(code), 404, "not_found")
    assert assist_row(guichet, j["assist_id"])["advisor"] == adv.admin.username
    # the applicant sees who follows, and what they may see
    a = s.get(guichet.url(f"/v1/enrolments/{s.eid}"), timeout=10).json()["assist"]
    assert a["advisor"] == adv.admin.username and a["scopes"] == ["progress", "device"]
    assert a["hints"] == [] and a["joined_at"].endswith("Z")


def test_malformed_codes_are_refused_and_not_counted(guichet):
    adv = Advisor(guichet)
    url = guichet.url("/v1/admin/assist")
    h = {"X-CSRF-Token": adv.s.csrf}
    for body in ({}, {"code": 123456}, {"code": "12345"}, {"code": "1234567"},
                 {"code": "12a456"}, {"code": " 123456"}, {"code": "123456", "x": 1}):
        assert_error(adv.s.post(url, json=body, headers=h, timeout=10), 400, "invalid_field")
    assert_error(adv.s.post(url, json={"code": "123456"}, timeout=10), 403, "forbidden")
    assert guichet.sql_value("SELECT count(*) FROM assist_code_failures WHERE username = %s",
                             adv.admin.username) == 0


def test_a_new_request_replaces_the_code(guichet):
    s = passed_enrolment(guichet)
    old = offered(guichet, s)
    new = offered(guichet, s, ["identity"])
    assert old != new or True      # equal by chance one time in a million
    rows = guichet.sql("SELECT end_reason, ended_by, code_hash IS NULL FROM assists"
                       " WHERE enrolment_id = %s ORDER BY created_at", s.eid)
    assert rows == [("replaced", "applicant", True), (None, None, False)]
    adv = Advisor(guichet)
    if old != new:
        assert_error(adv.join(old), 404, "not_found")
    r = adv.join(new)
    assert r.status_code == 201 and r.json()["scopes"] == ["progress", "identity"]


def test_an_expired_code_joins_nothing(guichet):
    s = passed_enrolment(guichet)
    code = offered(guichet, s)
    guichet.sql("UPDATE assists SET code_expires_at = now() - interval '1 second'"
                " WHERE enrolment_id = %s", s.eid)
    adv = Advisor(guichet)
    assert_error(adv.join(code), 404, "not_found")
    assert open_rows(guichet, s.eid)[0][1] is None
    assert guichet.sql_value("SELECT count(*) FROM assist_code_failures WHERE username = %s",
                             adv.admin.username) == 1
    fails = audit_rows(guichet, "assist.join_failed", actor=adv.admin.username)
    assert [d["reason"] for a, t, d in fails] == ["code_invalid"]
    assert code not in json.dumps([d for a, t, d in fails])
    # asking again ends the dead code quietly and gives a working one
    fresh = offered(guichet, s)
    rows = guichet.sql("SELECT end_reason, ended_by FROM assists WHERE enrolment_id = %s"
                       " ORDER BY created_at", s.eid)
    assert rows == [("code_expired", "system"), (None, None)]
    assert adv.join(fresh).status_code == 201


def test_wrong_codes_are_limited_per_advisor(guichet):
    s = passed_enrolment(guichet)
    code = offered(guichet, s)
    adv = Advisor(guichet)
    wrong = unused_codes(guichet, 5, 1000)
    for c in wrong:
        assert_error(adv.join(c), 404, "not_found")
    # the sixth attempt is refused before the code is looked at: even the right one
    r = adv.join(code)
    body = assert_error(r, 429, "rate_limited")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 600 and body["retry_after"] == retry
    assert open_rows(guichet, s.eid) == [(open_rows(guichet, s.eid)[0][0], None, True)]
    assert guichet.sql_value("SELECT count(*) FROM assist_code_failures WHERE username = %s",
                             adv.admin.username) == 5
    fails = audit_rows(guichet, "assist.join_failed", actor=adv.admin.username)
    assert [d["reason"] for a, t, d in fails] == ["code_invalid"] * 5 + ["rate_limited"]
    # another advisor is not affected
    other = passed_enrolment(guichet)
    assert Advisor(guichet).join(offered(guichet, other)).status_code == 201
    # counted in the database, so every instance sees it; once the window
    # has passed the right code works
    guichet.sql("UPDATE assist_code_failures SET at = at - interval '601 seconds'"
                " WHERE username = %s", adv.admin.username)
    assert adv.join(code).status_code == 201
    assert guichet.sql_value("SELECT count(*) FROM assist_code_failures WHERE username = %s",
                             adv.admin.username) == 0, "old failures are pruned"


def test_parallel_wrong_codes_count_each(guichet):
    adv = Advisor(guichet)
    clear_failures(guichet, adv)
    results = []

    def attempt(c):
        results.append(adv.s.post(guichet.url("/v1/admin/assist"), json={"code": c},
                                  headers={"X-CSRF-Token": adv.s.csrf}, timeout=30).status_code)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in unused_codes(guichet, 12, 900000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [404] * 5 + [429] * 7, results
    assert guichet.sql_value("SELECT count(*) FROM assist_code_failures WHERE username = %s",
                             adv.admin.username) == 5


# ------------------------------------------------------------------ the view

def test_view_shows_progress_only_unless_more_was_ticked(guichet):
    s, adv, j = joined(guichet, [])
    before = enrolment_row(guichet, s.eid)
    r = adv.view(j["assist_id"])
    assert r.status_code == 200, r.text
    v = r.json()
    assert set(v) == {"assist_id", "enrolment_id", "advisor", "scopes", "joined_at",
                      "idle_ends_at", "progress", "hints", "version"}
    assert v["scopes"] == ["progress"] and v["enrolment_id"] == s.eid
    p = v["progress"]
    assert p["state"] == "device" and p["next"] == "device_challenge"
    assert p["qr"] == {"status": "none", "expires_at": None} and p["otp_failures"] == 0
    declared = before[6]
    for value in (declared["surname"], declared["email"], declared["phone"],
                  declared["birth_date"]):
        assert value not in r.text, f"{value!r} is outside the consented scopes"
    # reading changes nothing in the enrolment
    assert enrolment_row(guichet, s.eid) == before
    # a QR on the applicant's screen shows as such, without its content
    c = challenge(guichet, s)
    v2 = adv.view(j["assist_id"]).json()
    assert v2["progress"]["qr"] == {"status": "shown", "expires_at": c["expires_at"]}
    assert v2["version"] != v["version"]
    assert c["challenge_id"] not in json.dumps(v2)


def test_view_with_identity_and_device_scopes(guichet):
    s, adv, j = joined(guichet, ["identity", "device"])
    declared = enrolment_row(guichet, s.eid)[6]
    v = adv.view(j["assist_id"]).json()
    assert v["identity"] == {"declared": declared, "decision": "pass", "reasons": []}
    assert v["device"] is None, "no phone yet"
    p = Phone(rooted=True)
    assert p.activate(challenge(guichet, s)["qr_payload"]).status_code == 201
    v = adv.view(j["assist_id"]).json()
    assert v["progress"]["state"] == "pin_otp" and v["progress"]["pin_set"] is False
    assert v["device"] == {"status": "active", "platform": "android", "model": "Pixel 8",
                           "risk": {"decision": "allow", "reasons": ["rooted"]}}


def test_review_reasons_are_shown_as_the_applicant_is_told(guichet):
    # a sanctions hit and a duplicate identity reach the advisor only as
    # "manual_check", as they reach the applicant (no tipping-off)
    g = guichet
    a = applicant()
    first = requests.Session()
    assert first.post(g.url("/v1/enrolments"), json=body_for(a), timeout=30).status_code == 201
    s = requests.Session()
    r = s.post(g.url("/v1/enrolments"), json=body_for(a, doc_surname=mrz.random_surname("OTHER")),
               timeout=30)
    assert r.json()["state"] == "identity_review", r.text
    s.eid = r.json()["id"]
    stored = g.sql_value("SELECT identity_result->'reasons' FROM enrolments WHERE id = %s", s.eid)
    assert "duplicate_identity" in stored and "name_mismatch" in stored, stored
    adv = Advisor(g)
    j = adv.join(offered(g, s, ["identity"])).json()
    v = adv.view(j["assist_id"]).json()
    assert v["progress"]["state"] == "identity_review"
    assert v["progress"]["next"] == "wait_for_review"
    assert v["identity"]["decision"] == "review"
    assert sorted(v["identity"]["reasons"]) == ["manual_check", "name_mismatch"]
    assert "duplicate" not in json.dumps(v)


def test_only_the_advisor_who_joined_sees_the_session(guichet):
    s, adv, j = joined(guichet)
    other = Advisor(guichet)
    admin = Advisor(guichet, role="admin")
    for who in (other, admin):
        assert_error(who.view(j["assist_id"]), 404, "not_found")
        assert_error(who.hint(j["assist_id"], "hello"), 404, "not_found")
        assert_error(who.leave(j["assist_id"]), 404, "not_found")
    assert_error(adv.view("ast_doesnotexist0000000000"), 404, "not_found")
    assert not assist_row(guichet, j["assist_id"])["ended"]
    assert guichet.sql_value("SELECT count(*) FROM assist_hints WHERE assist_id = %s",
                             j["assist_id"]) == 0


def test_roles(guichet):
    g = guichet
    reviewer = Admin(g, role="reviewer").login()
    adv = Advisor(g)
    # a reviewer does not assist; an advisor does not review or read the audit log
    h = {"X-CSRF-Token": reviewer.csrf}
    assert_error(reviewer.post(g.url("/v1/admin/assist"), json={"code": "123456"}, headers=h,
                               timeout=10), 403, "forbidden")
    assert_error(reviewer.get(g.url("/v1/admin/assist/ast_x"), timeout=10), 403, "forbidden")
    for path in ("/v1/admin/reviews", "/v1/admin/audit", "/v1/admin/admins", "/v1/admin/tokens"):
        assert_error(adv.s.get(g.url(path), timeout=10), 403, "forbidden")
    me = adv.s.get(g.url("/v1/admin/me"), timeout=10)
    assert me.status_code == 200 and me.json()["role"] == "advisor"
    # an admin may assist
    s = passed_enrolment(g)
    admin = Advisor(g, role="admin")
    assert admin.join(offered(g, s)).status_code == 201
    assert g.sql_value("SELECT role FROM admins WHERE username = %s", adv.admin.username) == "advisor"


def test_an_advisor_cannot_act_on_the_enrolment(guichet):
    """The advisor's session is a back-office one: every enrolment endpoint
    answers it as a stranger, and nothing changes."""
    g = guichet
    s, adv, j = joined(g, ALL)
    c = challenge(g, s)
    before = enrolment_row(g, s.eid)
    challenges = g.sql_value("SELECT count(*) FROM device_challenges WHERE enrolment_id = %s", s.eid)
    base = f"/v1/enrolments/{s.eid}"
    h = {"X-CSRF-Token": adv.s.csrf}
    calls = [("GET", base, None), ("GET", base + "/device-challenge", None),
             ("GET", base + "/device-challenge/qr.svg", None),
             ("POST", base + "/device-challenge", {}), ("POST", base + "/pin", {"pin": "480713"}),
             ("POST", base + "/otp-confirm", {"otp": "123456"}),
             ("POST", base + "/credential", {"kind": "device"}),
             ("POST", base + "/assist", {"scopes": ALL}), ("DELETE", base + "/assist", None)]
    for method, path, body in calls:
        r = adv.s.request(method, g.url(path), json=body, headers=h, timeout=10)
        assert_error(r, 404, "not_found")
        assert c["qr_payload"] not in r.text
    assert enrolment_row(g, s.eid) == before
    assert g.sql_value("SELECT count(*) FROM device_challenges WHERE enrolment_id = %s",
                       s.eid) == challenges
    assert not assist_row(g, j["assist_id"])["ended"]


# ------------------------------------------------------------------ live

def wait_in_thread(adv, aid, **params):
    out = {}

    def run():
        t0 = time.monotonic()
        out["r"] = adv.view(aid, **params)
        out["s"] = time.monotonic() - t0
    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    return t, out


def test_long_poll_wakes_when_the_applicant_moves_on(guichet):
    s, adv, j = joined(guichet)
    v = adv.view(j["assist_id"]).json()
    # with since = the current version, nothing changes: held to the deadline
    t0 = time.monotonic()
    same = adv.view(j["assist_id"], wait=1, since=v["version"])
    assert same.status_code == 200 and same.json()["version"] == v["version"]
    assert time.monotonic() - t0 >= 0.9
    # a QR shown by the applicant wakes the advisor at once
    t, out = wait_in_thread(adv, j["assist_id"], wait=20, since=v["version"])
    challenge(guichet, s)
    t.join(25)
    assert out["r"].status_code == 200 and out["s"] < 5, out
    assert out["r"].json()["progress"]["qr"]["status"] == "shown"
    # a stale version answers at once
    t0 = time.monotonic()
    assert adv.view(j["assist_id"], wait=20, since=v["version"]).status_code == 200
    assert time.monotonic() - t0 < 2
    for bad in ({"wait": "26"}, {"wait": "-1"}, {"wait": "x"}, {"since": "x" * 65}):
        assert_error(adv.view(j["assist_id"], **bad), 400, "bad_request")


def test_stop_ends_the_session_at_once(guichet):
    s, adv, j = joined(guichet)
    aid = j["assist_id"]
    v = adv.view(aid).json()
    t, out = wait_in_thread(adv, aid, wait=20, since=v["version"])
    r = s.delete(guichet.url(f"/v1/enrolments/{s.eid}/assist"), timeout=10)
    assert r.status_code == 204 and r.content == b""
    t.join(25)
    body = assert_error(out["r"], 410, "assist_ended")
    assert body["reason"] == "applicant" and out["s"] < 5, out
    for r in (adv.view(aid), adv.hint(aid, "still there?"), adv.leave(aid)):
        assert assert_error(r, 410, "assist_ended")["reason"] == "applicant"
    row = assist_row(guichet, aid)
    assert row["ended"] and row["ended_by"] == "applicant" and row["end_reason"] == "applicant"
    ends = audit_rows(guichet, "assist.end", target=s.eid)
    assert [(a, d["reason"], d["assist_id"]) for a, t_, d in ends] == [("applicant", "applicant", aid)]
    assert "assist" not in s.get(guichet.url(f"/v1/enrolments/{s.eid}"), timeout=10).json()
    # stopping again is fine and changes nothing
    assert s.delete(guichet.url(f"/v1/enrolments/{s.eid}/assist"), timeout=10).status_code == 204
    assert len(audit_rows(guichet, "assist.end", target=s.eid)) == 1


def test_a_new_request_ends_a_running_session(guichet):
    s, adv, j = joined(guichet)
    code = offered(guichet, s)
    assert assert_error(adv.view(j["assist_id"]), 410, "assist_ended")["reason"] == "replaced"
    assert [r[2] for r in open_rows(guichet, s.eid)] == [True]
    other = Advisor(guichet)
    j2 = other.join(code).json()
    a = s.get(guichet.url(f"/v1/enrolments/{s.eid}"), timeout=10).json()["assist"]
    assert a["advisor"] == other.admin.username
    assert other.view(j2["assist_id"]).status_code == 200


def test_the_advisor_may_end_it(guichet):
    s, adv, j = joined(guichet)
    assert adv.leave(j["assist_id"]).status_code == 204
    row = assist_row(guichet, j["assist_id"])
    assert row["end_reason"] == "advisor" and row["ended_by"] == adv.admin.username
    assert assert_error(adv.view(j["assist_id"]), 410, "assist_ended")["reason"] == "advisor"
    assert "assist" not in s.get(guichet.url(f"/v1/enrolments/{s.eid}"), timeout=10).json()


def test_idle_and_expired_sessions_end(guichet):
    s, adv, j = joined(guichet)
    guichet.sql("UPDATE assists SET last_activity_at = now() - interval '901 seconds'"
                " WHERE id = %s", j["assist_id"])
    guichet.sql("UPDATE enrolments SET updated_at = now() - interval '901 seconds'"
                " WHERE id = %s", s.eid)
    assert assert_error(adv.view(j["assist_id"]), 410, "assist_ended")["reason"] == "idle"
    row = assist_row(guichet, j["assist_id"])
    assert row["ended_by"] == "system" and row["end_reason"] == "idle"
    assert [d["reason"] for a, t, d in audit_rows(guichet, "assist.end", target=s.eid)] == ["idle"]
    # the applicant's own reads end it too: an enrolment past its expiry
    s2, adv2, j2 = joined(guichet)
    guichet.sql("UPDATE enrolments SET expires_at = now() - interval '1 second' WHERE id = %s",
                s2.eid)
    r = s2.get(guichet.url(f"/v1/enrolments/{s2.eid}"), timeout=10)
    assert_error(r, 410, "enrolment_expired")
    assert assert_error(adv2.view(j2["assist_id"]), 410, "assist_ended")["reason"] == "expired"


# ------------------------------------------------------------------ hints

def test_hints_reach_the_applicant(guichet):
    s, adv, j = joined(guichet)
    aid = j["assist_id"]
    before = enrolment_row(guichet, s.eid)
    text = "Scan the code with the Guichet app — « Ajouter ce téléphone »"
    r = adv.hint(aid, text)
    assert r.status_code == 201, r.text
    h = r.json()
    assert h["text"] == text and h["step"] == "device" and h["at"].endswith("Z")
    a = s.get(guichet.url(f"/v1/enrolments/{s.eid}"), timeout=10).json()["assist"]
    assert a["hints"] == [h]
    assert adv.view(aid).json()["hints"] == [h]
    rows = audit_rows(guichet, "assist.hint", target=s.eid)
    assert [(x[0], x[2]["text"], x[2]["step"]) for x in rows] == [(adv.admin.username, text, "device")]
    assert enrolment_row(guichet, s.eid) == before, "a hint changes nothing in the enrolment"


def test_bad_hints_are_refused(guichet):
    s, adv, j = joined(guichet)
    aid = j["assist_id"]
    for text in ("", "   ", "x" * 281, "line\nbreak", "tab\there", "a\u202eb", "zero\u200bwidth",
                 "bom\ufeff", "nul\u0085"):
        assert_error(adv.hint(aid, text), 400, "invalid_field")
    for body in ({}, {"text": 5}, {"text": "ok", "step": "pin"}):
        r = adv.s.post(guichet.url(f"/v1/admin/assist/{aid}/hints"), json=body,
                       headers={"X-CSRF-Token": adv.s.csrf}, timeout=10)
        assert_error(r, 400, "invalid_field")
    assert adv.hint(aid, "é" * 280).status_code == 201, "280 characters, not bytes"
    assert guichet.sql_value("SELECT count(*) FROM assist_hints WHERE assist_id = %s", aid) == 1
    # a session takes a bounded number of hints
    guichet.sql("INSERT INTO assist_hints (assist_id, step, text)"
                " SELECT %s, 'device', 'filler ' || i FROM generate_series(1, 49) i", aid)
    body = assert_error(adv.hint(aid, "one more"), 422, "policy_refused")
    assert body["reasons"] == ["too_many_hints"]
    assert guichet.sql_value("SELECT count(*) FROM assist_hints WHERE assist_id = %s", aid) == 50


# ------------------------------------------------------------------ a whole enrolment

def token_hits(text, secret):
    """Where @secret occurs in @text; a string of digits only as a token of
    its own (not inside a longer number or a hex version)."""
    if secret.isdigit():
        pat = r'(?<![0-9A-Za-z_.:+-])' + re.escape(secret) + r'(?![0-9A-Za-z_])'
    else:
        pat = re.escape(secret)
    return [m.start() for m in re.finditer(pat, text)]


def answer_text(r):
    return "\n".join(f"{k}: {v}" for k, v in r.headers.items()) + "\n\n" + r.text


class Follower:
    """The advisor's page: long-polls the view with since=version until the
    session ends, keeping every answer."""

    def __init__(self, adv, aid):
        self.adv, self.aid = adv, aid
        self.views = []
        self.end = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        since = None
        while self.end is None:
            params = {"wait": 20, "since": since} if since else {}
            r = self.adv.view(self.aid, **params)
            if r.status_code != 200:
                self.end = r
                return
            self.views.append(r.json())
            since = r.json()["version"]

    def wait_for(self, what, pred, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(pred(v) for v in list(self.views)):
                return
            time.sleep(0.05)
        raise AssertionError(f"the advisor never saw {what}: "
                             f"{[v['progress'] for v in self.views][-3:]}")


def test_a_whole_enrolment_followed_shows_the_advisor_no_secret(guichet):
    g = guichet
    pin = "".join(__import__("secrets").choice("0123456789") for _ in range(8))
    while len(set(pin)) < 5:
        pin = "".join(__import__("secrets").choice("0123456789") for _ in range(8))
    g.secrets.add(pin)
    docnum = mrz.random_docnum()
    a = applicant()
    body = body_for(a, docnum=docnum)
    s = requests.Session()
    r = s.post(g.url("/v1/enrolments"), json=body, timeout=30)
    assert r.status_code == 201 and r.json()["state"] == "device", r.text
    s.eid = r.json()["id"]
    adv = Advisor(g)
    code = offered(g, s, ALL)
    j = adv.join(code).json()
    f = Follower(adv, j["assist_id"])
    f.wait_for("the device step", lambda v: v["progress"]["state"] == "device")

    # the QR code is shown ...
    c = challenge(g, s)
    f.wait_for("the QR shown", lambda v: v["progress"].get("qr", {}).get("status") == "shown")
    assert adv.hint(j["assist_id"], "Open the Guichet app and scan the code").status_code == 201
    # ... the phone scans it and activates ...
    phone = Phone()
    act = phone.activate(c["qr_payload"])
    assert act.status_code == 201 and act.json()["status"] == "active", act.text
    f.wait_for("the phone bound", lambda v: v["progress"]["state"] == "pin_otp"
               and (v.get("device") or {}).get("status") == "active")
    # ... the PIN ...
    url = g.url(f"/v1/enrolments/{s.eid}")
    assert s.post(url + "/pin", json={"pin": pin}, timeout=10).status_code == 200
    f.wait_for("the PIN set", lambda v: v["progress"].get("pin_set") is True)
    assert adv.hint(j["assist_id"], "Now type the code the app shows").status_code == 201
    # ... a wrong first code, then the right one ...
    otps = [phone.totp()]
    wrong = next(x for x in unused_codes(g, 20, 300000) if x != otps[0])
    g.secrets.update({wrong, otps[0]})
    assert s.post(url + "/otp-confirm", json={"otp": wrong}, timeout=10).status_code == 422
    f.wait_for("a wrong code counted", lambda v: v["progress"]["otp_failures"] == 1)
    r = s.post(url + "/otp-confirm", json={"otp": otps[0]}, timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "credential", r.text
    f.wait_for("the credential step", lambda v: v["progress"]["state"] == "credential")
    applicant_view = s.get(url, timeout=10).json()
    assert [h["step"] for h in applicant_view["assist"]["hints"]] == ["device", "pin_otp"]
    # ... and the credential completes the enrolment, which ends the session
    r = s.post(url + "/credential", json={"kind": "device"}, timeout=10)
    assert r.status_code == 201 and r.json()["state"] == "completed", r.text
    f.thread.join(25)
    assert f.end is not None, "the advisor's long poll did not end"
    assert assert_error(f.end, 410, "assist_ended")["reason"] == "completed"
    assert assist_row(g, j["assist_id"])["end_reason"] == "completed"
    assert "assist" not in s.get(url, timeout=10).json()

    # What the advisor saw, step by step (so the search below searched
    # something): the declared identity, the phone, each state.
    states = [v["progress"]["state"] for v in f.views]
    assert {"device", "pin_otp", "credential"} <= set(states), states
    assert f.views[-1]["identity"]["declared"]["surname"] == a["surname"]
    assert len(adv.answers) >= 8, len(adv.answers)

    # The secrets of this enrolment, in every form they travel in.
    _, cid, act_secret = parse_payload(c["qr_payload"])
    seed = phone.seed
    seed_b32 = base64.b32encode(seed).decode().rstrip("=")
    lines = body["document"]["mrz"].split("\n")
    secrets_ = {
        "PIN": [pin], "OTP": otps + [wrong],
        "QR payload": [c["qr_payload"], c["qr_payload"].split("&s=")[1]],
        "challenge id": [cid],
        "activation secret": [b64u(act_secret), act_secret.hex(),
                              base64.b64encode(act_secret).decode()],
        "seed": [seed.hex(), b64u(seed), base64.b64encode(seed).decode(), seed_b32],
        "document number": [docnum], "MRZ": lines,
        "applicant session": [s.cookies["guichet_applicant"]],
    }
    # they are real: the applicant's answers carried them
    assert c["qr_payload"].split("&s=")[1] == b64u(act_secret)
    assert docnum in lines[1]
    leaks = []
    for r in adv.answers:
        text = answer_text(r)
        for what, values in secrets_.items():
            for v in values:
                if token_hits(text, v):
                    leaks.append(f"{what} in {r.request.method} {r.request.url} ({r.status_code})")
    assert not leaks, leaks
    # nor did the audit log of this enrolment take the code or a secret
    audit = json.dumps(g.sql("SELECT actor, action, target, details FROM audit_log"
                             " WHERE target = %s OR details->>'assist_id' = %s",
                             s.eid, j["assist_id"]), default=str)
    actions = [x[1] for x in g.sql("SELECT actor, action FROM audit_log WHERE target = %s"
                                   " ORDER BY id", s.eid)]
    assert actions == ["assist.offer", "assist.join", "assist.hint", "assist.hint",
                       "assist.end"], actions
    for what, values in dict(secrets_, code=[code]).items():
        for v in values:
            assert not token_hits(audit, v), f"{what} in the audit log"

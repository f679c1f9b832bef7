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

# SPDX-License-Identifier: AGPL-3.0-or-later
"""Device risk in the enrolment pipeline (issue 5): what each decision does
to the device and the enrolment, the network signals behind a trusted
proxy, a device reused across customers, and four-eyes approval on a
server whose rules send high scores to review instead of denying them.

The phone sits behind X-Forwarded-For, which the test stacks believe from
127.0.0.1 (GUICHET_TRUSTED_PROXIES); the GeoIP databases are MaxMind's test
databases, where 1.124.213.1 is a Tor exit node."""
import re
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import FAST_ARGON2, Guichet  # noqa: E402
from harness import REPO, SHARED, SUITE_LIMITS, Stack  # noqa: E402
from helpers import assert_error  # noqa: E402
from phone import Phone  # noqa: E402
from test_admin import Admin, decide, review_of  # noqa: E402
from test_devices import challenge, passed_enrolment  # noqa: E402

TOR_EXIT = "1.124.213.1"


def activate(g, phone, addr=None, s=None):
    """Enrolment @s (default: a new one that passed identity), activated by
    @phone (from @addr).  @return (browser session, activation answer)."""
    s = s or passed_enrolment(g)
    c = challenge(g, s)
    r = phone.activate(c["qr_payload"],
                       headers={"X-Forwarded-For": addr} if addr else None)
    assert r.status_code == 201, r.text
    return s, r.json()


def stored(g, device_id):
    row = g.sql("SELECT d.status, e.state, d.client_addr, r.score, r.decision, r.reasons"
                " FROM devices d JOIN enrolments e ON e.id = d.enrolment_id"
                " JOIN risk_decisions r ON r.device_id = d.id WHERE d.id = %s", device_id)
    assert len(row) == 1, row
    return dict(zip(("status", "state", "addr", "score", "decision", "reasons"), row[0]))


def test_clean_device_is_allowed(guichet):
    s, a = activate(guichet, Phone())
    assert (a["status"], a["risk"]["decision"]) == ("active", "allow")
    row = stored(guichet, a["device_id"])
    assert (row["status"], row["state"], row["decision"]) == ("active", "pin_otp", "allow")
    assert row["score"] < 40 and a["risk"]["score"] == 0     # told: the decision's
    assert guichet.sql_value("SELECT count(*) FROM reviews WHERE enrolment_id = %s", s.eid) == 0


def test_emulator_goes_to_review_and_waits(guichet):
    s, a = activate(guichet, Phone(emulator=True))
    assert (a["status"], a["risk"]["decision"]) == ("pending_review", "review")
    assert a["risk"]["reasons"] == ["emulator"] and 40 <= a["risk"]["score"] < 80
    assert "server_ecdh_public_key" in a    # a review may still become active
    row = stored(guichet, a["device_id"])
    assert (row["status"], row["state"]) == ("pending_review", "device_review")
    rev = review_of(guichet, s.eid)
    assert (rev["kind"], rev["state"], rev["score"]) == ("device", "open", row["score"])
    assert guichet.sql_value("SELECT device_id FROM reviews WHERE id = %s", rev["id"]) == a["device_id"]
    eid = s.eid
    assert s.get(guichet.url(f"/v1/enrolments/{eid}/device-challenge"),
                 timeout=10).json() == {"status": "pending_review"}
    assert s.get(guichet.url(f"/v1/enrolments/{eid}"), timeout=10).json()["next"] == "wait_for_review"
    assert_error(s.post(guichet.url(f"/v1/enrolments/{eid}/pin"), json={"pin": "480713"}, timeout=10),
                 409, "wrong_state")
    # a long poll on a review holds until the deadline when nothing is decided
    t0 = time.monotonic()
    r = s.get(guichet.url(f"/v1/enrolments/{eid}/device-challenge?wait=2"), timeout=10)
    assert r.json() == {"status": "pending_review"} and 1.8 < time.monotonic() - t0 < 4


def test_rooted_phone_on_a_tor_exit(guichet):
    s, a = activate(guichet, Phone(rooted=True), addr=TOR_EXIT)
    # the phone reads what it said of itself; GeoIP's verdict on its
    # address is not its to know (docs/risk.md)
    assert a["risk"]["reasons"] == ["rooted", "manual_check"], a["risk"]
    assert a["risk"]["decision"] in ("review", "deny")
    row = stored(guichet, a["device_id"])
    assert row["addr"] == TOR_EXIT and row["score"] >= 70
    assert {"rooted", "tor_exit_node"} <= set(row["reasons"]), row
    if a["risk"]["decision"] == "deny":       # the default rules: 80 denies
        assert (a["status"], row["status"], row["state"]) == ("denied", "denied", "rejected")
        assert "server_ecdh_public_key" not in a
        assert guichet.sql_value("SELECT seed_sealed IS NULL FROM devices WHERE id = %s",
                                 a["device_id"])


# What the Guichet web app (web/app/) sends: it cannot know an OS version,
# a model, a SIM country, or whether the phone is rooted, emulated, debugged
# or hooked, so it leaves them out (docs/app.md).
WEB_APP = {"platform": "web", "app_version": "1.0.0", "locale": "fr-FR",
           "timezone": "Europe/Paris"}


def web_phone(**extra):
    p = Phone()
    p.device = dict(WEB_APP, install_id=p.device["install_id"], **extra)
    return p


def test_the_web_app_reports_only_what_it_knows(guichet):
    """Unreported integrity flags are skipped, not read as false; the
    web app is allowed with its own reason, and null means not reported."""
    for phone in (web_phone(), web_phone(rooted=None, emulator=None, debugger=None,
                                         hooking=None, os_version=None, model=None)):
        s, a = activate(guichet, phone)
        assert (a["status"], a["risk"]["decision"]) == ("active", "allow"), a
        assert "web_app" in a["risk"]["reasons"], a
        assert set(a["risk"]["reasons"]) <= {"web_app", "geo_unavailable"}, a
        sig, dev = guichet.sql("SELECT signals, inputs->'device' FROM risk_decisions"
                               " WHERE device_id = %s", a["device_id"])[0]
        for flag in ("rooted", "emulator", "debugger", "hooking"):
            assert sig[flag]["fired"] is False and "not reported" in sig[flag]["skipped"], sig[flag]
            assert dev[flag] is None, dev
        assert sig["web_app"]["fired"] is True and sig["web_app"]["contribution"] == 20
        assert dev["platform"] == "web" and dev["os_version"] is None


def test_the_web_app_on_a_tor_exit_goes_to_review(guichet):
    """Nothing rules out a modified phone behind the web app: on an
    anonymising network it is looked at, like a rooted phone."""
    s, a = activate(guichet, web_phone(), addr=TOR_EXIT)
    assert a["risk"]["reasons"] == ["web_app", "manual_check"], a
    assert (a["status"], a["risk"]["decision"]) == ("pending_review", "review"), a
    reasons = set(stored(guichet, a["device_id"])["reasons"])
    assert {"web_app", "tor_exit_node", "compromised_device_on_anonymous_network"} <= reasons


def test_untrusted_forwarded_for_is_ignored(guichet):
    """Behind the trusted proxy the client is the first hop, from the right,
    that is not a trusted proxy: a Tor address forged in front of it is not
    believed."""
    s, a = activate(guichet, Phone(), addr=f"{TOR_EXIT}, 9.9.9.9")
    row = stored(guichet, a["device_id"])
    assert row["addr"] == "9.9.9.9" and "tor_exit_node" not in row["reasons"]


def test_device_reused_across_four_customers_goes_to_review(guichet):
    phone = Phone()                       # one key and install id throughout
    decisions, told = [], []
    for i in range(4):
        s, a = activate(guichet, phone)
        row = stored(guichet, a["device_id"])
        decisions.append((row["decision"], row["reasons"]))
        told.append((a["risk"]["decision"], a["risk"]["reasons"]))
    assert [d for d, _ in decisions[:3]] == ["allow"] * 3, decisions
    assert "device_reused" in decisions[1][1]
    assert decisions[3][0] == "review" and "device_reused_many" in decisions[3][1], decisions
    assert review_of(guichet, s.eid)["kind"] == "device"
    # the phone is never told it was seen elsewhere (docs/risk.md)
    assert told == [("allow", []), ("allow", []), ("allow", []),
                    ("review", ["manual_check"])], told


# ------------------------------------------------------------ four eyes

@pytest.fixture(scope="module")
def four_eyes(tmp_path_factory):
    """A second server whose rules deny by score never (threshold.deny =
    101): high scores go to the back-office, which needs four eyes."""
    rules = (REPO / "risk" / "rules.conf").read_text()
    rules, n = re.subn(r"(?m)^threshold\.deny\s*=.*$", "threshold.deny = 101", rules)
    assert n == 1
    path = tmp_path_factory.mktemp("rules") / "rules.conf"
    path.write_text(rules)
    geo = SHARED / "data" / "geoip"
    env = dict(FAST_ARGON2, **SUITE_LIMITS, GUICHET_LOG_LEVEL="debug",
               GUICHET_RISK_RULES_FILE=str(path),
               GUICHET_TRUSTED_PROXIES="127.0.0.1",
               GUICHET_GEOIP_COUNTRY_DB=str(geo / "GeoLite2-Country-Test.mmdb"),
               GUICHET_GEOIP_ANONYMOUS_DB=str(geo / "GeoIP2-Anonymous-IP-Test.mmdb"),
               GUICHET_SANCTIONS_DIR=str(SHARED / "data" / "sanctions" / "ofac"))
    stack = Stack("fourEyes", env=env)
    g = Guichet(stack)
    yield g
    if g._conn is not None and not g._conn.closed:
        g._conn.close()
    stack.close()


def test_four_eyes_on_a_high_score(four_eyes):
    g = four_eyes
    s, a = activate(g, Phone(rooted=True), addr=TOR_EXIT)
    assert a["risk"]["decision"] == "review", a
    assert a["status"] == "pending_review"
    row = stored(g, a["device_id"])
    assert row["score"] >= 80, row
    # the phone is told the review's score, not the one that asks for four eyes
    assert a["risk"]["score"] == 40 and a["risk"]["reasons"] == ["rooted", "manual_check"]
    rev = review_of(g, s.eid)
    assert rev["four_eyes"] is True and rev["score"] == row["score"]
    first, other_reviewer, second = Admin(g, "reviewer"), Admin(g, "reviewer"), Admin(g, "admin")
    fs = first.login()
    r = decide(g, fs, rev["id"], comment="rooted test phone of our branch staff")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "awaiting_second_approval"
    assert g.sql_value("SELECT status FROM devices WHERE id = %s", a["device_id"]) == "pending_review"
    assert g.sql_value("SELECT state FROM enrolments WHERE id = %s", s.eid) == "device_review"
    assert_error(decide(g, fs, rev["id"], comment="again"), 409, "conflict")
    assert_error(decide(g, other_reviewer.login(), rev["id"]), 403, "forbidden")
    assert review_of(g, s.eid)["state"] == "awaiting_second_approval"
    r = decide(g, second.login(), rev["id"], comment="second pair of eyes: agreed")
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    assert g.sql_value("SELECT status FROM devices WHERE id = %s", a["device_id"]) == "active"
    assert g.sql_value("SELECT state FROM enrolments WHERE id = %s", s.eid) == "pin_otp"
    assert s.get(g.url(f"/v1/enrolments/{s.eid}/device-challenge"),
                 timeout=10).json() == {"status": "registered"}
    row = g.sql("SELECT first_approver, decided_by, jsonb_array_length(comments) FROM reviews"
                " WHERE id = %s", rev["id"])[0]
    assert row == (first.username, second.username, 2)
    assert g.cli("audit", "verify")["ok"] is True
    log = g.log_text()
    leaks = [x for x in g.secrets if len(x) >= 8 and x in log]
    assert not leaks, leaks
    assert requests.get(g.url("/healthz"), timeout=5).status_code == 200

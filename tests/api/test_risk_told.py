# SPDX-License-Identifier: AGPL-3.0-or-later
"""What the phone is told of its risk (docs/risk.md, "What the phone is
told"; docs/protocol.md §1.4): the activation answer keeps its shape and
its decision, but names only what the phone says about itself (rooted,
emulator, debugger, hooking, web app, outdated OS or app).  The bank's
blocklist, other enrolments of the same phone, velocity and GeoIP read as
one `manual_check` on a review or a deny, and as nothing on an allow; the
score is the decision's (0, the review threshold, 100), never the sum.
The database, the back-office and the advisor keep what each had.

The phone sits behind X-Forwarded-For, which the test stack believes from
127.0.0.1 (GUICHET_TRUSTED_PROXIES)."""
import secrets
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phone import Phone  # noqa: E402
from test_admin import Admin, listed, review_of  # noqa: E402
from test_assist import joined  # noqa: E402
from test_risk_pipeline import activate  # noqa: E402

REVIEW_AT = 40              # risk/rules.conf threshold.review
TOLD = {"rooted", "emulator", "debugger", "hooking", "web_app", "os_outdated",
        "app_outdated", "manual_check"}


def told_score(decision):
    return {"allow": 0, "review": REVIEW_AT, "deny": 100}[decision]


def check_answer(a):
    """The 201 keeps exactly its contract; the risk reads only what the
    phone may be told, and a score that is its decision's."""
    risk = a["risk"]
    assert set(risk) == {"score", "decision", "reasons"}, risk
    assert risk["decision"] in ("allow", "review", "deny")
    assert a["status"] == {"allow": "active", "review": "pending_review",
                           "deny": "denied"}[risk["decision"]]
    assert set(risk["reasons"]) <= TOLD, risk
    assert risk["reasons"].count("manual_check") <= 1, risk
    assert risk["reasons"][-1:] == ["manual_check"] or "manual_check" not in risk["reasons"]
    assert risk["score"] == told_score(risk["decision"]), risk
    return risk


def stored(g, device_id):
    """The decision as stored with the device: real score and reasons."""
    rows = g.sql("SELECT r.score, r.decision, r.reasons, d.risk->'score', d.risk->'reasons'"
                 " FROM risk_decisions r JOIN devices d ON d.id = r.device_id"
                 " WHERE r.device_id = %s", device_id)
    assert len(rows) == 1, rows
    score, decision, reasons, dscore, dreasons = rows[0]
    assert (dscore, dreasons) == (score, reasons), "devices.risk is the same decision"
    return score, decision, reasons


def blocklist_address(g):
    addr = "9.9.%d.%d" % (secrets.randbelow(250), secrets.randbelow(250) + 1)  # in no GeoIP test db
    g.sql("INSERT INTO blocklist (kind, value, reason, created_by)"
          " VALUES ('address', %s, 'fraud ring, case 77', 'test')", addr)
    return addr


def test_a_blocklisted_address_is_not_named_to_the_phone(guichet):
    g = guichet
    addr = blocklist_address(g)
    s, a = activate(g, Phone(), addr)
    risk = check_answer(a)
    assert (a["status"], risk["decision"]) == ("pending_review", "review")
    assert risk["reasons"] == ["manual_check"] and risk["score"] == REVIEW_AT
    assert "server_ecdh_public_key" in a and "otp" in a
    assert "blocklist" not in str(a)
    score, decision, reasons = stored(g, a["device_id"])
    assert decision == "review" and "blocklisted_address" in reasons, reasons

    # with something of its own, the phone reads that, and the score is
    # still the review's: nothing of the blocklist's weight shows
    s, a = activate(g, Phone(debugger=True), addr)
    risk = check_answer(a)
    assert risk["decision"] == "review"
    assert risk["reasons"] == ["debugger", "manual_check"] and risk["score"] == REVIEW_AT
    score, decision, reasons = stored(g, a["device_id"])
    assert {"blocklisted_address", "debugger"} <= set(reasons) and score >= 60, (score, reasons)

    # the back-office still reads the real score and reasons
    rs = Admin(g, "reviewer").login()
    rev = review_of(g, s.eid)
    assert rev["score"] == score
    item = [x for x in listed(g, rs, "state=open&kind=device") if x["id"] == rev["id"]][0]
    assert {"blocklisted_address", "debugger"} <= set(item["reasons"]), item
    d = rs.get(g.url(f"/v1/admin/reviews/{rev['id']}"), timeout=10).json()
    assert d["device"]["risk"]["score"] == score
    assert {"blocklisted_address", "debugger"} <= set(d["device"]["risk"]["reasons"])
    assert d["device"]["risk"]["signals"]["blocklisted_address"]["fired"] is True


def test_a_phone_reused_across_enrolments_is_not_told_so(guichet):
    g = guichet
    phone = Phone()                       # one key and install id throughout
    answers = [activate(g, phone)[1] for _ in range(4)]
    rows = [stored(g, a["device_id"]) for a in answers]
    # allowed, though the second and third were seen elsewhere: no trace
    for a, (score, decision, reasons) in zip(answers[1:3], rows[1:3]):
        assert decision == "allow" and "device_reused" in reasons and score > 0, reasons
        risk = check_answer(a)
        assert (risk["decision"], risk["reasons"], risk["score"]) == ("allow", [], 0), risk
    # the fourth goes to a person: one manual_check, not why
    score, decision, reasons = rows[3]
    assert decision == "review" and "device_reused_many" in reasons, reasons
    risk = check_answer(answers[3])
    assert (risk["decision"], risk["reasons"]) == ("review", ["manual_check"])
    assert answers[3] != answers[2] and "reused" not in str(answers[3])


def test_a_blocklisted_install_id_is_denied_without_saying_so(guichet):
    g = guichet
    phone = Phone(rooted=True)
    g.sql("INSERT INTO blocklist (kind, value, reason, created_by)"
          " VALUES ('install_id', %s, 'fraud ring, case 78', 'test')",
          phone.device["install_id"])
    s, a = activate(g, phone)
    risk = check_answer(a)
    assert (a["status"], risk["decision"]) == ("denied", "deny")
    assert risk["reasons"] == ["rooted", "manual_check"] and risk["score"] == 100
    assert "server_ecdh_public_key" not in a
    score, decision, reasons = stored(g, a["device_id"])
    assert decision == "deny" and "blocklisted_install_id" in reasons


def test_the_advisor_sees_what_it_saw_before(guichet):
    """The advisor's view shares the classification: the connection is
    shown, the blocklist reads manual_check (docs/assist.md)."""
    g = guichet
    addr = blocklist_address(g)
    s, adv, j = joined(g, ["device"])
    s2, a = activate(g, Phone(rooted=True), addr, s=s)
    assert check_answer(a)["reasons"] == ["rooted", "manual_check"]
    v = adv.view(j["assist_id"]).json()
    assert v["device"]["risk"] == {"decision": "review", "reasons": ["rooted", "manual_check"]}


def test_an_allowed_clean_phone_reads_nothing(guichet):
    s, a = activate(guichet, Phone())
    risk = check_answer(a)
    assert (risk["decision"], risk["reasons"], risk["score"]) == ("allow", [], 0)
    score, decision, reasons = stored(guichet, a["device_id"])
    assert decision == "allow" and score < REVIEW_AT
    assert requests.get(guichet.url("/healthz"), timeout=5).status_code == 200

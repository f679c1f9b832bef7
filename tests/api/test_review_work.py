# SPDX-License-Identifier: AGPL-3.0-or-later
"""Working the review queue (issue 14): rows say whether a review is a
sanctions hit and who took it; the queue is searched by name, e-mail or
id and filtered by what a review needs (sanctions, four eyes) and by who
took it; "assign to me" and "release" are audited; and the third
decision, "ask the applicant", queues an e-mail with the question through
the outbox, leaves the review open and the enrolment waiting, and is
audited.  Bad input is a 400 that changes nothing."""
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mrz  # noqa: E402
from helpers import assert_error  # noqa: E402
from test_admin import Admin, decide, enrol_state, post, review_of  # noqa: E402
from test_enrolments import SANCTIONED, applicant, body_for  # noqa: E402


def identity_review(g, **over):
    a = applicant(**over)
    r = requests.post(g.url("/v1/enrolments"),
                      json=body_for(a, doc_surname=mrz.random_surname("DOC")), timeout=30)
    assert r.status_code == 201 and r.json()["state"] == "identity_review", r.text
    eid = r.json()["id"]
    return a, eid, review_of(g, eid)["id"]


def page(g, s, **params):
    r = s.get(g.url("/v1/admin/reviews"), params=dict(params, limit=200), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def ids(p):
    return [x["id"] for x in p["reviews"]]


def test_search_by_name_email_and_id(guichet):
    s = Admin(guichet, "reviewer").login()
    a, eid, rid = identity_review(guichet, email=f"zoe.{mrz.random_surname('M').lower()}@example.org")
    _, _, other = identity_review(guichet)
    for q in (a["surname"], a["surname"].lower()[-6:], a["email"].upper(), eid, rid,
              f"{a['given_names']} {a['surname']}"):
        p = page(guichet, s, q=q)
        assert ids(p) == [rid] and p["total"] == 1, q
    assert page(guichet, s, q="nobody-at-all-" + rid)["reviews"] == []
    # the search's own % and _ are letters, not wildcards
    assert page(guichet, s, q="%")["reviews"] == []
    assert other in ids(page(guichet, s))
    assert_error(s.get(guichet.url("/v1/admin/reviews"), params={"q": "x" * 255}, timeout=10),
                 400, "bad_request")


def test_sanctions_and_four_eyes_are_marked_and_filtered(guichet):
    s = Admin(guichet, "reviewer").login()
    a = applicant(surname=SANCTIONED["surname"], given=SANCTIONED["given_names"],
                  birth=SANCTIONED["birth"])
    r = requests.post(guichet.url("/v1/enrolments"), json=body_for(a), timeout=30)
    sid = review_of(guichet, r.json()["id"])["id"]
    _, _, plain = identity_review(guichet)
    rows = {x["id"]: x for x in page(guichet, s)["reviews"]}
    assert rows[sid]["sanctions"] is True and rows[sid]["four_eyes"] is True
    assert rows[plain]["sanctions"] is False and rows[plain]["assigned_to"] is None
    sanc = page(guichet, s, needs="sanctions")
    assert sid in ids(sanc) and plain not in ids(sanc)
    assert all(x["sanctions"] for x in sanc["reviews"]) and sanc["total"] == len(sanc["reviews"])
    fe = page(guichet, s, needs="four_eyes")
    assert sid in ids(fe) and all(x["four_eyes"] for x in fe["reviews"])
    assert_error(s.get(guichet.url("/v1/admin/reviews"), params={"needs": "urgent"}, timeout=10),
                 400, "bad_request")


def test_assign_to_me_and_release_are_audited(guichet):
    alice, bob = Admin(guichet, "reviewer"), Admin(guichet, "reviewer")
    sa, sb = alice.login(), bob.login()
    _, _, rid = identity_review(guichet)
    url = f"/v1/admin/reviews/{rid}/assign"
    assert_error(post(guichet, sa, url, {"release": "yes"}), 400)
    assert_error(post(guichet, sa, url, {}, csrf=False), 403)
    assert guichet.sql("SELECT assigned_to FROM reviews WHERE id = %s", rid) == [(None,)]
    r = post(guichet, sa, url, {})
    assert r.status_code == 200 and r.json() == {"id": rid, "assigned_to": alice.username}, r.text
    assert rid in ids(page(guichet, sa, assigned="me"))
    assert rid not in ids(page(guichet, sb, assigned="me"))
    assert rid not in ids(page(guichet, sb, assigned="none"))
    d = sa.get(guichet.url(f"/v1/admin/reviews/{rid}"), timeout=10).json()
    assert d["assigned_to"] == alice.username and d["assigned_at"]
    # bob takes it over: the audit says from whom
    assert post(guichet, sb, url, {}).status_code == 200
    r = post(guichet, sb, url, {"release": True})
    assert r.status_code == 200 and r.json() == {"id": rid, "assigned_to": None}, r.text
    assert guichet.sql("SELECT assigned_to, assigned_at FROM reviews WHERE id = %s",
                       rid) == [(None, None)]
    rows = guichet.sql("SELECT actor, action, details FROM audit_log WHERE target = %s"
                       " AND action LIKE 'review.%%' AND action <> 'review.open' ORDER BY id", rid)
    assert rows == [(alice.username, "review.assign", {"to": alice.username, "from": None}),
                    (bob.username, "review.assign", {"to": bob.username, "from": alice.username}),
                    (bob.username, "review.release", {"to": None, "from": bob.username})]
    assert_error(post(guichet, sa, "/v1/admin/reviews/rev_nope/assign", {}), 404)
    assert_error(sa.get(guichet.url("/v1/admin/reviews"), params={"assigned": "bob"}, timeout=10),
                 400, "bad_request")
    # a closed review cannot be taken
    assert decide(guichet, sa, rid, "reject", comment="not the document holder").status_code == 200
    assert_error(post(guichet, sa, url, {}), 409, "wrong_state")


def test_ask_the_applicant_queues_the_question_and_the_enrolment_waits(guichet):
    reviewer = Admin(guichet, "reviewer")
    s = reviewer.login()
    a, eid, rid = identity_review(guichet)
    question = "The surname on your passport differs from the one you typed: which is right?"
    before = guichet.sql_value("SELECT count(*) FROM outbox WHERE enrolment_id = %s", eid)
    # ask cannot blocklist, and needs its message
    assert_error(decide(guichet, s, rid, "ask", comment=question, blocklist_address=True), 400)
    assert_error(decide(guichet, s, rid, "ask", comment="  "), 400, "invalid_field")
    assert guichet.sql_value("SELECT count(*) FROM outbox WHERE enrolment_id = %s", eid) == before
    r = decide(guichet, s, rid, "ask", comment=question)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "open" and r.json()["enrolment_state"] == "identity_review"
    assert enrol_state(guichet, eid) == "identity_review"
    [(kind, recipient, params)] = guichet.sql(
        "SELECT kind, recipient, params FROM outbox WHERE enrolment_id = %s"
        " AND kind = 'review_question'", eid)
    assert recipient == a["email"] and params == {"question": question}
    d = s.get(guichet.url(f"/v1/admin/reviews/{rid}"), timeout=10).json()
    assert d["state"] == "open" and d["asked_at"]
    assert [(x["by"], x["decision"], x["comment"]) for x in d["decisions"]] == \
        [(reviewer.username, "ask", question)]
    [(actor, details)] = guichet.sql("SELECT actor, details FROM audit_log WHERE target = %s"
                                     " AND action = 'review.ask'", rid)
    assert actor == reviewer.username and details["question"] == question
    row = [x for x in page(guichet, s)["reviews"] if x["id"] == rid][0]
    assert row["asked_at"] == d["asked_at"]
    # the review can still be decided
    assert decide(guichet, s, rid, "approve", comment="the applicant called: typo").status_code == 200
    assert enrol_state(guichet, eid) == "device"
    assert_error(decide(guichet, s, rid, "ask", comment=question), 409, "wrong_state")

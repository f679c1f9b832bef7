# SPDX-License-Identifier: AGPL-3.0-or-later
"""What a reviewer needs to decide (issue 14): the review detail carries
the document's own data beside what was typed (the document number
masked), and each sanctions hit the listed individual's names, birth
dates, places of birth, nationality and programmes read from the list in
force -- not a bare entry number.  The applicant's own view of the
enrolment gets none of it."""
import datetime
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mrz  # noqa: E402
from test_admin import Admin, review_of  # noqa: E402
from test_enrolments import SANCTIONED, applicant, body_for  # noqa: E402


def detail(g, s, rid):
    r = s.get(g.url(f"/v1/admin/reviews/{rid}"), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def check(d, name):
    [c] = [c for c in d["identity"]["checks"] if c["check"] == name]
    return c


def test_the_document_data_is_beside_what_was_typed(guichet):
    s = Admin(guichet, "reviewer").login()
    a = applicant(birth=datetime.date(1985, 4, 21))
    doc_surname = mrz.random_surname("DOC")
    body = body_for(a, doc_surname=doc_surname, doc_birth=datetime.date(1985, 4, 12),
                    expiry=datetime.date(2031, 3, 9))
    sess = requests.Session()
    r = sess.post(guichet.url("/v1/enrolments"), json=body, timeout=30)
    assert r.status_code == 201 and r.json()["state"] == "identity_review", r.text
    eid = r.json()["id"]
    d = detail(guichet, s, review_of(guichet, eid)["id"])
    assert d["applicant"]["birth_date"] == "1985-04-21"
    m = check(d, "mrz")
    assert m["document"] == {"surname": doc_surname, "given_names": a["given_names"],
                             "birth_date": "1985-04-12", "nationality": "FRA",
                             "expiry_date": "2031-03-09", "expiry_derived": False}
    assert m["document_number"].startswith("******") and len(m["document_number"]) == 9
    number = body["document"]["mrz"].splitlines()[1][:9].rstrip("<")
    assert number not in r.text and number not in str(d)
    # stored as the review shows it
    stored = guichet.sql_value("SELECT identity_result FROM enrolments WHERE id = %s", eid)
    [sm] = [c for c in stored["checks"] if c["check"] == "mrz"]
    assert sm["document"]["birth_date"] == "1985-04-12"
    # the applicant's view leaves the document block out
    mine = sess.get(guichet.url(f"/v1/enrolments/{eid}"), timeout=10)
    assert mine.status_code == 200, mine.text
    assert doc_surname not in mine.text and '"document"' not in mine.text


def test_a_sanctions_hit_names_the_listed_individual(guichet):
    s = Admin(guichet, "reviewer").login()
    a = applicant(surname=SANCTIONED["surname"], given=SANCTIONED["given_names"],
                  birth=SANCTIONED["birth"])
    r = requests.post(guichet.url("/v1/enrolments"), json=body_for(a), timeout=30)
    assert r.status_code == 201, r.text
    d = detail(guichet, s, review_of(guichet, r.json()["id"])["id"])
    c = check(d, "sanctions")
    [hit] = [h for h in c["hits"] if h["entry_id"] == SANCTIONED["entry_id"]]
    e = hit["entry"]
    assert e["entry_id"] == SANCTIONED["entry_id"] and e["list"] == c["list"]
    assert e["names"][0] == {"name": "ISLAMBOULI, Mohammad Shawqi", "alias": False}
    assert e["birth_dates"] == ["15 Jan 1955"]
    assert e["places_of_birth"] == ["Egypt"]
    assert e["programmes"] == ["SDGT"]
    assert e["title"] == "Military Leader of ISLAMIC GAMA'AT"
    assert e["nationalities"] == [] and e["citizenships"] == []
    # identity numbers of the listed person are not repeated
    assert "304555" not in str(e) and "Passport" not in str(e)

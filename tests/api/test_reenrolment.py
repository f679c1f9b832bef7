# SPDX-License-Identifier: AGPL-3.0-or-later
"""A lost phone (issue 6): the bank revokes the credential, the customer
enrols again through a new enrolment that skips nothing -- the identity
check finds the document the customer enrolled with, and two different
staff approve attaching to that customer (issue 12: four eyes, and the
customer is told by a message queued in the outbox) -- and the new phone
becomes a credential of the same customer, who logs in with the new PIN."""
import json
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error  # noqa: E402
from phone import Phone  # noqa: E402
from test_admin import Admin, decide, post, review_of  # noqa: E402
from test_devices import challenge  # noqa: E402
from test_enrolments import applicant, body_for  # noqa: E402

NEW_PIN = "592046"


def enrol_to_completion(guichet, body, pin):
    s = requests.Session()
    r = s.post(guichet.url("/v1/enrolments"), json=body, timeout=30)
    assert r.status_code == 201, r.text
    s.eid = r.json()["id"]
    return s, r.json()


def finish(guichet, s, pin):
    c = challenge(guichet, s)
    p = Phone()
    assert p.activate(c["qr_payload"]).status_code == 201
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert s.post(url + "/pin", json={"pin": pin}, timeout=10).status_code == 200
    assert s.post(url + "/otp-confirm", json={"otp": p.totp()}, timeout=10).status_code == 200
    r = s.post(url + "/credential", json={"kind": "device"}, timeout=10)
    assert r.status_code == 201, r.text
    return p, r.json()["customer_id"]


def test_lost_phone_reenrolment_keeps_the_customer(guichet, http):
    body = body_for(applicant(email="lost-phone@example.org"))
    s1, v1 = enrol_to_completion(guichet, body, "480713")
    assert v1["state"] == "device"
    old_phone, cus = finish(guichet, s1, "480713")
    old_cred = guichet.sql_value("SELECT id FROM credentials WHERE customer_id = %s", cus)
    old_pin_hash = guichet.sql_value("SELECT pin_hash FROM customers WHERE id = %s", cus)

    admin = Admin(guichet, role="admin")
    a = admin.login()
    r = post(guichet, a, f"/v1/admin/credentials/{old_cred}/revoke", {"reason": "lost"})
    assert r.status_code == 200, r.text
    assert_error(http.verify_otp(cus, "480713", old_phone.totp(time.time() + 30)), 401,
                 "authentication_failed")

    # the same person, the same passport: a new enrolment, flagged as a duplicate
    # (the applicant only reads "manual_check"; the reviewer reads who it is)
    s2, v2 = enrol_to_completion(guichet, dict(body, applicant=dict(
        body["applicant"], email="new-phone@example.org")), NEW_PIN)
    assert v2["state"] == "identity_review"
    assert v2["identity"]["reasons"] == ["manual_check"], v2
    assert cus not in json.dumps(v2)
    assert guichet.sql_value("SELECT identity_result->'reasons' FROM enrolments WHERE id = %s",
                             s2.eid) == ["duplicate_identity"]
    rev = review_of(guichet, s2.eid)
    assert rev["four_eyes"] is True, "attaching to a customer needs four eyes"
    d = a.get(guichet.url(f"/v1/admin/reviews/{rev['id']}"), timeout=10).json()
    assert d["attach_customer_id"] == cus
    r = decide(guichet, a, rev["id"], comment="customer called in, lost phone, ID checked")
    assert r.status_code == 200 and r.json()["state"] == "awaiting_second_approval", r.text
    assert guichet.sql_value("SELECT state FROM enrolments WHERE id = %s", s2.eid) == "identity_review"
    outbox = guichet.sql_value("SELECT coalesce(max(id), 0) FROM outbox")
    second = Admin(guichet, role="admin").login()
    r = decide(guichet, second, rev["id"], comment="second look: same passport, same person")
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    assert r.json()["attach_customer_id"] == cus
    assert guichet.sql_value("SELECT state FROM enrolments WHERE id = %s", s2.eid) == "device"
    assert guichet.sql_value("SELECT reenrols_customer_id FROM enrolments WHERE id = %s",
                             s2.eid) == cus
    # the customer is told through notify/ (rendered when sent, at the
    # address they enrolled with, ending with their assurance code:
    # test_notify_wiring.py reads the e-mail), with no secret; the
    # applicant gets the link to go on
    sent = guichet.sql("SELECT kind, recipient, customer_id, params, secret FROM outbox"
                       " WHERE id > %s ORDER BY id", outbox)
    assert sorted((k, rcpt, c) for k, rcpt, c, _, _ in sent) == [
        ("identity_reenrolment", body["applicant"]["email"], cus),
        ("review_approved", "new-phone@example.org", None)]
    told = [x for x in sent if x[0] == "identity_reenrolment"][0]
    assert told[3] == {} and told[4] is None
    mrz_line2 = body["document"]["mrz"].split("\n")[1]
    assert mrz_line2[:9].rstrip("<") not in json.dumps(told[3]) and NEW_PIN not in str(told)
    new_phone, cus2 = finish(guichet, s2, NEW_PIN)
    assert cus2 == cus, "the new credential belongs to the same customer"
    creds = dict(guichet.sql("SELECT id, state FROM credentials WHERE customer_id = %s", cus))
    assert creds[old_cred] == "revoked" and list(creds.values()).count("active") == 1
    assert guichet.sql_value("SELECT count(*) FROM customers WHERE id = %s", cus) == 1
    # the customer's PIN is the new one, and the new phone logs in with it
    assert guichet.sql_value("SELECT pin_hash FROM customers WHERE id = %s", cus) != old_pin_hash
    r = http.verify_otp(cus, NEW_PIN, new_phone.totp(time.time() + 30))
    assert r.status_code == 200 and r.json()["credential_id"] != old_cred, r.text

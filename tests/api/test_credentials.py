# SPDX-License-Identifier: AGPL-3.0-or-later
"""The credential step (issue 6): the phone itself, a standard authenticator
app (otpauth), and completion creating the customer, who can then log in
with PIN + OTP through /v1/authn/verify."""
import base64
import hashlib
import sys
import time
import urllib.parse
from pathlib import Path

import pyotp
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error  # noqa: E402
from test_devices import activated  # noqa: E402

PIN = "480713"


def at_credential_step(guichet):
    s, c, p, a = activated(guichet)
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert s.post(url + "/pin", json={"pin": PIN}, timeout=10).status_code == 200
    r = s.post(url + "/otp-confirm", json={"otp": p.totp()}, timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "credential", r.text
    s.url = url
    return s, p


def enrolment_row(guichet, eid):
    return guichet.sql("SELECT state, customer_id, credential_kind, otpauth_seed_sealed IS NULL"
                       " FROM enrolments WHERE id = %s", eid)[0]


def test_device_credential_completes_and_verifies(guichet, http):
    s, p = at_credential_step(guichet)
    first_code = p.totp()
    r = s.post(s.url + "/credential", json={"kind": "device"}, timeout=10)
    assert r.status_code == 201, r.text
    body = r.json()
    cus = body["customer_id"]
    assert body["state"] == "completed" and body["credentials"][0]["kind"] == "device"
    assert enrolment_row(guichet, s.eid)[:3] == ("completed", cus, "device")
    view = s.get(guichet.url(f"/v1/enrolments/{s.eid}"), timeout=10).json()
    assert (view["state"], view["customer_id"], view["credential_kind"]) == ("completed", cus, "device")
    assert guichet.sql_value("SELECT pin_hash FROM customers WHERE id = %s", cus).startswith("$argon2id$")
    assert guichet.sql_value("SELECT customer_id FROM devices WHERE id = %s", p.device_id) == cus
    cred = guichet.sql("SELECT kind, otp_type, algorithm, state FROM credentials WHERE customer_id = %s", cus)
    assert cred == [("device", "totp", "SHA256", "active")]
    # the first OTP of the enrolment is spent: verify refuses it
    r = http.verify_otp(cus, PIN, first_code)
    assert r.status_code == 401, r.text
    # the next step's code is inside the ±1 window and not yet spent
    r = http.verify_otp(cus, PIN, p.totp(time.time() + 30))
    assert r.status_code == 200 and r.json()["result"] == "accepted", r.text
    # a second completion is a wrong-state answer that changes nothing
    assert_error(s.post(s.url + "/credential", json={"kind": "device"}, timeout=10), 409, "wrong_state")
    assert guichet.sql_value("SELECT count(*) FROM customers WHERE id = %s", cus) == 1


def test_otpauth_credential_shown_once_confirmed_by_the_app(guichet, http):
    s, p = at_credential_step(guichet)
    r1 = s.post(s.url + "/credential", json={"kind": "otpauth"}, timeout=10)
    assert r1.status_code == 200, r1.text
    r2 = s.post(s.url + "/credential", json={"kind": "otpauth"}, timeout=10)
    uri1, uri2 = r1.json()["otpauth_uri"], r2.json()["otpauth_uri"]
    assert uri1 != uri2, "asking again replaces the unconfirmed seed"
    assert r2.json()["qr_svg"].lstrip().startswith("<?xml")
    u = urllib.parse.urlsplit(uri2)
    q = dict(urllib.parse.parse_qsl(u.query))
    cus = urllib.parse.unquote(u.path).split(":", 1)[1]
    assert u.scheme == "otpauth" and u.netloc == "totp" and u.path.startswith("/Guichet:")
    assert q == {"secret": q["secret"], "issuer": "Guichet", "algorithm": "SHA1",
                 "digits": "6", "period": "30"}
    assert "=" not in q["secret"] and len(base64.b32decode(q["secret"] + "=" * (-len(q["secret"]) % 8))) >= 20
    old = pyotp.TOTP(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri1).query))["secret"])
    new = pyotp.parse_uri(uri2)
    assert enrolment_row(guichet, s.eid)[0] == "credential"
    b = assert_error(s.post(s.url + "/otp-confirm", json={"otp": old.now()}, timeout=10), 422, "otp_invalid")
    assert b["attempts_remaining"] == 4
    r = s.post(s.url + "/otp-confirm", json={"otp": new.now()}, timeout=10)
    assert r.status_code == 201, r.text
    assert r.json()["customer_id"] == cus and r.json()["credentials"][0]["kind"] == "otpauth"
    assert enrolment_row(guichet, s.eid) == ("completed", cus, "otpauth", True)
    guichet.secrets.add(q["secret"])
    r = http.verify_otp(cus, PIN, new.at(time.time() + 30))
    assert r.status_code == 200, r.text


def test_credential_step_bad_input_and_wrong_state(guichet):
    s, c, p, a = activated(guichet)
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert_error(s.post(url + "/credential", json={"kind": "device"}, timeout=10), 409, "wrong_state")
    s2, p2 = at_credential_step(guichet)
    for body, field in (({"kind": "pigeon"}, "kind"), ({}, "kind"),
                        ({"kind": "device", "serial": "X"}, "serial"),
                        ({"kind": "device", "colour": "blue"}, "colour")):
        b = assert_error(s2.post(s2.url + "/credential", json=body, timeout=10), 400, "invalid_field")
        assert b["field"] == field
    assert enrolment_row(guichet, s2.eid)[0] == "credential"
    assert guichet.sql_value("SELECT count(*) FROM customers WHERE id = %s",
                             enrolment_row(guichet, s2.eid)[1] or "") == 0
    assert_error(requests.post(s2.url + "/credential", json={"kind": "device"}, timeout=10),
                 404, "not_found")

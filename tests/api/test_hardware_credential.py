# SPDX-License-Identifier: AGPL-3.0-or-later
"""A hardware token in an enrolment (issue 6): imported from a PSKC file,
activated in the credential step by its serial and a current code, then
PIN + HOTP verify, replay refused, resync; a token taken twice; and a
revoked credential refused at once."""
import base64
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error, hotp  # noqa: E402
from test_credentials import PIN, at_credential_step  # noqa: E402

SEED = secrets.token_bytes(20)


def pskc(serial, seed=SEED, counter=0):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>TokenWorks</Manufacturer><SerialNo>{serial}</SerialNo></DeviceInfo>
    <Key Id="{serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret><PlainValue>{base64.b64encode(seed).decode()}</PlainValue></Secret>
        <Counter><PlainValue>{counter}</PlainValue></Counter>
      </Data>
    </Key>
  </KeyPackage>
</KeyContainer>
"""


def imported(guichet, tmp_path):
    serial = "HW" + secrets.token_hex(4).upper()
    f = tmp_path / f"{serial}.xml"
    f.write_text(pskc(serial))
    out = guichet.cli("tokens", "import", f)
    assert out["imported"] == 1 and out["rejected"] == [], out
    assert guichet.sql_value("SELECT state FROM hw_tokens WHERE serial = %s", serial) == "in_stock"
    return serial


def test_hardware_token_enrolment_verify_replay_resync(guichet, http, tmp_path):
    serial = imported(guichet, tmp_path)
    s, p = at_credential_step(guichet)
    # a wrong code changes nothing
    bad = "%06d" % ((int(hotp(SEED, 0)) + 1) % 1000000)
    assert_error(s.post(s.url + "/credential", json={"kind": "hardware", "serial": serial,
                                                      "otp": bad}, timeout=10), 422, "otp_invalid")
    assert guichet.sql_value("SELECT state FROM hw_tokens WHERE serial = %s", serial) == "in_stock"
    assert guichet.sql_value("SELECT state FROM enrolments WHERE id = %s", s.eid) == "credential"
    # counter 2 is inside the look-ahead window
    r = s.post(s.url + "/credential", json={"kind": "hardware", "serial": serial,
                                             "otp": hotp(SEED, 2)}, timeout=10)
    assert r.status_code == 201, r.text
    cus = r.json()["customer_id"]
    assert guichet.sql("SELECT state, customer_id FROM hw_tokens WHERE serial = %s", serial) \
        == [("active", cus)]
    assert guichet.sql("SELECT kind, otp_type, counter FROM credentials WHERE customer_id = %s",
                       cus) == [("hardware", "hotp", 3)]
    guichet.secrets.update({hotp(SEED, i) for i in range(3, 12)} | {hotp(SEED, 40), hotp(SEED, 41), hotp(SEED, 42)})
    r = http.verify_otp(cus, PIN, hotp(SEED, 3))
    assert r.status_code == 200 and r.json()["result"] == "accepted", r.text
    assert_error(http.verify_otp(cus, PIN, hotp(SEED, 3)), 401, "authentication_failed")
    # the token drifted far ahead: resync with two consecutive codes
    assert_error(http.verify_otp(cus, PIN, hotp(SEED, 40)), 401, "authentication_failed")
    r = http.resync(cus, hotp(SEED, 40), hotp(SEED, 41))
    assert r.status_code == 200, r.text
    r = http.verify_otp(cus, PIN, hotp(SEED, 42))
    assert r.status_code == 200, r.text


def test_a_token_cannot_be_taken_twice(guichet, tmp_path):
    serial = imported(guichet, tmp_path)
    s1, _ = at_credential_step(guichet)
    r = s1.post(s1.url + "/credential", json={"kind": "hardware", "serial": serial,
                                               "otp": hotp(SEED, 0)}, timeout=10)
    assert r.status_code == 201, r.text
    s2, _ = at_credential_step(guichet)
    customers = guichet.sql_value("SELECT count(*) FROM customers")
    assert_error(s2.post(s2.url + "/credential", json={"kind": "hardware", "serial": serial,
                                                        "otp": hotp(SEED, 1)}, timeout=10),
                 409, "conflict")
    assert guichet.sql_value("SELECT count(*) FROM customers") == customers
    assert guichet.sql_value("SELECT state FROM enrolments WHERE id = %s", s2.eid) == "credential"
    assert_error(s2.post(s2.url + "/credential", json={"kind": "hardware", "serial": "NOSUCH",
                                                        "otp": "123456"}, timeout=10), 404, "not_found")
    assert_error(s2.post(s2.url + "/credential", json={"kind": "hardware", "serial": serial},
                         timeout=10), 400, "invalid_field")


def test_wrong_token_codes_count_toward_the_lockout(guichet, tmp_path):
    serial = imported(guichet, tmp_path)
    s, _ = at_credential_step(guichet)
    bad = "%06d" % ((int(hotp(SEED, 0)) + 3) % 1000000)
    for _ in range(5):
        assert_error(s.post(s.url + "/credential", json={"kind": "hardware", "serial": serial,
                                                          "otp": bad}, timeout=10), 422, "otp_invalid")
    assert_error(s.post(s.url + "/credential", json={"kind": "hardware", "serial": serial,
                                                      "otp": hotp(SEED, 0)}, timeout=10), 423, "locked")
    assert guichet.sql_value("SELECT state FROM hw_tokens WHERE serial = %s", serial) == "in_stock"

# SPDX-License-Identifier: AGPL-3.0-or-later
"""A hardware token in an enrolment (issue 6): imported from a PSKC file,
activated in the credential step by its serial and a current code, then
PIN + HOTP verify, replay refused, resync; a token taken twice; and a
revoked credential refused at once.

Every refusal answers like a wrong code and counts like one: an applicant
is not told whether a serial exists, is a customer's or was reported lost
(a stranger with one enrolment could otherwise map the inventory)."""
import base64
import secrets
import sys
import threading
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pskcfile  # noqa: E402
from helpers import assert_error, hotp  # noqa: E402
from pskcfile import Token  # noqa: E402
from test_admin import Admin, post  # noqa: E402
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
    # the token's next code, but it is a customer's now: a wrong code
    assert_error(s2.post(s2.url + "/credential", json={"kind": "hardware", "serial": serial,
                                                        "otp": hotp(SEED, 1)}, timeout=10),
                 422, "otp_invalid")
    assert guichet.sql_value("SELECT count(*) FROM customers") == customers
    assert guichet.sql_value("SELECT state FROM enrolments WHERE id = %s", s2.eid) == "credential"
    assert_error(s2.post(s2.url + "/credential", json={"kind": "hardware", "serial": "NOSUCH",
                                                        "otp": "123456"}, timeout=10), 422, "otp_invalid")
    assert guichet.sql_value("SELECT otp_failures FROM enrolments WHERE id = %s", s2.eid) == 2
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


def claim(guichet, token):
    """An enrolment completed with @token's first code: the token is a
    customer's.  @return the 201 body."""
    s, _ = at_credential_step(guichet)
    r = s.post(s.url + "/credential", json={"kind": "hardware", "serial": token.serial,
                                             "otp": hotp(token.secret, 0)}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def test_refusals_answer_alike_and_count_toward_the_lockout(guichet, tmp_path):
    """The security review's probe: an unknown serial, a customer's token, a
    lost one and a wrong code on one in stock get the same answer, each
    spends an attempt, and the fifth locks the enrolment."""
    p = "PRB" + secrets.token_hex(4).upper() + "-"
    stock, taken, lost = (Token(serial=f"{p}{i}", secret=secrets.token_bytes(20), counter=0)
                          for i in range(3))
    f = tmp_path / "probe.xml"
    f.write_bytes(pskcfile.build([stock, taken, lost]))
    out = guichet.cli("tokens", "import", f)
    assert out["imported"] == 3 and out["rejected"] == [], out
    claim(guichet, taken)
    crd = claim(guichet, lost)["credentials"][0]["id"]
    a = Admin(guichet, "admin").login()
    assert post(guichet, a, f"/v1/admin/credentials/{crd}/revoke",
                {"reason": "lost"}).status_code == 200
    assert dict(guichet.sql("SELECT serial, state FROM hw_tokens WHERE serial LIKE %s", p + "%")) \
        == {stock.serial: "in_stock", taken.serial: "active", lost.serial: "lost"}

    s, _ = at_credential_step(guichet)
    codes = {hotp(t.secret, i) for t in (stock, taken, lost) for i in range(12)}
    guichet.secrets.update(codes)
    bad = next("%06d" % n for n in range(1000000) if "%06d" % n not in codes)
    customers = guichet.sql_value("SELECT count(*) FROM customers")
    probes = [(p + "NOSUCH", "123456"),
              (taken.serial, hotp(taken.secret, 1)),     # its right next code
              (lost.serial, hotp(lost.secret, 1)),       # likewise
              (stock.serial, bad),
              (p + "NOSUCH2", bad)]
    bodies = []
    for i, (serial, otp) in enumerate(probes):
        r = s.post(s.url + "/credential", json={"kind": "hardware", "serial": serial, "otp": otp},
                   timeout=10)
        body = assert_error(r, 422, "otp_invalid")
        assert body.pop("attempts_remaining") == 4 - i, body
        bodies.append((r.status_code, body))
        assert guichet.sql("SELECT state, otp_failures FROM enrolments WHERE id = %s",
                           s.eid) == [("credential", i + 1)]
    assert all(b == bodies[0] for b in bodies), bodies
    # locked, as after five wrong codes: even the in-stock token's right code
    assert_error(s.post(s.url + "/credential", json={"kind": "hardware", "serial": stock.serial,
                                                      "otp": hotp(stock.secret, 0)}, timeout=10),
                 423, "locked")
    assert guichet.sql_value("SELECT count(*) FROM customers") == customers
    assert dict(guichet.sql("SELECT serial, state FROM hw_tokens WHERE serial LIKE %s", p + "%")) \
        == {stock.serial: "in_stock", taken.serial: "active", lost.serial: "lost"}
    # the back-office's log keeps the real reason (and never the code)
    log = guichet.log_text()
    for serial, why in ((p + "NOSUCH", "unknown_serial"), (taken.serial, "active"),
                        (lost.serial, "lost"), (stock.serial, "wrong_code")):
        assert f"enrolment {s.eid}: hardware token {serial} refused ({why})" in log, why


def test_refusals_sent_together_are_all_counted(guichet, tmp_path):
    """Each refusal is counted in the transaction that judged it: twelve
    probes at once get five wrong-code answers, then locked."""
    s, _ = at_credential_step(guichet)
    answers = []

    def probe(i):
        r = requests.post(s.url + "/credential", json={"kind": "hardware",
                                                        "serial": f"NOSUCH{i}", "otp": "123456"},
                          cookies=s.cookies, headers=s.headers, timeout=30)
        answers.append((r.status_code, r.json()["error"]["code"]))

    ts = [threading.Thread(target=probe, args=(i,)) for i in range(12)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(answers) == [(422, "otp_invalid")] * 5 + [(423, "locked")] * 7, answers
    assert guichet.sql_value("SELECT otp_failures FROM enrolments WHERE id = %s", s.eid) == 5

# SPDX-License-Identifier: AGPL-3.0-or-later
"""The device step (issue 4): QR challenges, activation by an independent
phone implementation (phone.py), the long-polled status, PIN policy, the
first OTP, and signed device requests."""
import datetime
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error  # noqa: E402
from phone import Phone, parse_payload  # noqa: E402
from test_enrolments import applicant, body_for  # noqa: E402


def passed_enrolment(guichet, **app):
    s = requests.Session()
    a = applicant(**app)
    r = s.post(guichet.url("/v1/enrolments"), json=body_for(a), timeout=30)
    assert r.status_code == 201 and r.json()["state"] == "device", r.text
    s.eid = r.json()["id"]
    s.birth = a["birth_date"]
    return s


def challenge(guichet, s):
    r = s.post(guichet.url(f"/v1/enrolments/{s.eid}/device-challenge"), json={}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def state(guichet, eid):
    return guichet.sql_value("SELECT state FROM enrolments WHERE id = %s", eid)


def counts(guichet):
    return tuple(guichet.sql_value(f"SELECT count(*) FROM {t}") for t in ("devices", "risk_decisions"))


def activated(guichet, **phone_kw):
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    p = Phone(**phone_kw)
    r = p.activate(c["qr_payload"])
    assert r.status_code == 201, r.text
    return s, c, p, r.json()


# ------------------------------------------------------------ challenge

def test_challenge_payload_and_qr(guichet):
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    base, cid, secret = parse_payload(c["qr_payload"])
    assert base == guichet.base_url and cid == c["challenge_id"] and len(secret) == 16
    assert c["qr_svg"] == f"/v1/enrolments/{s.eid}/device-challenge/qr.svg"
    exp = datetime.datetime.fromisoformat(c["expires_at"].replace("Z", "+00:00"))
    left = (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 150 < left <= 181, left
    sealed = guichet.sql_value("SELECT secret_sealed FROM device_challenges WHERE id = %s", cid)
    assert secret not in bytes(sealed), "the activation secret is sealed at rest"
    svg = s.get(guichet.url(c["qr_svg"]), timeout=10)
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<?xml") and "<svg" in svg.text
    assert svg.headers.get("Cache-Control") == "no-store"
    # only the owning session sees it
    assert_error(requests.get(guichet.url(c["qr_svg"]), timeout=10), 404, "not_found")


@pytest.mark.skipif(shutil.which("zbarimg") is None or shutil.which("rsvg-convert") is None,
                    reason="zbarimg / rsvg-convert not installed")
def test_qr_svg_decodes_to_the_payload(guichet, tmp_path):
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    svg = tmp_path / "qr.svg"
    png = tmp_path / "qr.png"
    svg.write_bytes(s.get(guichet.url(c["qr_svg"]), timeout=10).content)
    subprocess.run(["rsvg-convert", "-w", "600", "-o", str(png), str(svg)], check=True)
    out = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True)
    assert out.stdout.strip() == c["qr_payload"]


def test_asking_again_replaces_the_challenge(guichet):
    s = passed_enrolment(guichet)
    old = challenge(guichet, s)
    new = challenge(guichet, s)
    assert old["challenge_id"] != new["challenge_id"]
    before = counts(guichet)
    r = Phone().activate(old["qr_payload"])
    assert_error(r, 409, "conflict")
    assert counts(guichet) == before and state(guichet, s.eid) == "device"
    assert Phone().activate(new["qr_payload"]).status_code == 201


def test_challenge_in_the_wrong_state_is_409(guichet):
    s = requests.Session()
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    r = s.post(guichet.url("/v1/enrolments"), json=body_for(applicant(), expiry=yesterday), timeout=30)
    eid = r.json()["id"]
    assert r.json()["state"] == "rejected"
    assert_error(s.post(guichet.url(f"/v1/enrolments/{eid}/device-challenge"), json={}, timeout=10),
                 409, "wrong_state")
    assert guichet.sql_value("SELECT count(*) FROM device_challenges WHERE enrolment_id = %s", eid) == 0
    assert_error(s.post(guichet.url(f"/v1/enrolments/{eid}/pin"), json={"pin": "480713"}, timeout=10),
                 409, "wrong_state")


# ------------------------------------------------------------ activation

def test_activation_binds_the_device_and_derives_the_same_seed(guichet):
    s, c, p, a = activated(guichet)
    assert a["status"] == "active" and a["risk"]["decision"] == "allow"
    assert 0 <= a["risk"]["score"] < 40 and isinstance(a["risk"]["reasons"], list)
    assert a["otp"] == {"type": "totp", "algorithm": "SHA256", "digits": 6, "period": 30}
    assert state(guichet, s.eid) == "pin_otp"
    row = guichet.sql("SELECT status, seed_sealed IS NOT NULL, encode(public_key, 'hex'),"
                      " install_id FROM devices WHERE id = %s", a["device_id"])[0]
    assert row[0] == "active" and row[1] and row[3] == p.device["install_id"]
    assert bytes(p.seed) not in bytes(guichet.sql_value(
        "SELECT seed_sealed FROM devices WHERE id = %s", a["device_id"]))
    assert guichet.sql_value("SELECT used_at IS NOT NULL FROM device_challenges WHERE id = %s",
                             c["challenge_id"])
    assert guichet.sql_value("SELECT count(*) FROM activation_attempts WHERE challenge_id = %s"
                             " AND outcome = 'activated'", c["challenge_id"]) == 1
    st = s.get(guichet.url(f"/v1/enrolments/{s.eid}/device-challenge"), timeout=10)
    assert st.json() == {"status": "registered"}


def test_second_phone_on_the_same_qr_is_refused_and_both_recorded(guichet):
    s, c, p, a = activated(guichet)
    before = counts(guichet)
    r = Phone().activate(c["qr_payload"])
    assert_error(r, 409, "conflict")
    assert counts(guichet) == before
    outcomes = [x[0] for x in guichet.sql(
        "SELECT outcome FROM activation_attempts WHERE challenge_id = %s ORDER BY id",
        c["challenge_id"])]
    assert outcomes == ["activated", "reused"]


def test_wrong_proof_wrong_signature_and_unknown_challenge_are_401(guichet):
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    before = counts(guichet)
    assert_error(Phone().activate(c["qr_payload"], secret_override=b"\x00" * 16), 401, "proof_invalid")
    p = Phone()
    base, body = p.activation_body(c["qr_payload"])
    body["signature"] = Phone().activation_body(c["qr_payload"])[1]["signature"]
    assert_error(requests.post(base + "/v1/devices/activate", json=body, timeout=10),
                 401, "proof_invalid")
    assert_error(Phone().activate(c["qr_payload"], challenge_override="ch_unknownunknownunknown0"),
                 401, "proof_invalid")
    assert counts(guichet) == before and state(guichet, s.eid) == "device"
    # the genuine phone still gets through afterwards
    assert Phone().activate(c["qr_payload"]).status_code == 201


def test_expired_challenge_is_410(guichet):
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    guichet.sql("UPDATE device_challenges SET expires_at = now() - interval '1 second'"
                " WHERE id = %s", c["challenge_id"])
    before = counts(guichet)
    assert_error(Phone().activate(c["qr_payload"]), 410, "challenge_expired")
    assert counts(guichet) == before
    st = s.get(guichet.url(f"/v1/enrolments/{s.eid}/device-challenge"), timeout=10)
    assert st.json() == {"status": "expired"}


def test_malformed_activation_fields(guichet):
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    p = Phone()
    base, good = p.activation_body(c["qr_payload"])
    cases = [("device_public_key", dict(good, device_public_key="AAAA")),
             ("proof", dict(good, proof="not*base64")),
             ("device.rooted", dict(good, device=dict(good["device"], rooted="no"))),
             ("device.extra", dict(good, device=dict(good["device"], extra=1))),
             ("device", {k: v for k, v in good.items() if k != "device"})]
    before = counts(guichet)
    for field, body in cases:
        b = assert_error(requests.post(base + "/v1/devices/activate", json=body, timeout=10),
                         400, "invalid_field")
        assert b["field"] == field, b
    # a point that is not on the curve
    key = bytearray(p.activation_body(c["qr_payload"])[1]["device_public_key"].encode())
    bad = dict(good, device_public_key=good["device_public_key"][:-2] +
               ("A" if good["device_public_key"][-2] != "A" else "B") + good["device_public_key"][-1])
    r = requests.post(base + "/v1/devices/activate", json=bad, timeout=10)
    assert r.status_code in (400, 401), r.text
    assert counts(guichet) == before and key


def test_long_poll_wakes_when_the_phone_registers(guichet):
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    out = {}

    def poll():
        t0 = time.monotonic()
        r = s.get(guichet.url(f"/v1/enrolments/{s.eid}/device-challenge?wait=20"), timeout=30)
        out["r"], out["dt"] = r, time.monotonic() - t0

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(1.0)
    assert Phone().activate(c["qr_payload"]).status_code == 201
    th.join(25)
    assert out["r"].json() == {"status": "registered"}
    assert 0.9 < out["dt"] < 5, out["dt"]


def test_long_poll_times_out_with_pending(guichet):
    s = passed_enrolment(guichet)
    challenge(guichet, s)
    t0 = time.monotonic()
    r = s.get(guichet.url(f"/v1/enrolments/{s.eid}/device-challenge?wait=2"), timeout=10)
    assert r.json() == {"status": "pending"} and 1.8 < time.monotonic() - t0 < 4
    assert_error(s.get(guichet.url(f"/v1/enrolments/{s.eid}/device-challenge?wait=26"), timeout=10),
                 400, "bad_request")


def test_many_waiters_do_not_hold_workers(guichet):
    """More long polls than worker threads, and the service still answers."""
    sessions = [passed_enrolment(guichet) for _ in range(20)]
    for s in sessions:
        challenge(guichet, s)
    results = []

    def poll(s):
        results.append(s.get(guichet.url(f"/v1/enrolments/{s.eid}/device-challenge?wait=4"),
                             timeout=15).json()["status"])

    threads = [threading.Thread(target=poll, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    assert requests.get(guichet.url("/readyz"), timeout=5).status_code == 200
    assert time.monotonic() - t0 < 1.0
    for t in threads:
        t.join(20)
    assert results == ["pending"] * 20


# ------------------------------------------------------------ PIN and OTP

def test_pin_policy_and_first_otp(guichet):
    s, c, p, a = activated(guichet)
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert_error(s.post(url + "/otp-confirm", json={"otp": p.totp()}, timeout=10), 409, "wrong_state")
    b = datetime.date.fromisoformat(s.birth)
    for pin, reason in (("12345", "too_short"), ("123456", "sequential"),
                        ("777777", "repeated"), (b.strftime("%d%m%y"), "birth_date"),
                        (b.strftime("%d%m%Y"), "birth_date"), (b.strftime("%y%m%d"), "birth_date")):
        body = assert_error(s.post(url + "/pin", json={"pin": pin}, timeout=10), 422, "policy_refused")
        assert reason in body["reasons"], (pin, body)
    assert guichet.sql_value("SELECT pin_hash FROM enrolments WHERE id = %s", s.eid) is None
    r = s.post(url + "/pin", json={"pin": "480713"}, timeout=10)
    assert r.status_code == 200, r.text
    h = guichet.sql_value("SELECT pin_hash FROM enrolments WHERE id = %s", s.eid)
    assert h.startswith("$argon2id$") and "480713" not in h
    wrong = "%06d" % ((int(p.totp()) + 1) % 1000000)
    body = assert_error(s.post(url + "/otp-confirm", json={"otp": wrong}, timeout=10), 422, "otp_invalid")
    assert body["attempts_remaining"] == 4
    assert guichet.sql_value("SELECT otp_failures FROM enrolments WHERE id = %s", s.eid) == 1
    r = s.post(url + "/otp-confirm", json={"otp": p.totp()}, timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "credential", r.text
    assert state(guichet, s.eid) == "credential"
    assert guichet.sql_value("SELECT otp_failures FROM enrolments WHERE id = %s", s.eid) == 0


def test_replayed_first_otp_is_refused(guichet):
    s, c, p, a = activated(guichet)
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert s.post(url + "/pin", json={"pin": "480713"}, timeout=10).status_code == 200
    now = int(time.time())
    # as if this step's code had been accepted already
    guichet.sql("UPDATE devices SET otp_counter = %s WHERE id = %s", now // 30 + 1, a["device_id"])
    assert_error(s.post(url + "/otp-confirm", json={"otp": p.totp(now)}, timeout=10), 422, "otp_invalid")
    assert state(guichet, s.eid) == "pin_otp"


def test_first_otp_lockout(guichet):
    s, c, p, a = activated(guichet)
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert s.post(url + "/pin", json={"pin": "480713"}, timeout=10).status_code == 200
    good = p.totp()
    wrong = "%06d" % ((int(good) + 7) % 1000000)
    for i in range(5):
        b = assert_error(s.post(url + "/otp-confirm", json={"otp": wrong}, timeout=10), 422, "otp_invalid")
        assert b["attempts_remaining"] == 4 - i
    assert_error(s.post(url + "/otp-confirm", json={"otp": good}, timeout=10), 423, "locked")
    assert state(guichet, s.eid) == "pin_otp"


# ------------------------------------------------------------ signed requests

def test_signed_device_requests(guichet):
    s, c, p, a = activated(guichet)
    path = f"/v1/devices/{p.device_id}"
    h = p.signed_headers("GET", path)
    r = requests.get(guichet.url(path), headers=h, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "active", r.text
    assert_error(requests.get(guichet.url(path), headers=h, timeout=10), 401, "unauthorized")  # replay
    for skew in (-121, 121):
        assert_error(requests.get(guichet.url(path), timeout=10,
                                  headers=p.signed_headers("GET", path, ts=int(time.time()) + skew)),
                     401, "unauthorized")
    assert requests.get(guichet.url(path), timeout=10,
                        headers=p.signed_headers("GET", path, ts=int(time.time()) - 100)).status_code == 200
    other = Phone()
    other.device_id = p.device_id
    assert_error(requests.get(guichet.url(path), headers=other.signed_headers("GET", path), timeout=10),
                 401, "unauthorized")
    bad = p.signed_headers("GET", "/v1/devices/other")
    assert_error(requests.get(guichet.url(path), headers=bad, timeout=10), 401, "unauthorized")
    assert_error(requests.get(guichet.url(path), timeout=10), 401, "unauthorized")
    s2, c2, p2, a2 = activated(guichet)
    assert_error(requests.get(guichet.url(path), timeout=10,
                              headers=p2.signed_headers("GET", path)), 403, "forbidden")

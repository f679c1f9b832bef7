# SPDX-License-Identifier: AGPL-3.0-or-later
"""The whole onboarding with the reference C authenticator as the phone
(issues 4 and 6): activation from the QR payload, PIN, first OTP, the phone
as credential, PIN+OTP verify, and a signed device request."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error  # noqa: E402
from test_devices import challenge, passed_enrolment  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# GUICHET_AUTHENTICATOR: another build of the CLI (./dev test --sanitize)
CLI = Path(os.environ.get("GUICHET_AUTHENTICATOR",
                          REPO / "build" / "authenticator" / "guichet-authenticator"))
PIN = "480713"


def phone(state, *args):
    out = subprocess.run([str(CLI), "--state", str(state), "--pin", "2468", *args],
                         capture_output=True, text=True, timeout=60)
    body = json.loads(out.stdout)
    return out.returncode, body


def test_onboarding_with_the_reference_authenticator(guichet, http, tmp_path):
    state = tmp_path / "phone.state"
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    rc, a = phone(state, "activate", c["qr_payload"])
    assert rc == 0 and a["status"] == "active", a
    assert state.stat().st_mode & 0o077 == 0
    assert guichet.sql_value("SELECT state FROM enrolments WHERE id = %s", s.eid) == "pin_otp"
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert s.post(url + "/pin", json={"pin": PIN}, timeout=10).status_code == 200
    rc, code = phone(state, "code")
    assert rc == 0 and len(code["otp"]) == 6
    r = s.post(url + "/otp-confirm", json={"otp": code["otp"]}, timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "credential", r.text
    r = s.post(url + "/credential", json={"kind": "device"}, timeout=10)
    assert r.status_code == 201, r.text
    cus = r.json()["customer_id"]
    rc, nxt = phone(state, "code", "--at", str(int(time.time()) + 30))
    guichet.secrets.add(nxt["otp"])
    r = http.verify_otp(cus, PIN, nxt["otp"])
    assert r.status_code == 200 and r.json()["result"] == "accepted", r.text
    # the same code again is a replay
    assert_error(http.verify_otp(cus, PIN, nxt["otp"]), 401, "authentication_failed")
    # a signed device request made by the reference authenticator
    path = f"/v1/devices/{a['device_id']}"
    rc, headers = phone(state, "sign-request", "GET", path)
    assert rc == 0
    r = requests.get(guichet.url(path), headers=headers, timeout=10)
    assert r.status_code == 200 and r.json()["customer_id"] == cus, r.text


def test_reference_authenticator_refuses_a_used_challenge(guichet, tmp_path):
    s = passed_enrolment(guichet)
    c = challenge(guichet, s)
    rc, a = phone(tmp_path / "one.state", "activate", c["qr_payload"])
    assert rc == 0
    rc, b = phone(tmp_path / "two.state", "activate", c["qr_payload"])
    assert rc == 1 and b["error"]["code"] == "conflict", b
    assert not (tmp_path / "two.state").exists()

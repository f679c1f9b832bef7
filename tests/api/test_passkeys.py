# SPDX-License-Identifier: AGPL-3.0-or-later
"""Passkeys (WebAuthn, issue 16) against the real guichetd and PostgreSQL,
with an independent software authenticator (webauthn.py: Python
`cryptography` and a CBOR encoder of its own) playing the authenticator and
the browser.

Relying parties register a passkey after a PIN+OTP verify and sign in with
it; every ceremony check refuses what it must (and a refused sign-in counts
toward the customer's lockout, the same one as PIN+OTP); a counter that
goes backwards flags the passkey; the back-office sees and revokes it; the
applicant registers one during the enrolment.  Each test asserts on the
answer and on the database."""
import base64
import json
import os
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Guichetd  # noqa: E402
from helpers import assert_error, wait_fresh_step, wrong_code  # noqa: E402
from test_admin import Admin, post  # noqa: E402
from test_credentials import at_credential_step  # noqa: E402
from webauthn import SoftAuthenticator, b64u, cbor, unb64u  # noqa: E402

REG_OPTIONS = "/v1/authn/passkey/registration-options"
REGISTER = "/v1/authn/passkey/register"
OPTIONS = "/v1/authn/passkey/options"
VERIFY = "/v1/authn/passkey/verify"


# ------------------------------------------------------------------ helpers

def reg_options(g, http, c, t=None):
    r = http.post(g.url(REG_OPTIONS), json={"customer_id": c.id, "pin": c.pin,
                                            "otp": c.code(t)}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def register(g, http, opts, resp):
    return http.post(g.url(REGISTER), json={"challenge_id": opts["challenge_id"],
                                            "credential": resp}, timeout=30)


def registered(g, http, c, **auth_kw):
    """A customer's passkey on a new software authenticator: (authenticator,
    credential, passkey id)."""
    a = SoftAuthenticator(g.base_url, **auth_kw)
    opts = reg_options(g, http, c)
    resp, cred = a.register(opts["publicKey"])
    r = register(g, http, opts, resp)
    assert r.status_code == 201, r.text
    return a, cred, r.json()["passkey_id"]


def signin_options(g, http, customer_id=None):
    r = http.post(g.url(OPTIONS), json={} if customer_id is None
                  else {"customer_id": customer_id}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def verify(g, http, opts, resp):
    return http.post(g.url(VERIFY), json={"challenge_id": opts["challenge_id"],
                                          "credential": resp}, timeout=30)


def failed(g, cid):
    return g.sql_value("SELECT failed_attempts FROM customers WHERE id = %s", cid)


def passkey(g, pid):
    rows = g.sql("SELECT status, sign_count, last_used_at IS NOT NULL, flag_reason,"
                 " customer_id FROM passkeys WHERE id = %s", pid)
    return rows[0] if rows else None


def last_outcome(g, cid):
    return g.sql_value("SELECT outcome FROM authn_audit WHERE customer_id = %s"
                       " AND action = 'passkey' ORDER BY id DESC LIMIT 1", cid)


def used(g, challenge_id):
    return g.sql_value("SELECT used_at IS NOT NULL FROM passkey_challenges WHERE id = %s",
                       challenge_id)


@pytest.fixture(scope="module")
def admin_session(guichet):
    return Admin(guichet, "admin").login()


# ------------------------------------------------------------------ registration and sign-in

@pytest.mark.parametrize("alg,attestation", [
    ("ES256", "none"), ("ES256", "self"), ("ES256", "x5c"),
    ("EdDSA", "none"), ("EdDSA", "self"), ("RS256", "self")])
def test_register_and_sign_in(guichet, http, new_customer, alg, attestation):
    c = new_customer()
    a = SoftAuthenticator(guichet.base_url, alg=alg, attestation=attestation)
    opts = reg_options(guichet, http, c)
    pk = opts["publicKey"]
    assert pk["rp"]["id"] == "127.0.0.1" and unb64u(pk["user"]["id"]) == c.id.encode()
    assert pk["authenticatorSelection"]["userVerification"] == "required"
    assert {p["alg"] for p in pk["pubKeyCredParams"]} == {-7, -8, -257}
    assert len(unb64u(pk["challenge"])) == 32 and pk["excludeCredentials"] == []
    resp, cred = a.register(pk)
    r = register(guichet, http, opts, resp)
    assert r.status_code == 201, r.text
    pid = r.json()["passkey_id"]
    row = guichet.sql("SELECT customer_id, encode(credential_id, 'hex'), algorithm,"
                      " attestation_format, attestation_type, aaguid::text, status, transports,"
                      " registered_by, convert_from(user_handle, 'UTF8')"
                      " FROM passkeys WHERE id = %s", pid)[0]
    fmt, typ = {"none": ("none", "none"), "self": ("packed", "self"),
                "x5c": ("packed", "basic")}[attestation]
    assert row[:7] == (c.id, cred.id.hex(), {"ES256": -7, "EdDSA": -8, "RS256": -257}[alg],
                       fmt, typ, str(__import__("uuid").UUID(bytes=a.aaguid)), "active")
    assert row[7:] == (["internal"], "api-tests", c.id)
    assert used(guichet, opts["challenge_id"])
    assert guichet.sql_value("SELECT count(*) FROM audit_log WHERE action = 'passkey.register'"
                             " AND target = %s", pid) == 1
    # sign in, naming the customer
    guichet.sql("UPDATE customers SET failed_attempts = 2 WHERE id = %s", c.id)
    o = signin_options(guichet, http, c.id)
    assert o["publicKey"]["rpId"] == "127.0.0.1"
    assert [d["id"] for d in o["publicKey"]["allowCredentials"]] == [b64u(cred.id)]
    r = verify(guichet, http, o, a.get(o["publicKey"]))
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "accepted", "customer_id": c.id, "credential_id": pid}
    assert passkey(guichet, pid)[:3] == ("active", 1, True)
    assert failed(guichet, c.id) == 0, "a success clears the failure count"
    assert last_outcome(guichet, c.id) == "accepted"
    assert used(guichet, o["challenge_id"])


def test_python_fido2_accepts_what_guichet_accepts(guichet, http, new_customer):
    """The same authenticator bytes that Guichet accepts, verified by a third
    implementation (Debian's python3-fido2 server), so that the software
    authenticator and Guichet cannot share one misreading of the spec."""
    from fido2.client import ClientData
    from fido2.ctap2 import AttestationObject, AuthenticatorData
    from fido2.server import Fido2Server
    from fido2.webauthn import PublicKeyCredentialRpEntity

    ref = Fido2Server(PublicKeyCredentialRpEntity("127.0.0.1", "Guichet"),
                      verify_origin=lambda o: o == guichet.base_url)
    for alg, attestation in (("ES256", "x5c"), ("EdDSA", "self"), ("RS256", "self")):
        c = new_customer()
        a = SoftAuthenticator(guichet.base_url, alg=alg, attestation=attestation)
        opts = reg_options(guichet, http, c)
        resp, cred = a.register(opts["publicKey"])
        assert register(guichet, http, opts, resp).status_code == 201
        state = {"challenge": opts["publicKey"]["challenge"], "user_verification": "required"}
        r = resp["response"]
        data = ref.register_complete(state, ClientData(unb64u(r["clientDataJSON"])),
                                     AttestationObject(unb64u(r["attestationObject"])))
        assert data.credential_data.credential_id == cred.id
        o = signin_options(guichet, http, c.id)
        g = a.get(o["publicKey"])
        assert verify(guichet, http, o, g).status_code == 200
        r = g["response"]
        ref.authenticate_complete({"challenge": o["publicKey"]["challenge"],
                                   "user_verification": "required"},
                                  [data.credential_data], cred.id,
                                  ClientData(unb64u(r["clientDataJSON"])),
                                  AuthenticatorData(unb64u(r["authenticatorData"])),
                                  unb64u(r["signature"]))


def test_discoverable_sign_in_and_extensions(guichet, http, new_customer):
    """No customer named: the authenticator picks its credential and says
    whose it is.  Extensions authenticators add on their own (credProtect,
    hmac-secret in the authenticator data, credProps in the client's
    results) do not stop a packed attestation from verifying."""
    c = new_customer()
    a = SoftAuthenticator(guichet.base_url, attestation="self", backup_eligible=True)
    opts = reg_options(guichet, http, c)
    resp, cred = a.register(opts["publicKey"], extensions={"credProtect": 2, "hmac-secret": True})
    r = register(guichet, http, opts, resp)
    assert r.status_code == 201, r.text
    pid = r.json()["passkey_id"]
    assert guichet.sql("SELECT backup_eligible, backed_up FROM passkeys WHERE id = %s",
                       pid) == [(True, True)]
    o = signin_options(guichet, http)
    assert o["publicKey"]["allowCredentials"] == []
    r = verify(guichet, http, o, a.get(o["publicKey"], cred, bs=False))
    assert r.status_code == 200, r.text
    assert r.json()["customer_id"] == c.id and r.json()["credential_id"] == pid
    assert guichet.sql("SELECT backed_up, sign_count FROM passkeys WHERE id = %s",
                       pid) == [(False, 1)]


def test_options_do_not_tell_customers_apart_but_say_locked(guichet, http, new_customer):
    for who in ("cus_" + "x" * 22, new_customer().id):
        o = signin_options(guichet, http, who)
        assert o["publicKey"]["allowCredentials"] == []
        assert guichet.sql_value("SELECT customer_id FROM passkey_challenges WHERE id = %s",
                                 o["challenge_id"]) == who
    c = new_customer()
    guichet.sql("UPDATE customers SET failed_attempts = 5, locked_at = now(),"
                " locked_until = now() + interval '15 minutes', lockouts = 1 WHERE id = %s", c.id)
    assert_error(http.post(guichet.url(OPTIONS), json={"customer_id": c.id}, timeout=30),
                 423, "locked")


# ------------------------------------------------------------------ sign-in refusals

REFUSALS = [
    ("origin_mismatch", {"origin": "http://evil.example"}),
    ("rp_id_mismatch", {"rp_id": "evil.example"}),
    ("type_mismatch", {"typ": "webauthn.create"}),
    ("challenge_mismatch", {"challenge": b64u(os.urandom(32))}),
    ("cross_origin", {"cross_origin": True}),
    ("up_missing", {"up": False}),
    ("uv_missing", {"uv": False}),
    ("signature_invalid", {"bad_signature": True}),
    ("user_handle_mismatch", {"user_handle": b"cus_somebody_else"}),
    ("backup_state_invalid", {"be": True}),
]


def test_every_ceremony_check_refuses_and_counts(guichet, http, new_customer):
    c = new_customer()
    a, cred, pid = registered(guichet, http, c)
    for n, (reason, kw) in enumerate(REFUSALS[:4]):
        o = signin_options(guichet, http, c.id)
        body = assert_error(verify(guichet, http, o, a.get(o["publicKey"], **kw)), 401,
                            "authentication_failed")
        assert body["attempts_remaining"] == 4 - n, body
        assert "reason" not in json.dumps(body), "the client is not told which check failed"
        assert last_outcome(guichet, c.id) == reason
        assert failed(guichet, c.id) == n + 1
        assert used(guichet, o["challenge_id"]), "a failed attempt spends its challenge"
        assert passkey(guichet, pid)[1] == 0, "the counter does not move"
    # the other checks, each on a fresh customer
    for reason, kw in REFUSALS[4:]:
        c = new_customer()
        a, cred, pid = registered(guichet, http, c)
        o = signin_options(guichet, http, c.id)
        body = assert_error(verify(guichet, http, o, a.get(o["publicKey"], **kw)), 401,
                            "authentication_failed")
        assert body["attempts_remaining"] == 4
        assert (last_outcome(guichet, c.id), failed(guichet, c.id)) == (reason, 1), reason


def test_challenge_single_use_expiry_and_binding(guichet, http, new_customer):
    c = new_customer()
    wait_fresh_step()
    a, cred, pid = registered(guichet, http, c)
    o = signin_options(guichet, http, c.id)
    resp = a.get(o["publicKey"])
    assert verify(guichet, http, o, resp).status_code == 200
    # the same answer again: 409, counted as nothing, counter unchanged
    assert_error(verify(guichet, http, o, resp), 409, "conflict")
    assert failed(guichet, c.id) == 0 and passkey(guichet, pid)[1] == 1
    assert last_outcome(guichet, c.id) == "challenge_used"
    # expired
    o = signin_options(guichet, http, c.id)
    guichet.sql("UPDATE passkey_challenges SET expires_at = now() - interval '1 second'"
                " WHERE id = %s", o["challenge_id"])
    assert_error(verify(guichet, http, o, a.get(o["publicKey"])), 410, "challenge_expired")
    assert failed(guichet, c.id) == 0
    # unknown, and a registration challenge used to sign in: 404
    assert_error(verify(guichet, http, {"challenge_id": "pkc_" + "A" * 22},
                        a.get(o["publicKey"])), 404, "not_found")
    ro = reg_options(guichet, http, c, time.time() + 30)
    assert_error(verify(guichet, http, ro, a.get({"challenge": ro["publicKey"]["challenge"],
                                                   "rpId": "127.0.0.1"})), 404, "not_found")
    assert not used(guichet, ro["challenge_id"])
    # another relying party's challenge is not this one's
    other = guichet.cli("apikey", "create", "--name", "other-rp")["key"]
    guichet.secrets.add(other)
    o = signin_options(guichet, http, c.id)
    r = requests.post(guichet.url(VERIFY), headers={"Authorization": f"Bearer {other}"},
                      json={"challenge_id": o["challenge_id"],
                            "credential": a.get(o["publicKey"])}, timeout=30)
    assert_error(r, 404, "not_found")
    assert not used(guichet, o["challenge_id"])


def test_counter_backwards_flags_the_passkey(guichet, http, new_customer):
    c = new_customer()
    a, cred, pid = registered(guichet, http, c)
    for _ in range(2):
        o = signin_options(guichet, http, c.id)
        assert verify(guichet, http, o, a.get(o["publicKey"])).status_code == 200
    assert passkey(guichet, pid)[1] == 2
    o = signin_options(guichet, http, c.id)
    assert_error(verify(guichet, http, o, a.get(o["publicKey"], counter=2)), 401,
                 "authentication_failed")
    assert passkey(guichet, pid)[0::3] == ("flagged", "counter_regressed")
    assert last_outcome(guichet, c.id) == "counter_regressed" and failed(guichet, c.id) == 1
    assert guichet.sql_value("SELECT actor FROM audit_log WHERE action = 'passkey.flag'"
                             " AND target = %s", pid) == "system"
    # flagged: refused even with a good counter, until the back-office acts
    o = signin_options(guichet, http, c.id)
    assert o["publicKey"]["allowCredentials"] == []
    assert_error(verify(guichet, http, o, a.get(o["publicKey"], counter=10)), 401)
    assert last_outcome(guichet, c.id) == "passkey_inactive"
    assert passkey(guichet, pid)[1] == 2


def test_lockout_is_shared_with_pin_and_otp(guichet, http, new_customer):
    c = new_customer()
    wait_fresh_step()
    a, cred, pid = registered(guichet, http, c)
    # three wrong OTPs through /v1/authn/verify ...
    for _ in range(3):
        assert http.verify_otp(c.id, c.pin, wrong_code(c.code())).status_code == 401
    early = signin_options(guichet, http, c.id)      # taken before the lock
    # ... and two bad passkey signatures lock the customer
    for left in (1, 0):
        o = signin_options(guichet, http, c.id)
        body = assert_error(verify(guichet, http, o, a.get(o["publicKey"], bad_signature=True)),
                            401)
        assert body["attempts_remaining"] == left
    assert guichet.sql("SELECT failed_attempts, locked_at IS NOT NULL FROM customers"
                       " WHERE id = %s", c.id) == [(5, True)]
    # locked: a perfect assertion is 423 before any signature check ...
    assert_error(verify(guichet, http, early, a.get(early["publicKey"])), 423, "locked")
    assert passkey(guichet, pid)[1] == 0 and last_outcome(guichet, c.id) == "locked"
    assert_error(http.post(guichet.url(OPTIONS), json={"customer_id": c.id}, timeout=30), 423)
    # ... and so is the right PIN + OTP
    assert_error(http.verify_otp(c.id, c.pin, c.code(time.time() + 30)), 423, "locked")
    # unlocked: the passkey works and the count is clean
    guichet.cli("customer", "unlock", "--customer", c.id)
    o = signin_options(guichet, http, c.id)
    assert verify(guichet, http, o, a.get(o["publicKey"])).status_code == 200


def test_back_office_sees_and_revokes(guichet, http, new_customer, admin_session):
    c = new_customer()
    a, cred, pid = registered(guichet, http, c, attestation="self")
    s = admin_session
    view = s.get(guichet.url(f"/v1/admin/customers/{c.id}"), timeout=30).json()
    (p,) = view["passkeys"]
    assert (p["id"], p["status"], p["algorithm"], p["attestation"], p["registered_by"]) == \
        (pid, "active", "ES256", "packed", "api-tests")
    assert "public_key" not in json.dumps(p)
    r = post(guichet, s, f"/v1/admin/passkeys/{pid}/revoke", {"reason": "laptop stolen"})
    assert r.status_code == 200 and r.json()["status"] == "revoked", r.text
    assert guichet.sql("SELECT status, revoke_reason FROM passkeys WHERE id = %s",
                       pid) == [("revoked", "laptop stolen")]
    details = guichet.sql_value("SELECT details FROM audit_log WHERE action = 'passkey.revoke'"
                                " AND target = %s", pid)
    assert details["customer_id"] == c.id and details["was"] == "active"
    assert_error(post(guichet, s, f"/v1/admin/passkeys/{pid}/revoke", {"reason": "again"}),
                 409, "wrong_state")
    assert_error(post(guichet, s, "/v1/admin/passkeys/pk_nope/revoke", {"reason": "x"}), 404)
    assert_error(post(guichet, s, f"/v1/admin/passkeys/{pid}/revoke", {"reason": " "}), 400)
    assert_error(post(guichet, s, f"/v1/admin/passkeys/{pid}/revoke", {"reason": "x"},
                      csrf=False), 403)
    rs = Admin(guichet, "reviewer").login()                  # the admin role only
    assert_error(post(guichet, rs, f"/v1/admin/passkeys/{pid}/revoke", {"reason": "x"}), 403)
    assert_error(requests.post(guichet.url(f"/v1/admin/passkeys/{pid}/revoke"), json={},
                               timeout=30), 401)
    # a revoked passkey is refused and counted
    o = signin_options(guichet, http)
    assert_error(verify(guichet, http, o, a.get(o["publicKey"], cred)), 401)
    assert last_outcome(guichet, c.id) == "passkey_inactive" and failed(guichet, c.id) == 1


# ------------------------------------------------------------------ registration refusals

REG_REFUSALS = [
    ("origin_mismatch", {"origin": "https://evil.example"}),
    ("rp_id_mismatch", {"rp_id": "evil.example"}),
    ("type_mismatch", {"typ": "webauthn.get"}),
    ("uv_missing", {"uv": False}),
    ("up_missing", {"up": False}),
    ("attestation_invalid", {"attestation": "self", "corrupt_attestation": True}),
    ("attestation_invalid", {"attestation": "x5c", "corrupt_attestation": True}),
    ("attestation_invalid", {"attestation": "self", "stmt_alg": -8}),
    ("attestation_invalid", {"attestation": "x5c", "cert_options": {"ca": True}}),
    ("attestation_unsupported", {"fmt": "fido-u2f"}),
    ("algorithm_unsupported", {"cose_override": {1: 2, 3: -35, -1: 2, -2: b"x" * 48,
                                                 -3: b"y" * 48}}),
    ("public_key_invalid", {"cose_override": {1: 2, 3: -7, -1: 1, -2: b"\x01" * 32,
                                              -3: b"\x02" * 32}}),
]


def test_registration_refusals_store_nothing(guichet, http, new_customer):
    for reason, kw in REG_REFUSALS:
        c = new_customer()        # each options call spends one of its codes
        opts = reg_options(guichet, http, c)
        resp, cred = SoftAuthenticator(guichet.base_url).create(opts["publicKey"], **kw)
        body = assert_error(register(guichet, http, opts, resp), 422, "policy_refused")
        assert body["reasons"] == [reason], (kw, body)
        assert used(guichet, opts["challenge_id"]), "a refused registration spends its challenge"
        assert guichet.sql_value("SELECT count(*) FROM passkeys WHERE customer_id = %s"
                                 " OR credential_id = %s", c.id, cred.id) == 0
        assert failed(guichet, c.id) == 0, "registration refusals count nothing"


def test_registration_challenge_reuse_duplicate_and_bad_input(guichet, http, new_customer):
    c = new_customer()
    a = SoftAuthenticator(guichet.base_url)
    t = wait_fresh_step()         # three codes, oldest first
    opts = reg_options(guichet, http, c, t - 30)
    resp, cred = a.register(opts["publicKey"])
    assert register(guichet, http, opts, resp).status_code == 201
    assert_error(register(guichet, http, opts, resp), 409, "conflict")
    # the same credential id again, on a new challenge: excluded, and refused
    opts2 = reg_options(guichet, http, c, t)
    assert [d["id"] for d in opts2["publicKey"]["excludeCredentials"]] == [b64u(cred.id)]
    resp2, _ = a.create(opts2["publicKey"], cred_id=cred.id)
    assert_error(register(guichet, http, opts2, resp2), 409, "conflict")
    assert guichet.sql_value("SELECT count(*) FROM passkeys WHERE credential_id = %s",
                             cred.id) == 1
    # bad input: 400 naming the field, nothing spent
    opts3 = reg_options(guichet, http, c, t + 30)
    good, _ = a.create(opts3["publicKey"])
    deep = b"\x81" * 5000 + b"\x00"
    cases = [
        ("credential.type", lambda d: d.update(type="password")),
        ("credential.id", lambda d: d.update(id=b64u(b"other"))),
        ("credential.rawId", lambda d: d.update(rawId="not base64url!")),
        ("credential.response.clientDataJSON",
         lambda d: d["response"].update(clientDataJSON=b64u(b"{not json"))),
        ("credential.response.attestationObject",
         lambda d: d["response"].update(attestationObject=b64u(b"\xa3garbage"))),
        ("credential.response.attestationObject",
         lambda d: d["response"].update(attestationObject=b64u(deep))),
        ("credential.response.attestationObject",
         lambda d: d["response"].update(attestationObject=b64u(cbor(
             {"fmt": "none", "attStmt": {}, "authData": b"\x00" * 20})))),
        ("credential.response.surprise", lambda d: d["response"].update(surprise=1)),
        ("credential.rawId", lambda d: d.update(id=b64u(b"x" * 16), rawId=b64u(b"x" * 16))),
    ]
    for field, mutate in cases:
        bad = json.loads(json.dumps(good))
        mutate(bad)
        body = assert_error(register(guichet, http, opts3, bad), 400, "invalid_field")
        assert body["field"] == field, (field, body)
    assert_error(http.post(guichet.url(REGISTER), json={"challenge_id": opts3["challenge_id"]},
                           timeout=30), 400, "invalid_field")
    assert not used(guichet, opts3["challenge_id"])
    assert register(guichet, http, opts3, good).status_code == 201


def test_registration_options_need_pin_and_otp(guichet, http, new_customer):
    c = new_customer()
    r = http.post(guichet.url(REG_OPTIONS), json={"customer_id": c.id, "pin": c.pin,
                                                  "otp": wrong_code(c.code())}, timeout=30)
    body = assert_error(r, 401, "authentication_failed")
    assert body["attempts_remaining"] == 4 and failed(guichet, c.id) == 1
    assert guichet.sql_value("SELECT count(*) FROM passkey_challenges WHERE customer_id = %s",
                             c.id) == 0
    for path in (REG_OPTIONS, REGISTER, OPTIONS, VERIFY):      # relying parties only
        assert_error(requests.post(guichet.url(path), json={}, timeout=30), 401, "unauthorized")
        assert_error(requests.post(guichet.url(path), json={}, timeout=30,
                                   headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    # the account name the authenticator shows: printable, or 400 before any check
    body = assert_error(http.post(guichet.url(REG_OPTIONS), json={
        "customer_id": c.id, "pin": c.pin, "otp": c.code(), "user_name": "Anna\u0007"},
        timeout=30), 400, "invalid_field")
    assert body["field"] == "user_name" and failed(guichet, c.id) == 1
    r = http.post(guichet.url(REG_OPTIONS), json={"customer_id": c.id, "pin": c.pin,
                                                  "otp": c.code(), "user_name": "Anna Eriksson"},
                  timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["publicKey"]["user"]["name"] == "Anna Eriksson"
    assert failed(guichet, c.id) == 0


def test_sign_in_bad_input_changes_nothing(guichet, http, new_customer):
    c = new_customer()
    a, cred, pid = registered(guichet, http, c)
    o = signin_options(guichet, http, c.id)
    good = a.get(o["publicKey"])
    for field, mutate in [
        ("credential.response.authenticatorData",
         lambda d: d["response"].update(authenticatorData=b64u(b"short"))),
        ("credential.response.authenticatorData",   # trailing bytes
         lambda d: d["response"].update(authenticatorData=b64u(
             unb64u(d["response"]["authenticatorData"]) + b"\x00"))),
        ("credential.response.signature", lambda d: d["response"].update(signature="")),
        ("credential.response.clientDataJSON",
         lambda d: d["response"].update(clientDataJSON=b64u(b'{"type":"webauthn.get",'
                                                            b'"type":"x"}'))),
        ("credential", lambda d: d.clear()),
    ]:
        bad = json.loads(json.dumps(good))
        mutate(bad)
        body = assert_error(verify(guichet, http, o, bad), 400, "invalid_field")
        assert body["field"] == field or (field == "credential" and body["field"].startswith(
            "credential")), body
    assert failed(guichet, c.id) == 0 and not used(guichet, o["challenge_id"])
    assert verify(guichet, http, o, good).status_code == 200


# ------------------------------------------------------------------ enrolment

def test_enrolment_passkey_pending_until_completion(guichet, http):
    s, phone = at_credential_step(guichet)
    # state credential: registered, pending
    r = s.post(s.url + "/passkey/options", json={}, timeout=30)
    assert r.status_code == 200, r.text
    opts = r.json()
    cus = unb64u(opts["publicKey"]["user"]["id"]).decode()
    assert guichet.sql_value("SELECT customer_id FROM enrolments WHERE id = %s", s.eid) == cus
    a = SoftAuthenticator(guichet.base_url)
    resp, cred = a.register(opts["publicKey"])
    r = s.post(s.url + "/passkey", json={"challenge_id": opts["challenge_id"],
                                         "credential": resp}, timeout=30)
    assert r.status_code == 201, r.text
    pid = r.json()["passkey_id"]
    assert guichet.sql("SELECT status, customer_id, enrolment_id, registered_by FROM passkeys"
                       " WHERE id = %s", pid) == [("pending", None, s.eid, "enrolment")]
    # only this session's challenge: another enrolment cannot use it
    assert_error(requests.post(s.url + "/passkey", json={}, timeout=30), 404)
    # pending passkeys do not sign in
    o = signin_options(guichet, http)
    assert_error(verify(guichet, http, o, a.get(o["publicKey"], cred)), 401)
    # completion with the phone makes it the customer's
    r = s.post(s.url + "/credential", json={"kind": "device"}, timeout=30)
    assert r.status_code == 201 and r.json()["customer_id"] == cus, r.text
    assert passkey(guichet, pid)[0::4] == ("active", cus)
    o = signin_options(guichet, http, cus)
    r = verify(guichet, http, o, a.get(o["publicKey"]))
    assert r.status_code == 200 and r.json()["customer_id"] == cus, r.text
    # state completed: a second one is active at once
    r = s.post(s.url + "/passkey/options", json={}, timeout=30)
    opts = r.json()
    assert [d["id"] for d in opts["publicKey"]["excludeCredentials"]] == [b64u(cred.id)]
    resp, cred2 = SoftAuthenticator(guichet.base_url, alg="EdDSA").register(opts["publicKey"])
    r = s.post(s.url + "/passkey", json={"challenge_id": opts["challenge_id"],
                                         "credential": resp}, timeout=30)
    assert r.status_code == 201, r.text
    assert passkey(guichet, r.json()["passkey_id"])[0::4] == ("active", cus)
    # at most five per enrolment: what an applicant creates stays bounded
    for _ in range(3):
        opts = s.post(s.url + "/passkey/options", json={}, timeout=30).json()
        resp, _ = SoftAuthenticator(guichet.base_url).register(opts["publicKey"])
        assert s.post(s.url + "/passkey", json={"challenge_id": opts["challenge_id"],
                                                "credential": resp}, timeout=30).status_code == 201
    body = assert_error(s.post(s.url + "/passkey/options", json={}, timeout=30), 422,
                        "policy_refused")
    assert body["reasons"] == ["too_many_passkeys"]
    assert guichet.sql_value("SELECT count(*) FROM passkeys WHERE enrolment_id = %s", s.eid) == 5


def test_enrolment_passkey_wrong_state(guichet):
    from test_devices import challenge, passed_enrolment
    s = passed_enrolment(guichet)
    challenge(guichet, s)
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert_error(s.post(url + "/passkey/options", json={}, timeout=30), 409, "wrong_state")
    assert guichet.sql_value("SELECT customer_id FROM enrolments WHERE id = %s", s.eid) is None
    assert_error(requests.post(url + "/passkey/options", json={}, timeout=30), 404)


# ------------------------------------------------------------------ configuration, schema

def test_aaguid_rules_and_signin_demo(guichet, http, new_customer, tmp_path):
    """A second guichetd on the same database, with an AAGUID deny list and
    the /signin/ demonstration on (the main one has it off: 404)."""
    assert_error(requests.get(guichet.url("/signin/"), timeout=10), 404)
    assert_error(requests.post(guichet.url("/signin/api/options"), json={}, timeout=10), 404)
    wait_fresh_step()
    denied = os.urandom(16)
    rules = tmp_path / "rules.conf"
    rules.write_text("passkey.aaguid_deny = %s\n" % __import__("uuid").UUID(bytes=denied))
    g2 = Guichetd(guichet.cluster, guichet.keyfile, tmp_path / "g2.log",
                  env={"GUICHET_RISK_RULES_FILE": str(rules), "GUICHET_SIGNIN_DEMO": "1",
                       "GUICHET_ARGON2_M_KIB": "1024", "GUICHET_ARGON2_T": "1"})
    g2.start()
    try:
        c = new_customer()
        h = dict(http.headers)
        for aaguid, status in ((denied, 422), (os.urandom(16), 201)):
            r = requests.post(g2.base_url + REG_OPTIONS, headers=h, json={
                "customer_id": c.id, "pin": c.pin,
                "otp": c.code(time.time() + (30 if status == 201 else 0))}, timeout=30)
            opts = r.json()
            a = SoftAuthenticator(g2.base_url, aaguid=aaguid)
            resp, cred = a.register(opts["publicKey"])
            r = requests.post(g2.base_url + REGISTER, headers=h, json={
                "challenge_id": opts["challenge_id"], "credential": resp}, timeout=30)
            assert r.status_code == status, r.text
        assert r.json()["passkey_id"]
        # the demonstration's backend: no API key, relying party "signin-demo"
        page = requests.get(g2.base_url + "/signin/", timeout=10)
        assert page.status_code == 200 and "script-src 'self'" in page.headers[
            "Content-Security-Policy"]
        o = requests.post(g2.base_url + "/signin/api/options", json={"customer_id": c.id},
                          timeout=10).json()
        assert guichet.sql_value("SELECT relying_party FROM passkey_challenges WHERE id = %s",
                                 o["challenge_id"]) == "signin-demo"
        r = requests.post(g2.base_url + "/signin/api/verify", json={
            "challenge_id": o["challenge_id"], "credential": a.get(o["publicKey"])}, timeout=10)
        assert r.status_code == 200 and r.json()["customer_id"] == c.id, r.text
    finally:
        g2.stop()
    # a bad relying-party configuration stops guichetd with the key's name
    r = guichet.cli_run("serve", env=guichet.env(GUICHET_WEBAUTHN_ORIGINS="http://evil.example",
                                                 GUICHET_LISTEN="127.0.0.1:1"), timeout=30)
    assert r.returncode != 0 and "webauthn_origins" in r.stdout + r.stderr


def test_every_passkey_column_is_commented(guichet):
    rows = guichet.sql(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c"
        " WHERE c.table_name IN ('passkeys', 'passkey_challenges')"
        " AND col_description(c.table_name::regclass, c.ordinal_position) IS NULL")
    assert rows == []
    assert guichet.sql("SELECT relname FROM pg_class WHERE relname IN"
                       " ('passkeys', 'passkey_challenges')"
                       " AND obj_description(oid, 'pg_class') IS NULL") == []

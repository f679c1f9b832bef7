#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""make_fixtures.py -- writes fixtures.json beside it: WebAuthn ceremonies
made by the independent software authenticator of the API tests
(tests/api/webauthn.py: Python `cryptography`, its own CBOR encoder) for
tests/unit/test_passkey.c.  One relying party (bank.example) and one
challenge; each registration and assertion is named for what it is, good
or broken in one way.  Signatures are randomised, so running this again
gives other bytes with the same meaning.

    /usr/bin/python3 tests/unit/data/passkeys/make_fixtures.py
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "api"))

from webauthn import SoftAuthenticator, b64u  # noqa: E402

RP_ID, ORIGIN = "bank.example", "https://bank.example"
CHALLENGE = bytes(range(32))
OTHER = bytes(range(32, 64))


def creation(user=b"cus_fixture"):
    return {"rp": {"id": RP_ID, "name": "Bank"}, "challenge": b64u(CHALLENGE),
            "user": {"id": b64u(user), "name": "x", "displayName": "x"}}


def request():
    return {"challenge": b64u(CHALLENGE), "rpId": RP_ID}


def reg(resp):
    r = resp["response"]
    return {"raw_id": resp["rawId"], "client_data": r["clientDataJSON"],
            "attestation_object": r["attestationObject"]}


def asr(resp, of):
    r = resp["response"]
    return {"registration": of, "client_data": r["clientDataJSON"],
            "authenticator_data": r["authenticatorData"], "signature": r["signature"]}


def main():
    out = {"rp_id": RP_ID, "origin": ORIGIN, "challenge": CHALLENGE.hex(),
           "registrations": {}, "assertions": {}}
    regs, asrs = out["registrations"], out["assertions"]
    auths = {}
    for name, alg, att in (("es256_none", "ES256", "none"), ("es256_self", "ES256", "self"),
                           ("es256_x5c", "ES256", "x5c"), ("eddsa_none", "EdDSA", "none"),
                           ("eddsa_self", "EdDSA", "self"), ("rs256_self", "RS256", "self")):
        a = SoftAuthenticator(ORIGIN, alg=alg, attestation=att)
        resp, cred = a.register(creation())
        regs[name] = reg(resp)
        auths[name] = (a, cred)
    a = SoftAuthenticator(ORIGIN, attestation="self")
    regs["es256_self_extensions"] = reg(a.create(
        creation(), extensions={"credProtect": 2, "hmac-secret": True})[0])
    broken = {
        "wrong_origin": {"origin": "https://evil.example"},
        "wrong_rp_id": {"rp_id": "evil.example"},
        "wrong_type": {"typ": "webauthn.get"},
        "other_challenge": {"challenge": b64u(OTHER)},
        "uv_missing": {"uv": False},
        "up_missing": {"up": False},
        "self_bad_signature": {"attestation": "self", "corrupt_attestation": True},
        "x5c_bad_signature": {"attestation": "x5c", "corrupt_attestation": True},
        "x5c_ca_certificate": {"attestation": "x5c", "cert_options": {"ca": True}},
        "self_alg_mismatch": {"attestation": "self", "stmt_alg": -8},
    }
    for name, kw in broken.items():
        regs[name] = reg(SoftAuthenticator(ORIGIN).create(creation(), **kw)[0])
    for name in ("es256_none", "eddsa_none", "rs256_self"):
        a, cred = auths[name]
        asrs[name.split("_")[0] + "_good"] = asr(a.get(request(), cred), name)
    a, cred = auths["es256_none"]
    for name, kw in {"bad_signature": {"bad_signature": True},
                     "uv_missing": {"uv": False}, "up_missing": {"up": False},
                     "wrong_origin": {"origin": "https://evil.example"},
                     "wrong_rp_id": {"rp_id": "evil.example"},
                     "wrong_type": {"typ": "webauthn.create"},
                     "other_challenge": {"challenge": b64u(OTHER)},
                     "counter_zero": {"counter": 0}}.items():
        asrs[name] = asr(a.get(request(), cred, **kw), "es256_none")
    (HERE / "fixtures.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()

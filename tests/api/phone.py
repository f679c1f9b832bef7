# SPDX-License-Identifier: AGPL-3.0-or-later
"""An independent phone for the API tests, written from API.md's normative
device protocol with Python's `cryptography` and `pyotp` (the reference C
authenticator is tested separately and in the browser tests): activation,
TOTP, signed device requests, and transactions -- the guichet://tx payload,
T, its ECDSA signature and the 8-digit offline response code."""
import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse

import pyotp
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# The order n of P-256.  Of the two valid signatures (r, s) and (r, n - s) the
# server takes only the one with s <= n/2 (docs/api.md, "Signed device
# requests"), so a phone normalises s after signing.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def point(key):
    return key.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)


def sign_low_s(key, msg):
    """DER ECDSA-P256-SHA256 of @msg with s in the lower half of [1, n-1]."""
    r, s = decode_dss_signature(key.sign(msg, ec.ECDSA(hashes.SHA256())))
    return encode_dss_signature(r, min(s, P256_ORDER - s))


def parse_payload(payload):
    u = urllib.parse.urlsplit(payload)
    assert u.scheme == "guichet" and u.netloc == "activate", payload
    q = dict(urllib.parse.parse_qsl(u.query, strict_parsing=True))
    assert q["v"] == "1", q
    return q["u"], q["c"], unb64u(q["s"])


TX_FIELDS = {"id": "id", "a": "amount", "c": "currency", "n": "payee_name",
             "i": "payee_iban", "x": "nonce"}


def parse_tx_payload(payload):
    """guichet://tx?v=1&id=&a=&c=&n=&i=&x= -> {"id", "amount", ...}."""
    u = urllib.parse.urlsplit(payload)
    assert u.scheme == "guichet" and u.netloc == "tx" and u.path == "", payload
    q = urllib.parse.parse_qsl(u.query, strict_parsing=True, keep_blank_values=True)
    assert len(q) == len({k for k, _ in q}), f"a field twice: {payload}"
    q = dict(q)
    assert q.pop("v") == "1", payload
    assert set(q) == set(TX_FIELDS), payload
    return {TX_FIELDS[k]: v for k, v in q.items()}


def tx_message(tx):
    """T of API.md: the label and six fields joined by newlines, UTF-8."""
    return "\n".join(["guichet-tx-v1", tx["id"], tx["amount"], tx["currency"],
                      tx["payee_name"], tx["payee_iban"], tx["nonce"]]).encode()


def tx_code(seed, tx):
    """RFC 4226 dynamic truncation of HMAC-SHA256(seed, T) mod 10^8."""
    mac = hmac.new(seed, tx_message(tx), hashlib.sha256).digest()
    off = mac[-1] & 0x0F
    return str((int.from_bytes(mac[off:off + 4], "big") & 0x7FFFFFFF) % 10 ** 8).zfill(8)


DEVICE = {"platform": "android", "os_version": "14", "model": "Pixel 8",
          "app_version": "1.0.0", "rooted": False, "emulator": False,
          "debugger": False, "hooking": False, "sim_country": "FR",
          "locale": "fr-FR", "timezone": "Europe/Paris"}


class Phone:
    def __init__(self, **device):
        self.signing = ec.generate_private_key(ec.SECP256R1())
        self.ecdh = ec.generate_private_key(ec.SECP256R1())
        self.device = dict(DEVICE, install_id=secrets.token_hex(8), **device)
        self.seed = None
        self.device_id = None
        self._last_ts = 0

    def activation_body(self, payload, secret_override=None, challenge_override=None):
        base, cid, secret = parse_payload(payload)
        cid = challenge_override or cid
        secret = secret_override or secret
        dpub, epub = point(self.signing), point(self.ecdh)
        m = b"guichet-activate-v1\x00" + cid.encode() + b"\x00" + dpub + epub
        self._secret = secret
        return base, {
            "challenge_id": cid, "device_public_key": b64u(dpub),
            "ecdh_public_key": b64u(epub),
            "proof": b64u(hmac.new(secret, m, hashlib.sha256).digest()),
            "signature": b64u(sign_low_s(self.signing, m)),
            "device": self.device}

    def activate(self, payload, headers=None, **kw):
        base, body = self.activation_body(payload, **kw)
        r = requests.post(base + "/v1/devices/activate", json=body, timeout=30,
                          headers=headers or {})
        if r.status_code == 201 and "server_ecdh_public_key" in r.json():
            a = r.json()
            self.device_id = a["device_id"]
            server = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), unb64u(a["server_ecdh_public_key"]))
            shared = self.ecdh.exchange(ec.ECDH(), server)
            self.seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=self._secret,
                             info=b"guichet-otp-seed-v1\x00" + self.device_id.encode()
                             ).derive(shared)
        return r

    def totp(self, t=None):
        secret = base64.b32encode(self.seed).decode().rstrip("=")
        return pyotp.TOTP(secret, digits=6, interval=30, digest=hashlib.sha256).at(
            t if t is not None else time.time())

    def signed_headers(self, method, path, body=b"", ts=None):
        # The server accepts a signed message once (device, timestamp, hash
        # of the message): like the reference phone, never reuse a second.
        if ts is None:
            ts = max(int(time.time()), self._last_ts + 1)
            self._last_ts = ts
        ts = str(ts)
        msg = f"{method}\n{path}\n{ts}\n{hashlib.sha256(body).hexdigest()}".encode()
        sig = sign_low_s(self.signing, msg)
        return {"Guichet-Device": self.device_id, "Guichet-Timestamp": ts,
                "Guichet-Signature": b64u(sig)}

    # ---- transactions

    def sign_tx(self, tx):
        """ECDSA-P256-SHA256 over T, DER, base64url."""
        return b64u(self.signing.sign(tx_message(tx), ec.ECDSA(hashes.SHA256())))

    def response_code(self, tx):
        return tx_code(self.seed, tx)

    def request(self, base, method, path, body=None, query="", **kw):
        """A signed device request; @body a dict (JSON) or None (empty)."""
        data = json.dumps(body).encode() if body is not None else b""
        h = self.signed_headers(method, path, data)
        if body is not None:
            h["Content-Type"] = "application/json"
        return requests.request(method, base + path + query, data=data, headers=h,
                                timeout=kw.pop("timeout", 40), **kw)

    def pending(self, base, wait=None, **kw):
        q = "?status=pending" + (f"&wait={wait}" if wait is not None else "")
        return self.request(base, "GET", f"/v1/devices/{self.device_id}/transactions",
                            query=q, **kw)

    def approve(self, base, tx, signature=None):
        return self.request(base, "POST", f"/v1/transactions/{tx['id']}/approve",
                            {"signature": signature or self.sign_tx(tx)})

    def decline(self, base, tx_id):
        return self.request(base, "POST", f"/v1/transactions/{tx_id}/decline")

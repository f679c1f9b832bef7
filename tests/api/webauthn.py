# SPDX-License-Identifier: AGPL-3.0-or-later
"""webauthn -- an independent software authenticator and client for the
passkey tests, written from the WebAuthn Level 3 and CTAP2 specifications
with Python's `cryptography` and a CBOR encoder written out here (nothing
of Guichet's C code or of libfido2/libcbor).

SoftAuthenticator plays both the authenticator and the browser: from the
options JSON the server sends it makes the RegistrationResponseJSON or
AuthenticationResponseJSON a browser would post.  Keys: ES256 (P-256),
EdDSA (Ed25519), RS256 (RSA 2048).  Attestation: "none", "packed" signed by
the credential key itself ("self"), or "packed" with an attestation
certificate it makes itself ("x5c").  Every part a test wants to get wrong
can be overridden per call: the client data's type, challenge, origin and
crossOrigin, the rp id hashed into the authenticator data, the flags, the
counter, the signature, the user handle, extensions.
"""
import base64
import hashlib
import json
import os
import struct
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

FLAG_UP, FLAG_UV, FLAG_BE, FLAG_BS, FLAG_AT, FLAG_ED = 0x01, 0x04, 0x08, 0x10, 0x40, 0x80
ALG = {"ES256": -7, "EdDSA": -8, "RS256": -257}
AAGUID_OID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# ------------------------------------------------------------------ CBOR

def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError("integer too large")


def cbor(v):
    """CTAP2 canonical CBOR (RFC 8949 §4.2.3 key order: shorter first)."""
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if v is None:
        return b"\xf6"
    if isinstance(v, int):
        return _head(0, v) if v >= 0 else _head(1, -1 - v)
    if isinstance(v, (bytes, bytearray)):
        return _head(2, len(v)) + bytes(v)
    if isinstance(v, str):
        b = v.encode()
        return _head(3, len(b)) + b
    if isinstance(v, (list, tuple)):
        return _head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        items = sorted(((cbor(k), cbor(x)) for k, x in v.items()),
                       key=lambda kv: (len(kv[0]), kv[0]))
        return _head(5, len(items)) + b"".join(k + x for k, x in items)
    raise TypeError(type(v))


# ------------------------------------------------------------------ keys

class Key:
    """A credential key pair of one COSE algorithm."""

    def __init__(self, alg="ES256"):
        self.alg = alg
        if alg == "ES256":
            self.priv = ec.generate_private_key(ec.SECP256R1())
        elif alg == "EdDSA":
            self.priv = ed25519.Ed25519PrivateKey.generate()
        elif alg == "RS256":
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            raise ValueError(alg)

    def cose(self):
        pub = self.priv.public_key()
        if self.alg == "ES256":
            n = pub.public_numbers()
            return {1: 2, 3: -7, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")}
        if self.alg == "EdDSA":
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return {1: 1, 3: -8, -1: 6, -2: raw}
        n = pub.public_numbers()
        return {1: 3, 3: -257, -1: n.n.to_bytes(256, "big"), -2: n.e.to_bytes(3, "big")}

    def sign(self, data):
        if self.alg == "ES256":
            return self.priv.sign(data, ec.ECDSA(hashes.SHA256()))
        if self.alg == "EdDSA":
            return self.priv.sign(data)
        return self.priv.sign(data, padding.PKCS1v15(), hashes.SHA256())


def attestation_cert(aaguid, ou="Authenticator Attestation", ca=False, with_aaguid=True):
    """A self-made packed attestation certificate (ES256) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Guichet test authenticators"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        x509.NameAttribute(NameOID.COMMON_NAME, "Soft authenticator"),
    ])
    now = datetime.now(timezone.utc)
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if with_aaguid:
        # the extension's value is a DER OCTET STRING holding the AAGUID
        b = b.add_extension(x509.UnrecognizedExtension(AAGUID_OID, b"\x04\x10" + aaguid),
                            critical=False)
    cert = b.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.DER), key


# ------------------------------------------------------------------ the authenticator

class Credential:
    def __init__(self, cred_id, key, rp_id, user_handle, be):
        self.id = cred_id
        self.key = key
        self.rp_id = rp_id
        self.user_handle = user_handle
        self.counter = 0
        self.be = be


class SoftAuthenticator:
    """A platform authenticator with user verification, and its browser."""

    def __init__(self, origin, alg="ES256", attestation="none", aaguid=None,
                 backup_eligible=False, counter_step=1):
        self.origin = origin
        self.alg = alg
        self.attestation = attestation
        self.aaguid = aaguid if aaguid is not None else os.urandom(16)
        self.backup_eligible = backup_eligible
        self.counter_step = counter_step
        self.credentials = []

    # -- pieces
    def client_data(self, typ, challenge, origin=None, cross_origin=None, **extra):
        d = {"type": typ, "challenge": challenge, "origin": origin or self.origin}
        if cross_origin is not None:
            d["crossOrigin"] = cross_origin
        d.update(extra)
        return json.dumps(d, separators=(",", ":")).encode()

    @staticmethod
    def flags(up=True, uv=True, be=False, bs=False, at=False, ed=False):
        return ((FLAG_UP if up else 0) | (FLAG_UV if uv else 0) | (FLAG_BE if be else 0)
                | (FLAG_BS if bs else 0) | (FLAG_AT if at else 0) | (FLAG_ED if ed else 0))

    # -- navigator.credentials.create()
    def create(self, public_key, *, origin=None, typ="webauthn.create", challenge=None,
               rp_id=None, up=True, uv=True, alg=None, attestation=None, extensions=None,
               cross_origin=None, corrupt_attestation=False, cose_override=None,
               cred_id=None, fmt=None, cert_options=None, stmt_alg=None,
               transports=("internal",)):
        """@return (RegistrationResponseJSON, Credential)."""
        rp_id = rp_id or public_key["rp"]["id"]
        alg = alg or self.alg
        attestation = attestation or self.attestation
        key = Key(alg)
        cred_id = cred_id if cred_id is not None else os.urandom(32)
        be = self.backup_eligible
        cdj = self.client_data(typ, challenge or public_key["challenge"], origin, cross_origin)
        cose = cose_override if cose_override is not None else key.cose()
        ad = (hashlib.sha256(rp_id.encode()).digest()
              + bytes([self.flags(up, uv, be, be, at=True, ed=extensions is not None)])
              + struct.pack(">I", 0)
              + self.aaguid + struct.pack(">H", len(cred_id)) + cred_id + cbor(cose))
        if extensions is not None:
            ad += cbor(extensions)
        signed = ad + hashlib.sha256(cdj).digest()
        if attestation == "none":
            att = {"fmt": "none", "attStmt": {}, "authData": ad}
        elif attestation == "self":
            sig = key.sign(signed)
            att = {"fmt": "packed", "attStmt": {"alg": stmt_alg or ALG[alg], "sig": sig},
                   "authData": ad}
        elif attestation == "x5c":
            der, akey = attestation_cert(self.aaguid, **(cert_options or {}))
            sig = akey.sign(signed, ec.ECDSA(hashes.SHA256()))
            att = {"fmt": "packed", "attStmt": {"alg": -7, "sig": sig, "x5c": [der]},
                   "authData": ad}
        else:
            raise ValueError(attestation)
        if fmt is not None:
            att["fmt"] = fmt
        if corrupt_attestation:
            s = bytearray(att["attStmt"]["sig"])
            s[len(s) // 2] ^= 0x01
            att["attStmt"]["sig"] = bytes(s)
        uh = unb64u(public_key["user"]["id"])
        cred = Credential(cred_id, key, rp_id, uh, be)
        resp = {
            "id": b64u(cred_id), "rawId": b64u(cred_id), "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {"credProps": {"rk": True}},
            "response": {"clientDataJSON": b64u(cdj), "attestationObject": b64u(cbor(att)),
                         "transports": list(transports), "publicKeyAlgorithm": ALG[alg]},
        }
        return resp, cred

    def register(self, public_key, **kw):
        resp, cred = self.create(public_key, **kw)
        self.credentials.append(cred)
        return resp, cred

    # -- navigator.credentials.get()
    def get(self, public_key, cred=None, *, origin=None, typ="webauthn.get", challenge=None,
            rp_id=None, up=True, uv=True, counter=None, bad_signature=False,
            user_handle=True, cross_origin=None, extensions=None, be=None, bs=None):
        """@return AuthenticationResponseJSON (the counter moves on unless given)."""
        if cred is None:
            allowed = {c["id"] for c in public_key.get("allowCredentials", [])}
            cands = [c for c in self.credentials if not allowed or b64u(c.id) in allowed]
            assert cands, "no credential for these options"
            cred = cands[-1]
        if counter is None:
            cred.counter += self.counter_step
            counter = cred.counter
        be = cred.be if be is None else be
        bs = be if bs is None else bs
        cdj = self.client_data(typ, challenge or public_key["challenge"], origin, cross_origin)
        ad = (hashlib.sha256((rp_id or public_key["rpId"]).encode()).digest()
              + bytes([self.flags(up, uv, be, bs, ed=extensions is not None)])
              + struct.pack(">I", counter))
        if extensions is not None:
            ad += cbor(extensions)
        sig = cred.key.sign(ad + hashlib.sha256(cdj).digest())
        if bad_signature:
            sig = bytearray(sig)
            sig[-3] ^= 0x40
            sig = bytes(sig)
        resp = {
            "id": b64u(cred.id), "rawId": b64u(cred.id), "type": "public-key",
            "authenticatorAttachment": "platform", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64u(cdj), "authenticatorData": b64u(ad),
                         "signature": b64u(sig)},
        }
        if user_handle is True:
            resp["response"]["userHandle"] = b64u(cred.user_handle)
        elif user_handle:
            resp["response"]["userHandle"] = b64u(user_handle)
        return resp
